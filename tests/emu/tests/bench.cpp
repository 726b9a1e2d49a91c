/* Speed of the emulator (a benchmark, not a test: scripts/bench_emu.py runs it next to its peer):
 * ns per fiber switch, us per __syncthreads() of a 256- and a 1024-thread block, a barrier-heavy
 * shared-memory kernel and the per-thread start-up cost, best of several runs.
 *
 *   emu_bench              the numbers, one per line
 *   emu_bench --json       the same as one JSON object (what scripts/bench_emu.py reads)
 *   emu_bench --selfcheck IMPL
 *                          the `emu_bench_selfcheck` CTest: no timing at all; the fiber
 *                          implementation in use is IMPL, every benchmark kernel finishes with the
 *                          right results (every thread of the block passed every barrier) and a
 *                          fiber switched to N times ran N times. Timing thresholds do not belong in
 *                          tests: they fail on a loaded machine and say nothing on an idle one. */
#include <chrono>
#include <string>

#include "harness.h"
#include "../src/emu_fiber.h"

#include "../kernels/bench.cu"

static emu_fiber g_main, g_f;
static long g_left, g_pongs;

static void pong(void) {
  for (;;) {
    g_pongs++;
    emu_fiber_switch(&g_f, &g_main);
  }
}

static double now_s(void) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/* Main <-> fiber round trips: two switches each. */
static double ns_per_switch(long rounds) {
  emu_fiber_init_main(&g_main);
  emu_fiber_alloc(&g_f, 64 * 1024);
  emu_fiber_arm(&g_f, pong);
  g_pongs = 0;
  double t0 = now_s();
  for (g_left = rounds; g_left > 0; g_left--) emu_fiber_switch(&g_main, &g_f);
  double t1 = now_s();
  emu_fiber_release(&g_f);
  emu_fiber_release(&g_main); /* the ucontext build's main context */
  return (t1 - t0) * 1e9 / (2.0 * rounds);
}

/* bench_barriers: `iters` barriers, then every thread stores iters into its own slot. A thread a
 * barrier left behind never stores (the launch reports a deadlock or the slot keeps emu_malloc's
 * 0xFF fill), so `*all_passed` says whether every thread passed every barrier. */
static double us_per_barrier(unsigned threads, int iters, bool *all_passed) {
  int *out = dev_alloc<int>(threads);
  double t0 = now_s();
  int rc = EMU_LAUNCH(bench_barriers, dim3(1), dim3(threads), 0, out, iters);
  double t1 = now_s();
  bool ok = rc == 0;
  for (unsigned t = 0; ok && t < threads; t++) ok = out[t] == iters;
  if (all_passed) *all_passed = ok;
  emu_free(out);
  if (rc) {
    fprintf(stderr, "bench_barriers: %s\n", emu_last_error());
    return 1e9;
  }
  return (t1 - t0) * 1e6 / iters;
}

/* The reduction over x[t] = 1 adds threads + it per iteration: threads * iters + threads *
 * iters * (iters - 1) / 2 in all, exact in float for the sizes used here. */
static double us_per_reduce_iter(unsigned threads, int iters, float *result) {
  std::vector<float> hx(threads, 1.0f);
  float *x = dev_copy(hx), *out = dev_alloc<float>(1);
  double t0 = now_s();
  int rc =
      EMU_LAUNCH(bench_smem_reduce, dim3(1), dim3(threads), threads * sizeof(float), x, out, iters);
  double t1 = now_s();
  if (result) *result = rc ? -1.0f : out[0];
  emu_free(x);
  emu_free(out);
  if (rc) {
    fprintf(stderr, "bench_smem_reduce: %s\n", emu_last_error());
    return 1e9;
  }
  return (t1 - t0) * 1e6 / iters;
}

