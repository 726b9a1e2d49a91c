/* Shape family, ops that make tensors from shapes, attributes or scalars: Shape, Size,
 * ConstantOfShape, Constant, Range, NonZero.
 *
 * Shape and Size are flagged MT_OP_VALUE_FROM_SHAPES, so their kernel also serves static inference:
 * it reads only input dims, which lets Shape->Gather->Concat->Reshape chains fold at compile time.
 * NonZero's output extent depends on data: infer computes it when the input is known and otherwise
 * says so; its kernel allocates its own output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ops/shape_ops.h"
#include "runtime/cpu/layout.h"

/* --- Shape / Size */

static void shape_range(const mt_op_ctx *ctx, int rank, int64_t *start, int64_t *end) {
  int64_t s = 0, e = rank;
  if (ctx->opset >= 15) { /* start/end attributes, clamped like Python slicing */
    s = mt_node_attr_int(ctx->node, "start", 0);
    e = mt_node_attr_int(ctx->node, "end", rank);
    if (s < 0) s += rank;
    if (e < 0) e += rank;
    s = s < 0 ? 0 : s > rank ? rank : s;
    e = e < 0 ? 0 : e > rank ? rank : e;
  }
  *start = s;
  *end = e < s ? s : e;
}

mt_status *mt_shape_shape_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  int64_t s, e;
  shape_range(ctx, ctx->inputs[0]->rank, &s, &e);
  int64_t n = e - s;
  mt_op_set_output(ctx, 0, MT_DTYPE_INT64, 1, &n);
  return NULL;
}

mt_status *mt_shape_shape_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  out_call->kind = MT_KERNEL_SHAPE;
  shape_range(ctx, ctx->inputs[0]->rank, &out_call->params.shape.start,
              &out_call->params.shape.end);
  return NULL;
}

mt_status *mt_shape_size_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  mt_op_set_output(ctx, 0, MT_DTYPE_INT64, 0, NULL);
  return NULL;
}

mt_status *mt_shape_size_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  (void)ctx;
  out_call->kind = MT_KERNEL_SIZE;
  return NULL;
}

/* --- ConstantOfShape */

/* The fill value: the 'value' attribute's single element, or float32 0 by default. */
MT_MUST_USE static mt_status *fill_value(const mt_op_ctx *ctx, mt_tensor *v) {
  static const float zero = 0.0f;
  const mt_attr *a = mt_node_attr(ctx->node, "value");
  if (!a) {
    *v = (mt_tensor){.dtype = MT_DTYPE_FLOAT32, .rank = 0, .data = (void *)&zero};
    return NULL;
  }
  if (a->type != MT_ATTR_TENSOR)
    return MT_ERR(INVALID_ARGUMENT, "attribute 'value' is not a tensor");
  mt_constant_view(mt_module_constant(ctx->module, a->constant), v);
  if (mt_tensor_numel(v) != 1)
    return MT_ERR(INVALID_ARGUMENT, "attribute 'value' must hold one element, has %lld",
                  (long long)mt_tensor_numel(v));
  if (!mt_dtype_supported(v->dtype))
    return MT_ERR(UNIMPLEMENTED, "value dtype %s is not supported", mt_dtype_name(v->dtype));
  return NULL;
}

mt_status *mt_shape_constant_of_shape_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  mt_tensor v;
  MT_RETURN_IF_ERROR_PLAIN(fill_value(ctx, &v));
  int64_t dims[MT_MAX_RANK];
  int n;
  MT_RETURN_IF_ERROR(mt_read_int_list(ctx->inputs[0], dims, MT_MAX_RANK, &n), "input 0 (shape)");
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_dims_check(n, dims, v.dtype));
  mt_op_set_output(ctx, 0, v.dtype, n, dims);
  return NULL;
}

mt_status *mt_shape_constant_of_shape_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  mt_tensor v;
  MT_RETURN_IF_ERROR_PLAIN(fill_value(ctx, &v));
  size_t es = mt_dtype_size(v.dtype);
  if (es > sizeof out_call->params.fill.value)
    return MT_ERR(UNIMPLEMENTED, "value dtype %s is not supported", mt_dtype_name(v.dtype));
  out_call->kind = MT_KERNEL_CONSTANT_OF_SHAPE;
  out_call->params.fill.dtype = v.dtype;
  memcpy(out_call->params.fill.value, v.data, es);
  return NULL;
}

