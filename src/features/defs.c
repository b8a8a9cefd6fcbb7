/* defs.c -- what the features layer computes: the built-in defaults and the YAML sections
 * `features:`, `fraud:`, `recommendations:` and `segments:` of the config file (the flat settings
 * loader in core/config.c skips them). Kept apart so that every knob of the layer is in one
 * place and documented in docs/FEATURES.md. */
#include "features/fint.h"
#include "core/config.h"
#include "sources/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

const char *const fagg_names[AGG__N] = {"count", "sum", "avg", "min", "max", "first", "last",
                                        "distinct_count", "most_frequent", "top_k"};

/* the declarative features shipped by default (on top of the built-ins of state.c) */
static const struct { const char *name, *agg, *type, *event, *field, *window; int k; } default_defs[] = {
    {"product_views_24h", "count", "track", "Product Viewed", NULL, "24h", 0},
    {"page_views_7d", "count", "page", NULL, NULL, "7d", 0},
    {"distinct_products_viewed_30d", "distinct_count", "track", "Product Viewed", "properties.product_id", "30d", 0},
    {"top_categories_30d", "top_k", "track", "Product Viewed", "properties.category", "30d", 3},
    {"max_order_value", "max", "track", "Order Completed", "properties.revenue", NULL, 0},
};

static void def_release(fdef *d)
{
    free(d->name);
    for (int i = 0; i < d->nevents; i++) free(d->events[i]);
    free(d->events);
    fexpr_free(d->where);
    free(d->where_src);
    free(d->field);
}

void fseg_release(fseg *s)
{
    free(s->name);
    free(s->where_src);
    fexpr_free(s->where);
}

static int parse_agg(const char *s)
{
    for (int i = 0; i < AGG__N; i++)
        if (!strcasecmp(s, fagg_names[i])) return i;
    if (!strcasecmp(s, "topk") || !strcasecmp(s, "top-k")) return AGG_TOPK;
    if (!strcasecmp(s, "distinct")) return AGG_DISTINCT;
    if (!strcasecmp(s, "mode")) return AGG_MOSTFREQ;
    return -1;
}

static void add_def(fsettings *s, fdef *d)
{
    for (int i = 0; i < s->ndefs; i++)
        if (!strcmp(s->defs[i].name, d->name)) {
            def_release(&s->defs[i]);
            s->defs[i] = *d;
            return;
        }
    s->defs = xrealloc(s->defs, sizeof *s->defs * (size_t)(s->ndefs + 1));
    s->defs[s->ndefs++] = *d;
}

static uint32_t fnv(uint32_t h, const char *s)
{
    for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return (h ^ 0xff) * 16777619u;
}

static void rehash(fsettings *s)
{
    uint32_t h = 2166136261u;
    char b[64];
    for (int i = 0; i < s->ndefs; i++) {
        fdef *d = &s->defs[i];
        snprintf(b, sizeof b, "%d/%u/%lld/%d", d->agg, d->types, (long long)d->window_ms, d->k);
        h = fnv(fnv(fnv(fnv(h, d->name), b), d->field), d->where_src);
        for (int e = 0; e < d->nevents; e++) h = fnv(h, d->events[e]);
    }
    s->defs_hash = h ^ (s->gen * 0x9E3779B1u);   /* generation 0: the plain hash (older stores) */
}

void fsettings_set_gen(fsettings *s, uint32_t gen)
{
    s->gen = gen;
    rehash(s);
}

