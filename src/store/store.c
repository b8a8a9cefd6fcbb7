/* store.c -- RocksDB behind the store API (see store.h; key layout in keys.h).
 *
 * Two column families hold the one logical key space: "events" holds the stored events
 * (c360_key_is_event), "default" everything else. A lookup reads identities and profile records,
 * which then sit densely in their own small blocks that the block cache holds, instead of one
 * record per 16 KB block among that customer's events. Every call routes keys by their shape, and
 * an iterator over a range that can hold both kinds merges the two families in key order, so no
 * caller sees the split. Stores of format 1 (one family) are migrated when first opened for
 * writing. */
#include "store/store.h"
#include "store/keys.h"
#include "util/log.h"
#include "util/clock.h"
#include "util/codec.h"
#include "util/sched.h"

#include <errno.h>
#include <ftw.h>
#include <rocksdb/c.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define FORMAT_VERSION "2"   /* 2: events in their own column family */

struct c360_store {
    /* Readers and the writer share `db` under a read lock; after a failed write (disk full) the
     * store refuses writes (`failed`) until c360_store_recover reopens it under the write lock:
     * RocksDB (7.8) keeps a failed WAL writer in an error state it cannot leave in place. */
    pthread_rwlock_t lock;
    atomic_int failed;
    char *dir;
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[2];   /* CF_MAIN, CF_EVENTS (the same handle while unsplit) */
    int split;                                /* 0: a format-1 store opened read-only */
    rocksdb_options_t *opts, *ev_opts;
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts_sync, *wopts_nosync;
    rocksdb_writeoptions_t *wopts_txn;        /* unsynced commits: wopts_nosync, or without the log (no_wal) */
    int no_wal;
    rocksdb_block_based_table_options_t *topts, *ev_topts;
    rocksdb_cache_t *cache;
    rocksdb_compactionfilter_t *cfilter;
    unsigned char secret[32];
    int partitions;
    int read_only;
    _Atomic int64_t retention_ms;     /* read by the compaction filter */
    _Atomic int64_t alert_retention_ms;
    _Atomic int64_t dedup_window_ms;
    /* page-cache warming of the main family (see warm_start) */
    pthread_t warm_thread;
    int warm_started;
    atomic_int warm_stop, warm_done;
    _Atomic int64_t warm_bytes;
    char **warm_paths;
    int warm_n;
};

/* Operations are buffered and written in key order at commit: RocksDB's memtable skiplist
 * inserts neighbouring keys much faster (it reuses the insert position), and a commit of a group
 * touches keys all over the key space. Same-key operations keep their order (stable sort). */
typedef struct {
    uint64_t pfx;   /* the key's first 8 bytes, big-endian, zero-padded: most comparisons end here */
    uint32_t koff, klen, voff, vlen;
    uint32_t seq;
    int del;        /* 1 delete, 2 range, 3 add */
} txn_op;

struct c360_txn {
    c360_store *s;
    rocksdb_writebatch_t *wb;
    strbuf arena;        /* keys and values */
    txn_op *ops;
    size_t nops, cap;
};

static void txn_add(c360_txn *t, const void *k, size_t kl, const void *v, size_t vl, int del)
{
    if (t->nops == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->ops = xrealloc(t->ops, sizeof *t->ops * t->cap);
    }
    txn_op *o = &t->ops[t->nops];
    unsigned char p8[8] = {0};
    memcpy(p8, k, kl < 8 ? kl : 8);
    o->pfx = c360_get_u64be(p8);
    o->koff = (uint32_t)t->arena.len;
    o->klen = (uint32_t)kl;
    sb_add(&t->arena, k, kl);
    o->voff = (uint32_t)t->arena.len;
    o->vlen = (uint32_t)vl;
    if (vl) sb_add(&t->arena, v, vl);
    o->seq = (uint32_t)t->nops;
    o->del = del;
    t->nops++;
}

static const char *sort_arena;
static int op_cmp(const void *a, const void *b)
{
    const txn_op *x = a, *y = b;
    /* keys that differ in their first 8 bytes (or where the shorter one ends with a byte the
     * other has non-zero) are ordered by the prefixes; the rest by their bytes */
    if (x->pfx != y->pfx) return x->pfx < y->pfx ? -1 : 1;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = n > 8 ? memcmp(sort_arena + x->koff + 8, sort_arena + y->koff + 8, n - 8) : 0;
    if (c) return c;
    if (x->klen != y->klen) return x->klen < y->klen ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* An iterator over one or both column families: `cur` is the child whose key is current (the
 * smaller one going forward, the larger going backward; the families hold disjoint keys). */
struct c360_iter {
    c360_store *s;             /* its read lock is held until c360_iter_free */
    rocksdb_iterator_t *it[2]; /* per column family; NULL if not needed or the store is closed */
    int cur, dir;              /* current child (-1: none); 1 forward, -1 backward */
    rocksdb_readoptions_t *ro;
    char *lo, *hi;
    size_t lol, hil;
};

/* ---- column families: which keys live where ---- */

enum { CF_MAIN = 0, CF_EVENTS = 1 };
static const char *const cf_names[2] = {"default", "events"};

static int cmpkey(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al < bl ? -1 : al > bl);
}

static rocksdb_column_family_handle_t *cf_of(c360_store *s, const char *k, size_t kl)
{
    return s->cf[c360_key_is_event(k, kl) ? CF_EVENTS : CF_MAIN];
}

/* The families that can hold keys in [lo, hi): bit 1 << CF_MAIN, bit 1 << CF_EVENTS. Exact for
 * ranges inside one customer's prefix; any other range touching 'P' gets both. */
static int range_cfs(const c360_store *s, const char *lo, size_t lol, const char *hi, size_t hil)
{
    const int m = 1 << CF_MAIN, e = 1 << CF_EVENTS;
    if (!s->split || cmpkey(hi, hil, "P", 1) <= 0 || cmpkey(lo, lol, "Q", 1) >= 0) return m;
    if (lol >= 9 && hil >= 9 && lo[0] == C360_K_PROFILE && !memcmp(lo, hi, 9)) {
        char ev[10], after[10];   /* [ev, after) covers this customer's events */
        memcpy(ev, lo, 9);
        memcpy(after, lo, 9);
        ev[9] = C360_SUB_EVENT;
        after[9] = C360_SUB_EVENT + 1;
        if (cmpkey(lo, lol, ev, 10) >= 0 && cmpkey(hi, hil, after, 10) <= 0) return e;
        if (cmpkey(lo, lol, after, 10) >= 0 || cmpkey(hi, hil, ev, 10) <= 0) return m;
    }
    return m | e;
}

/* ---- merge operator: 64-bit counters added without a read (c360_txn_add_u64) ---- */

static int64_t be64(const char *p) { return (int64_t)c360_get_u64be((const unsigned char *)p); }

