/* The CPU session's group scheduler: runs a bundle's horizontal groups in an order the plan
 * allows, on the calling thread plus a small pool of worker threads.
 *
 * A group may start once the groups it waits on (Group.waits) and the group before it on the
 * same partition and stream have finished: the same ordering the GPU gets from streams and
 * events, under which the memory plan's arena reuse is safe. Each group runs on one thread, its
 * nodes in order, and every kernel is single-threaded with a fixed evaluation order, so the
 * bytes a run produces never depend on the thread count or on which thread ran what. Must not
 * know about the public API (mtrt.c) or the kernels. */
#ifndef MT_RUNTIME_BUNDLE_CPU_SCHEDULE_H
#define MT_RUNTIME_BUNDLE_CPU_SCHEDULE_H

#include <stddef.h>

#include "runtime/base/status.h"
#include "runtime/bundle/mtbundle.pb-c.h"

/* The stack of every thread libmtrt starts (here and in cpu_pool.c): generated CPU kernels may
 * keep large blocks (a convolution's im2col tile) on the stack, more than some platforms give a
 * thread by default. The application's thread that calls mtrt_session_run has its own stack. */
#define MT_CPU_THREAD_STACK ((size_t)8 << 20)

typedef struct mt_cpu_schedule mt_cpu_schedule;

/* Runs one group; called from any of the scheduler's threads, never twice at once for the same
 * group, and only after every group it depends on returned NULL. */
typedef mt_status *(*mt_cpu_group_fn)(void *ctx, size_t group);

/* Builds the group dependencies of m (validated) and starts n_threads - 1 workers (n_threads
 * <= 1: none, groups run in schedule order on the caller). With workers, a plan that would let
 * two groups race on the same bytes is refused (DATA_LOSS). *out owns the threads. */
MT_MUST_USE mt_status *mt_cpu_schedule_create(const Mtbundle__Manifest *m, int n_threads,
                                              mt_cpu_schedule **out);
/* Whether groups that may run at once (not ordered by the dependencies succ_at/succ, as the
 * schedule builds them) never touch the same arena or scratch bytes with one of them writing
 * (plan_races.c). A compiled plan always passes; mt_cpu_schedule_create checks it before it
 * starts workers. */
MT_MUST_USE mt_status *mt_cpu_plan_check_races(const Mtbundle__Manifest *m, const size_t *succ_at,
                                               const size_t *succ);
/* Stops and joins the workers and frees s (NULL is fine). No run may be in progress. */
void mt_cpu_schedule_destroy(mt_cpu_schedule *s);

/* Runs fn on every group, each once, in dependency order, and returns when all have finished.
 * After a group fails no further group starts; the status returned is the failure of the
 * lowest-numbered group among those that ran. One run at a time per schedule. */
MT_MUST_USE mt_status *mt_cpu_schedule_run(mt_cpu_schedule *s, mt_cpu_group_fn fn, void *ctx);

#endif
