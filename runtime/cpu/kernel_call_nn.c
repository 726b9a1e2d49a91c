/* Kernel calls of the nn family: GEMM, MatMul, convolutions, pooling, softmax, normalisations
 * and Einsum. float16 tensors are staged through float32 and rounded once per output element;
 * integer MatMul / Gemm accumulate exactly in int64. Parameters were decoded and validated when
 * the node was lowered (ir/ops/nn*.c); what is checked here depends on data or on input sizes
 * the lowering does not see in one place. */
#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/gemm.h"
#include "runtime/cpu/kernel_call.h"
#include "runtime/cpu/norm.h"
#include "runtime/cpu/pool.h"
#include "runtime/cpu/float64.h"
#include "runtime/cpu/staging.h"

static const mt_tensor *input_at(int n, const mt_tensor *const *inputs, int i) {
  return i < n ? inputs[i] : NULL;
}

static bool is_int_matmul_type(mt_dtype dt) {
  return dt == MT_DTYPE_INT32 || dt == MT_DTYPE_INT64 || dt == MT_DTYPE_INT8 ||
         dt == MT_DTYPE_UINT8;
}

/* ---------------------------------------------------------------- Gemm */

/* Integer Gemm: exact int64 products, alpha / beta applied in double. */
static void gemm_int(const mt_tensor *a, const mt_tensor *b, const mt_tensor *c, bool ta, bool tb,
                     int64_t m, int64_t n, int64_t k, double alpha, double beta, mt_tensor *y) {
  int64_t cm = c && c->rank == 2 ? c->dims[0] : 1,
          cn = c && c->rank >= 1 ? c->dims[c->rank - 1] : 1;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      int64_t acc = 0;
      for (int64_t p = 0; p < k; p++) {
        int64_t av = mt_tensor_get_i64(a, ta ? p * m + i : i * k + p);
        int64_t bv = mt_tensor_get_i64(b, tb ? j * k + p : p * n + j);
        acc += av * bv;
      }
      double v = alpha * (double)acc;
      if (c && beta != 0.0)
        v += beta * (double)mt_tensor_get_i64(c, (cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j));
      mt_tensor_set_f64(y, i * n + j, v);
    }
}

MT_MUST_USE static mt_status *run_gemm(const mt_kc_gemm *p, const mt_tensor *a, const mt_tensor *b,
                                       const mt_tensor *c, mt_tensor *y) {
  bool ta = p->trans_a, tb = p->trans_b;
  float alpha = p->alpha, beta = p->beta;
  int64_t m = y->dims[0], n = y->dims[1], k = ta ? a->dims[0] : a->dims[1];
  if (is_int_matmul_type(a->dtype)) {
    gemm_int(a, b, c, ta, tb, m, n, k, alpha, beta, y);
    return NULL;
  }
  if (a->dtype == MT_DTYPE_FLOAT64) { /* in double throughout, as ONNX Runtime */
    double *yd = y->data;
    const double *cd = c && beta != 0.0f ? c->data : NULL;
    int64_t cm = cd && c->rank == 2 ? c->dims[0] : 1;
    int64_t cn = cd && c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++)
        yd[i * n + j] = cd ? (double)beta * cd[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)] : 0.0;
    mt_cpu_dgemm(ta, tb, m, n, k, alpha, a->data, ta ? m : k, b->data, tb ? k : n, yd, n);
    return NULL;
  }
  const float *af, *bf, *cf = NULL;
  float *a_own = NULL, *b_own = NULL, *c_own = NULL, *yf, *y_own = NULL;
  mt_status *st = mt_cpu_stage_in_f32(a, &af, &a_own);
  if (!st) st = mt_cpu_stage_in_f32(b, &bf, &b_own);
  if (!st && c && beta != 0.0f) st = mt_cpu_stage_in_f32(c, &cf, &c_own);
  if (!st) st = mt_cpu_stage_out_f32(y, &yf, &y_own);
  if (!st) {
    if (cf) {
      /* ONNX Runtime skips C entirely when beta == 0; so do we (a NaN in C stays out). */
      int64_t cm = c->rank == 2 ? c->dims[0] : 1, cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
      for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
          yf[i * n + j] = beta * cf[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
    } else {
      memset(yf, 0, (size_t)(m * n) * sizeof(float));
    }
    st = mt_cpu_sgemm(ta, tb, m, n, k, alpha, af, ta ? m : k, bf, tb ? k : n, yf, n);
  }
  if (!st)
    mt_cpu_stage_finish_f32(y, y_own);
  else
    free(y_own);
  free(a_own);
  free(b_own);
  free(c_own);
  return st;
}

