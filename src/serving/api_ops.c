/* api_ops.c -- operational endpoints: /healthz (process alive), /readyz (accepting traffic),
 * /metrics (Prometheus text: the core's series, then the features layer's). */
#include "serving/http_int.h"
#include "features/features.h"

static int api_health(c360_call *c)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    c360_respond(c, 200, "application/json", ok, sizeof ok - 1);
    return 0;
}

static int api_ready(c360_call *c)
{
    if (atomic_load(&c->srv->draining)) {
        static const char no[] = "{\"status\":\"draining\"}";
        c360_respond(c, 503, "application/json", no, sizeof no - 1);
    } else if (c360_store_failed(c->srv->d.store)) {
        /* reads still work; writes answer 503 until the store recovers (disk full) */
        static const char deg[] = "{\"status\":\"ready\",\"writes\":\"refused\"}";
        c360_respond(c, 200, "application/json", deg, sizeof deg - 1);
    } else {
        static const char ok[] = "{\"status\":\"ready\"}";
        c360_respond(c, 200, "application/json", ok, sizeof ok - 1);
    }
    return 0;
}

static int api_metrics(c360_call *c)
{
    strbuf b = STRBUF_INIT;
    c360_metrics_render(c->srv->d.metrics, c->srv->d.store, &b);
    if (c360_features_enabled(c->srv->d.features)) c360_features_metrics(c->srv->d.features, &b);
    c360_respond(c, 200, "text/plain; version=0.0.4", b.buf, b.len);
    sb_release(&b);
    return 0;
}

const c360_route c360_routes_ops[] = {
    {"GET", "/healthz", 0, 0, api_health, C360_ROUTE_health, 0, 0},
    {"GET", "/readyz", 0, 0, api_ready, C360_ROUTE_health, 0, 0},
    {"GET", "/metrics", 0, C360_ROLE_ADMIN, api_metrics, C360_ROUTE_metrics, 0, 0},
    {0},
};
