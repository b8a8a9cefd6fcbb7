/* engine.c -- writer thread, group commit and the per-event apply pipeline:
 * dedup -> identity resolution -> timeline -> profile update. See engine.h. */
#include "engine/engine.h"
#include "engine/state.h"
#include "features/features.h"
#include "privacy/consent.h"
#include "privacy/erase.h"
#include "identity/resolve.h"
#include "profile/profile.h"
#include "profile/timeline.h"
#include "sources/sink.h"
#include "sources/webhook_sink.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/sched.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_MAX_EVENTS 50000

struct c360_engine {
    c360_store *store;
    const c360_config *cfg;
    c360_metrics *m;
    c360_resolver res;
    c360_features *features;        /* may be NULL */
    c360_sink *sink;                /* Kafka sink, may be NULL */
    c360_whsink *whsink;            /* alert webhook, may be NULL */
    c360_suppress *suppressed;      /* identifiers of erased customers */
    c360_commit_cb on_commit;       /* live updates; may be NULL */
    void *on_commit_arg;
    c360_state *st;                 /* profiles and index entries changed since the last commit */
    c360_txn *txn;                  /* events, merge records, dedup marks since the last commit */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    c360_job *head, *tail;
    int64_t queued;
    int64_t merge_day;              /* UTC day of merges_today (INT64_MIN: to be read) */
    uint64_t merges_today;
    int stopping, started;
    pthread_t th;
    /* the dedup keys of the events being applied, read in one batched MultiGet before them:
     * found[i] 1 (stored at at[i]), 0 absent, -1 unknown; valid while the group's messageId set
     * has not been emptied since (c360_state_msg_clears == pre_clears) */
    int *pre_found;
    int64_t *pre_at;
    int pre_n, pre_cap;
    uint64_t pre_clears;
};

static int commit_pending(void *arg)
{
    c360_engine *e = arg;
    char err[256];
    if (e->features) c360_features_flush(e->features, e->txn);
    c360_state_flush(e->st, e->txn);
    if (c360_txn_commit(e->txn, 0, err, sizeof err)) {
        LOG_ERROR("commit failed", "\"error\":\"%s\"", err);
        return -1;
    }
    return 0;
}

static void on_merge(void *arg, c360_profile *surv, const c360_profile *loser)
{
    c360_engine *e = arg;
    if (e->features) c360_features_on_merge(e->features, surv, loser);
    c360_sink_note_merge(e->sink, surv->pid, loser->pid);
}

static int init_resolver(c360_engine *e, const c360_id_rules *rules)
{
    if (c360_resolver_init(&e->res, e->store, e->st, rules)) return -1;
    e->res.commit_pending = commit_pending;
    e->res.on_merge = on_merge;
    e->res.commit_arg = e;
    return 0;
}

int c360_engine_open(c360_engine **out, c360_store *s, const c360_config *c, const c360_id_rules *rules,
                     c360_features *features, c360_metrics *m, char *err, size_t errlen)
{
    c360_engine *e = xcalloc(1, sizeof *e);
    e->store = s;
    e->features = features;
    e->cfg = c;
    e->m = m;
    e->st = c360_state_new(s, 100000);
    e->suppressed = c360_suppress_load(s);
    if (init_resolver(e, rules)) {
        c360_state_free(e->st);
        snprintf(err, errlen, "cannot read the store's profile sequence");
        free(e);
        return -1;
    }
    e->txn = c360_txn_new(s);
    e->merge_day = INT64_MIN;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    *out = e;
    return 0;
}

void c360_engine_free(c360_engine *e)
{
    if (!e) return;
    c360_txn_free(e->txn);
    c360_state_free(e->st);
    c360_suppress_free(e->suppressed);
    free(e->pre_found);
    free(e->pre_at);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}

/* reads the dedup keys of evs[0..n) in one batched MultiGet (a Get per event was 8% of the
 * writer's samples on a UCI x8 load): RocksDB probes the memtables' and files' filters for the
 * whole batch at once */
