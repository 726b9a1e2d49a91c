/* Generated convolution kernels and GEMM library calls under the CPU emulation of CUDA (tests/emu)
 * against the reference executor.
 *
 * Tenants built in memory cover: 3x3 pad 1 with bias + Relu (two tenants with identical shapes and
 * different weights: one grouped-conv launch), strided with asymmetric pads, dilated with a
 * residual Add, 1x1 with Clip and an odd channel count, depthwise with a channel multiplier
 * (the direct path), grouped (group 2), 1-D, and Gemm groups: Gemm + bias + Relu (cuBLASLt's
 * RELU_BIAS, no kernel), Gemm + bias + Sigmoid (a generated epilogue kernel), a batched MatMul +
 * Add, and two identical Gemm tenants that become one batched GEMM (bias added by the epilogue
 * kernel), and ConvTranspose in the gather form (strides with output_padding, groups with
 * dilations and asymmetric pads, 1-D with a stride larger than the kernel), each with an
 * epilogue. An int32 MatMul tenant must come out as a not-generated record naming tenant, node
 * and op.
 *
 * The plan is executed node by node in schedule order on the reference executor; at each
 * horizontal group its kernel runs (grid as chosen for a 1-SM partition, and grids of 1 and 3
 * blocks) and must match the reference outputs within 1e-5 relative (bit-identical for the
 * direct path, which keeps runtime/cpu's summation order). Library calls are replaced by the
 * reference SGEMM (runtime/cpu/gemm.h) executing the descriptor, followed by the generated
 * epilogue kernel when there is one.
 * Usage: test_codegen_conv */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/cuda.h"
#include "emu_rt.h"
#include "ir/evaluator.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"
#include "runtime/cpu/gemm.h"

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

static uint32_t seed = 777;
static uint32_t lcg(void) {
  seed = seed * 1664525u + 1013904223u;
  return seed >> 8;
}

static void fill(mt_tensor *t) {
  int64_t n = mt_tensor_numel(t);
  t->data = calloc((size_t)(n ? n : 1), mt_dtype_size(t->dtype));
  for (int64_t i = 0; i < n; i++) mt_tensor_set_f64(t, i, (double)(lcg() % 40001) / 10000.0 - 2.0);
}

/* --- a tiny graph builder over the IR API --- */
typedef struct tb {
  mt_module *m;
  mt_graph *g;
  int n;
} tb;

static void tb_tenant(tb *b, mt_module *m, const char *name) {
  b->m = m;
  b->n = 0;
  int32_t t;
  OK(mt_module_add_tenant(m, name, "/nonexistent/model.onnx", &t));
  mt_tenant *tn = mt_module_tenant(m, t);
  mt_arena *arena = mt_module_arena(m);
  tn->opsets = mt_arena_array(arena, 1, sizeof *tn->opsets);
  tn->opsets[0].domain = mt_arena_strdup(arena, "");
  tn->opsets[0].version = 17;
  tn->n_opsets = 1;
  b->g = tn->graph;
  b->g->inputs = mt_arena_array(arena, 8, sizeof(mt_value_id));
  b->g->outputs = mt_arena_array(arena, 8, sizeof(mt_value_id));
}

static mt_value_id tb_input(tb *b, const char *name, int rank, const int64_t *dims) {
  mt_value_id v;
  OK(mt_module_add_value(b->m, b->g, name, &v));
  mt_value *x = mt_module_value(b->m, v);
  x->dtype = MT_DTYPE_FLOAT32;
  x->rank = rank;
  for (int d = 0; d < rank; d++) x->dims[d] = dims[d];
  b->g->inputs[b->g->n_inputs++] = v;
  return v;
}

static mt_value_id tb_const(tb *b, int rank, const int64_t *dims) {
  mt_tensor t = {.dtype = MT_DTYPE_FLOAT32, .rank = rank};
  for (int d = 0; d < rank; d++) t.dims[d] = dims[d];
  fill(&t);
  char name[32];
  snprintf(name, sizeof name, "c%d", b->n++);
  mt_value_id v;
  OK(mt_module_add_constant_value(b->m, b->g, name, &t, &v));
  free(t.data);
  return v;
}

