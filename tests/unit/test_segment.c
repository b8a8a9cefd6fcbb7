/* test_segment.c - unit tests for Segment tracking-API parsing (src/sources/segment.c).
 * Covers: identifier extraction and normalisation (userId, anonymousId, traits email/phone,
 * context.externalIds) sorted by priority, hashes keyed with the secret, field type errors
 * named in the message, missing / blocked identifiers, the time rules (skew correction,
 * explicit timestamp, originalTimestamp, receivedAt), the stored JSON (server fields set,
 * writeKey removed), messageId generation, size limits, batches (errors by index, batch-level
 * context), invalid UTF-8 and malformed JSON. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/errors.h"
#include "identity/normalize.h"
#include "sources/event.h"
#include "sources/segment.h"
#include "util/clock.h"
#include "util/json.h"

/* ------------------------------------------------------------------ fixture */

typedef struct {
    c360_config cfg;
    c360_id_rules rules;
    unsigned char secret[32];
    c360_segment_ctx cx;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    c360_config_defaults(&f->cfg);
    char err[256];
    if (c360_id_rules_init(&f->rules, &f->cfg, err, sizeof err) != 0) return -1;
    for (int i = 0; i < 32; i++) f->secret[i] = (unsigned char)(0xA0 + i);
    f->cx.rules = &f->rules;
    f->cx.secret = f->secret;
    f->cx.max_event_bytes = f->cfg.max_event_bytes;
    f->cx.max_batch_bytes = f->cfg.max_batch_bytes;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    c360_id_rules_release(&f->rules);
    c360_config_release(&f->cfg);
    free(f);
    return 0;
}

#define R0 1790842503120LL   /* received: 2026-10-01T08:15:03.120Z */

static int parse1(fx *f, int type, const char *body, int64_t recv, c360_event *ev, char *err, size_t errlen)
{
    memset(ev, 0x5a, sizeof *ev);   /* garbage: the parser must initialise everything */
    err[0] = 0;
    return c360_segment_parse_one(&f->cx, type, body, strlen(body), recv, ev, err, errlen);
}

/* parses body that must succeed */
static void ok1(fx *f, int type, const char *body, c360_event *ev)
{
    char err[256];
    int rc = parse1(f, type, body, R0, ev, err, sizeof err);
    if (rc != 0) fail_msg("parse failed (%s: %s) for %s", c360_err_name(rc), err, body);
}

/* parses body that must fail with code and a message containing want (may be NULL) */
static void bad1(fx *f, int type, const char *body, int code, const char *want)
{
    c360_event ev;
    char err[256];
    int rc = parse1(f, type, body, R0, &ev, err, sizeof err);
    if (rc == 0) {
        c360_event_release(&ev);
        fail_msg("accepted: %s", body);
    }
    if (rc != code) fail_msg("%s: got %s (%s), want %s", body, c360_err_name(rc), err, c360_err_name(code));
    if (want && !strstr(err, want)) fail_msg("%s: message '%s' lacks '%s'", body, err, want);
}

static const c360_id *find_id(const c360_event *ev, const char *type)
{
    for (int i = 0; i < ev->nids; i++)
        if (!strcmp(ev->ids[i].type, type)) return &ev->ids[i];
    return NULL;
}

static void expect_hash(const fx *f, const c360_id *id)
{
    c360_id x;
    memset(&x, 0, sizeof x);
    snprintf(x.type, sizeof x.type, "%s", id->type);
    x.value = (char *)id->value;
    c360_id_hash(&x, f->secret);
    assert_memory_equal(x.hash, id->hash, 16);
}

/* the stored JSON of ev, parsed; caller releases */
static void stored(const c360_event *ev, c360_json *j)
{
    c360_json_init(j);
    char err[128];
    if (c360_json_parse(j, ev->json.buf, ev->json.len, err, sizeof err) != 0)
        fail_msg("stored JSON invalid (%s): %s", err, ev->json.buf);
    assert_int_equal(j->tok[0].type, CJ_OBJECT);
}

static int count_key(const c360_json *j, int obj, const char *key)
{
    int n = 0, k = obj + 1;
    for (int i = 0; i < j->tok[obj].size; i++) {
        if (c360_json_streq(j, k, key)) n++;
        k = c360_json_skip(j, k + 1);
    }
    return n;
}

static void expect_str_member(const c360_json *j, int obj, const char *key, const char *want)
{
    int t = c360_json_get(j, obj, key);
    if (t < 0) fail_msg("member '%s' missing", key);
    strbuf sb = STRBUF_INIT;
    assert_int_equal(c360_json_str(j, t, &sb), 0);
    if (strcmp(sb.buf, want) != 0) fail_msg("member '%s' = '%s', want '%s'", key, sb.buf, want);
    sb_release(&sb);
}

static void time_str(int64_t ms, char buf[32]) { c360_time_format(ms, buf); }

/* ------------------------------------------------------------------ identifiers */

