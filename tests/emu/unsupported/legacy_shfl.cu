// expect: use __shfl_down_sync
#include "mt_cuda.h"
extern "C" __global__ void k(MT_GLOBAL(float) y) {
  y[threadIdx.x] = __shfl_down(y[threadIdx.x], 1);
}
