/* pgload.c -- owns the PostgreSQL client side of the comparison (schema and set-based pipeline
 * are in pg_schema.sql):
 *
 *   pgload ingest --db CONNINFO --file NDJSON --batch B --conns K
 *       Reads Segment NDJSON, routes each event to one of K connections by its anonymousId (so
 *       one person's events stay in order on one connection and connections never touch the
 *       same customer), and per connection runs micro-batches of B events: BEGIN; COPY into a
 *       temp table; SELECT ingest_batch(); COMMIT (synchronous_commit on: durable at COMMIT).
 *   pgload fresh --db CONNINFO --ids FILE --samples N
 *       Freshness: one probe event through the same pipeline, then profile reads until the
 *       probe shows; time from COMMIT's return to the first read that shows it.
 *
 * Prints human lines on stderr and one "RESULT key=value ..." line on stdout. Any database
 * error stops the run with exit status 1. libpq, one thread per connection. */
#define _GNU_SOURCE
#include "common.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char *data;
    size_t len, cap;
    int n;
} batch;

static void badd(batch *b, int n, const char *line, size_t len)
{
    size_t need = b->len + len + 16;
    if (need > b->cap) {
        while (need > b->cap) b->cap = b->cap ? b->cap * 2 : 1 << 16;
        b->data = xrealloc(b->data, b->cap);
    }
    b->len += (size_t)sprintf(b->data + b->len, "%d\x02", n);
    memcpy(b->data + b->len, line, len);
    b->len += len;
    b->data[b->len++] = '\n';
    b->n++;
}

#define QDEPTH 4
typedef struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch *q[QDEPTH];
    int head, count, done;
    const char *db;
    uint64_t stored, batches;
    int64_t *lat;
    size_t nlat, caplat;
} worker;

static PGconn *connect_db(const char *db)
{
    PGconn *c = PQconnectdb(db);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pgload: cannot connect: %s", PQerrorMessage(c));
        exit(1);
    }
    PGresult *r = PQexec(c, "SELECT bench_session()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "pgload: bench_session(): %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    return c;
}

static void exec_ok(PGconn *c, const char *sql, ExecStatusType want)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != want) {
        fprintf(stderr, "pgload: %s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
}

/* one micro-batch in one transaction; returns the events stored */
static int run_batch(PGconn *c, const batch *b)
{
    exec_ok(c, "BEGIN", PGRES_COMMAND_OK);
    exec_ok(c, "COPY stage (n, j) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')", PGRES_COPY_IN);
    if (PQputCopyData(c, b->data, (int)b->len) != 1 || PQputCopyEnd(c, NULL) != 1) {
        fprintf(stderr, "pgload: COPY: %s", PQerrorMessage(c));
        exit(1);
    }
    PGresult *r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "pgload: COPY: %s", PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    while ((r = PQgetResult(c))) PQclear(r);
    r = PQexec(c, "SELECT ingest_batch()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "pgload: ingest_batch(): %s", PQerrorMessage(c));
        exit(1);
    }
    int stored = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    exec_ok(c, "COMMIT", PGRES_COMMAND_OK);
    return stored;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    PGconn *c = connect_db(w->db);
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
        w->stored += (uint64_t)run_batch(c, b);
        w->batches++;
        if (w->nlat == w->caplat) w->lat = xrealloc(w->lat, sizeof *w->lat * (w->caplat = w->caplat ? w->caplat * 2 : 4096));
        w->lat[w->nlat++] = now_ns() - t0;
        free(b->data);
        free(b);
        pthread_mutex_lock(&w->mu);
        w->head = (w->head + 1) % QDEPTH;
        w->count--;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    PQfinish(c);
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

static int cmd_ingest(const char *db, const char *file, int bsize, int k)
{
    FILE *f = fopen(file, "r");
    if (!f) die("cannot open the NDJSON file");
    worker *ws = calloc((size_t)k, sizeof *ws);
    batch **cur = calloc((size_t)k, sizeof *cur);
    if (!ws || !cur) die("out of memory");
    for (int i = 0; i < k; i++) {
        pthread_mutex_init(&ws[i].mu, NULL);
        pthread_cond_init(&ws[i].cv, NULL);
        ws[i].db = db;
    }
    /* connect everyone before the clock starts */
    for (int i = 0; i < k; i++)
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i])) die("pthread_create");
    struct timespec settle = {0, 200000000};
    nanosleep(&settle, NULL);
    int64_t t0 = now_ns();
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t lines = 0;
    int64_t stop_at = opt_max_seconds > 0 ? t0 + (int64_t)(opt_max_seconds * 1e9) : INT64_MAX;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if ((lines & 255) == 0 && now_ns() >= stop_at) break;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        if (!len) continue;
        if (memchr(line, '\x01', (size_t)len) || memchr(line, '\x02', (size_t)len)) die("an event contains a \\x01 or \\x02 byte");
        int p = (int)(route_hash(line, (size_t)len) % (uint64_t)k);
        if (!cur[p]) cur[p] = calloc(1, sizeof **cur);
        if (!cur[p]) die("out of memory");
        badd(cur[p], (int)lines, line, (size_t)len);
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
    fprintf(stderr, "pgload ingest: %llu lines, %llu events stored in %llu transactions in %.2f s = %.0f events/s; "
                    "transaction p50 %.1f ms p99 %.1f ms (batch %d, %d connections)\n",
            (unsigned long long)lines, (unsigned long long)stored, (unsigned long long)batches, secs, (double)stored / secs,
            (double)pct(lat, nlat, 50) / 1e6, (double)pct(lat, nlat, 99) / 1e6, bsize, k);
    printf("RESULT mode=ingest lines=%llu events=%llu batches=%llu secs=%.3f events_per_s=%.0f txn_p50_us=%.1f txn_p99_us=%.1f\n",
           (unsigned long long)lines, (unsigned long long)stored, (unsigned long long)batches, secs, (double)stored / secs,
           (double)pct(lat, nlat, 50) / 1e3, (double)pct(lat, nlat, 99) / 1e3);
    free(lat);
    free(line);
    fclose(f);
    return 0;
}

