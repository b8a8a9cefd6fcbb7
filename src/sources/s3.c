/* s3.c -- S3 listing and signed GETs through libcurl (see s3.h). The signature itself is
 * libcurl's (CURLOPT_AWS_SIGV4, libcurl >= 7.75); we add the x-amz-content-sha256 header that S3
 * requires (and libcurl 7.88 does not add), and build the ListObjectsV2 query already in
 * canonical order (sorted names, RFC 3986 escapes) because that libcurl signs the query as given.
 * The ListObjectsV2 answer is small, flat XML; only <Contents>/<Key>/<Size>/<ETag>,
 * <IsTruncated> and <NextContinuationToken> are read from it. */
#include "sources/s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* sha256 of the empty body: every request here is a GET */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static char *env_dup(const char *a, const char *b)
{
    const char *v = getenv(a);
    if ((!v || !*v) && b) v = getenv(b);
    return v && *v ? xstrdup(v) : NULL;
}

void c360_s3_from_env(c360_s3 *s)
{
    memset(s, 0, sizeof *s);
    s->endpoint = env_dup("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
    if (s->endpoint) {
        size_t n = strlen(s->endpoint);
        while (n > 0 && s->endpoint[n - 1] == '/') s->endpoint[--n] = 0;
    }
    s->region = env_dup("AWS_REGION", "AWS_DEFAULT_REGION");
    if (!s->region) s->region = xstrdup("us-east-1");
    s->access_key = env_dup("AWS_ACCESS_KEY_ID", NULL);
    s->secret_key = env_dup("AWS_SECRET_ACCESS_KEY", NULL);
    s->session_token = env_dup("AWS_SESSION_TOKEN", NULL);
}

void c360_s3_release(c360_s3 *s)
{
    free(s->endpoint);
    free(s->region);
    free(s->access_key);
    free(s->secret_key);
    free(s->session_token);
    memset(s, 0, sizeof *s);
}

int c360_s3_parse_uri(const char *uri, strbuf *bucket, strbuf *prefix)
{
    if (strncmp(uri, "s3://", 5)) return -1;
    const char *b = uri + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (!bl) return -1;
    sb_add(bucket, b, bl);
    if (slash) sb_adds(prefix, slash + 1);
    return 0;
}

/* RFC 3986 escaping; '/' kept when keep_slash */
static void escape(strbuf *out, const char *s, int keep_slash)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
            *p == '.' || *p == '~' || (keep_slash && *p == '/'))
            sb_addc(out, (char)*p);
        else sb_addf(out, "%%%02X", *p);
    }
}

static void bucket_base(const c360_s3 *s, const char *bucket, strbuf *url)
{
    if (s->endpoint) {
        sb_adds(url, s->endpoint);
        sb_addc(url, '/');
        escape(url, bucket, 0);
    } else {
        sb_addf(url, "https://%s.s3.%s.amazonaws.com", bucket, s->region);
    }
}

void c360_s3_object_url(const c360_s3 *s, const char *bucket, const char *key, strbuf *url)
{
    bucket_base(s, bucket, url);
    sb_addc(url, '/');
    escape(url, key, 1);
}

void c360_s3_sign(const c360_s3 *s, CURL *h, struct curl_slist **hdrs)
{
    *hdrs = curl_slist_append(*hdrs, "x-amz-content-sha256: " EMPTY_SHA256);
    if (!s->access_key || !s->secret_key) return;
    char prov[128];
    snprintf(prov, sizeof prov, "aws:amz:%s:s3", s->region);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, prov);
    curl_easy_setopt(h, CURLOPT_USERNAME, s->access_key);
    curl_easy_setopt(h, CURLOPT_PASSWORD, s->secret_key);
    if (s->session_token) {
        strbuf t = STRBUF_INIT;
        sb_addf(&t, "x-amz-security-token: %s", s->session_token);
        *hdrs = curl_slist_append(*hdrs, t.buf);
        sb_release(&t);
    }
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    strbuf *b = ud;
    if (b->len > (64u << 20)) return 0;   /* a listing page is never this big */
    sb_add(b, p, sz * n);
    return sz * n;
}

