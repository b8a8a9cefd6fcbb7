/* timeline.h -- a customer's raw events, newest first ('P' pid 'E' ts hash keys, keys.h).
 * Written by the engine (writer thread); read by the API on any thread. */
#ifndef C360_TIMELINE_H
#define C360_TIMELINE_H

#include <stdint.h>
#include "sources/event.h"
#include "store/store.h"
#include "util/strbuf.h"

void c360_timeline_put(c360_txn *txn, uint64_t pid, const c360_event *ev);
/* Appends {"events":[...],"next":...} for up to limit events older than the cursor `before`
 * (NULL = newest). Cursor: opaque hex of the last key suffix, or an ISO-8601 time.
 * Returns 0 or C360_EPARAM for a bad cursor. */
int c360_timeline_page(c360_store *s, uint64_t pid, int limit, const char *before, strbuf *out);

#endif
