/* The generated GEMM for convolutions with constant weights (issue 14, branch cpupack): the
 * weights are packed at compile time, A_p[group][K block of PG_KC][panel of PG_MR output
 * channels][kk][PG_MR] (zero rows pad the last panel; within a K block the panels follow each
 * other, so the kernel reads the weights as one sequential stream), into a private constant of
 * the CPU object. A register-blocked micro-kernel accumulates a PG_MR x NR tile of C in vector
 * registers (NR = 2 vectors of 16 floats on x86-64-v4, 1 of 8 on v3) over a K block,
 * broadcasting A_p and loading rows of B (the im2col block, or the input of a 1x1 conv), which
 * is first copied per PG_KC x PG_NC block into a contiguous tile-ordered buffer that every panel
 * then reads from L2. dnnl_sgemm packs the weights again on every call; this code never does.
 *
 * Why a constant in the object and not a weight the runtime hands over: it needs no change to the
 * bundle format, the plan or libmtrt, and the kernel's address arithmetic sees a constant base.
 * The cost is bundle size: the object carries its own packed copy (docs/cpu-backend.md).
 *
 * Which convs take it is decided here from the shapes (mt_cpu_conv_gemm_choose, the rule measured
 * in docs/cpu-backend.md) and the environment variable MTCC_CPU_GEMM=library|generated|auto,
 * read at compile time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cpu.h"

/* Output positions per image: the columns of a conv's GEMM. */
static int64_t conv_plane(const mt_conv_geom *g) {
  int64_t plane = 1;
  for (int d = 0; d < g->nsp; d++) plane *= g->out[d];
  return plane;
}

mt_status *mt_cpu_gemm_mode(mt_cpu_gemm_mode_t *out) {
  const char *s = getenv("MTCC_CPU_GEMM");
  /* Unset means library: on a quiet machine the packed path made ResNet-50 b1 only ~6% faster at
   * one thread (0.80 -> 0.85 of ONNX Runtime, equal at two) while doubling the bundle and the
   * session's resident memory (188 -> 361 MiB); docs/cpu-backend.md. */
  *out = MT_CPU_GEMM_LIBRARY;
  if (!s || !*s || strcmp(s, "library") == 0) return NULL;
  if (strcmp(s, "auto") == 0) {
    *out = MT_CPU_GEMM_AUTO;
    return NULL;
  }
  if (strcmp(s, "generated") == 0) {
    *out = MT_CPU_GEMM_GENERATED;
    return NULL;
  }
  return MT_ERR(INVALID_ARGUMENT, "MTCC_CPU_GEMM=%.40s: expected library, generated or auto", s);
}

void mt_cpu_conv_gemm_choose(const mt_module *m, mt_cpu_gemm_mode_t mode, int64_t *budget,
                             mt_cpu_kernel *k) {
  k->packed_gemm = k->packed_v3 = false;
  k->gemm_why[0] = 0;
  if (k->call.kind != MT_KERNEL_CONV) return;
  const mt_kc_conv *c = &k->call.params.conv;
  const mt_node *node = mt_module_node_c(m, k->node);
  if (c->c_in / c->group == 1 && c->group == c->c_in) return; /* depthwise: direct loops */
  const mt_value *w = mt_module_value_c(m, node->inputs[1]);
  const char *why = NULL;
  int64_t plane = conv_plane(&c->geom), kk = 1;
  for (int d = 0; d < c->geom.nsp; d++) kk *= c->geom.kernel[d];
  int64_t kg = c->c_in / c->group * kk;
  int64_t packed_bytes = c->group * ((c->c_out / c->group + PG_MR - 1) / PG_MR) * kg * PG_MR * 4;
  if (mode == MT_CPU_GEMM_LIBRARY)
    why = "library: MTCC_CPU_GEMM=library (the default)";
  else if (w->constant < 0)
    why = "library: the weights are not a constant";
  else if (w->dtype != MT_DTYPE_FLOAT32)
    why = "library: the weights are not float32";
  else if (packed_bytes > *budget)
    why = "library: the object's budget for packed weights (MT_CPU_PGEMM_BUDGET) is used up";
  else if (mode == MT_CPU_GEMM_GENERATED)
    why = "generated: MTCC_CPU_GEMM=generated";
  else if (kk > 1)
    why = kg >= 256 ? "generated (x86-64-v4): im2col conv with K >= 256 (measured faster)"
                    : "library: im2col conv with K < 256 (dnnl_sgemm measured faster)";
  else
    why = plane <= 196
              ? "generated (x86-64-v4): 1x1 conv with an output plane <= 196 (measured faster)"
              : "library: 1x1 conv with an output plane > 196 (dnnl_sgemm measured faster)";
  k->packed_gemm = strncmp(why, "generated", 9) == 0;
  if (k->packed_gemm) *budget -= packed_bytes;
  /* measured on x86-64-v4 only: under auto the v3 object keeps the library (and no second packed
   * copy of the weights) */
  k->packed_v3 = mode == MT_CPU_GEMM_GENERATED;
  snprintf(k->gemm_why, sizeof k->gemm_why, "%s", why);
}

