/* Convolution paths other than the plain implicit-GEMM kernel, under the CPU emulation of CUDA
 * (tests/emu) against the reference executor.
 *
 * Split-K: two tenants with the same 3x3 conv (+ bias + Relu, different weights: one
 * grouped-conv launch) whose output tiles are fewer than the SMs they are sized for: the
 * generator must split K (K = 450, not a multiple of the slice, so the last slice is short) into
 * a partial kernel (sums per K slice to the group's scratch buffer) and a reduce kernel (the
 * slices in order, then bias and epilogue), say why ("split-K 4: 4 tiles for 16 SMs"), and the
 * pair must equal the reference bit for bit (data chosen so every sum is exact, see quantize)
 * with its chosen grids and with grids smaller than the work (1 and 3 blocks). A conv with a short K stays unsplit, and
 * conv_split_k = 1 turns splitting off.
 *
 * 1x1 as GEMM: 1x1 stride-1 unpadded convs (batch 2) with bias + Clip, with a residual Add, and
 * without bias with a Relu, forced onto the library path (conv_gemm = 2): each must become one
 * strided-batch cublasLtMatmul descriptor (m = Cout, n = HW, k = Cin, W shared), the bias and
 * the rest in a generated epilogue kernel, except the bias-less Relu, which cuBLASLt applies
 * (RELU, no kernel). The descriptor runs on runtime/cpu's SGEMM, then the epilogue kernel
 * (grids as chosen, 1 and 3); outputs within 1e-5 relative of the reference. With conv_gemm = 0
 * the cost model keeps these small convs as kernels. Usage: test_codegen_conv_paths (exit 77
 * when the emulator cannot compile). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda.h"
#include "emu_rt.h"
#include "ir/evaluator.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"
#include "runtime/cpu/gemm.h"

#include "codegen_test_util.h"

/* Multiples of 1/16 in [-2, 2]: every product is a multiple of 1/256 of at most 4 and every
 * partial sum of up to 450 of them fits float's 24-bit significand exactly, so a conv's result
 * is exact whatever the summation order, and a split-K result must equal the reference bit for
 * bit (a missing, repeated or misplaced slice cannot hide under a tolerance). */
static void quantize(mt_tensor *t) {
  float *f = t->data;
  for (int64_t i = 0; i < mt_tensor_numel(t); i++) f[i] = roundf(f[i] * 16.0f) / 16.0f;
}

static mt_value_id tb_const_q(tb *b, int rank, const int64_t *dims) {
  mt_tensor t = {.dtype = MT_DTYPE_FLOAT32, .rank = rank};
  memcpy(t.dims, dims, (size_t)rank * sizeof *dims);
  fill(&t);
  quantize(&t);
  char name[32];
  snprintf(name, sizeof name, "q%d", b->n++);
  mt_value_id v;
  OK(mt_module_add_constant_value(b->m, b->g, name, &t, &v));
  free(t.data);
  return v;
}

static void build_conv(mt_module *m, const char *name, int64_t cin, int64_t cout) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_FLOAT32, 4, D(1, cin, 5, 5));
  mt_value_id w = tb_const_q(&b, 4, D(cout, cin, 3, 3));
  mt_value_id bias = tb_const_q(&b, 1, D(cout));
  mt_value_id y = tb_node(&b, "Conv", 3, V(x, w, bias), tb_attr_ints(&b, "pads", 4, D(1, 1, 1, 1)));
  b.g->outputs[b.g->n_outputs++] = tb_node(&b, "Relu", 1, V(y), NULL);
}

