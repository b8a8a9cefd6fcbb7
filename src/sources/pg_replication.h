/* pg_replication.h -- the PostgreSQL source: change data capture straight from a database's
 * write-ahead log, for users without Kafka Connect. One thread holds a libpq connection in
 * replication mode (`replication=database`), creates the logical replication slot
 * `postgres.slot` (plugin pgoutput) if it is missing, and streams the publication
 * `postgres.publication` with START_REPLICATION. Row changes are decoded by pgoutput.c into
 * Debezium envelopes and given the meaning of cdc_debezium.h (customers: identify with upsert
 * semantics, deletes per `postgres.cdc_delete`; orders: one "Order Completed" per order), each
 * table chosen by `postgres.tables` (optionally through a mapping of the `mappings:` section).
 * A slot it creates starts with the initial snapshot (pg_snapshot.h; `postgres.snapshot`): the
 * rows that already exist, read at the slot's own snapshot, the last job storing the slot's
 * consistent point; a slot found without a stored position is dropped and the snapshot redone.
 *
 * Exactly-once effects: a job handed to the engine carries, in its `extra` keys, the commit LSN
 * of the last transaction it completes ('W' + slot, store/keys.h), so the position is committed
 * in the same atomic write as the events. The flush position reported to the server (standby
 * status update) only moves after the job's done callback, i.e. once that write is durable;
 * while nothing is pending it follows the server's keepalives, so an idle slot does not hold WAL.
 * On (re)connect the stream starts at the stored LSN and every transaction whose commit LSN is
 * <= the stored one is skipped. A job holds whole transactions only, so a replay never counts
 * twice even with deduplication off. Exception: a transaction of more than 50,000 row events is
 * split over several jobs, only the last carrying its LSN; a replay of the earlier part is then
 * dropped by its messageIds (named by the change's position in the log, or "order-<id>"),
 * within dedup_window.
 *
 * Failures: a lost connection, a failed write or a malformed message closes the connection;
 * it is reopened with exponential backoff (1 s to 30 s) and resumes from the store. Rows that do
 * not map or validate are logged and counted (c360_postgres_rejected_total), never a stall.
 * Thread: the source's own; the engine's writer calls back into it (done callback, no blocking). */
#ifndef C360_PG_REPLICATION_H
#define C360_PG_REPLICATION_H

#include "core/config.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "identity/normalize.h"
#include "store/store.h"

typedef struct c360_pg_source c360_pg_source;

typedef struct c360_pg_deps {
    const c360_config *cfg;
    c360_store *store;
    c360_engine *engine;
    c360_metrics *metrics;
    const c360_id_rules *rules;
} c360_pg_deps;

/* *out = NULL (and 0) when postgres.conninfo is empty; -1 with err on bad settings. Does not
 * connect (a database that is down at start is retried by the thread). */
int c360_pg_source_open(c360_pg_source **out, const c360_pg_deps *d, char *err, size_t errlen);
int c360_pg_source_start(c360_pg_source *p);
/* Stops streaming, waits for the jobs in flight, confirms what is durable and disconnects.
 * Idempotent; NULL is a no-op. Call before c360_engine_stop. */
void c360_pg_source_stop(c360_pg_source *p);
void c360_pg_source_free(c360_pg_source *p);

#endif
