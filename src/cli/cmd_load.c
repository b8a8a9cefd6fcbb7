/* cmd_load.c -- `c360 load FILE|-`: NDJSON Segment events straight into the store, through the
 * same validation (sources/segment.c) and apply pipeline (engine.c) as HTTP ingest, without the
 * writer thread. Commits every few MB without fsync and once with fsync at the end, so when load
 * exits 0 every loaded event is durable; a crash mid-way loses only the unfinished tail, and a
 * rerun is idempotent because duplicate messageIds are dropped.
 * Bad lines are reported (line number and reason), skipped, and make the exit status 1.
 * Two threads: a parser reads and validates chunks of lines while the main thread applies the
 * previous chunk, so parsing and the store overlap on two cores. */
#include "cli/cli.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "features/features.h"
#include "sources/segment.h"
#include "store/store.h"
#include "util/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] = "usage: c360 load [--data-dir DIR] [--config FILE] FILE|-\n\n"
                            "Loads newline-delimited JSON Segment events (each with a \"type\") into the store.\n"
                            "The server must not be running on the same data dir.\n";

#define CHUNK_EVENTS 4096
#define COMMIT_BYTES (32u << 20)

typedef struct chunk {
    c360_event evs[CHUNK_EVENTS];
    int n;
    uint64_t last_line, bytes;
    int eof, error;
    struct chunk *next;
} chunk;

typedef struct loader {
    FILE *in;
    const char *path;
    c360_segment_ctx seg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk *free_list, *full_head, *full_tail;
    int stop;
    uint64_t bad;          /* parser thread only, read after join */
} loader;

static chunk *take(loader *L, chunk **list_head, chunk **list_tail)
{
    pthread_mutex_lock(&L->mu);
    while (!*list_head && !L->stop) pthread_cond_wait(&L->cv, &L->mu);
    chunk *c = *list_head;
    if (c) {
        *list_head = c->next;
        if (list_tail && !*list_head) *list_tail = NULL;
        c->next = NULL;
    }
    pthread_mutex_unlock(&L->mu);
    return c;
}

