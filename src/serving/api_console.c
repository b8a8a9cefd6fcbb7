/* api_console.c -- the web console (docs/CONSOLE.md) and the endpoints only it needs:
 *   GET  /, /console/{file}                                the console's files, built into the binary
 *                                                          (tools/embed.c); no key: they hold no data
 *   GET  /v1/whoami                                        the key's name, role and capabilities
 *   GET  /v1/search?q=PREFIX&limit=                        customers by name prefix (search.c)
 *   GET  /v1/overview                                      rates, lag, counts for the overview page
 *   POST /v1/profiles/{type}:{value}/notes {"text"}        agent: a "Note Added" event
 *   POST /v1/profiles/{type}:{value}/orders/{id}/review    fraud: an "Order Reviewed" event
 * Notes and reviews are track events of the customer, handed to the writer like any ingest
 * (so they are ordered, in the timeline, pushed to live views, erased with the customer), and
 * audited durably. */
#include "serving/http_int.h"
#include "core/errors.h"
#include "features/features.h"
#include "identity/resolve.h"
#include "privacy/policy.h"
#include "profile/profile.h"
#include "store/keys.h"
#include "serving/url.h"
#include "util/clock.h"
#include "util/json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* generated from console/ by tools/embed.c */
int c360_console_asset(const char *path, size_t n, const unsigned char **data, size_t *len, const char **ctype,
                       const char **etag);

/* ---- static files ---- */

static void send_asset(c360_call *c, const char *name, size_t n)
{
    const unsigned char *data;
    size_t len;
    const char *ctype, *etag;
    if (!c360_console_asset(name, n, &data, &len, &ctype, &etag)) {
        c360_respond_error(c, C360_ENOTFOUND, "no such console file: %.*s", (int)(n > 100 ? 100 : n), name);
        return;
    }
    h2o_req_t *req = c->req;
    /* index.html is revalidated every time (it names the other files); the rest may be cached
     * briefly and revalidated by ETag */
    int is_index = n == 10 && !memcmp(name, "index.html", 10);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, etag, strlen(etag));
    const char *cc = is_index ? "no-cache" : "max-age=300, must-revalidate";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, cc, strlen(cc));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL, H2O_STRLIT("nosniff"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-frame-options"), 0, NULL, H2O_STRLIT("DENY"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
                          H2O_STRLIT("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                     "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL, H2O_STRLIT("no-referrer"));
    ssize_t inm = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    if (inm >= 0) {
        h2o_iovec_t v = req->headers.entries[inm].value;
        if (v.len == strlen(etag) && !memcmp(v.base, etag, v.len)) {
            req->res.status = 304;
            req->res.reason = "Not Modified";
            h2o_send_inline(req, NULL, 0);
            c360_count(&c->srv->d.metrics->http_requests[c->route], 1);
            return;
        }
    }
    c360_respond(c, 200, ctype, (const char *)data, len);
}

static int api_index(c360_call *c)
{
    send_asset(c, "index.html", 10);
    return 0;
}

static int api_asset(c360_call *c)
{
    /* c->sub is the path after /console/ (raw: our file names need no escapes) */
    if (memmem(c->sub, c->sublen, "..", 2)) {
        c360_respond_error(c, C360_ENOTFOUND, "no such console file");
        return 0;
    }
    send_asset(c, c->sub, c->sublen);
    return 0;
}

/* ---- who am I ---- */

static int api_whoami(c360_call *c)
{
    static const struct { const char *cap; int roles; } caps[] = {
        {"ingest", C360_ROLE_INGEST | C360_ROLE_ADMIN},
        {"read_profiles", C360_ROLES_READ},
        {"search", C360_ROLES_READ},
        {"overview", C360_ROLES_READ},
        {"reveal", C360_ROLE_AGENT},
        {"add_note", C360_ROLE_AGENT | C360_ROLE_ADMIN},
        {"change_consent", C360_ROLE_AGENT | C360_ROLES_SUBJECT},
        {"review_order", C360_ROLE_FRAUD | C360_ROLE_ADMIN},
        {"export", C360_ROLES_SUBJECT},
        {"erase", C360_ROLES_SUBJECT},
        {"audit", C360_ROLES_SUBJECT},
        {"segments", C360_ROLES_READ},
        {"metrics", C360_ROLE_ADMIN},
        {"keys", C360_ROLE_ADMIN},
    };
    strbuf out = STRBUF_INIT;
    sb_adds(&out, "{\"name\":");
    c360_json_put_cstr(&out, c->key_name);
    sb_addf(&out, ",\"role\":\"%s\",\"unmasked\":%s,\"can\":[", c360_role_name(c->role),
            c360_policy_unmasked(c->role) ? "true" : "false");
    int n = 0;
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        if (caps[i].roles & c->role) sb_addf(&out, "%s\"%s\"", n++ ? "," : "", caps[i].cap);
    sb_adds(&out, "]}");
    c360_respond(c, 200, "application/json", out.buf, out.len);   /* nothing personal to mask */
    sb_release(&out);
    return 0;
}

