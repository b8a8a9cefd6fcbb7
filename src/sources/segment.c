/* segment.c -- Segment tracking-API bodies -> validated c360_events (see segment.h).
 *
 * Per event: check field types, compute event time (skew correction), extract and normalise
 * identifiers (userId, anonymousId, traits/context.traits email and phone, context.externalIds),
 * drop blocked values, and write the stored JSON: the original members minus writeKey, with
 * type, messageId, timestamp and receivedAt set by the server. */
#include "sources/segment.h"
#include "core/errors.h"
#include "util/clock.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *type_names[C360_EV__N] = {"identify", "track", "page", "screen", "group", "alias"};

const char *c360_ev_type_name(c360_ev_type t) { return (unsigned)t < C360_EV__N ? type_names[t] : "unknown"; }

int c360_ev_type_parse(const char *s, size_t n)
{
    for (int i = 0; i < C360_EV__N; i++)
        if (strlen(type_names[i]) == n && !memcmp(type_names[i], s, n)) return i;
    return -1;
}

void c360_event_release(c360_event *ev)
{
    sb_release(&ev->json);
    free(ev->message_id);
    free(ev->name);
    for (int i = 0; i < ev->nids; i++) c360_id_release(&ev->ids[i]);
    free(ev->ids);
    free(ev->alias_prev);
    for (int i = 0; i < ev->ntraits; i++) { free(ev->traits[i].key); free(ev->traits[i].json); }
    free(ev->traits);
    memset(ev, 0, sizeof *ev);
}

void c360_events_free(c360_event *evs, int n)
{
    for (int i = 0; i < n; i++) c360_event_release(&evs[i]);
    free(evs);
}

typedef struct {
    const c360_segment_ctx *cx;
    const c360_json *j;
    c360_event *ev;
    char *err;
    size_t errlen;
    const char *fallback_mid;   /* messageId of an event without one (NULL: a random one) */
    int has_batch_sent;         /* the batch's own sentAt, for events without one */
    int64_t batch_sent;
} pctx;

static int fail(pctx *p, int code, const char *fmt, const char *field)
{
    snprintf(p->err, p->errlen, fmt, field);
    return code;
}

/* string or number (ids may be numbers in some libraries) -> text in out; 0 absent/null, 1 ok, -1 bad */
static int get_idish(pctx *p, int tok, strbuf *out)
{
    if (tok < 0 || c360_json_is_null(p->j, tok)) return 0;
    if (p->j->tok[tok].type == CJ_STRING) { c360_json_str(p->j, tok, out); return 1; }
    if (c360_json_is_number(p->j, tok)) {
        size_t n;
        const char *r = c360_json_raw(p->j, tok, &n);
        sb_add(out, r, n);
        return 1;
    }
    return -1;
}

static int expect_type(pctx *p, int tok, cj_type t, const char *field)
{
    if (tok < 0 || c360_json_is_null(p->j, tok)) return 0;
    if (p->j->tok[tok].type != t)
        return fail(p, C360_EEVENT, t == CJ_OBJECT ? "field '%s' must be an object" : t == CJ_ARRAY ? "field '%s' must be an array" : "field '%s' must be a string", field);
    return 0;
}

static int get_time(pctx *p, int obj, const char *field, int64_t *out, int *present)
{
    int t = c360_json_get(p->j, obj, field);
    *present = 0;
    if (t < 0 || c360_json_is_null(p->j, t)) return 0;
    if (p->j->tok[t].type != CJ_STRING) return fail(p, C360_EEVENT, "field '%s' must be an ISO-8601 string", field);
    if (c360_time_parse(p->j->src + p->j->tok[t].start, (size_t)(p->j->tok[t].end - p->j->tok[t].start), out))
        return fail(p, C360_EEVENT, "field '%s' is not a valid ISO-8601 time", field);
    *present = 1;
    return 0;
}

static int has_id(const c360_event *ev, const char *type, const char *value)
{
    for (int i = 0; i < ev->nids; i++)
        if (!strcmp(ev->ids[i].type, type) && !strcmp(ev->ids[i].value, value)) return 1;
    return 0;
}

