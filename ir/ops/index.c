/* ONNX indexing ops and generated matrices: Hardmax, GatherND, ScatterND, ScatterElements (and
 * its opset 9-10 form Scatter), OneHot, Trilu, EyeLike, ReverseSequence and Compress. The kernels are in
 * runtime/cpu/kernel_call_index.c.
 *
 * Version differences handled here: Hardmax before opset 13 flattens the input to 2-D at `axis`
 * (default 1), from 13 it works along the one dim `axis` (default -1); GatherND's batch_dims
 * exists from opset 12; the scatter `reduction` attribute from 16 (add, mul) and 18 (max, min);
 * OneHot's and Compress's negative axis from 11. Each op runs as its own kernel (pattern opaque): their outputs
 * are written at places the indices choose, which no elementwise chain can fuse into. */
#include <math.h>
#include <string.h>

#include "ir/ops/nn_internal.h"

/* ---------------------------------------------------------------- Hardmax */

/* Hardmax views its input as Softmax does (nn_norm.c), version differences included. */
MT_MUST_USE static mt_status *hardmax_layout(const mt_op_ctx *c, mt_kc_softmax *p) {
  memset(p, 0, sizeof *p);
  return mt_nn_softmax_layout(c, &p->outer, &p->n, &p->inner);
}

