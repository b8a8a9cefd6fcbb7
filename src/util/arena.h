/* arena.h -- memory for data that is decoded, read and then dropped as a whole: a list of chunks,
 * allocated from in order and freed at once. A profile read decodes dozens of strings and arrays
 * and frees them right after rendering; one or two chunks replace a malloc and a free for each.
 * An arena is a pointer, NULL when empty. */
#ifndef C360_ARENA_H
#define C360_ARENA_H

#include <stddef.h>

typedef struct c360_arena c360_arena;

/* n bytes, 8-byte aligned, uninitialised */
void *c360_arena_alloc(c360_arena **a, size_t n);
/* n bytes zeroed */
void *c360_arena_calloc(c360_arena **a, size_t n);
/* a copy of p[0..n) with a terminating NUL */
char *c360_arena_strndup(c360_arena **a, const char *p, size_t n);
/* makes the next n bytes of allocations come from one chunk (a caller that knows its total) */
void c360_arena_reserve(c360_arena **a, size_t n);
void c360_arena_free(c360_arena *a);

#endif
