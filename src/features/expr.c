/* expr.c -- the small expression language of segments and feature filters.
 *
 *   expr    := or ;  or := and ("or" and)* ;  and := not ("and" not)* ;  not := "not" not | cmp
 *   cmp     := value [("==" | "!=" | "<" | "<=" | ">" | ">=") value]
 *   value   := "(" expr ")" | number | "string" | 'string' | true | false | null | path
 *   path    := name ("." name)*          e.g. features.lifetime_spend, traits.plan, properties.price
 *
 * Semantics: numbers compare numerically, strings bytewise, booleans and null only with == / !=;
 * a comparison between different types is false (except !=, which is true). A missing path is
 * null. A bare value is true when it is true, a non-zero number or a non-empty string.
 * Kept here, separate from its users, because both segments and feature `where` filters need it. */
#include "features/fint.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { X_OR, X_AND, X_NOT, X_CMP, X_LIT, X_PATH };
enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct fexpr {
    int kind, op;
    fexpr *a, *b;
    fv_type lt;     /* literal */
    double num;
    char *s;        /* literal string or path */
};

typedef struct { const char *p; char *err; size_t errlen; int bad; } px;

static void skipws(px *x) { while (isspace((unsigned char)*x->p)) x->p++; }
static int word(px *x, const char *w)
{
    skipws(x);
    size_t n = strlen(w);
    if (strncmp(x->p, w, n) || isalnum((unsigned char)x->p[n]) || x->p[n] == '_') return 0;
    x->p += n;
    return 1;
}
static fexpr *node(int kind) { fexpr *e = xcalloc(1, sizeof *e); e->kind = kind; return e; }
static void fail(px *x, const char *what)
{
    if (!x->bad) snprintf(x->err, x->errlen, "%s at '%.20s'", what, x->p);
    x->bad = 1;
}
static fexpr *p_or(px *x);

static fexpr *p_value(px *x)
{
    skipws(x);
    const char *p = x->p;
    if (*p == '(') {
        x->p++;
        fexpr *e = p_or(x);
        skipws(x);
        if (*x->p != ')') { fail(x, "expected ')'"); fexpr_free(e); return NULL; }
        x->p++;
        return e;
    }
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        strbuf sb = STRBUF_INIT;
        while (*p && *p != q) {
            if (*p == '\\' && p[1]) p++;
            sb_addc(&sb, *p++);
        }
        if (*p != q) { sb_release(&sb); fail(x, "unterminated string"); return NULL; }
        x->p = p + 1;
        fexpr *e = node(X_LIT);
        e->lt = FV_STR;
        e->s = sb_detach(&sb, NULL);
        return e;
    }
    if (isdigit((unsigned char)*p) || ((*p == '-' || *p == '.') && (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
        char *end;
        double v = strtod(p, &end);
        if (end == p) { fail(x, "bad number"); return NULL; }
        x->p = end;
        fexpr *e = node(X_LIT);
        e->lt = FV_NUM;
        e->num = v;
        return e;
    }
    if (word(x, "true") || word(x, "false")) {
        fexpr *e = node(X_LIT);
        e->lt = FV_BOOL;
        e->num = x->p[-1] == 'e' && x->p[-2] == 'u';
        return e;
    }
    if (word(x, "null")) { fexpr *e = node(X_LIT); e->lt = FV_NULL; return e; }
    if (isalpha((unsigned char)*p) || *p == '_') {
        const char *s = p;
        while (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '$' || *p == '-') p++;
        size_t wl = (size_t)(p - s);
        if ((wl == 3 && (!memcmp(s, "and", 3) || !memcmp(s, "not", 3))) || (wl == 2 && !memcmp(s, "or", 2))) {
            fail(x, "expected a value");
            return NULL;
        }
        x->p = p;
        fexpr *e = node(X_PATH);
        e->s = xstrndup(s, (size_t)(p - s));
        return e;
    }
    fail(x, "expected a value");
    return NULL;
}

static fexpr *p_cmp(px *x)
{
    fexpr *a = p_value(x);
    if (!a) return NULL;
    skipws(x);
    static const struct { const char *s; int op; } ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE},
                                                            {"<", OP_LT}, {">", OP_GT}, {"=", OP_EQ}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].s);
        if (!strncmp(x->p, ops[i].s, n)) {
            x->p += n;
            fexpr *b = p_value(x);
            if (!b) { fexpr_free(a); return NULL; }
            fexpr *e = node(X_CMP);
            e->op = ops[i].op;
            e->a = a;
            e->b = b;
            return e;
        }
    }
    return a;
}

static fexpr *p_not(px *x)
{
    if (word(x, "not")) {
        fexpr *a = p_not(x);
        if (!a) return NULL;
        fexpr *e = node(X_NOT);
        e->a = a;
        return e;
    }
    return p_cmp(x);
}

