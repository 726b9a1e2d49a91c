/* Shape family, ops that select or assemble regions: Concat, Split, Slice, Gather, GatherElements,
 * Pad. Attribute-vs-input forms follow the node's opset (Split's split input from 13 and
 * num_outputs from 18, Slice inputs from 10, Pad's pads input from 11 and axes from 18). */
#include <stdlib.h>
#include <string.h>

#include "ir/ops/shape_ops.h"
#include "runtime/cpu/layout.h"

/* --- Concat */

MT_MUST_USE static mt_status *concat_axis(const mt_op_ctx *ctx, int *axis) {
  const mt_tensor *x = ctx->inputs[0];
  if (!x) return MT_ERR(INVALID_ARGUMENT, "input 0 is missing");
  if (x->rank == 0) return MT_ERR(INVALID_ARGUMENT, "cannot concatenate scalars");
  const mt_attr *a = mt_node_attr(ctx->node, "axis");
  if (!a && ctx->opset >= 4) return MT_ERR(INVALID_ARGUMENT, "missing attribute 'axis'");
  return mt_normalize_axis(a ? a->i : 1, x->rank, axis);
}

mt_status *mt_shape_concat_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  int axis;
  MT_RETURN_IF_ERROR_PLAIN(concat_axis(ctx, &axis));
  const mt_tensor *x = ctx->inputs[0];
  int64_t out[MT_MAX_RANK];
  memcpy(out, x->dims, sizeof out);
  out[axis] = 0;
  for (int k = 0; k < ctx->n_inputs; k++) {
    const mt_tensor *t = ctx->inputs[k];
    if (!t) return MT_ERR(INVALID_ARGUMENT, "input %d is missing", k);
    if (t->dtype != x->dtype)
      return MT_ERR(INVALID_ARGUMENT, "input %d: dtype %s differs from input 0's %s", k,
                    mt_dtype_name(t->dtype), mt_dtype_name(x->dtype));
    if (t->rank != x->rank)
      return MT_ERR(INVALID_ARGUMENT, "input %d: rank %d differs from input 0's %d", k, t->rank,
                    x->rank);
    for (int i = 0; i < x->rank; i++) {
      if (i == axis || t->dims[i] < 0) continue;
      if (out[i] < 0) /* unknown so far: this input tells */
        out[i] = t->dims[i];
      else if (t->dims[i] != out[i])
        return MT_ERR(INVALID_ARGUMENT, "input %d: dim %d is %lld, expected %lld", k, i,
                      (long long)t->dims[i], (long long)out[i]);
    }
    if (out[axis] < 0 || t->dims[axis] < 0)
      out[axis] = -1;
    else if (__builtin_add_overflow(out[axis], t->dims[axis], &out[axis]))
      return MT_ERR(OUT_OF_RANGE, "concatenated dim overflows int64");
  }
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_dims_check(x->rank, out, x->dtype));
  mt_op_set_output(ctx, 0, x->dtype, x->rank, out);
  return NULL;
}

mt_status *mt_shape_concat_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  for (int k = 0; k < ctx->n_inputs; k++)
    if (!ctx->inputs[k]) return MT_ERR(INVALID_ARGUMENT, "input %d is missing", k);
  out_call->kind = MT_KERNEL_CONCAT;
  return concat_axis(ctx, &out_call->params.axis.axis);
}

/* --- Split */