/* Normalises and adds an identifier unless invalid or blocked; reports blocked ones in *blocked. */
static void add_id(pctx *p, const char *type, const char *raw, size_t rawlen, const char **blocked)
{
    strbuf v = STRBUF_INIT;
    if (c360_norm_value(p->cx->rules, type, raw, rawlen, &v) != 0) { sb_release(&v); return; }
    if (c360_id_blocked(p->cx->rules, v.buf)) {
        if (blocked) *blocked = type;
        sb_release(&v);
        return;
    }
    if (has_id(p->ev, type, v.buf)) { sb_release(&v); return; }
    c360_event *ev = p->ev;
    ev->ids = xrealloc(ev->ids, sizeof *ev->ids * (size_t)(ev->nids + 1));
    c360_id *id = &ev->ids[ev->nids++];
    memset(id, 0, sizeof *id);
    snprintf(id->type, sizeof id->type, "%s", type);
    id->value = sb_detach(&v, NULL);
    id->prio = c360_id_prio(p->cx->rules, type);
    c360_id_hash(id, p->cx->secret);
}

static void add_id_tok(pctx *p, const char *type, int tok, const char **blocked)
{
    strbuf raw = STRBUF_INIT;
    if (get_idish(p, tok, &raw) == 1) add_id(p, type, raw.buf, raw.len, blocked);
    sb_release(&raw);
}

static int cmp_prio(const void *a, const void *b)
{
    const c360_id *x = a, *y = b;
    if (x->prio != y->prio) return x->prio - y->prio;
    int c = strcmp(x->type, y->type);
    return c ? c : strcmp(x->value, y->value);
}

static void copy_member(strbuf *out, const c360_json *j, int key, int *first)
{
    int val = key + 1;
    size_t kn, vn;
    const char *k = c360_json_raw(j, key, &kn);
    const char *v = c360_json_raw(j, val, &vn);
    if (!*first) sb_addc(out, ',');
    *first = 0;
    sb_add(out, k, kn);
    sb_addc(out, ':');
    sb_add(out, v, vn);
}

static int is_server_field(const c360_json *j, int key)
{
    return c360_json_streq(j, key, "type") || c360_json_streq(j, key, "timestamp") ||
           c360_json_streq(j, key, "receivedAt") || c360_json_streq(j, key, "messageId") ||
           c360_json_streq(j, key, "writeKey");
}

/* 1 if the JSON text holds an escaped NUL (\u0000) in any string. Names, identifiers and keys
 * are C strings inside c360, so such events are refused rather than silently cut short. */
static int has_escaped_nul(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\') continue;
        if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4)) return 1;
        i++; /* skip the escaped character */
    }
    return 0;
}

/* Builds ev from the event object at token `obj`. batch_ctx/batch_int: tokens of the batch's
 * top-level context/integrations (or -1). */
