/* pg_replication.c -- the replication connection, its stream loop, batching into engine jobs
 * with the commit LSN, status updates and reconnects. See pg_replication.h. */
#include "sources/pg_replication.h"
#include "core/config.h"
#include "engine/inflight.h"
#include "sources/cdc_debezium.h"
#include "sources/mapping.h"
#include "sources/pg_snapshot.h"
#include "sources/pgoutput.h"
#include "sources/segment.h"
#include "identity/resolve.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sched.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_MAX 2000          /* events per engine job (whole transactions) */
#define TX_SPLIT 50000          /* a transaction with more events is split over several jobs */
#define MAX_INFLIGHT 4          /* jobs handed to the engine and not yet answered */
#define STATUS_EVERY_US 10000000LL
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000

typedef struct ptable {
    char *rel;                  /* "name" or "schema.name" */
    c360_cdc_table table;
    char *mapping_name;         /* NULL: the built-in convention */
    const c360_mapping *mapping;
} ptable;

typedef struct pjob {
    c360_job job;
    c360_event *evs;
    int n, cap;
    uint64_t commit_lsn;        /* last transaction completed in this job (0: none) */
    uint64_t end_lsn;           /* its end: the flush position once durable */
    int ntx;                    /* transactions completed in this job */
    int snapshot_end;           /* the end of the initial snapshot: commit_lsn is its consistent point */
    unsigned char key[1 + C360_PG_SLOT_MAX];
    unsigned char val[8];
    c360_kv kv;
} pjob;

struct c360_pg_source {
    c360_pg_deps d;
    c360_segment_ctx cx;
    ptable *tables;
    int ntables;
    c360_mappings *maps;
    c360_cdc_delete_mode del;
    int snapshot;               /* postgres.snapshot initial: a new slot starts with a snapshot */
    char *slot, *pub;
    pthread_t th;
    int started;
    _Atomic int stop;
    c360_inflight q;            /* jobs in the engine, their answers */
    /* below: the source thread only */
    PGconn *conn;
    int streaming;              /* START_REPLICATION answered: the connection is in COPY BOTH */
    c360_pg_relations rels;
    pjob *cur;                  /* the job being filled */
    int failed;                 /* a job was not stored: reconnect and resume from the store */
    uint64_t applied;           /* highest commit LSN in the store or handed to the engine */
    uint64_t durable_end;       /* end LSN of the last transaction known durable */
    uint64_t keepalive_end;     /* server's sent position from the last keepalive */
    uint64_t reported;          /* flush position last sent */
    int64_t last_status_us;
    int in_tx, skip_tx, tx_idx;
    uint64_t tx_lsn;
    int64_t tx_ts;
    strbuf env, ev;             /* scratch */
};

static int stopping(c360_pg_source *p) { return atomic_load(&p->stop); }

static void nap_ms(c360_pg_source *p, long ms)
{
    while (ms > 0 && !stopping(p)) {
        long step = ms > 100 ? 100 : ms;
        struct timespec t = {0, step * 1000000L};
        nanosleep(&t, NULL);
        ms -= step;
    }
}

/* Logs a libpq (or decoding) error as a JSON string field: messages hold quotes and newlines. */
static void log_err(int level, const char *msg, const char *why)
{
    if (level < c360_log_level) return;
    strbuf e = STRBUF_INIT;
    size_t n = strlen(why);
    while (n && (why[n - 1] == '\n' || why[n - 1] == ' ')) n--;
    c360_json_put_str(&e, why, n);
    c360_log_write(level, msg, "\"error\":%s", e.buf);
    sb_release(&e);
}

static int64_t pg_now_us(void)
{
    return (c360_now_ms() - C360_PG_EPOCH_MS) * 1000;
}

/* ---- postgres.tables ---- */

static void tables_free(ptable *t, int n)
{
    for (int i = 0; i < n; i++) {
        free(t[i].rel);
        free(t[i].mapping_name);
    }
    free(t);
}