/* Fills sizes[n_outputs] with the extent of each output along axis. */
MT_MUST_USE static mt_status *split_sizes(const mt_op_ctx *ctx, int *axis, int64_t *sizes) {
  const mt_tensor *x = ctx->inputs[0];
  if (x->rank == 0) return MT_ERR(INVALID_ARGUMENT, "cannot split a scalar");
  MT_RETURN_IF_ERROR_PLAIN(
      mt_normalize_axis(mt_node_attr_int(ctx->node, "axis", 0), x->rank, axis));
  int64_t dim = x->dims[*axis];
  int n = ctx->n_outputs;
  const mt_tensor *s = ctx->opset >= 13 ? mt_op_input(ctx, 1) : NULL;
  const int64_t *attr = NULL;
  int64_t count = ctx->opset < 13 ? mt_node_attr_ints(ctx->node, "split", &attr) : -1;
  if (s) {
    if (!s->data) return MT_ERR(INVALID_ARGUMENT, "input 1 (split) has no known value");
    if (s->rank > 1 || !mt_dtype_is_integer(s->dtype))
      return MT_ERR(INVALID_ARGUMENT, "input 1 (split) must be a 1-D integer tensor");
    count = mt_tensor_numel(s);
  }
  if (s || count >= 0) {
    if (count != n)
      return MT_ERR(INVALID_ARGUMENT, "split has %lld entries for %d outputs", (long long)count, n);
    int64_t sum = 0;
    for (int k = 0; k < n; k++) {
      sizes[k] = s ? mt_tensor_get_i64(s, k) : attr[k];
      if (sizes[k] < 0)
        return MT_ERR(INVALID_ARGUMENT, "split[%d] is negative (%lld)", k, (long long)sizes[k]);
      if (__builtin_add_overflow(sum, sizes[k], &sum))
        return MT_ERR(OUT_OF_RANGE, "split sizes overflow int64");
    }
    if (sum != dim && dim >= 0)
      return MT_ERR(INVALID_ARGUMENT, "split sizes sum to %lld, dim %d is %lld", (long long)sum,
                    *axis, (long long)dim);
    return NULL;
  }
  const mt_attr *num = ctx->opset >= 18 ? mt_node_attr(ctx->node, "num_outputs") : NULL;
  if (num && num->i != n)
    return MT_ERR(INVALID_ARGUMENT, "num_outputs is %lld but the node has %d outputs",
                  (long long)num->i, n);
  if (dim < 0 || dim % n == 0) { /* an unknown dim gives unknown parts */
    for (int k = 0; k < n; k++) sizes[k] = dim < 0 ? -1 : dim / n;
    return NULL;
  }
  if (!num)
    return MT_ERR(INVALID_ARGUMENT, "dim %d of size %lld does not split evenly into %d outputs",
                  *axis, (long long)dim, n);
  /* num_outputs (opset 18): chunks of ceil(dim / n), the last one smaller. */
  int64_t chunk = dim / n + 1;
  for (int k = 0; k < n - 1; k++) sizes[k] = chunk;
  sizes[n - 1] = dim - chunk * (n - 1);
  if (sizes[n - 1] < 0)
    return MT_ERR(INVALID_ARGUMENT, "dim %d of size %lld cannot be split into %d chunks of %lld",
                  *axis, (long long)dim, n, (long long)chunk);
  return NULL;
}

MT_MUST_USE static mt_status *split_sizes_alloc(const mt_op_ctx *ctx, int *axis, int64_t **sizes) {
  if (ctx->n_outputs < 1) return MT_ERR(INVALID_ARGUMENT, "Split needs at least one output");
  *sizes = malloc((size_t)ctx->n_outputs * sizeof **sizes);
  if (!*sizes) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = split_sizes(ctx, axis, *sizes);
  if (st) {
    free(*sizes);
    *sizes = NULL;
  }
  return st;
}

mt_status *mt_shape_split_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  int axis;
  int64_t *sizes;
  MT_RETURN_IF_ERROR_PLAIN(split_sizes_alloc(ctx, &axis, &sizes));
  int64_t out[MT_MAX_RANK];
  memcpy(out, x->dims, sizeof out);
  for (int k = 0; k < ctx->n_outputs; k++) {
    out[axis] = sizes[k];
    if (mt_op_has_output(ctx, k)) mt_op_set_output(ctx, k, x->dtype, x->rank, out);
  }
  free(sizes);
  return NULL;
}

mt_status *mt_shape_split_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  if (ctx->n_outputs > MT_KC_MAX_SPLIT)
    return MT_ERR(UNIMPLEMENTED, "Split into %d outputs; at most %d are supported", ctx->n_outputs,
                  MT_KC_MAX_SPLIT);
  int axis;
  int64_t *sizes;
  MT_RETURN_IF_ERROR_PLAIN(split_sizes_alloc(ctx, &axis, &sizes));
  mt_kc_split *p = &out_call->params.split;
  out_call->kind = MT_KERNEL_SPLIT;
  p->axis = axis;
  p->n_outputs = ctx->n_outputs;
  memcpy(p->sizes, sizes, (size_t)ctx->n_outputs * sizeof *sizes);
  free(sizes);
  return NULL;
}

/* --- Slice */

