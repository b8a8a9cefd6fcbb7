/* policy.c -- field classification and role-based masking of JSON documents (see policy.h). */
#include "privacy/policy.h"
#include "privacy/roles.h"
#include "util/json.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

static const char *class_names[C360_FC__N] = {"none", "email", "phone", "name", "address", "dob", "payment", "free_text"};

/* built-in classification by field name (case-insensitive; '-' and '_' ignored) */
static const struct { const char *key; int cls; } defaults[] = {
    {"email", C360_FC_EMAIL}, {"emailaddress", C360_FC_EMAIL},
    {"phone", C360_FC_PHONE}, {"phonenumber", C360_FC_PHONE}, {"mobile", C360_FC_PHONE},
    {"name", C360_FC_NAME}, {"firstname", C360_FC_NAME}, {"lastname", C360_FC_NAME}, {"fullname", C360_FC_NAME},
    {"address", C360_FC_ADDRESS}, {"street", C360_FC_ADDRESS}, {"shippingaddress", C360_FC_ADDRESS},
    {"billingaddress", C360_FC_ADDRESS}, {"postalcode", C360_FC_ADDRESS}, {"zip", C360_FC_ADDRESS},
    {"zipcode", C360_FC_ADDRESS}, {"ip", C360_FC_ADDRESS},
    {"birthday", C360_FC_DOB}, {"dateofbirth", C360_FC_DOB}, {"dob", C360_FC_DOB}, {"birthdate", C360_FC_DOB},
    {"cardnumber", C360_FC_PAYMENT}, {"cardlast4", C360_FC_PAYMENT}, {"iban", C360_FC_PAYMENT},
    {"cardfingerprint", C360_FC_PAYMENT}, {"paymentmethodid", C360_FC_PAYMENT},
    {"note", C360_FC_FREE_TEXT}, {"notes", C360_FC_FREE_TEXT}, {"comment", C360_FC_FREE_TEXT},
    {"message", C360_FC_FREE_TEXT}, {"description", C360_FC_FREE_TEXT}, {"subject", C360_FC_FREE_TEXT},
};

/* lower-case, without '-', '_' and spaces, so firstName, first_name and first-name are one */
static size_t fold(const char *k, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        char c = k[i];
        if (c == '_' || c == '-' || c == ' ') continue;
        out[o++] = (char)tolower((unsigned char)c);
    }
    out[o] = 0;
    return o;
}

int c360_policy_class_parse(const char *name)
{
    for (int i = 1; i < C360_FC__N; i++)
        if (!strcmp(class_names[i], name)) return i;
    return 0;
}

const char *c360_policy_class_name(int cls) { return cls > 0 && cls < C360_FC__N ? class_names[cls] : "none"; }

/* traits_only: the name is personal only inside a `traits` object (a product's or a page's
 * "name" is not a person's); names configured in privacy.fields apply everywhere */
static void add_field_ex(c360_policy *p, const char *key, size_t n, int cls, int traits_only)
{
    char f[96];
    fold(key, n, f, sizeof f);
    for (int i = 0; i < p->nfields; i++)
        if (!strcmp(p->fields[i].key, f)) {
            p->fields[i].cls = cls;
            p->fields[i].traits_only = traits_only;
            return;
        }
    p->fields = xrealloc(p->fields, sizeof *p->fields * (size_t)(p->nfields + 1));
    p->fields[p->nfields].key = xstrdup(f);
    p->fields[p->nfields].cls = cls;
    p->fields[p->nfields].traits_only = traits_only;
    p->nfields++;
}

static void add_field(c360_policy *p, const char *key, size_t n, int cls) { add_field_ex(p, key, n, cls, 0); }

