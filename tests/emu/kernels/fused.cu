// Hand-written emulator test kernel shaped like a horizontally fused kernel: the first blocks run a
// row softmax, the remaining ones a tiled transpose; each body has its own shared arrays and barriers.
#include "mt_cuda.h"

#define FU_THREADS 256

__device__ float block_reduce(MT_SHARED_PTR(float) red, float v, bool is_max) {
  unsigned t = threadIdx.x;
  red[t] = v;
  __syncthreads();
  for (unsigned s = FU_THREADS / 2; s > 0; s >>= 1) {
    if (t < s) {
      float a = red[t], b = red[t + s];
      red[t] = is_max ? fmaxf(a, b) : a + b;
    }
    __syncthreads();
  }
  float r = red[0];
  __syncthreads(); // red is reused by the next reduction
  return r;
}

__device__ void body_softmax(MT_GLOBAL(const float) x, MT_GLOBAL(float) y, int cols, int row) {
  MT_SHARED(float, red, [FU_THREADS]);
  MT_GLOBAL(const float) xr = x + (long long)row * cols;
  MT_GLOBAL(float) yr = y + (long long)row * cols;
  float m = -__int_as_float(0x7f800000);
  for (int c = (int)threadIdx.x; c < cols; c += FU_THREADS) m = fmaxf(m, xr[c]);
  m = block_reduce(red, m, true);
  float s = 0.0f;
  for (int c = (int)threadIdx.x; c < cols; c += FU_THREADS) s += __expf(xr[c] - m);
  s = block_reduce(red, s, false);
  float inv = 1.0f / s;
  for (int c = (int)threadIdx.x; c < cols; c += FU_THREADS) yr[c] = __expf(xr[c] - m) * inv;
}

// 32x32 tiles, 256 threads: each thread moves 4 elements.
__device__ void body_transpose(MT_GLOBAL(const float) in, MT_GLOBAL(float) out, int h, int w,
                               int tile) {
  MT_SHARED(float, t, [32][33]);
  int tiles_x = (w + 31) / 32;
  int bx = tile % tiles_x, by = tile / tiles_x;
  int tx = (int)threadIdx.x % 32, ty = (int)threadIdx.x / 32;
  for (int j = ty; j < 32; j += 8) {
    int r = by * 32 + j, c = bx * 32 + tx;
    t[j][tx] = (r < h && c < w) ? in[r * w + c] : 0.0f;
  }
  __syncthreads();
  for (int j = ty; j < 32; j += 8) {
    int r = bx * 32 + j, c = by * 32 + tx; // out is w x h
    if (r < w && c < h) out[r * h + c] = t[tx][j];
  }
}

extern "C" __global__ void fused_softmax_transpose(MT_GLOBAL(const float) a, MT_GLOBAL(float) a_out,
                                                   int rows, int cols, MT_GLOBAL(const float) b,
                                                   MT_GLOBAL(float) b_out, int h, int w) {
  if ((int)blockIdx.x < rows)
    body_softmax(a, a_out, cols, (int)blockIdx.x);
  else
    body_transpose(b, b_out, h, w, (int)blockIdx.x - rows);
}
