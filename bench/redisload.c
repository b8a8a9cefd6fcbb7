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
typedef struct {
    buf cmds;
    int n;
} batch;

#define QDEPTH 4
typedef struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch *q[QDEPTH];
    int head, count, done;
    uint64_t stored, batches;
    int64_t *lat;
    size_t nlat, caplat;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    rconn r = {.fd = connect_redis()};
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->count && !w->done) pthread_cond_wait(&w->cv, &w->mu);
        if (!w->count && w->done) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        batch *b = w->q[w->head];
        pthread_mutex_unlock(&w->mu);
        int64_t t0 = now_ns();
        send_all(r.fd, b->cmds.b, b->cmds.n);
        for (int i = 0; i < b->n; i++) {
            long len = read_reply(&r);
            if (r.in.b[0] == '-') {
                fprintf(stderr, "redisload: Redis error: %.*s\n", (int)(len > 400 ? 400 : len), r.in.b);
                exit(1);
            }
            if (r.in.b[0] == ':' && r.in.b[1] == '1') w->stored++;
            bconsume(&r.in, (size_t)len);
        }
        w->batches++;
        if (w->nlat == w->caplat) w->lat = xrealloc(w->lat, sizeof *w->lat * (w->caplat = w->caplat ? w->caplat * 2 : 4096));
        w->lat[w->nlat++] = now_ns() - t0;
        free(b->cmds.b);
        free(b);
        pthread_mutex_lock(&w->mu);
        w->head = (w->head + 1) % QDEPTH;
        w->count--;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    close(r.fd);
    free(r.in.b);
    return NULL;
}

static void push(worker *w, batch *b)
{
    pthread_mutex_lock(&w->mu);
    while (w->count == QDEPTH) pthread_cond_wait(&w->cv, &w->mu);
    w->q[(w->head + w->count) % QDEPTH] = b;
    w->count++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static double opt_max_seconds = 0;

static int cmd_ingest(const char *sha, const char *file, int bsize, int k)
{
    FILE *f = fopen(file, "r");
    if (!f) die("cannot open the NDJSON file");
    worker *ws = calloc((size_t)k, sizeof *ws);
    batch **cur = calloc((size_t)k, sizeof *cur);
    if (!ws || !cur) die("out of memory");
    for (int i = 0; i < k; i++) {
        pthread_mutex_init(&ws[i].mu, NULL);
        pthread_cond_init(&ws[i].cv, NULL);
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i])) die("pthread_create");
    }
    struct timespec settle = {0, 100000000};
    nanosleep(&settle, NULL);
    int64_t t0 = now_ns();
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t lines = 0;
    size_t shalen = strlen(sha);
    int64_t stop_at = opt_max_seconds > 0 ? t0 + (int64_t)(opt_max_seconds * 1e9) : INT64_MAX;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if ((lines & 255) == 0 && now_ns() >= stop_at) break;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        if (!len) continue;
        int p = (int)(route_hash(line, (size_t)len) % (uint64_t)k);
        if (!cur[p]) cur[p] = calloc(1, sizeof **cur);
        if (!cur[p]) die("out of memory");
        const char *argv[4] = {"EVALSHA", sha, "0", line};
        size_t lens[4] = {7, shalen, 1, (size_t)len};
        bcmd(&cur[p]->cmds, 4, argv, lens);
        cur[p]->n++;
        lines++;
        if (cur[p]->n >= bsize) {
            push(&ws[p], cur[p]);
            cur[p] = NULL;
        }
    }
    for (int p = 0; p < k; p++) {
        if (cur[p]) push(&ws[p], cur[p]);
        pthread_mutex_lock(&ws[p].mu);
        ws[p].done = 1;
        pthread_cond_broadcast(&ws[p].cv);
        pthread_mutex_unlock(&ws[p].mu);
    }
    uint64_t stored = 0, batches = 0;
    int64_t *lat = NULL;
    size_t nlat = 0;
    for (int p = 0; p < k; p++) {
        pthread_join(ws[p].th, NULL);
        stored += ws[p].stored;
        batches += ws[p].batches;
        lat = xrealloc(lat, sizeof *lat * (nlat + ws[p].nlat));
        memcpy(lat + nlat, ws[p].lat, sizeof *lat * ws[p].nlat);
        nlat += ws[p].nlat;
        free(ws[p].lat);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    qsort(lat, nlat, sizeof *lat, cmp_i64);
    fprintf(stderr, "redisload ingest: %llu lines, %llu events stored in %llu batches in %.2f s = %.0f events/s; "
                    "batch p50 %.1f ms p99 %.1f ms (batch %d, %d connections)\n",
            (unsigned long long)lines, (unsigned long long)stored, (unsigned long long)batches, secs, (double)stored / secs,
            (double)pct(lat, nlat, 50) / 1e6, (double)pct(lat, nlat, 99) / 1e6, bsize, k);
    printf("RESULT mode=ingest lines=%llu events=%llu batches=%llu secs=%.3f events_per_s=%.0f batch_p50_us=%.1f batch_p99_us=%.1f\n",
           (unsigned long long)lines, (unsigned long long)stored, (unsigned long long)batches, secs, (double)stored / secs,
           (double)pct(lat, nlat, 50) / 1e3, (double)pct(lat, nlat, 99) / 1e3);
    free(lat);
    free(line);
    fclose(f);
    return 0;
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
    qsort(fr, (size_t)m, sizeof *fr, cmp_i64);
    qsort(ack, (size_t)m, sizeof *ack, cmp_i64);
    fprintf(stderr, "redisload fresh: %d samples: ack->visible p50 %.0f us p99 %.0f us; visible on the first read %d/%d; "
                    "1-event write p50 %.0f us p99 %.0f us; failures %d\n",
            m, (double)pct(fr, (size_t)m, 50) / 1e3, (double)pct(fr, (size_t)m, 99) / 1e3, first, m,
            (double)pct(ack, (size_t)m, 50) / 1e3, (double)pct(ack, (size_t)m, 99) / 1e3, failures);
    printf("RESULT mode=fresh n=%d p50_us=%.1f p99_us=%.1f max_us=%.1f first_read=%d ack_p50_us=%.1f ack_p99_us=%.1f failures=%d\n", m,
           (double)pct(fr, (size_t)m, 50) / 1e3, (double)pct(fr, (size_t)m, 99) / 1e3, m ? (double)fr[m - 1] / 1e3 : 0, first,
           (double)pct(ack, (size_t)m, 50) / 1e3, (double)pct(ack, (size_t)m, 99) / 1e3, failures);
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
