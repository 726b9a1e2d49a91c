/* Kernel calls for the newest opsets' ops: SwiGLU (MT_KERNEL_SWIGLU), BitCast
 * (MT_KERNEL_BITCAST), TensorScatter (MT_KERNEL_TENSOR_SCATTER) and DeformConv
 * (MT_KERNEL_DEFORM_CONV, 2-D; bilinear taps and sums in double), TfIdfVectorizer
 * (MT_KERNEL_TFIDF: integer tokens; counts are exact in float32 below 2^24 per cell) and
 * CausalConvWithState (MT_KERNEL_CAUSAL_CONV: taps summed in double) and LinearAttention
 * (MT_KERNEL_LINEAR_ATTN: the recurrent state in double, one column at a time).
 *
 * SwiGLU computes in double and rounds once on store, so float16 loses nothing in between.
 * BitCast copies bytes (tensors are little endian in memory on every target mtcc supports, which
 * is what the spec asks). TensorScatter copies past into present and then writes the update rows,
 * so a present aliasing past is fine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/kernel_call.h"

MT_MUST_USE static mt_status *run_swiglu(const mt_kc_swiglu *p, const mt_tensor *a,
                                         const mt_tensor *b, mt_tensor *y) {
  int64_t n = mt_tensor_numel(y);
  if (!a || !b || !mt_dtype_is_float_any(a->dtype) || b->dtype != a->dtype ||
      y->dtype != a->dtype || mt_tensor_numel(a) != n || mt_tensor_numel(b) != n)
    return MT_ERR(INVALID_ARGUMENT, "SwiGLU: operands do not match the call");
  double alpha = (double)p->alpha;
  for (int64_t i = 0; i < n; i++) {
    double x = mt_tensor_get_f64(a, i);
    mt_tensor_set_f64(y, i, x / (1.0 + exp(-alpha * x)) * mt_tensor_get_f64(b, i));
  }
  return NULL;
}

MT_MUST_USE static mt_status *run_bitcast(const mt_tensor *x, mt_tensor *y) {
  size_t n = mt_tensor_nbytes(x);
  if (mt_dtype_size(x->dtype) == 0 || n != mt_tensor_nbytes(y) ||
      mt_dtype_size(x->dtype) != mt_dtype_size(y->dtype))
    return MT_ERR(INVALID_ARGUMENT, "BitCast: %s and %s differ in size", mt_dtype_name(x->dtype),
                  mt_dtype_name(y->dtype));
  if (n && y->data != x->data) memmove(y->data, x->data, n);
  return NULL;
}

MT_MUST_USE static mt_status *run_tensor_scatter(const mt_kc_tensor_scatter *p, int n_inputs,
                                                 const mt_tensor *const *in, mt_tensor *y) {
  const mt_tensor *past = in[0], *upd = n_inputs > 1 ? in[1] : NULL;
  const mt_tensor *idx = p->has_indices && n_inputs > 2 ? in[2] : NULL;
  size_t es = mt_dtype_size(y->dtype);
  int64_t per_batch = p->batch > 0 ? p->outer / p->batch : 0;
  if (!past || !upd || (p->has_indices && !idx) || es == 0 || past->dtype != y->dtype ||
      upd->dtype != y->dtype || p->batch < 1 || p->outer % p->batch != 0 || p->seq > p->max_seq ||
      mt_tensor_numel(y) != p->outer * p->max_seq * p->inner ||
      mt_tensor_numel(past) != mt_tensor_numel(y) ||
      mt_tensor_numel(upd) != p->outer * p->seq * p->inner ||
      (idx && mt_tensor_numel(idx) != p->batch))
    return MT_ERR(INVALID_ARGUMENT, "TensorScatter: operands do not match the call");
  if (y->data != past->data) memmove(y->data, past->data, mt_tensor_nbytes(y));
  size_t row = (size_t)p->inner * es;
  for (int64_t o = 0; o < p->outer; o++) {
    int64_t w = idx ? mt_tensor_get_i64(idx, o / per_batch) : 0;
    if (w < 0 || (!p->circular && w + p->seq > p->max_seq))
      return MT_ERR(INVALID_ARGUMENT,
                    "TensorScatter: write index %lld with %lld rows does not fit %lld (linear)",
                    (long long)w, (long long)p->seq, (long long)p->max_seq);
    for (int64_t s = 0; s < p->seq; s++) {
      int64_t at = (w + s) % p->max_seq;
      memcpy((char *)y->data + (size_t)(o * p->max_seq + at) * row,
             (const char *)upd->data + (size_t)(o * p->seq + s) * row, row);
    }
  }
  return NULL;
}

/* X[b, ch] sampled bilinearly at (y, x); corners outside the image read 0 (GridSample's zeros
 * padding with align_corners, which is how the spec's reference samples). */
