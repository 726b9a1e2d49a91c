/* Generators for the attention family's own kernels (MT_GROUP_OTHER), with
 * runtime/cpu/kernel_call_attention.c's arithmetic step by step, in double:
 *   - RotaryEmbedding: one thread per output element; out-of-range position ids, an error on the
 *     CPU, are clamped (a kernel cannot return a status), as the Gather generator does.
 *   - Attention: one thread per (batch, head, query row) in a grid-stride loop. The thread walks
 *     the keys three times (row maximum, sum of exponentials, then the weights times V),
 *     recomputing each score with the same expression, so scores, softmax and the weighted sum
 *     come out as the CPU's (same order, NVRTC's --fmad=false). The V accumulators live in a
 *     per-thread array, so the value head size is capped (MAX_HEAD_V). present_key/present_value
 *     are copied by a grid-stride loop over their elements in the same kernel.
 * Simple and exact rather than fast: a tiled (flash) kernel is the faster home for long
 * sequences. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

#define LOOP                                                                                       \
  "for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL; i += "         \
  "(long long)gridDim.x * blockDim.x) {"

#define MAX_HEAD_V 256
#define NEG_INF "(double)__int_as_float(0xff800000)"

typedef struct operand {
  char name[MT_CG_NAME];
  bool present;
  mt_dtype dtype;
} operand;

/* Parameter name and dtype of node input (out false) or output (out true) i; present false when
 * it is omitted or nobody reads it. */
MT_MUST_USE static mt_status *operand_of(const cg_body *b, const mt_node *n, bool out, int i,
                                         operand *o) {
  memset(o, 0, sizeof *o);
  int count = out ? n->n_outputs : n->n_inputs;
  if (i >= count) return NULL;
  mt_value_id v = out ? n->outputs[i] : n->inputs[i];
  if (v == MT_NO_VALUE) return NULL;
  int k = out ? mt_cg_output_index(b->fg, v) : mt_cg_input_index(b->fg, v);
  if (k < 0) {
    if (out) return NULL;
    return MT_ERR(INTERNAL, "input %d is not a parameter of its kernel", i);
  }
  snprintf(o->name, sizeof o->name, "b%d_%s%d", b->index, out ? "out" : "in", k);
  o->present = true;
  o->dtype = mt_module_value_c(b->m, v)->dtype;
  return NULL;
}

/* `(double)x[at]` for a float operand. */
static void dload(const operand *x, const char *at, char *out, size_t n) {
  mt_cg_load_f64(x->dtype, x->name, at, out, n);
}

/* ---------------------------------------------------------------- RotaryEmbedding */

MT_MUST_USE static mt_status *rotary(cg_body *b, const mt_node *n, const mt_kc_rotary *p,
                                     int64_t *out_work) {
  operand x, cs, sn, pos, y;
  MT_RETURN_IF_ERROR_PLAIN(operand_of(b, n, false, 0, &x));
  MT_RETURN_IF_ERROR_PLAIN(operand_of(b, n, false, 1, &cs));
  MT_RETURN_IF_ERROR_PLAIN(operand_of(b, n, false, 2, &sn));
  MT_RETURN_IF_ERROR_PLAIN(operand_of(b, n, false, 3, &pos));
  MT_RETURN_IF_ERROR_PLAIN(operand_of(b, n, true, 0, &y));
  if (!y.present) return MT_ERR(UNIMPLEMENTED, "RotaryEmbedding without a used output");
  int64_t half = p->rot_dim / 2, total = p->batch * p->heads * p->seq * p->head_size;
  *out_work = total;
  char xa[96], xb[96], xi[96], cv[96], sv[96];
  dload(&x, "base + a0", xa, sizeof xa);
  dload(&x, "base + a1", xb, sizeof xb);
  dload(&x, "i", xi, sizeof xi);
  dload(&cs, "row * H2 + k", cv, sizeof cv);
  dload(&sn, "row * H2 + k", sv, sizeof sv);
  mt_cg_line(b, "const long long S = %lldLL, H = %lldLL, D = %lldLL, R = %lldLL, H2 = %lldLL;",
             (long long)p->seq, (long long)p->heads, (long long)p->head_size, (long long)p->rot_dim,
             (long long)half);
  mt_cg_line(b, LOOP, (long long)total);
  b->indent++;
  mt_cg_line(b, "const long long d = i %% D, base = i - d;");
  if (p->in3d)
    mt_cg_line(b, "const long long s = i / (H * D) %% S, bb = i / (D * H * S);");
  else
    mt_cg_line(b, "const long long s = i / D %% S, bb = i / (D * S * H);");
  mt_cg_line(b, "double r;");
  mt_cg_line(b, "if (d >= R) {");
  mt_cg_line(b, "  r = %s;", xi);
  mt_cg_line(b, "} else {");
  if (p->interleaved)
    mt_cg_line(
        b, "  const long long k = d / 2, a0 = 2 * k, a1 = a0 + 1; const bool re = d %% 2 == 0;");
  else
    mt_cg_line(
        b,
        "  const long long k = d < H2 ? d : d - H2, a0 = k, a1 = k + H2; const bool re = d < H2;");
  mt_cg_line(b, "  long long row = bb * S + s;");
  if (p->has_pos) {
    mt_cg_line(b, "  row = (long long)%s[bb * S + s];", pos.name);
    mt_cg_line(b, "  row = row < 0 ? 0 : (row >= %lldLL ? %lldLL : row); // clamped",
               (long long)p->max_pos, (long long)(p->max_pos - 1));
  }
  mt_cg_line(b, "  const double c = %s, sv = %s, x1 = %s, x2 = %s;", cv, sv, xa, xb);
  mt_cg_line(b, "  r = re ? c * x1 - sv * x2 : sv * x1 + c * x2;");
  mt_cg_line(b, "}");
  mt_cg_store(b, y.dtype, y.name, "i", "(float)r");
  b->indent--;
  mt_cg_line(b, "}");
  return NULL;
}

