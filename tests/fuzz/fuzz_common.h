/* fuzz_common.h -- shared by the libFuzzer harnesses in tests/fuzz (header only, static functions).
 *
 * CHECK(cond, fmt, ...) is the invariant assertion: it prints what broke and abort()s, which
 * libFuzzer reports as a crash and saves the input. The Segment fixture (identity rules from the
 * config defaults, a fixed secret) is built once and only read afterwards, so nothing mutable
 * survives from one input to the next.
 *
 * Known bugs: with FUZZ_MASK_KNOWN=1 in the environment (scripts/fuzz --mask-known) the harnesses
 * skip the invariants that a known, reported and not yet fixed bug breaks (each such place is
 * marked KNOWN and listed in tests/fuzz/README.md), and scripts/fuzz passes
 * tests/fuzz/known-bugs.supp to UBSan, so that a long run can look for *other* bugs. Without it
 * (the default, and what CI runs) every known bug still fails the run. */
#ifndef C360_FUZZ_COMMON_H
#define C360_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/config.h"
#include "core/errors.h"
#include "identity/normalize.h"
#include "sources/event.h"
#include "sources/mapping.h"
#include "sources/segment.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/strbuf.h"

/* UBSan is compiled recoverable (for the suppressions above) but stops at the first report, like
 * -fno-sanitize-recover, unless UBSAN_OPTIONS says otherwise. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "print_stacktrace=1:halt_on_error=1"; }

/* 1 if FUZZ_MASK_KNOWN is set (read once; it never changes during a run) */
static __attribute__((unused)) int fuzz_mask_known(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("FUZZ_MASK_KNOWN");
        v = e && *e && strcmp(e, "0") != 0;
    }
    return v;
}

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "\nINVARIANT BROKEN at %s:%d: %s\n  ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fprintf(stderr, "\n");                                                         \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* received time used by the Segment harnesses: 2026-10-01T08:15:03.120Z */
#define FUZZ_RECEIVED_MS 1790842503120LL

/* Everything a Segment parse needs; built once (read-only afterwards). */
typedef struct {
    c360_config cfg;
    c360_id_rules rules;
    unsigned char secret[32];
    c360_segment_ctx cx;
} fuzz_segment_fixture;

static fuzz_segment_fixture fuzz_fx;

static __attribute__((unused)) const c360_segment_ctx *fuzz_segment_ctx(void)
{
    static int ready;
    if (ready) return &fuzz_fx.cx;
    if (sodium_init() < 0) abort();
    c360_config_defaults(&fuzz_fx.cfg);
    /* one blocked pattern besides the default blocked values, so that regexec runs too */
    char err[256];
    if (c360_config_set(&fuzz_fx.cfg, "identity.blocked_patterns", "^0+$\n^test[0-9]*@example\\.com$", err, sizeof err) ||
        c360_id_rules_init(&fuzz_fx.rules, &fuzz_fx.cfg, err, sizeof err)) {
        fprintf(stderr, "fuzz fixture: %s\n", err);
        abort();
    }
    for (int i = 0; i < 32; i++) fuzz_fx.secret[i] = (unsigned char)(0xA0 + i);
    fuzz_fx.cx.rules = &fuzz_fx.rules;
    fuzz_fx.cx.secret = fuzz_fx.secret;
    fuzz_fx.cx.max_event_bytes = fuzz_fx.cfg.max_event_bytes;
    fuzz_fx.cx.max_batch_bytes = fuzz_fx.cfg.max_batch_bytes;
    ready = 1;
    return &fuzz_fx.cx;
}

/* string member `key` of object `obj` decoded into out (reset first); 0 ok, -1 absent or not a string */
static __attribute__((unused)) int fuzz_get_str(const c360_json *j, int obj, const char *key, strbuf *out)
{
    sb_reset(out);
    int t = c360_json_get(j, obj, key);
    if (t < 0 || j->tok[t].type != CJ_STRING) return -1;
    return c360_json_str(j, t, out);
}