/* ---------------------------------------------------------------- MatMul */

/* Offsets of batch entry `bi` into A and B (in matrices), honouring broadcast. */
static void batch_offsets(const mt_matmul_shape *s, int64_t bi, int64_t *a_off, int64_t *b_off) {
  int64_t ao = 0, bo = 0, am = 1, bm = 1;
  for (int d = s->nb - 1; d >= 0; d--) {
    int64_t idx = bi % s->batch[d];
    bi /= s->batch[d];
    if (s->a_batch[d] != 1) ao += idx * am;
    if (s->b_batch[d] != 1) bo += idx * bm;
    am *= s->a_batch[d];
    bm *= s->b_batch[d];
  }
  *a_off = ao;
  *b_off = bo;
}

MT_MUST_USE static mt_status *run_matmul(const mt_tensor *a, const mt_tensor *b, mt_tensor *y) {
  mt_matmul_shape s;
  MT_RETURN_IF_ERROR_PLAIN(mt_cpu_matmul_shape(a->rank, a->dims, b->rank, b->dims, &s));
  int64_t nbatch = mt_shape_numel(s.nb, s.batch), b_numel = mt_shape_numel(s.nb, s.b_batch);
  int64_t mk = s.m * s.k, kn = s.k * s.n, mn = s.m * s.n;
  if (mt_tensor_numel(y) != nbatch * mn)
    return MT_ERR(INTERNAL, "MatMul output has %lld elements, expected %lld",
                  (long long)mt_tensor_numel(y), (long long)(nbatch * mn));
  if (is_int_matmul_type(a->dtype)) {
    for (int64_t bi = 0; bi < nbatch; bi++) {
      int64_t ao, bo;
      batch_offsets(&s, bi, &ao, &bo);
      for (int64_t i = 0; i < s.m; i++)
        for (int64_t j = 0; j < s.n; j++) {
          int64_t acc = 0;
          for (int64_t p = 0; p < s.k; p++)
            acc += mt_tensor_get_i64(a, ao * mk + i * s.k + p) *
                   mt_tensor_get_i64(b, bo * kn + p * s.n + j);
          mt_tensor_set_f64(y, bi * mn + i * s.n + j, (double)acc);
        }
    }
    return NULL;
  }
  if (a->dtype == MT_DTYPE_FLOAT64) { /* in double throughout, as ONNX Runtime */
    memset(y->data, 0, (size_t)(nbatch * mn) * sizeof(double));
    for (int64_t bi = 0; bi < nbatch; bi++) {
      int64_t ao, bo;
      batch_offsets(&s, bi, &ao, &bo);
      mt_cpu_dgemm(false, false, s.m, s.n, s.k, 1.0, (const double *)a->data + ao * mk, s.k,
                   (const double *)b->data + bo * kn, s.n, (double *)y->data + bi * mn, s.n);
    }
    return NULL;
  }
  const float *af, *bf;
  float *a_own = NULL, *b_own = NULL, *yf, *y_own = NULL;
  mt_status *st = mt_cpu_stage_in_f32(a, &af, &a_own);
  if (!st) st = mt_cpu_stage_in_f32(b, &bf, &b_own);
  if (!st) st = mt_cpu_stage_out_f32(y, &yf, &y_own);
  if (!st) {
    memset(yf, 0, (size_t)(nbatch * mn) * sizeof(float));
    if (b_numel == 1) {
      /* B is shared by every batch entry: one GEMM over all of A's rows. */
      st = mt_cpu_sgemm(false, false, nbatch * s.m, s.n, s.k, 1.0f, af, s.k, bf, s.n, yf, s.n);
    } else {
      for (int64_t bi = 0; bi < nbatch && !st; bi++) {
        int64_t ao, bo;
        batch_offsets(&s, bi, &ao, &bo);
        st = mt_cpu_sgemm(false, false, s.m, s.n, s.k, 1.0f, af + ao * mk, s.k, bf + bo * kn, s.n,
                          yf + bi * mn, s.n);
      }
    }
  }
  if (!st)
    mt_cpu_stage_finish_f32(y, y_own);
  else
    free(y_own);
  free(a_own);
  free(b_own);
  return st;
}

