/* url.c -- percent-decoding and query parameters (see url.h). */
#include "serving/url.h"

#include <string.h>

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int c360_url_decode(const char *s, size_t n, int plus_is_space, strbuf *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            int a = hexv(s[i + 1]), b = hexv(s[i + 2]);
            if (a < 0 || b < 0) return -1;
            c = (char)(a << 4 | b);
            if (!c) return -1;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        sb_addc(out, c);
    }
    return 0;
}

int c360_query_param(const char *q, size_t n, const char *name, strbuf *out)
{
    size_t nl = strlen(name), i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && q[end] != '&') end++;
        const char *eq = memchr(q + i, '=', end - i);
        size_t kl = eq ? (size_t)(eq - (q + i)) : end - i;
        if (kl == nl && !memcmp(q + i, name, nl)) {
            sb_reset(out);
            if (!eq) return 1;
            return c360_url_decode(eq + 1, (size_t)(q + end - eq - 1), 1, out) ? -1 : 1;
        }
        i = end + 1;
    }
    return 0;
}
