/* test_malloc_tune.c - unit tests for the GLIBC_TUNABLES value c360 re-executes itself with
 * (src/util/malloc_tune.c). Covers: unset and empty -> the huge-page tunable alone; other
 * tunables kept, the huge-page one appended; any value of glibc.malloc.hugetlb already present
 * (0, 1, first or last) -> nothing added (the caller's choice stands and the re-executed process
 * does not execute again); a buffer too small -> nothing. The re-execution itself is covered
 * end to end (tests/e2e/10-health.test.mjs). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/malloc_tune.h"

static void test_adds_when_unset(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(c360_malloc_tunables(NULL, out, sizeof out), 1);
    assert_string_equal(out, "glibc.malloc.hugetlb=1");
    assert_int_equal(c360_malloc_tunables("", out, sizeof out), 1);
    assert_string_equal(out, "glibc.malloc.hugetlb=1");
}

static void test_keeps_other_tunables(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(c360_malloc_tunables("glibc.malloc.tcache_count=0", out, sizeof out), 1);
    assert_string_equal(out, "glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1");
}

static void test_callers_choice_stands(void **state)
{
    (void)state;
    char out[128] = "untouched";
    const char *set[] = {"glibc.malloc.hugetlb=0", "glibc.malloc.hugetlb=1", "glibc.malloc.hugetlb=2",
                         "glibc.malloc.hugetlb=0:glibc.malloc.tcache_count=0",
                         "glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1"};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        assert_int_equal(c360_malloc_tunables(set[i], out, sizeof out), 0);
        assert_string_equal(out, "untouched");
    }
}

static void test_too_small(void **state)
{
    (void)state;
    char out[22]; /* "glibc.malloc.hugetlb=1" is 22 bytes without its NUL */
    assert_int_equal(c360_malloc_tunables(NULL, out, sizeof out), 0);
    char big[23];
    assert_int_equal(c360_malloc_tunables(NULL, big, sizeof big), 1);
    assert_string_equal(big, "glibc.malloc.hugetlb=1");
    assert_int_equal(c360_malloc_tunables("a=1", big, sizeof big), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adds_when_unset),
        cmocka_unit_test(test_keeps_other_tunables),
        cmocka_unit_test(test_callers_choice_stands),
        cmocka_unit_test(test_too_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
