/* mtcc compile: import every tenant, run the pass pipeline, print the summary and write the
 * report. (Codegen and the bundle come with the codegen issue; today compile stops at the
 * scheduled, memory-planned module.) */
#include <stdlib.h>
#include <string.h>

#include "frontend/manifest.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"
#include "tools/cli.h"
#include "tools/compile_report.h"

typedef struct compile_args {
  char **paths;
  int n_paths;
  const char **disabled;
  int n_disabled;
  const char *dump_after, *report, *target, *arch_params;
} compile_args;

static mt_status *parse_args(int argc, char **argv, compile_args *a) {
  a->paths = calloc((size_t)argc + 1, sizeof *a->paths);
  a->disabled = calloc((size_t)argc + 1, sizeof *a->disabled);
  if (!a->paths || !a->disabled) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    const char *val = NULL;
    /* --opt=VALUE and --opt VALUE both work */
    static const char *const with_value[] = {"--dump-ir-after", "--disable-pass", "--report",
                                             "--target", "--arch-params"};
    const char *opt = NULL;
    for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++) {
      size_t n = strlen(with_value[k]);
      if (strncmp(arg, with_value[k], n) == 0 && (arg[n] == '=' || arg[n] == 0)) {
        opt = with_value[k];
        val = arg[n] == '=' ? arg + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
      }
    }
    if (opt && !val) return MT_ERR(INVALID_ARGUMENT, "compile: %s needs a value", opt);
    if (!opt && arg[0] == '-') return MT_ERR(INVALID_ARGUMENT, "compile: unknown option '%s'", arg);
    if (!opt) a->paths[a->n_paths++] = argv[i];
    else if (strcmp(opt, "--dump-ir-after") == 0) a->dump_after = val;
    else if (strcmp(opt, "--disable-pass") == 0) a->disabled[a->n_disabled++] = val;
    else if (strcmp(opt, "--report") == 0) a->report = val;
    else if (strcmp(opt, "--target") == 0) a->target = val;
    else a->arch_params = val;
  }
  return NULL;
}

/* Budgets must fit every target the manifest names, not only the one the cost model uses. */
static mt_status *check_budgets_all_targets(const mt_manifest *mf) {
  mt_partition_plan *parts = calloc((size_t)mf->n_partitions + 1, sizeof *parts);
  if (!parts) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  for (int t = 0; !st && t < mf->n_targets; t++) {
    const mt_arch_params *arch = mt_arch_builtin(mf->targets[t]);
    if (!arch) {
      st = MT_ERR(INVALID_ARGUMENT, "target '%s' is not supported", mf->targets[t]);
      break;
    }
    for (int i = 0; i < mf->n_partitions; i++) {
      parts[i].name = mf->partitions[i].name;
      parts[i].sm_budget = mf->partitions[i].sm_budget;
    }
    st = mt_partitions_assign(parts, mf->n_partitions, arch);
  }
  free(parts);
  return st;
}

int mt_cmd_compile(int argc, char **argv) {
  double start = mt_cli_now();
  compile_args a = {0};
  mt_manifest *mf = NULL;
  mt_module *m = NULL;
  mt_partition_budget *budgets = NULL;
  int *nodes_imported = NULL;
  mt_arch_params arch;
  mt_pass_ctx ctx = {0};
  mt_status *st = parse_args(argc, argv, &a);
  if (!st) st = mt_workload_load(a.n_paths, a.paths, &mf, &m);
  if (!st) st = mt_check_supported(m);
  if (!st) st = check_budgets_all_targets(mf);
  const char *target = a.target ? a.target : (mf ? mf->targets[mf->n_targets - 1] : "sm_90");
  const mt_arch_params *base = st ? NULL : mt_arch_builtin(target);
  if (!st && !base) st = MT_ERR(INVALID_ARGUMENT, "--target '%s' is not one of sm_80, sm_86, sm_89, sm_90", target);
  if (!st) {
    if (a.arch_params) st = mt_arch_load_overrides(a.arch_params, base, &arch);
    else arch = *base;
  }
  if (!st) {
    budgets = calloc((size_t)mf->n_partitions + 1, sizeof *budgets);
    nodes_imported = calloc((size_t)mt_module_tenant_count(m) + 1, sizeof *nodes_imported);
    if (!budgets || !nodes_imported) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (int i = 0; !st && i < mf->n_partitions; i++) {
    budgets[i].name = mf->partitions[i].name;
    budgets[i].sm_budget = mf->partitions[i].sm_budget;
  }
  int total_imported = 0;
  for (int32_t t = 0; !st && t < mt_module_tenant_count(m); t++) {
    nodes_imported[t] = mt_module_tenant_c(m, t)->graph->n_nodes;
    total_imported += nodes_imported[t];
  }
  if (!st) {
    ctx = (mt_pass_ctx){.module = m, .arch = &arch, .budgets = budgets, .n_budgets = mf->n_partitions};
    mt_pipeline_options opts;
    mt_pipeline_options_init(&opts);
    opts.disabled = a.disabled;
    opts.n_disabled = a.n_disabled;
    opts.dump_after = a.dump_after;
    st = mt_pipeline_run(&ctx, &opts);
  }
  if (!st) {
    mt_compile_stats stats;
    mt_compile_stats_compute(ctx.plan, total_imported, mt_cli_now() - start, &stats);
    if (a.report) st = mt_compile_report_write(a.report, ctx.plan, &stats, nodes_imported);
    if (!st) mt_compile_summary_print(stdout, ctx.plan, &stats);
  }
  mt_plan_destroy(ctx.plan);
  mt_module_destroy(m);
  mt_manifest_free(mf);
  free(budgets);
  free(nodes_imported);
  free(a.paths);
  free(a.disabled);
  return st ? mt_cli_fail(st) : 0;
}
