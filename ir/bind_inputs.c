/* Ahead-of-time specialisation on input values: which graph inputs shape inference needs the
 * values of, and turning such an input into a constant (see ir.h). */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/op.h"

void mt_graph_inputs_needed_at_compile_time(const mt_module *m, const mt_graph *g, bool *need) {
  int32_t n_values = mt_module_value_count(m);
  uint8_t *want = calloc((size_t)n_values + 1, 1);
  for (int i = 0; i < g->n_inputs; i++) need[i] = false;
  if (!want) return;
  /* Walk backwards: a node whose output is wanted needs every input's value too, so a shape
   * operand computed from a graph input (Cast, Concat of a Shape...) reaches that input. */
  for (int k = g->n_nodes - 1; k >= 0; k--) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    bool out_wanted = false;
    for (int o = 0; o < n->n_outputs; o++)
      out_wanted |= n->outputs[o] != MT_NO_VALUE && want[n->outputs[o]];
    uint32_t value_inputs = n->def ? n->def->value_inputs | n->def->lower_value_inputs : 0;
    for (int i = 0; i < n->n_inputs; i++) {
      if (n->inputs[i] == MT_NO_VALUE) continue;
      if (out_wanted || (i < 32 && (value_inputs >> i & 1u))) want[n->inputs[i]] = 1;
    }
  }
  for (int i = 0; i < g->n_inputs; i++) need[i] = want[g->inputs[i]] != 0;
  free(want);
}

mt_status *mt_graph_bind_input(mt_module *m, mt_graph *g, int index, const mt_tensor *value) {
  if (index < 0 || index >= g->n_inputs)
    return MT_ERR(OUT_OF_RANGE, "graph '%s' has no input %d", g->name, index);
  mt_value_id v = g->inputs[index];
  const mt_value *val = mt_module_value_c(m, v);
  if (value->dtype != val->dtype || value->rank != val->rank)
    return MT_ERR(INVALID_ARGUMENT,
                  "input '%s': the bound value is %s rank %d, the model declares %s rank %d",
                  val->name, mt_dtype_name(value->dtype), value->rank, mt_dtype_name(val->dtype),
                  val->rank);
  for (int d = 0; d < val->rank; d++)
    if (val->dims[d] >= 0 && val->dims[d] != value->dims[d])
      return MT_ERR(INVALID_ARGUMENT,
                    "input '%s': dim %d of the bound value is %lld, the model declares %lld",
                    val->name, d, (long long)value->dims[d], (long long)val->dims[d]);
  int32_t c;
  MT_RETURN_IF_ERROR(mt_module_intern_constant(m, value->dtype, value->rank, value->dims,
                                               value->data, mt_tensor_nbytes(value), &c),
                     "input '%s'", val->name);
  mt_module_bind_constant(m, v, c);
  for (int i = index; i + 1 < g->n_inputs; i++) g->inputs[i] = g->inputs[i + 1];
  g->n_inputs--;
  return NULL;
}
