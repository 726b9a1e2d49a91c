/* Generated CUDA C run under the CPU emulation of CUDA (tests/emu) against the reference executor.
 *
 * Small multi-tenant modules are built in memory and compiled through the whole pass pipeline;
 * mt_cuda_generate turns the plan into kernels, which are compiled together (one g++ run) with
 * emu_jit_load. The plan is then executed node by node on the reference executor in schedule
 * order; before each horizontal group, its kernel's inputs are copied into emulator buffers, the
 * kernel is launched, and its outputs must equal the reference outputs byte for byte
 * (elementwise and data movement change only the grouping, never the arithmetic). Kernels are
 * sized for a 1-SM partition with 32-thread blocks, so every grid is smaller than its work
 * (grid-stride loops); singleton kernels are also launched with grids of 1 and 3 blocks.
 * Usage: test_codegen_emu (exit 77 when the emulator cannot compile kernels). */
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

#include "codegen_test_util.h"

/* float32 chain with a [5,1] broadcast, NaN-aware Max, Clip from inputs, Sigmoid, HardSwish. */
static void build_float_chain(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_FLOAT32, 3, D(3, 5, 7));
  mt_value_id a = tb_node(&b, "Add", 2, V(x, tb_const(&b, MT_DTYPE_FLOAT32, 2, D(5, 1))), NULL);
  mt_value_id mx = tb_node(&b, "Max", 2, V(a, tb_const(&b, MT_DTYPE_FLOAT32, 1, D(7))), NULL);
  mt_value_id s = tb_node(&b, "Sigmoid", 1, V(mx), NULL);
  mt_value_id h = tb_node(&b, "HardSwish", 1, V(a), NULL);
  mt_value_id d = tb_node(&b, "Div", 2, V(h, s), NULL);
  mt_value_id lo = tb_const(&b, MT_DTYPE_FLOAT32, 0, NULL),
              hi = tb_const(&b, MT_DTYPE_FLOAT32, 0, NULL);
  mt_value_id c = tb_node(&b, "Clip", 3, V(d, lo, hi), NULL);
  b.g->outputs[b.g->n_outputs++] = c;
}

/* int32 arithmetic (wrapping Mul, division by zero, Neg), comparisons to bool, Where, casts
 * through float16 and int8. */
static void build_int_chain(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_INT32, 2, D(4, 9));
  mt_value_id k = tb_const(&b, MT_DTYPE_INT32, 1, D(9));
  mt_value_id mul = tb_node(&b, "Mul", 2, V(x, k), NULL);
  mt_value_id div = tb_node(&b, "Div", 2, V(mul, k), NULL);
  mt_value_id neg = tb_node(&b, "Neg", 1, V(div), NULL);
  mt_value_id gt = tb_node(&b, "Greater", 2, V(neg, x), NULL);
  mt_value_id w = tb_node(&b, "Where", 3, V(gt, neg, x), NULL);
  mt_value_id h = tb_node(&b, "Cast", 1, V(w), tb_attr_int(&b, "to", MT_DTYPE_FLOAT16));
  mt_value_id hs = tb_node(&b, "Tanh", 1, V(h), NULL);
  mt_value_id hm = tb_node(&b, "Mul", 2, V(hs, h), NULL);
  mt_value_id i8 = tb_node(&b, "Cast", 1, V(hm), tb_attr_int(&b, "to", MT_DTYPE_INT8));
  b.g->outputs[b.g->n_outputs++] = i8;
  b.g->outputs[b.g->n_outputs++] = gt;
}

/* Data movement: Transpose, Concat, Slice with a step, reflect Pad, Gather with negative
 * indices, Tile, DepthToSpace. */