/* ---- overview ---- */

/* samples of the accepted-events counter, taken when the overview is read (the console polls
 * it), for the per-second rate over the last minute */
#define NSAMPLES 128
static struct {
    pthread_mutex_t mu;
    int64_t t[NSAMPLES];
    uint64_t v[NSAMPLES];
    int head, n;
} rate = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void rate_json(uint64_t accepted, strbuf *out)
{
    int64_t now = c360_monotonic_ns() / 1000000;
    pthread_mutex_lock(&rate.mu);
    int last = (rate.head + NSAMPLES - 1) % NSAMPLES;
    if (!rate.n || now - rate.t[last] >= 500) {
        rate.t[rate.head] = now;
        rate.v[rate.head] = accepted;
        rate.head = (rate.head + 1) % NSAMPLES;
        if (rate.n < NSAMPLES) rate.n++;
    }
    /* oldest sample within the last 60 s */
    int oldest = -1;
    for (int k = rate.n; k >= 1; k--) {
        int i = (rate.head + NSAMPLES - k) % NSAMPLES;
        if (now - rate.t[i] <= 60000) { oldest = i; break; }
    }
    double per_s = 0, window = 0;
    if (oldest >= 0 && now > rate.t[oldest]) {
        window = (double)(now - rate.t[oldest]) / 1000.0;
        per_s = (double)(accepted - rate.v[oldest]) / window;
    }
    sb_addf(out, "\"events_per_second\":%.2f,\"rate_window_s\":%.1f,\"rate_series\":[", per_s, window);
    /* per-interval rates of the samples in the last minute, oldest first */
    int first = 1;
    for (int k = rate.n; k >= 2; k--) {
        int i = (rate.head + NSAMPLES - k) % NSAMPLES, j = (i + 1) % NSAMPLES;
        if (now - rate.t[i] > 60000 || rate.t[j] <= rate.t[i]) continue;
        double r = (double)(rate.v[j] - rate.v[i]) * 1000.0 / (double)(rate.t[j] - rate.t[i]);
        sb_addf(out, "%s{\"ago_s\":%.1f,\"rate\":%.2f}", first ? "" : ",", (double)(now - rate.t[j]) / 1000.0, r);
        first = 0;
    }
    sb_adds(out, "]");
    pthread_mutex_unlock(&rate.mu);
}

/* the value of a Prometheus series (first line starting with `name`), summed over labels */
static int prom_sum(const char *text, const char *name, double *sum)
{
    size_t nl = strlen(name);
    int found = 0;
    *sum = 0;
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, name, nl) || (l[nl] != ' ' && l[nl] != '{')) continue;
        const char *sp = strchr(l, ' ');
        const char *eol = strchr(l, '\n');
        if (l[nl] == '{') sp = strstr(l, "} ") ? strstr(l, "} ") + 1 : NULL;
        if (!sp || (eol && sp > eol)) continue;
        *sum += strtod(sp + 1, NULL);
        found = 1;
    }
    return found;
}

/* ---- recent fraud alerts (overview) ---- */
typedef struct { c360_store *store; strbuf *out; int n; } alerts_ctx;

static int alert_json(void *arg, uint64_t pid, int64_t raised_ms, double score, unsigned reasons)
{
    alerts_ctx *a = arg;
    c360_key k;
    c360_key_record(&k, pid);
    strbuf v = STRBUF_INIT;
    c360_profile p;
    int have = c360_store_get(a->store, k.b, k.n, &v) == 1 && c360_profile_decode(&p, v.buf, v.len) == 0;
    sb_release(&v);
    if (!have) return 0; /* erased or merged away since: not shown */
    char id[20], at[40];
    c360_profile_id_str(pid, id);
    c360_time_format(raised_ms, at);
    sb_addf(a->out, "%s{\"customer_id\":\"%s\",\"raised_at\":\"%s\",\"score\":%g,\"reasons\":[", a->n++ ? "," : "", id, at,
            score);
    for (int i = 0, n = 0; c360_fraud_reason_name(i); i++)
        if (reasons & (1u << i)) sb_addf(a->out, "%s\"%s\"", n++ ? "," : "", c360_fraud_reason_name(i));
    sb_adds(a->out, "],\"email\":");   /* masked per role like every email */
    const char *email = NULL;
    for (int i = 0; i < p.ntraits && !email; i++)
        if (!strcmp(p.traits[i].key, "email")) email = p.traits[i].json;
    sb_adds(a->out, email ? email : "null");
    sb_addc(a->out, '}');
    c360_profile_release(&p);
    return a->n >= 10;
}

