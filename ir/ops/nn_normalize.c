/* Normalisations over an axes set, LRN and Lp pooling: MeanVarianceNormalization,
 * GroupNormalization, RMSNormalization, LpNormalization and LpPool. Each lowers to one
 * MT_KERNEL_NORMALIZE call (the input under a view, the reduced dims and the dims that index the
 * scale/bias) or MT_KERNEL_LP_POOL (runtime/cpu/kernel_call_norm.c).
 *
 * Version differences: GroupNormalization's scale and bias are per group at opset 18 and per
 * channel from 21; LpPool's p is a float before opset 2, and dilations and ceil_mode exist from
 * opset 18. These ops run as their own kernels (pattern opaque): their statistics span axes sets
 * the row-wise reduction generator does not cover. */
#include <math.h>
#include <string.h>

#include "ir/ops/nn_internal.h"

MT_MUST_USE static mt_status *require_float(const mt_tensor *x, const char *what) {
  return mt_nn_require_float(x, what);
}

/* ---------------------------------------------------------------- MeanVarianceNormalization */

MT_MUST_USE static mt_status *mvn_call(const mt_op_ctx *c, mt_kc_normalize *p) {
  const mt_tensor *x = mt_op_input(c, 0);
  MT_RETURN_IF_ERROR_PLAIN(require_float(x, "X"));
  memset(p, 0, sizeof *p);
  p->kind = MT_NORMALIZE_MVN;
  p->p = 1;
  p->rank = x->rank > 0 ? x->rank : 1;
  for (int d = 0; d < p->rank; d++) p->dims[d] = x->rank > 0 ? x->dims[d] : 1;
  const mt_attr *axes = mt_node_attr(c->node, "axes");
  static const int64_t dflt[3] = {0, 2, 3};
  int n = axes ? (int)axes->count : 3;
  for (int i = 0; i < n; i++) {
    int a;
    MT_RETURN_IF_ERROR(mt_normalize_axis(axes ? axes->ints[i] : dflt[i], x->rank, &a), "axes");
    p->reduce_mask |= 1u << a;
  }
  return NULL;
}

/* ---------------------------------------------------------------- RMSNormalization */

/* scale broadcasts (right-aligned) to the normalised dims [axis, rank); the dims where it is not
 * 1 index it. */
MT_MUST_USE static mt_status *rms_call(const mt_op_ctx *c, mt_kc_normalize *p) {
  const mt_tensor *x = mt_op_input(c, 0), *scale = mt_op_input(c, 1);
  MT_RETURN_IF_ERROR_PLAIN(require_float(x, "X"));
  if (!scale || scale->dtype != x->dtype)
    return MT_ERR(INVALID_ARGUMENT, "input 1: scale must be %s", mt_dtype_name(x->dtype));
  if (x->rank < 1) return MT_ERR(INVALID_ARGUMENT, "X must have rank >= 1");
  int axis;
  MT_RETURN_IF_ERROR_PLAIN(
      mt_normalize_axis(mt_node_attr_int(c->node, "axis", -1), x->rank, &axis));
  memset(p, 0, sizeof *p);
  p->kind = MT_NORMALIZE_RMS;
  p->p = 1;
  p->epsilon = mt_node_attr_float(c->node, "epsilon", 1e-5f);
  p->rank = x->rank;
  memcpy(p->dims, x->dims, sizeof p->dims);
  for (int d = axis; d < x->rank; d++) p->reduce_mask |= 1u << d;
  if (scale->rank > x->rank - axis)
    return MT_ERR(INVALID_ARGUMENT, "input 1: scale of rank %d exceeds the %d normalised dims",
                  scale->rank, x->rank - axis);
  for (int i = 0; i < scale->rank; i++) {
    int d = x->rank - scale->rank + i;
    if (scale->dims[i] == 1) continue;
    if (scale->dims[i] != x->dims[d])
      return MT_ERR(INVALID_ARGUMENT, "input 1: scale dim %d is %lld, X dim %d is %lld", i,
                    (long long)scale->dims[i], d, (long long)x->dims[d]);
    p->param_mask |= 1u << d;
  }
  return NULL;
}

/* ---------------------------------------------------------------- GroupNormalization */

