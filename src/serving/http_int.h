/* http_int.h -- private to src/serving: the server and request context shared by the route
 * handlers (api_*.c) and the server core (http.c). */
#ifndef C360_HTTP_INT_H
#define C360_HTTP_INT_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <pthread.h>
#include <stdatomic.h>

#include "serving/http.h"
#include "sources/segment.h"
#include "util/strbuf.h"

typedef enum {
    C360_ROLE_NONE = 0,
    C360_ROLE_INGEST = 1 << 0,
    C360_ROLE_AGENT = 1 << 1,
    C360_ROLE_FRAUD = 1 << 2,
    C360_ROLE_MARKETING = 1 << 3,
    C360_ROLE_PRIVACY = 1 << 4,
    C360_ROLE_ADMIN = 1 << 5,
} c360_role;
#define C360_ROLES_READ (C360_ROLE_AGENT | C360_ROLE_FRAUD | C360_ROLE_MARKETING | C360_ROLE_PRIVACY | C360_ROLE_ADMIN)

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
};

struct http_thread {
    h2o_context_t ctx;                 /* first: handlers get here from req->conn->ctx */
    c360_server *srv;
    h2o_accept_ctx_t accept_ctx;
    h2o_multithread_receiver_t done_rx;   /* writer -> loop: finished ingest jobs */
    h2o_multithread_receiver_t ctl_rx;    /* main -> loop: stop */
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
    int role;
    int route;                 /* C360_ROUTE_* for metrics */
    int64_t start_ns;
    const char *sub;           /* path after the route prefix (decoded), for prefix routes */
    size_t sublen;
    const char *query;         /* raw query string without '?', or NULL */
    size_t querylen;
    int arg;                   /* route argument (event type for ingest) */
} c360_call;

void c360_respond(c360_call *c, int status, const char *content_type, const char *body, size_t len);
void c360_respond_json(c360_call *c, int status, const strbuf *body);
void c360_respond_error(c360_call *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Routes, as data: each api_*.c exports a table ending with {0}; http.c lists the tables. */
typedef struct c360_route {
    const char *method;
    const char *path;
    int prefix;                        /* path is a prefix; the rest goes to c->sub */
    int roles;                         /* roles allowed; 0 = no auth */
    int (*fn)(c360_call *c);
    int route;                         /* metrics label (C360_ROUTE_*) */
    int arg;
} c360_route;

extern const c360_route c360_routes_ingest[];
extern const c360_route c360_routes_profile[];
extern const c360_route c360_routes_ops[];
extern const c360_route c360_routes_features[];
extern const c360_route c360_routes_admin[];
/* loop-side completion of ingest jobs (registered on done_rx) */
void c360_api_ingest_done(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages);

#endif
