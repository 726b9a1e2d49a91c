/* What a compilation holds, for the driver's own files and for in-tree callers (tests, and the
 * codegen step the driver will run next) that need the module and plan behind the public
 * mtcc_compilation handle. Applications use include/mtcc.h only. */
#ifndef MT_DRIVER_COMPILATION_H
#define MT_DRIVER_COMPILATION_H

#include "frontend/manifest.h"
#include "mtcc.h"
#include "codegen/cpu/cpu.h"
#include "codegen/cuda.h"
#include "passes/pass_manager.h"

struct mtcc_compilation {
  mt_manifest *manifest;
  mt_module *module;
  mt_plan *plan;                /* refers to module and to arch below */
  mt_arch_params arch;          /* the target, overrides applied; the plan points here */
  mt_partition_budget *budgets; /* per manifest partition; names borrowed from the manifest */
  int *nodes_imported;          /* per tenant: graph nodes as imported, before any pass */
  mtcc_compile_stats stats;
  mt_cuda_program *cuda;      /* codegen's kernels and not-generated records */
  mt_cuda_compiled *compiled; /* NVRTC results (n_archs per kernel), or NULL */
  const char *archs[8];
  int n_archs;
  char nvrtc[160];
  mt_cpu_program *cpu; /* the CPU backend's objects and per-group coverage, or NULL: not asked */
};

/* The module and the scheduled plan of c; both live until mtcc_compilation_destroy(c). */
const mt_module *mt_driver_compilation_module(const mtcc_compilation *c);
const mt_plan *mt_driver_compilation_plan(const mtcc_compilation *c);

/* Budgets must fit every target the manifest names, not only the one the cost model uses:
 * each partition's SM budget is granted on every target in turn; the error names the partition
 * and the target. */
MT_MUST_USE mt_status *mt_driver_budgets_check(const mt_manifest *mf);

/* Binds each "[TENANT:]NAME=FILE" of specs (mtcc_compile_options.constant_inputs): the tensor
 * file's value replaces that graph input as a constant (constant_inputs.c). */
MT_MUST_USE mt_status *mt_driver_bind_constant_inputs(mt_module *m, const char *const *specs,
                                                      int n);

#endif
