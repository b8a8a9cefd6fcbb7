/* http.c -- server core: event-loop threads, the route table, authentication, responses.
 * See http.h for the threading model. */
#include "serving/http_int.h"
#include "serving/body.h"
#include "serving/worker.h"
#include "core/errors.h"
#include "identity/resolve.h"
#include "privacy/audit.h"
#include "privacy/apikeys.h"
#include "privacy/policy.h"
#include "profile/profile.h"
#include "serving/url.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sched.h"

#include <errno.h>
#include <netdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- routes: the tables of the api_*.c files ---- */

static const c360_route *const route_tables[] = {
    c360_routes_ingest, c360_routes_profile, c360_routes_features, c360_routes_admin, c360_routes_privacy, c360_routes_ops,
    c360_routes_webhooks, c360_routes_console,
};
#define NTABLES (sizeof route_tables / sizeof route_tables[0])

/* ---- responses ---- */

void c360_respond(c360_call *c, int status, const char *ctype, const char *body, size_t len)
{
    h2o_req_t *req = c->req;
    req->res.status = status;
    req->res.reason = status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
    const char *origin = c->srv->d.cfg->cors_origin;
    if ((c->flags & C360_RF_CORS) && origin && *origin)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, origin, strlen(origin));
    h2o_send_inline(req, body, len);
    c360_metrics *m = c->srv->d.metrics;
    c360_count(&m->http_requests[c->route], 1);
    c360_hist_observe(&m->latency[c->route], (c360_monotonic_ns() - c->start_ns) / 1000);
}

void c360_respond_json(c360_call *c, int status, const strbuf *body)
{
    /* field-level masking happens here, so that no read path can forget it */
    if (status == 200 && c->srv->d.policy && !c360_policy_unmasked(c->role)) {
        strbuf m = STRBUF_INIT;
        c360_policy_mask(c->srv->d.policy, c->role, c->reveal, body->buf, body->len, &m);
        c360_respond(c, status, "application/json", m.buf, m.len);
        sb_release(&m);
        return;
    }
    c360_respond(c, status, "application/json", body->buf, body->len);
}

void c360_audit_call(c360_call *c, const char *action, uint64_t subject_pid, const char *detail, int durable)
{
    if (!c->srv->d.audit) return;
    char id[20];
    if (subject_pid) c360_profile_id_str(subject_pid, id);
    c360_audit_log(c->srv->d.audit, c->key_name, c360_role_name(c->role), action, subject_pid ? id : NULL, detail, durable);
}

int c360_call_find_pid(c360_call *c, const char *ident, size_t n, uint64_t *pid)
{
    const char *colon = memchr(ident, ':', n);
    if (!colon || colon == ident || colon == ident + n - 1) {
        c360_respond_error(c, C360_EIDENT, "identifier must be TYPE:VALUE, e.g. email:ann@example.com");
        return -1;
    }
    char type[C360_MAX_ID_TYPE + 1];
    if (c360_norm_type(ident, (size_t)(colon - ident), type)) {
        c360_respond_error(c, C360_EIDENT, "identifier type must be letters, digits and _ (at most 40)");
        return -1;
    }
    const char *val = colon + 1;
    size_t vl = n - (size_t)(colon + 1 - ident);
    int f;
    if (!strcmp(type, "id")) {
        f = c360_profile_id_parse(val, vl, pid) == 0;
        if (f) {
            /* follow merges, and only answer for a profile that exists (not erased, not made up) */
            *pid = c360_resolve_redirect(c->srv->d.store, *pid);
            c360_key k;
            c360_key_record(&k, *pid);
            strbuf v = STRBUF_INIT;
            f = c360_store_get(c->srv->d.store, k.b, k.n, &v);
            sb_release(&v);
        }
    } else {
        char *v = xstrndup(val, vl);
        f = c360_lookup_ident(c->srv->d.store, c->srv->d.rules, type, v, pid);
        free(v);
    }
    if (f < 0) {
        c360_respond_error(c, C360_ESTORE, "store read failed");
        return -1;
    }
    if (f == 0) {
        c360_respond_error(c, C360_ENOPROFILE, "no customer has the identifier %s", type);
        return -1;
    }
    return 0;
}

