/* Quantization ops: QuantizeLinear and DequantizeLinear (opsets 10, 13, 19, 21, 23: per-tensor,
 * per-axis from 13, blocked from 21, output_dtype from 21/23), DynamicQuantizeLinear,
 * MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv. They lower to the MT_KERNEL_QUANTIZE
 * family (runtime/cpu/quant.h, kernel_call_quant.c) and run as their own kernels (pattern opaque).
 *
 * The quantized types are int8, uint8, int16 and uint16 (and int32 for DequantizeLinear's input),
 * and the four float8 formats (opset 19 on: x / scale rounded to the format, saturated unless
 * saturate=0; the zero point must be 0), and the packed int4/uint4, int2/uint2 (saturated like
 * the wider integers) and float4e2m1 (rounded to the format and saturated; zero point 0).
 * QuantizeLinear's `precision` attribute (opset 23) is refused as unsupported. */
#include <string.h>

#include "ir/ops/nn_internal.h"
#include "runtime/cpu/float8.h"
#include "runtime/cpu/gemm.h"

static bool is_quant_type(mt_dtype dt) {
  double lo, hi;
  return mt_quant_range(dt, &lo, &hi) || mt_dtype_is_float8(dt) || dt == MT_DTYPE_FLOAT4E2M1;
}

static bool is_q8(const mt_tensor *t) {
  return t && (t->dtype == MT_DTYPE_UINT8 || t->dtype == MT_DTYPE_INT8);
}

/* ---------------------------------------------------------------- Quantize / Dequantize */

/* Scale / zero-point layout against x from the axis and block_size attributes. */
MT_MUST_USE static mt_status *quant_layout(const mt_op_ctx *c, const mt_tensor *x,
                                           const mt_tensor *s, mt_kc_quant *p) {
  memset(p, 0, sizeof *p);
  int64_t block = mt_node_attr_int(c->node, "block_size", 0);
  if (block < 0)
    return MT_ERR(INVALID_ARGUMENT, "block_size must be >= 0, got %lld", (long long)block);
  if (block == 0 && mt_tensor_numel(s) == 1 && s->rank <= 1) {
    p->mode = MT_QUANT_PER_TENSOR;
    return NULL;
  }
  int axis;
  MT_RETURN_IF_ERROR_PLAIN(mt_normalize_axis(mt_node_attr_int(c->node, "axis", 1), x->rank, &axis));
  p->axis_dim = x->dims[axis];
  p->inner = mt_shape_numel(x->rank - axis - 1, x->dims + axis + 1);
  if (block == 0) {
    if (s->rank != 1 || s->dims[0] != p->axis_dim)
      return MT_ERR(INVALID_ARGUMENT,
                    "scale must be a scalar or 1-D of %lld (axis %d), got rank %d",
                    (long long)p->axis_dim, axis, s->rank);
    p->mode = MT_QUANT_PER_AXIS;
    return NULL;
  }
  p->mode = MT_QUANT_BLOCKED;
  p->block = block;
  if (s->rank != x->rank)
    return MT_ERR(INVALID_ARGUMENT, "blocked scale must have rank %d, got %d", x->rank, s->rank);
  for (int d = 0; d < x->rank; d++) {
    int64_t want = d == axis ? (x->dims[d] + block - 1) / block : x->dims[d];
    if (s->dims[d] != want)
      return MT_ERR(INVALID_ARGUMENT, "blocked scale dim %d is %lld, expected %lld", d,
                    (long long)s->dims[d], (long long)want);
  }
  return NULL;
}

