/* Load-time check of the newest opsets' calls (SwiGLU, BitCast, TensorScatter, DeformConv,
 * TfIdfVectorizer, CausalConvWithState, LinearAttention) against their
 * buffers: each buffer must have the dtype and element count the kernel in
 * runtime/cpu/kernel_call_newops.c reads or writes, so a crafted bundle cannot make it index past
 * a buffer. validate_calls.c dispatches here. */
#include "runtime/bundle/validate_rnn.h"

#define MAX_LEN ((int64_t)1 << 40)
#define MAX_GEOM ((int64_t)1 << 31)

static mt_status *bad(const char *kind, const char *what) {
  return MT_ERR(DATA_LOSS, "%s call: %s", kind, what);
}

static bool present(int n, const mt_tensor *t, int i) { return i < n && t[i].dtype != 0; }

static mt_status *check_swiglu(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out) {
  if (n_in != 2 || n_out != 1 || !present(n_in, in, 0) || !present(n_in, in, 1) ||
      !present(n_out, out, 0))
    return bad("swiglu", "takes inputs A and B and one output");
  int64_t n = mt_tensor_numel(&in[0]);
  if (!mt_dtype_is_float_any(in[0].dtype) || in[1].dtype != in[0].dtype ||
      out[0].dtype != in[0].dtype)
    return bad("swiglu", "A, B and the output must share one float dtype");
  if (mt_tensor_numel(&in[1]) != n || mt_tensor_numel(&out[0]) != n)
    return bad("swiglu", "A, B and the output differ in element count");
  return NULL;
}

static mt_status *check_bitcast(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out) {
  if (n_in != 1 || n_out != 1 || !present(n_in, in, 0) || !present(n_out, out, 0))
    return bad("bitcast", "takes one input and one output");
  size_t es = mt_dtype_size(in[0].dtype);
  if (es == 0 || mt_dtype_size(out[0].dtype) != es)
    return bad("bitcast", "input and output dtypes differ in size");
  if (mt_tensor_numel(&in[0]) != mt_tensor_numel(&out[0]))
    return bad("bitcast", "input and output differ in element count");
  return NULL;
}

static mt_status *check_tensor_scatter(int n_in, const mt_tensor *in, int n_out,
                                       const mt_tensor *out, const mt_kc_tensor_scatter *p) {
  if (n_in < 2 || n_in > 3 || n_out != 1 || !present(n_in, in, 0) || !present(n_in, in, 1) ||
      !present(n_out, out, 0))
    return bad("tensor_scatter", "takes past_cache, update, write_indices and one output");
  if (p->batch < 1 || p->batch > MAX_LEN || p->outer < 1 || p->outer > MAX_LEN ||
      p->outer % p->batch != 0 || p->max_seq < 0 || p->max_seq > MAX_LEN || p->seq < 0 ||
      p->seq > p->max_seq || p->inner < 0 || p->inner > MAX_LEN || (p->circular && !p->max_seq))
    return bad("tensor_scatter", "geometry out of range");
  mt_dtype dt = in[0].dtype;
  if (mt_dtype_size(dt) == 0 || in[1].dtype != dt || out[0].dtype != dt)
    return bad("tensor_scatter", "past_cache, update and the output must share one dtype");
  /* products of three values under 2^40 could overflow: compare in double first */
  double cache = (double)p->outer * (double)p->max_seq * (double)p->inner;
  double rows = (double)p->outer * (double)p->seq * (double)p->inner;
  if (cache > (double)MAX_LEN || rows > (double)MAX_LEN)
    return bad("tensor_scatter", "geometry out of range");
  int64_t nc = p->outer * p->max_seq * p->inner, nu = p->outer * p->seq * p->inner;
  if (mt_tensor_numel(&in[0]) != nc || mt_tensor_numel(&out[0]) != nc ||
      mt_tensor_numel(&in[1]) != nu)
    return bad("tensor_scatter", "buffers differ from the element counts the parameters imply");
  if (p->has_indices != present(n_in, in, 2))
    return bad("tensor_scatter", "write_indices present and has_indices disagree");
  if (p->has_indices && (in[2].dtype != MT_DTYPE_INT64 || mt_tensor_numel(&in[2]) != p->batch))
    return bad("tensor_scatter", "write_indices must be int64 with one element per batch");
  return NULL;
}

static bool geom(int64_t v, int64_t lo) { return v >= lo && v <= MAX_GEOM; }

