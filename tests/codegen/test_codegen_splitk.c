/* Split-K implicit-GEMM convolutions under the CPU emulation of CUDA (tests/emu) against the
 * reference executor. Two tenants with the same 3x3 conv (+ bias + Relu, different weights: one
 * grouped-conv launch) whose output tiles are fewer than the SMs they are sized for: the
 * generator must split K (K = 450, not a multiple of the slice, so the last slice is short) into
 * a partial kernel (sums per K slice to the group's scratch buffer) and a reduce kernel (the
 * slices in order, then bias and epilogue), say why ("split-K 4: 4 tiles for 16 SMs"), and the
 * pair must match the reference within 1e-5 relative (values near 0 at scale 1) with its chosen grids and with grids
 * smaller than the work (1 and 3 blocks). A conv with a short K stays unsplit, and
 * conv_split_k = 1 turns splitting off. Usage: test_codegen_splitk (exit 77 when the emulator
 * cannot compile). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda.h"
#include "emu_rt.h"
#include "ir/evaluator.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"

#include "codegen_test_util.h"

static void build_conv(mt_module *m, const char *name, int64_t cin, int64_t cout) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_FLOAT32, 4, D(1, cin, 5, 5));
  mt_value_id w = tb_const(&b, MT_DTYPE_FLOAT32, 4, D(cout, cin, 3, 3));
  mt_value_id bias = tb_const(&b, MT_DTYPE_FLOAT32, 1, D(cout));
  mt_value_id y = tb_node(&b, "Conv", 3, V(x, w, bias), tb_attr_ints(&b, "pads", 4, D(1, 1, 1, 1)));
  b.g->outputs[b.g->n_outputs++] = tb_node(&b, "Relu", 1, V(y), NULL);
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
  emu_dim3 blk1 = {part->block, 1, 1}, blk2 = {red->block, 1, 1};
  int rc = emu_module_kernel(em, part->name)((emu_dim3){g1, 1, 1}, blk1, 0, pa);
  CHECK(rc == EMU_OK, "%s (grid %u): %s", part->name, g1, emu_last_error());
  if (rc == EMU_OK) rc = emu_module_kernel(em, red->name)((emu_dim3){g2, 1, 1}, blk2, 0, ra);
  CHECK(rc == EMU_OK, "%s (grid %u): %s", red->name, g2, emu_last_error());
  for (int i = 0; rc == EMU_OK && i < red->n_params; i++) {
    const mt_cuda_param *pp = &red->params[i];
    if (!pp->is_output) continue;
    const float *got = rb[i], *want = value_data(m, ev, pp->value);
    int bad = 0;
    for (int64_t e = 0; e < pp->elements; e++) {
      /* relative, values near 0 at scale 1 (as codegen_conv): a sum that cancels to ~0 has no
       * meaningful relative error */
      double scale = fabs((double)want[e]) > 1.0 ? fabs((double)want[e]) : 1.0;
      double rel = fabs((double)got[e] - want[e]) / scale;
      if (rel > max_rel) max_rel = rel;
      bad += !(rel <= 1e-5);
    }
    CHECK(bad == 0, "%s (grids %u, %u): %d elements of '%s' off by more than 1e-5 relative",
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

static mt_cuda_program *generate(const mt_plan *p, int split_option) {
  mt_cuda_options o;
  mt_cuda_options_init(&o);
  o.sm_count_override = 16; /* 16 SMs, 4 tiles of the grouped conv: 12 would idle */
  o.blocks_per_sm = 1;
  o.block_threads = 64;
  o.conv_split_k = split_option;
  mt_cuda_program *prog;
  OK(mt_cuda_generate(p, &o, &prog));
  CHECK(prog->n_skipped == 0, "%d groups not generated", prog->n_skipped);
  return prog;
}

int main(void) {
  mt_module *m;
  OK(mt_module_create(NULL, &m));
  build_conv(m, "a", 50, 40); /* M = 40 (one 64-row tile), N = 25 (2 tiles of 16), K = 450 */
  build_conv(m, "b", 50, 40);
  build_conv(m, "short", 6, 40); /* K = 54: too short to split */
  mt_pass_ctx ctx = {.module = m, .arch = mt_arch_builtin("sm_90")};
  mt_pipeline_options po;
  mt_pipeline_options_init(&po);
  OK(mt_pipeline_run(&ctx, &po));
  const mt_plan *p = ctx.plan;

  mt_cuda_program *off = generate(p, 1);
  for (int i = 0; i < off->n_kernels; i++)
    CHECK(!strstr(off->kernels[i].why, "split-K"), "conv_split_k = 1 split %s: %s",
          off->kernels[i].name, off->kernels[i].why);
  mt_cuda_program_destroy(off);

  mt_cuda_program *prog = generate(p, 0);
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
  mt_plan_destroy(ctx.plan);
  mt_module_destroy(m);
  printf("%s: split-K pair checked with grids (chosen), (1, 1), (3, 2); max relative error %.3g\n",
         failures ? "FAIL" : "OK", max_rel);
  return failures ? 1 : 0;
}