/* "rel=customers|orders[:MAPPING],..." */
static int tables_parse(c360_pg_source *p, const char *spec, char *err, size_t errlen)
{
    const char *s = spec;
    char *item;
    while (c360_list_next(&s, &item)) {
        char *eq = strchr(item, '=');
        if (!eq || eq == item) {
            snprintf(err, errlen, "postgres.tables: '%s' is not table=customers or table=orders", item);
            free(item);
            return -1;
        }
        *eq = 0;
        char *kind = eq + 1, *colon = strchr(kind, ':');
        if (colon) *colon = 0;
        int tb = c360_cdc_table_parse(kind);
        if (tb < 0 || (colon && !colon[1])) {
            snprintf(err, errlen, "postgres.tables: %s: '%s' must be customers or orders, optionally :MAPPING", item, kind);
            free(item);
            return -1;
        }
        p->tables = xrealloc(p->tables, sizeof *p->tables * (size_t)(p->ntables + 1));
        p->tables[p->ntables++] = (ptable){xstrdup(item), (c360_cdc_table)tb, colon ? xstrdup(colon + 1) : NULL, NULL};
        free(item);
    }
    if (p->ntables == 0) {
        snprintf(err, errlen, "postgres.tables is empty: name at least one table");
        return -1;
    }
    return 0;
}

static const ptable *table_named(const c360_pg_source *p, const char *schema, const char *name)
{
    size_t sl = strlen(schema);
    for (int i = 0; i < p->ntables; i++) {
        const char *r = p->tables[i].rel, *dot = strchr(r, '.');
        if (dot ? ((size_t)(dot - r) == sl && !strncmp(r, schema, sl) && !strcmp(dot + 1, name)) : !strcmp(r, name))
            return &p->tables[i];
    }
    return NULL;
}

static const ptable *table_for(const c360_pg_source *p, const c360_pg_relation *rel)
{
    return table_named(p, rel->schema, rel->name);
}

/* slot and publication names go into replication commands unquoted: keep them plain */
static int plain_name(const char *s)
{
    if (!*s || strlen(s) > C360_PG_SLOT_MAX) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
    return 1;
}

/* ---- the stored position ---- */

static uint64_t stored_lsn(c360_pg_source *p)
{
    unsigned char key[1 + C360_PG_SLOT_MAX];
    size_t kl = c360_key_pg_lsn(key, p->slot);
    strbuf v = STRBUF_INIT;
    uint64_t r = 0;
    if (kl && c360_store_get(p->d.store, key, kl, &v) == 1 && v.len == 8) r = c360_get_u64be((unsigned char *)v.buf);
    sb_release(&v);
    return r;
}

/* ---- jobs ---- */

static void job_free(pjob *j)
{
    if (!j) return;
    c360_events_free(j->evs, j->n);
    free(j);
}

static pjob *cur_job(c360_pg_source *p)
{
    if (!p->cur) p->cur = xcalloc(1, sizeof *p->cur);
    return p->cur;
}

/* Takes the answered jobs: the durable position moves on, or a failure asks for a reconnect. */
static void reap(c360_pg_source *p)
{
    c360_job **done;
    int n = c360_inflight_take(&p->q, &done);
    for (int i = 0; i < n; i++) {
        pjob *j = (pjob *)done[i];   /* job is the first member */
        if (j->job.status) {
            p->failed = 1;
            LOG_WARN("postgres changes not stored; resuming from the stored position", "\"code\":\"%s\"",
                     c360_err_name(j->job.status));
        } else if (j->ntx || j->snapshot_end) {
            if (j->end_lsn > p->durable_end) p->durable_end = j->end_lsn;
            c360_count(&p->d.metrics->pg_transactions, (uint64_t)j->ntx);
        }
        job_free(j);
    }
    free(done);
}

static void wait_idle(c360_pg_source *p)
{
    c360_inflight_wait(&p->q);
    reap(p);
}

/* Hands the current job to the engine: 0 (sent, or nothing to send), C360_EBUSY (queue or
 * in-flight limit full: try again), or another error. */
