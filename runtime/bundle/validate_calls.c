/* The loader's last check: every CPU node's decoded kernel parameters against the types of the
 * buffers it is given. runtime/cpu trusts what lowering (ir/ops) validated and indexes inputs and
 * outputs by the shapes, strides, axes and counts the call implies; a bundle is untrusted bytes,
 * so here each kind is held to what its executor in runtime/cpu/kernel_call*.c reads and writes:
 * the required inputs are present, dtypes are what the kernel expects, and every element count
 * the parameters imply fits the buffers (inputs and outputs). Checks are on types only (no data
 * is read); index values that come from data (Gather indices, CumSum's axis) stay checked by the
 * kernels when they run. Must not know about ir/ or the writer. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/checked_math.h"
#include "runtime/bundle/bundle.h"
#include "runtime/bundle/validate_rnn.h"
#include "runtime/cpu/float8.h"
#include "runtime/cpu/elementwise_bcast.h"
#include "runtime/cpu/gemm.h"

/* Geometry values (strides, dilations, pads, kernel sizes, resize extents) are capped far above
 * any real model so that the kernels' index arithmetic cannot overflow int64. */
#define MAX_GEOM ((int64_t)1 << 31)

/* The node's buffers as the kernel will see them (data NULL; dtype 0 marks an omitted one). */
typedef struct call_ctx {
  const char *kind;
  bool out0_optional; /* Split and TopK may leave output 0 out */
  int n_in, n_out;
  const mt_tensor *in, *out;
} call_ctx;

static bool has_in(const call_ctx *c, int i) { return i < c->n_in && c->in[i].dtype != 0; }
static bool has_out(const call_ctx *c, int i) { return i < c->n_out && c->out[i].dtype != 0; }

static void shape_text(int rank, const int64_t *dims, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)dims[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
}

static mt_status *bad(const call_ctx *c, const char *fmt, ...) MT_PRINTF(2, 3);
static mt_status *bad(const call_ctx *c, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return MT_ERR(DATA_LOSS, "%s call: %s", c->kind, msg);
}

/* Output (or input) t must have exactly the shape the parameters imply. */
MT_MUST_USE static mt_status *want_shape(const call_ctx *c, const mt_tensor *t, const char *what,
                                         int rank, const int64_t *dims) {
  bool ok = t->rank == rank;
  for (int i = 0; ok && i < rank; i++) ok = t->dims[i] == dims[i];
  if (ok) return NULL;
  char got[128], want[128];
  shape_text(t->rank, t->dims, got, sizeof got);
  shape_text(rank, dims, want, sizeof want);
  return bad(c, "%s has shape %s, the parameters imply %s", what, got, want);
}

MT_MUST_USE static mt_status *want_numel(const call_ctx *c, const mt_tensor *t, const char *what,
                                         int64_t n) {
  if (mt_tensor_numel(t) == n) return NULL;
  return bad(c, "%s has %lld elements, the parameters imply %lld", what,
             (long long)mt_tensor_numel(t), (long long)n);
}

MT_MUST_USE static mt_status *want_dtype(const call_ctx *c, const mt_tensor *t, const char *what,
                                         mt_dtype dt) {
  if (t->dtype == dt) return NULL;
  return bad(c, "%s is %s, the kernel expects %s", what, mt_dtype_name(t->dtype),
             mt_dtype_name(dt));
}

MT_MUST_USE static mt_status *want_float(const call_ctx *c, const mt_tensor *t, const char *what) {
  if (mt_dtype_is_float(t->dtype)) return NULL;
  return bad(c, "%s is %s, the kernel expects float32, float16 or bfloat16", what,
             mt_dtype_name(t->dtype));
}

/* Inputs [0, n) present, at most max_in inputs (-1: any number) and outputs within [1, max_out]. */
MT_MUST_USE static mt_status *want_counts(const call_ctx *c, int n, int max_in, int max_out) {
  for (int i = 0; i < n; i++)
    if (!has_in(c, i)) return bad(c, "input %d is missing (%d inputs given)", i, c->n_in);
  if (max_in >= 0 && c->n_in > max_in)
    return bad(c, "%d inputs, the kind takes at most %d", c->n_in, max_in);
  if (c->n_out > max_out) return bad(c, "%d outputs, the kind takes at most %d", c->n_out, max_out);
  if (!has_out(c, 0) && !c->out0_optional) return bad(c, "output 0 is missing");
  return NULL;
}

static int64_t prod(const int64_t *dims, int from, int to) {
  int64_t n = 1;
  for (int i = from; i < to; i++) n *= dims[i]; /* dims of validated types: no overflow */
  return n;
}

/* ---------------------------------------------------------------- elementwise */

/* Inputs (as the kernel views them) must broadcast to the output's shape. */
MT_MUST_USE static mt_status *want_broadcast(const call_ctx *c, int n, const mt_tensor *const *ins,
                                             const mt_tensor *y) {
  mt_bcast_plan plan;
  mt_status *st = mt_bcast_plan_init(&plan, n, ins, y->rank, y->dims);
  if (!st) return NULL;
  mt_status *out = bad(c, "operands do not broadcast to output 0: %s", mt_status_message(st));
  mt_status_free(st);
  return out;
}

MT_MUST_USE static mt_status *check_unary(const call_ctx *c, const mt_kc_unary *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 3, 1));
  /* IsNaN / IsInf write bool; every other unary op keeps the input's dtype */
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(
      c, &c->out[0], "output 0", mt_ew_unary_is_classify(p->op) ? MT_DTYPE_BOOL : c->in[0].dtype));
  MT_RETURN_IF_ERROR_PLAIN(want_numel(c, &c->out[0], "output 0", mt_tensor_numel(&c->in[0])));
  if (!mt_cpu_ew_unary_supports(p->op, c->in[0].dtype))
    return bad(c, "op %d does not take %s", (int)p->op, mt_dtype_name(c->in[0].dtype));
  return NULL;
}

MT_MUST_USE static mt_status *check_binary(const call_ctx *c, const mt_kc_binary *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 2, 1));
  const mt_tensor *a = &c->in[0], *b = &c->in[1];
  mt_tensor va = *a, vb = *b;
  va.rank = p->a_rank;
  vb.rank = p->b_rank;
  memcpy(va.dims, p->a_dims, sizeof va.dims);
  memcpy(vb.dims, p->b_dims, sizeof vb.dims);
  for (int i = 0; i < MT_MAX_RANK; i++)
    if ((i < va.rank && (va.dims[i] < 0 || va.dims[i] > MAX_GEOM)) ||
        (i < vb.rank && (vb.dims[i] < 0 || vb.dims[i] > MAX_GEOM)))
      return bad(c, "operand view dim %d is out of range", i);
  int64_t na = 1, nb = 1;
  for (int i = 0; i < va.rank; i++)
    if (!mt_mul_i64(na, va.dims[i], &na)) return bad(c, "operand A view overflows");
  for (int i = 0; i < vb.rank; i++)
    if (!mt_mul_i64(nb, vb.dims[i], &nb)) return bad(c, "operand B view overflows");
  if (na != mt_tensor_numel(a) || nb != mt_tensor_numel(b))
    return bad(c, "operand views hold %lld and %lld elements, the inputs %lld and %lld",
               (long long)na, (long long)nb, (long long)mt_tensor_numel(a),
               (long long)mt_tensor_numel(b));
  if (p->op != MT_EW_POW) MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, b, "input 1", a->dtype));
  bool to_bool = mt_ew_binary_is_compare(p->op) || p->op == MT_EW_AND || p->op == MT_EW_OR ||
                 p->op == MT_EW_XOR;
  MT_RETURN_IF_ERROR_PLAIN(
      want_dtype(c, &c->out[0], "output 0", to_bool ? MT_DTYPE_BOOL : a->dtype));
  if (!mt_cpu_ew_binary_supports(p->op, a->dtype))
    return bad(c, "op %d does not take %s", (int)p->op, mt_dtype_name(a->dtype));
  const mt_tensor *ins[2] = {&va, &vb};
  return want_broadcast(c, 2, ins, &c->out[0]);
}

MT_MUST_USE static mt_status *check_variadic(const call_ctx *c, const mt_kc_variadic *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, c->n_in > 0 ? c->n_in : 1, -1, 1));
  const mt_tensor *y = &c->out[0];
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, y, "output 0", c->in[0].dtype));
  if (p->mean) MT_RETURN_IF_ERROR_PLAIN(want_float(c, y, "output 0"));
  if (!mt_cpu_ew_binary_supports(p->op, y->dtype))
    return bad(c, "op %d does not take %s", (int)p->op, mt_dtype_name(y->dtype));
  for (int i = 0; i < c->n_in; i++) {
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[i], "an input", y->dtype));
    const mt_tensor *ins[1] = {&c->in[i]};
    MT_RETURN_IF_ERROR_PLAIN(want_broadcast(c, 1, ins, y));
  }
  return NULL;
}

