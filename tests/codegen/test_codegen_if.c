/* The If set kernel (codegen/cuda_if.c) compiles with NVRTC for every bundle arch without -rdc,
 * for each condition dtype it has, and its PTX calls cudaGraphSetConditional (the device runtime
 * builtin the driver resolves at load); a dtype without a set kernel is refused by name. Whether
 * the driver loads and runs it is not checked here (no GPU): docs/gpu-runtime.md, If nodes.
 * Exit 77 (skip) when mtcc was built without NVRTC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda.h"

int main(void) {
  int failures = 0;
  char src[1024];
  mt_cuda_kernel k;
  mt_status *st = mt_cuda_if_set_kernel(MT_DTYPE_STRING, src, sizeof src, &k);
  if (!st || mt_status_code_of(st) != MT_UNIMPLEMENTED ||
      !strstr(mt_status_message(st), "string")) {
    fprintf(stderr, "FAIL a string condition: %s\n", st ? mt_status_message(st) : "accepted");
    failures++;
  }
  mt_status_free(st);
  if (!mt_cuda_nvrtc_available()) {
    printf("skip: %s\n", mt_cuda_nvrtc_describe());
    return failures ? 1 : 77;
  }
  const mt_dtype dtypes[] = {MT_DTYPE_BOOL, MT_DTYPE_INT64, MT_DTYPE_FLOAT32};
  const char *archs[] = {"sm_90", "sm_89", "sm_86", "sm_80"}; /* newest first: its PTX is kept */
  for (size_t d = 0; d < sizeof dtypes / sizeof *dtypes; d++) {
    st = mt_cuda_if_set_kernel(dtypes[d], src, sizeof src, &k);
    if (st) {
      fprintf(stderr, "FAIL %s: %s\n", mt_dtype_name(dtypes[d]), mt_status_message(st));
      mt_status_free(st);
      return 1;
    }
    mt_cuda_program prog = {.n_kernels = 1, .kernels = &k};
    mt_cuda_compiled *res = NULL;
    st = mt_cuda_nvrtc_compile(&prog, archs, 4, 1, &res);
    if (st) {
      fprintf(stderr, "FAIL %s: NVRTC: %s\n", k.name, mt_status_message(st));
      mt_status_free(st);
      return 1;
    }
    for (int a = 0; a < 4; a++)
      if (res[a].cubin_bytes == 0) {
        fprintf(stderr, "FAIL %s: no cubin for %s\n", k.name, res[a].arch);
        failures++;
      }
    if (!res[0].ptx || !strstr(res[0].ptx, "cudaGraphSetConditional") ||
        !strstr(res[0].ptx, k.name)) {
      fprintf(stderr, "FAIL %s: the PTX does not call cudaGraphSetConditional\n", k.name);
      failures++;
    }
    printf("%s: cubin %zu bytes (%s), PTX %zu bytes\n", k.name, res[0].cubin_bytes, res[0].arch,
           res[0].ptx_bytes);
    mt_cuda_compiled_free(&prog, res, 4);
  }
  return failures ? 1 : 0;
}
