/* api_webhooks.c -- POST /v1/webhooks/{source}: events pushed by other systems (help desks,
 * email marketing), verified and mapped into Segment events.
 *
 * Owns: the `sources: webhooks:` section of the config file and the requests' authentication.
 * Turning the JSON or form-encoded body into a record, and the built-in mappings for Zendesk's
 * ticket and user events and Mailchimp's list events, are sources/webhook_body.c (pure, fuzzed).
 * Everything after that is shared: records go through sources/mapping.c, the mapped events
 * through c360_segment_parse_one and the writer like any HTTP ingest (c360_call_submit: answered
 * only once durable).
 *
 * Auth is the signature, not an API key (the route has roles 0): HMAC-SHA256 over the raw body
 * with the source's secret, sent as `X-C360-Signature: sha256=<hex>` (header, prefix and hex or
 * base64 encoding configurable; optionally over a timestamp header's value followed by the body,
 * as Zendesk signs), compared in constant time. Senders that cannot sign (Mailchimp) use
 * `auth: url_secret`: the secret in the URL's query, and a GET that checks the URL. A request
 * that does not authenticate is refused with 401 before its body is looked at; a source without a
 * secret cannot be configured. The section is read on the first webhook request (the server core
 * has no hook for this module), and a broken section answers 500 with the reason, and logs it. */
#include "serving/http_int.h"
#include "serving/url.h"
#include "core/config.h"
#include "core/errors.h"
#include "sources/mapping.h"
#include "sources/webhook_body.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_MAPS 8

typedef struct wh_source {
    char *name;
    unsigned char *secret;
    size_t secret_len;
    char *header;          /* lower-case header name */
    char *prefix;          /* before the encoded MAC, e.g. "sha256=" */
    char *ts_header;       /* lower-case; when set, the MAC covers this header's value, then the body */
    int64_t max_age_ms;    /* with ts_header: the signed time may be this far from now (0: any) */
    int base64;            /* MAC encoding: hex (0) or base64 */
    int format;            /* 0 by Content-Type, 1 JSON, 2 form */
    int url_secret;        /* auth: the secret in the query (?secret=), for senders that do not sign */
    const c360_mapping *maps[MAX_MAPS];
    int nmaps;
} wh_source;

