/* api_privacy.c -- privacy and access endpoints:
 *   POST   /v1/privacy/erase                 erase a customer (privacy, admin)
 *   GET    /v1/privacy/export/{type}:{value} everything held about a person (privacy, admin)
 *   GET    /v1/audit?subject=TYPE:VALUE      the audit log about a subject (privacy, admin)
 *   GET    /v1/audit/verify                  check the audit chain (privacy, admin)
 *   POST   /v1/keys, GET /v1/keys, DELETE /v1/keys/{name}   API keys (admin)
 *   PUT    /v1/profiles/{type}:{value}/consent              consent change (agent, privacy, admin)
 * Every one of them is audited; erasure, export and key changes durably. */
#include "serving/http_int.h"
#include "core/errors.h"
#include "features/features.h"
#include "identity/resolve.h"
#include "privacy/audit.h"
#include "privacy/consent.h"
#include "privacy/erase.h"
#include "privacy/apikeys.h"
#include "profile/timeline.h"
#include "serving/url.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int body_json(c360_call *c, c360_json *j)
{
    char err[160];
    if (c360_json_parse(j, c->req->entity.base, c->req->entity.len, err, sizeof err) || j->tok[0].type != CJ_OBJECT) {
        c360_respond_error(c, C360_EJSON, "body must be a JSON object (%s)", err);
        return -1;
    }
    return 0;
}

/* ---- erasure ---- */

static void erase_reply(c360_call *c, c360_job *job, void *udata)
{
    c360_erase_report *rep = udata;
    if (job->status) {
        c360_respond_error(c, job->status, job->status == C360_ENOPROFILE ? "no such customer (already erased?)" : "erasure failed; retry");
        return;
    }
    char id[20];
    c360_profile_id_str(rep->pid, id);
    strbuf b = STRBUF_INIT, d = STRBUF_INIT;
    sb_addf(&b, "{\"erased\":\"%s\",\"identifiers\":%d,\"events\":%d,\"merged_profiles\":%d,\"suppressed\":%s}", id,
            rep->identifiers, rep->events, rep->merged, c->srv->d.cfg->erasure_suppress ? "true" : "false");
    sb_addf(&d, "{\"identifiers\":%d,\"events\":%d}", rep->identifiers, rep->events);
    c360_audit_call(c, "erase", rep->pid, d.buf, 1);
    c360_respond_json(c, 200, &b);
    sb_release(&b);
    sb_release(&d);
}

static int api_erase(c360_call *c)
{
    c360_json j;
    c360_json_init(&j);
    strbuf ident = STRBUF_INIT;
    if (body_json(c, &j)) goto done;
    int t = c360_json_get(&j, 0, "identifier");
    if (t < 0 || c360_json_str(&j, t, &ident)) {
        c360_respond_error(c, C360_EPARAM, "field 'identifier' must be a string TYPE:VALUE");
        goto done;
    }
    uint64_t pid;
    if (c360_call_find_pid(c, ident.buf, ident.len, &pid)) goto done;
    c360_erase_report *rep = xcalloc(1, sizeof *rep);
    c360_job job = {.erase_pid = pid, .erased = rep};
    int rc = c360_call_submit(c, &job, erase_reply, rep);
    if (rc) {
        free(rep);
        c360_respond_error(c, rc, "the writer is busy; retry");
    }
done:
    c360_json_release(&j);
    sb_release(&ident);
    return 0;
}

/* ---- subject access export ---- */

