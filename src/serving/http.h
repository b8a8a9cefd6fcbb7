/* http.h -- the HTTP server: h2o event loops, routing, authentication and JSON responses.
 *
 * Threads: `threads` event loops, each with its own listening socket (SO_REUSEPORT) and h2o
 * context. Reads (profiles, metrics) are answered on the loop from the store. Tracking bodies
 * are copied to the ingest worker thread (worker.h), parsed and validated there, then handed to
 * the engine's writer; the worker's error or the writer's completion comes back to the same loop
 * through an h2o multithread queue, and only then is the answer sent (so an acknowledgement
 * means durable). */
#ifndef C360_HTTP_H
#define C360_HTTP_H

#include "core/config.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "identity/normalize.h"
#include "store/store.h"

typedef struct c360_server c360_server;

typedef struct c360_server_deps {
    const c360_config *cfg;
    c360_store *store;
    c360_engine *engine;
    c360_metrics *metrics;
    const c360_id_rules *rules;
    struct c360_features *features;     /* may be NULL */
    struct c360_audit *audit;
    const struct c360_policy *policy;
} c360_server_deps;

int c360_server_start(c360_server **out, const c360_server_deps *d, char *err, size_t errlen);
/* Stops accepting, finishes requests in flight, joins the loops. */
void c360_server_stop(c360_server *s);
/* Call once before process exit; the server's memory is kept until then (see http.c). */
void c360_server_free(c360_server *s);

#endif
