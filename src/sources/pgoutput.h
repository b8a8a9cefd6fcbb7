/* pgoutput.h -- PostgreSQL's logical replication stream, as bytes: the walsender's CopyData
 * framing ('w' XLogData, 'k' keepalive, and the 'r' standby status update we send back) and the
 * messages of the pgoutput plugin, protocol version 1 (Begin, Commit, Origin, Relation, Type,
 * Insert, Update, Delete, Truncate). A change of a row becomes a Debezium-style envelope
 * {"op","before","after","source":{"ts_ms"}} so that cdc_debezium.c gives it exactly the same
 * meaning as a change that came through Kafka Connect.
 *
 * The bytes come from the network and are untrusted: every read is bounds-checked, a malformed
 * message is an error with a reason (never a crash), and the relation cache is bounded.
 *
 * Column values (text format) become JSON by the column's type OID: bool -> true/false;
 * int2/int4/int8/oid/float4/float8/numeric -> a number when the text is a JSON number (NaN and
 * Infinity stay strings); json/jsonb -> the value itself when it is valid JSON; anything else a
 * string; SQL NULL -> null; an unchanged TOASTed value ('u') is left out. In a Delete with
 * REPLICA IDENTITY DEFAULT only the key columns have values, the others are null, so `before`
 * still names every column of the row.
 *
 * Pure functions over a caller-owned relation cache; no I/O, no globals. Thread: any, one
 * cache per stream. */
#ifndef C360_PGOUTPUT_H
#define C360_PGOUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include "util/strbuf.h"

/* ---- CopyData framing of START_REPLICATION ---- */

typedef struct c360_pg_frame {
    char kind;                   /* 'w' XLogData or 'k' primary keepalive */
    uint64_t start;              /* w: WAL position of the data */
    uint64_t end;                /* w, k: the server's current end of WAL */
    int64_t time_us;             /* server clock, microseconds since 2000-01-01 */
    int reply;                   /* k: the server asks for a status update now */
    const unsigned char *data;   /* w: the pgoutput message (points into the input) */
    size_t len;
} c360_pg_frame;

/* 0, or -1 with the reason in err. */
int c360_pg_frame_parse(const void *buf, size_t len, c360_pg_frame *f, char *err, size_t errlen);

#define C360_PG_STATUS_LEN 34
/* Writes the 'r' standby status update: positions written, flushed (durable) and applied. */
void c360_pg_status_update(unsigned char out[C360_PG_STATUS_LEN], uint64_t write, uint64_t flush, uint64_t apply,
                           int64_t now_us, int reply);

/* PostgreSQL's epoch (2000-01-01) in Unix milliseconds */
#define C360_PG_EPOCH_MS 946684800000LL

/* ---- pgoutput messages ---- */

typedef struct c360_pg_column {
    char *name;
    uint32_t type;               /* type OID */
    int key;                     /* part of the replica identity */
} c360_pg_column;

typedef struct c360_pg_relation {
    uint32_t oid;
    char *schema;
    char *name;
    int ncols;
    c360_pg_column *cols;
} c360_pg_relation;

/* The relations announced on a stream (a Relation message precedes the first change of a table
 * on every connection, and again after its schema changes). */
typedef struct c360_pg_relations {
    c360_pg_relation *r;
    int n;
} c360_pg_relations;

#define C360_PG_MAX_RELATIONS 10000
#define C360_PG_MAX_COLUMNS 1664  /* PostgreSQL's own limit on a row's columns */

void c360_pg_relations_release(c360_pg_relations *rs);
const c360_pg_relation *c360_pg_relation_find(const c360_pg_relations *rs, uint32_t oid);

typedef enum {
    C360_PGM_BEGIN = 'B',
    C360_PGM_COMMIT = 'C',
    C360_PGM_ORIGIN = 'O',
    C360_PGM_RELATION = 'R',
    C360_PGM_TYPE = 'Y',
    C360_PGM_INSERT = 'I',
    C360_PGM_UPDATE = 'U',
    C360_PGM_DELETE = 'D',
    C360_PGM_TRUNCATE = 'T',
    C360_PGM_MESSAGE = 'M',      /* pg_logical_emit_message: not used, skipped */
} c360_pgm_kind;

typedef struct c360_pg_msg {
    int kind;                    /* a c360_pgm_kind */
    uint64_t lsn;                /* Begin: final (commit) LSN; Commit: commit LSN; Origin: LSN */
    uint64_t end_lsn;            /* Commit: end of the transaction */
    int64_t ts_ms;               /* Begin, Commit: commit time, Unix milliseconds */
    uint32_t xid;                /* Begin */
    const c360_pg_relation *rel; /* Insert, Update, Delete, Relation: in the cache */
} c360_pg_msg;

/* Parses one pgoutput message. Relation messages update `rs`. For Insert, Update and Delete the
 * row change is appended to `envelope` as a Debezium envelope (op c, u or d) whose `source` is
 * {"ts_ms": ts_ms (the transaction's commit time, from its Begin), "schema", "table"} followed by
 * `source_extra` (JSON members, e.g. the change's position; NULL for none). Returns 0, or -1
 * with the reason in err (truncated or malformed message, unknown relation, unknown type). */
int c360_pgoutput_parse(c360_pg_relations *rs, const void *data, size_t len, int64_t ts_ms, const char *source_extra,
                        c360_pg_msg *m, strbuf *envelope, char *err, size_t errlen);

/* A row read by a query (the initial snapshot, pg_snapshot.c) as the envelope of a Debezium
 * snapshot read: {"op":"r","after":{...},"source":{"ts_ms","schema","table"[,source_extra]}}.
 * vals[i] is column i's value in text format, NULL for SQL NULL; the columns' types give the
 * JSON values exactly as for a streamed change. */
void c360_pg_row_envelope(const c360_pg_relation *rel, const char *const *vals, const size_t *lens, int64_t ts_ms,
                          const char *source_extra, strbuf *envelope);

#endif