static int api_overview(c360_call *c)
{
    c360_metrics *m = c->srv->d.metrics;
    c360_features *f = c->srv->d.features;
    strbuf out = STRBUF_INIT, tmp = STRBUF_INIT;
    uint64_t accepted = atomic_load(&m->events_accepted);
    char now[32];
    c360_time_format(c360_now_ms(), now);
    sb_addf(&out, "{\"at\":\"%s\",\"events_accepted\":%llu,", now, (unsigned long long)accepted);
    rate_json(accepted, &out);
    sb_addf(&out, ",\"customers\":%zu", c360_search_customers(c->srv->d.store));
    sb_addf(&out, ",\"profiles_created_since_start\":%llu,\"merges_since_start\":%llu",
            (unsigned long long)atomic_load(&m->profiles_created), (unsigned long long)atomic_load(&m->merges));
    int64_t today = c360_now_ms() / 86400000;
    c360_key mk;
    c360_key_merges_day(&mk, today);
    if (c360_store_get(c->srv->d.store, mk.b, mk.n, &tmp) == 1 && tmp.len == 8)
        sb_addf(&out, ",\"merges_today\":%llu", (unsigned long long)c360_get_u64be((unsigned char *)tmp.buf));
    else
        sb_adds(&out, ",\"merges_today\":0");
    sb_reset(&tmp);
    sb_addf(&out, ",\"events_duplicate\":%llu,\"events_suppressed\":%llu", (unsigned long long)atomic_load(&m->events_duplicate),
            (unsigned long long)atomic_load(&m->events_suppressed));
    /* ingest lag per source: HTTP = events waiting for the writer and the commit time;
     * Kafka = messages not yet durable (only when a Kafka source runs); PostgreSQL = bytes of
     * WAL between the server's end and what is confirmed durable (only when configured) */
    uint64_t cc = atomic_load(&m->commit_latency.count), cs = atomic_load(&m->commit_latency.sum_us);
    sb_addf(&out, ",\"sources\":[{\"source\":\"http\",\"queued_events\":%lld,\"commit_ms_avg\":%.2f}",
            (long long)atomic_load(&m->queue_events), cc ? (double)cs / (double)cc / 1000.0 : 0.0);
    if (m->render_extra) {
        m->render_extra(m->render_extra_arg, &tmp);
        double lag = 0;
        int has = prom_sum(tmp.buf, "c360_kafka_consumer_lag", &lag);
        sb_addf(&out, ",{\"source\":\"kafka\",\"messages\":%llu,\"lag_messages\":", (unsigned long long)atomic_load(&m->kafka_messages));
        if (has) sb_addf(&out, "%.0f}", lag);
        else sb_adds(&out, "null}");
    }
    const c360_config *cfg = c->srv->d.cfg;
    if (cfg->postgres_conninfo && *cfg->postgres_conninfo) {
        uint64_t rcv = atomic_load(&m->pg_received_lsn), conf = atomic_load(&m->pg_confirmed_lsn);
        sb_addf(&out, ",{\"source\":\"postgres\",\"lag_bytes\":%llu,\"changes\":%llu,\"transactions\":%llu}",
                (unsigned long long)(rcv > conf ? rcv - conf : 0), (unsigned long long)atomic_load(&m->pg_changes),
                (unsigned long long)atomic_load(&m->pg_transactions));
    }
    sb_adds(&out, "]");
    /* the features layer: fraud alerts and segment sizes */
    if (f && c360_features_enabled(f)) {
        sb_reset(&tmp);
        c360_features_metrics(f, &tmp);
        double v;
        if (prom_sum(tmp.buf, "c360_fraud_alerts_total", &v)) sb_addf(&out, ",\"fraud_alerts_since_start\":%.0f", v);
        else sb_adds(&out, ",\"fraud_alerts_since_start\":null");
        if (prom_sum(tmp.buf, "c360_fraud_orders_scored_total", &v)) sb_addf(&out, ",\"orders_scored_since_start\":%.0f", v);
        sb_addf(&out, ",\"fraud_alerts_today\":%d", c360_features_recent_alerts(f, 0, today * 86400000, NULL, NULL));
        sb_adds(&out, ",\"recent_fraud_alerts\":[");
        alerts_ctx ac = {.store = c->srv->d.store, .out = &out};
        c360_features_recent_alerts(f, 200, INT64_MIN / 2, alert_json, &ac);
        sb_addc(&out, ']');
        sb_reset(&tmp);
        c360_features_segments_json(f, &tmp);
        c360_json j;
        c360_json_init(&j);
        char err[32];
        sb_adds(&out, ",\"segments\":[");
        if (c360_json_parse(&j, tmp.buf, tmp.len, err, sizeof err) == 0) {
            int arr = c360_json_get(&j, 0, "segments");
            int k = arr + 1, ns = 0;
            for (int i = 0; arr >= 0 && i < j.tok[arr].size; i++, k = c360_json_skip(&j, k)) {
                strbuf name = STRBUF_INIT, lo = STRBUF_INIT, hi = STRBUF_INIT;
                if (c360_json_str(&j, c360_json_get(&j, k, "name"), &name) == 0) {
                    /* members in the membership index (entries are re-checked when listed) */
                    fseg_member_key(&lo, name.buf, 0);
                    sb_add(&hi, lo.buf, lo.len - 9);
                    sb_addc(&hi, 1);
                    c360_iter *it = c360_iter_new(c->srv->d.store, lo.buf, lo.len, hi.buf, hi.len);
                    long cnt = 0;
                    for (c360_iter_first(it); c360_iter_valid(it) && cnt < 1000000; c360_iter_next(it)) cnt++;
                    c360_iter_free(it);
                    sb_adds(&out, ns++ ? ",{\"segment\":" : "{\"segment\":");   /* not "name": masking would hide it */
                    c360_json_put_str(&out, name.buf, name.len);
                    sb_addf(&out, ",\"members\":%ld}", cnt);
                }
                sb_release(&name);
                sb_release(&lo);
                sb_release(&hi);
            }
        }
        sb_adds(&out, "]");
        c360_json_release(&j);
    } else {
        sb_adds(&out, ",\"fraud_alerts_since_start\":null,\"fraud_alerts_today\":null,\"recent_fraud_alerts\":null,\"segments\":null");
    }
    sb_addc(&out, '}');
    c360_respond_json(c, 200, &out);
    sb_release(&out);
    sb_release(&tmp);
    return 0;
}

