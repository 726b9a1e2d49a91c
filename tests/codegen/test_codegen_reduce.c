/* Reduction kernels (Reduce*, ArgMax/ArgMin, Softmax/LogSoftmax, LayerNormalization,
 * InstanceNormalization, global and windowed pools, CumSum) generated from plans and run under the
 * CPU emulation of CUDA (tests/emu) against the reference executor.
 *
 * Small tenants are built in memory (odd shapes, several axes sets, keepdims on and off, every
 * family with pointwise ops fused before and after it, float32, float16 and int32 inputs) and
 * compiled through the whole pass pipeline, so the horizontal fuser puts reduction bodies of
 * different tenants, and an elementwise tenant's body, into multi-body kernels. Kernels are sized
 * for a 1-SM partition with 32-thread blocks (grids smaller than the work; a row loop per block),
 * and singleton kernels are launched again with grids of 1 and 3 blocks. Each kernel's outputs
 * are compared with the reference executor's: integer outputs (ArgMax, integer sums, indices)
 * byte for byte, float outputs within 1e-5 relative (the tree sums in double in another order
 * than the CPU's sequential loop); the share of bit-identical float elements is printed.
 * Usage: test_codegen_reduce (exit 77 when the emulator cannot compile kernels). */
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

/* A node with several attributes (copied into one array). */
static mt_value_id tb_node_attrs(tb *b, const char *op, int n_in, const mt_value_id *in, int n_attr,
                                 mt_attr *const *attrs) {
  mt_arena *arena = mt_module_arena(b->m);
  mt_attr *arr = n_attr ? mt_arena_array(arena, (size_t)n_attr, sizeof *arr) : NULL;
  for (int i = 0; i < n_attr; i++) arr[i] = *attrs[i];
  mt_value_id out;
  char name[64], vname[80];
  snprintf(name, sizeof name, "%s_%d", op, b->n++);
  snprintf(vname, sizeof vname, "%s_out", name);
  OK(mt_module_add_value(b->m, b->g, vname, &out));
  int32_t id;
  OK(mt_module_add_node(b->m, b->g, name, op, "", n_in, in, 1, &out, n_attr, arr, &id));
  return out;
}

static mt_attr *tb_attr_float(tb *b, const char *name, float value) {
  mt_attr *a = tb_attr_int(b, name, 0);
  a->type = MT_ATTR_FLOAT;
  a->f = value;
  return a;
}

/* Reduce*: each op with its own prologue (so it fuses) and most with an epilogue. */
static void build_reduces(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_FLOAT32, 3, D(3, 5, 7));
  struct {
    const char *op;
    int n_axes;
    int64_t axes[3];
    int keepdims;
    const char *pre, *post; /* prologue (unary) and epilogue (unary) ops, or NULL */
  } cases[] = {
      {"ReduceSum", 2, {0, 2}, 1, "Neg", "Sigmoid"},
      {"ReduceMean", 1, {2}, 0, "Tanh", "Relu"},
      {"ReduceMax", 1, {1}, 0, "Exp", NULL},
      {"ReduceMin", 2, {-1, 0}, 1, "Sigmoid", "Neg"},
      {"ReduceProd", 1, {2}, 1, "Sigmoid", NULL},
      {"ReduceL1", 3, {0, 1, 2}, 0, "Neg", "Sqrt"},
      {"ReduceL2", 1, {1}, 1, "Tanh", NULL},
      {"ReduceSumSquare", 2, {0, 1}, 0, "Relu", "Exp"},
      {"ReduceLogSum", 1, {2}, 1, "Abs", NULL},
      {"ReduceLogSumExp", 2, {1, 2}, 0, "Neg", "Tanh"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mt_value_id in = tb_node(&b, cases[i].pre, 1, V(x), NULL);
    mt_attr *kd = tb_attr_int(&b, "keepdims", cases[i].keepdims);
    mt_value_id r;
    if (strcmp(cases[i].op, "ReduceSum") == 0) /* opset 13: axes is an input */
      r = tb_node_attrs(&b, cases[i].op, 2, V(in, tb_ints(&b, cases[i].n_axes, cases[i].axes)), 1,
                        (mt_attr *const[]){kd});
    else
      r = tb_node_attrs(
          &b, cases[i].op, 1, V(in), 2,
          (mt_attr *const[]){tb_attr_ints(&b, "axes", cases[i].n_axes, cases[i].axes), kd});
    if (cases[i].post) r = tb_node(&b, cases[i].post, 1, V(r), NULL);
    b.g->outputs[b.g->n_outputs++] = r;
  }
}

