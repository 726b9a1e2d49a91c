/* Kernel calls for the attention family: RotaryEmbedding (MT_KERNEL_ROTARY) and Attention
 * (MT_KERNEL_ATTENTION), following the ONNX reference implementation's order of operations.
 *
 * Arithmetic is in double (scores, softcap, softmax, the weighted sum of V) and rounded once on
 * store, so float16 inputs lose nothing in between. A fully masked row (every bias -inf) gives
 * zeros in Y and in the softmax output, as the spec's reference does. */
#include <math.h>
#include <stdlib.h>

#include "runtime/cpu/kernel_call.h"

/* ---------------------------------------------------------------- RotaryEmbedding */

MT_MUST_USE static mt_status *run_rotary(const mt_kc_rotary *p, int n_inputs,
                                         const mt_tensor *const *in, mt_tensor *y) {
  const mt_tensor *x = in[0], *cs = in[1], *sn = in[2];
  const mt_tensor *pos = p->has_pos && n_inputs > 3 ? in[3] : NULL;
  int64_t half = p->rot_dim / 2, b_n = p->batch, h_n = p->heads, s_n = p->seq, d_n = p->head_size;
  if (!cs || !sn || (p->has_pos && !pos) || p->rot_dim > d_n || p->rot_dim % 2 != 0 ||
      mt_tensor_numel(x) != b_n * h_n * s_n * d_n || mt_tensor_numel(y) != mt_tensor_numel(x))
    return MT_ERR(INVALID_ARGUMENT, "RotaryEmbedding: operands do not match the call");
  for (int64_t b = 0; b < b_n; b++)
    for (int64_t s = 0; s < s_n; s++) {
      int64_t row = b * s_n + s; /* the cache row: (b, s) or position_ids[b, s] */
      if (pos) {
        row = mt_tensor_get_i64(pos, b * s_n + s);
        if (row < 0 || row >= p->max_pos)
          return MT_ERR(INVALID_ARGUMENT, "RotaryEmbedding: position id %lld outside [0, %lld)",
                        (long long)row, (long long)p->max_pos);
      }
      for (int64_t h = 0; h < h_n; h++) {
        int64_t base = p->in3d ? ((b * s_n + s) * h_n + h) * d_n : ((b * h_n + h) * s_n + s) * d_n;
        for (int64_t i = 0; i < half; i++) {
          double c = mt_tensor_get_f64(cs, row * half + i),
                 sv = mt_tensor_get_f64(sn, row * half + i);
          int64_t a0 = p->interleaved ? 2 * i : i, a1 = p->interleaved ? 2 * i + 1 : i + half;
          double x1 = mt_tensor_get_f64(x, base + a0), x2 = mt_tensor_get_f64(x, base + a1);
          mt_tensor_set_f64(y, base + a0, c * x1 - sv * x2);
          mt_tensor_set_f64(y, base + a1, sv * x1 + c * x2);
        }
        for (int64_t d = p->rot_dim; d < d_n; d++)
          mt_tensor_set_f64(y, base + d, mt_tensor_get_f64(x, base + d));
      }
    }
  return NULL;
}

/* ---------------------------------------------------------------- Attention */

typedef struct attn_view {
  const mt_kc_attention *p;
  const mt_tensor *q, *k, *v, *mask, *past_k, *past_v, *nonpad;
  int64_t total;
} attn_view;

/* Element d of key (or value) position t of kv head kh: the past cache first, then the new rows. */
static double kv_at(const attn_view *a, bool value, int64_t b, int64_t kh, int64_t t, int64_t d) {
  const mt_kc_attention *p = a->p;
  int64_t dim = value ? p->head_v : p->head_qk;
  if (t < p->past_len) {
    const mt_tensor *c = value ? a->past_v : a->past_k;
    return mt_tensor_get_f64(c, ((b * p->kv_heads + kh) * p->past_len + t) * dim + d);
  }
  int64_t j = t - p->past_len;
  int64_t at = p->in3d ? ((b * p->kv_len + j) * p->kv_heads + kh) * dim + d
                       : ((b * p->kv_heads + kh) * p->kv_len + j) * dim + d;
  return mt_tensor_get_f64(value ? a->v : a->k, at);
}

