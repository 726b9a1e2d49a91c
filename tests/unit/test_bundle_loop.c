/* Loop and Scan in bundles (runtime/bundle/mtbundle.proto, LoopBody): a model with a Loop (three
 * iterations, a carried value, a scan output, an outer weight read in the body) and a Scan (a
 * state and one scan input) compiles into a bundle whose CPU path gives the outputs computed here
 * by hand, on 1 and 2 threads, and the loader refuses every broken loop description with a status
 * naming it: body ranges past the branch nodes or claimed twice, body inputs that are not scratch
 * of their own or share bytes, body values of the wrong type, scan outputs that do not hold the
 * trip count's slices, axes out of range, a loop with a kernel kind. With NVRTC, the bundle's GPU
 * plan leaves the Loop and Scan groups without code and the GPU graph refuses it naming the node
 * and why. Runs under ASan/UBSan in the sanitizer build. */
#include "test_util.h"

#include <string.h>

#include "bundle_test_util.h"
#include "codegen/cuda.h"
#include "runtime/gpu/graph_plan.h"

static const float W[6] = {0.5f, -1.0f, 2.0f, -0.25f, 1.5f, -3.0f};
static const float ZERO3[3] = {0, 0, 0};

typedef bt_fixture fixture;

/* Loop (M = 3): y <- y * w + 1 each iteration, scan output the new y; yf = Loop(x)
 * Scan over x's rows: acc <- acc + row, scan output acc * 2; accf, cum. x[2,3] */
static char *write_loop_model(const char *dir) {
  ob_builder b;
  ob_init(&b, 13);
  ob_input(&b, b.graph, "x", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 3), OB_PARAMS(NULL, NULL));
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "w", 2, OB_DIMS(2, 3), W, 6));
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "a0", 1, OB_DIMS(3), ZERO3, 3));
  float one = 1, two = 2;
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "one", 0, NULL, &one, 1));
  ob_initializer(&b, b.graph, ob_tensor_floats(&b, "two", 0, NULL, &two, 1));
  int64_t m = 3;
  ob_initializer(&b, b.graph, ob_tensor_raw(&b, "M", MT_DTYPE_INT64, 0, NULL, &m, sizeof m));
  Onnx__GraphProto *body = ob_graph(&b, "loop_body");
  ob_input(&b, body, "i", MT_DTYPE_INT64, 0, NULL, NULL);
  ob_input(&b, body, "c_in", MT_DTYPE_BOOL, 0, NULL, NULL);
  ob_input(&b, body, "y_in", MT_DTYPE_FLOAT32, 2, OB_DIMS(2, 3), OB_PARAMS(NULL, NULL));
  ob_node(&b, body, "Identity", "cond_id", OB_NAMES("c_in"), OB_NAMES("c_out"));
  ob_node(&b, body, "Mul", "body_mul", OB_NAMES("y_in", "w"), OB_NAMES("yw"));
  ob_node(&b, body, "Add", "body_add", OB_NAMES("yw", "one"), OB_NAMES("y_out"));
  ob_node(&b, body, "Identity", "scan_id", OB_NAMES("y_out"), OB_NAMES("s"));
  ob_output(&b, body, "c_out", MT_DTYPE_BOOL);
  ob_output(&b, body, "y_out", MT_DTYPE_FLOAT32);
  ob_output(&b, body, "s", MT_DTYPE_FLOAT32);
  Onnx__NodeProto *loop =
      ob_node(&b, b.graph, "Loop", "loop", OB_NAMES("M", "", "x"), OB_NAMES("yf", "ys"));
  ob_attr_graph(&b, loop, "body", body);
  Onnx__GraphProto *sbody = ob_graph(&b, "scan_body");
  ob_input(&b, sbody, "acc_in", MT_DTYPE_FLOAT32, 1, OB_DIMS(3), OB_PARAMS(NULL));
  ob_input(&b, sbody, "row", MT_DTYPE_FLOAT32, 1, OB_DIMS(3), OB_PARAMS(NULL));
  ob_node(&b, sbody, "Add", "scan_add", OB_NAMES("acc_in", "row"), OB_NAMES("acc_out"));
  ob_node(&b, sbody, "Mul", "scan_mul", OB_NAMES("acc_out", "two"), OB_NAMES("dbl"));
  ob_output(&b, sbody, "acc_out", MT_DTYPE_FLOAT32);
  ob_output(&b, sbody, "dbl", MT_DTYPE_FLOAT32);
  Onnx__NodeProto *scan =
      ob_node(&b, b.graph, "Scan", "scan", OB_NAMES("a0", "x"), OB_NAMES("accf", "cum"));
  ob_attr_graph(&b, scan, "body", sbody);
  ob_attr_int(&b, scan, "num_scan_inputs", 1);
  ob_output(&b, b.graph, "yf", MT_DTYPE_FLOAT32);
  ob_output(&b, b.graph, "ys", MT_DTYPE_FLOAT32);
  ob_output(&b, b.graph, "accf", MT_DTYPE_FLOAT32);
  ob_output(&b, b.graph, "cum", MT_DTYPE_FLOAT32);
  size_t len;
  void *bytes = ob_pack(&b, &len);
  char *p = tu_join(dir, "loop.onnx");
  tu_write_file(p, bytes, len);
  ob_free(&b);
  return p;
}