/* 1x1 convs over x[2, 24, 5, 7] (HW = 35): bias + Clip, bias + residual Add, Relu alone. */
static void build_pointwise(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_FLOAT32, 4, D(2, 24, 5, 7));
  mt_value_id w1 = tb_const(&b, MT_DTYPE_FLOAT32, 4, D(20, 24, 1, 1));
  mt_value_id b1 = tb_const(&b, MT_DTYPE_FLOAT32, 1, D(20));
  mt_value_id y1 = tb_node(&b, "Conv", 3, V(x, w1, b1), NULL);
  static const float lo = 0.0f, hi = 6.0f;
  mt_tensor tl = {.dtype = MT_DTYPE_FLOAT32, .rank = 0, .data = (void *)&lo};
  mt_tensor th = {.dtype = MT_DTYPE_FLOAT32, .rank = 0, .data = (void *)&hi};
  mt_value_id vl, vh;
  OK(mt_module_add_constant_value(m, b.g, "lo", &tl, &vl));
  OK(mt_module_add_constant_value(m, b.g, "hi", &th, &vh));
  b.g->outputs[b.g->n_outputs++] = tb_node(&b, "Clip", 3, V(y1, vl, vh), NULL);
  mt_value_id w2 = tb_const(&b, MT_DTYPE_FLOAT32, 4, D(24, 24, 1, 1));
  mt_value_id b2 = tb_const(&b, MT_DTYPE_FLOAT32, 1, D(24));
  mt_value_id y2 = tb_node(&b, "Conv", 3, V(x, w2, b2), NULL);
  b.g->outputs[b.g->n_outputs++] = tb_node(&b, "Add", 2, V(y2, x), NULL);
  mt_value_id w3 = tb_const(&b, MT_DTYPE_FLOAT32, 4, D(12, 24, 1, 1));
  mt_value_id y3 = tb_node(&b, "Conv", 2, V(x, w3), NULL);
  b.g->outputs[b.g->n_outputs++] = tb_node(&b, "Relu", 1, V(y3), NULL);
}

static const void *value_data(const mt_module *m, mt_eval *ev, mt_value_id v) {
  const mt_tensor *t = mt_eval_value(ev, v);
  if (t && t->data) return t->data;
  const mt_value *val = mt_module_value_c(m, v);
  return val->constant >= 0 ? mt_module_constant(m, val->constant)->data : NULL;
}

/* Binds kernel k's parameters: inputs copied from the reference, outputs poisoned, the scratch
 * param to the shared scratch buffer. */
static void **bind(const mt_module *m, mt_eval *ev, const mt_cuda_kernel *k, void *scratch,
                   void **bufs) {
  void **args = calloc((size_t)k->n_params + 1, sizeof *args);
  for (int i = 0; i < k->n_params; i++) {
    const mt_cuda_param *pp = &k->params[i];
    size_t bytes = (size_t)pp->elements * mt_dtype_size(pp->dtype);
    if (pp->is_scratch) {
      bufs[i] = scratch;
    } else {
      bufs[i] = emu_malloc(bytes ? bytes : 1);
      if (pp->is_output)
        memset(bufs[i], 0xa5, bytes ? bytes : 1);
      else
        memcpy(bufs[i], value_data(m, ev, pp->value), bytes);
    }
    args[i] = &bufs[i];
  }
  return args;
}

static double max_rel;

static int launch(emu_module *em, const mt_cuda_kernel *k, unsigned grid, void **args) {
  int rc = emu_module_kernel(em, k->name)((emu_dim3){grid, 1, 1}, (emu_dim3){k->block, 1, 1},
                                          k->dyn_smem, args);
  CHECK(rc == EMU_OK, "%s (grid %u): %s", k->name, grid, emu_last_error());
  return rc;
}

/* Runs the partial kernel with grid g1, then the reduce kernel with grid g2, on one scratch
 * buffer (NaN-filled: a slice never written shows), and compares every output. */