static double bilinear(const mt_tensor *x, int64_t base, int64_t h, int64_t w, double y,
                       double xx) {
  double fy = floor(y), fx = floor(xx);
  double ly = y - fy, lx = xx - fx;
  int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
  double v = 0;
  for (int dy = 0; dy < 2; dy++)
    for (int dx = 0; dx < 2; dx++) {
      int64_t yy = y0 + dy, xc = x0 + dx;
      if (yy < 0 || yy >= h || xc < 0 || xc >= w) continue;
      double wt = (dy ? ly : 1.0 - ly) * (dx ? lx : 1.0 - lx);
      v += wt * mt_tensor_get_f64(x, base + yy * w + xc);
    }
  return v;
}

MT_MUST_USE static mt_status *run_deform_conv(const mt_kc_deform_conv *p, int n_inputs,
                                              const mt_tensor *const *in, mt_tensor *y) {
  const mt_tensor *x = in[0], *wt = n_inputs > 1 ? in[1] : NULL, *off = n_inputs > 2 ? in[2] : NULL;
  const mt_tensor *bias = p->has_bias && n_inputs > 3 ? in[3] : NULL;
  const mt_tensor *mask = p->has_mask && n_inputs > 4 ? in[4] : NULL;
  int64_t taps = p->kh * p->kw, cg = p->group > 0 ? p->c / p->group : 0;
  if (!wt || !off || (p->has_bias && !bias) || (p->has_mask && !mask) || p->group < 1 ||
      p->offset_group < 1 || p->c % p->group != 0 || p->oc % p->group != 0 ||
      p->c % p->offset_group != 0 || mt_tensor_numel(x) != p->n * p->c * p->h * p->w ||
      mt_tensor_numel(wt) != p->oc * cg * taps ||
      mt_tensor_numel(off) != p->n * p->offset_group * taps * 2 * p->oh * p->ow ||
      (mask && mt_tensor_numel(mask) != p->n * p->offset_group * taps * p->oh * p->ow) ||
      (bias && mt_tensor_numel(bias) != p->oc) ||
      mt_tensor_numel(y) != p->n * p->oc * p->oh * p->ow)
    return MT_ERR(INVALID_ARGUMENT, "DeformConv: operands do not match the call");
  int64_t ocg = p->oc / p->group, cog = p->c / p->offset_group, plane = p->oh * p->ow;
  for (int64_t b = 0; b < p->n; b++)
    for (int64_t o = 0; o < p->oc; o++)
      for (int64_t i = 0; i < p->oh; i++)
        for (int64_t j = 0; j < p->ow; j++) {
          double acc = bias ? mt_tensor_get_f64(bias, o) : 0.0;
          int64_t g = o / ocg;
          for (int64_t ci = 0; ci < cg; ci++) {
            int64_t ch = g * cg + ci, og = ch / cog;
            for (int64_t t = 0; t < taps; t++) {
              int64_t ky = t / p->kw, kx = t % p->kw;
              int64_t ob = ((b * p->offset_group + og) * taps + t) * 2 * plane + i * p->ow + j;
              double sy = (double)(i * p->stride[0] - p->pad[0] + ky * p->dil[0]) +
                          mt_tensor_get_f64(off, ob);
              double sx = (double)(j * p->stride[1] - p->pad[1] + kx * p->dil[1]) +
                          mt_tensor_get_f64(off, ob + plane);
              double v = bilinear(x, (b * p->c + ch) * p->h * p->w, p->h, p->w, sy, sx);
              if (mask)
                v *= mt_tensor_get_f64(mask, ((b * p->offset_group + og) * taps + t) * plane +
                                                 i * p->ow + j);
              acc += v * mt_tensor_get_f64(wt, (o * cg + ci) * taps + t);
            }
          }
          mt_tensor_set_f64(y, ((b * p->oc + o) * p->oh + i) * p->ow + j, acc);
        }
  return NULL;
}

