/* The compile driver (include/mtcc.h): load the workload, check support and SM budgets on every
 * target, pick the target's parameters, run the pass pipeline, and keep what it made. The only
 * layer that sees frontend/, passes/ and plan/ together; it knows nothing about the CLI. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver/compilation.h"
#include "driver/report.h"
#include "driver/report_html.h"
#include "ir/ir.h"

/* The public status is the internal one behind an opaque name: the codes line up one to one. */
/* The public allocator is passed to the frontend as the internal one: same layout. */
_Static_assert(sizeof(mtcc_allocator) == sizeof(mt_allocator), "allocator layouts drift");
_Static_assert(offsetof(mtcc_allocator, resize) == offsetof(mt_allocator, resize),
               "allocator layouts drift");
_Static_assert(offsetof(mtcc_allocator, release) == offsetof(mt_allocator, release),
               "allocator layouts drift");
_Static_assert((int)MTCC_INVALID_ARGUMENT == (int)MT_INVALID_ARGUMENT, "status codes drift");
_Static_assert((int)MTCC_OUT_OF_RANGE == (int)MT_OUT_OF_RANGE, "status codes drift");
_Static_assert((int)MTCC_DATA_LOSS == (int)MT_DATA_LOSS, "status codes drift");
_Static_assert((int)MTCC_NOT_FOUND == (int)MT_NOT_FOUND, "status codes drift");
_Static_assert((int)MTCC_UNAVAILABLE == (int)MT_UNAVAILABLE, "status codes drift");
_Static_assert((int)MTCC_RESOURCE_EXHAUSTED == (int)MT_RESOURCE_EXHAUSTED, "status codes drift");
_Static_assert((int)MTCC_UNIMPLEMENTED == (int)MT_UNIMPLEMENTED, "status codes drift");
_Static_assert((int)MTCC_INTERNAL == (int)MT_INTERNAL, "status codes drift");

static mtcc_status *to_public(mt_status *st) { return (mtcc_status *)st; }
static const mt_status *from_public_c(const mtcc_status *st) { return (const mt_status *)st; }

int mtcc_version_number(void) { return MTCC_VERSION_NUMBER; }

mtcc_status_code mtcc_status_code_of(const mtcc_status *st) {
  return (mtcc_status_code)mt_status_code_of(from_public_c(st));
}

const char *mtcc_status_message(const mtcc_status *st) {
  return mt_status_message(from_public_c(st));
}

void mtcc_status_free(mtcc_status *st) { mt_status_free((mt_status *)st); }

void mtcc_compile_options_init(mtcc_compile_options *o) { memset(o, 0, sizeof *o); }

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

mt_status *mt_driver_budgets_check(const mt_manifest *mf) {
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
      parts[i].hard = mf->partitions[i].hard;
    }
    st = mt_partitions_assign(parts, mf->n_partitions, arch);
  }
  free(parts);
  return st;
}

/* The target's parameters: built-in, with the overrides file applied when one is given. */
MT_MUST_USE static mt_status *choose_target(const mtcc_compile_options *o, const mt_manifest *mf,
                                            mt_arch_params *out) {
  const char *target =
      o->target ? o->target : (mf->n_targets > 0 ? mf->targets[mf->n_targets - 1] : "sm_90");
  const mt_arch_params *base = mt_arch_builtin(target);
  /* The message names the CLI flag because options.target is what `--target` sets, and the
   * CLI's output must not change with the move into the library. */
  if (!base)
    return MT_ERR(INVALID_ARGUMENT, "--target '%s' is not one of sm_80, sm_86, sm_89, sm_90",
                  target);
  if (o->arch_params_path) return mt_arch_load_overrides(o->arch_params_path, base, out);
  *out = *base;
  return NULL;
}

static mt_codegen_result codegen_result(const mtcc_compilation *c) {
  return (mt_codegen_result){.program = c->cuda,
                             .compiled = c->compiled,
                             .archs = c->archs,
                             .n_archs = c->n_archs,
                             .nvrtc = c->nvrtc,
                             .cpu = c->cpu};
}

/* Codegen after the pipeline: generation always (it is cheap, and the report lists what is not
 * generated yet), NVRTC only when asked (seconds per kernel), sources only with a folder. */
