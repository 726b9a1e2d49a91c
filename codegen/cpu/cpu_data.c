/* Data movement for the CPU backend: Transpose as row copies with the permuted input stride
 * (cpu_llvm.c dispatches here; Reshape-like copies stay in cpu_llvm.c). Moves elements as
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

#endif
