/* Looping control flow: Loop (opsets 1, 11, 13, 16, 19, 21: later versions admit sequence and
 * optional loop-carried values and more element types; the iteration rules are the same) and
 * Scan (8: a leading batch axis, an optional sequence_lens input and one `directions` list;
 * 9 onwards: no batch axis, per-input/per-output axes and directions).
 *
 * The reference executor runs the body subgraph once per iteration (as If runs a branch), with
 * the body's graph inputs bound to the iteration's values. Nothing here lowers to a kernel call:
 * a bundle holds the body's nodes and libmtrt's CPU path iterates them (driver/bundle_loop.c,
 * runtime/bundle/run_loop.c); on the GPU these are the future CUDA Graph conditional WHILE
 * nodes, so codegen refuses them by node (docs/codegen.md). Shape inference evaluates the body once on the
 * initial shapes; a loop-carried dim that the body changes, and a Loop's trip count, are unknown
 * (-1) ahead of time. */
#include <stdlib.h>
#include <string.h>

#include "ir/ops/control_internal.h"

/* Iterations a Loop without a trip count may run while its condition stays true: ONNX allows an
 * endless loop, but on a reference executor it is a hang, not a result, so it is an error. */
#define MT_LOOP_MAX_UNBOUNDED_ITERATIONS ((int64_t)1 << 20)

static mt_tensor scalar_view(mt_dtype dt, void *data) {
  mt_tensor t = {.dtype = dt, .rank = 0, .data = data};
  return t;
}

/* Stacks one scan output's per-iteration values along a new axis (or makes an empty one from
 * the body's declared type when no iteration ran). */
MT_MUST_USE static mt_status *stack_or_empty(const mt_graph *g, int body_out, const mt_tensor *vals,
                                             int64_t n, int axis, mt_tensor *out) {
  if (n > 0 && mt_dtype_is_container(vals[0].dtype))
    return MT_ERR(INVALID_ARGUMENT, "body output %d is a %s; scan outputs stack tensors", body_out,
                  mt_dtype_name(vals[0].dtype));
  if (n > 0) return mt_ctl_concat(vals, n, axis, true, out);
  const mt_declared_type *d = g->declared_outputs ? &g->declared_outputs[body_out] : NULL;
  if (!d || d->dtype == MT_DTYPE_UNDEFINED || d->rank < 0 || d->rank + 1 > MT_MAX_RANK)
    return MT_ERR(UNIMPLEMENTED,
                  "no iteration ran and body output %d declares no type: the "
                  "empty scan output's shape is unknown",
                  body_out);
  memset(out, 0, sizeof *out);
  out->dtype = d->dtype;
  out->rank = d->rank + 1;
  for (int k = 0; k < d->rank; k++) out->dims[k + 1] = d->dims[k] > 0 ? d->dims[k] : 0;
  out->data = malloc(1);
  return out->data ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
}

/* ---- Loop -------------------------------------------------------------------------------- */

MT_MUST_USE static mt_status *loop_check(const mt_op_ctx *c, const mt_graph **g, int *n_carried,
                                         int *n_scan) {
  MT_RETURN_IF_ERROR_PLAIN(mt_ctl_body(c, "body", g));
  if (c->n_inputs < 2)
    return MT_ERR(INVALID_ARGUMENT,
                  "has %d inputs; Loop takes M and cond (either may be \"\") "
                  "before its loop-carried values",
                  c->n_inputs);
  *n_carried = c->n_inputs - 2;
  *n_scan = c->n_outputs - *n_carried;
  if (*n_carried < 0 || *n_scan < 0 || (*g)->n_inputs != *n_carried + 2 ||
      (*g)->n_outputs != 1 + *n_carried + *n_scan)
    return MT_ERR(INVALID_ARGUMENT,
                  "body has %d inputs and %d outputs; with %d loop-carried values and %d scan "
                  "outputs it needs %d and %d",
                  (*g)->n_inputs, (*g)->n_outputs, *n_carried, *n_scan, *n_carried + 2,
                  1 + *n_carried + *n_scan);
  for (int i = 0; i < *n_carried; i++)
    if (!c->inputs[2 + i]) return MT_ERR(INVALID_ARGUMENT, "loop-carried input %d is missing", i);
  const mt_tensor *m = mt_op_input(c, 0), *cond = mt_op_input(c, 1);
  if (m && (m->dtype != MT_DTYPE_INT64 || (m->rank >= 0 && mt_tensor_numel(m) != 1)))
    return MT_ERR(INVALID_ARGUMENT, "input 0 (M) must be one int64");
  if (cond && (cond->dtype != MT_DTYPE_BOOL || (cond->rank >= 0 && mt_tensor_numel(cond) != 1)))
    return MT_ERR(INVALID_ARGUMENT, "input 1 (cond) must be one bool");
  return NULL;
}

