/* Regular-file checks, the memory budget's parsing and formatting, budget checks on import, and
 * external weights kept mapped (runtime/base/file.h, runtime/base/memory_limit.h). */
#include "test_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "onnx_builder.h"
#include "runtime/base/file.h"
#include "runtime/base/memory_limit.h"

static void test_parse_sizes(void **state) {
  (void)state;
  size_t v = 0;
  assert_true(mt_memory_limit_parse("17", &v));
  assert_int_equal(v, 17);
  assert_true(mt_memory_limit_parse("512M", &v));
  assert_int_equal(v, (size_t)512 * 1024 * 1024);
  assert_true(mt_memory_limit_parse("4G", &v));
  assert_int_equal(v, (size_t)4 * 1024 * 1024 * 1024);
  assert_true(mt_memory_limit_parse("2k", &v));
  assert_int_equal(v, 2048);
  assert_true(mt_memory_limit_parse("3KiB", &v));
  assert_int_equal(v, 3072);
  assert_true(mt_memory_limit_parse("1GB", &v));
  assert_int_equal(v, (size_t)1 << 30);
  assert_true(mt_memory_limit_parse("1T", &v));
  assert_int_equal(v, (size_t)1 << 40);
  static const char *const bad[] = {
      "", "0", "-1", "1.5G", "12Q", "5MX", " 5M", "M", "5 M", "99999999999999999999", "16777216T"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    v = 12345;
    if (mt_memory_limit_parse(bad[i], &v)) fail_msg("'%s' parsed as %zu", bad[i], v);
  }
  assert_false(mt_memory_limit_parse(NULL, &v));
}

static void test_format_bytes(void **state) {
  (void)state;
  char buf[32];
  assert_string_equal(mt_format_bytes(17, buf, sizeof buf), "17 bytes");
  assert_string_equal(mt_format_bytes(1024, buf, sizeof buf), "1.0 KB");
  assert_string_equal(mt_format_bytes(1.5 * 1024 * 1024, buf, sizeof buf), "1.5 MB");
  assert_string_equal(mt_format_bytes(8e12, buf, sizeof buf), "7.3 TB");
  assert_true(mt_memory_limit_default() > 0);
}

static void test_non_regular_files(void **state) {
  (void)state;
  char *root = tu_mkdtemp();
  char *dir = tu_join(root, "d.onnx"), *fifo = tu_join(root, "p.onnx");
  char *missing = tu_join(root, "none.onnx"), *reg = tu_join(root, "r.bin");
  assert_int_equal(mkdir(dir, 0777), 0);
  assert_int_equal(mkfifo(fifo, 0666), 0);
  tu_write_file(reg, "0123456789", 10);
  int fd;
  size_t size;
  assert_status(mt_file_open_regular(dir, "model", &fd, &size), MT_INVALID_ARGUMENT, dir, "model",
                "directory");
  /* without O_NONBLOCK this open would wait for a writer forever */
  assert_status(mt_file_open_regular(fifo, "model", &fd, &size), MT_INVALID_ARGUMENT, fifo, "FIFO");
  assert_status(mt_file_open_regular("/dev/null", "tensor file", &fd, &size), MT_INVALID_ARGUMENT,
                "/dev/null", "character device");
  assert_status(mt_file_open_regular(missing, "model", &fd, &size), MT_NOT_FOUND, missing);
  assert_ok(mt_file_open_regular(reg, "data", &fd, &size));
  assert_int_equal(size, 10);
  /* the descriptor is back in blocking mode for ordinary reads */
  assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  close(fd);
  /* the whole-file read and the mapping go through the same check */
  char *bytes;
  size_t len;
  assert_status(mt_file_read_all(fifo, "manifest", 0, &bytes, &len), MT_INVALID_ARGUMENT, "FIFO");
  mt_file_mapping map;
  assert_status(mt_file_map(dir, "external data", 0, 1, &map), MT_INVALID_ARGUMENT, "directory");
  /* read_all: limit before allocating, NUL-terminated */
  assert_status(mt_file_read_all(reg, "model", 9, &bytes, &len), MT_RESOURCE_EXHAUSTED, reg,
                "memory limit");
  assert_ok(mt_file_read_all(reg, "model", 10, &bytes, &len));
  assert_int_equal(len, 10);
  assert_string_equal(bytes, "0123456789");
  free(bytes);
  /* map: a range inside the file, and one past its end */
  assert_ok(mt_file_map(reg, "data", 3, 4, &map));
  assert_memory_equal(map.data, "3456", 4);
  mt_file_unmap(&map);
  assert_status(mt_file_map(reg, "data", 8, 4, &map), MT_DATA_LOSS, reg, "shorter");
  tu_rmtree(root);
  free(root);
  free(dir);
  free(fifo);
  free(missing);
  free(reg);
}

