/* window.c -- declarative features: per-feature state as event-time buckets.
 *
 * A feature with a window keeps one bucket per `window/60` of event time (at least a minute);
 * an all-time feature keeps one bucket. A bucket holds what the aggregate needs (count, a
 * fixed-point sum, min, max, first/last value with their times, value counts). Adding an event
 * to its bucket is commutative and associative, so the state is a function of the set of events,
 * not of their arrival order. Sliding windows are evaluated at READ time against the clock:
 * the buckets that overlap [now - window, now] are merged (so the window edge has bucket
 * granularity). Buckets that ended before (watermark - window) can never be read again and are
 * dropped when the state is written. */
#include "features/fint.h"
#include "util/codec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t fbucket_size(int64_t w)
{
    if (w <= 0) return 0;
    int64_t b = w / 60;
    b -= b % 60000;
    return b < 60000 ? 60000 : b;
}

static int64_t floordiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0)); }

static void bucket_release(fbucket *b)
{
    free(b->first_v);
    free(b->last_v);
    for (int i = 0; i < b->nvals; i++) free(b->vals[i].v);
    free(b->vals);
}

static int need_vals(int agg) { return agg == AGG_DISTINCT || agg == AGG_MOSTFREQ || agg == AGG_TOPK; }

void fgen_add(fgen *g, const fdef *d, int64_t ts, const char *v, size_t vl, int isnum, double num)
{
    int64_t bs = fbucket_size(d->window_ms);
    int64_t start = bs ? floordiv(ts, bs) * bs : 0;
    int lo = 0, hi = g->nb;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (g->b[mid].start < start) lo = mid + 1;
        else hi = mid;
    }
    if (lo == g->nb || g->b[lo].start != start) {
        g->b = xrealloc(g->b, sizeof *g->b * (size_t)(g->nb + 1));
        memmove(g->b + lo + 1, g->b + lo, sizeof *g->b * (size_t)(g->nb - lo));
        g->b[lo] = (fbucket){.start = start, .first_ts = INT64_MAX, .last_ts = INT64_MIN, .min = INFINITY, .max = -INFINITY};
        g->nb++;
    }
    fbucket *b = &g->b[lo];
    b->count++;
    if (isnum && d->agg >= AGG_SUM && d->agg <= AGG_MAX) {
        b->nnum++;
        b->sum += llround(num * FSUM_SCALE);
        if (num < b->min) b->min = num;
        if (num > b->max) b->max = num;
    }
    char *vs = v ? xstrndup(v, vl) : NULL;
    if (ts > b->last_ts || (ts == b->last_ts && vs && (!b->last_v || strcmp(vs, b->last_v) > 0))) {
        b->last_ts = ts;
        if (d->agg == AGG_LAST && vs) { free(b->last_v); b->last_v = xstrdup(vs); }
    }
    if (d->agg == AGG_FIRST && vs &&
        (ts < b->first_ts || (ts == b->first_ts && (!b->first_v || strcmp(vs, b->first_v) < 0)))) {
        b->first_ts = ts;
        free(b->first_v);
        b->first_v = xstrdup(vs);
    }
    if (ts < b->first_ts) b->first_ts = ts;
    if (need_vals(d->agg) && vs) {
        int l = 0, h = b->nvals;
        while (l < h) {
            int m = (l + h) / 2;
            if (strcmp(b->vals[m].v, vs) < 0) l = m + 1;
            else h = m;
        }
        if (l < b->nvals && !strcmp(b->vals[l].v, vs)) b->vals[l].n++;
        else if (b->nvals < FVALS_MAX) {
            b->vals = xrealloc(b->vals, sizeof *b->vals * (size_t)(b->nvals + 1));
            memmove(b->vals + l + 1, b->vals + l, sizeof *b->vals * (size_t)(b->nvals - l));
            b->vals[l] = (fvc){.v = vs, .n = 1};
            b->nvals++;
            vs = NULL;
        }
    }
    free(vs);
}

void fgen_prune(fgen *g, const fdef *d, int64_t wm)
{
    if (!d->window_ms) return;
    int64_t bs = fbucket_size(d->window_ms), cut = wm - d->window_ms;
    int k = 0;
    while (k < g->nb && g->b[k].start + bs <= cut) bucket_release(&g->b[k++]);
    if (k) {
        memmove(g->b, g->b + k, sizeof *g->b * (size_t)(g->nb - k));
        g->nb -= k;
    }
}

void fgen_release(fgen *g)
{
    for (int i = 0; i < g->nb; i++) bucket_release(&g->b[i]);
    free(g->b);
    g->b = NULL;
    g->nb = 0;
}

