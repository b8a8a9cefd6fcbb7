/* test_config.c - unit tests for the settings table, YAML loading and flags (src/core/config.c).
 * Covers: defaults, duration and size parsing, c360_config_set (types, bad values, unknown
 * names), a YAML file with nested identity settings flattened into the config strings, YAML
 * errors (unknown setting named, bad value, syntax), flags (--NAME VALUE, --NAME=VALUE,
 * --set NAME=VALUE) with unknown flags and positionals left in argv, and precedence; the
 * comma-separated list walker shared by list settings (empty items skipped, spaces trimmed). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

/* ------------------------------------------------------------------ helpers */

/* Writes text to a fresh temp file; returns its malloc'd path. */
static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/c360-test-config-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

static int load_yaml_text(c360_config *c, const char *text, char *err, size_t errlen)
{
    char *path = write_tmp(text);
    int rc = c360_config_load_yaml(c, path, err, errlen);
    unlink(path);
    free(path);
    return rc;
}

static int64_t dur(const char *s)
{
    int64_t v = -777;
    if (c360_parse_duration_ms(s, &v) != 0) fail_msg("duration '%s' rejected", s);
    return v;
}

static int64_t size_of(const char *s)
{
    int64_t v = -777;
    if (c360_parse_size(s, &v) != 0) fail_msg("size '%s' rejected", s);
    return v;
}

/* ------------------------------------------------------------------ tests */

static void test_defaults(void **state)
{
    (void)state;
    c360_config c;
    c360_config_defaults(&c);
    assert_string_equal(c.listen, "127.0.0.1:8360");
    assert_string_equal(c.data_dir, "./c360-data");
    assert_string_equal(c.log_level, "info");
    assert_int_equal(c.threads, 2);
    assert_int_equal(c.partitions, 64);
    assert_int_equal(c.dedup_window_ms, 24LL * 3600 * 1000);
    assert_int_equal(c.max_event_bytes, 32 * 1024);
    assert_int_equal(c.max_batch_bytes, 500 * 1024);
    assert_int_equal(c.retention_ms, 0);
    assert_int_equal(c.queue_max_events, 200000);
    assert_int_equal(c.block_cache_bytes, 256LL * 1024 * 1024);
    assert_int_equal(c.sync, 1);
    assert_string_equal(c.phone_country_code, "1");
    assert_string_equal(c.id_priority, "user_id,email,phone,*,anonymous_id");
    assert_string_equal(c.id_limits, "user_id=1,*=5");
    assert_non_null(strstr(c.id_blocked_values, "null"));
    assert_non_null(strstr(c.id_blocked_values, "anonymous"));
    assert_int_equal(c.id_blocked_values[0], ',');   /* the empty value is blocked too */
    assert_string_equal(c.id_blocked_patterns, "");
    assert_int_equal(c.id_max_identities, 100);
    assert_int_equal(c.id_max_merges, 50);
    c360_config_release(&c);
    assert_null(c.listen);
}

static void test_durations(void **state)
{
    (void)state;
    assert_int_equal(dur("24h"), 86400000LL);
    assert_int_equal(dur("500ms"), 500);
    assert_int_equal(dur("7d"), 7LL * 86400000);
    assert_int_equal(dur("90s"), 90000);
    assert_int_equal(dur("15m"), 900000);
    assert_int_equal(dur("15min"), 900000);
    assert_int_equal(dur("1w"), 7LL * 86400000);
    assert_int_equal(dur("10"), 10000);          /* bare number = seconds */
    assert_int_equal(dur("0"), 0);
    assert_int_equal(dur("1.5h"), 5400000);
    assert_int_equal(dur(" 2h"), 7200000);
    assert_int_equal(dur("0ms"), 0);
    int64_t v = 123;
    assert_int_equal(c360_parse_duration_ms("", &v), -1);
    assert_int_equal(c360_parse_duration_ms("h", &v), -1);
    assert_int_equal(c360_parse_duration_ms("5x", &v), -1);
    assert_int_equal(c360_parse_duration_ms("-1h", &v), -1);
    assert_int_equal(c360_parse_duration_ms("1h30m", &v), -1);
    assert_int_equal(c360_parse_duration_ms("10 years", &v), -1);
    assert_int_equal(v, 123);   /* untouched on failure */
}

