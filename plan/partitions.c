/* SM partitions: each partition's budget checked against the target and rounded to what green
 * contexts can give (multiples of the arch's partition granularity, at least its minimum).
 * Budgeted partitions are disjoint SM sets, granted in manifest order; a partition without a
 * budget gets what they leave (the whole GPU when no partition has a budget), rounded down to the
 * granularity, shared with any other unbudgeted partition. Every error names the partition. */
#include <stdio.h>

#include "plan/plan.h"

/* "'a' 16, 'b' 64" for the budgeted partitions before `upto`, for messages. */
static void describe_granted(const mt_partition_plan *parts, int upto, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < upto && len + 64 < cap; i++)
    if (parts[i].sm_budget > 0) {
      int w = snprintf(buf + len, cap - len, "%s'%s' %d", len ? ", " : "", parts[i].name,
                       parts[i].sm_count);
      if (w > 0) len += (size_t)w;
    }
  if (len + 64 >= cap && cap > 4) snprintf(buf + cap - 4, 4, "...");
}

mt_status *mt_partitions_assign(mt_partition_plan *parts, int n, const mt_arch_params *arch) {
  int g = arch->sm_partition_granularity > 0 ? arch->sm_partition_granularity : 1;
  int used = 0;
  char detail[512];
  for (int i = 0; i < n; i++) {
    mt_partition_plan *pp = &parts[i];
    if (pp->sm_budget <= 0) continue;
    if (pp->sm_budget > arch->sm_count)
      return MT_ERR(RESOURCE_EXHAUSTED, "partition '%s': SM budget %d exceeds the %d SMs of %s",
                    pp->name, pp->sm_budget, arch->sm_count, arch->name);
    int granted = (pp->sm_budget + g - 1) / g * g;
    if (granted < arch->sm_min_partition) granted = arch->sm_min_partition;
    if (granted > arch->sm_count)
      return MT_ERR(RESOURCE_EXHAUSTED,
                    "partition '%s': SM budget %d rounds up to %d (multiples of %d on %s), more "
                    "than its %d SMs",
                    pp->name, pp->sm_budget, granted, g, arch->name, arch->sm_count);
    if (used + granted > arch->sm_count) {
      describe_granted(parts, i, detail, sizeof detail);
      return MT_ERR(RESOURCE_EXHAUSTED,
                    "partition '%s': SM budget %d (%d after rounding to multiples of %d) does not "
                    "fit: %s has %d SMs and %d are already granted (%s)",
                    pp->name, pp->sm_budget, granted, g, arch->name, arch->sm_count, used, detail);
    }
    pp->sm_count = granted;
    used += granted;
  }
  int left = used == 0 ? arch->sm_count : (arch->sm_count - used) / g * g;
  for (int i = 0; i < n; i++) {
    mt_partition_plan *pp = &parts[i];
    if (pp->sm_budget > 0) continue;
    if (left < arch->sm_min_partition || left <= 0) {
      describe_granted(parts, n, detail, sizeof detail);
      return MT_ERR(RESOURCE_EXHAUSTED,
                    "partition '%s' has no SM budget and the budgeted partitions leave %d of the "
                    "%d SMs of %s (%s), fewer than a partition's minimum of %d",
                    pp->name, arch->sm_count - used, arch->sm_count, arch->name, detail,
                    arch->sm_min_partition);
    }
    pp->sm_count = left;
  }
  return NULL;
}
