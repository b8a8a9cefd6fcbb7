/* loadgen.c -- owns the benchmark's client-side measurements against a server on loopback:
 *
 *   loadgen lookup  : open-loop profile lookups at a fixed rate (HTTP GET /v1/profiles/user_id:ID
 *                     with a Bearer key, or RESP EVALSHA for Redis), ids drawn from a file;
 *   loadgen maxrate : steps the fixed rate up until errors appear, the rate is not achieved or
 *                     p99 > 20x the limit; reports the highest rate held with p99 <= the limit
 *                     (1 ms; a step that misses is run once more, a rate fails when it misses
 *                     twice, and a rate failed on p99 alone does not end the search);
 *   loadgen ingest  : POST /v1/batch bodies of N events from an NDJSON file with K keep-alive
 *                     connections, as fast as the server acknowledges (closed loop by design);
 *   loadgen fresh   : freshness probe: time from a /v1/track 200 to the first profile read
 *                     that shows the new event;
 *   loadgen verify  : correctness check: random profiles against uci2segment's expected counts;
 *   loadgen ready   : restart time: from its own start to the first 200 from GET /readyz;
 *   loadgen recs    : recommendation quality: per case of uci2segment --holdout, send the revealed
 *                     "Product Viewed", ask for --limit recommendations, score them against the
 *                     rest of the hidden order (hit rate, recall), next to the popularity baseline.
 * lookup/maxrate take --path-suffix (e.g. /recommendations?limit=10) to time another GET per id.
 *
 * Open loop, coordinated-omission free: request i has an intended send time t0 + i/rate; it is
 * sent then if a connection is idle, else it waits in a queue; its latency is measured from the
 * intended time to the end of its response, so a stalled server shows up in the percentiles
 * instead of silently slowing the client down. One thread, epoll, keep-alive, one request in
 * flight per connection (HTTP/1.1 without pipelining; RESP likewise).
 *
 * Output: human lines on stderr, and one machine-readable line on stdout:
 *   RESULT key=value ...
 * Exit status 0 even when the server answered errors (they are counted in the RESULT); 2 on
 * usage errors or when the server cannot be reached at all. */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- utilities */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* ---------------------------------------------------------------- options */
static const char *opt_host = "127.0.0.1", *opt_key = "", *opt_ids = NULL, *opt_file = NULL, *opt_proto = "http";
static const char *opt_sha = NULL, *opt_write_key = NULL, *opt_resp_prefix = "user_id:", *opt_path_suffix = "";
static const char *opt_answers = NULL;
static int opt_limit = 10;
static int opt_port = 8360, opt_conns = 32, opt_batch = 100, opt_samples = 300;
static double opt_rate = 10000, opt_duration = 10, opt_warmup = 1, opt_step = 5, opt_limit_us = 1000, opt_start = 2000,
              opt_factor = 1.25, opt_max = 1e6, opt_max_seconds = 0;
#define MAXRATE_GIVE_UP 20   /* maxrate ends at a rate whose p99 is over this many times the limit */
static size_t opt_max_batch_bytes = 450 * 1024;

/* ---------------------------------------------------------------- ids */
static char **ids;
static size_t nids;
static void load_ids(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open ids file %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, capids = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        size_t n = strcspn(line, " \t\r\n");
        if (!n || line[0] == '#') continue;   /* '#' lines: comments (the header of a --holdout cases file) */
        if (nids == capids) ids = xrealloc(ids, sizeof *ids * (capids = capids ? capids * 2 : 4096));
        ids[nids] = strndup(line, n);
        if (!ids[nids]) die("out of memory");
        nids++;
    }
    free(line);
    fclose(f);
    if (!nids) die("no ids in %s", path);
}

/* ---------------------------------------------------------------- connections */
static int connect_to(void)
{
    int fd = tcp_connect(opt_host, opt_port);
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* HTTP/1.1 response framing. Returns the full length of the response in b (>0), 0 if incomplete,
 * -1 if malformed. *status gets the code, *body and *blen the body (de-chunked bodies are not
 * needed; for chunked responses body points at the raw chunked data). */
static long http_response(const char *b, size_t n, int *status, const char **body, size_t *blen)
{
    const char *end = memmem(b, n, "\r\n\r\n", 4);
    if (!end) return n > 65536 ? -1 : 0;
    size_t hlen = (size_t)(end - b) + 4;
    if (n < 12 || memcmp(b, "HTTP/1.", 7)) return -1;
    *status = atoi(b + 9);
    long clen = -1;
    int chunked = 0;
    for (const char *p = b; p < end;) {
        const char *eol = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
        if (!eol) break;
        if ((size_t)(eol - p) > 15 && !strncasecmp(p, "content-length:", 15)) clen = atol(p + 15);
        if ((size_t)(eol - p) > 18 && !strncasecmp(p, "transfer-encoding:", 18) && memmem(p, (size_t)(eol - p), "chunked", 7))
            chunked = 1;
        p = eol + 2;
    }
    if (chunked) {
        size_t off = hlen;
        for (;;) {
            const char *eol = memmem(b + off, n - off, "\r\n", 2);
            if (!eol) return 0;
            long sz = strtol(b + off, NULL, 16);
            off = (size_t)(eol - b) + 2;
            if (sz == 0) {
                const char *fin = memmem(b + off - 2, n - off + 2, "\r\n\r\n", 4);
                if (!fin) return 0;
                *body = b + hlen;
                *blen = (size_t)(fin - b) - hlen;
                return (long)((size_t)(fin - b) + 4);
            }
            if (n < off + (size_t)sz + 2) return 0;
            off += (size_t)sz + 2;
        }
    }
    if (clen < 0) clen = 0;
    if (n < hlen + (size_t)clen) return 0;
    *body = b + hlen;
    *blen = (size_t)clen;
    return (long)(hlen + (size_t)clen);
}


/* ---------------------------------------------------------------- open-loop lookups */
typedef struct {
    int fd;
    int busy;
    int64_t intended; /* of the request in flight */
    buf in, out;
    size_t outoff;
} conn;

typedef struct {
    int64_t *lat;
    size_t nlat, caplat;
    uint64_t sent, ok, non200, errors;
    int64_t first_intended, last_done;
    int64_t *lag; /* actual send time - intended send time (client-side delay, diagnostic) */
    size_t nlag, caplag;
} phase_stats;

static int ep;
static conn *conns;
static int nconns;

static void build_request(buf *o)
{
    const char *id = ids[rng() % nids];
    if (!strcmp(opt_proto, "resp")) {
        size_t pl = strlen(opt_resp_prefix), il = strlen(id);
        bprintf(o, "*4\r\n$7\r\nEVALSHA\r\n$%zu\r\n%s\r\n$1\r\n0\r\n$%zu\r\n%s%s\r\n", strlen(opt_sha), opt_sha, pl + il,
                opt_resp_prefix, id);
    } else {
        bprintf(o, "GET /v1/profiles/user_id:%s%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", id,
                opt_path_suffix, opt_host, opt_key);
    }
}

static void conn_open(conn *c)
{
    c->fd = connect_to();
    c->busy = 0;
    c->in.n = c->out.n = c->outoff = 0;
    if (c->fd < 0) return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev)) die("epoll_ctl: %s", strerror(errno));
}

