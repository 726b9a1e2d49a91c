/* Pooling for the CPU backend (cpu_llvm.c dispatches here): MaxPool / AveragePool over 1 or 2
 * spatial dims and the global pools, computed as the reference kernels (runtime/cpu/pool.c) do:
 * window taps in row-major order, a max that takes the first valid tap then strictly greater
 * ones, averages summed in double and divided by the valid (or padded) tap count. So results
 * are bit-identical, except a global average, which sums 8 lanes (lane_sums: 1e-5 relative,
 * in practice the same float). Work items are planes (or blocks of planes), fixed by the shape. */
#ifdef MTCC_HAVE_LLVM

#include <float.h>

#include "codegen/cpu/cpu_llvm.h"

void mt_cl_emit_pool(em *e, const mt_cpu_kernel *k) {
  const mt_kc_pool *p = &k->call.params.pool;
  const mt_conv_geom *g = &p->geom;
  const mt_node *node = mt_module_node_c(e->m, k->node);
  bool two = g->nsp == 2;
  int64_t ih_n = two ? g->in[0] : 1, iw_n = g->in[g->nsp - 1];
  int64_t oh_n = two ? g->out[0] : 1, ow_n = g->out[g->nsp - 1];
  int64_t kh_n = two ? g->kernel[0] : 1, kw_n = g->kernel[g->nsp - 1];
  int64_t sh = two ? g->stride[0] : 1, sw = g->stride[g->nsp - 1];
  int64_t dh = two ? g->dilation[0] : 1, dw = g->dilation[g->nsp - 1];
  int64_t ph = two ? g->pad_begin[0] : 0, pw = g->pad_begin[g->nsp - 1];
  int64_t pe_h = two ? g->pad_end[0] : 0, pe_w = g->pad_end[g->nsp - 1];
  LLVMValueRef px = arg_ptr(e, 0), py = arg_ptr(e, node->n_inputs);
  if (p->planes == 0 || oh_n * ow_n == 0) return;
  loop li, lh, lw;
  LLVMValueRef plane = items_begin(e, p->planes, &li);
  LLVMValueRef xp = gep(e, e->f32, px, LLVMBuildMul(e->b, plane, ci64(e, ih_n * iw_n), ""));
  LLVMValueRef yp = gep(e, e->f32, py, LLVMBuildMul(e->b, plane, ci64(e, oh_n * ow_n), ""));
  LLVMValueRef oh = loop_begin(e, ci64(e, 0), ci64(e, oh_n), &lh);
  LLVMValueRef ow = loop_begin(e, ci64(e, 0), ci64(e, ow_n), &lw);
  LLVMValueRef s0h = LLVMBuildSub(e->b, LLVMBuildMul(e->b, oh, ci64(e, sh), ""), ci64(e, ph), "");
  LLVMValueRef s0w = LLVMBuildSub(e->b, LLVMBuildMul(e->b, ow, ci64(e, sw), ""), ci64(e, pw), "");
  LLVMValueRef best = cf32(e, -FLT_MAX), seen = LLVMConstInt(LLVMInt1TypeInContext(e->ctx), 0, 0);
  LLVMValueRef sum = LLVMConstReal(e->f64, 0.0), count = ci64(e, 0), padded = ci64(e, 0);
  for (int64_t i = 0; i < kh_n; i++) {
    LLVMValueRef ih = LLVMBuildAdd(e->b, s0h, ci64(e, i * dh), "");
    LLVMValueRef ok_h = mt_cl_in_range(e, ih, ih_n);
    /* taps inside [-pad_begin, in + pad_end) count for count_include_pad */
    LLVMValueRef pad_h = LLVMBuildICmp(e->b, LLVMIntSLT, ih, ci64(e, ih_n + pe_h), "");
    for (int64_t j = 0; j < kw_n; j++) {
      LLVMValueRef iw = LLVMBuildAdd(e->b, s0w, ci64(e, j * dw), "");
      LLVMValueRef ok = LLVMBuildAnd(e->b, ok_h, mt_cl_in_range(e, iw, iw_n), "");
      LLVMValueRef idx = LLVMBuildSelect(
          e->b, ok, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, ih, ci64(e, iw_n), ""), iw, ""),
          ci64(e, 0), "");
      LLVMValueRef v = LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, xp, idx), "");
      if (p->is_max) {
        LLVMValueRef take =
            LLVMBuildAnd(e->b, ok,
                         LLVMBuildOr(e->b, LLVMBuildNot(e->b, seen, ""),
                                     LLVMBuildFCmp(e->b, LLVMRealOGT, v, best, ""), ""),
                         "");
        best = LLVMBuildSelect(e->b, take, v, best, "");
        seen = LLVMBuildOr(e->b, seen, ok, "");
      } else {
        LLVMValueRef added = LLVMBuildFAdd(e->b, sum, LLVMBuildFPExt(e->b, v, e->f64, ""), "");
        sum = LLVMBuildSelect(e->b, ok, added, sum, "");
        count = LLVMBuildAdd(e->b, count, LLVMBuildZExt(e->b, ok, e->i64, ""), "");
        LLVMValueRef in_pad = LLVMBuildAnd(
            e->b, pad_h, LLVMBuildICmp(e->b, LLVMIntSLT, iw, ci64(e, iw_n + pe_w), ""), "");
        padded = LLVMBuildAdd(e->b, padded, LLVMBuildZExt(e->b, in_pad, e->i64, ""), "");
      }
    }
  }
  LLVMValueRef out = best;
  if (!p->is_max) {
    LLVMValueRef div = p->count_include_pad ? padded : count;
    LLVMValueRef q = LLVMBuildFPTrunc(
        e->b, LLVMBuildFDiv(e->b, sum, LLVMBuildSIToFP(e->b, div, e->f64, ""), ""), e->f32, "");
    out = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, div, ci64(e, 0), ""), q,
                          cf32(e, 0.0f), "");
  }
  LLVMValueRef yo = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, oh, ci64(e, ow_n), ""), ow, "");
  LLVMBuildStore(e->b, out, gep(e, e->f32, yp, yo));
  loop_end(e, &lw, ci64(e, 1));
  loop_end(e, &lh, ci64(e, 1));
  items_end(e, &li);
}

