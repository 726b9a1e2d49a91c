/* Sequence/optional container values (runtime/cpu/container.h) and their data files
 * (frontend/container_io.c): blobs round-trip, nest, and a malformed blob or file is a status,
 * never a read past the end. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

#include "frontend/frontend.h"
#include "runtime/cpu/container.h"

static mt_tensor f32(int rank, const int64_t *dims, float *data) {
  mt_tensor t = {.dtype = MT_DTYPE_FLOAT32, .rank = rank, .data = data};
  for (int d = 0; d < rank; d++) t.dims[d] = dims[d];
  return t;
}

static void expect_code(mt_status *st, mt_status_code code) {
  assert_non_null(st);
  assert_int_equal(mt_status_code_of(st), code);
  mt_status_free(st);
}

static void test_roundtrip_and_nesting(void **state) {
  (void)state;
  float a[6] = {1, 2, 3, 4, 5, 6}, b[1] = {7};
  mt_tensor elems[2] = {f32(2, (int64_t[]){2, 3}, a), f32(1, (int64_t[]){1}, b)};
  mt_tensor seq, opt;
  assert_ok(mt_container_make(MT_DTYPE_SEQUENCE, MT_DTYPE_FLOAT32, 2, elems, &seq));
  assert_int_equal(seq.dtype, MT_DTYPE_SEQUENCE);
  assert_int_equal(seq.rank, 1);
  assert_int_equal(mt_tensor_nbytes(&seq), (size_t)seq.dims[0]); /* the view counts its bytes */
  assert_ok(mt_container_make(MT_DTYPE_OPTIONAL, MT_DTYPE_SEQUENCE, 1, &seq, &opt));
  mt_container o, s;
  assert_ok(mt_container_open(&opt, &o));
  assert_int_equal(o.count, 1);
  assert_int_equal(o.elem_type, MT_DTYPE_SEQUENCE);
  assert_ok(mt_container_open(&o.elems[0], &s));
  assert_int_equal(s.count, 2);
  assert_int_equal(s.elems[0].rank, 2);
  assert_int_equal(s.elems[0].dims[1], 3);
  assert_memory_equal(s.elems[0].data, a, sizeof a);
  assert_memory_equal(s.elems[1].data, b, sizeof b);
  mt_tensor copy;
  assert_ok(mt_value_copy(&opt, &copy));
  assert_memory_equal(copy.data, opt.data, (size_t)opt.dims[0]);
  mt_container_free(&s);
  mt_container_free(&o);
  free(copy.data);
  free(opt.data);
  free(seq.data);
}

static void test_empty_optional(void **state) {
  (void)state;
  mt_tensor none;
  mt_container c;
  assert_ok(mt_container_make(MT_DTYPE_OPTIONAL, MT_DTYPE_FLOAT32, 0, NULL, &none));
  assert_ok(mt_container_open(&none, &c));
  assert_int_equal(c.count, 0);
  mt_container_free(&c);
  free(none.data);
}

/* Every prefix of a valid blob, and blobs with a corrupted byte anywhere, open to a status or to
 * views that lie inside the blob. */
static void test_malformed_blobs(void **state) {
  (void)state;
  float a[4] = {1, 2, 3, 4};
  mt_tensor elems[2] = {f32(1, (int64_t[]){4}, a), f32(1, (int64_t[]){2}, a)};
  mt_tensor seq;
  assert_ok(mt_container_make(MT_DTYPE_SEQUENCE, MT_DTYPE_FLOAT32, 2, elems, &seq));
  mt_tensor cut = seq;
  for (int64_t len = 0; len < seq.dims[0]; len++) {
    cut.dims[0] = len;
    mt_container c;
    mt_status *st = mt_container_open(&cut, &c);
    if (!st) {
      fail_msg("a blob cut to %lld bytes opened", (long long)len);
      mt_container_free(&c);
    }
    mt_status_free(st);
  }
  unsigned char *bytes = seq.data;
  for (int64_t i = 0; i < seq.dims[0]; i++) {
    unsigned char keep = bytes[i];
    bytes[i] ^= 0xa5;
    mt_container c;
    mt_status *st = mt_container_open(&seq, &c);
    for (int64_t k = 0; !st && k < c.count; k++) {
      const unsigned char *p = c.elems[k].data;
      assert_true(p >= bytes && p + mt_tensor_nbytes(&c.elems[k]) <= bytes + seq.dims[0]);
    }
    if (!st) mt_container_free(&c);
    mt_status_free(st);
    bytes[i] = keep;
  }
  mt_tensor wrong = seq;
  wrong.dtype = MT_DTYPE_OPTIONAL; /* a sequence blob is no optional */
  mt_container c;
  expect_code(mt_container_open(&wrong, &c), MT_DATA_LOSS);
  free(seq.data);
}

