/* Internal interface of the shape family (ir/ops/shape*.c): the checked shape helpers they share
 * and the infer/lower entry points that ir/ops/shape.c lists in mt_ops_shape. */
#ifndef MT_IR_OPS_SHAPE_OPS_H
#define MT_IR_OPS_SHAPE_OPS_H

#include "ir/op.h"

/* Every present input has a known rank and valid dims. During static inference a dim may be -1:
 * unknown because it depends on data (an If whose branches disagree). Infer functions then give
 * -1 for the output dims that depend on it, so the driver reports the data-dependent shape at
 * its source; while executing every dim must be known. */
MT_MUST_USE mt_status *mt_shape_inputs_check(const mt_op_ctx *ctx);
/* A shape an op is about to produce: rank within MT_MAX_RANK, dims >= 0 (or -1, unknown), element
 * count and byte size (for dtype) representable. */
MT_MUST_USE mt_status *mt_shape_dims_check(int rank, const int64_t *dims, mt_dtype dtype);
/* *out = a * b for dims (0 if either is 0, else -1 if either is unknown), or an overflow error. */
MT_MUST_USE mt_status *mt_shape_mul(int64_t a, int64_t b, int64_t *out);
/* Element count of a shape whose input dims were checked: -1 when unknown (and none is 0). */
int64_t mt_shape_numel_or_unknown(int rank, const int64_t *dims);
/* Element size of t's dtype, or an error for dtypes mtcc does not move. */
MT_MUST_USE mt_status *mt_shape_elem_size(const mt_tensor *t, size_t *out);
/* Lowers to a copy of input 0's bytes into output 0 (Identity, Reshape, Flatten, Squeeze,
 * Unsqueeze). */
MT_MUST_USE mt_status *mt_shape_copy_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
/* Normalises axes against rank and rejects duplicates; `what` names them in messages. */
MT_MUST_USE mt_status *mt_shape_axes_normalize(int64_t *axes, int n, int rank, const char *what);

/* shape_reshape.c */
MT_MUST_USE mt_status *mt_shape_identity_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_reshape_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_flatten_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_squeeze_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_unsqueeze_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_transpose_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_transpose_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_expand_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_expand_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_tile_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_tile_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_depth_to_space_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_depth_to_space_lower(const mt_op_ctx *ctx,
                                                     mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_space_to_depth_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_space_to_depth_lower(const mt_op_ctx *ctx,
                                                     mt_kernel_call *out_call);

/* shape_index.c */
MT_MUST_USE mt_status *mt_shape_concat_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_concat_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_split_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_split_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_slice_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_slice_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_gather_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_gather_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_gather_elements_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_gather_elements_lower(const mt_op_ctx *ctx,
                                                      mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_pad_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_pad_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
const char *mt_shape_pad_unsupported(const mt_node *node);

/* shape_const.c */
MT_MUST_USE mt_status *mt_shape_shape_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_shape_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_size_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_size_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_constant_of_shape_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_constant_of_shape_lower(const mt_op_ctx *ctx,
                                                        mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_constant_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_constant_run(mt_op_ctx *ctx);
const char *mt_shape_constant_unsupported(const mt_node *node);
MT_MUST_USE mt_status *mt_shape_range_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_range_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);
MT_MUST_USE mt_status *mt_shape_nonzero_infer(mt_op_ctx *ctx);
MT_MUST_USE mt_status *mt_shape_nonzero_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call);

#endif
