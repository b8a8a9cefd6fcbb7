/* event.h -- c360_event: one validated, normalised customer event, the unit every source hands
 * to the engine. Sources (HTTP Segment API, `c360 load`, later Kafka/CDC/webhooks) build events;
 * the engine's writer thread consumes them. An event owns all its memory (it outlives the
 * request buffer it came from). */
#ifndef C360_EVENT_H
#define C360_EVENT_H

#include <stdint.h>
#include "identity/normalize.h"
#include "util/strbuf.h"

typedef enum { C360_EV_IDENTIFY, C360_EV_TRACK, C360_EV_PAGE, C360_EV_SCREEN, C360_EV_GROUP, C360_EV_ALIAS,
               C360_EV__N } c360_ev_type;

typedef struct { char *key, *json; } c360_ev_trait;

typedef struct c360_event {
    c360_ev_type type;
    strbuf json;                 /* the event as stored: Segment JSON with server fields set */
    char *message_id;
    unsigned char msg_hash[16];  /* keyed hash of message_id: dedup key and event-key suffix */
    int64_t ts;                  /* event time (after skew correction), ms */
    int64_t received_ms;
    char *name;                  /* track: event name; page/screen: name (may be NULL) */
    c360_id *ids;                /* usable identifiers, normalised and hashed, by priority */
    int nids;
    char *alias_prev;            /* alias: normalised previousId */
    c360_ev_trait *traits;       /* identify traits, JSON text of each value */
    int ntraits;
} c360_event;

const char *c360_ev_type_name(c360_ev_type t);
int c360_ev_type_parse(const char *s, size_t n);  /* -1 if unknown */
void c360_event_release(c360_event *ev);
void c360_events_free(c360_event *evs, int n);

#endif
