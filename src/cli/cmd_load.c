/* cmd_load.c -- `c360 load SOURCE`: bulk history straight into the store, through the same
 * validation (sources/segment.c) and apply pipeline (engine.c) as HTTP ingest, without the writer
 * thread.
 *
 * SOURCE is a local file, `-` (stdin), an http(s) URL (libcurl) or `s3://bucket/prefix` (every
 * object under the prefix, in key order; sources/s3.c). Records are NDJSON Segment events, or --
 * with `--mapping NAME` from the config's `mappings:` section -- CSV rows or NDJSON records of any
 * shape, turned into Segment events by sources/mapping.c (docs/SOURCES.md).
 *
 * Resumable: every source object is one unit. When its last record has been applied, a marker
 * ('L' + hash of the object's URI and version, store/keys.h) is put into the same commit as those
 * events, so a restarted load skips exactly the objects whose events are all in the store, and
 * re-reads the one it was in the middle of (its events deduplicate by messageId: mapped records
 * without a message id field, and Segment events without a messageId, get "URI#line").
 * `--force` ignores the markers.
 * Writes no write-ahead log (the store's no_wal; docs/DECISIONS.md): commits every few MB
 * and at each object's end; at an object's end, if `load_checkpoint` (1 s) has passed since the
 * last time, and at the very end, it flushes the memtables into table files. Both families'
 * memtables are flushed together, so after a crash the store holds a prefix of the commits and
 * the markers in it tell a rerun where to go on; when load exits 0 every loaded event is durable.
 * Bad records are reported (object, line, reason), skipped, and make the exit status 1.
 * Threads: a parser reads and validates chunks of records while the main thread applies the
 * previous chunk; remote objects are streamed by a fetch thread through a pipe. */
#include "cli/cli.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "features/features.h"
#include "sources/csv.h"
#include "sources/gzstream.h"
#include "sources/mapping.h"
#include "sources/s3.h"
#include "sources/segment.h"
#include "store/keys.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/sched.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: c360 load [--data-dir DIR] [--config FILE] [--mapping NAME] [--format csv|ndjson] [--delimiter C] [--force] SOURCE\n\n"
    "Loads history into the store. SOURCE is a file, - (stdin), an http(s):// URL, or s3://bucket/prefix\n"
    "(every object under the prefix, in key order; credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n"
    "AWS_SESSION_TOKEN, AWS_REGION; AWS_ENDPOINT_URL for S3-compatible stores).\n"
    "Without --mapping, records are newline-delimited JSON Segment events (each with a \"type\").\n"
    "With --mapping NAME (a mapping of the config file's `mappings:` section, see docs/SOURCES.md),\n"
    "records are CSV rows (a header row first) or NDJSON objects; the format comes from --format or the\n"
    "name (.csv, .tsv: CSV, also as .csv.gz; anything else: NDJSON). gzip-compressed objects are\n"
    "decompressed as they are read, whatever their name.\n"
    "Objects that were loaded completely are skipped when the load is run again (--force loads them again).\n"
    "The server must not be running on the same data dir.\n";

#define CHUNK_EVENTS 4096
#define COMMIT_BYTES (32u << 20)

enum { K_STDIN, K_FILE, K_URL, K_S3 };
enum { FMT_AUTO, FMT_NDJSON, FMT_CSV };

typedef struct obj {
    char *uri;            /* what the user sees, and the base of fallback message ids */
    char *url;            /* what is fetched (URL, S3) or opened (file) */
    int kind;
    uint64_t size;        /* 0: unknown */
    char *version;        /* size/mtime, ETag or Last-Modified: part of the marker */
    unsigned char mark[17];
    int skip;
} obj;

typedef struct chunk {
    c360_event evs[CHUNK_EVENTS];
    int n;
    uint64_t bytes;       /* bytes read so far, over all objects */
    int obj_done;         /* index + 1 of an object whose last record is in this chunk */
    int eof, error;
    struct chunk *next;
} chunk;

