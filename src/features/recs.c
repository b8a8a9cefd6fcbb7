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
 * The writer adds to the counters without reading them (RocksDB merges, see fcache below).
 * co(a, *) is one counter map per product a ('F' 'C' a, store.h): a query reads one value per
 * product of interest, and an order of n products writes n map additions, not n*(n-1) keys.
 * Stores written before counter maps keep their per-pair keys ('F' 'c' a 0 b): they are read
 * and summed with the maps until a rebuild removes them. */
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

/* ---- the writer's counter deltas ---- */
/* Counters are bumped in memory and written once per commit (fcache_flush), not once per bump:
 * an order of n products bumps n*(n-1)/2 pairs (co is symmetric: a pair is kept once, a < b).
 * Within a group products are interned to small ids (uthash by name), so a pair is one 64-bit
 * key. A busy group has far more distinct pairs than a cache holds (650 k on UCI, 1.2 M bumps),
 * and counting them in one open-addressing table cost a cache and TLB miss per bump (the bumps
 * were 9.5 % of a `c360 load` profile of UCI, 4.6 % partitioned). So the count is partitioned:
 * a pair's hash picks one of NPART partitions, bumps are appended to the partition's small
 * buffer, and a full buffer is counted into the partition's own table (linear probing), which
 * is 1/NPART of the whole and stays in cache while its buffer drains. At the flush each
 * product's partners become one counter map addition (c360_txn_add_map, a RocksDB merge), so the
 * writer never reads a counter: the tables hold only what the current group added, and are
 * emptied at every flush or abandoned group. */
typedef struct fprod { UT_hash_handle hh; uint32_t id, seen; int64_t orders; char name[]; } fprod;
typedef struct { uint64_t ab; int64_t n; } fpair;   /* ab 0: a free slot (a < b, so ab > 0) */
/* a catalogue entry: v its event time (biased, 0: none stored); val the entry to write at the
 * flush when dirty (the group renamed or repriced it) */
typedef struct fent { UT_hash_handle hh; int64_t v; char *val; size_t vlen; int dirty; size_t kl; char k[]; } fent;
#define NPART_BITS 6
#define NPART (1u << NPART_BITS)
#define PEND 2048                   /* bumps buffered per partition before they are counted */
#define PAIRS_MIN 256               /* a partition's slots at first; doubles at half full */
#define PAIRS_KEEP (1u << 10)       /* a partition's table up to this is always kept (1 MB in all) */
/* A bigger table (and the flush's sort scratch) is kept while groups fill it to an eighth or
 * more, so a bulk load's groups reuse their tables instead of regrowing them (rehashing, and
 * faulting the pages in again: page faults in the pair table were 4% of a UCI load's profile);
 * a group that uses less gives the memory back. */
typedef struct {
    fpair *t;                     /* cap slots (a power of two, or 0), n in use */
    size_t n, cap;
    uint32_t np;                  /* bumps in pend */
    uint64_t pend[PEND];
} fpart;
/* cat: the event time of each catalogue entry the writer has seen (last write wins by event
 * time), read from the store on first use, at most CAT_MAX. An entry the group changed is
 * written once, at the flush: every order line names its product, and a put per line was most
 * of a bulk load's write-batch operations (UCI: ~20 lines per order, ~3,000 products). */
struct fcache {
    fprod *prods;                 /* by name */
    fprod **byid;
    uint32_t nprod, capid;
    fpart part[NPART];
    struct fdir *dirs;            /* the flush's sort scratch: 2 * dcap entries */
    size_t dcap;
    fent *cat;
    fent **dirty;                 /* the catalogue entries to write at the flush */
    size_t ndirty, capdirty;
    uint32_t *ids, stamp;         /* recs_on_order's scratch: an order's distinct products */
    int capids;
    strbuf pid, key, val;         /* recs_on_order's and the catalogue's scratch */
};
#define CAT_MAX 1000000

fcache *fcache_new(void)
{
    fcache *c = xcalloc(1, sizeof(fcache));
    sb_init(&c->pid);
    sb_init(&c->key);
    sb_init(&c->val);
    return c;
}

