/* mtcc compile: parse the command line into mtcc_compile_options, call the library
 * (include/mtcc.h), print the summary and write the bundle. Everything else lives in driver/.
 * A bundle (-o) carries GPU code by default, so -o turns NVRTC on where mtcc has it (its on-disk
 * cache keeps rebuilds fast); --cpu-only writes one without, and a bundle written without NVRTC
 * says why (mtcc inspect shows it). -o also generates CPU code through LLVM (one shared object
 * per --cpu-targets target, docs/cpu-codegen.md) unless --no-cpu-code. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda.h"
#include "driver/compilation.h"
#include "mtcc.h"
#include "tools/cli.h"

typedef struct compile_args {
  char **paths;
  int n_paths;
  const char **disabled;
  int n_disabled;
  const char **constants; /* --constant-input specs */
  int n_constants;
  const char *dump_after, *report, *report_html, *target, *arch_params, *emit_cuda, *output;
  const char *cpu_targets;
  bool nvrtc, no_cache, cpu_only, no_cpu_code;
  size_t memory_limit; /* 0: the default */
  int conv_split_k, conv_gemm;
} compile_args;

MT_MUST_USE static mt_status *parse_args(int argc, char **argv, compile_args *a) {
  a->paths = calloc((size_t)argc + 1, sizeof *a->paths);
  a->disabled = calloc((size_t)argc + 1, sizeof *a->disabled);
  a->constants = calloc((size_t)argc + 1, sizeof *a->constants);
  if (!a->paths || !a->disabled || !a->constants)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    const char *val = NULL;
    /* --opt=VALUE and --opt VALUE both work */
    static const char *const with_value[] = {
        "--dump-ir-after", "--disable-pass",   "--report",      "--target", "--arch-params",
        "--emit-cuda",     "--memory-limit",   "--report-html", "-o",       "--conv-split-k",
        "--conv-gemm",     "--constant-input", "--cpu-targets"};
    const char *opt = NULL;
    for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++) {
      size_t n = strlen(with_value[k]);
      if (strncmp(arg, with_value[k], n) == 0 && (arg[n] == '=' || arg[n] == 0)) {
        opt = with_value[k];
        val = arg[n] == '=' ? arg + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
      }
    }
    if (!opt && strcmp(arg, "--nvrtc") == 0) {
      a->nvrtc = true;
      continue;
    }
    if (!opt && strcmp(arg, "--cpu-only") == 0) {
      a->cpu_only = true;
      continue;
    }
    if (!opt && strcmp(arg, "--no-cpu-code") == 0) {
      a->no_cpu_code = true;
      continue;
    }
    if (!opt && strcmp(arg, "--no-cache") == 0) {
      a->no_cache = true;
      continue;
    }
    if (opt && !val) return MT_ERR(INVALID_ARGUMENT, "compile: %s needs a value", opt);
    if (!opt && arg[0] == '-') return MT_ERR(INVALID_ARGUMENT, "compile: unknown option '%s'", arg);
    if (!opt)
      a->paths[a->n_paths++] = argv[i];
    else if (strcmp(opt, "--dump-ir-after") == 0)
      a->dump_after = val;
    else if (strcmp(opt, "--disable-pass") == 0)
      a->disabled[a->n_disabled++] = val;
    else if (strcmp(opt, "--constant-input") == 0)
      a->constants[a->n_constants++] = val;
    else if (strcmp(opt, "--report") == 0)
      a->report = val;
    else if (strcmp(opt, "--report-html") == 0)
      a->report_html = val;
    else if (strcmp(opt, "-o") == 0)
      a->output = val;
    else if (strcmp(opt, "--emit-cuda") == 0)
      a->emit_cuda = val;
    else if (strcmp(opt, "--cpu-targets") == 0)
      a->cpu_targets = val;
    else if (strcmp(opt, "--target") == 0)
      a->target = val;
    else if (strcmp(opt, "--memory-limit") == 0)
      MT_RETURN_IF_ERROR_PLAIN(mt_cli_parse_memory_limit("compile", val, &a->memory_limit));
    else if (strcmp(opt, "--conv-split-k") == 0) {
      char *end;
      long v = strtol(val, &end, 10);
      if (*val == 0 || *end || v < 0 || v > 64)
        return MT_ERR(INVALID_ARGUMENT, "compile: --conv-split-k takes 0 (auto) to 64, not '%s'",
                      val);
      a->conv_split_k = (int)v;
    } else if (strcmp(opt, "--conv-gemm") == 0) {
      static const char *const modes[] = {"auto", "never", "always"};
      a->conv_gemm = -1;
      for (int k = 0; k < 3; k++)
        if (strcmp(val, modes[k]) == 0) a->conv_gemm = k;
      if (a->conv_gemm < 0)
        return MT_ERR(INVALID_ARGUMENT,
                      "compile: --conv-gemm takes auto, never or always, not '%s'", val);
    } else
      a->arch_params = val;
  }
  if (a->no_cpu_code && a->cpu_targets)
    return MT_ERR(INVALID_ARGUMENT,
                  "compile: --no-cpu-code and --cpu-targets contradict each other");
  if (a->cpu_only && !a->output)
    return MT_ERR(INVALID_ARGUMENT, "compile: --cpu-only is about the bundle: it needs -o FILE");
  if (a->cpu_only && a->nvrtc)
    return MT_ERR(INVALID_ARGUMENT,
                  "compile: --cpu-only and --nvrtc contradict each other (a bundle with --nvrtc "
                  "carries GPU code)");
  return NULL;
}

