/* test_clock.c - unit tests for ISO-8601 parsing and printing (src/util/clock.c).
 * Covers: Z and numeric offsets (+02:00, -0530), fractional seconds of 1..9 digits, the space
 * separator, date-only, calendar validation (leap years, month 13, day 31 of 30-day months),
 * malformed input, and round trips through c360_time_format. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/clock.h"

/* 2026-10-01T08:15:03.000Z in ms since the epoch (computed independently). */
#define T_0815 1790842503000LL

static int64_t parse_ok(const char *s)
{
    int64_t ms = -12345;
    int rc = c360_time_parse(s, strlen(s), &ms);
    if (rc != 0) fail_msg("c360_time_parse rejected valid time '%s'", s);
    return ms;
}

static void parse_bad(const char *s)
{
    int64_t ms = -12345;
    int rc = c360_time_parse(s, strlen(s), &ms);
    if (rc != -1) fail_msg("c360_time_parse accepted invalid time '%s' (-> %lld)", s, (long long)ms);
}

static void test_utc_z(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2026-10-01T08:15:03Z"), T_0815);
    assert_int_equal(parse_ok("2026-10-01T08:15:03.120Z"), T_0815 + 120);
    assert_int_equal(parse_ok("2026-10-01t08:15:03z"), T_0815);          /* lower-case T/Z */
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -1000);
    assert_int_equal(parse_ok("2026-10-01T08:15:03"), T_0815);           /* no zone = UTC */
    assert_int_equal(parse_ok("2026-10-01T08:15Z"), T_0815 - 3000);      /* seconds optional */
}

static void test_offsets(void **state)
{
    (void)state;
    /* 08:15:03+02:00 is 06:15:03Z */
    assert_int_equal(parse_ok("2026-10-01T08:15:03+02:00"), T_0815 - 2 * 3600000LL);
    assert_int_equal(parse_ok("2026-10-01T08:15:03+0200"), T_0815 - 2 * 3600000LL);
    assert_int_equal(parse_ok("2026-10-01T08:15:03+02"), T_0815 - 2 * 3600000LL);
    /* 08:15:03-05:30 is 13:45:03Z */
    assert_int_equal(parse_ok("2026-10-01T08:15:03-0530"), T_0815 + 5 * 3600000LL + 30 * 60000LL);
    assert_int_equal(parse_ok("2026-10-01T08:15:03-05:30"), T_0815 + 5 * 3600000LL + 30 * 60000LL);
    assert_int_equal(parse_ok("2026-10-01T08:15:03.250+00:00"), T_0815 + 250);
    assert_int_equal(parse_ok("2026-10-01T08:15:03.5-01:00"), T_0815 + 3600000LL + 500);
    /* offset crossing midnight backwards */
    assert_int_equal(parse_ok("2026-10-01T01:00:00+02:00"), parse_ok("2026-09-30T23:00:00Z"));
    parse_bad("2026-10-01T08:15:03+24:00");
    parse_bad("2026-10-01T08:15:03+02:60");
    parse_bad("2026-10-01T08:15:03+2");
    parse_bad("2026-10-01T08:15:03+02:0");
    parse_bad("2026-10-01T08:15:03+02:00Z");
    parse_bad("2026-10-01T08:15:03 +02:00");
}

static void test_fraction_digits(void **state)
{
    (void)state;
    static const struct { const char *s; int64_t ms; } cases[] = {
        {"2026-10-01T08:15:03.1Z", 100},
        {"2026-10-01T08:15:03.12Z", 120},
        {"2026-10-01T08:15:03.123Z", 123},
        {"2026-10-01T08:15:03.1234Z", 123},
        {"2026-10-01T08:15:03.12345Z", 123},
        {"2026-10-01T08:15:03.123456Z", 123},
        {"2026-10-01T08:15:03.1234567Z", 123},
        {"2026-10-01T08:15:03.12345678Z", 123},
        {"2026-10-01T08:15:03.123456789Z", 123},
        {"2026-10-01T08:15:03.999999999Z", 999},   /* truncated, never rounded into the next second */
        {"2026-10-01T08:15:03.007Z", 7},
        {"2026-10-01T08:15:03.000000001Z", 0},
        {"2026-10-01T08:15:03,5Z", 500},           /* ISO-8601 allows a comma */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = parse_ok(cases[i].s);
        if (got != T_0815 + cases[i].ms)
            fail_msg("'%s': got %lld, want %lld", cases[i].s, (long long)got, (long long)(T_0815 + cases[i].ms));
    }
    parse_bad("2026-10-01T08:15:03.Z");
    parse_bad("2026-10-01T08:15:03.");
    parse_bad("2026-10-01T08:15:03.12aZ");
}

