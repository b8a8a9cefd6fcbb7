/* test_mapping.c - unit tests for ingest mappings (src/sources/mapping.c).
 * Covers: the classic workshop topics (user_activity -> Product Viewed/Added/Removed,
 * user_purchases -> Order Completed with products[]), identifiers by type (userId, anonymousId,
 * email/phone into traits, other types into context.externalIds, derived anonymousId when only an
 * email is known), event type and name (constant, field, field + table, default), time formats
 * (iso8601, epoch_s, epoch_ms, auto, strftime pattern), properties/traits by path with `as`,
 * `split` and `each`, constants, filters (equals, in, prefix, exists, not, any, all), message id
 * from a field, a prefix or the fallback, rejections with reasons, YAML errors, and that every
 * output passes c360_segment_parse_one (the one validation funnel). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "identity/normalize.h"
#include "sources/mapping.h"
#include "sources/segment.h"
#include "util/json.h"

#include "test_mapping_fixture.h"

typedef struct {
    c360_mappings *ms;
    c360_config cfg;
    c360_id_rules rules;
    unsigned char secret[32];
    c360_segment_ctx cx;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char err[256];
    if (c360_mappings_load_string(mapping_fixture_yaml, sizeof mapping_fixture_yaml - 1, &f->ms, err, sizeof err)) {
        fprintf(stderr, "load: %s\n", err);
        return -1;
    }
    c360_config_defaults(&f->cfg);
    if (c360_id_rules_init(&f->rules, &f->cfg, err, sizeof err)) return -1;
    f->cx = (c360_segment_ctx){.rules = &f->rules, .secret = f->secret, .max_event_bytes = 32768, .max_batch_bytes = 512000};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    c360_mappings_free(f->ms);
    c360_id_rules_release(&f->rules);
    c360_config_release(&f->cfg);
    free(f);
    return 0;
}

/* applies mapping `name` to rec; asserts rc; returns the output (caller frees) */
static char *apply(fx *f, const char *name, const char *rec, const char *fallback, int want, char *err, size_t errlen)
{
    const c360_mapping *m = c360_mappings_find(f->ms, name);
    assert_non_null(m);
    strbuf out = STRBUF_INIT;
    int rc = c360_mapping_apply(m, rec, strlen(rec), fallback, &out, err, errlen);
    if (rc != want) fail_msg("mapping %s on %s: rc %d (want %d): %s / %s", name, rec, rc, want, err, out.buf);
    return sb_detach(&out, NULL);
}

/* the value at a dotted path of a JSON text, as raw JSON text (or "" if absent) */
static char *at(const char *json, const char *path)
{
    c360_json j;
    c360_json_init(&j);
    char e[64];
    assert_int_equal(c360_json_parse(&j, json, strlen(json), e, sizeof e), 0);
    int t = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save = NULL, *s = strtok_r(buf, ".", &save); s && t >= 0; s = strtok_r(NULL, ".", &save)) {
        if (j.tok[t].type == CJ_ARRAY) {
            int k = t + 1, idx = atoi(s);
            if (idx >= j.tok[t].size) { t = -1; break; }
            for (int i = 0; i < idx; i++) k = c360_json_skip(&j, k);
            t = k;
        } else t = c360_json_get(&j, t, s);
    }
    char *r;
    if (t < 0) r = strdup("");
    else {
        size_t n;
        const char *raw = c360_json_raw(&j, t, &n);
        r = strndup(raw, n);
    }
    c360_json_release(&j);
    return r;
}

#define ASSERT_AT(json, path, want)          \
    do {                                     \
        char *v__ = at((json), (path));      \
        assert_string_equal(v__, (want));    \
        free(v__);                           \
    } while (0)

/* the output passes Segment validation; returns the event (released by caller) */
static void funnel(fx *f, const char *json, c360_event *ev)
{
    char err[256];
    int rc = c360_segment_parse_one(&f->cx, -1, json, strlen(json), 1790000000000LL, ev, err, sizeof err);
    if (rc) fail_msg("segment refused %s: %s", json, err);
}

