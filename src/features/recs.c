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

#include "util/codec.h"

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
typedef struct { char *pid; uint64_t score; char **why; int nwhy; int popular; } cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return strcmp(x->pid, y->pid);
}

static int in_list(char **l, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(l[i], s)) return 1;
    return 0;
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

int recs_query(c360_store *st, const fstate *s, int limit, int exclude_last, strbuf *out)
{
    char **interest = NULL, **excl = NULL;
    int ni = 0, ne = 0;
    /* products of interest, most recent first */
    for (int i = s->nacts - 1; i >= 0; i--) {
        if (s->acts[i].kind == 2 || in_list(interest, ni, s->acts[i].pid)) continue;
        interest = xrealloc(interest, sizeof *interest * (size_t)(ni + 1));
        interest[ni++] = s->acts[i].pid;
    }
    excl = xmalloc(sizeof *excl * (size_t)(ni + 1));
    if (ni) memcpy(excl, interest, sizeof *excl * (size_t)ni);
    ne = ni;
    if (exclude_last && s->nord) {
        const ford *lo = &s->orders[s->nord - 1];
        excl = xrealloc(excl, sizeof *excl * (size_t)(ne + lo->nprods + 1));
        for (int i = 0; i < lo->nprods; i++) excl[ne++] = lo->prods[i];
    }
    cand *c = NULL;
    int nc = 0;
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
            char *b = xstrndup(k + lo.len, kl - lo.len);
            uint64_t n = c360_get_u64be((const unsigned char *)v);
            if (!n || in_list(excl, ne, b)) {
                free(b);
                continue;
            }
            int x;
            for (x = 0; x < nc; x++)
                if (!strcmp(c[x].pid, b)) break;
            if (x == nc) {
                c = xrealloc(c, sizeof *c * (size_t)(nc + 1));
                c[nc++] = (cand){.pid = b};
            } else {
                free(b);
            }
            c[x].score += n;
            c[x].why = xrealloc(c[x].why, sizeof *c[x].why * (size_t)(c[x].nwhy + 1));
            c[x].why[c[x].nwhy++] = interest[i];
        }
        c360_iter_free(it);
    }
    if (nc > 1) qsort(c, (size_t)nc, sizeof *c, cand_cmp);
    if (nc > limit) {
        for (int i = limit; i < nc; i++) { free(c[i].pid); free(c[i].why); }
        nc = limit;
    }
    if (nc < limit) {   /* popular products fill in */
        cand *pop = NULL;
        int np = 0;
        sb_reset(&lo);
        sb_addc(&lo, FK);
        sb_addc(&lo, 'p');
        sb_reset(&hi);
        sb_addc(&hi, FK);
        sb_addc(&hi, 'q');
        c360_iter *it = c360_iter_new(st, lo.buf, lo.len, hi.buf, hi.len);
        for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
            size_t kl, vl;
            const char *k = c360_iter_key(it, &kl);
            const char *v = c360_iter_value(it, &vl);
            if (vl < 8 || kl <= 2) continue;
            pop = xrealloc(pop, sizeof *pop * (size_t)(np + 1));
            pop[np++] = (cand){.pid = xstrndup(k + 2, kl - 2), .score = c360_get_u64be((const unsigned char *)v), .popular = 1};
        }
        c360_iter_free(it);
        if (np > 1) qsort(pop, (size_t)np, sizeof *pop, cand_cmp);
        for (int i = 0; i < np; i++) {
            int taken = nc < limit && !in_list(excl, ne, pop[i].pid);
            for (int x = 0; taken && x < nc; x++)
                if (!strcmp(c[x].pid, pop[i].pid)) taken = 0;
            if (taken) {
                c = xrealloc(c, sizeof *c * (size_t)(nc + 1));
                c[nc++] = pop[i];
            } else {
                free(pop[i].pid);
            }
        }
        free(pop);
    }
    sb_adds(out, "{\"products_of_interest\":[");
    for (int i = 0; i < ni; i++) {
        if (i) sb_addc(out, ',');
        c360_json_put_cstr(out, interest[i]);
    }
    sb_adds(out, "],\"recommendations\":[");
    for (int i = 0; i < nc; i++) {
        sb_adds(out, i ? ",{\"product_id\":" : "{\"product_id\":");
        c360_json_put_cstr(out, c[i].pid);
        catalog_json(st, c[i].pid, out);
        sb_addf(out, ",\"score\":%llu,\"source\":\"%s\",\"because\":[", (unsigned long long)c[i].score,
                c[i].popular ? "popular" : "co_purchase");
        for (int w = 0; w < c[i].nwhy; w++) {
            if (w) sb_addc(out, ',');
            c360_json_put_cstr(out, c[i].why[w]);
        }
        sb_adds(out, "]}");
        free(c[i].pid);
        free(c[i].why);
    }
    sb_adds(out, "]}");
    free(c);
    free(interest);
    free(excl);
    sb_release(&lo);
    sb_release(&hi);
    return 0;
}
