/* The kernel-splitting pool (runtime/bundle/cpu_pool.c) on its own: every share of every job runs
 * exactly once, whichever thread claims it, with the same share count for every call of a job;
 * jobs back to back (workers spinning, asleep, or late into the next job), and several callers at
 * once (the busy pool's callers run all their shares themselves). */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "runtime/bundle/cpu_pool.h"

#define MAX_SHARES 64

typedef struct job {
  atomic_int ran[MAX_SHARES]; /* per share: calls */
  atomic_int shares_seen;     /* the n of the last call; -1 once two calls disagreed */
  int sleep_every;            /* > 0: every such share sleeps 50 us (a worker arrives late) */
} job;

static void kernel(void *const *args, int32_t share, int32_t shares) {
  job *j = args[0];
  if (share >= 0 && share < MAX_SHARES) atomic_fetch_add(&j->ran[share], 1);
  int prev = atomic_exchange(&j->shares_seen, shares);
  if (prev != 0 && prev != shares) atomic_store(&j->shares_seen, -1);
  if (j->sleep_every > 0 && share % j->sleep_every == 0)
    nanosleep(&(struct timespec){0, 50 * 1000}, NULL);
}

/* Runs one job through p and checks that each of its shares ran once. */
static void run_checked(mt_cpu_pool *p, int sleep_every) {
  static _Thread_local job j;
  memset(&j, 0, sizeof j);
  j.sleep_every = sleep_every;
  void *args[] = {&j};
  mt_cpu_pool_run(p, kernel, args);
  int shares = atomic_load(&j.shares_seen);
  int n = mt_cpu_pool_threads(p);
  assert_int_equal(shares, n == 1 ? 1 : 2 * n);
  for (int s = 0; s < MAX_SHARES; s++) assert_int_equal(atomic_load(&j.ran[s]), s < shares);
}

static void test_every_share_once(void **state) {
  (void)state;
  for (int n = 1; n <= 4; n++) {
    mt_cpu_pool *p = NULL;
    assert_null(mt_cpu_pool_create(n, &p));
    for (int r = 0; r < 3000; r++) run_checked(p, 0);
    for (int r = 0; r < 200; r++) run_checked(p, 1 + r % 3);
    /* gaps long enough for the workers to fall asleep between jobs */
    for (int r = 0; r < 20; r++) {
      nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
      run_checked(p, 0);
    }
    mt_cpu_pool_destroy(p);
  }
}

static void *caller(void *arg) {
  for (int r = 0; r < 1000; r++) run_checked(arg, r % 50 == 0 ? 2 : 0);
  return NULL;
}

static void test_callers_at_once(void **state) {
  (void)state;
  mt_cpu_pool *p = NULL;
  assert_null(mt_cpu_pool_create(2, &p));
  pthread_t t[4];
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, caller, p), 0);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  mt_cpu_pool_destroy(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_share_once),
      cmocka_unit_test(test_callers_at_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
