/* search.c -- find customers by name prefix: GET /v1/search?q=PREFIX&limit=N, backed by an
 * in-memory name index (pid -> lower-cased name), and the cheap customer count the console's
 * overview shows.
 *
 * Lifecycle: built on first use by scanning the profile records (one seek per customer: the
 * record is the first key of each customer's range), then kept fresh by the engine's commit
 * hook (c360_search_on_commit, called from the live-stream fan-out in api_stream.c), which only
 * queues the changed pids; readers refresh those pids from the committed store before they
 * search. A pid whose record is gone (erased, merged away) simply leaves the index, so erasure
 * reaches it with no special case. Names are never written to disk. If more than PENDING_MAX
 * changes queue up with nobody searching (a bulk load), the queue is dropped and the index is
 * rebuilt on the next use instead.
 *
 * Matching: case-insensitive (ASCII) prefix of the full name or of any word in it ("bak" finds
 * Noah Baker). A linear scan: ~1 ms per 100k customers. Results are rendered from the profile
 * records and masked per role by c360_respond_json like every read. */
#include "serving/http_int.h"
#include "core/errors.h"
#include "identity/resolve.h"
#include "profile/profile.h"
#include "serving/url.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/json.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define PENDING_MAX 200000

typedef struct nent {
    uint64_t pid;
    char *name;              /* lower-cased; "" if the customer has no name */
    UT_hash_handle hh;
} nent;

/* Two locks: `mu` guards the index (readers, possibly for a whole rebuild), `pmu` only the queue
 * of changed pids, so the writer thread never waits for a search or a rebuild. */
static struct {
    pthread_mutex_t mu;
    c360_store *store;       /* the store the index was built from */
    nent *by_pid;
    size_t count;
    int built;
    pthread_mutex_t pmu;
    uint64_t *pending;       /* pids changed since the last refresh (writer -> readers) */
    size_t npending, cappending;
    int stale;               /* the queue was dropped (or never started): rebuild on next use */
} ix = {.mu = PTHREAD_MUTEX_INITIALIZER, .pmu = PTHREAD_MUTEX_INITIALIZER, .stale = 1};

/* the display name of a profile: traits.name, else first_name + last_name; NULL if none */
static char *profile_name(const c360_profile *p)
{
    const char *keys[] = {"name", "first_name", "last_name"};
    strbuf parts[3] = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < p->ntraits; i++) {
            if (strcmp(p->traits[i].key, keys[k]) || p->traits[i].json[0] != '"') continue;
            c360_json j;
            c360_json_init(&j);
            char err[8];
            if (c360_json_parse(&j, p->traits[i].json, strlen(p->traits[i].json), err, sizeof err) == 0) c360_json_str(&j, 0, &parts[k]);
            c360_json_release(&j);
        }
    char *out = NULL;
    if (parts[0].len) out = xstrndup(parts[0].buf, parts[0].len);
    else if (parts[1].len || parts[2].len) {
        strbuf b = STRBUF_INIT;
        sb_add(&b, parts[1].buf, parts[1].len);
        if (parts[1].len && parts[2].len) sb_addc(&b, ' ');
        sb_add(&b, parts[2].buf, parts[2].len);
        out = xstrndup(b.buf, b.len);
        sb_release(&b);
    }
    for (int k = 0; k < 3; k++) sb_release(&parts[k]);
    return out;
}

static void lower(char *s)
{
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

static void ix_set(uint64_t pid, const c360_profile *p)   /* p NULL: remove */
{
    nent *e;
    HASH_FIND(hh, ix.by_pid, &pid, sizeof pid, e);
    if (!p) {
        if (e) {
            HASH_DEL(ix.by_pid, e);
            free(e->name);
            free(e);
            ix.count--;
        }
        return;
    }
    char *name = profile_name(p);
    if (!name) name = xstrndup("", 0);
    lower(name);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->pid = pid;
        HASH_ADD(hh, ix.by_pid, pid, sizeof pid, e);
        ix.count++;
    } else {
        free(e->name);
    }
    e->name = name;
}

