/* mtcc-emulate: the helper behind `mtcc conformance --emulate` (installed to libexec/mtcc; the
 * mtcc CLI never links the emulator, it execs this). It runs compiled plans through their
 * generated CUDA kernels under the CPU emulation of CUDA (emu_exec.h).
 *
 *   mtcc-emulate conformance [--emulate] DIR... [--memory-limit SIZE]
 *     ONNX backend cases as `mtcc conformance` runs them (tools/conformance.c: same case lines,
 *     tolerance and summary line), except that each data set's model goes through the pass
 *     pipeline and codegen and runs as generated code. Graph inputs whose values shape inference
 *     needs (Reshape's shape, Slice's starts, TopK's k...) are bound to the data set's values as
 *     constants first, as an ahead-of-time compiler specialises on them. A PASS line ends with
 *     the ops that ran on the reference fallback, if any, and an `emulate:` line before the
 *     summary counts them.
 *   mtcc-emulate models [--rtol R] [--overlap-buffers] [--sms N] [--conv-gemm] WORKLOAD...
 *     each WORKLOAD (a manifest or a model) compiled and run with seeded random inputs, as
 *     generated code and on the reference executor; every output must agree within R (1e-4)
 *     relative. Prints one line per workload with timings. --overlap-buffers puts every planned
 *     buffer at arena offset 0 (the executor's self-check: that must FAIL). --sms N sizes the
 *     kernels for N SMs instead of 2 (many SMs and few tiles: split-K convolutions);
 *     --conv-gemm runs every 1x1 stride-1 unpadded conv as a GEMM library call.
 * Kernels are sized for a 2-SM partition with 2 resident 64-thread blocks per SM, so most grids
 * are smaller than their work (grid-stride loops run several rounds). Exit 0 when nothing failed,
 * 1 otherwise, 77 when the emulator cannot compile kernels (no g++). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emu_rt.h"
#include "frontend/frontend.h"
#include "frontend/manifest.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"
#include "tools/cli.h"
#include "tools/conformance.h"
#include "tools/emulate/emu_exec.h"

static int sm_count = 2; /* models --sms N */
/* 1x1 convs stay implicit-GEMM kernels (1) unless models --conv-gemm (2: every one a library
 * call): the cost model at the 2 SMs kernels are sized for here would pick the library for
 * most of them, and the kernels are what these runs are for. */
static int conv_gemm = 1;

static void codegen_options(mt_cuda_options *o) {
  mt_cuda_options_init(o);
  o->sm_count_override = sm_count;
  o->conv_gemm = conv_gemm;
  o->blocks_per_sm = 2;
  o->block_threads = 64;
}

/* Pipeline + codegen over an imported, verified module. */
MT_MUST_USE static mt_status *compile_module(mt_module *m, const mt_partition_budget *budgets,
                                             int n_budgets, mt_plan **plan,
                                             mt_cuda_program **prog) {
  mt_pass_ctx ctx = {
      .module = m, .arch = mt_arch_builtin("sm_90"), .budgets = budgets, .n_budgets = n_budgets};
  mt_pipeline_options po;
  mt_pipeline_options_init(&po);
  mt_status *st = mt_pipeline_run(&ctx, &po);
  *plan = ctx.plan;
  if (st) return st;
  mt_cuda_options o;
  codegen_options(&o);
  return mt_cuda_generate(ctx.plan, &o, prog);
}

/* ---- conformance ---- */

typedef struct emulate_backend {
  double start;
} emulate_backend;

/* Imports the case's model afresh (compiling rewrites the module), binds the inputs that shape
 * inference needs to this data set's values, compiles and runs it under the emulation. */
