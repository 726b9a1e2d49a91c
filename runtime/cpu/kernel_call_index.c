/* Kernel calls of the indexing family: Hardmax, GatherND, ScatterND, ScatterElements, OneHot,
 * Trilu, EyeLike and ReverseSequence. Most move whole elements by size, so one loop serves every
 * dtype; the scatter reductions and OneHot's index values are typed. Shapes were validated when
 * the node was lowered; index values read from data are checked here (an out-of-range index is
 * an error naming the index, as for Gather). */
#include <math.h>
#include <string.h>

#include "runtime/cpu/kernel_call.h"

static int64_t prod(const int64_t *dims, int from, int to) {
  return mt_shape_numel(to - from, dims + from);
}

MT_MUST_USE static mt_status *elem_size(const mt_tensor *t, size_t *out) {
  size_t es = mt_dtype_size(t->dtype);
  if (!es || !mt_dtype_supported(t->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(t->dtype));
  *out = es;
  return NULL;
}

MT_MUST_USE static mt_status *int_indices(const mt_tensor *idx, int input) {
  if (idx->dtype != MT_DTYPE_INT64 && idx->dtype != MT_DTYPE_INT32)
    return MT_ERR(INVALID_ARGUMENT, "input %d: indices must be int32 or int64, got %s", input,
                  mt_dtype_name(idx->dtype));
  return NULL;
}

static int64_t index_at(const mt_tensor *idx, int64_t i) {
  return idx->dtype == MT_DTYPE_INT64 ? ((const int64_t *)idx->data)[i]
                                      : ((const int32_t *)idx->data)[i];
}

/* A possibly negative index into a dim of size n, normalised; an error outside [-n, n). */
MT_MUST_USE static mt_status *norm_index(int64_t v, int64_t n, int64_t *out) {
  if (v < -n || v >= n)
    return MT_ERR(OUT_OF_RANGE, "index %lld is out of range for a dim of size %lld", (long long)v,
                  (long long)n);
  *out = v < 0 ? v + n : v;
  return NULL;
}

/* ---------------------------------------------------------------- Hardmax */

/* x viewed as [outer, n, inner]: 1 at the first maximum of each line along n, 0 elsewhere (a
 * NaN never compares greater, as ONNX Runtime's argmax scan). */
MT_MUST_USE static mt_status *run_hardmax(const mt_kc_softmax *p, const mt_tensor *x,
                                          mt_tensor *y) {
  if (!mt_dtype_is_float(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "Hardmax of %s", mt_dtype_name(x->dtype));
  if (p->outer * p->n * p->inner != mt_tensor_numel(x))
    return MT_ERR(INTERNAL, "hardmax layout does not cover the input");
  for (int64_t o = 0; o < p->outer; o++)
    for (int64_t i = 0; i < p->inner; i++) {
      int64_t base = o * p->n * p->inner + i, best = 0;
      double bv = p->n > 0 ? mt_tensor_get_f64(x, base) : 0;
      for (int64_t j = 1; j < p->n; j++) {
        double v = mt_tensor_get_f64(x, base + j * p->inner);
        if (v > bv) bv = v, best = j;
      }
      for (int64_t j = 0; j < p->n; j++)
        mt_tensor_set_f64(y, base + j * p->inner, j == best ? 1.0 : 0.0);
    }
  return NULL;
}

/* ---------------------------------------------------------------- GatherND / ScatterND */

/* The element offset into data of index tuple t (k = last dim of indices) within batch b. */
MT_MUST_USE static mt_status *nd_offset(const mt_tensor *data, const mt_tensor *idx, int bd,
                                        int64_t b, int64_t t, int64_t *out) {
  int64_t k = idx->dims[idx->rank - 1];
  int64_t off = b;
  for (int64_t j = 0; j < k; j++) {
    int64_t v = 0;
    MT_RETURN_IF_ERROR(norm_index(index_at(idx, t * k + j), data->dims[bd + j], &v),
                       "index tuple %lld, entry %lld", (long long)t, (long long)j);
    off = off * data->dims[bd + j] + v;
  }
  *out = off;
  return NULL;
}

MT_MUST_USE static mt_status *nd_check(const mt_tensor *data, const mt_tensor *idx, int bd) {
  MT_RETURN_IF_ERROR_PLAIN(int_indices(idx, 1));
  if (idx->rank < 1 || bd >= idx->rank || bd > data->rank)
    return MT_ERR(INVALID_ARGUMENT, "indices rank %d with batch_dims %d", idx->rank, bd);
  if (idx->dims[idx->rank - 1] > data->rank - bd)
    return MT_ERR(INVALID_ARGUMENT, "index tuples of %lld entries exceed data rank %d",
                  (long long)idx->dims[idx->rank - 1], data->rank);
  return NULL;
}

MT_MUST_USE static mt_status *run_gather_nd(int bd, const mt_tensor *data, const mt_tensor *idx,
                                            mt_tensor *y) {
  size_t es = 0;
  MT_RETURN_IF_ERROR_PLAIN(elem_size(data, &es));
  MT_RETURN_IF_ERROR_PLAIN(nd_check(data, idx, bd));
  int64_t k = idx->dims[idx->rank - 1];
  int64_t batches = prod(data->dims, 0, bd);
  int64_t per_batch = prod(idx->dims, bd, idx->rank - 1); /* tuples per batch */
  int64_t slice = prod(data->dims, bd + (int)k, data->rank);
  char *dst = y->data;
  const char *src = data->data;
  for (int64_t b = 0; b < batches; b++)
    for (int64_t t = 0; t < per_batch; t++) {
      int64_t off;
      MT_RETURN_IF_ERROR_PLAIN(nd_offset(data, idx, bd, b, b * per_batch + t, &off));
      memcpy(dst + (size_t)((b * per_batch + t) * slice) * es, src + (size_t)(off * slice) * es,
             (size_t)slice * es);
    }
  return NULL;
}

static float combine_f(mt_scatter_reduction r, float a, float b) {
  switch (r) {
  case MT_SCATTER_ADD: return a + b;
  case MT_SCATTER_MUL: return a * b;
  case MT_SCATTER_MAX: return fmaxf(a, b);
  case MT_SCATTER_MIN: return fminf(a, b);
  case MT_SCATTER_NONE: break;
  }
  return b;
}

/* dst[di] = reduce(dst[di], src[si]) in dst's dtype (float16 through float). */
static void combine(mt_dtype dt, void *dst, int64_t di, const void *src, int64_t si,
                    mt_scatter_reduction r, size_t es) {
  if (r == MT_SCATTER_NONE) {
    memcpy((char *)dst + (size_t)di * es, (const char *)src + (size_t)si * es, es);
    return;
  }
/* Integers add and multiply in the unsigned twin U, wrapping instead of overflowing. */
#define COMBINE(T, U)                                                                              \
  {                                                                                                \
    T a = ((T *)dst)[di], b = ((const T *)src)[si], v = a;                                         \
    switch (r) {                                                                                   \
    case MT_SCATTER_ADD: v = (T)(U)((U)a + (U)b); break;                                           \
    case MT_SCATTER_MUL: v = (T)(U)((U)a * (U)b); break;                                           \
    case MT_SCATTER_MAX: v = b > a ? b : a; break;                                                 \
    case MT_SCATTER_MIN: v = b < a ? b : a; break;                                                 \
    case MT_SCATTER_NONE: break;                                                                   \
    }                                                                                              \
    ((T *)dst)[di] = v;                                                                            \
    return;                                                                                        \
  }
  switch (dt) {
  case MT_DTYPE_FLOAT32:
    ((float *)dst)[di] = combine_f(r, ((float *)dst)[di], ((const float *)src)[si]);
    return;
  case MT_DTYPE_FLOAT16: /* in float, rounded once */
  case MT_DTYPE_BFLOAT16:
    ((uint16_t *)dst)[di] =
        mt_float_to_f16like(dt, combine_f(r, mt_f16like_to_float(dt, ((uint16_t *)dst)[di]),
                                          mt_f16like_to_float(dt, ((const uint16_t *)src)[si])));
    return;
  case MT_DTYPE_INT64: COMBINE(int64_t, uint64_t)
  case MT_DTYPE_INT32: COMBINE(int32_t, uint32_t)
  case MT_DTYPE_INT8: COMBINE(int8_t, uint8_t)
  case MT_DTYPE_UINT8:
  case MT_DTYPE_BOOL: COMBINE(uint8_t, uint8_t)
  default: return;
  }
#undef COMBINE
}

MT_MUST_USE static mt_status *run_scatter_nd(mt_scatter_reduction r, const mt_tensor *data,
                                             const mt_tensor *idx, const mt_tensor *upd,
                                             mt_tensor *y) {
  size_t es = 0;
  MT_RETURN_IF_ERROR_PLAIN(elem_size(data, &es));
  MT_RETURN_IF_ERROR_PLAIN(nd_check(data, idx, 0));
  if (upd->dtype != data->dtype) return MT_ERR(INVALID_ARGUMENT, "updates differ in dtype");
  int64_t k = idx->dims[idx->rank - 1];
  int64_t tuples = prod(idx->dims, 0, idx->rank - 1);
  int64_t slice = prod(data->dims, (int)k, data->rank);
  if (mt_tensor_numel(upd) != tuples * slice)
    return MT_ERR(INVALID_ARGUMENT, "updates hold %lld elements, expected %lld",
                  (long long)mt_tensor_numel(upd), (long long)(tuples * slice));
  memmove(y->data, data->data, mt_tensor_nbytes(data));
  for (int64_t t = 0; t < tuples; t++) {
    int64_t off;
    MT_RETURN_IF_ERROR_PLAIN(nd_offset(data, idx, 0, 0, t, &off));
    for (int64_t e = 0; e < slice; e++)
      combine(data->dtype, y->data, off * slice + e, upd->data, t * slice + e, r, es);
  }
  return NULL;
}

/* ---------------------------------------------------------------- ScatterElements */

MT_MUST_USE static mt_status *run_scatter_elements(const mt_kc_scatter *p, const mt_tensor *data,
                                                   const mt_tensor *idx, const mt_tensor *upd,
                                                   mt_tensor *y) {
  size_t es = 0;
  MT_RETURN_IF_ERROR_PLAIN(elem_size(data, &es));
  MT_RETURN_IF_ERROR_PLAIN(int_indices(idx, 1));
  if (upd->dtype != data->dtype) return MT_ERR(INVALID_ARGUMENT, "updates differ in dtype");
  if (idx->rank != data->rank || upd->rank != data->rank || p->axis >= data->rank)
    return MT_ERR(INVALID_ARGUMENT, "data, indices and updates must share a rank");
  for (int d = 0; d < data->rank; d++)
    if (idx->dims[d] != upd->dims[d] || (d != p->axis && idx->dims[d] > data->dims[d]))
      return MT_ERR(INVALID_ARGUMENT, "indices and updates differ in shape at dim %d", d);
  memmove(y->data, data->data, mt_tensor_nbytes(data));
  int64_t n = mt_tensor_numel(idx);
  for (int64_t i = 0; i < n; i++) {
    /* the coordinates of element i of indices, and the data offset with the axis replaced */
    int64_t rem = i, off = 0, stride = 1;
    for (int d = data->rank - 1; d >= 0; d--) {
      int64_t c = rem % idx->dims[d];
      rem /= idx->dims[d];
      if (d == p->axis)
        MT_RETURN_IF_ERROR(norm_index(index_at(idx, i), data->dims[d], &c), "indices element %lld",
                           (long long)i);
      off += c * stride;
      stride *= data->dims[d];
    }
    combine(data->dtype, y->data, off, upd->data, i, p->reduction, es);
  }
  return NULL;
}

/* ---------------------------------------------------------------- OneHot */

/* y has the indices' shape with depth inserted at axis; y = on where the index (negative ones
 * count from depth) equals the position along axis, off elsewhere; out-of-range indices give an
 * all-off line. */
MT_MUST_USE static mt_status *run_one_hot(int axis, const mt_tensor *idx, const mt_tensor *values,
                                          mt_tensor *y) {
  size_t es = 0;
  MT_RETURN_IF_ERROR_PLAIN(elem_size(y, &es));
  if (axis < 0 || axis >= y->rank) return MT_ERR(INVALID_ARGUMENT, "one_hot axis out of range");
  if (!values || mt_tensor_numel(values) != 2 || values->dtype != y->dtype)
    return MT_ERR(INVALID_ARGUMENT, "input 2: values must be [off, on] of the output's dtype");
  int64_t depth = y->dims[axis];
  int64_t outer = prod(y->dims, 0, axis), inner = prod(y->dims, axis + 1, y->rank);
  if (outer * inner != mt_tensor_numel(idx))
    return MT_ERR(INTERNAL, "one_hot output does not match the indices");
  const char *off = values->data, *on = (const char *)values->data + es;
  char *dst = y->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t v = mt_tensor_get_i64(idx, o * inner + i);
      if (v < 0) v += depth;
      for (int64_t j = 0; j < depth; j++)
        memcpy(dst + (size_t)((o * depth + j) * inner + i) * es, j == v ? on : off, es);
    }
  return NULL;
}

/* ---------------------------------------------------------------- Trilu, EyeLike */

MT_MUST_USE static mt_status *run_trilu(bool upper, int n_inputs, const mt_tensor *const *inputs,
                                        mt_tensor *y) {
  const mt_tensor *x = inputs[0], *kt = n_inputs > 1 ? inputs[1] : NULL;
  size_t es = 0;
  MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
  if (x->rank < 2) return MT_ERR(INVALID_ARGUMENT, "input must have rank >= 2, got %d", x->rank);
  int64_t k = 0;
  if (kt && kt->data) {
    if (mt_tensor_numel(kt) != 1 || kt->dtype != MT_DTYPE_INT64)
      return MT_ERR(INVALID_ARGUMENT, "input 1: k must be one int64");
    k = ((const int64_t *)kt->data)[0];
  }
  int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
  int64_t mats = prod(x->dims, 0, x->rank - 2);
  char *dst = y->data;
  const char *src = x->data;
  for (int64_t m = 0; m < mats; m++)
    for (int64_t i = 0; i < rows; i++)
      for (int64_t j = 0; j < cols; j++) {
        size_t at = (size_t)((m * rows + i) * cols + j) * es;
        bool keep = upper ? j - i >= k : j - i <= k;
        if (keep)
          memcpy(dst + at, src + at, es);
        else
          memset(dst + at, 0, es);
      }
  return NULL;
}

MT_MUST_USE static mt_status *run_eye_like(int64_t k, mt_tensor *y) {
  if (y->rank != 2) return MT_ERR(INVALID_ARGUMENT, "EyeLike output must be 2-D");
  if (!mt_dtype_supported(y->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(y->dtype));
  int64_t rows = y->dims[0], cols = y->dims[1];
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) mt_tensor_set_f64(y, i * cols + j, j - i == k ? 1.0 : 0.0);
  return NULL;
}

/* ---------------------------------------------------------------- ReverseSequence */

MT_MUST_USE static mt_status *run_reverse_sequence(const mt_kc_reverse_sequence *p,
                                                   const mt_tensor *x, const mt_tensor *lens,
                                                   mt_tensor *y) {
  size_t es = 0;
  MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
  if (x->rank < 2 || p->batch_axis == p->time_axis)
    return MT_ERR(INVALID_ARGUMENT, "input must have rank >= 2 and distinct batch/time axes");
  int64_t batch = x->dims[p->batch_axis], time = x->dims[p->time_axis];
  if (!lens || mt_tensor_numel(lens) != batch || !mt_dtype_is_integer(lens->dtype))
    return MT_ERR(INVALID_ARGUMENT, "input 1: sequence_lens must hold %lld integers",
                  (long long)batch);
  int64_t inner = prod(x->dims, 2, x->rank);
  /* offset of (batch b, time t) with batch and time the first two dims in either order */
  int64_t sb = p->batch_axis == 0 ? time * inner : inner;
  int64_t stt = p->time_axis == 0 ? batch * inner : inner;
  const char *src = x->data;
  char *dst = y->data;
  for (int64_t b = 0; b < batch; b++) {
    int64_t len = mt_tensor_get_i64(lens, b);
    if (len < 0 || len > time)
      return MT_ERR(OUT_OF_RANGE, "sequence_lens[%lld] = %lld is outside [0, %lld]", (long long)b,
                    (long long)len, (long long)time);
    for (int64_t t = 0; t < time; t++) {
      int64_t from = t < len ? len - 1 - t : t;
      memcpy(dst + (size_t)(b * sb + t * stt) * es, src + (size_t)(b * sb + from * stt) * es,
             (size_t)inner * es);
    }
  }
  return NULL;
}

/* ---------------------------------------------------------------- Compress */

MT_MUST_USE static mt_status *run_compress(const mt_kc_compress *p, const mt_tensor *x,
                                           const mt_tensor *cond, mt_tensor *y) {
  size_t es = 0;
  MT_RETURN_IF_ERROR_PLAIN(elem_size(x, &es));
  if (!cond || cond->dtype != MT_DTYPE_BOOL || cond->rank != 1)
    return MT_ERR(INVALID_ARGUMENT, "input 1: condition must be a 1-D bool tensor");
  if (!p->flatten && (p->axis < 0 || p->axis >= x->rank))
    return MT_ERR(INVALID_ARGUMENT, "compress axis out of range");
  int64_t outer = p->flatten ? 1 : prod(x->dims, 0, p->axis);
  int64_t n = p->flatten ? mt_tensor_numel(x) : x->dims[p->axis];
  int64_t inner = p->flatten ? 1 : prod(x->dims, p->axis + 1, x->rank);
  int64_t len = cond->dims[0] < n ? cond->dims[0] : n, kept = 0;
  const uint8_t *c = cond->data;
  for (int64_t j = 0; j < len; j++) kept += c[j] != 0;
  if (outer * kept * inner != mt_tensor_numel(y))
    return MT_ERR(INVALID_ARGUMENT,
                  "the condition keeps %lld slices, the output (sized at compile time) holds %lld "
                  "elements",
                  (long long)kept, (long long)mt_tensor_numel(y));
  const char *src = x->data;
  char *dst = y->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < len; j++) {
      if (!c[j]) continue;
      memcpy(dst, src + (size_t)((o * n + j) * inner) * es, (size_t)inner * es);
      dst += (size_t)inner * es;
    }
  return NULL;
}