/* empties the pair tables (the flush has already zeroed the slots it read: cleared = 1) */
static void clear_group(fcache *c, int cleared)
{
    size_t used = 0, cap = 0;
    for (unsigned i = 0; i < NPART; i++) {
        fpart *p = &c->part[i];
        used += p->n;
        cap += p->cap;
        p->np = 0;
        if (p->cap > PAIRS_KEEP && 8 * p->n < p->cap) {
            free(p->t);
            p->t = NULL;
            p->cap = 0;
        } else if (p->n && !cleared) {
            memset(p->t, 0, sizeof *p->t * p->cap);
        }
        p->n = 0;
    }
    if (8 * used < cap) {
        free(c->dirs);
        c->dirs = NULL;
        c->dcap = 0;
    }
    HASH_CLEAR(hh, c->prods);
    for (uint32_t i = 0; i < c->nprod; i++) free(c->byid[i]);
    c->nprod = 0;
}

static void clear_cat(fcache *c)
{
    fent *e, *tmp;
    HASH_ITER(hh, c->cat, e, tmp) {
        HASH_DEL(c->cat, e);
        free(e->val);
        free(e);
    }
    c->ndirty = 0;
}

void fcache_discard(fcache *c)
{
    if (!c) return;
    clear_group(c, 0);
    clear_cat(c);
}