static void test_identify_ids_sorted(void **state)
{
    fx *f = *state;
    c360_event ev;
    ok1(f, -1,
        "{\"type\":\"identify\",\"anonymousId\":\" anon-1 \",\"userId\":\"U-42\","
        "\"traits\":{\"email\":\"  Ann@Example.COM \",\"phone\":\"+1 (555) 010-1234\",\"name\":\"Ann\"},"
        "\"context\":{\"externalIds\":[{\"id\":\"123.456\",\"type\":\"ga_client_id\",\"collection\":\"users\"}]}}",
        &ev);
    assert_int_equal(ev.type, C360_EV_IDENTIFY);
    assert_int_equal(ev.nids, 5);
    /* priority order: user_id, email, phone, other types, anonymous_id last */
    assert_string_equal(ev.ids[0].type, "user_id");
    assert_string_equal(ev.ids[0].value, "U-42");          /* case kept */
    assert_string_equal(ev.ids[1].type, "email");
    assert_string_equal(ev.ids[1].value, "ann@example.com");
    assert_string_equal(ev.ids[2].type, "phone");
    assert_string_equal(ev.ids[2].value, "15550101234");
    assert_string_equal(ev.ids[3].type, "ga_client_id");
    assert_string_equal(ev.ids[3].value, "123.456");
    assert_string_equal(ev.ids[4].type, "anonymous_id");
    assert_string_equal(ev.ids[4].value, "anon-1");        /* trimmed */
    for (int i = 0; i < ev.nids; i++) {
        expect_hash(f, &ev.ids[i]);
        if (i) assert_true(ev.ids[i - 1].prio <= ev.ids[i].prio);
    }
    assert_int_equal(ev.ids[0].prio, c360_id_prio(&f->rules, "user_id"));
    /* traits kept as raw JSON */
    assert_int_equal(ev.ntraits, 3);
    assert_string_equal(ev.traits[2].key, "name");
    assert_string_equal(ev.traits[2].json, "\"Ann\"");
    assert_string_equal(ev.traits[0].json, "\"  Ann@Example.COM \"");
    c360_event_release(&ev);

    /* context.traits also provide email/phone; a numeric phone and userId are accepted */
    ok1(f, C360_EV_TRACK,
        "{\"userId\":42,\"event\":\"E\",\"context\":{\"traits\":{\"email\":\"B@x.io\",\"phone\":5550101234}}}", &ev);
    assert_int_equal(ev.type, C360_EV_TRACK);
    assert_int_equal(ev.nids, 3);
    assert_string_equal(ev.ids[0].value, "42");
    assert_string_equal(find_id(&ev, "email")->value, "b@x.io");
    assert_string_equal(find_id(&ev, "phone")->value, "15550101234");
    assert_int_equal(ev.ntraits, 0);   /* only identify carries traits */
    c360_event_release(&ev);

    /* traits.email on a track event is not an identifier (only identify traits count) */
    ok1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"anonymousId\":\"a\",\"traits\":{\"email\":\"c@x.io\"}}", &ev);
    assert_int_equal(ev.nids, 1);
    assert_null(find_id(&ev, "email"));
    c360_event_release(&ev);

    /* an invalid email is skipped, the event still valid; duplicates collapse */
    ok1(f, -1,
        "{\"type\":\"identify\",\"userId\":\"u\",\"traits\":{\"email\":\"not-an-email\"},"
        "\"context\":{\"traits\":{\"email\":\"D@x.io\"},\"externalIds\":[{\"id\":\"d@X.io\",\"type\":\"email\"}]}}", &ev);
    assert_int_equal(ev.nids, 2);
    assert_string_equal(ev.ids[1].type, "email");
    assert_string_equal(ev.ids[1].value, "d@x.io");
    c360_event_release(&ev);
}

static void test_external_ids(void **state)
{
    fx *f = *state;
    c360_event ev;
    ok1(f, -1,
        "{\"type\":\"page\",\"name\":\"Home\",\"anonymousId\":\"a1\",\"context\":{\"externalIds\":["
        "{\"id\":\"C-1\",\"type\":\"Shopify Customer\"},{\"id\":\"Z@Y.com\",\"type\":\"email\"},"
        "{\"id\":7,\"type\":\"crm-id\"}]}}",
        &ev);
    assert_int_equal(ev.type, C360_EV_PAGE);
    assert_string_equal(ev.name, "Home");
    assert_int_equal(ev.nids, 4);
    assert_string_equal(find_id(&ev, "shopify_customer")->value, "C-1");
    assert_string_equal(find_id(&ev, "email")->value, "z@y.com");    /* normalised by its type */
    assert_string_equal(find_id(&ev, "crm_id")->value, "7");
    assert_string_equal(ev.ids[0].type, "email");
    assert_string_equal(ev.ids[3].type, "anonymous_id");
    expect_hash(f, find_id(&ev, "shopify_customer"));
    c360_event_release(&ev);

    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"context\":{\"externalIds\":[\"x\"]}}",
         C360_EEVENT, "context.externalIds");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"context\":{\"externalIds\":[{\"id\":\"x\"}]}}",
         C360_EEVENT, "context.externalIds[].type");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"context\":{\"externalIds\":[{\"id\":\"x\",\"type\":\"b$d\"}]}}",
         C360_EEVENT, "context.externalIds[].type");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"context\":{\"externalIds\":[{\"id\":{},\"type\":\"t\"}]}}",
         C360_EEVENT, "context.externalIds[].id");
}

static void test_track_requires_event(void **state)
{
    fx *f = *state;
    bad1(f, -1, "{\"type\":\"track\",\"userId\":\"u\"}", C360_EEVENT, "event");
    bad1(f, C360_EV_TRACK, "{\"userId\":\"u\"}", C360_EEVENT, "event");
    bad1(f, C360_EV_TRACK, "{\"userId\":\"u\",\"event\":null}", C360_EEVENT, "event");
    bad1(f, C360_EV_TRACK, "{\"userId\":\"u\",\"event\":5}", C360_EEVENT, "'event' must be a string");
    bad1(f, C360_EV_TRACK, "{\"userId\":\"u\",\"event\":\"\"}", C360_EEVENT, "event");
    c360_event ev;
    ok1(f, C360_EV_TRACK, "{\"userId\":\"u\",\"event\":\"Order \\u00e9\"}", &ev);
    assert_string_equal(ev.name, "Order \xc3\xa9");   /* unescaped */
    c360_event_release(&ev);
}

