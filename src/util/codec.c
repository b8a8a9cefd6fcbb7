/* codec.c -- varints and length-prefixed bytes (see codec.h). */
#include "util/codec.h"

void c360_put_uvarint(strbuf *sb, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    while (v >= 0x80) { b[n++] = (unsigned char)(v | 0x80); v >>= 7; }
    b[n++] = (unsigned char)v;
    sb_add(sb, b, n);
}

void c360_put_svarint(strbuf *sb, int64_t v)
{
    c360_put_uvarint(sb, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void c360_put_bytes(strbuf *sb, const void *p, size_t n)
{
    c360_put_uvarint(sb, n);
    sb_add(sb, p, n);
}

uint64_t c360_get_uvarint(c360_cursor *c)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end) { c->err = 1; return 0; }
        unsigned char b = *c->p++;
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) return v;
    }
    c->err = 1;
    return 0;
}

int64_t c360_get_svarint(c360_cursor *c)
{
    uint64_t u = c360_get_uvarint(c);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

const char *c360_get_bytes(c360_cursor *c, size_t *n)
{
    uint64_t len = c360_get_uvarint(c);
    if (c->err || len > (uint64_t)(c->end - c->p)) { c->err = 1; *n = 0; return ""; }
    const char *p = (const char *)c->p;
    c->p += len;
    *n = (size_t)len;
    return p;
}

char *c360_get_str(c360_cursor *c)
{
    size_t n;
    const char *p = c360_get_bytes(c, &n);
    return xstrndup(p, n);
}