/* Integer and float16 reductions: wrapping sums and products, integer mean and L2, ArgMin
 * with ties (small integers) and select_last, float16 Softmax and ReduceMean. */
static void build_int_half(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "xi", MT_DTYPE_INT32, 3, D(2, 9, 5));
  const char *ops[] = {"ReduceSum",  "ReduceMax", "ReduceProd",
                       "ReduceMean", "ReduceL2",  "ReduceL1"};
  for (int i = 0; i < 6; i++) {
    mt_value_id in = tb_node(&b, "Mul", 2, V(x, tb_const(&b, MT_DTYPE_INT32, 1, D(5))), NULL);
    mt_value_id r;
    if (i == 0)
      r = tb_node(&b, ops[i], 2, V(in, tb_ints(&b, 1, D(1))), NULL);
    else
      r = tb_node(&b, ops[i], 1, V(in), tb_attr_ints(&b, "axes", 2, D(0, 1)));
    b.g->outputs[b.g->n_outputs++] = r;
  }
  mt_value_id am = tb_node_attrs(&b, "ArgMin", 1, V(x), 3,
                                 (mt_attr *const[]){tb_attr_int(&b, "axis", 1),
                                                    tb_attr_int(&b, "select_last_index", 1),
                                                    tb_attr_int(&b, "keepdims", 0)});
  b.g->outputs[b.g->n_outputs++] = am;
  mt_value_id h = tb_input(&b, "xh", MT_DTYPE_FLOAT16, 2, D(6, 11));
  mt_value_id hs = tb_node(&b, "Softmax", 1, V(tb_node(&b, "Sigmoid", 1, V(h), NULL)), NULL);
  b.g->outputs[b.g->n_outputs++] = hs;
  mt_value_id hm = tb_node(&b, "ReduceMean", 1, V(tb_node(&b, "Relu", 1, V(h), NULL)),
                           tb_attr_ints(&b, "axes", 1, D(0)));
  b.g->outputs[b.g->n_outputs++] = hm;
}

/* Rowwise normalisations and arg reductions. */
static void build_norms(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_FLOAT32, 3, D(3, 5, 7));
  /* Softmax over a middle axis (opset 13: only that axis), Mul epilogue by a constant */
  mt_value_id s =
      tb_node(&b, "Softmax", 1, V(tb_node(&b, "Tanh", 1, V(x), NULL)), tb_attr_int(&b, "axis", 1));
  s = tb_node(&b, "Mul", 2, V(s, tb_const(&b, MT_DTYPE_FLOAT32, 1, D(7))), NULL);
  b.g->outputs[b.g->n_outputs++] = s;
  mt_value_id ls = tb_node(&b, "LogSoftmax", 1, V(tb_node(&b, "Neg", 1, V(x), NULL)), NULL);
  b.g->outputs[b.g->n_outputs++] = ls;
  /* LayerNormalization over the last two dims, scale [5,7] and bias [7], Relu after */
  mt_value_id ln = tb_node_attrs(
      &b, "LayerNormalization", 3,
      V(tb_node(&b, "Add", 2, V(x, tb_const(&b, MT_DTYPE_FLOAT32, 2, D(5, 7))), NULL),
        tb_const(&b, MT_DTYPE_FLOAT32, 2, D(5, 7)), tb_const(&b, MT_DTYPE_FLOAT32, 1, D(7))),
      2, (mt_attr *const[]){tb_attr_int(&b, "axis", -2), tb_attr_float(&b, "epsilon", 1e-3f)});
  ln = tb_node(&b, "Relu", 1, V(ln), NULL);
  b.g->outputs[b.g->n_outputs++] = ln;
  mt_value_id in =
      tb_node(&b, "InstanceNormalization", 3,
              V(tb_node(&b, "Sigmoid", 1, V(x), NULL), tb_const(&b, MT_DTYPE_FLOAT32, 1, D(5)),
                tb_const(&b, MT_DTYPE_FLOAT32, 1, D(5))),
              NULL);
  in = tb_node(&b, "Tanh", 1, V(in), NULL);
  b.g->outputs[b.g->n_outputs++] = in;
  mt_value_id am =
      tb_node(&b, "ArgMax", 1, V(tb_node(&b, "Abs", 1, V(x), NULL)), tb_attr_int(&b, "axis", 2));
  b.g->outputs[b.g->n_outputs++] = am;
}

