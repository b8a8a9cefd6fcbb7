/* test_tmpdir.h - a temporary directory for a unit test's store: made from a mkdtemp template
 * (path = DIR/data, for c360_store_open) and removed with everything in it at the end.
 * Include after cmocka.h. */
#ifndef TEST_TMPDIR_H
#define TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static __attribute__((unused)) void tmp_path(char *dir, char *path, size_t n)
{
    assert_non_null(mkdtemp(dir));
    snprintf(path, n, "%s/data", dir);
}

static __attribute__((unused)) void rm_dir(const char *dir)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

#endif