static void run_pair(const mt_module *m, mt_eval *ev, emu_module *em, const mt_cuda_kernel *part,
                     const mt_cuda_kernel *red, unsigned g1, unsigned g2) {
  size_t scratch_bytes = 0;
  for (int i = 0; i < part->n_params; i++)
    if (part->params[i].is_scratch) scratch_bytes = (size_t)part->params[i].elements * 4;
  CHECK(scratch_bytes > 0, "%s: no scratch parameter", part->name);
  void *scratch = emu_malloc(scratch_bytes ? scratch_bytes : 1);
  void **pb = calloc((size_t)part->n_params + 1, sizeof *pb);
  void **rb = calloc((size_t)red->n_params + 1, sizeof *rb);
  void **pa = bind(m, ev, part, scratch, pb), **ra = bind(m, ev, red, scratch, rb);
  int rc = launch(em, part, g1, pa);
  if (rc == EMU_OK) rc = launch(em, red, g2, ra);
  for (int i = 0; rc == EMU_OK && i < red->n_params; i++) {
    const mt_cuda_param *pp = &red->params[i];
    if (!pp->is_output) continue;
    const float *got = rb[i], *want = value_data(m, ev, pp->value);
    int bad = 0;
    for (int64_t e = 0; e < pp->elements; e++) bad += memcmp(&got[e], &want[e], sizeof *got) != 0;
    CHECK(bad == 0, "%s (grids %u, %u): %d elements of '%s' differ from the (exact) reference",
          red->name, g1, g2, bad, mt_module_value_c(m, pp->value)->name);
  }
  for (int i = 0; i < part->n_params; i++)
    if (!part->params[i].is_scratch) emu_free(pb[i]);
  for (int i = 0; i < red->n_params; i++)
    if (!red->params[i].is_scratch) emu_free(rb[i]);
  emu_free(scratch);
  free(pa);
  free(ra);
  free(pb);
  free(rb);
}

/* The whole pass pipeline for sm_90 over m. */
static mt_plan *pipeline(mt_module *m) {
  mt_pass_ctx ctx = {.module = m, .arch = mt_arch_builtin("sm_90")};
  mt_pipeline_options po;
  mt_pipeline_options_init(&po);
  OK(mt_pipeline_run(&ctx, &po));
  return ctx.plan;
}

static mt_cuda_program *generate(const mt_plan *p, int split_option, int conv_gemm) {
  mt_cuda_options o;
  mt_cuda_options_init(&o);
  o.sm_count_override = 16; /* 16 SMs, 4 tiles of the grouped conv: 12 would idle */
  o.blocks_per_sm = 1;
  o.block_threads = 64;
  o.conv_split_k = split_option;
  o.conv_gemm = conv_gemm;
  mt_cuda_program *prog;
  OK(mt_cuda_generate(p, &o, &prog));
  CHECK(prog->n_skipped == 0, "%d groups not generated", prog->n_skipped);
  return prog;
}

/* Launches epilogue kernel k (grid) with d (the library's result) for the param of value dv and
 * reference copies of its other inputs; compares its outputs with the reference. */
static void run_epilogue(const mt_module *m, mt_eval *ev, emu_module *em, const mt_cuda_kernel *k,
                         mt_value_id dv, const float *d, unsigned grid) {
  void **bufs = calloc((size_t)k->n_params + 1, sizeof *bufs);
  void **args = bind(m, ev, k, NULL, bufs);
  for (int i = 0; i < k->n_params; i++)
    if (k->params[i].value == dv && !k->params[i].is_output)
      memcpy(bufs[i], d, (size_t)k->params[i].elements * sizeof *d);
  int rc = launch(em, k, grid, args);
  for (int i = 0; rc == EMU_OK && i < k->n_params; i++) {
    const mt_cuda_param *pp = &k->params[i];
    if (!pp->is_output) continue;
    const float *got = bufs[i], *want = value_data(m, ev, pp->value);
    int bad = 0;
    for (int64_t e = 0; e < pp->elements; e++) {
      double scale = fabs((double)want[e]) > 1.0 ? fabs((double)want[e]) : 1.0;
      double rel = fabs((double)got[e] - want[e]) / scale;
      if (rel > max_rel) max_rel = rel;
      bad += !(rel <= 1e-5);
    }
    CHECK(bad == 0, "%s (grid %u): %d elements of '%s' off", k->name, grid, bad,
          mt_module_value_c(m, pp->value)->name);
  }
  for (int i = 0; i < k->n_params; i++) emu_free(bufs[i]);
  free(bufs);
  free(args);
}

