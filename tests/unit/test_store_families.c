/* test_store_families.c - unit tests for the store's two column families (src/store/store.c):
 * stored events live in "events", every other key in "default", and callers see one key space.
 * Covers: point reads route by key shape; iterators over ranges holding both kinds return every
 * key once in key order, forward, backward and turning around at random (checked against a sorted
 * list of what was written), and seek / seek_before land where the sorted list says; a range
 * delete of one customer removes both kinds and nothing of the next customer; the bytes sit in
 * the family they belong to (checked with RocksDB directly); a format-1 store (one family) is read
 * as it is when opened read-only and moved into two families, without losing or duplicating a
 * key, when opened for writing. A batched read (c360_store_multi_get) of keys of both kinds mixed
 * with absent ones finds each in its family, split or not. A clean close leaves both families'
 * memtables in table files: no write-ahead log bytes are left to replay, and every key is there.
 * A store opened with no_wal (bulk load) writes no log: a crash (a copy of the files taken while
 * it is open) loses unsynced commits in both families alike and keeps every synced one; a clean
 * close keeps all. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_tmpdir.h"

#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/keys.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/strbuf.h"

typedef struct { unsigned char b[32]; size_t n; } tkey;

static tkey keys[256];
static size_t nkeys;

static int tkey_cmp(const void *a, const void *b)
{
    const tkey *x = a, *y = b;
    int c = memcmp(x->b, y->b, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static void note(const c360_key *k)
{
    memcpy(keys[nkeys].b, k->b, k->n);
    keys[nkeys++].n = k->n;
}

/* what c360 keeps of a few customers: record, events, merge records, consent changes, a shadow
 * state, plus identities and shared keys outside 'P'; the 'P' keys are noted in keys[] */
static void build(void (*put)(void *, const c360_key *), void *arg)
{
    nkeys = 0;
    for (uint64_t pid = 1; pid <= 3; pid++) {
        c360_key k;
        c360_key_record(&k, pid);
        put(arg, &k), note(&k);
        for (int e = 0; e < 20; e++) {
            unsigned char h[8] = {(unsigned char)e, 7, 7, 7, 7, 7, 7, (unsigned char)pid};
            c360_key_event(&k, pid, 1700000000000 + (int64_t)(e * 7919 % 20) * 1000 - (e == 3 ? 1800000000000 : 0), h);
            put(arg, &k), note(&k);
        }
        for (uint64_t m = 0; m < 2; m++) {
            c360_key_merge(&k, pid, m);
            put(arg, &k), note(&k);
        }
        k.b[0] = C360_K_PROFILE;   /* a consent change: 'P' pid 'C' ts hash idx (27 bytes) */
        c360_put_u64be(k.b + 1, pid);
        k.b[9] = C360_SUB_CONSENT;
        memset(k.b + 10, 0x42, 17);
        k.n = 27;
        put(arg, &k), note(&k);
        c360_key_shadow(&k, pid);
        put(arg, &k), note(&k);
    }
    c360_key k;
    unsigned char h[16] = {9};
    c360_key_ident(&k, h);
    put(arg, &k);
    memcpy(k.b, "Fpshoe", 6);
    k.n = 6;
    put(arg, &k);
    qsort(keys, nkeys, sizeof *keys, tkey_cmp);
}

static void txn_put_key(void *arg, const c360_key *k) { c360_txn_put(arg, k->b, k->n, k->b, k->n); /* value = key */ }

static int at(c360_iter *it, size_t i)
{
    size_t kl, vl;
    const char *k = c360_iter_key(it, &kl);
    const char *v = c360_iter_value(it, &vl);
    return kl == keys[i].n && !memcmp(k, keys[i].b, kl) && vl == kl && !memcmp(v, k, kl);
}

