/* Scaffolding shared by the codegen emulator tests (test_codegen_*.c): failure counting, a
 * deterministic filler and a tiny graph builder over the IR API. Header-only (static inline):
 * each test is its own executable with its own failure counter. */
#ifndef MT_TESTS_CODEGEN_TEST_UTIL_H
#define MT_TESTS_CODEGEN_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "codegen/cuda.h"
#include "emu_rt.h"
#include "ir/ir.h"

static int failures;
#define CHECK(c, ...)                                                                              \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                         \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)
#define OK(expr)                                                                                   \
  do {                                                                                             \
    mt_status *st_ = (expr);                                                                       \
    if (st_) {                                                                                     \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, mt_status_message(st_));             \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static uint32_t seed = 4242;
static inline uint32_t lcg(void) {
  seed = seed * 1664525u + 1013904223u;
  return seed >> 8;
}

static inline void fill(mt_tensor *t) {
  int64_t n = mt_tensor_numel(t);
  t->data = calloc((size_t)(n ? n : 1), mt_dtype_size(t->dtype));
  for (int64_t i = 0; i < n; i++) {
    double v = mt_dtype_is_float(t->dtype) ? (double)(lcg() % 40001) / 10000.0 - 2.0
                                           : (double)((int)(lcg() % 61) - 30);
    if (t->dtype == MT_DTYPE_UINT8 || t->dtype == MT_DTYPE_BOOL) v = fabs(v);
    if (t->dtype == MT_DTYPE_BOOL) v = (double)((int)v % 2);
    mt_tensor_set_f64(t, i, v);
  }
}

/* --- a tiny graph builder over the IR API --- */
typedef struct tb {
  mt_module *m;
  int32_t t;
  mt_graph *g;
  int n;
} tb;

static inline void tb_tenant(tb *b, mt_module *m, const char *name) {
  b->m = m;
  b->n = 0;
  OK(mt_module_add_tenant(m, name, "/nonexistent/model.onnx", &b->t));
  mt_tenant *t = mt_module_tenant(m, b->t);
  mt_arena *arena = mt_module_arena(m);
  t->opsets = mt_arena_array(arena, 1, sizeof *t->opsets);
  t->opsets[0].domain = mt_arena_strdup(arena, "");
  t->opsets[0].version = 17;
  t->n_opsets = 1;
  b->g = t->graph;
  b->g->inputs = mt_arena_array(arena, 8, sizeof(mt_value_id));
  b->g->outputs = mt_arena_array(arena, 128, sizeof(mt_value_id));
}

static inline mt_value_id tb_input(tb *b, const char *name, mt_dtype dt, int rank,
                                   const int64_t *dims) {
  mt_value_id v;
  OK(mt_module_add_value(b->m, b->g, name, &v));
  mt_value *x = mt_module_value(b->m, v);
  x->dtype = dt;
  x->rank = rank;
  for (int d = 0; d < rank; d++) x->dims[d] = dims[d];
  b->g->inputs[b->g->n_inputs++] = v;
  return v;
}

static inline mt_value_id tb_const(tb *b, mt_dtype dt, int rank, const int64_t *dims) {
  mt_tensor t = {.dtype = dt, .rank = rank};
  for (int d = 0; d < rank; d++) t.dims[d] = dims[d];
  fill(&t);
  char name[32];
  snprintf(name, sizeof name, "c%d", b->n++);
  mt_value_id v;
  OK(mt_module_add_constant_value(b->m, b->g, name, &t, &v));
  free(t.data);
  return v;
}

static inline mt_value_id tb_ints(tb *b, int n, const int64_t *vals) {
  mt_tensor t = {.dtype = MT_DTYPE_INT64, .rank = 1, .dims = {n}, .data = (void *)vals};
  char name[32];
  snprintf(name, sizeof name, "k%d", b->n++);
  mt_value_id v;
  OK(mt_module_add_constant_value(b->m, b->g, name, &t, &v));
  return v;
}

static inline mt_attr *tb_attr_int(tb *b, const char *name, int64_t value) {
  mt_arena *arena = mt_module_arena(b->m);
  mt_attr *a = mt_arena_array(arena, 1, sizeof *a);
  memset(a, 0, sizeof *a);
  a->name = mt_arena_strdup(arena, name);
  a->type = MT_ATTR_INT;
  a->i = value;
  return a;
}

static inline mt_attr *tb_attr_ints(tb *b, const char *name, int n, const int64_t *values) {
  mt_arena *arena = mt_module_arena(b->m);
  mt_attr *a = mt_arena_array(arena, 1, sizeof *a);
  memset(a, 0, sizeof *a);
  a->name = mt_arena_strdup(arena, name);
  a->type = MT_ATTR_INTS;
  a->count = n;
  a->ints = mt_arena_array(arena, (size_t)n, sizeof(int64_t));
  memcpy(a->ints, values, (size_t)n * sizeof(int64_t));
  return a;
}

static inline mt_value_id tb_node(tb *b, const char *op, int n_in, const mt_value_id *in,
                                  mt_attr *attr) {
  mt_value_id out;
  char name[64], vname[80];
  snprintf(name, sizeof name, "%s_%d", op, b->n++);
  snprintf(vname, sizeof vname, "%s_out", name);
  OK(mt_module_add_value(b->m, b->g, vname, &out));
  int32_t id;
  OK(mt_module_add_node(b->m, b->g, name, op, "", n_in, in, 1, &out, attr ? 1 : 0, attr, &id));
  return out;
}

#define V(...) ((const mt_value_id[]){__VA_ARGS__})
#define D(...) ((const int64_t[]){__VA_ARGS__})

/* Compiles every kernel of prog into one emulator module (one g++ run): each kernel in its own
 * namespace, since preludes and body names repeat. NULL (after printing why) when the emulator
 * cannot compile them; MTCC_KEEP_CU=1 keeps the source for a look. */
static inline emu_module *cg_load_program(const mt_cuda_program *prog, const char *tag) {
  char path[128];
  snprintf(path, sizeof path, "/tmp/mtcc_codegen_%s_XXXXXX.cu", tag);
  int fd = mkstemps(path, 3);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) return NULL;
  fprintf(f, "#include \"mt_cuda.h\"\n");
  const char **names = calloc((size_t)prog->n_kernels + 1, sizeof *names);
  for (int i = 0; i < prog->n_kernels; i++) {
    fprintf(f, "namespace k%d {\n%s}\nusing k%d::%s;\n", i, prog->kernels[i].source, i,
            prog->kernels[i].name);
    names[i] = prog->kernels[i].name;
  }
  fclose(f);
  emu_module *em = NULL;
  int rc = emu_jit_load(path, names, (size_t)prog->n_kernels, NULL, &em);
  free(names);
  if (rc != EMU_OK) fprintf(stderr, "emu_jit_load: %s\n", emu_last_error());
  if (rc != EMU_OK && getenv("MTCC_KEEP_CU"))
    fprintf(stderr, "source kept: %s\n", path);
  else
    unlink(path);
  return rc == EMU_OK ? em : NULL;
}

#endif