static int parse_event(pctx *p, int obj, int forced_type, int batch_ctx, int batch_int, int64_t received_ms)
{
    const c360_json *j = p->j;
    c360_event *ev = p->ev;
    memset(ev, 0, sizeof *ev);
    if (j->tok[obj].type != CJ_OBJECT) return fail(p, C360_EEVENT, "%s", "an event must be a JSON object");
    int tt = c360_json_get(j, obj, "type");
    int type = forced_type;
    if (type < 0) {
        if (tt < 0) return fail(p, C360_EEVENT, "field '%s' is required", "type");
        if (j->tok[tt].type != CJ_STRING) return fail(p, C360_EEVENT, "field '%s' must be a string", "type");
        type = c360_ev_type_parse(j->src + j->tok[tt].start, (size_t)(j->tok[tt].end - j->tok[tt].start));
        if (type < 0) return fail(p, C360_EEVENT, "field '%s' must be one of identify, track, page, screen, group, alias", "type");
    }
    ev->type = (c360_ev_type)type;
    if (has_escaped_nul(j->src + j->tok[obj].start, (size_t)(j->tok[obj].end - j->tok[obj].start)) ||
        (batch_ctx >= 0 && has_escaped_nul(j->src + j->tok[batch_ctx].start, (size_t)(j->tok[batch_ctx].end - j->tok[batch_ctx].start))))
        return fail(p, C360_EEVENT, "%s", "strings must not contain the NUL character (\\u0000)");
    int rc;
    int t_ctx = c360_json_get(j, obj, "context");
    int t_props = c360_json_get(j, obj, "properties");
    int t_traits = c360_json_get(j, obj, "traits");
    int t_int = c360_json_get(j, obj, "integrations");
    if ((rc = expect_type(p, t_ctx, CJ_OBJECT, "context")) || (rc = expect_type(p, t_props, CJ_OBJECT, "properties")) ||
        (rc = expect_type(p, t_traits, CJ_OBJECT, "traits")) || (rc = expect_type(p, t_int, CJ_OBJECT, "integrations")))
        return rc;
    /* a batch-level context stands in for a missing one, for identifiers as in the stored event */
    int t_idctx = t_ctx >= 0 && !c360_json_is_null(j, t_ctx) ? t_ctx : batch_ctx;
    int t_ctraits = t_idctx >= 0 ? c360_json_get(j, t_idctx, "traits") : -1;
    int t_ext = t_idctx >= 0 ? c360_json_get(j, t_idctx, "externalIds") : -1;
    if ((rc = expect_type(p, t_ctraits, CJ_OBJECT, "context.traits")) || (rc = expect_type(p, t_ext, CJ_ARRAY, "context.externalIds")))
        return rc;

    /* identifiers */
    strbuf tmp = STRBUF_INIT;
    int t_uid = c360_json_get(j, obj, "userId"), t_aid = c360_json_get(j, obj, "anonymousId");
    int have_uid = get_idish(p, t_uid, &tmp);
    sb_reset(&tmp);
    int have_aid = get_idish(p, t_aid, &tmp);
    sb_release(&tmp);
    if (have_uid < 0) return fail(p, C360_EEVENT, "field '%s' must be a string", "userId");
    if (have_aid < 0) return fail(p, C360_EEVENT, "field '%s' must be a string", "anonymousId");
    const char *blocked = NULL;
    add_id_tok(p, "user_id", t_uid, &blocked);
    add_id_tok(p, "anonymous_id", t_aid, &blocked);
    int t_email = -1, t_phone = -1;
    if (type == C360_EV_IDENTIFY && t_traits >= 0) {
        t_email = c360_json_get(j, t_traits, "email");
        t_phone = c360_json_get(j, t_traits, "phone");
        if (t_email >= 0 && j->tok[t_email].type == CJ_STRING) add_id_tok(p, "email", t_email, NULL);
        if (t_phone >= 0 && (j->tok[t_phone].type == CJ_STRING || c360_json_is_number(j, t_phone))) add_id_tok(p, "phone", t_phone, NULL);
    }
    if (t_ctraits >= 0) {
        int e = c360_json_get(j, t_ctraits, "email"), ph = c360_json_get(j, t_ctraits, "phone");
        if (e >= 0 && j->tok[e].type == CJ_STRING) add_id_tok(p, "email", e, NULL);
        if (ph >= 0 && (j->tok[ph].type == CJ_STRING || c360_json_is_number(j, ph))) add_id_tok(p, "phone", ph, NULL);
    }
    if (t_ext >= 0) {
        int k = t_ext + 1;
        for (int i = 0; i < j->tok[t_ext].size; i++) {
            if (j->tok[k].type != CJ_OBJECT) return fail(p, C360_EEVENT, "field '%s' must hold objects {id, type}", "context.externalIds");
            int xid = c360_json_get(j, k, "id"), xty = c360_json_get(j, k, "type");
            char type_norm[C360_MAX_ID_TYPE + 1];
            strbuf ty = STRBUF_INIT;
            if (xty < 0 || c360_json_str(j, xty, &ty) != 0 || c360_norm_type(ty.buf, ty.len, type_norm) != 0) {
                sb_release(&ty);
                return fail(p, C360_EEVENT, "field '%s' needs a type of letters, digits and _ (at most 40)", "context.externalIds[].type");
            }
            sb_release(&ty);
            strbuf v = STRBUF_INIT;
            if (get_idish(p, xid, &v) != 1) {
                sb_release(&v);
                return fail(p, C360_EEVENT, "field '%s' must be a string", "context.externalIds[].id");
            }
            add_id(p, type_norm, v.buf, v.len, NULL);
            sb_release(&v);
            k = c360_json_skip(j, k);
        }
    }
    if (type == C360_EV_ALIAS) {
        int t_prev = c360_json_get(j, obj, "previousId");
        strbuf v = STRBUF_INIT, nv = STRBUF_INIT;
        int r = get_idish(p, t_prev, &v);
        if (r < 0) { sb_release(&v); return fail(p, C360_EEVENT, "field '%s' must be a string", "previousId"); }
        if (r == 0 || !have_uid) { sb_release(&v); return fail(p, C360_ENOID, "alias needs '%s' and userId", "previousId"); }
        if (c360_norm_plain(v.buf, v.len, &nv) == 0 && !c360_id_blocked(p->cx->rules, nv.buf)) ev->alias_prev = sb_detach(&nv, NULL);
        sb_release(&v);
        sb_release(&nv);
    }
    if (type == C360_EV_GROUP) {
        strbuf v = STRBUF_INIT;
        int r = get_idish(p, c360_json_get(j, obj, "groupId"), &v);
        sb_release(&v);
        if (r < 0) return fail(p, C360_EEVENT, "field '%s' must be a string", "groupId");
        if (r == 0) return fail(p, C360_ENOID, "group needs '%s'", "groupId");
    }
    if (!have_uid && !have_aid) return fail(p, C360_ENOID, "event needs %s", "userId or anonymousId");
    if (ev->nids == 0)
        return fail(p, C360_ENOID, "no usable identifier: the %s value is empty or blocked", blocked ? blocked : "userId/anonymousId");
    qsort(ev->ids, (size_t)ev->nids, sizeof *ev->ids, cmp_prio);

    /* names */
    if (type == C360_EV_TRACK) {
        int t_ev = c360_json_get(j, obj, "event");
        if (t_ev < 0 || c360_json_is_null(j, t_ev)) return fail(p, C360_EEVENT, "field '%s' is required for track", "event");
        if (j->tok[t_ev].type != CJ_STRING) return fail(p, C360_EEVENT, "field '%s' must be a string", "event");
        strbuf v = STRBUF_INIT;
        c360_json_str(j, t_ev, &v);
        if (!v.len) { sb_release(&v); return fail(p, C360_EEVENT, "field '%s' must not be empty", "event"); }
        ev->name = sb_detach(&v, NULL);
    } else if (type == C360_EV_PAGE || type == C360_EV_SCREEN) {
        int t_n = c360_json_get(j, obj, "name");
        if ((rc = expect_type(p, t_n, CJ_STRING, "name"))) return rc;
        if (t_n >= 0 && j->tok[t_n].type == CJ_STRING) {
            strbuf v = STRBUF_INIT;
            c360_json_str(j, t_n, &v);
            ev->name = sb_detach(&v, NULL);
        }
    }

    /* message id */
    int t_mid = c360_json_get(j, obj, "messageId");
    strbuf mid = STRBUF_INIT;
    int r = get_idish(p, t_mid, &mid);
    if (r < 0) { sb_release(&mid); return fail(p, C360_EEVENT, "field '%s' must be a string", "messageId"); }
    if ((r == 0 || mid.len == 0) && p->fallback_mid && *p->fallback_mid) {
        char buf[C360_SEGMENT_MID_MAX + 1];
        sb_reset(&mid);
        sb_adds(&mid, c360_segment_fallback_id(p->cx, p->fallback_mid, buf));
    } else if (r == 0 || mid.len == 0) {
        unsigned char rnd[16];
        randombytes_buf(rnd, sizeof rnd);
        sb_reset(&mid);
        sb_adds(&mid, "c360-");
        for (int i = 0; i < 16; i++) sb_addf(&mid, "%02x", rnd[i]);
    }
    if (mid.len > C360_SEGMENT_MID_MAX) {
        sb_release(&mid);
        snprintf(p->err, p->errlen, "field 'messageId' is longer than %d bytes", C360_SEGMENT_MID_MAX);
        return C360_EEVENT;
    }
    ev->message_id = sb_detach(&mid, NULL);
    crypto_generichash(ev->msg_hash, 16, (const unsigned char *)ev->message_id, strlen(ev->message_id), p->cx->secret, 32);

    /* time: skew correction when the client sent both its clock and sentAt */
    int64_t ts = 0, ots = 0, sent = 0;
    int has_ts, has_ots, has_sent;
    if ((rc = get_time(p, obj, "timestamp", &ts, &has_ts)) || (rc = get_time(p, obj, "originalTimestamp", &ots, &has_ots)) ||
        (rc = get_time(p, obj, "sentAt", &sent, &has_sent)))
        return rc;
    ev->received_ms = received_ms;
    if (!has_sent && p->has_batch_sent) {
        /* libraries that batch (mobile, analytics.js's batching) put sentAt on the batch */
        sent = p->batch_sent;
        has_sent = 1;
    }
    if (has_ots && has_sent) ev->ts = received_ms - (sent - ots);
    else if (has_ts) ev->ts = ts;
    else if (has_ots) ev->ts = ots;
    else ev->ts = received_ms;

    /* traits (identify) */
    if (type == C360_EV_IDENTIFY && t_traits >= 0) {
        int n = j->tok[t_traits].size, k = t_traits + 1;
        ev->traits = xcalloc((size_t)n, sizeof *ev->traits);
        for (int i = 0; i < n; i++) {
            strbuf key = STRBUF_INIT;
            c360_json_str(j, k, &key);
            size_t vn;
            const char *v = c360_json_raw(j, k + 1, &vn);
            ev->traits[ev->ntraits].key = sb_detach(&key, NULL);
            ev->traits[ev->ntraits].json = xstrndup(v, vn);
            ev->ntraits++;
            k = c360_json_skip(j, k + 1);
        }
    }

    /* stored JSON */
    strbuf *out = &ev->json;
    sb_grow(out, (size_t)(j->tok[obj].end - j->tok[obj].start) + 160);
    sb_addc(out, '{');
    int first = 1;
    int k = obj + 1;
    for (int i = 0; i < j->tok[obj].size; i++) {
        if (!is_server_field(j, k)) copy_member(out, j, k, &first);
        k = c360_json_skip(j, k + 1);
    }
    if (t_ctx < 0 && batch_ctx >= 0) {
        size_t n;
        const char *raw = c360_json_raw(j, batch_ctx, &n);
        sb_adds(out, first ? "\"context\":" : ",\"context\":");
        sb_add(out, raw, n);
        first = 0;
    }
    if (t_int < 0 && batch_int >= 0) {
        size_t n;
        const char *raw = c360_json_raw(j, batch_int, &n);
        sb_adds(out, first ? "\"integrations\":" : ",\"integrations\":");
        sb_add(out, raw, n);
        first = 0;
    }
    char tsb[32], rcb[32];
    c360_time_format(ev->ts, tsb);
    c360_time_format(received_ms, rcb);
    sb_addf(out, "%s\"type\":\"%s\",\"messageId\":", first ? "" : ",", type_names[type]);
    c360_json_put_cstr(out, ev->message_id);
    sb_addf(out, ",\"timestamp\":\"%s\",\"receivedAt\":\"%s\"}", tsb, rcb);
    if ((int64_t)(j->tok[obj].end - j->tok[obj].start) > p->cx->max_event_bytes) {
        snprintf(p->err, p->errlen, "event is %d bytes; the limit is %lld bytes (%lld KB)", j->tok[obj].end - j->tok[obj].start,
                 (long long)p->cx->max_event_bytes, (long long)p->cx->max_event_bytes / 1024);
        return C360_ETOOBIG;
    }
    return 0;
}