/* every key of [P, Q) in both directions, then a random walk that turns around */
static void check_iteration(c360_store *s)
{
    unsigned char lo = 'P', hi = 'Q';
    c360_iter *it = c360_iter_new(s, &lo, 1, &hi, 1);
    size_t i = 0;
    for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it), i++) assert_true(i < nkeys && at(it, i));
    assert_int_equal(i, nkeys);
    i = nkeys;
    for (c360_iter_last(it); c360_iter_valid(it); c360_iter_prev(it)) assert_true(i > 0 && at(it, --i));
    assert_int_equal(i, 0);
    srand(42);
    for (int round = 0; round < 200; round++) {
        size_t pos = (size_t)rand() % nkeys;
        int before = rand() % 2;
        c360_iter_seek(it, keys[pos].b, keys[pos].n);
        if (before) c360_iter_seek_before(it, keys[pos].b, keys[pos].n);
        long p = before ? (long)pos - 1 : (long)pos;
        for (int step = 0; step < 30; step++) {
            if (p < 0 || p >= (long)nkeys) {
                assert_false(c360_iter_valid(it));
                break;
            }
            assert_true(c360_iter_valid(it));
            assert_true(at(it, (size_t)p));
            if (rand() % 2) c360_iter_next(it), p++;
            else c360_iter_prev(it), p--;
        }
    }
    /* seek between keys: an event key that was never written */
    c360_key k;
    unsigned char h[8] = {0};
    c360_key_event(&k, 2, 1700000000500, h);
    tkey probe;
    memcpy(probe.b, k.b, k.n);
    probe.n = k.n;
    size_t first_after = 0;
    while (first_after < nkeys && tkey_cmp(&keys[first_after], &probe) < 0) first_after++;
    c360_iter_seek(it, k.b, k.n);
    assert_true(at(it, first_after));
    c360_iter_seek_before(it, k.b, k.n);
    assert_true(at(it, first_after - 1));
    c360_iter_free(it);

    /* one customer's events only, newest first (the timeline's scan) */
    c360_key elo, ehi;
    c360_key_range(&elo, &ehi, 2, C360_SUB_EVENT);
    it = c360_iter_new(s, elo.b, elo.n, ehi.b, ehi.n);
    int n = 0;
    for (c360_iter_last(it); c360_iter_valid(it); c360_iter_prev(it), n++) {
        size_t kl;
        const char *key = c360_iter_key(it, &kl);
        assert_true(c360_key_is_event(key, kl));
    }
    assert_int_equal(n, 20);
    c360_iter_free(it);
}

static int count_range(c360_store *s, uint64_t pid)
{
    c360_key lo, hi;
    c360_key_range(&lo, &hi, pid, 0);
    c360_iter *it = c360_iter_new(s, lo.b, lo.n, hi.b, hi.n);
    int n = 0;
    for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) n++;
    c360_iter_free(it);
    return n;
}

/* with RocksDB directly: is key k in the named family? */
static int in_family(const char *path, const char *family, const void *k, size_t kl)
{
    rocksdb_options_t *o = rocksdb_options_create();
    const char *names[2] = {"default", "events"};
    const rocksdb_options_t *co[2] = {o, o};
    rocksdb_column_family_handle_t *cf[2];
    char *e = NULL;
    rocksdb_t *db = rocksdb_open_for_read_only_column_families(o, path, 2, names, co, cf, 0, &e);
    assert_null(e);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    size_t vl;
    char *v = rocksdb_get_cf(db, ro, cf[strcmp(family, "events") == 0], k, kl, &vl, &e);
    assert_null(e);
    int found = v != NULL;
    free(v);
    rocksdb_readoptions_destroy(ro);
    rocksdb_column_family_handle_destroy(cf[0]);
    rocksdb_column_family_handle_destroy(cf[1]);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    return found;
}