/* ?reveal=email,phone -> class bits; -1 if a name is unknown */
static int parse_reveal(c360_call *c, unsigned *bits)
{
    *bits = 0;
    if (!c->query) return 0;
    strbuf v = STRBUF_INIT;
    int f = c360_query_param(c->query, c->querylen, "reveal", &v);
    int rc = 0;
    if (f < 0) rc = -1;
    else if (f == 1) {
        char *save = NULL;
        for (char *tok = strtok_r(v.buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int cls = !strcmp(tok, "all") ? -1 : c360_policy_class_parse(tok);
            if (cls == 0) { rc = -1; break; }
            *bits |= cls < 0 ? 0xFFFFu : (1u << cls);
        }
    }
    sb_release(&v);
    return rc;
}

void c360_respond_error(c360_call *c, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    strbuf b = STRBUF_INIT;
    sb_addf(&b, "{\"error\":\"%s\",\"message\":", c360_err_name(code));
    c360_json_put_cstr(&b, msg);
    sb_adds(&b, "}");
    if (c->route == C360_ROUTE_ingest) c360_metrics_reject(c->srv->d.metrics, code, 1);
    c360_respond_json(c, c360_err_http(code), &b);
    sb_release(&b);
}

/* ---- authentication ---- */

static int key_eq(const char *a, size_t al, const char *b)
{
    size_t bl = b ? strlen(b) : 0;
    return bl && al == bl && sodium_memcmp(a, b, bl) == 0;
}

/* Returns the role of the presented key, 0 if none or unknown; *presented says if any was sent. */
static int authenticate(c360_call *c, int *presented)
{
    h2o_req_t *req = c->req;
    const c360_config *cfg = c->srv->d.cfg;
    *presented = 0;
    ssize_t hi = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    strbuf key = STRBUF_INIT;
    if (hi >= 0) {
        h2o_iovec_t v = req->headers.entries[hi].value;
        *presented = 1;
        if (v.len > 6 && !strncasecmp(v.base, "Basic ", 6)) {
            unsigned char dec[512];
            size_t dl = 0;
            const char *b64 = v.base + 6;
            size_t bl = v.len - 6;
            while (bl && *b64 == ' ') { b64++; bl--; }
            if (sodium_base642bin(dec, sizeof dec, b64, bl, NULL, &dl, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 ||
                sodium_base642bin(dec, sizeof dec, b64, bl, NULL, &dl, NULL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0) {
                const char *colon = memchr(dec, ':', dl);
                sb_add(&key, dec, colon ? (size_t)(colon - (const char *)dec) : dl);
            }
        } else if (v.len > 7 && !strncasecmp(v.base, "Bearer ", 7)) {
            sb_add(&key, v.base + 7, v.len - 7);
        }
    } else if (c->route == C360_ROUTE_ingest && req->entity.len) {
        if (c360_segment_write_key(req->entity.base, req->entity.len, &key)) *presented = 1;
    }
    int role = 0;
    if (key_eq(key.buf, key.len, cfg->admin_key)) {
        role = C360_ROLE_ADMIN;
        snprintf(c->key_name, sizeof c->key_name, "admin-key");
    } else if (key_eq(key.buf, key.len, cfg->write_key)) {
        role = C360_ROLE_INGEST;
        snprintf(c->key_name, sizeof c->key_name, "write-key");
    } else if (key.len) {
        c360_key_info info;
        if (c360_keys_lookup(c->srv->d.store, key.buf, key.len, &info) == 1) {
            role = info.role;
            memcpy(c->key_name, info.name, sizeof c->key_name);
        }
    }
    sodium_memzero(key.buf, key.len);
    sb_release(&key);
    return role;
}

/* ---- request bodies ---- */

/* The largest decoded body a route takes: a tracking call's own limit (so that the error is
 * the one an uncompressed body of that size gets), else h2o's entity limit. */
size_t c360_call_body_limit(const c360_call *c)
{
    const c360_config *cfg = c->srv->d.cfg;
    if (c->flags & C360_RF_OWN_BODY) return (size_t)(c->arg < 0 ? cfg->max_batch_bytes : cfg->max_event_bytes);
    return c->srv->h2o_config.max_request_entity_size;
}

int c360_call_body_refusal(const c360_call *c, int rc, size_t limit, char *err, size_t errlen)
{
    if (rc < 0) return C360_EBODY;   /* err says why */
    snprintf(err, errlen, "the body decompresses to more than %zu bytes (%zu KB), the limit", limit, limit / 1024);
    return !(c->flags & C360_RF_OWN_BODY) ? C360_EBODY : c->arg < 0 ? C360_EBATCHBIG : C360_ETOOBIG;
}

static void body_dispose(void *p)
{
    sb_release(p);
}

/* Decodes a compressed body into req->entity (memory of the request's pool); answers the error
 * itself and returns -1. */
static int decode_body(c360_call *c, int coding)
{
    h2o_req_t *req = c->req;
    size_t limit = c360_call_body_limit(c);
    strbuf *sb = h2o_mem_alloc_shared(&req->pool, sizeof *sb, body_dispose);
    sb_init(sb);
    char err[160];
    int rc = c360_body_decode(coding, req->entity.base, req->entity.len, limit, sb, err, sizeof err);
    if (rc) {
        int code = c360_call_body_refusal(c, rc, limit, err, sizeof err);
        c360_respond_error(c, code, "%s", err);
        return -1;
    }
    req->entity = h2o_iovec_init(sb->buf, sb->len);
    return 0;
}

/* The Content-Encoding of the body (*coding, C360_CODING_IDENTITY for none or an empty body);
 * answers 415 itself for a coding c360 does not decode and returns -1. */
static int body_coding(c360_call *c, int *coding)
{
    h2o_req_t *req = c->req;
    *coding = C360_CODING_IDENTITY;
    ssize_t hi = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_ENCODING, -1);
    if (hi < 0) return 0;
    h2o_iovec_t v = req->headers.entries[hi].value;
    int cd = c360_body_coding(v.base, v.len);
    if (cd < 0) {
        c360_respond_error(c, C360_EENCODING, "Content-Encoding '%.*s' is not supported; send the body as it is, gzip or deflate",
                           (int)(v.len > 100 ? 100 : v.len), v.base);
        return -1;
    }
    if (req->entity.len) *coding = cd;
    return 0;
}

/* ---- dispatch ---- */

/* OPTIONS on a route web pages may call: the CORS preflight a browser sends before a POST with
 * headers beyond the simple ones (Segment's browser library sends text/plain and needs none) */
static void preflight(c360_call *c)
{
    h2o_req_t *req = c->req;
    const char *origin = c->srv->d.cfg->cors_origin;
    if (origin && *origin) {
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-methods"), 0, NULL,
                              H2O_STRLIT("POST, OPTIONS"));
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-headers"), 0, NULL,
                              H2O_STRLIT("Authorization, Content-Type, Content-Encoding"));
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-max-age"), 0, NULL, H2O_STRLIT("86400"));
    }
    c360_respond(c, 204, "text/plain", "", 0);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    http_thread *t = (http_thread *)req->conn->ctx;
    c360_call c = {.req = req, .t = t, .srv = t->srv, .route = C360_ROUTE_other, .start_ns = c360_monotonic_ns()};
    const char *path = req->path.base;
    size_t plen = req->path.len;
    if (req->query_at != SIZE_MAX) {
        c.query = path + req->query_at + 1;
        c.querylen = plen - req->query_at - 1;
        plen = req->query_at;
    }
    while (plen > 1 && path[plen - 1] == '/') plen--; /* tolerate a trailing slash */
    int path_known = 0;
    const c360_route *r = NULL;
    for (size_t ti = 0; ti < NTABLES && !r; ti++)
    for (const c360_route *d = route_tables[ti]; d->method && !r; d++) {
        size_t dl = strlen(d->path);
        int match = d->prefix ? (plen > dl && !memcmp(path, d->path, dl)) : (plen == dl && !memcmp(path, d->path, dl));
        if (!match) continue;
        path_known = 1;
        c.flags |= d->flags & C360_RF_CORS;   /* a preflight or a 405 there is answered with CORS too */
        if (req->method.len == strlen(d->method) && !memcmp(req->method.base, d->method, req->method.len)) {
            r = d;
            if (d->prefix) {
                c.sub = path + dl;
                c.sublen = plen - dl;
            }
            break;
        }
    }
    if (!r && (c.flags & C360_RF_CORS) && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS"))) {
        preflight(&c);
        return 0;
    }
    if (!r) {
        if (path_known) c360_respond_error(&c, C360_EMETHOD, "method %.*s is not allowed on %.*s", (int)req->method.len,
                                           req->method.base, (int)plen, path);
        else c360_respond_error(&c, C360_ENOTFOUND, "no such endpoint: %.*s", (int)(plen > 200 ? 200 : plen), path);
        return 0;
    }
    c.route = r->route;
    c.arg = r->arg;
    c.flags = r->flags;
    int coding;
    if (body_coding(&c, &coding)) return 0;
    if (coding) {
        int has_key = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1) >= 0;
        if ((r->flags & C360_RF_OWN_BODY) && has_key) {
            c.coding = coding;   /* decoded by the handler, once the key is checked */
            coding = C360_CODING_IDENTITY;
        } else if (!r->roles || (c.route == C360_ROUTE_ingest && !has_key)) {
            /* no key, or one in the body (Segment's writeKey): decoded before it is looked for */
            if (decode_body(&c, coding)) return 0;
            coding = C360_CODING_IDENTITY;
        }
    }
    if (r->roles) {
        int presented;
        c.role = authenticate(&c, &presented);
        if (!c.role) {
            c360_respond_error(&c, C360_EAUTH, presented ? "unknown key" : "a key is required (HTTP Basic with the key as user name, or Bearer)");
            return 0;
        }
        if (!(c.role & r->roles)) {
            c360_respond_error(&c, C360_EFORBIDDEN, "this key's role (%s) may not call %s %s", c360_role_name(c.role), r->method, r->path);
            return 0;
        }
        if (parse_reveal(&c, &c.reveal)) {
            c360_respond_error(&c, C360_EPARAM, "reveal takes field classes: email, phone, name, address, dob, payment, free_text, all");
            return 0;
        }
        if (c.reveal && c.role != C360_ROLE_AGENT && c360_policy_unmasked(c.role) == 0) {
            c360_respond_error(&c, C360_EFORBIDDEN, "the %s role may not reveal masked fields", c360_role_name(c.role));
            return 0;
        }
    }
    if (coding && decode_body(&c, coding)) return 0;   /* every other body once the caller is known */
    r->fn(&c);
    return 0;
}

