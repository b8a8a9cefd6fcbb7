/* features.c -- the layer's entry points (features.h): the writer hooks that decode a
 * customer's state from the profile's `ext`, apply the event, update shared state and segment
 * membership and write the state back; and the read side that renders every value with the
 * event time it was last updated. The built-in features are listed in `builtins` below.
 * The writer keeps a decoded state from the first event of a customer in a group to the commit
 * (flive): a run of events of one customer decodes and encodes its state once, not per event. */
#include "features/features.h"
#include "features/fint.h"
#include "sources/sink.h"
#include "sources/webhook_sink.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <uthash.h>

void fsegs_load_store(c360_features *f);
static void live_discard(c360_features *f);
void fseg_member_key(strbuf *k, const char *seg, uint64_t pid);

int c360_features_open(c360_features **out, c360_store *s, const c360_config *cfg, char *err, size_t errlen)
{
    c360_features *f = xcalloc(1, sizeof *f);
    f->store = s;
    f->cfg = cfg;
    pthread_rwlock_init(&f->seg_lock, NULL);
    pthread_rwlock_init(&f->set_lock, NULL);
    pthread_mutex_init(&f->rb_mu, NULL);
    fsettings_defaults(&f->set);
    if (cfg && fsettings_load(&f->set, cfg->config_file, &f->segs, &f->nsegs, err, errlen)) {
        c360_features_free(f);
        return -1;
    }
    const char *env = getenv("C360_FEATURES");
    if (env && (!strcmp(env, "0") || !strcmp(env, "off") || !strcmp(env, "false"))) f->set.enabled = 0;
    fsettings_set_gen(&f->set, frebuild_load_gen(s));
    f->cache = fcache_new();
    f->pop = fpop_new();
    c360_json_init(&f->j);
    if (s) fsegs_load_store(f);
    if (s) atomic_store(&f->legacy_pairs, recs_has_legacy_pairs(s));
    *out = f;
    return 0;
}

void c360_features_free(c360_features *f)
{
    if (!f) return;
    fsettings_release(&f->set);
    for (int i = 0; i < f->nsegs; i++) fseg_release(&f->segs[i]);
    free(f->segs);
    live_discard(f);
    fcache_free(f->cache);
    fpop_free(f->pop);
    for (int i = 0; i < f->npm; i++) free(f->pending_members[i].name);
    free(f->pending_members);
    free(f->pending_loser_pids);
    sb_release(&f->tmp);
    c360_json_release(&f->j);
    frebuild_release(f);
    pthread_rwlock_destroy(&f->seg_lock);
    pthread_rwlock_destroy(&f->set_lock);
    pthread_mutex_destroy(&f->rb_mu);
    free(f);
}

int c360_features_enabled(const c360_features *f) { return f && f->set.enabled; }

void c360_features_set_outputs(c360_features *f, struct c360_sink *sink, struct c360_whsink *whsink)
{
    if (!f) return;
    f->sink = sink;
    f->whsink = whsink;
}

const char *c360_features_alert_webhook(const c360_features *f, const char **secret)
{
    if (secret) *secret = f ? f->set.webhook_secret : NULL;
    return f && f->set.enabled ? f->set.webhook_url : NULL;
}

static void flush_pending(c360_features *f, c360_txn *txn)
{
    strbuf k = STRBUF_INIT;
    for (int i = 0; i < f->npm; i++) {
        fseg_member_key(&k, f->pending_members[i].name, f->pending_loser_pids[i]);
        c360_txn_del(txn, k.buf, k.len);
        free(f->pending_members[i].name);
    }
    f->npm = f->npending = 0;
    sb_release(&k);
}

static const char *const builtins[];
static void render_feature(c360_features *f, const c360_profile *p, const fstate *s, int64_t now, const char *name,
                           strbuf *out, int first);

/* ---------------------------------------------------------------- decoded states until commit */
struct flive {
    uint64_t pid;
    c360_profile *p;   /* the writer's working-set copy (stable until the commit) */
    fstate s;
    UT_hash_handle hh;
};

