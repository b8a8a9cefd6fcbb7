/* kafka_topics.h -- what each consumed topic carries, and turning one of its messages into a
 * Segment event (JSON text). `kafka.topics` is a list of names or a map topic -> spec:
 *   (no spec) or segment      Segment-spec JSON, as tracking pipelines write it (quick start)
 *   NAME                      a mapping of the `mappings:` section applied to the message JSON
 *   debezium:customers        Debezium CDC with the built-in conventions (cdc_debezium.h)
 *   debezium:orders
 *   debezium:TABLE:NAME       Debezium CDC, the row mapped by mapping NAME
 * A message without a messageId gets "kafka-<topic>-<partition>-<offset>" (its place in the log),
 * so that a replay of the same message deduplicates even beyond the stored offsets. */
#ifndef C360_KAFKA_TOPICS_H
#define C360_KAFKA_TOPICS_H

#include <stddef.h>
#include "sources/cdc_debezium.h"
#include "sources/mapping.h"
#include "util/strbuf.h"

typedef enum { C360_KT_SEGMENT, C360_KT_MAPPING, C360_KT_DEBEZIUM } c360_kt_kind;

typedef struct c360_ktopic {
    char *topic;
    c360_kt_kind kind;
    c360_cdc_table table;        /* debezium */
    char *mapping_name;          /* NULL: none */
    const c360_mapping *mapping; /* resolved by c360_ktopics_bind */
} c360_ktopic;

/* Parses the kafka.topics value. 0, or -1 with err set. */
int c360_ktopics_parse(const char *spec, c360_ktopic **out, int *n, char *err, size_t errlen);
/* 1 if any topic names a mapping (the caller then loads the `mappings:` section). */
int c360_ktopics_need_mappings(const c360_ktopic *t, int n);
/* Resolves mapping names; -1 with err naming an unknown mapping. */
int c360_ktopics_bind(c360_ktopic *t, int n, const c360_mappings *maps, char *err, size_t errlen);
void c360_ktopics_free(c360_ktopic *t, int n);
const c360_ktopic *c360_ktopics_find(const c360_ktopic *t, int n, const char *topic);

/* Message -> Segment event JSON appended to out. Returns 0 (event), 1 (nothing to do),
 * 2 (CDC erase: the customer's user_id is in out), or -1 with the reason in err. */
int c360_ktopic_decode(const c360_ktopic *t, c360_cdc_delete_mode del, const char *payload, size_t len,
                       const char *fallback_mid, strbuf *out, char *err, size_t errlen);

#endif
