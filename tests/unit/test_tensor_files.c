/* Tensor files: .npy and ONNX TensorProto .pb round trips for every supported dtype and rank 0, 1
 * and 4; numpy's header layout; truncated and foreign files; atomic writes. */
#include "test_util.h"

#include <sys/stat.h>

#include "frontend/frontend.h"
#include "frontend/onnx_tensor.h"

static const mt_dtype kDtypes[] = {MT_DTYPE_FLOAT32, MT_DTYPE_FLOAT16, MT_DTYPE_INT64,
                                   MT_DTYPE_INT32,   MT_DTYPE_INT8,    MT_DTYPE_UINT8,
                                   MT_DTYPE_BOOL};

static int setup(void **state) {
  *state = tu_mkdtemp();
  return 0;
}

static int teardown(void **state) {
  tu_rmtree(*state);
  free(*state);
  return 0;
}

/* A tensor with deterministic, dtype-valid content (bools 0/1). */
static mt_tensor make_tensor(mt_dtype dtype, int rank, const int64_t *dims) {
  mt_tensor t = {.dtype = dtype, .rank = rank};
  for (int d = 0; d < rank; d++) t.dims[d] = dims[d];
  size_t n = mt_tensor_nbytes(&t);
  t.data = malloc(n ? n : 1);
  assert_non_null(t.data);
  unsigned char *p = t.data;
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 37 + 11 + (unsigned)dtype);
  if (dtype == MT_DTYPE_BOOL)
    for (size_t i = 0; i < n; i++) p[i] &= 1;
  return t;
}

static void assert_same_tensor(const mt_tensor *a, const mt_tensor *b) {
  assert_int_equal(a->dtype, b->dtype);
  assert_int_equal(a->rank, b->rank);
  for (int d = 0; d < a->rank; d++) assert_int_equal(a->dims[d], b->dims[d]);
  assert_memory_equal(a->data, b->data, mt_tensor_nbytes(a));
}

/* The folder holds exactly the expected files: nothing named *.tmp* is left behind. */
static void assert_no_temp_files(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d));) {
    if (strstr(e->d_name, ".tmp")) print_error("temp file left behind: %s\n", e->d_name);
    assert_null(strstr(e->d_name, ".tmp"));
  }
  closedir(d);
}

static void round_trip(const char *dir, const char *ext) {
  static const int64_t shapes[3][4] = {{0}, {5}, {2, 3, 1, 4}};
  static const int ranks[3] = {0, 1, 4};
  for (size_t k = 0; k < sizeof kDtypes / sizeof *kDtypes; k++) {
    for (int s = 0; s < 3; s++) {
      mt_tensor t = make_tensor(kDtypes[k], ranks[s], shapes[s]);
      char name[64];
      snprintf(name, sizeof name, "t_%s_r%d.%s", mt_dtype_name(kDtypes[k]), ranks[s], ext);
      char *path = tu_join(dir, name);
      assert_ok(mt_tensor_file_write(path, &t, "tensor/name \xc3\xbc"));
      mt_tensor back;
      char *back_name = NULL;
      assert_ok(mt_tensor_file_read(path, &back, &back_name));
      assert_same_tensor(&t, &back);
      if (strcmp(ext, "pb") == 0) {
        assert_non_null(back_name);
        assert_string_equal(back_name, "tensor/name \xc3\xbc");
      } else {
        assert_null(back_name);
      }
      free(back_name);
      free(back.data);
      free(t.data);
      free(path);
    }
  }
  assert_no_temp_files(dir);
}

static void test_npy_round_trip(void **state) { round_trip(*state, "npy"); }
static void test_pb_round_trip(void **state) { round_trip(*state, "pb"); }