/* p's state: decoded from p->ext at its first event since the last commit */
static fstate *live_get(c360_features *f, c360_profile *p)
{
    flive *e;
    HASH_FIND(hh, f->live, &p->pid, sizeof p->pid, e);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->pid = p->pid;
        fstate_load(f, p, &e->s);
        HASH_ADD(hh, f->live, pid, sizeof e->pid, e);
    }
    e->p = p;
    return &e->s;
}

/* forgets pid's decoded state without writing it back; 1 if there was one (moved to *out) */
static int live_take(c360_features *f, uint64_t pid, fstate *out)
{
    flive *e;
    HASH_FIND(hh, f->live, &pid, sizeof pid, e);
    if (!e) return 0;
    HASH_DEL(f->live, e);
    if (out) *out = e->s;
    else fstate_release(&e->s);
    free(e);
    return 1;
}

/* the feature values travel with the profile change to the Kafka sink (the last of a group wins
 * there, so they are rendered once, here, not per event) */
static void sink_note(c360_features *f, const c360_profile *p, const fstate *s, int64_t now)
{
    sb_reset(&f->tmp);
    sb_addc(&f->tmp, '{');
    int first = 1;
    for (int i = 0; builtins[i]; i++, first = 0) render_feature(f, p, s, now, builtins[i], &f->tmp, first);
    for (int i = 0; i < f->set.ndefs; i++, first = 0) render_feature(f, p, s, now, f->set.defs[i].name, &f->tmp, first);
    sb_addc(&f->tmp, '}');
    c360_sink_note_features(f->sink, p->pid, f->tmp.buf);
}

void flive_flush(c360_features *f)
{
    flive *e, *tmp;
    int64_t now = c360_now_ms();
    HASH_ITER(hh, f->live, e, tmp) {
        if (!f->quiet && f->sink) sink_note(f, e->p, &e->s, now);
        sb_reset(&f->tmp);
        fstate_encode(&e->s, &f->set, &f->tmp);
        c360_profile_set_ext(e->p, f->tmp.buf, f->tmp.len);
        HASH_DEL(f->live, e);
        fstate_release(&e->s);
        free(e);
    }
}

static void live_discard(c360_features *f)
{
    flive *e, *tmp;
    HASH_ITER(hh, f->live, e, tmp) {
        HASH_DEL(f->live, e);
        fstate_release(&e->s);
        free(e);
    }
}

int c360_features_on_event(c360_features *f, c360_txn *txn, c360_profile *p, const c360_event *ev, int64_t now)
{
    if (!f || !f->set.enabled) return 0;
    if (f->npm) flush_pending(f, txn);
    fstate *s = live_get(f, p);
    frebuild_note(f, p->pid);
    if (c360_json_parse_own(&f->j, ev->json.buf, ev->json.len)) f->j.ntok = 0;   /* written by sources/segment.c */
    uint64_t late0 = s->late;
    int ord = -1;
    int is_order = fstate_apply(s, &f->set, ev, &f->j, &ord);
    if (s->late != late0) atomic_fetch_add(&f->m_late, 1);
    if (ev->type == C360_EV_TRACK && ev->name && f->j.ntok) {
        int props = c360_json_get(&f->j, 0, "properties");
        if (props >= 0 && f->j.tok[props].type == CJ_OBJECT) {
            if (is_order) {
                atomic_fetch_add(&f->m_orders, 1);
                recs_on_order(f, ev->ts, &f->j, props);
                if (ord >= 0) {
                    frisk r = fraud_score(s, &f->set, p, &s->orders[ord]);
                    if (r.score >= f->set.threshold) fnotice_alert(f, txn, p->pid, &s->orders[ord], r, now);
                }
            } else if (!strncmp(ev->name, "Product ", 8)) {
                recs_catalog(f, &f->j, props, ev->ts);
            }
        }
    }
    if (f->nsegs) segs_update(f, txn, p, s, ev->ts, now);
    return 0;   /* the state goes back into p->ext, and its values to the sink, at the commit (flive_flush) */
}

