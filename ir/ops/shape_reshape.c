/* Shape family, ops that rearrange one tensor: Identity, Reshape, Flatten, Squeeze, Unsqueeze,
 * Transpose, Expand, Tile, DepthToSpace, SpaceToDepth.
 *
 * The first five keep the bytes as they are (they lower to a copy); the rest lower to the layout
 * kernels of runtime/cpu/layout.c. */
#include <string.h>

#include "ir/ops/shape_ops.h"
#include "runtime/cpu/layout.h"

/* Sets output 0 after checking the shape is one mtcc can hold. */
MT_MUST_USE static mt_status *set_out(mt_op_ctx *ctx, mt_dtype dtype, int rank,
                                      const int64_t *dims) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_dims_check(rank, dims, dtype));
  mt_op_set_output(ctx, 0, dtype, rank, dims);
  return NULL;
}

mt_status *mt_shape_identity_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  mt_op_same_as_input(ctx, 0, 0);
  return NULL;
}

/* --- Reshape */

mt_status *mt_shape_reshape_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  const mt_tensor *s = mt_op_input(ctx, 1);
  int64_t shape[MT_MAX_RANK];
  int n = 0;
  if (s) {
    MT_RETURN_IF_ERROR(mt_read_int_list(s, shape, MT_MAX_RANK, &n), "input 1 (shape)");
  } else if (ctx->opset < 5) { /* Reshape-1 carried the shape as an attribute */
    const int64_t *a;
    int64_t c = mt_node_attr_ints(ctx->node, "shape", &a);
    if (c < 0) return MT_ERR(INVALID_ARGUMENT, "missing attribute 'shape'");
    if (c > MT_MAX_RANK)
      return MT_ERR(OUT_OF_RANGE, "shape of rank %lld exceeds %d", (long long)c, MT_MAX_RANK);
    n = (int)c;
    memcpy(shape, a, (size_t)n * sizeof *shape);
  } else {
    return MT_ERR(INVALID_ARGUMENT, "missing input 1 (shape)");
  }
  bool allowzero = ctx->opset >= 14 && mt_node_attr_int(ctx->node, "allowzero", 0) != 0;
  int64_t out[MT_MAX_RANK];
  int infer_at = -1;
  bool has_zero = false, unknown = false; /* unknown: a copied input dim is data-dependent */
  int64_t known = 1;                      /* product of the known target dims */
  for (int i = 0; i < n; i++) {
    int64_t v = shape[i];
    if (v == -1) {
      if (infer_at >= 0) return MT_ERR(INVALID_ARGUMENT, "shape has more than one -1");
      infer_at = i;
      out[i] = -1;
      continue;
    }
    if (v < 0) return MT_ERR(INVALID_ARGUMENT, "shape[%d] is %lld", i, (long long)v);
    if (v == 0 && !allowzero) {
      if (i >= x->rank)
        return MT_ERR(INVALID_ARGUMENT, "shape[%d] is 0 (copy the input dim) but input rank is %d",
                      i, x->rank);
      v = x->dims[i];
    }
    has_zero |= shape[i] == 0;
    out[i] = v;
    if (v < 0) {
      unknown = true;
      continue;
    }
    MT_RETURN_IF_ERROR(mt_shape_mul(known, v, &known), "reshape target");
  }
  int64_t numel = mt_shape_numel_or_unknown(x->rank, x->dims);
  if (infer_at >= 0) {
    if (allowzero && has_zero)
      return MT_ERR(INVALID_ARGUMENT, "shape holds both 0 and -1 while allowzero=1");
    if (known == 0)
      return MT_ERR(INVALID_ARGUMENT, "cannot infer the -1 dim: the other dims hold no elements");
    if (numel < 0 || unknown) {
      out[infer_at] = -1;
    } else if (numel % known != 0) {
      return MT_ERR(INVALID_ARGUMENT, "cannot reshape %lld elements: not a multiple of %lld",
                    (long long)numel, (long long)known);
    } else {
      out[infer_at] = numel / known;
    }
  } else if (numel >= 0 && !unknown && known != numel) {
    return MT_ERR(INVALID_ARGUMENT, "cannot reshape %lld elements into a shape of %lld",
                  (long long)numel, (long long)known);
  }
  return set_out(ctx, x->dtype, n, out);
}

