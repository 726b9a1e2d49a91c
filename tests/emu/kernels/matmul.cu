// Hand-written emulator test kernel: tiled shared-memory matrix product C[M,N] = A[M,K] * B[K,N].
#include "mt_cuda.h"

#define MM_TILE 16

// 16x16 blocks, grid (ceil(N/16), ceil(M/16)); any M, N, K.
extern "C" __global__ void matmul_tiled(MT_GLOBAL(const float) A, MT_GLOBAL(const float) B,
                                        MT_GLOBAL(float) C, int M, int N, int K) {
  MT_SHARED(float, As, [MM_TILE][MM_TILE]);
  MT_SHARED(float, Bs, [MM_TILE][MM_TILE + 1]);
  int tx = (int)threadIdx.x, ty = (int)threadIdx.y;
  int row = (int)blockIdx.y * MM_TILE + ty, col = (int)blockIdx.x * MM_TILE + tx;
  float acc = 0.0f;
  for (int k0 = 0; k0 < K; k0 += MM_TILE) {
    As[ty][tx] = (row < M && k0 + tx < K) ? A[row * K + k0 + tx] : 0.0f;
    Bs[ty][tx] = (k0 + ty < K && col < N) ? B[(k0 + ty) * N + col] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int k = 0; k < MM_TILE; k++) acc = fmaf(As[ty][k], Bs[k][tx], acc);
    __syncthreads();
  }
  if (row < M && col < N) C[row * N + col] = acc;
}