static struct {
    pthread_mutex_t mu;
    atomic_int loaded;
    int ok;
    char err[512];
    c360_mappings *user, *builtin;
    wh_source *src;
    int n;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const c360_mapping *find_map(const char *name)
{
    const c360_mapping *m = c360_mappings_find(W.user, name);
    return m ? m : c360_mappings_find(W.builtin, name);
}

static int is_scalar(yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }
static const char *sval(yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (is_scalar(k) && !strcmp(sval(k), key)) return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

static int add_map(wh_source *s, const char *name, char *err, size_t errlen)
{
    const c360_mapping *m = find_map(name);
    if (!m) { snprintf(err, errlen, "webhook source '%s': no mapping '%s'", s->name, name); return -1; }
    if (s->nmaps == MAX_MAPS) { snprintf(err, errlen, "webhook source '%s': at most %d mappings", s->name, MAX_MAPS); return -1; }
    s->maps[s->nmaps++] = m;
    return 0;
}

static int read_source(yaml_document_t *d, const char *name, yaml_node_t *n, wh_source *s, char *err, size_t errlen)
{
    s->name = xstrdup(name);
    s->header = xstrdup("x-c360-signature");
    s->prefix = xstrdup("sha256=");
    s->max_age_ms = 5 * 60 * 1000;
    if (!n || n->type != YAML_MAPPING_NODE) { snprintf(err, errlen, "webhook source '%s' must be a mapping", name); return -1; }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key), *v = yaml_document_get_node(d, p->value);
        const char *key = is_scalar(k) ? sval(k) : "";
        if (!strcmp(key, "mapping") || !strcmp(key, "mappings")) {
            if (is_scalar(v)) { if (add_map(s, sval(v), err, errlen)) return -1; continue; }
            if (!v || v->type != YAML_SEQUENCE_NODE) { snprintf(err, errlen, "webhook source '%s': 'mapping' is a name or a list of names", name); return -1; }
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                yaml_node_t *e = yaml_document_get_node(d, *it);
                if (!is_scalar(e) || add_map(s, sval(e), err, errlen)) {
                    if (!is_scalar(e)) snprintf(err, errlen, "webhook source '%s': 'mapping' lists names", name);
                    return -1;
                }
            }
            continue;
        }
        if (!is_scalar(v)) { snprintf(err, errlen, "webhook source '%s': '%s' must be a scalar", name, key); return -1; }
        const char *val = sval(v);
        if (!strcmp(key, "secret") || !strcmp(key, "secret_env")) {
            const char *sec = val;
            if (!strcmp(key, "secret_env")) {
                sec = getenv(val);
                if (!sec || !*sec) { snprintf(err, errlen, "webhook source '%s': environment variable %s is not set", name, val); return -1; }
            }
            free(s->secret);
            s->secret_len = strlen(sec);
            s->secret = (unsigned char *)xstrdup(sec);
        } else if (!strcmp(key, "signature_header")) {
            free(s->header);
            s->header = xstrdup(val);
            for (char *c = s->header; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        } else if (!strcmp(key, "signature_prefix")) {
            free(s->prefix);
            s->prefix = xstrdup(val);
        } else if (!strcmp(key, "signature_timestamp_header")) {
            free(s->ts_header);
            s->ts_header = NULL;
            if (*val) {
                s->ts_header = xstrdup(val);
                for (char *c = s->ts_header; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            }
        } else if (!strcmp(key, "signature_max_age")) {
            if (c360_parse_duration_ms(val, &s->max_age_ms) || s->max_age_ms < 0) {
                snprintf(err, errlen, "webhook source '%s': signature_max_age is a duration such as 5m (0: any age)", name);
                return -1;
            }
        } else if (!strcmp(key, "signature_encoding")) {
            if (!strcmp(val, "hex")) s->base64 = 0;
            else if (!strcmp(val, "base64")) s->base64 = 1;
            else { snprintf(err, errlen, "webhook source '%s': signature_encoding is hex or base64", name); return -1; }
        } else if (!strcmp(key, "auth")) {
            if (!strcmp(val, "signature")) s->url_secret = 0;
            else if (!strcmp(val, "url_secret")) s->url_secret = 1;
            else { snprintf(err, errlen, "webhook source '%s': auth is signature or url_secret", name); return -1; }
        } else if (!strcmp(key, "format")) {
            if (!strcmp(val, "json")) s->format = 1;
            else if (!strcmp(val, "form")) s->format = 2;
            else if (!strcmp(val, "auto")) s->format = 0;
            else { snprintf(err, errlen, "webhook source '%s': format is json, form or auto", name); return -1; }
        } else {
            snprintf(err, errlen, "webhook source '%s': unknown key '%s' (secret, secret_env, mapping, format, auth, "
                                  "signature_header, signature_prefix, signature_encoding, signature_timestamp_header, signature_max_age)", name, key);
            return -1;
        }
    }
    if (!s->secret || s->secret_len < 16) {
        snprintf(err, errlen, "webhook source '%s' needs a secret of at least 16 characters (secret or secret_env)", name);
        return -1;
    }
    if (!s->nmaps) {
        /* the built-ins serve sources named after them */
        if (!strcmp(name, "zendesk")) {
            add_map(s, "zendesk", err, errlen);
            add_map(s, "zendesk_ticket_events", err, errlen);
            add_map(s, "zendesk_user_events", err, errlen);
        }
        else if (!strcmp(name, "mailchimp")) {
            add_map(s, "mailchimp", err, errlen);
            add_map(s, "mailchimp_consent_revoked", err, errlen);
            add_map(s, "mailchimp_consent_granted", err, errlen);
        } else if (find_map(name)) add_map(s, name, err, errlen);
        else { snprintf(err, errlen, "webhook source '%s' needs 'mapping' (no built-in or configured mapping has its name)", name); return -1; }
    }
    return 0;
}

static int load_config(const char *path, char *err, size_t errlen)
{
    if (c360_mappings_load_string(c360_webhook_builtin_mappings, strlen(c360_webhook_builtin_mappings), &W.builtin, err, errlen)) return -1;
    if (c360_mappings_load(path, &W.user, err, errlen)) return -1;
    if (!path) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)); return -1; }
    yaml_parser_t p;
    yaml_document_t d;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int rc = 0;
    if (!yaml_parser_load(&p, &d)) {
        snprintf(err, errlen, "%s: YAML error at line %zu", path, p.problem_mark.line + 1);
        rc = -1;
    } else {
        yaml_node_t *wh = map_get(&d, map_get(&d, yaml_document_get_root_node(&d), "sources"), "webhooks");
        if (wh && wh->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *pr = wh->data.mapping.pairs.start; pr < wh->data.mapping.pairs.top && rc == 0; pr++) {
                yaml_node_t *k = yaml_document_get_node(&d, pr->key);
                if (!is_scalar(k)) continue;
                W.src = xrealloc(W.src, sizeof *W.src * (size_t)(W.n + 1));
                wh_source *s = &W.src[W.n++];
                memset(s, 0, sizeof *s);
                rc = read_source(&d, sval(k), yaml_document_get_node(&d, pr->value), s, err, errlen);
            }
        } else if (wh && !(is_scalar(wh) && wh->data.scalar.length == 0)) {
            snprintf(err, errlen, "sources.webhooks must be a mapping of SOURCE: {secret, mapping, ...}");
            rc = -1;
        }
        yaml_document_delete(&d);
    }
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

