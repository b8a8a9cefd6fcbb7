/* test_normalize.c - unit tests for identifier normalisation and identity rules
 * (src/identity/normalize.c).
 * Covers: email (trim, lower-case, shape checks), phone (country codes, 00/+ prefixes, trunk 0,
 * length bounds, letters, extensions), type names, plain values, blocked values (config default
 * list, case-insensitive) and blocked regex patterns, c360_id_rules_init with custom priority and
 * limit strings and its error messages, and the keyed identifier hash. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "identity/normalize.h"
#include "util/strbuf.h"

/* ------------------------------------------------------------------ helpers */

static void email_is(const char *in, const char *want)
{
    strbuf sb = STRBUF_INIT;
    int rc = c360_norm_email(in, strlen(in), &sb);
    if (rc != 0) fail_msg("email '%s' rejected, want '%s'", in, want);
    if (strcmp(sb.buf, want) != 0) fail_msg("email '%s' -> '%s', want '%s'", in, sb.buf, want);
    sb_release(&sb);
}

static void email_bad(const char *in)
{
    strbuf sb = STRBUF_INIT;
    int rc = c360_norm_email(in, strlen(in), &sb);
    if (rc != -1) fail_msg("email '%s' accepted as '%s'", in, sb.buf);
    assert_int_equal(sb.len, 0);   /* nothing appended on failure */
    sb_release(&sb);
}

static void phone_is(const char *in, const char *cc, const char *want)
{
    strbuf sb = STRBUF_INIT;
    int rc = c360_norm_phone(in, strlen(in), cc, &sb);
    if (rc != 0) fail_msg("phone '%s' (cc %s) rejected, want '%s'", in, cc, want);
    if (strcmp(sb.buf, want) != 0) fail_msg("phone '%s' (cc %s) -> '%s', want '%s'", in, cc, sb.buf, want);
    sb_release(&sb);
}

static void phone_bad(const char *in, const char *cc)
{
    strbuf sb = STRBUF_INIT;
    int rc = c360_norm_phone(in, strlen(in), cc, &sb);
    if (rc != -1) fail_msg("phone '%s' (cc %s) accepted as '%s'", in, cc, sb.buf);
    assert_int_equal(sb.len, 0);
    sb_release(&sb);
}

static void type_is(const char *in, const char *want)
{
    char out[C360_MAX_ID_TYPE + 1];
    memset(out, 'Z', sizeof out);
    if (c360_norm_type(in, strlen(in), out) != 0) fail_msg("type '%s' rejected, want '%s'", in, want);
    if (strcmp(out, want) != 0) fail_msg("type '%s' -> '%s', want '%s'", in, out, want);
}

static void type_bad(const char *in)
{
    char out[C360_MAX_ID_TYPE + 1];
    if (c360_norm_type(in, strlen(in), out) != -1) fail_msg("type '%s' accepted", in);
}

static void default_rules(c360_id_rules *r)
{
    c360_config c;
    c360_config_defaults(&c);
    char err[256] = "";
    if (c360_id_rules_init(r, &c, err, sizeof err) != 0) fail_msg("rules from defaults: %s", err);
    c360_config_release(&c);
}

/* rules from defaults with one setting changed; returns rc, err filled */
static int rules_with(c360_id_rules *r, const char *name, const char *value, char *err, size_t errlen)
{
    c360_config c;
    c360_config_defaults(&c);
    char e2[256];
    if (c360_config_set(&c, name, value, e2, sizeof e2) != 0) fail_msg("config set %s: %s", name, e2);
    int rc = c360_id_rules_init(r, &c, err, errlen);
    c360_config_release(&c);
    return rc;
}

/* ------------------------------------------------------------------ email */

