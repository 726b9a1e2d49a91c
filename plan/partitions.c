/* SM partitions: each partition's budget checked against the target and rounded to what green
 * contexts can give (multiples of the arch's partition granularity, at least its minimum).
 * Budgeted partitions are disjoint SM sets, granted in manifest order; a partition without a
 * budget gets what they leave (the whole GPU when no partition has a budget), rounded down to the
 * granularity, shared with any other unbudgeted partition. Green contexts split only
 * arch->green_ctx_sms of the SMs (sm_90: 120 of 132): what a partition without a budget gets is
 * taken from those when they suffice, and a grant running past them is noted on its partition
 * (the runtime then gives every partition a soft budget) or refused when the manifest says
 * "hard". Every error and note names the partition. */
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

/* Notes (or refuses, for "hard" partitions) the grants that run past the SMs green contexts can
 * split: the runtime splits the device once into granularity-sized groups and builds every
 * partition from its share, so grants summing past `green` cannot all be hard. Nothing to note
 * for a single partition holding the whole GPU (no budget asked for). */
MT_MUST_USE static mt_status *note_green_contexts(mt_partition_plan *parts, int n,
                                                  const mt_arch_params *arch, int green, int g) {
  int held = 0;
  bool any_budget = false;
  for (int i = 0; i < n; i++) {
    parts[i].budget_note[0] = '\0';
    any_budget = any_budget || parts[i].sm_budget > 0;
  }
  if (!any_budget && n == 1) return NULL;
  for (int i = 0; i < n; i++) {
    mt_partition_plan *pp = &parts[i];
    held += pp->sm_count;
    if (held <= green) continue;
    char why[160];
    snprintf(why, sizeof why,
             "the grants reach %d SMs with its %d, past the %d that green contexts split %s into "
             "(%d-SM groups; %d SMs in all)",
             held, pp->sm_count, green, arch->name, g, arch->sm_count);
    if (pp->hard)
      return MT_ERR(RESOURCE_EXHAUSTED,
                    "partition '%s' needs a hard SM budget (\"hard\": true) that green contexts "
                    "cannot give: %s",
                    pp->name, why);
    snprintf(pp->budget_note, sizeof pp->budget_note, "%s; every partition's budget will be soft",
             why);
  }
  return NULL;
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
  /* the leftover for unbudgeted partitions: from the SMs green contexts can split when that
   * leaves a partition's minimum, so every grant stays hard; else from all SMs (soft) */
  int green = arch->green_ctx_sms > 0 && arch->green_ctx_sms < arch->sm_count ? arch->green_ctx_sms
                                                                              : arch->sm_count;
  int left = used == 0 ? arch->sm_count : (arch->sm_count - used) / g * g;
  int green_left = (green - used) / g * g;
  if (used > 0 && green_left >= arch->sm_min_partition && green_left > 0) left = green_left;
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
  return note_green_contexts(parts, n, arch, green, g);
}
