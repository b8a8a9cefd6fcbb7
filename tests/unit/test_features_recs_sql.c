/* test_features_recs_sql.c - recommendations (src/features/recs.c) against an independent
 * implementation: the step-by-step SQL query of docs/FEATURES.md, run by SQLite over the same
 * events. Random shops (customers viewing, adding and buying random baskets, in random arrival
 * order) are ingested through the real pipeline; for every customer the endpoint's list (product,
 * score, source) must equal the SQL result, for several limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_rng.h"

#include <sqlite3.h>

#include "test_features_env.h"

#define T0 1790812800000LL

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t xr(void) { return xorshift64(&rng); }

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("sql: %s\n%s", err, sql);
}

/* the step-by-step query (docs/FEATURES.md, "Recommendations") */
static const char *const SQL_SETUP =
    "CREATE TABLE events(ev TEXT, cust TEXT, ts INTEGER, name TEXT, product_id TEXT, order_id TEXT);"
    /* 1. order lines: one row per (order event, product) */
    "CREATE VIEW lines AS SELECT DISTINCT ev, cust, ts, order_id, product_id FROM events WHERE name = 'Order Completed';"
    /* 2. item-to-item co-purchase counts over every customer's orders */
    "CREATE VIEW co AS SELECT a.product_id AS a, b.product_id AS b, COUNT(*) AS n FROM lines a JOIN lines b"
    "  ON a.ev = b.ev AND a.product_id <> b.product_id GROUP BY a.product_id, b.product_id;"
    /* 3. popularity */
    "CREATE VIEW pop AS SELECT product_id AS p, COUNT(*) AS n FROM lines GROUP BY product_id;";

static const char *const SQL_RECS =
    "WITH last_ts AS (SELECT MAX(ts) AS t FROM lines WHERE cust = ?1),"
    /* 4. products of interest: viewed or added after the last order */
    " interest AS (SELECT DISTINCT product_id AS p FROM events WHERE cust = ?1"
    "   AND name IN ('Product Viewed', 'Product Added') AND ts > COALESCE((SELECT t FROM last_ts), -9e18)),"
    /* 5. the last order (latest time, then order_id) and its products */
    " last_order AS (SELECT ev FROM lines WHERE cust = ?1 ORDER BY ts DESC, order_id DESC LIMIT 1),"
    " excluded AS (SELECT p FROM interest UNION SELECT product_id FROM lines WHERE ev = (SELECT ev FROM last_order) AND ?3 = 1),"
    /* 6. candidates scored by summed co-purchase counts */
    " recs AS (SELECT co.b AS p, SUM(co.n) AS score, 'co_purchase' AS src FROM co JOIN interest i ON co.a = i.p"
    "   WHERE co.b NOT IN (SELECT p FROM excluded) GROUP BY co.b ORDER BY score DESC, co.b ASC LIMIT ?2),"
    /* 7. popular products fill up */
    " fill AS (SELECT p, n AS score, 'popular' AS src FROM pop WHERE p NOT IN (SELECT p FROM excluded)"
    "   AND p NOT IN (SELECT p FROM recs) ORDER BY n DESC, p ASC LIMIT ?2 - (SELECT COUNT(*) FROM recs))"
    " SELECT p, score, src FROM recs UNION ALL SELECT p, score, src FROM fill";

typedef struct { char body[4096]; char ev[16], cust[16], name[32], pid[16], oid[16]; int64_t ts; char prods[40][16]; int np; } gev;