MT_MUST_USE static mt_status *loop_run(mt_op_ctx *c) {
  const mt_graph *g;
  int n_carried, n_scan;
  MT_RETURN_IF_ERROR_PLAIN(loop_check(c, &g, &n_carried, &n_scan));
  const mt_tensor *m = mt_op_input(c, 0), *cond_in = mt_op_input(c, 1);
  int64_t trips = m ? mt_tensor_get_i64(m, 0) : MT_LOOP_MAX_UNBOUNDED_ITERATIONS;
  bool cond = cond_in ? mt_tensor_get_i64(cond_in, 0) != 0 : true;
  int64_t iter = 0;
  uint8_t cond_byte = cond;
  mt_tensor *state = calloc((size_t)n_carried + 1, sizeof *state);
  mt_tensor *args = calloc((size_t)n_carried + 3, sizeof *args);
  mt_tensor **scans = calloc((size_t)n_scan + 1, sizeof *scans);
  int64_t cap = 0, n = 0;
  mt_status *st = (!state || !args || !scans) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  if (!st && !m && !cond_in)
    st = MT_ERR(UNIMPLEMENTED, "neither M nor cond is given: the loop never ends");
  for (int i = 0; !st && i < n_carried; i++) st = mt_value_copy(c->inputs[2 + i], &state[i]);
  /* the scan outputs grow every iteration: held to the module's memory budget as they grow,
   * not only once stacked */
  size_t scan_bytes = 0, budget = mt_module_memory_limit(c->module);
  for (; !st && cond && iter < trips; iter++) {
    args[0] = scalar_view(MT_DTYPE_INT64, &iter);
    args[1] = scalar_view(MT_DTYPE_BOOL, &cond_byte);
    for (int i = 0; i < n_carried; i++) args[2 + i] = state[i];
    mt_tensor *outs;
    st = mt_ctl_run_body(c, g, args, &outs);
    if (st) {
      st = mt_status_annotate(st, "iteration %lld", (long long)iter);
      break;
    }
    if (outs[0].dtype != MT_DTYPE_BOOL || mt_tensor_numel(&outs[0]) != 1 || !outs[0].data) {
      mt_ctl_free_tensors(outs, g->n_outputs);
      st = MT_ERR(INVALID_ARGUMENT, "body output 0 (cond) must be one bool");
      break;
    }
    cond = mt_tensor_get_i64(&outs[0], 0) != 0;
    cond_byte = cond;
    free(outs[0].data);
    for (int i = 0; i < n_carried; i++) {
      free(state[i].data);
      state[i] = outs[1 + i];
    }
    if (n == cap) {
      cap = cap ? cap * 2 : 8;
      for (int k = 0; !st && k < n_scan; k++) {
        mt_tensor *grown = realloc(scans[k], sizeof *grown * (size_t)cap);
        if (!grown) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
        if (grown) scans[k] = grown;
      }
    }
    for (int k = 0; k < n_scan; k++) {
      if (st) {
        free(outs[1 + n_carried + k].data);
      } else {
        scans[k][n] = outs[1 + n_carried + k];
        scan_bytes += mt_tensor_nbytes(&scans[k][n]);
      }
    }
    free(outs);
    if (!st) n++;
    if (!st && scan_bytes > budget)
      st = MT_ERR(RESOURCE_EXHAUSTED,
                  "scan outputs reach %zu bytes after %lld iterations, over the memory limit of "
                  "%zu bytes",
                  scan_bytes, (long long)n, budget);
  }
  if (!st && !m && cond && iter >= trips)
    st = MT_ERR(RESOURCE_EXHAUSTED,
                "the condition is still true after %lld iterations and no trip count (M) bounds "
                "the loop: stopped rather than run on",
                (long long)iter);
  for (int i = 0; !st && i < n_carried; i++) mt_ctl_set_output(c, i, &state[i]);
  for (int k = 0; !st && k < n_scan; k++) {
    mt_tensor t;
    st = stack_or_empty(g, 1 + n_carried + k, scans[k], n, 0, &t);
    if (!st) mt_ctl_set_output(c, n_carried + k, &t);
  }
  if (st)
    for (int i = 0; i < c->n_outputs; i++) {
      free(c->outputs[i].data);
      c->outputs[i].data = NULL;
    }
  for (int k = 0; scans && k < n_scan; k++) mt_ctl_free_tensors(scans[k], n);
  mt_ctl_free_tensors(state, n_carried);
  free(scans);
  free(args);
  return st;
}

