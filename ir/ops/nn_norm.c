/* Softmax, LogSoftmax, BatchNormalization, InstanceNormalization and LayerNormalization.
 *
 * Softmax / LogSoftmax before opset 13 flatten the input to 2-D at `axis` (default 1) and
 * normalise each row; from opset 13 they normalise along the single dim `axis` (default -1).
 * BatchNormalization computes inference from the given statistics, or, with training_mode = 1
 * (opset 14+), from the batch statistics, also producing the updated running mean / variance. */
#include <stdlib.h>
#include <string.h>

#include "ir/ops/nn_internal.h"
#include "runtime/cpu/norm.h"

/* ---------------------------------------------------------------- Softmax / LogSoftmax */

static mt_status *softmax_layout(const mt_op_ctx *ctx, int64_t *outer, int64_t *n,
                                 int64_t *inner) {
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
  MT_RETURN_IF_ERROR_PLAIN(mt_nn_require_float(mt_op_input(ctx, 0), "input"));
  int64_t outer, n, inner;
  MT_RETURN_IF_ERROR_PLAIN(softmax_layout(ctx, &outer, &n, &inner));
  mt_op_same_as_input(ctx, 0, 0);
  return NULL;
}

static mt_status *softmax_common(mt_op_ctx *ctx, bool log_softmax) {
  int64_t outer, n, inner;
  MT_RETURN_IF_ERROR_PLAIN(softmax_layout(ctx, &outer, &n, &inner));
  mt_tensor *y = &ctx->outputs[0];
  const float *xf;
  float *x_own = NULL, *yf, *y_own = NULL;
  mt_status *st = mt_nn_as_f32(mt_op_input(ctx, 0), &xf, &x_own);
  if (!st) st = mt_nn_out_f32(y, &yf, &y_own);
  if (!st) {
    mt_cpu_softmax_f32(xf, yf, outer, n, inner, log_softmax);
    mt_nn_finish_f32(y, y_own);
  }
  free(x_own);
  return st;
}

mt_status *mt_nn_softmax_run(mt_op_ctx *ctx) { return softmax_common(ctx, false); }
mt_status *mt_nn_logsoftmax_run(mt_op_ctx *ctx) { return softmax_common(ctx, true); }

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
    if (node->outputs[i] != MT_NO_VALUE) return "BatchNormalization training outputs before opset 14";
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

mt_status *mt_nn_batchnorm_run(mt_op_ctx *ctx) {
  const mt_tensor *x = mt_op_input(ctx, 0);
  mt_tensor *y = &ctx->outputs[0];
  int64_t batch = x->dims[0], c = x->dims[1];
  int64_t plane = mt_shape_numel(x->rank - 2, x->dims + 2);
  float eps = mt_node_attr_float(ctx->node, "epsilon", 1e-5f);
  float momentum = mt_node_attr_float(ctx->node, "momentum", 0.9f);
  bool training = batchnorm_training(ctx);
  const float *p[5] = {0};
  float *own[5] = {0}, *yf, *y_own = NULL, *stats = NULL;
  mt_status *st = NULL;
  for (int i = 0; i < 5 && !st; i++) st = mt_nn_as_f32(mt_op_input(ctx, i), &p[i], &own[i]);
  /* Opset 6/7 spatial = 0: parameters per (channel, position) instead of per channel. */
  bool per_element = false;
  if (!st && ctx->opset < 9 && plane != 1 && mt_tensor_numel(mt_op_input(ctx, 1)) == c * plane)
    per_element = true;
  if (!st) {
    for (int i = 1; i < 5; i++) {
      int64_t want = per_element ? c * plane : c;
      if (mt_tensor_numel(mt_op_input(ctx, i)) != want) {
        st = MT_ERR(INVALID_ARGUMENT, "input %d has %lld values, expected %lld", i,
                    (long long)mt_tensor_numel(mt_op_input(ctx, i)), (long long)want);
        break;
      }
    }
  }
  if (!st && training && per_element)
    st = MT_ERR(UNIMPLEMENTED, "training mode with per-element statistics");
  if (!st) st = mt_nn_out_f32(y, &yf, &y_own);
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
    mt_nn_finish_f32(y, y_own);
    y_own = NULL;
    for (int i = 1; i <= 2; i++) {
      if (!mt_op_has_output(ctx, i)) continue;
      mt_tensor *o = &ctx->outputs[i];
      const float *given = p[2 + i], *batch_stat = i == 1 ? mean : var;
      for (int64_t k = 0; k < mt_tensor_numel(o); k++) {
        float v = training ? given[k] * momentum + batch_stat[k] * (1.0f - momentum) : given[k];
        if (o->dtype == MT_DTYPE_FLOAT16) ((uint16_t *)o->data)[k] = mt_float_to_half(v);
        else ((float *)o->data)[k] = v;
      }
    }
  }
  free(y_own);
  free(stats);
  for (int i = 0; i < 5; i++) free(own[i]);
  return st;
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

