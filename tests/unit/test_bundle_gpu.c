/* GPU code in the .mtbundle: a two-tenant workload (a float32 tenant with an elementwise kernel,
 * a GEMM library call and a transpose kernel; a float16 MatMul tenant that codegen does not cover)
 * compiled with NVRTC for sm_80 and sm_90 through mtcc_compile and mtcc_compilation_write_bundle.
 * Checks the GPU plan the writer lays out (modules, images, steps, the reason for the uncovered
 * group), that every launch argument and GEMM operand is a buffer the group's CPU nodes use, the
 * accessors the GPU runtime uses to find a cubin, byte-identical rebuilds, a CPU-only build, and
 * that the loader refuses every corruption of the GPU fields below with a one-line status naming
 * it (under ASan/UBSan in the sanitizer build). Needs NVRTC (skips otherwise); NVRTC's cache
 * (MTCC_CACHE_DIR, set by CTest under the build tree) keeps reruns fast. */
#include "test_util.h"

#include <string.h>

#include "../bundle/gpu_args.h"
#include "codegen/cuda.h"
#include "mtcc.h"
#include "mtrt.h"
#include "bundle_test_util.h"
#include "onnx_builder.h"
#include "runtime/bundle/bundle.h"
#include "runtime/gpu/graph_plan.h"

static char *write_models(const char *dir) {
  free(bt_write_tiny_model(dir));
  ob_builder b;
  /* a float16 GEMM: the library-call generator takes float32 only, so this group has no GPU code */
  static const uint16_t ones[6] = {0x3c00, 0x3c00, 0x3c00, 0x3c00, 0x3c00, 0x3c00};
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT16, 2, OB_DIMS(2, 3), OB_PARAMS(NULL, NULL));
  ob_initializer(&b, b.graph,
                 ob_tensor_raw(&b, "wh", MT_DTYPE_FLOAT16, 2, OB_DIMS(3, 2), ones, sizeof ones));
  ob_node(&b, b.graph, "MatMul", "mmh", OB_NAMES("x", "wh"), OB_NAMES("z"));
  ob_output(&b, b.graph, "z", MT_DTYPE_FLOAT16);
  free(bt_save_model(&b, dir, "half.onnx"));
  static const char manifest[] =
      "{\"targets\": [\"sm_80\", \"sm_90\"], \"tenants\": ["
      "{\"name\": \"tiny\", \"model\": \"tiny.onnx\"}, {\"name\": \"half\", \"model\": "
      "\"half.onnx\"}]}";
  char *p = tu_join(dir, "m.json");
  tu_write_file(p, manifest, strlen(manifest));
  return p;
}

typedef bt_fixture fixture; /* compiled from DIR/m.json with GPU code */

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  bt_fixture_compile(f, write_models, "a.mtbundle", true);
  *state = f;
  return 0;
}

static const mt_bundle *open_bundle(const fixture *f, mtrt_bundle **out) {
  assert_ok(bt_st(mtrt_bundle_open_memory(f->image, f->size, NULL, out)));
  return mt_bundle_of(*out);
}

