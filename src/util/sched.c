/* sched.c -- thread CPU priority (see sched.h). Linux gives every thread its own nice value. */
#include "util/sched.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int c360_thread_nice(int nice)
{
    if (nice < 0) nice = 0;
    if (nice > 19) nice = 19;
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}