/* Thread start-up cost: a one-line elementwise kernel over many blocks. */
static double ns_per_thread(unsigned blocks, unsigned threads, bool *all_written) {
  size_t n = (size_t)blocks * threads;
  std::vector<float> hx(n, 1.0f);
  float *x = dev_copy(hx), *y = dev_alloc<float>(n);
  double t0 = now_s();
  int rc = EMU_LAUNCH(bench_axpy, dim3(blocks), dim3(threads), 0, x, y, (int)n);
  double t1 = now_s();
  bool ok = rc == 0;
  for (size_t i = 0; ok && i < n; i++) ok = y[i] == 3.0f;
  if (all_written) *all_written = ok;
  emu_free(x);
  emu_free(y);
  if (rc) {
    fprintf(stderr, "bench_axpy: %s\n", emu_last_error());
    return 1e9;
  }
  return (t1 - t0) * 1e9 / (double)n;
}

#define SELF_CHECK(cond, ...)                                                                      \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "emu_bench --selfcheck: " __VA_ARGS__);                                      \
      fputc('\n', stderr);                                                                         \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

static int selfcheck(const char *want_impl) {
  SELF_CHECK(std::string(emu_fiber_impl()) == want_impl,
             "the fiber implementation in use is '%s', expected '%s'", emu_fiber_impl(), want_impl);
  ns_per_switch(1000);
  SELF_CHECK(g_pongs == 1000, "1000 switches to the fiber ran it %ld times", g_pongs);
  for (unsigned threads : {1u, 32u, 256u, 1024u}) {
    bool ok = false;
    us_per_barrier(threads, 20, &ok);
    SELF_CHECK(ok, "bench_barriers, %u threads: not every thread passed all 20 barriers", threads);
  }
  const int iters = 10;
  float got = 0.0f, want = 256.0f * iters + 256.0f * iters * (iters - 1) / 2.0f;
  us_per_reduce_iter(256, iters, &got);
  SELF_CHECK(got == want, "bench_smem_reduce, 256 threads: %g, expected %g", got, want);
  bool ok = false;
  ns_per_thread(64, 256, &ok);
  SELF_CHECK(ok, "bench_axpy, 64x256 threads: some outputs are not 2 * 1 + 1");
  printf("emu_bench --selfcheck: %s; every benchmark kernel finished with the right results\n",
         emu_fiber_impl());
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && std::string(argv[1]) == "--selfcheck") return selfcheck(argv[2]);
  bool json = argc == 2 && std::string(argv[1]) == "--json";
  if (argc > 1 && !json) {
    fprintf(stderr, "usage: emu_bench [--json] | emu_bench --selfcheck IMPL\n");
    return 2;
  }
  double sw = 1e9, b256 = 1e9, b1024 = 1e9, r256 = 1e9, nt = 1e9;
  for (int rep = 0; rep < 5; rep++) {
    sw = std::fmin(sw, ns_per_switch(200000));
    b256 = std::fmin(b256, us_per_barrier(256, 2000, nullptr));
    b1024 = std::fmin(b1024, us_per_barrier(1024, 500, nullptr));
    r256 = std::fmin(r256, us_per_reduce_iter(256, 100, nullptr));
    nt = std::fmin(nt, ns_per_thread(1024, 256, nullptr));
  }
  if (json) {
    printf("{\"impl\": \"%s\", \"switch_ns\": %.3f, \"barrier256_us\": %.4f, "
           "\"barrier1024_us\": %.4f, \"reduce256_us\": %.3f, \"thread_ns\": %.3f}\n",
           emu_fiber_impl(), sw, b256, b1024, r256, nt);
    return 0;
  }
  printf("fiber implementation:               %s\n", emu_fiber_impl());
  printf("context switch:                     %.1f ns\n", sw);
  printf("__syncthreads(), 256 threads:       %.2f us\n", b256);
  printf("__syncthreads(), 1024 threads:      %.2f us\n", b1024);
  printf("256-thread smem tree reduction:     %.1f us per reduction (10 barriers, checked shared "
         "memory)\n",
         r256);
  printf("elementwise kernel, 1024x256:       %.1f ns per thread\n", nt);
  return 0;
}
