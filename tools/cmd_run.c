/* mtcc run --reference: run every tenant on the reference executor and write its outputs as
 * OUTDIR/<tenant>/<output>.npy (or .pb). */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "frontend/manifest.h"
#include "ir/ir.h"
#include "runtime/cpu/container.h"
#include "runtime/base/escape.h"
#include "runtime/cpu/container.h"
#include "tools/cli.h"

typedef struct input_arg {
  const char *spec; /* the argument as given, for messages */
  char *tenant;     /* NULL: the only tenant */
  char *name;
  char *path;
  mt_tensor tensor;
  bool used;
} input_arg;

/* Output file names: characters outside [A-Za-z0-9._-] become '_' (names are arbitrary strings).
 * The whole name is kept, never cut: a name too long for the file system fails when the file is
 * created, naming it, instead of silently colliding with another cut name. NULL: out of memory. */
char *mt_cli_sanitize(const char *in) {
  size_t n = strlen(in);
  char *out = malloc(n + 2);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    out[i] = ok ? c : '_';
  }
  out[n] = 0;
  if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0 || !*out) strcpy(out, "_");
  return out;
}

/* dir + "/" + name + ext as a new string. Paths of PATH_MAX characters or more are refused, not
 * cut: a cut path would write somewhere else than asked. */
mt_status *mt_cli_join_path(const char *dir, const char *name, const char *ext, char **out) {
  size_t n = strlen(dir) + 1 + strlen(name) + strlen(ext);
  if (n >= PATH_MAX)
    return MT_ERR(INVALID_ARGUMENT, "path '%.80s...' would be %zu characters; the limit is %d", dir,
                  n, PATH_MAX - 1);
  *out = malloc(n + 1);
  if (!*out) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  snprintf(*out, n + 1, "%s/%s%s", dir, name, ext);
  return NULL;
}

/* mkdir -p: the output folder's parents are created too. */
mt_status *mt_cli_make_dir(const char *path) {
  char *buf = strdup(path);
  if (!buf) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = NULL;
  for (char *p = buf + 1; !st && *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      st = MT_ERR(INVALID_ARGUMENT, "%s: cannot create folder: %s", buf, strerror(errno));
    *p = '/';
  }
  if (!st && mkdir(buf, 0777) != 0 && errno != EEXIST)
    st = MT_ERR(INVALID_ARGUMENT, "%s: cannot create folder: %s", path, strerror(errno));
  free(buf);
  return st;
}

/* Whether tenant ti of m has a graph input called name. */
static bool tenant_has_input(const mt_module *m, int32_t ti, const char *name) {
  const mt_graph *g = mt_module_tenant_c(m, ti)->graph;
  for (int i = 0; i < g->n_inputs; i++)
    if (strcmp(mt_module_value_c(m, g->inputs[i])->name, name) == 0) return true;
  return false;
}

/* The declared kind of the input `name` of tenant `tenant` (NULL: any tenant): a container dtype
 * (sequence/optional, read from a SequenceProto/OptionalProto file), else UNDEFINED (a tensor). */
static mt_dtype input_kind(const mt_module *m, const char *tenant, const char *name) {
  for (int32_t ti = 0; ti < mt_module_tenant_count(m); ti++) {
    const mt_tenant *t = mt_module_tenant_c(m, ti);
    if (tenant && strcmp(t->name, tenant) != 0) continue;
    for (int i = 0; i < t->graph->n_inputs; i++) {
      const mt_value *v = mt_module_value_c(m, t->graph->inputs[i]);
      if (strcmp(v->name, name) == 0 && mt_dtype_is_container(v->dtype)) return v->dtype;
    }
  }
  return MT_DTYPE_UNDEFINED;
}

