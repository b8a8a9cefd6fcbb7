/* rebuild.c -- `c360 rebuild`: recompute every customer's feature state and the shared state
 * (co-purchase counts, popularity, catalogue, segment membership) from the stored events, after
 * a definition changed. Runs on a store opened for writing by this process alone (the server is
 * stopped; see docs/FEATURES.md for how to keep serving meanwhile). One pass over the 'P' range
 * (freplay_walk, shared with rebuild_live.c): a customer's record ('A') sorts before its events
 * ('E', by event time), so each customer is reset, replayed in event-time order and written back
 * before the next one starts. */
#include "features/fint.h"
#include "profile/profile.h"
#include "sources/event.h"
#include "store/keys.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a c360_event good enough for the features layer, from a stored event */
int fevent_from_store(c360_event *ev, const char *json, size_t n, int64_t ts)
{
    memset(ev, 0, sizeof *ev);
    sb_init(&ev->json);
    sb_add(&ev->json, json, n);
    ev->ts = ts;
    c360_json j;
    c360_json_init(&j);
    char err[64];
    int ok = -1;
    if (!c360_json_parse(&j, ev->json.buf, ev->json.len, err, sizeof err) && j.tok[0].type == CJ_OBJECT) {
        strbuf t = STRBUF_INIT;
        int tt = c360_json_get(&j, 0, "type");
        if (tt >= 0 && !c360_json_str(&j, tt, &t)) {
            int ty = c360_ev_type_parse(t.buf, t.len);
            if (ty >= 0) {
                ev->type = (c360_ev_type)ty;
                sb_reset(&t);
                int nt = c360_json_get(&j, 0, ev->type == C360_EV_TRACK ? "event" : "name");
                if (nt >= 0 && !c360_json_str(&j, nt, &t)) ev->name = xstrndup(t.buf, t.len);
                ok = 0;
            }
        }
        sb_release(&t);
    }
    c360_json_release(&j);
    return ok;
}

int freplay_walk(c360_store *st, const void *lo, size_t lol, const void *hi, size_t hil, const freplay_cbs *cb,
                 uint64_t *stop_pid)
{
    c360_iter *it = c360_iter_new(st, lo, lol, hi, hil);
    uint64_t pid = 0;
    int have = 0, rc = 1;
    for (c360_iter_first(it);; c360_iter_next(it)) {
        int valid = c360_iter_valid(it);
        size_t kl = 0, vl = 0;
        const char *k = valid ? c360_iter_key(it, &kl) : NULL;
        const char *v = valid ? c360_iter_value(it, &vl) : NULL;
        int is_rec = valid && kl == 10 && k[9] == C360_SUB_RECORD;
        if (have && (!valid || is_rec)) {   /* the previous customer is complete */
            have = 0;
            if (cb->end(cb->arg)) {
                rc = -1;
                break;
            }
        }
        if (!valid) break;
        if (is_rec) {
            pid = c360_get_u64be((const unsigned char *)k + 1);
            int b = cb->begin(cb->arg, pid, v, vl);
            if (b == FREPLAY_STOP) {
                *stop_pid = pid;
                rc = 0;
                break;
            }
            have = b == FREPLAY_GO;
        } else if (have && kl == 26 && k[9] == C360_SUB_EVENT && c360_get_u64be((const unsigned char *)k + 1) == pid) {
            c360_event ev;
            int64_t ts = (int64_t)(c360_get_u64be((const unsigned char *)k + 10) - C360_TS_BIAS);
            if (fevent_from_store(&ev, v, vl, ts) == 0) cb->event(cb->arg, &ev);
            c360_event_release(&ev);
        }
    }
    c360_iter_free(it);
    return rc;
}

/* ---- `c360 rebuild` ---- */
typedef struct {
    c360_features *f;
    c360_txn *txn;
    c360_profile p;   /* the customer being replayed, from begin to end */
    int64_t now;
    strbuf rec;
    uint64_t profiles, events;
    char *err;
    size_t errlen;
} offline;

static int flush(c360_features *f, c360_txn *txn, char *err, size_t errlen)
{
    fcache_flush(f->cache, txn);
    return c360_txn_commit(txn, 0, err, errlen);
}

static int off_begin(void *arg, uint64_t pid, const char *rec, size_t n)
{
    offline *o = arg;
    (void)pid;
    if (c360_profile_decode(&o->p, rec, n)) return FREPLAY_SKIP;   /* corrupt: left as it is */
    c360_features_reset(o->f, &o->p);
    return FREPLAY_GO;
}

static void off_event(void *arg, const c360_event *ev)
{
    offline *o = arg;
    c360_features_on_event(o->f, o->txn, &o->p, ev, o->now);
    o->events++;
}

static int off_end(void *arg)
{
    offline *o = arg;
    flive_flush(o->f);                  /* its state back into p.ext */
    c360_key rk;
    c360_key_record(&rk, o->p.pid);
    sb_reset(&o->rec);
    c360_profile_encode(&o->p, &o->rec);
    c360_txn_put(o->txn, rk.b, rk.n, o->rec.buf, o->rec.len);
    c360_profile_release(&o->p);
    o->profiles++;
    return c360_txn_bytes(o->txn) > (8u << 20) ? flush(o->f, o->txn, o->err, o->errlen) : 0;
}

int c360_features_rebuild(c360_features *f, c360_store *st, uint64_t *profiles, uint64_t *events, char *err, size_t errlen)
{
    f->quiet = 1;   /* replaying history raises no alerts and publishes nothing */
    *profiles = *events = 0;
    c360_txn *txn = c360_txn_new(st);
    /* 1. forget the shared state (co-purchase, popularity, catalogue, membership; not definitions) */
    static const char subs[] = {'C', 'c', 'm', 'n', 'p'};
    for (size_t i = 0; i < sizeof subs; i++) {
        char lo[2] = {'F', subs[i]}, hi[2] = {'F', (char)(subs[i] + 1)};
        c360_txn_del_range(txn, lo, 2, hi, 2);
    }
    if (flush(f, txn, err, errlen)) goto fail;
    atomic_store(&f->legacy_pairs, 0);   /* the per-pair counters of older stores are gone too */
    fcache_free(f->cache);
    f->cache = fcache_new();
    /* 2. replay every customer */
    offline o = {.f = f, .txn = txn, .now = c360_now_ms(), .rec = STRBUF_INIT, .err = err, .errlen = errlen};
    unsigned char lo[1] = {C360_K_PROFILE}, hi[1] = {C360_K_PROFILE + 1};
    freplay_cbs cb = {off_begin, off_event, off_end, &o};
    uint64_t stop;
    int rc = freplay_walk(st, lo, 1, hi, 1, &cb, &stop) < 0 ? -1 : 0;
    sb_release(&o.rec);
    *profiles = o.profiles;
    *events = o.events;
    if (!rc) fcache_flush(f->cache, txn);
    if (rc || c360_txn_commit(txn, 1, err, errlen)) goto fail;
    c360_txn_free(txn);
    return 0;
fail:
    c360_txn_free(txn);
    return -1;
}
