/* fuse-vertical and fuse-horizontal: the plan executor's outputs are bit-identical to each tenant
 * run alone, before and after each fusion, and the groups formed are the expected ones.
 *
 * Without arguments: small modules built here with the IR API (grouped conv, batched and grouped
 * GEMM, multi-body, cycle and extra-write rejections). With --models DIR (the
 * generated models, e.g. /tmp/models_out): the T1 mix (resnet50_v0..v3) and a reduced T3 mix
 * (resnet50, mobilenetv2, bert_tiny, yolo_tiny) at batch 1, executed and compared with memcmp, and
 * the kernel-count target of T1. MT_FUSION_ALL_MIXES=1 also prints the counts of T1/T2/T3 at
 * batch 1 and 8 (MT_FUSION_ALL_MIXES=run also executes them and checks bit-identity). */
#include "../unit/test_util.h"
#include "test_groups.h"

#include <math.h>

#include "frontend/manifest.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"

static const char *models_dir;

/* --- plan helpers --- */

typedef struct fusion_counts {
  int nodes, groups, hgroups;
  int by_kind[MT_HGROUP_MULTI_BODY + 1];
} fusion_counts;

static int live_nodes(const mt_module *m) {
  int n = 0;
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++)
    n += mt_module_tenant_c(m, t)->graph->n_nodes;
  return n;
}

static void count_plan(const mt_plan *p, fusion_counts *c) {
  memset(c, 0, sizeof *c);
  c->nodes = live_nodes(p->module);
  c->groups = p->n_groups;
  c->hgroups = p->n_hgroups;
  for (int h = 0; h < p->n_hgroups; h++) c->by_kind[p->hgroups[h].kind]++;
}

static void print_counts(const char *label, const fusion_counts *c) {
  print_message("%-16s nodes %5d  fused groups %5d  kernels %5d  (single %d, batched-gemm %d, "
                "grouped-gemm %d, "
                "grouped-conv %d, multi-body %d)\n",
                label, c->nodes, c->groups, c->hgroups, c->by_kind[MT_HGROUP_SINGLE],
                c->by_kind[MT_HGROUP_BATCHED_GEMM], c->by_kind[MT_HGROUP_GROUPED_GEMM],
                c->by_kind[MT_HGROUP_GROUPED_CONV], c->by_kind[MT_HGROUP_MULTI_BODY]);
}

static bool has_rejection(const mt_plan *p, const char *pass, const char *needle) {
  for (int r = 0; r < p->n_rejections; r++)
    if (strcmp(p->rejections[r].pass, pass) == 0 && strstr(p->rejections[r].reason, needle))
      return true;
  return false;
}

static void run_plan_pass(mt_pass_ctx *ctx, mt_status *(*pass)(mt_pass_ctx *)) {
  assert_ok(pass(ctx));
  assert_ok(mt_plan_refresh_groups(ctx->plan));
  assert_ok(mt_plan_verify(ctx->plan));
}

/* Graph passes of the pipeline (shape inference and cleanup), then the singleton plan. */
static void prepare(mt_pass_ctx *ctx) {
  int n_passes;
  const mt_pass *passes = mt_pipeline_passes(&n_passes);
  for (int i = 0; i < n_passes && !passes[i].on_plan; i++) {
    assert_ok(passes[i].run(ctx));
    assert_ok(mt_verify_module(ctx->module));
  }
  assert_ok(mt_plan_create(ctx->module, ctx->arch, ctx->budgets, ctx->n_budgets, &ctx->plan));
  assert_ok(mt_plan_verify(ctx->plan));
}

/* --- deterministic inputs and output comparison --- */

static uint32_t lcg(uint32_t *s) {
  *s = *s * 1664525u + 1013904223u;
  return *s >> 8;
}

typedef struct run_data {
  int n_tenants;
  mt_tensor **inputs; /* per tenant */
  mt_tensor **ref;    /* per tenant: mt_reference_run outputs */
  mt_tensor **got;
} run_data;

static void fill_random(mt_tensor *t, uint32_t *seed) {
  int64_t n = mt_tensor_numel(t);
  t->data = calloc((size_t)(n ? n : 1), mt_dtype_size(t->dtype));
  assert_non_null(t->data);
  for (int64_t i = 0; i < n; i++) {
    double v;
    if (t->dtype == MT_DTYPE_FLOAT32 || t->dtype == MT_DTYPE_FLOAT16)
      v = (double)(lcg(seed) % 20001) / 10000.0 - 1.0;
    else
      v = (double)(lcg(seed) % 2); /* ids, masks, token types: 0/1 are valid everywhere */
    mt_tensor_set_f64(t, i, v);
  }
}