static void test_gpu_plan(void **state) {
  fixture *f = *state;
  mtrt_bundle *rb;
  const Mtbundle__Manifest *m = open_bundle(f, &rb)->manifest;
  assert_string_equal(m->gpu_unavailable, "");
  assert_int_equal(m->n_archs, 2);
  assert_int_equal(m->n_gpu_groups, m->n_groups);
  assert_int_equal(m->n_gpu_modules, 2); /* the elementwise and the transpose kernel */
  assert_int_equal(m->n_code_images, 6); /* per module: sm_80, sm_90 cubins and compute_90 PTX */
  for (size_t i = 0; i < m->n_gpu_modules; i++) {
    const Mtbundle__GpuModule *mod = m->gpu_modules[i];
    assert_int_equal(mod->n_images, 3);
    assert_string_equal(m->code_images[mod->images[0]]->arch, "sm_80");
    assert_string_equal(m->code_images[mod->images[1]]->arch, "sm_90");
    assert_string_equal(m->code_images[mod->images[2]]->arch, "compute_90");
    assert_true(m->code_images[mod->images[2]]->ptx);
    assert_true(mod->registers > 0);
  }
  int launches = 0, libcalls = 0, unavailable = 0;
  for (size_t g = 0; g < m->n_gpu_groups; g++) {
    const Mtbundle__GpuGroup *gg = m->gpu_groups[g];
    if (gg->n_steps == 0) {
      unavailable++;
      assert_non_null(strstr(gg->unavailable, "float16"));
      assert_non_null(strstr(gg->unavailable, "mmh"));
    }
    for (size_t s = 0; s < gg->n_steps; s++) {
      if (gg->steps[s]->step_case == MTBUNDLE__GPU_STEP__STEP_LAUNCH) {
        launches++;
        assert_true(gg->steps[s]->launch->grid >= 1 && gg->steps[s]->launch->block >= 32);
        continue;
      }
      libcalls++;
      const Mtbundle__GpuLibCall *c = gg->steps[s]->libcall;
      assert_int_equal(c->kind, MT_GPU_LT_MATMUL);
      assert_int_equal(c->n_problems, 1);
      const Mtbundle__GemmProblem *q = c->problems[0];
      assert_true(q->m == 2 && q->n == 4 && q->k == 3 && q->batch == 1);
      assert_int_equal(q->b->kind, MTBUNDLE__BUFFER_REF__KIND__CONSTANT);
      assert_true(c->sm_count > 0 && c->workspace_bytes > 0);
    }
  }
  assert_int_equal(launches, 2);
  assert_int_equal(libcalls, 1);
  assert_int_equal(unavailable, 1);
  int checked = 0;
  assert_int_equal(gpu_args_unresolved(m, &checked), 0);
  assert_int_equal(gpu_args_overlaps(m), 0);
  assert_true(checked >= 8);
  mtrt_bundle_close(rb);
}

static void test_code_images(void **state) {
  fixture *f = *state;
  mtrt_bundle *rb;
  const mt_bundle *b = open_bundle(f, &rb);
  const Mtbundle__Manifest *m = b->manifest;
  for (uint32_t i = 0; i < m->n_code_images; i++) {
    const uint8_t *data;
    size_t n;
    assert_ok(mt_bundle_code_image(b, i, &data, &n));
    assert_int_equal((uintptr_t)(data - b->image) % MT_BUNDLE_ALIGN, 0);
    if (m->code_images[i]->ptx)
      assert_non_null(memmem(data, n, ".entry", 6));
    else
      assert_memory_equal(data,
                          "\x7f"
                          "ELF",
                          4);
  }
  const uint8_t *data;
  size_t n;
  assert_status(mt_bundle_code_image(b, 99, &data, &n), MT_OUT_OF_RANGE, "code image 99");
  /* cubin of the exact arch; a binary-compatible one of the same major; PTX for a later GPU */
  static const struct {
    int major, minor;
    const char *arch;
    bool ptx;
  } picks[] = {{9, 0, "sm_90", false}, {8, 0, "sm_80", false},      {8, 6, "sm_80", false},
               {8, 9, "sm_80", false}, {10, 0, "compute_90", true}, {12, 0, "compute_90", true}};
  for (size_t i = 0; i < sizeof picks / sizeof *picks; i++) {
    uint32_t image;
    bool ptx;
    assert_ok(mt_bundle_module_image(b, 0, picks[i].major, picks[i].minor, &image, &ptx));
    assert_string_equal(m->code_images[image]->arch, picks[i].arch);
    assert_int_equal(ptx, picks[i].ptx);
  }
  uint32_t image;
  bool ptx;
  assert_status(mt_bundle_module_image(b, 0, 7, 5, &image, &ptx), MT_NOT_FOUND, "sm_75",
                "sm_80 sm_90 compute_90");
  assert_status(mt_bundle_module_image(b, 5, 9, 0, &image, &ptx), MT_OUT_OF_RANGE, "module 5");
  mtrt_bundle_close(rb);
}