/* The 1x1 convs forced onto the library path: descriptors, then SGEMM + epilogue kernel. */
static void check_pointwise(void) {
  mt_module *m;
  OK(mt_module_create(NULL, &m));
  build_pointwise(m, "pw");
  mt_plan *plan = pipeline(m);
  const mt_plan *p = plan;
  mt_cuda_program *kept = generate(p, 0, 0);
  CHECK(kept->n_libcalls == 0, "the cost model put %d small 1x1 convs on the library",
        kept->n_libcalls);
  mt_cuda_program_destroy(kept);
  mt_cuda_program *prog = generate(p, 0, 2);
  CHECK(prog->n_libcalls == 3, "%d library calls for 3 pointwise convs", prog->n_libcalls);
  emu_module *em = prog->n_kernels ? cg_load_program(prog, "pointwise") : NULL;
  if (prog->n_kernels && !em) exit(77);
  mt_eval *ev;
  OK(mt_eval_create(m, true, &ev));
  const mt_graph *gr = mt_module_tenant_c(m, 0)->graph;
  const mt_value *xv = mt_module_value_c(m, gr->inputs[0]);
  mt_tensor x = {.dtype = xv->dtype, .rank = xv->rank};
  memcpy(x.dims, xv->dims, sizeof x.dims);
  fill(&x);
  mt_eval_set_input(ev, gr->inputs[0], &x);
  for (int32_t h = 0; h < p->n_hgroups; h++) {
    const mt_fused_group *fg = &p->groups[p->hgroups[h].members[0]];
    for (int j = 0; j < fg->n_nodes; j++) OK(mt_eval_node(ev, fg->nodes[j]));
  }
  int with_kernel = 0, relu_fused = 0;
  for (int c = 0; c < prog->n_libcalls; c++) {
    const mt_cuda_libcall *call = &prog->libcalls[c];
    const mt_cuda_gemm *g = &call->problems[0];
    printf("h%d: %s\n", call->hgroup, call->why);
    CHECK(strstr(call->why, "1x1 conv as GEMM (forced") && call->kind == MT_CUDA_LT_MATMUL &&
              g->batch == 2 && g->n == 35 && g->k == 24 && g->stride_a == 0 &&
              g->stride_b == 24 * 35 && g->stride_c == g->m * 35 && g->bias == MT_NO_VALUE,
          "h%d: descriptor m=%lld n=%lld k=%lld batch %lld", call->hgroup, (long long)g->m,
          (long long)g->n, (long long)g->k, (long long)g->batch);
    float *d = calloc((size_t)(g->batch * g->stride_c), sizeof *d);
    const float *a = value_data(m, ev, g->a), *bm = value_data(m, ev, g->b);
    for (int64_t i = 0; i < g->batch; i++)
      OK(mt_cpu_sgemm(false, false, g->m, g->n, g->k, 1.0f, a + i * g->stride_a, g->lda,
                      bm + i * g->stride_b, g->ldb, d + i * g->stride_c, g->ldc));
    if (g->epilogue_kernel >= 0) {
      with_kernel++;
      const mt_cuda_kernel *k = &prog->kernels[g->epilogue_kernel];
      run_epilogue(m, ev, em, k, g->d, d, k->grid);
      run_epilogue(m, ev, em, k, g->d, d, 1);
      run_epilogue(m, ev, em, k, g->d, d, 3);
    } else {
      relu_fused += g->epilogue == MT_CUDA_EPI_RELU;
      const float *want = value_data(m, ev, g->d);
      int bad = 0;
      for (int64_t e = 0; e < g->batch * g->stride_c; e++) {
        float v = d[e] > 0 ? d[e] : 0;
        double scale = fabs((double)want[e]) > 1.0 ? fabs((double)want[e]) : 1.0;
        bad += !(fabs((double)v - want[e]) / scale <= 1e-5);
      }
      CHECK(bad == 0, "h%d: %d elements of the RELU epilogue off", call->hgroup, bad);
    }
    free(d);
  }
  CHECK(with_kernel == 2 && relu_fused == 1,
        "%d calls with an epilogue kernel (want 2), %d with cuBLASLt's RELU (want 1)", with_kernel,
        relu_fused);
  mt_eval_destroy(ev);
  free(x.data);
  if (em) emu_module_free(em);
  mt_cuda_program_destroy(prog);
  mt_plan_destroy(plan);
  mt_module_destroy(m);
}

