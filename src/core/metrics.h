/* metrics.h -- process counters and histograms, exported at /metrics in Prometheus text format.
 * Lock-free: every field is a relaxed atomic, written by any thread. One instance per server,
 * passed explicitly (no global). */
#ifndef C360_METRICS_H
#define C360_METRICS_H

#include <stdatomic.h>
#include <stdint.h>
#include "core/errors.h"
#include "util/strbuf.h"

#define C360_LAT_BUCKETS 14
#define C360_ROUTES(X) X(ingest) X(profile) X(events) X(identities) X(merges) X(health) X(metrics) X(other)
#define C360__R(n) C360_ROUTE_##n,
enum { C360_ROUTES(C360__R) C360_ROUTE__N };
#undef C360__R

typedef struct c360_hist {
    _Atomic uint64_t bucket[C360_LAT_BUCKETS + 1];  /* last = +Inf */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_us;
} c360_hist;

typedef struct c360_metrics {
    _Atomic uint64_t events_accepted;
    _Atomic uint64_t events_duplicate;
    _Atomic uint64_t events_suppressed;             /* carried an erased customer's identifier */
    _Atomic uint64_t events_rejected[C360__NERR];  /* by error code index */
    _Atomic uint64_t profiles_created;
    _Atomic uint64_t merges;
    _Atomic uint64_t identifiers_dropped;
    _Atomic uint64_t commits;
    _Atomic int64_t queue_events;                  /* accepted, waiting for the writer */
    _Atomic uint64_t http_requests[C360_ROUTE__N];
    c360_hist latency[C360_ROUTE__N];
    c360_hist commit_latency;
    /* Kafka source and sink (sources/kafka_source.c, sources/sink.c) */
    _Atomic uint64_t kafka_messages;               /* messages consumed */
    _Atomic uint64_t kafka_dead_letters;           /* did not parse or map: sent to the DLQ */
    _Atomic uint64_t kafka_pauses;                 /* back-pressure: partitions paused (queue full) */
    _Atomic uint64_t kafka_rewinds;                /* failed writes: rewound to the stored offsets */
    _Atomic uint64_t sink_published;               /* profile changes handed to the sink producer */
    _Atomic uint64_t sink_errors;                  /* sink messages not delivered */
    /* PostgreSQL source (sources/pg_replication.c) */
    _Atomic uint64_t pg_changes;                   /* row changes received (insert, update, delete) */
    _Atomic uint64_t pg_snapshot_rows;             /* rows read by the initial snapshot */
    _Atomic uint64_t pg_transactions;              /* transactions applied */
    _Atomic uint64_t pg_skipped;                   /* transactions already in the store (replayed) */
    _Atomic uint64_t pg_rejected;                  /* rows that did not map or validate: logged, skipped */
    _Atomic uint64_t pg_reconnects;                /* connection losses and failed connects */
    _Atomic uint64_t pg_confirmed_lsn;             /* gauge: LSN confirmed to the server (durable) */
    _Atomic uint64_t pg_received_lsn;              /* gauge: server's end of WAL last seen */
    void (*render_extra)(void *arg, strbuf *out);  /* extra series (consumer lag per partition) */
    void *render_extra_arg;
} c360_metrics;

static inline void c360_count(_Atomic uint64_t *c, uint64_t n) { atomic_fetch_add_explicit(c, n, memory_order_relaxed); }
void c360_metrics_reject(c360_metrics *m, int code, uint64_t n);
void c360_hist_observe(c360_hist *h, int64_t micros);
struct c360_store;
void c360_metrics_render(c360_metrics *m, struct c360_store *s, strbuf *out);

#endif
