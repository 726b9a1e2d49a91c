/* ONNX ops of the shape and data-movement family: the op table and the checked shape helpers that
 * ir/ops/shape_reshape.c, shape_index.c and shape_const.c share.
 *
 * These ops move whole elements and never look at their values (NonZero aside), so they work for
 * every dtype by element size. All shape arithmetic is overflow-checked because dims come from
 * model files and from data (Reshape's shape, Tile's repeats). */
#include <stdlib.h>
#include <string.h>

#include "ir/ops/shape_ops.h"
#include "runtime/base/checked_math.h"

#define BIT(i) (1u << (i))

mt_status *mt_shape_inputs_check(const mt_op_ctx *ctx) {
  for (int i = 0; i < ctx->n_inputs; i++) {
    const mt_tensor *t = ctx->inputs[i];
    if (!t) continue;
    if (t->rank < 0 || t->rank > MT_MAX_RANK)
      return MT_ERR(INVALID_ARGUMENT, "input %d: rank is unknown or above %d", i, MT_MAX_RANK);
    for (int d = 0; d < t->rank; d++)
      if (t->dims[d] < -1 || (t->dims[d] < 0 && ctx->executing))
        return MT_ERR(INVALID_ARGUMENT, "input %d: dim %d is invalid (%lld)", i, d,
                      (long long)t->dims[d]);
  }
  return NULL;
}

mt_status *mt_shape_mul(int64_t a, int64_t b, int64_t *out) {
  if (a == 0 || b == 0) {
    *out = 0;
    return NULL;
  }
  if (a < 0 || b < 0) { /* unknown (data-dependent) stays unknown */
    *out = -1;
    return NULL;
  }
  if (!mt_mul_i64(a, b, out))
    return MT_ERR(OUT_OF_RANGE, "size %lld x %lld overflows int64", (long long)a, (long long)b);
  return NULL;
}

mt_status *mt_shape_dims_check(int rank, const int64_t *dims, mt_dtype dtype) {
  if (rank < 0 || rank > MT_MAX_RANK)
    return MT_ERR(OUT_OF_RANGE, "output rank %d exceeds the supported maximum %d", rank,
                  MT_MAX_RANK);
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] == -1) continue; /* unknown during static inference */
    if (dims[i] < 0)
      return MT_ERR(INVALID_ARGUMENT, "output dim %d is negative (%lld)", i, (long long)dims[i]);
    if (!mt_mul_i64(n, dims[i], &n))
      return MT_ERR(OUT_OF_RANGE, "output element count overflows int64");
  }
  size_t bytes;
  size_t es = mt_dtype_size(dtype);
  if (!mt_mul_size((size_t)n, es ? es : 1, &bytes) || bytes > (size_t)INT64_MAX)
    return MT_ERR(OUT_OF_RANGE, "output of %lld elements is too large", (long long)n);
  return NULL;
}

int64_t mt_shape_numel_or_unknown(int rank, const int64_t *dims) {
  bool unknown = false;
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] == 0) return 0;
    if (dims[i] < 0)
      unknown = true;
    else
      n *= dims[i];
  }
  return unknown ? -1 : n;
}

mt_status *mt_shape_elem_size(const mt_tensor *t, size_t *out) {
  size_t es = mt_dtype_size(t->dtype);
  if (!es || !mt_dtype_supported(t->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(t->dtype));
  *out = es;
  return NULL;
}

mt_status *mt_shape_copy_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  (void)ctx;
  out_call->kind = MT_KERNEL_COPY;
  return NULL;
}

mt_status *mt_shape_axes_normalize(int64_t *axes, int n, int rank, const char *what) {
  for (int i = 0; i < n; i++) {
    if (axes[i] < -rank || axes[i] >= rank)
      return MT_ERR(INVALID_ARGUMENT, "%s %lld out of range for rank %d", what, (long long)axes[i],
                    rank);
    if (axes[i] < 0) axes[i] += rank;
    for (int j = 0; j < i; j++)
      if (axes[j] == axes[i])
        return MT_ERR(INVALID_ARGUMENT, "%s repeats axis %lld", what, (long long)axes[i]);
  }
  return NULL;
}