/* orders of 1..max_items (<= 40) products; events applied `group` at a time, one commit each */
static void run_shop(int ncust, int nprod, int nevents, int exclude_last, int max_items, int group)
{
    fenv *v = fenv_open(exclude_last ? NULL : "recommendations:\n  exclude_last_order: false\n");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    exec(db, SQL_SETUP);
    sqlite3_stmt *ins;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO events VALUES(?,?,?,?,?,?)", -1, &ins, NULL), SQLITE_OK);
    gev *evs = calloc((size_t)nevents, sizeof *evs);
    for (int i = 0; i < nevents; i++) {
        gev *g = &evs[i];
        snprintf(g->ev, sizeof g->ev, "m%d", i);
        snprintf(g->cust, sizeof g->cust, "c%d", (int)(xr() % (uint64_t)ncust));
        g->ts = T0 + (int64_t)i * 60000;   /* distinct times */
        int k = (int)(xr() % 10);
        char ts[32];
        c360_time_format(g->ts, ts);
        if (k < 6) {
            strcpy(g->name, k < 4 ? "Product Viewed" : "Product Added");
            snprintf(g->pid, sizeof g->pid, "p%02d", (int)(xr() % (uint64_t)nprod));
            snprintf(g->body, sizeof g->body,
                     "{\"type\":\"track\",\"userId\":\"%s\",\"event\":\"%s\",\"timestamp\":\"%s\",\"messageId\":\"%s\","
                     "\"properties\":{\"product_id\":\"%s\",\"name\":\"Name %s\"}}",
                     g->cust, g->name, ts, g->ev, g->pid, g->pid);
        } else {
            strcpy(g->name, "Order Completed");
            snprintf(g->oid, sizeof g->oid, "o%d", i);
            int n = 1 + (int)(xr() % (uint64_t)max_items);
            strbuf pr = STRBUF_INIT;
            for (int q = 0; q < n; q++) {
                snprintf(g->prods[g->np], 16, "p%02d", (int)(xr() % (uint64_t)nprod));
                sb_addf(&pr, "%s{\"product_id\":\"%s\",\"price\":1}", q ? "," : "", g->prods[g->np]);
                g->np++;
            }
            snprintf(g->body, sizeof g->body,
                     "{\"type\":\"track\",\"userId\":\"%s\",\"event\":\"Order Completed\",\"timestamp\":\"%s\",\"messageId\":\"%s\","
                     "\"properties\":{\"order_id\":\"%s\",\"revenue\":10,\"products\":[%s]}}",
                     g->cust, ts, g->ev, g->oid, pr.buf);
            sb_release(&pr);
        }
        int rows = g->np ? g->np : 1;
        for (int r = 0; r < rows; r++) {
            sqlite3_bind_text(ins, 1, g->ev, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, g->cust, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 3, g->ts);
            sqlite3_bind_text(ins, 4, g->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 5, g->np ? g->prods[r] : g->pid, -1, SQLITE_STATIC);
            if (g->np) sqlite3_bind_text(ins, 6, g->oid, -1, SQLITE_STATIC);
            else sqlite3_bind_null(ins, 6);
            assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
            sqlite3_reset(ins);
        }
    }
    sqlite3_finalize(ins);
    /* arrival order: shuffled (the result must not depend on it) */
    int *idx = malloc(sizeof *idx * (size_t)nevents);
    for (int i = 0; i < nevents; i++) idx[i] = i;
    for (int i = nevents - 1; i > 0; i--) {
        int j = (int)(xr() % (uint64_t)(i + 1));
        int t = idx[i]; idx[i] = idx[j]; idx[j] = t;
    }
    for (int i = 0; i < nevents; i += group) {
        /* groups of events per apply, like the writer's group commit */
        int n = nevents - i < group ? nevents - i : group;
        c360_event *ev = calloc((size_t)n, sizeof *ev);
        for (int q = 0; q < n; q++) {
            char err[256];
            const char *b = evs[idx[i + q]].body;
            if (c360_segment_parse_one(&v->cx, -1, b, strlen(b), c360_now_ms(), &ev[q], err, sizeof err)) fail_msg("%s", err);
        }
        int a, d;
        assert_int_equal(c360_engine_apply(v->e, ev, n, &a, &d), 0);
        c360_events_free(ev, n);
        fenv_commit(v);
    }
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, SQL_RECS, -1, &q, NULL), SQLITE_OK);
    int compared = 0, nonempty_signal = 0;
    static const int limits[] = {1, 3, 10};
    for (int c = 0; c < ncust; c++) {
        char cust[16];
        snprintf(cust, sizeof cust, "c%d", c);
        c360_profile p;
        if (!fenv_profile(v, cust, &p)) continue;
        for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
            int limit = limits[li];
            strbuf ours = STRBUF_INIT, mine = STRBUF_INIT, theirs = STRBUF_INIT;
            c360_features_recommend(v->f, &p, limit, &ours);
            c360_json j;
            c360_json_init(&j);
            char err[64];
            assert_int_equal(c360_json_parse(&j, ours.buf, ours.len, err, sizeof err), 0);
            int recs = c360_json_get(&j, 0, "recommendations");
            for (int it = recs + 1, k = 0; k < j.tok[recs].size; k++, it = c360_json_skip(&j, it)) {
                strbuf pid = STRBUF_INIT, src = STRBUF_INIT;
                double sc;
                c360_json_str(&j, c360_json_get(&j, it, "product_id"), &pid);
                c360_json_str(&j, c360_json_get(&j, it, "source"), &src);
                c360_json_num(&j, c360_json_get(&j, it, "score"), &sc);
                sb_addf(&mine, "%s:%g:%s ", pid.buf, sc, src.buf);
                if (!strcmp(src.buf, "co_purchase")) nonempty_signal++;
                sb_release(&pid);
                sb_release(&src);
            }
            c360_json_release(&j);
            sqlite3_bind_text(q, 1, cust, -1, SQLITE_STATIC);
            sqlite3_bind_int(q, 2, limit);
            sqlite3_bind_int(q, 3, exclude_last);
            while (sqlite3_step(q) == SQLITE_ROW)
                sb_addf(&theirs, "%s:%g:%s ", (const char *)sqlite3_column_text(q, 0), sqlite3_column_double(q, 1),
                        (const char *)sqlite3_column_text(q, 2));
            sqlite3_reset(q);
            if (strcmp(mine.buf, theirs.buf)) fail_msg("%s limit %d:\n c360: %s\n SQL:  %s\n (%s)", cust, limit, mine.buf, theirs.buf, ours.buf);
            compared++;
            sb_release(&ours);
            sb_release(&mine);
            sb_release(&theirs);
        }
        c360_profile_release(&p);
    }
    sqlite3_finalize(q);
    assert_true(compared >= ncust);        /* every customer was checked */
    assert_true(nonempty_signal > 0);      /* and the co-purchase path was exercised */
    sqlite3_close(db);
    free(idx);
    free(evs);
    fenv_close(v);
}

static void test_recs_match_sql_small(void **state) { (void)state; run_shop(8, 6, 150, 1, 4, 7); }
static void test_recs_match_sql_medium(void **state) { (void)state; run_shop(40, 25, 1200, 1, 4, 7); }
static void test_recs_match_sql_keep_last_order(void **state) { (void)state; run_shop(20, 12, 500, 0, 4, 7); }
/* big baskets from a large catalogue in two groups: the writer's pair table grows several times
 * within a group, and the flush sorts thousands of partners */
static void test_recs_match_sql_big_groups(void **state) { (void)state; run_shop(12, 300, 800, 1, 30, 400); }
/* one group of ~200 k pair bumps: each of the writer's 64 count partitions fills its buffer
 * (2,048 bumps) and counts it into its table before the flush (checked by hand: 64 drains) */
static void test_recs_match_sql_one_huge_group(void **state) { (void)state; run_shop(12, 300, 2500, 1, 40, 2500); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recs_match_sql_small),
        cmocka_unit_test(test_recs_match_sql_medium),
        cmocka_unit_test(test_recs_match_sql_keep_last_order),
        cmocka_unit_test(test_recs_match_sql_big_groups),
        cmocka_unit_test(test_recs_match_sql_one_huge_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