/* reads privacy.fields: {field_name: class, ...} from the YAML file */
static int load_fields(c360_policy *p, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0; /* the flat loader already reported unreadable files */
    yaml_parser_t y;
    yaml_parser_initialize(&y);
    yaml_parser_set_input_file(&y, f);
    int rc = 0, depth = 0, in_privacy = 0, in_fields = 0, expect_key = 1;
    char key[128] = "", pending[128] = "";
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&y, &ev)) { rc = -1; snprintf(err, errlen, "privacy.fields: YAML error"); break; }
        int done = ev.type == YAML_STREAM_END_EVENT;
        if (ev.type == YAML_MAPPING_START_EVENT) {
            depth++;
            if (depth == 2 && !strcmp(key, "privacy")) in_privacy = 1;
            if (depth == 3 && in_privacy && !strcmp(key, "fields")) in_fields = 1;
            expect_key = 1;
        } else if (ev.type == YAML_MAPPING_END_EVENT) {
            if (depth == 3) in_fields = 0;
            if (depth == 2) in_privacy = 0;
            depth--;
            expect_key = 1;
        } else if (ev.type == YAML_SCALAR_EVENT) {
            const char *v = (const char *)ev.data.scalar.value;
            if (expect_key) {
                snprintf(depth == 1 ? key : (depth == 2 ? key : pending), 128, "%s", v);
                if (depth == 3) snprintf(pending, sizeof pending, "%s", v);
                expect_key = 0;
            } else {
                if (in_fields && depth == 3) {
                    int cls = c360_policy_class_parse(v);
                    if (!cls && strcmp(v, "none")) {
                        snprintf(err, errlen, "privacy.fields.%s: unknown class '%s' (email, phone, name, address, dob, payment, free_text, none)", pending, v);
                        rc = -1;
                    } else {
                        add_field(p, pending, strlen(pending), cls);
                    }
                }
                expect_key = 1;
            }
        } else if (ev.type == YAML_SEQUENCE_START_EVENT) {
            depth++;
        } else if (ev.type == YAML_SEQUENCE_END_EVENT) {
            depth--;
            expect_key = 1;
        }
        yaml_event_delete(&ev);
        if (done || rc) break;
    }
    yaml_parser_delete(&y);
    fclose(f);
    return rc;
}

int c360_policy_init(c360_policy *p, const c360_config *cfg, const unsigned char secret[32], char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    memcpy(p->secret, secret, 32);
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        const char *k = defaults[i].key;
        add_field_ex(p, k, strlen(k), defaults[i].cls, !strcmp(k, "name") || !strcmp(k, "description"));
    }
    if (cfg && cfg->config_file && load_fields(p, cfg->config_file, err, errlen)) {
        c360_policy_release(p);
        return -1;
    }
    return 0;
}

void c360_policy_release(c360_policy *p)
{
    for (int i = 0; i < p->nfields; i++) free(p->fields[i].key);
    free(p->fields);
    sodium_memzero(p->secret, sizeof p->secret);
    memset(p, 0, sizeof *p);
}

static int class_in(const c360_policy *p, const char *key, size_t klen, int in_traits)
{
    char f[96];
    fold(key, klen, f, sizeof f);
    for (int i = 0; i < p->nfields; i++)
        if (!strcmp(p->fields[i].key, f)) return p->fields[i].traits_only && !in_traits ? C360_FC_NONE : p->fields[i].cls;
    return C360_FC_NONE;
}

int c360_policy_class(const c360_policy *p, const char *key, size_t klen) { return class_in(p, key, klen, 1); }

int c360_policy_unmasked(int role) { return role == C360_ROLE_PRIVACY || role == C360_ROLE_ADMIN || role == C360_ROLE_INGEST; }

enum { SHOW, PARTIAL, STARS, FINGERPRINT, REMOVE };

static int action(int role, unsigned reveal, int cls)
{
    if (cls == C360_FC_NONE || c360_policy_unmasked(role)) return SHOW;
    if (role == C360_ROLE_AGENT) {
        if (reveal & (1u << cls)) return SHOW;
        switch (cls) {
        case C360_FC_EMAIL: case C360_FC_PHONE: case C360_FC_NAME: return PARTIAL;
        case C360_FC_FREE_TEXT: return SHOW;
        default: return STARS;
        }
    }
    if (role == C360_ROLE_FRAUD) return cls == C360_FC_PAYMENT ? FINGERPRINT : REMOVE;
    return REMOVE; /* marketing and anything else */
}