static void run_data_init(const mt_module *m, run_data *rd) {
  rd->n_tenants = mt_module_tenant_count(m);
  rd->inputs = calloc((size_t)rd->n_tenants, sizeof *rd->inputs);
  rd->ref = calloc((size_t)rd->n_tenants, sizeof *rd->ref);
  rd->got = calloc((size_t)rd->n_tenants, sizeof *rd->got);
  assert_true(rd->inputs && rd->ref && rd->got);
  uint32_t seed = 12345;
  for (int32_t t = 0; t < rd->n_tenants; t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    rd->inputs[t] = calloc((size_t)g->n_inputs + 1, sizeof(mt_tensor));
    rd->ref[t] = calloc((size_t)g->n_outputs + 1, sizeof(mt_tensor));
    rd->got[t] = calloc((size_t)g->n_outputs + 1, sizeof(mt_tensor));
    assert_true(rd->inputs[t] && rd->ref[t] && rd->got[t]);
    for (int i = 0; i < g->n_inputs; i++) {
      const mt_value *v = mt_module_value_c(m, g->inputs[i]);
      mt_tensor *x = &rd->inputs[t][i];
      x->dtype = v->dtype;
      x->rank = v->rank;
      memcpy(x->dims, v->dims, sizeof x->dims);
      fill_random(x, &seed);
    }
    assert_ok(mt_reference_run(m, t, rd->inputs[t], rd->ref[t]));
  }
}

static void free_outputs(const mt_module *m, mt_tensor **outs) {
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++)
    for (int i = 0; i < mt_module_tenant_c(m, t)->graph->n_outputs; i++) {
      free(outs[t][i].data);
      outs[t][i].data = NULL;
    }
}

static void run_data_free(const mt_module *m, run_data *rd) {
  free_outputs(m, rd->ref);
  free_outputs(m, rd->got);
  for (int t = 0; t < rd->n_tenants; t++) {
    for (int i = 0; i < mt_module_tenant_c(m, t)->graph->n_inputs; i++) free(rd->inputs[t][i].data);
    free(rd->inputs[t]);
    free(rd->ref[t]);
    free(rd->got[t]);
  }
  free(rd->inputs);
  free(rd->ref);
  free(rd->got);
}

/* The plan executor's outputs equal the single-tenant reference runs byte for byte. */
static void assert_plan_bit_identical(const mt_plan *p, run_data *rd, const char *when) {
  const mt_module *m = p->module;
  assert_ok(mt_plan_reference_run(p, false, rd->inputs, rd->got));
  for (int32_t t = 0; t < rd->n_tenants; t++) {
    const mt_graph *g = mt_module_tenant_c(m, t)->graph;
    for (int i = 0; i < g->n_outputs; i++) {
      const mt_tensor *a = &rd->ref[t][i], *b = &rd->got[t][i];
      bool same = a->dtype == b->dtype && a->rank == b->rank &&
                  mt_tensor_nbytes(a) == mt_tensor_nbytes(b) &&
                  memcmp(a->data, b->data, mt_tensor_nbytes(a)) == 0;
      if (!same)
        print_error("%s: tenant '%s' output %d differs from its reference run\n", when,
                    mt_module_tenant_c(m, t)->name, i);
      assert_true(same);
    }
  }
  free_outputs(m, rd->got);
}

/* --- small modules built with the IR API --- */

typedef struct tb {
  mt_module *m;
  int32_t t;
  mt_graph *g;
  uint32_t seed;
} tb;

static void tb_tenant(tb *b, mt_module *m, const char *name, const char *partition) {
  b->m = m;
  b->seed = 777u + (uint32_t)mt_module_tenant_count(m) * 131u;
  assert_ok(mt_module_add_tenant(m, name, "/nonexistent/model.onnx", &b->t));
  mt_tenant *t = mt_module_tenant(m, b->t);
  mt_arena *arena = mt_module_arena(m);
  t->opsets = mt_arena_array(arena, 1, sizeof *t->opsets);
  assert_non_null(t->opsets);
  t->opsets[0].domain = mt_arena_strdup(arena, "");
  t->opsets[0].version = 17;
  t->n_opsets = 1;
  if (partition) t->partition = mt_arena_strdup(arena, partition);
  b->g = t->graph;
  b->g->inputs = mt_arena_array(arena, 8, sizeof(mt_value_id));
  b->g->outputs = mt_arena_array(arena, 8, sizeof(mt_value_id));
  assert_true(b->g->inputs && b->g->outputs);
}

