/* test_inflight.c - unit tests for how a source thread hands jobs to the engine
 * (src/engine/inflight.c), against a real engine and store: the in-flight count bounds `room`,
 * answers are collected in the order the writer committed them and only once, `idle` holds
 * only when nothing is in flight or waiting to be taken, a refused submit leaves nothing in
 * flight, and c360_engine_run waits for one job's outcome. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "engine/inflight.h"
#include "identity/normalize.h"
#include "store/store.h"
#include "util/strbuf.h"

static void test_jobs_in_flight(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-inflight-XXXXXX", err[256];
    assert_non_null(mkdtemp(dir));
    c360_config cfg;
    c360_config_defaults(&cfg);
    c360_id_rules rules;
    assert_int_equal(c360_id_rules_init(&rules, &cfg, err, sizeof err), 0);
    c360_store_opts so = {.block_cache_bytes = 8 << 20, .partitions = cfg.partitions, .dedup_window_ms = cfg.dedup_window_ms};
    c360_store *s;
    assert_int_equal(c360_store_open(&s, dir, &so, err, sizeof err), 0);
    c360_metrics *m = calloc(1, sizeof *m);
    c360_engine *e;
    assert_int_equal(c360_engine_open(&e, s, &cfg, &rules, NULL, m, err, sizeof err), 0);

    /* three jobs, each writing one key, submitted before the writer runs */
    c360_inflight q;
    c360_inflight_init(&q);
    assert_true(c360_inflight_idle(&q));
    c360_job jobs[3];
    c360_kv kv[3];
    char keys[3][24];
    for (int i = 0; i < 3; i++) {
        snprintf(keys[i], sizeof keys[i], "Ztest%d", i);
        kv[i] = (c360_kv){keys[i], strlen(keys[i]), "v", 1};
        jobs[i] = (c360_job){.extra = &kv[i], .nextra = 1};
        assert_int_equal(c360_inflight_submit(&q, e, &jobs[i]), 0);
    }
    assert_false(c360_inflight_room(&q, 3, 0));
    assert_false(c360_inflight_room(&q, 3, 20));   /* nobody answers: the wait times out */
    assert_true(c360_inflight_room(&q, 4, 0));
    assert_false(c360_inflight_idle(&q));
    c360_job **done;
    assert_int_equal(c360_inflight_take(&q, &done), 0);
    assert_null(done);

    /* the writer answers all three, in order, each once */
    assert_int_equal(c360_engine_start(e), 0);
    c360_inflight_wait(&q);
    assert_false(c360_inflight_idle(&q));          /* answered, not taken */
    assert_int_equal(c360_inflight_take(&q, &done), 3);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(done[i], &jobs[i]);
        assert_int_equal(done[i]->status, 0);
    }
    free(done);
    assert_int_equal(c360_inflight_take(&q, &done), 0);
    assert_true(c360_inflight_idle(&q));
    assert_true(c360_inflight_room(&q, 1, 0));
    strbuf v = STRBUF_INIT;
    for (int i = 0; i < 3; i++) assert_int_equal(c360_store_get(s, keys[i], strlen(keys[i]), &v), 1);
    sb_release(&v);

    /* one job, waited for: its outcome is in status */
    c360_job er = {.erase_pid = 12345};
    assert_int_equal(c360_engine_run(e, &er, NULL), 0);
    assert_int_equal(er.status, C360_ENOPROFILE);

    /* a refused submit leaves nothing in flight */
    c360_engine_stop(e);
    c360_job late = {.extra = &kv[0], .nextra = 1};
    assert_int_equal(c360_inflight_submit(&q, e, &late), C360_EUNAVAIL);
    assert_true(c360_inflight_idle(&q));
    assert_true(c360_inflight_room(&q, 1, 0));
    c360_job late2 = {.erase_pid = 1};
    assert_int_equal(c360_engine_run(e, &late2, NULL), C360_EUNAVAIL);

    c360_inflight_destroy(&q);
    c360_engine_free(e);
    c360_store_close(s);
    c360_id_rules_release(&rules);
    c360_config_release(&cfg);
    free(m);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
