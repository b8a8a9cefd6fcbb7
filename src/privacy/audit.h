/* audit.h -- the audit log: who looked at or changed what, append-only and hash-chained.
 *
 * One JSON line per entry in DATA_DIR/audit.log:
 *   {"seq":N,"at":ISO,"key":NAME,"role":ROLE,"action":A,"subject":"c-...","detail":{...},
 *    "prev":HEX,"hash":HEX}
 * hash = BLAKE2b-256, keyed with the store secret, of the line up to (not including) ,"hash";
 * prev is the previous line's hash (64 zeros for the first). Editing, inserting or deleting a
 * line breaks the chain at that line, and without the store secret the chain cannot be forged.
 * The head of the chain (last sequence number and hash) is also kept in the store ('M' key
 * "audit_head"), so cutting lines off the end of the file is detected too: synced at once for
 * durable entries, and within 200 ms (by a recorder thread, so reads never wait on the store's
 * write queue) for the others.
 * Entries name subjects by canonical profile id and fields by name, never by personal values, so
 * the log outlives erasure without keeping personal data. Thread-safe (one mutex). */
#ifndef C360_AUDIT_H
#define C360_AUDIT_H

#include <stdint.h>
#include "store/store.h"
#include "util/strbuf.h"

typedef struct c360_audit c360_audit;

int c360_audit_open(c360_audit **out, const char *data_dir, c360_store *store, char *err, size_t errlen);
void c360_audit_close(c360_audit *a);
/* detail: raw JSON value or NULL; durable: fsync before returning (erase, export, key changes). */
int c360_audit_log(c360_audit *a, const char *key_name, const char *role, const char *action, const char *subject,
                   const char *detail, int durable);
/* Appends a JSON array of the entries about subject (all entries if NULL), newest last, at most
 * limit of the most recent. */
int c360_audit_query(c360_audit *a, const char *subject, int limit, strbuf *out);
/* Checks the chain of a log file against the store's head: 0 if intact (and *lines set), else the
 * 1-based number of the first bad (or missing) line, with a reason in err; -1 if the file cannot
 * be read. */
long c360_audit_verify(const char *path, c360_store *store, long *lines, char *err, size_t errlen);

#endif