/* One of Slice's lists: attribute `attr` before opset 10, input `input` from 10. */
MT_MUST_USE static mt_status *slice_list(const mt_op_ctx *ctx, int input, const char *attr,
                                         int64_t *vals, int *n, bool *present) {
  *n = 0;
  *present = false;
  if (ctx->opset >= 10) {
    const mt_tensor *t = mt_op_input(ctx, input);
    if (!t) return NULL;
    MT_RETURN_IF_ERROR(mt_read_int_list(t, vals, MT_MAX_RANK, n), "input %d (%s)", input, attr);
  } else {
    const int64_t *a;
    int64_t c = mt_node_attr_ints(ctx->node, attr, &a);
    if (c < 0) return NULL;
    if (c > MT_MAX_RANK)
      return MT_ERR(OUT_OF_RANGE, "attribute '%s' has %lld entries", attr, (long long)c);
    *n = (int)c;
    memcpy(vals, a, (size_t)c * sizeof *vals);
  }
  *present = true;
  return NULL;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Resolves Slice's arguments into per-dim start, step and output extent. */
MT_MUST_USE static mt_status *slice_plan(const mt_op_ctx *ctx, int64_t *starts, int64_t *steps,
                                         int64_t *out) {
  const mt_tensor *x = ctx->inputs[0];
  int64_t st[MT_MAX_RANK], en[MT_MAX_RANK], ax[MT_MAX_RANK], sp[MT_MAX_RANK];
  int ns, ne, na, np;
  bool has_s, has_e, has_a, has_p;
  MT_RETURN_IF_ERROR_PLAIN(slice_list(ctx, 1, "starts", st, &ns, &has_s));
  MT_RETURN_IF_ERROR_PLAIN(slice_list(ctx, 2, "ends", en, &ne, &has_e));
  MT_RETURN_IF_ERROR_PLAIN(slice_list(ctx, 3, "axes", ax, &na, &has_a));
  MT_RETURN_IF_ERROR_PLAIN(slice_list(ctx, 4, "steps", sp, &np, &has_p)); /* no attr form */
  if (!has_s || !has_e) return MT_ERR(INVALID_ARGUMENT, "missing starts or ends");
  if (ne != ns) return MT_ERR(INVALID_ARGUMENT, "%d starts but %d ends", ns, ne);
  if (has_a && na != ns) return MT_ERR(INVALID_ARGUMENT, "%d starts but %d axes", ns, na);
  if (has_p && np != ns) return MT_ERR(INVALID_ARGUMENT, "%d starts but %d steps", ns, np);
  if (!has_a) {
    if (ns > x->rank)
      return MT_ERR(INVALID_ARGUMENT, "%d starts for an input of rank %d", ns, x->rank);
    for (int k = 0; k < ns; k++) ax[k] = k;
  }
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_axes_normalize(ax, ns, x->rank, "axes"));
  for (int i = 0; i < x->rank; i++) {
    starts[i] = 0;
    steps[i] = 1;
    out[i] = x->dims[i];
  }
  for (int k = 0; k < ns; k++) {
    int a = (int)ax[k];
    int64_t d = x->dims[a];
    int64_t step = has_p ? sp[k] : 1;
    if (step == 0) return MT_ERR(INVALID_ARGUMENT, "steps[%d] is 0", k);
    if (d < 0) { /* unknown during static inference: so is the extent */
      steps[a] = step;
      out[a] = -1;
      continue;
    }
    /* Negative starts/ends count from the end; adding d >= 0 to a negative value cannot
     * overflow, so INT64_MIN and INT64_MAX sentinels are safe. */
    int64_t s = st[k] < 0 ? st[k] + d : st[k];
    int64_t e = en[k] < 0 ? en[k] + d : en[k];
    int64_t len;
    if (step > 0) {
      s = clamp(s, 0, d);
      e = clamp(e, 0, d);
      len = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
      s = clamp(s, 0, d - 1);
      e = clamp(e, -1, d - 1);
      /* -step overflows for INT64_MIN; any step that large takes just the first element. */
      len = s > e ? (step == INT64_MIN ? 0 : (s - e - 1) / -step) + 1 : 0;
    }
    starts[a] = len > 0 ? s : 0;
    steps[a] = step;
    out[a] = len;
  }
  return NULL;
}

mt_status *mt_shape_slice_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  int64_t starts[MT_MAX_RANK], steps[MT_MAX_RANK], out[MT_MAX_RANK];
  MT_RETURN_IF_ERROR_PLAIN(slice_plan(ctx, starts, steps, out));
  mt_op_set_output(ctx, 0, x->dtype, x->rank, out);
  return NULL;
}

mt_status *mt_shape_slice_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  int64_t out[MT_MAX_RANK];
  out_call->kind = MT_KERNEL_SLICE;
  return slice_plan(ctx, out_call->params.slice.starts, out_call->params.slice.steps, out);
}

/* --- Gather / GatherElements */

MT_MUST_USE static mt_status *indices_check(const mt_tensor *idx) {
  if (idx->dtype != MT_DTYPE_INT64 && idx->dtype != MT_DTYPE_INT32)
    return MT_ERR(INVALID_ARGUMENT, "input 1: indices must be int32 or int64, got %s",
                  mt_dtype_name(idx->dtype));
  return NULL;
}

