/* state.h -- the writer's working set: decoded profiles and identity-index entries held in
 * memory between commits, so that a burst of events for one customer decodes and rewrites the
 * profile record once per group commit instead of once per event.
 *
 * Owned by the writer thread only. Reads fall through to the committed store; changes stay here
 * (dirty) until c360_state_flush() writes them into the transaction right before it commits.
 * If a group fails, c360_state_reset() forgets everything not yet committed, so memory never
 * runs ahead of what is durable. Clean entries are evicted in bulk past `capacity` profiles. */
#ifndef C360_STATE_H
#define C360_STATE_H

#include <stdint.h>
#include "profile/profile.h"
#include "store/store.h"

typedef struct c360_state c360_state;

c360_state *c360_state_new(c360_store *s, size_t capacity);
void c360_state_free(c360_state *st);
/* 1 and *out (owned by the state) if the profile exists, 0 if not, -1 on a store error. */
int c360_state_profile(c360_state *st, uint64_t pid, c360_profile **out);
c360_profile *c360_state_profile_new(c360_state *st, uint64_t pid, int64_t created_ms);
void c360_state_profile_dirty(c360_state *st, c360_profile *p);
void c360_state_profile_delete(c360_state *st, uint64_t pid);
/* identity index: 1 found, 0 absent, -1 error */
int c360_state_index_get(c360_state *st, const unsigned char h[16], uint64_t *pid);
void c360_state_index_put(c360_state *st, const unsigned char h[16], uint64_t pid);
/* messageIds applied since the last flush (dedup inside one group) */
int c360_state_seen_msg(c360_state *st, const unsigned char h[16]);
void c360_state_add_msg(c360_state *st, const unsigned char h[16]);
/* how many times the set above was emptied (by a flush or a reset): once it changes, messageIds
 * of the group may be in the store instead */
uint64_t c360_state_msg_clears(const c360_state *st);
/* writes dirty entries into txn and marks them clean; pointers stay valid */
void c360_state_flush(c360_state *st, c360_txn *txn);
/* evicts clean entries past capacity; invalidates profile pointers */
void c360_state_trim(c360_state *st);
void c360_state_reset(c360_state *st);
/* The pids of profiles written (or deleted) by flushes since the last call; the caller owns and
 * frees the array. For live updates after a commit. */
size_t c360_state_take_changed(c360_state *st, uint64_t **pids);
size_t c360_state_profiles(const c360_state *st);

#endif
