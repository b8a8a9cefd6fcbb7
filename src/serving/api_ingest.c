/* api_ingest.c -- POST /v1/{identify,track,page,screen,group,alias,batch}: the Segment tracking
 * API, and the plumbing every writer call from an HTTP loop uses (c360_call_submit): hand a job to
 * the engine, answer when the engine has committed it (see http.h). A client that disconnects
 * meanwhile does not stop the write. Tracking bodies are parsed and validated on the server's
 * worker thread (worker.h), not on the loop: the loop copies the body, and answers when the worker
 * reports an error or the engine the commit, so that reads on that loop never wait for a batch
 * to be parsed. */
#include "serving/http_int.h"
#include "core/errors.h"
#include "identity/resolve.h"
#include "serving/body.h"
#include "serving/worker.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

typedef struct call_req call_req;

typedef struct {
    call_req *cr;                  /* NULL once the reply was sent */
} req_guard;

struct call_req {
    h2o_multithread_message_t msg; /* writer -> loop; first member */
    c360_job job;
    c360_call call;                /* call.req is NULL if the client went away */
    req_guard *guard;
    c360_job_reply reply;
    void *udata;
    void (*free_udata)(void *);    /* NULL: free() */
    int evs_by_worker;             /* the events were allocated by the ingest worker: freed by the writer */
};

static void on_req_dispose(void *p)
{
    req_guard *g = p;
    if (g->cr) g->cr->call.req = NULL;
}

/* on the writer thread. Events the ingest worker allocated are freed here, not on the loop: a
 * free() into another thread's malloc arena takes that arena's lock, and the worker (nice
 * ingest_nice) holds its own all the time it parses; a loop that waited on it there waited until
 * the scheduler gave the worker the CPU again (lookups during flat-out ingest: p99 tens of ms) */
static void on_job_done(c360_job *job)
{
    call_req *cr = job->udata;
    if (cr->evs_by_worker) {
        c360_events_free(job->evs, job->n);
        job->evs = NULL;
        job->n = 0;
    }
    h2o_multithread_send_message(&cr->call.t->done_rx, &cr->msg);
}

void c360_api_ingest_done(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        call_req *cr = (call_req *)m;
        cr->call.t->inflight--;
        if (cr->call.req) {
            cr->guard->cr = NULL;
            cr->reply(&cr->call, &cr->job, cr->udata);
        }
        c360_events_free(cr->job.evs, cr->job.n);
        (cr->free_udata ? cr->free_udata : free)(cr->udata);
        free(cr);
    }
}

int c360_call_submit(c360_call *c, c360_job *job, c360_job_reply reply, void *udata)
{
    call_req *cr = xcalloc(1, sizeof *cr);
    cr->call = *c;
    cr->job = *job;
    cr->job.done = on_job_done;
    cr->job.udata = cr;
    cr->reply = reply;
    cr->udata = udata;
    int rc = c360_engine_submit(c->srv->d.engine, &cr->job);
    if (rc) {
        free(cr);
        return rc;
    }
    cr->guard = h2o_mem_alloc_shared(&c->req->pool, sizeof *cr->guard, on_req_dispose);
    cr->guard->cr = cr;
    c->t->inflight++;
    return 0;
}

