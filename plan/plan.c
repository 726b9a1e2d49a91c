/* Plan construction and bookkeeping: singleton groups, partitions, group inputs/outputs. */
#include "plan/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/op.h"

const char *mt_group_kind_name(mt_group_kind k) {
  switch (k) {
  case MT_GROUP_GEMM: return "gemm";
  case MT_GROUP_CONV: return "conv";
  case MT_GROUP_ELEMENTWISE: return "elementwise";
  case MT_GROUP_REDUCTION: return "reduction";
  case MT_GROUP_DATA_MOVEMENT: return "data-movement";
  case MT_GROUP_OTHER: return "other";
  }
  return "?";
}

const char *mt_hgroup_kind_name(mt_hgroup_kind k) {
  switch (k) {
  case MT_HGROUP_SINGLE: return "single";
  case MT_HGROUP_BATCHED_GEMM: return "batched-gemm";
  case MT_HGROUP_GROUPED_GEMM: return "grouped-gemm";
  case MT_HGROUP_GROUPED_CONV: return "grouped-conv";
  case MT_HGROUP_MULTI_BODY: return "multi-body";
  }
  return "?";
}

/* The kind of group a lone node forms, from its op's fusion pattern and traits. */
mt_group_kind mt_plan_node_group_kind(const mt_node *n) {
  switch (mt_node_pattern(n)) {
  case MT_PATTERN_ELEMENTWISE:
  case MT_PATTERN_BROADCAST: return MT_GROUP_ELEMENTWISE;
  case MT_PATTERN_INJECTIVE: return MT_GROUP_DATA_MOVEMENT;
  case MT_PATTERN_REDUCTION: return MT_GROUP_REDUCTION;
  case MT_PATTERN_OUT_FUSABLE:
    if (mt_node_has_traits(n, MT_TRAIT_GEMM)) return MT_GROUP_GEMM;
    if (mt_node_has_traits(n, MT_TRAIT_CONV)) return MT_GROUP_CONV;
    return MT_GROUP_OTHER;
  case MT_PATTERN_UNSET:
  case MT_PATTERN_OPAQUE: break;
  }
  return MT_GROUP_OTHER;
}

void mt_plan_destroy(mt_plan *p) {
  if (!p) return;
  const mt_allocator *a = mt_module_allocator(p->module);
  mt_arena_release(&p->arena);
  mt_allocator_free(a, p->groups);
  mt_allocator_free(a, p->hgroups);
  mt_allocator_free(a, p->rejections);
  mt_allocator_free(a, p->notes);
  mt_allocator_free(a, p);
}

/* Appends (pass, what, reason) to a growable list of report lines. */
MT_MUST_USE static mt_status *append_line(mt_plan *p, mt_rejection **list, int *n, int *cap,
                                          const char *pass, const char *what, const char *reason) {
  if (*n == *cap) {
    int c = *cap ? *cap * 2 : 64;
    mt_rejection *r =
        mt_allocator_realloc(mt_module_allocator(p->module), *list, (size_t)c * sizeof *r);
    if (!r) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory recording a report line");
    *list = r;
    *cap = c;
  }
  mt_rejection *r = &(*list)[*n];
  r->pass = mt_arena_strdup(&p->arena, pass);
  r->what = mt_arena_strdup(&p->arena, what);
  r->reason = mt_arena_strdup(&p->arena, reason);
  if (!r->pass || !r->what || !r->reason)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory recording a report line");
  (*n)++;
  return NULL;
}

mt_status *mt_plan_reject(mt_plan *p, const char *pass, const char *what, const char *reason) {
  return append_line(p, &p->rejections, &p->n_rejections, &p->cap_rejections, pass, what, reason);
}

mt_status *mt_plan_note(mt_plan *p, const char *pass, const char *what, const char *how) {
  return append_line(p, &p->notes, &p->n_notes, &p->cap_notes, pass, what, how);
}

