/* mapping.c -- ingest mappings: foreign records -> Segment event JSON text (see mapping.h; the
 * YAML shape is documented with examples in docs/SOURCES.md).
 *
 * Owns: reading the `mappings:` section (libyaml's document API), the compiled form of a mapping,
 * and applying it to one JSON record. It never builds a c360_event itself: its output is Segment
 * JSON text that the caller passes to c360_segment_parse_one, so every source -- Kafka, CDC,
 * webhooks, bulk loads -- goes through the one validation funnel of HTTP ingest.
 * Why a compiled form: paths are split and tables built once at load; apply is then a walk over
 * the record's jsmn tokens, cheap enough for the Kafka hot path and safe to share between threads
 * (nothing is mutated after load). */
#include "sources/mapping.h"
#include "sources/event.h"
#include "util/clock.h"
#include "util/json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <yaml.h>

/* ---------------------------------------------------------------- compiled form */

typedef struct { char **seg; int n; char *text; } mpath;          /* dotted path, split */
typedef struct { char *from, *to; } vpair;

typedef struct {             /* a string result: constant, or field (+ value table, default) */
    char *constant;
    mpath field;
    vpair *table;
    int ntable;
    char *def;
} sspec;

enum { AS_RAW, AS_STRING, AS_NUMBER, AS_INTEGER, AS_BOOL, AS_JSON };
enum { BASE_ABS, BASE_PROPS, BASE_TRAITS };

typedef struct {             /* one value copied into the output event */
    int base;                /* target relative to: the event, properties, traits */
    mpath target, src;
    int as;
    char *split;             /* string -> array of parts */
    char *each;              /* array -> array of {each: element} */
    char *def_json;          /* used when the source is missing */
} fspec;

typedef struct { char *type; mpath src; } idspec;
typedef struct { mpath target; char *json; } cspec;

enum { F_EQ, F_IN, F_PREFIX, F_EXISTS, F_NOT, F_ANY, F_ALL };
typedef struct filt {
    int kind;
    mpath field;
    char **vals;
    int nvals;
    int exists;
    struct filt *sub;        /* not: one; any, all: nsub */
    int nsub;
} filt;

enum { T_AUTO, T_ISO, T_EPOCH_S, T_EPOCH_MS, T_PATTERN };

struct c360_mapping {
    char *name;
    sspec type, event;
    idspec *ids;
    int nids;
    int has_time, time_required, tfmt;
    mpath time;
    char *tpattern;
    mpath msgid;
    char *msgid_prefix;
    fspec *fields;
    int nfields;
    cspec *consts;
    int nconsts;
    filt *filters;
    int nfilters;
};

struct c360_mappings {
    c360_mapping *m;
    int n;
};

static void path_free(mpath *p)
{
    for (int i = 0; i < p->n; i++) free(p->seg[i]);
    free(p->seg);
    free(p->text);
    memset(p, 0, sizeof *p);
}

static void path_set(mpath *p, const char *s)
{
    path_free(p);
    p->text = xstrdup(s);
    if (!*s || !strcmp(s, ".")) return;   /* the whole record (or element) */
    const char *a = s;
    for (;;) {
        const char *dot = strchr(a, '.');
        size_t n = dot ? (size_t)(dot - a) : strlen(a);
        p->seg = xrealloc(p->seg, sizeof *p->seg * (size_t)(p->n + 1));
        p->seg[p->n++] = xstrndup(a, n);
        if (!dot) break;
        a = dot + 1;
    }
}

static void sspec_free(sspec *s)
{
    free(s->constant);
    path_free(&s->field);
    for (int i = 0; i < s->ntable; i++) { free(s->table[i].from); free(s->table[i].to); }
    free(s->table);
    free(s->def);
}

static void filt_free(filt *f)
{
    path_free(&f->field);
    for (int i = 0; i < f->nvals; i++) free(f->vals[i]);
    free(f->vals);
    for (int i = 0; i < f->nsub; i++) filt_free(&f->sub[i]);
    free(f->sub);
}

static void mapping_free(c360_mapping *m)
{
    free(m->name);
    sspec_free(&m->type);
    sspec_free(&m->event);
    for (int i = 0; i < m->nids; i++) { free(m->ids[i].type); path_free(&m->ids[i].src); }
    free(m->ids);
    path_free(&m->time);
    free(m->tpattern);
    path_free(&m->msgid);
    free(m->msgid_prefix);
    for (int i = 0; i < m->nfields; i++) {
        path_free(&m->fields[i].target);
        path_free(&m->fields[i].src);
        free(m->fields[i].split);
        free(m->fields[i].each);
        free(m->fields[i].def_json);
    }
    free(m->fields);
    for (int i = 0; i < m->nconsts; i++) { path_free(&m->consts[i].target); free(m->consts[i].json); }
    free(m->consts);
    for (int i = 0; i < m->nfilters; i++) filt_free(&m->filters[i]);
    free(m->filters);
}

void c360_mappings_free(c360_mappings *ms)
{
    if (!ms) return;
    for (int i = 0; i < ms->n; i++) mapping_free(&ms->m[i]);
    free(ms->m);
    free(ms);
}

const c360_mapping *c360_mappings_find(const c360_mappings *ms, const char *name)
{
    if (!ms || !name) return NULL;
    for (int i = 0; i < ms->n; i++)
        if (!strcmp(ms->m[i].name, name)) return &ms->m[i];
    return NULL;
}

const char *c360_mapping_name(const c360_mapping *m) { return m->name; }
int c360_mappings_count(const c360_mappings *ms) { return ms ? ms->n : 0; }
const c360_mapping *c360_mappings_at(const c360_mappings *ms, int i) { return ms && i >= 0 && i < ms->n ? &ms->m[i] : NULL; }

/* ---------------------------------------------------------------- YAML reading */

typedef struct {
    yaml_document_t *doc;
    const char *mname;
    char *err;
    size_t errlen;
} ld;

