/* common.h -- owns what the benchmark's client tools (loadgen, pgload, redisload) share: error
 * exit, allocation, the monotonic clock, nearest-rank percentiles, a growable byte buffer, RESP
 * framing, loopback TCP connections, the routing of events to connections by person and the
 * freshness summary.
 * One implementation each, so the three tools measure and report the same way. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* die(): "<prog>: message" on stderr, then exit(status); set once at the top of main */
void bench_init(const char *prog, int die_status);
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xrealloc(void *p, size_t n);

int64_t now_ns(void); /* CLOCK_MONOTONIC */

/* latencies: sort with qsort(v, n, sizeof *v, cmp_i64), then pct(v, n, 99.9) (nearest rank) */
int cmp_i64(const void *a, const void *b);
int64_t pct(const int64_t *v, size_t n, double p);

/* growable byte buffer, always NUL-terminated after n bytes once written */
typedef struct {
    char *b;
    size_t n, cap;
} buf;
void bgrow(buf *b, size_t add);
void bput(buf *b, const void *s, size_t n);
void bputs(buf *b, const char *s);
void bprintf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bconsume(buf *b, size_t n); /* drop the first n bytes */

/* length of one complete RESP value at b: > 0, 0 if incomplete, -1 if malformed */
long resp_value(const char *b, size_t n);

/* blocking TCP connection to host:port (numeric IPv4) with TCP_NODELAY; -1 if refused */
int tcp_connect(const char *host, int port);

/* freshness summary (pgload, redisload): sorts the m samples of fr (acknowledgement -> visible)
 * and ack (the 1-event write), prints the human line ("<tool> fresh: ... <acked>->visible ...,
 * 1-event <write> ...") and the RESULT line */
void fresh_report(const char *tool, const char *acked, const char *write, int64_t *fr, int64_t *ack, int m, int first,
                  int failures);

/* FNV-1a of an NDJSON event's anonymousId (else userId): K connections take hash % K, so one
 * person's events stay in order on one connection and connections never share a customer */
uint64_t route_hash(const char *line, size_t len);

#endif