/* Loaded once, on the first webhook request; kept until exit. */
static void ensure_loaded(const c360_config *cfg)
{
    if (atomic_load(&W.loaded)) return;
    pthread_mutex_lock(&W.mu);
    if (!atomic_load(&W.loaded)) {
        W.ok = load_config(cfg->config_file, W.err, sizeof W.err) == 0;
        if (W.ok) LOG_INFO("webhooks configured", "\"sources\":%d", W.n);
        else {
            strbuf e = STRBUF_INIT;
            c360_json_put_cstr(&e, W.err);
            LOG_ERROR("webhook configuration", "\"error\":%s", e.buf);
            sb_release(&e);
        }
        atomic_store(&W.loaded, 1);
    }
    pthread_mutex_unlock(&W.mu);
}

static const wh_source *find_source(const char *name, size_t n)
{
    for (int i = 0; i < W.n; i++)
        if (strlen(W.src[i].name) == n && !memcmp(W.src[i].name, name, n)) return &W.src[i];
    return NULL;
}

/* the signed time of a timestamp header: ISO 8601, or seconds since 1970 as senders such as Slack
 * and Stripe write it; -1 if it is neither */
static int signed_time(h2o_iovec_t v, int64_t *ms)
{
    size_t i = 0;
    int64_t secs = 0;
    while (i < v.len && v.base[i] >= '0' && v.base[i] <= '9' && i < 12) secs = secs * 10 + (v.base[i++] - '0');
    if (i == v.len && i >= 9) {
        *ms = secs * 1000;
        return 0;
    }
    return c360_time_parse(v.base, v.len, ms) ? -1 : 0;
}

/* 1 if the request carries a valid signature of its body; 0 if not; -1 if it does, but the signed
 * timestamp is not a time, or further from now than the source's signature_max_age (a replay) */
