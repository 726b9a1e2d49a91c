/* Fused elementwise chains (cpu_fuse.c decides them): one loop nest over a flat range of the
 * chain's output index space that computes the head (an elementwise op, or a load of the
 * GEMM/conv output the head just wrote) and every step in registers, storing only the values
 * read outside the chain. The operations and their order are the reference nodes' ones, so a
 * chain gives the bits of its unfused kernels; thread splits only change which call computes an
 * element. */
#ifdef MTCC_HAVE_LLVM

#include "codegen/cpu/cpu_llvm.h"

/* The chain's broadcastable operands (the head's and each binary step's other input): their arg
 * and collapsed strides over the output's index space. Full-shape values (the GEMM/conv output,
 * stored results) are indexed by the flat index itself. */
typedef struct chain {
  int n_ops;
  int arg[EW_MAX_OPS];
  int step_op[MT_CPU_MAX_STEPS]; /* each step's operand, or -1 */
  ew_shape s;
  int64_t numel;
} chain;

static bool elementwise_head(const mt_cpu_kernel *k) {
  return k->call.kind == MT_KERNEL_UNARY || k->call.kind == MT_KERNEL_BINARY;
}

static void chain_init(em *e, const mt_cpu_kernel *k, chain *c) {
  const mt_node *n = mt_module_node_c(e->m, k->node);
  const mt_value *out = mt_module_value_c(e->m, n->outputs[0]);
  int ranks[EW_MAX_OPS];
  int64_t dims[EW_MAX_OPS][MT_MAX_RANK];
  c->n_ops = 0;
  if (k->call.kind == MT_KERNEL_UNARY) {
    c->arg[c->n_ops] = 0, ranks[c->n_ops] = out->rank;
    memcpy(dims[c->n_ops++], out->dims, sizeof dims[0]);
  } else if (k->call.kind == MT_KERNEL_BINARY) {
    const mt_kc_binary *bp = &k->call.params.binary;
    c->arg[c->n_ops] = 0, ranks[c->n_ops] = bp->a_rank;
    memcpy(dims[c->n_ops++], bp->a_dims, sizeof dims[0]);
    c->arg[c->n_ops] = 1, ranks[c->n_ops] = bp->b_rank;
    memcpy(dims[c->n_ops++], bp->b_dims, sizeof dims[0]);
  }
  for (int i = 0; i < k->n_steps; i++) {
    const mt_cpu_step *st = &k->steps[i];
    c->step_op[i] = -1;
    if (st->call.kind != MT_KERNEL_BINARY) continue;
    const mt_kc_binary *bp = &st->call.params.binary;
    c->step_op[i] = c->n_ops;
    c->arg[c->n_ops] = st->extra[0];
    ranks[c->n_ops] = st->chain_operand == 0 ? bp->b_rank : bp->a_rank;
    memcpy(dims[c->n_ops++], st->chain_operand == 0 ? bp->b_dims : bp->a_dims, sizeof dims[0]);
  }
  if (c->n_ops == 0) { /* a GEMM/conv with unary steps only: the output's own shape */
    c->arg[0] = -1, ranks[0] = out->rank;
    memcpy(dims[0], out->dims, sizeof dims[0]);
    c->n_ops = 1;
  }
  mt_cl_ew_collapse(out->rank, out->dims, c->n_ops, ranks, (const int64_t(*)[MT_MAX_RANK])dims,
                    &c->s);
  c->numel = mt_shape_numel(out->rank, out->dims);
}

static LLVMValueRef load_at(em *e, LLVMValueRef p, LLVMValueRef idx) {
  return LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, p, idx), "");
}

/* Sets e->clip_lo/hi for a Clip whose bounds are the args lo and hi (-1: none). */
static void clip_bounds(em *e, const mt_kc_unary *u, int lo, int hi) {
  e->clip_lo = e->clip_hi = NULL;
  if (!u->bounds_from_inputs) return;
  if (lo >= 0) e->clip_lo = LLVMBuildLoad2(e->b, e->f32, arg_ptr(e, lo), "lo");
  if (hi >= 0) e->clip_hi = LLVMBuildLoad2(e->b, e->f32, arg_ptr(e, hi), "hi");
}

/* The chain over flat output indices [lo, hi): rows of the collapsed index space it touches,
 * and in each row the columns inside the range. */
