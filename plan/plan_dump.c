/* Text dump of a plan: partitions, horizontal groups in schedule order with their members. */
#include "plan/plan.h"
#include "runtime/base/escape.h"

void mt_plan_dump(const mt_plan *p, FILE *out) {
  const mt_module *m = p->module;
  for (int i = 0; i < p->n_partitions; i++) {
    const mt_partition_plan *pp = &p->partitions[i];
    fprintf(out,
            "partition '%s': %d SMs (budget %d), %d streams, arena %zu bytes (unplanned %zu), "
            "makespan %.1f us\n",
            mt_esc(pp->name), pp->sm_count, pp->sm_budget, pp->n_streams, pp->arena_bytes,
            pp->unplanned_bytes, pp->predicted_makespan_us);
  }
  for (int h = 0; h < p->n_hgroups; h++) {
    const mt_horizontal_group *hg = &p->hgroups[h];
    fprintf(out, "hgroup %d [%s] partition %d stream %d position %d %.1f us", h,
            mt_hgroup_kind_name(hg->kind), hg->partition, hg->stream, hg->position,
            hg->cost.predicted_us);
    if (hg->n_waits) {
      fputs(" waits", out);
      for (int w = 0; w < hg->n_waits; w++) fprintf(out, " %d", hg->waits[w]);
    }
    fputc('\n', out);
    for (int k = 0; k < hg->n_members; k++) {
      const mt_fused_group *fg = &p->groups[hg->members[k]];
      fprintf(out, "  group %d tenant '%s' %s:", hg->members[k],
              mt_esc(mt_module_tenant_c(m, fg->tenant)->name), mt_group_kind_name(fg->kind));
      for (int j = 0; j < fg->n_nodes; j++) {
        const mt_node *n = mt_module_node_c(m, fg->nodes[j]);
        fprintf(out, " %s(%s)", mt_esc(n->op_type), mt_esc(n->name));
      }
      fputc('\n', out);
    }
  }
  for (int r = 0; r < p->n_rejections; r++)
    fprintf(out, "rejected [%s] %s: %s\n", p->rejections[r].pass,
            mt_esc_text(p->rejections[r].what), mt_esc_text(p->rejections[r].reason));
}
