/* sink.h -- the Kafka sink: every durable profile change published to `kafka.sink_topic`, keyed
 * by the canonical customer id ("c-%016x"), through an idempotent producer
 * (enable.idempotence=true), so that downstream systems can follow the single view.
 *
 * One sink per process, installed by `c360 serve` (c360_sink_install); every function below is
 * a cheap no-op while none is installed (c360 load, unit tests).
 *
 * Change collection runs on the engine's writer thread: while a group is applied the engine
 * notes what happened to which customer (c360_sink_note_*); the notes are coalesced per
 * customer and published only after the group's commit succeeded (c360_sink_committed), or
 * forgotten if it was abandoned (c360_sink_discard): only durable changes are published.
 * The features layer reports feature and segment changes the same way, with c360_sink_note.
 *
 * Message value (JSON), one per changed customer per group:
 *   {"id":"c-…","at":"ISO time","events":N,"last_event":{"type":"track","name":"…","timestamp":"…"},
 *    "traits":["email",…],"merged":["c-…"],"changes":[…],"features":{"order_count":{"value":3,"updated_at":"…"},…}}
 * `traits` lists the traits set by the group's identify events (coarse: not a diff), `merged`
 * the profiles merged into this one (each also gets a tombstone under its own id), `changes`
 * the JSON objects passed to c360_sink_note (fraud alerts, segment entries and exits), `features`
 * every feature value after the group (present when the group had events). An erased customer gets a tombstone (null value). */
#ifndef C360_SINK_H
#define C360_SINK_H

#include <stddef.h>
#include <stdint.h>
#include "core/config.h"
#include "core/metrics.h"
#include "sources/event.h"

typedef struct c360_sink c360_sink;

/* Opens the producer if kafka.sink_topic and kafka.brokers are set (else *out = NULL, 0). */
int c360_sink_open(c360_sink **out, const c360_config *c, c360_metrics *m, char *err, size_t errlen);
/* Waits (bounded) for queued messages to be delivered, then destroys the producer. */
void c360_sink_close(c360_sink *s);
/* Makes s the process's sink (NULL: none). Install before the engine starts writing. */
void c360_sink_install(c360_sink *s);

/* Any thread. key is the message key, json the value (NULL: a tombstone). 0, or -1 when no
 * sink is installed or the producer refused the message. */
int c360_sink_publish(const char *key, const char *json, size_t len);
int c360_sink_tombstone(uint64_t pid);

/* Writer thread only. */
void c360_sink_note_event(uint64_t pid, const c360_event *ev);
void c360_sink_note_merge(uint64_t survivor, uint64_t loser);
void c360_sink_note(uint64_t pid, const char *json_object); /* features: e.g. {"segment":"vip","entered":true} */
/* features: the customer's feature values after the event just applied (last one wins) */
void c360_sink_note_features(uint64_t pid, const char *json_object);
/* any thread: 1 while a sink is installed (lets the writer skip work nobody reads) */
int c360_sink_active(void);
void c360_sink_committed(void);
void c360_sink_discard(void);

#endif