typedef struct loader {
    obj *objs;
    int nobjs;
    int format;
    char delim;
    const c360_mapping *mapping;
    c360_segment_ctx seg;
    const c360_s3 *s3;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk *free_list, *full_head, *full_tail;
    int stop;
    /* parser thread only, read after join (or after a chunk with `error`) */
    uint64_t bad, filtered;
    char errmsg[512];
} loader;

static chunk *take(loader *L, chunk **list_head, chunk **list_tail)
{
    pthread_mutex_lock(&L->mu);
    while (!*list_head && !L->stop) pthread_cond_wait(&L->cv, &L->mu);
    chunk *c = *list_head;
    if (c) {
        *list_head = c->next;
        if (list_tail && !*list_head) *list_tail = NULL;
        c->next = NULL;
    }
    pthread_mutex_unlock(&L->mu);
    return c;
}

static void give_full(loader *L, chunk *c)
{
    pthread_mutex_lock(&L->mu);
    if (L->full_tail) L->full_tail->next = c;
    else L->full_head = c;
    L->full_tail = c;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

static void give_free(loader *L, chunk *c)
{
    pthread_mutex_lock(&L->mu);
    c->next = L->free_list;
    L->free_list = c;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

/* the parser's next empty chunk. The writer hands chunks back with their events applied but not
 * released: they are freed here, on the thread that allocated them (glibc's malloc frees
 * another thread's blocks under that thread's arena lock; c360_event_release was 3.5% of the
 * writer's samples on a UCI x8 load). */
static chunk *take_free(loader *L)
{
    chunk *c = take(L, &L->free_list, NULL);
    if (c) {
        for (int k = 0; k < c->n; k++) c360_event_release(&c->evs[k]);
        c->n = 0;
        c->eof = c->error = c->obj_done = 0;
    }
    return c;
}

static int stopped(loader *L)
{
    pthread_mutex_lock(&L->mu);
    int s = L->stop;
    pthread_mutex_unlock(&L->mu);
    return s;
}

/* ---- remote objects: a fetch thread writes the body into a pipe the parser reads ---- */

typedef struct fetch {
    pthread_t th;
    const char *url;
    const c360_s3 *s3;    /* sign for S3, or NULL */
    int fd;               /* write end */
    CURLcode cc;
    long status;
    char cerr[CURL_ERROR_SIZE];
} fetch;

static size_t fetch_write(char *p, size_t sz, size_t n, void *ud)
{
    fetch *f = ud;
    size_t total = sz * n, off = 0;
    while (off < total) {
        ssize_t w = write(f->fd, p + off, total - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return 0;   /* the parser stopped reading: abort the transfer */
        }
        off += (size_t)w;
    }
    return total;
}

static void *fetch_main(void *arg)
{
    c360_thread_name("c360-fetch");
    fetch *f = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    if (!h) {
        f->cc = CURLE_FAILED_INIT;
    } else {
        if (f->s3) c360_s3_sign(f->s3, h, &hdrs);
        curl_easy_setopt(h, CURLOPT_URL, f->url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
        curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, f->s3 ? 0L : 1L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->cerr);
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
        f->cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->status);
        curl_easy_cleanup(h);
        curl_slist_free_all(hdrs);
    }
    close(f->fd);
    return NULL;
}

/* Opens object o as it is stored; *fp set. Remote objects start a fetch thread (*fe). */
static int open_raw(loader *L, const obj *o, FILE **fp, fetch **fe)
{
    *fe = NULL;
    if (o->kind == K_STDIN) { *fp = stdin; return 0; }
    if (o->kind == K_FILE) {
        *fp = fopen(o->url, "rb");
        if (!*fp) { snprintf(L->errmsg, sizeof L->errmsg, "cannot open %s: %s", o->url, strerror(errno)); return -1; }
        return 0;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC)) { snprintf(L->errmsg, sizeof L->errmsg, "pipe: %s", strerror(errno)); return -1; }
    fetch *f = xcalloc(1, sizeof *f);
    f->url = o->url;
    f->s3 = o->kind == K_S3 ? L->s3 : NULL;
    f->fd = pfd[1];
    if (pthread_create(&f->th, NULL, fetch_main, f)) {
        close(pfd[0]);
        close(pfd[1]);
        free(f);
        snprintf(L->errmsg, sizeof L->errmsg, "cannot start a fetch thread");
        return -1;
    }
    *fp = fdopen(pfd[0], "rb");
    *fe = f;
    return 0;
}