/* Lanes of a global average's partial sums. */
#define GP_LANES 8

/* The sum of x[0, end) (end a multiple of GP_LANES) in double: lane l adds elements l, l + 8,
 * ... in order, then the lanes are added as a fixed tree. A vector loop instead of the
 * reference's one running sum (which a CPU adds one element per add latency): the order is
 * fixed by this code, not by the target or thread count, and in double the result rounds to the
 * reference's float except within a few double ulps of a rounding boundary (1e-5 relative). */
static LLVMValueRef lane_sums(em *e, LLVMValueRef x, int64_t end) {
  LLVMTypeRef vf = LLVMVectorType(e->f32, GP_LANES), vd = LLVMVectorType(e->f64, GP_LANES);
  loop lv;
  LLVMValueRef i = loop_begin(e, ci64(e, 0), ci64(e, end), &lv);
  LLVMBasicBlockRef cur = LLVMGetInsertBlock(e->b);
  LLVMPositionBuilderBefore(e->b, LLVMGetNextInstruction(lv.iv));
  LLVMValueRef acc = LLVMBuildPhi(e->b, vd, "lanes");
  LLVMValueRef zero = LLVMConstNull(vd);
  LLVMAddIncoming(acc, &zero, &lv.pre, 1);
  LLVMPositionBuilderAtEnd(e->b, cur);
  LLVMValueRef v = LLVMBuildLoad2(e->b, vf, gep(e, e->f32, x, i), "");
  LLVMSetAlignment(v, 4);
  LLVMValueRef next = LLVMBuildFAdd(e->b, acc, LLVMBuildFPExt(e->b, v, vd, ""), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
  LLVMAddIncoming(acc, &next, &latch, 1);
  loop_end(e, &lv, ci64(e, GP_LANES));
  LLVMValueRef part[GP_LANES];
  for (int l = 0; l < GP_LANES; l++) part[l] = LLVMBuildExtractElement(e->b, acc, ci32(e, l), "");
  for (int w = GP_LANES / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; l++) part[l] = LLVMBuildFAdd(e->b, part[l], part[l + w], "");
  return part[0];
}

void mt_cl_emit_global_pool(em *e, const mt_cpu_kernel *k) {
  const mt_node *node = mt_module_node_c(e->m, k->node);
  const mt_value *x = mt_module_value_c(e->m, k->args[0]);
  int64_t planes = x->dims[0] * x->dims[1], n = mt_shape_numel(x->rank - 2, x->dims + 2);
  bool is_max = k->call.params.global_pool.is_max;
  LLVMValueRef px = arg_ptr(e, 0), py = arg_ptr(e, node->n_inputs);
  if (planes == 0) return;
  if (n == 0) is_max = false; /* the average's 0 for an empty plane; -FLT_MAX below otherwise */
  loop li, lp, lt;
  const int64_t per = 16;
  LLVMValueRef item = items_begin(e, (planes + per - 1) / per, &li);
  LLVMValueRef p0 = LLVMBuildMul(e->b, item, ci64(e, per), "");
  LLVMValueRef p1 = smin(e, LLVMBuildAdd(e->b, p0, ci64(e, per), ""), ci64(e, planes));
  LLVMValueRef pl = loop_begin(e, p0, p1, &lp);
  LLVMValueRef xp = gep(e, e->f32, px, LLVMBuildMul(e->b, pl, ci64(e, n), ""));
  LLVMValueRef first = n > 0 ? LLVMBuildLoad2(e->b, e->f32, xp, "") : cf32(e, -FLT_MAX);
  LLVMValueRef init = is_max ? first : LLVMConstReal(e->f64, 0.0);
  int64_t vec_end = 0; /* an average's elements [0, vec_end) go through lane sums */
  if (!is_max && n >= 2 * GP_LANES) {
    vec_end = n - n % GP_LANES;
    init = lane_sums(e, xp, vec_end);
  }
  LLVMValueRef i = loop_begin(e, ci64(e, is_max ? 1 : vec_end), ci64(e, n), &lt);
  LLVMBasicBlockRef cur = LLVMGetInsertBlock(e->b);
  LLVMPositionBuilderBefore(e->b, LLVMGetNextInstruction(lt.iv));
  LLVMValueRef acc = LLVMBuildPhi(e->b, is_max ? e->f32 : e->f64, "acc");
  LLVMAddIncoming(acc, &init, &lt.pre, 1);
  LLVMPositionBuilderAtEnd(e->b, cur);
  LLVMValueRef v = LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, xp, i), "");
  LLVMValueRef next =
      is_max ? LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, v, acc, ""), v, acc, "")
             : LLVMBuildFAdd(e->b, acc, LLVMBuildFPExt(e->b, v, e->f64, ""), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
  LLVMAddIncoming(acc, &next, &latch, 1);
  loop_end(e, &lt, ci64(e, 1));
  LLVMValueRef out =
      is_max ? acc
             : (n > 0 ? LLVMBuildFPTrunc(
                            e->b, LLVMBuildFDiv(e->b, acc, LLVMConstReal(e->f64, (double)n), ""),
                            e->f32, "")
                      : cf32(e, 0.0f));
  LLVMBuildStore(e->b, out, gep(e, e->f32, py, pl));
  loop_end(e, &lp, ci64(e, 1));
  items_end(e, &li);
}

#endif
