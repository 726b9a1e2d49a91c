/* The generators outside the elementwise / reduction / conv families, run under the CPU
 * emulation of CUDA (tests/emu) against the reference executor: Resize (nearest with every
 * nearest_mode, linear and cubic with every coordinate_transformation_mode runtime/cpu/resize.c
 * supports, cubic also with cubic_coeff_a -0.5 and exclude_outside, tf_crop_and_resize
 * extrapolation, fused with an elementwise op), Shape, Size, ConstantOfShape,
 * Range (int64 and float32), NonZero (bounded output and device-side count) and TopK (float32
 * with ties, NaN and signed zeros, int32 with many ties, float16; largest and smallest; values and
 * indices). Outputs must
 * equal the reference byte for byte; NonZero's count must equal the reference's column count and
 * the first count columns of each bounded row its rows. fold-constants is disabled so the shape
 * ops reach the plan. Kernels are sized for a 1-SM partition with 32-thread blocks, also launched
 * with grids of 1 and 3. Usage: test_codegen_more (exit 77 when the emulator cannot compile). */
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

static mt_attr *tb_attrs_str(tb *b, int n, const char *const *names, const char *const *vals) {
  mt_arena *arena = mt_module_arena(b->m);
  mt_attr *a = mt_arena_array(arena, (size_t)n, sizeof *a);
  memset(a, 0, (size_t)n * sizeof *a);
  for (int i = 0; i < n; i++) {
    a[i].name = mt_arena_strdup(arena, names[i]);
    a[i].type = MT_ATTR_STRING;
    a[i].s = mt_arena_strdup(arena, vals[i]);
    a[i].s_len = strlen(vals[i]);
  }
  return a;
}

static mt_value_id tb_i64(tb *b, int64_t v) {
  mt_tensor t = {.dtype = MT_DTYPE_INT64, .rank = 0, .data = &v};
  char name[32];
  snprintf(name, sizeof name, "s%d", b->n++);
  mt_value_id id;
  OK(mt_module_add_constant_value(b->m, b->g, name, &t, &id));
  return id;
}

static mt_value_id tb_floats(tb *b, int n, const float *vals) {
  mt_tensor t = {.dtype = MT_DTYPE_FLOAT32, .rank = 1, .dims = {n}, .data = (void *)vals};
  char name[32];
  snprintf(name, sizeof name, "f%d", b->n++);
  mt_value_id v;
  OK(mt_module_add_constant_value(b->m, b->g, name, &t, &v));
  return v;
}

static mt_value_id tb_node_attrs(tb *b, const char *op, int n_in, const mt_value_id *in, int n_attr,
                                 mt_attr *attr) {
  mt_value_id out;
  char name[64], vname[80];
  snprintf(name, sizeof name, "%s_%d", op, b->n++);
  snprintf(vname, sizeof vname, "%s_out", name);
  OK(mt_module_add_value(b->m, b->g, vname, &out));
  int32_t id;
  OK(mt_module_add_node(b->m, b->g, name, op, "", n_in, in, 1, &out, n_attr, attr, &id));
  return out;
}

/* One Resize per (mode, coordinate mode, nearest mode) case on an odd-sized image, up- and
 * down-scaling different axes; one fused with a Relu after it. */
