/* test_profile.c - unit tests for the unified profile (src/profile/profile.c).
 * Covers: record encode/decode round trip of every field, decoding truncated and corrupted
 * records (returns -1, never crashes or leaks; run under ASan/LSan) -- each with both decoders,
 * the owning one and the read-only one whose strings and arrays live in an arena, last-write-wins traits
 * (older never overwrites, newer does, equal times resolved the same whatever the order),
 * identities and counters, absorb on merge (identity union, LWW traits, summed counters,
 * first/last seen, merged list), the external id string and the JSON view. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"
#include "util/json.h"
#include "util/strbuf.h"

/* ------------------------------------------------------------------ helpers */

static void set_trait(c360_profile *p, const char *k, const char *json, int64_t ts)
{
    c360_profile_set_trait(p, k, strlen(k), json, strlen(json), ts);
}

static const c360_trait *trait(const c360_profile *p, const char *k)
{
    for (int i = 0; i < p->ntraits; i++)
        if (!strcmp(p->traits[i].key, k)) return &p->traits[i];
    return NULL;
}

static uint64_t counter(const c360_counter *c, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(c[i].name, name)) return c[i].n;
    return 0;
}

static const char *ident_event(const c360_profile *p, const char *type, const char *value)
{
    for (int i = 0; i < p->nids; i++)
        if (!strcmp(p->ids[i].type, type) && !strcmp(p->ids[i].value, value)) return p->ids[i].event;
    fail_msg("identity %s:%s missing", type, value);
    return NULL;
}

static int64_t ident_first(const c360_profile *p, const char *type, const char *value)
{
    for (int i = 0; i < p->nids; i++)
        if (!strcmp(p->ids[i].type, type) && !strcmp(p->ids[i].value, value)) return p->ids[i].first_ts;
    fail_msg("identity %s:%s missing", type, value);
    return 0;
}

/* a profile with every field populated, including negative times and big numbers */
static void full_profile(c360_profile *p)
{
    c360_profile_init(p, 0x00a3f1e2b4c5d6e7ULL, 1790842503120LL);
    c360_profile_add_ident(p, "user_id", "u-42", 1000, "msg-u");
    c360_profile_add_ident(p, "email", "ann@example.com", -5000, "msg-\"e\"");
    c360_profile_add_ident(p, "anonymous_id", "", 7, "");   /* empty strings survive too */
    set_trait(p, "name", "\"Ann\"", 100);
    set_trait(p, "address", "{\"city\":\"Z\\u00fcrich\",\"zip\":8001}", 200);
    set_trait(p, "caf\xc3\xa9", "[1,2,3]", -3);
    c360_profile_count(p, "track", "Product Viewed");
    c360_profile_count(p, "track", "Product Viewed");
    c360_profile_count(p, "identify", NULL);
    c360_profile_count(p, "page", "");
    c360_profile_seen(p, -86400000LL);
    c360_profile_seen(p, 1790842503120LL);
    p->merge_seq = 300;                 /* multi-byte varint */
    p->total = 1ULL << 40;
    p->merged = malloc(2 * sizeof *p->merged);
    p->merged[0] = 0xffffffffffffffffULL;
    p->merged[1] = 5;
    p->nmerged = 2;
    c360_profile_set_ext(p, "feature\0state", 13);
    int prev;
    c360_profile_set_consent(p, "email", 1, 1500, "web", &prev);
    c360_profile_set_consent(p, "marketing", 0, 1600, "", &prev);
}

