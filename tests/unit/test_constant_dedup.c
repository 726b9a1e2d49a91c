/* Constant deduplication across tenants: identical weights stored once, statistics report the
 * bytes saved, different content never merged even when hashes or hash slots collide. */
#include "test_util.h"

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "onnx_builder.h"

/* A model with a [64, 16] float weight filled from seed, plus a small shared bias. */
static void build_weights_model(ob_builder *b, uint32_t seed) {
  static float w[64 * 16];
  for (int i = 0; i < 64 * 16; i++) {
    seed = seed * 1664525u + 1013904223u;
    w[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
  }
  ob_init(b, 13);
  ob_input(b, b->graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(1, 64), NULL);
  ob_initializer(b, b->graph,
                 ob_tensor_raw(b, "weight", MT_DTYPE_FLOAT32, 2, OB_DIMS(64, 16), w, sizeof w));
  ob_initializer(b, b->graph,
                 ob_tensor_floats(
                     b, "bias", 1, OB_DIMS(16),
                     (const float[16]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 16));
  ob_node(b, b->graph, "MatMul", "mm", OB_NAMES("x", "weight"), OB_NAMES("h"));
  ob_node(b, b->graph, "Add", "add", OB_NAMES("h", "bias"), OB_NAMES("y"));
  ob_output(b, b->graph, "y", MT_DTYPE_FLOAT32);
}

static int32_t constant_of(const mt_module *m, int32_t tid, const char *name) {
  mt_value_id v = ob_find_value(m, tid, name);
  assert_true(v >= 0);
  return mt_module_value_c(m, v)->constant;
}

static void test_same_weights_stored_once(void **state) {
  (void)state;
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  ob_builder b;
  build_weights_model(&b, 1);
  int32_t t1, t2, t3;
  assert_ok(ob_import(&b, m, "/models/a.onnx", "first", &t1));
  assert_ok(ob_import(&b, m, "/models/a_copy.onnx", "second", &t2));
  ob_free(&b);
  build_weights_model(&b, 2); /* different weight, same bias */
  assert_ok(ob_import(&b, m, "/models/b.onnx", "third", &t3));
  ob_free(&b);

  const size_t wbytes = 64 * 16 * 4, bbytes = 16 * 4;
  assert_int_equal(constant_of(m, t1, "weight"), constant_of(m, t2, "weight"));
  assert_int_equal(constant_of(m, t1, "bias"), constant_of(m, t2, "bias"));
  assert_int_equal(constant_of(m, t1, "bias"), constant_of(m, t3, "bias"));
  assert_int_not_equal(constant_of(m, t1, "weight"), constant_of(m, t3, "weight"));
  /* the values stay per tenant; only the bytes are shared */
  assert_int_not_equal(ob_find_value(m, t1, "weight"), ob_find_value(m, t2, "weight"));
  const mt_constant *shared = mt_module_constant(m, constant_of(m, t1, "weight"));
  assert_int_equal(shared->uses, 2);
  assert_int_equal(mt_module_constant(m, constant_of(m, t1, "bias"))->uses, 3);
  assert_int_equal(mt_module_constant(m, constant_of(m, t3, "weight"))->uses, 1);
  assert_int_equal((uintptr_t)shared->data % 64, 0);

  mt_constant_stats cs;
  mt_module_constant_stats(m, &cs);
  assert_int_equal(cs.interned, 6);
  assert_int_equal(cs.stored, 3);
  assert_int_equal(cs.bytes_requested, 3 * (wbytes + bbytes));
  assert_int_equal(cs.bytes_stored, 2 * wbytes + bbytes);
  assert_int_equal(cs.bytes_requested - cs.bytes_stored, wbytes + 2 * bbytes);
  assert_int_equal(mt_module_constant_count(m), 3);
  /* each tenant still counts its own parameters */
  assert_int_equal(mt_module_tenant_c(m, t2)->parameter_count, 64 * 16 + 16);
  assert_int_equal(mt_module_tenant_c(m, t2)->parameter_bytes, wbytes + bbytes);
  assert_ok(mt_verify_module(m));
  mt_module_destroy(m);
}

/* Same bytes under another dtype or shape are different constants. */
static void test_header_distinguishes(void **state) {
  (void)state;
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  const uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  int32_t ids[6];
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_UINT8, 1, OB_DIMS(8), bytes, 8, &ids[0]));
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_INT8, 1, OB_DIMS(8), bytes, 8, &ids[1]));
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_UINT8, 2, OB_DIMS(2, 4), bytes, 8, &ids[2]));
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_UINT8, 2, OB_DIMS(4, 2), bytes, 8, &ids[3]));
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_INT64, 0, NULL, bytes, 8, &ids[4]));
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_UINT8, 1, OB_DIMS(8), bytes, 8, &ids[5]));
  for (int i = 0; i < 5; i++)
    for (int j = i + 1; j < 5; j++) assert_int_not_equal(ids[i], ids[j]);
  assert_int_equal(ids[5], ids[0]);
  /* empty constants of equal header dedupe too */
  int32_t e1, e2;
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_FLOAT32, 1, OB_DIMS(0), NULL, 0, &e1));
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_FLOAT32, 1, OB_DIMS(0), "", 0, &e2));
  assert_int_equal(e1, e2);
  assert_error(mt_module_intern_constant(m, MT_DTYPE_FLOAT32, 9, OB_DIMS(1, 1, 1, 1, 1, 1, 1, 1, 1),
                                         bytes, 4, &e1),
               MT_UNIMPLEMENTED);
  mt_module_destroy(m);
}

/* Many distinct constants share hash slots (the index is far smaller than 2^64): lookups compare
 * content, so every one stays distinct and each re-intern finds its own. */