static void build_resize(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_FLOAT32, 4, D(1, 3, 5, 7));
  static const float sc_a[] = {1, 1, 1.7f, 0.6f}, sc_b[] = {1, 1, 0.5f, 2.25f};
  mt_value_id scales[2] = {tb_floats(&b, 4, sc_a), tb_floats(&b, 4, sc_b)};
  static const float roi_v[] = {0, 0, 0.2f, -0.3f, 1, 1, 1.1f, 0.9f};
  mt_value_id roi = tb_floats(&b, 8, roi_v);
  static const char *const coords[] = {
      "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
      "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  const char *names[] = {"mode", "coordinate_transformation_mode", "nearest_mode"};
  for (int c = 0; c < 7; c++)
    for (int s = 0; s < 2; s++) {
      bool crop = c == 6;
      const char *lv[] = {"linear", coords[c]};
      if (c != 5) { /* tf_half_pixel_for_nn is for nearest only */
        mt_value_id y = tb_node_attrs(&b, "Resize", 3, V(x, crop ? roi : MT_NO_VALUE, scales[s]), 2,
                                      tb_attrs_str(&b, 2, names, lv));
        b.g->outputs[b.g->n_outputs++] = y;
      }
      for (int nm = 0; nm < 4; nm++) {
        if ((nm + c + s) % 3 != 0 && !crop) continue; /* a spread of the combinations */
        const char *nv[] = {"nearest", coords[c], nearest[nm]};
        mt_value_id y = tb_node_attrs(&b, "Resize", 3, V(x, crop ? roi : MT_NO_VALUE, scales[s]), 3,
                                      tb_attrs_str(&b, 3, names, nv));
        b.g->outputs[b.g->n_outputs++] = y;
      }
    }
  /* Cubic in every coordinate mode, each with the default a = -0.75 and with a = -0.5 and
   * exclude_outside (taps outside the input dropped, the rest renormalised), as ONNX's cubic
   * tests; the 4 x 4 taps of a 2-D cubic are 16 loads per output. */
  const char *cnames[] = {"mode", "coordinate_transformation_mode", "cubic_coeff_a",
                          "exclude_outside"};
  for (int c = 0; c < 7; c++)
    for (int s = 0; s < 2; s++) {
      if (c == 5) continue;
      bool crop = c == 6;
      mt_attr *a = tb_attrs_str(&b, 4, cnames, (const char *const[]){"cubic", coords[c], "", ""});
      a[2].type = MT_ATTR_FLOAT;
      a[2].f = -0.5f;
      a[3].type = MT_ATTR_INT;
      a[3].i = 1;
      int n_attr = (c + s) % 2 ? 4 : 2; /* every mode gets each form on one of its two scales */
      mt_value_id y =
          tb_node_attrs(&b, "Resize", 3, V(x, crop ? roi : MT_NO_VALUE, scales[s]), n_attr, a);
      b.g->outputs[b.g->n_outputs++] = y;
    }
  const char *lv[] = {"linear", "half_pixel"};
  mt_value_id y = tb_node_attrs(&b, "Resize", 3, V(x, MT_NO_VALUE, scales[0]), 2,
                                tb_attrs_str(&b, 2, names, lv));
  mt_value_id r = tb_node(&b, "Relu", 1, V(y), NULL);
  b.g->outputs[b.g->n_outputs++] = r;
}

/* Shape (with start), Size, ConstantOfShape, Range of int64 and float32 and NonZero over
 * constants, which stay in the plan because fold-constants is off. */
static void build_shapes(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  mt_value_id x = tb_input(&b, "x", MT_DTYPE_FLOAT32, 3, D(3, 4, 5));
  b.g->outputs[b.g->n_outputs++] = tb_node(&b, "Shape", 1, V(x), tb_attr_int(&b, "start", 1));
  b.g->outputs[b.g->n_outputs++] = tb_node(&b, "Size", 1, V(x), NULL);
  b.g->outputs[b.g->n_outputs++] =
      tb_node(&b, "ConstantOfShape", 1, V(tb_ints(&b, 2, D(2, 3))), NULL);
  b.g->outputs[b.g->n_outputs++] =
      tb_node(&b, "Range", 3, V(tb_i64(&b, 3), tb_i64(&b, 40), tb_i64(&b, -4 + 8)), NULL);
  static const float fr[3] = {0.1f, 7.3f, 0.7f};
  mt_tensor st = {.dtype = MT_DTYPE_FLOAT32, .rank = 0, .data = (void *)&fr[0]};
  mt_tensor li = {.dtype = MT_DTYPE_FLOAT32, .rank = 0, .data = (void *)&fr[1]};
  mt_tensor de = {.dtype = MT_DTYPE_FLOAT32, .rank = 0, .data = (void *)&fr[2]};
  mt_value_id vs, vl, vd;
  OK(mt_module_add_constant_value(m, b.g, "rs", &st, &vs));
  OK(mt_module_add_constant_value(m, b.g, "rl", &li, &vl));
  OK(mt_module_add_constant_value(m, b.g, "rd", &de, &vd));
  b.g->outputs[b.g->n_outputs++] = tb_node(&b, "Range", 3, V(vs, vl, vd), NULL);
  /* NonZero over a constant with zeros, -0.0 (zero) and NaN (not zero) */
  float nzv[4 * 9];
  for (int i = 0; i < 36; i++) nzv[i] = (i * 7) % 5 == 0 ? 0.0f : (float)i;
  nzv[3] = -0.0f;
  nzv[4] = NAN;
  mt_tensor nz = {.dtype = MT_DTYPE_FLOAT32, .rank = 2, .dims = {4, 9}, .data = nzv};
  mt_value_id vnz;
  OK(mt_module_add_constant_value(m, b.g, "nzin", &nz, &vnz));
  b.g->outputs[b.g->n_outputs++] = tb_node(&b, "NonZero", 1, V(vnz), NULL);
}

