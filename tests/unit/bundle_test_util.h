/* Shared by the bundle unit tests (test_bundle_loader.c, test_bundle_gpu.c, test_bundle_calls.c,
 * test_bundle_if.c, test_bundle_cpu.c, test_bundle_threads.c): the tiny model, compile a workload
 * into a bundle file and read its bytes back, a fixture of one such bundle in a temporary folder,
 * rebuild a bundle around a mutated manifest (same weights, checksums valid, so the mutation
 * reaches the checks behind them), and expect a bundle image to be refused with a one-line status
 * naming what is wrong, one corruption or a table of them. Header-only, after test_util.h; define BT_RUNTIME_ONLY first where only libmtrt is built
 * (no ONNX builder). */
#ifndef MT_TESTS_BUNDLE_TEST_UTIL_H
#define MT_TESTS_BUNDLE_TEST_UTIL_H

#include "mtcc.h"
#include "mtrt.h"
#ifndef BT_RUNTIME_ONLY /* the ThreadSanitizer build has libmtrt only: no ONNX builder */
#include "onnx_builder.h"
#endif
#include "runtime/bundle/bundle.h"

#ifndef BT_RUNTIME_ONLY
/* Writes the model b builds to DIR/name, frees b and returns the path (the caller frees it). */
static inline char *bt_save_model(ob_builder *b, const char *dir, const char *name) {
  size_t len;
  void *bytes = ob_pack(b, &len);
  char *p = tu_join(dir, name);
  tu_write_file(p, bytes, len);
  ob_free(b);
  return p;
}

static const float BT_W1[6] = {0.5f, -1.0f, 2.0f, -0.25f, 1.5f, -3.0f};
static const float BT_W2[12] = {1, 2, 3, 4, -1, 0.5f, 0.25f, 2, 0, 1, -2, 0.75f};

/* DIR/tiny.onnx: y = MatMul(Relu(x + W1), W2) with x[2,3], W1[2,3], W2[3,4], plus yt, y
 * transposed (an elementwise group, a GEMM and a data-movement group); returns its path. */
static inline char *bt_write_tiny_model(const char *dir) {
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 3), OB_PARAMS(NULL, NULL));
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "w1", 2, OB_DIMS(2, 3), BT_W1, 6));
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "w2", 2, OB_DIMS(3, 4), BT_W2, 12));
  ob_node(&b, b.graph, "Add", "add", OB_NAMES("x", "w1"), OB_NAMES("s"));
  ob_node(&b, b.graph, "Relu", "relu", OB_NAMES("s"), OB_NAMES("r"));
  ob_node(&b, b.graph, "MatMul", "matmul", OB_NAMES("r", "w2"), OB_NAMES("y"));
  ob_node(&b, b.graph, "Transpose", "transpose", OB_NAMES("y"), OB_NAMES("yt"));
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  ob_output(&b, b.graph, "yt", MT_DTYPE_FLOAT32);
  return bt_save_model(&b, dir, "tiny.onnx");
}
#endif

/* Compiles `input` (a model or manifest; nvrtc: with GPU code) into DIR/NAME and returns the
 * file's bytes (the caller frees them). */
static inline uint8_t *bt_compile_bundle(const char *input, const char *dir, const char *name,
                                         bool nvrtc, size_t *out_size) {
  const char *inputs[] = {input};
  mtcc_compile_options o;
  mtcc_compile_options_init(&o);
  o.inputs = inputs;
  o.n_inputs = 1;
  o.nvrtc = nvrtc;
  mtcc_compilation *c = NULL;
  mtcc_status *st = mtcc_compile(&o, &c);
  if (st) fprintf(stderr, "%s\n", mtcc_status_message(st));
  assert_null(st);
  char *path = tu_join(dir, name);
  st = mtcc_compilation_write_bundle(c, path);
  if (st) fprintf(stderr, "%s\n", mtcc_status_message(st));
  assert_null(st);
  mtcc_compilation_destroy(c);
  uint8_t *bytes = (uint8_t *)tu_read_file(path, out_size);
  free(path);
  return bytes;
}

/* The fixture of a bundle test: a temporary folder, the model or manifest written there and the
 * bytes of the bundle compiled from it there. */
