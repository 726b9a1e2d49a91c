/* The detection and vision kernels (runtime/cpu/kernel_call_vision.c, kernel_call_unique.c) at
 * the edges the ONNX backend cases do not reach: NonMaxSuppression's tie order, strict score
 * threshold and absent max_output_boxes_per_class (nothing selected); Unique over slices of a
 * middle axis in order of first occurrence and over an empty input; Det of singular and 1x1
 * matrices; and the bad index values the kernels refuse with a status (a RoiAlign batch index out
 * of range, a MaxUnpool index outside its plane). Expected values are worked out by hand from the
 * ONNX specification. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/kernel_call.h"

static mt_tensor tensor(mt_dtype dt, int rank, const int64_t *dims, void *data) {
  mt_tensor t = {.dtype = dt, .rank = rank, .data = data};
  if (rank > 0) memcpy(t.dims, dims, (size_t)rank * sizeof *dims);
  return t;
}

/* Two batches' worth in one: boxes 0 and 2 coincide (IoU 1), box 1 is apart; equal scores. */
static void test_nms_ties_threshold_and_limit(void **state) {
  (void)state;
  float boxes[3 * 4] = {0, 0, 1, 1, 5, 5, 6, 6, 0, 0, 1, 1};
  float scores[3] = {0.5f, 0.5f, 0.5f};
  int64_t max_out = 3;
  float iou = 0.5f, thr = 0.4f, thr_high = 0.5f;
  mt_tensor b = tensor(MT_DTYPE_FLOAT32, 3, (int64_t[]){1, 3, 4}, boxes);
  mt_tensor s = tensor(MT_DTYPE_FLOAT32, 3, (int64_t[]){1, 1, 3}, scores);
  mt_tensor m = tensor(MT_DTYPE_INT64, 1, (int64_t[]){1}, &max_out);
  mt_tensor io = tensor(MT_DTYPE_FLOAT32, 1, (int64_t[]){1}, &iou);
  mt_tensor th = tensor(MT_DTYPE_FLOAT32, 1, (int64_t[]){1}, &thr);
  mt_kernel_call call = {.kind = MT_KERNEL_NMS};
  const mt_tensor *in[5] = {&b, &s, &m, &io, &th};
  mt_tensor out = {0};
  assert_ok(mt_cpu_kernel_run(&call, 5, in, 1, &out));
  /* ties go to the lower box index: 0 is kept, 2 suppressed by it, 1 kept */
  assert_int_equal(out.rank, 2);
  assert_int_equal(out.dims[0], 2);
  const int64_t want[6] = {0, 0, 0, 0, 0, 1};
  assert_memory_equal(out.data, want, sizeof want);
  free(out.data);
  /* the score threshold is strict: scores equal to it are dropped */
  th.data = &thr_high;
  memset(&out, 0, sizeof out);
  assert_ok(mt_cpu_kernel_run(&call, 5, in, 1, &out));
  assert_int_equal(out.dims[0], 0);
  free(out.data);
  /* without max_output_boxes_per_class nothing is selected (its default is 0) */
  memset(&out, 0, sizeof out);
  assert_ok(mt_cpu_kernel_run(&call, 2, in, 1, &out));
  assert_int_equal(out.dims[0], 0);
  free(out.data);
}

static void test_unique_middle_axis_unsorted(void **state) {
  (void)state;
  /* x [2, 3, 1]: along axis 1 the slices are (3, 1), (2, 2), (3, 1) -> 2 distinct */
  int32_t x[6] = {3, 2, 3, 1, 2, 1};
  mt_tensor t = tensor(MT_DTYPE_INT32, 3, (int64_t[]){2, 3, 1}, x);
  mt_kernel_call call = {.kind = MT_KERNEL_UNIQUE,
                         .params.unique = {.axis = 1, .flatten = false, .sorted = false}};
  const mt_tensor *in[1] = {&t};
  mt_tensor out[4] = {0};
  assert_ok(mt_cpu_kernel_run(&call, 1, in, 4, out));
  assert_int_equal(out[0].rank, 3);
  assert_int_equal(out[0].dims[1], 2);
  const int32_t y[4] = {3, 2, 1, 2}; /* [2, 2, 1]: first occurrences in order */
  assert_memory_equal(out[0].data, y, sizeof y);
  const int64_t idx[2] = {0, 1}, inv[3] = {0, 1, 0}, cnt[2] = {2, 1};
  assert_memory_equal(out[1].data, idx, sizeof idx);
  assert_memory_equal(out[2].data, inv, sizeof inv);
  assert_memory_equal(out[3].data, cnt, sizeof cnt);
  for (int i = 0; i < 4; i++) free(out[i].data);
  /* sorted: slice (2, 2) < (3, 1) lexicographically */
  call.params.unique.sorted = true;
  memset(out, 0, sizeof out);
  assert_ok(mt_cpu_kernel_run(&call, 1, in, 4, out));
  const int32_t ys[4] = {2, 3, 2, 1};
  const int64_t idxs[2] = {1, 0}, invs[3] = {1, 0, 1}, cnts[2] = {1, 2};
  assert_memory_equal(out[0].data, ys, sizeof ys);
  assert_memory_equal(out[1].data, idxs, sizeof idxs);
  assert_memory_equal(out[2].data, invs, sizeof invs);
  assert_memory_equal(out[3].data, cnts, sizeof cnts);
  for (int i = 0; i < 4; i++) free(out[i].data);
  /* an empty input has no distinct values */
  mt_tensor e = tensor(MT_DTYPE_FLOAT32, 1, (int64_t[]){0}, x);
  call.params.unique = (mt_kc_unique){.flatten = true, .sorted = true};
  in[0] = &e;
  memset(out, 0, sizeof out);
  assert_ok(mt_cpu_kernel_run(&call, 1, in, 4, out));
  assert_int_equal(out[0].dims[0], 0);
  assert_int_equal(out[2].dims[0], 0);
  for (int i = 0; i < 4; i++) free(out[i].data);
}

