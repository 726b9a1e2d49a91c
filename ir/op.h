/* The operator interface: what every supported ONNX op provides to shape inference and to the
 * reference executor.
 *
 * An op has two functions over one context:
 *  - infer: set dtype, rank and dims of every present output from the inputs' dtypes and shapes.
 *    During static shape inference an input's data is NULL unless the value is known (a constant,
 *    or folded from constants and shapes). An op whose output shape depends on input *values*
 *    (Reshape's shape, Slice's starts, ...) lists those inputs in `value_inputs`; the driver then
 *    reports a clear error when they are unknown, so infer may rely on their data being present.
 *  - run: compute the outputs. Output tensors arrive with dtype/shape from infer and data
 *    allocated (zeroed) by the driver. Ops flagged MT_OP_ALLOCATES_OUTPUTS (If, NonZero, ...)
 *    instead set shapes and malloc data themselves in run; the driver frees it with free().
 * Both return NULL or a status; the driver prefixes the tenant and node name, so messages need
 * only say what is wrong ("input 1: expected rank 4, got 3").
 *
 * Op files live in ir/ops/, one per family, each exporting a table registered in op_registry.c.
 * They call plain kernels in runtime/cpu/ for the arithmetic. */
#ifndef MT_IR_OP_H
#define MT_IR_OP_H

#include "ir/module.h"

typedef struct mt_op_ctx mt_op_ctx;

/* Evaluates a subgraph (an If branch) in the current scope. In inference mode only shapes (and
 * values where known) are produced; in execution mode outputs get malloc'ed data. */
typedef mt_status *(*mt_eval_graph_fn)(mt_op_ctx *ctx, const mt_graph *g, mt_tensor *outputs);

struct mt_op_ctx {
  const mt_module *module;
  const mt_node *node;
  int opset;                      /* == node->opset, the version the op's semantics follow */
  int n_inputs;
  const mt_tensor *const *inputs; /* inputs[i] is NULL for an omitted optional input */
  int n_outputs;
  mt_tensor *outputs;             /* outputs[i].dtype == UNDEFINED for an omitted output */
  bool executing;                 /* false during static shape inference */
  mt_eval_graph_fn eval_graph;
  void *driver;                   /* the driver's state, for eval_graph */
};

enum {
  MT_OP_ALLOCATES_OUTPUTS = 1u << 0,
  /* infer can compute the outputs' values from input shapes alone (Shape, Size): run is called
   * during static inference even when input data is unknown. */
  MT_OP_VALUE_FROM_SHAPES = 1u << 1,
};

typedef struct mt_op_def {
  const char *op_type;  /* in the default ONNX domain */
  int min_inputs, max_inputs; /* max_inputs -1 for variadic */
  uint32_t value_inputs;      /* bit i: infer needs the data of input i (when present) */
  uint32_t flags;
  mt_status *(*infer)(mt_op_ctx *ctx);
  mt_status *(*run)(mt_op_ctx *ctx);
  /* Optional: returns a reason string when this node uses a form outside what mtcc supports
   * (e.g. "Resize mode 'cubic'"), NULL otherwise. Lets conformance say "unsupported" honestly. */
  const char *(*unsupported_reason)(const mt_node *node);
} mt_op_def;

/* Looks an op up by domain ("" or "ai.onnx") and type; NULL when mtcc does not support it. */
const mt_op_def *mt_op_lookup(const char *domain, const char *op_type);
/* Every supported op type, for listings. */
int mt_op_count(void);
const mt_op_def *mt_op_at(int i);

/* Helpers for op implementations. */
static inline const mt_tensor *mt_op_input(const mt_op_ctx *c, int i) {
  return i < c->n_inputs ? c->inputs[i] : NULL;
}
static inline bool mt_op_has_output(const mt_op_ctx *c, int i) {
  return i < c->n_outputs && c->node->outputs[i] != MT_NO_VALUE;
}
/* Sets output i's dtype and shape. */
void mt_op_set_output(mt_op_ctx *c, int i, mt_dtype dtype, int rank, const int64_t *dims);
/* Output i takes input j's dtype and shape. */
void mt_op_same_as_input(mt_op_ctx *c, int i, int j);
/* Numpy-style multidirectional broadcast of two shapes; error on mismatch. An unknown (-1) dim
 * broadcast against a known n > 1 is n (it must be, or the op fails at run time). */
mt_status *mt_broadcast_shapes(int ra, const int64_t *a, int rb, const int64_t *b, int *out_rank,
                               int64_t *out_dims);
/* Normalises a possibly negative axis against rank; error when out of [-rank, rank). */
mt_status *mt_normalize_axis(int64_t axis, int rank, int *out_axis);
/* Reads a 1-D (or scalar) integer input's values into out (max n); returns count via out_count. */
mt_status *mt_read_int_list(const mt_tensor *t, int64_t *out, int max, int *out_count);

/* Per-family tables, defined in ir/ops/<family>.c. */
extern const mt_op_def mt_ops_elementwise[];
extern const mt_op_def mt_ops_nn[];
extern const mt_op_def mt_ops_shape[];
extern const mt_op_def mt_ops_reduce[];
extern const mt_op_def mt_ops_misc[];

#endif
