/* profile.c -- unified profile: record codec, last-write-wins traits, absorb on merge, JSON.
 * See profile.h for the record layout and the ordering rules. */
#include "profile/profile.h"
#include "util/arena.h"
#include "util/clock.h"
#include "util/codec.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROFILE_VERSION 1

void c360_profile_init(c360_profile *p, uint64_t pid, int64_t created_ms)
{
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->created_ms = created_ms;
    p->first_seen = INT64_MAX;
    p->last_seen = INT64_MIN;
}

void c360_profile_release(c360_profile *p)
{
    if (p->arena) {
        c360_arena_free(p->arena);
        memset(p, 0, sizeof *p);
        return;
    }
    for (int i = 0; i < p->nids; i++) { free(p->ids[i].type); free(p->ids[i].value); free(p->ids[i].event); }
    for (int i = 0; i < p->ntraits; i++) { free(p->traits[i].key); free(p->traits[i].json); }
    for (int i = 0; i < p->nby_type; i++) free(p->by_type[i].name);
    for (int i = 0; i < p->nby_event; i++) free(p->by_event[i].name);
    for (int i = 0; i < p->nconsents; i++) { free(p->consents[i].key); free(p->consents[i].source); }
    free(p->ids); free(p->traits); free(p->by_type); free(p->by_event); free(p->merged); free(p->ext); free(p->consents);
    memset(p, 0, sizeof *p);
}

void c360_profile_encode(const c360_profile *p, strbuf *out)
{
    c360_put_uvarint(out, PROFILE_VERSION);
    c360_put_uvarint(out, p->pid);
    c360_put_svarint(out, p->created_ms);
    c360_put_svarint(out, p->first_seen);
    c360_put_svarint(out, p->last_seen);
    c360_put_uvarint(out, p->total);
    c360_put_uvarint(out, p->merge_seq);
    c360_put_uvarint(out, (uint64_t)p->nids);
    for (int i = 0; i < p->nids; i++) {
        c360_put_bytes(out, p->ids[i].type, strlen(p->ids[i].type));
        c360_put_bytes(out, p->ids[i].value, strlen(p->ids[i].value));
        c360_put_svarint(out, p->ids[i].first_ts);
        c360_put_bytes(out, p->ids[i].event, strlen(p->ids[i].event));
    }
    c360_put_uvarint(out, (uint64_t)p->ntraits);
    for (int i = 0; i < p->ntraits; i++) {
        c360_put_bytes(out, p->traits[i].key, strlen(p->traits[i].key));
        c360_put_bytes(out, p->traits[i].json, strlen(p->traits[i].json));
        c360_put_svarint(out, p->traits[i].ts);
    }
    c360_put_uvarint(out, (uint64_t)p->nby_type);
    for (int i = 0; i < p->nby_type; i++) {
        c360_put_bytes(out, p->by_type[i].name, strlen(p->by_type[i].name));
        c360_put_uvarint(out, p->by_type[i].n);
    }
    c360_put_uvarint(out, (uint64_t)p->nby_event);
    for (int i = 0; i < p->nby_event; i++) {
        c360_put_bytes(out, p->by_event[i].name, strlen(p->by_event[i].name));
        c360_put_uvarint(out, p->by_event[i].n);
    }
    c360_put_uvarint(out, (uint64_t)p->nmerged);
    for (int i = 0; i < p->nmerged; i++) c360_put_uvarint(out, p->merged[i]);
    c360_put_bytes(out, p->ext ? p->ext : "", p->next);
    c360_put_uvarint(out, (uint64_t)p->nconsents);
    for (int i = 0; i < p->nconsents; i++) {
        c360_put_bytes(out, p->consents[i].key, strlen(p->consents[i].key));
        c360_put_uvarint(out, (uint64_t)p->consents[i].granted);
        c360_put_svarint(out, p->consents[i].ts);
        c360_put_bytes(out, p->consents[i].source, strlen(p->consents[i].source));
    }
}

static int get_count(c360_cursor *c, size_t max)
{
    uint64_t n = c360_get_uvarint(c);
    if (c->err || n > max) { c->err = 1; return 0; }
    return (int)n;
}

/* decoding into the heap (ar NULL) or into an arena */
static void *d_calloc(c360_arena **ar, size_t n, size_t size)
{
    return ar ? c360_arena_calloc(ar, n * size) : xcalloc(n, size);
}

static char *d_str(c360_cursor *c, c360_arena **ar)
{
    if (!ar) return c360_get_str(c);
    size_t n;
    const char *p = c360_get_bytes(c, &n);   /* "" after an error */
    return c360_arena_strndup(ar, p, n);
}

