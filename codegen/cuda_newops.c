/* Generators for the newest opsets' ops (MT_GROUP_OTHER kernels), with
 * runtime/cpu/kernel_call_newops.c's arithmetic step by step:
 *   - SwiGLU: one thread per element, a / (1 + exp(-alpha * a)) * b in double (the CPU's order).
 *   - BitCast: one thread per element: its bytes are copied (memcpy) into the target type.
 *   - TensorScatter: one thread per element of the cache: an element in a written row takes the
 *     update's, the others past's. A linear write index past the cache, an error on the CPU, writes
 *     nothing (a kernel cannot return a status), like the Gather generator's clamping.
 *   - DeformConv: one thread per output element, the CPU's loops and bilinear taps in double.
 *   - TfIdfVectorizer: one thread per row, the n-grams as constant tables.
 *   - CausalConvWithState: one thread per output element, then one per present_state element.
 *   - LinearAttention: one thread per state column (batch, kv head, value dim), its key-dim
 *     values in a per-thread array; every step and every query head of the group in order. */
#include <stdio.h>

#include "codegen/cuda_internal.h"

#define LOOP                                                                                       \
  "for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL; i += "         \
  "(long long)gridDim.x * blockDim.x) {"

/* Name of node output 0's kernel parameter; UNIMPLEMENTED when nobody reads it. */
MT_MUST_USE static mt_status *output_name(const cg_body *b, const mt_node *n, char *out,
                                          mt_dtype *dt) {
  int k = n->n_outputs > 0 && n->outputs[0] != MT_NO_VALUE
              ? mt_cg_output_index(b->fg, n->outputs[0])
              : -1;
  if (k < 0) return MT_ERR(UNIMPLEMENTED, "%s without a used output", n->op_type);
  snprintf(out, MT_CG_NAME, "b%d_out%d", b->index, k);
  *dt = mt_module_value_c(b->m, n->outputs[0])->dtype;
  return NULL;
}

MT_MUST_USE static mt_status *swiglu(cg_body *b, const mt_node *n, const mt_kc_swiglu *p,
                                     int64_t *out_work) {
  char an[MT_CG_NAME], bn[MT_CG_NAME], yn[MT_CG_NAME], av[160], bv[160], al[64];
  mt_dtype dt;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, an));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, bn));
  MT_RETURN_IF_ERROR_PLAIN(output_name(b, n, yn, &dt));
  if (!mt_cg_ctype(dt)) return MT_ERR(UNIMPLEMENTED, "SwiGLU of %s", mt_dtype_name(dt));
  int64_t total = mt_cg_numel(b->m, n->outputs[0]);
  *out_work = total;
  mt_cg_elem_load(dt, an, "i", av, sizeof av);
  mt_cg_elem_load(dt, bn, "i", bv, sizeof bv);
  mt_cg_float_lit(p->alpha, al, sizeof al);
  mt_cg_line(b, LOOP, (long long)total);
  b->indent++;
  mt_cg_line(b, "const double a = (double)%s;", av);
  mt_cg_line(b, "const double r = a / (1.0 + exp(-(double)%s * a)) * (double)%s;", al, bv);
  mt_cg_store(b, dt, yn, "i", dt == MT_DTYPE_FLOAT64 ? "r" : "(float)r");
  b->indent--;
  mt_cg_line(b, "}");
  return NULL;
}

MT_MUST_USE static mt_status *bitcast(cg_body *b, const mt_node *n, int64_t *out_work) {
  char xn[MT_CG_NAME], yn[MT_CG_NAME];
  mt_dtype dt;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, xn));
  MT_RETURN_IF_ERROR_PLAIN(output_name(b, n, yn, &dt));
  mt_dtype xt = mt_module_value_c(b->m, n->inputs[0])->dtype;
  const char *ts = mt_cg_storetype(xt), *ys = mt_cg_storetype(dt);
  if (!ts || !ys || mt_dtype_size(xt) != mt_dtype_size(dt))
    return MT_ERR(UNIMPLEMENTED, "BitCast from %s to %s", mt_dtype_name(xt), mt_dtype_name(dt));
  int64_t total = mt_cg_numel(b->m, n->outputs[0]);
  *out_work = total;
  /* a value copy through memcpy: defined for every pair of storage types of one size */
  mt_cg_line(b, LOOP, (long long)total);
  mt_cg_line(b, "  const %s v = %s[i];", ts, xn);
  mt_cg_line(b, "  %s r;", ys);
  mt_cg_line(b, "  memcpy(&r, &v, sizeof r);");
  mt_cg_line(b, "  %s[i] = r;", yn);
  mt_cg_line(b, "}");
  return NULL;
}

