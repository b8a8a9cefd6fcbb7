/* sink.h -- the Kafka sink: every durable profile change published to `kafka.sink_topic`, keyed
 * by the canonical customer id ("c-%016x"), through an idempotent producer
 * (enable.idempotence=true), so that downstream systems can follow the single view.
 *
 * `c360 serve` opens it and hands it to the engine (c360_engine_set_outputs), which hands it to
 * the features layer; every function below is a cheap no-op on a NULL sink (c360 load, tests).
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
/* Waits (bounded) for queued messages to be delivered, then destroys the producer. Close it
 * after the engine has stopped: the writer publishes until then. */
void c360_sink_close(c360_sink *s);

/* Any thread. key is the message key, json the value (NULL: a tombstone). 0, or -1 when s is
 * NULL or the producer refused the message. */
int c360_sink_publish(c360_sink *s, const char *key, const char *json, size_t len);
int c360_sink_tombstone(c360_sink *s, uint64_t pid);

/* Writer thread only. */
void c360_sink_note_event(c360_sink *s, uint64_t pid, const c360_event *ev);
void c360_sink_note_merge(c360_sink *s, uint64_t survivor, uint64_t loser);
void c360_sink_note(c360_sink *s, uint64_t pid, const char *json_object); /* e.g. {"segment":"vip","entered":true} */
/* features: the customer's feature values after its last event in the group (the features layer
 * notes them right before the commit; the last note wins) */
void c360_sink_note_features(c360_sink *s, uint64_t pid, const char *json_object);
void c360_sink_committed(c360_sink *s);
void c360_sink_discard(c360_sink *s);

#endif
