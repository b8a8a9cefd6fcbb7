/* audit.c -- hash-chained, append-only audit log (see audit.h).
 * Lines are appended under one mutex. The chain's head goes to the store at once (synced) for
 * durable entries; for the others (every profile read) a small recorder thread writes it at most
 * every HEAD_EVERY_MS, so that a read never waits for the store's write queue (where it would
 * queue behind the writer's group commit and its fsync). */
#include "privacy/audit.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct c360_audit {
    c360_store *store;         /* keeps the chain's head */
    pthread_mutex_t mu;
    int fd;
    char *path;
    unsigned char secret[32];
    uint64_t seq;
    char prev[65];
    /* the head recorder */
    pthread_mutex_t head_mu;   /* orders the head's store writes */
    uint64_t head_seq;         /* the last head written to the store (under head_mu) */
    int head_failing;          /* the last store write failed (logged once; under head_mu) */
    pthread_t th;
    pthread_cond_t cv;
    int stopping, started;
};

#define HEAD_EVERY_MS 200

static void hash_hex(const unsigned char secret[32], const char *s, size_t n, char out[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)s, n, secret, 32);
    sodium_bin2hex(out, 65, h, sizeof h);
}

/* the part of a line covered by its hash, and the hash it carries */
static int split_line(const char *line, size_t n, size_t *covered, char hash[65])
{
    static const char tag[] = ",\"hash\":\"";
    if (n < sizeof tag + 66) return -1;
    const char *h = line + n - 66 - (sizeof tag - 1);
    if (memcmp(h, tag, sizeof tag - 1) || line[n - 1] != '}' || line[n - 2] != '"') return -1;
    memcpy(hash, h + sizeof tag - 1, 64);
    hash[64] = 0;
    *covered = (size_t)(h - line);
    return 0;
}

static int field_str(const char *line, size_t n, const char *key, strbuf *out)
{
    c360_json j;
    c360_json_init(&j);
    char err[64];
    int rc = -1;
    if (c360_json_parse(&j, line, n, err, sizeof err) == 0 && j.tok[0].type == CJ_OBJECT) {
        int t = c360_json_get(&j, 0, key);
        if (t >= 0) {
            size_t vl;
            const char *v = c360_json_raw(&j, t, &vl);
            if (j.tok[t].type == CJ_STRING) rc = c360_json_str(&j, t, out);
            else { sb_add(out, v, vl); rc = 0; }
        }
    }
    c360_json_release(&j);
    return rc;
}

static const char head_key[] = "Maudit_head";

/* head: seq u64 big-endian + 64 hex chars of the last hash */
static int read_head(c360_store *s, uint64_t *seq, char hash[65])
{
    strbuf v = STRBUF_INIT;
    int f = c360_store_get(s, head_key, sizeof head_key - 1, &v);
    int ok = f == 1 && v.len == 8 + 64;
    if (ok) {
        *seq = c360_get_u64be((const unsigned char *)v.buf);
        memcpy(hash, v.buf + 8, 64);
        hash[64] = 0;
    }
    sb_release(&v);
    return ok;
}

