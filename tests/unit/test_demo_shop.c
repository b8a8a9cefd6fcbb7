/* test_demo_shop.c - unit tests for the gen-demo generator (src/cli/demo_shop.c) and
 * the `c360 gen-demo` command (src/cli/cmd_gen_demo.c).
 * Checks determinism, streaming-API consistency, that every line is a valid JSON object
 * (own strict validator, duplicate keys rejected), time order, unique messageIds, the
 * anonymous -> identify story, order arithmetic, refunds, affinity groups and CLI errors. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/demo_shop.h"

int c360_cmd_gen_demo(int argc, char **argv);

/* ------------------------------------------------------------------ helpers */

static c360_demo_opts small_opts(void)
{
    c360_demo_opts o;
    c360_demo_opts_default(&o);
    o.customers = 200;
    return o;
}

/* Whole stream; chunk == 0 uses c360_demo_next_day, else next_events(chunk). */
static char *gen_all(const c360_demo_opts *o, size_t chunk, size_t *len_out, size_t *events_out)
{
    c360_demo *d = c360_demo_new(o);
    assert_non_null(d);
    size_t cap = 1 << 20, len = 0, events = 0, n;
    char *all = malloc(cap);
    assert_non_null(all);
    do {
        char *buf = NULL;
        size_t blen = 0;
        n = chunk ? c360_demo_next_events(d, chunk, &buf, &blen) : c360_demo_next_day(d, &buf, &blen);
        assert_true(n ? blen > 0 : blen == 0);
        events += n;
        while (len + blen + 1 > cap) {
            cap *= 2;
            all = realloc(all, cap);
            assert_non_null(all);
        }
        if (blen) memcpy(all + len, buf, blen);
        len += blen;
        free(buf);
    } while (n);
    assert_false(c360_demo_failed(d));
    assert_int_equal(c360_demo_events_emitted(d), events);
    c360_demo_free(d);
    char *p = all;
    p[len] = 0;
    *len_out = len;
    if (events_out) *events_out = events;
    return p;
}

/* Splits text into NUL-terminated lines in place; returns count, lines in *out (malloc'd). */
static size_t split_lines(char *text, char ***out)
{
    size_t n = 0, cap = 1024;
    char **v = malloc(cap * sizeof *v);
    assert_non_null(v);
    char *p = text;
    while (*p) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line is newline-terminated */
        *nl = 0;
        if (n == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
            assert_non_null(v);
        }
        v[n++] = p;
        p = nl + 1;
    }
    *out = v;
    return n;
}

/* Copies the string value of the first `"key":"` in s into out; returns out or NULL. */
static const char *get_str(const char *s, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(s, pat);
    if (!p) return NULL;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= cap) return NULL;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return out;
}

/* Number after `"key":` as cents (exactly two decimals expected for money). */
static long long get_cents(const char *s, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(s, pat);
    assert_non_null(p);
    long long whole = 0, frac = 0;
    int fd = 0;
    p += strlen(pat);
    while (*p >= '0' && *p <= '9') whole = whole * 10 + (*p++ - '0');
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, fd++) frac = frac * 10 + (*p - '0');
    assert_int_equal(fd, 2);
    return whole * 100 + frac;
}

/* ------------------------------------------------------------------ strict JSON validator */

static const char *j_value(const char *p, int depth);

static const char *j_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    return p;
}

static const char *j_string(const char *p)
{
    if (*p != '"') return NULL;
    for (p++;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20 || c >= 0x7f) return NULL; /* generator promises printable ASCII */
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i]) return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
    }
}

static const char *j_number(const char *p)
{
    if (*p == '-') p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9') p++;
    else
        return NULL;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (*p < '0' || *p > '9') return NULL;
        while (*p >= '0' && *p <= '9') p++;
    }
    return p;
}

static const char *j_object(const char *p, int depth)
{
    const char *keys[64];
    size_t klen[64];
    int nk = 0;
    p = j_ws(p + 1);
    if (*p == '}') return p + 1;
    for (;;) {
        const char *k = p, *e = j_string(p);
        if (!e) return NULL;
        for (int i = 0; i < nk; i++) /* duplicate keys are rejected */
            if (klen[i] == (size_t)(e - k) && !memcmp(keys[i], k, klen[i])) return NULL;
        if (nk < 64) keys[nk] = k, klen[nk++] = (size_t)(e - k);
        p = j_ws(e);
        if (*p != ':') return NULL;
        p = j_value(j_ws(p + 1), depth + 1);
        if (!p) return NULL;
        p = j_ws(p);
        if (*p == '}') return p + 1;
        if (*p != ',') return NULL;
        p = j_ws(p + 1);
    }
}

