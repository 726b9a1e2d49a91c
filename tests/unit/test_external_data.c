/* External tensor data: files resolved relative to the model's folder, offsets and lengths, and
 * refusal of locations that leave the folder (../, absolute paths, symlinks out). */
#include "test_util.h"

#include <sys/stat.h>

#include "frontend/frontend.h"
#include "onnx_builder.h"

typedef struct fixture {
  char *root;      /* temp root */
  char *model_dir; /* root/models: the model's folder */
  char *model;     /* root/models/model.onnx (display path) */
} fixture;

static const float kWeights[4] = {1.0f, -2.5f, 3.0f, 1e-3f};
static const int64_t kIndices[3] = {7, -8, 9};

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->root = tu_mkdtemp();
  f->model_dir = tu_join(f->root, "models");
  f->model = tu_join(f->model_dir, "model.onnx");
  if (mkdir(f->model_dir, 0777) != 0) return -1;
  char *sub = tu_join(f->model_dir, "sub");
  if (mkdir(sub, 0777) != 0) return -1;
  /* weights.bin: 8 junk bytes, then the four floats */
  unsigned char buf[8 + sizeof kWeights];
  memset(buf, 0xAB, 8);
  memcpy(buf + 8, kWeights, sizeof kWeights);
  char *p = tu_join(f->model_dir, "weights.bin");
  tu_write_file(p, buf, sizeof buf);
  free(p);
  p = tu_join(sub, "idx.bin");
  tu_write_file(p, kIndices, sizeof kIndices);
  free(p);
  free(sub);
  /* a file outside the model's folder, which no location may reach */
  p = tu_join(f->root, "outside.bin");
  tu_write_file(p, kWeights, sizeof kWeights);
  free(p);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  tu_rmtree(f->root);
  free(f->root);
  free(f->model_dir);
  free(f->model);
  free(f);
  return 0;
}

/* Imports a one-initializer model whose tensor is external at location. */
static mt_status *import_external(const fixture *f, const char *location, long long offset,
                                  long long length, mt_module *m, int32_t *tid) {
  ob_builder b;
  ob_init(&b, 13);
  ob_initializer(
      &b, b.graph,
      ob_tensor_external(&b, "w", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 2), location, offset, length));
  ob_output(&b, b.graph, "w", MT_DTYPE_FLOAT32);
  mt_status *st = ob_import(&b, m, f->model, "ext", tid);
  ob_free(&b);
  return st;
}

static void test_external_relative_to_model(void **state) {
  fixture *f = *state;
  ob_builder b;
  ob_init(&b, 13);
  ob_initializer(
      &b, b.graph,
      ob_tensor_external(&b, "w", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 2), "weights.bin", 8, 16));
  ob_initializer(
      &b, b.graph,
      ob_tensor_external(&b, "idx", MT_DTYPE_INT64, 1, OB_DIMS(3), "sub/idx.bin", -1, -1));
  /* a location that wanders but stays inside is fine */
  ob_initializer(
      &b, b.graph,
      ob_tensor_external(&b, "w2", MT_DTYPE_FLOAT32, 1, OB_DIMS(4), "sub/../weights.bin", 8, -1));
  ob_output(&b, b.graph, "w", MT_DTYPE_FLOAT32);
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid;
  assert_ok(ob_import(&b, m, f->model, "ext", &tid));
  const mt_value *w = mt_module_value_c(m, ob_find_value(m, tid, "w"));
  const mt_constant *c = mt_module_constant(m, w->constant);
  assert_int_equal(c->nbytes, sizeof kWeights);
  assert_memory_equal(c->data, kWeights, sizeof kWeights);
  c = mt_module_constant(m, mt_module_value_c(m, ob_find_value(m, tid, "idx"))->constant);
  assert_memory_equal(c->data, kIndices, sizeof kIndices);
  /* same bytes as w, different shape: a separate constant */
  const mt_value *w2 = mt_module_value_c(m, ob_find_value(m, tid, "w2"));
  assert_int_not_equal(w2->constant, w->constant);
  assert_memory_equal(mt_module_constant(m, w2->constant)->data, kWeights, sizeof kWeights);
  assert_int_equal(mt_module_tenant_c(m, tid)->parameter_count, 4 + 3 + 4);
  mt_module_destroy(m);

  /* the same model from a file: external data is found beside it */
  size_t len;
  void *bytes = ob_pack(&b, &len);
  tu_write_file(f->model, bytes, len);
  assert_ok(mt_module_create(NULL, &m));
  assert_ok(mt_onnx_import_file(m, f->model, "from_file", &tid));
  c = mt_module_constant(m, mt_module_value_c(m, ob_find_value(m, tid, "w"))->constant);
  assert_memory_equal(c->data, kWeights, sizeof kWeights);
  mt_module_destroy(m);
  unlink(f->model);
  ob_free(&b);
}

