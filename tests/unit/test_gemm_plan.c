/* GEMM library calls as data (runtime/gpu/gemm_plan.c), without a GPU: a grouped call's
 * cublasGemmGroupedBatchedEx arguments are checked by evaluating them the way cuBLAS defines
 * them (column-major, op(A) op(B), C updated in place) on host memory and comparing with the
 * row-major problems computed directly, for transposes, batches with strides, beta and several
 * groups; the calls that cannot be grouped say why; and the workspace plan gives one slot per
 * (partition, stream) with calls, sized to the most any of its calls needs. */
#include "test_util.h"

#include <math.h>

#include "runtime/bundle/format.h"
#include "runtime/gpu/gemm_plan.h"

/* buffer refs resolve to host addresses: offset is an index into host[] */
static float *host[8];
static uint64_t resolve(void *ctx, const Mtbundle__BufferRef *r) {
  (void)ctx;
  return (uint64_t)(uintptr_t)host[r->offset];
}

static Mtbundle__BufferRef refs[8], none_ref;

static void problem(Mtbundle__GemmProblem *q, int64_t m, int64_t n, int64_t k, int64_t batch,
                    bool ta, bool tb, int a, int b, int d) {
  mtbundle__gemm_problem__init(q);
  q->m = m, q->n = n, q->k = k, q->batch = batch, q->trans_a = ta, q->trans_b = tb;
  q->lda = ta ? m : k;
  q->ldb = tb ? k : n;
  q->ldc = n;
  q->stride_a = m * k + 3; /* padding between items: strides are honoured, not assumed */
  q->stride_b = k * n + 5;
  q->stride_c = m * n + 7;
  q->alpha = 1.5f;
  q->beta = 0.0f;
  q->a = &refs[a], q->b = &refs[b], q->d = &refs[d];
  q->c = &none_ref;
  q->bias = &none_ref;
  for (int i = 0; i < 8; i++) refs[i].offset = (uint64_t)i, refs[i].kind = 3;
}

/* d = alpha op(a) op(b) + beta d, row-major, per batch item */
static void reference(const Mtbundle__GemmProblem *q, float *d) {
  const float *a = host[q->a->offset], *b = host[q->b->offset];
  for (int64_t it = 0; it < q->batch; it++)
    for (int64_t r = 0; r < q->m; r++)
      for (int64_t c = 0; c < q->n; c++) {
        double acc = 0;
        for (int64_t l = 0; l < q->k; l++) {
          float av = q->trans_a ? a[it * q->stride_a + l * q->lda + r]
                                : a[it * q->stride_a + r * q->lda + l];
          float bv = q->trans_b ? b[it * q->stride_b + c * q->ldb + l]
                                : b[it * q->stride_b + l * q->ldb + c];
          acc += (double)av * bv;
        }
        float *o = &d[it * q->stride_c + r * q->ldc + c];
        *o = (float)(q->alpha * acc + (q->c->kind ? q->beta * *o : 0.0f));
      }
}

/* what cublasGemmGroupedBatchedEx computes from g, column-major */
static void grouped(const mt_gemm_grouped *g) {
  size_t at = 0;
  for (int grp = 0; grp < g->group_count; grp++)
    for (int it = 0; it < g->size[grp]; it++, at++) {
      const float *A = (const float *)(uintptr_t)g->a[at], *B = (const float *)(uintptr_t)g->b[at];
      float *C = (float *)(uintptr_t)g->c[at];
      for (int i = 0; i < g->m[grp]; i++)
        for (int j = 0; j < g->n[grp]; j++) {
          double acc = 0;
          for (int l = 0; l < g->k[grp]; l++) {
            float av =
                g->transa[grp] == MT_GEMM_OP_N ? A[i + l * g->lda[grp]] : A[l + i * g->lda[grp]];
            float bv =
                g->transb[grp] == MT_GEMM_OP_N ? B[l + j * g->ldb[grp]] : B[j + l * g->ldb[grp]];
            acc += (double)av * bv;
          }
          float *o = &C[i + j * g->ldc[grp]];
          *o = (float)(g->alpha[grp] * acc + g->beta[grp] * *o);
        }
    }
}