static int lerr(ld *L, yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int lerr(ld *L, yaml_node_t *n, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(L->err, L->errlen, "mapping '%s' (line %zu): %s", L->mname ? L->mname : "?", n ? n->start_mark.line + 1 : 0, msg);
    return -1;
}

static int is_scalar(yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }
static const char *sval(yaml_node_t *n) { return (const char *)n->data.scalar.value; }

/* plain YAML scalars that read as JSON literals stay literals; everything else becomes a string */
static void scalar_json(yaml_node_t *n, strbuf *out)
{
    const char *v = sval(n);
    size_t len = n->data.scalar.length;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && len) {
        if (!strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "null")) { sb_add(out, v, len); return; }
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (*end == 0 && errno == 0 && isfinite(d) && (isdigit((unsigned char)v[0]) || v[0] == '-') && !strpbrk(v, "xXpP") &&
            !(v[0] == '0' && len > 1 && isdigit((unsigned char)v[1]))) {
            sb_add(out, v, len);
            return;
        }
    }
    c360_json_put_str(out, v, len);
}

/* iterate a mapping node: for (pair..) */
#define FOR_PAIRS(doc, node, kp, vp)                                                                                    \
    for (yaml_node_pair_t *pr_##kp = (node)->data.mapping.pairs.start; pr_##kp < (node)->data.mapping.pairs.top; pr_##kp++)     \
        for (yaml_node_t *kp = yaml_document_get_node((doc), pr_##kp->key), *vp = yaml_document_get_node((doc), pr_##kp->value), \
                         *once_##kp = kp;                                                                                   \
             once_##kp; once_##kp = NULL)

static int read_sspec(ld *L, yaml_node_t *n, sspec *s, const char *what)
{
    if (is_scalar(n)) { free(s->constant); s->constant = xstrdup(sval(n)); return 0; }
    if (!n || n->type != YAML_MAPPING_NODE) return lerr(L, n, "'%s' must be a string or a mapping {field, values, default}", what);
    FOR_PAIRS(L->doc, n, k, v) {
        if (!is_scalar(k)) return lerr(L, k, "bad key in '%s'", what);
        const char *key = sval(k);
        if (!strcmp(key, "field") && is_scalar(v)) path_set(&s->field, sval(v));
        else if (!strcmp(key, "default") && is_scalar(v)) { free(s->def); s->def = xstrdup(sval(v)); }
        else if (!strcmp(key, "constant") && is_scalar(v)) { free(s->constant); s->constant = xstrdup(sval(v)); }
        else if (!strcmp(key, "values") && v->type == YAML_MAPPING_NODE) {
            FOR_PAIRS(L->doc, v, tk, tv) {
                if (!is_scalar(tk) || !is_scalar(tv)) return lerr(L, tk, "'%s.values' maps strings to strings", what);
                s->table = xrealloc(s->table, sizeof *s->table * (size_t)(s->ntable + 1));
                s->table[s->ntable].from = xstrdup(sval(tk));
                s->table[s->ntable++].to = xstrdup(sval(tv));
            }
        } else return lerr(L, k, "unknown or malformed key '%s' in '%s' (field, values, default, constant)", key, what);
    }
    if (!s->constant && !s->field.text) return lerr(L, n, "'%s' needs a 'field' or a 'constant'", what);
    return 0;
}

static int parse_as(const char *s)
{
    static const char *names[] = {"raw", "string", "number", "integer", "boolean", "json"};
    for (int i = 0; i < 6; i++)
        if (!strcmp(s, names[i])) return i;
    if (!strcmp(s, "bool")) return AS_BOOL;
    return -1;
}

/* a target names a place in the event: "" and "." (the whole record as a source) would replace
 * the whole event (or its properties, its traits) with one value */
static int bad_target(yaml_node_t *k) { return !is_scalar(k) || !k->data.scalar.length || !strcmp(sval(k), "."); }

static int read_fields(ld *L, c360_mapping *m, yaml_node_t *n, int base, const char *what)
{
    if (n->type != YAML_MAPPING_NODE) return lerr(L, n, "'%s' must be a mapping of target: source", what);
    FOR_PAIRS(L->doc, n, k, v) {
        if (bad_target(k)) return lerr(L, k, "bad target in '%s' (a dotted path; not empty, not '.')", what);
        m->fields = xrealloc(m->fields, sizeof *m->fields * (size_t)(m->nfields + 1));
        fspec *f = &m->fields[m->nfields++];
        memset(f, 0, sizeof *f);
        f->base = base;
        path_set(&f->target, sval(k));
        if (is_scalar(v)) { path_set(&f->src, sval(v)); continue; }
        if (v->type != YAML_MAPPING_NODE) return lerr(L, v, "'%s.%s' must be a path or {field, as, split, each, default}", what, sval(k));
        int have_src = 0;
        FOR_PAIRS(L->doc, v, fk, fv) {
            const char *key = is_scalar(fk) ? sval(fk) : "";
            if (!is_scalar(fv)) return lerr(L, fv, "'%s.%s.%s' must be a scalar", what, sval(k), key);
            if (!strcmp(key, "field") || !strcmp(key, "path")) { path_set(&f->src, sval(fv)); have_src = 1; }
            else if (!strcmp(key, "as")) {
                if ((f->as = parse_as(sval(fv))) < 0)
                    return lerr(L, fv, "'as' must be string, number, integer, boolean, json or raw (got '%s')", sval(fv));
            } else if (!strcmp(key, "split")) { free(f->split); f->split = xstrdup(sval(fv)); }
            else if (!strcmp(key, "each")) { free(f->each); f->each = xstrdup(sval(fv)); }
            else if (!strcmp(key, "default")) {
                strbuf d = STRBUF_INIT;
                scalar_json(fv, &d);
                free(f->def_json);
                f->def_json = sb_detach(&d, NULL);
            } else return lerr(L, fk, "unknown key '%s' in '%s.%s' (field, as, split, each, default)", key, what, sval(k));
        }
        if (!have_src) return lerr(L, v, "'%s.%s' needs a 'field'", what, sval(k));
        if (f->split && !*f->split) return lerr(L, v, "'split' must not be empty");
    }
    return 0;
}

#define FILTER_DEPTH 16   /* not/any/all nest at most this deep (reading and applying recurse) */

static int read_filter(ld *L, yaml_node_t *n, filt *f, int depth);

/* A list of filters (a single mapping is a list of one) appended to *fs. */
static int read_filters(ld *L, yaml_node_t *v, const char *what, filt **fs, int *n, int depth)
{
    if (v && v->type == YAML_MAPPING_NODE) {
        *fs = xrealloc(*fs, sizeof **fs * (size_t)(*n + 1));
        memset(&(*fs)[*n], 0, sizeof **fs);
        return read_filter(L, v, &(*fs)[(*n)++], depth);
    }
    if (!v || v->type != YAML_SEQUENCE_NODE) return lerr(L, v, "'%s' is a list of filters", what);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        *fs = xrealloc(*fs, sizeof **fs * (size_t)(*n + 1));
        filt *f = &(*fs)[(*n)++];
        memset(f, 0, sizeof *f);
        if (read_filter(L, yaml_document_get_node(L->doc, *it), f, depth)) return -1;
    }
    return 0;
}

static int read_filter(ld *L, yaml_node_t *n, filt *f, int depth)
{
    if (depth > FILTER_DEPTH) return lerr(L, n, "filters nest at most %d deep (not, any, all)", FILTER_DEPTH);
    if (!n || n->type != YAML_MAPPING_NODE)
        return lerr(L, n, "a filter is a mapping: {field, equals|in|prefix|exists}, {not: filter}, {any: [filters]} or {all: [filters]}");
    f->kind = -1;
    FOR_PAIRS(L->doc, n, k, v) {
        const char *key = is_scalar(k) ? sval(k) : "";
        if (f->kind >= 0 && strcmp(key, "field"))
            return lerr(L, k, "a filter has one test; '%s' is a second (combine filters with any/all)", key);
        if (!strcmp(key, "field") && is_scalar(v)) path_set(&f->field, sval(v));
        else if ((!strcmp(key, "equals") || !strcmp(key, "prefix")) && is_scalar(v)) {
            f->kind = key[0] == 'e' ? F_EQ : F_PREFIX;
            f->vals = xcalloc(1, sizeof *f->vals);
            f->vals[f->nvals++] = xstrdup(sval(v));
        } else if (!strcmp(key, "in") && v->type == YAML_SEQUENCE_NODE) {
            f->kind = F_IN;
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                yaml_node_t *e = yaml_document_get_node(L->doc, *it);
                if (!is_scalar(e)) return lerr(L, e, "'in' takes a list of strings");
                f->vals = xrealloc(f->vals, sizeof *f->vals * (size_t)(f->nvals + 1));
                f->vals[f->nvals++] = xstrdup(sval(e));
            }
        } else if (!strcmp(key, "exists") && is_scalar(v)) {
            f->kind = F_EXISTS;
            f->exists = strcmp(sval(v), "false") && strcmp(sval(v), "no");
        } else if (!strcmp(key, "not")) {
            f->kind = F_NOT;
            f->sub = xcalloc(1, sizeof *f->sub);
            f->nsub = 1;
            if (read_filter(L, v, f->sub, depth + 1)) return -1;
        } else if (!strcmp(key, "any") || !strcmp(key, "all")) {
            f->kind = key[1] == 'n' ? F_ANY : F_ALL;
            if (read_filters(L, v, key, &f->sub, &f->nsub, depth + 1)) return -1;
            if (!f->nsub) return lerr(L, v, "'%s' needs at least one filter", key);
        } else return lerr(L, k, "unknown or malformed filter key '%s' (field, equals, in, prefix, exists, not, any, all)", key);
    }
    if (f->kind < 0) return lerr(L, n, "a filter needs one of equals, in, prefix, exists, not, any, all");
    if (f->kind < F_NOT && !f->field.text) return lerr(L, n, "a filter needs a 'field'");
    if (f->kind >= F_NOT && f->field.text) return lerr(L, n, "'field' goes inside the filters of not/any/all");
    return 0;
}

static int read_mapping(ld *L, const char *name, yaml_node_t *n, c360_mapping *m)
{
    m->name = xstrdup(name);
    L->mname = name;
    if (n->type != YAML_MAPPING_NODE) return lerr(L, n, "a mapping must be a YAML mapping");
    m->time_required = 1;
    FOR_PAIRS(L->doc, n, k, v) {
        if (!is_scalar(k)) return lerr(L, k, "bad key");
        const char *key = sval(k);
        if (!strcmp(key, "type")) { if (read_sspec(L, v, &m->type, "type")) return -1; }
        else if (!strcmp(key, "event") || !strcmp(key, "name")) { if (read_sspec(L, v, &m->event, key)) return -1; }
        else if (!strcmp(key, "description") || !strcmp(key, "format")) continue;
        else if (!strcmp(key, "identifiers")) {
            if (v->type != YAML_MAPPING_NODE) return lerr(L, v, "'identifiers' maps an identifier type to a path");
            FOR_PAIRS(L->doc, v, ik, iv) {
                yaml_node_t *src = iv;
                if (iv->type == YAML_MAPPING_NODE) {
                    src = NULL;
                    FOR_PAIRS(L->doc, iv, fk, fv) if (is_scalar(fk) && !strcmp(sval(fk), "field")) src = fv;
                }
                if (!is_scalar(ik) || !is_scalar(src)) return lerr(L, ik, "'identifiers' maps an identifier type to a path");
                const char *t = sval(ik);
                if (!strcmp(t, "userId")) t = "user_id";
                if (!strcmp(t, "anonymousId")) t = "anonymous_id";
                size_t tl = strlen(t);
                if (!tl || tl > 40 || strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != tl)
                    return lerr(L, ik, "identifier type '%s' must be letters, digits and _ (at most 40)", t);
                m->ids = xrealloc(m->ids, sizeof *m->ids * (size_t)(m->nids + 1));
                idspec *id = &m->ids[m->nids++];
                memset(id, 0, sizeof *id);
                id->type = xstrdup(t);
                for (char *c = id->type; *c; c++) *c = (char)tolower((unsigned char)*c);
                path_set(&id->src, sval(src));
            }
        } else if (!strcmp(key, "time") || !strcmp(key, "timestamp")) {
            m->has_time = 1;
            const char *fmt = "auto";
            if (is_scalar(v)) path_set(&m->time, sval(v));
            else if (v->type == YAML_MAPPING_NODE) {
                FOR_PAIRS(L->doc, v, tk, tv) {
                    const char *tkey = is_scalar(tk) ? sval(tk) : "";
                    if (!is_scalar(tv)) return lerr(L, tv, "'time.%s' must be a scalar", tkey);
                    if (!strcmp(tkey, "field")) path_set(&m->time, sval(tv));
                    else if (!strcmp(tkey, "format")) fmt = sval(tv);
                    else if (!strcmp(tkey, "required")) m->time_required = strcmp(sval(tv), "false") && strcmp(sval(tv), "no");
                    else return lerr(L, tk, "unknown key '%s' in 'time' (field, format, required)", tkey);
                }
            } else return lerr(L, v, "'time' must be a path or {field, format, required}");
            if (!m->time.text) return lerr(L, v, "'time' needs a 'field'");
            if (!strcmp(fmt, "auto")) m->tfmt = T_AUTO;
            else if (!strcmp(fmt, "iso8601")) m->tfmt = T_ISO;
            else if (!strcmp(fmt, "epoch_s") || !strcmp(fmt, "epoch")) m->tfmt = T_EPOCH_S;
            else if (!strcmp(fmt, "epoch_ms")) m->tfmt = T_EPOCH_MS;
            else if (strchr(fmt, '%')) { m->tfmt = T_PATTERN; free(m->tpattern); m->tpattern = xstrdup(fmt); }
            else return lerr(L, v, "time format '%s': use auto, iso8601, epoch_s, epoch_ms or a pattern like \"%%Y-%%m-%%d %%H:%%M:%%S\"", fmt);
        } else if (!strcmp(key, "message_id")) {
            if (is_scalar(v)) path_set(&m->msgid, sval(v));
            else if (v->type == YAML_MAPPING_NODE) {
                FOR_PAIRS(L->doc, v, mk, mv) {
                    const char *mkey = is_scalar(mk) ? sval(mk) : "";
                    if (!is_scalar(mv)) return lerr(L, mv, "'message_id.%s' must be a scalar", mkey);
                    if (!strcmp(mkey, "field")) path_set(&m->msgid, sval(mv));
                    else if (!strcmp(mkey, "prefix")) { free(m->msgid_prefix); m->msgid_prefix = xstrdup(sval(mv)); }
                    else return lerr(L, mk, "unknown key '%s' in 'message_id' (field, prefix)", mkey);
                }
                if (!m->msgid.text) return lerr(L, v, "'message_id' needs a 'field'");
            } else return lerr(L, v, "'message_id' must be a path or {field, prefix}");
        } else if (!strcmp(key, "properties")) { if (read_fields(L, m, v, BASE_PROPS, key)) return -1; }
        else if (!strcmp(key, "traits")) { if (read_fields(L, m, v, BASE_TRAITS, key)) return -1; }
        else if (!strcmp(key, "fields")) { if (read_fields(L, m, v, BASE_ABS, key)) return -1; }
        else if (!strcmp(key, "constants")) {
            if (v->type != YAML_MAPPING_NODE) return lerr(L, v, "'constants' maps a target path to a value");
            FOR_PAIRS(L->doc, v, ck, cv) {
                if (!is_scalar(ck) || !is_scalar(cv)) return lerr(L, ck, "'constants' maps a target path to a scalar");
                if (bad_target(ck)) return lerr(L, ck, "bad target in 'constants' (a dotted path; not empty, not '.')");
                m->consts = xrealloc(m->consts, sizeof *m->consts * (size_t)(m->nconsts + 1));
                cspec *c = &m->consts[m->nconsts++];
                memset(c, 0, sizeof *c);
                path_set(&c->target, sval(ck));
                strbuf j = STRBUF_INIT;
                scalar_json(cv, &j);
                c->json = sb_detach(&j, NULL);
            }
        } else if (!strcmp(key, "filters") || !strcmp(key, "filter")) {
            if (read_filters(L, v, key, &m->filters, &m->nfilters, 0)) return -1;
        } else return lerr(L, k, "unknown key '%s' (type, event, identifiers, time, message_id, properties, traits, fields, constants, filters)", key);
    }
    if (!m->type.constant && !m->type.field.text) m->type.constant = xstrdup("track");
    if (m->type.constant && c360_ev_type_parse(m->type.constant, strlen(m->type.constant)) < 0)
        return lerr(L, n, "type '%s' must be one of identify, track, page, screen, group, alias", m->type.constant);
    if (m->type.constant && !strcmp(m->type.constant, "track") && !m->event.constant && !m->event.field.text)
        return lerr(L, n, "a track mapping needs 'event' (a constant or {field, values})");
    if (m->nids == 0) return lerr(L, n, "a mapping needs at least one entry under 'identifiers'");
    return 0;
}

static int load_doc(yaml_document_t *doc, c360_mappings **out, char *err, size_t errlen)
{
    c360_mappings *ms = xcalloc(1, sizeof *ms);
    *out = ms;
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root) return 0;
    if (root->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "config: the top level must be a mapping");
        return -1;
    }
    ld L = {.doc = doc, .err = err, .errlen = errlen};
    FOR_PAIRS(doc, root, k, v) {
        if (!is_scalar(k) || strcmp(sval(k), "mappings")) continue;
        if (v->type == YAML_SCALAR_NODE && v->data.scalar.length == 0) continue;   /* "mappings:" empty */
        if (v->type != YAML_MAPPING_NODE) {
            snprintf(err, errlen, "config: 'mappings' must be a mapping of NAME: {...} (line %zu)", v->start_mark.line + 1);
            return -1;
        }
        FOR_PAIRS(doc, v, mk, mv) {
            if (!is_scalar(mk)) { snprintf(err, errlen, "config: bad mapping name (line %zu)", mk->start_mark.line + 1); return -1; }
            if (c360_mappings_find(ms, sval(mk))) {
                snprintf(err, errlen, "config: mapping '%s' is defined twice", sval(mk));
                return -1;
            }
            ms->m = xrealloc(ms->m, sizeof *ms->m * (size_t)(ms->n + 1));
            c360_mapping *m = &ms->m[ms->n++];
            memset(m, 0, sizeof *m);
            if (read_mapping(&L, sval(mk), mv, m)) return -1;
        }
    }
    return 0;
}