/* --- Flatten */

mt_status *mt_shape_flatten_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  int64_t axis = mt_node_attr_int(ctx->node, "axis", 1);
  if (axis < -x->rank || axis > x->rank)
    return MT_ERR(INVALID_ARGUMENT, "axis %lld out of range for rank %d", (long long)axis, x->rank);
  if (axis < 0) axis += x->rank;
  int64_t out[2] = {1, 1};
  for (int i = 0; i < x->rank; i++)
    MT_RETURN_IF_ERROR_PLAIN(
        mt_shape_mul(out[i < axis ? 0 : 1], x->dims[i], &out[i < axis ? 0 : 1]));
  return set_out(ctx, x->dtype, 2, out);
}

/* --- Squeeze / Unsqueeze */

/* Axes from the attribute (before opset 13) or input 1 (from 13). *present is false when absent. */
MT_MUST_USE static mt_status *read_axes(const mt_op_ctx *ctx, int64_t *axes, int max, int *n,
                                        bool *present) {
  *n = 0;
  *present = false;
  if (ctx->opset >= 13) {
    const mt_tensor *t = mt_op_input(ctx, 1);
    if (!t) return NULL;
    MT_RETURN_IF_ERROR(mt_read_int_list(t, axes, max, n), "input 1 (axes)");
  } else {
    const int64_t *a;
    int64_t c = mt_node_attr_ints(ctx->node, "axes", &a);
    if (c < 0) return NULL;
    if (c > max) return MT_ERR(OUT_OF_RANGE, "%lld axes exceed %d", (long long)c, max);
    *n = (int)c;
    memcpy(axes, a, (size_t)c * sizeof *axes);
  }
  *present = true;
  return NULL;
}

mt_status *mt_shape_squeeze_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  int64_t axes[MT_MAX_RANK];
  int n;
  bool present;
  MT_RETURN_IF_ERROR_PLAIN(read_axes(ctx, axes, MT_MAX_RANK, &n, &present));
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_axes_normalize(axes, n, x->rank, "axes"));
  bool drop[MT_MAX_RANK] = {false};
  if (!present || n == 0) { /* no axes (or an empty list): drop every dim of size 1 */
    for (int i = 0; i < x->rank; i++) {
      if (x->dims[i] < 0)
        return MT_ERR(INVALID_ARGUMENT, "cannot squeeze without axes: dim %d is data-dependent", i);
      drop[i] = x->dims[i] == 1;
    }
  } else {
    for (int i = 0; i < n; i++) {
      if (x->dims[axes[i]] != 1 && x->dims[axes[i]] >= 0) /* an unknown dim is checked at run */
        return MT_ERR(INVALID_ARGUMENT, "cannot squeeze axis %lld of size %lld", (long long)axes[i],
                      (long long)x->dims[axes[i]]);
      drop[axes[i]] = true;
    }
  }
  int64_t out[MT_MAX_RANK];
  int r = 0;
  for (int i = 0; i < x->rank; i++)
    if (!drop[i]) out[r++] = x->dims[i];
  return set_out(ctx, x->dtype, r, out);
}

mt_status *mt_shape_unsqueeze_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  int64_t axes[MT_MAX_RANK];
  int n;
  bool present;
  mt_status *st = read_axes(ctx, axes, MT_MAX_RANK, &n, &present);
  if (st && mt_status_code_of(st) == MT_OUT_OF_RANGE)
    return mt_status_annotate(st, "unsqueezing to rank above %d", MT_MAX_RANK);
  MT_RETURN_IF_ERROR_PLAIN(st);
  if (!present) return MT_ERR(INVALID_ARGUMENT, "missing axes");
  int out_rank = x->rank + n;
  if (out_rank > MT_MAX_RANK)
    return MT_ERR(OUT_OF_RANGE, "output rank %d exceeds the supported maximum %d", out_rank,
                  MT_MAX_RANK);
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_axes_normalize(axes, n, out_rank, "axes"));
  bool ins[MT_MAX_RANK] = {false};
  for (int i = 0; i < n; i++) ins[axes[i]] = true;
  int64_t out[MT_MAX_RANK];
  int j = 0;
  for (int i = 0; i < out_rank; i++) out[i] = ins[i] ? 1 : x->dims[j++];
  return set_out(ctx, x->dtype, out_rank, out);
}

