/* GEMM library calls through cuBLASLt (runtime/gpu/gpu_blas.h). */
#include "runtime/gpu/gpu_blas.h"

#include "runtime/bundle/format.h"
#include "runtime/gpu/gemm_plan.h"

#if defined(MTRT_HAVE_CUDA_H) && defined(MTRT_HAVE_CUBLASLT_H)
#include <cublasLt.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every entry point taken from the two libraries, in one table: X(LIB, function) with LIB
 * LT (libcublasLt: every GEMM call) or BLAS (libcublas: grouped calls only, loaded on the first
 * grouped call a session prepares). */
#define MT_BLAS_SYMBOLS(X)                                                                         \
  X(LT, cublasLtCreate)                                                                            \
  X(LT, cublasLtDestroy)                                                                           \
  X(LT, cublasLtMatmulDescCreate)                                                                  \
  X(LT, cublasLtMatmulDescDestroy)                                                                 \
  X(LT, cublasLtMatmulDescSetAttribute)                                                            \
  X(LT, cublasLtMatrixLayoutCreate)                                                                \
  X(LT, cublasLtMatrixLayoutDestroy)                                                               \
  X(LT, cublasLtMatrixLayoutSetAttribute)                                                          \
  X(LT, cublasLtMatmulPreferenceCreate)                                                            \
  X(LT, cublasLtMatmulPreferenceDestroy)                                                           \
  X(LT, cublasLtMatmulPreferenceSetAttribute)                                                      \
  X(LT, cublasLtMatmulAlgoGetHeuristic)                                                            \
  X(LT, cublasLtMatmul)                                                                            \
  X(BLAS, cublasCreate_v2)                                                                         \
  X(BLAS, cublasDestroy_v2)                                                                        \
  X(BLAS, cublasSetStream_v2)                                                                      \
  X(BLAS, cublasSetWorkspace_v2)                                                                   \
  X(BLAS, cublasSetSmCountTarget)                                                                  \
  X(BLAS, cublasGemmGroupedBatchedEx)

/* The resolved entry points of both libraries (a library's are valid once lib_error of it is ""). */
static struct {
#define MT_BLAS_FIELD(lib, name) __typeof__(&name) name;
  MT_BLAS_SYMBOLS(MT_BLAS_FIELD)
#undef MT_BLAS_FIELD
} fn;

enum { LIB_LT, LIB_BLAS, LIB_COUNT };
static const struct {
  const char *env, *base; /* dlopen: $env when set, else base.13, base, the toolkit's copy */
} LIBS[LIB_COUNT] = {{"MTRT_CUBLASLT_PATH", "libcublasLt.so"},
                     {"MTRT_CUBLAS_PATH", "libcublas.so"}};
static const struct {
  int lib;
  const char *name;
  void **slot;
} SYMBOLS[] = {
#define MT_BLAS_ENTRY(lib, name) {LIB_##lib, #name, (void **)&fn.name},
    MT_BLAS_SYMBOLS(MT_BLAS_ENTRY)
#undef MT_BLAS_ENTRY
};
static pthread_once_t lib_once[LIB_COUNT] = {PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT};
static char lib_error[LIB_COUNT][256]; /* "" when loaded */

/* dlopen of $ENV when set, else BASE.so.13, BASE.so, then the toolkit's copy (CUDA images do
 * not always put it on the loader's path); NULL with err saying why. */
static void *open_library(const char *env_name, const char *base, char *err, size_t err_n) {
  const char *env = getenv(env_name);
  char names[3][160];
  snprintf(names[0], sizeof names[0], "%s.13", base);
  snprintf(names[1], sizeof names[1], "%s", base);
  snprintf(names[2], sizeof names[2], "/usr/local/cuda/lib64/%s.13", base);
  if (env && *env) snprintf(names[0], sizeof names[0], "%s", env);
  void *lib = NULL;
  for (int i = 0; !lib && i < (env && *env ? 1 : 3); i++)
    lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!lib) snprintf(err, err_n, "cannot open %s (%s)", names[0], dlerror());
  return lib;
}