/* Attributes: "name=i" ints lists "name:a,b,c" (INTS), "name=v" (INT), "name~f" (FLOAT). */
static mt_attr *tb_attrs(tb *b, int n, const char *const *specs) {
  mt_arena *arena = mt_module_arena(b->m);
  mt_attr *at = mt_arena_array(arena, (size_t)(n ? n : 1), sizeof *at);
  memset(at, 0, (size_t)(n ? n : 1) * sizeof *at);
  for (int i = 0; i < n; i++) {
    char name[32];
    const char *sep = strpbrk(specs[i], "=:~");
    snprintf(name, sizeof name, "%.*s", (int)(sep - specs[i]), specs[i]);
    at[i].name = mt_arena_strdup(arena, name);
    if (*sep == '=') {
      at[i].type = MT_ATTR_INT;
      at[i].i = atoll(sep + 1);
    } else if (*sep == '~') {
      at[i].type = MT_ATTR_FLOAT;
      at[i].f = (float)atof(sep + 1);
    } else {
      at[i].type = MT_ATTR_INTS;
      at[i].ints = mt_arena_array(arena, 8, sizeof(int64_t));
      const char *p = sep + 1;
      while (*p) {
        at[i].ints[at[i].count++] = strtoll(p, (char **)&p, 10);
        if (*p == ',') p++;
      }
    }
  }
  return at;
}

static mt_value_id tb_node(tb *b, const char *op, int n_in, const mt_value_id *in, int n_attr,
                           const char *const *specs) {
  mt_value_id out;
  char name[64], vname[80];
  snprintf(name, sizeof name, "%s_%d", op, b->n++);
  snprintf(vname, sizeof vname, "%s_out", name);
  OK(mt_module_add_value(b->m, b->g, vname, &out));
  int32_t id;
  OK(mt_module_add_node(b->m, b->g, name, op, "", n_in, in, 1, &out, n_attr,
                        tb_attrs(b, n_attr, specs), &id));
  return out;
}

#define V(...) ((const mt_value_id[]){__VA_ARGS__})
#define D(...) ((const int64_t[]){__VA_ARGS__})
#define A(...) ((const char *const[]){__VA_ARGS__})
#define NA(...) (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* Conv(x, w, bias) [+ Relu]: shapes identical across calls so two tenants group. */
static void build_conv3x3_relu(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", 4, D(2, 3, 9, 9));
  mt_value_id c =
      tb_node(&b, "Conv", 3, V(x, tb_const(&b, 4, D(8, 3, 3, 3)), tb_const(&b, 1, D(8))), 1,
              A("pads:1,1,1,1"));
  mt_value_id r = tb_node(&b, "Relu", 1, V(c), 0, NULL);
  b.g->outputs[b.g->n_outputs++] = r;
}

static void build_convs(mt_module *m) {
  tb b;
  tb_tenant(&b, m, "convs");
  mt_value_id x = tb_input(&b, "x", 4, D(1, 4, 11, 10));
  /* strided, asymmetric pads, no bias */
  mt_value_id s = tb_node(&b, "Conv", 2, V(x, tb_const(&b, 4, D(6, 4, 3, 3))), 2,
                          A("strides:2,2", "pads:1,0,2,1"));
  b.g->outputs[b.g->n_outputs++] = s;
  /* dilated, same size, residual Add of the input */
  mt_value_id d =
      tb_node(&b, "Conv", 3, V(x, tb_const(&b, 4, D(4, 4, 3, 3)), tb_const(&b, 1, D(4))), 2,
              A("dilations:2,2", "pads:2,2,2,2"));
  mt_value_id res = tb_node(&b, "Add", 2, V(d, x), 0, NULL);
  b.g->outputs[b.g->n_outputs++] = res;
  /* grouped (2 groups), dilated */
  mt_value_id gx = tb_input(&b, "gx", 4, D(1, 8, 6, 6));
  mt_value_id g =
      tb_node(&b, "Conv", 3, V(gx, tb_const(&b, 4, D(6, 4, 3, 3)), tb_const(&b, 1, D(6))), 3,
              A("group=2", "dilations:2,1", "pads:2,1,2,1"));
  b.g->outputs[b.g->n_outputs++] = g;
  /* 1x1 with an odd channel count (MG 40: a 64-row tile, partly empty) and Clip */
  mt_value_id px = tb_input(&b, "px", 4, D(1, 20, 5, 7));
  mt_value_id pw = tb_node(
      &b, "Conv", 3, V(px, tb_const(&b, 4, D(40, 20, 1, 1)), tb_const(&b, 1, D(40))), 0, NULL);
  mt_value_id lo = tb_const(&b, 0, NULL), hi = tb_const(&b, 0, NULL);
  mt_value_id cl = tb_node(&b, "Clip", 3, V(pw, lo, hi), 0, NULL);
  b.g->outputs[b.g->n_outputs++] = cl;
  /* 1-D, strided */
  mt_value_id x1 = tb_input(&b, "x1", 3, D(2, 5, 17));
  mt_value_id c1 = tb_node(&b, "Conv", 2, V(x1, tb_const(&b, 3, D(7, 5, 3))), 1, A("strides:2"));
  b.g->outputs[b.g->n_outputs++] = c1;
}

