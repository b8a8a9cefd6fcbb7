/* profile.h -- the unified profile of one customer: identities, traits, activity counts.
 *
 * Owned by the engine's writer thread while it is being changed; readers decode their own copy
 * from the store. Stored as one record per customer (key 'P' pid 'A', see store/keys.h), in the
 * binary layout below (all integers varints, strings length-prefixed, see util/codec.h):
 *
 *   field            encoding                       meaning
 *   version          uvarint (=1)
 *   pid              uvarint                        internal id; "c-%016x" outside
 *   created_ms       svarint                        when c360 created the profile (tie-break)
 *   first_seen       svarint                        min event time
 *   last_seen        svarint                        max event time
 *   total            uvarint                        stored events
 *   merge_seq        uvarint                        next merge-record sequence number
 *   ids              n, then (type, value, first_ts, event)  event = messageId that first carried it
 *   traits           n, then (key, json, ts)        last write wins by event time
 *   by_type          n, then (name, count)
 *   by_event         n, then (name, count)
 *   merged           n, then pid                    profiles merged into this one
 *   ext              bytes                          computed-feature state (owned by src/features)
 *   consents         n, then (key, granted, ts, source)   current consent per channel/purpose
 *
 * Traits keep the JSON text of their value exactly as received. A later event (by event time)
 * wins; an equal time is broken by comparing the JSON text, so the outcome never depends on
 * arrival order. */
#ifndef C360_PROFILE_H
#define C360_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include "util/strbuf.h"

typedef struct { char *type, *value, *event; int64_t first_ts; } c360_pid_ident;
typedef struct { char *key, *json; int64_t ts; } c360_trait;
typedef struct { char *name; uint64_t n; } c360_counter;
typedef struct { char *key, *source; int granted; int64_t ts; } c360_consent;  /* key: "email", "marketing", ... */

typedef struct c360_profile {
    uint64_t pid;
    int64_t created_ms, first_seen, last_seen;
    uint64_t total, merge_seq;
    c360_pid_ident *ids;  int nids;
    c360_trait *traits;   int ntraits;
    c360_counter *by_type; int nby_type;
    c360_counter *by_event; int nby_event;
    uint64_t *merged;     int nmerged;
    char *ext;            size_t next;   /* opaque state of the features layer; NULL/0 if none */
    c360_consent *consents; int nconsents;
    struct c360_arena *arena;  /* a read-only copy (c360_profile_decode_ro): all of it lives here */
} c360_profile;

void c360_profile_init(c360_profile *p, uint64_t pid, int64_t created_ms);
void c360_profile_release(c360_profile *p);
void c360_profile_encode(const c360_profile *p, strbuf *out);
int c360_profile_decode(c360_profile *p, const void *buf, size_t n);   /* 0 or -1 (corrupt) */
/* The same for a copy that is only read (rendered) and then released: its strings and arrays
 * come from one arena (util/arena.h) instead of a malloc each; it must not be changed. */
int c360_profile_decode_ro(c360_profile *p, const void *buf, size_t n);

int c360_profile_has_ident(const c360_profile *p, const char *type, const char *value);
int c360_profile_count_type(const c360_profile *p, const char *type);
/* Adds an identifier (or moves its first_ts/event earlier if this event is older). */
void c360_profile_add_ident(c360_profile *p, const char *type, const char *value, int64_t ts, const char *event);
/* Sets trait key to json if ts is newer (see header). Returns 1 if changed. */
int c360_profile_set_trait(c360_profile *p, const char *key, size_t klen, const char *json, size_t jlen, int64_t ts);
void c360_profile_count(c360_profile *p, const char *type, const char *event_name);
void c360_profile_seen(c360_profile *p, int64_t ts);
/* Folds `loser` into `p` (identities, traits by LWW, counts, times, merged list). */
void c360_profile_absorb(c360_profile *p, const c360_profile *loser);

void c360_profile_id_str(uint64_t pid, char out[20]);
int c360_profile_id_parse(const char *s, size_t n, uint64_t *pid);
/* The profile as JSON (docs/API.md). `more`, if given, appends further members (starting with a
 * comma) before the closing brace: the features layer renders its values this way. */
typedef void (*c360_profile_json_more)(void *arg, const c360_profile *p, strbuf *out);
void c360_profile_to_json(const c360_profile *p, strbuf *out);
void c360_profile_to_json_ex(const c360_profile *p, strbuf *out, c360_profile_json_more more, void *arg);
/* Sets consent `key` if ts is newer (ties: a refusal wins). Returns 1 if it changed, and the
 * previous state in *prev (-1 none, 0 refused, 1 granted). */
int c360_profile_set_consent(c360_profile *p, const char *key, int granted, int64_t ts, const char *source, int *prev);
/* -1 unknown, 0 refused, 1 granted */
int c360_profile_consent(const c360_profile *p, const char *key);
/* Replaces the feature state bytes. */
void c360_profile_set_ext(c360_profile *p, const void *buf, size_t n);

#endif
