/* kafka_topics.c -- topic specs of kafka.topics and message decoding. See kafka_topics.h. */
#include "sources/kafka_topics.h"
#include "core/config.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int c360_ktopics_parse(const char *spec, c360_ktopic **out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    const char *p = spec;
    char *item;
    while (c360_list_next(&p, &item)) {
        char *eq = strchr(item, '=');
        c360_ktopic t = {0};
        const char *s = "segment";
        if (eq) { *eq = 0; s = eq + 1; }
        t.topic = xstrdup(item);
        if (!*s || !strcmp(s, "segment")) {
            t.kind = C360_KT_SEGMENT;
        } else if (!strncmp(s, "debezium:", 9)) {
            t.kind = C360_KT_DEBEZIUM;
            char *tbl = xstrdup(s + 9), *colon = strchr(tbl, ':');
            if (colon) { *colon = 0; t.mapping_name = xstrdup(colon + 1); }
            int tb = c360_cdc_table_parse(tbl);
            free(tbl);
            if (tb < 0) {
                snprintf(err, errlen, "kafka.topics: %s: unknown CDC table in '%s' (customers or orders)", t.topic, s);
                free(t.topic); free(t.mapping_name); free(item);
                c360_ktopics_free(*out, *n);
                *out = NULL; *n = 0;
                return -1;
            }
            t.table = (c360_cdc_table)tb;
        } else {
            t.kind = C360_KT_MAPPING;
            t.mapping_name = xstrdup(s);
        }
        free(item);
        *out = xrealloc(*out, sizeof **out * (size_t)(*n + 1));
        (*out)[(*n)++] = t;
    }
    if (*n == 0) {
        snprintf(err, errlen, "kafka.topics is empty: name at least one topic");
        return -1;
    }
    return 0;
}

int c360_ktopics_need_mappings(const c360_ktopic *t, int n)
{
    for (int i = 0; i < n; i++)
        if (t[i].mapping_name) return 1;
    return 0;
}

int c360_ktopics_bind(c360_ktopic *t, int n, const c360_mappings *maps, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        if (!t[i].mapping_name) continue;
        t[i].mapping = maps ? c360_mappings_find(maps, t[i].mapping_name) : NULL;
        if (!t[i].mapping) {
            snprintf(err, errlen, "kafka.topics: %s: no mapping named '%s' in the mappings section", t[i].topic, t[i].mapping_name);
            return -1;
        }
    }
    return 0;
}

void c360_ktopics_free(c360_ktopic *t, int n)
{
    for (int i = 0; i < n; i++) {
        free(t[i].topic);
        free(t[i].mapping_name);
    }
    free(t);
}

const c360_ktopic *c360_ktopics_find(const c360_ktopic *t, int n, const char *topic)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(t[i].topic, topic)) return &t[i];
    return NULL;
}

/* Segment JSON: passed through, with a messageId added when it has none. */
static int segment_json(const char *payload, size_t len, const char *mid, strbuf *out, char *err, size_t errlen)
{
    c360_json j;
    c360_json_init(&j);
    char e[128];
    if (c360_json_parse(&j, payload, len, e, sizeof e)) {
        snprintf(err, errlen, "not JSON: %s", e);
        c360_json_release(&j);
        return -1;
    }
    if (j.tok[0].type != CJ_OBJECT) {
        snprintf(err, errlen, "a Segment event must be a JSON object");
        c360_json_release(&j);
        return -1;
    }
    if (c360_json_get(&j, 0, "messageId") >= 0) {
        sb_add(out, payload, len);
    } else {
        size_t at = (size_t)j.tok[0].start + 1; /* just after '{' */
        sb_add(out, payload, at);
        sb_adds(out, "\"messageId\":");
        c360_json_put_cstr(out, mid);
        if (j.tok[0].size > 0) sb_addc(out, ',');
        sb_add(out, payload + at, len - at);
    }
    c360_json_release(&j);
    return 0;
}

int c360_ktopic_decode(const c360_ktopic *t, c360_cdc_delete_mode del, const char *payload, size_t len,
                       const char *fallback_mid, strbuf *out, char *err, size_t errlen)
{
    switch (t->kind) {
    case C360_KT_SEGMENT:
        if (!payload || !len) return 1;
        return segment_json(payload, len, fallback_mid, out, err, errlen);
    case C360_KT_MAPPING:
        if (!payload || !len) return 1;
        return c360_mapping_apply(t->mapping, payload, len, fallback_mid, out, err, errlen);
    case C360_KT_DEBEZIUM:
        return c360_cdc_debezium(t->table, t->mapping, del, payload, len, fallback_mid, out, err, errlen);
    }
    return -1;
}
