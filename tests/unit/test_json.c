/* test_json.c - unit tests for the validating JSON reader and the JSON writer (src/util/json.c).
 * Covers: valid documents (objects, arrays, nesting, every scalar kind, top-level scalars),
 * rejection of what jsmn lets through (trailing garbage, bad literals, bad numbers, non-string
 * keys, raw control characters, unterminated input, excessive nesting), token helpers,
 * unescaping (\uXXXX incl. surrogate pairs), UTF-8 validation, string escaping on output and
 * number printing; c360_json_parse_own (no checks) giving c360_json_parse's tokens for valid
 * documents, small and large (its token array grows), and failing on what jsmn cannot read. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/strbuf.h"

/* ------------------------------------------------------------------ helpers */

static int parse(const char *s, size_t n, char *err, size_t errlen)
{
    c360_json j;
    c360_json_init(&j);
    int rc = c360_json_parse(&j, s, n, err, errlen);
    c360_json_release(&j);
    return rc;
}

static void accept_doc(const char *s)
{
    char err[128] = "";
    if (parse(s, strlen(s), err, sizeof err) != 0) fail_msg("valid JSON rejected: %s (error: %s)", s, err);
}

static void reject_doc(const char *s)
{
    char err[128] = "";
    if (parse(s, strlen(s), err, sizeof err) != -1) fail_msg("invalid JSON accepted: %s", s);
    if (!err[0]) fail_msg("no error message for invalid JSON: %s", s);
}

static char *nested(int depth, const char *inner)
{
    size_t il = strlen(inner);
    char *s = malloc((size_t)depth * 2 + il + 1);
    assert_non_null(s);
    memset(s, '[', (size_t)depth);
    memcpy(s + depth, inner, il);
    memset(s + depth + il, ']', (size_t)depth);
    s[depth * 2 + il] = 0;
    return s;
}

/* unescapes the root string of doc (a JSON string literal) */
static char *unescape(const char *doc, size_t *outlen)
{
    c360_json j;
    c360_json_init(&j);
    char err[128];
    char *wrapped = malloc(strlen(doc) + 3);
    assert_non_null(wrapped);
    sprintf(wrapped, "[%s]", doc);
    if (c360_json_parse(&j, wrapped, strlen(wrapped), err, sizeof err) != 0) fail_msg("parse %s: %s", doc, err);
    strbuf out = STRBUF_INIT;
    assert_int_equal(c360_json_str(&j, 1, &out), 0);
    c360_json_release(&j);
    free(wrapped);
    return sb_detach(&out, outlen);
}

/* ------------------------------------------------------------------ parsing */

static void test_accepts_valid(void **state)
{
    (void)state;
    accept_doc("{}");
    accept_doc("[]");
    accept_doc("  {\"a\" : 1 }\n\t\r ");
    accept_doc("{\"a\":[1,2.5,-0.1e+3,1E5,0,-0,0.0,true,false,null,\"x\"],\"b\":{\"c\":{}}}");
    accept_doc("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"]");
    accept_doc("{\"\":\"\"}");
    accept_doc("[1e-7, 123456789012345678901234567890, -1.5E+10]");
    accept_doc("[\"caf\xc3\xa9 \xf0\x9f\x98\x80\"]"); /* raw UTF-8 is fine inside strings */
}

/* c360_json_parse_own: the same tokens as c360_json_parse for what that accepts */
static void same_tokens(const char *doc)
{
    c360_json a, b;
    c360_json_init(&a);
    c360_json_init(&b);
    char err[128];
    assert_int_equal(c360_json_parse(&a, doc, strlen(doc), err, sizeof err), 0);
    assert_int_equal(c360_json_parse_own(&b, doc, strlen(doc)), 0);
    assert_int_equal(b.ntok, a.ntok);
    assert_memory_equal(b.tok, a.tok, sizeof *a.tok * (size_t)a.ntok);
    assert_ptr_equal(b.src, doc);
    assert_int_equal(b.len, strlen(doc));
    c360_json_release(&a);
    c360_json_release(&b);
}