/* an object named as gzip-compressed: its name (before ?query or #) ends in .gz (the name before
 * it then decides CSV or NDJSON) */
static int obj_is_gz(const obj *o)
{
    size_t n = strcspn(o->uri, "?#");
    return n >= 3 && !strncasecmp(o->uri + n - 3, ".gz", 3);
}

/* Opens object o for reading; *fp set (NULL on failure). Remote objects start a fetch thread
 * (*fe, joined by close_obj even when this fails). An object that starts with gzip's magic byte is
 * read decompressed (*gz): compression is recognised by content, not by name (an S3 archive or a
 * URL does not always say). */
static int open_obj(loader *L, const obj *o, FILE **fp, fetch **fe, c360_gz **gz)
{
    *gz = NULL;
    if (open_raw(L, o, fp, fe)) { *fp = NULL; return -1; }
    if (!c360_gz_sniff(*fp)) return 0;
    *fp = c360_gz_open(*fp, gz);
    if (!*fp) {
        snprintf(L->errmsg, sizeof L->errmsg, "cannot read %s: %s", o->uri, strerror(errno));
        return -1;
    }
    return 0;
}

/* Closes o; for remote objects waits for the transfer and reports its failure (-1). */
static int close_obj(loader *L, const obj *o, FILE *fp, fetch *fe)
{
    int rc = 0;
    if (fp && fp != stdin) fclose(fp);   /* a fetch still writing now gets EPIPE and stops */
    if (fe) {
        pthread_join(fe->th, NULL);
        if (fe->cc != CURLE_OK && !L->errmsg[0]) {
            snprintf(L->errmsg, sizeof L->errmsg, "reading %s: %s%s%s", o->uri, curl_easy_strerror(fe->cc), fe->cerr[0] ? ": " : "",
                     fe->cerr);
            rc = -1;
        } else if (fe->cc != CURLE_OK) rc = -1;
        free(fe);
    }
    return rc;
}

static int obj_is_csv(const loader *L, const obj *o)
{
    if (L->format != FMT_AUTO) return L->format == FMT_CSV;
    const char *u = o->uri;
    size_t n = strcspn(u, "?#");
    if (obj_is_gz(o)) n -= 3;   /* orders.csv.gz */
    return (n >= 4 && (!strncasecmp(u + n - 4, ".csv", 4) || !strncasecmp(u + n - 4, ".tsv", 4)));
}

static void report_bad(loader *L, const obj *o, uint64_t line, int code, const char *msg)
{
    if (L->bad < 20)
        fprintf(stderr, "c360 load: %s line %llu: %s: %s\n", o->uri, (unsigned long long)line, code ? c360_err_name(code) : "unmapped", msg);
    L->bad++;
}

/* one record of object o (raw JSON text or mapped) -> c->evs[c->n]; 1 added */
static int parse_record(loader *L, const obj *o, uint64_t line, const char *rec, size_t len, chunk *c, strbuf *tmp)
{
    char err[512];
    const char *body = rec;
    size_t blen = len;
    /* the record's place, "URI#line": the messageId of an event without one, so that a resumed
     * load deduplicates it like every other event (a mapping's fallback; for Segment events read
     * from stdin, which cannot be resumed, a random one) */
    char place[1100], idbuf[C360_SEGMENT_MID_MAX + 1];
    snprintf(place, sizeof place, "%.1000s#%llu", o->uri, (unsigned long long)line);
    const char *fb = c360_segment_fallback_id(&L->seg, place, idbuf);
    if (L->mapping) {
        sb_reset(tmp);
        int r = c360_mapping_apply(L->mapping, rec, len, fb, tmp, err, sizeof err);
        if (r == 1) { L->filtered++; return 0; }
        if (r < 0) { report_bad(L, o, line, 0, err); return 0; }
        body = tmp->buf;
        blen = tmp->len;
    }
    const char *mid = L->mapping || o->kind != K_STDIN ? fb : NULL;
    int e = c360_segment_parse_record(&L->seg, -1, body, blen, c360_now_ms(), mid, &c->evs[c->n], err, sizeof err);
    if (e) { report_bad(L, o, line, e, err); return 0; }
    c->n++;
    return 1;
}