static int load_parser(yaml_parser_t *p, const char *what, c360_mappings **out, char *err, size_t errlen)
{
    yaml_document_t doc;
    *out = NULL;
    if (!yaml_parser_load(p, &doc)) {
        snprintf(err, errlen, "%s: YAML error at line %zu: %s", what, p->problem_mark.line + 1, p->problem ? p->problem : "syntax");
        return -1;
    }
    int rc = load_doc(&doc, out, err, errlen);
    yaml_document_delete(&doc);
    if (rc) { c360_mappings_free(*out); *out = NULL; }
    return rc;
}

int c360_mappings_load(const char *yaml_path, c360_mappings **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!yaml_path) { *out = xcalloc(1, sizeof **out); return 0; }
    FILE *f = fopen(yaml_path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open config file %s: %s", yaml_path, strerror(errno));
        return -1;
    }
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int rc = load_parser(&p, yaml_path, out, err, errlen);
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

int c360_mappings_load_string(const char *yaml, size_t len, c360_mappings **out, char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
    int rc = load_parser(&p, "mappings", out, err, errlen);
    yaml_parser_delete(&p);
    return rc;
}

/* ---------------------------------------------------------------- the output tree */

typedef struct onode {
    char *key;
    char *json;              /* leaf value, or NULL for an object */
    struct onode *kids;
    int nkids;
} onode;

