/* Plan verifier (see plan.h): run after every plan pass. */
#include <stdlib.h>

#include "plan/plan.h"
#include "plan/schedule.h"

MT_MUST_USE static mt_status *check_groups(const mt_plan *p, int32_t *seen_in, int32_t *index_in) {
  const mt_module *m = p->module;
  for (int gi = 0; gi < p->n_groups; gi++) {
    const mt_fused_group *fg = &p->groups[gi];
    if (fg->n_nodes <= 0) return MT_ERR(INTERNAL, "plan: fused group %d is empty", gi);
    for (int k = 0; k < fg->n_nodes; k++) {
      int32_t id = fg->nodes[k];
      if (id < 0 || id >= mt_module_node_count(m))
        return MT_ERR(INTERNAL, "plan: group %d names node %d", gi, id);
      const mt_node *n = mt_module_node_c(m, id);
      if (!mt_node_is_live(n))
        return MT_ERR(INTERNAL, "plan: group %d holds removed node '%s'", gi, n->name);
      if (n->tenant != fg->tenant)
        return MT_ERR(INTERNAL, "plan: group %d mixes tenants (node '%s')", gi, n->name);
      if (seen_in[id] >= 0)
        return MT_ERR(INTERNAL, "plan: node '%s' is in groups %d and %d", n->name, seen_in[id], gi);
      seen_in[id] = gi;
      index_in[id] = k;
    }
    if (fg->hgroup < 0 || fg->hgroup >= p->n_hgroups)
      return MT_ERR(INTERNAL, "plan: group %d has no horizontal group", gi);
  }
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int k = 0; k < g->n_nodes; k++)
      if (seen_in[g->nodes[k]] < 0)
        return MT_ERR(INTERNAL, "plan: %s is in no fused group",
                      mt_node_label(m, mt_module_node_c(m, g->nodes[k])));
  }
  return NULL;
}

/* last_member_of[t]: the last horizontal group seen holding a group of tenant t (a horizontal group
 * of 10k tenants is checked in one pass, not by comparing every pair of members). */
MT_MUST_USE static mt_status *check_hgroups(const mt_plan *p, int32_t *last_member_of) {
  for (int h = 0; h < p->n_hgroups; h++) {
    const mt_horizontal_group *hg = &p->hgroups[h];
    if (hg->n_members <= 0) return MT_ERR(INTERNAL, "plan: horizontal group %d is empty", h);
    if (hg->kind == MT_HGROUP_SINGLE && hg->n_members != 1)
      return MT_ERR(INTERNAL, "plan: horizontal group %d is 'single' with %d members", h,
                    hg->n_members);
    for (int i = 0; i < hg->n_members; i++) {
      const mt_fused_group *fg = &p->groups[hg->members[i]];
      if (fg->hgroup != h)
        return MT_ERR(INTERNAL, "plan: group %d does not point back to horizontal group %d",
                      hg->members[i], h);
      if (p->tenant_partition[fg->tenant] != hg->partition)
        return MT_ERR(INTERNAL, "plan: horizontal group %d mixes partitions", h);
      if (last_member_of[fg->tenant] == h)
        return MT_ERR(INTERNAL, "plan: horizontal group %d holds two groups of tenant '%s'", h,
                      mt_module_tenant_c(p->module, fg->tenant)->name);
      last_member_of[fg->tenant] = h;
    }
  }
  return NULL;
}

/* With a schedule, every read must come after its write in position order within a partition;
 * the stream-level check (same stream earlier, or reached through waits) is mt_schedule_check's,
 * run below once streams are assigned. */
MT_MUST_USE static mt_status *check_schedule(const mt_plan *p, const int32_t *group_of_node,
                                             const int32_t *index_in) {
  const mt_module *m = p->module;
  bool scheduled = p->n_hgroups > 0;
  for (int h = 0; h < p->n_hgroups; h++) scheduled = scheduled && p->hgroups[h].position >= 0;
  for (int gi = 0; gi < p->n_groups; gi++) {
    const mt_fused_group *fg = &p->groups[gi];
    for (int k = 0; k < fg->n_nodes; k++) {
      const mt_node *n = mt_module_node_c(m, fg->nodes[k]);
      for (int i = 0; i < n->n_inputs; i++) {
        if (n->inputs[i] == MT_NO_VALUE) continue;
        int32_t prod = mt_module_value_c(m, n->inputs[i])->producer;
        if (prod < 0) continue;
        int32_t pg = group_of_node[prod];
        if (pg < 0) return MT_ERR(INTERNAL, "plan: '%s' reads a value of a removed node", n->name);
        if (pg == gi) {
          if (index_in[prod] >= k)
            return MT_ERR(INTERNAL, "plan: in group %d, '%s' runs before its producer", gi,
                          n->name);
          continue;
        }
        const mt_horizontal_group *ph = &p->hgroups[p->groups[pg].hgroup],
                                  *ch = &p->hgroups[fg->hgroup];
        if (pg != gi && p->groups[pg].hgroup == fg->hgroup)
          return MT_ERR(INTERNAL, "plan: horizontal group %d holds a group and its producer ('%s')",
                        fg->hgroup, n->name);
        if (scheduled && ph->partition == ch->partition && ph->position >= ch->position)
          return MT_ERR(INTERNAL, "plan: '%s' is scheduled before its producer", n->name);
      }
    }
  }
  return NULL;
}

mt_status *mt_plan_verify(const mt_plan *p) {
  int32_t n_nodes = mt_module_node_count(p->module);
  int32_t n_tenants = mt_module_tenant_count(p->module);
  int32_t *seen_in = malloc(sizeof *seen_in * ((size_t)n_nodes + 1));
  int32_t *index_in = malloc(sizeof *index_in * ((size_t)n_nodes + 1)); /* position in its group */
  int32_t *last_member_of = malloc(sizeof *last_member_of * ((size_t)n_tenants + 1));
  if (!seen_in || !index_in || !last_member_of) {
    free(seen_in);
    free(index_in);
    free(last_member_of);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (int32_t k = 0; k < n_nodes; k++) seen_in[k] = -1;
  for (int32_t t = 0; t < n_tenants; t++) last_member_of[t] = -1;
  mt_status *st = check_groups(p, seen_in, index_in);
  if (!st) st = check_hgroups(p, last_member_of);
  if (!st) st = check_schedule(p, seen_in, index_in);
  /* once streams are assigned, every cross-stream dependency must be an explicit wait */
  bool streamed = p->n_hgroups > 0;
  for (int h = 0; h < p->n_hgroups; h++) streamed = streamed && p->hgroups[h].stream >= 0;
  if (!st && streamed) st = mt_schedule_check(p);
  if (!st && p->n_buffers) st = mt_memory_plan_check(p);
  free(seen_in);
  free(index_in);
  free(last_member_of);
  return st ? mt_status_annotate(st, "plan verifier") : NULL;
}
