/* cdc_debezium.c -- Debezium change events -> Segment events. See cdc_debezium.h. */
#include "sources/cdc_debezium.h"
#include "util/clock.h"
#include "util/json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ---- Kafka Connect decimals ----
 * With schemas enabled, Debezium writes DECIMAL/NUMERIC columns (decimal.handling.mode=precise,
 * its default) as the base64 of the unscaled big-endian two's-complement integer, the scale being
 * in the field's schema (org.apache.kafka.connect.data.Decimal, parameters.scale). Such values
 * are turned back into JSON numbers, so that amounts (an order's total) are numbers. */

/* the schema of the row struct `field` ("before"/"after") in {schema:{fields:[...]}} */
static int row_schema(const c360_json *j, int schema, const char *field)
{
    int fs = c360_json_get(j, schema, "fields");
    if (fs < 0 || j->tok[fs].type != CJ_ARRAY) return -1;
    int f = fs + 1;
    for (int i = 0; i < j->tok[fs].size; i++, f = c360_json_skip(j, f)) {
        int name = c360_json_get(j, f, "field");
        if (name >= 0 && c360_json_streq(j, name, field)) return f;
    }
    return -1;
}

/* scale of column `col` if its schema is a Connect Decimal, else -1 */
static int decimal_scale(const c360_json *j, int rs, int col)
{
    int fs = c360_json_get(j, rs, "fields");
    if (fs < 0 || j->tok[fs].type != CJ_ARRAY) return -1;
    size_t cn;
    const char *cr = c360_json_raw(j, col, &cn);
    int f = fs + 1;
    for (int i = 0; i < j->tok[fs].size; i++, f = c360_json_skip(j, f)) {
        int name = c360_json_get(j, f, "field"), type = c360_json_get(j, f, "name");
        size_t fn;
        if (name < 0 || type < 0) continue;
        const char *fr = c360_json_raw(j, name, &fn);
        if (fn != cn || memcmp(fr, cr, cn) || !c360_json_streq(j, type, "org.apache.kafka.connect.data.Decimal")) continue;
        int sc = c360_json_get(j, c360_json_get(j, f, "parameters"), "scale");
        strbuf v = STRBUF_INIT;
        int scale = -1;
        if (sc >= 0 && j->tok[sc].type == CJ_STRING) c360_json_str(j, sc, &v);
        else if (sc >= 0 && c360_json_is_number(j, sc)) sb_add(&v, j->src + j->tok[sc].start, (size_t)(j->tok[sc].end - j->tok[sc].start));
        if (v.len && v.len < 3 && strspn(v.buf, "0123456789") == v.len) scale = atoi(v.buf);
        sb_release(&v);
        return scale >= 0 && scale <= 18 ? scale : -1;
    }
    return -1;
}

/* base64 unscaled value + scale -> exact decimal text; 0, or -1 if it does not fit 64 bits */
static int put_decimal(const c360_json *j, int v, int scale, strbuf *out)
{
    if (j->tok[v].type != CJ_STRING) return -1;
    strbuf b64 = STRBUF_INIT;
    unsigned char bin[16];
    size_t n = 0;
    int rc = -1;
    if (c360_json_str(j, v, &b64) == 0 && b64.len &&
        sodium_base642bin(bin, sizeof bin, b64.buf, b64.len, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 && n >= 1 &&
        n <= 8) {
        uint64_t u = (bin[0] & 0x80) ? UINT64_MAX : 0;
        for (size_t i = 0; i < n; i++) u = (u << 8) | bin[i];
        int neg = (int64_t)u < 0;
        uint64_t mag = neg ? (uint64_t)0 - u : u;
        char digits[32];
        int len = snprintf(digits, sizeof digits, "%0*llu", scale + 1, (unsigned long long)mag);
        if (neg) sb_addc(out, '-');
        sb_add(out, digits, (size_t)(len - scale));
        if (scale) {
            sb_addc(out, '.');
            sb_add(out, digits + len - scale, (size_t)scale);
        }
        rc = 0;
    }
    sb_release(&b64);
    return rc;
}

/* The row object with its Decimal columns as numbers (a copy of the row text otherwise). */
static void normalize_row(const c360_json *j, int row, int rs, strbuf *out)
{
    if (rs < 0) {
        put_raw(j, row, out);
        return;
    }
    sb_addc(out, '{');
    int k = row + 1;
    for (int c = 0; c < j->tok[row].size; c++) {
        int v = k + 1, scale = decimal_scale(j, rs, k);
        if (c) sb_addc(out, ',');
        put_raw(j, k, out);
        sb_addc(out, ':');
        if (scale < 0 || put_decimal(j, v, scale, out)) put_raw(j, v, out);
        k = c360_json_skip(j, v);
    }
    sb_addc(out, '}');
}

/* "cdc-<table>-<hash>": a change is named by what it is (operation, source position, rows), so
 * the same change delivered twice (Debezium delivers at least once) is applied once. */
static void change_id(const c360_json *j, int env, char o, const char *table, char *out, size_t outlen)
{
    static const char *const parts[] = {"source", "before", "after", NULL};
    crypto_generichash_state st;
    unsigned char h[16];
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)&o, 1);
    for (int i = 0; parts[i]; i++) {
        int t = c360_json_get(j, env, parts[i]);
        size_t n = 0;
        const char *r = t >= 0 ? c360_json_raw(j, t, &n) : "";
        unsigned char len[8];
        for (int b = 0; b < 8; b++) len[b] = (unsigned char)((uint64_t)n >> (8 * b));
        crypto_generichash_update(&st, len, sizeof len);
        crypto_generichash_update(&st, (const unsigned char *)r, n);
    }
    crypto_generichash_final(&st, h, sizeof h);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(out, outlen, "cdc-%s-%s", table, hex);
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
    size_t start = out->len;   /* a refusal appends nothing */
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
    if (tts >= 0 && c360_json_num(&j, tts, &d) == 0 && d > -9.2e18 && d < 9.2e18) ts = (int64_t)d;
    int row = c360_json_get(&j, env, o == 'd' ? "before" : "after");
    if (row < 0 || j.tok[row].type != CJ_OBJECT) {
        if (o == 'd' && table == C360_CDC_ORDERS) { rc = C360_CDC_SKIP; goto done; }
        fail(err, errlen, o == 'd' ? "delete without a 'before' row" : "change without an 'after' row");
        goto done;
    }
    if (table == C360_CDC_ORDERS && o == 'd') { rc = C360_CDC_SKIP; goto done; }
    /* the change's name: by content when Debezium says where it comes from (source) */
    char cid[64];
    const char *mid = fallback_message_id;
    if (src >= 0) {
        change_id(&j, env, o, table == C360_CDC_ORDERS ? "orders" : "customers", cid, sizeof cid);
        mid = cid;
    }
    /* the row, with Connect decimals as numbers when the schema is there */
    strbuf rowtxt = STRBUF_INIT;
    normalize_row(&j, row, env ? row_schema(&j, c360_json_get(&j, 0, "schema"), o == 'd' ? "before" : "after") : -1, &rowtxt);
    c360_json r;
    c360_json_init(&r);
    if (c360_json_parse(&r, rowtxt.buf, rowtxt.len, e, sizeof e)) {
        fail(err, errlen, "invalid row");
    } else if (table == C360_CDC_ORDERS) {
        rc = m ? c360_mapping_apply(m, rowtxt.buf, rowtxt.len, mid, out, err, errlen) : order_event(&r, 0, ts, out, err, errlen);
    } else if (o == 'd' && del == C360_CDC_DELETE_ERASE) {
        int tid = first_of(&r, 0, customer_keys, NULL);
        strbuf id = STRBUF_INIT;
        if (put_id(&r, tid, &id)) {
            fail(err, errlen, "customers delete without an id in 'before'");
        } else {
            c360_json idj;
            c360_json_init(&idj);
            if (c360_json_parse(&idj, id.buf, id.len, e, sizeof e) == 0) c360_json_str(&idj, 0, out);
            c360_json_release(&idj);
            rc = C360_CDC_ERASE;
        }
        sb_release(&id);
    } else if (m) {
        rc = c360_mapping_apply(m, rowtxt.buf, rowtxt.len, mid, out, err, errlen);
        if (rc == 0 && o == 'd' && null_traits(out, err, errlen)) rc = -1;
    } else {
        rc = customer_event(&r, 0, o == 'd', ts, mid, out, err, errlen);
    }
    c360_json_release(&r);
    sb_release(&rowtxt);
done:
    c360_json_release(&j);
    if (rc < 0) sb_truncate(out, start);
    return rc;
}
