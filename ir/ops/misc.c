/* ONNX ops of the misc family: Resize (opsets 10, 11, 13, 18, 19), Upsample (7, 9) and If.
 *
 * Resize forms: opset 10 takes (X, scales) and behaves like Upsample (asymmetric coordinates,
 * nearest rounds down when upscaling and up when downscaling); from 11 the inputs are
 * (X, roi, scales, sizes) with coordinate_transformation_mode, nearest_mode, cubic_coeff_a,
 * exclude_outside and extrapolation_value; 18 adds antialias, axes and keep_aspect_ratio_policy,
 * 19 half_pixel_symmetric. Arithmetic lives in runtime/cpu/resize.c.
 *
 * If evaluates one of its branch subgraphs through the driver (ctx->eval_graph) and hands the
 * branch's output tensors over as its own, so it allocates its outputs itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/op.h"
#include "runtime/cpu/resize.h"

/* ---- Resize / Upsample parameters ---------------------------------------------------------- */

MT_MUST_USE static mt_status *parse_mode(const mt_node *n, mt_resize_mode *out) {
  const char *m = mt_node_attr_string(n, "mode", "nearest");
  if (strcmp(m, "nearest") == 0)
    *out = MT_RESIZE_NEAREST;
  else if (strcmp(m, "linear") == 0 || strcmp(m, "bilinear") == 0)
    *out = MT_RESIZE_LINEAR;
  else if (strcmp(m, "cubic") == 0)
    *out = MT_RESIZE_CUBIC;
  else
    return MT_ERR(INVALID_ARGUMENT, "unknown mode '%s'", m);
  return NULL;
}

MT_MUST_USE static mt_status *parse_coord(const mt_node *n, mt_resize_coord *out) {
  static const struct {
    const char *name;
    mt_resize_coord v;
  } names[] = {
      {"half_pixel", MT_RESIZE_HALF_PIXEL},
      {"half_pixel_symmetric", MT_RESIZE_HALF_PIXEL_SYMMETRIC},
      {"pytorch_half_pixel", MT_RESIZE_PYTORCH_HALF_PIXEL},
      {"align_corners", MT_RESIZE_ALIGN_CORNERS},
      {"asymmetric", MT_RESIZE_ASYMMETRIC},
      {"tf_half_pixel_for_nn", MT_RESIZE_TF_HALF_PIXEL_FOR_NN},
      {"tf_crop_and_resize", MT_RESIZE_TF_CROP_AND_RESIZE},
  };
  const char *m = mt_node_attr_string(n, "coordinate_transformation_mode", "half_pixel");
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(m, names[i].name) == 0) {
      *out = names[i].v;
      return NULL;
    }
  return MT_ERR(INVALID_ARGUMENT, "unknown coordinate_transformation_mode '%s'", m);
}

MT_MUST_USE static mt_status *parse_nearest(const mt_node *n, mt_resize_nearest *out) {
  const char *m = mt_node_attr_string(n, "nearest_mode", "round_prefer_floor");
  if (strcmp(m, "round_prefer_floor") == 0)
    *out = MT_RESIZE_ROUND_PREFER_FLOOR;
  else if (strcmp(m, "round_prefer_ceil") == 0)
    *out = MT_RESIZE_ROUND_PREFER_CEIL;
  else if (strcmp(m, "floor") == 0)
    *out = MT_RESIZE_FLOOR;
  else if (strcmp(m, "ceil") == 0)
    *out = MT_RESIZE_CEIL;
  else
    return MT_ERR(INVALID_ARGUMENT, "unknown nearest_mode '%s'", m);
  return NULL;
}

static bool has_values(const mt_tensor *t) { return t && mt_tensor_numel(t) > 0; }