typedef struct bt_fixture {
  char *dir;
  char *input; /* the model or manifest the bundle was compiled from (to compile it again) */
  uint8_t *image;
  size_t size;
} bt_fixture;

#ifndef BT_RUNTIME_ONLY
/* Fills f: a fresh temporary folder, the model or manifest write_input writes there (it returns
 * the path) compiled (nvrtc: with GPU code) into DIR/name. */
static inline void bt_fixture_compile(bt_fixture *f, char *(*write_input)(const char *dir),
                                      const char *name, bool nvrtc) {
  f->dir = tu_mkdtemp();
  f->input = write_input(f->dir);
  f->image = bt_compile_bundle(f->input, f->dir, name, nvrtc, &f->size);
}

/* bt_fixture_compile without GPU code. */
static inline void bt_fixture_init(bt_fixture *f, char *(*write_model)(const char *dir),
                                   const char *name) {
  bt_fixture_compile(f, write_model, name, false);
}

/* A malloc'd fixture filled by bt_fixture_init: a group setup's *state. */
static inline bt_fixture *bt_fixture_new(char *(*write_model)(const char *dir), const char *name) {
  bt_fixture *f = calloc(1, sizeof *f);
  bt_fixture_init(f, write_model, name);
  return f;
}
#endif

/* Removes the folder and frees what bt_fixture_init allocated (not f itself). */
static inline void bt_fixture_free(bt_fixture *f) {
  tu_rmtree(f->dir);
  free(f->dir);
  free(f->input);
  free(f->image);
}

/* The group teardown of a bt_fixture_new fixture. */
static inline int bt_fixture_teardown(void **state) {
  bt_fixture_free(*state);
  free(*state);
  return 0;
}

/* mtrt statuses are mt_status underneath: lets assert_ok / assert_status check them. */
static inline mt_status *bt_st(mtrt_status *st) { return (mt_status *)st; }

/* The first node of a kernel kind, or NULL. */
static inline Mtbundle__Node *bt_find_node(Mtbundle__Manifest *m, mt_kernel_kind kind) {
  for (size_t i = 0; i < m->n_nodes; i++)
    if (m->nodes[i]->kernel_kind == (uint32_t)kind) return m->nodes[i];
  return NULL;
}

/* A bundle of manifest m, the weights of image (a valid bundle of size bytes) and, when code is
 * not NULL, a code section of kind code_kind (MT_SECTION_CODE, MT_SECTION_CPU_CODE) holding
 * code_size bytes of code: *out, malloc'd. */
static inline void bt_repack_code(const uint8_t *image, size_t size, const Mtbundle__Manifest *m,
                                  mt_bundle_section_kind code_kind, const void *code,
                                  size_t code_size, uint8_t **out, size_t *out_size) {
  mt_bundle_section secs[MT_SECTION_KIND_COUNT];
  assert_ok(mt_bundle_parse_container(image, size, "test", secs));
  size_t n = mtbundle__manifest__get_packed_size(m);
  uint8_t *packed = malloc(n + 1);
  mtbundle__manifest__pack(m, packed);
  mt_bundle_section out_secs[3] = {
      {.kind = MT_SECTION_MANIFEST, .size = n},
      {.kind = MT_SECTION_WEIGHTS, .size = secs[MT_SECTION_WEIGHTS].size},
      {.kind = code_kind, .size = code_size}};
  const void *data[3] = {packed, image + secs[MT_SECTION_WEIGHTS].offset, code};
  assert_ok(mt_bundle_build_image(out_secs, data, code ? 3 : 2, out, out_size));
  free(packed);
}

/* A bundle of manifest m and the weights of image (a valid bundle of size bytes): *out, malloc'd. */
static inline void bt_repack(const uint8_t *image, size_t size, const Mtbundle__Manifest *m,
                             uint8_t **out, size_t *out_size) {
  bt_repack_code(image, size, m, MT_SECTION_CODE, NULL, 0, out, out_size);
}

