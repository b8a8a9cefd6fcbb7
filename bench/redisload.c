/* redisload.c -- owns the Redis client side of the comparison (the per-event logic is in
 * redis_ingest.lua, the lookup in redis_lookup.lua):
 *
 *   redisload ingest --port P --sha SHA --file NDJSON --batch B --conns K
 *       Routes each event to one of K connections by its anonymousId (one person's events stay
 *       in order on one connection), and per connection pipelines B "EVALSHA SHA 0 <event>"
 *       commands, then waits for their B replies (the batch's acknowledgement), and repeats.
 *   redisload fresh --port P --sha INGEST_SHA --lookup-sha SHA --ids FILE --samples N
 *       Freshness: one probe event, then lookups until the probe shows.
 *   redisload verify --port P --lookup-sha SHA --ids EXPECTED --samples N
 *       Compares profiles with uci2segment's expected counts (total, Order Completed/Refunded).
 *
 * Plain sockets and RESP, one thread per connection. "RESULT key=value" on stdout. A Redis
 * error reply stops the run with exit status 1. */
#define _GNU_SOURCE
#include "common.h"
#include "fanout.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int opt_port = 6379;

static void bcmd(buf *b, int argc, const char **argv, const size_t *lens)
{
    char h[32];
    int k = snprintf(h, sizeof h, "*%d\r\n", argc);
    bput(b, h, (size_t)k);
    for (int i = 0; i < argc; i++) {
        k = snprintf(h, sizeof h, "$%zu\r\n", lens[i]);
        bput(b, h, (size_t)k);
        bput(b, argv[i], lens[i]);
        bput(b, "\r\n", 2);
    }
}

static int connect_redis(void)
{
    int fd = tcp_connect("127.0.0.1", opt_port);
    if (fd < 0) die("cannot connect to Redis on 127.0.0.1");
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) die("send to Redis failed");
        p += w;
        n -= (size_t)w;
    }
}

/* length of one complete RESP value at b, 0 if incomplete; a malformed reply stops the run */
static long resp_len(const char *b, size_t n)
{
    long v = resp_value(b, n);
    if (v < 0) die("malformed reply from Redis");
    return v;
}

typedef struct {
    int fd;
    buf in;
} rconn;

/* reads one complete reply into r->in and returns its length */
static long read_reply(rconn *r)
{
    for (;;) {
        long v = r->in.n ? resp_len(r->in.b, r->in.n) : 0;
        if (v > 0) return v;
        char tmp[65536];
        ssize_t k = recv(r->fd, tmp, sizeof tmp, 0);
        if (k <= 0) die("Redis closed the connection");
        bput(&r->in, tmp, (size_t)k);
    }
}

/* ---------------------------------------------------------------- ingest */
/* through fanout.c: a batch is B pipelined "EVALSHA SHA 0 <event>", acknowledged by B replies */
static void *redis_connect(void *arg)
{
    (void)arg;
    rconn *r = calloc(1, sizeof *r);
    if (!r) die("out of memory");
    r->fd = connect_redis();
    return r;
}

static void redis_disconnect(void *c)
{
    rconn *r = c;
    close(r->fd);
    free(r->in.b);
    free(r);
}

static void redis_add(void *sha, fanout_batch *b, uint64_t n, const char *line, size_t len)
{
    (void)n;
    const char *argv[4] = {"EVALSHA", sha, "0", line};
    size_t lens[4] = {7, strlen(sha), 1, len};
    bcmd(&b->data, 4, argv, lens);
}

static uint64_t redis_run(void *c, const fanout_batch *b)
{
    rconn *r = c;
    uint64_t stored = 0;
    send_all(r->fd, b->data.b, b->data.n);
    for (int i = 0; i < b->n; i++) {
        long len = read_reply(r);
        if (r->in.b[0] == '-') {
            fprintf(stderr, "redisload: Redis error: %.*s\n", (int)(len > 400 ? 400 : len), r->in.b);
            exit(1);
        }
        if (r->in.b[0] == ':' && r->in.b[1] == '1') stored++;
        bconsume(&r->in, (size_t)len);
    }
    return stored;
}

static double opt_max_seconds = 0;