static void put_dbl(strbuf *o, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    c360_put_uvarint(o, u);
}
static double get_dbl(c360_cursor *c)
{
    uint64_t u = c360_get_uvarint(c);
    double v;
    memcpy(&v, &u, 8);
    return v;
}
static void put_opt(strbuf *o, const char *s) { c360_put_bytes(o, s ? s : "", s ? strlen(s) : 0); }

void fgen_encode(const fgen *g, strbuf *o)
{
    c360_put_uvarint(o, (uint64_t)g->nb);
    for (int i = 0; i < g->nb; i++) {
        const fbucket *b = &g->b[i];
        c360_put_svarint(o, b->start);
        c360_put_uvarint(o, b->count);
        c360_put_svarint(o, b->sum);
        c360_put_uvarint(o, b->nnum);
        put_dbl(o, b->min);
        put_dbl(o, b->max);
        c360_put_svarint(o, b->first_ts);
        c360_put_svarint(o, b->last_ts);
        put_opt(o, b->first_v);
        put_opt(o, b->last_v);
        c360_put_uvarint(o, (uint64_t)b->nvals);
        for (int k = 0; k < b->nvals; k++) {
            put_opt(o, b->vals[k].v);
            c360_put_uvarint(o, b->vals[k].n);
        }
    }
}

int fgen_decode(fgen *g, c360_cursor *c, c360_arena **arena)
{
    uint64_t nb = c360_get_uvarint(c);
    if (c->err || nb > 100000) return -1;
    size_t bs = sizeof *g->b * (size_t)(nb ? nb : 1);
    g->b = arena ? c360_arena_calloc(arena, bs) : xcalloc(1, bs);
    for (uint64_t i = 0; i < nb && !c->err; i++) {
        fbucket *b = &g->b[g->nb++];
        b->start = c360_get_svarint(c);
        b->count = c360_get_uvarint(c);
        b->sum = c360_get_svarint(c);
        b->nnum = c360_get_uvarint(c);
        b->min = get_dbl(c);
        b->max = get_dbl(c);
        b->first_ts = c360_get_svarint(c);
        b->last_ts = c360_get_svarint(c);
        b->first_v = fdecode_str(c, arena, NULL);
        b->last_v = fdecode_str(c, arena, NULL);
        uint64_t nv = c360_get_uvarint(c);
        if (c->err || nv > FVALS_MAX) return -1;
        size_t vs = sizeof *b->vals * (size_t)(nv ? nv : 1);
        b->vals = arena ? c360_arena_calloc(arena, vs) : xcalloc(1, vs);
        for (uint64_t k = 0; k < nv && !c->err; k++) {
            b->vals[b->nvals].v = fdecode_str(c, arena, "null");
            b->vals[b->nvals++].n = c360_get_uvarint(c);
        }
    }
    return c->err ? -1 : 0;
}

static int cmp_vc_v(const void *a, const void *b) { return strcmp(((const fvc *)a)->v, ((const fvc *)b)->v); }
static int cmp_vc_n(const void *a, const void *b)
{
    const fvc *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->v, y->v);
}