/* Inference: one pass of the body on the initial shapes. A carried dim the body changes is
 * unknown; scan outputs gain a leading axis of M iterations when the condition cannot stop the
 * loop early (the body passes its cond straight through), else unknown. */
MT_MUST_USE static mt_status *loop_infer(mt_op_ctx *c) {
  const mt_graph *g;
  int n_carried, n_scan;
  MT_RETURN_IF_ERROR_PLAIN(loop_check(c, &g, &n_carried, &n_scan));
  mt_tensor *args = calloc((size_t)n_carried + 3, sizeof *args);
  if (!args) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  /* cond_in is true on entry when the node's cond is absent or known true; a body whose
   * cond_out then folds to true keeps going every iteration (it depends on cond_in and constants
   * only), so the trip count is M. */
  const mt_tensor *cond = mt_op_input(c, 1);
  bool enters = !cond || (cond->data && mt_tensor_get_i64(cond, 0) != 0);
  uint8_t true_byte = 1;
  args[0] = scalar_view(MT_DTYPE_INT64, NULL);
  args[1] = scalar_view(MT_DTYPE_BOOL, enters ? &true_byte : NULL);
  for (int i = 0; i < n_carried; i++) {
    args[2 + i] = *c->inputs[2 + i];
    args[2 + i].data = NULL;
  }
  mt_tensor *outs;
  mt_status *st = mt_ctl_run_body(c, g, args, &outs);
  free(args);
  if (st) return st;
  const mt_tensor *m = mt_op_input(c, 0);
  bool fixed_trips = m && m->data && enters && outs[0].data && mt_tensor_get_i64(&outs[0], 0) != 0;
  for (int i = 0; i < c->n_outputs; i++) {
    const mt_tensor *o = &outs[1 + i];
    if (i < n_carried) {
      const mt_tensor *init = c->inputs[2 + i];
      if (mt_dtype_is_container(o->dtype) || o->dtype != init->dtype || o->rank != init->rank) {
        if (o->dtype != init->dtype || mt_dtype_is_container(o->dtype)) {
          st = mt_dtype_is_container(o->dtype) && o->dtype == init->dtype
                   ? NULL
                   : MT_ERR(INVALID_ARGUMENT,
                            "loop-carried value %d starts as %s, the body "
                            "makes it %s",
                            i, mt_dtype_name(init->dtype), mt_dtype_name(o->dtype));
          if (!st) mt_container_unknown(o->dtype, &c->outputs[i]);
          if (st) break;
          continue;
        }
        st = MT_ERR(UNIMPLEMENTED, "loop-carried value %d changes rank (%d to %d)", i, init->rank,
                    o->rank);
        break;
      }
      int64_t dims[MT_MAX_RANK];
      for (int d = 0; d < o->rank; d++) dims[d] = o->dims[d] == init->dims[d] ? o->dims[d] : -1;
      if (mt_op_has_output(c, i)) mt_op_set_output(c, i, o->dtype, o->rank, dims);
    } else {
      if (o->rank + 1 > MT_MAX_RANK || mt_dtype_is_container(o->dtype)) {
        st = MT_ERR(UNIMPLEMENTED, "scan output %d: rank %d or type %s cannot be stacked",
                    i - n_carried, o->rank, mt_dtype_name(o->dtype));
        break;
      }
      int64_t dims[MT_MAX_RANK];
      dims[0] = fixed_trips ? mt_tensor_get_i64(m, 0) : -1;
      for (int d = 0; d < o->rank; d++) dims[d + 1] = o->dims[d];
      if (mt_op_has_output(c, i)) mt_op_set_output(c, i, o->dtype, o->rank + 1, dims);
    }
  }
  mt_ctl_free_tensors(outs, g->n_outputs);
  return st;
}

