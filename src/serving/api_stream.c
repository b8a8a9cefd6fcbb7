/* api_stream.c -- live updates: GET /v1/profiles/{type}:{value}/stream is a Server-Sent Events
 * stream that pushes the (masked) profile each time the writer commits a change to it.
 *
 * Flow: the engine calls stream_on_commit on the writer thread with the pids a commit changed;
 * it posts a copy to every HTTP loop (h2o multithread queue); each loop looks for subscribers of
 * those pids among its own connections and sends them the fresh profile. One send is in flight
 * per subscriber: changes arriving meanwhile coalesce into the next send. Reconnects are the
 * browser's EventSource job (`retry:` is sent); a resumed stream starts with the current state,
 * which is all a profile view needs. Merged-away subscriptions follow the redirect; an erased
 * customer ends the stream with an `erased` event. */
#include "serving/http_int.h"
#include "core/errors.h"
#include "features/features.h"
#include "identity/resolve.h"
#include "privacy/policy.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

typedef struct sse_sub {
    h2o_generator_t gen;       /* first: h2o hands it back */
    h2o_linklist_t link;       /* in the loop's subscriber list */
    h2o_req_t *req;
    http_thread *t;
    uint64_t pid;
    int role;
    unsigned reveal;
    int sending, dirty, ended;
    uint64_t seq;
    strbuf out;                /* what is being sent; kept until h2o's proceed */
} sse_sub;

typedef struct change_msg {
    h2o_multithread_message_t msg; /* first */
    struct change_msg *spent_next; /* read by its loop: in the server's list for the writer to free */
    size_t n;
    uint64_t pids[];
} change_msg;

/* A loop hands the messages it has read back to the writer, which allocated them, instead of
 * freeing them: a free() of a big chunk takes the malloc arena lock of the thread that allocated
 * it, and the writer (nice ingest_nice) holds its own all the time it applies events, so a loop
 * would wait there until the scheduler gave the writer the CPU again. A lock-free stack: loops
 * push, the writer takes it whole. */
static void spent_push(c360_server *srv, change_msg *cm)
{
    void *head = atomic_load(&srv->stream_spent);
    do cm->spent_next = head;
    while (!atomic_compare_exchange_weak(&srv->stream_spent, &head, cm));
}

void c360_stream_free_spent(c360_server *srv)
{
    change_msg *cm = atomic_exchange(&srv->stream_spent, NULL);
    while (cm) {
        change_msg *nx = cm->spent_next;
        free(cm);
        cm = nx;
    }
}

static void render(sse_sub *s, strbuf *out, int *ended)
{
    c360_server *srv = s->t->srv;
    c360_profile p;
    int f = c360_load_profile_ro(srv->d.store, s->pid, &p);
    if (f == 0) {
        uint64_t to = c360_resolve_redirect(srv->d.store, s->pid);
        if (to != s->pid) {
            s->pid = to;
            f = c360_load_profile_ro(srv->d.store, s->pid, &p);
        }
    }
    *ended = 0;
    if (f != 1) {
        sb_addf(out, "id: %llu\nevent: erased\ndata: {}\n\n", (unsigned long long)++s->seq);
        *ended = 1;
        return;
    }
    strbuf json = STRBUF_INIT;
    c360_profile_to_json_ex(&p, &json, srv->d.features ? c360_features_render : NULL, srv->d.features);
    c360_profile_release(&p);
    strbuf masked = STRBUF_INIT;
    if (srv->d.policy) c360_policy_mask(srv->d.policy, s->role, s->reveal, json.buf, json.len, &masked);
    else sb_add(&masked, json.buf, json.len);
    sb_addf(out, "id: %llu\nevent: profile\ndata: ", (unsigned long long)++s->seq);
    sb_add(out, masked.buf, masked.len);
    sb_adds(out, "\n\n");
    sb_release(&json);
    sb_release(&masked);
}

static void push(sse_sub *s)
{
    if (s->sending || s->ended || !s->req) return;
    int ended;
    sb_reset(&s->out);
    render(s, &s->out, &ended);
    s->sending = 1;
    s->dirty = 0;
    s->ended = ended;
    h2o_iovec_t iov = h2o_iovec_init(s->out.buf, s->out.len);
    h2o_send(s->req, &iov, 1, ended ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void on_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    sse_sub *s = (sse_sub *)g;
    s->sending = 0;
    if (s->dirty) push(s);
}

static void on_stop(h2o_generator_t *g, h2o_req_t *req)
{
    sse_sub *s = (sse_sub *)g;
    s->req = NULL;
}

static void on_dispose(void *p)
{
    sse_sub *s = p;
    if (h2o_linklist_is_linked(&s->link)) h2o_linklist_unlink(&s->link);
    sb_release(&s->out);
    s->req = NULL;
}

void c360_stream_on_changes(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    http_thread *t = (http_thread *)((char *)rx - offsetof(http_thread, notify_rx));
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        change_msg *cm = (change_msg *)m;
        for (h2o_linklist_t *l = t->subs.next; l != &t->subs; l = l->next) {
            sse_sub *s = H2O_STRUCT_FROM_MEMBER(sse_sub, link, l);
            for (size_t i = 0; i < cm->n; i++)
                if (cm->pids[i] == s->pid) {
                    s->dirty = 1;
                    break;
                }
        }
        spent_push(t->srv, cm);
    }
    /* push after all messages are read, so a burst of commits becomes one update */
    for (h2o_linklist_t *l = t->subs.next, *nx; l != &t->subs; l = nx) {
        nx = l->next;
        sse_sub *s = H2O_STRUCT_FROM_MEMBER(sse_sub, link, l);
        if (s->dirty) push(s);
    }
}

void c360_stream_on_commit(void *arg, const uint64_t *pids, size_t n)
{
    c360_server *srv = arg;
    c360_stream_free_spent(srv);
    c360_search_on_commit(pids, n);   /* the console's name index (search.c) follows every commit too */
    for (int i = 0; i < srv->nthreads; i++) {
        if (!srv->threads[i].nsubs) continue; /* written by its loop; a stale read only delays */
        change_msg *cm = xmalloc(sizeof *cm + n * sizeof *pids);
        memset(&cm->msg, 0, sizeof cm->msg);
        cm->n = n;
        memcpy(cm->pids, pids, n * sizeof *pids);
        h2o_multithread_send_message(&srv->threads[i].notify_rx, &cm->msg);
    }
}

int c360_api_stream(c360_call *c, uint64_t pid)
{
    h2o_req_t *req = c->req;
    sse_sub *s = h2o_mem_alloc_shared(&req->pool, sizeof *s, on_dispose);
    memset(s, 0, sizeof *s);
    s->gen.proceed = on_proceed;
    s->gen.stop = on_stop;
    s->req = req;
    s->t = c->t;
    s->pid = pid;
    s->role = c->role;
    s->reveal = c->reveal;
    sb_init(&s->out);
    h2o_linklist_insert(&c->t->subs, &s->link);
    c->t->nsubs++;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    h2o_start_response(req, &s->gen);
    /* the first event is the current state (also what a reconnecting client needs) */
    sb_adds(&s->out, "retry: 2000\n");
    int ended;
    render(s, &s->out, &ended);
    s->ended = ended;
    s->sending = 1;
    h2o_iovec_t iov = h2o_iovec_init(s->out.buf, s->out.len);
    h2o_send(req, &iov, 1, ended ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
    c360_count(&c->srv->d.metrics->http_requests[c->route], 1);
    return 0;
}
