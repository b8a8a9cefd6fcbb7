/* fuzz_pgoutput.c -- the logical replication stream decoder (src/sources/pgoutput.c) on arbitrary
 * bytes: c360_pg_frame_parse on the whole input, then the input cut into messages (each a 2-byte
 * big-endian length and that many bytes) fed in order to c360_pgoutput_parse with one relation
 * cache, so that Relation messages define the tables later changes refer to.
 * Invariants:
 *  - both return 0 or -1; -1 comes with a reason;
 *  - a frame's data lies inside the input;
 *  - a refused message leaves the envelope empty and the cache within its bounds;
 *  - an accepted message has the kind of its first byte; Insert/Update/Delete name a cached
 *    relation and produce an envelope that parses as one JSON object with "op" and "source";
 *    Relation leaves that relation findable by its oid;
 *  - a row of every cached relation read by a query (the initial snapshot's c360_pg_row_envelope),
 *    its text values cut from the input, some NULL, is one JSON object with "op" and "source". */
#include "fuzz_common.h"

#include "sources/pgoutput.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    c360_pg_frame f;
    err[0] = 0;
    int fr = c360_pg_frame_parse(data, size, &f, err, sizeof err);
    CHECK(fr == 0 || fr == -1, "frame parse returned %d", fr);
    if (fr) CHECK(err[0], "frame refused without a reason");
    else if (f.kind == 'w') CHECK(f.data >= data && f.data + f.len == data + size, "XLogData payload outside the input");

    c360_pg_relations rs = {0};
    strbuf env = STRBUF_INIT;
    size_t at = 0;
    while (size - at >= 2) {
        size_t n = (size_t)data[at] << 8 | data[at + 1];
        at += 2;
        if (n > size - at) n = size - at;
        const uint8_t *msg = data + at;
        at += n;
        c360_pg_msg m;
        sb_reset(&env);
        err[0] = 0;
        int rc = c360_pgoutput_parse(&rs, msg, n, 1700000000000LL, "\"lsn\":1", &m, &env, err, sizeof err);
        CHECK(rc == 0 || rc == -1, "parse returned %d", rc);
        CHECK(rs.n >= 0 && rs.n <= C360_PG_MAX_RELATIONS, "relation cache holds %d", rs.n);
        if (rc) {
            CHECK(err[0], "message refused without a reason");
            CHECK(env.len == 0, "refused message left %zu bytes of envelope", env.len);
            continue;
        }
        CHECK(n > 0 && m.kind == msg[0], "accepted message of kind %d from first byte %d", m.kind, n ? msg[0] : -1);
        if (m.kind == C360_PGM_RELATION) {
            CHECK(m.rel && c360_pg_relation_find(&rs, m.rel->oid) == m.rel, "Relation not cached");
            CHECK(m.rel->ncols <= C360_PG_MAX_COLUMNS, "relation with %d columns", m.rel->ncols);
        }
        if (m.kind == C360_PGM_INSERT || m.kind == C360_PGM_UPDATE || m.kind == C360_PGM_DELETE) {
            CHECK(m.rel != NULL, "change without a relation");
            c360_json j;
            c360_json_init(&j);
            char e[128];
            int jr = c360_json_parse(&j, env.buf, env.len, e, sizeof e);
            CHECK(jr == 0, "envelope is not JSON (%s): %.300s", e, env.buf);
            CHECK(j.tok[0].type == CJ_OBJECT && c360_json_get(&j, 0, "op") >= 0 && c360_json_get(&j, 0, "source") >= 0,
                  "envelope lacks op or source: %.300s", env.buf);
            c360_json_release(&j);
        } else {
            CHECK(env.len == 0, "message of kind %c wrote an envelope", m.kind);
        }
    }
    /* the snapshot's rows: every cached relation, values cut from the input in turn */
    for (int r = 0; r < rs.n && r < 8; r++) {
        const c360_pg_relation *rel = &rs.r[r];
        const char **vals = calloc((size_t)rel->ncols + 1, sizeof *vals);
        size_t *lens = calloc((size_t)rel->ncols + 1, sizeof *lens);
        CHECK(vals && lens, "out of memory");
        size_t pos = 0;
        for (int c = 0; c < rel->ncols; c++) {
            size_t left = size - pos, n = left ? (size_t)data[pos] % 24 : 0;
            if (n > left) n = left;
            vals[c] = left && data[pos] % 7 == 0 ? NULL : (const char *)data + pos;
            lens[c] = n;
            pos = pos + n < size ? pos + n : 0;
        }
        sb_reset(&env);
        c360_pg_row_envelope(rel, vals, lens, 1700000000000LL, "\"snapshot\":true", &env);
        c360_json j;
        c360_json_init(&j);
        char e[128];
        CHECK(c360_json_parse(&j, env.buf, env.len, e, sizeof e) == 0, "snapshot row is not JSON (%s): %.300s", e, env.buf);
        CHECK(j.tok[0].type == CJ_OBJECT && c360_json_get(&j, 0, "op") >= 0 && c360_json_get(&j, 0, "source") >= 0,
              "snapshot row lacks op or source: %.300s", env.buf);
        c360_json_release(&j);
        free(vals);
        free(lens);
    }
    sb_release(&env);
    c360_pg_relations_release(&rs);
    return 0;
}
