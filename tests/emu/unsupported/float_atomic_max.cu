// expect: no matching function for call to 'atomicMax
// CUDA has no float atomicMax either; the dialect's spelling is mt_atomic_max_f32.
#include "mt_cuda.h"
extern "C" __global__ void k(MT_GLOBAL(float) y) { atomicMax(y, 1.0f); }