const mt_op_def mt_ops_shape[] = {
    {.op_type = "Identity",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_INJECTIVE,
     .traits = MT_TRAIT_METADATA,
     .infer = mt_shape_identity_infer,
     .lower = mt_shape_copy_lower},
    {.op_type = "Reshape",
     .min_inputs = 1,
     .max_inputs = 2,
     .value_inputs = BIT(1),
     .pattern = MT_PATTERN_INJECTIVE,
     .traits = MT_TRAIT_METADATA,
     .infer = mt_shape_reshape_infer,
     .lower = mt_shape_copy_lower},
    {.op_type = "Flatten",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_INJECTIVE,
     .traits = MT_TRAIT_METADATA,
     .infer = mt_shape_flatten_infer,
     .lower = mt_shape_copy_lower},
    {.op_type = "Squeeze",
     .min_inputs = 1,
     .max_inputs = 2,
     .value_inputs = BIT(1),
     .pattern = MT_PATTERN_INJECTIVE,
     .traits = MT_TRAIT_METADATA,
     .infer = mt_shape_squeeze_infer,
     .lower = mt_shape_copy_lower},
    {.op_type = "Unsqueeze",
     .min_inputs = 1,
     .max_inputs = 2,
     .value_inputs = BIT(1),
     .pattern = MT_PATTERN_INJECTIVE,
     .traits = MT_TRAIT_METADATA,
     .infer = mt_shape_unsqueeze_infer,
     .lower = mt_shape_copy_lower},
    {.op_type = "Transpose",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_INJECTIVE,
     .infer = mt_shape_transpose_infer,
     .lower = mt_shape_transpose_lower},
    {.op_type = "Expand",
     .min_inputs = 2,
     .max_inputs = 2,
     .value_inputs = BIT(1),
     .pattern = MT_PATTERN_INJECTIVE,
     .infer = mt_shape_expand_infer,
     .lower = mt_shape_expand_lower},
    {.op_type = "Tile",
     .min_inputs = 2,
     .max_inputs = 2,
     .value_inputs = BIT(1),
     .pattern = MT_PATTERN_INJECTIVE,
     .infer = mt_shape_tile_infer,
     .lower = mt_shape_tile_lower},
    {.op_type = "DepthToSpace",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_INJECTIVE,
     .infer = mt_shape_depth_to_space_infer,
     .lower = mt_shape_depth_to_space_lower},
    {.op_type = "SpaceToDepth",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_INJECTIVE,
     .infer = mt_shape_space_to_depth_infer,
     .lower = mt_shape_space_to_depth_lower},
    {.op_type = "Concat",
     .min_inputs = 1,
     .max_inputs = -1,
     .pattern = MT_PATTERN_INJECTIVE,
     .infer = mt_shape_concat_infer,
     .lower = mt_shape_concat_lower},
    {.op_type = "Split",
     .min_inputs = 1,
     .max_inputs = 2,
     .value_inputs = BIT(1),
     .pattern = MT_PATTERN_INJECTIVE,
     .infer = mt_shape_split_infer,
     .lower = mt_shape_split_lower},
    {.op_type = "Slice",
     .min_inputs = 1,
     .max_inputs = 5,
     .value_inputs = BIT(1) | BIT(2) | BIT(3) | BIT(4),
     .pattern = MT_PATTERN_INJECTIVE,
     .traits = MT_TRAIT_GATHERS,
     .infer = mt_shape_slice_infer,
     .lower = mt_shape_slice_lower},
    {.op_type = "Gather",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_INJECTIVE,
     .traits = MT_TRAIT_GATHERS,
     .infer = mt_shape_gather_infer,
     .lower = mt_shape_gather_lower},
    {.op_type = "GatherElements",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_INJECTIVE,
     .traits = MT_TRAIT_GATHERS,
     .infer = mt_shape_gather_elements_infer,
     .lower = mt_shape_gather_elements_lower},
    {.op_type = "Pad",
     .min_inputs = 1,
     .max_inputs = 4,
     .value_inputs = BIT(1) | BIT(3),
     .pattern = MT_PATTERN_INJECTIVE,
     .infer = mt_shape_pad_infer,
     .lower = mt_shape_pad_lower,
     .unsupported_reason = mt_shape_pad_unsupported},
    {.op_type = "Shape",
     .min_inputs = 1,
     .max_inputs = 1,
     .flags = MT_OP_VALUE_FROM_SHAPES,
     .pattern = MT_PATTERN_OPAQUE,
     .traits = MT_TRAIT_SHAPE_QUERY,
     .infer = mt_shape_shape_infer,
     .lower = mt_shape_shape_lower},
    {.op_type = "Size",
     .min_inputs = 1,
     .max_inputs = 1,
     .flags = MT_OP_VALUE_FROM_SHAPES,
     .pattern = MT_PATTERN_OPAQUE,
     .traits = MT_TRAIT_SHAPE_QUERY,
     .infer = mt_shape_size_infer,
     .lower = mt_shape_size_lower},
    {.op_type = "ConstantOfShape",
     .min_inputs = 1,
     .max_inputs = 1,
     .value_inputs = BIT(0),
     .pattern = MT_PATTERN_OPAQUE,
     .infer = mt_shape_constant_of_shape_infer,
     .lower = mt_shape_constant_of_shape_lower},
    {.op_type = "Constant",
     .min_inputs = 0,
     .max_inputs = 0,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = mt_shape_constant_infer,
     .run = mt_shape_constant_run,
     .unsupported_reason = mt_shape_constant_unsupported},
    {.op_type = "Range",
     .min_inputs = 3,
     .max_inputs = 3,
     .value_inputs = BIT(0) | BIT(1) | BIT(2),
     .pattern = MT_PATTERN_OPAQUE,
     .infer = mt_shape_range_infer,
     .lower = mt_shape_range_lower},
    {.op_type = "NonZero",
     .min_inputs = 1,
     .max_inputs = 1,
     .flags = MT_OP_ALLOCATES_OUTPUTS,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = mt_shape_nonzero_infer,
     .lower = mt_shape_nonzero_lower},
    {0},
};
