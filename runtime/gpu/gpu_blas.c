/* GEMM library calls through cuBLASLt (runtime/gpu/gpu_blas.h). */
#include "runtime/gpu/gpu_blas.h"

#include "runtime/bundle/format.h"

#if defined(MTRT_HAVE_CUDA_H) && defined(MTRT_HAVE_CUBLASLT_H)
#include <cublasLt.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MT_LT_FUNCS(X)                                                                             \
  X(cublasLtCreate)                                                                                \
  X(cublasLtDestroy)                                                                               \
  X(cublasLtMatmulDescCreate)                                                                      \
  X(cublasLtMatmulDescDestroy)                                                                     \
  X(cublasLtMatmulDescSetAttribute)                                                                \
  X(cublasLtMatrixLayoutCreate)                                                                    \
  X(cublasLtMatrixLayoutDestroy)                                                                   \
  X(cublasLtMatrixLayoutSetAttribute)                                                              \
  X(cublasLtMatmulPreferenceCreate)                                                                \
  X(cublasLtMatmulPreferenceDestroy)                                                               \
  X(cublasLtMatmulPreferenceSetAttribute)                                                          \
  X(cublasLtMatmulAlgoGetHeuristic)                                                                \
  X(cublasLtMatmul)

static struct {
#define MT_LT_FIELD(name) __typeof__(&name) name;
  MT_LT_FUNCS(MT_LT_FIELD)
#undef MT_LT_FIELD
} lt;
static pthread_once_t lt_once = PTHREAD_ONCE_INIT;
static char lt_error[256]; /* "" when loaded */

static void lt_load(void) {
  const char *env = getenv("MTRT_CUBLASLT_PATH");
  /* the toolkit's folder last: CUDA images do not always put it on the loader's path */
  const char *names[] = {env && *env ? env : "libcublasLt.so.13", "libcublasLt.so",
                         "/usr/local/cuda/lib64/libcublasLt.so.13"};
  void *lib = NULL;
  for (int i = 0; !lib && i < (env && *env ? 1 : 3); i++)
    lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    snprintf(lt_error, sizeof lt_error, "cannot open %s (%s)", names[0], dlerror());
    return;
  }