static mt_status *run_emulated(void *self, const char *model_path, const mt_module *ref,
                               mt_tensor *inputs, mt_tensor *got, char *note, size_t cap) {
  mt_module *m = NULL;
  mt_plan *p = NULL;
  mt_cuda_program *prog = NULL;
  int32_t tenant;
  const mt_graph *ref_g = mt_module_tenant_c(ref, 0)->graph;
  bool *need = calloc((size_t)ref_g->n_inputs + 1, sizeof *need);
  mt_tensor *rest = calloc((size_t)ref_g->n_inputs + 1, sizeof *rest);
  mt_status *st =
      need && rest ? mt_module_create(NULL, &m) : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st) mt_module_set_memory_limit(m, mt_module_memory_limit(ref));
  if (!st) st = mt_onnx_import_file(m, model_path, "model", &tenant);
  if (!st) st = mt_verify_module(m);
  int n_rest = 0;
  if (!st) {
    mt_graph *g = mt_module_tenant(m, 0)->graph;
    mt_graph_inputs_needed_at_compile_time(m, g, need);
    /* inputs[] follows ref's input order, which the fresh import repeats */
    for (int i = 0, gi = 0; !st && i < ref_g->n_inputs; i++) {
      if (need[i])
        st = mt_graph_bind_input(m, g, gi, &inputs[i]);
      else
        rest[n_rest++] = inputs[i], gi++;
    }
  }
  /* the other inputs' shapes are this data set's, as a manifest's "shapes" would give them:
   * a case whose model leaves dims symbolic compiles for the shapes it is run with */
  mt_tenant *t = st ? NULL : mt_module_tenant(m, 0);
  if (t && n_rest > 0) {
    t->shape_overrides =
        mt_arena_array(mt_module_arena(m), (size_t)n_rest, sizeof *t->shape_overrides);
    if (!t->shape_overrides) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    for (int i = 0; !st && i < n_rest; i++) {
      const mt_value *v = mt_module_value_c(m, t->graph->inputs[i]);
      if (mt_dtype_is_container(v->dtype)) continue; /* a container's size is data */
      mt_shape_override *o = &t->shape_overrides[t->n_shape_overrides++];
      o->input = v->name;
      o->rank = rest[i].rank;
      memcpy(o->dims, rest[i].dims, sizeof o->dims);
    }
  }
  if (!st) st = compile_module(m, NULL, 0, &p, &prog);
  emu_exec_stats stats = {0};
  mt_tensor *ins = rest;
  if (!st) st = emu_exec_plan(p, prog, &ins, &got, &stats);
  if (stats.fallback_ops[0]) snprintf(note, cap, "reference fallback: %s", stats.fallback_ops);
  /* A shape operand computed from data at run time is outside what an ahead-of-time compile
   * can specialise on. */
  if (st && mt_status_code_of(st) != MT_UNIMPLEMENTED &&
      strstr(mt_status_message(st), "which are not known at compile time")) {
    mt_status *u = MT_ERR(UNIMPLEMENTED, "%s", mt_status_message(st));
    mt_status_free(st);
    st = u;
  }
  mt_cuda_program_destroy(prog);
  mt_plan_destroy(p);
  mt_module_destroy(m);
  free(need);
  free(rest);
  return st;
}

static void emulate_finish(void *self, int passed, int passed_with_note) {
  emulate_backend *b = self;
  printf("emulate: %d passed cases ran every group as generated code, %d used the reference "
         "fallback (%.1f s)\n",
         passed - passed_with_note, passed_with_note, mt_cli_now() - b->start);
}

static int cmd_conformance(int argc, char **argv) {
  emulate_backend eb = {.start = mt_cli_now()};
  mt_conformance_backend b = {.self = &eb, .run_set = run_emulated, .finish = emulate_finish};
  emu_exec_set_jit_flags("-O0 -g0");
  return mt_conformance_main(argc, argv, "--emulate", &b);
}

/* ---- whole models ---- */

