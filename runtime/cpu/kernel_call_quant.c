/* Kernel calls for quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear and the
 * integer matmul / convolution family (MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv).
 *
 * The arithmetic repeats the ONNX reference implementation step by step (see quant.h), because its
 * outputs are the conformance data: quantizing rounds x / scale in x's float type (float16 through
 * float, rounded back to half), then rint (half to even), adds the zero point and saturates;
 * integer products are exact. Out-of-range quotients saturate (the spec's rule) where the
 * reference's int32 cast would wrap. Float8 types take the quotient rounded to the format (saturated
 * or not per the call) and give it back widened times the scale; their zero point must be 0 (the
 * spec's rule: the reference ignores it, so a nonzero one is refused rather than dropped).
 * float4e2m1 is handled like float8 (always saturating), the packed int4/uint4/int2/uint2 like the
 * wider integers, through the packed-aware element accessors of tensor.h. */
#include <math.h>
#include <stdlib.h>

#include "runtime/cpu/float8.h"
#include "runtime/cpu/kernel_call.h"

/* v rounded to dt's precision: a float16 or bfloat16 computation's intermediate. */
static float in_precision(float v, mt_dtype dt) {
  return mt_dtype_is_float16_like(dt) ? mt_f16like_to_float(dt, mt_float_to_f16like(dt, v)) : v;
}

/* rint(v) + zp, saturated to [lo, hi] (NaN gives zp's saturation of 0, as a cast would not). */
static double saturate(double v, double lo, double hi) {
  if (isnan(v)) return 0 < lo ? lo : 0;
  return v < lo ? lo : (v > hi ? hi : v);
}

MT_MUST_USE static mt_status *check_param(const mt_tensor *t, const char *what,
                                          const mt_kc_quant *p, int64_t n) {
  if (!t) return NULL;
  int64_t want = p->mode == MT_QUANT_PER_TENSOR ? 1
                 : p->mode == MT_QUANT_PER_AXIS
                     ? p->axis_dim
                     : n / p->axis_dim * ((p->axis_dim + p->block - 1) / p->block);
  if (mt_tensor_numel(t) != want)
    return MT_ERR(INVALID_ARGUMENT, "%s holds %lld values, expected %lld", what,
                  (long long)mt_tensor_numel(t), (long long)want);
  return NULL;
}

/* A float8 / float4 zero point must be all zeros (+0 or -0): the format has no offset to add. */
MT_MUST_USE static mt_status *check_f8_zero(const mt_tensor *zp) {
  if (!zp) return NULL;
  for (int64_t i = 0; i < mt_tensor_numel(zp); i++)
    if (mt_tensor_get_f64(zp, i) != 0)
      return MT_ERR(INVALID_ARGUMENT, "a %s zero point must be 0", mt_dtype_name(zp->dtype));
  return NULL;
}

