/* engine.h -- the single writer: applies events to the store, in order, with group commit.
 *
 * Threads: sources (HTTP loops, the loader) submit jobs from any thread; one writer thread owns
 * every state change. It takes all queued jobs at once, applies their events into one
 * transaction plus the in-memory working set (state.h), commits once with an fsync of the WAL,
 * and only then calls each job's `done` callback. If the store fails, the group is abandoned:
 * what is in memory is dropped and every job is answered 503. One caveat: a merge commits the
 * group so far (without fsync) before it moves the loser's events, so that part may already be
 * in the store when a later failure abandons the rest; it was never acknowledged, and a client's
 * retry is harmless because duplicate messageIds are dropped. So an acknowledgement
 * always means durable, and one fsync is shared by every request that arrived meanwhile.
 * Back-pressure: submit refuses (C360_EBUSY) when queue_max_events are already waiting.
 * Single ownership of writes also makes identity resolution race-free without locks. */
#ifndef C360_ENGINE_H
#define C360_ENGINE_H

#include <stdint.h>
#include "core/config.h"
#include "core/metrics.h"
#include "identity/normalize.h"
#include "sources/event.h"
#include "store/store.h"

typedef struct c360_engine c360_engine;
typedef struct c360_kv { const void *k; size_t kl; const void *v; size_t vl; } c360_kv;
typedef struct c360_job c360_job;

struct c360_job {
    c360_event *evs;             /* owned by the submitter; not freed by the engine */
    int n;
    uint64_t erase_pid;          /* non-zero: an erasure of this customer instead of events */
    int64_t sweep_before_ms;     /* non-zero: erase every customer whose last event is older */
    int rebuild;                 /* non-zero: one step of a features rebuild (the engine queues
                                    it again until the rebuild is complete) */
    const struct c360_kv *extra; /* written in the same atomic commit as the events (source
                                    offsets: a replay after a crash never counts twice) */
    int nextra;
    int swept;                   /* out, for sweeps: customers erased */
    uint64_t *swept_pids;        /* out, for sweeps: their ids (malloc'd; the submitter frees) */
    struct c360_erase_report *erased; /* out, for erasures (may be NULL) */
    int status;                  /* out: 0 or a C360_E* code */
    int accepted, duplicates;    /* out */
    void (*done)(c360_job *job); /* called on the writer thread after commit; must not block */
    void *udata;
    c360_job *next;              /* private */
};

struct c360_features;
/* `features` may be NULL (no computed features). */
int c360_engine_open(c360_engine **out, c360_store *s, const c360_config *c, const c360_id_rules *rules,
                     struct c360_features *features, c360_metrics *m, char *err, size_t errlen);
/* Where durable changes go besides the store (before c360_engine_start; either may be NULL):
 * the Kafka sink and the alert webhook, also handed to the features layer. */
struct c360_sink;
struct c360_whsink;
void c360_engine_set_outputs(c360_engine *e, struct c360_sink *sink, struct c360_whsink *whsink);
int c360_engine_start(c360_engine *e);       /* starts the writer thread */
int c360_engine_submit(c360_engine *e, c360_job *job);
/* Starts a rebuild of every customer's features with the config file's definitions while the
 * server keeps serving (features.h). 0, or the features layer's code (-1 invalid config, -2
 * running, -3 off) with err. Progress: c360_features_rebuild_status. */
int c360_engine_rebuild(c360_engine *e, char *err, size_t errlen);
/* Synchronous erasure (c360 load's process, tests): commits, then purges. */
int c360_engine_erase(c360_engine *e, uint64_t pid, struct c360_erase_report *rep);
void c360_engine_stop(c360_engine *e);       /* finishes queued jobs, joins the writer */
void c360_engine_free(c360_engine *e);

/* Synchronous use without the thread (c360 load): apply into the open transaction, then commit. */
int c360_engine_apply(c360_engine *e, c360_event *evs, int n, int *accepted, int *dups);
int c360_engine_commit(c360_engine *e, int sync, char *err, size_t errlen);
void c360_engine_abort(c360_engine *e);   /* forget everything applied since the last commit */
size_t c360_engine_pending_bytes(c360_engine *e);
/* Called on the writer thread after every durable commit with the profiles it changed (live
 * updates: the HTTP layer pushes them to subscribers). Must not block. */
typedef void (*c360_commit_cb)(void *arg, const uint64_t *pids, size_t n);
void c360_engine_on_commit(c360_engine *e, c360_commit_cb cb, void *arg);
/* Writes a key in the pending group (synchronous use: c360 load's resume markers). */
void c360_engine_put(c360_engine *e, const void *k, size_t kl, const void *v, size_t vl);

#endif
