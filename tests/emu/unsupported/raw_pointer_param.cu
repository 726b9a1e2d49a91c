// expect: a kernel parameter is a raw pointer
#include "mt_cuda.h"
extern "C" __global__ void k(float *y) { y[threadIdx.x] = 1.0f; }
EMU_EXPORT_KERNEL(k)
