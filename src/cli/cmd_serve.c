/* cmd_serve.c -- `c360 serve`: open the store, start the engine's writer and the HTTP loops,
 * wait for SIGTERM/SIGINT, then drain: stop accepting, finish requests in flight, commit, close
 * the store, exit 0. */
#include "cli/cli.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "engine/inflight.h"
#include "features/features.h"
#include "privacy/audit.h"
#include "profile/profile.h"
#include "privacy/policy.h"
#include "identity/normalize.h"
#include "serving/http.h"
#include "sources/kafka_conf.h"
#include "sources/kafka_source.h"
#include "sources/pg_replication.h"
#include "sources/sink.h"
#include "sources/webhook_sink.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/sched.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- maintenance: the hourly retention sweep of inactive customers ---- */

typedef struct maint {
    c360_engine *engine;
    c360_audit *audit;
    int64_t inactive_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    pthread_t th;
} maint;

/* One sweep, waited for. It is a privacy action like any other: each erasure and the sweep are
 * audited. */
static void sweep(maint *m)
{
    c360_job job = {.sweep_before_ms = c360_now_ms() - m->inactive_ms};
    if (c360_engine_run(m->engine, &job, NULL) == 0 && m->audit && job.status == 0) {
        char id[20], d[64];
        for (int i = 0; i < job.swept; i++) {
            c360_profile_id_str(job.swept_pids[i], id);
            c360_audit_log(m->audit, "retention", "system", "erase", id, "{\"reason\":\"inactive\"}", 0);
        }
        snprintf(d, sizeof d, "{\"erased\":%d}", job.swept);
        c360_audit_log(m->audit, "retention", "system", "retention_sweep", NULL, d, 1);
    }
    free(job.swept_pids);
}