/* --- Transpose */

MT_MUST_USE static mt_status *read_perm(const mt_op_ctx *ctx, int rank, int *perm) {
  const int64_t *p;
  int64_t c = mt_node_attr_ints(ctx->node, "perm", &p);
  if (c < 0) { /* default: reverse the dims */
    for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
    return NULL;
  }
  if (c != rank)
    return MT_ERR(INVALID_ARGUMENT, "perm has %lld entries for rank %d", (long long)c, rank);
  bool seen[MT_MAX_RANK] = {false};
  for (int i = 0; i < rank; i++) {
    if (p[i] < 0 || p[i] >= rank || seen[p[i]])
      return MT_ERR(INVALID_ARGUMENT, "perm is not a permutation of 0..%d", rank - 1);
    seen[p[i]] = true;
    perm[i] = (int)p[i];
  }
  return NULL;
}

mt_status *mt_shape_transpose_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  int perm[MT_MAX_RANK];
  MT_RETURN_IF_ERROR_PLAIN(read_perm(ctx, x->rank, perm));
  int64_t out[MT_MAX_RANK];
  for (int i = 0; i < x->rank; i++) out[i] = x->dims[perm[i]];
  return set_out(ctx, x->dtype, x->rank, out);
}

mt_status *mt_shape_transpose_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  out_call->kind = MT_KERNEL_TRANSPOSE;
  return read_perm(ctx, ctx->inputs[0]->rank, out_call->params.transpose.perm);
}

/* --- Expand */

mt_status *mt_shape_expand_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  int64_t shape[MT_MAX_RANK];
  int n;
  MT_RETURN_IF_ERROR(mt_read_int_list(ctx->inputs[1], shape, MT_MAX_RANK, &n), "input 1 (shape)");
  int r = n > x->rank ? n : x->rank;
  int64_t out[MT_MAX_RANK];
  for (int i = 0; i < r; i++) {
    int ia = i - (r - x->rank), ib = i - (r - n);
    int64_t a = ia < 0 ? 1 : x->dims[ia];
    int64_t b = ib < 0 ? 1 : shape[ib];
    if (b < 0) return MT_ERR(INVALID_ARGUMENT, "shape[%d] is %lld", ib, (long long)b);
    if (a < 0) /* unknown input dim: only b == 1 leaves it unknown */
      out[i] = b == 1 ? -1 : b;
    else if (a == b || b == 1)
      out[i] = a;
    else if (a == 1)
      out[i] = b;
    else
      return MT_ERR(INVALID_ARGUMENT, "cannot expand dim %d of size %lld to %lld", ia, (long long)a,
                    (long long)b);
  }
  return set_out(ctx, x->dtype, r, out);
}

mt_status *mt_shape_expand_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  (void)ctx;
  out_call->kind = MT_KERNEL_EXPAND;
  return NULL;
}

/* --- Tile */

MT_MUST_USE static mt_status *read_repeats(const mt_op_ctx *ctx, int64_t *reps) {
  const mt_tensor *x = ctx->inputs[0];
  int n;
  MT_RETURN_IF_ERROR(mt_read_int_list(ctx->inputs[1], reps, MT_MAX_RANK, &n), "input 1 (repeats)");
  if (n != x->rank)
    return MT_ERR(INVALID_ARGUMENT, "repeats has %d entries for rank %d", n, x->rank);
  for (int i = 0; i < n; i++)
    if (reps[i] < 0)
      return MT_ERR(INVALID_ARGUMENT, "repeats[%d] is negative (%lld)", i, (long long)reps[i]);
  return NULL;
}

mt_status *mt_shape_tile_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  int64_t reps[MT_MAX_RANK], out[MT_MAX_RANK];
  MT_RETURN_IF_ERROR_PLAIN(read_repeats(ctx, reps));
  for (int i = 0; i < x->rank; i++)
    MT_RETURN_IF_ERROR(mt_shape_mul(x->dims[i], reps[i], &out[i]), "dim %d", i);
  return set_out(ctx, x->dtype, x->rank, out);
}

