/* Internal to codegen/cpu's LLVM files (cpu_llvm.c, cpu_conv.c): the emitter state and the small
 * IR-building helpers they share. Includes the LLVM C API; nothing outside codegen/cpu includes
 * it. */
#ifndef MT_CODEGEN_CPU_LLVM_H
#define MT_CODEGEN_CPU_LLVM_H

#include <llvm-c/Core.h>
#include <string.h>

#include "codegen/cpu/cpu.h"

/* Elements per work item of an elementwise kernel. */
#define EW_ITEM_ELEMS 16384
/* GEMM and conv work items: every BLAS call packs its operands again, so each GEMM is one item,
 * or 2 or GEMM_SPLIT parts of it when there are fewer independent GEMMs than that and each part
 * keeps at least GEMM_ITEM_FLOPS (so that 2 threads both work at batch 1, and one that is done
 * early takes a part over from a late one: issue 14 measured EfficientNet-B0's best 2-thread time
 * at 0.58 of its 1-thread time with 2 parts of >= 4 MFLOP, 0.55 with these). */
#define GEMM_SPLIT 4
#define GEMM_ITEM_FLOPS (1.0 * 1024 * 1024)

typedef struct em {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTypeRef i32, i64, f32, f64, ptr, voidt;
  LLVMValueRef fn, args, thread, n_threads;
  const mt_module *m;
  bool uses_blas;
  LLVMValueRef clip_lo, clip_hi; /* Clip's bounds when they are inputs, loaded once per call */
  LLVMValueRef head_bias;        /* a conv epilogue's bias: added to the head, which is stored */
  int vec_width;                 /* floats per vector register of the target (16 on v4, else 8) */
} em;

typedef struct loop {
  LLVMBasicBlockRef head, body, exit, pre;
  LLVMValueRef iv;
} loop;

static inline LLVMValueRef ci64(em *e, int64_t v) {
  return LLVMConstInt(e->i64, (unsigned long long)v, 1);
}
static inline LLVMValueRef ci32(em *e, int32_t v) {
  return LLVMConstInt(e->i32, (unsigned long long)v, 1);
}
static inline LLVMValueRef cf32(em *e, float v) { return LLVMConstReal(e->f32, (double)v); }

/* for (iv = start; iv < end; iv += step): the body goes between loop_begin and loop_end. */
static inline LLVMValueRef loop_begin(em *e, LLVMValueRef start, LLVMValueRef end, loop *l) {
  l->pre = LLVMGetInsertBlock(e->b);
  l->head = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "head");
  l->body = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "body");
  l->exit = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "exit");
  LLVMBuildBr(e->b, l->head);
  LLVMPositionBuilderAtEnd(e->b, l->head);
  l->iv = LLVMBuildPhi(e->b, LLVMTypeOf(start), "iv");
  LLVMAddIncoming(l->iv, &start, &l->pre, 1);
  LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, l->iv, end, ""), l->body, l->exit);
  LLVMPositionBuilderAtEnd(e->b, l->body);
  return l->iv;
}

static inline void loop_end(em *e, loop *l, LLVMValueRef step) {
  LLVMValueRef next = LLVMBuildAdd(e->b, l->iv, step, "next");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
  LLVMBuildBr(e->b, l->head);
  LLVMAddIncoming(l->iv, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(e->b, l->exit);
}

/* The work-item loop every kernel has: items thread, thread + n_threads, ... < n_items. */
static inline LLVMValueRef items_begin(em *e, int64_t n_items, loop *l) {
  LLVMValueRef start = LLVMBuildSExt(e->b, e->thread, e->i64, "");
  return loop_begin(e, start, ci64(e, n_items), l);
}
static inline void items_end(em *e, loop *l) {
  loop_end(e, l, LLVMBuildSExt(e->b, e->n_threads, e->i64, ""));
}

static inline LLVMValueRef arg_ptr(em *e, int i) {
  LLVMValueRef slot = LLVMBuildGEP2(e->b, e->ptr, e->args, (LLVMValueRef[]){ci64(e, i)}, 1, "");
  return LLVMBuildLoad2(e->b, e->ptr, slot, "arg");
}

static inline LLVMValueRef gep(em *e, LLVMTypeRef t, LLVMValueRef p, LLVMValueRef idx) {
  return LLVMBuildGEP2(e->b, t, p, &idx, 1, "");
}

/* 0 <= v < n for an i64 v. */
static inline LLVMValueRef mt_cl_in_range(em *e, LLVMValueRef v, int64_t n) {
  return LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, v, ci64(e, 0), ""),
                      LLVMBuildICmp(e->b, LLVMIntSLT, v, ci64(e, n), ""), "");
}

static inline LLVMValueRef smin(em *e, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, a, b, ""), a, b, "");
}
static inline LLVMValueRef smax(em *e, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, a, b, ""), a, b, "");
}

/* A libm function float(float[, float]), declared once. */
static inline LLVMValueRef call_libm(em *e, const char *name, LLVMValueRef x, LLVMValueRef y) {
  LLVMTypeRef params[2] = {e->f32, e->f32};
  LLVMTypeRef ft = LLVMFunctionType(e->f32, params, y ? 2 : 1, 0);
  LLVMValueRef f = LLVMGetNamedFunction(e->mod, name);
  if (!f) f = LLVMAddFunction(e->mod, name, ft);
  LLVMValueRef args[2] = {x, y};
  return LLVMBuildCall2(e->b, ft, f, args, y ? 2 : 1, "");
}

