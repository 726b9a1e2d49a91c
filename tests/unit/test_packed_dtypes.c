/* The packed sub-byte dtypes (int4, uint4, int2, uint2, float4e2m1) and float8e8m0: byte sizes,
 * element order inside a byte (low bits first), the conversions' rounding and saturation, Cast
 * through the CPU kernel, and the evaluator refusing every other op on a packed operand by name.
 * Expected codes are the ONNX reference's (ml_dtypes casts; onnx.numpy_helper.to_float8e8m0 of
 * onnx 1.23.2 for float8e8m0), written out here. */
#include "test_util.h"

#include <math.h>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "onnx_builder.h"
#include "runtime/cpu/cast.h"
#include "runtime/cpu/float8.h"

static void test_byte_sizes(void **state) {
  (void)state;
  assert_int_equal(mt_dtype_bytes(MT_DTYPE_INT4, 5), 3); /* an odd count pads the last byte */
  assert_int_equal(mt_dtype_bytes(MT_DTYPE_UINT4, 4), 2);
  assert_int_equal(mt_dtype_bytes(MT_DTYPE_FLOAT4E2M1, 0), 0);
  assert_int_equal(mt_dtype_bytes(MT_DTYPE_INT2, 5), 2);
  assert_int_equal(mt_dtype_bytes(MT_DTYPE_UINT2, 4), 1);
  assert_int_equal(mt_dtype_bytes(MT_DTYPE_FLOAT8E8M0, 3), 3);
  assert_int_equal(mt_dtype_bytes(MT_DTYPE_FLOAT32, 3), 12);
  /* per-element sizes are not whole bytes: every size goes through mt_dtype_bytes */
  assert_int_equal(mt_dtype_size(MT_DTYPE_INT4), 0);
  assert_int_equal(mt_dtype_bits(MT_DTYPE_INT2), 2);
  mt_tensor t = {.dtype = MT_DTYPE_INT4, .rank = 2, .dims = {3, 3}};
  assert_int_equal(mt_tensor_nbytes(&t), 5);
}

static void test_element_order(void **state) {
  (void)state;
  uint8_t b[2] = {0x87, 0x0f}; /* test_cast_FLOAT_to_INT4's first bytes: 7, -8, 15 -> -1 */
  mt_tensor t = {.dtype = MT_DTYPE_INT4, .rank = 1, .dims = {3}, .data = b};
  assert_int_equal(mt_tensor_get_i64(&t, 0), 7);
  assert_int_equal(mt_tensor_get_i64(&t, 1), -8);
  assert_int_equal(mt_tensor_get_i64(&t, 2), -1);
  t.dtype = MT_DTYPE_UINT4;
  assert_int_equal(mt_tensor_get_i64(&t, 1), 8);
  uint8_t c = 0xe4; /* uint2: 0, 1, 2, 3 from the low bits up */
  mt_tensor u = {.dtype = MT_DTYPE_UINT2, .rank = 1, .dims = {4}, .data = &c};
  for (int i = 0; i < 4; i++) assert_int_equal(mt_tensor_get_i64(&u, i), i);
  u.dtype = MT_DTYPE_INT2;
  assert_int_equal(mt_tensor_get_i64(&u, 2), -2);
  mt_tensor_set_f64(&u, 2, 1.0); /* a store keeps the neighbours */
  assert_int_equal(c, 0xd4);
}

static void test_int_codes(void **state) {
  (void)state;
  /* truncation toward zero, then the low bits: ml_dtypes' float -> int4 */
  assert_int_equal(mt_packed_code_of(MT_DTYPE_INT4, -9.0), 7);
  assert_int_equal(mt_packed_code_of(MT_DTYPE_INT4, 2.7), 2);
  assert_int_equal(mt_packed_code_of(MT_DTYPE_INT4, -2.5), 14);
  assert_int_equal(mt_packed_code_of(MT_DTYPE_UINT4, 16.0), 0);
  assert_int_equal(mt_packed_code_of(MT_DTYPE_INT4, NAN), 0);
  assert_int_equal(mt_packed_code_of(MT_DTYPE_UINT2, -1.0), 3);
  assert_true(mt_packed_value(MT_DTYPE_INT2, 3) == -1.0);
}

static void test_float4_rounding(void **state) {
  (void)state;
  /* ties to the even code: 0.25 -> 0, 0.75 -> 1.0, 1.25 -> 1.0, 2.5 -> 2, 5 -> 4 */
  const float in[] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f, 0.48f, 1e6f, -INFINITY, -0.0f};
  const uint8_t want[] = {0x0, 0x2, 0x2, 0x4, 0x4, 0x6, 0x6, 0x1, 0x7, 0xf, 0x8};
  for (size_t i = 0; i < sizeof in / sizeof *in; i++)
    assert_int_equal(mt_float_to_fp4(in[i]), want[i]);
  assert_int_equal(mt_float_to_fp4(NAN), 0x8); /* no NaN in the format: -0, as ml_dtypes */
  assert_true(mt_fp4_to_float(0xd) == -3.0f);
  assert_true(mt_fp4_to_float(0x7) == 6.0f);
}

