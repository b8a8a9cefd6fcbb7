/* arena.c -- chunked allocation freed at once (see arena.h). */
#include "util/arena.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

struct c360_arena {
    struct c360_arena *next;
    size_t used, cap;
    char buf[];                   /* at offset 24: 8-byte aligned */
};

#define CHUNK_MIN 4000

/* where the next n bytes would start in the current chunk, or -1 if they do not fit */
static long fit(const c360_arena *c, size_t n)
{
    if (!c) return -1;
    size_t at = (c->used + 7) & ~(size_t)7;
    return at <= c->cap && c->cap - at >= n ? (long)at : -1;
}

void c360_arena_reserve(c360_arena **a, size_t n)
{
    if (fit(*a, n) >= 0) return;
    size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
    c360_arena *c = xmalloc(sizeof *c + cap);
    c->next = *a;
    c->used = 0;
    c->cap = cap;
    *a = c;
}

void *c360_arena_alloc(c360_arena **a, size_t n)
{
    c360_arena_reserve(a, n);
    c360_arena *c = *a;
    size_t at = (size_t)fit(c, n);
    c->used = at + n;
    return c->buf + at;
}

void *c360_arena_calloc(c360_arena **a, size_t n)
{
    void *p = c360_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *c360_arena_strndup(c360_arena **a, const char *p, size_t n)
{
    char *r = c360_arena_alloc(a, n + 1);
    if (n) memcpy(r, p, n);
    r[n] = 0;
    return r;
}

void c360_arena_free(c360_arena *a)
{
    while (a) {
        c360_arena *n = a->next;
        free(a);
        a = n;
    }
}
