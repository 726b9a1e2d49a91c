/* Kernel calls for LRN, normalisations over an axes set (MeanVarianceNormalization,
 * RMSNormalization, LpNormalization, GroupNormalization) and Lp pooling.
 *
 * Statistics accumulate in double, per output group in increasing element order (the order the
 * CUDA generator's one-thread-per-group loops repeat), then each element is computed in double
 * and rounded once into the tensor's dtype (float32 or float16). */
#include <math.h>
#include <stdlib.h>

#include "runtime/cpu/kernel_call.h"

/* Statistics group of element e (row-major over dims): its index over the dims outside mask. */
static int64_t group_of(const mt_kc_normalize *p, int64_t e) {
  int64_t g = 0, mul = 1;
  for (int d = p->rank - 1; d >= 0; d--) {
    int64_t c = e % p->dims[d];
    e /= p->dims[d];
    if (!(p->reduce_mask & (1u << d))) {
      g += c * mul;
      mul *= p->dims[d];
    }
  }
  return g;
}

/* Index into scale/bias of element e: row-major over the dims in param_mask. */
static int64_t param_of(const mt_kc_normalize *p, int64_t e) {
  int64_t g = 0, mul = 1;
  for (int d = p->rank - 1; d >= 0; d--) {
    int64_t c = e % p->dims[d];
    e /= p->dims[d];
    if (p->param_mask & (1u << d)) {
      g += c * mul;
      mul *= p->dims[d];
    }
  }
  return g;
}

static int64_t count_in(const mt_kc_normalize *p, uint32_t mask, bool inside) {
  int64_t n = 1;
  for (int d = 0; d < p->rank; d++)
    if (((mask >> d) & 1u) == (inside ? 1u : 0u)) n *= p->dims[d];
  return n;
}