/* Splits "[TENANT:]NAME=FILE". Tenant and input names may both contain ':' (a tenant "a:b"), so
 * every ':' before the '=' is a candidate split, and the one that leaves a known tenant with an
 * input of that name wins; with a single tenant the whole text may also be the input's name.
 * More than one reading is ambiguous and refused. With no valid reading the longest known tenant
 * prefix is kept (so the error names what was meant), else the whole text is the name. */
MT_MUST_USE static mt_status *parse_input_arg(const mt_module *m, const char *arg, input_arg *out) {
  out->spec = arg;
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg || !eq[1])
    return MT_ERR(INVALID_ARGUMENT, "--input '%s': expected [TENANT:]NAME=FILE", arg);
  char *spec = strndup(arg, (size_t)(eq - arg));
  if (!spec) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  size_t len = strlen(spec);
  ptrdiff_t chosen = -1, fallback = -1; /* index of the ':' that splits, -1: none */
  int readings = 0;
  if (mt_module_tenant_count(m) == 1 && tenant_has_input(m, 0, spec)) readings++;
  for (size_t i = len; i-- > 0;) {
    if (spec[i] != ':') continue;
    spec[i] = 0;
    int32_t ti = mt_module_find_tenant(m, spec);
    if (ti >= 0) {
      if (fallback < 0) fallback = (ptrdiff_t)i;
      if (tenant_has_input(m, ti, spec + i + 1)) {
        readings++;
        if (chosen < 0) chosen = (ptrdiff_t)i;
      }
    }
    spec[i] = ':';
  }
  if (readings > 1) {
    free(spec);
    return MT_ERR(INVALID_ARGUMENT,
                  "--input '%s': ambiguous: more than one tenant/input pair reads this way", arg);
  }
  if (readings == 1 && chosen < 0) fallback = -1; /* the single tenant's input named with ':' */
  ptrdiff_t split = chosen >= 0 ? chosen : fallback;
  if (split >= 0) {
    spec[split] = 0;
    out->tenant = strdup(spec);
    out->name = strdup(spec + split + 1);
    if (!out->tenant) {
      free(spec);
      return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    }
  } else {
    out->name = strdup(spec);
  }
  free(spec);
  out->path = strdup(eq + 1);
  if (!out->name || !out->path) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  return mt_value_file_read_limited(out->path, mt_module_memory_limit(m),
                                    input_kind(m, out->tenant, out->name), &out->tensor, NULL);
}

/* The same tenant input given twice would silently keep one of them: refuse, naming both. */
MT_MUST_USE static mt_status *check_duplicate_inputs(const mt_module *m, const input_arg *args,
                                                     int n) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++) {
      /* no tenant given means the only tenant */
      const char *ti = args[i].tenant                   ? args[i].tenant
                       : mt_module_tenant_count(m) == 1 ? mt_module_tenant_c(m, 0)->name
                                                        : "";
      const char *tj = args[j].tenant                   ? args[j].tenant
                       : mt_module_tenant_count(m) == 1 ? mt_module_tenant_c(m, 0)->name
                                                        : "";
      if (strcmp(ti, tj) == 0 && strcmp(args[i].name, args[j].name) == 0)
        return MT_ERR(INVALID_ARGUMENT, "--input: input '%s'%s%s%s is given twice ('%s' and '%s')",
                      args[i].name, *ti ? " of tenant '" : "", ti, *ti ? "'" : "", args[j].spec,
                      args[i].spec);
    }
  return NULL;
}

