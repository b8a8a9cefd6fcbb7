/* normalize.c -- identifier normalisation, blocking and rule compilation (see normalize.h). */
#include "identity/normalize.h"
#include "core/config.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) { (*s)++; (*n)--; }
    while (*n && isspace((unsigned char)(*s)[*n - 1])) (*n)--;
}

int c360_norm_plain(const char *in, size_t n, strbuf *out)
{
    trim(&in, &n);
    if (!n || n > C360_MAX_ID_VALUE) return -1;
    sb_add(out, in, n);
    return 0;
}

int c360_norm_email(const char *in, size_t n, strbuf *out)
{
    trim(&in, &n);
    if (!n || n > 254) return -1;
    const char *at = memchr(in, '@', n);
    if (!at || at == in || at == in + n - 1 || memchr(at + 1, '@', (size_t)(in + n - at - 1))) return -1;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)in[i]) || (unsigned char)in[i] < 0x20) return -1;
    size_t start = out->len;
    sb_add(out, in, n);
    for (size_t i = start; i < out->len; i++) out->buf[i] = (char)tolower((unsigned char)out->buf[i]);
    return 0;
}

int c360_norm_phone(const char *in, size_t n, const char *cc, strbuf *out)
{
    trim(&in, &n);
    char d[32];
    size_t nd = 0;
    int plus = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c >= '0' && c <= '9') {
            if (nd >= sizeof d - 1) return -1;
            d[nd++] = c;
        } else if (c == '+' && nd == 0) {
            plus = 1;
        } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/') {
            continue;
        } else if ((c == 'x' || c == 'X' || c == '#') && nd > 0) {
            break; /* extension: not part of the number */
        } else {
            return -1;
        }
    }
    d[nd] = 0;
    const char *p = d;
    strbuf tmp = STRBUF_INIT;
    if (plus) {
        sb_adds(&tmp, p);
    } else if (nd > 2 && p[0] == '0' && p[1] == '0') {
        sb_adds(&tmp, p + 2);            /* 00 international prefix */
    } else if (nd > 1 && p[0] == '0') {
        sb_adds(&tmp, cc);               /* national trunk prefix 0 */
        sb_adds(&tmp, p + 1);
    } else if (nd <= 10) {
        sb_adds(&tmp, cc);               /* national number without trunk prefix */
        sb_adds(&tmp, p);
    } else {
        sb_adds(&tmp, p);                /* already carries its country code */
    }
    int ok = tmp.len >= 8 && tmp.len <= 15;
    if (ok) sb_add(out, tmp.buf, tmp.len);
    sb_release(&tmp);
    return ok ? 0 : -1;
}

int c360_norm_type(const char *in, size_t n, char *out)
{
    trim(&in, &n);
    if (!n || n > C360_MAX_ID_TYPE) return -1;
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)in[i]);
        if (c == ' ' || c == '-') c = '_';
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return -1;
        out[i] = c;
    }
    out[n] = 0;
    if (!strcmp(out, "userid")) strcpy(out, "user_id");
    else if (!strcmp(out, "anonymousid")) strcpy(out, "anonymous_id");
    return 0;
}

int c360_norm_value(const c360_id_rules *r, const char *type, const char *in, size_t n, strbuf *out)
{
    if (!strcmp(type, "email")) return c360_norm_email(in, n, out);
    if (!strcmp(type, "phone")) return c360_norm_phone(in, n, r->cc, out);
    return c360_norm_plain(in, n, out);
}

int c360_id_blocked(const c360_id_rules *r, const char *value)
{
    for (int i = 0; i < r->nblocked; i++)
        if (!strcasecmp(r->blocked[i], value)) return 1;
    for (int i = 0; i < r->npatterns; i++)
        if (regexec(&r->patterns[i], value, 0, NULL, 0) == 0) return 1;
    return 0;
}

void c360_id_hash(c360_id *id, const unsigned char secret[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, secret, 32, 16);
    crypto_generichash_update(&st, (const unsigned char *)id->type, strlen(id->type) + 1);
    crypto_generichash_update(&st, (const unsigned char *)id->value, strlen(id->value));
    crypto_generichash_final(&st, id->hash, 16);
}

void c360_id_release(c360_id *id)
{
    free(id->value);
    id->value = NULL;
}

int c360_id_prio(const c360_id_rules *r, const char *type)
{
    for (int i = 0; i < r->nt; i++)
        if (!strcmp(r->t[i].type, type) && r->t[i].prio >= 0) return r->t[i].prio;
    return r->other_prio;
}

int c360_id_limit(const c360_id_rules *r, const char *type)
{
    for (int i = 0; i < r->nt; i++)
        if (!strcmp(r->t[i].type, type) && r->t[i].limit >= 0) return r->t[i].limit;
    return r->other_limit;
}

static int slot(c360_id_rules *r, const char *type)
{
    for (int i = 0; i < r->nt; i++)
        if (!strcmp(r->t[i].type, type)) return i;
    if (r->nt == 32) return -1;
    snprintf(r->t[r->nt].type, sizeof r->t[r->nt].type, "%s", type);
    r->t[r->nt].prio = r->t[r->nt].limit = -1;
    return r->nt++;
}

