/* metrics.c -- Prometheus text rendering of c360_metrics (see metrics.h). */
#include "core/metrics.h"
#include "store/store.h"

#include <stdio.h>

static const double bounds_s[C360_LAT_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                  0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define C360__S(n) #n,
static const char *route_names[] = {C360_ROUTES(C360__S)};
#undef C360__S

void c360_metrics_reject(c360_metrics *m, int code, uint64_t n)
{
    int i = -code;
    if (i > 0 && i < C360__NERR) c360_count(&m->events_rejected[i], n);
}

void c360_hist_observe(c360_hist *h, int64_t us)
{
    int b = 0;
    while (b < C360_LAT_BUCKETS && (double)us > bounds_s[b] * 1e6) b++;
    c360_count(&h->bucket[b], 1);
    c360_count(&h->count, 1);
    c360_count(&h->sum_us, (uint64_t)(us > 0 ? us : 0));
}

/* one unlabelled series with its HELP and TYPE lines */
static void series(strbuf *o, const char *name, const char *type, const char *help, uint64_t v)
{
    sb_addf(o, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, (unsigned long long)v);
}

static void hist(strbuf *o, const char *name, const char *labels, c360_hist *h)
{
    uint64_t cum = 0;
    for (int b = 0; b <= C360_LAT_BUCKETS; b++) {
        cum += atomic_load(&h->bucket[b]);
        if (b < C360_LAT_BUCKETS) sb_addf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, *labels ? "," : "", bounds_s[b], (unsigned long long)cum);
        else sb_addf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, *labels ? "," : "", (unsigned long long)cum);
    }
    sb_addf(o, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, labels, atomic_load(&h->sum_us) / 1e6, name, labels,
            (unsigned long long)atomic_load(&h->count));
}

