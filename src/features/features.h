/* features.h -- computed features, recommendations, fraud signals and segments: the layer that
 * turns the stream of events into answers at ingest time, so that reading is a lookup.
 *
 * Threads: c360_features_on_event and _on_merge run on the engine's writer thread, inside the
 * group being committed (they may write keys into txn); render and the read helpers run on any
 * thread and read committed state only. Per-customer feature state lives in the profile record's
 * `ext` bytes (profile.h), so it is written, cached and erased together with the profile. */
#ifndef C360_FEATURES_H
#define C360_FEATURES_H

#include <stdint.h>
#include "core/config.h"
#include "profile/profile.h"
#include "sources/event.h"
#include "store/store.h"
#include "util/strbuf.h"

typedef struct c360_features c360_features;

int c360_features_open(c360_features **out, c360_store *s, const c360_config *cfg, char *err, size_t errlen);
void c360_features_free(c360_features *f);

/* writer thread: the event has been applied to p (identities, traits, counts); update p's
 * feature state and any shared state (written into txn). 0 or a negative C360_E* code. */
int c360_features_on_event(c360_features *f, c360_txn *txn, c360_profile *p, const c360_event *ev, int64_t now);
/* writer thread: writes state kept in memory since the last commit into txn (before a commit). */
void c360_features_flush(c360_features *f, c360_txn *txn);
/* writer thread: the group was abandoned (store failure): forget writer-side caches */
void c360_features_discard(c360_features *f);
/* writer thread: loser is being folded into surv (after c360_profile_absorb). */
void c360_features_on_merge(c360_features *f, c360_profile *surv, const c360_profile *loser);
/* any thread: appends ,"features":{...} (and whatever else the layer shows) to a profile's JSON. */
void c360_features_render(void *f, const c360_profile *p, strbuf *out);

/* before the writer starts: the Kafka sink and the alert webhook (sources/), either NULL */
struct c360_sink;
struct c360_whsink;
void c360_features_set_outputs(c360_features *f, struct c360_sink *sink, struct c360_whsink *whsink);
/* 1 unless features.enabled is false (or C360_FEATURES=0) */
int c360_features_enabled(const c360_features *f);
/* any thread: GET .../recommendations as JSON (docs/FEATURES.md) */
int c360_features_recommend(c360_features *f, const c360_profile *p, int limit, strbuf *out);
/* Prometheus text of the layer's counters (late events, orders scored, alerts, segment moves) */
void c360_features_metrics(c360_features *f, strbuf *out);
/* segments: define (persist: into the store, synced; from any thread) -> 0, -1 invalid, -2 store */
int c360_features_segment_define(c360_features *f, const char *name, const char *where, int persist, char *err, size_t errlen);
void c360_features_segments_json(c360_features *f, strbuf *out);
/* -1 unknown segment, else 0/1: is p a member now (evaluated at `now`) */
int c360_features_segment_check(c360_features *f, const char *name, const c360_profile *p, int64_t now);
/* the membership index key of (segment, pid): 'F' 'm' name 0 pid */
void fseg_member_key(strbuf *k, const char *seg, uint64_t pid);
/* any thread: the recent-alerts index, newest first, raised at or after since_ms; cb returns
 * non-zero to stop. Returns the number of alerts visited. */
typedef int (*c360_alert_cb)(void *arg, uint64_t pid, int64_t raised_ms, double score, unsigned reasons);
int c360_features_recent_alerts(c360_features *f, int limit, int64_t since_ms, c360_alert_cb cb, void *arg);
const char *c360_fraud_reason_name(int i);   /* NULL past the last reason */
/* fraud.webhook_url / fraud.webhook_secret of the config file (NULL when unset) */
const char *c360_features_alert_webhook(const c360_features *f, const char **secret);
/* rebuild: drop p's feature state (events applied afterwards rebuild it) */
void c360_features_reset(c360_features *f, c360_profile *p);
/* A rebuild while serving (rebuild_live.c; docs/FEATURES.md). begin: any thread, reads the
 * config file's definitions: 0, -1 invalid (err), -2 one is running, -3 the layer is off.
 * step: writer thread, on a committed store, writes into txn: 1 more to do, 2 done (commit with
 * fsync, then swap), 0 nothing running. status: any thread, JSON. */
int c360_features_rebuild_begin(c360_features *f, char *err, size_t errlen);
int c360_features_rebuild_step(c360_features *f, c360_txn *txn, long budget);
void c360_features_rebuild_swap(c360_features *f);
void c360_features_rebuild_fail(c360_features *f, const char *why);
void c360_features_rebuild_status(c360_features *f, strbuf *out);
/* `c360 rebuild`: recompute all feature and shared state from the stored events (store opened
 * for writing by this process only). 0, or -1 with err. */
int c360_features_rebuild(c360_features *f, c360_store *st, uint64_t *profiles, uint64_t *events, char *err, size_t errlen);

#endif