MT_MUST_USE static mt_status *require_float(const mt_tensor *x) {
  if (!mt_dtype_is_float(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported (float32 or float16 only)",
                  mt_dtype_name(x->dtype));
  return NULL;
}

MT_MUST_USE static mt_status *infer_hardmax(mt_op_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(require_float(mt_op_input(c, 0)));
  mt_kc_softmax p;
  MT_RETURN_IF_ERROR_PLAIN(hardmax_layout(c, &p));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_hardmax(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_HARDMAX;
  return hardmax_layout(c, &call->params.softmax);
}

/* ---------------------------------------------------------------- GatherND */

MT_MUST_USE static mt_status *index_dtype(const mt_tensor *t, int input) {
  if (t->dtype != MT_DTYPE_INT64 && t->dtype != MT_DTYPE_INT32)
    return MT_ERR(INVALID_ARGUMENT, "input %d: indices must be int64 (or int32), got %s", input,
                  mt_dtype_name(t->dtype));
  return NULL;
}

/* Checks data / indices against batch_dims and the tuple length; *out_k is the tuple length. */
MT_MUST_USE static mt_status *nd_shapes(const mt_tensor *data, const mt_tensor *idx, int bd,
                                        int64_t *out_k) {
  MT_RETURN_IF_ERROR_PLAIN(index_dtype(idx, 1));
  if (data->rank < 1 || idx->rank < 1)
    return MT_ERR(INVALID_ARGUMENT, "data and indices must have rank >= 1");
  if (bd < 0 || bd >= idx->rank || bd >= data->rank)
    return MT_ERR(INVALID_ARGUMENT, "batch_dims %d must be below both ranks (%d, %d)", bd,
                  data->rank, idx->rank);
  for (int d = 0; d < bd; d++)
    if (data->dims[d] != idx->dims[d])
      return MT_ERR(INVALID_ARGUMENT, "batch dim %d differs: data %lld, indices %lld", d,
                    (long long)data->dims[d], (long long)idx->dims[d]);
  int64_t k = idx->dims[idx->rank - 1];
  if (k < 1 || k > data->rank - bd)
    return MT_ERR(INVALID_ARGUMENT, "index tuples of %lld entries for data rank %d, batch_dims %d",
                  (long long)k, data->rank, bd);
  *out_k = k;
  return NULL;
}

static int gather_nd_batch_dims(const mt_op_ctx *c) {
  return c->opset >= 12 ? (int)mt_node_attr_int(c->node, "batch_dims", 0) : 0;
}

MT_MUST_USE static mt_status *infer_gather_nd(mt_op_ctx *c) {
  const mt_tensor *data = mt_op_input(c, 0), *idx = mt_op_input(c, 1);
  int bd = gather_nd_batch_dims(c);
  int64_t k;
  MT_RETURN_IF_ERROR_PLAIN(nd_shapes(data, idx, bd, &k));
  int rank = idx->rank - 1 + data->rank - bd - (int)k;
  if (rank > MT_MAX_RANK)
    return MT_ERR(UNIMPLEMENTED, "output rank %d exceeds %d", rank, MT_MAX_RANK);
  int64_t dims[MT_MAX_RANK];
  int r = 0;
  for (int d = 0; d < idx->rank - 1; d++) dims[r++] = idx->dims[d];
  for (int d = bd + (int)k; d < data->rank; d++) dims[r++] = data->dims[d];
  mt_op_set_output(c, 0, data->dtype, rank, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_gather_nd(const mt_op_ctx *c, mt_kernel_call *call) {
  int64_t k;
  int bd = gather_nd_batch_dims(c);
  MT_RETURN_IF_ERROR_PLAIN(nd_shapes(mt_op_input(c, 0), mt_op_input(c, 1), bd, &k));
  call->kind = MT_KERNEL_GATHER_ND;
  call->params.gather_nd.batch_dims = bd;
  return NULL;
}

/* ---------------------------------------------------------------- ScatterND, ScatterElements */

MT_MUST_USE static mt_status *scatter_reduction(const mt_op_ctx *c, mt_scatter_reduction *out) {
  const char *r = c->opset >= 16 ? mt_node_attr_string(c->node, "reduction", "none") : "none";
  static const struct {
    const char *name;
    mt_scatter_reduction r;
    int since;
  } names[] = {{"none", MT_SCATTER_NONE, 1},
               {"add", MT_SCATTER_ADD, 16},
               {"mul", MT_SCATTER_MUL, 16},
               {"max", MT_SCATTER_MAX, 18},
               {"min", MT_SCATTER_MIN, 18}};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(r, names[i].name) == 0 && c->opset >= names[i].since) {
      *out = names[i].r;
      return NULL;
    }
  return MT_ERR(INVALID_ARGUMENT, "reduction '%s' is not defined at opset %d", r, c->opset);
}

/* The reductions combine float32/float16 and the core integer types (kernel_call_index.c). */
MT_MUST_USE static mt_status *reduction_dtype(const mt_op_ctx *c, mt_scatter_reduction r) {
  mt_dtype dt = mt_op_input(c, 0)->dtype;
  if (r != MT_SCATTER_NONE && !mt_dtype_is_float(dt) && !mt_dtype_is_integer(dt))
    return MT_ERR(UNIMPLEMENTED, "%s with a reduction on %s", c->node->op_type, mt_dtype_name(dt));
  return NULL;
}

MT_MUST_USE static mt_status *scatter_inputs(const mt_op_ctx *c, const mt_tensor **data,
                                             const mt_tensor **idx, const mt_tensor **upd) {
  *data = mt_op_input(c, 0);
  *idx = mt_op_input(c, 1);
  *upd = mt_op_input(c, 2);
  if (!*data || !*idx || !*upd) return MT_ERR(INVALID_ARGUMENT, "expected three inputs");
  MT_RETURN_IF_ERROR_PLAIN(index_dtype(*idx, 1));
  if ((*upd)->dtype != (*data)->dtype)
    return MT_ERR(INVALID_ARGUMENT, "updates are %s but data is %s", mt_dtype_name((*upd)->dtype),
                  mt_dtype_name((*data)->dtype));
  return NULL;
}

/* ScatterND: updates have shape indices.shape[:-1] + data.shape[k:]. */
MT_MUST_USE static mt_status *scatter_nd_check(const mt_op_ctx *c) {
  const mt_tensor *data, *idx, *upd;
  MT_RETURN_IF_ERROR_PLAIN(scatter_inputs(c, &data, &idx, &upd));
  int64_t k;
  MT_RETURN_IF_ERROR_PLAIN(nd_shapes(data, idx, 0, &k));
  int want = idx->rank - 1 + data->rank - (int)k;
  bool ok = upd->rank == want;
  for (int d = 0; ok && d < idx->rank - 1; d++) ok = upd->dims[d] == idx->dims[d];
  for (int d = 0; ok && d < data->rank - (int)k; d++)
    ok = upd->dims[idx->rank - 1 + d] == data->dims[k + d];
  if (!ok) return MT_ERR(INVALID_ARGUMENT, "updates' shape does not match indices and data");
  return NULL;
}

MT_MUST_USE static mt_status *infer_scatter_nd(mt_op_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(scatter_nd_check(c));
  mt_scatter_reduction r;
  MT_RETURN_IF_ERROR_PLAIN(scatter_reduction(c, &r));
  MT_RETURN_IF_ERROR_PLAIN(reduction_dtype(c, r));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_scatter_nd(const mt_op_ctx *c, mt_kernel_call *call) {
  MT_RETURN_IF_ERROR_PLAIN(scatter_nd_check(c));
  call->kind = MT_KERNEL_SCATTER_ND;
  call->params.scatter.axis = 0;
  return scatter_reduction(c, &call->params.scatter.reduction);
}

MT_MUST_USE static mt_status *scatter_elements_check(const mt_op_ctx *c, int *out_axis) {
  const mt_tensor *data, *idx, *upd;
  MT_RETURN_IF_ERROR_PLAIN(scatter_inputs(c, &data, &idx, &upd));
  if (data->rank < 1 || idx->rank != data->rank || upd->rank != data->rank)
    return MT_ERR(INVALID_ARGUMENT, "data, indices and updates must share a rank >= 1");
  MT_RETURN_IF_ERROR_PLAIN(
      mt_normalize_axis(mt_node_attr_int(c->node, "axis", 0), data->rank, out_axis));
  for (int d = 0; d < data->rank; d++)
    if (idx->dims[d] != upd->dims[d] || (d != *out_axis && idx->dims[d] > data->dims[d]))
      return MT_ERR(INVALID_ARGUMENT, "indices and updates differ in shape at dim %d", d);
  return NULL;
}

MT_MUST_USE static mt_status *infer_scatter_elements(mt_op_ctx *c) {
  int axis;
  MT_RETURN_IF_ERROR_PLAIN(scatter_elements_check(c, &axis));
  mt_scatter_reduction r;
  MT_RETURN_IF_ERROR_PLAIN(scatter_reduction(c, &r));
  MT_RETURN_IF_ERROR_PLAIN(reduction_dtype(c, r));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_scatter_elements(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_SCATTER_ELEMENTS;
  MT_RETURN_IF_ERROR_PLAIN(scatter_elements_check(c, &call->params.scatter.axis));
  return scatter_reduction(c, &call->params.scatter.reduction);
}

/* ---------------------------------------------------------------- OneHot */

MT_MUST_USE static mt_status *one_hot_layout(const mt_op_ctx *c, int *out_axis,
                                             int64_t *out_depth) {
  const mt_tensor *idx = mt_op_input(c, 0), *depth = mt_op_input(c, 1), *values = mt_op_input(c, 2);
  if (!idx || !depth || !values) return MT_ERR(INVALID_ARGUMENT, "expected three inputs");
  if (idx->rank + 1 > MT_MAX_RANK)
    return MT_ERR(UNIMPLEMENTED, "output rank %d exceeds %d", idx->rank + 1, MT_MAX_RANK);
  if (mt_tensor_numel(depth) != 1)
    return MT_ERR(INVALID_ARGUMENT, "input 1: depth must hold one value");
  if (mt_tensor_numel(values) != 2 || values->rank != 1)
    return MT_ERR(INVALID_ARGUMENT, "input 2: values must be [off_value, on_value]");
  double d = mt_tensor_get_f64(depth, 0);
  if (!(d >= 1.0) || d > 9.2e18)
    return MT_ERR(INVALID_ARGUMENT, "input 1: depth %g must be at least 1", d);
  *out_depth = (int64_t)d; /* a float depth is truncated, as the spec's cast to int64 */
  int64_t axis = mt_node_attr_int(c->node, "axis", -1);
  if (c->opset < 11 && axis < -1)
    return MT_ERR(INVALID_ARGUMENT, "axis %lld below -1 before opset 11", (long long)axis);
  return mt_normalize_axis(axis, idx->rank + 1, out_axis);
}

MT_MUST_USE static mt_status *infer_one_hot(mt_op_ctx *c) {
  int axis;
  int64_t depth;
  MT_RETURN_IF_ERROR_PLAIN(one_hot_layout(c, &axis, &depth));
  const mt_tensor *idx = mt_op_input(c, 0);
  int64_t dims[MT_MAX_RANK];
  for (int d = 0, s = 0; d < idx->rank + 1; d++) dims[d] = d == axis ? depth : idx->dims[s++];
  mt_op_set_output(c, 0, mt_op_input(c, 2)->dtype, idx->rank + 1, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_one_hot(const mt_op_ctx *c, mt_kernel_call *call) {
  int64_t depth;
  call->kind = MT_KERNEL_ONE_HOT;
  return one_hot_layout(c, &call->params.axis.axis, &depth);
}

/* ---------------------------------------------------------------- Trilu, EyeLike */

MT_MUST_USE static mt_status *infer_trilu(mt_op_ctx *c) {
  const mt_tensor *x = mt_op_input(c, 0), *k = mt_op_input(c, 1);
  if (x->rank < 2) return MT_ERR(INVALID_ARGUMENT, "input must have rank >= 2, got %d", x->rank);
  if (k && (k->dtype != MT_DTYPE_INT64 || mt_tensor_numel(k) != 1))
    return MT_ERR(INVALID_ARGUMENT, "input 1: k must be one int64");
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_trilu(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_TRILU;
  call->params.trilu.upper = mt_node_attr_int(c->node, "upper", 1) != 0;
  return NULL;
}

static mt_dtype eye_like_dtype(const mt_op_ctx *c) {
  const mt_attr *dt = mt_node_attr(c->node, "dtype");
  return dt ? (mt_dtype)dt->i : mt_op_input(c, 0)->dtype;
}

MT_MUST_USE static mt_status *infer_eye_like(mt_op_ctx *c) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (x->rank != 2) return MT_ERR(INVALID_ARGUMENT, "input must be 2-D, has rank %d", x->rank);
  mt_dtype dt = eye_like_dtype(c);
  if (!mt_dtype_supported(dt))
    return MT_ERR(UNIMPLEMENTED, "dtype %s is not supported", mt_dtype_name(dt));
  mt_op_set_output(c, 0, dt, 2, x->dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_eye_like(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_EYE_LIKE;
  call->params.eye_like.k = mt_node_attr_int(c->node, "k", 0);
  return NULL;
}

static const char *eye_like_unsupported(const mt_node *n) {
  const mt_attr *dt = mt_node_attr(n, "dtype");
  if (dt && !mt_dtype_supported((mt_dtype)dt->i)) return "EyeLike to an unsupported dtype";
  return NULL;
}

/* ---------------------------------------------------------------- ReverseSequence */

MT_MUST_USE static mt_status *reverse_sequence_axes(const mt_op_ctx *c, mt_kc_reverse_sequence *p) {
  const mt_tensor *x = mt_op_input(c, 0), *lens = mt_op_input(c, 1);
  if (!lens) return MT_ERR(INVALID_ARGUMENT, "expected a sequence_lens input");
  if (x->rank < 2) return MT_ERR(INVALID_ARGUMENT, "input must have rank >= 2, got %d", x->rank);
  int64_t b = mt_node_attr_int(c->node, "batch_axis", 1);
  int64_t t = mt_node_attr_int(c->node, "time_axis", 0);
  if (!((b == 0 && t == 1) || (b == 1 && t == 0)))
    return MT_ERR(INVALID_ARGUMENT, "batch_axis %lld and time_axis %lld must be 0 and 1",
                  (long long)b, (long long)t);
  if (!mt_dtype_is_integer(lens->dtype) || lens->rank != 1 || lens->dims[0] != x->dims[b])
    return MT_ERR(INVALID_ARGUMENT, "input 1: sequence_lens must be %lld integers",
                  (long long)x->dims[b]);
  p->batch_axis = (int)b;
  p->time_axis = (int)t;
  return NULL;
}

MT_MUST_USE static mt_status *infer_reverse_sequence(mt_op_ctx *c) {
  mt_kc_reverse_sequence p;
  MT_RETURN_IF_ERROR_PLAIN(reverse_sequence_axes(c, &p));
  mt_op_same_as_input(c, 0, 0);
  return NULL;
}

MT_MUST_USE static mt_status *lower_reverse_sequence(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_REVERSE_SEQUENCE;
  return reverse_sequence_axes(c, &call->params.reverse_sequence);
}

/* ---------------------------------------------------------------- Compress */

/* The output's size depends on the condition's values, so static inference needs them
 * (value_inputs): a constant condition makes the size static, which keeps the plan capturable;
 * a condition only known at run time is refused with the input named. */
MT_MUST_USE static mt_status *compress_layout(const mt_op_ctx *c, mt_kc_compress *p) {
  const mt_tensor *x = mt_op_input(c, 0), *cond = mt_op_input(c, 1);
  if (!cond || cond->dtype != MT_DTYPE_BOOL || cond->rank != 1)
    return MT_ERR(INVALID_ARGUMENT, "input 1: condition must be a 1-D bool tensor");
  memset(p, 0, sizeof *p);
  const mt_attr *axis = mt_node_attr(c->node, "axis");
  p->flatten = axis == NULL;
  if (axis) {
    if (x->rank < 1) return MT_ERR(INVALID_ARGUMENT, "input must have rank >= 1 with an axis");
    if (c->opset < 11 && axis->i < 0)
      return MT_ERR(INVALID_ARGUMENT, "negative axis %lld before opset 11", (long long)axis->i);
    MT_RETURN_IF_ERROR_PLAIN(mt_normalize_axis(axis->i, x->rank, &p->axis));
  }
  int64_t n = p->flatten ? mt_tensor_numel(x) : x->dims[p->axis];
  if (cond->dims[0] > n)
    return MT_ERR(INVALID_ARGUMENT, "condition of %lld entries is longer than the %lld slices",
                  (long long)cond->dims[0], (long long)n);
  return NULL;
}

MT_MUST_USE static mt_status *infer_compress(mt_op_ctx *c) {
  mt_kc_compress p;
  MT_RETURN_IF_ERROR_PLAIN(compress_layout(c, &p));
  const mt_tensor *x = mt_op_input(c, 0), *cond = mt_op_input(c, 1);
  int64_t kept = 0;
  for (int64_t j = 0; j < cond->dims[0]; j++) kept += ((const uint8_t *)cond->data)[j] != 0;
  if (p.flatten) {
    mt_op_set_output(c, 0, x->dtype, 1, &kept);
    return NULL;
  }
  int64_t dims[MT_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  dims[p.axis] = kept;
  mt_op_set_output(c, 0, x->dtype, x->rank, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_compress(const mt_op_ctx *c, mt_kernel_call *call) {
  call->kind = MT_KERNEL_COMPRESS;
  return compress_layout(c, &call->params.compress);
}

/* ---------------------------------------------------------------- window functions */

/* HannWindow, HammingWindow, BlackmanWindow (opset 17): the size input's value fixes the output's
 * length, so it is a value input (a constant in an ahead-of-time compile). */
MT_MUST_USE static mt_status *window_call(const mt_op_ctx *c, mt_kc_window *p, int64_t *size,
                                          mt_dtype *dt) {
  const mt_tensor *s = mt_op_input(c, 0);
  if (!s || mt_tensor_numel(s) != 1 || !mt_dtype_is_integer(s->dtype))
    return MT_ERR(INVALID_ARGUMENT, "input 0: size must be one integer");
  *size = mt_tensor_get_i64(s, 0);
  if (*size < 0) return MT_ERR(INVALID_ARGUMENT, "size %lld is negative", (long long)*size);
  *dt = (mt_dtype)mt_node_attr_int(c->node, "output_datatype", MT_DTYPE_FLOAT32);
  if (!mt_dtype_supported(*dt) || *dt == MT_DTYPE_BOOL)
    return MT_ERR(UNIMPLEMENTED, "window of dtype %s", mt_dtype_name(*dt));
  memset(p, 0, sizeof *p);
  const char *op = c->node->op_type;
  p->kind = strcmp(op, "HannWindow") == 0      ? MT_WINDOW_HANN
            : strcmp(op, "HammingWindow") == 0 ? MT_WINDOW_HAMMING
                                               : MT_WINDOW_BLACKMAN;
  p->periodic = mt_node_attr_int(c->node, "periodic", 1) != 0;
  return NULL;
}

MT_MUST_USE static mt_status *infer_window(mt_op_ctx *c) {
  mt_kc_window p;
  int64_t size;
  mt_dtype dt;
  MT_RETURN_IF_ERROR_PLAIN(window_call(c, &p, &size, &dt));
  mt_op_set_output(c, 0, dt, 1, &size);
  return NULL;
}

MT_MUST_USE static mt_status *lower_window(const mt_op_ctx *c, mt_kernel_call *call) {
  int64_t size;
  mt_dtype dt;
  call->kind = MT_KERNEL_WINDOW;
  return window_call(c, &call->params.window, &size, &dt);
}

#define WINDOW_DEF(name)                                                                           \
  {                                                                                                \
    .op_type = name, .min_inputs = 1, .max_inputs = 1, .value_inputs = 1u << 0,                    \
    .pattern = MT_PATTERN_OPAQUE, .infer = infer_window, .lower = lower_window                     \
  }

/* ---------------------------------------------------------------- the table */

#define INDEX_DEF(name, lo, hi, fname)                                                             \
  {                                                                                                \
    .op_type = name, .min_inputs = lo, .max_inputs = hi, .pattern = MT_PATTERN_OPAQUE,             \
    .infer = infer_##fname, .lower = lower_##fname                                                 \
  }

const mt_op_def mt_ops_index[] = {
    INDEX_DEF("Hardmax", 1, 1, hardmax),
    INDEX_DEF("GatherND", 2, 2, gather_nd),
    INDEX_DEF("ScatterND", 3, 3, scatter_nd),
    INDEX_DEF("ScatterElements", 3, 3, scatter_elements),
    INDEX_DEF("Scatter", 3, 3, scatter_elements),
    {.op_type = "OneHot",
     .min_inputs = 3,
     .max_inputs = 3,
     .value_inputs = 1u << 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_one_hot,
     .lower = lower_one_hot},
    INDEX_DEF("Trilu", 1, 2, trilu),
    {.op_type = "EyeLike",
     .min_inputs = 1,
     .max_inputs = 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_eye_like,
     .lower = lower_eye_like,
     .unsupported_reason = eye_like_unsupported},
    INDEX_DEF("ReverseSequence", 2, 2, reverse_sequence),
    WINDOW_DEF("HannWindow"),
    WINDOW_DEF("HammingWindow"),
    WINDOW_DEF("BlackmanWindow"),
    {.op_type = "Compress",
     .min_inputs = 2,
     .max_inputs = 2,
     .value_inputs = 1u << 1,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_compress,
     .lower = lower_compress},
    {0},
};