static const char *j_array(const char *p, int depth)
{
    p = j_ws(p + 1);
    if (*p == ']') return p + 1;
    for (;;) {
        p = j_value(p, depth + 1);
        if (!p) return NULL;
        p = j_ws(p);
        if (*p == ']') return p + 1;
        if (*p != ',') return NULL;
        p = j_ws(p + 1);
    }
}

static const char *j_value(const char *p, int depth)
{
    if (depth > 32) return NULL;
    switch (*p) {
    case '{': return j_object(p, depth);
    case '[': return j_array(p, depth);
    case '"': return j_string(p);
    case 't': return strncmp(p, "true", 4) ? NULL : p + 4;
    case 'f': return strncmp(p, "false", 5) ? NULL : p + 5;
    case 'n': return strncmp(p, "null", 4) ? NULL : p + 4;
    default: return j_number(p);
    }
}

/* 1 if s is exactly one JSON value starting with `open`. */
static int json_valid(const char *s, char open)
{
    if (*s != open) return 0;
    const char *e = j_value(s, 0);
    return e && *j_ws(e) == 0;
}

static void test_validator_self_check(void **state)
{
    (void)state;
    assert_true(json_valid("{\"a\":[1,2.50,{\"b\":null}],\"c\":\"x\"}", '{'));
    assert_false(json_valid("{\"a\":1,\"a\":2}", '{'));   /* duplicate key */
    assert_false(json_valid("{\"a\":1", '{'));            /* unbalanced */
    assert_false(json_valid("{\"a\":01}", '{'));          /* bad number */
    assert_false(json_valid("{\"a\":\"x\"} x", '{'));     /* trailing junk */
    assert_false(json_valid("{\"a\":\"x\"y\"}", '{'));    /* stray quote */
}

/* ------------------------------------------------------------------ tests */

static void test_determinism(void **state)
{
    (void)state;
    c360_demo_opts o = small_opts();
    size_t la, lb, lc, ld, ea, ec;
    char *a = gen_all(&o, 0, &la, &ea);
    char *b = gen_all(&o, 0, &lb, NULL);
    char *c = gen_all(&o, 37, &lc, &ec); /* chunked API gives the same stream */
    assert_true(ea > 2000);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_int_equal(ea, ec);
    assert_int_equal(la, lc);
    assert_memory_equal(a, c, la);
    o.seed = 43;
    char *d = gen_all(&o, 0, &ld, NULL);
    assert_true(ld != la || memcmp(a, d, la) != 0);
    free(a);
    free(b);
    free(c);
    free(d);
}