MT_MUST_USE static mt_status *check_where(const call_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 3, 3, 1));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[0], "input 0 (condition)", MT_DTYPE_BOOL));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[2], "input 2", c->in[1].dtype));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", c->in[1].dtype));
  const mt_tensor *ins[3] = {&c->in[0], &c->in[1], &c->in[2]};
  return want_broadcast(c, 3, ins, &c->out[0]);
}

/* ---------------------------------------------------------------- data movement */

MT_MUST_USE static mt_status *check_transpose(const call_ctx *c, const mt_kc_transpose *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
  const mt_tensor *x = &c->in[0];
  bool seen[MT_MAX_RANK] = {false};
  int64_t dims[MT_MAX_RANK];
  for (int i = 0; i < x->rank; i++) {
    if (p->perm[i] >= x->rank || seen[p->perm[i]])
      return bad(c, "perm is not a permutation of the input's %d dims", x->rank);
    seen[p->perm[i]] = true;
    dims[i] = x->dims[p->perm[i]];
  }
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_shape(c, &c->out[0], "output 0", x->rank, dims);
}

MT_MUST_USE static mt_status *check_expand(const call_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 2, 1));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", c->in[0].dtype));
  const mt_tensor *ins[1] = {&c->in[0]};
  return want_broadcast(c, 1, ins, &c->out[0]);
}

MT_MUST_USE static mt_status *check_tile(const call_ctx *c, const mt_kc_tile *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 2, 1));
  const mt_tensor *x = &c->in[0];
  int64_t dims[MT_MAX_RANK];
  for (int i = 0; i < x->rank; i++)
    if (p->repeats[i] < 0 || !mt_mul_i64(x->dims[i], p->repeats[i], &dims[i]))
      return bad(c, "repeats[%d] = %lld is out of range", i, (long long)p->repeats[i]);
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_shape(c, &c->out[0], "output 0", x->rank, dims);
}

MT_MUST_USE static mt_status *check_depth_to_space(const call_ctx *c,
                                                   const mt_kc_depth_to_space *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
  const mt_tensor *x = &c->in[0];
  if (x->rank != 4) return bad(c, "input 0 has rank %d, the kernel takes rank 4", x->rank);
  if (p->block < 1 || p->block > MAX_GEOM)
    return bad(c, "block %lld is out of range", (long long)p->block);
  int64_t bb = p->block * p->block, dims[4] = {x->dims[0]};
  if (p->space_to_depth) {
    if (x->dims[2] % p->block || x->dims[3] % p->block)
      return bad(c, "input spatial dims are not multiples of the block %lld", (long long)p->block);
    if (!mt_mul_i64(x->dims[1], bb, &dims[1])) return bad(c, "output channels overflow");
    dims[2] = x->dims[2] / p->block;
    dims[3] = x->dims[3] / p->block;
  } else {
    if (x->dims[1] % bb)
      return bad(c, "input channels are not a multiple of block^2 = %lld", (long long)bb);
    dims[1] = x->dims[1] / bb;
    if (!mt_mul_i64(x->dims[2], p->block, &dims[2]) || !mt_mul_i64(x->dims[3], p->block, &dims[3]))
      return bad(c, "output spatial dims overflow");
  }
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_shape(c, &c->out[0], "output 0", 4, dims);
}

MT_MUST_USE static mt_status *check_concat(const call_ctx *c, int axis) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, c->n_in > 0 ? c->n_in : 1, -1, 1));
  const mt_tensor *y = &c->out[0];
  if (axis >= y->rank) return bad(c, "axis %d is out of range for rank %d", axis, y->rank);
  int64_t sum = 0;
  for (int k = 0; k < c->n_in; k++) {
    const mt_tensor *t = &c->in[k];
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, t, "an input", y->dtype));
    int64_t dims[MT_MAX_RANK];
    memcpy(dims, y->dims, sizeof dims);
    dims[axis] = t->rank == y->rank ? t->dims[axis] : 0;
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, t, "an input", y->rank, dims));
    sum += t->dims[axis];
  }
  if (sum != y->dims[axis])
    return bad(c, "inputs give %lld along axis %d, output 0 has %lld", (long long)sum, axis,
               (long long)y->dims[axis]);
  return NULL;
}

MT_MUST_USE static mt_status *check_split(const call_ctx *c, const mt_kc_split *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 2, MT_KC_MAX_SPLIT));
  const mt_tensor *x = &c->in[0];
  if (p->n_outputs != c->n_out)
    return bad(c, "sizes for %d outputs, the node has %d", p->n_outputs, c->n_out);
  if (p->axis >= x->rank) return bad(c, "axis %d is out of range for rank %d", p->axis, x->rank);
  int64_t sum = 0;
  for (int k = 0; k < p->n_outputs; k++) {
    if (p->sizes[k] < 0 || p->sizes[k] > x->dims[p->axis] - sum)
      return bad(c, "sizes run past input dim %d (%lld)", p->axis, (long long)x->dims[p->axis]);
    sum += p->sizes[k];
    if (!has_out(c, k)) continue;
    int64_t dims[MT_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[p->axis] = p->sizes[k];
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[k], "an output", x->dtype));
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->out[k], "an output", x->rank, dims));
  }
  return NULL;
}

MT_MUST_USE static mt_status *check_slice(const call_ctx *c, const mt_kc_slice *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 5, 1));
  const mt_tensor *x = &c->in[0], *y = &c->out[0];
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, y, "output 0", x->dtype));
  if (y->rank != x->rank) return bad(c, "output rank %d differs from input's %d", y->rank, x->rank);
  if (mt_tensor_numel(y) == 0) return NULL; /* the kernel reads nothing */
  for (int d = 0; d < x->rank; d++) {
    int64_t first = p->starts[d], step = p->steps[d], last;
    if (step == 0 || step < -MAX_GEOM || step > MAX_GEOM ||
        !mt_mul_i64(y->dims[d] - 1, step, &last))
      return bad(c, "step %lld along dim %d is out of range", (long long)step, d);
    last += first;
    if (first < 0 || first >= x->dims[d] || last < 0 || last >= x->dims[d])
      return bad(c, "dim %d reads [%lld .. %lld] of an input dim of %lld", d, (long long)first,
                 (long long)last, (long long)x->dims[d]);
  }
  return NULL;
}

MT_MUST_USE static mt_status *want_indices(const call_ctx *c, const mt_tensor *idx) {
  if (idx->dtype == MT_DTYPE_INT64 || idx->dtype == MT_DTYPE_INT32) return NULL;
  return bad(c, "indices are %s, the kernel takes int32 or int64", mt_dtype_name(idx->dtype));
}

MT_MUST_USE static mt_status *check_gather(const call_ctx *c, int axis) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 2, 1));
  const mt_tensor *x = &c->in[0], *idx = &c->in[1];
  MT_RETURN_IF_ERROR_PLAIN(want_indices(c, idx));
  if (axis >= x->rank) return bad(c, "axis %d is out of range for rank %d", axis, x->rank);
  if (x->rank - 1 + idx->rank > MT_MAX_RANK) return bad(c, "output rank is out of range");
  int64_t dims[MT_MAX_RANK];
  int r = 0;
  for (int i = 0; i < axis; i++) dims[r++] = x->dims[i];
  for (int i = 0; i < idx->rank; i++) dims[r++] = idx->dims[i];
  for (int i = axis + 1; i < x->rank; i++) dims[r++] = x->dims[i];
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_shape(c, &c->out[0], "output 0", r, dims);
}

MT_MUST_USE static mt_status *check_gather_elements(const call_ctx *c, int axis) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 2, 1));
  const mt_tensor *x = &c->in[0], *idx = &c->in[1];
  MT_RETURN_IF_ERROR_PLAIN(want_indices(c, idx));
  if (axis >= x->rank || idx->rank != x->rank)
    return bad(c, "axis %d or indices of rank %d do not fit an input of rank %d", axis, idx->rank,
               x->rank);
  for (int i = 0; i < x->rank; i++)
    if (i != axis && idx->dims[i] > x->dims[i])
      return bad(c, "indices dim %d (%lld) exceeds the input's (%lld)", i, (long long)idx->dims[i],
                 (long long)x->dims[i]);
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_shape(c, &c->out[0], "output 0", idx->rank, idx->dims);
}

MT_MUST_USE static mt_status *check_pad(const call_ctx *c, const mt_kc_pad *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 4, 1));
  const mt_tensor *x = &c->in[0];
  int64_t dims[MT_MAX_RANK];
  for (int i = 0; i < x->rank; i++) {
    int64_t b = p->pads[i], e = p->pads[x->rank + i];
    if (b < -MAX_GEOM || b > MAX_GEOM || e < -MAX_GEOM || e > MAX_GEOM)
      return bad(c, "pads along dim %d are out of range", i);
    dims[i] = x->dims[i] + b + e;
  }
  if (p->fill_from_input) {
    if (!has_in(c, 2) || mt_tensor_numel(&c->in[2]) < 1)
      return bad(c, "input 2 (constant_value) is missing or empty");
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[2], "input 2 (constant_value)", x->dtype));
  }
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_shape(c, &c->out[0], "output 0", x->rank, dims);
}

