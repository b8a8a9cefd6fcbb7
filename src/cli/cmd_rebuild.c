/* cmd_rebuild.c -- `c360 rebuild`: recompute computed features from the stored events (a
 * backfill after a definition changed). With --url the running server does it while it keeps
 * serving the old values (POST /v1/admin/rebuild, then its progress until complete); without,
 * the data dir is opened directly (the server must be stopped) and the co-purchase counts, the
 * catalogue and segment membership are recomputed too. */
#include "cli/cli.h"
#include "features/features.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] = "usage: c360 rebuild [--url http://HOST:PORT --admin-key KEY] [--config FILE] [--data-dir DIR]\n\n"
                            "Recomputes every customer's features with the definitions of the config file.\n"
                            "With --url (or C360_URL) the running server rebuilds while it keeps serving the old values,\n"
                            "and switches to the new ones when every customer is done (the server reads its own config\n"
                            "file again); this command follows the progress until then.\n"
                            "Without --url the data dir is opened directly (the server must be stopped); the co-purchase\n"
                            "counts, the catalogue and segment membership are recomputed too.\n";

/* a number field of a flat JSON object, or -1 */
static double num_field(const strbuf *b, const char *name)
{
    c360_json j;
    c360_json_init(&j);
    char err[64];
    double v = -1;
    if (!c360_json_parse(&j, b->buf, b->len, err, sizeof err)) {
        int t = c360_json_get(&j, 0, name);
        if (t >= 0) v = strtod(b->buf + j.tok[t].start, NULL);
    }
    c360_json_release(&j);
    return v;
}

static int via_server(const char *url, const char *key)
{
    char err[512];
    strbuf resp = STRBUF_INIT;
    long status;
    int rc = 1;
    if (c360_http_call(url, key, "POST", "/v1/admin/rebuild", "{}", &status, &resp, err, sizeof err)) {
        fprintf(stderr, "c360 rebuild: %s\n", err);
        goto out;
    }
    if (status != 202) {
        fprintf(stderr, "c360 rebuild: server answered %ld: %s\n", status, resp.buf);
        goto out;
    }
    int64_t t0 = c360_monotonic_ns();
    for (;;) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        sb_reset(&resp);
        if (c360_http_call(url, key, "GET", "/v1/admin/rebuild", NULL, &status, &resp, err, sizeof err)) {
            fprintf(stderr, "\nc360 rebuild: %s\n", err);
            goto out;
        }
        if (status != 200) {
            fprintf(stderr, "\nc360 rebuild: server answered %ld: %s\n", status, resp.buf);
            goto out;
        }
        double secs = (double)(c360_monotonic_ns() - t0) / 1e9;
        double ev = num_field(&resp, "events"), pr = num_field(&resp, "profiles");
        if (strstr(resp.buf, "\"state\":\"running\"")) {
            fprintf(stderr, "\rc360 rebuild: %.0f profiles, %.0f events replayed (%.0f events/s), serving the old values",
                    pr, ev, secs > 0 ? ev / secs : 0);
            continue;
        }
        if (strstr(resp.buf, "\"state\":\"done\"")) {
            fprintf(stderr, "\rc360 rebuild: %.0f profiles, %.0f events replayed in %.1f s; the new values are live\n", pr, ev,
                    secs);
            printf("%s\n", resp.buf);
            rc = 0;
        } else {
            fprintf(stderr, "\nc360 rebuild: failed: %s\n", resp.buf);
        }
        break;
    }
out:
    sb_release(&resp);
    return rc;
}

int c360_cmd_rebuild(int argc, char **argv)
{
    c360_config cfg;
    const char *url = c360_cli_take_url(&argc, argv);
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
    if (url && *url) {
        int vr = 2;
        if (!*cfg.admin_key) fprintf(stderr, "c360 rebuild: --url needs --admin-key (or C360_ADMIN_KEY)\n");
        else vr = via_server(url, cfg.admin_key);
        c360_config_release(&cfg);
        return vr;
    }
    char err[512];
    int rc = 1;
    c360_store *s = NULL;
    c360_features *f = NULL;
    c360_store_opts so = {.block_cache_bytes = cfg.block_cache_bytes, .partitions = cfg.partitions,
                          .dedup_window_ms = cfg.dedup_window_ms, .retention_ms = cfg.retention_ms,
                          .alert_retention_ms = cfg.alert_retention_ms};
    if (c360_store_open(&s, cfg.data_dir, &so, err, sizeof err) || c360_features_open(&f, s, &cfg, err, sizeof err)) {
        fprintf(stderr, "c360 rebuild: %s%s\n", err,
                strstr(err, "in use") ? " (a server is running: use --url to rebuild while it serves)" : "");
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