/* ---- actions: notes and order reviews ---- */

typedef struct { uint64_t pid; char what[32], event[32]; } action_arg;

static void action_reply(c360_call *c, c360_job *job, void *udata)
{
    action_arg *a = udata;
    if (job->status) {
        c360_respond_error(c, job->status, "the %s could not be stored now; retry", a->what);
        return;
    }
    const char *mid = job->n ? job->evs[0].message_id : NULL;
    strbuf out = STRBUF_INIT;
    sb_addf(&out, "{\"ok\":true,\"stored\":\"%s\",\"messageId\":", a->what);
    if (mid) c360_json_put_cstr(&out, mid);
    else sb_adds(&out, "null");
    sb_addc(&out, '}');
    c360_respond(c, 200, "application/json", out.buf, out.len);
    sb_release(&out);
}

/* stores the action as a track event of the customer; audited when it is handed to the writer,
 * so a client that goes away cannot leave a stored action without its audit entry */
static void submit_action(c360_call *c, uint64_t pid, const char *event, const char *what, const strbuf *props)
{
    action_arg *a = xcalloc(1, sizeof *a);
    a->pid = pid;
    snprintf(a->what, sizeof a->what, "%s", what);
    snprintf(a->event, sizeof a->event, "%s", event);
    char detail[64];
    snprintf(detail, sizeof detail, "{\"event\":\"%s\"}", event);
    if (c360_call_submit_customer_event(c, pid, event, props->buf, action_reply, a)) {
        free(a);
        return;
    }
    c360_audit_call(c, what, pid, detail, 1);
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t l = strlen(suffix);
    return n >= l && !memcmp(s + n - l, suffix, l);
}

