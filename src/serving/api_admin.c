/* api_admin.c -- operator endpoints (admin key): POST /v1/admin/backup takes a consistent copy
 * of the store (a RocksDB checkpoint: hard links of immutable files plus the live WAL) while the
 * server keeps serving and ingesting. Everything acknowledged before the request is in it. */
#include "serving/http_int.h"
#include "core/errors.h"
#include "engine/engine.h"
#include "features/features.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int api_backup(c360_call *c)
{
    h2o_req_t *req = c->req;
    c360_json j;
    c360_json_init(&j);
    char err[512];
    strbuf dir = STRBUF_INIT, out = STRBUF_INIT;
    if (c360_json_parse(&j, req->entity.base, req->entity.len, err, sizeof err) || j.tok[0].type != CJ_OBJECT) {
        c360_respond_error(c, C360_EJSON, "body must be a JSON object {\"dir\": \"/path/for/the/backup\"}");
        goto done;
    }
    int t = c360_json_get(&j, 0, "dir");
    if (t < 0 || c360_json_str(&j, t, &dir) || dir.len == 0 || dir.buf[0] != '/' || memchr(dir.buf, 0, dir.len)) {
        c360_respond_error(c, C360_EPARAM, "field 'dir' must be an absolute path");
        goto done;
    }
    struct stat st;
    if (stat(dir.buf, &st) == 0) {
        c360_respond_error(c, C360_EPARAM, "backup dir %s already exists; give a new path", dir.buf);
        goto done;
    }
    int64_t t0 = c360_monotonic_ns();
    if (c360_store_checkpoint(c->srv->d.store, dir.buf, err, sizeof err)) {
        c360_respond_error(c, C360_ESTORE, "%s", err);
        goto done;
    }
    double ms = (double)(c360_monotonic_ns() - t0) / 1e6;
    LOG_INFO("backup taken", "\"ms\":%.1f", ms);
    sb_adds(&out, "{\"dir\":");
    c360_json_put_str(&out, dir.buf, dir.len);
    sb_addf(&out, ",\"ms\":%.1f}", ms);
    c360_respond_json(c, 200, &out);
done:
    c360_json_release(&j);
    sb_release(&dir);
    sb_release(&out);
    return 0;
}

static void sweep_reply(c360_call *c, c360_job *job, void *udata)
{
    if (job->status) {
        free(job->swept_pids);
        job->swept_pids = NULL;
        c360_respond_error(c, job->status, "retention sweep failed; retry");
        return;
    }
    strbuf out = STRBUF_INIT, d = STRBUF_INIT;
    sb_addf(&out, "{\"erased\":%d}", job->swept);
    sb_addf(&d, "{\"erased\":%d}", job->swept);
    for (int i = 0; i < job->swept; i++) c360_audit_call(c, "erase", job->swept_pids[i], "{\"reason\":\"inactive\"}", 0);
    c360_audit_call(c, "retention_sweep", 0, d.buf, 1);
    free(job->swept_pids);
    job->swept_pids = NULL;
    c360_respond_json(c, 200, &out);
    sb_release(&out);
    sb_release(&d);
}

/* POST /v1/admin/retention: erase now every customer inactive longer than inactive_erase (or the
 * body's {"inactive_for": "400d"}). */
static int api_retention(c360_call *c)
{
    int64_t period = c->srv->d.cfg->inactive_erase_ms;
    if (c->req->entity.len) {
        c360_json j;
        c360_json_init(&j);
        char err[128];
        strbuf v = STRBUF_INIT;
        int bad = c360_json_parse(&j, c->req->entity.base, c->req->entity.len, err, sizeof err) || j.tok[0].type != CJ_OBJECT;
        int t = bad ? -1 : c360_json_get(&j, 0, "inactive_for");
        if (!bad && t >= 0 && (c360_json_str(&j, t, &v) || c360_parse_duration_ms(v.buf, &period))) bad = 1;
        c360_json_release(&j);
        sb_release(&v);
        if (bad) {
            c360_respond_error(c, C360_EPARAM, "body must be {\"inactive_for\": \"400d\"} (a duration)");
            return 0;
        }
    }
    if (period <= 0) {
        c360_respond_error(c, C360_EPARAM, "no inactivity period: set inactive_erase or send {\"inactive_for\": \"400d\"}");
        return 0;
    }
    c360_job job = {.sweep_before_ms = c360_now_ms() - period};
    int rc = c360_call_submit(c, &job, sweep_reply, NULL);
    if (rc) c360_respond_error(c, rc, "the writer is busy; retry");
    return 0;
}

/* POST /v1/admin/rebuild: recompute every customer's features with the config file's current
 * definitions while the server keeps serving the old values (features/rebuild_live.c);
 * GET: its progress. */
static int api_rebuild(c360_call *c)
{
    c360_features *f = c->srv->d.features;
    strbuf out = STRBUF_INIT;
    if (!f || !c360_features_enabled(f)) {
        c360_respond_error(c, C360_ECONFLICT, "the features layer is disabled (features.enabled: false)");
        return 0;
    }
    if (h2o_memis(c->req->method.base, c->req->method.len, H2O_STRLIT("POST"))) {
        char err[512];
        int rc = c360_engine_rebuild(c->srv->d.engine, err, sizeof err);
        if (rc == -1) {
            c360_respond_error(c, C360_EPARAM, err);
            return 0;
        }
        if (rc) {
            c360_respond_error(c, rc == -4 ? C360_EUNAVAIL : C360_ECONFLICT, err);
            return 0;
        }
        LOG_INFO("rebuild requested", "\"key\":\"%s\"", c->key_name);
        c360_features_rebuild_status(f, &out);
        c360_respond_json(c, 202, &out);
    } else {
        c360_features_rebuild_status(f, &out);
        c360_respond_json(c, 200, &out);
    }
    sb_release(&out);
    return 0;
}

const c360_route c360_routes_admin[] = {
    {"POST", "/v1/admin/rebuild", 0, C360_ROLE_ADMIN, api_rebuild, C360_ROUTE_other, 0, 0},
    {"GET", "/v1/admin/rebuild", 0, C360_ROLE_ADMIN, api_rebuild, C360_ROUTE_other, 0, 0},
    {"POST", "/v1/admin/backup", 0, C360_ROLE_ADMIN, api_backup, C360_ROUTE_other, 0, 0},
    {"POST", "/v1/admin/retention", 0, C360_ROLES_SUBJECT, api_retention, C360_ROUTE_other, 0, 0},
    {0},
};