/* A bare file name as display path: the model's folder is the working directory. */
static void test_external_relative_display_path(void **state) {
  fixture *f = *state;
  char cwd[4096];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(f->model_dir), 0);
  ob_builder b;
  ob_init(&b, 13);
  ob_initializer(
      &b, b.graph,
      ob_tensor_external(&b, "w", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 2), "weights.bin", 8, 16));
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid;
  mt_status *st = ob_import(&b, m, "model.onnx", "rel", &tid);
  assert_int_equal(chdir(cwd), 0);
  assert_ok(st);
  mt_module_destroy(m);
  ob_free(&b);
}

static void test_external_leaving_folder_refused(void **state) {
  fixture *f = *state;
  mt_module *m;
  int32_t tid;
  assert_ok(mt_module_create(NULL, &m));
  assert_status(import_external(f, "../outside.bin", -1, -1, m, &tid), MT_INVALID_ARGUMENT,
                f->model, "'w'", "../outside.bin", "leaves");
  mt_module_destroy(m);
  assert_ok(mt_module_create(NULL, &m));
  assert_status(import_external(f, "sub/../../outside.bin", -1, -1, m, &tid), MT_INVALID_ARGUMENT,
                "leaves");
  mt_module_destroy(m);

  /* absolute, even when it points inside the folder */
  char *abs = tu_join(f->model_dir, "weights.bin");
  assert_ok(mt_module_create(NULL, &m));
  assert_status(import_external(f, abs, 8, 16, m, &tid), MT_INVALID_ARGUMENT, f->model, "'w'",
                "absolute");
  mt_module_destroy(m);
  free(abs);

  /* a symlink inside the folder that points out of it */
  char *link = tu_join(f->model_dir, "link.bin");
  char *target = tu_join(f->root, "outside.bin");
  assert_int_equal(symlink(target, link), 0);
  assert_ok(mt_module_create(NULL, &m));
  assert_status(import_external(f, "link.bin", -1, -1, m, &tid), MT_INVALID_ARGUMENT, "leaves");
  mt_module_destroy(m);
  unlink(link);
  free(link);
  free(target);
}

static void test_external_bad_files(void **state) {
  fixture *f = *state;
  mt_module *m;
  int32_t tid;
  assert_ok(mt_module_create(NULL, &m));
  assert_status(import_external(f, "nope.bin", -1, -1, m, &tid), MT_NOT_FOUND, f->model, "'w'",
                "nope.bin");
  mt_module_destroy(m);
  /* weights.bin holds 24 bytes: offset 16 leaves only 8 */
  assert_ok(mt_module_create(NULL, &m));
  assert_status(import_external(f, "weights.bin", 16, -1, m, &tid), MT_DATA_LOSS, "'w'",
                "weights.bin");
  mt_module_destroy(m);
  /* a length that does not match the shape */
  assert_ok(mt_module_create(NULL, &m));
  assert_status(import_external(f, "weights.bin", 8, 12, m, &tid), MT_DATA_LOSS, "'w'", "length");
  mt_module_destroy(m);
  assert_ok(mt_module_create(NULL, &m));
  assert_status(import_external(f, "weights.bin", -5, -1, m, &tid), MT_DATA_LOSS, "'w'", "offset");
  mt_module_destroy(m);
  /* no location at all */
  assert_ok(mt_module_create(NULL, &m));
  assert_status(import_external(f, "", -1, -1, m, &tid), MT_DATA_LOSS, "'w'", "location");
  mt_module_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_external_relative_to_model),
      cmocka_unit_test(test_external_relative_display_path),
      cmocka_unit_test(test_external_leaving_folder_refused),
      cmocka_unit_test(test_external_bad_files),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}