void fcache_free(fcache *c)
{
    if (!c) return;
    fcache_discard(c);
    for (unsigned i = 0; i < NPART; i++) free(c->part[i].t);
    free(c->dirs);
    free(c->dirty);
    free(c->byid);
    free(c->ids);
    sb_release(&c->pid);
    sb_release(&c->key);
    sb_release(&c->val);
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

/* Fibonacci hashing: the top NPART_BITS bits pick the partition, lower ones the slot */
static uint64_t pair_hash(uint64_t ab) { return ab * 0x9E3779B97F4A7C15ull; }

static size_t pair_slot(const fpair *t, size_t cap, uint64_t ab)
{
    size_t m = cap - 1, i = (size_t)(pair_hash(ab) >> 20) & m;
    while (t[i].ab && t[i].ab != ab) i = (i + 1) & m;
    return i;
}

/* counts the partition's buffered bumps into its table */
static void drain(fpart *p)
{
    for (uint32_t q = 0; q < p->np; q++) {
        if (2 * (p->n + 1) > p->cap) {
            size_t ncap = p->cap ? 2 * p->cap : PAIRS_MIN;
            fpair *t = xcalloc(ncap, sizeof *t);
            for (size_t i = 0; i < p->cap; i++)
                if (p->t[i].ab) t[pair_slot(t, ncap, p->t[i].ab)] = p->t[i];
            free(p->t);
            p->t = t;
            p->cap = ncap;
        }
        fpair *e = &p->t[pair_slot(p->t, p->cap, p->pend[q])];
        if (!e->ab) {
            e->ab = p->pend[q];
            p->n++;
        }
        e->n++;
    }
    p->np = 0;
}

static void bump_pair(fcache *c, uint32_t a, uint32_t b)
{
    uint64_t ab = (uint64_t)a << 32 | b;
    fpart *p = &c->part[pair_hash(ab) >> (64 - NPART_BITS)];
    p->pend[p->np++] = ab;
    if (p->np == PEND) drain(p);
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

/* the flush's sort: products by name, and each pair by (product id, partner's rank by name) */
static int byname(const void *a, const void *b, void *cache)
{
    const fcache *c = cache;
    return strcmp(c->byid[*(const uint32_t *)a]->name, c->byid[*(const uint32_t *)b]->name);
}
typedef struct fdir { uint64_t key; int64_t n; } fdir;   /* key: a id << 32 | rank of b */

/* d sorted by key, tmp as many entries of scratch. Both halves are below nprod, so two stable
 * counting-sort passes (low half, then high half) do it in O(nd + nprod); a comparison sort of
 * a busy group's pairs was a tenth of the whole load. */
static void sort_dirs(fdir *d, fdir *tmp, size_t nd, uint32_t nprod)
{
    fdir *from = d, *to = tmp;
    size_t *at = xmalloc(sizeof *at * ((size_t)nprod + 1));
    for (int shift = 0; shift <= 32; shift += 32) {
        memset(at, 0, sizeof *at * ((size_t)nprod + 1));
        for (size_t i = 0; i < nd; i++) at[(uint32_t)(from[i].key >> shift) + 1]++;
        for (uint32_t v = 0; v < nprod; v++) at[v + 1] += at[v];
        for (size_t i = 0; i < nd; i++) to[at[(uint32_t)(from[i].key >> shift)]++] = from[i];
        fdir *x = from;
        from = to;
        to = x;
    }
    free(at);   /* two passes: the result is back in d */
}

void fcache_flush(fcache *c, c360_txn *txn)
{
    strbuf k = STRBUF_INIT;
    size_t npairs = 0;
    for (unsigned i = 0; i < NPART; i++) {
        drain(&c->part[i]);
        npairs += c->part[i].n;
    }
    if (npairs) {
        /* partners in name order: rank every product of the group by name */
        uint32_t *order = xmalloc(sizeof *order * c->nprod), *rank = xmalloc(sizeof *rank * c->nprod);
        for (uint32_t i = 0; i < c->nprod; i++) order[i] = i;
        qsort_r(order, c->nprod, sizeof *order, byname, c);   /* strcmp: the maps' byte order */
        for (uint32_t i = 0; i < c->nprod; i++) rank[order[i]] = i;
        if (c->dcap < npairs * 2) {
            free(c->dirs);
            c->dirs = xmalloc(sizeof *c->dirs * 2 * (c->dcap = npairs * 2));
        }
        fdir *d = c->dirs;
        size_t nd = 0;
        for (unsigned pi = 0; pi < NPART; pi++) {
            fpart *p = &c->part[pi];
            for (size_t i = 0; p->n && i < p->cap; i++) {
                fpair *e = &p->t[i];
                if (!e->ab) continue;
                uint32_t a = (uint32_t)(e->ab >> 32), b = (uint32_t)e->ab;
                d[nd++] = (fdir){(uint64_t)a << 32 | rank[b], e->n};
                d[nd++] = (fdir){(uint64_t)b << 32 | rank[a], e->n};
                *e = (fpair){0, 0};   /* the table is empty for the next group after this scan */
            }
        }
        sort_dirs(d, d + c->dcap, nd, c->nprod);
        strbuf body = STRBUF_INIT, map = STRBUF_INIT;
        for (size_t i = 0; i < nd;) {
            uint32_t a = (uint32_t)(d[i].key >> 32);
            uint64_t n = 0;
            sb_reset(&body);
            for (; i < nd && (uint32_t)(d[i].key >> 32) == a; i++, n++) {
                const char *b = c->byid[order[(uint32_t)d[i].key]]->name;
                c360_put_bytes(&body, b, strlen(b));
                c360_put_uvarint(&body, (uint64_t)d[i].n);
            }
            sb_reset(&map);
            c360_put_uvarint(&map, n);
            sb_add(&map, body.buf, body.len);
            key2(&k, 'C', c->byid[a]->name, NULL);
            c360_txn_add_map(txn, k.buf, k.len, map.buf, map.len);
        }
        sb_release(&body);
        sb_release(&map);
        free(order);
        free(rank);
    }
    for (uint32_t i = 0; i < c->nprod; i++) {
        if (!c->byid[i]->orders) continue;
        key2(&k, 'p', c->byid[i]->name, NULL);
        c360_txn_add_u64(txn, k.buf, k.len, c->byid[i]->orders);
    }
    for (size_t i = 0; i < c->ndirty; i++) {
        fent *e = c->dirty[i];
        c360_txn_put(txn, e->k, e->kl, e->val, e->vlen);
        free(e->val);
        e->val = NULL;
        e->dirty = 0;
    }
    c->ndirty = 0;
    sb_release(&k);
    clear_group(c, 1);
    if (HASH_COUNT(c->cat) > CAT_MAX) clear_cat(c);
}

/* an object's product_id as text (a number as written), or 0 when it has none usable */
static int product_id(const c360_json *j, int obj, strbuf *out)
{
    int t = c360_json_get(j, obj, "product_id");
    sb_reset(out);
    if (t < 0 || c360_json_is_null(j, t)) return 0;
    if (j->tok[t].type == CJ_STRING) c360_json_str(j, t, out);
    else if (j->tok[t].type == CJ_PRIMITIVE) {
        size_t rn;
        const char *r = c360_json_raw(j, t, &rn);
        sb_add(out, r, rn);
    } else return 0;
    return out->len && !memchr(out->buf, 0, out->len);
}

static void catalog(c360_features *f, const c360_json *j, int obj, int64_t ts, const strbuf *pid);

void recs_on_order(c360_features *f, int64_t ts, const c360_json *j, int props)
{
    int pt = c360_json_get(j, props, "products");
    if (pt < 0 || j->tok[pt].type != CJ_ARRAY) return;
    fcache *c = f->cache;
    int np = 0;
    /* a product listed twice in the order counts once: marked with the order's stamp */
    if (++c->stamp == 0) {
        for (uint32_t i = 0; i < c->nprod; i++) c->byid[i]->seen = 0;
        c->stamp = 1;
    }
    for (int it = pt + 1, n = 0; n < j->tok[pt].size; n++, it = c360_json_skip(j, it)) {
        if (j->tok[it].type != CJ_OBJECT || !product_id(j, it, &c->pid)) continue;
        catalog(f, j, it, ts, &c->pid);
        uint32_t id = intern(c, c->pid.buf, c->pid.len);   /* may grow byid */
        fprod *p = c->byid[id];
        if (p->seen == c->stamp) continue;
        p->seen = c->stamp;
        if (np == c->capids) c->ids = xrealloc(c->ids, sizeof *c->ids * (size_t)(c->capids = c->capids ? 2 * c->capids : 64));
        c->ids[np++] = p->id;
    }
    /* pairs only among the first RECS_MAX_PAIR_ITEMS distinct products of an order: a 500-line
     * wholesale order would otherwise bump 250,000 counters and say little about taste */
    const uint32_t *ids = c->ids;
    int npair = np < RECS_MAX_PAIR_ITEMS ? np : RECS_MAX_PAIR_ITEMS;
    if (np) atomic_fetch_add(&f->pop_gen, 1);   /* readers refresh their popular list */
    for (int a = 0; a < np; a++) {
        c->byid[ids[a]]->orders++;
        if (a >= npair) continue;
        for (int b = a + 1; b < npair; b++)
            bump_pair(c, ids[a] < ids[b] ? ids[a] : ids[b], ids[a] < ids[b] ? ids[b] : ids[a]);
    }
}

void recs_catalog(c360_features *f, const c360_json *j, int obj, int64_t ts)
{
    if (product_id(j, obj, &f->cache->pid)) catalog(f, j, obj, ts, &f->cache->pid);
}

/* catalogue entry: ts u64be (of the event that named it) + JSON {"name":..,"price":..}. Every
 * order line names its product again, mostly as before: the entry is rebuilt in a reused buffer
 * and only its time is updated when the rest is the same. */
static void catalog(c360_features *f, const c360_json *j, int obj, int64_t ts, const strbuf *pid)
{
    int nt = c360_json_get(j, obj, "name");
    if (nt < 0 || j->tok[nt].type != CJ_STRING) return;
    fcache *c = f->cache;
    strbuf *k = &c->key, *v = &c->val;
    key2(k, 'n', pid->buf, NULL);
    fent *e;
    HASH_FIND(hh, c->cat, k->buf, k->len, e);
    if (!e) {
        e = xcalloc(1, sizeof *e + k->len);
        memcpy(e->k, k->buf, k->len);
        e->kl = k->len;
        HASH_ADD_KEYPTR(hh, c->cat, e->k, e->kl, e);
        if (c360_store_get(f->store, k->buf, k->len, &f->tmp) == 1 && f->tmp.len >= 8)
            e->v = (int64_t)c360_get_u64be((unsigned char *)f->tmp.buf);
    }
    /* last write wins by event time; the cached value is the stored entry's time */
    int64_t have = e->v ? e->v - (int64_t)C360_TS_BIAS : INT64_MIN;
    if (e->v && ts < have) return;
    e->v = (int64_t)((uint64_t)ts + C360_TS_BIAS);
    sb_reset(v);
    sb_add_u64be(v, (uint64_t)ts + C360_TS_BIAS);
    size_t n;
    const char *raw = c360_json_raw(j, nt, &n);
    sb_adds(v, "{\"name\":");
    sb_add(v, raw, n);
    int pr = c360_json_get(j, obj, "price");
    if (pr >= 0 && c360_json_is_number(j, pr)) {
        raw = c360_json_raw(j, pr, &n);
        sb_adds(v, ",\"price\":");
        sb_add(v, raw, n);
    }
    sb_addc(v, '}');
    if (!e->dirty) {
        if (c->ndirty == c->capdirty) c->dirty = xrealloc(c->dirty, sizeof *c->dirty * (c->capdirty = c->capdirty ? 2 * c->capdirty : 256));
        c->dirty[c->ndirty++] = e;
        e->dirty = 1;
    }
    if (e->val && e->vlen == v->len && !memcmp(e->val + 8, v->buf + 8, v->len - 8)) {
        memcpy(e->val, v->buf, 8);   /* the same entry, a later time */
        return;
    }
    free(e->val);
    e->val = xmalloc(v->len);
    memcpy(e->val, v->buf, v->len);
    e->vlen = v->len;
}

/* ---- the query ---- */
typedef struct { char *pid; uint64_t score; } cand;   /* a popular product */

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return strcmp(x->pid, y->pid);
}

/* a set of product ids (uthash): the query's exclusions */
typedef struct sent { UT_hash_handle hh; char k[]; } sent;

static sent *set_find(sent *set, const char *k)
{
    sent *e;
    HASH_FIND_STR(set, k, e);
    return e;
}

/* entries live in the query's arena (a last order can name hundreds of products) */
static void set_add(sent **set, c360_arena **arena, const char *k)
{
    size_t n = strlen(k);
    sent *e = c360_arena_calloc(arena, sizeof *e + n + 1);
    memcpy(e->k, k, n);
    HASH_ADD_KEYPTR(hh, *set, e->k, n, e);
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
            all[np++] = (cand){.pid = xstrndup(k + 2, kl - 2), .score = c360_get_u64be((const unsigned char *)v)};
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
    for (int i = 0; i < n; i++) (*out)[i] = (cand){.pid = xstrdup(pc->top[i].pid), .score = pc->top[i].score};
    *complete = pc->complete;
    pthread_mutex_unlock(&pc->mu);
    return n;
}

/* ---- the query's candidates ----
 * A result: a product, its score and the products of interest that led to it (the "because", in
 * interest order). pid points into the counter maps read (or the query's arena) and is not
 * NUL-terminated. The best `limit` are kept in a heap whose root is the worst of them. */
typedef struct { const char *pid; size_t pl; uint64_t score; int *why; int nwhy; } qtop;

/* the ranking: score desc, product id asc */
static int qtop_before(const qtop *x, const qtop *y)
{
    if (x->score != y->score) return x->score > y->score;
    return c360_map_name_cmp(x->pid, x->pl, y->pid, y->pl) < 0;
}
static int qtop_cmp(const void *a, const void *b)
{
    const qtop *x = *(qtop *const *)a, *y = *(qtop *const *)b;
    return qtop_before(x, y) ? -1 : qtop_before(y, x) ? 1 : 0;
}

typedef struct {
    qtop *slots;     /* limit of them, each with room for every reason */
    qtop **h;
    int n, limit;
} qbest;

static void qbest_init(qbest *b, int limit, int ni)
{
    b->limit = limit > 0 ? limit : 0;
    b->n = 0;
    b->slots = xcalloc((size_t)(b->limit ? b->limit : 1), sizeof *b->slots);
    b->h = xcalloc((size_t)(b->limit ? b->limit : 1), sizeof *b->h);
    for (int i = 0; i < b->limit; i++) b->slots[i].why = xmalloc(sizeof(int) * (size_t)(ni ? ni : 1));
}

static void qbest_free(qbest *b)
{
    for (int i = 0; i < b->limit; i++) free(b->slots[i].why);
    free(b->slots);
    free(b->h);
}

static void qbest_offer(qbest *b, const char *pid, size_t pl, uint64_t score, const int *why, int nwhy)
{
    qtop c = {.pid = pid, .pl = pl, .score = score};
    int i;
    qtop *slot;
    if (b->n < b->limit) {
        slot = &b->slots[b->n];
        i = b->n++;
        while (i > 0 && qtop_before(b->h[(i - 1) / 2], &c)) {
            b->h[i] = b->h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
    } else {
        if (!b->limit || !qtop_before(&c, b->h[0])) return;
        slot = b->h[0];
        i = 0;
        for (;;) {   /* the new one replaces the root: sift down */
            int l = 2 * i + 1, r = l + 1, w = i;
            const qtop *wc = &c;
            if (l < b->n && qtop_before(wc, b->h[l])) w = l, wc = b->h[l];
            if (r < b->n && qtop_before(wc, b->h[r])) w = r;
            if (w == i) break;
            b->h[i] = b->h[w];
            i = w;
        }
    }
    int *keep = slot->why;
    *slot = c;
    slot->why = keep;
    memcpy(slot->why, why, sizeof *why * (size_t)nwhy);
    slot->nwhy = nwhy;
    b->h[i] = slot;
}

/* 1 if a product with this score would enter the best (a cheap test made before the exclusions) */
static int qbest_takes(const qbest *b, const char *pid, size_t pl, uint64_t score)
{
    if (b->n < b->limit) return 1;
    qtop c = {.pid = pid, .pl = pl, .score = score};
    return b->limit && qtop_before(&c, b->h[0]);
}

static int excluded(sent *excl, const char *b, size_t bl)
{
    if (!bl || memchr(b, 0, bl)) return 1;
    sent *x;
    HASH_FIND(hh, excl, b, bl, x);
    return x != NULL;
}

/* Counter maps are sorted by product, so the scores are a k-way merge of the interests' maps: a
 * heap of cursors ordered by (product, interest), no hash table of candidates. */
typedef struct { c360_map_iter it; const char *name; size_t nl; uint64_t n; int i; } qlist;
static int qlist_before(const qlist *a, const qlist *b)
{
    int c = c360_map_name_cmp(a->name, a->nl, b->name, b->nl);
    return c ? c < 0 : a->i < b->i;
}
static void qlist_down(qlist **h, int n, int i)
{
    qlist *x = h[i];
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = -1;
        const qlist *wc = x;
        if (l < n && qlist_before(h[l], wc)) w = l, wc = h[l];
        if (r < n && qlist_before(h[r], wc)) w = r;
        if (w < 0) break;
        h[i] = h[w];
        i = w;
    }
    h[i] = x;
}

static void score_maps(c360_store *st, const char **interest, int ni, sent *excl, qbest *best, strbuf *vals)
{
    qlist *ls = xcalloc((size_t)(ni ? ni : 1), sizeof *ls);
    qlist **h = xcalloc((size_t)(ni ? ni : 1), sizeof *h);
    int *why = xmalloc(sizeof *why * (size_t)(ni ? ni : 1));
    int n = 0;
    strbuf k = STRBUF_INIT;
    for (int i = 0; i < ni; i++) {
        key2(&k, 'C', interest[i], NULL);
        if (c360_store_get(st, k.buf, k.len, &vals[i]) != 1) continue;
        qlist *l = &ls[i];
        l->i = i;
        c360_map_iter_init(&l->it, vals[i].buf, vals[i].len);
        if (c360_map_next(&l->it, &l->name, &l->nl, &l->n) == 1) h[n++] = l;
    }
    sb_release(&k);
    for (int i = n / 2 - 1; i >= 0; i--) qlist_down(h, n, i);
    while (n > 0) {
        const char *name = h[0]->name;
        size_t nl = h[0]->nl;
        uint64_t score = 0;
        int nwhy = 0;
        while (n > 0 && !c360_map_name_cmp(h[0]->name, h[0]->nl, name, nl)) {
            qlist *l = h[0];
            if (l->n) {
                score += l->n;
                if (nwhy < ni) why[nwhy++] = l->i;   /* a map names a product once; never trust it */
            }
            if (c360_map_next(&l->it, &l->name, &l->nl, &l->n) != 1) h[0] = h[--n];
            if (n > 0) qlist_down(h, n, 0);
        }
        if (score && qbest_takes(best, name, nl, score) && !excluded(excl, name, nl))
            qbest_offer(best, name, nl, score, why, nwhy);
    }
    free(why);
    free(h);
    free(ls);
}

/* Stores from before counter maps: per-pair keys, summed per product in a hash table (and the
 * maps written since added in). */
typedef struct qcand { UT_hash_handle hh; uint64_t score; int nwhy; int *why; char pid[]; } qcand;

static void legacy_add(qcand **cset, c360_arena **arena, int ni, const char *b, size_t bl, uint64_t n, int i)
{
    if (!n) return;
    qcand *c;
    HASH_FIND(hh, *cset, b, bl, c);
    if (!c) {
        c = c360_arena_alloc(arena, sizeof *c + bl + 1);
        memset(c, 0, sizeof *c);
        memcpy(c->pid, b, bl);
        c->pid[bl] = 0;
        c->why = c360_arena_alloc(arena, sizeof *c->why * (size_t)ni);
        HASH_ADD_KEYPTR(hh, *cset, c->pid, bl, c);
    }
    c->score += n;
    if (!c->nwhy || c->why[c->nwhy - 1] != i) c->why[c->nwhy++] = i;
}

static void score_legacy(c360_store *st, const char **interest, int ni, sent *excl, qbest *best, c360_arena **arena)
{
    qcand *cset = NULL;
    strbuf lo = STRBUF_INIT, hi = STRBUF_INIT, v = STRBUF_INIT;
    for (int i = 0; i < ni; i++) {
        key2(&lo, 'C', interest[i], NULL);
        if (c360_store_get(st, lo.buf, lo.len, &v) == 1) {
            c360_map_iter mi;
            c360_map_iter_init(&mi, v.buf, v.len);
            const char *b;
            size_t bl;
            uint64_t n;
            while (c360_map_next(&mi, &b, &bl, &n) == 1)
                if (!excluded(excl, b, bl)) legacy_add(&cset, arena, ni, b, bl, n, i);
        }
        sb_reset(&v);
        key2(&lo, 'c', interest[i], "");
        sb_reset(&hi);
        sb_add(&hi, lo.buf, lo.len - 1);
        sb_addc(&hi, 1);
        c360_iter *it = c360_iter_new(st, lo.buf, lo.len, hi.buf, hi.len);
        for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
            size_t kl, vl;
            const char *k = c360_iter_key(it, &kl);
            const char *val = c360_iter_value(it, &vl);
            if (vl < 8 || kl <= lo.len || excluded(excl, k + lo.len, kl - lo.len)) continue;
            legacy_add(&cset, arena, ni, k + lo.len, kl - lo.len, c360_get_u64be((const unsigned char *)val), i);
        }
        c360_iter_free(it);
    }
    for (qcand *c = cset; c; c = c->hh.next) qbest_offer(best, c->pid, strlen(c->pid), c->score, c->why, c->nwhy);
    HASH_CLEAR(hh, cset);
    sb_release(&lo);
    sb_release(&hi);
    sb_release(&v);
}

