/* ONNX binary and variadic elementwise ops: Add Sub Mul Div Pow PRelu, the comparisons, And Or
 * Xor, Sum Mean Min Max, and Where.
 *
 * From opset 7 all of them broadcast numpy-style (PRelu unidirectionally: slope to X). Before
 * opset 7 the arithmetic, comparison and logical ops broadcast only when the `broadcast`
 * attribute is 1, B then matching a contiguous run of A's dims ending at the last one, or
 * starting at `axis` when that is given; that form is rewritten here into a rank-aligned view of
 * B so the numpy kernels serve both. */
#include "ir/ops/elementwise_ops.h"
#include <string.h>

#include "runtime/cpu/elementwise.h"

/* Rewrites b into the shape the opset < 7 broadcast rules give it against a. */
MT_MUST_USE static mt_status *legacy_broadcast_view(const mt_op_ctx *c, const mt_tensor *a,
                                                    mt_tensor *b) {
  if (c->opset >= 7 || mt_node_attr_int(c->node, "broadcast", 0) == 0) return NULL;
  const mt_attr *axis_attr = mt_node_attr(c->node, "axis");
  if (!axis_attr) return NULL; /* suffix matching is what numpy does too */
  int64_t n_b = mt_tensor_numel(b);
  if (b->rank > a->rank)
    return MT_ERR(INVALID_ARGUMENT, "input 1 of rank %d cannot broadcast to rank %d", b->rank,
                  a->rank);
  int axis;
  MT_RETURN_IF_ERROR_PLAIN(mt_normalize_axis(axis_attr->i, a->rank > 0 ? a->rank : 1, &axis));
  if (n_b == 1 && b->rank <= 1) return NULL; /* a one-element B is a scalar wherever it goes */
  if (axis + b->rank > a->rank)
    return MT_ERR(INVALID_ARGUMENT, "axis %d with input 1 of rank %d exceeds rank %d", axis,
                  b->rank, a->rank);
  int64_t dims[MT_MAX_RANK];
  for (int d = 0; d < a->rank; d++) dims[d] = 1;
  for (int d = 0; d < b->rank; d++) dims[axis + d] = b->dims[d];
  b->rank = a->rank;
  for (int d = 0; d < a->rank; d++) b->dims[d] = dims[d];
  return NULL;
}

MT_MUST_USE static mt_status *get_operands(const mt_op_ctx *c, mt_tensor *a, mt_tensor *b) {
  const mt_tensor *ia = mt_op_input(c, 0), *ib = mt_op_input(c, 1);
  if (!ia || !ib) return MT_ERR(INVALID_ARGUMENT, "expected two inputs");
  *a = *ia;
  *b = *ib;
  return legacy_broadcast_view(c, a, b);
}