static int submit(c360_pg_source *p)
{
    pjob *j = p->cur;
    if (!j || (j->n == 0 && j->ntx == 0 && !j->snapshot_end)) return 0;
    if (!c360_inflight_room(&p->q, MAX_INFLIGHT, 50)) return C360_EBUSY;
    memset(&j->job, 0, sizeof j->job);
    j->job.evs = j->evs;
    j->job.n = j->n;
    if (j->ntx || j->snapshot_end) {
        size_t kl = c360_key_pg_lsn(j->key, p->slot);
        c360_put_u64be(j->val, j->commit_lsn);
        j->kv = (c360_kv){j->key, kl, j->val, 8};
        j->job.extra = &j->kv;
        j->job.nextra = 1;
    }
    int rc = c360_inflight_submit(&p->q, p->d.engine, &j->job);
    if (rc) return rc;
    p->cur = NULL;
    return 0;
}

/* Submits, waiting out back-pressure; 0 or an error (then the caller reconnects). */
static int submit_wait(c360_pg_source *p)
{
    int rc;
    while ((rc = submit(p)) == C360_EBUSY && !stopping(p)) {
        reap(p);
        nap_ms(p, 5);
    }
    return rc;
}

/* ---- status updates ---- */

static int send_status(c360_pg_source *p, int force)
{
    int64_t now = pg_now_us();
    uint64_t flush = p->durable_end;
    /* nothing pending: everything the server sent before its last keepalive is applied */
    int idle = !p->in_tx && (!p->cur || (p->cur->n == 0 && p->cur->ntx == 0));
    if (idle) idle = c360_inflight_idle(&p->q);
    if (idle && p->keepalive_end > flush) flush = p->keepalive_end;
    if (flush < p->reported) flush = p->reported;   /* never move backwards */
    if (!force && flush == p->reported && now - p->last_status_us < STATUS_EVERY_US) return 0;
    unsigned char msg[C360_PG_STATUS_LEN];
    c360_pg_status_update(msg, flush, flush, flush, now, 0);
    if (PQputCopyData(p->conn, (const char *)msg, sizeof msg) != 1 || PQflush(p->conn) != 0) {
        log_err(C360_LOG_WARN, "postgres status update failed", PQerrorMessage(p->conn));
        return -1;
    }
    p->reported = flush;
    p->last_status_us = now;
    atomic_store(&p->d.metrics->pg_confirmed_lsn, flush);
    return 0;
}

/* ---- decoding ---- */

/* A delete in erase mode: everything before it is written first, then the customer is erased. */
static int cdc_erase(c360_pg_source *p, const char *user_id)
{
    if (submit_wait(p)) return -1;
    wait_idle(p);
    if (p->failed) return -1;
    uint64_t pid;
    if (c360_lookup_ident(p->d.store, p->d.rules, "user_id", user_id, &pid) != 1) return 0; /* nothing (left) to erase */
    c360_job job = {.erase_pid = pid};
    if (c360_engine_run(p->d.engine, &job, &p->stop)) return -1;
    if (job.status && job.status != C360_ENOPROFILE) {
        LOG_ERROR("CDC erasure failed", "\"code\":\"%s\"", c360_err_name(job.status));
        return -1;
    }
    return 0;
}

static void reject(c360_pg_source *p, const c360_pg_relation *rel, const char *why)
{
    c360_count(&p->d.metrics->pg_rejected, 1);
    if (C360_LOG_WARN < c360_log_level) return;
    strbuf f = STRBUF_INIT;
    sb_adds(&f, "\"table\":");
    c360_json_put_cstr(&f, rel->name);
    sb_addf(&f, ",\"lsn\":\"%X/%X\",\"error\":", (unsigned)(p->tx_lsn >> 32), (unsigned)p->tx_lsn);
    c360_json_put_cstr(&f, why);
    c360_log_write(C360_LOG_WARN, "postgres row rejected", "%s", f.buf);
    sb_release(&f);
}

/* One row change of a transaction being applied, or a row of the snapshot, as its envelope.
 * 0, or -1 when the stream must restart. */
