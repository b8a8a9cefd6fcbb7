/* fuzz_json.c -- the JSON reader and writer (src/util/json.c).
 *
 * Per input:
 *  - c360_utf8_valid against a reference UTF-8 validator (RFC 3629: no overlongs, no surrogates,
 *    nothing above U+10FFFF), including the offset of the first bad byte;
 *  - c360_json_parse against a reference recursive-descent JSON validator (RFC 8259 grammar,
 *    at most 64 nested containers, no UTF-8 check: both must accept exactly the same documents);
 *    c360_json_parse_own (no checks) gives the same tokens for every accepted document;
 *  - on success, every token: spans inside the text, c360_json_skip consistent with the tree,
 *    c360_json_str (every string decodes; valid UTF-8 in gives valid UTF-8 out),
 *    c360_json_num, c360_json_get (finds the first member with that key);
 *  - round trips: every decoded string re-emitted with c360_json_put_str parses back to the same
 *    bytes; every number re-emitted with c360_json_put_num parses back to the same double; the
 *    whole document re-emitted that way parses to the same tree. */
#include "fuzz_common.h"

#include <math.h>

/* ---- reference UTF-8 validator ---- */
static int ref_utf8(const unsigned char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned lo = 0x80, hi = 0xBF;   /* allowed range of the second byte */
        if (c <= 0x7F) { i++; continue; }
        else if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c == 0xE0) { len = 3; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) len = 3;
        else if (c == 0xED) { len = 3; hi = 0x9F; }
        else if (c >= 0xEE && c <= 0xEF) len = 3;
        else if (c == 0xF0) { len = 4; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) len = 4;
        else if (c == 0xF4) { len = 4; hi = 0x8F; }
        else goto fail;
        if (i + len > n) goto fail;
        if (s[i + 1] < lo || s[i + 1] > hi) goto fail;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) goto fail;
        i += len;
    }
    return 1;
fail:
    *bad = i;
    return 0;
}

/* ---- reference JSON validator (RFC 8259), depth counted in containers ---- */
typedef struct { const char *s; size_t n, i; } rj;

static void rj_ws(rj *r)
{
    while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r')) r->i++;
}

static int rj_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int rj_string(rj *r)
{
    if (r->i >= r->n || r->s[r->i] != '"') return 0;
    r->i++;
    while (r->i < r->n) {
        unsigned char c = (unsigned char)r->s[r->i];
        if (c == '"') { r->i++; return 1; }
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (++r->i >= r->n) return 0;
            char e = r->s[r->i];
            if (e == 'u') {
                if (r->i + 4 >= r->n) return 0;
                for (int k = 1; k <= 4; k++)
                    if (!rj_hex(r->s[r->i + k])) return 0;
                r->i += 4;
            } else if (!strchr("\"\\/bfnrt", e) || !e) {
                return 0;
            }
        }
        r->i++;
    }
    return 0;
}

static int rj_digits(rj *r)
{
    size_t st = r->i;
    while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
    return r->i > st;
}

static int rj_number(rj *r)
{
    if (r->i < r->n && r->s[r->i] == '-') r->i++;
    if (r->i >= r->n) return 0;
    if (r->s[r->i] == '0') r->i++;
    else if (!rj_digits(r)) return 0;
    if (r->i < r->n && r->s[r->i] == '.') { r->i++; if (!rj_digits(r)) return 0; }
    if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
        r->i++;
        if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-')) r->i++;
        if (!rj_digits(r)) return 0;
    }
    return 1;
}

static int rj_lit(rj *r, const char *lit)
{
    size_t l = strlen(lit);
    if (r->n - r->i < l || memcmp(r->s + r->i, lit, l)) return 0;
    r->i += l;
    return 1;
}

static int rj_value(rj *r, int depth)
{
    rj_ws(r);
    if (r->i >= r->n) return 0;
    char c = r->s[r->i];
    if (c == '{' || c == '[') {
        if (depth + 1 > 64) return 0;
        char close = c == '{' ? '}' : ']';
        r->i++;
        rj_ws(r);
        if (r->i < r->n && r->s[r->i] == close) { r->i++; return 1; }
        for (;;) {
            if (c == '{') {
                rj_ws(r);
                if (!rj_string(r)) return 0;
                rj_ws(r);
                if (r->i >= r->n || r->s[r->i] != ':') return 0;
                r->i++;
            }
            if (!rj_value(r, depth + 1)) return 0;
            rj_ws(r);
            if (r->i >= r->n) return 0;
            if (r->s[r->i] == close) { r->i++; return 1; }
            if (r->s[r->i] != ',') return 0;
            r->i++;
        }
    }
    if (c == '"') return rj_string(r);
    if (c == 't') return rj_lit(r, "true");
    if (c == 'f') return rj_lit(r, "false");
    if (c == 'n') return rj_lit(r, "null");
    return rj_number(r);
}

