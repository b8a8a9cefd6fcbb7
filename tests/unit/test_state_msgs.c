/* test_state_msgs.c - unit tests for the writer's set of messageIds applied in the current
 * group (src/engine/state.c: c360_state_seen_msg / c360_state_add_msg, emptied by a reset).
 * Covers: 100,000 pseudo-random hashes added in one group (the table grows several times), each
 * seen and as many never added not seen; hashes equal in their first 8 bytes (the slot hash)
 * and different after; the all-zero hash (the free-slot marker) as a real message; adding a
 * hash twice; an empty set after a reset, also after a burst that made the table large and
 * shrinks it, and the set working again after each reset. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_rng.h"

#include <string.h>

#include "engine/state.h"

static uint64_t rnd = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) { return xorshift64(&rnd); }

static void hash_of(uint64_t a, uint64_t b, unsigned char h[16])
{
    memcpy(h, &a, 8);
    memcpy(h + 8, &b, 8);
}

static void test_many(void **state)
{
    (void)state;
    c360_state *st = c360_state_new(NULL, 1000);
    enum { N = 100000 };
    static uint64_t in[N][2], out[N][2];
    for (int i = 0; i < N; i++) {
        in[i][0] = next(), in[i][1] = next();
        out[i][0] = next(), out[i][1] = next();
    }
    unsigned char h[16];
    for (int i = 0; i < N; i++) {
        hash_of(in[i][0], in[i][1], h);
        assert_false(c360_state_seen_msg(st, h));
        c360_state_add_msg(st, h);
        assert_true(c360_state_seen_msg(st, h));
    }
    for (int i = 0; i < N; i++) {
        hash_of(in[i][0], in[i][1], h);
        assert_true(c360_state_seen_msg(st, h));
        hash_of(out[i][0], out[i][1], h);
        assert_false(c360_state_seen_msg(st, h));
    }
    c360_state_reset(st);   /* the large table is almost empty now: it shrinks */
    for (int i = 0; i < N; i += 997) {
        hash_of(in[i][0], in[i][1], h);
        assert_false(c360_state_seen_msg(st, h));
    }
    for (int round = 0; round < 3; round++) {   /* a small group after the burst, and again */
        for (int i = 0; i < 50; i++) {
            hash_of(in[i][0], in[i][1], h);
            c360_state_add_msg(st, h);
        }
        for (int i = 0; i < 100; i++) {
            hash_of(in[i][0], in[i][1], h);
            assert_int_equal(c360_state_seen_msg(st, h), i < 50);
        }
        c360_state_reset(st);
        hash_of(in[0][0], in[0][1], h);
        assert_false(c360_state_seen_msg(st, h));
    }
    c360_state_free(st);
}

static void test_same_slot_hash(void **state)
{
    (void)state;
    c360_state *st = c360_state_new(NULL, 1000);
    unsigned char h[16];
    for (uint64_t b = 1; b <= 600; b++) {   /* all in one slot: probing past each other */
        hash_of(42, b, h);
        c360_state_add_msg(st, h);
        c360_state_add_msg(st, h);   /* twice: still one message */
    }
    for (uint64_t b = 1; b <= 1200; b++) {
        hash_of(42, b, h);
        assert_int_equal(c360_state_seen_msg(st, h), b <= 600);
    }
    hash_of(43, 1, h);
    assert_false(c360_state_seen_msg(st, h));
    c360_state_free(st);
}

static void test_zero_hash(void **state)
{
    (void)state;
    c360_state *st = c360_state_new(NULL, 1000);
    unsigned char z[16] = {0}, h[16];
    assert_false(c360_state_seen_msg(st, z));   /* an empty set, no table yet */
    hash_of(0, 1, h);
    c360_state_add_msg(st, h);
    assert_false(c360_state_seen_msg(st, z));   /* a free slot is not the zero message */
    c360_state_add_msg(st, z);
    assert_true(c360_state_seen_msg(st, z));
    assert_true(c360_state_seen_msg(st, h));
    c360_state_reset(st);
    assert_false(c360_state_seen_msg(st, z));
    assert_false(c360_state_seen_msg(st, h));
    c360_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_same_slot_hash),
        cmocka_unit_test(test_zero_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
