/* strbuf.c -- growable byte buffer (see strbuf.h for the invariants). */
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char strbuf__empty[1] = "";

static void oom(size_t n)
{
    fprintf(stderr, "c360: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) oom(n * m);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

void sb_init(strbuf *sb)
{
    sb->buf = (char *)strbuf__empty;
    sb->len = sb->cap = 0;
}

void sb_release(strbuf *sb)
{
    if (sb->cap) free(sb->buf);
    sb_init(sb);
}

void sb_reset(strbuf *sb)
{
    if (sb->cap) {
        sb->len = 0;
        sb->buf[0] = 0;
    }
}

void sb_grow(strbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap) return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need) cap *= 2;
    if (sb->cap) {
        sb->buf = xrealloc(sb->buf, cap);
    } else {
        sb->buf = xmalloc(cap);
        sb->buf[0] = 0;
    }
    sb->cap = cap;
}

void sb_add(strbuf *sb, const void *p, size_t n)
{
    sb_grow(sb, n);
    if (n) memcpy(sb->buf + sb->len, p, n);
    sb->len += n;
    sb->buf[sb->len] = 0;
}

void sb_addc(strbuf *sb, char c)
{
    sb_grow(sb, 1);
    sb->buf[sb->len++] = c;
    sb->buf[sb->len] = 0;
}

void sb_adds(strbuf *sb, const char *s) { sb_add(sb, s, strlen(s)); }

/* formats into the room the buffer has and formats again only when it did not fit (a profile
 * read renders dozens of small pieces: measuring each first was half of its printf time) */
void sb_vaddf(strbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    sb_grow(sb, 63);
    size_t room = sb->cap - sb->len;
    int n = vsnprintf(sb->buf + sb->len, room, fmt, cp);
    va_end(cp);
    if (n < 0) {
        sb->buf[sb->len] = 0;
        return;
    }
    if ((size_t)n >= room) {
        sb_grow(sb, (size_t)n);
        vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    }
    sb->len += (size_t)n;
}

void sb_addf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(sb, fmt, ap);
    va_end(ap);
}

void sb_add_u64be(strbuf *sb, uint64_t v)
{
    unsigned char b[8];
    c360_put_u64be(b, v);
    sb_add(sb, b, 8);
}

void sb_add_u16be(strbuf *sb, uint16_t v)
{
    unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    sb_add(sb, b, 2);
}

void sb_truncate(strbuf *sb, size_t len)
{
    if (len < sb->len) {
        sb->len = len;
        sb->buf[len] = 0;
    }
}

char *sb_detach(strbuf *sb, size_t *len)
{
    if (!sb->cap) sb_grow(sb, 0);
    char *p = sb->buf;
    if (len) *len = sb->len;
    sb_init(sb);
    return p;
}