/* ---------------------------------------------------------------- Conv, ConvTranspose */

typedef mt_status *(*conv_kernel_fn)(const mt_conv_geom *g, int64_t batch, int64_t c_in,
                                     int64_t c_out, int64_t group, const float *x, const float *w,
                                     const float *bias, float *y);

/* Stages X, W, B as float32, runs `kernel`, rounds into Y. */
MT_MUST_USE static mt_status *run_conv(const mt_kc_conv *p, conv_kernel_fn kernel,
                                       const mt_tensor *x, const mt_tensor *w, const mt_tensor *b,
                                       mt_tensor *y) {
  const float *xf, *wf, *bf = NULL;
  float *x_own = NULL, *w_own = NULL, *b_own = NULL, *yf, *y_own = NULL;
  mt_status *st = mt_cpu_stage_in_f32(x, &xf, &x_own);
  if (!st) st = mt_cpu_stage_in_f32(w, &wf, &w_own);
  if (!st && b) st = mt_cpu_stage_in_f32(b, &bf, &b_own);
  if (!st) st = mt_cpu_stage_out_f32(y, &yf, &y_own);
  if (!st) st = kernel(&p->geom, p->batch, p->c_in, p->c_out, p->group, xf, wf, bf, yf);
  if (!st)
    mt_cpu_stage_finish_f32(y, y_own);
  else
    free(y_own);
  free(x_own);
  free(w_own);
  free(b_own);
  return st;
}

/* ---------------------------------------------------------------- pooling */

MT_MUST_USE static mt_status *run_pool(const mt_kc_pool *p, const mt_tensor *x, mt_tensor *y,
                                       int64_t *indices) {
  if (x->dtype == MT_DTYPE_FLOAT64) { /* MaxPool only: ir/ops/nn_pool.c refuses the others */
    if (!p->is_max || y->dtype != MT_DTYPE_FLOAT64)
      return MT_ERR(UNIMPLEMENTED, "float64 pooling other than MaxPool");
    mt_cpu_maxpool_f64(&p->geom, p->planes, x->data, y->data, indices, p->col_major);
    return NULL;
  }
  const float *xf;
  float *x_own = NULL, *yf, *y_own = NULL;
  mt_status *st = mt_cpu_stage_in_f32(x, &xf, &x_own);
  if (!st) st = mt_cpu_stage_out_f32(y, &yf, &y_own);
  if (!st) {
    if (p->is_max)
      mt_cpu_maxpool_f32(&p->geom, p->planes, xf, yf, indices, p->col_major);
    else
      mt_cpu_avgpool_f32(&p->geom, p->planes, xf, yf, p->count_include_pad);
    mt_cpu_stage_finish_f32(y, y_own);
  }
  free(x_own);
  return st;
}