/* Opens library lib and resolves its entries of SYMBOLS; lib_error[lib] says why not. */
static void lib_load(int lib) {
  char *err = lib_error[lib];
  void *h = open_library(LIBS[lib].env, LIBS[lib].base, err, sizeof lib_error[lib]);
  for (size_t i = 0; h && i < sizeof SYMBOLS / sizeof *SYMBOLS; i++)
    if (SYMBOLS[i].lib == lib && !(*SYMBOLS[i].slot = dlsym(h, SYMBOLS[i].name))) {
      snprintf(err, sizeof lib_error[lib], "%s lacks %s", LIBS[lib].base, SYMBOLS[i].name);
      return;
    }
}
static void lt_load(void) { lib_load(LIB_LT); }
static void blas_load(void) { lib_load(LIB_BLAS); }

typedef struct gemm_problem {
  cublasLtMatmulDesc_t desc;
  cublasLtMatrixLayout_t la, lb, lc; /* the library's A (bundle b), B (bundle a), C/D */
  cublasLtMatmulAlgo_t algo;
  float alpha, beta;
  CUdeviceptr a, b, c, d;
} gemm_problem;

struct mt_gpu_gemm_call {
  cublasLtHandle_t handle;
  gemm_problem *problems;
  size_t n_problems;
  CUdeviceptr workspace;
  size_t workspace_bytes; /* the bound workspace */
  uint64_t need;          /* the most the chosen algorithms need */
  const char *how;        /* mt_gpu_gemm_how */
  /* a grouped call as one cublasGemmGroupedBatchedEx (blas_handle set) */
  cublasHandle_t blas_handle;
  mt_gemm_grouped grouped;
  cublasComputeType_t compute;
  CUdeviceptr ptr_arrays; /* a, b, c pointer arrays, n_matrices each, in device memory */
};

MT_MUST_USE static mt_status *lt_check(cublasStatus_t s, const char *what) {
  if (s == CUBLAS_STATUS_SUCCESS) return NULL;
  return mt_status_make(s == CUBLAS_STATUS_ALLOC_FAILED ? MT_RESOURCE_EXHAUSTED : MT_INTERNAL,
                        "cuBLASLt %s failed (status %d)", what, (int)s);
}

static cublasLtEpilogue_t epilogue_of(uint32_t e) {
  switch ((mt_gpu_epilogue)e) {
  case MT_GPU_EPI_DEFAULT: return CUBLASLT_EPILOGUE_DEFAULT;
  case MT_GPU_EPI_BIAS: return CUBLASLT_EPILOGUE_BIAS;
  case MT_GPU_EPI_RELU: return CUBLASLT_EPILOGUE_RELU;
  case MT_GPU_EPI_RELU_BIAS: return CUBLASLT_EPILOGUE_RELU_BIAS;
  case MT_GPU_EPI_GELU: return CUBLASLT_EPILOGUE_GELU;
  case MT_GPU_EPI_GELU_BIAS: return CUBLASLT_EPILOGUE_GELU_BIAS;
  default: return (cublasLtEpilogue_t)-1;
  }
}

MT_MUST_USE static mt_status *layout(cublasLtMatrixLayout_t *out, uint64_t rows, uint64_t cols,
                                     int64_t ld, int64_t batch, int64_t stride) {
  MT_RETURN_IF_ERROR_PLAIN(
      lt_check(fn.cublasLtMatrixLayoutCreate(out, CUDA_R_32F, rows, cols, ld), "layout"));
  if (batch > 1) {
    int32_t count = (int32_t)batch;
    MT_RETURN_IF_ERROR_PLAIN(
        lt_check(fn.cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                     &count, sizeof count),
                 "batch count"));
    MT_RETURN_IF_ERROR_PLAIN(
        lt_check(fn.cublasLtMatrixLayoutSetAttribute(
                     *out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride),
                 "batch stride"));
  }
  return NULL;
}