#ifdef MTCC_HAVE_LLVM

#include "codegen/cpu/cpu_llvm.h"

#define PG_NC 512 /* columns per block: PG_KC x PG_NC floats of packed B (512 KiB) in L2 */

LLVMValueRef mt_cl_packed_weights(em *e, const float *w, int64_t groups, int64_t mg, int64_t kg) {
  int64_t panels = (mg + PG_MR - 1) / PG_MR;
  size_t n = (size_t)(groups * panels * kg * PG_MR);
  float *buf = calloc(n ? n : 1, sizeof *buf);
  if (!buf) return NULL;
  for (int64_t g = 0; g < groups; g++)
    for (int64_t r = 0; r < mg; r++) {
      const float *src = w + (g * mg + r) * kg;
      float *dst = buf + g * panels * kg * PG_MR + r % PG_MR;
      for (int64_t k = 0; k < kg; k++) {
        int64_t k0 = k / PG_KC * PG_KC, kc = kg - k0 < PG_KC ? kg - k0 : PG_KC;
        dst[(k0 * panels + r / PG_MR * kc + (k - k0)) * PG_MR] = src[k];
      }
    }
  LLVMValueRef init = LLVMConstStringInContext2(e->ctx, (const char *)buf, n * sizeof *buf, 1);
  free(buf);
  LLVMValueRef gv = LLVMAddGlobal(e->mod, LLVMTypeOf(init), "mt_packed_w");
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
  LLVMSetAlignment(gv, 64);
  return gv;
}

/* x in every lane of a W-float vector (insertelement + a zero shuffle: one broadcast). */
static LLVMValueRef splat(em *e, int W, LLVMValueRef x) {
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)W);
  LLVMValueRef v = LLVMBuildInsertElement(e->b, LLVMGetPoison(vt), x, ci32(e, 0), "");
  LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(e->i32, (unsigned)W));
  return LLVMBuildShuffleVector(e->b, v, LLVMGetPoison(vt), zeros, "");
}

static LLVMValueRef vec_fma(em *e, LLVMTypeRef vt, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  unsigned id = LLVMLookupIntrinsicID("llvm.fma", 8);
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->mod, id, &vt, 1);
  LLVMTypeRef params[3] = {vt, vt, vt};
  LLVMValueRef args[3] = {a, b, c};
  return LLVMBuildCall2(e->b, LLVMFunctionType(vt, params, 3, 0), f, args, 3, "");
}

/* A vector load or store of W floats at p; with a mask, the masked intrinsic (lanes off read 0). */
static LLVMValueRef vload(em *e, LLVMTypeRef vt, LLVMValueRef p, LLVMValueRef mask) {
  if (!mask) {
    LLVMValueRef v = LLVMBuildLoad2(e->b, vt, p, "");
    LLVMSetAlignment(v, 4);
    return v;
  }
  LLVMTypeRef over[2] = {vt, e->ptr};
  unsigned id = LLVMLookupIntrinsicID("llvm.masked.load", 16);
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->mod, id, over, 2);
  LLVMTypeRef params[4] = {e->ptr, e->i32, LLVMTypeOf(mask), vt};
  LLVMValueRef args[4] = {p, ci32(e, 4), mask, LLVMConstNull(vt)};
  return LLVMBuildCall2(e->b, LLVMFunctionType(vt, params, 4, 0), f, args, 4, "");
}

