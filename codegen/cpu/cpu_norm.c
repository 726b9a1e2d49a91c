/* Softmax, LogSoftmax and LayerNormalization for the CPU backend (cpu_llvm.c dispatches here),
 * written as the reference kernels (runtime/cpu/norm.c) compute them: float maxima and
 * exponentials, sums in double in index order (LLVM keeps the order: no fast-math), the same
 * libm calls and roundings, so results are bit-identical. Work items are blocks of rows (or of
 * softmax columns), fixed by the shape. */
#ifdef MTCC_HAVE_LLVM

#include "codegen/cpu/cpu_llvm.h"

#define NORM_ITEM_ROWS 8

static LLVMValueRef cf64(em *e, double v) { return LLVMConstReal(e->f64, v); }

/* double log(double) / sqrt as llvm.sqrt.f64 (correctly rounded like C's sqrt) */
static LLVMValueRef call_f64(em *e, const char *name, bool intrinsic, LLVMValueRef x) {
  LLVMTypeRef ft = LLVMFunctionType(e->f64, &e->f64, 1, 0);
  LLVMValueRef f;
  if (intrinsic) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    f = LLVMGetIntrinsicDeclaration(e->mod, id, &e->f64, 1);
  } else {
    f = LLVMGetNamedFunction(e->mod, name);
    if (!f) f = LLVMAddFunction(e->mod, name, ft);
  }
  return LLVMBuildCall2(e->b, ft, f, &x, 1, "");
}

static LLVMValueRef expf_call(em *e, LLVMValueRef x) {
  LLVMTypeRef ft = LLVMFunctionType(e->f32, &e->f32, 1, 0);
  LLVMValueRef f = LLVMGetNamedFunction(e->mod, "expf");
  if (!f) f = LLVMAddFunction(e->mod, "expf", ft);
  return LLVMBuildCall2(e->b, ft, f, &x, 1, "");
}

/* A loop-carried scalar: a phi in the loop head, updated at the end of the body. */
typedef struct carried {
  LLVMValueRef phi;
} carried;

static LLVMValueRef carry_begin(em *e, loop *l, LLVMValueRef init, carried *c) {
  LLVMBasicBlockRef cur = LLVMGetInsertBlock(e->b);
  LLVMPositionBuilder(e->b, l->head, LLVMGetFirstInstruction(l->head));
  LLVMPositionBuilderBefore(e->b, LLVMGetNextInstruction(l->iv));
  c->phi = LLVMBuildPhi(e->b, LLVMTypeOf(init), "acc");
  LLVMAddIncoming(c->phi, &init, &l->pre, 1);
  LLVMPositionBuilderAtEnd(e->b, cur);
  return c->phi;
}

/* Ends loop l whose body updated the carried value to `next`; returns its value after the loop. */
static LLVMValueRef carry_end(em *e, loop *l, carried *c, LLVMValueRef next) {
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
  LLVMAddIncoming(c->phi, &next, &latch, 1);
  loop_end(e, l, ci64(e, 1));
  return c->phi; /* the exit is reached from the head only, where the phi holds the final value */
}

void mt_cl_emit_softmax(em *e, const mt_cpu_kernel *k) {
  const mt_kc_softmax *s = &k->call.params.softmax;
  const mt_node *node = mt_module_node_c(e->m, k->node);
  LLVMValueRef px = arg_ptr(e, 0), py = arg_ptr(e, node->n_inputs);
  int64_t cols = s->outer * s->inner, per = 64;
  if (cols == 0) return;
  loop li, lc;
  LLVMValueRef item = items_begin(e, (cols + per - 1) / per, &li);
  LLVMValueRef c0 = LLVMBuildMul(e->b, item, ci64(e, per), "");
  LLVMValueRef c1 = smin(e, LLVMBuildAdd(e->b, c0, ci64(e, per), ""), ci64(e, cols));
  LLVMValueRef col = loop_begin(e, c0, c1, &lc);
  LLVMValueRef o = LLVMBuildSDiv(e->b, col, ci64(e, s->inner), "");
  LLVMValueRef in = LLVMBuildSRem(e->b, col, ci64(e, s->inner), "");
  LLVMValueRef base =
      LLVMBuildAdd(e->b, LLVMBuildMul(e->b, o, ci64(e, s->n * s->inner), ""), in, "");
  LLVMValueRef xr = gep(e, e->f32, px, base), yr = gep(e, e->f32, py, base);
  /* the maximum, first element first */
  LLVMValueRef mx0 = LLVMBuildLoad2(e->b, e->f32, xr, "");
  loop lm;
  carried cm;
  LLVMValueRef i = loop_begin(e, ci64(e, 1), ci64(e, s->n), &lm);
  LLVMValueRef mx = carry_begin(e, &lm, mx0, &cm);
  LLVMValueRef v = LLVMBuildLoad2(
      e->b, e->f32, gep(e, e->f32, xr, LLVMBuildMul(e->b, i, ci64(e, s->inner), "")), "");
  mx = carry_end(e, &lm, &cm,
                 LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, v, mx, ""), v, mx, ""));
  /* exponentials, summed in double */
  loop ls;
  carried cs;
  i = loop_begin(e, ci64(e, 0), ci64(e, s->n), &ls);
  LLVMValueRef sum = carry_begin(e, &ls, cf64(e, 0.0), &cs);
  LLVMValueRef off = LLVMBuildMul(e->b, i, ci64(e, s->inner), "");
  LLVMValueRef ex = expf_call(
      e, LLVMBuildFSub(e->b, LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, xr, off), ""), mx, ""));
  if (!s->log) LLVMBuildStore(e->b, ex, gep(e, e->f32, yr, off));
  sum = carry_end(e, &ls, &cs, LLVMBuildFAdd(e->b, sum, LLVMBuildFPExt(e->b, ex, e->f64, ""), ""));
  loop lw;
  i = loop_begin(e, ci64(e, 0), ci64(e, s->n), &lw);
  off = LLVMBuildMul(e->b, i, ci64(e, s->inner), "");
  if (s->log) {
    LLVMValueRef lse = LLVMBuildFPTrunc(e->b, call_f64(e, "log", false, sum), e->f32, "");
    LLVMValueRef xv = LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, xr, off), "");
    LLVMBuildStore(e->b, LLVMBuildFSub(e->b, LLVMBuildFSub(e->b, xv, mx, ""), lse, ""),
                   gep(e, e->f32, yr, off));
  } else {
    LLVMValueRef inv =
        LLVMBuildFPTrunc(e->b, LLVMBuildFDiv(e->b, cf64(e, 1.0), sum, ""), e->f32, "");
    LLVMValueRef yp = gep(e, e->f32, yr, off);
    LLVMBuildStore(e->b, LLVMBuildFMul(e->b, LLVMBuildLoad2(e->b, e->f32, yp, ""), inv, ""), yp);
  }
  loop_end(e, &lw, ci64(e, 1));
  loop_end(e, &lc, ci64(e, 1));
  items_end(e, &li);
}