static int ref_json(const char *s, size_t n)
{
    rj r = {s, n, 0};
    if (!rj_value(&r, 0)) return 0;
    rj_ws(&r);
    return r.i == n;
}

/* ---- re-emitting a parsed document with the writer ---- */
static int emit(const c360_json *j, int i, strbuf *out, strbuf *tmp)
{
    const c360_jtok *t = &j->tok[i];
    switch (t->type) {
    case CJ_STRING:
        sb_reset(tmp);
        CHECK(c360_json_str(j, i, tmp) == 0, "string token %d does not decode", i);
        c360_json_put_str(out, tmp->buf, tmp->len);
        return i + 1;
    case CJ_PRIMITIVE: {
        size_t n;
        const char *raw = c360_json_raw(j, i, &n);
        sb_add(out, raw, n);
        return i + 1;
    }
    case CJ_ARRAY:
    case CJ_OBJECT: {
        int obj = t->type == CJ_OBJECT, k = i + 1;
        sb_addc(out, obj ? '{' : '[');
        for (int c = 0; c < t->size; c++) {
            if (c) sb_addc(out, ',');
            k = emit(j, k, out, tmp);
            if (obj) {
                sb_addc(out, ':');
                k = emit(j, k, out, tmp);
            }
        }
        sb_addc(out, obj ? '}' : ']');
        return k;
    }
    default:
        CHECK(0, "token %d has type %d", i, (int)t->type);
    }
    return -1;
}

/* Same tree shape and same decoded strings / primitive text. */
static void same_tree(const c360_json *a, const c360_json *b)
{
    CHECK(a->ntok == b->ntok, "re-emitted document has %d tokens, the original %d", b->ntok, a->ntok);
    strbuf x = STRBUF_INIT, y = STRBUF_INIT;
    for (int i = 0; i < a->ntok; i++) {
        CHECK(a->tok[i].type == b->tok[i].type && a->tok[i].size == b->tok[i].size, "token %d differs after re-emitting", i);
        if (a->tok[i].type == CJ_STRING) {
            sb_reset(&x);
            sb_reset(&y);
            c360_json_str(a, i, &x);
            CHECK(c360_json_str(b, i, &y) == 0, "re-emitted string %d does not decode", i);
            CHECK(x.len == y.len && !memcmp(x.buf, y.buf, x.len), "string %d differs after re-emitting", i);
        } else if (a->tok[i].type == CJ_PRIMITIVE) {
            size_t n1, n2;
            const char *r1 = c360_json_raw(a, i, &n1), *r2 = c360_json_raw(b, i, &n2);
            CHECK(n1 == n2 && !memcmp(r1, r2, n1), "primitive %d differs after re-emitting", i);
        }
    }
    sb_release(&x);
    sb_release(&y);
}

static void check_put_num(double v)
{
    strbuf sb = STRBUF_INIT;
    c360_json_put_num(&sb, v);
    c360_json j;
    c360_json_init(&j);
    char err[128];
    CHECK(c360_json_parse(&j, sb.buf, sb.len, err, sizeof err) == 0, "c360_json_put_num(%.17g) wrote '%s', not JSON (%s)", v,
          sb.buf, err);
    if (isfinite(v)) {
        double back;
        CHECK(c360_json_num(&j, 0, &back) == 0 && back == v, "c360_json_put_num(%.17g) wrote '%s', which reads back as %.17g", v,
              sb.buf, back);
    } else {
        CHECK(c360_json_is_null(&j, 0), "c360_json_put_num(%g) wrote '%s', not null", v, sb.buf);
    }
    c360_json_release(&j);
    sb_release(&sb);
}

