/* ONNX ops of the reduce family: Reduce{Sum,Mean,Max,Min,Prod,L1,L2,SumSquare,LogSum,LogSumExp},
 * ArgMax, ArgMin, TopK and CumSum, in every form of opsets 7..21.
 *
 * Form changes that follow ctx->opset: ReduceSum takes `axes` as an input from 13, the other
 * Reduce* from 18 (an attribute before); noop_with_empty_axes exists with the input form. TopK's
 * k is an attribute before 10 and an input after; largest/sorted from 11. ArgMax/ArgMin gain
 * select_last_index at 12. Arithmetic lives in runtime/cpu/reduce.c. */
#include <string.h>

#include "ir/op.h"
#include "runtime/cpu/reduce.h"

/* ---- Reduce* ------------------------------------------------------------------------------- */

typedef struct reduce_kind {
  const char *op_type;
  mt_reduce_op op;
  int axes_input_since; /* opset from which axes is input 1 rather than an attribute */
} reduce_kind;

static const reduce_kind reduce_kinds[] = {
    {"ReduceSum", MT_REDUCE_SUM, 13},        {"ReduceMean", MT_REDUCE_MEAN, 18},
    {"ReduceMax", MT_REDUCE_MAX, 18},        {"ReduceMin", MT_REDUCE_MIN, 18},
    {"ReduceProd", MT_REDUCE_PROD, 18},      {"ReduceL1", MT_REDUCE_L1, 18},
    {"ReduceL2", MT_REDUCE_L2, 18},          {"ReduceSumSquare", MT_REDUCE_SUM_SQUARE, 18},
    {"ReduceLogSum", MT_REDUCE_LOG_SUM, 18}, {"ReduceLogSumExp", MT_REDUCE_LOG_SUM_EXP, 18},
};

static const reduce_kind *reduce_kind_of(const mt_node *n) {
  for (size_t i = 0; i < sizeof reduce_kinds / sizeof *reduce_kinds; i++)
    if (strcmp(reduce_kinds[i].op_type, n->op_type) == 0) return &reduce_kinds[i];
  return NULL;
}

/* Resolves the reduced axes of a Reduce* node into a bit mask over the input's dims. */
MT_MUST_USE static mt_status *reduce_axes(const mt_op_ctx *c, const reduce_kind *k,
                                          uint32_t *out_mask) {
  const mt_tensor *x = mt_op_input(c, 0);
  int64_t axes[MT_MAX_RANK * 2];
  int n_axes = 0;
  bool noop = false;
  if (c->opset >= k->axes_input_since) {
    noop = mt_node_attr_int(c->node, "noop_with_empty_axes", 0) != 0;
    const mt_tensor *a = mt_op_input(c, 1);
    if (a) {
      if (!a->data) return MT_ERR(INVALID_ARGUMENT, "input 1 (axes): value is not known");
      MT_RETURN_IF_ERROR(mt_read_int_list(a, axes, MT_MAX_RANK * 2, &n_axes), "input 1 (axes)");
    }
  } else {
    const int64_t *attr = NULL;
    int64_t cnt = mt_node_attr_ints(c->node, "axes", &attr);
    if (cnt > MT_MAX_RANK * 2)
      return MT_ERR(INVALID_ARGUMENT, "attribute axes: %lld entries", (long long)cnt);
    for (int64_t i = 0; i < cnt; i++) axes[n_axes++] = attr[i];
  }
  if (n_axes == 0) {
    *out_mask = noop ? 0u : (x->rank ? (uint32_t)((1u << x->rank) - 1u) : 0u);
    return NULL;
  }
  uint32_t mask = 0;
  for (int i = 0; i < n_axes; i++) {
    int ax;
    if (x->rank == 0 && (axes[i] == 0 || axes[i] == -1)) continue; /* scalars: nothing to reduce */
    MT_RETURN_IF_ERROR(mt_normalize_axis(axes[i], x->rank, &ax), "axes");
    mask |= 1u << ax;
  }
  *out_mask = mask;
  return NULL;
}

MT_MUST_USE static mt_status *reduce_check_dtype(const reduce_kind *k, mt_dtype dt) {
  bool ok = mt_dtype_is_float_any(dt) || mt_dtype_is_integer(dt) ||
            (dt == MT_DTYPE_BOOL && (k->op == MT_REDUCE_MAX || k->op == MT_REDUCE_MIN));
  if (!ok) return MT_ERR(UNIMPLEMENTED, "%s on %s input", k->op_type, mt_dtype_name(dt));
  return NULL;
}