static void test_wrong_types_named(void **state)
{
    fx *f = *state;
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":{\"id\":1}}", C360_EEVENT, "userId");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":[1]}", C360_EEVENT, "userId");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":true}", C360_EEVENT, "userId");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"anonymousId\":{}}", C360_EEVENT, "anonymousId");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"properties\":\"s\"}", C360_EEVENT, "properties");
    bad1(f, -1, "{\"type\":\"identify\",\"userId\":\"u\",\"traits\":[1]}", C360_EEVENT, "traits");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"context\":\"c\"}", C360_EEVENT, "context");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"integrations\":1}", C360_EEVENT, "integrations");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"context\":{\"externalIds\":{}}}", C360_EEVENT,
         "context.externalIds");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"context\":{\"traits\":\"t\"}}", C360_EEVENT,
         "context.traits");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"messageId\":{}}", C360_EEVENT, "messageId");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"timestamp\":12}", C360_EEVENT, "timestamp");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"sentAt\":\"yesterday\"}", C360_EEVENT, "sentAt");
    bad1(f, -1, "{\"type\":\"page\",\"userId\":\"u\",\"name\":3}", C360_EEVENT, "name");
    bad1(f, -1, "{\"type\":\"bogus\",\"userId\":\"u\"}", C360_EEVENT, "type");
    bad1(f, -1, "{\"type\":7,\"userId\":\"u\"}", C360_EEVENT, "type");
    bad1(f, -1, "{\"userId\":\"u\"}", C360_EEVENT, "type");
    char big[400];
    memset(big, 'm', 300);
    big[300] = 0;
    char body[600];
    snprintf(body, sizeof body, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"messageId\":\"%s\"}", big);
    bad1(f, -1, body, C360_EEVENT, "messageId");
    /* null optional fields are fine */
    c360_event ev;
    ok1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"properties\":null,\"context\":null,\"anonymousId\":null}", &ev);
    assert_int_equal(ev.nids, 1);
    c360_event_release(&ev);
}

static void test_missing_and_blocked_ids(void **state)
{
    fx *f = *state;
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\"}", C360_ENOID, "userId");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":null,\"anonymousId\":null}", C360_ENOID, NULL);
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"anonymousId\":\"anonymous\"}", C360_ENOID, "anonymous_id");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"anonymousId\":\"ANONYMOUS\"}", C360_ENOID, NULL);
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"null\",\"anonymousId\":\"undefined\"}", C360_ENOID, NULL);
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"   \"}", C360_ENOID, NULL);
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":0}", C360_ENOID, NULL);
    /* externalIds alone do not make an event attributable */
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"context\":{\"externalIds\":[{\"id\":\"x\",\"type\":\"t\"}]}}",
         C360_ENOID, NULL);
    bad1(f, -1, "{\"type\":\"group\",\"userId\":\"u\"}", C360_ENOID, "groupId");
    bad1(f, -1, "{\"type\":\"alias\",\"userId\":\"u\"}", C360_ENOID, "previousId");
    bad1(f, -1, "{\"type\":\"alias\",\"previousId\":\"p\",\"anonymousId\":\"a\"}", C360_ENOID, "previousId");

    /* a blocked userId with a usable anonymousId: only the anonymousId is kept */
    c360_event ev;
    ok1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"null\",\"anonymousId\":\"a-7\"}", &ev);
    assert_int_equal(ev.nids, 1);
    assert_string_equal(ev.ids[0].type, "anonymous_id");
    c360_event_release(&ev);
    /* a blocked email trait is dropped, the rest kept */
    ok1(f, -1, "{\"type\":\"identify\",\"userId\":\"u\",\"traits\":{\"email\":\"Test@Test.com\"}}", &ev);
    assert_int_equal(ev.nids, 1);
    c360_event_release(&ev);
    /* alias and group */
    ok1(f, -1, "{\"type\":\"alias\",\"previousId\":\" anon-9 \",\"userId\":\"u9\"}", &ev);
    assert_int_equal(ev.type, C360_EV_ALIAS);
    assert_string_equal(ev.alias_prev, "anon-9");
    c360_event_release(&ev);
    ok1(f, -1, "{\"type\":\"alias\",\"previousId\":\"anonymous\",\"userId\":\"u9\"}", &ev);
    assert_null(ev.alias_prev);   /* blocked previousId is not used */
    c360_event_release(&ev);
    ok1(f, -1, "{\"type\":\"group\",\"groupId\":\"g1\",\"userId\":\"u\"}", &ev);
    assert_int_equal(ev.type, C360_EV_GROUP);
    c360_event_release(&ev);
}

static void test_embedded_nul_refused(void **state)
{
    fx *f = *state;
    /* "ann\u0000x" must never collapse onto the identifier "ann" (values are C strings inside
     * c360): such events are refused as invalid_event, wherever the NUL is */
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"ann\\u0000x\"}", C360_EEVENT, "NUL");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\\u0000\",\"userId\":\"u\"}", C360_EEVENT, "NUL");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"messageId\":\"m\\u0000\"}", C360_EEVENT, NULL);
    bad1(f, -1, "{\"type\":\"identify\",\"userId\":\"u\",\"traits\":{\"k\\u0000\":1}}", C360_EEVENT, NULL);
    /* an escaped backslash followed by the text u0000 is not a NUL */
    c360_event ev;
    ok1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"a\\\\u0000\"}", &ev);
    assert_string_equal(ev.ids[0].value, "a\\u0000");
    c360_event_release(&ev);
    /* other escapes of control characters are fine */
    ok1(f, -1, "{\"type\":\"track\",\"event\":\"E\\u0001\",\"userId\":\"u\"}", &ev);
    assert_string_equal(ev.name, "E\x01");
    c360_event_release(&ev);
}

/* ------------------------------------------------------------------ time */

static void test_skew_correction(void **state)
{
    fx *f = *state;
    c360_event ev;
    /* the client clock is 1 h behind: sent 1 h after the event by its clock; received at R0 */
    ok1(f, -1,
        "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"originalTimestamp\":\"2020-01-01T00:00:00.000Z\","
        "\"sentAt\":\"2020-01-01T01:00:00.000Z\",\"timestamp\":\"1999-01-01T00:00:00Z\"}",
        &ev);
    assert_int_equal(ev.ts, R0 - 3600000LL);
    assert_int_equal(ev.received_ms, R0);
    c360_json j;
    stored(&ev, &j);
    char want[32];
    time_str(R0 - 3600000LL, want);
    expect_str_member(&j, 0, "timestamp", want);
    assert_int_equal(count_key(&j, 0, "timestamp"), 1);    /* client's timestamp replaced, not duplicated */
    c360_json_release(&j);
    c360_event_release(&ev);

    /* with offsets and sub-second parts */
    ok1(f, -1,
        "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"originalTimestamp\":\"2026-10-01T10:00:00.250+02:00\","
        "\"sentAt\":\"2026-10-01T08:00:01.000Z\"}",
        &ev);
    assert_int_equal(ev.ts, R0 - 750);
    c360_event_release(&ev);
}

