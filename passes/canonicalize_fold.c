/* Canonicalize rules that refold arithmetic into new weights:
 *  - BatchNormalization after a Conv or Gemm whose output nothing else reads: with
 *    s = gamma / sqrt(var + eps) per output channel, w' = w * s and b' = (b - mean) * s + beta.
 *    Computed in double and stored as float32, so results move by rounding only (within 1e-5
 *    relative of the unfolded graph). A BN after anything else, or after a conv/gemm with other
 *    readers (they need the un-normalised values), stays a node.
 *  - Add(MatMul(A[M,K], W[K,N]), bias[N]) with W and bias constants -> Gemm(A, W, bias).
 *    N-d MatMuls (BERT's [B,S,H] x [H,H]) are kept with their Add: Gemm is 2-D only, so the
 *    rewrite would need Reshapes around it, and vertical fusion already turns the bias Add into the
 *    batched GEMM's epilogue. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/canonicalize_internal.h"

static bool is_f32_const(const mt_canon *c, mt_value_id v, mt_tensor *t) {
  return mt_canon_constant(c, v, t) && t->dtype == MT_DTYPE_FLOAT32;
}

/* The per-channel scale s and shift (beta - mean * s) of a foldable BN over `channels`. */
static bool bn_affine(const mt_canon *c, const mt_node *bn, int64_t channels, double *scale,
                      double *shift) {
  mt_tensor p[4];
  for (int i = 0; i < 4; i++)
    if (!is_f32_const(c, bn->inputs[1 + i], &p[i]) || mt_tensor_numel(&p[i]) != channels ||
        p[i].rank != 1)
      return false;
  const float *gamma = p[0].data, *beta = p[1].data, *mean = p[2].data, *var = p[3].data;
  double eps = (double)mt_node_attr_float(bn, "epsilon", 1e-5f);
  for (int64_t k = 0; k < channels; k++) {
    double den = (double)var[k] + eps;
    if (!(den > 0.0)) return false; /* leave degenerate statistics to the executor */
    scale[k] = (double)gamma[k] / sqrt(den);
    shift[k] = (double)beta[k] - (double)mean[k] * scale[k];
  }
  return true;
}

/* Conv(X, W, B) -> Conv(X, W * s, B * s + shift). */
MT_MUST_USE static mt_status *fold_into_conv(mt_canon *c, int32_t conv, int64_t channels,
                                             const double *scale, const double *shift, bool *ok) {
  const mt_node *n = mt_module_node_c(c->m, conv);
  mt_tensor w, b;
  *ok = false;
  if (n->n_inputs < 2 || !is_f32_const(c, n->inputs[1], &w) || w.rank < 3 || w.dims[0] != channels)
    return NULL;
  bool has_bias = n->n_inputs > 2 && n->inputs[2] != MT_NO_VALUE;
  if (has_bias && (!is_f32_const(c, n->inputs[2], &b) || mt_tensor_numel(&b) != channels))
    return NULL;
  int64_t total = mt_tensor_numel(&w), per = channels ? total / channels : 0;
  float *nw = malloc(sizeof *nw * (size_t)(total ? total : 1));
  float *nb = malloc(sizeof *nb * (size_t)(channels ? channels : 1));
  if (!nw || !nb) {
    free(nw);
    free(nb);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory folding a BatchNormalization");
  }
  const float *wd = w.data;
  for (int64_t k = 0; k < channels; k++) {
    for (int64_t j = 0; j < per; j++) nw[k * per + j] = (float)((double)wd[k * per + j] * scale[k]);
    double b0 = has_bias ? (double)((const float *)b.data)[k] : 0.0;
    nb[k] = (float)(b0 * scale[k] + shift[k]);
  }
  mt_value_id vw, vb;
  mt_status *st = mt_canon_add_f32(c, conv, "/bn_folded_W", w.rank, w.dims, nw, &vw);
  if (!st) st = mt_canon_add_f32(c, conv, "/bn_folded_B", 1, &channels, nb, &vb);
  free(nw);
  free(nb);
  MT_RETURN_IF_ERROR_PLAIN(st);
  MT_RETURN_IF_ERROR_PLAIN(mt_canon_resize_inputs(c, conv, 3));
  mt_node *wn = mt_module_node(c->m, conv);
  wn->inputs[1] = vw;
  wn->inputs[2] = vb;
  *ok = true;
  return NULL;
}