/* ---------------------------------------------------------------- windows */

double mt_cpu_window_value(mt_window_kind kind, bool periodic, int64_t size, int64_t n) {
  const double pi = 3.14159265358979323846;
  double m = (double)(periodic ? size : size - 1);
  switch (kind) {
  case MT_WINDOW_HANN: {
    double s = sin(pi * (double)n / m);
    return s * s;
  }
  case MT_WINDOW_HAMMING: return 25.0 / 46.0 - cos(2 * pi * (double)n / m) * (21.0 / 46.0);
  case MT_WINDOW_BLACKMAN:
    return 0.42 - 0.5 * cos(2 * pi * (double)n / m) + 0.08 * cos(4 * pi * (double)n / m);
  }
  return 0;
}

MT_MUST_USE static mt_status *run_window(const mt_kc_window *p, mt_tensor *y) {
  if (y->rank != 1 || !mt_dtype_supported(y->dtype) || y->dtype == MT_DTYPE_BOOL)
    return MT_ERR(INVALID_ARGUMENT, "window output must be a 1-D numeric tensor");
  for (int64_t n = 0; n < y->dims[0]; n++)
    mt_tensor_set_f64(y, n, mt_cpu_window_value(p->kind, p->periodic, y->dims[0], n));
  return NULL;
}