static void conn_reset(conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    conn_open(c);
}

static void conn_flush(conn *c)
{
    while (c->outoff < c->out.n) {
        ssize_t w = send(c->fd, c->out.b + c->outoff, c->out.n - c->outoff, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN) return;
            return; /* the read side will see the error */
        }
        c->outoff += (size_t)w;
    }
    c->out.n = c->outoff = 0;
}

static void record(phase_stats *st, int64_t lat, int good)
{
    if (st->nlat == st->caplat) st->lat = xrealloc(st->lat, sizeof *st->lat * (st->caplat = st->caplat ? st->caplat * 2 : 65536));
    st->lat[st->nlat++] = lat;
    if (good) st->ok++;
    else st->non200++;
}

/* takes the complete responses out of c->in */
static void take_responses(conn *c, phase_stats *st, int *idle_count)
{
    while (c->busy && c->in.n) {
        long len;
        int good = 0;
        if (!strcmp(opt_proto, "resp")) {
            len = resp_value(c->in.b, c->in.n);
            if (len > 0) good = c->in.b[0] != '-' && !(c->in.b[0] == '$' && c->in.b[1] == '-') && !(c->in.b[0] == '*' && c->in.b[1] == '-');
        } else {
            int status = 0;
            const char *body;
            size_t blen;
            len = http_response(c->in.b, c->in.n, &status, &body, &blen);
            good = status == 200;
        }
        if (len < 0) die("malformed response from the server");
        if (len == 0) break;
        int64_t t = now_ns();
        record(st, t - c->intended, good);
        if (t > st->last_done) st->last_done = t;
        bconsume(&c->in, (size_t)len);
        c->busy = 0;
        (*idle_count)++;
    }
}

/* Reads what the connection has. Once its one request in flight is answered nothing more is
 * coming until the next send, so the read stops there instead of asking again for EAGAIN (the
 * next bytes, or a close, are a new edge for epoll): one recv per response, not two. */
static void conn_read(conn *c, phase_stats *st, int *idle_count)
{
    for (;;) {
        bgrow(&c->in, 65536);
        ssize_t r = recv(c->fd, c->in.b + c->in.n, c->in.cap - c->in.n - 1, 0);
        if (r > 0) {
            c->in.n += (size_t)r;
            take_responses(c, st, idle_count);
            if (!c->busy) return;
            continue;
        }
        if (r < 0 && errno == EAGAIN) return;
        /* closed or error */
        if (c->busy) {
            st->errors++;
            record(st, now_ns() - c->intended, 0);
            st->non200--;
            c->busy = 0;
            (*idle_count)++;
        }
        conn_reset(c);
        if (c->fd < 0) die("lost the connection to %s:%d and cannot reconnect", opt_host, opt_port);
        return;
    }
}

/* Runs one fixed-rate phase of `secs` seconds (plus warm-up that is not recorded). */
static void run_phase(double rate, double secs, double warm, phase_stats *st, int quiet)
{
    memset(st, 0, sizeof *st);
    phase_stats warmst = {0};
    int idle = 0;
    for (int i = 0; i < nconns; i++)
        if (!conns[i].busy) idle++;
    double interval = 1e9 / rate;
    int64_t t0 = now_ns() + 1000000;
    uint64_t nwarm = (uint64_t)(warm * rate), ntotal = nwarm + (uint64_t)(secs * rate);
    uint64_t next = 0;        /* next request index to become due */
    uint64_t queued_from = 0; /* due requests not yet sent: [queued_from, next) */
    int64_t deadline = t0 + (int64_t)((warm + secs) * 1e9) + 10000000000LL; /* drain up to 10 s */
    struct epoll_event evs[256];
    int rr = 0;
    st->first_intended = t0 + (int64_t)((double)nwarm * interval);
    for (;;) {
        int64_t now = now_ns();
        while (next < ntotal && t0 + (int64_t)((double)next * interval) <= now) next++;
        /* send due requests on idle connections */
        while (queued_from < next && idle > 0) {
            conn *c = NULL;
            for (int k = 0; k < nconns; k++) {
                conn *x = &conns[(rr + k) % nconns];
                if (!x->busy) {
                    c = x;
                    rr = (rr + k + 1) % nconns;
                    break;
                }
            }
            if (!c) break;
            c->intended = t0 + (int64_t)((double)queued_from * interval);
            c->busy = 1;
            idle--;
            build_request(&c->out);
            conn_flush(c);
            queued_from++;
            phase_stats *ps = queued_from <= nwarm ? &warmst : st;
            ps->sent++;
            if (ps->nlag == ps->caplag) ps->lag = xrealloc(ps->lag, sizeof *ps->lag * (ps->caplag = ps->caplag ? ps->caplag * 2 : 65536));
            ps->lag[ps->nlag++] = now_ns() - c->intended;
        }
        if (next >= ntotal && queued_from >= ntotal && idle == nconns) break;
        if (now > deadline) {
            if (!quiet) fprintf(stderr, "loadgen: phase did not drain in time; %llu requests unsent\n", (unsigned long long)(ntotal - queued_from));
            st->errors += ntotal - queued_from;
            break;
        }
        /* wait for I/O or the next request's due time (nanosecond timeout: no timer fd to arm
         * and read per request) */
        int64_t wait_ns = 100000000;
        if (next < ntotal) {
            int64_t due = t0 + (int64_t)((double)next * interval) - now_ns();
            if (due < wait_ns) wait_ns = due > 0 ? due : 0;
        }
        struct timespec tmo = {.tv_sec = wait_ns / 1000000000LL, .tv_nsec = wait_ns % 1000000000LL};
        int n = epoll_pwait2(ep, evs, 256, &tmo, NULL);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (evs[i].events & EPOLLOUT) conn_flush(c);
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                /* responses to warm-up requests go to warmst */
                int64_t before = c->intended;
                phase_stats *target = before < st->first_intended ? &warmst : st;
                conn_read(c, target, &idle);
            }
        }
    }
    free(warmst.lat);
    free(warmst.lag);
}