static void vstore(em *e, LLVMTypeRef vt, LLVMValueRef v, LLVMValueRef p, LLVMValueRef mask) {
  if (!mask) {
    LLVMSetAlignment(LLVMBuildStore(e->b, v, p), 4);
    return;
  }
  LLVMTypeRef over[2] = {vt, e->ptr};
  unsigned id = LLVMLookupIntrinsicID("llvm.masked.store", 17);
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->mod, id, over, 2);
  LLVMTypeRef params[4] = {vt, e->ptr, e->i32, LLVMTypeOf(mask)};
  LLVMValueRef args[4] = {v, p, ci32(e, 4), mask};
  LLVMBuildCall2(e->b, LLVMFunctionType(e->voidt, params, 4, 0), f, args, 4, "");
}

/* Lane masks of the NV vectors of a tile whose first `rem` columns exist. */
static void col_masks(em *e, int W, int NV, LLVMValueRef rem, LLVMValueRef *mask) {
  LLVMValueRef lanes[16], rems = splat(e, W, rem);
  for (int v = 0; v < NV; v++) {
    for (int i = 0; i < W; i++) lanes[i] = ci64(e, v * W + i);
    mask[v] = LLVMBuildICmp(e->b, LLVMIntSLT, LLVMConstVector(lanes, (unsigned)W), rems, "");
  }
}

/* Where one tile's operands are: apk = the panel's A_p at k0, bk = B at (k0, column), ck = C at
 * (panel row 0, column). */
typedef struct tile_at {
  LLVMValueRef apk, bk, ck, rows, kc, first;
  int64_t ldb, ldc;
} tile_at;

/* One PG_MR x NV*W tile: acc = sum over kc of A_p broadcasts times B rows, then C = acc (first K
 * block) or C + acc, rows < rows only; B is the packed block (zeros past the columns), C's lanes
 * outside `rem` columns are masked when rem is given. */
static void emit_tile(em *e, const tile_at *t, LLVMValueRef rem, int W, int NV) {
  LLVMTypeRef vt = LLVMVectorType(e->f32, (unsigned)W);
  LLVMValueRef mask[2] = {NULL, NULL};
  if (rem) col_masks(e, W, NV, rem, mask);
  /* the K loop with PG_MR * NV accumulators as phis */
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
  LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "pk_head");
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "pk_body");
  LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "pk_exit");
  LLVMBuildBr(e->b, head);
  LLVMPositionBuilderAtEnd(e->b, head);
  LLVMValueRef kk = LLVMBuildPhi(e->b, e->i64, "kk"), zero64 = ci64(e, 0);
  LLVMAddIncoming(kk, &zero64, &pre, 1);
  LLVMValueRef acc[PG_MR][2], zv = LLVMConstNull(vt);
  for (int r = 0; r < PG_MR; r++)
    for (int v = 0; v < NV; v++) {
      acc[r][v] = LLVMBuildPhi(e->b, vt, "acc");
      LLVMAddIncoming(acc[r][v], &zv, &pre, 1);
    }
  LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, kk, t->kc, ""), body, exit);
  LLVMPositionBuilderAtEnd(e->b, body);
  LLVMValueRef brow = gep(e, e->f32, t->bk, LLVMBuildMul(e->b, kk, ci64(e, t->ldb), ""));
  LLVMValueRef bv[2];
  for (int v = 0; v < NV; v++) bv[v] = vload(e, vt, gep(e, e->f32, brow, ci64(e, v * W)), NULL);
  LLVMValueRef arow = gep(e, e->f32, t->apk, LLVMBuildMul(e->b, kk, ci64(e, PG_MR), ""));
  LLVMValueRef next[PG_MR][2];
  for (int r = 0; r < PG_MR; r++) {
    LLVMValueRef a = LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, arow, ci64(e, r)), "");
    LLVMValueRef as = splat(e, W, a);
    for (int v = 0; v < NV; v++) next[r][v] = vec_fma(e, vt, as, bv[v], acc[r][v]);
  }
  LLVMValueRef kn = LLVMBuildAdd(e->b, kk, ci64(e, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
  LLVMBuildBr(e->b, head);
  LLVMAddIncoming(kk, &kn, &latch, 1);
  for (int r = 0; r < PG_MR; r++)
    for (int v = 0; v < NV; v++) LLVMAddIncoming(acc[r][v], &next[r][v], &latch, 1);
  LLVMPositionBuilderAtEnd(e->b, exit);
  /* store the rows that exist: row r < rows */
  for (int r = 0; r < PG_MR; r++) {
    LLVMBasicBlockRef st = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "pk_row");
    LLVMBasicBlockRef nx = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "pk_row_next");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, ci64(e, r), t->rows, ""), st, nx);
    LLVMPositionBuilderAtEnd(e->b, st);
    LLVMValueRef crow = gep(e, e->f32, t->ck, ci64(e, r * t->ldc));
    for (int v = 0; v < NV; v++) {
      LLVMValueRef p = gep(e, e->f32, crow, ci64(e, v * W));
      /* later K blocks add to what the first stored; the load is of the output buffer, in
       * bounds, and discarded by the select in the first block */
      LLVMValueRef sum = LLVMBuildFAdd(e->b, vload(e, vt, p, mask[v]), acc[r][v], "");
      vstore(e, vt, LLVMBuildSelect(e->b, t->first, acc[r][v], sum, ""), p, mask[v]);
    }
    LLVMBuildBr(e->b, nx);
    LLVMPositionBuilderAtEnd(e->b, nx);
  }
}