MT_MUST_USE static mt_status *check_resize(const call_ctx *c, const mt_resize_params *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 4, 1));
  const mt_tensor *x = &c->in[0];
  if (p->rank != x->rank) return bad(c, "rank %d, input 0 has rank %d", p->rank, x->rank);
  MT_RETURN_IF_ERROR_PLAIN(want_shape(c, x, "input 0", p->rank, p->in_dims));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->out[0], "output 0", p->rank, p->out_dims));
  if (p->n_axes > p->rank) return bad(c, "%d axes for rank %d", p->n_axes, p->rank);
  bool resized[MT_MAX_RANK] = {false};
  for (int i = 0; i < p->n_axes; i++) {
    if (p->axes[i] >= p->rank || resized[p->axes[i]])
      return bad(c, "axis %d is out of range or repeated", p->axes[i]);
    resized[p->axes[i]] = true;
  }
  for (int d = 0; d < p->rank; d++) {
    if (!resized[d] && p->in_dims[d] != p->out_dims[d])
      return bad(c, "dim %d changes size but is not resized", d);
    if (!isfinite(p->scales[d]) || p->scales[d] <= 0)
      return bad(c, "scale %g along dim %d is not a positive number", p->scales[d], d);
    /* output = floor(input * scale) (or rounded, for sizes): a scale far from that ratio would
     * size the antialiasing filters' tap tables by it rather than by the tensors */
    double implied = p->scales[d] * (double)p->in_dims[d];
    if (resized[d] && p->in_dims[d] > 0 && p->coord != MT_RESIZE_TF_CROP_AND_RESIZE &&
        fabs(implied - (double)p->out_dims[d]) > 1.0 + 1e-6 * (double)p->out_dims[d])
      return bad(c, "scale %g along dim %d does not give %lld from %lld", p->scales[d], d,
                 (long long)p->out_dims[d], (long long)p->in_dims[d]);
  }
  return NULL;
}

/* ---------------------------------------------------------------- shapes and generated values */

MT_MUST_USE static mt_status *check_shape(const call_ctx *c, const mt_kc_shape *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
  if (p->start < 0 || p->end > c->in[0].rank || p->start > p->end)
    return bad(c, "range [%lld, %lld) is out of [0, %d]", (long long)p->start, (long long)p->end,
               c->in[0].rank);
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", MT_DTYPE_INT64));
  return want_numel(c, &c->out[0], "output 0", p->end - p->start);
}

MT_MUST_USE static mt_status *check_size(const call_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", MT_DTYPE_INT64));
  return want_numel(c, &c->out[0], "output 0", 1);
}

MT_MUST_USE static mt_status *check_fill(const call_ctx *c, const mt_kc_fill *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
  return want_dtype(c, &c->out[0], "output 0", p->dtype);
}

MT_MUST_USE static mt_status *check_range(const call_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 3, 3, 1));
  const mt_tensor *y = &c->out[0];
  for (int i = 0; i < 3; i += 2) {
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[i], i ? "input 2" : "input 0", y->dtype));
    MT_RETURN_IF_ERROR_PLAIN(want_numel(c, &c->in[i], i ? "input 2" : "input 0", 1));
  }
  return NULL;
}

/* NonZero in a bundle has the output shape the compiler saw ([max(rank, 1), count]): the CPU
 * path computes into its own memory and copies only when the count matches (mtrt.c). */
MT_MUST_USE static mt_status *check_nonzero(const call_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
  const mt_tensor *x = &c->in[0], *y = &c->out[0];
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, y, "output 0", MT_DTYPE_INT64));
  if (y->rank != 2 || y->dims[0] != (x->rank > 0 ? x->rank : 1) || y->dims[1] > mt_tensor_numel(x))
    return bad(c, "output 0 must be [max(rank of input 0, 1), at most its %lld elements]",
               (long long)mt_tensor_numel(x));
  return NULL;
}

/* ---------------------------------------------------------------- nn */

MT_MUST_USE static mt_status *check_gemm(const call_ctx *c, const mt_kc_gemm *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 3, 1));
  const mt_tensor *a = &c->in[0], *b = &c->in[1], *y = &c->out[0];
  if (a->rank != 2 || b->rank != 2) return bad(c, "A and B must be 2-D");
  int64_t m = p->trans_a ? a->dims[1] : a->dims[0], k = p->trans_a ? a->dims[0] : a->dims[1];
  int64_t kb = p->trans_b ? b->dims[1] : b->dims[0], n = p->trans_b ? b->dims[0] : b->dims[1];
  if (k != kb) return bad(c, "inner dims differ (%lld vs %lld)", (long long)k, (long long)kb);
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, b, "input 1", a->dtype));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, y, "output 0", a->dtype));
  int64_t dims[2] = {m, n};
  MT_RETURN_IF_ERROR_PLAIN(want_shape(c, y, "output 0", 2, dims));
  if (has_in(c, 2)) {
    const mt_tensor *cc = &c->in[2];
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, cc, "input 2", a->dtype));
    int64_t cm = cc->rank == 2 ? cc->dims[0] : 1, cn = cc->rank >= 1 ? cc->dims[cc->rank - 1] : 1;
    if (cc->rank > 2 || (cm != 1 && cm != m) || (cn != 1 && cn != n))
      return bad(c, "C does not broadcast to [%lld, %lld]", (long long)m, (long long)n);
  }
  return NULL;
}

MT_MUST_USE static mt_status *check_matmul(const call_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 2, 1));
  const mt_tensor *a = &c->in[0], *b = &c->in[1], *y = &c->out[0];
  mt_matmul_shape s;
  mt_status *st = mt_cpu_matmul_shape(a->rank, a->dims, b->rank, b->dims, &s);
  if (st) {
    mt_status *out = bad(c, "%s", mt_status_message(st));
    mt_status_free(st);
    return out;
  }
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, b, "input 1", a->dtype));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, y, "output 0", a->dtype));
  return want_numel(c, y, "output 0", mt_shape_numel(s.nb, s.batch) * s.m * s.n);
}

/* Window geometry: positive kernel, stride and dilation, non-negative pads, all capped so the
 * kernels' index arithmetic stays in int64. */
MT_MUST_USE static mt_status *check_geom(const call_ctx *c, const mt_conv_geom *g) {
  for (int d = 0; d < g->nsp; d++) {
    const int64_t v[] = {g->kernel[d], g->stride[d], g->dilation[d]};
    for (int i = 0; i < 3; i++)
      if (v[i] < 1 || v[i] > MAX_GEOM)
        return bad(c, "window geometry of dim %d is out of range", d);
    if (g->pad_begin[d] < 0 || g->pad_begin[d] > MAX_GEOM || g->pad_end[d] < 0 ||
        g->pad_end[d] > MAX_GEOM || g->in[d] < 0 || g->in[d] > MAX_GEOM || g->out[d] < 0 ||
        g->out[d] > MAX_GEOM)
      return bad(c, "window extents or pads of dim %d are out of range", d);
  }
  return NULL;
}

/* [lead0, lead1, spatial...] */
static int nc_dims(int64_t lead0, int64_t lead1, const mt_conv_geom *g, const int64_t *sp,
                   int64_t *dims) {
  dims[0] = lead0;
  dims[1] = lead1;
  for (int d = 0; d < g->nsp; d++) dims[2 + d] = sp[d];
  return g->nsp + 2;
}

MT_MUST_USE static mt_status *check_conv(const call_ctx *c, const mt_kc_conv *p, bool transpose) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 3, 1));
  const mt_conv_geom *g = &p->geom;
  MT_RETURN_IF_ERROR_PLAIN(check_geom(c, g));
  if (p->group < 1 || p->c_in < 0 || p->c_out < 0 || p->batch < 0 || p->c_in % p->group ||
      p->c_out % p->group)
    return bad(c, "channels %lld -> %lld in %lld groups do not divide", (long long)p->c_in,
               (long long)p->c_out, (long long)p->group);
  int64_t dims[MT_MAX_RANK];
  /* ConvTranspose slides over its output: x holds the window positions, y the image. */
  int r = nc_dims(p->batch, p->c_in, g, transpose ? g->out : g->in, dims);
  MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->in[0], "input 0 (X)", r, dims));
  if (transpose)
    nc_dims(p->c_in, p->c_out / p->group, g, g->kernel, dims);
  else
    nc_dims(p->c_out, p->c_in / p->group, g, g->kernel, dims);
  MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->in[1], "input 1 (W)", r, dims));
  if (has_in(c, 2)) MT_RETURN_IF_ERROR_PLAIN(want_numel(c, &c->in[2], "input 2 (B)", p->c_out));
  nc_dims(p->batch, p->c_out, g, transpose ? g->in : g->out, dims);
  for (int i = 0; i < 3; i++)
    if (has_in(c, i)) MT_RETURN_IF_ERROR_PLAIN(want_float(c, &c->in[i], "an input"));
  MT_RETURN_IF_ERROR_PLAIN(want_float(c, &c->out[0], "output 0"));
  return want_shape(c, &c->out[0], "output 0", r, dims);
}