int c360_call_submit_customer_event(c360_call *c, uint64_t pid, const char *name, const char *props, c360_job_reply reply,
                                    void *udata)
{
    c360_profile p;
    if (c360_load_profile(c->srv->d.store, pid, &p) != 1) {
        c360_respond_error(c, C360_ENOPROFILE, "profile not found");
        return -1;
    }
    /* the event is the customer's own: attached to its user id, else its anonymous id */
    const char *idfield = NULL, *idval = NULL;
    for (int i = 0; i < p.nids && !idfield; i++)
        if (!strcmp(p.ids[i].type, "user_id")) idfield = "userId", idval = p.ids[i].value;
    for (int i = 0; i < p.nids && !idfield; i++)
        if (!strcmp(p.ids[i].type, "anonymous_id")) idfield = "anonymousId", idval = p.ids[i].value;
    if (!idfield) {
        c360_profile_release(&p);
        c360_respond_error(c, C360_EIDENT, "this customer has no user_id or anonymous_id to attach '%s' to", name);
        return -1;
    }
    strbuf ev = STRBUF_INIT;
    sb_addf(&ev, "{\"%s\":", idfield);
    c360_json_put_cstr(&ev, idval);
    c360_profile_release(&p);
    sb_adds(&ev, ",\"event\":");
    c360_json_put_cstr(&ev, name);
    sb_adds(&ev, ",\"context\":{\"library\":{\"name\":\"c360-api\"}},\"properties\":{\"by\":");
    c360_json_put_cstr(&ev, c->key_name);
    sb_adds(&ev, props ? props : "");
    sb_adds(&ev, "}}");
    c360_event *e = xcalloc(1, sizeof *e);
    char err[256];
    int rc = c360_segment_parse_one(&c->srv->seg, C360_EV_TRACK, ev.buf, ev.len, c360_now_ms(), e, err, sizeof err);
    sb_release(&ev);
    if (rc) {
        free(e);
        c360_respond_error(c, rc, "%s", err);
        return -1;
    }
    c360_job job = {.evs = e, .n = 1};
    rc = c360_call_submit(c, &job, reply, udata);
    if (rc) {
        c360_events_free(e, 1);
        c360_respond_error(c, rc, "the writer is busy; retry");
        return -1;
    }
    return 0;
}

/* one tracking request between the loop, the worker and the engine */
typedef struct {
    int arg;               /* event type, or -1 for a batch */
    int64_t now;           /* when the loop received it */
    char *body;            /* a copy (the request may go away meanwhile); freed on the loop with the rest */
    size_t len;
    int rc;                /* 0, or the error to answer */
    char err[512];
    strbuf batch_errors;   /* rc == C360_EBATCH: the per-event errors (a JSON array) */
} ingest_ctx;

static void ingest_ctx_free(void *p)
{
    ingest_ctx *x = p;
    if (!x) return;
    free(x->body);
    sb_release(&x->batch_errors);
    free(x);
}

static void ingest_reply(c360_call *c, c360_job *job, void *udata)
{
    ingest_ctx *x = udata;
    if (x->rc == C360_EBATCH) {
        strbuf b = STRBUF_INIT;
        sb_addf(&b, "{\"error\":\"invalid_batch\",\"message\":");
        c360_json_put_cstr(&b, x->err);
        sb_adds(&b, ",\"errors\":");
        sb_add(&b, x->batch_errors.buf, x->batch_errors.len);
        sb_addc(&b, '}');
        c360_respond_json(c, 400, &b);
        sb_release(&b);
    } else if (x->rc) {
        c360_respond_error(c, x->rc, "%s", x->err);
    } else if (job->status == 0) {
        static const char ok[] = "{\"success\":true}";
        c360_respond(c, 200, "application/json", ok, sizeof ok - 1);
    } else {
        c360_respond_error(c, job->status, "events could not be stored now; nothing was stored, retry later");
    }
}

/* on the worker thread: parse, then hand the events to the engine (which answers through
 * on_job_done) or post the error back to the loop */