MT_MUST_USE static mt_status *reduce_infer(mt_op_ctx *c) {
  const reduce_kind *k = reduce_kind_of(c->node);
  if (!k) return MT_ERR(INTERNAL, "not a reduce op");
  const mt_tensor *x = mt_op_input(c, 0);
  MT_RETURN_IF_ERROR_PLAIN(reduce_check_dtype(k, x->dtype));
  uint32_t mask;
  MT_RETURN_IF_ERROR_PLAIN(reduce_axes(c, k, &mask));
  bool keep = mt_node_attr_int(c->node, "keepdims", 1) != 0;
  int64_t dims[MT_MAX_RANK];
  int r = 0;
  for (int d = 0; d < x->rank; d++) {
    if (!((mask >> d) & 1u))
      dims[r++] = x->dims[d];
    else if (keep)
      dims[r++] = 1;
  }
  mt_op_set_output(c, 0, x->dtype, r, dims);
  return NULL;
}

MT_MUST_USE static mt_status *reduce_lower(const mt_op_ctx *c, mt_kernel_call *call) {
  const reduce_kind *k = reduce_kind_of(c->node);
  if (!k) return MT_ERR(INTERNAL, "not a reduce op");
  call->kind = MT_KERNEL_REDUCE;
  call->params.reduce.op = k->op;
  return reduce_axes(c, k, &call->params.reduce.axes_mask);
}

/* ---- ArgMax / ArgMin ----------------------------------------------------------------------- */

typedef struct axis_split {
  int axis;
  int64_t outer, n, inner;
} axis_split;

static void split_at(const mt_tensor *x, int axis, axis_split *s) {
  s->axis = axis;
  s->outer = mt_shape_numel(axis, x->dims);
  s->n = x->dims[axis];
  s->inner = mt_shape_numel(x->rank - axis - 1, x->dims + axis + 1);
}

MT_MUST_USE static mt_status *arg_axis(const mt_op_ctx *c, axis_split *s) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (x->rank < 1) return MT_ERR(INVALID_ARGUMENT, "input 0: expected rank >= 1, got 0");
  if (!mt_dtype_is_float_any(x->dtype) && !mt_dtype_is_integer(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "%s on %s input", c->node->op_type, mt_dtype_name(x->dtype));
  int axis;
  MT_RETURN_IF_ERROR(mt_normalize_axis(mt_node_attr_int(c->node, "axis", 0), x->rank, &axis),
                     "attribute axis");
  if (x->dims[axis] == 0)
    return MT_ERR(INVALID_ARGUMENT, "%s over an empty axis %d", c->node->op_type, axis);
  split_at(x, axis, s);
  return NULL;
}

MT_MUST_USE static mt_status *arg_infer(mt_op_ctx *c) {
  const mt_tensor *x = mt_op_input(c, 0);
  axis_split s;
  MT_RETURN_IF_ERROR_PLAIN(arg_axis(c, &s));
  bool keep = mt_node_attr_int(c->node, "keepdims", 1) != 0;
  int64_t dims[MT_MAX_RANK];
  int r = 0;
  for (int d = 0; d < x->rank; d++) {
    if (d != s.axis)
      dims[r++] = x->dims[d];
    else if (keep)
      dims[r++] = 1;
  }
  mt_op_set_output(c, 0, MT_DTYPE_INT64, r, dims);
  return NULL;
}

MT_MUST_USE static mt_status *arg_lower(const mt_op_ctx *c, mt_kernel_call *call) {
  axis_split s;
  MT_RETURN_IF_ERROR_PLAIN(arg_axis(c, &s));
  call->kind = MT_KERNEL_ARG_REDUCE;
  call->params.arg_reduce = (mt_kc_arg_reduce){
      .axis = s.axis,
      .is_min = strcmp(c->node->op_type, "ArgMin") == 0,
      .select_last = c->opset >= 12 && mt_node_attr_int(c->node, "select_last_index", 0) != 0,
  };
  return NULL;
}

/* ---- TopK ---------------------------------------------------------------------------------- */

MT_MUST_USE static mt_status *topk_params(const mt_op_ctx *c, axis_split *s, int64_t *out_k) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (x->rank < 1) return MT_ERR(INVALID_ARGUMENT, "input 0: expected rank >= 1, got 0");
  /* every supported numeric dtype: the kernel keys float64 as doubles and uint64 as unsigned */
  if (!mt_dtype_is_float_any(x->dtype) && !mt_dtype_is_integer_any(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "TopK on %s input", mt_dtype_name(x->dtype));
  int axis;
  MT_RETURN_IF_ERROR(mt_normalize_axis(mt_node_attr_int(c->node, "axis", -1), x->rank, &axis),
                     "attribute axis");
  int64_t k;
  if (c->opset < 10) {
    const mt_attr *a = mt_node_attr(c->node, "k");
    if (!a) return MT_ERR(INVALID_ARGUMENT, "missing attribute k");
    k = a->i;
  } else {
    const mt_tensor *kt = mt_op_input(c, 1);
    if (!kt) return MT_ERR(INVALID_ARGUMENT, "missing input 1 (K)");
    int64_t v[1];
    int n = 0;
    MT_RETURN_IF_ERROR(mt_read_int_list(kt, v, 1, &n), "input 1 (K)");
    if (n != 1) return MT_ERR(INVALID_ARGUMENT, "input 1 (K): expected one value, got %d", n);
    k = v[0];
  }
  if (k < 0 || (x->dims[axis] >= 0 && k > x->dims[axis]))
    return MT_ERR(INVALID_ARGUMENT, "k = %lld out of range for axis %d of size %lld", (long long)k,
                  axis, (long long)x->dims[axis]);
  split_at(x, axis, s);
  *out_k = k;
  return NULL;
}