static void onode_clear(onode *n)
{
    for (int i = 0; i < n->nkids; i++) { onode_clear(&n->kids[i]); free(n->kids[i].key); }
    free(n->kids);
    free(n->json);
    n->kids = NULL;
    n->nkids = 0;
    n->json = NULL;
}

static onode *onode_child(onode *n, const char *key, size_t kl)
{
    for (int i = 0; i < n->nkids; i++)
        if (strlen(n->kids[i].key) == kl && !memcmp(n->kids[i].key, key, kl)) return &n->kids[i];
    n->kids = xrealloc(n->kids, sizeof *n->kids * (size_t)(n->nkids + 1));
    onode *c = &n->kids[n->nkids++];
    memset(c, 0, sizeof *c);
    c->key = xstrndup(key, kl);
    return c;
}

/* sets root.<prefix...>.<segs...> = json (takes ownership of json) */
static void oset(onode *root, const char *prefix, const mpath *p, char *json)
{
    onode *n = root;
    if (prefix) {
        for (const char *a = prefix;;) {
            const char *dot = strchr(a, '.');
            size_t l = dot ? (size_t)(dot - a) : strlen(a);
            n = onode_child(n, a, l);
            if (n->json) { free(n->json); n->json = NULL; }
            if (!dot) break;
            a = dot + 1;
        }
    }
    for (int i = 0; i < p->n; i++) {
        n = onode_child(n, p->seg[i], strlen(p->seg[i]));
        if (i + 1 < p->n && n->json) { free(n->json); n->json = NULL; }
    }
    onode_clear(n);
    n->json = json;
}

