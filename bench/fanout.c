/* fanout.c -- the ingest driver of pgload and redisload; see fanout.h. */
#define _GNU_SOURCE
#include "fanout.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QDEPTH 4
typedef struct {
    const fanout_ops *ops;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fanout_batch *q[QDEPTH];
    int head, count, done;
    uint64_t stored, batches;
    int64_t *lat;
    size_t nlat, caplat;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    void *conn = w->ops->connect(w->ops->arg);
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->count && !w->done) pthread_cond_wait(&w->cv, &w->mu);
        if (!w->count && w->done) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        fanout_batch *b = w->q[w->head];
        pthread_mutex_unlock(&w->mu);
        int64_t t0 = now_ns();
        w->stored += w->ops->run(conn, b);
        w->batches++;
        if (w->nlat == w->caplat) w->lat = xrealloc(w->lat, sizeof *w->lat * (w->caplat = w->caplat ? w->caplat * 2 : 4096));
        w->lat[w->nlat++] = now_ns() - t0;
        free(b->data.b);
        free(b);
        pthread_mutex_lock(&w->mu);
        w->head = (w->head + 1) % QDEPTH;
        w->count--;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    w->ops->disconnect(conn);
    return NULL;
}

static void push(worker *w, fanout_batch *b)
{
    pthread_mutex_lock(&w->mu);
    while (w->count == QDEPTH) pthread_cond_wait(&w->cv, &w->mu);
    w->q[(w->head + w->count) % QDEPTH] = b;
    w->count++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int fanout_ingest(const fanout_ops *ops, const char *file, int bsize, int k, double max_seconds)
{
    FILE *f = fopen(file, "r");
    if (!f) die("cannot open the NDJSON file");
    worker *ws = calloc((size_t)k, sizeof *ws);
    fanout_batch **cur = calloc((size_t)k, sizeof *cur);
    if (!ws || !cur) die("out of memory");
    /* connect everyone before the clock starts */
    for (int i = 0; i < k; i++) {
        ws[i].ops = ops;
        pthread_mutex_init(&ws[i].mu, NULL);
        pthread_cond_init(&ws[i].cv, NULL);
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i])) die("pthread_create");
    }
    struct timespec settle = {ops->settle_ms / 1000, (long)(ops->settle_ms % 1000) * 1000000L};
    nanosleep(&settle, NULL);
    int64_t t0 = now_ns();
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t lines = 0;
    int64_t stop_at = max_seconds > 0 ? t0 + (int64_t)(max_seconds * 1e9) : INT64_MAX;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if ((lines & 255) == 0 && now_ns() >= stop_at) break;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        if (!len) continue;
        int p = (int)(route_hash(line, (size_t)len) % (uint64_t)k);
        if (!cur[p]) cur[p] = calloc(1, sizeof **cur);
        if (!cur[p]) die("out of memory");
        ops->add(ops->arg, cur[p], lines, line, (size_t)len);
        cur[p]->n++;
        lines++;
        if (cur[p]->n >= bsize) {
            push(&ws[p], cur[p]);
            cur[p] = NULL;
        }
    }
    for (int p = 0; p < k; p++) {
        if (cur[p]) push(&ws[p], cur[p]);
        pthread_mutex_lock(&ws[p].mu);
        ws[p].done = 1;
        pthread_cond_broadcast(&ws[p].cv);
        pthread_mutex_unlock(&ws[p].mu);
    }
    uint64_t stored = 0, batches = 0;
    int64_t *lat = NULL;
    size_t nlat = 0;
    for (int p = 0; p < k; p++) {
        pthread_join(ws[p].th, NULL);
        stored += ws[p].stored;
        batches += ws[p].batches;
        lat = xrealloc(lat, sizeof *lat * (nlat + ws[p].nlat + 1));
        memcpy(lat + nlat, ws[p].lat, sizeof *lat * ws[p].nlat);
        nlat += ws[p].nlat;
        free(ws[p].lat);
        pthread_mutex_destroy(&ws[p].mu);
        pthread_cond_destroy(&ws[p].cv);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    qsort(lat, nlat, sizeof *lat, cmp_i64);
    fprintf(stderr, "%s ingest: %llu lines, %llu events stored in %llu %s in %.2f s = %.0f events/s; "
                    "%s p50 %.1f ms p99 %.1f ms (batch %d, %d connections)\n",
            ops->tool, (unsigned long long)lines, (unsigned long long)stored, (unsigned long long)batches, ops->units, secs,
            (double)stored / secs, ops->unit, (double)pct(lat, nlat, 50) / 1e6, (double)pct(lat, nlat, 99) / 1e6, bsize, k);
    printf("RESULT mode=ingest lines=%llu events=%llu batches=%llu secs=%.3f events_per_s=%.0f %s_p50_us=%.1f %s_p99_us=%.1f\n",
           (unsigned long long)lines, (unsigned long long)stored, (unsigned long long)batches, secs, (double)stored / secs,
           ops->key, (double)pct(lat, nlat, 50) / 1e3, ops->key, (double)pct(lat, nlat, 99) / 1e3);
    free(lat);
    free(ws);
    free(cur);
    free(line);
    fclose(f);
    return 0;
}
