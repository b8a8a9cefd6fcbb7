/* resolve.c -- identity resolution and profile merging (algorithm in resolve.h). */
#include "identity/resolve.h"
#include "core/errors.h"
#include "engine/state.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/codec.h"
#include "util/json.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CAND 16

int c360_resolver_init(c360_resolver *r, c360_store *s, c360_state *st, const c360_id_rules *rules)
{
    memset(r, 0, sizeof *r);
    r->store = s;
    r->st = st;
    r->rules = rules;
    r->secret = c360_store_secret(s);
    r->partitions = c360_store_partitions(s);
    strbuf v = STRBUF_INIT;
    unsigned char k[4] = {C360_K_META, 's', 'e', 'q'};
    int f = c360_store_get(s, k, 4, &v);
    r->next_seq = (f == 1 && v.len == 8) ? c360_get_u64be((unsigned char *)v.buf) : 1;
    sb_release(&v);
    return f < 0 ? -1 : 0;
}

static int load(c360_store *s, uint64_t pid, c360_profile *p, int ro)
{
    c360_key k;
    c360_key_record(&k, pid);
    strbuf v = STRBUF_INIT;
    int f = c360_store_get(s, k.b, k.n, &v);
    if (f == 1 && (ro ? c360_profile_decode_ro(p, v.buf, v.len) : c360_profile_decode(p, v.buf, v.len)) != 0) {
        LOG_ERROR("corrupt profile record", "\"pid\":\"%016llx\"", (unsigned long long)pid);
        f = -1;
    }
    sb_release(&v);
    return f;
}

int c360_load_profile(c360_store *s, uint64_t pid, c360_profile *p) { return load(s, pid, p, 0); }
int c360_load_profile_ro(c360_store *s, uint64_t pid, c360_profile *p) { return load(s, pid, p, 1); }

void c360_put_profile(c360_txn *txn, const c360_profile *p)
{
    c360_key k;
    c360_key_record(&k, p->pid);
    strbuf v = STRBUF_INIT;
    c360_profile_encode(p, &v);
    c360_txn_put(txn, k.b, k.n, v.buf, v.len);
    sb_release(&v);
}

static int index_get(c360_store *s, const unsigned char h[16], uint64_t *pid)
{
    c360_key k;
    c360_key_ident(&k, h);
    strbuf v = STRBUF_INIT;
    int f = c360_store_get(s, k.b, k.n, &v);
    if (f == 1) {
        if (v.len != 8) f = -1;
        else *pid = c360_get_u64be((unsigned char *)v.buf);
    }
    sb_release(&v);
    return f;
}

uint64_t c360_resolve_redirect(c360_store *s, uint64_t pid)
{
    strbuf v = STRBUF_INIT;
    for (int hops = 0; hops < 8; hops++) {
        c360_key k;
        c360_key_redirect(&k, pid);
        if (c360_store_get(s, k.b, k.n, &v) != 1 || v.len != 8) break;
        pid = c360_get_u64be((unsigned char *)v.buf);
    }
    sb_release(&v);
    return pid;
}

static int lookup_normalized(c360_store *s, const char *type, const char *value, uint64_t *pid)
{
    c360_id id;
    memset(&id, 0, sizeof id);
    snprintf(id.type, sizeof id.type, "%s", type);
    id.value = (char *)value;
    c360_id_hash(&id, c360_store_secret(s));
    return index_get(s, id.hash, pid);
}

int c360_lookup_ident(c360_store *s, const c360_id_rules *rules, const char *type, const char *value, uint64_t *pid)
{
    /* a phone given in its stored form (digits with the country code, as the API shows it) is
     * taken as is: normalising it again could read a short international number as national */
    if (!strcmp(type, "phone")) {
        size_t n = strlen(value), d = strspn(value, "0123456789");
        if (n == d && n >= 8 && n <= 15) {
            int f = lookup_normalized(s, type, value, pid);
            if (f != 0) return f;
        }
    }
    c360_id id;
    memset(&id, 0, sizeof id);
    snprintf(id.type, sizeof id.type, "%s", type);
    strbuf v = STRBUF_INIT;
    if (c360_norm_value(rules, type, value, strlen(value), &v) != 0) {
        sb_release(&v);
        return 0;
    }
    id.value = v.buf;
    c360_id_hash(&id, c360_store_secret(s));
    int f = index_get(s, id.hash, pid);
    sb_release(&v);
    return f;
}

/* ---- the greedy acceptance check ---- */