long c360_audit_verify(const char *path, c360_store *store, long *lines, char *err, size_t errlen)
{
    const unsigned char *secret = c360_store_secret(store);
    uint64_t head_seq = 0;
    char head_hash[65] = "";
    int have_head = read_head(store, &head_seq, head_hash);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) {
            *lines = 0;
            if (have_head && head_seq > 0) {
                snprintf(err, errlen, "the audit log is missing but %llu entries were written", (unsigned long long)head_seq);
                return 1;
            }
            return 0;
        }
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char prev[65];
    memset(prev, '0', 64);
    prev[64] = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long no = 0, bad = 0;
    strbuf v = STRBUF_INIT;
    while ((len = getline(&line, &cap, f)) >= 0) {
        no++;
        while (len > 0 && line[len - 1] == '\n') len--;
        size_t covered;
        char got[65], want[65];
        if (split_line(line, (size_t)len, &covered, got)) {
            snprintf(err, errlen, "line %ld is not an audit entry", no);
            bad = no;
            break;
        }
        hash_hex(secret, line, covered, want);
        sb_reset(&v);
        if (strcmp(got, want)) {
            snprintf(err, errlen, "line %ld was modified (hash mismatch)", no);
            bad = no;
            break;
        }
        if (field_str(line, (size_t)len, "prev", &v) || strcmp(v.buf, prev)) {
            snprintf(err, errlen, "line %ld does not follow line %ld (a line was removed or inserted)", no, no - 1);
            bad = no;
            break;
        }
        sb_reset(&v);
        if (field_str(line, (size_t)len, "seq", &v) || strtoll(v.buf, NULL, 10) != no) {
            snprintf(err, errlen, "line %ld has sequence %s", no, v.buf);
            bad = no;
            break;
        }
        if (have_head && (uint64_t)no == head_seq && strcmp(got, head_hash)) {
            snprintf(err, errlen, "line %ld is not the entry the store recorded as number %ld", no, no);
            bad = no;
            break;
        }
        memcpy(prev, got, 65);
    }
    sb_release(&v);
    free(line);
    fclose(f);
    *lines = no;
    if (!bad && have_head && (uint64_t)no < head_seq) {
        snprintf(err, errlen, "the log ends at entry %ld but %llu entries were written: lines were cut off the end", no,
                 (unsigned long long)head_seq);
        bad = no + 1;
    }
    return bad;
}

/* writes a head (seq, hash) to the store unless a later one is there already; never called with
 * a->mu held, so that appending entries never waits on the store */
static void record_head(c360_audit *a, uint64_t seq, const char hash[65], int sync)
{
    pthread_mutex_lock(&a->head_mu);
    if (seq > a->head_seq) {
        unsigned char hv[8 + 64];
        c360_put_u64be(hv, seq);
        memcpy(hv + 8, hash, 64);
        char e2[128];
        if ((sync ? c360_store_put_sync : c360_store_put_nosync)(a->store, head_key, sizeof head_key - 1, hv, sizeof hv, e2, sizeof e2)) {
            if (!a->head_failing) LOG_ERROR("audit head not recorded (retried)", "\"error\":\"%s\"", e2);
            a->head_failing = 1;
        } else {
            a->head_seq = seq;
            a->head_failing = 0;
        }
    }
    pthread_mutex_unlock(&a->head_mu);
}

static void *head_main(void *arg)
{
    c360_thread_name("c360-audit");
    c360_audit *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += HEAD_EVERY_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&a->cv, &a->mu, &ts);
        uint64_t seq = a->seq;
        char h[65];
        memcpy(h, a->prev, 65);
        pthread_mutex_unlock(&a->mu);
        record_head(a, seq, h, 0);
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int c360_audit_open(c360_audit **out, const char *data_dir, c360_store *store, char *err, size_t errlen)
{
    const unsigned char *secret = c360_store_secret(store);
    c360_audit *a = xcalloc(1, sizeof *a);
    a->store = store;
    strbuf p = STRBUF_INIT;
    sb_addf(&p, "%s/audit.log", data_dir);
    a->path = sb_detach(&p, NULL);
    memcpy(a->secret, secret, 32);
    memset(a->prev, '0', 64);
    /* continue the chain from the last line (the whole file is checked by `c360 audit verify`) */
    FILE *f = fopen(a->path, "rb");
    if (f) {
        char *line = NULL, *last = NULL;
        size_t cap = 0;
        ssize_t len;
        uint64_t n = 0;
        while ((len = getline(&line, &cap, f)) >= 0) {
            n++;
            free(last);
            last = xstrndup(line, (size_t)len);
        }
        free(line);
        fclose(f);
        if (last) {
            size_t ll = strlen(last), covered;
            while (ll && last[ll - 1] == '\n') ll--;
            char h[65];
            if (split_line(last, ll, &covered, h) == 0) memcpy(a->prev, h, 65);
            free(last);
        }
        a->seq = n;
    }
    a->fd = open(a->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (a->fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", a->path, strerror(errno));
        free(a->path);
        free(a);
        return -1;
    }
    a->head_seq = a->seq;
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->head_mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->started = pthread_create(&a->th, NULL, head_main, a) == 0;
    *out = a;
    return 0;
}

void c360_audit_close(c360_audit *a)
{
    if (!a) return;
    if (a->started) {
        pthread_mutex_lock(&a->mu);
        a->stopping = 1;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->th, NULL);
        a->started = 0;
    }
    fsync(a->fd);
    record_head(a, a->seq, a->prev, 1);
    close(a->fd);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->head_mu);
    sodium_memzero(a->secret, sizeof a->secret);
    free(a->path);
    free(a);
}

