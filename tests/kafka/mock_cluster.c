/* mock_cluster.c -- test helper: a librdkafka mock Kafka cluster on loopback for the e2e tests.
 *
 *   mock_cluster [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * Starts rd_kafka_mock_cluster_new with N brokers (default 3), creates the named topics, and
 * prints one line "BOOTSTRAP host:port,host:port,..." on stdout. Then reads commands on stdin,
 * one per line, answering "ok" or "error ..." per line:
 *   down ID            broker ID (1..N) goes down (connections closed, new ones refused)
 *   up ID              broker ID comes back
 *   topic NAME PARTS   creates a topic
 *   quit               (or end of input) destroys the cluster and exits 0
 * Test-only: not part of the c360 binary. Built by tests/kafka/Makefile. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *name, int parts)
{
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, 1);
    if (e) {
        printf("error %s\n", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int nbrokers = 3;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "mock_cluster: %s\n", err);
        return 1;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--brokers") && i + 1 < argc) nbrokers = atoi(argv[++i]);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, nbrokers);
    if (!mc) {
        fprintf(stderr, "mock_cluster: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--brokers")) { i++; continue; }
        if (!strcmp(argv[i], "--topic") && i + 1 < argc) {
            char *spec = argv[++i], *colon = strrchr(spec, ':');
            int parts = colon ? atoi(colon + 1) : 1;
            if (colon) *colon = 0;
            if (create_topic(mc, spec, parts > 0 ? parts : 1)) return 1;
        }
    }
    printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32] = "", name[256] = "";
        int n = 0;
        int got = sscanf(line, "%31s %255s %d", cmd, name, &n);
        if (got < 1) continue;
        if (!strcmp(cmd, "quit")) break;
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (!strcmp(cmd, "down") && got >= 2) e = rd_kafka_mock_broker_set_down(mc, (int32_t)atoi(name));
        else if (!strcmp(cmd, "up") && got >= 2) e = rd_kafka_mock_broker_set_up(mc, (int32_t)atoi(name));
        else if (!strcmp(cmd, "topic") && got >= 3) {
            if (create_topic(mc, name, n)) continue;
        } else {
            printf("error unknown command\n");
            continue;
        }
        if (e) printf("error %s\n", rd_kafka_err2str(e));
        else printf("ok\n");
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    rd_kafka_wait_destroyed(5000);
    return 0;
}