MT_MUST_USE static mt_status *group_call(const mt_op_ctx *c, mt_kc_normalize *p) {
  const mt_tensor *x = mt_op_input(c, 0), *scale = mt_op_input(c, 1), *bias = mt_op_input(c, 2);
  MT_RETURN_IF_ERROR_PLAIN(require_float(x, "X"));
  if (x->rank < 2) return MT_ERR(INVALID_ARGUMENT, "X must have rank >= 2, got %d", x->rank);
  int64_t groups = mt_node_attr_int(c->node, "num_groups", 0), ch = x->dims[1];
  if (groups < 1 || ch % groups != 0)
    return MT_ERR(INVALID_ARGUMENT, "num_groups %lld must divide the %lld channels",
                  (long long)groups, (long long)ch);
  int64_t want = c->opset >= 21 ? ch : groups; /* per channel from opset 21, per group before */
  for (int i = 1; i <= 2; i++) {
    const mt_tensor *t = i == 1 ? scale : bias;
    if (!t || t->dtype != x->dtype || mt_tensor_numel(t) != want)
      return MT_ERR(INVALID_ARGUMENT, "input %d: %s must hold %lld %s values at opset %d", i,
                    i == 1 ? "scale" : "bias", (long long)want, mt_dtype_name(x->dtype), c->opset);
  }
  memset(p, 0, sizeof *p);
  p->kind = MT_NORMALIZE_GROUP;
  p->p = 1;
  p->epsilon = mt_node_attr_float(c->node, "epsilon", 1e-5f);
  p->rank = 4; /* [N, groups, channels per group, spatial] */
  p->dims[0] = x->dims[0];
  p->dims[1] = groups;
  p->dims[2] = ch / groups;
  p->dims[3] = mt_shape_numel(x->rank - 2, x->dims + 2);
  p->reduce_mask = (1u << 2) | (1u << 3);
  p->param_mask = c->opset >= 21 ? (1u << 1) | (1u << 2) : 1u << 1;
  return NULL;
}

/* ---------------------------------------------------------------- LpNormalization */

MT_MUST_USE static mt_status *lp_call(const mt_op_ctx *c, mt_kc_normalize *p) {
  const mt_tensor *x = mt_op_input(c, 0);
  MT_RETURN_IF_ERROR_PLAIN(require_float(x, "input"));
  if (x->rank < 1) return MT_ERR(INVALID_ARGUMENT, "input must have rank >= 1");
  int axis;
  MT_RETURN_IF_ERROR_PLAIN(
      mt_normalize_axis(mt_node_attr_int(c->node, "axis", -1), x->rank, &axis));
  int64_t pv = mt_node_attr_int(c->node, "p", 2);
  if (pv != 1 && pv != 2)
    return MT_ERR(INVALID_ARGUMENT, "p must be 1 or 2, got %lld", (long long)pv);
  memset(p, 0, sizeof *p);
  p->kind = MT_NORMALIZE_LP;
  p->p = (int)pv;
  p->rank = 3;
  p->dims[0] = mt_shape_numel(axis, x->dims);
  p->dims[1] = x->dims[axis];
  p->dims[2] = mt_shape_numel(x->rank - axis - 1, x->dims + axis + 1);
  p->reduce_mask = 1u << 1;
  return NULL;
}

/* ---------------------------------------------------------------- shared infer / lower */

MT_MUST_USE static mt_status *normalize_call(const mt_op_ctx *c, mt_kc_normalize *p) {
  const char *op = c->node->op_type;
  if (strcmp(op, "MeanVarianceNormalization") == 0) return mvn_call(c, p);
  if (strcmp(op, "RMSNormalization") == 0) return rms_call(c, p);
  if (strcmp(op, "GroupNormalization") == 0) return group_call(c, p);
  return lp_call(c, p);
}