/* a batch's own sentAt (mobile libraries, analytics.js batching) corrects the events without one */
static void test_batch_sent_at(void **state)
{
    fx *f = *state;
    static const char body[] =
        "{\"sentAt\":\"2020-01-01T01:00:00.000Z\",\"batch\":["
        "{\"type\":\"track\",\"event\":\"A\",\"userId\":\"u\",\"originalTimestamp\":\"2020-01-01T00:00:00.000Z\"},"
        "{\"type\":\"track\",\"event\":\"B\",\"userId\":\"u\",\"originalTimestamp\":\"2020-01-01T00:00:00.000Z\","
        "\"sentAt\":\"2020-01-01T00:00:10.000Z\"},"
        "{\"type\":\"track\",\"event\":\"C\",\"userId\":\"u\",\"timestamp\":\"2020-05-05T00:00:00.000Z\"}]}";
    c360_event *evs = NULL;
    int n = 0;
    strbuf errors = STRBUF_INIT;
    char err[256];
    assert_int_equal(c360_segment_parse_batch(&f->cx, body, sizeof body - 1, R0, &evs, &n, &errors, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(evs[0].ts, R0 - 3600000LL);   /* the batch's sentAt: the clock 1 h behind */
    assert_int_equal(evs[1].ts, R0 - 10000);       /* its own sentAt wins */
    int64_t want;
    assert_int_equal(c360_time_parse("2020-05-05T00:00:00.000Z", 24, &want), 0);
    assert_int_equal(evs[2].ts, want);             /* no originalTimestamp: timestamp as given */
    c360_events_free(evs, n);
    sb_reset(&errors);
    /* a batch sentAt that is not a time is refused like an event's */
    static const char bad[] = "{\"sentAt\":\"yesterday\",\"batch\":[{\"type\":\"track\",\"event\":\"A\",\"userId\":\"u\"}]}";
    assert_int_equal(c360_segment_parse_batch(&f->cx, bad, sizeof bad - 1, R0, &evs, &n, &errors, err, sizeof err), C360_EEVENT);
    assert_non_null(strstr(err, "sentAt"));
    sb_release(&errors);
}

static void test_explicit_timestamp(void **state)
{
    fx *f = *state;
    c360_event ev;
    ok1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"timestamp\":\"2026-09-30T12:00:00.500Z\"}", &ev);
    int64_t want;
    assert_int_equal(c360_time_parse("2026-09-30T12:00:00.500Z", 24, &want), 0);
    assert_int_equal(ev.ts, want);
    c360_event_release(&ev);
    /* timestamp + sentAt (no originalTimestamp): timestamp as given */
    ok1(f, -1,
        "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"timestamp\":\"2026-09-30T12:00:00.500Z\","
        "\"sentAt\":\"2026-09-30T13:00:00Z\"}",
        &ev);
    assert_int_equal(ev.ts, want);
    c360_event_release(&ev);
    /* originalTimestamp alone */
    ok1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"originalTimestamp\":\"2026-09-30T12:00:00.500Z\"}", &ev);
    assert_int_equal(ev.ts, want);
    c360_event_release(&ev);
    /* no times: receivedAt */
    ok1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\"}", &ev);
    assert_int_equal(ev.ts, R0);
    c360_event_release(&ev);
    /* sentAt alone: receivedAt */
    ok1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"sentAt\":\"2001-01-01T00:00:00Z\"}", &ev);
    assert_int_equal(ev.ts, R0);
    c360_event_release(&ev);
    /* null times are absent */
    ok1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"timestamp\":null}", &ev);
    assert_int_equal(ev.ts, R0);
    c360_event_release(&ev);
}

/* ------------------------------------------------------------------ stored JSON, messageId */

