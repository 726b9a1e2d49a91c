/* Detection and vision ops: NonMaxSuppression, RoiAlign, GridSample, MaxUnpool, CenterCropPad (a
 * zero Pad with crops), AffineGrid, Col2Im, Det, Unique (data-dependent like NMS) and the CumProd
 * scan. The kernels are in runtime/cpu/kernel_call_vision.c and
 * kernel_call_unique.c.
 *
 * Version differences handled here: RoiAlign before opset 16 has no coordinate_transformation_mode
 * and behaves as 'output_half_pixel' (no -0.5 shift, rois at least 1x1), from 16 the default is
 * 'half_pixel'; GridSample at opset 16 is 4-D only with modes 'bilinear'/'nearest'/'bicubic',
 * from 20 N-D (1 to 3 spatial dims here) with 'linear'/'nearest'/'cubic'. NonMaxSuppression's
 * output size depends on the scores: the reference executor runs it with the values known (its
 * kernel allocates the output, like NonZero); an ahead-of-time plan cannot hold it yet (see
 * infer_nms). All run as their own kernels (pattern opaque). */
#include <string.h>

#include "ir/op.h"

MT_MUST_USE static mt_status *require_float(const mt_tensor *t, const char *what) {
  if (!mt_dtype_is_float_any(t->dtype))
    return MT_ERR(UNIMPLEMENTED, "%s: dtype %s is not supported (float32, float16, float64)", what,
                  mt_dtype_name(t->dtype));
  return NULL;
}

/* ---------------------------------------------------------------- NonMaxSuppression */