static int on_row(c360_pg_source *p, const c360_pg_relation *rel, const char *env, size_t envlen)
{
    const ptable *t = table_for(p, rel);
    if (!t) return 0; /* published but not configured */
    char mid[128], err[512];
    snprintf(mid, sizeof mid, "pg-%s-%X/%X-%d", p->slot, (unsigned)(p->tx_lsn >> 32), (unsigned)p->tx_lsn, p->tx_idx++);
    sb_reset(&p->ev);
    int rc = c360_cdc_debezium(t->table, t->mapping, p->del, env, envlen, mid, &p->ev, err, sizeof err);
    if (rc < 0) {
        reject(p, rel, err);
        return 0;
    }
    if (rc == C360_CDC_ERASE) {
        char *uid = xstrndup(p->ev.buf, p->ev.len);
        int er = cdc_erase(p, uid);
        free(uid);
        return er;
    }
    if (rc != C360_CDC_EVENT) return 0;
    pjob *j = cur_job(p);
    if (j->n == j->cap) j->evs = xrealloc(j->evs, sizeof *j->evs * (size_t)(j->cap = j->cap ? j->cap * 2 : 64));
    memset(&j->evs[j->n], 0, sizeof j->evs[j->n]);
    int pr = c360_segment_parse_one(&p->cx, -1, p->ev.buf, p->ev.len, c360_now_ms(), &j->evs[j->n], err, sizeof err);
    if (pr) {
        c360_event_release(&j->evs[j->n]);
        reject(p, rel, err);
        return 0;
    }
    j->n++;
    /* a huge transaction is split: its earlier part is stored without the commit LSN, so a
     * replay re-sends it, and only its messageIds (dedup_window) drop it */
    if (j->n >= TX_SPLIT) return submit_wait(p) ? -1 : 0;
    return 0;
}

/* One pgoutput message. 0, or -1 when the stream must restart. */
static int on_message(c360_pg_source *p, const unsigned char *d, size_t n)
{
    c360_pg_msg m;
    char err[256], pos[64];
    /* the change's place in the log: identical changes stay distinct events */
    snprintf(pos, sizeof pos, "\"lsn\":%llu,\"seq\":%d", (unsigned long long)p->tx_lsn, p->tx_idx);
    sb_reset(&p->env);
    if (c360_pgoutput_parse(&p->rels, d, n, p->tx_ts, pos, &m, &p->env, err, sizeof err)) {
        log_err(C360_LOG_ERROR, "postgres stream not understood; reconnecting", err);
        return -1;
    }
    switch (m.kind) {
    case C360_PGM_BEGIN:
        p->in_tx = 1;
        p->tx_lsn = m.lsn;
        p->tx_ts = m.ts_ms;
        p->tx_idx = 0;
        p->skip_tx = m.lsn <= p->applied;
        if (p->skip_tx) c360_count(&p->d.metrics->pg_skipped, 1);
        return 0;
    case C360_PGM_COMMIT: {
        int was = p->in_tx && !p->skip_tx;
        p->in_tx = 0;
        if (!was) return 0;
        pjob *j = cur_job(p);
        j->commit_lsn = m.lsn;
        j->end_lsn = m.end_lsn;
        j->ntx++;
        if (m.lsn > p->applied) p->applied = m.lsn;
        return j->n >= BATCH_MAX && submit_wait(p) ? -1 : 0;
    }
    case C360_PGM_INSERT:
    case C360_PGM_UPDATE:
    case C360_PGM_DELETE:
        if (!p->in_tx) {
            log_err(C360_LOG_ERROR, "postgres stream not understood; reconnecting", "row change outside a transaction");
            return -1;
        }
        if (p->skip_tx) return 0;
        c360_count(&p->d.metrics->pg_changes, 1);
        return on_row(p, m.rel, p->env.buf, p->env.len);
    default:
        return 0; /* Relation (cached by the parser), Type, Origin, Truncate, Message */
    }
}

/* ---- the connection ---- */

static PGresult *exec_ok(c360_pg_source *p, const char *sql, ExecStatusType want, const char *what)
{
    char err[512];
    PGresult *r = c360_pg_exec(p->conn, sql, want, what, err, sizeof err);
    if (!r) log_err(C360_LOG_ERROR, "postgres command failed", err);
    return r;
}

/* ---- the initial snapshot (pg_snapshot.h) ---- */

static int snap_want(void *arg, const char *schema, const char *name)
{
    return table_named(arg, schema, name) != NULL;
}

static int snap_row(void *arg, const c360_pg_relation *rel, const char *env, size_t len)
{
    c360_pg_source *p = arg;
    if (stopping(p)) return -1;
    c360_count(&p->d.metrics->pg_snapshot_rows, 1);
    if (on_row(p, rel, env, len)) return -1;
    if (p->cur && p->cur->n >= BATCH_MAX) {
        if (submit_wait(p)) return -1;
        reap(p);   /* a batch that was not stored stops the snapshot */
    }
    return p->failed ? -1 : 0;
}

