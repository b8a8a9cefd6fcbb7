/* test_body.c - unit tests for request-body decoding (src/serving/body.c).
 * Covers: which Content-Encoding values are taken (case, x-gzip, identity in a list) and which are
 * refused (br, two codings); gzip, zlib-wrapped and raw deflate bodies decoded byte for byte
 * (compressed here with zlib itself); concatenated gzip members; the size limit exactly at,
 * one under and one over the decoded size, also for a body that decodes to far more (a bomb);
 * truncated, corrupt and trailing data rejected with nothing appended. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "test_zlib.h"

#include "serving/body.h"

static void test_coding_names(void **state)
{
    (void)state;
    struct { const char *v; int want; } cases[] = {
        {"gzip", C360_CODING_GZIP}, {"GZip", C360_CODING_GZIP}, {"x-gzip", C360_CODING_GZIP},
        {" gzip ", C360_CODING_GZIP}, {"identity, gzip", C360_CODING_GZIP}, {"deflate", C360_CODING_DEFLATE},
        {"identity", C360_CODING_IDENTITY}, {"", C360_CODING_IDENTITY}, {" , ", C360_CODING_IDENTITY},
        {"br", -1}, {"zstd", -1}, {"gzip, gzip", -1}, {"gzip, deflate", -1}, {"gzipx", -1}, {"gzi", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = c360_body_coding(cases[i].v, strlen(cases[i].v));
        if (got != cases[i].want) fail_msg("'%s': got %d, want %d", cases[i].v, got, cases[i].want);
    }
}


static char text[300000];
static unsigned char packed[400000];

static size_t make_text(void)
{
    size_t n = 0;
    for (int i = 0; n + 100 < sizeof text; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "{\"type\":\"track\",\"userId\":\"u%d\",\"event\":\"e%d\"},", i, i * 7 % 13);
    return n;
}

static void test_decodes_each_format(void **state)
{
    (void)state;
    size_t n = make_text();
    struct { int coding, wbits; } f[] = {
        {C360_CODING_GZIP, 31}, {C360_CODING_GZIP, 15}, {C360_CODING_DEFLATE, 15}, {C360_CODING_DEFLATE, -15},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        size_t pn = test_deflate(text, n, f[i].wbits, packed, sizeof packed);
        strbuf out = STRBUF_INIT;
        sb_adds(&out, "pre");
        char err[128] = "";
        int rc = c360_body_decode(f[i].coding, (const char *)packed, pn, n, &out, err, sizeof err);
        if (rc) fail_msg("format %zu: rc %d (%s)", i, rc, err);
        assert_int_equal(out.len, 3 + n);
        assert_memory_equal(out.buf, "pre", 3);
        assert_memory_equal(out.buf + 3, text, n);
        assert_int_equal(out.buf[out.len], 0);
        sb_release(&out);
    }
    /* identity copies */
    strbuf out = STRBUF_INIT;
    char err[128];
    assert_int_equal(c360_body_decode(C360_CODING_IDENTITY, "abc", 3, 3, &out, err, sizeof err), 0);
    assert_string_equal(out.buf, "abc");
    sb_reset(&out);
    assert_int_equal(c360_body_decode(C360_CODING_IDENTITY, "abcd", 4, 3, &out, err, sizeof err), 1);
    sb_release(&out);
}

static void test_gzip_members(void **state)
{
    (void)state;
    size_t a = test_deflate("{\"userId\":", 10, 31, packed, sizeof packed);
    size_t b = test_deflate("\"u1\"}", 5, 31, packed + a, sizeof packed - a);
    strbuf out = STRBUF_INIT;
    char err[128] = "";
    assert_int_equal(c360_body_decode(C360_CODING_GZIP, (const char *)packed, a + b, 100, &out, err, sizeof err), 0);
    assert_string_equal(out.buf, "{\"userId\":\"u1\"}");
    sb_release(&out);
    /* deflate has one stream: more data after it is an error */
    a = test_deflate("x", 1, 15, packed, sizeof packed);
    b = test_deflate("y", 1, 15, packed + a, sizeof packed - a);
    assert_int_equal(c360_body_decode(C360_CODING_DEFLATE, (const char *)packed, a + b, 100, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "after the end"));
    assert_int_equal(out.len, 0);
    sb_release(&out);
}

static void test_limit(void **state)
{
    (void)state;
    size_t n = make_text();
    size_t pn = test_deflate(text, n, 31, packed, sizeof packed);
    char err[128];
    for (size_t limit = n - 2; limit <= n + 1; limit++) {
        strbuf out = STRBUF_INIT;
        int rc = c360_body_decode(C360_CODING_GZIP, (const char *)packed, pn, limit, &out, err, sizeof err);
        if (limit >= n) {
            assert_int_equal(rc, 0);
            assert_int_equal(out.len, n);
        } else {
            if (rc != 1) fail_msg("limit %zu of %zu: rc %d, %zu bytes (%s)", limit, n, rc, out.len, err);
            assert_int_equal(out.len, limit + 1);   /* never more than that was produced */
        }
        sb_release(&out);
    }
    /* 100 MB of zeros in ~100 KB: stops at the limit */
    static char zeros[1 << 20];
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_out = packed;
    z.avail_out = sizeof packed;
    for (int i = 0; i < 100; i++) {
        z.next_in = (unsigned char *)zeros;
        z.avail_in = sizeof zeros;
        assert_int_equal(deflate(&z, i == 99 ? Z_FINISH : Z_NO_FLUSH), i == 99 ? Z_STREAM_END : Z_OK);
    }
    pn = sizeof packed - z.avail_out;
    deflateEnd(&z);
    strbuf out = STRBUF_INIT;
    assert_int_equal(c360_body_decode(C360_CODING_GZIP, (const char *)packed, pn, 500000, &out, err, sizeof err), 1);
    assert_int_equal(out.len, 500001);
    assert_true(out.cap < 600000);
    sb_release(&out);
}

static void test_bad_data(void **state)
{
    (void)state;
    size_t n = make_text();
    size_t pn = test_deflate(text, n, 31, packed, sizeof packed);
    char err[128];
    strbuf out = STRBUF_INIT;
    sb_adds(&out, "keep");
    /* every truncation point of the first few hundred bytes, and a few later ones */
    for (size_t cut = 0; cut < pn; cut += (cut < 300 ? 1 : 997)) {
        err[0] = 0;
        int rc = c360_body_decode(C360_CODING_GZIP, (const char *)packed, cut, n, &out, err, sizeof err);
        if (cut == 0) { assert_int_equal(rc, 0); continue; }   /* an empty body is an empty body */
        if (rc != -1) fail_msg("cut at %zu of %zu: rc %d", cut, pn, rc);
        assert_true(err[0]);
        assert_string_equal(out.buf, "keep");
    }
    /* not gzip at all */
    assert_int_equal(c360_body_decode(C360_CODING_GZIP, "{\"a\":1}", 7, 100, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "not valid gzip"));
    assert_int_equal(c360_body_decode(C360_CODING_DEFLATE, "\xff\xff\xff\xff", 4, 100, &out, err, sizeof err), -1);
    /* a flipped byte in the middle: the CRC or the stream catches it */
    packed[pn / 2] ^= 0x5a;
    assert_int_equal(c360_body_decode(C360_CODING_GZIP, (const char *)packed, pn, n, &out, err, sizeof err), -1);
    assert_string_equal(out.buf, "keep");
    sb_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coding_names),
        cmocka_unit_test(test_decodes_each_format),
        cmocka_unit_test(test_gzip_members),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_bad_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
