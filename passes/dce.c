/* Pass: dead code elimination. A node none of whose outputs is read (by a node of any graph, a
 * subgraph, or a graph output) is removed; walking each graph backwards and releasing the reads of
 * every removed node (its subgraphs' reads included) reaches the fixed point in one sweep, and the
 * pass repeats until a sweep removes nothing as a safety net. Nested If bodies are cleaned the
 * same way. Constants that end up unread stay in the module: they are content-deduplicated and
 * shared across tenants, and nothing reads them into the plan, so dropping them gains nothing. */
#include <stdlib.h>

#include "passes/graph_uses.h"
#include "passes/pass_manager.h"

typedef struct dce {
  mt_module *m;
  int32_t *reads;  /* remaining reads per value */
  uint8_t *remove; /* per node id */
  int64_t removed;
} dce;

/* Releases every read made inside g (node inputs and graph outputs, recursively). */
static void release_graph(dce *d, const mt_graph *g) {
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(d->m, g->nodes[k]);
    for (int i = 0; i < n->n_inputs; i++)
      if (n->inputs[i] != MT_NO_VALUE) d->reads[n->inputs[i]]--;
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
        release_graph(d, n->attrs[a].graphs[j]);
  }
  for (int i = 0; i < g->n_outputs; i++) d->reads[g->outputs[i]]--;
}

/* Detaches every node of g (a subgraph of a removed node), nested ones first. */
static void drop_graph(dce *d, mt_graph *g) {
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(d->m, g->nodes[k]);
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
        drop_graph(d, n->attrs[a].graphs[j]);
    d->remove[g->nodes[k]] = 1;
  }
  mt_graph_remove_nodes(d->m, g, d->remove);
}

static void sweep_graph(dce *d, mt_graph *g) {
  bool any = false;
  for (int k = g->n_nodes - 1; k >= 0; k--) {
    int32_t id = g->nodes[k];
    const mt_node *n = mt_module_node_c(d->m, id);
    bool live = false;
    for (int i = 0; i < n->n_outputs && !live; i++)
      if (n->outputs[i] != MT_NO_VALUE && d->reads[n->outputs[i]] > 0) live = true;
    if (live) { /* its subgraphs may still hold dead nodes */
      for (int a = 0; a < n->n_attrs; a++)
        for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
          sweep_graph(d, n->attrs[a].graphs[j]);
      continue;
    }
    for (int i = 0; i < n->n_inputs; i++)
      if (n->inputs[i] != MT_NO_VALUE) d->reads[n->inputs[i]]--;
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++) {
        release_graph(d, n->attrs[a].graphs[j]);
        drop_graph(d, n->attrs[a].graphs[j]);
      }
    d->remove[id] = 1;
    d->removed++;
    any = true;
  }
  if (any) mt_graph_remove_nodes(d->m, g, d->remove);
}

mt_status *mt_pass_dce(mt_pass_ctx *ctx) {
  dce d = {.m = ctx->module};
  for (int round = 0; round < 100; round++) {
    mt_use_index ix;
    MT_RETURN_IF_ERROR_PLAIN(mt_use_index_build(d.m, &ix));
    int32_t nv = mt_module_value_count(d.m);
    d.reads = malloc(sizeof *d.reads * ((size_t)nv + 1));
    d.remove = calloc((size_t)mt_module_node_count(d.m) + 1, 1);
    if (!d.reads || !d.remove) {
      free(d.reads);
      free(d.remove);
      mt_use_index_free(&ix);
      return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    }
    for (int32_t v = 0; v < nv; v++) d.reads[v] = mt_use_count(&ix, v);
    mt_use_index_free(&ix);
    d.removed = 0;
    for (int32_t t = 0; t < mt_module_tenant_count(d.m); t++)
      sweep_graph(&d, mt_module_tenant(d.m, t)->graph);
    free(d.reads);
    free(d.remove);
    if (d.removed == 0) break;
  }
  return NULL;
}