/* Reads a float list (float32/float16) of exactly `want` entries. */
MT_MUST_USE static mt_status *read_floats(const mt_tensor *t, const char *what, int want,
                                          double *out) {
  if (!mt_dtype_is_float(t->dtype))
    return MT_ERR(INVALID_ARGUMENT, "%s: expected float values, got %s", what,
                  mt_dtype_name(t->dtype));
  if (t->rank > 1) return MT_ERR(INVALID_ARGUMENT, "%s: expected a 1-D list", what);
  int64_t n = mt_tensor_numel(t);
  if (n != want)
    return MT_ERR(INVALID_ARGUMENT, "%s: expected %d values, got %lld", what, want, (long long)n);
  for (int i = 0; i < want; i++) out[i] = mt_tensor_get_f64(t, i);
  return NULL;
}

/* Output dims from per-axis scales: floor(input * scale), computed in double. */
MT_MUST_USE static mt_status *dims_from_scales(mt_resize_params *p, const double *scales) {
  for (int i = 0; i < p->n_axes; i++) {
    int a = p->axes[i];
    double s = scales[i];
    if (!(s > 0) || !isfinite(s))
      return MT_ERR(INVALID_ARGUMENT, "scale %g for axis %d must be positive", s, a);
    p->scales[a] = s;
    if (p->in_dims[a] < 0) {
      p->out_dims[a] = -1;
      continue;
    }
    double o = floor(s * (double)p->in_dims[a]);
    if (o > 1e15) return MT_ERR(OUT_OF_RANGE, "axis %d: output size %g too large", a, o);
    p->out_dims[a] = (int64_t)o;
  }
  return NULL;
}

MT_MUST_USE static mt_status *dims_from_sizes(const mt_op_ctx *c, mt_resize_params *p,
                                              const mt_tensor *t) {
  int64_t sizes[MT_MAX_RANK];
  int n = 0;
  MT_RETURN_IF_ERROR(mt_read_int_list(t, sizes, MT_MAX_RANK, &n), "input 3 (sizes)");
  if (n != p->n_axes)
    return MT_ERR(INVALID_ARGUMENT, "input 3 (sizes): expected %d values, got %d", p->n_axes, n);
  for (int i = 0; i < n; i++)
    if (sizes[i] < 0)
      return MT_ERR(INVALID_ARGUMENT, "input 3 (sizes): negative size %lld", (long long)sizes[i]);
  const char *policy = c->opset >= 18
                           ? mt_node_attr_string(c->node, "keep_aspect_ratio_policy", "stretch")
                           : "stretch";
  bool stretch = strcmp(policy, "stretch") == 0;
  bool not_larger = strcmp(policy, "not_larger") == 0;
  if (!stretch && !not_larger && strcmp(policy, "not_smaller") != 0)
    return MT_ERR(INVALID_ARGUMENT, "unknown keep_aspect_ratio_policy '%s'", policy);
  bool unknown = false;
  for (int i = 0; i < n; i++) {
    int a = p->axes[i];
    if (p->in_dims[a] < 0) {
      unknown = true;
      continue;
    }
    if (p->in_dims[a] == 0) {
      if (sizes[i] != 0 && stretch)
        return MT_ERR(INVALID_ARGUMENT, "axis %d: cannot resize an empty axis to %lld", a,
                      (long long)sizes[i]);
      p->scales[a] = 1;
      continue;
    }
    p->scales[a] = (double)sizes[i] / (double)p->in_dims[a];
  }
  if (stretch) {
    for (int i = 0; i < n; i++) p->out_dims[p->axes[i]] = sizes[i];
    return NULL;
  }
  if (unknown) {
    for (int i = 0; i < n; i++) p->out_dims[p->axes[i]] = -1;
    return NULL;
  }
  /* One scale for every resized axis: the smallest (not_larger) or largest (not_smaller). */
  double s = p->scales[p->axes[0]];
  for (int i = 1; i < n; i++) {
    double v = p->scales[p->axes[i]];
    s = not_larger ? fmin(s, v) : fmax(s, v);
  }
  for (int i = 0; i < n; i++) {
    int a = p->axes[i];
    p->scales[a] = s;
    p->out_dims[a] = (int64_t)(s * (double)p->in_dims[a] + 0.5); /* round half up */
  }
  return NULL;
}

