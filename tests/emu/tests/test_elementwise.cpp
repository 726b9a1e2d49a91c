/* Emulator tests: grid-stride loop, device math, __half, vector loads, __trap. */
#include "harness.h"

#include "../kernels/elementwise.cu"

EMU_TEST(grid_stride_fewer_blocks) {
  const int n = 1000;
  std::vector<float> hx = emu_test_random(n, 5, -3, 3);
  float *x = dev_copy(hx), *y = dev_alloc<float>(n);
  CHECK_OK(
      EMU_LAUNCH(axpb_grid_stride, dim3(3), dim3(64), 0, x, y, 1.5f, -0.25f, n)); /* 192 threads */
  for (int i = 0; i < n; i++) CHECK(y[i] == std::fma(1.5f, hx[i], -0.25f));
  emu_free(x);
  emu_free(y);
  return 0;
}

EMU_TEST(math_intrinsics) {
  const int n = 300;
  std::vector<float> hx = emu_test_random(n, 9, -6, 6);
  float *x = dev_copy(hx), *out = dev_alloc<float>(8 * n);
  CHECK_OK(EMU_LAUNCH(math_ops, dim3(3), dim3(128), 0, x, out, n));
  for (int i = 0; i < n; i++) {
    double v = hx[i];
    double want[8] = {0.5 * v * (1 + std::erf(v / std::sqrt(2.0))),
                      0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))),
                      std::exp(v),
                      1 / std::sqrt(std::fabs(v) + 1),
                      v / (1 + std::exp(-v)),
                      std::fmax(v, 0) + std::fmin(-1.0, (double)(int)hx[i]),
                      v < 0   ? 0
                      : v > 1 ? 1
                              : v,
                      std::log1p(std::exp(v))};
    for (int k = 0; k < 8; k++) CHECK_NEAR(out[8 * i + k], want[k], 2e-6);
  }
  emu_free(x);
  emu_free(out);
  return 0;
}

EMU_TEST(half_conversions) {
  struct {
    float f;
    unsigned short bits;
  } cases[] = {{1.0f, 0x3C00},           {-2.0f, 0xC000},         {65504.0f, 0x7BFF},
               {65519.0f, 0x7BFF},       {65520.0f, 0x7C00},      {1e9f, 0x7C00},
               {0.1f, 0x2E66},           {5.9604645e-8f, 0x0001}, {2.9802322e-8f, 0x0000},
               {8.9406967e-8f, 0x0002},  {6.1035156e-5f, 0x0400}, {1.00048828125f, 0x3C00},
               {1.00146484375f, 0x3C02}, {-0.0f, 0x8000}};
  for (auto &c : cases) {
    __half h = __float2half(c.f);
    if (__half_as_ushort(h) != c.bits)
      fprintf(stderr, "%.9g -> 0x%04x, want 0x%04x\n", c.f, __half_as_ushort(h), c.bits);
    CHECK(__half_as_ushort(h) == c.bits);
    if (c.bits != 0x7C00) CHECK(__half2float(h) == (float)__half(c.f));
  }
  CHECK(std::isnan(__half2float(__float2half(NAN))));
  CHECK(__half2float(__ushort_as_half(0x0001)) == 5.9604645e-8f);
  CHECK(__half_as_ushort(__float2half_rz(65519.0f)) == 0x7BFF &&
        __half_as_ushort(__float2half_rz(1e9f)) == 0x7BFF);

  const int n = 100;
  std::vector<__half> hx(n);
  for (int i = 0; i < n; i++) hx[i] = __float2half((float)(i - 50) * 0.37f);
  __half *x = dev_copy(hx), *y = dev_alloc<__half>(n);
  CHECK_OK(EMU_LAUNCH(half_scale, dim3(2), dim3(64), 0, x, y, 2.5f, n));
  for (int i = 0; i < n; i++)
    CHECK(__half_as_ushort(y[i]) == __half_as_ushort(__float2half(__half2float(hx[i]) * 2.5f)));
  emu_free(x);
  emu_free(y);
  return 0;
}

EMU_TEST(vector_loads) {
  const int n4 = 100;
  std::vector<float> hx = emu_test_random(4 * n4, 4, -1, 1);
  float *x = dev_copy(hx), *y = dev_alloc<float>(4 * n4);
  CHECK_OK(EMU_LAUNCH(vec4_scale, dim3(2), dim3(64), 0, x, y, -3.0f, n4));
  for (int i = 0; i < 4 * n4; i++) CHECK(y[i] == -3.0f * hx[i]);
  emu_free(x);
  emu_free(y);
  return 0;
}

EMU_TEST(trap_reports) {
  std::vector<float> hx(200, 1.0f);
  hx[77] = -1.0f;
  float *x = dev_copy(hx);
  CHECK_ERR(EMU_LAUNCH(trap_if_negative, dim3(4), dim3(64), 0, x, 200), EMU_ERR_TRAP, "__trap",
            "block (1,0,0), thread (13,0,0)");
  emu_free(x);
  return 0;
}
