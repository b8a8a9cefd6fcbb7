/* pgoutput.c -- bounds-checked decoding of the logical replication stream. See pgoutput.h. */
#include "sources/pgoutput.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a cursor over untrusted bytes: every read checks the remaining length ---- */

typedef struct rd {
    const unsigned char *p;
    size_t n, at;
    int bad;
} rd;

static int need(rd *r, size_t k)
{
    if (r->bad || r->n - r->at < k) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

static unsigned rd_u8(rd *r)
{
    return need(r, 1) ? r->p[r->at++] : 0;
}

static uint32_t rd_be(rd *r, int bytes)
{
    if (!need(r, (size_t)bytes)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++) v = (v << 8) | r->p[r->at++];
    return v;
}

static uint64_t rd_u64(rd *r)
{
    if (!need(r, 8)) return 0;
    uint64_t v = c360_get_u64be(r->p + r->at);
    r->at += 8;
    return v;
}

/* A NUL-terminated string inside the message; NULL (and r->bad) if it runs off the end. */
static const char *rd_str(rd *r, size_t *len)
{
    if (r->bad) return NULL;
    const unsigned char *s = r->p + r->at, *z = memchr(s, 0, r->n - r->at);
    if (!z) {
        r->bad = 1;
        return NULL;
    }
    *len = (size_t)(z - s);
    r->at += *len + 1;
    return (const char *)s;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *what)
{
    snprintf(err, errlen, fmt, what);
    return -1;
}

/* ---- framing ---- */

int c360_pg_frame_parse(const void *buf, size_t len, c360_pg_frame *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    rd r = {buf, len, 0, 0};
    f->kind = (char)rd_u8(&r);
    if (f->kind == 'w') {
        f->start = rd_u64(&r);
        f->end = rd_u64(&r);
        f->time_us = (int64_t)rd_u64(&r);
        if (r.bad) return fail(err, errlen, "%s", "truncated XLogData header");
        f->data = r.p + r.at;
        f->len = r.n - r.at;
        return 0;
    }
    if (f->kind == 'k') {
        f->end = rd_u64(&r);
        f->time_us = (int64_t)rd_u64(&r);
        f->reply = rd_u8(&r) != 0;
        if (r.bad) return fail(err, errlen, "%s", "truncated keepalive");
        return 0;
    }
    if (r.bad) return fail(err, errlen, "%s", "empty replication message");
    char k[8];
    snprintf(k, sizeof k, "0x%02x", (unsigned char)f->kind);
    return fail(err, errlen, "unknown replication message type %s", k);
}

void c360_pg_status_update(unsigned char out[C360_PG_STATUS_LEN], uint64_t write, uint64_t flush, uint64_t apply,
                           int64_t now_us, int reply)
{
    out[0] = 'r';
    c360_put_u64be(out + 1, write);
    c360_put_u64be(out + 9, flush);
    c360_put_u64be(out + 17, apply);
    c360_put_u64be(out + 25, (uint64_t)now_us);
    out[33] = reply ? 1 : 0;
}

/* ---- relations ---- */

static void relation_release(c360_pg_relation *rel)
{
    for (int i = 0; i < rel->ncols; i++) free(rel->cols[i].name);
    free(rel->cols);
    free(rel->schema);
    free(rel->name);
    memset(rel, 0, sizeof *rel);
}

void c360_pg_relations_release(c360_pg_relations *rs)
{
    for (int i = 0; i < rs->n; i++) relation_release(&rs->r[i]);
    free(rs->r);
    rs->r = NULL;
    rs->n = 0;
}

const c360_pg_relation *c360_pg_relation_find(const c360_pg_relations *rs, uint32_t oid)
{
    for (int i = 0; i < rs->n; i++)
        if (rs->r[i].oid == oid) return &rs->r[i];
    return NULL;
}

static int parse_relation(c360_pg_relations *rs, rd *r, c360_pg_msg *m, char *err, size_t errlen)
{
    c360_pg_relation rel = {0};
    size_t sl, nl;
    rel.oid = rd_be(r, 4);
    const char *schema = rd_str(r, &sl), *name = rd_str(r, &nl);
    rd_u8(r); /* replica identity setting: the key flags of the columns say what matters */
    unsigned ncols = rd_be(r, 2);
    if (r->bad) return fail(err, errlen, "%s", "truncated Relation message");
    if (ncols > C360_PG_MAX_COLUMNS) return fail(err, errlen, "%s", "Relation message with too many columns");
    /* each column takes at least 10 bytes: check before allocating */
    if (r->n - r->at < (size_t)ncols * 10) return fail(err, errlen, "%s", "truncated Relation message");
    rel.schema = xstrndup(schema, sl);
    rel.name = xstrndup(name, nl);
    rel.cols = xcalloc(ncols ? ncols : 1, sizeof *rel.cols);
    for (unsigned i = 0; i < ncols; i++) {
        c360_pg_column *c = &rel.cols[i];
        c->key = (rd_u8(r) & 1) != 0;
        size_t cl;
        const char *cn = rd_str(r, &cl);
        c->type = rd_be(r, 4);
        rd_be(r, 4); /* typmod */
        if (r->bad) {
            rel.ncols = (int)i;
            relation_release(&rel);
            return fail(err, errlen, "%s", "truncated Relation message");
        }
        c->name = xstrndup(cn, cl);
        rel.ncols = (int)i + 1;
    }
    for (int i = 0; i < rs->n; i++)
        if (rs->r[i].oid == rel.oid) {
            relation_release(&rs->r[i]);
            rs->r[i] = rel;
            m->rel = &rs->r[i];
            return 0;
        }
    if (rs->n >= C360_PG_MAX_RELATIONS) {
        relation_release(&rel);
        return fail(err, errlen, "%s", "too many relations on one stream");
    }
    rs->r = xrealloc(rs->r, sizeof *rs->r * (size_t)(rs->n + 1));
    rs->r[rs->n] = rel;
    m->rel = &rs->r[rs->n++];
    return 0;
}

/* ---- column values ---- */

enum { PG_BOOL = 16, PG_INT8 = 20, PG_INT2 = 21, PG_INT4 = 23, PG_OID = 26, PG_JSON = 114, PG_FLOAT4 = 700,
       PG_FLOAT8 = 701, PG_NUMERIC = 1700, PG_JSONB = 3802 };

static void put_value(strbuf *out, uint32_t type, const char *v, size_t n)
{
    switch (type) {
    case PG_BOOL:
        if (n == 1 && (v[0] == 't' || v[0] == 'f')) {
            sb_adds(out, v[0] == 't' ? "true" : "false");
            return;
        }
        break;
    case PG_INT2: case PG_INT4: case PG_INT8: case PG_OID: case PG_FLOAT4: case PG_FLOAT8: case PG_NUMERIC:
        if (c360_json_number_text(v, n)) {
            sb_add(out, v, n);
            return;
        }
        break;
    case PG_JSON: case PG_JSONB: {
        c360_json j;
        c360_json_init(&j);
        char e[64];
        size_t bad, i = 0;
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r')) i++;
        /* one JSON value, starting as one does (the reader lets a leading separator through) */
        int ok = i < n && v[i] != ',' && v[i] != ':' && c360_utf8_valid(v, n, &bad) &&
                 c360_json_parse(&j, v, n, e, sizeof e) == 0;
        c360_json_release(&j);
        if (ok) {
            sb_add(out, v, n);
            return;
        }
        break;
    }
    default:
        break;
    }
    c360_json_put_str(out, v, n);
}

/* TupleData -> a JSON object of the relation's columns. */
static int put_tuple(rd *r, const c360_pg_relation *rel, strbuf *out, char *err, size_t errlen)
{
    unsigned n = rd_be(r, 2);
    if (r->bad) return fail(err, errlen, "%s", "truncated tuple");
    if ((int)n != rel->ncols) return fail(err, errlen, "tuple of relation %s does not match its columns", rel->name);
    sb_addc(out, '{');
    int first = 1;
    for (unsigned i = 0; i < n; i++) {
        unsigned kind = rd_u8(r);
        if (r->bad) return fail(err, errlen, "%s", "truncated tuple");
        if (kind == 'u') continue; /* unchanged TOASTed value: not sent, so not touched */
        if (!first) sb_addc(out, ',');
        first = 0;
        c360_json_put_cstr(out, rel->cols[i].name);
        sb_addc(out, ':');
        if (kind == 'n') {
            sb_adds(out, "null");
        } else if (kind == 't') {
            uint32_t len = rd_be(r, 4);
            if (r->bad || !need(r, len)) return fail(err, errlen, "%s", "truncated column value");
            put_value(out, rel->cols[i].type, (const char *)r->p + r->at, len);
            r->at += len;
        } else {
            return fail(err, errlen, "%s", "unknown column value kind (binary format is not requested)");
        }
    }
    sb_addc(out, '}');
    return 0;
}

static const c360_pg_relation *change_relation(const c360_pg_relations *rs, rd *r, char *err, size_t errlen)
{
    uint32_t oid = rd_be(r, 4);
    if (r->bad) {
        fail(err, errlen, "%s", "truncated change message");
        return NULL;
    }
    const c360_pg_relation *rel = c360_pg_relation_find(rs, oid);
    if (!rel) {
        char o[16];
        snprintf(o, sizeof o, "%u", (unsigned)oid);
        fail(err, errlen, "change of relation %s before its Relation message", o);
    }
    return rel;
}

static void envelope_source(strbuf *out, const c360_pg_relation *rel, int64_t ts_ms, const char *extra)
{
    sb_addf(out, ",\"source\":{\"ts_ms\":%lld,\"schema\":", (long long)ts_ms);
    c360_json_put_cstr(out, rel->schema);
    sb_adds(out, ",\"table\":");
    c360_json_put_cstr(out, rel->name);
    if (extra && *extra) {
        sb_addc(out, ',');
        sb_adds(out, extra);
    }
    sb_adds(out, "}}");
}

static int parse_change(const c360_pg_relations *rs, rd *r, int kind, int64_t ts_ms, const char *extra, c360_pg_msg *m,
                        strbuf *out, char *err, size_t errlen)
{
    const c360_pg_relation *rel = change_relation(rs, r, err, errlen);
    if (!rel) return -1;
    m->rel = rel;
    size_t mark = out->len;
    unsigned t = rd_u8(r);
    int rc = 0;
    if (kind == C360_PGM_INSERT) {
        if (t != 'N') goto bad;
        sb_adds(out, "{\"op\":\"c\",\"after\":");
        rc = put_tuple(r, rel, out, err, errlen);
    } else if (kind == C360_PGM_UPDATE) {
        sb_adds(out, "{\"op\":\"u\",");
        if (t == 'K' || t == 'O') {
            sb_adds(out, "\"before\":");
            rc = put_tuple(r, rel, out, err, errlen);
            sb_addc(out, ',');
            t = rd_u8(r);
        }
        if (rc == 0 && t != 'N') goto bad;
        sb_adds(out, "\"after\":");
        if (rc == 0) rc = put_tuple(r, rel, out, err, errlen);
    } else {
        if (t != 'K' && t != 'O') goto bad;
        sb_adds(out, "{\"op\":\"d\",\"before\":");
        rc = put_tuple(r, rel, out, err, errlen);
    }
    if (rc) {
        sb_truncate(out, mark);
        return -1;
    }
    if (r->at != r->n) {
        sb_truncate(out, mark);
        return fail(err, errlen, "%s", "trailing bytes after a change message");
    }
    envelope_source(out, rel, ts_ms, extra);
    return 0;
bad:
    sb_truncate(out, mark);
    return fail(err, errlen, "%s", r->bad ? "truncated change message" : "malformed change message (tuple marker)");
}

void c360_pg_row_envelope(const c360_pg_relation *rel, const char *const *vals, const size_t *lens, int64_t ts_ms,
                          const char *source_extra, strbuf *out)
{
    sb_adds(out, "{\"op\":\"r\",\"after\":{");
    for (int i = 0; i < rel->ncols; i++) {
        if (i) sb_addc(out, ',');
        c360_json_put_cstr(out, rel->cols[i].name);
        sb_addc(out, ':');
        if (vals[i]) put_value(out, rel->cols[i].type, vals[i], lens[i]);
        else sb_adds(out, "null");
    }
    sb_addc(out, '}');
    envelope_source(out, rel, ts_ms, source_extra);
}

static int64_t pg_ts_ms(uint64_t us)
{
    return (int64_t)us / 1000 + C360_PG_EPOCH_MS;
}

int c360_pgoutput_parse(c360_pg_relations *rs, const void *data, size_t len, int64_t ts_ms, const char *source_extra,
                        c360_pg_msg *m, strbuf *envelope, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    rd r = {data, len, 0, 0};
    int kind = (int)rd_u8(&r);
    if (r.bad) return fail(err, errlen, "%s", "empty pgoutput message");
    m->kind = kind;
    size_t sl;
    switch (kind) {
    case C360_PGM_BEGIN:
        m->lsn = rd_u64(&r);
        m->ts_ms = pg_ts_ms(rd_u64(&r));
        m->xid = rd_be(&r, 4);
        break;
    case C360_PGM_COMMIT:
        rd_u8(&r); /* flags (unused) */
        m->lsn = rd_u64(&r);
        m->end_lsn = rd_u64(&r);
        m->ts_ms = pg_ts_ms(rd_u64(&r));
        break;
    case C360_PGM_ORIGIN:
        m->lsn = rd_u64(&r);
        rd_str(&r, &sl);
        break;
    case C360_PGM_TYPE:
        rd_be(&r, 4);
        rd_str(&r, &sl);
        rd_str(&r, &sl);
        break;
    case C360_PGM_RELATION:
        return parse_relation(rs, &r, m, err, errlen);
    case C360_PGM_INSERT:
    case C360_PGM_UPDATE:
    case C360_PGM_DELETE:
        return parse_change(rs, &r, kind, ts_ms, source_extra, m, envelope, err, errlen);
    case C360_PGM_TRUNCATE: {
        uint32_t nrel = rd_be(&r, 4);
        rd_u8(&r);
        if (!r.bad && (r.n - r.at) / 4 < nrel) r.bad = 1;
        r.at = r.bad ? r.at : r.at + (size_t)nrel * 4;
        break;
    }
    case C360_PGM_MESSAGE: {
        rd_u8(&r);
        rd_u64(&r);
        rd_str(&r, &sl);
        uint32_t n = rd_be(&r, 4);
        if (need(&r, n)) r.at += n;
        break;
    }
    default: {
        char k[8];
        snprintf(k, sizeof k, "0x%02x", (unsigned)kind);
        return fail(err, errlen, "unknown pgoutput message type %s", k);
    }
    }
    if (r.bad) {
        char k[2] = {(char)kind, 0};
        return fail(err, errlen, "truncated pgoutput message '%s'", k);
    }
    return 0;
}