static char *sum_result(int64_t v, unsigned char *success, size_t *len)
{
    char *out = malloc(8);
    if (!out) {
        *success = 0;
        return NULL;
    }
    c360_put_u64be((unsigned char *)out, (uint64_t)v);
    *success = 1;
    *len = 8;
    return out;
}

/* counter maps (store.h): the operands' entries are sorted and summed together, then merged with
 * the existing map in one pass; an operand that does not decode is skipped (never an error: a
 * failed merge would make the key unreadable) */
void c360_map_iter_init(c360_map_iter *it, const void *map, size_t ml)
{
    c360_cursor c;
    c360_cursor_init(&c, map, ml);
    it->left = ml ? c360_get_uvarint(&c) : 0;
    if (c.err) it->left = 0;
    it->p = c.p;
    it->end = (const unsigned char *)map + ml;
}

int c360_map_next(c360_map_iter *it, const char **name, size_t *nl, uint64_t *count)
{
    if (!it->left) return 0;
    c360_cursor c;
    c360_cursor_init(&c, it->p, (size_t)(it->end - it->p));
    const char *n = c360_get_bytes(&c, nl);
    uint64_t v = c360_get_uvarint(&c);
    if (c.err || !n) {
        it->left = 0;
        return -1;
    }
    *name = n;
    *count = v;
    it->p = c.p;
    it->left--;
    return 1;
}

typedef struct { const char *name; size_t nl; uint64_t n; } mentry;
int c360_map_name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}
static int mentry_cmp(const void *a, const void *b)
{
    const mentry *x = a, *y = b;
    return c360_map_name_cmp(x->name, x->nl, y->name, y->nl);
}

static void map_put(strbuf *body, uint64_t *n, const char *name, size_t nl, uint64_t count)
{
    c360_put_bytes(body, name, nl);
    c360_put_uvarint(body, count);
    (*n)++;
}

static char *map_merge(const char *base, size_t bl, const char *const *ops, const size_t *opl, int nops,
                       unsigned char *success, size_t *len)
{
    mentry *e = NULL;
    size_t ne = 0, cap = 0;
    for (int i = 0; i < nops; i++) {
        c360_map_iter it;
        c360_map_iter_init(&it, ops[i], opl[i]);
        mentry m;
        while (c360_map_next(&it, &m.name, &m.nl, &m.n) == 1) {
            if (ne == cap) e = xrealloc(e, sizeof *e * (cap = cap ? cap * 2 : 256));
            e[ne++] = m;
        }
    }
    if (nops > 1) qsort(e, ne, sizeof *e, mentry_cmp);
    strbuf body = STRBUF_INIT;
    uint64_t n = 0;
    c360_map_iter bi;
    c360_map_iter_init(&bi, base, base ? bl : 0);
    mentry b;
    int have_b = c360_map_next(&bi, &b.name, &b.nl, &b.n) == 1;
    for (size_t i = 0; i < ne;) {
        mentry m = e[i++];
        while (i < ne && !mentry_cmp(&e[i], &m)) m.n += e[i++].n;   /* same name in several operands */
        while (have_b && c360_map_name_cmp(b.name, b.nl, m.name, m.nl) < 0) {
            map_put(&body, &n, b.name, b.nl, b.n);
            have_b = c360_map_next(&bi, &b.name, &b.nl, &b.n) == 1;
        }
        if (have_b && !c360_map_name_cmp(b.name, b.nl, m.name, m.nl)) {
            m.n += b.n;
            have_b = c360_map_next(&bi, &b.name, &b.nl, &b.n) == 1;
        }
        map_put(&body, &n, m.name, m.nl, m.n);
    }
    while (have_b) {
        map_put(&body, &n, b.name, b.nl, b.n);
        have_b = c360_map_next(&bi, &b.name, &b.nl, &b.n) == 1;
    }
    free(e);
    strbuf out = STRBUF_INIT;
    c360_put_uvarint(&out, n);
    sb_add(&out, body.buf, body.len);
    sb_release(&body);
    *len = out.len;
    *success = 1;
    return sb_detach(&out, NULL);
}

static char *mo_full(void *state, const char *key, size_t kl, const char *ev, size_t evl, const char *const *ops,
                     const size_t *opl, int nops, unsigned char *success, size_t *len)
{
    (void)state;
    if (c360_key_is_counter_map(key, kl)) return map_merge(ev, evl, ops, opl, nops, success, len);
    int64_t v = ev && evl >= 8 ? be64(ev) : 0;
    for (int i = 0; i < nops; i++)
        if (opl[i] == 8) v += be64(ops[i]);
    return sum_result(v, success, len);
}

static char *mo_partial(void *state, const char *key, size_t kl, const char *const *ops, const size_t *opl, int nops,
                        unsigned char *success, size_t *len)
{
    (void)state;
    if (c360_key_is_counter_map(key, kl)) return map_merge(NULL, 0, ops, opl, nops, success, len);
    int64_t v = 0;
    for (int i = 0; i < nops; i++)
        if (opl[i] == 8) v += be64(ops[i]);
    return sum_result(v, success, len);
}

static void mo_delete(void *state, const char *v, size_t n)
{
    (void)state; (void)n;
    free((void *)v);
}

static void mo_destroy(void *state) { (void)state; }
static const char *mo_name(void *state) { (void)state; return "c360.add_u64be"; }

/* ---- compaction filter: expiry of dedup entries and of events past retention ---- */

static unsigned char cf_filter(void *state, int level, const char *key, size_t kl, const char *val, size_t vl,
                               char **nv, size_t *nvl, unsigned char *changed)
{
    c360_store *s = state;
    /* the clock is read only for keys that can expire (dedup marks, and events or alerts when
     * their retention is set): read for every key, it was 3.7% of a compaction thread's samples
     * during HTTP ingest on UCI x25; 3.0% now, nearly all for the dedup marks */
    if (kl == 17 && key[0] == C360_K_DEDUP && vl >= 8) {
        int64_t win = atomic_load(&s->dedup_window_ms);
        int64_t at = (int64_t)c360_get_u64be((const unsigned char *)val);
        return c360_now_ms() - at > win;
    }
    int64_t ret = atomic_load(&s->retention_ms);
    if (ret > 0 && kl == 26 && key[0] == C360_K_PROFILE && key[9] == C360_SUB_EVENT) {
        int64_t ts = (int64_t)(c360_get_u64be((const unsigned char *)key + 10) - C360_TS_BIAS);
        return c360_now_ms() - ts > ret;
    }
    int64_t raised, aret = atomic_load(&s->alert_retention_ms);
    if (aret > 0 && c360_key_alert_time(key, kl, &raised)) return c360_now_ms() - raised > aret;
    return 0;
}

static const char *cf_name(void *state) { return "c360.expiry"; }
static void cf_destroy(void *state) {}

