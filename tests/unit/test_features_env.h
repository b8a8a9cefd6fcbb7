/* test_features_env.h - shared fixture of the test_features_*.c unit tests: a fresh store in a
 * mkdtemp directory, an optional YAML config, the features layer and the engine; events are
 * Segment JSON bodies applied through the real pipeline (parse -> engine -> features). */
#ifndef TEST_FEATURES_ENV_H
#define TEST_FEATURES_ENV_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "features/features.h"
#include "features/fint.h"
#include "identity/resolve.h"
#include "profile/profile.h"
#include "sources/segment.h"
#include "store/keys.h"
#include "store/store.h"
#include "util/clock.h"

typedef struct {
    char dir[64];
    c360_config cfg;
    c360_id_rules rules;
    c360_store *s;
    c360_features *f;
    c360_engine *e;
    c360_metrics *m;
    c360_segment_ctx cx;
} fenv;

static __attribute__((unused)) int fenv_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

/* yaml: config file text or NULL */
static __attribute__((unused)) fenv * fenv_open(const char *yaml)
{
    fenv *v = calloc(1, sizeof *v);
    assert_non_null(v);
    snprintf(v->dir, sizeof v->dir, "/tmp/c360-test-feat-XXXXXX");
    assert_non_null(mkdtemp(v->dir));
    c360_config_defaults(&v->cfg);
    char err[256] = "";
    if (yaml) {
        char path[128];
        snprintf(path, sizeof path, "%s.yaml", v->dir);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(yaml, fp);
        fclose(fp);
        free(v->cfg.config_file);
        v->cfg.config_file = strdup(path);
    }
    if (c360_id_rules_init(&v->rules, &v->cfg, err, sizeof err)) fail_msg("rules: %s", err);
    c360_store_opts so = {.block_cache_bytes = 8 << 20, .partitions = v->cfg.partitions, .dedup_window_ms = v->cfg.dedup_window_ms};
    if (c360_store_open(&v->s, v->dir, &so, err, sizeof err)) fail_msg("store: %s", err);
    if (c360_features_open(&v->f, v->s, &v->cfg, err, sizeof err)) fail_msg("features: %s", err);
    v->m = calloc(1, sizeof *v->m);
    if (c360_engine_open(&v->e, v->s, &v->cfg, &v->rules, v->f, v->m, err, sizeof err)) fail_msg("engine: %s", err);
    v->cx.rules = &v->rules;
    v->cx.secret = c360_store_secret(v->s);
    v->cx.max_event_bytes = v->cfg.max_event_bytes;
    v->cx.max_batch_bytes = v->cfg.max_batch_bytes;
    return v;
}

static __attribute__((unused)) void fenv_close(fenv *v)
{
    c360_engine_free(v->e);
    c360_features_free(v->f);
    c360_store_close(v->s);
    c360_id_rules_release(&v->rules);
    if (v->cfg.config_file) unlink(v->cfg.config_file);
    c360_config_release(&v->cfg);
    nftw(v->dir, fenv_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(v->m);
    free(v);
}

static __attribute__((unused)) void fenv_commit(fenv *v)
{
    char err[256] = "";
    if (c360_engine_commit(v->e, 0, err, sizeof err)) fail_msg("commit: %s", err);
}

/* applies one Segment body (type inside) and commits */
static __attribute__((unused)) void fenv_ingest(fenv *v, const char *body)
{
    c360_event ev;
    char err[256];
    if (c360_segment_parse_one(&v->cx, -1, body, strlen(body), c360_now_ms(), &ev, err, sizeof err)) fail_msg("parse %s: %s", body, err);
    int a, d;
    int rc = c360_engine_apply(v->e, &ev, 1, &a, &d);
    c360_event_release(&ev);
    if (rc) fail_msg("apply: %s", c360_err_name(rc));
    fenv_commit(v);
}

static void fenv_ingestf(fenv *v, const char *fmt, ...) __attribute__((unused)) __attribute__((format(printf, 2, 3)));
static __attribute__((unused)) void fenv_ingestf(fenv *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf sb = STRBUF_INIT;
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    fenv_ingest(v, sb.buf);
    sb_release(&sb);
}

static __attribute__((unused)) int fenv_profile(fenv *v, const char *user, c360_profile *p)
{
    uint64_t pid = 0;
    if (c360_lookup_ident(v->s, &v->rules, "user_id", user, &pid) != 1) return 0;
    return c360_load_profile(v->s, pid, p) == 1;
}

/* the value of feature `name` of user at `now`, as JSON text (static buffer) */
static __attribute__((unused)) const char * fenv_feature(fenv *v, const char *user, const char *name, int64_t now)
{
    static char buf[4096];
    c360_profile p;
    if (!fenv_profile(v, user, &p)) fail_msg("no profile for %s", user);
    fstate s;
    fstate_decode(&s, &v->f->set, p.ext, p.next);
    strbuf out = STRBUF_INIT;
    int64_t upd;
    if (!feature_value(v->f, &p, &s, now, name, &out, &upd)) fail_msg("unknown feature %s", name);
    snprintf(buf, sizeof buf, "%s", out.buf);
    sb_release(&out);
    fstate_release(&s);
    c360_profile_release(&p);
    return buf;
}

/* the profile JSON with the features layer's members */
static __attribute__((unused)) char * fenv_profile_json(fenv *v, const char *user)
{
    c360_profile p;
    if (!fenv_profile(v, user, &p)) fail_msg("no profile for %s", user);
    strbuf out = STRBUF_INIT;
    c360_profile_to_json_ex(&p, &out, c360_features_render, v->f);
    c360_profile_release(&p);
    return sb_detach(&out, NULL);
}

#endif
