/* recs.c -- recommendations: the shared co-purchase counts, product popularity and the product
 * catalogue (store keys 'F' 'c' / 'F' 'p' / 'F' 'n', see store/keys.h), updated by the writer
 * with every order, and the read-side query.
 *
 * The rule (docs/FEATURES.md has the equivalent SQL):
 *   co(a,b)     = number of Order Completed events whose products include both a and b (a != b;
 *                 a product counts once per order). Every customer's orders count, the asking
 *                 customer's own included.
 *   popular(a)  = number of Order Completed events whose products include a.
 *   interest    = products the customer viewed or added to the cart after their last order.
 *   score(b)    = sum over a in interest of co(a,b); candidates have score > 0 and are neither in
 *                 interest nor (recommendations.exclude_last_order) in the last order.
 *   order       = score desc, product_id asc; then popular products (popular desc, product_id
 *                 asc) fill up to `limit`, with the same exclusions.
 * The writer adds to the counters without reading them (RocksDB merges, see fcache below). */
#include "features/fint.h"
#include "store/keys.h"

#include "util/clock.h"
#include "util/codec.h"

#include <pthread.h>
#include <stdlib.h>
#include <uthash.h>
#include <string.h>

#define FK 'F'
#define RECS_MAX_PAIR_ITEMS 50

/* ---- the writer's counter deltas (uthash) ---- */
/* Counters are bumped in memory and written once per commit (fcache_flush), not once per bump:
 * an order of n products bumps n*(n-1) pair counters. Within a group products are interned to
 * small ids, so a pair is one 64-bit key (no string built or hashed per bump); the store keys
 * are formatted once per distinct pair at the flush. They are written as additions
 * (c360_txn_add_u64, a RocksDB merge), so the writer never reads a counter: the tables hold only
 * what the current group added, and are emptied at every flush or abandoned group. */
typedef struct fprod { UT_hash_handle hh; uint32_t id; int64_t orders; char name[]; } fprod;
typedef struct fpair { UT_hash_handle hh; uint64_t ab; int64_t n; } fpair;
typedef struct fent { UT_hash_handle hh; int64_t v; size_t kl; char k[]; } fent;
#define PAIR_CHUNK 4096
/* cat: the event time of each catalogue entry the writer has seen (last write wins by event
 * time), read from the store on first use, at most CAT_MAX */
struct fcache {
    fprod *prods;                 /* by name */
    fprod **byid;
    uint32_t nprod, capid;
    fpair *pairs;                 /* by (id a << 32 | id b) */
    fpair **chunks;               /* the pair entries, PAIR_CHUNK at a time (stable addresses) */
    size_t npairs, nchunks;
    fent *cat;
};
#define CAT_MAX 1000000

fcache *fcache_new(void) { return xcalloc(1, sizeof(fcache)); }

static void clear_group(fcache *c)
{
    HASH_CLEAR(hh, c->pairs);
    for (size_t i = 0; i < c->nchunks; i++) free(c->chunks[i]);
    free(c->chunks);
    c->chunks = NULL;
    c->npairs = c->nchunks = 0;
    HASH_CLEAR(hh, c->prods);
    for (uint32_t i = 0; i < c->nprod; i++) free(c->byid[i]);
    c->nprod = 0;
}

static void clear_cat(fcache *c)
{
    fent *e, *tmp;
    HASH_ITER(hh, c->cat, e, tmp) {
        HASH_DEL(c->cat, e);
        free(e);
    }
}

void fcache_discard(fcache *c)
{
    if (!c) return;
    clear_group(c);
    clear_cat(c);
}

void fcache_free(fcache *c)
{
    if (!c) return;
    fcache_discard(c);
    free(c->byid);
    free(c);
}

static uint32_t intern(fcache *c, const char *name, size_t n)
{
    fprod *p;
    HASH_FIND(hh, c->prods, name, n, p);
    if (p) return p->id;
    p = xcalloc(1, sizeof *p + n + 1);
    memcpy(p->name, name, n);
    p->id = c->nprod;
    if (c->nprod == c->capid) c->byid = xrealloc(c->byid, sizeof *c->byid * (c->capid = c->capid ? c->capid * 2 : 256));
    c->byid[c->nprod++] = p;
    HASH_ADD_KEYPTR(hh, c->prods, p->name, n, p);
    return p->id;
}