static mt_status *check_deform_conv(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out,
                                    const mt_kc_deform_conv *p) {
  if (n_in < 3 || n_in > 5 || n_out != 1 || !present(n_in, in, 0) || !present(n_in, in, 1) ||
      !present(n_in, in, 2) || !present(n_out, out, 0))
    return bad("deform_conv", "takes X, W, offset, B, mask and one output");
  const int64_t *g[] = {&p->n, &p->c, &p->h, &p->w, &p->oc, &p->oh, &p->ow, &p->kh, &p->kw};
  for (size_t i = 0; i < sizeof g / sizeof *g; i++)
    if (!geom(*g[i], 1)) return bad("deform_conv", "geometry out of range");
  for (int i = 0; i < 2; i++)
    if (!geom(p->stride[i], 1) || !geom(p->dil[i], 1) || !geom(p->pad[i], 0))
      return bad("deform_conv", "strides, dilations or pads out of range");
  if (!geom(p->group, 1) || !geom(p->offset_group, 1) || p->c % p->group != 0 ||
      p->oc % p->group != 0 || p->c % p->offset_group != 0)
    return bad("deform_conv", "group or offset_group does not divide the channels");
  mt_dtype dt = in[0].dtype;
  if (!mt_dtype_is_float_any(dt) || out[0].dtype != dt)
    return bad("deform_conv", "X and the output must share one float dtype");
  for (int i = 1; i < n_in; i++)
    if (present(n_in, in, i) && in[i].dtype != dt)
      return bad("deform_conv", "every input must have X's dtype");
  if (p->has_bias != present(n_in, in, 3) || p->has_mask != present(n_in, in, 4))
    return bad("deform_conv", "B or mask presence disagrees with the parameters");
  double taps = (double)p->kh * (double)p->kw, plane = (double)p->oh * (double)p->ow;
  double counts[] = {(double)p->n * (double)p->c * (double)p->h * (double)p->w,
                     (double)p->oc * (double)(p->c / p->group) * taps,
                     (double)p->n * (double)p->offset_group * taps * 2 * plane, (double)p->oc,
                     (double)p->n * (double)p->offset_group * taps * plane};
  for (int i = 0; i < 5; i++) {
    if (counts[i] > (double)MAX_LEN) return bad("deform_conv", "geometry out of range");
    if (present(n_in, in, i) && (double)mt_tensor_numel(&in[i]) != counts[i])
      return bad("deform_conv", "an input's element count differs from the parameters'");
  }
  if ((double)mt_tensor_numel(&out[0]) != (double)p->n * (double)p->oc * plane)
    return bad("deform_conv", "the output's element count differs from the parameters'");
  return NULL;
}

static mt_status *check_tfidf(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out,
                              const mt_kc_tfidf *p) {
  if (n_in != 1 || n_out != 1 || !present(n_in, in, 0) || !present(n_out, out, 0))
    return bad("tfidf", "takes one input and one output");
  if ((in[0].dtype != MT_DTYPE_INT32 && in[0].dtype != MT_DTYPE_INT64) ||
      out[0].dtype != MT_DTYPE_FLOAT32)
    return bad("tfidf", "takes int32 or int64 tokens to float32");
  if (p->rows < 1 || p->rows > MAX_LEN || p->cols < 0 || p->cols > MAX_LEN ||
      p->max_len < p->min_len || (p->n_weights && p->n_weights < p->out_size))
    return bad("tfidf", "geometry out of range");
  for (int g = 0; g < p->n_grams; g++)
    if (p->len[g] < 1 || p->start[g] + p->len[g] > p->n_pool || p->col[g] >= p->out_size)
      return bad("tfidf", "a gram lies outside the pool or the output row");
  if ((double)p->rows * (double)p->cols != (double)mt_tensor_numel(&in[0]) ||
      (double)p->rows * (double)p->out_size != (double)mt_tensor_numel(&out[0]))
    return bad("tfidf", "buffers differ from the element counts the parameters imply");
  return NULL;
}

static mt_status *check_causal_conv(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out,
                                    const mt_kc_causal_conv *p) {
  if (n_in < 2 || n_in > 4 || n_out < 1 || n_out > 2 || !present(n_in, in, 0) ||
      !present(n_in, in, 1) || !present(n_out, out, 0))
    return bad("causal_conv", "takes input, weight, bias, past_state and one or two outputs");
  if (p->batch < 0 || p->batch > MAX_LEN || p->channels < 1 || p->channels > MAX_LEN ||
      p->len < 0 || p->len > MAX_LEN || p->k < 1 || p->k > MAX_GEOM)
    return bad("causal_conv", "geometry out of range");
  double bc = (double)p->batch * (double)p->channels;
  if (bc * (double)(p->len + p->k) > (double)MAX_LEN)
    return bad("causal_conv", "geometry out of range");
  mt_dtype dt = in[0].dtype;
  if (!mt_dtype_is_float(dt) || out[0].dtype != dt) return bad("causal_conv", "dtype");
  if (p->has_bias != present(n_in, in, 2) || p->has_past != present(n_in, in, 3))
    return bad("causal_conv", "bias or past_state presence disagrees with the parameters");
  double want_in[4] = {bc * (double)p->len, (double)p->channels * (double)p->k, (double)p->channels,
                       bc * (double)(p->k - 1)};
  for (int i = 0; i < n_in; i++)
    if (present(n_in, in, i) &&
        (in[i].dtype != dt || (double)mt_tensor_numel(&in[i]) != want_in[i]))
      return bad("causal_conv", "an input's dtype or element count differs from the parameters'");
  if ((double)mt_tensor_numel(&out[0]) != want_in[0] ||
      (present(n_out, out, 1) &&
       (out[1].dtype != dt || (double)mt_tensor_numel(&out[1]) != want_in[3])))
    return bad("causal_conv", "an output's dtype or element count differs from the parameters'");
  return NULL;
}

