/* api_features.c -- endpoints of the features layer:
 *   GET  /v1/profiles/{type}:{value}/recommendations?limit=   (dispatched from api_profile.c)
 *   GET  /v1/segments                                          definitions
 *   POST /v1/segments  {"name": "...", "where": "expression"}  define (persisted)
 *   GET  /v1/segments/{name}/members?limit=&cursor=            paginated, by customer id
 *   GET  /v1/segments/{name}/members.csv                       every member, CSV
 *   GET  /v1/features/metrics                                  the layer's counters (Prometheus text)
 * See docs/FEATURES.md. */
#include "serving/http_int.h"
#include "core/errors.h"
#include "features/features.h"
#include "identity/resolve.h"
#include "serving/url.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

static int int_param(c360_call *c, const char *name, int def, int lo, int hi, int *out)
{
    strbuf v = STRBUF_INIT;
    int f = c->query ? c360_query_param(c->query, c->querylen, name, &v) : 0;
    *out = def;
    if (f == 1) {
        char *end;
        long x = strtol(v.buf, &end, 10);
        if (!v.len || *end || x < lo || x > hi) f = -1;
        else *out = (int)x;
    }
    sb_release(&v);
    if (f < 0) {
        c360_respond_error(c, C360_EPARAM, "%s must be an integer from %d to %d", name, lo, hi);
        return -1;
    }
    return 0;
}

int c360_api_recommendations(c360_call *c, uint64_t pid, strbuf *out)
{
    c360_features *f = c->srv->d.features;
    if (!c360_features_enabled(f)) {
        c360_respond_error(c, C360_ENOTFOUND, "the features layer is disabled (features.enabled: false)");
        return -1;
    }
    int limit;
    if (int_param(c, "limit", 10, 1, 100, &limit)) return -1;
    c360_profile p;
    int r = c360_load_profile_ro(c->srv->d.store, pid, &p);
    if (r != 1) {
        c360_respond_error(c, r == 0 ? C360_ENOPROFILE : C360_ESTORE, r == 0 ? "profile not found" : "store read failed");
        return -1;
    }
    char id[20];
    c360_profile_id_str(p.pid, id);
    strbuf body = STRBUF_INIT;
    c360_features_recommend(f, &p, limit, &body);
    /* {"products_of_interest":...} -> {"id":"c-..","products_of_interest":...} */
    sb_addf(out, "{\"id\":\"%s\",%s", id, body.buf + 1);
    sb_release(&body);
    c360_profile_release(&p);
    return 0;
}

static int api_segments_list(c360_call *c)
{
    if (!c->srv->d.features) {
        c360_respond_error(c, C360_ENOTFOUND, "the features layer is not running");
        return 0;
    }
    strbuf out = STRBUF_INIT;
    c360_features_segments_json(c->srv->d.features, &out);
    c360_respond_json(c, 200, &out);
    sb_release(&out);
    return 0;
}

static int api_segments_post(c360_call *c)
{
    if (!c->srv->d.features) {
        c360_respond_error(c, C360_ENOTFOUND, "the features layer is not running");
        return 0;
    }
    c360_json j;
    c360_json_init(&j);
    char err[256];
    strbuf name = STRBUF_INIT, where = STRBUF_INIT;
    if (c360_json_parse(&j, c->req->entity.base, c->req->entity.len, err, sizeof err) || j.tok[0].type != CJ_OBJECT) {
        c360_respond_error(c, C360_EJSON, "body must be a JSON object {\"name\": ..., \"where\": ...}");
        goto out;
    }
    if (c360_json_str(&j, c360_json_get(&j, 0, "name"), &name) || c360_json_str(&j, c360_json_get(&j, 0, "where"), &where)) {
        c360_respond_error(c, C360_EPARAM, "name and where (an expression) are required strings");
        goto out;
    }
    int rc = c360_features_segment_define(c->srv->d.features, name.buf, where.buf, 1, err, sizeof err);
    if (rc == -1) c360_respond_error(c, C360_EPARAM, "%s", err);
    else if (rc) c360_respond_error(c, C360_ESTORE, "%s", err);
    else {
        strbuf o = STRBUF_INIT;
        sb_adds(&o, "{\"name\":");
        c360_json_put_cstr(&o, name.buf);
        sb_adds(&o, ",\"where\":");
        c360_json_put_cstr(&o, where.buf);
        sb_adds(&o, ",\"source\":\"api\"}");
        c360_respond_json(c, 201, &o);
        sb_release(&o);
    }
out:
    c360_json_release(&j);
    sb_release(&name);
    sb_release(&where);
    return 0;
}