MT_MUST_USE static mt_status *run_normalize(const mt_kc_normalize *p, int n_inputs,
                                            const mt_tensor *const *inputs, mt_tensor *y) {
  const mt_tensor *x = inputs[0];
  const mt_tensor *scale = n_inputs > 1 ? inputs[1] : NULL, *bias = n_inputs > 2 ? inputs[2] : NULL;
  if (!mt_dtype_is_float(x->dtype) || y->dtype != x->dtype)
    return MT_ERR(UNIMPLEMENTED, "normalisation of %s", mt_dtype_name(x->dtype));
  if (p->rank < 1 || p->rank > MT_MAX_RANK ||
      mt_shape_numel(p->rank, p->dims) != mt_tensor_numel(x))
    return MT_ERR(INVALID_ARGUMENT, "normalize call view does not match the input");
  int64_t n = mt_tensor_numel(x), groups = count_in(p, p->reduce_mask, false);
  int64_t cnt = count_in(p, p->reduce_mask, true), nparams = count_in(p, p->param_mask, true);
  bool scaled = p->kind == MT_NORMALIZE_RMS || p->kind == MT_NORMALIZE_GROUP;
  if (scaled && (!scale || mt_tensor_numel(scale) != nparams || scale->dtype != x->dtype))
    return MT_ERR(INVALID_ARGUMENT, "input 1: scale must hold %lld %s values", (long long)nparams,
                  mt_dtype_name(x->dtype));
  if (p->kind == MT_NORMALIZE_GROUP &&
      (!bias || mt_tensor_numel(bias) != nparams || bias->dtype != x->dtype))
    return MT_ERR(INVALID_ARGUMENT, "input 2: bias must hold %lld %s values", (long long)nparams,
                  mt_dtype_name(x->dtype));
  double *s1 = calloc((size_t)(groups > 0 ? groups : 1), sizeof *s1);
  double *s2 = calloc((size_t)(groups > 0 ? groups : 1), sizeof *s2);
  if (!s1 || !s2) {
    free(s1);
    free(s2);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  /* first pass: sums (MVN: of x and x^2; RMS/Lp2: of x^2; Lp1: of |x|; Group: of x) */
  for (int64_t e = 0; e < n; e++) {
    double v = mt_tensor_get_f64(x, e);
    int64_t g = group_of(p, e);
    switch (p->kind) {
    case MT_NORMALIZE_MVN: s1[g] += v, s2[g] += v * v; break;
    case MT_NORMALIZE_RMS: s1[g] += v * v; break;
    case MT_NORMALIZE_LP: s1[g] += p->p == 1 ? fabs(v) : v * v; break;
    case MT_NORMALIZE_GROUP: s1[g] += v; break;
    }
  }
  /* Group: the population variance in a second pass around the mean */
  if (p->kind == MT_NORMALIZE_GROUP)
    for (int64_t e = 0; e < n; e++) {
      int64_t g = group_of(p, e);
      double d = mt_tensor_get_f64(x, e) - s1[g] / (double)cnt;
      s2[g] += d * d;
    }
  for (int64_t e = 0; e < n; e++) {
    double v = mt_tensor_get_f64(x, e), r = 0;
    int64_t g = group_of(p, e);
    switch (p->kind) {
    case MT_NORMALIZE_MVN: {
      double mean = s1[g] / (double)cnt, var = s2[g] / (double)cnt - mean * mean;
      r = (v - mean) / (sqrt(var > 0 ? var : 0) + 1e-9);
      break;
    }
    case MT_NORMALIZE_RMS:
      r = v / sqrt(s1[g] / (double)cnt + p->epsilon) * mt_tensor_get_f64(scale, param_of(p, e));
      break;
    case MT_NORMALIZE_LP: { /* an all-zero line stays zero, as ONNX Runtime does */
      double norm = p->p == 1 ? s1[g] : sqrt(s1[g]);
      r = norm == 0 ? 0 : v / norm;
      break;
    }
    case MT_NORMALIZE_GROUP: {
      int64_t k = param_of(p, e);
      r = (v - s1[g] / (double)cnt) / sqrt(s2[g] / (double)cnt + p->epsilon) *
              mt_tensor_get_f64(scale, k) +
          mt_tensor_get_f64(bias, k);
      break;
    }
    }
    mt_tensor_set_f64(y, e, r);
  }
  free(s1);
  free(s2);
  return NULL;
}

/* y[plane, o...] = (sum over the window's in-bounds taps of |x|^p)^(1/p). */
MT_MUST_USE static mt_status *run_lp_pool(const mt_kc_lp_pool *p, const mt_tensor *x,
                                          mt_tensor *y) {
  if (!mt_dtype_is_float(x->dtype) || y->dtype != x->dtype)
    return MT_ERR(UNIMPLEMENTED, "LpPool of %s", mt_dtype_name(x->dtype));
  const mt_conv_geom *g = &p->geom;
  if (g->nsp < 1 || g->nsp > MT_CONV_MAX_SPATIAL || p->p < 1)
    return MT_ERR(INVALID_ARGUMENT, "lp_pool call is malformed");
  int64_t in_size = mt_conv_geom_in_size(g), out_size = mt_conv_geom_out_size(g);
  int64_t taps = mt_conv_geom_kernel_size(g);
  if (p->planes * in_size != mt_tensor_numel(x) || p->planes * out_size != mt_tensor_numel(y))
    return MT_ERR(INVALID_ARGUMENT, "lp_pool geometry does not match the tensors");
  for (int64_t pl = 0; pl < p->planes; pl++)
    for (int64_t o = 0; o < out_size; o++) {
      double acc = 0;
      for (int64_t t = 0; t < taps; t++) {
        int64_t orem = o, trem = t, at = 0;
        bool inside = true;
        for (int d = g->nsp - 1; d >= 0; d--) {
          int64_t od = orem % g->out[d], td = trem % g->kernel[d];
          orem /= g->out[d];
          trem /= g->kernel[d];
          int64_t i = od * g->stride[d] - g->pad_begin[d] + td * g->dilation[d];
          if (i < 0 || i >= g->in[d]) inside = false;
          int64_t mul = 1;
          for (int e = d + 1; e < g->nsp; e++) mul *= g->in[e];
          at += i * mul;
        }
        if (inside) acc += pow(fabs(mt_tensor_get_f64(x, pl * in_size + at)), (double)p->p);
      }
      mt_tensor_set_f64(y, pl * out_size + o, pow(acc, 1.0 / (double)p->p));
    }
  return NULL;
}

/* LRN: a channel window of squares per element, summed in double in channel order. */
MT_MUST_USE static mt_status *run_lrn(const mt_kc_lrn *p, const mt_tensor *x, mt_tensor *y) {
  if (!mt_dtype_is_float(x->dtype) || y->dtype != x->dtype || x->rank < 2 || p->size < 1)
    return MT_ERR(INVALID_ARGUMENT, "LRN takes a float tensor of rank >= 2 and a size >= 1");
  int64_t n_dim = x->dims[0], c_dim = x->dims[1], plane = mt_shape_numel(x->rank - 2, x->dims + 2);
  int64_t lo = (p->size - 1) / 2, hi = p->size / 2; /* floor and ceil of (size - 1) / 2 */
  for (int64_t n = 0; n < n_dim; n++)
    for (int64_t c = 0; c < c_dim; c++)
      for (int64_t i = 0; i < plane; i++) {
        double sum = 0;
        for (int64_t k = c - lo < 0 ? 0 : c - lo; k <= c + hi && k < c_dim; k++) {
          double v = mt_tensor_get_f64(x, (n * c_dim + k) * plane + i);
          sum += v * v;
        }
        int64_t at = (n * c_dim + c) * plane + i;
        double d = pow((double)p->bias + (double)p->alpha / (double)p->size * sum, (double)p->beta);
        mt_tensor_set_f64(y, at, mt_tensor_get_f64(x, at) / d);
      }
  return NULL;
}

mt_status *mt_cpu_kernel_run_norm(const mt_kernel_call *call, int n_inputs,
                                  const mt_tensor *const *inputs, int n_outputs,
                                  mt_tensor *outputs) {
  (void)n_outputs;
  switch (call->kind) {
  case MT_KERNEL_NORMALIZE:
    return run_normalize(&call->params.normalize, n_inputs, inputs, outputs);
  case MT_KERNEL_LP_POOL: return run_lp_pool(&call->params.lp_pool, inputs[0], outputs);
  case MT_KERNEL_LRN: return run_lrn(&call->params.lrn, inputs[0], outputs);
  default:
    return MT_ERR(INTERNAL, "kernel %s is not a normalisation kernel",
                  mt_kernel_kind_name(call->kind));
  }
}