/* The CPU path of a bundle with GPU code is unchanged: it runs both tenants. */
static void test_cpu_session_runs(void **state) {
  fixture *f = *state;
  mtrt_bundle *b;
  open_bundle(f, &b);
  mtrt_session *s = NULL;
  assert_ok(bt_st(mtrt_session_create(b, NULL, &s)));
  float x[6] = {1, 2, -3, 0.5f, -0.5f, 4}, y[8], yt[8];
  uint16_t xh[6] = {0x3c00, 0x4000, 0, 0, 0, 0x3c00}, z[4];
  assert_ok(bt_st(mtrt_session_bind_input(s, 0, "x", x, sizeof x)));
  assert_ok(bt_st(mtrt_session_bind_output(s, 0, "y", y, sizeof y)));
  assert_ok(bt_st(mtrt_session_bind_output(s, 0, "yt", yt, sizeof yt)));
  assert_ok(bt_st(mtrt_session_bind_input(s, 1, "x", xh, sizeof xh)));
  assert_ok(bt_st(mtrt_session_bind_output(s, 1, "z", z, sizeof z)));
  assert_ok(bt_st(mtrt_session_run(s, -1)));
  assert_int_equal(z[0], 0x4200); /* 1 + 2 + 0 = 3.0 in float16 */
  double y00 = 0;
  for (int k = 0; k < 3; k++) {
    double r = x[k] + BT_W1[k];
    y00 += (r > 0 ? r : 0) * BT_W2[k * 4];
  }
  assert_float_equal(y[0], y00, 1e-5);
  mtrt_session_destroy(s);
  mtrt_bundle_close(b);
}

static void test_rebuild_is_byte_identical(void **state) {
  fixture *f = *state;
  size_t size2;
  uint8_t *again = bt_compile_bundle(f->input, f->dir, "b.mtbundle", true, &size2);
  assert_int_equal(size2, f->size);
  assert_memory_equal(again, f->image, f->size);
  free(again);
}

static void test_cpu_only_bundle(void **state) {
  fixture *f = *state;
  size_t size;
  uint8_t *img = bt_compile_bundle(f->input, f->dir, "cpu.mtbundle", false, &size);
  mt_bundle_section secs[MT_SECTION_KIND_COUNT];
  assert_ok(mt_bundle_parse_container(img, size, "cpu", secs));
  assert_int_equal(secs[MT_SECTION_CODE].kind, 0);
  mtrt_bundle *rb;
  assert_ok(bt_st(mtrt_bundle_open_memory(img, size, NULL, &rb)));
  const Mtbundle__Manifest *m = mt_bundle_of(rb)->manifest;
  assert_int_equal(m->n_gpu_groups, 0);
  assert_int_equal(m->n_code_images, 0);
  assert_non_null(strstr(m->gpu_unavailable, "without NVRTC"));
  mtrt_bundle_close(rb);
  free(img);
}

/* ---- corruptions of the GPU fields: decode the manifest into an arena (so mutations may point
 * anywhere), mutate it and/or the code section, re-encode, rebuild the container ---- */

typedef struct corruption {
  Mtbundle__Manifest *m;
  uint8_t *code; /* a private copy of the code section */
  size_t code_size;
  bool drop_code;
} corruption;

static Mtbundle__GpuStep *find_step(Mtbundle__Manifest *m, int kind, size_t *out_group) {
  for (size_t g = 0; g < m->n_gpu_groups; g++)
    for (size_t s = 0; s < m->gpu_groups[g]->n_steps; s++)
      if ((int)m->gpu_groups[g]->steps[s]->step_case == kind) {
        if (out_group) *out_group = g;
        return m->gpu_groups[g]->steps[s];
      }
  fail_msg("no step of kind %d", kind);
  return NULL;
}
static Mtbundle__GpuLaunch *launch0(corruption *c) {
  return find_step(c->m, MTBUNDLE__GPU_STEP__STEP_LAUNCH, NULL)->launch;
}
static Mtbundle__GemmProblem *gemm0(corruption *c) {
  return find_step(c->m, MTBUNDLE__GPU_STEP__STEP_LIBCALL, NULL)->libcall->problems[0];
}
static Mtbundle__GpuGroup *group_with_steps(corruption *c) {
  size_t g;
  find_step(c->m, MTBUNDLE__GPU_STEP__STEP_LAUNCH, &g);
  return c->m->gpu_groups[g];
}
static Mtbundle__GpuGroup *group_without_steps(corruption *c) {
  for (size_t g = 0; g < c->m->n_gpu_groups; g++)
    if (c->m->gpu_groups[g]->n_steps == 0) return c->m->gpu_groups[g];
  fail_msg("no group without GPU code");
  return NULL;
}
static Mtbundle__CodeImage *ptx_image(corruption *c) {
  for (size_t i = 0; i < c->m->n_code_images; i++)
    if (c->m->code_images[i]->ptx) return c->m->code_images[i];
  fail_msg("no PTX image");
  return NULL;
}