/* Parses a Resize or Upsample node against its inputs. *known is false when the output size
 * depends on a value not known yet (static inference): out_dims then hold -1 on resized axes. */
MT_MUST_USE static mt_status *resize_params(const mt_op_ctx *c, mt_resize_params *p, bool *known) {
  const mt_node *n = c->node;
  const mt_tensor *x = mt_op_input(c, 0);
  bool upsample = strcmp(n->op_type, "Upsample") == 0;
  bool legacy = upsample || c->opset < 11; /* Upsample and Resize-10 */
  memset(p, 0, sizeof *p);
  *known = true;
  if (x->rank < 1) return MT_ERR(INVALID_ARGUMENT, "input 0: expected rank >= 1, got 0");
  /* resize.c loads and stores the float and core integer types (not int16, uint16/32/64) */
  if (!mt_dtype_is_float(x->dtype) && !mt_dtype_is_integer(x->dtype) && x->dtype != MT_DTYPE_BOOL)
    return MT_ERR(UNIMPLEMENTED, "%s on %s input", n->op_type, mt_dtype_name(x->dtype));
  p->rank = x->rank;
  for (int d = 0; d < x->rank; d++) {
    p->in_dims[d] = p->out_dims[d] = x->dims[d];
    p->scales[d] = 1;
    p->roi[d] = 0;
    p->roi[x->rank + d] = 1;
  }
  MT_RETURN_IF_ERROR_PLAIN(parse_mode(n, &p->mode));
  p->cubic_a = -0.75;
  p->n_axes = x->rank;
  for (int d = 0; d < x->rank; d++) p->axes[d] = d;

  if (legacy) {
    if (p->mode == MT_RESIZE_CUBIC)
      return MT_ERR(INVALID_ARGUMENT, "mode 'cubic' needs Resize from opset 11");
    p->coord = MT_RESIZE_ASYMMETRIC;
    p->nearest = MT_RESIZE_SIMPLE;
    double scales[MT_MAX_RANK];
    if (upsample && c->opset < 9) {
      const float *f = NULL;
      int64_t cnt = mt_node_attr_floats(n, "scales", &f);
      if (cnt != x->rank)
        return MT_ERR(INVALID_ARGUMENT, "attribute scales: expected %d values, got %lld", x->rank,
                      (long long)cnt);
      for (int d = 0; d < x->rank; d++) scales[d] = f[d];
    } else {
      const mt_tensor *s = mt_op_input(c, 1);
      if (!s) return MT_ERR(INVALID_ARGUMENT, "missing input 1 (scales)");
      if (!s->data) {
        for (int d = 0; d < x->rank; d++) p->out_dims[d] = -1;
        *known = false;
        return NULL;
      }
      MT_RETURN_IF_ERROR_PLAIN(read_floats(s, "input 1 (scales)", x->rank, scales));
    }
    return dims_from_scales(p, scales);
  }

  MT_RETURN_IF_ERROR_PLAIN(parse_coord(n, &p->coord));
  MT_RETURN_IF_ERROR_PLAIN(parse_nearest(n, &p->nearest));
  p->cubic_a = mt_node_attr_float(n, "cubic_coeff_a", -0.75f);
  p->exclude_outside = mt_node_attr_int(n, "exclude_outside", 0) != 0;
  p->extrapolation_value = mt_node_attr_float(n, "extrapolation_value", 0.0f);
  if (c->opset >= 18) {
    p->antialias = mt_node_attr_int(n, "antialias", 0) != 0 && p->mode != MT_RESIZE_NEAREST;
    const int64_t *ax = NULL;
    int64_t cnt = mt_node_attr_ints(n, "axes", &ax);
    if (cnt > x->rank)
      return MT_ERR(INVALID_ARGUMENT, "attribute axes: %lld entries for rank %d", (long long)cnt,
                    x->rank);
    if (cnt > 0) {
      uint32_t seen = 0;
      p->n_axes = (int)cnt;
      for (int i = 0; i < (int)cnt; i++) {
        MT_RETURN_IF_ERROR(mt_normalize_axis(ax[i], x->rank, &p->axes[i]), "attribute axes");
        if (seen & (1u << p->axes[i]))
          return MT_ERR(INVALID_ARGUMENT, "attribute axes: axis %d repeated", p->axes[i]);
        seen |= 1u << p->axes[i];
      }
    }
  }

  /* roi: only tf_crop_and_resize reads it; its values may be unknown during inference. */
  const mt_tensor *roi = mt_op_input(c, 1);
  if (p->coord == MT_RESIZE_TF_CROP_AND_RESIZE) {
    if (!has_values(roi)) return MT_ERR(INVALID_ARGUMENT, "tf_crop_and_resize needs input 1 (roi)");
    if (roi->data) {
      double v[2 * MT_MAX_RANK];
      MT_RETURN_IF_ERROR_PLAIN(read_floats(roi, "input 1 (roi)", 2 * p->n_axes, v));
      for (int i = 0; i < p->n_axes; i++) {
        p->roi[p->axes[i]] = v[i];
        p->roi[x->rank + p->axes[i]] = v[p->n_axes + i];
      }
    }
  }

  const mt_tensor *scales = mt_op_input(c, 2);
  const mt_tensor *sizes = mt_op_input(c, 3);
  if (has_values(scales) && has_values(sizes))
    return MT_ERR(INVALID_ARGUMENT, "only one of scales and sizes may be given");
  if (has_values(sizes)) {
    if (!sizes->data) {
      for (int i = 0; i < p->n_axes; i++) p->out_dims[p->axes[i]] = -1;
      *known = false;
      return NULL;
    }
    return dims_from_sizes(c, p, sizes);
  }
  if (has_values(scales)) {
    if (!scales->data) {
      for (int i = 0; i < p->n_axes; i++) p->out_dims[p->axes[i]] = -1;
      *known = false;
      return NULL;
    }
    double s[MT_MAX_RANK];
    MT_RETURN_IF_ERROR_PLAIN(read_floats(scales, "input 2 (scales)", p->n_axes, s));
    return dims_from_scales(p, s);
  }
  return MT_ERR(INVALID_ARGUMENT, "one of scales and sizes must be given");
}