static void bump_pair(fcache *c, uint32_t a, uint32_t b)
{
    uint64_t ab = (uint64_t)a << 32 | b;
    fpair *e;
    HASH_FIND(hh, c->pairs, &ab, sizeof ab, e);
    if (!e) {
        if (c->npairs == c->nchunks * PAIR_CHUNK) {
            c->chunks = xrealloc(c->chunks, sizeof *c->chunks * (c->nchunks + 1));
            c->chunks[c->nchunks++] = xmalloc(sizeof(fpair) * PAIR_CHUNK);
        }
        e = &c->chunks[c->npairs / PAIR_CHUNK][c->npairs % PAIR_CHUNK];
        c->npairs++;
        memset(e, 0, sizeof *e);
        e->ab = ab;
        HASH_ADD(hh, c->pairs, ab, sizeof ab, e);
    }
    e->n++;
}

static void key2(strbuf *k, char sub, const char *a, const char *b)
{
    sb_reset(k);
    sb_addc(k, FK);
    sb_addc(k, sub);
    sb_adds(k, a);
    if (b) {
        sb_addc(k, 0);
        sb_adds(k, b);
    }
}

void fcache_flush(fcache *c, c360_txn *txn)
{
    strbuf k = STRBUF_INIT;
    for (fpair *e = c->pairs; e; e = e->hh.next) {
        key2(&k, 'c', c->byid[e->ab >> 32]->name, c->byid[(uint32_t)e->ab]->name);
        c360_txn_add_u64(txn, k.buf, k.len, e->n);
    }
    for (uint32_t i = 0; i < c->nprod; i++) {
        if (!c->byid[i]->orders) continue;
        key2(&k, 'p', c->byid[i]->name, NULL);
        c360_txn_add_u64(txn, k.buf, k.len, c->byid[i]->orders);
    }
    sb_release(&k);
    clear_group(c);
    if (HASH_COUNT(c->cat) > CAT_MAX) clear_cat(c);
}

void recs_on_order(c360_features *f, c360_txn *txn, int64_t ts, const c360_json *j, int props)
{
    int pt = c360_json_get(j, props, "products");
    if (pt < 0 || j->tok[pt].type != CJ_ARRAY) return;
    fcache *c = f->cache;
    uint32_t *ids = NULL;
    int np = 0;
    strbuf k = STRBUF_INIT;
    for (int it = pt + 1, n = 0; n < j->tok[pt].size; n++, it = c360_json_skip(j, it)) {
        if (j->tok[it].type != CJ_OBJECT) continue;
        recs_catalog(f, txn, j, it, ts);
        int t = c360_json_get(j, it, "product_id");
        if (t < 0 || c360_json_is_null(j, t)) continue;
        sb_reset(&k);
        if (j->tok[t].type == CJ_STRING) c360_json_str(j, t, &k);
        else if (j->tok[t].type == CJ_PRIMITIVE) {
            size_t rn;
            const char *r = c360_json_raw(j, t, &rn);
            sb_add(&k, r, rn);
        }
        if (!k.len || memchr(k.buf, 0, k.len)) continue;
        uint32_t id = intern(c, k.buf, k.len);
        int dup = 0;
        for (int q = 0; q < np && !dup; q++) dup = ids[q] == id;
        if (dup) continue;
        ids = xrealloc(ids, sizeof *ids * (size_t)(np + 1));
        ids[np++] = id;
    }
    /* pairs only among the first RECS_MAX_PAIR_ITEMS distinct products of an order: a 500-line
     * wholesale order would otherwise bump 250,000 counters and say little about taste */
    int npair = np < RECS_MAX_PAIR_ITEMS ? np : RECS_MAX_PAIR_ITEMS;
    if (np) atomic_fetch_add(&f->pop_gen, 1);   /* readers refresh their popular list */
    for (int a = 0; a < np; a++) {
        c->byid[ids[a]]->orders++;
        if (a >= npair) continue;
        for (int b = 0; b < npair; b++)
            if (a != b) bump_pair(c, ids[a], ids[b]);
    }
    free(ids);
    sb_release(&k);
}