typedef struct { const char *type, *value; } idref;

typedef struct {
    idref *v;
    int n, cap;
} idset;

static void idset_add(idset *s, const char *type, const char *value)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].type, type) && !strcmp(s->v[i].value, value)) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = xrealloc(s->v, sizeof *s->v * (size_t)s->cap);
    }
    s->v[s->n].type = type;
    s->v[s->n].value = value;
    s->n++;
}

static int count_type(const idset *s, const char *type)
{
    int n = 0;
    for (int k = 0; k < s->n; k++) n += !strcmp(s->v[k].type, type);
    return n;
}

/* NULL if going from `before` to `after` keeps within the limits; otherwise a static reason.
 * Only growth is judged: a profile already over a limit (the limit was lowered after it formed)
 * keeps what it has and may still receive events, but gains nothing more of that kind. */
static const char *over_limit(const c360_id_rules *r, const idset *before, const idset *after)
{
    if (after->n > r->max_identities && after->n > before->n) return "max_identities";
    for (int i = 0; i < after->n; i++) {
        int cnt = count_type(after, after->v[i].type);
        if (cnt > c360_id_limit(r, after->v[i].type) && cnt > count_type(before, after->v[i].type)) return "type_limit";
    }
    return NULL;
}

static void merge_record(c360_txn *txn, c360_profile *surv, const char *kind, int64_t now, const c360_event *ev,
                         uint64_t other_pid, const c360_id *ids, int nids, const char *reason)
{
    strbuf j = STRBUF_INIT;
    char at[32], id[20];
    c360_time_format(now, at);
    sb_addf(&j, "{\"kind\":\"%s\",\"at\":\"%s\",\"event\":", kind, at);
    c360_json_put_cstr(&j, ev->message_id);
    if (other_pid) {
        c360_profile_id_str(other_pid, id);
        sb_addf(&j, ",\"merged_profile\":\"%s\"", id);
    }
    if (reason) sb_addf(&j, ",\"reason\":\"%s\"", reason);
    sb_adds(&j, ",\"identifiers\":[");
    for (int i = 0; i < nids; i++) {
        sb_adds(&j, i ? ",{\"type\":" : "{\"type\":");
        c360_json_put_cstr(&j, ids[i].type);
        sb_adds(&j, ",\"value\":");
        c360_json_put_cstr(&j, ids[i].value);
        sb_addc(&j, '}');
    }
    sb_adds(&j, "]}");
    c360_key k;
    c360_key_merge(&k, surv->pid, surv->merge_seq++);
    c360_txn_put(txn, k.b, k.n, j.buf, j.len);
    sb_release(&j);
}

/* Moves everything of `loser` into `surv`'s key range and index. */
static int absorb(c360_resolver *r, c360_txn *txn, c360_profile *surv, c360_profile *loser)
{
    c360_key lo, hi, nk;
    /* Everything under the loser's key range moves under the survivor: events and consent
     * history keep their suffix (time + message hash), merge records are renumbered into the
     * survivor's sequence; the profile record itself is replaced by the absorbed survivor. The
     * iterator reads the committed store (the group so far was committed before the merge). */
    c360_key_range(&lo, &hi, loser->pid, 0);
    c360_iter *it = c360_iter_new(r->store, lo.b, lo.n, hi.b, hi.n);
    for (c360_iter_first(it); c360_iter_valid(it); c360_iter_next(it)) {
        size_t kl, vl;
        const char *k = c360_iter_key(it, &kl);
        const char *v = c360_iter_value(it, &vl);
        if (kl < 10 || kl > sizeof nk.b || k[9] == C360_SUB_RECORD) continue;
        if (k[9] == C360_SUB_SHADOW) { /* a rebuild's state of the loser: the survivor has its own */
            c360_txn_del(txn, k, kl);
            continue;
        }
        if (k[9] == C360_SUB_MERGE) {
            c360_key_merge(&nk, surv->pid, surv->merge_seq++);
        } else {
            memcpy(nk.b, k, kl);
            nk.n = kl;
            c360_put_u64be(nk.b + 1, surv->pid);
        }
        c360_txn_del(txn, k, kl);
        c360_txn_put(txn, nk.b, nk.n, v, vl);
    }
    c360_iter_free(it);
    /* identifiers -> survivor */
    for (int i = 0; i < loser->nids; i++) {
        c360_id id;
        memset(&id, 0, sizeof id);
        snprintf(id.type, sizeof id.type, "%s", loser->ids[i].type);
        id.value = loser->ids[i].value;
        c360_id_hash(&id, r->secret);
        c360_state_index_put(r->st, id.hash, surv->pid);
    }
    /* redirects for the loser and everything it had absorbed */
    unsigned char sv[8];
    c360_put_u64be(sv, surv->pid);
    c360_key_redirect(&nk, loser->pid);
    c360_txn_put(txn, nk.b, nk.n, sv, 8);
    for (int i = 0; i < loser->nmerged; i++) {
        c360_key_redirect(&nk, loser->merged[i]);
        c360_txn_put(txn, nk.b, nk.n, sv, 8);
    }
    c360_profile_absorb(surv, loser);
    if (r->on_merge) r->on_merge(r->commit_arg, surv, loser);
    c360_state_profile_delete(r->st, loser->pid);   /* frees *loser */
    return 0;
}