static int signature_ok(const wh_source *s, h2o_req_t *req)
{
    ssize_t hi = h2o_find_header_by_str(&req->headers, s->header, strlen(s->header), -1);
    if (hi < 0) return 0;
    h2o_iovec_t v = req->headers.entries[hi].value;
    size_t pl = strlen(s->prefix);
    if (v.len < pl || strncasecmp(v.base, s->prefix, pl)) return 0;
    const char *enc = v.base + pl;
    size_t el = v.len - pl;
    while (el && (enc[el - 1] == ' ' || enc[el - 1] == '\t')) el--;
    h2o_iovec_t ts = {NULL, 0};
    if (s->ts_header) {
        ssize_t ti = h2o_find_header_by_str(&req->headers, s->ts_header, strlen(s->ts_header), -1);
        if (ti < 0 || req->headers.entries[ti].value.len == 0) return 0;
        ts = req->headers.entries[ti].value;
    }
    unsigned char got[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
    size_t gl = 0;
    int dec = s->base64 ? sodium_base642bin(got, sizeof got, enc, el, NULL, &gl, NULL, sodium_base64_VARIANT_ORIGINAL)
                        : sodium_hex2bin(got, sizeof got, enc, el, NULL, &gl, NULL);
    if (dec != 0 || gl != sizeof got) return 0;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, s->secret, s->secret_len);
    if (ts.len) crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts.base, ts.len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)req->entity.base, req->entity.len);
    crypto_auth_hmacsha256_final(&st, want);
    if (sodium_memcmp(got, want, sizeof want) != 0) return 0;
    if (ts.len && s->max_age_ms > 0) {
        int64_t at, now = c360_now_ms();
        if (signed_time(ts, &at) || at < now - s->max_age_ms || at > now + s->max_age_ms) return -1;
    }
    return 1;
}

/* 1 if the query's `secret` parameter is the source's secret (compared as hashes, in constant
 * time, so neither its bytes nor its length leak) */
static int url_secret_ok(const wh_source *s, const c360_call *c)
{
    strbuf v = STRBUF_INIT;
    int found = c->query && c360_query_param(c->query, c->querylen, "secret", &v) == 1;
    unsigned char got[32], want[32];
    crypto_generichash(got, sizeof got, (const unsigned char *)(v.buf ? v.buf : ""), v.len, NULL, 0);
    crypto_generichash(want, sizeof want, s->secret, s->secret_len, NULL, 0);
    sb_release(&v);
    return found && sodium_memcmp(got, want, sizeof want) == 0;
}

/* the source named by the path; answers the request (500, 404) and returns NULL otherwise */
static const wh_source *configured_source(c360_call *c)
{
    ensure_loaded(c->srv->d.cfg);
    if (!W.ok) {
        c360_respond_error(c, C360_EINTERNAL, "webhook configuration: %s", W.err);
        return NULL;
    }
    const wh_source *s = c->sub && c->sublen ? find_source(c->sub, c->sublen) : NULL;
    if (!s)
        c360_respond_error(c, C360_ENOTFOUND, "no webhook source '%.*s' is configured (sources.webhooks in the config file)",
                           (int)(c->sublen > 100 ? 100 : c->sublen), c->sub ? c->sub : "");
    return s;
}

/* 1 if the request authenticates as source s; answers 401 otherwise. Nothing of the body is
 * used before this. */
static int authenticated(const wh_source *s, c360_call *c)
{
    int ok = s->url_secret ? url_secret_ok(s, c) : signature_ok(s, c->req);
    if (ok == 1) return 1;
    if (ok < 0) {
        c360_respond_error(c, C360_EAUTH,
                           "the signed %s is not a time within %lld s of the server's clock (a replayed or delayed request; signature_max_age)",
                           s->ts_header, (long long)(s->max_age_ms / 1000));
    } else if (s->url_secret)
        c360_respond_error(c, C360_EAUTH, "missing or wrong secret (query parameter secret)");
    else
        c360_respond_error(c, C360_EAUTH, "missing or invalid signature (%s: %s<HMAC-SHA256 of %s%sthe body, %s>)", s->header, s->prefix,
                           s->ts_header ? s->ts_header : "", s->ts_header ? " followed by " : "", s->base64 ? "base64" : "hex");
    return 0;
}

/* GET /v1/webhooks/{source}?secret=...: the check senders such as Mailchimp make when a webhook
 * is registered. Only url_secret sources answer it (a signed GET has no body to sign). */