/* ---- Scan -------------------------------------------------------------------------------- */

typedef struct scan_spec {
  const mt_graph *g;
  int n_state, n_in, n_out; /* loop-carried states, scan inputs, scan outputs */
  int64_t in_axes[MT_MAX_RANK * 4], in_rev[MT_MAX_RANK * 4];
  int64_t out_axes[MT_MAX_RANK * 4], out_rev[MT_MAX_RANK * 4];
} scan_spec;

enum { SCAN_MAX_IO = MT_MAX_RANK * 4 };

MT_MUST_USE static mt_status *read_list(const mt_node *n, const char *name, int want,
                                        int64_t *out) {
  for (int i = 0; i < want; i++) out[i] = 0;
  const int64_t *v;
  int64_t count = mt_node_attr_ints(n, name, &v);
  if (count < 0) return NULL;
  if (count != want)
    return MT_ERR(INVALID_ARGUMENT, "attribute %s has %lld entries, expected %d", name,
                  (long long)count, want);
  for (int i = 0; i < want; i++) out[i] = v[i];
  /* a direction is 0 (forward) or 1 (reverse); any other value is no direction at all */
  for (int i = 0; strstr(name, "directions") && i < want; i++)
    if (out[i] != 0 && out[i] != 1)
      return MT_ERR(INVALID_ARGUMENT, "attribute %s[%d] is %lld, expected 0 or 1", name, i,
                    (long long)out[i]);
  return NULL;
}

mt_status *mt_scan_attrs(const mt_node *n, int n_in, int n_out, int64_t *in_axes, int64_t *in_rev,
                         int64_t *out_axes, int64_t *out_rev) {
  if (n->opset < 9) {
    for (int j = 0; j < n_in; j++) in_axes[j] = 0; /* axis 1, i.e. 0 past the batch */
    for (int i = 0; i < n_out; i++) out_axes[i] = out_rev[i] = 0;
    return read_list(n, "directions", n_in, in_rev);
  }
  MT_RETURN_IF_ERROR_PLAIN(read_list(n, "scan_input_axes", n_in, in_axes));
  MT_RETURN_IF_ERROR_PLAIN(read_list(n, "scan_input_directions", n_in, in_rev));
  MT_RETURN_IF_ERROR_PLAIN(read_list(n, "scan_output_axes", n_out, out_axes));
  return read_list(n, "scan_output_directions", n_out, out_rev);
}

MT_MUST_USE static mt_status *scan_spec_read(const mt_op_ctx *c, int first_state, scan_spec *s) {
  MT_RETURN_IF_ERROR_PLAIN(mt_ctl_body(c, "body", &s->g));
  int64_t n_in = mt_node_attr_int(c->node, "num_scan_inputs", -1);
  int n_ops = c->n_inputs - first_state;
  if (n_in < 1 || n_in > n_ops)
    return MT_ERR(INVALID_ARGUMENT, "attribute num_scan_inputs %lld out of range 1..%d",
                  (long long)n_in, n_ops);
  for (int i = first_state; i < c->n_inputs; i++)
    if (!c->inputs[i]) return MT_ERR(INVALID_ARGUMENT, "input %d is missing", i);
  s->n_in = (int)n_in;
  s->n_state = n_ops - s->n_in;
  s->n_out = c->n_outputs - s->n_state;
  if (s->n_out < 0 || s->n_in > SCAN_MAX_IO || s->n_out > SCAN_MAX_IO ||
      s->g->n_inputs != s->n_state + s->n_in || s->g->n_outputs != s->n_state + s->n_out)
    return MT_ERR(INVALID_ARGUMENT,
                  "body has %d inputs and %d outputs; %d states, %d scan inputs and %d node "
                  "outputs need %d and %d",
                  s->g->n_inputs, s->g->n_outputs, s->n_state, s->n_in, c->n_outputs,
                  s->n_state + s->n_in, c->n_outputs);
  return mt_scan_attrs(c->node, s->n_in, s->n_out, s->in_axes, s->in_rev, s->out_axes, s->out_rev);
}

