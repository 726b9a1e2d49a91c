/* The mtcc CUDA C kernel dialect.
 *
 * A kernel source in the dialect starts with `#include "mt_cuda.h"` and includes nothing else. Under a
 * CUDA compiler (NVRTC or nvcc) the dialect's macros are plain CUDA C++; under the host C++ compiler
 * they map onto the checking emulator (emu_cuda.h), so the same text runs on a GPU and in tests. The
 * rules (full list in docs/emulator.md):
 *   - kernels are `extern "C" __global__ void name(...)`; pointer parameters are MT_GLOBAL(T)
 *     (optionally followed by MT_RESTRICT), the others scalars or structs of scalars;
 *   - shared memory is declared inside functions with MT_SHARED(T, name, [N]...) (static) or
 *     MT_DYN_SHARED(T, name) (the launch's dynamic bytes, as a T pointer); pointers into shared
 *     memory have type MT_SHARED_PTR(T); never `__shared__` directly;
 *   - pointers are cast with MT_PTR_CAST(T, p) (e.g. float4 vector loads), never reinterpret_cast;
 *   - shared elements are read into typed variables (`float v = s[i];`), not `auto`;
 *   - float atomic max/min are mt_atomic_max_f32 / mt_atomic_min_f32.
 * This header needs no other header under NVRTC beyond the toolkit's cuda_fp16.h. */
#ifndef MT_CUDA_H
#define MT_CUDA_H

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)

#include <cuda_fp16.h>

#define MT_GLOBAL(T) T *
#define MT_RESTRICT __restrict__
#define MT_SHARED_PTR(T) T *
#define MT_PTR_CAST(T, p) reinterpret_cast<T *>(p)
#define MT_SHARED(T, name, dims) __shared__ T name dims
#define MT_DYN_SHARED(T, name)                                                                     \
  extern __shared__ __align__(16) unsigned char mt_dyn_smem_[];                                    \
  T *name = reinterpret_cast<T *>(mt_dyn_smem_)

/* CUDA has no float atomicMax/atomicMin: compare-and-swap on the bit pattern. */
static __device__ __forceinline__ float mt_atomic_max_f32(float *addr, float v) {
  int *a = reinterpret_cast<int *>(addr);
  int old = *a, assumed;
  do {
    assumed = old;
    if (__int_as_float(assumed) >= v) break;
    old = atomicCAS(a, assumed, __float_as_int(v));
  } while (old != assumed);
  return __int_as_float(old);
}
static __device__ __forceinline__ float mt_atomic_min_f32(float *addr, float v) {
  int *a = reinterpret_cast<int *>(addr);
  int old = *a, assumed;
  do {
    assumed = old;
    if (__int_as_float(assumed) <= v) break;
    old = atomicCAS(a, assumed, __float_as_int(v));
  } while (old != assumed);
  return __int_as_float(old);
}

#else

#include "emu_cuda.h"

#endif

#endif