static void *parser_main(void *arg)
{
    c360_thread_name("c360-parse");
    loader *L = arg;
    char *line = NULL, err[512];
    size_t cap = 0;
    uint64_t base = 0;   /* bytes of the objects before this one */
    strbuf tmp = STRBUF_INIT, row = STRBUF_INIT;
    chunk *c = take_free(L);
    for (int oi = 0; oi < L->nobjs && c; oi++) {
        obj *o = &L->objs[oi];
        if (o->skip) continue;
        FILE *in = NULL;
        fetch *fe = NULL;
        c360_gz *gz = NULL;
        int failed = open_obj(L, o, &in, &fe, &gz) != 0;
        uint64_t bytes = 0, lineno = 0;
        int csv = obj_is_csv(L, o);
        c360_csv cs;
        int cs_open = 0;
        if (!failed && csv) {
            if (c360_csv_open(&cs, in, L->delim, err, sizeof err)) {
                snprintf(L->errmsg, sizeof L->errmsg, "%.300s: %.200s", o->uri, err);
                failed = 1;
            } else cs_open = 1;
        }
        while (!failed) {
            if (c->n == CHUNK_EVENTS) {
                c->bytes = base + bytes;
                give_full(L, c);
                c = take_free(L);
                if (!c) break;
            }
            if (csv) {
                sb_reset(&row);
                uint64_t rl;
                int r = c360_csv_next(&cs, &row, &rl, err, sizeof err);
                bytes = gz ? c360_gz_offset(gz) : cs.bytes;
                if (r == 0) break;
                if (r < 0) { report_bad(L, o, rl, 0, err); continue; }
                parse_record(L, o, rl, row.buf, row.len, c, &tmp);
            } else {
                ssize_t len = getline(&line, &cap, in);
                if (len < 0) break;
                lineno++;
                bytes = gz ? c360_gz_offset(gz) : bytes + (uint64_t)len;
                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
                size_t i = 0;
                while (i < (size_t)len && (line[i] == ' ' || line[i] == '\t')) i++;
                if (i == (size_t)len) continue;   /* blank line */
                parse_record(L, o, lineno, line, (size_t)len, c, &tmp);
            }
        }
        /* the end of the records, or a read error (the disk, corrupt or truncated gzip data):
         * then nothing of the object counts as finished */
        if (!failed && in && ferror(in)) {
            if (!L->errmsg[0])
                snprintf(L->errmsg, sizeof L->errmsg, "read error on %s%s%s", o->uri, gz && *c360_gz_error(gz) ? ": " : "",
                         gz ? c360_gz_error(gz) : "");
            failed = 1;
        }
        if (cs_open) c360_csv_close(&cs);
        if (close_obj(L, o, in, fe)) failed = 1;
        if (!c) break;
        base += o->size ? o->size : bytes;
        c->bytes = base;
        if (failed) {
            /* nothing of an object that could not be read completely counts as finished */
            if (!L->errmsg[0]) snprintf(L->errmsg, sizeof L->errmsg, "cannot read %s", o->uri);
            c->error = 1;
            c->eof = 1;
            give_full(L, c);
            c = NULL;
            break;
        }
        if (stopped(L)) break;
        c->obj_done = oi + 1;
        give_full(L, c);
        c = take_free(L);
    }
    if (c) {
        c->eof = 1;
        c->bytes = base;
        give_full(L, c);
    }
    free(line);
    sb_release(&tmp);
    sb_release(&row);
    return NULL;
}

/* ---- the list of objects, their versions and markers ---- */

