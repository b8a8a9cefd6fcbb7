/* state.c -- the writer's in-memory working set (see state.h). Hash tables are uthash. */
#include "engine/state.h"
#include "identity/resolve.h"
#include "store/keys.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef struct pent {
    uint64_t pid;
    c360_profile p;
    int present;     /* 0: known absent/deleted */
    int dirty;
    UT_hash_handle hh;
} pent;

typedef struct ient {
    unsigned char h[16];
    uint64_t pid;
    int dirty;
    UT_hash_handle hh;
} ient;

/* messageIds applied in the current group (their 'D' keys are not in the store yet): an
 * open-addressing set of the 16-byte keyed hashes, which are uniform, so their first 8 bytes are
 * the slot hash. One entry per event of a group: a uthash entry per message (a calloc, a Jenkins
 * hash, a chain) was 7% of the writer's profile on UCI x8. An all-zero hash marks a free slot;
 * the all-zero message hash itself is kept in `zero`. */
typedef struct { unsigned char h[16]; } ment;
typedef struct { ment *t; size_t cap, n; int zero; uint64_t clears; } mset;

#define MSET_MIN 1024
static int mzero(const unsigned char h[16]) { static const unsigned char z[16]; return !memcmp(h, z, 16); }

static size_t mslot(const mset *m, const unsigned char h[16])
{
    uint64_t x;
    memcpy(&x, h, 8);
    size_t i = (size_t)x & (m->cap - 1);
    while (!mzero(m->t[i].h) && memcmp(m->t[i].h, h, 16)) i = (i + 1) & (m->cap - 1);
    return i;
}

static int mset_has(const mset *m, const unsigned char h[16])
{
    if (mzero(h)) return m->zero;
    return m->cap && !mzero(m->t[mslot(m, h)].h);
}

static void mset_add(mset *m, const unsigned char h[16])
{
    if (mzero(h)) {
        m->zero = 1;
        return;
    }
    if (2 * (m->n + 1) > m->cap) {
        mset old = *m;
        m->cap = old.cap ? 2 * old.cap : MSET_MIN;
        m->t = xcalloc(m->cap, sizeof *m->t);
        for (size_t i = 0; i < old.cap; i++)
            if (!mzero(old.t[i].h)) m->t[mslot(m, old.t[i].h)] = old.t[i];
        free(old.t);
    }
    ment *e = &m->t[mslot(m, h)];
    if (mzero(e->h)) {
        memcpy(e->h, h, 16);
        m->n++;
    }
}

/* empties the set; a table that was used to less than an eighth shrinks (a burst does not make
 * every later commit clear a large table) */
static void mset_clear(mset *m)
{
    if (m->cap > MSET_MIN && 8 * m->n < m->cap) {
        free(m->t);
        m->t = NULL;
        m->cap = 0;
    } else if (m->n) {
        memset(m->t, 0, m->cap * sizeof *m->t);
    }
    m->n = 0;
    m->zero = 0;
    m->clears++;
}

typedef struct { void **v; size_t n, cap; } plist;   /* a growable list of pointers */

static void plist_push(plist *l, void *p)
{
    if (l->n == l->cap) l->v = xrealloc(l->v, sizeof *l->v * (l->cap = l->cap ? l->cap * 2 : 256));
    l->v[l->n++] = p;
}

struct c360_state {
    c360_store *store;
    size_t capacity;
    pent *profiles;
    ient *index;
    mset msgs;
    size_t nprofiles, nindex;
    plist dirty_p, dirty_i;  /* entries with dirty set, so a flush touches only those */
    uint64_t *changed;       /* pids written since the engine last took them (live updates) */
    size_t nchanged, capchanged;
};

static void mark_p(c360_state *st, pent *e)
{
    if (!e->dirty) plist_push(&st->dirty_p, e);
    e->dirty = 1;
}

static void mark_i(c360_state *st, ient *e)
{
    if (!e->dirty) plist_push(&st->dirty_i, e);
    e->dirty = 1;
}

c360_state *c360_state_new(c360_store *s, size_t capacity)
{
    c360_state *st = xcalloc(1, sizeof *st);
    st->store = s;
    st->capacity = capacity ? capacity : 100000;
    return st;
}

static void drop_profiles(c360_state *st, int only_clean)
{
    pent *e, *tmp;
    HASH_ITER(hh, st->profiles, e, tmp) {
        if (only_clean && e->dirty) continue;
        HASH_DEL(st->profiles, e);
        if (e->present) c360_profile_release(&e->p);
        free(e);
        st->nprofiles--;
    }
}

static void drop_index(c360_state *st, int only_clean)
{
    ient *e, *tmp;
    HASH_ITER(hh, st->index, e, tmp) {
        if (only_clean && e->dirty) continue;
        HASH_DEL(st->index, e);
        free(e);
        st->nindex--;
    }
}

static void drop_msgs(c360_state *st) { mset_clear(&st->msgs); }

void c360_state_reset(c360_state *st)
{
    drop_profiles(st, 0);
    drop_index(st, 0);
    drop_msgs(st);
    st->dirty_p.n = st->dirty_i.n = 0;
    st->nchanged = 0;
}

size_t c360_state_take_changed(c360_state *st, uint64_t **pids)
{
    size_t n = st->nchanged;
    *pids = st->changed;
    st->changed = NULL;
    st->nchanged = st->capchanged = 0;
    return n;
}