MT_MUST_USE static mt_status *check_pool(const call_ctx *c, const mt_kc_pool *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 2));
  const mt_conv_geom *g = &p->geom;
  MT_RETURN_IF_ERROR_PLAIN(check_geom(c, g));
  const mt_tensor *x = &c->in[0];
  if (x->rank != g->nsp + 2 || p->planes != x->dims[0] * x->dims[1])
    return bad(c, "input 0 of rank %d does not hold %lld planes of %d spatial dims", x->rank,
               (long long)p->planes, g->nsp);
  int64_t dims[MT_MAX_RANK];
  int r = nc_dims(x->dims[0], x->dims[1], g, g->in, dims);
  MT_RETURN_IF_ERROR_PLAIN(want_shape(c, x, "input 0", r, dims));
  nc_dims(x->dims[0], x->dims[1], g, g->out, dims);
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->out[0], "output 0", r, dims));
  if (has_out(c, 1)) {
    if (!p->is_max) return bad(c, "an average pool has no indices output");
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[1], "output 1 (indices)", MT_DTYPE_INT64));
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->out[1], "output 1 (indices)", r, dims));
  }
  return NULL;
}

MT_MUST_USE static mt_status *check_global_pool(const call_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
  const mt_tensor *x = &c->in[0];
  if (x->rank < 2) return bad(c, "input 0 has rank %d, the kernel takes rank >= 2", x->rank);
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_numel(c, &c->out[0], "output 0", x->dims[0] * x->dims[1]);
}

MT_MUST_USE static mt_status *check_softmax(const call_ctx *c, const mt_kc_softmax *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
  int64_t n;
  if (p->outer < 0 || p->n < 0 || p->inner < 0 || !mt_mul_i64(p->outer, p->n, &n) ||
      !mt_mul_i64(n, p->inner, &n) || n != mt_tensor_numel(&c->in[0]))
    return bad(c, "[%lld, %lld, %lld] does not view input 0's %lld elements", (long long)p->outer,
               (long long)p->n, (long long)p->inner, (long long)mt_tensor_numel(&c->in[0]));
  if (c->in[0].dtype != MT_DTYPE_FLOAT64) /* Softmax runs float64 in double; Hardmax refuses */
    MT_RETURN_IF_ERROR_PLAIN(want_float(c, &c->in[0], "input 0"));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", c->in[0].dtype));
  return want_numel(c, &c->out[0], "output 0", n);
}

MT_MUST_USE static mt_status *want_same_as_x(const call_ctx *c) {
  const mt_tensor *x = &c->in[0];
  MT_RETURN_IF_ERROR_PLAIN(want_float(c, x, "input 0"));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_shape(c, &c->out[0], "output 0", x->rank, x->dims);
}

MT_MUST_USE static mt_status *check_batchnorm(const call_ctx *c, const mt_kc_batchnorm *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 5, 5, 5));
  const mt_tensor *x = &c->in[0];
  if (x->rank < 2) return bad(c, "input 0 has rank %d, the kernel takes rank >= 2", x->rank);
  MT_RETURN_IF_ERROR_PLAIN(want_same_as_x(c));
  int64_t ch = x->dims[1], per_element = ch * prod(x->dims, 2, x->rank);
  for (int i = 1; i < 5; i++) {
    int64_t n = mt_tensor_numel(&c->in[i]);
    if (n != ch && !(p->allow_per_element && n == per_element))
      return bad(c, "input %d has %lld values for %lld channels", i, (long long)n, (long long)ch);
  }
  /* outputs 1 and 2 (running mean and variance) are written from inputs 3 and 4 */
  for (int i = 1; i <= 2; i++) {
    if (!has_out(c, i)) continue;
    MT_RETURN_IF_ERROR_PLAIN(want_float(c, &c->out[i], "a running statistic"));
    MT_RETURN_IF_ERROR_PLAIN(
        want_numel(c, &c->out[i], "a running statistic", mt_tensor_numel(&c->in[2 + i])));
    if (p->training && mt_tensor_numel(&c->out[i]) != ch)
      return bad(c, "training statistics must be per channel");
  }
  return NULL;
}

MT_MUST_USE static mt_status *check_instancenorm(const call_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 3, 3, 1));
  const mt_tensor *x = &c->in[0];
  if (x->rank < 3) return bad(c, "input 0 has rank %d, the kernel takes rank >= 3", x->rank);
  MT_RETURN_IF_ERROR_PLAIN(want_same_as_x(c));
  for (int i = 1; i < 3; i++)
    MT_RETURN_IF_ERROR_PLAIN(want_numel(c, &c->in[i], i == 1 ? "scale" : "bias", x->dims[1]));
  return NULL;
}

MT_MUST_USE static mt_status *check_layernorm(const call_ctx *c, const mt_kc_norm *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 3, 3));
  const mt_tensor *x = &c->in[0];
  if (p->axis >= x->rank) return bad(c, "axis %d is out of range for rank %d", p->axis, x->rank);
  MT_RETURN_IF_ERROR_PLAIN(want_same_as_x(c));
  int nd = x->rank - p->axis;
  for (int i = 1; i < 3; i++) {
    if (!has_in(c, i)) continue;
    const mt_tensor *t = &c->in[i];
    bool ok = t->rank <= nd;
    for (int k = 0; ok && k < t->rank; k++)
      ok = t->dims[k] == 1 || t->dims[k] == x->dims[x->rank - t->rank + k];
    if (!ok) return bad(c, "input %d does not broadcast to the normalised dims", i);
  }
  for (int i = 1; i <= 2; i++) {
    if (!has_out(c, i)) continue;
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[i], "a statistics output", MT_DTYPE_FLOAT32));
    MT_RETURN_IF_ERROR_PLAIN(
        want_numel(c, &c->out[i], "a statistics output", prod(x->dims, 0, p->axis)));
  }
  return NULL;
}

/* Each operand's term names its dims; a label's size is the one every dim with that label has (or
 * 1, broadcast), and every output label comes from some operand. */
MT_MUST_USE static mt_status *check_einsum(const call_ctx *c, const mt_einsum_eq *e) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, c->n_in > 0 ? c->n_in : 1, MT_EINSUM_MAX_INPUTS, 1));
  if (e->n_inputs != c->n_in)
    return bad(c, "equation for %d operands, the node has %d", e->n_inputs, c->n_in);
  const mt_tensor *y = &c->out[0];
  bool seen[MT_EINSUM_MAX_LABELS] = {false}, full[MT_EINSUM_MAX_LABELS] = {false};
  for (int i = 0; i < e->n_inputs; i++) {
    const mt_tensor *t = &c->in[i];
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, t, "an operand", y->dtype));
    if (e->in[i].n != t->rank)
      return bad(c, "term %d names %d dims, the operand has %d", i, e->in[i].n, t->rank);
    for (int d = 0; d < t->rank; d++) {
      int l = e->in[i].label[d];
      if (e->size[l] < 0 || (t->dims[d] != e->size[l] && t->dims[d] != 1))
        return bad(c, "operand %d dim %d (%lld) does not fit label size %lld", i, d,
                   (long long)t->dims[d], (long long)e->size[l]);
      seen[l] = true;
      full[l] |= t->dims[d] == e->size[l];
    }
  }
  int64_t dims[MT_MAX_RANK];
  for (int d = 0; d < e->out.n; d++) {
    int l = e->out.label[d];
    if (!seen[l]) return bad(c, "output label %d is in no operand", l);
    dims[d] = e->size[l];
  }
  for (int l = 0; l < MT_EINSUM_MAX_LABELS; l++)
    if (seen[l] && !full[l]) return bad(c, "label %d has a size no operand dim has", l);
  return want_shape(c, y, "output 0", e->out.n, dims);
}

/* ---------------------------------------------------------------- reductions */

MT_MUST_USE static mt_status *check_reduce(const call_ctx *c, const mt_kc_reduce *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 2, 1));
  const mt_tensor *x = &c->in[0];
  if (x->rank < 32 && p->axes_mask >> x->rank)
    return bad(c, "axes mask 0x%x names dims past rank %d", p->axes_mask, x->rank);
  int64_t kept = 1;
  for (int d = 0; d < x->rank; d++)
    if (!(p->axes_mask >> d & 1)) kept *= x->dims[d];
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_numel(c, &c->out[0], "output 0", kept);
}

MT_MUST_USE static mt_status *check_arg_reduce(const call_ctx *c, const mt_kc_arg_reduce *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
  const mt_tensor *x = &c->in[0];
  if (p->axis >= x->rank || x->dims[p->axis] == 0)
    return bad(c, "axis %d is out of range or empty", p->axis);
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", MT_DTYPE_INT64));
  return want_numel(c, &c->out[0], "output 0",
                    prod(x->dims, 0, p->axis) * prod(x->dims, p->axis + 1, x->rank));
}