static void add_obj(obj **os, int *n, const char *uri, const char *url, int kind, uint64_t size, const char *version)
{
    *os = xrealloc(*os, sizeof **os * (size_t)(*n + 1));
    obj *o = &(*os)[(*n)++];
    memset(o, 0, sizeof *o);
    o->uri = xstrdup(uri);
    o->url = xstrdup(url);
    o->kind = kind;
    o->size = size;
    o->version = xstrdup(version ? version : "");
    /* 'L' + BLAKE2b-128(uri \n version) */
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 16);
    crypto_generichash_update(&st, (const unsigned char *)o->uri, strlen(o->uri));
    crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
    crypto_generichash_update(&st, (const unsigned char *)o->version, strlen(o->version));
    crypto_generichash_final(&st, o->mark + 1, 16);
    o->mark[0] = C360_K_LOAD;
}

static void free_objs(obj *os, int n)
{
    for (int i = 0; i < n; i++) { free(os[i].uri); free(os[i].url); free(os[i].version); }
    free(os);
}

typedef struct { strbuf etag, lastmod; } head_info;

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    head_info *hi = ud;
    size_t len = sz * n;
    strbuf *dst = NULL;
    size_t skip = 0;
    if (len > 5 && !strncasecmp(p, "etag:", 5)) { dst = &hi->etag; skip = 5; }
    else if (len > 14 && !strncasecmp(p, "last-modified:", 14)) { dst = &hi->lastmod; skip = 14; }
    if (dst) {
        const char *a = p + skip, *z = p + len;
        while (a < z && (*a == ' ' || *a == '\t')) a++;
        while (z > a && (z[-1] == '\r' || z[-1] == '\n' || z[-1] == ' ')) z--;
        sb_reset(dst);
        sb_add(dst, a, (size_t)(z - a));
    }
    return len;
}

/* HEAD of a URL: size and a version (ETag, else Last-Modified); failures leave them unknown */
static void url_head(const char *url, uint64_t *size, strbuf *version)
{
    CURL *h = curl_easy_init();
    if (!h) return;
    head_info hi = {STRBUF_INIT, STRBUF_INIT};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hi);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK && curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200) {
        curl_off_t cl = -1;
        if (curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl > 0) *size = (uint64_t)cl;
        sb_add(version, hi.etag.len ? hi.etag.buf : hi.lastmod.buf, hi.etag.len ? hi.etag.len : hi.lastmod.len);
    }
    sb_release(&hi.etag);
    sb_release(&hi.lastmod);
    curl_easy_cleanup(h);
}

static int cmp_s3(const void *a, const void *b)
{
    return strcmp(((const c360_s3_object *)a)->key, ((const c360_s3_object *)b)->key);
}