MT_MUST_USE static mt_status *prepare_problem(mt_gpu_gemm_call *call,
                                              const Mtbundle__GpuLibCall *lc,
                                              const Mtbundle__GemmProblem *q, gemm_problem *p,
                                              mt_gpu_resolve_fn resolve, void *ctx) {
  const Mtbundle__BufferRef *refs[] = {q->a, q->b, q->d};
  for (int i = 0; i < 3; i++)
    if (!refs[i] || !refs[i]->type || refs[i]->type->dtype != 1)
      return MT_ERR(UNIMPLEMENTED, "GEMM operands other than float32 are not supported");
  cublasLtEpilogue_t epi = epilogue_of(q->epilogue);
  if ((int)epi < 0) return MT_ERR(DATA_LOSS, "GEMM epilogue %u is out of range", q->epilogue);
  bool has_c = q->c && q->c->kind != MTBUNDLE__BUFFER_REF__KIND__NONE;
  p->alpha = q->alpha;
  p->beta = has_c ? q->beta : 0.0f;
  p->a = resolve(ctx, q->a);
  p->b = resolve(ctx, q->b);
  p->d = resolve(ctx, q->d);
  p->c = has_c ? resolve(ctx, q->c) : p->d;
  cublasComputeType_t compute = lc->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  MT_RETURN_IF_ERROR_PLAIN(
      lt_check(fn.cublasLtMatmulDescCreate(&p->desc, compute, CUDA_R_32F), "descriptor"));
  /* d^T = op(b)^T op(a)^T in column-major terms */
  cublasOperation_t ta = q->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t tb = q->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  MT_RETURN_IF_ERROR_PLAIN(lt_check(
      fn.cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta),
      "transa"));
  MT_RETURN_IF_ERROR_PLAIN(lt_check(
      fn.cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb),
      "transb"));
  MT_RETURN_IF_ERROR_PLAIN(lt_check(
      fn.cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi),
      "epilogue"));
  if (q->bias && q->bias->kind != MTBUNDLE__BUFFER_REF__KIND__NONE) {
    CUdeviceptr bias = resolve(ctx, q->bias);
    MT_RETURN_IF_ERROR_PLAIN(
        lt_check(fn.cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                   &bias, sizeof bias),
                 "bias"));
  }
  if (lc->sm_count > 0) {
    int32_t sms = lc->sm_count;
    MT_RETURN_IF_ERROR_PLAIN(
        lt_check(fn.cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET,
                                                   &sms, sizeof sms),
                 "SM-count target"));
  }
  /* the library's A is b (n x k when not transposed), its B is a (k x m), C/D are n x m */
  uint64_t m = (uint64_t)q->m, n = (uint64_t)q->n, k = (uint64_t)q->k;
  MT_RETURN_IF_ERROR_PLAIN(
      layout(&p->la, q->trans_b ? k : n, q->trans_b ? n : k, q->ldb, q->batch, q->stride_b));
  MT_RETURN_IF_ERROR_PLAIN(
      layout(&p->lb, q->trans_a ? m : k, q->trans_a ? k : m, q->lda, q->batch, q->stride_a));
  /* c and d share ldc and the batch stride stride_c (the loader checks it covers an item) */
  MT_RETURN_IF_ERROR_PLAIN(layout(&p->lc, n, m, q->ldc, q->batch, q->stride_c));
  cublasLtMatmulPreference_t pref;
  MT_RETURN_IF_ERROR_PLAIN(lt_check(fn.cublasLtMatmulPreferenceCreate(&pref), "preference"));
  uint64_t ws = call->workspace_bytes;
  mt_status *st = lt_check(fn.cublasLtMatmulPreferenceSetAttribute(
                               pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
                           "workspace preference");
  cublasLtMatmulHeuristicResult_t result;
  int found = 0;
  if (!st)
    st = lt_check(fn.cublasLtMatmulAlgoGetHeuristic(call->handle, p->desc, p->la, p->lb, p->lc,
                                                    p->lc, pref, 1, &result, &found),
                  "heuristic");
  fn.cublasLtMatmulPreferenceDestroy(pref);
  if (!st && found < 1)
    st = MT_ERR(UNIMPLEMENTED, "cuBLASLt has no algorithm for a %llux%llux%llu GEMM",
                (unsigned long long)m, (unsigned long long)n, (unsigned long long)k);
  if (!st) {
    p->algo = result.algo;
    if (result.workspaceSize > call->need) call->need = result.workspaceSize;
  }
  return st;
}

typedef struct resolver {
  mt_gpu_resolve_fn fn;
  void *ctx;
} resolver;

static uint64_t resolve_u64(void *ctx, const Mtbundle__BufferRef *r) {
  const resolver *rs = ctx;
  return (uint64_t)rs->fn(rs->ctx, r);
}

/* A grouped call as one cublasGemmGroupedBatchedEx: its handle (SM-count target), the argument
 * arrays (gemm_plan.c) and the device copies of the pointer arrays. Sets call->how to why not
 * when the call cannot be one (the caller then prepares it problem by problem). */
