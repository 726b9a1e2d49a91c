/* The .mtbundle writer and libmtrt's loader and CPU path: a tiny model compiled through
 * mtcc_compile and mtcc_compilation_write_bundle runs through include/mtrt.h with outputs
 * computed here by hand; two builds are byte-identical; and every corruption of the table below
 * (container and manifest level, each re-sealed so it reaches the check behind the checksums) is
 * refused by mtrt_bundle_open_memory with a one-line status naming what is wrong. Run under
 * ASan/UBSan in the sanitizer build: no corruption may make the loader read outside the file. */
#include "test_util.h"

#include <pthread.h>
#include <string.h>

#include "bundle_test_util.h"
#include "onnx_builder.h"

typedef bt_fixture fixture;

static int setup(void **state) {
  *state = bt_fixture_new(bt_write_tiny_model, "a.mtbundle");
  return 0;
}

static void test_runs_and_matches_hand_computation(void **state) {
  fixture *f = *state;
  mtrt_bundle *b = NULL;
  assert_ok(bt_st(mtrt_bundle_open_memory(f->image, f->size, NULL, &b)));
  assert_int_equal(mtrt_bundle_tenant_count(b), 1);
  assert_string_equal(mtrt_bundle_tenant_name(b, 0), "tiny");
  mtrt_session *s = NULL;
  assert_ok(bt_st(mtrt_session_create(b, NULL, &s)));
  float x[6] = {1, 2, -3, 0.5f, -0.5f, 4}, y[8], yt[8];
  assert_status(bt_st(mtrt_session_run(s, 0)), MT_INVALID_ARGUMENT, "input 'x' is not bound");
  assert_status(bt_st(mtrt_session_bind_input(s, 0, "x", x, 5)), MT_INVALID_ARGUMENT, "24 bytes");
  assert_status(bt_st(mtrt_session_bind_input(s, 0, "nope", x, 24)), MT_INVALID_ARGUMENT, "nope");
  assert_ok(bt_st(mtrt_session_bind_input(s, 0, "x", x, sizeof x)));
  assert_ok(bt_st(mtrt_session_bind_output(s, 0, "y", y, sizeof y)));
  assert_ok(bt_st(mtrt_session_bind_output(s, 0, "yt", yt, sizeof yt)));
  assert_ok(bt_st(mtrt_session_run(s, -1)));
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 4; j++) {
      double acc = 0;
      for (int k = 0; k < 3; k++) {
        double r = x[i * 3 + k] + BT_W1[i * 3 + k];
        acc += (r > 0 ? r : 0) * BT_W2[k * 4 + j];
      }
      assert_float_equal(y[i * 4 + j], acc, 1e-5);
      assert_float_equal(yt[j * 2 + i], acc, 1e-5);
    }
  assert_string_equal(mtrt_session_device_name(s), "cpu");
  assert_true(mtrt_session_tenant_time_us(s, 0) >= 0);
  mtrt_session_destroy(s);
  mtrt_session_options gpu = {.device = MTRT_DEVICE_GPU};
  assert_status(bt_st(mtrt_session_create(b, &gpu, &s)), MT_UNAVAILABLE, "gpu");
  mtrt_bundle_close(b);
  mtrt_open_options old = {.abi_version = MTRT_ABI_VERSION + 1};
  assert_status(bt_st(mtrt_bundle_open_memory(f->image, f->size, &old, &b)), MT_UNIMPLEMENTED,
                "ABI");
  assert_int_equal(mtrt_version_number(), MTRT_VERSION_NUMBER);
}

/* Sessions of one bundle from 8 threads at once: each its own arenas, all outputs equal to a
 * single-threaded run bit for bit (the bundle is shared read-only). */
typedef struct thread_job {
  const mtrt_bundle *b;
  float y[8];
  int ok;
} thread_job;

static void *thread_run(void *arg) {
  thread_job *j = arg;
  mtrt_session *s = NULL;
  float x[6] = {1, 2, -3, 0.5f, -0.5f, 4}, yt[8];
  mtrt_status *st = mtrt_session_create(j->b, NULL, &s);
  if (!st) st = mtrt_session_bind_input(s, 0, "x", x, sizeof x);
  if (!st) st = mtrt_session_bind_output(s, 0, "y", j->y, sizeof j->y);
  if (!st) st = mtrt_session_bind_output(s, 0, "yt", yt, sizeof yt);
  for (int r = 0; !st && r < 50; r++) st = mtrt_session_run(s, 0);
  j->ok = st == NULL;
  mtrt_status_free(st);
  mtrt_session_destroy(s);
  return NULL;
}

