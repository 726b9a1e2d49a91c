/* Emulator tests: block-wide tree reduction and warp-shuffle reductions with atomics. */
#include <cfloat>
#include <climits>

#include "harness.h"

#include "../kernels/reduce.cu"

EMU_TEST(block_tree_reduction) {
  const int n = 10000;
  std::vector<float> hx = emu_test_random(n, 7, -1, 1);
  float *x = dev_copy(hx);
  for (unsigned threads : {32u, 256u, 1024u}) {
    const unsigned grid = 7;
    float *partial = dev_alloc<float>(grid);
    CHECK_OK(EMU_LAUNCH(block_reduce_sum, dim3(grid), dim3(threads), threads * sizeof(float), x,
                        partial, n));
    double want = 0, got = 0;
    for (int i = 0; i < n; i++) want += hx[i];
    for (unsigned b = 0; b < grid; b++) got += partial[b];
    CHECK_NEAR(got, want, 1e-4);
    /* One block's partial, exactly: the same tree order on the host. */
    std::vector<float> s(threads);
    for (unsigned t = 0; t < threads; t++) {
      float acc = 0;
      for (int i = (int)t; i < n; i += (int)(threads * grid)) acc += hx[i];
      s[t] = acc;
    }
    for (unsigned stride = threads / 2; stride > 0; stride >>= 1)
      for (unsigned t = 0; t < stride; t++) s[t] += s[t + stride];
    CHECK(partial[0] == s[0]);
    emu_free(partial);
  }
  emu_free(x);
  return 0;
}

EMU_TEST(warp_shuffle_reduction) {
  const int n = 1000;
  const unsigned threads = 128, grid = (n + threads - 1) / threads;
  std::vector<float> hx = emu_test_random(n, 3, -50, 60);
  float *x = dev_copy(hx);
  float *sum = dev_alloc<float>(1), *mx = dev_alloc<float>(1);
  int *imax = dev_alloc<int>(1), *flags = dev_alloc<int>(grid * 32);
  unsigned *count = dev_alloc<unsigned>(1);
  *sum = 0;
  *mx = -FLT_MAX;
  *imax = INT_MIN;
  *count = 0;
  CHECK_OK(
      EMU_LAUNCH(warp_reduce, dim3(grid), dim3(threads), 0, x, sum, mx, imax, count, flags, n));
  double want_sum = 0;
  float want_max = -FLT_MAX;
  unsigned want_count = 0;
  for (int i = 0; i < n; i++) {
    want_sum += hx[i];
    want_max = std::fmax(want_max, hx[i]);
    want_count += hx[i] > 0;
  }
  CHECK_NEAR(*sum, want_sum, 1e-4);
  CHECK(*mx == want_max);
  CHECK(*imax == (int)std::floor(want_max));
  CHECK(*count == want_count);
  for (unsigned w = 0; w < grid * threads / 32; w++) {
    int any_neg = 0, all_valid = 1;
    for (unsigned l = 0; l < 32; l++) {
      unsigned i = w * 32 + l;
      if (i < (unsigned)n)
        any_neg |= hx[i] < 0;
      else
        all_valid = 0;
    }
    CHECK(flags[(w / 4) * 32 + w % 4] == any_neg + 2 * all_valid);
  }
  emu_free(x);
  emu_free(sum);
  emu_free(mx);
  emu_free(imax);
  emu_free(flags);
  emu_free(count);
  return 0;
}