mt_status *mt_shape_gather_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0], *idx = ctx->inputs[1];
  MT_RETURN_IF_ERROR_PLAIN(indices_check(idx));
  if (x->rank == 0) return MT_ERR(INVALID_ARGUMENT, "input 0: cannot gather from a scalar");
  int axis;
  MT_RETURN_IF_ERROR_PLAIN(
      mt_normalize_axis(mt_node_attr_int(ctx->node, "axis", 0), x->rank, &axis));
  int r = x->rank - 1 + idx->rank;
  if (r > MT_MAX_RANK)
    return MT_ERR(OUT_OF_RANGE, "output rank %d exceeds the supported maximum %d", r, MT_MAX_RANK);
  int64_t out[MT_MAX_RANK];
  int j = 0;
  for (int i = 0; i < axis; i++) out[j++] = x->dims[i];
  for (int i = 0; i < idx->rank; i++) out[j++] = idx->dims[i];
  for (int i = axis + 1; i < x->rank; i++) out[j++] = x->dims[i];
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_dims_check(r, out, x->dtype));
  mt_op_set_output(ctx, 0, x->dtype, r, out);
  return NULL;
}

mt_status *mt_shape_gather_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  const mt_tensor *x = ctx->inputs[0], *idx = ctx->inputs[1];
  MT_RETURN_IF_ERROR_PLAIN(indices_check(idx));
  out_call->kind = MT_KERNEL_GATHER;
  return mt_normalize_axis(mt_node_attr_int(ctx->node, "axis", 0), x->rank,
                           &out_call->params.axis.axis);
}

MT_MUST_USE static mt_status *gather_elements_axis(const mt_op_ctx *ctx, int *axis) {
  const mt_tensor *x = ctx->inputs[0], *idx = ctx->inputs[1];
  MT_RETURN_IF_ERROR_PLAIN(indices_check(idx));
  if (x->rank == 0) return MT_ERR(INVALID_ARGUMENT, "input 0: cannot gather from a scalar");
  if (idx->rank != x->rank)
    return MT_ERR(INVALID_ARGUMENT, "input 1: rank %d differs from the data's %d", idx->rank,
                  x->rank);
  MT_RETURN_IF_ERROR_PLAIN(
      mt_normalize_axis(mt_node_attr_int(ctx->node, "axis", 0), x->rank, axis));
  for (int i = 0; i < x->rank; i++)
    if (i != *axis && x->dims[i] >= 0 && idx->dims[i] > x->dims[i])
      return MT_ERR(INVALID_ARGUMENT, "input 1: dim %d is %lld, larger than the data's %lld", i,
                    (long long)idx->dims[i], (long long)x->dims[i]);
  return NULL;
}

mt_status *mt_shape_gather_elements_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  int axis;
  MT_RETURN_IF_ERROR_PLAIN(gather_elements_axis(ctx, &axis));
  const mt_tensor *x = ctx->inputs[0], *idx = ctx->inputs[1];
  mt_op_set_output(ctx, 0, x->dtype, idx->rank, idx->dims);
  return NULL;
}

mt_status *mt_shape_gather_elements_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  out_call->kind = MT_KERNEL_GATHER_ELEMENTS;
  return gather_elements_axis(ctx, &out_call->params.axis.axis);
}

/* --- Pad */

static bool pad_mode_parse(const char *s, mt_pad_mode *mode) {
  if (strcmp(s, "constant") == 0)
    *mode = MT_PAD_CONSTANT;
  else if (strcmp(s, "reflect") == 0)
    *mode = MT_PAD_REFLECT;
  else if (strcmp(s, "edge") == 0)
    *mode = MT_PAD_EDGE;
  else if (strcmp(s, "wrap") == 0)
    *mode = MT_PAD_WRAP;
  else
    return false;
  return true;
}

const char *mt_shape_pad_unsupported(const mt_node *node) {
  if (node->opset < 2 && mt_node_attr(node, "paddings")) return "Pad-1 'paddings' attribute";
  return NULL;
}