/* MelWeightMatrix over constants (folded away in a normal compile, kept here with
 * fold-constants off): 10 filters over a 33-bin spectrogram at 8 kHz, into float32. */
static void build_mel(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  static const float hz[2] = {40.0f, 3900.0f};
  mt_tensor lo = {.dtype = MT_DTYPE_FLOAT32, .rank = 0, .data = (void *)&hz[0]};
  mt_tensor hi = {.dtype = MT_DTYPE_FLOAT32, .rank = 0, .data = (void *)&hz[1]};
  mt_value_id vlo, vhi;
  OK(mt_module_add_constant_value(m, b.g, "mel_lo", &lo, &vlo));
  OK(mt_module_add_constant_value(m, b.g, "mel_hi", &hi, &vhi));
  b.g->outputs[b.g->n_outputs++] =
      tb_node(&b, "MelWeightMatrix", 5,
              V(tb_i64(&b, 10), tb_i64(&b, 64), tb_i64(&b, 8000), vlo, vhi), NULL);
}

/* TopK(x, K) with axis/largest attributes; both outputs (values, indices) made graph outputs as
 * asked. */
static void tb_topk(tb *b, mt_value_id x, int64_t k, int64_t axis, int64_t largest, bool values,
                    bool indices) {
  mt_arena *arena = mt_module_arena(b->m);
  mt_attr *a = mt_arena_array(arena, 2, sizeof *a);
  memset(a, 0, 2 * sizeof *a);
  a[0].name = mt_arena_strdup(arena, "axis");
  a[0].type = MT_ATTR_INT;
  a[0].i = axis;
  a[1].name = mt_arena_strdup(arena, "largest");
  a[1].type = MT_ATTR_INT;
  a[1].i = largest;
  mt_value_id out[2];
  char name[64], vname[80];
  snprintf(name, sizeof name, "TopK_%d", b->n++);
  for (int i = 0; i < 2; i++) {
    snprintf(vname, sizeof vname, "%s_%s", name, i ? "indices" : "values");
    OK(mt_module_add_value(b->m, b->g, vname, &out[i]));
  }
  int32_t id;
  OK(mt_module_add_node(b->m, b->g, name, "TopK", "", 2, V(x, tb_ints(b, 1, (int64_t[]){k})), 2,
                        out, 2, a, &id));
  if (values) b->g->outputs[b->g->n_outputs++] = out[0];
  if (indices) b->g->outputs[b->g->n_outputs++] = out[1];
}

/* TopK over a float32 constant with ties, NaNs and -0.0 == 0.0 (largest and smallest, k = 4 and
 * the whole row, the last axis and a middle one), int32 inputs full of ties (values from 61
 * integers) along a middle axis, and float16 along axis 0 with only the indices used. */
