/* Static shape inference: binds symbolic input dims, then evaluates every tenant's graph in
 * inference mode (folding shape arithmetic) and records dtypes and shapes in the module. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/evaluator.h"
#include "ir/ir.h"
#include "runtime/base/escape.h"
#include "runtime/cpu/container.h"

static const mt_shape_override *find_override(const mt_tenant *t, const char *input) {
  for (int i = 0; i < t->n_shape_overrides; i++)
    if (strcmp(t->shape_overrides[i].input, input) == 0) return &t->shape_overrides[i];
  return NULL;
}

static const mt_dim_binding *find_binding(const mt_tenant *t, const char *name) {
  for (int i = 0; i < t->n_dim_bindings; i++)
    if (strcmp(t->dim_bindings[i].name, name) == 0) return &t->dim_bindings[i];
  return NULL;
}

/* Resolves one main-graph input's shape from declaration, overrides and bindings. */
MT_MUST_USE static mt_status *bind_input(const mt_tenant *t, const mt_value *val, mt_tensor *out) {
  memset(out, 0, sizeof *out);
  out->dtype = val->dtype;
  if (mt_dtype_is_container(val->dtype)) {
    mt_container_unknown(val->dtype, out); /* contents are data: unknown ahead of time */
    return NULL;
  }
  if (!mt_dtype_supported(val->dtype))
    return MT_ERR(UNIMPLEMENTED, "tenant '%s': input '%s' has dtype %s, which is not supported",
                  t->name, val->name, mt_dtype_name(val->dtype));
  const mt_shape_override *o = find_override(t, val->name);
  if (o) {
    if (val->rank >= 0 && o->rank != val->rank)
      return MT_ERR(INVALID_ARGUMENT,
                    "tenant '%s': input '%s' has rank %d, the override gives rank %d", t->name,
                    val->name, val->rank, o->rank);
    out->rank = o->rank;
    for (int d = 0; d < o->rank; d++) {
      if (val->rank >= 0 && val->dims[d] >= 0 && val->dims[d] != o->dims[d])
        return MT_ERR(INVALID_ARGUMENT,
                      "tenant '%s': input '%s' dim %d is fixed at %lld, the override gives %lld",
                      t->name, val->name, d, (long long)val->dims[d], (long long)o->dims[d]);
      out->dims[d] = o->dims[d];
    }
    return NULL;
  }
  if (val->rank < 0)
    return MT_ERR(
        INVALID_ARGUMENT,
        "tenant '%s': input '%s' has no declared shape; give one with \"shapes\" in the manifest",
        t->name, val->name);
  out->rank = val->rank;
  for (int d = 0; d < val->rank; d++) {
    out->dims[d] = val->dims[d];
    if (out->dims[d] >= 0) continue;
    const mt_dim_binding *b = val->dim_params[d] ? find_binding(t, val->dim_params[d]) : NULL;
    if (!b) {
      if (val->dim_params[d])
        return MT_ERR(
            INVALID_ARGUMENT,
            "tenant '%s': input '%s' dim %d ('%s') is unknown; bind it with \"dims\": {\"%s\": N}",
            t->name, val->name, d, val->dim_params[d], val->dim_params[d]);
      return MT_ERR(
          INVALID_ARGUMENT,
          "tenant '%s': input '%s' dim %d is unknown; give the input's shape with \"shapes\"",
          t->name, val->name, d);
    }
    out->dims[d] = b->value;
  }
  return NULL;
}

static void record_graph(mt_module *m, const mt_eval *ev, const mt_graph *g);

static void record_value(mt_module *m, const mt_eval *ev, mt_value_id v) {
  const mt_tensor *t = mt_eval_value(ev, v);
  mt_value *val = mt_module_value(m, v);
  if (!t || val->constant >= 0) return;
  val->dtype = t->dtype;
  val->rank = t->rank;
  for (int d = 0; d < t->rank; d++) val->dims[d] = t->dims[d];
}

static void record_graph(mt_module *m, const mt_eval *ev, const mt_graph *g) {
  for (int i = 0; i < g->n_inputs; i++) record_value(m, ev, g->inputs[i]);
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    for (int i = 0; i < n->n_outputs; i++)
      if (n->outputs[i] != MT_NO_VALUE) record_value(m, ev, n->outputs[i]);
    /* branch values too (both branches run while the condition is unknown): the bundle writer
     * places them by these types */
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
        record_graph(m, ev, n->attrs[a].graphs[j]);
  }
}

