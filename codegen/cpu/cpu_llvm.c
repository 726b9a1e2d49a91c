/* The CPU backend's LLVM half: every kernel of a CPU program (cpu_gen.c) as one function of an
 * LLVM module built through the C API, optimised and vectorised for one target (x86-64-v3 or -v4),
 * emitted as an ELF object and linked into a shared object (cpu_link.c).
 *
 * Each kernel is `void sym(void *const *args, i32 thread, i32 n_threads)` (cpu_abi.h). Its work is
 * cut into a fixed number of items that depends only on the shapes; thread t runs items t,
 * t + n_threads, ... So which call computes an element changes with n_threads, how it is computed
 * never does, and results are identical for any thread count. Shapes are constants in the code.
 *
 * Elementwise ops reproduce the reference kernels' formulas operation for operation (no fast-math,
 * no contraction into FMA, the same libm calls), so their results are bit-identical, except
 * Sigmoid and Swish, whose exp is inlined (cpu_math.c, 1e-5 relative); GEMMs go
 * through BLAS (cblas_sgemm behind one function, mt_cl_sgemm) and agree to rounding. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cpu.h"
#include "runtime/bundle/cpu_abi.h"
#include "runtime/cpu/gemm.h"

#if defined(MTCC_DNNL_LIBRARY)
bool mt_cpu_blas_available(void) { return true; }
const char *mt_cpu_blas_describe(void) { return "oneDNN (" MTCC_DNNL_LIBRARY ")"; }
#elif defined(MTCC_OPENBLAS_LIBRARY)
bool mt_cpu_blas_available(void) { return true; }
const char *mt_cpu_blas_describe(void) { return "OpenBLAS (" MTCC_OPENBLAS_LIBRARY ")"; }
#else
bool mt_cpu_blas_available(void) { return false; }
const char *mt_cpu_blas_describe(void) {
  return "GEMM needs oneDNN or OpenBLAS, neither was found when mtcc was built (apt-get install "
         "libdnnl-dev)";
}
#endif

#ifndef MTCC_HAVE_LLVM

bool mt_cpu_backend_available(void) { return false; }
const char *mt_cpu_backend_describe(void) {
  return "the CPU backend is off: mtcc was built without LLVM 19 (apt-get install llvm-19-dev, "
         "or -DMTCC_LLVM=OFF was given)";
}
void mt_cpu_llvm_init(void) {}
mt_status *mt_cpu_llvm_emit(const mt_module *m, const mt_cpu_program *prog, const char *target,
                            mt_cpu_object *obj) {
  (void)m, (void)prog, (void)obj;
  return MT_ERR(UNAVAILABLE, "CPU target %s: %s", target, mt_cpu_backend_describe());
}

#else

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen/cpu/cpu_llvm.h"

bool mt_cpu_backend_available(void) { return true; }
const char *mt_cpu_backend_describe(void) { return "LLVM " MTCC_LLVM_VERSION " (C API)"; }

/* The reference kernels' formulas (runtime/cpu/elementwise_unary.c), operation for operation. */
LLVMValueRef mt_cl_unary_op(em *e, const mt_kc_unary *u, LLVMValueRef x) {
  LLVMBuilderRef b = e->b;
  LLVMValueRef zero = cf32(e, 0.0f), one = cf32(e, 1.0f);
  const mt_ew_params *p = &u->params;
  switch (u->op) {
  case MT_EW_RELU: return LLVMBuildSelect(b, fcmp(e, LLVMRealOLT, x, zero), zero, x, "");
  case MT_EW_LEAKY_RELU:
    return LLVMBuildSelect(b, fcmp(e, LLVMRealOLT, x, zero),
                           LLVMBuildFMul(b, cf32(e, p->alpha), x, ""), x, "");
  case MT_EW_SIGMOID: return mt_cl_sigmoid(e, x); /* inline exp, 1e-5: cpu_math.c */
  case MT_EW_SWISH:
    return LLVMBuildFMul(b, x, mt_cl_sigmoid(e, LLVMBuildFMul(b, cf32(e, p->alpha), x, "")), "");
  case MT_EW_TANH: return call_libm(e, "tanhf", x, NULL);
  case MT_EW_HARD_SIGMOID: {
    LLVMValueRef t =
        LLVMBuildFAdd(b, LLVMBuildFMul(b, cf32(e, p->alpha), x, ""), cf32(e, p->beta), "");
    return call_intr(e, "llvm.maxnum", zero, call_intr(e, "llvm.minnum", one, t));
  }
  case MT_EW_HARD_SWISH: {
    LLVMValueRef t =
        LLVMBuildFAdd(b, LLVMBuildFMul(b, x, cf32(e, 1.0f / 6.0f), ""), cf32(e, 0.5f), "");
    return LLVMBuildFMul(
        b, x, call_intr(e, "llvm.maxnum", zero, call_intr(e, "llvm.minnum", one, t)), "");
  }
  case MT_EW_ELU:
    return LLVMBuildSelect(b, fcmp(e, LLVMRealOLT, x, zero),
                           LLVMBuildFMul(b, cf32(e, p->alpha), call_libm(e, "expm1f", x, NULL), ""),
                           x, "");
  case MT_EW_GELU: {
    LLVMValueRef inner;
    if (p->approximate) {
      LLVMValueRef x3 = LLVMBuildFMul(
          b, LLVMBuildFMul(b, LLVMBuildFMul(b, cf32(e, 0.044715f), x, ""), x, ""), x, "");
      inner = call_libm(
          e, "tanhf",
          LLVMBuildFMul(b, cf32(e, 0.7978845608028654f), LLVMBuildFAdd(b, x, x3, ""), ""), NULL);
    } else {
      inner = call_libm(e, "erff", LLVMBuildFMul(b, x, cf32(e, 0.70710678118654752f), ""), NULL);
    }
    return LLVMBuildFMul(b, LLVMBuildFMul(b, cf32(e, 0.5f), x, ""),
                         LLVMBuildFAdd(b, one, inner, ""), "");
  }
  case MT_EW_ERF: return call_libm(e, "erff", x, NULL);
  case MT_EW_SQRT: return call_intr(e, "llvm.sqrt", x, NULL);
  case MT_EW_EXP: return call_libm(e, "expf", x, NULL);
  case MT_EW_LOG: return call_libm(e, "logf", x, NULL);
  case MT_EW_NEG: return LLVMBuildFNeg(b, x, "");
  case MT_EW_ABS: return call_intr(e, "llvm.fabs", x, NULL);
  case MT_EW_RECIPROCAL: return LLVMBuildFDiv(b, one, x, "");
  case MT_EW_FLOOR: return call_intr(e, "llvm.floor", x, NULL);
  case MT_EW_CEIL: return call_intr(e, "llvm.ceil", x, NULL);
  case MT_EW_CLIP: {
    LLVMValueRef lo = e->clip_lo ? e->clip_lo : cf32(e, (float)p->lo);
    LLVMValueRef hi = e->clip_hi ? e->clip_hi : cf32(e, (float)p->hi);
    LLVMValueRef t = LLVMBuildSelect(b, fcmp(e, LLVMRealOLT, x, lo), lo, x, "");
    return LLVMBuildSelect(b, fcmp(e, LLVMRealOGT, t, hi), hi, t, "");
  }
  default: return x; /* mt_cpu_kernel_unsupported keeps every other op out */
  }
}