static void test_sizes(void **state)
{
    (void)state;
    assert_int_equal(size_of("32KB"), 32768);
    assert_int_equal(size_of("1MiB"), 1048576);
    assert_int_equal(size_of("500kb"), 512000);
    assert_int_equal(size_of("4096"), 4096);
    assert_int_equal(size_of("2MB"), 2 * 1048576);
    assert_int_equal(size_of("1GB"), 1073741824LL);
    assert_int_equal(size_of("1.5KB"), 1536);
    assert_int_equal(size_of("10 B"), 10);
    assert_int_equal(size_of("256M"), 256LL * 1048576);
    int64_t v = 9;
    assert_int_equal(c360_parse_size("", &v), -1);
    assert_int_equal(c360_parse_size("KB", &v), -1);
    assert_int_equal(c360_parse_size("12XB", &v), -1);
    assert_int_equal(c360_parse_size("-1KB", &v), -1);
    assert_int_equal(c360_parse_size("1TB", &v), -1);
    assert_int_equal(v, 9);
}

static void test_set(void **state)
{
    (void)state;
    c360_config c;
    c360_config_defaults(&c);
    char err[256] = "";
    assert_int_equal(c360_config_set(&c, "dedup_window", "1h", err, sizeof err), 0);
    assert_int_equal(c.dedup_window_ms, 3600000);
    assert_int_equal(c360_config_set(&c, "max_event_bytes", "1KB", err, sizeof err), 0);
    assert_int_equal(c.max_event_bytes, 1024);
    assert_int_equal(c360_config_set(&c, "identity.max_merges", "3", err, sizeof err), 0);
    assert_int_equal(c.id_max_merges, 3);
    assert_int_equal(c360_config_set(&c, "identity.limits", "user_id=1,email=2", err, sizeof err), 0);
    assert_string_equal(c.id_limits, "user_id=1,email=2");
    assert_int_equal(c360_config_set(&c, "sync", "off", err, sizeof err), 0);
    assert_int_equal(c.sync, 0);
    assert_int_equal(c360_config_set(&c, "sync", "YES", err, sizeof err), 0);
    assert_int_equal(c.sync, 1);
    assert_int_equal(c360_config_set(&c, "listen", "0.0.0.0:9", err, sizeof err), 0);
    assert_string_equal(c.listen, "0.0.0.0:9");

    assert_int_equal(c360_config_set(&c, "no_such_thing", "1", err, sizeof err), -1);
    assert_non_null(strstr(err, "no_such_thing"));
    assert_int_equal(c360_config_set(&c, "identity.max_merges", "-1", err, sizeof err), -1);
    assert_non_null(strstr(err, "identity.max_merges"));
    assert_int_equal(c360_config_set(&c, "identity.max_merges", "7x", err, sizeof err), -1);
    assert_int_equal(c360_config_set(&c, "identity.max_merges", "", err, sizeof err), -1);
    assert_int_equal(c.id_max_merges, 3);                /* failed sets change nothing */
    assert_int_equal(c360_config_set(&c, "dedup_window", "soon", err, sizeof err), -1);
    assert_non_null(strstr(err, "soon"));
    assert_non_null(strstr(err, "dedup_window"));
    assert_int_equal(c.dedup_window_ms, 3600000);
    assert_int_equal(c360_config_set(&c, "sync", "maybe", err, sizeof err), -1);
    assert_int_equal(c360_config_set(&c, "max_batch_bytes", "lots", err, sizeof err), -1);
    c360_config_release(&c);
}

