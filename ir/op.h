/* The operator interface: what every supported ONNX op provides to shape inference and to the
 * reference executor.
 *
 * An op has two functions over one context:
 *  - infer: set dtype, rank and dims of every present output from the inputs' dtypes and shapes.
 *    During static shape inference an input's data is NULL unless the value is known (a constant,
 *    or folded from constants and shapes). An op whose output shape depends on input *values*
 *    (Reshape's shape, Slice's starts, ...) lists those inputs in `value_inputs`; the driver then
 *    reports a clear error when they are unknown, so infer may rely on their data being present.
 *  - lower: decode the node's attributes, its inputs' shapes and the values of `value_inputs`
 *    into an mt_kernel_call (runtime/cpu/kernel_call.h), reporting every invalid attribute. The
 *    driver executes the call with mt_cpu_kernel_run: the same dispatch libmtrt's CPU path uses,
 *    so the reference executor runs exactly what a bundle will. Output tensors arrive at the
 *    kernel with dtype/shape from infer and data allocated (zeroed) by the driver; a kernel with
 *    a data-dependent output size (NonZero, flagged MT_OP_ALLOCATES_OUTPUTS) sets the shape and
 *    mallocs the data itself, and the driver frees it with free().
 *  - run: only for ops that are no kernel (If evaluates a subgraph; Constant copies its
 *    attribute): compute the outputs directly, under the same output contract.
 * Both return NULL or a status; the driver prefixes the tenant and node name, so messages need
 * only say what is wrong ("input 1: expected rank 4, got 3").
 *
 * Op files live in ir/ops/, one per family, each exporting a table registered in op_registry.c.
 * The arithmetic is in runtime/cpu/, reached only through kernel calls. */
#ifndef MT_IR_OP_H
#define MT_IR_OP_H

#include "ir/module.h"
#include "runtime/cpu/kernel_call.h"

typedef struct mt_op_ctx mt_op_ctx;

/* Evaluates a subgraph (an If branch) in the current scope. In inference mode only shapes (and
 * values where known) are produced; in execution mode outputs get malloc'ed data. */
typedef mt_status *(*mt_eval_graph_fn)(mt_op_ctx *ctx, const mt_graph *g, mt_tensor *outputs);
/* Evaluates a body subgraph (Loop, Scan, SequenceMap) with its graph inputs bound to inputs[0..
 * g->n_inputs) (borrowed for the call; data NULL where unknown while inferring). Outputs as
 * mt_eval_graph_fn. Called once per iteration: the body's values are overwritten each time. */
typedef mt_status *(*mt_eval_body_fn)(mt_op_ctx *ctx, const mt_graph *g, const mt_tensor *inputs,
                                      mt_tensor *outputs);

struct mt_op_ctx {
  const mt_module *module;
  const mt_node *node;
  int opset; /* == node->opset, the version the op's semantics follow */
  int n_inputs;
  const mt_tensor *const *inputs; /* inputs[i] is NULL for an omitted optional input */
  int n_outputs;
  mt_tensor *outputs; /* outputs[i].dtype == UNDEFINED for an omitted output */
  bool executing;     /* false during static shape inference */
  mt_eval_graph_fn eval_graph;
  mt_eval_body_fn eval_body;
  void *driver; /* the driver's state, for eval_graph */
};

enum {
  MT_OP_ALLOCATES_OUTPUTS = 1u << 0,
  /* infer can compute the outputs' values from input shapes alone (Shape, Size): run is called
   * during static inference even when input data is unknown. */
  MT_OP_VALUE_FROM_SHAPES = 1u << 1,
  /* Never run during static inference even when every input is known (Loop, Scan): running
   * would execute a whole loop at compile time, and a body node past the fold limit would leave
   * an iteration's result unknown mid-run. infer describes the outputs instead. */
  MT_OP_NO_FOLD = 1u << 2,
};

/* How an op's output elements depend on its inputs, which is what fusion and codegen need to
 * know (after TVM's OpPatternKind). Ordered from the most to the least fusable. */
