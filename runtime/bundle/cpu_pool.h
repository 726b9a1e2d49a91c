/* The threads that split one generated CPU kernel (cpu_abi.h): kernel(args, t, n) for t = 0 ..
 * n - 1 at once, the caller taking t = 0, returning when all n calls have. The schedule's group
 * threads (cpu_schedule.h) share one pool: a kernel that finds it busy makes the n calls itself,
 * one after another, which computes the same bytes (each call owns its part of the outputs). */
#ifndef MT_RUNTIME_BUNDLE_CPU_POOL_H
#define MT_RUNTIME_BUNDLE_CPU_POOL_H

#include "runtime/base/status.h"
#include "runtime/bundle/cpu_abi.h"

typedef struct mt_cpu_pool mt_cpu_pool;

/* Starts n_threads - 1 workers (none for n_threads <= 1). */
MT_MUST_USE mt_status *mt_cpu_pool_create(int n_threads, mt_cpu_pool **out);
/* Joins the workers and frees p (NULL is fine). No run may be in progress. */
void mt_cpu_pool_destroy(mt_cpu_pool *p);
/* The n of every kernel call: the pool's thread count (1 for NULL). */
int mt_cpu_pool_threads(const mt_cpu_pool *p);
/* Runs fn(args, t, n) for every t and returns when all are done. Any thread. */
void mt_cpu_pool_run(mt_cpu_pool *p, mt_cpu_kernel_fn fn, void *const *args);

#endif
