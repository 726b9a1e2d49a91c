/* Graph-editing helpers of the canonicalize pass (declared in canonicalize_internal.h): finding a
 * producer or a constant, removing a node, editing attributes and inputs, adding a float32
 * constant. Both canonicalize.c (the rule driver) and canonicalize_fold.c (the rewrites that make
 * new weights) call these; this file calls neither, so calls run one way: driver -> rules ->
 * helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/canonicalize_internal.h"

int32_t mt_canon_producer(const mt_canon *c, mt_value_id v, const char *op_type) {
  if (v == MT_NO_VALUE) return -1;
  const mt_value *val = mt_module_value_c(c->m, v);
  if (val->constant >= 0 || val->producer < 0) return -1;
  const mt_node *p = mt_module_node_c(c->m, val->producer);
  if (!mt_node_is_live(p) || p->graph->parent || *p->domain) return -1;
  if (op_type && strcmp(p->op_type, op_type) != 0) return -1;
  return val->producer;
}

bool mt_canon_constant(const mt_canon *c, mt_value_id v, mt_tensor *out_view) {
  if (v == MT_NO_VALUE) return false;
  const mt_value *val = mt_module_value_c(c->m, v);
  if (val->constant < 0) return false;
  mt_constant_view(mt_module_constant(c->m, val->constant), out_view);
  return true;
}

mt_status *mt_canon_remove_node(mt_canon *c, int32_t id) {
  mt_node *n = mt_module_node(c->m, id);
  if (!mt_node_is_live(n)) return NULL;
  uint8_t *remove = calloc((size_t)mt_module_node_count(c->m) + 1, 1);
  if (!remove) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  remove[id] = 1;
  mt_graph_remove_nodes(c->m, n->graph, remove);
  free(remove);
  return NULL;
}

mt_status *mt_canon_set_attr(mt_canon *c, int32_t id, const mt_attr *value) {
  mt_node *n = mt_module_node(c->m, id);
  mt_arena *arena = mt_module_arena(c->m);
  mt_attr *attrs = mt_arena_array(arena, (size_t)n->n_attrs + 1, sizeof *attrs);
  if (!attrs) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  int count = 0, at = -1;
  for (int a = 0; a < n->n_attrs; a++) {
    if (strcmp(n->attrs[a].name, value->name) == 0) at = count;
    attrs[count++] = n->attrs[a];
  }
  if (at < 0) at = count++;
  mt_attr *dst = &attrs[at];
  memset(dst, 0, sizeof *dst);
  dst->name = mt_arena_strdup(arena, value->name);
  dst->type = value->type;
  dst->i = value->i;
  dst->f = value->f;
  if (value->type == MT_ATTR_INTS) {
    dst->count = value->count;
    dst->ints = mt_arena_array(arena, (size_t)(value->count ? value->count : 1), sizeof *dst->ints);
    if (!dst->ints) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    if (value->count) memcpy(dst->ints, value->ints, (size_t)value->count * sizeof *dst->ints);
  }
  if (!dst->name) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  n->attrs = attrs;
  n->n_attrs = count;
  return NULL;
}

mt_status *mt_canon_resize_inputs(mt_canon *c, int32_t id, int n_inputs) {
  mt_node *n = mt_module_node(c->m, id);
  if (n_inputs <= n->n_inputs) return NULL;
  mt_value_id *in = mt_arena_array(mt_module_arena(c->m), (size_t)n_inputs, sizeof *in);
  if (!in) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < n_inputs; i++) in[i] = i < n->n_inputs ? n->inputs[i] : MT_NO_VALUE;
  n->inputs = in;
  n->n_inputs = n_inputs;
  return NULL;
}

mt_status *mt_canon_add_f32(mt_canon *c, int32_t id, const char *suffix, int rank,
                            const int64_t *dims, const float *data, mt_value_id *out_value) {
  mt_node *n = mt_module_node(c->m, id);
  char name[512];
  snprintf(name, sizeof name, "%s%s", n->name, suffix);
  mt_tensor t = {.dtype = MT_DTYPE_FLOAT32, .rank = rank, .data = (void *)data};
  for (int d = 0; d < rank; d++) t.dims[d] = dims[d];
  return mt_module_add_constant_value(c->m, n->graph, name, &t, out_value);
}
