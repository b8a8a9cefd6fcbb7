/* mapping.h -- ingest mappings: one declarative way (the `mappings:` section of the YAML config)
 * to turn a foreign record -- a Kafka message, a CDC row, a webhook body, a CSV row -- into a
 * Segment-spec event, which then goes through the same validation as HTTP ingest
 * (sources/segment.c). Records that do not map are rejected with a reason (counted and logged by
 * the caller), never a stall.
 *
 * A record is a JSON object (CSV rows become objects of strings keyed by the header). A mapping
 * names, by dotted path into the record (a.b.0.c), the event type or a constant, the event name
 * (constant, field, or field with a value table), identifiers by type, the event-time field and
 * its format, properties and traits (target: path), constants, and simple filters. The exact YAML
 * shape is documented in docs/SOURCES.md. Pure functions of their inputs; thread-safe once
 * loaded. */
#ifndef C360_MAPPING_H
#define C360_MAPPING_H

#include <stddef.h>
#include "util/strbuf.h"

typedef struct c360_mapping c360_mapping;
typedef struct c360_mappings c360_mappings;

/* Loads every mapping of the `mappings:` section of a YAML file (NULL path: none). */
int c360_mappings_load(const char *yaml_path, c360_mappings **out, char *err, size_t errlen);
void c360_mappings_free(c360_mappings *m);
const c360_mapping *c360_mappings_find(const c360_mappings *m, const char *name);

/* Maps one record. Returns 0 with a Segment event object (JSON text) appended to out, 1 if the
 * record is filtered out (not an error), or -1 with the reason in err. `fallback_message_id`
 * (e.g. "topic/partition/offset") is used when the mapping names no message id, so that replays
 * of the same record deduplicate. */
int c360_mapping_apply(const c360_mapping *m, const char *record, size_t len, const char *fallback_message_id,
                       strbuf *out, char *err, size_t errlen);

/* Added helpers (the declarations above are the stable API used by every source). */
/* Loads the `mappings:` section of YAML text (built-in mappings, tests). */
int c360_mappings_load_string(const char *yaml, size_t len, c360_mappings **out, char *err, size_t errlen);
const char *c360_mapping_name(const c360_mapping *m);
int c360_mappings_count(const c360_mappings *m);
const c360_mapping *c360_mappings_at(const c360_mappings *m, int i);

#endif
