/* Cache-blocked SGEMM (see gemm.h).
 *
 * The classic three-level blocking: B is packed in KC x NC blocks (kept in L3/L2) as panels of NR
 * columns, A in MC x KC blocks (kept in L2) as panels of MR rows, and a MR x NR micro-kernel keeps
 * its accumulators in registers while streaming one A panel and one B panel (L1). Panels are
 * zero-padded to full tiles so the micro-kernel has a single fixed-size inner loop that gcc
 * unrolls and vectorises along NR; partial tiles are only special-cased when storing.
 *
 * MR = 4, NR = 8 keeps 8 accumulator vectors plus operands inside the 16 SSE registers of the
 * x86-64 baseline (the micro-kernel measures ~30 GFLOP/s there); wider tiles spill.
 *
 * Summation order: each C element receives, for every KC block of k in ascending order, the sum
 * of that block's products accumulated in ascending k. That depends only on k: an element's bits
 * do not depend on m, n, the tile it falls in, or the single-row (m == 1) fast path, which keeps
 * the same order. */
#include "runtime/cpu/gemm.h"

#include <stdlib.h>

#define MT_GEMM_MR 4
#define MT_GEMM_NR 8
#define MT_GEMM_KC 256
#define MT_GEMM_MC 96   /* multiple of MR */
#define MT_GEMM_NC 2048 /* multiple of NR */

static inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Packs rows [i0, i0 + mc) and k range [p0, p0 + kc) of op(A) into MR-row panels:
 * panel r holds kc groups of MR consecutive row values. */
static void pack_a(bool trans_a, const float *a, int64_t lda, int64_t i0, int64_t mc, int64_t p0,
                   int64_t kc, float *restrict dst) {
  for (int64_t ir = 0; ir < mc; ir += MT_GEMM_MR) {
    int64_t mr = min_i64(MT_GEMM_MR, mc - ir);
    float *d = dst + ir * kc;
    if (trans_a) {
      for (int64_t p = 0; p < kc; p++) {
        const float *src = a + (p0 + p) * lda + i0 + ir;
        int64_t i = 0;
        for (; i < mr; i++) d[p * MT_GEMM_MR + i] = src[i];
        for (; i < MT_GEMM_MR; i++) d[p * MT_GEMM_MR + i] = 0.0f;
      }
    } else {
      int64_t i = 0;
      for (; i < mr; i++) {
        const float *src = a + (i0 + ir + i) * lda + p0;
        for (int64_t p = 0; p < kc; p++) d[p * MT_GEMM_MR + i] = src[p];
      }
      for (; i < MT_GEMM_MR; i++)
        for (int64_t p = 0; p < kc; p++) d[p * MT_GEMM_MR + i] = 0.0f;
    }
  }
}

/* Packs k range [p0, p0 + kc) and columns [j0, j0 + nc) of op(B) into NR-column panels. */
static void pack_b(bool trans_b, const float *b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0,
                   int64_t nc, float *restrict dst) {
  for (int64_t jr = 0; jr < nc; jr += MT_GEMM_NR) {
    int64_t nr = min_i64(MT_GEMM_NR, nc - jr);
    float *d = dst + jr * kc;
    if (trans_b && nr == MT_GEMM_NR) {
      /* eight row streams read in step: sequential reads, sequential writes */
      const float *src[MT_GEMM_NR];
      for (int j = 0; j < MT_GEMM_NR; j++) src[j] = b + (j0 + jr + j) * ldb + p0;
      for (int64_t p = 0; p < kc; p++)
        for (int j = 0; j < MT_GEMM_NR; j++) d[p * MT_GEMM_NR + j] = src[j][p];
    } else if (trans_b) {
      int64_t j = 0;
      for (; j < nr; j++) {
        const float *src = b + (j0 + jr + j) * ldb + p0;
        for (int64_t p = 0; p < kc; p++) d[p * MT_GEMM_NR + j] = src[p];
      }
      for (; j < MT_GEMM_NR; j++)
        for (int64_t p = 0; p < kc; p++) d[p * MT_GEMM_NR + j] = 0.0f;
    } else {
      for (int64_t p = 0; p < kc; p++) {
        const float *src = b + (p0 + p) * ldb + j0 + jr;
        int64_t j = 0;
        for (; j < nr; j++) d[p * MT_GEMM_NR + j] = src[j];
        for (; j < MT_GEMM_NR; j++) d[p * MT_GEMM_NR + j] = 0.0f;
      }
    }
  }
}

