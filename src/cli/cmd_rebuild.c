/* cmd_rebuild.c -- `c360 rebuild`: recompute computed features, co-purchase counts, the catalogue
 * and segment membership from the stored events (a backfill after a definition changed). Needs
 * the store for itself: run it on a stopped server, or on a backup copy (docs/FEATURES.md). */
#include "cli/cli.h"
#include "features/features.h"
#include "store/store.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] = "usage: c360 rebuild [--config FILE] [--data-dir DIR]\n\n"
                            "Recomputes every customer's features, the co-purchase counts, the catalogue and segment\n"
                            "membership from the stored events, with the definitions of the config file. The data dir must\n"
                            "not be in use by a server (see docs/FEATURES.md: rebuild a backup copy, then swap).\n";

int c360_cmd_rebuild(int argc, char **argv)
{
    c360_config cfg;
    int r = c360_cli_config(&cfg, &argc, argv, usage);
    if (r) {
        c360_config_release(&cfg);
        return r > 0 ? 0 : 2;
    }
    if (argc != 1) {
        fprintf(stderr, "%s", usage);
        c360_config_release(&cfg);
        return 2;
    }
    char err[512];
    int rc = 1;
    c360_store *s = NULL;
    c360_features *f = NULL;
    c360_store_opts so = {.block_cache_bytes = cfg.block_cache_bytes, .partitions = cfg.partitions,
                          .dedup_window_ms = cfg.dedup_window_ms, .retention_ms = cfg.retention_ms};
    if (c360_store_open(&s, cfg.data_dir, &so, err, sizeof err) || c360_features_open(&f, s, &cfg, err, sizeof err)) {
        fprintf(stderr, "c360 rebuild: %s\n", err);
        goto out;
    }
    if (!c360_features_enabled(f)) {
        fprintf(stderr, "c360 rebuild: the features layer is disabled (features.enabled: false)\n");
        goto out;
    }
    int64_t t0 = c360_monotonic_ns();
    uint64_t np, ne;
    if (c360_features_rebuild(f, s, &np, &ne, err, sizeof err)) {
        fprintf(stderr, "c360 rebuild: %s\n", err);
        goto out;
    }
    double secs = (double)(c360_monotonic_ns() - t0) / 1e9;
    fprintf(stderr, "c360 rebuild: %llu profiles, %llu events replayed in %.1f s\n", (unsigned long long)np,
            (unsigned long long)ne, secs);
    rc = 0;
out:
    c360_features_free(f);
    c360_store_close(s);
    c360_config_release(&cfg);
    return rc;
}