static int meta_get(c360_store *s, const char *name, strbuf *out)
{
    strbuf k = STRBUF_INIT;
    sb_addc(&k, C360_K_META);
    sb_adds(&k, name);
    int r = c360_store_get(s, k.buf, k.len, out);
    sb_release(&k);
    return r;
}

static int meta_put(c360_store *s, const char *name, const void *v, size_t vl, char *err, size_t errlen)
{
    strbuf k = STRBUF_INIT;
    sb_addc(&k, C360_K_META);
    sb_adds(&k, name);
    char *e = NULL;
    rocksdb_put(s->db, s->wopts_sync, k.buf, k.len, v, vl, &e);
    sb_release(&k);
    if (e) {
        snprintf(err, errlen, "store: %s", e);
        free(e);
        return -1;
    }
    return 0;
}

/* Opens s->db with both column families (a read-only open of a format-1 store has only the
 * default one: then both handles are it). NULL, or the error (free it). */
static char *db_open(c360_store *s, int read_only)
{
    char *e = NULL;
    int n = 2;
    if (read_only) {
        size_t nl = 0;
        char **names = rocksdb_list_column_families(s->opts, s->dir, &nl, &e);
        if (e) return e;
        n = 1;
        for (size_t i = 0; i < nl; i++)
            if (!strcmp(names[i], cf_names[CF_EVENTS])) n = 2;
        rocksdb_list_column_families_destroy(names, nl);
    }
    const rocksdb_options_t *co[2] = {s->opts, s->ev_opts};
    s->db = read_only ? rocksdb_open_for_read_only_column_families(s->opts, s->dir, n, cf_names, co, s->cf, 0, &e)
                      : rocksdb_open_column_families(s->opts, s->dir, n, cf_names, co, s->cf, &e);
    if (e) {
        s->db = NULL;
        s->cf[0] = s->cf[1] = NULL;
        return e;
    }
    s->split = n == 2;
    if (!s->split) s->cf[CF_EVENTS] = s->cf[CF_MAIN];
    return NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* no_wal's sync: every memtable into table files, both families in one step (with one MANIFEST
 * write), so that a crash never leaves one family's data without the other's. RocksDB 7.8's C API
 * has no flush of several families, and a flush of one family flushes that family alone even with
 * atomic_flush; a checkpoint flushes them all atomically (GetLiveFiles -> AtomicFlushMemTables)
 * before it hard-links the table files (inside the data dir: one file system, so links, not
 * copies). The checkpoint is removed right after. NULL, or the error. */
static char *flush_memtables(c360_store *s)
{
    char *e = NULL;
    strbuf tmp = STRBUF_INIT;
    sb_addf(&tmp, "%s/flush-checkpoint.tmp", s->dir);
    nftw(tmp.buf, rm_entry, 16, FTW_DEPTH | FTW_PHYS);   /* left by a crash */
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(s->db, &e);
    if (!e) rocksdb_checkpoint_create(cp, tmp.buf, 0, &e);
    if (cp) rocksdb_checkpoint_object_destroy(cp);
    nftw(tmp.buf, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    sb_release(&tmp);
    return e;
}

static void db_close(c360_store *s)
{
    if (!s->db) return;
    /* A clean close leaves the memtables in table files, so the next open has no write-ahead log
     * to replay (a UCI x25 store that had taken ~0.5 M events over HTTP: start to ready 0.47-0.71 s
     * with the log to replay, 0.14-0.15 s without) */
    if (s->no_wal && !atomic_load(&s->failed)) {
        /* no log: one family flushed without the other could be all a crash leaves */
        char *e = flush_memtables(s);
        if (e) {
            LOG_WARN("flush at close failed (what was not flushed is lost)", "\"error\":\"%s\"", e);
            free(e);
        }
    } else if (!s->read_only && !atomic_load(&s->failed)) {
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
        rocksdb_flushoptions_set_wait(fo, 1);
        for (int i = 0; i < (s->split ? 2 : 1); i++) {
            char *e = NULL;
            rocksdb_flush_cf(s->db, fo, s->cf[i], &e);
            if (e) {
                LOG_WARN("flush at close failed (the next open replays the log)", "\"error\":\"%s\"", e);
                free(e);
            }
        }
        rocksdb_flushoptions_destroy(fo);
    }
    rocksdb_column_family_handle_destroy(s->cf[CF_MAIN]);
    if (s->split) rocksdb_column_family_handle_destroy(s->cf[CF_EVENTS]);
    s->cf[0] = s->cf[1] = NULL;
    rocksdb_close(s->db);
    s->db = NULL;
}

/* Format 1 -> 2: moves every stored event from the default family into "events", in atomic
 * batches (a crash part way leaves each event in exactly one family; the next open goes on), then
 * compacts the emptied range away and records format 2. */
static int migrate_events(c360_store *s, char *err, size_t errlen)
{
    LOG_INFO("store format 1: moving events into their own column family", "\"dir\":\"%s\"", s->dir);
    const char lo[1] = {C360_K_PROFILE}, hi[1] = {C360_K_PROFILE + 1};
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_lower_bound(ro, lo, 1);
    rocksdb_readoptions_set_iterate_upper_bound(ro, hi, 1);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_MAIN]);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    char *e = NULL;
    uint64_t moved = 0;
    for (rocksdb_iter_seek(it, lo, 1);; rocksdb_iter_next(it)) {
        int valid = rocksdb_iter_valid(it);
        if (valid) {
            size_t kl, vl;
            const char *k = rocksdb_iter_key(it, &kl);
            if (c360_key_is_event(k, kl)) {
                const char *v = rocksdb_iter_value(it, &vl);
                rocksdb_writebatch_put_cf(wb, s->cf[CF_EVENTS], k, kl, v, vl);
                rocksdb_writebatch_delete_cf(wb, s->cf[CF_MAIN], k, kl);
                moved++;
            }
        }
        size_t bytes = 0;
        rocksdb_writebatch_data(wb, &bytes);
        if (!valid || bytes > (8u << 20)) {
            rocksdb_write(s->db, s->wopts_nosync, wb, &e);
            rocksdb_writebatch_clear(wb);
            if (e || !valid) break;
        }
    }
    if (!e) rocksdb_iter_get_error(it, &e);
    rocksdb_writebatch_destroy(wb);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (!e) {
        rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
        rocksdb_compact_range_cf_opt(s->db, s->cf[CF_MAIN], co, lo, 1, hi, 1);
        rocksdb_compactoptions_destroy(co);
    }
    if (e) {
        snprintf(err, errlen, "upgrading the store in %s failed: %s", s->dir, e);
        free(e);
        return -1;
    }
    LOG_INFO("store format 2", "\"events_moved\":%llu", (unsigned long long)moved);
    return meta_put(s, "format", FORMAT_VERSION, strlen(FORMAT_VERSION), err, errlen);
}