/* runtime/cpu/elementwise_binary.c's rows, x = a, y = b. */
LLVMValueRef mt_cl_binary_op(em *e, mt_ew_binary op, LLVMValueRef x, LLVMValueRef y) {
  LLVMBuilderRef b = e->b;
  switch (op) {
  case MT_EW_ADD: return LLVMBuildFAdd(b, x, y, "");
  case MT_EW_SUB: return LLVMBuildFSub(b, x, y, "");
  case MT_EW_MUL: return LLVMBuildFMul(b, x, y, "");
  case MT_EW_DIV: return LLVMBuildFDiv(b, x, y, "");
  case MT_EW_POW: return call_libm(e, "powf", x, y);
  case MT_EW_MIN: return LLVMBuildSelect(b, fcmp(e, LLVMRealOLT, y, x), y, x, "");
  case MT_EW_MAX: return LLVMBuildSelect(b, fcmp(e, LLVMRealOGT, y, x), y, x, "");
  case MT_EW_PRELU:
    return LLVMBuildSelect(b, fcmp(e, LLVMRealOLT, x, cf32(e, 0.0f)), LLVMBuildFMul(b, x, y, ""), x,
                           "");
  default: return x;
  }
}

/* Collapses the output's dims (size-1 dims dropped, neighbours merged while every operand either
 * spans both or broadcasts over both), so [1,64,56,56] + [1,64,1,1] becomes [64, 3136] with the
 * bias striding (1, 0): the inner loop is long and the broadcast operand loop-invariant. */
void mt_cl_ew_collapse(int out_rank, const int64_t *out_dims, int n_ops, const int *ranks,
                       const int64_t (*dims)[MT_MAX_RANK], ew_shape *s) {
  bool bcast[EW_MAX_OPS][MT_MAX_RANK];
  int64_t cd[MT_MAX_RANK];
  bool cb[EW_MAX_OPS][MT_MAX_RANK];
  int r = 0;
  for (int d = 0; d < out_rank; d++) {
    if (out_dims[d] == 1) continue;
    for (int o = 0; o < n_ops; o++) {
      int od = d - (out_rank - ranks[o]);
      bcast[o][d] = od < 0 || dims[o][od] == 1;
    }
    bool merge = r > 0;
    for (int o = 0; o < n_ops && merge; o++) merge = cb[o][r - 1] == bcast[o][d];
    if (merge) {
      cd[r - 1] *= out_dims[d];
    } else {
      cd[r] = out_dims[d];
      for (int o = 0; o < n_ops; o++) cb[o][r] = bcast[o][d];
      r++;
    }
  }
  if (r == 0) {
    cd[0] = 1;
    for (int o = 0; o < n_ops; o++) cb[o][0] = true;
    r = 1;
  }
  s->rank = r;
  s->n_ops = n_ops;
  memcpy(s->dims, cd, sizeof(int64_t) * (size_t)r);
  for (int o = 0; o < n_ops; o++) {
    int64_t st = 1;
    for (int d = r - 1; d >= 0; d--) {
      s->strides[o][d] = cb[o][d] ? 0 : st;
      if (!cb[o][d]) st *= cd[d];
    }
  }
}

