/* state.c -- one customer's feature state: what is kept in the profile record's `ext` bytes,
 * how an event changes it, how two states merge, and its binary encoding.
 *
 * Built-in state (the e-commerce vocabulary of docs/FEATURES.md): orders and refunds (fixed-point
 * money, the most recent FORDERS_MAX orders for fraud norms and the last basket), product
 * activity after the last order (cart, products of interest), the latest event times (sessions),
 * support tickets, merge times, segment membership, and one fgen per declarative feature.
 * Every list is kept sorted by a total order and capped by dropping its smallest entries, so the
 * state (and its bytes) depends only on the set of events applied. */
#include "features/fint.h"
#include "sources/event.h"
#include "util/codec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FSTATE_VERSION 1

/* an array of n zeroed elements: in the arena of a read-only state (freed with it: a profile
 * read decodes a dozen arrays, and calloc, which glibc serves without its thread cache, was 7% of
 * a lookup's CPU), else on the heap */
static void *arr(fstate *s, uint64_t n, size_t size)
{
    if (!n) n = 1;
    return s->arena ? c360_arena_calloc(&s->arena, (size_t)n * size) : xcalloc((size_t)n, size);
}

static void init(fstate *s, const fsettings *cfg, int ro)
{
    memset(s, 0, sizeof *s);
    s->wm = INT64_MIN;
    s->late_ts = INT64_MIN;
    s->first_order_ts = s->last_order_ts = s->money_ts = INT64_MIN;
    s->defs_hash = cfg->defs_hash;
    s->ngen = cfg->ndefs;
    if (ro) c360_arena_strndup(&s->arena, "", 0);   /* marks the state read-only */
    s->gen = arr(s, (uint64_t)s->ngen, sizeof *s->gen);
}

void fstate_init(fstate *s, const fsettings *cfg) { init(s, cfg, 0); }

/* an order of a heap-allocated state (a read-only state's orders live in its arena) */
static void ord_free(ford *o)
{
    free(o->id);
    free(o->pay);
    free(o->card);
    for (int i = 0; i < o->nprods; i++) free(o->prods[i]);
    free(o->prods);
}

void fstate_release(fstate *s)
{
    if (!s->arena) {   /* else the strings and arrays all live in the arena */
        for (int i = 0; i < s->nord; i++) ord_free(&s->orders[i]);
        free(s->orders);
        for (int i = 0; i < s->nacts; i++) free(s->acts[i].pid);
        free(s->acts);
        free(s->recent);
        for (int i = 0; i < s->ntickets; i++) { free(s->tickets[i].id); free(s->tickets[i].status); }
        free(s->tickets);
        free(s->merges);
        for (int i = 0; i < s->nsegs; i++) free(s->segs[i].name);
        free(s->segs);
        for (int i = 0; i < s->ngen; i++) fgen_release(&s->gen[i]);
        free(s->gen);
    }
    c360_arena_free(s->arena);
    memset(s, 0, sizeof *s);
}

/* ---- total orders of the lists ---- */
static int scmp(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : ""); }
static int ord_cmp(const ford *a, const ford *b)
{
    if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
    int c = scmp(a->id, b->id);
    if (c) return c;
    return a->amount < b->amount ? -1 : a->amount > b->amount;
}
static int act_cmp(const fact *a, const fact *b)
{
    if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
    int c = strcmp(a->pid, b->pid);
    if (c) return c;
    if (a->kind != b->kind) return a->kind - b->kind;
    return a->qty - b->qty;
}
static int rec_cmp(const frecent *a, const frecent *b)
{
    if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
    return a->page - b->page;
}

/* sorted insert with cap: drops the smallest element when full (possibly the new one) */
#define SORTED_INSERT(arr, n, cap, item, cmpfn, releasefn)                                  \
    do {                                                                                    \
        int lo_ = 0;                                                                        \
        while (lo_ < (n) && cmpfn(&(arr)[lo_], &(item)) <= 0) lo_++;                        \
        (arr) = xrealloc((arr), sizeof *(arr) * (size_t)((n) + 1));                         \
        memmove((arr) + lo_ + 1, (arr) + lo_, sizeof *(arr) * (size_t)((n) - lo_));         \
        (arr)[lo_] = (item);                                                                \
        (n)++;                                                                              \
        if ((n) > (cap)) {                                                                  \
            releasefn(&(arr)[0]);                                                           \
            memmove((arr), (arr) + 1, sizeof *(arr) * (size_t)((n) - 1));                   \
            (n)--;                                                                          \
        }                                                                                   \
    } while (0)

