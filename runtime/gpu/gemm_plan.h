/* GEMM library calls as data, before any library is loaded (no CUDA or cuBLAS types here, so it
 * is unit-tested on machines without a GPU; runtime/gpu/gpu_blas.c hands the results to the
 * libraries):
 *   - a grouped GEMM call (MT_GPU_GEMM_GROUPED) as the arguments of one
 *     cublasGemmGroupedBatchedEx: one group per problem, one matrix per batch item, in the
 *     column-major terms of the row-major problem (d^T = op(b)^T op(a)^T), or the reason the
 *     call cannot be one (an epilogue or bias the grouped API does not apply, c apart from d, a
 *     dimension past int);
 *   - library-call workspaces: one per (partition, stream), sized to the largest workspace its
 *     calls' chosen algorithms need. Calls on one stream of a partition run one after another;
 *     calls on different streams may run at once, so they never share one. */
#ifndef MT_RUNTIME_GPU_GEMM_PLAN_H
#define MT_RUNTIME_GPU_GEMM_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/status.h"
#include "runtime/bundle/mtbundle.pb-c.h"

/* cuBLAS's operation codes (CUBLAS_OP_N, CUBLAS_OP_T), without its header. */
enum { MT_GEMM_OP_N = 0, MT_GEMM_OP_T = 1 };

/* Arguments of one cublasGemmGroupedBatchedEx (float32 in and out). Per group: transa, transb,
 * m, n, k, lda, ldb, ldc, alpha, beta, size (matrices); per matrix, in group order: the a, b and
 * c device addresses (c is also the output). All arrays are owned (mt_gemm_grouped_free). */
typedef struct mt_gemm_grouped {
  int group_count;
  int *transa, *transb, *m, *n, *k, *lda, *ldb, *ldc, *size;
  float *alpha, *beta;
  size_t n_matrices;
  uint64_t *a, *b, *c;
} mt_gemm_grouped;

/* Device address of a buffer reference (the session's resolver; tests pass their own). */
typedef uint64_t (*mt_gemm_resolve_fn)(void *ctx, const Mtbundle__BufferRef *r);

/* Builds the grouped call's arguments for lc (a validated library call). *out_why_not is NULL
 * when it can be one grouped call, else the reason it cannot (static text; *out is then empty):
 * the caller issues its problems one by one and says why. RESOURCE_EXHAUSTED when out of memory.
 */
MT_MUST_USE mt_status *mt_gemm_grouped_build(const Mtbundle__GpuLibCall *lc,
                                             mt_gemm_resolve_fn resolve, void *ctx,
                                             mt_gemm_grouped *out, const char **out_why_not);
void mt_gemm_grouped_free(mt_gemm_grouped *g);

/* The workspace plan: slot_of_group[g] (n_groups entries) is the workspace slot of group g's
 * library calls (-1: it has none); slot_bytes[slot] its size, the most any call in it needs
 * (need[g]: the most group g's calls need, 0 when none). Slots are one per (partition, stream)
 * that has calls, numbered in group order. *out_slot_bytes is the caller's (free). */
MT_MUST_USE mt_status *mt_gemm_workspace_plan(const Mtbundle__Manifest *m, const bool *has_calls,
                                              const uint64_t *need, int32_t *slot_of_group,
                                              uint64_t **out_slot_bytes, int32_t *out_n_slots);

#endif