MT_MUST_USE static mt_status *infer_binary(mt_op_ctx *c, mt_ew_binary op, bool same_dtype,
                                           mt_dtype out_dt) {
  mt_tensor a, b;
  MT_RETURN_IF_ERROR_PLAIN(get_operands(c, &a, &b));
  if (same_dtype && a.dtype != b.dtype)
    return MT_ERR(INVALID_ARGUMENT, "inputs differ in dtype: %s vs %s", mt_dtype_name(a.dtype),
                  mt_dtype_name(b.dtype));
  if (!mt_cpu_ew_binary_supports(op, a.dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(a.dtype));
  int rank;
  int64_t dims[MT_MAX_RANK];
  MT_RETURN_IF_ERROR_PLAIN(mt_broadcast_shapes(a.rank, a.dims, b.rank, b.dims, &rank, dims));
  mt_op_set_output(c, 0, out_dt == MT_DTYPE_UNDEFINED ? a.dtype : out_dt, rank, dims);
  return NULL;
}

mt_status *mt_ew_infer_arith(mt_op_ctx *c) {
  return infer_binary(c, MT_EW_ADD, true, MT_DTYPE_UNDEFINED);
}
mt_status *mt_ew_infer_compare(mt_op_ctx *c) {
  return infer_binary(c, MT_EW_EQUAL, true, MT_DTYPE_BOOL);
}
mt_status *mt_ew_infer_logical(mt_op_ctx *c) {
  return infer_binary(c, MT_EW_AND, true, MT_DTYPE_BOOL);
}
mt_status *mt_ew_infer_pow(mt_op_ctx *c) {
  const mt_tensor *e = mt_op_input(c, 1);
  if (e && !(mt_dtype_is_float_any(e->dtype) || mt_dtype_is_integer_any(e->dtype)))
    return MT_ERR(UNIMPLEMENTED, "exponent dtype %s is not supported", mt_dtype_name(e->dtype));
  return infer_binary(c, MT_EW_POW, false, MT_DTYPE_UNDEFINED);
}

/* The call records the operand shapes as the kernel must view them (legacy forms re-view B). */
static void lower_views(mt_ew_binary op, const mt_tensor *a, const mt_tensor *b,
                        mt_kernel_call *call) {
  call->kind = MT_KERNEL_BINARY;
  mt_kc_binary *p = &call->params.binary;
  p->op = op;
  p->a_rank = a->rank;
  p->b_rank = b->rank;
  memcpy(p->a_dims, a->dims, sizeof p->a_dims);
  memcpy(p->b_dims, b->dims, sizeof p->b_dims);
}

MT_MUST_USE static mt_status *lower_binary(const mt_op_ctx *c, mt_ew_binary op,
                                           mt_kernel_call *call) {
  mt_tensor a, b;
  MT_RETURN_IF_ERROR_PLAIN(get_operands(c, &a, &b));
  lower_views(op, &a, &b, call);
  return NULL;
}

mt_status *mt_ew_lower_add(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_ADD, call);
}
mt_status *mt_ew_lower_sub(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_SUB, call);
}
mt_status *mt_ew_lower_mul(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_MUL, call);
}
mt_status *mt_ew_lower_div(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_DIV, call);
}
mt_status *mt_ew_lower_pow(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_POW, call);
}
mt_status *mt_ew_lower_equal(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_EQUAL, call);
}
mt_status *mt_ew_lower_less(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_LESS, call);
}
mt_status *mt_ew_lower_less_equal(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_LESS_EQUAL, call);
}
mt_status *mt_ew_lower_greater(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_GREATER, call);
}
mt_status *mt_ew_lower_greater_equal(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_GREATER_EQUAL, call);
}
mt_status *mt_ew_lower_and(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_AND, call);
}
mt_status *mt_ew_lower_or(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_OR, call);
}
mt_status *mt_ew_lower_xor(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_XOR, call);
}

/* ---- Mod, BitShift, BitwiseAnd/Or/Xor ---- */

/* Mod: fmod 0 (integers only) takes the divisor's sign, fmod 1 the dividend's (C's fmod). */
MT_MUST_USE static mt_status *mod_op(const mt_op_ctx *c, mt_dtype dt, mt_ew_binary *out_op) {
  int64_t fmod = mt_node_attr_int(c->node, "fmod", 0);
  if (fmod != 0 && fmod != 1)
    return MT_ERR(INVALID_ARGUMENT, "fmod must be 0 or 1, got %lld", (long long)fmod);
  /* Opset 28 defines fmod 0 for floats (numpy.mod); before, floats required fmod 1. */
  if (fmod == 0 && mt_dtype_is_float_any(dt) && c->opset < 28)
    return MT_ERR(INVALID_ARGUMENT, "Mod of floating-point inputs needs fmod = 1 before opset 28");
  *out_op = fmod ? MT_EW_FMOD : MT_EW_MOD;
  return NULL;
}

mt_status *mt_ew_infer_mod(mt_op_ctx *c) {
  const mt_tensor *a = mt_op_input(c, 0);
  mt_ew_binary op;
  if (!a) return MT_ERR(INVALID_ARGUMENT, "expected two inputs");
  MT_RETURN_IF_ERROR_PLAIN(mod_op(c, a->dtype, &op));
  return infer_binary(c, op, true, MT_DTYPE_UNDEFINED);
}

mt_status *mt_ew_lower_mod(const mt_op_ctx *c, mt_kernel_call *call) {
  const mt_tensor *a = mt_op_input(c, 0);
  mt_ew_binary op;
  if (!a) return MT_ERR(INVALID_ARGUMENT, "expected two inputs");
  MT_RETURN_IF_ERROR_PLAIN(mod_op(c, a->dtype, &op));
  return lower_binary(c, op, call);
}