void c360_metrics_render(c360_metrics *m, c360_store *s, strbuf *o)
{
    sb_addf(o, "# HELP c360_events_accepted_total Events stored.\n# TYPE c360_events_accepted_total counter\n"
               "c360_events_accepted_total %llu\n", (unsigned long long)atomic_load(&m->events_accepted));
    sb_addf(o, "# HELP c360_events_duplicate_total Events dropped as duplicate messageIds.\n# TYPE c360_events_duplicate_total counter\n"
               "c360_events_duplicate_total %llu\n", (unsigned long long)atomic_load(&m->events_duplicate));
    sb_addf(o, "# HELP c360_events_suppressed_total Events dropped because they carry an erased customer's identifier.\n"
               "# TYPE c360_events_suppressed_total counter\nc360_events_suppressed_total %llu\n",
            (unsigned long long)atomic_load(&m->events_suppressed));
    sb_adds(o, "# HELP c360_events_rejected_total Events refused, by reason.\n# TYPE c360_events_rejected_total counter\n");
    for (int i = 1; i < C360__NERR; i++) {
        uint64_t v = atomic_load(&m->events_rejected[i]);
        if (v || c360_err_http(-i) == 400) sb_addf(o, "c360_events_rejected_total{reason=\"%s\"} %llu\n", c360_err_name(-i), (unsigned long long)v);
    }
    sb_addf(o, "# TYPE c360_profiles_created_total counter\nc360_profiles_created_total %llu\n", (unsigned long long)atomic_load(&m->profiles_created));
    sb_addf(o, "# TYPE c360_merges_total counter\nc360_merges_total %llu\n", (unsigned long long)atomic_load(&m->merges));
    sb_addf(o, "# HELP c360_identifiers_dropped_total Identifiers not linked because of over-merge limits.\n"
               "# TYPE c360_identifiers_dropped_total counter\nc360_identifiers_dropped_total %llu\n",
            (unsigned long long)atomic_load(&m->identifiers_dropped));
    sb_addf(o, "# TYPE c360_commits_total counter\nc360_commits_total %llu\n", (unsigned long long)atomic_load(&m->commits));
    sb_addf(o, "# TYPE c360_ingest_queue_events gauge\nc360_ingest_queue_events %lld\n", (long long)atomic_load(&m->queue_events));
    sb_adds(o, "# TYPE c360_http_requests_total counter\n");
    for (int r = 0; r < C360_ROUTE__N; r++)
        sb_addf(o, "c360_http_requests_total{route=\"%s\"} %llu\n", route_names[r], (unsigned long long)atomic_load(&m->http_requests[r]));
    sb_adds(o, "# HELP c360_http_request_duration_seconds Time from request to response.\n"
               "# TYPE c360_http_request_duration_seconds histogram\n");
    for (int r = 0; r < C360_ROUTE__N; r++) {
        char l[48];
        snprintf(l, sizeof l, "route=\"%s\"", route_names[r]);
        hist(o, "c360_http_request_duration_seconds", l, &m->latency[r]);
    }
    sb_adds(o, "# HELP c360_commit_duration_seconds Group commit (write + fsync) time.\n# TYPE c360_commit_duration_seconds histogram\n");
    hist(o, "c360_commit_duration_seconds", "", &m->commit_latency);
    series(o, "c360_kafka_messages_total", "counter", "Kafka messages consumed.", atomic_load(&m->kafka_messages));
    series(o, "c360_kafka_dead_letters_total", "counter",
           "Kafka messages that did not parse or map (sent to the dead-letter topic).", atomic_load(&m->kafka_dead_letters));
    series(o, "c360_kafka_pauses_total", "counter", "Consumer pauses for back-pressure (ingest queue full).",
           atomic_load(&m->kafka_pauses));
    series(o, "c360_kafka_rewinds_total", "counter", "Consumer rewinds to the stored offsets after a failed write.",
           atomic_load(&m->kafka_rewinds));
    series(o, "c360_sink_published_total", "counter", "Profile changes handed to the Kafka sink.", atomic_load(&m->sink_published));
    series(o, "c360_sink_errors_total", "counter", "Profile changes the Kafka sink could not deliver.", atomic_load(&m->sink_errors));
    series(o, "c360_postgres_changes_total", "counter", "Row changes received from PostgreSQL logical replication.",
           atomic_load(&m->pg_changes));
    series(o, "c360_postgres_snapshot_rows_total", "counter", "Rows read by the PostgreSQL source's initial snapshot.",
           atomic_load(&m->pg_snapshot_rows));
    series(o, "c360_postgres_transactions_total", "counter", "PostgreSQL transactions applied.", atomic_load(&m->pg_transactions));
    series(o, "c360_postgres_skipped_total", "counter", "PostgreSQL transactions skipped because the store already holds them.",
           atomic_load(&m->pg_skipped));
    series(o, "c360_postgres_rejected_total", "counter", "PostgreSQL rows that did not map or validate (logged and skipped).",
           atomic_load(&m->pg_rejected));
    series(o, "c360_postgres_reconnects_total", "counter", "Lost or failed PostgreSQL replication connections.",
           atomic_load(&m->pg_reconnects));
    uint64_t conf = atomic_load(&m->pg_confirmed_lsn), recv = atomic_load(&m->pg_received_lsn);
    series(o, "c360_postgres_confirmed_lsn", "gauge", "WAL position confirmed to PostgreSQL (durable in the store).", conf);
    series(o, "c360_postgres_lag_bytes", "gauge", "WAL bytes between the server's end of WAL and the confirmed position.",
           recv > conf && conf ? recv - conf : 0);
    if (m->render_extra) m->render_extra(m->render_extra_arg, o);
    if (s) {
        sb_addf(o, "# HELP c360_store_size_bytes Bytes in SST files and memtables.\n# TYPE c360_store_size_bytes gauge\n"
                   "c360_store_size_bytes %lld\n", (long long)c360_store_size_bytes(s));
        sb_addf(o, "# TYPE c360_store_keys_estimate gauge\nc360_store_keys_estimate %lld\n", (long long)c360_store_estimate_keys(s));
        sb_addf(o, "# HELP c360_block_cache_bytes Bytes held by the store's block cache.\n# TYPE c360_block_cache_bytes gauge\n"
                   "c360_block_cache_bytes %zu\n", c360_store_cache_usage(s));
        sb_addf(o, "# HELP c360_store_memtable_bytes Bytes in the store's memtables (active, being flushed, pinned).\n"
                   "# TYPE c360_store_memtable_bytes gauge\nc360_store_memtable_bytes %lld\n", (long long)c360_store_memtable_bytes(s));
        sb_addf(o, "# HELP c360_store_table_reader_bytes Bytes of the open table files' index and filter blocks (outside the block cache).\n"
                   "# TYPE c360_store_table_reader_bytes gauge\nc360_store_table_reader_bytes %lld\n",
                (long long)c360_store_table_reader_bytes(s));
    }
}
