/* common.c -- owns the shared helpers of the benchmark's client tools (see common.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *prog_name = "bench";
static int die_exit = 1;

void bench_init(const char *prog, int die_status)
{
    prog_name = prog;
    die_exit = die_status;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(die_exit);
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int64_t pct(const int64_t *v, size_t n, double p)
{
    if (!n) return 0;
    size_t r = (size_t)ceil(p / 100.0 * (double)n);
    if (r < 1) r = 1;
    if (r > n) r = n;
    return v[r - 1];
}

void bgrow(buf *b, size_t add)
{
    if (b->n + add + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (b->n + add + 1 > c) c *= 2;
        b->b = xrealloc(b->b, c);
        b->cap = c;
    }
}

void bput(buf *b, const void *s, size_t n)
{
    bgrow(b, n);
    memcpy(b->b + b->n, s, n);
    b->n += n;
    b->b[b->n] = 0;
}

void bputs(buf *b, const char *s) { bput(b, s, strlen(s)); }

void bprintf(buf *b, const char *fmt, ...)
{
    va_list ap;
    bgrow(b, 256);
    va_start(ap, fmt);
    int k = vsnprintf(b->b + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0) die("format");
    if ((size_t)k >= b->cap - b->n) {
        bgrow(b, (size_t)k);
        va_start(ap, fmt);
        vsnprintf(b->b + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
    }
    b->n += (size_t)k;
}

void bconsume(buf *b, size_t n)
{
    if (n >= b->n) {
        b->n = 0;
    } else {
        memmove(b->b, b->b + n, b->n - n);
        b->n -= n;
    }
    if (b->b) b->b[b->n] = 0;
}

long resp_value(const char *b, size_t n)
{
    if (n < 3) return 0;
    const char *eol = memmem(b, n, "\r\n", 2);
    if (!eol) return 0;
    size_t h = (size_t)(eol - b) + 2;
    switch (b[0]) {
    case '+':
    case '-':
    case ':':
        return (long)h;
    case '$': {
        long l = atol(b + 1);
        if (l < 0) return (long)h;
        if (n < h + (size_t)l + 2) return 0;
        return (long)(h + (size_t)l + 2);
    }
    case '*': {
        long k = atol(b + 1);
        size_t off = h;
        for (long i = 0; i < k; i++) {
            long v = resp_value(b + off, n - off);
            if (v <= 0) return v;
            off += (size_t)v;
        }
        return (long)off;
    }
    default:
        return -1;
    }
}

int tcp_connect(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) die("bad host %s (numeric IPv4 only)", host);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    /* TCP self-connect: while nothing listens on a port inside the kernel's ephemeral range, a
     * connect() to it can be given that same port as its local end and "succeed", talking to
     * itself (readiness polls hit this: the request comes back as the response). Treat it as
     * refused. */
    struct sockaddr_in me, peer;
    socklen_t ml = sizeof me, pl = sizeof peer;
    if (getsockname(fd, (struct sockaddr *)&me, &ml) == 0 && getpeername(fd, (struct sockaddr *)&peer, &pl) == 0 &&
        me.sin_port == peer.sin_port && me.sin_addr.s_addr == peer.sin_addr.s_addr) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

uint64_t route_hash(const char *line, size_t len)
{
    const char *k = memmem(line, len, "\"anonymousId\":\"", 15);
    size_t klen = 15;
    if (!k) {
        k = memmem(line, len, "\"userId\":\"", 10);
        klen = 10;
    }
    uint64_t h = 1469598103934665603ULL;
    if (!k) return h;
    for (const char *p = k + klen; p < line + len && *p != '"'; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

void fresh_report(const char *tool, const char *acked, const char *write, int64_t *fr, int64_t *ack, int m, int first,
                  int failures)
{
    size_t n = (size_t)m;
    qsort(fr, n, sizeof *fr, cmp_i64);
    qsort(ack, n, sizeof *ack, cmp_i64);
    fprintf(stderr, "%s fresh: %d samples: %s->visible p50 %.0f us p99 %.0f us; visible on the first read %d/%d; "
                    "1-event %s p50 %.0f us p99 %.0f us; failures %d\n",
            tool, m, acked, (double)pct(fr, n, 50) / 1e3, (double)pct(fr, n, 99) / 1e3, first, m, write,
            (double)pct(ack, n, 50) / 1e3, (double)pct(ack, n, 99) / 1e3, failures);
    printf("RESULT mode=fresh n=%d p50_us=%.1f p99_us=%.1f max_us=%.1f first_read=%d ack_p50_us=%.1f ack_p99_us=%.1f failures=%d\n", m,
           (double)pct(fr, n, 50) / 1e3, (double)pct(fr, n, 99) / 1e3, m ? (double)fr[m - 1] / 1e3 : 0, first,
           (double)pct(ack, n, 50) / 1e3, (double)pct(ack, n, 99) / 1e3, failures);
}
