/* fuzz_time.c -- ISO-8601 parsing and printing (src/util/clock.c).
 *
 * c360_time_parse on arbitrary bytes; on success, for times in the years 0..9999 (what
 * c360_time_format can print), c360_time_format gives 24 characters "YYYY-MM-DDTHH:MM:SS.mmmZ"
 * that parse back to the same millisecond. An input of exactly 8 bytes is also taken as an
 * int64 of milliseconds (as a stored record may hold any) and formatted, which must not crash. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int64_t lo, hi;
    if (!hi) {
        lo = c360_days_from_civil(0, 1, 1) * 86400000LL;
        hi = c360_days_from_civil(10000, 1, 1) * 86400000LL - 1;
    }
    const char *s = (const char *)data;
    int64_t ms;
    char buf[32];
    if (c360_time_parse(s, size, &ms) == 0) {
        CHECK(size >= 10, "parsed %zu bytes as a time", size);
        if (ms >= lo && ms <= hi) {
            memset(buf, 0x5a, sizeof buf);
            size_t n = c360_time_format(ms, buf);
            CHECK(n == 24 && strlen(buf) == 24 && buf[10] == 'T' && buf[23] == 'Z', "format(%lld) = '%.32s'", (long long)ms, buf);
            int64_t back;
            CHECK(c360_time_parse(buf, n, &back) == 0, "format(%lld) = '%s' does not parse", (long long)ms, buf);
            CHECK(back == ms, "'%.*s' -> %lld -> '%s' -> %lld", (int)size, s, (long long)ms, buf, (long long)back);
        }
    }
    /* any int64 a stored record may hold must format without crashing (INT64_MIN and INT64_MAX
     * are the "never" sentinels of first/last seen, which callers print as null) */
    if (size == 8) {
        int64_t v;
        memcpy(&v, data, 8);
        if (v == INT64_MIN || v == INT64_MAX) return 0;
        c360_time_format(v, buf);
        CHECK(strlen(buf) == 24, "format(%lld) = '%s'", (long long)v, buf);
    }
    return 0;
}
