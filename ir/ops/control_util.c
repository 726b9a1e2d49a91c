/* Axis slicing/concatenation and body evaluation for the container and loop ops (see
 * control_internal.h). Plain byte copies: the ops using them are data movement, never math. */
#include <stdlib.h>
#include <string.h>

#include "ir/ops/control_internal.h"

static void split_at(const mt_tensor *t, int axis, int64_t *outer, size_t *inner_bytes) {
  *outer = mt_shape_numel(axis, t->dims);
  *inner_bytes =
      (size_t)mt_shape_numel(t->rank - axis - 1, t->dims + axis + 1) * mt_dtype_size(t->dtype);
}

mt_status *mt_ctl_slice_axis(const mt_tensor *t, int axis, int64_t start, int64_t len,
                             bool drop_axis, mt_tensor *out) {
  if (axis < 0 || axis >= t->rank || start < 0 || len < 0 || start + len > t->dims[axis] ||
      (drop_axis && len != 1))
    return MT_ERR(INTERNAL, "slice [%lld, +%lld) of axis %d out of range", (long long)start,
                  (long long)len, axis);
  int64_t outer;
  size_t inner;
  split_at(t, axis, &outer, &inner);
  *out = *t;
  out->dims[axis] = len;
  size_t bytes = mt_tensor_nbytes(out);
  if (drop_axis) {
    for (int d = axis; d + 1 < t->rank; d++) out->dims[d] = t->dims[d + 1];
    out->rank--;
  }
  out->data = malloc(bytes ? bytes : 1);
  if (!out->data) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  const char *src = t->data;
  char *dst = out->data;
  for (int64_t o = 0; o < outer; o++)
    memcpy(dst + (size_t)o * (size_t)len * inner,
           src + ((size_t)o * (size_t)t->dims[axis] + (size_t)start) * inner, (size_t)len * inner);
  return NULL;
}

mt_status *mt_ctl_concat(const mt_tensor *parts, int64_t n, int axis, bool new_axis,
                         mt_tensor *out) {
  const mt_tensor *p0 = &parts[0];
  int rank = p0->rank + (new_axis ? 1 : 0);
  if (axis < 0 || axis >= rank || rank > MT_MAX_RANK)
    return MT_ERR(INVALID_ARGUMENT, "axis %d out of range for rank %d", axis, rank);
  int64_t total = 0;
  for (int64_t k = 0; k < n; k++) {
    const mt_tensor *p = &parts[k];
    if (p->dtype != p0->dtype || p->rank != p0->rank)
      return MT_ERR(INVALID_ARGUMENT, "element %lld is %s rank %d, element 0 %s rank %d",
                    (long long)k, mt_dtype_name(p->dtype), p->rank, mt_dtype_name(p0->dtype),
                    p0->rank);
    for (int d = 0; d < p->rank; d++)
      if (p->dims[d] != p0->dims[d] && (new_axis || d != axis))
        return MT_ERR(INVALID_ARGUMENT, "element %lld dim %d is %lld, element 0 has %lld",
                      (long long)k, d, (long long)p->dims[d], (long long)p0->dims[d]);
    total += new_axis ? 1 : p->dims[axis];
  }
  memset(out, 0, sizeof *out);
  out->dtype = p0->dtype;
  out->rank = rank;
  for (int d = 0, s = 0; d < rank; d++) {
    if (d != axis) {
      out->dims[d] = p0->dims[s++];
    } else {
      out->dims[d] = total;
      s += new_axis ? 0 : 1;
    }
  }
  size_t bytes = mt_tensor_nbytes(out);
  out->data = malloc(bytes ? bytes : 1);
  if (!out->data) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  int64_t outer;
  size_t inner;
  split_at(out, axis, &outer, &inner);
  char *dst = out->data;
  size_t row = (size_t)total * inner, at = 0;
  for (int64_t k = 0; k < n; k++) {
    int64_t len = new_axis ? 1 : parts[k].dims[axis];
    const char *src = parts[k].data;
    for (int64_t o = 0; o < outer; o++)
      memcpy(dst + (size_t)o * row + at, src + (size_t)o * (size_t)len * inner,
             (size_t)len * inner);
    at += (size_t)len * inner;
  }
  return NULL;
}

void mt_ctl_free_tensors(mt_tensor *t, int64_t n) {
  for (int64_t i = 0; t && i < n; i++) free(t[i].data);
  free(t);
}

mt_status *mt_ctl_body(const mt_op_ctx *c, const char *name, const mt_graph **out) {
  const mt_attr *a = mt_node_attr(c->node, name);
  if (!a || a->type != MT_ATTR_GRAPH || !a->graph)
    return MT_ERR(INVALID_ARGUMENT, "missing graph attribute %s", name);
  if (!c->eval_body) return MT_ERR(INTERNAL, "no subgraph evaluator");
  *out = a->graph;
  return NULL;
}

mt_status *mt_ctl_run_body(mt_op_ctx *c, const mt_graph *g, const mt_tensor *inputs,
                           mt_tensor **out) {
  mt_tensor *t = calloc((size_t)g->n_outputs + 1, sizeof *t);
  if (!t) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = c->eval_body(c, g, inputs, t);
  if (st) {
    free(t);
    return mt_status_annotate(st, "body");
  }
  *out = t;
  return NULL;
}

void mt_ctl_set_output(mt_op_ctx *c, int i, mt_tensor *t) {
  if (mt_op_has_output(c, i)) {
    c->outputs[i] = *t;
  } else {
    free(t->data);
  }
  t->data = NULL;
}

const char *mt_node_control_flow_reason(const mt_module *m, const mt_node *n) {
  if (strcmp(n->op_type, "Loop") == 0 || strcmp(n->op_type, "Scan") == 0)
    return "Loop/Scan have no GPU code: on the GPU they are to become CUDA Graph conditional "
           "WHILE nodes (the GPU runtime's job, not done yet); a bundle runs their body on "
           "libmtrt's CPU path, so a GPU session refuses it (--device auto runs it on the CPU)";
  if (mt_node_has_traits(n, MT_TRAIT_CONTROL_FLOW))
    return "control flow (a body subgraph) has no kernel: it awaits CUDA Graph "
           "conditional nodes in the GPU runtime";
  for (int i = 0; i < n->n_inputs + n->n_outputs; i++) {
    mt_value_id v = i < n->n_inputs ? n->inputs[i] : n->outputs[i - n->n_inputs];
    if (v != MT_NO_VALUE && mt_dtype_is_container(mt_module_value_c(m, v)->dtype))
      return "sequence/optional values have data-dependent sizes and no device layout: no "
             "kernel is generated";
  }
  return NULL;
}