mt_status *mt_nn_instancenorm_run(mt_op_ctx *ctx) {
  const mt_tensor *x = mt_op_input(ctx, 0);
  mt_tensor *y = &ctx->outputs[0];
  int64_t plane = mt_shape_numel(x->rank - 2, x->dims + 2);
  float eps = mt_node_attr_float(ctx->node, "epsilon", 1e-5f);
  const float *p[3] = {0};
  float *own[3] = {0}, *yf, *y_own = NULL;
  mt_status *st = NULL;
  for (int i = 0; i < 3 && !st; i++) st = mt_nn_as_f32(mt_op_input(ctx, i), &p[i], &own[i]);
  if (!st) st = mt_nn_out_f32(y, &yf, &y_own);
  if (!st) {
    mt_cpu_instancenorm_f32(p[0], yf, x->dims[0], x->dims[1], plane, p[1], p[2], eps);
    mt_nn_finish_f32(y, y_own);
  }
  for (int i = 0; i < 3; i++) free(own[i]);
  return st;
}

/* ---------------------------------------------------------------- LayerNormalization */

const char *mt_nn_layernorm_unsupported(const mt_node *node) {
  int64_t stash = mt_node_attr_int(node, "stash_type", 1);
  if (stash != 1) return "LayerNormalization stash_type other than float32";
  return NULL;
}

/* Unidirectional broadcast check of a Scale / B shape against the normalised dims. */
static mt_status *check_norm_param(const mt_tensor *t, int nd, const int64_t *dims,
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
  MT_RETURN_IF_ERROR_PLAIN(mt_normalize_axis(mt_node_attr_int(ctx->node, "axis", -1), x->rank, &axis));
  for (int i = 1; i < 3; i++) {
    const mt_tensor *t = mt_op_input(ctx, i);
    if (!t) continue;
    MT_RETURN_IF_ERROR_PLAIN(mt_nn_require_float(t, i == 1 ? "Scale" : "B"));
    MT_RETURN_IF_ERROR_PLAIN(check_norm_param(t, x->rank - axis, x->dims + axis, i == 1 ? "Scale" : "B"));
  }
  mt_op_same_as_input(ctx, 0, 0);
  int64_t dims[MT_MAX_RANK];
  for (int d = 0; d < x->rank; d++) dims[d] = d < axis ? x->dims[d] : 1;
  for (int i = 1; i <= 2; i++)
    if (mt_op_has_output(ctx, i)) mt_op_set_output(ctx, i, MT_DTYPE_FLOAT32, x->rank, dims);
  return NULL;
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

mt_status *mt_nn_layernorm_run(mt_op_ctx *ctx) {
  const mt_tensor *x = mt_op_input(ctx, 0), *sc = mt_op_input(ctx, 1), *bi = mt_op_input(ctx, 2);
  mt_tensor *y = &ctx->outputs[0];
  int axis;
  MT_RETURN_IF_ERROR_PLAIN(mt_normalize_axis(mt_node_attr_int(ctx->node, "axis", -1), x->rank, &axis));
  float eps = mt_node_attr_float(ctx->node, "epsilon", 1e-5f);
  int nd = x->rank - axis;
  int64_t rows = mt_shape_numel(axis, x->dims), n = mt_shape_numel(nd, x->dims + axis);
  const float *xf, *sf, *bf = NULL;
  float *x_own = NULL, *s_own = NULL, *b_own = NULL, *yf, *y_own = NULL;
  float *params = malloc((size_t)(2 * (n > 0 ? n : 1)) * sizeof(float));
  mt_status *st = params ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) st = mt_nn_as_f32(x, &xf, &x_own);
  if (!st) st = mt_nn_as_f32(sc, &sf, &s_own);
  if (!st && bi) st = mt_nn_as_f32(bi, &bf, &b_own);
  if (!st) st = mt_nn_out_f32(y, &yf, &y_own);
  if (!st) {
    expand_param(sf, sc, nd, x->dims + axis, n, params);
    if (bf) expand_param(bf, bi, nd, x->dims + axis, n, params + n);
    float *mean = mt_op_has_output(ctx, 1) ? ctx->outputs[1].data : NULL;
    float *inv = mt_op_has_output(ctx, 2) ? ctx->outputs[2].data : NULL;
    mt_cpu_layernorm_f32(xf, yf, rows, n, params, bf ? params + n : NULL, eps, mean, inv);
    mt_nn_finish_f32(y, y_own);
  }
  free(params);
  free(x_own);
  free(s_own);
  free(b_own);
  return st;
}
