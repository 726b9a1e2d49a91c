/* The compile report: the JSON file behind `mtcc compile --report` and the human summary.
 * Both read the same numbers from the scheduled plan so they never disagree. */
#ifndef MT_TOOLS_COMPILE_REPORT_H
#define MT_TOOLS_COMPILE_REPORT_H

#include <stdio.h>

#include "plan/plan.h"

typedef struct mt_compile_stats {
  int nodes_imported;      /* graph nodes as imported (all tenants, main graphs) */
  int kernels_unfused;     /* live nodes after cleanup: one launch each without fusion */
  int fused_groups;
  int kernels_fused;       /* horizontal groups: launches per round */
  int horizontal_formed;   /* horizontal groups with more than one member */
  double intermediate_bytes_unfused; /* every node output written to memory */
  double intermediate_bytes_fused;   /* only values that leave a fused group */
  size_t peak_arena_bytes, unplanned_bytes;
  double makespan_us;      /* predicted round makespan (max over partitions) */
  double sum_alone_us;     /* sum of tenants' predicted latencies, each alone */
  double compile_seconds;
} mt_compile_stats;

void mt_compile_stats_compute(const mt_plan *p, int nodes_imported, double compile_seconds,
                              mt_compile_stats *out);
/* Writes the JSON report atomically. */
mt_status *mt_compile_report_write(const char *path, const mt_plan *p, const mt_compile_stats *s,
                                   const int *nodes_per_tenant_imported);
void mt_compile_summary_print(FILE *out, const mt_plan *p, const mt_compile_stats *s);

#endif
