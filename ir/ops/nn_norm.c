/* Softmax, LogSoftmax, BatchNormalization, InstanceNormalization and LayerNormalization.
 *
 * Softmax / LogSoftmax before opset 13 flatten the input to 2-D at `axis` (default 1) and
 * normalise each row; from opset 13 they normalise along the single dim `axis` (default -1).
 * BatchNormalization computes inference from the given statistics, or, with training_mode = 1
 * (opset 14+), from the batch statistics, also producing the updated running mean / variance. */
#include <string.h>

#include "ir/ops/nn_internal.h"

/* ---------------------------------------------------------------- Softmax / LogSoftmax */

mt_status *mt_nn_softmax_layout(const mt_op_ctx *ctx, int64_t *outer, int64_t *n, int64_t *inner) {
  const mt_tensor *x = mt_op_input(ctx, 0);
  bool legacy = ctx->opset < 13;
  if (x->rank == 0) return MT_ERR(INVALID_ARGUMENT, "input must have rank >= 1");
  int axis;
  MT_RETURN_IF_ERROR_PLAIN(
      mt_normalize_axis(mt_node_attr_int(ctx->node, "axis", legacy ? 1 : -1), x->rank, &axis));
  *outer = mt_shape_numel(axis, x->dims);
  if (legacy) {
    *n = mt_shape_numel(x->rank - axis, x->dims + axis);
    *inner = 1;
  } else {
    *n = x->dims[axis];
    *inner = mt_shape_numel(x->rank - axis - 1, x->dims + axis + 1);
  }
  return NULL;
}

mt_status *mt_nn_softmax_infer(mt_op_ctx *ctx) {
  const mt_tensor *x = mt_op_input(ctx, 0);
  if (x->dtype != MT_DTYPE_FLOAT64) /* float64 runs in double (runtime/cpu/float64.c) */
    MT_RETURN_IF_ERROR_PLAIN(mt_nn_require_float(x, "input"));
  int64_t outer, n, inner;
  MT_RETURN_IF_ERROR_PLAIN(mt_nn_softmax_layout(ctx, &outer, &n, &inner));
  mt_op_same_as_input(ctx, 0, 0);
  return NULL;
}

mt_status *mt_nn_softmax_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  mt_kc_softmax *p = &out_call->params.softmax;
  out_call->kind = MT_KERNEL_SOFTMAX;
  p->log = strcmp(ctx->node->op_type, "LogSoftmax") == 0;
  return mt_nn_softmax_layout(ctx, &p->outer, &p->n, &p->inner);
}

/* ---------------------------------------------------------------- BatchNormalization */

static bool batchnorm_training(const mt_op_ctx *ctx) {
  if (ctx->opset >= 14) return mt_node_attr_int(ctx->node, "training_mode", 0) != 0;
  return false;
}

const char *mt_nn_batchnorm_unsupported(const mt_node *node) {
  if (node->opset >= 14) return NULL;
  /* Before opset 14 extra outputs meant training mode, whose saved_* outputs are
   * framework-defined; ONNX Runtime does not run it either. */
  for (int i = 1; i < node->n_outputs; i++)
    if (node->outputs[i] != MT_NO_VALUE)
      return "BatchNormalization training outputs before opset 14";
  return NULL;
}

mt_status *mt_nn_batchnorm_infer(mt_op_ctx *ctx) {
  const mt_tensor *x = mt_op_input(ctx, 0);
  MT_RETURN_IF_ERROR_PLAIN(mt_nn_require_float(x, "X"));
  if (x->rank < 2) return MT_ERR(INVALID_ARGUMENT, "X must have rank >= 2, got %d", x->rank);
  int64_t c = x->dims[1];
  for (int i = 1; i < 5; i++) {
    const mt_tensor *t = mt_op_input(ctx, i);
    MT_RETURN_IF_ERROR_PLAIN(mt_nn_require_float(t, "scale / B / mean / var"));
    if (ctx->opset >= 9 && (t->rank != 1 || (c >= 0 && t->dims[0] >= 0 && t->dims[0] != c)))
      return MT_ERR(INVALID_ARGUMENT, "input %d must be 1-D of length %lld", i, (long long)c);
  }
  mt_op_same_as_input(ctx, 0, 0);
  if (batchnorm_training(ctx)) {
    for (int i = 1; i <= 2; i++)
      if (mt_op_has_output(ctx, i)) mt_op_same_as_input(ctx, i, 3 + (i - 1));
  } else {
    for (int i = 1; i < ctx->n_outputs; i++)
      if (mt_op_has_output(ctx, i)) mt_op_same_as_input(ctx, i, i < 3 ? 2 + i : 2 + i - 2);
  }
  return NULL;
}

