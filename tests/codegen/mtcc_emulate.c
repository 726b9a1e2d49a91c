/* mtcc_emulate: a test tool (never installed; the mtcc CLI must not link the emulator) that runs
 * compiled plans through their generated CUDA kernels under the CPU emulation (emu_exec.h).
 *
 *   mtcc_emulate conformance --emulate DIR...
 *     ONNX backend cases as `mtcc conformance` runs them (same case lines, same tolerance rtol
 *     1e-3 / atol 1e-7, same summary line), except that each case's model goes through the pass
 *     pipeline and codegen and runs as generated code. A case line ends with the ops that ran on
 *     the reference fallback, if any, and an `emulate:` line before the summary counts them.
 *   mtcc_emulate models [--rtol R] WORKLOAD...
 *     each WORKLOAD (a manifest or a model) compiled and run with seeded random inputs, as
 *     generated code and on the reference executor; every output must agree within R (1e-4)
 *     relative. Prints one line per workload with timings. --overlap-buffers puts every planned
 *     buffer at arena offset 0 (the executor's self-check: that must FAIL).
 * Kernels are sized for a 2-SM partition with 2 resident 64-thread blocks per SM, so most grids
 * are smaller than their work (grid-stride loops run several rounds). Exit 0 when nothing failed,
 * 1 otherwise, 77 when the emulator cannot compile kernels (no g++). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "emu_exec.h"
#include "emu_rt.h"
#include "frontend/frontend.h"
#include "frontend/manifest.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"

enum { CASE_PASS, CASE_FAIL, CASE_UNSUPPORTED, CASE_NO_EMULATOR };

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool file_exists(const char *path) {
  struct stat s;
  return stat(path, &s) == 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(const char *dir, const char *prefix, char ***out) {
  DIR *d = opendir(dir);
  *out = NULL;
  if (!d) return 0;
  int n = 0, cap = 0;
  char **names = NULL;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **t = realloc(names, (size_t)cap * sizeof *names);
      if (!t) break;
      names = t;
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (names) qsort(names, (size_t)n, sizeof *names, cmp_str);
  *out = names;
  return n;
}

static void free_list(char **names, int n) {
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* As tools/cmd_conformance.c (rtol, atol): the emulated run must meet the bar the reference
 * executor meets. */
static bool values_close(const mt_tensor *got, const mt_tensor *want, double rtol, double atol,
                         char *why, size_t cap, double *max_rel) {
  if (got->dtype != want->dtype || got->rank != want->rank) {
    snprintf(why, cap, "dtype %s rank %d, expected %s rank %d", mt_dtype_name(got->dtype),
             got->rank, mt_dtype_name(want->dtype), want->rank);
    return false;
  }
  for (int d = 0; d < got->rank; d++)
    if (got->dims[d] != want->dims[d]) {
      snprintf(why, cap, "dim %d is %lld, expected %lld", d, (long long)got->dims[d],
               (long long)want->dims[d]);
      return false;
    }
  int64_t n = mt_tensor_numel(want);
  bool is_float = mt_dtype_is_float_any(want->dtype);
  for (int64_t i = 0; i < n; i++) {
    if (is_float) {
      double g = mt_tensor_get_f64(got, i), w = mt_tensor_get_f64(want, i);
      if (isnan(w) && isnan(g)) continue;
      if (isinf(w) && g == w) continue;
      double err = fabs(g - w);
      if (max_rel && w != 0 && err / fabs(w) > *max_rel) *max_rel = err / fabs(w);
      if (!(err <= atol + rtol * fabs(w))) {
        snprintf(why, cap, "element %lld is %.9g, expected %.9g", (long long)i, g, w);
        return false;
      }
    } else if (mt_tensor_get_i64(got, i) != mt_tensor_get_i64(want, i)) {
      snprintf(why, cap, "element %lld is %lld, expected %lld", (long long)i,
               (long long)mt_tensor_get_i64(got, i), (long long)mt_tensor_get_i64(want, i));
      return false;
    }
  }
  return true;
}

static void codegen_options(mt_cuda_options *o) {
  mt_cuda_options_init(o);
  o->sm_count_override = 2;
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

typedef struct tally {
  int passed, failed, unsupported, pure, with_fallback;
  double seconds;
} tally;

MT_MUST_USE static mt_status *read_set(const mt_module *m, const char *set_dir, const char *prefix,
                                       mt_tensor **out, int *out_n) {
  char **files;
  int n = list_dir(set_dir, prefix, &files);
  *out = calloc((size_t)n + 1, sizeof **out);
  *out_n = 0;
  mt_status *st = *out ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int k = 0; !st && k < n; k++) {
    char path[8192];
    snprintf(path, sizeof path, "%s/%s%d.pb", set_dir, prefix, k);
    if (!file_exists(path)) break;
    char *name = NULL;
    st = mt_tensor_file_read_limited(path, mt_module_memory_limit(m), &(*out)[k], &name);
    free(name);
    if (!st) (*out_n)++;
  }
  free_list(files, n);
  return st;
}

