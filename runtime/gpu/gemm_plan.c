/* GEMM library calls as data (runtime/gpu/gemm_plan.h): grouped-call arguments and workspace
 * slots. No CUDA, no cuBLAS. */
#include "runtime/gpu/gemm_plan.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/bundle/format.h"

void mt_gemm_grouped_free(mt_gemm_grouped *g) {
  if (!g) return;
  free(g->transa);
  free(g->transb);
  free(g->m);
  free(g->n);
  free(g->k);
  free(g->lda);
  free(g->ldb);
  free(g->ldc);
  free(g->size);
  free(g->alpha);
  free(g->beta);
  free(g->a);
  free(g->b);
  free(g->c);
  memset(g, 0, sizeof *g);
}

static bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* Why problem q cannot be a group of a grouped call (NULL: it can). */
static const char *why_not(const Mtbundle__GemmProblem *q) {
  if (q->epilogue != MT_GPU_EPI_DEFAULT)
    return "a problem has a cuBLASLt epilogue, which cublasGemmGroupedBatchedEx does not apply";
  if (q->bias && q->bias->kind != MTBUNDLE__BUFFER_REF__KIND__NONE)
    return "a problem adds a bias, which cublasGemmGroupedBatchedEx does not";
  bool has_c = q->c && q->c->kind != MTBUNDLE__BUFFER_REF__KIND__NONE;
  if (has_c && q->beta != 0.0f &&
      (q->c->kind != q->d->kind || q->c->partition != q->d->partition ||
       q->c->offset != q->d->offset))
    return "a problem reads c from other bytes than it writes d (the grouped API updates c in "
           "place)";
  if (!fits_int(q->m) || !fits_int(q->n) || !fits_int(q->k) || !fits_int(q->lda) ||
      !fits_int(q->ldb) || !fits_int(q->ldc) || !fits_int(q->batch) || q->batch < 1)
    return "a dimension or leading dimension does not fit the grouped API's int";
  return NULL;
}

#define ALLOC(p, n) ((p) = calloc((size_t)(n) + 1, sizeof *(p)))

mt_status *mt_gemm_grouped_build(const Mtbundle__GpuLibCall *lc, mt_gemm_resolve_fn resolve,
                                 void *ctx, mt_gemm_grouped *out, const char **out_why_not) {
  memset(out, 0, sizeof *out);
  *out_why_not = NULL;
  if (lc->kind != MT_GPU_GEMM_GROUPED) {
    *out_why_not = "not a grouped GEMM call";
    return NULL;
  }
  if (lc->n_problems == 0 || lc->n_problems > INT_MAX) {
    *out_why_not = "no problems, or more groups than the grouped API's int";
    return NULL;
  }
  size_t total = 0;
  for (size_t i = 0; i < lc->n_problems; i++) {
    const char *why = why_not(lc->problems[i]);
    if (why) {
      *out_why_not = why;
      return NULL;
    }
    total += (size_t)lc->problems[i]->batch;
    if (total > INT_MAX) {
      *out_why_not = "more matrices than the grouped API's int";
      return NULL;
    }
  }
  size_t ng = lc->n_problems;
  mt_gemm_grouped g = {.group_count = (int)ng, .n_matrices = total};
  if (!ALLOC(g.transa, ng) || !ALLOC(g.transb, ng) || !ALLOC(g.m, ng) || !ALLOC(g.n, ng) ||
      !ALLOC(g.k, ng) || !ALLOC(g.lda, ng) || !ALLOC(g.ldb, ng) || !ALLOC(g.ldc, ng) ||
      !ALLOC(g.size, ng) || !ALLOC(g.alpha, ng) || !ALLOC(g.beta, ng) || !ALLOC(g.a, total) ||
      !ALLOC(g.b, total) || !ALLOC(g.c, total)) {
    mt_gemm_grouped_free(&g);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for a grouped GEMM of %zu matrices", total);
  }
  size_t at = 0;
  for (size_t i = 0; i < ng; i++) {
    const Mtbundle__GemmProblem *q = lc->problems[i];
    bool has_c = q->c && q->c->kind != MTBUNDLE__BUFFER_REF__KIND__NONE;
    /* d^T = op(b)^T op(a)^T: the library's A is b, its B is a, its m x n output is n x m */
    g.transa[i] = q->trans_b ? MT_GEMM_OP_T : MT_GEMM_OP_N;
    g.transb[i] = q->trans_a ? MT_GEMM_OP_T : MT_GEMM_OP_N;
    g.m[i] = (int)q->n;
    g.n[i] = (int)q->m;
    g.k[i] = (int)q->k;
    g.lda[i] = (int)q->ldb;
    g.ldb[i] = (int)q->lda;
    g.ldc[i] = (int)q->ldc;
    g.size[i] = (int)q->batch;
    g.alpha[i] = q->alpha;
    g.beta[i] = has_c ? q->beta : 0.0f;
    uint64_t a = resolve(ctx, q->a), b = resolve(ctx, q->b), d = resolve(ctx, q->d);
    for (int64_t item = 0; item < q->batch; item++, at++) {
      /* float32 elements: batch strides are in elements */
      g.a[at] = b + (uint64_t)item * (uint64_t)q->stride_b * sizeof(float);
      g.b[at] = a + (uint64_t)item * (uint64_t)q->stride_a * sizeof(float);
      g.c[at] = d + (uint64_t)item * (uint64_t)q->stride_c * sizeof(float);
    }
  }
  *out = g;
  return NULL;
}

mt_status *mt_gemm_workspace_plan(const Mtbundle__Manifest *m, const bool *has_calls,
                                  const uint64_t *need, int32_t *slot_of_group,
                                  uint64_t **out_slot_bytes, int32_t *out_n_slots) {
  *out_slot_bytes = NULL;
  *out_n_slots = 0;
  /* slot keys (partition, stream) in order of first use */
  int32_t *key_part = calloc(m->n_groups + 1, sizeof *key_part);
  int32_t *key_stream = calloc(m->n_groups + 1, sizeof *key_stream);
  uint64_t *bytes = calloc(m->n_groups + 1, sizeof *bytes);
  if (!key_part || !key_stream || !bytes) {
    free(key_part);
    free(key_stream);
    free(bytes);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory planning library-call workspaces");
  }
  int32_t n = 0;
  for (size_t g = 0; g < m->n_groups; g++) {
    slot_of_group[g] = -1;
    if (!has_calls[g]) continue;
    const Mtbundle__Group *gr = m->groups[g];
    int32_t s = 0;
    while (s < n && (key_part[s] != gr->partition || key_stream[s] != gr->stream)) s++;
    if (s == n) key_part[n] = gr->partition, key_stream[n] = gr->stream, n++;
    slot_of_group[g] = s;
    if (need[g] > bytes[s]) bytes[s] = need[g];
  }
  free(key_part);
  free(key_stream);
  *out_slot_bytes = bytes;
  *out_n_slots = n;
  return NULL;
}