/* QuantizeLinear (quant) or DequantizeLinear over x with scale s and zero point zp. */
MT_MUST_USE static mt_status *run_qdq(const mt_kc_quant *p, bool quant, int n_inputs,
                                      const mt_tensor *const *in, mt_tensor *y) {
  const mt_tensor *x = in[0], *s = in[1], *zp = n_inputs > 2 ? in[2] : NULL;
  double lo = 0, hi = 0;
  mt_dtype qt = quant ? y->dtype : x->dtype;
  /* float8 and float4e2m1 round to their format (float4 always saturates: it has no inf/NaN) */
  bool f8 = mt_dtype_is_float8(qt) || qt == MT_DTYPE_FLOAT4E2M1;
  bool types = (mt_quant_range(qt, &lo, &hi) || f8 || (!quant && qt == MT_DTYPE_INT32)) &&
               mt_dtype_is_float(quant ? x->dtype : y->dtype);
  if (!types)
    return MT_ERR(UNIMPLEMENTED, "%s %s to %s", quant ? "quantize" : "dequantize",
                  mt_dtype_name(x->dtype), mt_dtype_name(y->dtype));
  int64_t n = mt_tensor_numel(x);
  if (p->mode != MT_QUANT_PER_TENSOR &&
      (p->axis_dim < 1 || p->inner < 1 || n % (p->axis_dim * p->inner)))
    return MT_ERR(INVALID_ARGUMENT, "quantization axis does not match the input");
  MT_RETURN_IF_ERROR_PLAIN(check_param(s, "scale", p, n));
  MT_RETURN_IF_ERROR_PLAIN(check_param(zp, "zero point", p, n));
  if (f8) {
    MT_RETURN_IF_ERROR_PLAIN(check_f8_zero(zp));
    zp = NULL;
  }
  if (quant && mt_dtype_is_packed(qt)) memset(y->data, 0, mt_tensor_nbytes(y)); /* padding bits */
  for (int64_t i = 0; i < n; i++) {
    int64_t k = mt_quant_param_index(p, i);
    if (quant) {
      float q =
          in_precision((float)mt_tensor_get_f64(x, i) / (float)mt_tensor_get_f64(s, k), x->dtype);
      if (qt == MT_DTYPE_FLOAT4E2M1) {
        mt_packed_set_code(y->data, qt, i, mt_float_to_fp4(q));
        continue;
      }
      if (f8) {
        ((uint8_t *)y->data)[i] = mt_float_to_f8(qt, q, p->saturate);
        continue;
      }
      double v = rint((double)q) + (zp ? (double)mt_tensor_get_i64(zp, k) : 0.0);
      mt_tensor_set_f64(y, i, saturate(v, lo, hi));
    } else {
      float xv = f8 ? (float)mt_tensor_get_f64(x, i) : (float)mt_tensor_get_i64(x, i);
      float d = xv - (zp ? (float)mt_tensor_get_i64(zp, k) : 0.0f);
      mt_tensor_set_f64(y, i, (double)(d * (float)mt_tensor_get_f64(s, k)));
    }
  }
  return NULL;
}

/* DynamicQuantizeLinear: the uint8 scale and zero point that cover [min(0, x), max(0, x)]. */
static void dyn_quant_params(float minx, float maxx, float *out_scale, float *out_zp) {
  float scale = (maxx == minx ? 1.0f : maxx - minx) / 255.0f;
  float zp = 0.0f - minx / scale;
  zp = zp < 0.0f ? 0.0f : (zp > 255.0f ? 255.0f : zp);
  *out_scale = scale;
  *out_zp = rintf(zp);
}

MT_MUST_USE static mt_status *run_dyn_quantize(const mt_tensor *x, int n_outputs, mt_tensor *out) {
  if (!mt_dtype_is_float(x->dtype) || n_outputs < 3 || out[0].dtype != MT_DTYPE_UINT8)
    return MT_ERR(UNIMPLEMENTED, "DynamicQuantizeLinear of %s", mt_dtype_name(x->dtype));
  int64_t n = mt_tensor_numel(x);
  float maxx = 0.0f, minx = 0.0f;
  for (int64_t i = 0; i < n; i++) {
    float v = (float)mt_tensor_get_f64(x, i);
    if (v > maxx) maxx = v;
    if (v < minx) minx = v;
  }
  float scale, zp;
  dyn_quant_params(minx, maxx, &scale, &zp);
  for (int64_t i = 0; i < n; i++) {
    float q = rintf((float)mt_tensor_get_f64(x, i) / scale) + zp;
    mt_tensor_set_f64(&out[0], i, saturate(q, 0, 255));
  }
  if (out[1].data) mt_tensor_set_f64(&out[1], 0, scale);
  if (out[2].data) mt_tensor_set_f64(&out[2], 0, zp);
  return NULL;
}

/* ---------------------------------------------------------------- integer matmul / conv */

/* Operand slot `slot` of the call, NULL when absent. */
static const mt_tensor *slot_input(const mt_kc_qlinear *p, int slot, int n_inputs,
                                   const mt_tensor *const *in) {
  int k = p->in[slot];
  return k >= 0 && k < n_inputs ? in[k] : NULL;
}

/* Element `at` of a per-tensor (1 value) or per-index (n values) parameter, `dflt` when absent. */
static double per_index(const mt_tensor *t, int64_t at, double dflt) {
  if (!t) return dflt;
  return mt_tensor_get_f64(t, mt_tensor_numel(t) == 1 ? 0 : at);
}

MT_MUST_USE static mt_status *check_per_index(const mt_tensor *t, const char *what, int64_t n) {
  if (t && mt_tensor_numel(t) != 1 && mt_tensor_numel(t) != n)
    return MT_ERR(INVALID_ARGUMENT, "%s holds %lld values, expected 1 or %lld", what,
                  (long long)mt_tensor_numel(t), (long long)n);
  return NULL;
}