/* An overloaded float intrinsic ("llvm.sqrt"), exact like its C counterpart. */
static inline LLVMValueRef call_intr(em *e, const char *name, LLVMValueRef x, LLVMValueRef y) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef over[1] = {e->f32};
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->mod, id, over, 1);
  LLVMTypeRef params[2] = {e->f32, e->f32};
  LLVMTypeRef ft = LLVMFunctionType(e->f32, params, y ? 2 : 1, 0);
  LLVMValueRef args[2] = {x, y};
  return LLVMBuildCall2(e->b, ft, f, args, y ? 2 : 1, "");
}

static inline LLVMValueRef fcmp(em *e, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(e->b, p, a, b, "");
}

#define EW_MAX_OPS MT_CPU_MAX_KERNEL_ARGS

/* An elementwise operand's view of the output's index space after collapsing: per collapsed dim,
 * its stride in elements (0 where it broadcasts). */
typedef struct ew_shape {
  int rank; /* collapsed output rank, >= 1 */
  int64_t dims[MT_MAX_RANK];
  int n_ops;
  int64_t strides[EW_MAX_OPS][MT_MAX_RANK];
} ew_shape;

/* Collapses the output's dims for n_ops operands of ranks/dims (cpu_llvm.c). */
void mt_cl_ew_collapse(int out_rank, const int64_t *out_dims, int n_ops, const int *ranks,
                       const int64_t (*dims)[MT_MAX_RANK], ew_shape *s);
/* The reference kernels' elementwise formulas on one float (cpu_llvm.c). */
LLVMValueRef mt_cl_unary_op(em *e, const mt_kc_unary *u, LLVMValueRef x);
LLVMValueRef mt_cl_binary_op(em *e, mt_ew_binary op, LLVMValueRef x, LLVMValueRef y);
/* Sigmoid with an inlined exp that vectorises (cpu_math.c): within 1e-7 relative of the
 * reference, not its bits. */
LLVMValueRef mt_cl_sigmoid(em *e, LLVMValueRef x);
/* Fused chains (cpu_chain.c): a kernel whose head is elementwise, and the epilogue of a GEMM or
 * conv head over the flat range [lo, hi) of its output, which the head has just written. */
void mt_cl_emit_chain(em *e, const mt_cpu_kernel *k);
void mt_cl_emit_epilogue(em *e, const mt_cpu_kernel *k, LLVMValueRef lo, LLVMValueRef hi);

/* Parts (1 .. GEMM_SPLIT) to cut each of `outer` independent GEMMs of `flops` into (cpu_llvm.c). */
int64_t mt_cl_gemm_parts(int64_t outer, double flops);
/* The one BLAS entry point (cpu_llvm.c): C[m x n] = alpha * op(A) op(B) + beta * C, row-major. */
void mt_cl_sgemm(em *e, bool ta, bool tb, LLVMValueRef m, LLVMValueRef n, int64_t k, float alpha,
                 LLVMValueRef a, int64_t lda, LLVMValueRef b, int64_t ldb, float beta,
                 LLVMValueRef c, int64_t ldc);
/* Softmax / LogSoftmax and LayerNormalization (cpu_norm.c), Transpose (cpu_data.c). */
void mt_cl_emit_softmax(em *e, const mt_cpu_kernel *k);
void mt_cl_emit_layernorm(em *e, const mt_cpu_kernel *k);
void mt_cl_emit_transpose(em *e, const mt_cpu_kernel *k);
void mt_cl_emit_concat(em *e, const mt_cpu_kernel *k);
void mt_cl_emit_gather(em *e, const mt_cpu_kernel *k);
/* MaxPool/AveragePool and the global pools (cpu_pool.c). */
void mt_cl_emit_pool(em *e, const mt_cpu_kernel *k);
void mt_cl_emit_global_pool(em *e, const mt_cpu_kernel *k);
/* Conv (cpu_conv.c): im2col + GEMM, pointwise as GEMM, depthwise as direct loops. */
MT_MUST_USE mt_status *mt_cl_emit_conv(em *e, const mt_cpu_kernel *k);
/* Depthwise conv (cpu_dwconv.c): register-blocked rows, taps unrolled, fused epilogue. */
void mt_cl_emit_depthwise(em *e, const mt_cpu_kernel *k);
/* cpu_pgemm.c: w[groups * mg x kg] packed into a private constant (NULL: out of memory),
 * A_p[group][K block of PG_KC][panel][kk][PG_MR] with zero rows past mg; and C[m x n] (ldc) =
 * the rows of panels panel0.. of one group's A_p (ap, `panels` panels) times B[K x n] (ldb). */
LLVMValueRef mt_cl_packed_weights(em *e, const float *w, int64_t groups, int64_t mg, int64_t kg);
/* bp: the B packing block, mt_cl_pgemm_scratch (an alloca: made once, before the item loop). */
LLVMValueRef mt_cl_pgemm_scratch(em *e);
void mt_cl_pgemm(em *e, LLVMValueRef ap, int64_t panels, LLVMValueRef bp, LLVMValueRef panel0,
                 LLVMValueRef m, LLVMValueRef n, int64_t K, LLVMValueRef b, int64_t ldb,
                 LLVMValueRef c, int64_t ldc);

#endif
