/* Pass: constant folding.
 *
 * The evaluator's inference mode already computes every value whose inputs are known: constants,
 * and (for Shape and Size) static shapes, which all main-graph values have after shape inference.
 * This pass runs it over each tenant's main graph with a larger size limit and turns every node
 * whose outputs all came out known into constants, in place: the output values keep their ids and
 * names (graph outputs keep working) and are bound to interned constants, and the node leaves the
 * graph. The folded bytes are exactly what the reference executor computes, since they come from
 * the ops' own `run`. One walk folds whole chains, e.g. the exporter's
 * Shape -> Gather -> Unsqueeze -> Concat subgraphs in front of a Reshape.
 *
 * Not folded: results over FOLD_MAX_ELEMENTS elements (a ConstantOfShape of a huge shape stays a
 * node instead of being materialised in the module), nodes with no outputs, and anything whose
 * inputs depend on runtime data. */
#include <stdlib.h>

#include "ir/evaluator.h"
#include "passes/pass_manager.h"

enum { FOLD_MAX_ELEMENTS = 1 << 24 };

/* True when the evaluator knows the data of every present output of n. */
static bool outputs_known(const mt_eval *ev, const mt_node *n) {
  bool any = false;
  for (int i = 0; i < n->n_outputs; i++) {
    if (n->outputs[i] == MT_NO_VALUE) continue;
    const mt_tensor *t = mt_eval_value(ev, n->outputs[i]);
    if (!t || !t->data) return false;
    any = true;
  }
  return any;
}

MT_MUST_USE static mt_status *fold_tenant(mt_module *m, mt_eval *ev, mt_graph *g, uint8_t *remove) {
  for (int i = 0; i < g->n_inputs; i++) { /* shapes only: inputs are runtime data */
    const mt_value *val = mt_module_value_c(m, g->inputs[i]);
    mt_tensor shape = {.dtype = val->dtype, .rank = val->rank};
    for (int d = 0; d < val->rank; d++) shape.dims[d] = val->dims[d];
    mt_eval_set_input(ev, g->inputs[i], &shape);
  }
  mt_tensor *outs = calloc((size_t)g->n_outputs + 1, sizeof *outs);
  mt_status *st = outs ? mt_eval_graph(ev, g, outs) : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; outs && i < g->n_outputs; i++) free(outs[i].data);
  free(outs);
  bool any = false;
  for (int k = 0; !st && k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    if (!outputs_known(ev, n)) continue;
    for (int i = 0; !st && i < n->n_outputs; i++) {
      mt_value_id v = n->outputs[i];
      if (v == MT_NO_VALUE) continue;
      const mt_tensor *t = mt_eval_value(ev, v);
      int32_t c;
      st = mt_module_intern_constant(m, t->dtype, t->rank, t->dims, t->data, mt_tensor_nbytes(t),
                                     &c);
      if (!st) mt_module_bind_constant(m, v, c);
    }
    remove[g->nodes[k]] = 1;
    any = true;
  }
  mt_eval_release_graph(ev, g); /* before the folded nodes leave g */
  if (st || !any) return st;
  /* Detach the folded nodes; their outputs are constants now, produced by no node. */
  int32_t *folded = malloc(sizeof *folded * ((size_t)g->n_nodes + 1));
  int n_folded = 0;
  if (!folded) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int k = 0; k < g->n_nodes; k++)
    if (remove[g->nodes[k]]) folded[n_folded++] = g->nodes[k];
  mt_graph_remove_nodes(m, g, remove);
  for (int j = 0; j < n_folded; j++) remove[folded[j]] = 0;
  free(folded);
  return NULL;
}

mt_status *mt_pass_fold_constants(mt_pass_ctx *ctx) {
  mt_module *m = ctx->module;
  uint8_t *remove = calloc((size_t)mt_module_node_count(m) + 1, 1);
  if (!remove) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  /* one evaluator for every tenant (one per tenant cost the module's size each), released
   * tenant by tenant; constants interned meanwhile keep their bytes where the views point */
  mt_eval *ev = NULL;
  mt_status *st = mt_eval_create(m, false, &ev);
  if (!st) mt_eval_set_fold_limit(ev, FOLD_MAX_ELEMENTS);
  for (int32_t t = 0; t < mt_module_tenant_count(m) && !st; t++)
    st = fold_tenant(m, ev, mt_module_tenant(m, t)->graph, remove);
  mt_eval_destroy(ev);
  free(remove);
  return st;
}
