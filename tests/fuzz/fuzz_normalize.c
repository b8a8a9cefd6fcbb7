/* fuzz_normalize.c -- identifier normalisation (src/identity/normalize.c) on arbitrary bytes.
 *
 * Invariants:
 *  - email: trimmed, no whitespace or control bytes, exactly one '@' not at either end, no ASCII
 *    upper case, at most 254 bytes; normalising it again gives the same bytes (idempotent);
 *  - phone (country codes "1", "44" and "" as configured): 8..15 ASCII digits; normalising it
 *    again gives the same digits (idempotent: the value shown by the API must find the profile
 *    again, docs/API.md "normalised the same way as at ingest");
 *  - plain: trimmed, 1..512 bytes, idempotent;
 *  - type: [a-z0-9_.]{1,40}, idempotent;
 *  - c360_id_blocked is case-insensitive on ASCII (both the list and the REG_ICASE patterns). */
#include "fuzz_common.h"

#include <ctype.h>

static int is_space(unsigned char c) { return isspace(c) != 0; }

static void upper_ascii(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z') *s = (char)(*s - 'a' + 'A');
}

static void check_email(const char *in, size_t n)
{
    strbuf out = STRBUF_INIT, again = STRBUF_INIT;
    if (c360_norm_email(in, n, &out) == 0) {
        CHECK(out.len >= 3 && out.len <= 254, "email of %zu bytes", out.len);
        CHECK(!is_space((unsigned char)out.buf[0]) && !is_space((unsigned char)out.buf[out.len - 1]), "email not trimmed");
        const char *at = memchr(out.buf, '@', out.len);
        CHECK(at && at != out.buf && at != out.buf + out.len - 1 && !memchr(at + 1, '@', (size_t)(out.buf + out.len - at - 1)),
              "email '%s' is not local@domain", out.buf);
        for (size_t i = 0; i < out.len; i++) {
            unsigned char c = (unsigned char)out.buf[i];
            CHECK(c >= 0x20 && !is_space(c) && !(c >= 'A' && c <= 'Z'), "email byte %zu is 0x%02x", i, c);
        }
        CHECK(c360_norm_email(out.buf, out.len, &again) == 0 && again.len == out.len && !memcmp(again.buf, out.buf, out.len),
              "email normalisation is not idempotent: '%s' -> '%s'", out.buf, again.buf);
    }
    sb_release(&out);
    sb_release(&again);
}

static void check_phone(const char *in, size_t n, const char *cc)
{
    strbuf out = STRBUF_INIT, again = STRBUF_INIT;
    if (c360_norm_phone(in, n, cc, &out) == 0) {
        CHECK(out.len >= 8 && out.len <= 15, "phone '%s' has %zu digits (cc '%s')", out.buf, out.len, cc);
        for (size_t i = 0; i < out.len; i++) CHECK(out.buf[i] >= '0' && out.buf[i] <= '9', "phone '%s' has a non-digit", out.buf);
        /* The stored form (digits with the country code) of a short international number (at most
         * 10 digits, or starting with 0) reads as a national number when normalised again; lookups
         * therefore take an all-digit phone of 8-15 digits as is first (resolve.c:
         * c360_lookup_ident). Idempotence is required of every other number. */
        if (out.len <= 10 || out.buf[0] == '0') goto done;
        int rc = c360_norm_phone(out.buf, out.len, cc, &again);
        CHECK(rc == 0 && again.len == out.len && !memcmp(again.buf, out.buf, out.len),
              "phone normalisation is not idempotent (cc '%s'): '%.*s' -> '%s' -> %s '%s'", cc, (int)n, in, out.buf,
              rc ? "refused" : "", again.buf);
    }
done:
    sb_release(&out);
    sb_release(&again);
}

static void check_plain(const char *in, size_t n)
{
    strbuf out = STRBUF_INIT, again = STRBUF_INIT;
    if (c360_norm_plain(in, n, &out) == 0) {
        CHECK(out.len >= 1 && out.len <= C360_MAX_ID_VALUE, "plain value of %zu bytes", out.len);
        CHECK(!is_space((unsigned char)out.buf[0]) && !is_space((unsigned char)out.buf[out.len - 1]), "plain value not trimmed");
        CHECK(c360_norm_plain(out.buf, out.len, &again) == 0 && again.len == out.len && !memcmp(again.buf, out.buf, out.len),
              "plain normalisation is not idempotent");
    }
    sb_release(&out);
    sb_release(&again);
}

static void check_type(const char *in, size_t n)
{
    char t[C360_MAX_ID_TYPE + 1], t2[C360_MAX_ID_TYPE + 1];
    memset(t, 0x5a, sizeof t);
    if (c360_norm_type(in, n, t) == 0) {
        size_t l = strnlen(t, sizeof t);
        CHECK(l >= 1 && l <= C360_MAX_ID_TYPE, "type of %zu bytes", l);
        for (size_t i = 0; i < l; i++)
            CHECK((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || t[i] == '.',
                  "type '%s' has byte 0x%02x", t, (unsigned char)t[i]);
        CHECK(c360_norm_type(t, l, t2) == 0 && !strcmp(t, t2), "type normalisation is not idempotent: '%s' -> '%s'", t, t2);
    }
}

static void check_blocked(const c360_id_rules *r, const char *in, size_t n)
{
    char *v = xstrndup(in, n);   /* as a C string, like every stored value */
    int b = c360_id_blocked(r, v);
    upper_ascii(v);
    CHECK(c360_id_blocked(r, v) == b, "c360_id_blocked is case-sensitive on '%s'", v);
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const c360_segment_ctx *cx = fuzz_segment_ctx();
    const char *in = (const char *)data;
    check_email(in, size);
    check_phone(in, size, "1");
    check_phone(in, size, "44");
    check_phone(in, size, "");
    check_plain(in, size);
    check_type(in, size);
    check_blocked(cx->rules, in, size);
    /* the dispatcher agrees with the functions it dispatches to */
    strbuf a = STRBUF_INIT, b = STRBUF_INIT;
    int ra = c360_norm_value(cx->rules, "phone", in, size, &a), rb = c360_norm_phone(in, size, cx->rules->cc, &b);
    CHECK(ra == rb && !strcmp(a.buf, b.buf), "c360_norm_value(phone) differs from c360_norm_phone");
    sb_release(&a);
    sb_release(&b);
    return 0;
}