void c360_features_on_merge(c360_features *f, c360_profile *surv, const c360_profile *loser)
{
    if (!f || !f->set.enabled) return;
    fstate *a = live_get(f, surv), b;
    if (!live_take(f, loser->pid, &b)) fstate_load(f, loser, &b);   /* the loser's profile is going away */
    frebuild_note(f, surv->pid);
    /* the loser's memberships are removed from the index at the next event (we have no txn here) */
    for (int i = 0; i < b.nsegs; i++) {
        f->pending_members = xrealloc(f->pending_members, sizeof *f->pending_members * (size_t)(f->npm + 1));
        f->pending_loser_pids = xrealloc(f->pending_loser_pids, sizeof *f->pending_loser_pids * (size_t)(f->npm + 1));
        f->pending_members[f->npm] = (fmember){.name = xstrdup(b.segs[i].name)};
        f->pending_loser_pids[f->npm++] = loser->pid;
    }
    fstate_absorb(a, &f->set, &b);
    /* merge time: the latest event time of the two (the merging event is applied next) */
    a->merges = xrealloc(a->merges, sizeof *a->merges * (size_t)(a->nmerges + 1));
    a->merges[a->nmerges++] = surv->last_seen > loser->last_seen ? surv->last_seen : loser->last_seen;
    fstate_release(&b);
}

/* ---------------------------------------------------------------- values */
void fmt_money(strbuf *out, int64_t fixed) { c360_json_put_num(out, (double)fixed / FSUM_SCALE); }

static void put_time(strbuf *out, int64_t ts)
{
    if (ts == INT64_MIN || ts == INT64_MAX) {
        sb_adds(out, "null");
        return;
    }
    char b[32];
    c360_time_format(ts, b);
    sb_addf(out, "\"%s\"", b);
}

static const char *const builtins[] = {"session_page_views", "time_since_last_event_s", "has_open_ticket", "cart",
                                       "products_of_interest", "lifetime_spend", "order_count", "last_purchase_at",
                                       "average_order_value", "rfm", "late_events", NULL};

/* Help desks spell statuses differently (Zendesk's REST API "solved", its event payloads
 * "SOLVED"); a ticket is open until it is solved, closed or deleted. */
static int ticket_open(const char *status)
{
    return strcasecmp(status, "solved") && strcasecmp(status, "closed") && strcasecmp(status, "deleted");
}

/* 1 + the number of edges v reaches */
static int rscore(double v, const double *lim)
{
    int s = 1;
    for (int i = 0; i < 4; i++)
        if (v >= lim[i]) s++;
    return s;
}