/* POST /v1/profiles/{id}/notes and /v1/profiles/{id}/orders/{order_id}/review */
static int api_profile_action(c360_call *c)
{
    const char *sub = c->sub;
    size_t n = c->sublen;
    const char *slash = memchr(sub, '/', n);
    if (!slash) goto notfound;
    size_t idl = (size_t)(slash - sub);
    const char *rest = slash + 1;
    size_t rl = n - idl - 1;
    int is_note = rl == 5 && !memcmp(rest, "notes", 5);
    int is_review = rl > 14 && !memcmp(rest, "orders/", 7) && ends_with(rest, rl, "/review");
    if (!is_note && !is_review) goto notfound;
    int allowed = is_note ? (c->role & (C360_ROLE_AGENT | C360_ROLE_ADMIN)) : (c->role & (C360_ROLE_FRAUD | C360_ROLE_ADMIN));
    if (!allowed) {
        c360_respond_error(c, C360_EFORBIDDEN, "this key's role (%s) may not %s", c360_role_name(c->role),
                           is_note ? "add notes" : "review orders");
        return 0;
    }
    strbuf ident = STRBUF_INIT, text = STRBUF_INIT, order = STRBUF_INIT, props = STRBUF_INIT;
    c360_json j;
    c360_json_init(&j);
    uint64_t pid;
    if (c360_url_decode(sub, idl, 0, &ident)) {
        c360_respond_error(c, C360_EIDENT, "bad percent-encoding in the identifier");
        goto done;
    }
    char err[160] = "";
    int has_body = c->req->entity.len > 0;
    if (has_body && (c360_json_parse(&j, c->req->entity.base, c->req->entity.len, err, sizeof err) || j.tok[0].type != CJ_OBJECT)) {
        c360_respond_error(c, C360_EJSON, "body must be a JSON object (%s)", err);
        goto done;
    }
    if (is_note) {
        if (!has_body || c360_json_str(&j, c360_json_get(&j, 0, "text"), &text) || !text.len || text.len > 4000 ||
            memchr(text.buf, 0, text.len)) {
            c360_respond_error(c, C360_EPARAM, "body must be {\"text\": \"...\"} (1 to 4000 bytes)");
            goto done;
        }
        if (c360_call_find_pid(c, ident.buf, ident.len, &pid)) goto done;
        sb_adds(&props, ",\"note\":");
        c360_json_put_str(&props, text.buf, text.len);
        submit_action(c, pid, "Note Added", "note", &props);
    } else {
        if (c360_url_decode(rest + 7, rl - 7 - 7, 0, &order) || !order.len || order.len > 200 || memchr(order.buf, 0, order.len) ||
            memchr(order.buf, '/', order.len)) {
            c360_respond_error(c, C360_EPARAM, "the order id in the path is empty or malformed");
            goto done;
        }
        if (c360_call_find_pid(c, ident.buf, ident.len, &pid)) goto done;
        sb_adds(&props, ",\"order_id\":");
        c360_json_put_str(&props, order.buf, order.len);
        int o = has_body ? c360_json_get(&j, 0, "outcome") : -1;
        strbuf outcome = STRBUF_INIT;
        if (o >= 0 && c360_json_str(&j, o, &outcome) == 0 && outcome.len && outcome.len <= 40) {
            sb_adds(&props, ",\"outcome\":");
            c360_json_put_str(&props, outcome.buf, outcome.len);
        }
        sb_release(&outcome);
        submit_action(c, pid, "Order Reviewed", "order_review", &props);
    }
done:
    c360_json_release(&j);
    sb_release(&ident);
    sb_release(&text);
    sb_release(&order);
    sb_release(&props);
    return 0;
notfound:
    c360_respond_error(c, C360_ENOTFOUND, "POST is supported on /v1/profiles/{type}:{value}/notes and .../orders/{order_id}/review");
    return 0;
}

#define ANY_KEY (C360_ROLE_INGEST | C360_ROLES_READ)
const c360_route c360_routes_console[] = {
    {"GET", "/", 0, 0, api_index, C360_ROUTE_other, 0, 0},
    {"GET", "/console/", 1, 0, api_asset, C360_ROUTE_other, 0, 0},
    {"GET", "/v1/whoami", 0, ANY_KEY, api_whoami, C360_ROUTE_other, 0, 0},
    {"GET", "/v1/search", 0, C360_ROLES_READ, c360_api_search, C360_ROUTE_other, 0, 0},
    {"GET", "/v1/overview", 0, C360_ROLES_READ, api_overview, C360_ROUTE_other, 0, 0},
    {"POST", "/v1/profiles/", 1, C360_ROLE_AGENT | C360_ROLE_FRAUD | C360_ROLE_ADMIN, api_profile_action, C360_ROUTE_profile, 0, 0},
    {0},
};
