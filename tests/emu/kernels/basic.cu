// Hand-written emulator test kernels: built-in indices, barrier semantics, warp intrinsics.
#include "mt_cuda.h"

// Every thread writes its coordinates: 12 ints per thread, in global linear thread order.
extern "C" __global__ void index_3d(MT_GLOBAL(int) out) {
  unsigned bl = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  unsigned tl = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  unsigned g = bl * (blockDim.x * blockDim.y * blockDim.z) + tl;
  MT_GLOBAL(int) o = out + 12 * g;
  o[0] = (int)threadIdx.x;
  o[1] = (int)threadIdx.y;
  o[2] = (int)threadIdx.z;
  o[3] = (int)blockIdx.x;
  o[4] = (int)blockIdx.y;
  o[5] = (int)blockIdx.z;
  o[6] = (int)blockDim.x;
  o[7] = (int)blockDim.y;
  o[8] = (int)blockDim.z;
  o[9] = (int)gridDim.x;
  o[10] = (int)gridDim.y;
  o[11] = (int)gridDim.z;
}

// No thread may pass the barrier before every thread of its block has arrived: after it, each
// thread must see all increments of the block's counter and all flags.
extern "C" __global__ void barrier_all_arrive(MT_GLOBAL(int) out, MT_GLOBAL(int) counter) {
  MT_SHARED(int, flags, [1024]);
  unsigned n = blockDim.x * blockDim.y * blockDim.z;
  unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  unsigned b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  atomicAdd(counter + b, 1);
  flags[t] = 1;
  __syncthreads();
  int seen = counter[b];
  int sum = 0;
  for (unsigned k = 0; k < n; k++) sum += flags[k];
  int nonzero = __syncthreads_count(t % 3 == 0);
  int all = __syncthreads_and(sum == (int)n);
  int any = __syncthreads_or(t == n - 1);
  out[b * n + t] = (seen == (int)n) + 2 * (sum == (int)n) + 4 * (nonzero == (int)((n + 2) / 3)) +
                   8 * all + 16 * any;
}

// One value per warp intrinsic and thread (12 ints per thread); blocks of 64 threads.
extern "C" __global__ void warp_semantics(MT_GLOBAL(int) out) {
  int lane = (int)(threadIdx.x % 32);
  MT_GLOBAL(int) o = out + 12 * (blockIdx.x * blockDim.x + threadIdx.x);
  o[0] = __shfl_sync(0xffffffffu, lane * 10, 3);
  o[1] = __shfl_sync(0xffffffffu, lane * 10, lane + 1, 8);
  o[2] = __shfl_up_sync(0xffffffffu, lane, 2, 16);
  o[3] = __shfl_down_sync(0xffffffffu, lane, 3, 16);
  o[4] = __shfl_xor_sync(0xffffffffu, lane, 5);
  o[5] = (int)__ballot_sync(0xffffffffu, lane % 3 == 0);
  o[6] = __any_sync(0xffffffffu, lane == 7);
  o[7] = __all_sync(0xffffffffu, lane < 31);
  o[8] = (int)__match_any_sync(0xffffffffu, lane / 4);
  o[9] = __reduce_add_sync(0xffffffffu, lane);
  o[10] = __syncthreads_count(lane < 5);
  // Two disjoint groups of lanes in divergent branches, each with its own mask.
  int r;
  if (lane < 16)
    r = __shfl_xor_sync(0x0000ffffu, lane, 1);
  else
    r = __shfl_xor_sync(0xffff0000u, lane, 2);
  o[11] = r;
}

// Lanes exchange data through shared memory, ordered by __syncwarp (no race).
extern "C" __global__ void syncwarp_exchange(MT_GLOBAL(const float) x, MT_GLOBAL(float) y) {
  MT_SHARED(float, s, [64]);
  unsigned t = threadIdx.x, lane = t % 32;
  s[t] = x[t];
  __syncwarp();
  float v = s[(t & ~31u) + (lane + 1) % 32];
  __syncwarp();
  s[t] = 2.0f * v;
  __syncwarp();
  y[t] = s[(t & ~31u) + (lane + 31) % 32];
}

// Every lane reads one shared slot, then (after __syncwarp) lane 0 overwrites it: ordered, no race.
extern "C" __global__ void syncwarp_broadcast(MT_GLOBAL(const float) x, MT_GLOBAL(float) y) {
  MT_SHARED(float, s, [32]);
  unsigned lane = threadIdx.x % 32;
  s[lane] = x[lane];
  __syncwarp();
  float v = s[0];
  __syncwarp();
  if (lane == 0) s[0] = 2.0f * v;
  __syncwarp();
  y[lane] = s[0] + v;
}

// Each half-warp exchanges data through shared memory under its own __syncwarp(mask): no race.
extern "C" __global__ void syncwarp_halves(MT_GLOBAL(const float) x, MT_GLOBAL(float) y) {
  MT_SHARED(float, s, [32]);
  unsigned lane = threadIdx.x % 32, half = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  s[lane] = x[lane];
  __syncwarp(half);
  float v = s[(lane & 16u) | ((lane + 1) & 15u)];
  __syncwarp(half);
  s[lane] = v;
  __syncwarp(half);
  y[lane] = s[(lane & 16u) | ((lane + 15) & 15u)];
}