/* Unary and broadcasting binary float32 kernels: items are blocks of rows x columns of the
 * collapsed [rows, inner] index space. */
static void emit_elementwise(em *e, const mt_cpu_kernel *k) {
  const mt_kernel_call *c = &k->call;
  bool variadic = c->kind == MT_KERNEL_VARIADIC;
  bool binary = c->kind == MT_KERNEL_BINARY || variadic;
  const mt_value *out = mt_module_value_c(e->m, mt_module_node_c(e->m, k->node)->outputs[0]);
  int ranks[2];
  int64_t dims[2][MT_MAX_RANK];
  if (variadic) { /* two inputs, each its own shape: the accumulator starts as input 0 */
    for (int o = 0; o < 2; o++) {
      const mt_value *v = mt_module_value_c(e->m, k->args[o]);
      ranks[o] = v->rank;
      memcpy(dims[o], v->dims, sizeof dims[o]);
    }
  } else if (binary) {
    ranks[0] = c->params.binary.a_rank, ranks[1] = c->params.binary.b_rank;
    memcpy(dims[0], c->params.binary.a_dims, sizeof dims[0]);
    memcpy(dims[1], c->params.binary.b_dims, sizeof dims[1]);
  } else {
    ranks[0] = out->rank;
    memcpy(dims[0], out->dims, sizeof dims[0]);
  }
  ew_shape s;
  mt_cl_ew_collapse(out->rank, out->dims, binary ? 2 : 1, ranks,
                    (const int64_t(*)[MT_MAX_RANK])dims, &s);
  int64_t inner = s.dims[s.rank - 1], rows = 1;
  for (int d = 0; d < s.rank - 1; d++) rows *= s.dims[d];
  if (rows * inner == 0) return;
  int64_t cols_per = inner < EW_ITEM_ELEMS ? inner : EW_ITEM_ELEMS;
  int64_t rows_per = inner >= EW_ITEM_ELEMS ? 1 : (EW_ITEM_ELEMS + inner - 1) / inner;
  int64_t n_col_items = (inner + cols_per - 1) / cols_per;
  int64_t n_items = (rows + rows_per - 1) / rows_per * n_col_items;
  const mt_node *node = mt_module_node_c(e->m, k->node);
  LLVMValueRef pa = arg_ptr(e, 0), pb = binary ? arg_ptr(e, 1) : NULL,
               py = arg_ptr(e, node->n_inputs);
  e->clip_lo = e->clip_hi = NULL;
  if (!binary && c->params.unary.bounds_from_inputs) { /* Clip-11: scalar inputs 1 and 2 */
    if (node->n_inputs > 1) e->clip_lo = LLVMBuildLoad2(e->b, e->f32, arg_ptr(e, 1), "lo");
    if (node->n_inputs > 2) e->clip_hi = LLVMBuildLoad2(e->b, e->f32, arg_ptr(e, 2), "hi");
  }
  loop li, lr, lc;
  LLVMValueRef item = items_begin(e, n_items, &li);
  LLVMValueRef ri = LLVMBuildSDiv(e->b, item, ci64(e, n_col_items), "");
  LLVMValueRef cc = LLVMBuildSRem(e->b, item, ci64(e, n_col_items), "");
  LLVMValueRef r0 = LLVMBuildMul(e->b, ri, ci64(e, rows_per), "");
  LLVMValueRef r1 = smin(e, LLVMBuildAdd(e->b, r0, ci64(e, rows_per), ""), ci64(e, rows));
  LLVMValueRef c0 = LLVMBuildMul(e->b, cc, ci64(e, cols_per), "");
  LLVMValueRef c1 = smin(e, LLVMBuildAdd(e->b, c0, ci64(e, cols_per), ""), ci64(e, inner));
  LLVMValueRef r = loop_begin(e, r0, r1, &lr);
  /* operand offsets of row r: its index in each outer collapsed dim times that dim's stride */
  LLVMValueRef base[2] = {ci64(e, 0), ci64(e, 0)};
  int64_t after = 1;
  for (int d = s.rank - 2; d >= 0; d--) {
    LLVMValueRef idx =
        LLVMBuildSRem(e->b, LLVMBuildSDiv(e->b, r, ci64(e, after), ""), ci64(e, s.dims[d]), "");
    for (int o = 0; o < s.n_ops; o++)
      if (s.strides[o][d])
        base[o] =
            LLVMBuildAdd(e->b, base[o], LLVMBuildMul(e->b, idx, ci64(e, s.strides[o][d]), ""), "");
    after *= s.dims[d];
  }
  LLVMValueRef ybase = LLVMBuildMul(e->b, r, ci64(e, inner), "");
  LLVMValueRef j = loop_begin(e, c0, c1, &lc);
  LLVMValueRef v[2];
  LLVMValueRef ptrs[2] = {pa, pb};
  for (int o = 0; o < s.n_ops; o++) {
    LLVMValueRef off = s.strides[o][s.rank - 1] ? LLVMBuildAdd(e->b, base[o], j, "") : base[o];
    v[o] = LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, ptrs[o], off), "");
  }
  LLVMValueRef res = !binary    ? mt_cl_unary_op(e, &c->params.unary, v[0])
                     : variadic ? mt_cl_binary_op(e, c->params.variadic.op, v[0], v[1])
                                : mt_cl_binary_op(e, c->params.binary.op, v[0], v[1]);
  if (variadic && c->params.variadic.mean) /* Mean's final step, as mt_cpu_ew_divide_by */
    res = LLVMBuildFDiv(e->b, res, cf32(e, 2.0f), "");
  LLVMBuildStore(e->b, res, gep(e, e->f32, py, LLVMBuildAdd(e->b, ybase, j, "")));
  loop_end(e, &lc, ci64(e, 1));
  loop_end(e, &lr, ci64(e, 1));
  items_end(e, &li);
}