/* catalogue entry: ts u64be (of the event that named it) + JSON {"name":..,"price":..} */
void recs_catalog(c360_features *f, c360_txn *txn, const c360_json *j, int obj, int64_t ts)
{
    int pt = c360_json_get(j, obj, "product_id"), nt = c360_json_get(j, obj, "name");
    if (pt < 0 || nt < 0 || j->tok[nt].type != CJ_STRING) return;
    strbuf pid = STRBUF_INIT, k = STRBUF_INIT, v = STRBUF_INIT;
    if (j->tok[pt].type == CJ_STRING) c360_json_str(j, pt, &pid);
    else {
        size_t n;
        const char *r = c360_json_raw(j, pt, &n);
        sb_add(&pid, r, n);
    }
    if (pid.len && !memchr(pid.buf, 0, pid.len)) {
        key2(&k, 'n', pid.buf, NULL);
        fent *e;
        HASH_FIND(hh, f->cache->cat, k.buf, k.len, e);
        if (!e) {
            e = xcalloc(1, sizeof *e + k.len);
            memcpy(e->k, k.buf, k.len);
            e->kl = k.len;
            HASH_ADD_KEYPTR(hh, f->cache->cat, e->k, e->kl, e);
            if (c360_store_get(f->store, k.buf, k.len, &f->tmp) == 1 && f->tmp.len >= 8)
                e->v = (int64_t)c360_get_u64be((unsigned char *)f->tmp.buf);
        }
        /* last write wins by event time; the cached value is the stored entry's time */
        int64_t have = e->v ? e->v - (int64_t)C360_TS_BIAS : INT64_MIN;
        if (!e->v || ts >= have) {
            e->v = (int64_t)((uint64_t)ts + C360_TS_BIAS);
            sb_add_u64be(&v, (uint64_t)ts + C360_TS_BIAS);
            size_t n;
            const char *raw = c360_json_raw(j, nt, &n);
            sb_adds(&v, "{\"name\":");
            sb_add(&v, raw, n);
            int pr = c360_json_get(j, obj, "price");
            if (pr >= 0 && c360_json_is_number(j, pr)) {
                raw = c360_json_raw(j, pr, &n);
                sb_adds(&v, ",\"price\":");
                sb_add(&v, raw, n);
            }
            sb_addc(&v, '}');
            c360_txn_put(txn, k.buf, k.len, v.buf, v.len);
        }
    }
    sb_release(&pid);
    sb_release(&k);
    sb_release(&v);
}

/* ---- the query ---- */
typedef struct { char *pid; uint64_t score; int popular; } cand;   /* a popular product */

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return strcmp(x->pid, y->pid);
}

/* a set of product ids (uthash), with an index for candidates */
typedef struct sent { UT_hash_handle hh; int idx; char k[]; } sent;

static sent *set_find(sent *set, const char *k)
{
    sent *e;
    HASH_FIND_STR(set, k, e);
    return e;
}

static sent *set_add(sent **set, const char *k, int idx)
{
    size_t n = strlen(k);
    sent *e = xcalloc(1, sizeof *e + n + 1);
    memcpy(e->k, k, n);
    e->idx = idx;
    HASH_ADD_KEYPTR(hh, *set, e->k, n, e);
    return e;
}

static void set_free(sent **set)
{
    sent *e, *tmp;
    HASH_ITER(hh, *set, e, tmp) {
        HASH_DEL(*set, e);
        free(e);
    }
}

/* The most popular products, sorted, shared by every reader: re-read from the store when an
 * order has changed popularity since (f->pop_gen), and at least once a second (a full scan of the
 * popularity keys on every request was the query's main cost). */
#define POP_KEEP 256
#define POP_TTL_MS 1000
struct fpop {
    pthread_mutex_t mu;
    uint64_t gen;
    int64_t at;
    cand *top;
    int n, complete;             /* complete: every popular product is in top */
};

fpop *fpop_new(void)
{
    fpop *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->at = INT64_MIN / 2;
    return p;
}

