/* sched.c -- thread CPU priority and names (see sched.h). Linux gives every thread its own nice
 * value and its own name. */
#include "util/sched.h"

#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int c360_thread_nice(int nice)
{
    if (nice < 0) nice = 0;
    if (nice > 19) nice = 19;
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

void c360_thread_name(const char *name)
{
    char n[16];   /* the kernel keeps 15 characters */
    size_t l = strlen(name);
    if (l > sizeof n - 1) l = sizeof n - 1;
    memcpy(n, name, l);
    n[l] = 0;
    pthread_setname_np(pthread_self(), n);
}
