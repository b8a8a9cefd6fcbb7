/* segment.h -- the Segment tracking-API event format: parsing and validating request bodies
 * (the /v1/identify to /v1/batch bodies, NDJSON lines of `c360 load`) into c360_events.
 *
 * Runs on the HTTP threads (or the loader), never touches the store: everything here is a pure
 * function of the bytes, the identity rules and the clock value passed in, which also makes it
 * the fuzzing surface for untrusted input. Time rules and limits: docs/API.md. */
#ifndef C360_SEGMENT_H
#define C360_SEGMENT_H

#include "sources/event.h"
#include "util/json.h"

typedef struct c360_segment_ctx {
    const c360_id_rules *rules;
    const unsigned char *secret;   /* store secret for identifier hashes */
    int64_t max_event_bytes;
    int64_t max_batch_bytes;
} c360_segment_ctx;

/* Parses a single-event body; `type` forces the event type (from the path) or is -1 to take
 * it from the body ("type" field). Returns 0 or a negative C360_E* code with a message. */
int c360_segment_parse_one(const c360_segment_ctx *cx, int type, const char *body, size_t len, int64_t received_ms,
                           c360_event *ev, char *err, size_t errlen);

#define C360_SEGMENT_MID_MAX 256   /* bytes of a messageId */

/* The messageId for a record's place in its source ("FILE#LINE", "kafka-TOPIC-P-OFFSET"): the
 * place itself, or "c360-src-" and its keyed hash when it is longer than a messageId may be
 * (written into buf). Stable for a store, so that reading the record again deduplicates. */
const char *c360_segment_fallback_id(const c360_segment_ctx *cx, const char *place, char buf[C360_SEGMENT_MID_MAX + 1]);

/* The same for a record of a replayable source (an NDJSON line of `c360 load`, a Kafka message):
 * an event without a messageId (absent or "") gets `fallback_mid` (its place in the source, e.g.
 * "FILE#LINE", through c360_segment_fallback_id), so that reading the same record again
 * deduplicates; NULL: a random one. */
int c360_segment_parse_record(const c360_segment_ctx *cx, int type, const char *body, size_t len, int64_t received_ms,
                              const char *fallback_mid, c360_event *ev, char *err, size_t errlen);

/* Parses a single-event body; `type` forces the event type (from the path) or is -1 to take
 * c360_events_free). If any event is invalid the whole batch is refused: returns C360_EBATCH and
 * appends a JSON array of {index,error,message} to errors. */
int c360_segment_parse_batch(const c360_segment_ctx *cx, const char *body, size_t len, int64_t received_ms,
                             c360_event **evs, int *n, strbuf *errors, char *err, size_t errlen);

/* Extracts the writeKey field of a body, if any, into out. Returns 1 if present. */
int c360_segment_write_key(const char *body, size_t len, strbuf *out);

#endif
