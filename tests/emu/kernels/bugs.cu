// Kernels with planted bugs the emulator must report (each is valid CUDA and compiles with NVRTC).
#include "mt_cuda.h"

// Tree reduction without the barrier inside the loop: threads read partial sums other threads are
// still writing.
extern "C" __global__ void bug_missing_barrier(MT_GLOBAL(const float) x, MT_GLOBAL(float) out) {
  MT_SHARED(float, s, [128]);
  unsigned t = threadIdx.x;
  s[t] = x[blockIdx.x * 128 + t];
  __syncthreads();
  for (unsigned stride = 64; stride > 0; stride >>= 1) {
    if (t < stride) s[t] += s[t + stride];
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

// The bounds check guards the read but not the write.
extern "C" __global__ void bug_oob_write(MT_GLOBAL(const float) x, MT_GLOBAL(float) y, int n) {
  int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  float v = i < n ? x[i] : 0.0f;
  y[i] = 2.0f * v;
}

// A barrier inside a branch only half of the block takes.
extern "C" __global__ void bug_divergent_barrier(MT_GLOBAL(float) y) {
  MT_SHARED(float, s, [128]);
  unsigned t = threadIdx.x;
  s[t] = (float)t;
  if (t < 64) {
    __syncthreads();
    y[t] = s[127 - t];
  }
}

// Out-of-range threads return before a barrier the others reach.
extern "C" __global__ void bug_early_return(MT_GLOBAL(const float) x, MT_GLOBAL(float) y, int n) {
  MT_SHARED(float, s, [64]);
  int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n) return;
  s[threadIdx.x] = x[i];
  __syncthreads();
  y[i] = s[(threadIdx.x + 1) % 64];
}

// Two branches, each with its own __syncthreads().
extern "C" __global__ void bug_barrier_sites(MT_GLOBAL(float) y) {
  if (threadIdx.x % 2)
    __syncthreads();
  else
    __syncthreads();
  y[threadIdx.x] = 1.0f;
}

// Reads half of a shared array no thread wrote.
extern "C" __global__ void bug_uninit_shared(MT_GLOBAL(const float) x, MT_GLOBAL(float) y) {
  MT_SHARED(float, s, [64]);
  unsigned t = threadIdx.x;
  s[t] = x[t];
  __syncthreads();
  y[t] = s[t] + s[t + 32];
}

// Off-by-one shared index.
extern "C" __global__ void bug_shared_oob(MT_GLOBAL(const float) x, MT_GLOBAL(float) y) {
  MT_SHARED(float, s, [32]);
  unsigned t = threadIdx.x;
  s[t + 1] = x[t];
  __syncthreads();
  y[t] = s[t];
}

// A full-mask shuffle only half of the warp executes.
extern "C" __global__ void bug_warp_divergent(MT_GLOBAL(const float) x, MT_GLOBAL(float) y) {
  unsigned lane = threadIdx.x % 32;
  float v = x[threadIdx.x];
  if (lane < 16) v += __shfl_down_sync(0xffffffffu, v, 8);
  y[threadIdx.x] = v;
}

// The mask names lanes 0-15 but lanes 8-15 read lanes 16-23.
extern "C" __global__ void bug_shfl_unnamed_source(MT_GLOBAL(const float) x, MT_GLOBAL(float) y) {
  unsigned lane = threadIdx.x % 32;
  float v = x[threadIdx.x];
  if (lane < 16) v += __shfl_down_sync(0x0000ffffu, v, 8);
  y[threadIdx.x] = v;
}

// A float4 load from a pointer that is not 16-byte aligned.
extern "C" __global__ void bug_misaligned(MT_GLOBAL(const float) x, MT_GLOBAL(float) y) {
  float4 v = MT_PTR_CAST(const float4, x + 1)[threadIdx.x];
  y[threadIdx.x] = v.x + v.y + v.z + v.w;
}

// Lanes read a neighbour's shared slot without __syncwarp() between the write and the read.
extern "C" __global__ void bug_warp_race(MT_GLOBAL(const float) x, MT_GLOBAL(float) y) {
  MT_SHARED(float, s, [32]);
  unsigned lane = threadIdx.x % 32;
  s[lane] = 0.0f;
  __syncthreads();
  s[lane] = x[lane];
  y[lane] = s[(lane + 1) % 32];
}

// Writes past the end of the dynamic shared memory the launch provides.
extern "C" __global__ void bug_dyn_shared_oob(MT_GLOBAL(float) y) {
  MT_DYN_SHARED(float, s);
  s[threadIdx.x] = 1.0f;
  __syncthreads();
  y[threadIdx.x] = s[threadIdx.x];
}

// 8 KiB of static shared memory: with 44 KiB of dynamic shared memory the block needs more than the
// 48 KiB a kernel gets without opting in.
extern "C" __global__ void bug_smem_overflow(MT_GLOBAL(float) y) {
  MT_SHARED(float, big, [2048]);
  MT_DYN_SHARED(float, d);
  big[threadIdx.x] = 1.0f;
  d[threadIdx.x] = 2.0f;
  __syncthreads();
  y[threadIdx.x] = big[threadIdx.x] + d[threadIdx.x];
}

// Half-warps synchronise separately, but lane 0 reads a slot the other half writes.
extern "C" __global__ void bug_half_warp_race(MT_GLOBAL(const float) x, MT_GLOBAL(float) y) {
  MT_SHARED(float, s, [32]);
  unsigned lane = threadIdx.x % 32, half = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  s[lane] = 0.0f;
  __syncthreads();
  s[lane] = x[lane];
  __syncwarp(half);
  y[lane] = s[(lane + 16) % 32];
}