/* The answer's products, in order: a scored one (c) or a popular one filling up (pop, c NULL).
 * Their catalogue entries are read in one batch. */
typedef struct { const char *pid; size_t pl; const qtop *c; uint64_t pop; } qshown;

/* out gets [{"product_id":..[,"name":..][,"price":..],"score":..,"source":..,"because":[..]},..] */
static void put_products(c360_store *st, const qshown *sh, int n, const char **interest, strbuf *out,
                         c360_arena **arena)
{
    size_t m = (size_t)(n ? n : 1);   /* the batch's bookkeeping lives in the query's arena */
    strbuf *vals = c360_arena_calloc(arena, m * sizeof *vals);
    char **kp = c360_arena_alloc(arena, m * sizeof *kp);
    size_t *kl = c360_arena_alloc(arena, m * sizeof *kl);
    int *found = c360_arena_alloc(arena, m * sizeof *found);
    for (int i = 0; i < n; i++) {   /* 'F' 'n' product */
        kl[i] = 2 + sh[i].pl;
        kp[i] = c360_arena_alloc(arena, kl[i]);
        kp[i][0] = FK;
        kp[i][1] = 'n';
        memcpy(kp[i] + 2, sh[i].pid, sh[i].pl);
    }
    c360_store_multi_get(st, (size_t)n, (const char *const *)kp, kl, vals, found);
    for (int i = 0; i < n; i++) {
        sb_adds(out, i ? ",{\"product_id\":" : "{\"product_id\":");
        c360_json_put_str(out, sh[i].pid, sh[i].pl);
        if (found[i] == 1 && vals[i].len > 10) {   /* {"name":..[,"price":..]} -> ,"name":..[,"price":..] */
            sb_addc(out, ',');
            sb_add(out, vals[i].buf + 9, vals[i].len - 10);
        }
        const qtop *c = sh[i].c;
        if (c) {
            sb_addf(out, ",\"score\":%llu,\"source\":\"co_purchase\",\"because\":[", (unsigned long long)c->score);
            for (int r = 0; r < c->nwhy; r++) {
                if (r) sb_addc(out, ',');
                c360_json_put_cstr(out, interest[c->why[r]]);
            }
            sb_adds(out, "]}");
        } else {
            sb_addf(out, ",\"score\":%llu,\"source\":\"popular\",\"because\":[]}", (unsigned long long)sh[i].pop);
        }
        sb_release(&vals[i]);
    }
}