void c360_state_free(c360_state *st)
{
    if (!st) return;
    c360_state_reset(st);
    free(st->msgs.t);
    free(st->changed);
    free(st->dirty_p.v);
    free(st->dirty_i.v);
    free(st);
}

size_t c360_state_profiles(const c360_state *st) { return st->nprofiles; }

int c360_state_profile(c360_state *st, uint64_t pid, c360_profile **out)
{
    pent *e;
    HASH_FIND(hh, st->profiles, &pid, sizeof pid, e);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->pid = pid;
        int f = c360_load_profile(st->store, pid, &e->p);
        if (f < 0) {
            free(e);
            return -1;
        }
        e->present = f == 1;
        HASH_ADD(hh, st->profiles, pid, sizeof pid, e);
        st->nprofiles++;
    }
    if (!e->present) return 0;
    *out = &e->p;
    return 1;
}

c360_profile *c360_state_profile_new(c360_state *st, uint64_t pid, int64_t created_ms)
{
    pent *e;
    HASH_FIND(hh, st->profiles, &pid, sizeof pid, e);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->pid = pid;
        HASH_ADD(hh, st->profiles, pid, sizeof pid, e);
        st->nprofiles++;
    } else if (e->present) {
        c360_profile_release(&e->p);
    }
    c360_profile_init(&e->p, pid, created_ms);
    e->present = 1;
    mark_p(st, e);
    return &e->p;
}

void c360_state_profile_dirty(c360_state *st, c360_profile *p)
{
    mark_p(st, (pent *)((char *)p - offsetof(pent, p)));
}

void c360_state_profile_delete(c360_state *st, uint64_t pid)
{
    pent *e;
    HASH_FIND(hh, st->profiles, &pid, sizeof pid, e);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->pid = pid;
        HASH_ADD(hh, st->profiles, pid, sizeof pid, e);
        st->nprofiles++;
    } else if (e->present) {
        c360_profile_release(&e->p);
    }
    e->present = 0;
    mark_p(st, e);
}

int c360_state_index_get(c360_state *st, const unsigned char h[16], uint64_t *pid)
{
    ient *e;
    HASH_FIND(hh, st->index, h, 16, e);
    if (e) {
        if (!e->pid) return 0;
        *pid = e->pid;
        return 1;
    }
    c360_key k;
    c360_key_ident(&k, h);
    strbuf v = STRBUF_INIT;
    int f = c360_store_get(st->store, k.b, k.n, &v);
    if (f < 0) {
        sb_release(&v);
        return -1;
    }
    e = xcalloc(1, sizeof *e);
    memcpy(e->h, h, 16);
    e->pid = (f == 1 && v.len == 8) ? c360_get_u64be((unsigned char *)v.buf) : 0;
    sb_release(&v);
    HASH_ADD(hh, st->index, h, 16, e);
    st->nindex++;
    if (!e->pid) return 0;
    *pid = e->pid;
    return 1;
}

void c360_state_index_put(c360_state *st, const unsigned char h[16], uint64_t pid)
{
    ient *e;
    HASH_FIND(hh, st->index, h, 16, e);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        memcpy(e->h, h, 16);
        HASH_ADD(hh, st->index, h, 16, e);
        st->nindex++;
    }
    e->pid = pid;
    mark_i(st, e);
}

int c360_state_seen_msg(c360_state *st, const unsigned char h[16]) { return mset_has(&st->msgs, h); }
void c360_state_add_msg(c360_state *st, const unsigned char h[16]) { mset_add(&st->msgs, h); }
uint64_t c360_state_msg_clears(const c360_state *st) { return st->msgs.clears; }

void c360_state_flush(c360_state *st, c360_txn *txn)
{
    strbuf v = STRBUF_INIT;
    for (size_t i = 0; i < st->dirty_p.n; i++) {
        pent *e = st->dirty_p.v[i];
        if (st->nchanged == st->capchanged) {
            st->capchanged = st->capchanged ? st->capchanged * 2 : 256;
            st->changed = xrealloc(st->changed, sizeof *st->changed * st->capchanged);
        }
        st->changed[st->nchanged++] = e->pid;
        c360_key k;
        c360_key_record(&k, e->pid);
        if (e->present) {
            sb_reset(&v);
            c360_profile_encode(&e->p, &v);
            c360_txn_put(txn, k.b, k.n, v.buf, v.len);
        } else {
            c360_txn_del(txn, k.b, k.n);
        }
        e->dirty = 0;
    }
    sb_release(&v);
    for (size_t i = 0; i < st->dirty_i.n; i++) {
        ient *e = st->dirty_i.v[i];
        c360_key k;
        c360_key_ident(&k, e->h);
        unsigned char pv[8];
        c360_put_u64be(pv, e->pid);
        if (e->pid) c360_txn_put(txn, k.b, k.n, pv, 8);
        else c360_txn_del(txn, k.b, k.n); /* erased */
        e->dirty = 0;
    }
    st->dirty_p.n = st->dirty_i.n = 0;
    drop_msgs(st);
}

void c360_state_trim(c360_state *st)
{
    if (st->nprofiles > st->capacity) drop_profiles(st, 1);
    if (st->nindex > st->capacity * 4) drop_index(st, 1);
}