/* Zero-element tensors round-trip too. */
static void test_empty_tensor_round_trip(void **state) {
  const char *exts[2] = {"npy", "pb"};
  for (int e = 0; e < 2; e++) {
    mt_tensor t = make_tensor(MT_DTYPE_FLOAT32, 2, (const int64_t[]){0, 3});
    char name[32];
    snprintf(name, sizeof name, "empty.%s", exts[e]);
    char *path = tu_join(*state, name);
    assert_ok(mt_tensor_file_write(path, &t, NULL));
    mt_tensor back;
    assert_ok(mt_tensor_file_read(path, &back, NULL));
    assert_int_equal(back.rank, 2);
    assert_int_equal(back.dims[0], 0);
    assert_int_equal(back.dims[1], 3);
    assert_non_null(back.data);
    free(back.data);
    free(t.data);
    free(path);
  }
}

/* The header is what numpy itself writes: version 1.0, dict, space padding, data 64-aligned. */
static void test_npy_header_layout(void **state) {
  mt_tensor t = make_tensor(MT_DTYPE_FLOAT32, 2, (const int64_t[]){2, 3});
  char *path = tu_join(*state, "layout.npy");
  assert_ok(mt_tensor_file_write(path, &t, NULL));
  size_t len;
  char *buf = tu_read_file(path, &len);
  assert_memory_equal(buf, "\x93NUMPY\x01\x00", 8);
  size_t hlen = (size_t)(unsigned char)buf[8] | (size_t)(unsigned char)buf[9] << 8;
  assert_int_equal((10 + hlen) % 64, 0);
  assert_int_equal(len, 10 + hlen + 24);
  assert_int_equal(buf[10 + hlen - 1], '\n');
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  assert_memory_equal(buf + 10, dict, strlen(dict));
  for (size_t i = 10 + strlen(dict); i < 10 + hlen - 1; i++) assert_int_equal(buf[i], ' ');
  assert_memory_equal(buf + 10 + hlen, t.data, 24);
  free(buf);
  free(path);
  free(t.data);
}

/* Files as numpy writes them in other header versions and spellings are read too. */
static void test_npy_foreign_headers(void **state) {
  const char *dir = *state;
  /* version 2.0 with a 4-byte header length and shape "(3,)" */
  const float v[3] = {1.0f, 2.0f, -3.0f};
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  unsigned char buf[256];
  size_t dlen = strlen(dict);
  size_t hlen = ((12 + dlen + 1 + 63) & ~(size_t)63) - 12;
  memcpy(buf, "\x93NUMPY\x02\x00", 8);
  buf[8] = (unsigned char)hlen;
  buf[9] = buf[10] = buf[11] = 0;
  memset(buf + 12, ' ', hlen);
  memcpy(buf + 12, dict, dlen);
  buf[12 + hlen - 1] = '\n';
  memcpy(buf + 12 + hlen, v, sizeof v);
  char *path = tu_join(dir, "v2.npy");
  tu_write_file(path, buf, 12 + hlen + sizeof v);
  mt_tensor t;
  assert_ok(mt_tensor_file_read(path, &t, NULL));
  assert_int_equal(t.dtype, MT_DTYPE_FLOAT32);
  assert_int_equal(t.rank, 1);
  assert_int_equal(t.dims[0], 3);
  assert_memory_equal(t.data, v, sizeof v);
  free(t.data);
  free(path);

  /* keys in another order (numpy sorts them, other writers may not) */
  const char *dict2 = "{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}";
  dlen = strlen(dict2);
  hlen = ((10 + dlen + 1 + 63) & ~(size_t)63) - 10;
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)hlen;
  buf[9] = 0;
  memset(buf + 10, ' ', hlen);
  memcpy(buf + 10, dict2, dlen);
  buf[10 + hlen - 1] = '\n';
  memcpy(buf + 10 + hlen, v, sizeof v);
  path = tu_join(dir, "order.npy");
  tu_write_file(path, buf, 10 + hlen + sizeof v);
  assert_ok(mt_tensor_file_read(path, &t, NULL));
  assert_memory_equal(t.data, v, sizeof v);
  free(t.data);

  /* big-endian and Fortran order are refused, naming the file */
  char *be = strstr((char *)buf + 10, "<f4");
  be[0] = '>';
  tu_write_file(path, buf, 10 + hlen + sizeof v);
  assert_status(mt_tensor_file_read(path, &t, NULL), MT_UNIMPLEMENTED, path);
  be[0] = '<';
  char *fo = strstr((char *)buf + 10, "False");
  memcpy(fo, "True ", 5);
  tu_write_file(path, buf, 10 + hlen + sizeof v);
  assert_status(mt_tensor_file_read(path, &t, NULL), MT_UNIMPLEMENTED, path, "Fortran");
  free(path);
}