MT_MUST_USE static mt_status *check_topk(const call_ctx *c, const mt_kc_topk *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 2, 2));
  const mt_tensor *x = &c->in[0];
  if (p->axis >= x->rank || p->k < 0 || p->k > x->dims[p->axis])
    return bad(c, "k = %lld along axis %d does not fit the input", (long long)p->k, p->axis);
  int64_t dims[MT_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  dims[p->axis] = p->k;
  if (has_out(c, 0)) {
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0 (values)", x->dtype));
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->out[0], "output 0 (values)", x->rank, dims));
  }
  if (has_out(c, 1)) {
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[1], "output 1 (indices)", MT_DTYPE_INT64));
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->out[1], "output 1 (indices)", x->rank, dims));
  }
  return NULL;
}

MT_MUST_USE static mt_status *check_cumsum(const call_ctx *c) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 2, 1));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", c->in[0].dtype));
  return want_shape(c, &c->out[0], "output 0", c->in[0].rank, c->in[0].dims);
}

/* ---------------------------------------------------------------- indexing, norms, losses */

MT_MUST_USE static mt_status *want_same(const call_ctx *c, const mt_tensor *x) {
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_shape(c, &c->out[0], "output 0", x->rank, x->dims);
}

MT_MUST_USE static mt_status *want_index_type(const call_ctx *c, const mt_tensor *t,
                                              const char *what) {
  if (t->dtype == MT_DTYPE_INT64 || t->dtype == MT_DTYPE_INT32) return NULL;
  return bad(c, "%s is %s, the kernel expects int32 or int64", what, mt_dtype_name(t->dtype));
}

MT_MUST_USE static mt_status *check_gather_nd(const call_ctx *c, int bd) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 2, 1));
  const mt_tensor *x = &c->in[0], *idx = &c->in[1];
  MT_RETURN_IF_ERROR_PLAIN(want_index_type(c, idx, "input 1 (indices)"));
  if (idx->rank < 1 || bd >= idx->rank || bd >= x->rank)
    return bad(c, "batch_dims %d for ranks %d and %d", bd, x->rank, idx->rank);
  int64_t k = idx->dims[idx->rank - 1];
  if (k < 1 || k > x->rank - bd) return bad(c, "index tuples of %lld entries", (long long)k);
  for (int d = 0; d < bd; d++)
    if (idx->dims[d] != x->dims[d]) return bad(c, "batch dim %d differs", d);
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_numel(c, &c->out[0], "output 0",
                    prod(idx->dims, 0, idx->rank - 1) * prod(x->dims, bd + (int)k, x->rank));
}

MT_MUST_USE static mt_status *check_scatter(const call_ctx *c, const mt_kc_scatter *p, bool nd) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 3, 3, 1));
  const mt_tensor *x = &c->in[0], *idx = &c->in[1], *u = &c->in[2];
  MT_RETURN_IF_ERROR_PLAIN(want_index_type(c, idx, "input 1 (indices)"));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, u, "input 2 (updates)", x->dtype));
  if (nd) {
    if (idx->rank < 1) return bad(c, "indices of rank 0");
    int64_t k = idx->dims[idx->rank - 1];
    if (k < 1 || k > x->rank) return bad(c, "index tuples of %lld entries", (long long)k);
    MT_RETURN_IF_ERROR_PLAIN(
        want_numel(c, u, "input 2 (updates)",
                   prod(idx->dims, 0, idx->rank - 1) * prod(x->dims, (int)k, x->rank)));
  } else {
    if (idx->rank != x->rank || u->rank != x->rank || p->axis >= x->rank)
      return bad(c, "data, indices and updates must share a rank above the axis");
    for (int d = 0; d < x->rank; d++)
      if (idx->dims[d] != u->dims[d] || (d != p->axis && idx->dims[d] > x->dims[d]))
        return bad(c, "indices and updates differ in shape at dim %d", d);
  }
  return want_same(c, x);
}

MT_MUST_USE static mt_status *check_one_hot(const call_ctx *c, int axis) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 3, 3, 1));
  const mt_tensor *idx = &c->in[0], *y = &c->out[0];
  if (y->rank != idx->rank + 1 || axis >= y->rank) return bad(c, "output rank or axis");
  for (int d = 0, s = 0; d < y->rank; d++)
    if (d != axis && y->dims[d] != idx->dims[s++]) return bad(c, "output dim %d", d);
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[2], "input 2 (values)", y->dtype));
  return want_numel(c, &c->in[2], "input 2 (values)", 2);
}

MT_MUST_USE static mt_status *check_reverse_sequence(const call_ctx *c,
                                                     const mt_kc_reverse_sequence *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 2, 1));
  const mt_tensor *x = &c->in[0];
  if (x->rank < 2 || p->batch_axis == p->time_axis) return bad(c, "rank or axes");
  if (!mt_dtype_is_integer(c->in[1].dtype)) return bad(c, "sequence_lens must be integers");
  MT_RETURN_IF_ERROR_PLAIN(want_numel(c, &c->in[1], "input 1", x->dims[p->batch_axis]));
  return want_same(c, x);
}

MT_MUST_USE static mt_status *check_normalize(const call_ctx *c, const mt_kc_normalize *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 3, 1));
  const mt_tensor *x = &c->in[0];
  int64_t n = 1;
  for (int d = 0; d < p->rank; d++)
    if (p->dims[d] < 0 || !mt_mul_i64(n, p->dims[d], &n)) return bad(c, "view dims");
  if (n != mt_tensor_numel(x)) return bad(c, "the view does not cover input 0");
  if (!mt_dtype_is_float(x->dtype)) return want_float(c, x, "input 0");
  if ((p->reduce_mask | p->param_mask) >> p->rank) return bad(c, "masks name dims past the view");
  if (p->kind == MT_NORMALIZE_RMS || p->kind == MT_NORMALIZE_GROUP)
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, p->kind == MT_NORMALIZE_GROUP ? 3 : 2, 3, 1));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_numel(c, &c->out[0], "output 0", n);
}

MT_MUST_USE static mt_status *check_lp_pool(const call_ctx *c, const mt_kc_lp_pool *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
  MT_RETURN_IF_ERROR_PLAIN(check_geom(c, &p->geom));
  const mt_tensor *x = &c->in[0];
  MT_RETURN_IF_ERROR_PLAIN(want_float(c, x, "input 0"));
  if (p->p < 1 || p->p > 64 || x->rank != p->geom.nsp + 2 || p->planes != x->dims[0] * x->dims[1])
    return bad(c, "p, rank or planes");
  int64_t dims[MT_MAX_RANK];
  int r = nc_dims(x->dims[0], x->dims[1], &p->geom, p->geom.in, dims);
  MT_RETURN_IF_ERROR_PLAIN(want_shape(c, x, "input 0", r, dims));
  nc_dims(x->dims[0], x->dims[1], &p->geom, p->geom.out, dims);
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  return want_shape(c, &c->out[0], "output 0", r, dims);
}

MT_MUST_USE static mt_status *check_nll_loss(const call_ctx *c, const mt_kc_nll_loss *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 3, 2));
  const mt_tensor *x = &c->in[0], *t = &c->in[1];
  if (!mt_dtype_is_float_any(x->dtype) || x->rank < 2) return bad(c, "input 0");
  if (!mt_dtype_is_integer(t->dtype) || t->rank != x->rank - 1) return bad(c, "input 1 (target)");
  int64_t nd = x->dims[0] * prod(x->dims, 2, x->rank);
  MT_RETURN_IF_ERROR_PLAIN(want_numel(c, t, "input 1 (target)", nd));
  if (has_in(c, 2)) MT_RETURN_IF_ERROR_PLAIN(want_numel(c, &c->in[2], "input 2", x->dims[1]));
  if (has_in(c, 2)) MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[2], "input 2", x->dtype));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", x->dtype));
  MT_RETURN_IF_ERROR_PLAIN(
      want_numel(c, &c->out[0], "output 0", p->reduction == MT_LOSS_NONE ? nd : 1));
  if (has_out(c, 1)) {
    if (!p->log_softmax) return bad(c, "only SoftmaxCrossEntropyLoss has a second output");
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[1], "output 1", x->dtype));
    return want_numel(c, &c->out[1], "output 1", mt_tensor_numel(x));
  }
  return NULL;
}

/* ---------------------------------------------------------------- quantization */

/* An integer (packed int4/int2 included), float8 or float4e2m1 quantized type. */
static bool is_quant_int(mt_dtype dt) {
  double lo, hi;
  return mt_quant_range(dt, &lo, &hi) || mt_dtype_is_float8(dt) || dt == MT_DTYPE_FLOAT4E2M1;
}