/* Gemm(A, B, C; alpha, beta) over [M, N] -> Gemm(A, B * s (per column n), beta * C * s + shift;
 * alpha, beta = 1). C may be absent, a scalar, or one row of N values. */
MT_MUST_USE static mt_status *fold_into_gemm(mt_canon *c, int32_t gemm, int64_t channels,
                                             const double *scale, const double *shift, bool *ok) {
  const mt_node *n = mt_module_node_c(c->m, gemm);
  mt_tensor w, bias;
  *ok = false;
  if (n->n_inputs < 2 || !is_f32_const(c, n->inputs[1], &w) || w.rank != 2) return NULL;
  bool trans_b = mt_node_attr_int(n, "transB", 0) != 0;
  int64_t cols = trans_b ? w.dims[0] : w.dims[1], k_dim = trans_b ? w.dims[1] : w.dims[0];
  if (cols != channels) return NULL;
  bool has_c = n->n_inputs > 2 && n->inputs[2] != MT_NO_VALUE;
  int64_t c_count = 0;
  if (has_c) {
    if (!is_f32_const(c, n->inputs[2], &bias)) return NULL;
    c_count = mt_tensor_numel(&bias);
    bool row = c_count == channels && (bias.rank == 1 || (bias.rank == 2 && bias.dims[0] == 1));
    if (c_count != 1 && !row) return NULL; /* C varies along M: cannot become one bias row */
  }
  double beta = (double)mt_node_attr_float(n, "beta", 1.0f);
  int64_t w_count = k_dim * cols;
  float *nw = malloc(sizeof *nw * (size_t)(w_count > 0 ? w_count : 1));
  float *nc = malloc(sizeof *nc * (size_t)(channels ? channels : 1));
  if (!nw || !nc) {
    free(nw);
    free(nc);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory folding a BatchNormalization");
  }
  const float *wd = w.data;
  for (int64_t r = 0; r < w.dims[0]; r++)
    for (int64_t q = 0; q < w.dims[1]; q++) {
      int64_t col = trans_b ? r : q;
      nw[r * w.dims[1] + q] = (float)((double)wd[r * w.dims[1] + q] * scale[col]);
    }
  for (int64_t k = 0; k < channels; k++) {
    double c0 = 0.0;
    if (has_c) c0 = (double)((const float *)bias.data)[c_count == 1 ? 0 : k];
    nc[k] = (float)(beta * c0 * scale[k] + shift[k]);
  }
  mt_value_id vw, vc;
  mt_status *st = mt_canon_add_f32(c, gemm, "/bn_folded_B", 2, w.dims, nw, &vw);
  if (!st) st = mt_canon_add_f32(c, gemm, "/bn_folded_C", 1, &channels, nc, &vc);
  free(nw);
  free(nc);
  MT_RETURN_IF_ERROR_PLAIN(st);
  mt_attr one = {.name = "beta", .type = MT_ATTR_FLOAT, .f = 1.0f};
  MT_RETURN_IF_ERROR_PLAIN(mt_canon_set_attr(c, gemm, &one));
  MT_RETURN_IF_ERROR_PLAIN(mt_canon_resize_inputs(c, gemm, 3));
  mt_node *wn = mt_module_node(c->m, gemm);
  wn->inputs[1] = vw;
  wn->inputs[2] = vc;
  *ok = true;
  return NULL;
}