static int cmd_ingest(const char *sha, const char *file, int bsize, int k)
{
    fanout_ops ops = {.tool = "redisload", .unit = "batch", .units = "batches", .key = "batch", .settle_ms = 100, .connect = redis_connect,
                      .add = redis_add, .run = redis_run, .disconnect = redis_disconnect, .arg = (void *)sha};
    return fanout_ingest(&ops, file, bsize, k, opt_max_seconds);
}

/* ---------------------------------------------------------------- lookups (fresh, verify) */
/* looks up "user_id:<id>"; returns 0 if not found, else 1 with the profile hash's field `field`
 * (e.g. "total", "event:Order Completed") parsed into *out for each of nf fields (0 if absent) */
static int lookup(rconn *r, const char *sha, const char *id, int nf, const char **fields, long *out)
{
    char key[512];
    int kl = snprintf(key, sizeof key, "user_id:%s", id);
    const char *argv[4] = {"EVALSHA", sha, "0", key};
    size_t lens[4] = {7, strlen(sha), 1, (size_t)kl};
    buf c = {0};
    bcmd(&c, 4, argv, lens);
    send_all(r->fd, c.b, c.n);
    free(c.b);
    long len = read_reply(r);
    const char *b = r->in.b;
    if (b[0] == '-') {
        fprintf(stderr, "redisload: Redis error: %.*s\n", (int)(len > 400 ? 400 : len), b);
        exit(1);
    }
    int found = b[0] == '*';
    for (int i = 0; i < nf; i++) out[i] = 0;
    if (found) {
        /* walk the bulk strings; a field name is followed by its value */
        const char *p = b, *end = b + len;
        const char *prev = NULL;
        size_t prevlen = 0;
        while (p < end) {
            const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
            if (!eol) break;
            if (*p == '$') {
                long l = atol(p + 1);
                if (l < 0) {
                    p = eol + 2;
                    continue;
                }
                const char *s = eol + 2;
                if (prev)
                    for (int i = 0; i < nf; i++)
                        if (strlen(fields[i]) == prevlen && !memcmp(prev, fields[i], prevlen)) out[i] = atol(s);
                prev = s;
                prevlen = (size_t)l;
                p = s + l + 2;
            } else {
                prev = NULL;
                p = eol + 2;
            }
        }
    }
    bconsume(&r->in, (size_t)len);
    return found;
}

static char **load_lines(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open the ids file");
    char **v = NULL, *line = NULL;
    size_t cap = 0, capv = 0;
    *n = 0;
    while (getline(&line, &cap, f) >= 0) {
        if (line[0] == '\n' || !line[0]) continue;
        if (*n == capv) v = xrealloc(v, sizeof *v * (capv = capv ? capv * 2 : 4096));
        v[(*n)++] = strdup(line);
    }
    fclose(f);
    free(line);
    if (!*n) die("empty ids file");
    return v;
}

static uint64_t rng_x = 88172645463325252ULL;
static uint64_t rng(void)
{
    rng_x ^= rng_x << 13, rng_x ^= rng_x >> 7, rng_x ^= rng_x << 17;
    return rng_x;
}

static int cmd_verify(const char *lsha, const char *path, int samples)
{
    size_t n;
    char **lines = load_lines(path, &n);
    rconn r = {.fd = connect_redis()};
    const char *fields[3] = {"total", "event:Order Completed", "event:Order Refunded"};
    int bad = 0;
    for (int i = 0; i < samples; i++) {
        char id[256];
        long tot, ord, ref, got[3];
        if (sscanf(lines[rng() % n], "%255s %ld %ld %ld", id, &tot, &ord, &ref) != 4) die("malformed expected-counts line");
        if (!lookup(&r, lsha, id, 3, fields, got)) {
            if (bad++ < 10) fprintf(stderr, "redis verify: %s: not found\n", id);
            continue;
        }
        if (got[0] != tot || got[1] != ord || got[2] != ref)
            if (bad++ < 10)
                fprintf(stderr, "redis verify: %s: expected %ld/%ld/%ld, Redis has %ld/%ld/%ld\n", id, tot, ord, ref, got[0], got[1], got[2]);
    }
    fprintf(stderr, "redis verify: %d profiles checked, %d mismatches\n", samples, bad);
    printf("RESULT mode=verify checked=%d mismatches=%d\n", samples, bad);
    return bad ? 1 : 0;
}