MT_MUST_USE static mt_status *infer_normalize(mt_op_ctx *c) {
  mt_kc_normalize p;
  MT_RETURN_IF_ERROR_PLAIN(normalize_call(c, &p));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_normalize(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_NORMALIZE;
  return normalize_call(c, &call->params.normalize);
}

/* ---------------------------------------------------------------- LpPool */

MT_MUST_USE static mt_status *lp_pool_call(const mt_op_ctx *c, mt_kc_lp_pool *p) {
  const mt_tensor *x = mt_op_input(c, 0);
  MT_RETURN_IF_ERROR_PLAIN(require_float(x, "X"));
  if (x->rank < 3) return MT_ERR(INVALID_ARGUMENT, "X must have rank >= 3, got %d", x->rank);
  const mt_attr *pa = mt_node_attr(c->node, "p");
  double pv = !pa ? 2.0 : pa->type == MT_ATTR_FLOAT ? (double)pa->f : (double)pa->i;
  if (pv < 1 || pv != floor(pv) || pv > 64)
    return MT_ERR(UNIMPLEMENTED, "LpPool p = %g (a positive integer up to 64 is supported)", pv);
  mt_nn_window win;
  MT_RETURN_IF_ERROR_PLAIN(mt_nn_window_parse(c->node, x->rank - 2, NULL, &win));
  if (c->opset < 18) {
    for (int d = 0; d < win.nsp; d++) win.dilation[d] = 1; /* no dilations before opset 18 */
    win.ceil_mode = false;
  }
  memset(p, 0, sizeof *p);
  p->p = (int64_t)pv;
  p->planes = x->dims[0] < 0 || x->dims[1] < 0 ? -1 : x->dims[0] * x->dims[1];
  return mt_nn_window_forward(&win, x->dims + 2, &p->geom);
}

MT_MUST_USE static mt_status *infer_lp_pool(mt_op_ctx *c) {
  mt_kc_lp_pool p;
  MT_RETURN_IF_ERROR_PLAIN(lp_pool_call(c, &p));
  const mt_tensor *x = mt_op_input(c, 0);
  int64_t dims[MT_MAX_RANK] = {x->dims[0], x->dims[1]};
  for (int d = 0; d < p.geom.nsp; d++) dims[2 + d] = p.geom.out[d];
  mt_op_set_output(c, 0, x->dtype, p.geom.nsp + 2, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_lp_pool(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_LP_POOL;
  return lp_pool_call(c, &call->params.lp_pool);
}

/* ---------------------------------------------------------------- LRN */

MT_MUST_USE static mt_status *lrn_call(const mt_op_ctx *c, mt_kc_lrn *p) {
  const mt_tensor *x = mt_op_input(c, 0);
  MT_RETURN_IF_ERROR_PLAIN(require_float(x, "X"));
  if (x->rank < 2) return MT_ERR(INVALID_ARGUMENT, "X must have rank >= 2, got %d", x->rank);
  memset(p, 0, sizeof *p);
  p->size = mt_node_attr_int(c->node, "size", 0);
  if (p->size < 1) return MT_ERR(INVALID_ARGUMENT, "size must be at least 1");
  p->alpha = mt_node_attr_float(c->node, "alpha", 1e-4f);
  p->beta = mt_node_attr_float(c->node, "beta", 0.75f);
  p->bias = mt_node_attr_float(c->node, "bias", 1.0f);
  return NULL;
}

MT_MUST_USE static mt_status *infer_lrn(mt_op_ctx *c) {
  mt_kc_lrn p;
  MT_RETURN_IF_ERROR_PLAIN(lrn_call(c, &p));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_lrn(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_LRN;
  return lrn_call(c, &call->params.lrn);
}

/* ---------------------------------------------------------------- the table */

#define NORM_DEF(name, lo, hi)                                                                     \
  {                                                                                                \
    .op_type = name, .min_inputs = lo, .max_inputs = hi, .pattern = MT_PATTERN_OPAQUE,             \
    .infer = infer_normalize, .lower = lower_normalize                                             \
  }

const mt_op_def mt_ops_normalize[] = {
    NORM_DEF("MeanVarianceNormalization", 1, 1),
    NORM_DEF("RMSNormalization", 2, 2),
    NORM_DEF("GroupNormalization", 3, 3),
    NORM_DEF("LpNormalization", 1, 1),
    {.op_type = "LRN",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_lrn,
     .lower = lower_lrn},
    {.op_type = "LpPool",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_lp_pool,
     .lower = lower_lp_pool},
    {0},
};
