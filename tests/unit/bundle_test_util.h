/* Helpers shared by the bundle tests (test_bundle_loader.c, test_bundle_calls.c): compile an
 * ONNX file into an .mtbundle through the public compiler API, rebuild a bundle around a mutated
 * manifest (same weights, checksums valid, so the mutation reaches the checks behind them), and
 * expect the loader to refuse a bundle with a one-line status naming the problem. Include after
 * test_util.h. */
#ifndef MT_TESTS_BUNDLE_TEST_UTIL_H
#define MT_TESTS_BUNDLE_TEST_UTIL_H

#include "mtcc.h"
#include "mtrt.h"
#include "runtime/bundle/bundle.h"

/* mtcc compile MODEL -o DIR/NAME; returns the bundle's bytes (malloc'd, *out_size). */
static inline uint8_t *tb_compile(const char *model, const char *dir, const char *name,
                                  size_t *out_size) {
  const char *inputs[] = {model};
  mtcc_compile_options o;
  mtcc_compile_options_init(&o);
  o.inputs = inputs;
  o.n_inputs = 1;
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

/* The first node of a kernel kind, or NULL. */
static inline Mtbundle__Node *tb_find_node(Mtbundle__Manifest *m, mt_kernel_kind kind) {
  for (size_t i = 0; i < m->n_nodes; i++)
    if (m->nodes[i]->kernel_kind == (uint32_t)kind) return m->nodes[i];
  return NULL;
}

/* A bundle of manifest m and the weights of image (a valid bundle of size bytes): *out, malloc'd. */
static inline void tb_repack(const uint8_t *image, size_t size, const Mtbundle__Manifest *m,
                             uint8_t **out, size_t *out_size) {
  mt_bundle_section secs[MT_SECTION_KIND_COUNT];
  assert_ok(mt_bundle_parse_container(image, size, "test", secs));
  size_t n = mtbundle__manifest__get_packed_size(m);
  uint8_t *packed = malloc(n + 1);
  mtbundle__manifest__pack(m, packed);
  mt_bundle_section out_secs[2] = {
      {.kind = MT_SECTION_MANIFEST, .size = n},
      {.kind = MT_SECTION_WEIGHTS, .size = secs[MT_SECTION_WEIGHTS].size}};
  const void *data[2] = {packed, image + secs[MT_SECTION_WEIGHTS].offset};
  assert_ok(mt_bundle_build_image(out_secs, data, 2, out, out_size));
  free(packed);
}

/* The loader must refuse img (size bytes) with a one-line status containing needle. */
static inline void tb_expect_refused(const uint8_t *img, size_t size, const char *name,
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

#endif