static void test_parse_own(void **state)
{
    (void)state;
    same_tokens("{}");
    same_tokens("{\"a\":[1,2.5,-0.1e+3,true,false,null,\"x\"],\"b\":{\"c\":{}}}");
    same_tokens("{\"type\":\"track\",\"event\":\"Order Completed\",\"properties\":{\"products\":"
                "[{\"product_id\":\"85123A\",\"price\":2.55,\"quantity\":6}]},\"messageId\":\"m\\u00e9\"}");
    same_tokens("123");
    same_tokens("\"str\"");
    /* 3,000 tokens: the token array grows past its first 64 several times */
    strbuf big = STRBUF_INIT;
    sb_adds(&big, "{\"products\":[");
    for (int i = 0; i < 1000; i++) sb_addf(&big, "%s{\"id\":%d}", i ? "," : "", i);
    sb_adds(&big, "]}");
    same_tokens(big.buf);
    sb_release(&big);
    /* reused parser state: a small document after the big one */
    c360_json j;
    c360_json_init(&j);
    assert_int_equal(c360_json_parse_own(&j, "[1,[2]]", 7), 0);
    assert_int_equal(j.ntok, 4);
    assert_int_equal(c360_json_parse_own(&j, "{\"a\":", 5), -1);   /* jsmn: unterminated */
    assert_int_equal(j.ntok, 0);
    assert_int_equal(c360_json_parse_own(&j, "", 0), -1);
    assert_int_equal(c360_json_parse_own(&j, "  ", 2), -1);
    c360_json_release(&j);
}

static void test_accepts_top_level_scalars(void **state)
{
    (void)state;
    /* json.h: "-1 ... if not one valid JSON value"; RFC 8259 allows any value at the top. */
    accept_doc("\"str\"");
    accept_doc("123");
    accept_doc("true");
    accept_doc("null");
    accept_doc("-0.5");
}

static void test_tokens_and_getters(void **state)
{
    (void)state;
    const char *doc = "{\"s\":\"a\\\"b\",\"n\":-12.5,\"t\":true,\"f\":false,\"z\":null,"
                      "\"o\":{\"x\":[1,{\"y\":2}]},\"last\":7}";
    c360_json j;
    c360_json_init(&j);
    char err[128];
    assert_int_equal(c360_json_parse(&j, doc, strlen(doc), err, sizeof err), 0);
    assert_int_equal(j.tok[0].type, CJ_OBJECT);
    assert_int_equal(j.tok[0].size, 7);

    int s = c360_json_get(&j, 0, "s");
    assert_true(s > 0);
    assert_int_equal(j.tok[s].type, CJ_STRING);
    assert_true(c360_json_streq(&j, s, "a\\\"b"));   /* raw compare */
    strbuf sb = STRBUF_INIT;
    assert_int_equal(c360_json_str(&j, s, &sb), 0);
    assert_string_equal(sb.buf, "a\"b");
    size_t rn;
    const char *raw = c360_json_raw(&j, s, &rn);
    assert_int_equal(rn, 6);
    assert_memory_equal(raw, "\"a\\\"b\"", 6);

    double d = 0;
    int n = c360_json_get(&j, 0, "n");
    assert_true(c360_json_is_number(&j, n));
    assert_int_equal(c360_json_num(&j, n, &d), 0);
    assert_true(d == -12.5);
    assert_int_equal(c360_json_num(&j, s, &d), -1);

    assert_true(c360_json_true(&j, c360_json_get(&j, 0, "t")));
    assert_true(c360_json_is_bool(&j, c360_json_get(&j, 0, "f")));
    assert_false(c360_json_true(&j, c360_json_get(&j, 0, "f")));
    assert_true(c360_json_is_null(&j, c360_json_get(&j, 0, "z")));
    assert_false(c360_json_is_null(&j, c360_json_get(&j, 0, "t")));
    assert_false(c360_json_is_number(&j, c360_json_get(&j, 0, "t")));
    assert_int_equal(c360_json_str(&j, n, &sb), -1);   /* not a string */

    /* nested members are skipped correctly: "last" comes after a nested subtree */
    int o = c360_json_get(&j, 0, "o");
    assert_int_equal(j.tok[o].type, CJ_OBJECT);
    int last = c360_json_get(&j, 0, "last");
    assert_int_equal(c360_json_num(&j, last, &d), 0);
    assert_true(d == 7);
    assert_int_equal(c360_json_skip(&j, o), last - 1);   /* next token after o's subtree is key "last" */
    assert_int_equal(c360_json_get(&j, 0, "x"), -1);   /* only direct members */
    assert_int_equal(c360_json_get(&j, 0, "missing"), -1);
    assert_int_equal(c360_json_get(&j, s, "a"), -1);   /* not an object */
    int x = c360_json_get(&j, o, "x");
    assert_int_equal(j.tok[x].type, CJ_ARRAY);
    assert_int_equal(j.tok[x].size, 2);
    assert_int_equal(c360_json_getn(&j, 0, "lastXYZ", 4), last);
    sb_release(&sb);
    c360_json_release(&j);
}