mt_status *mt_canon_fold_batchnorm(mt_canon *c, int32_t id, bool *changed) {
  const mt_node *bn = mt_module_node_c(c->m, id);
  if (bn->n_inputs != 5 || bn->n_outputs < 1 || bn->outputs[0] == MT_NO_VALUE) return NULL;
  if (bn->opset >= 14 && mt_node_attr_int(bn, "training_mode", 0) != 0) return NULL;
  if (bn->opset < 9 && mt_node_attr_int(bn, "spatial", 1) == 0) return NULL;
  for (int i = 1; i < bn->n_outputs; i++) /* running statistics: training, never folded */
    if (bn->outputs[i] != MT_NO_VALUE) return NULL;
  mt_value_id y = bn->inputs[0], z = bn->outputs[0];
  int32_t prod = mt_canon_producer(c, y, NULL);
  if (prod < 0) return NULL;
  const mt_node *p = mt_module_node_c(c->m, prod);
  bool is_conv = strcmp(p->op_type, "Conv") == 0, is_gemm = strcmp(p->op_type, "Gemm") == 0;
  if ((!is_conv && !is_gemm) || p->n_outputs != 1 || p->outputs[0] != y) return NULL;
  /* The conv/gemm's own result must not be needed by anyone else. */
  if (mt_use_is_graph_output(&c->uses, y) || !mt_use_only_reader(&c->uses, y, id)) return NULL;
  const mt_value *yv = mt_module_value_c(c->m, y);
  if (yv->dtype != MT_DTYPE_FLOAT32 || yv->rank < 2 || (is_gemm && yv->rank != 2)) return NULL;
  int64_t channels = yv->dims[1];
  if (channels <= 0) return NULL;
  double *scale = malloc(sizeof *scale * (size_t)channels * 2);
  if (!scale) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  double *shift = scale + channels;
  bool ok = bn_affine(c, bn, channels, scale, shift);
  mt_status *st = NULL;
  if (ok) {
    st = is_conv ? fold_into_conv(c, prod, channels, scale, shift, &ok)
                 : fold_into_gemm(c, prod, channels, scale, shift, &ok);
  }
  free(scale);
  if (st || !ok) return st;
  /* The conv/gemm now produces the BN's output value directly (readers and names unchanged). */
  MT_RETURN_IF_ERROR_PLAIN(mt_canon_remove_node(c, id));
  mt_module_node(c->m, prod)->outputs[0] = z;
  mt_module_value(c->m, z)->producer = prod;
  mt_module_value(c->m, y)->producer = -1;
  *changed = true;
  return NULL;
}

mt_status *mt_canon_matmul_add_to_gemm(mt_canon *c, int32_t id, bool *changed) {
  const mt_node *add = mt_module_node_c(c->m, id);
  if (add->n_inputs != 2 || add->n_outputs != 1 || add->outputs[0] == MT_NO_VALUE) return NULL;
  for (int side = 0; side < 2; side++) {
    mt_value_id mv = add->inputs[side], bv = add->inputs[1 - side];
    int32_t mm = mt_canon_producer(c, mv, "MatMul");
    mt_tensor bias, w;
    if (mm < 0 || !mt_canon_constant(c, bv, &bias)) continue;
    const mt_node *mn = mt_module_node_c(c->m, mm);
    if (mn->n_inputs != 2 || mn->n_outputs != 1 || !mt_canon_constant(c, mn->inputs[1], &w))
      continue;
    if (mt_use_is_graph_output(&c->uses, mv) || !mt_use_only_reader(&c->uses, mv, id)) continue;
    const mt_value *a = mt_module_value_c(c->m, mn->inputs[0]);
    const mt_value *mo = mt_module_value_c(c->m, mv),
                   *zo = mt_module_value_c(c->m, add->outputs[0]);
    if (a->rank != 2 || w.rank != 2 || mo->rank != 2) continue; /* N-d: kept (see top) */
    if (!mt_dtype_is_float(a->dtype) || w.dtype != a->dtype || bias.dtype != a->dtype) continue;
    int64_t n_cols = w.dims[1];
    bool row = (bias.rank == 1 && bias.dims[0] == n_cols) ||
               (bias.rank == 2 && bias.dims[0] == 1 && bias.dims[1] == n_cols);
    if (!row || zo->rank != 2 || zo->dims[0] != mo->dims[0] || zo->dims[1] != mo->dims[1]) continue;
    mt_value_id ins[3] = {mn->inputs[0], mn->inputs[1], bv};
    mt_value_id outs[1] = {add->outputs[0]};
    char name[512];
    snprintf(name, sizeof name, "%s+bias", mn->name);
    int32_t gemm;
    mt_graph *g = add->graph;
    MT_RETURN_IF_ERROR_PLAIN(
        mt_module_add_node(c->m, g, name, "Gemm", "", 3, ins, 1, outs, 0, NULL, &gemm));
    mt_graph_move_node_before(g, gemm, id);
    uint8_t *remove = calloc((size_t)mt_module_node_count(c->m) + 1, 1);
    if (!remove) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    remove[id] = remove[mm] = 1;
    mt_graph_remove_nodes(c->m, g, remove);
    free(remove);
    mt_module_value(c->m, outs[0])->producer = gemm; /* add_node set it; removal kept it */
    *changed = true;
    return NULL;
  }
  return NULL;
}
