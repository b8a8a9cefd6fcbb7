/* test_store_warm.c - unit tests for the cache warming of a server's store
 * (src/store/store.c, c360_store_opts.warm_cache): opening reads the main family's table files
 * (identities, profile records, feature state) into the page cache in the background, and not
 * the events' files; then the identities and profiles into the block cache, not the events.
 * Covers: a store with 3 MB of profile records and 3 MB of events, flushed, closed and pushed out
 * of the page cache (POSIX_FADV_DONTNEED; skipped where the filesystem keeps the pages anyway);
 * reopened with warm_cache, the records' files are resident once warming is over and the events'
 * are not; without warm_cache nothing is read; closing while warming stops it (no leak, no hang);
 * the block cache holds the records (and not the events) once warming is over, and stops
 * filling at half its capacity. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_tmpdir.h"

#include <dirent.h>
#include <sodium.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/keys.h"
#include "store/store.h"

enum { RECORDS = 3000, VALUE = 1000 };

/* bytes of the store's table files in the page cache (mincore); *total gets their size. With
 * evict, each file is first synced and dropped from the cache. */
static int64_t resident(const char *path, int64_t *total, int evict)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    int64_t res = 0;
    *total = 0;
    long psz = sysconf(_SC_PAGESIZE);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 4, ".sst")) continue;
        char f[600];
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        int fd = open(f, O_RDONLY);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        *total += st.st_size;
        if (evict) {
            assert_int_equal(fdatasync(fd), 0);
            assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
        }
        if (st.st_size > 0) {
            void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
            assert_true(m != MAP_FAILED);
            size_t pages = ((size_t)st.st_size + (size_t)psz - 1) / (size_t)psz;
            unsigned char *vec = malloc(pages);
            assert_int_equal(mincore(m, (size_t)st.st_size, vec), 0);
            for (size_t i = 0; i < pages; i++)
                if (vec[i] & 1) res += psz;
            free(vec);
            munmap(m, (size_t)st.st_size);
        }
        close(fd);
    }
    closedir(d);
    return res;
}

static void fill(const char *path)
{
    c360_store_opts o = {.block_cache_bytes = 1 << 20, .partitions = 4};
    c360_store *s;
    char err[256];
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    c360_txn *t = c360_txn_new(s);
    unsigned char v[VALUE];
    for (int i = 0; i < RECORDS; i++) {
        randombytes_buf(v, sizeof v);   /* nothing for LZ4 to shrink */
        c360_key k;
        c360_key_record(&k, (uint64_t)i * 7919 + 1);
        c360_txn_put(t, k.b, k.n, v, VALUE);
        unsigned char h8[8];
        randombytes_buf(h8, sizeof h8);
        c360_key_event(&k, (uint64_t)i * 7919 + 1, 1700000000000 + i, h8);
        c360_txn_put(t, k.b, k.n, v, VALUE);
    }
    assert_int_equal(c360_txn_commit(t, 1, err, sizeof err), 0);
    c360_txn_free(t);
    const char lo[1] = {0}, hi[4] = {'\xff', '\xff', '\xff', '\xff'};
    assert_int_equal(c360_store_flush_compact(s, lo, 1, hi, 4), 0);
    c360_store_close(s);
}

static int wait_warm(c360_store *s, int64_t *bytes)
{
    for (int i = 0; i < 1000; i++) {
        if (c360_store_warm_done(s, bytes)) return 1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void test_warm_reads_main_family_only(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-warm-XXXXXX", path[300];
    tmp_path(dir, path, sizeof path);
    fill(path);
    int64_t total, res = resident(path, &total, 1);
    assert_true(total > 2 * RECORDS * VALUE);
    if (res > total / 10) {
        rm_dir(dir);
        skip();   /* this filesystem keeps the pages (tmpfs): residency cannot be observed */
    }

    /* without warm_cache: done at once, nothing read ahead */
    c360_store_opts o = {.block_cache_bytes = 1 << 20};
    c360_store *s;
    char err[256];
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    int64_t bytes = -1;
    assert_int_equal(c360_store_warm_done(s, &bytes), 1);
    assert_int_equal(bytes, 0);
    c360_store_close(s);
    /* what that open read stays cached: RocksDB reads each table file's last 512 KB (footer,
     * index, filter; 1 MB here), far from the records' 3 MB */
    res = resident(path, &total, 0);
    assert_true(res < RECORDS * VALUE / 2);
    resident(path, &total, 1);

    /* with it: the records' files (at least their 3 MB) in the page cache, the events' not */
    o.warm_cache = 1;
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    assert_true(wait_warm(s, &bytes));
    res = resident(path, &total, 0);
    assert_true(bytes >= RECORDS * VALUE);
    assert_true(bytes < total - RECORDS * VALUE / 2);
    assert_true(res >= bytes * 9 / 10);
    assert_true(res < bytes + RECORDS * VALUE / 3);   /* of the events' file, at most its last 512 KB */
    c360_store_close(s);
    rm_dir(dir);
}

static c360_store *open_warm(const char *path, int64_t cache, int warm)
{
    c360_store_opts o = {.block_cache_bytes = cache, .warm_cache = warm};
    c360_store *s;
    char err[256];
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    int64_t bytes;
    assert_true(wait_warm(s, &bytes));
    return s;
}

/* 3 MB of records and 3 MB of events; a 16 MB cache takes the records (not the events), a 2 MB
 * one stops at half of it (it looks every 256 keys), none without the option */
static void test_warm_fills_block_cache(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-warm-XXXXXX", path[300];
    tmp_path(dir, path, sizeof path);
    fill(path);
    c360_store *s = open_warm(path, 16 << 20, 0);
    assert_true(c360_store_cache_usage(s) < RECORDS * VALUE / 10);
    c360_store_close(s);
    s = open_warm(path, 16 << 20, 1);
    size_t used = c360_store_cache_usage(s);
    assert_true(used >= RECORDS * VALUE);
    assert_true(used < RECORDS * VALUE * 3 / 2);
    /* and what it holds is the records: reading every one of them caches (almost) nothing more */
    strbuf v = STRBUF_INIT;
    for (int i = 0; i < RECORDS; i++) {
        c360_key k;
        c360_key_record(&k, (uint64_t)i * 7919 + 1);
        assert_int_equal(c360_store_get(s, k.b, k.n, &v), 1);
    }
    sb_release(&v);
    assert_true(c360_store_cache_usage(s) < used + RECORDS * VALUE / 10);
    c360_store_close(s);
    s = open_warm(path, 2 << 20, 1);
    used = c360_store_cache_usage(s);
    assert_true(used >= 1 << 20);
    assert_true(used < (1 << 20) + 256 * (VALUE + 100));
    c360_store_close(s);
    rm_dir(dir);
}

static void test_close_while_warming(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-warm-XXXXXX", path[300];
    tmp_path(dir, path, sizeof path);
    fill(path);
    c360_store_opts o = {.block_cache_bytes = 1 << 20, .warm_cache = 1};
    char err[256];
    for (int i = 0; i < 20; i++) {
        c360_store *s;
        assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
        c360_store_close(s);   /* joins the warming thread, frees its file list */
    }
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warm_reads_main_family_only),
        cmocka_unit_test(test_warm_fills_block_cache),
        cmocka_unit_test(test_close_while_warming),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
