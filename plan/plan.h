/* The kernel and schedule layers that passes build on top of the graph layer (ir/module.h).
 *
 * - A fused group is a set of graph nodes of one tenant that codegen emits as one kernel or one
 *   library call (vertical fusion makes them; before it, every node is its own group).
 * - A horizontal group is a set of fused groups, from different tenants of one partition, that are
 *   launched together (one grouped GEMM, one grouped convolution, one multi-body kernel); a
 *   singleton horizontal group is a plain launch.
 * - The schedule: each horizontal group has a partition, a stream and a position; cross-stream
 *   dependencies are explicit waits. The memory plan gives intermediates arena offsets.
 * Codegen reads only a fully scheduled plan. The plan refers to the module by ids and never
 * changes it; it owns its memory (an arena) and must be rebuilt if the module changes. */
#ifndef MT_PLAN_PLAN_H
#define MT_PLAN_PLAN_H

#include <stdio.h>

#include "ir/module.h"
#include "plan/target.h"

typedef enum mt_group_kind {
  MT_GROUP_GEMM,          /* Gemm / MatMul (+ epilogue): a (grouped/batched) GEMM */
  MT_GROUP_CONV,          /* Conv (+ epilogue) */
  MT_GROUP_ELEMENTWISE,   /* a chain of elementwise ops: one generated kernel */
  MT_GROUP_REDUCTION,     /* Reduce*, Softmax, LayerNorm, pooling, with elementwise ops around */
  MT_GROUP_DATA_MOVEMENT, /* Transpose, Concat, Slice, Gather, Pad, Resize ...: copy kernels */
  MT_GROUP_OTHER,         /* If, TopK, NonZero, ...: runs on its own */
} mt_group_kind;

const char *mt_group_kind_name(mt_group_kind k);
/* The kind of group node n forms on its own (as mt_plan_create gives every node; codegen uses it
 * for the nodes of If branches, which are in no group). */
mt_group_kind mt_plan_node_group_kind(const mt_node *n);

/* What a group costs on its partition: filled by the cost model (passes/cost_model.h). */
typedef struct mt_cost {
  double flops;
  double bytes_read, bytes_written;
  int64_t blocks;      /* independent work units (thread blocks) the group offers */
  double predicted_us; /* on the SM count it was estimated for */
  double math_tflops;  /* whole-GPU peak its flops run at (fp32, or fp16 tensor cores for fp16
                         * GEMM/conv); 0 means fp32_tflops */
} mt_cost;

typedef struct mt_fused_group {
  int32_t tenant;
  mt_group_kind kind;
  int32_t anchor; /* the node that gives the group its kind (the conv, the GEMM), or -1 */
  int n_nodes;
  int32_t *nodes; /* node ids in a valid execution order */
  int n_inputs;
  mt_value_id *inputs; /* values read from outside the group (constants included) */
  int n_outputs;
  mt_value_id *outputs; /* values written here and read elsewhere (or graph outputs) */
  mt_cost cost;         /* filled by the cost model */
  int32_t hgroup;       /* horizontal group it belongs to */
} mt_fused_group;

typedef enum mt_hgroup_kind {
  MT_HGROUP_SINGLE,       /* one fused group, launched alone */
  MT_HGROUP_BATCHED_GEMM, /* identical GEMM shapes: one strided-batched GEMM */
  MT_HGROUP_GROUPED_GEMM, /* different GEMM shapes: one grouped GEMM */
  MT_HGROUP_GROUPED_CONV, /* identical conv parameters and shapes, different weights */
  MT_HGROUP_MULTI_BODY,   /* elementwise/reduction bodies in one kernel, blocks split among them */
} mt_hgroup_kind;

const char *mt_hgroup_kind_name(mt_hgroup_kind k);

typedef struct mt_horizontal_group {
  mt_hgroup_kind kind;
  int32_t partition; /* index into plan->partitions */
  int n_members;
  int32_t *members; /* fused group ids, from different tenants */
  int32_t stream;   /* stream index within the partition, -1 until assigned */
  int32_t position; /* order among the partition's horizontal groups, -1 until scheduled */
  int n_waits;
  int32_t *waits; /* horizontal groups on other streams this one waits for */
  mt_cost cost;
} mt_horizontal_group;

typedef struct mt_partition_plan {
  const char *name;
  int sm_budget; /* requested (0: whole GPU) */
  int sm_count;  /* granted after rounding to the target's partition granularity */
  bool hard;     /* the manifest requires a hard (green-context) budget: refuse if none can be */
  /* "" when green contexts can hold the grant; else why this partition's budget will be soft
   * (mt_partitions_assign; the compile summary and report print it as a warning) */
  char budget_note[200];
  int n_streams;
  size_t arena_bytes;     /* memory plan: peak */
  size_t unplanned_bytes; /* sum of all intermediates, as if none shared memory */
  double predicted_makespan_us;
} mt_partition_plan;