mt_status *mt_plan_create(const mt_module *m, const mt_arch_params *arch,
                          const mt_partition_budget *budgets, int n_budgets, mt_plan **out_plan) {
  const mt_allocator *alloc = mt_module_allocator(m);
  mt_plan *p = mt_allocator_calloc(alloc, 1, sizeof *p);
  if (!p) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_arena_init(&p->arena, alloc);
  p->module = m;
  p->arch = arch;
  int32_t n_tenants = mt_module_tenant_count(m);
  mt_status *st = NULL;
  p->tenant_partition = mt_arena_array(&p->arena, (size_t)n_tenants + 1, sizeof(int32_t));
  p->partitions = mt_arena_array(&p->arena, (size_t)n_tenants + (size_t)n_budgets + 1,
                                 sizeof(mt_partition_plan));
  if (!p->tenant_partition || !p->partitions) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  /* partitions in manifest order (budgets), then any others named by tenants */
  for (int i = 0; !st && i < n_budgets; i++) {
    p->partitions[p->n_partitions].name = mt_arena_strdup(&p->arena, budgets[i].name);
    p->partitions[p->n_partitions].hard = budgets[i].hard;
    p->partitions[p->n_partitions++].sm_budget = budgets[i].sm_budget;
  }
  for (int32_t t = 0; !st && t < n_tenants; t++) {
    const char *name = mt_module_tenant_c(m, t)->partition;
    int idx = -1;
    for (int k = 0; k < p->n_partitions; k++)
      if (strcmp(p->partitions[k].name, name) == 0) idx = k;
    if (idx < 0) {
      idx = p->n_partitions++;
      p->partitions[idx].name = mt_arena_strdup(&p->arena, name);
    }
    p->tenant_partition[t] = idx;
  }
  if (!st) st = mt_partitions_assign(p->partitions, p->n_partitions, arch);
  int32_t n_nodes = mt_module_node_count(m);
  p->cap_groups = p->cap_hgroups = n_nodes + 1;
  p->groups = mt_allocator_calloc(alloc, (size_t)p->cap_groups, sizeof *p->groups);
  p->hgroups = mt_allocator_calloc(alloc, (size_t)p->cap_hgroups, sizeof *p->hgroups);
  if (!st && (!p->groups || !p->hgroups)) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int32_t t = 0; !st && t < n_tenants; t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int k = 0; !st && k < g->n_nodes; k++) {
      const mt_node *n = mt_module_node_c(m, g->nodes[k]);
      mt_fused_group *fg = &p->groups[p->n_groups];
      fg->tenant = t;
      fg->kind = mt_plan_node_group_kind(n);
      fg->anchor = g->nodes[k];
      fg->n_nodes = 1;
      fg->nodes = mt_arena_array(&p->arena, 1, sizeof(int32_t));
      if (!fg->nodes) {
        st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
        break;
      }
      fg->nodes[0] = g->nodes[k];
      fg->hgroup = p->n_hgroups;
      mt_horizontal_group *hg = &p->hgroups[p->n_hgroups++];
      hg->kind = MT_HGROUP_SINGLE;
      hg->partition = p->tenant_partition[t];
      hg->n_members = 1;
      hg->members = mt_arena_array(&p->arena, 1, sizeof(int32_t));
      if (!hg->members) {
        st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
        break;
      }
      hg->members[0] = p->n_groups++;
      hg->stream = -1;
      hg->position = -1;
    }
  }
  if (!st) st = mt_plan_refresh_groups(p);
  if (st) {
    mt_plan_destroy(p);
    return st;
  }
  *out_plan = p;
  return NULL;
}

/* Marks, for every value read by `reader_group`'s nodes (subgraph reads included), whether the
 * read crosses a group boundary. */
static void mark_reads(const mt_plan *p, const mt_graph *g, int32_t reader_group,
                       uint8_t *escapes) {
  const mt_module *m = p->module;
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    for (int i = 0; i < n->n_inputs; i++) {
      mt_value_id v = n->inputs[i];
      if (v == MT_NO_VALUE) continue;
      int32_t prod = mt_module_value_c(m, v)->producer;
      int32_t pg = prod >= 0 ? p->group_of_node[prod] : -1;
      if (pg != reader_group) escapes[v] = 1;
    }
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
        mark_reads(p, n->attrs[a].graphs[j], reader_group, escapes);
  }
}