static void assert_profiles_equal(const c360_profile *a, const c360_profile *b)
{
    assert_int_equal(a->pid, b->pid);
    assert_int_equal(a->created_ms, b->created_ms);
    assert_int_equal(a->first_seen, b->first_seen);
    assert_int_equal(a->last_seen, b->last_seen);
    assert_int_equal(a->total, b->total);
    assert_int_equal(a->merge_seq, b->merge_seq);
    assert_int_equal(a->nids, b->nids);
    for (int i = 0; i < a->nids; i++) {
        assert_string_equal(a->ids[i].type, b->ids[i].type);
        assert_string_equal(a->ids[i].value, b->ids[i].value);
        assert_int_equal(a->ids[i].first_ts, b->ids[i].first_ts);
        assert_string_equal(a->ids[i].event, b->ids[i].event);
    }
    assert_int_equal(a->ntraits, b->ntraits);
    for (int i = 0; i < a->ntraits; i++) {
        assert_string_equal(a->traits[i].key, b->traits[i].key);
        assert_string_equal(a->traits[i].json, b->traits[i].json);
        assert_int_equal(a->traits[i].ts, b->traits[i].ts);
    }
    assert_int_equal(a->nby_type, b->nby_type);
    for (int i = 0; i < a->nby_type; i++) {
        assert_string_equal(a->by_type[i].name, b->by_type[i].name);
        assert_int_equal(a->by_type[i].n, b->by_type[i].n);
    }
    assert_int_equal(a->nby_event, b->nby_event);
    for (int i = 0; i < a->nby_event; i++) {
        assert_string_equal(a->by_event[i].name, b->by_event[i].name);
        assert_int_equal(a->by_event[i].n, b->by_event[i].n);
    }
    assert_int_equal(a->nmerged, b->nmerged);
    for (int i = 0; i < a->nmerged; i++) assert_int_equal(a->merged[i], b->merged[i]);
    assert_int_equal(a->next, b->next);
    if (a->next) assert_memory_equal(a->ext, b->ext, a->next);
    assert_int_equal(a->nconsents, b->nconsents);
    for (int i = 0; i < a->nconsents; i++) {
        assert_string_equal(a->consents[i].key, b->consents[i].key);
        assert_string_equal(a->consents[i].source, b->consents[i].source);
        assert_int_equal(a->consents[i].granted, b->consents[i].granted);
        assert_int_equal(a->consents[i].ts, b->consents[i].ts);
    }
}

/* ------------------------------------------------------------------ codec */

typedef int (*decode_fn)(c360_profile *, const void *, size_t);
static const decode_fn decoders[2] = {c360_profile_decode, c360_profile_decode_ro};

static void test_round_trip(void **state)
{
    (void)state;
    c360_profile p, q;
    full_profile(&p);
    /* sanity of what was built */
    assert_int_equal(p.nids, 3);
    assert_int_equal(p.ntraits, 3);
    assert_int_equal(p.total, 1ULL << 40);
    assert_int_equal(counter(p.by_type, p.nby_type, "track"), 2);
    assert_int_equal(counter(p.by_event, p.nby_event, "Product Viewed"), 2);
    assert_int_equal(p.nby_event, 1);          /* NULL and "" names are not counted */
    assert_int_equal(p.first_seen, -86400000LL);

    strbuf buf = STRBUF_INIT;
    c360_profile_encode(&p, &buf);
    assert_true(buf.len > 20);
    for (int d = 0; d < 2; d++) {
        assert_int_equal(decoders[d](&q, buf.buf, buf.len), 0);
        assert_int_equal(q.arena != NULL, d);
        assert_profiles_equal(&p, &q);
        /* re-encoding the decoded profile gives the same bytes (ext and consents included) */
        strbuf buf2 = STRBUF_INIT;
        c360_profile_encode(&q, &buf2);
        assert_int_equal(buf2.len, buf.len);
        assert_memory_equal(buf2.buf, buf.buf, buf.len);
        c360_profile_release(&q);
        sb_release(&buf2);
    }

    /* a fresh, empty profile round-trips too (first/last seen sentinels included) */
    c360_profile e, f;
    c360_profile_init(&e, 1, 2);
    sb_reset(&buf);
    c360_profile_encode(&e, &buf);
    for (int d = 0; d < 2; d++) {
        assert_int_equal(decoders[d](&f, buf.buf, buf.len), 0);
        assert_profiles_equal(&e, &f);
        assert_int_equal(f.first_seen, INT64_MAX);
        assert_int_equal(f.last_seen, INT64_MIN);
        c360_profile_release(&f);
    }
    c360_profile_release(&e);
    c360_profile_release(&p);
    sb_release(&buf);
}