static void test_sessions_from_8_threads(void **state) {
  fixture *f = *state;
  mtrt_bundle *b = NULL;
  assert_ok(bt_st(mtrt_bundle_open_memory(f->image, f->size, NULL, &b)));
  thread_job one = {.b = b};
  thread_run(&one);
  assert_true(one.ok);
  thread_job jobs[8];
  pthread_t th[8];
  for (int i = 0; i < 8; i++) {
    jobs[i] = (thread_job){.b = b};
    assert_int_equal(pthread_create(&th[i], NULL, thread_run, &jobs[i]), 0);
  }
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    assert_true(jobs[i].ok);
    assert_memory_equal(jobs[i].y, one.y, sizeof one.y);
  }
  mtrt_bundle_close(b);
}

static void test_rebuild_is_byte_identical(void **state) {
  fixture *f = *state;
  size_t size2;
  uint8_t *again = bt_compile_bundle(f->input, f->dir, "b.mtbundle", false, &size2);
  assert_int_equal(size2, f->size);
  assert_memory_equal(again, f->image, f->size);
  free(again);
}

/* ---- corruptions ---- */

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint8_t *entry(uint8_t *img, int i) { return img + 64 + 32 * i; }

typedef struct raw_case {
  const char *name;
  void (*apply)(uint8_t *img, size_t *size);
  bool reseal;
  const char *needle;
} raw_case;

static void bad_magic(uint8_t *img, size_t *size) { img[0] = 'X'; }
static void future_version(uint8_t *img, size_t *size) { put_u32(img + 8, 2); }
static void truncated(uint8_t *img, size_t *size) { *size -= 100; }
static void tiny_file(uint8_t *img, size_t *size) { *size = 10; }
static void huge_section_count(uint8_t *img, size_t *size) { put_u32(img + 12, 1000000); }
static void section_past_end(uint8_t *img, size_t *size) {
  put_u64(entry(img, 1) + 16, (uint64_t)1 << 62);
}
static void overlapping(uint8_t *img, size_t *size) {
  memcpy(entry(img, 1) + 8, entry(img, 0) + 8, 8); /* weights at the manifest's offset */
  put_u64(entry(img, 1) + 16, 64);
}
static void misaligned(uint8_t *img, size_t *size) {
  uint8_t *e = entry(img, 1);
  put_u64(e + 8, (uint64_t)e[8] + 8 + ((uint64_t)e[9] << 8) + ((uint64_t)e[10] << 16));
}
static void flip_weight(uint8_t *img, size_t *size) { img[*size - 70] ^= 0x55; }
static void unknown_kind(uint8_t *img, size_t *size) { put_u32(entry(img, 1), 9); }
static void duplicate_kind(uint8_t *img, size_t *size) { put_u32(entry(img, 1), 1); }
static void header_size_lies(uint8_t *img, size_t *size) { put_u64(img + 16, *size + 64); }
static void garbage_manifest(uint8_t *img, size_t *size) {
  uint8_t *e = entry(img, 0);
  uint64_t off = 0, n = 0;
  for (int i = 0; i < 8; i++)
    off |= (uint64_t)e[8 + i] << (8 * i), n |= (uint64_t)e[16 + i] << (8 * i);
  memset(img + off, 0xff, (size_t)n);
}

static const raw_case RAW_CASES[] = {
    {"bad magic", bad_magic, false, "bad magic"},
    {"future version", future_version, false, "format version 2"},
    {"truncated file", truncated, false, "truncated"},
    {"shorter than the header", tiny_file, false, "shorter than"},
    {"huge section count", huge_section_count, false, "section count"},
    {"section past the end", section_past_end, false, "past the end"},
    {"overlapping sections", overlapping, true, "overlap"},
    {"misaligned section", misaligned, false, "aligned"},
    {"checksum mismatch", flip_weight, false, "checksum mismatch"},
    {"unknown section kind", unknown_kind, false, "unknown kind"},
    {"duplicate section", duplicate_kind, false, "a second section"},
    {"header size lies", header_size_lies, false, "the header says"},
    {"manifest does not parse", garbage_manifest, true, "does not parse"},
};

