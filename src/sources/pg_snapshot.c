/* pg_snapshot.c -- the PostgreSQL source's initial snapshot: slot creation with its snapshot in
 * use, and every wanted published table read at it, as Debezium snapshot envelopes. See
 * pg_snapshot.h. */
#include "sources/pg_snapshot.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_ROWS 1000

PGresult *c360_pg_exec(PGconn *c, const char *sql, ExecStatusType want, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    if (r && PQresultStatus(r) == want) return r;
    const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
    if (!*m) m = r ? PQresStatus(PQresultStatus(r)) : "no result";
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' ')) n--;
    snprintf(err, errlen, "%s: %.*s", what, (int)n, m);
    PQclear(r);
    return NULL;
}

static int run_ok(PGconn *c, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = c360_pg_exec(c, sql, PGRES_COMMAND_OK, what, err, errlen);
    PQclear(r);
    return r ? 0 : -1;
}

uint64_t c360_pg_lsn_parse(const char *s)
{
    char *e;
    unsigned long long hi = strtoull(s, &e, 16);
    if (e == s || *e != '/' || hi > 0xffffffffULL) return 0;
    const char *lo_s = e + 1;
    unsigned long long lo = strtoull(lo_s, &e, 16);
    if (e == lo_s || *e || lo > 0xffffffffULL) return 0;
    return (uint64_t)hi << 32 | lo;
}

/* one table through a cursor; 0 or -1 with err */
static int read_table(PGconn *c, const char *schema, const char *name, int64_t ts_ms, const c360_pg_snapshot_cbs *cb,
                      uint64_t *rows, char *err, size_t errlen)
{
    char *qs = PQescapeIdentifier(c, schema, strlen(schema)), *qn = PQescapeIdentifier(c, name, strlen(name));
    if (!qs || !qn) {
        PQfreemem(qs);
        PQfreemem(qn);
        snprintf(err, errlen, "snapshot: cannot quote the name of table %s", name);
        return -1;
    }
    strbuf sql = STRBUF_INIT, env = STRBUF_INIT;
    sb_addf(&sql, "DECLARE c360_snapshot NO SCROLL CURSOR FOR SELECT * FROM ONLY %s.%s", qs, qn);
    PQfreemem(qs);
    PQfreemem(qn);
    int rc = run_ok(c, sql.buf, "snapshot: DECLARE", err, errlen);
    c360_pg_relation rel = {.schema = (char *)schema, .name = (char *)name};
    const char **vals = NULL;
    size_t *lens = NULL;
    while (rc == 0) {
        char fetch[64];
        snprintf(fetch, sizeof fetch, "FETCH %d FROM c360_snapshot", FETCH_ROWS);
        PGresult *r = c360_pg_exec(c, fetch, PGRES_TUPLES_OK, "snapshot: FETCH", err, errlen);
        if (!r) {
            rc = -1;
            break;
        }
        int nr = PQntuples(r), nf = PQnfields(r);
        if (!rel.cols) {   /* the columns, from the first answer */
            rel.ncols = nf;
            rel.cols = xcalloc((size_t)(nf ? nf : 1), sizeof *rel.cols);
            vals = xcalloc((size_t)(nf ? nf : 1), sizeof *vals);
            lens = xcalloc((size_t)(nf ? nf : 1), sizeof *lens);
            for (int f = 0; f < nf; f++) rel.cols[f] = (c360_pg_column){.name = xstrdup(PQfname(r, f)), .type = (uint32_t)PQftype(r, f)};
        }
        for (int i = 0; i < nr && rc == 0; i++) {
            for (int f = 0; f < nf; f++) {
                vals[f] = PQgetisnull(r, i, f) ? NULL : PQgetvalue(r, i, f);
                lens[f] = (size_t)PQgetlength(r, i, f);
            }
            sb_reset(&env);
            c360_pg_row_envelope(&rel, vals, lens, ts_ms, "\"snapshot\":true", &env);
            if (cb->row(cb->arg, &rel, env.buf, env.len)) {
                snprintf(err, errlen, "snapshot: stopped in table %s", name);
                rc = -1;
            }
            (*rows)++;
        }
        PQclear(r);
        if (nr < FETCH_ROWS) break;
    }
    if (rc == 0) rc = run_ok(c, "CLOSE c360_snapshot", "snapshot: CLOSE", err, errlen);
    for (int f = 0; f < rel.ncols; f++) free(rel.cols[f].name);
    free(rel.cols);
    free(vals);
    free(lens);
    sb_release(&sql);
    sb_release(&env);
    return rc;
}

int c360_pg_snapshot(PGconn *c, const char *slot, const char *pub, const c360_pg_snapshot_cbs *cb, uint64_t *lsn,
                     uint64_t *rows, char *err, size_t errlen)
{
    *lsn = 0;
    *rows = 0;
    char sql[512];
    if (run_ok(c, "BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ", "snapshot: BEGIN", err, errlen)) return -1;
    snprintf(sql, sizeof sql, "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput USE_SNAPSHOT", slot);
    PGresult *r = c360_pg_exec(c, sql, PGRES_TUPLES_OK, "snapshot: slot creation", err, errlen);
    if (!r) goto abort;
    *lsn = PQnfields(r) > 1 ? c360_pg_lsn_parse(PQgetvalue(r, 0, 1)) : 0;
    PQclear(r);
    if (!*lsn) {
        snprintf(err, errlen, "snapshot: the slot's consistent point was not understood");
        goto abort;
    }
    /* the snapshot's time (the transaction began before the slot): the rows' event time */
    if (!(r = c360_pg_exec(c, "SELECT (extract(epoch FROM now()) * 1000)::bigint", PGRES_TUPLES_OK, "snapshot: time", err,
                           errlen)))
        goto abort;
    int64_t ts_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    snprintf(sql, sizeof sql,
             "SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = '%s' ORDER BY 1, 2", pub);
    if (!(r = c360_pg_exec(c, sql, PGRES_TUPLES_OK, "snapshot: publication tables", err, errlen))) goto abort;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *schema = PQgetvalue(r, i, 0), *name = PQgetvalue(r, i, 1);
        if (!cb->want(cb->arg, schema, name)) continue;
        if (read_table(c, schema, name, ts_ms, cb, rows, err, errlen)) {
            PQclear(r);
            goto abort;
        }
    }
    PQclear(r);
    return run_ok(c, "COMMIT", "snapshot: COMMIT", err, errlen);
abort:
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}