static void give_full(loader *L, chunk *c)
{
    pthread_mutex_lock(&L->mu);
    if (L->full_tail) L->full_tail->next = c;
    else L->full_head = c;
    L->full_tail = c;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

static void give_free(loader *L, chunk *c)
{
    pthread_mutex_lock(&L->mu);
    c->next = L->free_list;
    L->free_list = c;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

static void *parser_main(void *arg)
{
    loader *L = arg;
    char *line = NULL, err[512];
    size_t cap = 0;
    uint64_t lineno = 0, bytes = 0;
    for (;;) {
        chunk *c = take(L, &L->free_list, NULL);
        if (!c) break;
        c->n = 0;
        c->eof = c->error = 0;
        while (c->n < CHUNK_EVENTS) {
            ssize_t len = getline(&line, &cap, L->in);
            if (len < 0) {
                c->eof = 1;
                c->error = ferror(L->in);
                break;
            }
            lineno++;
            bytes += (uint64_t)len;
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
            size_t i = 0;
            while (i < (size_t)len && (line[i] == ' ' || line[i] == '\t')) i++;
            if (i == (size_t)len) continue; /* blank line */
            int e = c360_segment_parse_one(&L->seg, -1, line, (size_t)len, c360_now_ms(), &c->evs[c->n], err, sizeof err);
            if (e) {
                if (L->bad < 20) fprintf(stderr, "c360 load: line %llu: %s: %s\n", (unsigned long long)lineno, c360_err_name(e), err);
                L->bad++;
                continue;
            }
            c->n++;
        }
        c->last_line = lineno;
        c->bytes = bytes;
        int eof = c->eof;
        give_full(L, c);
        if (eof) break;
    }
    free(line);
    return NULL;
}

int c360_cmd_load(int argc, char **argv)
{
    c360_config cfg;
    int r = c360_cli_config(&cfg, &argc, argv, usage);
    if (r) {
        c360_config_release(&cfg);
        return r > 0 ? 0 : 2;
    }
    if (argc != 2) {
        fprintf(stderr, "%s", usage);
        c360_config_release(&cfg);
        return 2;
    }
    const char *path = argv[1];
    FILE *in = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!in) {
        fprintf(stderr, "c360 load: cannot open %s: %s\n", path, strerror(errno));
        c360_config_release(&cfg);
        return 2;
    }
    uint64_t total = 0;
    struct stat st;
    if (in != stdin && fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode)) total = (uint64_t)st.st_size;

    char err[512];
    int rc = 2;
    c360_id_rules rules;
    int rules_ok = 0, started = 0;
    c360_store *store = NULL;
    c360_engine *engine = NULL;
    c360_features *features = NULL;
    c360_metrics *metrics = xcalloc(1, sizeof *metrics);
    uint64_t loaded = 0, dups = 0, committed_line = 0;
    loader L = {.in = in, .path = path};
    pthread_t th;
    pthread_mutex_init(&L.mu, NULL);
    pthread_cond_init(&L.cv, NULL);
    chunk *chunks[3] = {0};

    if (c360_id_rules_init(&rules, &cfg, err, sizeof err)) {
        fprintf(stderr, "c360 load: %s\n", err);
        goto out;
    }
    rules_ok = 1;
    c360_store_opts so = {.block_cache_bytes = cfg.block_cache_bytes, .partitions = cfg.partitions,
                          .dedup_window_ms = cfg.dedup_window_ms, .retention_ms = cfg.retention_ms};
    if (c360_store_open(&store, cfg.data_dir, &so, err, sizeof err) ||
        c360_features_open(&features, store, &cfg, err, sizeof err) ||
        c360_engine_open(&engine, store, &cfg, &rules, features, metrics, err, sizeof err)) {
        fprintf(stderr, "c360 load: %s\n", err);
        goto out;
    }
    L.seg = (c360_segment_ctx){.rules = &rules, .secret = c360_store_secret(store), .max_event_bytes = cfg.max_event_bytes,
                               .max_batch_bytes = cfg.max_batch_bytes};
    for (int i = 0; i < 3; i++) {
        chunks[i] = xcalloc(1, sizeof *chunks[i]);
        chunks[i]->next = L.free_list;
        L.free_list = chunks[i];
    }
    if (pthread_create(&th, NULL, parser_main, &L) != 0) {
        fprintf(stderr, "c360 load: cannot start the parser thread\n");
        goto out;
    }
    started = 1;
    c360_progress prog;
    c360_progress_init(&prog, "events");
    rc = 0;
    for (;;) {
        chunk *c = take(&L, &L.full_head, &L.full_tail);
        if (!c) break;
        int eof = c->eof;
        if (c->error) {
            fprintf(stderr, "c360 load: read error on %s\n", path);
            rc = 1;
        }
        if (c->n > 0 && rc == 0) {
            int acc = 0, dd = 0;
            int e = c360_engine_apply(engine, c->evs, c->n, &acc, &dd);
            if (e) {
                fprintf(stderr, "c360 load: store error while applying events (%s); events after line %llu were not loaded\n",
                        c360_err_name(e), (unsigned long long)committed_line);
                c360_engine_abort(engine);
                rc = 1;
            } else {
                loaded += (uint64_t)acc;
                dups += (uint64_t)dd;
                if (c360_engine_pending_bytes(engine) > COMMIT_BYTES) {
                    if (c360_engine_commit(engine, 0, err, sizeof err)) {
                        fprintf(stderr, "c360 load: commit failed: %s; events after line %llu were not loaded\n", err,
                                (unsigned long long)committed_line);
                        rc = 1;
                    } else {
                        committed_line = c->last_line;
                    }
                }
            }
            c360_progress_update(&prog, loaded + dups, c->bytes, total, 0);
        }
        for (int k = 0; k < c->n; k++) c360_event_release(&c->evs[k]);
        c->n = 0;
        if (rc) {
            pthread_mutex_lock(&L.mu);
            L.stop = 1;
            pthread_cond_broadcast(&L.cv);
            pthread_mutex_unlock(&L.mu);
        }
        give_free(&L, c);
        if (eof || rc) break;
    }
    pthread_join(th, NULL);
    started = 0;
    if (rc == 0 && c360_engine_commit(engine, 1, err, sizeof err)) {
        fprintf(stderr, "c360 load: final commit failed: %s\n", err);
        rc = 1;
    }
    c360_progress_update(&prog, loaded + dups, total, total, 1);
    if (L.bad > 20) fprintf(stderr, "c360 load: ... %llu more bad lines\n", (unsigned long long)(L.bad - 20));
    double secs = (double)(c360_monotonic_ns() - prog.start_ns) / 1e9;
    fprintf(stderr, "c360 load: %llu events loaded (%.0f/s), %llu duplicates skipped, %llu lines rejected; "
                    "%llu profiles created, %llu merges, %llu identifiers not linked (limits)\n",
            (unsigned long long)loaded, secs > 0 ? (double)loaded / secs : 0, (unsigned long long)dups, (unsigned long long)L.bad,
            (unsigned long long)atomic_load(&metrics->profiles_created), (unsigned long long)atomic_load(&metrics->merges),
            (unsigned long long)atomic_load(&metrics->identifiers_dropped));
    if (L.bad && rc == 0) rc = 1;
out:
    if (started) {
        pthread_mutex_lock(&L.mu);
        L.stop = 1;
        pthread_cond_broadcast(&L.cv);
        pthread_mutex_unlock(&L.mu);
        pthread_join(th, NULL);
    }
    for (int i = 0; i < 3; i++) {
        if (!chunks[i]) continue;
        for (int k = 0; k < chunks[i]->n; k++) c360_event_release(&chunks[i]->evs[k]);
        free(chunks[i]);
    }
    pthread_mutex_destroy(&L.mu);
    pthread_cond_destroy(&L.cv);
    if (in != stdin) fclose(in);
    c360_engine_free(engine);
    c360_features_free(features);
    c360_store_close(store);
    if (rules_ok) c360_id_rules_release(&rules);
    free(metrics);
    c360_config_release(&cfg);
    return rc;
}
