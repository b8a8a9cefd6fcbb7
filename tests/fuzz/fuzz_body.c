/* fuzz_body.c -- request bodies with a Content-Encoding (src/serving/body.c) on arbitrary bytes.
 *
 * Input: byte 0 picks the coding (mod 3: identity, gzip, deflate), byte 1 the limit
 * (b * b * 4 bytes, so 0 .. 260,100), the rest is the body. Invariants:
 *  - c360_body_coding on the whole input returns -1 or a known coding, never more than one;
 *  - c360_body_decode of the body as it is returns -1, 0 or 1; -1 appends nothing and says why,
 *    0 appends at most `limit` bytes, 1 appends exactly limit + 1; what is there before is kept;
 *  - the body compressed by zlib in the chosen format (gzip, zlib, raw deflate) decodes to
 *    exactly the body when it fits the limit, and to 1 (limit + 1 bytes of it) when it does not. */
#include "fuzz_common.h"

#include <zlib.h>

#include "serving/body.h"

static size_t squeeze(const uint8_t *in, size_t n, int wbits, strbuf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    CHECK(deflateInit2(&z, 1, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2");
    size_t cap = deflateBound(&z, (uLong)n) + 16;
    sb_grow(out, cap);
    z.next_in = (unsigned char *)(uintptr_t)in;
    z.avail_in = (unsigned)n;
    z.next_out = (unsigned char *)out->buf;
    z.avail_out = (unsigned)cap;
    CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END, "deflate did not finish");
    out->len = cap - z.avail_out;
    deflateEnd(&z);
    return out->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int c = c360_body_coding((const char *)data, size);
    CHECK(c >= -1 && c <= C360_CODING_DEFLATE, "c360_body_coding returned %d", c);
    if (size < 2) return 0;
    int coding = data[0] % 3;
    size_t limit = (size_t)data[1] * data[1] * 4;
    const uint8_t *body = data + 2;
    size_t n = size - 2;

    strbuf out = STRBUF_INIT;
    sb_adds(&out, "pre");
    char err[200] = "";
    int rc = c360_body_decode(coding, (const char *)body, n, limit, &out, err, sizeof err);
    CHECK(rc >= -1 && rc <= 1, "decode returned %d", rc);
    CHECK(out.len >= 3 && !memcmp(out.buf, "pre", 3), "decode changed what was in the buffer");
    CHECK(out.buf[out.len] == 0, "output not NUL-terminated");
    if (rc < 0) CHECK(out.len == 3 && err[0], "a refusal appended %zu bytes or gave no reason", out.len - 3);
    if (rc == 0) CHECK(out.len - 3 <= limit, "decoded %zu bytes past the limit %zu", out.len - 3, limit);
    if (rc == 1) CHECK(out.len - 3 == limit + 1, "over the limit, %zu bytes appended (limit %zu)", out.len - 3, limit);
    if (coding == C360_CODING_IDENTITY) CHECK(rc == (n > limit), "identity: rc %d for %zu bytes, limit %zu", rc, n, limit);

    /* round trip through zlib */
    if (coding != C360_CODING_IDENTITY) {
        strbuf packed = STRBUF_INIT;
        int wbits = coding == C360_CODING_GZIP ? 31 : (data[1] & 1) ? -15 : 15;
        squeeze(body, n, wbits, &packed);
        sb_reset(&out);
        rc = c360_body_decode(coding, packed.buf, packed.len, limit, &out, err, sizeof err);
        if (n == 0) {
            CHECK(rc == 0 && out.len == 0, "the compressed empty body: rc %d, %zu bytes (%s)", rc, out.len, err);
        } else if (n <= limit) {
            CHECK(rc == 0, "round trip (wbits %d, %zu bytes, limit %zu): rc %d (%s)", wbits, n, limit, rc, err);
            CHECK(out.len == n && !memcmp(out.buf, body, n), "round trip (wbits %d): other bytes", wbits);
        } else {
            CHECK(rc == 1 && out.len == limit + 1 && !memcmp(out.buf, body, limit + 1),
                  "round trip over the limit (wbits %d, %zu bytes, limit %zu): rc %d, %zu bytes", wbits, n, limit, rc, out.len);
        }
        sb_release(&packed);
    }
    sb_release(&out);
    return 0;
}
