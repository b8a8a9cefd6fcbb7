/* test_pgoutput.c - unit tests for the logical replication stream decoder (src/sources/pgoutput.c).
 * Covers: the CopyData framing (XLogData, keepalive, refusal of truncated or unknown frames), the
 * standby status update bytes, Begin/Commit positions and the 2000-epoch to Unix conversion,
 * Relation caching and replacement, Insert/Update/Delete as Debezium envelopes (column types to
 * JSON, NULL, unchanged TOAST, key-only deletes), every truncation of valid messages refused,
 * malformed messages refused with a reason, and the envelope's meaning through cdc_debezium.
 * The initial snapshot's pieces (src/sources/pg_snapshot.c): a row read by a query gives the
 * same JSON as the same row streamed (op "r"), which cdc_debezium maps like an insert; LSN text
 * is parsed, and malformed LSNs are refused. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/cdc_debezium.h"
#include "sources/pg_snapshot.h"
#include "sources/pgoutput.h"
#include "util/json.h"
#include "util/strbuf.h"

/* ------------------------------------------------------------------ message builder */

static void b_u8(strbuf *b, unsigned v) { sb_addc(b, (char)v); }
static void b_u16(strbuf *b, unsigned v) { b_u8(b, v >> 8); b_u8(b, v & 255); }
static void b_u32(strbuf *b, uint32_t v) { for (int i = 3; i >= 0; i--) b_u8(b, (v >> (8 * i)) & 255); }
static void b_u64(strbuf *b, uint64_t v) { sb_add_u64be(b, v); }
static void b_str(strbuf *b, const char *s) { sb_add(b, s, strlen(s) + 1); }
static void b_text(strbuf *b, const char *s) { b_u8(b, 't'); b_u32(b, (uint32_t)strlen(s)); sb_adds(b, s); }

enum { BOOL = 16, INT8 = 20, INT4 = 23, TEXT = 25, JSONB = 3802, NUMERIC = 1700, FLOAT8 = 701 };

/* customers(id int8 key, email text, vip bool, score numeric, tags jsonb, note text) */
static void rel_customers(strbuf *b, uint32_t oid)
{
    b_u8(b, 'R');
    b_u32(b, oid);
    b_str(b, "public");
    b_str(b, "customers");
    b_u8(b, 'd');
    b_u16(b, 6);
    const struct { int key; const char *name; uint32_t type; } cols[] = {
        {1, "id", INT8}, {0, "email", TEXT}, {0, "vip", BOOL}, {0, "score", NUMERIC}, {0, "tags", JSONB}, {0, "note", TEXT}};
    for (int i = 0; i < 6; i++) {
        b_u8(b, (unsigned)cols[i].key);
        b_str(b, cols[i].name);
        b_u32(b, cols[i].type);
        b_u32(b, 0xffffffffu);
    }
}

static void insert_row(strbuf *b, uint32_t oid)
{
    b_u8(b, 'I');
    b_u32(b, oid);
    b_u8(b, 'N');
    b_u16(b, 6);
    b_text(b, "42");
    b_text(b, "ann@example.com");
    b_text(b, "t");
    b_text(b, "19.90");
    b_text(b, "[\"a\", {\"b\": 1}]");
    b_text(b, "say \"hi\"\n");
}

typedef struct fixture {
    c360_pg_relations rs;
    strbuf env;
    c360_pg_msg m;
    char err[256];
} fixture;

static int parse(fixture *f, const strbuf *b)
{
    sb_reset(&f->env);
    f->err[0] = 0;
    return c360_pgoutput_parse(&f->rs, b->buf, b->len, 1700000000000LL, NULL, &f->m, &f->env, f->err, sizeof f->err);
}

static void release(fixture *f)
{
    c360_pg_relations_release(&f->rs);
    sb_release(&f->env);
}

static void assert_json(const strbuf *s)
{
    c360_json j;
    c360_json_init(&j);
    char e[128];
    if (c360_json_parse(&j, s->buf, s->len, e, sizeof e)) fail_msg("envelope is not JSON (%s): %s", e, s->buf);
    c360_json_release(&j);
}

/* ------------------------------------------------------------------ framing */