void fsettings_defaults(fsettings *s)
{
    memset(s, 0, sizeof *s);
    s->enabled = 1;
    s->lateness_ms = 7LL * 86400000;
    s->session_gap_ms = 30LL * 60000;
    s->w_velocity = 25;
    s->w_amount = 25;
    s->w_payment = 15;
    s->w_card = 15;
    s->w_address = 15;
    s->w_churn = 20;
    s->w_new_large = 30;
    s->threshold = 50;
    s->large_order = 500;
    s->z_limit = 3;
    s->velocity_1h = 3;
    s->velocity_24h_min = 5;
    s->exclude_last_order = 1;
    for (size_t i = 0; i < sizeof default_defs / sizeof default_defs[0]; i++) {
        fdef d = {0};
        d.name = xstrdup(default_defs[i].name);
        d.agg = parse_agg(default_defs[i].agg);
        d.types = 1u << c360_ev_type_parse(default_defs[i].type, strlen(default_defs[i].type));
        if (default_defs[i].event) {
            d.events = xmalloc(sizeof *d.events);
            d.events[0] = xstrdup(default_defs[i].event);
            d.nevents = 1;
        }
        if (default_defs[i].field) d.field = xstrdup(default_defs[i].field);
        if (default_defs[i].window) c360_parse_duration_ms(default_defs[i].window, &d.window_ms);
        d.k = default_defs[i].k;
        add_def(s, &d);
    }
    rehash(s);
}

void fsettings_release(fsettings *s)
{
    for (int i = 0; i < s->ndefs; i++) def_release(&s->defs[i]);
    free(s->defs);
    s->defs = NULL;
    s->ndefs = 0;
    free(s->webhook_url);
    free(s->webhook_secret);
    s->webhook_url = s->webhook_secret = NULL;
}

