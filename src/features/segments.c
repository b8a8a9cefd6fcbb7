/* segments.c -- named predicates over traits and features, their definitions (config file or
 * POST /v1/segments, persisted under 'F' 's' name) and the membership index ('F' 'm' name 0 pid,
 * value: since, event time u64 + 2^63). Membership is evaluated on the writer after every event
 * of a customer; entries and exits are kept in the profile's state (segments + since), counted in
 * metrics and published on the Kafka sink (notices.c). Time-based features that cross a threshold without a new event are caught on read:
 * the members listing and the profile view evaluate the predicate again. */
#include "features/fint.h"
#include "profile/profile.h"
#include "store/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void fseg_member_key(strbuf *k, const char *seg, uint64_t pid)
{
    sb_reset(k);
    sb_addc(k, 'F');
    sb_addc(k, 'm');
    sb_adds(k, seg);
    sb_addc(k, 0);
    sb_add_u64be(k, pid);
}

int seg_is_member(c360_features *f, const fseg *sg, const c360_profile *p, const fstate *s, int64_t now)
{
    fprof_ctx x = {.f = f, .p = p, .s = s, .now = now, .scratch = STRBUF_INIT};
    int r = fexpr_eval(sg->where, fprof_lookup, &x);
    sb_release(&x.scratch);
    return r;
}

static void set_member(c360_txn *txn, const char *seg, uint64_t pid, int64_t since, int in)
{
    strbuf k = STRBUF_INIT;
    fseg_member_key(&k, seg, pid);
    if (in) {
        unsigned char v[8];
        c360_put_u64be(v, (uint64_t)since + C360_TS_BIAS);
        c360_txn_put(txn, k.buf, k.len, v, 8);
    } else {
        c360_txn_del(txn, k.buf, k.len);
    }
    sb_release(&k);
}

void segs_update(c360_features *f, c360_txn *txn, const c360_profile *p, fstate *s, int64_t ts, int64_t now)
{
    pthread_rwlock_rdlock(&f->seg_lock);
    /* exits: no longer defined, or no longer true */
    int k = 0;
    for (int i = 0; i < s->nsegs; i++) {
        const fseg *sg = NULL;
        for (int g = 0; g < f->nsegs && !sg; g++)
            if (!strcmp(f->segs[g].name, s->segs[i].name)) sg = &f->segs[g];
        if (sg && seg_is_member(f, sg, p, s, now)) {
            s->segs[k++] = s->segs[i];
            continue;
        }
        set_member(txn, s->segs[i].name, p->pid, 0, 0);
        fnotice_segment(f, p->pid, s->segs[i].name, 0, ts);
        free(s->segs[i].name);
    }
    s->nsegs = k;
    /* entries */
    for (int g = 0; g < f->nsegs; g++) {
        int have = 0;
        for (int i = 0; i < s->nsegs && !have; i++) have = !strcmp(s->segs[i].name, f->segs[g].name);
        if (have || !seg_is_member(f, &f->segs[g], p, s, now)) continue;
        int lo = 0;
        while (lo < s->nsegs && strcmp(s->segs[lo].name, f->segs[g].name) < 0) lo++;
        s->segs = xrealloc(s->segs, sizeof *s->segs * (size_t)(s->nsegs + 1));
        memmove(s->segs + lo + 1, s->segs + lo, sizeof *s->segs * (size_t)(s->nsegs - lo));
        s->segs[lo] = (fmember){.name = xstrdup(f->segs[g].name), .since = ts};
        s->nsegs++;
        set_member(txn, f->segs[g].name, p->pid, ts, 1);
        fnotice_segment(f, p->pid, f->segs[g].name, 1, ts);
    }
    pthread_rwlock_unlock(&f->seg_lock);
}

static int valid_name(const char *n)
{
    size_t l = strlen(n);
    if (!l || l > 64) return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* adds or replaces (lock held for writing) */
static void put_seg(c360_features *f, const char *name, const char *src, fexpr *e, int api)
{
    for (int i = 0; i < f->nsegs; i++)
        if (!strcmp(f->segs[i].name, name)) {
            fseg_release(&f->segs[i]);
            f->segs[i] = (fseg){.name = xstrdup(name), .where_src = xstrdup(src), .where = e, .from_api = api};
            return;
        }
    f->segs = xrealloc(f->segs, sizeof *f->segs * (size_t)(f->nsegs + 1));
    f->segs[f->nsegs++] = (fseg){.name = xstrdup(name), .where_src = xstrdup(src), .where = e, .from_api = api};
}

int c360_features_segment_define(c360_features *f, const char *name, const char *where, int persist, char *err, size_t errlen)
{
    if (!valid_name(name)) {
        snprintf(err, errlen, "segment name must be 1-64 letters, digits, _ or -");
        return -1;
    }
    char e2[200];
    fexpr *e = fexpr_parse(where, e2, sizeof e2);
    if (!e) {
        snprintf(err, errlen, "where: %s", e2);
        return -1;
    }
    if (persist) {
        strbuf k = STRBUF_INIT;
        sb_addc(&k, 'F');
        sb_addc(&k, 's');
        sb_adds(&k, name);
        int rc = c360_store_put_sync(f->store, k.buf, k.len, where, strlen(where), err, errlen);
        sb_release(&k);
        if (rc) {
            fexpr_free(e);
            return -2;
        }
    }
    pthread_rwlock_wrlock(&f->seg_lock);
    put_seg(f, name, where, e, persist);
    pthread_rwlock_unlock(&f->seg_lock);
    return 0;
}

void fsegs_load_store(c360_features *f)
{
    char lo[2] = {'F', 's'}, hi[2] = {'F', 't'};
    c360_iter *it = c360_iter_new(f->store, lo, 2, hi, 2);
    for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
        size_t kl, vl;
        const char *k = c360_iter_key(it, &kl), *v = c360_iter_value(it, &vl);
        char *name = xstrndup(k + 2, kl - 2), *src = xstrndup(v, vl);
        char e2[200];
        fexpr *e = fexpr_parse(src, e2, sizeof e2);
        if (e) put_seg(f, name, src, e, 1);
        free(name);
        free(src);
    }
    c360_iter_free(it);
}

void c360_features_segments_json(c360_features *f, strbuf *out)
{
    pthread_rwlock_rdlock(&f->seg_lock);
    sb_adds(out, "{\"segments\":[");
    for (int i = 0; i < f->nsegs; i++) {
        sb_adds(out, i ? ",{\"name\":" : "{\"name\":");
        c360_json_put_cstr(out, f->segs[i].name);
        sb_adds(out, ",\"where\":");
        c360_json_put_cstr(out, f->segs[i].where_src);
        sb_addf(out, ",\"source\":\"%s\"}", f->segs[i].from_api ? "api" : "config");
    }
    sb_adds(out, "]}");
    pthread_rwlock_unlock(&f->seg_lock);
}

int c360_features_segment_check(c360_features *f, const char *name, const c360_profile *p, int64_t now)
{
    pthread_rwlock_rdlock(&f->set_lock);
    pthread_rwlock_rdlock(&f->seg_lock);
    int r = -1;
    for (int i = 0; i < f->nsegs; i++)
        if (!strcmp(f->segs[i].name, name)) {
            fstate s;
            fstate_load_ro(f, p, &s);
            r = seg_is_member(f, &f->segs[i], p, &s, now);
            fstate_release(&s);
            break;
        }
    pthread_rwlock_unlock(&f->seg_lock);
    pthread_rwlock_unlock(&f->set_lock);
    return r;
}