static int api_export(c360_call *c)
{
    strbuf ident = STRBUF_INIT, out = STRBUF_INIT;
    if (c360_url_decode(c->sub, c->sublen, 0, &ident)) {
        c360_respond_error(c, C360_EIDENT, "bad percent-encoding in the identifier");
        goto done;
    }
    uint64_t pid;
    if (c360_call_find_pid(c, ident.buf, ident.len, &pid)) goto done;
    c360_store *s = c->srv->d.store;
    c360_profile p;
    int f = c360_load_profile(s, pid, &p);
    if (f != 1) {
        c360_respond_error(c, f ? C360_ESTORE : C360_ENOPROFILE, "profile not found");
        goto done;
    }
    char id[20], at[32];
    c360_profile_id_str(pid, id);
    c360_time_format(c360_now_ms(), at);
    sb_addf(&out, "{\"format\":\"c360.export.v1\",\"exported_at\":\"%s\",\"subject\":", at);
    c360_json_put_str(&out, ident.buf, ident.len);
    sb_adds(&out, ",\"profile\":");
    c360_profile_to_json_ex(&p, &out, c->srv->d.features ? c360_features_render : NULL, c->srv->d.features);
    c360_profile_release(&p);
    /* the full timeline, oldest first is not needed: newest first, all pages */
    sb_adds(&out, ",\"events\":[");
    strbuf page = STRBUF_INIT, cursor = STRBUF_INIT;
    int nevents = 0;
    for (;;) {
        sb_reset(&page);
        c360_timeline_page(s, pid, 1000, cursor.len ? cursor.buf : NULL, &page);
        c360_json pj;
        c360_json_init(&pj);
        char err[64];
        if (c360_json_parse(&pj, page.buf, page.len, err, sizeof err)) { c360_json_release(&pj); break; }
        int evs = c360_json_get(&pj, 0, "events"), nx = c360_json_get(&pj, 0, "next");
        int k = evs + 1;
        for (int i = 0; i < pj.tok[evs].size; i++) {
            size_t vl;
            const char *v = c360_json_raw(&pj, k, &vl);
            if (nevents++) sb_addc(&out, ',');
            sb_add(&out, v, vl);
            k = c360_json_skip(&pj, k);
        }
        sb_reset(&cursor);
        int more = nx >= 0 && pj.tok[nx].type == CJ_STRING && c360_json_str(&pj, nx, &cursor) == 0;
        c360_json_release(&pj);
        if (!more) break;
    }
    sb_release(&page);
    sb_release(&cursor);
    sb_adds(&out, "],\"consent_history\":");
    c360_consent_history(s, pid, &out);
    sb_adds(&out, ",\"merges\":[");
    {
        c360_key lo, hi;
        c360_key_range(&lo, &hi, pid, C360_SUB_MERGE);
        c360_iter *it = c360_iter_new(s, lo.b, lo.n, hi.b, hi.n);
        int n = 0;
        for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
            size_t vl;
            const char *v = c360_iter_value(it, &vl);
            if (n++) sb_addc(&out, ',');
            sb_add(&out, v, vl);
        }
        c360_iter_free(it);
    }
    sb_adds(&out, "],\"audit\":");
    if (c->srv->d.audit) c360_audit_query(c->srv->d.audit, id, 10000, &out);
    else sb_adds(&out, "[]");
    sb_addc(&out, '}');
    c360_audit_call(c, "export", pid, NULL, 1);
    c360_respond_json(c, 200, &out);
done:
    sb_release(&ident);
    sb_release(&out);
    return 0;
}

/* ---- audit ---- */

static int api_audit(c360_call *c)
{
    strbuf subj = STRBUF_INIT, lim = STRBUF_INIT, out = STRBUF_INIT;
    int limit = 1000;
    const char *subject = NULL;
    char id[20];
    if (c->query && c360_query_param(c->query, c->querylen, "limit", &lim) == 1) {
        limit = atoi(lim.buf);
        if (limit < 1 || limit > 100000) {
            c360_respond_error(c, C360_EPARAM, "limit must be from 1 to 100000");
            goto done;
        }
    }
    int f = c->query ? c360_query_param(c->query, c->querylen, "subject", &subj) : 0;
    if (f < 0) {
        c360_respond_error(c, C360_EPARAM, "bad percent-encoding in subject");
        goto done;
    }
    if (f == 1) {
        uint64_t pid;
        if (c360_call_find_pid(c, subj.buf, subj.len, &pid)) goto done;
        c360_profile_id_str(pid, id);
        subject = id;
    }
    sb_adds(&out, "{\"entries\":");
    c360_audit_query(c->srv->d.audit, subject, limit, &out);
    sb_addc(&out, '}');
    c360_audit_call(c, "audit_read", 0, NULL, 0);
    c360_respond_json(c, 200, &out);
done:
    sb_release(&subj);
    sb_release(&lim);
    sb_release(&out);
    return 0;
}

static int api_audit_verify(c360_call *c)
{
    strbuf path = STRBUF_INIT, out = STRBUF_INIT;
    sb_addf(&path, "%s/audit.log", c->srv->d.cfg->data_dir);
    char err[256] = "";
    long lines = 0, bad = c360_audit_verify(path.buf, c->srv->d.store, &lines, err, sizeof err);
    if (bad == 0) sb_addf(&out, "{\"ok\":true,\"lines\":%ld}", lines);
    else {
        sb_addf(&out, "{\"ok\":false,\"line\":%ld,\"reason\":", bad);
        c360_json_put_cstr(&out, err);
        sb_addc(&out, '}');
    }
    c360_respond_json(c, 200, &out);
    sb_release(&path);
    sb_release(&out);
    return 0;
}

