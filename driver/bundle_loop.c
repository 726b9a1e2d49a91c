/* Loop and Scan nodes in the .mtbundle writer (runtime/bundle/mtbundle.proto, LoopBody): the
 * body's nodes go to Manifest.branch_nodes like an If branch (mt_bw_branch), the body's graph
 * inputs and every value inside it get scratch bytes of their own sized by the shapes inference
 * recorded for the body (one evaluation on the first iteration's shapes), so every iteration runs
 * on the same buffers. What the runtime cannot hold in static buffers is refused here, by node:
 * a body value of unknown shape, sequence or optional values, a Loop that nothing bounds.
 * Must not know about the GPU plan. */
#include <string.h>

#include "driver/bundle_writer.h"
#include "ir/op.h"

/* Iterations a Loop without M and without scan outputs may run while its condition stays true
 * (the reference executor's cap, ir/ops/loop.c): past it the run is an error, not a hang. */
#define MT_BUNDLE_LOOP_MAX_UNBOUNDED ((int64_t)1 << 20)

MT_MUST_USE static mt_status *static_value(const mt_module *m, mt_value_id v, const char *what) {
  if (v == MT_NO_VALUE) return NULL;
  const mt_value *val = mt_module_value_c(m, v);
  if (mt_dtype_is_container(val->dtype))
    return MT_ERR(UNIMPLEMENTED,
                  "%s '%s' is a %s: sequence and optional values have data-dependent sizes and "
                  "are not in bundles yet (run it with `mtcc run --reference`)",
                  what, val->name, mt_dtype_name(val->dtype));
  bool known = val->rank >= 0 && val->dtype != MT_DTYPE_UNDEFINED;
  for (int d = 0; known && d < val->rank; d++) known = val->dims[d] >= 0;
  if (!known)
    return MT_ERR(UNIMPLEMENTED,
                  "%s '%s' has a shape that depends on data (an iteration's values): the body's "
                  "buffers are sized at compile time",
                  what, val->name);
  return NULL;
}

/* Every value the body (and bodies nested in it) defines has a static shape. */
MT_MUST_USE static mt_status *static_body(const mt_module *m, const mt_graph *g) {
  for (int i = 0; i < g->n_inputs; i++)
    MT_RETURN_IF_ERROR_PLAIN(static_value(m, g->inputs[i], "body input"));
  for (int i = 0; i < g->n_outputs; i++)
    MT_RETURN_IF_ERROR_PLAIN(static_value(m, g->outputs[i], "body output"));
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    for (int o = 0; o < n->n_outputs; o++)
      MT_RETURN_IF_ERROR(static_value(m, n->outputs[o], "value"), "body node '%s'", n->name);
  }
  return NULL;
}

MT_MUST_USE static mt_status *refs(writer *w, const mt_value_id *v, int n, const char *what,
                                   Mtbundle__BufferRef ***out) {
  Mtbundle__BufferRef **r;
  WARRAY(w, r, n);
  for (int i = 0; i < n; i++) MT_RETURN_IF_ERROR(mt_bw_ref(w, v[i], &r[i]), "%s %d", what, i);
  *out = r;
  return NULL;
}

MT_MUST_USE static mt_status *ints(writer *w, const int64_t *v, int n, int64_t **out) {
  WARRAY(w, *out, n);
  if (n) memcpy(*out, v, sizeof *v * (size_t)n);
  return NULL;
}

MT_MUST_USE static mt_status *flags(writer *w, const int64_t *v, int n, protobuf_c_boolean **out) {
  WARRAY(w, *out, n);
  for (int i = 0; i < n; i++) (*out)[i] = v[i] != 0;
  return NULL;
}

MT_MUST_USE static mt_status *loop_fields(writer *w, const mt_node *n, const mt_graph *g,
                                          Mtbundle__LoopBody *lb) {
  if (n->n_inputs < 2)
    return MT_ERR(INVALID_ARGUMENT, "Loop has %d inputs; M and cond come first", n->n_inputs);
  int n_carried = n->n_inputs - 2, n_scan = n->n_outputs - n_carried;
  if (n_scan < 0 || g->n_inputs != n->n_inputs || g->n_outputs != 1 + n->n_outputs)
    return MT_ERR(INVALID_ARGUMENT, "the body's inputs and outputs do not match the node's");
  if (n->inputs[0] == MT_NO_VALUE && n->inputs[1] == MT_NO_VALUE)
    return MT_ERR(UNIMPLEMENTED, "neither M nor cond is given: the loop never ends");
  lb->max_trips = MT_BUNDLE_LOOP_MAX_UNBOUNDED;
  if (n_scan > 0) {
    /* inference gave the scan outputs a leading dim only when the trip count is M, known */
    mt_value_id v = n->outputs[n_carried];
    for (int k = 0; v == MT_NO_VALUE && k < n_scan; k++) v = n->outputs[n_carried + k];
    const mt_value *val = v == MT_NO_VALUE ? NULL : mt_module_value_c(w->m, v);
    if (val && (val->rank < 1 || val->dims[0] < 0))
      return MT_ERR(UNIMPLEMENTED,
                    "trip count not bounded at compile time: scan output '%s' needs a static "
                    "leading dim",
                    val->name);
    if (val) lb->max_trips = val->dims[0];
  }
  return NULL;
}

