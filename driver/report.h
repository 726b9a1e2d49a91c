/* The compile report: the JSON file behind `mtcc compile --report` and the human summary.
 * Both read the same numbers from the scheduled plan so they never disagree. Internal to the
 * driver; callers use mtcc_compilation_write_report / mtcc_compilation_print_summary. */
#ifndef MT_DRIVER_REPORT_H
#define MT_DRIVER_REPORT_H

#include <stdio.h>

#include "mtcc.h"
#include "codegen/cpu/cpu.h"
#include "codegen/cuda.h"
#include "plan/plan.h"

/* What codegen made of the plan (kernels, groups not generated, NVRTC results when run). */
typedef struct mt_codegen_result {
  const mt_cuda_program *program;   /* NULL: codegen did not run */
  const mt_cuda_compiled *compiled; /* NULL: NVRTC did not run */
  const char *const *archs;
  int n_archs;
  const char *nvrtc;         /* "NVRTC 13.0", or why it did not run */
  const mt_cpu_program *cpu; /* the CPU backend's code, NULL: not asked for */
} mt_codegen_result;

/* The public statistics struct is the one the report is built from. */
typedef mtcc_compile_stats mt_compile_stats;

void mt_compile_stats_compute(const mt_plan *p, int nodes_imported, double compile_seconds,
                              mt_compile_stats *out);
/* Writes the JSON report atomically. */
MT_MUST_USE mt_status *mt_compile_report_write(const char *path, const mt_plan *p,
                                               const mt_compile_stats *s,
                                               const int *nodes_per_tenant_imported,
                                               const mt_codegen_result *cg);
/* Writes the report as an HTML page (driver/report_html.h), atomically. */
MT_MUST_USE mt_status *mt_compile_report_html_write(const char *path, const mt_plan *p,
                                                    const mt_compile_stats *s,
                                                    const int *nodes_per_tenant_imported,
                                                    const mt_codegen_result *cg);
void mt_compile_summary_print(FILE *out, const mt_plan *p, const mt_compile_stats *s,
                              const mt_codegen_result *cg);

/* The CPU backend's lines of the summary: objects per target and groups with code, and the
 * reasons the others fall back to the reference kernels, most frequent first (cpu is NULL when
 * CPU code was not asked for: nothing is printed). */
void mt_cpu_summary_print(FILE *out, const mt_cpu_program *cpu);
/* The report's "cpu_code" object: targets, and per horizontal group (plan ids, as the report's
 * "horizontal_groups") its kernels or why it has none. NULL when out of memory. */
struct json_t *mt_cpu_report_json(const mt_cpu_program *cpu);

#endif