static int parse_doc(c360_json *j, const char *body, size_t len, char *err, size_t errlen)
{
    size_t bad;
    if (!c360_utf8_valid(body, len, &bad)) {
        snprintf(err, errlen, "body is not valid UTF-8 (byte %zu)", bad);
        return C360_EUTF8;
    }
    char jerr[128];
    if (c360_json_parse(j, body, len, jerr, sizeof jerr)) {
        snprintf(err, errlen, "%s", jerr);
        return C360_EJSON;
    }
    if (j->tok[0].type != CJ_OBJECT) {
        snprintf(err, errlen, "body must be a JSON object");
        return C360_EJSON;
    }
    return 0;
}

const char *c360_segment_fallback_id(const c360_segment_ctx *cx, const char *place, char buf[C360_SEGMENT_MID_MAX + 1])
{
    size_t n = strlen(place);
    if (n <= C360_SEGMENT_MID_MAX) return place;
    /* a long place (an S3 key, a topic name) as a stable id within the limit: its keyed hash */
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *)place, n, cx->secret, 32);
    memcpy(buf, "c360-src-", 9);
    sodium_bin2hex(buf + 9, 33, h, sizeof h);
    return buf;
}

int c360_segment_parse_one(const c360_segment_ctx *cx, int type, const char *body, size_t len, int64_t received_ms,
                           c360_event *ev, char *err, size_t errlen)
{
    return c360_segment_parse_record(cx, type, body, len, received_ms, NULL, ev, err, errlen);
}

