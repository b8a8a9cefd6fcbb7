/* inflight.h -- how a source's own thread hands jobs to the engine (engine.h) and learns what
 * became of them, so that the Kafka and PostgreSQL sources (and the maintenance sweep) share one
 * implementation:
 *  - c360_inflight: the jobs handed over and not yet answered, at most as many as the source
 *    allows, and the answered ones collected for the source's thread (the writer's done callback
 *    only links a job and wakes the source: it never blocks);
 *  - c360_engine_run: one job submitted and waited for (a CDC erasure between batches, the sweep
 *    of inactive customers).
 * Threads: one source thread per c360_inflight; the callbacks run on the writer. */
#ifndef C360_INFLIGHT_H
#define C360_INFLIGHT_H

#include <pthread.h>
#include "engine/engine.h"

typedef struct c360_inflight {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;                    /* handed over, not answered */
    c360_job **done;          /* answered, not yet taken */
    int ndone, cap;
} c360_inflight;

void c360_inflight_init(c360_inflight *q);
void c360_inflight_destroy(c360_inflight *q);
/* 1 if fewer than `max` jobs are in flight, after waiting up to wait_ms for an answer */
int c360_inflight_room(c360_inflight *q, int max, int wait_ms);
/* Hands the job to the engine; its done and udata fields are the tracker's. 0, or the error of
 * c360_engine_submit (C360_EBUSY: the writer's queue is full; the job is not in flight). */
int c360_inflight_submit(c360_inflight *q, c360_engine *e, c360_job *job);
/* The jobs answered since the last call, in answer order (*out: an array the caller frees, NULL
 * if none); returns how many. */
int c360_inflight_take(c360_inflight *q, c360_job ***out);
/* Waits until no job is in flight (the answered ones stay to be taken). */
void c360_inflight_wait(c360_inflight *q);
/* 1 if no job is in flight and none is answered but not taken */
int c360_inflight_idle(c360_inflight *q);

/* Submits the job (while the writer's queue is full, again every 5 ms unless *stop is set) and
 * waits for its answer. 0 (the outcome is in job->status), or the submit error. The job's done
 * and udata fields are taken. */
int c360_engine_run(c360_engine *e, c360_job *job, const _Atomic int *stop);

#endif