static void grouped_matches_row_major_problems(void **state) {
  Mtbundle__GemmProblem q[3], *qp[3] = {&q[0], &q[1], &q[2]};
  problem(&q[0], 3, 5, 4, 3, false, false, 0, 1, 2);
  problem(&q[1], 4, 2, 6, 2, true, true, 3, 4, 5);
  problem(&q[2], 2, 3, 5, 1, false, true, 0, 4, 6);
  q[2].c = &refs[6]; /* c is d: beta applies in place */
  q[2].beta = 0.5f;
  size_t sizes[7] = {200, 200, 200, 200, 200, 200, 200};
  float *want[7];
  for (int i = 0; i < 7; i++) {
    host[i] = calloc(sizes[i], sizeof(float));
    want[i] = calloc(sizes[i], sizeof(float));
    for (size_t e = 0; e < sizes[i]; e++) host[i][e] = (float)((e * 7 + (size_t)i * 3) % 11) - 5;
    memcpy(want[i], host[i], sizes[i] * sizeof(float));
  }
  /* the reference on copies (outputs 2, 5, 6) */
  for (int p = 0; p < 3; p++) {
    float *saved = host[q[p].d->offset];
    host[q[p].d->offset] = want[q[p].d->offset];
    reference(&q[p], want[q[p].d->offset]);
    host[q[p].d->offset] = saved;
  }
  Mtbundle__GpuLibCall lc;
  mtbundle__gpu_lib_call__init(&lc);
  lc.kind = MT_GPU_GEMM_GROUPED;
  lc.problems = qp;
  lc.n_problems = 3;
  mt_gemm_grouped g;
  const char *why = "unset";
  assert_ok(mt_gemm_grouped_build(&lc, resolve, NULL, &g, &why));
  assert_null(why);
  assert_int_equal(g.group_count, 3);
  assert_int_equal(g.n_matrices, 6);
  assert_int_equal(g.size[0], 3);
  assert_int_equal(g.m[0], 5); /* column-major: the library's m is the problem's n */
  grouped(&g);
  for (int d = 2; d <= 6; d += (d == 2 ? 3 : 1))
    for (size_t e = 0; e < sizes[d]; e++)
      if (fabsf(host[d][e] - want[d][e]) > 1e-4f * (1 + fabsf(want[d][e])))
        fail_msg("buffer %d element %zu: grouped %g, row-major %g", d, e, host[d][e], want[d][e]);
  mt_gemm_grouped_free(&g);
  /* what cannot be one grouped call says why */
  q[1].epilogue = MT_GPU_EPI_RELU;
  assert_ok(mt_gemm_grouped_build(&lc, resolve, NULL, &g, &why));
  assert_non_null(strstr(why, "epilogue"));
  assert_int_equal(g.group_count, 0);
  q[1].epilogue = MT_GPU_EPI_DEFAULT;
  q[1].bias = &refs[7];
  assert_ok(mt_gemm_grouped_build(&lc, resolve, NULL, &g, &why));
  assert_non_null(strstr(why, "bias"));
  q[1].bias = &none_ref;
  q[2].c = &refs[1]; /* c apart from d, with beta */
  assert_ok(mt_gemm_grouped_build(&lc, resolve, NULL, &g, &why));
  assert_non_null(strstr(why, "in place"));
  q[2].c = &refs[6];
  q[0].k = (int64_t)1 << 33;
  assert_ok(mt_gemm_grouped_build(&lc, resolve, NULL, &g, &why));
  assert_non_null(strstr(why, "int"));
  q[0].k = 4;
  lc.kind = MT_GPU_GEMM_BATCHED;
  assert_ok(mt_gemm_grouped_build(&lc, resolve, NULL, &g, &why));
  assert_non_null(strstr(why, "not a grouped"));
  for (int i = 0; i < 7; i++) {
    free(host[i]);
    free(want[i]);
  }
}

static void workspace_slots_per_partition_stream(void **state) {
  Mtbundle__Group groups[5], *gp[5];
  int parts[5] = {0, 0, 0, 1, 1}, streams[5] = {0, 1, 0, 0, 0};
  for (int i = 0; i < 5; i++) {
    mtbundle__group__init(&groups[i]);
    groups[i].partition = parts[i];
    groups[i].stream = streams[i];
    gp[i] = &groups[i];
  }
  Mtbundle__Manifest m;
  mtbundle__manifest__init(&m);
  m.groups = gp;
  m.n_groups = 5;
  bool has[5] = {true, true, true, false, true};
  uint64_t need[5] = {100, 50, 300, 0, 0};
  int32_t slot[5];
  uint64_t *bytes = NULL;
  int32_t n = 0;
  assert_ok(mt_gemm_workspace_plan(&m, has, need, slot, &bytes, &n));
  assert_int_equal(n, 3); /* (p0,s0), (p0,s1), (p1,s0) */
  assert_int_equal(slot[0], 0);
  assert_int_equal(slot[1], 1);
  assert_int_equal(slot[2], 0); /* same stream as group 0: shares, serialised */
  assert_int_equal(slot[3], -1);
  assert_int_equal(slot[4], 2);
  assert_int_equal(bytes[0], 300);
  assert_int_equal(bytes[1], 50);
  assert_int_equal(bytes[2], 0); /* an algorithm that needs none gets none */
  free(bytes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(grouped_matches_row_major_problems),
      cmocka_unit_test(workspace_slots_per_partition_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
