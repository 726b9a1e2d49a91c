// Kernels for the emulator's speed measurements.
#include "mt_cuda.h"

// Nothing but barriers: the cost of one __syncthreads() of the whole block. Every thread then
// stores into its own slot, so a thread some barrier never released shows (emu_bench --selfcheck).
extern "C" __global__ void bench_barriers(MT_GLOBAL(int) out, int iters) {
  for (int i = 0; i < iters; i++) __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = iters;
}

// A shared-memory tree reduction per iteration: barriers plus checked shared accesses.
extern "C" __global__ void bench_smem_reduce(MT_GLOBAL(const float) x, MT_GLOBAL(float) out,
                                             int iters) {
  MT_DYN_SHARED(float, s);
  unsigned t = threadIdx.x;
  float acc = 0.0f;
  for (int it = 0; it < iters; it++) {
    s[t] = x[t] + (float)it;
    __syncthreads();
    for (unsigned stride = blockDim.x / 2; stride > 0; stride >>= 1) {
      if (t < stride) s[t] += s[t + stride];
      __syncthreads();
    }
    acc += s[0];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = acc;
}

// One element per thread: the cost of starting and finishing an emulated thread.
extern "C" __global__ void bench_axpy(MT_GLOBAL(const float) x, MT_GLOBAL(float) y, int n) {
  int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = 2.0f * x[i] + 1.0f;
}