static int decode(c360_profile *p, const void *buf, size_t n, int ro)
{
    c360_cursor c;
    c360_cursor_init(&c, buf, n);
    memset(p, 0, sizeof *p);
    c360_arena **ar = NULL;
    if (ro) {
        ar = &p->arena;
        c360_arena_reserve(ar, 2 * n + 1024);   /* strings and ext fit in n; arrays usually in n + 1 KB */
    }
    if (c360_get_uvarint(&c) != PROFILE_VERSION) goto bad;
    p->pid = c360_get_uvarint(&c);
    p->created_ms = c360_get_svarint(&c);
    p->first_seen = c360_get_svarint(&c);
    p->last_seen = c360_get_svarint(&c);
    p->total = c360_get_uvarint(&c);
    p->merge_seq = c360_get_uvarint(&c);
    int k = get_count(&c, n);
    p->ids = d_calloc(ar, (size_t)k, sizeof *p->ids);
    for (int i = 0; i < k && !c.err; i++, p->nids++) {
        p->ids[i].type = d_str(&c, ar);
        p->ids[i].value = d_str(&c, ar);
        p->ids[i].first_ts = c360_get_svarint(&c);
        p->ids[i].event = d_str(&c, ar);
    }
    k = get_count(&c, n);
    p->traits = d_calloc(ar, (size_t)k, sizeof *p->traits);
    for (int i = 0; i < k && !c.err; i++, p->ntraits++) {
        p->traits[i].key = d_str(&c, ar);
        p->traits[i].json = d_str(&c, ar);
        p->traits[i].ts = c360_get_svarint(&c);
    }
    k = get_count(&c, n);
    p->by_type = d_calloc(ar, (size_t)k, sizeof *p->by_type);
    for (int i = 0; i < k && !c.err; i++, p->nby_type++) {
        p->by_type[i].name = d_str(&c, ar);
        p->by_type[i].n = c360_get_uvarint(&c);
    }
    k = get_count(&c, n);
    p->by_event = d_calloc(ar, (size_t)k, sizeof *p->by_event);
    for (int i = 0; i < k && !c.err; i++, p->nby_event++) {
        p->by_event[i].name = d_str(&c, ar);
        p->by_event[i].n = c360_get_uvarint(&c);
    }
    k = get_count(&c, n);
    p->merged = d_calloc(ar, (size_t)k, sizeof *p->merged);
    for (int i = 0; i < k && !c.err; i++, p->nmerged++) p->merged[i] = c360_get_uvarint(&c);
    size_t el;
    const char *e = c360_get_bytes(&c, &el);
    if (!c.err && el) {
        p->ext = ar ? c360_arena_alloc(ar, el) : xmalloc(el);
        memcpy(p->ext, e, el);
        p->next = el;
    }
    k = get_count(&c, n);
    p->consents = d_calloc(ar, (size_t)k, sizeof *p->consents);
    for (int i = 0; i < k && !c.err; i++, p->nconsents++) {
        p->consents[i].key = d_str(&c, ar);
        p->consents[i].granted = c360_get_uvarint(&c) != 0;
        p->consents[i].ts = c360_get_svarint(&c);
        p->consents[i].source = d_str(&c, ar);
    }
    if (!c.err) return 0;
bad:
    c360_profile_release(p);
    return -1;
}

int c360_profile_decode(c360_profile *p, const void *buf, size_t n) { return decode(p, buf, n, 0); }
int c360_profile_decode_ro(c360_profile *p, const void *buf, size_t n) { return decode(p, buf, n, 1); }

int c360_profile_has_ident(const c360_profile *p, const char *type, const char *value)
{
    for (int i = 0; i < p->nids; i++)
        if (!strcmp(p->ids[i].type, type) && !strcmp(p->ids[i].value, value)) return 1;
    return 0;
}

int c360_profile_count_type(const c360_profile *p, const char *type)
{
    int n = 0;
    for (int i = 0; i < p->nids; i++) n += !strcmp(p->ids[i].type, type);
    return n;
}

void c360_profile_add_ident(c360_profile *p, const char *type, const char *value, int64_t ts, const char *event)
{
    for (int i = 0; i < p->nids; i++)
        if (!strcmp(p->ids[i].type, type) && !strcmp(p->ids[i].value, value)) {
            /* earliest event wins; equal times are broken by the messageId, so order-independent */
            if (ts < p->ids[i].first_ts || (ts == p->ids[i].first_ts && strcmp(event, p->ids[i].event) < 0)) {
                p->ids[i].first_ts = ts;
                free(p->ids[i].event);
                p->ids[i].event = xstrdup(event);
            }
            return;
        }
    p->ids = xrealloc(p->ids, sizeof *p->ids * (size_t)(p->nids + 1));
    p->ids[p->nids].type = xstrdup(type);
    p->ids[p->nids].value = xstrdup(value);
    p->ids[p->nids].event = xstrdup(event);
    p->ids[p->nids].first_ts = ts;
    p->nids++;
}