typedef enum mt_op_pattern {
  MT_PATTERN_UNSET = 0,   /* never valid for a registered op: a unit test checks every def */
  MT_PATTERN_ELEMENTWISE, /* output[i] from input[i] of same-shaped inputs (Relu, Cast) */
  MT_PATTERN_BROADCAST,   /* elementwise after numpy broadcasting of the inputs (Add, Where) */
  MT_PATTERN_INJECTIVE,   /* each output element copies (or interpolates) input elements:
                           * data movement (Transpose, Slice, Gather, Resize, Reshape) */
  MT_PATTERN_REDUCTION,   /* output elements combine many input elements (Reduce*, Softmax,
                           * normalisations, pooling, ArgMax, CumSum) */
  MT_PATTERN_OUT_FUSABLE, /* heavy math whose output takes an elementwise epilogue (Conv, GEMM) */
  MT_PATTERN_OPAQUE,      /* anything else: control flow, data-dependent output sizes, shape
                           * queries, constants; runs as its own kernel and fuses with nothing */
} mt_op_pattern;

const char *mt_op_pattern_name(mt_op_pattern p);

/* Traits: what passes and the cost model may rely on beyond the pattern. */
enum {
  MT_TRAIT_GEMM = 1u << 0,           /* a matrix product: lowered to a (grouped) GEMM */
  MT_TRAIT_CONV = 1u << 1,           /* a convolution: lowered to implicit GEMM */
  MT_TRAIT_FLOAT_MATH = 1u << 2,     /* pointwise float math that keeps the dtype, so it may run
                                      * in a GEMM/conv epilogue on the accumulator */
  MT_TRAIT_TRANSCENDENTAL = 1u << 3, /* one transcendental (exp, tanh, erf...) per element */
  MT_TRAIT_NO_ARITHMETIC = 1u << 4,  /* pointwise but only converts or copies (Cast) */
  MT_TRAIT_METADATA = 1u << 5,       /* a view: the same bytes under another shape (Reshape) */
  MT_TRAIT_SHAPE_QUERY = 1u << 6,    /* reads only its input's shape, never its data (Shape) */
  MT_TRAIT_GATHERS = 1u << 7,        /* reads only the input elements it copies (Slice) */
  MT_TRAIT_WINDOWED = 1u << 8,       /* a reduction over a sliding window, one output per
                                      * window: parallel over outputs (MaxPool) */
  MT_TRAIT_POOL = 1u << 11,          /* pooling, windowed or global: reduces within a plane
                                      * without cross-thread partial sums in shared memory */
  MT_TRAIT_ROWWISE = 1u << 12,       /* normalises along the last axis, reading each row twice
                                      * (Softmax, LayerNormalization): kernels cache rows */
  MT_TRAIT_CONTROL_FLOW = 1u << 9,   /* holds subgraphs (If, Loop, Scan, SequenceMap) */
  MT_TRAIT_PER_CHANNEL_PARAMS = 1u << 10, /* inputs after the first are per-channel parameters,
                                           * not numpy-broadcast operands (BatchNormalization) */
};

/* The arithmetic of one node, for the cost model: plain flops, and transcendental evaluations,
 * which a target prices separately. */
typedef struct mt_op_work {
  double flops;
  double transcendentals;
} mt_op_work;

typedef struct mt_op_def {
  const char *op_type;        /* in the default ONNX domain */
  int min_inputs, max_inputs; /* max_inputs -1 for variadic */
  uint32_t value_inputs;      /* bit i: infer needs the data of input i (when present) */
  /* bit i: lowering to a kernel call ahead of time (codegen, bundles) needs input i's data though
   * infer does not (Resize's roi in tf_crop_and_resize); lower refuses when it is unknown. */
  uint32_t lower_value_inputs;
  uint32_t flags;        /* MT_OP_*: how the evaluator drives the op */
  mt_op_pattern pattern; /* how the op fuses; never MT_PATTERN_UNSET */
  uint32_t traits;       /* MT_TRAIT_* */
  mt_status *(*infer)(mt_op_ctx *ctx);
  /* Exactly one of lower and run is set (see the top of this file). */
  mt_status *(*lower)(const mt_op_ctx *ctx, mt_kernel_call *out_call);
  mt_status *(*run)(mt_op_ctx *ctx);
  /* Optional: returns a reason string when this node uses a form outside what mtcc supports
   * (e.g. "Resize mode 'cubic'"), NULL otherwise. Lets conformance say "unsupported" honestly. */
  const char *(*unsupported_reason)(const mt_node *node);
  /* Optional: the pattern of this particular node when its attributes change it (a transposing
   * Einsum is injective, a training-mode BatchNormalization opaque). NULL: `pattern`. */
  mt_op_pattern (*node_pattern)(const mt_node *node);
  /* Optional: the node's arithmetic, for ops whose work is not one op per output element
   * (convolutions, GEMMs, pooling windows). Shapes are inferred; unknown dims count as 0.
   * NULL: the default for the pattern (see mt_node_work). */
  void (*work)(const mt_module *m, const mt_node *node, mt_op_work *out_work);
} mt_op_def;