/* ---- YAML (document API: the sections are small) ---- */
static const char *scalar(yaml_document_t *doc, yaml_node_t *n)
{
    (void)doc;
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

#define MAP_EACH(doc, map, kvar, vvar) \
    for (yaml_node_pair_t *pr_##kvar = (map)->data.mapping.pairs.start; pr_##kvar < (map)->data.mapping.pairs.top; pr_##kvar++) \
        for (yaml_node_t *kvar = yaml_document_get_node(doc, pr_##kvar->key), *vvar = yaml_document_get_node(doc, pr_##kvar->value), \
                         *once_##kvar = kvar; once_##kvar; once_##kvar = NULL)

static int num_opt(const char *v, double *out, char *err, size_t errlen, const char *what)
{
    char *end;
    double d = v ? strtod(v, &end) : 0;
    if (!v || end == v || *end) {
        snprintf(err, errlen, "%s: expected a number", what);
        return -1;
    }
    *out = d;
    return 0;
}

static int bool_opt(const char *v, int *out)
{
    if (!v) return -1;
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1")) *out = 1;
    else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcmp(v, "0")) *out = 0;
    else return -1;
    return 0;
}

static int parse_def(yaml_document_t *doc, const char *name, yaml_node_t *m, fdef *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->name = xstrdup(name);
    d->agg = -1;
    if (m->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "features.definitions.%s: expected a mapping", name);
        return -1;
    }
    MAP_EACH(doc, m, k, v) {
        const char *key = scalar(doc, k), *val = scalar(doc, v);
        if (!key) continue;
        if (!strcmp(key, "agg") || !strcmp(key, "aggregate")) {
            if (!val || (d->agg = parse_agg(val)) < 0) {
                snprintf(err, errlen, "features.definitions.%s.agg: one of count, sum, avg, min, max, first, last, "
                                      "distinct_count, most_frequent, top_k", name);
                return -1;
            }
        } else if (!strcmp(key, "type")) {
            const char *p = val;
            char *item;
            while (c360_list_next(&p, &item)) {
                int t = c360_ev_type_parse(item, strlen(item));
                free(item);
                if (t < 0) {
                    snprintf(err, errlen, "features.definitions.%s.type: unknown event type", name);
                    return -1;
                }
                d->types |= 1u << t;
            }
        } else if (!strcmp(key, "event") || !strcmp(key, "events")) {
            if (val) {
                d->events = xrealloc(d->events, sizeof *d->events * (size_t)(d->nevents + 1));
                d->events[d->nevents++] = xstrdup(val);
            } else if (v->type == YAML_SEQUENCE_NODE) {
                for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                    const char *s = scalar(doc, yaml_document_get_node(doc, *it));
                    if (!s) continue;
                    d->events = xrealloc(d->events, sizeof *d->events * (size_t)(d->nevents + 1));
                    d->events[d->nevents++] = xstrdup(s);
                }
            }
        } else if (!strcmp(key, "where")) {
            char e2[200];
            if (!val || !(d->where = fexpr_parse(val, e2, sizeof e2))) {
                snprintf(err, errlen, "features.definitions.%s.where: %s", name, val ? e2 : "expected an expression");
                return -1;
            }
            d->where_src = xstrdup(val);
        } else if (!strcmp(key, "field") || !strcmp(key, "property")) {
            if (val) d->field = xstrdup(val);
        } else if (!strcmp(key, "window")) {
            if (!val || (strcmp(val, "all") && c360_parse_duration_ms(val, &d->window_ms))) {
                snprintf(err, errlen, "features.definitions.%s.window: a duration (1h, 24h, 7d, 30d) or all", name);
                return -1;
            }
        } else if (!strcmp(key, "k")) {
            d->k = val ? atoi(val) : 0;
        } else {
            snprintf(err, errlen, "features.definitions.%s: unknown key %s", name, key);
            return -1;
        }
    }
    if (d->agg < 0) {
        snprintf(err, errlen, "features.definitions.%s: agg is required", name);
        return -1;
    }
    if (d->agg != AGG_COUNT && !d->field) {
        snprintf(err, errlen, "features.definitions.%s: %s needs a field", name, fagg_names[d->agg]);
        return -1;
    }
    if (d->agg == AGG_TOPK && d->k <= 0) d->k = 3;
    return 0;
}

static int add_seg(fseg **segs, int *nsegs, const char *name, const char *src, char *err, size_t errlen)
{
    char e2[200];
    fexpr *e = fexpr_parse(src, e2, sizeof e2);
    if (!e) {
        snprintf(err, errlen, "segments.%s: %s", name, e2);
        return -1;
    }
    *segs = xrealloc(*segs, sizeof **segs * (size_t)(*nsegs + 1));
    (*segs)[(*nsegs)++] = (fseg){.name = xstrdup(name), .where_src = xstrdup(src), .where = e};
    return 0;
}

static int load_doc(fsettings *s, yaml_document_t *doc, fseg **segs, int *nsegs, char *err, size_t errlen)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || root->type != YAML_MAPPING_NODE) return 0;
    MAP_EACH(doc, root, sk, sv) {
        const char *sec = scalar(doc, sk);
        if (!sec) continue;
        if (!strcmp(sec, "features") && sv->type == YAML_MAPPING_NODE) {
            MAP_EACH(doc, sv, k, v) {
                const char *key = scalar(doc, k), *val = scalar(doc, v);
                if (!key) continue;
                if (!strcmp(key, "allowed_lateness") || !strcmp(key, "session_timeout")) {
                    int64_t ms;
                    if (!val || c360_parse_duration_ms(val, &ms)) {
                        snprintf(err, errlen, "features.%s: expected a duration", key);
                        return -1;
                    }
                    if (key[0] == 'a') s->lateness_ms = ms;
                    else s->session_gap_ms = ms;
                } else if (!strcmp(key, "enabled")) {
                    if (bool_opt(val, &s->enabled)) {
                        snprintf(err, errlen, "features.enabled: expected true or false");
                        return -1;
                    }
                } else if (!strcmp(key, "defaults")) {
                    int keep = 1;
                    if (bool_opt(val, &keep)) {
                        snprintf(err, errlen, "features.defaults: expected true or false");
                        return -1;
                    }
                    if (!keep) {   /* drop the shipped declarative defaults (built-ins stay) */
                        for (int i = 0; i < s->ndefs; i++) def_release(&s->defs[i]);
                        s->ndefs = 0;
                    }
                } else if (!strcmp(key, "definitions") && v->type == YAML_MAPPING_NODE) {
                    MAP_EACH(doc, v, dk, dv) {
                        fdef d;
                        const char *dn = scalar(doc, dk);
                        if (!dn) continue;
                        if (parse_def(doc, dn, dv, &d, err, errlen)) {
                            def_release(&d);
                            return -1;
                        }
                        add_def(s, &d);
                    }
                } else {
                    snprintf(err, errlen, "features: unknown key %s", key);
                    return -1;
                }
            }
        } else if (!strcmp(sec, "fraud") && sv->type == YAML_MAPPING_NODE) {
            MAP_EACH(doc, sv, k, v) {
                const char *key = scalar(doc, k), *val = scalar(doc, v);
                if (!key) continue;
                double x;
                if (!strcmp(key, "weights") && v->type == YAML_MAPPING_NODE) {
                    MAP_EACH(doc, v, wk, wv) {
                        const char *w = scalar(doc, wk);
                        if (!w) continue;
                        if (num_opt(scalar(doc, wv), &x, err, errlen, "fraud.weights")) return -1;
                        if (!strcmp(w, "velocity")) s->w_velocity = x;
                        else if (!strcmp(w, "amount")) s->w_amount = x;
                        else if (!strcmp(w, "new_payment_method")) s->w_payment = x;
                        else if (!strcmp(w, "new_card_type")) s->w_card = x;
                        else if (!strcmp(w, "shipping_address_changed")) s->w_address = x;
                        else if (!strcmp(w, "identity_churn")) s->w_churn = x;
                        else if (!strcmp(w, "new_account_large_order")) s->w_new_large = x;
                        else {
                            snprintf(err, errlen, "fraud.weights: unknown reason %s", w);
                            return -1;
                        }
                    }
                    continue;
                }
                if (!strcmp(key, "webhook_url") || !strcmp(key, "webhook_secret")) {
                    char **dst = key[8] == 'u' ? &s->webhook_url : &s->webhook_secret;
                    if (!val || !*val) {
                        snprintf(err, errlen, "fraud.%s: expected a string", key);
                        return -1;
                    }
                    if (dst == &s->webhook_url && strncmp(val, "http://", 7) && strncmp(val, "https://", 8)) {
                        snprintf(err, errlen, "fraud.webhook_url: expected an http:// or https:// URL");
                        return -1;
                    }
                    free(*dst);
                    *dst = xstrdup(val);
                    continue;
                }
                if (num_opt(val, &x, err, errlen, "fraud")) return -1;
                if (!strcmp(key, "threshold")) s->threshold = x;
                else if (!strcmp(key, "large_order")) s->large_order = x;
                else if (!strcmp(key, "amount_zscore")) s->z_limit = x;
                else if (!strcmp(key, "velocity_1h")) s->velocity_1h = (int)x;
                else if (!strcmp(key, "velocity_24h")) s->velocity_24h_min = (int)x;
                else {
                    snprintf(err, errlen, "fraud: unknown key %s", key);
                    return -1;
                }
            }
        } else if (!strcmp(sec, "recommendations") && sv->type == YAML_MAPPING_NODE) {
            MAP_EACH(doc, sv, k, v) {
                const char *key = scalar(doc, k);
                if (key && !strcmp(key, "exclude_last_order")) {
                    if (bool_opt(scalar(doc, v), &s->exclude_last_order)) {
                        snprintf(err, errlen, "recommendations.exclude_last_order: expected true or false");
                        return -1;
                    }
                }
            }
        } else if (!strcmp(sec, "segments") && sv->type == YAML_MAPPING_NODE) {
            MAP_EACH(doc, sv, k, v) {
                const char *name = scalar(doc, k), *src = scalar(doc, v);
                if (v->type == YAML_MAPPING_NODE) {
                    MAP_EACH(doc, v, kk, vv) {
                        const char *kn = scalar(doc, kk);
                        if (kn && !strcmp(kn, "where")) src = scalar(doc, vv);
                    }
                }
                if (!name || !src) {
                    snprintf(err, errlen, "segments: each entry is NAME: EXPRESSION");
                    return -1;
                }
                if (add_seg(segs, nsegs, name, src, err, errlen)) return -1;
            }
        }
    }
    return 0;
}

int fsettings_load(fsettings *s, const char *path, fseg **segs, int *nsegs, char *err, size_t errlen)
{
    if (!path || !*path) return 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot open %s", path);
        return -1;
    }
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, fp);
    int rc = 0;
    if (!yaml_parser_load(&p, &doc)) {
        snprintf(err, errlen, "%s: YAML error: %s", path, p.problem ? p.problem : "?");
        rc = -1;
    } else {
        rc = load_doc(s, &doc, segs, nsegs, err, errlen);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&p);
    fclose(fp);
    rehash(s);
    return rc;
}