static void build_topk(mt_module *m, const char *name) {
  tb b;
  tb_tenant(&b, m, name);
  static float cv[3 * 10];
  for (int i = 0; i < 30; i++) cv[i] = (float)((i * 7) % 5) - 2.0f;
  cv[2] = NAN;
  cv[7] = NAN;
  cv[13] = -0.0f;
  cv[14] = 0.0f;
  cv[25] = NAN;
  mt_tensor ct = {.dtype = MT_DTYPE_FLOAT32, .rank = 2, .dims = {3, 10}, .data = cv};
  mt_value_id c;
  OK(mt_module_add_constant_value(m, b.g, "topk_in", &ct, &c));
  tb_topk(&b, c, 4, -1, 1, true, true);
  tb_topk(&b, c, 10, 1, 0, true, true);
  tb_topk(&b, c, 2, 0, 0, true, true);
  mt_value_id xi = tb_input(&b, "xi", MT_DTYPE_INT32, 3, D(4, 6, 5));
  tb_topk(&b, xi, 3, 1, 1, true, true);
  tb_topk(&b, xi, 5, 2, 0, true, false);
  mt_value_id xh = tb_input(&b, "xh", MT_DTYPE_FLOAT16, 3, D(5, 3, 7));
  tb_topk(&b, xh, 3, 0, 0, false, true);
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

static int bounded_checked;

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
    if (pp->is_output) memset(bufs[i], 0xa5, bytes ? bytes : 1); /* stale data must not pass */
    args[i] = &bufs[i];
  }
  emu_dim3 g = {grid, 1, 1}, blk = {k->block, 1, 1};
  int rc = fn(g, blk, k->dyn_smem, args);
  CHECK(rc == EMU_OK, "%s (grid %u): %s", k->name, grid, emu_last_error());
  for (int i = 0; rc == EMU_OK && i < k->n_params; i++) {
    const mt_cuda_param *pp = &k->params[i];
    if (!pp->is_output) continue;
    const mt_tensor *rt = mt_eval_value(ev, pp->value);
    if (pp->is_count) {
      CHECK(rt && rt->rank == 2 && *(const int64_t *)bufs[i] == rt->dims[1],
            "%s (grid %u): count %lld, reference %lld", k->name, grid,
            (long long)*(const int64_t *)bufs[i], rt ? (long long)rt->dims[1] : -1LL);
      continue;
    }
    if (pp->row_stride > 0) { /* bounded: the first count columns of each row */
      bool same = rt && rt->rank == 2;
      for (int64_t r = 0; same && r < rt->dims[0]; r++)
        same = memcmp((const int64_t *)rt->data + r * rt->dims[1],
                      (const int64_t *)bufs[i] + r * pp->row_stride,
                      (size_t)rt->dims[1] * sizeof(int64_t)) == 0;
      CHECK(same, "%s (grid %u): bounded output differs from the reference", k->name, grid);
      bounded_checked++;
      continue;
    }
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
  build_resize(m, "resize");
  build_shapes(m, "shapes");
  build_topk(m, "topk");
  build_mel(m, "mel");
  mt_pass_ctx ctx = {.module = m, .arch = mt_arch_builtin("sm_90")};
  mt_pipeline_options po;
  mt_pipeline_options_init(&po);
  static const char *const off[] = {"fold-constants"};
  po.disabled = off;
  po.n_disabled = 1;
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
  int ops[8] = {0}; /* Shape, Size, ConstantOfShape, Range, NonZero, Resize, TopK, Mel */
  const char *opn[8] = {"Shape",  "Size", "ConstantOfShape", "Range", "NonZero",
                        "Resize", "TopK", "MelWeightMatrix"};
  for (int i = 0; i < prog->n_kernels; i++)
    for (int j = 0; j < 8; j++) {
      char tag[40];
      snprintf(tag, sizeof tag, " (%s)\n", opn[j]); /* the node comment lines */
      for (const char *c = prog->kernels[i].source; (c = strstr(c, tag)) != NULL; c++) ops[j]++;
    }
  for (int j = 0; j < 8; j++) CHECK(ops[j] > 0, "no kernel covers a %s node", opn[j]);
  CHECK(ops[3] >= 2 && ops[5] >= 49 && ops[6] == 6, "Range kernels %d, Resize nodes %d, TopK %d",
        ops[3], ops[5], ops[6]);
  printf("%d kernels (%d multi-body) covering %d nodes\n", prog->n_kernels, multi, covered);

  emu_module *em = cg_load_program(prog, "more");
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
  CHECK(bounded_checked >= 3, "NonZero's bounded output checked %d times", bounded_checked);
  printf("%s: %d kernels checked against the reference executor\n", failures ? "FAIL" : "OK",
         checked);
  return failures ? 1 : 0;
}
