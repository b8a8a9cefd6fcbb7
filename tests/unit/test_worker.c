/* test_worker.c - unit tests for the HTTP loops' helper thread (src/serving/worker.c) and the
 * thread priority helper (src/util/sched.c).
 * Covers: tasks run in the order they were pushed, on another thread; the byte bound answers
 * C360_EBUSY without queueing (while one task is always accepted into an empty queue); stop runs
 * what is queued before joining, and a push after stop answers C360_EUNAVAIL; the worker's thread
 * takes the nice value it was given. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/errors.h"
#include "serving/worker.h"
#include "util/sched.h"

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int order[64], n;
    int gate_open;           /* the first task waits for this */
    pthread_t seen_thread;
    int seen_nice;
} box;

typedef struct { box *b; int id; } item;

static void record(void *arg)
{
    item *it = arg;
    box *b = it->b;
    pthread_mutex_lock(&b->mu);
    while (!b->gate_open) pthread_cond_wait(&b->cv, &b->mu);
    b->order[b->n++] = it->id;
    b->seen_thread = pthread_self();
    errno = 0;
    b->seen_nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    pthread_mutex_unlock(&b->mu);
}

static void open_gate(box *b)
{
    pthread_mutex_lock(&b->mu);
    b->gate_open = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void test_order_bound_and_stop(void **state)
{
    (void)state;
    box b = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    item its[10];
    c360_worker *w;
    assert_int_equal(c360_worker_start(&w, 7, 1000), 0);
    /* the first task blocks on the gate, so the rest stay queued */
    for (int i = 0; i < 10; i++) its[i] = (item){&b, i};
    assert_int_equal(c360_worker_push(w, record, &its[0], 10), 0);
    /* a task's bytes count from its push until it returns, taken by the worker or not */
    for (int i = 1; i < 4; i++) assert_int_equal(c360_worker_push(w, record, &its[i], 300), 0);
    /* 10 + 900 queued: 300 more is over the bound of 1000 */
    assert_int_equal(c360_worker_push(w, record, &its[4], 300), C360_EBUSY);
    assert_int_equal(c360_worker_push(w, record, &its[4], 90), 0);
    open_gate(&b);
    c360_worker_stop(w);   /* runs everything queued */
    assert_int_equal(b.n, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(b.order[i], i);
    assert_false(pthread_equal(b.seen_thread, pthread_self()));
    assert_int_equal(b.seen_nice, 7);
}

static void test_big_task_into_empty_queue(void **state)
{
    (void)state;
    box b = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .gate_open = 1};
    item it = {&b, 42};
    c360_worker *w;
    assert_int_equal(c360_worker_start(&w, 0, 100), 0);
    /* larger than the bound, but nothing is queued: accepted (a single big body is never refused) */
    assert_int_equal(c360_worker_push(w, record, &it, 5000), 0);
    c360_worker_stop(w);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.order[0], 42);
}

static void *try_nice(void *arg)
{
    int *out = arg;
    out[0] = c360_thread_nice(25);   /* clamped to 19 */
    errno = 0;
    out[1] = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    return NULL;
}

static void test_thread_nice_is_per_thread(void **state)
{
    (void)state;
    int before = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    int r[2];
    pthread_t th;
    pthread_create(&th, NULL, try_nice, r);
    pthread_join(th, NULL);
    assert_int_equal(r[0], 0);
    assert_int_equal(r[1], 19);
    assert_int_equal(getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_bound_and_stop),
        cmocka_unit_test(test_big_task_into_empty_queue),
        cmocka_unit_test(test_thread_nice_is_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