static int api_webhook_check(c360_call *c)
{
    const wh_source *s = configured_source(c);
    if (!s) return 0;
    if (!s->url_secret) {
        c360_respond_error(c, C360_EMETHOD, "webhook source '%s' takes signed POST requests", s->name);
        return 0;
    }
    if (!authenticated(s, c)) return 0;
    static const char ok[] = "{\"success\":true}";
    c360_respond(c, 200, "application/json", ok, sizeof ok - 1);
    return 0;
}

static void webhook_reply(c360_call *c, c360_job *job, void *udata)
{
    if (job->status == 0) {
        char b[64];
        int n = snprintf(b, sizeof b, "{\"success\":true,\"events\":%d}", job->n);
        c360_respond(c, 200, "application/json", b, (size_t)n);
    } else {
        c360_respond_error(c, job->status, "events could not be stored now; nothing was stored, retry later");
    }
}

static int api_webhook(c360_call *c)
{
    h2o_req_t *req = c->req;
    c360_server *srv = c->srv;
    const wh_source *s = configured_source(c);
    if (!s || !authenticated(s, c)) return 0;
    if (atomic_load(&srv->draining)) {
        c360_respond_error(c, C360_EUNAVAIL, "server is shutting down");
        return 0;
    }
    int form = s->format == 2;
    if (s->format == 0) {
        ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
        form = ct >= 0 && req->headers.entries[ct].value.len >= 33 &&
               !strncasecmp(req->headers.entries[ct].value.base, "application/x-www-form-urlencoded", 33);
    }
    strbuf rec = STRBUF_INIT;
    char err[512];
    int rc = c360_webhook_record(form, req->entity.base, req->entity.len, &rec, err, sizeof err);
    if (rc) {
        sb_release(&rec);
        c360_respond_error(c, rc, "%s", err);
        return 0;
    }
    /* replays of the same delivery deduplicate: the fallback message id hashes the body */
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *)req->entity.base, req->entity.len, NULL, 0);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    c360_event *evs = xcalloc(MAX_MAPS, sizeof *evs);
    int n = 0;
    int64_t now = c360_now_ms();
    strbuf out = STRBUF_INIT;
    for (int i = 0; i < s->nmaps && rc == 0; i++) {
        char fb[200];
        snprintf(fb, sizeof fb, "webhook/%s/%s/%d", s->name, hex, i);
        sb_reset(&out);
        int r = c360_mapping_apply(s->maps[i], rec.buf, rec.len, fb, &out, err, sizeof err);
        if (r == 1) continue;
        if (r < 0) rc = C360_EEVENT;
        else rc = c360_segment_parse_one(&srv->seg, -1, out.buf, out.len, now, &evs[n], err, sizeof err);
        if (rc == 0) n++;
        /* the reason goes to the sender only: it may quote values of the record */
        else LOG_WARN("webhook rejected", "\"source\":\"%s\",\"mapping\":\"%s\",\"error\":\"%s\"", s->name,
                      c360_mapping_name(s->maps[i]), c360_err_name(rc));
    }
    sb_release(&out);
    sb_release(&rec);
    if (rc) {
        c360_events_free(evs, n);
        c360_respond_error(c, rc, "%s", err);
        return 0;
    }
    if (n == 0) {
        free(evs);
        static const char ok[] = "{\"success\":true,\"events\":0}";
        c360_respond(c, 200, "application/json", ok, sizeof ok - 1);
        return 0;
    }
    c360_job job = {.evs = evs, .n = n};
    rc = c360_call_submit(c, &job, webhook_reply, NULL);
    if (rc) {
        c360_events_free(evs, n);
        c360_respond_error(c, rc, rc == C360_EBUSY ? "ingest queue is full; retry later" : "server is shutting down");
    }
    return 0;
}

const c360_route c360_routes_webhooks[] = {
    {"POST", "/v1/webhooks/", 1, 0, api_webhook, C360_ROUTE_ingest, 0, 0},
    {"GET", "/v1/webhooks/", 1, 0, api_webhook_check, C360_ROUTE_ingest, 0, 0},
    {0},
};
