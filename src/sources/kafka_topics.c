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

int c360_ktopic_decode(const c360_ktopic *t, c360_cdc_delete_mode del, const char *payload, size_t len,
                       const char *fallback_mid, strbuf *out, char *err, size_t errlen)
{
    switch (t->kind) {
    case C360_KT_SEGMENT:
        /* passed through: the Segment parse validates it and gives an event without a messageId
         * fallback_mid (c360_segment_parse_record) */
        if (!payload || !len) return 1;
        sb_add(out, payload, len);
        return 0;
    case C360_KT_MAPPING:
        if (!payload || !len) return 1;
        return c360_mapping_apply(t->mapping, payload, len, fallback_mid, out, err, errlen);
    case C360_KT_DEBEZIUM:
        return c360_cdc_debezium(t->table, t->mapping, del, payload, len, fallback_mid, out, err, errlen);
    }
    return -1;
}