static void test_email(void **state)
{
    (void)state;
    email_is("ann@example.com", "ann@example.com");
    email_is("  Ann@Example.COM \t\n", "ann@example.com");
    email_is("ANN.SMITH+tag@Sub.Example.Org", "ann.smith+tag@sub.example.org");
    email_is("a@b", "a@b");
    email_bad("");
    email_bad("   ");
    email_bad("ann.example.com");          /* no @ */
    email_bad("ann@@example.com");         /* double @ */
    email_bad("ann@ex@ample.com");
    email_bad("@example.com");             /* empty local part */
    email_bad("ann@");                     /* empty domain */
    email_bad("ann smith@example.com");    /* inner space */
    email_bad("ann@exa mple.com");
    email_bad("ann@exa\tmple.com");
    email_bad("ann\x01@example.com");      /* control character */
    /* length limit 254 */
    char big[300];
    memset(big, 'a', sizeof big);
    memcpy(big + 250, "@b.c", 5);          /* 254 chars */
    email_is(big, big);
    memset(big, 'a', sizeof big);
    memcpy(big + 251, "@b.c", 5);          /* 255 chars */
    email_bad(big);
    /* appends to what is already in the buffer and lower-cases only the new part */
    strbuf sb = STRBUF_INIT;
    sb_adds(&sb, "KEEP:");
    assert_int_equal(c360_norm_email("X@Y.Z", 5, &sb), 0);
    assert_string_equal(sb.buf, "KEEP:x@y.z");
    sb_release(&sb);
}

/* ------------------------------------------------------------------ phone */

static void test_phone(void **state)
{
    (void)state;
    phone_is("+1 (555) 010-1234", "1", "15550101234");
    phone_is("+1 (555) 010-1234", "44", "15550101234");    /* explicit + ignores the default cc */
    phone_is("555.010.1234", "1", "15550101234");
    phone_is("555-010-1234", "1", "15550101234");
    phone_is("(555) 010 1234", "1", "15550101234");
    phone_is("0044 20 7946 0958", "1", "442079460958");
    phone_is("+44 20 7946 0958", "1", "442079460958");
    phone_is("020 7946 0958", "44", "442079460958");       /* trunk 0 replaced by cc */
    phone_is("20 7946 0958", "44", "442079460958");
    phone_is("15550101234", "1", "15550101234");           /* 11 digits: already has a cc */
    phone_is("  +49 30/1234567  ", "1", "49301234567");
    phone_is("+1 555 010 1234 x12", "1", "15550101234");   /* extension cut */
    phone_is("555-010-1234x12", "1", "15550101234");
    phone_is("555-010-1234 X 99", "1", "15550101234");
    phone_is("555-010-1234#7", "1", "15550101234");
    phone_is("12345678", "1", "112345678");                /* national, cc prepended -> 9 digits */
    phone_is("+12345678", "1", "12345678");                /* 8 digits: the minimum */
    phone_is("+123456789012345", "1", "123456789012345");  /* 15 digits: the maximum (E.164) */

    phone_bad("", "1");
    phone_bad("12345", "1");                /* too short even with cc */
    phone_bad("+1234567", "1");             /* 7 digits */
    phone_bad("+1234567890123456", "1");    /* 16 digits */
    phone_bad("0044 1234567890123456", "1");
    phone_bad("12345678901234567890123456789012345", "1");   /* more digits than the buffer */
    phone_bad("555-CALL-NOW", "1");         /* letters */
    phone_bad("555 010 1234 ext 12", "1");  /* 'e' is not an extension marker */
    phone_bad("phone: 5550101234", "1");
    phone_bad("x5550101234", "1");          /* extension marker before any digit */
    phone_bad("555+0101234", "1");          /* + only at the start */
    phone_bad("+", "1");
}

/* ------------------------------------------------------------------ types and plain values */

static void test_type(void **state)
{
    (void)state;
    type_is("email", "email");
    type_is("Email", "email");
    type_is("  PHONE ", "phone");
    type_is("userId", "user_id");
    type_is("UserID", "user_id");
    type_is("anonymousId", "anonymous_id");
    type_is("ga_client_id", "ga_client_id");
    type_is("GA Client Id", "ga_client_id");
    type_is("ga-client-id", "ga_client_id");
    type_is("shopify.customer", "shopify.customer");
    type_is("id2", "id2");
    type_bad("");
    type_bad("   ");
    type_bad("bad$type");
    type_bad("a/b");
    type_bad("a:b");
    type_bad("caf\xc3\xa9");
    char t40[41], t41[42];
    memset(t40, 'a', 40); t40[40] = 0;
    memset(t41, 'a', 41); t41[41] = 0;
    type_is(t40, t40);
    type_bad(t41);
}