/* ---- loops ---- */

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err) return;
    http_thread *t = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock) h2o_accept(&t->accept_ctx, sock);
}

static void on_ctl(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    http_thread *t = (http_thread *)((char *)rx - offsetof(http_thread, ctl_rx));
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        free(m);
    }
    if (t->listener) {
        h2o_socket_read_stop(t->listener);
        h2o_socket_close(t->listener);
        t->listener = NULL;
    }
    h2o_context_request_shutdown(&t->ctx);   /* responses from now on close their connection */
    t->stopping = 1;
}

/* Everything h2o of a loop - context, queue, listener - is created, run and disposed on the loop's
 * own thread: h2o keeps per-thread buffer pools (thread-local prototypes), and a socket created on
 * one thread but read on another would share that thread's pool without locking. */
static void *loop_main(void *arg)
{
    c360_thread_name("c360-http");
    http_thread *t = arg;
    c360_server *s = t->srv;
    h2o_context_init(&t->ctx, h2o_evloop_create(), &s->h2o_config);
    t->accept_ctx.ctx = &t->ctx;
    t->accept_ctx.hosts = s->h2o_config.hosts;
    t->accept_ctx.ssl_ctx = s->ssl_ctx;
    h2o_multithread_register_receiver(t->ctx.queue, &t->done_rx, c360_api_ingest_done);
    h2o_multithread_register_receiver(t->ctx.queue, &t->ctl_rx, on_ctl);
    h2o_multithread_register_receiver(t->ctx.queue, &t->notify_rx, c360_stream_on_changes);
    h2o_linklist_init_anchor(&t->subs);
    t->listener = h2o_evloop_socket_create(t->ctx.loop, t->fd, H2O_SOCKET_FLAG_DONT_READ);
    t->listener->data = t;
    h2o_socket_read_start(t->listener, on_accept);
    pthread_mutex_lock(&s->start_mu);
    s->started++;
    pthread_cond_broadcast(&s->start_cv);
    pthread_mutex_unlock(&s->start_mu);

    while (!(t->stopping && t->inflight == 0)) h2o_evloop_run(t->ctx.loop, 100);
    /* answers in flight are written; let them reach the sockets */
    for (int k = 0; k < 5; k++) h2o_evloop_run(t->ctx.loop, 10);
    return NULL;
}

