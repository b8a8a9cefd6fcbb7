/* cdc_debezium.c -- Debezium change events -> Segment events. See cdc_debezium.h. */
#include "sources/cdc_debezium.h"
#include "util/clock.h"
#include "util/json.h"

#include <stdio.h>
#include <string.h>

int c360_cdc_table_parse(const char *s)
{
    if (!strcmp(s, "customers")) return C360_CDC_CUSTOMERS;
    if (!strcmp(s, "orders")) return C360_CDC_ORDERS;
    return -1;
}

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

/* Appends a column value as a JSON string (the raw text of a number or string unescaped+escaped). */
static int put_id(const c360_json *j, int t, strbuf *out)
{
    if (t < 0 || c360_json_is_null(j, t)) return -1;
    if (j->tok[t].type == CJ_STRING) {
        size_t n;
        const char *r = c360_json_raw(j, t, &n);
        if (n <= 2) return -1;
        sb_add(out, r, n);
        return 0;
    }
    if (!c360_json_is_number(j, t)) return -1;
    sb_addc(out, '"');
    sb_add(out, j->src + j->tok[t].start, (size_t)(j->tok[t].end - j->tok[t].start));
    sb_addc(out, '"');
    return 0;
}

static int first_of(const c360_json *j, int row, const char *const *names, const char **which)
{
    for (int i = 0; names[i]; i++) {
        int t = c360_json_get(j, row, names[i]);
        if (t >= 0 && !c360_json_is_null(j, t)) {
            if (which) *which = names[i];
            return t;
        }
    }
    return -1;
}

static int key_is(const c360_json *j, int k, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (c360_json_streq(j, k, names[i])) return 1;
    return 0;
}

static void put_raw(const c360_json *j, int t, strbuf *out)
{
    size_t n;
    const char *r = c360_json_raw(j, t, &n);
    sb_add(out, r, n);
}

static const char *const customer_keys[] = {"id", "customer_id", "user_id", NULL};
static const char *const order_user_keys[] = {"customer_id", "user_id", NULL};
static const char *const item_keys[] = {"line_items", "items", "products", NULL};

/* "products": the line items, parsed if the column holds JSON text (Debezium's json/jsonb). */
static void put_items(const c360_json *j, int t, strbuf *out)
{
    if (j->tok[t].type == CJ_ARRAY) {
        put_raw(j, t, out);
        return;
    }
    if (j->tok[t].type == CJ_STRING) {
        strbuf s = STRBUF_INIT;
        c360_json_str(j, t, &s);
        c360_json inner;
        c360_json_init(&inner);
        char e[64];
        if (s.len && c360_json_parse(&inner, s.buf, s.len, e, sizeof e) == 0 && inner.tok[0].type == CJ_ARRAY) sb_add(out, s.buf, s.len);
        else sb_adds(out, "[]");
        c360_json_release(&inner);
        sb_release(&s);
        return;
    }
    sb_adds(out, "[]");
}

static void put_time(int64_t ts, strbuf *out)
{
    if (ts <= 0) return;
    char b[40];
    c360_time_format(ts, b);
    sb_addf(out, ",\"timestamp\":\"%s\"", b);
}

/* Built-in conventions (see the header). */
static int customer_event(const c360_json *j, int row, int clear, int64_t ts, const char *mid, strbuf *out, char *err,
                          size_t errlen)
{
    const char *idcol = NULL;
    int tid = first_of(j, row, customer_keys, &idcol);
    sb_adds(out, "{\"type\":\"identify\",\"userId\":");
    if (put_id(j, tid, out)) return fail(err, errlen, "customers row has no id, customer_id or user_id");
    sb_adds(out, ",\"messageId\":");
    c360_json_put_cstr(out, mid);
    put_time(ts, out);
    sb_adds(out, ",\"traits\":{");
    int k = row + 1, n = 0;
    for (int c = 0; c < j->tok[row].size; c++) {
        int v = k + 1;
        if (!c360_json_streq(j, k, idcol)) {
            if (n++) sb_addc(out, ',');
            put_raw(j, k, out);
            sb_addc(out, ':');
            if (clear) sb_adds(out, "null");
            else put_raw(j, v, out);
        }
        k = c360_json_skip(j, v);
    }
    sb_adds(out, "},\"context\":{\"source\":\"cdc\"}}");
    return C360_CDC_EVENT;
}

static int order_event(const c360_json *j, int row, int64_t ts, strbuf *out, char *err, size_t errlen)
{
    int tid = c360_json_get(j, row, "id");
    if (tid < 0) tid = c360_json_get(j, row, "order_id");
    int tuser = first_of(j, row, order_user_keys, NULL);
    sb_adds(out, "{\"type\":\"track\",\"event\":\"Order Completed\",\"userId\":");
    if (put_id(j, tuser, out)) return fail(err, errlen, "orders row has no customer_id or user_id");
    strbuf oid = STRBUF_INIT;
    if (put_id(j, tid, &oid)) {
        sb_release(&oid);
        return fail(err, errlen, "orders row has no id or order_id");
    }
    /* "order-<id>": an order counts once, whether it arrives by snapshot, insert or update */
    sb_addf(out, ",\"messageId\":\"order-%.*s", (int)(oid.len - 2), oid.buf + 1);
    sb_addc(out, '"');
    put_time(ts, out);
    sb_adds(out, ",\"properties\":{\"order_id\":");
    sb_add(out, oid.buf, oid.len);
    sb_release(&oid);
    int k = row + 1, items = 0;
    for (int c = 0; c < j->tok[row].size; c++) {
        int v = k + 1;
        if (key_is(j, k, item_keys)) {
            if (!items++) {
                sb_adds(out, ",\"products\":");
                put_items(j, v, out);
            }
        } else if (!c360_json_streq(j, k, "order_id")) {
            sb_addc(out, ',');
            put_raw(j, k, out);
            sb_addc(out, ':');
            put_raw(j, v, out);
        }
        k = c360_json_skip(j, v);
    }
    sb_adds(out, "},\"context\":{\"source\":\"cdc\"}}");
    return C360_CDC_EVENT;
}

