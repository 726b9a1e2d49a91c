/* Pass: fold QDQ patterns into integer ops. A model quantized in ONNX Runtime's QDQ format
 * (quantize_static, QuantFormat.QDQ) computes every Conv / MatMul / Gemm in float between a
 * DequantizeLinear of each operand and a QuantizeLinear of the result:
 *
 *   DQ(xq, xs, xzp) -> X;  DQ(wq, ws, wzp) -> W;  [DQ(bq int32, xs*ws, 0) -> B]
 *   Conv(X, W, B) [-> Relu] -> QuantizeLinear(ys, yzp) -> yq
 *
 * This pass rewrites such a chain into QLinearConv(xq, xs, xzp, wq, ws, wzp, ys, yzp, bq) or
 * QLinearMatMul, so the math stays int8 with int32 accumulation and one requantize epilogue
 * (runtime/cpu/kernel_call_quant.c; codegen/cuda_quant.c on the GPU), as ONNX Runtime's own QDQ
 * transformer does. The result is the integer op's, not the float chain's: values can differ by
 * one quantization step where the float chain rounds differently (the models test allows that).
 *
 * Legality: X per-tensor int8/uint8; W int8/uint8 per-tensor or per output channel (axis 0 for
 * Conv, the last axis for a 2-D MatMul weight); the bias (Conv only) a DequantizeLinear of int32
 * whose scale equals float(xs * ws) per channel with zero point 0; y per-tensor; a Relu in
 * between only when y's zero point is its type's minimum (saturation then implies the Relu).
 * Intermediate float values must have no other reader. Every Conv / MatMul / Gemm that reads a
 * DequantizeLinear and is not folded is reported with the reason (compile report,
 * rejected_fusions, pass "fold-qdq"); every fold is reported under "rewrites". The now unread
 * DequantizeLinear nodes are left to dce. Runs before fold-constants, which would otherwise
 * evaluate the weights' DequantizeLinear into float constants. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/canonicalize_internal.h"

#define PASS_NAME "fold-qdq"

typedef struct qdq_match {
  int32_t q, relu, op, dqx, dqw, dqb;
  bool conv;
  char how[256];
} qdq_match;

static bool is_q8(mt_dtype dt) { return dt == MT_DTYPE_INT8 || dt == MT_DTYPE_UINT8; }

static const mt_value *val(const mt_canon *c, mt_value_id v) {
  return v == MT_NO_VALUE ? NULL : mt_module_value_c(c->m, v);
}

static int64_t val_numel(const mt_value *v) {
  return v && v->rank >= 0 ? mt_shape_numel(v->rank, v->dims) : -1;
}

static mt_value_id input(const mt_node *n, int i) {
  return i < n->n_inputs ? n->inputs[i] : MT_NO_VALUE;
}

/* The single reader of v is `node` and v is no graph output. */
static bool only_reader(const mt_canon *c, mt_value_id v, int32_t node) {
  return !mt_use_is_graph_output(&c->uses, v) && mt_use_only_reader(&c->uses, v, node);
}

/* A DequantizeLinear per-tensor over int8/uint8 (activations). */
static const char *per_tensor_dq(const mt_canon *c, const mt_node *dq) {
  const mt_value *x = val(c, input(dq, 0)), *s = val(c, input(dq, 1)), *z = val(c, input(dq, 2));
  if (!x || !is_q8(x->dtype)) return "its input is not int8/uint8";
  if (val_numel(s) != 1 || (z && val_numel(z) != 1)) return "it is not per-tensor";
  if (mt_node_attr_int(dq, "block_size", 0) != 0) return "it is blocked";
  return NULL;
}

/* The weight's DequantizeLinear: per-tensor or per-channel along `axis` of the weight. */
static const char *weight_dq(const mt_canon *c, const mt_node *dq, int axis, int64_t channels) {
  const mt_value *w = val(c, input(dq, 0)), *s = val(c, input(dq, 1)), *z = val(c, input(dq, 2));
  if (!w || !is_q8(w->dtype)) return "the weight is not int8/uint8";
  if (mt_node_attr_int(dq, "block_size", 0) != 0) return "the weight is blocked";
  if (val_numel(s) == 1 && (!z || val_numel(z) == 1)) return NULL;
  int a = (int)mt_node_attr_int(dq, "axis", 1);
  if (a < 0) a += w->rank;
  if (a != axis || s->rank != 1 || s->dims[0] != channels || (z && val_numel(z) != channels))
    return "the weight is quantized along another axis than the output channels";
  return NULL;
}

/* The float value of a 1-value or per-index constant, NAN when not a constant. */
static double const_at(const mt_canon *c, mt_value_id v, int64_t i) {
  mt_tensor t;
  if (!mt_canon_constant(c, v, &t)) return NAN;
  return mt_tensor_get_f64(&t, mt_tensor_numel(&t) == 1 ? 0 : i);
}

