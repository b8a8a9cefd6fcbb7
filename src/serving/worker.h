/* worker.h -- a thread that runs work handed over by the HTTP loops, so that the loops stay free
 * for reads: ingest bodies are parsed here, not on the loop that received them (a profile read
 * then never waits behind the parsing of a large batch on its loop). Tasks run in order; the
 * queue is bounded by the bytes its tasks declare. */
#ifndef C360_WORKER_H
#define C360_WORKER_H

#include <stddef.h>

typedef struct c360_worker c360_worker;
typedef void (*c360_task_fn)(void *arg);

/* nice: the thread's nice value (0 = as the loops); max_bytes: queue bound */
int c360_worker_start(c360_worker **out, int nice, size_t max_bytes);
/* Queues fn(arg) accounted as `bytes`; 0, or C360_EBUSY (queue full) / C360_EUNAVAIL
 * (stopping) with nothing queued. */
int c360_worker_push(c360_worker *w, c360_task_fn fn, void *arg, size_t bytes);
/* Runs what is queued, then joins and frees the thread. */
void c360_worker_stop(c360_worker *w);

#endif