MT_MUST_USE static mt_status *prepare_grouped(mt_gpu_gemm_call *call,
                                              const Mtbundle__GpuLibCall *lc,
                                              mt_gpu_resolve_fn resolve, void *ctx,
                                              const mt_cu_api *cu) {
  resolver rs = {resolve, ctx};
  MT_RETURN_IF_ERROR_PLAIN(mt_gemm_grouped_build(lc, resolve_u64, &rs, &call->grouped, &call->how));
  if (call->how) return NULL;
  pthread_once(&lib_once[LIB_BLAS], blas_load);
  if (lib_error[LIB_BLAS][0]) {
    mt_gemm_grouped_free(&call->grouped);
    call->how = "cuBLAS (cublasGemmGroupedBatchedEx) could not be loaded";
    return NULL;
  }
  call->how = "grouped";
  call->compute = lc->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  /* no heuristic query exists for the grouped API: the bundle's workspace size stands */
  call->need = lc->workspace_bytes;
  MT_RETURN_IF_ERROR_PLAIN(lt_check(fn.cublasCreate_v2(&call->blas_handle), "cuBLAS handle"));
  if (lc->sm_count > 0)
    MT_RETURN_IF_ERROR_PLAIN(
        lt_check(fn.cublasSetSmCountTarget(call->blas_handle, lc->sm_count), "SM-count target"));
  size_t n = call->grouped.n_matrices, bytes = 3 * n * sizeof(uint64_t);
  uint64_t *host = malloc(bytes);
  if (!host) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  memcpy(host, call->grouped.a, n * sizeof *host);
  memcpy(host + n, call->grouped.b, n * sizeof *host);
  memcpy(host + 2 * n, call->grouped.c, n * sizeof *host);
  mt_status *st = mt_cu_check(cu, cu->cuMemAlloc(&call->ptr_arrays, bytes), "cuMemAlloc");
  if (!st) st = mt_cu_check(cu, cu->cuMemcpyHtoD(call->ptr_arrays, host, bytes), "cuMemcpyHtoD");
  free(host);
  return st ? mt_status_annotate(st, "grouped GEMM pointer arrays (%zu bytes)", bytes) : NULL;
}