static long probe_count(PGconn *c, const char *id)
{
    const char *params[1] = {id};
    PGresult *r = PQexecParams(c, "SELECT COALESCE((p.by_event->>'Freshness Probe')::bigint, 0) FROM identities i"
                                  " JOIN profiles p ON p.customer_id = i.customer_id WHERE i.type = 'user_id' AND i.value = $1",
                               1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "pgload: lookup: %s", PQerrorMessage(c));
        exit(1);
    }
    long v = PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
}

static int cmd_fresh(const char *db, const char *idsfile, int samples)
{
    FILE *f = fopen(idsfile, "r");
    if (!f) die("cannot open the ids file");
    char **ids = NULL, *line = NULL;
    size_t n = 0, capids = 0, cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        size_t l = strcspn(line, " \t\r\n");
        if (!l) continue;
        if (n == capids) ids = xrealloc(ids, sizeof *ids * (capids = capids ? capids * 2 : 4096));
        ids[n++] = strndup(line, l);
    }
    fclose(f);
    free(line);
    if (!n) die("no ids");
    PGconn *c = connect_db(db);
    int64_t *fr = xrealloc(NULL, sizeof *fr * (size_t)samples), *ack = xrealloc(NULL, sizeof *ack * (size_t)samples);
    int m = 0, first = 0, failures = 0;
    uint64_t x = 88172645463325252ULL ^ (uint64_t)time(NULL);
    for (int i = 0; i < samples; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const char *id = ids[x % n];
        long before = probe_count(c, id);
        if (before < 0) {
            failures++;
            continue;
        }
        char ev[512];
        batch b = {0};
        int el = snprintf(ev, sizeof ev, "{\"type\":\"track\",\"userId\":\"%s\",\"event\":\"Freshness Probe\",\"messageId\":\"pgfresh-%llu-%d\"}",
                          id, (unsigned long long)x, i);
        badd(&b, 0, ev, (size_t)el);
        int64_t ts = now_ns();
        run_batch(c, &b);
        int64_t tack = now_ns();
        free(b.data);
        int reads = 0;
        long now;
        do {
            now = probe_count(c, id);
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
    fprintf(stderr, "pgload fresh: %d samples: commit->visible p50 %.0f us p99 %.0f us; visible on the first read %d/%d; "
                    "1-event transaction p50 %.0f us p99 %.0f us; failures %d\n",
            m, (double)pct(fr, (size_t)m, 50) / 1e3, (double)pct(fr, (size_t)m, 99) / 1e3, first, m,
            (double)pct(ack, (size_t)m, 50) / 1e3, (double)pct(ack, (size_t)m, 99) / 1e3, failures);
    printf("RESULT mode=fresh n=%d p50_us=%.1f p99_us=%.1f max_us=%.1f first_read=%d ack_p50_us=%.1f ack_p99_us=%.1f failures=%d\n", m,
           (double)pct(fr, (size_t)m, 50) / 1e3, (double)pct(fr, (size_t)m, 99) / 1e3, m ? (double)fr[m - 1] / 1e3 : 0, first,
           (double)pct(ack, (size_t)m, 50) / 1e3, (double)pct(ack, (size_t)m, 99) / 1e3, failures);
    PQfinish(c);
    return 0;
}

int main(int argc, char **argv)
{
    bench_init("pgload", 1);
    const char *db = NULL, *file = NULL, *idsf = NULL;
    int bsize = 1000, k = 1, samples = 300;
    if (argc < 2) {
        fprintf(stderr, "usage: pgload ingest|fresh --db CONNINFO [--file NDJSON --batch B --conns K] [--ids FILE --samples N]\n");
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--db")) db = argv[i + 1];
        else if (!strcmp(argv[i], "--file")) file = argv[i + 1];
        else if (!strcmp(argv[i], "--ids")) idsf = argv[i + 1];
        else if (!strcmp(argv[i], "--batch")) bsize = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--conns")) k = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--samples")) samples = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-seconds")) opt_max_seconds = atof(argv[i + 1]);
        else {
            fprintf(stderr, "pgload: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!db || bsize < 1 || k < 1 || samples < 1) die("--db is required; --batch, --conns, --samples must be positive");
    if (!strcmp(argv[1], "ingest")) {
        if (!file) die("--file is required");
        return cmd_ingest(db, file, bsize, k);
    }
    if (!strcmp(argv[1], "fresh")) {
        if (!idsf) die("--ids is required");
        return cmd_fresh(db, idsf, samples);
    }
    die("mode must be ingest or fresh");
    return 2;
}
