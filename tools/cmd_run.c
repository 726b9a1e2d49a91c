/* mtcc run --reference: run every tenant on the reference executor and write its outputs as
 * OUTDIR/<tenant>/<output>.npy (or .pb). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/frontend.h"
#include "frontend/manifest.h"
#include "ir/ir.h"
#include "runtime/base/escape.h"
#include "tools/cli.h"

typedef struct input_arg {
  char *tenant; /* NULL: the only tenant */
  char *name;
  char *path;
  mt_tensor tensor;
  bool used;
} input_arg;

/* Output file names: characters outside [A-Za-z0-9._-] become '_' (names are arbitrary strings). */
static void sanitize(const char *in, char *out, size_t cap) {
  size_t i = 0;
  for (; in[i] && i + 1 < cap; i++) {
    char c = in[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    out[i] = ok ? c : '_';
  }
  out[i] = 0;
  if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0 || !*out) snprintf(out, cap, "_");
}

/* mkdir -p: the output folder's parents are created too. */
MT_MUST_USE static mt_status *make_dir(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return MT_ERR(INVALID_ARGUMENT, "%s: cannot create folder: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST)
    return MT_ERR(INVALID_ARGUMENT, "%s: cannot create folder: %s", path, strerror(errno));
  return NULL;
}

MT_MUST_USE static mt_status *parse_input_arg(const mt_module *m, const char *arg, input_arg *out) {
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg || !eq[1])
    return MT_ERR(INVALID_ARGUMENT, "--input '%s': expected [TENANT:]NAME=FILE", arg);
  char *spec = strndup(arg, (size_t)(eq - arg));
  if (!spec) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  char *colon = strchr(spec, ':');
  if (colon) {
    *colon = 0;
    if (mt_module_find_tenant(m, spec) >= 0) {
      out->tenant = strdup(spec);
      out->name = strdup(colon + 1);
    } else {
      *colon = ':'; /* input names may contain ':' themselves */
    }
  }
  if (!out->name) out->name = strdup(spec);
  free(spec);
  out->path = strdup(eq + 1);
  if (!out->name || !out->path) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  return mt_tensor_file_read_limited(out->path, mt_module_memory_limit(m), &out->tensor, NULL);
}

typedef struct tenant_result {
  mt_tensor *outputs; /* one per graph output, data malloc'ed */
  int n_outputs;
  double seconds;
} tenant_result;

MT_MUST_USE static mt_status *run_tenant(const mt_module *m, int32_t ti, input_arg *args,
                                         int n_args, tenant_result *res) {
  const mt_tenant *t = mt_module_tenant_c(m, ti);
  const mt_graph *g = t->graph;
  mt_tensor *inputs = calloc((size_t)g->n_inputs + 1, sizeof *inputs);
  res->outputs = calloc((size_t)g->n_outputs + 1, sizeof *res->outputs);
  mt_status *st = (!inputs || !res->outputs) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  for (int i = 0; !st && i < g->n_inputs; i++) {
    const char *name = mt_module_value_c(m, g->inputs[i])->name;
    for (int a = 0; a < n_args; a++) {
      bool tenant_ok =
          args[a].tenant ? strcmp(args[a].tenant, t->name) == 0 : mt_module_tenant_count(m) == 1;
      if (tenant_ok && strcmp(args[a].name, name) == 0) {
        inputs[i] = args[a].tensor;
        args[a].used = true;
      }
    }
    if (!inputs[i].data)
      st = MT_ERR(INVALID_ARGUMENT, "tenant '%s': input '%s' was not given (--input %s%s%s=FILE)",
                  t->name, name, mt_module_tenant_count(m) > 1 ? t->name : "",
                  mt_module_tenant_count(m) > 1 ? ":" : "", name);
  }
  double start = mt_cli_now();
  if (!st) st = mt_reference_run(m, ti, inputs, res->outputs);
  res->seconds = mt_cli_now() - start;
  if (!st) res->n_outputs = g->n_outputs;
  if (!st && res->seconds > 2.0)
    fprintf(stderr, "mtcc: tenant '%s' ran in %.1f s\n", mt_esc(t->name), res->seconds);
  free(inputs);
  return st;
}

