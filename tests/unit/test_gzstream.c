/* test_gzstream.c - unit tests for gzip objects read as plain streams (src/sources/gzstream.c).
 * Covers: lines read back byte for byte through getline, across two concatenated members; the
 * compressed offset reaching the object's size at the end; the first byte deciding gzip or not
 * without consuming anything, on any stdio stream (a memory stream: no descriptor, no seeking);
 * what follows a member and is not gzip ends the data; a truncated object and one with a damaged
 * CRC ending in a read error (ferror) with a reason, never in a quiet end of file. The objects are
 * temporary files or memory streams, compressed by zlib here. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "test_zlib.h"

#include "sources/gzstream.h"


static char text[400000];
static unsigned char packed[500000];

static size_t make_text(void)
{
    size_t n = 0;
    for (int i = 0; n + 100 < sizeof text; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "{\"type\":\"track\",\"userId\":\"u%d\",\"event\":\"e%d\"}\n", i, i % 17);
    return n;
}

/* reads the whole stream with getline; returns 0 at a clean end, -1 on a read error */
static int read_all(FILE *fp, char *out, size_t cap, size_t *len)
{
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    *len = 0;
    while ((n = getline(&line, &lcap, fp)) > 0) {
        assert_true(*len + (size_t)n <= cap);
        memcpy(out + *len, line, (size_t)n);
        *len += (size_t)n;
    }
    free(line);
    return ferror(fp) ? -1 : 0;
}

static FILE *open_mem(const unsigned char *p, size_t n, c360_gz **g)
{
    FILE *raw = tmpfile();
    assert_non_null(raw);
    assert_int_equal(fwrite(p, 1, n, raw), n);
    assert_int_equal(fflush(raw), 0);
    rewind(raw);
    assert_int_equal(c360_gz_sniff(raw), 1);
    FILE *fp = c360_gz_open(raw, g);
    assert_non_null(fp);
    assert_non_null(*g);
    return fp;
}

static void test_members_read_back(void **state)
{
    (void)state;
    size_t n = make_text(), cut = n / 3;
    while (text[cut - 1] != '\n') cut++;
    size_t a = test_deflate(text, cut, 31, packed, sizeof packed);
    size_t b = test_deflate(text + cut, n - cut, 31, packed + a, sizeof packed - a);
    c360_gz *g;
    FILE *fp = open_mem(packed, a + b, &g);
    static char back[sizeof text];
    size_t len;
    assert_int_equal(read_all(fp, back, sizeof back, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(back, text, n);
    assert_int_equal(c360_gz_offset(g), a + b);
    assert_string_equal(c360_gz_error(g), "");
    assert_int_equal(fclose(fp), 0);
}

static void test_sniff_consumes_nothing(void **state)
{
    (void)state;
    /* plain text: not gzip, and every byte is still there to read */
    static char plain[] = "{\"type\":\"track\"}\nsecond line\n";
    FILE *raw = fmemopen(plain, sizeof plain - 1, "rb");
    assert_non_null(raw);
    assert_int_equal(c360_gz_sniff(raw), 0);
    char back[100];
    size_t len;
    assert_int_equal(read_all(raw, back, sizeof back, &len), 0);
    assert_int_equal(len, sizeof plain - 1);
    assert_memory_equal(back, plain, len);
    fclose(raw);
    /* empty: not gzip */
    raw = fmemopen(plain, 0, "rb");
    assert_non_null(raw);
    assert_int_equal(c360_gz_sniff(raw), 0);
    fclose(raw);
    /* gzip on a stream without a descriptor, read after the sniff; bytes that follow the member
     * and are not gzip (padding) end the data cleanly */
    size_t n = make_text();
    size_t pn = test_deflate(text, n, 31, packed, sizeof packed);
    memset(packed + pn, 0, 64);
    raw = fmemopen(packed, pn + 64, "rb");
    assert_non_null(raw);
    assert_int_equal(c360_gz_sniff(raw), 1);
    c360_gz *g;
    FILE *fp = c360_gz_open(raw, &g);
    assert_non_null(fp);
    static char all[sizeof text];
    assert_int_equal(read_all(fp, all, sizeof all, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(all, text, n);
    assert_string_equal(c360_gz_error(g), "");
    assert_int_equal(fclose(fp), 0);
}

static void test_truncated_and_damaged(void **state)
{
    (void)state;
    size_t n = make_text();
    size_t pn = test_deflate(text, n, 31, packed, sizeof packed);
    static char back[sizeof text];
    size_t len;
    /* cut anywhere after the header: never a clean end */
    for (size_t cutat = 20; cutat < pn; cutat += pn / 7) {
        c360_gz *g;
        FILE *fp = open_mem(packed, cutat, &g);
        if (read_all(fp, back, sizeof back, &len) != -1) fail_msg("cut at %zu of %zu: read %zu bytes and a clean end", cutat, pn, len);
        assert_non_null(strstr(c360_gz_error(g), "truncated"));
        assert_true(len < n);
        fclose(fp);
    }
    /* a damaged CRC (the trailer's first byte) */
    packed[pn - 8] ^= 0xff;
    c360_gz *g;
    FILE *fp = open_mem(packed, pn, &g);
    assert_int_equal(read_all(fp, back, sizeof back, &len), -1);
    assert_non_null(strstr(c360_gz_error(g), "not valid gzip data"));
    fclose(fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_read_back),
        cmocka_unit_test(test_sniff_consumes_nothing),
        cmocka_unit_test(test_truncated_and_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
