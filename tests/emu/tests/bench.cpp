/* Speed of the emulator: ns per fiber switch, us per __syncthreads() of a 256-thread block, and a
 * barrier-heavy shared-memory kernel. `emu_bench --check US` fails when a 256-thread barrier costs
 * more than US microseconds (best of several runs, to ride out a busy machine). */
#include <chrono>
#include <string>

#include "harness.h"
#include "../src/emu_fiber.h"

#include "../kernels/bench.cu"

static emu_fiber g_main, g_f;
static long g_left;

static void pong(void) {
  for (;;) emu_fiber_switch(&g_f, &g_main);
}

static double now_s(void) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/* Main <-> fiber round trips: two switches each. */
static double ns_per_switch(long rounds) {
  emu_fiber_init_main(&g_main);
  emu_fiber_alloc(&g_f, 64 * 1024);
  emu_fiber_arm(&g_f, pong);
  double t0 = now_s();
  for (g_left = rounds; g_left > 0; g_left--) emu_fiber_switch(&g_main, &g_f);
  double t1 = now_s();
  emu_fiber_release(&g_f);
  return (t1 - t0) * 1e9 / (2.0 * rounds);
}

static double us_per_barrier(unsigned threads, int iters) {
  int *out = dev_alloc<int>(1);
  double t0 = now_s();
  int rc = EMU_LAUNCH(bench_barriers, dim3(1), dim3(threads), 0, out, iters);
  double t1 = now_s();
  emu_free(out);
  if (rc) {
    fprintf(stderr, "bench_barriers: %s\n", emu_last_error());
    return 1e9;
  }
  return (t1 - t0) * 1e6 / iters;
}

static double us_per_reduce_iter(unsigned threads, int iters) {
  std::vector<float> hx(threads, 1.0f);
  float *x = dev_copy(hx), *out = dev_alloc<float>(1);
  double t0 = now_s();
  int rc =
      EMU_LAUNCH(bench_smem_reduce, dim3(1), dim3(threads), threads * sizeof(float), x, out, iters);
  double t1 = now_s();
  emu_free(x);
  emu_free(out);
  if (rc) {
    fprintf(stderr, "bench_smem_reduce: %s\n", emu_last_error());
    return 1e9;
  }
  return (t1 - t0) * 1e6 / iters;
}

/* Thread start-up cost: a one-line elementwise kernel over many blocks. */
static double ns_per_thread(unsigned blocks, unsigned threads) {
  size_t n = (size_t)blocks * threads;
  std::vector<float> hx(n, 1.0f);
  float *x = dev_copy(hx), *y = dev_alloc<float>(n);
  double t0 = now_s();
  int rc = EMU_LAUNCH(bench_axpy, dim3(blocks), dim3(threads), 0, x, y, (int)n);
  double t1 = now_s();
  emu_free(x);
  emu_free(y);
  if (rc) {
    fprintf(stderr, "bench_axpy: %s\n", emu_last_error());
    return 1e9;
  }
  return (t1 - t0) * 1e9 / (double)n;
}

int main(int argc, char **argv) {
  double limit = argc == 3 && std::string(argv[1]) == "--check" ? std::atof(argv[2]) : 0;
  double sw = 1e9, b256 = 1e9, b1024 = 1e9, r256 = 1e9, nt = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    sw = std::fmin(sw, ns_per_switch(200000));
    b256 = std::fmin(b256, us_per_barrier(256, 2000));
    b1024 = std::fmin(b1024, us_per_barrier(1024, 500));
    r256 = std::fmin(r256, us_per_reduce_iter(256, 100));
    nt = std::fmin(nt, ns_per_thread(1024, 256));
  }
  printf("fiber implementation:               %s\n", emu_fiber_impl());
  printf("context switch:                     %.1f ns\n", sw);
  printf("__syncthreads(), 256 threads:       %.2f us\n", b256);
  printf("__syncthreads(), 1024 threads:      %.2f us\n", b1024);
  printf("256-thread smem tree reduction:     %.1f us per reduction (10 barriers, checked shared "
         "memory)\n",
         r256);
  printf("elementwise kernel, 1024x256:       %.1f ns per thread\n", nt);
  if (limit > 0 && b256 > limit) {
    fprintf(stderr, "a 256-thread barrier costs %.2f us, above the %.2f us budget\n", b256, limit);
    return 1;
  }
  return 0;
}
