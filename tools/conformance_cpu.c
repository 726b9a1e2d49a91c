/* `mtcc conformance --backend cpu`: each ONNX backend case compiled to a bundle with generated
 * CPU code and run through libmtrt's CPU backend (cpu_target auto, 2 threads), compared like the
 * reference executor's run (tools/conformance.c prints the same lines). Graph inputs whose values
 * shape inference needs become constants of the compile (--constant-input), the others' shapes
 * are the data set's (a manifest's "shapes"), as mtcc-emulate does. A group the CPU backend
 * cannot generate runs its reference kernels inside the bundle: the PASS line says how many
 * groups ran generated code, and a `cpu:` line before the summary counts the cases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "driver/compilation.h"
#include "frontend/frontend.h"
#include "mtcc.h"
#include "mtrt.h"
#include "ir/ir.h"
#include "tools/cli.h"
#include "tools/conformance.h"
#include "tools/conformance_cpu.h"

typedef struct cpu_backend {
  char dir[64]; /* a private temporary folder for each case's files */
  int all_generated, partly, none;
  double start;
} cpu_backend;

static mt_status *from_mtrt(mtrt_status *st, const char *what) {
  if (!st) return NULL;
  mt_status *r = mt_status_make((mt_status_code)mtrt_status_code_of(st), "libmtrt %s: %s", what,
                                mtrt_status_message(st));
  mtrt_status_free(st);
  return r;
}

/* The manifest (shapes of the runtime inputs) and the constant-input specs of one data set. */
MT_MUST_USE static mt_status *write_inputs(cpu_backend *cb, const char *model_path,
                                           const mt_module *ref, const bool *need,
                                           mt_tensor *inputs, char **specs, char *manifest) {
  const mt_graph *g = mt_module_tenant_c(ref, 0)->graph;
  json_t *shapes = json_object();
  mt_status *st = NULL;
  for (int i = 0; i < g->n_inputs && !st; i++) {
    const mt_value *v = mt_module_value_c(ref, g->inputs[i]);
    if (need[i]) {
      char path[128];
      snprintf(path, sizeof path, "%s/in%d.pb", cb->dir, i);
      st = mt_tensor_file_write(path, &inputs[i], v->name);
      size_t n = strlen(v->name) + strlen(path) + 2;
      specs[i] = st ? NULL : malloc(n);
      if (!st && !specs[i]) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      if (!st) snprintf(specs[i], n, "%s=%s", v->name, path);
      continue;
    }
    if (mt_dtype_is_container(v->dtype)) continue; /* a container's size is data */
    json_t *dims = json_array();
    for (int d = 0; d < inputs[i].rank; d++)
      json_array_append_new(dims, json_integer(inputs[i].dims[d]));
    json_object_set_new(shapes, v->name, dims);
  }
  snprintf(manifest, 128, "%s/case.json", cb->dir);
  json_t *root = json_pack("{s:[{s:s, s:s, s:o}]}", "tenants", "name", "model", "model", model_path,
                           "shapes", shapes);
  if (!st && (!root || json_dump_file(root, manifest, 0) != 0))
    st = MT_ERR(INTERNAL, "cannot write %s", manifest);
  json_decref(root);
  return st;
}

/* Binds the runtime inputs, runs tenant 0 and copies its outputs into got. */
MT_MUST_USE static mt_status *run_bundle(const char *path, const mt_module *ref, const bool *need,
                                         mt_tensor *inputs, mt_tensor *got, bool *generated) {
  const mt_graph *g = mt_module_tenant_c(ref, 0)->graph;
  mtrt_bundle *b = NULL;
  mtrt_session *s = NULL;
  mt_status *st = from_mtrt(mtrt_bundle_open(path, NULL, &b), "open");
  mtrt_session_options so;
  mtrt_session_options_init(&so);
  so.cpu_threads = 2;
  so.cpu_target = "auto";
  if (!st) st = from_mtrt(mtrt_session_create(b, &so, &s), "session");
  if (!st) {
    const char *target = mtrt_session_cpu_target(s);
    *generated = target && strcmp(target, "reference") != 0;
  }
  for (int i = 0; i < g->n_inputs && !st; i++) {
    if (need[i]) continue;
    const mt_value *v = mt_module_value_c(ref, g->inputs[i]);
    st = from_mtrt(
        mtrt_session_bind_input(s, 0, v->name, inputs[i].data, mt_tensor_nbytes(&inputs[i])),
        "input");
  }
  int n_out = st ? 0 : mtrt_bundle_output_count(b, 0);
  for (int i = 0; i < n_out && !st; i++) {
    mtrt_port_info info;
    st = from_mtrt(mtrt_bundle_output_info(b, 0, i, &info), "output");
    if (st) break;
    got[i] = (mt_tensor){.dtype = (mt_dtype)info.dtype, .rank = info.rank};
    if (info.rank > 0) memcpy(got[i].dims, info.dims, sizeof(int64_t) * (size_t)info.rank);
    got[i].data = malloc(info.nbytes ? info.nbytes : 1);
    if (!got[i].data) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    if (!st)
      st = from_mtrt(mtrt_session_bind_output(s, 0, info.name, got[i].data, info.nbytes), "output");
  }
  if (!st) st = from_mtrt(mtrt_session_run(s, 0), "run");
  mtrt_session_destroy(s);
  mtrt_bundle_close(b);
  return st;
}

