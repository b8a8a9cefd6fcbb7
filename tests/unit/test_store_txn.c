/* test_store_txn.c - unit tests for a transaction's commit (src/store/store.c): its operations
 * are sorted by key before they go into the write batch (comparing an 8-byte key prefix first),
 * and of several puts and deletes of one key only the last is written.
 * Covers: 30 commits of 3,000 random operations each over keys that share long prefixes, are
 * shorter and longer than 8 bytes, contain zero and 0xff bytes and are prefixes of one another:
 * puts and deletes (the last one of a key wins, also when the same key comes back many times in
 * one commit) and counter additions with deletes in between (an addition after a delete starts
 * from zero), each commit checked against a model of every key; then the same after reopening. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_rng.h"
#include "test_tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/codec.h"

enum { NKEYS = 400, COMMITS = 30, OPS = 3000 };

typedef struct {
    unsigned char k[16];
    size_t n;
    int counter;             /* additions and deletes only */
    int present;
    unsigned char v[8];      /* put value, or the counter's big-endian sum */
    uint64_t sum;
} mkey;

static mkey model[NKEYS];
static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void) { return xorshift64(&rs); }

static void make_keys(void)
{
    static const unsigned char alpha[4] = {0x00, 0x01, 'a', 0xff};
    for (int i = 0; i < NKEYS; i++) {
        mkey *m = &model[i];
    again:
        m->counter = i % 4 == 0;
        m->k[0] = 'Z';   /* a key of no other kind: the default family, a plain value */
        m->k[1] = m->counter ? 'n' : 'q';
        m->n = 2 + rnd() % 13;   /* 2..14 bytes: both sides of the 8-byte prefix */
        for (size_t b = 2; b < m->n; b++) m->k[b] = alpha[rnd() % 4];
        for (int j = 0; j < i; j++)
            if (model[j].n == m->n && !memcmp(model[j].k, m->k, m->n)) goto again;
    }
}

static void check(c360_store *s)
{
    strbuf v = STRBUF_INIT;
    for (int i = 0; i < NKEYS; i++) {
        const mkey *m = &model[i];
        int f = c360_store_get(s, m->k, m->n, &v);
        assert_int_equal(f, m->present);
        if (!m->present) continue;
        assert_int_equal(v.len, 8);
        if (m->counter) assert_int_equal(c360_get_u64be((unsigned char *)v.buf), m->sum);
        else assert_memory_equal(v.buf, m->v, 8);
    }
    sb_release(&v);
}

static void test_commit_order_last_wins(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-txn-XXXXXX", path[300];
    tmp_path(dir, path, sizeof path);
    c360_store_opts o = {.block_cache_bytes = 1 << 20, .partitions = 4};
    c360_store *s;
    char err[256];
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    make_keys();
    c360_txn *t = c360_txn_new(s);
    for (int c = 0; c < COMMITS; c++) {
        for (int op = 0; op < OPS; op++) {
            /* a few hot keys come back again and again within one commit */
            mkey *m = &model[rnd() % 8 == 0 ? rnd() % 8 : rnd() % NKEYS];
            int del = rnd() % 5 == 0;
            if (del) {
                c360_txn_del(t, m->k, m->n);
                m->present = 0;
                m->sum = 0;
            } else if (m->counter) {
                uint64_t d = 1 + rnd() % 1000;
                c360_txn_add_u64(t, m->k, m->n, (int64_t)d);
                m->sum = (m->present ? m->sum : 0) + d;
                m->present = 1;
            } else {
                c360_put_u64be(m->v, rnd());
                c360_txn_put(t, m->k, m->n, m->v, 8);
                m->present = 1;
            }
        }
        assert_int_equal(c360_txn_commit(t, c % 10 == 0, err, sizeof err), 0);
        check(s);
    }
    c360_txn_free(t);
    c360_store_close(s);
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    check(s);
    c360_store_close(s);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_order_last_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