/* Pools and CumSum. */
static void build_pools(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_FLOAT32, 4, D(2, 3, 7, 9));
  mt_value_id mp = tb_node_attrs(&b, "MaxPool", 1, V(tb_node(&b, "Neg", 1, V(x), NULL)), 3,
                                 (mt_attr *const[]){tb_attr_ints(&b, "kernel_shape", 2, D(3, 3)),
                                                    tb_attr_ints(&b, "strides", 2, D(2, 2)),
                                                    tb_attr_ints(&b, "pads", 4, D(1, 1, 1, 1))});
  mp = tb_node(&b, "Relu", 1, V(mp), NULL);
  b.g->outputs[b.g->n_outputs++] = mp;
  mt_value_id ap = tb_node_attrs(&b, "AveragePool", 1, V(tb_node(&b, "Tanh", 1, V(x), NULL)), 4,
                                 (mt_attr *const[]){tb_attr_ints(&b, "kernel_shape", 2, D(3, 2)),
                                                    tb_attr_ints(&b, "strides", 2, D(2, 2)),
                                                    tb_attr_ints(&b, "pads", 4, D(1, 0, 1, 1)),
                                                    tb_attr_int(&b, "count_include_pad", 1)});
  b.g->outputs[b.g->n_outputs++] = ap;
  mt_value_id ap2 = tb_node_attrs(&b, "AveragePool", 1, V(tb_node(&b, "Abs", 1, V(x), NULL)), 2,
                                  (mt_attr *const[]){tb_attr_ints(&b, "kernel_shape", 2, D(2, 4)),
                                                     tb_attr_ints(&b, "pads", 4, D(1, 2, 0, 1))});
  b.g->outputs[b.g->n_outputs++] = ap2;
  mt_value_id ga = tb_node(&b, "GlobalAveragePool", 1, V(tb_node(&b, "Exp", 1, V(x), NULL)), NULL);
  ga = tb_node(&b, "Sigmoid", 1, V(ga), NULL);
  b.g->outputs[b.g->n_outputs++] = ga;
  mt_value_id gm = tb_node(&b, "GlobalMaxPool", 1, V(tb_node(&b, "Neg", 1, V(x), NULL)), NULL);
  b.g->outputs[b.g->n_outputs++] = gm;
  mt_value_id cs = tb_node_attrs(
      &b, "CumSum", 2, V(tb_node(&b, "Sigmoid", 1, V(x), NULL), tb_ints(&b, 1, D(2))), 2,
      (mt_attr *const[]){tb_attr_int(&b, "exclusive", 1), tb_attr_int(&b, "reverse", 1)});
  cs = tb_node(&b, "Neg", 1, V(cs), NULL);
  b.g->outputs[b.g->n_outputs++] = cs;
  mt_value_id xi = tb_input(&b, "xi", MT_DTYPE_INT32, 2, D(4, 13));
  mt_value_id ci = tb_node(&b, "CumSum", 2, V(xi, tb_ints(&b, 1, D(-1))), NULL);
  b.g->outputs[b.g->n_outputs++] = ci;
}

/* An elementwise tenant: its chain shares a multi-body kernel with another tenant's reduction. */
static void build_chain(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_FLOAT32, 2, D(5, 7));
  mt_value_id a = tb_node(&b, "Add", 2, V(x, tb_const(&b, MT_DTYPE_FLOAT32, 1, D(7))), NULL);
  b.g->outputs[b.g->n_outputs++] = tb_node(&b, "Sigmoid", 1, V(a), NULL);
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

static int64_t n_float, n_float_exact;

