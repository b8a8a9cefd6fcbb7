/* webhook_sink.c -- the outbound webhook for fraud alerts: a bounded queue filled after commit
 * and one delivery thread that POSTs with libcurl, signs with libsodium and retries. See
 * webhook_sink.h. */
#include "sources/webhook_sink.h"
#include "util/log.h"
#include "util/sched.h"
#include "util/strbuf.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_MAX 10000
#define ATTEMPTS 6

struct c360_whsink {
    char *url, *secret;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    char **q;                      /* ring of JSON bodies */
    int head, n;
    /* writer-thread notes of the group being applied */
    char **pending;
    int npending, cap;
    _Atomic uint64_t delivered, failed, dropped;
};

static size_t discard_body(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* one POST: 1 on a 2xx answer */
static int post(c360_whsink *w, CURL *h, const char *body)
{
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (w->secret && *w->secret) {
        unsigned char mac[crypto_auth_hmacsha256_BYTES];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)w->secret, strlen(w->secret));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
        crypto_auth_hmacsha256_final(&st, mac);
        char line[64 + 2 * sizeof mac];
        int o = snprintf(line, sizeof line, "X-C360-Signature: sha256=");
        sodium_bin2hex(line + o, sizeof line - (size_t)o, mac, sizeof mac);
        hdr = curl_slist_append(hdr, line);
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, w->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK) LOG_WARN("alert webhook not reached", "\"error\":\"%s\"", curl_easy_strerror(rc));
    else if (code < 200 || code > 299) LOG_WARN("alert webhook refused", "\"status\":%ld", code);
    return rc == CURLE_OK && code >= 200 && code <= 299;
}

/* waits up to ms, or until stop; returns stop */
static int nap(c360_whsink *w, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    if (!w->stop) pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    int s = w->stop;
    pthread_mutex_unlock(&w->mu);
    return s;
}

static void *deliver_main(void *arg)
{
    c360_thread_name("c360-alerts");
    c360_whsink *w = arg;
    CURL *h = curl_easy_init();
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->n && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
        if (!w->n) { /* stopping, nothing left */
            pthread_mutex_unlock(&w->mu);
            break;
        }
        char *body = w->q[w->head];
        w->head = (w->head + 1) % QUEUE_MAX;
        w->n--;
        int stopping = w->stop;
        pthread_mutex_unlock(&w->mu);
        int ok = 0;
        for (int a = 0, wait = 500; a < (stopping ? 1 : ATTEMPTS) && !ok; a++, wait *= 2) {
            if (a && nap(w, wait)) break;
            ok = h && post(w, h, body);
        }
        atomic_fetch_add(ok ? &w->delivered : &w->failed, 1);
        free(body);
    }
    if (h) curl_easy_cleanup(h);
    return NULL;
}

int c360_whsink_open(c360_whsink **out, const char *url, const char *secret, char *err, size_t errlen)
{
    *out = NULL;
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
        snprintf(err, errlen, "fraud.webhook_url must be an http:// or https:// URL");
        return -1;
    }
    c360_whsink *w = xcalloc(1, sizeof *w);
    w->url = xstrdup(url);
    w->secret = secret && *secret ? xstrdup(secret) : NULL;
    w->q = xcalloc(QUEUE_MAX, sizeof *w->q);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, deliver_main, w) != 0) {
        snprintf(err, errlen, "alert webhook: cannot start its thread");
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w->q);
        free(w->url);
        free(w->secret);
        free(w);
        return -1;
    }
    *out = w;
    LOG_INFO("alert webhook ready", "\"signed\":%s", w->secret ? "true" : "false");
    return 0;
}

void c360_whsink_close(c360_whsink *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    for (int i = 0; i < w->npending; i++) free(w->pending[i]);
    free(w->pending);
    free(w->q);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->url);
    free(w->secret);
    free(w);
}

void c360_whsink_note(c360_whsink *w, const char *json)
{
    if (!w) return;
    if (w->npending == w->cap) w->pending = xrealloc(w->pending, sizeof *w->pending * (size_t)(w->cap = w->cap ? w->cap * 2 : 16));
    w->pending[w->npending++] = xstrdup(json);
}

void c360_whsink_discard(c360_whsink *w)
{
    if (!w) return;
    for (int i = 0; i < w->npending; i++) free(w->pending[i]);
    w->npending = 0;
}

void c360_whsink_committed(c360_whsink *w)
{
    if (!w || !w->npending) return;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->npending; i++) {
        if (w->n == QUEUE_MAX) { /* full: the oldest goes */
            free(w->q[w->head]);
            w->head = (w->head + 1) % QUEUE_MAX;
            w->n--;
            atomic_fetch_add(&w->dropped, 1);
        }
        w->q[(w->head + w->n) % QUEUE_MAX] = w->pending[i];
        w->n++;
    }
    w->npending = 0;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void c360_whsink_counts(c360_whsink *w, uint64_t *delivered, uint64_t *failed, uint64_t *dropped, uint64_t *queued)
{
    *delivered = *failed = *dropped = *queued = 0;
    if (!w) return;
    *delivered = atomic_load(&w->delivered);
    *failed = atomic_load(&w->failed);
    *dropped = atomic_load(&w->dropped);
    pthread_mutex_lock(&w->mu);
    *queued = (uint64_t)w->n;
    pthread_mutex_unlock(&w->mu);
}
