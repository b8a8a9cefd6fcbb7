/* erase.c -- physical erasure of a customer and the suppression list (see erase.h). */
#include "privacy/erase.h"
#include "core/errors.h"
#include "engine/state.h"
#include "identity/normalize.h"
#include "profile/profile.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

int c360_erase_apply(c360_store *s, c360_state *st, c360_txn *txn, uint64_t pid, int suppress, c360_erase_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->pid = pid;
    c360_profile *p;
    int f = c360_state_profile(st, pid, &p);
    if (f < 0) return C360_ESTORE;
    if (f == 0) return C360_ENOPROFILE;
    const unsigned char *secret = c360_store_secret(s);
    unsigned char now[8];
    c360_put_u64be(now, (uint64_t)c360_now_ms());
    for (int i = 0; i < p->nids; i++) {
        c360_id id;
        memset(&id, 0, sizeof id);
        snprintf(id.type, sizeof id.type, "%s", p->ids[i].type);
        id.value = p->ids[i].value;
        c360_id_hash(&id, secret);
        c360_state_index_put(st, id.hash, 0); /* 0 = no profile: the flush deletes the entry */
        if (suppress) {
            c360_key k;
            k.b[0] = C360_K_SUPPRESS;
            memcpy(k.b + 1, id.hash, 16);
            c360_txn_put(txn, k.b, 17, now, 8);
        }
        rep->identifiers++;
    }
    /* dedup entries of the customer's events: keyed by their messageIds */
    c360_key lo, hi;
    c360_key_range(&lo, &hi, pid, C360_SUB_EVENT);
    c360_iter *it = c360_iter_new(s, lo.b, lo.n, hi.b, hi.n);
    c360_json j;
    c360_json_init(&j);
    strbuf mid = STRBUF_INIT;
    for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
        size_t vl;
        const char *v = c360_iter_value(it, &vl);
        char err[32];
        rep->events++;
        if (c360_json_parse(&j, v, vl, err, sizeof err) || j.tok[0].type != CJ_OBJECT) continue;
        sb_reset(&mid);
        if (c360_json_str(&j, c360_json_get(&j, 0, "messageId"), &mid)) continue;
        unsigned char h[16];
        crypto_generichash(h, 16, (const unsigned char *)mid.buf, mid.len, secret, 32);
        c360_key dk;
        c360_key_dedup(&dk, h);
        c360_txn_del(txn, dk.b, dk.n);
    }
    sb_release(&mid);
    c360_json_release(&j);
    c360_iter_free(it);
    for (int i = 0; i < p->nmerged; i++) {
        c360_key rk;
        c360_key_redirect(&rk, p->merged[i]);
        c360_txn_del(txn, rk.b, rk.n);
        rep->merged++;
    }
    c360_key_range(&lo, &hi, pid, 0);
    c360_txn_del_range(txn, lo.b, lo.n, hi.b, hi.n);
    c360_state_profile_delete(st, pid);
    return 0;
}

int c360_erase_purge(c360_store *s, uint64_t pid)
{
    c360_key lo, hi;
    c360_key_range(&lo, &hi, pid, 0);
    /* flush first (the WAL holding the customer's writes becomes obsolete and is deleted), then
     * rewrite every file that held the customer's keys or their index/dedup/redirect entries */
    if (c360_store_flush_compact(s, lo.b, lo.n, hi.b, hi.n)) return -1;
    static const char ranges[][2] = {{C360_K_IDENT, C360_K_IDENT + 1}, {C360_K_DEDUP, C360_K_DEDUP + 1},
                                     {C360_K_REDIR, C360_K_REDIR + 1}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (c360_store_flush_compact(s, &ranges[i][0], 1, &ranges[i][1], 1)) return -1;
    return 0;
}

/* ---- suppression set ---- */

typedef struct sent {
    unsigned char h[16];
    UT_hash_handle hh;
} sent;

struct c360_suppress {
    sent *set;
};

c360_suppress *c360_suppress_load(c360_store *s)
{
    c360_suppress *sp = xcalloc(1, sizeof *sp);
    unsigned char lo = C360_K_SUPPRESS, hi = C360_K_SUPPRESS + 1;
    c360_iter *it = c360_iter_new(s, &lo, 1, &hi, 1);
    for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
        size_t kl;
        const char *k = c360_iter_key(it, &kl);
        if (kl == 17) c360_suppress_add(sp, (const unsigned char *)k + 1);
    }
    c360_iter_free(it);
    return sp;
}

void c360_suppress_add(c360_suppress *sp, const unsigned char h[16])
{
    if (c360_suppress_has(sp, h)) return;
    sent *e = xcalloc(1, sizeof *e);
    memcpy(e->h, h, 16);
    HASH_ADD(hh, sp->set, h, 16, e);
}

int c360_suppress_has(const c360_suppress *sp, const unsigned char h[16])
{
    if (!sp || !sp->set) return 0;
    sent *e;
    HASH_FIND(hh, sp->set, h, 16, e);
    return e != NULL;
}

void c360_suppress_free(c360_suppress *sp)
{
    if (!sp) return;
    sent *e, *tmp;
    HASH_ITER(hh, sp->set, e, tmp) {
        HASH_DEL(sp->set, e);
        free(e);
    }
    free(sp);
}