/* A mapped event whose traits are all set to null (a delete in "clear" mode). */
static int null_traits(strbuf *ev, char *err, size_t errlen)
{
    c360_json j;
    c360_json_init(&j);
    char e[128];
    if (c360_json_parse(&j, ev->buf, ev->len, e, sizeof e) || j.tok[0].type != CJ_OBJECT) {
        c360_json_release(&j);
        return fail(err, errlen, "mapping produced invalid JSON");
    }
    int t = c360_json_get(&j, 0, "traits");
    if (t < 0 || j.tok[t].type != CJ_OBJECT) {
        c360_json_release(&j);
        return 0;
    }
    strbuf o = STRBUF_INIT;
    sb_add(&o, ev->buf, (size_t)j.tok[t].start);
    sb_addc(&o, '{');
    int k = t + 1;
    for (int c = 0; c < j.tok[t].size; c++) {
        if (c) sb_addc(&o, ',');
        put_raw(&j, k, &o);
        sb_adds(&o, ":null");
        k = c360_json_skip(&j, k + 1);
    }
    sb_addc(&o, '}');
    sb_add(&o, ev->buf + j.tok[t].end, ev->len - (size_t)j.tok[t].end);
    c360_json_release(&j);
    sb_reset(ev);
    sb_add(ev, o.buf, o.len);
    sb_release(&o);
    return 0;
}

int c360_cdc_debezium(c360_cdc_table table, const c360_mapping *m, c360_cdc_delete_mode del, const char *msg,
                      size_t len, const char *fallback_message_id, strbuf *out, char *err, size_t errlen)
{
    if (!msg || len == 0) return C360_CDC_SKIP; /* the tombstone that follows a delete */
    c360_json j;
    c360_json_init(&j);
    int rc = -1;
    char e[128];
    if (c360_json_parse(&j, msg, len, e, sizeof e)) {
        snprintf(err, errlen, "not JSON: %s", e);
        goto done;
    }
    if (j.tok[0].type == CJ_PRIMITIVE && c360_json_is_null(&j, 0)) { rc = C360_CDC_SKIP; goto done; }
    int env = 0, pl = c360_json_get(&j, 0, "payload");
    if (pl >= 0 && c360_json_get(&j, 0, "schema") >= 0) env = pl; /* {schema, payload} wrapper */
    if (j.tok[env].type != CJ_OBJECT) { fail(err, errlen, "not a Debezium change event (no object)"); goto done; }
    int top = c360_json_get(&j, env, "op");
    strbuf op = STRBUF_INIT;
    if (top < 0 || c360_json_str(&j, top, &op) || op.len != 1 || !strchr("cudr", op.buf[0])) {
        sb_release(&op);
        fail(err, errlen, "not a Debezium change event (op must be c, u, d or r)");
        goto done;
    }
    char o = op.buf[0];
    sb_release(&op);
    int64_t ts = 0;
    double d;
    int src = c360_json_get(&j, env, "source"), tts = c360_json_get(&j, src, "ts_ms");
    if (tts < 0) tts = c360_json_get(&j, env, "ts_ms");
    if (tts >= 0 && c360_json_num(&j, tts, &d) == 0) ts = (int64_t)d;
    int row = c360_json_get(&j, env, o == 'd' ? "before" : "after");
    if (row < 0 || j.tok[row].type != CJ_OBJECT) {
        if (o == 'd' && table == C360_CDC_ORDERS) { rc = C360_CDC_SKIP; goto done; }
        fail(err, errlen, o == 'd' ? "delete without a 'before' row" : "change without an 'after' row");
        goto done;
    }
    if (table == C360_CDC_ORDERS) {
        if (o == 'd') { rc = C360_CDC_SKIP; goto done; }
        if (m) {
            size_t rn;
            const char *r = c360_json_raw(&j, row, &rn);
            rc = c360_mapping_apply(m, r, rn, fallback_message_id, out, err, errlen);
        } else {
            rc = order_event(&j, row, ts, out, err, errlen);
        }
        goto done;
    }
    if (o == 'd' && del == C360_CDC_DELETE_ERASE) {
        int tid = first_of(&j, row, customer_keys, NULL);
        strbuf id = STRBUF_INIT;
        if (put_id(&j, tid, &id)) {
            sb_release(&id);
            fail(err, errlen, "customers delete without an id in 'before'");
            goto done;
        }
        c360_json idj;
        c360_json_init(&idj);
        if (c360_json_parse(&idj, id.buf, id.len, e, sizeof e) == 0) c360_json_str(&idj, 0, out);
        c360_json_release(&idj);
        sb_release(&id);
        rc = C360_CDC_ERASE;
        goto done;
    }
    if (m) {
        size_t rn;
        const char *r = c360_json_raw(&j, row, &rn);
        rc = c360_mapping_apply(m, r, rn, fallback_message_id, out, err, errlen);
        if (rc == 0 && o == 'd' && null_traits(out, err, errlen)) rc = -1;
    } else {
        rc = customer_event(&j, row, o == 'd', ts, fallback_message_id, out, err, errlen);
    }
done:
    c360_json_release(&j);
    return rc;
}