int feature_value(c360_features *f, const c360_profile *p, const fstate *s, int64_t now, const char *name, strbuf *out,
                  int64_t *upd)
{
    *upd = INT64_MIN;
    if (!strcmp(name, "session_page_views")) {
        int n = 0;
        if (s->nrecent && now - s->recent[s->nrecent - 1].ts <= f->set.session_gap_ms) {
            *upd = s->recent[s->nrecent - 1].ts;
            for (int i = s->nrecent - 1; i >= 0; i--) {
                n += s->recent[i].page;
                if (i && s->recent[i].ts - s->recent[i - 1].ts > f->set.session_gap_ms) break;
            }
        } else if (s->nrecent) {
            *upd = s->recent[s->nrecent - 1].ts + f->set.session_gap_ms;   /* when the session ended */
        }
        sb_addf(out, "%d", n);
    } else if (!strcmp(name, "time_since_last_event_s")) {
        if (p->total || p->last_seen) {
            c360_json_put_num(out, floor((double)(now - p->last_seen) / 1000));
            *upd = p->last_seen;
        } else sb_adds(out, "null");
    } else if (!strcmp(name, "has_open_ticket")) {
        int open = 0;
        for (int i = 0; i < s->ntickets; i++) {
            if (s->tickets[i].ts > *upd) *upd = s->tickets[i].ts;
            if (ticket_open(s->tickets[i].status)) open = 1;
        }
        sb_adds(out, open ? "true" : "false");
    } else if (!strcmp(name, "cart")) {
        /* adds minus removes per product since the last order, by product_id */
        int n = 0;
        const char **ids = xcalloc((size_t)s->nacts + 1, sizeof *ids);
        int *q = xcalloc((size_t)s->nacts + 1, sizeof *q);
        for (int i = 0; i < s->nacts; i++) {
            if (s->acts[i].kind == 0) continue;
            if (s->acts[i].ts > *upd) *upd = s->acts[i].ts;
            int k;
            for (k = 0; k < n; k++)
                if (!strcmp(ids[k], s->acts[i].pid)) break;
            if (k == n) ids[n++] = s->acts[i].pid;
            q[k] += s->acts[i].kind == 1 ? s->acts[i].qty : -s->acts[i].qty;
        }
        for (int a = 1; a < n; a++)   /* insertion sort by product_id */
            for (int b = a; b > 0 && strcmp(ids[b - 1], ids[b]) > 0; b--) {
                const char *t = ids[b]; ids[b] = ids[b - 1]; ids[b - 1] = t;
                int tq = q[b]; q[b] = q[b - 1]; q[b - 1] = tq;
            }
        sb_addc(out, '[');
        int first = 1;
        for (int k = 0; k < n; k++) {
            if (q[k] <= 0) continue;
            sb_adds(out, first ? "{\"product_id\":" : ",{\"product_id\":");
            first = 0;
            c360_json_put_cstr(out, ids[k]);
            sb_addf(out, ",\"quantity\":%d}", q[k]);
        }
        sb_addc(out, ']');
        free(ids);
        free(q);
    } else if (!strcmp(name, "products_of_interest")) {
        sb_addc(out, '[');
        int n = 0;
        for (int i = s->nacts - 1; i >= 0; i--) {
            if (s->acts[i].kind == 2) continue;
            int dup = 0;
            for (int k = i + 1; k < s->nacts && !dup; k++) dup = s->acts[k].kind != 2 && !strcmp(s->acts[k].pid, s->acts[i].pid);
            if (dup) continue;
            if (s->acts[i].ts > *upd) *upd = s->acts[i].ts;
            if (n++) sb_addc(out, ',');
            c360_json_put_cstr(out, s->acts[i].pid);
        }
        sb_addc(out, ']');
    } else if (!strcmp(name, "lifetime_spend")) {
        fmt_money(out, s->spend - s->refunded);
        *upd = s->money_ts;
    } else if (!strcmp(name, "order_count")) {
        sb_addf(out, "%llu", (unsigned long long)s->norders);
        *upd = s->last_order_ts;
    } else if (!strcmp(name, "last_purchase_at")) {
        put_time(out, s->last_order_ts);
        *upd = s->last_order_ts;
    } else if (!strcmp(name, "average_order_value")) {
        if (s->norders) c360_json_put_num(out, round((double)s->spend / FSUM_SCALE / (double)s->norders * 100) / 100);
        else sb_adds(out, "null");
        *upd = s->last_order_ts;
    } else if (!strcmp(name, "rfm")) {
        if (!s->norders) {
            sb_adds(out, "null");
        } else {
            static const double rl[4] = {180, 90, 60, 30}, fl[4] = {2, 3, 5, 10}, ml[4] = {50, 100, 250, 1000};
            double days = (double)(now - s->last_order_ts) / 86400000.0;
            int r = 1;
            for (int i = 0; i < 4; i++)
                if (days <= rl[i]) r = i + 2;
            int fr = rscore((double)s->norders, fl);
            int m = rscore((double)(s->spend - s->refunded) / FSUM_SCALE, ml);
            sb_addf(out, "{\"r\":%d,\"f\":%d,\"m\":%d,\"score\":\"%d%d%d\"}", r, fr, m, r, fr, m);
            *upd = s->money_ts;
        }
    } else if (!strcmp(name, "late_events")) {
        sb_addf(out, "%llu", (unsigned long long)s->late);
        *upd = s->late ? s->late_ts : INT64_MIN;
    } else {
        for (int i = 0; i < f->set.ndefs; i++)
            if (!strcmp(f->set.defs[i].name, name)) {
                if (i < s->ngen) fgen_value(&s->gen[i], &f->set.defs[i], now, out, upd);
                else {
                    fgen empty = {0};
                    fgen_value(&empty, &f->set.defs[i], now, out, upd);
                }
                return 1;
            }
        return 0;
    }
    return 1;
}