/* --- Constant */

const char *mt_shape_constant_unsupported(const mt_node *node) {
  if (mt_node_attr(node, "value_string") || mt_node_attr(node, "value_strings"))
    return "Constant with string values";
  return NULL;
}

/* A view of the constant's value; data points into the module or the attribute. */
MT_MUST_USE static mt_status *constant_value(const mt_op_ctx *ctx, mt_tensor *v) {
  const mt_node *n = ctx->node;
  memset(v, 0, sizeof *v);
  /* ONNX requires exactly one value attribute; with two, which one a reader takes is arbitrary. */
  static const char *const kinds[] = {"value",     "sparse_value", "value_float",  "value_floats",
                                      "value_int", "value_ints",   "value_string", "value_strings"};
  int n_values = 0;
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    n_values += mt_node_attr(n, kinds[k]) != NULL;
  if (n_values > 1)
    return MT_ERR(INVALID_ARGUMENT, "Constant has %d value attributes; exactly one is allowed",
                  n_values);
  const mt_attr *a;
  if ((a = mt_node_attr(n, "value")) || (a = mt_node_attr(n, "sparse_value"))) {
    if (a->type != MT_ATTR_TENSOR)
      return MT_ERR(INVALID_ARGUMENT, "attribute '%s' is not a dense tensor", a->name);
    mt_constant_view(mt_module_constant(ctx->module, a->constant), v);
  } else if ((a = mt_node_attr(n, "value_float"))) {
    *v = (mt_tensor){.dtype = MT_DTYPE_FLOAT32, .rank = 0, .data = (void *)&a->f};
  } else if ((a = mt_node_attr(n, "value_int"))) {
    *v = (mt_tensor){.dtype = MT_DTYPE_INT64, .rank = 0, .data = (void *)&a->i};
  } else if ((a = mt_node_attr(n, "value_floats"))) {
    *v = (mt_tensor){.dtype = MT_DTYPE_FLOAT32, .rank = 1, .dims = {a->count}, .data = a->floats};
  } else if ((a = mt_node_attr(n, "value_ints"))) {
    *v = (mt_tensor){.dtype = MT_DTYPE_INT64, .rank = 1, .dims = {a->count}, .data = a->ints};
  } else if (mt_node_attr(n, "value_string") || mt_node_attr(n, "value_strings")) {
    return MT_ERR(UNIMPLEMENTED, "string constants are not supported");
  } else {
    return MT_ERR(INVALID_ARGUMENT, "Constant has no value attribute");
  }
  if (!mt_dtype_supported(v->dtype))
    return MT_ERR(UNIMPLEMENTED, "constant dtype %s is not supported", mt_dtype_name(v->dtype));
  return NULL;
}

mt_status *mt_shape_constant_infer(mt_op_ctx *ctx) {
  mt_tensor v;
  MT_RETURN_IF_ERROR_PLAIN(constant_value(ctx, &v));
  mt_op_set_output(ctx, 0, v.dtype, v.rank, v.dims);
  return NULL;
}

mt_status *mt_shape_constant_run(mt_op_ctx *ctx) {
  mt_tensor v;
  MT_RETURN_IF_ERROR_PLAIN(constant_value(ctx, &v));
  size_t nbytes = mt_tensor_nbytes(&v);
  if (nbytes != mt_tensor_nbytes(&ctx->outputs[0]))
    return MT_ERR(INTERNAL, "output size differs from the constant's");
  if (nbytes) memcpy(ctx->outputs[0].data, v.data, nbytes);
  return NULL;
}

/* --- Range */

MT_MUST_USE static mt_status *range_check(const mt_op_ctx *ctx) {
  const mt_tensor *s = ctx->inputs[0];
  for (int i = 0; i < 3; i++) {
    const mt_tensor *t = ctx->inputs[i];
    if (mt_tensor_numel(t) != 1 || t->rank > 1)
      return MT_ERR(INVALID_ARGUMENT, "input %d: expected a scalar", i);
    if (t->dtype != s->dtype)
      return MT_ERR(INVALID_ARGUMENT, "input %d: dtype %s differs from input 0's %s", i,
                    mt_dtype_name(t->dtype), mt_dtype_name(s->dtype));
  }
  switch (s->dtype) {
  case MT_DTYPE_FLOAT32:
  case MT_DTYPE_FLOAT64:
  case MT_DTYPE_INT16:
  case MT_DTYPE_INT32:
  case MT_DTYPE_INT64: return NULL;
  case MT_DTYPE_FLOAT16:
  case MT_DTYPE_BFLOAT16:
    if (ctx->opset < 27)
      return MT_ERR(INVALID_ARGUMENT, "Range of dtype %s needs opset 27 (node has %d)",
                    mt_dtype_name(s->dtype), ctx->opset);
    return NULL;
  default: return MT_ERR(UNIMPLEMENTED, "Range of dtype %s", mt_dtype_name(s->dtype));
  }
}