static mt_value_id tb_input(tb *b, const char *name, int rank, const int64_t *dims) {
  mt_value_id v;
  assert_ok(mt_module_add_value(b->m, b->g, name, &v));
  mt_value *x = mt_module_value(b->m, v);
  x->dtype = MT_DTYPE_FLOAT32;
  x->rank = rank;
  for (int d = 0; d < rank; d++) x->dims[d] = dims[d];
  b->g->inputs[b->g->n_inputs++] = v;
  return v;
}

static mt_value_id tb_const(tb *b, const char *name, int rank, const int64_t *dims) {
  mt_tensor t = {.dtype = MT_DTYPE_FLOAT32, .rank = rank};
  for (int d = 0; d < rank; d++) t.dims[d] = dims[d];
  fill_random(&t, &b->seed);
  mt_value_id v;
  assert_ok(mt_module_add_constant_value(b->m, b->g, name, &t, &v));
  free(t.data);
  return v;
}

static mt_value_id tb_scalar(tb *b, const char *name, float value) {
  mt_tensor t = {.dtype = MT_DTYPE_FLOAT32, .rank = 0, .data = &value};
  mt_value_id v;
  assert_ok(mt_module_add_constant_value(b->m, b->g, name, &t, &v));
  return v;
}

static mt_attr *tb_ints_attr(tb *b, const char *name, int n, const int64_t *values) {
  mt_arena *arena = mt_module_arena(b->m);
  mt_attr *a = mt_arena_array(arena, 1, sizeof *a);
  assert_non_null(a);
  memset(a, 0, sizeof *a);
  a->name = mt_arena_strdup(arena, name);
  a->type = MT_ATTR_INTS;
  a->count = n;
  a->ints = mt_arena_array(arena, (size_t)n, sizeof(int64_t));
  memcpy(a->ints, values, (size_t)n * sizeof(int64_t));
  return a;
}

static mt_attr *tb_int_attr(tb *b, const char *name, int64_t value) {
  mt_arena *arena = mt_module_arena(b->m);
  mt_attr *a = mt_arena_array(arena, 1, sizeof *a);
  assert_non_null(a);
  memset(a, 0, sizeof *a);
  a->name = mt_arena_strdup(arena, name);
  a->type = MT_ATTR_INT;
  a->i = value;
  return a;
}

static mt_value_id tb_node(tb *b, const char *op, const char *name, int n_in, const mt_value_id *in,
                           mt_attr *attrs, int n_attrs) {
  mt_value_id out;
  char vname[128];
  snprintf(vname, sizeof vname, "%s_out", name);
  assert_ok(mt_module_add_value(b->m, b->g, vname, &out));
  int32_t id;
  assert_ok(mt_module_add_node(b->m, b->g, name, op, "", n_in, in, 1, &out, n_attrs, attrs, &id));
  return out;
}

static void tb_output(tb *b, mt_value_id v) { b->g->outputs[b->g->n_outputs++] = v; }

/* x[1,8,10,10] -> Conv 3x3 (16 channels, weights per tenant) -> BatchNormalization -> Relu */
static void build_conv_tenant(mt_module *m, const char *name, const char *partition,
                              int64_t kernel) {
  tb b;
  tb_tenant(&b, m, name, partition);
  mt_value_id x = tb_input(&b, "x", 4, (const int64_t[]){1, 8, 10, 10});
  mt_value_id w = tb_const(&b, "w", 4, (const int64_t[]){16, 8, kernel, kernel});
  mt_value_id bias = tb_const(&b, "b", 1, (const int64_t[]){16});
  int64_t pad = kernel / 2;
  mt_attr *pads = tb_ints_attr(&b, "pads", 4, (const int64_t[]){pad, pad, pad, pad});
  mt_value_id c = tb_node(&b, "Conv", "conv", 3, (const mt_value_id[]){x, w, bias}, pads, 1);
  mt_value_id sc = tb_const(&b, "scale", 1, (const int64_t[]){16}),
              sh = tb_const(&b, "shift", 1, (const int64_t[]){16});
  mt_value_id mean = tb_const(&b, "mean", 1, (const int64_t[]){16});
  float ones[16]; /* a positive variance */
  for (int i = 0; i < 16; i++) ones[i] = 1.0f;
  mt_tensor vt = {.dtype = MT_DTYPE_FLOAT32, .rank = 1, .dims = {16}, .data = ones};
  mt_value_id vv;
  assert_ok(mt_module_add_constant_value(m, b.g, "var", &vt, &vv));
  mt_value_id bn = tb_node(&b, "BatchNormalization", "bn", 5,
                           (const mt_value_id[]){c, sc, sh, mean, vv}, NULL, 0);
  mt_value_id r = tb_node(&b, "Relu", "relu", 1, &bn, NULL, 0);
  tb_output(&b, r);
}