/* C tile (mr x nr of it valid) += alpha * (A panel * B panel) over kc. */
static void micro_kernel(int64_t kc, const float *restrict ap, const float *restrict bp,
                         float *restrict c, int64_t ldc, int64_t mr, int64_t nr, float alpha) {
  float acc[MT_GEMM_MR][MT_GEMM_NR];
  for (int i = 0; i < MT_GEMM_MR; i++)
    for (int j = 0; j < MT_GEMM_NR; j++) acc[i][j] = 0.0f;
  for (int64_t p = 0; p < kc; p++) {
    const float *av = ap + p * MT_GEMM_MR;
    const float *bv = bp + p * MT_GEMM_NR;
    for (int i = 0; i < MT_GEMM_MR; i++) {
      float x = av[i];
      for (int j = 0; j < MT_GEMM_NR; j++) acc[i][j] += x * bv[j];
    }
  }
  if (mr == MT_GEMM_MR && nr == MT_GEMM_NR) {
    for (int i = 0; i < MT_GEMM_MR; i++)
      for (int j = 0; j < MT_GEMM_NR; j++) c[i * ldc + j] += alpha * acc[i][j];
  } else {
    for (int64_t i = 0; i < mr; i++)
      for (int64_t j = 0; j < nr; j++) c[i * ldc + j] += alpha * acc[i][j];
  }
}

/* m == 1 with B stored k x n: rows of B are scaled and accumulated straight from B (no packing),
 * a column chunk at a time so the accumulators stay in L1. Accumulators restart at every KC
 * block boundary, exactly as in the blocked path, so the bits match it. */
static void row_times_b(int64_t n, int64_t k, float alpha, const float *restrict a,
                        const float *restrict b, int64_t ldb, float *restrict c) {
  enum { CHUNK = 2048 };
  float acc[CHUNK];
  for (int64_t j0 = 0; j0 < n; j0 += CHUNK) {
    int64_t nc = min_i64(CHUNK, n - j0);
    for (int64_t pc = 0; pc < k; pc += MT_GEMM_KC) {
      int64_t kc = min_i64(MT_GEMM_KC, k - pc);
      for (int64_t j = 0; j < nc; j++) acc[j] = 0.0f;
      for (int64_t p = pc; p < pc + kc; p++) {
        float x = a[p];
        const float *br = b + p * ldb + j0;
        for (int64_t j = 0; j < nc; j++) acc[j] += x * br[j];
      }
      for (int64_t j = 0; j < nc; j++) c[j0 + j] += alpha * acc[j];
    }
  }
}

/* m == 1 with B stored n x k: eight rows of B (eight columns of C) at a time, read in step
 * straight from B, one accumulator per column restarted at every KC block boundary: the same
 * per-element order as the blocked path, without packing. */
static void row_times_bt(int64_t n, int64_t k, float alpha, const float *restrict a,
                         const float *restrict b, int64_t ldb, float *restrict c) {
  for (int64_t j0 = 0; j0 < n; j0 += MT_GEMM_NR) {
    int64_t nr = min_i64(MT_GEMM_NR, n - j0);
    const float *rows[MT_GEMM_NR];
    for (int j = 0; j < MT_GEMM_NR; j++) rows[j] = b + (j0 + (j < nr ? j : 0)) * ldb;
    for (int64_t pc = 0; pc < k; pc += MT_GEMM_KC) {
      int64_t kc = min_i64(MT_GEMM_KC, k - pc);
      float acc[MT_GEMM_NR];
      for (int j = 0; j < MT_GEMM_NR; j++) acc[j] = 0.0f;
      for (int64_t p = pc; p < pc + kc; p++) {
        float x = a[p];
        for (int j = 0; j < MT_GEMM_NR; j++) acc[j] += x * rows[j][p];
      }
      for (int64_t j = 0; j < nr; j++) c[j0 + j] += alpha * acc[j];
    }
  }
}

/* C[1 x n] += alpha * a * op(B) for a contiguous row a. */
static void sgemm_row(bool trans_b, int64_t n, int64_t k, float alpha, const float *a,
                      const float *b, int64_t ldb, float *c) {
  if (trans_b)
    row_times_bt(n, k, alpha, a, b, ldb, c);
  else
    row_times_b(n, k, alpha, a, b, ldb, c);
}