MT_MUST_USE static mt_status *tensor_scatter(cg_body *b, const mt_node *n,
                                             const mt_kc_tensor_scatter *p, int64_t *out_work) {
  char pn[MT_CG_NAME], un[MT_CG_NAME], wn[MT_CG_NAME], yn[MT_CG_NAME];
  mt_dtype dt;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, pn));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, un));
  if (p->has_indices) MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, wn));
  MT_RETURN_IF_ERROR_PLAIN(output_name(b, n, yn, &dt));
  if (p->batch < 1 || p->max_seq < 1)
    return MT_ERR(UNIMPLEMENTED, "TensorScatter with an empty batch or sequence axis");
  int64_t total = p->outer * p->max_seq * p->inner;
  *out_work = total;
  mt_cg_line(b, "const long long M = %lldLL, S = %lldLL, I = %lldLL, PB = %lldLL;",
             (long long)p->max_seq, (long long)p->seq, (long long)p->inner,
             (long long)(p->outer / p->batch));
  mt_cg_line(b, LOOP, (long long)total);
  b->indent++;
  mt_cg_line(b, "const long long e = i %% I, m = i / I %% M, o = i / (I * M);");
  if (p->has_indices)
    mt_cg_line(b, "const long long w = %s[o / PB];", wn);
  else
    mt_cg_line(b, "const long long w = 0;");
  /* the update row s lands on cache row (w + s) (mod M): invert it for row m */
  if (p->circular)
    mt_cg_line(b, "const long long s = w < 0 ? -1 : ((m - w %% M) %% M + M) %% M;");
  else
    mt_cg_line(b, "const long long s = w < 0 || w + S > M ? -1 : m - w;");
  mt_cg_line(b, "if (s >= 0 && s < S)");
  mt_cg_line(b, "  %s[i] = %s[(o * S + s) * I + e];", yn, un);
  mt_cg_line(b, "else");
  mt_cg_line(b, "  %s[i] = %s[i];", yn, pn);
  b->indent--;
  mt_cg_line(b, "}");
  return NULL;
}

/* One thread per output element: the CPU kernel's loops (channels of the group, then taps) and
 * its bilinear sample, in double. */