/* x[m,k] -> Gemm(w[k,n], bias[n]) -> Relu */
static void build_gemm_tenant(mt_module *m, const char *name, int64_t rows, int64_t k, int64_t n) {
  tb b;
  tb_tenant(&b, m, name, NULL);
  mt_value_id x = tb_input(&b, "x", 2, (const int64_t[]){rows, k});
  mt_value_id w = tb_const(&b, "w", 2, (const int64_t[]){k, n});
  mt_value_id bias = tb_const(&b, "bias", 1, (const int64_t[]){n});
  mt_value_id y = tb_node(&b, "Gemm", "gemm", 3, (const mt_value_id[]){x, w, bias}, NULL, 0);
  mt_value_id r = tb_node(&b, "Relu", "relu", 1, &y, NULL, 0);
  tb_output(&b, r);
}

/* x[4,32] -> Mul(2) -> Softmax -> Mul(0.5) -> Relu: one reduction group */
static void build_softmax_tenant(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name, NULL);
  mt_value_id x = tb_input(&b, "x", 2, (const int64_t[]){4, 32});
  mt_value_id a =
      tb_node(&b, "Mul", "pre", 2, (const mt_value_id[]){x, tb_scalar(&b, "two", 2.0f)}, NULL, 0);
  mt_value_id s = tb_node(&b, "Softmax", "softmax", 1, &a, tb_int_attr(&b, "axis", -1), 1);
  mt_value_id c =
      tb_node(&b, "Mul", "post", 2, (const mt_value_id[]){s, tb_scalar(&b, "half", 0.5f)}, NULL, 0);
  mt_value_id r = tb_node(&b, "Relu", "relu", 1, &c, NULL, 0);
  tb_output(&b, r);
}

typedef struct small_case {
  mt_module *m;
  mt_pass_ctx ctx;
  run_data rd;
} small_case;

static void small_begin(small_case *sc) {
  memset(sc, 0, sizeof *sc);
  assert_ok(mt_module_create(NULL, &sc->m));
}

/* Infers shapes, builds the plan, runs the references, fuses vertically and horizontally with
 * bit-identity checks after each. */
static void small_fuse(small_case *sc) {
  sc->ctx.module = sc->m;
  sc->ctx.arch = mt_arch_builtin("sm_90");
  assert_ok(mt_infer_shapes(sc->m));
  prepare(&sc->ctx);
  run_data_init(sc->m, &sc->rd);
  assert_plan_bit_identical(sc->ctx.plan, &sc->rd, "unfused");
  run_plan_pass(&sc->ctx, mt_pass_fuse_vertical);
  assert_plan_bit_identical(sc->ctx.plan, &sc->rd, "after fuse-vertical");
  run_plan_pass(&sc->ctx, mt_pass_fuse_horizontal);
  assert_plan_bit_identical(sc->ctx.plan, &sc->rd, "after fuse-horizontal");
  if (getenv("MT_FUSION_DUMP")) mt_plan_dump(sc->ctx.plan, stdout);
}

static void small_end(small_case *sc) {
  run_data_free(sc->m, &sc->rd);
  mt_plan_destroy(sc->ctx.plan);
  mt_module_destroy(sc->m);
}

