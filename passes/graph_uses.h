/* Use index for graph passes: who reads each value.
 *
 * A read is a node input slot (in a tenant's main graph or in any subgraph nested in it) or a
 * graph output (main graph or subgraph). Only nodes still listed in a graph count, so removed
 * nodes never keep a value alive. The index is a snapshot: rebuild it after rewriting the module. */
#ifndef MT_PASSES_GRAPH_USES_H
#define MT_PASSES_GRAPH_USES_H

#include "ir/module.h"

typedef struct mt_use {
  int32_t node; /* reading node id, or -1 for a graph output */
  int32_t slot; /* input index of that node, or the graph output index */
} mt_use;

typedef struct mt_use_index {
  int32_t n_values;
  int32_t *start; /* CSR: uses of v are uses[start[v] .. start[v + 1]) */
  mt_use *uses;
  uint8_t *graph_output; /* 1 when v is an output of some graph (main or subgraph) */
  uint8_t *main_output;  /* 1 when v is an output of a tenant's main graph */
} mt_use_index;

/* Builds the index over every tenant's main graph and their subgraphs. */
MT_MUST_USE mt_status *mt_use_index_build(const mt_module *m, mt_use_index *out);
void mt_use_index_free(mt_use_index *ix);

/* Number of reads of v (node input slots plus graph outputs). */
static inline int32_t mt_use_count(const mt_use_index *ix, mt_value_id v) {
  return v < 0 || v >= ix->n_values ? 0 : ix->start[v + 1] - ix->start[v];
}
static inline bool mt_use_is_graph_output(const mt_use_index *ix, mt_value_id v) {
  return v >= 0 && v < ix->n_values && ix->graph_output[v];
}
/* True when every read of v is an input slot of `node` (and there is at least one). */
bool mt_use_only_reader(const mt_use_index *ix, mt_value_id v, int32_t node);

#endif