static void test_stored_json(void **state)
{
    fx *f = *state;
    c360_event ev;
    /* path type wins over the body's; writeKey removed; members kept */
    ok1(f, C360_EV_TRACK,
        "{\"writeKey\":\"wk-secret-123\",\"type\":\"identify\",\"event\":\"Order Completed\",\"userId\":\"u\","
        "\"messageId\":\"m-1\",\"receivedAt\":\"1990-01-01T00:00:00Z\",\"properties\":{\"total\":9.5,\"n\":[1,2]},"
        "\"context\":{\"ip\":\"1.2.3.4\"}}",
        &ev);
    assert_null(strstr(ev.json.buf, "writeKey"));
    assert_null(strstr(ev.json.buf, "wk-secret-123"));
    assert_null(strstr(ev.json.buf, "1990"));
    assert_string_equal(ev.message_id, "m-1");
    c360_json j;
    stored(&ev, &j);
    expect_str_member(&j, 0, "type", "track");
    expect_str_member(&j, 0, "messageId", "m-1");
    char ts[32];
    time_str(R0, ts);
    expect_str_member(&j, 0, "timestamp", ts);
    expect_str_member(&j, 0, "receivedAt", "2026-10-01T08:15:03.120Z");
    expect_str_member(&j, 0, "event", "Order Completed");
    expect_str_member(&j, 0, "userId", "u");
    for (const char *const *k = (const char *const[]){"type", "messageId", "timestamp", "receivedAt", NULL}; *k; k++)
        assert_int_equal(count_key(&j, 0, *k), 1);
    assert_int_equal(count_key(&j, 0, "writeKey"), 0);
    int props = c360_json_get(&j, 0, "properties");
    assert_int_equal(j.tok[props].type, CJ_OBJECT);
    double d = 0;
    assert_int_equal(c360_json_num(&j, c360_json_get(&j, props, "total"), &d), 0);
    assert_true(d == 9.5);
    expect_str_member(&j, c360_json_get(&j, 0, "context"), "ip", "1.2.3.4");
    c360_json_release(&j);
    /* the message hash is keyed with the secret */
    unsigned char h[16];
    assert_int_equal(sizeof ev.msg_hash, 16);
    memcpy(h, ev.msg_hash, 16);
    c360_event_release(&ev);
    ok1(f, C360_EV_TRACK, "{\"event\":\"x\",\"userId\":\"other\",\"messageId\":\"m-1\"}", &ev);
    assert_memory_equal(ev.msg_hash, h, 16);   /* same messageId, same dedup key */
    c360_event_release(&ev);
    unsigned char other_secret[32];
    memcpy(other_secret, f->secret, 32);
    other_secret[0] ^= 0xff;
    c360_segment_ctx cx2 = f->cx;
    cx2.secret = other_secret;
    char err[256];
    const char *b = "{\"event\":\"x\",\"userId\":\"other\",\"messageId\":\"m-1\"}";
    assert_int_equal(c360_segment_parse_one(&cx2, C360_EV_TRACK, b, strlen(b), R0, &ev, err, sizeof err), 0);
    assert_memory_not_equal(ev.msg_hash, h, 16);
    c360_event_release(&ev);

    /* numeric messageId is taken as its text */
    ok1(f, C360_EV_TRACK, "{\"event\":\"x\",\"userId\":\"u\",\"messageId\":12345}", &ev);
    assert_string_equal(ev.message_id, "12345");
    c360_event_release(&ev);

    /* an empty object body with forced type and ids works (minimal stored JSON) */
    ok1(f, C360_EV_PAGE, "{\"anonymousId\":\"a\"}", &ev);
    stored(&ev, &j);
    expect_str_member(&j, 0, "type", "page");
    assert_int_equal(j.tok[0].size, 5);   /* anonymousId, type, messageId, timestamp, receivedAt */
    assert_null(ev.name);
    c360_json_release(&j);
    c360_event_release(&ev);
}

static void test_generated_message_id(void **state)
{
    fx *f = *state;
    c360_event a, b, c;
    ok1(f, C360_EV_TRACK, "{\"event\":\"x\",\"userId\":\"u\"}", &a);
    ok1(f, C360_EV_TRACK, "{\"event\":\"x\",\"userId\":\"u\"}", &b);
    ok1(f, C360_EV_TRACK, "{\"event\":\"x\",\"userId\":\"u\",\"messageId\":\"\"}", &c);
    assert_non_null(a.message_id);
    assert_int_equal(strlen(a.message_id), 5 + 32);
    assert_memory_equal(a.message_id, "c360-", 5);
    for (int i = 5; i < 37; i++) assert_non_null(strchr("0123456789abcdef", a.message_id[i]));
    assert_string_not_equal(a.message_id, b.message_id);
    assert_memory_not_equal(a.msg_hash, b.msg_hash, 16);
    assert_memory_equal(c.message_id, "c360-", 5);   /* empty messageId is replaced */
    c360_json j;
    stored(&a, &j);
    expect_str_member(&j, 0, "messageId", a.message_id);
    c360_json_release(&j);
    c360_event_release(&a);
    c360_event_release(&b);
    c360_event_release(&c);
}

/* a record of a replayable source: the fallback names an event without a (top-level) messageId */
static void test_fallback_message_id(void **state)
{
    fx *f = *state;
    static const char *no_id[] = {
        "{\"type\":\"track\",\"event\":\"x\",\"userId\":\"u\"}",
        "{\"type\":\"track\",\"event\":\"x\",\"userId\":\"u\",\"messageId\":\"\"}",
        "{\"type\":\"track\",\"event\":\"x\",\"userId\":\"u\",\"properties\":{\"messageId\":\"inner\"}}",
        "{\"type\":\"track\",\"event\":\"x\",\"userId\":\"u\",\"context\":{\"note\":\"\\\"messageId\\\"\"}}",
    };
    char err[256];
    for (size_t i = 0; i < sizeof no_id / sizeof no_id[0]; i++) {
        c360_event ev;
        memset(&ev, 0, sizeof ev);
        int rc = c360_segment_parse_record(&f->cx, -1, no_id[i], strlen(no_id[i]), 1000, "file.ndjson#7", &ev, err, sizeof err);
        if (rc) fail_msg("case %zu: %s", i, err);
        if (strcmp(ev.message_id, "file.ndjson#7")) fail_msg("case %zu: messageId '%s'", i, ev.message_id);
        c360_json j;
        stored(&ev, &j);
        expect_str_member(&j, 0, "messageId", "file.ndjson#7");
        c360_json_release(&j);
        c360_event_release(&ev);
    }
    /* an event's own messageId wins; without a fallback, a random one */
    c360_event a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    const char *own = "{\"type\":\"track\",\"event\":\"x\",\"userId\":\"u\",\"messageId\":\"m-1\"}";
    assert_int_equal(c360_segment_parse_record(&f->cx, -1, own, strlen(own), 1000, "file.ndjson#8", &a, err, sizeof err), 0);
    assert_string_equal(a.message_id, "m-1");
    assert_int_equal(c360_segment_parse_record(&f->cx, -1, no_id[0], strlen(no_id[0]), 1000, NULL, &b, err, sizeof err), 0);
    assert_memory_equal(b.message_id, "c360-", 5);
    c360_event_release(&a);
    c360_event_release(&b);
    /* a place longer than the messageId limit (a long S3 key): a stable id within it */
    char longfb[600];
    memset(longfb, 'k', sizeof longfb - 1);
    longfb[sizeof longfb - 1] = 0;
    c360_event c, d;
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    assert_int_equal(c360_segment_parse_record(&f->cx, -1, no_id[0], strlen(no_id[0]), 1000, longfb, &c, err, sizeof err), 0);
    assert_int_equal(c360_segment_parse_record(&f->cx, -1, no_id[0], strlen(no_id[0]), 1000, longfb, &d, err, sizeof err), 0);
    assert_memory_equal(c.message_id, "c360-src-", 9);
    assert_int_equal(strlen(c.message_id), 9 + 32);
    assert_string_equal(c.message_id, d.message_id);
    longfb[300] = 'x';
    c360_event_release(&d);
    memset(&d, 0, sizeof d);
    assert_int_equal(c360_segment_parse_record(&f->cx, -1, no_id[0], strlen(no_id[0]), 1000, longfb, &d, err, sizeof err), 0);
    assert_string_not_equal(c.message_id, d.message_id);
    c360_event_release(&c);
    c360_event_release(&d);
}