static int build_objs(const char *src, const c360_s3 *s3, obj **os, int *n, char *err, size_t errlen)
{
    *os = NULL;
    *n = 0;
    if (!strcmp(src, "-")) { add_obj(os, n, "stdin", "-", K_STDIN, 0, NULL); return 0; }
    if (!strncmp(src, "s3://", 5)) {
        strbuf bucket = STRBUF_INIT, prefix = STRBUF_INIT;
        if (c360_s3_parse_uri(src, &bucket, &prefix)) {
            snprintf(err, errlen, "'%s' is not an s3://bucket/prefix URI", src);
            sb_release(&bucket);
            sb_release(&prefix);
            return -1;
        }
        c360_s3_object *so = NULL;
        int ns = 0;
        int rc = c360_s3_list(s3, bucket.buf, prefix.buf, &so, &ns, err, errlen);
        if (rc == 0) {
            qsort(so, (size_t)ns, sizeof *so, cmp_s3);
            for (int i = 0; i < ns; i++) {
                strbuf uri = STRBUF_INIT, url = STRBUF_INIT, ver = STRBUF_INIT;
                sb_addf(&uri, "s3://%s/%s", bucket.buf, so[i].key);
                c360_s3_object_url(s3, bucket.buf, so[i].key, &url);
                sb_addf(&ver, "%llu/%s", (unsigned long long)so[i].size, so[i].etag);
                add_obj(os, n, uri.buf, url.buf, K_S3, so[i].size, ver.buf);
                sb_release(&uri);
                sb_release(&url);
                sb_release(&ver);
            }
            if (ns == 0) { snprintf(err, errlen, "no objects under %s", src); rc = -1; }
        }
        c360_s3_objects_free(so, ns);
        sb_release(&bucket);
        sb_release(&prefix);
        return rc;
    }
    if (!strncmp(src, "http://", 7) || !strncmp(src, "https://", 8)) {
        uint64_t size = 0;
        strbuf ver = STRBUF_INIT;
        url_head(src, &size, &ver);
        add_obj(os, n, src, src, K_URL, size, ver.buf);
        sb_release(&ver);
        return 0;
    }
    struct stat st;
    if (stat(src, &st)) {
        snprintf(err, errlen, "cannot open %s: %s", src, strerror(errno));
        return -1;
    }
    char ver[64];
    snprintf(ver, sizeof ver, "%llu/%lld.%09ld", (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    char *abs = realpath(src, NULL);
    add_obj(os, n, abs ? abs : src, src, K_FILE, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0, S_ISREG(st.st_mode) ? ver : NULL);
    free(abs);
    return 0;
}

/* Removes `--NAME VALUE` / `--NAME=VALUE` from argv; returns VALUE (static argv storage) or NULL. */
static const char *take_opt(int *argc, char **argv, const char *name, int *bad)
{
    size_t nl = strlen(name);
    for (int i = 1; i < *argc; i++) {
        if (strncmp(argv[i], name, nl)) continue;
        const char *v = NULL;
        int used = 0;
        if (argv[i][nl] == 0) {
            if (i + 1 >= *argc) { fprintf(stderr, "c360 load: %s needs a value\n", name); *bad = 1; return NULL; }
            v = argv[i + 1];
            used = 2;
        } else if (argv[i][nl] == '=') {
            v = argv[i] + nl + 1;
            used = 1;
        } else continue;
        memmove(&argv[i], &argv[i + used], sizeof(char *) * (size_t)(*argc - i - used + 1));
        *argc -= used;
        return v;
    }
    return NULL;
}

static int take_flag(int *argc, char **argv, const char *name)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], name)) continue;
        memmove(&argv[i], &argv[i + 1], sizeof(char *) * (size_t)(*argc - i));
        (*argc)--;
        return 1;
    }
    return 0;
}