static void test_rejects_trailing_garbage(void **state)
{
    (void)state;
    reject_doc("{\"a\":1} x");
    reject_doc("{\"a\":1}{}");
    reject_doc("[1]]");
    reject_doc("[1],");
    reject_doc("\"a\" \"b\"");
    reject_doc("{} 1");
    reject_doc("");
    reject_doc("   ");
    /* trailing whitespace alone is fine */
    accept_doc("{\"a\":1}  \n");
}

static void test_rejects_bad_literals(void **state)
{
    (void)state;
    reject_doc("[tru]");
    reject_doc("[nul]");
    reject_doc("[fals]");
    reject_doc("[truee]");
    reject_doc("[True]");
    reject_doc("[NULL]");
    reject_doc("{\"a\":nul}");
    reject_doc("{\"a\":tru}");
    reject_doc("[undefined]");
    reject_doc("[NaN]");
}

static void test_rejects_bad_numbers(void **state)
{
    (void)state;
    reject_doc("[01]");
    reject_doc("[-01]");
    reject_doc("[1.]");
    reject_doc("[-]");
    reject_doc("[.5]");
    reject_doc("[+1]");
    reject_doc("[1e]");
    reject_doc("[1e+]");
    reject_doc("[1.e5]");
    reject_doc("[0x10]");
    reject_doc("[1-2]");
    reject_doc("{\"a\":-}");
    reject_doc("{\"a\":01}");
}

static void test_rejects_non_string_keys(void **state)
{
    (void)state;
    reject_doc("{1:2}");
    reject_doc("{true:1}");
    reject_doc("{null:1}");
    reject_doc("{{}:1}");
    reject_doc("{[]:1}");
    reject_doc("{a:1}");
    reject_doc("{\"a\"}");
    reject_doc("{\"a\":}");
    reject_doc("{\"a\" 1}");
    reject_doc("{\"a\",1}");
    reject_doc("[\"a\":1]");
    reject_doc("{\"a\":1 \"b\":2}");
}

static void test_rejects_control_chars_in_keys(void **state)
{
    (void)state;
    /* a raw control character inside a key is as invalid as inside a value */
    reject_doc("{\"k\x01\":1}");
    reject_doc("{\"k\tx\":1}");
    reject_doc("{\"a\":{\"\n\":1}}");
}

/* Commas and separators: jsmn does not check them; json.h promises "one valid JSON value". */
static void test_rejects_bad_separators(void **state)
{
    (void)state;
    reject_doc("[1,]");
    reject_doc("{\"a\":1,}");
    reject_doc("[1,,2]");
    reject_doc("[,1]");
    reject_doc("{,}");
    reject_doc("[1 2]");
    reject_doc("{\"a\":1,,\"b\":2}");
    reject_doc("{\"a\":{\"b\":1,}}");
    reject_doc("[{},]");
}

static void test_rejects_control_chars(void **state)
{
    (void)state;
    reject_doc("[\"a\tb\"]");
    reject_doc("[\"a\nb\"]");
    reject_doc("{\"a\":\"\x1f\"}");
    reject_doc("[\"bad escape \\x41\"]");
    reject_doc("[\"short \\u12\"]");
    /* a NUL byte inside the buffer */
    char err[128];
    static const char withnul[] = "[\"a\0b\"]";
    assert_int_equal(parse(withnul, sizeof withnul - 1, err, sizeof err), -1);
    /* escaped forms are fine */
    accept_doc("[\"a\\tb\\u0001\"]");
}