/* Creates the slot with a snapshot and hands every row of the configured tables to the engine;
 * the last job stores the slot's consistent point, so a stored position says the snapshot is
 * complete. 0 once all of it is durable, or -1 (logged). */
static int take_snapshot(c360_pg_source *p)
{
    char err[512];
    uint64_t lsn, rows;
    LOG_INFO("postgres snapshot started", "\"slot\":\"%s\",\"publication\":\"%s\"", p->slot, p->pub);
    p->tx_lsn = 0;
    p->tx_idx = 0;
    c360_pg_snapshot_cbs cb = {snap_want, snap_row, p};
    if (c360_pg_snapshot(p->conn, p->slot, p->pub, &cb, &lsn, &rows, err, sizeof err)) {
        log_err(C360_LOG_ERROR, "postgres snapshot failed; it starts over on the next connection", err);
        return -1;
    }
    pjob *j = cur_job(p);
    j->commit_lsn = j->end_lsn = lsn;
    j->snapshot_end = 1;
    if (submit_wait(p)) return -1;
    wait_idle(p);
    if (p->failed) return -1;
    LOG_INFO("postgres snapshot finished", "\"rows\":%llu,\"lsn\":\"%X/%X\"", (unsigned long long)rows,
             (unsigned)(lsn >> 32), (unsigned)lsn);
    return 0;
}

/* Connects and starts streaming; 0, or -1 (logged; the caller backs off). */
static int connect_stream(c360_pg_source *p)
{
    const char *keys[] = {"connect_timeout", "application_name", "dbname", "replication", NULL};
    const char *vals[] = {"10", "c360", p->d.cfg->postgres_conninfo, "database", NULL};
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        log_err(C360_LOG_ERROR, "postgres connection failed", p->conn ? PQerrorMessage(p->conn) : "out of memory");
        return -1;
    }
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = '%s'", p->pub);
    PGresult *r = exec_ok(p, sql, PGRES_TUPLES_OK, "publication lookup");
    if (!r) return -1;
    int have = PQntuples(r) > 0;
    PQclear(r);
    if (!have) {
        LOG_ERROR("postgres publication does not exist (CREATE PUBLICATION ... FOR TABLE ...; docs/SOURCES.md)",
                  "\"publication\":\"%s\"", p->pub);
        return -1;
    }
    snprintf(sql, sizeof sql, "SELECT plugin FROM pg_catalog.pg_replication_slots WHERE slot_name = '%s'", p->slot);
    if (!(r = exec_ok(p, sql, PGRES_TUPLES_OK, "slot lookup"))) return -1;
    int found = PQntuples(r) > 0;
    int pgoutput = found && !strcmp(PQgetvalue(r, 0, 0), "pgoutput");
    PQclear(r);
    if (found && !pgoutput) {
        LOG_ERROR("postgres slot exists with another plugin than pgoutput", "\"slot\":\"%s\"", p->slot);
        return -1;
    }
    /* no stored position: the snapshot of this slot did not finish (or this data dir never
     * had it): start again with a new slot */
    int snap = p->snapshot && stored_lsn(p) == 0;
    if (found && snap) {
        snprintf(sql, sizeof sql, "DROP_REPLICATION_SLOT %s", p->slot);
        if (!(r = exec_ok(p, sql, PGRES_COMMAND_OK, "slot drop (to take the initial snapshot again)"))) return -1;
        PQclear(r);
        LOG_INFO("postgres replication slot dropped: nothing of it is stored, the snapshot starts over", "\"slot\":\"%s\"", p->slot);
        found = 0;
    }
    if (!found && snap) {
        if (take_snapshot(p)) return -1;
    } else if (!found) {
        snprintf(sql, sizeof sql, "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput NOEXPORT_SNAPSHOT", p->slot);
        if (!(r = exec_ok(p, sql, PGRES_TUPLES_OK, "slot creation"))) return -1;
        LOG_INFO("postgres replication slot created", "\"slot\":\"%s\",\"lsn\":\"%s\"", p->slot,
                 PQnfields(r) > 1 ? PQgetvalue(r, 0, 1) : "");
        PQclear(r);
    }
    uint64_t at = stored_lsn(p);
    p->applied = at;
    snprintf(sql, sizeof sql, "START_REPLICATION SLOT %s LOGICAL %X/%X (proto_version '1', publication_names '%s')", p->slot,
             (unsigned)(at >> 32), (unsigned)at, p->pub);
    if (!(r = exec_ok(p, sql, PGRES_COPY_BOTH, "START_REPLICATION"))) return -1;
    PQclear(r);
    p->streaming = 1;
    c360_pg_relations_release(&p->rels);
    p->in_tx = p->skip_tx = 0;
    p->failed = 0;
    p->keepalive_end = 0;
    p->reported = 0;
    p->last_status_us = 0;
    LOG_INFO("postgres replication started", "\"slot\":\"%s\",\"publication\":\"%s\",\"from\":\"%X/%X\"", p->slot, p->pub,
             (unsigned)(at >> 32), (unsigned)at);
    return 0;
}