int c360_cmd_load(int argc, char **argv)
{
    int bad_opt = 0;
    const char *mapping_name = take_opt(&argc, argv, "--mapping", &bad_opt);
    const char *format = take_opt(&argc, argv, "--format", &bad_opt);
    const char *delim = take_opt(&argc, argv, "--delimiter", &bad_opt);
    int force = take_flag(&argc, argv, "--force");
    if (bad_opt) return 2;
    int fmt = FMT_AUTO;
    if (format && !strcmp(format, "csv")) fmt = FMT_CSV;
    else if (format && (!strcmp(format, "ndjson") || !strcmp(format, "json"))) fmt = FMT_NDJSON;
    else if (format) { fprintf(stderr, "c360 load: --format is csv or ndjson\n"); return 2; }
    if (delim && strlen(delim) != 1 && strcmp(delim, "\\t") && strcmp(delim, "tab")) {
        fprintf(stderr, "c360 load: --delimiter is one character (or tab)\n");
        return 2;
    }
    c360_config cfg;
    int r = c360_cli_config(&cfg, &argc, argv, usage);
    if (r) {
        c360_config_release(&cfg);
        return r > 0 ? 0 : 2;
    }
    if (argc != 2) {
        fprintf(stderr, "%s", usage);
        c360_config_release(&cfg);
        return 2;
    }
    const char *src = argv[1];
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    char err[512];
    int rc = 2;
    c360_id_rules rules;
    int rules_ok = 0, started = 0, nobjs = 0, skipped = 0;
    c360_store *store = NULL;
    c360_engine *engine = NULL;
    c360_features *features = NULL;
    c360_mappings *mappings = NULL;
    c360_metrics *metrics = xcalloc(1, sizeof *metrics);
    obj *objs = NULL;
    c360_s3 s3;
    c360_s3_from_env(&s3);
    uint64_t loaded = 0, dups = 0, total = 0;
    loader L = {.format = fmt, .s3 = &s3};
    L.delim = !delim ? 0 : (delim[0] == '\\' || !strcmp(delim, "tab")) ? '\t' : delim[0];
    pthread_t th;
    pthread_mutex_init(&L.mu, NULL);
    pthread_cond_init(&L.cv, NULL);
    chunk *chunks[3] = {0};

    if (mapping_name) {
        if (c360_mappings_load(cfg.config_file, &mappings, err, sizeof err)) {
            fprintf(stderr, "c360 load: %s\n", err);
            goto out;
        }
        L.mapping = c360_mappings_find(mappings, mapping_name);
        if (!L.mapping) {
            fprintf(stderr, "c360 load: no mapping '%s' in %s (see docs/SOURCES.md)\n", mapping_name,
                    cfg.config_file ? cfg.config_file : "the config (give --config FILE)");
            goto out;
        }
    }
    if (build_objs(src, &s3, &objs, &nobjs, err, sizeof err)) {
        fprintf(stderr, "c360 load: %s\n", err);
        goto out;
    }
    L.objs = objs;
    L.nobjs = nobjs;
    if (!L.mapping)
        for (int i = 0; i < nobjs; i++)
            if (obj_is_csv(&L, &objs[i])) {
                fprintf(stderr, "c360 load: %s is CSV; CSV needs --mapping NAME (docs/SOURCES.md)\n", objs[i].uri);
                goto out;
            }
    if (c360_id_rules_init(&rules, &cfg, err, sizeof err)) {
        fprintf(stderr, "c360 load: %s\n", err);
        goto out;
    }
    rules_ok = 1;
    c360_store_opts so = {.block_cache_bytes = cfg.block_cache_bytes, .partitions = cfg.partitions,
                          .dedup_window_ms = cfg.dedup_window_ms, .retention_ms = cfg.retention_ms,
                          .alert_retention_ms = cfg.alert_retention_ms, .warm_cache = cfg.warm_cache != 0,
                          .no_wal = 1};
    if (c360_store_open(&store, cfg.data_dir, &so, err, sizeof err) ||
        c360_features_open(&features, store, &cfg, err, sizeof err) ||
        c360_engine_open(&engine, store, &cfg, &rules, features, metrics, err, sizeof err)) {
        fprintf(stderr, "c360 load: %s\n", err);
        goto out;
    }
    for (int i = 0; i < nobjs; i++) {
        strbuf v = STRBUF_INIT;
        if (!force && objs[i].kind != K_STDIN && c360_store_get(store, objs[i].mark, sizeof objs[i].mark, &v) == 1) {
            objs[i].skip = 1;
            skipped++;
        } else total += objs[i].size;
        sb_release(&v);
    }
    if (skipped) fprintf(stderr, "c360 load: skipping %d of %d objects, loaded completely before (--force loads them again)\n", skipped, nobjs);
    L.seg = (c360_segment_ctx){.rules = &rules, .secret = c360_store_secret(store), .max_event_bytes = cfg.max_event_bytes,
                               .max_batch_bytes = cfg.max_batch_bytes};
    for (int i = 0; i < 3; i++) {
        chunks[i] = xcalloc(1, sizeof *chunks[i]);
        chunks[i]->next = L.free_list;
        L.free_list = chunks[i];
    }
    if (pthread_create(&th, NULL, parser_main, &L) != 0) {
        fprintf(stderr, "c360 load: cannot start the parser thread\n");
        goto out;
    }
    started = 1;
    c360_progress prog;
    c360_progress_init(&prog, "events");
    rc = 0;
    int objs_done = 0;
    int64_t last_checkpoint = c360_monotonic_ns();
    for (;;) {
        chunk *c = take(&L, &L.full_head, &L.full_tail);
        if (!c) break;
        int eof = c->eof;
        if (c->error) {
            fprintf(stderr, "c360 load: %s; that object was not finished (run the load again to resume)\n", L.errmsg);
            rc = 1;
        }
        if ((c->n > 0 || c->obj_done) && rc == 0) {
            int acc = 0, dd = 0;
            int e = c->n ? c360_engine_apply(engine, c->evs, c->n, &acc, &dd) : 0;
            if (e) {
                fprintf(stderr, "c360 load: store error while applying events (%s); run the load again to resume\n", c360_err_name(e));
                c360_engine_abort(engine);
                rc = 1;
            } else {
                loaded += (uint64_t)acc;
                dups += (uint64_t)dd;
                if (c->obj_done) {
                    /* the marker commits atomically with the object's last events */
                    const obj *o = &objs[c->obj_done - 1];
                    strbuf v = STRBUF_INIT;
                    char tb[32];
                    c360_time_format(c360_now_ms(), tb);
                    sb_adds(&v, "{\"uri\":");
                    c360_json_put_cstr(&v, o->uri);
                    sb_addf(&v, ",\"version\":");
                    c360_json_put_cstr(&v, o->version);
                    sb_addf(&v, ",\"finished_at\":\"%s\"}", tb);
                    if (o->kind != K_STDIN) c360_engine_put(engine, o->mark, sizeof o->mark, v.buf, v.len);
                    sb_release(&v);
                    objs_done++;
                }
                if (c->obj_done || c360_engine_pending_bytes(engine) > COMMIT_BYTES) {
                    /* at an object's end, now and then: durable (a flush; see load_checkpoint) */
                    int64_t now = c360_monotonic_ns();
                    int durable = c->obj_done && now - last_checkpoint >= cfg.load_checkpoint_ms * 1000000;
                    if (durable) last_checkpoint = now;
                    if (c360_engine_commit(engine, durable, err, sizeof err)) {
                        fprintf(stderr, "c360 load: commit failed: %s; run the load again to resume\n", err);
                        rc = 1;
                    }
                }
            }
            c360_progress_update(&prog, loaded + dups, c->bytes, total, 0);
        }
        /* its events are released by the parser when it takes the chunk again (take_free) */
        if (rc) {
            pthread_mutex_lock(&L.mu);
            L.stop = 1;
            pthread_cond_broadcast(&L.cv);
            pthread_mutex_unlock(&L.mu);
        }
        give_free(&L, c);
        if (eof || rc) break;
    }
    pthread_join(th, NULL);
    started = 0;
    if (rc == 0 && c360_engine_commit(engine, 1, err, sizeof err)) {
        fprintf(stderr, "c360 load: final commit failed: %s\n", err);
        rc = 1;
    }
    c360_progress_update(&prog, loaded + dups, total, total, 1);
    if (L.bad > 20) fprintf(stderr, "c360 load: ... %llu more bad records\n", (unsigned long long)(L.bad - 20));
    double secs = (double)(c360_monotonic_ns() - prog.start_ns) / 1e9;
    fprintf(stderr, "c360 load: %llu events loaded (%.0f/s), %llu duplicates skipped, %llu records rejected, %llu filtered out; "
                    "%d of %d objects finished, %d skipped; "
                    "%llu profiles created, %llu merges, %llu identifiers not linked (limits)\n",
            (unsigned long long)loaded, secs > 0 ? (double)loaded / secs : 0, (unsigned long long)dups, (unsigned long long)L.bad,
            (unsigned long long)L.filtered, objs_done, nobjs, skipped,
            (unsigned long long)atomic_load(&metrics->profiles_created), (unsigned long long)atomic_load(&metrics->merges),
            (unsigned long long)atomic_load(&metrics->identifiers_dropped));
    if (L.bad && rc == 0) rc = 1;
out:
    if (started) {
        pthread_mutex_lock(&L.mu);
        L.stop = 1;
        pthread_cond_broadcast(&L.cv);
        pthread_mutex_unlock(&L.mu);
        pthread_join(th, NULL);
    }
    for (int i = 0; i < 3; i++) {
        if (!chunks[i]) continue;
        for (int k = 0; k < chunks[i]->n; k++) c360_event_release(&chunks[i]->evs[k]);
        free(chunks[i]);
    }
    pthread_mutex_destroy(&L.mu);
    pthread_cond_destroy(&L.cv);
    c360_engine_free(engine);
    c360_features_free(features);
    c360_store_close(store);
    if (rules_ok) c360_id_rules_release(&rules);
    c360_mappings_free(mappings);
    free_objs(objs, nobjs);
    c360_s3_release(&s3);
    free(metrics);
    c360_config_release(&cfg);
    curl_global_cleanup();
    return rc;
}
