/* The kernel-splitting pool (cpu_pool.h): a generation counter announces a job, each worker runs
 * its share once per generation, the last one to finish wakes the caller. A try-lock admits one
 * caller at a time; the others run their kernel's shares themselves. */
#include "runtime/bundle/cpu_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/bundle/cpu_schedule.h" /* MT_CPU_THREAD_STACK */

#define MAX_THREADS 64

typedef struct worker_arg {
  struct mt_cpu_pool *pool;
  int index; /* 1 .. n - 1 */
} worker_arg;

struct mt_cpu_pool {
  int n;                /* threads per kernel, the caller included */
  pthread_mutex_t user; /* held by the caller whose kernel the workers run */
  pthread_mutex_t mu;   /* guards what follows */
  pthread_cond_t start; /* generation changed or shutdown */
  pthread_cond_t done;  /* pending reached 0 */
  uint64_t generation;
  int pending; /* workers still running the current job */
  bool shutdown;
  mt_cpu_kernel_fn fn;
  void *const *args;
  pthread_t *threads;
  worker_arg *wargs;
  int started;
};

static void *worker(void *arg) {
  worker_arg *wa = arg;
  mt_cpu_pool *p = wa->pool;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->shutdown && p->generation == seen) pthread_cond_wait(&p->start, &p->mu);
    if (p->shutdown) break;
    seen = p->generation;
    mt_cpu_kernel_fn fn = p->fn;
    void *const *args = p->args;
    pthread_mutex_unlock(&p->mu);
    fn(args, wa->index, p->n);
    pthread_mutex_lock(&p->mu);
    if (--p->pending == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

mt_status *mt_cpu_pool_create(int n_threads, mt_cpu_pool **out) {
  *out = NULL;
  mt_cpu_pool *p = calloc(1, sizeof *p);
  if (!p) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  p->n = n_threads < 1 ? 1 : n_threads > MAX_THREADS ? MAX_THREADS : n_threads;
  pthread_mutex_init(&p->user, NULL);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->start, NULL);
  pthread_cond_init(&p->done, NULL);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, MT_CPU_THREAD_STACK);
  if (p->n > 1) {
    p->threads = calloc((size_t)p->n, sizeof *p->threads);
    p->wargs = calloc((size_t)p->n, sizeof *p->wargs);
    if (!p->threads || !p->wargs) {
      pthread_attr_destroy(&attr);
      mt_cpu_pool_destroy(p);
      return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for %d kernel threads", p->n);
    }
    for (; p->started < p->n - 1; p->started++) {
      p->wargs[p->started] = (worker_arg){p, p->started + 1};
      if (pthread_create(&p->threads[p->started], &attr, worker, &p->wargs[p->started]) != 0) {
        pthread_attr_destroy(&attr);
        mt_cpu_pool_destroy(p);
        return MT_ERR(RESOURCE_EXHAUSTED, "cannot start CPU kernel thread %d of %d", p->started + 1,
                      p->n - 1);
      }
    }
  }
  pthread_attr_destroy(&attr);
  *out = p;
  return NULL;
}

void mt_cpu_pool_destroy(mt_cpu_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->shutdown = true;
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->started; i++) pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->start);
  pthread_mutex_destroy(&p->mu);
  pthread_mutex_destroy(&p->user);
  free(p->threads);
  free(p->wargs);
  free(p);
}

int mt_cpu_pool_threads(const mt_cpu_pool *p) { return p ? p->n : 1; }

void mt_cpu_pool_run(mt_cpu_pool *p, mt_cpu_kernel_fn fn, void *const *args) {
  int n = mt_cpu_pool_threads(p);
  if (n == 1 || pthread_mutex_trylock(&p->user) != 0) {
    for (int t = 0; t < n; t++) fn(args, t, n); /* alone, or the pool is busy */
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->args = args;
  p->pending = n - 1;
  p->generation++;
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  fn(args, 0, n);
  pthread_mutex_lock(&p->mu);
  while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
  pthread_mutex_unlock(&p->user);
}