/* The last gram of length n whose tokens are x[at], x[at + skip], ...; -1 when none. */
static int find_gram(const mt_kc_tfidf *p, const mt_tensor *x, int64_t at, int64_t skip, int n) {
  int found = -1;
  for (int g = 0; g < p->n_grams; g++) {
    if (p->len[g] != n) continue;
    bool eq = true;
    for (int k = 0; eq && k < n; k++)
      eq = mt_tensor_get_i64(x, at + k * skip) == p->pool[p->start[g] + k];
    if (eq) found = g;
  }
  return found;
}

MT_MUST_USE static mt_status *run_tfidf(const mt_kc_tfidf *p, const mt_tensor *x, mt_tensor *y) {
  if ((x->dtype != MT_DTYPE_INT32 && x->dtype != MT_DTYPE_INT64) || y->dtype != MT_DTYPE_FLOAT32 ||
      p->n_grams < 0 || p->n_grams > MT_KC_TFIDF_GRAMS || p->out_size < 1 || p->min_len < 1 ||
      p->max_len < p->min_len || p->max_skip < 0 || mt_tensor_numel(x) != p->rows * p->cols ||
      mt_tensor_numel(y) != p->rows * p->out_size || (p->n_weights && p->n_weights < p->out_size))
    return MT_ERR(INVALID_ARGUMENT, "TfIdfVectorizer: operands do not match the call");
  for (int g = 0; g < p->n_grams; g++)
    if (p->len[g] < 1 || p->start[g] < 0 || p->start[g] + p->len[g] > p->n_pool || p->col[g] < 0 ||
        p->col[g] >= p->out_size)
      return MT_ERR(INVALID_ARGUMENT, "TfIdfVectorizer: gram %d is outside the pool", g);
  float *out = y->data;
  for (int64_t i = 0; i < p->rows * p->out_size; i++) out[i] = 0.0f;
  for (int64_t r = 0; r < p->rows; r++) {
    int first = p->min_len; /* unigrams count once: they do not depend on the skip */
    for (int64_t skip = 1; skip <= p->max_skip + 1; skip++) {
      for (int64_t s = 0; s < p->cols && s + skip * (first - 1) < p->cols; s++)
        for (int n = first; n <= p->max_len && s + skip * (n - 1) < p->cols; n++) {
          int g = find_gram(p, x, r * p->cols + s, skip, n);
          if (g >= 0) out[r * p->out_size + p->col[g]] += 1.0f;
        }
      if (first == 1 && ++first > p->max_len) break;
    }
  }
  for (int64_t i = 0; i < p->rows * p->out_size; i++) {
    float w = p->n_weights ? p->weights[i % p->out_size] : 1.0f;
    if (p->mode == MT_TFIDF_IDF) out[i] = out[i] > 0.0f ? w : 0.0f;
    if (p->mode == MT_TFIDF_TFIDF) out[i] = w * out[i];
  }
  return NULL;
}

/* Step t of channel (b, c) of the padded sequence: past_state's K - 1 steps, then the input's. */
static double padded_at(const mt_kc_causal_conv *p, const mt_tensor *x, const mt_tensor *past,
                        int64_t bc, int64_t t) {
  if (t >= p->k - 1) return mt_tensor_get_f64(x, bc * p->len + t - (p->k - 1));
  return past ? mt_tensor_get_f64(past, bc * (p->k - 1) + t) : 0.0;
}