mt_status *mt_gpu_gemm_prepare(const Mtbundle__GpuLibCall *lc, mt_gpu_resolve_fn resolve, void *ctx,
                               const mt_cu_api *cu, mt_gpu_gemm_call **out) {
  *out = NULL;
  pthread_once(&lib_once[LIB_LT], lt_load);
  if (lib_error[LIB_LT][0])
    return MT_ERR(UNAVAILABLE, "the plan has GEMM library calls but cuBLASLt is missing: %s",
                  lib_error[LIB_LT]);
  mt_gpu_gemm_call *call = calloc(1, sizeof *call);
  if (call) call->problems = calloc(lc->n_problems + 1, sizeof *call->problems);
  if (!call || !call->problems) {
    mt_gpu_gemm_free(call, cu);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  /* the heuristics choose among algorithms needing at most the bundle's workspace; the session
   * binds a workspace of what the chosen ones need */
  call->workspace_bytes = (size_t)lc->workspace_bytes;
  mt_status *st = NULL;
  if (lc->kind == MT_GPU_GEMM_GROUPED) st = prepare_grouped(call, lc, resolve, ctx, cu);
  if (!st && !call->blas_handle) st = lt_check(fn.cublasLtCreate(&call->handle), "handle creation");
  for (size_t i = 0; !st && !call->blas_handle && i < lc->n_problems; i++) {
    st = prepare_problem(call, lc, lc->problems[i], &call->problems[i], resolve, ctx);
    call->n_problems = i + 1;
    if (st) st = mt_status_annotate(st, "GEMM problem %zu", i);
  }
  if (st) {
    mt_gpu_gemm_free(call, cu);
    return st;
  }
  call->workspace_bytes = 0; /* nothing bound yet */
  *out = call;
  return NULL;
}

uint64_t mt_gpu_gemm_workspace_need(const mt_gpu_gemm_call *call) { return call->need; }

void mt_gpu_gemm_bind_workspace(mt_gpu_gemm_call *call, CUdeviceptr workspace, uint64_t bytes) {
  call->workspace = workspace;
  call->workspace_bytes = (size_t)bytes;
}

const char *mt_gpu_gemm_how(const mt_gpu_gemm_call *call) { return call->how; }

MT_MUST_USE static mt_status *enqueue_grouped(const mt_gpu_gemm_call *call, CUstream stream) {
  const mt_gemm_grouped *g = &call->grouped;
  size_t n = g->n_matrices;
  CUdeviceptr arrays = call->ptr_arrays;
  MT_RETURN_IF_ERROR_PLAIN(lt_check(fn.cublasSetStream_v2(call->blas_handle, stream), "stream"));
  MT_RETURN_IF_ERROR_PLAIN(lt_check(
      fn.cublasSetWorkspace_v2(call->blas_handle, (void *)call->workspace, call->workspace_bytes),
      "workspace"));
  /* gemm_plan's operation codes are cuBLAS's (CUBLAS_OP_N 0, CUBLAS_OP_T 1) */
  return lt_check(fn.cublasGemmGroupedBatchedEx(
                      call->blas_handle, (const cublasOperation_t *)g->transa,
                      (const cublasOperation_t *)g->transb, g->m, g->n, g->k, g->alpha,
                      (const void *const *)arrays, CUDA_R_32F, g->lda,
                      (const void *const *)(arrays + n * sizeof(uint64_t)), CUDA_R_32F, g->ldb,
                      g->beta, (void *const *)(arrays + 2 * n * sizeof(uint64_t)), CUDA_R_32F,
                      g->ldc, g->group_count, g->size, call->compute),
                  "cublasGemmGroupedBatchedEx");
}

mt_status *mt_gpu_gemm_enqueue(const mt_gpu_gemm_call *call, CUstream stream) {
  if (call->blas_handle) return enqueue_grouped(call, stream);
  for (size_t i = 0; i < call->n_problems; i++) {
    const gemm_problem *p = &call->problems[i];
    MT_RETURN_IF_ERROR(
        lt_check(fn.cublasLtMatmul(call->handle, p->desc, &p->alpha, (const void *)p->b, p->la,
                                   (const void *)p->a, p->lb, &p->beta, (const void *)p->c, p->lc,
                                   (void *)p->d, p->lc, &p->algo, (void *)call->workspace,
                                   call->workspace_bytes, stream),
                 "matmul"),
        "GEMM problem %zu", i);
  }
  return NULL;
}

void mt_gpu_gemm_free(mt_gpu_gemm_call *call, const mt_cu_api *cu) {
  if (!call) return;
  if (call->blas_handle) fn.cublasDestroy_v2(call->blas_handle);
  if (call->ptr_arrays) cu->cuMemFree(call->ptr_arrays);
  mt_gemm_grouped_free(&call->grouped);
  for (size_t i = 0; i < call->n_problems; i++) {
    gemm_problem *p = &call->problems[i];
    if (p->la) fn.cublasLtMatrixLayoutDestroy(p->la);
    if (p->lb) fn.cublasLtMatrixLayoutDestroy(p->lb);
    if (p->lc) fn.cublasLtMatrixLayoutDestroy(p->lc);
    if (p->desc) fn.cublasLtMatmulDescDestroy(p->desc);
  }
  if (call->handle) fn.cublasLtDestroy(call->handle);
  free(call->problems);
  free(call);
}

#elif defined(MTRT_HAVE_CUDA_H)

struct mt_gpu_gemm_call {
  int unused;
};
mt_status *mt_gpu_gemm_prepare(const Mtbundle__GpuLibCall *lc, mt_gpu_resolve_fn resolve, void *ctx,
                               const mt_cu_api *cu, mt_gpu_gemm_call **out) {
  *out = NULL;
  return MT_ERR(UNAVAILABLE, "the plan has GEMM library calls but libmtrt was built without the "
                             "cuBLASLt header (cublasLt.h)");
}
mt_status *mt_gpu_gemm_enqueue(const mt_gpu_gemm_call *call, CUstream stream) {
  return MT_ERR(INTERNAL, "no cuBLASLt");
}
uint64_t mt_gpu_gemm_workspace_need(const mt_gpu_gemm_call *call) { return 0; }
void mt_gpu_gemm_bind_workspace(mt_gpu_gemm_call *call, CUdeviceptr workspace, uint64_t bytes) {}
const char *mt_gpu_gemm_how(const mt_gpu_gemm_call *call) { return NULL; }
void mt_gpu_gemm_free(mt_gpu_gemm_call *call, const mt_cu_api *cu) {}

#endif
