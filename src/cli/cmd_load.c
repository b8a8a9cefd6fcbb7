/* cmd_load.c -- `c360 load FILE|-`: NDJSON Segment events straight into the store, through the
 * same validation (sources/segment.c) and apply pipeline (engine.c) as HTTP ingest, without the
 * writer thread. Commits every few MB without fsync and once with fsync at the end, so when load
 * exits 0 every loaded event is durable; a crash mid-way loses only the unfinished tail, and a
 * rerun is idempotent because duplicate messageIds are dropped.
 * Bad lines are reported (line number and reason), skipped, and make the exit status 1. */
#include "cli/cli.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "sources/segment.h"
#include "store/store.h"
#include "util/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] = "usage: c360 load [--data-dir DIR] [--config FILE] FILE|-\n\n"
                            "Loads newline-delimited JSON Segment events (each with a \"type\") into the store.\n"
                            "The server must not be running on the same data dir.\n";

#define CHUNK_EVENTS 4096
#define COMMIT_BYTES (32u << 20)

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
    int rules_ok = 0;
    c360_store *store = NULL;
    c360_engine *engine = NULL;
    c360_metrics *metrics = xcalloc(1, sizeof *metrics);
    c360_event *chunk = xcalloc(CHUNK_EVENTS, sizeof *chunk);
    int nchunk = 0;
    char *line = NULL;
    size_t cap = 0;
    uint64_t lineno = 0, bytes = 0, loaded = 0, dups = 0, bad = 0, committed_line = 0;

    if (c360_id_rules_init(&rules, &cfg, err, sizeof err)) {
        fprintf(stderr, "c360 load: %s\n", err);
        goto out;
    }
    rules_ok = 1;
    c360_store_opts so = {.block_cache_bytes = cfg.block_cache_bytes, .partitions = cfg.partitions,
                          .dedup_window_ms = cfg.dedup_window_ms, .retention_ms = cfg.retention_ms};
    if (c360_store_open(&store, cfg.data_dir, &so, err, sizeof err) ||
        c360_engine_open(&engine, store, &cfg, &rules, metrics, err, sizeof err)) {
        fprintf(stderr, "c360 load: %s\n", err);
        goto out;
    }
    c360_segment_ctx seg = {.rules = &rules, .secret = c360_store_secret(store), .max_event_bytes = cfg.max_event_bytes,
                            .max_batch_bytes = cfg.max_batch_bytes};
    c360_progress prog;
    c360_progress_init(&prog, "events");
    ssize_t len;
    rc = 0;
    for (;;) {
        len = getline(&line, &cap, in);
        if (len >= 0) {
            lineno++;
            bytes += (uint64_t)len;
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
            size_t i = 0;
            while (i < (size_t)len && (line[i] == ' ' || line[i] == '\t')) i++;
            if (i == (size_t)len) continue; /* blank line */
            int e = c360_segment_parse_one(&seg, -1, line, (size_t)len, c360_now_ms(), &chunk[nchunk], err, sizeof err);
            if (e) {
                if (bad < 20) fprintf(stderr, "c360 load: line %llu: %s: %s\n", (unsigned long long)lineno, c360_err_name(e), err);
                bad++;
                continue;
            }
            nchunk++;
        }
        if (nchunk == CHUNK_EVENTS || (len < 0 && nchunk > 0)) {
            int acc = 0, dd = 0;
            int e = c360_engine_apply(engine, chunk, nchunk, &acc, &dd);
            for (int k = 0; k < nchunk; k++) c360_event_release(&chunk[k]);
            nchunk = 0;
            if (e) {
                fprintf(stderr, "c360 load: store error while applying events (%s); events after line %llu were not loaded\n",
                        c360_err_name(e), (unsigned long long)committed_line);
                c360_engine_abort(engine);
                rc = 1;
                break;
            }
            loaded += (uint64_t)acc;
            dups += (uint64_t)dd;
            if (c360_engine_pending_bytes(engine) > COMMIT_BYTES) {
                if (c360_engine_commit(engine, 0, err, sizeof err)) {
                    fprintf(stderr, "c360 load: commit failed: %s; events after line %llu were not loaded\n", err,
                            (unsigned long long)committed_line);
                    rc = 1;
                    break;
                }
                committed_line = lineno;
            }
            c360_progress_update(&prog, loaded + dups, bytes, total, 0);
        }
        if (len < 0) break;
    }
    if (ferror(in)) {
        fprintf(stderr, "c360 load: read error on %s\n", path);
        rc = 1;
    }
    if (rc == 0 && c360_engine_commit(engine, 1, err, sizeof err)) {
        fprintf(stderr, "c360 load: final commit failed: %s\n", err);
        rc = 1;
    }
    c360_progress_update(&prog, loaded + dups, bytes, total, 1);
    if (bad > 20) fprintf(stderr, "c360 load: ... %llu more bad lines\n", (unsigned long long)(bad - 20));
    double secs = (double)(c360_monotonic_ns() - prog.start_ns) / 1e9;
    fprintf(stderr, "c360 load: %llu events loaded (%.0f/s), %llu duplicates skipped, %llu lines rejected; "
                    "%llu profiles created, %llu merges, %llu identifiers not linked (limits)\n",
            (unsigned long long)loaded, secs > 0 ? (double)loaded / secs : 0, (unsigned long long)dups, (unsigned long long)bad,
            (unsigned long long)atomic_load(&metrics->profiles_created), (unsigned long long)atomic_load(&metrics->merges),
            (unsigned long long)atomic_load(&metrics->identifiers_dropped));
    if (bad && rc == 0) rc = 1;
out:
    for (int k = 0; k < nchunk; k++) c360_event_release(&chunk[k]);
    free(chunk);
    free(line);
    if (in != stdin) fclose(in);
    c360_engine_free(engine);
    c360_store_close(store);
    if (rules_ok) c360_id_rules_release(&rules);
    free(metrics);
    c360_config_release(&cfg);
    return rc;
}