static void act_release(fact *a) { free(a->pid); }
static void rec_release(frecent *r) { (void)r; }

static void prune_acts(fstate *s)
{
    int k = 0;
    for (int i = 0; i < s->nacts; i++) {
        if (s->acts[i].ts > s->last_order_ts) s->acts[k++] = s->acts[i];
        else free(s->acts[i].pid);
    }
    s->nacts = k;
}

static int str_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* an order's products as a set: sorted, each once (a wholesale order lists hundreds) */
static void basket_set(ford *o)
{
    if (o->nprods < 2) return;
    qsort(o->prods, (size_t)o->nprods, sizeof *o->prods, str_cmp);
    int w = 1;
    for (int r = 1; r < o->nprods; r++) {
        if (!strcmp(o->prods[r], o->prods[w - 1])) free(o->prods[r]);
        else o->prods[w++] = o->prods[r];
    }
    o->nprods = w;
}

/* Only the last order's products are read (recommendations leave out the last basket), so the
 * others' are dropped: a customer's state then carries one basket instead of up to FORDERS_MAX,
 * and the writer decodes and encodes it for every group the customer is in. Which order is last
 * depends only on the set of orders, so the state still does too. */
static void keep_last_basket(fstate *s)
{
    int own = !s->arena;
    for (int i = 0; i + 1 < s->nord; i++) {
        ford *o = &s->orders[i];
        if (!o->prods) continue;
        for (int k = 0; own && k < o->nprods; k++) free(o->prods[k]);
        if (own) free(o->prods);
        o->prods = NULL;
        o->nprods = 0;
    }
}

/* returns the order's index in s->orders, or -1 if it is older than every kept order */
static int add_order(fstate *s, ford *o)
{
    s->norders++;
    s->spend += o->amount;
    if (s->first_order_ts == INT64_MIN || o->ts < s->first_order_ts) s->first_order_ts = o->ts;
    if (o->ts > s->last_order_ts) s->last_order_ts = o->ts;
    if (o->ts > s->money_ts) s->money_ts = o->ts;
    int lo = 0;
    while (lo < s->nord && ord_cmp(&s->orders[lo], o) <= 0) lo++;
    s->orders = xrealloc(s->orders, sizeof *s->orders * (size_t)(s->nord + 1));
    memmove(s->orders + lo + 1, s->orders + lo, sizeof *s->orders * (size_t)(s->nord - lo));
    s->orders[lo] = *o;
    s->nord++;
    if (s->nord > FORDERS_MAX) {
        ord_free(&s->orders[0]);
        memmove(s->orders, s->orders + 1, sizeof *s->orders * (size_t)(s->nord - 1));
        s->nord--;
        lo--;
    }
    keep_last_basket(s);
    prune_acts(s);
    return lo;
}

static void add_act(fstate *s, const char *pid, int64_t ts, int kind, int qty)
{
    if (ts <= s->last_order_ts) return;   /* before the last purchase: cleared by it */
    fact a = {.pid = xstrdup(pid), .ts = ts, .kind = kind, .qty = qty};
    SORTED_INSERT(s->acts, s->nacts, FACTS_MAX, a, act_cmp, act_release);
}