/* The additive bias at (b, h, i, t): mask, causal frontier, sliding window, key padding. */
static double bias_at(const attn_view *a, int64_t b, int64_t h, int64_t i, int64_t t) {
  const mt_kc_attention *p = a->p;
  double bias = 0;
  if (p->mask != MT_ATTN_MASK_NONE) {
    const int64_t *m = p->mask_dims;
    if (t >= m[3]) return -INFINITY; /* a shorter mask pads with -inf */
    int64_t at =
        (((m[0] == 1 ? 0 : b) * m[1] + (m[1] == 1 ? 0 : h)) * m[2] + (m[2] == 1 ? 0 : i)) * m[3] +
        t;
    double v = mt_tensor_get_f64(a->mask, at);
    bias = p->mask == MT_ATTN_MASK_BOOL ? (v != 0 ? 0.0 : -INFINITY) : v;
  }
  /* the frontier: a query at i sits at absolute position i + off */
  int64_t off = p->past_len;
  if (a->nonpad) off = mt_tensor_get_i64(a->nonpad, b) - p->q_len;
  int64_t diff = i + off - t;
  if (p->causal && diff < 0) bias += -INFINITY;
  if ((p->left_window >= 0 && diff > p->left_window) ||
      (p->right_window >= 0 && -diff > p->right_window))
    bias += -INFINITY;
  if (a->nonpad && t >= mt_tensor_get_i64(a->nonpad, b)) bias += -INFINITY;
  return bias;
}

static void write_presents(const attn_view *a, mt_tensor *pk, mt_tensor *pv) {
  const mt_kc_attention *p = a->p;
  for (int64_t b = 0; b < p->batch; b++)
    for (int64_t kh = 0; kh < p->kv_heads; kh++)
      for (int64_t t = 0; t < a->total; t++) {
        int64_t row = (b * p->kv_heads + kh) * a->total + t;
        if (pk && pk->data)
          for (int64_t d = 0; d < p->head_qk; d++)
            mt_tensor_set_f64(pk, row * p->head_qk + d, kv_at(a, false, b, kh, t, d));
        if (pv && pv->data)
          for (int64_t d = 0; d < p->head_v; d++)
            mt_tensor_set_f64(pv, row * p->head_v + d, kv_at(a, true, b, kh, t, d));
      }
}

/* One query row (b, h, i): scores in s[], biases in bias[], both `total` long. */
static void attend_row(const attn_view *a, int64_t b, int64_t h, int64_t i, double *s, double *bias,
                       mt_tensor *y, mt_tensor *qk) {
  const mt_kc_attention *p = a->p;
  int64_t total = a->total, kh = h / (p->q_heads / p->kv_heads);
  double ss = (double)(float)sqrt((double)p->scale); /* the reference scales Q and K by sqrt */
  int64_t qbase = p->in3d ? ((b * p->q_len + i) * p->q_heads + h) * p->head_qk
                          : ((b * p->q_heads + h) * p->q_len + i) * p->head_qk;
  int64_t qk_row = ((b * p->q_heads + h) * p->q_len + i) * total;
  bool row_masked = true;
  for (int64_t t = 0; t < total; t++) {
    double dot = 0;
    for (int64_t d = 0; d < p->head_qk; d++)
      dot += mt_tensor_get_f64(a->q, qbase + d) * ss * (kv_at(a, false, b, kh, t, d) * ss);
    if (p->softcap > 0) dot = (double)p->softcap * tanh(dot / (double)p->softcap);
    bias[t] = bias_at(a, b, h, i, t);
    if (!(isinf(bias[t]) && bias[t] < 0)) row_masked = false;
    if (qk && qk->data && p->qk_mode < 2) mt_tensor_set_f64(qk, qk_row + t, dot);
    s[t] = dot + bias[t];
    if (qk && qk->data && p->qk_mode == 2) mt_tensor_set_f64(qk, qk_row + t, s[t]);
  }
  double mx = -INFINITY;
  for (int64_t t = 0; t < total; t++)
    if (s[t] > mx || isnan(s[t])) mx = s[t];
  if (isinf(mx) && mx < 0) mx = 0;
  double sum = 0;
  for (int64_t t = 0; t < total; t++) {
    s[t] = exp(s[t] - mx);
    sum += s[t];
  }
  if (sum == 0) sum = 1;
  for (int64_t t = 0; t < total; t++) {
    s[t] = row_masked ? 0.0 : s[t] / sum;
    if (qk && qk->data && p->qk_mode == 3) mt_tensor_set_f64(qk, qk_row + t, s[t]);
  }
  int64_t ybase = p->in3d ? ((b * p->q_len + i) * p->q_heads + h) * p->head_v
                          : ((b * p->q_heads + h) * p->q_len + i) * p->head_v;
  for (int64_t d = 0; d < p->head_v; d++) {
    double acc = 0;
    for (int64_t t = 0; t < total; t++)
      if (s[t] != 0) acc += s[t] * kv_at(a, true, b, kh, t, d);
    mt_tensor_set_f64(y, ybase + d, acc);
  }
}