static void test_det_singular_and_scalar(void **state) {
  (void)state;
  float a[2 * 2 * 2] = {1, 2, 2, 4, /* singular */ 0, 3, 2, 1 /* needs a row swap: -6 */};
  float y[2] = {7, 7};
  mt_tensor x = tensor(MT_DTYPE_FLOAT32, 3, (int64_t[]){2, 2, 2}, a);
  mt_tensor o = tensor(MT_DTYPE_FLOAT32, 1, (int64_t[]){2}, y);
  mt_kernel_call call = {.kind = MT_KERNEL_DET};
  const mt_tensor *in[1] = {&x};
  assert_ok(mt_cpu_kernel_run(&call, 1, in, 1, &o));
  assert_true(y[0] == 0.0f && y[1] == -6.0f);
  double one = -2.5, det = 0;
  mt_tensor x1 = tensor(MT_DTYPE_FLOAT64, 2, (int64_t[]){1, 1}, &one);
  mt_tensor o1 = tensor(MT_DTYPE_FLOAT64, 0, NULL, &det);
  in[0] = &x1;
  assert_ok(mt_cpu_kernel_run(&call, 1, in, 1, &o1));
  assert_true(det == -2.5);
}

static void test_bad_indices_are_statuses(void **state) {
  (void)state;
  float x[1 * 1 * 2 * 2] = {1, 2, 3, 4}, rois[4] = {0, 0, 1, 1}, y[4];
  int64_t batch = 1; /* x has one batch */
  mt_tensor tx = tensor(MT_DTYPE_FLOAT32, 4, (int64_t[]){1, 1, 2, 2}, x);
  mt_tensor tr = tensor(MT_DTYPE_FLOAT32, 2, (int64_t[]){1, 4}, rois);
  mt_tensor tb = tensor(MT_DTYPE_INT64, 1, (int64_t[]){1}, &batch);
  mt_tensor ty = tensor(MT_DTYPE_FLOAT32, 4, (int64_t[]){1, 1, 1, 1}, y);
  mt_kernel_call ra = {.kind = MT_KERNEL_ROI_ALIGN, .params.roi_align = {.spatial_scale = 1}};
  const mt_tensor *in3[3] = {&tx, &tr, &tb};
  assert_status(mt_cpu_kernel_run(&ra, 3, in3, 1, &ty), MT_OUT_OF_RANGE, "batch index 1");
  /* MaxUnpool of [1, 2, 1] into planes of 2: element 1's index 1 lies in plane 0, not its own */
  float v[2] = {5, 6}, u[4];
  int64_t idx[2] = {1, 1};
  mt_tensor tv = tensor(MT_DTYPE_FLOAT32, 3, (int64_t[]){1, 2, 1}, v);
  mt_tensor ti = tensor(MT_DTYPE_INT64, 3, (int64_t[]){1, 2, 1}, idx);
  mt_tensor tu = tensor(MT_DTYPE_FLOAT32, 3, (int64_t[]){1, 2, 2}, u);
  mt_kernel_call mu = {.kind = MT_KERNEL_MAX_UNPOOL, .params.max_unpool = {.unpooled = {2}}};
  const mt_tensor *in2[2] = {&tv, &ti};
  assert_status(mt_cpu_kernel_run(&mu, 2, in2, 1, &tu), MT_OUT_OF_RANGE, "element 1");
  idx[1] = 3; /* plane 1, position 1 */
  assert_ok(mt_cpu_kernel_run(&mu, 2, in2, 1, &tu));
  const float want[4] = {0, 5, 0, 6};
  assert_memory_equal(u, want, sizeof want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nms_ties_threshold_and_limit),
      cmocka_unit_test(test_unique_middle_axis_unsorted),
      cmocka_unit_test(test_det_singular_and_scalar),
      cmocka_unit_test(test_bad_indices_are_statuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