/* Parameter counts are checked by the kernel: opset < 9 allows per-element parameters, which
 * only their sizes tell apart. */
mt_status *mt_nn_batchnorm_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  out_call->kind = MT_KERNEL_BATCHNORM;
  out_call->params.batchnorm = (mt_kc_batchnorm){
      .epsilon = mt_node_attr_float(ctx->node, "epsilon", 1e-5f),
      .momentum = mt_node_attr_float(ctx->node, "momentum", 0.9f),
      .training = batchnorm_training(ctx),
      .allow_per_element = ctx->opset < 9,
  };
  return NULL;
}

/* ---------------------------------------------------------------- InstanceNormalization */

mt_status *mt_nn_instancenorm_infer(mt_op_ctx *ctx) {
  const mt_tensor *x = mt_op_input(ctx, 0);
  MT_RETURN_IF_ERROR_PLAIN(mt_nn_require_float(x, "input"));
  if (x->rank < 3) return MT_ERR(INVALID_ARGUMENT, "input must have rank >= 3, got %d", x->rank);
  for (int i = 1; i < 3; i++) {
    const mt_tensor *t = mt_op_input(ctx, i);
    MT_RETURN_IF_ERROR_PLAIN(mt_nn_require_float(t, "scale / B"));
    if (t->rank != 1 || (x->dims[1] >= 0 && t->dims[0] >= 0 && t->dims[0] != x->dims[1]))
      return MT_ERR(INVALID_ARGUMENT, "input %d must be 1-D of length %lld", i,
                    (long long)x->dims[1]);
  }
  mt_op_same_as_input(ctx, 0, 0);
  return NULL;
}

mt_status *mt_nn_instancenorm_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  out_call->kind = MT_KERNEL_INSTANCENORM;
  out_call->params.norm.epsilon = mt_node_attr_float(ctx->node, "epsilon", 1e-5f);
  return NULL;
}

/* ---------------------------------------------------------------- LayerNormalization */

const char *mt_nn_layernorm_unsupported(const mt_node *node) {
  int64_t stash = mt_node_attr_int(node, "stash_type", 1);
  if (stash != 1) return "LayerNormalization stash_type other than float32";
  return NULL;
}

/* Unidirectional broadcast check of a Scale / B shape against the normalised dims. */
MT_MUST_USE static mt_status *check_norm_param(const mt_tensor *t, int nd, const int64_t *dims,
                                               const char *what) {
  if (t->rank > nd)
    return MT_ERR(INVALID_ARGUMENT, "%s has rank %d, more than the %d normalised dims", what,
                  t->rank, nd);
  for (int i = 0; i < t->rank; i++) {
    int64_t td = t->dims[i], xd = dims[nd - t->rank + i];
    if (td != 1 && td >= 0 && xd >= 0 && td != xd)
      return MT_ERR(INVALID_ARGUMENT, "%s does not broadcast to the normalised shape", what);
  }
  return NULL;
}

mt_status *mt_nn_layernorm_infer(mt_op_ctx *ctx) {
  const mt_tensor *x = mt_op_input(ctx, 0);
  MT_RETURN_IF_ERROR_PLAIN(mt_nn_require_float(x, "X"));
  int axis;
  MT_RETURN_IF_ERROR_PLAIN(
      mt_normalize_axis(mt_node_attr_int(ctx->node, "axis", -1), x->rank, &axis));
  for (int i = 1; i < 3; i++) {
    const mt_tensor *t = mt_op_input(ctx, i);
    if (!t) continue;
    MT_RETURN_IF_ERROR_PLAIN(mt_nn_require_float(t, i == 1 ? "Scale" : "B"));
    MT_RETURN_IF_ERROR_PLAIN(
        check_norm_param(t, x->rank - axis, x->dims + axis, i == 1 ? "Scale" : "B"));
  }
  mt_op_same_as_input(ctx, 0, 0);
  int64_t dims[MT_MAX_RANK];
  for (int d = 0; d < x->rank; d++) dims[d] = d < axis ? x->dims[d] : 1;
  for (int i = 1; i <= 2; i++)
    if (mt_op_has_output(ctx, i)) mt_op_set_output(ctx, i, MT_DTYPE_FLOAT32, x->rank, dims);
  return NULL;
}

mt_status *mt_nn_layernorm_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  const mt_tensor *x = mt_op_input(ctx, 0);
  out_call->kind = MT_KERNEL_LAYERNORM;
  MT_RETURN_IF_ERROR_PLAIN(mt_normalize_axis(mt_node_attr_int(ctx->node, "axis", -1), x->rank,
                                             &out_call->params.norm.axis));
  out_call->params.norm.epsilon = mt_node_attr_float(ctx->node, "epsilon", 1e-5f);
  return NULL;
}
