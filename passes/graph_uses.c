/* Use index for graph passes (see graph_uses.h): two walks over the graphs, one counting reads
 * per value and one filling a compressed (CSR) list of them. */
#include "passes/graph_uses.h"

#include <stdlib.h>
#include <string.h>

/* Visits every read in g and its subgraphs; fill == false only counts into start[v + 1]. */
static void walk_graph(const mt_module *m, const mt_graph *g, bool is_main, mt_use_index *ix,
                       int32_t *cursor, bool fill) {
  for (int k = 0; k < g->n_nodes; k++) {
    int32_t id = g->nodes[k];
    const mt_node *n = mt_module_node_c(m, id);
    for (int i = 0; i < n->n_inputs; i++) {
      mt_value_id v = n->inputs[i];
      if (v == MT_NO_VALUE || v < 0 || v >= ix->n_values) continue;
      if (fill)
        ix->uses[cursor[v]++] = (mt_use){id, i};
      else
        ix->start[v + 1]++;
    }
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
        walk_graph(m, n->attrs[a].graphs[j], false, ix, cursor, fill);
  }
  for (int i = 0; i < g->n_outputs; i++) {
    mt_value_id v = g->outputs[i];
    if (v < 0 || v >= ix->n_values) continue;
    if (fill) {
      ix->uses[cursor[v]++] = (mt_use){-1, i};
      ix->graph_output[v] = 1;
      if (is_main) ix->main_output[v] = 1;
    } else {
      ix->start[v + 1]++;
    }
  }
}

mt_status *mt_use_index_build(const mt_module *m, mt_use_index *out) {
  memset(out, 0, sizeof *out);
  int32_t n = mt_module_value_count(m);
  out->n_values = n;
  out->start = calloc((size_t)n + 2, sizeof *out->start);
  out->graph_output = calloc((size_t)n + 1, 1);
  out->main_output = calloc((size_t)n + 1, 1);
  int32_t *cursor = calloc((size_t)n + 1, sizeof *cursor);
  if (!out->start || !out->graph_output || !out->main_output || !cursor) {
    free(cursor);
    mt_use_index_free(out);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory building the use index");
  }
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++)
    walk_graph(m, mt_module_tenant_c(m, t)->graph, true, out, cursor, false);
  for (int32_t v = 0; v < n; v++) out->start[v + 1] += out->start[v];
  out->uses = malloc(sizeof *out->uses * ((size_t)out->start[n] + 1));
  if (!out->uses) {
    free(cursor);
    mt_use_index_free(out);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory building the use index");
  }
  memcpy(cursor, out->start, sizeof *cursor * (size_t)n);
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++)
    walk_graph(m, mt_module_tenant_c(m, t)->graph, true, out, cursor, true);
  free(cursor);
  return NULL;
}

void mt_use_index_free(mt_use_index *ix) {
  free(ix->start);
  free(ix->uses);
  free(ix->graph_output);
  free(ix->main_output);
  memset(ix, 0, sizeof *ix);
}

bool mt_use_only_reader(const mt_use_index *ix, mt_value_id v, int32_t node) {
  if (mt_use_count(ix, v) == 0) return false;
  for (int32_t u = ix->start[v]; u < ix->start[v + 1]; u++)
    if (ix->uses[u].node != node) return false;
  return true;
}