static void dedup_prefetch(c360_engine *e, const c360_event *evs, int n)
{
    e->pre_n = 0;
    if (n < 2) return;
    if (n > e->pre_cap) {
        e->pre_cap = n;
        e->pre_found = xrealloc(e->pre_found, sizeof *e->pre_found * (size_t)n);
        e->pre_at = xrealloc(e->pre_at, sizeof *e->pre_at * (size_t)n);
    }
    c360_key *k = xmalloc(sizeof *k * (size_t)n);
    const char **kp = xmalloc(sizeof *kp * (size_t)n);
    size_t *kl = xmalloc(sizeof *kl * (size_t)n);
    strbuf *v = xcalloc((size_t)n, sizeof *v);
    for (int i = 0; i < n; i++) {
        c360_key_dedup(&k[i], evs[i].msg_hash);
        kp[i] = (const char *)k[i].b;
        kl[i] = k[i].n;
    }
    c360_store_multi_get(e->store, (size_t)n, kp, kl, v, e->pre_found);
    for (int i = 0; i < n; i++) {
        if (e->pre_found[i] == 1 && v[i].len < 8) e->pre_found[i] = 0;   /* as dedup_seen reads it */
        e->pre_at[i] = e->pre_found[i] == 1 ? (int64_t)c360_get_u64be((unsigned char *)v[i].buf) : 0;
        sb_release(&v[i]);
    }
    free(k);
    free(kp);
    free(kl);
    free(v);
    e->pre_n = n;
    e->pre_clears = c360_state_msg_clears(e->st);
}

/* 1 if the event's messageId was applied within the dedup window (-1 on a store error); `i` is
 * its index in the batch whose keys dedup_prefetch read (-1: none). A commit inside the batch (a
 * merge commits what came before it) empties the group's set and writes the keys it held, so
 * from then on the store is read again. */
static int dedup_seen(c360_engine *e, const c360_event *ev, int i, int64_t now, strbuf *tmp)
{
    if (c360_state_seen_msg(e->st, ev->msg_hash)) return 1;
    int f;
    int64_t at = 0;
    if (i >= 0 && i < e->pre_n && e->pre_clears == c360_state_msg_clears(e->st) && e->pre_found[i] >= 0) {
        f = e->pre_found[i];
        at = e->pre_at[i];
    } else {
        c360_key k;
        c360_key_dedup(&k, ev->msg_hash);
        f = c360_store_get(e->store, k.b, k.n, tmp);
        if (f < 0) return -1;
        if (f == 1 && tmp->len >= 8) at = (int64_t)c360_get_u64be((unsigned char *)tmp->buf);
        else f = 0;
    }
    return f == 1 && now - at <= e->cfg->dedup_window_ms;
}

static void dedup_mark(c360_engine *e, const c360_event *ev, int64_t now, uint64_t pid)
{
    c360_key k;
    unsigned char v[16];
    c360_key_dedup(&k, ev->msg_hash);
    c360_put_u64be(v, (uint64_t)now);
    c360_put_u64be(v + 8, pid);
    c360_txn_put(e->txn, k.b, k.n, v, 16);
    c360_state_add_msg(e->st, ev->msg_hash);
}

static int apply_one(c360_engine *e, c360_event *ev, int idx, int64_t now, int *dup, strbuf *tmp)
{
    *dup = 0;
    int d = dedup_seen(e, ev, idx, now, tmp);
    if (d < 0) return C360_ESTORE;
    if (d) {
        *dup = 1;
        return 0;
    }
    if (e->cfg->erasure_suppress)
        for (int i = 0; i < ev->nids; i++)
            if (c360_suppress_has(e->suppressed, ev->ids[i].hash)) {
                c360_count(&e->m->events_suppressed, 1);
                *dup = 1; /* acknowledged, not stored: the customer asked to be erased */
                return 0;
            }
    c360_profile *p;
    int rc = c360_resolve(&e->res, e->txn, ev, now, &p);
    if (rc) return rc;
    c360_timeline_put(e->txn, p->pid, ev);
    c360_profile_seen(p, ev->ts);
    c360_profile_count(p, c360_ev_type_name(ev->type), ev->type == C360_EV_TRACK ? ev->name : NULL);
    for (int i = 0; i < ev->ntraits; i++)
        c360_profile_set_trait(p, ev->traits[i].key, strlen(ev->traits[i].key), ev->traits[i].json,
                               strlen(ev->traits[i].json), ev->ts);
    c360_consent_apply(e->txn, p, ev);
    if (e->features && (rc = c360_features_on_event(e->features, e->txn, p, ev, now)) != 0) return rc;
    dedup_mark(e, ev, now, p->pid);
    c360_sink_note_event(e->sink, p->pid, ev); /* published once the group is committed */
    return 0;
}

/* merges per UTC day of processing, kept in the store for the console's "merges today" */
static void count_merges_today(c360_engine *e, uint64_t n, int64_t now)
{
    int64_t day = now / 86400000;
    c360_key k;
    c360_key_merges_day(&k, day);
    if (day != e->merge_day) {
        strbuf v = STRBUF_INIT;
        e->merges_today = c360_store_get(e->store, k.b, k.n, &v) == 1 && v.len == 8 ? c360_get_u64be((unsigned char *)v.buf) : 0;
        sb_release(&v);
        e->merge_day = day;
    }
    e->merges_today += n;
    unsigned char b[8];
    c360_put_u64be(b, e->merges_today);
    c360_txn_put(e->txn, k.b, k.n, b, 8);
}