/* text of the first <tag>...</tag> in [s, e), entity-decoded; NULL if absent */
static const char *xml_tag(const char *s, const char *e, const char *tag, strbuf *out)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = memmem(s, (size_t)(e - s), open, strlen(open));
    if (!a) return NULL;
    a += strlen(open);
    const char *z = memmem(a, (size_t)(e - a), close, strlen(close));
    if (!z) return NULL;
    sb_reset(out);
    for (const char *p = a; p < z; p++) {
        if (*p != '&') { sb_addc(out, *p); continue; }
        const char *semi = memchr(p, ';', (size_t)(z - p));
        if (!semi) { sb_addc(out, *p); continue; }
        size_t n = (size_t)(semi - p - 1);
        const char *ent = p + 1;
        if (n == 3 && !memcmp(ent, "amp", 3)) sb_addc(out, '&');
        else if (n == 2 && !memcmp(ent, "lt", 2)) sb_addc(out, '<');
        else if (n == 2 && !memcmp(ent, "gt", 2)) sb_addc(out, '>');
        else if (n == 4 && !memcmp(ent, "quot", 4)) sb_addc(out, '"');
        else if (n == 4 && !memcmp(ent, "apos", 4)) sb_addc(out, '\'');
        else if (n >= 2 && ent[0] == '#') {
            unsigned long cp = ent[1] == 'x' ? strtoul(ent + 2, NULL, 16) : strtoul(ent + 1, NULL, 10);
            if (cp < 0x80) sb_addc(out, (char)cp);
            else if (cp < 0x800) { sb_addc(out, (char)(0xC0 | (cp >> 6))); sb_addc(out, (char)(0x80 | (cp & 0x3F))); }
            else if (cp < 0x10000) { sb_addc(out, (char)(0xE0 | (cp >> 12))); sb_addc(out, (char)(0x80 | ((cp >> 6) & 0x3F))); sb_addc(out, (char)(0x80 | (cp & 0x3F))); }
            else { sb_addc(out, (char)(0xF0 | (cp >> 18))); sb_addc(out, (char)(0x80 | ((cp >> 12) & 0x3F))); sb_addc(out, (char)(0x80 | ((cp >> 6) & 0x3F))); sb_addc(out, (char)(0x80 | (cp & 0x3F))); }
        } else { sb_add(out, p, n + 2); }
        p = semi;
    }
    return z + strlen(close);
}

int c360_s3_list(const c360_s3 *s, const char *bucket, const char *prefix, c360_s3_object **objs, int *n, char *err, size_t errlen)
{
    *objs = NULL;
    *n = 0;
    strbuf token = STRBUF_INIT, body = STRBUF_INIT, url = STRBUF_INIT, v = STRBUF_INIT;
    int rc = -1, cap = 0;
    CURL *h = curl_easy_init();
    if (!h) { snprintf(err, errlen, "cannot initialise libcurl"); goto out; }
    for (;;) {
        sb_reset(&url);
        sb_reset(&body);
        bucket_base(s, bucket, &url);
        sb_adds(&url, "/?");
        if (token.len) { sb_adds(&url, "continuation-token="); escape(&url, token.buf, 0); sb_addc(&url, '&'); }
        sb_adds(&url, "list-type=2&prefix=");
        escape(&url, prefix, 0);
        curl_easy_reset(h);
        struct curl_slist *hdrs = NULL;
        c360_s3_sign(s, h, &hdrs);
        curl_easy_setopt(h, CURLOPT_URL, url.buf);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
        CURLcode cc = curl_easy_perform(h);
        curl_slist_free_all(hdrs);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (cc != CURLE_OK) { snprintf(err, errlen, "listing s3://%s/%s: %s", bucket, prefix, curl_easy_strerror(cc)); goto out; }
        if (status != 200) {
            const char *e = body.buf + body.len;
            const char *code = xml_tag(body.buf, e, "Code", &v) ? v.buf : "";
            snprintf(err, errlen, "listing s3://%s/%s: HTTP %ld %s", bucket, prefix, status, code);
            goto out;
        }
        const char *p = body.buf, *e = body.buf + body.len;
        for (;;) {
            const char *a = memmem(p, (size_t)(e - p), "<Contents>", 10);
            if (!a) break;
            const char *z = memmem(a, (size_t)(e - a), "</Contents>", 11);
            if (!z) break;
            if (xml_tag(a, z, "Key", &v) && v.len && v.buf[v.len - 1] != '/') {
                if (*n == cap) { cap = cap ? cap * 2 : 64; *objs = xrealloc(*objs, sizeof **objs * (size_t)cap); }
                c360_s3_object *o = &(*objs)[(*n)++];
                o->key = xstrdup(v.buf);
                o->size = xml_tag(a, z, "Size", &v) ? strtoull(v.buf, NULL, 10) : 0;
                o->etag = xml_tag(a, z, "ETag", &v) ? xstrdup(v.buf) : xstrdup("");
            }
            p = z + 11;
        }
        int more = xml_tag(body.buf, e, "IsTruncated", &v) && !strcmp(v.buf, "true");
        if (!more) break;
        if (!xml_tag(body.buf, e, "NextContinuationToken", &v) || !v.len) {
            snprintf(err, errlen, "listing s3://%s/%s: truncated answer without a continuation token", bucket, prefix);
            goto out;
        }
        sb_reset(&token);
        sb_add(&token, v.buf, v.len);
    }
    rc = 0;
out:
    if (h) curl_easy_cleanup(h);
    if (rc) { c360_s3_objects_free(*objs, *n); *objs = NULL; *n = 0; }
    sb_release(&token);
    sb_release(&body);
    sb_release(&url);
    sb_release(&v);
    return rc;
}

void c360_s3_objects_free(c360_s3_object *objs, int n)
{
    for (int i = 0; i < n; i++) { free(objs[i].key); free(objs[i].etag); }
    free(objs);
}