/* The scale / zero-point layout against x (the kernel re-checks the counts against the data). */
MT_MUST_USE static mt_status *check_quant(const call_ctx *c, const mt_kc_quant *p, bool quantize) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 3, 1));
  const mt_tensor *x = &c->in[0], *y = &c->out[0];
  MT_RETURN_IF_ERROR_PLAIN(want_float(c, &c->in[1], "input 1 (scale)"));
  if (quantize
          ? !mt_dtype_is_float(x->dtype) || !is_quant_int(y->dtype)
          : (!is_quant_int(x->dtype) && x->dtype != MT_DTYPE_INT32) || !mt_dtype_is_float(y->dtype))
    return bad(c, "%s to %s", mt_dtype_name(x->dtype), mt_dtype_name(y->dtype));
  if (p->saturate && !(quantize && mt_dtype_is_float8(y->dtype)))
    return bad(c, "saturate is for quantizing to float8 only");
  if (has_in(c, 2))
    MT_RETURN_IF_ERROR_PLAIN(
        want_dtype(c, &c->in[2], "input 2 (zero point)", quantize ? y->dtype : x->dtype));
  MT_RETURN_IF_ERROR_PLAIN(want_numel(c, y, "output 0", mt_tensor_numel(x)));
  if (p->mode == MT_QUANT_PER_TENSOR) return want_numel(c, &c->in[1], "input 1 (scale)", 1);
  if (p->axis_dim < 1 || p->inner < 1 || p->axis_dim > MAX_GEOM || p->inner > MAX_GEOM ||
      (p->mode == MT_QUANT_BLOCKED && (p->block < 1 || p->block > MAX_GEOM)) ||
      mt_tensor_numel(x) % (p->axis_dim * p->inner))
    return bad(c, "quantization axis does not fit input 0");
  return NULL;
}

MT_MUST_USE static mt_status *check_qlinear(const call_ctx *c, const mt_kernel_call *k) {
  const mt_kc_qlinear *p = &k->params.qlinear;
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, MT_QIN_COUNT, 1));
  for (int i = 0; i < MT_QIN_COUNT; i++)
    if (p->in[i] >= c->n_in) return bad(c, "operand slot %d names input %d", i, p->in[i]);
  if (p->in[MT_QIN_A] < 0 || p->in[MT_QIN_B] < 0 || !has_in(c, p->in[MT_QIN_A]) ||
      !has_in(c, p->in[MT_QIN_B]))
    return bad(c, "the two operands must be present");
  if (!p->requantize)
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", MT_DTYPE_INT32));
  if (k->kind == MT_KERNEL_QCONV) {
    const mt_conv_geom *g = &p->geom;
    MT_RETURN_IF_ERROR_PLAIN(check_geom(c, g));
    if (p->group < 1 || p->c_in < 0 || p->c_out < 0 || p->batch < 0 || p->c_in % p->group ||
        p->c_out % p->group)
      return bad(c, "channels do not divide into groups");
    int64_t dims[MT_MAX_RANK];
    int r = nc_dims(p->batch, p->c_in, g, g->in, dims);
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->in[p->in[MT_QIN_A]], "operand X", r, dims));
    nc_dims(p->c_out, p->c_in / p->group, g, g->kernel, dims);
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->in[p->in[MT_QIN_B]], "operand W", r, dims));
    nc_dims(p->batch, p->c_out, g, g->out, dims);
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->out[0], "output 0", r, dims));
  }
  return NULL; /* the scales' and zero points' counts are checked by the kernel */
}

MT_MUST_USE static mt_status *check_vision_kind(const call_ctx *c, const mt_kernel_call *k);

MT_MUST_USE static mt_status *check_quant_kind(const call_ctx *c, const mt_kernel_call *k) {
  switch (k->kind) {
  case MT_KERNEL_QUANTIZE: return check_quant(c, &k->params.quant, true);
  case MT_KERNEL_DEQUANTIZE: return check_quant(c, &k->params.quant, false);
  case MT_KERNEL_DYN_QUANTIZE:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 3));
    MT_RETURN_IF_ERROR_PLAIN(want_float(c, &c->in[0], "input 0"));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", MT_DTYPE_UINT8));
    return want_numel(c, &c->out[0], "output 0", mt_tensor_numel(&c->in[0]));
  case MT_KERNEL_QMATMUL:
  case MT_KERNEL_QCONV: return check_qlinear(c, k);
  default: return check_vision_kind(c, k);
  }
}

MT_MUST_USE static mt_status *check_col2im(const call_ctx *c, const mt_kc_col2im *p) {
  const mt_tensor *x = &c->in[0], *y = &c->out[0];
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 3, 1));
  MT_RETURN_IF_ERROR_PLAIN(want_float(c, x, "input 0"));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, y, "output 0", x->dtype));
  if (p->nsp < 1 || p->nsp > MT_CONV_MAX_SPATIAL || y->rank != p->nsp + 2 || x->rank != 3 ||
      x->dims[0] != y->dims[0])
    return bad(c, "x [N, C * block, L] and output [N, C, image...]");
  int64_t kprod = 1, lprod = 1;
  for (int i = 0; i < p->nsp; i++) {
    if (p->block[i] < 1 || p->block[i] > MAX_GEOM || p->stride[i] < 1 || p->stride[i] > MAX_GEOM ||
        p->dilation[i] < 1 || p->dilation[i] > MAX_GEOM || p->pad_begin[i] < 0 ||
        p->pad_begin[i] > MAX_GEOM || p->blocks[i] < 1 || p->blocks[i] > MAX_GEOM)
      return bad(c, "geometry of spatial dim %d", i);
    kprod *= p->block[i];
    lprod *= p->blocks[i];
  }
  if (x->dims[1] != y->dims[1] * kprod || x->dims[2] != lprod)
    return bad(c, "x has [%lld, %lld] columns, the geometry implies [%lld, %lld]",
               (long long)x->dims[1], (long long)x->dims[2], (long long)(y->dims[1] * kprod),
               (long long)lprod);
  return NULL;
}

/* Detection and vision kinds (kernel_call_vision.c); the last in the chain. */
MT_MUST_USE static mt_status *check_vision_kind(const call_ctx *c, const mt_kernel_call *k) {
  const mt_tensor *x = &c->in[0], *y = &c->out[0];
  switch (k->kind) {
  case MT_KERNEL_ROI_ALIGN:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 3, 3, 1));
    MT_RETURN_IF_ERROR_PLAIN(want_float(c, x, "input 0"));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[1], "input 1 (rois)", x->dtype));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[2], "input 2 (batch indices)", MT_DTYPE_INT64));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, y, "output 0", x->dtype));
    if (x->rank != 4 || y->rank != 4 || c->in[1].rank != 2 || c->in[1].dims[1] != 4 ||
        y->dims[0] != c->in[1].dims[0] || y->dims[1] != x->dims[1] ||
        mt_tensor_numel(&c->in[2]) != y->dims[0] || k->params.roi_align.sampling_ratio < 0 ||
        k->params.roi_align.sampling_ratio > MAX_GEOM)
      return bad(c, "shapes of x [N, C, H, W], rois [R, 4], indices [R], output [R, C, h, w]");
    return NULL;
  case MT_KERNEL_GRID_SAMPLE:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 2, 1));
    MT_RETURN_IF_ERROR_PLAIN(want_float(c, x, "input 0"));
    MT_RETURN_IF_ERROR_PLAIN(want_float(c, &c->in[1], "input 1 (grid)"));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, y, "output 0", x->dtype));
    if (x->rank < 3 || x->rank > 5 || c->in[1].rank != x->rank || y->rank != x->rank ||
        c->in[1].dims[x->rank - 1] != x->rank - 2 || y->dims[0] != x->dims[0] ||
        y->dims[1] != x->dims[1] || c->in[1].dims[0] != x->dims[0])
      return bad(c, "shapes of x [N, C, D...], grid [N, O..., k], output [N, C, O...]");
    for (int i = 2; i < x->rank; i++)
      if (y->dims[i] != c->in[1].dims[i - 1]) return bad(c, "output dims differ from the grid's");
    return NULL;
  case MT_KERNEL_MAX_UNPOOL:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 3, 1));
    MT_RETURN_IF_ERROR_PLAIN(want_float(c, x, "input 0"));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[1], "input 1 (indices)", MT_DTYPE_INT64));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, y, "output 0", x->dtype));
    MT_RETURN_IF_ERROR_PLAIN(want_numel(c, &c->in[1], "input 1", mt_tensor_numel(x)));
    if (x->rank < 3 || y->rank != x->rank || y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1])
      return bad(c, "x [N, C, d...] and output [N, C, D...]");
    for (int i = 0; i < x->rank - 2; i++)
      if (k->params.max_unpool.unpooled[i] < 1 || k->params.max_unpool.unpooled[i] > y->dims[2 + i])
        return bad(c, "unpooled dim %d outside [1, %lld]", i, (long long)y->dims[2 + i]);
    return NULL;
  case MT_KERNEL_DET:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
    MT_RETURN_IF_ERROR_PLAIN(want_float(c, x, "input 0"));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, y, "output 0", x->dtype));
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
      return bad(c, "input 0 must be square matrices");
    return want_shape(c, y, "output 0", x->rank - 2, x->dims);
  case MT_KERNEL_CUMPROD:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 2, 1));
    if (k->params.cumprod.axis >= x->rank) return bad(c, "axis past the input's rank");
    if (!mt_dtype_is_float_any(x->dtype) && x->dtype != MT_DTYPE_INT32 &&
        x->dtype != MT_DTYPE_INT64)
      return bad(c, "input 0 is %s", mt_dtype_name(x->dtype));
    return want_same(c, x);
  case MT_KERNEL_AFFINE_GRID: {
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 2, 1));
    MT_RETURN_IF_ERROR_PLAIN(want_float(c, x, "input 0"));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, y, "output 0", x->dtype));
    int64_t k2 = y->rank - 2;
    if ((k2 != 2 && k2 != 3) || x->rank != 3 || x->dims[0] != y->dims[0] || x->dims[1] != k2 ||
        x->dims[2] != k2 + 1 || y->dims[y->rank - 1] != k2)
      return bad(c, "theta [N, k, k + 1] and output [N, d..., k] with k 2 or 3");
    return NULL;
  }
  case MT_KERNEL_COL2IM: return check_col2im(c, &k->params.col2im);
  default: return bad(c, "kernel kind %d has no call check", (int)k->kind);
  }
}