MT_MUST_USE static mt_status *run_attention(const mt_kc_attention *p, int n_inputs,
                                            const mt_tensor *const *in, int n_outputs,
                                            mt_tensor *out) {
  attn_view a = {.p = p, .q = in[0], .k = in[1], .v = in[2]};
  a.mask = n_inputs > 3 ? in[3] : NULL;
  a.past_k = n_inputs > 4 ? in[4] : NULL;
  a.past_v = n_inputs > 5 ? in[5] : NULL;
  a.nonpad = p->has_nonpad && n_inputs > 6 ? in[6] : NULL;
  a.total = p->past_len + p->kv_len;
  if (!a.q || !a.k || !a.v || (p->mask != MT_ATTN_MASK_NONE && !a.mask) ||
      (p->past_len > 0 && (!a.past_k || !a.past_v)) || (p->has_nonpad && !a.nonpad) ||
      p->kv_heads < 1 || p->q_heads % p->kv_heads != 0 || n_outputs < 1 ||
      mt_tensor_numel(a.q) != p->batch * p->q_heads * p->q_len * p->head_qk ||
      mt_tensor_numel(&out[0]) != p->batch * p->q_heads * p->q_len * p->head_v)
    return MT_ERR(INVALID_ARGUMENT, "Attention: operands do not match the call");
  write_presents(&a, n_outputs > 1 ? &out[1] : NULL, n_outputs > 2 ? &out[2] : NULL);
  double *s = malloc(sizeof(double) * (size_t)(2 * a.total + 1));
  if (!s) return MT_ERR(RESOURCE_EXHAUSTED, "Attention: out of memory for a score row");
  for (int64_t b = 0; b < p->batch; b++)
    for (int64_t h = 0; h < p->q_heads; h++)
      for (int64_t i = 0; i < p->q_len; i++)
        attend_row(&a, b, h, i, s, s + a.total, &out[0], n_outputs > 3 ? &out[3] : NULL);
  free(s);
  return NULL;
}

mt_status *mt_cpu_kernel_run_attention(const mt_kernel_call *call, int n_inputs,
                                       const mt_tensor *const *inputs, int n_outputs,
                                       mt_tensor *outputs) {
  if (n_inputs < 3 || n_outputs < 1)
    return MT_ERR(INVALID_ARGUMENT, "%s: too few operands", mt_kernel_kind_name(call->kind));
  switch (call->kind) {
  case MT_KERNEL_ROTARY: return run_rotary(&call->params.rotary, n_inputs, inputs, outputs);
  case MT_KERNEL_ATTENTION:
    return run_attention(&call->params.attention, n_inputs, inputs, n_outputs, outputs);
  default:
    return MT_ERR(INTERNAL, "kernel %s is not an attention kernel",
                  mt_kernel_kind_name(call->kind));
  }
}