/* ---------------------------------------------------------------- dispatch */

static const mt_tensor *input_at(int n_inputs, const mt_tensor *const *inputs, int i) {
  return i < n_inputs ? inputs[i] : NULL;
}

mt_status *mt_cpu_kernel_run_index(const mt_kernel_call *call, int n_inputs,
                                   const mt_tensor *const *inputs, int n_outputs,
                                   mt_tensor *outputs) {
  (void)n_outputs;
  const mt_tensor *x = inputs[0];
  mt_tensor *y = &outputs[0];
  const mt_tensor *in1 = input_at(n_inputs, inputs, 1), *in2 = input_at(n_inputs, inputs, 2);
  switch (call->kind) {
  case MT_KERNEL_HARDMAX: return run_hardmax(&call->params.softmax, x, y);
  case MT_KERNEL_GATHER_ND:
    if (!in1) return MT_ERR(INVALID_ARGUMENT, "gather_nd takes 2 inputs");
    return run_gather_nd(call->params.gather_nd.batch_dims, x, in1, y);
  case MT_KERNEL_SCATTER_ND:
    if (!in1 || !in2) return MT_ERR(INVALID_ARGUMENT, "scatter_nd takes 3 inputs");
    return run_scatter_nd(call->params.scatter.reduction, x, in1, in2, y);
  case MT_KERNEL_SCATTER_ELEMENTS:
    if (!in1 || !in2) return MT_ERR(INVALID_ARGUMENT, "scatter_elements takes 3 inputs");
    return run_scatter_elements(&call->params.scatter, x, in1, in2, y);
  case MT_KERNEL_ONE_HOT: return run_one_hot(call->params.axis.axis, x, in2, y);
  case MT_KERNEL_TRILU: return run_trilu(call->params.trilu.upper, n_inputs, inputs, y);
  case MT_KERNEL_EYE_LIKE: return run_eye_like(call->params.eye_like.k, y);
  case MT_KERNEL_REVERSE_SEQUENCE:
    return run_reverse_sequence(&call->params.reverse_sequence, x, in1, y);
  case MT_KERNEL_WINDOW: return run_window(&call->params.window, y);
  case MT_KERNEL_COMPRESS: return run_compress(&call->params.compress, x, in1, y);
  default:
    return MT_ERR(INTERNAL, "kernel %s is not an indexing kernel", mt_kernel_kind_name(call->kind));
  }
}
