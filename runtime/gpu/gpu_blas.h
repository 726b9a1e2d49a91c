/* The bundle's GEMM library calls (GpuLibCall) through cuBLASLt, loaded with dlopen only when a
 * session's plan has library calls (libcublasLt.so.13, else libcublasLt.so; MTRT_CUBLASLT_PATH
 * names another file). Everything that can fail or query heuristics happens in
 * mt_gpu_gemm_prepare, at session creation and outside any stream capture (cuBLASLt heuristics
 * are reported to fail during capture in a green context); mt_gpu_gemm_enqueue only issues the
 * prepared matmuls, so it can be captured into the round graph.
 *
 * Row-major problems map onto column-major cuBLASLt by computing d^T = op(b)^T op(a)^T: the
 * library's A is the bundle's b, its B the bundle's a, both with the bundle's leading dimensions.
 * Every problem of a call is one cublasLtMatmul (strided batch when batch > 1), except a grouped
 * call (MT_GPU_GEMM_GROUPED) that the grouped API can take (runtime/gpu/gemm_plan.h): that is one
 * cublasGemmGroupedBatchedEx from cuBLAS (libcublas.so.13, dlopen'd likewise), its pointer
 * arrays uploaded at preparation. Workspaces are the session's (one per partition and stream),
 * sized from what the chosen algorithms need (mt_gpu_gemm_workspace_need) and bound after
 * preparation (mt_gpu_gemm_bind_workspace), never during a capture. */
#ifndef MT_RUNTIME_GPU_GPU_BLAS_H
#define MT_RUNTIME_GPU_GPU_BLAS_H

#include "runtime/gpu/cuda_driver.h"

#ifdef MTRT_HAVE_CUDA_H
#include "runtime/bundle/mtbundle.pb-c.h"

typedef struct mt_gpu_gemm_call mt_gpu_gemm_call;

/* Device address of a buffer reference (the session's resolver). */
typedef CUdeviceptr (*mt_gpu_resolve_fn)(void *ctx, const Mtbundle__BufferRef *r);

/* Prepares call: loads cuBLASLt on first use (thread-safe), creates the handle, descriptors,
 * layouts (with the call's SM-count target and TF32 choice) and picks each problem's algorithm
 * allowing at most call->workspace_bytes of workspace; a grouped call the grouped API can take
 * gets a cuBLAS handle and its pointer arrays in device memory (cu) instead. UNAVAILABLE when
 * cuBLASLt cannot be loaded, UNIMPLEMENTED for a dtype other than float32 or a combination
 * cuBLASLt has no algorithm for. *out is the caller's (mt_gpu_gemm_free, with the same cu). The
 * current CUDA context must be the one the call will run in. */
MT_MUST_USE mt_status *mt_gpu_gemm_prepare(const Mtbundle__GpuLibCall *call,
                                           mt_gpu_resolve_fn resolve, void *ctx,
                                           const mt_cu_api *cu, mt_gpu_gemm_call **out);
/* Workspace bytes the prepared call's algorithms need (cuBLASLt's heuristic results; a grouped
 * cuBLAS call, which has no such query, the bundle's workspace_bytes). */
uint64_t mt_gpu_gemm_workspace_need(const mt_gpu_gemm_call *call);
/* The workspace the call uses from now on (at least its need). Before any enqueue. */
void mt_gpu_gemm_bind_workspace(mt_gpu_gemm_call *call, CUdeviceptr workspace, uint64_t bytes);
/* How the call is issued, for the session's note: NULL for one cublasLtMatmul per problem of a
 * call that is not grouped; "grouped" for one cublasGemmGroupedBatchedEx; else why a grouped call
 * runs problem by problem (static text). */
const char *mt_gpu_gemm_how(const mt_gpu_gemm_call *call);
/* Issues the prepared matmuls on stream (may be capturing). */
MT_MUST_USE mt_status *mt_gpu_gemm_enqueue(const mt_gpu_gemm_call *call, CUstream stream);
void mt_gpu_gemm_free(mt_gpu_gemm_call *call, const mt_cu_api *cu);
#endif

#endif