static mt_status *run_cpu(void *self, const char *model_path, const mt_module *ref,
                          mt_tensor *inputs, mt_tensor *got, char *note, size_t cap) {
  cpu_backend *cb = self;
  const mt_graph *g = mt_module_tenant_c(ref, 0)->graph;
  bool *need = calloc((size_t)g->n_inputs + 1, sizeof *need);
  char **specs = calloc((size_t)g->n_inputs + 1, sizeof *specs);
  const char **live = calloc((size_t)g->n_inputs + 1, sizeof *live);
  if (!need || !specs || !live) {
    free(need), free(specs), free(live);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  mt_graph_inputs_needed_at_compile_time(ref, g, need);
  char manifest[128], bundle[128];
  snprintf(bundle, sizeof bundle, "%s/case.mtbundle", cb->dir);
  mt_status *st = write_inputs(cb, model_path, ref, need, inputs, specs, manifest);
  int n_specs = 0;
  for (int i = 0; i < g->n_inputs; i++)
    if (specs[i]) live[n_specs++] = specs[i];
  mtcc_compilation *c = NULL;
  if (!st) {
    const char *in[1] = {manifest};
    mtcc_compile_options o;
    mtcc_compile_options_init(&o);
    o.inputs = in, o.n_inputs = 1;
    o.constant_inputs = live, o.n_constant_inputs = n_specs;
    o.memory_limit = mt_module_memory_limit(ref);
    o.cpu_code = 1;
    st = (mt_status *)mtcc_compile(&o, &c);
  }
  if (!st) st = (mt_status *)mtcc_compilation_write_bundle(c, bundle);
  bool generated = false;
  if (!st) st = run_bundle(bundle, ref, need, inputs, got, &generated);
  if (!st) {
    const mt_cpu_program *cpu = c->cpu;
    int n = cpu ? mt_cpu_program_groups_generated(cpu) : 0, total = cpu ? cpu->n_groups : 0;
    if (!generated || n == 0) {
      cb->none++;
      snprintf(note, cap, "cpu: reference kernels only (%s)",
               cpu && cpu->unavailable[0] ? cpu->unavailable : "no object for this host");
    } else if (n < total) {
      cb->partly++;
      for (int h = 0; h < total; h++)
        if (cpu->groups[h].unavailable[0]) {
          snprintf(note, cap, "cpu: %d of %d groups generated (%s)", n, total,
                   cpu->groups[h].reason);
          break;
        }
    } else {
      cb->all_generated++;
    }
  }
  /* a shape computed from data at run time is outside what an ahead-of-time compile can
   * specialise on, as for the emulating runner */
  if (st && mt_status_code_of(st) != MT_UNIMPLEMENTED &&
      strstr(mt_status_message(st), "not known at compile time")) {
    mt_status *u = MT_ERR(UNIMPLEMENTED, "%s", mt_status_message(st));
    mt_status_free(st);
    st = u;
  }
  mtcc_compilation_destroy(c);
  for (int i = 0; i < g->n_inputs; i++) {
    if (specs[i]) {
      char path[128];
      snprintf(path, sizeof path, "%s/in%d.pb", cb->dir, i);
      unlink(path);
    }
    free(specs[i]);
  }
  unlink(manifest);
  unlink(bundle);
  free(need), free(specs), free(live);
  return st;
}

static void cpu_finish(void *self, int passed, int passed_with_note) {
  cpu_backend *cb = self;
  (void)passed, (void)passed_with_note;
  printf("cpu: %d passed cases ran every group as generated code, %d some groups, %d only "
         "reference kernels (%.1f s)\n",
         cb->all_generated, cb->partly, cb->none, mt_cli_now() - cb->start);
}

int mt_conformance_cpu_main(int argc, char **argv) {
  cpu_backend cb = {.start = mt_cli_now()};
  const char *tmp = getenv("TMPDIR");
  snprintf(cb.dir, sizeof cb.dir, "%.40s/mtcc-cpu-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(cb.dir))
    return mt_cli_fail(MT_ERR(UNAVAILABLE,
                              "conformance --backend cpu: cannot create a folder "
                              "under %s",
                              tmp && tmp[0] ? tmp : "/tmp"));
  mt_conformance_backend b = {.self = &cb, .run_set = run_cpu, .finish = cpu_finish};
  int rc = mt_conformance_main(argc, argv, NULL, &b);
  rmdir(cb.dir);
  return rc;
}