/* Element count: max(ceil((limit - start) / delta), 0). */
MT_MUST_USE static mt_status *range_count(const mt_op_ctx *ctx, int64_t *out) {
  const mt_tensor *s = ctx->inputs[0], *l = ctx->inputs[1], *d = ctx->inputs[2];
  if (mt_dtype_is_float_any(s->dtype)) {
    double start = mt_tensor_get_f64(s, 0), limit = mt_tensor_get_f64(l, 0);
    double delta = mt_tensor_get_f64(d, 0);
    if (delta == 0.0) return MT_ERR(INVALID_ARGUMENT, "delta is 0");
    /* The difference in the dtype; the division in double for float32 and float64, as ONNX
     * Runtime computes it, and in float32 for the 16-bit floats, as the spec's function body
     * (opset 27) does after casting the difference and delta to float. */
    double n;
    if (s->dtype == MT_DTYPE_FLOAT32) {
      n = ceil((double)((float)limit - (float)start) / delta);
    } else if (s->dtype == MT_DTYPE_FLOAT64) {
      n = ceil((limit - start) / delta);
    } else {
      float diff =
          mt_f16like_to_float(s->dtype, mt_float_to_f16like(s->dtype, (float)(limit - start)));
      n = ceil((double)(diff / (float)delta));
    }
    if (isnan(n) || n >= 9.2e18)
      return MT_ERR(OUT_OF_RANGE, "Range length %g is not finite or too large", n);
    *out = n > 0 ? (int64_t)n : 0;
    return NULL;
  }
  int64_t start = mt_tensor_get_i64(s, 0), limit = mt_tensor_get_i64(l, 0);
  int64_t delta = mt_tensor_get_i64(d, 0);
  if (delta == 0) return MT_ERR(INVALID_ARGUMENT, "delta is 0");
  int64_t diff;
  if (__builtin_sub_overflow(limit, start, &diff))
    return MT_ERR(OUT_OF_RANGE, "limit - start overflows int64");
  if ((diff > 0) != (delta > 0) || diff == 0) {
    *out = 0;
    return NULL;
  }
  /* Same signs: round the quotient away from zero, i.e. up in magnitude. */
  int64_t q = diff / delta;
  *out = diff % delta ? q + 1 : q;
  return NULL;
}

mt_status *mt_shape_range_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  MT_RETURN_IF_ERROR_PLAIN(range_check(ctx));
  int64_t n;
  MT_RETURN_IF_ERROR_PLAIN(range_count(ctx, &n));
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_dims_check(1, &n, ctx->inputs[0]->dtype));
  mt_op_set_output(ctx, 0, ctx->inputs[0]->dtype, 1, &n);
  return NULL;
}

mt_status *mt_shape_range_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  MT_RETURN_IF_ERROR_PLAIN(range_check(ctx));
  int64_t n;
  MT_RETURN_IF_ERROR_PLAIN(range_count(ctx, &n)); /* the output's size, fixed by infer */
  out_call->kind = MT_KERNEL_RANGE;
  return NULL;
}

/* --- NonZero */

mt_status *mt_shape_nonzero_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  size_t es;
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_elem_size(x, &es));
  if (!x->data)
    return MT_ERR(UNIMPLEMENTED,
                  "output shape is data-dependent: NonZero of a value not known at compile time");
  int64_t dims[2] = {x->rank > 0 ? x->rank : 1,
                     mt_layout_count_nonzero(x->data, x->dtype, mt_tensor_numel(x))};
  mt_op_set_output(ctx, 0, MT_DTYPE_INT64, 2, dims);
  return NULL;
}

mt_status *mt_shape_nonzero_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  size_t es;
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_elem_size(ctx->inputs[0], &es));
  out_call->kind = MT_KERNEL_NONZERO;
  return NULL;
}
