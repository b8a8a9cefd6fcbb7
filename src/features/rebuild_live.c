/* rebuild_live.c -- a rebuild while the server keeps serving: every customer's feature state is
 * recomputed from the stored events with the config file's current definitions, into a shadow
 * key ('P' pid 'X', next to the customer's record so erasure and merges treat it like the rest),
 * while reads keep showing the old values. When every customer is done, one synced commit
 * raises the rebuild generation ('F' 'g') and the settings are swapped: from then on a state
 * of the older generation is read from its shadow (fstate_load), and the writer adopts the
 * shadow into the profile at the customer's next event.
 *
 * The replay runs on the writer thread in steps of a bounded number of events, each its own
 * group (the engine commits what is pending first, so the store holds every applied event), so
 * live ingest interleaves with it. A customer already replayed who changes meanwhile (an event,
 * a merge) is noted and replayed again in the next step; the swap happens in a step that leaves
 * nothing to replay, so no event is missed. Shared state (co-purchase counts, catalogue) does not
 * depend on feature definitions and is left alone; `c360 rebuild` on a stopped store recomputes
 * it too. Segment memberships carry over and are re-evaluated at each customer's next event. */
#include "features/fint.h"
#include "profile/profile.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char gen_key[2] = {'F', 'g'};

uint32_t frebuild_load_gen(c360_store *st)
{
    strbuf v = STRBUF_INIT;
    uint32_t g = 0;
    if (st && c360_store_get(st, gen_key, sizeof gen_key, &v) == 1 && v.len == 8) g = (uint32_t)c360_get_u64be((unsigned char *)v.buf);
    sb_release(&v);
    return g;
}

static int load(c360_features *f, const c360_profile *p, fstate *s, int (*decode)(fstate *, const fsettings *, const void *, size_t))
{
    int r = decode(s, &f->set, p->ext, p->next);
    if (r != 1 || !f->store) return r;
    c360_key k;
    c360_key_shadow(&k, p->pid);
    strbuf v = STRBUF_INIT;
    if (c360_store_get(f->store, k.b, k.n, &v) == 1) {
        fstate x;
        if (decode(&x, &f->set, v.buf, v.len) == 0) {
            fstate_release(s);
            *s = x;
            r = 0;
        } else {
            fstate_release(&x);
        }
    }
    sb_release(&v);
    return r;
}

int fstate_load(c360_features *f, const c360_profile *p, fstate *s) { return load(f, p, s, fstate_decode); }
int fstate_load_ro(c360_features *f, const c360_profile *p, fstate *s) { return load(f, p, s, fstate_decode_ro); }

void frebuild_note(c360_features *f, uint64_t pid)
{
    if (!atomic_load_explicit(&f->rb_active, memory_order_relaxed)) return;
    frebuild *rb = &f->rb;
    if (!rb->at_end && pid >= rb->cursor) return; /* not replayed yet: its events will be */
    if (rb->nredo == rb->credo) rb->redo = xrealloc(rb->redo, sizeof *rb->redo * (size_t)(rb->credo = rb->credo ? rb->credo * 2 : 64));
    rb->redo[rb->nredo++] = pid;
}

static void rb_clear(frebuild *rb)
{
    fsettings_release(&rb->set);
    for (int i = 0; i < rb->nsegs; i++) fseg_release(&rb->segs[i]);
    free(rb->segs);
    free(rb->redo);
    rb->segs = NULL;
    rb->redo = NULL;
    rb->nsegs = rb->nredo = rb->credo = 0;
}

int c360_features_rebuild_begin(c360_features *f, char *err, size_t errlen)
{
    if (!f || !f->set.enabled) {
        snprintf(err, errlen, "the features layer is disabled (features.enabled: false)");
        return -3;
    }
    fsettings ns;
    fsettings_defaults(&ns);
    fseg *segs = NULL;
    int nsegs = 0;
    if (f->cfg && fsettings_load(&ns, f->cfg->config_file, &segs, &nsegs, err, errlen)) {
        fsettings_release(&ns);
        for (int i = 0; i < nsegs; i++) fseg_release(&segs[i]);
        free(segs);
        return -1;
    }
    if (!ns.enabled) {
        snprintf(err, errlen, "the config file now says features.enabled: false; nothing to rebuild");
        fsettings_release(&ns);
        for (int i = 0; i < nsegs; i++) fseg_release(&segs[i]);
        free(segs);
        return -1;
    }
    pthread_mutex_lock(&f->rb_mu);
    if (f->rb.state == RB_RUNNING) {
        pthread_mutex_unlock(&f->rb_mu);
        snprintf(err, errlen, "a rebuild is already running");
        fsettings_release(&ns);
        for (int i = 0; i < nsegs; i++) fseg_release(&segs[i]);
        free(segs);
        return -2;
    }
    rb_clear(&f->rb);
    fsettings_set_gen(&ns, f->set.gen + 1);
    f->rb = (frebuild){.state = RB_RUNNING, .set = ns, .segs = segs, .nsegs = nsegs, .started_ms = c360_now_ms()};
    pthread_mutex_unlock(&f->rb_mu);
    atomic_store(&f->rb_active, 1);
    LOG_INFO("rebuild started", "\"generation\":%u", ns.gen);
    return 0;
}