static void test_user_activity(void **state)
{
    fx *f = *state;
    char err[256];
    static const char *actions[][2] = {{"view", "Product Viewed"}, {"add", "Product Added"}, {"remove", "Product Removed"}};
    for (int i = 0; i < 3; i++) {
        char rec[256], want[64];
        snprintf(rec, sizeof rec, "{\"user_id\":\"u1\",\"product_id\":\"p-9\",\"action\":\"%s\",\"event_time\":\"2026-10-01T08:00:00Z\"}", actions[i][0]);
        char *o = apply(f, "user_activity", rec, "user_activity/0/17", 0, err, sizeof err);
        snprintf(want, sizeof want, "\"%s\"", actions[i][1]);
        ASSERT_AT(o, "event", want);
        ASSERT_AT(o, "type", "\"track\"");
        ASSERT_AT(o, "userId", "\"u1\"");
        ASSERT_AT(o, "properties.product_id", "\"p-9\"");
        ASSERT_AT(o, "timestamp", "\"2026-10-01T08:00:00.000Z\"");
        ASSERT_AT(o, "messageId", "\"user_activity/0/17\"");
        ASSERT_AT(o, "context.source", "\"kafka\"");
        c360_event ev;
        funnel(f, o, &ev);
        assert_string_equal(ev.name, actions[i][1]);
        assert_int_equal(ev.ts, 1790841600000LL);
        assert_string_equal(ev.message_id, "user_activity/0/17");
        c360_event_release(&ev);
        free(o);
    }
    /* an action outside the table is a rejection with a reason */
    char *o = apply(f, "user_activity", "{\"user_id\":\"u1\",\"action\":\"wishlist\",\"event_time\":\"2026-10-01T08:00:00Z\"}", NULL, -1, err, sizeof err);
    assert_non_null(strstr(err, "wishlist"));
    free(o);
    o = apply(f, "user_activity", "{\"action\":\"view\",\"event_time\":\"2026-10-01T08:00:00Z\"}", NULL, -1, err, sizeof err);
    assert_non_null(strstr(err, "no identifier"));
    free(o);
    o = apply(f, "user_activity", "{\"user_id\":\"u1\",\"action\":\"view\"}", NULL, -1, err, sizeof err);
    assert_non_null(strstr(err, "event_time"));
    free(o);
    o = apply(f, "user_activity", "{\"user_id\":\"u1\",\"action\":\"view\",\"event_time\":\"yesterday\"}", NULL, -1, err, sizeof err);
    assert_non_null(strstr(err, "ISO-8601"));
    free(o);
}

static void test_user_purchases(void **state)
{
    fx *f = *state;
    char err[256];
    char *o = apply(f, "user_purchases",
                    "{\"purchase_id\":77,\"user_id\":42,\"amount\":\"129.90\",\"item_ids\":[\"p1\",\"p2\",3],\"card_type\":\"visa\","
                    "\"event_time\":1790841600123}",
                    "user_purchases/1/5", 0, err, sizeof err);
    ASSERT_AT(o, "event", "\"Order Completed\"");
    ASSERT_AT(o, "userId", "\"42\"");
    ASSERT_AT(o, "messageId", "\"purchase-77\"");
    ASSERT_AT(o, "timestamp", "\"2026-10-01T08:00:00.123Z\"");
    ASSERT_AT(o, "properties.revenue", "129.9");
    ASSERT_AT(o, "properties.products", "[{\"product_id\":\"p1\"},{\"product_id\":\"p2\"},{\"product_id\":3}]");
    ASSERT_AT(o, "properties.card_type", "\"visa\"");
    ASSERT_AT(o, "properties.currency", "\"USD\"");
    c360_event ev;
    funnel(f, o, &ev);
    assert_string_equal(ev.ids[0].type, "user_id");
    assert_string_equal(ev.ids[0].value, "42");
    c360_event_release(&ev);
    free(o);
    /* no purchase_id: the fallback */
    o = apply(f, "user_purchases", "{\"user_id\":\"u\",\"amount\":1,\"item_ids\":[],\"event_time\":0}", "t/0/9", 0, err, sizeof err);
    ASSERT_AT(o, "messageId", "\"t/0/9\"");
    ASSERT_AT(o, "properties.products", "[]");
    free(o);
    /* bad amount, items not a list */
    o = apply(f, "user_purchases", "{\"user_id\":\"u\",\"amount\":\"12,5\",\"event_time\":0}", NULL, -1, err, sizeof err);
    assert_non_null(strstr(err, "amount"));
    free(o);
    o = apply(f, "user_purchases", "{\"user_id\":\"u\",\"item_ids\":\"p1\",\"event_time\":0}", NULL, -1, err, sizeof err);
    assert_non_null(strstr(err, "item_ids"));
    free(o);
}

