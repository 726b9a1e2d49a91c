// expect: __activemask() is not supported
#include "mt_cuda.h"
extern "C" __global__ void k(MT_GLOBAL(unsigned) y) { y[threadIdx.x] = __activemask(); }