static void test_truncated_npy(void **state) {
  const char *dir = *state;
  mt_tensor t = make_tensor(MT_DTYPE_INT32, 2, (const int64_t[]){4, 4});
  char *path = tu_join(dir, "full.npy");
  assert_ok(mt_tensor_file_write(path, &t, NULL));
  size_t len;
  char *buf = tu_read_file(path, &len);
  char *cut = tu_join(dir, "cut.npy");
  /* every cut from the end of the magic on is a truncated .npy */
  for (size_t n = 6; n < len; n++) {
    tu_write_file(cut, buf, n);
    mt_tensor back;
    mt_status *st = mt_tensor_file_read(cut, &back, NULL);
    if (!st) print_error("a .npy cut to %zu of %zu bytes was accepted\n", n, len);
    assert_non_null(st);
    if (mt_status_code_of(st) != MT_DATA_LOSS || !strstr(mt_status_message(st), cut))
      print_error("cut %zu: %s: %s\n", n, mt_status_code_name(mt_status_code_of(st)),
                  mt_status_message(st));
    assert_int_equal(mt_status_code_of(st), MT_DATA_LOSS);
    assert_non_null(strstr(mt_status_message(st), cut));
    mt_status_free(st);
  }
  /* extra bytes after the data are corrupt too */
  char *longer = malloc(len + 4);
  memcpy(longer, buf, len);
  memcpy(longer + len, "XXXX", 4);
  tu_write_file(cut, longer, len + 4);
  mt_tensor back;
  assert_status(mt_tensor_file_read(cut, &back, NULL), MT_DATA_LOSS, cut);
  free(longer);
  free(buf);
  free(cut);
  free(path);
  free(t.data);
}

/* Files that are not tensors at all give an error naming the file, not a crash or a tensor. */
static void test_not_a_tensor_file(void **state) {
  const char *dir = *state;
  mt_tensor t;
  char *missing = tu_join(dir, "missing.npy");
  assert_status(mt_tensor_file_read(missing, &t, NULL), MT_NOT_FOUND, missing);
  free(missing);

  char *path = tu_join(dir, "junk.pb");
  unsigned char junk[300];
  uint32_t s = 12345;
  for (size_t i = 0; i < sizeof junk; i++) {
    s = s * 1103515245u + 12345u;
    junk[i] = (unsigned char)(s >> 16);
  }
  tu_write_file(path, junk, sizeof junk);
  mt_status *st = mt_tensor_file_read(path, &t, NULL);
  assert_non_null(st);
  assert_non_null(strstr(mt_status_message(st), path));
  mt_status_free(st);
  free(path);

  /* an empty file is corrupt data whatever its extension */
  const char *names[2] = {"empty.npy", "empty.pb"};
  for (int i = 0; i < 2; i++) {
    path = tu_join(dir, names[i]);
    tu_write_file(path, "", 0);
    assert_status(mt_tensor_file_read(path, &t, NULL), MT_DATA_LOSS, path);
    free(path);
  }
}

/* A .pb holding a dtype mtcc does not compute with is refused by name. */
static void test_pb_unsupported_dtype(void **state) {
  Onnx__TensorProto tp;
  onnx__tensor_proto__init(&tp);
  float d[2] = {1.0f, 2.0f}; /* one complex64 element: a dtype mtcc does not compute with */
  int64_t dims[1] = {1};
  tp.n_dims = 1;
  tp.dims = dims;
  tp.has_data_type = 1;
  tp.data_type = MT_DTYPE_COMPLEX64;
  tp.n_float_data = 2;
  tp.float_data = d;
  tp.name = "cplx";
  uint8_t buf[128];
  size_t len = onnx__tensor_proto__pack(&tp, buf);
  char *path = tu_join(*state, "complex.pb");
  tu_write_file(path, buf, len);
  mt_tensor t;
  assert_status(mt_tensor_file_read(path, &t, NULL), MT_UNIMPLEMENTED, path, "complex64");
  free(path);
}