static void test_csv_row_strings(void **state)
{
    fx *f = *state;
    char err[256];
    char *o = apply(f, "purchases_csv",
                    "{\"user_id\":\"u7\",\"email\":\"Ann@Example.com\",\"loyalty\":\"L-1\",\"ts\":\"2026-10-01 08:00:00.250\","
                    "\"amount\":\"19.5\",\"items\":\"a; b;;c\",\"paid\":\"yes\"}",
                    "file.csv#2", 0, err, sizeof err);
    ASSERT_AT(o, "timestamp", "\"2026-10-01T08:00:00.250Z\"");
    ASSERT_AT(o, "properties.revenue", "19.5");
    ASSERT_AT(o, "properties.products", "[{\"product_id\":\"a\"},{\"product_id\":\"b\"},{\"product_id\":\"c\"}]");
    ASSERT_AT(o, "properties.paid", "true");
    ASSERT_AT(o, "properties.qty", "1");
    ASSERT_AT(o, "context.traits.email", "\"Ann@Example.com\"");
    ASSERT_AT(o, "context.externalIds", "[{\"id\":\"L-1\",\"type\":\"loyalty_id\"}]");
    c360_event ev;
    funnel(f, o, &ev);
    assert_int_equal(ev.nids, 3);   /* user_id, email (normalised), loyalty_id */
    int found = 0;
    for (int i = 0; i < ev.nids; i++) found += !strcmp(ev.ids[i].type, "email") && !strcmp(ev.ids[i].value, "ann@example.com");
    assert_int_equal(found, 1);
    c360_event_release(&ev);
    free(o);
    o = apply(f, "purchases_csv", "{\"user_id\":\"u7\",\"ts\":\"01/10/2026\"}", NULL, -1, err, sizeof err);
    assert_non_null(strstr(err, "does not match"));
    free(o);
}

static void test_identify_filters(void **state)
{
    fx *f = *state;
    char err[256];
    const char *rec = "{\"op\":\"u\",\"updated\":1790841600,\"customer\":{\"email\":\"bo@example.com\",\"phone\":\"+1 555 0100\","
                      "\"name\":\"Bo\",\"addr\":{\"city\":\"Oslo\"},\"tags\":[\"vip\",\"x\"]}}";
    char *o = apply(f, "customers", rec, "cdc/1", 0, err, sizeof err);
    ASSERT_AT(o, "type", "\"identify\"");
    ASSERT_AT(o, "traits.email", "\"bo@example.com\"");
    ASSERT_AT(o, "traits.name", "\"Bo\"");
    ASSERT_AT(o, "traits.address.city", "\"Oslo\"");
    ASSERT_AT(o, "traits.first_tag", "\"vip\"");
    ASSERT_AT(o, "timestamp", "\"2026-10-01T08:00:00.000Z\"");
    char *anon = at(o, "anonymousId");
    assert_true(strlen(anon) > 5 && !strncmp(anon, "\"m-", 3));
    c360_event ev;
    funnel(f, o, &ev);
    assert_int_equal(ev.type, C360_EV_IDENTIFY);
    c360_event_release(&ev);
    /* the same email always derives the same anonymousId */
    char *o2 = apply(f, "customers", rec, "cdc/2", 0, err, sizeof err);
    char *anon2 = at(o2, "anonymousId");
    assert_string_equal(anon, anon2);
    free(anon);
    free(anon2);
    free(o2);
    free(o);
    /* filters: op not in the list, a test customer, no email -> filtered (1), not an error */
    o = apply(f, "customers", "{\"op\":\"d\",\"customer\":{\"email\":\"a@b.c\"}}", NULL, 1, err, sizeof err);
    free(o);
    o = apply(f, "customers", "{\"op\":\"c\",\"customer\":{\"email\":\"a@b.c\",\"test\":\"true\"}}", NULL, 1, err, sizeof err);
    free(o);
    o = apply(f, "customers", "{\"op\":\"c\",\"customer\":{\"phone\":\"1\"}}", NULL, 1, err, sizeof err);
    free(o);
}

