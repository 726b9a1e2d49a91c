/* A CPU object as the LLVM backend would emit one (runtime/bundle/cpu_abi.h), built by the system
 * C compiler for the unit tests (test_bundle_cpu.c): kernels over the tiny model's 2x3 float32
 * tensors (tests/unit/bundle_test_util.h), each thread computing a fixed slice of the elements.
 * MT_FIXTURE_ABI, when defined, exports another ABI version (a corrupt object). */
#include <math.h>
#include <stdint.h>

#include "runtime/bundle/cpu_abi.h"

#ifndef MT_FIXTURE_ABI
#define MT_FIXTURE_ABI MT_CPU_ABI_VERSION
#endif
#define N 6

extern const uint32_t mt_cpu_abi_version;
const uint32_t mt_cpu_abi_version = MT_FIXTURE_ABI;

void fixture_add_relu(void *const *args, int32_t thread, int32_t n_threads);
void fixture_add(void *const *args, int32_t thread, int32_t n_threads);
void fixture_exp(void *const *args, int32_t thread, int32_t n_threads);
void fixture_transpose(void *const *args, int32_t thread, int32_t n_threads);

/* out = relu(x + w): the tiny model's Add + Relu group */
void fixture_add_relu(void *const *args, int32_t thread, int32_t n_threads) {
  const float *x = args[0], *w = args[1];
  float *out = args[2];
  for (int i = N * thread / n_threads; i < N * (thread + 1) / n_threads; i++) {
    float v = x[i] + w[i];
    out[i] = v > 0 ? v : 0;
  }
}

/* out = x + w: not what the group computes, so a test sees whether the kernel or the reference
 * nodes ran */
void fixture_add(void *const *args, int32_t thread, int32_t n_threads) {
  const float *x = args[0], *w = args[1];
  float *out = args[2];
  for (int i = N * thread / n_threads; i < N * (thread + 1) / n_threads; i++) out[i] = x[i] + w[i];
}

/* out = exp(x): not used by the tests' bundles; it makes libm.so.6 a needed library, which a test
 * renames to see a missing library make the object fail to load */
void fixture_exp(void *const *args, int32_t thread, int32_t n_threads) {
  const float *x = args[0];
  float *out = args[1];
  for (int i = N * thread / n_threads; i < N * (thread + 1) / n_threads; i++) out[i] = expf(x[i]);
}

/* out[4, 2] = in[2, 4] transposed: the tiny model's Transpose group */
void fixture_transpose(void *const *args, int32_t thread, int32_t n_threads) {
  const float *in = args[0];
  float *out = args[1];
  for (int i = 8 * thread / n_threads; i < 8 * (thread + 1) / n_threads; i++)
    out[i] = in[(i % 2) * 4 + i / 2];
}