MT_MUST_USE static mt_status *run_global_pool(bool is_max, const mt_tensor *x, mt_tensor *y) {
  if (x->rank < 2) return MT_ERR(INVALID_ARGUMENT, "X must have rank >= 2, got %d", x->rank);
  int64_t planes = x->dims[0] * x->dims[1];
  int64_t plane = mt_shape_numel(x->rank - 2, x->dims + 2);
  const float *xf;
  float *x_own = NULL, *yf, *y_own = NULL;
  mt_status *st = mt_cpu_stage_in_f32(x, &xf, &x_own);
  if (!st) st = mt_cpu_stage_out_f32(y, &yf, &y_own);
  if (!st) {
    if (is_max)
      mt_cpu_global_maxpool_f32(planes, plane, xf, yf);
    else
      mt_cpu_global_avgpool_f32(planes, plane, xf, yf);
    mt_cpu_stage_finish_f32(y, y_own);
  }
  free(x_own);
  return st;
}

/* ---------------------------------------------------------------- softmax */

MT_MUST_USE static mt_status *run_softmax(const mt_kc_softmax *p, const mt_tensor *x,
                                          mt_tensor *y) {
  if (x->dtype == MT_DTYPE_FLOAT64) {
    if (y->dtype != MT_DTYPE_FLOAT64) return MT_ERR(INTERNAL, "softmax: float64 in, not out");
    mt_cpu_softmax_f64(x->data, y->data, p->outer, p->n, p->inner, p->log);
    return NULL;
  }
  const float *xf;
  float *x_own = NULL, *yf, *y_own = NULL;
  mt_status *st = mt_cpu_stage_in_f32(x, &xf, &x_own);
  if (!st) st = mt_cpu_stage_out_f32(y, &yf, &y_own);
  if (!st) {
    mt_cpu_softmax_f32(xf, yf, p->outer, p->n, p->inner, p->log);
    mt_cpu_stage_finish_f32(y, y_own);
  }
  free(x_own);
  return st;
}

/* ---------------------------------------------------------------- BatchNormalization */

MT_MUST_USE static mt_status *run_batchnorm(const mt_kc_batchnorm *kp, int n_inputs,
                                            const mt_tensor *const *inputs, int n_outputs,
                                            mt_tensor *outputs) {
  if (n_inputs < 5) return MT_ERR(INVALID_ARGUMENT, "BatchNormalization takes 5 inputs");
  const mt_tensor *x = inputs[0];
  mt_tensor *y = &outputs[0];
  if (x->rank < 2) return MT_ERR(INVALID_ARGUMENT, "X must have rank >= 2, got %d", x->rank);
  int64_t batch = x->dims[0], c = x->dims[1];
  int64_t plane = mt_shape_numel(x->rank - 2, x->dims + 2);
  float eps = kp->epsilon, momentum = kp->momentum;
  bool training = kp->training;
  const float *p[5] = {0};
  float *own[5] = {0}, *yf, *y_own = NULL, *stats = NULL;
  mt_status *st = NULL;
  for (int i = 0; i < 5 && !st; i++) st = mt_cpu_stage_in_f32(inputs[i], &p[i], &own[i]);
  /* Opset 6/7 spatial = 0: parameters per (channel, position) instead of per channel. */
  bool per_element = false;
  if (!st && kp->allow_per_element && plane != 1 && mt_tensor_numel(inputs[1]) == c * plane)
    per_element = true;
  if (!st) {
    for (int i = 1; i < 5; i++) {
      int64_t want = per_element ? c * plane : c;
      if (mt_tensor_numel(inputs[i]) != want) {
        st = MT_ERR(INVALID_ARGUMENT, "input %d has %lld values, expected %lld", i,
                    (long long)mt_tensor_numel(inputs[i]), (long long)want);
        break;
      }
    }
  }
  if (!st && training && per_element)
    st = MT_ERR(UNIMPLEMENTED, "training mode with per-element statistics");
  if (!st) st = mt_cpu_stage_out_f32(y, &yf, &y_own);
  if (!st && training) {
    stats = malloc((size_t)(2 * (c > 0 ? c : 1)) * sizeof(float));
    if (!stats) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!st) {
    const float *mean = p[3], *var = p[4];
    if (training) {
      mt_cpu_channel_moments_f32(p[0], batch, c, plane, stats, stats + c);
      mean = stats;
      var = stats + c;
    }
    mt_cpu_batchnorm_f32(p[0], yf, batch, c, plane, p[1], p[2], mean, var, eps, per_element);
    mt_cpu_stage_finish_f32(y, y_own);
    y_own = NULL;
    for (int i = 1; i <= 2; i++) {
      if (i >= n_outputs || !outputs[i].data) continue;
      mt_tensor *o = &outputs[i];
      const float *given = p[2 + i], *batch_stat = i == 1 ? mean : var;
      for (int64_t k = 0; k < mt_tensor_numel(o); k++) {
        float v = training ? given[k] * momentum + batch_stat[k] * (1.0f - momentum) : given[k];
        if (mt_dtype_is_float16_like(o->dtype))
          ((uint16_t *)o->data)[k] = mt_float_to_f16like(o->dtype, v);
        else
          ((float *)o->data)[k] = v;
      }
    }
  }
  free(y_own);
  free(stats);
  for (int i = 0; i < 5; i++) free(own[i]);
  return st;
}