/* ---------------------------------------------------------------- attention family */

static bool in_geom(int64_t v, int64_t lo) { return v >= lo && v <= MAX_GEOM; }

/* Q/K/V-like operand t: [b, h, s, d], or [b, s, h * d] when in3d. */
MT_MUST_USE static mt_status *want_heads(const call_ctx *c, const mt_tensor *t, const char *what,
                                         bool in3d, int64_t b, int64_t h, int64_t s, int64_t d) {
  const int64_t d4[4] = {b, h, s, d}, d3[3] = {b, s, h * d};
  return in3d ? want_shape(c, t, what, 3, d3) : want_shape(c, t, what, 4, d4);
}

MT_MUST_USE static mt_status *check_rotary(const call_ctx *c, const mt_kc_rotary *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 3, 4, 1));
  const mt_tensor *x = &c->in[0];
  MT_RETURN_IF_ERROR_PLAIN(want_float(c, x, "input 0"));
  if (!in_geom(p->batch, 0) || !in_geom(p->heads, 1) || !in_geom(p->seq, 0) ||
      !in_geom(p->head_size, 0) || !in_geom(p->rot_dim, 0) || !in_geom(p->max_pos, 0) ||
      p->rot_dim > p->head_size || p->rot_dim % 2 != 0)
    return bad(c, "geometry out of range");
  MT_RETURN_IF_ERROR_PLAIN(
      want_heads(c, x, "input 0", p->in3d, p->batch, p->heads, p->seq, p->head_size));
  int64_t half = p->rot_dim / 2;
  const int64_t pos_cache[2] = {p->max_pos, half}, row_cache[3] = {p->batch, p->seq, half};
  for (int i = 1; i <= 2; i++) {
    const char *what = i == 1 ? "input 1 (cos_cache)" : "input 2 (sin_cache)";
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[i], what, x->dtype));
    MT_RETURN_IF_ERROR_PLAIN(p->has_pos ? want_shape(c, &c->in[i], what, 2, pos_cache)
                                        : want_shape(c, &c->in[i], what, 3, row_cache));
  }
  if (p->has_pos) {
    if (!has_in(c, 3)) return bad(c, "input 3 (position_ids) is missing");
    const int64_t pd[2] = {p->batch, p->seq};
    MT_RETURN_IF_ERROR_PLAIN(want_index_type(c, &c->in[3], "input 3 (position_ids)"));
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->in[3], "input 3 (position_ids)", 2, pd));
  }
  return want_same(c, x);
}

MT_MUST_USE static mt_status *check_attention(const call_ctx *c, const mt_kc_attention *p) {
  MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 3, 7, 4));
  const mt_tensor *q = &c->in[0];
  MT_RETURN_IF_ERROR_PLAIN(want_float(c, q, "input 0"));
  if (!in_geom(p->batch, 0) || !in_geom(p->q_heads, 1) || !in_geom(p->kv_heads, 1) ||
      !in_geom(p->q_len, 0) || !in_geom(p->kv_len, 0) || !in_geom(p->past_len, 0) ||
      !in_geom(p->head_qk, 0) || !in_geom(p->head_v, 0) || p->q_heads % p->kv_heads != 0 ||
      p->left_window < -1 || p->right_window < -1)
    return bad(c, "geometry out of range");
  int64_t total = p->past_len + p->kv_len;
  bool d3 = p->in3d;
  MT_RETURN_IF_ERROR_PLAIN(
      want_heads(c, q, "input 0 (Q)", d3, p->batch, p->q_heads, p->q_len, p->head_qk));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[1], "input 1 (K)", q->dtype));
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[2], "input 2 (V)", q->dtype));
  MT_RETURN_IF_ERROR_PLAIN(
      want_heads(c, &c->in[1], "input 1 (K)", d3, p->batch, p->kv_heads, p->kv_len, p->head_qk));
  MT_RETURN_IF_ERROR_PLAIN(
      want_heads(c, &c->in[2], "input 2 (V)", d3, p->batch, p->kv_heads, p->kv_len, p->head_v));
  if (p->mask != MT_ATTN_MASK_NONE) {
    if (!has_in(c, 3)) return bad(c, "input 3 (attn_mask) is missing");
    const int64_t full[4] = {p->batch, p->q_heads, p->q_len, total};
    for (int d = 0; d < 4; d++) {
      int64_t m = p->mask_dims[d];
      if (d == 3 ? m < 1 || m > total : m != 1 && m != full[d]) return bad(c, "mask dims");
    }
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[3], "input 3 (attn_mask)",
                                        p->mask == MT_ATTN_MASK_BOOL ? MT_DTYPE_BOOL : q->dtype));
    MT_RETURN_IF_ERROR_PLAIN(
        want_numel(c, &c->in[3], "input 3 (attn_mask)", prod(p->mask_dims, 0, 4)));
  }
  if (p->past_len > 0) {
    if (!has_in(c, 4) || !has_in(c, 5)) return bad(c, "past_key or past_value is missing");
    const int64_t pk[4] = {p->batch, p->kv_heads, p->past_len, p->head_qk};
    const int64_t pv[4] = {p->batch, p->kv_heads, p->past_len, p->head_v};
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[4], "input 4 (past_key)", q->dtype));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[5], "input 5 (past_value)", q->dtype));
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->in[4], "input 4 (past_key)", 4, pk));
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->in[5], "input 5 (past_value)", 4, pv));
  }
  if (p->has_nonpad) {
    if (!has_in(c, 6)) return bad(c, "input 6 (nonpad_kv_seqlen) is missing");
    const int64_t nd[1] = {p->batch};
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[6], "input 6", MT_DTYPE_INT64));
    MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->in[6], "input 6", 1, nd));
  }
  MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", q->dtype));
  MT_RETURN_IF_ERROR_PLAIN(
      want_heads(c, &c->out[0], "output 0", d3, p->batch, p->q_heads, p->q_len, p->head_v));
  const int64_t shapes[3][4] = {{p->batch, p->kv_heads, total, p->head_qk},
                                {p->batch, p->kv_heads, total, p->head_v},
                                {p->batch, p->q_heads, p->q_len, total}};
  for (int o = 1; o < 4; o++)
    if (has_out(c, o)) {
      MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[o], "an optional output", q->dtype));
      MT_RETURN_IF_ERROR_PLAIN(want_shape(c, &c->out[o], "an optional output", 4, shapes[o - 1]));
    }
  return NULL;
}

