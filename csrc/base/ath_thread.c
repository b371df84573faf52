/* ath_thread.c — pthread wrappers (see ath_thread.h). */
#include "ath_thread.h"
#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

int ath_mutex_init(ath_mutex *m) { return pthread_mutex_init(m, NULL); }
void ath_mutex_destroy(ath_mutex *m) { pthread_mutex_destroy(m); }

int ath_cond_init(ath_cond *c) {
  pthread_condattr_t attr;
  if (pthread_condattr_init(&attr) != 0) return -1;
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(c, &attr);
  pthread_condattr_destroy(&attr);
  return rc;
}

void ath_cond_destroy(ath_cond *c) { pthread_cond_destroy(c); }

double ath_now_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ath_cond_wait_until(ath_cond *c, ath_mutex *m, double deadline) {
  struct timespec ts;
  double whole = floor(deadline);
  ts.tv_sec = (time_t)whole;
  ts.tv_nsec = (long)((deadline - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
  int rc = pthread_cond_timedwait(c, m, &ts);
  return rc == ETIMEDOUT;
}

long ath_process_id_cached;              /* atomic; refreshed in a forked child */
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void refresh_pid(void) { __atomic_store_n(&ath_process_id_cached, (long)getpid(), __ATOMIC_RELAXED); }
static void init_pid(void) {
  refresh_pid();
  pthread_atfork(NULL, NULL, refresh_pid);
}

long ath_process_id(void) {
  pthread_once(&pid_once, init_pid);
  return __atomic_load_n(&ath_process_id_cached, __ATOMIC_RELAXED);
}