MT_MUST_USE static mt_status *nms_call(const mt_op_ctx *c, mt_kc_nms *p) {
  const mt_tensor *boxes = mt_op_input(c, 0), *scores = mt_op_input(c, 1);
  if (!boxes || !scores) return MT_ERR(INVALID_ARGUMENT, "expected boxes and scores");
  if (boxes->dtype != MT_DTYPE_FLOAT32 || scores->dtype != MT_DTYPE_FLOAT32)
    return MT_ERR(UNIMPLEMENTED, "boxes and scores must be float32, got %s and %s",
                  mt_dtype_name(boxes->dtype), mt_dtype_name(scores->dtype));
  if (boxes->rank != 3 || boxes->dims[2] != 4)
    return MT_ERR(INVALID_ARGUMENT, "input 0: boxes must be [batch, boxes, 4]");
  if (scores->rank != 3 || scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
    return MT_ERR(INVALID_ARGUMENT, "input 1: scores must be [%lld, classes, %lld]",
                  (long long)boxes->dims[0], (long long)boxes->dims[1]);
  const mt_tensor *mx = mt_op_input(c, 2);
  if (mx && (mx->dtype != MT_DTYPE_INT64 || mt_tensor_numel(mx) > 1))
    return MT_ERR(INVALID_ARGUMENT, "input 2: max_output_boxes_per_class must be one int64");
  for (int i = 3; i < 5; i++) {
    const mt_tensor *t = mt_op_input(c, i);
    if (t && (t->dtype != MT_DTYPE_FLOAT32 || mt_tensor_numel(t) > 1))
      return MT_ERR(INVALID_ARGUMENT, "input %d: a threshold must be one float32", i);
  }
  int64_t cpb = mt_node_attr_int(c->node, "center_point_box", 0);
  if (cpb != 0 && cpb != 1)
    return MT_ERR(INVALID_ARGUMENT, "center_point_box must be 0 or 1, got %lld", (long long)cpb);
  memset(p, 0, sizeof *p);
  p->center_point_box = cpb == 1;
  return NULL;
}

/* Static inference only: when executing, the kernel sizes its own output (MT_OP_ALLOCATES_OUTPUTS),
 * and with every input known the evaluator folds the node through the kernel. What is left is a
 * plan with unknown scores, whose output size only the data decides. The bound is known
 * (batch * classes * min(boxes, max_output_boxes_per_class)), but the IR has no bounded values
 * yet: downstream ops would read rows past the count. */
MT_MUST_USE static mt_status *infer_nms(mt_op_ctx *c) {
  mt_kc_nms p;
  MT_RETURN_IF_ERROR_PLAIN(nms_call(c, &p));
  return MT_ERR(UNIMPLEMENTED, "output shape is data-dependent: NonMaxSuppression of boxes or "
                               "scores not known at compile time");
}

MT_MUST_USE static mt_status *lower_nms(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_NMS;
  return nms_call(c, &call->params.nms);
}

/* ---------------------------------------------------------------- RoiAlign */

MT_MUST_USE static mt_status *roi_align_call(const mt_op_ctx *c, mt_kc_roi_align *p,
                                             int64_t *out_dims) {
  const mt_tensor *x = mt_op_input(c, 0), *rois = mt_op_input(c, 1), *bi = mt_op_input(c, 2);
  if (!x || !rois || !bi) return MT_ERR(INVALID_ARGUMENT, "expected X, rois and batch_indices");
  MT_RETURN_IF_ERROR_PLAIN(require_float(x, "X"));
  if (x->rank != 4) return MT_ERR(INVALID_ARGUMENT, "X must be [N, C, H, W], got rank %d", x->rank);
  if (rois->dtype != x->dtype || rois->rank != 2 || rois->dims[1] != 4)
    return MT_ERR(INVALID_ARGUMENT, "input 1: rois must be [num_rois, 4] of %s",
                  mt_dtype_name(x->dtype));
  if (!mt_dtype_is_integer(bi->dtype) || bi->rank != 1 || bi->dims[0] != rois->dims[0])
    return MT_ERR(INVALID_ARGUMENT, "input 2: batch_indices must be %lld integers",
                  (long long)rois->dims[0]);
  memset(p, 0, sizeof *p);
  const char *mode = mt_node_attr_string(c->node, "mode", "avg");
  if (strcmp(mode, "avg") != 0 && strcmp(mode, "max") != 0)
    return MT_ERR(INVALID_ARGUMENT, "mode '%s' is neither 'avg' nor 'max'", mode);
  p->is_max = strcmp(mode, "max") == 0;
  const char *ctm =
      c->opset >= 16 ? mt_node_attr_string(c->node, "coordinate_transformation_mode", "half_pixel")
                     : "output_half_pixel";
  if (strcmp(ctm, "half_pixel") != 0 && strcmp(ctm, "output_half_pixel") != 0)
    return MT_ERR(INVALID_ARGUMENT,
                  "coordinate_transformation_mode '%s' is neither 'half_pixel' nor "
                  "'output_half_pixel'",
                  ctm);
  p->half_pixel = strcmp(ctm, "half_pixel") == 0;
  p->sampling_ratio = mt_node_attr_int(c->node, "sampling_ratio", 0);
  p->spatial_scale = mt_node_attr_float(c->node, "spatial_scale", 1.0f);
  int64_t oh = mt_node_attr_int(c->node, "output_height", 1);
  int64_t ow = mt_node_attr_int(c->node, "output_width", 1);
  if (p->sampling_ratio < 0 || oh < 1 || ow < 1)
    return MT_ERR(INVALID_ARGUMENT, "output_height, output_width must be >= 1 and "
                                    "sampling_ratio >= 0");
  int64_t d[4] = {rois->dims[0], x->dims[1], oh, ow};
  memcpy(out_dims, d, sizeof d);
  return NULL;
}

MT_MUST_USE static mt_status *infer_roi_align(mt_op_ctx *c) {
  mt_kc_roi_align p;
  int64_t dims[4];
  MT_RETURN_IF_ERROR_PLAIN(roi_align_call(c, &p, dims));
  mt_op_set_output(c, 0, mt_op_input(c, 0)->dtype, 4, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_roi_align(const mt_op_ctx *c, mt_kernel_call *call) {
  int64_t dims[4];
  call->kind = MT_KERNEL_ROI_ALIGN;
  return roi_align_call(c, &call->params.roi_align, dims);
}

/* ---------------------------------------------------------------- GridSample */

MT_MUST_USE static mt_status *grid_sample_call(const mt_op_ctx *c, mt_kc_grid_sample *p) {
  const mt_tensor *x = mt_op_input(c, 0), *g = mt_op_input(c, 1);
  if (!x || !g) return MT_ERR(INVALID_ARGUMENT, "expected X and grid");
  MT_RETURN_IF_ERROR_PLAIN(require_float(x, "X"));
  MT_RETURN_IF_ERROR_PLAIN(require_float(g, "grid"));
  int k = x->rank - 2;
  if (c->opset < 20 && x->rank != 4)
    return MT_ERR(INVALID_ARGUMENT, "X must have rank 4 before opset 20, got %d", x->rank);
  if (k < 1 || k > 3)
    return MT_ERR(UNIMPLEMENTED, "GridSample over %d spatial dims (1 to 3 supported)", k);
  if (g->rank != x->rank || g->dims[0] != x->dims[0] || g->dims[k + 1] != k)
    return MT_ERR(INVALID_ARGUMENT, "input 1: grid must be [%lld, ..., %d] of rank %d",
                  (long long)x->dims[0], k, x->rank);
  memset(p, 0, sizeof *p);
  bool v16 = c->opset < 20;
  const char *mode = mt_node_attr_string(c->node, "mode", v16 ? "bilinear" : "linear");
  if (strcmp(mode, v16 ? "bilinear" : "linear") == 0)
    p->mode = MT_GRID_LINEAR;
  else if (strcmp(mode, "nearest") == 0)
    p->mode = MT_GRID_NEAREST;
  else if (strcmp(mode, v16 ? "bicubic" : "cubic") == 0)
    p->mode = MT_GRID_CUBIC;
  else
    return MT_ERR(INVALID_ARGUMENT, "mode '%s' is not one of opset %d's modes", mode, c->opset);
  const char *pad = mt_node_attr_string(c->node, "padding_mode", "zeros");
  if (strcmp(pad, "zeros") == 0)
    p->padding = MT_GRID_PAD_ZEROS;
  else if (strcmp(pad, "border") == 0)
    p->padding = MT_GRID_PAD_BORDER;
  else if (strcmp(pad, "reflection") == 0)
    p->padding = MT_GRID_PAD_REFLECTION;
  else
    return MT_ERR(INVALID_ARGUMENT, "padding_mode '%s' is none of zeros, border, reflection", pad);
  p->align_corners = mt_node_attr_int(c->node, "align_corners", 0) != 0;
  return NULL;
}

MT_MUST_USE static mt_status *infer_grid_sample(mt_op_ctx *c) {
  mt_kc_grid_sample p;
  MT_RETURN_IF_ERROR_PLAIN(grid_sample_call(c, &p));
  const mt_tensor *x = mt_op_input(c, 0), *g = mt_op_input(c, 1);
  int64_t dims[MT_MAX_RANK] = {x->dims[0], x->dims[1]};
  for (int i = 2; i < x->rank; i++) dims[i] = g->dims[i - 1];
  mt_op_set_output(c, 0, x->dtype, x->rank, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_grid_sample(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_GRID_SAMPLE;
  return grid_sample_call(c, &call->params.grid_sample);
}

/* ---------------------------------------------------------------- MaxUnpool */

/* The unpooled spatial dims (from kernel_shape, strides, pads) and the output's dims. */
MT_MUST_USE static mt_status *max_unpool_call(const mt_op_ctx *c, mt_kc_max_unpool *p,
                                              int64_t *out_dims) {
  const mt_tensor *x = mt_op_input(c, 0), *idx = mt_op_input(c, 1), *os = mt_op_input(c, 2);
  if (!x || !idx) return MT_ERR(INVALID_ARGUMENT, "expected X and I");
  MT_RETURN_IF_ERROR_PLAIN(require_float(x, "X"));
  int k = x->rank - 2;
  if (k < 1) return MT_ERR(INVALID_ARGUMENT, "X must have rank >= 3, got %d", x->rank);
  if (idx->dtype != MT_DTYPE_INT64 || idx->rank != x->rank ||
      memcmp(idx->dims, x->dims, (size_t)x->rank * sizeof *x->dims) != 0)
    return MT_ERR(INVALID_ARGUMENT, "input 1: I must be int64 of X's shape");
  const int64_t *ks, *st = NULL, *pads = NULL;
  if (mt_node_attr_ints(c->node, "kernel_shape", &ks) != k)
    return MT_ERR(INVALID_ARGUMENT, "kernel_shape must have %d values", k);
  int64_t nst = mt_node_attr_ints(c->node, "strides", &st);
  int64_t npad = mt_node_attr_ints(c->node, "pads", &pads);
  if (nst < 0) nst = 0; /* absent: strides 1, pads 0 */
  if (npad < 0) npad = 0;
  if ((nst && nst != k) || (npad && npad != 2 * k))
    return MT_ERR(INVALID_ARGUMENT, "strides must have %d values and pads %d", k, 2 * k);
  memset(p, 0, sizeof *p);
  out_dims[0] = x->dims[0];
  out_dims[1] = x->dims[1];
  for (int i = 0; i < k; i++) {
    int64_t s = nst ? st[i] : 1, pb = npad ? pads[i] : 0, pe = npad ? pads[k + i] : 0;
    if (s < 1 || ks[i] < 1)
      return MT_ERR(INVALID_ARGUMENT, "kernel_shape and strides must be >= 1");
    p->unpooled[i] = (x->dims[2 + i] - 1) * s - pb - pe + ks[i];
    if (p->unpooled[i] < 1)
      return MT_ERR(INVALID_ARGUMENT, "unpooled dim %d is %lld", i, (long long)p->unpooled[i]);
    out_dims[2 + i] = p->unpooled[i];
  }
  if (os) {
    int64_t want[MT_MAX_RANK];
    int n;
    MT_RETURN_IF_ERROR(mt_read_int_list(os, want, MT_MAX_RANK, &n), "input 2 (output_shape)");
    if (n != x->rank || want[0] != x->dims[0] || want[1] != x->dims[1])
      return MT_ERR(INVALID_ARGUMENT,
                    "input 2: output_shape must be [%lld, %lld, ...] of %d values",
                    (long long)x->dims[0], (long long)x->dims[1], x->rank);
    for (int i = 0; i < k; i++) {
      if (want[2 + i] < p->unpooled[i])
        return MT_ERR(INVALID_ARGUMENT,
                      "input 2: output_shape dim %d (%lld) is below the "
                      "unpooled size %lld",
                      2 + i, (long long)want[2 + i], (long long)p->unpooled[i]);
      out_dims[2 + i] = want[2 + i];
    }
  }
  return NULL;
}

MT_MUST_USE static mt_status *infer_max_unpool(mt_op_ctx *c) {
  mt_kc_max_unpool p;
  int64_t dims[MT_MAX_RANK];
  MT_RETURN_IF_ERROR_PLAIN(max_unpool_call(c, &p, dims));
  mt_op_set_output(c, 0, mt_op_input(c, 0)->dtype, mt_op_input(c, 0)->rank, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_max_unpool(const mt_op_ctx *c, mt_kernel_call *call) {
  int64_t dims[MT_MAX_RANK];
  call->kind = MT_KERNEL_MAX_UNPOOL;
  return max_unpool_call(c, &call->params.max_unpool, dims);
}

/* ---------------------------------------------------------------- Det */

MT_MUST_USE static mt_status *det_check(const mt_op_ctx *c) {
  const mt_tensor *x = mt_op_input(c, 0);
  MT_RETURN_IF_ERROR_PLAIN(require_float(x, "X"));
  if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
    return MT_ERR(INVALID_ARGUMENT, "X must be square matrices [..., M, M]");
  return NULL;
}

MT_MUST_USE static mt_status *infer_det(mt_op_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(det_check(c));
  const mt_tensor *x = mt_op_input(c, 0);
  mt_op_set_output(c, 0, x->dtype, x->rank - 2, x->dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_det(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_DET;
  return det_check(c);
}

/* ---------------------------------------------------------------- Unique */

MT_MUST_USE static mt_status *unique_call(const mt_op_ctx *c, mt_kc_unique *p) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (!mt_dtype_supported(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(x->dtype));
  memset(p, 0, sizeof *p);
  const mt_attr *ax = mt_node_attr(c->node, "axis");
  p->flatten = ax == NULL;
  if (ax) MT_RETURN_IF_ERROR(mt_normalize_axis(ax->i, x->rank, &p->axis), "attribute axis");
  p->sorted = mt_node_attr_int(c->node, "sorted", 1) != 0;
  return NULL;
}

/* Static inference only, as for NonMaxSuppression: the number of distinct slices is the data's. */
MT_MUST_USE static mt_status *infer_unique(mt_op_ctx *c) {
  mt_kc_unique p;
  MT_RETURN_IF_ERROR_PLAIN(unique_call(c, &p));
  return MT_ERR(UNIMPLEMENTED,
                "output shape is data-dependent: Unique of a value not known at compile time");
}

MT_MUST_USE static mt_status *lower_unique(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_UNIQUE;
  return unique_call(c, &call->params.unique);
}

/* ---------------------------------------------------------------- CumProd (opset 26) */

/* The axis (input 1) must be known when compiling: the generated kernel is laid out for it. */
MT_MUST_USE static mt_status *cumprod_call(const mt_op_ctx *c, mt_kc_cumprod *p) {
  const mt_tensor *x = mt_op_input(c, 0), *a = mt_op_input(c, 1);
  if (!mt_dtype_is_float_any(x->dtype) && x->dtype != MT_DTYPE_INT32 && x->dtype != MT_DTYPE_INT64)
    return MT_ERR(UNIMPLEMENTED, "CumProd on %s input", mt_dtype_name(x->dtype));
  if (!a || !a->data || a->rank > 1 || mt_tensor_numel(a) != 1 || !mt_dtype_is_integer(a->dtype))
    return MT_ERR(INVALID_ARGUMENT, "input 1 (axis) must be one integer");
  memset(p, 0, sizeof *p);
  if (x->rank > 0)
    MT_RETURN_IF_ERROR(mt_normalize_axis(mt_tensor_get_i64(a, 0), x->rank, &p->axis), "input 1");
  p->exclusive = mt_node_attr_int(c->node, "exclusive", 0) != 0;
  p->reverse = mt_node_attr_int(c->node, "reverse", 0) != 0;
  return NULL;
}

MT_MUST_USE static mt_status *infer_cumprod(mt_op_ctx *c) {
  mt_kc_cumprod p;
  MT_RETURN_IF_ERROR_PLAIN(cumprod_call(c, &p));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_cumprod(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_CUMPROD;
  return cumprod_call(c, &call->params.cumprod);
}

/* ---------------------------------------------------------------- CenterCropPad */

/* A centred crop or zero pad per axis is a Pad with negative (crop) or positive (pad) amounts:
 * crops start at floor((dim - size) / 2), pads put floor((size - dim) / 2) before. */
MT_MUST_USE static mt_status *center_crop_pad_call(const mt_op_ctx *c, mt_kc_pad *p,
                                                   int64_t *out_dims) {
  const mt_tensor *x = mt_op_input(c, 0);
  int64_t shape[MT_MAX_RANK], axes[MT_MAX_RANK];
  int n;
  MT_RETURN_IF_ERROR(mt_read_int_list(mt_op_input(c, 1), shape, MT_MAX_RANK, &n), "input 1");
  const int64_t *ax;
  int64_t na = mt_node_attr_ints(c->node, "axes", &ax);
  if (na < 0) na = x->rank;
  if (na != n)
    return MT_ERR(INVALID_ARGUMENT, "input 1: shape has %d values for %lld axes", n, (long long)na);
  uint32_t seen = 0;
  for (int i = 0; i < n; i++) {
    int a = i;
    if (ax) MT_RETURN_IF_ERROR(mt_normalize_axis(ax[i], x->rank, &a), "attribute axes");
    if (seen >> a & 1u) return MT_ERR(INVALID_ARGUMENT, "axis %d is listed twice", a);
    seen |= 1u << a;
    axes[i] = a;
  }
  memset(p, 0, sizeof *p);
  p->mode = MT_PAD_CONSTANT;
  memcpy(out_dims, x->dims, (size_t)x->rank * sizeof *out_dims);
  for (int i = 0; i < n; i++) {
    int64_t a = axes[i], dim = x->dims[a], want = shape[i];
    if (want < 0)
      return MT_ERR(INVALID_ARGUMENT, "input 1: size %lld is negative", (long long)want);
    int64_t begin = want >= dim ? (want - dim) / 2 : -((dim - want) / 2);
    p->pads[a] = begin;
    p->pads[x->rank + a] = want - dim - begin;
    out_dims[a] = want;
  }
  return NULL;
}

MT_MUST_USE static mt_status *infer_center_crop_pad(mt_op_ctx *c) {
  mt_kc_pad p;
  int64_t dims[MT_MAX_RANK];
  MT_RETURN_IF_ERROR_PLAIN(center_crop_pad_call(c, &p, dims));
  mt_op_set_output(c, 0, mt_op_input(c, 0)->dtype, mt_op_input(c, 0)->rank, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_center_crop_pad(const mt_op_ctx *c, mt_kernel_call *call) {
  int64_t dims[MT_MAX_RANK];
  call->kind = MT_KERNEL_PAD;
  return center_crop_pad_call(c, &call->params.pad, dims);
}

/* ---------------------------------------------------------------- AffineGrid (opset 20) */

MT_MUST_USE static mt_status *affine_grid_call(const mt_op_ctx *c, mt_kc_affine_grid *p,
                                               int *out_rank, int64_t *out_dims) {
  const mt_tensor *theta = mt_op_input(c, 0);
  MT_RETURN_IF_ERROR_PLAIN(require_float(theta, "theta"));
  int64_t size[MT_MAX_RANK];
  int n;
  MT_RETURN_IF_ERROR(mt_read_int_list(mt_op_input(c, 1), size, MT_MAX_RANK, &n), "input 1");
  if (n != 4 && n != 5)
    return MT_ERR(INVALID_ARGUMENT, "input 1: size must be [N, C, H, W] or [N, C, D, H, W]");
  int k = n - 2;
  if (theta->rank != 3 || theta->dims[0] != size[0] || theta->dims[1] != k ||
      theta->dims[2] != k + 1)
    return MT_ERR(INVALID_ARGUMENT, "input 0: theta must be [%lld, %d, %d]", (long long)size[0], k,
                  k + 1);
  for (int i = 2; i < n; i++)
    if (size[i] < 1)
      return MT_ERR(INVALID_ARGUMENT, "input 1: size %d is %lld", i, (long long)size[i]);
  memset(p, 0, sizeof *p);
  p->align_corners = mt_node_attr_int(c->node, "align_corners", 0) != 0;
  *out_rank = k + 2;
  out_dims[0] = size[0];
  for (int i = 0; i < k; i++) out_dims[1 + i] = size[2 + i];
  out_dims[k + 1] = k;
  return NULL;
}

MT_MUST_USE static mt_status *infer_affine_grid(mt_op_ctx *c) {
  mt_kc_affine_grid p;
  int rank;
  int64_t dims[MT_MAX_RANK];
  MT_RETURN_IF_ERROR_PLAIN(affine_grid_call(c, &p, &rank, dims));
  mt_op_set_output(c, 0, mt_op_input(c, 0)->dtype, rank, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_affine_grid(const mt_op_ctx *c, mt_kernel_call *call) {
  int rank;
  int64_t dims[MT_MAX_RANK];
  call->kind = MT_KERNEL_AFFINE_GRID;
  return affine_grid_call(c, &call->params.affine_grid, &rank, dims);
}

/* ---------------------------------------------------------------- Col2Im (opset 18) */

MT_MUST_USE static mt_status *col2im_call(const mt_op_ctx *c, mt_kc_col2im *p, int64_t *out_dims) {
  const mt_tensor *x = mt_op_input(c, 0);
  MT_RETURN_IF_ERROR_PLAIN(require_float(x, "input"));
  int64_t image[MT_MAX_RANK], block[MT_MAX_RANK];
  int ni, nb;
  MT_RETURN_IF_ERROR(mt_read_int_list(mt_op_input(c, 1), image, MT_MAX_RANK, &ni), "input 1");
  MT_RETURN_IF_ERROR(mt_read_int_list(mt_op_input(c, 2), block, MT_MAX_RANK, &nb), "input 2");
  if (ni != nb || ni < 1 || ni > MT_CONV_MAX_SPATIAL)
    return MT_ERR(UNIMPLEMENTED,
                  "Col2Im over %d spatial dims (image_shape and block_shape must "
                  "agree, 1 to %d)",
                  ni, MT_CONV_MAX_SPATIAL);
  if (x->rank != 3) return MT_ERR(INVALID_ARGUMENT, "input must be [N, C * block, L]");
  const int64_t *dil, *pads, *st;
  int64_t nd = mt_node_attr_ints(c->node, "dilations", &dil);
  int64_t np = mt_node_attr_ints(c->node, "pads", &pads);
  int64_t ns = mt_node_attr_ints(c->node, "strides", &st);
  if ((nd >= 0 && nd != ni) || (np >= 0 && np != 2 * ni) || (ns >= 0 && ns != ni))
    return MT_ERR(INVALID_ARGUMENT, "dilations and strides need %d values, pads %d", ni, 2 * ni);
  memset(p, 0, sizeof *p);
  p->nsp = ni;
  int64_t kprod = 1, lprod = 1;
  for (int i = 0; i < ni; i++) {
    p->block[i] = block[i];
    p->dilation[i] = nd >= 0 ? dil[i] : 1;
    p->stride[i] = ns >= 0 ? st[i] : 1;
    p->pad_begin[i] = np >= 0 ? pads[i] : 0;
    int64_t pe = np >= 0 ? pads[ni + i] : 0;
    if (block[i] < 1 || image[i] < 1 || p->dilation[i] < 1 || p->stride[i] < 1 ||
        p->pad_begin[i] < 0 || pe < 0)
      return MT_ERR(INVALID_ARGUMENT,
                    "spatial dim %d: sizes, dilations and strides must be "
                    "positive, pads not negative",
                    i);
    p->blocks[i] =
        (image[i] + p->pad_begin[i] + pe - p->dilation[i] * (block[i] - 1) - 1) / p->stride[i] + 1;
    if (p->blocks[i] < 1)
      return MT_ERR(INVALID_ARGUMENT, "spatial dim %d: no block fits the padded image", i);
    kprod *= block[i];
    lprod *= p->blocks[i];
  }
  if (x->dims[1] % kprod != 0 || x->dims[2] != lprod)
    return MT_ERR(INVALID_ARGUMENT,
                  "input [%lld, %lld, %lld] does not hold C * %lld rows of %lld "
                  "blocks",
                  (long long)x->dims[0], (long long)x->dims[1], (long long)x->dims[2],
                  (long long)kprod, (long long)lprod);
  out_dims[0] = x->dims[0];
  out_dims[1] = x->dims[1] / kprod;
  for (int i = 0; i < ni; i++) out_dims[2 + i] = image[i];
  return NULL;
}

MT_MUST_USE static mt_status *infer_col2im(mt_op_ctx *c) {
  mt_kc_col2im p;
  int64_t dims[MT_MAX_RANK];
  MT_RETURN_IF_ERROR_PLAIN(col2im_call(c, &p, dims));
  mt_op_set_output(c, 0, mt_op_input(c, 0)->dtype, p.nsp + 2, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_col2im(const mt_op_ctx *c, mt_kernel_call *call) {
  int64_t dims[MT_MAX_RANK];
  call->kind = MT_KERNEL_COL2IM;
  return col2im_call(c, &call->params.col2im, dims);
}

/* ---------------------------------------------------------------- the table */

const mt_op_def mt_ops_vision[] = {
    {.op_type = "NonMaxSuppression",
     .min_inputs = 2,
     .max_inputs = 5,
     .flags = MT_OP_ALLOCATES_OUTPUTS,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_nms,
     .lower = lower_nms},
    {.op_type = "RoiAlign",
     .min_inputs = 3,
     .max_inputs = 3,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_roi_align,
     .lower = lower_roi_align},
    {.op_type = "GridSample",
     .min_inputs = 2,
     .max_inputs = 2,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_grid_sample,
     .lower = lower_grid_sample},
    {.op_type = "MaxUnpool",
     .min_inputs = 2,
     .max_inputs = 3,
     .value_inputs = 1u << 2,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_max_unpool,
     .lower = lower_max_unpool},
    {.op_type = "Unique",
     .min_inputs = 1,
     .max_inputs = 1,
     .flags = MT_OP_ALLOCATES_OUTPUTS,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_unique,
     .lower = lower_unique},
    {.op_type = "CumProd",
     .min_inputs = 2,
     .max_inputs = 2,
     .value_inputs = 1u << 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_cumprod,
     .lower = lower_cumprod},
    {.op_type = "CenterCropPad",
     .min_inputs = 2,
     .max_inputs = 2,
     .value_inputs = 1u << 1,
     .pattern = MT_PATTERN_INJECTIVE,
     .infer = infer_center_crop_pad,
     .lower = lower_center_crop_pad},
    {.op_type = "AffineGrid",
     .min_inputs = 2,
     .max_inputs = 2,
     .value_inputs = 1u << 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_affine_grid,
     .lower = lower_affine_grid},
    {.op_type = "Col2Im",
     .min_inputs = 3,
     .max_inputs = 3,
     .value_inputs = 1u << 1 | 1u << 2,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_col2im,
     .lower = lower_col2im},
    {.op_type = "Det",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_det,
     .lower = lower_det},
    {0},
};