/* A micro-kernel shape: nv vectors of w floats, taken when at least min_rem columns remain. */
typedef struct tile_variant {
  int w, nv;
  int64_t min_rem;
} tile_variant;

LLVMValueRef mt_cl_pgemm_scratch(em *e) {
  LLVMValueRef bp = LLVMBuildArrayAlloca(e->b, e->f32, ci64(e, PG_KC * PG_NC), "bpack");
  LLVMSetAlignment(bp, 64);
  return bp;
}

/* bp[tile][kk][NR] = B[k0 + kk][j0 + tile * NR + c] for the block's kc x jn columns, zeros past
 * jn: the micro-kernel then reads one contiguous stream, whatever B's row stride (a 1x1 conv's
 * rows are a whole plane apart), and every panel of the item reuses it from L2. */
static void pack_b(em *e, LLVMValueRef bp, LLVMValueRef b, int64_t ldb, LLVMValueRef k0,
                   LLVMValueRef kc, LLVMValueRef j0, LLVMValueRef jn) {
  int W = e->vec_width, NV = W == 16 ? 2 : 1, NR = W * NV;
  LLVMTypeRef vt = LLVMVectorType(e->f32, (unsigned)W);
  loop lt, lk; /* along B's rows: each row of the block is read as one contiguous run */
  LLVMValueRef kk = loop_begin(e, ci64(e, 0), kc, &lk);
  LLVMValueRef src0 =
      gep(e, e->f32, b,
          LLVMBuildAdd(e->b, LLVMBuildMul(e->b, LLVMBuildAdd(e->b, k0, kk, ""), ci64(e, ldb), ""),
                       j0, ""));
  LLVMValueRef dst0 = gep(e, e->f32, bp, LLVMBuildMul(e->b, kk, ci64(e, NR), ""));
  LLVMValueRef tcol = loop_begin(e, ci64(e, 0), jn, &lt);
  LLVMValueRef mask[2];
  col_masks(e, W, NV, LLVMBuildSub(e->b, jn, tcol, ""), mask);
  LLVMValueRef src = gep(e, e->f32, src0, tcol);
  LLVMValueRef dst = gep(e, e->f32, dst0, LLVMBuildMul(e->b, tcol, kc, ""));
  for (int v = 0; v < NV; v++)
    vstore(e, vt, vload(e, vt, gep(e, e->f32, src, ci64(e, v * W)), mask[v]),
           gep(e, e->f32, dst, ci64(e, v * W)), NULL);
  loop_end(e, &lt, ci64(e, NR));
  loop_end(e, &lk, ci64(e, 1));
}