static void image_misaligned(corruption *c) { c->m->code_images[0]->offset += 8; }
static void image_past_section(corruption *c) { c->m->code_images[1]->size = (uint64_t)1 << 40; }
static void images_overlap(corruption *c) {
  c->m->code_images[1]->offset = c->m->code_images[0]->offset;
}
static void cubin_foreign_arch(corruption *c) { c->m->code_images[0]->arch = "sm_70"; }
static void arch_malformed(corruption *c) { c->m->code_images[0]->arch = "sm_x0"; }
static void bundle_arch_malformed(corruption *c) { c->m->archs[0] = "gpu"; }
static void bundle_arch_twice(corruption *c) { c->m->archs[1] = c->m->archs[0]; }
static void ptx_with_nul(corruption *c) { c->code[ptx_image(c)->offset + 3] = 0; }
static void code_bytes_lie(corruption *c) { c->m->code_bytes += 64; }
static void code_section_dropped(corruption *c) { c->drop_code = true; }
static void module_image_index(corruption *c) { c->m->gpu_modules[0]->images[0] = 999; }
static void module_cubin_missing(corruption *c) { c->m->gpu_modules[0]->n_images = 1; }
static void module_two_cubins(corruption *c) {
  c->m->gpu_modules[0]->images[1] = c->m->gpu_modules[0]->images[0];
}
static void module_ptx_first(corruption *c) {
  uint32_t *im = c->m->gpu_modules[0]->images, t = im[0];
  im[0] = im[2], im[2] = t;
}
static void module_entry(corruption *c) { c->m->gpu_modules[1]->entry = "h0 kernel;"; }
static void module_registers(corruption *c) { c->m->gpu_modules[0]->registers = 1000; }
static void image_unused(corruption *c) {
  Mtbundle__GpuModule *mod = c->m->gpu_modules[1];
  mod->images[2] = c->m->gpu_modules[0]->images[2]; /* its PTX is now nobody's */
}
static void gpu_group_count(corruption *c) { c->m->n_gpu_groups--; }
static void reason_and_code(corruption *c) { c->m->gpu_unavailable = "no NVRTC"; }
static void steps_and_reason(corruption *c) { group_with_steps(c)->unavailable = "why not"; }
static void neither_steps_nor_reason(corruption *c) { group_without_steps(c)->unavailable = ""; }
static void step_empty(corruption *c) {
  group_with_steps(c)->steps[0]->step_case = MTBUNDLE__GPU_STEP__STEP__NOT_SET;
}
static void launch_module(corruption *c) { launch0(c)->module = 77; }
static void launch_block(corruption *c) { launch0(c)->block = 2048; }
static void launch_grid(corruption *c) { launch0(c)->grid = 0; }
static void launch_smem(corruption *c) { launch0(c)->dyn_smem = 300000; }
static void launch_no_args(corruption *c) { launch0(c)->n_args = 0; }
static Mtbundle__BufferRef *planned_arg(corruption *c) {
  Mtbundle__GpuLaunch *l = launch0(c);
  for (size_t i = 0; i < l->n_args; i++)
    if (l->args[i]->kind == MTBUNDLE__BUFFER_REF__KIND__ARENA ||
        l->args[i]->kind == MTBUNDLE__BUFFER_REF__KIND__SCRATCH)
      return l->args[i];
  fail_msg("no arena or scratch argument");
  return NULL;
}
/* The first launch step becomes an If: a conditional over bodies then/else (n_bodies empty bodies
 * in the manifest), its condition the launch's first planned buffer. */