/* Same bytes under another shape (Reshape, Flatten, Identity...): blocks of 64 KiB. */
static void emit_copy(em *e, const mt_cpu_kernel *k) {
  const mt_node *n = mt_module_node_c(e->m, k->node);
  const mt_value *out = mt_module_value_c(e->m, n->outputs[0]);
  int64_t bytes = (int64_t)mt_dtype_size(out->dtype) * mt_shape_numel(out->rank, out->dims);
  if (bytes == 0) return;
  const int64_t block = 65536;
  LLVMValueRef src = arg_ptr(e, 0), dst = arg_ptr(e, n->n_inputs);
  loop li;
  LLVMValueRef item = items_begin(e, (bytes + block - 1) / block, &li);
  LLVMValueRef off = LLVMBuildMul(e->b, item, ci64(e, block), "");
  LLVMValueRef len = LLVMBuildSub(
      e->b, smin(e, LLVMBuildAdd(e->b, off, ci64(e, block), ""), ci64(e, bytes)), off, "");
  /* memmove: a planner may one day place a view's output on its input */
  LLVMBuildMemMove(e->b, gep(e, LLVMInt8TypeInContext(e->ctx), dst, off), 1,
                   gep(e, LLVMInt8TypeInContext(e->ctx), src, off), 1, len);
  items_end(e, &li);
}

/* A function of the library, declared once. */
static LLVMValueRef library_fn(em *e, const char *name, LLVMTypeRef ft) {
  LLVMValueRef f = LLVMGetNamedFunction(e->mod, name);
  return f ? f : LLVMAddFunction(e->mod, name, ft);
}

/* The one BLAS entry point: C[m x n] = alpha * op(A) op(B) + beta * C, row-major. oneDNN's
 * dnnl_sgemm where mtcc was built with it (docs/cpu-backend.md: the fastest measured here), else
 * OpenBLAS's cblas_sgemm; cpu_link.c links the same library. */
void mt_cl_sgemm(em *e, bool ta, bool tb, LLVMValueRef m, LLVMValueRef n, int64_t k, float alpha,
                 LLVMValueRef a, int64_t lda, LLVMValueRef b, int64_t ldb, float beta,
                 LLVMValueRef c, int64_t ldc) {
  e->uses_blas = true;
#ifdef MTCC_DNNL_LIBRARY
  /* the runtime splits the work over its own threads (cpu_abi.h): oneDNN's OpenMP must not
   * start more on top, and its thread count is a setting of the calling thread (libgomp ICV),
   * so every call sets it; it costs a few nanoseconds after a thread's first */
  LLVMTypeRef i8 = LLVMInt8TypeInContext(e->ctx);
  LLVMTypeRef set_ft = LLVMFunctionType(e->voidt, &e->i32, 1, 0);
  LLVMValueRef one = ci32(e, 1);
  LLVMBuildCall2(e->b, set_ft, library_fn(e, "omp_set_num_threads", set_ft), &one, 1, "");
  LLVMTypeRef params[13] = {i8,     i8,     e->i64, e->i64, e->i64, e->f32, e->ptr,
                            e->i64, e->ptr, e->i64, e->f32, e->ptr, e->i64};
  LLVMTypeRef ft = LLVMFunctionType(e->i32, params, 13, 0);
  LLVMValueRef args[13] = {LLVMConstInt(i8, ta ? 'T' : 'N', 0),
                           LLVMConstInt(i8, tb ? 'T' : 'N', 0),
                           m,
                           n,
                           ci64(e, k),
                           cf32(e, alpha),
                           a,
                           ci64(e, lda),
                           b,
                           ci64(e, ldb),
                           cf32(e, beta),
                           c,
                           ci64(e, ldc)};
  LLVMValueRef call = LLVMBuildCall2(e->b, ft, library_fn(e, "dnnl_sgemm", ft), args, 13, "");
  /* char arguments: the C ABI's caller-side sign extension, as a C compiler would emit */
  unsigned sext = LLVMGetEnumAttributeKindForName("signext", 7);
  for (unsigned i = 1; i <= 2; i++)
    LLVMAddCallSiteAttribute(call, i, LLVMCreateEnumAttribute(e->ctx, sext, 0));
#else
  LLVMTypeRef params[14] = {e->i32, e->i32, e->i32, e->i32, e->i32, e->i32, e->f32,
                            e->ptr, e->i32, e->ptr, e->i32, e->f32, e->ptr, e->i32};
  LLVMTypeRef ft = LLVMFunctionType(e->voidt, params, 14, 0);
  enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
  LLVMValueRef args[14] = {ci32(e, ROW_MAJOR),
                           ci32(e, ta ? TRANS : NO_TRANS),
                           ci32(e, tb ? TRANS : NO_TRANS),
                           LLVMBuildTrunc(e->b, m, e->i32, ""),
                           LLVMBuildTrunc(e->b, n, e->i32, ""),
                           ci32(e, (int32_t)k),
                           cf32(e, alpha),
                           a,
                           ci32(e, (int32_t)lda),
                           b,
                           ci32(e, (int32_t)ldb),
                           cf32(e, beta),
                           c,
                           ci32(e, (int32_t)ldc)};
  LLVMBuildCall2(e->b, ft, library_fn(e, "cblas_sgemm", ft), args, 14, "");
#endif
}

