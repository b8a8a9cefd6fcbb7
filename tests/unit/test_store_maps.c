/* test_store_maps.c - unit tests for counter maps in the store (src/store/store.c): additions
 * of {name: count} maps through the RocksDB merge operator.
 * Covers: maps added in several commits are summed per name and come back in name order
 * (names of different lengths, a name that is a prefix of another); the sums survive a flush and
 * a forced compaction (partial and full merges) and more additions after it, and a reopen; u64
 * counters next to them still add up; the map walker rejects a bad encoding. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/keys.h"
#include "store/store.h"
#include "util/codec.h"
#include "util/strbuf.h"

static void map_of(strbuf *m, int n, const char *const *names, const uint64_t *counts)
{
    sb_reset(m);
    c360_put_uvarint(m, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        c360_put_bytes(m, names[i], strlen(names[i]));
        c360_put_uvarint(m, counts[i]);
    }
}

static void add(c360_store *s, const char *key, int n, const char *const *names, const uint64_t *counts)
{
    c360_txn *t = c360_txn_new(s);
    strbuf m = STRBUF_INIT;
    map_of(&m, n, names, counts);
    c360_txn_add_map(t, key, strlen(key), m.buf, m.len);
    c360_txn_add_u64(t, "Fptotal", 7, n);
    char err[256];
    assert_int_equal(c360_txn_commit(t, 0, err, sizeof err), 0);
    c360_txn_free(t);
    sb_release(&m);
}

/* the map at key as "name=count,..." */
static void render(c360_store *s, const char *key, strbuf *out)
{
    strbuf v = STRBUF_INIT;
    sb_reset(out);
    assert_int_equal(c360_store_get(s, key, strlen(key), &v), 1);
    c360_map_iter it;
    c360_map_iter_init(&it, v.buf, v.len);
    const char *name;
    size_t nl;
    uint64_t n;
    int r;
    while ((r = c360_map_next(&it, &name, &nl, &n)) == 1) sb_addf(out, "%s%.*s=%llu", out->len ? "," : "", (int)nl, name, (unsigned long long)n);
    assert_int_equal(r, 0);
    sb_release(&v);
}

static uint64_t total(c360_store *s)
{
    strbuf v = STRBUF_INIT;
    assert_int_equal(c360_store_get(s, "Fptotal", 7, &v), 1);
    assert_int_equal(v.len, 8);
    uint64_t r = c360_get_u64be((const unsigned char *)v.buf);
    sb_release(&v);
    return r;
}

static void test_maps_add_up(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-maps-XXXXXX", path[300];
    tmp_path(dir, path, sizeof path);
    c360_store_opts o = {.block_cache_bytes = 1 << 20, .partitions = 4};
    c360_store *s;
    char err[256];
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    assert_true(c360_key_is_counter_map("FCx", 3));
    assert_false(c360_key_is_counter_map("Fcx", 3));

    add(s, "FCa", 2, (const char *const[]){"b", "c"}, (const uint64_t[]){1, 2});
    add(s, "FCa", 3, (const char *const[]){"bb", "c", "d"}, (const uint64_t[]){5, 1, 1});
    add(s, "FCz", 1, (const char *const[]){"a"}, (const uint64_t[]){9});
    strbuf r = STRBUF_INIT;
    render(s, "FCa", &r);
    assert_string_equal(r.buf, "b=1,bb=5,c=3,d=1");
    /* through a flush and a forced compaction, then more on top */
    assert_int_equal(c360_store_flush_compact(s, "F", 1, "G", 1), 0);
    render(s, "FCa", &r);
    assert_string_equal(r.buf, "b=1,bb=5,c=3,d=1");
    add(s, "FCa", 2, (const char *const[]){"a", "c"}, (const uint64_t[]){4, 10});
    add(s, "FCa", 1, (const char *const[]){"c"}, (const uint64_t[]){100});
    assert_int_equal(c360_store_flush_compact(s, "F", 1, "G", 1), 0);
    add(s, "FCa", 1, (const char *const[]){"e"}, (const uint64_t[]){1});
    render(s, "FCa", &r);
    assert_string_equal(r.buf, "a=4,b=1,bb=5,c=113,d=1,e=1");
    render(s, "FCz", &r);
    assert_string_equal(r.buf, "a=9");
    assert_int_equal(total(s), 2 + 3 + 1 + 2 + 1 + 1);
    c360_store_close(s);
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    render(s, "FCa", &r);
    assert_string_equal(r.buf, "a=4,b=1,bb=5,c=113,d=1,e=1");
    c360_store_close(s);
    sb_release(&r);
    rm_dir(dir);
}

static void test_bad_map_encoding(void **state)
{
    (void)state;
    /* claims two entries, holds one and a truncated second */
    const char bad[] = {2, 1, 'a', 5, 3, 'b'};
    c360_map_iter it;
    c360_map_iter_init(&it, bad, sizeof bad);
    const char *name;
    size_t nl;
    uint64_t n;
    assert_int_equal(c360_map_next(&it, &name, &nl, &n), 1);
    assert_int_equal(nl, 1);
    assert_int_equal(n, 5);
    assert_int_equal(c360_map_next(&it, &name, &nl, &n), -1);
    assert_int_equal(c360_map_next(&it, &name, &nl, &n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maps_add_up),
        cmocka_unit_test(test_bad_map_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
