/* Transcendental functions the CPU backend inlines instead of calling libm, so the loops around
 * them vectorise: today exp on [-104, 0] for Sigmoid and Swish (EfficientNet's swish runs one
 * per activation; libm's scalar expf was a third of its round).
 *
 * exp(t) = 2^n * p(r): n = rint(t * log2(e)), r = t - n * ln 2 in two parts (Cody-Waite), p the
 * degree-7 Taylor polynomial through explicit fused multiply-adds (llvm.fma: exactly rounded on
 * every target, so x86-64-v3 and -v4 give the same bits), 2^n as two exponent-field floats so
 * results down to the subnormal range are scaled without overflowing the field. Relative error
 * below 1e-7 on the normal range (truncation < 6e-9 for |r| <= ln 2 / 2, plus a few roundings):
 * inside issue 14's 1e-5, but not libm's bits, so kernels that use it are compared with 1e-5
 * relative (tests/unit/test_cpu_codegen.c, docs/cpu-codegen.md). */
#ifdef MTCC_HAVE_LLVM

#include "codegen/cpu/cpu_llvm.h"

static LLVMValueRef fma3(em *e, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  static const char name[] = "llvm.fma";
  unsigned id = LLVMLookupIntrinsicID(name, sizeof name - 1);
  LLVMTypeRef over[1] = {e->f32};
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->mod, id, over, 1);
  LLVMTypeRef params[3] = {e->f32, e->f32, e->f32};
  LLVMTypeRef ft = LLVMFunctionType(e->f32, params, 3, 0);
  LLVMValueRef args[3] = {a, b, c};
  return LLVMBuildCall2(e->b, ft, f, args, 3, "");
}

/* 2^k for an integer k in [-126, 127], through the exponent field. */
static LLVMValueRef pow2i(em *e, LLVMValueRef k) {
  LLVMValueRef bits = LLVMBuildShl(e->b, LLVMBuildAdd(e->b, k, ci32(e, 127), ""), ci32(e, 23), "");
  return LLVMBuildBitCast(e->b, bits, e->f32, "");
}

/* exp(t) for t <= 0 (NaN gives a value the caller discards). */
static LLVMValueRef exp_nonpos(em *e, LLVMValueRef t) {
  /* below -104, exp is under half the smallest subnormal: the clamp gives (almost) 0 */
  t = LLVMBuildSelect(e->b, fcmp(e, LLVMRealOLT, t, cf32(e, -104.0f)), cf32(e, -104.0f), t, "");
  LLVMValueRef nf =
      call_intr(e, "llvm.rint", LLVMBuildFMul(e->b, t, cf32(e, 1.44269504f), ""), NULL);
  LLVMValueRef r = fma3(e, nf, cf32(e, -0.693359375f), t);
  r = fma3(e, nf, cf32(e, 2.12194440e-4f), r);
  static const float coef[] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24,
                               1.0f / 6,    0.5f,       1.0f,       1.0f};
  LLVMValueRef p = cf32(e, coef[0]);
  for (size_t i = 1; i < sizeof coef / sizeof *coef; i++) p = fma3(e, p, r, cf32(e, coef[i]));
  /* n in [-150, 0]: 2^n = 2^h * 2^(n - h), h = n / 2, both inside the normal exponents */
  LLVMValueRef n = LLVMBuildFPToSI(e->b, nf, e->i32, "");
  LLVMValueRef h = LLVMBuildSDiv(e->b, n, ci32(e, 2), "");
  LLVMValueRef s = LLVMBuildFMul(e->b, p, pow2i(e, h), "");
  return LLVMBuildFMul(e->b, s, pow2i(e, LLVMBuildSub(e->b, n, h, "")), "");
}

/* The reference's split on the sign (runtime/cpu/elementwise_unary.c): 1 / (1 + exp(-x)) for
 * x >= 0, exp(x) / (1 + exp(x)) below; both read exp(-|x|), computed once. */
LLVMValueRef mt_cl_sigmoid(em *e, LLVMValueRef x) {
  LLVMValueRef one = cf32(e, 1.0f);
  LLVMValueRef ex = exp_nonpos(e, LLVMBuildFNeg(e->b, call_intr(e, "llvm.fabs", x, NULL), ""));
  LLVMValueRef den = LLVMBuildFAdd(e->b, one, ex, "");
  LLVMValueRef pos = LLVMBuildFDiv(e->b, one, den, "");
  LLVMValueRef neg = LLVMBuildFDiv(e->b, ex, den, "");
  LLVMValueRef y = LLVMBuildSelect(e->b, fcmp(e, LLVMRealOGE, x, cf32(e, 0.0f)), pos, neg, "");
  /* NaN in, NaN out (the clamp and the integer exponent would lose it) */
  return LLVMBuildSelect(e->b, fcmp(e, LLVMRealUNO, x, x), x, y, "");
}

#endif
