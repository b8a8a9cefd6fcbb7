/* pg_snapshot.h -- the initial snapshot of the PostgreSQL source: the rows that existed before
 * c360's replication slot, read at exactly the point where the slot's stream begins.
 *
 * On the replication connection, in one REPEATABLE READ transaction: CREATE_REPLICATION_SLOT
 * ... USE_SNAPSHOT (the transaction now sees the database as of the slot's consistent point),
 * then every published table the caller wants is read with a cursor, 1,000 rows per FETCH. Each
 * row becomes a Debezium snapshot envelope (op "r", pgoutput.h), so it has the same meaning as a
 * change streamed later; the stream then starts at the consistent point, so no row is missed and
 * none is read twice. Thread: the source's own (the connection is not shared). */
#ifndef C360_PG_SNAPSHOT_H
#define C360_PG_SNAPSHOT_H

#include <libpq-fe.h>
#include <stdint.h>
#include "sources/pgoutput.h"

typedef struct c360_pg_snapshot_cbs {
    /* 1 if the published table schema.name is to be read */
    int (*want)(void *arg, const char *schema, const char *name);
    /* one row's envelope; 0 to go on, -1 to stop (the snapshot then fails) */
    int (*row)(void *arg, const c360_pg_relation *rel, const char *envelope, size_t len);
    void *arg;
} c360_pg_snapshot_cbs;

/* Creates `slot` (plugin pgoutput) and reads the tables of publication `pub` at its snapshot.
 * *lsn = the slot's consistent point; *rows = rows passed to row(). 0, or -1 with the reason in
 * err; the slot may exist after a failure (the caller drops it before trying again). Slot and
 * publication names must be plain (lowercase letters, digits, _). */
int c360_pg_snapshot(PGconn *conn, const char *slot, const char *pub, const c360_pg_snapshot_cbs *cb, uint64_t *lsn,
                     uint64_t *rows, char *err, size_t errlen);

/* Runs sql on the connection; the result if its status is `want`, else NULL with "what: the
 * server's message" in err. (The replication source's commands go through it too.) */
PGresult *c360_pg_exec(PGconn *c, const char *sql, ExecStatusType want, const char *what, char *err, size_t errlen);

/* "16/B374D848" -> LSN; 0 on a malformed text */
uint64_t c360_pg_lsn_parse(const char *s);

#endif