static void test_container_corruptions(void **state) {
  fixture *f = *state;
  for (size_t i = 0; i < sizeof RAW_CASES / sizeof *RAW_CASES; i++) {
    uint8_t *img = malloc(f->size);
    memcpy(img, f->image, f->size);
    size_t size = f->size;
    RAW_CASES[i].apply(img, &size);
    if (RAW_CASES[i].reseal) mt_bundle_reseal(img, size);
    /* an exact-size copy, so ASan catches any read past the end */
    uint8_t *exact = malloc(size ? size : 1);
    memcpy(exact, img, size);
    bt_expect_refused(exact, size, RAW_CASES[i].name, RAW_CASES[i].needle);
    free(exact);
    free(img);
  }
}

/* Manifest-level cases: decode, mutate, re-encode, rebuild the container with the same weights. */

static Mtbundle__BufferRef *find_ref(Mtbundle__Manifest *m, Mtbundle__BufferRef__Kind kind) {
  for (size_t i = 0; i < m->n_nodes; i++) {
    for (size_t k = 0; k < m->nodes[i]->n_inputs; k++)
      if (m->nodes[i]->inputs[k]->kind == kind) return m->nodes[i]->inputs[k];
    for (size_t k = 0; k < m->nodes[i]->n_outputs; k++)
      if (m->nodes[i]->outputs[k]->kind == kind) return m->nodes[i]->outputs[k];
  }
  return NULL;
}
static bool kind_out_of_range(Mtbundle__Manifest *m) {
  m->nodes[0]->kernel_kind = 999;
  return true;
}
static bool params_truncated(Mtbundle__Manifest *m) {
  Mtbundle__Node *n = bt_find_node(m, MT_KERNEL_TRANSPOSE);
  if (!n) return false;
  n->params.len -= 1;
  return true;
}
static bool transpose_perm_out_of_range(Mtbundle__Manifest *m) {
  Mtbundle__Node *n = bt_find_node(m, MT_KERNEL_TRANSPOSE);
  if (!n) return false;
  n->params.data[0] = 200; /* perm[0], little-endian int */
  return true;
}
static bool constant_index(Mtbundle__Manifest *m) {
  Mtbundle__BufferRef *r = find_ref(m, MTBUNDLE__BUFFER_REF__KIND__CONSTANT);
  if (!r) return false;
  r->index = 9999;
  return true;
}
static bool arena_offset(Mtbundle__Manifest *m) {
  Mtbundle__BufferRef *r = find_ref(m, MTBUNDLE__BUFFER_REF__KIND__ARENA);
  if (!r) r = find_ref(m, MTBUNDLE__BUFFER_REF__KIND__SCRATCH);
  if (!r) return false;
  r->offset = (uint64_t)1 << 50;
  return true;
}
static bool buffer_too_small(Mtbundle__Manifest *m) {
  Mtbundle__BufferRef *r = find_ref(m, MTBUNDLE__BUFFER_REF__KIND__ARENA);
  if (!r) r = find_ref(m, MTBUNDLE__BUFFER_REF__KIND__SCRATCH);
  if (!r) return false;
  r->size = 1;
  return true;
}
static bool later_wait(Mtbundle__Manifest *m) {
  static int32_t later = 1;
  m->groups[0]->n_waits = 1;
  m->groups[0]->waits = &later;
  return true;
}
static bool groups_miss_nodes(Mtbundle__Manifest *m) {
  m->groups[m->n_groups - 1]->n_nodes += 1;
  return true;
}
static bool future_encoding(Mtbundle__Manifest *m) {
  m->kc_encoding_version = 7;
  return true;
}
static bool tenant_partition(Mtbundle__Manifest *m) {
  m->tenants[0]->partition = 5;
  return true;
}
static bool write_into_constant(Mtbundle__Manifest *m) {
  Mtbundle__BufferRef *c = find_ref(m, MTBUNDLE__BUFFER_REF__KIND__CONSTANT);
  if (!c) return false;
  *m->nodes[0]->outputs[0] = *c;
  return true;
}
static bool string_dtype(Mtbundle__Manifest *m) {
  m->tenants[0]->inputs[0]->type->dtype = MT_DTYPE_STRING;
  return true;
}
static bool huge_arena(Mtbundle__Manifest *m) {
  m->partitions[0]->arena_bytes = (uint64_t)1 << 62;
  return true;
}
static bool constant_past_weights(Mtbundle__Manifest *m) {
  m->constants[0]->offset = (uint64_t)1 << 20;
  return true;
}
static bool node_tenant(Mtbundle__Manifest *m) {
  m->nodes[0]->tenant = 3;
  return true;
}
static bool no_tenants(Mtbundle__Manifest *m) {
  m->n_tenants = 0;
  return true;
}
static bool output_source_missing(Mtbundle__Manifest *m) {
  m->tenants[0]->outputs[0]->source->kind = MTBUNDLE__BUFFER_REF__KIND__NONE;
  return true;
}
static bool unknown_ref_kind(Mtbundle__Manifest *m) {
  m->nodes[0]->inputs[0]->kind = 17;
  return true;
}
static bool negative_dim(Mtbundle__Manifest *m) {
  m->constants[0]->type->dims[0] = -5;
  return true;
}