MT_MUST_USE static mt_status *run_codegen(const mtcc_compile_options *o, mtcc_compilation *c) {
  mt_cuda_options co;
  mt_cuda_options_init(&co);
  co.conv_split_k = o->conv_split_k;
  co.conv_gemm = o->conv_gemm;
  MT_RETURN_IF_ERROR(mt_cuda_generate(c->plan, &co, &c->cuda), "codegen");
  const mt_manifest *mf = c->manifest;
  c->n_archs = 0;
  for (int i = 0; !mf->targets_defaulted && i < mf->n_targets && c->n_archs < 8; i++)
    c->archs[c->n_archs++] = mf->targets[i];
  if (c->n_archs == 0) { /* every arch the compiler knows; PTX of the newest covers later GPUs */
    c->archs[c->n_archs++] = "sm_80";
    c->archs[c->n_archs++] = "sm_86";
    c->archs[c->n_archs++] = "sm_89";
    c->archs[c->n_archs++] = "sm_90";
  }
  snprintf(c->nvrtc, sizeof c->nvrtc, "NVRTC not run (--nvrtc compiles every kernel)");
  if (o->emit_cuda_dir)
    MT_RETURN_IF_ERROR(mt_cuda_emit_dir(c->cuda, o->emit_cuda_dir, c->archs, c->n_archs),
                       "--emit-cuda");
  if (o->nvrtc) {
    if (!mt_cuda_nvrtc_available())
      return MT_ERR(UNAVAILABLE, "--nvrtc: %s", mt_cuda_nvrtc_describe());
    char cache[4096] = "";
    if (!o->no_cache) {
      if (o->cache_dir)
        snprintf(cache, sizeof cache, "%s", o->cache_dir);
      else
        mt_cuda_cache_dir_default(cache, sizeof cache);
    }
    int hits = 0;
    MT_RETURN_IF_ERROR(mt_cuda_nvrtc_compile_cached(c->cuda, c->archs, c->n_archs, 0,
                                                    cache[0] ? cache : NULL, &c->compiled, &hits),
                       "NVRTC");
    snprintf(c->nvrtc, sizeof c->nvrtc, "%s: %d kernel(s) x %d arch(s) compiled, %d from %s",
             mt_cuda_nvrtc_describe(), c->cuda->n_kernels, c->n_archs, hits,
             cache[0] ? "the cache" : "no cache (--no-cache)");
  }
  return NULL;
}

/* The CPU backend after the CUDA codegen: per-group coverage and one object per CPU target. */
MT_MUST_USE static mt_status *run_cpu_codegen(const mtcc_compile_options *o, mtcc_compilation *c) {
  if (!o->cpu_code) return NULL;
  mt_cpu_options co;
  mt_cpu_options_init(&co);
  if (o->cpu_targets) MT_RETURN_IF_ERROR_PLAIN(mt_cpu_targets_parse(o->cpu_targets, &co));
  MT_RETURN_IF_ERROR(mt_cpu_generate(c->plan, &co, &c->cpu), "CPU codegen");
  return NULL;
}

MT_MUST_USE static mt_status *compile_into(const mtcc_compile_options *o, mtcc_compilation *c,
                                           double start) {
  /* The frontend only reads the paths; its signature predates const-correct callers. */
  MT_RETURN_IF_ERROR_PLAIN(mt_workload_load((const mt_allocator *)o->allocator, o->memory_limit,
                                            o->n_inputs, (char *const *)o->inputs, &c->manifest,
                                            &c->module));
  const mt_manifest *mf = c->manifest;
  mt_module *m = c->module;
  MT_RETURN_IF_ERROR_PLAIN(
      mt_driver_bind_constant_inputs(m, o->constant_inputs, o->n_constant_inputs));
  MT_RETURN_IF_ERROR_PLAIN(mt_check_supported(m));
  MT_RETURN_IF_ERROR_PLAIN(mt_driver_budgets_check(mf));
  MT_RETURN_IF_ERROR_PLAIN(choose_target(o, mf, &c->arch));
  int n_tenants = mt_module_tenant_count(m);
  c->budgets = calloc((size_t)mf->n_partitions + 1, sizeof *c->budgets);
  c->nodes_imported = calloc((size_t)n_tenants + 1, sizeof *c->nodes_imported);
  if (!c->budgets || !c->nodes_imported) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < mf->n_partitions; i++) {
    c->budgets[i].name = mf->partitions[i].name;
    c->budgets[i].sm_budget = mf->partitions[i].sm_budget;
    c->budgets[i].hard = mf->partitions[i].hard;
  }
  int total_imported = 0;
  for (int32_t t = 0; t < n_tenants; t++) {
    c->nodes_imported[t] = mt_module_tenant_c(m, t)->graph->n_nodes;
    total_imported += c->nodes_imported[t];
  }
  mt_pass_ctx ctx = {
      .module = m, .arch = &c->arch, .budgets = c->budgets, .n_budgets = mf->n_partitions};
  mt_pipeline_options popts;
  mt_pipeline_options_init(&popts);
  popts.disabled = o->disabled_passes;
  popts.n_disabled = o->n_disabled_passes;
  popts.dump_after = o->dump_after;
  popts.dump_to = o->dump_to;
  mt_status *st = mt_pipeline_run(&ctx, &popts);
  c->plan = ctx.plan; /* destroyed with the compilation, also when the pipeline failed */
  if (st) return st;
  MT_RETURN_IF_ERROR_PLAIN(run_codegen(o, c));
  MT_RETURN_IF_ERROR_PLAIN(run_cpu_codegen(o, c));
  mt_compile_stats_compute(c->plan, total_imported, now_seconds() - start, &c->stats);
  mt_codegen_result cg = codegen_result(c);
  if (o->report_path)
    MT_RETURN_IF_ERROR_PLAIN(
        mt_compile_report_write(o->report_path, c->plan, &c->stats, c->nodes_imported, &cg));
  if (o->report_html_path)
    return mt_compile_report_html_write(o->report_html_path, c->plan, &c->stats, c->nodes_imported,
                                        &cg);
  return NULL;
}