static void report_phase(const char *mode, double rate, double secs, phase_stats *st, int final)
{
    qsort(st->lat, st->nlat, sizeof *st->lat, cmp_i64);
    double achieved = st->last_done > st->first_intended ? (double)st->ok / ((double)(st->last_done - st->first_intended) / 1e9) : 0;
    (void)secs;
    double p50 = (double)pct(st->lat, st->nlat, 50) / 1e3, p99 = (double)pct(st->lat, st->nlat, 99) / 1e3,
           p999 = (double)pct(st->lat, st->nlat, 99.9) / 1e3, mx = st->nlat ? (double)st->lat[st->nlat - 1] / 1e3 : 0;
    qsort(st->lag, st->nlag, sizeof *st->lag, cmp_i64);
    double lag99 = (double)pct(st->lag, st->nlag, 99) / 1e3;
    fprintf(stderr, "loadgen %s: target %.0f/s achieved %.0f/s  n=%zu  p50 %.0f us  p99 %.0f us  p99.9 %.0f us  max %.0f us  non-2xx %llu  errors %llu  (client send lag p99 %.0f us)\n",
            mode, rate, achieved, st->nlat, p50, p99, p999, mx, (unsigned long long)st->non200, (unsigned long long)st->errors, lag99);
    if (final)
        printf("RESULT mode=%s target=%.0f achieved=%.0f n=%zu p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f non200=%llu errors=%llu sendlag_p99_us=%.1f\n",
               mode, rate, achieved, st->nlat, p50, p99, p999, mx, (unsigned long long)st->non200, (unsigned long long)st->errors, lag99);
}

static void setup_conns(void)
{
    ep = epoll_create1(EPOLL_CLOEXEC);
    conns = xrealloc(NULL, sizeof *conns * (size_t)opt_conns);
    memset(conns, 0, sizeof *conns * (size_t)opt_conns);
    nconns = opt_conns;
    for (int i = 0; i < nconns; i++) {
        conn_open(&conns[i]);
        if (conns[i].fd < 0) die("cannot connect to %s:%d: %s", opt_host, opt_port, strerror(errno));
    }
}

static int cmd_lookup(void)
{
    if (!opt_ids) die("--ids is required");
    if (!strcmp(opt_proto, "resp") && !opt_sha) die("--sha is required with --proto resp");
    load_ids(opt_ids);
    setup_conns();
    phase_stats st;
    run_phase(opt_rate, opt_duration, opt_warmup, &st, 0);
    report_phase("lookup", opt_rate, opt_duration, &st, 1);
    free(st.lat);
    free(st.lag);
    return 0;
}

static int cmd_maxrate(void)
{
    if (!opt_ids) die("--ids is required");
    if (!strcmp(opt_proto, "resp") && !opt_sha) die("--sha is required with --proto resp");
    load_ids(opt_ids);
    setup_conns();
    double best = 0, best_p50 = 0, best_p99 = 0, fail_rate = 0;
    const char *why = "reached --max";
    int again = 0;   /* a step that misses is run once more: one scheduling hiccup on a shared
                        machine does not fail a rate, a rate fails when it misses twice */
    int missed = 0;  /* rates that failed on p99 alone: the search goes on past them (on this
                        machine a low rate can miss where a higher one holds), and ends when the
                        server is saturated (rate not achieved), errs, or is far over the limit */
    for (double rate = opt_start; rate <= opt_max;) {
        phase_stats st;
        run_phase(rate, opt_step, opt_warmup, &st, 1);
        report_phase(again ? "maxrate-step (again)" : "maxrate-step", rate, opt_step, &st, 0);
        double p99 = (double)pct(st.lat, st.nlat, 99) / 1e3;
        double achieved = (double)st.ok / opt_step;
        int errs = st.errors != 0 || st.non200 != 0, short_rate = achieved < 0.97 * rate;
        int held = !errs && !short_rate && p99 <= opt_limit_us;
        if (held) {
            best = rate;
            best_p50 = (double)pct(st.lat, st.nlat, 50) / 1e3;
            best_p99 = p99;
        }
        free(st.lat);
        free(st.lag);
        if (!held && !again) {
            again = 1;
            continue;
        }
        again = 0;
        if (!held) {
            fail_rate = rate;
            why = errs ? "errors" : short_rate ? "rate not achieved" : "p99 over the limit";
            if (errs || short_rate || p99 > MAXRATE_GIVE_UP * opt_limit_us) break;
            missed++;
        }
        rate = ceil(rate * opt_factor / 500) * 500;
    }
    fprintf(stderr, "loadgen maxrate: highest rate held with p99 <= %.0f us: %.0f/s (p50 %.0f us, p99 %.0f us); last miss at %.0f/s: %s; "
            "%d rates missed on p99 alone\n", opt_limit_us, best, best_p50, best_p99, fail_rate, why, missed);
    printf("RESULT mode=maxrate limit_us=%.0f best=%.0f p50_us=%.1f p99_us=%.1f failed_at=%.0f why=\"%s\" missed=%d\n", opt_limit_us,
           best, best_p50, best_p99, fail_rate, why, missed);
    return 0;
}