/* ---------------------------------------------------------------- Instance / LayerNormalization */

MT_MUST_USE static mt_status *run_instancenorm(const mt_kc_norm *kp, int n_inputs,
                                               const mt_tensor *const *inputs, mt_tensor *y) {
  if (n_inputs < 3) return MT_ERR(INVALID_ARGUMENT, "InstanceNormalization takes 3 inputs");
  const mt_tensor *x = inputs[0];
  if (x->rank < 3) return MT_ERR(INVALID_ARGUMENT, "input must have rank >= 3, got %d", x->rank);
  int64_t plane = mt_shape_numel(x->rank - 2, x->dims + 2);
  const float *p[3] = {0};
  float *own[3] = {0}, *yf, *y_own = NULL;
  mt_status *st = NULL;
  for (int i = 0; i < 3 && !st; i++) st = mt_cpu_stage_in_f32(inputs[i], &p[i], &own[i]);
  if (!st) st = mt_cpu_stage_out_f32(y, &yf, &y_own);
  if (!st) {
    mt_cpu_instancenorm_f32(p[0], yf, x->dims[0], x->dims[1], plane, p[1], p[2], kp->epsilon);
    mt_cpu_stage_finish_f32(y, y_own);
  }
  for (int i = 0; i < 3; i++) free(own[i]);
  return st;
}

/* Expands a Scale / B tensor (already float32) to the n = prod(dims) normalised elements. */
static void expand_param(const float *src, const mt_tensor *t, int nd, const int64_t *dims,
                         int64_t n, float *dst) {
  for (int64_t i = 0; i < n; i++) {
    int64_t rem = i, off = 0, mul = 1;
    for (int d = nd - 1; d >= 0; d--) {
      int64_t idx = rem % dims[d];
      rem /= dims[d];
      int td = d - (nd - t->rank);
      if (td >= 0) {
        if (t->dims[td] != 1) off += idx * mul;
        mul *= t->dims[td];
      }
    }
    dst[i] = src[off];
  }
}