/* GET /v1/segments/{name}/members[.csv] */
static int api_segment_members(c360_call *c)
{
    if (!c->srv->d.features) {
        c360_respond_error(c, C360_ENOTFOUND, "the features layer is not running");
        return 0;
    }
    const char *sub = c->sub;
    size_t n = c->sublen;
    const char *slash = memchr(sub, '/', n);
    int csv = 0;
    if (!slash) goto notfound;
    size_t nl = (size_t)(slash - sub), rl = n - nl - 1;
    if (rl == 11 && !memcmp(slash + 1, "members.csv", 11)) csv = 1;
    else if (!(rl == 7 && !memcmp(slash + 1, "members", 7))) goto notfound;
    strbuf name = STRBUF_INIT;
    if (c360_url_decode(sub, nl, 0, &name) || memchr(name.buf, 0, name.len)) {
        sb_release(&name);
        goto notfound;
    }
    c360_features *f = c->srv->d.features;
    int64_t now = c360_now_ms();
    c360_profile probe;
    c360_profile_init(&probe, 0, 0);
    int known = c360_features_segment_check(f, name.buf, &probe, now);
    c360_profile_release(&probe);
    if (known < 0) {
        c360_respond_error(c, C360_ENOTFOUND, "no segment named %s", name.buf);
        sb_release(&name);
        return 0;
    }
    int limit = 100;
    uint64_t after = 0;
    int has_after = 0;
    if (!csv) {
        if (int_param(c, "limit", 100, 1, 1000, &limit)) { sb_release(&name); return 0; }
        strbuf cur = STRBUF_INIT;
        if (c->query && c360_query_param(c->query, c->querylen, "cursor", &cur) == 1 && cur.len) {
            if (c360_profile_id_parse(cur.buf, cur.len, &after)) {
                c360_respond_error(c, C360_EPARAM, "cursor must be a 'next' value");
                sb_release(&cur);
                sb_release(&name);
                return 0;
            }
            has_after = 1;
        }
        sb_release(&cur);
    }
    strbuf lo = STRBUF_INIT, hi = STRBUF_INIT, out = STRBUF_INIT;
    fseg_member_key(&lo, name.buf, has_after ? after + 1 : 0);
    fseg_member_key(&hi, name.buf, 0);
    sb_truncate(&hi, hi.len - 9);
    sb_addc(&hi, 1);
    if (has_after && after == UINT64_MAX) sb_reset(&lo), sb_add(&lo, hi.buf, hi.len);
    c360_iter *it = c360_iter_new(c->srv->d.store, lo.buf, lo.len, hi.buf, hi.len);
    if (csv) sb_adds(&out, "id,since\n");
    else {
        sb_adds(&out, "{\"segment\":");
        c360_json_put_cstr(&out, name.buf);
        sb_adds(&out, ",\"members\":[");
    }
    int cnt = 0;
    uint64_t last = 0;
    int more = 0;
    for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
        if (!csv && cnt >= limit) {
            more = 1;
            break;
        }
        size_t kl, vl;
        const char *k = c360_iter_key(it, &kl), *v = c360_iter_value(it, &vl);
        if (kl < 8 || vl < 8) continue;
        uint64_t pid = c360_get_u64be((const unsigned char *)k + kl - 8);
        last = pid;
        c360_profile p;
        if (c360_load_profile_ro(c->srv->d.store, pid, &p) != 1) continue;   /* erased */
        int in = p.pid == pid && c360_features_segment_check(f, name.buf, &p, now) == 1;   /* re-evaluated on read */
        /* lists for marketing honour consent: a customer who refused marketing is left out */
        if (in && c->role == C360_ROLE_MARKETING && c360_profile_consent(&p, "marketing") == 0) in = 0;
        c360_profile_release(&p);
        if (!in) continue;
        char id[20], ts[32];
        c360_profile_id_str(pid, id);
        c360_time_format((int64_t)(c360_get_u64be((const unsigned char *)v) - C360_TS_BIAS), ts);
        if (csv) sb_addf(&out, "%s,%s\n", id, ts);
        else sb_addf(&out, "%s{\"id\":\"%s\",\"since\":\"%s\"}", cnt ? "," : "", id, ts);
        cnt++;
    }
    c360_iter_free(it);
    if (csv) {
        c360_respond(c, 200, "text/csv; charset=utf-8", out.buf, out.len);
    } else {
        if (more) {
            char id[20];
            c360_profile_id_str(last, id);
            /* the cursor is the last id examined: the next page starts after it */
            sb_addf(&out, "],\"next\":\"%s\"}", id);
        } else {
            sb_adds(&out, "],\"next\":null}");
        }
        c360_respond_json(c, 200, &out);
    }
    sb_release(&lo);
    sb_release(&hi);
    sb_release(&out);
    sb_release(&name);
    return 0;
notfound:
    c360_respond_error(c, C360_ENOTFOUND, "use /v1/segments/{name}/members or /members.csv");
    return 0;
}

static int api_features_metrics(c360_call *c)
{
    if (!c->srv->d.features) {
        c360_respond_error(c, C360_ENOTFOUND, "the features layer is not running");
        return 0;
    }
    strbuf out = STRBUF_INIT;
    c360_features_metrics(c->srv->d.features, &out);
    c360_respond(c, 200, "text/plain; version=0.0.4", out.buf, out.len);
    sb_release(&out);
    return 0;
}

const c360_route c360_routes_features[] = {
    {"GET", "/v1/segments", 0, C360_ROLES_READ, api_segments_list, C360_ROUTE_other, 0, 0},
    {"POST", "/v1/segments", 0, C360_ROLE_ADMIN | C360_ROLE_MARKETING, api_segments_post, C360_ROUTE_other, 0, 0},
    {"GET", "/v1/segments/", 1, C360_ROLES_READ, api_segment_members, C360_ROUTE_other, 0, 0},
    {"GET", "/v1/features/metrics", 0, C360_ROLE_ADMIN, api_features_metrics, C360_ROUTE_other, 0, 0},
    {0},
};