/* Two tenants (or two outputs of one tenant) whose names sanitise to the same file would
 * overwrite each other: refuse, naming both. */
MT_MUST_USE static mt_status *check_name_collisions(const mt_module *m) {
  char a[512], b[512];
  int32_t n = mt_module_tenant_count(m);
  for (int32_t t = 0; t < n; t++) {
    const mt_tenant *tt = mt_module_tenant_c(m, t);
    sanitize(tt->name, a, sizeof a);
    for (int32_t u = 0; u < t; u++) {
      sanitize(mt_module_tenant_c(m, u)->name, b, sizeof b);
      if (strcmp(a, b) == 0)
        return MT_ERR(INVALID_ARGUMENT, "tenants '%s' and '%s' would write to the same folder '%s'",
                      mt_module_tenant_c(m, u)->name, tt->name, a);
    }
    const mt_graph *g = tt->graph;
    for (int i = 0; i < g->n_outputs; i++) {
      sanitize(mt_module_value_c(m, g->outputs[i])->name, a, sizeof a);
      for (int j = 0; j < i; j++) {
        sanitize(mt_module_value_c(m, g->outputs[j])->name, b, sizeof b);
        if (strcmp(a, b) == 0)
          return MT_ERR(INVALID_ARGUMENT,
                        "tenant '%s': outputs '%s' and '%s' would write to the same file '%s'",
                        tt->name, mt_module_value_c(m, g->outputs[j])->name,
                        mt_module_value_c(m, g->outputs[i])->name, a);
      }
    }
  }
  return NULL;
}

/* Writes one tenant's outputs; called only once every tenant has run, so a failing run leaves
 * no output files behind. */
MT_MUST_USE static mt_status *write_tenant(const mt_module *m, int32_t ti, const tenant_result *res,
                                           const char *out_dir, const char *ext) {
  const mt_tenant *t = mt_module_tenant_c(m, ti);
  char dir[4096], tn[512], fname[1024], path[4096 + 1024 + 8];
  sanitize(t->name, tn, sizeof tn);
  snprintf(dir, sizeof dir, "%.3000s/%s", out_dir, tn);
  MT_RETURN_IF_ERROR_PLAIN(make_dir(dir));
  for (int i = 0; i < res->n_outputs; i++) {
    const char *name = mt_module_value_c(m, t->graph->outputs[i])->name;
    sanitize(name, fname, sizeof fname);
    snprintf(path, sizeof path, "%s/%s.%s", dir, fname, ext);
    MT_RETURN_IF_ERROR_PLAIN(mt_tensor_file_write(path, &res->outputs[i], name));
  }
  return NULL;
}

/* The per-tenant summary: nodes, partition, time, and each output's shape. */
static void print_summary(const mt_module *m, const tenant_result *results) {
  for (int32_t ti = 0; ti < mt_module_tenant_count(m); ti++) {
    const mt_tenant *t = mt_module_tenant_c(m, ti);
    int nodes = 0;
    for (int32_t k = 0; k < mt_module_node_count(m); k++)
      nodes += mt_module_node_c(m, k)->tenant == ti;
    printf("tenant '%s' (partition %s): %d nodes, %.1f ms on the reference executor\n",
           mt_esc(t->name), mt_esc(t->partition), nodes, results[ti].seconds * 1e3);
    for (int i = 0; i < results[ti].n_outputs; i++) {
      const mt_tensor *o = &results[ti].outputs[i];
      printf("  %s: %s[", mt_esc(mt_module_value_c(m, t->graph->outputs[i])->name),
             mt_dtype_name(o->dtype));
      for (int d = 0; d < o->rank; d++) printf("%s%lld", d ? ", " : "", (long long)o->dims[d]);
      double sum = 0;
      for (int64_t e = 0; e < mt_tensor_numel(o); e++) sum += mt_tensor_get_f64(o, e);
      printf("] sum %.6g\n", sum);
    }
  }
}