MT_MUST_USE static mt_status *deform_conv(cg_body *b, const mt_node *n, const mt_kc_deform_conv *p,
                                          int64_t *out_work) {
  char xn[MT_CG_NAME], wn[MT_CG_NAME], on[MT_CG_NAME], bn[MT_CG_NAME], mn[MT_CG_NAME];
  char yn[MT_CG_NAME], v[160];
  mt_dtype dt;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, xn));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, wn));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, on));
  if (p->has_bias) MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 3, bn));
  if (p->has_mask) MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 4, mn));
  MT_RETURN_IF_ERROR_PLAIN(output_name(b, n, yn, &dt));
  if (!mt_cg_ctype(dt)) return MT_ERR(UNIMPLEMENTED, "DeformConv of %s", mt_dtype_name(dt));
  int64_t total = p->n * p->oc * p->oh * p->ow;
  *out_work = total;
  mt_cg_line(b, "const long long C = %lldLL, H = %lldLL, W = %lldLL, OC = %lldLL, OH = %lldLL;",
             (long long)p->c, (long long)p->h, (long long)p->w, (long long)p->oc, (long long)p->oh);
  mt_cg_line(b, "const long long OW = %lldLL, KW = %lldLL, T = %lldLL, G = %lldLL, OG = %lldLL;",
             (long long)p->ow, (long long)p->kw, (long long)(p->kh * p->kw), (long long)p->group,
             (long long)p->offset_group);
  mt_cg_line(b, "const long long CG = C / G, OCG = OC / G, COG = C / OG, P = OH * OW;");
  mt_cg_line(b, LOOP, (long long)total);
  b->indent++;
  mt_cg_line(b,
             "const long long j = i %% OW, r = i / OW %% OH, o = i / P %% OC, bb = i / (P * OC);");
  mt_cg_elem_load(dt, bn, "o", v, sizeof v);
  mt_cg_line(b, "double acc = %s;", p->has_bias ? v : "0.0");
  mt_cg_line(b, "const long long g = o / OCG;");
  mt_cg_line(b, "for (long long ci = 0; ci < CG; ci++) {");
  mt_cg_line(b, "  const long long ch = g * CG + ci, og = ch / COG;");
  mt_cg_line(b, "  for (long long t = 0; t < T; t++) {");
  mt_cg_line(b, "    const long long ky = t / KW, kx = t %% KW;");
  mt_cg_line(b, "    const long long ob = ((bb * OG + og) * T + t) * 2 * P + r * OW + j;");
  mt_cg_elem_load(dt, on, "ob", v, sizeof v);
  mt_cg_line(b, "    const double sy = (double)(r * %lldLL - %lldLL + ky * %lldLL) + (double)%s;",
             (long long)p->stride[0], (long long)p->pad[0], (long long)p->dil[0], v);
  mt_cg_elem_load(dt, on, "ob + P", v, sizeof v);
  mt_cg_line(b, "    const double sx = (double)(j * %lldLL - %lldLL + kx * %lldLL) + (double)%s;",
             (long long)p->stride[1], (long long)p->pad[1], (long long)p->dil[1], v);
  mt_cg_line(b, "    const double fy = floor(sy), fx = floor(sx), ly = sy - fy, lx = sx - fx;");
  mt_cg_line(b, "    const long long y0 = (long long)fy, x0 = (long long)fx;");
  mt_cg_line(b, "    const long long base = (bb * C + ch) * H * W;");
  mt_cg_line(b, "    double sv = 0.0;");
  mt_cg_line(b, "    for (int dy = 0; dy < 2; dy++)");
  mt_cg_line(b, "      for (int dx = 0; dx < 2; dx++) {");
  mt_cg_line(b, "        const long long yy = y0 + dy, xc = x0 + dx;");
  mt_cg_line(b, "        if (yy < 0 || yy >= H || xc < 0 || xc >= W) continue;");
  mt_cg_line(b, "        const double wt = (dy ? ly : 1.0 - ly) * (dx ? lx : 1.0 - lx);");
  mt_cg_elem_load(dt, xn, "base + yy * W + xc", v, sizeof v);
  mt_cg_line(b, "        sv += wt * (double)%s;", v);
  mt_cg_line(b, "      }");
  if (p->has_mask) {
    mt_cg_elem_load(dt, mn, "((bb * OG + og) * T + t) * P + r * OW + j", v, sizeof v);
    mt_cg_line(b, "    sv *= (double)%s;", v);
  }
  mt_cg_elem_load(dt, wn, "(o * CG + ci) * T + t", v, sizeof v);
  mt_cg_line(b, "    acc += sv * (double)%s;", v);
  mt_cg_line(b, "  }");
  mt_cg_line(b, "}");
  mt_cg_store(b, dt, yn, "i", dt == MT_DTYPE_FLOAT64 ? "acc" : "(float)acc");
  b->indent--;
  mt_cg_line(b, "}");
  return NULL;
}

/* A table `const T name[] = {...};` (one dummy element when empty: C has no empty arrays). */
static void table(cg_body *b, const char *type, const char *name, int n, const int64_t *i64,
                  const int *ints) {
  char line[8192];
  size_t k = (size_t)snprintf(line, sizeof line, "const %s %s[] = {", type, name);
  for (int i = 0; i < n && k < sizeof line; i++)
    k += (size_t)snprintf(line + k, sizeof line - k, "%s%lldLL", i ? ", " : "",
                          (long long)(i64 ? i64[i] : ints[i]));
  if (n == 0 && k < sizeof line) k += (size_t)snprintf(line + k, sizeof line - k, "0");
  if (k < sizeof line) snprintf(line + k, sizeof line - k, "};");
  mt_cg_line(b, "%s", line);
}

/* One thread per row: the CPU kernel's loops over skips, starts and gram lengths, the n-grams as
 * constant tables; counts and weights in float as on the CPU. */