int c360_engine_apply(c360_engine *e, c360_event *evs, int n, int *accepted, int *dups)
{
    int64_t now = c360_now_ms();
    strbuf tmp = STRBUF_INIT;
    int rc = 0, acc = 0, dd = 0;
    uint64_t c0 = e->res.created, m0 = e->res.merged, d0 = e->res.dropped;
    dedup_prefetch(e, evs, n);
    for (int i = 0; i < n && !rc; i++) {
        int dup;
        rc = apply_one(e, &evs[i], i, now, &dup, &tmp);
        if (rc && rc != C360_ESTORE) {
            /* a problem of this event alone (no identifier could be linked): skip it, never the group */
            LOG_WARN("event not applied", "\"code\":\"%s\"", c360_err_name(rc));
            c360_metrics_reject(e->m, rc, 1);
            rc = 0;
            continue;
        }
        if (dup) dd++;
        else acc++;
    }
    sb_release(&tmp);
    e->pre_n = 0;
    if (rc) return rc; /* the caller abandons the whole group: c360_engine_abort() */
    if (accepted) *accepted = acc;
    if (dups) *dups = dd;
    c360_count(&e->m->profiles_created, e->res.created - c0);
    c360_count(&e->m->merges, e->res.merged - m0);
    if (e->res.merged > m0) count_merges_today(e, e->res.merged - m0, now);
    c360_count(&e->m->identifiers_dropped, e->res.dropped - d0);
    return 0;
}

void c360_engine_abort(c360_engine *e)
{
    c360_txn_clear(e->txn);
    c360_state_reset(e->st);
    c360_features_discard(e->features);
    c360_sink_discard(e->sink);
    c360_whsink_discard(e->whsink);
    e->merge_day = INT64_MIN;         /* re-read the day's merge count */
    init_resolver(e, e->res.rules);   /* reload the sequence */
}

int c360_engine_commit(c360_engine *e, int sync, char *err, size_t errlen)
{
    int64_t t0 = c360_monotonic_ns();
    if (e->features) c360_features_flush(e->features, e->txn);
    c360_state_flush(e->st, e->txn);
    int rc = c360_txn_commit(e->txn, sync, err, errlen);
    if (rc) {
        c360_state_reset(e->st);
        c360_features_discard(e->features);
        c360_sink_discard(e->sink);
        c360_whsink_discard(e->whsink);
        e->merge_day = INT64_MIN;
        init_resolver(e, e->res.rules);
    } else {
        c360_state_trim(e->st);
        c360_sink_committed(e->sink); /* only durable changes reach the Kafka sink */
        c360_whsink_committed(e->whsink); /* and the alert webhook */
    }
    c360_hist_observe(&e->m->commit_latency, (c360_monotonic_ns() - t0) / 1000);
    c360_count(&e->m->commits, 1);
    return rc;
}

size_t c360_engine_pending_bytes(c360_engine *e) { return c360_txn_bytes(e->txn); }

void c360_engine_put(c360_engine *e, const void *k, size_t kl, const void *v, size_t vl) { c360_txn_put(e->txn, k, kl, v, vl); }

void c360_engine_set_outputs(c360_engine *e, c360_sink *sink, c360_whsink *whsink)
{
    e->sink = sink;
    e->whsink = whsink;
    c360_features_set_outputs(e->features, sink, whsink);
}

void c360_engine_on_commit(c360_engine *e, c360_commit_cb cb, void *arg)
{
    e->on_commit = cb;
    e->on_commit_arg = arg;
}

/* hands the profiles changed since the last notification to the live-update listener */
static void notify_changed(c360_engine *e)
{
    uint64_t *pids;
    size_t n = c360_state_take_changed(e->st, &pids);
    if (n && e->on_commit) e->on_commit(e->on_commit_arg, pids, n);
    free(pids);
}

static int erase_now(c360_engine *e, uint64_t pid, c360_erase_report *rep);

/* Retention of inactive customers: erases every profile whose last event is older than `before`
 * (by event time). Runs on the writer, so nothing changes under it. */
