// Hand-written emulator test kernels: block-wide tree reduction and warp-shuffle reductions.
#include "mt_cuda.h"

// Each block reduces a grid-stride slice of x into partial[blockIdx.x]; blockDim.x is a power of two
// and the launch passes blockDim.x floats of dynamic shared memory.
extern "C" __global__ void block_reduce_sum(MT_GLOBAL(const float) MT_RESTRICT x,
                                            MT_GLOBAL(float) MT_RESTRICT partial, int n) {
  MT_DYN_SHARED(float, s);
  unsigned tid = threadIdx.x;
  float acc = 0.0f;
  for (int i = (int)(blockIdx.x * blockDim.x + tid); i < n; i += (int)(blockDim.x * gridDim.x))
    acc += x[i];
  s[tid] = acc;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (tid < stride) s[tid] += s[tid + stride];
    __syncthreads();
  }
  if (tid == 0) partial[blockIdx.x] = s[0];
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Whole-array sum, max, integer max and count of positives with warp shuffles, one shared slot per
// warp and atomics across blocks. blockDim.x is a multiple of 32.
extern "C" __global__ void warp_reduce(MT_GLOBAL(const float) x, MT_GLOBAL(float) sum_out,
                                       MT_GLOBAL(float) max_out, MT_GLOBAL(int) imax_out,
                                       MT_GLOBAL(unsigned) count_out, MT_GLOBAL(int) flags, int n) {
  MT_SHARED(float, warp_sums, [32]);
  unsigned tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  int i = (int)(blockIdx.x * blockDim.x + tid);
  float v = i < n ? x[i] : 0.0f;
  float m = i < n ? v : -__int_as_float(0x7f800000);
  unsigned positive = __ballot_sync(0xffffffffu, i < n && v > 0.0f);
  int any_negative = __any_sync(0xffffffffu, i < n && v < 0.0f);
  int all_valid = __all_sync(0xffffffffu, i < n);
  float ws = warp_sum(v);
  float wm = warp_max(m);
  if (lane == 0) {
    warp_sums[warp] = ws;
    atomicAdd(count_out, (unsigned)__popc(positive));
    mt_atomic_max_f32(max_out, wm);
    atomicMax(imax_out, __float2int_rd(wm));
    flags[blockIdx.x * 32 + warp] = any_negative + 2 * all_valid;
  }
  __syncthreads();
  if (warp == 0) {
    unsigned nw = blockDim.x / 32;
    float t = lane < nw ? warp_sums[lane] : 0.0f;
    t = warp_sum(t);
    if (lane == 0) atomicAdd(sum_out, t);
  }
}
