/* Kernel calls that move elements or make tensors from shapes: copy, transpose, expand, tile,
 * depth/space moves, concat, split, slice, gather, pad, resize, Shape, Size, ConstantOfShape,
 * Range and NonZero. They move whole elements by size, so one kernel serves every dtype. Shapes
 * were validated when the node was lowered; index values read from data are checked here. */
#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/kernel_call.h"

static int64_t prod(const int64_t *dims, int from, int to) {
  int64_t n = 1;
  for (int i = from; i < to; i++) n *= dims[i];
  return n;
}

MT_MUST_USE static mt_status *elem_size(const mt_tensor *t, size_t *out) {
  size_t es = mt_dtype_size(t->dtype);
  if (!es || !mt_dtype_supported(t->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(t->dtype));
  *out = es;
  return NULL;
}

/* Identity, Reshape, Flatten, Squeeze, Unsqueeze, Dropout: the same bytes, maybe reshaped. */
MT_MUST_USE static mt_status *run_copy(const mt_kc_copy *p, const mt_tensor *x, int n_outputs,
                                       mt_tensor *outputs) {
  mt_tensor *y = &outputs[0];
  size_t nbytes = mt_tensor_nbytes(x);
  if (nbytes != mt_tensor_nbytes(y))
    return MT_ERR(INTERNAL, "output holds %zu bytes, input %zu", mt_tensor_nbytes(y), nbytes);
  if (nbytes) memmove(y->data, x->data, nbytes);
  if (p->fill_mask && n_outputs > 1 && outputs[1].data) {
    mt_tensor *mask = &outputs[1];
    int64_t n = mt_tensor_numel(mask);
    for (int64_t i = 0; i < n; i++) mt_tensor_set_f64(mask, i, 1.0);
  }
  return NULL;
}

MT_MUST_USE static mt_status *run_concat(int axis, int n_inputs, const mt_tensor *const *inputs,
                                         mt_tensor *y) {
  size_t es = 0;
  MT_RETURN_IF_ERROR_PLAIN(elem_size(y, &es));
  if (axis < 0 || axis >= y->rank)
    return MT_ERR(INVALID_ARGUMENT, "concat axis %d out of range", axis);
  const void **srcs = malloc((size_t)n_inputs * sizeof *srcs);
  int64_t *dims = malloc((size_t)n_inputs * sizeof *dims);
  if (!srcs || !dims) {
    free(srcs);
    free(dims);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (int k = 0; k < n_inputs; k++) {
    srcs[k] = inputs[k]->data;
    dims[k] = inputs[k]->dims[axis];
  }
  mt_layout_concat(y->data, n_inputs, srcs, dims, prod(y->dims, 0, axis),
                   prod(y->dims, axis + 1, y->rank), es);
  free(srcs);
  free(dims);
  return NULL;
}

MT_MUST_USE static mt_status *run_split(const mt_kc_split *p, const mt_tensor *x, int n_outputs,
                                        mt_tensor *outputs) {
  size_t es = 0;
  MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
  if (p->n_outputs != n_outputs || p->axis < 0 || p->axis >= x->rank)
    return MT_ERR(INVALID_ARGUMENT, "split call for %d outputs, got %d", p->n_outputs, n_outputs);
  int64_t starts[MT_MAX_RANK] = {0}, steps[MT_MAX_RANK], out[MT_MAX_RANK];
  for (int i = 0; i < x->rank; i++) steps[i] = 1;
  memcpy(out, x->dims, sizeof out);
  mt_status *st = NULL;
  for (int k = 0; k < n_outputs && !st; k++) {
    out[p->axis] = p->sizes[k];
    if (outputs[k].data)
      st = mt_layout_slice(outputs[k].data, x->data, es, x->rank, x->dims, starts, steps, out);
    starts[p->axis] += p->sizes[k];
  }
  return st;
}

MT_MUST_USE static mt_status *run_pad(const mt_kc_pad *p, int n_inputs,
                                      const mt_tensor *const *inputs, mt_tensor *y) {
  const mt_tensor *x = inputs[0];
  size_t es = 0;
  MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
  uint64_t fill[2] = {p->fill[0], p->fill[1]};
  if (p->fill_from_input) {
    const mt_tensor *cv = n_inputs > 2 ? inputs[2] : NULL;
    if (!cv || !cv->data) return MT_ERR(INVALID_ARGUMENT, "input 2 (constant_value) has no value");
    if (cv->dtype != x->dtype)
      return MT_ERR(INVALID_ARGUMENT, "input 2: constant_value dtype %s differs from data's %s",
                    mt_dtype_name(cv->dtype), mt_dtype_name(x->dtype));
    memcpy(fill, cv->data, es);
  }
  return mt_layout_pad(y->data, x->data, es, x->rank, x->dims, p->pads, p->mode, fill);
}

MT_MUST_USE static mt_status *run_resize(const mt_resize_params *p, const mt_tensor *x,
                                         mt_tensor *y) {
  for (int d = 0; d < p->rank; d++)
    if (p->in_dims[d] == 0 && p->out_dims[d] > 0)
      return MT_ERR(INVALID_ARGUMENT, "axis %d: cannot resize an empty axis", d);
  if (!mt_cpu_resize(p, x->dtype, x->data, y->data))
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory in resize");
  return NULL;
}

MT_MUST_USE static mt_status *run_shape(const mt_kc_shape *p, const mt_tensor *x, mt_tensor *y) {
  int64_t *out = y->data;
  if (p->start < 0 || p->end > x->rank || p->end - p->start != mt_tensor_numel(y))
    return MT_ERR(INTERNAL, "Shape range [%lld, %lld) does not fit", (long long)p->start,
                  (long long)p->end);
  for (int64_t i = p->start; i < p->end; i++) {
    if (x->dims[i] < 0)
      return MT_ERR(INVALID_ARGUMENT, "input dim %lld is data-dependent, not known statically",
                    (long long)i);
    out[i - p->start] = x->dims[i];
  }
  return NULL;
}

MT_MUST_USE static mt_status *run_size(const mt_tensor *x, mt_tensor *y) {
  int64_t n = 1;
  bool unknown = false;
  for (int i = 0; i < x->rank; i++) {
    if (x->dims[i] == 0) {
      n = 0;
      unknown = false;
      break;
    }
    if (x->dims[i] < 0)
      unknown = true;
    else
      n *= x->dims[i];
  }
  if (unknown)
    return MT_ERR(INVALID_ARGUMENT, "input size is data-dependent, not known statically");
  *(int64_t *)y->data = n;
  return NULL;
}

MT_MUST_USE static mt_status *run_fill(const mt_kc_fill *p, mt_tensor *y) {
  size_t es = mt_dtype_size(p->dtype);
  if (!es || es > sizeof p->value || y->dtype != p->dtype)
    return MT_ERR(INVALID_ARGUMENT, "fill value dtype %s does not match the output's %s",
                  mt_dtype_name(p->dtype), mt_dtype_name(y->dtype));
  int64_t n = mt_tensor_numel(y);
  for (int64_t i = 0; i < n; i++) memcpy((char *)y->data + (size_t)i * es, p->value, es);
  return NULL;
}

/* start + i * delta for every output element; the count was fixed when the node was lowered
 * (it is the output's size). */
MT_MUST_USE static mt_status *run_range(int n_inputs, const mt_tensor *const *inputs,
                                        mt_tensor *y) {
  if (n_inputs < 3) return MT_ERR(INVALID_ARGUMENT, "Range takes 3 inputs");
  const mt_tensor *s = inputs[0], *d = inputs[2];
  int64_t n = mt_tensor_numel(y);
  if (s->dtype != y->dtype || d->dtype != y->dtype || mt_tensor_numel(s) != 1 ||
      mt_tensor_numel(d) != 1)
    return MT_ERR(INVALID_ARGUMENT, "Range start and delta must be scalars of the output's dtype");
  switch (s->dtype) {
  case MT_DTYPE_FLOAT32: {
    /* Accumulate in float, as the ONNX function body and ONNX Runtime do. */
    float v = *(const float *)s->data, delta = *(const float *)d->data;
    float *o = y->data;
    for (int64_t i = 0; i < n; i++, v += delta) o[i] = v;
    break;
  }
  case MT_DTYPE_FLOAT64: {
    double v = *(const double *)s->data, delta = *(const double *)d->data;
    double *o = y->data;
    for (int64_t i = 0; i < n; i++, v += delta) o[i] = v;
    break;
  }
  case MT_DTYPE_FLOAT16:
  case MT_DTYPE_BFLOAT16: {
    /* Accumulate in the dtype, rounding each sum, as the spec's Loop body (opset 27) adds. */
    mt_dtype dt = s->dtype;
    uint16_t v = *(const uint16_t *)s->data;
    float delta = mt_f16like_to_float(dt, *(const uint16_t *)d->data);
    uint16_t *o = y->data;
    for (int64_t i = 0; i < n; i++) {
      o[i] = v;
      v = mt_float_to_f16like(dt, mt_f16like_to_float(dt, v) + delta);
    }
    break;
  }
  case MT_DTYPE_INT16:
  case MT_DTYPE_INT32: { /* the count fits the range of the dtype: no wrap */
    int64_t v = mt_tensor_get_i64(s, 0), delta = mt_tensor_get_i64(d, 0);
    for (int64_t i = 0; i < n; i++) {
      if (s->dtype == MT_DTYPE_INT16)
        ((int16_t *)y->data)[i] = (int16_t)(v + i * delta);
      else
        ((int32_t *)y->data)[i] = (int32_t)(v + i * delta);
    }
    break;
  }
  case MT_DTYPE_INT64: {
    int64_t v = mt_tensor_get_i64(s, 0), delta = mt_tensor_get_i64(d, 0);
    int64_t *o = y->data;
    for (int64_t i = 0; i < n; i++) o[i] = v + i * delta;
    break;
  }
  default: return MT_ERR(UNIMPLEMENTED, "Range of dtype %s", mt_dtype_name(s->dtype));
  }
  return NULL;
}

/* NonZero's output size depends on the data, so it allocates its own output. */
MT_MUST_USE static mt_status *run_nonzero(const mt_tensor *x, mt_tensor *y) {
  size_t es = 0;
  MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
  int64_t nnz = mt_layout_count_nonzero(x->data, x->dtype, mt_tensor_numel(x));
  int64_t rows = x->rank > 0 ? x->rank : 1;
  /* nnz <= numel, so rows * nnz * 8 stays below 8 * MT_MAX_RANK * numel: no overflow. */
  size_t nbytes = (size_t)(rows * nnz) * sizeof(int64_t);
  int64_t *data = malloc(nbytes ? nbytes : 1);
  if (!data) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for %zu bytes", nbytes);
  mt_layout_nonzero(data, x->data, x->dtype, x->rank, x->dims, nnz);
  y->dtype = MT_DTYPE_INT64;
  y->rank = 2;
  y->dims[0] = rows;
  y->dims[1] = nnz;
  y->data = data;
  return NULL;
}

mt_status *mt_cpu_kernel_run_data(const mt_kernel_call *call, int n_inputs,
                                  const mt_tensor *const *inputs, int n_outputs,
                                  mt_tensor *outputs) {
  const mt_tensor *x = inputs[0];
  mt_tensor *y = &outputs[0];
  size_t es = 0;
  switch (call->kind) {
  case MT_KERNEL_COPY: return run_copy(&call->params.copy, x, n_outputs, outputs);
  case MT_KERNEL_TRANSPOSE:
    MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
    return mt_layout_transpose(y->data, x->data, es, x->rank, x->dims, call->params.transpose.perm);
  case MT_KERNEL_EXPAND:
    MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
    return mt_layout_expand(y->data, x->data, es, x->rank, x->dims, y->rank, y->dims);
  case MT_KERNEL_TILE:
    MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
    return mt_layout_tile(y->data, x->data, es, x->rank, x->dims, call->params.tile.repeats);
  case MT_KERNEL_DEPTH_TO_SPACE: {
    const mt_kc_depth_to_space *p = &call->params.depth_to_space;
    MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
    if (x->rank != 4) return MT_ERR(INVALID_ARGUMENT, "input must have rank 4, got %d", x->rank);
    if (p->space_to_depth)
      return mt_layout_space_to_depth(y->data, x->data, es, x->dims, p->block, p->crd);
    return mt_layout_depth_to_space(y->data, x->data, es, x->dims, p->block, p->crd);
  }
  case MT_KERNEL_CONCAT: return run_concat(call->params.axis.axis, n_inputs, inputs, y);
  case MT_KERNEL_SPLIT: return run_split(&call->params.split, x, n_outputs, outputs);
  case MT_KERNEL_SLICE:
    MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
    if (y->rank != x->rank) return MT_ERR(INTERNAL, "slice output rank differs from input's");
    return mt_layout_slice(y->data, x->data, es, x->rank, x->dims, call->params.slice.starts,
                           call->params.slice.steps, y->dims);
  case MT_KERNEL_GATHER: {
    int axis = call->params.axis.axis;
    if (n_inputs < 2) return MT_ERR(INVALID_ARGUMENT, "gather takes 2 inputs");
    const mt_tensor *idx = inputs[1];
    MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
    if (idx->dtype != MT_DTYPE_INT64 && idx->dtype != MT_DTYPE_INT32)
      return MT_ERR(INVALID_ARGUMENT, "input 1: indices must be int32 or int64, got %s",
                    mt_dtype_name(idx->dtype));
    if (axis < 0 || axis >= x->rank) return MT_ERR(INVALID_ARGUMENT, "gather axis out of range");
    return mt_layout_gather(y->data, x->data, es, prod(x->dims, 0, axis), x->dims[axis],
                            prod(x->dims, axis + 1, x->rank), idx->data,
                            idx->dtype == MT_DTYPE_INT64, mt_tensor_numel(idx));
  }
  case MT_KERNEL_GATHER_ELEMENTS: {
    if (n_inputs < 2) return MT_ERR(INVALID_ARGUMENT, "gather_elements takes 2 inputs");
    const mt_tensor *idx = inputs[1];
    MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
    if (idx->dtype != MT_DTYPE_INT64 && idx->dtype != MT_DTYPE_INT32)
      return MT_ERR(INVALID_ARGUMENT, "input 1: indices must be int32 or int64, got %s",
                    mt_dtype_name(idx->dtype));
    return mt_layout_gather_elements(y->data, x->data, es, x->rank, x->dims, call->params.axis.axis,
                                     idx->data, idx->dtype == MT_DTYPE_INT64, idx->dims);
  }
  case MT_KERNEL_PAD: return run_pad(&call->params.pad, n_inputs, inputs, y);
  case MT_KERNEL_RESIZE: return run_resize(&call->params.resize, x, y);
  case MT_KERNEL_SHAPE: return run_shape(&call->params.shape, x, y);
  case MT_KERNEL_SIZE: return run_size(x, y);
  case MT_KERNEL_CONSTANT_OF_SHAPE: return run_fill(&call->params.fill, y);
  case MT_KERNEL_RANGE: return run_range(n_inputs, inputs, y);
  case MT_KERNEL_NONZERO: return run_nonzero(x, y);
  default:
    return MT_ERR(INTERNAL, "kernel %s is not a data kernel", mt_kernel_kind_name(call->kind));
  }
}
