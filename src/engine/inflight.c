/* inflight.c -- a source thread's jobs in the engine: bounded in-flight count, answers collected
 * for the source, and the submit-and-wait of a single job. See inflight.h. */
#include "engine/inflight.h"
#include "core/errors.h"
#include "util/strbuf.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

void c360_inflight_init(c360_inflight *q)
{
    *q = (c360_inflight){0};
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
}

void c360_inflight_destroy(c360_inflight *q)
{
    free(q->done);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

static void on_done(c360_job *job)   /* the writer thread */
{
    c360_inflight *q = job->udata;
    pthread_mutex_lock(&q->mu);
    if (q->ndone == q->cap) q->done = xrealloc(q->done, sizeof *q->done * (size_t)(q->cap = q->cap ? q->cap * 2 : 8));
    q->done[q->ndone++] = job;
    q->n--;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

int c360_inflight_room(c360_inflight *q, int max, int wait_ms)
{
    pthread_mutex_lock(&q->mu);
    if (q->n >= max && wait_ms > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)wait_ms * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (q->n >= max && pthread_cond_timedwait(&q->cv, &q->mu, &until) == 0) {}
    }
    int room = q->n < max;
    pthread_mutex_unlock(&q->mu);
    return room;
}

int c360_inflight_submit(c360_inflight *q, c360_engine *e, c360_job *job)
{
    job->done = on_done;
    job->udata = q;
    pthread_mutex_lock(&q->mu);
    q->n++;
    pthread_mutex_unlock(&q->mu);
    int rc = c360_engine_submit(e, job);
    if (rc) {
        pthread_mutex_lock(&q->mu);
        q->n--;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
    }
    return rc;
}

int c360_inflight_take(c360_inflight *q, c360_job ***out)
{
    pthread_mutex_lock(&q->mu);
    int n = q->ndone;
    *out = n ? q->done : NULL;
    if (n) {
        q->done = NULL;
        q->ndone = q->cap = 0;
    }
    pthread_mutex_unlock(&q->mu);
    return n;
}

void c360_inflight_wait(c360_inflight *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->n > 0) pthread_cond_wait(&q->cv, &q->mu);
    pthread_mutex_unlock(&q->mu);
}

int c360_inflight_idle(c360_inflight *q)
{
    pthread_mutex_lock(&q->mu);
    int idle = q->n == 0 && q->ndone == 0;
    pthread_mutex_unlock(&q->mu);
    return idle;
}

int c360_engine_run(c360_engine *e, c360_job *job, const _Atomic int *stop)
{
    c360_inflight q;
    c360_inflight_init(&q);
    int rc;
    while ((rc = c360_inflight_submit(&q, e, job)) == C360_EBUSY && !(stop && atomic_load(stop))) {
        struct timespec d = {0, 5000000L};
        nanosleep(&d, NULL);
    }
    if (!rc) c360_inflight_wait(&q);
    c360_inflight_destroy(&q);
    return rc;
}