/* ---- keys ---- */

static int api_keys_create(c360_call *c)
{
    c360_json j;
    c360_json_init(&j);
    strbuf name = STRBUF_INIT, role = STRBUF_INIT, secret = STRBUF_INIT, out = STRBUF_INIT;
    char err[256];
    if (body_json(c, &j)) goto done;
    if (c360_json_str(&j, c360_json_get(&j, 0, "name"), &name) || c360_json_str(&j, c360_json_get(&j, 0, "role"), &role)) {
        c360_respond_error(c, C360_EPARAM, "fields 'name' and 'role' are required");
        goto done;
    }
    int r = c360_role_parse(role.buf);
    if (!r) {
        c360_respond_error(c, C360_EPARAM, "role must be one of ingest, agent, fraud, marketing, privacy, admin");
        goto done;
    }
    if (c360_keys_create(c->srv->d.store, name.buf, r, &secret, err, sizeof err)) {
        c360_respond_error(c, C360_EPARAM, "%s", err);
        goto done;
    }
    sb_adds(&out, "{\"name\":");
    c360_json_put_cstr(&out, name.buf);
    sb_addf(&out, ",\"role\":\"%s\",\"key\":", c360_role_name(r));
    c360_json_put_str(&out, secret.buf, secret.len);
    sb_adds(&out, ",\"note\":\"the key is shown once; c360 stores only its hash\"}");
    {
        strbuf d = STRBUF_INIT;
        sb_adds(&d, "{\"key_name\":");
        c360_json_put_cstr(&d, name.buf);
        sb_addf(&d, ",\"role\":\"%s\"}", c360_role_name(r));
        c360_audit_call(c, "key_create", 0, d.buf, 1);
        sb_release(&d);
    }
    c360_respond_json(c, 200, &out);
done:
    c360_json_release(&j);
    sb_release(&name);
    sb_release(&role);
    sb_release(&secret);
    sb_release(&out);
    return 0;
}

static int api_keys_list(c360_call *c)
{
    strbuf out = STRBUF_INIT;
    sb_adds(&out, "{\"keys\":");
    c360_keys_list(c->srv->d.store, &out);
    sb_addc(&out, '}');
    c360_respond_json(c, 200, &out);
    sb_release(&out);
    return 0;
}

static int api_keys_revoke(c360_call *c)
{
    strbuf name = STRBUF_INIT;
    char err[256];
    if (c360_url_decode(c->sub, c->sublen, 0, &name) || c360_keys_revoke(c->srv->d.store, name.buf, err, sizeof err)) {
        c360_respond_error(c, C360_ENOTFOUND, "no active key named '%s'", name.buf);
    } else {
        strbuf d = STRBUF_INIT, out = STRBUF_INIT;
        sb_adds(&d, "{\"key_name\":");
        c360_json_put_cstr(&d, name.buf);
        sb_addc(&d, '}');
        c360_audit_call(c, "key_revoke", 0, d.buf, 1);
        sb_addf(&out, "{\"revoked\":");
        c360_json_put_cstr(&out, name.buf);
        sb_addc(&out, '}');
        c360_respond_json(c, 200, &out);
        sb_release(&d);
        sb_release(&out);
    }
    sb_release(&name);
    return 0;
}

/* ---- consent ---- */

static void consent_reply(c360_call *c, c360_job *job, void *udata)
{
    uint64_t pid = *(uint64_t *)udata;
    if (job->status) {
        c360_respond_error(c, job->status, "consent change could not be stored; retry");
        return;
    }
    c360_profile p;
    strbuf out = STRBUF_INIT;
    if (c360_load_profile(c->srv->d.store, pid, &p) == 1) {
        /* the consent members of the profile JSON */
        strbuf full = STRBUF_INIT;
        c360_profile_to_json(&p, &full);
        c360_json j;
        c360_json_init(&j);
        char err[32];
        if (c360_json_parse(&j, full.buf, full.len, err, sizeof err) == 0) {
            size_t n;
            const char *raw = c360_json_raw(&j, c360_json_get(&j, 0, "consents"), &n);
            sb_adds(&out, "{\"consents\":");
            sb_add(&out, raw, n);
            sb_addc(&out, '}');
        }
        c360_json_release(&j);
        sb_release(&full);
        c360_profile_release(&p);
    }
    if (out.len) c360_respond_json(c, 200, &out);
    else c360_respond_error(c, C360_ENOPROFILE, "profile not found");
    sb_release(&out);
}