/* Same one-line error as every other command (see mt_cli_fail). */
static int fail_compile(mtcc_status *st) {
  mt_cli_print_error(mtcc_status_message(st));
  mtcc_status_free(st);
  return 1;
}

int mt_cmd_compile(int argc, char **argv) {
  compile_args a = {0};
  mt_status *st = parse_args(argc, argv, &a);
  if (st) {
    free(a.paths);
    free(a.disabled);
    free(a.constants);
    return mt_cli_fail(st);
  }
  mtcc_compile_options o;
  mtcc_compile_options_init(&o);
  o.inputs = (const char *const *)a.paths;
  o.n_inputs = a.n_paths;
  o.target = a.target;
  o.arch_params_path = a.arch_params;
  o.memory_limit = a.memory_limit;
  o.disabled_passes = a.disabled;
  o.n_disabled_passes = a.n_disabled;
  o.dump_after = a.dump_after;
  o.emit_cuda_dir = a.emit_cuda;
  /* a bundle is GPU code unless --cpu-only; without NVRTC it is written CPU-only, saying why */
  o.nvrtc = a.nvrtc || (a.output && !a.cpu_only && mt_cuda_nvrtc_available());
  o.no_cache = a.no_cache;
  /* a bundle carries CPU code unless --no-cpu-code; --cpu-targets alone asks for it too */
  o.cpu_code = !a.no_cpu_code && (a.output || a.cpu_targets);
  o.cpu_targets = a.cpu_targets;
  o.conv_split_k = a.conv_split_k;
  o.constant_inputs = a.constants;
  o.n_constant_inputs = a.n_constants;
  o.conv_gemm = a.conv_gemm;
  o.report_path = a.report; /* written before the summary is printed, as before */
  o.report_html_path = a.report_html;
  mtcc_compilation *c = NULL;
  mtcc_status *cst = mtcc_compile(&o, &c);
  if (!cst && a.output) cst = mtcc_compilation_write_bundle(c, a.output);
  if (!cst) mtcc_compilation_print_summary(c, stdout);
  int skipped = c ? c->cuda->n_skipped : 0;
  if (!cst && a.output && o.nvrtc && skipped)
    printf("bundle: %s (the CPU plan, and GPU code for every target but %d group(s) codegen does "
           "not cover yet: see mtcc inspect)\n",
           a.output, skipped);
  else if (!cst && a.output && o.nvrtc)
    printf("bundle: %s (GPU code for every target, and the CPU plan)\n", a.output);
  else if (!cst && a.output)
    printf("bundle: %s (CPU plan only: %s)\n", a.output,
           a.cpu_only ? "--cpu-only" : mt_cuda_nvrtc_describe());
  mtcc_compilation_destroy(c);
  free(a.paths);
  free(a.disabled);
  free(a.constants);
  return cst ? fail_compile(cst) : 0;
}
