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
#include "fanout.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
static int run_batch(PGconn *c, const fanout_batch *b)
{
    exec_ok(c, "BEGIN", PGRES_COMMAND_OK);
    exec_ok(c, "COPY stage (n, j) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')", PGRES_COPY_IN);
    if (PQputCopyData(c, b->data.b, (int)b->data.n) != 1 || PQputCopyEnd(c, NULL) != 1) {
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

/* ---- ingest through fanout.c: a batch is COPY text, line number \x02 event */
static void *pg_connect(void *db) { return connect_db(db); }
static void pg_disconnect(void *c) { PQfinish(c); }
static uint64_t pg_run(void *c, const fanout_batch *b) { return (uint64_t)run_batch(c, b); }
static void pg_add(void *arg, fanout_batch *b, uint64_t n, const char *line, size_t len)
{
    (void)arg;
    if (memchr(line, '\x01', len) || memchr(line, '\x02', len)) die("an event contains a \\x01 or \\x02 byte");
    bprintf(&b->data, "%llu\x02", (unsigned long long)n);
    bput(&b->data, line, len);
    bput(&b->data, "\n", 1);
}

static double opt_max_seconds = 0;

static int cmd_ingest(const char *db, const char *file, int bsize, int k)
{
    fanout_ops ops = {.tool = "pgload", .unit = "transaction", .units = "transactions", .key = "txn", .settle_ms = 200, .connect = pg_connect,
                      .add = pg_add, .run = pg_run, .disconnect = pg_disconnect, .arg = (void *)db};
    return fanout_ingest(&ops, file, bsize, k, opt_max_seconds);
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
        fanout_batch b = {0};
        int el = snprintf(ev, sizeof ev, "{\"type\":\"track\",\"userId\":\"%s\",\"event\":\"Freshness Probe\",\"messageId\":\"pgfresh-%llu-%d\"}",
                          id, (unsigned long long)x, i);
        pg_add(NULL, &b, 0, ev, (size_t)el);
        b.n = 1;
        int64_t ts = now_ns();
        run_batch(c, &b);
        int64_t tack = now_ns();
        free(b.data.b);
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
    fresh_report("pgload", "commit", "transaction", fr, ack, m, first, failures);
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