/* ------------------------------------------------------------------ limits */

static char *body_of_size(size_t total, const char *prefix)
{
    /* {"userId":"u","event":"E","properties":{"pad":"xxxx..."}} padded to exactly total bytes */
    const char *suffix = "\"}}";
    size_t pl = strlen(prefix), sl = strlen(suffix);
    assert_true(total > pl + sl);
    char *b = malloc(total + 1);
    memcpy(b, prefix, pl);
    memset(b + pl, 'x', total - pl - sl);
    memcpy(b + total - sl, suffix, sl);
    b[total] = 0;
    return b;
}

static void test_event_too_big(void **state)
{
    fx *f = *state;
    const char *pre = "{\"userId\":\"u\",\"event\":\"E\",\"properties\":{\"pad\":\"";
    /* exactly at the limit: accepted */
    char *b = body_of_size((size_t)f->cx.max_event_bytes, pre);
    c360_event ev;
    char err[256];
    assert_int_equal(parse1(f, C360_EV_TRACK, b, R0, &ev, err, sizeof err), 0);
    c360_event_release(&ev);
    free(b);
    /* one byte over */
    b = body_of_size((size_t)f->cx.max_event_bytes + 1, pre);
    int rc = parse1(f, C360_EV_TRACK, b, R0, &ev, err, sizeof err);
    free(b);
    assert_int_equal(rc, C360_ETOOBIG);
    assert_non_null(strstr(err, "32768"));
    /* a small custom limit */
    c360_segment_ctx saved = f->cx;
    f->cx.max_event_bytes = 100;
    b = body_of_size(101, pre);
    rc = parse1(f, C360_EV_TRACK, b, R0, &ev, err, sizeof err);
    free(b);
    f->cx = saved;
    assert_int_equal(rc, C360_ETOOBIG);
    assert_non_null(strstr(err, "101"));
}

