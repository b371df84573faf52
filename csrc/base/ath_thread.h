/* ath_thread.h — pthread wrappers: mutex, condition variable on the
 * monotonic clock with a timed wait, and a monotonic time source.
 * Must not include: lua.h, driver headers. */
#ifndef ATH_THREAD_H
#define ATH_THREAD_H
#include <pthread.h>
#include "ath_alloc.h"

typedef pthread_mutex_t ath_mutex;
typedef pthread_cond_t ath_cond;

ATH_HIDDEN int ath_mutex_init(ath_mutex *m);
ATH_HIDDEN void ath_mutex_destroy(ath_mutex *m);
#define ath_mutex_lock(m)   pthread_mutex_lock(m)
#define ath_mutex_unlock(m) pthread_mutex_unlock(m)
/* A condition variable whose timed waits use CLOCK_MONOTONIC. */
ATH_HIDDEN int ath_cond_init(ath_cond *c);
ATH_HIDDEN void ath_cond_destroy(ath_cond *c);
#define ath_cond_signal(c)    pthread_cond_signal(c)
#define ath_cond_broadcast(c) pthread_cond_broadcast(c)
#define ath_cond_wait(c, m)   pthread_cond_wait((c), (m))
/* Waits until signalled or until the monotonic time `deadline` (seconds, as
 * from ath_now_monotonic). Returns 1 when the deadline passed, else 0. */
ATH_HIDDEN int ath_cond_wait_until(ath_cond *c, ath_mutex *m, double deadline);
/* Seconds on the monotonic clock. */
ATH_HIDDEN double ath_now_monotonic(void);
/* This process's id without a system call per read (glibc stopped caching
 * getpid): a pthread_atfork child handler refreshes it, so it is right after
 * fork() in the child. A raw clone/syscall fork bypasses the handler. */
ATH_HIDDEN long ath_process_id(void);
/* What ath_process_id returns, for an inline read where it has been called
 * once already (the refresh after fork is registered then). */
ATH_HIDDEN extern long ath_process_id_cached;

#endif