static int listen_on(const char *hostport, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || strlen(colon + 1) == 0) {
        snprintf(err, errlen, "listen address must be HOST:PORT, got '%s'", hostport);
        return -1;
    }
    size_t hl = (size_t)(colon - hostport);
    if (hl >= sizeof host) hl = sizeof host - 1;
    memcpy(host, hostport, hl);
    host[hl] = 0;
    char *h = host;
    if (h[0] == '[' && hl > 1 && h[hl - 1] == ']') { h[hl - 1] = 0; h++; }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
    int rc = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &ai);
    if (rc) {
        snprintf(err, errlen, "cannot resolve listen address '%s': %s", hostport, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1024)) {
        snprintf(err, errlen, "cannot listen on %s: %s", hostport, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

int c360_server_start(c360_server **out, const c360_server_deps *d, char *err, size_t errlen)
{
    c360_server *s = xcalloc(1, sizeof *s);
    s->d = *d;
    s->seg.rules = d->rules;
    s->seg.secret = c360_store_secret(d->store);
    s->seg.max_event_bytes = d->cfg->max_event_bytes;
    s->seg.max_batch_bytes = d->cfg->max_batch_bytes;
    h2o_config_init(&s->h2o_config);
    size_t maxent = (size_t)d->cfg->max_batch_bytes * 4;
    s->h2o_config.max_request_entity_size = maxent < (8u << 20) ? (8u << 20) : maxent;
    h2o_hostconf_t *host = h2o_config_register_host(&s->h2o_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *h = h2o_create_handler(pc, sizeof *h);
    h->on_req = on_req;

    if (*d->cfg->tls_cert || *d->cfg->tls_key) {
        if (!*d->cfg->tls_cert || !*d->cfg->tls_key) {
            snprintf(err, errlen, "HTTPS needs both tls_cert and tls_key");
            h2o_config_dispose(&s->h2o_config);
            free(s);
            return -1;
        }
        s->ssl_ctx = SSL_CTX_new(TLS_server_method());
        SSL_CTX_set_min_proto_version(s->ssl_ctx, TLS1_2_VERSION);
        if (SSL_CTX_use_certificate_chain_file(s->ssl_ctx, d->cfg->tls_cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(s->ssl_ctx, d->cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(s->ssl_ctx) != 1) {
            snprintf(err, errlen, "cannot load the TLS certificate %s and key %s (PEM files that belong together)",
                     d->cfg->tls_cert, d->cfg->tls_key);
            SSL_CTX_free(s->ssl_ctx);
            h2o_config_dispose(&s->h2o_config);
            free(s);
            return -1;
        }
    }
    /* queued tracking bodies: up to 64 MB, at least 16 of the largest batches */
    size_t qbytes = (size_t)d->cfg->max_batch_bytes * 16;
    if (c360_worker_start(&s->worker, (int)d->cfg->ingest_nice, qbytes > (64u << 20) ? qbytes : (64u << 20))) {
        snprintf(err, errlen, "cannot start the ingest worker thread");
        if (s->ssl_ctx) SSL_CTX_free(s->ssl_ctx);
        h2o_config_dispose(&s->h2o_config);
        free(s);
        return -1;
    }
    s->nthreads = (int)(d->cfg->threads > 0 ? d->cfg->threads : 1);
    s->threads = xcalloc((size_t)s->nthreads, sizeof *s->threads);
    pthread_mutex_init(&s->start_mu, NULL);
    pthread_cond_init(&s->start_cv, NULL);
    for (int i = 0; i < s->nthreads; i++) {
        s->threads[i].srv = s;
        s->threads[i].fd = listen_on(d->cfg->listen, err, errlen);
        if (s->threads[i].fd < 0) {
            for (int k = 0; k < i; k++) close(s->threads[k].fd);
            c360_worker_stop(s->worker);
            if (s->ssl_ctx) SSL_CTX_free(s->ssl_ctx);
            h2o_config_dispose(&s->h2o_config);
            pthread_mutex_destroy(&s->start_mu);
            pthread_cond_destroy(&s->start_cv);
            free(s->threads);
            free(s);
            return -1;
        }
    }
    for (int i = 0; i < s->nthreads; i++) h2o_multithread_create_thread(&s->threads[i].th, NULL, loop_main, &s->threads[i]);
    c360_engine_on_commit(d->engine, c360_stream_on_commit, s);
    pthread_mutex_lock(&s->start_mu);
    while (s->started < s->nthreads) pthread_cond_wait(&s->start_cv, &s->start_mu);
    pthread_mutex_unlock(&s->start_mu);
    LOG_INFO("listening", "\"addr\":\"%s\",\"threads\":%d,\"tls\":%s", d->cfg->listen, s->nthreads, s->ssl_ctx ? "true" : "false");
    *out = s;
    return 0;
}

void c360_server_stop(c360_server *s)
{
    c360_engine_on_commit(s->d.engine, NULL, NULL);
    atomic_store(&s->draining, 1);
    for (int i = 0; i < s->nthreads; i++) {
        h2o_multithread_message_t *m = xcalloc(1, sizeof *m);
        h2o_multithread_send_message(&s->threads[i].ctl_rx, m);
    }
    for (int i = 0; i < s->nthreads; i++) pthread_join(s->threads[i].th, NULL);
    c360_stream_free_spent(s);
    /* the loops returned once every request in flight was answered: the worker is idle */
    c360_worker_stop(s->worker);
    s->worker = NULL;
}

/* The h2o contexts are not disposed: h2o (2.2) asserts that no connection or timer is left on a
 * context it disposes, and idle keep-alive clients may still be connected when we stop. Every
 * request in flight was answered before the loops returned, the store is closed by the caller,
 * and the process exits right after; the server stays reachable from here so that leak checkers
 * report it as what it is (kept until exit), not as lost memory. */
static c360_server *volatile kept_until_exit;

void c360_server_free(c360_server *s)
{
    kept_until_exit = s;
}