/* filters combined: a prefix, any of (an email, all of (ext present, ext not empty)) */
static void test_combined_filters(void **state)
{
    fx *f = *state;
    char err[256];
    char *o = apply(f, "tiered", "{\"kind\":\"crm:user.created\",\"id\":7,\"email\":\"a@b.c\"}", NULL, 0, err, sizeof err);
    ASSERT_AT(o, "traits.email", "\"a@b.c\"");
    free(o);
    o = apply(f, "tiered", "{\"kind\":\"crm:user.merged\",\"id\":7,\"ext\":\"u-9\"}", NULL, 0, err, sizeof err);
    ASSERT_AT(o, "userId", "\"u-9\"");
    free(o);
    static const char *filtered[] = {
        "{\"kind\":\"crm:org.created\",\"id\":7,\"email\":\"a@b.c\"}",   /* prefix does not match */
        "{\"kind\":\"crm:user\",\"id\":7,\"email\":\"a@b.c\"}",          /* shorter than the prefix */
        "{\"id\":7,\"email\":\"a@b.c\"}",                                   /* no kind at all */
        "{\"kind\":\"crm:user.created\",\"id\":7,\"ext\":\"\"}",           /* neither branch of any */
        "{\"kind\":\"crm:user.created\",\"id\":7,\"ext\":null}",
        "{\"kind\":\"crm:user.created\",\"id\":7}",
    };
    for (size_t i = 0; i < sizeof filtered / sizeof filtered[0]; i++) {
        o = apply(f, "tiered", filtered[i], NULL, 1, err, sizeof err);
        free(o);
    }
}

static void test_type_from_field(void **state)
{
    fx *f = *state;
    char err[256];
    char *o = apply(f, "typed", "{\"kind\":\"p\",\"name\":\"Home\",\"anon\":\"a1\"}", NULL, 0, err, sizeof err);
    ASSERT_AT(o, "type", "\"page\"");
    ASSERT_AT(o, "name", "\"Home\"");
    ASSERT_AT(o, "anonymousId", "\"a1\"");
    ASSERT_AT(o, "timestamp", "");
    ASSERT_AT(o, "messageId", "");
    free(o);
    o = apply(f, "typed", "{\"kind\":\"zzz\",\"anon\":\"a1\",\"at\":1790841600}", NULL, 0, err, sizeof err);
    ASSERT_AT(o, "type", "\"track\"");
    ASSERT_AT(o, "event", "\"Something Happened\"");
    ASSERT_AT(o, "timestamp", "\"2026-10-01T08:00:00.000Z\"");
    free(o);
    o = apply(f, "typed", "[1,2]", NULL, -1, err, sizeof err);
    assert_non_null(strstr(err, "object"));
    free(o);
    o = apply(f, "typed", "{\"anon\":", NULL, -1, err, sizeof err);
    assert_non_null(strstr(err, "JSON"));
    free(o);
}