int64_t mt_cl_gemm_parts(int64_t outer, double flops) {
  int64_t parts = 1;
  while (parts < GEMM_SPLIT && outer * parts < GEMM_SPLIT &&
         flops / (double)(2 * parts) >= GEMM_ITEM_FLOPS)
    parts *= 2;
  return parts;
}

/* Rows and columns per item of each of `outer` GEMMs of m x n x k: mt_cl_gemm_parts blocks of
 * the longer side of the output, whole register tiles where that is more than one. */
static void gemm_blocks(int64_t outer, int64_t m, int64_t n, int64_t k, int64_t *rows,
                        int64_t *cols) {
  int64_t parts = mt_cl_gemm_parts(outer, 2.0 * (double)m * (double)n * (double)k);
  int64_t *side = m >= n ? rows : cols, len = m >= n ? m : n;
  *rows = m > 0 ? m : 1, *cols = n > 0 ? n : 1;
  int64_t blk = (len + parts - 1) / parts;
  if (parts > 1 && blk > 16) blk = (blk + 15) / 16 * 16;
  if (parts > 1) *side = blk;
}

/* Gemm: Y = beta * C (broadcast, skipped when beta is 0 as the reference does) + alpha * AB, on
 * blocks of rows x columns of Y (gemm_blocks). */