static void free_tensors(mt_tensor *t, int n) {
  for (int i = 0; t && i < n; i++) free(t[i].data);
  free(t);
}

static int classify(mt_status *st, char *why, size_t cap) {
  int r = mt_status_code_of(st) == MT_UNIMPLEMENTED ? CASE_UNSUPPORTED : CASE_FAIL;
  /* An ahead-of-time compile needs static shapes: a case that feeds a shape operand (Reshape's
   * shape, Slice's starts, Pad's pads...) as a graph input is outside what it can compile. */
  if (strstr(mt_status_message(st), "which are not known at compile time")) r = CASE_UNSUPPORTED;
  if (mt_status_code_of(st) == MT_UNAVAILABLE && strstr(mt_status_message(st), "g++"))
    r = CASE_NO_EMULATOR;
  snprintf(why, cap, "%s", mt_status_message(st));
  mt_status_free(st);
  return r;
}

static int run_set(const mt_plan *p, const mt_cuda_program *prog, const char *set_dir, char *why,
                   size_t cap, emu_exec_stats *stats) {
  const mt_module *m = p->module;
  const mt_graph *g = mt_module_tenant_c(m, 0)->graph;
  mt_tensor *ins = NULL, *want = NULL;
  int n_in = 0, n_out = 0, result = CASE_PASS;
  mt_status *st = read_set(m, set_dir, "input_", &ins, &n_in);
  if (!st) st = read_set(m, set_dir, "output_", &want, &n_out);
  mt_tensor *got = calloc((size_t)g->n_outputs + 1, sizeof *got);
  if (!st && !got) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  if (!st && (n_in != g->n_inputs || n_out != g->n_outputs))
    st = MT_ERR(INVALID_ARGUMENT, "data set has %d inputs and %d outputs, the model %d and %d",
                n_in, n_out, g->n_inputs, g->n_outputs);
  if (!st) st = emu_exec_plan(p, prog, &ins, &got, stats);
  if (st) {
    result = classify(st, why, cap);
  } else {
    for (int i = 0; i < g->n_outputs && result == CASE_PASS; i++) {
      char detail[256];
      if (!values_close(&got[i], &want[i], 1e-3, 1e-7, detail, sizeof detail, NULL)) {
        snprintf(why, cap, "output %d '%s': %s", i, mt_module_value_c(m, g->outputs[i])->name,
                 detail);
        result = CASE_FAIL;
      }
    }
    for (int i = 0; i < g->n_outputs; i++) free(got[i].data);
  }
  free(got);
  free_tensors(ins, n_in);
  free_tensors(want, n_out);
  return result;
}

static int run_case(const char *case_dir, char *why, size_t cap, char *fallback, size_t fcap) {
  char path[8192];
  snprintf(path, sizeof path, "%s/model.onnx", case_dir);
  mt_module *m;
  mt_plan *p = NULL;
  mt_cuda_program *prog = NULL;
  int32_t tenant;
  mt_status *st = mt_module_create(NULL, &m);
  if (!st) st = mt_onnx_import_file(m, path, "model", &tenant);
  if (!st) st = mt_verify_module(m);
  if (!st) st = mt_check_supported(m);
  if (!st) st = compile_module(m, NULL, 0, &p, &prog);
  int result = CASE_PASS;
  if (st) result = classify(st, why, cap);
  char **sets = NULL;
  int n_sets = 0;
  if (result == CASE_PASS) {
    n_sets = list_dir(case_dir, "test_data_set_", &sets);
    if (!n_sets) snprintf(why, cap, "no test_data_set_* folder"), result = CASE_FAIL;
  }
  fallback[0] = 0;
  for (int s = 0; s < n_sets && result == CASE_PASS; s++) {
    snprintf(path, sizeof path, "%s/%s", case_dir, sets[s]);
    emu_exec_stats stats;
    result = run_set(p, prog, path, why, cap, &stats);
    if (stats.fallback_ops[0]) snprintf(fallback, fcap, "%s", stats.fallback_ops);
    if (result != CASE_PASS) {
      size_t len = strlen(why);
      snprintf(why + len, cap - len, " [%s]", sets[s]);
    }
  }
  free_list(sets, n_sets);
  mt_cuda_program_destroy(prog);
  mt_plan_destroy(p);
  mt_module_destroy(m);
  return result;
}

