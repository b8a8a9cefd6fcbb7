/* fanout.h -- owns the ingest driver the PostgreSQL and Redis clients (pgload, redisload)
 * share, so both are fed and timed the same way: an NDJSON file's events are routed to K
 * connections by person (route_hash: one person's events stay in order on one connection and
 * connections never share a customer), cut into batches of B lines, at most 4 batches queued
 * per connection, each connection on its own thread. The tool says how a line joins a batch and
 * how a batch is sent and acknowledged; the driver times every batch from send to
 * acknowledgement and prints the summary and the RESULT line. */
#ifndef BENCH_FANOUT_H
#define BENCH_FANOUT_H

#include "common.h"

typedef struct {
    buf data;   /* what the tool's add() wrote */
    int n;      /* lines in it */
} fanout_batch;

typedef struct {
    const char *tool;       /* "pgload": the summary's prefix */
    const char *unit, *units; /* "transaction(s)", "batch(es)": what one acknowledged batch is */
    const char *key;        /* RESULT keys <key>_p50_us, <key>_p99_us */
    int settle_ms;          /* after the connections open, before the clock starts */
    void *(*connect)(void *arg);                                             /* on the connection's thread */
    void (*add)(void *arg, fanout_batch *b, uint64_t line, const char *ev, size_t len);
    uint64_t (*run)(void *conn, const fanout_batch *b);                      /* events stored */
    void (*disconnect)(void *conn);
    void *arg;
} fanout_ops;

/* Runs the file through; stops reading after max_seconds (0: the whole file). Returns 0; any
 * error in the tool's callbacks exits the process. */
int fanout_ingest(const fanout_ops *ops, const char *file, int bsize, int k, double max_seconds);

#endif
