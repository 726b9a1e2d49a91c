/* Data movement for the CPU backend: Transpose as row copies with the permuted input stride,
 * Concat and Gather as block copies (cpu_llvm.c dispatches here; Reshape-like copies stay in
 * cpu_llvm.c). Moves elements as
 * integers of their size, so every dtype of 1, 2, 4 or 8 bytes is copied bit for bit. Work items
 * are blocks of output rows, fixed by the shape. */
#ifdef MTCC_HAVE_LLVM

#include "codegen/cpu/cpu_llvm.h"

void mt_cl_emit_transpose(em *e, const mt_cpu_kernel *k) {
  const mt_kc_transpose *t = &k->call.params.transpose;
  const mt_node *node = mt_module_node_c(e->m, k->node);
  const mt_value *x = mt_module_value_c(e->m, k->args[0]);
  int r = x->rank;
  int64_t in_stride[MT_MAX_RANK], out_dims[MT_MAX_RANK];
  int64_t st = 1;
  for (int d = r - 1; d >= 0; d--) in_stride[d] = st, st *= x->dims[d];
  for (int d = 0; d < r; d++) out_dims[d] = x->dims[t->perm[d]];
  int64_t inner = r > 0 ? out_dims[r - 1] : 1, rows = 1;
  for (int d = 0; d < r - 1; d++) rows *= out_dims[d];
  if (rows * inner == 0) return;
  int64_t inner_stride = r > 0 ? in_stride[t->perm[r - 1]] : 1;
  LLVMTypeRef et = LLVMIntTypeInContext(e->ctx, (unsigned)(8 * mt_dtype_size(x->dtype)));
  LLVMValueRef px = arg_ptr(e, 0), py = arg_ptr(e, node->n_inputs);
  int64_t per = inner >= 4096 ? 1 : (4096 + inner - 1) / inner;
  loop li, lr, lj;
  LLVMValueRef item = items_begin(e, (rows + per - 1) / per, &li);
  LLVMValueRef r0 = LLVMBuildMul(e->b, item, ci64(e, per), "");
  LLVMValueRef r1 = smin(e, LLVMBuildAdd(e->b, r0, ci64(e, per), ""), ci64(e, rows));
  LLVMValueRef row = loop_begin(e, r0, r1, &lr);
  LLVMValueRef base = ci64(e, 0);
  int64_t after = 1;
  for (int d = r - 2; d >= 0; d--) {
    LLVMValueRef idx =
        LLVMBuildSRem(e->b, LLVMBuildSDiv(e->b, row, ci64(e, after), ""), ci64(e, out_dims[d]), "");
    base =
        LLVMBuildAdd(e->b, base, LLVMBuildMul(e->b, idx, ci64(e, in_stride[t->perm[d]]), ""), "");
    after *= out_dims[d];
  }
  LLVMValueRef ybase = LLVMBuildMul(e->b, row, ci64(e, inner), "");
  LLVMValueRef j = loop_begin(e, ci64(e, 0), ci64(e, inner), &lj);
  LLVMValueRef v = LLVMBuildLoad2(
      e->b, et,
      gep(e, et, px,
          LLVMBuildAdd(e->b, base, LLVMBuildMul(e->b, j, ci64(e, inner_stride), ""), "")),
      "");
  LLVMBuildStore(e->b, v, gep(e, et, py, LLVMBuildAdd(e->b, ybase, j, "")));
  loop_end(e, &lj, ci64(e, 1));
  loop_end(e, &lr, ci64(e, 1));
  items_end(e, &li);
}