/* Created first: by creation time, then by sequence number (the low 48 bits of the pid; the
 * high bits are the partition and say nothing about age). */
static int older(const c360_profile *a, const c360_profile *b)
{
    if (a->created_ms != b->created_ms) return a->created_ms < b->created_ms;
    uint64_t sa = a->pid & 0xFFFFFFFFFFFFull, sb = b->pid & 0xFFFFFFFFFFFFull;
    return sa != sb ? sa < sb : a->pid < b->pid;
}

int c360_resolve(c360_resolver *r, c360_txn *txn, c360_event *ev, int64_t now, c360_profile **out)
{
    const c360_id_rules *rules = r->rules;
    /* alias: previousId is a user_id if one exists, else an anonymous_id */
    if (ev->alias_prev) {
        c360_id prev;
        memset(&prev, 0, sizeof prev);
        strcpy(prev.type, "user_id");
        prev.value = ev->alias_prev;
        c360_id_hash(&prev, r->secret);
        uint64_t tmp;
        int f = c360_state_index_get(r->st, prev.hash, &tmp);
        if (f < 0) return C360_ESTORE;
        if (f == 0) {
            strcpy(prev.type, "anonymous_id");
            c360_id_hash(&prev, r->secret);
        }
        int dup = 0;
        for (int i = 0; i < ev->nids; i++) dup |= !strcmp(ev->ids[i].type, prev.type) && !strcmp(ev->ids[i].value, prev.value);
        if (!dup) {
            prev.value = xstrdup(ev->alias_prev);
            prev.prio = c360_id_prio(rules, prev.type);
            ev->ids = xrealloc(ev->ids, sizeof *ev->ids * (size_t)(ev->nids + 1));
            ev->ids[ev->nids++] = prev;
        }
        free(ev->alias_prev);
        ev->alias_prev = NULL;
    }

    int n = ev->nids;
    uint64_t *pids = xcalloc((size_t)n, sizeof *pids);
    int *accepted = xcalloc((size_t)n, sizeof *accepted);
    c360_profile *cand[MAX_CAND];
    int ncand = 0, rc = 0;
    idset set = {0};
    uint64_t merges_in_set = 0;
    for (int i = 0; i < n; i++) {
        int f = c360_state_index_get(r->st, ev->ids[i].hash, &pids[i]);
        if (f < 0) { rc = C360_ESTORE; goto done; }
        if (f == 0) pids[i] = 0;
    }
    /* the common case: every identifier of the event already points at one profile that lists
     * it. Nothing is linked, so no limit can be crossed and the loop below would accept them all
     * into that profile, after building identifier sets quadratic in the profile's identifiers
     * (a customer with many anonymous ids made that 3% of the writer's samples). */
    int same = n > 0 && pids[0];
    for (int i = 1; i < n && same; i++) same = pids[i] == pids[0];
    if (same) {
        c360_profile *p;
        int f = c360_state_profile(r->st, pids[0], &p);
        if (f < 0) { rc = C360_ESTORE; goto done; }
        for (int i = 0; i < n && f == 1; i++) f = c360_profile_has_ident(p, ev->ids[i].type, ev->ids[i].value);
        if (f == 1) {
            for (int i = 0; i < n; i++) c360_profile_add_ident(p, ev->ids[i].type, ev->ids[i].value, ev->ts, ev->message_id);
            c360_state_profile_dirty(r->st, p);
            *out = p;
            goto done;
        }
    }
    for (int i = 0; i < n; i++) {
        const char *reason = NULL;
        int have = 0;
        for (int c = 0; c < ncand; c++) have |= cand[c]->pid == pids[i];
        idset trial = {0};
        for (int k = 0; k < set.n; k++) idset_add(&trial, set.v[k].type, set.v[k].value);
        c360_profile *extra = NULL;
        if (pids[i] && !have) {
            if (ncand == MAX_CAND) {
                reason = "max_merges";
            } else {
                int f = c360_state_profile(r->st, pids[i], &extra);
                if (f < 0) { rc = C360_ESTORE; free(trial.v); goto done; }
                if (f == 0) {
                    pids[i] = 0; /* dangling index entry: the profile was erased; treat as new */
                    extra = NULL;
                } else {
                    for (int k = 0; k < extra->nids; k++) idset_add(&trial, extra->ids[k].type, extra->ids[k].value);
                    if (ncand > 0 && merges_in_set + (uint64_t)extra->nmerged + 1 > (uint64_t)rules->max_merges)
                        reason = "max_merges";
                }
            }
        }
        idset_add(&trial, ev->ids[i].type, ev->ids[i].value);
        if (!reason && ncand == 0 && extra) {
            /* the first profile found: its own identifiers are the baseline, whatever the limits */
            idset base = {0};
            for (int k = 0; k < extra->nids; k++) idset_add(&base, extra->ids[k].type, extra->ids[k].value);
            reason = over_limit(rules, &base, &trial);
            free(base.v);
        } else if (!reason) {
            reason = over_limit(rules, &set, &trial);
        }
        if (reason) {
            free(trial.v);
            r->dropped++;
            accepted[i] = -1;
            LOG_DEBUG("identifier dropped", "\"type\":\"%s\",\"reason\":\"%s\"", ev->ids[i].type, reason);
            continue;
        }
        free(set.v);
        set = trial;
        accepted[i] = 1;
        if (extra) {
            merges_in_set = ncand > 0 ? merges_in_set + (uint64_t)extra->nmerged + 1 : (uint64_t)extra->nmerged;
            cand[ncand++] = extra;
        }
    }

    if (ncand == 0) {
        /* new profile, in the partition of the strongest accepted identifier */
        int first = 0;
        while (first < n && accepted[first] != 1) first++;
        if (first == n) { rc = C360_ENOID; goto done; }
        unsigned part = (unsigned)((ev->ids[first].hash[0] << 8) | ev->ids[first].hash[1]) % (unsigned)r->partitions;
        uint64_t pid = ((uint64_t)part << 48) | (r->next_seq++ & 0xFFFFFFFFFFFFull);
        unsigned char k[4] = {C360_K_META, 's', 'e', 'q'}, v[8];
        c360_put_u64be(v, r->next_seq);
        c360_txn_put(txn, k, 4, v, 8);
        cand[ncand++] = c360_state_profile_new(r->st, pid, now);
        r->created++;
    }
    if (ncand > 1 && r->commit_pending && r->commit_pending(r->commit_arg)) {
        /* a merge moves the loser's stored events: commit what this group wrote so far (no fsync;
         * the group's final commit syncs it) so that the moves see every event */
        rc = C360_ESTORE;
        goto done;
    }
    int si = 0;
    for (int c = 1; c < ncand; c++)
        if (older(cand[c], cand[si])) si = c;
    c360_profile *surv = cand[si];
    for (int c = 0; c < ncand; c++) {
        if (c == si) continue;
        /* the identifiers of this event that pointed at the loser explain the merge */
        c360_id link[32];
        int nl = 0;
        for (int i = 0; i < n && nl < 32; i++)
            if (accepted[i] == 1 && pids[i] == cand[c]->pid) link[nl++] = ev->ids[i];
        merge_record(txn, surv, "merge", now, ev, cand[c]->pid, link, nl, NULL);
        absorb(r, txn, surv, cand[c]);
        r->merged++;
    }
    for (int i = 0; i < n; i++) {
        if (accepted[i] == 1) {
            c360_profile_add_ident(surv, ev->ids[i].type, ev->ids[i].value, ev->ts, ev->message_id); /* keeps the earliest */
            if (pids[i] != surv->pid) c360_state_index_put(r->st, ev->ids[i].hash, surv->pid);
        } else if (accepted[i] == -1) {
            merge_record(txn, surv, "dropped", now, ev, 0, &ev->ids[i], 1,
                         "linking it would exceed an identity limit (identity.limits, max_identities or max_merges)");
        }
    }
    c360_state_profile_dirty(r->st, surv);
    *out = surv;
done:
    free(set.v);
    free(pids);
    free(accepted);
    return rc;
}
