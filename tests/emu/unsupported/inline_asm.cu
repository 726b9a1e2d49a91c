// expect: inline PTX asm is not supported
#include "mt_cuda.h"
extern "C" __global__ void k(MT_GLOBAL(float) y) {
  asm volatile("membar.gl;");
  y[threadIdx.x] = 1.0f;
}