MT_MUST_USE static mt_status *resize_infer(mt_op_ctx *c) {
  mt_resize_params p;
  bool known;
  MT_RETURN_IF_ERROR_PLAIN(resize_params(c, &p, &known));
  mt_op_set_output(c, 0, mt_op_input(c, 0)->dtype, p.rank, p.out_dims);
  return NULL;
}

MT_MUST_USE static mt_status *resize_lower(const mt_op_ctx *c, mt_kernel_call *call) {
  bool known;
  call->kind = MT_KERNEL_RESIZE;
  MT_RETURN_IF_ERROR_PLAIN(resize_params(c, &call->params.resize, &known));
  if (!known) return MT_ERR(INTERNAL, "resize sizes unknown while executing");
  /* resize_params keeps the default roi while inference runs without its values; a kernel call
   * built from that default would crop the wrong region */
  const mt_tensor *roi = mt_op_input(c, 1);
  if (call->params.resize.coord == MT_RESIZE_TF_CROP_AND_RESIZE && roi && !roi->data)
    return MT_ERR(UNIMPLEMENTED, "tf_crop_and_resize: input 1 (roi) is computed at run time; a "
                                 "kernel call needs its values ahead of time");
  return NULL;
}

/* ---- If ------------------------------------------------------------------------------------ */

static void free_tensors(mt_tensor *t, int n) {
  for (int i = 0; i < n; i++) {
    free(t[i].data);
    t[i].data = NULL;
  }
}