/* one replay step's walk (freplay_walk): each customer's new state is built from the carried-over
 * memberships and merge times plus its events, and written to its shadow key */
typedef struct {
    c360_features *f;
    c360_txn *txn;
    fstate ns;        /* the customer being replayed, from begin to end */
    uint64_t pid;
    long budget, spent;
    c360_json j;
    strbuf buf;
    uint64_t *nprof, *nev;
} live;

static int live_begin(void *arg, uint64_t pid, const char *rec, size_t n)
{
    live *l = arg;
    frebuild *rb = &l->f->rb;
    if (l->spent >= l->budget) return FREPLAY_STOP;
    c360_profile p;
    if (c360_profile_decode(&p, rec, n)) return FREPLAY_SKIP; /* corrupt: left as it is */
    /* memberships and merge times are not in the events: they carry over */
    fstate old;
    fstate_decode(&old, &l->f->set, p.ext, p.next);
    fstate_init(&l->ns, &rb->set);
    free(l->ns.segs);
    l->ns.segs = old.segs;
    l->ns.nsegs = old.nsegs;
    old.segs = NULL;
    old.nsegs = 0;
    free(l->ns.merges);
    l->ns.merges = old.merges;
    l->ns.nmerges = old.nmerges;
    old.merges = NULL;
    old.nmerges = 0;
    fstate_release(&old);
    c360_profile_release(&p);
    l->pid = pid;
    return FREPLAY_GO;
}

static void live_event(void *arg, const c360_event *ev)
{
    live *l = arg;
    char perr[64];
    if (c360_json_parse(&l->j, ev->json.buf, ev->json.len, perr, sizeof perr)) l->j.ntok = 0;
    int ord;
    fstate_apply(&l->ns, &l->f->rb.set, ev, &l->j, &ord);
    (*l->nev)++;
    l->spent++;
}

static int live_end(void *arg)
{
    live *l = arg;
    c360_key sk;
    c360_key_shadow(&sk, l->pid);
    sb_reset(&l->buf);
    fstate_encode(&l->ns, &l->f->rb.set, &l->buf);
    c360_txn_put(l->txn, sk.b, sk.n, l->buf.buf, l->buf.len);
    fstate_release(&l->ns);
    (*l->nprof)++;
    return 0;
}

/* replays the customers whose keys lie in [lo, hi) until `budget` events are spent (at a
 * customer boundary); *next = the first pid not done, or 0 with *end set */