MT_MUST_USE static mt_status *tfidf(cg_body *b, const mt_node *n, const mt_kc_tfidf *p,
                                    int64_t *out_work) {
  char xn[MT_CG_NAME], yn[MT_CG_NAME], w[64];
  mt_dtype dt;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, xn));
  MT_RETURN_IF_ERROR_PLAIN(output_name(b, n, yn, &dt));
  *out_work = p->rows;
  table(b, "long long", "pool", p->n_pool, p->pool, NULL);
  table(b, "int", "gstart", p->n_grams, NULL, p->start);
  table(b, "int", "glen", p->n_grams, NULL, p->len);
  table(b, "int", "gcol", p->n_grams, NULL, p->col);
  mt_cg_line(b, "const float wts[] = {");
  for (int i = 0; i < p->n_weights; i++) {
    mt_cg_float_lit(p->weights[i], w, sizeof w);
    mt_cg_line(b, "  %s,", w);
  }
  mt_cg_line(b, "  0.0f};");
  mt_cg_line(b, "const long long C = %lldLL, O = %lldLL;", (long long)p->cols,
             (long long)p->out_size);
  mt_cg_line(b, LOOP, (long long)p->rows);
  b->indent++;
  mt_cg_line(b, "for (long long k = 0; k < O; k++) %s[i * O + k] = 0.0f;", yn);
  mt_cg_line(b, "int first = %d;", p->min_len);
  mt_cg_line(b, "for (long long skip = 1; skip <= %dLL; skip++) {", p->max_skip + 1);
  mt_cg_line(b, "  for (long long s = 0; s < C && s + skip * (first - 1) < C; s++)");
  mt_cg_line(b, "    for (int len = first; len <= %d && s + skip * (len - 1) < C; len++) {",
             p->max_len);
  mt_cg_line(b, "      int found = -1;");
  mt_cg_line(b, "      for (int g = 0; g < %d; g++) {", p->n_grams);
  mt_cg_line(b, "        if (glen[g] != len) continue;");
  mt_cg_line(b, "        bool eq = true;");
  mt_cg_line(b, "        for (int k = 0; eq && k < len; k++)");
  mt_cg_line(b, "          eq = (long long)%s[i * C + s + k * skip] == pool[gstart[g] + k];", xn);
  mt_cg_line(b, "        if (eq) found = g;");
  mt_cg_line(b, "      }");
  mt_cg_line(b, "      if (found >= 0) %s[i * O + gcol[found]] += 1.0f;", yn);
  mt_cg_line(b, "    }");
  mt_cg_line(b, "  if (first == 1 && ++first > %d) break;", p->max_len);
  mt_cg_line(b, "}");
  mt_cg_line(b, "for (long long k = 0; k < O; k++) {");
  mt_cg_line(b, "  const float w = %s;", p->n_weights ? "wts[k]" : "1.0f");
  if (p->mode == MT_TFIDF_IDF)
    mt_cg_line(b, "  %s[i * O + k] = %s[i * O + k] > 0.0f ? w : 0.0f;", yn, yn);
  else if (p->mode == MT_TFIDF_TFIDF)
    mt_cg_line(b, "  %s[i * O + k] = w * %s[i * O + k];", yn, yn);
  else
    mt_cg_line(b, "  (void)w;");
  mt_cg_line(b, "}");
  b->indent--;
  mt_cg_line(b, "}");
  return NULL;
}

/* One thread per output element (the taps in the CPU's order, rounded to the dtype before silu),
 * then a grid-stride loop over present_state's elements when it is used. */
