/* apikeys.c -- API keys stored as keyed hashes (see apikeys.h). */
#include "privacy/apikeys.h"
#include "privacy/roles.h"
#include "util/clock.h"
#include "util/json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C360_K_APIKEY 'K'

#define C360__ROLE_ROW(e, n, b) {n, e},
static const struct { const char *name; int bit; } role_rows[] = { C360_ROLE_LIST(C360__ROLE_ROW) };
#undef C360__ROLE_ROW

int c360_role_parse(const char *name)
{
    for (size_t i = 0; i < sizeof role_rows / sizeof role_rows[0]; i++)
        if (!strcmp(role_rows[i].name, name)) return role_rows[i].bit;
    return 0;
}

const char *c360_role_name(int role)
{
    for (size_t i = 0; i < sizeof role_rows / sizeof role_rows[0]; i++)
        if (role_rows[i].bit == role) return role_rows[i].name;
    return "none";
}

int c360_key_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static void key_of(c360_store *s, const char *secret, size_t len, unsigned char k[17])
{
    k[0] = C360_K_APIKEY;
    crypto_generichash(k + 1, 16, (const unsigned char *)secret, len, c360_store_secret(s), 32);
}

static int parse_record(const char *v, size_t vl, c360_key_info *out)
{
    c360_json j;
    c360_json_init(&j);
    char err[64];
    int ok = 0;
    memset(out, 0, sizeof *out);
    if (c360_json_parse(&j, v, vl, err, sizeof err) == 0 && j.tok[0].type == CJ_OBJECT) {
        strbuf b = STRBUF_INIT;
        if (c360_json_str(&j, c360_json_get(&j, 0, "name"), &b) == 0) snprintf(out->name, sizeof out->name, "%s", b.buf);
        sb_reset(&b);
        if (c360_json_str(&j, c360_json_get(&j, 0, "role"), &b) == 0) out->role = c360_role_parse(b.buf);
        double d;
        if (c360_json_num(&j, c360_json_get(&j, 0, "created"), &d) == 0) out->created_ms = (int64_t)d;
        out->revoked = c360_json_true(&j, c360_json_get(&j, 0, "revoked"));
        sb_release(&b);
        ok = out->role != 0 && out->name[0];
    }
    c360_json_release(&j);
    return ok ? 0 : -1;
}

static void record(const c360_key_info *k, strbuf *out)
{
    sb_adds(out, "{\"name\":");
    c360_json_put_cstr(out, k->name);
    sb_addf(out, ",\"role\":\"%s\",\"created\":%lld,\"revoked\":%s}", c360_role_name(k->role), (long long)k->created_ms,
            k->revoked ? "true" : "false");
}

/* calls fn for every stored key; stops when fn returns non-zero */
static int each_key(c360_store *s, int (*fn)(void *, const char *k, size_t kl, const c360_key_info *), void *arg)
{
    unsigned char lo[1] = {C360_K_APIKEY}, hi[1] = {C360_K_APIKEY + 1};
    c360_iter *it = c360_iter_new(s, lo, 1, hi, 1);
    int r = 0;
    for (c360_iter_first(it); c360_iter_valid(it) && !r; c360_iter_next(it)) {
        size_t kl, vl;
        const char *k = c360_iter_key(it, &kl), *v = c360_iter_value(it, &vl);
        c360_key_info info;
        if (parse_record(v, vl, &info) == 0) r = fn(arg, k, kl, &info);
    }
    c360_iter_free(it);
    return r;
}

static int name_taken(void *arg, const char *k, size_t kl, const c360_key_info *info)
{
    return !info->revoked && !strcmp(info->name, (const char *)arg);
}

int c360_keys_create(c360_store *s, const char *name, int role, strbuf *secret_out, char *err, size_t errlen)
{
    if (!c360_key_name_valid(name)) {
        snprintf(err, errlen, "key name must be 1-64 letters, digits, '-', '_' or '.'");
        return -1;
    }
    if (!c360_role_name(role) || !strcmp(c360_role_name(role), "none")) {
        snprintf(err, errlen, "unknown role");
        return -1;
    }
    if (each_key(s, name_taken, (void *)name)) {
        snprintf(err, errlen, "an active key named '%s' exists; revoke it first or pick another name", name);
        return -1;
    }
    unsigned char rnd[20];
    randombytes_buf(rnd, sizeof rnd);
    strbuf secret = STRBUF_INIT;
    sb_addf(&secret, "c360_%s_", c360_role_name(role));
    for (size_t i = 0; i < sizeof rnd; i++) sb_addf(&secret, "%02x", rnd[i]);
    c360_key_info info = {.role = role, .created_ms = c360_now_ms()};
    snprintf(info.name, sizeof info.name, "%s", name);
    unsigned char k[17];
    key_of(s, secret.buf, secret.len, k);
    strbuf v = STRBUF_INIT;
    record(&info, &v);
    int rc = c360_store_put_sync(s, k, sizeof k, v.buf, v.len, err, errlen);
    if (rc == 0) sb_add(secret_out, secret.buf, secret.len);
    sodium_memzero(secret.buf, secret.len);
    sb_release(&secret);
    sb_release(&v);
    return rc;
}

int c360_keys_lookup(c360_store *s, const char *secret, size_t len, c360_key_info *out)
{
    if (len < 8 || len > 200) return 0;
    unsigned char k[17];
    key_of(s, secret, len, k);
    strbuf v = STRBUF_INIT;
    int f = c360_store_get(s, k, sizeof k, &v);
    if (f == 1) f = parse_record(v.buf, v.len, out) == 0 && !out->revoked ? 1 : 0;
    sb_release(&v);
    return f;
}

typedef struct { strbuf *out; int n; } list_ctx;

static int list_one(void *arg, const char *k, size_t kl, const c360_key_info *info)
{
    list_ctx *x = arg;
    if (x->n++) sb_addc(x->out, ',');
    record(info, x->out);
    return 0;
}

int c360_keys_list(c360_store *s, strbuf *out)
{
    list_ctx x = {out, 0};
    sb_addc(out, '[');
    each_key(s, list_one, &x);
    sb_addc(out, ']');
    return 0;
}

typedef struct { const char *name; strbuf key; c360_key_info info; } find_ctx;

static int find_active(void *arg, const char *k, size_t kl, const c360_key_info *info)
{
    find_ctx *f = arg;
    if (info->revoked || strcmp(info->name, f->name)) return 0;
    sb_add(&f->key, k, kl);
    f->info = *info;
    return 1;
}

int c360_keys_revoke(c360_store *s, const char *name, char *err, size_t errlen)
{
    find_ctx f = {.name = name};
    sb_init(&f.key);
    if (!each_key(s, find_active, &f)) {
        snprintf(err, errlen, "no active key named '%s'", name);
        sb_release(&f.key);
        return -1;
    }
    f.info.revoked = 1;
    strbuf v = STRBUF_INIT;
    record(&f.info, &v);
    int rc = c360_store_put_sync(s, f.key.buf, f.key.len, v.buf, v.len, err, errlen);
    sb_release(&v);
    sb_release(&f.key);
    return rc;
}