MT_MUST_USE static mt_status *run_layernorm(const mt_kc_norm *kp, int n_inputs,
                                            const mt_tensor *const *inputs, int n_outputs,
                                            mt_tensor *outputs) {
  const mt_tensor *x = inputs[0], *sc = input_at(n_inputs, inputs, 1);
  const mt_tensor *bi = input_at(n_inputs, inputs, 2);
  mt_tensor *y = &outputs[0];
  if (!sc) return MT_ERR(INVALID_ARGUMENT, "LayerNormalization needs a Scale input");
  int axis = kp->axis;
  if (axis < 0 || axis >= x->rank) return MT_ERR(INVALID_ARGUMENT, "axis %d out of range", axis);
  int nd = x->rank - axis;
  int64_t rows = mt_shape_numel(axis, x->dims), n = mt_shape_numel(nd, x->dims + axis);
  const float *xf, *sf, *bf = NULL;
  float *x_own = NULL, *s_own = NULL, *b_own = NULL, *yf, *y_own = NULL;
  float *params = malloc((size_t)(2 * (n > 0 ? n : 1)) * sizeof(float));
  mt_status *st = params ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) st = mt_cpu_stage_in_f32(x, &xf, &x_own);
  if (!st) st = mt_cpu_stage_in_f32(sc, &sf, &s_own);
  if (!st && bi) st = mt_cpu_stage_in_f32(bi, &bf, &b_own);
  if (!st) st = mt_cpu_stage_out_f32(y, &yf, &y_own);
  if (!st) {
    expand_param(sf, sc, nd, x->dims + axis, n, params);
    if (bf) expand_param(bf, bi, nd, x->dims + axis, n, params + n);
    float *mean = n_outputs > 1 ? outputs[1].data : NULL;
    float *inv = n_outputs > 2 ? outputs[2].data : NULL;
    mt_cpu_layernorm_f32(xf, yf, rows, n, params, bf ? params + n : NULL, kp->epsilon, mean, inv);
    mt_cpu_stage_finish_f32(y, y_own);
  }
  free(params);
  free(x_own);
  free(s_own);
  free(b_own);
  return st;
}

/* ---------------------------------------------------------------- dispatch */

mt_status *mt_cpu_kernel_run_nn(const mt_kernel_call *call, int n_inputs,
                                const mt_tensor *const *inputs, int n_outputs, mt_tensor *outputs) {
  const mt_tensor *x = inputs[0];
  mt_tensor *y = &outputs[0];
  switch (call->kind) {
  case MT_KERNEL_GEMM:
    if (n_inputs < 2) return MT_ERR(INVALID_ARGUMENT, "gemm takes 2 or 3 inputs");
    return run_gemm(&call->params.gemm, x, inputs[1], input_at(n_inputs, inputs, 2), y);
  case MT_KERNEL_MATMUL:
    if (n_inputs < 2) return MT_ERR(INVALID_ARGUMENT, "matmul takes 2 inputs");
    return run_matmul(x, inputs[1], y);
  case MT_KERNEL_CONV:
  case MT_KERNEL_CONV_TRANSPOSE:
    if (n_inputs < 2) return MT_ERR(INVALID_ARGUMENT, "conv takes 2 or 3 inputs");
    return run_conv(&call->params.conv,
                    call->kind == MT_KERNEL_CONV ? mt_cpu_conv_f32 : mt_cpu_conv_transpose_f32, x,
                    inputs[1], input_at(n_inputs, inputs, 2), y);
  case MT_KERNEL_POOL:
    return run_pool(&call->params.pool, x, y, n_outputs > 1 ? (int64_t *)outputs[1].data : NULL);
  case MT_KERNEL_GLOBAL_POOL: return run_global_pool(call->params.global_pool.is_max, x, y);
  case MT_KERNEL_SOFTMAX: return run_softmax(&call->params.softmax, x, y);
  case MT_KERNEL_BATCHNORM:
    return run_batchnorm(&call->params.batchnorm, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_INSTANCENORM: return run_instancenorm(&call->params.norm, n_inputs, inputs, y);
  case MT_KERNEL_LAYERNORM:
    return run_layernorm(&call->params.norm, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_EINSUM: return mt_cpu_einsum(&call->params.einsum, n_inputs, inputs, y);
  default:
    return MT_ERR(INTERNAL, "kernel %s is not an nn kernel", mt_kernel_kind_name(call->kind));
  }
}