static void test_rejects_unterminated(void **state)
{
    (void)state;
    reject_doc("{\"a\":1");
    reject_doc("{\"a\":");
    reject_doc("{\"a\"");
    reject_doc("{");
    reject_doc("[1,2");
    reject_doc("[\"abc");
    reject_doc("\"abc");
    reject_doc("[\"abc\\\"]");
    reject_doc("{\"a\":[}");
    reject_doc("{\"a\":{]}");
    char err[128] = "";
    assert_int_equal(parse("{\"a\":1", 6, err, sizeof err), -1);
    assert_non_null(strstr(err, "byte"));   /* the message names the offset */
}

/* parses depth nested arrays around inner; frees before asserting so a failure leaks nothing */
static void check_nested(int depth, const char *inner, int want_ok)
{
    char *s = nested(depth, inner);
    char err[128] = "";
    int rc = parse(s, strlen(s), err, sizeof err);
    free(s);
    if (want_ok && rc != 0) fail_msg("%d nested arrays around '%s' rejected: %s", depth, inner, err);
    if (!want_ok && rc != -1) fail_msg("%d nested arrays around '%s' accepted", depth, inner);
}

static void test_depth_limit(void **state)
{
    (void)state;
    check_nested(64, "", 1);
    check_nested(63, "1", 1);
    check_nested(63, "{\"a\":1}", 1);   /* 64 containers */
    check_nested(1000, "", 0);
    check_nested(100000, "1", 0);        /* must not overflow the stack */
    check_nested(66, "", 0);
}

static void test_depth_limit_boundary(void **state)
{
    (void)state;
    /* more than 64 levels of containers are refused, whatever the innermost content */
    check_nested(65, "1", 0);
    check_nested(64, "{\"a\":[]}", 0);   /* 64 arrays + object + array = 66 containers */
    check_nested(65, "", 0);
}

/* ------------------------------------------------------------------ unescape */

static void test_unescape(void **state)
{
    (void)state;
    size_t n;
    char *s;
    s = unescape("\"caf\\u00e9\"", &n);
    assert_int_equal(n, 5);
    assert_memory_equal(s, "caf\xc3\xa9", 5);
    free(s);
    s = unescape("\"\\u00E9\"", &n);   /* upper-case hex */
    assert_int_equal(n, 2);
    assert_memory_equal(s, "\xc3\xa9", 2);
    free(s);
    s = unescape("\"\\u20ac\"", &n);   /* euro sign: 3 bytes */
    assert_int_equal(n, 3);
    assert_memory_equal(s, "\xe2\x82\xac", 3);
    free(s);
    s = unescape("\"\\ud83d\\ude00\"", &n);  /* U+1F600 as a surrogate pair */
    assert_int_equal(n, 4);
    assert_memory_equal(s, "\xf0\x9f\x98\x80", 4);
    free(s);
    s = unescape("\"x\\uD834\\uDD1Ey\"", &n);  /* U+1D11E */
    assert_int_equal(n, 6);
    assert_memory_equal(s, "x\xf0\x9d\x84\x9ey", 6);
    free(s);
    s = unescape("\"\\ud83d\"", &n);  /* lone high surrogate -> U+FFFD */
    assert_int_equal(n, 3);
    assert_memory_equal(s, "\xef\xbf\xbd", 3);
    free(s);
    s = unescape("\"\\ude00x\"", &n);  /* lone low surrogate -> U+FFFD */
    assert_int_equal(n, 4);
    assert_memory_equal(s, "\xef\xbf\xbdx", 4);
    free(s);
    s = unescape("\"\\ud83d\\u0041\"", &n);  /* high surrogate + non-surrogate: FFFD then 'A' */
    assert_int_equal(n, 4);
    assert_memory_equal(s, "\xef\xbf\xbd" "A", 4);
    free(s);
    s = unescape("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", &n);
    assert_int_equal(n, 8);
    assert_memory_equal(s, "\"\\/\b\f\n\r\t", 8);
    free(s);
    s = unescape("\"\\u0041\\u007a\\u00ff\\u0800\"", &n);
    assert_int_equal(n, 1 + 1 + 2 + 3);
    assert_memory_equal(s, "Az\xc3\xbf\xe0\xa0\x80", 7);
    free(s);
    s = unescape("\"plain\"", &n);
    assert_int_equal(n, 5);
    assert_string_equal(s, "plain");
    free(s);
    s = unescape("\"\"", &n);
    assert_int_equal(n, 0);
    free(s);
}

