/* json.c -- validating JSON reader over jsmn, and JSON string writing. See json.h. */
#define JSMN_STRICT
#define JSMN_STATIC
#include <jsmn.h>

#include "util/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(jsmntok_t) == sizeof(c360_jtok), "c360_jtok mirrors jsmntok_t");

void c360_json_init(c360_json *j) { memset(j, 0, sizeof(*j)); }

void c360_json_release(c360_json *j)
{
    free(j->tok);
    c360_json_init(j);
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int c360_json_number_text(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return 0;
    if (s[i] == '0') i++;
    else if (s[i] >= '1' && s[i] <= '9') while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    else return 0;
    if (i < n && s[i] == '.') {
        i++;
        size_t st = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == st) return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t st = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == st) return 0;
    }
    return i == n;
}

static int valid_primitive(const char *s, size_t n)
{
    if (n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) return 1;
    if (n == 5 && !memcmp(s, "false", 5)) return 1;
    return c360_json_number_text(s, n);
}

/* Source span of a token: strings include their quotes. */
static int span_start(const c360_jtok *t) { return t->start - (t->type == CJ_STRING); }
static int span_end(const c360_jtok *t) { return t->end + (t->type == CJ_STRING); }

/* The text between two tokens must be whitespace around exactly one `sep` (0: none). jsmn does
 * not check separators, so "[1,,2]" or "[1 2]" would otherwise pass. */
static int gap_ok(const char *s, int from, int to, char sep, int *bad_off)
{
    int seen = 0;
    for (int k = from; k < to; k++) {
        char c = s[k];
        if (is_ws(c)) continue;
        if (sep && c == sep && !seen) { seen = 1; continue; }
        *bad_off = k;
        return 0;
    }
    if (sep && !seen) { *bad_off = from; return 0; }
    return 1;
}

static int string_ok(const c360_json *j, const c360_jtok *t, int *bad_off)
{
    for (int k = t->start; k < t->end; k++)
        if ((unsigned char)j->src[k] < 0x20) { *bad_off = k; return 0; }
    return 1;
}

/* Walks the token tree checking what jsmn does not: literals and numbers, string contents, keys,
 * and the separators between tokens. Returns the index after the subtree, or -1. */
static int validate(const c360_json *j, int i, int depth, int *bad_off)
{
    if (i >= j->ntok || depth > 64) { *bad_off = i < j->ntok ? j->tok[i].start : (int)j->len; return -1; }
    const c360_jtok *t = &j->tok[i];
    switch (t->type) {
    case CJ_PRIMITIVE:
        if (!valid_primitive(j->src + t->start, (size_t)(t->end - t->start))) { *bad_off = t->start; return -1; }
        return i + 1;
    case CJ_STRING:
        return string_ok(j, t, bad_off) ? i + 1 : -1;
    case CJ_ARRAY: {
        int k = i + 1, prev_end = t->start + 1;
        for (int c = 0; c < t->size; c++) {
            if (k >= j->ntok) { *bad_off = t->start; return -1; }
            if (!gap_ok(j->src, prev_end, span_start(&j->tok[k]), c ? ',' : 0, bad_off)) return -1;
            int child = k;
            if ((k = validate(j, k, depth + 1, bad_off)) < 0) return -1;
            prev_end = span_end(&j->tok[child]);
        }
        if (!gap_ok(j->src, prev_end, t->end - 1, 0, bad_off)) return -1;
        return k;
    }
    case CJ_OBJECT: {
        int k = i + 1, prev_end = t->start + 1;
        for (int c = 0; c < t->size; c++) {
            if (k + 1 >= j->ntok || j->tok[k].type != CJ_STRING || j->tok[k].size != 1) {
                *bad_off = k < j->ntok ? j->tok[k].start : t->start;
                return -1;
            }
            const c360_jtok *key = &j->tok[k];
            if (!gap_ok(j->src, prev_end, span_start(key), c ? ',' : 0, bad_off) || !string_ok(j, key, bad_off) ||
                !gap_ok(j->src, span_end(key), span_start(&j->tok[k + 1]), ':', bad_off))
                return -1;
            int child = k + 1;
            if ((k = validate(j, k + 1, depth + 1, bad_off)) < 0) return -1;
            prev_end = span_end(&j->tok[child]);
        }
        if (!gap_ok(j->src, prev_end, t->end - 1, 0, bad_off)) return -1;
        return k;
    }
    default:
        *bad_off = t->start;
        return -1;
    }
}

/* jsmn finds a container's parent by walking back over the tokens, which is quadratic in the
 * nesting depth; a linear pre-scan refuses deep documents before jsmn sees them. */
#define MAX_DEPTH 64
static int too_deep(const char *s, size_t n, size_t *at)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > MAX_DEPTH) { *at = i; return 1; }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 0;
}