static void test_grouped_conv(void **state) {
  (void)state;
  small_case sc;
  small_begin(&sc);
  build_conv_tenant(sc.m, "a", NULL, 3);
  build_conv_tenant(sc.m, "b", NULL, 3);
  small_fuse(&sc);
  const mt_plan *p = sc.ctx.plan;
  /* Conv (+BN unless canonicalize folded it) + Relu: one group per tenant */
  assert_int_equal(p->n_groups, 2);
  assert_int_equal(p->groups[0].n_nodes, mt_module_tenant_c(p->module, 0)->graph->n_nodes);
  assert_int_equal(p->groups[0].kind, MT_GROUP_CONV);
  assert_int_equal(p->n_hgroups, 1);
  assert_int_equal(p->hgroups[0].kind, MT_HGROUP_GROUPED_CONV);
  assert_int_equal(p->hgroups[0].n_members, 2);
  assert_int_equal(p->hgroups[0].position, 0);
  small_end(&sc);
}

static void test_conv_params_differ(void **state) {
  (void)state;
  small_case sc;
  small_begin(&sc);
  build_conv_tenant(sc.m, "a", NULL, 3);
  build_conv_tenant(sc.m, "b", NULL, 1);
  small_fuse(&sc);
  assert_int_equal(sc.ctx.plan->n_hgroups, 2);
  assert_true(has_rejection(sc.ctx.plan, "fuse-horizontal", "conv parameters differ"));
  small_end(&sc);
}

static void test_different_partitions(void **state) {
  (void)state;
  small_case sc;
  small_begin(&sc);
  build_conv_tenant(sc.m, "a", "p0", 3);
  build_conv_tenant(sc.m, "b", "p1", 3);
  small_fuse(&sc);
  assert_int_equal(sc.ctx.plan->n_hgroups, 2);
  assert_true(has_rejection(sc.ctx.plan, "fuse-horizontal", "different SM partitions"));
  small_end(&sc);
}

static void test_batched_gemm(void **state) {
  (void)state;
  small_case sc;
  small_begin(&sc);
  build_gemm_tenant(sc.m, "a", 4, 8, 16);
  build_gemm_tenant(sc.m, "b", 4, 8, 16);
  build_gemm_tenant(sc.m, "c", 4, 8, 16);
  small_fuse(&sc);
  const mt_plan *p = sc.ctx.plan;
  assert_int_equal(p->n_groups, 3);
  assert_int_equal(p->groups[0].kind, MT_GROUP_GEMM);
  assert_int_equal(p->n_hgroups, 1);
  assert_int_equal(p->hgroups[0].kind, MT_HGROUP_BATCHED_GEMM);
  assert_int_equal(p->hgroups[0].n_members, 3);
  small_end(&sc);
}

static void test_grouped_gemm(void **state) {
  (void)state;
  small_case sc;
  small_begin(&sc);
  build_gemm_tenant(sc.m, "a", 4, 8, 16);
  build_gemm_tenant(sc.m, "b", 2, 8, 32);
  small_fuse(&sc);
  const mt_plan *p = sc.ctx.plan;
  assert_int_equal(p->n_hgroups, 1);
  assert_int_equal(p->hgroups[0].kind, MT_HGROUP_GROUPED_GEMM);
  small_end(&sc);
}

static void test_multi_body(void **state) {
  (void)state;
  small_case sc;
  small_begin(&sc);
  build_softmax_tenant(sc.m, "a");
  build_softmax_tenant(sc.m, "b");
  small_fuse(&sc);
  const mt_plan *p = sc.ctx.plan;
  assert_int_equal(p->n_groups, 2);
  /* Mul, Softmax, Mul, Relu: one group */
  assert_int_equal(p->groups[0].n_nodes, mt_module_tenant_c(p->module, 0)->graph->n_nodes);
  assert_int_equal(p->groups[0].kind, MT_GROUP_REDUCTION);
  assert_int_equal(p->n_hgroups, 1);
  assert_int_equal(p->hgroups[0].kind, MT_HGROUP_MULTI_BODY);
  small_end(&sc);
}

/* fuse-horizontal straight on the singleton plan (fuse-vertical disabled): every node pairs
 * with its twin in the other tenant, in dependency order. */
static void test_horizontal_only(void **state) {
  (void)state;
  small_case sc;
  small_begin(&sc);
  build_softmax_tenant(sc.m, "a");
  build_softmax_tenant(sc.m, "b");
  sc.ctx.module = sc.m;
  sc.ctx.arch = mt_arch_builtin("sm_90");
  assert_ok(mt_infer_shapes(sc.m));
  prepare(&sc.ctx);
  run_data_init(sc.m, &sc.rd);
  run_plan_pass(&sc.ctx, mt_pass_fuse_horizontal);
  assert_plan_bit_identical(sc.ctx.plan, &sc.rd, "after fuse-horizontal alone");
  const mt_plan *p = sc.ctx.plan;
  int nodes = mt_module_tenant_c(sc.m, 0)->graph->n_nodes;
  assert_int_equal(p->n_groups, 2 * nodes);
  assert_int_equal(p->n_hgroups, nodes);
  for (int h = 0; h < p->n_hgroups; h++) {
    assert_int_equal(p->hgroups[h].kind, MT_HGROUP_MULTI_BODY);
    assert_int_equal(p->hgroups[h].position, h);
  }
  small_end(&sc);
}