int c360_audit_log(c360_audit *a, const char *key_name, const char *role, const char *action, const char *subject,
                   const char *detail, int durable)
{
    char at[32];
    c360_time_format(c360_now_ms(), at);
    strbuf line = STRBUF_INIT;
    pthread_mutex_lock(&a->mu);
    sb_addf(&line, "{\"seq\":%llu,\"at\":\"%s\",\"key\":", (unsigned long long)(a->seq + 1), at);
    c360_json_put_cstr(&line, key_name ? key_name : "");
    sb_adds(&line, ",\"role\":");
    c360_json_put_cstr(&line, role ? role : "");
    sb_adds(&line, ",\"action\":");
    c360_json_put_cstr(&line, action);
    sb_adds(&line, ",\"subject\":");
    if (subject) c360_json_put_cstr(&line, subject);
    else sb_adds(&line, "null");
    sb_adds(&line, ",\"detail\":");
    sb_adds(&line, detail && *detail ? detail : "null");
    sb_addf(&line, ",\"prev\":\"%s\"", a->prev);
    char h[65];
    hash_hex(a->secret, line.buf, line.len, h);
    sb_addf(&line, ",\"hash\":\"%s\"}\n", h);
    int rc = 0;
    ssize_t w = write(a->fd, line.buf, line.len);
    if (w != (ssize_t)line.len || (durable && fdatasync(a->fd))) {
        LOG_ERROR("audit write failed", "\"error\":\"%s\"", strerror(errno));
        rc = -1;
    } else {
        a->seq++;
        memcpy(a->prev, h, 65);
    }
    uint64_t seq = a->seq;
    pthread_mutex_unlock(&a->mu);
    if (rc == 0 && (durable || !a->started)) record_head(a, seq, h, durable);
    sb_release(&line);
    return rc;
}

int c360_audit_query(c360_audit *a, const char *subject, int limit, strbuf *out)
{
    FILE *f = fopen(a->path, "rb");
    sb_addc(out, '[');
    if (!f) {
        sb_addc(out, ']');
        return 0;
    }
    /* keep the last `limit` matches in a ring */
    char **ring = xcalloc((size_t)limit, sizeof *ring);
    long n = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    strbuf needle = STRBUF_INIT;
    if (subject) {
        sb_adds(&needle, "\"subject\":");
        c360_json_put_cstr(&needle, subject);
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && line[len - 1] == '\n') len--;
        line[len] = 0;
        if (subject && !strstr(line, needle.buf)) continue;
        free(ring[n % limit]);
        ring[n % limit] = xstrndup(line, (size_t)len);
        n++;
    }
    long first = n > limit ? n - limit : 0;
    for (long i = first; i < n; i++) {
        if (i > first) sb_addc(out, ',');
        sb_adds(out, ring[i % limit]);
    }
    for (long i = 0; i < limit; i++) free(ring[i]);
    free(ring);
    free(line);
    sb_release(&needle);
    fclose(f);
    sb_addc(out, ']');
    return 0;
}
