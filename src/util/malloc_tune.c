/* malloc_tune.c -- c360's writer fills fresh memory all the time (write batches, RocksDB
 * memtables, the features' counter maps, the commit's sort), and with glibc's defaults every
 * first touch of a 4 KB page is a page fault: ~120,000 of them in a `c360 load` of UCI x1, 13%
 * of its CPU samples (page faults are costly in a virtual machine). Two changes remove
 * almost all of them (docs/DECISIONS.md has the measurements):
 *   - glibc.malloc.hugetlb=1: malloc marks the memory it gets from the kernel for transparent
 *     huge pages (madvise), one fault per 2 MB. glibc reads it only from the environment at
 *     startup, so the process re-executes itself once with it (no other way in glibc 2.36);
 *     GLIBC_TUNABLES=glibc.malloc.hugetlb=0 keeps the default (and no re-execution);
 *   - mallopt: freed memory stays in the heap (trim threshold 1 GB) and blocks up to 32 MB
 *     come from the heap rather than their own mmap, so the next commit reuses pages that are
 *     already mapped instead of unmapping and faulting them again. */
#include "util/malloc_tune.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HUGETLB "glibc.malloc.hugetlb"

int c360_malloc_tunables(const char *cur, char *out, size_t outlen)
{
    if (cur && strstr(cur, HUGETLB)) return 0;
    int n = cur && *cur ? snprintf(out, outlen, "%s:" HUGETLB "=1", cur) : snprintf(out, outlen, HUGETLB "=1");
    return n > 0 && (size_t)n < outlen;
}

void c360_malloc_tune(char **argv)
{
    const char *cur = getenv("GLIBC_TUNABLES");
    char *was = cur ? strdup(cur) : NULL, val[1024];
    if (c360_malloc_tunables(cur, val, sizeof val) && setenv("GLIBC_TUNABLES", val, 1) == 0) {
        /* by its own path, so that its name (ps, top) stays c360 rather than "exe" */
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0 && (size_t)n < sizeof self - 1) {
            self[n] = 0;
            execv(self, argv);
        }
        execv("/proc/self/exe", argv);   /* the file was replaced or renamed meanwhile */
        /* no /proc, or not executable: run with glibc's defaults and the caller's environment */
        if (was) setenv("GLIBC_TUNABLES", was, 1);
        else unsetenv("GLIBC_TUNABLES");
    }
    free(was);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}