static int sweep_now(c360_engine *e, int64_t before, int *swept, uint64_t **swept_pids)
{
    char err[256];
    *swept = 0;
    if (c360_engine_commit(e, 0, err, sizeof err)) return C360_EUNAVAIL;
    uint64_t *victims = NULL;
    size_t n = 0, cap = 0;
    unsigned char lo = C360_K_PROFILE, hi = C360_K_PROFILE + 1;
    c360_iter *it = c360_iter_new(e->store, &lo, 1, &hi, 1);
    for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
        size_t kl, vl;
        const char *k = c360_iter_key(it, &kl);
        if (kl != 10 || k[9] != C360_SUB_RECORD) continue;
        const char *v = c360_iter_value(it, &vl);
        c360_profile p;
        if (c360_profile_decode(&p, v, vl)) continue;
        if (p.last_seen < before) {
            if (n == cap) victims = xrealloc(victims, sizeof *victims * (cap = cap ? cap * 2 : 64));
            victims[n++] = p.pid;
        }
        c360_profile_release(&p);
    }
    c360_iter_free(it);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        c360_erase_report rep;
        rc = erase_now(e, victims[i], &rep);
        if (rc == C360_ENOPROFILE) rc = 0;
        else if (!rc) victims[(*swept)++] = victims[i];
    }
    *swept_pids = victims; /* the erased ones, for the caller's audit entries */
    if (n) LOG_INFO("inactive customers erased", "\"count\":%d", *swept);
    return rc;
}

/* ---- features rebuild while serving ---- */
#define REBUILD_STEP_EVENTS 20000

/* One step, as a group of its own: what is pending is committed first, so the replay reads
 * every applied event from the store. *more stays non-zero while steps remain. */
static int rebuild_step(c360_engine *e, int *more)
{
    char err[256];
    *more = 0;
    if (!e->features) return C360_EINTERNAL;
    if (c360_engine_commit(e, 0, err, sizeof err)) {
        c360_features_rebuild_fail(e->features, err);
        return C360_EUNAVAIL;
    }
    static long budget;
    if (!budget) { /* C360_REBUILD_STEP_EVENTS: smaller steps for tests (docs/FEATURES.md) */
        const char *env = getenv("C360_REBUILD_STEP_EVENTS");
        budget = env && atol(env) > 0 ? atol(env) : REBUILD_STEP_EVENTS;
    }
    int r = c360_features_rebuild_step(e->features, e->txn, budget);
    if (r == 0) return 0;
    if (c360_engine_commit(e, r == 2, err, sizeof err)) {
        c360_features_rebuild_fail(e->features, err);
        return C360_EUNAVAIL;
    }
    if (r == 2) c360_features_rebuild_swap(e->features);
    else *more = 1;
    return 0;
}

/* 0, or -1 when the engine is stopping (the job is not queued) */
static int requeue(c360_engine *e, c360_job *j)
{
    pthread_mutex_lock(&e->mu);
    if (e->stopping) {
        pthread_mutex_unlock(&e->mu);
        return -1;
    }
    j->next = NULL;
    if (e->tail) e->tail->next = j;
    else e->head = j;
    e->tail = j;
    pthread_mutex_unlock(&e->mu);
    return 0;
}

static void rebuild_done(c360_job *j) { free(j); }

