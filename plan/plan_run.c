/* Executes a plan on the reference executor, in schedule order, optionally with intermediates at
 * their memory-plan offsets: the semantic check behind every plan pass. */
#include <stdlib.h>
#include <string.h>

#include "ir/evaluator.h"
#include "plan/plan.h"

typedef struct placement_state {
  const mt_plan *plan;
  int32_t *buffer_of_value; /* -1 when the value has no planned buffer */
  unsigned char **arenas;   /* per partition */
  mt_status *error;
} placement_state;

static void *place(void *user, mt_value_id v, size_t size) {
  placement_state *ps = user;
  int32_t b = ps->buffer_of_value[v];
  if (b < 0) return NULL;
  const mt_buffer *buf = &ps->plan->buffers[b];
  if (size > buf->size) {
    if (!ps->error)
      ps->error = MT_ERR(INTERNAL, "memory plan: value '%s' needs %zu bytes, its buffer has %zu",
                         mt_module_value_c(ps->plan->module, v)->name, size, buf->size);
    return NULL;
  }
  return ps->arenas[buf->partition] + buf->offset;
}

static int cmp_position(const void *a, const void *b, void *ctx) {
  const mt_plan *p = ctx;
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  const mt_horizontal_group *hx = &p->hgroups[x], *hy = &p->hgroups[y];
  if (hx->partition != hy->partition) return hx->partition - hy->partition;
  int px = hx->position >= 0 ? hx->position : x, py = hy->position >= 0 ? hy->position : y;
  return px != py ? px - py : x - y;
}

/* qsort_r is a GNU extension; a tiny insertion sort keeps this portable and stable. */
static void sort_hgroups(const mt_plan *p, int32_t *order, int n) {
  for (int i = 1; i < n; i++) {
    int32_t x = order[i];
    int j = i - 1;
    while (j >= 0 && cmp_position(&order[j], &x, (void *)p) > 0) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = x;
  }
}

mt_status *mt_plan_reference_run(const mt_plan *p, bool use_memory_plan, mt_tensor *const *inputs,
                                 mt_tensor *const *outputs) {
  const mt_module *m = p->module;
  mt_eval *ev;
  MT_RETURN_IF_ERROR_PLAIN(mt_eval_create(m, true, &ev));
  placement_state ps = {.plan = p};
  int32_t *order = malloc(sizeof *order * ((size_t)p->n_hgroups + 1));
  mt_status *st = order ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st && use_memory_plan) {
    ps.buffer_of_value = malloc(sizeof(int32_t) * ((size_t)mt_module_value_count(m) + 1));
    ps.arenas = calloc((size_t)p->n_partitions + 1, sizeof *ps.arenas);
    if (!ps.buffer_of_value || !ps.arenas) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    for (int32_t v = 0; !st && v < mt_module_value_count(m); v++) ps.buffer_of_value[v] = -1;
    for (int b = 0; !st && b < p->n_buffers; b++) ps.buffer_of_value[p->buffers[b].value] = b;
    for (int i = 0; !st && i < p->n_partitions; i++) {
      ps.arenas[i] = malloc(p->partitions[i].arena_bytes ? p->partitions[i].arena_bytes : 1);
      if (!ps.arenas[i])
        st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory for a %zu-byte arena",
                    p->partitions[i].arena_bytes);
    }
    if (!st) mt_eval_set_placement(ev, place, &ps);
  }
  for (int32_t t = 0; !st && t < mt_module_tenant_count(m); t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int i = 0; i < g->n_inputs; i++) mt_eval_set_input(ev, g->inputs[i], &inputs[t][i]);
  }
  for (int i = 0; order && i < p->n_hgroups; i++) order[i] = i;
  if (!st) sort_hgroups(p, order, p->n_hgroups);
  for (int i = 0; !st && i < p->n_hgroups; i++) {
    const mt_horizontal_group *hg = &p->hgroups[order[i]];
    for (int k = 0; !st && k < hg->n_members; k++) {
      const mt_fused_group *fg = &p->groups[hg->members[k]];
      for (int j = 0; !st && j < fg->n_nodes; j++) st = mt_eval_node(ev, fg->nodes[j]);
    }
    if (!st && ps.error) st = ps.error, ps.error = NULL;
  }
  for (int32_t t = 0; !st && t < mt_module_tenant_count(m); t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int i = 0; !st && i < g->n_outputs; i++) {
      const mt_tensor *v = mt_eval_value(ev, g->outputs[i]);
      if (!v || !v->data) {
        st = MT_ERR(INTERNAL, "plan never computed output '%s' of tenant '%s'",
                    mt_module_value_c(m, g->outputs[i])->name, mt_module_tenant_c(m, t)->name);
        break;
      }
      outputs[t][i] = *v;
      size_t bytes = mt_tensor_nbytes(v);
      outputs[t][i].data = malloc(bytes ? bytes : 1);
      if (!outputs[t][i].data)
        st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      else
        memcpy(outputs[t][i].data, v->data, bytes);
    }
  }
  mt_eval_destroy(ev);
  mt_status_free(ps.error);
  for (int i = 0; ps.arenas && i < p->n_partitions; i++) free(ps.arenas[i]);
  free(ps.arenas);
  free(ps.buffer_of_value);
  free(order);
  return st;
}