static void emit_gemm(em *e, const mt_cpu_kernel *k) {
  const mt_node *n = mt_module_node_c(e->m, k->node);
  const mt_kc_gemm *g = &k->call.params.gemm;
  const mt_value *va = mt_module_value_c(e->m, k->args[0]);
  const mt_value *y = mt_module_value_c(e->m, n->outputs[0]);
  const mt_value *vc =
      n->n_inputs > 2 && n->inputs[2] != MT_NO_VALUE ? mt_module_value_c(e->m, n->inputs[2]) : NULL;
  int64_t M = y->dims[0], N = y->dims[1], K = g->trans_a ? va->dims[0] : va->dims[1];
  bool with_c = vc && g->beta != 0.0f;
  int64_t rb, cb;
  gemm_blocks(1, M, N, K, &rb, &cb);
  int64_t nr = (M + rb - 1) / rb, nc = (N + cb - 1) / cb;
  LLVMValueRef pa = arg_ptr(e, 0), pb = arg_ptr(e, 1), pc = with_c ? arg_ptr(e, 2) : NULL,
               py = arg_ptr(e, n->n_inputs);
  loop li;
  LLVMValueRef item = items_begin(e, nr * nc, &li);
  LLVMValueRef r0 = LLVMBuildMul(e->b, LLVMBuildSDiv(e->b, item, ci64(e, nc), ""), ci64(e, rb), "");
  LLVMValueRef c0 = LLVMBuildMul(e->b, LLVMBuildSRem(e->b, item, ci64(e, nc), ""), ci64(e, cb), "");
  LLVMValueRef rows =
      LLVMBuildSub(e->b, smin(e, LLVMBuildAdd(e->b, r0, ci64(e, rb), ""), ci64(e, M)), r0, "");
  LLVMValueRef cols =
      LLVMBuildSub(e->b, smin(e, LLVMBuildAdd(e->b, c0, ci64(e, cb), ""), ci64(e, N)), c0, "");
  LLVMValueRef yblk =
      gep(e, e->f32, py, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, r0, ci64(e, N), ""), c0, ""));
  if (with_c) {
    int64_t cm = vc->rank == 2 ? vc->dims[0] : 1, cn = vc->rank >= 1 ? vc->dims[vc->rank - 1] : 1;
    loop lr, lcol;
    LLVMValueRef i = loop_begin(e, r0, LLVMBuildAdd(e->b, r0, rows, ""), &lr);
    LLVMValueRef crow = cm == 1 ? ci64(e, 0) : LLVMBuildMul(e->b, i, ci64(e, cn), "");
    LLVMValueRef jj = loop_begin(e, c0, LLVMBuildAdd(e->b, c0, cols, ""), &lcol);
    LLVMValueRef cidx = cn == 1 ? crow : LLVMBuildAdd(e->b, crow, jj, "");
    LLVMValueRef cv = LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, pc, cidx), "");
    LLVMValueRef yidx = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, i, ci64(e, N), ""), jj, "");
    LLVMBuildStore(e->b, LLVMBuildFMul(e->b, cf32(e, g->beta), cv, ""), gep(e, e->f32, py, yidx));
    loop_end(e, &lcol, ci64(e, 1));
    loop_end(e, &lr, ci64(e, 1));
  }
  LLVMValueRef ablk = g->trans_a ? gep(e, e->f32, pa, r0)
                                 : gep(e, e->f32, pa, LLVMBuildMul(e->b, r0, ci64(e, K), ""));
  LLVMValueRef bblk = g->trans_b ? gep(e, e->f32, pb, LLVMBuildMul(e->b, c0, ci64(e, K), ""))
                                 : gep(e, e->f32, pb, c0);
  mt_cl_sgemm(e, g->trans_a, g->trans_b, rows, cols, K, g->alpha, ablk, g->trans_a ? M : K, bblk,
              g->trans_b ? K : N, with_c ? 1.0f : 0.0f, yblk, N);
  if (k->n_steps) { /* the fused epilogue on this tile's rows while they are in cache */
    loop le;
    LLVMValueRef i = loop_begin(e, r0, LLVMBuildAdd(e->b, r0, rows, ""), &le);
    LLVMValueRef lo = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, i, ci64(e, N), ""), c0, "");
    mt_cl_emit_epilogue(e, k, lo, LLVMBuildAdd(e->b, lo, cols, ""));
    loop_end(e, &le, ci64(e, 1));
  }
  items_end(e, &li);
}

/* A private constant table of int64 values. */
static LLVMValueRef const_table(em *e, const int64_t *v, int64_t n) {
  LLVMValueRef *elems = malloc(sizeof *elems * (size_t)(n ? n : 1));
  if (!elems) return NULL;
  for (int64_t i = 0; i < n; i++) elems[i] = ci64(e, v[i]);
  LLVMTypeRef at = LLVMArrayType2(e->i64, (uint64_t)n);
  LLVMValueRef g = LLVMAddGlobal(e->mod, at, "mt_cpu_table");
  LLVMSetInitializer(g, LLVMConstArray2(e->i64, elems, (uint64_t)n));
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  free(elems);
  return g;
}

/* MatMul (numpy, batched with broadcast): items are (batch entry, row block, column block); the
 * batch entries' A and B offsets are a constant table. */
