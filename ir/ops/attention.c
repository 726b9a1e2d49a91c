/* The attention family: RotaryEmbedding (opset 23) and Attention (opsets 23, 24: nonpad_kv_seqlen,
 * 25: left/right_window_size), lowered to MT_KERNEL_ROTARY / MT_KERNEL_ATTENTION
 * (runtime/cpu/kernel_call_attention.c). Both run as their own kernels (pattern opaque); every
 * shape check happens here so the kernel only indexes. softmax_precision is accepted for any
 * float type: the kernel's softmax runs in double, at least as precise as any it names. */
#include <math.h>
#include <string.h>

#include "ir/op.h"

/* ---------------------------------------------------------------- RotaryEmbedding */

MT_MUST_USE static mt_status *rotary_call(const mt_op_ctx *c, mt_kc_rotary *p) {
  const mt_tensor *x = mt_op_input(c, 0), *cs = mt_op_input(c, 1), *sn = mt_op_input(c, 2);
  const mt_tensor *pos = mt_op_input(c, 3);
  if (!x || !cs || !sn) return MT_ERR(INVALID_ARGUMENT, "expected X, cos_cache and sin_cache");
  if (!mt_dtype_is_float(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(x->dtype));
  if (cs->dtype != x->dtype || sn->dtype != x->dtype)
    return MT_ERR(INVALID_ARGUMENT, "the caches must be %s like X", mt_dtype_name(x->dtype));
  memset(p, 0, sizeof *p);
  int64_t heads = mt_node_attr_int(c->node, "num_heads", 0);
  if (x->rank == 4) {
    p->batch = x->dims[0], p->heads = x->dims[1], p->seq = x->dims[2], p->head_size = x->dims[3];
  } else if (x->rank == 3) {
    if (heads < 1 || x->dims[2] % heads != 0)
      return MT_ERR(INVALID_ARGUMENT, "3-D input needs num_heads dividing %lld, got %lld",
                    (long long)x->dims[2], (long long)heads);
    p->in3d = true;
    p->batch = x->dims[0], p->seq = x->dims[1], p->heads = heads;
    p->head_size = x->dims[2] / heads;
  } else {
    return MT_ERR(INVALID_ARGUMENT, "X must have rank 3 or 4, got %d", x->rank);
  }
  p->rot_dim = mt_node_attr_int(c->node, "rotary_embedding_dim", 0);
  if (p->rot_dim == 0) p->rot_dim = p->head_size;
  if (p->rot_dim < 0 || p->rot_dim > p->head_size || p->rot_dim % 2 != 0)
    return MT_ERR(INVALID_ARGUMENT, "rotary_embedding_dim %lld must be even and at most %lld",
                  (long long)p->rot_dim, (long long)p->head_size);
  p->interleaved = mt_node_attr_int(c->node, "interleaved", 0) != 0;
  p->has_pos = pos != NULL;
  int64_t half = p->rot_dim / 2;
  if (pos) {
    if ((pos->dtype != MT_DTYPE_INT64 && pos->dtype != MT_DTYPE_INT32) || pos->rank != 2 ||
        pos->dims[0] != p->batch || pos->dims[1] != p->seq)
      return MT_ERR(INVALID_ARGUMENT, "position_ids must be integers [%lld, %lld]",
                    (long long)p->batch, (long long)p->seq);
    if (cs->rank != 2 || sn->rank != 2 || cs->dims[1] != half || sn->dims[0] != cs->dims[0] ||
        sn->dims[1] != half)
      return MT_ERR(INVALID_ARGUMENT, "with position_ids the caches must be [max_pos, %lld]",
                    (long long)half);
    p->max_pos = cs->dims[0];
  } else {
    if (cs->rank != 3 || sn->rank != 3 || cs->dims[0] != p->batch || cs->dims[1] != p->seq ||
        cs->dims[2] != half || sn->dims[0] != p->batch || sn->dims[1] != p->seq ||
        sn->dims[2] != half)
      return MT_ERR(INVALID_ARGUMENT, "without position_ids the caches must be [%lld, %lld, %lld]",
                    (long long)p->batch, (long long)p->seq, (long long)half);
  }
  return NULL;
}

MT_MUST_USE static mt_status *infer_rotary(mt_op_ctx *c) {
  mt_kc_rotary p;
  MT_RETURN_IF_ERROR_PLAIN(rotary_call(c, &p));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_rotary(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_ROTARY;
  return rotary_call(c, &call->params.rotary);
}

/* ---------------------------------------------------------------- Attention */

/* Q/K/V geometry: [B, H, S, D] or, 3-D, [B, S, H * D] with the head count from an attribute. */
MT_MUST_USE static mt_status *qkv_dims(const mt_tensor *t, const char *name, int64_t heads,
                                       int64_t *b, int64_t *h, int64_t *s, int64_t *d) {
  if (t->rank == 4) {
    *b = t->dims[0], *h = t->dims[1], *s = t->dims[2], *d = t->dims[3];
    return NULL;
  }
  if (heads < 1 || t->dims[2] % heads != 0)
    return MT_ERR(INVALID_ARGUMENT, "%s: 3-D input needs a head count dividing %lld, got %lld",
                  name, (long long)t->dims[2], (long long)heads);
  *b = t->dims[0], *h = heads, *s = t->dims[1], *d = t->dims[2] / heads;
  return NULL;
}

MT_MUST_USE static mt_status *check_past(const mt_tensor *t, const char *name,
                                         const mt_kc_attention *p, int64_t dim) {
  if (t->rank == 4 && t->dims[0] == p->batch && t->dims[1] == p->kv_heads &&
      t->dims[2] == p->past_len && t->dims[3] == dim)
    return NULL;
  return MT_ERR(INVALID_ARGUMENT, "%s must be [%lld, %lld, %lld, %lld]", name, (long long)p->batch,
                (long long)p->kv_heads, (long long)p->past_len, (long long)dim);
}

MT_MUST_USE static mt_status *check_mask(const mt_tensor *m, const mt_tensor *q,
                                         mt_kc_attention *p) {
  int64_t total = p->past_len + p->kv_len;
  if (m->dtype == MT_DTYPE_BOOL)
    p->mask = MT_ATTN_MASK_BOOL;
  else if (m->dtype == q->dtype)
    p->mask = MT_ATTN_MASK_FLOAT;
  else
    return MT_ERR(INVALID_ARGUMENT, "attn_mask must be bool or %s, got %s", mt_dtype_name(q->dtype),
                  mt_dtype_name(m->dtype));
  if (m->rank < 1 || m->rank > 4)
    return MT_ERR(INVALID_ARGUMENT, "attn_mask must have rank 1 to 4, got %d", m->rank);
  const int64_t full[4] = {p->batch, p->q_heads, p->q_len, total};
  for (int d = 0; d < 4; d++) {
    int src = d - (4 - m->rank);
    p->mask_dims[d] = src >= 0 ? m->dims[src] : 1;
    int64_t md = p->mask_dims[d];
    bool ok = d == 3 ? md >= 1 && md <= total : md == 1 || md == full[d];
    if (!ok)
      return MT_ERR(INVALID_ARGUMENT, "attn_mask dim %d is %lld; it does not broadcast to %lld",
                    src, (long long)md, (long long)full[d]);
  }
  return NULL;
}

MT_MUST_USE static mt_status *attention_call(const mt_op_ctx *c, mt_kc_attention *p) {
  const mt_tensor *q = mt_op_input(c, 0), *k = mt_op_input(c, 1), *v = mt_op_input(c, 2);
  const mt_tensor *mask = mt_op_input(c, 3), *pk = mt_op_input(c, 4), *pv = mt_op_input(c, 5);
  const mt_tensor *nonpad = mt_op_input(c, 6);
  if (!q || !k || !v) return MT_ERR(INVALID_ARGUMENT, "expected Q, K and V");
  if (!mt_dtype_is_float(q->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(q->dtype));
  if (k->dtype != q->dtype || v->dtype != q->dtype)
    return MT_ERR(INVALID_ARGUMENT, "Q, K and V must share one dtype");
  if ((q->rank != 3 && q->rank != 4) || k->rank != q->rank || v->rank != q->rank)
    return MT_ERR(INVALID_ARGUMENT, "Q, K and V must all be 3-D or all 4-D");
  memset(p, 0, sizeof *p);
  p->in3d = q->rank == 3;
  int64_t qh_attr = mt_node_attr_int(c->node, "q_num_heads", 0);
  int64_t kvh_attr = mt_node_attr_int(c->node, "kv_num_heads", 0);
  int64_t kb, kh, vb, vh, vs;
  MT_RETURN_IF_ERROR_PLAIN(
      qkv_dims(q, "Q", qh_attr, &p->batch, &p->q_heads, &p->q_len, &p->head_qk));
  int64_t kd;
  MT_RETURN_IF_ERROR_PLAIN(qkv_dims(k, "K", kvh_attr, &kb, &kh, &p->kv_len, &kd));
  MT_RETURN_IF_ERROR_PLAIN(qkv_dims(v, "V", kvh_attr, &vb, &vh, &vs, &p->head_v));
  p->kv_heads = kh;
  if (kb != p->batch || vb != p->batch || vh != kh || vs != p->kv_len || kd != p->head_qk)
    return MT_ERR(INVALID_ARGUMENT, "K and V do not match Q (batch, heads, length or head size)");
  if (kh < 1 || p->q_heads % kh != 0)
    return MT_ERR(INVALID_ARGUMENT, "q heads %lld are not a multiple of kv heads %lld",
                  (long long)p->q_heads, (long long)kh);
  if ((pk == NULL) != (pv == NULL))
    return MT_ERR(INVALID_ARGUMENT, "past_key and past_value come together");
  if (pk) {
    p->past_len = pk->rank == 4 ? pk->dims[2] : -1;
    MT_RETURN_IF_ERROR_PLAIN(check_past(pk, "past_key", p, p->head_qk));
    MT_RETURN_IF_ERROR_PLAIN(check_past(pv, "past_value", p, p->head_v));
    if (pk->dtype != q->dtype || pv->dtype != q->dtype)
      return MT_ERR(INVALID_ARGUMENT, "past_key and past_value must be %s",
                    mt_dtype_name(q->dtype));
  }
  if (nonpad) {
    if (c->opset < 24) return MT_ERR(INVALID_ARGUMENT, "nonpad_kv_seqlen needs opset 24");
    if (pk) return MT_ERR(INVALID_ARGUMENT, "nonpad_kv_seqlen cannot come with a past cache");
    if (nonpad->dtype != MT_DTYPE_INT64 || nonpad->rank != 1 || nonpad->dims[0] != p->batch)
      return MT_ERR(INVALID_ARGUMENT, "nonpad_kv_seqlen must be int64 [%lld]", (long long)p->batch);
    p->has_nonpad = true;
  }
  if (mask) MT_RETURN_IF_ERROR_PLAIN(check_mask(mask, q, p));
  const mt_attr *sc = mt_node_attr(c->node, "scale");
  p->scale = sc ? sc->f : (float)(1.0 / sqrt((double)p->head_qk));
  p->softcap = mt_node_attr_float(c->node, "softcap", 0.0f);
  p->causal = mt_node_attr_int(c->node, "is_causal", 0) != 0;
  int64_t mode = mt_node_attr_int(c->node, "qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3)
    return MT_ERR(INVALID_ARGUMENT, "qk_matmul_output_mode %lld is not 0 to 3", (long long)mode);
  p->qk_mode = (int)mode;
  p->left_window = mt_node_attr_int(c->node, "left_window_size", -1);
  p->right_window = mt_node_attr_int(c->node, "right_window_size", -1);
  if (p->left_window < -1 || p->right_window < -1)
    return MT_ERR(INVALID_ARGUMENT, "window sizes must be -1 or nonnegative");
  return NULL;
}

MT_MUST_USE static mt_status *infer_attention(mt_op_ctx *c) {
  mt_kc_attention p;
  MT_RETURN_IF_ERROR_PLAIN(attention_call(c, &p));
  mt_dtype dt = mt_op_input(c, 0)->dtype;
  int64_t total = p.past_len + p.kv_len;
  if (p.in3d) {
    const int64_t y[3] = {p.batch, p.q_len, p.q_heads * p.head_v};
    mt_op_set_output(c, 0, dt, 3, y);
  } else {
    const int64_t y[4] = {p.batch, p.q_heads, p.q_len, p.head_v};
    mt_op_set_output(c, 0, dt, 4, y);
  }
  const int64_t pk[4] = {p.batch, p.kv_heads, total, p.head_qk};
  const int64_t pv[4] = {p.batch, p.kv_heads, total, p.head_v};
  const int64_t qk[4] = {p.batch, p.q_heads, p.q_len, total};
  if (mt_op_has_output(c, 1)) mt_op_set_output(c, 1, dt, 4, pk);
  if (mt_op_has_output(c, 2)) mt_op_set_output(c, 2, dt, 4, pv);
  if (mt_op_has_output(c, 3)) mt_op_set_output(c, 3, dt, 4, qk);
  return NULL;
}

MT_MUST_USE static mt_status *lower_attention(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_ATTENTION;
  return attention_call(c, &call->params.attention);
}

const mt_op_def mt_ops_attention[] = {
    {.op_type = "RotaryEmbedding",
     .min_inputs = 3,
     .max_inputs = 4,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_rotary,
     .lower = lower_rotary},
    {.op_type = "Attention",
     .min_inputs = 3,
     .max_inputs = 7,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_attention,
     .lower = lower_attention},
    {0},
};