static void test_decode_truncated(void **state)
{
    (void)state;
    c360_profile p, q;
    full_profile(&p);
    strbuf buf = STRBUF_INIT;
    c360_profile_encode(&p, &buf);
    /* every strict prefix is refused; decoding from a heap copy of exactly that length lets
     * ASan catch any read past the end */
    for (size_t n = 0; n < 2 * buf.len; n++) {
        char *copy = malloc(n % buf.len ? n % buf.len : 1);
        memcpy(copy, buf.buf, n % buf.len);
        int rc = decoders[n / buf.len](&q, copy, n % buf.len);
        free(copy);
        if (rc != -1) {
            c360_profile_release(&q);
            fail_msg("prefix of %zu/%zu bytes decoded", n % buf.len, buf.len);
        }
        /* on failure the profile is left empty (nothing to free, safe to release) */
        assert_null(q.ids);
        assert_int_equal(q.nids, 0);
        c360_profile_release(&q);
    }
    c360_profile_release(&p);
    sb_release(&buf);
}

static void test_decode_corrupt(void **state)
{
    (void)state;
    c360_profile q;
    /* wrong version */
    static const unsigned char v2[] = {2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(c360_profile_decode(&q, v2, sizeof v2), -1);
    /* a count far larger than the record */
    static const unsigned char huge[] = {1, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(c360_profile_decode(&q, huge, sizeof huge), -1);
    /* a string length beyond the end */
    static const unsigned char strlen_bad[] = {1, 1, 0, 0, 0, 0, 0, 1, 100, 'a'};
    assert_int_equal(c360_profile_decode(&q, strlen_bad, sizeof strlen_bad), -1);
    /* an unterminated varint (11 continuation bytes) */
    static const unsigned char varint_bad[] = {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(c360_profile_decode(&q, varint_bad, sizeof varint_bad), -1);
    assert_int_equal(c360_profile_decode(&q, "", 0), -1);

    /* random corruption of a valid record: decode either succeeds or returns -1; with ASan/LSan
     * this proves no out-of-bounds read and no leak on either path */
    c360_profile p;
    full_profile(&p);
    strbuf buf = STRBUF_INIT;
    c360_profile_encode(&p, &buf);
    uint32_t seed = 12345;
    int ok = 0, bad = 0;
    for (int round = 0; round < 6000; round++) {
        char *copy = malloc(buf.len);
        memcpy(copy, buf.buf, buf.len);
        int flips = 1 + round % 4;
        for (int k = 0; k < flips; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % buf.len;
            seed = seed * 1103515245u + 12345u;
            copy[at] = (char)(seed >> 16);
        }
        int rc = decoders[round % 2](&q, copy, buf.len);
        free(copy);
        assert_true(rc == 0 || rc == -1);
        if (rc == 0) {
            ok++;
            /* a decoded profile is usable */
            strbuf again = STRBUF_INIT;
            c360_profile_encode(&q, &again);
            sb_release(&again);
            c360_profile_release(&q);
        } else {
            bad++;
        }
    }
    assert_true(bad > 0);
    assert_true(ok + bad == 6000);
    c360_profile_release(&p);
    sb_release(&buf);
}

/* ------------------------------------------------------------------ LWW traits */

static void test_trait_lww(void **state)
{
    (void)state;
    c360_profile p;
    c360_profile_init(&p, 1, 0);
    assert_int_equal(c360_profile_set_trait(&p, "plan", 4, "\"pro\"", 5, 1000), 1);
    assert_string_equal(trait(&p, "plan")->json, "\"pro\"");
    /* older never overwrites */
    assert_int_equal(c360_profile_set_trait(&p, "plan", 4, "\"free\"", 6, 999), 0);
    assert_string_equal(trait(&p, "plan")->json, "\"pro\"");
    assert_int_equal(trait(&p, "plan")->ts, 1000);
    assert_int_equal(c360_profile_set_trait(&p, "plan", 4, "\"free\"", 6, -5), 0);
    assert_string_equal(trait(&p, "plan")->json, "\"pro\"");
    /* newer does */
    assert_int_equal(c360_profile_set_trait(&p, "plan", 4, "\"enterprise\"", 12, 1001), 1);
    assert_string_equal(trait(&p, "plan")->json, "\"enterprise\"");
    assert_int_equal(trait(&p, "plan")->ts, 1001);
    /* same time, same value: no change */
    assert_int_equal(c360_profile_set_trait(&p, "plan", 4, "\"enterprise\"", 12, 1001), 0);
    /* keys are exact (klen respected, case-sensitive) */
    assert_int_equal(c360_profile_set_trait(&p, "planXYZ", 4, "1", 1, 0), 0);   /* "plan" at ts 0: older */
    assert_int_equal(c360_profile_set_trait(&p, "Plan", 4, "1", 1, 0), 1);
    assert_int_equal(p.ntraits, 2);
    c360_profile_release(&p);
}

static void apply_in_order(c360_profile *p, const char *const *vals, int n, int64_t ts)
{
    for (int i = 0; i < n; i++) set_trait(p, "k", vals[i], ts);
}

static void test_trait_tie_order_independent(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"\"a\"", "\"b\""},
        {"1", "10"},               /* one a prefix of the other */
        {"\"x\"", "null"},
        {"{\"a\":1}", "[1]"},
        {"true", "false"},
        {"\"Ann\"", "\"ann\""},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        c360_profile ab, ba;
        c360_profile_init(&ab, 1, 0);
        c360_profile_init(&ba, 2, 0);
        const char *fwd[2] = {pairs[i][0], pairs[i][1]};
        const char *rev[2] = {pairs[i][1], pairs[i][0]};
        apply_in_order(&ab, fwd, 2, 5000);
        apply_in_order(&ba, rev, 2, 5000);
        if (strcmp(trait(&ab, "k")->json, trait(&ba, "k")->json) != 0)
            fail_msg("tie %s vs %s: A,B -> %s but B,A -> %s", fwd[0], fwd[1], trait(&ab, "k")->json, trait(&ba, "k")->json);
        assert_int_equal(trait(&ab, "k")->ts, 5000);
        c360_profile_release(&ab);
        c360_profile_release(&ba);
    }
    /* three-way tie: all 6 orders agree */
    static const char *const three[3] = {"\"m\"", "\"z\"", "\"a\""};
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    char first[16] = "";
    for (int k = 0; k < 6; k++) {
        c360_profile p;
        c360_profile_init(&p, 1, 0);
        for (int i = 0; i < 3; i++) set_trait(&p, "k", three[perms[k][i]], 7);
        if (!k) snprintf(first, sizeof first, "%s", trait(&p, "k")->json);
        else assert_string_equal(trait(&p, "k")->json, first);
        c360_profile_release(&p);
    }
}

/* ------------------------------------------------------------------ identities, counts */

static void test_identities_and_counts(void **state)
{
    (void)state;
    c360_profile p;
    c360_profile_init(&p, 9, 0);
    c360_profile_add_ident(&p, "email", "a@x.com", 500, "m500");
    c360_profile_add_ident(&p, "email", "b@x.com", 600, "m600");
    c360_profile_add_ident(&p, "email", "a@x.com", 100, "m100");   /* earlier sighting lowers first_ts */
    c360_profile_add_ident(&p, "email", "a@x.com", 900, "m900");   /* later one does not raise it */
    c360_profile_add_ident(&p, "user_id", "a@x.com", 1, "m1");   /* other type, same value: distinct */
    assert_int_equal(p.nids, 3);
    assert_int_equal(ident_first(&p, "email", "a@x.com"), 100);
    assert_string_equal(ident_event(&p, "email", "a@x.com"), "m100");   /* the event moves with first_ts */
    assert_string_equal(ident_event(&p, "email", "b@x.com"), "m600");
    assert_int_equal(c360_profile_count_type(&p, "email"), 2);
    assert_int_equal(c360_profile_count_type(&p, "user_id"), 1);
    assert_int_equal(c360_profile_count_type(&p, "phone"), 0);
    assert_true(c360_profile_has_ident(&p, "user_id", "a@x.com"));
    assert_false(c360_profile_has_ident(&p, "user_id", "b@x.com"));
    assert_false(c360_profile_has_ident(&p, "email", "A@x.com"));

    c360_profile_seen(&p, 50);
    c360_profile_seen(&p, 10);
    c360_profile_seen(&p, 30);
    assert_int_equal(p.first_seen, 10);
    assert_int_equal(p.last_seen, 50);
    c360_profile_count(&p, "track", "Order Completed");
    c360_profile_count(&p, "track", "Order Completed");
    c360_profile_count(&p, "page", "Home");
    assert_int_equal(p.total, 3);
    assert_int_equal(counter(p.by_type, p.nby_type, "track"), 2);
    assert_int_equal(counter(p.by_type, p.nby_type, "page"), 1);
    assert_int_equal(counter(p.by_event, p.nby_event, "Order Completed"), 2);
    assert_int_equal(counter(p.by_event, p.nby_event, "Home"), 1);
    c360_profile_release(&p);
}

static void test_ident_first_event_tie(void **state)
{
    (void)state;
    /* two events carrying the identifier at the same time: the same one is recorded whatever
     * the order they are applied in */
    c360_profile ab, ba;
    c360_profile_init(&ab, 1, 0);
    c360_profile_init(&ba, 1, 0);
    c360_profile_add_ident(&ab, "email", "t@x.io", 500, "msg-b");
    c360_profile_add_ident(&ab, "email", "t@x.io", 500, "msg-a");
    c360_profile_add_ident(&ba, "email", "t@x.io", 500, "msg-a");
    c360_profile_add_ident(&ba, "email", "t@x.io", 500, "msg-b");
    assert_int_equal(ab.nids, 1);
    assert_string_equal(ident_event(&ab, "email", "t@x.io"), ident_event(&ba, "email", "t@x.io"));
    assert_string_equal(ident_event(&ab, "email", "t@x.io"), "msg-a");
    /* an earlier time wins over a smaller messageId */
    c360_profile_add_ident(&ab, "email", "t@x.io", 499, "msg-z");
    assert_string_equal(ident_event(&ab, "email", "t@x.io"), "msg-z");
    assert_int_equal(ident_first(&ab, "email", "t@x.io"), 499);
    c360_profile_release(&ab);
    c360_profile_release(&ba);
}

/* ------------------------------------------------------------------ absorb */

static void test_absorb(void **state)
{
    (void)state;
    c360_profile s, l;
    c360_profile_init(&s, 100, 1000);
    c360_profile_add_ident(&s, "email", "a@x.com", 300, "s-email");
    c360_profile_add_ident(&s, "user_id", "u1", 300, "s-user");
    set_trait(&s, "name", "\"Ann\"", 10);
    set_trait(&s, "city", "\"Paris\"", 30);
    c360_profile_count(&s, "track", "Viewed");
    c360_profile_count(&s, "track", "Viewed");
    c360_profile_seen(&s, 100);
    c360_profile_seen(&s, 200);
    s.merged = malloc(sizeof *s.merged);
    s.merged[0] = 50;
    s.nmerged = 1;

    c360_profile_init(&l, 200, 2000);
    c360_profile_add_ident(&l, "email", "a@x.com", 40, "l-email");   /* shared, seen earlier by the loser */
    c360_profile_add_ident(&l, "phone", "15550101234", 60, "l-phone");
    set_trait(&l, "name", "\"Annie\"", 20);                 /* newer: wins */
    set_trait(&l, "city", "\"Rome\"", 5);                   /* older: loses */
    set_trait(&l, "plan", "\"pro\"", 1);                     /* new key: added */
    c360_profile_count(&l, "track", "Viewed");
    c360_profile_count(&l, "identify", NULL);
    c360_profile_count(&l, "track", "Added");
    c360_profile_seen(&l, 50);
    c360_profile_seen(&l, 150);
    l.merged = malloc(2 * sizeof *l.merged);
    l.merged[0] = 300;
    l.merged[1] = 301;
    l.nmerged = 2;

    c360_profile_absorb(&s, &l);
    /* identities: union, no duplicates, min first_ts */
    assert_int_equal(s.nids, 3);
    assert_int_equal(ident_first(&s, "email", "a@x.com"), 40);
    assert_string_equal(ident_event(&s, "email", "a@x.com"), "l-email");   /* the loser saw it first */
    assert_string_equal(ident_event(&s, "user_id", "u1"), "s-user");
    assert_string_equal(ident_event(&s, "phone", "15550101234"), "l-phone");
    assert_int_equal(ident_first(&s, "user_id", "u1"), 300);
    assert_int_equal(ident_first(&s, "phone", "15550101234"), 60);
    /* traits: LWW by event time */
    assert_int_equal(s.ntraits, 3);
    assert_string_equal(trait(&s, "name")->json, "\"Annie\"");
    assert_int_equal(trait(&s, "name")->ts, 20);
    assert_string_equal(trait(&s, "city")->json, "\"Paris\"");
    assert_int_equal(trait(&s, "city")->ts, 30);
    assert_string_equal(trait(&s, "plan")->json, "\"pro\"");
    /* counters summed */
    assert_int_equal(s.total, 5);
    assert_int_equal(counter(s.by_type, s.nby_type, "track"), 4);
    assert_int_equal(counter(s.by_type, s.nby_type, "identify"), 1);
    assert_int_equal(counter(s.by_event, s.nby_event, "Viewed"), 3);
    assert_int_equal(counter(s.by_event, s.nby_event, "Added"), 1);
    /* first/last seen: min/max */
    assert_int_equal(s.first_seen, 50);
    assert_int_equal(s.last_seen, 200);
    /* identity of the survivor unchanged */
    assert_int_equal(s.pid, 100);
    assert_int_equal(s.created_ms, 1000);
    /* merged: own earlier merges, the loser, and everything the loser had absorbed */
    assert_int_equal(s.nmerged, 4);
    assert_int_equal(s.merged[0], 50);
    assert_int_equal(s.merged[1], 200);
    assert_int_equal(s.merged[2], 300);
    assert_int_equal(s.merged[3], 301);
    /* the loser is not modified */
    assert_int_equal(l.nids, 2);
    assert_int_equal(l.total, 3);

    /* absorbing an empty (never seen) profile keeps first/last seen */
    c360_profile e;
    c360_profile_init(&e, 400, 3000);
    c360_profile_absorb(&s, &e);
    assert_int_equal(s.first_seen, 50);
    assert_int_equal(s.last_seen, 200);
    assert_int_equal(s.total, 5);
    assert_int_equal(s.nmerged, 5);
    c360_profile_release(&e);
    c360_profile_release(&s);
    c360_profile_release(&l);
}

static void test_absorb_order_independent_traits(void **state)
{
    (void)state;
    /* merging A into B or B into A gives the same trait values (LWW + tie rule) */
    c360_profile a1, b1, a2, b2;
    c360_profile_init(&a1, 1, 0);
    c360_profile_init(&b1, 2, 0);
    set_trait(&a1, "x", "\"a\"", 10);
    set_trait(&a1, "y", "\"a\"", 30);
    set_trait(&a1, "z", "\"same-time-a\"", 50);
    set_trait(&b1, "x", "\"b\"", 20);
    set_trait(&b1, "y", "\"b\"", 25);
    set_trait(&b1, "z", "\"same-time-b\"", 50);
    c360_profile_init(&a2, 1, 0);
    c360_profile_init(&b2, 2, 0);
    c360_profile_absorb(&a2, &a1);   /* copies */
    c360_profile_absorb(&b2, &b1);
    c360_profile_absorb(&a1, &b1);   /* B into A */
    c360_profile_absorb(&b2, &a2);   /* A into B */
    const char *keys[] = {"x", "y", "z"};
    for (int i = 0; i < 3; i++) {
        assert_string_equal(trait(&a1, keys[i])->json, trait(&b2, keys[i])->json);
        assert_int_equal(trait(&a1, keys[i])->ts, trait(&b2, keys[i])->ts);
    }
    assert_string_equal(trait(&a1, "x")->json, "\"b\"");
    assert_string_equal(trait(&a1, "y")->json, "\"a\"");
    c360_profile_release(&a1);
    c360_profile_release(&b1);
    c360_profile_release(&a2);
    c360_profile_release(&b2);
}

/* ------------------------------------------------------------------ ids and JSON */

static void test_id_string(void **state)
{
    (void)state;
    char s[20];
    c360_profile_id_str(0x00a3f1e2b4c5d6e7ULL, s);
    assert_string_equal(s, "c-00a3f1e2b4c5d6e7");
    uint64_t pid = 0;
    assert_int_equal(c360_profile_id_parse(s, strlen(s), &pid), 0);
    assert_int_equal(pid, 0x00a3f1e2b4c5d6e7ULL);
    uint64_t samples[] = {0, 1, 0xffffffffffffffffULL, (7ULL << 48) | 12345, 0x8000000000000000ULL};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        c360_profile_id_str(samples[i], s);
        assert_int_equal(strlen(s), 18);
        pid = 42;
        assert_int_equal(c360_profile_id_parse(s, 18, &pid), 0);
        assert_int_equal(pid, samples[i]);
    }
    pid = 42;
    assert_int_equal(c360_profile_id_parse("c-00A3F1E2B4C5D6E7", 18, &pid), -1);   /* lower-case only */
    assert_int_equal(c360_profile_id_parse("x-00a3f1e2b4c5d6e7", 18, &pid), -1);
    assert_int_equal(c360_profile_id_parse("c_00a3f1e2b4c5d6e7", 18, &pid), -1);
    assert_int_equal(c360_profile_id_parse("c-00a3f1e2b4c5d6e", 17, &pid), -1);
    assert_int_equal(c360_profile_id_parse("c-00a3f1e2b4c5d6e7f", 19, &pid), -1);
    assert_int_equal(c360_profile_id_parse("c-00a3f1e2b4c5d6eg", 18, &pid), -1);
    assert_int_equal(c360_profile_id_parse("", 0, &pid), -1);
    assert_int_equal(pid, 42);
}