static void test_batch_too_big(void **state)
{
    fx *f = *state;
    c360_segment_ctx saved = f->cx;
    f->cx.max_batch_bytes = 200;
    char body[400];
    int n = snprintf(body, sizeof body, "{\"batch\":[{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"properties\":{\"p\":\"%0150d\"}}]}", 0);
    assert_true(n > 200);
    c360_event *evs = (c360_event *)1;
    int cnt = -1;
    strbuf errors = STRBUF_INIT;
    char err[256] = "";
    int rc = c360_segment_parse_batch(&f->cx, body, (size_t)n, R0, &evs, &cnt, &errors, err, sizeof err);
    f->cx = saved;
    assert_int_equal(rc, C360_EBATCHBIG);
    assert_null(evs);
    assert_int_equal(cnt, 0);
    assert_non_null(strstr(err, "200"));
    sb_release(&errors);
    /* the same body fits the default limit */
    evs = NULL;
    rc = c360_segment_parse_batch(&f->cx, body, (size_t)n, R0, &evs, &cnt, &errors, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(cnt, 1);
    c360_events_free(evs, cnt);
    sb_release(&errors);
}

/* ------------------------------------------------------------------ batches */

static void test_batch_ok_and_context(void **state)
{
    fx *f = *state;
    const char *body =
        "{\"writeKey\":\"wk\",\"context\":{\"ip\":\"9.9.9.9\",\"library\":{\"name\":\"analytics-node\"}},"
        "\"integrations\":{\"All\":false},\"batch\":["
        "{\"type\":\"identify\",\"userId\":\"u1\",\"traits\":{\"email\":\"A@b.co\"},\"messageId\":\"b-0\"},"
        "{\"type\":\"track\",\"event\":\"E\",\"anonymousId\":\"a1\",\"context\":{\"ip\":\"1.1.1.1\"},\"messageId\":\"b-1\"},"
        "{\"type\":\"page\",\"userId\":\"u1\",\"integrations\":{\"X\":true},\"originalTimestamp\":\"2026-10-01T07:00:00Z\","
        "\"sentAt\":\"2026-10-01T07:00:10Z\"}]}";
    c360_event *evs = NULL;
    int n = 0;
    strbuf errors = STRBUF_INIT;
    char err[256] = "";
    int rc = c360_segment_parse_batch(&f->cx, body, strlen(body), R0, &evs, &n, &errors, err, sizeof err);
    if (rc) fail_msg("batch: %s %s", err, errors.buf);
    assert_int_equal(n, 3);
    assert_int_equal(evs[0].type, C360_EV_IDENTIFY);
    assert_int_equal(evs[1].type, C360_EV_TRACK);
    assert_int_equal(evs[2].type, C360_EV_PAGE);
    assert_string_equal(evs[0].message_id, "b-0");
    assert_int_equal(evs[0].nids, 2);
    assert_string_equal(evs[0].ids[1].value, "a@b.co");
    assert_int_equal(evs[2].ts, R0 - 10000);
    assert_int_equal(evs[0].received_ms, R0);

    c360_json j;
    /* event 0 lacks context and integrations: gets the batch's */
    stored(&evs[0], &j);
    int ctx = c360_json_get(&j, 0, "context");
    assert_true(ctx > 0);
    expect_str_member(&j, ctx, "ip", "9.9.9.9");
    int lib = c360_json_get(&j, ctx, "library");
    expect_str_member(&j, lib, "name", "analytics-node");
    int integ = c360_json_get(&j, 0, "integrations");
    assert_true(c360_json_is_bool(&j, c360_json_get(&j, integ, "All")));
    assert_int_equal(count_key(&j, 0, "context"), 1);
    assert_null(strstr(evs[0].json.buf, "writeKey"));
    c360_json_release(&j);
    /* event 1 has its own context: kept, not replaced or duplicated */
    stored(&evs[1], &j);
    assert_int_equal(count_key(&j, 0, "context"), 1);
    expect_str_member(&j, c360_json_get(&j, 0, "context"), "ip", "1.1.1.1");
    assert_int_equal(count_key(&j, 0, "integrations"), 1);   /* batch integrations added */
    c360_json_release(&j);
    /* event 2 has its own integrations, lacks context */
    stored(&evs[2], &j);
    expect_str_member(&j, c360_json_get(&j, 0, "context"), "ip", "9.9.9.9");
    int i2 = c360_json_get(&j, 0, "integrations");
    assert_true(c360_json_true(&j, c360_json_get(&j, i2, "X")));
    assert_int_equal(c360_json_get(&j, i2, "All"), -1);
    assert_int_equal(count_key(&j, 0, "integrations"), 1);
    c360_json_release(&j);
    c360_events_free(evs, n);
    sb_release(&errors);

    /* an empty batch is valid and yields no events */
    evs = NULL;
    rc = c360_segment_parse_batch(&f->cx, "{\"batch\":[]}", 12, R0, &evs, &n, &errors, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 0);
    c360_events_free(evs, n);
    sb_release(&errors);
}

static void test_batch_context_ids(void **state)
{
    fx *f = *state;
    /* docs/API.md: top-level context is "merged into each event that lacks" one; the event as
     * stored then carries context.externalIds / context.traits.email, so they identify it too */
    const char *body =
        "{\"context\":{\"traits\":{\"email\":\"Ctx@Example.com\"},"
        "\"externalIds\":[{\"id\":\"crm-77\",\"type\":\"crm_id\"}]},"
        "\"batch\":[{\"type\":\"track\",\"event\":\"E\",\"anonymousId\":\"a1\"}]}";
    c360_event *evs = NULL;
    int n = 0;
    strbuf errors = STRBUF_INIT;
    char err[256] = "";
    int rc = c360_segment_parse_batch(&f->cx, body, strlen(body), R0, &evs, &n, &errors, err, sizeof err);
    sb_release(&errors);
    if (rc) fail_msg("batch: %s", err);
    int has_ctx = strstr(evs[0].json.buf, "crm-77") != NULL;
    const c360_id *crm = find_id(&evs[0], "crm_id");
    const c360_id *em = find_id(&evs[0], "email");
    int nids = evs[0].nids;
    char crmv[64] = "", emv[64] = "";
    if (crm) snprintf(crmv, sizeof crmv, "%s", crm->value);
    if (em) snprintf(emv, sizeof emv, "%s", em->value);
    c360_events_free(evs, n);
    assert_true(has_ctx);                 /* the stored event carries the batch context */
    if (!crm || !em) fail_msg("event got the batch context but only %d identifier(s): crm_id %s, email %s", nids,
                              crm ? "present" : "missing", em ? "present" : "missing");
    assert_string_equal(crmv, "crm-77");
    assert_string_equal(emv, "ctx@example.com");
}

static void test_batch_one_bad_event(void **state)
{
    fx *f = *state;
    const char *body =
        "{\"batch\":["
        "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\"},"
        "{\"type\":\"track\",\"userId\":\"u\"},"
        "{\"type\":\"identify\",\"userId\":\"u\"},"
        "{\"type\":\"track\",\"event\":\"E\"}]}";
    c360_event *evs = (c360_event *)1;
    int n = -1;
    strbuf errors = STRBUF_INIT;
    char err[256] = "";
    int rc = c360_segment_parse_batch(&f->cx, body, strlen(body), R0, &evs, &n, &errors, err, sizeof err);
    assert_int_equal(rc, C360_EBATCH);
    assert_null(evs);           /* nothing of the batch is handed out */
    assert_int_equal(n, 0);
    assert_non_null(strstr(err, "event 1"));
    assert_non_null(strstr(err, "2 invalid events"));
    /* errors: [{"index":1,"error":"invalid_event",...},{"index":3,"error":"missing_identity",...}] */
    c360_json j;
    c360_json_init(&j);
    char jerr[128];
    if (c360_json_parse(&j, errors.buf, errors.len, jerr, sizeof jerr) != 0) fail_msg("errors JSON invalid: %s", errors.buf);
    assert_int_equal(j.tok[0].type, CJ_ARRAY);
    assert_int_equal(j.tok[0].size, 2);
    int e0 = 1, e1 = c360_json_skip(&j, 1);
    double d = -1;
    assert_int_equal(c360_json_num(&j, c360_json_get(&j, e0, "index"), &d), 0);
    assert_true(d == 1);
    expect_str_member(&j, e0, "error", "invalid_event");
    int m0 = c360_json_get(&j, e0, "message");
    assert_true(m0 > 0);
    strbuf msg = STRBUF_INIT;
    c360_json_str(&j, m0, &msg);
    assert_non_null(strstr(msg.buf, "event"));
    sb_release(&msg);
    assert_int_equal(c360_json_num(&j, c360_json_get(&j, e1, "index"), &d), 0);
    assert_true(d == 3);
    expect_str_member(&j, e1, "error", "missing_identity");
    c360_json_release(&j);
    sb_release(&errors);

    /* batch that is not an array / not an object */
    char e2[256];
    evs = NULL;
    rc = c360_segment_parse_batch(&f->cx, "{\"batch\":{}}", 12, R0, &evs, &n, &errors, e2, sizeof e2);
    assert_int_equal(rc, C360_EEVENT);
    assert_non_null(strstr(e2, "batch"));
    sb_release(&errors);
    rc = c360_segment_parse_batch(&f->cx, "{\"batch\":[1]}", 13, R0, &evs, &n, &errors, e2, sizeof e2);
    assert_int_equal(rc, C360_EBATCH);
    assert_non_null(strstr(errors.buf, "\"index\":0"));
    sb_release(&errors);
    /* an oversized event inside a batch is reported by index as event_too_large */
    c360_segment_ctx saved = f->cx;
    f->cx.max_event_bytes = 60;
    const char *b2 = "{\"batch\":[{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\"},"
                     "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"properties\":{\"pad\":\"xxxxxxxxxxxxxxxxxxxx\"}}]}";
    rc = c360_segment_parse_batch(&f->cx, b2, strlen(b2), R0, &evs, &n, &errors, e2, sizeof e2);
    f->cx = saved;
    assert_int_equal(rc, C360_EBATCH);
    assert_non_null(strstr(errors.buf, "{\"index\":1,\"error\":\"event_too_large\""));
    assert_null(strstr(errors.buf, "\"index\":0"));
    sb_release(&errors);
}

/* ------------------------------------------------------------------ malformed input */

static void test_invalid_utf8(void **state)
{
    fx *f = *state;
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"\xc3\x28\"}", C360_EUTF8, "UTF-8");
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"\xed\xa0\x80\",\"userId\":\"u\"}", C360_EUTF8, NULL);
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"\xc0\xaf\"}", C360_EUTF8, NULL);
    c360_event *evs = NULL;
    int n = 0;
    strbuf errors = STRBUF_INIT;
    char err[256];
    const char *b = "{\"batch\":[{\"type\":\"track\",\"event\":\"\xff\",\"userId\":\"u\"}]}";
    assert_int_equal(c360_segment_parse_batch(&f->cx, b, strlen(b), R0, &evs, &n, &errors, err, sizeof err), C360_EUTF8);
    assert_non_null(strstr(err, "byte 35"));
    sb_release(&errors);
    /* valid multibyte UTF-8 passes through into the stored JSON */
    c360_event ev;
    ok1(f, -1, "{\"type\":\"track\",\"event\":\"Caf\xc3\xa9 \xf0\x9f\x98\x80\",\"userId\":\"u\"}", &ev);
    assert_string_equal(ev.name, "Caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_non_null(strstr(ev.json.buf, "Caf\xc3\xa9 \xf0\x9f\x98\x80"));
    c360_event_release(&ev);
}