/* ---------------------------------------------------------------- Attention */

typedef struct attn_ops {
  operand q, k, v, mask, pk, pv, nonpad, y, ok, ov, qk;
} attn_ops;

/* The expression of element d of key (value: false) or value position t of kv head kh, reading
 * the past cache first, as kv_at in the CPU kernel. */
static void kv_expr(const mt_kc_attention *p, const attn_ops *o, bool value, const char *t,
                    const char *d, char *out, size_t n) {
  int64_t dim = value ? p->head_v : p->head_qk;
  const operand *cur = value ? &o->v : &o->k, *past = value ? &o->pv : &o->pk;
  char at[160], nw[320], pa[320];
  if (p->in3d)
    snprintf(at, sizeof at, "((bb * %lldLL + (%s - %lldLL)) * %lldLL + kh) * %lldLL + %s",
             (long long)p->kv_len, t, (long long)p->past_len, (long long)p->kv_heads,
             (long long)dim, d);
  else
    snprintf(at, sizeof at, "((bb * %lldLL + kh) * %lldLL + (%s - %lldLL)) * %lldLL + %s",
             (long long)p->kv_heads, (long long)p->kv_len, t, (long long)p->past_len,
             (long long)dim, d);
  dload(cur, at, nw, sizeof nw);
  if (p->past_len == 0) {
    snprintf(out, n, "%s", nw);
    return;
  }
  snprintf(at, sizeof at, "((bb * %lldLL + kh) * %lldLL + %s) * %lldLL + %s",
           (long long)p->kv_heads, (long long)p->past_len, t, (long long)dim, d);
  dload(past, at, pa, sizeof pa);
  snprintf(out, n, "(%s < %lldLL ? %s : %s)", t, (long long)p->past_len, pa, nw);
}

/* Statements declaring `dot` (the softcapped score) and `bias` for key t of row (bb, h, qi): the
 * CPU's attend_row and bias_at, expression for expression. */