static void set_ticket(fstate *s, const char *id, const char *status, int64_t ts)
{
    int i;
    for (i = 0; i < s->ntickets; i++)
        if (!strcmp(s->tickets[i].id, id)) break;
    if (i < s->ntickets) {
        fticket *t = &s->tickets[i];
        if (ts > t->ts || (ts == t->ts && strcmp(status, t->status) > 0)) {
            free(t->status);
            t->status = xstrdup(status);
            t->ts = ts;
        }
        return;
    }
    int lo = 0;
    while (lo < s->ntickets && strcmp(s->tickets[lo].id, id) < 0) lo++;
    s->tickets = xrealloc(s->tickets, sizeof *s->tickets * (size_t)(s->ntickets + 1));
    memmove(s->tickets + lo + 1, s->tickets + lo, sizeof *s->tickets * (size_t)(s->ntickets - lo));
    s->tickets[lo] = (fticket){.id = xstrdup(id), .status = xstrdup(status), .ts = ts};
    s->ntickets++;
    if (s->ntickets > FTICKETS_MAX) {   /* drop the oldest */
        int m = 0;
        for (int k = 1; k < s->ntickets; k++)
            if (s->tickets[k].ts < s->tickets[m].ts ||
                (s->tickets[k].ts == s->tickets[m].ts && strcmp(s->tickets[k].id, s->tickets[m].id) < 0)) m = k;
        free(s->tickets[m].id);
        free(s->tickets[m].status);
        memmove(s->tickets + m, s->tickets + m + 1, sizeof *s->tickets * (size_t)(s->ntickets - m - 1));
        s->ntickets--;
    }
}

