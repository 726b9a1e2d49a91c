/* Shared by the fusion passes (fuse_vertical.c, fuse_horizontal.c): a reader index over the
 * tenants' main graphs, the op classes fusion reasons about, group signatures for horizontal
 * compatibility, and cost/resource helpers. Internal to passes/. */
#ifndef MT_PASSES_FUSION_INTERNAL_H
#define MT_PASSES_FUSION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "passes/cost_model.h"
#include "plan/plan.h"

/* Readers of every value, by main-graph node (a node whose If-branch reads a value counts as its
 * reader), and each live main-graph node's position in its tenant's topological order. */
typedef struct mt_fusion_index {
  const mt_module *m;
  int32_t n_nodes, n_values;
  int32_t *pos;       /* per node id; -1 for nodes outside main graphs or removed */
  int32_t *rd_start;  /* per value: readers are rd_nodes[rd_start[v] .. rd_start[v+1]) */
  int32_t *rd_nodes;  /* distinct reader node ids, ascending position */
  uint8_t *is_output; /* per value: a tenant's graph output */
} mt_fusion_index;

MT_MUST_USE mt_status *mt_fusion_index_build(const mt_module *m, mt_fusion_index *ix);
void mt_fusion_index_free(mt_fusion_index *ix);
static inline int mt_fusion_reader_count(const mt_fusion_index *ix, mt_value_id v) {
  return ix->rd_start[v + 1] - ix->rd_start[v];
}

/* Op classes. */
bool mt_fusion_is_gemm_op(const mt_node *n);   /* Gemm, MatMul */
bool mt_fusion_is_conv_op(const mt_node *n);   /* Conv, ConvTranspose */
bool mt_fusion_is_pointwise(const mt_node *n); /* one output, computed element by element */
bool mt_fusion_is_epilogue_op(
    const mt_node *n); /* pointwise float math a GEMM/conv epilogue runs */
bool mt_fusion_is_metadata(
    const mt_node *n); /* Reshape/Flatten/Squeeze/Unsqueeze/Identity: a view */
bool mt_fusion_is_reduction(const mt_node *n); /* Reduce*, Softmax, norms, pooling */
/* Number of outputs the node actually produces (omitted optional outputs excluded). */
int mt_fusion_live_outputs(const mt_node *n);

/* True when a tensor of shape (rb, b) broadcasts (numpy, unidirectionally) to (ra, a). */
bool mt_fusion_broadcasts_to(int rb, const int64_t *b, int ra, const int64_t *a);
/* "[1,64,56,56]" into buf. */
const char *mt_fusion_shape_str(int rank, const int64_t *dims, char *buf, size_t size);
/* "tenant 't': Op 'name'" into buf. */
const char *mt_fusion_node_str(const mt_module *m, int32_t node, char *buf, size_t size);

/* Structural comparison of two fused groups of (possibly) different tenants: same ops in the
 * same order, same attributes, same wiring inside the group, same float immediates (small
 * float constants such as Clip bounds or GELU factors, which codegen bakes into the kernel).
 * With shapes, every input/output shape must match as well (batched GEMM, grouped conv).
 * Returns NULL when equal, otherwise a short description of the first difference (static or
 * written into buf). */
const char *mt_fusion_groups_differ(const mt_module *m, const mt_fused_group *a,
                                    const mt_fused_group *b, bool with_shapes, char *buf,
                                    size_t size);

/* Under the shared cost model (mt_cost_time_us): the overhead of one launch on `sms` SMs, the
 * time of work `c` beyond it, and the cost of launching two costs as one kernel. */
double mt_fusion_launch_us(const mt_arch_params *a, int sms);
double mt_fusion_work_us(const mt_arch_params *a, const mt_cost *c, int sms);
void mt_fusion_cost_add(mt_cost *sum, const mt_cost *c, const mt_arch_params *a);

/* Conservative per-body resource estimates for multi-body kernels. */
typedef struct mt_fusion_body_resources {
  int shared_bytes; /* per block */
  int registers;    /* per thread */
} mt_fusion_body_resources;
void mt_fusion_body_resources_of(const mt_plan *p, const mt_fused_group *g,
                                 mt_fusion_body_resources *out);

#endif
