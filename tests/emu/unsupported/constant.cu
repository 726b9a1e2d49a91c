// expect: __constant__ memory is not supported
#include "mt_cuda.h"
__constant__ float c[4];
extern "C" __global__ void k(MT_GLOBAL(float) y) { y[threadIdx.x] = c[threadIdx.x % 4]; }