int c360_engine_rebuild(c360_engine *e, char *err, size_t errlen)
{
    int rc = c360_features_rebuild_begin(e->features, err, errlen);
    if (rc) return rc;
    c360_job *j = xcalloc(1, sizeof *j);
    j->rebuild = 1;
    j->done = rebuild_done;
    if (c360_engine_submit(e, j)) {
        free(j);
        c360_features_rebuild_fail(e->features, "the server is stopping");
        snprintf(err, errlen, "the server is stopping");
        return -4;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    c360_thread_name("c360-writer");
    c360_engine *e = arg;
    if (e->cfg->ingest_nice > 0) c360_thread_nice((int)e->cfg->ingest_nice);
    for (;;) {
        pthread_mutex_lock(&e->mu);
        while (!e->head && !e->stopping) pthread_cond_wait(&e->cv, &e->mu);
        if (!e->head && e->stopping) {
            pthread_mutex_unlock(&e->mu);
            break;
        }
        /* take a group of jobs */
        c360_job *group = e->head, *last = e->head;
        int64_t nev = last->n;
        while (last->next && nev + last->next->n <= GROUP_MAX_EVENTS) {
            last = last->next;
            nev += last->n;
        }
        e->head = last->next;
        if (!e->head) e->tail = NULL;
        last->next = NULL;
        e->queued -= nev;
        pthread_mutex_unlock(&e->mu);
        atomic_fetch_sub(&e->m->queue_events, nev);

        int failed = 0;
        if (c360_store_failed(e->store)) {
            /* a write failed before (disk full): try to reopen; until then nothing is written */
            char rerr[256];
            if (c360_store_recover(e->store, rerr, sizeof rerr)) failed = C360_EUNAVAIL;
            else init_resolver(e, e->res.rules);
        }
        for (c360_job *j = group; j && !failed; j = j->next) {
            if (j->erase_pid) {
                j->status = erase_now(e, j->erase_pid, j->erased);
                continue;
            }
            if (j->sweep_before_ms) {
                j->status = sweep_now(e, j->sweep_before_ms, &j->swept, &j->swept_pids);
                continue;
            }
            if (j->rebuild) {
                j->status = rebuild_step(e, &j->rebuild);
                continue;
            }
            failed = c360_engine_apply(e, j->evs, j->n, &j->accepted, &j->duplicates);
            for (int x = 0; x < j->nextra && !failed; x++) c360_engine_put(e, j->extra[x].k, j->extra[x].kl, j->extra[x].v, j->extra[x].vl);
            if (failed) LOG_ERROR("apply failed; the group is abandoned", "\"code\":\"%s\"", c360_err_name(failed));
        }
        char err[256];
        if (failed) {
            c360_engine_abort(e);
            for (c360_job *j = group; j; j = j->next)
                if (!j->erase_pid) j->status = C360_EUNAVAIL; /* erasures were committed on their own */
        } else if (c360_engine_commit(e, (int)e->cfg->sync, err, sizeof err)) {
            LOG_ERROR("commit failed", "\"error\":\"%s\"", err);
            for (c360_job *j = group; j; j = j->next)
                if (!j->status && !j->erase_pid) j->status = C360_EUNAVAIL;
        }
        notify_changed(e);
        for (c360_job *j = group, *nx; j; j = nx) {
            nx = j->next;
            if (j->rebuild && !j->status) { /* more to do: behind whatever arrived meanwhile */
                if (!requeue(e, j)) continue;
                c360_features_rebuild_fail(e->features, "the server stopped before the rebuild was complete");
            } else if (j->rebuild) {
                c360_features_rebuild_fail(e->features, "the store refused a write");
            }
            if (!j->status) {
                c360_count(&e->m->events_accepted, (uint64_t)j->accepted);
                c360_count(&e->m->events_duplicate, (uint64_t)j->duplicates);
            }
            j->done(j);
        }
    }
    return NULL;
}

int c360_engine_start(c360_engine *e)
{
    if (pthread_create(&e->th, NULL, writer_main, e) != 0) return -1;
    e->started = 1;
    return 0;
}

/* An erasure is its own group: what came before is committed first, the erasure is committed
 * with fsync, then purged from the files. */
static int erase_now(c360_engine *e, uint64_t pid, c360_erase_report *rep)
{
    char err[256];
    c360_erase_report tmp;
    if (!rep) rep = &tmp;
    if (c360_engine_commit(e, 0, err, sizeof err)) return C360_EUNAVAIL;
    int rc = c360_erase_apply(e->store, e->st, e->txn, pid, (int)e->cfg->erasure_suppress, rep);
    if (rc) {
        c360_engine_abort(e);
        return rc;
    }
    if (c360_engine_commit(e, 1, err, sizeof err)) return C360_EUNAVAIL;
    c360_sink_tombstone(e->sink, pid);
    /* the suppression entries are committed: only now do they take effect in memory */
    if (e->cfg->erasure_suppress) {
        c360_suppress_free(e->suppressed);
        e->suppressed = c360_suppress_load(e->store);
    }
    if (c360_erase_purge(e->store, pid)) return C360_ESTORE;
    LOG_INFO("customer erased", "\"identifiers\":%d,\"events\":%d", rep->identifiers, rep->events);
    return 0;
}

int c360_engine_erase(c360_engine *e, uint64_t pid, c360_erase_report *rep) { return erase_now(e, pid, rep); }

int c360_engine_submit(c360_engine *e, c360_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&e->mu);
    if (e->stopping) {
        pthread_mutex_unlock(&e->mu);
        return C360_EUNAVAIL;
    }
    if (e->queued > 0 && e->queued + job->n > e->cfg->queue_max_events) {
        pthread_mutex_unlock(&e->mu);
        return C360_EBUSY;
    }
    if (e->tail) e->tail->next = job;
    else e->head = job;
    e->tail = job;
    e->queued += job->n;
    /* counted before the writer can see the job: once the lock is released the job may be done
     * and freed by its submitter's completion (another thread) */
    atomic_fetch_add(&e->m->queue_events, job->n);
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return 0;
}

void c360_engine_stop(c360_engine *e)
{
    pthread_mutex_lock(&e->mu);
    e->stopping = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    if (e->started) pthread_join(e->th, NULL);
    e->started = 0;
}