MT_MUST_USE static mt_status *check_outputs_known(const mt_module *m, const mt_tenant *t,
                                                  const mt_eval *ev) {
  const mt_graph *g = t->graph;
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    for (int i = 0; i < n->n_outputs; i++) {
      const mt_tensor *o = n->outputs[i] == MT_NO_VALUE ? NULL : mt_eval_value(ev, n->outputs[i]);
      if (o && mt_dtype_is_container(o->dtype))
        return MT_ERR(UNIMPLEMENTED,
                      "%s: output %d is a %s, whose size is data: ahead-of-time compilation "
                      "needs static sizes (run the model with `mtcc run --reference`)",
                      mt_node_label(m, n), i, mt_dtype_name(o->dtype));
      for (int d = 0; o && d < o->rank; d++)
        if (o->dims[d] < 0 && (!strcmp(n->op_type, "Loop") || !strcmp(n->op_type, "Scan")))
          return MT_ERR(UNIMPLEMENTED,
                        "%s: output %d dim %d depends on data (the loop's trip count or a "
                        "loop-carried shape): ahead-of-time compilation needs static sizes",
                        mt_node_label(m, n), i, d);
        else if (o->dims[d] < 0)
          return MT_ERR(INVALID_ARGUMENT,
                        "%s: output %d dim %d depends on data (branches of different shapes)",
                        mt_node_label(m, n), i, d);
    }
  }
  return NULL;
}

mt_status *mt_graph_check_declared_outputs(const mt_module *m, const mt_graph *g,
                                           const mt_tensor *outputs, const char *who) {
  for (int i = 0; g->declared_outputs && i < g->n_outputs; i++) {
    const mt_declared_type *d = &g->declared_outputs[i];
    const mt_tensor *o = &outputs[i];
    const char *name = mt_esc(mt_module_value_c(m, g->outputs[i])->name);
    if (d->dtype != MT_DTYPE_UNDEFINED && o->dtype != MT_DTYPE_UNDEFINED && d->dtype != o->dtype)
      return MT_ERR(INVALID_ARGUMENT, "%s: output %d '%s' is declared %s but computes %s", who, i,
                    name, mt_dtype_name(d->dtype), mt_dtype_name(o->dtype));
    if (d->rank < 0 || o->rank < 0) continue;
    if (d->rank != o->rank)
      return MT_ERR(INVALID_ARGUMENT, "%s: output %d '%s' is declared with rank %d but has rank %d",
                    who, i, name, d->rank, o->rank);
    for (int k = 0; k < d->rank; k++)
      if (d->dims[k] >= 0 && o->dims[k] >= 0 && d->dims[k] != o->dims[k])
        return MT_ERR(INVALID_ARGUMENT,
                      "%s: output %d '%s' dim %d is declared %lld but computes %lld", who, i, name,
                      k, (long long)d->dims[k], (long long)o->dims[k]);
  }
  return NULL;
}

/* "model.onnx: tenant 't'" for messages about a tenant's graph outputs. */
static const char *tenant_label(const mt_tenant *t, char *buf, size_t cap) {
  snprintf(buf, cap, "%s%stenant '%s'", mt_esc(t->model_path), *t->model_path ? ": " : "",
           mt_esc(t->name));
  return buf;
}

mt_status *mt_infer_shapes(mt_module *m) {
  /* one evaluator for every tenant: one per tenant cost the module's size each (10k tenants) */
  mt_eval *ev;
  MT_RETURN_IF_ERROR_PLAIN(mt_eval_create(m, false, &ev));
  for (int32_t ti = 0; ti < mt_module_tenant_count(m); ti++) {
    const mt_tenant *t = mt_module_tenant_c(m, ti);
    mt_status *st = NULL;
    for (int i = 0; i < t->graph->n_inputs && !st; i++) {
      mt_tensor shape;
      st = bind_input(t, mt_module_value_c(m, t->graph->inputs[i]), &shape);
      if (!st) mt_eval_set_input(ev, t->graph->inputs[i], &shape);
    }
    mt_tensor *outs = calloc((size_t)t->graph->n_outputs + 1, sizeof *outs);
    if (!st && !outs) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    if (!st) st = mt_eval_graph(ev, t->graph, outs);
    if (!st) st = check_outputs_known(m, t, ev);
    char who[2200];
    if (!st)
      st = mt_graph_check_declared_outputs(m, t->graph, outs, tenant_label(t, who, sizeof who));
    if (!st) record_graph(m, ev, t->graph);
    for (int i = 0; outs && i < t->graph->n_outputs; i++) free(outs[i].data);
    free(outs);
    mt_eval_release_graph(ev, t->graph);
    if (st) {
      mt_eval_destroy(ev);
      return st;
    }
  }
  mt_eval_destroy(ev);
  return NULL;
}

bool mt_tenant_inputs_bound(const mt_module *m, int32_t ti) {
  const mt_tenant *t = mt_module_tenant_c(m, ti);
  for (int i = 0; i < t->graph->n_inputs; i++) {
    mt_tensor shape;
    mt_status *st = bind_input(t, mt_module_value_c(m, t->graph->inputs[i]), &shape);
    if (st) {
      mt_status_free(st);
      return false;
    }
  }
  return true;
}