static void ix_clear(void)
{
    nent *e, *tmp;
    HASH_ITER(hh, ix.by_pid, e, tmp) {
        HASH_DEL(ix.by_pid, e);
        free(e->name);
        free(e);
    }
    ix.count = 0;
    ix.built = 0;
}

/* one pass over the profile records: seek to each customer's record, skip the rest of its range */
static void ix_build(c360_store *s)
{
    ix_clear();
    unsigned char lo[1] = {C360_K_PROFILE}, hi[1] = {C360_K_PROFILE + 1};
    c360_iter *it = c360_iter_new(s, lo, 1, hi, 1);
    c360_iter_first(it);
    while (c360_iter_valid(it)) {
        size_t kl, vl;
        const unsigned char *k = (const unsigned char *)c360_iter_key(it, &kl);
        if (kl < 9) break;
        uint64_t pid = c360_get_u64be(k + 1);
        if (kl == 10 && k[9] == C360_SUB_RECORD) {
            const char *v = c360_iter_value(it, &vl);
            c360_profile p;
            if (c360_profile_decode(&p, v, vl) == 0) {
                ix_set(pid, &p);
                c360_profile_release(&p);
            }
        }
        if (pid == UINT64_MAX) break;
        c360_key next;
        c360_key_record(&next, pid + 1);
        c360_iter_seek(it, next.b, 9);   /* 'P' + pid+1: the start of the next customer */
    }
    c360_iter_free(it);
    ix.store = s;
    ix.built = 1;
}

/* under ix.mu: build if needed, else apply the queued changes */
static void ix_refresh(c360_store *s)
{
    pthread_mutex_lock(&ix.pmu);
    int rebuild = ix.stale || !ix.built || ix.store != s;
    uint64_t *pend = ix.pending;
    size_t np = ix.npending;
    ix.pending = NULL;
    ix.npending = ix.cappending = 0;
    ix.stale = 0;   /* from here on, commits are queued: a rebuild's scan misses none of them */
    pthread_mutex_unlock(&ix.pmu);
    if (rebuild) ix_build(s);
    for (size_t i = 0; i < np && !rebuild; i++) {
        uint64_t pid = pend[i];
        c360_profile p;
        int f = c360_load_profile_ro(s, pid, &p);
        if (f == 1 && p.pid == pid) {
            ix_set(pid, &p);
            c360_profile_release(&p);
        } else {
            if (f == 1) c360_profile_release(&p);
            if (f >= 0) ix_set(pid, NULL);
        }
    }
    free(pend);
}

/* writer thread, after every commit (via api_stream.c): queue the changed pids; never waits
 * for a reader */
void c360_search_on_commit(const uint64_t *pids, size_t n)
{
    pthread_mutex_lock(&ix.pmu);
    if (!ix.stale) {
        if (ix.npending + n > PENDING_MAX) {
            ix.stale = 1;
            free(ix.pending);
            ix.pending = NULL;
            ix.npending = ix.cappending = 0;
        } else {
            if (ix.npending + n > ix.cappending) {
                ix.cappending = (ix.npending + n) * 2;
                ix.pending = xrealloc(ix.pending, ix.cappending * sizeof *ix.pending);
            }
            memcpy(ix.pending + ix.npending, pids, n * sizeof *pids);
            ix.npending += n;
        }
    }
    pthread_mutex_unlock(&ix.pmu);
}

size_t c360_search_customers(c360_store *s)
{
    pthread_mutex_lock(&ix.mu);
    ix_refresh(s);
    size_t n = ix.count;
    pthread_mutex_unlock(&ix.mu);
    return n;
}