/* The manifest of a valid bundle image, decoded with allocator pa (NULL: protobuf-c's). */
static inline Mtbundle__Manifest *bt_unpack_manifest(const uint8_t *image, size_t size,
                                                     ProtobufCAllocator *pa) {
  mt_bundle_section secs[MT_SECTION_KIND_COUNT];
  assert_ok(mt_bundle_parse_container(image, size, "test", secs));
  const mt_bundle_section *ms = &secs[MT_SECTION_MANIFEST];
  Mtbundle__Manifest *m = mtbundle__manifest__unpack(pa, (size_t)ms->size, image + ms->offset);
  assert_non_null(m);
  return m;
}

/* A corruption of a decoded manifest: apply edits m (false when it found nothing to corrupt) and
 * the loader must then refuse the bundle with a message containing needle. */
typedef struct bt_manifest_case {
  const char *name;
  bool (*apply)(Mtbundle__Manifest *m);
  const char *needle;
} bt_manifest_case;

/* A protobuf-c allocator whose blocks are all freed at once (bt_arena_free): a manifest decoded
 * into it may have fields pointed anywhere (static strings, other messages) before it is
 * re-encoded, which free_unpacked would not allow. */
typedef struct bt_arena {
  void *blocks[1 << 14];
  size_t n;
} bt_arena;
static inline void *bt_arena_alloc(void *data, size_t size) {
  bt_arena *a = (bt_arena *)data;
  void *p = calloc(1, size ? size : 1);
  if (a->n < sizeof a->blocks / sizeof *a->blocks)
    a->blocks[a->n++] = p;
  else
    fail_msg("arena full");
  return p;
}
static inline void bt_arena_keep(void *data, void *p) { (void)data, (void)p; }
static inline ProtobufCAllocator bt_arena_allocator(bt_arena *a) {
  ProtobufCAllocator pa = {bt_arena_alloc, bt_arena_keep, a};
  return pa;
}
static inline void bt_arena_free(bt_arena *a) {
  for (size_t k = 0; k < a->n; k++) free(a->blocks[k]);
  free(a);
}

/* The image (size bytes; pass an exact-size copy so ASan sees any read past it) must be refused
 * by mtrt_bundle_open_memory with a one-line message containing needle. */
static inline void bt_expect_refused(const uint8_t *img, size_t size, const char *name,
                                     const char *needle) {
  mtrt_bundle *b = NULL;
  mtrt_status *st = mtrt_bundle_open_memory(img, size, NULL, &b);
  if (!st) {
    mtrt_bundle_close(b);
    print_error("corruption '%s' was accepted\n", name);
    fail();
  }
  assert_null(b);
  const char *msg = mtrt_status_message(st);
  if (!strstr(msg, needle) || strchr(msg, '\n')) {
    print_error("corruption '%s': message lacks \"%s\": %s\n", name, needle, msg);
    mtrt_status_free(st);
    fail();
  }
  mtrt_status_free(st);
}

/* Manifest m (a corruption named name) repacked with the weights of image (a valid bundle of size
 * bytes) must be refused with a message containing needle (bt_expect_refused). */
static inline void bt_expect_manifest_refused(const uint8_t *image, size_t size,
                                              const Mtbundle__Manifest *m, const char *name,
                                              const char *needle) {
  uint8_t *img = NULL;
  size_t img_size = 0;
  bt_repack(image, size, m, &img, &img_size);
  bt_expect_refused(img, img_size, name, needle);
  free(img);
}

/* Every case of a table: the manifest of image (a valid bundle of size bytes) decoded into a
 * fresh arena (so a case may point fields anywhere and nothing needs restoring), edited by the
 * case (which must find something to corrupt), repacked with the same weights and refused with a
 * message containing the case's needle. */
static inline void bt_expect_manifest_cases(const uint8_t *image, size_t size,
                                            const bt_manifest_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    bt_arena *ar = calloc(1, sizeof *ar);
    ProtobufCAllocator pa = bt_arena_allocator(ar);
    Mtbundle__Manifest *m = bt_unpack_manifest(image, size, &pa);
    if (!cases[i].apply(m)) {
      print_error("corruption '%s' found nothing to corrupt\n", cases[i].name);
      bt_arena_free(ar);
      fail();
    }
    bt_expect_manifest_refused(image, size, m, cases[i].name, cases[i].needle);
    bt_arena_free(ar);
  }
}

#endif