/* Invariants of every event a Segment parse accepts (both the single-event and the batch path;
 * in_batch: the event came from c360_segment_parse_batch). */
static __attribute__((unused)) void fuzz_check_event(const c360_segment_ctx *cx, const c360_event *ev, int in_batch)
{
    (void)in_batch;
    CHECK((unsigned)ev->type < C360_EV__N, "event type %d", (int)ev->type);
    CHECK(ev->received_ms == FUZZ_RECEIVED_MS, "received_ms %lld", (long long)ev->received_ms);
    CHECK(ev->message_id && *ev->message_id, "empty messageId");
    CHECK(strlen(ev->message_id) <= 256, "messageId of %zu bytes", strlen(ev->message_id));
    unsigned char mh[16];
    crypto_generichash(mh, 16, (const unsigned char *)ev->message_id, strlen(ev->message_id), cx->secret, 32);
    CHECK(!memcmp(mh, ev->msg_hash, 16), "msg_hash is not the keyed hash of messageId");
    if (ev->type == C360_EV_TRACK) CHECK(ev->name && *ev->name, "track event without a name");

    /* identifiers: at least one, usable, never blocked, hashed, sorted by priority */
    CHECK(ev->nids >= 1, "accepted event with %d identifiers", ev->nids);
    for (int i = 0; i < ev->nids; i++) {
        const c360_id *id = &ev->ids[i];
        char t[C360_MAX_ID_TYPE + 1];
        CHECK(c360_norm_type(id->type, strlen(id->type), t) == 0, "id type '%s' is not a valid type", id->type);
        CHECK(id->value && *id->value, "empty value for id type %s", id->type);
        CHECK(strlen(id->value) <= C360_MAX_ID_VALUE, "id value of %zu bytes", strlen(id->value));
        CHECK(!c360_id_blocked(cx->rules, id->value), "blocked value '%s' (type %s) kept as an identifier", id->value,
              id->type);
        CHECK(id->prio == c360_id_prio(cx->rules, id->type), "prio %d != rule prio for %s", id->prio, id->type);
        c360_id h = *id;
        c360_id_hash(&h, cx->secret);
        CHECK(!memcmp(h.hash, id->hash, 16), "id hash is not the keyed hash of %s:%s", id->type, id->value);
        if (i) {
            const c360_id *p = &ev->ids[i - 1];
            CHECK(p->prio <= id->prio, "ids not sorted by prio: %s(%d) before %s(%d)", p->type, p->prio, id->type, id->prio);
            CHECK(p->prio < id->prio || strcmp(p->type, id->type) || strcmp(p->value, id->value),
                  "duplicate identifier %s:%s", id->type, id->value);
        }
    }
    if (ev->alias_prev) CHECK(*ev->alias_prev && !c360_id_blocked(cx->rules, ev->alias_prev), "alias previousId '%s'", ev->alias_prev);
    for (int i = 0; i < ev->ntraits; i++) CHECK(ev->traits[i].key && ev->traits[i].json, "trait %d", i);

    /* the stored JSON: one valid object with the server fields set */
    c360_json j;
    c360_json_init(&j);
    char err[128];
    CHECK(c360_json_parse(&j, ev->json.buf, ev->json.len, err, sizeof err) == 0, "stored JSON does not parse (%s): %s", err,
          ev->json.buf);
    CHECK(j.tok[0].type == CJ_OBJECT, "stored JSON is not an object: %s", ev->json.buf);
    /* the writer's features layer reads it again with the unchecked tokenizer: same tokens */
    c360_json own;
    c360_json_init(&own);
    CHECK(c360_json_parse_own(&own, ev->json.buf, ev->json.len) == 0 && own.ntok == j.ntok &&
              !memcmp(own.tok, j.tok, sizeof *j.tok * (size_t)j.ntok),
          "c360_json_parse_own does not give c360_json_parse's tokens for the stored JSON: %s", ev->json.buf);
    c360_json_release(&own);
    strbuf v = STRBUF_INIT;
    CHECK(fuzz_get_str(&j, 0, "type", &v) == 0 && !strcmp(v.buf, c360_ev_type_name(ev->type)),
          "stored \"type\" is not '%s': %s", c360_ev_type_name(ev->type), ev->json.buf);
    CHECK(fuzz_get_str(&j, 0, "messageId", &v) == 0 && !strcmp(v.buf, ev->message_id), "stored \"messageId\" is not '%s': %s",
          ev->message_id, ev->json.buf);
    int64_t t;
    CHECK(fuzz_get_str(&j, 0, "receivedAt", &v) == 0 && c360_time_parse(v.buf, v.len, &t) == 0 && t == FUZZ_RECEIVED_MS,
          "stored \"receivedAt\" is wrong: %s", ev->json.buf);
    CHECK(fuzz_get_str(&j, 0, "timestamp", &v) == 0, "stored event has no \"timestamp\": %s", ev->json.buf);
    CHECK(c360_time_parse(v.buf, v.len, &t) == 0, "stored \"timestamp\" '%s' is not a valid time (ev.ts %lld)", v.buf,
          (long long)ev->ts);
    CHECK(c360_json_get(&j, 0, "writeKey") < 0, "stored event keeps its writeKey: %s", ev->json.buf);
    /* events carrying an escaped NUL are refused (docs/API.md), so no stored string may hold one */
    for (int i = 0; i < j.ntok; i++) {
        if (j.tok[i].type != CJ_STRING) continue;
        sb_reset(&v);
        CHECK(c360_json_str(&j, i, &v) == 0, "string token %d of the stored JSON does not decode", i);
        CHECK(memchr(v.buf, 0, v.len) == NULL, "stored event holds a NUL character (string token %d): %s", i, ev->json.buf);
    }
    sb_release(&v);
    c360_json_release(&j);
}