/* Page-cache warming. Every lookup reads the main family (identities, profile records, feature
 * state) at random; the block cache holds only part of it, and a miss that has to go to the disk
 * costs a random read: on a freshly started server (or after a bulk load pushed the store out of
 * the page cache) a million-profile store answered lookups at 2,000/s with p99 0.4 s. Reading the
 * family's table files once, sequentially (1.8 GB in about a second here), brings that to p99
 * 0.45 ms. A background thread reads them (opening does not wait), at most a quarter of the
 * machine's memory, the rest stays cold. Plain reads: POSIX_FADV_WILLNEED brought in only 307 MB of
 * those 1.8 GB. Files a compaction writes later are in the page cache already (written through it). */
#define WARM_BUF (1 << 20)

/* Then the block cache: the page cache spares the disk, but a block-cache miss still costs a
 * read() from it, an LZ4 decompression and an allocation. On a UCI x25 store (109,300 customers)
 * lookups right after a start cost 94-249 us of CPU each until the blocks they touch were cached,
 * ~55 us after. So the ranges a lookup reads, the identity index ('I') and the profiles ('P' in
 * this family: records, merge and consent records; events live in the other one), are read once
 * through an iterator that fills the cache, until the cache is half full. At the lowest CPU
 * priority: lookups that come meanwhile fill the cache themselves. */
static void warm_blocks(c360_store *s)
{
    static const char ranges[][2] = {{C360_K_IDENT, C360_K_IDENT + 1}, {C360_K_PROFILE, C360_K_PROFILE + 1}};
    size_t limit = rocksdb_cache_get_capacity(s->cache) / 2;
    int64_t t0 = c360_now_ms(), keys = 0;
    if (atomic_load(&s->warm_stop)) return;
    c360_thread_nice(19);
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
        rocksdb_readoptions_set_iterate_upper_bound(ro, &ranges[r][1], 1);
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_MAIN]);
        for (rocksdb_iter_seek(it, &ranges[r][0], 1); rocksdb_iter_valid(it) && !atomic_load(&s->warm_stop); rocksdb_iter_next(it))
            if (++keys % 256 == 0 && rocksdb_cache_get_usage(s->cache) >= limit) break;
        rocksdb_iter_destroy(it);
        rocksdb_readoptions_destroy(ro);
    }
    LOG_INFO(atomic_load(&s->warm_stop) ? "block cache warming stopped (store closed)" : "block cache warmed",
             "\"keys\":%lld,\"cached_bytes\":%zu,\"ms\":%lld", (long long)keys, rocksdb_cache_get_usage(s->cache),
             (long long)(c360_now_ms() - t0));
}

