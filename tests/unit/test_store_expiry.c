/* test_store_expiry.c - unit tests for what the store's compaction filter removes by age
 * (src/store/store.c): deduplication marks past dedup_window, stored events past retention (by
 * event time) and fraud alert records past alert_retention (by the time they were raised), and
 * nothing else; the cut-off times reads use; and the recent-alerts list (features/notices.c),
 * which stops showing an alert once it is past alert_retention, before compaction removes it. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/features.h"
#include "store/keys.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/strbuf.h"

#define HOUR 3600000LL
#define DAY (24 * HOUR)

static void put(c360_store *s, const void *k, size_t kl, const void *v, size_t vl)
{
    char err[256];
    assert_int_equal(c360_store_put_nosync(s, k, kl, v, vl, err, sizeof err), 0);
}

static int present(c360_store *s, const void *k, size_t kl)
{
    strbuf v = STRBUF_INIT;
    int r = c360_store_get(s, k, kl, &v);
    sb_release(&v);
    return r;
}

static int count_alerts(void *arg, uint64_t pid, int64_t raised_ms, double score, unsigned reasons)
{
    (void)pid, (void)raised_ms, (void)score, (void)reasons;
    (*(int *)arg)++;
    return 0;
}

static void test_old_records_expire(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-expiry-XXXXXX", path[300], err[256];
    tmp_path(dir, path, sizeof path);
    c360_store_opts o = {.block_cache_bytes = 1 << 20, .partitions = 4, .dedup_window_ms = HOUR, .retention_ms = DAY,
                         .alert_retention_ms = 7 * DAY};
    c360_store *s;
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    int64_t now = c360_now_ms();

    /* deduplication marks: value = when the messageId was seen */
    c360_key dold, dnew;
    unsigned char h1[16] = {1}, h2[16] = {2}, v[16] = {0};
    c360_key_dedup(&dold, h1);
    c360_key_dedup(&dnew, h2);
    c360_put_u64be(v, (uint64_t)(now - 2 * HOUR));
    put(s, dold.b, dold.n, v, sizeof v);
    c360_put_u64be(v, (uint64_t)(now - HOUR / 2));
    put(s, dnew.b, dnew.n, v, sizeof v);
    /* events: the age is in the key */
    c360_key eold, enew, rec;
    unsigned char e8[8] = {7};
    c360_key_event(&eold, 5, now - 2 * DAY, e8);
    c360_key_event(&enew, 5, now - DAY / 2, e8);
    c360_key_record(&rec, 5);
    put(s, eold.b, eold.n, "e", 1);
    put(s, enew.b, enew.n, "e", 1);
    put(s, rec.b, rec.n, "r", 1);
    /* alerts: raised 8 days ago and 6 days ago */
    unsigned char aold[C360_KEY_ALERT_LEN], anew[C360_KEY_ALERT_LEN], score[16] = {0};
    c360_key_alert(aold, now - 8 * DAY, 5);
    c360_key_alert(anew, now - 6 * DAY, 5);
    put(s, aold, sizeof aold, score, sizeof score);
    put(s, anew, sizeof anew, score, sizeof score);
    put(s, "Fnp1", 4, "{}", 2);

    /* the list already leaves out the old alert */
    c360_features *f;
    assert_int_equal(c360_features_open(&f, s, NULL, err, sizeof err), 0);
    int n = 0;
    assert_int_equal(c360_features_recent_alerts(f, 0, INT64_MIN / 2, count_alerts, &n), 1);
    assert_int_equal(n, 1);
    int64_t cut = c360_store_alert_cutoff(s);
    assert_true(cut > now - 7 * DAY - 1000 && cut <= c360_now_ms() - 7 * DAY);
    cut = c360_store_event_cutoff(s);
    assert_true(cut > now - DAY - 1000 && cut <= c360_now_ms() - DAY);

    /* compaction removes exactly the expired records */
    assert_int_equal(c360_store_flush_compact(s, "", 0, "\xff", 1), 0);
    assert_int_equal(present(s, dold.b, dold.n), 0);
    assert_int_equal(present(s, dnew.b, dnew.n), 1);
    assert_int_equal(present(s, eold.b, eold.n), 0);
    assert_int_equal(present(s, enew.b, enew.n), 1);
    assert_int_equal(present(s, rec.b, rec.n), 1);
    assert_int_equal(present(s, aold, sizeof aold), 0);
    assert_int_equal(present(s, anew, sizeof anew), 1);
    assert_int_equal(present(s, "Fnp1", 4), 1);
    n = 0;
    assert_int_equal(c360_features_recent_alerts(f, 0, INT64_MIN / 2, count_alerts, &n), 1);
    c360_features_free(f);
    c360_store_close(s);

    /* alert_retention 0 keeps alerts however old (and lists them) */
    o.alert_retention_ms = 0;
    assert_int_equal(c360_store_open(&s, path, &o, err, sizeof err), 0);
    put(s, aold, sizeof aold, score, sizeof score);
    assert_int_equal(c360_store_alert_cutoff(s), INT64_MIN);
    assert_int_equal(c360_store_flush_compact(s, "", 0, "\xff", 1), 0);
    assert_int_equal(present(s, aold, sizeof aold), 1);
    assert_int_equal(c360_features_open(&f, s, NULL, err, sizeof err), 0);
    assert_int_equal(c360_features_recent_alerts(f, 0, INT64_MIN / 2, NULL, NULL), 2);
    c360_features_free(f);
    c360_store_close(s);

    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_records_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