MT_MUST_USE static mt_status *if_branch(const mt_op_ctx *c, bool cond, const mt_graph **out) {
  const char *name = cond ? "then_branch" : "else_branch";
  const mt_attr *a = mt_node_attr(c->node, name);
  if (!a || a->type != MT_ATTR_GRAPH || !a->graph)
    return MT_ERR(INVALID_ARGUMENT, "missing graph attribute %s", name);
  if (a->graph->n_outputs != c->n_outputs)
    return MT_ERR(INVALID_ARGUMENT, "%s has %d outputs, the node %d", name, a->graph->n_outputs,
                  c->n_outputs);
  if (!c->eval_graph) return MT_ERR(INTERNAL, "no subgraph evaluator");
  *out = a->graph;
  return NULL;
}

/* Evaluates one branch into a fresh array of tensors (caller frees array and data). */
MT_MUST_USE static mt_status *if_eval(mt_op_ctx *c, bool cond, mt_tensor **out) {
  const mt_graph *g = NULL;
  MT_RETURN_IF_ERROR_PLAIN(if_branch(c, cond, &g));
  mt_tensor *t = calloc((size_t)(g->n_outputs > 0 ? g->n_outputs : 1), sizeof *t);
  if (!t) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = c->eval_graph(c, g, t);
  if (st) {
    free_tensors(t, g->n_outputs);
    free(t);
    return mt_status_annotate(st, "%s", cond ? "then_branch" : "else_branch");
  }
  *out = t;
  return NULL;
}

MT_MUST_USE static mt_status *if_cond(const mt_op_ctx *c, bool *known, bool *value) {
  const mt_tensor *t = mt_op_input(c, 0);
  *known = false;
  if (t->rank >= 0 && mt_tensor_numel(t) != 1) {
    bool any_unknown = false;
    for (int d = 0; d < t->rank; d++) any_unknown |= t->dims[d] < 0;
    if (!any_unknown)
      return MT_ERR(INVALID_ARGUMENT, "input 0 (cond): expected one element, got %lld",
                    (long long)mt_tensor_numel(t));
  }
  if (!t->data) return NULL;
  *known = true;
  *value = mt_tensor_get_f64(t, 0) != 0;
  return NULL;
}

/* The two branches must agree on their outputs whichever runs: the same count (if_branch), and
 * the same dtypes where both declare them. Checked statically, so that a cond known while inferring
 * (only one branch is evaluated) cannot hide a branch whose outputs differ. */
MT_MUST_USE static mt_status *if_branches_agree(const mt_op_ctx *c) {
  const mt_graph *then_g, *else_g;
  MT_RETURN_IF_ERROR_PLAIN(if_branch(c, true, &then_g));
  MT_RETURN_IF_ERROR_PLAIN(if_branch(c, false, &else_g));
  for (int i = 0; then_g->declared_outputs && else_g->declared_outputs && i < c->n_outputs; i++) {
    mt_dtype a = then_g->declared_outputs[i].dtype, b = else_g->declared_outputs[i].dtype;
    if (a != MT_DTYPE_UNDEFINED && b != MT_DTYPE_UNDEFINED && a != b)
      return MT_ERR(INVALID_ARGUMENT,
                    "output %d: then_branch declares %s, else_branch %s (both branches must "
                    "produce the same dtypes)",
                    i, mt_dtype_name(a), mt_dtype_name(b));
  }
  return NULL;
}

/* The evaluated branch's outputs against the types it declares. */
MT_MUST_USE static mt_status *if_check_declared(const mt_op_ctx *c, bool cond,
                                                const mt_tensor *outs) {
  const mt_graph *g;
  MT_RETURN_IF_ERROR_PLAIN(if_branch(c, cond, &g));
  return mt_graph_check_declared_outputs(c->module, g, outs, cond ? "then_branch" : "else_branch");
}