/* The requantization of one output column / channel: a float multiplier computed in the scales'
 * type and the output's zero point and range. */
typedef struct requant {
  const mt_tensor *a_scale, *b_scale, *y_scale, *y_zp;
  double lo, hi;
} requant;

MT_MUST_USE static mt_status *requant_init(const mt_kc_qlinear *p, int n_inputs,
                                           const mt_tensor *const *in, const mt_tensor *y,
                                           int64_t n_cols, requant *r) {
  r->a_scale = slot_input(p, MT_QIN_A_SCALE, n_inputs, in);
  r->b_scale = slot_input(p, MT_QIN_B_SCALE, n_inputs, in);
  r->y_scale = slot_input(p, MT_QIN_Y_SCALE, n_inputs, in);
  r->y_zp = slot_input(p, MT_QIN_Y_ZP, n_inputs, in);
  if (!p->requantize) {
    if (y->dtype != MT_DTYPE_INT32) return MT_ERR(INVALID_ARGUMENT, "output must be int32");
    return NULL;
  }
  if (!r->a_scale || !r->b_scale || !r->y_scale || !mt_quant_range(y->dtype, &r->lo, &r->hi))
    return MT_ERR(INVALID_ARGUMENT, "requantization needs three scales and an 8/16-bit output");
  MT_RETURN_IF_ERROR_PLAIN(check_per_index(r->a_scale, "a scale", 1));
  MT_RETURN_IF_ERROR_PLAIN(check_per_index(r->b_scale, "b scale", n_cols));
  MT_RETURN_IF_ERROR_PLAIN(check_per_index(r->y_scale, "y scale", 1));
  return check_per_index(r->y_zp, "y zero point", 1);
}

/* The value stored for accumulator acc of column / channel col. */
static double requantize(double acc, float a_scale, float b_scale, float y_scale, mt_dtype sdt,
                         double y_zp, double lo, double hi) {
  float m = in_precision(in_precision(a_scale * b_scale, sdt) / y_scale, sdt);
  return saturate(rint(acc * (double)m + y_zp), lo, hi);
}

static void store_acc(const mt_kc_qlinear *p, const requant *r, mt_tensor *y, int64_t i,
                      int64_t col, int64_t acc) {
  int32_t a32 = (int32_t)(uint32_t)(uint64_t)acc; /* int32 arrays wrap in the reference */
  if (!p->requantize) {
    ((int32_t *)y->data)[i] = a32;
    return;
  }
  double v = requantize((double)a32, (float)per_index(r->a_scale, 0, 1),
                        (float)per_index(r->b_scale, col, 1), (float)per_index(r->y_scale, 0, 1),
                        r->a_scale->dtype, per_index(r->y_zp, 0, 0), r->lo, r->hi);
  mt_tensor_set_f64(y, i, v);
}

static bool is_q8(const mt_tensor *t) {
  return t && (t->dtype == MT_DTYPE_INT8 || t->dtype == MT_DTYPE_UINT8);
}