static void test_yaml_nested_identity(void **state)
{
    (void)state;
    c360_config c;
    c360_config_defaults(&c);
    char err[256] = "";
    const char *yaml =
        "# c360 config\n"
        "listen: 0.0.0.0:8080\n"
        "dedup_window: 1h\n"
        "max_event_bytes: 64KB\n"
        "sync: false\n"
        "identity:\n"
        "  limits: {user_id: 1, email: 3}\n"
        "  priority: [user_id, email]\n"
        "  max_merges: 7\n"
        "  blocked_values:\n"
        "    - guest\n"
        "    - nobody\n";
    if (load_yaml_text(&c, yaml, err, sizeof err) != 0) fail_msg("yaml: %s", err);
    assert_string_equal(c.id_limits, "user_id=1,email=3");
    assert_string_equal(c.id_priority, "user_id,email");
    assert_string_equal(c.id_blocked_values, "guest,nobody");
    assert_int_equal(c.id_max_merges, 7);
    assert_int_equal(c.dedup_window_ms, 3600000);
    assert_int_equal(c.max_event_bytes, 65536);
    assert_int_equal(c.sync, 0);
    assert_string_equal(c.listen, "0.0.0.0:8080");
    /* untouched settings keep their defaults */
    assert_int_equal(c.id_max_identities, 100);
    assert_int_equal(c.partitions, 64);
    c360_config_release(&c);

    /* block-style mapping and a flat dotted name work the same */
    c360_config_defaults(&c);
    const char *yaml2 =
        "identity:\n"
        "  limits:\n"
        "    user_id: 2\n"
        "    '*': 4\n"
        "identity.max_identities: 9\n";
    if (load_yaml_text(&c, yaml2, err, sizeof err) != 0) fail_msg("yaml2: %s", err);
    assert_string_equal(c.id_limits, "user_id=2,*=4");
    assert_int_equal(c.id_max_identities, 9);
    c360_config_release(&c);

    /* an empty file changes nothing */
    c360_config_defaults(&c);
    assert_int_equal(load_yaml_text(&c, "", err, sizeof err), 0);
    assert_int_equal(c.id_max_merges, 50);
    c360_config_release(&c);
}

static void yaml_err(const char *yaml, const char *want1, const char *want2)
{
    c360_config c;
    c360_config_defaults(&c);
    char err[256] = "";
    int rc = load_yaml_text(&c, yaml, err, sizeof err);
    c360_config_release(&c);
    if (rc != -1) fail_msg("yaml accepted:\n%s", yaml);
    if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
        fail_msg("yaml error '%s' lacks '%s' / '%s'", err, want1, want2 ? want2 : "");
}