/* every key of keys[], each followed by an absent one (the key with a byte more), in one batch */
static void check_multi_get(c360_store *s)
{
    size_t n = 2 * nkeys;
    unsigned char absent[256][33];
    const char *kp[512];
    size_t kl[512];
    strbuf v[512];
    int found[512];
    for (size_t i = 0; i < nkeys; i++) {
        memcpy(absent[i], keys[i].b, keys[i].n);
        absent[i][keys[i].n] = 0xff;
        kp[2 * i] = (const char *)keys[i].b, kl[2 * i] = keys[i].n;
        kp[2 * i + 1] = (const char *)absent[i], kl[2 * i + 1] = keys[i].n + 1;
    }
    for (size_t i = 0; i < n; i++) v[i] = (strbuf)STRBUF_INIT, sb_adds(&v[i], "stale");
    c360_store_multi_get(s, n, kp, kl, v, found);
    for (size_t i = 0; i < nkeys; i++) {
        assert_int_equal(found[2 * i], 1);
        assert_int_equal(v[2 * i].len, keys[i].n);   /* build() stores each key as its own value */
        assert_memory_equal(v[2 * i].buf, keys[i].b, keys[i].n);
        assert_int_equal(found[2 * i + 1], 0);
    }
    for (size_t i = 0; i < n; i++) sb_release(&v[i]);
}

static void test_two_families_one_key_space(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-cf-XXXXXX", path[300], err[256];
    tmp_path(dir, path, sizeof path);
    c360_store_opts o = {.block_cache_bytes = 1 << 20, .partitions = 4};
    c360_store *s;
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    c360_txn *t = c360_txn_new(s);
    build(txn_put_key, t);
    assert_int_equal(c360_txn_commit(t, 1, err, sizeof err), 0);
    check_iteration(s);
    /* point reads of both kinds */
    strbuf v = STRBUF_INIT;
    for (size_t i = 0; i < nkeys; i++) {
        assert_int_equal(c360_store_get(s, keys[i].b, keys[i].n, &v), 1);
        assert_memory_equal(v.buf, keys[i].b, keys[i].n);
    }
    check_multi_get(s);
    /* the same after the memtables went to SST files */
    assert_int_equal(c360_store_flush_compact(s, "P", 1, "Q", 1), 0);
    check_iteration(s);
    check_multi_get(s);
    /* erasing customer 2 is one range delete: both families, nothing of 1 or 3 */
    int per = count_range(s, 1);
    assert_int_equal(per, (int)nkeys / 3);
    c360_key lo, hi;
    c360_key_range(&lo, &hi, 2, 0);
    c360_txn_del_range(t, lo.b, lo.n, hi.b, hi.n);
    assert_int_equal(c360_txn_commit(t, 1, err, sizeof err), 0);
    assert_int_equal(count_range(s, 2), 0);
    assert_int_equal(count_range(s, 1), per);
    assert_int_equal(count_range(s, 3), per);
    c360_txn_free(t);
    c360_store_close(s);

    /* where the bytes are */
    c360_key ek, rk;
    unsigned char h[8] = {0, 7, 7, 7, 7, 7, 7, 1};
    c360_key_event(&ek, 1, 1700000000000, h);
    c360_key_record(&rk, 1);
    assert_true(in_family(path, "events", ek.b, ek.n));
    assert_false(in_family(path, "default", ek.b, ek.n));
    assert_true(in_family(path, "default", rk.b, rk.n));
    assert_false(in_family(path, "events", rk.b, rk.n));
    sb_release(&v);
    rm_dir(dir);
}

static void raw_put(void *arg, const c360_key *k)
{
    char *e = NULL;
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_put(arg, wo, (const char *)k->b, k->n, (const char *)k->b, k->n, &e);
    assert_null(e);
    rocksdb_writeoptions_destroy(wo);
}

