/* kafkaprobe.c -- owns the Kafka freshness measure: one connected librdkafka producer sends a
 * probe event for a fresh user, and the time until GET /v1/profiles/user_id:<probe> answers 200
 * is recorded (polled every 0.5 ms over one keep-alive connection). So a figure is produce ->
 * consumed -> durable -> visible, without a producer's start-up in it.
 *
 *   kafkaprobe BROKERS TOPIC HOST PORT ADMIN_KEY COUNT
 *
 * Prints one line: "kafkaprobe: n=N p50_us=... p99_us=... max_us=...". */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* one GET on the keep-alive connection; returns the status (0 on a broken connection) */
static int get_status(int *fd, const char *host, int port, const char *path, const char *key, buf *in)
{
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", path, host, key);
    if (*fd < 0 && (*fd = tcp_connect(host, port)) < 0) return 0;
    if (write(*fd, req, (size_t)n) != n) goto broken;
    in->n = 0;
    for (;;) { /* read the head, then Content-Length bytes */
        bgrow(in, 4096);
        ssize_t r = read(*fd, in->b + in->n, in->cap - in->n - 1);
        if (r <= 0) goto broken;
        in->n += (size_t)r;
        in->b[in->n] = 0;
        char *end = strstr(in->b, "\r\n\r\n");
        if (!end) continue;
        const char *cl = strstr(in->b, "content-length:");
        if (!cl) cl = strstr(in->b, "Content-Length:");
        size_t want = (size_t)(end + 4 - in->b) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
        if (in->n < want) continue;
        return atoi(in->b + 9);
    }
broken:
    if (*fd >= 0) close(*fd);
    *fd = -1;
    return 0;
}

int main(int argc, char **argv)
{
    bench_init("kafkaprobe", 1);
    if (argc != 7) die("usage: kafkaprobe BROKERS TOPIC HOST PORT ADMIN_KEY COUNT");
    const char *brokers = argv[1], *topic = argv[2], *host = argv[3], *key = argv[5];
    int port = atoi(argv[4]), count = atoi(argv[6]);
    if (count <= 0) die("COUNT must be positive");
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) ||
        rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof err))
        die("%s", err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) die("%s", err);
    int64_t *lat = calloc((size_t)count, sizeof *lat);
    buf in = {0};
    int fd = -1;
    char path[256], msg[256], id[64];
    unsigned seed = (unsigned)time(NULL);
    for (int i = -1; i < count; i++) { /* i = -1: warm-up (metadata, connections), not recorded */
        snprintf(id, sizeof id, "kprobe-%u-%d", seed, i + 1);
        int ml = snprintf(msg, sizeof msg, "{\"type\":\"track\",\"userId\":\"%s\",\"event\":\"Probe\"}", id);
        snprintf(path, sizeof path, "/v1/profiles/user_id:%s", id);
        int64_t t0 = now_ns();
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(msg, (size_t)ml), RD_KAFKA_V_KEY(id, strlen(id)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END))
            die("produce failed");
        rd_kafka_poll(rk, 0);
        int st;
        while ((st = get_status(&fd, host, port, path, key, &in)) != 200) {
            if (st != 404 && st != 0) die("GET %s answered %d", path, st);
            if (now_ns() - t0 > 30LL * 1000000000) die("probe %d not visible after 30 s", i);
            rd_kafka_poll(rk, 0);
            struct timespec ts = {0, 500000};
            nanosleep(&ts, NULL);
        }
        if (i >= 0) lat[i] = (now_ns() - t0) / 1000;
    }
    qsort(lat, (size_t)count, sizeof *lat, cmp_i64);
    printf("kafkaprobe: n=%d p50_us=%lld p99_us=%lld max_us=%lld\n", count, (long long)pct(lat, (size_t)count, 50),
           (long long)pct(lat, (size_t)count, 99), (long long)lat[count - 1]);
    rd_kafka_flush(rk, 5000);
    rd_kafka_destroy(rk);
    if (fd >= 0) close(fd);
    free(in.b);
    free(lat);
    return 0;
}