static const bt_manifest_case MANIFEST_CASES[] = {
    {"kernel kind out of range", kind_out_of_range, "kernel kind 999"},
    {"parameters truncated", params_truncated, "truncated"},
    {"transpose permutation out of range", transpose_perm_out_of_range, "permutation"},
    {"constant index out of range", constant_index, "constant index 9999"},
    {"buffer offset past the arena", arena_offset, "runs past the"},
    {"buffer smaller than its tensor", buffer_too_small, "holds a"},
    {"wait on a later group", later_wait, "not an earlier one"},
    {"groups do not cover the nodes", groups_miss_nodes, "are not the next"},
    {"future parameter encoding", future_encoding, "parameter encoding 7"},
    {"tenant partition out of range", tenant_partition, "partition index 5"},
    {"a node writes into a constant", write_into_constant, "writes into a constant"},
    {"unsupported dtype", string_dtype, "invalid type"},
    {"huge arena", huge_arena, "arena of"},
    {"constant past the weights", constant_past_weights, "past the weights"},
    {"node tenant out of range", node_tenant, "tenant index 3"},
    {"no tenants", no_tenants, "counts out of range"},
    {"output without a source", output_source_missing, "source is missing"},
    {"unknown buffer kind", unknown_ref_kind, "unknown buffer kind"},
    {"negative dim", negative_dim, "invalid type"},
};

static void test_manifest_corruptions(void **state) {
  fixture *f = *state;
  size_t n = sizeof MANIFEST_CASES / sizeof *MANIFEST_CASES;
  bt_expect_manifest_cases(f->image, f->size, MANIFEST_CASES, n);
  /* with the container cases: at least 25 distinct corruptions refused by name */
  assert_true(n + sizeof RAW_CASES / sizeof *RAW_CASES >= 25);
}

static void test_open_file_errors(void **state) {
  fixture *f = *state;
  mtrt_bundle *b = NULL;
  char *missing = tu_join(f->dir, "missing.mtbundle");
  assert_status(bt_st(mtrt_bundle_open(missing, NULL, &b)), MT_NOT_FOUND, "missing.mtbundle");
  free(missing);
  char *path = tu_join(f->dir, "a.mtbundle");
  assert_ok(bt_st(mtrt_bundle_open(path, NULL, &b)));
  assert_non_null(b);
  mtrt_bundle_close(b);
  free(path);
  assert_status(bt_st(mtrt_bundle_open(f->dir, NULL, &b)), MT_INVALID_ARGUMENT, "directory");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_runs_and_matches_hand_computation),
      cmocka_unit_test(test_sessions_from_8_threads),
      cmocka_unit_test(test_rebuild_is_byte_identical),
      cmocka_unit_test(test_container_corruptions),
      cmocka_unit_test(test_manifest_corruptions),
      cmocka_unit_test(test_open_file_errors),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, setup, bt_fixture_teardown));
}