/* jsmn's tokens for src into j (growing j->tok), or a jsmn error; *pos: where it stopped */
static int tokenize(c360_json *j, const char *src, size_t len, unsigned *pos)
{
    jsmn_parser p;
    jsmn_init(&p);
    j->src = src;
    j->len = len;
    j->ntok = 0;
    if (!j->cap) {
        j->cap = 64;
        j->tok = xmalloc(sizeof(c360_jtok) * (size_t)j->cap);
    }
    int r;
    for (;;) {
        r = jsmn_parse(&p, src, len, (jsmntok_t *)j->tok, (unsigned)j->cap);
        if (r == JSMN_ERROR_PART && len > 0 && !is_ws(src[len - 1]) && src[len - 1] != '}' && src[len - 1] != ']' &&
            src[len - 1] != '"' && p.toksuper == -1 && p.toknext == 0) {
            /* a bare number or literal as the whole document: jsmn wants a delimiter after it */
            char *copy = xmalloc(len + 1);
            memcpy(copy, src, len);
            copy[len] = ' ';
            jsmn_init(&p);
            r = jsmn_parse(&p, copy, len + 1, (jsmntok_t *)j->tok, (unsigned)j->cap);
            free(copy);
            if (r > 0 && j->tok[0].end > (int)len) r = JSMN_ERROR_INVAL;
        }
        if (r != JSMN_ERROR_NOMEM) break;
        j->cap *= 2;
        j->tok = xrealloc(j->tok, sizeof(c360_jtok) * (size_t)j->cap);
    }
    *pos = p.pos;
    return r;
}

int c360_json_parse_own(c360_json *j, const char *src, size_t len)
{
    unsigned pos;
    j->ntok = 0;
    if (len > (size_t)INT32_MAX / 2) return -1;
    int r = tokenize(j, src, len, &pos);
    j->ntok = r > 0 ? r : 0;
    return r > 0 ? 0 : -1;
}

int c360_json_parse(c360_json *j, const char *src, size_t len, char *err, size_t errlen)
{
    j->src = src;
    j->len = len;
    j->ntok = 0;
    if (len > (size_t)INT32_MAX / 2) {
        snprintf(err, errlen, "document too large");
        return -1;
    }
    size_t deep_at;
    if (too_deep(src, len, &deep_at)) {
        snprintf(err, errlen, "JSON nested deeper than %d levels at byte %zu", MAX_DEPTH, deep_at);
        return -1;
    }
    unsigned pos;
    int r = tokenize(j, src, len, &pos);
    if (r < 0) {
        snprintf(err, errlen, r == JSMN_ERROR_PART ? "unexpected end of JSON at byte %u"
                                                   : "invalid JSON at byte %u", pos);
        return -1;
    }
    j->ntok = r;
    if (r == 0) {
        snprintf(err, errlen, "empty body: expected a JSON value");
        return -1;
    }
    int bad = 0;
    int end = validate(j, 0, 0, &bad);
    if (end < 0) {
        snprintf(err, errlen, "invalid JSON at byte %d", bad);
        return -1;
    }
    if (end != r) {
        snprintf(err, errlen, "unexpected data after the JSON value at byte %d", j->tok[end].start);
        return -1;
    }
    for (int k = 0; k < span_start(&j->tok[0]); k++)
        if (!is_ws(src[k])) {
            snprintf(err, errlen, "unexpected data before the JSON value at byte %d", k);
            return -1;
        }
    size_t tail = (size_t)j->tok[0].end + (j->tok[0].type == CJ_STRING ? 1 : 0);
    while (tail < len && is_ws(src[tail])) tail++;
    if (tail != len) {
        snprintf(err, errlen, "unexpected data after the JSON value at byte %zu", tail);
        return -1;
    }
    return 0;
}

int c360_json_skip(const c360_json *j, int i)
{
    int end = j->tok[i].end;
    int k = i + 1;
    while (k < j->ntok && j->tok[k].start < end) k++;
    return k;
}

int c360_json_getn(const c360_json *j, int obj, const char *key, size_t klen)
{
    if (obj < 0 || obj >= j->ntok || j->tok[obj].type != CJ_OBJECT) return -1;
    int k = obj + 1;
    for (int c = 0; c < j->tok[obj].size; c++) {
        const c360_jtok *t = &j->tok[k];
        if ((size_t)(t->end - t->start) == klen && memcmp(j->src + t->start, key, klen) == 0) return k + 1;
        k = c360_json_skip(j, k + 1);
    }
    return -1;
}

int c360_json_get(const c360_json *j, int obj, const char *key)
{
    return c360_json_getn(j, obj, key, strlen(key));
}

static int prim_is(const c360_json *j, int i, const char *lit)
{
    size_t n = strlen(lit);
    return i >= 0 && j->tok[i].type == CJ_PRIMITIVE && (size_t)(j->tok[i].end - j->tok[i].start) == n &&
           memcmp(j->src + j->tok[i].start, lit, n) == 0;
}