MT_MUST_USE static mt_status *check_zp(const mt_tensor *zp, const mt_tensor *s) {
  if (!zp) return NULL;
  /* a single value may differ in rank (a scalar scale with a [1] zero point, as the float8 cases) */
  if (mt_tensor_numel(zp) != mt_tensor_numel(s) || (zp->rank != s->rank && mt_tensor_numel(s) != 1))
    return MT_ERR(INVALID_ARGUMENT, "zero point must have the scale's shape");
  /* a float8 zero point must be 0: refused here when it is a constant, so the generated kernels
   * (which leave it out) never meet one; one fed at run time is checked by the reference kernel */
  if ((mt_dtype_is_float8(zp->dtype) || zp->dtype == MT_DTYPE_FLOAT4E2M1) && zp->data)
    for (int64_t i = 0; i < mt_tensor_numel(zp); i++)
      if (mt_tensor_get_f64(zp, i) != 0) /* +0 and -0 pass; NaN does not */
        return MT_ERR(INVALID_ARGUMENT, "a %s zero point must be 0", mt_dtype_name(zp->dtype));
  return NULL;
}

/* QuantizeLinear's output type: the zero point's, else output_dtype, else uint8. */
static mt_dtype quantize_out_type(const mt_node *n, const mt_tensor *zp) {
  if (zp) return zp->dtype;
  int64_t od = mt_node_attr_int(n, "output_dtype", 0);
  return od ? (mt_dtype)od : MT_DTYPE_UINT8;
}

MT_MUST_USE static mt_status *quantize_call(const mt_op_ctx *c, mt_dtype *out_dt, mt_kc_quant *p) {
  const mt_tensor *x = mt_op_input(c, 0), *s = mt_op_input(c, 1), *zp = mt_op_input(c, 2);
  if (!mt_dtype_is_float(x->dtype) || s->dtype != x->dtype)
    return MT_ERR(UNIMPLEMENTED, "quantizing %s with a %s scale", mt_dtype_name(x->dtype),
                  mt_dtype_name(s->dtype));
  if (mt_node_attr(c->node, "precision"))
    return MT_ERR(UNIMPLEMENTED, "QuantizeLinear's precision attribute");
  int64_t od = mt_node_attr_int(c->node, "output_dtype", 0);
  if (zp && od && od != zp->dtype)
    return MT_ERR(INVALID_ARGUMENT, "output_dtype %lld differs from the zero point's %s",
                  (long long)od, mt_dtype_name(zp->dtype));
  *out_dt = quantize_out_type(c->node, zp);
  if (!is_quant_type(*out_dt))
    return MT_ERR(UNIMPLEMENTED, "quantizing to %s (no such mtcc dtype yet)",
                  mt_dtype_name(*out_dt));
  MT_RETURN_IF_ERROR_PLAIN(check_zp(zp, s));
  MT_RETURN_IF_ERROR_PLAIN(quant_layout(c, x, s, p));
  /* saturate only means something for float8 (integers always saturate): keep it false there so
   * integer calls encode as before */
  p->saturate = mt_dtype_is_float8(*out_dt) && mt_node_attr_int(c->node, "saturate", 1) != 0;
  return NULL;
}

MT_MUST_USE static mt_status *dequantize_call(const mt_op_ctx *c, mt_dtype *out_dt,
                                              mt_kc_quant *p) {
  const mt_tensor *x = mt_op_input(c, 0), *s = mt_op_input(c, 1), *zp = mt_op_input(c, 2);
  if (!is_quant_type(x->dtype) && x->dtype != MT_DTYPE_INT32)
    return MT_ERR(UNIMPLEMENTED, "dequantizing %s (no such mtcc dtype yet)",
                  mt_dtype_name(x->dtype));
  if (!mt_dtype_is_float(s->dtype))
    return MT_ERR(UNIMPLEMENTED, "a %s scale", mt_dtype_name(s->dtype));
  if (zp && zp->dtype != x->dtype)
    return MT_ERR(INVALID_ARGUMENT, "zero point is %s, x is %s", mt_dtype_name(zp->dtype),
                  mt_dtype_name(x->dtype));
  int64_t od = mt_node_attr_int(c->node, "output_dtype", 0);
  *out_dt = od ? (mt_dtype)od : s->dtype;
  if (!mt_dtype_is_float(*out_dt))
    return MT_ERR(UNIMPLEMENTED, "dequantizing to %s", mt_dtype_name(*out_dt));
  MT_RETURN_IF_ERROR_PLAIN(check_zp(zp, s));
  return quant_layout(c, x, s, p);
}

