/* resolve.h -- deterministic identity resolution: which profile an event belongs to.
 *
 * Runs on the engine's writer thread inside its transaction. The algorithm follows Segment's
 * identity-resolution settings:
 *   1. The event's identifiers, already normalised and with blocked values removed, are taken in
 *      priority order (config identity.priority; by default user_id, email, phone, other types,
 *      anonymous_id).
 *   2. Each identifier is looked up in the identity index ('I' keys). Starting from none, an
 *      identifier is accepted if the union of the profiles chosen so far, its own profile and the
 *      identifiers accepted so far stays within every per-type limit (identity.limits: user_id 1,
 *      others 5), the cap on identifiers per profile and the cap on merges per profile. An
 *      identifier that would break a limit is dropped: it is not linked, its profile (if any) is
 *      not merged, and the drop is recorded with the reason.
 *   3. No profile found: a new one is created, in the partition of the strongest identifier.
 *      Several profiles found: they are merged into the oldest (smallest created time, then
 *      smallest pid), which keeps its id. The others' events, merge records, identifiers and
 *      index entries move into the survivor's key range; each gets a redirect ('R') so its old
 *      id still resolves. Every merge is recorded ('P' pid 'M' seq): when, by which event, which
 *      profile, which identifiers - enough to explain it now and undo it later. Before moving
 *      anything the writer's pending group is committed (without fsync), so the moves read every
 *      event from the store.
 */
#ifndef C360_RESOLVE_H
#define C360_RESOLVE_H

#include <stdint.h>
#include "identity/normalize.h"
#include "profile/profile.h"
#include "sources/event.h"
#include "store/store.h"

struct c360_state;

typedef struct c360_resolver {
    c360_store *store;
    struct c360_state *st;        /* the writer's working set (engine/state.h) */
    const c360_id_rules *rules;
    const unsigned char *secret;
    uint64_t next_seq;            /* next profile sequence number (persisted in 'Mseq') */
    int partitions;
    int (*commit_pending)(void *arg);  /* writes the group so far to the store (set by the engine) */
    void *commit_arg;
    /* called after a loser's profile was folded into the survivor (set by the engine) */
    void (*on_merge)(void *arg, c360_profile *surv, const c360_profile *loser);
    /* counters for metrics, added to by each call */
    uint64_t created, merged, dropped;
} c360_resolver;

int c360_resolver_init(c360_resolver *r, c360_store *s, struct c360_state *st, const c360_id_rules *rules);
/* Resolves ev to a profile, performing creations and merges (events and merge records move in
 * txn; profiles and index entries change in the working set). On success *out points at the
 * surviving profile inside the working set; the caller updates it and marks it dirty. */
int c360_resolve(c360_resolver *r, c360_txn *txn, c360_event *ev, int64_t now, c360_profile **out);
/* Follows redirects from a merged-away pid to its survivor (committed state). */
uint64_t c360_resolve_redirect(c360_store *s, uint64_t pid);
/* Looks up the pid of one identifier (committed state). 1 found, 0 not, -1 error. */
int c360_lookup_ident(c360_store *s, const c360_id_rules *rules, const char *type, const char *value, uint64_t *pid);
int c360_load_profile(c360_store *s, uint64_t pid, c360_profile *p); /* 1, 0, -1 */
/* the same, decoded for reading only (c360_profile_decode_ro): readers that render and release */
int c360_load_profile_ro(c360_store *s, uint64_t pid, c360_profile *p);
void c360_put_profile(c360_txn *txn, const c360_profile *p);

#endif
