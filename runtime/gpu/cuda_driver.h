/* The CUDA driver as libmtrt sees it: libcuda.so.1 opened with dlopen (never linked), one table of
 * entry points resolved through cuGetProcAddress for the CUDA version of the header the library
 * was built with, initialised once per process (pthread_once).
 *
 * Types come from the toolkit's driver API header cuda.h (a plain C header of types and
 * declarations, not a compiler header); its functions are never called directly, only through
 * the table, so libmtrt has no link-time dependency on libcuda. When the toolkit is missing at
 * build time MTRT_HAVE_CUDA_H is undefined, this header declares no table and every GPU entry
 * point of libmtrt answers UNAVAILABLE "built without the CUDA driver header".
 *
 * "No driver", "no device" and "driver too old" are ordinary statuses (UNAVAILABLE /
 * UNIMPLEMENTED) with a one-line reason, never a crash. The environment variable
 * MTRT_CUDA_DRIVER_PATH names another library to open instead of libcuda.so.1 (tests point it at
 * a missing file or at the toolkit's stub). */
#ifndef MT_RUNTIME_GPU_CUDA_DRIVER_H
#define MT_RUNTIME_GPU_CUDA_DRIVER_H

#include <stdbool.h>

#include "runtime/base/status.h"

#ifdef MTRT_HAVE_CUDA_H
#include <cuda.h>

/* Entry points every GPU session needs: a driver without one of them is refused. */
#define MT_CU_REQUIRED(X)                                                                          \
  X(cuInit)                                                                                        \
  X(cuDriverGetVersion)                                                                            \
  X(cuDeviceGetCount)                                                                              \
  X(cuDeviceGet)                                                                                   \
  X(cuDeviceGetAttribute)                                                                          \
  X(cuDeviceGetName)                                                                               \
  X(cuDevicePrimaryCtxRetain)                                                                      \
  X(cuDevicePrimaryCtxRelease)                                                                     \
  X(cuCtxSetCurrent)                                                                               \
  X(cuGetErrorString)                                                                              \
  X(cuGetErrorName)                                                                                \
  X(cuMemAlloc)                                                                                    \
  X(cuMemFree)                                                                                     \
  X(cuMemAllocHost)                                                                                \
  X(cuMemFreeHost)                                                                                 \
  X(cuMemcpyHtoD)                                                                                  \
  X(cuMemcpyDtoH)                                                                                  \
  X(cuMemcpyDtoDAsync)                                                                             \
  X(cuMemsetD8)                                                                                    \
  X(cuMemGetInfo)                                                                                  \
  X(cuStreamCreate)                                                                                \
  X(cuStreamDestroy)                                                                               \
  X(cuStreamSynchronize)                                                                           \
  X(cuStreamBeginCapture)                                                                          \
  X(cuStreamEndCapture)                                                                            \
  X(cuEventCreate)                                                                                 \
  X(cuEventDestroy)                                                                                \
  X(cuEventSynchronize)                                                                            \
  X(cuEventElapsedTime)                                                                            \
  X(cuLibraryLoadData)                                                                             \
  X(cuLibraryUnload)                                                                               \
  X(cuLibraryGetKernel)                                                                            \
  X(cuKernelSetAttribute)                                                                          \
  X(cuGraphCreate)                                                                                 \
  X(cuGraphDestroy)                                                                                \
  X(cuGraphAddKernelNode)                                                                          \
  X(cuGraphAddMemcpyNode)                                                                          \
  X(cuGraphAddEventRecordNode)                                                                     \
  X(cuGraphAddEventWaitNode)                                                                       \
  X(cuGraphAddEmptyNode)                                                                           \
  X(cuGraphAddChildGraphNode)                                                                      \
  X(cuGraphInstantiate)                                                                            \
  X(cuGraphExecDestroy)                                                                            \
  X(cuGraphExecMemcpyNodeSetParams)                                                                \
  X(cuGraphLaunch)

/* Green contexts: a driver without them gets soft SM budgets (docs/gpu-runtime.md). */
#define MT_CU_OPTIONAL(X)                                                                          \
  X(cuDeviceGetDevResource)                                                                        \
  X(cuDevSmResourceSplitByCount)                                                                   \
  X(cuDevResourceGenerateDesc)                                                                     \
  X(cuGreenCtxCreate)                                                                              \
  X(cuGreenCtxDestroy)                                                                             \
  X(cuCtxFromGreenCtx)                                                                             \
  X(cuGreenCtxStreamCreate)                                                                        \
  X(cuGreenCtxGetDevResource)

/* CUDA Graph conditional nodes (If steps; a two-body IF needs CUDA 12.8): a driver without them
 * cannot run a bundle with conditional steps on the GPU (docs/gpu-runtime.md, If nodes). */
#define MT_CU_CONDITIONAL(X)                                                                       \
  X(cuGraphConditionalHandleCreate)                                                                \
  X(cuGraphAddNode)

/* One pointer per entry point, typed from cuda.h's declaration (the name cuda.h maps it to, e.g.
 * cuMemAlloc_v2, is the version cuGetProcAddress returns for CUDA_VERSION). */
typedef struct mt_cu_api {
#define MT_CU_FIELD(name) __typeof__(&name) name;
  MT_CU_REQUIRED(MT_CU_FIELD)
  MT_CU_OPTIONAL(MT_CU_FIELD)
  MT_CU_CONDITIONAL(MT_CU_FIELD)
#undef MT_CU_FIELD
  bool has_green_contexts;    /* every MT_CU_OPTIONAL entry resolved */
  bool has_conditional_nodes; /* every MT_CU_CONDITIONAL entry resolved */
  int driver_version;         /* cuDriverGetVersion: 13000 for 13.0 */
  int device_count;
} mt_cu_api;

/* The process-wide table after cuInit, or a status saying why there is none (no library, the
 * stub, cuInit failed, no device, driver older than CUDA_VERSION). Thread-safe: the first caller
 * loads the driver (pthread_once); later callers get the same answer. The table lives until the
 * process exits (the library is never closed: other threads may still call into it). */
MT_MUST_USE mt_status *mt_cu_api_get(const mt_cu_api **out);

/* A failed driver call as a status: "CALL: CUDA_ERROR_NAME (description)". Out-of-memory errors
 * become RESOURCE_EXHAUSTED, a PTX the driver cannot JIT (too new) UNIMPLEMENTED, the rest
 * INTERNAL. NULL for CUDA_SUCCESS. */
MT_MUST_USE mt_status *mt_cu_check(const mt_cu_api *api, CUresult r, const char *call);

/* Evaluates a driver call through `api`; on failure returns its status annotated with the call. */
#define MT_CU_TRY(api, call)                                                                       \
  do {                                                                                             \
    mt_status *mt_cu_st_ = mt_cu_check((api), (api)->call, #call);                                 \
    if (mt_cu_st_) return mt_cu_st_;                                                               \
  } while (0)
#endif

/* One line for reports: "CUDA driver 13.0, 1 device(s)" or why there is none. Any thread. */
const char *mt_cu_describe(void);

#endif