static void check_put_str(const char *s, size_t n)
{
    strbuf sb = STRBUF_INIT, back = STRBUF_INIT;
    c360_json_put_str(&sb, s, n);
    c360_json j;
    c360_json_init(&j);
    char err[128];
    CHECK(c360_json_parse(&j, sb.buf, sb.len, err, sizeof err) == 0, "c360_json_put_str output does not parse (%s): %s", err,
          sb.buf);
    CHECK(j.ntok == 1 && j.tok[0].type == CJ_STRING, "c360_json_put_str output is not one string: %s", sb.buf);
    CHECK(c360_json_str(&j, 0, &back) == 0 && back.len == n && !memcmp(back.buf, s, n),
          "c360_json_put_str round trip changed the string: %s", sb.buf);
    c360_json_release(&j);
    sb_release(&sb);
    sb_release(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;

    /* UTF-8 */
    size_t bad = (size_t)-1, rbad = (size_t)-1;
    int u = c360_utf8_valid(src, size, &bad);
    int ru = ref_utf8(data, size, &rbad);
    CHECK(u == ru, "c360_utf8_valid says %d, the reference %d (reference bad offset %zu)", u, ru, rbad);
    if (!u) CHECK(bad == rbad, "c360_utf8_valid names byte %zu, the reference byte %zu", bad, rbad);

    /* parse, against the reference */
    c360_json j;
    c360_json_init(&j);
    char err[128];
    int rc = c360_json_parse(&j, src, size, err, sizeof err);
    int ref = ref_json(src, size);
    CHECK((rc == 0) == ref, "c360_json_parse %s (%s) but the reference validator %s", rc == 0 ? "accepts" : "refuses",
          rc == 0 ? "ok" : err, ref ? "accepts" : "refuses");
    if (rc != 0) {
        c360_json_release(&j);
        return 0;
    }

    /* the unchecked tokenizer gives the same tokens for any document c360_json_parse accepts */
    c360_json own;
    c360_json_init(&own);
    CHECK(c360_json_parse_own(&own, src, size) == 0 && own.ntok == j.ntok && !memcmp(own.tok, j.tok, sizeof *j.tok * (size_t)j.ntok),
          "c360_json_parse_own: %d tokens, not c360_json_parse's %d (or different ones)", own.ntok, j.ntok);
    c360_json_release(&own);

    /* every token */
    CHECK(j.ntok >= 1, "no tokens");
    CHECK(c360_json_skip(&j, 0) == j.ntok, "skip(root) = %d of %d tokens", c360_json_skip(&j, 0), j.ntok);
    strbuf s = STRBUF_INIT;
    int gets = 0;
    for (int i = 0; i < j.ntok; i++) {
        const c360_jtok *t = &j.tok[i];
        CHECK(t->start >= 0 && t->start <= t->end && (size_t)t->end <= size, "token %d spans [%d,%d) of %zu", i, t->start,
              t->end, size);
        int nx = c360_json_skip(&j, i);
        CHECK(nx > i && nx <= j.ntok, "skip(%d) = %d", i, nx);
        CHECK(c360_json_is_null(&j, i) + c360_json_is_bool(&j, i) + c360_json_is_number(&j, i) == (t->type == CJ_PRIMITIVE),
              "primitive %d is not exactly one of null, bool, number", i);
        CHECK(c360_json_true(&j, i) <= c360_json_is_bool(&j, i), "true but not a bool");
        if (t->type == CJ_STRING) {
            sb_reset(&s);
            CHECK(c360_json_str(&j, i, &s) == 0, "valid string token %d does not decode", i);
            if (u) CHECK(c360_utf8_valid(s.buf, s.len, NULL), "string %d decodes to invalid UTF-8 from valid input", i);
            check_put_str(s.buf, s.len);
            CHECK(c360_json_num(&j, i, &(double){0}) == -1, "c360_json_num accepts string token %d", i);
        } else {
            CHECK(c360_json_str(&j, i, &s) == -1, "c360_json_str accepts non-string token %d", i);
        }
        if (c360_json_is_number(&j, i)) {
            double v;
            CHECK(c360_json_num(&j, i, &v) == 0, "number token %d", i);
            check_put_num(v);
        }
        if (t->type == CJ_ARRAY || t->type == CJ_OBJECT) {
            /* children partition the subtree */
            int k = i + 1, step = t->type == CJ_OBJECT ? 2 : 1;
            for (int c = 0; c < t->size; c++) {
                if (step == 2) {
                    CHECK(j.tok[k].type == CJ_STRING && j.tok[k].size == 1, "key %d of object %d", k, i);
                    k++;
                }
                k = c360_json_skip(&j, k);
            }
            CHECK(k == nx, "children of %d end at %d, skip says %d", i, k, nx);
        }
        if (t->type == CJ_OBJECT) {
            int k = i + 1;
            for (int c = 0; c < t->size && gets < 64; c++, gets++) {
                /* raw key text (no NUL: raw control characters are refused) */
                size_t kl = (size_t)(j.tok[k].end - j.tok[k].start);
                char *key = xstrndup(src + j.tok[k].start, kl);
                int g = c360_json_get(&j, i, key);
                CHECK(g > i && g <= k + 1, "get(%d, \"%s\") = %d, the member is at %d", i, key, g, k + 1);
                CHECK(c360_json_streq(&j, g - 1, key), "get(%d, \"%s\") found another key", i, key);
                free(key);
                k = c360_json_skip(&j, k + 1);
            }
        } else {
            CHECK(c360_json_get(&j, i, "a") == -1, "get on a non-object");
        }
    }

    /* the whole document through the writer */
    strbuf out = STRBUF_INIT;
    int end = emit(&j, 0, &out, &s);
    CHECK(end == j.ntok, "emit covered %d of %d tokens", end, j.ntok);
    c360_json j2;
    c360_json_init(&j2);
    CHECK(c360_json_parse(&j2, out.buf, out.len, err, sizeof err) == 0, "re-emitted document does not parse (%s): %s", err,
          out.buf);
    same_tree(&j, &j2);
    c360_json_release(&j2);
    sb_release(&out);
    sb_release(&s);
    c360_json_release(&j);
    return 0;
}