static void write_file(const char *path, const void *bytes, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(bytes, 1, len, f), len);
  fclose(f);
}

/* SequenceProto/OptionalProto files: a hand-made sequence of two int64 tensors reads back; a
 * length past the end, a map and a second value in an optional are refused. */
static void test_value_files(void **state) {
  (void)state;
  char path[] = "/tmp/mt_test_container_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  /* TensorProto: dims (1) = [2], data_type (2) = 7 (int64), int64_data (7) = packed [5, 6] */
  static const unsigned char tensor[] = {0x08, 0x02, 0x10, 0x07, 0x3a, 0x02, 0x05, 0x06};
  unsigned char seq[64];
  size_t n = 0;
  seq[n++] = 0x0a, seq[n++] = 1, seq[n++] = 's'; /* name */
  seq[n++] = 0x10, seq[n++] = 1;                 /* elem_type TENSOR */
  for (int k = 0; k < 2; k++) {                  /* tensor_values */
    seq[n++] = 0x1a, seq[n++] = (unsigned char)sizeof tensor;
    memcpy(seq + n, tensor, sizeof tensor);
    n += sizeof tensor;
  }
  write_file(path, seq, n);
  mt_tensor t;
  char *name = NULL;
  assert_ok(mt_value_file_read_limited(path, 1 << 20, MT_DTYPE_SEQUENCE, &t, &name));
  assert_string_equal(name, "s");
  mt_container c;
  assert_ok(mt_container_open(&t, &c));
  assert_int_equal(c.count, 2);
  assert_int_equal(c.elems[1].dtype, MT_DTYPE_INT64);
  assert_int_equal(((int64_t *)c.elems[1].data)[1], 6);
  mt_container_free(&c);
  /* written back (as `run --reference --output-format pb` does) it reads the same; .npy has no
   * form for it */
  char out[sizeof path + 8];
  snprintf(out, sizeof out, "%s.pb", path);
  assert_ok(mt_tensor_file_write(out, &t, "again"));
  mt_tensor back;
  char *back_name = NULL;
  assert_ok(mt_value_file_read_limited(out, 1 << 20, MT_DTYPE_SEQUENCE, &back, &back_name));
  assert_string_equal(back_name, "again");
  assert_int_equal(back.dims[0], t.dims[0]);
  assert_memory_equal(back.data, t.data, (size_t)t.dims[0]);
  snprintf(out, sizeof out, "%s.npy", path);
  expect_code(mt_tensor_file_write(out, &t, "again"), MT_UNIMPLEMENTED);
  snprintf(out, sizeof out, "%s.pb", path);
  unlink(out);
  free(back.data);
  free(back_name);
  free(t.data);
  free(name);
  /* the same bytes as an optional hold two values */
  expect_code(mt_value_file_read_limited(path, 1 << 20, MT_DTYPE_OPTIONAL, &t, NULL),
              MT_INVALID_ARGUMENT);
  static const unsigned char past_end[] = {0x1a, 0x40, 0x08};
  write_file(path, past_end, sizeof past_end);
  expect_code(mt_value_file_read_limited(path, 1 << 20, MT_DTYPE_SEQUENCE, &t, NULL), MT_DATA_LOSS);
  static const unsigned char map[] = {0x32, 0x00};
  write_file(path, map, sizeof map);
  expect_code(mt_value_file_read_limited(path, 1 << 20, MT_DTYPE_SEQUENCE, &t, NULL),
              MT_UNIMPLEMENTED);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_and_nesting),
      cmocka_unit_test(test_empty_optional),
      cmocka_unit_test(test_malformed_blobs),
      cmocka_unit_test(test_value_files),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