MT_MUST_USE static mt_status *causal_conv(cg_body *b, const mt_node *n, const mt_kc_causal_conv *p,
                                          int64_t *out_work) {
  char xn[MT_CG_NAME], wn[MT_CG_NAME], bn[MT_CG_NAME], pn[MT_CG_NAME], yn[MT_CG_NAME];
  char sn[MT_CG_NAME] = "", v[160], xv[160], pv[160];
  mt_dtype dt;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, xn));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, wn));
  if (p->has_bias) MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, bn));
  if (p->has_past) MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 3, pn));
  MT_RETURN_IF_ERROR_PLAIN(output_name(b, n, yn, &dt));
  int ks = n->n_outputs > 1 && n->outputs[1] != MT_NO_VALUE
               ? mt_cg_output_index(b->fg, n->outputs[1])
               : -1;
  if (ks >= 0) snprintf(sn, sizeof sn, "b%d_out%d", b->index, ks);
  int64_t bc = p->batch * p->channels, total = bc * p->len, nst = bc * (p->k - 1);
  *out_work = total > nst ? total : nst;
  mt_cg_line(b, "const long long L = %lldLL, K = %lldLL, CH = %lldLL;", (long long)p->len,
             (long long)p->k, (long long)p->channels);
  /* the padded sequence's step u of row bc: past_state (or 0) first, then the input */
  mt_cg_elem_load(dt, xn, "bc * L + u - (K - 1)", xv, sizeof xv);
  mt_cg_elem_load(dt, pn, "bc * (K - 1) + u", pv, sizeof pv);
  mt_cg_line(b, LOOP, (long long)total);
  b->indent++;
  mt_cg_line(b, "const long long t = i %% L, bc = i / L, c = bc %% CH;");
  mt_cg_elem_load(dt, bn, "c", v, sizeof v);
  mt_cg_line(b, "double acc = %s;", p->has_bias ? v : "0.0");
  mt_cg_line(b, "for (long long j = 0; j < K; j++) {");
  mt_cg_line(b, "  const long long u = t + j;");
  mt_cg_line(b, "  const double pv = u >= K - 1 ? (double)%s : %s;", xv, p->has_past ? pv : "0.0");
  mt_cg_elem_load(dt, wn, "c * K + j", v, sizeof v);
  mt_cg_line(b, "  acc += (double)%s * pv;", v);
  mt_cg_line(b, "}");
  if (mt_dtype_is_float16_like(dt))
    mt_cg_line(b, "double r = (double)%s;",
               dt == MT_DTYPE_FLOAT16 ? "mt_r16((float)acc)" : "mt_rbf((float)acc)");
  else
    mt_cg_line(b, "double r = (double)(float)acc;");
  if (p->silu) mt_cg_line(b, "r = r / (1.0 + exp(-r));");
  mt_cg_store(b, dt, yn, "i", "(float)r");
  b->indent--;
  mt_cg_line(b, "}");
  if (sn[0] && nst > 0) {
    mt_cg_line(b, LOOP, (long long)nst);
    b->indent++;
    mt_cg_line(b, "const long long bc = i / (K - 1), u = L + i %% (K - 1);");
    mt_cg_line(b, "const double pv = u >= K - 1 ? (double)%s : %s;", xv, p->has_past ? pv : "0.0");
    mt_cg_store(b, dt, sn, "i", "(float)pv");
    b->indent--;
    mt_cg_line(b, "}");
  }
  return NULL;
}

#define MAX_LINEAR_DK 256

/* One thread per state column (batch, kv head, value dim), its DK values in a per-thread array:
 * linear_attn_column's loop in runtime/cpu/kernel_call_newops.c, statement for statement. */