/* One scan over unbatched operands: states[n_state], scan inputs ins[n_in] (axes in s already
 * normalized); fills out_states and out_scans (fresh data). */
MT_MUST_USE static mt_status *scan_core(mt_op_ctx *c, const scan_spec *s, const mt_tensor *states,
                                        const mt_tensor *ins, const int *in_axes,
                                        mt_tensor *out_states, mt_tensor *out_scans) {
  int64_t len = ins[0].dims[in_axes[0]];
  for (int j = 1; j < s->n_in; j++)
    if (ins[j].dims[in_axes[j]] != len)
      return MT_ERR(INVALID_ARGUMENT, "scan input %d has %lld steps, scan input 0 %lld", j,
                    (long long)ins[j].dims[in_axes[j]], (long long)len);
  mt_tensor *args = calloc((size_t)(s->n_state + s->n_in) + 1, sizeof *args);
  mt_tensor *cur = calloc((size_t)s->n_state + 1, sizeof *cur);
  mt_tensor **steps = calloc((size_t)s->n_out + 1, sizeof *steps);
  mt_status *st = (!args || !cur || !steps) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  for (int k = 0; !st && k < s->n_out; k++) {
    steps[k] = calloc((size_t)len + 1, sizeof **steps);
    if (!steps[k]) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (int i = 0; !st && i < s->n_state; i++) st = mt_value_copy(&states[i], &cur[i]);
  int64_t done = 0;
  for (int64_t it = 0; !st && it < len; it++) {
    for (int i = 0; i < s->n_state; i++) args[i] = cur[i];
    for (int j = 0; !st && j < s->n_in; j++) {
      int64_t at = s->in_rev[j] ? len - 1 - it : it;
      st = mt_ctl_slice_axis(&ins[j], in_axes[j], at, 1, true, &args[s->n_state + j]);
      if (st) {
        for (int q = 0; q < j; q++) free(args[s->n_state + q].data);
      }
    }
    if (st) break;
    mt_tensor *outs;
    st = mt_ctl_run_body(c, s->g, args, &outs);
    for (int j = 0; j < s->n_in; j++) free(args[s->n_state + j].data);
    if (st) {
      st = mt_status_annotate(st, "iteration %lld", (long long)it);
      break;
    }
    for (int i = 0; i < s->n_state; i++) {
      free(cur[i].data);
      cur[i] = outs[i];
    }
    for (int k = 0; k < s->n_out; k++) steps[k][it] = outs[s->n_state + k];
    free(outs);
    done = it + 1;
  }
  for (int k = 0; !st && k < s->n_out; k++) {
    if (s->out_rev[k]) /* reversed output: the last step's slice comes first */
      for (int64_t a = 0, b = len - 1; a < b; a++, b--) {
        mt_tensor t = steps[k][a];
        steps[k][a] = steps[k][b];
        steps[k][b] = t;
      }
    int rank = len > 0 ? steps[k][0].rank + 1 : 1;
    int axis = 0;
    st = mt_normalize_axis(s->out_axes[k], rank, &axis);
    if (!st) st = stack_or_empty(s->g, s->n_state + k, steps[k], len, axis, &out_scans[k]);
  }
  for (int i = 0; i < s->n_state; i++) {
    if (st) {
      free(cur[i].data);
    } else {
      out_states[i] = cur[i];
    }
  }
  for (int k = 0; steps && k < s->n_out; k++) mt_ctl_free_tensors(steps[k], done);
  free(steps);
  free(cur);
  free(args);
  return st;
}

MT_MUST_USE static mt_status *scan_axes(const mt_op_ctx *c, const scan_spec *s, int first_in,
                                        int batch, int *axes) {
  for (int j = 0; j < s->n_in; j++) {
    const mt_tensor *t = c->inputs[first_in + j];
    if (!t || mt_dtype_is_container(t->dtype))
      return MT_ERR(INVALID_ARGUMENT, "scan input %d must be a tensor", j);
    MT_RETURN_IF_ERROR(mt_normalize_axis(s->in_axes[j], t->rank - batch, &axes[j]),
                       "scan input %d axis", j);
  }
  return NULL;
}

MT_MUST_USE static mt_status *scan_run9(mt_op_ctx *c, const scan_spec *s) {
  int axes[SCAN_MAX_IO];
  MT_RETURN_IF_ERROR_PLAIN(scan_axes(c, s, s->n_state, 0, axes));
  mt_tensor *states = calloc((size_t)(s->n_state + s->n_in) + 1, sizeof *states);
  mt_tensor *outs = calloc((size_t)c->n_outputs + 1, sizeof *outs);
  mt_status *st = (!states || !outs) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  for (int i = 0; !st && i < s->n_state + s->n_in; i++) states[i] = *c->inputs[i];
  if (!st) st = scan_core(c, s, states, states + s->n_state, axes, outs, outs + s->n_state);
  for (int i = 0; !st && i < c->n_outputs; i++) mt_ctl_set_output(c, i, &outs[i]);
  free(states);
  free(outs);
  return st;
}

/* Scan-8: every operand has a leading batch axis; each batch entry is its own scan (axis 1 of
 * the operands, i.e. 0 after the batch axis is taken off). */
MT_MUST_USE static mt_status *scan_run8(mt_op_ctx *c, const scan_spec *s) {
  const mt_tensor *lens = mt_op_input(c, 0);
  int axes[SCAN_MAX_IO];
  MT_RETURN_IF_ERROR_PLAIN(scan_axes(c, s, 1 + s->n_state, 1, axes));
  int n_ops = s->n_state + s->n_in;
  int64_t batch = c->inputs[1]->rank > 0 ? c->inputs[1]->dims[0] : -1;
  for (int i = 0; i < n_ops; i++)
    if (c->inputs[1 + i]->rank < 1 || c->inputs[1 + i]->dims[0] != batch)
      return MT_ERR(INVALID_ARGUMENT, "input %d: every operand needs the batch axis of size %lld",
                    1 + i, (long long)batch);
  for (int64_t b = 0; lens && b < mt_tensor_numel(lens); b++)
    if (mt_tensor_get_i64(lens, b) != c->inputs[1 + s->n_state]->dims[1])
      return MT_ERR(UNIMPLEMENTED, "sequence_lens shorter than the scan axis are not supported");
  mt_tensor *ops = calloc((size_t)n_ops + 1, sizeof *ops);
  mt_tensor **per = calloc((size_t)c->n_outputs + 1, sizeof *per);
  mt_status *st = (!ops || !per) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  for (int i = 0; !st && i < c->n_outputs; i++) {
    per[i] = calloc((size_t)batch + 1, sizeof **per);
    if (!per[i]) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  mt_tensor *res = st ? NULL : calloc((size_t)c->n_outputs + 1, sizeof *res);
  if (!st && !res) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  int64_t done = 0;
  for (int64_t b = 0; !st && b < batch; b++) {
    int made = 0;
    for (; !st && made < n_ops; made++)
      st = mt_ctl_slice_axis(c->inputs[1 + made], 0, b, 1, true, &ops[made]);
    if (!st) st = scan_core(c, s, ops, ops + s->n_state, axes, res, res + s->n_state);
    for (int i = 0; i < made; i++) free(ops[i].data);
    if (st) break;
    for (int i = 0; i < c->n_outputs; i++) per[i][b] = res[i];
    done = b + 1;
  }
  for (int i = 0; !st && i < c->n_outputs; i++) {
    mt_tensor t;
    st = mt_ctl_concat(per[i], batch, 0, true, &t);
    if (!st) mt_ctl_set_output(c, i, &t);
  }
  for (int i = 0; per && i < c->n_outputs; i++) mt_ctl_free_tensors(per[i], done);
  free(per);
  free(res);
  free(ops);
  return st;
}

MT_MUST_USE static mt_status *scan_run(mt_op_ctx *c) {
  scan_spec s;
  MT_RETURN_IF_ERROR_PLAIN(scan_spec_read(c, c->opset < 9 ? 1 : 0, &s));
  return c->opset < 9 ? scan_run8(c, &s) : scan_run9(c, &s);
}

/* Inference: the body once on one step's slices; every scan output has as many steps as the
 * scan inputs along their axes (known statically), states keep the body's shapes. */
MT_MUST_USE static mt_status *scan_infer(mt_op_ctx *c) {
  scan_spec s;
  int batch = c->opset < 9 ? 1 : 0;
  MT_RETURN_IF_ERROR_PLAIN(scan_spec_read(c, batch, &s));
  int axes[SCAN_MAX_IO];
  int first = batch + s.n_state;
  MT_RETURN_IF_ERROR_PLAIN(scan_axes(c, &s, first, batch, axes));
  mt_tensor *args = calloc((size_t)(s.n_state + s.n_in) + 1, sizeof *args);
  if (!args) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < s.n_state + s.n_in; i++) {
    mt_tensor t = *c->inputs[batch + i];
    t.data = NULL;
    int drop = i < s.n_state ? (batch ? 0 : -1) : axes[i - s.n_state] + batch;
    if (batch && i >= s.n_state) { /* the batch axis goes too */
      for (int d = 0; d + 1 < t.rank; d++) t.dims[d] = t.dims[d + 1];
      t.rank--;
      drop -= 1;
    }
    if (drop >= 0) {
      for (int d = drop; d + 1 < t.rank; d++) t.dims[d] = t.dims[d + 1];
      t.rank--;
    }
    args[i] = t;
  }
  mt_tensor *outs;
  mt_status *st = mt_ctl_run_body(c, s.g, args, &outs);
  free(args);
  if (st) return st;
  const mt_tensor *in0 = c->inputs[first];
  int64_t steps = in0->dims[axes[0] + batch];
  for (int i = 0; i < c->n_outputs && !st; i++) {
    mt_tensor o = outs[i];
    int64_t dims[MT_MAX_RANK];
    int rank = o.rank;
    memcpy(dims, o.dims, sizeof dims);
    if (i >= s.n_state) {
      int axis = 0;
      if (o.rank + 1 + batch > MT_MAX_RANK) {
        st = MT_ERR(UNIMPLEMENTED, "scan output %d has rank %d", i - s.n_state, o.rank);
        break;
      }
      st = mt_normalize_axis(s.out_axes[i - s.n_state], o.rank + 1, &axis);
      for (int d = rank; !st && d > axis; d--) dims[d] = dims[d - 1];
      dims[axis] = steps;
      rank++;
    }
    if (batch) {
      for (int d = rank; d > 0; d--) dims[d] = dims[d - 1];
      dims[0] = in0->dims[0];
      rank++;
    }
    if (!st && mt_op_has_output(c, i)) mt_op_set_output(c, i, o.dtype, rank, dims);
  }
  mt_ctl_free_tensors(outs, s.g->n_outputs);
  return st;
}

const mt_op_def mt_ops_loop[] = {
    {.op_type = "Loop",
     .min_inputs = 0, /* M and cond may both be omitted (""); loop_check wants both slots */
     .max_inputs = -1,
     .flags = MT_OP_ALLOCATES_OUTPUTS | MT_OP_NO_FOLD,
     .pattern = MT_PATTERN_OPAQUE,
     .traits = MT_TRAIT_CONTROL_FLOW,
     .infer = loop_infer,
     .run = loop_run},
    {.op_type = "Scan",
     .min_inputs = 0, /* Scan-8's input 0 (sequence_lens) may be omitted; scan_spec_read checks */
     .max_inputs = -1,
     .flags = MT_OP_ALLOCATES_OUTPUTS | MT_OP_NO_FOLD,
     .pattern = MT_PATTERN_OPAQUE,
     .traits = MT_TRAIT_CONTROL_FLOW,
     .infer = scan_infer,
     .run = scan_run},
    {0},
};
