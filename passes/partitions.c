/* SM partitions: each partition's budget checked against the target and rounded to what green
 * contexts can give (multiples of the arch's partition granularity). */
#include <stdio.h>

#include "passes/plan.h"

mt_status *mt_partitions_assign(mt_partition_plan *parts, int n, const mt_arch_params *arch) {
  int explicit_total = 0;
  for (int i = 0; i < n; i++) {
    mt_partition_plan *pp = &parts[i];
    if (pp->sm_budget <= 0) { /* no budget: shares the whole GPU */
      pp->sm_count = arch->sm_count;
      continue;
    }
    if (pp->sm_budget > arch->sm_count)
      return MT_ERR(RESOURCE_EXHAUSTED, "partition '%s': SM budget %d exceeds the %d SMs of %s",
                    pp->name, pp->sm_budget, arch->sm_count, arch->name);
    int g = arch->sm_partition_granularity > 0 ? arch->sm_partition_granularity : 1;
    int granted = (pp->sm_budget + g - 1) / g * g;
    if (granted < arch->sm_min_partition) granted = arch->sm_min_partition;
    if (granted > arch->sm_count)
      return MT_ERR(RESOURCE_EXHAUSTED, "partition '%s': SM budget %d rounds up to %d (multiples of %d on %s), more than its %d SMs",
                    pp->name, pp->sm_budget, granted, g, arch->name, arch->sm_count);
    pp->sm_count = granted;
    explicit_total += granted;
  }
  if (explicit_total > arch->sm_count) {
    char detail[512];
    int len = 0;
    for (int i = 0; i < n && len < (int)sizeof detail - 64; i++)
      if (parts[i].sm_budget > 0)
        len += snprintf(detail + len, sizeof detail - (size_t)len, "%s'%s' %d", len ? ", " : "",
                        parts[i].name, parts[i].sm_count);
    return MT_ERR(RESOURCE_EXHAUSTED,
                  "partition budgets need %d SMs after rounding to multiples of %d (%s), but %s has %d",
                  explicit_total, arch->sm_partition_granularity, detail, arch->name, arch->sm_count);
  }
  return NULL;
}