/* A harness's fixed mappings, loaded once (a fixture that does not load is the harness's bug). */
static __attribute__((unused)) c360_mappings *fuzz_mappings(const char *yaml, size_t n)
{
    c360_mappings *ms = NULL;
    char err[512];
    if (c360_mappings_load_string(yaml, n, &ms, err, sizeof err)) {
        fprintf(stderr, "fuzz fixture mappings: %s\n", err);
        abort();
    }
    return ms;
}

/* The output of a mapping, CDC conversion or webhook record (JSON text meant for
 * c360_segment_parse_one): it must be one JSON object, and whatever the Segment parse accepts of
 * it must satisfy fuzz_check_event. Returns 1 if the event was accepted. */
static __attribute__((unused)) int fuzz_check_mapped(const char *what, const char *json, size_t n)
{
    c360_json j;
    c360_json_init(&j);
    char err[256];
    CHECK(c360_json_parse(&j, json, n, err, sizeof err) == 0, "%s: output is not JSON (%s): %.*s", what, err, (int)n, json);
    CHECK(j.tok[0].type == CJ_OBJECT, "%s: output is not a JSON object: %.*s", what, (int)n, json);
    c360_json_release(&j);
    const c360_segment_ctx *cx = fuzz_segment_ctx();
    c360_event ev;
    memset(&ev, 0, sizeof ev);
    int rc = c360_segment_parse_one(cx, -1, json, n, FUZZ_RECEIVED_MS, &ev, err, sizeof err);
    if (rc == 0) fuzz_check_event(cx, &ev, 0);
    else CHECK(err[0], "%s: the Segment parse refused the output without a reason", what);
    c360_event_release(&ev);
    return rc == 0;
}

/* Appended output of a function that reports a refusal: nothing may have been appended. */
#define FUZZ_CHECK_UNCHANGED(sb, before, what) \
    CHECK((sb)->len == (before), "%s: %zu bytes appended to the output although it refused", what, (sb)->len - (before))

#endif