/* "features.NAME[.sub]", "traits.NAME[.sub]" for expressions */
int fprof_lookup(void *arg, const char *path, fval *out)
{
    fprof_ctx *x = arg;
    strbuf text = STRBUF_INIT;
    const char *rest = NULL;
    int found = 0;
    if (!strncmp(path, "features.", 9)) {
        const char *n = path + 9, *dot = strchr(n, '.');
        char *name = dot ? xstrndup(n, (size_t)(dot - n)) : xstrdup(n);
        int64_t upd;
        found = feature_value(x->f, x->p, x->s, x->now, name, &text, &upd);
        free(name);
        rest = dot ? dot + 1 : NULL;
    } else if (!strncmp(path, "traits.", 7)) {
        const char *n = path + 7, *dot = strchr(n, '.');
        size_t nl = dot ? (size_t)(dot - n) : strlen(n);
        for (int i = 0; i < x->p->ntraits; i++)
            if (strlen(x->p->traits[i].key) == nl && !memcmp(x->p->traits[i].key, n, nl)) {
                sb_adds(&text, x->p->traits[i].json);
                found = 1;
            }
        rest = dot ? dot + 1 : NULL;
    }
    if (found) {
        c360_json j;
        c360_json_init(&j);
        char err[64];
        if (!c360_json_parse(&j, text.buf, text.len, err, sizeof err)) {
            int t = rest ? fjson_path(&j, 0, rest) : 0;
            fval_from_json(&j, t, &x->scratch, out);
        } else found = 0;
        c360_json_release(&j);
    }
    sb_release(&text);
    return found;
}

/* ---------------------------------------------------------------- rendering */
static void render_feature(c360_features *f, const c360_profile *p, const fstate *s, int64_t now, const char *name,
                           strbuf *out, int first)
{
    int64_t upd;
    if (!first) sb_addc(out, ',');
    c360_json_put_key(out, name);
    sb_adds(out, "{\"value\":");
    feature_value(f, p, s, now, name, out, &upd);
    sb_adds(out, ",\"updated_at\":");
    put_time(out, upd);
    sb_addc(out, '}');
}

static void render_fraud(c360_features *f, const c360_profile *p, const fstate *s, strbuf *out)
{
    sb_adds(out, ",\"fraud\":{");
    strbuf alerts = STRBUF_INIT;
    int na = 0;
    for (int i = 0; i < s->nord; i++) {
        frisk r = fraud_score(s, &f->set, p, &s->orders[i]);
        strbuf *dst = NULL;
        if (i == s->nord - 1) {
            sb_adds(out, "\"last_order\":");
            dst = out;
        }
        for (int pass = 0; pass < 2; pass++) {
            strbuf *o = pass ? (r.score >= f->set.threshold ? &alerts : NULL) : dst;
            if (!o) continue;
            if (pass && na++) sb_addc(o, ',');
            sb_adds(o, "{\"order_id\":");
            if (s->orders[i].id) c360_json_put_cstr(o, s->orders[i].id);
            else sb_adds(o, "null");
            sb_addf(o, ",\"score\":%g,\"reasons\":[", r.score);
            int n = 0;
            for (int k = 0; k < FR__N; k++)
                if (r.reasons & (1u << k)) sb_addf(o, "%s\"%s\"", n++ ? "," : "", fraud_reason_names[k]);
            sb_adds(o, "],\"at\":");
            put_time(o, s->orders[i].ts);
            sb_adds(o, ",\"updated_at\":");
            put_time(o, s->orders[i].ts);
            sb_addc(o, '}');
        }
    }
    if (!s->nord) sb_adds(out, "\"last_order\":null");
    sb_addf(out, ",\"threshold\":%g,\"alerts\":[%s]}", f->set.threshold, alerts.buf);
    sb_release(&alerts);
}

static void render_segments(c360_features *f, const c360_profile *p, const fstate *s, int64_t now, strbuf *out)
{
    sb_adds(out, ",\"segments\":[");
    pthread_rwlock_rdlock(&f->seg_lock);
    int n = 0;
    for (int g = 0; g < f->nsegs; g++) {
        if (!seg_is_member(f, &f->segs[g], p, s, now)) continue;
        int64_t since = INT64_MIN;
        for (int i = 0; i < s->nsegs; i++)
            if (!strcmp(s->segs[i].name, f->segs[g].name)) since = s->segs[i].since;
        sb_adds(out, n++ ? ",{\"name\":" : "{\"name\":");
        c360_json_put_cstr(out, f->segs[g].name);
        sb_adds(out, ",\"since\":");
        put_time(out, since);
        sb_adds(out, ",\"updated_at\":");
        put_time(out, since);
        sb_addc(out, '}');
    }
    pthread_rwlock_unlock(&f->seg_lock);
    sb_addc(out, ']');
}