/* ---------------------------------------------------------------- batch ingest (closed loop) */
typedef struct {
    FILE *f;
    char *line;
    size_t cap;
    int have_line; /* a line read but not yet used (did not fit the previous batch) */
    ssize_t len;
    int eof;
} ndjson_reader;

/* builds the next /v1/batch body into body; returns the number of events (0 at EOF) */
static int next_batch(ndjson_reader *r, buf *body)
{
    body->n = 0;
    bputs(body, "{\"batch\":[");
    int n = 0;
    while (n < opt_batch) {
        if (!r->have_line) {
            if (r->eof) break;
            r->len = getline(&r->line, &r->cap, r->f);
            if (r->len < 0) {
                r->eof = 1;
                break;
            }
            while (r->len > 0 && (r->line[r->len - 1] == '\n' || r->line[r->len - 1] == '\r')) r->len--;
            if (r->len == 0) continue;
            r->have_line = 1;
        }
        if (n > 0 && body->n + (size_t)r->len + 8 > opt_max_batch_bytes) break;
        if (n) bputs(body, ",");
        bput(body, r->line, (size_t)r->len);
        r->have_line = 0;
        n++;
    }
    bputs(body, "]}");
    return n;
}

typedef struct {
    int fd, busy, nev;
    int64_t sent_at;
    buf in, out, body;
    size_t outoff;
    int retries, retry;
} iconn;

static void iconn_send(iconn *c)
{
    c->outoff = 0;
    while (c->outoff < c->out.n) {
        ssize_t w = send(c->fd, c->out.b + c->outoff, c->out.n - c->outoff, MSG_NOSIGNAL);
        if (w <= 0) break;
        c->outoff += (size_t)w;
    }
}