static void test_malformed_json(void **state)
{
    fx *f = *state;
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\"", C360_EJSON, NULL);
    bad1(f, -1, "{\"type\":\"track\" \"event\":\"E\"}", C360_EJSON, NULL);
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\"} trailing", C360_EJSON, NULL);
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":tru}", C360_EJSON, NULL);
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":01}", C360_EJSON, NULL);
    bad1(f, -1, "[{\"type\":\"track\"}]", C360_EJSON, "object");
    bad1(f, -1, "\"just a string\"", C360_EJSON, NULL);
    bad1(f, -1, "", C360_EJSON, NULL);
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"a\nb\",\"userId\":\"u\"}", C360_EJSON, NULL);
    c360_event *evs = NULL;
    int n = 0;
    strbuf errors = STRBUF_INIT;
    char err[256];
    assert_int_equal(c360_segment_parse_batch(&f->cx, "{\"batch\":[", 10, R0, &evs, &n, &errors, err, sizeof err), C360_EJSON);
    assert_non_null(strstr(err, "byte"));
    sb_release(&errors);
}

static void test_malformed_separators_rejected(void **state)
{
    fx *f = *state;
    /* bodies with stray commas are not JSON; they would otherwise be stored verbatim and served
     * back from the timeline API as invalid JSON */
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"properties\":{\"a\":[1,,2]}}", C360_EJSON, NULL);
    bad1(f, -1, "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"properties\":{\"a\":1,}}", C360_EJSON, NULL);
    bad1(f, -1, "{\"type\":\"identify\",\"userId\":\"u\",\"traits\":{\"tags\":[1 2]}}", C360_EJSON, NULL);
}

static void test_write_key(void **state)
{
    (void)state;
    strbuf sb = STRBUF_INIT;
    const char *b = "{\"writeKey\":\"wk-\\u0041\",\"batch\":[]}";
    assert_int_equal(c360_segment_write_key(b, strlen(b), &sb), 1);
    assert_string_equal(sb.buf, "wk-A");
    sb_reset(&sb);
    assert_int_equal(c360_segment_write_key("{\"a\":1}", 7, &sb), 0);
    assert_int_equal(c360_segment_write_key("{\"writeKey\":", 12, &sb), 0);
    assert_int_equal(c360_segment_write_key("{\"writeKey\":5}", 14, &sb), 0);
    assert_int_equal(sb.len, 0);
    sb_release(&sb);
}

static void test_type_names(void **state)
{
    (void)state;
    static const char *names[] = {"identify", "track", "page", "screen", "group", "alias"};
    for (int i = 0; i < C360_EV__N; i++) {
        assert_string_equal(c360_ev_type_name((c360_ev_type)i), names[i]);
        assert_int_equal(c360_ev_type_parse(names[i], strlen(names[i])), i);
    }
    assert_int_equal(c360_ev_type_parse("Track", 5), -1);
    assert_int_equal(c360_ev_type_parse("trac", 4), -1);
    assert_int_equal(c360_ev_type_parse("tracks", 6), -1);
    assert_string_equal(c360_ev_type_name(C360_EV__N), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identify_ids_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_external_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_track_requires_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_types_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_blocked_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_embedded_nul_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skew_correction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_sent_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_message_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fallback_message_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_ok_and_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_context_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_one_bad_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_separators_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_names, setup, teardown),
    };
    return cmocka_run_group_tests_name("segment", tests, NULL, NULL);
}