typedef struct mt_buffer {
  mt_value_id value;
  int32_t partition;
  size_t offset, size;               /* within the partition's arena */
  int32_t first_hgroup, last_hgroup; /* writer and last reader */
} mt_buffer;

/* A fusion that was considered and not made, with the reason (the report lists them all). */
typedef struct mt_rejection {
  const char *pass;
  const char *what;   /* e.g. "tenant 'a': Conv '/conv1' + tenant 'b': Conv '/conv1'" */
  const char *reason; /* e.g. "different kernel shapes" */
} mt_rejection;

typedef struct mt_plan {
  mt_arena arena;
  const mt_module *module;
  const mt_arch_params *arch;
  int n_groups, cap_groups;
  mt_fused_group *groups;
  int n_hgroups, cap_hgroups;
  mt_horizontal_group *hgroups;
  int n_partitions;
  mt_partition_plan *partitions;
  int n_buffers;
  mt_buffer *buffers;
  int n_rejections, cap_rejections;
  mt_rejection *rejections;
  int n_notes, cap_notes;
  mt_rejection *notes; /* rewrites graph passes made (fold-qdq's folded patterns), for the report */
  int32_t *group_of_node;    /* per node id: fused group id, -1 for removed nodes */
  int32_t *tenant_partition; /* per tenant: partition index */
} mt_plan;

/* Creates a plan over a shape-inferred module: every live node of every main graph its own fused
 * group, every group its own horizontal group (unscheduled). Partitions come from the tenants'
 * partition names; budgets from `budgets` (name -> SMs; NULL or missing: whole GPU). */
typedef struct mt_partition_budget {
  const char *name;
  int sm_budget;
  bool hard; /* the manifest's "hard": true */
} mt_partition_budget;
MT_MUST_USE mt_status *mt_plan_create(const mt_module *m, const mt_arch_params *arch,
                                      const mt_partition_budget *budgets, int n_budgets,
                                      mt_plan **out_plan);
void mt_plan_destroy(mt_plan *p);

/* Recomputes groups' external inputs/outputs and group_of_node after groups were edited. */
MT_MUST_USE mt_status *mt_plan_refresh_groups(mt_plan *p);
/* Appends a rejection (strings copied). Fails only when out of memory: the report must never
 * lose a line silently, so callers propagate the status. */
MT_MUST_USE mt_status *mt_plan_reject(mt_plan *p, const char *pass, const char *what,
                                      const char *reason);
/* Appends a note: a rewrite a pass made, with how (strings copied; same failure contract). */
MT_MUST_USE mt_status *mt_plan_note(mt_plan *p, const char *pass, const char *what,
                                    const char *how);

/* Grants each partition its SMs on `arch`: budgets rounded up to the partition granularity,
 * at least the minimum partition, and together no more than the GPU has. A partition without a
 * budget gets what the budgets leave of the SMs green contexts can split (arch->green_ctx_sms),
 * so the grants stay hard, unless that is under the minimum partition (then of all SMs). A
 * partition whose grant runs past what green contexts can split gets a budget_note saying why
 * its budget will be soft; with `hard` set that is an error instead. Errors name the partition
 * and the arch. */
MT_MUST_USE mt_status *mt_partitions_assign(mt_partition_plan *parts, int n,
                                            const mt_arch_params *arch);

/* The memory-plan checker: no two buffers of a partition share bytes unless one's last reader is
 * ordered (same stream earlier, or through waits) before the other's writer. */
MT_MUST_USE mt_status *mt_memory_plan_check(const mt_plan *p);

/* Runs every tenant through the plan on the reference executor: horizontal groups in schedule
 * order (per partition, by position; unscheduled plans use group order), members in order, nodes
 * in group order, every read checked to come after its write. With use_memory_plan, intermediates
 * live at their arena offsets, so a memory plan that lets live buffers overlap corrupts results.
 * inputs[t] / outputs[t] as for mt_reference_run, one array per tenant. */
MT_MUST_USE mt_status *mt_plan_reference_run(const mt_plan *p, bool use_memory_plan,
                                             mt_tensor *const *inputs, mt_tensor *const *outputs);

/* Plan verifier: every live node in exactly one fused group of its tenant, group orders valid,
 * horizontal groups of one partition and distinct tenants, schedule consistent with data
 * dependencies, and (when present) the memory plan's no-overlap guarantee. */
MT_MUST_USE mt_status *mt_plan_verify(const mt_plan *p);
/* Text dump of the plan (groups, horizontal groups, streams, buffers). */
void mt_plan_dump(const mt_plan *p, FILE *out);

#endif
