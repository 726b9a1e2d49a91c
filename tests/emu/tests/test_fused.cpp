/* Emulator test: a kernel whose blocks run two different bodies (horizontal fusion). */
#include "harness.h"

#include "../kernels/fused.cu"

EMU_TEST(fused_two_bodies) {
  const int rows = 5, cols = 300, h = 70, w = 45;
  const int tiles = ((w + 31) / 32) * ((h + 31) / 32);
  std::vector<float> ha = emu_test_random((size_t)rows * cols, 21, -4, 4),
                     hb = emu_test_random((size_t)h * w, 22, -1, 1);
  float *a = dev_copy(ha), *ao = dev_alloc<float>(ha.size()), *b = dev_copy(hb),
        *bo = dev_alloc<float>(hb.size());
  CHECK_OK(EMU_LAUNCH(fused_softmax_transpose, dim3(rows + tiles), dim3(FU_THREADS), 0, a, ao, rows,
                      cols, b, bo, h, w));
  for (int r = 0; r < rows; r++) {
    double m = -1e30, s = 0;
    for (int c = 0; c < cols; c++) m = std::fmax(m, ha[(size_t)r * cols + c]);
    for (int c = 0; c < cols; c++) s += std::exp(ha[(size_t)r * cols + c] - m);
    for (int c = 0; c < cols; c++)
      CHECK_NEAR(ao[(size_t)r * cols + c], std::exp(ha[(size_t)r * cols + c] - m) / s, 1e-5);
  }
  for (int r = 0; r < h; r++)
    for (int c = 0; c < w; c++) CHECK(bo[(size_t)c * h + r] == hb[(size_t)r * w + c]);
  emu_free(a);
  emu_free(ao);
  emu_free(b);
  emu_free(bo);
  return 0;
}