#define MT_LT_RESOLVE(name)                                                                        \
  if (!(*(void **)&lt.name = dlsym(lib, #name))) {                                                 \
    snprintf(lt_error, sizeof lt_error, "%s lacks %s", names[0], #name);                           \
    return;                                                                                        \
  }
  MT_LT_FUNCS(MT_LT_RESOLVE)
#undef MT_LT_RESOLVE
}

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
  size_t workspace_bytes;
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
      lt_check(lt.cublasLtMatrixLayoutCreate(out, CUDA_R_32F, rows, cols, ld), "layout"));
  if (batch > 1) {
    int32_t count = (int32_t)batch;
    MT_RETURN_IF_ERROR_PLAIN(
        lt_check(lt.cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                     &count, sizeof count),
                 "batch count"));
    MT_RETURN_IF_ERROR_PLAIN(
        lt_check(lt.cublasLtMatrixLayoutSetAttribute(
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
      lt_check(lt.cublasLtMatmulDescCreate(&p->desc, compute, CUDA_R_32F), "descriptor"));
  /* d^T = op(b)^T op(a)^T in column-major terms */
  cublasOperation_t ta = q->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t tb = q->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  MT_RETURN_IF_ERROR_PLAIN(lt_check(
      lt.cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta),
      "transa"));
  MT_RETURN_IF_ERROR_PLAIN(lt_check(
      lt.cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb),
      "transb"));
  MT_RETURN_IF_ERROR_PLAIN(lt_check(
      lt.cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi),
      "epilogue"));
  if (q->bias && q->bias->kind != MTBUNDLE__BUFFER_REF__KIND__NONE) {
    CUdeviceptr bias = resolve(ctx, q->bias);
    MT_RETURN_IF_ERROR_PLAIN(
        lt_check(lt.cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                   &bias, sizeof bias),
                 "bias"));
  }
  if (lc->sm_count > 0) {
    int32_t sms = lc->sm_count;
    MT_RETURN_IF_ERROR_PLAIN(
        lt_check(lt.cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET,
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
  MT_RETURN_IF_ERROR_PLAIN(lt_check(lt.cublasLtMatmulPreferenceCreate(&pref), "preference"));
  uint64_t ws = call->workspace_bytes;
  mt_status *st = lt_check(lt.cublasLtMatmulPreferenceSetAttribute(
                               pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
                           "workspace preference");
  cublasLtMatmulHeuristicResult_t result;
  int found = 0;
  if (!st)
    st = lt_check(lt.cublasLtMatmulAlgoGetHeuristic(call->handle, p->desc, p->la, p->lb, p->lc,
                                                    p->lc, pref, 1, &result, &found),
                  "heuristic");
  lt.cublasLtMatmulPreferenceDestroy(pref);
  if (!st && found < 1)
    st = MT_ERR(UNIMPLEMENTED, "cuBLASLt has no algorithm for a %llux%llux%llu GEMM",
                (unsigned long long)m, (unsigned long long)n, (unsigned long long)k);
  if (!st) p->algo = result.algo;
  return st;
}

mt_status *mt_gpu_gemm_prepare(const Mtbundle__GpuLibCall *lc, mt_gpu_resolve_fn resolve, void *ctx,
                               CUdeviceptr workspace, mt_gpu_gemm_call **out) {
  *out = NULL;
  pthread_once(&lt_once, lt_load);
  if (lt_error[0])
    return MT_ERR(UNAVAILABLE, "the plan has GEMM library calls but cuBLASLt is missing: %s",
                  lt_error);
  mt_gpu_gemm_call *call = calloc(1, sizeof *call);
  if (call) call->problems = calloc(lc->n_problems + 1, sizeof *call->problems);
  if (!call || !call->problems) {
    mt_gpu_gemm_free(call);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  call->workspace = workspace;
  call->workspace_bytes = (size_t)lc->workspace_bytes;
  mt_status *st = lt_check(lt.cublasLtCreate(&call->handle), "handle creation");
  for (size_t i = 0; !st && i < lc->n_problems; i++) {
    st = prepare_problem(call, lc, lc->problems[i], &call->problems[i], resolve, ctx);
    call->n_problems = i + 1;
    if (st) st = mt_status_annotate(st, "GEMM problem %zu", i);
  }
  if (st) {
    mt_gpu_gemm_free(call);
    return st;
  }
  *out = call;
  return NULL;
}

mt_status *mt_gpu_gemm_enqueue(const mt_gpu_gemm_call *call, CUstream stream) {
  for (size_t i = 0; i < call->n_problems; i++) {
    const gemm_problem *p = &call->problems[i];
    MT_RETURN_IF_ERROR(
        lt_check(lt.cublasLtMatmul(call->handle, p->desc, &p->alpha, (const void *)p->b, p->la,
                                   (const void *)p->a, p->lb, &p->beta, (const void *)p->c, p->lc,
                                   (void *)p->d, p->lc, &p->algo, (void *)call->workspace,
                                   call->workspace_bytes, stream),
                 "matmul"),
        "GEMM problem %zu", i);
  }
  return NULL;
}

void mt_gpu_gemm_free(mt_gpu_gemm_call *call) {
  if (!call) return;
  for (size_t i = 0; i < call->n_problems; i++) {
    gemm_problem *p = &call->problems[i];
    if (p->la) lt.cublasLtMatrixLayoutDestroy(p->la);
    if (p->lb) lt.cublasLtMatrixLayoutDestroy(p->lb);
    if (p->lc) lt.cublasLtMatrixLayoutDestroy(p->lc);
    if (p->desc) lt.cublasLtMatmulDescDestroy(p->desc);
  }
  if (call->handle) lt.cublasLtDestroy(call->handle);
  free(call->problems);
  free(call);
}

#elif defined(MTRT_HAVE_CUDA_H)

struct mt_gpu_gemm_call {
  int unused;
};
mt_status *mt_gpu_gemm_prepare(const Mtbundle__GpuLibCall *lc, mt_gpu_resolve_fn resolve, void *ctx,
                               CUdeviceptr workspace, mt_gpu_gemm_call **out) {
  *out = NULL;
  return MT_ERR(UNAVAILABLE, "the plan has GEMM library calls but libmtrt was built without the "
                             "cuBLASLt header (cublasLt.h)");
}
mt_status *mt_gpu_gemm_enqueue(const mt_gpu_gemm_call *call, CUstream stream) {
  return MT_ERR(INTERNAL, "no cuBLASLt");
}
void mt_gpu_gemm_free(mt_gpu_gemm_call *call) {}

#endif