void mt_cl_pgemm(em *e, LLVMValueRef ap, int64_t panels, LLVMValueRef bp, LLVMValueRef panel0,
                 LLVMValueRef m, LLVMValueRef n, int64_t K, LLVMValueRef b, int64_t ldb,
                 LLVMValueRef c, int64_t ldc) {
  int64_t NR = e->vec_width == 16 ? 32 : 8;
  loop lj, lk, lp, lt; /* column blocks, K blocks (C block re-read from L2), panels, tiles */
  LLVMValueRef j0 = loop_begin(e, ci64(e, 0), n, &lj);
  LLVMValueRef jn =
      LLVMBuildSub(e->b, smin(e, LLVMBuildAdd(e->b, j0, ci64(e, PG_NC), ""), n), j0, "");
  LLVMValueRef k0 = loop_begin(e, ci64(e, 0), ci64(e, K), &lk);
  LLVMValueRef kc =
      LLVMBuildSub(e->b, smin(e, LLVMBuildAdd(e->b, k0, ci64(e, PG_KC), ""), ci64(e, K)), k0, "");
  LLVMValueRef first = LLVMBuildICmp(e->b, LLVMIntEQ, k0, ci64(e, 0), "");
  pack_b(e, bp, b, ldb, k0, kc, j0, jn);
  LLVMValueRef np =
      LLVMBuildSDiv(e->b, LLVMBuildAdd(e->b, m, ci64(e, PG_MR - 1), ""), ci64(e, PG_MR), "");
  LLVMValueRef p = loop_begin(e, ci64(e, 0), np, &lp);
  LLVMValueRef row0 = LLVMBuildMul(e->b, p, ci64(e, PG_MR), "");
  tile_at t = {.ldb = NR, .ldc = ldc, .kc = kc, .first = first};
  t.rows = LLVMBuildSub(e->b, m, row0, "");
  /* A_p[kblock][panel][kk][PG_MR] (the group's part): for one K block the panels follow each
   * other, so the loops below read the packed weights as one sequential stream */
  LLVMValueRef pidx = LLVMBuildAdd(e->b, panel0, p, "");
  t.apk = gep(e, e->f32, ap,
              LLVMBuildMul(e->b,
                           LLVMBuildAdd(e->b, LLVMBuildMul(e->b, k0, ci64(e, panels), ""),
                                        LLVMBuildMul(e->b, pidx, kc, ""), ""),
                           ci64(e, PG_MR), ""));
  LLVMValueRef tcol = loop_begin(e, ci64(e, 0), jn, &lt);
  LLVMValueRef col = LLVMBuildAdd(e->b, j0, tcol, "");
  t.bk = gep(e, e->f32, bp, LLVMBuildMul(e->b, tcol, kc, "")); /* tile tcol / NR of kc x NR */
  t.ck = gep(e, e->f32, c, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, row0, ci64(e, ldc), ""), col, ""));
  LLVMValueRef rem = LLVMBuildSub(e->b, jn, tcol, "");
  /* the last tile of a block is narrower: the narrowest variant that covers it (masked), so a
   * 49-column plane computes 56 columns, not 64 */
  int W = e->vec_width, NV = NR / W;
  tile_variant var[4];
  int n_var = 0;
  var[n_var++] = (tile_variant){W, NV, NR};
  if (NV == 2) var[n_var++] = (tile_variant){W, 2, W + 1};
  if (W == 16) var[n_var++] = (tile_variant){16, 1, 9};
  var[n_var++] = (tile_variant){8, 1, 1};
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "pk_done");
  for (int v = 0; v < n_var; v++) {
    LLVMBasicBlockRef use = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "pk_tile");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "pk_next");
    LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, rem, ci64(e, var[v].min_rem), ""), use,
                    next);
    LLVMPositionBuilderAtEnd(e->b, use);
    emit_tile(e, &t, v == 0 ? NULL : rem, var[v].w, var[v].nv);
    LLVMBuildBr(e->b, done);
    LLVMPositionBuilderAtEnd(e->b, next);
  }
  LLVMBuildBr(e->b, done);
  LLVMPositionBuilderAtEnd(e->b, done);
  loop_end(e, &lt, ci64(e, NR));
  loop_end(e, &lp, ci64(e, 1));
  loop_end(e, &lk, ci64(e, PG_KC));
  loop_end(e, &lj, ci64(e, PG_NC));
}

#endif