static Mtbundle__GpuBody empty_bodies[3];
static Mtbundle__GpuBody *empty_body_ptrs[3] = {&empty_bodies[0], &empty_bodies[1],
                                                &empty_bodies[2]};
static Mtbundle__GpuConditional a_conditional;
static Mtbundle__GpuConditional *make_conditional(corruption *c, uint32_t then_body,
                                                  uint32_t else_body, size_t n_bodies) {
  Mtbundle__BufferRef *cond = planned_arg(c);
  Mtbundle__GpuStep *s = find_step(c->m, MTBUNDLE__GPU_STEP__STEP_LAUNCH, NULL);
  mtbundle__gpu_conditional__init(&a_conditional);
  a_conditional.condition = cond;
  a_conditional.set_block = 32;
  a_conditional.then_body = then_body;
  a_conditional.else_body = else_body;
  s->step_case = MTBUNDLE__GPU_STEP__STEP_CONDITIONAL;
  s->conditional = &a_conditional;
  for (int i = 0; i < 3; i++) mtbundle__gpu_body__init(&empty_bodies[i]);
  c->m->gpu_bodies = empty_body_ptrs;
  c->m->n_gpu_bodies = n_bodies;
  return &a_conditional;
}
static void conditional_missing_body(corruption *c) { make_conditional(c, 0, 1, 1); }
static void conditional_body_twice(corruption *c) { make_conditional(c, 0, 0, 2); }
static void conditional_body_unowned(corruption *c) { make_conditional(c, 0, 1, 3); }
static void conditional_no_condition(corruption *c) {
  make_conditional(c, 0, 1, 2)->condition = NULL;
}
static void conditional_set_module(corruption *c) {
  make_conditional(c, 0, 1, 2)->set_module = 999;
}
static void arg_past_arena(corruption *c) { planned_arg(c)->offset = (uint64_t)1 << 50; }
static void arg_none(corruption *c) {
  launch0(c)->args[0]->kind = MTBUNDLE__BUFFER_REF__KIND__NONE;
}
static void arg_unknown_kind(corruption *c) { launch0(c)->args[0]->kind = 17; }
static void arg_other_tenant(corruption *c) {
  Mtbundle__BufferRef *r = launch0(c)->args[0]; /* x of tenant 0, in a group of tenant 0 */
  r->kind = MTBUNDLE__BUFFER_REF__KIND__INPUT;
  r->tenant = 1;
  r->index = 0;
}
static void gemm_zero_m(corruption *c) { gemm0(c)->m = 0; }
static void gemm_short_lda(corruption *c) { gemm0(c)->lda = 1; }
static void gemm_reads_past_a(corruption *c) {
  Mtbundle__GemmProblem *q = gemm0(c);
  q->batch = 2;
  q->stride_c = q->m * q->ldc;
  q->stride_a = 1000;
}
static void gemm_items_overlap(corruption *c) {
  gemm0(c)->batch = 2;
  gemm0(c)->stride_c = 1;
}
static void gemm_writes_constant(corruption *c) { gemm0(c)->d = gemm0(c)->b; }
static void gemm_half(corruption *c) { gemm0(c)->a->type->dtype = MT_DTYPE_FLOAT16; }
static void gemm_epilogue(corruption *c) { gemm0(c)->epilogue = 9; }
static void gemm_bias_missing(corruption *c) { gemm0(c)->epilogue = MT_GPU_EPI_RELU_BIAS; }
static void gemm_bias_unused(corruption *c) { gemm0(c)->bias = gemm0(c)->b; }
static void gemm_beta_without_c(corruption *c) { gemm0(c)->beta = 1.0f; }
static void libcall_kind(corruption *c) {
  find_step(c->m, MTBUNDLE__GPU_STEP__STEP_LIBCALL, NULL)->libcall->kind = 7;
}
static void libcall_sm_count(corruption *c) {
  find_step(c->m, MTBUNDLE__GPU_STEP__STEP_LIBCALL, NULL)->libcall->sm_count = -1;
}