static void test_plain(void **state)
{
    (void)state;
    strbuf sb = STRBUF_INIT;
    assert_int_equal(c360_norm_plain("  AbC-123 ", 10, &sb), 0);
    assert_string_equal(sb.buf, "AbC-123");   /* case is significant for opaque ids */
    sb_reset(&sb);
    assert_int_equal(c360_norm_plain("   ", 3, &sb), -1);
    assert_int_equal(c360_norm_plain("", 0, &sb), -1);
    char v[C360_MAX_ID_VALUE + 2];
    memset(v, 'v', sizeof v);
    assert_int_equal(c360_norm_plain(v, C360_MAX_ID_VALUE, &sb), 0);
    assert_int_equal(sb.len, C360_MAX_ID_VALUE);
    sb_reset(&sb);
    assert_int_equal(c360_norm_plain(v, C360_MAX_ID_VALUE + 1, &sb), -1);
    sb_release(&sb);

    /* c360_norm_value dispatches by type */
    c360_id_rules r;
    default_rules(&r);
    assert_int_equal(c360_norm_value(&r, "email", " A@B.C ", 7, &sb), 0);
    assert_string_equal(sb.buf, "a@b.c");
    sb_reset(&sb);
    assert_int_equal(c360_norm_value(&r, "phone", "555.010.1234", 12, &sb), 0);
    assert_string_equal(sb.buf, "15550101234");   /* default cc "1" */
    sb_reset(&sb);
    assert_int_equal(c360_norm_value(&r, "user_id", " A@B.C ", 7, &sb), 0);
    assert_string_equal(sb.buf, "A@B.C");         /* not lower-cased */
    sb_reset(&sb);
    assert_int_equal(c360_norm_value(&r, "email", "nope", 4, &sb), -1);
    sb_release(&sb);
    c360_id_rules_release(&r);
}

/* ------------------------------------------------------------------ blocked */

static void test_blocked_defaults(void **state)
{
    (void)state;
    c360_id_rules r;
    default_rules(&r);
    static const char *blocked[] = {"", "null", "NULL", "Null", "undefined", "UNDEFINED", "anonymous",
                                    "Anonymous", "0", "-1", "none", "nil", "unknown", "n/a", "N/A",
                                    "test@test.com", "TEST@test.COM"};
    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++)
        if (!c360_id_blocked(&r, blocked[i])) fail_msg("'%s' should be blocked by default", blocked[i]);
    static const char *ok[] = {"ann", "nullable", "anonymous1", "00", "1", "-2", "u-0", "test@test.co", " null"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (c360_id_blocked(&r, ok[i])) fail_msg("'%s' should not be blocked", ok[i]);
    assert_int_equal(r.npatterns, 0);
    c360_id_rules_release(&r);
}

static void test_blocked_custom_values_and_patterns(void **state)
{
    (void)state;
    c360_config c;
    c360_config_defaults(&c);
    char err[256] = "";
    assert_int_equal(c360_config_set(&c, "identity.blocked_values", "guest, visitor", err, sizeof err), 0);
    /* patterns are one per line, so a regex may contain commas */
    assert_int_equal(c360_config_set(&c, "identity.blocked_patterns", "^test.*@example\\.com$\n ^0+$\n^[x]{3}\n^q{2,3}$", err, sizeof err), 0);
    c360_id_rules r;
    assert_int_equal(c360_id_rules_init(&r, &c, err, sizeof err), 0);
    assert_int_equal(r.nblocked, 2);
    assert_int_equal(r.npatterns, 4);
    assert_true(c360_id_blocked(&r, "qq"));
    assert_true(c360_id_blocked(&r, "QQQ"));
    assert_false(c360_id_blocked(&r, "q"));
    assert_true(c360_id_blocked(&r, "guest"));
    assert_true(c360_id_blocked(&r, "VISITOR"));       /* trimmed, case-insensitive */
    assert_false(c360_id_blocked(&r, "null"));         /* the default list was replaced */
    assert_false(c360_id_blocked(&r, ""));             /* no empty item in this list */
    assert_true(c360_id_blocked(&r, "test1@example.com"));
    assert_true(c360_id_blocked(&r, "TEST-bot@EXAMPLE.com"));   /* patterns are case-insensitive */
    assert_false(c360_id_blocked(&r, "ann@example.com"));
    assert_false(c360_id_blocked(&r, "test@example.org"));
    assert_true(c360_id_blocked(&r, "0000"));
    assert_false(c360_id_blocked(&r, "1000"));
    assert_true(c360_id_blocked(&r, "xxxyz"));
    assert_false(c360_id_blocked(&r, "xxy"));
    c360_id_rules_release(&r);

    /* an invalid regex is refused with a message naming it; no leak */
    assert_int_equal(c360_config_set(&c, "identity.blocked_patterns", "^ok$,([", err, sizeof err), 0);
    err[0] = 0;
    assert_int_equal(c360_id_rules_init(&r, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "identity.blocked_patterns"));
    assert_non_null(strstr(err, "(["));
    assert_int_equal(r.npatterns, 0);   /* released */
    c360_config_release(&c);
}