static void oset1(onode *root, const char *dotted, char *json)
{
    mpath none = {0};
    oset(root, dotted, &none, json);
}

static void oemit(const onode *n, strbuf *out)
{
    if (n->json) { sb_adds(out, n->json); return; }
    sb_addc(out, '{');
    for (int i = 0; i < n->nkids; i++) {
        if (i) sb_addc(out, ',');
        c360_json_put_cstr(out, n->kids[i].key);
        sb_addc(out, ':');
        oemit(&n->kids[i], out);
    }
    sb_addc(out, '}');
}

/* ---------------------------------------------------------------- applying */

static int jpath(const c360_json *j, int t, const mpath *p)
{
    for (int i = 0; i < p->n && t >= 0; i++) {
        if (j->tok[t].type == CJ_OBJECT) t = c360_json_get(j, t, p->seg[i]);
        else if (j->tok[t].type == CJ_ARRAY) {
            char *end;
            long idx = strtol(p->seg[i], &end, 10);
            if (*end || !*p->seg[i] || idx < 0 || idx >= j->tok[t].size) return -1;
            int k = t + 1;
            for (long x = 0; x < idx; x++) k = c360_json_skip(j, k);
            t = k;
        } else return -1;
    }
    if (t >= 0 && c360_json_is_null(j, t)) return -1;
    return t;
}