int c360_json_is_null(const c360_json *j, int i) { return prim_is(j, i, "null"); }
int c360_json_true(const c360_json *j, int i) { return prim_is(j, i, "true"); }
int c360_json_is_bool(const c360_json *j, int i) { return prim_is(j, i, "true") || prim_is(j, i, "false"); }

int c360_json_is_number(const c360_json *j, int i)
{
    if (i < 0 || j->tok[i].type != CJ_PRIMITIVE) return 0;
    char c = j->src[j->tok[i].start];
    return c == '-' || (c >= '0' && c <= '9');
}

int c360_json_streq(const c360_json *j, int i, const char *s)
{
    size_t n = strlen(s);
    return i >= 0 && j->tok[i].type == CJ_STRING && (size_t)(j->tok[i].end - j->tok[i].start) == n &&
           memcmp(j->src + j->tok[i].start, s, n) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void put_utf8(strbuf *out, uint32_t cp)
{
    char b[4];
    if (cp < 0x80) { b[0] = (char)cp; sb_add(out, b, 1); }
    else if (cp < 0x800) { b[0] = (char)(0xC0 | (cp >> 6)); b[1] = (char)(0x80 | (cp & 0x3F)); sb_add(out, b, 2); }
    else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12)); b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F)); sb_add(out, b, 3);
    } else {
        b[0] = (char)(0xF0 | (cp >> 18)); b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); b[3] = (char)(0x80 | (cp & 0x3F)); sb_add(out, b, 4);
    }
}

static uint32_t hex4(const char *s)
{
    int a = hexval(s[0]), b = hexval(s[1]), c = hexval(s[2]), d = hexval(s[3]);
    if (a < 0 || b < 0 || c < 0 || d < 0) return 0xFFFFFFFF;
    return (uint32_t)((a << 12) | (b << 8) | (c << 4) | d);
}

int c360_json_str(const c360_json *j, int i, strbuf *out)
{
    if (i < 0 || j->tok[i].type != CJ_STRING) return -1;
    const char *s = j->src + j->tok[i].start, *e = j->src + j->tok[i].end;
    const char *run = s;
    while (s < e) {
        if (*s != '\\') { s++; continue; }
        sb_add(out, run, (size_t)(s - run));
        s++;
        if (s >= e) return -1;
        char c = *s++;
        switch (c) {
        case '"': sb_addc(out, '"'); break;
        case '\\': sb_addc(out, '\\'); break;
        case '/': sb_addc(out, '/'); break;
        case 'b': sb_addc(out, '\b'); break;
        case 'f': sb_addc(out, '\f'); break;
        case 'n': sb_addc(out, '\n'); break;
        case 'r': sb_addc(out, '\r'); break;
        case 't': sb_addc(out, '\t'); break;
        case 'u': {
            if (e - s < 4) return -1;
            uint32_t cp = hex4(s);
            if (cp == 0xFFFFFFFF) return -1;
            s += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && e - s >= 6 && s[0] == '\\' && s[1] == 'u') {
                uint32_t lo = hex4(s + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    s += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* lone surrogate */
            put_utf8(out, cp);
            break;
        }
        default: return -1;
        }
        run = s;
    }
    sb_add(out, run, (size_t)(e - run));
    return 0;
}

int c360_json_num(const c360_json *j, int i, double *out)
{
    if (!c360_json_is_number(j, i)) return -1;
    char buf[64];
    size_t n = (size_t)(j->tok[i].end - j->tok[i].start);
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, j->src + j->tok[i].start, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    return 0;
}

int c360_utf8_valid(const char *str, size_t n, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t need;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) { need = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { need = 2; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { need = 3; cp = c & 0x07; min = 0x10000; }
        else goto fail;
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xC0) != 0x80) goto fail;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto fail;
        i += need + 1;
    }
    return 1;
fail:
    if (bad) *bad = i;
    return 0;
}

void c360_json_put_str(strbuf *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sb_grow(sb, n + 2);
    sb_addc(sb, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sb_add(sb, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': sb_add(sb, "\\\"", 2); break;
        case '\\': sb_add(sb, "\\\\", 2); break;
        case '\n': sb_add(sb, "\\n", 2); break;
        case '\r': sb_add(sb, "\\r", 2); break;
        case '\t': sb_add(sb, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sb_add(sb, u, 6);
        }
        }
    }
    sb_add(sb, s + run, n - run);
    sb_addc(sb, '"');
}

void c360_json_put_key(strbuf *sb, const char *k)
{
    c360_json_put_cstr(sb, k);
    sb_addc(sb, ':');
}

void c360_json_put_num(strbuf *sb, double v)
{
    if (!isfinite(v)) { sb_adds(sb, "null"); return; }
    if (v == floor(v) && fabs(v) < 9e15) sb_addf(sb, "%lld", (long long)v);
    else {
        char b[40];
        snprintf(b, sizeof b, "%.15g", v);
        if (strtod(b, NULL) != v) snprintf(b, sizeof b, "%.17g", v);
        sb_adds(sb, b);
    }
}
