/* The kernel an If step (GpuConditional, runtime/bundle/mtbundle.proto) launches to set its CUDA
 * Graph IF node from the condition buffer on the device, so a data-dependent branch never
 * returns to the host. One block; thread 0 reads the condition's first element as its dtype,
 * compares it with 0 as the CPU path does, and calls cudaGraphSetConditional: a device runtime
 * builtin the driver resolves when it loads the module (NVRTC compiles it without -rdc). The
 * handle is an unsigned long long launch parameter the GPU session fills in (gpu_graph.c). Not
 * yet emitted into bundles: codegen has no kernels for branch nodes (docs/gpu-runtime.md). */
#include "codegen/cuda.h"

#include <stdio.h>

/* The element type the condition is read as, and the kernel's entry name, per dtype. */
typedef struct set_kind {
  mt_dtype dtype;
  const char *type, *entry;
} set_kind;

static const set_kind kinds[] = {
    {MT_DTYPE_BOOL, "unsigned char", "mt_if_set_bool"},
    {MT_DTYPE_UINT8, "unsigned char", "mt_if_set_uint8"},
    {MT_DTYPE_INT8, "unsigned char", "mt_if_set_int8"},
    {MT_DTYPE_INT32, "unsigned int", "mt_if_set_int32"},
    {MT_DTYPE_INT64, "unsigned long long", "mt_if_set_int64"},
    {MT_DTYPE_FLOAT32, "float", "mt_if_set_float32"},
    {MT_DTYPE_FLOAT64, "double", "mt_if_set_float64"},
};

mt_status *mt_cuda_if_set_kernel(mt_dtype cond_dtype, char *src, size_t src_n,
                                 mt_cuda_kernel *out) {
  const set_kind *k = NULL;
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if (kinds[i].dtype == cond_dtype) k = &kinds[i];
  if (!k)
    return MT_ERR(UNIMPLEMENTED, "an If condition of %s has no set kernel",
                  mt_dtype_name(cond_dtype));
  int n = snprintf(src, src_n,
                   "typedef unsigned long long cudaGraphConditionalHandle;\n"
                   "extern \"C\" __device__ __cudart_builtin__ void cudaGraphSetConditional(\n"
                   "    cudaGraphConditionalHandle handle, unsigned int value);\n"
                   "extern \"C\" __global__ void %s(unsigned long long handle, const %s *cond) {\n"
                   "  if (blockIdx.x == 0 && threadIdx.x == 0)\n"
                   "    cudaGraphSetConditional(handle, cond[0] != 0 ? 1u : 0u);\n"
                   "}\n",
                   k->entry, k->type);
  if (n < 0 || (size_t)n >= src_n) return MT_ERR(INTERNAL, "set kernel source buffer too small");
  *out = (mt_cuda_kernel){.hgroup = -1,
                          .name = k->entry,
                          .source = src,
                          .grid = 1,
                          .block = 32,
                          .n_nodes = 0,
                          .why = "If: one thread sets the conditional node's handle"};
  return NULL;
}