static int setup(void **state) {
  *state = bt_fixture_new(write_loop_model, "loop.mtbundle");
  return 0;
}

static void test_outputs_match_hand_computation(void **state) {
  fixture *f = *state;
  mtrt_bundle *b = NULL;
  assert_ok(bt_st(mtrt_bundle_open_memory(f->image, f->size, NULL, &b)));
  for (int threads = 1; threads <= 2; threads++) {
    mtrt_session_options o;
    mtrt_session_options_init(&o);
    o.cpu_threads = threads;
    mtrt_session *s = NULL;
    assert_ok(bt_st(mtrt_session_create(b, &o, &s)));
    float x[6] = {1, -2, 3, -0.5f, 0.25f, 4}, yf[6], ys[18], accf[3], cum[6];
    assert_ok(bt_st(mtrt_session_bind_input(s, 0, "x", x, sizeof x)));
    assert_ok(bt_st(mtrt_session_bind_output(s, 0, "yf", yf, sizeof yf)));
    assert_ok(bt_st(mtrt_session_bind_output(s, 0, "ys", ys, sizeof ys)));
    assert_ok(bt_st(mtrt_session_bind_output(s, 0, "accf", accf, sizeof accf)));
    assert_ok(bt_st(mtrt_session_bind_output(s, 0, "cum", cum, sizeof cum)));
    assert_ok(bt_st(mtrt_session_run(s, -1)));
    for (int i = 0; i < 6; i++) {
      float y = x[i];
      for (int k = 0; k < 3; k++) {
        y = y * W[i] + 1;
        assert_float_equal(ys[k * 6 + i], y, 1e-6);
      }
      assert_float_equal(yf[i], y, 1e-6);
    }
    for (int j = 0; j < 3; j++) {
      assert_float_equal(cum[j], 2 * x[j], 1e-6);
      assert_float_equal(cum[3 + j], 2 * (x[j] + x[3 + j]), 1e-6);
      assert_float_equal(accf[j], x[j] + x[3 + j], 1e-6);
    }
    mtrt_session_destroy(s);
  }
  mtrt_bundle_close(b);
}

/* ---- corruptions of the loop description ---- */

static Mtbundle__Node *find(Mtbundle__Manifest *m, bool scan) {
  for (size_t i = 0; i < m->n_nodes; i++)
    if (m->nodes[i]->loop && m->nodes[i]->loop->scan == scan) return m->nodes[i];
  return NULL;
}
static Mtbundle__LoopBody *loop_of(Mtbundle__Manifest *m) { return find(m, false)->loop; }
static Mtbundle__LoopBody *scan_of(Mtbundle__Manifest *m) { return find(m, true)->loop; }

static bool range_past_end(Mtbundle__Manifest *m) {
  loop_of(m)->body_count = 99;
  return true;
}
static bool body_claimed_twice(Mtbundle__Manifest *m) {
  scan_of(m)->body_first = loop_of(m)->body_first;
  return true;
}
static bool body_input_constant(Mtbundle__Manifest *m) {
  /* the carried value's body input, pointed at the weight read inside the body */
  Mtbundle__LoopBody *lb = loop_of(m);
  for (size_t i = 0; i < m->n_branch_nodes; i++)
    for (size_t k = 0; k < m->branch_nodes[i]->n_inputs; k++)
      if (m->branch_nodes[i]->inputs[k]->kind == MTBUNDLE__BUFFER_REF__KIND__CONSTANT &&
          m->branch_nodes[i]->inputs[k]->type->n_dims == 2) {
        lb->body_inputs[2] = m->branch_nodes[i]->inputs[k];
        return true;
      }
  return false;
}
static bool body_inputs_share(Mtbundle__Manifest *m) {
  Mtbundle__LoopBody *lb = loop_of(m);
  lb->body_inputs[1]->offset = lb->body_inputs[0]->offset;
  return true;
}
static bool iteration_not_int64(Mtbundle__Manifest *m) {
  loop_of(m)->body_inputs[0]->type->dtype = MT_DTYPE_INT32;
  return true;
}
static bool trips_not_scan_length(Mtbundle__Manifest *m) {
  loop_of(m)->max_trips = 4;
  return true;
}
static bool trips_negative(Mtbundle__Manifest *m) {
  loop_of(m)->max_trips = -1;
  return true;
}
static bool carried_changes_type(Mtbundle__Manifest *m) {
  loop_of(m)->body_outputs[1]->type->dims[0] = 1;
  return true;
}
static bool too_few_body_outputs(Mtbundle__Manifest *m) {
  loop_of(m)->n_body_outputs = 1;
  return true;
}
static bool loop_with_kernel_kind(Mtbundle__Manifest *m) {
  find(m, false)->kernel_kind = MT_KERNEL_UNARY;
  return true;
}
static bool scan_input_axis_wrong(Mtbundle__Manifest *m) {
  scan_of(m)->scan_input_axes[0] = 1;
  return true;
}
static bool scan_output_axis_out_of_range(Mtbundle__Manifest *m) {
  scan_of(m)->scan_output_axes[0] = 5;
  return true;
}
static bool scan_reverse_count(Mtbundle__Manifest *m) {
  scan_of(m)->n_scan_output_reverse = 0;
  return true;
}
static bool scan_with_loop_fields(Mtbundle__Manifest *m) {
  scan_of(m)->max_trips = 2;
  return true;
}