/* Depthwise with a channel multiplier of 2, strided, bias and Relu: the direct path. */
static void build_depthwise(mt_module *m) {
  tb b;
  tb_tenant(&b, m, "dw");
  mt_value_id x = tb_input(&b, "x", 4, D(2, 6, 8, 7));
  mt_value_id c =
      tb_node(&b, "Conv", 3, V(x, tb_const(&b, 4, D(12, 1, 3, 3)), tb_const(&b, 1, D(12))), 3,
              A("group=6", "strides:2,2", "pads:1,1,1,1"));
  mt_value_id r = tb_node(&b, "Relu", 1, V(c), 0, NULL);
  b.g->outputs[b.g->n_outputs++] = r;
}

static void build_gemms(mt_module *m) {
  tb b;
  tb_tenant(&b, m, "mlp");
  mt_value_id x = tb_input(&b, "x", 2, D(5, 12));
  mt_value_id g1 = tb_node(&b, "Gemm", 3, V(x, tb_const(&b, 2, D(10, 12)), tb_const(&b, 1, D(10))),
                           1, A("transB=1"));
  mt_value_id r = tb_node(&b, "Relu", 1, V(g1), 0, NULL);
  b.g->outputs[b.g->n_outputs++] = r;
  mt_value_id g2 = tb_node(&b, "Gemm", 3, V(r, tb_const(&b, 2, D(10, 9)), tb_const(&b, 2, D(1, 9))),
                           1, A("alpha~0.5"));
  mt_value_id sg = tb_node(&b, "Sigmoid", 1, V(g2), 0, NULL);
  b.g->outputs[b.g->n_outputs++] = sg;
  mt_value_id bx = tb_input(&b, "bx", 3, D(2, 3, 4));
  mt_value_id mm = tb_node(&b, "MatMul", 2, V(bx, tb_const(&b, 3, D(2, 4, 5))), 0, NULL);
  mt_value_id ad = tb_node(&b, "Add", 2, V(mm, tb_const(&b, 1, D(5))), 0, NULL);
  b.g->outputs[b.g->n_outputs++] = ad;
}

/* Identical Gemm shapes in two tenants: one batched GEMM, bias through the epilogue kernel. */
static void build_fc(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", 2, D(3, 16));
  mt_value_id g =
      tb_node(&b, "Gemm", 3, V(x, tb_const(&b, 2, D(16, 6)), tb_const(&b, 1, D(6))), 0, NULL);
  b.g->outputs[b.g->n_outputs++] = g;
}

/* ConvTranspose in the gather form: strides with output_padding and bias + Relu; groups with
 * dilations, asymmetric pads and a residual Add; 1-D with a stride larger than the kernel (output
 * positions no tap reaches: bias only). */
