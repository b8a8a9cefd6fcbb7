/* api_profile.c -- GET /v1/profiles/{type}:{value}[/events|/identities|/merges].
 * Answered on the event loop straight from the store (committed state): identifier -> keyed
 * hash -> identity index -> profile record. `id:c-...` looks a profile up by its canonical id
 * (following merge redirects). */
#include "serving/http_int.h"
#include "core/errors.h"
#include "features/features.h"
#include "identity/resolve.h"
#include "privacy/policy.h"
#include "profile/timeline.h"
#include "serving/url.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

static void merges_json(c360_store *s, uint64_t pid, strbuf *out)
{
    c360_key lo, hi;
    c360_key_range(&lo, &hi, pid, C360_SUB_MERGE);
    c360_iter *it = c360_iter_new(s, lo.b, lo.n, hi.b, hi.n);
    strbuf merges = STRBUF_INIT, dropped = STRBUF_INIT;
    for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
        size_t vl;
        const char *v = c360_iter_value(it, &vl);
        strbuf *dst = (vl > 17 && !memcmp(v, "{\"kind\":\"dropped\"", 17)) ? &dropped : &merges;
        if (dst->len) sb_addc(dst, ',');
        sb_add(dst, v, vl);
    }
    c360_iter_free(it);
    char id[20];
    c360_profile_id_str(pid, id);
    sb_addf(out, "{\"id\":\"%s\",\"merges\":[%s],\"dropped\":[%s]}", id, merges.buf, dropped.buf);
    sb_release(&merges);
    sb_release(&dropped);
}

static int api_profile(c360_call *c)
{
    const char *sub = c->sub;
    size_t n = c->sublen;
    const char *slash = memchr(sub, '/', n);
    size_t idl = slash ? (size_t)(slash - sub) : n;
    const char *what = slash ? slash + 1 : "";
    size_t wl = slash ? n - idl - 1 : 0;
    strbuf ident = STRBUF_INIT, out = STRBUF_INIT;
    if (c360_url_decode(sub, idl, 0, &ident)) {
        c360_respond_error(c, C360_EIDENT, "bad percent-encoding in the identifier");
        goto done;
    }
    uint64_t pid;
    if (c360_call_find_pid(c, ident.buf, ident.len, &pid)) goto done;
    c360_store *s = c->srv->d.store;
    if (wl == 0) {
        c360_profile p;
        int f = c360_load_profile_ro(s, pid, &p);
        if (f != 1) {
            c360_respond_error(c, f == 0 ? C360_ENOPROFILE : C360_ESTORE, f == 0 ? "profile was erased or merged" : "store read failed");
            goto done;
        }
        c360_profile_to_json_ex(&p, &out, c->srv->d.features ? c360_features_render : NULL, c->srv->d.features);
        c360_profile_release(&p);
    } else if (wl == 10 && !memcmp(what, "identities", 10)) {
        c360_profile p;
        int f = c360_load_profile_ro(s, pid, &p);
        if (f != 1) {
            c360_respond_error(c, f == 0 ? C360_ENOPROFILE : C360_ESTORE, "profile not found");
            goto done;
        }
        char id[20];
        c360_profile_id_str(p.pid, id);
        sb_addf(&out, "{\"id\":\"%s\",\"identities\":[", id);
        for (int i = 0; i < p.nids; i++) {
            char ts[32];
            c360_time_format(p.ids[i].first_ts, ts);
            sb_adds(&out, i ? ",{\"type\":" : "{\"type\":");
            c360_json_put_cstr(&out, p.ids[i].type);
            sb_adds(&out, ",\"value\":");
            c360_json_put_cstr(&out, p.ids[i].value);
            sb_addf(&out, ",\"first_seen\":\"%s\",\"event\":", ts);
            c360_json_put_cstr(&out, p.ids[i].event);
            sb_addc(&out, '}');
        }
        sb_adds(&out, "]}");
        c360_profile_release(&p);
    } else if (wl == 6 && !memcmp(what, "events", 6)) {
        strbuf lim = STRBUF_INIT, before = STRBUF_INIT;
        int limit = 50;
        int fl = c->query ? c360_query_param(c->query, c->querylen, "limit", &lim) : 0;
        int fb = c->query ? c360_query_param(c->query, c->querylen, "before", &before) : 0;
        if (fl == 1) {
            char *end;
            long v = strtol(lim.buf, &end, 10);
            if (!lim.len || *end || v < 1 || v > 1000) fl = -1;
            else limit = (int)v;
        }
        if (fl < 0 || fb < 0) {
            c360_respond_error(c, C360_EPARAM, fl < 0 ? "limit must be an integer from 1 to 1000" : "bad percent-encoding in before");
        } else if (c360_timeline_page(s, pid, limit, fb == 1 ? before.buf : NULL, &out)) {
            c360_respond_error(c, C360_EPARAM, "before must be a cursor from 'next' or an ISO-8601 time");
        }
        sb_release(&lim);
        sb_release(&before);
        if (!out.len) goto done;
    } else if (wl == 6 && !memcmp(what, "stream", 6)) {
        c360_audit_call(c, "read", pid, "{\"view\":\"stream\"}", 0);
        if (c->reveal && c->role == C360_ROLE_AGENT) c360_audit_call(c, "reveal", pid, "{\"view\":\"stream\"}", 1);
        c360_api_stream(c, pid);
        goto done;
    } else if (wl == 6 && !memcmp(what, "merges", 6)) {
        merges_json(s, pid, &out);
    } else if (wl == 15 && !memcmp(what, "recommendations", 15)) {
        if (c360_api_recommendations(c, pid, &out)) goto done;   /* api_features.c */
    } else {
        c360_respond_error(c, C360_ENOTFOUND, "no such profile view: %.*s", (int)(wl > 100 ? 100 : wl), what);
        goto done;
    }
    {
        /* every read of personal data is audited (before the answer); a reveal is its own entry */
        strbuf d = STRBUF_INIT;
        sb_addf(&d, "{\"view\":\"%.*s\"}", (int)(wl ? wl : 7), wl ? what : "profile");
        c360_audit_call(c, "read", pid, d.buf, 0);
        if (c->reveal && c->role == C360_ROLE_AGENT) {
            sb_reset(&d);
            sb_adds(&d, "{\"fields\":[");
            int nf = 0;
            for (int cls = 1; cls < C360_FC__N; cls++)
                if (c->reveal & (1u << cls)) sb_addf(&d, "%s\"%s\"", nf++ ? "," : "", c360_policy_class_name(cls));
            sb_adds(&d, "]}");
            c360_audit_call(c, "reveal", pid, d.buf, 1);
        }
        sb_release(&d);
    }
    c360_respond_json(c, 200, &out);
done:
    sb_release(&ident);
    sb_release(&out);
    return 0;
}

const c360_route c360_routes_profile[] = {
    {"GET", "/v1/profiles/", 1, C360_ROLES_READ, api_profile, C360_ROUTE_profile, 0, 0},
    {0},
};
