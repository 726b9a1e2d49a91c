// expect: declare shared memory with MT_SHARED
#include "mt_cuda.h"
extern "C" __global__ void k(MT_GLOBAL(float) y) {
  __shared__ float s[32];
  s[threadIdx.x] = 1.0f;
  y[threadIdx.x] = s[threadIdx.x];
}