static void build_conv_transpose(mt_module *m) {
  tb b;
  tb_tenant(&b, m, "deconv");
  mt_value_id x = tb_input(&b, "x", 4, D(1, 2, 4, 5));
  mt_value_id c =
      tb_node(&b, "ConvTranspose", 3, V(x, tb_const(&b, 4, D(2, 3, 3, 3)), tb_const(&b, 1, D(3))),
              3, A("strides:2,2", "pads:1,1,1,1", "output_padding:1,0"));
  mt_value_id r = tb_node(&b, "Relu", 1, V(c), 0, NULL);
  b.g->outputs[b.g->n_outputs++] = r;
  /* group 2: w [c_in 4, c_out/group 3, 2, 3]; y [2, 6, 3 + 2 - 1 - 1, ...] */
  mt_value_id gx = tb_input(&b, "gx", 4, D(2, 4, 3, 5));
  mt_value_id g =
      tb_node(&b, "ConvTranspose", 3, V(gx, tb_const(&b, 4, D(4, 3, 2, 3)), tb_const(&b, 1, D(6))),
              4, A("group=2", "dilations:2,1", "strides:1,2", "pads:0,1,1,0"));
  mt_value_id res = tb_node(&b, "Add", 2, V(g, tb_const(&b, 1, D(1))), 0, NULL);
  b.g->outputs[b.g->n_outputs++] = res;
  mt_value_id x1 = tb_input(&b, "x1", 3, D(1, 3, 7));
  mt_value_id c1 =
      tb_node(&b, "ConvTranspose", 3, V(x1, tb_const(&b, 3, D(3, 2, 2)), tb_const(&b, 1, D(2))), 1,
              A("strides:3"));
  b.g->outputs[b.g->n_outputs++] = c1;
}

/* An int32 MatMul: GEMMs over non-float32 operands have no generator, so this group must come
 * out as a not-generated record naming tenant, node and op. */
static void build_int_matmul(mt_module *m) {
  tb b;
  tb_tenant(&b, m, "imm");
  mt_value_id x = tb_input(&b, "x", 2, D(3, 4));
  mt_value_id xi = tb_node(&b, "Cast", 1, V(x), 1, A("to=6"));
  mt_value_id w = tb_const(&b, 2, D(4, 2));
  mt_value_id wi = tb_node(&b, "Cast", 1, V(w), 1, A("to=6"));
  mt_value_id mm = tb_node(&b, "MatMul", 2, V(xi, wi), 0, NULL);
  b.g->outputs[b.g->n_outputs++] = mm;
}

/* --- running --- */

static const void *value_data(const mt_module *m, mt_eval *ev, mt_value_id v) {
  const mt_tensor *t = mt_eval_value(ev, v);
  if (t && t->data) return t->data;
  const mt_value *val = mt_module_value_c(m, v);
  return val->constant >= 0 ? mt_module_constant(m, val->constant)->data : NULL;
}

static double max_rel;

/* got vs ref within 1e-5 relative (values near 0 compared at scale 1), or bit-identical. */
static bool close_enough(const mt_value *v, const void *got, const void *ref, int64_t n,
                         bool exact) {
  size_t bytes = (size_t)n * mt_dtype_size(v->dtype);
  if (exact || v->dtype != MT_DTYPE_FLOAT32) return memcmp(got, ref, bytes) == 0;
  const float *g = got, *r = ref;
  for (int64_t i = 0; i < n; i++) {
    double scale = fabs((double)r[i]) > 1.0 ? fabs((double)r[i]) : 1.0;
    double rel = fabs((double)g[i] - (double)r[i]) / scale;
    if (rel > max_rel) max_rel = rel;
    if (!(rel <= 1e-5)) {
      fprintf(stderr, "  element %lld: %.9g vs reference %.9g\n", (long long)i, (double)g[i],
              (double)r[i]);
      return false;
    }
  }
  return true;
}

/* Launches kernel k; inputs over[0..n_over) read over_data[] instead of the reference values
 * (the library GEMMs' results). Outputs compared with the reference. */
