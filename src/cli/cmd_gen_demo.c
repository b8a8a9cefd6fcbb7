/* cmd_gen_demo.c - the `c360 gen-demo` command.
 * Owns option parsing, --help, and streaming the generator's NDJSON to stdout or a file
 * in bounded chunks; all event logic lives in demo_shop.c. With --live it instead posts the
 * same stream to a running server over HTTP at a steady rate, stamped with the current time
 * (live traffic for the demo and the console). Exit codes: 0 ok, 1 I/O or memory failure,
 * 2 usage error. */

#include "cli/cli.h" /* declares c360_cmd_gen_demo */
#include "cli/demo_shop.h"
#include "util/clock.h"
#include "util/strbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char gen_demo_help[] =
    "Usage: c360 gen-demo [options]\n"
    "\n"
    "Write a deterministic grocery-shop event stream as newline-delimited JSON\n"
    "(Segment spec: identify/page/track), one event per line, in timestamp order.\n"
    "Customers browse anonymously, then identify (sign-up, or newsletter email first\n"
    "and login later), add to cart, order (\"Order Completed\"), sometimes get refunds;\n"
    "~10% use a second device. Same options and seed give byte-identical output.\n"
    "\n"
    "Options:\n"
    "  --customers N      number of customers, userIds u1..uN (default 1000)\n"
    "  --products N       catalogue size, 1..100000 (default 120)\n"
    "  --days N           length of the period in days, 1..36600 (default 30)\n"
    "  --seed N           PRNG seed, 0..18446744073709551615 (default 42)\n"
    "  --start YYYY-MM-DD first day, midnight UTC (default 2026-10-01)\n"
    "  -o, --out FILE     write events to FILE instead of stdout ('-' = stdout)\n"
    "  --catalog FILE     also write the product catalogue (JSON array) to FILE\n"
    "  --stats            print a summary (events, time, events/s) to stderr\n"
    "  -h, --help         show this help\n"
    "\n"
    "Live traffic (instead of writing NDJSON):\n"
    "  --live             post the stream to a running server, as it happens now: each\n"
    "                     event gets the current time and a fresh messageId; the stream\n"
    "                     starts over when it ends; runs until interrupted\n"
    "  --url URL          the server (default http://127.0.0.1:8360, or $C360_URL)\n"
    "  --write-key KEY    an ingest key (default $C360_WRITE_KEY)\n"
    "  --rate N           events per second, 1..10000 (default 20)\n"
    "  --duration S       stop after S seconds (default 0: run until interrupted)\n"
    "Use the same --customers and --seed as the loaded shop, so the traffic reaches its\n"
    "customers.\n"
    "\n"
    "Memory stays bounded whatever --customers is: output is generated and written\n"
    "in chunks, day by day.\n";

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = (uint64_t)v;
    return 0;
}

static int usage_error(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "c360 gen-demo: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\nTry 'c360 gen-demo --help'.\n");
    return 2;
}