static int cmd_fresh(const char *isha, const char *lsha, const char *path, int samples)
{
    size_t n;
    char **lines = load_lines(path, &n);
    rconn r = {.fd = connect_redis()};
    const char *fields[1] = {"event:Freshness Probe"};
    int64_t *fr = xrealloc(NULL, sizeof *fr * (size_t)samples), *ack = xrealloc(NULL, sizeof *ack * (size_t)samples);
    int m = 0, first = 0, failures = 0;
    rng_x ^= (uint64_t)time(NULL);
    for (int i = 0; i < samples; i++) {
        char id[256];
        if (sscanf(lines[rng() % n], "%255s", id) != 1) die("malformed ids line");
        long before;
        if (!lookup(&r, lsha, id, 1, fields, &before)) {
            failures++;
            continue;
        }
        char ev[512];
        int el = snprintf(ev, sizeof ev, "{\"type\":\"track\",\"userId\":\"%s\",\"event\":\"Freshness Probe\",\"messageId\":\"rfresh-%llu-%d\"}", id,
                          (unsigned long long)rng(), i);
        const char *argv[4] = {"EVALSHA", isha, "0", ev};
        size_t lens[4] = {7, strlen(isha), 1, (size_t)el};
        buf c = {0};
        bcmd(&c, 4, argv, lens);
        int64_t ts = now_ns();
        send_all(r.fd, c.b, c.n);
        free(c.b);
        long len = read_reply(&r);
        if (r.in.b[0] == '-') die("Redis error on the probe event");
        bconsume(&r.in, (size_t)len);
        int64_t tack = now_ns();
        long now;
        int reads = 0;
        do {
            lookup(&r, lsha, id, 1, fields, &now);
            reads++;
        } while (now <= before && now_ns() - tack < 10000000000LL);
        if (now <= before) {
            failures++;
            continue;
        }
        if (reads == 1) first++;
        fr[m] = now_ns() - tack;
        ack[m] = tack - ts;
        m++;
    }
    fresh_report("redisload", "ack", "write", fr, ack, m, first, failures);
    return 0;
}

int main(int argc, char **argv)
{
    bench_init("redisload", 1);
    const char *sha = NULL, *lsha = NULL, *file = NULL, *ids = NULL;
    int bsize = 100, k = 1, samples = 300;
    if (argc < 2) {
        fprintf(stderr, "usage: redisload ingest|fresh|verify --port P [--sha SHA] [--lookup-sha SHA] [--file F --batch B --conns K] [--ids F --samples N]\n");
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--port")) opt_port = atoi(v);
        else if (!strcmp(a, "--sha")) sha = v;
        else if (!strcmp(a, "--lookup-sha")) lsha = v;
        else if (!strcmp(a, "--file")) file = v;
        else if (!strcmp(a, "--ids")) ids = v;
        else if (!strcmp(a, "--batch")) bsize = atoi(v);
        else if (!strcmp(a, "--conns")) k = atoi(v);
        else if (!strcmp(a, "--samples")) samples = atoi(v);
        else if (!strcmp(a, "--max-seconds")) opt_max_seconds = atof(v);
        else {
            fprintf(stderr, "redisload: unknown option %s\n", a);
            return 2;
        }
    }
    if (bsize < 1 || k < 1 || samples < 1) die("--batch, --conns and --samples must be positive");
    if (!strcmp(argv[1], "ingest")) {
        if (!sha || !file) die("ingest needs --sha and --file");
        return cmd_ingest(sha, file, bsize, k);
    }
    if (!strcmp(argv[1], "verify")) {
        if (!lsha || !ids) die("verify needs --lookup-sha and --ids");
        return cmd_verify(lsha, ids, samples);
    }
    if (!strcmp(argv[1], "fresh")) {
        if (!sha || !lsha || !ids) die("fresh needs --sha, --lookup-sha and --ids");
        return cmd_fresh(sha, lsha, ids, samples);
    }
    die("mode must be ingest, fresh or verify");
    return 2;
}