int c360_segment_parse_record(const c360_segment_ctx *cx, int type, const char *body, size_t len, int64_t received_ms,
                              const char *fallback_mid, c360_event *ev, char *err, size_t errlen)
{
    if ((int64_t)len > cx->max_event_bytes) {
        snprintf(err, errlen, "event is %zu bytes; the limit is %lld bytes (%lld KB)", len, (long long)cx->max_event_bytes,
                 (long long)cx->max_event_bytes / 1024);
        return C360_ETOOBIG;
    }
    c360_json j;
    c360_json_init(&j);
    int rc = parse_doc(&j, body, len, err, errlen);
    if (rc == 0) {
        pctx p = {cx, &j, ev, err, errlen, fallback_mid, 0, 0};
        rc = parse_event(&p, 0, type, -1, -1, received_ms);
        if (rc) c360_event_release(ev);
    }
    c360_json_release(&j);
    return rc;
}

int c360_segment_parse_batch(const c360_segment_ctx *cx, const char *body, size_t len, int64_t received_ms,
                             c360_event **evs, int *n, strbuf *errors, char *err, size_t errlen)
{
    *evs = NULL;
    *n = 0;
    if ((int64_t)len > cx->max_batch_bytes) {
        snprintf(err, errlen, "batch is %zu bytes; the limit is %lld bytes (%lld KB)", len, (long long)cx->max_batch_bytes,
                 (long long)cx->max_batch_bytes / 1024);
        return C360_EBATCHBIG;
    }
    c360_json j;
    c360_json_init(&j);
    int rc = parse_doc(&j, body, len, err, errlen);
    if (rc) { c360_json_release(&j); return rc; }
    int t_batch = c360_json_get(&j, 0, "batch");
    if (t_batch < 0 || j.tok[t_batch].type != CJ_ARRAY) {
        c360_json_release(&j);
        snprintf(err, errlen, "field 'batch' must be an array of events");
        return C360_EEVENT;
    }
    int t_ctx = c360_json_get(&j, 0, "context"), t_int = c360_json_get(&j, 0, "integrations");
    if (t_ctx >= 0 && j.tok[t_ctx].type != CJ_OBJECT) t_ctx = -1;
    if (t_int >= 0 && j.tok[t_int].type != CJ_OBJECT) t_int = -1;
    /* the batch's sentAt: checked like an event's, applied to the events without their own */
    pctx top = {cx, &j, NULL, err, errlen, NULL, 0, 0};
    if ((rc = get_time(&top, 0, "sentAt", &top.batch_sent, &top.has_batch_sent))) {
        c360_json_release(&j);
        return rc;
    }
    int cnt = j.tok[t_batch].size, nbad = 0;
    c360_event *out = xcalloc((size_t)(cnt ? cnt : 1), sizeof *out);
    int k = t_batch + 1;
    sb_addc(errors, '[');
    for (int i = 0; i < cnt; i++) {
        char e[256];
        pctx p = {cx, &j, &out[i], e, sizeof e, NULL, top.has_batch_sent, top.batch_sent};
        int r = parse_event(&p, k, -1, t_ctx, t_int, received_ms);
        if (r) {
            c360_event_release(&out[i]);
            if (nbad < 100) {
                sb_addf(errors, "%s{\"index\":%d,\"error\":\"%s\",\"message\":", nbad ? "," : "", i, c360_err_name(r));
                c360_json_put_cstr(errors, e);
                sb_addc(errors, '}');
            }
            if (!nbad) snprintf(err, errlen, "event %d of the batch is invalid (%s); nothing was stored", i, e);
            nbad++;
        }
        k = c360_json_skip(&j, k);
    }
    sb_addc(errors, ']');
    c360_json_release(&j);
    if (nbad) {
        if (nbad > 1) {
            size_t l = strlen(err);
            snprintf(err + l, errlen - l, " (%d invalid events)", nbad);
        }
        c360_events_free(out, cnt);
        return C360_EBATCH;
    }
    *evs = out;
    *n = cnt;
    return 0;
}

int c360_segment_write_key(const char *body, size_t len, strbuf *out)
{
    c360_json j;
    c360_json_init(&j);
    char e[64];
    int found = 0;
    if (c360_json_parse(&j, body, len, e, sizeof e) == 0 && j.tok[0].type == CJ_OBJECT) {
        int t = c360_json_get(&j, 0, "writeKey");
        if (t >= 0 && c360_json_str(&j, t, out) == 0) found = 1;
    }
    c360_json_release(&j);
    return found;
}