static void test_frames(void **state)
{
    (void)state;
    strbuf b = STRBUF_INIT;
    char err[128];
    c360_pg_frame f;
    b_u8(&b, 'w');
    b_u64(&b, 0x100000020ULL);
    b_u64(&b, 0x100000030ULL);
    b_u64(&b, 12345);
    sb_adds(&b, "Bxyz");
    assert_int_equal(c360_pg_frame_parse(b.buf, b.len, &f, err, sizeof err), 0);
    assert_int_equal(f.kind, 'w');
    assert_true(f.start == 0x100000020ULL && f.end == 0x100000030ULL && f.time_us == 12345);
    assert_int_equal(f.len, 4);
    assert_memory_equal(f.data, "Bxyz", 4);
    for (size_t n = 0; n < 25; n++) assert_int_equal(c360_pg_frame_parse(b.buf, n, &f, err, sizeof err), -1);

    sb_reset(&b);
    b_u8(&b, 'k');
    b_u64(&b, 777);
    b_u64(&b, 888);
    b_u8(&b, 1);
    assert_int_equal(c360_pg_frame_parse(b.buf, b.len, &f, err, sizeof err), 0);
    assert_true(f.kind == 'k' && f.end == 777 && f.time_us == 888 && f.reply == 1);
    assert_int_equal(c360_pg_frame_parse(b.buf, b.len - 1, &f, err, sizeof err), -1);
    assert_non_null(strstr(err, "truncated"));

    assert_int_equal(c360_pg_frame_parse("x", 1, &f, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown"));
    assert_int_equal(c360_pg_frame_parse("", 0, &f, err, sizeof err), -1);
    sb_release(&b);
}

static void test_status_update(void **state)
{
    (void)state;
    unsigned char m[C360_PG_STATUS_LEN];
    c360_pg_status_update(m, 0x0102030405060708ULL, 0x1112131415161718ULL, 0x2122232425262728ULL, 0x31, 1);
    assert_int_equal(m[0], 'r');
    assert_true(c360_get_u64be(m + 1) == 0x0102030405060708ULL);
    assert_true(c360_get_u64be(m + 9) == 0x1112131415161718ULL);
    assert_true(c360_get_u64be(m + 17) == 0x2122232425262728ULL);
    assert_true(c360_get_u64be(m + 25) == 0x31);
    assert_int_equal(m[33], 1);
}

/* ------------------------------------------------------------------ messages */

static void test_begin_commit(void **state)
{
    (void)state;
    fixture f = {0};
    sb_init(&f.env);
    strbuf b = STRBUF_INIT;
    b_u8(&b, 'B');
    b_u64(&b, 0x16B3748ULL);
    b_u64(&b, 1000000ULL * 86400);   /* 2000-01-02 in PostgreSQL's epoch */
    b_u32(&b, 731);
    assert_int_equal(parse(&f, &b), 0);
    assert_int_equal(f.m.kind, C360_PGM_BEGIN);
    assert_true(f.m.lsn == 0x16B3748ULL);
    assert_true(f.m.ts_ms == C360_PG_EPOCH_MS + 86400000LL);
    assert_int_equal(f.m.xid, 731);
    assert_int_equal(f.env.len, 0);

    sb_reset(&b);
    b_u8(&b, 'C');
    b_u8(&b, 0);
    b_u64(&b, 0x16B3748ULL);
    b_u64(&b, 0x16B3778ULL);
    b_u64(&b, 5000);
    assert_int_equal(parse(&f, &b), 0);
    assert_int_equal(f.m.kind, C360_PGM_COMMIT);
    assert_true(f.m.lsn == 0x16B3748ULL && f.m.end_lsn == 0x16B3778ULL);
    assert_true(f.m.ts_ms == C360_PG_EPOCH_MS + 5);
    sb_release(&b);
    release(&f);
}

static void test_insert_envelope(void **state)
{
    (void)state;
    fixture f = {0};
    sb_init(&f.env);
    strbuf b = STRBUF_INIT;
    rel_customers(&b, 16384);
    assert_int_equal(parse(&f, &b), 0);
    assert_int_equal(f.m.kind, C360_PGM_RELATION);
    assert_string_equal(f.m.rel->name, "customers");
    assert_int_equal(f.m.rel->ncols, 6);
    assert_true(f.m.rel->cols[0].key && !f.m.rel->cols[1].key);

    sb_reset(&b);
    insert_row(&b, 16384);
    assert_int_equal(parse(&f, &b), 0);
    assert_int_equal(f.m.kind, C360_PGM_INSERT);
    assert_string_equal(f.m.rel->name, "customers");
    assert_string_equal(f.env.buf,
                        "{\"op\":\"c\",\"after\":{\"id\":42,\"email\":\"ann@example.com\",\"vip\":true,\"score\":19.90,"
                        "\"tags\":[\"a\", {\"b\": 1}],\"note\":\"say \\\"hi\\\"\\n\"},"
                        "\"source\":{\"ts_ms\":1700000000000,\"schema\":\"public\",\"table\":\"customers\"}}");
    assert_json(&f.env);

    /* source_extra is appended to source */
    sb_reset(&f.env);
    assert_int_equal(c360_pgoutput_parse(&f.rs, b.buf, b.len, 5, "\"lsn\":9", &f.m, &f.env, f.err, sizeof f.err), 0);
    assert_non_null(strstr(f.env.buf, "\"table\":\"customers\",\"lsn\":9}}"));
    sb_release(&b);
    release(&f);
}

/* values that are not what their type promises stay strings: the envelope is always JSON */
static void test_values_fall_back_to_strings(void **state)
{
    (void)state;
    fixture f = {0};
    sb_init(&f.env);
    strbuf b = STRBUF_INIT;
    rel_customers(&b, 7);
    assert_int_equal(parse(&f, &b), 0);
    sb_reset(&b);
    b_u8(&b, 'I');
    b_u32(&b, 7);
    b_u8(&b, 'N');
    b_u16(&b, 6);
    b_text(&b, "NaN");           /* int8 column with a non-number */
    b_u8(&b, 'n');               /* NULL */
    b_text(&b, "maybe");         /* bool */
    b_text(&b, "Infinity");      /* numeric */
    b_text(&b, "{\"a\":");       /* jsonb, broken */
    b_text(&b, "");              /* empty text */
    assert_int_equal(parse(&f, &b), 0);
    assert_string_equal(f.env.buf, "{\"op\":\"c\",\"after\":{\"id\":\"NaN\",\"email\":null,\"vip\":\"maybe\",\"score\":\"Infinity\","
                                   "\"tags\":\"{\\\"a\\\":\",\"note\":\"\"},"
                                   "\"source\":{\"ts_ms\":1700000000000,\"schema\":\"public\",\"table\":\"customers\"}}");
    assert_json(&f.env);
    sb_release(&b);
    release(&f);
}

static void test_update_and_delete(void **state)
{
    (void)state;
    fixture f = {0};
    sb_init(&f.env);
    strbuf b = STRBUF_INIT;
    rel_customers(&b, 9);
    assert_int_equal(parse(&f, &b), 0);

    /* update with the old row (REPLICA IDENTITY FULL) and an unchanged TOASTed column */
    sb_reset(&b);
    b_u8(&b, 'U');
    b_u32(&b, 9);
    b_u8(&b, 'O');
    b_u16(&b, 6);
    b_text(&b, "42"); b_text(&b, "old@example.com"); b_text(&b, "f"); b_u8(&b, 'n'); b_u8(&b, 'n'); b_u8(&b, 'n');
    b_u8(&b, 'N');
    b_u16(&b, 6);
    b_text(&b, "42"); b_text(&b, "new@example.com"); b_text(&b, "t"); b_text(&b, "-1.5e3"); b_u8(&b, 'u'); b_u8(&b, 'n');
    assert_int_equal(parse(&f, &b), 0);
    assert_int_equal(f.m.kind, C360_PGM_UPDATE);
    assert_string_equal(f.env.buf, "{\"op\":\"u\",\"before\":{\"id\":42,\"email\":\"old@example.com\",\"vip\":false,\"score\":null,"
                                   "\"tags\":null,\"note\":null},\"after\":{\"id\":42,\"email\":\"new@example.com\",\"vip\":true,"
                                   "\"score\":-1.5e3,\"note\":null},"
                                   "\"source\":{\"ts_ms\":1700000000000,\"schema\":\"public\",\"table\":\"customers\"}}");
    assert_json(&f.env);

    /* update without the old row */
    sb_reset(&b);
    b_u8(&b, 'U');
    b_u32(&b, 9);
    b_u8(&b, 'N');
    b_u16(&b, 6);
    b_text(&b, "1"); b_u8(&b, 'n'); b_u8(&b, 'n'); b_u8(&b, 'n'); b_u8(&b, 'n'); b_u8(&b, 'n');
    assert_int_equal(parse(&f, &b), 0);
    assert_non_null(strstr(f.env.buf, "{\"op\":\"u\",\"after\":{\"id\":1,"));
    assert_json(&f.env);

    /* delete with REPLICA IDENTITY DEFAULT: the key, every other column null */
    sb_reset(&b);
    b_u8(&b, 'D');
    b_u32(&b, 9);
    b_u8(&b, 'K');
    b_u16(&b, 6);
    b_text(&b, "42"); b_u8(&b, 'n'); b_u8(&b, 'n'); b_u8(&b, 'n'); b_u8(&b, 'n'); b_u8(&b, 'n');
    assert_int_equal(parse(&f, &b), 0);
    assert_int_equal(f.m.kind, C360_PGM_DELETE);
    assert_string_equal(f.env.buf, "{\"op\":\"d\",\"before\":{\"id\":42,\"email\":null,\"vip\":null,\"score\":null,\"tags\":null,"
                                   "\"note\":null},\"source\":{\"ts_ms\":1700000000000,\"schema\":\"public\",\"table\":\"customers\"}}");
    sb_release(&b);
    release(&f);
}

/* a Relation message for a known oid replaces it (ALTER TABLE) */
static void test_relation_replaced(void **state)
{
    (void)state;
    fixture f = {0};
    sb_init(&f.env);
    strbuf b = STRBUF_INIT;
    rel_customers(&b, 5);
    assert_int_equal(parse(&f, &b), 0);
    sb_reset(&b);
    b_u8(&b, 'R');
    b_u32(&b, 5);
    b_str(&b, "shop");
    b_str(&b, "clients");
    b_u8(&b, 'f');
    b_u16(&b, 1);
    b_u8(&b, 1);
    b_str(&b, "cid");
    b_u32(&b, INT4);
    b_u32(&b, 0);
    assert_int_equal(parse(&f, &b), 0);
    assert_int_equal(f.rs.n, 1);
    const c360_pg_relation *r = c360_pg_relation_find(&f.rs, 5);
    assert_non_null(r);
    assert_string_equal(r->schema, "shop");
    assert_string_equal(r->name, "clients");
    assert_int_equal(r->ncols, 1);
    assert_null(c360_pg_relation_find(&f.rs, 6));
    /* the old shape no longer matches */
    sb_reset(&b);
    insert_row(&b, 5);
    assert_int_equal(parse(&f, &b), -1);
    assert_non_null(strstr(f.err, "does not match"));
    sb_release(&b);
    release(&f);
}

static void test_ignored_messages(void **state)
{
    (void)state;
    fixture f = {0};
    sb_init(&f.env);
    strbuf b = STRBUF_INIT;
    b_u8(&b, 'Y'); b_u32(&b, 99); b_str(&b, "public"); b_str(&b, "mood");
    assert_int_equal(parse(&f, &b), 0);
    assert_int_equal(f.m.kind, C360_PGM_TYPE);
    sb_reset(&b);
    b_u8(&b, 'O'); b_u64(&b, 1234); b_str(&b, "origin1");
    assert_int_equal(parse(&f, &b), 0);
    assert_true(f.m.kind == C360_PGM_ORIGIN && f.m.lsn == 1234);
    sb_reset(&b);
    b_u8(&b, 'T'); b_u32(&b, 2); b_u8(&b, 0); b_u32(&b, 5); b_u32(&b, 6);
    assert_int_equal(parse(&f, &b), 0);
    assert_int_equal(f.m.kind, C360_PGM_TRUNCATE);
    assert_int_equal(parse(&f, &(strbuf){b.buf, b.len - 1, 0}), -1); /* one oid short */
    sb_reset(&b);
    b_u8(&b, 'T'); b_u32(&b, 0x7fffffff); b_u8(&b, 0);
    assert_int_equal(parse(&f, &b), -1);
    assert_int_equal(f.env.len, 0);
    sb_release(&b);
    release(&f);
}

static void test_malformed(void **state)
{
    (void)state;
    fixture f = {0};
    sb_init(&f.env);
    strbuf b = STRBUF_INIT;

    /* a change before its Relation message */
    insert_row(&b, 1);
    assert_int_equal(parse(&f, &b), -1);
    assert_non_null(strstr(f.err, "before its Relation"));

    sb_reset(&b);
    rel_customers(&b, 1);
    assert_int_equal(parse(&f, &b), 0);

    /* trailing bytes, a wrong tuple marker, an unknown value kind, an unknown message */
    sb_reset(&b);
    insert_row(&b, 1);
    sb_addc(&b, 'x');
    assert_int_equal(parse(&f, &b), -1);
    assert_non_null(strstr(f.err, "trailing"));
    assert_int_equal(f.env.len, 0);
    sb_reset(&b);
    b_u8(&b, 'I'); b_u32(&b, 1); b_u8(&b, 'K'); b_u16(&b, 0);
    assert_int_equal(parse(&f, &b), -1);
    assert_int_equal(f.env.len, 0);
    sb_reset(&b);
    b_u8(&b, 'D'); b_u32(&b, 1); b_u8(&b, 'K'); b_u16(&b, 6); b_u8(&b, 'b'); b_u32(&b, 0);
    assert_int_equal(parse(&f, &b), -1);
    assert_non_null(strstr(f.err, "value kind"));
    assert_int_equal(f.env.len, 0);
    sb_reset(&b);
    b_u8(&b, 'Z');
    assert_int_equal(parse(&f, &b), -1);
    assert_non_null(strstr(f.err, "unknown pgoutput message"));
    assert_int_equal(parse(&f, &(strbuf){b.buf, 0, 0}), -1);

    /* a Relation claiming more columns than PostgreSQL allows, or than it holds */
    sb_reset(&b);
    b_u8(&b, 'R'); b_u32(&b, 2); b_str(&b, "s"); b_str(&b, "t"); b_u8(&b, 'd'); b_u16(&b, 60000);
    assert_int_equal(parse(&f, &b), -1);
    sb_reset(&b);
    b_u8(&b, 'R'); b_u32(&b, 2); b_str(&b, "s"); b_str(&b, "t"); b_u8(&b, 'd'); b_u16(&b, 100);
    assert_int_equal(parse(&f, &b), -1);
    assert_null(c360_pg_relation_find(&f.rs, 2));
    sb_release(&b);
    release(&f);
}

/* every proper prefix of a valid message is refused, without touching the output */
static void test_every_truncation_refused(void **state)
{
    (void)state;
    fixture f = {0};
    sb_init(&f.env);
    strbuf rel = STRBUF_INIT, ins = STRBUF_INIT, upd = STRBUF_INIT;
    rel_customers(&rel, 3);
    insert_row(&ins, 3);
    b_u8(&upd, 'U'); b_u32(&upd, 3); b_u8(&upd, 'K'); b_u16(&upd, 6);
    b_text(&upd, "1"); for (int i = 0; i < 5; i++) b_u8(&upd, 'n');
    b_u8(&upd, 'N'); b_u16(&upd, 6); b_text(&upd, "1"); for (int i = 0; i < 5; i++) b_u8(&upd, 'u');
    for (size_t n = 0; n < rel.len; n++) {
        c360_pg_relations empty = {0};
        sb_reset(&f.env);
        if (c360_pgoutput_parse(&empty, rel.buf, n, 0, NULL, &f.m, &f.env, f.err, sizeof f.err) != -1)
            fail_msg("Relation prefix of %zu bytes accepted", n);
        assert_int_equal(empty.n, 0);
        c360_pg_relations_release(&empty);
    }
    assert_int_equal(parse(&f, &rel), 0);
    const strbuf *msgs[] = {&ins, &upd};
    for (int k = 0; k < 2; k++)
        for (size_t n = 0; n < msgs[k]->len; n++) {
            if (parse(&f, &(strbuf){msgs[k]->buf, n, 0}) != -1) fail_msg("change prefix of %zu bytes accepted", n);
            assert_int_equal(f.env.len, 0);
            assert_true(f.err[0] != 0);
        }
    assert_int_equal(parse(&f, &upd), 0);
    assert_json(&f.env);
    sb_release(&rel);
    sb_release(&ins);
    sb_release(&upd);
    release(&f);
}

/* the customers row of insert_row (42, ann@example.com) as an envelope: cdc_debezium makes it
 * an identify of user 42 with the email as a trait and the id not among the traits */
static void assert_ann_identify(const char *env, size_t n)
{
    strbuf out = STRBUF_INIT;
    char err[256];
    assert_int_equal(c360_cdc_debezium(C360_CDC_CUSTOMERS, NULL, C360_CDC_DELETE_CLEAR, env, n, "pg-1", &out, err, sizeof err),
                     C360_CDC_EVENT);
    c360_json j;
    c360_json_init(&j);
    assert_int_equal(c360_json_parse(&j, out.buf, out.len, err, sizeof err), 0);
    assert_true(c360_json_streq(&j, c360_json_get(&j, 0, "type"), "identify"));
    assert_true(c360_json_streq(&j, c360_json_get(&j, 0, "userId"), "42"));
    int traits = c360_json_get(&j, 0, "traits");
    assert_true(c360_json_streq(&j, c360_json_get(&j, traits, "email"), "ann@example.com"));
    assert_int_equal(c360_json_get(&j, traits, "id"), -1);
    c360_json_release(&j);
    sb_release(&out);
}

/* the envelope means the same as a Debezium change: an identify with upsert semantics */
static void test_envelope_through_cdc(void **state)
{
    (void)state;
    fixture f = {0};
    sb_init(&f.env);
    strbuf b = STRBUF_INIT, out = STRBUF_INIT;
    char err[256];
    rel_customers(&b, 4);
    assert_int_equal(parse(&f, &b), 0);
    sb_reset(&b);
    insert_row(&b, 4);
    assert_int_equal(parse(&f, &b), 0);
    assert_ann_identify(f.env.buf, f.env.len);

    /* a key-only delete clears every column of the row */
    sb_reset(&b);
    b_u8(&b, 'D'); b_u32(&b, 4); b_u8(&b, 'K'); b_u16(&b, 6);
    b_text(&b, "42"); for (int i = 0; i < 5; i++) b_u8(&b, 'n');
    assert_int_equal(parse(&f, &b), 0);
    sb_reset(&out);
    assert_int_equal(c360_cdc_debezium(C360_CDC_CUSTOMERS, NULL, C360_CDC_DELETE_CLEAR, f.env.buf, f.env.len, "pg-2", &out, err,
                                       sizeof err),
                     C360_CDC_EVENT);
    c360_json j;
    c360_json_init(&j);
    assert_int_equal(c360_json_parse(&j, out.buf, out.len, err, sizeof err), 0);
    int traits = c360_json_get(&j, 0, "traits");
    assert_true(c360_json_is_null(&j, c360_json_get(&j, traits, "email")));
    assert_true(c360_json_is_null(&j, c360_json_get(&j, traits, "vip")));
    c360_json_release(&j);
    sb_release(&out);
    sb_release(&b);
    release(&f);
}

static void test_snapshot_row_envelope(void **state)
{
    (void)state;
    fixture f = {0};
    sb_init(&f.env);
    strbuf b = STRBUF_INIT, env = STRBUF_INIT;
    rel_customers(&b, 16384);
    assert_int_equal(parse(&f, &b), 0);
    /* the values insert_row streams, as a query returns them (text), one of them NULL */
    const char *vals[6] = {"42", "ann@example.com", "t", "19.90", "[\"a\", {\"b\": 1}]", NULL};
    size_t lens[6];
    for (int i = 0; i < 6; i++) lens[i] = vals[i] ? strlen(vals[i]) : 0;
    c360_pg_row_envelope(f.m.rel, vals, lens, 1700000000000, "\"snapshot\":true", &env);
    assert_string_equal(env.buf,
                        "{\"op\":\"r\",\"after\":{\"id\":42,\"email\":\"ann@example.com\",\"vip\":true,\"score\":19.90,"
                        "\"tags\":[\"a\", {\"b\": 1}],\"note\":null},"
                        "\"source\":{\"ts_ms\":1700000000000,\"schema\":\"public\",\"table\":\"customers\",\"snapshot\":true}}");
    assert_json(&env);
    /* a snapshot read means what an insert means */
    assert_ann_identify(env.buf, env.len);
    sb_release(&env);
    sb_release(&b);
    release(&f);
}

static void test_lsn_parse(void **state)
{
    (void)state;
    assert_true(c360_pg_lsn_parse("16/B374D848") == 0x16B374D848ULL);
    assert_true(c360_pg_lsn_parse("0/1CC0FA8") == 0x1CC0FA8ULL);
    assert_true(c360_pg_lsn_parse("FFFFFFFF/FFFFFFFF") == UINT64_MAX);
    static const char *const bad[] = {"", "/", "16", "16/", "/B3", "16/B3x", "x/1", "100000000/0", "1/100000000", "1/2/3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_true(c360_pg_lsn_parse(bad[i]) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_status_update),
        cmocka_unit_test(test_begin_commit),
        cmocka_unit_test(test_insert_envelope),
        cmocka_unit_test(test_values_fall_back_to_strings),
        cmocka_unit_test(test_update_and_delete),
        cmocka_unit_test(test_relation_replaced),
        cmocka_unit_test(test_ignored_messages),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_envelope_through_cdc),
        cmocka_unit_test(test_snapshot_row_envelope),
        cmocka_unit_test(test_lsn_parse),
    };
    return cmocka_run_group_tests_name("pgoutput", tests, NULL, NULL);
}
