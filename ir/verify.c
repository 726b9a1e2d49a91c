/* Structural verifier: run after import and after every pass. It checks what the IR promises
 * (ids in range, each value produced once, uses after definitions in scope order, tenants never
 * mixed inside a node) so a broken pass fails here, not in codegen. */
#include <stdlib.h>

#include "ir/ir.h"

typedef struct verifier {
  const mt_module *m;
  uint8_t *defined; /* per value: visible at the current point */
} verifier;

static bool value_in_range(const mt_module *m, mt_value_id v) {
  return v >= 0 && v < mt_module_value_count(m);
}

/* A value is visible in g when it was defined in g or in one of g's enclosing graphs. */
static bool in_scope(const mt_value *val, const mt_graph *g) {
  for (; g; g = g->parent)
    if (val->graph == g) return true;
  return false;
}

MT_MUST_USE static mt_status *verify_graph(verifier *vf, const mt_graph *g) {
  const mt_module *m = vf->m;
  for (int i = 0; i < g->n_inputs; i++) {
    if (!value_in_range(m, g->inputs[i]))
      return MT_ERR(INTERNAL, "graph '%s': input %d out of range", g->name, i);
    vf->defined[g->inputs[i]] = 1;
  }
  for (int k = 0; k < g->n_nodes; k++) {
    int32_t id = g->nodes[k];
    if (id < 0 || id >= mt_module_node_count(m))
      return MT_ERR(INTERNAL, "graph '%s': node id %d out of range", g->name, id);
    const mt_node *n = mt_module_node_c(m, id);
    /* before any mt_node_label(): the label indexes the tenant array with n->tenant */
    if (n->tenant != g->tenant)
      return MT_ERR(INTERNAL, "graph '%s': node '%s' (%s) has tenant %d, its graph tenant %d",
                    g->name, n->name, n->op_type, (int)n->tenant, (int)g->tenant);
    if (n->graph != g)
      return MT_ERR(INTERNAL, "%s: listed in a graph it does not belong to", mt_node_label(m, n));
    for (int i = 0; i < n->n_inputs; i++) {
      mt_value_id v = n->inputs[i];
      if (v == MT_NO_VALUE) continue;
      if (!value_in_range(m, v))
        return MT_ERR(INTERNAL, "%s: input %d out of range", mt_node_label(m, n), i);
      const mt_value *val = mt_module_value_c(m, v);
      if (val->tenant != n->tenant)
        return MT_ERR(INTERNAL, "%s: input %d '%s' belongs to another tenant", mt_node_label(m, n),
                      i, val->name);
      if (val->constant < 0 && !vf->defined[v])
        return MT_ERR(INTERNAL, "%s: input %d '%s' is used before it is defined",
                      mt_node_label(m, n), i, val->name);
      if (!in_scope(val, g))
        return MT_ERR(INTERNAL,
                      "%s: input %d '%s' is defined in graph '%s', which is not in scope here",
                      mt_node_label(m, n), i, val->name, val->graph ? val->graph->name : "?");
      if (val->constant >= mt_module_constant_count(m))
        return MT_ERR(INTERNAL, "value '%s': constant id out of range", val->name);
    }
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++) {
        if (n->attrs[a].graphs[j]->parent != g)
          return MT_ERR(INTERNAL, "%s: subgraph's parent is not the node's graph",
                        mt_node_label(m, n));
        MT_RETURN_IF_ERROR(verify_graph(vf, n->attrs[a].graphs[j]), "%s: subgraph '%s'",
                           mt_node_label(m, n), n->attrs[a].name);
      }
    for (int i = 0; i < n->n_outputs; i++) {
      mt_value_id v = n->outputs[i];
      if (v == MT_NO_VALUE) continue;
      if (!value_in_range(m, v))
        return MT_ERR(INTERNAL, "%s: output %d out of range", mt_node_label(m, n), i);
      const mt_value *val = mt_module_value_c(m, v);
      if (vf->defined[v] || val->constant >= 0)
        return MT_ERR(INTERNAL, "%s: output '%s' is defined twice", mt_node_label(m, n), val->name);
      if (val->producer != id)
        return MT_ERR(INTERNAL, "%s: output '%s' names another producer", mt_node_label(m, n),
                      val->name);
      vf->defined[v] = 1;
    }
  }
  for (int i = 0; i < g->n_outputs; i++) {
    mt_value_id v = g->outputs[i];
    if (!value_in_range(m, v))
      return MT_ERR(INTERNAL, "graph '%s': output %d out of range", g->name, i);
    if (!vf->defined[v] && mt_module_value_c(m, v)->constant < 0)
      return MT_ERR(INTERNAL, "graph '%s': output '%s' is never defined", g->name,
                    mt_module_value_c(m, v)->name);
  }
  return NULL;
}

mt_status *mt_verify_module(const mt_module *m) {
  verifier vf = {.m = m, .defined = calloc((size_t)mt_module_value_count(m) + 1, 1)};
  if (!vf.defined) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  for (int32_t t = 0; t < mt_module_tenant_count(m) && !st; t++) {
    st = verify_graph(&vf, mt_module_tenant_c(m, t)->graph);
    if (st) st = mt_status_annotate(st, "verifier: tenant '%s'", mt_module_tenant_c(m, t)->name);
  }
  free(vf.defined);
  return st;
}