static int word_prefix(const char *name, const char *q, size_t ql)
{
    for (const char *w = name; *w;) {
        if (!strncmp(w, q, ql)) return 1;
        const char *sp = strchr(w, ' ');
        if (!sp) break;
        w = sp + 1;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const nent *x = *(const nent *const *)a, *y = *(const nent *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->pid < y->pid ? -1 : x->pid > y->pid);
}

/* one result: id, and name and contact fields under "traits" (masked by the caller's role on the
 * way out, like the same traits in a profile) */
static void render_hit(c360_store *s, uint64_t pid, strbuf *out)
{
    c360_profile p;
    if (c360_load_profile_ro(s, pid, &p) != 1) return;
    char id[20], ts[32];
    c360_profile_id_str(p.pid, id);
    if (out->buf[out->len - 1] != '[') sb_addc(out, ',');
    sb_addf(out, "{\"id\":\"%s\",\"traits\":{", id);
    static const char *const traits[] = {"name", "email", "phone"};
    int nt = 0;
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < p.ntraits; i++)
            if (!strcmp(p.traits[i].key, traits[t])) {
                sb_addf(out, "%s\"%s\":%s", nt++ ? "," : "", traits[t], p.traits[i].json);
                break;
            }
    sb_addc(out, '}');
    for (int i = 0; i < p.nids; i++)
        if (!strcmp(p.ids[i].type, "user_id")) {
            sb_adds(out, ",\"user_id\":");
            c360_json_put_cstr(out, p.ids[i].value);
            break;
        }
    c360_time_format(p.last_seen, ts);
    sb_addf(out, ",\"last_seen\":\"%s\"}", ts);
    c360_profile_release(&p);
}

int c360_api_search(c360_call *c)
{
    strbuf q = STRBUF_INIT, lim = STRBUF_INIT, out = STRBUF_INIT;
    int limit = 20;
    int fq = c->query ? c360_query_param(c->query, c->querylen, "q", &q) : 0;
    int fl = c->query ? c360_query_param(c->query, c->querylen, "limit", &lim) : 0;
    if (fl == 1) {
        char *end;
        long v = strtol(lim.buf, &end, 10);
        if (!lim.len || *end || v < 1 || v > 100) fl = -1;
        else limit = (int)v;
    }
    while (q.len && q.buf[q.len - 1] == ' ') q.buf[--q.len] = 0;
    size_t skip = 0;
    while (skip < q.len && q.buf[skip] == ' ') skip++;
    if (fq != 1 || fl < 0 || q.len - skip < 1 || q.len - skip > 200 || memchr(q.buf, 0, q.len)) {
        c360_respond_error(c, C360_EPARAM, fl < 0 ? "limit must be an integer from 1 to 100"
                                                  : "q (a name prefix, 1 to 200 characters) is required");
        goto done;
    }
    char *needle = q.buf + skip;
    lower(needle);
    size_t nl = strlen(needle);
    c360_store *s = c->srv->d.store;
    nent **hits = NULL;
    size_t nhits = 0, cap = 0, total = 0;
    pthread_mutex_lock(&ix.mu);
    ix_refresh(s);
    for (nent *e = ix.by_pid; e; e = e->hh.next) {
        if (!*e->name || !word_prefix(e->name, needle, nl)) continue;
        total++;
        if (nhits == cap) {
            cap = cap ? cap * 2 : 64;
            hits = xrealloc(hits, cap * sizeof *hits);
        }
        hits[nhits++] = e;
        if (nhits >= 10000) break;   /* enough to sort a page from */
    }
    if (nhits) qsort(hits, nhits, sizeof *hits, by_name);
    size_t n = nhits < (size_t)limit ? nhits : (size_t)limit;
    uint64_t *pids = xcalloc(n ? n : 1, sizeof *pids);
    for (size_t i = 0; i < n; i++) pids[i] = hits[i]->pid;
    pthread_mutex_unlock(&ix.mu);
    free(hits);
    sb_adds(&out, "{\"results\":[");
    for (size_t i = 0; i < n; i++) render_hit(s, pids[i], &out);
    sb_addf(&out, "],\"total\":%zu,\"truncated\":%s}", total, total >= 10000 ? "true" : "false");
    free(pids);
    c360_audit_call(c, "search", 0, NULL, 0);
    c360_respond_json(c, 200, &out);
done:
    sb_release(&q);
    sb_release(&lim);
    sb_release(&out);
    return 0;
}