/* newer wins; equal times are broken by the JSON text so the result is order-independent */
static int newer(int64_t ts, const char *json, size_t jlen, const c360_trait *cur)
{
    if (ts != cur->ts) return ts > cur->ts;
    size_t cl = strlen(cur->json);
    int c = memcmp(json, cur->json, jlen < cl ? jlen : cl);
    if (c == 0) c = (jlen > cl) - (jlen < cl);
    return c > 0;
}

int c360_profile_set_trait(c360_profile *p, const char *key, size_t klen, const char *json, size_t jlen, int64_t ts)
{
    for (int i = 0; i < p->ntraits; i++) {
        c360_trait *t = &p->traits[i];
        if (strlen(t->key) == klen && !memcmp(t->key, key, klen)) {
            if (!newer(ts, json, jlen, t)) return 0;
            free(t->json);
            t->json = xstrndup(json, jlen);
            t->ts = ts;
            return 1;
        }
    }
    p->traits = xrealloc(p->traits, sizeof *p->traits * (size_t)(p->ntraits + 1));
    p->traits[p->ntraits].key = xstrndup(key, klen);
    p->traits[p->ntraits].json = xstrndup(json, jlen);
    p->traits[p->ntraits].ts = ts;
    p->ntraits++;
    return 1;
}

static void bump(c360_counter **arr, int *n, const char *name, uint64_t by)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].name, name)) { (*arr)[i].n += by; return; }
    *arr = xrealloc(*arr, sizeof **arr * (size_t)(*n + 1));
    (*arr)[*n].name = xstrdup(name);
    (*arr)[*n].n = by;
    (*n)++;
}

void c360_profile_count(c360_profile *p, const char *type, const char *event_name)
{
    p->total++;
    bump(&p->by_type, &p->nby_type, type, 1);
    if (event_name && *event_name) bump(&p->by_event, &p->nby_event, event_name, 1);
}

void c360_profile_seen(c360_profile *p, int64_t ts)
{
    if (ts < p->first_seen) p->first_seen = ts;
    if (ts > p->last_seen) p->last_seen = ts;
}

void c360_profile_absorb(c360_profile *p, const c360_profile *l)
{
    for (int i = 0; i < l->nids; i++) c360_profile_add_ident(p, l->ids[i].type, l->ids[i].value, l->ids[i].first_ts, l->ids[i].event);
    for (int i = 0; i < l->ntraits; i++)
        c360_profile_set_trait(p, l->traits[i].key, strlen(l->traits[i].key), l->traits[i].json,
                               strlen(l->traits[i].json), l->traits[i].ts);
    for (int i = 0; i < l->nby_type; i++) bump(&p->by_type, &p->nby_type, l->by_type[i].name, l->by_type[i].n);
    for (int i = 0; i < l->nby_event; i++) bump(&p->by_event, &p->nby_event, l->by_event[i].name, l->by_event[i].n);
    p->total += l->total;
    if (l->first_seen < p->first_seen) p->first_seen = l->first_seen;
    if (l->last_seen > p->last_seen) p->last_seen = l->last_seen;
    for (int i = 0; i < l->nconsents; i++) {
        int prev;
        c360_profile_set_consent(p, l->consents[i].key, l->consents[i].granted, l->consents[i].ts, l->consents[i].source, &prev);
    }
    p->merged = xrealloc(p->merged, sizeof *p->merged * (size_t)(p->nmerged + l->nmerged + 1));
    p->merged[p->nmerged++] = l->pid;
    for (int i = 0; i < l->nmerged; i++) p->merged[p->nmerged++] = l->merged[i];
}

void c360_profile_id_str(uint64_t pid, char out[20])
{
    snprintf(out, 20, "c-%016llx", (unsigned long long)pid);
}

