/* The cost model: a roofline estimate per fused/horizontal group, filled into the plan's mt_cost
 * fields. The numbers it reads live in the target description (plan/target.h). */
#ifndef MT_PASSES_COST_MODEL_H
#define MT_PASSES_COST_MODEL_H

#include "plan/plan.h"

/* Estimates every fused and horizontal group of the plan under its partition's SM count, and the
 * partitions' makespans (max of the critical path and the total work on the partition's SMs; the
 * critical path follows stream order and waits once every group of the partition has a stream,
 * data dependencies before). Filled into the plan; assign-streams calls it again at its end. */
MT_MUST_USE mt_status *mt_cost_model_estimate(struct mt_plan *p);
/* A tenant's predicted latency on its partition: alone (the only tenant running, its fused groups
 * one after another on one stream, one launch overhead each: the single-model baseline) or, when
 * alone is false, as scheduled among the others (when its last horizontal group finishes, and no
 * earlier than the partition's work up to that position allows). */
double mt_cost_tenant_latency_us(const struct mt_plan *p, int32_t tenant, bool alone);
/* mt_cost_tenant_latency_us(p, t, true) for every tenant t into out[t], in one pass over the
 * groups (per tenant, each scanned them all: quadratic in tenants). */
void mt_cost_tenants_alone_us(const struct mt_plan *p, double *out);
/* The predicted finish time of every horizontal group of the plan into finish[h] (n_hgroups
 * entries), the same critical path mt_cost_model_estimate takes the makespan from: per partition,
 * stream order and waits (plus the event wait) once every group has a stream, data dependencies
 * before. A group starts at finish[h] - its predicted_us. The report draws its timeline from it. */
MT_MUST_USE mt_status *mt_cost_hgroup_finish_us(const struct mt_plan *p, double *finish);
/* Roofline time of work on `sms` SMs, plus one launch. */
double mt_cost_time_us(const mt_arch_params *a, const mt_cost *c, int sms);
/* A tenant alone on its partition with the concurrency its own DAG offers (unlimited streams):
 * max(critical path, total work / partition throughput). mt_cost_tenant_latency_us(.., true) is
 * the same tenant run serially on one stream. */
double mt_cost_tenant_concurrent_us(const struct mt_plan *p, int32_t tenant);

#endif