MT_MUST_USE static mt_status *run_qmatmul(const mt_kc_qlinear *p, int n_inputs,
                                          const mt_tensor *const *in, mt_tensor *y) {
  const mt_tensor *a = slot_input(p, MT_QIN_A, n_inputs, in),
                  *b = slot_input(p, MT_QIN_B, n_inputs, in);
  const mt_tensor *azp = slot_input(p, MT_QIN_A_ZP, n_inputs, in);
  const mt_tensor *bzp = slot_input(p, MT_QIN_B_ZP, n_inputs, in);
  if (!is_q8(a) || !is_q8(b) || a->rank < 1 || b->rank < 1)
    return MT_ERR(INVALID_ARGUMENT, "integer matmul takes int8/uint8 operands of rank >= 1");
  int64_t m = a->rank == 1 ? 1 : a->dims[a->rank - 2], k = a->dims[a->rank - 1];
  int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  int64_t n = b->rank == 1 ? 1 : b->dims[b->rank - 1];
  if (k != kb)
    return MT_ERR(INVALID_ARGUMENT, "inner dims %lld and %lld differ", (long long)k, (long long)kb);
  MT_RETURN_IF_ERROR_PLAIN(check_per_index(azp, "a zero point", m));
  MT_RETURN_IF_ERROR_PLAIN(check_per_index(bzp, "b zero point", n));
  requant r;
  MT_RETURN_IF_ERROR_PLAIN(requant_init(p, n_inputs, in, y, n, &r));
  /* batch dims broadcast numpy-style, aligned to the right */
  int ab = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
  int yb = ab > bb ? ab : bb;
  int64_t ybd[MT_MAX_RANK], batches = 1;
  for (int d = 0; d < yb; d++) {
    int da = d - (yb - ab), db = d - (yb - bb);
    int64_t x1 = da >= 0 ? a->dims[da] : 1, x2 = db >= 0 ? b->dims[db] : 1;
    if (x1 != x2 && x1 != 1 && x2 != 1)
      return MT_ERR(INVALID_ARGUMENT, "batch dims %lld and %lld do not broadcast", (long long)x1,
                    (long long)x2);
    ybd[d] = x1 == 1 ? x2 : x1;
    batches *= ybd[d];
  }
  if (mt_tensor_numel(y) != batches * m * n)
    return MT_ERR(INVALID_ARGUMENT, "output holds %lld values, expected %lld",
                  (long long)mt_tensor_numel(y), (long long)(batches * m * n));
  for (int64_t t = 0; t < batches; t++) {
    int64_t aoff = 0, boff = 0, ast = 1, bst = 1, rest = t;
    for (int d = yb - 1; d >= 0; d--) {
      int64_t yd = ybd[d];
      int64_t idx = rest % yd;
      rest /= yd;
      int da = d - (yb - ab), db = d - (yb - bb);
      if (da >= 0) {
        aoff += (a->dims[da] == 1 ? 0 : idx) * ast;
        ast *= a->dims[da];
      }
      if (db >= 0) {
        boff += (b->dims[db] == 1 ? 0 : idx) * bst;
        bst *= b->dims[db];
      }
    }
    aoff *= m * k;
    boff *= k * n;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        int64_t acc = 0, za = (int64_t)per_index(azp, i, 0), zb = (int64_t)per_index(bzp, j, 0);
        for (int64_t q = 0; q < k; q++)
          acc += (mt_tensor_get_i64(a, aoff + i * k + q) - za) *
                 (mt_tensor_get_i64(b, boff + q * n + j) - zb);
        store_acc(p, &r, y, (t * m + i) * n + j, j, acc);
      }
  }
  return NULL;
}