MT_MUST_USE static mt_status *shift_op(const mt_op_ctx *c, mt_ew_binary *out_op) {
  const char *dir = mt_node_attr_string(c->node, "direction", "");
  if (strcmp(dir, "LEFT") == 0) {
    *out_op = MT_EW_SHIFT_LEFT;
  } else if (strcmp(dir, "RIGHT") == 0) {
    *out_op = MT_EW_SHIFT_RIGHT;
  } else {
    return MT_ERR(INVALID_ARGUMENT, "BitShift direction '%s' is neither 'LEFT' nor 'RIGHT'", dir);
  }
  return NULL;
}

mt_status *mt_ew_infer_bitshift(mt_op_ctx *c) {
  mt_ew_binary op;
  MT_RETURN_IF_ERROR_PLAIN(shift_op(c, &op));
  const mt_tensor *a = mt_op_input(c, 0);
  /* Signed types (arithmetic right shifts) arrive with opset 28. */
  if (a && c->opset < 28 && a->dtype != MT_DTYPE_UINT8 && a->dtype != MT_DTYPE_UINT16 &&
      a->dtype != MT_DTYPE_UINT32 && a->dtype != MT_DTYPE_UINT64)
    return MT_ERR(INVALID_ARGUMENT, "BitShift of %s needs opset 28, the model has %d",
                  mt_dtype_name(a->dtype), c->opset);
  return infer_binary(c, op, true, MT_DTYPE_UNDEFINED);
}

mt_status *mt_ew_lower_bitshift(const mt_op_ctx *c, mt_kernel_call *call) {
  mt_ew_binary op;
  MT_RETURN_IF_ERROR_PLAIN(shift_op(c, &op));
  return lower_binary(c, op, call);
}

mt_status *mt_ew_infer_bitwise(mt_op_ctx *c) {
  return infer_binary(c, MT_EW_BITWISE_AND, true, MT_DTYPE_UNDEFINED);
}
mt_status *mt_ew_lower_bitwise_and(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_BITWISE_AND, call);
}
mt_status *mt_ew_lower_bitwise_or(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_BITWISE_OR, call);
}
mt_status *mt_ew_lower_bitwise_xor(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_binary(c, MT_EW_BITWISE_XOR, call);
}

/* PRelu: slope broadcasts to X's shape (unidirectional). Before opset 7 a 1-D slope of X's
 * channel count applies per channel (axis 1), as those versions described. */
MT_MUST_USE static mt_status *prelu_operands(const mt_op_ctx *c, mt_tensor *x, mt_tensor *slope) {
  const mt_tensor *ix = mt_op_input(c, 0), *is = mt_op_input(c, 1);
  if (!ix || !is) return MT_ERR(INVALID_ARGUMENT, "expected two inputs");
  *x = *ix;
  *slope = *is;
  if (x->dtype != slope->dtype)
    return MT_ERR(INVALID_ARGUMENT, "X is %s but slope is %s", mt_dtype_name(x->dtype),
                  mt_dtype_name(slope->dtype));
  if (c->opset < 7 && slope->rank == 1 && x->rank >= 2 && slope->dims[0] == x->dims[1] &&
      slope->dims[0] != 1) {
    slope->rank = x->rank - 1;
    for (int d = 1; d < slope->rank; d++) slope->dims[d] = 1;
  }
  int rank;
  int64_t dims[MT_MAX_RANK];
  MT_RETURN_IF_ERROR_PLAIN(
      mt_broadcast_shapes(x->rank, x->dims, slope->rank, slope->dims, &rank, dims));
  bool same = rank == x->rank;
  for (int d = 0; same && d < rank; d++) same = dims[d] == x->dims[d];
  if (!same) return MT_ERR(INVALID_ARGUMENT, "slope does not broadcast to the shape of X");
  return NULL;
}