static void build_movement(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_FLOAT32, 4, D(2, 4, 3, 5));
  mt_value_id t = tb_node(&b, "Transpose", 1, V(x), tb_attr_ints(&b, "perm", 4, D(0, 2, 3, 1)));
  b.g->outputs[b.g->n_outputs++] = t;
  mt_value_id c = tb_node(&b, "Concat", 2, V(x, tb_const(&b, MT_DTYPE_FLOAT32, 4, D(2, 3, 3, 5))),
                          tb_attr_int(&b, "axis", 1));
  b.g->outputs[b.g->n_outputs++] = c;
  mt_value_id s = tb_node(&b, "Slice", 5,
                          V(x, tb_ints(&b, 2, D(1, -1)), tb_ints(&b, 2, D(4, -6)),
                            tb_ints(&b, 2, D(1, 3)), tb_ints(&b, 2, D(1, -2))),
                          NULL);
  b.g->outputs[b.g->n_outputs++] = s;
  mt_arena *arena = mt_module_arena(m);
  mt_attr *mode = mt_arena_array(arena, 1, sizeof *mode);
  memset(mode, 0, sizeof *mode);
  mode->name = mt_arena_strdup(arena, "mode");
  mode->type = MT_ATTR_STRING;
  mode->s = mt_arena_strdup(arena, "reflect");
  mode->s_len = 7;
  mt_value_id p = tb_node(&b, "Pad", 2, V(x, tb_ints(&b, 8, D(0, 1, 2, 1, 0, 2, 1, 3))), mode);
  b.g->outputs[b.g->n_outputs++] = p;
  int32_t gi[] = {2, -1, 0};
  mt_tensor it = {.dtype = MT_DTYPE_INT32, .rank = 1, .dims = {3}, .data = gi};
  mt_value_id iv;
  OK(mt_module_add_constant_value(m, b.g, "gidx", &it, &iv));
  mt_value_id g = tb_node(&b, "Gather", 2, V(x, iv), tb_attr_int(&b, "axis", 3));
  b.g->outputs[b.g->n_outputs++] = g;
  mt_value_id tl = tb_node(&b, "Tile", 2, V(x, tb_ints(&b, 4, D(1, 2, 1, 3))), NULL);
  b.g->outputs[b.g->n_outputs++] = tl;
  mt_value_id d2s = tb_node(&b, "DepthToSpace", 1, V(x), tb_attr_int(&b, "blocksize", 2));
  b.g->outputs[b.g->n_outputs++] = d2s;
}

/* --- running --- */

static mt_tensor *tenant_inputs(const mt_module *m, int32_t t) {
  const mt_graph *g = mt_module_tenant_c(m, t)->graph;
  mt_tensor *in = calloc((size_t)g->n_inputs + 1, sizeof *in);
  for (int i = 0; i < g->n_inputs; i++) {
    const mt_value *v = mt_module_value_c(m, g->inputs[i]);
    in[i] = (mt_tensor){.dtype = v->dtype, .rank = v->rank};
    memcpy(in[i].dims, v->dims, sizeof in[i].dims);
    fill(&in[i]);
  }
  return in;
}

static const void *value_data(const mt_module *m, mt_eval *ev, mt_value_id v) {
  const mt_tensor *t = mt_eval_value(ev, v);
  if (t && t->data) return t->data;
  const mt_value *val = mt_module_value_c(m, v);
  return val->constant >= 0 ? mt_module_constant(m, val->constant)->data : NULL;
}

/* Launches kernel k with emulator copies of its inputs; compares its outputs with the reference
 * values (which the evaluator computed for the group just before). */
