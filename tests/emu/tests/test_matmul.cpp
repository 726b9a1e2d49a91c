/* Emulator test: tiled shared-memory matrix product against a host reference. */
#include "harness.h"

#include "../kernels/matmul.cu"

static int check_matmul(int M, int N, int K) {
  std::vector<float> ha = emu_test_random((size_t)M * K, 11, -1, 1),
                     hb = emu_test_random((size_t)K * N, 12, -1, 1);
  float *a = dev_copy(ha), *b = dev_copy(hb), *c = dev_alloc<float>((size_t)M * N);
  dim3 grid((N + 15) / 16, (M + 15) / 16), block(16, 16);
  CHECK_OK(EMU_LAUNCH(matmul_tiled, grid, block, 0, a, b, c, M, N, K));
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double want = 0;
      for (int k = 0; k < K; k++) want += (double)ha[(size_t)i * K + k] * hb[(size_t)k * N + j];
      CHECK_NEAR(c[(size_t)i * N + j], want, 1e-5);
    }
  emu_free(a);
  emu_free(b);
  emu_free(c);
  return 0;
}

EMU_TEST(tiled_matmul) {
  CHECK(check_matmul(64, 48, 32) == 0);
  CHECK(check_matmul(37, 45, 53) == 0); /* ragged edges in every dimension */
  CHECK(check_matmul(1, 1, 1) == 0);
  return 0;
}