/* ------------------------------------------------------------------ UTF-8 */

static void utf8_bad(const char *s, size_t n, size_t want_off)
{
    size_t bad = 9999;
    if (c360_utf8_valid(s, n, &bad) != 0) fail_msg("invalid UTF-8 accepted (len %zu)", n);
    assert_int_equal(bad, want_off);
}

static void test_utf8(void **state)
{
    (void)state;
    size_t bad = 0;
    assert_int_equal(c360_utf8_valid("", 0, &bad), 1);
    assert_int_equal(c360_utf8_valid("hello", 5, &bad), 1);
    assert_int_equal(c360_utf8_valid("\xc3\xa9", 2, &bad), 1);            /* 2-byte */
    assert_int_equal(c360_utf8_valid("\xe2\x82\xac", 3, &bad), 1);        /* 3-byte */
    assert_int_equal(c360_utf8_valid("\xf0\x9f\x98\x80", 4, &bad), 1);    /* 4-byte */
    assert_int_equal(c360_utf8_valid("\xf4\x8f\xbf\xbf", 4, &bad), 1);    /* U+10FFFF */
    assert_int_equal(c360_utf8_valid("\xed\x9f\xbf", 3, &bad), 1);        /* U+D7FF */
    assert_int_equal(c360_utf8_valid("\xee\x80\x80", 3, &bad), 1);        /* U+E000 */
    assert_int_equal(c360_utf8_valid("a\xc2\x80z", 4, &bad), 1);          /* U+0080 */
    assert_int_equal(c360_utf8_valid("a\0b", 3, &bad), 1);                /* NUL is valid UTF-8 */
    assert_int_equal(c360_utf8_valid("x", 1, NULL), 1);

    /* overlongs */
    utf8_bad("\xc0\xaf", 2, 0);
    utf8_bad("\xc1\xbf", 2, 0);
    utf8_bad("ab\xe0\x80\xaf", 5, 2);
    utf8_bad("\xe0\x9f\xbf", 3, 0);             /* overlong U+07FF */
    utf8_bad("\xf0\x8f\xbf\xbf", 4, 0);         /* overlong U+FFFF */
    /* surrogates */
    utf8_bad("\xed\xa0\x80", 3, 0);             /* U+D800 */
    utf8_bad("ok\xed\xbf\xbf", 5, 2);           /* U+DFFF */
    /* beyond U+10FFFF */
    utf8_bad("\xf4\x90\x80\x80", 4, 0);
    utf8_bad("\xf5\x80\x80\x80", 4, 0);
    utf8_bad("\xf8\x88\x80\x80\x80", 5, 0);
    /* truncated sequences */
    utf8_bad("\xc3", 1, 0);
    utf8_bad("abc\xe2\x82", 5, 3);
    utf8_bad("\xf0\x9f\x98", 3, 0);
    utf8_bad("\xe2\x82" "a", 3, 0);               /* continuation missing mid-string */
    /* stray continuation bytes, invalid lead bytes */
    utf8_bad("\x80", 1, 0);
    utf8_bad("a\xbf", 2, 1);
    utf8_bad("\xff", 1, 0);
    utf8_bad("\xfe", 1, 0);
    /* length is respected: a valid 2-byte char cut by n */
    utf8_bad("\xc3\xa9", 1, 0);
    assert_int_equal(c360_utf8_valid("\xc3\xa9\xff", 2, &bad), 1);
    assert_int_equal(c360_utf8_valid("\xff", 1, NULL), 0);   /* bad may be NULL */
}

/* ------------------------------------------------------------------ writing */