static void partial(int cls, const char *s, size_t n, strbuf *out)
{
    strbuf m = STRBUF_INIT;
    if (cls == C360_FC_EMAIL) {
        const char *at = memchr(s, '@', n);
        if (at && at > s) {
            sb_addc(&m, s[0]);
            sb_adds(&m, "***");
            sb_add(&m, at, (size_t)(s + n - at));
        } else {
            sb_adds(&m, "***");
        }
    } else if (cls == C360_FC_PHONE) {
        size_t digits = 0;
        for (size_t i = 0; i < n; i++) digits += s[i] >= '0' && s[i] <= '9';
        size_t seen = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] >= '0' && s[i] <= '9') sb_addc(&m, ++seen + 4 > digits ? s[i] : '*');
            else sb_addc(&m, s[i]);
        }
    } else { /* names: first letter of each word */
        int start = 1;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == ' ') { sb_addc(&m, ' '); start = 1; continue; }
            if (start) {
                size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; /* whole UTF-8 character */
                if (i + l > n) l = n - i;
                sb_add(&m, s + i, l);
                sb_adds(&m, "***");
                i += l - 1;
                start = 0;
            }
        }
    }
    c360_json_put_str(out, m.buf, m.len);
    sb_release(&m);
}

static void masked_value(const c360_policy *p, int act, int cls, const c360_json *j, int t, strbuf *out)
{
    strbuf s = STRBUF_INIT;
    if (j->tok[t].type == CJ_STRING) c360_json_str(j, t, &s);
    else {
        size_t n;
        const char *r = c360_json_raw(j, t, &n);
        sb_add(&s, r, n);
    }
    if (act == PARTIAL) partial(cls, s.buf, s.len, out);
    else if (act == FINGERPRINT) {
        unsigned char h[8];
        crypto_generichash(h, sizeof h, (const unsigned char *)s.buf, s.len, p->secret, 32);
        char hex[17];
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        sb_addf(out, "\"fp:%s\"", hex);
    } else {
        sb_adds(out, "\"***\"");
    }
    sb_release(&s);
}

/* identity objects: {"type": "email", "value": ...} (profiles) and {"type": "email", "id": ...}
 * (Segment's context.externalIds); *member is the key holding the identifier */
static int identity_class(const c360_json *j, int obj, const char **member)
{
    int ty = c360_json_get(j, obj, "type");
    if (ty < 0 || j->tok[ty].type != CJ_STRING) return C360_FC_NONE;
    if (c360_json_get(j, obj, "value") >= 0) *member = "value";
    else if (c360_json_get(j, obj, "id") >= 0) *member = "id";
    else return C360_FC_NONE;
    if (c360_json_streq(j, ty, "email")) return C360_FC_EMAIL;
    if (c360_json_streq(j, ty, "phone")) return C360_FC_PHONE;
    return C360_FC_NONE;
}

/* Subtrees whose keys name fields rather than hold their values: in "presence" subtrees
 * (traits_updated_at) a field the role may not see is left out and the rest shown as is; in
 * "plain" subtrees (consents: keys are channel names such as "email") nothing is classified. */
enum { MODE_VALUES, MODE_PRESENCE, MODE_PLAIN, MODE_TRAITS };

static int subtree_mode(const c360_json *j, int key)
{
    if (c360_json_streq(j, key, "traits_updated_at")) return MODE_PRESENCE;
    if (c360_json_streq(j, key, "traits")) return MODE_TRAITS;
    if (c360_json_streq(j, key, "consents") || c360_json_streq(j, key, "consent_history") || c360_json_streq(j, key, "counts"))
        return MODE_PLAIN;
    return MODE_VALUES;
}

static int emit_mode(const c360_policy *p, int role, unsigned reveal, const c360_json *j, int t, int cls, int mode, strbuf *out);