MT_MUST_USE static mt_status *scan_fields(writer *w, const mt_node *n, const mt_graph *g,
                                          Mtbundle__LoopBody *lb) {
  int batched = n->opset < 9 ? 1 : 0;
  int64_t n_in = mt_node_attr_int(n, "num_scan_inputs", -1);
  int n_ops = n->n_inputs - batched;
  if (n_in < 1 || n_in > n_ops)
    return MT_ERR(INVALID_ARGUMENT, "num_scan_inputs %lld out of range", (long long)n_in);
  int n_state = n_ops - (int)n_in, n_out = n->n_outputs - n_state;
  if (n_out < 0 || g->n_inputs != n_ops || g->n_outputs != n->n_outputs)
    return MT_ERR(INVALID_ARGUMENT, "the body's inputs and outputs do not match the node's");
  int64_t *in_axes, *in_rev, *out_axes, *out_rev;
  WARRAY(w, in_axes, n_in);
  WARRAY(w, in_rev, n_in);
  WARRAY(w, out_axes, n_out);
  WARRAY(w, out_rev, n_out);
  MT_RETURN_IF_ERROR_PLAIN(mt_scan_attrs(n, (int)n_in, n_out, in_axes, in_rev, out_axes, out_rev));
  /* axes normalized against the operands' ranks without the batch axis */
  for (int j = 0; j < n_in; j++) {
    const mt_value *v = mt_module_value_c(w->m, n->inputs[batched + n_state + j]);
    int a;
    MT_RETURN_IF_ERROR(mt_normalize_axis(in_axes[j], v->rank - batched, &a), "scan input %d", j);
    in_axes[j] = a;
  }
  for (int k = 0; k < n_out; k++) {
    const mt_value *v = mt_module_value_c(w->m, g->outputs[n_state + k]);
    int a;
    MT_RETURN_IF_ERROR(mt_normalize_axis(out_axes[k], v->rank + 1, &a), "scan output %d", k);
    out_axes[k] = a;
  }
  /* sequence_lens: the runtime accepts only full lengths, as the reference executor does */
  lb->batched = batched != 0;
  lb->n_scan_input_axes = lb->n_scan_input_reverse = (size_t)n_in;
  lb->n_scan_output_axes = lb->n_scan_output_reverse = (size_t)n_out;
  MT_RETURN_IF_ERROR_PLAIN(ints(w, in_axes, (int)n_in, &lb->scan_input_axes));
  MT_RETURN_IF_ERROR_PLAIN(ints(w, out_axes, n_out, &lb->scan_output_axes));
  MT_RETURN_IF_ERROR_PLAIN(flags(w, in_rev, (int)n_in, &lb->scan_input_reverse));
  return flags(w, out_rev, n_out, &lb->scan_output_reverse);
}

mt_status *mt_bw_loop(writer *w, const mt_node *n, Mtbundle__Node *bn) {
  const mt_attr *a = mt_node_attr(n, "body");
  if (!a || a->type != MT_ATTR_GRAPH || !a->graph)
    return MT_ERR(INVALID_ARGUMENT, "missing graph attribute body");
  const mt_graph *g = a->graph;
  bool scan = strcmp(n->op_type, "Scan") == 0;
  for (int i = 0; i < n->n_inputs; i++)
    MT_RETURN_IF_ERROR(static_value(w->m, n->inputs[i], "input"), "input %d", i);
  for (int i = 0; i < n->n_outputs; i++)
    MT_RETURN_IF_ERROR(static_value(w->m, n->outputs[i], "output"), "output %d", i);
  MT_RETURN_IF_ERROR_PLAIN(static_body(w->m, g));
  Mtbundle__LoopBody *lb;
  WNEW(w, lb, mtbundle__loop_body__init);
  lb->scan = scan;
  MT_RETURN_IF_ERROR_PLAIN(scan ? scan_fields(w, n, g, lb) : loop_fields(w, n, g, lb));
  MT_RETURN_IF_ERROR_PLAIN(
      mt_bw_branch(w, g, "body", &lb->body_first, &lb->body_count, &lb->body_outputs));
  lb->n_body_outputs = (size_t)g->n_outputs;
  MT_RETURN_IF_ERROR_PLAIN(refs(w, g->inputs, g->n_inputs, "body input", &lb->body_inputs));
  lb->n_body_inputs = (size_t)g->n_inputs;
  bn->kernel_kind = 0;
  bn->n_inputs = (size_t)n->n_inputs;
  bn->n_outputs = (size_t)n->n_outputs;
  MT_RETURN_IF_ERROR_PLAIN(refs(w, n->inputs, n->n_inputs, "input", &bn->inputs));
  MT_RETURN_IF_ERROR_PLAIN(refs(w, n->outputs, n->n_outputs, "output", &bn->outputs));
  bn->loop = lb;
  return NULL;
}