void mt_cl_emit_layernorm(em *e, const mt_cpu_kernel *k) {
  const mt_kc_norm *p = &k->call.params.norm;
  const mt_node *node = mt_module_node_c(e->m, k->node);
  const mt_value *x = mt_module_value_c(e->m, k->args[0]);
  int64_t rows = mt_shape_numel(p->axis, x->dims);
  int64_t n = mt_shape_numel(x->rank - p->axis, x->dims + p->axis);
  bool has_bias = node->n_inputs > 2;
  LLVMValueRef px = arg_ptr(e, 0), ps = arg_ptr(e, 1), pb = has_bias ? arg_ptr(e, 2) : NULL,
               py = arg_ptr(e, node->n_inputs);
  if (rows == 0 || n == 0) return;
  loop li, lr;
  LLVMValueRef item = items_begin(e, (rows + NORM_ITEM_ROWS - 1) / NORM_ITEM_ROWS, &li);
  LLVMValueRef r0 = LLVMBuildMul(e->b, item, ci64(e, NORM_ITEM_ROWS), "");
  LLVMValueRef r1 = smin(e, LLVMBuildAdd(e->b, r0, ci64(e, NORM_ITEM_ROWS), ""), ci64(e, rows));
  LLVMValueRef r = loop_begin(e, r0, r1, &lr);
  LLVMValueRef xr = gep(e, e->f32, px, LLVMBuildMul(e->b, r, ci64(e, n), ""));
  LLVMValueRef yr = gep(e, e->f32, py, LLVMBuildMul(e->b, r, ci64(e, n), ""));
  loop l1, l2, l3;
  carried c1, c2;
  LLVMValueRef i = loop_begin(e, ci64(e, 0), ci64(e, n), &l1);
  LLVMValueRef sum = carry_begin(e, &l1, cf64(e, 0.0), &c1);
  LLVMValueRef xv = LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, xr, i), "");
  sum = carry_end(e, &l1, &c1, LLVMBuildFAdd(e->b, sum, LLVMBuildFPExt(e->b, xv, e->f64, ""), ""));
  LLVMValueRef mu = LLVMBuildFDiv(e->b, sum, cf64(e, (double)n), "");
  i = loop_begin(e, ci64(e, 0), ci64(e, n), &l2);
  LLVMValueRef sq = carry_begin(e, &l2, cf64(e, 0.0), &c2);
  xv = LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, xr, i), "");
  LLVMValueRef d = LLVMBuildFSub(e->b, LLVMBuildFPExt(e->b, xv, e->f64, ""), mu, "");
  sq = carry_end(e, &l2, &c2, LLVMBuildFAdd(e->b, sq, LLVMBuildFMul(e->b, d, d, ""), ""));
  LLVMValueRef var = LLVMBuildFDiv(e->b, sq, cf64(e, (double)n), "");
  LLVMValueRef m = LLVMBuildFPTrunc(e->b, mu, e->f32, "");
  LLVMValueRef sd =
      call_f64(e, "llvm.sqrt", true, LLVMBuildFAdd(e->b, var, cf64(e, (double)p->epsilon), ""));
  LLVMValueRef inv = LLVMBuildFPTrunc(e->b, LLVMBuildFDiv(e->b, cf64(e, 1.0), sd, ""), e->f32, "");
  i = loop_begin(e, ci64(e, 0), ci64(e, n), &l3);
  xv = LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, xr, i), "");
  LLVMValueRef t = LLVMBuildFMul(e->b, LLVMBuildFMul(e->b, LLVMBuildFSub(e->b, xv, m, ""), inv, ""),
                                 LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, ps, i), ""), "");
  if (pb) t = LLVMBuildFAdd(e->b, t, LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, pb, i), ""), "");
  LLVMBuildStore(e->b, t, gep(e, e->f32, yr, i));
  loop_end(e, &l3, ci64(e, 1));
  loop_end(e, &lr, ci64(e, 1));
  items_end(e, &li);
}

#endif
