/* The newest opsets' ops: SwiGLU (opset 28), BitCast (26), TensorScatter (24), DeformConv (19,
 * 22: types only), TfIdfVectorizer (9, integer tokens), CausalConvWithState and LinearAttention
 * (27), lowered to MT_KERNEL_SWIGLU / BITCAST / TENSOR_SCATTER / DEFORM_CONV / TFIDF /
 * CAUSAL_CONV / LINEAR_ATTN
 * (runtime/cpu/kernel_call_newops.c). Each runs as its own kernel (pattern opaque); every shape
 * check happens here so the kernel only indexes. */
#include <math.h>
#include <string.h>

#include "ir/op.h"

/* ---------------------------------------------------------------- SwiGLU */

MT_MUST_USE static mt_status *swiglu_call(const mt_op_ctx *c, mt_kc_swiglu *p) {
  const mt_tensor *a = mt_op_input(c, 0), *b = mt_op_input(c, 1);
  if (!a || !b) return MT_ERR(INVALID_ARGUMENT, "expected A and B");
  if (!mt_dtype_is_float_any(a->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(a->dtype));
  if (b->dtype != a->dtype)
    return MT_ERR(INVALID_ARGUMENT, "A is %s but B is %s", mt_dtype_name(a->dtype),
                  mt_dtype_name(b->dtype));
  /* The spec applies no broadcasting: A and B have one shape. */
  bool same = a->rank == b->rank;
  for (int d = 0; same && d < a->rank; d++) same = a->dims[d] == b->dims[d];
  if (!same) return MT_ERR(INVALID_ARGUMENT, "A and B must have the same shape");
  memset(p, 0, sizeof *p);
  p->alpha = mt_node_attr_float(c->node, "alpha", 1.0f);
  return NULL;
}

MT_MUST_USE static mt_status *infer_swiglu(mt_op_ctx *c) {
  mt_kc_swiglu p;
  MT_RETURN_IF_ERROR_PLAIN(swiglu_call(c, &p));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_swiglu(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_SWIGLU;
  return swiglu_call(c, &call->params.swiglu);
}

/* ---------------------------------------------------------------- BitCast */

MT_MUST_USE static mt_status *bitcast_to(const mt_op_ctx *c, mt_dtype *out) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (!x) return MT_ERR(INVALID_ARGUMENT, "expected an input");
  if (!mt_node_attr(c->node, "to")) return MT_ERR(INVALID_ARGUMENT, "attribute 'to' is missing");
  mt_dtype to = (mt_dtype)mt_node_attr_int(c->node, "to", 0);
  /* Sub-byte and complex types have no element size here: refused by name. */
  if (!mt_dtype_supported(x->dtype) || mt_dtype_size(x->dtype) == 0)
    return MT_ERR(UNIMPLEMENTED, "BitCast from %s is not supported", mt_dtype_name(x->dtype));
  if (!mt_dtype_supported(to) || mt_dtype_size(to) == 0)
    return MT_ERR(UNIMPLEMENTED, "BitCast to %s is not supported", mt_dtype_name(to));
  if (mt_dtype_size(to) != mt_dtype_size(x->dtype))
    return MT_ERR(INVALID_ARGUMENT, "BitCast from %s to %s changes the bit width",
                  mt_dtype_name(x->dtype), mt_dtype_name(to));
  *out = to;
  return NULL;
}

MT_MUST_USE static mt_status *infer_bitcast(mt_op_ctx *c) {
  mt_dtype to;
  MT_RETURN_IF_ERROR_PLAIN(bitcast_to(c, &to));
  const mt_tensor *x = mt_op_input(c, 0);
  mt_op_set_output(c, 0, to, x->rank, x->dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_bitcast(const mt_op_ctx *c, mt_kernel_call *call) {
  mt_dtype to;
  MT_RETURN_IF_ERROR_PLAIN(bitcast_to(c, &to));
  call->kind = MT_KERNEL_BITCAST;
  return NULL;
}

/* ---------------------------------------------------------------- TensorScatter */

MT_MUST_USE static mt_status *tensor_scatter_call(const mt_op_ctx *c, mt_kc_tensor_scatter *p) {
  const mt_tensor *past = mt_op_input(c, 0), *upd = mt_op_input(c, 1), *idx = mt_op_input(c, 2);
  if (!past || !upd) return MT_ERR(INVALID_ARGUMENT, "expected past_cache and update");
  if (!mt_dtype_supported(past->dtype) || mt_dtype_size(past->dtype) == 0 ||
      mt_dtype_is_container(past->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(past->dtype));
  if (upd->dtype != past->dtype)
    return MT_ERR(INVALID_ARGUMENT, "update is %s but past_cache is %s", mt_dtype_name(upd->dtype),
                  mt_dtype_name(past->dtype));
  if (past->rank < 2 || upd->rank != past->rank)
    return MT_ERR(INVALID_ARGUMENT, "past_cache and update must share a rank >= 2");
  int axis;
  MT_RETURN_IF_ERROR(mt_normalize_axis(mt_node_attr_int(c->node, "axis", -2), past->rank, &axis),
                     "axis");
  if (axis == 0) return MT_ERR(INVALID_ARGUMENT, "axis must not be the batch axis 0");
  for (int d = 0; d < past->rank; d++)
    if (d != axis && upd->dims[d] != past->dims[d])
      return MT_ERR(INVALID_ARGUMENT, "update differs from past_cache in dim %d", d);
  const char *mode = mt_node_attr_string(c->node, "mode", "linear");
  bool circular = strcmp(mode, "circular") == 0;
  if (!circular && strcmp(mode, "linear") != 0)
    return MT_ERR(INVALID_ARGUMENT, "mode '%s' is neither 'linear' nor 'circular'", mode);
  memset(p, 0, sizeof *p);
  p->batch = past->dims[0];
  p->outer = mt_shape_numel(axis, past->dims);
  p->max_seq = past->dims[axis];
  p->seq = upd->dims[axis];
  p->inner = mt_shape_numel(past->rank - axis - 1, past->dims + axis + 1);
  p->circular = circular;
  p->has_indices = idx != NULL;
  if (p->seq > p->max_seq)
    return MT_ERR(INVALID_ARGUMENT, "update has %lld rows on axis %d, the cache %lld",
                  (long long)p->seq, axis, (long long)p->max_seq);
  if (circular && p->max_seq == 0)
    return MT_ERR(INVALID_ARGUMENT, "circular mode needs a non-empty sequence axis");
  if (idx && (idx->dtype != MT_DTYPE_INT64 || idx->rank != 1 || idx->dims[0] != p->batch))
    return MT_ERR(INVALID_ARGUMENT, "write_indices must be int64 [%lld]", (long long)p->batch);
  return NULL;
}

MT_MUST_USE static mt_status *infer_tensor_scatter(mt_op_ctx *c) {
  mt_kc_tensor_scatter p;
  MT_RETURN_IF_ERROR_PLAIN(tensor_scatter_call(c, &p));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_tensor_scatter(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_TENSOR_SCATTER;
  return tensor_scatter_call(c, &call->params.tensor_scatter);
}

/* ---------------------------------------------------------------- DeformConv */

/* Attribute `name` as exactly n ints into out, else dflt for each. */
MT_MUST_USE static mt_status *ints_attr(const mt_node *n, const char *name, int want, int64_t dflt,
                                        int64_t *out) {
  const int64_t *v;
  int64_t k = mt_node_attr_ints(n, name, &v);
  if (!mt_node_attr(n, name)) {
    for (int i = 0; i < want; i++) out[i] = dflt;
    return NULL;
  }
  if (k != want)
    return MT_ERR(INVALID_ARGUMENT, "attribute '%s' has %lld values, expected %d", name,
                  (long long)k, want);
  for (int i = 0; i < want; i++) out[i] = v[i];
  return NULL;
}

MT_MUST_USE static mt_status *deform_call(const mt_op_ctx *c, mt_kc_deform_conv *p) {
  const mt_tensor *x = mt_op_input(c, 0), *w = mt_op_input(c, 1), *off = mt_op_input(c, 2);
  const mt_tensor *bias = mt_op_input(c, 3), *mask = mt_op_input(c, 4);
  if (!x || !w || !off) return MT_ERR(INVALID_ARGUMENT, "expected X, W and offset");
  if (!mt_dtype_is_float_any(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(x->dtype));
  /* The spec is N-D; its reference, and this kernel, cover 2-D images. */
  if (x->rank != 4)
    return MT_ERR(UNIMPLEMENTED, "DeformConv over %d spatial dims (only 2-D is implemented)",
                  x->rank - 2);
  const mt_tensor *same[] = {w, off, bias, mask};
  for (int i = 0; i < 4; i++)
    if (same[i] && (same[i]->dtype != x->dtype || same[i]->rank != (i == 2 ? 1 : 4)))
      return MT_ERR(INVALID_ARGUMENT, "input %d must be %s of rank %d", i + 1,
                    mt_dtype_name(x->dtype), i == 2 ? 1 : 4);
  memset(p, 0, sizeof *p);
  const mt_node *n = c->node;
  p->n = x->dims[0], p->c = x->dims[1], p->h = x->dims[2], p->w = x->dims[3];
  p->oc = w->dims[0];
  p->group = mt_node_attr_int(n, "group", 1);
  p->offset_group = mt_node_attr_int(n, "offset_group", 1);
  int64_t k[2] = {0, 0}, pads[4];
  MT_RETURN_IF_ERROR_PLAIN(ints_attr(n, "kernel_shape", 2, 0, k));
  if (!mt_node_attr(n, "kernel_shape")) k[0] = w->dims[2], k[1] = w->dims[3];
  MT_RETURN_IF_ERROR_PLAIN(ints_attr(n, "strides", 2, 1, p->stride));
  MT_RETURN_IF_ERROR_PLAIN(ints_attr(n, "dilations", 2, 1, p->dil));
  MT_RETURN_IF_ERROR_PLAIN(ints_attr(n, "pads", 4, 0, pads));
  p->kh = k[0], p->kw = k[1], p->pad[0] = pads[0], p->pad[1] = pads[1];
  if (p->group < 1 || p->offset_group < 1 || p->c % p->group != 0 || p->oc % p->group != 0 ||
      p->c % p->offset_group != 0)
    return MT_ERR(INVALID_ARGUMENT, "group %lld / offset_group %lld do not divide C %lld, OC %lld",
                  (long long)p->group, (long long)p->offset_group, (long long)p->c,
                  (long long)p->oc);
  if (w->dims[1] != p->c / p->group || w->dims[2] != p->kh || w->dims[3] != p->kw)
    return MT_ERR(INVALID_ARGUMENT, "W must be [%lld, %lld, %lld, %lld]", (long long)p->oc,
                  (long long)(p->c / p->group), (long long)p->kh, (long long)p->kw);
  for (int i = 0; i < 2; i++)
    if (p->stride[i] < 1 || p->dil[i] < 1 || pads[i] < 0 || pads[i + 2] < 0)
      return MT_ERR(INVALID_ARGUMENT, "strides and dilations must be >= 1, pads >= 0");
  int64_t span_h = (p->kh - 1) * p->dil[0] + 1, span_w = (p->kw - 1) * p->dil[1] + 1;
  p->oh = (p->h + pads[0] + pads[2] - span_h) / p->stride[0] + 1;
  p->ow = (p->w + pads[1] + pads[3] - span_w) / p->stride[1] + 1;
  if (p->oh < 1 || p->ow < 1) return MT_ERR(INVALID_ARGUMENT, "the kernel is larger than X");
  int64_t taps = p->kh * p->kw;
  if (off->dims[0] != p->n || off->dims[1] != p->offset_group * taps * 2 || off->dims[2] != p->oh ||
      off->dims[3] != p->ow)
    return MT_ERR(INVALID_ARGUMENT, "offset must be [%lld, %lld, %lld, %lld]", (long long)p->n,
                  (long long)(p->offset_group * taps * 2), (long long)p->oh, (long long)p->ow);
  if (mask && (mask->dims[0] != p->n || mask->dims[1] != p->offset_group * taps ||
               mask->dims[2] != p->oh || mask->dims[3] != p->ow))
    return MT_ERR(INVALID_ARGUMENT, "mask must be [%lld, %lld, %lld, %lld]", (long long)p->n,
                  (long long)(p->offset_group * taps), (long long)p->oh, (long long)p->ow);
  if (bias && bias->dims[0] != p->oc)
    return MT_ERR(INVALID_ARGUMENT, "B must have %lld elements", (long long)p->oc);
  p->has_bias = bias != NULL;
  p->has_mask = mask != NULL;
  return NULL;
}

MT_MUST_USE static mt_status *infer_deform(mt_op_ctx *c) {
  mt_kc_deform_conv p;
  MT_RETURN_IF_ERROR_PLAIN(deform_call(c, &p));
  const int64_t dims[4] = {p.n, p.oc, p.oh, p.ow};
  mt_op_set_output(c, 0, mt_op_input(c, 0)->dtype, 4, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_deform(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_DEFORM_CONV;
  return deform_call(c, &call->params.deform_conv);
}

/* ---------------------------------------------------------------- TfIdfVectorizer */

/* The grams of lengths [min_len, max_len] in id order (ids count every gram of the pool, listed or
 * not, as ONNX numbers them), each with its output column ngram_indexes[id - 1]. */
MT_MUST_USE static mt_status *tfidf_grams(const mt_node *n, mt_kc_tfidf *p) {
  const int64_t *counts, *indexes, *pool;
  int64_t n_counts = mt_node_attr_ints(n, "ngram_counts", &counts);
  int64_t n_indexes = mt_node_attr_ints(n, "ngram_indexes", &indexes);
  int64_t n_pool = mt_node_attr_ints(n, "pool_int64s", &pool);
  if (n_pool > MT_KC_TFIDF_POOL)
    return MT_ERR(UNIMPLEMENTED, "pool_int64s has %lld tokens; mtcc's kernel takes at most %d",
                  (long long)n_pool, MT_KC_TFIDF_POOL);
  if (n_indexes < 1) return MT_ERR(INVALID_ARGUMENT, "ngram_indexes is empty");
  int64_t out_size = 0;
  for (int64_t i = 0; i < n_indexes; i++) {
    if (indexes[i] < 0) return MT_ERR(INVALID_ARGUMENT, "ngram_indexes has a negative value");
    if (indexes[i] + 1 > out_size) out_size = indexes[i] + 1;
  }
  if (out_size > (int64_t)1 << 30) return MT_ERR(INVALID_ARGUMENT, "ngram_indexes too large");
  p->out_size = (int)out_size;
  p->n_pool = (int)n_pool;
  for (int64_t i = 0; i < n_pool; i++) p->pool[i] = pool[i];
  int64_t id = 0; /* ids before this size's grams */
  for (int64_t i = 0; i < n_counts; i++) {
    int64_t begin = counts[i], end = i + 1 < n_counts ? counts[i + 1] : n_pool, size = i + 1;
    if (begin < 0 || end < begin || end > n_pool)
      return MT_ERR(INVALID_ARGUMENT, "ngram_counts[%lld] = %lld is outside the pool", (long long)i,
                    (long long)begin);
    int64_t grams = (end - begin) / size;
    for (int64_t g = 0; g < grams; g++, id++) {
      if (size < p->min_len || size > p->max_len) continue;
      if (id >= n_indexes)
        return MT_ERR(INVALID_ARGUMENT, "ngram_indexes has %lld values, gram %lld needs one",
                      (long long)n_indexes, (long long)id + 1);
      if (p->n_grams == MT_KC_TFIDF_GRAMS)
        return MT_ERR(UNIMPLEMENTED, "more than %d n-grams; mtcc's kernel takes at most that",
                      MT_KC_TFIDF_GRAMS);
      p->start[p->n_grams] = (int)(begin + g * size);
      p->len[p->n_grams] = (int)size;
      p->col[p->n_grams] = (int)indexes[id];
      p->n_grams++;
    }
  }
  return NULL;
}

MT_MUST_USE static mt_status *tfidf_call(const mt_op_ctx *c, mt_kc_tfidf *p) {
  const mt_tensor *x = mt_op_input(c, 0);
  const mt_node *n = c->node;
  if (!x) return MT_ERR(INVALID_ARGUMENT, "expected X");
  if (x->dtype != MT_DTYPE_INT32 && x->dtype != MT_DTYPE_INT64)
    return MT_ERR(UNIMPLEMENTED, "TfIdfVectorizer of %s (integer tokens only)",
                  mt_dtype_name(x->dtype));
  if (mt_node_attr(n, "pool_strings"))
    return MT_ERR(UNIMPLEMENTED, "TfIdfVectorizer with pool_strings (string tensors)");
  if (x->rank > 2) return MT_ERR(INVALID_ARGUMENT, "X must be [C] or [B, C], got rank %d", x->rank);
  memset(p, 0, sizeof *p);
  const char *mode = mt_node_attr_string(n, "mode", "");
  if (strcmp(mode, "TF") == 0)
    p->mode = MT_TFIDF_TF;
  else if (strcmp(mode, "IDF") == 0)
    p->mode = MT_TFIDF_IDF;
  else if (strcmp(mode, "TFIDF") == 0)
    p->mode = MT_TFIDF_TFIDF;
  else
    return MT_ERR(INVALID_ARGUMENT, "mode '%s' is not TF, IDF or TFIDF", mode);
  int64_t lo = mt_node_attr_int(n, "min_gram_length", 0);
  int64_t hi = mt_node_attr_int(n, "max_gram_length", 0);
  int64_t skip = mt_node_attr_int(n, "max_skip_count", 0);
  if (lo < 1 || hi < lo || hi > 64 || skip < 0 || skip > (int64_t)1 << 20)
    return MT_ERR(INVALID_ARGUMENT, "gram lengths [%lld, %lld] or max_skip_count %lld",
                  (long long)lo, (long long)hi, (long long)skip);
  p->min_len = (int)lo, p->max_len = (int)hi, p->max_skip = (int)skip;
  MT_RETURN_IF_ERROR_PLAIN(tfidf_grams(n, p));
  const float *w;
  int64_t n_w = mt_node_attr_floats(n, "weights", &w);
  if (n_w > 0) {
    if (n_w < p->out_size)
      return MT_ERR(INVALID_ARGUMENT, "weights has %lld values for %d output columns",
                    (long long)n_w, p->out_size);
    if (p->out_size > MT_KC_TFIDF_GRAMS)
      return MT_ERR(UNIMPLEMENTED, "weights for %d columns; mtcc's kernel takes at most %d",
                    p->out_size, MT_KC_TFIDF_GRAMS);
    p->n_weights = p->out_size;
    for (int i = 0; i < p->out_size; i++) p->weights[i] = w[i];
  }
  p->rows = x->rank == 2 ? x->dims[0] : 1;
  p->cols = x->rank == 0 ? 1 : x->dims[x->rank - 1];
  return NULL;
}

MT_MUST_USE static mt_status *infer_tfidf(mt_op_ctx *c) {
  mt_kc_tfidf p;
  MT_RETURN_IF_ERROR_PLAIN(tfidf_call(c, &p));
  const mt_tensor *x = mt_op_input(c, 0);
  const int64_t dims[2] = {p.rows, p.out_size};
  if (x->rank == 2)
    mt_op_set_output(c, 0, MT_DTYPE_FLOAT32, 2, dims);
  else
    mt_op_set_output(c, 0, MT_DTYPE_FLOAT32, 1, dims + 1);
  return NULL;
}

MT_MUST_USE static mt_status *lower_tfidf(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_TFIDF;
  return tfidf_call(c, &call->params.tfidf);
}

/* ---------------------------------------------------------------- CausalConvWithState */

MT_MUST_USE static mt_status *causal_conv_call(const mt_op_ctx *c, mt_kc_causal_conv *p) {
  const mt_tensor *x = mt_op_input(c, 0), *w = mt_op_input(c, 1), *bias = mt_op_input(c, 2);
  const mt_tensor *past = mt_op_input(c, 3);
  if (!x || !w) return MT_ERR(INVALID_ARGUMENT, "expected input and weight");
  if (!mt_dtype_is_float(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(x->dtype));
  if (x->rank != 3 || w->rank != 3 || w->dtype != x->dtype || w->dims[0] != x->dims[1] ||
      w->dims[1] != 1 || w->dims[2] < 1)
    return MT_ERR(INVALID_ARGUMENT, "input must be [B, C, L] and weight [C, 1, K] of its dtype");
  memset(p, 0, sizeof *p);
  p->batch = x->dims[0], p->channels = x->dims[1], p->len = x->dims[2], p->k = w->dims[2];
  if (bias && (bias->dtype != x->dtype || bias->rank != 1 || bias->dims[0] != p->channels))
    return MT_ERR(INVALID_ARGUMENT, "bias must be [%lld]", (long long)p->channels);
  if (past && (past->dtype != x->dtype || past->rank != 3 || past->dims[0] != p->batch ||
               past->dims[1] != p->channels || past->dims[2] != p->k - 1))
    return MT_ERR(INVALID_ARGUMENT, "past_state must be [%lld, %lld, %lld]", (long long)p->batch,
                  (long long)p->channels, (long long)(p->k - 1));
  const char *act = mt_node_attr_string(c->node, "activation", "none");
  p->silu = strcmp(act, "silu") == 0 || strcmp(act, "swish") == 0;
  if (!p->silu && strcmp(act, "none") != 0)
    return MT_ERR(INVALID_ARGUMENT, "activation '%s' is not none, silu or swish", act);
  p->has_bias = bias != NULL;
  p->has_past = past != NULL;
  return NULL;
}

MT_MUST_USE static mt_status *infer_causal_conv(mt_op_ctx *c) {
  mt_kc_causal_conv p;
  MT_RETURN_IF_ERROR_PLAIN(causal_conv_call(c, &p));
  mt_op_same_as_input(c, 0, 0);
  const int64_t st[3] = {p.batch, p.channels, p.k - 1};
  if (mt_op_has_output(c, 1)) mt_op_set_output(c, 1, mt_op_input(c, 0)->dtype, 3, st);
  return NULL;
}

MT_MUST_USE static mt_status *lower_causal_conv(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_CAUSAL_CONV;
  return causal_conv_call(c, &call->params.causal_conv);
}

/* ---------------------------------------------------------------- LinearAttention */

MT_MUST_USE static mt_status *linear_attn_call(const mt_op_ctx *c, mt_kc_linear_attn *p) {
  const mt_tensor *q = mt_op_input(c, 0), *k = mt_op_input(c, 1), *v = mt_op_input(c, 2);
  const mt_tensor *past = mt_op_input(c, 3), *decay = mt_op_input(c, 4), *beta = mt_op_input(c, 5);
  const mt_node *n = c->node;
  if (!q || !k || !v) return MT_ERR(INVALID_ARGUMENT, "expected query, key and value");
  if (!mt_dtype_is_float(q->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(q->dtype));
  const mt_tensor *all[] = {k, v, past, decay, beta};
  for (int i = 0; i < 5; i++)
    if (all[i] && all[i]->dtype != q->dtype)
      return MT_ERR(INVALID_ARGUMENT, "input %d must be %s like query", i + 1,
                    mt_dtype_name(q->dtype));
  memset(p, 0, sizeof *p);
  p->q_heads = mt_node_attr_int(n, "q_num_heads", 0);
  p->kv_heads = mt_node_attr_int(n, "kv_num_heads", 0);
  if (p->q_heads < 1 || p->kv_heads < 1 || p->q_heads % p->kv_heads != 0)
    return MT_ERR(INVALID_ARGUMENT,
                  "q_num_heads %lld must be a positive multiple of kv_num_heads "
                  "%lld",
                  (long long)p->q_heads, (long long)p->kv_heads);
  if (q->rank != 3 || k->rank != 3 || v->rank != 3)
    return MT_ERR(INVALID_ARGUMENT, "query, key and value must be [B, T, H * D]");
  p->batch = q->dims[0], p->steps = q->dims[1];
  if (q->dims[2] % p->q_heads != 0 || v->dims[2] % p->kv_heads != 0)
    return MT_ERR(INVALID_ARGUMENT, "head counts do not divide the hidden sizes");
  p->dk = q->dims[2] / p->q_heads, p->dv = v->dims[2] / p->kv_heads;
  for (int i = 0; i < 2; i++) {
    const mt_tensor *t = i ? v : k;
    int64_t want = p->kv_heads * (i ? p->dv : p->dk);
    if (t->dims[0] != p->batch || t->dims[1] != p->steps || t->dims[2] != want)
      return MT_ERR(INVALID_ARGUMENT, "%s must be [%lld, %lld, %lld]", i ? "value" : "key",
                    (long long)p->batch, (long long)p->steps, (long long)want);
  }
  const char *rule = mt_node_attr_string(n, "update_rule", "gated_delta");
  bool gated = strcmp(rule, "gated") == 0 || strcmp(rule, "gated_delta") == 0;
  bool delta = strcmp(rule, "delta") == 0 || strcmp(rule, "gated_delta") == 0;
  if (!gated && !delta && strcmp(rule, "linear") != 0)
    return MT_ERR(INVALID_ARGUMENT, "update_rule '%s' is not linear, gated, delta or gated_delta",
                  rule);
  if (gated != (decay != NULL) || delta != (beta != NULL))
    return MT_ERR(INVALID_ARGUMENT, "update_rule '%s' %s decay and %s beta", rule,
                  gated ? "needs" : "forbids", delta ? "needs" : "forbids");
  if (decay) {
    if (decay->rank != 3 || decay->dims[0] != p->batch || decay->dims[1] != p->steps ||
        (decay->dims[2] != p->kv_heads && decay->dims[2] != p->kv_heads * p->dk))
      return MT_ERR(INVALID_ARGUMENT, "decay must be [B, T, kv_num_heads (* d_k)]");
    p->decay_mode = decay->dims[2] == p->kv_heads ? 1 : 2;
  }
  if (beta) {
    if (beta->rank != 3 || beta->dims[0] != p->batch || beta->dims[1] != p->steps ||
        (beta->dims[2] != p->kv_heads && beta->dims[2] != 1))
      return MT_ERR(INVALID_ARGUMENT, "beta must be [B, T, kv_num_heads or 1]");
    p->beta_mode = beta->dims[2] == p->kv_heads ? 1 : 2;
  }
  if (past && (past->rank != 4 || past->dims[0] != p->batch || past->dims[1] != p->kv_heads ||
               past->dims[2] != p->dk || past->dims[3] != p->dv))
    return MT_ERR(INVALID_ARGUMENT, "past_state must be [%lld, %lld, %lld, %lld]",
                  (long long)p->batch, (long long)p->kv_heads, (long long)p->dk, (long long)p->dv);
  p->has_past = past != NULL;
  float scale = mt_node_attr_float(n, "scale", 0.0f);
  p->scale = scale != 0.0f ? scale : (float)(1.0 / sqrt((double)p->dk));
  return NULL;
}

MT_MUST_USE static mt_status *infer_linear_attn(mt_op_ctx *c) {
  mt_kc_linear_attn p;
  MT_RETURN_IF_ERROR_PLAIN(linear_attn_call(c, &p));
  mt_dtype dt = mt_op_input(c, 0)->dtype;
  const int64_t y[3] = {p.batch, p.steps, p.q_heads * p.dv};
  const int64_t st[4] = {p.batch, p.kv_heads, p.dk, p.dv};
  mt_op_set_output(c, 0, dt, 3, y);
  if (mt_op_has_output(c, 1)) mt_op_set_output(c, 1, dt, 4, st);
  return NULL;
}

MT_MUST_USE static mt_status *lower_linear_attn(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_LINEAR_ATTN;
  return linear_attn_call(c, &call->params.linear_attn);
}

/* ---------------------------------------------------------------- the table */

const mt_op_def mt_ops_newops[] = {
    {.op_type = "SwiGLU",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_swiglu,
     .lower = lower_swiglu},
    {.op_type = "BitCast",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_bitcast,
     .lower = lower_bitcast},
    {.op_type = "TensorScatter",
     .min_inputs = 2,
     .max_inputs = 3,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_tensor_scatter,
     .lower = lower_tensor_scatter},
    {.op_type = "DeformConv",
     .min_inputs = 3,
     .max_inputs = 5,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_deform,
     .lower = lower_deform},
    {.op_type = "TfIdfVectorizer",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_tfidf,
     .lower = lower_tfidf},
    {.op_type = "CausalConvWithState",
     .min_inputs = 2,
     .max_inputs = 4,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_causal_conv,
     .lower = lower_causal_conv},
    {.op_type = "LinearAttention",
     .min_inputs = 3,
     .max_inputs = 6,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_linear_attn,
     .lower = lower_linear_attn},
    {0},
};
