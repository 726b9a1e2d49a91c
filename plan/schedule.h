/* Schedule queries over a plan's horizontal groups: their data dependencies, a valid execution
 * order, and the happens-before relation that streams and waits establish.
 *
 * Happens-before (a -> b, strict): within one partition, a finishes before b starts because of
 * the schedule alone, i.e. there is a path from a to b through
 *   - stream order: a and the next horizontal group on a's stream (by position), and
 *   - waits: w -> h for every w in h->waits.
 * Horizontal groups of different partitions are never ordered (partitions run independently),
 * and unscheduled groups (stream < 0) are ordered with nothing.
 *
 * For one query use mt_schedule_happens_before (O(n log n) per call). For many (the memory plan
 * asks it for every pair of overlapping buffers) build the relation once with
 * mt_schedule_order_build: per partition, one bitset row per horizontal group holding every group
 * that happens before it (n^2/8 bytes per partition of n groups); each query is then O(1).
 * Build it after assign-streams; it is a snapshot and must be rebuilt if streams or waits change. */
#ifndef MT_PLAN_SCHEDULE_H
#define MT_PLAN_SCHEDULE_H

#include "plan/plan.h"

/* Data dependencies between horizontal groups: h reads a value that a member of pred[k] writes,
 * for k in [start[h], start[h + 1]). Deduplicated, self-edges dropped; reads inside subgraphs
 * (If branches reading outer values) count. */
typedef struct mt_hgroup_deps {
  int n;          /* plan->n_hgroups when built */
  int32_t *start; /* n + 1 entries */
  int32_t *pred;
} mt_hgroup_deps;

MT_MUST_USE mt_status *mt_schedule_deps_build(const mt_plan *p, mt_hgroup_deps *out);
void mt_schedule_deps_free(mt_hgroup_deps *d);

/* All horizontal groups in one valid execution order: grouped by partition (in partition order),
 * within a partition by position, with groups that have no position yet (-1) placed after their
 * producers by dependency level (interleaving tenants) and ties by id. A position order that
 * breaks a data dependency is repaired (the producer first), so the result is always
 * topological. Errors on a dependency cycle. order has n_hgroups entries. */
MT_MUST_USE mt_status *mt_schedule_topo_order(const mt_plan *p, const mt_hgroup_deps *d,
                                              int32_t *order);

/* a happens before b (see above). */
bool mt_schedule_happens_before(const mt_plan *p, int32_t hgroup_a, int32_t hgroup_b);

/* The whole relation, built once. */
typedef struct mt_schedule_order mt_schedule_order;
/* Errors when the schedule is malformed: a stream or wait out of range, a wait on another
 * partition's group or on one at a later position, or two groups sharing a position. */
MT_MUST_USE mt_status *mt_schedule_order_build(const mt_plan *p, mt_schedule_order **out);
bool mt_schedule_order_before(const mt_schedule_order *o, int32_t hgroup_a, int32_t hgroup_b);
void mt_schedule_order_free(mt_schedule_order *o);

/* Checks that every data dependency between horizontal groups is ordered by the schedule
 * (stream order or waits); the error names the consumer, the producer and their streams. */
MT_MUST_USE mt_status *mt_schedule_check(const mt_plan *p);

#endif
