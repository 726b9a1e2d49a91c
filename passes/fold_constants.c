/* Pass: constant folding.
 *
 * Every node of a tenant's main graph whose inputs are all constants (or, for Shape and Size,
 * whose input has a static shape: after shape inference every main-graph shape is static) is run
 * once at compile time with its op's own `run`, so the folded bytes are exactly what the reference
 * executor would have computed. Its outputs then become constants in place: the output values keep
 * their ids and names (graph outputs keep working) and are bound to interned constants, and the
 * node leaves the graph. One forward walk folds whole chains, e.g. the exporter's
 * Shape -> Gather -> Unsqueeze -> Concat shape subgraphs in front of a Reshape.
 *
 * Not folded: nodes with subgraphs (If: its branches read outer values; left to the executor),
 * ops mtcc does not know, and results over FOLD_MAX_ELEMENTS elements (a ConstantOfShape of a
 * huge shape stays a node instead of being materialised in the module). */
#include <stdlib.h>
#include <string.h>

#include "ir/op.h"
#include "passes/pass_manager.h"

enum { FOLD_MAX_ELEMENTS = 1 << 24 };

static mt_status *no_subgraphs(mt_op_ctx *ctx, const mt_graph *g, mt_tensor *outputs) {
  (void)g;
  (void)outputs;
  return MT_ERR(INTERNAL, "constant folding does not evaluate subgraphs");
}

static bool has_subgraph(const mt_node *n) {
  for (int a = 0; a < n->n_attrs; a++)
    if (n->attrs[a].graph || n->attrs[a].graphs) return true;
  return false;
}

static bool shape_is_static(const mt_value *v) {
  if (v->rank < 0 || v->dtype == MT_DTYPE_UNDEFINED) return false;
  for (int d = 0; d < v->rank; d++)
    if (v->dims[d] < 0) return false;
  return true;
}

/* Fills views[i] for every input and says whether the node can be folded. */
static bool inputs_known(const mt_module *m, const mt_node *n, const mt_op_def *op,
                         mt_tensor *views, const mt_tensor **inputs) {
  for (int i = 0; i < n->n_inputs; i++) {
    inputs[i] = NULL;
    mt_value_id v = n->inputs[i];
    if (v == MT_NO_VALUE) continue;
    const mt_value *val = mt_module_value_c(m, v);
    if (val->constant >= 0) {
      mt_constant_view(mt_module_constant(m, val->constant), &views[i]);
    } else if ((op->flags & MT_OP_VALUE_FROM_SHAPES) && shape_is_static(val)) {
      memset(&views[i], 0, sizeof views[i]); /* dims only: Shape/Size read no data */
      views[i].dtype = val->dtype;
      views[i].rank = val->rank;
      for (int d = 0; d < val->rank; d++) views[i].dims[d] = val->dims[d];
    } else {
      return false;
    }
    inputs[i] = &views[i];
  }
  return true;
}

static void free_outputs(mt_tensor *outs, int n) {
  for (int i = 0; i < n; i++) {
    free(outs[i].data);
    outs[i].data = NULL;
  }
}