static void run_kernel(const mt_module *m, mt_eval *ev, emu_module *em, const mt_cuda_kernel *k,
                       unsigned grid, int n_over, const mt_value_id *over,
                       const void *const *over_data, bool exact) {
  emu_kernel_fn fn = emu_module_kernel(em, k->name);
  CHECK(fn != NULL, "%s: not exported", k->name);
  if (!fn) return;
  void **bufs = calloc((size_t)k->n_params + 1, sizeof *bufs);
  void **args = calloc((size_t)k->n_params + 1, sizeof *args);
  for (int i = 0; i < k->n_params; i++) {
    const mt_cuda_param *pp = &k->params[i];
    size_t bytes = (size_t)pp->elements * mt_dtype_size(pp->dtype);
    bufs[i] = emu_malloc(bytes ? bytes : 1);
    const void *src = value_data(m, ev, pp->value);
    for (int j = 0; j < n_over; j++)
      if (over[j] == pp->value) src = over_data[j];
    if (!pp->is_output) memcpy(bufs[i], src, bytes);
    args[i] = &bufs[i];
  }
  emu_dim3 g = {grid, 1, 1}, blk = {k->block, 1, 1};
  int rc = fn(g, blk, k->dyn_smem, args);
  CHECK(rc == EMU_OK, "%s (grid %u): %s", k->name, grid, emu_last_error());
  for (int i = 0; rc == EMU_OK && i < k->n_params; i++) {
    const mt_cuda_param *pp = &k->params[i];
    if (!pp->is_output) continue;
    const void *ref = value_data(m, ev, pp->value);
    const mt_value *v = mt_module_value_c(m, pp->value);
    CHECK(ref && close_enough(v, bufs[i], ref, pp->elements, exact),
          "%s (grid %u): output '%s' differs from the reference executor", k->name, grid, v->name);
  }
  for (int i = 0; i < k->n_params; i++) emu_free(bufs[i]);
  free(bufs);
  free(args);
}

/* The library call replaced by the reference SGEMM: d = epilogue(alpha op(a) op(b) + beta c
 * [+ bias]) per batch item. Returns malloc'd d. */
static float *reference_libcall(const mt_module *m, mt_eval *ev, const mt_cuda_gemm *g) {
  int64_t per = g->m * g->n;
  float *d = calloc((size_t)(per * g->batch), sizeof *d);
  const float *a = value_data(m, ev, g->a), *b = value_data(m, ev, g->b);
  const float *c = g->c != MT_NO_VALUE ? value_data(m, ev, g->c) : NULL;
  const float *bias = g->bias != MT_NO_VALUE ? value_data(m, ev, g->bias) : NULL;
  for (int64_t i = 0; i < g->batch; i++) {
    float *di = d + i * g->stride_c;
    for (int64_t j = 0; j < per; j++) di[j] = c ? g->beta * c[i * g->stride_c + j] : 0.0f;
    OK(mt_cpu_sgemm(g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha, a + i * g->stride_a, g->lda,
                    b + i * g->stride_b, g->ldb, di, g->ldc));
    for (int64_t j = 0; j < per; j++) {
      float v = di[j];
      if (bias && g->epilogue != MT_CUDA_EPI_DEFAULT && g->epilogue != MT_CUDA_EPI_RELU &&
          g->epilogue != MT_CUDA_EPI_GELU)
        v += bias[j % g->n];
      if (g->epilogue == MT_CUDA_EPI_RELU || g->epilogue == MT_CUDA_EPI_RELU_BIAS)
        v = v > 0 ? v : 0;
      di[j] = v;
    }
  }
  return d;
}

static int count_reason(const mt_cuda_program *prog, const char *needle) {
  int n = 0;
  for (int i = 0; i < prog->n_skipped; i++) n += strstr(prog->skipped[i].reason, needle) != NULL;
  return n;
}