int c360_profile_id_parse(const char *s, size_t n, uint64_t *pid)
{
    if (n != 18 || s[0] != 'c' || s[1] != '-') return -1;
    uint64_t v = 0;
    for (size_t i = 2; i < n; i++) {
        char c = s[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = (v << 4) | (uint64_t)d;
    }
    *pid = v;
    return 0;
}

static void put_time(strbuf *out, int64_t ms)
{
    char b[32];
    if (ms == INT64_MAX || ms == INT64_MIN) { sb_adds(out, "null"); return; }
    c360_time_format(ms, b);
    sb_addc(out, '"');
    sb_adds(out, b);
    sb_addc(out, '"');
}

static void put_counters(strbuf *out, const c360_counter *c, int n)
{
    sb_addc(out, '{');
    for (int i = 0; i < n; i++) {
        if (i) sb_addc(out, ',');
        c360_json_put_key(out, c[i].name);
        sb_addf(out, "%llu", (unsigned long long)c[i].n);
    }
    sb_addc(out, '}');
}

int c360_profile_consent(const c360_profile *p, const char *key)
{
    for (int i = 0; i < p->nconsents; i++)
        if (!strcmp(p->consents[i].key, key)) return p->consents[i].granted;
    return -1;
}

int c360_profile_set_consent(c360_profile *p, const char *key, int granted, int64_t ts, const char *source, int *prev)
{
    for (int i = 0; i < p->nconsents; i++) {
        c360_consent *c = &p->consents[i];
        if (strcmp(c->key, key)) continue;
        *prev = c->granted;
        /* newer wins; on equal times a refusal wins, so the result never depends on arrival order */
        if (ts < c->ts || (ts == c->ts && (granted || !c->granted))) return 0;
        c->granted = granted;
        c->ts = ts;
        free(c->source);
        c->source = xstrdup(source);
        return 1;
    }
    *prev = -1;
    p->consents = xrealloc(p->consents, sizeof *p->consents * (size_t)(p->nconsents + 1));
    p->consents[p->nconsents].key = xstrdup(key);
    p->consents[p->nconsents].source = xstrdup(source);
    p->consents[p->nconsents].granted = granted;
    p->consents[p->nconsents].ts = ts;
    p->nconsents++;
    return 1;
}

void c360_profile_set_ext(c360_profile *p, const void *buf, size_t n)
{
    free(p->ext);
    p->ext = NULL;
    p->next = 0;
    if (n) {
        p->ext = xmalloc(n);
        memcpy(p->ext, buf, n);
        p->next = n;
    }
}

void c360_profile_to_json(const c360_profile *p, strbuf *out) { c360_profile_to_json_ex(p, out, NULL, NULL); }

void c360_profile_to_json_ex(const c360_profile *p, strbuf *out, c360_profile_json_more more, void *arg)
{
    char id[20];
    c360_profile_id_str(p->pid, id);
    sb_addf(out, "{\"id\":\"%s\",\"first_seen\":", id);
    put_time(out, p->first_seen);
    sb_adds(out, ",\"last_seen\":");
    put_time(out, p->last_seen);
    sb_adds(out, ",\"identities\":[");
    for (int i = 0; i < p->nids; i++) {
        if (i) sb_addc(out, ',');
        sb_adds(out, "{\"type\":");
        c360_json_put_cstr(out, p->ids[i].type);
        sb_adds(out, ",\"value\":");
        c360_json_put_cstr(out, p->ids[i].value);
        sb_adds(out, ",\"first_seen\":");
        put_time(out, p->ids[i].first_ts);
        sb_adds(out, ",\"event\":");
        c360_json_put_cstr(out, p->ids[i].event);
        sb_addc(out, '}');
    }
    sb_adds(out, "],\"traits\":{");
    for (int i = 0; i < p->ntraits; i++) {
        if (i) sb_addc(out, ',');
        c360_json_put_key(out, p->traits[i].key);
        sb_adds(out, p->traits[i].json);
    }
    sb_adds(out, "},\"traits_updated_at\":{");
    for (int i = 0; i < p->ntraits; i++) {
        if (i) sb_addc(out, ',');
        c360_json_put_key(out, p->traits[i].key);
        put_time(out, p->traits[i].ts);
    }
    sb_addf(out, "},\"counts\":{\"total\":%llu,\"by_type\":", (unsigned long long)p->total);
    put_counters(out, p->by_type, p->nby_type);
    sb_adds(out, ",\"by_event\":");
    put_counters(out, p->by_event, p->nby_event);
    sb_adds(out, "},\"merged_profiles\":[");
    for (int i = 0; i < p->nmerged; i++) {
        c360_profile_id_str(p->merged[i], id);
        sb_addf(out, "%s\"%s\"", i ? "," : "", id);
    }
    sb_adds(out, "],\"consents\":{");
    for (int i = 0; i < p->nconsents; i++) {
        if (i) sb_addc(out, ',');
        c360_json_put_key(out, p->consents[i].key);
        sb_addf(out, "{\"granted\":%s,\"updated_at\":", p->consents[i].granted ? "true" : "false");
        put_time(out, p->consents[i].ts);
        sb_adds(out, ",\"source\":");
        c360_json_put_cstr(out, p->consents[i].source);
        sb_addc(out, '}');
    }
    sb_addc(out, '}');
    if (more) more(arg, p, out);
    sb_addc(out, '}');
}