static void test_format1_store_is_migrated(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-cf1-XXXXXX", path[300], err[256];
    tmp_path(dir, path, sizeof path);
    /* a store as format 1 wrote it: one family */
    rocksdb_options_t *ro_opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(ro_opts, 1);
    char *e = NULL;
    rocksdb_t *db = rocksdb_open(ro_opts, path, &e);
    assert_null(e);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    unsigned char secret[32] = {1, 2, 3};
    rocksdb_put(db, wo, "Mformat", 7, "1", 1, &e);
    rocksdb_put(db, wo, "Msecret", 7, (const char *)secret, 32, &e);
    rocksdb_put(db, wo, "Mpartitions", 11, "4", 1, &e);
    assert_null(e);
    build(raw_put, db);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_close(db);
    rocksdb_options_destroy(ro_opts);

    /* read-only: served as it is */
    c360_store *s;
    c360_store_opts ro = {.read_only = 1, .block_cache_bytes = 1 << 20};
    assert_int_equal(c360_store_open(&s, path, &ro, err, sizeof err), 0);
    check_iteration(s);
    check_multi_get(s);
    c360_store_close(s);
    /* for writing: migrated, then the same keys, and format 2 on disk */
    c360_store_opts o = {.block_cache_bytes = 1 << 20};
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    assert_memory_equal(c360_store_secret(s), secret, 32);
    check_iteration(s);
    strbuf v = STRBUF_INIT;
    assert_int_equal(c360_store_get(s, "Mformat", 7, &v), 1);
    assert_int_equal(v.len, 1);
    assert_int_equal(v.buf[0], '2');
    c360_store_close(s);
    for (size_t i = 0; i < nkeys; i++) {
        int ev = c360_key_is_event((const char *)keys[i].b, keys[i].n);
        assert_int_equal(in_family(path, "events", keys[i].b, keys[i].n), ev);
        assert_int_equal(in_family(path, "default", keys[i].b, keys[i].n), !ev);
    }
    /* and read-only again, now split */
    assert_int_equal(c360_store_open(&s, path, &ro, err, sizeof err), 0);
    check_iteration(s);
    c360_store_close(s);
    sb_release(&v);
    rm_dir(dir);
}

/* bytes in the store's write-ahead log files (NNNNNN.log) */
static long long wal_bytes(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    long long n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || e->d_name[0] < '0' || e->d_name[0] > '9' || strcmp(e->d_name + l - 4, ".log")) continue;
        char f[600];
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        struct stat st;
        if (stat(f, &st) == 0) n += st.st_size;
    }
    closedir(d);
    return n;
}

/* the keys of customer i: its record ("default") and one event ("events") */
static void put_pair(c360_txn *t, int i)
{
    c360_key k;
    unsigned char h8[8] = {(unsigned char)i};
    c360_key_record(&k, (uint64_t)i + 1);
    c360_txn_put(t, k.b, k.n, "record", 6);
    c360_key_event(&k, (uint64_t)i + 1, 1700000000000 + i, h8);
    c360_txn_put(t, k.b, k.n, "{\"event\":1}", 11);
}

static void test_clean_close_leaves_no_log(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-fam-XXXXXX", path[300];
    tmp_path(dir, path, sizeof path);
    c360_store_opts o = {.block_cache_bytes = 1 << 20, .partitions = 4};
    c360_store *s;
    char err[256];
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    c360_txn *t = c360_txn_new(s);
    for (int i = 0; i < 200; i++) put_pair(t, i);
    assert_int_equal(c360_txn_commit(t, 0, err, sizeof err), 0);
    c360_txn_free(t);
    assert_true(wal_bytes(path) > 200 * 17);   /* in the log (and the memtables) only */
    c360_store_close(s);
    assert_int_equal(wal_bytes(path), 0);
    o.read_only = 1;
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    strbuf v = STRBUF_INIT;
    for (int i = 0; i < 200; i++) {
        c360_key k;
        unsigned char h8[8] = {(unsigned char)i};
        c360_key_record(&k, (uint64_t)i + 1);
        assert_int_equal(c360_store_get(s, k.b, k.n, &v), 1);
        assert_int_equal(v.len, 6);
        c360_key_event(&k, (uint64_t)i + 1, 1700000000000 + i, h8);
        assert_int_equal(c360_store_get(s, k.b, k.n, &v), 1);
        assert_int_equal(v.len, 11);
    }
    sb_release(&v);
    c360_store_close(s);
    rm_dir(dir);
}