MT_MUST_USE static mt_status *run_qconv(const mt_kc_qlinear *p, int n_inputs,
                                        const mt_tensor *const *in, mt_tensor *y) {
  const mt_tensor *x = slot_input(p, MT_QIN_A, n_inputs, in),
                  *w = slot_input(p, MT_QIN_B, n_inputs, in);
  const mt_tensor *xzp = slot_input(p, MT_QIN_A_ZP, n_inputs, in);
  const mt_tensor *wzp = slot_input(p, MT_QIN_B_ZP, n_inputs, in);
  const mt_tensor *bias = slot_input(p, MT_QIN_BIAS, n_inputs, in);
  const mt_conv_geom *g = &p->geom;
  if (!is_q8(x) || !is_q8(w) || g->nsp < 1 || g->nsp > MT_CONV_MAX_SPATIAL || p->group < 1 ||
      p->c_out % p->group || p->c_in % p->group || x->rank != g->nsp + 2 ||
      mt_tensor_numel(x) != p->batch * p->c_in * mt_conv_geom_in_size(g) ||
      mt_tensor_numel(w) != p->c_out * (p->c_in / p->group) * mt_conv_geom_kernel_size(g) ||
      mt_tensor_numel(y) != p->batch * p->c_out * mt_conv_geom_out_size(g))
    return MT_ERR(INVALID_ARGUMENT, "integer conv: operands do not match the call's geometry");
  MT_RETURN_IF_ERROR_PLAIN(check_per_index(xzp, "x zero point", 1));
  MT_RETURN_IF_ERROR_PLAIN(check_per_index(wzp, "w zero point", p->c_out));
  if (bias && (bias->dtype != MT_DTYPE_INT32 || mt_tensor_numel(bias) != p->c_out))
    return MT_ERR(INVALID_ARGUMENT, "bias must be %lld int32 values", (long long)p->c_out);
  requant r;
  MT_RETURN_IF_ERROR_PLAIN(requant_init(p, n_inputs, in, y, p->c_out, &r));
  int64_t osz = mt_conv_geom_out_size(g), ksz = mt_conv_geom_kernel_size(g);
  int64_t isz = mt_conv_geom_in_size(g), cg = p->c_in / p->group, og = p->c_out / p->group;
  int64_t za = (int64_t)per_index(xzp, 0, 0);
  for (int64_t nb = 0; nb < p->batch; nb++)
    for (int64_t oc = 0; oc < p->c_out; oc++) {
      int64_t zb = (int64_t)per_index(wzp, oc, 0), ic0 = oc / og * cg;
      for (int64_t o = 0; o < osz; o++) {
        int64_t opos[MT_CONV_MAX_SPATIAL], rest = o;
        for (int d = g->nsp - 1; d >= 0; d--) {
          opos[d] = rest % g->out[d];
          rest /= g->out[d];
        }
        int64_t acc = bias ? mt_tensor_get_i64(bias, oc) : 0;
        for (int64_t ic = 0; ic < cg; ic++)
          for (int64_t t = 0; t < ksz; t++) {
            int64_t at = 0, trest = t;
            bool inside = true;
            int64_t tap[MT_CONV_MAX_SPATIAL];
            for (int d = g->nsp - 1; d >= 0; d--) {
              tap[d] = trest % g->kernel[d];
              trest /= g->kernel[d];
            }
            for (int d = 0; d < g->nsp; d++) {
              int64_t pos = opos[d] * g->stride[d] - g->pad_begin[d] + tap[d] * g->dilation[d];
              if (pos < 0 || pos >= g->in[d]) inside = false;
              at = at * g->in[d] + pos;
            }
            /* padding holds the zero point: it contributes nothing */
            if (!inside) continue;
            int64_t xv = mt_tensor_get_i64(x, (nb * p->c_in + ic0 + ic) * isz + at) - za;
            int64_t wv = mt_tensor_get_i64(w, (oc * cg + ic) * ksz + t) - zb;
            acc += xv * wv;
          }
        store_acc(p, &r, y, (nb * p->c_out + oc) * osz + o, oc, acc);
      }
    }
  return NULL;
}

mt_status *mt_cpu_kernel_run_quant(const mt_kernel_call *call, int n_inputs,
                                   const mt_tensor *const *inputs, int n_outputs,
                                   mt_tensor *outputs) {
  if (n_inputs < 1 || n_outputs < 1 || !inputs[0])
    return MT_ERR(INVALID_ARGUMENT, "quantization kernel without operands");
  switch (call->kind) {
  case MT_KERNEL_QUANTIZE:
  case MT_KERNEL_DEQUANTIZE:
    if (n_inputs < 2 || !inputs[1] || !mt_dtype_is_float(inputs[1]->dtype))
      return MT_ERR(INVALID_ARGUMENT, "expected a float scale as input 1");
    if (call->params.quant.mode >= MT_QUANT_MODE_COUNT ||
        (call->params.quant.mode == MT_QUANT_BLOCKED && call->params.quant.block < 1))
      return MT_ERR(INVALID_ARGUMENT, "quantization mode out of range");
    if (n_inputs > 2 && inputs[2] &&
        inputs[2]->dtype != (call->kind == MT_KERNEL_QUANTIZE ? outputs : inputs[0])->dtype)
      return MT_ERR(INVALID_ARGUMENT, "zero point type does not match");
    return run_qdq(&call->params.quant, call->kind == MT_KERNEL_QUANTIZE, n_inputs, inputs,
                   outputs);
  case MT_KERNEL_DYN_QUANTIZE: return run_dyn_quantize(inputs[0], n_outputs, outputs);
  case MT_KERNEL_QMATMUL: return run_qmatmul(&call->params.qlinear, n_inputs, inputs, outputs);
  case MT_KERNEL_QCONV: return run_qconv(&call->params.qlinear, n_inputs, inputs, outputs);
  default:
    return MT_ERR(INTERNAL, "kernel %s is not a quantization kernel",
                  mt_kernel_kind_name(call->kind));
  }
}