/* Resolves Pad's mode and full pads (rank begins, then rank ends). */
MT_MUST_USE static mt_status *pad_plan(const mt_op_ctx *ctx, int64_t *pads, mt_pad_mode *mode) {
  const mt_tensor *x = ctx->inputs[0];
  int r = x->rank;
  const char *m = mt_node_attr_string(ctx->node, "mode", "constant");
  if (!pad_mode_parse(m, mode)) return MT_ERR(INVALID_ARGUMENT, "unknown mode '%s'", m);
  int64_t raw[2 * MT_MAX_RANK];
  int n;
  if (ctx->opset < 11) {
    const int64_t *a;
    int64_t c = mt_node_attr_ints(ctx->node, "pads", &a);
    if (c < 0) return MT_ERR(INVALID_ARGUMENT, "missing attribute 'pads'");
    if (c != 2 * r)
      return MT_ERR(INVALID_ARGUMENT, "pads has %lld entries for rank %d", (long long)c, r);
    memcpy(pads, a, (size_t)c * sizeof *pads);
    return NULL;
  }
  const mt_tensor *p = mt_op_input(ctx, 1);
  if (!p) return MT_ERR(INVALID_ARGUMENT, "missing input 1 (pads)");
  MT_RETURN_IF_ERROR(mt_read_int_list(p, raw, 2 * MT_MAX_RANK, &n), "input 1 (pads)");
  const mt_tensor *at = ctx->opset >= 18 ? mt_op_input(ctx, 3) : NULL;
  int64_t axes[MT_MAX_RANK];
  int na = r;
  if (at) {
    MT_RETURN_IF_ERROR(mt_read_int_list(at, axes, MT_MAX_RANK, &na), "input 3 (axes)");
    MT_RETURN_IF_ERROR_PLAIN(mt_shape_axes_normalize(axes, na, r, "axes"));
  } else {
    for (int i = 0; i < r; i++) axes[i] = i;
  }
  if (n != 2 * na) return MT_ERR(INVALID_ARGUMENT, "pads has %d entries for %d axes", n, na);
  for (int i = 0; i < 2 * r; i++) pads[i] = 0;
  for (int k = 0; k < na; k++) {
    pads[axes[k]] = raw[k];
    pads[r + axes[k]] = raw[na + k];
  }
  return NULL;
}

mt_status *mt_shape_pad_infer(mt_op_ctx *ctx) {
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_inputs_check(ctx));
  const mt_tensor *x = ctx->inputs[0];
  int64_t pads[2 * MT_MAX_RANK], out[MT_MAX_RANK];
  mt_pad_mode mode;
  MT_RETURN_IF_ERROR_PLAIN(pad_plan(ctx, pads, &mode));
  for (int i = 0; i < x->rank; i++) {
    int64_t b = pads[i], e = pads[x->rank + i], d = x->dims[i];
    if (d < 0) {
      out[i] = -1;
      continue;
    }
    int64_t kept; /* what cropping (negative pads) leaves of the dim */
    if (__builtin_add_overflow(d, b < 0 ? b : 0, &kept) ||
        __builtin_add_overflow(kept, e < 0 ? e : 0, &kept) || kept < 0)
      return MT_ERR(INVALID_ARGUMENT, "pads (%lld, %lld) crop more than dim %d of size %lld",
                    (long long)b, (long long)e, i, (long long)d);
    if (__builtin_add_overflow(d, b, &out[i]) || __builtin_add_overflow(out[i], e, &out[i]))
      return MT_ERR(OUT_OF_RANGE, "padded dim %d overflows int64", i);
    if (mode != MT_PAD_CONSTANT && kept == 0 && out[i] > 0)
      return MT_ERR(INVALID_ARGUMENT, "cannot pad empty dim %d in mode '%s'", i,
                    mt_node_attr_string(ctx->node, "mode", "constant"));
  }
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_dims_check(x->rank, out, x->dtype));
  mt_op_set_output(ctx, 0, x->dtype, x->rank, out);
  return NULL;
}

mt_status *mt_shape_pad_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  const mt_tensor *x = ctx->inputs[0];
  size_t es;
  MT_RETURN_IF_ERROR_PLAIN(mt_shape_elem_size(x, &es));
  mt_kc_pad *p = &out_call->params.pad;
  out_call->kind = MT_KERNEL_PAD;
  MT_RETURN_IF_ERROR_PLAIN(pad_plan(ctx, p->pads, &p->mode));
  /* The fill element in the data's dtype: the 'value' attribute before opset 11, the optional
   * constant_value input after (absent or empty means 0; its value is read when executing). */
  if (ctx->opset < 11) {
    mt_tensor one = {.dtype = x->dtype, .rank = 0, .data = p->fill};
    mt_tensor_set_f64(&one, 0, mt_node_attr_float(ctx->node, "value", 0.0f));
  } else {
    const mt_tensor *cv = mt_op_input(ctx, 2);
    if (cv && mt_tensor_numel(cv) > 0) {
      if (cv->dtype != x->dtype)
        return MT_ERR(INVALID_ARGUMENT, "input 2: constant_value dtype %s differs from data's %s",
                      mt_dtype_name(cv->dtype), mt_dtype_name(x->dtype));
      p->fill_from_input = true;
    }
  }
  return NULL;
}