/* how many of customers [0, n) a copy of the data dir taken now has, both keys each (a copy of
 * the files as they are is what a crash of the process would leave; -1 if only one of a pair) */
static int crash_copy_has(const char *dir, const char *path, int n)
{
    char copy[300], cmd[1300];
    snprintf(copy, sizeof copy, "%s/copy", dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s' && rm -f '%s/LOCK'", copy, path, copy, copy);
    assert_int_equal(system(cmd), 0);
    c360_store_opts o = {.block_cache_bytes = 1 << 20, .partitions = 4};
    c360_store *s;
    char err[256];
    assert_int_equal(c360_store_open(&s, copy, &o, err, sizeof err), 0);
    strbuf v = STRBUF_INIT;
    int have = 0;
    for (int i = 0; i < n; i++) {
        c360_key k;
        unsigned char h8[8] = {(unsigned char)i};
        c360_key_record(&k, (uint64_t)i + 1);
        int a = c360_store_get(s, k.b, k.n, &v);
        c360_key_event(&k, (uint64_t)i + 1, 1700000000000 + i, h8);
        int b = c360_store_get(s, k.b, k.n, &v);
        if (a != b) have = -1;
        if (a == 1 && b == 1 && have >= 0) have++;
    }
    sb_release(&v);
    c360_store_close(s);
    return have;
}

/* no_wal (bulk load): unsynced commits write no log, so a crash loses them (both families
 * alike); a synced commit flushes both families' memtables, and a crash after it keeps all */
static void test_no_wal_sync_flushes(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-fam-XXXXXX", path[300];
    tmp_path(dir, path, sizeof path);
    c360_store_opts o = {.block_cache_bytes = 1 << 20, .partitions = 4, .no_wal = 1};
    c360_store *s;
    char err[256];
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    c360_txn *t = c360_txn_new(s);
    for (int i = 0; i < 200; i++) put_pair(t, i);
    assert_int_equal(c360_txn_commit(t, 0, err, sizeof err), 0);
    assert_true(wal_bytes(path) < 100 * 17);   /* (200 pairs take more than 200 * 17 bytes) */
    strbuf v = STRBUF_INIT;
    c360_key k;
    c360_key_record(&k, 200);
    assert_int_equal(c360_store_get(s, k.b, k.n, &v), 1);   /* readable at once */
    assert_int_equal(crash_copy_has(dir, path, 200), 0);
    for (int i = 200; i < 300; i++) put_pair(t, i);
    assert_int_equal(c360_txn_commit(t, 1, err, sizeof err), 0);
    assert_int_equal(crash_copy_has(dir, path, 300), 300);
    assert_true(wal_bytes(path) < 100 * 17);   /* RocksDB starts a log file at each flush: a header */
    put_pair(t, 300);
    assert_int_equal(c360_txn_commit(t, 0, err, sizeof err), 0);
    assert_int_equal(c360_txn_commit(t, 1, err, sizeof err), 0);   /* nothing pending: still flushes */
    assert_int_equal(crash_copy_has(dir, path, 301), 301);
    put_pair(t, 301);
    assert_int_equal(c360_txn_commit(t, 0, err, sizeof err), 0);
    sb_release(&v);
    c360_txn_free(t);
    c360_store_close(s);   /* a clean close flushes what was not synced */
    assert_int_equal(crash_copy_has(dir, path, 302), 302);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_families_one_key_space),
        cmocka_unit_test(test_format1_store_is_migrated),
        cmocka_unit_test(test_clean_close_leaves_no_log),
        cmocka_unit_test(test_no_wal_sync_flushes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