/* Writes replace the file in one step, leave no temp file on success or failure, and keep an
 * existing file intact when the new one cannot be written. */
static void test_atomic_writes(void **state) {
  const char *dir = *state;
  char *sub = tu_join(dir, "atomic");
  assert_int_equal(mkdir(sub, 0777), 0);
  char *path = tu_join(sub, "out.npy");
  mt_tensor a = make_tensor(MT_DTYPE_FLOAT32, 1, (const int64_t[]){1000});
  mt_tensor b = make_tensor(MT_DTYPE_INT8, 1, (const int64_t[]){3});
  assert_ok(mt_tensor_file_write(path, &a, NULL));
  assert_int_equal(tu_count_entries(sub), 1);
  assert_ok(mt_tensor_file_write(path, &b, NULL)); /* overwrite */
  assert_int_equal(tu_count_entries(sub), 1);
  mt_tensor back;
  assert_ok(mt_tensor_file_read(path, &back, NULL));
  assert_same_tensor(&b, &back);
  free(back.data);
  /* output files get ordinary permissions (umask applies), not mkstemp's 0600 */
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  mode_t mask = umask(0);
  umask(mask);
  if ((sb.st_mode & 0777) != (0666 & ~mask))
    print_error("%s has mode %o, expected %o\n", path, (unsigned)(sb.st_mode & 0777),
                (unsigned)(0666 & ~mask));
  assert_int_equal(sb.st_mode & 0777, 0666 & ~mask);

  /* a folder that does not exist: error naming the path, nothing created */
  char *bad = tu_join(sub, "no/such/dir/out.npy");
  assert_error(mt_tensor_file_write(bad, &a, NULL), MT_INVALID_ARGUMENT);
  free(bad);
  /* a path that is a folder: the rename fails, the temp file is removed */
  char *as_dir = tu_join(sub, "taken.npy");
  assert_int_equal(mkdir(as_dir, 0777), 0);
  assert_error(mt_tensor_file_write(as_dir, &a, NULL), MT_INVALID_ARGUMENT);
  assert_int_equal(tu_count_entries(sub), 2); /* out.npy and the folder */
  assert_no_temp_files(sub);
  free(as_dir);
  free(path);
  free(sub);
  free(a.data);
  free(b.data);
}

/* Decoding and encoding TensorProtos in memory. */
static void test_tensor_encode_decode(void **state) {
  (void)state;
  mt_tensor t = make_tensor(MT_DTYPE_FLOAT16, 2, (const int64_t[]){3, 2});
  Onnx__TensorProto tp;
  onnx__tensor_proto__init(&tp);
  int64_t dims[MT_MAX_RANK];
  mt_onnx_tensor_encode(&t, "half", dims, &tp);
  mt_tensor back;
  assert_ok(mt_onnx_tensor_decode(&tp, NULL, (size_t)1 << 30, NULL, &back));
  assert_same_tensor(&t, &back);
  free(back.data);
  /* external data without a model folder is refused */
  Onnx__StringStringEntryProto loc = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  loc.key = "location";
  loc.value = "w.bin";
  Onnx__StringStringEntryProto *locs[1] = {&loc};
  tp.has_raw_data = 0;
  tp.has_data_location = 1;
  tp.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  tp.n_external_data = 1;
  tp.external_data = locs;
  assert_status(mt_onnx_tensor_decode(&tp, NULL, (size_t)1 << 30, NULL, &back), MT_INVALID_ARGUMENT,
                "w.bin");
  free(t.data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_npy_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pb_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_tensor_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_npy_header_layout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_npy_foreign_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_truncated_npy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_a_tensor_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pb_unsupported_dtype, setup, teardown),
      cmocka_unit_test_setup_teardown(test_atomic_writes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tensor_encode_decode, setup, teardown),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