static int write_all(FILE *f, const char *p, size_t n, const char *name)
{
    if (n && fwrite(p, 1, n, f) != n) {
        fprintf(stderr, "c360 gen-demo: writing %s: %s\n", name, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_catalog(const c360_demo *d, const char *path)
{
    char *json = c360_demo_catalog_json(d);
    if (!json) {
        fprintf(stderr, "c360 gen-demo: out of memory\n");
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "c360 gen-demo: cannot open %s: %s\n", path, strerror(errno));
        free(json);
        return -1;
    }
    int rc = write_all(f, json, strlen(json), path);
    if (!rc) rc = write_all(f, "\n", 1, path);
    free(json);
    if (fclose(f) && !rc) {
        fprintf(stderr, "c360 gen-demo: writing %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- --live: the stream as traffic to a running server ---- */

static volatile sig_atomic_t live_stop;

static void on_live_signal(int sig)
{
    (void)sig;
    live_stop = 1;
}

/* Rewrites one generated NDJSON line for live use: messageId "live-RUN-N" (unique per run and
 * event, so the dedup window does not drop replays), timestamp = now. Appends to out. */
static void live_rewrite(const char *line, size_t n, const char *run, uint64_t seq, int64_t now_ms, strbuf *out)
{
    static const char mid[] = "\"messageId\":\"", ts[] = "\"timestamp\":\"";
    char when[32];
    c360_time_format(now_ms, when);
    size_t i = 0;
    while (i < n) {
        const char *rest = line + i;
        size_t left = n - i;
        const char *m = memmem(rest, left, mid, sizeof mid - 1), *t = memmem(rest, left, ts, sizeof ts - 1);
        const char *hit = m && (!t || m < t) ? m : t;
        if (!hit) {
            sb_add(out, rest, left);
            break;
        }
        size_t kl = hit == m ? sizeof mid - 1 : sizeof ts - 1;
        sb_add(out, rest, (size_t)(hit - rest) + kl);
        const char *end = memchr(hit + kl, '"', left - (size_t)(hit - rest) - kl);
        if (!end) {   /* not what the generator writes; keep the rest as is */
            sb_add(out, hit + kl, left - (size_t)(hit - rest) - kl);
            break;
        }
        if (hit == m) sb_addf(out, "live-%s-%" PRIu64, run, seq);
        else sb_adds(out, when);
        i = (size_t)(end - line);
    }
}

static int live_run(const c360_demo_opts *o, const char *url, const char *key, uint64_t rate, uint64_t duration_s)
{
    signal(SIGINT, on_live_signal);
    signal(SIGTERM, on_live_signal);
    signal(SIGPIPE, SIG_IGN);
    char run[24];
    snprintf(run, sizeof run, "%" PRId64, c360_now_ms());
    c360_demo *d = c360_demo_new(o);
    if (!d) {
        fprintf(stderr, "c360 gen-demo: --start plus --days goes past year 9999 (or out of memory)\n");
        return 2;
    }
    fprintf(stderr, "c360 gen-demo: live traffic to %s, %" PRIu64 " events/s (Ctrl-C stops)\n", url, rate);
    char *buf = NULL;
    size_t len = 0, pos = 0;
    uint64_t seq = 0, sent = 0, failures = 0;
    double t0 = now_s();
    int rc = 0;
    strbuf body = STRBUF_INIT, resp = STRBUF_INIT;
    while (!live_stop) {
        double el = now_s() - t0;
        if (duration_s && el >= (double)duration_s) break;
        uint64_t due = (uint64_t)(el * (double)rate) + 1;
        uint64_t want = due > sent ? due - sent : 0;
        if (want > 500) want = 500;   /* one batch stays well under the server's batch limit */
        if (!want) {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        sb_reset(&body);
        sb_adds(&body, "{\"batch\":[");
        int64_t now = c360_now_ms();
        for (uint64_t k = 0; k < want; k++) {
            if (pos >= len) {   /* next chunk; the stream starts over when it ends */
                free(buf);
                buf = NULL;
                len = pos = 0;
                if (!c360_demo_next_events(d, 256, &buf, &len)) {
                    if (c360_demo_failed(d)) {
                        fprintf(stderr, "c360 gen-demo: out of memory\n");
                        rc = 1;
                        goto out;
                    }
                    c360_demo_free(d);
                    if (!(d = c360_demo_new(o))) { rc = 1; goto out; }
                    k--;
                    continue;
                }
            }
            const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
            size_t ll = nl ? (size_t)(nl - line) : len - pos;
            pos += ll + 1;
            if (k) sb_addc(&body, ',');
            live_rewrite(line, ll, run, ++seq, now, &body);
        }
        sb_adds(&body, "]}");
        long status = 0;
        char err[256];
        sb_reset(&resp);
        if (c360_http_call(url, key, "POST", "/v1/batch", body.buf, &status, &resp, err, sizeof err) || status != 200) {
            if (failures++ % 20 == 0)
                fprintf(stderr, "c360 gen-demo: %s (retrying)\n", status ? resp.buf : err);
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
            /* these events are skipped: live traffic is about now, not about completeness */
        }
        sent += want;
    }
out:
    fprintf(stderr, "c360 gen-demo: live traffic stopped after %" PRIu64 " events\n", sent);
    sb_release(&body);
    sb_release(&resp);
    free(buf);
    c360_demo_free(d);
    return rc;
}

int c360_cmd_gen_demo(int argc, char **argv)
{
    c360_demo_opts o;
    c360_demo_opts_default(&o);
    const char *out_path = NULL, *catalog_path = NULL;
    const char *url = getenv("C360_URL"), *write_key = getenv("C360_WRITE_KEY");
    uint64_t live_rate = 20, live_duration = 0;
    int stats = 0, live = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(gen_demo_help, stdout);
            return 0;
        }
        if (!strcmp(arg, "--stats")) {
            stats = 1;
            continue;
        }
        if (!strcmp(arg, "--live")) {
            live = 1;
            continue;
        }
        /* Options with a value: "--name VALUE", "--name=VALUE", "-o FILE". */
        static const char *const with_value[] = {"--customers", "--products", "--days",      "--seed", "--start",
                                                 "--out",       "-o",         "--catalog",   "--url",  "--write-key",
                                                 "--rate",      "--duration"};
        const char *name = NULL, *val = NULL;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
            size_t n = strlen(with_value[k]);
            if (!strncmp(arg, with_value[k], n) && (arg[n] == 0 || (arg[n] == '=' && arg[1] == '-'))) {
                name = with_value[k];
                if (arg[n] == '=')
                    val = arg + n + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else
                    return usage_error("option %s needs a value%s", name, "");
                break;
            }
        }
        if (!name) return usage_error("unknown option '%s'%s", arg, "");

        uint64_t v;
        if (!strcmp(name, "--customers")) {
            if (parse_u64(val, 1, C360_DEMO_MAX_CUSTOMERS, &v))
                return usage_error("--customers: '%s' is not a number in 1..%s", val, "1000000000");
            o.customers = v;
        } else if (!strcmp(name, "--products")) {
            if (parse_u64(val, 1, C360_DEMO_MAX_PRODUCTS, &v))
                return usage_error("--products: '%s' is not a number in 1..%s", val, "100000");
            o.products = v;
        } else if (!strcmp(name, "--days")) {
            if (parse_u64(val, 1, C360_DEMO_MAX_DAYS, &v))
                return usage_error("--days: '%s' is not a number in 1..%s", val, "36600");
            o.days = (int)v;
        } else if (!strcmp(name, "--seed")) {
            if (parse_u64(val, 0, UINT64_MAX, &v))
                return usage_error("--seed: '%s' is not an unsigned 64-bit number%s", val, "");
            o.seed = v;
        } else if (!strcmp(name, "--start")) {
            if (c360_demo_parse_date(val, &o.start_ms))
                return usage_error("--start: '%s' is not a date YYYY-MM-DD (1970..9999)%s", val, "");
        } else if (!strcmp(name, "--url")) {
            url = val;
        } else if (!strcmp(name, "--write-key")) {
            write_key = val;
        } else if (!strcmp(name, "--rate")) {
            if (parse_u64(val, 1, 10000, &v)) return usage_error("--rate: '%s' is not a number in 1..%s", val, "10000");
            live_rate = v;
        } else if (!strcmp(name, "--duration")) {
            if (parse_u64(val, 0, 100000000, &v)) return usage_error("--duration: '%s' is not a number of seconds%s", val, "");
            live_duration = v;
        } else if (!strcmp(name, "--catalog")) {
            if (!*val) return usage_error("--catalog needs a file name%s%s", "", "");
            catalog_path = val;
        } else { /* -o / --out */
            if (!*val) return usage_error("%s needs a file name%s", name, "");
            out_path = strcmp(val, "-") ? val : NULL;
        }
    }

    if (live) {
        if (!write_key || !*write_key) return usage_error("--live needs --write-key KEY (or $C360_WRITE_KEY)%s%s", "", "");
        return live_run(&o, url && *url ? url : "http://127.0.0.1:8360", write_key, live_rate, live_duration);
    }

    c360_demo *d = c360_demo_new(&o);
    if (!d) {
        /* every field was range-checked above, so only the period end can be off */
        fprintf(stderr, "c360 gen-demo: --start plus --days goes past year 9999 (or out of memory)\n");
        return 2;
    }
    if (catalog_path && write_catalog(d, catalog_path)) {
        c360_demo_free(d);
        return 1;
    }

    FILE *f = stdout;
    const char *fname = out_path ? out_path : "stdout";
    if (out_path && !(f = fopen(out_path, "w"))) {
        fprintf(stderr, "c360 gen-demo: cannot open %s: %s\n", out_path, strerror(errno));
        c360_demo_free(d);
        return 1;
    }

    double t0 = now_s();
    uint64_t total = 0, bytes = 0;
    int rc = 0;
    for (;;) {
        char *buf = NULL;
        size_t len = 0;
        size_t n = c360_demo_next_events(d, 4096, &buf, &len);
        int werr = n && write_all(f, buf, len, fname);
        free(buf);
        if (!n) break;
        if (werr) {
            rc = 1;
            break;
        }
        total += n;
        bytes += len;
    }
    if (!rc && c360_demo_failed(d)) {
        fprintf(stderr, "c360 gen-demo: out of memory\n");
        rc = 1;
    }
    if (out_path) {
        if (fclose(f) && !rc) {
            fprintf(stderr, "c360 gen-demo: writing %s: %s\n", out_path, strerror(errno));
            rc = 1;
        }
    } else if (fflush(stdout) && !rc) {
        fprintf(stderr, "c360 gen-demo: writing stdout: %s\n", strerror(errno));
        rc = 1;
    }
    double dt = now_s() - t0;
    if (stats && !rc)
        fprintf(stderr,
                "c360 gen-demo: %" PRIu64 " events (%" PRIu64 " bytes), %" PRIu64
                " customers, %d days in %.2f s (%.0f events/s)\n",
                total, bytes, o.customers, o.days, dt, dt > 0 ? (double)total / dt : 0.0);
    c360_demo_free(d);
    return rc;
}