static void test_space_and_date_only(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2026-10-01 08:15:03"), T_0815);
    assert_int_equal(parse_ok("2026-10-01 08:15:03.120Z"), T_0815 + 120);
    assert_int_equal(parse_ok("2026-10-01"), 1790812800000LL);
    assert_int_equal(parse_ok("2024-02-29"), 1709164800000LL);
    assert_int_equal(parse_ok("2000-02-29T12:00:00Z"), 951825600000LL);
}

static void test_invalid_dates(void **state)
{
    (void)state;
    parse_bad("2025-02-29");              /* not a leap year */
    parse_bad("2025-02-29T00:00:00Z");
    parse_bad("1900-02-29");              /* century, not divisible by 400 */
    parse_bad("2026-13-01");              /* month 13 */
    parse_bad("2026-00-10");              /* month 0 */
    parse_bad("2026-04-31");              /* April has 30 days */
    parse_bad("2026-01-32");
    parse_bad("2026-01-00");
    parse_bad("2026-10-01T24:00:00Z");
    parse_bad("2026-10-01T23:60:00Z");
    parse_bad("2026-10-01T23:59:61Z");
    /* malformed */
    parse_bad("");
    parse_bad("2026");
    parse_bad("2026-10");
    parse_bad("2026-1-01");
    parse_bad("2026/10/01");
    parse_bad("2026-10-01T");
    parse_bad("2026-10-01T08");
    parse_bad("2026-10-01X08:15:03Z");
    parse_bad("2026-10-01T08:15:03Zjunk");
    parse_bad("2026-10-01T08:15:03 ");
    parse_bad("not a date");
    /* length is respected: a valid prefix followed by junk outside n is fine */
    int64_t ms = 0;
    assert_int_equal(c360_time_parse("2026-10-01T08:15:03Zgarbage", 20, &ms), 0);
    assert_int_equal(ms, T_0815);
}

static void test_format(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(c360_time_format(T_0815 + 120, buf), 24);
    assert_string_equal(buf, "2026-10-01T08:15:03.120Z");
    c360_time_format(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    c360_time_format(-1, buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    c360_time_format(951825600007LL, buf);
    assert_string_equal(buf, "2000-02-29T12:00:00.007Z");
}

static void test_round_trip(void **state)
{
    (void)state;
    static const char *texts[] = {
        "2026-10-01T08:15:03.120Z", "1970-01-01T00:00:00.000Z", "1969-07-20T20:17:40.001Z",
        "2024-02-29T23:59:59.999Z", "2099-12-31T00:00:00.500Z", "2000-01-01T00:00:00.000Z",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char buf[32];
        int64_t ms = parse_ok(texts[i]);
        c360_time_format(ms, buf);
        assert_string_equal(buf, texts[i]);
    }
    /* ms -> text -> ms over a spread of values, negative ones included */
    int64_t v = -86400000LL * 365 * 3 - 1;
    for (int i = 0; i < 2000; i++) {
        char buf[32];
        int64_t back = 0;
        c360_time_format(v, buf);
        assert_int_equal(c360_time_parse(buf, strlen(buf), &back), 0);
        if (back != v) fail_msg("round trip of %lld via '%s' gave %lld", (long long)v, buf, (long long)back);
        v += 987654321LL + i;
    }
    /* offsets normalise to the same instant */
    char a[32], b[32];
    c360_time_format(parse_ok("2026-10-01T10:15:03.120+02:00"), a);
    c360_time_format(parse_ok("2026-10-01T02:45:03.120-0530"), b);
    assert_string_equal(a, "2026-10-01T08:15:03.120Z");
    assert_string_equal(b, "2026-10-01T08:15:03.120Z");
}

static void test_days_from_civil(void **state)
{
    (void)state;
    assert_int_equal(c360_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(c360_days_from_civil(1970, 1, 2), 1);
    assert_int_equal(c360_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(c360_days_from_civil(2000, 3, 1) - c360_days_from_civil(2000, 2, 28), 2);
    assert_int_equal(c360_days_from_civil(1900, 3, 1) - c360_days_from_civil(1900, 2, 28), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc_z),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_fraction_digits),
        cmocka_unit_test(test_space_and_date_only),
        cmocka_unit_test(test_invalid_dates),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_days_from_civil),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