/* Streams until stop, an error or the end of the copy. Returns 1 if anything was received
 * (the backoff starts over), else 0. */
static int stream(c360_pg_source *p)
{
    int got = 0;
    while (!stopping(p)) {
        reap(p);
        if (p->failed) break;
        if (send_status(p, 0)) break;
        char *buf = NULL;
        int n = PQgetCopyData(p->conn, &buf, 1);
        if (n > 0) {
            got = 1;
            c360_pg_frame f;
            char err[256];
            int rc = c360_pg_frame_parse(buf, (size_t)n, &f, err, sizeof err);
            if (rc) {
                log_err(C360_LOG_ERROR, "postgres stream not understood; reconnecting", err);
            } else if (f.kind == 'w') {
                rc = on_message(p, f.data, f.len);
            } else {
                if (f.end > p->keepalive_end) p->keepalive_end = f.end;
                atomic_store(&p->d.metrics->pg_received_lsn, f.end);
                if (f.reply) rc = send_status(p, 1);
            }
            PQfreemem(buf);
            if (rc) break;
            continue;
        }
        if (n == -1) { /* the server ended the stream */
            p->streaming = 0;
            PGresult *r = PQgetResult(p->conn);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) log_err(C360_LOG_WARN, "postgres stream ended", PQresultErrorMessage(r));
            PQclear(r);
            break;
        }
        if (n == -2) {
            p->streaming = 0;
            log_err(C360_LOG_WARN, "postgres connection lost", PQerrorMessage(p->conn));
            break;
        }
        /* nothing buffered: the transactions read so far go to the engine (never a part of a
         * transaction: its events are stored with its commit LSN), then wait for the socket */
        if (!p->in_tx && p->cur && (p->cur->n || p->cur->ntx)) {
            int rc = submit(p);
            if (rc == 0) continue;
            if (rc != C360_EBUSY) break;
        }
        struct pollfd pfd = {PQsocket(p->conn), POLLIN, 0};
        if (pfd.fd < 0) break;
        poll(&pfd, 1, p->cur && !p->in_tx ? 5 : 100);
        if (!PQconsumeInput(p->conn)) {
            log_err(C360_LOG_WARN, "postgres connection lost", PQerrorMessage(p->conn));
            break;
        }
    }
    return got;
}

/* Ends a session: the unsent job is dropped (it was never stored: it is streamed again), the
 * jobs in flight are waited for and what is durable is confirmed. */
static void disconnect(c360_pg_source *p)
{
    job_free(p->cur);
    p->cur = NULL;
    p->in_tx = 0;
    p->keepalive_end = 0; /* a keepalive may have come after the dropped transactions */
    wait_idle(p);
    if (p->streaming && PQstatus(p->conn) == CONNECTION_OK && !p->failed) send_status(p, 1);
    if (p->conn) PQfinish(p->conn);
    p->conn = NULL;
    p->streaming = 0;
}