static void test_slot_collisions_compared_by_content(void **state) {
  (void)state;
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  enum { N = 3000 };
  static int32_t ids[N];
  for (int i = 0; i < N; i++) {
    int64_t v[2] = {i, (int64_t)i * 7919};
    assert_ok(mt_module_intern_constant(m, MT_DTYPE_INT64, 1, OB_DIMS(2), v, sizeof v, &ids[i]));
    assert_int_equal(ids[i], i);
  }
  for (int i = N - 1; i >= 0; i--) {
    int64_t v[2] = {i, (int64_t)i * 7919};
    int32_t again;
    assert_ok(mt_module_intern_constant(m, MT_DTYPE_INT64, 1, OB_DIMS(2), v, sizeof v, &again));
    assert_int_equal(again, ids[i]);
    assert_memory_equal(mt_module_constant(m, again)->data, v, sizeof v);
  }
  mt_constant_stats cs;
  mt_module_constant_stats(m, &cs);
  assert_int_equal(cs.stored, N);
  assert_int_equal(cs.interned, 2 * N);
  mt_module_destroy(m);
}

/* A copy of module.c's constant hash, used only to build two different payloads whose full
 * 64-bit hashes are equal. If module.c's hash changes, the payloads stop colliding and the test
 * fails, naming this copy to update: a test that no longer collides no longer reaches the
 * full-content comparison it exists for. */
static uint64_t mirror_hash_prefix(mt_dtype dtype, int rank, const int64_t *dims) {
  uint64_t h = 1469598103934665603ull;
  uint64_t header[2 + MT_MAX_RANK] = {(uint64_t)dtype, (uint64_t)rank};
  for (int i = 0; i < rank; i++) header[2 + i] = (uint64_t)dims[i];
  const unsigned char *p = (const unsigned char *)header;
  for (size_t i = 0; i < sizeof header; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static uint64_t mirror_word(uint64_t h, uint64_t w) {
  h = (h ^ w) * 1099511628211ull;
  return h ^ (h >> 29);
}

static void test_full_hash_collision_compared_by_content(void **state) {
  (void)state;
  /* two words each: hash = f(f(H0, w0), w1). Pick w0 != w0' and solve w1' so that
   * f(H0, w0) ^ w1 == f(H0, w0') ^ w1': both then continue identically. */
  const int64_t dims[1] = {2};
  uint64_t h0 = mirror_hash_prefix(MT_DTYPE_INT64, 1, dims);
  uint64_t a[2] = {0x1111111111111111ull, 0x2222222222222222ull};
  uint64_t b[2] = {0x3333333333333333ull, 0};
  b[1] = mirror_word(h0, a[0]) ^ a[1] ^ mirror_word(h0, b[0]);
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t ia, ib, ia2, ib2;
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_INT64, 1, dims, a, sizeof a, &ia));
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_INT64, 1, dims, b, sizeof b, &ib));
  uint64_t ha = mt_module_constant(m, ia)->hash, hb = mt_module_constant(m, ib)->hash;
  if (ha != mirror_word(mirror_word(h0, a[0]), a[1]) || ha != hb) {
    print_error(
        "module.c's constant hash differs from the copy in this test (mirror_hash_prefix, "
        "mirror_word): the crafted payloads no longer collide (%016llx vs %016llx); update the "
        "copy so that this test reaches the full-content comparison again\n",
        (unsigned long long)ha, (unsigned long long)hb);
    fail();
  }
  assert_int_not_equal(ia, ib);
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_INT64, 1, dims, b, sizeof b, &ib2));
  assert_ok(mt_module_intern_constant(m, MT_DTYPE_INT64, 1, dims, a, sizeof a, &ia2));
  assert_int_equal(ia2, ia);
  assert_int_equal(ib2, ib);
  assert_memory_equal(mt_module_constant(m, ia)->data, a, sizeof a);
  assert_memory_equal(mt_module_constant(m, ib)->data, b, sizeof b);
  mt_module_destroy(m);
}

/* Constants inside attributes (Constant nodes) share storage with initializers of equal content. */
static void test_attribute_and_initializer_share(void **state) {
  (void)state;
  ob_builder b;
  ob_init(&b, 13);
  const float v[3] = {0.25f, 0.5f, 0.75f};
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "init", 1, OB_DIMS(3), v, 3));
  Onnx__NodeProto *n = ob_node(&b, b.graph, "Constant", "const", OB_NONE, OB_NAMES("c"));
  ob_attr_tensor(&b, n, "value",
                 ob_tensor_raw(&b, "attr", MT_DTYPE_FLOAT32, 1, OB_DIMS(3), v, sizeof v));
  ob_output(&b, b.graph, "c", MT_DTYPE_FLOAT32);
  mt_module *m;
  assert_ok(mt_module_create(NULL, &m));
  int32_t tid;
  assert_ok(ob_import(&b, m, "/m.onnx", "t", &tid));
  const mt_node *cn = mt_module_node_c(m, ob_find_node(m, tid, "const"));
  assert_int_equal(mt_node_attr(cn, "value")->constant, constant_of(m, tid, "init"));
  assert_int_equal(mt_module_constant_count(m), 1);
  /* only initializers count as parameters */
  assert_int_equal(mt_module_tenant_c(m, tid)->parameter_count, 3);
  mt_module_destroy(m);
  ob_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_weights_stored_once),
      cmocka_unit_test(test_header_distinguishes),
      cmocka_unit_test(test_slot_collisions_compared_by_content),
      cmocka_unit_test(test_full_hash_collision_compared_by_content),
      cmocka_unit_test(test_attribute_and_initializer_share),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