/* The Conv bias: DQ(int32, scale == float(xs * ws[c]), zero point 0). */
static const char *bias_dq(const mt_canon *c, const qdq_match *mm, int64_t channels) {
  const mt_node *dqb = mt_module_node_c(c->m, mm->dqb);
  const mt_node *dqx = mt_module_node_c(c->m, mm->dqx), *dqw = mt_module_node_c(c->m, mm->dqw);
  const mt_value *b = val(c, input(dqb, 0)), *z = val(c, input(dqb, 2));
  if (!b || b->dtype != MT_DTYPE_INT32) return "the bias is not a DequantizeLinear of int32";
  for (int64_t k = 0; k < channels; k++) {
    if (z && const_at(c, input(dqb, 2), k) != 0) return "the bias zero point is not 0";
    float want = (float)const_at(c, input(dqx, 1), 0) * (float)const_at(c, input(dqw, 1), k);
    if ((float)const_at(c, input(dqb, 1), k) != want)
      return "the bias scale is not x_scale * w_scale (or not a constant)";
  }
  return NULL;
}

/* Matches the chain ending at QuantizeLinear q; *why says why a Conv/MatMul/Gemm chain does not
 * fold (NULL with m->op < 0: no such chain at all). */
static const char *match(const mt_canon *c, int32_t q, qdq_match *mm) {
  memset(mm, 0, sizeof *mm);
  mm->q = q;
  mm->relu = mm->dqb = -1;
  const mt_node *qn = mt_module_node_c(c->m, q);
  mt_value_id v = input(qn, 0);
  int32_t p = mt_canon_producer(c, v, NULL);
  if (p >= 0 && strcmp(mt_module_node_c(c->m, p)->op_type, "Relu") == 0) {
    if (!only_reader(c, v, q)) return NULL;
    mm->relu = p;
    v = input(mt_module_node_c(c->m, p), 0);
    p = mt_canon_producer(c, v, NULL);
  }
  mm->op = p;
  if (p < 0) return NULL;
  const mt_node *op = mt_module_node_c(c->m, p);
  bool conv = strcmp(op->op_type, "Conv") == 0, mat = strcmp(op->op_type, "MatMul") == 0;
  bool gemm = strcmp(op->op_type, "Gemm") == 0;
  if (!conv && !mat && !gemm) {
    mm->op = -1;
    return NULL;
  }
  mm->conv = conv;
  mm->dqx = mt_canon_producer(c, input(op, 0), "DequantizeLinear");
  mm->dqw = mt_canon_producer(c, input(op, 1), "DequantizeLinear");
  if (mm->dqx < 0 && mm->dqw < 0) {
    mm->op = -1; /* a float op: nothing to report */
    return NULL;
  }
  if (!only_reader(c, v, mm->relu >= 0 ? mm->relu : q))
    return "its float output has other readers than the QuantizeLinear";
  if (mm->dqx < 0) return "input 0 is not a DequantizeLinear output";
  if (mm->dqw < 0) return "the weight is not a DequantizeLinear output";
  if (gemm) { /* QLinearMatMul: A [M, K] x B [K, N], nothing else */
    if (mt_node_attr_int(op, "transA", 0) || mt_node_attr_int(op, "transB", 0))
      return "Gemm with transA/transB (QLinearMatMul takes the weight as [K, N])";
    if (input(op, 2) != MT_NO_VALUE) return "Gemm with a bias (QLinearMatMul has no bias input)";
    if (mt_node_attr_float(op, "alpha", 1.0f) != 1.0f) return "Gemm with alpha != 1";
  }
  const char *why = per_tensor_dq(c, mt_module_node_c(c->m, mm->dqx));
  if (why) return why;
  const mt_value *w = val(c, input(op, 1)), *y = val(c, qn->outputs[0]);
  const mt_value *yzp = val(c, input(qn, 2)),
                 *xq = val(c, input(mt_module_node_c(c->m, mm->dqx), 0));
  if (!w || w->rank < 2) return "the weight has rank < 2";
  int64_t channels = conv ? w->dims[0] : w->dims[w->rank - 1];
  why = weight_dq(c, mt_module_node_c(c->m, mm->dqw), conv ? 0 : w->rank - 1, channels);
  if (why) return why;
  if (!y || !is_q8(y->dtype)) return "the QuantizeLinear output is not int8/uint8";
  if (val_numel(val(c, input(qn, 1))) != 1 || (yzp && val_numel(yzp) != 1) ||
      mt_node_attr_int(qn, "block_size", 0) != 0)
    return "the QuantizeLinear is not per-tensor";
  if (!yzp && y->dtype != xq->dtype)
    return "the QuantizeLinear has no zero point and another type than the input";
  if (mm->relu >= 0) {
    double z = yzp ? const_at(c, input(qn, 2), 0) : 0;
    if (z != (y->dtype == MT_DTYPE_INT8 ? -128 : 0))
      return "a Relu before a QuantizeLinear whose zero point is not its type's minimum";
  }
  if (mat && w->rank != 2) return "MatMul with a weight of rank other than 2";
  if (conv && input(op, 2) != MT_NO_VALUE) {
    mm->dqb = mt_canon_producer(c, input(op, 2), "DequantizeLinear");
    if (mm->dqb < 0) return "the bias is not a DequantizeLinear output";
    why = bias_dq(c, mm, channels);
    if (why) return why;
  }
  const mt_value *wq = val(c, input(mt_module_node_c(c->m, mm->dqw), 0));
  snprintf(mm->how, sizeof mm->how, "%s: x %s per-tensor, w %s %s, y %s%s%s",
           conv ? "QLinearConv" : "QLinearMatMul", mt_dtype_name(xq->dtype),
           mt_dtype_name(wq->dtype),
           val_numel(val(c, input(mt_module_node_c(c->m, mm->dqw), 1))) == 1 ? "per-tensor"
                                                                             : "per-channel",
           mt_dtype_name(y->dtype), mm->dqb >= 0 ? ", int32 bias" : "",
           mm->relu >= 0 ? ", Relu absorbed by saturation" : "");
  return NULL;
}

