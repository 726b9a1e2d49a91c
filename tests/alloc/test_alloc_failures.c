/* Fails each allocation of a small compile in turn and checks that every failure surfaces as a
 * clean RESOURCE_EXHAUSTED status, with nothing leaked and nothing swallowed.
 *
 * Two hooks see the allocations: the mt_allocator handed to mt_module_create (the documented
 * hook; it also counts live blocks, so a leak through it fails here), and the linker's --wrap of
 * malloc/calloc/realloc/strdup for this executable (tests/CMakeLists.txt), which reaches the
 * allocations library code makes without an allocator. A compile that succeeds although an
 * allocation failed means an error was dropped somewhere (a report line lost, a fallback taken
 * silently): that fails the test too. Leaks outside the hook are LeakSanitizer's job in the
 * ASan build. */
#include "../unit/test_util.h"

#include <execinfo.h>

#include "../unit/onnx_builder.h"
#include "ir/ir.h"
#include "passes/pass_manager.h"

/* --- failure injection --- */

static long alloc_count; /* allocations seen since arming */
static long fail_at;     /* 0: never fail; else fail the fail_at-th allocation */
static bool failed_one;  /* an allocation was refused since arming */

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *ptr, size_t size);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t count, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
char *__wrap_strdup(const char *s);

/* MT_ALLOC_TRACE=1 prints where each refused allocation came from (build with symbols). */
static bool refuse(void) {
  if (!fail_at) return false;
  if (++alloc_count != fail_at) return false;
  failed_one = true;
  if (getenv("MT_ALLOC_TRACE")) {
    void *frames[16];
    backtrace_symbols_fd(frames, backtrace(frames, 16), 2);
  }
  return true;
}

void *__wrap_malloc(size_t size) { return refuse() ? NULL : __real_malloc(size); }
void *__wrap_calloc(size_t count, size_t size) {
  return refuse() ? NULL : __real_calloc(count, size);
}
void *__wrap_realloc(void *ptr, size_t size) { return refuse() ? NULL : __real_realloc(ptr, size); }
char *__wrap_strdup(const char *s) { return refuse() ? NULL : __real_strdup(s); }

/* The allocator hook: counts live blocks (a block resized stays one block). */
typedef struct counting_allocator {
  long live;
} counting_allocator;

static void *counting_resize(void *self, void *ptr, size_t size) {
  void *p = realloc(ptr, size); /* wrapped: may be refused */
  if (p && !ptr) ((counting_allocator *)self)->live++;
  return p;
}

static void counting_release(void *self, void *ptr) {
  ((counting_allocator *)self)->live--;
  free(ptr);
}

/* --- the small compile --- */

/* x[1,4,8,8] -> Conv 3x3 (+bias) -> Relu -> GlobalAveragePool -> Flatten -> Gemm -> Softmax */
static void *small_model(ob_builder *b, size_t *len) {
  ob_init(b, 13);
  ob_input(b, b->graph, "x", MT_DTYPE_FLOAT32, 4, OB_DIMS(1, 4, 8, 8), NULL);
  float w[8 * 4 * 3 * 3], bias[8], w2[8 * 10];
  for (size_t i = 0; i < sizeof w / sizeof *w; i++) w[i] = (float)((int)(i % 7) - 3) * 0.05f;
  for (size_t i = 0; i < 8; i++) bias[i] = 0.1f * (float)i;
  for (size_t i = 0; i < sizeof w2 / sizeof *w2; i++) w2[i] = (float)((int)(i % 5) - 2) * 0.1f;
  ob_initializer(b, b->graph,
                 ob_tensor_floats(b, "w", 4, OB_DIMS(8, 4, 3, 3), w, sizeof w / sizeof *w));
  ob_initializer(b, b->graph, ob_tensor_floats(b, "b", 1, OB_DIMS(8), bias, 8));
  ob_initializer(b, b->graph,
                 ob_tensor_floats(b, "w2", 2, OB_DIMS(8, 10), w2, sizeof w2 / sizeof *w2));
  Onnx__NodeProto *conv =
      ob_node(b, b->graph, "Conv", "conv", OB_NAMES("x", "w", "b"), OB_NAMES("c"));
  ob_attr_ints(b, conv, "pads", 4, OB_DIMS(1, 1, 1, 1));
  ob_node(b, b->graph, "Relu", "relu", OB_NAMES("c"), OB_NAMES("r"));
  ob_node(b, b->graph, "GlobalAveragePool", "gap", OB_NAMES("r"), OB_NAMES("p"));
  ob_node(b, b->graph, "Flatten", "flatten", OB_NAMES("p"), OB_NAMES("f"));
  ob_node(b, b->graph, "Gemm", "fc", OB_NAMES("f", "w2"), OB_NAMES("g"));
  ob_node(b, b->graph, "Softmax", "softmax", OB_NAMES("g"), OB_NAMES("y"));
  ob_output(b, b->graph, "y", MT_DTYPE_FLOAT32);
  return ob_pack(b, len);
}

/* Two tenants of the same model (dedup, horizontal fusion), the whole pipeline. */
static mt_status *small_compile(const mt_allocator *allocator, const void *bytes, size_t len) {
  mt_module *m = NULL;
  mt_pass_ctx ctx = {0};
  mt_status *st = mt_module_create(allocator, &m);
  int32_t t;
  if (!st) st = mt_onnx_import_bytes(m, bytes, len, "/virtual/a/model.onnx", "a", &t);
  if (!st) st = mt_onnx_import_bytes(m, bytes, len, "/virtual/b/model.onnx", "b", &t);
  if (!st) st = mt_check_supported(m);
  if (!st) {
    ctx.module = m;
    ctx.arch = mt_arch_builtin("sm_90");
    mt_pipeline_options opts;
    mt_pipeline_options_init(&opts);
    FILE *sink = fopen("/dev/null", "w");
    opts.dump_to = sink;
    st = mt_pipeline_run(&ctx, &opts);
    if (sink) fclose(sink);
  }
  mt_plan_destroy(ctx.plan);
  mt_module_destroy(m);
  return st;
}

static void test_each_allocation_fails_cleanly(void **state) {
  (void)state;
  ob_builder b;
  size_t len;
  void *bytes = small_model(&b, &len);
  counting_allocator counter = {0};
  const mt_allocator allocator = {
      .self = &counter, .resize = counting_resize, .release = counting_release};

  /* the compile must work at all first */
  assert_ok(small_compile(&allocator, bytes, len));
  assert_int_equal(counter.live, 0);

  long attempts = 0;
  for (long n = 1;; n++) {
    alloc_count = 0;
    failed_one = false;
    fail_at = n;
    mt_status *st = small_compile(&allocator, bytes, len);
    fail_at = 0;
    attempts++;
    if (counter.live != 0)
      fail_msg("allocation %ld refused: %ld block(s) leaked through the allocator", n,
               counter.live);
    if (!st) {
      if (failed_one) fail_msg("allocation %ld refused, yet the compile reported success", n);
      break; /* n is past the last allocation: every one has been refused once */
    }
    if (mt_status_code_of(st) != MT_RESOURCE_EXHAUSTED)
      fail_msg("allocation %ld refused: %s: %s", n, mt_status_code_name(mt_status_code_of(st)),
               mt_status_message(st));
    mt_status_free(st);
  }
  print_message("refused each of %ld allocations in turn\n", attempts - 1);
  assert_true(attempts > 50);
  ob_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_allocation_fails_cleanly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
