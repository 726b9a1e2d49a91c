// Hand-written emulator test kernels: grid-stride loop, math intrinsics, half, vector loads, trap.
#include "mt_cuda.h"

// Launched with fewer threads than elements: each thread strides over the grid.
extern "C" __global__ void axpb_grid_stride(MT_GLOBAL(const float) x, MT_GLOBAL(float) y, float a,
                                            float b, int n) {
  for (int i = (int)(blockIdx.x * blockDim.x + threadIdx.x); i < n;
       i += (int)(blockDim.x * gridDim.x))
    y[i] = fmaf(a, x[i], b);
}

// Eight functions the code generator may emit, per element.
extern "C" __global__ void math_ops(MT_GLOBAL(const float) x, MT_GLOBAL(float) out, int n) {
  int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n) return;
  float v = x[i];
  MT_GLOBAL(float) o = out + 8 * i;
  o[0] = 0.5f * v * (1.0f + erff(v * 0.70710678f));
  o[1] = 0.5f * v * (1.0f + tanhf(0.7978845608f * fmaf(0.044715f * v, v * v, v)));
  o[2] = __expf(v);
  o[3] = rsqrtf(fabsf(v) + 1.0f);
  o[4] = __fdividef(v, 1.0f + __expf(-v));
  o[5] = max(v, 0.0f) + min(-1, (int)v);
  o[6] = __saturatef(v);
  o[7] = __logf(1.0f + __expf(v));
}

extern "C" __global__ void half_scale(MT_GLOBAL(const __half) x, MT_GLOBAL(__half) y, float s,
                                      int n) {
  int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] = __float2half(__half2float(x[i]) * s);
}

// float4 loads and stores; n4 = number of float4.
extern "C" __global__ void vec4_scale(MT_GLOBAL(const float) x, MT_GLOBAL(float) y, float s,
                                      int n4) {
  int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n4) {
    float4 v = MT_PTR_CAST(const float4, x)[i];
    v.x *= s;
    v.y *= s;
    v.z *= s;
    v.w *= s;
    MT_PTR_CAST(float4, y)[i] = v;
  }
}

extern "C" __global__ void trap_if_negative(MT_GLOBAL(const float) x, int n) {
  int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n && x[i] < 0.0f) __trap();
}