MT_MUST_USE static mt_status *emit_matmul(em *e, const mt_cpu_kernel *k) {
  const mt_value *va = mt_module_value_c(e->m, k->args[0]),
                 *vb = mt_module_value_c(e->m, k->args[1]);
  mt_matmul_shape s;
  MT_RETURN_IF_ERROR_PLAIN(mt_cpu_matmul_shape(va->rank, va->dims, vb->rank, vb->dims, &s));
  int64_t nbatch = mt_shape_numel(s.nb, s.batch);
  int64_t *offs = malloc(sizeof *offs * (size_t)(2 * nbatch));
  if (!offs) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int64_t bi = 0; bi < nbatch; bi++) {
    int64_t ao = 0, bo = 0, am = 1, bm = 1, rest = bi;
    for (int d = s.nb - 1; d >= 0; d--) {
      int64_t idx = rest % s.batch[d];
      rest /= s.batch[d];
      if (s.a_batch[d] != 1) ao += idx * am;
      if (s.b_batch[d] != 1) bo += idx * bm;
      am *= s.a_batch[d];
      bm *= s.b_batch[d];
    }
    offs[2 * bi] = ao * s.m * s.k;
    offs[2 * bi + 1] = bo * s.k * s.n;
  }
  LLVMValueRef table = const_table(e, offs, 2 * nbatch);
  free(offs);
  if (!table) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  int64_t rb, cb;
  gemm_blocks(nbatch, s.m, s.n, s.k, &rb, &cb);
  int64_t nr = (s.m + rb - 1) / rb, nc = (s.n + cb - 1) / cb;
  LLVMValueRef pa = arg_ptr(e, 0), pb = arg_ptr(e, 1), py = arg_ptr(e, 2);
  loop li;
  LLVMValueRef item = items_begin(e, nbatch * nr * nc, &li);
  LLVMValueRef bi = LLVMBuildSDiv(e->b, item, ci64(e, nr * nc), "");
  LLVMValueRef rest = LLVMBuildSRem(e->b, item, ci64(e, nr * nc), "");
  LLVMValueRef r0 = LLVMBuildMul(e->b, LLVMBuildSDiv(e->b, rest, ci64(e, nc), ""), ci64(e, rb), "");
  LLVMValueRef c0 = LLVMBuildMul(e->b, LLVMBuildSRem(e->b, rest, ci64(e, nc), ""), ci64(e, cb), "");
  LLVMValueRef rows =
      LLVMBuildSub(e->b, smin(e, LLVMBuildAdd(e->b, r0, ci64(e, rb), ""), ci64(e, s.m)), r0, "");
  LLVMValueRef cols =
      LLVMBuildSub(e->b, smin(e, LLVMBuildAdd(e->b, c0, ci64(e, cb), ""), ci64(e, s.n)), c0, "");
  LLVMValueRef two_bi = LLVMBuildMul(e->b, bi, ci64(e, 2), "");
  LLVMValueRef ao = LLVMBuildLoad2(e->b, e->i64, gep(e, e->i64, table, two_bi), "");
  LLVMValueRef bo = LLVMBuildLoad2(
      e->b, e->i64, gep(e, e->i64, table, LLVMBuildAdd(e->b, two_bi, ci64(e, 1), "")), "");
  LLVMValueRef ablk =
      gep(e, e->f32, pa, LLVMBuildAdd(e->b, ao, LLVMBuildMul(e->b, r0, ci64(e, s.k), ""), ""));
  LLVMValueRef bblk = gep(e, e->f32, pb, LLVMBuildAdd(e->b, bo, c0, ""));
  LLVMValueRef yoff =
      LLVMBuildAdd(e->b, LLVMBuildMul(e->b, bi, ci64(e, s.m * s.n), ""),
                   LLVMBuildAdd(e->b, LLVMBuildMul(e->b, r0, ci64(e, s.n), ""), c0, ""), "");
  mt_cl_sgemm(e, false, false, rows, cols, s.k, 1.0f, ablk, s.k, bblk, s.n, 0.0f,
              gep(e, e->f32, py, yoff), s.n);
  items_end(e, &li);
  return NULL;
}

MT_MUST_USE static mt_status *emit_kernel(em *e, const mt_cpu_kernel *k) {
  LLVMTypeRef params[3] = {e->ptr, e->i32, e->i32};
  LLVMTypeRef ft = LLVMFunctionType(e->voidt, params, 3, 0);
  e->fn = LLVMAddFunction(e->mod, k->symbol, ft);
  LLVMSetLinkage(e->fn, LLVMExternalLinkage);
  LLVMSetVisibility(e->fn, LLVMDefaultVisibility);
  e->args = LLVMGetParam(e->fn, 0);
  e->thread = LLVMGetParam(e->fn, 1);
  e->n_threads = LLVMGetParam(e->fn, 2);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "entry");
  LLVMPositionBuilderAtEnd(e->b, entry);
  mt_status *st = NULL;
  switch (k->call.kind) {
  case MT_KERNEL_UNARY:
  case MT_KERNEL_BINARY:
    if (k->n_steps) {
      mt_cl_emit_chain(e, k);
      break;
    }
    emit_elementwise(e, k);
    break;
  case MT_KERNEL_VARIADIC: emit_elementwise(e, k); break;
  case MT_KERNEL_COPY: emit_copy(e, k); break;
  case MT_KERNEL_GEMM: emit_gemm(e, k); break;
  case MT_KERNEL_MATMUL: st = emit_matmul(e, k); break;
  case MT_KERNEL_CONV: st = mt_cl_emit_conv(e, k); break;
  case MT_KERNEL_SOFTMAX: mt_cl_emit_softmax(e, k); break;
  case MT_KERNEL_LAYERNORM: mt_cl_emit_layernorm(e, k); break;
  case MT_KERNEL_TRANSPOSE: mt_cl_emit_transpose(e, k); break;
  case MT_KERNEL_CONCAT: mt_cl_emit_concat(e, k); break;
  case MT_KERNEL_GATHER: mt_cl_emit_gather(e, k); break;
  case MT_KERNEL_POOL: mt_cl_emit_pool(e, k); break;
  case MT_KERNEL_GLOBAL_POOL: mt_cl_emit_global_pool(e, k); break;
  default:
    st = MT_ERR(INTERNAL, "%s: no CPU emitter for kind %s", k->name,
                mt_kernel_kind_name(k->call.kind));
  }
  LLVMBuildRetVoid(e->b);
  return st;
}

