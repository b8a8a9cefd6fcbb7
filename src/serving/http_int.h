/* http_int.h -- private to src/serving: the server and request context shared by the route
 * handlers (api_*.c) and the server core (http.c). */
#ifndef C360_HTTP_INT_H
#define C360_HTTP_INT_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "serving/http.h"
#include "sources/segment.h"
#include "util/strbuf.h"

#include "privacy/roles.h"

typedef struct http_thread http_thread;

struct c360_server {
    c360_server_deps d;
    c360_segment_ctx seg;
    h2o_globalconf_t h2o_config;
    http_thread *threads;
    int nthreads;
    int started;                       /* loops that are up (start_mu) */
    pthread_mutex_t start_mu;
    pthread_cond_t start_cv;
    atomic_int draining;
    SSL_CTX *ssl_ctx;                  /* HTTPS when tls_cert and tls_key are set */
    struct c360_worker *worker;        /* parses ingest bodies off the loops (worker.h) */
    _Atomic(void *) stream_spent;      /* live-stream messages the loops have read (api_stream.c) */
};

struct http_thread {
    h2o_context_t ctx;                 /* first: handlers get here from req->conn->ctx */
    c360_server *srv;
    h2o_accept_ctx_t accept_ctx;
    h2o_multithread_receiver_t done_rx;   /* writer -> loop: finished ingest jobs */
    h2o_multithread_receiver_t ctl_rx;    /* main -> loop: stop */
    h2o_multithread_receiver_t notify_rx; /* writer -> loop: profiles changed (live streams) */
    h2o_linklist_t subs;                  /* live-stream subscribers on this loop */
    int nsubs;                            /* ever subscribed on this loop (a hint for the writer) */
    h2o_socket_t *listener;
    int fd;
    int stopping;
    int inflight;                      /* ingest requests waiting for the writer */
    pthread_t th;
};

/* What a handler gets. */
typedef struct c360_call {
    h2o_req_t *req;
    http_thread *t;
    c360_server *srv;
    int role;                  /* the caller's role bit */
    char key_name[65];         /* the caller's key name, for the audit log */
    unsigned reveal;           /* field classes an agent asked to see unmasked (1 << class) */
    int route;                 /* C360_ROUTE_* for metrics */
    int64_t start_ns;
    const char *sub;           /* path after the route prefix (decoded), for prefix routes */
    size_t sublen;
    const char *query;         /* raw query string without '?', or NULL */
    size_t querylen;
    int arg;                   /* route argument (event type for ingest) */
    int flags;                 /* the route's C360_RF_* (before a method matched: RF_CORS of the path) */
    int coding;                /* C360_CODING_* of a body the handler decodes itself (a route with
                                  C360_RF_OWN_BODY, called with a key in a header); otherwise on_req has
                                  already decoded req->entity and this is 0 */
} c360_call;

void c360_respond(c360_call *c, int status, const char *content_type, const char *body, size_t len);
void c360_respond_json(c360_call *c, int status, const strbuf *body);
void c360_respond_error(c360_call *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Resolves TYPE:VALUE (any identifier type, or id:c-... following merges) to a pid; answers the
 * error itself (400 malformed, 404 unknown, 503 store) and returns -1. */
int c360_call_find_pid(c360_call *c, const char *ident, size_t n, uint64_t *pid);
/* The largest body (decoded) the call's route takes. */
size_t c360_call_body_limit(const c360_call *c);
/* The error for a c360_body_decode refusal rc (< 0: bad data, err already says why; > 0: past
 * `limit`, err is written): invalid_body, or a tracking call's own size error. */
int c360_call_body_refusal(const c360_call *c, int rc, size_t limit, char *err, size_t errlen);
/* Records an audit entry for this call (action, subject pid or 0, extra detail JSON or NULL). */
void c360_audit_call(c360_call *c, const char *action, uint64_t subject_pid, const char *detail, int durable);

/* Routes, as data: each api_*.c exports a table ending with {0}; http.c lists the tables. */
enum {
    C360_RF_OWN_BODY = 1,   /* the handler decodes a compressed body itself (c360_call.coding) */
    C360_RF_CORS = 2,       /* callable from web pages of other origins (cors_origin; OPTIONS preflight) */
};
typedef struct c360_route {
    const char *method;
    const char *path;
    int prefix;                        /* path is a prefix; the rest goes to c->sub */
    int roles;                         /* roles allowed; 0 = no auth */
    int (*fn)(c360_call *c);
    int route;                         /* metrics label (C360_ROUTE_*) */
    int arg;
    int flags;                         /* C360_RF_* */
} c360_route;

extern const c360_route c360_routes_ingest[];
extern const c360_route c360_routes_profile[];
extern const c360_route c360_routes_ops[];
extern const c360_route c360_routes_features[];
extern const c360_route c360_routes_admin[];
extern const c360_route c360_routes_privacy[];
extern const c360_route c360_routes_console[];   /* api_console.c: the web console, whoami, search, overview, notes */
extern const c360_route c360_routes_webhooks[];
/* Hands a job (events or an erasure) to the writer; `reply` runs on this loop once the job is
 * committed, if the client is still connected; afterwards the job's events and `udata` (malloc'd,
 * may be NULL) are freed. Returns 0, or a C360_E* code with nothing submitted (the caller
 * answers and frees). */
typedef void (*c360_job_reply)(c360_call *c, c360_job *job, void *udata);
int c360_call_submit(c360_call *c, c360_job *job, c360_job_reply reply, void *udata);
/* live streams (api_stream.c) */
int c360_api_stream(c360_call *c, uint64_t pid);
void c360_stream_on_changes(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages);
void c360_stream_on_commit(void *arg, const uint64_t *pids, size_t n);
/* frees the messages the loops have read (the writer at each commit; the server at its stop) */
void c360_stream_free_spent(c360_server *srv);
/* Builds a track event `name` of customer pid (attached to its user_id, else anonymous_id) whose
 * properties are {"by": caller's key name` + props`} (props: further members starting with a
 * comma, or NULL) and submits it like c360_call_submit. Answers errors itself; 0 if submitted
 * (udata is then owned by the call). */
int c360_call_submit_customer_event(c360_call *c, uint64_t pid, const char *name, const char *props, c360_job_reply reply,
                                    void *udata);
/* loop-side completion of writer jobs (registered on done_rx) */
void c360_api_ingest_done(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages);
/* GET /v1/profiles/{id}/recommendations (api_features.c): body into out, or responds with an error and returns -1 */
int c360_api_recommendations(c360_call *c, uint64_t pid, strbuf *out);
/* name search (search.c): GET /v1/search, the customer count, and the commit hook that keeps it fresh */
int c360_api_search(c360_call *c);
size_t c360_search_customers(c360_store *s);
void c360_search_on_commit(const uint64_t *pids, size_t n);

#endif