/* Initializers are refused over the budget, one at a time and together, naming the tensor. */
static void test_initializers_over_budget(void **state) {
  (void)state;
  float v[32] = {0};
  for (int i = 0; i < 32; i++) v[i] = (float)i;
  ob_builder b;
  ob_init(&b, 13);
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "big_w", 1, OB_DIMS(32), v, 32));
  ob_output(&b, b.graph, "big_w", MT_DTYPE_FLOAT32);
  mt_module *m;
  int32_t tid;
  assert_ok(mt_module_create(NULL, &m));
  mt_module_set_memory_limit(m, 100); /* 128 bytes do not fit */
  assert_int_equal(mt_module_memory_limit(m), 100);
  assert_status(ob_import(&b, m, "m.onnx", "t", &tid), MT_RESOURCE_EXHAUSTED, "m.onnx",
                "tenant 't'", "'big_w'", "128 bytes", "memory limit of 100 bytes");
  mt_module_destroy(m);
  assert_ok(mt_module_create(NULL, &m));
  mt_module_set_memory_limit(m, 128); /* fits exactly */
  assert_ok(ob_import(&b, m, "m.onnx", "t", &tid));
  mt_module_destroy(m);
  ob_free(&b);

  /* two different 80-byte initializers: each fits 128, together they do not */
  ob_init(&b, 13);
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "a", 1, OB_DIMS(20), v, 20));
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "b", 1, OB_DIMS(20), v + 12, 20));
  ob_output(&b, b.graph, "a", MT_DTYPE_FLOAT32);
  assert_ok(mt_module_create(NULL, &m));
  mt_module_set_memory_limit(m, 128);
  assert_status(ob_import(&b, m, "m.onnx", "t", &tid), MT_RESOURCE_EXHAUSTED, "'b'", "constants",
                "memory limit");
  mt_module_destroy(m);
  ob_free(&b);
}

/* An aligned external weight stays in its file mapping (no heap copy); a misaligned one is
 * copied; identical bytes are stored once either way. */
static void test_external_weights_mapped(void **state) {
  (void)state;
  char *root = tu_mkdtemp();
  char *model = tu_join(root, "model.onnx"), *bin = tu_join(root, "w.bin");
  float w[64 + 16];
  for (int i = 0; i < 80; i++) w[i] = (float)i * 0.5f;
  tu_write_file(bin, w, sizeof w);
  ob_builder b;
  ob_init(&b, 13);
  ob_initializer(
      &b, b.graph,
      ob_tensor_external(&b, "aligned", MT_DTYPE_FLOAT32, 1, OB_DIMS(16), "w.bin", 0, -1));
  ob_initializer(&b, b.graph,
                 ob_tensor_external(&b, "odd", MT_DTYPE_FLOAT32, 1, OB_DIMS(16), "w.bin", 4, -1));
  ob_initializer(&b, b.graph,
                 ob_tensor_external(&b, "again", MT_DTYPE_FLOAT32, 1, OB_DIMS(16), "w.bin", 0, -1));
  ob_output(&b, b.graph, "aligned", MT_DTYPE_FLOAT32);
  mt_module *m;
  int32_t tid;
  assert_ok(mt_module_create(NULL, &m));
  /* room for the one heap copy (the misaligned 64 bytes) only: mapped bytes are bounded by the
   * file, not charged, so the aligned weight must not count */
  mt_module_set_memory_limit(m, 64);
  assert_ok(ob_import(&b, m, model, "t", &tid));
  const mt_constant *a =
      mt_module_constant(m, mt_module_value_c(m, ob_find_value(m, tid, "aligned"))->constant);
  assert_non_null(a->mapping.base);
  assert_ptr_equal(a->data, a->mapping.data);
  assert_memory_equal(a->data, w, 64);
  const mt_constant *o =
      mt_module_constant(m, mt_module_value_c(m, ob_find_value(m, tid, "odd"))->constant);
  assert_null(o->mapping.base);
  assert_memory_equal(o->data, w + 1, 64);
  assert_int_equal(mt_module_value_c(m, ob_find_value(m, tid, "again"))->constant,
                   mt_module_value_c(m, ob_find_value(m, tid, "aligned"))->constant);
  mt_module_destroy(m);
  ob_free(&b);
  tu_rmtree(root);
  free(root);
  free(model);
  free(bin);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_sizes),
      cmocka_unit_test(test_format_bytes),
      cmocka_unit_test(test_non_regular_files),
      cmocka_unit_test(test_initializers_over_budget),
      cmocka_unit_test(test_external_weights_mapped),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