/* QuantizeLinear and DequantizeLinear share the layout and the output shape. */
static bool is_quantize(const mt_op_ctx *c) {
  return strcmp(c->node->op_type, "QuantizeLinear") == 0;
}

MT_MUST_USE static mt_status *infer_qdq(mt_op_ctx *c) {
  mt_kc_quant p;
  mt_dtype dt;
  MT_RETURN_IF_ERROR_PLAIN(is_quantize(c) ? quantize_call(c, &dt, &p)
                                          : dequantize_call(c, &dt, &p));
  const mt_tensor *x = mt_op_input(c, 0);
  mt_op_set_output(c, 0, dt, x->rank, x->dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_qdq(const mt_op_ctx *c, mt_kernel_call *call) {
  mt_dtype dt;
  call->kind = is_quantize(c) ? MT_KERNEL_QUANTIZE : MT_KERNEL_DEQUANTIZE;
  return is_quantize(c) ? quantize_call(c, &dt, &call->params.quant)
                        : dequantize_call(c, &dt, &call->params.quant);
}

/* ---------------------------------------------------------------- DynamicQuantizeLinear */

MT_MUST_USE static mt_status *infer_dyn_quantize(mt_op_ctx *c) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (!mt_dtype_is_float(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "DynamicQuantizeLinear of %s", mt_dtype_name(x->dtype));
  mt_op_set_output(c, 0, MT_DTYPE_UINT8, x->rank, x->dims);
  if (mt_op_has_output(c, 1)) mt_op_set_output(c, 1, x->dtype, 0, NULL);
  if (mt_op_has_output(c, 2)) mt_op_set_output(c, 2, MT_DTYPE_UINT8, 0, NULL);
  return NULL;
}

MT_MUST_USE static mt_status *lower_dyn_quantize(const mt_op_ctx *c, mt_kernel_call *call) {
  if (!mt_dtype_is_float(mt_op_input(c, 0)->dtype))
    return MT_ERR(UNIMPLEMENTED, "DynamicQuantizeLinear of %s",
                  mt_dtype_name(mt_op_input(c, 0)->dtype));
  call->kind = MT_KERNEL_DYN_QUANTIZE;
  return NULL;
}

/* ---------------------------------------------------------------- integer matmul / conv */

/* Slots of omitted inputs are -1, so a call never names an input its node lacks. */
static void slots(const mt_op_ctx *c, mt_kc_qlinear *p, const int8_t *map) {
  memset(p, 0, sizeof *p);
  for (int i = 0; i < MT_QIN_COUNT; i++)
    p->in[i] = map[i] >= 0 && mt_op_input(c, map[i]) ? map[i] : -1;
}

/* Node input index of each MT_QIN_* slot, per op. */
static const int8_t matmul_integer_slots[MT_QIN_COUNT] = {0, 1, 2, 3, -1, -1, -1, -1, -1};
static const int8_t qlinear_matmul_slots[MT_QIN_COUNT] = {0, 3, 2, 5, 1, 4, 6, 7, -1};
static const int8_t qlinear_conv_slots[MT_QIN_COUNT] = {0, 3, 2, 5, 1, 4, 6, 7, 8};

MT_MUST_USE static mt_status *check_operand(const mt_op_ctx *c, int i, const char *what,
                                            const mt_tensor *like) {
  const mt_tensor *t = mt_op_input(c, i);
  if (!t) return NULL;
  if (like ? t->dtype != like->dtype : !mt_dtype_is_float(t->dtype))
    return MT_ERR(INVALID_ARGUMENT, "input %d (%s) has type %s", i, what, mt_dtype_name(t->dtype));
  if (t->rank > 1) return MT_ERR(UNIMPLEMENTED, "input %d (%s) of rank %d", i, what, t->rank);
  return NULL;
}

/* Types of a QLinear* op's scales and zero points; the output type. */
MT_MUST_USE static mt_status *qlinear_types(const mt_op_ctx *c, mt_dtype *out_dt) {
  const mt_tensor *a = mt_op_input(c, 0), *b = mt_op_input(c, 3), *yzp = mt_op_input(c, 7);
  if (!is_q8(a) || !is_q8(b))
    return MT_ERR(UNIMPLEMENTED, "QLinear operands of %s and %s", mt_dtype_name(a->dtype),
                  mt_dtype_name(b->dtype));
  MT_RETURN_IF_ERROR_PLAIN(check_operand(c, 1, "a scale", NULL));
  MT_RETURN_IF_ERROR_PLAIN(check_operand(c, 2, "a zero point", a));
  MT_RETURN_IF_ERROR_PLAIN(check_operand(c, 4, "b scale", mt_op_input(c, 1)));
  MT_RETURN_IF_ERROR_PLAIN(check_operand(c, 5, "b zero point", b));
  MT_RETURN_IF_ERROR_PLAIN(check_operand(c, 6, "y scale", mt_op_input(c, 1)));
  *out_dt = yzp ? yzp->dtype : a->dtype;
  if (!is_q8(yzp ? yzp : a))
    return MT_ERR(UNIMPLEMENTED, "QLinear output %s", mt_dtype_name(*out_dt));
  return NULL;
}

MT_MUST_USE static mt_status *qmatmul_call(const mt_op_ctx *c, mt_dtype *out_dt, mt_matmul_shape *s,
                                           mt_kc_qlinear *p) {
  bool ql = strcmp(c->node->op_type, "QLinearMatMul") == 0;
  const mt_tensor *a = mt_op_input(c, 0), *b = mt_op_input(c, ql ? 3 : 1);
  if (ql) {
    MT_RETURN_IF_ERROR_PLAIN(qlinear_types(c, out_dt));
  } else {
    if (!is_q8(a) || !is_q8(b))
      return MT_ERR(UNIMPLEMENTED, "MatMulInteger of %s and %s", mt_dtype_name(a->dtype),
                    mt_dtype_name(b->dtype));
    MT_RETURN_IF_ERROR_PLAIN(check_operand(c, 2, "a zero point", a));
    MT_RETURN_IF_ERROR_PLAIN(check_operand(c, 3, "b zero point", b));
    *out_dt = MT_DTYPE_INT32;
  }
  MT_RETURN_IF_ERROR_PLAIN(mt_cpu_matmul_shape(a->rank, a->dims, b->rank, b->dims, s));
  slots(c, p, ql ? qlinear_matmul_slots : matmul_integer_slots);
  p->requantize = ql;
  return NULL;
}

MT_MUST_USE static mt_status *infer_qmatmul(mt_op_ctx *c) {
  mt_dtype dt;
  mt_matmul_shape s;
  mt_kc_qlinear p;
  MT_RETURN_IF_ERROR_PLAIN(qmatmul_call(c, &dt, &s, &p));
  mt_op_set_output(c, 0, dt, s.out_rank, s.out);
  return NULL;
}

MT_MUST_USE static mt_status *lower_qmatmul(const mt_op_ctx *c, mt_kernel_call *call) {
  mt_dtype dt;
  mt_matmul_shape s;
  call->kind = MT_KERNEL_QMATMUL;
  return qmatmul_call(c, &dt, &s, &call->params.qlinear);
}

MT_MUST_USE static mt_status *qconv_call(const mt_op_ctx *c, mt_dtype *out_dt, mt_kc_qlinear *p) {
  bool ql = strcmp(c->node->op_type, "QLinearConv") == 0;
  const mt_tensor *x = mt_op_input(c, 0), *w = mt_op_input(c, ql ? 3 : 1);
  if (ql) {
    MT_RETURN_IF_ERROR_PLAIN(qlinear_types(c, out_dt));
    const mt_tensor *bias = mt_op_input(c, 8);
    if (bias && (bias->dtype != MT_DTYPE_INT32 || bias->rank != 1 || bias->dims[0] != w->dims[0]))
      return MT_ERR(INVALID_ARGUMENT, "B must be %lld int32 values", (long long)w->dims[0]);
  } else {
    if (!is_q8(x) || !is_q8(w))
      return MT_ERR(UNIMPLEMENTED, "ConvInteger of %s and %s", mt_dtype_name(x->dtype),
                    mt_dtype_name(w->dtype));
    MT_RETURN_IF_ERROR_PLAIN(check_operand(c, 2, "x zero point", x));
    MT_RETURN_IF_ERROR_PLAIN(check_operand(c, 3, "w zero point", w));
    *out_dt = MT_DTYPE_INT32;
  }
  if (x->rank < 3 || w->rank != x->rank)
    return MT_ERR(INVALID_ARGUMENT, "X and W must share a rank >= 3, got %d and %d", x->rank,
                  w->rank);
  slots(c, p, ql ? qlinear_conv_slots : matmul_integer_slots);
  p->requantize = ql;
  p->group = mt_node_attr_int(c->node, "group", 1);
  p->batch = x->dims[0];
  p->c_in = x->dims[1];
  p->c_out = w->dims[0];
  if (p->group < 1 || p->c_in % p->group || p->c_out % p->group || w->dims[1] * p->group != p->c_in)
    return MT_ERR(INVALID_ARGUMENT, "%lld input and %lld output channels do not fit %lld groups",
                  (long long)p->c_in, (long long)p->c_out, (long long)p->group);
  mt_nn_window win;
  MT_RETURN_IF_ERROR_PLAIN(mt_nn_window_parse(c->node, x->rank - 2, w->dims + 2, &win));
  win.ceil_mode = false;
  return mt_nn_window_forward(&win, x->dims + 2, &p->geom);
}

MT_MUST_USE static mt_status *infer_qconv(mt_op_ctx *c) {
  mt_dtype dt;
  mt_kc_qlinear p;
  MT_RETURN_IF_ERROR_PLAIN(qconv_call(c, &dt, &p));
  int64_t dims[MT_MAX_RANK] = {p.batch, p.c_out};
  for (int d = 0; d < p.geom.nsp; d++) dims[2 + d] = p.geom.out[d];
  mt_op_set_output(c, 0, dt, p.geom.nsp + 2, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_qconv(const mt_op_ctx *c, mt_kernel_call *call) {
  mt_dtype dt;
  call->kind = MT_KERNEL_QCONV;
  return qconv_call(c, &dt, &call->params.qlinear);
}

/* ---------------------------------------------------------------- the table */

#define QDEF(name, lo, hi, inf, low)                                                               \
  {                                                                                                \
    .op_type = name, .min_inputs = lo, .max_inputs = hi, .pattern = MT_PATTERN_OPAQUE,             \
    .infer = inf, .lower = low                                                                     \
  }

const mt_op_def mt_ops_quant[] = {
    QDEF("QuantizeLinear", 2, 3, infer_qdq, lower_qdq),
    QDEF("DequantizeLinear", 2, 3, infer_qdq, lower_qdq),
    QDEF("DynamicQuantizeLinear", 1, 1, infer_dyn_quantize, lower_dyn_quantize),
    QDEF("MatMulInteger", 2, 4, infer_qmatmul, lower_qmatmul),
    QDEF("QLinearMatMul", 8, 8, infer_qmatmul, lower_qmatmul),
    QDEF("ConvInteger", 2, 4, infer_qconv, lower_qconv),
    QDEF("QLinearConv", 8, 9, infer_qconv, lower_qconv),
    {0},
};
