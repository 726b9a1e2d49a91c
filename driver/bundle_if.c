/* If nodes in the .mtbundle writer (runtime/bundle/mtbundle.proto, IfBranches): a branch's nodes
 * go to Manifest.branch_nodes, each lowered like any scheduled node (mt_bw_node), so values
 * defined inside a branch get scratch bytes of their own and outer values are read where the
 * plan keeps them (the memory plan counts subgraph reads as reads of the If's group). A nested
 * If's branches are emitted before the branch holding it, so every range an If names ends at or
 * before the If itself: the loader relies on that to bound nesting. Must not know about the GPU
 * plan. */
#include <string.h>

#include "driver/bundle_writer.h"
#include "ir/op.h"

MT_MUST_USE static mt_status *branch_graph(const mt_node *n, const char *attr,
                                           const mt_graph **out) {
  const mt_attr *a = mt_node_attr(n, attr);
  if (!a || a->type != MT_ATTR_GRAPH || !a->graph)
    return MT_ERR(INVALID_ARGUMENT, "missing graph attribute %s", attr);
  if (a->graph->n_outputs != n->n_outputs)
    return MT_ERR(INVALID_ARGUMENT, "%s has %d outputs, the node %d", attr, a->graph->n_outputs,
                  n->n_outputs);
  *out = a->graph;
  return NULL;
}

/* A branch node computes something only when one of its outputs is neither omitted nor a
 * constant (constant folding leaves the value's bytes in the weights). */
static bool computes(const mt_module *m, const mt_node *n) {
  for (int o = 0; o < n->n_outputs; o++)
    if (n->outputs[o] != MT_NO_VALUE && mt_module_value_c(m, n->outputs[o])->constant < 0)
      return true;
  return false;
}

MT_MUST_USE static mt_status *append(writer *w, Mtbundle__Node *bn) {
  if (w->n_branch_nodes == w->cap_branch_nodes) {
    size_t ncap = w->cap_branch_nodes ? w->cap_branch_nodes * 2 : 64;
    Mtbundle__Node **nn;
    WARRAY(w, nn, ncap);
    if (w->n_branch_nodes) memcpy(nn, w->branch_nodes, w->n_branch_nodes * sizeof *nn);
    w->branch_nodes = nn, w->cap_branch_nodes = ncap;
  }
  w->branch_nodes[w->n_branch_nodes++] = bn;
  return NULL;
}

/* Lowers g's nodes first (nested Ifs and loops append their own bodies meanwhile), then appends
 * them as one contiguous range. */
mt_status *mt_bw_branch(writer *w, const mt_graph *g, const char *attr, uint32_t *out_first,
                        uint32_t *out_count, Mtbundle__BufferRef ***out_refs) {
  Mtbundle__Node **mine;
  WARRAY(w, mine, g->n_nodes);
  int n_mine = 0;
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(w->m, g->nodes[k]);
    if (!computes(w->m, n)) continue;
    if (strcmp(n->op_type, "Constant") == 0 && !*n->domain) {
      /* constant folding does not reach into branches: the tensor is a constant already */
      const mt_attr *a = mt_node_attr(n, "value");
      if (!a || a->type != MT_ATTR_TENSOR || n->n_outputs != 1)
        return MT_ERR(UNIMPLEMENTED,
                      "%s: node '%s': a Constant without a tensor 'value' is not in bundles yet",
                      attr, n->name);
      if (n->outputs[0] != MT_NO_VALUE) w->constant_of_value[n->outputs[0]] = a->constant;
      continue;
    }
    MT_RETURN_IF_ERROR(mt_bw_node(w, g->nodes[k], &mine[n_mine]), "%s", attr);
    n_mine++;
  }
  if (w->n_branch_nodes > UINT32_MAX - (size_t)n_mine)
    return MT_ERR(RESOURCE_EXHAUSTED, "%s: too many branch nodes", attr);
  *out_first = (uint32_t)w->n_branch_nodes;
  *out_count = (uint32_t)n_mine;
  for (int k = 0; k < n_mine; k++) MT_RETURN_IF_ERROR_PLAIN(append(w, mine[k]));
  Mtbundle__BufferRef **refs;
  WARRAY(w, refs, g->n_outputs);
  for (int i = 0; i < g->n_outputs; i++)
    MT_RETURN_IF_ERROR(mt_bw_ref(w, g->outputs[i], &refs[i]), "%s output %d", attr, i);
  *out_refs = refs;
  return NULL;
}

mt_status *mt_bw_if(writer *w, const mt_node *n, Mtbundle__Node *bn) {
  const mt_graph *then_g, *else_g;
  MT_RETURN_IF_ERROR_PLAIN(branch_graph(n, "then_branch", &then_g));
  MT_RETURN_IF_ERROR_PLAIN(branch_graph(n, "else_branch", &else_g));
  if (n->n_inputs != 1 || n->inputs[0] == MT_NO_VALUE)
    return MT_ERR(INVALID_ARGUMENT, "If takes exactly one condition input");
  Mtbundle__IfBranches *ib;
  WNEW(w, ib, mtbundle__if_branches__init);
  MT_RETURN_IF_ERROR_PLAIN(
      mt_bw_branch(w, then_g, "then_branch", &ib->then_first, &ib->then_count, &ib->then_outputs));
  MT_RETURN_IF_ERROR_PLAIN(
      mt_bw_branch(w, else_g, "else_branch", &ib->else_first, &ib->else_count, &ib->else_outputs));
  ib->n_then_outputs = ib->n_else_outputs = (size_t)n->n_outputs;
  bn->kernel_kind = 0;
  bn->n_inputs = 1;
  bn->n_outputs = (size_t)n->n_outputs;
  WARRAY(w, bn->inputs, 1);
  WARRAY(w, bn->outputs, n->n_outputs);
  MT_RETURN_IF_ERROR(mt_bw_ref(w, n->inputs[0], &bn->inputs[0]), "condition");
  for (int i = 0; i < n->n_outputs; i++)
    MT_RETURN_IF_ERROR(mt_bw_ref(w, n->outputs[i], &bn->outputs[i]), "output %d", i);
  bn->if_branches = ib;
  return NULL;
}