mt_status *mt_ew_infer_prelu(mt_op_ctx *c) {
  mt_tensor x, slope;
  MT_RETURN_IF_ERROR_PLAIN(prelu_operands(c, &x, &slope));
  if (!mt_cpu_ew_binary_supports(MT_EW_PRELU, x.dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(x.dtype));
  mt_op_set_output(c, 0, x.dtype, x.rank, x.dims);
  return NULL;
}

mt_status *mt_ew_lower_prelu(const mt_op_ctx *c, mt_kernel_call *call) {
  mt_tensor x, slope;
  MT_RETURN_IF_ERROR_PLAIN(prelu_operands(c, &x, &slope));
  lower_views(MT_EW_PRELU, &x, &slope, call);
  return NULL;
}

/* Variadic ops: every input has the first one's dtype; the output is their joint broadcast. */
MT_MUST_USE static mt_status *infer_variadic(mt_op_ctx *c, mt_ew_binary op) {
  const mt_tensor *first = mt_op_input(c, 0);
  if (!first) return MT_ERR(INVALID_ARGUMENT, "expected at least one input");
  if (!mt_cpu_ew_binary_supports(op, first->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(first->dtype));
  int rank = first->rank;
  int64_t dims[MT_MAX_RANK];
  for (int d = 0; d < rank; d++) dims[d] = first->dims[d];
  for (int i = 1; i < c->n_inputs; i++) {
    const mt_tensor *t = c->inputs[i];
    if (!t) return MT_ERR(INVALID_ARGUMENT, "input %d is missing", i);
    if (t->dtype != first->dtype)
      return MT_ERR(INVALID_ARGUMENT, "input %d is %s but input 0 is %s", i,
                    mt_dtype_name(t->dtype), mt_dtype_name(first->dtype));
    int64_t prev[MT_MAX_RANK];
    for (int d = 0; d < rank; d++) prev[d] = dims[d];
    MT_RETURN_IF_ERROR(mt_broadcast_shapes(rank, prev, t->rank, t->dims, &rank, dims), "input %d",
                       i);
  }
  mt_op_set_output(c, 0, first->dtype, rank, dims);
  return NULL;
}

mt_status *mt_ew_infer_variadic(mt_op_ctx *c) { return infer_variadic(c, MT_EW_MAX); }

mt_status *mt_ew_infer_mean(mt_op_ctx *c) {
  const mt_tensor *first = mt_op_input(c, 0);
  if (first && !mt_dtype_is_float(first->dtype))
    return MT_ERR(UNIMPLEMENTED, "Mean of %s is not supported", mt_dtype_name(first->dtype));
  return infer_variadic(c, MT_EW_ADD);
}

/* The kernel accumulates left to right in the output: out = in0 (broadcast), then
 * out = op(out, in_k); Mean divides at the end. */
MT_MUST_USE static mt_status *lower_variadic(const mt_op_ctx *c, mt_ew_binary op, bool mean,
                                             mt_kernel_call *call) {
  for (int i = 0; i < c->n_inputs; i++)
    if (!c->inputs[i]) return MT_ERR(INVALID_ARGUMENT, "input %d is missing", i);
  call->kind = MT_KERNEL_VARIADIC;
  call->params.variadic.op = op;
  call->params.variadic.mean = mean;
  return NULL;
}

mt_status *mt_ew_lower_sum(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_variadic(c, MT_EW_ADD, false, call);
}
mt_status *mt_ew_lower_min(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_variadic(c, MT_EW_MIN, false, call);
}
mt_status *mt_ew_lower_max(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_variadic(c, MT_EW_MAX, false, call);
}
mt_status *mt_ew_lower_mean(const mt_op_ctx *c, mt_kernel_call *call) {
  return lower_variadic(c, MT_EW_ADD, true, call);
}

mt_status *mt_ew_infer_where(mt_op_ctx *c) {
  const mt_tensor *cond = mt_op_input(c, 0), *x = mt_op_input(c, 1), *y = mt_op_input(c, 2);
  if (!cond || !x || !y) return MT_ERR(INVALID_ARGUMENT, "expected three inputs");
  if (cond->dtype != MT_DTYPE_BOOL)
    return MT_ERR(INVALID_ARGUMENT, "condition must be bool, got %s", mt_dtype_name(cond->dtype));
  if (x->dtype != y->dtype)
    return MT_ERR(INVALID_ARGUMENT, "X is %s but Y is %s", mt_dtype_name(x->dtype),
                  mt_dtype_name(y->dtype));
  int r1, rank;
  int64_t d1[MT_MAX_RANK], dims[MT_MAX_RANK];
  MT_RETURN_IF_ERROR_PLAIN(mt_broadcast_shapes(cond->rank, cond->dims, x->rank, x->dims, &r1, d1));
  MT_RETURN_IF_ERROR_PLAIN(mt_broadcast_shapes(r1, d1, y->rank, y->dims, &rank, dims));
  mt_op_set_output(c, 0, x->dtype, rank, dims);
  return NULL;
}

mt_status *mt_ew_lower_where(const mt_op_ctx *c, mt_kernel_call *call) {
  (void)c;
  call->kind = MT_KERNEL_WHERE;
  return NULL;
}
