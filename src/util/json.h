/* json.h -- JSON reading (a validating layer over the jsmn tokenizer) and writing helpers.
 *
 * Reading: c360_json_parse() tokenizes a buffer in place (no copies; tokens point into `src`),
 * then validates what jsmn leaves loose: literals and numbers are checked against the JSON
 * grammar, object keys must be strings, raw control characters inside strings are refused and
 * nothing but whitespace may follow the value. Invalid UTF-8 is caught by c360_utf8_valid(),
 * which callers run first so that the error can be named precisely.
 * jsmn was chosen by measurement: on 250-byte events it tokenizes ~3x faster than cJSON builds
 * a tree, and ingest only needs to visit a handful of fields per event.
 *
 * Token indexes are ints; -1 means "absent". The document must outlive every index into it. */
#ifndef C360_JSON_H
#define C360_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "util/strbuf.h"

typedef enum { CJ_UNDEF = 0, CJ_OBJECT = 1, CJ_ARRAY = 2, CJ_STRING = 3, CJ_PRIMITIVE = 4 } cj_type;

typedef struct c360_jtok { cj_type type; int start, end, size; } c360_jtok;

typedef struct c360_json {
    const char *src;  /* the parsed text (not owned) */
    size_t len;
    c360_jtok *tok;   /* tokens in document order; tok[0] is the root */
    int ntok;
    int cap;
} c360_json;

void c360_json_init(c360_json *j);
void c360_json_release(c360_json *j);
/* 0 on success; -1 with a message in err (naming the byte offset) if not one valid JSON value. */
int c360_json_parse(c360_json *j, const char *src, size_t len, char *err, size_t errlen);
/* jsmn's tokens alone, without c360_json_parse's checks (nesting depth, grammar of literals and
 * numbers, keys, what surrounds the value): only for JSON that c360_json_parse accepted before
 * and c360 wrote back itself (an event's stored JSON, parsed again by the writer for every event:
 * the checks were half of that). Same tokens as c360_json_parse for such text; 0, or -1 if jsmn
 * fails. */
int c360_json_parse_own(c360_json *j, const char *src, size_t len);

int c360_json_skip(const c360_json *j, int i);                      /* index after i's subtree */
int c360_json_get(const c360_json *j, int obj, const char *key);     /* member value or -1 */
int c360_json_getn(const c360_json *j, int obj, const char *key, size_t klen);
int c360_json_is_null(const c360_json *j, int i);
int c360_json_is_bool(const c360_json *j, int i);
int c360_json_is_number(const c360_json *j, int i);
/* 1 if s[0..n) is a JSON number (RFC 8259 grammar), as text */
int c360_json_number_text(const char *s, size_t n);
int c360_json_true(const c360_json *j, int i);
int c360_json_streq(const c360_json *j, int i, const char *s);      /* raw (escaped) compare */
/* Unescapes string token i into out (appending). -1 if i is not a string. */
int c360_json_str(const c360_json *j, int i, strbuf *out);
int c360_json_num(const c360_json *j, int i, double *out);          /* -1 if not a number */
static inline const char *c360_json_raw(const c360_json *j, int i, size_t *n)
{
    /* source text of the value, including the quotes of a string */
    int s = j->tok[i].start - (j->tok[i].type == CJ_STRING ? 1 : 0);
    int e = j->tok[i].end + (j->tok[i].type == CJ_STRING ? 1 : 0);
    *n = (size_t)(e - s);
    return j->src + s;
}

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates); else 0, *bad = offset. */
int c360_utf8_valid(const char *s, size_t n, size_t *bad);

/* Writing: appends s[0..n) as a JSON string literal with escapes. */
void c360_json_put_str(strbuf *sb, const char *s, size_t n);
static inline void c360_json_put_cstr(strbuf *sb, const char *s)
{
    c360_json_put_str(sb, s, strlen(s));
}
/* Appends "key": */
void c360_json_put_key(strbuf *sb, const char *k);
void c360_json_put_num(strbuf *sb, double v);   /* integers print without a fraction */

#endif