/* Splits a `sep`-separated list; calls fn on each trimmed item (empty ones too when keep_empty). */
static int each_item_sep(const char *list, char sep, int keep_empty, int (*fn)(void *, const char *, size_t), void *arg)
{
    const char *p = list;
    for (;;) {
        const char *c = strchr(p, sep);
        size_t n = c ? (size_t)(c - p) : strlen(p);
        const char *s = p;
        trim(&s, &n);
        if ((n || keep_empty) && fn(arg, s, n)) return -1;
        if (!c) return 0;
        p = c + 1;
    }
}

typedef struct { c360_id_rules *r; char *err; size_t errlen; int idx; } rctx;

static int each_item(const char *list, int keep_empty, int (*fn)(void *, const char *, size_t), void *arg)
{
    return each_item_sep(list, ',', keep_empty, fn, arg);
}

static int add_prio(void *a, const char *s, size_t n)
{
    rctx *x = a;
    char t[C360_MAX_ID_TYPE + 1];
    if (n == 1 && *s == '*') { x->r->other_prio = x->idx++; return 0; }
    if (c360_norm_type(s, n, t)) { snprintf(x->err, x->errlen, "identity.priority: bad type '%.*s'", (int)n, s); return -1; }
    int i = slot(x->r, t);
    if (i < 0) { snprintf(x->err, x->errlen, "identity.priority: too many types"); return -1; }
    x->r->t[i].prio = x->idx++;
    return 0;
}

static int add_limit(void *a, const char *s, size_t n)
{
    rctx *x = a;
    const char *eq = memchr(s, '=', n);
    if (!eq) { snprintf(x->err, x->errlen, "identity.limits: expected TYPE=N, got '%.*s'", (int)n, s); return -1; }
    int lim = atoi(eq + 1);
    if (lim < 1) { snprintf(x->err, x->errlen, "identity.limits: limit must be >= 1 in '%.*s'", (int)n, s); return -1; }
    size_t tn = (size_t)(eq - s);
    if (tn == 1 && *s == '*') { x->r->other_limit = lim; return 0; }
    char t[C360_MAX_ID_TYPE + 1];
    if (c360_norm_type(s, tn, t)) { snprintf(x->err, x->errlen, "identity.limits: bad type '%.*s'", (int)tn, s); return -1; }
    int i = slot(x->r, t);
    if (i < 0) { snprintf(x->err, x->errlen, "identity.limits: too many types"); return -1; }
    x->r->t[i].limit = lim;
    return 0;
}

static int add_blocked(void *a, const char *s, size_t n)
{
    rctx *x = a;
    x->r->blocked = xrealloc(x->r->blocked, sizeof(char *) * (size_t)(x->r->nblocked + 1));
    x->r->blocked[x->r->nblocked++] = xstrndup(s, n);
    return 0;
}

/* glibc's regcomp needs time and memory exponential in stacked repetition operators ("a+++"),
 * so such patterns (and very long ones) are refused instead of stalling the server's start */
static int pattern_safe(const char *s, size_t n)
{
    if (n > 256) return 0;
    int prev_rep = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') { i++; prev_rep = 0; continue; }
        int rep = c == '*' || c == '+' || c == '?' || c == '{';
        if (rep && prev_rep) return 0;
        if (c == '{') {
            while (i < n && s[i] != '}') i++;
        }
        prev_rep = rep;
    }
    return 1;
}

static int add_pattern(void *a, const char *s, size_t n)
{
    rctx *x = a;
    if (!pattern_safe(s, n)) {
        snprintf(x->err, x->errlen, "identity.blocked_patterns: '%.*s' is too long or stacks repetition operators", (int)(n > 60 ? 60 : n), s);
        return -1;
    }
    char *pat = xstrndup(s, n);
    x->r->patterns = xrealloc(x->r->patterns, sizeof(regex_t) * (size_t)(x->r->npatterns + 1));
    int rc = regcomp(&x->r->patterns[x->r->npatterns], pat, REG_EXTENDED | REG_NOSUB | REG_ICASE);
    if (rc) {
        snprintf(x->err, x->errlen, "identity.blocked_patterns: invalid regex '%s'", pat);
        free(pat);
        return -1;
    }
    free(pat);
    x->r->npatterns++;
    return 0;
}

int c360_id_rules_init(c360_id_rules *r, const c360_config *c, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->other_prio = 1000;
    r->other_limit = 5;
    r->max_identities = (int)c->id_max_identities;
    r->max_merges = (int)c->id_max_merges;
    snprintf(r->cc, sizeof r->cc, "%s", c->phone_country_code);
    for (const char *p = r->cc; *p; p++)
        if (*p < '0' || *p > '9') { snprintf(err, errlen, "phone_country_code must be digits"); return -1; }
    rctx x = {r, err, errlen, 0};
    if (each_item(c->id_priority, 0, add_prio, &x) || each_item(c->id_limits, 0, add_limit, &x) ||
        each_item(c->id_blocked_values, 1, add_blocked, &x) || each_item_sep(c->id_blocked_patterns, '\n', 0, add_pattern, &x)) {
        c360_id_rules_release(r);
        return -1;
    }
    return 0;
}

void c360_id_rules_release(c360_id_rules *r)
{
    for (int i = 0; i < r->nblocked; i++) free(r->blocked[i]);
    free(r->blocked);
    for (int i = 0; i < r->npatterns; i++) regfree(&r->patterns[i]);
    free(r->patterns);
    memset(r, 0, sizeof *r);
}