int main(void) {
  mt_module *m;
  OK(mt_module_create(NULL, &m));
  build_conv3x3_relu(m, "conv_a");
  build_conv3x3_relu(m, "conv_b");
  build_convs(m);
  build_depthwise(m);
  build_gemms(m);
  build_fc(m, "fc_a");
  build_fc(m, "fc_b");
  build_conv_transpose(m);
  build_int_matmul(m);
  mt_pass_ctx ctx = {.module = m, .arch = mt_arch_builtin("sm_90")};
  mt_pipeline_options po;
  mt_pipeline_options_init(&po);
  OK(mt_pipeline_run(&ctx, &po));
  const mt_plan *p = ctx.plan;

  mt_cuda_options o;
  mt_cuda_options_init(&o);
  o.sm_count_override = 1; /* a 1-SM partition: grids smaller than the work */
  o.blocks_per_sm = 1;
  o.block_threads = 32;
  mt_cuda_program *prog;
  OK(mt_cuda_generate(p, &o, &prog));
  for (int i = 0; i < prog->n_skipped; i++)
    fprintf(stderr, "not generated: %s: %s\n", prog->skipped[i].what, prog->skipped[i].reason);
  CHECK(prog->n_skipped == 1 && count_reason(prog, "tenant 'imm'") == 1 &&
            count_reason(prog, "(MatMul)") == 1,
        "expected exactly the int32 MatMul group not generated, naming tenant, node and op");
  int grouped = 0, direct = 0, tiles = 0, fused_lt = 0, epi_kernels = 0, batched = 0, convt = 0;
  for (int i = 0; i < prog->n_kernels; i++) {
    const mt_cuda_kernel *k = &prog->kernels[i];
    const mt_horizontal_group *hg = &p->hgroups[k->hgroup];
    grouped += hg->kind == MT_HGROUP_GROUPED_CONV && hg->n_members == 2;
    direct += strstr(k->why, "direct conv") != NULL;
    tiles += strstr(k->why, "implicit GEMM") != NULL;
    convt += strstr(k->why, "ConvTranspose gather") != NULL;
    /* a 1-SM partition with 1 block per SM: one block, but each body of a multi-body kernel
     * owns at least one */
    unsigned bodies = strstr(k->name, "gemm_epilogue") ? (unsigned)hg->n_members : 1;
    CHECK(k->grid == bodies, "%s: grid %u for a 1-SM, 1-block partition", k->name, k->grid);
  }
  for (int i = 0; i < prog->n_libcalls; i++) {
    const mt_cuda_libcall *c = &prog->libcalls[i];
    batched += c->kind == MT_CUDA_GEMM_BATCHED && c->n_problems == 2;
    for (int j = 0; j < c->n_problems; j++) {
      fused_lt +=
          c->problems[j].epilogue == MT_CUDA_EPI_RELU_BIAS && c->problems[j].epilogue_kernel < 0;
      epi_kernels += c->problems[j].epilogue_kernel >= 0;
      CHECK(!c->tf32 && c->sm_count == 1, "libcall %d: tf32 %d, %d SMs", i, c->tf32, c->sm_count);
    }
  }
  CHECK(grouped == 1, "no grouped-conv kernel over the two conv tenants");
  CHECK(direct == 1, "depthwise conv did not take the direct path (%d)", direct);
  CHECK(tiles >= 6, "only %d implicit-GEMM conv kernels", tiles);
  CHECK(convt == 3, "%d ConvTranspose gather kernels, expected 3", convt);
  CHECK(fused_lt == 1, "Gemm + bias + Relu is not one cuBLASLt RELU_BIAS call");
  CHECK(epi_kernels >= 4, "only %d GEMM problems with a generated epilogue kernel", epi_kernels);
  CHECK(batched == 1, "the two identical Gemm tenants are not one batched GEMM");
  printf("%d kernels (%d implicit GEMM, %d direct, %d grouped, %d ConvTranspose), %d library "
         "calls\n",
         prog->n_kernels, tiles, direct, grouped, convt, prog->n_libcalls);

  char path[] = "/tmp/mtcc_codegen_conv_XXXXXX.cu";
  int fd = mkstemps(path, 3);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) return 1;
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
  if (rc != EMU_OK) {
    fprintf(stderr, "emu_jit_load: %s\n", emu_last_error());
    unlink(path);
    return 1;
  }
  unlink(path);

  mt_eval *ev;
  OK(mt_eval_create(m, true, &ev));
  int n_tenants = mt_module_tenant_count(m), n_in = 0;
  mt_tensor *inputs = calloc(64, sizeof *inputs);
  for (int32_t t = 0; t < n_tenants; t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int i = 0; i < g->n_inputs; i++) {
      const mt_value *v = mt_module_value_c(m, g->inputs[i]);
      inputs[n_in] = (mt_tensor){.dtype = v->dtype, .rank = v->rank};
      memcpy(inputs[n_in].dims, v->dims, sizeof inputs[n_in].dims);
      fill(&inputs[n_in]);
      mt_eval_set_input(ev, g->inputs[i], &inputs[n_in++]);
    }
  }
  int checked = 0, calls = 0;
  for (int pos = 0; pos < p->n_hgroups; pos++) {
    for (int32_t h = 0; h < p->n_hgroups; h++) {
      const mt_horizontal_group *hg = &p->hgroups[h];
      if (hg->position != pos) continue;
      for (int k = 0; k < hg->n_members; k++) {
        const mt_fused_group *fg = &p->groups[hg->members[k]];
        for (int j = 0; j < fg->n_nodes; j++) OK(mt_eval_node(ev, fg->nodes[j]));
      }
      for (int i = 0; i < prog->n_libcalls; i++) {
        const mt_cuda_libcall *c = &prog->libcalls[i];
        if (c->hgroup != h) continue;
        calls++;
        mt_value_id dvals[64];
        const void *ds[64];
        int epi = -1;
        for (int j = 0; j < c->n_problems && j < 64; j++) {
          const mt_cuda_gemm *g = &c->problems[j];
          float *d = reference_libcall(m, ev, g);
          const mt_value *dv = mt_module_value_c(m, g->d);
          dvals[j] = g->d;
          ds[j] = d;
          if (g->epilogue_kernel < 0)
            CHECK(close_enough(dv, d, value_data(m, ev, g->d), g->m * g->n * g->batch, false),
                  "library call h%d problem %d: d '%s' differs", h, j, dv->name);
          else
            epi = g->epilogue_kernel;
        }
        if (epi >= 0) {
          /* A multi-body epilogue's block ranges are fixed: only its own grid; a single body's
           * grid-stride loop also with 1 and 3 blocks. */
          const mt_cuda_kernel *k = &prog->kernels[epi];
          run_kernel(m, ev, em, k, k->grid, c->n_problems, dvals, ds, false);
          if (c->n_problems == 1) {
            run_kernel(m, ev, em, k, 1, 1, dvals, ds, false);
            run_kernel(m, ev, em, k, 3, 1, dvals, ds, false);
          }
        }
        for (int j = 0; j < c->n_problems && j < 64; j++) free((void *)ds[j]);
      }
      for (int i = 0; i < prog->n_kernels; i++) {
        const mt_cuda_kernel *k = &prog->kernels[i];
        if (k->hgroup != h || strstr(k->name, "gemm_epilogue")) continue;
        bool exact = strstr(k->why, "direct conv") != NULL;
        run_kernel(m, ev, em, k, k->grid, 0, NULL, NULL, exact);
        run_kernel(m, ev, em, k, 1, 0, NULL, NULL, exact);
        run_kernel(m, ev, em, k, 3, 0, NULL, NULL, exact);
        checked++;
      }
    }
  }
  int n_conv_kernels = 0;
  for (int i = 0; i < prog->n_kernels; i++)
    n_conv_kernels += strstr(prog->kernels[i].name, "gemm_epilogue") == NULL;
  CHECK(checked == n_conv_kernels, "checked %d of %d kernels", checked, n_conv_kernels);
  CHECK(calls == prog->n_libcalls, "ran %d of %d library calls", calls, prog->n_libcalls);
  mt_eval_destroy(ev);
  for (int i = 0; i < n_in; i++) free(inputs[i].data);
  free(inputs);
  free(names);
  emu_module_free(em);
  mt_cuda_program_destroy(prog);
  mt_plan_destroy(ctx.plan);
  mt_module_destroy(m);
  printf("%s: %d conv kernels and %d library calls checked against the reference executor (max "
         "relative error %.2g)\n",
         failures ? "FAIL" : "OK", checked, calls, max_rel);
  return failures ? 1 : 0;
}