void fpop_free(fpop *p)
{
    if (!p) return;
    for (int i = 0; i < p->n; i++) free(p->top[i].pid);
    free(p->top);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* copies of the popular products (sorted) into *out; returns how many; *complete if that is all */
static int popular(c360_features *f, int want, cand **out, int *complete)
{
    fpop *pc = f->pop;
    int64_t now = c360_monotonic_ns() / 1000000;
    uint64_t gen = atomic_load(&f->pop_gen);
    pthread_mutex_lock(&pc->mu);
    if (pc->gen != gen || now - pc->at >= POP_TTL_MS || (want > pc->n && !pc->complete)) {
        int keep = want > POP_KEEP ? want : POP_KEEP;
        cand *all = NULL;
        int np = 0, cap = 0;
        unsigned char lo[2] = {FK, 'p'}, hi[2] = {FK, 'q'};
        c360_iter *it = c360_iter_new(f->store, lo, 2, hi, 2);
        for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
            size_t kl, vl;
            const char *k = c360_iter_key(it, &kl);
            const char *v = c360_iter_value(it, &vl);
            if (vl < 8 || kl <= 2) continue;
            if (np == cap) all = xrealloc(all, sizeof *all * (size_t)(cap = cap ? cap * 2 : 256));
            all[np++] = (cand){.pid = xstrndup(k + 2, kl - 2), .score = c360_get_u64be((const unsigned char *)v), .popular = 1};
        }
        c360_iter_free(it);
        if (np > 1) qsort(all, (size_t)np, sizeof *all, cand_cmp);
        for (int i = keep; i < np; i++) free(all[i].pid);
        for (int i = 0; i < pc->n; i++) free(pc->top[i].pid);
        free(pc->top);
        pc->top = all;
        pc->complete = np <= keep;
        pc->n = np < keep ? np : keep;
        pc->gen = gen;
        pc->at = now;
    }
    int n = pc->n;
    *out = xmalloc(sizeof **out * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) (*out)[i] = (cand){.pid = xstrdup(pc->top[i].pid), .score = pc->top[i].score, .popular = 1};
    *complete = pc->complete;
    pthread_mutex_unlock(&pc->mu);
    return n;
}

static void catalog_json(c360_store *st, const char *pid, strbuf *out)
{
    strbuf k = STRBUF_INIT, v = STRBUF_INIT;
    key2(&k, 'n', pid, NULL);
    if (c360_store_get(st, k.buf, k.len, &v) == 1 && v.len > 10) {
        /* {"name":..[,"price":..]} -> ,"name":..[,"price":..] */
        sb_addc(out, ',');
        sb_add(out, v.buf + 9, v.len - 10);
    }
    sb_release(&k);
    sb_release(&v);
}

/* A co-purchase candidate of one query. Candidates, and the list of products of interest that
 * led to each (the "because"), live in the query's arena; each product id is hashed once per
 * counter read (the same hash value finds it in the exclusions and in the candidates). */
typedef struct qcand {
    UT_hash_handle hh;
    uint64_t score;
    int because, last;           /* first and last reason (index into the reasons), -1 none */
    char pid[];
} qcand;
typedef struct { int interest, next; } qreason;

/* the ranking: score desc, product id asc */
static int qcand_before(const qcand *x, const qcand *y)
{
    if (x->score != y->score) return x->score > y->score;
    return strcmp(x->pid, y->pid) < 0;
}
static int qcand_cmp(const void *a, const void *b)
{
    const qcand *x = *(qcand *const *)a, *y = *(qcand *const *)b;
    return qcand_before(x, y) ? -1 : qcand_before(y, x) ? 1 : 0;
}

/* keeps the best `limit` candidates in a heap whose root is the worst of them */
static void heap_offer(qcand **h, int *n, int limit, qcand *c)
{
    int i;
    if (*n < limit) {
        i = (*n)++;
        while (i > 0 && qcand_before(h[(i - 1) / 2], c)) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = c;
        return;
    }
    if (!qcand_before(c, h[0])) return;
    i = 0;
    for (;;) {   /* replace the root, sift down */
        int l = 2 * i + 1, r = l + 1, w = i;
        const qcand *wc = c;
        if (l < *n && qcand_before(wc, h[l])) w = l, wc = h[l];
        if (r < *n && qcand_before(wc, h[r])) w = r;
        if (w == i) break;
        h[i] = h[w];
        i = w;
    }
    h[i] = c;
}