mt_status *mt_cpu_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
                        int64_t ldc) {
  if (m <= 0 || n <= 0 || k <= 0) return NULL;
  if (m == 1) {
    /* A matrix-vector product: a 4-row tile would waste three quarters of the arithmetic. */
    float *row = NULL;
    if (trans_a && lda != 1) {
      row = malloc((size_t)k * sizeof(float));
      if (!row) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for a GEMV row");
      for (int64_t p = 0; p < k; p++) row[p] = a[p * lda];
    }
    sgemm_row(trans_b, n, k, alpha, row ? row : a, b, ldb, c);
    free(row);
    return NULL;
  }
  int64_t kc_max = min_i64(k, MT_GEMM_KC);
  int64_t mc_max = min_i64((m + MT_GEMM_MR - 1) / MT_GEMM_MR * MT_GEMM_MR, MT_GEMM_MC);
  int64_t nc_max = min_i64((n + MT_GEMM_NR - 1) / MT_GEMM_NR * MT_GEMM_NR, MT_GEMM_NC);
  float *apack = malloc((size_t)(mc_max * kc_max) * sizeof(float));
  float *bpack = malloc((size_t)(nc_max * kc_max) * sizeof(float));
  if (!apack || !bpack) {
    free(apack);
    free(bpack);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for GEMM packing buffers");
  }
  for (int64_t jc = 0; jc < n; jc += MT_GEMM_NC) {
    int64_t nc = min_i64(MT_GEMM_NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += MT_GEMM_KC) {
      int64_t kc = min_i64(MT_GEMM_KC, k - pc);
      pack_b(trans_b, b, ldb, pc, kc, jc, nc, bpack);
      for (int64_t ic = 0; ic < m; ic += MT_GEMM_MC) {
        int64_t mc = min_i64(MT_GEMM_MC, m - ic);
        pack_a(trans_a, a, lda, ic, mc, pc, kc, apack);
        for (int64_t jr = 0; jr < nc; jr += MT_GEMM_NR) {
          int64_t nr = min_i64(MT_GEMM_NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MT_GEMM_MR) {
            int64_t mr = min_i64(MT_GEMM_MR, mc - ir);
            micro_kernel(kc, apack + ir * kc, bpack + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc,
                         mr, nr, alpha);
          }
        }
      }
    }
  }
  free(apack);
  free(bpack);
  return NULL;
}

mt_status *mt_cpu_matmul_shape(int a_rank, const int64_t *a_dims, int b_rank, const int64_t *b_dims,
                               mt_matmul_shape *s) {
  if (a_rank < 1 || b_rank < 1)
    return MT_ERR(INVALID_ARGUMENT, "MatMul operands must have rank >= 1, got %d and %d", a_rank,
                  b_rank);
  s->m = a_rank == 1 ? 1 : a_dims[a_rank - 2];
  s->k = a_dims[a_rank - 1];
  int64_t kb = b_rank == 1 ? b_dims[0] : b_dims[b_rank - 2];
  s->n = b_rank == 1 ? 1 : b_dims[b_rank - 1];
  if (s->k >= 0 && kb >= 0 && s->k != kb)
    return MT_ERR(INVALID_ARGUMENT, "inner dims differ: %lld vs %lld", (long long)s->k,
                  (long long)kb);
  int ra = a_rank > 2 ? a_rank - 2 : 0, rb = b_rank > 2 ? b_rank - 2 : 0;
  s->nb = ra > rb ? ra : rb;
  for (int i = 0; i < s->nb; i++) {
    int64_t da = i < s->nb - ra ? 1 : a_dims[i - (s->nb - ra)];
    int64_t db = i < s->nb - rb ? 1 : b_dims[i - (s->nb - rb)];
    s->a_batch[i] = da;
    s->b_batch[i] = db;
    if (da == db || db == 1) {
      s->batch[i] = da;
    } else if (da == 1) {
      s->batch[i] = db;
    } else if (da < 0 || db < 0) {
      s->batch[i] = da < 0 ? db : da; /* unknown vs n > 1: must be n */
    } else {
      return MT_ERR(INVALID_ARGUMENT, "batch dims %lld and %lld do not broadcast", (long long)da,
                    (long long)db);
    }
  }
  int r = 0;
  if (s->nb + 2 > MT_MAX_RANK) return MT_ERR(OUT_OF_RANGE, "result rank exceeds %d", MT_MAX_RANK);
  for (int i = 0; i < s->nb; i++) s->out[r++] = s->batch[i];
  if (a_rank > 1) s->out[r++] = s->m;
  if (b_rank > 1) s->out[r++] = s->n;
  s->out_rank = r;
  return NULL;
}