typedef struct gpu_case {
  const char *name;
  void (*apply)(corruption *c);
  const char *needle;
} gpu_case;

static const gpu_case GPU_CASES[] = {
    {"code image misaligned", image_misaligned, "misaligned"},
    {"code image past the code section", image_past_section, "past the code section"},
    {"code images overlap", images_overlap, "overlap"},
    {"cubin for an arch the bundle lacks", cubin_foreign_arch, "not a bundle arch"},
    {"malformed image arch", arch_malformed, "'sm_x0' is not of the form sm_NN"},
    {"malformed bundle arch", bundle_arch_malformed, "arch 0 'gpu'"},
    {"bundle arch listed twice", bundle_arch_twice, "listed twice"},
    {"PTX with a NUL byte", ptx_with_nul, "NUL byte"},
    {"code bytes lie", code_bytes_lie, "code bytes"},
    {"code section missing", code_section_dropped, "code images but no code section"},
    {"module image index out of range", module_image_index, "image index 999"},
    {"module without a cubin per arch", module_cubin_missing, "1 images for 2 archs"},
    {"module with two cubins for one arch", module_two_cubins, "two cubins for sm_80"},
    {"module PTX before its cubins", module_ptx_first, "PTX before the last cubin"},
    {"module entry not an identifier", module_entry, "not a C identifier"},
    {"module registers out of range", module_registers, "1000 registers"},
    {"code image nobody uses", image_unused, "not used by any module"},
    {"GPU groups not parallel to groups", gpu_group_count, "GPU groups for"},
    {"GPU code and a reason there is none", reason_and_code, "a reason there is none"},
    {"group with steps and a reason", steps_and_reason, "steps and a reason"},
    {"group with neither steps nor a reason", neither_steps_nor_reason, "neither steps nor"},
    {"step neither launch nor library call", step_empty, "neither a launch"},
    {"launch module out of range", launch_module, "module index 77"},
    {"launch block over 1024", launch_block, "block 2048"},
    {"launch grid zero", launch_grid, "grid 0"},
    {"launch shared memory over the limit", launch_smem, "bytes of shared memory"},
    {"launch without arguments", launch_no_args, "0 kernel arguments"},
    {"launch argument past the arena", arg_past_arena, "runs past the"},
    {"launch argument without a buffer", arg_none, "argument 0: no buffer"},
    {"launch argument of unknown kind", arg_unknown_kind, "unknown buffer kind"},
    {"launch reads another tenant's input", arg_other_tenant, "has no node in the group"},
    {"GEMM dim zero", gemm_zero_m, "not all positive"},
    {"GEMM leading dim under its row", gemm_short_lda, "leading dims"},
    {"GEMM reads past operand a", gemm_reads_past_a, "operand a spans"},
    {"GEMM batch items overwrite each other", gemm_items_overlap, "overwrite each other"},
    {"GEMM writes into a constant", gemm_writes_constant, "writes into a constant"},
    {"GEMM operand not float32", gemm_half, "GEMM problems are float32"},
    {"GEMM epilogue out of range", gemm_epilogue, "epilogue 9 out of range"},
    {"GEMM bias epilogue without a bias", gemm_bias_missing, "a bias epilogue but no bias"},
    {"GEMM bias the library does not add", gemm_bias_unused, "an epilogue that adds none"},
    {"GEMM beta without c", gemm_beta_without_c, "without a c operand"},
    {"library call kind out of range", libcall_kind, "library call kind 7"},
    {"library call SM count negative", libcall_sm_count, "SM-count target -1"},
    {"conditional naming a missing body", conditional_missing_body,
     "body 1 is not a GPU body before it"},
    {"conditional naming one body twice", conditional_body_twice, "belongs to another conditional"},
    {"GPU body of no conditional", conditional_body_unowned, "GPU body 2 belongs to no"},
    {"conditional without a condition", conditional_no_condition, "no buffer"},
    {"conditional set module out of range", conditional_set_module, "set module 999"},
};

