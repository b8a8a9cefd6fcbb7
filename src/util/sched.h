/* sched.h -- thread CPU priority and names. c360 serves reads on its HTTP loops while other
 * threads apply ingest; on a machine whose CPUs are all busy, the ingest side runs at a higher
 * nice value so that a read does not wait for a CPU behind a batch of writes (setting
 * `ingest_nice`). */
#ifndef C360_SCHED_H
#define C360_SCHED_H

/* Sets the calling thread's nice value (0..19; raising it needs no privilege). 0 on success. */
int c360_thread_nice(int nice);

/* Names the calling thread (cut to 15 characters), as `top -H`, `ps -L` and perf show it. */
void c360_thread_name(const char *name);

#endif