static void run_kernel(const mt_module *m, mt_eval *ev, emu_module *em, const mt_cuda_kernel *k,
                       unsigned grid) {
  emu_kernel_fn fn = emu_module_kernel(em, k->name);
  CHECK(fn != NULL, "%s: not exported", k->name);
  if (!fn) return;
  void **bufs = calloc((size_t)k->n_params + 1, sizeof *bufs);
  void **args = calloc((size_t)k->n_params + 1, sizeof *args);
  for (int i = 0; i < k->n_params; i++) {
    const mt_cuda_param *pp = &k->params[i];
    size_t bytes = (size_t)pp->elements * mt_dtype_size(pp->dtype);
    bufs[i] = emu_malloc(bytes ? bytes : 1);
    if (!pp->is_output) memcpy(bufs[i], value_data(m, ev, pp->value), bytes);
    args[i] = &bufs[i];
  }
  emu_dim3 g = {grid, 1, 1}, blk = {k->block, 1, 1};
  int rc = fn(g, blk, k->dyn_smem, args);
  CHECK(rc == EMU_OK, "%s (grid %u): %s", k->name, grid, emu_last_error());
  for (int i = 0; rc == EMU_OK && i < k->n_params; i++) {
    const mt_cuda_param *pp = &k->params[i];
    if (!pp->is_output) continue;
    size_t bytes = (size_t)pp->elements * mt_dtype_size(pp->dtype);
    const void *ref = value_data(m, ev, pp->value);
    bool same = ref && memcmp(ref, bufs[i], bytes) == 0;
    CHECK(same, "%s (grid %u): output '%s' differs from the reference executor", k->name, grid,
          mt_module_value_c(m, pp->value)->name);
  }
  for (int i = 0; i < k->n_params; i++) emu_free(bufs[i]);
  free(bufs);
  free(args);
}

int main(void) {
  mt_module *m;
  OK(mt_module_create(NULL, &m));
  build_float_chain(m, "float_a");
  build_float_chain(m, "float_b");
  build_int_chain(m, "ints");
  build_movement(m, "moves");
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
  int multi = 0, covered = 0;
  for (int i = 0; i < prog->n_kernels; i++) {
    multi += p->hgroups[prog->kernels[i].hgroup].n_members > 1;
    covered += prog->kernels[i].n_nodes;
  }
  for (int i = 0; i < prog->n_skipped; i++)
    fprintf(stderr, "not generated: %s: %s\n", prog->skipped[i].what, prog->skipped[i].reason);
  CHECK(prog->n_skipped == 0, "%d groups not generated", prog->n_skipped);
  CHECK(multi >= 1, "no multi-body kernel (the two float tenants should share one)");
  printf("%d kernels (%d multi-body) covering %d nodes\n", prog->n_kernels, multi, covered);

  emu_module *em = cg_load_program(prog, "emu");
  if (!em) return 1;

  /* The reference executor, node by node in schedule order, kernels compared per group. */
  mt_eval *ev;
  OK(mt_eval_create(m, true, &ev));
  mt_tensor **inputs = calloc((size_t)mt_module_tenant_count(m), sizeof *inputs);
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
    inputs[t] = tenant_inputs(m, t);
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int i = 0; i < g->n_inputs; i++) mt_eval_set_input(ev, g->inputs[i], &inputs[t][i]);
  }
  int checked = 0;
  for (int pos = 0; pos < p->n_hgroups; pos++) {
    for (int32_t h = 0; h < p->n_hgroups; h++) {
      const mt_horizontal_group *hg = &p->hgroups[h];
      if (hg->position != pos) continue;
      for (int k = 0; k < hg->n_members; k++) {
        const mt_fused_group *fg = &p->groups[hg->members[k]];
        for (int j = 0; j < fg->n_nodes; j++) OK(mt_eval_node(ev, fg->nodes[j]));
      }
      for (int i = 0; i < prog->n_kernels; i++) {
        if (prog->kernels[i].hgroup != h) continue;
        run_kernel(m, ev, em, &prog->kernels[i], prog->kernels[i].grid);
        if (hg->n_members == 1) {
          run_kernel(m, ev, em, &prog->kernels[i], 1);
          run_kernel(m, ev, em, &prog->kernels[i], 3);
        }
        checked++;
      }
    }
  }
  CHECK(checked == prog->n_kernels, "checked %d of %d kernels", checked, prog->n_kernels);
  mt_eval_destroy(ev);
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
    for (int i = 0; i < mt_module_tenant_c(m, t)->graph->n_inputs; i++) free(inputs[t][i].data);
    free(inputs[t]);
  }
  free(inputs);
  emu_module_free(em);
  mt_cuda_program_destroy(prog);
  mt_plan_destroy(ctx.plan);
  mt_module_destroy(m);
  printf("%s: %d kernels checked against the reference executor\n", failures ? "FAIL" : "OK",
         checked);
  return failures ? 1 : 0;
}