static void free_tensors(mt_tensor *t, int n) {
  for (int i = 0; t && i < n; i++) free(t[i].data);
  free(t);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static void fill_random(mt_tensor *t) {
  int64_t n = mt_tensor_numel(t);
  size_t bytes = mt_tensor_nbytes(t);
  t->data = calloc(bytes ? bytes : 1, 1);
  for (int64_t i = 0; t->data && i < n; i++)
    /* floats in [-1, 1); integers 0 or 1 (valid token ids, masks and indices) */
    mt_tensor_set_f64(
        t, i, mt_dtype_is_float_any(t->dtype) ? 2 * uniform() - 1 : (double)(uniform() < 0.5));
}

static int run_model(const char *path, double rtol) {
  double t0 = mt_cli_now();
  mt_manifest *mf = NULL;
  mt_module *m = NULL;
  mt_plan *p = NULL;
  mt_cuda_program *prog = NULL;
  char *paths[] = {(char *)path};
  mt_status *st = mt_workload_load(NULL, 0, 1, paths, &mf, &m);
  mt_partition_budget budgets[16];
  int n_budgets = 0;
  for (int i = 0; !st && i < mf->n_partitions && i < 16; i++)
    budgets[n_budgets++] = (mt_partition_budget){
        mf->partitions[i].name, mf->partitions[i].sm_budget, mf->partitions[i].hard};
  if (!st) st = mt_check_supported(m);
  if (!st) st = compile_module(m, budgets, n_budgets, &p, &prog);
  int n_t = m ? mt_module_tenant_count(m) : 0;
  mt_tensor **ins = calloc((size_t)n_t + 1, sizeof *ins),
            **want = calloc((size_t)n_t + 1, sizeof *want),
            **got = calloc((size_t)n_t + 1, sizeof *got);
  for (int32_t t = 0; !st && t < n_t; t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    ins[t] = calloc((size_t)g->n_inputs + 1, sizeof **ins);
    want[t] = calloc((size_t)g->n_outputs + 1, sizeof **want);
    got[t] = calloc((size_t)g->n_outputs + 1, sizeof **got);
    for (int i = 0; i < g->n_inputs; i++) {
      const mt_value *v = mt_module_value_c(m, g->inputs[i]);
      ins[t][i] = (mt_tensor){.dtype = v->dtype, .rank = v->rank};
      memcpy(ins[t][i].dims, v->dims, sizeof ins[t][i].dims);
      fill_random(&ins[t][i]);
    }
  }
  double t_compile = mt_cli_now() - t0, t_ref = 0;
  if (!st) {
    double t1 = mt_cli_now();
    st = mt_plan_reference_run(p, false, ins, want);
    t_ref = mt_cli_now() - t1;
  }
  emu_exec_stats stats = {0};
  if (!st) st = emu_exec_plan(p, prog, ins, got, &stats);
  int rc = 0;
  double max_rel = 0;
  for (int32_t t = 0; !st && t < n_t; t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int i = 0; i < g->n_outputs; i++) {
      char why[256];
      if (!mt_conformance_values_close(&got[t][i], &want[t][i], rtol, 1e-6, why, sizeof why,
                                       &max_rel)) {
        printf("FAIL %s: tenant '%s' output '%s': %s\n", path, mt_module_tenant_c(m, t)->name,
               mt_module_value_c(m, g->outputs[i])->name, why);
        rc = 1;
      }
    }
  }
  if (st) {
    rc = mt_status_code_of(st) == MT_UNAVAILABLE && strstr(mt_status_message(st), "g++") ? 77 : 1;
    printf("%s %s: %s\n", rc == 77 ? "SKIP" : "FAIL", path, mt_status_message(st));
    mt_status_free(st);
  } else if (rc == 0) {
    printf(
        "PASS %s: %d kernels, %d library calls, %d groups on the reference fallback%s%s; max "
        "relative error %.3g; compile %.1f s, g++ %.1f s, emulated run %.1f s, reference %.1f s\n",
        path, stats.kernels_launched, stats.libcalls_run, stats.fallback_groups,
        stats.fallback_ops[0] ? " " : "", stats.fallback_ops, max_rel, t_compile, stats.jit_seconds,
        stats.run_seconds, t_ref);
  }
  for (int32_t t = 0; t < n_t; t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    if (ins[t]) free_tensors(ins[t], g->n_inputs);
    if (want[t]) free_tensors(want[t], g->n_outputs);
    if (got[t]) free_tensors(got[t], g->n_outputs);
  }
  free(ins);
  free(want);
  free(got);
  mt_cuda_program_destroy(prog);
  mt_plan_destroy(p);
  mt_module_destroy(m);
  mt_manifest_free(mf);
  fflush(stdout);
  return rc;
}

static int cmd_models(int argc, char **argv) {
  double rtol = 1e-4;
  int rc = 0, n = 0;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--rtol") == 0 && i + 1 < argc) {
      rtol = atof(argv[++i]);
      continue;
    }
    if (strcmp(argv[i], "--overlap-buffers") == 0) {
      emu_exec_set_overlap_buffers(true);
      continue;
    }
    if (strcmp(argv[i], "--conv-gemm") == 0) {
      conv_gemm = 2;
      continue;
    }
    if (strcmp(argv[i], "--sms") == 0 && i + 1 < argc) {
      sm_count = atoi(argv[++i]);
      if (sm_count < 1 || sm_count > 1024) {
        fprintf(stderr, "mtcc: error: models: --sms takes 1 to 1024, not '%s'\n", argv[i]);
        return 1;
      }
      continue;
    }
    int r = run_model(argv[i], rtol);
    if (r == 77) return 77;
    rc |= r;
    n++;
  }
  if (n == 0) {
    fprintf(stderr, "mtcc: error: models: give one or more workloads\n");
    return 1;
  }
  return rc;
}

/* Installed (libexec/mtcc), the emulator's headers that kernels are compiled against lie in
 * include/ beside this executable; the build tree's default points into the source tree. */
static void find_emulator_headers(void) {
  char self[PATH_MAX], inc[PATH_MAX + 32];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0 || getenv("EMU_INCLUDE_DIR")) return;
  self[len] = 0;
  char *slash = strrchr(self, '/');
  if (slash) *slash = 0;
  snprintf(inc, sizeof inc, "%s/include/emu_cuda.h", self);
  if (access(inc, R_OK) != 0) return;
  inc[strlen(inc) - strlen("/emu_cuda.h")] = 0;
  setenv("EMU_INCLUDE_DIR", inc, 1);
}

int main(int argc, char **argv) {
  find_emulator_headers();
  if (argc >= 2 && strcmp(argv[1], "conformance") == 0) return cmd_conformance(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "models") == 0) return cmd_models(argc - 2, argv + 2);
  fprintf(stderr, "mtcc: error: usage: mtcc-emulate conformance [--emulate] DIR... | "
                  "mtcc-emulate models [--rtol R] [--sms N] [--conv-gemm] WORKLOAD...\n");
  return 1;
}