static void *maint_main(void *arg)
{
    c360_thread_name("c360-maint");
    maint *m = arg;
    pthread_mutex_lock(&m->mu);
    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 3600;
        while (!m->stop && pthread_cond_timedwait(&m->cv, &m->mu, &until) == 0) {}
        if (m->stop) break;
        pthread_mutex_unlock(&m->mu);
        sweep(m);
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* A server's memory must stay flat while it ingests for days. glibc moves its mmap threshold up
 * to the size of the first large block freed, so after the first memtable flush RocksDB's 1 MB
 * memtable blocks come from the heap arenas, where freed ones are left between live chunks and
 * the heap keeps growing (e2e 53-soak for 7 minutes: RSS less the memtables 58 -> 84 -> 104 MB,
 * largest per third). A fixed threshold of 1 MB (which also stops the adjustment) maps those
 * blocks and unmaps them when a flush frees them: 10 minutes of the same load stayed at 21-25 MB
 * less the memtables and the block cache. The price: every new memtable's pages are faulted in,
 * ~8% of flat-out HTTP ingest. MALLOC_MMAP_THRESHOLD_ in the environment takes precedence.
 * `c360 load` keeps glibc's default (a job that ends; it would cost 20%). docs/DECISIONS.md. */
static void flat_heap(void)
{
    if (!getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

static const char usage[] =
    "usage: c360 serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--write-key KEY] [--admin-key KEY]\n"
    "                  [--kafka BROKERS --kafka-topics T1,T2] [--postgres CONNINFO]\n\n"
    "Runs the HTTP server on the embedded store. Keys may also come from C360_WRITE_KEY and C360_ADMIN_KEY.\n"
    "Send keys as HTTP Basic auth (user name = key) or 'Authorization: Bearer KEY'.\n";

int c360_cmd_serve(int argc, char **argv)
{
    c360_config cfg;
    for (int i = 1; i < argc; i++) /* quick start: --kafka BROKERS, --postgres CONNINFO */
        if (!strcmp(argv[i], "--kafka")) argv[i] = "--kafka-brokers";
        else if (!strcmp(argv[i], "--postgres")) argv[i] = "--postgres-conninfo";
    int r = c360_cli_config(&cfg, &argc, argv, usage);
    if (r) {
        c360_config_release(&cfg);
        return r > 0 ? 0 : 2;
    }
    if (argc > 1) {
        fprintf(stderr, "c360 serve: unexpected argument '%s'\n", argv[1]);
        c360_config_release(&cfg);
        return 2;
    }
    flat_heap();
    if (!*cfg.admin_key && !*cfg.write_key) {
        fprintf(stderr, "c360 serve: no keys configured; give --admin-key and --write-key (or C360_ADMIN_KEY/C360_WRITE_KEY)\n");
        c360_config_release(&cfg);
        return 2;
    }
    char err[512];
    c360_id_rules rules;
    if (c360_id_rules_init(&rules, &cfg, err, sizeof err)) {
        fprintf(stderr, "c360 serve: %s\n", err);
        c360_config_release(&cfg);
        return 2;
    }
    /* every thread created from here on inherits this mask; main waits for the signals */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    c360_store *store = NULL;
    c360_engine *engine = NULL;
    c360_features *features = NULL;
    c360_audit *audit = NULL;
    c360_policy policy;
    int policy_ok = 0;
    c360_server *server = NULL;
    c360_sink *sink = NULL;
    c360_whsink *whsink = NULL;
    c360_kafka_source *ksrc = NULL;
    c360_pg_source *pgsrc = NULL;
    c360_metrics *metrics = xcalloc(1, sizeof *metrics);
    c360_store_opts so = {.block_cache_bytes = cfg.block_cache_bytes, .partitions = cfg.partitions,
                          .dedup_window_ms = cfg.dedup_window_ms, .retention_ms = cfg.retention_ms,
                          .alert_retention_ms = cfg.alert_retention_ms,
                          .low_priority_compaction = cfg.ingest_nice > 0, .warm_cache = cfg.warm_cache != 0};
    if (c360_store_open(&store, cfg.data_dir, &so, err, sizeof err)) {
        fprintf(stderr, "c360 serve: %s\n", err);
        goto out;
    }
    if (c360_sink_open(&sink, &cfg, metrics, err, sizeof err)) {
        fprintf(stderr, "c360 serve: %s\n", err);
        goto out;
    }
    if (c360_features_open(&features, store, &cfg, err, sizeof err) ||
        c360_engine_open(&engine, store, &cfg, &rules, features, metrics, err, sizeof err)) {
        fprintf(stderr, "c360 serve: %s\n", err);
        goto out;
    }
    const char *wh_secret, *wh_url = c360_features_alert_webhook(features, &wh_secret);
    if (wh_url && c360_whsink_open(&whsink, wh_url, wh_secret, err, sizeof err)) {
        fprintf(stderr, "c360 serve: %s\n", err);
        goto out;
    }
    c360_engine_set_outputs(engine, sink, whsink);
    if (c360_engine_start(engine)) {
        fprintf(stderr, "c360 serve: cannot start the writer thread\n");
        goto out;
    }
    if (c360_policy_init(&policy, &cfg, c360_store_secret(store), err, sizeof err)) {
        fprintf(stderr, "c360 serve: %s\n", err);
        goto out;
    }
    policy_ok = 1;
    if (c360_audit_open(&audit, cfg.data_dir, store, err, sizeof err)) {
        fprintf(stderr, "c360 serve: %s\n", err);
        goto out;
    }
    c360_kafka_deps kdeps = {.cfg = &cfg, .store = store, .engine = engine, .metrics = metrics, .rules = &rules};
    if (c360_kafka_source_open(&ksrc, &kdeps, err, sizeof err)) {
        fprintf(stderr, "c360 serve: %s\n", err);
        goto out;
    }
    c360_pg_deps pdeps = {.cfg = &cfg, .store = store, .engine = engine, .metrics = metrics, .rules = &rules};
    if (c360_pg_source_open(&pgsrc, &pdeps, err, sizeof err)) {
        fprintf(stderr, "c360 serve: %s\n", err);
        goto out;
    }
    maint mt = {.engine = engine, .audit = audit, .inactive_ms = cfg.inactive_erase_ms};
    pthread_mutex_init(&mt.mu, NULL);
    pthread_cond_init(&mt.cv, NULL);
    if (cfg.inactive_erase_ms > 0) sweep(&mt);   /* before the server answers: nobody reads an expired customer */
    c360_server_deps deps = {.cfg = &cfg, .store = store, .engine = engine, .metrics = metrics, .rules = &rules,
                             .features = features, .audit = audit, .policy = &policy};
    if (c360_server_start(&server, &deps, err, sizeof err)) {
        fprintf(stderr, "c360 serve: %s\n", err);
        goto out;
    }
    if (ksrc && c360_kafka_source_start(ksrc)) {
        fprintf(stderr, "c360 serve: cannot start the Kafka consumer\n");
        c360_server_stop(server);
        goto out;
    }
    if (pgsrc && c360_pg_source_start(pgsrc)) {
        fprintf(stderr, "c360 serve: cannot start the PostgreSQL source\n");
        c360_server_stop(server);
        goto out;
    }
    int mt_started = cfg.inactive_erase_ms > 0 && pthread_create(&mt.th, NULL, maint_main, &mt) == 0;
    LOG_INFO("ready", "\"url\":\"http://%s/\",\"data_dir\":\"%s\"", cfg.listen, cfg.data_dir);
    int sig = 0;
    sigwait(&sigs, &sig);
    LOG_INFO("draining", "\"signal\":%d", sig);
    c360_server_stop(server);
    c360_kafka_source_stop(ksrc);
    c360_pg_source_stop(pgsrc);
    if (mt_started) {
        pthread_mutex_lock(&mt.mu);
        mt.stop = 1;
        pthread_cond_broadcast(&mt.cv);
        pthread_mutex_unlock(&mt.mu);
        pthread_join(mt.th, NULL);
    }
    pthread_mutex_destroy(&mt.mu);
    pthread_cond_destroy(&mt.cv);
    rc = 0;
out:;
    int kafka_used = ksrc || sink;
    c360_kafka_source_free(ksrc);  /* before the engine stops: it waits for its writes */
    c360_pg_source_free(pgsrc);    /* likewise */
    if (engine) c360_engine_stop(engine);
    c360_sink_close(sink);         /* after the engine: the writer publishes until it stops */
    c360_whsink_close(whsink);
    if (kafka_used) c360_kafka_wait_destroyed();
    if (server) c360_server_free(server);
    c360_engine_free(engine);
    c360_features_free(features);
    c360_audit_close(audit);
    if (policy_ok) c360_policy_release(&policy);
    c360_store_close(store);
    c360_id_rules_release(&rules);
    free(metrics);
    if (rc == 0) LOG_INFO("stopped", "%s", "");
    c360_config_release(&cfg);
    return rc;
}