int recs_query(c360_features *f, const fstate *s, int limit, int exclude_last, strbuf *out)
{
    c360_store *st = f->store;
    const char **interest = NULL;
    int ni = 0;
    sent *excl = NULL;
    c360_arena *arena = NULL;    /* the exclusions, the legacy scoring's candidates, the answer's batch read */
    /* products of interest, most recent first; they are excluded, and so is the last order */
    for (int i = s->nacts - 1; i >= 0; i--) {
        if (s->acts[i].kind == 2 || set_find(excl, s->acts[i].pid)) continue;
        interest = xrealloc(interest, sizeof *interest * (size_t)(ni + 1));
        interest[ni++] = s->acts[i].pid;
        set_add(&excl, &arena, s->acts[i].pid);
    }
    if (exclude_last && s->nord) {
        const ford *lo = &s->orders[s->nord - 1];
        for (int i = 0; i < lo->nprods; i++)
            if (!set_find(excl, lo->prods[i])) set_add(&excl, &arena, lo->prods[i]);
    }
    qbest best;
    qbest_init(&best, limit, ni);
    strbuf *vals = xcalloc((size_t)(ni ? ni : 1), sizeof *vals);   /* the maps read (results point into them) */
    if (atomic_load(&f->legacy_pairs)) score_legacy(st, interest, ni, excl, &best, &arena);
    else score_maps(st, interest, ni, excl, &best, vals);
    int nbest = best.n;
    qtop **top = best.h;
    if (nbest > 1) qsort(top, (size_t)nbest, sizeof *top, qtop_cmp);
    cand *pop = NULL;
    int np = 0;
    char *fill = NULL;           /* which popular products fill in */
    if (nbest < limit) {         /* then every candidate is in top */
        int complete, want = limit + HASH_COUNT(excl), room = limit - nbest;
        np = popular(f, want, &pop, &complete);
        fill = xcalloc((size_t)(np ? np : 1), 1);
        for (int i = 0; i < np && room > 0; i++) {
            int dup = set_find(excl, pop[i].pid) != NULL;
            for (int t = 0; t < nbest && !dup; t++) dup = !c360_map_name_cmp(top[t]->pid, top[t]->pl, pop[i].pid, strlen(pop[i].pid));
            if (!dup) {
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
    qshown *sh = c360_arena_calloc(&arena, sizeof *sh * (size_t)(limit > 0 ? limit : 1));
    int nsh = 0;
    for (int i = 0; i < nbest; i++) sh[nsh++] = (qshown){.pid = top[i]->pid, .pl = top[i]->pl, .c = top[i]};
    for (int i = 0; i < np; i++)
        if (fill[i]) sh[nsh++] = (qshown){.pid = pop[i].pid, .pl = strlen(pop[i].pid), .pop = pop[i].score};
    put_products(st, sh, nsh, interest, out, &arena);
    for (int i = 0; i < np; i++) free(pop[i].pid);
    sb_adds(out, "]}");
    free(pop);
    free(fill);
    qbest_free(&best);
    for (int i = 0; i < ni; i++) sb_release(&vals[i]);
    free(vals);
    free(interest);
    HASH_CLEAR(hh, excl);
    c360_arena_free(arena);
    return 0;
}

int recs_has_legacy_pairs(c360_store *s)
{
    unsigned char lo[2] = {FK, 'c'}, hi[2] = {FK, 'd'};
    c360_iter *it = c360_iter_new(s, lo, 2, hi, 2);
    c360_iter_first(it);
    int r = c360_iter_valid(it);
    c360_iter_free(it);
    return r;
}