mt_status *mt_plan_refresh_groups(mt_plan *p) {
  const mt_module *m = p->module;
  int32_t n_nodes = mt_module_node_count(m), n_values = mt_module_value_count(m);
  p->group_of_node = mt_arena_array(&p->arena, (size_t)n_nodes + 1, sizeof(int32_t));
  uint8_t *escapes = calloc((size_t)n_values + 1, 1);
  uint8_t *seen = calloc((size_t)n_values + 1, 1);
  mt_status *st =
      (!p->group_of_node || !escapes || !seen) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  for (int32_t k = 0; !st && k < n_nodes; k++) p->group_of_node[k] = -1;
  for (int gi = 0; !st && gi < p->n_groups; gi++)
    for (int k = 0; k < p->groups[gi].n_nodes; k++) p->group_of_node[p->groups[gi].nodes[k]] = gi;
  for (int gi = 0; !st && gi < p->n_groups; gi++) {
    const mt_fused_group *fg = &p->groups[gi];
    for (int k = 0; k < fg->n_nodes; k++) {
      const mt_node *n = mt_module_node_c(m, fg->nodes[k]);
      for (int i = 0; i < n->n_inputs; i++) {
        mt_value_id v = n->inputs[i];
        if (v == MT_NO_VALUE) continue;
        int32_t prod = mt_module_value_c(m, v)->producer;
        if ((prod >= 0 ? p->group_of_node[prod] : -1) != gi) escapes[v] = 1;
      }
      for (int a = 0; a < n->n_attrs; a++)
        for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++)
          mark_reads(p, n->attrs[a].graphs[j], gi, escapes);
    }
  }
  for (int32_t t = 0; !st && t < mt_module_tenant_count(m); t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int i = 0; i < g->n_outputs; i++) escapes[g->outputs[i]] = 1;
  }
  for (int gi = 0; !st && gi < p->n_groups; gi++) {
    mt_fused_group *fg = &p->groups[gi];
    int max_in = 0, max_out = 0;
    for (int k = 0; k < fg->n_nodes; k++) {
      const mt_node *n = mt_module_node_c(m, fg->nodes[k]);
      /* direct inputs only (the loop below collects no subgraph reads): sizing for subgraphs
       * by the module's value count made every group with an If cost O(module) */
      max_in += n->n_inputs;
      max_out += n->n_outputs;
    }
    fg->inputs = mt_arena_array(&p->arena, (size_t)max_in + 1, sizeof(mt_value_id));
    fg->outputs = mt_arena_array(&p->arena, (size_t)max_out + 1, sizeof(mt_value_id));
    if (!fg->inputs || !fg->outputs) {
      st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    fg->n_inputs = fg->n_outputs = 0;
    for (int k = 0; k < fg->n_nodes; k++) {
      const mt_node *n = mt_module_node_c(m, fg->nodes[k]);
      for (int i = 0; i < n->n_inputs; i++) {
        mt_value_id v = n->inputs[i];
        if (v == MT_NO_VALUE || seen[v]) continue;
        int32_t prod = mt_module_value_c(m, v)->producer;
        if ((prod >= 0 ? p->group_of_node[prod] : -1) == gi) continue;
        seen[v] = 1;
        if (fg->n_inputs < max_in) fg->inputs[fg->n_inputs++] = v;
      }
      for (int i = 0; i < n->n_outputs; i++) {
        mt_value_id v = n->outputs[i];
        if (v != MT_NO_VALUE && escapes[v]) fg->outputs[fg->n_outputs++] = v;
      }
    }
    for (int i = 0; i < fg->n_inputs; i++) seen[fg->inputs[i]] = 0;
  }
  free(escapes);
  free(seen);
  return st;
}