static void replay(c360_features *f, c360_txn *txn, const void *lo, size_t lol, const void *hi, size_t hil, long budget,
                   uint64_t *next, int *end, uint64_t *nprof, uint64_t *nev)
{
    live l = {.f = f, .txn = txn, .budget = budget, .buf = STRBUF_INIT, .nprof = nprof, .nev = nev};
    c360_json_init(&l.j);
    freplay_cbs cb = {live_begin, live_event, live_end, &l};
    *end = freplay_walk(f->store, lo, lol, hi, hil, &cb, next) == 1;
    c360_json_release(&l.j);
    sb_release(&l.buf);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int c360_features_rebuild_step(c360_features *f, c360_txn *txn, long budget)
{
    frebuild *rb = &f->rb;
    if (!atomic_load(&f->rb_active)) return 0;
    uint64_t np = 0, ne = 0;
    int end;
    uint64_t next;
    /* 1. customers replayed before and changed since */
    if (rb->nredo) {
        qsort(rb->redo, (size_t)rb->nredo, sizeof *rb->redo, cmp_u64);
        for (int i = 0; i < rb->nredo; i++) {
            if (i && rb->redo[i] == rb->redo[i - 1]) continue;
            c360_key lo, hi;
            c360_key_range(&lo, &hi, rb->redo[i], 0);
            replay(f, txn, lo.b, lo.n, hi.b, hi.n, 1L << 40, &next, &end, &np, &ne);
        }
        rb->nredo = 0;
    }
    /* 2. the next customers in key order */
    if (!rb->at_end) {
        unsigned char lo[9] = {C360_K_PROFILE}, hi[1] = {C360_K_PROFILE + 1};
        c360_put_u64be(lo + 1, rb->cursor);
        next = 0;
        replay(f, txn, lo, sizeof lo, hi, sizeof hi, budget, &next, &end, &np, &ne);
        if (end) rb->at_end = 1;
        else rb->cursor = next;
    }
    pthread_mutex_lock(&f->rb_mu);
    rb->profiles += np;
    rb->events += ne;
    pthread_mutex_unlock(&f->rb_mu);
    if (!rb->at_end) return 1;
    /* every customer is replayed and nothing changed since: the new generation can go live */
    unsigned char g[8];
    c360_put_u64be(g, rb->set.gen);
    c360_txn_put(txn, gen_key, sizeof gen_key, g, sizeof g);
    return 2;
}

void c360_features_rebuild_swap(c360_features *f)
{
    frebuild *rb = &f->rb;
    atomic_store(&f->rb_active, 0);
    pthread_rwlock_wrlock(&f->set_lock);
    fsettings old = f->set;
    f->set = rb->set;
    memset(&rb->set, 0, sizeof rb->set);
    /* the config file's segments replace the old config segments; those from the API stay */
    pthread_rwlock_wrlock(&f->seg_lock);
    int k = 0;
    for (int i = 0; i < f->nsegs; i++) {
        if (f->segs[i].from_api) f->segs[k++] = f->segs[i];
        else fseg_release(&f->segs[i]);
    }
    f->nsegs = k;
    for (int i = 0; i < rb->nsegs; i++) {
        int dup = 0;
        for (int g = 0; g < f->nsegs && !dup; g++) dup = !strcmp(f->segs[g].name, rb->segs[i].name);
        if (dup) { /* an API definition of the same name wins, as at start */
            fseg_release(&rb->segs[i]);
            continue;
        }
        f->segs = xrealloc(f->segs, sizeof *f->segs * (size_t)(f->nsegs + 1));
        f->segs[f->nsegs++] = rb->segs[i];
    }
    free(rb->segs);
    rb->segs = NULL;
    rb->nsegs = 0;
    pthread_rwlock_unlock(&f->seg_lock);
    pthread_rwlock_unlock(&f->set_lock);
    fsettings_release(&old);
    pthread_mutex_lock(&f->rb_mu);
    rb->state = RB_DONE;
    rb->finished_ms = c360_now_ms();
    pthread_mutex_unlock(&f->rb_mu);
    LOG_INFO("rebuild complete", "\"generation\":%u,\"profiles\":%llu,\"events\":%llu", f->set.gen,
             (unsigned long long)rb->profiles, (unsigned long long)rb->events);
}

void c360_features_rebuild_fail(c360_features *f, const char *why)
{
    atomic_store(&f->rb_active, 0);
    pthread_mutex_lock(&f->rb_mu);
    if (f->rb.state != RB_RUNNING) { /* already ended (the first reason is kept) */
        pthread_mutex_unlock(&f->rb_mu);
        return;
    }
    f->rb.state = RB_FAILED;
    f->rb.finished_ms = c360_now_ms();
    snprintf(f->rb.err, sizeof f->rb.err, "%s", why);
    rb_clear(&f->rb);
    pthread_mutex_unlock(&f->rb_mu);
    LOG_ERROR("rebuild failed; the old values stay", "\"error\":\"%s\"", why);
}

void c360_features_rebuild_status(c360_features *f, strbuf *out)
{
    static const char *const names[] = {"idle", "running", "done", "failed"};
    pthread_rwlock_rdlock(&f->set_lock);
    pthread_mutex_lock(&f->rb_mu);
    frebuild *rb = &f->rb;
    char t[40];
    sb_addf(out, "{\"state\":\"%s\",\"generation\":%u,\"profiles\":%llu,\"events\":%llu", names[rb->state], f->set.gen,
            (unsigned long long)rb->profiles, (unsigned long long)rb->events);
    if (rb->started_ms) {
        c360_time_format(rb->started_ms, t);
        sb_addf(out, ",\"started_at\":\"%s\"", t);
    }
    if (rb->finished_ms) {
        c360_time_format(rb->finished_ms, t);
        sb_addf(out, ",\"finished_at\":\"%s\"", t);
    }
    if (rb->state == RB_FAILED) {
        sb_adds(out, ",\"error\":");
        c360_json_put_cstr(out, rb->err);
    }
    sb_addc(out, '}');
    pthread_mutex_unlock(&f->rb_mu);
    pthread_rwlock_unlock(&f->set_lock);
}

void frebuild_release(c360_features *f) { rb_clear(&f->rb); }