/* The bundle of f with c's manifest and code (the weights unchanged): *out malloc'd. */
static void repack_gpu(const fixture *f, const corruption *c, uint8_t **out, size_t *out_size) {
  bt_repack_code(f->image, f->size, c->m, MT_SECTION_CODE, c->drop_code ? NULL : c->code,
                 c->code_size, out, out_size);
}

/* c: the manifest of f (in arena ar) and a copy of its code section. */
static void corruption_open(const fixture *f, bt_arena *ar, ProtobufCAllocator *pa, corruption *c) {
  mt_bundle_section secs[MT_SECTION_KIND_COUNT];
  assert_ok(mt_bundle_parse_container(f->image, f->size, "test", secs));
  const mt_bundle_section *ms = &secs[MT_SECTION_MANIFEST], *cs = &secs[MT_SECTION_CODE];
  assert_true(cs->kind == MT_SECTION_CODE && cs->size > 0);
  *pa = bt_arena_allocator(ar);
  *c = (corruption){.m = mtbundle__manifest__unpack(pa, (size_t)ms->size, f->image + ms->offset),
                    .code = malloc((size_t)cs->size),
                    .code_size = (size_t)cs->size};
  assert_non_null(c->m);
  memcpy(c->code, f->image + cs->offset, c->code_size);
}

static void corruption_close(bt_arena *ar, corruption *c) {
  free(c->code);
  bt_arena_free(ar);
}

static void test_gpu_corruptions(void **state) {
  fixture *f = *state;
  for (size_t i = 0; i < sizeof GPU_CASES / sizeof *GPU_CASES; i++) {
    bt_arena *ar = calloc(1, sizeof *ar);
    ProtobufCAllocator pa;
    corruption c;
    corruption_open(f, ar, &pa, &c);
    GPU_CASES[i].apply(&c);
    uint8_t *img = NULL;
    size_t size = 0;
    repack_gpu(f, &c, &img, &size);
    bt_expect_refused(img, size, GPU_CASES[i].name, GPU_CASES[i].needle);
    free(img);
    corruption_close(ar, &c);
  }
}

/* A well-formed conditional step (If) loads, and its round graph records the IF node with two
 * bodies (the bundle writer does not emit conditionals yet: codegen has no branch kernels). */
static void test_gpu_conditional_loads(void **state) {
  fixture *f = *state;
  bt_arena *ar = calloc(1, sizeof *ar);
  ProtobufCAllocator pa;
  corruption c;
  corruption_open(f, ar, &pa, &c);
  make_conditional(&c, 0, 1, 2);
  uint8_t *img = NULL;
  size_t size = 0;
  repack_gpu(f, &c, &img, &size);
  mtrt_bundle *b = NULL;
  assert_ok((mt_status *)mtrt_bundle_open_memory(img, size, NULL, &b));
  mtrt_bundle_close(b);
  /* the graph, with the fixture's groups that codegen does not cover as empty groups */
  for (size_t g = 0; g < c.m->n_gpu_groups; g++) c.m->gpu_groups[g]->unavailable = "";
  mt_gpu_graph *g = NULL;
  assert_ok(mt_gpu_graph_build(c.m, -1, &g));
  int conditionals = 0;
  for (size_t v = 0; v < g->n_nodes; v++)
    conditionals += g->nodes[v].kind == MT_GPU_NODE_CONDITIONAL;
  assert_int_equal(conditionals, 1);
  assert_int_equal(g->n_bodies, 2);
  mt_gpu_graph_free(g);
  free(img);
  corruption_close(ar, &c);
}

int main(void) {
  if (!mt_cuda_nvrtc_available()) {
    printf("skipped: GPU code in bundles needs NVRTC: %s\n", mt_cuda_nvrtc_describe());
    return TU_SKIP_RETURN_CODE;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gpu_plan),
      cmocka_unit_test(test_code_images),
      cmocka_unit_test(test_cpu_session_runs),
      cmocka_unit_test(test_rebuild_is_byte_identical),
      cmocka_unit_test(test_cpu_only_bundle),
      cmocka_unit_test(test_gpu_corruptions),
      cmocka_unit_test(test_gpu_conditional_loads),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, setup, bt_fixture_teardown));
}
