/* strbuf.h -- growable byte buffer, the low-level primitive under JSON output and key building.
 *
 * Invariants: `buf` is never NULL after sb_init (it points at a static "" until the first
 * append) and is always NUL-terminated, so it can be passed to C string functions.
 * Layering: strbuf knows nothing about JSON, keys or HTTP; do not add such functions here.
 * Allocation failure aborts the process (like Redis' zmalloc): a server that cannot allocate
 * a few bytes cannot make progress anyway. */
#ifndef C360_STRBUF_H
#define C360_STRBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

typedef struct strbuf {
    char *buf;    /* data, NUL-terminated; never NULL */
    size_t len;   /* bytes used, excluding the NUL */
    size_t cap;   /* bytes allocated; 0 while buf points at the static empty string */
} strbuf;

#define STRBUF_INIT { (char *)strbuf__empty, 0, 0 }
extern const char strbuf__empty[1];

void sb_init(strbuf *sb);
void sb_release(strbuf *sb);                 /* free the storage; sb is re-initialised */
void sb_reset(strbuf *sb);                   /* len = 0, keep the storage */
void sb_grow(strbuf *sb, size_t extra);      /* ensure room for `extra` more bytes + NUL */
void sb_add(strbuf *sb, const void *p, size_t n);
void sb_addc(strbuf *sb, char c);
void sb_adds(strbuf *sb, const char *s);
/* formatted append; the arguments must not point into sb itself */
void sb_addf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vaddf(strbuf *sb, const char *fmt, va_list ap);
void sb_add_u64be(strbuf *sb, uint64_t v);  /* 8 bytes big-endian: sorts like the number */
void sb_add_u16be(strbuf *sb, uint16_t v);
void sb_truncate(strbuf *sb, size_t len);
char *sb_detach(strbuf *sb, size_t *len);    /* you now own the storage (always malloc'd) */

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrndup(const char *s, size_t n);
char *xstrdup(const char *s);

static inline uint64_t c360_get_u64be(const unsigned char *p)
{
    return ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) |
           ((uint64_t)p[3] << 32) | ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) |
           ((uint64_t)p[6] << 8) | (uint64_t)p[7];
}
static inline void c360_put_u64be(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) { p[i] = (unsigned char)v; v >>= 8; }
}

#endif