static void *warm_main(void *arg)
{
    c360_store *s = arg;
    int64_t t0 = c360_now_ms();
    char *buf = xmalloc(WARM_BUF);
    for (int i = 0; i < s->warm_n && !atomic_load(&s->warm_stop); i++) {
        int fd = open(s->warm_paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;   /* compacted away meanwhile */
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        ssize_t r;
        while (!atomic_load(&s->warm_stop) && (r = read(fd, buf, WARM_BUF)) > 0) atomic_fetch_add(&s->warm_bytes, (int64_t)r);
        close(fd);
    }
    free(buf);
    LOG_INFO(atomic_load(&s->warm_stop) ? "page cache warming stopped (store closed)" : "page cache warmed",
             "\"bytes\":%lld,\"ms\":%lld", (long long)atomic_load(&s->warm_bytes), (long long)(c360_now_ms() - t0));
    warm_blocks(s);
    atomic_store(&s->warm_done, 1);
    return NULL;
}

static void warm_start(c360_store *s)
{
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    int64_t budget = pages > 0 && psz > 0 ? (int64_t)pages * psz / 4 : (int64_t)1 << 30, total = 0;
    const rocksdb_livefiles_t *lf = rocksdb_livefiles(s->db);
    int n = lf ? rocksdb_livefiles_count(lf) : 0;
    s->warm_paths = xcalloc((size_t)n + 1, sizeof *s->warm_paths);
    for (int i = 0; i < n; i++) {
        int64_t sz = (int64_t)rocksdb_livefiles_size(lf, i);
        if (strcmp(rocksdb_livefiles_column_family_name(lf, i), cf_names[CF_MAIN]) != 0 || total + sz > budget) continue;
        const char *name = rocksdb_livefiles_name(lf, i);   /* "/000123.sst" */
        size_t l = strlen(s->dir) + strlen(name) + 2;
        char *path = xmalloc(l);
        snprintf(path, l, "%s%s%s", s->dir, name[0] == '/' ? "" : "/", name);
        s->warm_paths[s->warm_n++] = path;
        total += sz;
    }
    if (lf) rocksdb_livefiles_destroy(lf);
    LOG_INFO("warming the page cache with the main column family", "\"files\":%d,\"bytes\":%lld", s->warm_n, (long long)total);
    if (pthread_create(&s->warm_thread, NULL, warm_main, s) == 0) s->warm_started = 1;
    else atomic_store(&s->warm_done, 1);
}

static void warm_end(c360_store *s)
{
    if (s->warm_started) {
        atomic_store(&s->warm_stop, 1);
        pthread_join(s->warm_thread, NULL);
        s->warm_started = 0;
    }
    for (int i = 0; i < s->warm_n; i++) free(s->warm_paths[i]);
    free(s->warm_paths);
    s->warm_paths = NULL;
    s->warm_n = 0;
}

int c360_store_warm_done(c360_store *s, int64_t *bytes)
{
    if (bytes) *bytes = atomic_load(&s->warm_bytes);
    return atomic_load(&s->warm_done);
}

int c360_store_open(c360_store **out, const char *dir, const c360_store_opts *o, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return -1;
    }
    c360_store *s = xcalloc(1, sizeof *s);
    pthread_rwlock_init(&s->lock, NULL);
    s->dir = xstrdup(dir);
    s->read_only = o->read_only;
    atomic_store(&s->retention_ms, o->retention_ms);
    atomic_store(&s->alert_retention_ms, o->alert_retention_ms);
    atomic_store(&s->dedup_window_ms, o->dedup_window_ms);
    if (!o->read_only && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create data dir %s: %s", dir, strerror(errno));
        free(s);
        return -1;
    }
    s->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(s->opts, !o->read_only);
    rocksdb_options_set_create_missing_column_families(s->opts, !o->read_only);
    rocksdb_options_increase_parallelism(s->opts, 2);
    if (o->low_priority_compaction) {
        rocksdb_env_t *env = rocksdb_create_default_env();
        rocksdb_env_lower_thread_pool_cpu_priority(env);
        rocksdb_env_lower_high_priority_thread_pool_cpu_priority(env);
        rocksdb_env_destroy(env);
    }
    s->no_wal = o->no_wal && !o->read_only;
    /* without the log, a crash loses the memtables: flushed together, they leave a prefix */
    if (s->no_wal) rocksdb_options_set_atomic_flush(s->opts, 1);
    rocksdb_options_set_compression(s->opts, rocksdb_lz4_compression);
    /* 64 MB memtables. Flat-out HTTP ingest against 32 MB: compaction threads' CPU -45 to -60%;
     * events/s +11% into a UCI x5 store (median of five pairs), the same into a UCI x25 store,
     * with less CPU in all. Presumably more of the profile records that every commit rewrites are
     * replaced in memory before a flush, and level 0 gets half as many files. The price: up to
     * twice the memtable memory, a little more writer CPU per insert (docs/DECISIONS.md) */
    rocksdb_options_set_write_buffer_size(s->opts, 64 << 20);
    rocksdb_options_set_max_write_buffer_number(s->opts, 4);
    rocksdb_options_set_target_file_size_base(s->opts, 64 << 20);
    rocksdb_options_set_max_bytes_for_level_base(s->opts, 256 << 20);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(s->opts, 1);
    rocksdb_options_set_max_total_wal_size(s->opts, 256 << 20);
    rocksdb_options_set_keep_log_file_num(s->opts, 3);
    rocksdb_options_set_WAL_ttl_seconds(s->opts, 0);
    rocksdb_options_set_WAL_size_limit_MB(s->opts, 0);
    rocksdb_options_set_recycle_log_file_num(s->opts, 0); /* recycled WALs would keep old bytes */
    /* FATAL only: RocksDB writes its LOG from its own recovery thread after a disk-full error,
     * and Debian's build (assertions on) aborts if that LOG had itself failed */
    rocksdb_options_set_info_log_level(s->opts, 4 /* FATAL */);
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(s->opts, 0.1);
    rocksdb_options_set_memtable_whole_key_filtering(s->opts, 1);
    s->cfilter = rocksdb_compactionfilter_create(s, cf_destroy, cf_filter, cf_name);
    rocksdb_options_set_compaction_filter(s->opts, s->cfilter);
    /* owned by the options (and shared by their copy) from here on */
    rocksdb_options_set_merge_operator(s->opts, rocksdb_mergeoperator_create(NULL, mo_destroy, mo_full, mo_partial, mo_delete, mo_name));
    /* Shards of at least 1 MB, up to 1,024 (RocksDB's default stops at 64): a lookup on an HTTP
     * loop waits for its shard's mutex when a compaction thread (nice 19) holds it, and with 64
     * shards that happened ~8 times a second during flat-out ingest, for up to 9 ms each time */
    size_t cap = (size_t)(o->block_cache_bytes > 0 ? o->block_cache_bytes : 64 << 20);
    int bits = 0;
    while (bits < 10 && (cap >> 20) >> (bits + 1)) bits++;
    rocksdb_lru_cache_options_t *lo = rocksdb_lru_cache_options_create();
    rocksdb_lru_cache_options_set_capacity(lo, cap);
    rocksdb_lru_cache_options_set_num_shard_bits(lo, bits);
    s->cache = rocksdb_cache_create_lru_opts(lo);
    rocksdb_lru_cache_options_destroy(lo);
    /* Index and filter blocks live with the open table readers, outside the block cache: a full
     * filter or index of a big SST file can be larger than one shard of the cache, and was then
     * read (and checksummed) from the file again on every point lookup. Their memory is about
     * 1.3 bytes per key (10-bit bloom filters) plus the index. */
    s->topts = rocksdb_block_based_options_create();
    s->ev_topts = rocksdb_block_based_options_create();
    rocksdb_block_based_table_options_t *t[2] = {s->topts, s->ev_topts};
    for (int i = 0; i < 2; i++) {
        rocksdb_block_based_options_set_block_cache(t[i], s->cache);
        rocksdb_block_based_options_set_filter_policy(t[i], rocksdb_filterpolicy_create_bloom_full(10));
        rocksdb_block_based_options_set_cache_index_and_filter_blocks(t[i], 0);
    }
    /* events: read as a customer's run of keys (timeline, replay), written once; big blocks and
     * zstd at the bottom pack them well. The rest: point lookups of small records; 4 KB blocks
     * keep a cached block about one record, LZ4 everywhere keeps a miss cheap. */
    s->ev_opts = rocksdb_options_create_copy(s->opts);
    rocksdb_block_based_options_set_block_size(s->ev_topts, 16 << 10);
    rocksdb_options_set_bottommost_compression(s->ev_opts, rocksdb_zstd_compression);
    rocksdb_options_set_block_based_table_factory(s->ev_opts, s->ev_topts);
    rocksdb_block_based_options_set_block_size(s->topts, 4 << 10);
    rocksdb_options_set_block_based_table_factory(s->opts, s->topts);
    /* profile records are rewritten at every commit that touches them: compacting level 0 early
     * drops the old versions (disk) and leaves a lookup fewer files to check */
    rocksdb_options_set_level0_file_num_compaction_trigger(s->opts, 2);

    char *e = db_open(s, o->read_only);
    if (e) {
        if (strstr(e, "lock") || strstr(e, "Resource temporarily unavailable"))
            snprintf(err, errlen, "data dir %s is in use by another c360 process (%s)", dir, e);
        else if (o->read_only && (strstr(e, "does not exist") || strstr(e, "No such file")))
            snprintf(err, errlen, "no c360 store in %s", dir);
        else
            snprintf(err, errlen, "cannot open store in %s: %s", dir, e);
        free(e);
        c360_store_close(s);
        return -1;
    }
    s->ropts = rocksdb_readoptions_create();
    s->wopts_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wopts_sync, 1);
    s->wopts_nosync = rocksdb_writeoptions_create();
    s->wopts_txn = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(s->wopts_txn, s->no_wal);

    strbuf v = STRBUF_INIT;
    int r = meta_get(s, "format", &v);
    if (r == 0 && !o->read_only) {
        /* new store: format, partitions and the identifier-hash secret */
        randombytes_buf(s->secret, sizeof s->secret);
        char parts[16];
        int np = (int)(o->partitions > 0 && o->partitions <= 65535 ? o->partitions : 64);
        snprintf(parts, sizeof parts, "%d", np);
        if (meta_put(s, "secret", s->secret, 32, err, errlen) || meta_put(s, "partitions", parts, strlen(parts), err, errlen) ||
            meta_put(s, "format", FORMAT_VERSION, strlen(FORMAT_VERSION), err, errlen)) {
            sb_release(&v);
            c360_store_close(s);
            return -1;
        }
        s->partitions = np;
        LOG_INFO("store created", "\"dir\":\"%s\",\"partitions\":%d", dir, np);
    } else if (r == 1) {
        int fmt1 = !strcmp(v.buf, "1");   /* read-only, db_open left it unsplit: one family holds all */
        if (!fmt1 && strcmp(v.buf, FORMAT_VERSION) != 0)
            snprintf(err, errlen, "data dir %s has store format %s; this c360 reads formats 1 and %s", dir, v.buf, FORMAT_VERSION);
        if ((!fmt1 && strcmp(v.buf, FORMAT_VERSION) != 0) || (fmt1 && !o->read_only && migrate_events(s, err, errlen))) {
            sb_release(&v);
            c360_store_close(s);
            return -1;
        }
        if (meta_get(s, "secret", &v) != 1 || v.len != 32) {
            snprintf(err, errlen, "data dir %s: store secret missing", dir);
            sb_release(&v);
            c360_store_close(s);
            return -1;
        }
        memcpy(s->secret, v.buf, 32);
        s->partitions = meta_get(s, "partitions", &v) == 1 ? atoi(v.buf) : 64;
        if (s->partitions <= 0) s->partitions = 64;
    } else {
        snprintf(err, errlen, "no c360 store in %s", dir);
        sb_release(&v);
        c360_store_close(s);
        return -1;
    }
    sb_release(&v);
    if (o->warm_cache) warm_start(s);
    else atomic_store(&s->warm_done, 1);
    *out = s;
    return 0;
}

