/* erase.h -- erasure of a customer (GDPR art. 17) and the suppression list.
 *
 * c360_erase_apply runs on the writer thread, in its own group (the engine commits what came
 * before): it deletes the customer's whole key range (profile, events, merge and consent
 * records), the identity-index entries of all their identifiers, the dedup entries of their
 * events and the redirects of profiles merged into them; it then writes a suppression entry per
 * identifier ('S' + the identifier's keyed hash: no plaintext), so that later events carrying
 * them are dropped (erasure_mode suppress) instead of silently rebuilding the person.
 * c360_erase_purge then flushes and compacts the touched ranges so that no byte of the
 * customer is left in any file of the data dir (WAL and old SST files included). */
#ifndef C360_ERASE_H
#define C360_ERASE_H

#include <stdint.h>
#include "store/store.h"
#include "util/strbuf.h"

struct c360_state;

typedef struct c360_erase_report {
    uint64_t pid;
    int identifiers, events, merged;
} c360_erase_report;

/* 0, C360_ENOPROFILE if pid has no profile, or C360_ESTORE. */
int c360_erase_apply(c360_store *s, struct c360_state *st, c360_txn *txn, uint64_t pid, int suppress,
                     c360_erase_report *rep);
/* Makes the erasure physical (call after the erasing group is committed). */
int c360_erase_purge(c360_store *s, uint64_t pid);

/* The suppression set, in memory (erasures are rare; checked for every identifier ingested). */
typedef struct c360_suppress c360_suppress;
c360_suppress *c360_suppress_load(c360_store *s);
void c360_suppress_add(c360_suppress *sp, const unsigned char h[16]);
int c360_suppress_has(const c360_suppress *sp, const unsigned char h[16]);
void c360_suppress_free(c360_suppress *sp);

#endif