static void format_dims(const int64_t *dims, int rank, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  for (int d = 0; d < rank && len < cap; d++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%lld", d ? ", " : "", (long long)dims[d]);
}

/* A given tensor must agree with what the manifest's "shapes" and "dims" say about the input:
 * they are what the compiled plan is sized for, so a contradiction is an error, not a rerun at
 * another size. */
MT_MUST_USE static mt_status *check_input_shape(const mt_tenant *t, const mt_value *v,
                                                const mt_tensor *x) {
  char got[256], want[256];
  format_dims(x->dims, x->rank, got, sizeof got);
  for (int s = 0; s < t->n_shape_overrides; s++) {
    const mt_shape_override *o = &t->shape_overrides[s];
    if (strcmp(o->input, v->name) != 0) continue;
    bool same = o->rank == x->rank;
    for (int d = 0; same && d < o->rank; d++) same = o->dims[d] == x->dims[d];
    if (!same) {
      format_dims(o->dims, o->rank, want, sizeof want);
      return MT_ERR(INVALID_ARGUMENT,
                    "tenant '%s': input '%s' has shape [%s], the manifest's \"shapes\" give [%s]",
                    t->name, v->name, got, want);
    }
    return NULL;
  }
  for (int d = 0; d < v->rank && d < x->rank; d++) {
    if (!v->dim_params[d]) continue;
    for (int b = 0; b < t->n_dim_bindings; b++)
      if (strcmp(t->dim_bindings[b].name, v->dim_params[d]) == 0 &&
          t->dim_bindings[b].value != x->dims[d])
        return MT_ERR(INVALID_ARGUMENT,
                      "tenant '%s': input '%s' has shape [%s], but the manifest's \"dims\" bind "
                      "'%s' (dim %d) to %lld",
                      t->name, v->name, got, v->dim_params[d], d,
                      (long long)t->dim_bindings[b].value);
  }
  return NULL;
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
    if (inputs[i].data)
      st = check_input_shape(t, mt_module_value_c(m, g->inputs[i]), &inputs[i]);
    else
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
  int32_t n = mt_module_tenant_count(m);
  mt_status *st = NULL;
  for (int32_t t = 0; !st && t < n; t++) {
    const mt_tenant *tt = mt_module_tenant_c(m, t);
    char *a = mt_cli_sanitize(tt->name);
    if (!a) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    for (int32_t u = 0; !st && u < t; u++) {
      char *b = mt_cli_sanitize(mt_module_tenant_c(m, u)->name);
      if (!b)
        st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      else if (strcmp(a, b) == 0)
        st = MT_ERR(INVALID_ARGUMENT, "tenants '%s' and '%s' would write to the same folder '%s'",
                    mt_module_tenant_c(m, u)->name, tt->name, a);
      free(b);
    }
    free(a);
    const mt_graph *g = tt->graph;
    for (int i = 0; !st && i < g->n_outputs; i++) {
      a = mt_cli_sanitize(mt_module_value_c(m, g->outputs[i])->name);
      if (!a) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      for (int j = 0; !st && j < i; j++) {
        char *b = mt_cli_sanitize(mt_module_value_c(m, g->outputs[j])->name);
        if (!b)
          st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
        else if (strcmp(a, b) == 0)
          st = MT_ERR(INVALID_ARGUMENT,
                      "tenant '%s': outputs '%s' and '%s' would write to the same file '%s'",
                      tt->name, mt_module_value_c(m, g->outputs[j])->name,
                      mt_module_value_c(m, g->outputs[i])->name, a);
        free(b);
      }
      free(a);
    }
  }
  return st;
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
      mt_container c;
      mt_status *cst = mt_dtype_is_container(o->dtype) ? mt_container_open(o, &c) : NULL;
      mt_status_free(cst); /* a blob the executor made; failing, the generic line below */
      if (mt_dtype_is_container(o->dtype) && !cst) {
        printf("  %s: %s of %lld element(s)\n",
               mt_esc(mt_module_value_c(m, t->graph->outputs[i])->name), mt_dtype_name(o->dtype),
               (long long)c.count);
        mt_container_free(&c);
        continue;
      }
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
    else if ((strcmp(argv[i], "--device") == 0 || strcmp(argv[i], "--cpu-threads") == 0 ||
              strcmp(argv[i], "--arrival") == 0 || strcmp(argv[i], "--gpu") == 0 ||
              strcmp(argv[i], "--window-us") == 0 || strcmp(argv[i], "--cpu-target") == 0) &&
             i + 1 < argc)
      i++; /* bundles only (mt_cmd_run_bundle reads them) */
    else if (strcmp(argv[i], "--profile") == 0)
      continue; /* bundles only */
    else if (strcmp(argv[i], "--output-format") == 0 && i + 1 < argc) {
      ext = argv[++i];
      if (strcmp(ext, "npy") != 0 && strcmp(ext, "pb") != 0)
        st = MT_ERR(INVALID_ARGUMENT, "--output-format must be npy or pb, not '%s'", ext);
    } else if (argv[i][0] == '-')
      st = MT_ERR(INVALID_ARGUMENT, "run: unknown or incomplete option '%s'", argv[i]);
    else
      paths[n_paths++] = argv[i];
  }
  if (!st && !reference && n_paths == 1 && mt_cli_is_bundle(paths[0])) {
    free(paths);
    free(input_specs);
    return mt_cmd_run_bundle(argc, argv);
  }
  if (!st && !reference)
    st = MT_ERR(UNIMPLEMENTED,
                "run: only --reference (the CPU reference executor) is available in this version");
  if (!st && !out_dir) st = MT_ERR(INVALID_ARGUMENT, "run: --output-dir DIR is required");
  /* the stage folder's name adds ".tmp.XXXXXX" and each output "/TENANT/OUTPUT.npy": those are
   * checked when made; this catches the plainly too long folder before any work */
  if (!st && strlen(out_dir) >= PATH_MAX - 16)
    st = MT_ERR(INVALID_ARGUMENT, "--output-dir is %zu characters long; the limit is %d",
                strlen(out_dir), PATH_MAX - 17);
  mt_manifest *mf = NULL;
  mt_module *m = NULL;
  if (!st) st = mt_workload_load(NULL, memory_limit, n_paths, paths, &mf, &m);
  if (!st) st = mt_check_supported(m);
  if (!st) st = check_name_collisions(m);
  input_arg *args = calloc((size_t)n_inputs + 1, sizeof *args);
  if (!st && !args) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; !st && i < n_inputs; i++) st = parse_input_arg(m, input_specs[i], &args[i]);
  if (!st) st = check_duplicate_inputs(m, args, n_inputs);
  int32_t n_tenants = m ? mt_module_tenant_count(m) : 0;
  tenant_result *results = calloc((size_t)n_tenants + 1, sizeof *results);
  if (!st && !results) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int32_t t = 0; !st && t < n_tenants; t++) st = run_tenant(m, t, args, n_inputs, &results[t]);
  for (int i = 0; !st && i < n_inputs; i++)
    if (!args[i].used)
      st = MT_ERR(INVALID_ARGUMENT, "--input %s: no tenant has an input named '%s'", input_specs[i],
                  args[i].name);
  /* Outputs go to a stage folder next to out_dir and move in only once every tenant's are
   * written, so an error at any point (a full disk, an unwritable name) leaves no output file. */
  mt_cli_tenant_outputs *outs = calloc((size_t)n_tenants + 1, sizeof *outs);
  const char **names = NULL;
  int total = 0;
  for (int32_t t = 0; t < n_tenants; t++) total += results ? results[t].n_outputs : 0;
  if (!st && (!outs || !(names = calloc((size_t)total + 1, sizeof *names))))
    st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int32_t t = 0, k = 0; !st && t < n_tenants; t++) {
    const mt_tenant *tn = mt_module_tenant_c(m, t);
    outs[t] =
        (mt_cli_tenant_outputs){tn->name, results[t].n_outputs, names + k, results[t].outputs};
    for (int i = 0; i < results[t].n_outputs; i++)
      names[k++] = mt_module_value_c(m, tn->graph->outputs[i])->name;
  }
  if (!st) st = mt_cli_write_outputs(out_dir, ext, outs, n_tenants);
  free(outs);
  free(names);
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