mtcc_status *mtcc_compile(const mtcc_compile_options *options, mtcc_compilation **out_compilation) {
  double start = now_seconds();
  if (!options || !out_compilation)
    return to_public(MT_ERR(INVALID_ARGUMENT, "mtcc_compile: NULL argument"));
  mtcc_compilation *c = calloc(1, sizeof *c);
  if (!c) return to_public(MT_ERR(RESOURCE_EXHAUSTED, "out of memory"));
  mt_status *st = compile_into(options, c, start);
  if (st) {
    mtcc_compilation_destroy(c);
    return to_public(st);
  }
  *out_compilation = c;
  return NULL;
}

const mtcc_compile_stats *mtcc_compilation_stats(const mtcc_compilation *c) { return &c->stats; }

const char *mtcc_compilation_target(const mtcc_compilation *c) { return c->arch.name; }

int mtcc_compilation_tenant_count(const mtcc_compilation *c) {
  return mt_module_tenant_count(c->module);
}

const char *mtcc_compilation_tenant_name(const mtcc_compilation *c, int index) {
  if (index < 0 || index >= mt_module_tenant_count(c->module)) return NULL;
  return mt_module_tenant_c(c->module, index)->name;
}

const mt_module *mt_driver_compilation_module(const mtcc_compilation *c) { return c->module; }

const mt_plan *mt_driver_compilation_plan(const mtcc_compilation *c) { return c->plan; }

mtcc_status *mtcc_compilation_write_report(const mtcc_compilation *c, const char *path) {
  if (!c || !path)
    return to_public(MT_ERR(INVALID_ARGUMENT, "mtcc_compilation_write_report: NULL argument"));
  mt_codegen_result cg = codegen_result(c);
  return to_public(mt_compile_report_write(path, c->plan, &c->stats, c->nodes_imported, &cg));
}

mtcc_status *mtcc_report_render_html(const char *report_path, const char *html_path) {
  if (!report_path || !html_path)
    return to_public(MT_ERR(INVALID_ARGUMENT, "mtcc_report_render_html: NULL argument"));
  return to_public(mt_report_html_from_file(report_path, html_path));
}

void mtcc_compilation_print_summary(const mtcc_compilation *c, FILE *out) {
  mt_codegen_result cg = codegen_result(c);
  mt_compile_summary_print(out, c->plan, &c->stats, &cg);
  mt_cpu_summary_print(out, c->cpu);
}

void mtcc_compilation_destroy(mtcc_compilation *c) {
  if (!c) return;
  if (c->compiled) mt_cuda_compiled_free(c->cuda, c->compiled, c->cuda->n_kernels * c->n_archs);
  mt_cuda_program_destroy(c->cuda);
  mt_cpu_program_destroy(c->cpu);
  mt_plan_destroy(c->plan);
  mt_module_destroy(c->module);
  mt_manifest_free(c->manifest);
  free(c->budgets);
  free(c->nodes_imported);
  free(c);
}