void c360_features_render(void *arg, const c360_profile *p, strbuf *out)
{
    c360_features *f = arg;
    if (!f || !f->set.enabled) return;
    pthread_rwlock_rdlock(&f->set_lock);   /* a rebuild's swap waits for readers */
    fstate s;
    fstate_load_ro(f, p, &s);
    int64_t now = c360_now_ms();
    sb_adds(out, ",\"features\":{");
    int first = 1;
    for (int i = 0; builtins[i]; i++, first = 0) render_feature(f, p, &s, now, builtins[i], out, first);
    for (int i = 0; i < f->set.ndefs; i++, first = 0) render_feature(f, p, &s, now, f->set.defs[i].name, out, first);
    sb_addc(out, '}');
    render_fraud(f, p, &s, out);
    render_segments(f, p, &s, now, out);
    fstate_release(&s);
    pthread_rwlock_unlock(&f->set_lock);
}

int c360_features_recommend(c360_features *f, const c360_profile *p, int limit, strbuf *out)
{
    pthread_rwlock_rdlock(&f->set_lock);
    fstate s;
    fstate_load_ro(f, p, &s);
    int rc = recs_query(f, &s, limit, f->set.exclude_last_order, out);
    fstate_release(&s);
    pthread_rwlock_unlock(&f->set_lock);
    return rc;
}

void c360_features_metrics(c360_features *f, strbuf *out)
{
    if (!f) return;
    sb_addf(out,
            "# HELP c360_features_late_events_total Events later than features.allowed_lateness (applied, and counted).\n"
            "# TYPE c360_features_late_events_total counter\nc360_features_late_events_total %llu\n"
            "# HELP c360_fraud_orders_scored_total Orders scored for fraud.\n"
            "# TYPE c360_fraud_orders_scored_total counter\nc360_fraud_orders_scored_total %llu\n"
            "# HELP c360_fraud_alerts_total Orders whose risk score reached fraud.threshold.\n"
            "# TYPE c360_fraud_alerts_total counter\nc360_fraud_alerts_total %llu\n"
            "# HELP c360_segment_transitions_total Segment entries and exits.\n"
            "# TYPE c360_segment_transitions_total counter\n"
            "c360_segment_transitions_total{kind=\"enter\"} %llu\nc360_segment_transitions_total{kind=\"exit\"} %llu\n",
            (unsigned long long)atomic_load(&f->m_late), (unsigned long long)atomic_load(&f->m_orders),
            (unsigned long long)atomic_load(&f->m_alerts), (unsigned long long)atomic_load(&f->m_seg_enter),
            (unsigned long long)atomic_load(&f->m_seg_exit));
    uint64_t dl, fl, dr, q;
    c360_whsink_counts(f->whsink, &dl, &fl, &dr, &q);
    sb_addf(out,
            "# HELP c360_alert_webhook_total Fraud alerts sent to fraud.webhook_url, by outcome.\n"
            "# TYPE c360_alert_webhook_total counter\n"
            "c360_alert_webhook_total{outcome=\"delivered\"} %llu\nc360_alert_webhook_total{outcome=\"failed\"} %llu\n"
            "c360_alert_webhook_total{outcome=\"dropped\"} %llu\n"
            "# HELP c360_alert_webhook_queued Fraud alerts waiting for delivery.\n"
            "# TYPE c360_alert_webhook_queued gauge\nc360_alert_webhook_queued %llu\n",
            (unsigned long long)dl, (unsigned long long)fl, (unsigned long long)dr, (unsigned long long)q);
}

/* rebuild support: forget the state of p (the next events rebuild it) */
void c360_features_reset(c360_features *f, c360_profile *p)
{
    if (f) live_take(f, p->pid, NULL);
    c360_profile_set_ext(p, NULL, 0);
}

void c360_features_discard(c360_features *f)
{
    if (!f) return;
    live_discard(f);
    fcache_discard(f->cache);
}

void c360_features_flush(c360_features *f, c360_txn *txn)
{
    if (!f) return;
    flive_flush(f);
    if (f->cache) fcache_flush(f->cache, txn);
}