MT_MUST_USE static mt_status *check_breadth_kind(const call_ctx *c, const mt_kernel_call *k) {
  const mt_tensor *x = &c->in[0];
  switch (k->kind) {
  case MT_KERNEL_HARDMAX: return check_softmax(c, &k->params.softmax);
  case MT_KERNEL_GATHER_ND: return check_gather_nd(c, k->params.gather_nd.batch_dims);
  case MT_KERNEL_SCATTER_ND: return check_scatter(c, &k->params.scatter, true);
  case MT_KERNEL_SCATTER_ELEMENTS: return check_scatter(c, &k->params.scatter, false);
  case MT_KERNEL_ONE_HOT: return check_one_hot(c, k->params.axis.axis);
  case MT_KERNEL_TRILU:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 2, 1));
    if (x->rank < 2) return bad(c, "input 0 of rank %d", x->rank);
    if (has_in(c, 1))
      MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[1], "input 1 (k)", MT_DTYPE_INT64));
    return want_same(c, x);
  case MT_KERNEL_EYE_LIKE:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
    if (c->out[0].rank != 2) return bad(c, "output 0 must be 2-D");
    return NULL;
  case MT_KERNEL_REVERSE_SEQUENCE: return check_reverse_sequence(c, &k->params.reverse_sequence);
  case MT_KERNEL_COMPRESS:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 2, 2, 1));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->in[1], "input 1 (condition)", MT_DTYPE_BOOL));
    if (!k->params.compress.flatten && k->params.compress.axis >= x->rank)
      return bad(c, "axis past the input's rank");
    return want_dtype(c, &c->out[0], "output 0", x->dtype);
  case MT_KERNEL_NORMALIZE: return check_normalize(c, &k->params.normalize);
  case MT_KERNEL_LP_POOL: return check_lp_pool(c, &k->params.lp_pool);
  case MT_KERNEL_LRN:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
    MT_RETURN_IF_ERROR_PLAIN(want_float(c, x, "input 0"));
    if (x->rank < 2 || k->params.lrn.size < 1) return bad(c, "rank or size");
    return want_same(c, x);
  case MT_KERNEL_NLL_LOSS: return check_nll_loss(c, &k->params.nll_loss);
  case MT_KERNEL_ROTARY: return check_rotary(c, &k->params.rotary);
  case MT_KERNEL_ATTENTION: return check_attention(c, &k->params.attention);
  case MT_KERNEL_WINDOW:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 1, 1));
    if (c->out[0].rank != 1) return bad(c, "output 0 must be 1-D");
    return NULL;
  default: return check_quant_kind(c, k);
  }
}

/* ---------------------------------------------------------------- dispatch */

MT_MUST_USE static mt_status *check_kind(const call_ctx *c, const mt_kernel_call *k) {
  switch (k->kind) {
  case MT_KERNEL_UNARY: return check_unary(c, &k->params.unary);
  case MT_KERNEL_BINARY: return check_binary(c, &k->params.binary);
  case MT_KERNEL_VARIADIC: return check_variadic(c, &k->params.variadic);
  case MT_KERNEL_WHERE: return check_where(c);
  case MT_KERNEL_CAST: /* CastLike has the target as input 1 */
  case MT_KERNEL_CAST_NO_SATURATE:
  case MT_KERNEL_CAST_E8M0_DOWN:
  case MT_KERNEL_CAST_E8M0_NEAREST:
  case MT_KERNEL_CAST_E8M0_NEAREST_NO_SATURATE:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 2, 1));
    return want_numel(c, &c->out[0], "output 0", mt_tensor_numel(&c->in[0]));
  case MT_KERNEL_COPY:
    MT_RETURN_IF_ERROR_PLAIN(want_counts(c, 1, 3, 2));
    MT_RETURN_IF_ERROR_PLAIN(want_dtype(c, &c->out[0], "output 0", c->in[0].dtype));
    return want_numel(c, &c->out[0], "output 0", mt_tensor_numel(&c->in[0]));
  case MT_KERNEL_TRANSPOSE: return check_transpose(c, &k->params.transpose);
  case MT_KERNEL_EXPAND: return check_expand(c);
  case MT_KERNEL_TILE: return check_tile(c, &k->params.tile);
  case MT_KERNEL_DEPTH_TO_SPACE: return check_depth_to_space(c, &k->params.depth_to_space);
  case MT_KERNEL_CONCAT: return check_concat(c, k->params.axis.axis);
  case MT_KERNEL_SPLIT: return check_split(c, &k->params.split);
  case MT_KERNEL_SLICE: return check_slice(c, &k->params.slice);
  case MT_KERNEL_GATHER: return check_gather(c, k->params.axis.axis);
  case MT_KERNEL_GATHER_ELEMENTS: return check_gather_elements(c, k->params.axis.axis);
  case MT_KERNEL_PAD: return check_pad(c, &k->params.pad);
  case MT_KERNEL_RESIZE: return check_resize(c, &k->params.resize);
  case MT_KERNEL_SHAPE: return check_shape(c, &k->params.shape);
  case MT_KERNEL_SIZE: return check_size(c);
  case MT_KERNEL_CONSTANT_OF_SHAPE: return check_fill(c, &k->params.fill);
  case MT_KERNEL_RANGE: return check_range(c);
  case MT_KERNEL_GEMM: return check_gemm(c, &k->params.gemm);
  case MT_KERNEL_MATMUL: return check_matmul(c);
  case MT_KERNEL_CONV: return check_conv(c, &k->params.conv, false);
  case MT_KERNEL_CONV_TRANSPOSE: return check_conv(c, &k->params.conv, true);
  case MT_KERNEL_POOL: return check_pool(c, &k->params.pool);
  case MT_KERNEL_GLOBAL_POOL: return check_global_pool(c);
  case MT_KERNEL_SOFTMAX: return check_softmax(c, &k->params.softmax);
  case MT_KERNEL_BATCHNORM: return check_batchnorm(c, &k->params.batchnorm);
  case MT_KERNEL_INSTANCENORM: return check_instancenorm(c);
  case MT_KERNEL_LAYERNORM: return check_layernorm(c, &k->params.norm);
  case MT_KERNEL_EINSUM: return check_einsum(c, &k->params.einsum);
  case MT_KERNEL_REDUCE: return check_reduce(c, &k->params.reduce);
  case MT_KERNEL_ARG_REDUCE: return check_arg_reduce(c, &k->params.arg_reduce);
  case MT_KERNEL_TOPK: return check_topk(c, &k->params.topk);
  case MT_KERNEL_CUMSUM: return check_cumsum(c);
  case MT_KERNEL_RNN: return mt_bundle_check_rnn(c->n_in, c->in, c->n_out, c->out, &k->params.rnn);
  case MT_KERNEL_DFT:
  case MT_KERNEL_STFT:
  case MT_KERNEL_MEL_WEIGHT: return mt_bundle_check_signal(c->n_in, c->in, c->n_out, c->out, k);
  case MT_KERNEL_NONZERO: return check_nonzero(c);
  case MT_KERNEL_SWIGLU:
  case MT_KERNEL_BITCAST:
  case MT_KERNEL_TENSOR_SCATTER:
  case MT_KERNEL_DEFORM_CONV:
  case MT_KERNEL_TFIDF:
  case MT_KERNEL_CAUSAL_CONV:
  case MT_KERNEL_LINEAR_ATTN: return mt_bundle_check_newops(c->n_in, c->in, c->n_out, c->out, k);
  default: return check_breadth_kind(c, k);
  }
}

static void view_of(const Mtbundle__BufferRef *r, mt_tensor *t) {
  memset(t, 0, sizeof *t);
  if (r->kind == MTBUNDLE__BUFFER_REF__KIND__NONE) return;
  t->dtype = (mt_dtype)r->type->dtype;
  t->rank = (int)r->type->n_dims;
  for (int i = 0; i < t->rank; i++) t->dims[i] = r->type->dims[i];
}

/* Kernels access elements through typed pointers: an arena or scratch buffer must start at a
 * multiple of its element size (the memory plan aligns far more; constants are 64-aligned). */
MT_MUST_USE static mt_status *check_alignment(const Mtbundle__BufferRef *r, const char *what,
                                              size_t k) {
  if (r->kind != MTBUNDLE__BUFFER_REF__KIND__ARENA &&
      r->kind != MTBUNDLE__BUFFER_REF__KIND__SCRATCH)
    return NULL;
  size_t es = mt_dtype_size((mt_dtype)r->type->dtype);
  if (es == 0 && mt_dtype_is_packed((mt_dtype)r->type->dtype))
    es = 1; /* bytes of packed elements */
  if (es && r->offset % es == 0) return NULL;
  return MT_ERR(DATA_LOSS, "%s %zu: offset %llu is not a multiple of its %zu-byte elements", what,
                k, (unsigned long long)r->offset, es);
}

mt_status *mt_bundle_check_call(const Mtbundle__Node *n, const mt_kernel_call *call) {
  for (size_t k = 0; k < n->n_inputs; k++)
    MT_RETURN_IF_ERROR_PLAIN(check_alignment(n->inputs[k], "input", k));
  for (size_t k = 0; k < n->n_outputs; k++)
    MT_RETURN_IF_ERROR_PLAIN(check_alignment(n->outputs[k], "output", k));
  mt_tensor *views = calloc(n->n_inputs + n->n_outputs + 1, sizeof *views);
  if (!views) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t k = 0; k < n->n_inputs; k++) view_of(n->inputs[k], &views[k]);
  for (size_t k = 0; k < n->n_outputs; k++) view_of(n->outputs[k], &views[n->n_inputs + k]);
  call_ctx c = {.kind = mt_kernel_kind_name(call->kind),
                .out0_optional = call->kind == MT_KERNEL_SPLIT || call->kind == MT_KERNEL_TOPK ||
                                 call->kind == MT_KERNEL_RNN,
                .n_in = (int)n->n_inputs,
                .n_out = (int)n->n_outputs,
                .in = views,
                .out = views + n->n_inputs};
  mt_status *st = check_kind(&c, call);
  free(views);
  return st;
}