static void test_put_str(void **state)
{
    (void)state;
    strbuf sb = STRBUF_INIT;
    c360_json_put_cstr(&sb, "plain");
    assert_string_equal(sb.buf, "\"plain\"");
    sb_reset(&sb);
    c360_json_put_cstr(&sb, "a\"b\\c");
    assert_string_equal(sb.buf, "\"a\\\"b\\\\c\"");
    sb_reset(&sb);
    c360_json_put_cstr(&sb, "l1\nl2\r\t");
    assert_string_equal(sb.buf, "\"l1\\nl2\\r\\t\"");
    sb_reset(&sb);
    c360_json_put_cstr(&sb, "\x01\x1f\b\f");
    assert_string_equal(sb.buf, "\"\\u0001\\u001f\\u0008\\u000c\"");
    sb_reset(&sb);
    c360_json_put_str(&sb, "a\0b", 3);   /* embedded NUL */
    assert_string_equal(sb.buf, "\"a\\u0000b\"");
    sb_reset(&sb);
    c360_json_put_cstr(&sb, "caf\xc3\xa9/\x7f");   /* UTF-8, '/' and DEL pass through */
    assert_string_equal(sb.buf, "\"caf\xc3\xa9/\x7f\"");
    sb_reset(&sb);
    c360_json_put_cstr(&sb, "");
    assert_string_equal(sb.buf, "\"\"");
    sb_reset(&sb);
    c360_json_put_key(&sb, "k\"");
    assert_string_equal(sb.buf, "\"k\\\"\":");
    sb_reset(&sb);

    /* what we write, we read back identically */
    char all[256];
    for (int i = 0; i < 255; i++) all[i] = (char)(i + 1);   /* 0x01..0xff, raw bytes */
    strbuf doc = STRBUF_INIT;
    sb_addc(&doc, '[');
    c360_json_put_str(&doc, all, 127);   /* ASCII range only: high bytes would not be UTF-8 */
    sb_addc(&doc, ']');
    c360_json j;
    c360_json_init(&j);
    char err[128];
    assert_int_equal(c360_json_parse(&j, doc.buf, doc.len, err, sizeof err), 0);
    assert_int_equal(c360_json_str(&j, 1, &sb), 0);
    assert_int_equal(sb.len, 127);
    assert_memory_equal(sb.buf, all, 127);
    c360_json_release(&j);
    sb_release(&doc);
    sb_release(&sb);
}

static void num_is(double v, const char *want)
{
    strbuf sb = STRBUF_INIT;
    c360_json_put_num(&sb, v);
    if (strcmp(sb.buf, want) != 0) fail_msg("put_num(%.17g) = '%s', want '%s'", v, sb.buf, want);
    sb_release(&sb);
}

static void test_put_num(void **state)
{
    (void)state;
    num_is(0, "0");
    num_is(3.0, "3");
    num_is(-2, "-2");
    num_is(1234567890123.0, "1234567890123");
    num_is(0.1, "0.1");
    num_is(-0.1, "-0.1");
    num_is(1.5, "1.5");
    num_is(2.675, "2.675");
    num_is(0.1 + 0.2, "0.30000000000000004");   /* shortest form that round-trips */
    num_is(1e-7, "1e-07");
    num_is(1e300, "1e+300");
    num_is(NAN, "null");
    num_is(INFINITY, "null");
    num_is(-INFINITY, "null");
    /* every printed number parses back to the same double */
    double vals[] = {0.1, 1.0 / 3, 123.456, -9.87654321e-5, 4.35, 9007199254740993.0, 1e21};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        strbuf sb = STRBUF_INIT;
        c360_json_put_num(&sb, vals[i]);
        assert_true(strtod(sb.buf, NULL) == vals[i]);
        /* and is valid JSON */
        char doc[80], err[64];
        snprintf(doc, sizeof doc, "[%s]", sb.buf);
        if (parse(doc, strlen(doc), err, sizeof err) != 0) fail_msg("put_num wrote invalid JSON %s: %s", doc, err);
        sb_release(&sb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_valid),
        cmocka_unit_test(test_accepts_top_level_scalars),
        cmocka_unit_test(test_tokens_and_getters),
        cmocka_unit_test(test_rejects_trailing_garbage),
        cmocka_unit_test(test_rejects_bad_literals),
        cmocka_unit_test(test_rejects_bad_numbers),
        cmocka_unit_test(test_rejects_non_string_keys),
        cmocka_unit_test(test_rejects_bad_separators),
        cmocka_unit_test(test_rejects_control_chars),
        cmocka_unit_test(test_rejects_control_chars_in_keys),
        cmocka_unit_test(test_rejects_unterminated),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_depth_limit_boundary),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_put_str),
        cmocka_unit_test(test_put_num),
        cmocka_unit_test(test_parse_own),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