static int run_one(const char *dir, const char *name, tally *t) {
  char why[2048] = "", fallback[256] = "";
  int r = run_case(dir, why, sizeof why, fallback, sizeof fallback);
  for (char *c = why; *c; c++)
    if (*c == '\n' || *c == '\r') *c = ' ';
  if (strlen(why) > 300) strcpy(why + 297, "...");
  if (r == CASE_NO_EMULATOR) return r;
  if (r == CASE_PASS) {
    t->passed++;
    if (fallback[0])
      t->with_fallback++, printf("PASS %s (reference fallback: %s)\n", name, fallback);
    else
      t->pure++, printf("PASS %s\n", name);
  } else if (r == CASE_FAIL) {
    t->failed++;
    printf("FAIL %s: %s\n", name, why);
  } else {
    t->unsupported++;
    printf("UNSUPPORTED %s: %s\n", name, why);
  }
  fflush(stdout);
  return r;
}

static int cmd_conformance(int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "--emulate") != 0) {
    fprintf(stderr,
            "mtcc: error: conformance: this tool runs only `conformance --emulate DIR...`\n");
    return 1;
  }
  tally t = {0};
  double start = now_s();
  emu_exec_set_jit_flags("-O0 -g0");
  for (int i = 1; i < argc; i++) {
    char path[8192 + 16];
    snprintf(path, sizeof path, "%s/model.onnx", argv[i]);
    char **cases = NULL;
    int n = 0;
    if (file_exists(path)) {
      const char *base = strrchr(argv[i], '/');
      if (run_one(argv[i], base && base[1] ? base + 1 : argv[i], &t) == CASE_NO_EMULATOR)
        goto no_emulator;
      continue;
    }
    n = list_dir(argv[i], "", &cases);
    if (n == 0) {
      printf("FAIL %s: not a test case folder\n", argv[i]);
      t.failed++;
    }
    for (int k = 0; k < n; k++) {
      char dir[4096];
      snprintf(dir, sizeof dir, "%.2000s/%.2000s", argv[i], cases[k]);
      snprintf(path, sizeof path, "%s/model.onnx", dir);
      if (file_exists(path) && run_one(dir, cases[k], &t) == CASE_NO_EMULATOR) {
        free_list(cases, n);
        goto no_emulator;
      }
    }
    free_list(cases, n);
  }
  printf("emulate: %d passed cases ran every group as generated code, %d used the reference "
         "fallback (%.1f s)\n",
         t.pure, t.with_fallback, now_s() - start);
  printf("conformance: %d passed, %d failed, %d unsupported\n", t.passed, t.failed, t.unsupported);
  return t.failed > 0 ? 1 : 0;
no_emulator:
  printf("skipped: the emulator cannot compile kernels (%s)\n", emu_last_error());
  return 77;
}

/* ---- whole models ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static void fill_random(mt_tensor *t) {
  int64_t n = mt_tensor_numel(t);
  t->data = calloc((size_t)(n ? n : 1), mt_dtype_size(t->dtype));
  for (int64_t i = 0; t->data && i < n; i++)
    /* floats in [-1, 1); integers 0 or 1 (valid token ids, masks and indices) */
    mt_tensor_set_f64(
        t, i, mt_dtype_is_float_any(t->dtype) ? 2 * uniform() - 1 : (double)(uniform() < 0.5));
}

static int run_model(const char *path, double rtol) {
  double t0 = now_s();
  mt_manifest *mf = NULL;
  mt_module *m = NULL;
  mt_plan *p = NULL;
  mt_cuda_program *prog = NULL;
  char *paths[] = {(char *)path};
  mt_status *st = mt_workload_load(NULL, 0, 1, paths, &mf, &m);
  mt_partition_budget budgets[16];
  int n_budgets = 0;
  for (int i = 0; !st && i < mf->n_partitions && i < 16; i++)
    budgets[n_budgets++] =
        (mt_partition_budget){mf->partitions[i].name, mf->partitions[i].sm_budget};
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
  double t_compile = now_s() - t0, t_ref = 0;
  if (!st) {
    double t1 = now_s();
    st = mt_plan_reference_run(p, false, ins, want);
    t_ref = now_s() - t1;
  }
  emu_exec_stats stats = {0};
  if (!st) st = emu_exec_plan(p, prog, ins, got, &stats);
  int rc = 0;
  double max_rel = 0;
  for (int32_t t = 0; !st && t < n_t; t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int i = 0; i < g->n_outputs; i++) {
      char why[256];
      if (!values_close(&got[t][i], &want[t][i], rtol, 1e-6, why, sizeof why, &max_rel)) {
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

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "conformance") == 0) return cmd_conformance(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "models") == 0) return cmd_models(argc - 2, argv + 2);
  fprintf(stderr, "mtcc: error: usage: mtcc_emulate conformance --emulate DIR... | mtcc_emulate "
                  "models [--rtol R] WORKLOAD...\n");
  return 1;
}