static const bt_manifest_case CASES[] = {
    {"body range past the branch nodes", range_past_end, "are not branch nodes before it"},
    {"body claimed by two loops", body_claimed_twice, "belongs to another branch"},
    {"body input in a constant", body_input_constant, "body input 2"},
    {"body inputs sharing bytes", body_inputs_share, "share bytes"},
    {"iteration number not int64", iteration_not_int64, "iteration number"},
    {"max_trips not the scan length", trips_not_scan_length, "is not max_trips (4)"},
    {"max_trips negative", trips_negative, "out of range"},
    {"carried value changes type", carried_changes_type, "loop-carried value 0 changes type"},
    {"too few body outputs", too_few_body_outputs, "a Loop with"},
    {"Loop with a kernel kind", loop_with_kernel_kind, "kernel kind, parameters or branches"},
    {"scan input axis of another length", scan_input_axis_wrong, "scan input 0"},
    {"scan output axis out of range", scan_output_axis_out_of_range, "scan output 0 is not"},
    {"scan directions count", scan_reverse_count, "a Scan with"},
    {"Scan with max_trips", scan_with_loop_fields, "a Scan with"},
};

static void test_loop_corruptions(void **state) {
  fixture *f = *state;
  for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
    Mtbundle__Manifest *m = bt_unpack_manifest(f->image, f->size, NULL);
    assert_non_null(find(m, false));
    assert_non_null(find(m, true));
    Mtbundle__LoopBody *lb = loop_of(m), *sb = scan_of(m);
    Mtbundle__BufferRef *carried_in = lb->body_inputs[2];
    size_t n_outs = lb->n_body_outputs, n_rev = sb->n_scan_output_reverse;
    assert_true(CASES[i].apply(m));
    bt_expect_manifest_refused(f->image, f->size, m, CASES[i].name, CASES[i].needle);
    lb->body_inputs[2] = carried_in; /* pointers the mutation borrowed: restore before freeing */
    lb->n_body_outputs = n_outs;
    sb->n_scan_output_reverse = n_rev;
    mtbundle__manifest__free_unpacked(m, NULL);
  }
}

/* The GPU side: codegen has no kernel for a body, so the graph builder (what a GPU session runs)
 * refuses the bundle naming the Loop's group, node and reason; no driver is involved. */
static void test_gpu_plan_refuses_loops(void **state) {
  fixture *f = *state;
  if (!mt_cuda_nvrtc_available()) {
    printf("skipped: the GPU plan needs NVRTC: %s\n", mt_cuda_nvrtc_describe());
    return;
  }
  char *model = write_loop_model(f->dir);
  size_t size;
  uint8_t *img = bt_compile_bundle(model, f->dir, "loop_gpu.mtbundle", true, &size);
  Mtbundle__Manifest *m = bt_unpack_manifest(img, size, NULL);
  assert_int_equal(m->n_gpu_groups, m->n_groups);
  mt_gpu_graph *g = NULL;
  mt_status *st = mt_gpu_graph_build(m, -1, &g);
  assert_non_null(st);
  const char *msg = mt_status_message(st);
  assert_non_null(strstr(msg, "has no GPU code"));
  assert_non_null(strstr(msg, "(Loop): Loop/Scan have no GPU code"));
  mt_status_free(st);
  mtbundle__manifest__free_unpacked(m, NULL);
  free(img);
  free(model);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_outputs_match_hand_computation),
      cmocka_unit_test(test_loop_corruptions),
      cmocka_unit_test(test_gpu_plan_refuses_loops),
  };
  return cmocka_run_group_tests(tests, setup, bt_fixture_teardown);
}
