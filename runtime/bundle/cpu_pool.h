/* The threads that split one generated CPU kernel (cpu_abi.h): kernel(args, s, shares) for every
 * share s, each claimed by whichever of the caller and the workers is free (cpu_pool.c), returning
 * when all calls have. The schedule's group threads (cpu_schedule.h) share one pool: a kernel that
 * finds it busy makes the calls itself, one after another, which computes the same bytes (each
 * call owns its part of the outputs, fixed by the shapes). */
#ifndef MT_RUNTIME_BUNDLE_CPU_POOL_H
#define MT_RUNTIME_BUNDLE_CPU_POOL_H

#include "runtime/base/status.h"
#include "runtime/bundle/cpu_abi.h"

typedef struct mt_cpu_pool mt_cpu_pool;

/* Starts n_threads - 1 workers (none for n_threads <= 1). */
MT_MUST_USE mt_status *mt_cpu_pool_create(int n_threads, mt_cpu_pool **out);
/* Joins the workers and frees p (NULL is fine). No run may be in progress. */
void mt_cpu_pool_destroy(mt_cpu_pool *p);
/* The pool's thread count (1 for NULL); each kernel is cut into twice as many shares. */
int mt_cpu_pool_threads(const mt_cpu_pool *p);
/* Runs fn(args, s, shares) for every share s (claimed by whichever thread is free) and returns
 * when all are done. Any thread. */
void mt_cpu_pool_run(mt_cpu_pool *p, mt_cpu_kernel_fn fn, void *const *args);

#endif