static void test_yaml_errors(void **state)
{
    (void)state;
    yaml_err("identity:\n  bogus: 1\n", "unknown setting", "identity.bogus");
    yaml_err("listen: x\nfrobnicate: true\n", "unknown setting", "frobnicate");
    yaml_err("identity:\n  limits: {user_id: 1}\n  max_merge: 3\n", "identity.max_merge", NULL);
    yaml_err("dedup_window: forever\n", "forever", "dedup_window");
    yaml_err("identity:\n  max_merges: many\n", "identity.max_merges", NULL);
    yaml_err("- a\n- b\n", "mapping", NULL);
    yaml_err("identity:\n  limits: {user_id: {deep: 1}}\n", "nested", NULL);
    yaml_err("listen: [a\n", "YAML", NULL);
    /* a missing file is named */
    c360_config c;
    c360_config_defaults(&c);
    char err[256] = "";
    assert_int_equal(c360_config_load_yaml(&c, "/nonexistent/c360.yaml", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/c360.yaml"));
    c360_config_release(&c);
}

static void test_flags(void **state)
{
    (void)state;
    c360_config c;
    c360_config_defaults(&c);
    char err[256] = "";
    char *argv[] = {"c360", "serve", "--dedup-window", "1h", "--identity-max-merges", "7",
                    "--set", "identity.limits=user_id=2", "--unknown-flag", "x",
                    "--threads=4", "--set=identity.priority=email,user_id", "--max-event-bytes", "1KB",
                    "positional", NULL};
    int argc = 15;
    assert_int_equal(c360_config_apply_flags(&c, &argc, argv, err, sizeof err), 0);
    assert_int_equal(c.dedup_window_ms, 3600000);
    assert_int_equal(c.id_max_merges, 7);
    assert_string_equal(c.id_limits, "user_id=2");     /* only the first '=' splits */
    assert_string_equal(c.id_priority, "email,user_id");
    assert_int_equal(c.threads, 4);
    assert_int_equal(c.max_event_bytes, 1024);
    /* unknown flags and positionals stay, in order */
    assert_int_equal(argc, 5);
    assert_string_equal(argv[0], "c360");
    assert_string_equal(argv[1], "serve");
    assert_string_equal(argv[2], "--unknown-flag");
    assert_string_equal(argv[3], "x");
    assert_string_equal(argv[4], "positional");
    assert_null(argv[5]);
    c360_config_release(&c);
}

static void flags_err(char **argv, int argc, const char *want)
{
    c360_config c;
    c360_config_defaults(&c);
    char err[256] = "";
    int rc = c360_config_apply_flags(&c, &argc, argv, err, sizeof err);
    c360_config_release(&c);
    if (rc != -1) fail_msg("flags accepted (%s)", argv[1]);
    if (!strstr(err, want)) fail_msg("flag error '%s' lacks '%s'", err, want);
}

static void test_flag_errors(void **state)
{
    (void)state;
    char *a1[] = {"c360", "--identity-max-merges", NULL};
    flags_err(a1, 2, "needs a value");
    char *a2[] = {"c360", "--dedup-window", "bogus", NULL};
    flags_err(a2, 3, "bogus");
    char *a3[] = {"c360", "--set", "nokv", NULL};
    flags_err(a3, 3, "NAME=VALUE");
    char *a4[] = {"c360", "--set", "nosuch=1", NULL};
    flags_err(a4, 3, "nosuch");
    char *a5[] = {"c360", "--set", NULL};
    flags_err(a5, 2, "NAME=VALUE");
    char *a6[] = {"c360", "--identity-max-merges=-5", NULL};
    flags_err(a6, 2, "identity.max_merges");
}

static void test_precedence(void **state)
{
    (void)state;
    /* defaults < YAML < flags */
    c360_config c;
    c360_config_defaults(&c);
    char err[256] = "";
    assert_int_equal(load_yaml_text(&c, "identity:\n  max_merges: 7\n  max_identities: 9\n", err, sizeof err), 0);
    char *argv[] = {"c360", "--identity-max-merges", "3", NULL};
    int argc = 3;
    assert_int_equal(c360_config_apply_flags(&c, &argc, argv, err, sizeof err), 0);
    assert_int_equal(c.id_max_merges, 3);
    assert_int_equal(c.id_max_identities, 9);
    assert_int_equal(argc, 1);
    c360_config_release(&c);
}

static void test_markdown_lists_every_flag(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    c360_config_print_markdown(f);
    fclose(f);
    assert_non_null(strstr(buf, "`identity.max_merges`"));
    assert_non_null(strstr(buf, "`--identity-max-merges`"));
    assert_non_null(strstr(buf, "`--dedup-window`"));
    assert_non_null(strstr(buf, "`user_id=1,*=5`"));
    free(buf);
}

static void test_list_items(void **state)
{
    (void)state;
    const char *p = " a=1,,b = 2 , ,c,";
    const char *want[] = {"a=1", "b = 2", "c"};
    char *item;
    int n = 0;
    while (c360_list_next(&p, &item)) {
        assert_true(n < 3);
        assert_string_equal(item, want[n++]);
        free(item);
    }
    assert_int_equal(n, 3);
    assert_int_equal(c360_list_next(&p, &item), 0);   /* stays at the end */
    p = NULL;
    assert_int_equal(c360_list_next(&p, &item), 0);
    p = " , ";
    assert_int_equal(c360_list_next(&p, &item), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_yaml_nested_identity),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_flag_errors),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_markdown_lists_every_flag),
        cmocka_unit_test(test_list_items),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
