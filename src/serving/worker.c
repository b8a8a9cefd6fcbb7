/* worker.c -- the HTTP loops' helper thread (see worker.h): a mutex-protected FIFO of tasks. */
#include "serving/worker.h"
#include "core/errors.h"
#include "util/sched.h"
#include "util/strbuf.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct task {
    c360_task_fn fn;
    void *arg;
    size_t bytes;
    struct task *next;
} task;

struct c360_worker {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    task *head, *tail;
    size_t bytes, max_bytes;
    int nice, stopping;
};

static void *worker_main(void *arg)
{
    c360_thread_name("c360-ingest");
    c360_worker *w = arg;
    if (w->nice > 0) c360_thread_nice(w->nice);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stopping) pthread_cond_wait(&w->cv, &w->mu);
        task *t = w->head;
        if (!t) break;   /* stopping, and nothing left */
        w->head = t->next;
        if (!w->head) w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        t->fn(t->arg);
        size_t done = t->bytes;
        free(t);   /* outside the lock: the loops take it to push, and this thread runs at low priority */
        pthread_mutex_lock(&w->mu);
        w->bytes -= done;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int c360_worker_start(c360_worker **out, int nice, size_t max_bytes)
{
    c360_worker *w = xcalloc(1, sizeof *w);
    w->nice = nice;
    w->max_bytes = max_bytes;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

int c360_worker_push(c360_worker *w, c360_task_fn fn, void *arg, size_t bytes)
{
    pthread_mutex_lock(&w->mu);
    int rc = w->stopping ? C360_EUNAVAIL : (w->head && w->bytes + bytes > w->max_bytes) ? C360_EBUSY : 0;
    if (rc == 0) {
        task *t = xcalloc(1, sizeof *t);
        t->fn = fn;
        t->arg = arg;
        t->bytes = bytes;
        if (w->tail) w->tail->next = t;
        else w->head = t;
        w->tail = t;
        w->bytes += bytes;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void c360_worker_stop(c360_worker *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