mt_status *mt_shape_tile_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  out_call->kind = MT_KERNEL_TILE;
  return read_repeats(ctx, out_call->params.tile.repeats);
}

/* --- DepthToSpace / SpaceToDepth */

MT_MUST_USE static mt_status *read_block(const mt_op_ctx *ctx, int64_t *block, int64_t *block_sq) {
  const mt_tensor *x = ctx->inputs[0];
  if (x->rank != 4) return MT_ERR(INVALID_ARGUMENT, "input 0: expected rank 4, got %d", x->rank);
  const mt_attr *a = mt_node_attr(ctx->node, "blocksize");
  if (!a) return MT_ERR(INVALID_ARGUMENT, "missing attribute 'blocksize'");
  if (a->i <= 0) return MT_ERR(INVALID_ARGUMENT, "blocksize %lld is not positive", (long long)a->i);
  *block = a->i;
  return mt_shape_mul(a->i, a->i, block_sq);
}

/* DepthToSpace has `mode` from opset 11, SpaceToDepth from opset 28; both default to DCR. */
MT_MUST_USE static mt_status *depth_mode(const mt_op_ctx *ctx, bool *crd) {
  const char *mode = ctx->opset >= 11 ? mt_node_attr_string(ctx->node, "mode", "DCR") : "DCR";
  *crd = strcmp(mode, "CRD") == 0;
  if (!*crd && strcmp(mode, "DCR") != 0) return MT_ERR(INVALID_ARGUMENT, "unknown mode '%s'", mode);
  return NULL;
}

mt_status *mt_shape_depth_to_space_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  int64_t b = 1, bb = 1;
  bool crd;
  MT_RETURN_IF_ERROR_PLAIN(read_block(ctx, &b, &bb));
  MT_RETURN_IF_ERROR_PLAIN(depth_mode(ctx, &crd));
  if (x->dims[1] >= 0 && x->dims[1] % bb != 0)
    return MT_ERR(INVALID_ARGUMENT, "channels %lld not divisible by blocksize^2 = %lld",
                  (long long)x->dims[1], (long long)bb);
  int64_t out[4] = {x->dims[0], x->dims[1] < 0 ? -1 : x->dims[1] / bb, 0, 0};
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_mul(x->dims[2], b, &out[2]));
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_mul(x->dims[3], b, &out[3]));
  return set_out(ctx, x->dtype, 4, out);
}

MT_MUST_USE static mt_status *depth_lower(const mt_op_ctx *ctx, bool space_to_depth,
                                          mt_kernel_call *call) {
  int64_t b = 1, bb = 1;
  bool crd;
  MT_RETURN_IF_ERROR_PLAIN(read_block(ctx, &b, &bb));
  MT_RETURN_IF_ERROR_PLAIN(depth_mode(ctx, &crd));
  call->kind = MT_KERNEL_DEPTH_TO_SPACE;
  call->params.depth_to_space =
      (mt_kc_depth_to_space){.block = b, .crd = crd, .space_to_depth = space_to_depth};
  return NULL;
}

mt_status *mt_shape_depth_to_space_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  return depth_lower(ctx, false, out_call);
}

mt_status *mt_shape_space_to_depth_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  int64_t b = 1, bb = 1;
  bool crd;
  MT_RETURN_IF_ERROR_PLAIN(read_block(ctx, &b, &bb));
  MT_RETURN_IF_ERROR_PLAIN(depth_mode(ctx, &crd));
  if ((x->dims[2] >= 0 && x->dims[2] % b != 0) || (x->dims[3] >= 0 && x->dims[3] % b != 0))
    return MT_ERR(INVALID_ARGUMENT, "spatial dims %lldx%lld not divisible by blocksize %lld",
                  (long long)x->dims[2], (long long)x->dims[3], (long long)b);
  int64_t out[4] = {x->dims[0], 0, x->dims[2] < 0 ? -1 : x->dims[2] / b,
                    x->dims[3] < 0 ? -1 : x->dims[3] / b};
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_mul(x->dims[1], bb, &out[1]));
  return set_out(ctx, x->dtype, 4, out);
}

mt_status *mt_shape_space_to_depth_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  return depth_lower(ctx, true, out_call);
}