static void test_to_json(void **state)
{
    (void)state;
    c360_profile p;
    full_profile(&p);
    strbuf out = STRBUF_INIT;
    c360_profile_to_json(&p, &out);
    c360_json j;
    c360_json_init(&j);
    char err[128];
    if (c360_json_parse(&j, out.buf, out.len, err, sizeof err) != 0) fail_msg("profile JSON invalid: %s\n%s", err, out.buf);
    assert_true(c360_json_streq(&j, c360_json_get(&j, 0, "id"), "c-00a3f1e2b4c5d6e7"));
    assert_true(c360_json_streq(&j, c360_json_get(&j, 0, "last_seen"), "2026-10-01T08:15:03.120Z"));
    assert_true(c360_json_streq(&j, c360_json_get(&j, 0, "first_seen"), "1969-12-31T00:00:00.000Z"));
    int ids = c360_json_get(&j, 0, "identities");
    assert_int_equal(j.tok[ids].size, 3);
    int id0 = ids + 1;
    assert_true(c360_json_streq(&j, c360_json_get(&j, id0, "type"), "user_id"));
    assert_true(c360_json_streq(&j, c360_json_get(&j, id0, "event"), "msg-u"));
    int id1 = c360_json_skip(&j, id0);
    assert_true(c360_json_streq(&j, c360_json_get(&j, id1, "event"), "msg-\\\"e\\\""));   /* escaped */
    int traits = c360_json_get(&j, 0, "traits");
    assert_int_equal(j.tok[traits].size, 3);
    int name = c360_json_get(&j, traits, "name");
    assert_true(c360_json_streq(&j, name, "Ann"));
    int addr = c360_json_get(&j, traits, "address");
    assert_int_equal(j.tok[addr].type, CJ_OBJECT);   /* trait JSON embedded as-is */
    int counts = c360_json_get(&j, 0, "counts");
    double d = 0;
    assert_int_equal(c360_json_num(&j, c360_json_get(&j, counts, "total"), &d), 0);
    assert_true(d == (double)(1ULL << 40));
    int merged = c360_json_get(&j, 0, "merged_profiles");
    assert_int_equal(j.tok[merged].size, 2);
    assert_true(c360_json_streq(&j, merged + 1, "c-ffffffffffffffff"));
    c360_json_release(&j);
    sb_release(&out);

    /* a profile never seen prints null times */
    c360_profile e;
    c360_profile_init(&e, 3, 0);
    c360_profile_to_json(&e, &out);
    assert_non_null(strstr(out.buf, "\"first_seen\":null"));
    assert_non_null(strstr(out.buf, "\"last_seen\":null"));
    c360_profile_release(&e);
    sb_release(&out);
    c360_profile_release(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_decode_truncated),
        cmocka_unit_test(test_decode_corrupt),
        cmocka_unit_test(test_trait_lww),
        cmocka_unit_test(test_trait_tie_order_independent),
        cmocka_unit_test(test_identities_and_counts),
        cmocka_unit_test(test_ident_first_event_tie),
        cmocka_unit_test(test_absorb),
        cmocka_unit_test(test_absorb_order_independent_traits),
        cmocka_unit_test(test_id_string),
        cmocka_unit_test(test_to_json),
    };
    return cmocka_run_group_tests_name("profile", tests, NULL, NULL);
}
