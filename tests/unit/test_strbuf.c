/* test_strbuf.c - unit tests for the growable buffer (src/util/strbuf.c).
 * Covers: sb_addf on an empty buffer, pieces that end exactly at, one short of and one past the
 * buffer's room (sb_addf formats into the room first and again only when it did not fit), long
 * pieces that grow the buffer several times, and many appends checked against one snprintf of
 * the same text; the NUL terminator after every append. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/strbuf.h"

static void test_addf_empty(void **state)
{
    (void)state;
    strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%s", "");
    assert_int_equal(sb.len, 0);
    assert_string_equal(sb.buf, "");
    sb_addf(&sb, "%d-%s", 42, "x");
    assert_int_equal(sb.len, 4);
    assert_string_equal(sb.buf, "42-x");
    sb_release(&sb);
}

/* a piece of every length around the room left in the buffer */
static void test_addf_at_the_edge(void **state)
{
    (void)state;
    char piece[300], want[1024];
    for (size_t pre = 0; pre < 140; pre++) {
        for (size_t n = 0; n < 200; n += (n < 70 ? 1 : 13)) {
            strbuf sb = STRBUF_INIT;
            memset(want, 'a', pre);
            sb_add(&sb, want, pre);
            memset(piece, 'b', n);
            piece[n] = 0;
            size_t room = sb.cap - sb.len;
            sb_addf(&sb, "%s", piece);
            memcpy(want + pre, piece, n + 1);
            if (sb.len != pre + n || strcmp(sb.buf, want))
                fail_msg("prefix %zu, piece %zu (room %zu): got %zu bytes", pre, n, room, sb.len);
            assert_true(sb.cap > sb.len);
            sb_release(&sb);
        }
    }
}

static void test_addf_long_and_many(void **state)
{
    (void)state;
    strbuf sb = STRBUF_INIT;
    char big[5000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    sb_addf(&sb, "<%s|%05d>", big, 7);
    assert_int_equal(sb.len, sizeof big - 1 + 8);
    assert_memory_equal(sb.buf + sizeof big, "|00007>", 8);
    sb_reset(&sb);
    static char want[400000];
    size_t w = 0;
    for (int i = 0; i < 10000; i++) {
        sb_addf(&sb, "%d:%llu,%g;", i, (unsigned long long)i * 7919u, i / 8.0);
        w += (size_t)snprintf(want + w, sizeof want - w, "%d:%llu,%g;", i, (unsigned long long)i * 7919u, i / 8.0);
    }
    assert_int_equal(sb.len, w);
    assert_string_equal(sb.buf, want);
    sb_release(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addf_empty),
        cmocka_unit_test(test_addf_at_the_edge),
        cmocka_unit_test(test_addf_long_and_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