MT_MUST_USE static mt_status *if_infer(mt_op_ctx *c) {
  bool known, value = false;
  MT_RETURN_IF_ERROR_PLAIN(if_cond(c, &known, &value));
  MT_RETURN_IF_ERROR_PLAIN(if_branches_agree(c));
  int n = c->n_outputs;
  if (known) {
    mt_tensor *t;
    MT_RETURN_IF_ERROR_PLAIN(if_eval(c, value, &t));
    mt_status *dst = if_check_declared(c, value, t);
    if (dst) {
      free_tensors(t, n);
      free(t);
      return dst;
    }
    for (int i = 0; i < n; i++) mt_op_set_output(c, i, t[i].dtype, t[i].rank, t[i].dims);
    free_tensors(t, n);
    free(t);
    return NULL;
  }
  mt_tensor *a, *b;
  MT_RETURN_IF_ERROR_PLAIN(if_eval(c, true, &a));
  mt_status *st = if_check_declared(c, true, a);
  if (!st) st = if_eval(c, false, &b);
  if (!st) {
    st = if_check_declared(c, false, b);
    if (st) {
      free_tensors(b, n);
      free(b);
    }
  }
  if (st) {
    free_tensors(a, n);
    free(a);
    return st;
  }
  for (int i = 0; i < n && !st; i++) {
    if (a[i].dtype != b[i].dtype) {
      st = MT_ERR(INVALID_ARGUMENT, "output %d: branches disagree on dtype (%s vs %s)", i,
                  mt_dtype_name(a[i].dtype), mt_dtype_name(b[i].dtype));
    } else if (a[i].rank != b[i].rank) {
      st = MT_ERR(UNIMPLEMENTED, "output %d: branches disagree on rank (%d vs %d)", i, a[i].rank,
                  b[i].rank);
    } else {
      int64_t dims[MT_MAX_RANK];
      for (int d = 0; d < a[i].rank; d++)
        dims[d] = a[i].dims[d] == b[i].dims[d] ? a[i].dims[d] : -1;
      mt_op_set_output(c, i, a[i].dtype, a[i].rank, dims);
    }
  }
  free_tensors(a, n);
  free_tensors(b, n);
  free(a);
  free(b);
  return st;
}

MT_MUST_USE static mt_status *if_run(mt_op_ctx *c) {
  bool known, value = false;
  MT_RETURN_IF_ERROR_PLAIN(if_cond(c, &known, &value));
  if (!known) return MT_ERR(INTERNAL, "condition unknown while executing");
  MT_RETURN_IF_ERROR_PLAIN(if_branches_agree(c));
  mt_tensor *t;
  MT_RETURN_IF_ERROR_PLAIN(if_eval(c, value, &t));
  mt_status *dst = if_check_declared(c, value, t);
  if (dst) {
    free_tensors(t, c->n_outputs);
    free(t);
    return dst;
  }
  for (int i = 0; i < c->n_outputs; i++) {
    if (mt_op_has_output(c, i)) {
      c->outputs[i] = t[i]; /* ownership of data moves to the driver */
    } else {
      free(t[i].data);
    }
  }
  free(t);
  return NULL;
}

/* Linear interpolation blends up to four neighbours per output element (nearest copies one). */
static void resize_work(const mt_module *m, const mt_node *n, mt_op_work *w) {
  w->flops = n->n_outputs > 0 ? 4 * mt_value_elems(m, n->outputs[0]) : 0;
}

const mt_op_def mt_ops_misc[] = {
    {.op_type = "Resize",
     .min_inputs = 1,
     .max_inputs = 4,
     .value_inputs = (1u << 2) | (1u << 3),
     .lower_value_inputs = 1u << 1,
     .pattern = MT_PATTERN_INJECTIVE,
     .infer = resize_infer,
     .lower = resize_lower,
     .work = resize_work},
    {.op_type = "Upsample",
     .min_inputs = 1,
     .max_inputs = 2,
     .value_inputs = 1u << 1,
     .pattern = MT_PATTERN_INJECTIVE,
     .infer = resize_infer,
     .lower = resize_lower,
     .work = resize_work},
    {.op_type = "If",
     .min_inputs = 1,
     .max_inputs = 1,
     .flags = MT_OP_ALLOCATES_OUTPUTS,
     .pattern = MT_PATTERN_OPAQUE,
     .traits = MT_TRAIT_CONTROL_FLOW,
     .infer = if_infer,
     .run = if_run},
    {0},
};