/* Concat: per outer index, each input's contiguous block in turn (memmove of bytes). */
void mt_cl_emit_concat(em *e, const mt_cpu_kernel *k) {
  const mt_node *node = mt_module_node_c(e->m, k->node);
  const mt_value *y = mt_module_value_c(e->m, node->outputs[0]);
  int axis = k->call.params.axis.axis;
  int64_t es = (int64_t)mt_dtype_size(y->dtype);
  int64_t outer = mt_shape_numel(axis, y->dims);
  int64_t row = es * mt_shape_numel(y->rank - axis, y->dims + axis); /* bytes per outer index */
  if (outer * row == 0) return;
  LLVMTypeRef i8 = LLVMInt8TypeInContext(e->ctx);
  LLVMValueRef py = arg_ptr(e, node->n_inputs);
  loop li;
  LLVMValueRef o = items_begin(e, outer, &li);
  int64_t at = 0;
  for (int i = 0; i < node->n_inputs; i++) {
    const mt_value *x = mt_module_value_c(e->m, node->inputs[i]);
    int64_t part = es * mt_shape_numel(x->rank - axis, x->dims + axis);
    if (part == 0) continue;
    LLVMValueRef src = gep(e, i8, arg_ptr(e, i), LLVMBuildMul(e->b, o, ci64(e, part), ""));
    LLVMValueRef dst = gep(
        e, i8, py, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, o, ci64(e, row), ""), ci64(e, at), ""));
    LLVMBuildMemMove(e->b, dst, 1, src, 1, ci64(e, part));
    at += part;
  }
  items_end(e, &li);
}

/* Gather: out[o, j, :] = data[o, idx[j], :] (negative indices count from the end). An index out
 * of range, which the reference kernel refuses with an error, gives zeros here: a kernel cannot
 * fail and must not read outside its input. */
void mt_cl_emit_gather(em *e, const mt_cpu_kernel *k) {
  const mt_node *node = mt_module_node_c(e->m, k->node);
  const mt_value *x = mt_module_value_c(e->m, k->args[0]);
  const mt_value *ix = mt_module_value_c(e->m, k->args[1]);
  int axis = k->call.params.axis.axis;
  int64_t es = (int64_t)mt_dtype_size(x->dtype);
  int64_t outer = mt_shape_numel(axis, x->dims), dim = x->dims[axis];
  int64_t inner = es * mt_shape_numel(x->rank - axis - 1, x->dims + axis + 1); /* bytes */
  int64_t n_idx = mt_shape_numel(ix->rank, ix->dims);
  if (outer * n_idx * inner == 0) return;
  bool i64 = ix->dtype == MT_DTYPE_INT64;
  LLVMTypeRef i8 = LLVMInt8TypeInContext(e->ctx), it = i64 ? e->i64 : e->i32;
  LLVMValueRef px = arg_ptr(e, 0), pi = arg_ptr(e, 1), py = arg_ptr(e, node->n_inputs);
  loop li;
  LLVMValueRef item = items_begin(e, outer * n_idx, &li);
  LLVMValueRef o = LLVMBuildSDiv(e->b, item, ci64(e, n_idx), "");
  LLVMValueRef j = LLVMBuildSRem(e->b, item, ci64(e, n_idx), "");
  LLVMValueRef idx = LLVMBuildLoad2(e->b, it, gep(e, it, pi, j), "");
  if (!i64) idx = LLVMBuildSExt(e->b, idx, e->i64, "");
  idx = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, idx, ci64(e, 0), ""),
                        LLVMBuildAdd(e->b, idx, ci64(e, dim), ""), idx, "");
  LLVMValueRef ok = LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, idx, ci64(e, 0), ""),
                                 LLVMBuildICmp(e->b, LLVMIntSLT, idx, ci64(e, dim), ""), "");
  LLVMValueRef dst = gep(e, i8, py, LLVMBuildMul(e->b, item, ci64(e, inner), ""));
  LLVMBasicBlockRef copy = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "copy");
  LLVMBasicBlockRef zero = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "zero");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "done");
  LLVMBuildCondBr(e->b, ok, copy, zero);
  LLVMPositionBuilderAtEnd(e->b, copy);
  LLVMValueRef row = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, o, ci64(e, dim), ""), idx, "");
  LLVMBuildMemMove(e->b, dst, 1, gep(e, i8, px, LLVMBuildMul(e->b, row, ci64(e, inner), "")), 1,
                   ci64(e, inner));
  LLVMBuildBr(e->b, done);
  LLVMPositionBuilderAtEnd(e->b, zero);
  LLVMBuildMemSet(e->b, dst, LLVMConstInt(i8, 0, 0), ci64(e, inner), 1);
  LLVMBuildBr(e->b, done);
  LLVMPositionBuilderAtEnd(e->b, done);
  items_end(e, &li);
}

#endif