MT_MUST_USE static mt_status *linear_attn(cg_body *b, const mt_node *n, const mt_kc_linear_attn *p,
                                          int64_t *out_work) {
  char qn[MT_CG_NAME], kn[MT_CG_NAME], vn[MT_CG_NAME], pn[MT_CG_NAME], dn[MT_CG_NAME];
  char bn[MT_CG_NAME], yn[MT_CG_NAME], sn[MT_CG_NAME] = "", e[200], sc[64];
  mt_dtype dt;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, qn));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, kn));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, vn));
  if (p->has_past) MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 3, pn));
  if (p->decay_mode) MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 4, dn));
  if (p->beta_mode) MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 5, bn));
  MT_RETURN_IF_ERROR_PLAIN(output_name(b, n, yn, &dt));
  if (p->dk > MAX_LINEAR_DK)
    return MT_ERR(UNIMPLEMENTED,
                  "LinearAttention with a key head size of %lld (the generator "
                  "keeps a state column of at most %d in registers)",
                  (long long)p->dk, MAX_LINEAR_DK);
  int ks = n->n_outputs > 1 && n->outputs[1] != MT_NO_VALUE
               ? mt_cg_output_index(b->fg, n->outputs[1])
               : -1;
  if (ks >= 0) snprintf(sn, sizeof sn, "b%d_out%d", b->index, ks);
  int64_t total = p->batch * p->kv_heads * p->dv;
  *out_work = total;
  mt_cg_float_lit(p->scale, sc, sizeof sc);
  mt_cg_line(b, "const long long T = %lldLL, QH = %lldLL, KH = %lldLL, DK = %lldLL, DV = %lldLL;",
             (long long)p->steps, (long long)p->q_heads, (long long)p->kv_heads, (long long)p->dk,
             (long long)p->dv);
  mt_cg_line(b, "const long long GS = QH / KH;");
  mt_cg_line(b, LOOP, (long long)total);
  b->indent++;
  mt_cg_line(b, "const long long m = i %% DV, h = i / DV %% KH, bb = i / (DV * KH);");
  mt_cg_line(b, "double col[%d];", p->dk > 0 ? (int)p->dk : 1);
  mt_cg_elem_load(dt, pn, "((bb * KH + h) * DK + d) * DV + m", e, sizeof e);
  char init[220];
  snprintf(init, sizeof init, "(double)%s", e);
  mt_cg_line(b, "for (long long d = 0; d < DK; d++) col[d] = %s;", p->has_past ? init : "0.0");
  mt_cg_line(b, "for (long long t = 0; t < T; t++) {");
  mt_cg_line(b, "  const long long row = bb * T + t, kb = (row * KH + h) * DK;");
  if (p->decay_mode) {
    mt_cg_elem_load(dt, dn, p->decay_mode == 1 ? "row * KH + h" : "kb + d", e, sizeof e);
    mt_cg_line(b, "  for (long long d = 0; d < DK; d++) col[d] *= exp((double)%s);", e);
  }
  mt_cg_elem_load(dt, vn, "(row * KH + h) * DV + m", e, sizeof e);
  mt_cg_line(b, "  double vt = (double)%s;", e);
  mt_cg_elem_load(dt, kn, "kb + d", e, sizeof e);
  if (p->beta_mode) {
    char bv[200];
    mt_cg_elem_load(dt, bn, p->beta_mode == 1 ? "row * KH + h" : "row", bv, sizeof bv);
    mt_cg_line(b, "  double got = 0.0;");
    mt_cg_line(b, "  for (long long d = 0; d < DK; d++) got += col[d] * (double)%s;", e);
    mt_cg_line(b, "  vt = (double)%s * (vt - got);", bv);
  }
  mt_cg_line(b, "  for (long long d = 0; d < DK; d++) col[d] += (double)%s * vt;", e);
  mt_cg_line(b, "  for (long long g = 0; g < GS; g++) {");
  mt_cg_line(b, "    const long long qh = h * GS + g;");
  mt_cg_line(b, "    double acc = 0.0;");
  mt_cg_elem_load(dt, qn, "(row * QH + qh) * DK + d", e, sizeof e);
  mt_cg_line(b, "    for (long long d = 0; d < DK; d++) acc += (double)%s * col[d];", e);
  char val[128];
  snprintf(val, sizeof val, "(float)((double)%s * acc)", sc);
  b->indent += 2;
  mt_cg_store(b, dt, yn, "(row * QH + qh) * DV + m", val);
  b->indent -= 2;
  mt_cg_line(b, "  }");
  mt_cg_line(b, "}");
  if (sn[0]) {
    b->indent++;
    mt_cg_line(b, "for (long long d = 0; d < DK; d++) {");
    mt_cg_store(b, dt, sn, "((bb * KH + h) * DK + d) * DV + m", "(float)col[d]");
    mt_cg_line(b, "}");
    b->indent--;
  }
  b->indent--;
  mt_cg_line(b, "}");
  return NULL;
}

mt_status *mt_cg_newops_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                             int64_t *out_work) {
  switch (c->kind) {
  case MT_KERNEL_SWIGLU: return swiglu(b, n, &c->params.swiglu, out_work);
  case MT_KERNEL_BITCAST: return bitcast(b, n, out_work);
  case MT_KERNEL_TENSOR_SCATTER: return tensor_scatter(b, n, &c->params.tensor_scatter, out_work);
  case MT_KERNEL_DEFORM_CONV: return deform_conv(b, n, &c->params.deform_conv, out_work);
  case MT_KERNEL_TFIDF: return tfidf(b, n, &c->params.tfidf, out_work);
  case MT_KERNEL_CAUSAL_CONV: return causal_conv(b, n, &c->params.causal_conv, out_work);
  case MT_KERNEL_LINEAR_ATTN: return linear_attn(b, n, &c->params.linear_attn, out_work);
  default: return MT_ERR(NOT_FOUND, "not a newops kernel");
  }
}
