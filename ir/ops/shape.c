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
    if (dims[i] < 0) unknown = true;
    else n *= dims[i];
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

mt_status *mt_shape_copy_run(mt_op_ctx *ctx) {
  const mt_tensor *x = ctx->inputs[0];
  mt_tensor *y = &ctx->outputs[0];
  size_t nbytes = mt_tensor_nbytes(x);
  if (nbytes != mt_tensor_nbytes(y))
    return MT_ERR(INTERNAL, "output holds %zu bytes, input %zu", mt_tensor_nbytes(y), nbytes);
  if (nbytes) memmove(y->data, x->data, nbytes);
  return NULL;
}

mt_status *mt_shape_axes_normalize(int64_t *axes, int n, int rank, const char *what) {
  for (int i = 0; i < n; i++) {
    if (axes[i] < -rank || axes[i] >= rank)
      return MT_ERR(INVALID_ARGUMENT, "%s %lld out of range for rank %d", what,
                    (long long)axes[i], rank);
    if (axes[i] < 0) axes[i] += rank;
    for (int j = 0; j < i; j++)
      if (axes[j] == axes[i])
        return MT_ERR(INVALID_ARGUMENT, "%s repeats axis %lld", what, (long long)axes[i]);
  }
  return NULL;
}

const mt_op_def mt_ops_shape[] = {
    {"Identity", 1, 1, 0, 0, mt_shape_identity_infer, mt_shape_copy_run, NULL},
    {"Reshape", 1, 2, BIT(1), 0, mt_shape_reshape_infer, mt_shape_copy_run, NULL},
    {"Flatten", 1, 1, 0, 0, mt_shape_flatten_infer, mt_shape_copy_run, NULL},
    {"Squeeze", 1, 2, BIT(1), 0, mt_shape_squeeze_infer, mt_shape_copy_run, NULL},
    {"Unsqueeze", 1, 2, BIT(1), 0, mt_shape_unsqueeze_infer, mt_shape_copy_run, NULL},
    {"Transpose", 1, 1, 0, 0, mt_shape_transpose_infer, mt_shape_transpose_run, NULL},
    {"Expand", 2, 2, BIT(1), 0, mt_shape_expand_infer, mt_shape_expand_run, NULL},
    {"Tile", 2, 2, BIT(1), 0, mt_shape_tile_infer, mt_shape_tile_run, NULL},
    {"DepthToSpace", 1, 1, 0, 0, mt_shape_depth_to_space_infer, mt_shape_depth_to_space_run,
     NULL},
    {"SpaceToDepth", 1, 1, 0, 0, mt_shape_space_to_depth_infer, mt_shape_space_to_depth_run,
     NULL},
    {"Concat", 1, -1, 0, 0, mt_shape_concat_infer, mt_shape_concat_run, NULL},
    {"Split", 1, 2, BIT(1), 0, mt_shape_split_infer, mt_shape_split_run, NULL},
    {"Slice", 1, 5, BIT(1) | BIT(2) | BIT(3) | BIT(4), 0, mt_shape_slice_infer,
     mt_shape_slice_run, NULL},
    {"Gather", 2, 2, 0, 0, mt_shape_gather_infer, mt_shape_gather_run, NULL},
    {"GatherElements", 2, 2, 0, 0, mt_shape_gather_elements_infer, mt_shape_gather_elements_run,
     NULL},
    {"Pad", 1, 4, BIT(1) | BIT(3), 0, mt_shape_pad_infer, mt_shape_pad_run,
     mt_shape_pad_unsupported},
    {"Shape", 1, 1, 0, MT_OP_VALUE_FROM_SHAPES, mt_shape_shape_infer, mt_shape_shape_run, NULL},
    {"Size", 1, 1, 0, MT_OP_VALUE_FROM_SHAPES, mt_shape_size_infer, mt_shape_size_run, NULL},
    {"ConstantOfShape", 1, 1, BIT(0), 0, mt_shape_constant_of_shape_infer,
     mt_shape_constant_of_shape_run, NULL},
    {"Constant", 0, 0, 0, 0, mt_shape_constant_infer, mt_shape_constant_run,
     mt_shape_constant_unsupported},
    {"Range", 3, 3, BIT(0) | BIT(1) | BIT(2), 0, mt_shape_range_infer, mt_shape_range_run, NULL},
    {"NonZero", 1, 1, 0, MT_OP_ALLOCATES_OUTPUTS, mt_shape_nonzero_infer, mt_shape_nonzero_run,
     NULL},
    {0},
};