static void test_yaml_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "mappings:\n  a:\n    event: X\n",                                            /* no identifiers */
        "mappings:\n  a:\n    identifiers: {user_id: u}\n",                            /* track without event */
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    bogus: 1\n",  /* unknown key */
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    time: {field: t, format: weird}\n",
        "mappings:\n  a:\n    type: fax\n    identifiers: {user_id: u}\n",
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    properties: {p: {field: x, as: float}}\n",
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    filters: [{field: x}]\n",
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    filters: [{any: []}]\n",
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    constants: {context.lit: ,''}\n",   /* target '' */
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    constants: {'.': x}\n",
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    fields: {'.': x}\n",
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    properties: {'': x}\n",
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    filters: [{all: 3}]\n",
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    filters: [{field: x, equals: a, in: [b]}]\n",
        "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    filters: [{field: x, any: [{field: y, exists: true}]}]\n",
        "mappings: [1]\n",
        "mappings:\n  a: {\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c360_mappings *ms = NULL;
        char err[256] = "";
        assert_int_equal(c360_mappings_load_string(bad[i], strlen(bad[i]), &ms, err, sizeof err), -1);
        assert_null(ms);
        assert_true(strlen(err) > 0);
    }
    /* filters nest at most 16 deep: deeper is an error, not a deep recursion */
    for (int depth = 16; depth <= 17; depth++) {
        strbuf y = STRBUF_INIT;
        sb_adds(&y, "mappings:\n  a:\n    event: X\n    identifiers: {user_id: u}\n    filters: [");
        for (int i = 0; i < depth; i++) sb_adds(&y, i % 2 ? "{any: [" : "{not: ");
        sb_adds(&y, "{field: x, exists: true}");
        for (int i = depth - 1; i >= 0; i--) sb_adds(&y, i % 2 ? "]}" : "}");
        sb_adds(&y, "]\n");
        c360_mappings *ms = NULL;
        char err[256] = "";
        int rc = c360_mappings_load_string(y.buf, y.len, &ms, err, sizeof err);
        if (depth == 16) {
            assert_int_equal(rc, 0);
            c360_mappings_free(ms);
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "nest at most 16"));
        }
        sb_release(&y);
    }
    /* no mappings section: empty set */
    c360_mappings *ms = NULL;
    char err[256];
    assert_int_equal(c360_mappings_load_string("listen: x\n", 10, &ms, err, sizeof err), 0);
    assert_int_equal(c360_mappings_count(ms), 0);
    assert_null(c360_mappings_find(ms, "a"));
    c360_mappings_free(ms);
    assert_int_equal(c360_mappings_load(NULL, &ms, err, sizeof err), 0);
    c360_mappings_free(ms);
    assert_int_equal(c360_mappings_load("/nonexistent/c360.yaml", &ms, err, sizeof err), -1);
}

/* records of random shape and bytes never crash and always give 0, 1 or -1 with a reason */
static void test_garbage_records(void **state)
{
    fx *f = *state;
    static const char *pieces[] = {"{", "}", "[", "]", ",", ":", "\"user_id\"", "\"action\"", "\"view\"", "\"event_time\"", "1e400",
                                   "null", "true", "\"2026-10-01\"", "\"\\u0000\"", "\"item_ids\"", "-0", "\"\xff\"", " ", "\"a.b\""};
    const char *names[] = {"user_activity", "user_purchases", "purchases_csv", "customers", "typed", "tiered"};
    unsigned seed = 12345;
    for (int round = 0; round < 3000; round++) {
        char rec[512];
        size_t n = 0;
        int parts = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 24;
        for (int i = 0; i < parts; i++) {
            const char *p = pieces[((seed = seed * 1103515245u + 12345u) >> 16) % (sizeof pieces / sizeof pieces[0])];
            size_t l = strlen(p);
            if (n + l >= sizeof rec) break;
            memcpy(rec + n, p, l);
            n += l;
        }
        if (round % 3 == 0) n = (size_t)snprintf(rec, sizeof rec, "{\"user_id\":%u,\"action\":\"view\",\"event_time\":%u,\"item_ids\":[%u],"
                                                 "\"amount\":\"%u\",\"customer\":{\"email\":\"x%u@y.z\"},\"op\":\"c\",\"ts\":\"%u\"}",
                                                 seed % 7, seed, seed % 3, seed % 100, seed % 5, seed);
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            strbuf out = STRBUF_INIT;
            char err[256] = "";
            int rc = c360_mapping_apply(c360_mappings_find(f->ms, names[k]), rec, n, "fb", &out, err, sizeof err);
            assert_true(rc == 0 || rc == 1 || rc == -1);
            if (rc == -1) assert_true(strlen(err) > 0);
            if (rc == 0) {
                c360_json j;
                c360_json_init(&j);
                char e[64];
                assert_int_equal(c360_json_parse(&j, out.buf, out.len, e, sizeof e), 0);   /* always valid JSON */
                c360_json_release(&j);
            }
            sb_release(&out);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_user_activity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_purchases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv_row_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identify_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_combined_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_from_field, setup, teardown),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test_setup_teardown(test_garbage_records, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
