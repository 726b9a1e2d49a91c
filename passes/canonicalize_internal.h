/* Shared state and helpers of the canonicalize pass. Calls run one way: canonicalize.c drives the
 * rules and calls the arithmetic rewrites that make new weights (canonicalize_fold.c); both call
 * the graph-editing helpers (canonicalize_util.c), which call neither. Internal to passes/. */
#ifndef MT_PASSES_CANONICALIZE_INTERNAL_H
#define MT_PASSES_CANONICALIZE_INTERNAL_H

#include "passes/graph_uses.h"
#include "passes/pass_manager.h"

typedef struct mt_canon {
  mt_module *m;
  mt_use_index uses; /* rebuilt after every rewrite */
} mt_canon;

/* Each rule looks at node `id` and, when it applies, rewrites the module (and sets *changed). */
typedef mt_status *(*mt_canon_rule)(mt_canon *c, int32_t id, bool *changed);

/* BatchNormalization whose input comes from a Conv or Gemm read by nothing else: folded into it. */
MT_MUST_USE mt_status *mt_canon_fold_batchnorm(mt_canon *c, int32_t id, bool *changed);
/* Add(MatMul(A[M,K], W[K,N] constant), bias[N] constant) -> Gemm(A, W, bias). */
MT_MUST_USE mt_status *mt_canon_matmul_add_to_gemm(mt_canon *c, int32_t id, bool *changed);

/* Graph-editing helpers (canonicalize_util.c). */

/* The live node of the main graph that produces v, or -1 (graph input, constant, subgraph). */
int32_t mt_canon_producer(const mt_canon *c, mt_value_id v, const char *op_type);
/* The constant tensor behind v, or NULL. */
bool mt_canon_constant(const mt_canon *c, mt_value_id v, mt_tensor *out_view);
/* Detaches node id from its graph. */
MT_MUST_USE mt_status *mt_canon_remove_node(mt_canon *c, int32_t id);
/* Copies n's attributes into a new arena array with `name` set to the given value (an INT,
 * FLOAT or INTS attribute; added when absent). */
MT_MUST_USE mt_status *mt_canon_set_attr(mt_canon *c, int32_t id, const mt_attr *value);
/* Gives node id a new input array of n_inputs entries (arena memory), copying the old ones. */
MT_MUST_USE mt_status *mt_canon_resize_inputs(mt_canon *c, int32_t id, int n_inputs);
/* A new float32 constant value in node id's graph, named after the node plus suffix. */
MT_MUST_USE mt_status *mt_canon_add_f32(mt_canon *c, int32_t id, const char *suffix, int rank,
                                        const int64_t *dims, const float *data,
                                        mt_value_id *out_value);

#endif