static void emit_range(em *e, const mt_cpu_kernel *k, const chain *c, LLVMValueRef lo,
                       LLVMValueRef hi) {
  const mt_node *n = mt_module_node_c(e->m, k->node);
  int64_t inner = c->s.dims[c->s.rank - 1];
  LLVMValueRef ops[EW_MAX_OPS];
  for (int o = 0; o < c->n_ops; o++) ops[o] = c->arg[o] >= 0 ? arg_ptr(e, c->arg[o]) : NULL;
  LLVMValueRef head_out = arg_ptr(e, n->n_inputs);
  LLVMValueRef outs[MT_CPU_MAX_STEPS];
  for (int i = 0; i < k->n_steps; i++) outs[i] = arg_ptr(e, k->steps[i].out_arg);
  /* Clip bounds given as inputs: loaded once here, not per element (stores to the outputs
   * could alias them as far as LLVM knows, which would keep the loads in the loop) */
  LLVMValueRef clip[MT_CPU_MAX_STEPS + 1][2];
  e->clip_lo = e->clip_hi = NULL;
  if (k->call.kind == MT_KERNEL_UNARY)
    clip_bounds(e, &k->call.params.unary, n->n_inputs > 1 ? 1 : -1, n->n_inputs > 2 ? 2 : -1);
  clip[0][0] = e->clip_lo, clip[0][1] = e->clip_hi;
  for (int i = 0; i < k->n_steps; i++) {
    const mt_cpu_step *st = &k->steps[i];
    e->clip_lo = e->clip_hi = NULL;
    if (st->call.kind == MT_KERNEL_UNARY)
      clip_bounds(e, &st->call.params.unary, st->extra[0], st->extra[1]);
    clip[i + 1][0] = e->clip_lo, clip[i + 1][1] = e->clip_hi;
  }
  LLVMValueRef r0 = LLVMBuildSDiv(e->b, lo, ci64(e, inner), "");
  LLVMValueRef r1 =
      LLVMBuildSDiv(e->b, LLVMBuildAdd(e->b, hi, ci64(e, inner - 1), ""), ci64(e, inner), "");
  loop lr, lc;
  LLVMValueRef r = loop_begin(e, r0, r1, &lr);
  LLVMValueRef base[EW_MAX_OPS];
  for (int o = 0; o < c->n_ops; o++) base[o] = ci64(e, 0);
  int64_t after = 1;
  for (int d = c->s.rank - 2; d >= 0; d--) {
    LLVMValueRef idx =
        LLVMBuildSRem(e->b, LLVMBuildSDiv(e->b, r, ci64(e, after), ""), ci64(e, c->s.dims[d]), "");
    for (int o = 0; o < c->n_ops; o++)
      if (c->s.strides[o][d])
        base[o] = LLVMBuildAdd(e->b, base[o],
                               LLVMBuildMul(e->b, idx, ci64(e, c->s.strides[o][d]), ""), "");
    after *= c->s.dims[d];
  }
  LLVMValueRef row = LLVMBuildMul(e->b, r, ci64(e, inner), "");
  LLVMValueRef j0 = smax(e, LLVMBuildSub(e->b, lo, row, ""), ci64(e, 0));
  LLVMValueRef j1 = smin(e, LLVMBuildSub(e->b, hi, row, ""), ci64(e, inner));
  LLVMValueRef j = loop_begin(e, j0, j1, &lc);
  LLVMValueRef flat = LLVMBuildAdd(e->b, row, j, "");
  LLVMValueRef v[EW_MAX_OPS];
  for (int o = 0; o < c->n_ops; o++) {
    if (!ops[o]) continue;
    bool strided = c->s.strides[o][c->s.rank - 1] != 0;
    v[o] = load_at(e, ops[o], strided ? LLVMBuildAdd(e->b, base[o], j, "") : base[o]);
  }
  LLVMValueRef cur;
  if (k->call.kind == MT_KERNEL_UNARY) {
    e->clip_lo = clip[0][0], e->clip_hi = clip[0][1];
    cur = mt_cl_unary_op(e, &k->call.params.unary, v[0]);
  } else if (k->call.kind == MT_KERNEL_BINARY) {
    cur = mt_cl_binary_op(e, k->call.params.binary.op, v[0], v[1]);
  } else {
    cur = load_at(e, head_out, flat); /* the GEMM/conv result of this tile */
    if (e->head_bias) {               /* the conv's bias, not added by its GEMM (cpu_conv.c) */
      cur = LLVMBuildFAdd(e->b, cur, e->head_bias, "");
      LLVMBuildStore(e->b, cur, gep(e, e->f32, head_out, flat));
    }
  }
  if (elementwise_head(k) && k->head_stored)
    LLVMBuildStore(e->b, cur, gep(e, e->f32, head_out, flat));
  for (int i = 0; i < k->n_steps; i++) {
    const mt_cpu_step *st = &k->steps[i];
    if (st->call.kind == MT_KERNEL_UNARY) {
      e->clip_lo = clip[i + 1][0], e->clip_hi = clip[i + 1][1];
      cur = mt_cl_unary_op(e, &st->call.params.unary, cur);
    } else {
      LLVMValueRef other = v[c->step_op[i]];
      cur = st->chain_operand == 0 ? mt_cl_binary_op(e, st->call.params.binary.op, cur, other)
                                   : mt_cl_binary_op(e, st->call.params.binary.op, other, cur);
    }
    if (st->stored) LLVMBuildStore(e->b, cur, gep(e, e->f32, outs[i], flat));
  }
  loop_end(e, &lc, ci64(e, 1));
  loop_end(e, &lr, ci64(e, 1));
}

void mt_cl_emit_chain(em *e, const mt_cpu_kernel *k) {
  chain c;
  chain_init(e, k, &c);
  if (c.numel == 0) return;
  int64_t n_items = (c.numel + EW_ITEM_ELEMS - 1) / EW_ITEM_ELEMS;
  loop li;
  LLVMValueRef item = items_begin(e, n_items, &li);
  LLVMValueRef lo = LLVMBuildMul(e->b, item, ci64(e, EW_ITEM_ELEMS), "");
  LLVMValueRef hi = smin(e, LLVMBuildAdd(e->b, lo, ci64(e, EW_ITEM_ELEMS), ""), ci64(e, c.numel));
  emit_range(e, k, &c, lo, hi);
  items_end(e, &li);
}

void mt_cl_emit_epilogue(em *e, const mt_cpu_kernel *k, LLVMValueRef lo, LLVMValueRef hi) {
  if (k->n_steps == 0) return;
  chain c;
  chain_init(e, k, &c);
  emit_range(e, k, &c, lo, hi);
}

#endif