/* Launches kernel k with emulator copies of its inputs and compares its outputs with the
 * reference values (computed for the group just before). */
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
    const mt_value *v = mt_module_value_c(m, pp->value);
    mt_tensor ref = {
        .dtype = pp->dtype, .rank = v->rank, .data = (void *)value_data(m, ev, pp->value)};
    mt_tensor got = ref;
    memcpy(ref.dims, v->dims, sizeof ref.dims);
    memcpy(got.dims, v->dims, sizeof got.dims);
    got.data = bufs[i];
    if (!ref.data) {
      CHECK(false, "%s: no reference for '%s'", k->name, v->name);
      continue;
    }
    if (!mt_dtype_is_float(pp->dtype)) {
      size_t bytes = (size_t)pp->elements * mt_dtype_size(pp->dtype);
      CHECK(memcmp(ref.data, got.data, bytes) == 0,
            "%s (grid %u): integer output '%s' differs from the reference executor", k->name, grid,
            v->name);
      continue;
    }
    int bad = 0;
    for (int64_t e = 0; e < pp->elements; e++) {
      double r = mt_tensor_get_f64(&ref, e), o = mt_tensor_get_f64(&got, e);
      n_float++;
      if (r == o || (isnan(r) && isnan(o))) {
        n_float_exact++;
        continue;
      }
      double tol = 1e-5 * fmax(fabs(r), fabs(o)) + (pp->dtype == MT_DTYPE_FLOAT16 ? 1e-3 : 1e-7);
      if (!(fabs(r - o) <= tol) && bad++ < 3)
        fprintf(stderr, "  %s '%s'[%lld]: got %.9g, reference %.9g\n", k->name, v->name,
                (long long)e, o, r);
    }
    CHECK(bad == 0, "%s (grid %u): output '%s': %d elements beyond 1e-5 relative", k->name, grid,
          v->name, bad);
  }
  for (int i = 0; i < k->n_params; i++) emu_free(bufs[i]);
  free(bufs);
  free(args);
}

int main(void) {
  mt_module *m;
  OK(mt_module_create(NULL, &m));
  build_reduces(m, "reduces");
  build_int_half(m, "ints");
  build_norms(m, "norms");
  build_pools(m, "pools");
  build_chain(m, "chain");
  mt_pass_ctx ctx = {.module = m, .arch = mt_arch_builtin("sm_90")};
  mt_pipeline_options po;
  mt_pipeline_options_init(&po);
  OK(mt_pipeline_run(&ctx, &po));
  const mt_plan *p = ctx.plan;

  mt_cuda_options o;
  mt_cuda_options_init(&o);
  o.sm_count_override = 1; /* a 1-SM partition: grids smaller than the work */
  o.blocks_per_sm = 2;
  o.block_threads = 32;
  mt_cuda_program *prog;
  OK(mt_cuda_generate(p, &o, &prog));
  int multi_red = 0, mixed = 0, reductions = 0, fused = 0;
  for (int i = 0; i < prog->n_kernels; i++) {
    const mt_horizontal_group *hg = &p->hgroups[prog->kernels[i].hgroup];
    int nred = 0, n_ew = 0;
    for (int k = 0; k < hg->n_members; k++) {
      const mt_fused_group *fg = &p->groups[hg->members[k]];
      if (fg->kind == MT_GROUP_REDUCTION) {
        nred++;
        fused += fg->n_nodes > 1;
      } else {
        n_ew++;
      }
    }
    reductions += nred;
    multi_red += hg->n_members > 1 && nred > 0;
    mixed += nred > 0 && n_ew > 0;
  }
  for (int i = 0; i < prog->n_skipped; i++)
    fprintf(stderr, "not generated: %s: %s\n", prog->skipped[i].what, prog->skipped[i].reason);
  CHECK(prog->n_skipped == 0, "%d groups not generated", prog->n_skipped);
  CHECK(reductions >= 30, "only %d reduction bodies", reductions);
  CHECK(fused >= 25, "only %d reduction bodies with fused prologue/epilogue ops", fused);
  CHECK(multi_red >= 1, "no multi-body kernel with a reduction body");
  CHECK(mixed >= 1, "no kernel mixing reduction and elementwise bodies");
  printf("%d kernels: %d reduction bodies (%d with fused ops), %d multi-body with reductions, "
         "%d mixing reduction and elementwise bodies\n",
         prog->n_kernels, reductions, fused, multi_red, mixed);

  emu_module *em = cg_load_program(prog, "reduce");
  if (!em) return 1;

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
  printf("%s: %d kernels checked against the reference executor; %lld of %lld float elements "
         "bit-identical\n",
         failures ? "FAIL" : "OK", checked, (long long)n_float_exact, (long long)n_float);
  return failures ? 1 : 0;
}
