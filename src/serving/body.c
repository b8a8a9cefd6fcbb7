/* body.c -- Content-Encoding of request bodies (see body.h). Segment's mobile and server
 * libraries (iOS, Android, Java, Python with gzip on) send their batches gzipped; zlib decodes
 * them, into at most limit + 1 bytes, so a compression bomb costs a bounded buffer and a
 * clear error instead of the server's memory. */
#include "serving/body.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

static int is_space(char c) { return c == ' ' || c == '\t'; }

int c360_body_coding(const char *v, size_t n)
{
    int coding = C360_CODING_IDENTITY, named = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && (is_space(v[i]) || v[i] == ',')) i++;
        size_t s = i;
        while (i < n && v[i] != ',') i++;
        size_t e = i;
        while (e > s && is_space(v[e - 1])) e--;
        if (e == s) continue;
        const char *t = v + s;
        size_t tl = e - s;
        int c;
        if (tl == 8 && !strncasecmp(t, "identity", 8)) continue;
        if ((tl == 4 && !strncasecmp(t, "gzip", 4)) || (tl == 6 && !strncasecmp(t, "x-gzip", 6))) c = C360_CODING_GZIP;
        else if (tl == 7 && !strncasecmp(t, "deflate", 7)) c = C360_CODING_DEFLATE;
        else return -1;
        if (named++) return -1;   /* two codings applied in turn: no client sends that */
        coding = c;
    }
    return coding;
}

int c360_body_decode(int coding, const char *in, size_t n, size_t limit, strbuf *out, char *err, size_t errlen)
{
    const char *what = coding == C360_CODING_GZIP ? "gzip" : "deflate";
    if (coding == C360_CODING_IDENTITY) {
        if (n > limit) { sb_add(out, in, limit + 1); return 1; }
        sb_add(out, in, n);
        return 0;
    }
    if (n > UINT_MAX) {
        snprintf(err, errlen, "the %s body is too large", what);
        return -1;
    }
    if (n == 0) return 0;
    size_t start = out->len;
    int raw = 0, rc = -1;
    z_stream z;
    memset(&z, 0, sizeof z);
    /* gzip: 15 + 32 also takes a zlib stream, which some clients label gzip */
    if (inflateInit2(&z, coding == C360_CODING_GZIP ? 15 + 32 : 15) != Z_OK) {
        snprintf(err, errlen, "cannot start decoding the %s body", what);
        return -1;
    }
    z.next_in = (unsigned char *)(uintptr_t)in;
    z.avail_in = (unsigned)n;
    for (;;) {
        size_t have = out->len - start;
        if (have > limit) { rc = 1; break; }
        size_t room = limit + 1 - have, chunk = room < 65536 ? room : 65536;
        sb_grow(out, chunk);
        z.next_out = (unsigned char *)out->buf + out->len;
        z.avail_out = (unsigned)chunk;
        int zr = inflate(&z, Z_NO_FLUSH);
        out->len += chunk - z.avail_out;
        out->buf[out->len] = 0;
        if (zr == Z_STREAM_END) {
            if (z.avail_in == 0) { rc = out->len - start > limit; break; }
            if (coding != C360_CODING_GZIP) {
                snprintf(err, errlen, "data after the end of the deflate body");
                break;
            }
            if (inflateReset(&z) != Z_OK) { snprintf(err, errlen, "cannot decode the next gzip member"); break; }
            continue;   /* the next member of a concatenated gzip body */
        }
        if (zr == Z_OK) continue;
        if (zr == Z_BUF_ERROR && z.avail_out == 0) continue;   /* output full: the limit check above decides */
        if (zr == Z_BUF_ERROR) {
            snprintf(err, errlen, "the %s body is truncated", what);
            break;
        }
        if (zr == Z_DATA_ERROR && coding == C360_CODING_DEFLATE && !raw && out->len == start) {
            /* no zlib header: raw deflate, as many clients send under this name */
            raw = 1;
            inflateEnd(&z);
            memset(&z, 0, sizeof z);
            if (inflateInit2(&z, -15) != Z_OK) {
                snprintf(err, errlen, "cannot start decoding the deflate body");
                return -1;
            }
            z.next_in = (unsigned char *)(uintptr_t)in;
            z.avail_in = (unsigned)n;
            continue;
        }
        snprintf(err, errlen, "the body is not valid %s data%s%s", what, z.msg ? ": " : "", z.msg ? z.msg : "");
        break;
    }
    inflateEnd(&z);
    if (rc < 0) sb_truncate(out, start);
    return rc;
}
