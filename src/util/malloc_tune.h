/* malloc_tune.h -- how c360 asks glibc's malloc for memory (see malloc_tune.c). */
#ifndef C360_MALLOC_TUNE_H
#define C360_MALLOC_TUNE_H

#include <stddef.h>

/* The GLIBC_TUNABLES value c360 runs with, given the one it was started with (NULL: unset):
 * `cur` with glibc.malloc.hugetlb=1 added. Returns 1 and writes it to out, or 0 when nothing is
 * to be added (cur already names glibc.malloc.hugetlb, whatever its value: the caller's choice
 * stands, and a process started with the result is not tuned again) or out is too small. */
int c360_malloc_tunables(const char *cur, char *out, size_t outlen);

/* At the start of main: re-executes the program once (its own file, same pid, arguments and
 * descriptors) with the tunables above when they add anything, then keeps freed memory in the
 * heap (mallopt). Returns only when no re-execution happened or it failed. */
void c360_malloc_tune(char **argv);

#endif