/* ------------------------------------------------------------------ rules */

static void test_rules_defaults(void **state)
{
    (void)state;
    c360_id_rules r;
    default_rules(&r);
    /* default priority user_id,email,phone,*,anonymous_id */
    assert_int_equal(c360_id_prio(&r, "user_id"), 0);
    assert_int_equal(c360_id_prio(&r, "email"), 1);
    assert_int_equal(c360_id_prio(&r, "phone"), 2);
    assert_int_equal(c360_id_prio(&r, "ga_client_id"), 3);
    assert_int_equal(c360_id_prio(&r, "anonymous_id"), 4);
    assert_true(c360_id_prio(&r, "user_id") < c360_id_prio(&r, "email"));
    assert_true(c360_id_prio(&r, "cookie") < c360_id_prio(&r, "anonymous_id"));
    /* default limits user_id=1,*=5 */
    assert_int_equal(c360_id_limit(&r, "user_id"), 1);
    assert_int_equal(c360_id_limit(&r, "email"), 5);
    assert_int_equal(c360_id_limit(&r, "anonymous_id"), 5);
    assert_int_equal(c360_id_limit(&r, "cookie"), 5);
    assert_int_equal(r.max_identities, 100);
    assert_int_equal(r.max_merges, 50);
    assert_string_equal(r.cc, "1");
    c360_id_rules_release(&r);
}

static void test_rules_custom(void **state)
{
    (void)state;
    c360_config c;
    c360_config_defaults(&c);
    char err[256] = "";
    assert_int_equal(c360_config_set(&c, "identity.priority", " email , userId,*, phone ,anonymous_id", err, sizeof err), 0);
    assert_int_equal(c360_config_set(&c, "identity.limits", "user_id=2, Email=3,*=7,ga_client_id=1", err, sizeof err), 0);
    assert_int_equal(c360_config_set(&c, "identity.max_identities", "20", err, sizeof err), 0);
    assert_int_equal(c360_config_set(&c, "identity.max_merges", "4", err, sizeof err), 0);
    assert_int_equal(c360_config_set(&c, "phone_country_code", "44", err, sizeof err), 0);
    c360_id_rules r;
    assert_int_equal(c360_id_rules_init(&r, &c, err, sizeof err), 0);
    assert_int_equal(c360_id_prio(&r, "email"), 0);
    assert_int_equal(c360_id_prio(&r, "user_id"), 1);    /* "userId" normalised */
    assert_int_equal(c360_id_prio(&r, "cookie"), 2);     /* '*' */
    assert_int_equal(c360_id_prio(&r, "phone"), 3);
    assert_int_equal(c360_id_prio(&r, "anonymous_id"), 4);
    assert_int_equal(c360_id_prio(&r, "ga_client_id"), 2);   /* listed in limits only: prio of '*' */
    assert_int_equal(c360_id_limit(&r, "user_id"), 2);
    assert_int_equal(c360_id_limit(&r, "email"), 3);
    assert_int_equal(c360_id_limit(&r, "ga_client_id"), 1);
    assert_int_equal(c360_id_limit(&r, "phone"), 7);
    assert_int_equal(c360_id_limit(&r, "cookie"), 7);
    assert_int_equal(r.max_identities, 20);
    assert_int_equal(r.max_merges, 4);
    assert_string_equal(r.cc, "44");
    strbuf sb = STRBUF_INIT;
    assert_int_equal(c360_norm_value(&r, "phone", "020 7946 0958", 13, &sb), 0);
    assert_string_equal(sb.buf, "442079460958");
    sb_release(&sb);
    c360_id_rules_release(&r);

    /* a priority list without '*' puts unlisted types after every listed one */
    assert_int_equal(c360_config_set(&c, "identity.priority", "user_id,anonymous_id", err, sizeof err), 0);
    assert_int_equal(c360_id_rules_init(&r, &c, err, sizeof err), 0);
    assert_true(c360_id_prio(&r, "email") > c360_id_prio(&r, "anonymous_id"));
    c360_id_rules_release(&r);
    c360_config_release(&c);
}