MT_MUST_USE static mt_status *run_causal_conv(const mt_kc_causal_conv *p, int n_inputs,
                                              const mt_tensor *const *in, int n_outputs,
                                              mt_tensor *out) {
  const mt_tensor *x = in[0], *w = n_inputs > 1 ? in[1] : NULL;
  const mt_tensor *bias = p->has_bias && n_inputs > 2 ? in[2] : NULL;
  const mt_tensor *past = p->has_past && n_inputs > 3 ? in[3] : NULL;
  mt_tensor *y = &out[0], *st = n_outputs > 1 && out[1].data ? &out[1] : NULL;
  int64_t bc_n = p->batch * p->channels;
  if (!w || (p->has_bias && !bias) || (p->has_past && !past) || p->k < 1 ||
      !mt_dtype_is_float(x->dtype) || y->dtype != x->dtype || mt_tensor_numel(x) != bc_n * p->len ||
      mt_tensor_numel(y) != bc_n * p->len || mt_tensor_numel(w) != p->channels * p->k ||
      (bias && mt_tensor_numel(bias) != p->channels) ||
      (past && mt_tensor_numel(past) != bc_n * (p->k - 1)) ||
      (st && (st->dtype != x->dtype || mt_tensor_numel(st) != bc_n * (p->k - 1))))
    return MT_ERR(INVALID_ARGUMENT, "CausalConvWithState: operands do not match the call");
  bool half = mt_dtype_is_float16_like(x->dtype);
  for (int64_t bc = 0; bc < bc_n; bc++) {
    int64_t c = bc % p->channels;
    for (int64_t t = 0; t < p->len; t++) {
      double acc = bias ? mt_tensor_get_f64(bias, c) : 0.0;
      for (int64_t j = 0; j < p->k; j++)
        acc += mt_tensor_get_f64(w, c * p->k + j) * padded_at(p, x, past, bc, t + j);
      /* the convolution is rounded to the dtype before the activation, as the spec's reference */
      double v =
          half ? (double)mt_f16like_to_float(x->dtype, mt_float_to_f16like(x->dtype, (float)acc))
               : (double)(float)acc;
      if (p->silu) v = v / (1.0 + exp(-v));
      mt_tensor_set_f64(y, bc * p->len + t, v);
    }
    if (st)
      for (int64_t j = 0; j < p->k - 1; j++)
        mt_tensor_set_f64(st, bc * (p->k - 1) + j, padded_at(p, x, past, bc, p->len + j));
  }
  return NULL;
}

/* One state column (kv head h of batch b, value dim m) through every step: the CUDA generator's
 * per-thread loop, so both add in one order. col holds DK doubles. */
static void linear_attn_column(const mt_kc_linear_attn *p, const mt_tensor *const *in, mt_tensor *y,
                               int64_t b, int64_t h, int64_t m, double *col) {
  const mt_tensor *q = in[0], *k = in[1], *v = in[2], *past = p->has_past ? in[3] : NULL;
  const mt_tensor *decay = p->decay_mode ? in[4] : NULL, *beta = p->beta_mode ? in[5] : NULL;
  int64_t dk = p->dk, dv = p->dv, group = p->q_heads / p->kv_heads;
  for (int64_t d = 0; d < dk; d++)
    col[d] = past ? mt_tensor_get_f64(past, ((b * p->kv_heads + h) * dk + d) * dv + m) : 0.0;
  for (int64_t t = 0; t < p->steps; t++) {
    int64_t row = b * p->steps + t, kb = (row * p->kv_heads + h) * dk;
    if (decay)
      for (int64_t d = 0; d < dk; d++)
        col[d] *=
            exp(mt_tensor_get_f64(decay, p->decay_mode == 1 ? row * p->kv_heads + h : kb + d));
    double vt = mt_tensor_get_f64(v, (row * p->kv_heads + h) * dv + m);
    if (beta) {
      double got = 0.0;
      for (int64_t d = 0; d < dk; d++) got += col[d] * mt_tensor_get_f64(k, kb + d);
      vt = mt_tensor_get_f64(beta, p->beta_mode == 1 ? row * p->kv_heads + h : row) * (vt - got);
    }
    for (int64_t d = 0; d < dk; d++) col[d] += mt_tensor_get_f64(k, kb + d) * vt;
    for (int64_t g = 0; g < group; g++) {
      int64_t qh = h * group + g;
      double acc = 0.0;
      for (int64_t d = 0; d < dk; d++)
        acc += mt_tensor_get_f64(q, (row * p->q_heads + qh) * dk + d) * col[d];
      mt_tensor_set_f64(y, (row * p->q_heads + qh) * dv + m, (double)p->scale * acc);
    }
  }
}