static void *source_main(void *arg)
{
    c360_thread_name("c360-postgres");
    c360_pg_source *p = arg;
    long backoff = BACKOFF_MIN_MS;
    while (!stopping(p)) {
        int got = 0;
        if (connect_stream(p) == 0) got = stream(p);
        disconnect(p);
        if (stopping(p)) break;
        c360_count(&p->d.metrics->pg_reconnects, 1);
        if (got) backoff = BACKOFF_MIN_MS;
        LOG_INFO("postgres reconnecting", "\"in_ms\":%ld", backoff);
        nap_ms(p, backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    return NULL;
}

/* ---- lifecycle ---- */

int c360_pg_source_open(c360_pg_source **out, const c360_pg_deps *d, char *err, size_t errlen)
{
    *out = NULL;
    const c360_config *c = d->cfg;
    if (!c->postgres_conninfo || !*c->postgres_conninfo) return 0;
    c360_pg_source *p = xcalloc(1, sizeof *p);
    p->d = *d;
    p->cx = (c360_segment_ctx){.rules = d->rules, .secret = c360_store_secret(d->store), .max_event_bytes = c->max_event_bytes,
                               .max_batch_bytes = c->max_batch_bytes};
    c360_inflight_init(&p->q);
    sb_init(&p->env);
    sb_init(&p->ev);
    p->slot = xstrdup(c->postgres_slot ? c->postgres_slot : "");
    p->pub = xstrdup(c->postgres_publication ? c->postgres_publication : "");
    if (!plain_name(p->slot)) {
        snprintf(err, errlen, "postgres.slot must be 1-63 lowercase letters, digits or _");
        goto bad;
    }
    if (!plain_name(p->pub)) {
        snprintf(err, errlen, "postgres.publication must be 1-63 lowercase letters, digits or _");
        goto bad;
    }
    if (!strcmp(c->postgres_cdc_delete, "erase")) p->del = C360_CDC_DELETE_ERASE;
    else if (!strcmp(c->postgres_cdc_delete, "clear")) p->del = C360_CDC_DELETE_CLEAR;
    else {
        snprintf(err, errlen, "postgres.cdc_delete must be clear or erase");
        goto bad;
    }
    if (!strcmp(c->postgres_snapshot, "initial")) p->snapshot = 1;
    else if (strcmp(c->postgres_snapshot, "never")) {
        snprintf(err, errlen, "postgres.snapshot must be initial or never");
        goto bad;
    }
    if (tables_parse(p, c->postgres_tables, err, errlen)) goto bad;
    for (int i = 0; i < p->ntables; i++) {
        if (!p->tables[i].mapping_name) continue;
        if (!p->maps) {
            if (!c->config_file) {
                snprintf(err, errlen, "postgres.tables names mappings but there is no config file with a mappings section");
                goto bad;
            }
            if (c360_mappings_load(c->config_file, &p->maps, err, errlen)) goto bad;
        }
        p->tables[i].mapping = c360_mappings_find(p->maps, p->tables[i].mapping_name);
        if (!p->tables[i].mapping) {
            snprintf(err, errlen, "postgres.tables: %s: no mapping named '%s' in the mappings section", p->tables[i].rel,
                     p->tables[i].mapping_name);
            goto bad;
        }
    }
    *out = p;
    return 0;
bad:
    c360_pg_source_free(p);
    return -1;
}

int c360_pg_source_start(c360_pg_source *p)
{
    if (pthread_create(&p->th, NULL, source_main, p) != 0) return -1;
    p->started = 1;
    LOG_INFO("postgres source started", "\"slot\":\"%s\",\"publication\":\"%s\",\"tables\":%d", p->slot, p->pub, p->ntables);
    return 0;
}

void c360_pg_source_stop(c360_pg_source *p)
{
    if (!p || !p->started) return;
    atomic_store(&p->stop, 1);
    pthread_join(p->th, NULL);
    p->started = 0;
    LOG_INFO("postgres source stopped", "%s", "");
}

void c360_pg_source_free(c360_pg_source *p)
{
    if (!p) return;
    c360_pg_source_stop(p);
    disconnect(p);
    c360_pg_relations_release(&p->rels);
    tables_free(p->tables, p->ntables);
    c360_mappings_free(p->maps);
    sb_release(&p->env);
    sb_release(&p->ev);
    free(p->slot);
    free(p->pub);
    c360_inflight_destroy(&p->q);
    free(p);
}