/* ---- reading the event ---- */
static char *json_text(const c360_json *j, int tok)
{
    if (tok < 0 || c360_json_is_null(j, tok)) return NULL;
    strbuf sb = STRBUF_INIT;
    if (j->tok[tok].type == CJ_STRING) c360_json_str(j, tok, &sb);
    else if (j->tok[tok].type == CJ_PRIMITIVE) {
        size_t n;
        const char *r = c360_json_raw(j, tok, &n);
        sb_add(&sb, r, n);
    } else return NULL;
    if (!sb.len) { sb_release(&sb); return NULL; }
    return sb_detach(&sb, NULL);
}
static int json_dbl(const c360_json *j, int tok, double *out)
{
    if (tok < 0) return 0;
    if (c360_json_is_number(j, tok)) return c360_json_num(j, tok, out) == 0;
    if (j->tok[tok].type == CJ_STRING) {
        strbuf sb = STRBUF_INIT;
        c360_json_str(j, tok, &sb);
        char *end;
        double v = strtod(sb.buf, &end);
        int ok = sb.len && !*end && isfinite(v);
        sb_release(&sb);
        if (ok) *out = v;
        return ok;
    }
    return 0;
}
static uint64_t fnv64(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static int eq(const char *a, const char *b) { return a && !strcmp(a, b); }

typedef struct { const c360_json *j; strbuf *scratch; } evctx;
static int ev_lookup(void *arg, const char *path, fval *out)
{
    evctx *x = arg;
    int t = fjson_path(x->j, 0, path);
    if (t < 0) return 0;
    fval_from_json(x->j, t, x->scratch, out);
    return 1;
}

static void apply_defs(fstate *s, const fsettings *cfg, const c360_event *ev, const c360_json *j)
{
    strbuf scratch = STRBUF_INIT;
    for (int i = 0; i < cfg->ndefs && i < s->ngen; i++) {
        const fdef *d = &cfg->defs[i];
        if (d->types && !(d->types & (1u << ev->type))) continue;
        if (d->nevents) {
            int ok = 0;
            for (int e = 0; e < d->nevents && !ok; e++) ok = eq(ev->name, d->events[e]);
            if (!ok) continue;
        }
        if (d->where) {
            evctx x = {j, &scratch};
            sb_reset(&scratch);
            if (!fexpr_eval(d->where, ev_lookup, &x)) continue;
        }
        const char *v = NULL;
        size_t vl = 0;
        double num = 0;
        int isnum = 0;
        if (d->field) {
            int t = fjson_path(j, 0, d->field);
            if (t < 0 || c360_json_is_null(j, t)) continue;   /* no value: the event does not count */
            v = c360_json_raw(j, t, &vl);
            isnum = json_dbl(j, t, &num);
            if (!isnum && d->agg >= AGG_SUM && d->agg <= AGG_MAX) continue;
        }
        fgen_add(&s->gen[i], d, ev->ts, v, vl, isnum, num);
    }
    sb_release(&scratch);
}

int fstate_apply(fstate *s, const fsettings *cfg, const c360_event *ev, const c360_json *j, int *ord_idx)
{
    int64_t ts = ev->ts;
    int is_order = 0;
    if (s->wm != INT64_MIN && ts < s->wm - cfg->lateness_ms) {
        s->late++;
        if (ts > s->late_ts || s->late_ts == INT64_MIN) s->late_ts = ev->received_ms ? ev->received_ms : ts;
    }
    if (ts > s->wm) s->wm = ts;
    frecent r = {.ts = ts, .page = ev->type == C360_EV_PAGE};
    SORTED_INSERT(s->recent, s->nrecent, FRECENT_MAX, r, rec_cmp, rec_release);
    int props = j->ntok ? c360_json_get(j, 0, "properties") : -1;
    if (props >= 0 && j->tok[props].type != CJ_OBJECT) props = -1;
    const char *name = ev->type == C360_EV_TRACK ? ev->name : NULL;
    if (name && props >= 0) {
        if (!strcmp(name, "Product Viewed") || !strcmp(name, "Product Added") || !strcmp(name, "Product Removed")) {
            char *pid = json_text(j, c360_json_get(j, props, "product_id"));
            double q = 1;
            json_dbl(j, c360_json_get(j, props, "quantity"), &q);
            int qty = q >= 1 && q < 1e6 ? (int)q : 1;
            if (pid) add_act(s, pid, ts, name[8] == 'V' ? 0 : name[8] == 'A' ? 1 : 2, qty);
            free(pid);
        } else if (!strcmp(name, "Order Completed")) {
            ford o = {.ts = ts, .id = json_text(j, c360_json_get(j, props, "order_id"))};
            double amt = 0;
            if (!json_dbl(j, c360_json_get(j, props, "revenue"), &amt) && !json_dbl(j, c360_json_get(j, props, "total"), &amt)) {
                int pr = c360_json_get(j, props, "products");   /* neither: the basket's value */
                if (pr >= 0 && j->tok[pr].type == CJ_ARRAY)
                    for (int it = pr + 1, k = 0; k < j->tok[pr].size; k++, it = c360_json_skip(j, it)) {
                        double price = 0, qn = 1;
                        if (j->tok[it].type != CJ_OBJECT) continue;
                        json_dbl(j, c360_json_get(j, it, "price"), &price);
                        json_dbl(j, c360_json_get(j, it, "quantity"), &qn);
                        amt += price * qn;
                    }
            }
            o.amount = llround(amt * FSUM_SCALE);
            o.pay = json_text(j, c360_json_get(j, props, "payment_method"));
            o.card = json_text(j, c360_json_get(j, props, "card_type"));
            if (!o.card) o.card = json_text(j, c360_json_get(j, props, "card_brand"));
            int ad = c360_json_get(j, props, "shipping_address");
            if (ad >= 0 && !c360_json_is_null(j, ad)) {
                size_t n;
                const char *raw = c360_json_raw(j, ad, &n);
                o.addr = fnv64(raw, n) | 1;
            }
            int pr = c360_json_get(j, props, "products");
            if (pr >= 0 && j->tok[pr].type == CJ_ARRAY && j->tok[pr].size > 0) {
                o.prods = xmalloc(sizeof *o.prods * (size_t)j->tok[pr].size);
                for (int it = pr + 1, k = 0; k < j->tok[pr].size; k++, it = c360_json_skip(j, it)) {
                    if (j->tok[it].type != CJ_OBJECT) continue;
                    char *p = json_text(j, c360_json_get(j, it, "product_id"));
                    if (p) o.prods[o.nprods++] = p;
                }
                basket_set(&o);
            }
            int at = add_order(s, &o);
            is_order = 1;
            if (ord_idx) *ord_idx = at;
        } else if (!strcmp(name, "Order Refunded")) {
            double amt = 0;
            if (!json_dbl(j, c360_json_get(j, props, "revenue"), &amt) && !json_dbl(j, c360_json_get(j, props, "total"), &amt) &&
                !json_dbl(j, c360_json_get(j, props, "amount"), &amt)) {
                char *oid = json_text(j, c360_json_get(j, props, "order_id"));
                for (int i = 0; oid && i < s->nord; i++)
                    if (eq(s->orders[i].id, oid)) amt = (double)s->orders[i].amount / FSUM_SCALE;
                free(oid);
            }
            s->nrefunds++;
            s->refunded += llround(amt * FSUM_SCALE);
            if (ts > s->money_ts) s->money_ts = ts;
        } else if (!strncmp(name, "Ticket ", 7)) {
            char *tid = json_text(j, c360_json_get(j, props, "ticket_id"));
            char *st = json_text(j, c360_json_get(j, props, "status"));
            const char *verb = name + 7;
            /* a deleted ticket is gone whatever its last status said */
            const char *status = !strcmp(verb, "Deleted") ? "deleted"
                                 : st ? st
                                 : !strcmp(verb, "Solved") || !strcmp(verb, "Resolved") ? "solved"
                                 : !strcmp(verb, "Closed") ? "closed"
                                 : "open";
            if (tid) set_ticket(s, tid, status, ts);
            free(tid);
            free(st);
        }
    }
    apply_defs(s, cfg, ev, j);
    return is_order;
}

/* ---- merge ---- */
void fstate_absorb(fstate *s, const fsettings *cfg, fstate *o)
{
    if (o->wm > s->wm) s->wm = o->wm;
    s->late += o->late;
    if (o->late_ts > s->late_ts) s->late_ts = o->late_ts;
    s->norders += o->norders;
    s->nrefunds += o->nrefunds;
    s->spend += o->spend;
    s->refunded += o->refunded;
    if (o->norders && (s->first_order_ts == INT64_MIN || o->first_order_ts < s->first_order_ts)) s->first_order_ts = o->first_order_ts;
    if (o->last_order_ts > s->last_order_ts) s->last_order_ts = o->last_order_ts;
    if (o->money_ts > s->money_ts) s->money_ts = o->money_ts;
    for (int i = 0; i < o->nord; i++) {
        SORTED_INSERT(s->orders, s->nord, FORDERS_MAX, o->orders[i], ord_cmp, ord_free);
    }
    o->nord = 0;
    keep_last_basket(s);
    for (int i = 0; i < o->nacts; i++) {
        SORTED_INSERT(s->acts, s->nacts, FACTS_MAX, o->acts[i], act_cmp, act_release);
    }
    o->nacts = 0;
    prune_acts(s);
    for (int i = 0; i < o->nrecent; i++) {
        SORTED_INSERT(s->recent, s->nrecent, FRECENT_MAX, o->recent[i], rec_cmp, rec_release);
    }
    for (int i = 0; i < o->ntickets; i++) set_ticket(s, o->tickets[i].id, o->tickets[i].status, o->tickets[i].ts);
    for (int i = 0; i < o->nmerges; i++) {
        s->merges = xrealloc(s->merges, sizeof *s->merges * (size_t)(s->nmerges + 1));
        s->merges[s->nmerges++] = o->merges[i];
    }
    if (s->defs_hash == o->defs_hash)
        for (int i = 0; i < s->ngen && i < o->ngen && i < cfg->ndefs; i++) fgen_merge(&s->gen[i], &o->gen[i]);
}

/* ---- encoding ---- */
static void put_opt(strbuf *o, const char *s) { c360_put_bytes(o, s ? s : "", s ? strlen(s) : 0); }

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void fstate_encode(fstate *s, const fsettings *cfg, strbuf *out)
{
    for (int i = 0; i < s->ngen && i < cfg->ndefs; i++) fgen_prune(&s->gen[i], &cfg->defs[i], s->wm);
    if (s->nmerges > 1) qsort(s->merges, (size_t)s->nmerges, sizeof *s->merges, cmp_i64);
    if (s->nmerges > 50) {
        memmove(s->merges, s->merges + s->nmerges - 50, 50 * sizeof *s->merges);
        s->nmerges = 50;
    }
    c360_put_uvarint(out, FSTATE_VERSION);
    c360_put_uvarint(out, s->defs_hash);
    c360_put_svarint(out, s->wm);
    c360_put_uvarint(out, s->late);
    c360_put_svarint(out, s->late_ts);
    c360_put_uvarint(out, s->norders);
    c360_put_uvarint(out, s->nrefunds);
    c360_put_svarint(out, s->spend);
    c360_put_svarint(out, s->refunded);
    c360_put_svarint(out, s->first_order_ts);
    c360_put_svarint(out, s->last_order_ts);
    c360_put_svarint(out, s->money_ts);
    c360_put_uvarint(out, (uint64_t)s->nord);
    for (int i = 0; i < s->nord; i++) {
        ford *o = &s->orders[i];
        put_opt(out, o->id);
        c360_put_svarint(out, o->ts);
        c360_put_svarint(out, o->amount);
        put_opt(out, o->pay);
        put_opt(out, o->card);
        c360_put_uvarint(out, o->addr);
        c360_put_uvarint(out, (uint64_t)o->nprods);
        for (int k = 0; k < o->nprods; k++) put_opt(out, o->prods[k]);
    }
    c360_put_uvarint(out, (uint64_t)s->nacts);
    for (int i = 0; i < s->nacts; i++) {
        put_opt(out, s->acts[i].pid);
        c360_put_svarint(out, s->acts[i].ts);
        c360_put_uvarint(out, (uint64_t)s->acts[i].kind);
        c360_put_uvarint(out, (uint64_t)s->acts[i].qty);
    }
    c360_put_uvarint(out, (uint64_t)s->nrecent);
    int64_t prev = 0;
    for (int i = 0; i < s->nrecent; i++) {
        c360_put_svarint(out, s->recent[i].ts - prev);   /* sorted: small deltas */
        prev = s->recent[i].ts;
        c360_put_uvarint(out, (uint64_t)s->recent[i].page);
    }
    c360_put_uvarint(out, (uint64_t)s->ntickets);
    for (int i = 0; i < s->ntickets; i++) {
        put_opt(out, s->tickets[i].id);
        put_opt(out, s->tickets[i].status);
        c360_put_svarint(out, s->tickets[i].ts);
    }
    c360_put_uvarint(out, (uint64_t)s->nmerges);
    for (int i = 0; i < s->nmerges; i++) c360_put_svarint(out, s->merges[i]);
    c360_put_uvarint(out, (uint64_t)s->nsegs);
    for (int i = 0; i < s->nsegs; i++) {
        put_opt(out, s->segs[i].name);
        c360_put_svarint(out, s->segs[i].since);
    }
    c360_put_uvarint(out, (uint64_t)s->ngen);
    for (int i = 0; i < s->ngen; i++) fgen_encode(&s->gen[i], out);
}

#define CAP(n, max) if (c.err || (n) > (max)) goto bad

char *fdecode_str(c360_cursor *c, c360_arena **arena, const char *dflt)
{
    size_t n;
    const char *p = c360_get_bytes(c, &n);
    if (!p || !n) {
        if (!dflt) return NULL;
        p = dflt;
        n = strlen(dflt);
    }
    return arena ? c360_arena_strndup(arena, p, n) : xstrndup(p, n);
}

/* a string of the encoding: into the state's arena if it has one (read-only), else the heap */
static char *get_str(c360_cursor *c, fstate *s, const char *dflt) { return fdecode_str(c, s->arena ? &s->arena : NULL, dflt); }

static int decode(fstate *s, const fsettings *cfg, const void *buf, size_t n, int ro);

int fstate_decode(fstate *s, const fsettings *cfg, const void *buf, size_t n) { return decode(s, cfg, buf, n, 0); }
int fstate_decode_ro(fstate *s, const fsettings *cfg, const void *buf, size_t n) { return decode(s, cfg, buf, n, 1); }

static int decode(fstate *s, const fsettings *cfg, const void *buf, size_t n, int ro)
{
    init(s, cfg, ro);
    if (!buf || !n) return 0;
    c360_cursor c;
    c360_cursor_init(&c, buf, n);
    if (c360_get_uvarint(&c) != FSTATE_VERSION) goto bad;
    uint32_t h = (uint32_t)c360_get_uvarint(&c);
    s->wm = c360_get_svarint(&c);
    s->late = c360_get_uvarint(&c);
    s->late_ts = c360_get_svarint(&c);
    s->norders = c360_get_uvarint(&c);
    s->nrefunds = c360_get_uvarint(&c);
    s->spend = c360_get_svarint(&c);
    s->refunded = c360_get_svarint(&c);
    s->first_order_ts = c360_get_svarint(&c);
    s->last_order_ts = c360_get_svarint(&c);
    s->money_ts = c360_get_svarint(&c);
    uint64_t k = c360_get_uvarint(&c);
    CAP(k, FORDERS_MAX);
    s->orders = arr(s, k, sizeof *s->orders);
    for (uint64_t i = 0; i < k && !c.err; i++) {
        ford *o = &s->orders[s->nord++];
        o->id = get_str(&c, s, NULL);
        o->ts = c360_get_svarint(&c);
        o->amount = c360_get_svarint(&c);
        o->pay = get_str(&c, s, NULL);
        o->card = get_str(&c, s, NULL);
        o->addr = c360_get_uvarint(&c);
        uint64_t np = c360_get_uvarint(&c);
        CAP(np, 100000);
        o->prods = np ? arr(s, np, sizeof *o->prods) : NULL;   /* only the last order has a basket */
        for (uint64_t q = 0; q < np && !c.err; q++) {
            o->prods[o->nprods] = get_str(&c, s, "");
            o->nprods++;
        }
    }
    keep_last_basket(s);   /* states written before baskets were dropped carry them all */
    k = c360_get_uvarint(&c);
    CAP(k, FACTS_MAX);
    s->acts = arr(s, k, sizeof *s->acts);
    for (uint64_t i = 0; i < k && !c.err; i++) {
        fact *a = &s->acts[s->nacts++];
        a->pid = get_str(&c, s, "");
        a->ts = c360_get_svarint(&c);
        a->kind = (int)c360_get_uvarint(&c);
        a->qty = (int)c360_get_uvarint(&c);
    }
    k = c360_get_uvarint(&c);
    CAP(k, FRECENT_MAX);
    s->recent = arr(s, k, sizeof *s->recent);
    int64_t prev = 0;
    for (uint64_t i = 0; i < k && !c.err; i++) {
        prev += c360_get_svarint(&c);
        s->recent[s->nrecent].ts = prev;
        s->recent[s->nrecent++].page = (int)c360_get_uvarint(&c);
    }
    k = c360_get_uvarint(&c);
    CAP(k, FTICKETS_MAX);
    s->tickets = arr(s, k, sizeof *s->tickets);
    for (uint64_t i = 0; i < k && !c.err; i++) {
        fticket *t = &s->tickets[s->ntickets++];
        t->id = get_str(&c, s, "");
        t->status = get_str(&c, s, "open");
        t->ts = c360_get_svarint(&c);
    }
    k = c360_get_uvarint(&c);
    CAP(k, 1000);
    s->merges = arr(s, k, sizeof *s->merges);
    for (uint64_t i = 0; i < k && !c.err; i++) s->merges[s->nmerges++] = c360_get_svarint(&c);
    k = c360_get_uvarint(&c);
    CAP(k, 100000);
    s->segs = arr(s, k, sizeof *s->segs);
    for (uint64_t i = 0; i < k && !c.err; i++) {
        s->segs[s->nsegs].name = get_str(&c, s, "");
        s->segs[s->nsegs++].since = c360_get_svarint(&c);
    }
    k = c360_get_uvarint(&c);
    if (c.err) goto bad;
    int stale = !(h == cfg->defs_hash && k == (uint64_t)s->ngen);
    if (!stale) {
        for (uint64_t i = 0; i < k; i++)
            if (fgen_decode(&s->gen[i], &c, s->arena ? &s->arena : NULL)) goto bad;
    }
    /* else: the definitions (or the rebuild generation) changed: declarative features start
     * empty unless a rebuild left this customer's state under 'P' pid 'X' (fstate_load) */
    return c.err ? -1 : stale;
bad:
    fstate_release(s);
    fstate_init(s, cfg);
    return -1;
}