static void rules_err(const char *name, const char *value, const char *want1, const char *want2)
{
    c360_id_rules r;
    char err[256] = "";
    int rc = rules_with(&r, name, value, err, sizeof err);
    if (rc != -1) {
        c360_id_rules_release(&r);
        fail_msg("%s='%s' accepted", name, value);
    }
    if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
        fail_msg("%s='%s': message '%s' lacks '%s'/'%s'", name, value, err, want1, want2 ? want2 : "");
    /* released on failure: nothing left to free */
    assert_null(r.blocked);
    assert_null(r.patterns);
}

static void test_rules_bad_inputs(void **state)
{
    (void)state;
    rules_err("identity.priority", "user_id,bad$type", "identity.priority", "bad$type");
    rules_err("identity.limits", "user_id", "identity.limits", "expected TYPE=N");
    rules_err("identity.limits", "user_id=0", "identity.limits", ">= 1");
    rules_err("identity.limits", "user_id=abc", "identity.limits", "user_id=abc");
    rules_err("identity.limits", "user_id=-3", "identity.limits", ">= 1");
    rules_err("identity.limits", "b@d=2", "identity.limits", "b@d");
    rules_err("identity.blocked_patterns", "a(", "identity.blocked_patterns", "a(");
    rules_err("phone_country_code", "+1", "phone_country_code", NULL);
    rules_err("phone_country_code", "1a", "phone_country_code", NULL);

    /* more than 32 distinct types in the priority list */
    strbuf many = STRBUF_INIT;
    for (int i = 0; i < 40; i++) sb_addf(&many, "%st%d", i ? "," : "", i);
    rules_err("identity.priority", many.buf, "identity.priority", "too many");
    sb_release(&many);
}

/* ------------------------------------------------------------------ hash */

static void hash_of(const char *type, const char *value, const unsigned char secret[32], unsigned char out[16])
{
    c360_id id;
    memset(&id, 0, sizeof id);
    snprintf(id.type, sizeof id.type, "%s", type);
    id.value = strdup(value);
    c360_id_hash(&id, secret);
    memcpy(out, id.hash, 16);
    c360_id_release(&id);
    assert_null(id.value);
}

static void test_hash(void **state)
{
    (void)state;
    unsigned char s1[32], s2[32];
    for (int i = 0; i < 32; i++) { s1[i] = (unsigned char)i; s2[i] = (unsigned char)i; }
    s2[31] ^= 1;
    unsigned char a[16], b[16], c[16], d[16], e[16], f[16];
    hash_of("email", "ann@example.com", s1, a);
    hash_of("email", "ann@example.com", s1, b);
    assert_memory_equal(a, b, 16);                     /* deterministic */
    hash_of("email", "ann@example.com", s2, c);
    assert_memory_not_equal(a, c, 16);                 /* keyed: other secret, other hash */
    hash_of("user_id", "ann@example.com", s1, d);
    assert_memory_not_equal(a, d, 16);                 /* the type participates */
    hash_of("email", "ann@example.co", s1, e);
    assert_memory_not_equal(a, e, 16);
    /* the type/value boundary is unambiguous: ("ab","c") != ("a","bc") */
    hash_of("ab", "c", s1, e);
    hash_of("a", "bc", s1, f);
    assert_memory_not_equal(e, f, 16);
    /* not all zeros */
    static const unsigned char zero[16];
    assert_memory_not_equal(a, zero, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_blocked_defaults),
        cmocka_unit_test(test_blocked_custom_values_and_patterns),
        cmocka_unit_test(test_rules_defaults),
        cmocka_unit_test(test_rules_custom),
        cmocka_unit_test(test_rules_bad_inputs),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests_name("normalize", tests, NULL, NULL);
}