static void test_e8m0(void **state) {
  (void)state;
  const float in[] = {0.0f, 1.0f, 1.5f, 1.25f, 3.0f, 0.124f, 0x1.8p127f, 0x1p-127f, INFINITY, NAN};
  const uint8_t up[] = {0, 127, 128, 128, 129, 124, 254, 1, 255, 255};
  const uint8_t down[] = {0, 127, 127, 127, 128, 123, 254, 0, 255, 255};
  const uint8_t nearest[] = {0, 127, 128, 127, 129, 124, 254, 0, 255, 255};
  for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
    assert_int_equal(mt_float_to_e8m0(in[i], true, MT_E8M0_ROUND_UP), up[i]);
    assert_int_equal(mt_float_to_e8m0(in[i], true, MT_E8M0_ROUND_DOWN), down[i]);
    assert_int_equal(mt_float_to_e8m0(in[i], true, MT_E8M0_ROUND_NEAREST), nearest[i]);
  }
  /* without saturation a round-up past the largest exponent is NaN */
  assert_int_equal(mt_float_to_e8m0(0x1.8p127f, false, MT_E8M0_ROUND_UP), 255);
  assert_int_equal(mt_float_to_e8m0(0x1.8p127f, false, MT_E8M0_ROUND_NEAREST), 255);
  assert_true(mt_e8m0_to_float(124) == 0.125f);
  assert_true(isnan(mt_e8m0_to_float(255)));
}

static void test_cast_kernel(void **state) {
  (void)state;
  const float x[] = {-9, -8, 3.9f, 15, 1}; /* odd count: the last byte's high nibble is padding */
  uint8_t q[3] = {0xff, 0xff, 0xff};
  assert_ok(mt_cpu_cast_buffer(MT_DTYPE_FLOAT32, x, MT_DTYPE_INT4, q, 5));
  assert_int_equal(q[0], 0x87);
  assert_int_equal(q[1], 0xf3);
  assert_int_equal(q[2], 0x01); /* padding bits zero */
  int8_t back[5];
  assert_ok(mt_cpu_cast_buffer(MT_DTYPE_INT4, q, MT_DTYPE_INT8, back, 5));
  const int8_t want[] = {7, -8, 3, -1, 1};
  for (int i = 0; i < 5; i++) assert_int_equal(back[i], want[i]);
  uint8_t u[3];
  assert_ok(mt_cpu_cast_buffer(MT_DTYPE_INT4, q, MT_DTYPE_UINT4, u, 5)); /* packed to packed */
  assert_int_equal(u[0], 0x87);
  uint8_t e[2];
  const float y[] = {1.1f, 1.1f};
  assert_ok(mt_cpu_cast_buffer_mode(MT_DTYPE_FLOAT32, y, MT_DTYPE_FLOAT8E8M0, e, 2, true,
                                    MT_E8M0_ROUND_DOWN));
  assert_int_equal(e[0], 127);
}

/* An op that indexes whole-byte elements is refused on a packed operand, by op and dtype; Cast
 * out of it runs. */
static void test_other_ops_refused(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 21);
  ob_input(&b, b.graph, "x", MT_DTYPE_INT4, 1, OB_DIMS(4), NULL);
  ob_node(&b, b.graph, "Transpose", "t", OB_NAMES("x"), OB_NAMES("y"));
  ob_output(&b, b.graph, "y", MT_DTYPE_INT4);
  mt_module *m;
  int32_t tid;
  assert_ok(mt_module_create(NULL, &m));
  assert_ok(ob_import(&b, m, "/nonexistent/m.onnx", "packed", &tid));
  assert_status(mt_infer_shapes(m), MT_UNIMPLEMENTED, "'t'",
                "op Transpose does not support packed dtype int4");
  mt_module_destroy(m);
  ob_free(&b);

  ob_init(&b, 21);
  ob_input(&b, b.graph, "x", MT_DTYPE_INT4, 1, OB_DIMS(3), NULL);
  Onnx__NodeProto *cast = ob_node(&b, b.graph, "Cast", "c", OB_NAMES("x"), OB_NAMES("y"));
  ob_attr_int(&b, cast, "to", MT_DTYPE_FLOAT32);
  ob_output(&b, b.graph, "y", MT_DTYPE_FLOAT32);
  assert_ok(mt_module_create(NULL, &m));
  assert_ok(ob_import(&b, m, "/nonexistent/m.onnx", "packed", &tid));
  assert_ok(mt_infer_shapes(m));
  mt_module_destroy(m);
  ob_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_byte_sizes),
      cmocka_unit_test(test_element_order),
      cmocka_unit_test(test_int_codes),
      cmocka_unit_test(test_float4_rounding),
      cmocka_unit_test(test_e8m0),
      cmocka_unit_test(test_cast_kernel),
      cmocka_unit_test(test_other_ops_refused),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