static mt_status *llvm_error(LLVMErrorRef err, const char *what) {
  char *msg = LLVMGetErrorMessage(err);
  mt_status *st = MT_ERR(INTERNAL, "LLVM %s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
  return st;
}

MT_MUST_USE static mt_status *emit_module(em *e, const mt_cpu_program *prog, const char *target,
                                          LLVMMemoryBufferRef *out_obj) {
  static const char triple[] = "x86_64-unknown-linux-gnu";
  LLVMTargetRef t;
  char *err = NULL;
  if (LLVMGetTargetFromTriple(triple, &t, &err)) {
    mt_status *st = MT_ERR(UNAVAILABLE, "LLVM has no x86-64 target: %s", err ? err : "?");
    LLVMDisposeMessage(err);
    return st;
  }
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(
      t, triple, target, "", LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
  if (!tm) return MT_ERR(INTERNAL, "LLVM: cannot create a target machine for %s", target);
  LLVMSetTarget(e->mod, triple);
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
  LLVMSetModuleDataLayout(e->mod, td);
  e->vec_width = strcmp(target, "x86-64-v4") == 0 ? 16 : 8;
  LLVMDisposeTargetData(td);
  /* the ABI version symbol the loader checks first */
  LLVMValueRef ver = LLVMAddGlobal(e->mod, e->i32, MT_CPU_ABI_VERSION_SYMBOL);
  LLVMSetInitializer(ver, LLVMConstInt(e->i32, MT_CPU_ABI_VERSION, 0));
  LLVMSetGlobalConstant(ver, 1);
  mt_status *st = NULL;
  for (int i = 0; i < prog->n_kernels && !st; i++)
    if (prog->kernels[i].same_as < 0) st = emit_kernel(e, &prog->kernels[i]);
  /* a repeated kernel is an alias of its first occurrence: same code, its own symbol */
  LLVMTypeRef kparams[3] = {e->ptr, e->i32, e->i32};
  LLVMTypeRef kft = LLVMFunctionType(e->voidt, kparams, 3, 0);
  for (int i = 0; i < prog->n_kernels && !st; i++) {
    const mt_cpu_kernel *k = &prog->kernels[i];
    if (k->same_as < 0) continue;
    LLVMValueRef target_fn = LLVMGetNamedFunction(e->mod, prog->kernels[k->same_as].symbol);
    LLVMValueRef alias = LLVMAddAlias2(e->mod, kft, 0, target_fn, k->symbol);
    LLVMSetLinkage(alias, LLVMExternalLinkage);
  }
  if (!st && LLVMVerifyModule(e->mod, LLVMReturnStatusAction, &err))
    st = MT_ERR(INTERNAL, "LLVM: the generated module is invalid: %.300s", err ? err : "?");
  LLVMDisposeMessage(err);
  err = NULL;
  if (!st) {
    LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
    LLVMErrorRef perr = LLVMRunPasses(e->mod, "default<O3>", tm, po);
    LLVMDisposePassBuilderOptions(po);
    if (perr) st = llvm_error(perr, "optimisation");
  }
  if (!st && LLVMTargetMachineEmitToMemoryBuffer(tm, e->mod, LLVMObjectFile, &err, out_obj)) {
    st = MT_ERR(INTERNAL, "LLVM: cannot emit the %s object: %s", target, err ? err : "?");
    LLVMDisposeMessage(err);
  }
  LLVMDisposeTargetMachine(tm);
  return st;
}

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static void llvm_init_once(void) {
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
}
void mt_cpu_llvm_init(void) { pthread_once(&llvm_once, llvm_init_once); }

mt_status *mt_cpu_llvm_emit(const mt_module *m, const mt_cpu_program *prog, const char *target,
                            mt_cpu_object *obj) {
  mt_cpu_llvm_init();
  em e = {.m = m};
  e.ctx = LLVMContextCreate();
  /* the module name lands in no output; a fixed one keeps the object independent of paths */
  e.mod = LLVMModuleCreateWithNameInContext("mtcc_cpu", e.ctx);
  e.b = LLVMCreateBuilderInContext(e.ctx);
  e.i32 = LLVMInt32TypeInContext(e.ctx);
  e.i64 = LLVMInt64TypeInContext(e.ctx);
  e.f32 = LLVMFloatTypeInContext(e.ctx);
  e.f64 = LLVMDoubleTypeInContext(e.ctx);
  e.ptr = LLVMPointerTypeInContext(e.ctx, 0);
  e.voidt = LLVMVoidTypeInContext(e.ctx);
  LLVMMemoryBufferRef objbuf = NULL;
  mt_status *st = emit_module(&e, prog, target, &objbuf);
  LLVMDisposeBuilder(e.b);
  LLVMDisposeModule(e.mod);
  LLVMContextDispose(e.ctx);
  if (st) return st;
  st = mt_cpu_link_shared((const uint8_t *)LLVMGetBufferStart(objbuf), LLVMGetBufferSize(objbuf),
                          e.uses_blas, &obj->bytes, &obj->size);
  LLVMDisposeMemoryBuffer(objbuf);
  if (st) return st;
  obj->n_needed = 0;
#ifdef MTCC_DNNL_LIBRARY
  if (e.uses_blas) obj->needed[obj->n_needed++] = "libdnnl.so.2";
  if (e.uses_blas) obj->needed[obj->n_needed++] = "libgomp.so.1";
#else
  if (e.uses_blas) obj->needed[obj->n_needed++] = "libopenblas.so.0";
#endif
  obj->needed[obj->n_needed++] = "libm.so.6";
  return NULL;
}

#endif