int main(void) {
  check_pointwise();
  mt_module *m;
  OK(mt_module_create(NULL, &m));
  build_conv(m, "a", 50, 40); /* M = 40 (one 64-row tile), N = 25 (2 tiles of 16), K = 450 */
  build_conv(m, "b", 50, 40);
  build_conv(m, "short", 6, 40); /* K = 54: too short to split */
  mt_plan *plan = pipeline(m);
  const mt_plan *p = plan;

  mt_cuda_program *off = generate(p, 1, 0);
  for (int i = 0; i < off->n_kernels; i++)
    CHECK(!strstr(off->kernels[i].why, "split-K"), "conv_split_k = 1 split %s: %s",
          off->kernels[i].name, off->kernels[i].why);
  mt_cuda_program_destroy(off);

  mt_cuda_program *prog = generate(p, 0, 0);
  int pairs = 0, unsplit = 0;
  for (int i = 0; i < prog->n_kernels; i++) {
    const mt_cuda_kernel *k = &prog->kernels[i];
    printf("%s: grid %u x %u: %s\n", k->name, k->grid, k->block, k->why);
    if (strstr(k->name, "_splitk")) {
      pairs++;
      CHECK(strncmp(k->why, "split-K 4: 4 tiles for 16 SMs;", 30) == 0, "%s: why '%s'", k->name,
            k->why);
      CHECK(strstr(k->why, "x 2 member(s)") != NULL, "%s: not one grouped launch: %s", k->name,
            k->why);
      CHECK(i + 1 < prog->n_kernels && prog->kernels[i + 1].hgroup == k->hgroup &&
                strncmp(prog->kernels[i + 1].why, "split-K 4 reduce", 16) == 0,
            "%s: no reduce kernel right after it", k->name);
    } else if (!strstr(k->why, "split-K")) {
      unsplit++;
    }
  }
  CHECK(pairs == 1 && unsplit >= 1, "%d split-K pairs, %d unsplit conv kernels", pairs, unsplit);

  emu_module *em = cg_load_program(prog, "splitk");
  if (!em) return 77;
  mt_eval *ev;
  OK(mt_eval_create(m, true, &ev));
  mt_tensor *inputs[3];
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    inputs[t] = calloc(2, sizeof **inputs);
    const mt_value *v = mt_module_value_c(m, g->inputs[0]);
    inputs[t][0] = (mt_tensor){.dtype = v->dtype, .rank = v->rank};
    memcpy(inputs[t][0].dims, v->dims, sizeof v->dims);
    fill(&inputs[t][0]);
    quantize(&inputs[t][0]);
    mt_eval_set_input(ev, g->inputs[0], &inputs[t][0]);
  }
  for (int32_t h = 0; h < p->n_hgroups; h++) {
    const mt_horizontal_group *hg = &p->hgroups[h];
    for (int k = 0; k < hg->n_members; k++) {
      const mt_fused_group *fg = &p->groups[hg->members[k]];
      for (int j = 0; j < fg->n_nodes; j++) OK(mt_eval_node(ev, fg->nodes[j]));
    }
  }
  for (int i = 0; i + 1 < prog->n_kernels; i++) {
    const mt_cuda_kernel *part = &prog->kernels[i], *red = &prog->kernels[i + 1];
    if (!strstr(part->name, "_splitk")) continue;
    CHECK(part->grid == 16 && red->grid == 16, "grids %u and %u", part->grid, red->grid);
    run_pair(m, ev, em, part, red, part->grid, red->grid);
    run_pair(m, ev, em, part, red, 1, 1); /* grids smaller than the work: 16 units, 32 blocks */
    run_pair(m, ev, em, part, red, 3, 2);
  }
  mt_eval_destroy(ev);
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
    free(inputs[t][0].data);
    free(inputs[t]);
  }
  emu_module_free(em);
  mt_cuda_program_destroy(prog);
  mt_plan_destroy(plan);
  mt_module_destroy(m);
  printf("%s: split-K pair checked with grids (chosen), (1, 1), (3, 2), 1x1 convs as GEMM with "
         "their epilogues; max relative error %.3g\n",
         failures ? "FAIL" : "OK", max_rel);
  return failures ? 1 : 0;
}