int mt_cmd_run(int argc, char **argv) {
  bool reference = false;
  const char *out_dir = NULL, *ext = "npy";
  char **paths = calloc((size_t)argc + 1, sizeof *paths);
  const char **input_specs = calloc((size_t)argc + 1, sizeof *input_specs);
  int n_paths = 0, n_inputs = 0;
  size_t memory_limit = 0;
  mt_status *st = (!paths || !input_specs) ? MT_ERR(RESOURCE_EXHAUSTED, "out of memory") : NULL;
  for (int i = 0; !st && i < argc; i++) {
    if (strcmp(argv[i], "--reference") == 0)
      reference = true;
    else if (mt_cli_memory_limit_arg("run", argc, argv, &i, &memory_limit, &st))
      continue;
    else if (strcmp(argv[i], "--input") == 0 && i + 1 < argc)
      input_specs[n_inputs++] = argv[++i];
    else if (strcmp(argv[i], "--output-dir") == 0 && i + 1 < argc)
      out_dir = argv[++i];
    else if (strcmp(argv[i], "--output-format") == 0 && i + 1 < argc) {
      ext = argv[++i];
      if (strcmp(ext, "npy") != 0 && strcmp(ext, "pb") != 0)
        st = MT_ERR(INVALID_ARGUMENT, "--output-format must be npy or pb, not '%s'", ext);
    } else if (argv[i][0] == '-')
      st = MT_ERR(INVALID_ARGUMENT, "run: unknown or incomplete option '%s'", argv[i]);
    else
      paths[n_paths++] = argv[i];
  }
  if (!st && !reference)
    st = MT_ERR(UNIMPLEMENTED,
                "run: only --reference (the CPU reference executor) is available in this version");
  if (!st && !out_dir) st = MT_ERR(INVALID_ARGUMENT, "run: --output-dir DIR is required");
  mt_manifest *mf = NULL;
  mt_module *m = NULL;
  if (!st) st = mt_workload_load(NULL, memory_limit, n_paths, paths, &mf, &m);
  if (!st) st = mt_check_supported(m);
  if (!st) st = check_name_collisions(m);
  input_arg *args = calloc((size_t)n_inputs + 1, sizeof *args);
  if (!st && !args) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; !st && i < n_inputs; i++) st = parse_input_arg(m, input_specs[i], &args[i]);
  int32_t n_tenants = m ? mt_module_tenant_count(m) : 0;
  tenant_result *results = calloc((size_t)n_tenants + 1, sizeof *results);
  if (!st && !results) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int32_t t = 0; !st && t < n_tenants; t++) st = run_tenant(m, t, args, n_inputs, &results[t]);
  for (int i = 0; !st && i < n_inputs; i++)
    if (!args[i].used)
      st = MT_ERR(INVALID_ARGUMENT, "--input %s: no tenant has an input named '%s'", input_specs[i],
                  args[i].name);
  if (!st) st = make_dir(out_dir);
  for (int32_t t = 0; !st && t < n_tenants; t++) st = write_tenant(m, t, &results[t], out_dir, ext);
  if (!st) {
    print_summary(m, results);
    printf("ran %d tenant(s); outputs in %s\n", n_tenants, mt_esc(out_dir));
  }
  for (int32_t t = 0; results && t < n_tenants; t++) {
    for (int i = 0; i < results[t].n_outputs; i++) free(results[t].outputs[i].data);
    free(results[t].outputs);
  }
  free(results);
  for (int i = 0; args && i < n_inputs; i++) {
    free(args[i].tenant);
    free(args[i].name);
    free(args[i].path);
    free(args[i].tensor.data);
  }
  free(args);
  free(paths);
  free(input_specs);
  mt_module_destroy(m);
  mt_manifest_free(mf);
  return st ? mt_cli_fail(st) : 0;
}