static void score(cg_body *b, const mt_kc_attention *p, const attn_ops *o) {
  char kx[1024], qx[160], ss[64], sc[64];
  kv_expr(p, o, false, "t", "dd", kx, sizeof kx);
  dload(&o->q, "qbase + dd", qx, sizeof qx);
  snprintf(ss, sizeof ss, "%.17g", (double)(float)sqrt((double)p->scale));
  snprintf(sc, sizeof sc, "%.17g", (double)p->softcap);
  mt_cg_line(b, "double dot = 0.0;");
  mt_cg_line(b, "for (long long dd = 0; dd < %lldLL; dd++)", (long long)p->head_qk);
  mt_cg_line(b, "  dot += %s * %s * (%s * %s);", qx, ss, kx, ss);
  if (p->softcap > 0) mt_cg_line(b, "dot = %s * tanh(dot / %s);", sc, sc);
  mt_cg_line(b, "double bias = 0.0;");
  mt_cg_line(b, "bool pad = false;");
  if (p->mask != MT_ATTN_MASK_NONE) {
    const int64_t *m = p->mask_dims;
    char ma[200], mv[400];
    snprintf(ma, sizeof ma, "((%s * %lldLL + %s) * %lldLL + %s) * %lldLL + t",
             m[0] == 1 ? "0LL" : "bb", (long long)m[1], m[1] == 1 ? "0LL" : "h", (long long)m[2],
             m[2] == 1 ? "0LL" : "qi", (long long)m[3]);
    if (p->mask == MT_ATTN_MASK_BOOL)
      snprintf(mv, sizeof mv, "(%s[%s] != 0 ? 0.0 : %s)", o->mask.name, ma, NEG_INF);
    else
      dload(&o->mask, ma, mv, sizeof mv);
    mt_cg_line(b, "if (t >= %lldLL) { bias = %s; pad = true; } else { bias = %s; }",
               (long long)m[3], NEG_INF, mv);
  }
  mt_cg_line(b, "if (!pad) {");
  mt_cg_line(b, "  const long long diff = qi + off - t;");
  if (p->causal) mt_cg_line(b, "  if (diff < 0) bias += %s;", NEG_INF);
  if (p->left_window >= 0 || p->right_window >= 0)
    mt_cg_line(b, "  if ((%d && diff > %lldLL) || (%d && -diff > %lldLL)) bias += %s;",
               p->left_window >= 0, (long long)p->left_window, p->right_window >= 0,
               (long long)p->right_window, NEG_INF);
  if (p->has_nonpad) mt_cg_line(b, "  if (t >= np) bias += %s;", NEG_INF);
  mt_cg_line(b, "}");
}

/* Copies past and new keys (values) into present_key (present_value), [B, kv_heads, total, D]. */
static void present(cg_body *b, const mt_kc_attention *p, const attn_ops *o, bool value) {
  const operand *out = value ? &o->ov : &o->ok;
  if (!out->present) return;
  int64_t total = p->past_len + p->kv_len, dim = value ? p->head_v : p->head_qk;
  char kx[1024];
  kv_expr(p, o, value, "t", "dd", kx, sizeof kx);
  mt_cg_line(b, LOOP, (long long)(p->batch * p->kv_heads * total * dim));
  b->indent++;
  mt_cg_line(b, "const long long dd = i %% %lldLL, t = i / %lldLL %% %lldLL;", (long long)dim,
             (long long)dim, (long long)total);
  mt_cg_line(b, "const long long kh = i / %lldLL %% %lldLL, bb = i / %lldLL;",
             (long long)(dim * total), (long long)p->kv_heads,
             (long long)(dim * total * p->kv_heads));
  char e[1100];
  snprintf(e, sizeof e, "(float)%s", kx);
  mt_cg_store(b, out->dtype, out->name, "i", e);
  b->indent--;
  mt_cg_line(b, "}");
}