MT_MUST_USE static mt_status *rewrite(mt_canon *c, const qdq_match *mm) {
  const mt_node *qn = mt_module_node_c(c->m, mm->q), *op = mt_module_node_c(c->m, mm->op);
  const mt_node *dqx = mt_module_node_c(c->m, mm->dqx), *dqw = mt_module_node_c(c->m, mm->dqw);
  mt_value_id ins[9] = {input(dqx, 0),
                        input(dqx, 1),
                        input(dqx, 2),
                        input(dqw, 0),
                        input(dqw, 1),
                        input(dqw, 2),
                        input(qn, 1),
                        input(qn, 2),
                        mm->dqb >= 0 ? input(mt_module_node_c(c->m, mm->dqb), 0) : MT_NO_VALUE};
  mt_value_id outs[1] = {qn->outputs[0]};
  char name[512];
  snprintf(name, sizeof name, "%s/qlinear", op->name);
  mt_graph *g = qn->graph;
  int32_t id;
  MT_RETURN_IF_ERROR_PLAIN(
      mt_module_add_node(c->m, g, name, mm->conv ? "QLinearConv" : "QLinearMatMul", "",
                         mm->conv ? (mm->dqb >= 0 ? 9 : 8) : 8, ins, 1, outs,
                         mm->conv ? op->n_attrs : 0, mm->conv ? op->attrs : NULL, &id));
  mt_graph_move_node_before(g, id, mm->q);
  uint8_t *remove = calloc((size_t)mt_module_node_count(c->m) + 1, 1);
  if (!remove) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  remove[mm->q] = remove[mm->op] = 1;
  if (mm->relu >= 0) remove[mm->relu] = 1;
  mt_graph_remove_nodes(c->m, g, remove);
  free(remove);
  mt_module_value(c->m, outs[0])->producer = id; /* add_node set it; removal kept it */
  return NULL;
}

mt_status *mt_pass_fold_qdq(mt_pass_ctx *ctx) {
  mt_canon c = {.m = ctx->module};
  MT_RETURN_IF_ERROR_PLAIN(mt_use_index_build(c.m, &c.uses));
  mt_status *st = NULL;
  for (int32_t t = 0; t < mt_module_tenant_count(c.m) && !st; t++) {
    mt_graph *g = mt_module_tenant(c.m, t)->graph;
    /* the QuantizeLinear nodes first: rewrites edit the node list, each is looked at once */
    int32_t *qs = malloc(((size_t)g->n_nodes + 1) * sizeof *qs);
    if (!qs) {
      st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      break;
    }
    int nq = 0;
    for (int k = 0; k < g->n_nodes; k++) {
      const mt_node *n = mt_module_node_c(c.m, g->nodes[k]);
      if (!*n->domain && strcmp(n->op_type, "QuantizeLinear") == 0) qs[nq++] = g->nodes[k];
    }
    for (int k = 0; k < nq && !st; k++) {
      const mt_node *n = mt_module_node_c(c.m, qs[k]);
      if (!mt_node_is_live(n)) continue;
      qdq_match mm;
      const char *why = match(&c, qs[k], &mm);
      if (mm.op < 0) continue;
      char what[512]; /* mt_node_label's buffer is static: one call per line */
      snprintf(what, sizeof what, "%s -> QuantizeLinear '%s'",
               mt_node_label(c.m, mt_module_node_c(c.m, mm.op)), n->name);
      if (why) {
        st = mt_pass_note_add(ctx, PASS_NAME, false, what, why);
        continue;
      }
      st = rewrite(&c, &mm);
      if (!st) st = mt_pass_note_add(ctx, PASS_NAME, true, what, mm.how);
      mt_use_index_free(&c.uses);
      if (!st) st = mt_use_index_build(c.m, &c.uses);
    }
    free(qs);
  }
  mt_use_index_free(&c.uses);
  return st;
}