int recs_query(c360_features *f, const fstate *s, int limit, int exclude_last, strbuf *out)
{
    c360_store *st = f->store;
    const char **interest = NULL;
    int ni = 0;
    sent *excl = NULL;
    /* products of interest, most recent first; they are excluded, and so is the last order */
    for (int i = s->nacts - 1; i >= 0; i--) {
        if (s->acts[i].kind == 2 || set_find(excl, s->acts[i].pid)) continue;
        interest = xrealloc(interest, sizeof *interest * (size_t)(ni + 1));
        interest[ni++] = s->acts[i].pid;
        set_add(&excl, s->acts[i].pid, 0);
    }
    if (exclude_last && s->nord) {
        const ford *lo = &s->orders[s->nord - 1];
        for (int i = 0; i < lo->nprods; i++)
            if (!set_find(excl, lo->prods[i])) set_add(&excl, lo->prods[i], 0);
    }
    farena *arena = NULL;
    qcand *cset = NULL;
    qreason *rs = NULL;
    int nrs = 0, caprs = 0;
    qcand **best = xmalloc(sizeof *best * (size_t)(limit > 0 ? limit : 1));
    int nbest = 0;
    strbuf lo = STRBUF_INIT, hi = STRBUF_INIT;
    for (int i = 0; i < ni; i++) {
        key2(&lo, 'c', interest[i], "");
        sb_reset(&hi);
        sb_add(&hi, lo.buf, lo.len - 1);
        sb_addc(&hi, 1);
        c360_iter *it = c360_iter_new(st, lo.buf, lo.len, hi.buf, hi.len);
        for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
            size_t kl, vl;
            const char *k = c360_iter_key(it, &kl);
            const char *v = c360_iter_value(it, &vl);
            if (vl < 8 || kl <= lo.len) continue;
            uint64_t n = c360_get_u64be((const unsigned char *)v);
            const char *b = k + lo.len;
            size_t bl = kl - lo.len;
            if (!n || memchr(b, 0, bl)) continue;
            unsigned hv;
            HASH_VALUE(b, bl, hv);
            sent *x;
            HASH_FIND_BYHASHVALUE(hh, excl, b, bl, hv, x);
            if (x) continue;
            qcand *c;
            HASH_FIND_BYHASHVALUE(hh, cset, b, bl, hv, c);
            if (!c) {
                c = farena_alloc(&arena, sizeof *c + bl + 1);
                memset(c, 0, sizeof *c);
                memcpy(c->pid, b, bl);
                c->pid[bl] = 0;
                c->because = c->last = -1;
                HASH_ADD_KEYPTR_BYHASHVALUE(hh, cset, c->pid, bl, hv, c);
            }
            c->score += n;
            if (nrs == caprs) rs = xrealloc(rs, sizeof *rs * (size_t)(caprs = caprs ? caprs * 2 : 256));
            rs[nrs] = (qreason){.interest = i, .next = -1};
            if (c->last >= 0) rs[c->last].next = nrs;
            else c->because = nrs;
            c->last = nrs++;
        }
        c360_iter_free(it);
    }
    for (qcand *c = cset; c && limit > 0; c = c->hh.next) heap_offer(best, &nbest, limit, c);
    if (nbest > 1) qsort(best, (size_t)nbest, sizeof *best, qcand_cmp);
    cand *pop = NULL;
    int np = 0;
    char *fill = NULL;           /* which popular products fill in */
    if (nbest < limit) {
        int complete, want = limit + HASH_COUNT(excl), room = limit - nbest;
        np = popular(f, want, &pop, &complete);
        fill = xcalloc((size_t)(np ? np : 1), 1);
        for (int i = 0; i < np && room > 0; i++) {
            qcand *c;
            HASH_FIND_STR(cset, pop[i].pid, c);
            if (!set_find(excl, pop[i].pid) && !c) {
                fill[i] = 1;
                room--;
            }
        }
    }
    sb_adds(out, "{\"products_of_interest\":[");
    for (int i = 0; i < ni; i++) {
        if (i) sb_addc(out, ',');
        c360_json_put_cstr(out, interest[i]);
    }
    sb_adds(out, "],\"recommendations\":[");
    int first = 1;
    for (int i = 0; i < nbest; i++, first = 0) {
        const qcand *c = best[i];
        sb_adds(out, first ? "{\"product_id\":" : ",{\"product_id\":");
        c360_json_put_cstr(out, c->pid);
        catalog_json(st, c->pid, out);
        sb_addf(out, ",\"score\":%llu,\"source\":\"co_purchase\",\"because\":[", (unsigned long long)c->score);
        for (int r = c->because; r >= 0; r = rs[r].next) {
            if (r != c->because) sb_addc(out, ',');
            c360_json_put_cstr(out, interest[rs[r].interest]);
        }
        sb_adds(out, "]}");
    }
    for (int i = 0; i < np; i++) {
        if (fill[i]) {
            sb_adds(out, first ? "{\"product_id\":" : ",{\"product_id\":");
            first = 0;
            c360_json_put_cstr(out, pop[i].pid);
            catalog_json(st, pop[i].pid, out);
            sb_addf(out, ",\"score\":%llu,\"source\":\"popular\",\"because\":[]}", (unsigned long long)pop[i].score);
        }
        free(pop[i].pid);
    }
    sb_adds(out, "]}");
    free(pop);
    free(fill);
    free(best);
    free(rs);
    HASH_CLEAR(hh, cset);
    farena_free(arena);
    free(interest);
    set_free(&excl);
    sb_release(&lo);
    sb_release(&hi);
    return 0;
}