MT_MUST_USE static mt_status *run_linear_attn(const mt_kc_linear_attn *p, int n_inputs,
                                              const mt_tensor *const *in, int n_outputs,
                                              mt_tensor *out) {
  int64_t bt = p->batch * p->steps, bh = p->batch * p->kv_heads;
  mt_tensor *st = n_outputs > 1 && out[1].data ? &out[1] : NULL;
  if (n_inputs < 3 || !in[1] || !in[2] || p->kv_heads < 1 || p->q_heads % p->kv_heads != 0 ||
      (p->has_past && (n_inputs < 4 || !in[3])) || (p->decay_mode && (n_inputs < 5 || !in[4])) ||
      (p->beta_mode && (n_inputs < 6 || !in[5])) || !mt_dtype_is_float(in[0]->dtype) ||
      mt_tensor_numel(in[0]) != bt * p->q_heads * p->dk ||
      mt_tensor_numel(in[1]) != bt * p->kv_heads * p->dk ||
      mt_tensor_numel(in[2]) != bt * p->kv_heads * p->dv ||
      mt_tensor_numel(&out[0]) != bt * p->q_heads * p->dv ||
      (st && mt_tensor_numel(st) != bh * p->dk * p->dv))
    return MT_ERR(INVALID_ARGUMENT, "LinearAttention: operands do not match the call");
  double *col = malloc((size_t)(p->dk > 0 ? p->dk : 1) * sizeof *col);
  if (!col) return MT_ERR(RESOURCE_EXHAUSTED, "LinearAttention: out of memory");
  for (int64_t b = 0; b < p->batch; b++)
    for (int64_t h = 0; h < p->kv_heads; h++)
      for (int64_t m = 0; m < p->dv; m++) {
        linear_attn_column(p, in, &out[0], b, h, m, col);
        if (st)
          for (int64_t d = 0; d < p->dk; d++)
            mt_tensor_set_f64(st, ((b * p->kv_heads + h) * p->dk + d) * p->dv + m, col[d]);
      }
  free(col);
  return NULL;
}

mt_status *mt_cpu_kernel_run_newops(const mt_kernel_call *call, int n_inputs,
                                    const mt_tensor *const *inputs, int n_outputs,
                                    mt_tensor *outputs) {
  if (n_inputs < 1 || n_outputs < 1 || !inputs[0])
    return MT_ERR(INVALID_ARGUMENT, "kernel %s needs an input and an output",
                  mt_kernel_kind_name(call->kind));
  switch (call->kind) {
  case MT_KERNEL_SWIGLU:
    return run_swiglu(&call->params.swiglu, inputs[0], n_inputs > 1 ? inputs[1] : NULL, outputs);
  case MT_KERNEL_BITCAST: return run_bitcast(inputs[0], outputs);
  case MT_KERNEL_TENSOR_SCATTER:
    return run_tensor_scatter(&call->params.tensor_scatter, n_inputs, inputs, outputs);
  case MT_KERNEL_DEFORM_CONV:
    return run_deform_conv(&call->params.deform_conv, n_inputs, inputs, outputs);
  case MT_KERNEL_TFIDF: return run_tfidf(&call->params.tfidf, inputs[0], outputs);
  case MT_KERNEL_CAUSAL_CONV:
    return run_causal_conv(&call->params.causal_conv, n_inputs, inputs, n_outputs, outputs);
  case MT_KERNEL_LINEAR_ATTN:
    return run_linear_attn(&call->params.linear_attn, n_inputs, inputs, n_outputs, outputs);
  default:
    return MT_ERR(INTERNAL, "kernel %s is not a newops kernel", mt_kernel_kind_name(call->kind));
  }
}
