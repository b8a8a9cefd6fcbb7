/* fuzz_url.c -- percent-decoding and query parameters (src/serving/url.c) on arbitrary bytes.
 *
 * Input: the first byte is the length L (mod 33) of the parameter name, the next L bytes the
 * name (cut at a NUL: names are C strings), the rest the query string (without '?').
 * Invariants:
 *  - c360_url_decode (both '+' modes) agrees with a reference decoder: same result, same bytes;
 *    the output is never longer than the input and holds no NUL the input lacks; re-encoding every byte as
 *    %XX and decoding again gives the same bytes;
 *  - c360_query_param agrees with a reference: 1 with the decoded value of the first parameter
 *    with exactly that name, 0 if none, -1 if its value is malformed. */
#include "fuzz_common.h"

#include "serving/url.h"

static int hexv(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int ref_decode(const unsigned char *s, size_t n, int plus, strbuf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (n - i < 3 || hexv(s[i + 1]) < 0 || hexv(s[i + 2]) < 0) return -1;
            int c = hexv(s[i + 1]) * 16 + hexv(s[i + 2]);
            if (c == 0) return -1;
            sb_addc(out, (char)c);
            i += 2;
        } else {
            sb_addc(out, plus && s[i] == '+' ? ' ' : (char)s[i]);
        }
    }
    return 0;
}

static int ref_param(const unsigned char *q, size_t n, const char *name, strbuf *out)
{
    size_t nl = strlen(name), i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && q[e] != '&') e++;
        size_t k = i;
        while (k < e && q[k] != '=') k++;
        if (k - i == nl && !memcmp(q + i, name, nl)) {
            sb_reset(out);
            if (k == e) return 1;
            return ref_decode(q + k + 1, e - k - 1, 1, out) ? -1 : 1;
        }
        i = e + 1;
    }
    return 0;
}

static void check_decode(const unsigned char *s, size_t n, int plus)
{
    strbuf a = STRBUF_INIT, b = STRBUF_INIT, enc = STRBUF_INIT, back = STRBUF_INIT;
    int ra = c360_url_decode((const char *)s, n, plus, &a), rb = ref_decode(s, n, plus, &b);
    CHECK(ra == rb, "c360_url_decode returns %d, the reference %d", ra, rb);
    if (ra == 0) {
        CHECK(a.len == b.len && !memcmp(a.buf, b.buf, a.len), "c360_url_decode output differs from the reference");
        CHECK(a.len <= n, "decoded %zu bytes from %zu", a.len, n);
        /* %00 is refused; a raw NUL (which HTTP parsers do not let through) is copied as it is */
        CHECK(!memchr(a.buf, 0, a.len) || memchr(s, 0, n), "decoded output holds a NUL that was not in the input");
        for (size_t i = 0; i < a.len; i++) {
            if (a.buf[i]) sb_addf(&enc, "%%%02X", (unsigned char)a.buf[i]);
            else sb_addc(&enc, 0);   /* %00 is refused by design */
        }
        CHECK(c360_url_decode(enc.buf, enc.len, plus, &back) == 0 && back.len == a.len && !memcmp(back.buf, a.buf, a.len),
              "re-encoded value does not decode to the same bytes");
    }
    sb_release(&a);
    sb_release(&b);
    sb_release(&enc);
    sb_release(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t nl = data[0] % 33;
    if (nl > size - 1) nl = size - 1;
    char name[33];
    memcpy(name, data + 1, nl);
    name[nl] = 0;
    const uint8_t *q = data + 1 + nl;
    size_t qn = size - 1 - nl;

    check_decode(data, size, 0);
    check_decode(data, size, 1);

    strbuf a = STRBUF_INIT, b = STRBUF_INIT;
    int ra = c360_query_param((const char *)q, qn, name, &a), rb = ref_param(q, qn, name, &b);
    CHECK(ra == rb, "c360_query_param(\"%s\") returns %d, the reference %d", name, ra, rb);
    if (ra == 1) CHECK(a.len == b.len && !memcmp(a.buf, b.buf, a.len), "c360_query_param(\"%s\") value differs", name);
    sb_release(&a);
    sb_release(&b);
    return 0;
}