static void test_lines_valid_and_ordered(void **state)
{
    (void)state;
    c360_demo_opts o = small_opts();
    size_t len, events;
    char *text = gen_all(&o, 0, &len, &events);
    char **lines;
    size_t n = split_lines(text, &lines);
    assert_int_equal(n, events);
    char prev_ts[32] = "", ts[32], type[16], tmp[64];
    size_t n_track = 0, n_page = 0, n_identify = 0;
    for (size_t i = 0; i < n; i++) {
        const char *l = lines[i];
        if (!json_valid(l, '{')) fail_msg("line %zu is not a valid JSON object: %.200s", i + 1, l);
        assert_int_equal(strncmp(l, "{\"messageId\":\"m-42-", 18), 0);
        assert_non_null(get_str(l, "timestamp", ts, sizeof ts));
        assert_int_equal(strlen(ts), 24); /* 2026-10-01T08:15:03.120Z */
        assert_true(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
        if (strcmp(ts, prev_ts) < 0) fail_msg("timestamp goes back at line %zu: %s < %s", i + 1, ts, prev_ts);
        assert_true(strcmp(ts, "2026-10-01T00:00:00.000Z") >= 0);
        strcpy(prev_ts, ts);
        assert_non_null(strstr(l, "\"context\":{\"ip\":\"203.0.113."));
        assert_non_null(strstr(l, "\"library\":{\"name\":\"c360-demo\",\"version\":\"1\"}"));
        assert_true(strstr(l, "\"userId\":\"u") || strstr(l, "\"anonymousId\":\""));
        assert_non_null(get_str(l, "type", type, sizeof type));
        if (!strcmp(type, "track")) {
            n_track++;
            assert_non_null(get_str(l, "event", tmp, sizeof tmp));
            assert_non_null(strstr(l, "\"properties\":{"));
        } else if (!strcmp(type, "page")) {
            n_page++;
            assert_non_null(strstr(l, ",\"name\":\""));
            assert_non_null(strstr(l, "\"properties\":{\"url\":\"https://"));
        } else if (!strcmp(type, "identify")) {
            n_identify++;
            assert_non_null(strstr(l, "\"traits\":{\"email\":\""));
        } else {
            fail_msg("unexpected type %s", type);
        }
    }
    assert_true(n_track > 0 && n_page > 0 && n_identify >= 150);
    /* period is 30 days (+ minutes of spill from sessions that start late on the last day) */
    assert_true(strcmp(prev_ts, "2026-10-31T01") < 0);
    free(lines);
    free(text);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_message_ids_unique(void **state)
{
    (void)state;
    c360_demo_opts o = small_opts();
    size_t len;
    char *text = gen_all(&o, 0, &len, NULL);
    char **lines;
    size_t n = split_lines(text, &lines);
    char **ids = malloc(n * sizeof *ids);
    assert_non_null(ids);
    for (size_t i = 0; i < n; i++) {
        char tmp[64];
        assert_non_null(get_str(lines[i], "messageId", tmp, sizeof tmp));
        ids[i] = strdup(tmp);
    }
    qsort(ids, n, sizeof *ids, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(ids[i], ids[i - 1])) fail_msg("duplicate messageId %s", ids[i]);
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    free(lines);
    free(text);
}

typedef struct {
    char anon[40], uid[16];
    size_t anon_only, with_user;
} anon_state;

/* Story: a user's first event is an identify; most identifies with a userId link an
 * anonymousId that browsed anonymously before; newsletter signups identify by email only. */
static void test_anonymous_then_identify(void **state)
{
    (void)state;
    c360_demo_opts o = small_opts();
    size_t len;
    char *text = gen_all(&o, 0, &len, NULL);
    char **lines;
    size_t n = split_lines(text, &lines);
    anon_state *anons = calloc(2 * o.customers, sizeof *anons);
    char(*users)[16] = calloc(o.customers, sizeof *users);
    assert_non_null(anons);
    assert_non_null(users);
    size_t nanons = 0, nusers = 0, linked = 0, newsletter = 0;
    for (size_t i = 0; i < n; i++) {
        const char *l = lines[i];
        char anon[40], uid[16], tmp[64];
        int has_anon = get_str(l, "anonymousId", anon, sizeof anon) != NULL;
        int has_user = get_str(l, "userId", uid, sizeof uid) != NULL;
        int is_identify = strstr(l, "\"type\":\"identify\"") != NULL;
        if (has_user) {
            size_t u = 0;
            while (u < nusers && strcmp(users[u], uid)) u++;
            if (u == nusers) {
                if (!is_identify) fail_msg("first event of %s is not an identify: %.160s", uid, l);
                assert_true(nusers < o.customers);
                strcpy(users[nusers++], uid);
            }
        }
        if (is_identify && !has_user) {
            newsletter++;
            assert_true(has_anon);
            assert_non_null(get_str(l, "email", tmp, sizeof tmp));
        }
        if (!has_anon) continue;
        size_t a = 0;
        while (a < nanons && strcmp(anons[a].anon, anon)) a++;
        if (a == nanons) {
            assert_true(nanons < 2 * o.customers);
            strcpy(anons[nanons++].anon, anon);
        }
        anon_state *st = &anons[a];
        if (is_identify && has_user && st->anon_only > 0 && st->with_user == 0) linked++;
        if (has_user) {
            if (st->uid[0]) assert_string_equal(st->uid, uid); /* an anonymousId has one owner */
            strcpy(st->uid, uid);
            st->with_user++;
        } else {
            st->anon_only++;
        }
    }
    /* ~all customers get an anonymousId; most of them identify after browsing */
    assert_true(nanons >= o.customers);
    if (linked < o.customers / 2) fail_msg("only %zu anonymous->identify links", linked);
    assert_true(newsletter > 0);
    free(anons);
    free(users);
    free(lines);
    free(text);
}

typedef struct {
    char id[16];
    long long total;
} order_rec;

static void test_orders_and_refunds(void **state)
{
    (void)state;
    c360_demo_opts o = small_opts();
    size_t len;
    char *text = gen_all(&o, 0, &len, NULL);
    char **lines;
    size_t n = split_lines(text, &lines);
    order_rec *orders = calloc(n, sizeof *orders);
    assert_non_null(orders);
    size_t norders = 0, nrefunds = 0;
    char tmp[64];
    for (size_t i = 0; i < n; i++) {
        const char *l = lines[i];
        if (strstr(l, "\"event\":\"Order Completed\"")) {
            assert_non_null(get_str(l, "userId", tmp, sizeof tmp));
            assert_non_null(get_str(l, "order_id", orders[norders].id, sizeof orders[norders].id));
            for (size_t k = 0; k < norders; k++) assert_string_not_equal(orders[k].id, orders[norders].id);
            long long revenue = get_cents(l, "revenue"), total = get_cents(l, "total");
            assert_int_equal(revenue, total);
            assert_non_null(strstr(l, "\"currency\":\"USD\",\"payment_method\":\"card\",\"card_type\":\""));
            assert_non_null(strstr(l, "\"shipping_address\":{\"street\":\""));
            const char *p = strstr(l, "\"products\":[");
            assert_non_null(p);
            long long sum = 0;
            int items = 0;
            while ((p = strstr(p, "{\"product_id\":\"sku-"))) {
                long long price = get_cents(p, "price");
                const char *q = strstr(p, "\"quantity\":");
                assert_non_null(q);
                long long qty = atoll(q + 11);
                assert_true(qty >= 1);
                sum += price * qty;
                items++;
                p++;
            }
            assert_true(items >= 1);
            assert_int_equal(sum, revenue);
            orders[norders++].total = total;
        } else if (strstr(l, "\"event\":\"Order Refunded\"")) {
            nrefunds++;
            char id[16];
            assert_non_null(get_str(l, "order_id", id, sizeof id));
            size_t k = 0;
            while (k < norders && strcmp(orders[k].id, id)) k++;
            if (k == norders) fail_msg("refund of unknown/later order %s", id);
            assert_int_equal(get_cents(l, "total"), orders[k].total);
        }
    }
    assert_true(norders > 100);
    assert_true(nrefunds < norders / 10);
    free(orders);
    free(lines);
    free(text);
}

/* Orders tend to hold several items of one affinity group (recommendations rely on it). */
static void test_affinity_groups(void **state)
{
    (void)state;
    c360_demo_opts o = small_opts();
    c360_demo *d = c360_demo_new(&o);
    assert_non_null(d);
    char *cat = c360_demo_catalog_json(d);
    c360_demo_free(d);
    assert_non_null(cat);
    assert_true(json_valid(cat, '['));
    /* group name per sku index (1-based) */
    static char group[121][32];
    size_t count = 0;
    for (const char *p = cat; (p = strstr(p, "{\"product_id\":\"sku-")); p++) {
        int idx = atoi(p + 19);
        assert_int_equal(idx, (int)count + 1);
        const char *g = strstr(p, "\"affinity_group\":");
        assert_non_null(g);
        g += 17;
        if (*g == '"') {
            const char *e = strchr(g + 1, '"');
            snprintf(group[idx], sizeof group[idx], "%.*s", (int)(e - g - 1), g + 1);
        } else {
            group[idx][0] = 0;
        }
        count++;
    }
    assert_int_equal(count, 120);
    assert_string_equal(group[1], "pasta-night");
    free(cat);

    size_t len;
    char *text = gen_all(&o, 0, &len, NULL);
    char **lines;
    size_t n = split_lines(text, &lines);
    size_t multi = 0, cohesive = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = strstr(lines[i], "\"event\":\"Order Completed\"");
        if (!p) continue;
        int idx[32], k = 0;
        while ((p = strstr(p, "{\"product_id\":\"sku-")) && k < 32) idx[k++] = atoi(p++ + 19);
        if (k < 2) continue;
        multi++;
        int found = 0;
        for (int a = 0; a < k && !found; a++)
            for (int b = a + 1; b < k && !found; b++)
                found = group[idx[a]][0] && !strcmp(group[idx[a]], group[idx[b]]);
        cohesive += (size_t)found;
    }
    assert_true(multi > 50);
    if (cohesive * 2 < multi) fail_msg("only %zu of %zu multi-item orders share a group", cohesive, multi);
    free(lines);
    free(text);
}

static void test_catalog_sizes(void **state)
{
    (void)state;
    c360_demo_opts o = small_opts();
    uint64_t sizes[] = {1, 7, 500};
    for (size_t s = 0; s < 3; s++) {
        o.products = sizes[s];
        o.customers = 20;
        c360_demo *d = c360_demo_new(&o);
        assert_non_null(d);
        char *cat = c360_demo_catalog_json(d);
        assert_non_null(cat);
        assert_true(json_valid(cat, '['));
        size_t count = 0;
        for (const char *p = cat; (p = strstr(p, "\"product_id\":")); p++) count++;
        assert_int_equal(count, sizes[s]);
        free(cat);
        char *buf = NULL;
        size_t len = 0;
        while (c360_demo_next_day(d, &buf, &len)) {
        }
        assert_true(len > 0);
        free(buf);
        c360_demo_free(d);
    }
    o.products = 0;
    assert_null(c360_demo_new(&o));
    o.products = 120;
    o.days = 0;
    assert_null(c360_demo_new(&o));
}

static int64_t ts_to_ms(const char *ts)
{
    char date[11];
    memcpy(date, ts, 10);
    date[10] = 0;
    int64_t ms;
    assert_int_equal(c360_demo_parse_date(date, &ms), 0);
    int h, m, s, f;
    assert_int_equal(sscanf(ts + 11, "%2d:%2d:%2d.%3d", &h, &m, &s, &f), 4);
    return ms + ((h * 60 + m) * 60 + s) * 1000LL + f;
}

static void test_peek_and_edges(void **state)
{
    (void)state;
    c360_demo_opts o = small_opts();
    o.customers = 30;
    o.days = 3;
    c360_demo *d = c360_demo_new(&o);
    assert_non_null(d);
    int64_t peek;
    size_t total = 0;
    while ((peek = c360_demo_peek_ms(d)) >= 0) {
        char *buf = NULL, ts[32];
        size_t len = 0;
        assert_int_equal(c360_demo_next_events(d, 1, &buf, &len), 1);
        assert_non_null(get_str(buf, "timestamp", ts, sizeof ts));
        assert_int_equal(ts_to_ms(ts), peek);
        free(buf);
        total++;
    }
    assert_true(total > 50);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(c360_demo_next_day(d, &buf, &len), 0);
    assert_int_equal(c360_demo_next_events(d, 10, &buf, &len), 0);
    free(buf);
    c360_demo_free(d);

    /* appending to an existing buffer keeps its prefix */
    d = c360_demo_new(&o);
    buf = malloc(3);
    memcpy(buf, "ab\n", 3);
    len = 3;
    assert_true(c360_demo_next_events(d, 5, &buf, &len) == 5);
    assert_memory_equal(buf, "ab\n{\"messageId\":\"m-42-1\",", 25);
    free(buf);
    c360_demo_free(d);

    o.customers = 0;
    d = c360_demo_new(&o);
    assert_non_null(d);
    buf = NULL;
    len = 0;
    assert_int_equal(c360_demo_next_day(d, &buf, &len), 0);
    free(buf);
    c360_demo_free(d);
}

static void test_parse_date(void **state)
{
    (void)state;
    int64_t ms = 0;
    assert_int_equal(c360_demo_parse_date("2026-10-01", &ms), 0);
    assert_int_equal(ms, 1790812800000LL);
    assert_int_equal(c360_demo_parse_date("1970-01-01", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(c360_demo_parse_date("2024-02-29", &ms), 0);
    assert_int_equal(ms, 1709164800000LL);
    const char *bad[] = {"2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "26-10-01",
                         "2026/10/01", "2026-10-1",  "1969-12-31", "",           "2026-10-01T"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (c360_demo_parse_date(bad[i], &ms) != -1) fail_msg("accepted '%s'", bad[i]);
}

static int run_cmd(int argc, const char **argv, int quiet)
{
    int saved_out = -1, saved_err = -1;
    if (quiet) { /* keep --help text and error messages out of the test log */
        fflush(stdout);
        fflush(stderr);
        int devnull = open("/dev/null", O_WRONLY);
        saved_out = dup(1);
        saved_err = dup(2);
        dup2(devnull, 1);
        dup2(devnull, 2);
        close(devnull);
    }
    int rc = c360_cmd_gen_demo(argc, (char **)argv);
    if (quiet) {
        fflush(stdout);
        fflush(stderr);
        dup2(saved_out, 1);
        dup2(saved_err, 2);
        close(saved_out);
        close(saved_err);
    }
    return rc;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void test_cmd(void **state)
{
    (void)state;
    char dir[] = "/tmp/c360-gendemo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[128], cat[128];
    snprintf(out, sizeof out, "%s/ev.ndjson", dir);
    snprintf(cat, sizeof cat, "%s/cat.json", dir);

    const char *ok[] = {"gen-demo", "--customers", "25", "--days=4", "--seed", "7",
                        "--start",  "2027-01-30",  "-o", out,        "--catalog", cat};
    assert_int_equal(run_cmd(12, ok, 0), 0);
    c360_demo_opts o;
    c360_demo_opts_default(&o);
    o.customers = 25;
    o.days = 4;
    o.seed = 7;
    assert_int_equal(c360_demo_parse_date("2027-01-30", &o.start_ms), 0);
    size_t la, lb;
    char *a = gen_all(&o, 0, &la, NULL);
    char *b = slurp(out, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_int_equal(strncmp(b, "{\"messageId\":\"m-7-1\",", 21), 0);
    assert_non_null(strstr(b, "\"timestamp\":\"2027-01-30T"));
    free(a);
    free(b);
    b = slurp(cat, &lb);
    assert_true(lb > 2 && b[lb - 1] == '\n');
    b[lb - 1] = 0;
    assert_true(json_valid(b, '['));
    free(b);

    const char *help[] = {"gen-demo", "--help"};
    assert_int_equal(run_cmd(2, help, 1), 0);
    const char *bad1[] = {"gen-demo", "--bogus"};
    const char *bad2[] = {"gen-demo", "--customers", "12x"};
    const char *bad3[] = {"gen-demo", "--customers"};
    const char *bad4[] = {"gen-demo", "--start", "2026-02-30"};
    const char *bad5[] = {"gen-demo", "--products", "0"};
    const char *bad6[] = {"gen-demo", "--days", "-3"};
    const char *bad7[] = {"gen-demo", "--seed", "18446744073709551616"};
    const char *bad8[] = {"gen-demo", "--start", "9999-12-30", "--days", "5"};
    assert_int_equal(run_cmd(2, bad1, 1), 2);
    assert_int_equal(run_cmd(3, bad2, 1), 2);
    assert_int_equal(run_cmd(2, bad3, 1), 2);
    assert_int_equal(run_cmd(3, bad4, 1), 2);
    assert_int_equal(run_cmd(3, bad5, 1), 2);
    assert_int_equal(run_cmd(3, bad6, 1), 2);
    assert_int_equal(run_cmd(3, bad7, 1), 2);
    assert_int_equal(run_cmd(5, bad8, 1), 2);
    const char *unwritable[] = {"gen-demo", "--customers", "2", "-o", "/nonexistent-dir/x.ndjson"};
    assert_int_equal(run_cmd(5, unwritable, 1), 1);

    unlink(out);
    unlink(cat);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validator_self_check),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_lines_valid_and_ordered),
        cmocka_unit_test(test_message_ids_unique),
        cmocka_unit_test(test_anonymous_then_identify),
        cmocka_unit_test(test_orders_and_refunds),
        cmocka_unit_test(test_affinity_groups),
        cmocka_unit_test(test_catalog_sizes),
        cmocka_unit_test(test_peek_and_edges),
        cmocka_unit_test(test_parse_date),
        cmocka_unit_test(test_cmd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