MT_MUST_USE static mt_status *topk_infer(mt_op_ctx *c) {
  const mt_tensor *x = mt_op_input(c, 0);
  axis_split s;
  int64_t k;
  MT_RETURN_IF_ERROR_PLAIN(topk_params(c, &s, &k));
  int64_t dims[MT_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  dims[s.axis] = k;
  mt_op_set_output(c, 0, x->dtype, x->rank, dims);
  mt_op_set_output(c, 1, MT_DTYPE_INT64, x->rank, dims);
  return NULL;
}

MT_MUST_USE static mt_status *topk_lower(const mt_op_ctx *c, mt_kernel_call *call) {
  axis_split s;
  int64_t k;
  MT_RETURN_IF_ERROR_PLAIN(topk_params(c, &s, &k));
  call->kind = MT_KERNEL_TOPK;
  /* `sorted` = 0 leaves the order unspecified; sorted output is one valid answer. */
  call->params.topk =
      (mt_kc_topk){.axis = s.axis,
                   .k = k,
                   .largest = c->opset < 11 || mt_node_attr_int(c->node, "largest", 1) != 0};
  return NULL;
}

/* ---- CumSum -------------------------------------------------------------------------------- */

MT_MUST_USE static mt_status *cumsum_check(const mt_op_ctx *c) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (!mt_dtype_is_float_any(x->dtype) && x->dtype != MT_DTYPE_INT32 && x->dtype != MT_DTYPE_INT64)
    return MT_ERR(UNIMPLEMENTED, "CumSum on %s input", mt_dtype_name(x->dtype));
  const mt_tensor *a = mt_op_input(c, 1);
  if (a && a->rank > 1)
    return MT_ERR(INVALID_ARGUMENT, "input 1 (axis): expected a scalar, got rank %d", a->rank);
  return NULL;
}

MT_MUST_USE static mt_status *cumsum_infer(mt_op_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(cumsum_check(c));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

/* The axis is input 1's value, which the kernel reads: lowering needs only shapes. */
MT_MUST_USE static mt_status *cumsum_lower(const mt_op_ctx *c, mt_kernel_call *call) {
  MT_RETURN_IF_ERROR_PLAIN(cumsum_check(c));
  call->kind = MT_KERNEL_CUMSUM;
  call->params.cumsum.exclusive = mt_node_attr_int(c->node, "exclusive", 0) != 0;
  call->params.cumsum.reverse = mt_node_attr_int(c->node, "reverse", 0) != 0;
  return NULL;
}

#define REDUCE_OP(name)                                                                            \
  {                                                                                                \
    .op_type = name, .min_inputs = 1, .max_inputs = 2, .value_inputs = 1u << 1,                    \
    .pattern = MT_PATTERN_REDUCTION, .infer = reduce_infer, .lower = reduce_lower                  \
  }

const mt_op_def mt_ops_reduce[] = {
    REDUCE_OP("ReduceSum"),
    REDUCE_OP("ReduceMean"),
    REDUCE_OP("ReduceMax"),
    REDUCE_OP("ReduceMin"),
    REDUCE_OP("ReduceProd"),
    REDUCE_OP("ReduceL1"),
    REDUCE_OP("ReduceL2"),
    REDUCE_OP("ReduceSumSquare"),
    REDUCE_OP("ReduceLogSum"),
    REDUCE_OP("ReduceLogSumExp"),
    {.op_type = "ArgMax",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_REDUCTION,
     .infer = arg_infer,
     .lower = arg_lower},
    {.op_type = "ArgMin",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_REDUCTION,
     .infer = arg_infer,
     .lower = arg_lower},
    {.op_type = "TopK",
     .min_inputs = 1,
     .max_inputs = 2,
     .value_inputs = 1u << 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = topk_infer,
     .lower = topk_lower},
    {.op_type = "CumSum",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_REDUCTION,
     .infer = cumsum_infer,
     .lower = cumsum_lower},
    {0},
};