/* y = MatMul(x, w); s = Softmax(y); z = Add(y, s): the Add would join the GEMM epilogue, but s
 * is computed from y by another group, so the merge would make a cycle. c = Conv(x2) is read by
 * Relu and by MaxPool: fusing the Relu would make the conv write its raw output too. */
static void test_rejections(void **state) {
  (void)state;
  small_case sc;
  small_begin(&sc);
  tb b;
  tb_tenant(&b, sc.m, "a", NULL);
  mt_value_id x = tb_input(&b, "x", 2, (const int64_t[]){4, 8});
  mt_value_id w = tb_const(&b, "w", 2, (const int64_t[]){8, 8});
  mt_value_id y = tb_node(&b, "MatMul", "mm", 2, (const mt_value_id[]){x, w}, NULL, 0);
  mt_value_id s = tb_node(&b, "Softmax", "softmax", 1, &y, tb_int_attr(&b, "axis", -1), 1);
  mt_value_id z = tb_node(&b, "Add", "add", 2, (const mt_value_id[]){y, s}, NULL, 0);
  tb_output(&b, z);
  mt_value_id x2 = tb_input(&b, "x2", 4, (const int64_t[]){1, 4, 6, 6});
  mt_value_id w2 = tb_const(&b, "w2", 4, (const int64_t[]){4, 4, 1, 1});
  mt_value_id c = tb_node(&b, "Conv", "conv", 2, (const mt_value_id[]){x2, w2}, NULL, 0);
  mt_value_id r = tb_node(&b, "Relu", "relu", 1, &c, NULL, 0);
  mt_attr *k = tb_ints_attr(&b, "kernel_shape", 2, (const int64_t[]){2, 2});
  mt_value_id mp = tb_node(&b, "MaxPool", "pool", 1, &c, k, 1);
  tb_output(&b, r);
  tb_output(&b, mp);
  small_fuse(&sc);
  const mt_plan *p = sc.ctx.plan;
  assert_true(has_rejection(p, "fuse-vertical", "cycle"));
  assert_true(has_rejection(p, "fuse-vertical", "extra write"));
  assert_int_equal(p->n_groups, 6); /* nothing could merge */
  for (int r2 = 0; r2 < p->n_rejections; r2++)
    print_message("  rejected [%s] %s: %s\n", p->rejections[r2].pass, p->rejections[r2].what,
                  p->rejections[r2].reason);
  small_end(&sc);
}

/* --- the benchmark mixes --- */

static mt_status *load_mix(const char *const *models, int n, int64_t batch, mt_module **out_m) {
  char json[4096];
  int len = snprintf(json, sizeof json, "{\"tenants\": [");
  for (int i = 0; i < n; i++)
    len +=
        snprintf(json + len, sizeof json - (size_t)len,
                 "%s{\"name\": \"%s_%d\", \"model\": \"%s.onnx\", \"dims\": {\"batch\": %lld%s}}",
                 i ? ", " : "", models[i], i, models[i], (long long)batch,
                 strstr(models[i], "bert") ? ", \"seq\": 128" : "");
  len += snprintf(json + len, sizeof json - (size_t)len, "]}");
  char path[1024];
  snprintf(path, sizeof path, "%s/fusion_test_manifest.json", models_dir);
  mt_manifest *mf = NULL;
  mt_status *st = mt_manifest_parse(path, json, (size_t)len, &mf);
  if (!st) st = mt_workload_import(mf, NULL, 0, out_m);
  mt_manifest_free(mf);
  return st;
}