/* text of a scalar token: strings unescaped, primitives raw; -1 for objects/arrays */
static int tok_text(const c360_json *j, int t, strbuf *out)
{
    if (j->tok[t].type == CJ_STRING) return c360_json_str(j, t, out);
    if (j->tok[t].type == CJ_PRIMITIVE) {
        size_t n;
        const char *r = c360_json_raw(j, t, &n);
        sb_add(out, r, n);
        return 0;
    }
    return -1;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_number_text(const char *s, size_t n, double *out)
{
    while (n && isspace((unsigned char)*s)) { s++; n--; }
    while (n && isspace((unsigned char)s[n - 1])) n--;
    if (!n || n > 64) return -1;
    char buf[72];
    memcpy(buf, s, n);
    buf[n] = 0;
    if (strpbrk(buf, "xXpPnN")) return -1;   /* no hex, inf, nan */
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (*end || errno || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

/* Converts text (a string value) per `as`; appends JSON. 1 emitted, 0 empty, -1 bad. */
static int conv_text(const char *s, size_t n, int as, strbuf *out)
{
    double d;
    switch (as) {
    case AS_RAW:
    case AS_STRING:
        c360_json_put_str(out, s, n);
        return 1;
    case AS_NUMBER:
    case AS_INTEGER:
        if (n == 0) return 0;
        if (parse_number_text(s, n, &d)) return -1;
        if (as == AS_INTEGER && (d != floor(d) || fabs(d) > 9007199254740992.0)) return -1;
        c360_json_put_num(out, d);
        return 1;
    case AS_BOOL:
        if (n == 0) return 0;
        if ((n == 4 && !strncasecmp(s, "true", 4)) || (n == 3 && !strncasecmp(s, "yes", 3)) || (n == 1 && (*s == '1' || *s == 't' || *s == 'T' || *s == 'y' || *s == 'Y'))) {
            sb_adds(out, "true");
            return 1;
        }
        if ((n == 5 && !strncasecmp(s, "false", 5)) || (n == 2 && !strncasecmp(s, "no", 2)) || (n == 1 && (*s == '0' || *s == 'f' || *s == 'F' || *s == 'n' || *s == 'N'))) {
            sb_adds(out, "false");
            return 1;
        }
        return -1;
    case AS_JSON: {
        if (n == 0) return 0;
        c360_json j;
        c360_json_init(&j);
        char e[64];
        size_t bad;
        int ok = c360_utf8_valid(s, n, &bad) && c360_json_parse(&j, s, n, e, sizeof e) == 0;
        c360_json_release(&j);
        if (!ok) return -1;
        sb_add(out, s, n);
        return 1;
    }
    }
    return -1;
}

/* Converts the value at token t per `as`; appends JSON. 1 emitted, 0 empty, -1 bad. */
static int conv_tok(const c360_json *j, int t, int as, strbuf *out)
{
    size_t n;
    const char *raw = c360_json_raw(j, t, &n);
    if (j->tok[t].type == CJ_STRING) {
        if (as == AS_RAW) { sb_add(out, raw, n); return 1; }
        strbuf s = STRBUF_INIT;
        c360_json_str(j, t, &s);
        int r = conv_text(s.buf, s.len, as, out);
        sb_release(&s);
        return r;
    }
    switch (as) {
    case AS_RAW:
    case AS_JSON:
        sb_add(out, raw, n);
        return 1;
    case AS_STRING:
        c360_json_put_str(out, raw, n);
        return 1;
    case AS_NUMBER:
    case AS_INTEGER:
        if (!c360_json_is_number(j, t)) return -1;
        if (as == AS_INTEGER) { double d; c360_json_num(j, t, &d); if (d != floor(d)) return -1; }
        sb_add(out, raw, n);
        return 1;
    case AS_BOOL:
        if (c360_json_is_bool(j, t)) { sb_add(out, raw, n); return 1; }
        if (c360_json_is_number(j, t)) { double d; c360_json_num(j, t, &d); sb_adds(out, d != 0 ? "true" : "false"); return 1; }
        return -1;
    }
    return -1;
}

static const char *as_name(int as)
{
    static const char *names[] = {"raw", "string", "number", "integer", "boolean", "json"};
    return names[as];
}

/* The JSON of one field spec into out: 1 emitted, 0 absent, -1 error. */
static int field_value(const c360_json *j, const fspec *f, strbuf *out, char *err, size_t errlen)
{
    int t = jpath(j, 0, &f->src);
    if (t < 0) {
        if (f->def_json) { sb_adds(out, f->def_json); return 1; }
        return 0;
    }
    if (f->split && j->tok[t].type == CJ_STRING) {
        strbuf s = STRBUF_INIT;
        c360_json_str(j, t, &s);
        if (s.len == 0) { sb_release(&s); return f->def_json ? (sb_adds(out, f->def_json), 1) : 0; }
        size_t sl = strlen(f->split);
        sb_addc(out, '[');
        const char *a = s.buf, *end = s.buf + s.len;
        int first = 1, rc = 1;
        for (;;) {
            const char *hit = memmem(a, (size_t)(end - a), f->split, sl);
            const char *pe = hit ? hit : end;
            const char *ps = a;
            while (ps < pe && isspace((unsigned char)*ps)) ps++;
            const char *pz = pe;
            while (pz > ps && isspace((unsigned char)pz[-1])) pz--;
            if (pz > ps) {
                if (!first) sb_addc(out, ',');
                first = 0;
                if (f->each) { sb_addc(out, '{'); c360_json_put_cstr(out, f->each); sb_addc(out, ':'); }
                if (conv_text(ps, (size_t)(pz - ps), f->as == AS_RAW ? AS_STRING : f->as, out) != 1) {
                    rc = fail(err, errlen, "field '%s': part '%.*s' is not a valid %s", f->src.text, (int)(pz - ps > 40 ? 40 : pz - ps), ps, as_name(f->as));
                    break;
                }
                if (f->each) sb_addc(out, '}');
            }
            if (!hit) break;
            a = hit + sl;
        }
        sb_addc(out, ']');
        sb_release(&s);
        return rc;
    }
    if (f->each) {
        if (j->tok[t].type != CJ_ARRAY) return fail(err, errlen, "field '%s' must be a list (or set 'split')", f->src.text);
        sb_addc(out, '[');
        int k = t + 1;
        for (int i = 0; i < j->tok[t].size; i++) {
            if (i) sb_addc(out, ',');
            sb_addc(out, '{');
            c360_json_put_cstr(out, f->each);
            sb_addc(out, ':');
            if (conv_tok(j, k, f->as, out) != 1) return fail(err, errlen, "field '%s': element %d is not a valid %s", f->src.text, i, as_name(f->as));
            sb_addc(out, '}');
            k = c360_json_skip(j, k);
        }
        sb_addc(out, ']');
        return 1;
    }
    size_t before = out->len;
    int r = conv_tok(j, t, f->as, out);
    if (r == 0 && f->def_json) { sb_truncate(out, before); sb_adds(out, f->def_json); return 1; }
    if (r < 0) return fail(err, errlen, "field '%s' is not a valid %s", f->src.text, as_name(f->as));
    return r;
}

/* The string value of a spec: 1 found (in out), 0 none, -1 error. */
static int sspec_value(const c360_json *j, const sspec *s, const char *what, strbuf *out, char *err, size_t errlen)
{
    if (s->constant && !s->field.text) { sb_adds(out, s->constant); return 1; }
    if (!s->field.text) return 0;
    int t = jpath(j, 0, &s->field);
    strbuf v = STRBUF_INIT;
    if (t < 0 || tok_text(j, t, &v) || v.len == 0) {
        sb_release(&v);
        if (s->def) { sb_adds(out, s->def); return 1; }
        if (s->constant) { sb_adds(out, s->constant); return 1; }
        return fail(err, errlen, "%s field '%s' is missing or empty", what, s->field.text);
    }
    if (s->ntable) {
        for (int i = 0; i < s->ntable; i++)
            if (!strcmp(s->table[i].from, v.buf)) { sb_adds(out, s->table[i].to); sb_release(&v); return 1; }
        if (s->def) { sb_adds(out, s->def); sb_release(&v); return 1; }
        int r = fail(err, errlen, "%s: value '%.60s' of field '%s' is not in the mapping's table", what, v.buf, s->field.text);
        sb_release(&v);
        return r;
    }
    sb_add(out, v.buf, v.len);
    sb_release(&v);
    return 1;
}

static int filter_pass(const c360_json *j, const filt *f)
{
    if (f->kind == F_NOT) return !filter_pass(j, f->sub);
    if (f->kind == F_ANY || f->kind == F_ALL) {
        for (int i = 0; i < f->nsub; i++)
            if (filter_pass(j, &f->sub[i]) == (f->kind == F_ANY)) return f->kind == F_ANY;
        return f->kind == F_ALL;
    }
    int t = jpath(j, 0, &f->field);
    if (f->kind == F_EXISTS) return (t >= 0) == f->exists;
    if (t < 0) return 0;
    strbuf v = STRBUF_INIT;
    int ok = 0;
    if (tok_text(j, t, &v) == 0) {
        if (f->kind == F_PREFIX) ok = !strncmp(v.buf, f->vals[0], strlen(f->vals[0]));
        else for (int i = 0; i < f->nvals && !ok; i++) ok = !strcmp(v.buf, f->vals[i]);
    }
    sb_release(&v);
    return ok;
}

static int parse_time(const c360_mapping *m, const c360_json *j, int t, int64_t *ms, char *err, size_t errlen)
{
    strbuf s = STRBUF_INIT;
    int rc = 0;
    double d;
    int is_num = c360_json_is_number(j, t);
    if (tok_text(j, t, &s)) { sb_release(&s); return fail(err, errlen, "time field '%s' must be a string or a number", m->time.text); }
    int fmt = m->tfmt;
    if (fmt == T_AUTO) {
        if (is_num || parse_number_text(s.buf, s.len, &d) == 0) {
            parse_number_text(s.buf, s.len, &d);
            fmt = fabs(d) >= 1e11 ? T_EPOCH_MS : T_EPOCH_S;
        } else fmt = T_ISO;
    }
    switch (fmt) {
    case T_ISO:
        if (c360_time_parse(s.buf, s.len, ms)) rc = fail(err, errlen, "time field '%s': '%.40s' is not an ISO-8601 time", m->time.text, s.buf);
        break;
    case T_EPOCH_S:
    case T_EPOCH_MS:
        if (parse_number_text(s.buf, s.len, &d) || fabs(d) > 1e16) { rc = fail(err, errlen, "time field '%s': '%.40s' is not an epoch number", m->time.text, s.buf); break; }
        *ms = (int64_t)llround(fmt == T_EPOCH_S ? d * 1000.0 : d);
        break;
    case T_PATTERN: {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(s.buf, m->tpattern, &tm);
        int frac = 0;
        if (end && *end == '.' && isdigit((unsigned char)end[1])) {
            end++;
            int digits = 0;
            while (isdigit((unsigned char)*end)) { if (digits < 3) frac = frac * 10 + (*end - '0'); digits++; end++; }
            while (digits < 3) { frac *= 10; digits++; }
        }
        while (end && isspace((unsigned char)*end)) end++;
        if (!end || *end) { rc = fail(err, errlen, "time field '%s': '%.40s' does not match \"%s\"", m->time.text, s.buf, m->tpattern); break; }
        long gmtoff = tm.tm_gmtoff;
        int64_t days = c360_days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
        *ms = ((days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) - gmtoff) * 1000 + frac;
        break;
    }
    }
    sb_release(&s);
    return rc;
}

static void id_string(const c360_json *j, int t, strbuf *out)
{
    if (j->tok[t].type == CJ_STRING) c360_json_str(j, t, out);
    else {
        size_t n;
        const char *r = c360_json_raw(j, t, &n);
        sb_add(out, r, n);
    }
}

int c360_mapping_apply(const c360_mapping *m, const char *record, size_t len, const char *fallback_message_id, strbuf *out,
                       char *err, size_t errlen)
{
    size_t bad;
    if (!c360_utf8_valid(record, len, &bad)) return fail(err, errlen, "record is not valid UTF-8 (byte %zu)", bad);
    c360_json j;
    c360_json_init(&j);
    char jerr[128];
    if (c360_json_parse(&j, record, len, jerr, sizeof jerr)) {
        c360_json_release(&j);
        return fail(err, errlen, "record is not valid JSON: %s", jerr);
    }
    int rc = -1;
    onode root = {0};
    strbuf v = STRBUF_INIT, type = STRBUF_INIT;
    if (j.tok[0].type != CJ_OBJECT) { fail(err, errlen, "record must be a JSON object"); goto out; }
    for (int i = 0; i < m->nfilters; i++)
        if (!filter_pass(&j, &m->filters[i])) { rc = 1; goto out; }

    if (sspec_value(&j, &m->type, "type", &type, err, errlen) != 1) goto out;
    int et = c360_ev_type_parse(type.buf, type.len);
    if (et < 0) { fail(err, errlen, "type '%.40s' must be one of identify, track, page, screen, group, alias", type.buf); goto out; }
    oset1(&root, "type", (c360_json_put_cstr(&v, type.buf), sb_detach(&v, NULL)));
    const char *traits_at = et == C360_EV_IDENTIFY || et == C360_EV_GROUP ? "traits" : "context.traits";

    /* event name */
    if (m->event.constant || m->event.field.text) {
        strbuf name = STRBUF_INIT;
        int r = sspec_value(&j, &m->event, et == C360_EV_TRACK ? "event" : "name", &name, err, errlen);
        if (r < 0 && et == C360_EV_TRACK) { sb_release(&name); goto out; }
        if (r == 1) {
            c360_json_put_str(&v, name.buf, name.len);
            oset1(&root, et == C360_EV_TRACK ? "event" : "name", sb_detach(&v, NULL));
        }
        sb_release(&name);
    } else if (et == C360_EV_TRACK) { fail(err, errlen, "a track event needs a name: the mapping has no 'event'"); goto out; }

    /* identifiers */
    int have_main = 0, nid = 0;
    const char *first_type = NULL;
    strbuf first_val = STRBUF_INIT, ext = STRBUF_INIT;
    for (int i = 0; i < m->nids; i++) {
        const idspec *id = &m->ids[i];
        int t = jpath(&j, 0, &id->src);
        if (t < 0 || (j.tok[t].type != CJ_STRING && !c360_json_is_number(&j, t))) continue;
        strbuf s = STRBUF_INIT;
        id_string(&j, t, &s);
        if (s.len == 0) { sb_release(&s); continue; }
        nid++;
        if (!first_type) { first_type = id->type; sb_add(&first_val, s.buf, s.len); }
        c360_json_put_str(&v, s.buf, s.len);
        char *js = sb_detach(&v, NULL);
        if (!strcmp(id->type, "user_id")) { oset1(&root, "userId", js); have_main = 1; }
        else if (!strcmp(id->type, "anonymous_id")) { oset1(&root, "anonymousId", js); have_main = 1; }
        else if (!strcmp(id->type, "email") || !strcmp(id->type, "phone")) {
            /* Segment reads identifiers from traits on identify only; elsewhere from context.traits */
            sb_adds(&v, et == C360_EV_IDENTIFY ? "traits" : "context.traits");
            sb_addc(&v, '.');
            sb_adds(&v, id->type);
            char *at = sb_detach(&v, NULL);
            oset1(&root, at, js);
            free(at);
        } else {
            sb_addf(&ext, "%s{\"id\":%s,\"type\":", ext.len ? "," : "", js);
            c360_json_put_cstr(&ext, id->type);
            sb_addc(&ext, '}');
            free(js);
        }
        sb_release(&s);
    }
    if (ext.len) {
        sb_addc(&v, '[');
        sb_add(&v, ext.buf, ext.len);
        sb_addc(&v, ']');
        oset1(&root, "context.externalIds", sb_detach(&v, NULL));
    }
    sb_release(&ext);
    if (!nid) {
        sb_release(&first_val);
        sb_addf(&v, "no identifier: ");
        for (int i = 0; i < m->nids; i++) sb_addf(&v, "%s'%s'", i ? ", " : "", m->ids[i].src.text);
        fail(err, errlen, "%s %s missing or empty", v.buf, m->nids > 1 ? "are" : "is");
        sb_reset(&v);
        goto out;
    }
    if (!have_main) {
        /* Segment needs userId or anonymousId: derive a stable, non-reversible-at-a-glance one from
         * the first identifier, so that records carrying only an email still resolve together */
        unsigned char h[12];
        crypto_generichash_state st;
        crypto_generichash_init(&st, NULL, 0, sizeof h);
        crypto_generichash_update(&st, (const unsigned char *)first_type, strlen(first_type));
        crypto_generichash_update(&st, (const unsigned char *)":", 1);
        crypto_generichash_update(&st, (const unsigned char *)first_val.buf, first_val.len);
        crypto_generichash_final(&st, h, sizeof h);
        sb_adds(&v, "\"m-");
        for (size_t i = 0; i < sizeof h; i++) sb_addf(&v, "%02x", h[i]);
        sb_addc(&v, '"');
        oset1(&root, "anonymousId", sb_detach(&v, NULL));
    }
    sb_release(&first_val);

    /* time */
    if (m->has_time) {
        int t = jpath(&j, 0, &m->time);
        if (t < 0 || (j.tok[t].type == CJ_STRING && j.tok[t].end == j.tok[t].start)) {
            if (m->time_required) { fail(err, errlen, "time field '%s' is missing", m->time.text); goto out; }
        } else {
            int64_t ms;
            if (parse_time(m, &j, t, &ms, err, errlen)) goto out;
            char tb[32];
            c360_time_format(ms, tb);
            sb_addf(&v, "\"%s\"", tb);
            oset1(&root, "timestamp", sb_detach(&v, NULL));
        }
    }

    /* message id */
    {
        strbuf mid = STRBUF_INIT;
        int t = m->msgid.text ? jpath(&j, 0, &m->msgid) : -1;
        if (t >= 0 && (j.tok[t].type == CJ_STRING || c360_json_is_number(&j, t))) {
            if (m->msgid_prefix) sb_adds(&mid, m->msgid_prefix);
            size_t before = mid.len;
            id_string(&j, t, &mid);
            if (mid.len == before) sb_reset(&mid);
        }
        if (!mid.len && fallback_message_id && *fallback_message_id) sb_adds(&mid, fallback_message_id);
        if (mid.len) {
            c360_json_put_str(&v, mid.buf, mid.len);
            oset1(&root, "messageId", sb_detach(&v, NULL));
        }
        sb_release(&mid);
    }

    /* properties, traits, fields, constants */
    for (int i = 0; i < m->nfields; i++) {
        const fspec *f = &m->fields[i];
        int r = field_value(&j, f, &v, err, errlen);
        if (r < 0) goto out;
        if (r == 0) { sb_reset(&v); continue; }
        oset(&root, f->base == BASE_PROPS ? "properties" : f->base == BASE_TRAITS ? traits_at : NULL, &f->target, sb_detach(&v, NULL));
    }
    for (int i = 0; i < m->nconsts; i++) oset(&root, NULL, &m->consts[i].target, xstrdup(m->consts[i].json));
    oemit(&root, out);
    rc = 0;
out:
    onode_clear(&root);
    sb_release(&v);
    sb_release(&type);
    c360_json_release(&j);
    return rc;
}