void c360_store_close(c360_store *s)
{
    if (!s) return;
    warm_end(s);
    db_close(s);
    if (s->ropts) rocksdb_readoptions_destroy(s->ropts);
    if (s->wopts_sync) rocksdb_writeoptions_destroy(s->wopts_sync);
    if (s->wopts_nosync) rocksdb_writeoptions_destroy(s->wopts_nosync);
    if (s->wopts_txn) rocksdb_writeoptions_destroy(s->wopts_txn);
    if (s->opts) rocksdb_options_destroy(s->opts);
    if (s->ev_opts) rocksdb_options_destroy(s->ev_opts);
    if (s->topts) rocksdb_block_based_options_destroy(s->topts); /* also releases the filter policy */
    if (s->ev_topts) rocksdb_block_based_options_destroy(s->ev_topts);
    if (s->cache) rocksdb_cache_destroy(s->cache);
    if (s->cfilter) rocksdb_compactionfilter_destroy(s->cfilter);
    sodium_memzero(s->secret, sizeof s->secret);
    pthread_rwlock_destroy(&s->lock);
    free(s->dir);
    free(s);
}

size_t c360_store_cache_usage(c360_store *s) { return rocksdb_cache_get_usage(s->cache); }

int c360_store_partitions(const c360_store *s) { return s->partitions; }

int64_t c360_store_event_cutoff(c360_store *s)
{
    int64_t ret = atomic_load(&s->retention_ms);
    return ret > 0 ? c360_now_ms() - ret : INT64_MIN;
}
const unsigned char *c360_store_secret(const c360_store *s) { return s->secret; }

int64_t c360_store_alert_cutoff(c360_store *s)
{
    int64_t ret = atomic_load(&s->alert_retention_ms);
    return ret > 0 ? c360_now_ms() - ret : INT64_MIN;
}

int c360_store_failed(c360_store *s) { return atomic_load(&s->failed); }

static void mark_failed(c360_store *s, const char *e)
{
    if (!atomic_exchange(&s->failed, 1)) LOG_ERROR("store write failed; refusing writes until it recovers", "\"error\":\"%s\"", e);
}