static int api_consent_put(c360_call *c)
{
    const char *slash = memchr(c->sub, '/', c->sublen);
    if (!slash || (size_t)(c->sub + c->sublen - slash - 1) != 7 || memcmp(slash + 1, "consent", 7)) {
        c360_respond_error(c, C360_ENOTFOUND, "PUT is only supported on /v1/profiles/{type}:{value}/consent");
        return 0;
    }
    strbuf ident = STRBUF_INIT, ev = STRBUF_INIT, source = STRBUF_INIT;
    c360_json j;
    c360_json_init(&j);
    if (c360_url_decode(c->sub, (size_t)(slash - c->sub), 0, &ident)) {
        c360_respond_error(c, C360_EIDENT, "bad percent-encoding in the identifier");
        goto done;
    }
    uint64_t pid;
    if (c360_call_find_pid(c, ident.buf, ident.len, &pid) || body_json(c, &j)) goto done;
    int g = c360_json_get(&j, 0, "granted"), cons = c360_json_get(&j, 0, "consents");
    int key = c360_json_get(&j, 0, "channel");
    if (key < 0) key = c360_json_get(&j, 0, "purpose");
    if (key < 0) key = c360_json_get(&j, 0, "key");
    char k[33];
    int ok_single = key >= 0 && c360_json_is_bool(&j, g) && j.tok[key].type == CJ_STRING &&
                    c360_consent_key(j.src + j.tok[key].start, (size_t)(j.tok[key].end - j.tok[key].start), k) == 0;
    int ok_map = cons >= 0 && j.tok[cons].type == CJ_OBJECT;
    if (!ok_single && !ok_map) {
        c360_respond_error(c, C360_EPARAM, "body needs {\"channel\"|\"purpose\": NAME, \"granted\": bool} or {\"consents\": {NAME: bool}}");
        goto done;
    }
    /* the change becomes a track event of this customer, so it is ordered and in the timeline */
    if (c360_json_str(&j, c360_json_get(&j, 0, "source"), &source)) sb_addf(&source, "api:%s", c->key_name);
    sb_adds(&ev, ",\"source\":");
    c360_json_put_str(&ev, source.buf, source.len);
    if (ok_single) sb_addf(&ev, ",\"key\":\"%s\",\"granted\":%s", k, c360_json_true(&j, g) ? "true" : "false");
    if (ok_map) {
        size_t n;
        const char *raw = c360_json_raw(&j, cons, &n);
        sb_adds(&ev, ",\"consents\":");
        sb_add(&ev, raw, n);
    }
    uint64_t *arg = xmalloc(sizeof *arg);
    *arg = pid;
    c360_audit_call(c, "consent_update", pid, NULL, 1);
    if (c360_call_submit_customer_event(c, pid, "Consent Updated", ev.buf, consent_reply, arg)) free(arg);
done:
    c360_json_release(&j);
    sb_release(&ident);
    sb_release(&ev);
    sb_release(&source);
    return 0;
}

const c360_route c360_routes_privacy[] = {
    {"POST", "/v1/privacy/erase", 0, C360_ROLES_SUBJECT, api_erase, C360_ROUTE_other, 0, 0},
    {"GET", "/v1/privacy/export/", 1, C360_ROLES_SUBJECT, api_export, C360_ROUTE_other, 0, 0},
    {"GET", "/v1/audit", 0, C360_ROLES_SUBJECT, api_audit, C360_ROUTE_other, 0, 0},
    {"GET", "/v1/audit/verify", 0, C360_ROLES_SUBJECT, api_audit_verify, C360_ROUTE_other, 0, 0},
    {"POST", "/v1/keys", 0, C360_ROLE_ADMIN, api_keys_create, C360_ROUTE_other, 0, 0},
    {"GET", "/v1/keys", 0, C360_ROLE_ADMIN, api_keys_list, C360_ROUTE_other, 0, 0},
    {"DELETE", "/v1/keys/", 1, C360_ROLE_ADMIN, api_keys_revoke, C360_ROUTE_other, 0, 0},
    {"PUT", "/v1/profiles/", 1, C360_ROLE_AGENT | C360_ROLES_SUBJECT, api_consent_put, C360_ROUTE_profile, 0, 0},
    {0},
};