static void ingest_parse(void *arg)
{
    call_req *cr = arg;
    ingest_ctx *x = cr->udata;
    c360_server *srv = cr->call.srv;
    c360_event *evs = NULL;
    int n = 0, rc;
    /* a compressed body is decoded into this thread's memory and freed here (events copy what they keep) */
    strbuf dec = STRBUF_INIT;
    const char *body = x->body;
    size_t len = x->len;
    if (cr->call.coding) {
        size_t limit = c360_call_body_limit(&cr->call);
        rc = c360_body_decode(cr->call.coding, x->body, x->len, limit, &dec, x->err, sizeof x->err);
        if (rc) {
            x->rc = c360_call_body_refusal(&cr->call, rc, limit, x->err, sizeof x->err);
            sb_release(&dec);
            h2o_multithread_send_message(&cr->call.t->done_rx, &cr->msg);
            return;
        }
        body = dec.buf;
        len = dec.len;
    }
    if (x->arg < 0) {
        rc = c360_segment_parse_batch(&srv->seg, body, len, x->now, &evs, &n, &x->batch_errors, x->err, sizeof x->err);
        if (rc == C360_EBATCH) c360_metrics_reject(srv->d.metrics, rc, 1);
        /* freed here unless the loop must send it: a chunk of this thread's that a loop frees goes
         * into the loop's cache of free chunks, is handed out again to the loop's own strings, and
         * every realloc of it then takes this thread's arena lock */
        else sb_release(&x->batch_errors);
    } else {
        evs = xcalloc(1, sizeof *evs);
        rc = c360_segment_parse_one(&srv->seg, x->arg, body, len, x->now, evs, x->err, sizeof x->err);
        if (rc) {
            free(evs);
            evs = NULL;
        } else {
            n = 1;
        }
    }
    sb_release(&dec);
    /* x->body is the loop's allocation: the loop frees it with x (ingest_ctx_free), since a free
     * here would take the loop's malloc arena lock from a low-priority thread (see on_job_done) */
    x->rc = rc;
    if (rc == 0 && n > 0) {
        cr->job = (c360_job){.evs = evs, .n = n, .done = on_job_done, .udata = cr};
        cr->evs_by_worker = 1;
        rc = c360_engine_submit(srv->d.engine, &cr->job);
        if (rc == 0) return;
        c360_events_free(evs, n);
        cr->job.evs = NULL;
        cr->job.n = 0;
        x->rc = rc;
        snprintf(x->err, sizeof x->err, "%s", rc == C360_EBUSY ? "ingest queue is full; retry later" : "server is shutting down");
    }
    h2o_multithread_send_message(&cr->call.t->done_rx, &cr->msg);
}

static int api_ingest(c360_call *c)
{
    h2o_req_t *req = c->req;
    c360_server *srv = c->srv;
    if (atomic_load(&srv->draining)) {
        c360_respond_error(c, C360_EUNAVAIL, "server is shutting down");
        return 0;
    }
    ingest_ctx *x = xcalloc(1, sizeof *x);
    x->arg = c->arg;
    x->now = c360_now_ms();
    x->len = req->entity.len;
    x->body = xmalloc(x->len + 1);
    if (x->len) memcpy(x->body, req->entity.base, x->len);
    x->body[x->len] = 0;
    call_req *cr = xcalloc(1, sizeof *cr);
    cr->call = *c;
    cr->reply = ingest_reply;
    cr->udata = x;
    cr->free_udata = ingest_ctx_free;
    int rc = c360_worker_push(srv->worker, ingest_parse, cr, x->len + sizeof *x);
    if (rc) {
        ingest_ctx_free(x);
        free(cr);
        c360_respond_error(c, rc, rc == C360_EBUSY ? "ingest queue is full; retry later" : "server is shutting down");
        return 0;
    }
    /* the worker's answer is handled on this loop, so not before this function returns */
    cr->guard = h2o_mem_alloc_shared(&req->pool, sizeof *cr->guard, on_req_dispose);
    cr->guard->cr = cr;
    c->t->inflight++;
    return 0;
}

/* a compressed body is decoded on the worker with the parsing, off the loop; web pages of other
 * origins may call them (Segment's browser library) */
#define INGEST(p, t) {"POST", p, 0, C360_ROLE_INGEST | C360_ROLE_ADMIN, api_ingest, C360_ROUTE_ingest, t, C360_RF_OWN_BODY | C360_RF_CORS}
const c360_route c360_routes_ingest[] = {
    INGEST("/v1/identify", C360_EV_IDENTIFY),
    INGEST("/v1/track", C360_EV_TRACK),
    INGEST("/v1/page", C360_EV_PAGE),
    INGEST("/v1/screen", C360_EV_SCREEN),
    INGEST("/v1/group", C360_EV_GROUP),
    INGEST("/v1/alias", C360_EV_ALIAS),
    INGEST("/v1/batch", -1),
    INGEST("/v1/import", -1),
    /* the short paths of Segment's browser library (analytics.js 2.0): the type's first letter */
    INGEST("/v1/i", C360_EV_IDENTIFY),
    INGEST("/v1/t", C360_EV_TRACK),
    INGEST("/v1/p", C360_EV_PAGE),
    INGEST("/v1/s", C360_EV_SCREEN),
    INGEST("/v1/g", C360_EV_GROUP),
    INGEST("/v1/a", C360_EV_ALIAS),
    INGEST("/v1/b", -1),
    {0},
};
