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
/* writer thread: loser is being folded into surv (after c360_profile_absorb). */
void c360_features_on_merge(c360_features *f, c360_profile *surv, const c360_profile *loser);
/* any thread: appends ,"features":{...} (and whatever else the layer shows) to a profile's JSON. */
void c360_features_render(void *f, const c360_profile *p, strbuf *out);

#endif