static fexpr *p_and(px *x)
{
    fexpr *a = p_not(x);
    while (a && word(x, "and")) {
        fexpr *b = p_not(x);
        if (!b) { fexpr_free(a); return NULL; }
        fexpr *e = node(X_AND);
        e->a = a;
        e->b = b;
        a = e;
    }
    return a;
}

static fexpr *p_or(px *x)
{
    fexpr *a = p_and(x);
    while (a && word(x, "or")) {
        fexpr *b = p_and(x);
        if (!b) { fexpr_free(a); return NULL; }
        fexpr *e = node(X_OR);
        e->a = a;
        e->b = b;
        a = e;
    }
    return a;
}

fexpr *fexpr_parse(const char *src, char *err, size_t errlen)
{
    px x = {.p = src, .err = err, .errlen = errlen};
    fexpr *e = p_or(&x);
    skipws(&x);
    if (e && *x.p) {
        fail(&x, "unexpected text");
        fexpr_free(e);
        return NULL;
    }
    if (!e && !x.bad) fail(&x, "empty expression");
    return e;
}

void fexpr_free(fexpr *e)
{
    if (!e) return;
    fexpr_free(e->a);
    fexpr_free(e->b);
    free(e->s);
    free(e);
}

static void value(const fexpr *e, fexpr_lookup lk, void *arg, fval *v)
{
    if (e->kind == X_LIT) {
        *v = (fval){.t = e->lt, .num = e->num, .s = e->s, .sl = e->s ? strlen(e->s) : 0};
    } else if (e->kind == X_PATH) {
        *v = (fval){.t = FV_NULL};
        if (!lk(arg, e->s, v)) *v = (fval){.t = FV_NULL};
    } else {
        *v = (fval){.t = FV_BOOL, .num = fexpr_eval(e, lk, arg)};
    }
}

static int truthy(const fval *v)
{
    switch (v->t) {
    case FV_NUM: case FV_BOOL: return v->num != 0;
    case FV_STR: return v->sl > 0;
    default: return 0;
    }
}

static int cmp_vals(int op, const fval *a, const fval *b)
{
    if (a->t != b->t) return op == OP_NE;
    int c;
    if (a->t == FV_NUM) c = a->num < b->num ? -1 : a->num > b->num;
    else if (a->t == FV_STR) {
        size_t n = a->sl < b->sl ? a->sl : b->sl;
        c = n ? memcmp(a->s, b->s, n) : 0;
        if (!c) c = a->sl < b->sl ? -1 : a->sl > b->sl;
    } else if (a->t == FV_BOOL) {
        c = (a->num != 0) - (b->num != 0);
        if (op != OP_EQ && op != OP_NE) return 0;
    } else {
        c = 0;
        if (op != OP_EQ && op != OP_NE) return 0;
    }
    switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    default: return c >= 0;
    }
}

int fexpr_eval(const fexpr *e, fexpr_lookup lk, void *arg)
{
    switch (e->kind) {
    case X_OR: return fexpr_eval(e->a, lk, arg) || fexpr_eval(e->b, lk, arg);
    case X_AND: return fexpr_eval(e->a, lk, arg) && fexpr_eval(e->b, lk, arg);
    case X_NOT: return !fexpr_eval(e->a, lk, arg);
    case X_CMP: {
        fval a, b;
        value(e->a, lk, arg, &a);
        char *own = NULL;   /* the lookup of b may reuse a's scratch memory */
        if (a.t == FV_STR) a.s = own = xstrndup(a.s, a.sl);
        value(e->b, lk, arg, &b);
        int r = cmp_vals(e->op, &a, &b);
        free(own);
        return r;
    }
    default: {
        fval v;
        value(e, lk, arg, &v);
        return truthy(&v);
    }
    }
}

void fval_from_json(const c360_json *j, int tok, strbuf *scratch, fval *out)
{
    *out = (fval){.t = FV_NULL};
    if (tok < 0) return;
    if (j->tok[tok].type == CJ_STRING) {
        size_t off = scratch->len;
        c360_json_str(j, tok, scratch);
        sb_addc(scratch, 0);
        /* scratch may move later: callers copy or use at once; we keep offsets stable by
         * never growing scratch during one comparison (see lookup users) */
        out->t = FV_STR;
        out->s = scratch->buf + off;
        out->sl = scratch->len - off - 1;
    } else if (c360_json_is_number(j, tok)) {
        out->t = FV_NUM;
        c360_json_num(j, tok, &out->num);
    } else if (c360_json_is_bool(j, tok)) {
        out->t = FV_BOOL;
        out->num = c360_json_true(j, tok);
    }
}

int fjson_path(const c360_json *j, int root, const char *path)
{
    int cur = root;
    const char *p = path;
    while (cur >= 0 && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (j->tok[cur].type != CJ_OBJECT) return -1;
        cur = c360_json_getn(j, cur, p, n);
        p = dot ? dot + 1 : p + n;
    }
    return cur;
}