static int cmd_ingest(void)
{
    if (!opt_file) die("--file is required");
    ndjson_reader rd = {0};
    rd.f = fopen(opt_file, "r");
    if (!rd.f) die("cannot open %s: %s", opt_file, strerror(errno));
    ep = epoll_create1(EPOLL_CLOEXEC);
    iconn *cs = xrealloc(NULL, sizeof *cs * (size_t)opt_conns);
    memset(cs, 0, sizeof *cs * (size_t)opt_conns);
    uint64_t events = 0, batches = 0, non200 = 0, retries503 = 0, errors = 0;
    int64_t *lat = NULL;
    size_t nlat = 0, caplat = 0;
    int64_t t0 = now_ns(), stop_at = opt_max_seconds > 0 ? t0 + (int64_t)(opt_max_seconds * 1e9) : INT64_MAX;
    int active = 0, printed = 0;
    for (int i = 0; i < opt_conns; i++) {
        cs[i].fd = connect_to();
        if (cs[i].fd < 0) die("cannot connect to %s:%d: %s", opt_host, opt_port, strerror(errno));
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    int stopping = 0;
    for (;;) {
        /* give every idle connection a batch */
        for (int i = 0; i < opt_conns && !stopping; i++) {
            iconn *c = &cs[i];
            if (c->busy) continue;
            if (now_ns() >= stop_at) {
                stopping = 1;
                break;
            }
            int n = next_batch(&rd, &c->body);
            if (n == 0) {
                stopping = 1;
                break;
            }
            c->nev = n;
            c->retries = 0;
            c->out.n = c->outoff = 0;
            bprintf(&c->out, "POST /v1/batch HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                    opt_host, opt_key, c->body.n);
            bput(&c->out, c->body.b, c->body.n);
            c->busy = 1;
            c->sent_at = now_ns();
            active++;
            iconn_send(c);
        }
        if (active == 0) break;
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 1000);
        for (int i = 0; i < n; i++) {
            iconn *c = evs[i].data.ptr;
            while ((evs[i].events & EPOLLOUT) && c->outoff < c->out.n) {
                ssize_t w = send(c->fd, c->out.b + c->outoff, c->out.n - c->outoff, MSG_NOSIGNAL);
                if (w <= 0) break;
                c->outoff += (size_t)w;
            }
            int closed = 0;
            for (;;) {
                bgrow(&c->in, 65536);
                ssize_t r = recv(c->fd, c->in.b + c->in.n, c->in.cap - c->in.n - 1, 0);
                if (r > 0) {
                    c->in.n += (size_t)r;
                    continue;
                }
                if (r < 0 && errno == EAGAIN) break;
                closed = 1;
                break;
            }
            while (c->busy && c->in.n) {
                int status = 0;
                const char *body;
                size_t blen;
                long len = http_response(c->in.b, c->in.n, &status, &body, &blen);
                if (len < 0) die("malformed response from the server");
                if (len == 0) break;
                if (status == 200) {
                    events += (uint64_t)c->nev;
                    batches++;
                    int64_t t = now_ns();
                    if (nlat == caplat) lat = xrealloc(lat, sizeof *lat * (caplat = caplat ? caplat * 2 : 4096));
                    lat[nlat++] = t - c->sent_at;
                    c->busy = 0;
                    active--;
                } else if ((status == 503 || status == 429) && c->retries < 100) {
                    /* back-pressure (429) or a transient store error (503): back off, then resend
                     * the same batch (after reconnecting if the server closes the connection) */
                    retries503++;
                    c->retries++;
                    c->retry = 1;
                    if (printed++ < 5)
                        fprintf(stderr, "loadgen ingest: HTTP %d (retrying): %.*s\n", status, (int)(blen > 300 ? 300 : blen), body);
                } else {
                    non200++;
                    if (printed++ < 5)
                        fprintf(stderr, "loadgen ingest: HTTP %d: %.*s\n", status, (int)(blen > 300 ? 300 : blen), body);
                    c->busy = 0;
                    active--;
                }
                bconsume(&c->in, (size_t)len);
            }
            if (c->retry) {
                struct timespec ts = {0, 20000000};
                nanosleep(&ts, NULL);
                c->retry = 0;
                if (!closed) {
                    c->sent_at = now_ns();
                    iconn_send(c);
                    continue;
                }
            }
            if (closed) {
                if (c->busy && c->retries > 0 && c->retries < 100) {
                    /* resend the batch being retried on a new connection */
                } else if (c->busy) {
                    errors++;
                    if (printed++ < 5) fprintf(stderr, "loadgen ingest: connection closed with a batch in flight\n");
                    c->busy = 0;
                    active--;
                }
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->in.n = 0;
                c->fd = connect_to();
                if (c->fd < 0) die("lost the connection to %s:%d and cannot reconnect", opt_host, opt_port);
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
                if (c->busy) {
                    c->sent_at = now_ns();
                    iconn_send(c);
                }
            }
        }
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    qsort(lat, nlat, sizeof *lat, cmp_i64);
    double p50 = (double)pct(lat, nlat, 50) / 1e3, p99 = (double)pct(lat, nlat, 99) / 1e3;
    fprintf(stderr, "loadgen ingest: %llu events in %llu batches in %.2f s = %.0f events/s; batch ack p50 %.0f us p99 %.0f us; non-2xx %llu, 429/503 retries %llu, errors %llu\n",
            (unsigned long long)events, (unsigned long long)batches, secs, (double)events / secs, p50, p99,
            (unsigned long long)non200, (unsigned long long)retries503, (unsigned long long)errors);
    printf("RESULT mode=ingest events=%llu batches=%llu secs=%.3f events_per_s=%.0f ack_p50_us=%.1f ack_p99_us=%.1f non200=%llu retries=%llu errors=%llu\n",
           (unsigned long long)events, (unsigned long long)batches, secs, (double)events / secs, p50, p99,
           (unsigned long long)non200, (unsigned long long)retries503, (unsigned long long)errors);
    fclose(rd.f);
    free(rd.line);
    return 0;
}

/* ---------------------------------------------------------------- freshness (blocking) */
static int fresh_fd = -1;
static buf fresh_in;
static int http_call_soft;   /* readiness polling: a refused connection is not fatal */

/* one request/response on a blocking keep-alive connection; returns the status, body in *out */
static int http_call(const char *method, const char *path, const char *key, const char *body, buf *out)
{
    buf req = {0};
    bprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n", method, path, opt_host, key);
    if (body) bprintf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    else bputs(&req, "\r\n");
    for (int attempt = 0; attempt < 2; attempt++) {
        if (fresh_fd < 0) {
            fresh_fd = connect_to();
            if (fresh_fd < 0 && http_call_soft) {
                free(req.b);
                return -1;
            }
            if (fresh_fd < 0) die("cannot connect to %s:%d", opt_host, opt_port);
            fcntl(fresh_fd, F_SETFL, fcntl(fresh_fd, F_GETFL) & ~O_NONBLOCK);
            fresh_in.n = 0;
        }
        size_t off = 0;
        while (off < req.n) {
            ssize_t w = send(fresh_fd, req.b + off, req.n - off, MSG_NOSIGNAL);
            if (w <= 0) break;
            off += (size_t)w;
        }
        for (;;) {
            int status = 0;
            const char *b;
            size_t bl;
            long len = fresh_in.n ? http_response(fresh_in.b, fresh_in.n, &status, &b, &bl) : 0;
            if (len < 0) die("malformed response");
            if (len > 0) {
                out->n = 0;
                bput(out, b, bl);
                bconsume(&fresh_in, (size_t)len);
                free(req.b);
                return status;
            }
            bgrow(&fresh_in, 65536);
            ssize_t r = recv(fresh_fd, fresh_in.b + fresh_in.n, fresh_in.cap - fresh_in.n - 1, 0);
            if (r <= 0) {
                close(fresh_fd);
                fresh_fd = -1;
                break;
            }
            fresh_in.n += (size_t)r;
        }
    }
    free(req.b);
    return -1;
}

static long probe_count(const buf *body)
{
    if (!body->b) return 0;
    const char *p = strstr(body->b, "\"Freshness Probe\":");
    return p ? atol(p + 18) : 0;
}

static int cmd_fresh(void)
{
    if (!opt_ids || !opt_write_key) die("--ids and --write-key are required");
    load_ids(opt_ids);
    int64_t *fr = xrealloc(NULL, sizeof *fr * (size_t)opt_samples), *ack = xrealloc(NULL, sizeof *ack * (size_t)opt_samples);
    int first_read = 0, failures = 0, n = 0;
    buf body = {0}, path = {0}, ev = {0};
    for (int i = 0; i < opt_samples; i++) {
        const char *id = ids[rng() % nids];
        path.n = 0;
        bprintf(&path, "/v1/profiles/user_id:%s", id);
        int st = http_call("GET", path.b, opt_key, NULL, &body);
        if (st != 200) {
            fprintf(stderr, "loadgen fresh: GET %s -> %d %s\n", path.b, st, body.b ? body.b : "");
            failures++;
            continue;
        }
        long before = probe_count(&body);
        ev.n = 0;
        bprintf(&ev, "{\"userId\":\"%s\",\"event\":\"Freshness Probe\",\"messageId\":\"fresh-%d-%d-%llu\",\"properties\":{\"i\":%d}}", id,
                (int)getpid(), i, (unsigned long long)rng(), i);
        int64_t ts = now_ns();
        st = http_call("POST", "/v1/track", opt_write_key, ev.b, &body);
        int64_t tack = now_ns();
        if (st != 200) {
            fprintf(stderr, "loadgen fresh: POST /v1/track -> %d %s\n", st, body.b ? body.b : "");
            failures++;
            continue;
        }
        int reads = 0;
        for (;;) {
            st = http_call("GET", path.b, opt_key, NULL, &body);
            reads++;
            if (st == 200 && probe_count(&body) > before) break;
            if (now_ns() - tack > 10000000000LL) break;
        }
        int64_t tvis = now_ns();
        if (st != 200 || probe_count(&body) <= before) {
            fprintf(stderr, "loadgen fresh: event for %s not visible 10 s after its 200\n", id);
            failures++;
            continue;
        }
        if (reads == 1) first_read++;
        fr[n] = tvis - tack;
        ack[n] = tack - ts;
        n++;
    }
    qsort(fr, (size_t)n, sizeof *fr, cmp_i64);
    qsort(ack, (size_t)n, sizeof *ack, cmp_i64);
    fprintf(stderr, "loadgen fresh: %d samples: ack->visible p50 %.0f us p99 %.0f us max %.0f us; visible on the first read %d/%d; "
                    "track ack p50 %.0f us p99 %.0f us; failures %d\n",
            n, (double)pct(fr, (size_t)n, 50) / 1e3, (double)pct(fr, (size_t)n, 99) / 1e3, n ? (double)fr[n - 1] / 1e3 : 0, first_read, n,
            (double)pct(ack, (size_t)n, 50) / 1e3, (double)pct(ack, (size_t)n, 99) / 1e3, failures);
    printf("RESULT mode=fresh n=%d p50_us=%.1f p99_us=%.1f max_us=%.1f first_read=%d ack_p50_us=%.1f ack_p99_us=%.1f failures=%d\n", n,
           (double)pct(fr, (size_t)n, 50) / 1e3, (double)pct(fr, (size_t)n, 99) / 1e3, n ? (double)fr[n - 1] / 1e3 : 0, first_read,
           (double)pct(ack, (size_t)n, 50) / 1e3, (double)pct(ack, (size_t)n, 99) / 1e3, failures);
    return 0;
}

/* ---------------------------------------------------------------- correctness check */
static long json_count_after(const char *body, const char *anchor, const char *key)
{
    const char *a = anchor ? strstr(body, anchor) : body;
    if (!a) return -1;
    const char *p = strstr(a, key);
    return p ? atol(p + strlen(key)) : 0;
}

/* --ids is an expected-counts file from uci2segment: 'userId total orders refunds' per line.
 * Samples --samples lines and compares counts.total, by_event["Order Completed"] and
 * by_event["Order Refunded"]; any mismatch is printed and makes the exit status 1. */
static int cmd_verify(void)
{
    if (!opt_ids) die("--ids (an expected-counts file) is required");
    FILE *f = fopen(opt_ids, "r");
    if (!f) die("cannot open %s", opt_ids);
    char **lines = NULL, *line = NULL;
    size_t n = 0, capl = 0, cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        if (n == capl) lines = xrealloc(lines, sizeof *lines * (capl = capl ? capl * 2 : 4096));
        lines[n++] = strdup(line);
    }
    fclose(f);
    free(line);
    if (!n) die("empty expected-counts file");
    int bad = 0, checked = 0;
    buf body = {0}, path = {0};
    for (int i = 0; i < opt_samples; i++) {
        char id[256];
        long tot, ord, ref;
        if (sscanf(lines[rng() % n], "%255s %ld %ld %ld", id, &tot, &ord, &ref) != 4) die("malformed expected-counts line");
        path.n = 0;
        bprintf(&path, "/v1/profiles/user_id:%s", id);
        int st = http_call("GET", path.b, opt_key, NULL, &body);
        checked++;
        if (st != 200) {
            if (bad++ < 10) fprintf(stderr, "verify: %s: HTTP %d %.200s\n", id, st, body.b ? body.b : "");
            continue;
        }
        long gt = json_count_after(body.b, "\"counts\":", "\"total\":");
        long go = json_count_after(body.b, "\"by_event\":", "\"Order Completed\":");
        long gr = json_count_after(body.b, "\"by_event\":", "\"Order Refunded\":");
        if (gt != tot || go != ord || gr != ref) {
            if (bad++ < 10)
                fprintf(stderr, "verify: %s: expected total %ld, Order Completed %ld, Order Refunded %ld; c360 says %ld, %ld, %ld\n", id,
                        tot, ord, ref, gt, go, gr);
        }
    }
    fprintf(stderr, "verify: %d profiles checked against %s, %d mismatches\n", checked, opt_ids, bad);
    printf("RESULT mode=verify checked=%d mismatches=%d\n", checked, bad);
    return bad ? 1 : 0;
}

/* ---------------------------------------------------------------- recommendation quality */
/* splits a line at TABs in place (newline stripped); returns the number of fields */
static int split_tabs(char *line, char ***f)
{
    int n = 0, cap = 0;
    line[strcspn(line, "\r\n")] = 0;
    for (char *p = line;;) {
        if (n == cap) *f = xrealloc(*f, sizeof **f * (size_t)(cap = cap ? cap * 2 : 32));
        (*f)[n++] = p;
        char *t = strchr(p, '\t');
        if (!t) break;
        *t = 0;
        p = t + 1;
    }
    return n;
}

/* the product ids of body's array "key":[{"product_id":"..."},...] in order (string ids without
 * escapes, which is what the UCI stock codes are); returns the count, -1 if the array is absent */
static int json_ids(const char *body, const char *key, char ***out)
{
    const char *a = strstr(body, key);
    if (!a) return -1;
    a += strlen(key);
    int n = 0, depth = 0;
    for (const char *p = a; *p; p++) {
        if (*p == '"') {
            const char *e = p + 1;
            while (*e && *e != '"') e += (*e == '\\' && e[1]) ? 2 : 1;
            if (!*e) return n;
            int is_pid = depth == 1 && !strncmp(p, "\"product_id\":\"", 14);
            int is_elem = depth == 0 && p[-1] != ':';  /* plain array of strings */
            if (is_pid) {
                p += 13;
                e = p + 1;
                while (*e && *e != '"') e++;
                if (!*e) return n;
            }
            if (is_pid || is_elem) {
                *out = xrealloc(*out, sizeof **out * (size_t)(n + 1));
                (*out)[n++] = strndup(p + 1, (size_t)(e - p - 1));
            }
            p = e;
        } else if (*p == '{' || *p == '[') {
            if (p != a) depth++;
        } else if (*p == '}') {
            depth--;
        } else if (*p == ']') {
            if (depth == 0) break;
            depth--;
        }
    }
    return n;
}

static void free_ids(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
}

static int score_list(char **recs, int nrec, char **rest, int nrest)
{
    int hits = 0;
    for (int r = 0; r < nrest; r++)
        for (int i = 0; i < nrec; i++)
            if (!strcmp(recs[i], rest[r])) {
                hits++;
                break;
            }
    return hits;
}

/* --ids: cases file of uci2segment --holdout; --file: its reveal NDJSON (one line per case, same
 * order). Per case: POST /v1/track the reveal (--write-key), GET .../recommendations?limit=N
 * (--key) until products_of_interest shows the revealed product, score. --answers FILE gets
 * 'userId TAB p1 TAB p2 ...' (c360's list in order) for the independent checks. */
static int cmd_recs(void)
{
    if (!opt_ids || !opt_file || !opt_write_key) die("--ids (cases), --file (reveal NDJSON) and --write-key are required");
    if (opt_limit < 1 || opt_limit > 100) die("--limit must be 1..100");
    FILE *fc = fopen(opt_ids, "r"), *fr = fopen(opt_file, "r");
    if (!fc || !fr) die("cannot open %s or %s", opt_ids, opt_file);
    FILE *fa = opt_answers ? fopen(opt_answers, "w") : NULL;
    if (opt_answers && !fa) die("cannot open %s", opt_answers);
    char *line = NULL, *ev = NULL, **f = NULL, **pop = NULL, **recs = NULL, **poi = NULL;
    size_t cap = 0, evcap = 0;
    int npop = 0, n = 0, errors = 0, hit = 0, pop_hit = 0, co_cases = 0;
    long skipped = -1;
    double recall = 0, pop_recall = 0, nrecs_sum = 0;
    buf body = {0}, path = {0};
    while (getline(&line, &cap, fc) >= 0) {
        int nf = split_tabs(line, &f);
        if (!strcmp(f[0], "#skipped") && nf == 2) {
            skipped = atol(f[1]);
            continue;
        }
        if (!strcmp(f[0], "#popular")) {
            for (int i = 1; i < nf; i++) {
                pop = xrealloc(pop, sizeof *pop * (size_t)(npop + 1));
                pop[npop++] = strdup(f[i]);
            }
            continue;
        }
        if (nf < 3) die("malformed case line (userId, revealed product, rest...): %s", line);
        ssize_t el = getline(&ev, &evcap, fr);
        if (el <= 0) die("%s has fewer lines than %s has cases", opt_file, opt_ids);
        ev[strcspn(ev, "\r\n")] = 0;
        char needle[512];
        snprintf(needle, sizeof needle, "\"userId\":\"%s\"", f[0]);
        if (!strstr(ev, needle)) die("reveal line %d is not for %s", n + 1, f[0]);
        int st = http_call("POST", "/v1/track", opt_write_key, ev, &body);
        if (st != 200) {
            if (errors++ < 10) fprintf(stderr, "loadgen recs: POST /v1/track for %s -> %d %.200s\n", f[0], st, body.b ? body.b : "");
            continue;
        }
        path.n = 0;
        bprintf(&path, "/v1/profiles/user_id:%s/recommendations?limit=%d", f[0], opt_limit);
        int nrec = -1, seen = 0;
        for (int attempt = 0; attempt < 2000 && !seen; attempt++) {   /* until the reveal is visible (~2 s at most) */
            if (attempt) usleep(1000);
            st = http_call("GET", path.b, opt_key, NULL, &body);
            if (st != 200) break;
            int np = json_ids(body.b, "\"products_of_interest\":", &poi);
            for (int i = 0; i < np && !seen; i++) seen = !strcmp(poi[i], f[1]);
            if (np > 0) free_ids(poi, np);
        }
        if (st == 200 && seen) nrec = json_ids(body.b, "\"recommendations\":", &recs);
        if (nrec < 0) {
            if (errors++ < 10)
                fprintf(stderr, "loadgen recs: GET %s -> %d%s %.200s\n", path.b, st, seen ? "" : " (reveal not visible)", body.b ? body.b : "");
            continue;
        }
        n++;
        int h = score_list(recs, nrec, f + 2, nf - 2);
        hit += h > 0;
        recall += (double)h / (nf - 2);
        nrecs_sum += nrec;
        co_cases += strstr(body.b, "\"source\":\"co_purchase\"") != NULL;
        if (fa) {
            fputs(f[0], fa);
            for (int i = 0; i < nrec; i++) fprintf(fa, "\t%s", recs[i]);
            fputc('\n', fa);
        }
        free_ids(recs, nrec);
        /* the baseline: the most-ordered products before the cut, without the revealed one */
        char *top[100];
        int nt = 0;
        for (int i = 0; i < npop && nt < opt_limit; i++)
            if (strcmp(pop[i], f[1])) top[nt++] = pop[i];
        h = score_list(top, nt, f + 2, nf - 2);
        pop_hit += h > 0;
        pop_recall += (double)h / (nf - 2);
    }
    if (npop < opt_limit + 1) die("the cases file lists %d popular products; %d are needed", npop, opt_limit + 1);
    if (fa && fclose(fa)) die("write error on %s", opt_answers);
    fclose(fc);
    fclose(fr);
    double d = n ? n : 1;
    fprintf(stderr, "loadgen recs: %d cases (%ld skipped: single-product hidden order), %d errors; c360 hit@%d %.4f recall@%d %.4f "
                    "(co-purchase in %d cases, %.1f recommendations per answer); popularity hit@%d %.4f recall@%d %.4f\n",
            n, skipped, errors, opt_limit, hit / d, opt_limit, recall / d, co_cases, nrecs_sum / d, opt_limit, pop_hit / d, opt_limit,
            pop_recall / d);
    printf("RESULT mode=recs cases=%d skipped=%ld errors=%d hit=%.4f recall=%.4f pop_hit=%.4f pop_recall=%.4f co_cases=%d\n", n, skipped,
           errors, hit / d, recall / d, pop_hit / d, pop_recall / d, co_cases);
    free_ids(pop, npop);
    free(pop);
    free(recs);
    free(poi);
    free(line);
    free(ev);
    free(f);
    free(body.b);
    free(path.b);
    return 0;
}

/* ---------------------------------------------------------------- readiness */
/* polls GET /readyz every millisecond; prints the time from this process's start to the first 200
 * (start it right after the server to time a restart) */
static int cmd_ready(int64_t t0)
{
    int64_t deadline = t0 + (int64_t)(opt_duration * 1e9);
    buf body = {0};
    http_call_soft = 1; /* the server may not listen yet: keep polling */
    for (;;) {
        if (fresh_fd >= 0) close(fresh_fd);
        fresh_fd = -1;
        int st = http_call("GET", "/readyz", opt_key, NULL, &body);
        if (st == 200) break;
        if (now_ns() > deadline) {
            fprintf(stderr, "loadgen ready: no 200 from /readyz within %.0f s\n", opt_duration);
            printf("RESULT mode=ready ready_ms=-1\n");
            free(body.b);
            return 1;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    free(body.b);
    double ms = (double)(now_ns() - t0) / 1e6;
    fprintf(stderr, "loadgen ready: /readyz 200 after %.1f ms\n", ms);
    printf("RESULT mode=ready ready_ms=%.1f\n", ms);
    return 0;
}

/* ---------------------------------------------------------------- main */
static void usage(FILE *f)
{
    fprintf(f,
            "usage: loadgen MODE [options]\n"
            "modes:\n"
            "  lookup    fixed-rate (open-loop) profile lookups\n"
            "  maxrate   step the rate up until p99 > --limit-us or errors; report the highest rate held\n"
            "  ingest    POST /v1/batch bodies from --file, --batch events each, --conns connections\n"
            "  fresh     time from a /v1/track 200 until a profile read shows the event\n"
            "  verify    compare --samples random profiles with an expected-counts file (--ids)\n"
            "  ready     time until GET /readyz answers 200 (gives up after --duration seconds)\n"
            "  recs      recommendation quality on uci2segment --holdout cases (--ids CASES --file REVEAL.ndjson)\n"
            "options:\n"
            "  --host IP (127.0.0.1)  --port N (8360)  --key KEY (Bearer key for reads / ingest)\n"
            "  --write-key KEY (fresh: key for /v1/track)  --ids FILE (first word of each line is a user id)\n"
            "  --proto http|resp  --sha SHA (resp: EVALSHA script)  --resp-prefix STR (resp: id prefix, 'user_id:')\n"
            "  --rate R (10000)  --duration S (10)  --warmup S (1)  --conns N (32)\n"
            "  --start R (2000)  --factor F (1.25)  --max R  --step S (5)  --limit-us US (1000)\n"
            "  --file NDJSON  --batch N (100)  --max-batch-bytes N (460800)  --max-seconds S (0 = whole file)\n"
            "  --samples N (300)  --seed N\n"
            "  --path-suffix STR (lookup/maxrate: appended to /v1/profiles/user_id:ID)\n"
            "  --limit N (recs: 10)  --answers FILE (recs: c360's lists, for the checks)\n");
}

int main(int argc, char **argv)
{
    int64_t t_start = now_ns();
    bench_init("loadgen", 2);
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *mode = argv[1];
    if (!strcmp(mode, "-h") || !strcmp(mode, "--help")) {
        usage(stdout);
        return 0;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) die("option %s needs a value", a);
        i++;
        if (!strcmp(a, "--host")) opt_host = v;
        else if (!strcmp(a, "--port")) opt_port = atoi(v);
        else if (!strcmp(a, "--key")) opt_key = v;
        else if (!strcmp(a, "--write-key")) opt_write_key = v;
        else if (!strcmp(a, "--ids")) opt_ids = v;
        else if (!strcmp(a, "--file")) opt_file = v;
        else if (!strcmp(a, "--proto")) opt_proto = v;
        else if (!strcmp(a, "--sha")) opt_sha = v;
        else if (!strcmp(a, "--resp-prefix")) opt_resp_prefix = v;
        else if (!strcmp(a, "--path-suffix")) opt_path_suffix = v;
        else if (!strcmp(a, "--limit")) opt_limit = atoi(v);
        else if (!strcmp(a, "--answers")) opt_answers = v;
        else if (!strcmp(a, "--rate")) opt_rate = atof(v);
        else if (!strcmp(a, "--duration")) opt_duration = atof(v);
        else if (!strcmp(a, "--warmup")) opt_warmup = atof(v);
        else if (!strcmp(a, "--conns")) opt_conns = atoi(v);
        else if (!strcmp(a, "--start")) opt_start = atof(v);
        else if (!strcmp(a, "--factor")) opt_factor = atof(v);
        else if (!strcmp(a, "--max")) opt_max = atof(v);
        else if (!strcmp(a, "--step")) opt_step = atof(v);
        else if (!strcmp(a, "--limit-us")) opt_limit_us = atof(v);
        else if (!strcmp(a, "--batch")) opt_batch = atoi(v);
        else if (!strcmp(a, "--max-batch-bytes")) opt_max_batch_bytes = (size_t)atol(v);
        else if (!strcmp(a, "--max-seconds")) opt_max_seconds = atof(v);
        else if (!strcmp(a, "--samples")) opt_samples = atoi(v);
        else if (!strcmp(a, "--seed")) rng_state = (uint64_t)strtoull(v, NULL, 10) * 0x9e3779b97f4a7c15ULL | 1;
        else die("unknown option %s", a);
    }
    if (opt_conns < 1 || opt_rate <= 0 || opt_duration <= 0 || opt_batch < 1 || opt_factor <= 1) die("bad option values");
    if (!strcmp(mode, "lookup")) return cmd_lookup();
    if (!strcmp(mode, "maxrate")) return cmd_maxrate();
    if (!strcmp(mode, "ingest")) return cmd_ingest();
    if (!strcmp(mode, "fresh")) return cmd_fresh();
    if (!strcmp(mode, "verify")) return cmd_verify();
    if (!strcmp(mode, "ready")) return cmd_ready(t_start);
    if (!strcmp(mode, "recs")) return cmd_recs();
    usage(stderr);
    return 2;
}
