/* test_zlib.h - compressing test data with zlib itself, for the tests of what c360 decompresses
 * (test_body.c, test_gzstream.c). Include after cmocka.h. */
#ifndef TEST_ZLIB_H
#define TEST_ZLIB_H

#include <stdint.h>
#include <string.h>
#include <zlib.h>

/* in[0..n) compressed into out (cap bytes); wbits: 31 gzip, 15 zlib, -15 raw deflate */
static __attribute__((unused)) size_t test_deflate(const char *in, size_t n, int wbits, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)(uintptr_t)in;
    z.avail_in = (unsigned)n;
    z.next_out = out;
    z.avail_out = (unsigned)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t got = cap - z.avail_out;
    deflateEnd(&z);
    return got;
}

#endif