static void check_mix(const char *label, const char *const *models, int n, int64_t batch,
                      bool execute, fusion_counts *out_after) {
  mt_module *m = NULL;
  assert_ok(load_mix(models, n, batch, &m));
  mt_pass_ctx ctx = {.module = m, .arch = mt_arch_builtin("sm_90")};
  prepare(&ctx);
  run_data rd;
  memset(&rd, 0, sizeof rd);
  if (execute) run_data_init(m, &rd);
  fusion_counts before, vert, after;
  count_plan(ctx.plan, &before);
  int rej0 = ctx.plan->n_rejections;
  run_plan_pass(&ctx, mt_pass_fuse_vertical);
  count_plan(ctx.plan, &vert);
  int rej1 = ctx.plan->n_rejections;
  if (execute) assert_plan_bit_identical(ctx.plan, &rd, "after fuse-vertical");
  run_plan_pass(&ctx, mt_pass_fuse_horizontal);
  count_plan(ctx.plan, &after);
  if (execute) assert_plan_bit_identical(ctx.plan, &rd, "after fuse-horizontal");
  char l[96];
  snprintf(l, sizeof l, "%s b%lld", label, (long long)batch);
  print_counts(l, &after);
  print_message("%-16s vertical rejections %d, horizontal rejections %d%s\n", "", rej1 - rej0,
                ctx.plan->n_rejections - rej1, execute ? ", outputs bit-identical" : "");
  if (getenv("MT_FUSION_DUMP")) mt_plan_dump(ctx.plan, stdout);
  assert_int_equal(before.nodes, vert.nodes);
  if (out_after) *out_after = after;
  if (execute) run_data_free(m, &rd);
  mt_plan_destroy(ctx.plan);
  mt_module_destroy(m);
}

static const char *const mix_t1[] = {"resnet50_v0", "resnet50_v1", "resnet50_v2", "resnet50_v3"};
static const char *const mix_t2[] = {"resnet50", "mobilenetv2", "efficientnet_b0", "vgg16"};
static const char *const mix_t3[] = {"resnet50", "mobilenetv2", "bert_base", "yolo_tiny"};
static const char *const mix_t3_small[] = {"resnet50", "mobilenetv2", "bert_tiny", "yolo_tiny"};

static void test_t1(void **state) {
  (void)state;
  fusion_counts c;
  check_mix("T1", mix_t1, 4, 1, true, &c);
  /* the kernel count after both fusions is below a third of the unfused node count */
  assert_true(c.hgroups * 3 < c.nodes);
}

static void test_t3_small(void **state) {
  (void)state;
  check_mix("T3 (bert_tiny)", mix_t3_small, 4, 1, true, NULL);
}

static void test_all_mixes(void **state) {
  (void)state;
  const char *mode = getenv("MT_FUSION_ALL_MIXES"); /* "1": counts only; "run": also execute */
  bool run = strcmp(mode, "run") == 0;
  for (int64_t batch = 1; batch <= 8; batch += 7) {
    check_mix("T1", mix_t1, 4, batch, run, NULL);
    check_mix("T2", mix_t2, 4, batch, run, NULL);
    check_mix("T3", mix_t3, 4, batch, run, NULL);
  }
}

int main(int argc, char **argv) {
  test_groups groups;
  if (!test_groups_parse(argc, argv, &groups)) return 2;
  models_dir = groups.models_dir;
  const struct CMUnitTest small[] = {
      cmocka_unit_test(test_grouped_conv),         cmocka_unit_test(test_conv_params_differ),
      cmocka_unit_test(test_different_partitions), cmocka_unit_test(test_batched_gemm),
      cmocka_unit_test(test_grouped_gemm),         cmocka_unit_test(test_multi_body),
      cmocka_unit_test(test_rejections),           cmocka_unit_test(test_horizontal_only),
  };
  int failed =
      groups.small ? cmocka_run_group_tests_name("fusion (small modules)", small, NULL, NULL) : 0;
  if (!models_dir) return tu_exit_code(failed);
  /* every mix at batch 1 and 8 only on request (MT_FUSION_ALL_MIXES): not part of the suite, and
   * left out of the group rather than skipped so that the group's result stays pass/fail */
  const struct CMUnitTest mixes[] = {
      cmocka_unit_test(test_t1),
      cmocka_unit_test(test_t3_small),
  };
  failed += cmocka_run_group_tests_name("fusion (benchmark mixes)", mixes, NULL, NULL);
  if (getenv("MT_FUSION_ALL_MIXES")) {
    const struct CMUnitTest all[] = {cmocka_unit_test(test_all_mixes)};
    failed += cmocka_run_group_tests_name("fusion (every mix, on request)", all, NULL, NULL);
  }
  return tu_exit_code(failed);
}