static int emit(const c360_policy *p, int role, unsigned reveal, const c360_json *j, int t, int cls, strbuf *out)
{
    return emit_mode(p, role, reveal, j, t, cls, MODE_VALUES, out);
}

static int emit_mode(const c360_policy *p, int role, unsigned reveal, const c360_json *j, int t, int cls, int mode, strbuf *out)
{
    const c360_jtok *tk = &j->tok[t];
    if (mode == MODE_PLAIN) {
        size_t n;
        const char *r = c360_json_raw(j, t, &n);
        sb_add(out, r, n);
        return c360_json_skip(j, t);
    }
    if (mode == MODE_PRESENCE && tk->type == CJ_OBJECT) {
        sb_addc(out, '{');
        int k = t + 1, first = 1;
        for (int i = 0; i < tk->size; i++) {
            int next = c360_json_skip(j, k + 1);
            int kcls = c360_policy_class(p, j->src + j->tok[k].start, (size_t)(j->tok[k].end - j->tok[k].start));
            if (action(role, reveal, kcls) != REMOVE) {
                size_t kn, vn;
                const char *kr = c360_json_raw(j, k, &kn), *vr = c360_json_raw(j, k + 1, &vn);
                if (!first) sb_addc(out, ',');
                first = 0;
                sb_add(out, kr, kn);
                sb_addc(out, ':');
                sb_add(out, vr, vn);
            }
            k = next;
        }
        sb_addc(out, '}');
        return k;
    }
    if (tk->type == CJ_OBJECT) {
        const char *idmember = "value";
        int idcls = identity_class(j, t, &idmember);
        sb_addc(out, '{');
        int k = t + 1, first = 1;
        for (int i = 0; i < tk->size; i++) {
            int v = k + 1;
            int kcls = class_in(p, j->src + j->tok[k].start, (size_t)(j->tok[k].end - j->tok[k].start), mode == MODE_TRAITS);
            if (idcls && c360_json_streq(j, k, idmember)) kcls = idcls;
            if (!kcls) kcls = cls;
            int act = action(role, reveal, kcls);
            int next = c360_json_skip(j, v);
            if (act != REMOVE) {
                if (!first) sb_addc(out, ',');
                first = 0;
                size_t kn;
                const char *kr = c360_json_raw(j, k, &kn);
                sb_add(out, kr, kn);
                sb_addc(out, ':');
                int child = subtree_mode(j, k);
                if (child == MODE_VALUES && mode == MODE_TRAITS) child = MODE_TRAITS; /* traits.address.* */
                emit_mode(p, role, reveal, j, v, kcls, child, out);
            }
            k = next;
        }
        sb_addc(out, '}');
        return k;
    }
    if (tk->type == CJ_ARRAY) {
        sb_addc(out, '[');
        int k = t + 1;
        for (int i = 0; i < tk->size; i++) {
            if (i) sb_addc(out, ',');
            k = emit(p, role, reveal, j, k, cls, out);
        }
        sb_addc(out, ']');
        return k;
    }
    int act = action(role, reveal, cls);
    size_t n;
    const char *r = c360_json_raw(j, t, &n);
    if (act == SHOW || c360_json_is_null(j, t) || c360_json_is_bool(j, t)) sb_add(out, r, n);
    else if (act == REMOVE) sb_adds(out, "null");
    else masked_value(p, act, cls, j, t, out);
    return t + 1;
}

void c360_policy_mask(const c360_policy *p, int role, unsigned reveal, const char *json, size_t len, strbuf *out)
{
    if (c360_policy_unmasked(role)) {
        sb_add(out, json, len);
        return;
    }
    c360_json j;
    c360_json_init(&j);
    char err[128];
    if (c360_json_parse(&j, json, len, err, sizeof err) == 0) emit(p, role, reveal, &j, 0, C360_FC_NONE, out);
    else sb_adds(out, "{}");
    c360_json_release(&j);
}