MT_MUST_USE static mt_status *attention(cg_body *b, const mt_node *n, const mt_kc_attention *p,
                                        int64_t *out_work) {
  attn_ops o;
  operand *ins[7] = {&o.q, &o.k, &o.v, &o.mask, &o.pk, &o.pv, &o.nonpad};
  operand *outs[4] = {&o.y, &o.ok, &o.ov, &o.qk};
  for (int i = 0; i < 7; i++) MT_RETURN_IF_ERROR_PLAIN(operand_of(b, n, false, i, ins[i]));
  for (int i = 0; i < 4; i++) MT_RETURN_IF_ERROR_PLAIN(operand_of(b, n, true, i, outs[i]));
  if (p->head_v > MAX_HEAD_V)
    return MT_ERR(UNIMPLEMENTED,
                  "Attention: value head size %lld is over the generator's %d (one thread "
                  "per row keeps its accumulators in registers)",
                  (long long)p->head_v, MAX_HEAD_V);
  int64_t total = p->past_len + p->kv_len, rows = p->batch * p->q_heads * p->q_len;
  int64_t pk_n = o.ok.present ? p->batch * p->kv_heads * total * p->head_qk : 0;
  int64_t pv_n = o.ov.present ? p->batch * p->kv_heads * total * p->head_v : 0;
  *out_work = rows > pk_n ? rows : pk_n;
  if (pv_n > *out_work) *out_work = pv_n;
  present(b, p, &o, false);
  present(b, p, &o, true);
  char vx[1024], yv[64];
  kv_expr(p, &o, true, "t", "dd", vx, sizeof vx);
  mt_cg_line(b, LOOP, (long long)rows);
  b->indent++;
  mt_cg_line(b, "const long long qi = i %% %lldLL, h = i / %lldLL %% %lldLL;", (long long)p->q_len,
             (long long)p->q_len, (long long)p->q_heads);
  mt_cg_line(b, "const long long bb = i / %lldLL, kh = h / %lldLL;",
             (long long)(p->q_len * p->q_heads), (long long)(p->q_heads / p->kv_heads));
  if (p->in3d)
    mt_cg_line(b, "const long long qbase = ((bb * %lldLL + qi) * %lldLL + h) * %lldLL;",
               (long long)p->q_len, (long long)p->q_heads, (long long)p->head_qk);
  else
    mt_cg_line(b, "const long long qbase = i * %lldLL;", (long long)p->head_qk);
  if (p->has_nonpad) {
    mt_cg_line(b, "const long long np = (long long)%s[bb];", o.nonpad.name);
    mt_cg_line(b, "const long long off = np - %lldLL;", (long long)p->q_len);
  } else {
    mt_cg_line(b, "const long long off = %lldLL;", (long long)p->past_len);
  }
  mt_cg_line(b, "const long long qk_row = i * %lldLL;", (long long)total);
  /* pass 1: the row maximum, whether every bias is -inf, the QK output of modes 0-2 */
  mt_cg_line(b, "double mx = %s;", NEG_INF);
  mt_cg_line(b, "bool masked = true;");
  mt_cg_line(b, "for (long long t = 0; t < %lldLL; t++) {", (long long)total);
  b->indent++;
  score(b, p, &o);
  mt_cg_line(b, "if (!(bias == %s)) masked = false;", NEG_INF);
  mt_cg_line(b, "const double x = dot + bias;");
  if (o.qk.present && p->qk_mode < 3)
    mt_cg_store(b, o.qk.dtype, o.qk.name, "qk_row + t", p->qk_mode < 2 ? "(float)dot" : "(float)x");
  mt_cg_line(b, "if (x > mx || x != x) mx = x;");
  b->indent--;
  mt_cg_line(b, "}");
  mt_cg_line(b, "if (mx == %s) mx = 0.0;", NEG_INF);
  /* pass 2: the sum of exponentials in key order */
  mt_cg_line(b, "double sum = 0.0;");
  mt_cg_line(b, "for (long long t = 0; t < %lldLL; t++) {", (long long)total);
  b->indent++;
  score(b, p, &o);
  mt_cg_line(b, "sum += exp(dot + bias - mx);");
  b->indent--;
  mt_cg_line(b, "}");
  mt_cg_line(b, "if (sum == 0.0) sum = 1.0;");
  /* pass 3: the weights times V */
  mt_cg_line(b, "double acc[%lld];", (long long)(p->head_v > 0 ? p->head_v : 1));
  mt_cg_line(b, "for (long long dd = 0; dd < %lldLL; dd++) acc[dd] = 0.0;", (long long)p->head_v);
  mt_cg_line(b, "for (long long t = 0; t < %lldLL; t++) {", (long long)total);
  b->indent++;
  score(b, p, &o);
  mt_cg_line(b, "const double w = masked ? 0.0 : exp(dot + bias - mx) / sum;");
  if (o.qk.present && p->qk_mode == 3)
    mt_cg_store(b, o.qk.dtype, o.qk.name, "qk_row + t", "(float)w");
  mt_cg_line(b, "if (w != 0.0)");
  mt_cg_line(b, "  for (long long dd = 0; dd < %lldLL; dd++) acc[dd] += w * %s;",
             (long long)p->head_v, vx);
  b->indent--;
  mt_cg_line(b, "}");
  if (o.y.present) {
    mt_cg_line(b, "for (long long dd = 0; dd < %lldLL; dd++) {", (long long)p->head_v);
    if (p->in3d)
      snprintf(yv, sizeof yv, "((bb * %lldLL + qi) * %lldLL + h) * %lldLL + dd",
               (long long)p->q_len, (long long)p->q_heads, (long long)p->head_v);
    else
      snprintf(yv, sizeof yv, "i * %lldLL + dd", (long long)p->head_v);
    b->indent++;
    mt_cg_store(b, o.y.dtype, o.y.name, yv, "(float)acc[dd]");
    b->indent--;
    mt_cg_line(b, "}");
  }
  b->indent--;
  mt_cg_line(b, "}");
  return NULL;
}

mt_status *mt_cg_attention_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                                int64_t *out_work) {
  switch (c->kind) {
  case MT_KERNEL_ROTARY: return rotary(b, n, &c->params.rotary, out_work);
  case MT_KERNEL_ATTENTION: return attention(b, n, &c->params.attention, out_work);
  default: return MT_ERR(NOT_FOUND, "not an attention kernel");
  }
}
