// expect: the emulator does not model timing
#include "mt_cuda.h"
extern "C" __global__ void k(MT_GLOBAL(long long) y) { y[threadIdx.x] = clock64(); }