/* Evaluates node `id`; *folded says whether its outputs became constants. */
static mt_status *fold_node(mt_module *m, int32_t id, bool *folded) {
  *folded = false;
  const mt_node *n = mt_module_node_c(m, id);
  const mt_op_def *op = mt_op_lookup(n->domain, n->op_type);
  if (!op || !op->run || has_subgraph(n) || n->n_outputs == 0) return NULL;
  if (n->n_inputs < op->min_inputs || (op->max_inputs >= 0 && n->n_inputs > op->max_inputs))
    return NULL; /* malformed; shape inference reports it */
  mt_tensor *views = calloc((size_t)n->n_inputs + 1, sizeof *views);
  const mt_tensor **inputs = calloc((size_t)n->n_inputs + 1, sizeof *inputs);
  mt_tensor *outs = calloc((size_t)n->n_outputs + 1, sizeof *outs);
  mt_status *st = NULL;
  if (!views || !inputs || !outs) {
    st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  if (!inputs_known(m, n, op, views, inputs)) goto done;
  mt_op_ctx ctx = {.module = m, .node = n, .opset = n->opset, .n_inputs = n->n_inputs,
                   .inputs = inputs, .n_outputs = n->n_outputs, .outputs = outs,
                   .executing = true, .eval_graph = no_subgraphs, .driver = NULL};
  bool self_alloc = (op->flags & MT_OP_ALLOCATES_OUTPUTS) != 0;
  if (!self_alloc) {
    st = op->infer(&ctx);
    if (st) goto done;
    int64_t total = 0;
    for (int i = 0; i < n->n_outputs; i++) {
      if (!mt_op_has_output(&ctx, i)) continue;
      if (outs[i].dtype == MT_DTYPE_UNDEFINED || outs[i].rank < 0 || outs[i].rank > MT_MAX_RANK)
        goto done; /* the evaluator reports such op bugs; folding just declines */
      int64_t e = 1;
      for (int d = 0; d < outs[i].rank; d++) {
        if (outs[i].dims[d] < 0 || (outs[i].dims[d] > 0 && e > FOLD_MAX_ELEMENTS / outs[i].dims[d]))
          goto done;
        e *= outs[i].dims[d];
      }
      total += e;
      if (total > FOLD_MAX_ELEMENTS) goto done; /* too large to keep as a constant */
    }
    for (int i = 0; i < n->n_outputs; i++) {
      if (!mt_op_has_output(&ctx, i)) continue;
      size_t bytes = mt_tensor_nbytes(&outs[i]);
      outs[i].data = calloc(1, bytes ? bytes : 1);
      if (!outs[i].data) {
        st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory folding output %d (%zu bytes)", i, bytes);
        goto done;
      }
    }
  }
  st = op->run(&ctx);
  if (st) goto done;
  int64_t total = 0;
  for (int i = 0; i < n->n_outputs; i++) {
    if (!mt_op_has_output(&ctx, i)) continue;
    if (!outs[i].data || !mt_dtype_supported(outs[i].dtype) || outs[i].rank < 0) goto done;
    total += mt_tensor_numel(&outs[i]);
  }
  if (total > FOLD_MAX_ELEMENTS) goto done;
  /* Bind each output value to its constant; the node is removed by the caller. */
  for (int i = 0; i < n->n_outputs; i++) {
    mt_value_id v = n->outputs[i];
    if (v == MT_NO_VALUE) continue;
    int32_t c;
    st = mt_module_intern_constant(m, outs[i].dtype, outs[i].rank, outs[i].dims, outs[i].data,
                                   mt_tensor_nbytes(&outs[i]), &c);
    if (st) goto done;
    mt_module_bind_constant(m, v, c);
  }
  *folded = true;
done:
  if (outs) free_outputs(outs, n->n_outputs);
  free(views);
  free(inputs);
  free(outs);
  if (st) return mt_status_annotate(st, "folding %s", mt_node_label(m, mt_module_node_c(m, id)));
  return NULL;
}

mt_status *mt_pass_fold_constants(mt_pass_ctx *ctx) {
  mt_module *m = ctx->module;
  uint8_t *remove = calloc((size_t)mt_module_node_count(m) + 1, 1);
  if (!remove) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  for (int32_t t = 0; t < mt_module_tenant_count(m) && !st; t++) {
    mt_graph *g = mt_module_tenant(m, t)->graph;
    bool any = false;
    for (int k = 0; k < g->n_nodes && !st; k++) {
      bool folded;
      st = fold_node(m, g->nodes[k], &folded);
      if (!st && folded) {
        remove[g->nodes[k]] = 1;
        any = true;
      }
    }
    if (st || !any) continue;
    mt_graph_remove_nodes(m, g, remove);
    /* The outputs are constants now, produced by no node. */
    for (int32_t id = 0; id < mt_module_node_count(m); id++) {
      if (!remove[id]) continue;
      const mt_node *n = mt_module_node_c(m, id);
      for (int i = 0; i < n->n_outputs; i++)
        if (n->outputs[i] != MT_NO_VALUE) mt_module_value(m, n->outputs[i])->producer = -1;
      remove[id] = 0;
    }
  }
  free(remove);
  return st;
}