void fgen_value(const fgen *g, const fdef *d, int64_t now, strbuf *out, int64_t *updated)
{
    int64_t bs = fbucket_size(d->window_ms), from = d->window_ms ? now - d->window_ms : INT64_MIN;
    uint64_t count = 0, nnum = 0;
    int64_t sum = 0, fts = INT64_MAX, lts = INT64_MIN, upd = INT64_MIN;
    double mn = INFINITY, mx = -INFINITY;
    const char *fv = NULL, *lv = NULL;
    fvc *all = NULL;
    int nall = 0;
    for (int i = 0; i < g->nb; i++) {
        const fbucket *b = &g->b[i];
        if (d->window_ms && (b->start + bs <= from || b->start > now)) continue;
        count += b->count;
        nnum += b->nnum;
        sum += b->sum;
        if (b->min < mn) mn = b->min;
        if (b->max > mx) mx = b->max;
        if (b->last_ts > upd) upd = b->last_ts;
        if (b->first_v && (b->first_ts < fts || (b->first_ts == fts && strcmp(b->first_v, fv) < 0))) {
            fts = b->first_ts;
            fv = b->first_v;
        }
        if (b->last_v && (b->last_ts > lts || (b->last_ts == lts && strcmp(b->last_v, lv) > 0))) {
            lts = b->last_ts;
            lv = b->last_v;
        }
        if (b->nvals) {
            all = xrealloc(all, sizeof *all * (size_t)(nall + b->nvals));
            memcpy(all + nall, b->vals, sizeof *all * (size_t)b->nvals);
            nall += b->nvals;
        }
    }
    /* combine equal values */
    int nd = 0;
    if (nall) {
        qsort(all, (size_t)nall, sizeof *all, cmp_vc_v);
        for (int i = 0; i < nall; i++) {
            if (nd && !strcmp(all[nd - 1].v, all[i].v)) all[nd - 1].n += all[i].n;
            else all[nd++] = all[i];
        }
    }
    switch (d->agg) {
    case AGG_COUNT: sb_addf(out, "%llu", (unsigned long long)count); break;
    case AGG_SUM: fmt_money(out, sum); break;
    case AGG_AVG:
        if (nnum) c360_json_put_num(out, round((double)sum / FSUM_SCALE / (double)nnum * 10000) / 10000);
        else sb_adds(out, "null");
        break;
    case AGG_MIN: if (nnum) c360_json_put_num(out, mn); else sb_adds(out, "null"); break;
    case AGG_MAX: if (nnum) c360_json_put_num(out, mx); else sb_adds(out, "null"); break;
    case AGG_FIRST: sb_adds(out, fv ? fv : "null"); break;
    case AGG_LAST: sb_adds(out, lv ? lv : "null"); break;
    case AGG_DISTINCT: sb_addf(out, "%d", nd); break;
    case AGG_MOSTFREQ:
    case AGG_TOPK: {
        if (nd > 1) qsort(all, (size_t)nd, sizeof *all, cmp_vc_n);
        if (d->agg == AGG_MOSTFREQ) {
            sb_adds(out, nd ? all[0].v : "null");
            break;
        }
        sb_addc(out, '[');
        for (int i = 0; i < nd && i < d->k; i++)
            sb_addf(out, "%s{\"value\":%s,\"count\":%llu}", i ? "," : "", all[i].v, (unsigned long long)all[i].n);
        sb_addc(out, ']');
        break;
    }
    }
    free(all);
    *updated = upd;
}

/* folds b2 into b (same start) */
static void bucket_merge(fbucket *b, const fbucket *o)
{
    b->count += o->count;
    b->sum += o->sum;
    b->nnum += o->nnum;
    if (o->min < b->min) b->min = o->min;
    if (o->max > b->max) b->max = o->max;
    if (o->first_v && (o->first_ts < b->first_ts || !b->first_v ||
                       (o->first_ts == b->first_ts && strcmp(o->first_v, b->first_v) < 0))) {
        free(b->first_v);
        b->first_v = xstrdup(o->first_v);
    }
    if (o->first_ts < b->first_ts) b->first_ts = o->first_ts;
    if (o->last_v && (o->last_ts > b->last_ts || !b->last_v ||
                      (o->last_ts == b->last_ts && strcmp(o->last_v, b->last_v) > 0))) {
        free(b->last_v);
        b->last_v = xstrdup(o->last_v);
    }
    if (o->last_ts > b->last_ts) b->last_ts = o->last_ts;
    for (int i = 0; i < o->nvals; i++) {
        int k;
        for (k = 0; k < b->nvals; k++)
            if (!strcmp(b->vals[k].v, o->vals[i].v)) break;
        if (k < b->nvals) b->vals[k].n += o->vals[i].n;
        else if (b->nvals < FVALS_MAX) {
            b->vals = xrealloc(b->vals, sizeof *b->vals * (size_t)(b->nvals + 1));
            b->vals[b->nvals++] = (fvc){.v = xstrdup(o->vals[i].v), .n = o->vals[i].n};
        }
    }
    if (b->nvals > 1) qsort(b->vals, (size_t)b->nvals, sizeof *b->vals, cmp_vc_v);
}

void fgen_merge(fgen *g, const fgen *o)
{
    for (int i = 0; i < o->nb; i++) {
        int k;
        for (k = 0; k < g->nb; k++)
            if (g->b[k].start >= o->b[i].start) break;
        if (k == g->nb || g->b[k].start != o->b[i].start) {
            g->b = xrealloc(g->b, sizeof *g->b * (size_t)(g->nb + 1));
            memmove(g->b + k + 1, g->b + k, sizeof *g->b * (size_t)(g->nb - k));
            g->b[k] = (fbucket){.start = o->b[i].start, .first_ts = INT64_MAX, .last_ts = INT64_MIN, .min = INFINITY,
                                .max = -INFINITY};
            g->nb++;
        }
        bucket_merge(&g->b[k], &o->b[i]);
    }
}