static mt_status *check_linear_attn(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out,
                                    const mt_kc_linear_attn *p) {
  if (n_in < 3 || n_in > 6 || n_out < 1 || n_out > 2 || !present(n_in, in, 0) ||
      !present(n_in, in, 1) || !present(n_in, in, 2) || !present(n_out, out, 0))
    return bad("linear_attn", "takes q, k, v, past_state, decay, beta and one or two outputs");
  const int64_t *g[] = {&p->batch, &p->steps, &p->dk, &p->dv};
  for (int i = 0; i < 4; i++)
    if (*g[i] < 0 || *g[i] > MAX_GEOM) return bad("linear_attn", "geometry out of range");
  if (p->kv_heads < 1 || p->kv_heads > MAX_GEOM || p->q_heads < 1 || p->q_heads > MAX_GEOM ||
      p->q_heads % p->kv_heads != 0 || p->decay_mode < 0 || p->decay_mode > 2 || p->beta_mode < 0 ||
      p->beta_mode > 2)
    return bad("linear_attn", "heads or modes out of range");
  double bt = (double)p->batch * (double)p->steps, bh = (double)p->batch * (double)p->kv_heads;
  double want[6] = {bt * (double)p->q_heads * (double)p->dk,
                    bt * (double)p->kv_heads * (double)p->dk,
                    bt * (double)p->kv_heads * (double)p->dv,
                    bh * (double)p->dk * (double)p->dv,
                    bt * (double)p->kv_heads * (p->decay_mode == 2 ? (double)p->dk : 1.0),
                    bt * (p->beta_mode == 1 ? (double)p->kv_heads : 1.0)};
  bool need[6] = {true, true, true, p->has_past, p->decay_mode != 0, p->beta_mode != 0};
  mt_dtype dt = in[0].dtype;
  if (!mt_dtype_is_float(dt)) return bad("linear_attn", "query must be float32 or float16");
  for (int i = 0; i < 6; i++) {
    if (want[i] > (double)MAX_LEN) return bad("linear_attn", "geometry out of range");
    if (need[i] != present(n_in, in, i))
      return bad("linear_attn", "an optional input's presence disagrees with the parameters");
    if (need[i] && (in[i].dtype != dt || (double)mt_tensor_numel(&in[i]) != want[i]))
      return bad("linear_attn", "an input's dtype or element count differs from the parameters'");
  }
  if (out[0].dtype != dt ||
      (double)mt_tensor_numel(&out[0]) != bt * (double)p->q_heads * (double)p->dv ||
      (present(n_out, out, 1) &&
       (out[1].dtype != dt || (double)mt_tensor_numel(&out[1]) != want[3])))
    return bad("linear_attn", "an output's dtype or element count differs from the parameters'");
  return NULL;
}

mt_status *mt_bundle_check_newops(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out,
                                  const mt_kernel_call *call) {
  switch (call->kind) {
  case MT_KERNEL_SWIGLU: return check_swiglu(n_in, in, n_out, out);
  case MT_KERNEL_BITCAST: return check_bitcast(n_in, in, n_out, out);
  case MT_KERNEL_TENSOR_SCATTER:
    return check_tensor_scatter(n_in, in, n_out, out, &call->params.tensor_scatter);
  case MT_KERNEL_DEFORM_CONV:
    return check_deform_conv(n_in, in, n_out, out, &call->params.deform_conv);
  case MT_KERNEL_TFIDF: return check_tfidf(n_in, in, n_out, out, &call->params.tfidf);
  case MT_KERNEL_CAUSAL_CONV:
    return check_causal_conv(n_in, in, n_out, out, &call->params.causal_conv);
  case MT_KERNEL_LINEAR_ATTN:
    return check_linear_attn(n_in, in, n_out, out, &call->params.linear_attn);
  default: return bad(mt_kernel_kind_name(call->kind), "not a newops kind");
  }
}