int c360_store_recover(c360_store *s, char *err, size_t errlen)
{
    if (!atomic_load(&s->failed)) return 0;
    struct statvfs vs;
    if (statvfs(s->dir, &vs) == 0 && (uint64_t)vs.f_bavail * vs.f_frsize < (4u << 20)) {
        snprintf(err, errlen, "still no space left in %s", s->dir);
        return -1;
    }
    pthread_rwlock_wrlock(&s->lock);
    db_close(s);
    char *e = db_open(s, 0);
    int rc = 0;
    if (e) {
        snprintf(err, errlen, "reopening the store failed: %s", e);
        free(e);
        rc = -1;
    } else {
        atomic_store(&s->failed, 0);
        LOG_INFO("store recovered", "\"dir\":\"%s\"", s->dir);
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

int c360_store_get(c360_store *s, const void *k, size_t kl, strbuf *out)
{
    char *e = NULL;
    size_t vl = 0;
    pthread_rwlock_rdlock(&s->lock);
    if (!s->db) {
        pthread_rwlock_unlock(&s->lock);
        return -1;
    }
    rocksdb_pinnableslice_t *ps = rocksdb_get_pinned_cf(s->db, s->ropts, cf_of(s, k, kl), k, kl, &e);
    pthread_rwlock_unlock(&s->lock);
    if (e) {
        LOG_ERROR("store get failed", "\"error\":\"%s\"", e);
        free(e);
        return -1;
    }
    if (!ps) return 0;
    const char *v = rocksdb_pinnableslice_value(ps, &vl);
    sb_reset(out);
    sb_add(out, v, vl);
    rocksdb_pinnableslice_destroy(ps);
    return 1;
}

void c360_store_multi_get(c360_store *s, size_t n, const char *const *keys, const size_t *kls, strbuf *out, int *found)
{
    rocksdb_pinnableslice_t **ps = xcalloc(n ? n : 1, sizeof *ps);
    char **errs = xcalloc(n ? n : 1, sizeof *errs);
    const char **fk = xcalloc(n ? n : 1, sizeof *fk);
    size_t *fl = xcalloc(n ? n : 1, sizeof *fl), *at = xcalloc(n ? n : 1, sizeof *at);
    for (size_t i = 0; i < n; i++) found[i] = -1;
    pthread_rwlock_rdlock(&s->lock);
    for (int f = 0; s->db && f < 2; f++) {   /* a MultiGet reads one family */
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (cf_of(s, keys[i], kls[i]) == s->cf[f]) fk[m] = keys[i], fl[m] = kls[i], at[m++] = i;
        if (!m) continue;
        rocksdb_batched_multi_get_cf(s->db, s->ropts, s->cf[f], m, fk, fl, ps, errs, 0);
        for (size_t j = 0; j < m; j++) {
            size_t i = at[j], vl;
            if (errs[j]) {
                LOG_ERROR("store get failed", "\"error\":\"%s\"", errs[j]);
                free(errs[j]);
                errs[j] = NULL;
            } else if (ps[j]) {
                const char *v = rocksdb_pinnableslice_value(ps[j], &vl);
                sb_reset(&out[i]);
                sb_add(&out[i], v, vl);
                found[i] = 1;
            } else {
                found[i] = 0;
            }
            if (ps[j]) rocksdb_pinnableslice_destroy(ps[j]);
            ps[j] = NULL;
        }
        if (!s->split) break;
    }
    pthread_rwlock_unlock(&s->lock);
    free(ps);
    free(errs);
    free(fk);
    free(fl);
    free(at);
}

static int put_with(c360_store *s, rocksdb_writeoptions_t *wo, const void *k, size_t kl, const void *v, size_t vl,
                    char *err, size_t errlen)
{
    char *e = NULL;
    if (atomic_load(&s->failed)) {
        snprintf(err, errlen, "store is refusing writes after a write error (disk full?)");
        return -1;
    }
    pthread_rwlock_rdlock(&s->lock);
    if (s->db) rocksdb_put_cf(s->db, wo, cf_of(s, k, kl), k, kl, v, vl, &e);
    else e = strdup("store is closed");
    pthread_rwlock_unlock(&s->lock);
    if (e) mark_failed(s, e);
    if (e) {
        snprintf(err, errlen, "store: %s", e);
        free(e);
        return -1;
    }
    return 0;
}

int c360_store_put_sync(c360_store *s, const void *k, size_t kl, const void *v, size_t vl, char *err, size_t errlen)
{
    return put_with(s, s->wopts_sync, k, kl, v, vl, err, errlen);
}

int c360_store_put_nosync(c360_store *s, const void *k, size_t kl, const void *v, size_t vl, char *err, size_t errlen)
{
    return put_with(s, s->wopts_nosync, k, kl, v, vl, err, errlen);
}

/* summed over the column families */
static int64_t prop_int(c360_store *s, const char *name)
{
    int64_t sum = 0;
    pthread_rwlock_rdlock(&s->lock);
    for (int i = 0; s->db && i <= s->split; i++) {
        uint64_t v = 0;
        if (rocksdb_property_int_cf(s->db, s->cf[i], name, &v) == 0) sum += (int64_t)v;
    }
    pthread_rwlock_unlock(&s->lock);
    return sum;
}

int64_t c360_store_size_bytes(c360_store *s)
{
    return prop_int(s, "rocksdb.total-sst-files-size") + prop_int(s, "rocksdb.size-all-mem-tables");
}

int64_t c360_store_estimate_keys(c360_store *s) { return prop_int(s, "rocksdb.estimate-num-keys"); }

int64_t c360_store_memtable_bytes(c360_store *s) { return prop_int(s, "rocksdb.size-all-mem-tables"); }

int64_t c360_store_table_reader_bytes(c360_store *s) { return prop_int(s, "rocksdb.estimate-table-readers-mem"); }

int c360_store_flush_compact(c360_store *s, const void *lo, size_t lol, const void *hi, size_t hil)
{
    char *e = NULL;
    pthread_rwlock_rdlock(&s->lock);
    if (!s->db) {
        pthread_rwlock_unlock(&s->lock);
        return -1;
    }
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    for (int i = 0; i <= s->split && !e; i++) rocksdb_flush_cf(s->db, fo, s->cf[i], &e);
    rocksdb_flushoptions_destroy(fo);
    if (e) {
        LOG_ERROR("flush failed", "\"error\":\"%s\"", e);
        free(e);
        pthread_rwlock_unlock(&s->lock);
        return -1;
    }
    rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
    rocksdb_compactoptions_set_bottommost_level_compaction(co, 2 /* kForce */);
    rocksdb_compactoptions_set_exclusive_manual_compaction(co, 0);
    int cfs = range_cfs(s, lo, lol, hi, hil);
    for (int i = 0; i < 2; i++)
        if (cfs & (1 << i)) rocksdb_compact_range_cf_opt(s->db, s->cf[i], co, lo, lol, hi, hil);
    rocksdb_compactoptions_destroy(co);
    pthread_rwlock_unlock(&s->lock);
    return 0;
}

int c360_store_checkpoint(c360_store *s, const char *dir, char *err, size_t errlen)
{
    char *e = NULL;
    pthread_rwlock_rdlock(&s->lock);
    rocksdb_checkpoint_t *cp = s->db ? rocksdb_checkpoint_object_create(s->db, &e) : NULL;
    if (!s->db) e = strdup("store is closed");
    if (!e) rocksdb_checkpoint_create(cp, dir, 0, &e);
    if (cp) rocksdb_checkpoint_object_destroy(cp);
    pthread_rwlock_unlock(&s->lock);
    if (e) {
        snprintf(err, errlen, "checkpoint failed: %s", e);
        free(e);
        return -1;
    }
    return 0;
}

/* ---- transactions ---- */

c360_txn *c360_txn_new(c360_store *s)
{
    c360_txn *t = xcalloc(1, sizeof *t);
    t->s = s;
    t->wb = rocksdb_writebatch_create();
    sb_init(&t->arena);
    return t;
}

void c360_txn_free(c360_txn *t)
{
    if (!t) return;
    rocksdb_writebatch_destroy(t->wb);
    sb_release(&t->arena);
    free(t->ops);
    free(t);
}

void c360_txn_put(c360_txn *t, const void *k, size_t kl, const void *v, size_t vl) { txn_add(t, k, kl, v, vl, 0); }
void c360_txn_del(c360_txn *t, const void *k, size_t kl) { txn_add(t, k, kl, NULL, 0, 1); }
void c360_txn_del_range(c360_txn *t, const void *lo, size_t lol, const void *hi, size_t hil) { txn_add(t, lo, lol, hi, hil, 2); }
void c360_txn_add_u64(c360_txn *t, const void *k, size_t kl, int64_t delta)
{
    unsigned char v[8];
    c360_put_u64be(v, (uint64_t)delta);
    txn_add(t, k, kl, v, 8, 3);
}
void c360_txn_add_map(c360_txn *t, const void *k, size_t kl, const void *map, size_t ml) { txn_add(t, k, kl, map, ml, 3); }
int c360_txn_count(c360_txn *t) { return (int)t->nops; }
size_t c360_txn_bytes(c360_txn *t) { return t->arena.len; }

void c360_txn_clear(c360_txn *t)
{
    t->nops = 0;
    sb_reset(&t->arena);
    if (t->arena.cap > (64u << 20)) sb_release(&t->arena);
}

int c360_txn_commit(c360_txn *t, int sync, char *err, size_t errlen)
{
    char *e = NULL;
    if (atomic_load(&t->s->failed)) {
        c360_txn_clear(t);
        snprintf(err, errlen, "store is refusing writes after a write error (disk full?)");
        return -1;
    }
    pthread_rwlock_rdlock(&t->s->lock);
    if (!t->s->db) {
        pthread_rwlock_unlock(&t->s->lock);
        c360_txn_clear(t);
        snprintf(err, errlen, "store is closed");
        return -1;
    }
    if (t->nops > 0) {
        /* the writer thread is the only committer, so the static sort context is safe. Sorted,
         * a group's keys go into the memtable in order and a key written twice goes in once:
         * `c360 load` of UCI x1 without this sort ran at 25.9-26.8 k events/s instead of
         * 35.2-36.8 k (alternating runs). */
        sort_arena = t->arena.buf;
        qsort(t->ops, t->nops, sizeof *t->ops, op_cmp);
        for (size_t i = 0; i < t->nops; i++) {
            const txn_op *o = &t->ops[i];
            /* only the last operation on a key matters (range deletes and additions always apply) */
            if (o->del != 2 && o->del != 3 && i + 1 < t->nops && t->ops[i + 1].del != 3 && o->klen == t->ops[i + 1].klen &&
                !memcmp(t->arena.buf + o->koff, t->arena.buf + t->ops[i + 1].koff, o->klen))
                continue;
            const char *k = t->arena.buf + o->koff, *v = t->arena.buf + o->voff;
            rocksdb_column_family_handle_t *cf = cf_of(t->s, k, o->klen);
            if (o->del == 3) rocksdb_writebatch_merge_cf(t->wb, cf, k, o->klen, v, o->vlen);
            else if (o->del == 1) rocksdb_writebatch_delete_cf(t->wb, cf, k, o->klen);
            else if (!o->del) rocksdb_writebatch_put_cf(t->wb, cf, k, o->klen, v, o->vlen);
            else {
                int cfs = range_cfs(t->s, k, o->klen, v, o->vlen);
                for (int c = 0; c < 2; c++)
                    if (cfs & (1 << c)) rocksdb_writebatch_delete_range_cf(t->wb, t->s->cf[c], k, o->klen, v, o->vlen);
            }
        }
        rocksdb_write(t->s->db, sync && !t->s->no_wal ? t->s->wopts_sync : t->s->wopts_txn, t->wb, &e);
        rocksdb_writebatch_clear(t->wb);
        if (!e && sync && t->s->no_wal) e = flush_memtables(t->s);
    } else if (sync) {
        if (t->s->no_wal) e = flush_memtables(t->s);
        else rocksdb_flush_wal(t->s->db, 1, &e);
    }
    pthread_rwlock_unlock(&t->s->lock);
    c360_txn_clear(t);
    if (e) {
        snprintf(err, errlen, "%s", e);
        mark_failed(t->s, e);
        free(e);
        return -1;
    }
    return 0;
}

/* ---- iteration ---- */

c360_iter *c360_iter_new(c360_store *s, const void *lo, size_t lol, const void *hi, size_t hil)
{
    c360_iter *it = xcalloc(1, sizeof *it);
    it->lo = xstrndup(lo, lol);
    it->lol = lol;
    it->hi = xstrndup(hi, hil);
    it->hil = hil;
    it->ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_lower_bound(it->ro, it->lo, lol);
    rocksdb_readoptions_set_iterate_upper_bound(it->ro, it->hi, hil);
    it->s = s;
    it->cur = -1;
    it->dir = 1;
    pthread_rwlock_rdlock(&s->lock);
    int cfs = s->db ? range_cfs(s, lo, lol, hi, hil) : 0;
    for (int i = 0; i < 2; i++)
        if (cfs & (1 << i)) it->it[i] = rocksdb_create_iterator_cf(s->db, it->ro, s->cf[i]);
    return it;
}

static int child_ok(c360_iter *it, int i) { return it->it[i] && rocksdb_iter_valid(it->it[i]); }

/* the current child: the smallest key going forward, the largest going backward */
static void pick(c360_iter *it)
{
    it->cur = -1;
    for (int i = 0; i < 2; i++) {
        if (!child_ok(it, i)) continue;
        if (it->cur < 0) {
            it->cur = i;
            continue;
        }
        size_t al, bl;
        const char *a = rocksdb_iter_key(it->it[i], &al), *b = rocksdb_iter_key(it->it[it->cur], &bl);
        if (cmpkey(a, al, b, bl) * it->dir < 0) it->cur = i;
    }
}

static void child_seek_before(rocksdb_iterator_t *c, const char *k, size_t kl)
{
    rocksdb_iter_seek_for_prev(c, k, kl);
    if (rocksdb_iter_valid(c)) {
        size_t l;
        const char *cur = rocksdb_iter_key(c, &l);
        if (cmpkey(cur, l, k, kl) >= 0) rocksdb_iter_prev(c);
    }
}

int c360_iter_valid(c360_iter *it)
{
    if (it->cur < 0 || !child_ok(it, it->cur)) return 0;
    /* bounds are enforced by RocksDB too; checking here keeps seek_before honest */
    size_t kl;
    const char *k = rocksdb_iter_key(it->it[it->cur], &kl);
    return cmpkey(k, kl, it->lo, it->lol) >= 0 && cmpkey(k, kl, it->hi, it->hil) < 0;
}

void c360_iter_seek(c360_iter *it, const void *k, size_t kl)
{
    for (int i = 0; i < 2; i++)
        if (it->it[i]) rocksdb_iter_seek(it->it[i], k, kl);
    it->dir = 1;
    pick(it);
}

void c360_iter_seek_before(c360_iter *it, const void *k, size_t kl)
{
    for (int i = 0; i < 2; i++)
        if (it->it[i]) child_seek_before(it->it[i], k, kl);
    it->dir = -1;
    pick(it);
}

void c360_iter_first(c360_iter *it) { c360_iter_seek(it, it->lo, it->lol); }
void c360_iter_last(c360_iter *it) { c360_iter_seek_before(it, it->hi, it->hil); }

/* Turning around: the other child is placed on the far side of the current key (the families
 * hold disjoint keys, so it lands strictly beyond it). */
static void turn(c360_iter *it, int dir)
{
    int o = 1 - it->cur;
    if (it->dir != dir && it->it[o]) {
        size_t kl;
        const char *k = rocksdb_iter_key(it->it[it->cur], &kl);
        if (dir > 0) rocksdb_iter_seek(it->it[o], k, kl);
        else child_seek_before(it->it[o], k, kl);
    }
    it->dir = dir;
}

void c360_iter_next(c360_iter *it)
{
    if (it->cur < 0) return;
    turn(it, 1);
    rocksdb_iter_next(it->it[it->cur]);
    pick(it);
}

void c360_iter_prev(c360_iter *it)
{
    if (it->cur < 0) return;
    turn(it, -1);
    rocksdb_iter_prev(it->it[it->cur]);
    pick(it);
}

const char *c360_iter_key(c360_iter *it, size_t *n) { return rocksdb_iter_key(it->it[it->cur], n); }
const char *c360_iter_value(c360_iter *it, size_t *n) { return rocksdb_iter_value(it->it[it->cur], n); }

void c360_iter_free(c360_iter *it)
{
    if (!it) return;
    for (int i = 0; i < 2; i++)
        if (it->it[i]) rocksdb_iter_destroy(it->it[i]);
    pthread_rwlock_unlock(&it->s->lock);
    rocksdb_readoptions_destroy(it->ro);
    free(it->lo);
    free(it->hi);
    free(it);
}