/* Looks an op up by domain ("" or "ai.onnx") and type; NULL when mtcc does not support it. */
const mt_op_def *mt_op_lookup(const char *domain, const char *op_type);
/* Every supported op type, for listings. */
int mt_op_count(void);
const mt_op_def *mt_op_at(int i);

/* A node's fusion pattern: its def's, refined by the def's node_pattern; MT_PATTERN_OPAQUE for
 * a node whose op mtcc does not support (n->def NULL). */
mt_op_pattern mt_node_pattern(const mt_node *n);
/* True when the node's op has every trait in `traits` (false for unsupported ops). */
bool mt_node_has_traits(const mt_node *n, uint32_t traits);
/* Live (present) outputs of a node. */
int mt_node_live_outputs(const mt_node *n);
/* The node's arithmetic: the def's work hook, else by pattern: pointwise ops one flop per
 * output element (one transcendental with MT_TRAIT_TRANSCENDENTAL, none with
 * MT_TRAIT_NO_ARITHMETIC), reductions one per input element, everything else none. */
void mt_node_work(const mt_module *m, const mt_node *n, mt_op_work *out_work);
/* Elements of a value with inferred shape (unknown dims count as 0), as a double for costs. */
double mt_value_elems(const mt_module *m, mt_value_id v);

/* Lowers node n of m to a kernel call, given its inputs (inputs[i] NULL for an omitted optional
 * input; shapes must be known, data where the op lists the input in value_inputs). For a bundle
 * writer: the call is self-contained and outlives m. UNIMPLEMENTED for ops that are no kernel
 * call (If, Constant) and for unsupported ops; errors name what is wrong, as execution would. */
MT_MUST_USE mt_status *mt_node_lower(const mt_module *m, const mt_node *n,
                                     const mt_tensor *const *inputs, mt_kernel_call *out_call);

/* Why node n can be neither a kernel call nor a generated kernel because it holds a body
 * subgraph (Loop, Scan, SequenceMap, If) or reads or writes a sequence/optional value; NULL
 * otherwise. Codegen and the bundle writer refuse such nodes with this reason. */
const char *mt_node_control_flow_reason(const mt_module *m, const mt_node *n);

/* Scan node n's per-operand attributes for n_in scan inputs and n_out scan outputs, as its opset
 * defines them (8: `directions` for the inputs, axes 0; 9 on: scan_input_axes / _directions,
 * scan_output_axes / _directions), 0 where absent; axes not normalized, directions 0 or 1. */
MT_MUST_USE mt_status *mt_scan_attrs(const mt_node *n, int n_in, int n_out, int64_t *in_axes,
                                     int64_t *in_rev, int64_t *out_axes, int64_t *out_rev);

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
MT_MUST_USE mt_status *mt_broadcast_shapes(int ra, const int64_t *a, int rb, const int64_t *b,
                                           int *out_rank, int64_t *out_dims);
/* Normalises a possibly negative axis against rank; error when out of [-rank, rank). */
MT_MUST_USE mt_status *mt_normalize_axis(int64_t axis, int rank, int *out_axis);
/* Reads a 1-D (or scalar) integer input's values into out (max n); returns count via out_count. */
MT_MUST_USE mt_status *mt_read_int_list(const mt_tensor *t, int64_t *out, int max, int *out_count);

/* Per-family tables, defined in ir/ops/<family>.c. */
extern const mt_op_def mt_ops_elementwise[];
extern const mt_op_def mt_ops_nn[];
extern const mt_op_def mt_ops_shape[];
extern const mt_op_def mt_ops_reduce[];
extern const mt_op_def mt_ops_misc[];
extern const mt_op_def mt_ops_index[];
extern const mt_op_def mt_ops_normalize[];
extern const mt_op_def mt_ops_loss[];
extern const mt_op_def mt_ops_quant[]; /* ir/ops/quant.c */
extern const mt_op_def mt_ops_rnn[];
extern const mt_op_def mt_ops_signal[];
extern const mt_op_def mt_ops_sequence[];
extern const mt_op_def mt_ops_loop[];
extern const mt_op_def mt_ops_vision[];
extern const mt_op_def mt_ops_quant[];     /* ir/ops/quant.c */
extern const mt_op_def mt_ops_attention[]; /* ir/ops/attention.c */
extern const mt_op_def mt_ops_newops[];    /* ir/ops/newops.c */

#endif
