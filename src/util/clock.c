/* clock.c -- ISO-8601 parsing/printing and the (fakeable) wall clock. See clock.h. */
#include "util/clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Howard Hinnant's days_from_civil algorithm (public domain description). */
int64_t c360_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, size_t at, size_t cnt, int *out)
{
    if (at + cnt > n) return -1;
    int v = 0;
    for (size_t i = 0; i < cnt; i++) {
        char c = s[at + i];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    *out = v;
    return 0;
}

int c360_time_parse(const char *s, size_t n, int64_t *ms_out)
{
    int Y, M, D, h = 0, mi = 0, sec = 0;
    size_t i = 0;
    if (digits(s, n, 0, 4, &Y) || n < 10 || s[4] != '-' || digits(s, n, 5, 2, &M) || s[7] != '-' ||
        digits(s, n, 8, 2, &D))
        return -1;
    i = 10;
    int64_t ms = 0;
    int tz_min = 0;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return -1;
        i++;
        if (digits(s, n, i, 2, &h) || i + 2 >= n || s[i + 2] != ':' || digits(s, n, i + 3, 2, &mi))
            return -1;
        i += 5;
        if (i < n && s[i] == ':') {
            if (digits(s, n, i + 1, 2, &sec)) return -1;
            i += 3;
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                i++;
                size_t start = i;
                int64_t frac = 0, scale = 1;
                while (i < n && s[i] >= '0' && s[i] <= '9') {
                    if (i - start < 3) { frac = frac * 10 + (s[i] - '0'); scale *= 10; }
                    i++;
                }
                if (i == start) return -1;
                ms = frac * (1000 / scale);
            }
        }
        if (i < n) {
            if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i] == '-' ? -1 : 1, th, tm = 0;
                if (digits(s, n, i + 1, 2, &th)) return -1;
                size_t j = i + 3;
                if (j < n && s[j] == ':') j++;
                if (j < n) {
                    if (digits(s, n, j, 2, &tm)) return -1;
                    j += 2;
                }
                if (j != n || th > 23 || tm > 59) return -1;
                tz_min = sign * (th * 60 + tm);
                i = n;
            } else {
                return -1;
            }
        }
    }
    if (i != n) return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || mi > 59 || sec > 60) return -1;
    if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0)) return -1;
    int64_t days = c360_days_from_civil(Y, (unsigned)M, (unsigned)D);
    *ms_out = ((days * 86400 + h * 3600 + mi * 60 + sec) - (int64_t)tz_min * 60) * 1000 + ms;
    return 0;
}

size_t c360_time_format(int64_t ms, char *buf)
{
    /* years 0000..9999 only (what ISO-8601 basic format can say); also keeps the arithmetic
     * below far from int64 overflow for corrupt or hostile values */
    const int64_t lo = -62167219200000LL, hi = 253402300799999LL;
    if (ms < lo) ms = lo;
    if (ms > hi) ms = hi;
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t msr = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0) y = 0;
    if (y > 9999) y = 9999;
    buf[0] = (char)('0' + y / 1000 % 10); buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);   buf[3] = (char)('0' + y % 10);
    buf[4] = '-'; buf[5] = (char)('0' + m / 10); buf[6] = (char)('0' + m % 10);
    buf[7] = '-'; buf[8] = (char)('0' + d / 10); buf[9] = (char)('0' + d % 10);
    buf[10] = 'T';
    int hh = (int)(rem / 3600), mm = (int)(rem / 60 % 60), ss = (int)(rem % 60);
    buf[11] = (char)('0' + hh / 10); buf[12] = (char)('0' + hh % 10); buf[13] = ':';
    buf[14] = (char)('0' + mm / 10); buf[15] = (char)('0' + mm % 10); buf[16] = ':';
    buf[17] = (char)('0' + ss / 10); buf[18] = (char)('0' + ss % 10); buf[19] = '.';
    buf[20] = (char)('0' + msr / 100); buf[21] = (char)('0' + msr / 10 % 10);
    buf[22] = (char)('0' + msr % 10); buf[23] = 'Z'; buf[24] = 0;
    return 24;
}

int64_t c360_now_ms(void)
{
    static int fake_checked;
    static int64_t fake = -1;
    if (!fake_checked) {
        const char *f = getenv("C360_FAKE_NOW");
        if (f && *f) {
            int64_t v;
            if (c360_time_parse(f, strlen(f), &v) == 0) fake = v;
            else fake = strtoll(f, NULL, 10);
        }
        fake_checked = 1;
    }
    if (fake >= 0) return fake;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t c360_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
