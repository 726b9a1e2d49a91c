/* Generator for the recurrent layers RNN, GRU and LSTM (MT_KERNEL_RNN): one persistent kernel.
 *
 * Why one kernel and not a GEMM per step plus a gate kernel: the steps of a sequence are serial,
 * and at the batch sizes a serving bundle runs (1 to 8 rows) a per-step GEMM is a few hundred
 * multiply-adds per thread, dwarfed by a launch (two graph nodes per step: 2 x seq nodes). Here
 * one block owns one sequence (a direction and a batch row; blocks stride over all of them), its
 * threads split the hidden units, the state lives in shared memory, and a __syncthreads closes
 * each phase of a step; the whole layer is one graph node. Every sum runs in the order of
 * runtime/cpu/kernel_call_rnn.c (input terms, recurrent terms, W bias, R bias, in double), so the
 * results agree with the reference to the rounding of the transcendental functions. The cost:
 * the weights are re-read from global memory (L2) each step, and a batch row never shares a
 * weight load with another; docs/codegen.md says where this stops paying. */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

/* Most hidden units a block's shared state can hold: four double vectors of this length stay
 * under the 48 KiB of static shared memory. */
#define RNN_MAX_HIDDEN 1024

typedef struct rnn_gen {
  cg_body *b;
  const mt_kc_rnn *p;
  mt_dtype dt;
  int64_t seq, batch, in, hid, gates;
  char x[MT_CG_NAME], w[MT_CG_NAME], r[MT_CG_NAME], bias[MT_CG_NAME], lens[MT_CG_NAME],
      h0[MT_CG_NAME], c0[MT_CG_NAME], peep[MT_CG_NAME];
  char y[MT_CG_NAME], yh[MT_CG_NAME], yc[MT_CG_NAME];
} rnn_gen;

/* Output i's parameter name, or "" when nothing reads it. */
static void param_out(const cg_body *b, const mt_node *n, int i, char *out) {
  out[0] = '\0';
  if (i >= n->n_outputs || n->outputs[i] == MT_NO_VALUE) return;
  int k = mt_cg_output_index(b->fg, n->outputs[i]);
  if (k >= 0) snprintf(out, MT_CG_NAME, "b%d_out%d", b->index, k);
}

static void ld(const rnn_gen *g, const char *ptr, const char *at, char *out, size_t n) {
  mt_cg_load_f64(g->dt, ptr, at, out, n);
}

/* dst = activation (d, which) of variable v, as mt_cpu_rnn_activate. */
static void act(const rnn_gen *g, int d, int which, const char *dst, const char *v) {
  char a[64], be[64];
  mt_cg_float_lit(g->p->alpha[d][which], a, sizeof a);
  mt_cg_float_lit(g->p->beta[d][which], be, sizeof be);
  cg_body *b = g->b;
  switch (g->p->act[d][which]) {
  case MT_RNN_ACT_RELU: mt_cg_line(b, "%s = %s > 0.0 ? %s : 0.0;", dst, v, v); return;
  case MT_RNN_ACT_TANH: mt_cg_line(b, "%s = tanh(%s);", dst, v); return;
  case MT_RNN_ACT_SIGMOID: mt_cg_line(b, "%s = 1.0 / (1.0 + exp(-%s));", dst, v); return;
  case MT_RNN_ACT_AFFINE:
    mt_cg_line(b, "%s = (double)%s * %s + (double)%s;", dst, a, v, be);
    return;
  case MT_RNN_ACT_LEAKY_RELU:
    mt_cg_line(b, "%s = %s >= 0.0 ? %s : (double)%s * %s;", dst, v, v, a, v);
    return;
  case MT_RNN_ACT_THRESHOLDED_RELU:
    mt_cg_line(b, "%s = %s > (double)%s ? %s : 0.0;", dst, v, a, v);
    return;
  case MT_RNN_ACT_SCALED_TANH:
    mt_cg_line(b, "%s = (double)%s * tanh((double)%s * %s);", dst, a, be, v);
    return;
  case MT_RNN_ACT_HARD_SIGMOID:
    mt_cg_line(b, "{ const double hs = (double)%s * %s + (double)%s;", a, v, be);
    mt_cg_line(b, "  %s = hs < 0.0 ? 0.0 : (hs > 1.0 ? 1.0 : hs); }", dst);
    return;
  case MT_RNN_ACT_ELU:
    mt_cg_line(b, "%s = %s >= 0.0 ? %s : (double)%s * (exp(%s) - 1.0);", dst, v, v, a, v);
    return;
  case MT_RNN_ACT_SOFTSIGN: mt_cg_line(b, "%s = %s / (1.0 + fabs(%s));", dst, v, v); return;
  case MT_RNN_ACT_SOFTPLUS: mt_cg_line(b, "%s = log1p(exp(%s));", dst, v); return;
  default: mt_cg_line(b, "%s = %s;", dst, v); return;
  }
}

/* v = clip(v) when the layer clips. */
static void clip(const rnn_gen *g, const char *v) {
  if (!g->p->has_clip) return;
  char c[64];
  mt_cg_float_lit(g->p->clip, c, sizeof c);
  mt_cg_line(g->b, "%s = %s < -(double)%s ? -(double)%s : (%s > (double)%s ? (double)%s : %s);", v,
             v, c, c, v, c, c, v);
}

/* Bias order of a gate's pre-activation, as the reference adds them. */
typedef enum { BIAS_W_R, BIAS_R_W, BIAS_NONE } bias_order;

/* `double var = <x.W[row]> + <h.R[row]> (+ biases)`, each product summed on its own first
 * (var_x, var_h: the reference's two dots). hscale names a shared vector multiplying h
 * elementwise (GRU's reset gate) or is NULL. */
static void gate_sum(const rnn_gen *g, const char *var, const char *row, const char *hscale,
                     bias_order order) {
  cg_body *b = g->b;
  char xv[256], wv[256], rv[256], bw[256], br[256], at[96];
  ld(g, g->x, "xo + k", xv, sizeof xv);
  snprintf(at, sizeof at, "(wd + %s) * IN + k", row);
  ld(g, g->w, at, wv, sizeof wv);
  snprintf(at, sizeof at, "(wd + %s) * H + k", row);
  ld(g, g->r, at, rv, sizeof rv);
  mt_cg_line(b, "double %s_x = 0.0, %s_h = 0.0;", var, var);
  mt_cg_line(b, "for (long long k = 0; k < IN; k++) %s_x += %s * %s;", var, xv, wv);
  if (hscale)
    mt_cg_line(b, "for (long long k = 0; k < H; k++) %s_h += %s[k] * sh_h[k] * %s;", var, hscale,
               rv);
  else
    mt_cg_line(b, "for (long long k = 0; k < H; k++) %s_h += sh_h[k] * %s;", var, rv);
  snprintf(at, sizeof at, "bd + %s", row);
  ld(g, g->bias, at, bw, sizeof bw);
  snprintf(at, sizeof at, "bd + G + %s", row);
  ld(g, g->bias, at, br, sizeof br);
  if (!g->bias[0]) {
    snprintf(bw, sizeof bw, "0.0");
    snprintf(br, sizeof br, "0.0");
  }
  if (order == BIAS_W_R)
    mt_cg_line(b, "double %s = %s_x + %s_h + %s + %s;", var, var, var, bw, br);
  else if (order == BIAS_R_W)
    mt_cg_line(b, "double %s = %s_x + %s_h + %s + %s;", var, var, var, br, bw);
  else
    mt_cg_line(b, "(void)%s_x; (void)%s_h;", var, var);
}

static void store(const rnn_gen *g, const char *ptr, const char *at, const char *v) {
  char e[96];
  snprintf(e, sizeof e, g->dt == MT_DTYPE_FLOAT64 ? "%s" : "(float)%s", v);
  mt_cg_store(g->b, g->dt, ptr, at, e);
}

/* One step's phases for cell g->p->cell; t is the time index, j the thread's hidden unit. */
static void emit_step(const rnn_gen *g) {
  cg_body *b = g->b;
  const mt_kc_rnn *p = g->p;
  char bw[128], br[128];
  mt_cg_line(b, "for (long long j = threadIdx.x; j < H; j += blockDim.x) {");
  b->indent++;
  if (p->cell == MT_RNN_SIMPLE) {
    gate_sum(g, "v", "j", NULL, BIAS_W_R);
    clip(g, "v");
    for (int d = 0; d < p->directions; d++) {
      if (p->directions == 2) mt_cg_line(b, "if (d == %d)", d);
      act(g, d, 0, "sh_n[j]", "v");
    }
  } else if (p->cell == MT_RNN_GRU) {
    gate_sum(g, "z", "j", NULL, BIAS_W_R);
    gate_sum(g, "rr", "H + j", NULL, BIAS_W_R);
    clip(g, "z");
    clip(g, "rr");
    for (int d = 0; d < p->directions; d++) {
      if (p->directions == 2) mt_cg_line(b, "if (d == %d) {", d);
      act(g, d, 0, "sh_z[j]", "z");
      act(g, d, 0, "sh_r[j]", "rr");
      if (p->directions == 2) mt_cg_line(b, "}");
    }
    b->indent--;
    mt_cg_line(b, "}");
    mt_cg_line(b, "__syncthreads();");
    mt_cg_line(b, "for (long long j = threadIdx.x; j < H; j += blockDim.x) {");
    b->indent++;
    if (p->linear_before_reset) {
      /* x.Wh + r * (h.Rh + Rbh) + Wbh */
      gate_sum(g, "v", "2 * H + j", NULL, BIAS_NONE);
      if (g->bias[0]) {
        ld(g, g->bias, "bd + G + 2 * H + j", br, sizeof br);
        ld(g, g->bias, "bd + 2 * H + j", bw, sizeof bw);
      } else {
        snprintf(br, sizeof br, "0.0");
        snprintf(bw, sizeof bw, "0.0");
      }
      mt_cg_line(b, "double v = v_x + sh_r[j] * (v_h + %s) + %s;", br, bw);
    } else {
      /* x.Wh + (r * h).Rh + Rbh + Wbh: the R bias first, as the reference */
      gate_sum(g, "v", "2 * H + j", "sh_r", BIAS_R_W);
    }
    clip(g, "v");
    mt_cg_line(b, "double hh;");
    for (int d = 0; d < p->directions; d++) {
      if (p->directions == 2) mt_cg_line(b, "if (d == %d)", d);
      act(g, d, 1, "hh", "v");
    }
    mt_cg_line(b, "sh_n[j] = (1.0 - sh_z[j]) * hh + sh_z[j] * sh_h[j];");
  } else {
    /* gates i, o, f, c; peepholes i, o, f */
    gate_sum(g, "pi", "j", NULL, BIAS_W_R);
    gate_sum(g, "po", "H + j", NULL, BIAS_W_R);
    gate_sum(g, "pf", "2 * H + j", NULL, BIAS_W_R);
    gate_sum(g, "pc", "3 * H + j", NULL, BIAS_W_R);
    mt_cg_line(b, "double wi = 0.0, wo = 0.0, wf = 0.0;");
    if (g->peep[0]) {
      char v[128];
      ld(g, g->peep, "pd + j", v, sizeof v);
      mt_cg_line(b, "wi = %s;", v);
      ld(g, g->peep, "pd + H + j", v, sizeof v);
      mt_cg_line(b, "wo = %s;", v);
      ld(g, g->peep, "pd + 2 * H + j", v, sizeof v);
      mt_cg_line(b, "wf = %s;", v);
    }
    mt_cg_line(b, "const double cp = sh_c[j];");
    mt_cg_line(b, "double ig, fg, cg, og, hc;");
    mt_cg_line(b, "pi = pi + wi * cp;");
    clip(g, "pi");
    mt_cg_line(b, "pf = pf + wf * cp;");
    clip(g, "pf");
    clip(g, "pc");
    for (int d = 0; d < p->directions; d++) {
      if (p->directions == 2) mt_cg_line(b, "if (d == %d) {", d);
      act(g, d, 0, "ig", "pi");
      if (p->input_forget)
        mt_cg_line(b, "fg = 1.0 - ig;");
      else
        act(g, d, 0, "fg", "pf");
      act(g, d, 1, "cg", "pc");
      if (p->directions == 2) mt_cg_line(b, "}");
    }
    mt_cg_line(b, "const double cn = fg * cp + ig * cg;");
    mt_cg_line(b, "po = po + wo * cn;");
    clip(g, "po");
    for (int d = 0; d < p->directions; d++) {
      if (p->directions == 2) mt_cg_line(b, "if (d == %d) {", d);
      act(g, d, 0, "og", "po");
      act(g, d, 2, "hc", "cn");
      if (p->directions == 2) mt_cg_line(b, "}");
    }
    mt_cg_line(b, "sh_z[j] = cn;");
    mt_cg_line(b, "sh_n[j] = og * hc;");
  }
  b->indent--;
  mt_cg_line(b, "}");
  mt_cg_line(b, "__syncthreads();");
  /* the new state becomes the state; Y gets it */
  mt_cg_line(b, "for (long long j = threadIdx.x; j < H; j += blockDim.x) {");
  mt_cg_line(b, "  sh_h[j] = sh_n[j];");
  if (p->cell == MT_RNN_LSTM) mt_cg_line(b, "  sh_c[j] = sh_z[j];");
  if (g->y[0]) {
    b->indent++;
    store(g, g->y, "yo + j", "sh_n[j]");
    b->indent--;
  }
  mt_cg_line(b, "}");
  mt_cg_line(b, "__syncthreads();");
}

mt_status *mt_cg_rnn_body(cg_body *b, const mt_node *n, const mt_kc_rnn *p, int64_t *out_work) {
  const mt_module *m = b->m;
  const mt_value *x = mt_module_value_c(m, n->inputs[0]);
  rnn_gen g = {.b = b, .p = p, .dt = x->dtype};
  if (!mt_cg_ctype(x->dtype) || !mt_dtype_is_float_any(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "%s of %s", n->op_type, mt_dtype_name(x->dtype));
  if (p->hidden > RNN_MAX_HIDDEN)
    return MT_ERR(UNIMPLEMENTED,
                  "%s with hidden_size %lld: the generated kernel keeps the state in shared "
                  "memory, at most %d units",
                  n->op_type, (long long)p->hidden, RNN_MAX_HIDDEN);
  g.seq = x->dims[p->layout ? 1 : 0];
  g.batch = x->dims[p->layout ? 0 : 1];
  g.in = x->dims[2];
  g.hid = p->hidden;
  g.gates = p->cell == MT_RNN_LSTM ? 4 : p->cell == MT_RNN_GRU ? 3 : 1;
  bool lstm = p->cell == MT_RNN_LSTM;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, g.x));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, g.w));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, g.r));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 3, g.bias));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 4, g.lens));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 5, g.h0));
  if (lstm) {
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 6, g.c0));
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 7, g.peep));
  }
  param_out(b, n, 0, g.y);
  param_out(b, n, 1, g.yh);
  if (lstm) param_out(b, n, 2, g.yc);
  if (!g.x[0] || !g.w[0] || !g.r[0]) return MT_ERR(INTERNAL, "X, W or R is not a parameter");
  int64_t nd = p->directions;
  *out_work = nd * g.batch; /* one block per sequence */
  mt_cg_line(b, "const long long S = %lldLL, NB = %lldLL, IN = %lldLL, H = %lldLL, G = %lldLL;",
             (long long)g.seq, (long long)g.batch, (long long)g.in, (long long)g.hid,
             (long long)(g.gates * g.hid));
  mt_cg_line(b, "MT_SHARED(double, sh_h, [%lld]);", (long long)g.hid);
  mt_cg_line(b, "MT_SHARED(double, sh_n, [%lld]);", (long long)g.hid);
  mt_cg_line(b, "MT_SHARED(double, sh_z, [%lld]);", (long long)g.hid);
  if (p->cell == MT_RNN_GRU) mt_cg_line(b, "MT_SHARED(double, sh_r, [%lld]);", (long long)g.hid);
  if (lstm) mt_cg_line(b, "MT_SHARED(double, sh_c, [%lld]);", (long long)g.hid);
  mt_cg_line(b, "(void)NB; (void)G;");
  mt_cg_line(b, "for (long long sq = blockIdx.x; sq < %lldLL; sq += gridDim.x) {",
             (long long)*out_work);
  b->indent++;
  mt_cg_line(b, "const long long d = sq / NB, bb = sq %% NB;");
  mt_cg_line(b, "const long long wd = d * G, bd = d * 2 * G, pd = d * 3 * H;");
  mt_cg_line(b, "(void)bd; (void)pd;");
  /* the state vectors' offset in initial_h / Y_h / Y_c */
  if (p->layout)
    mt_cg_line(b, "const long long so = (bb * %lldLL + d) * H;", (long long)nd);
  else
    mt_cg_line(b, "const long long so = (d * NB + bb) * H;");
  mt_cg_line(b, "(void)so;");
  if (g.lens[0]) {
    mt_cg_line(b, "long long len = (long long)%s[bb];", g.lens);
    mt_cg_line(b, "len = len < 0 ? 0 : (len > S ? S : len);");
  } else {
    mt_cg_line(b, "const long long len = S;");
  }
  char v[128];
  mt_cg_line(b, "for (long long j = threadIdx.x; j < H; j += blockDim.x) {");
  if (g.h0[0]) {
    ld(&g, g.h0, "so + j", v, sizeof v);
    mt_cg_line(b, "  sh_h[j] = %s;", v);
  } else {
    mt_cg_line(b, "  sh_h[j] = 0.0;");
  }
  if (lstm) {
    if (g.c0[0]) {
      ld(&g, g.c0, "so + j", v, sizeof v);
      mt_cg_line(b, "  sh_c[j] = %s;", v);
    } else {
      mt_cg_line(b, "  sh_c[j] = 0.0;");
    }
  }
  mt_cg_line(b, "}");
  mt_cg_line(b, "__syncthreads();");
  if (nd == 2)
    mt_cg_line(b, "const bool rev = d == 1;");
  else
    mt_cg_line(b, "const bool rev = %s;", p->reverse ? "true" : "false");
  mt_cg_line(b, "for (long long s = 0; s < len; s++) {");
  b->indent++;
  mt_cg_line(b, "const long long t = rev ? len - 1 - s : s;");
  if (p->layout)
    mt_cg_line(b, "const long long xo = (bb * S + t) * IN;");
  else
    mt_cg_line(b, "const long long xo = (t * NB + bb) * IN;");
  if (p->layout)
    mt_cg_line(b, "const long long yo = ((bb * S + t) * %lldLL + d) * H;", (long long)nd);
  else
    mt_cg_line(b, "const long long yo = ((t * %lldLL + d) * NB + bb) * H;", (long long)nd);
  mt_cg_line(b, "(void)yo;");
  emit_step(&g);
  b->indent--;
  mt_cg_line(b, "}");
  if (g.y[0]) {
    /* steps past the row's length are zeros */
    mt_cg_line(b, "for (long long t = len; t < S; t++)");
    mt_cg_line(b, "  for (long long j = threadIdx.x; j < H; j += blockDim.x) {");
    if (p->layout)
      mt_cg_line(b, "    const long long yo = ((bb * S + t) * %lldLL + d) * H;", (long long)nd);
    else
      mt_cg_line(b, "    const long long yo = ((t * %lldLL + d) * NB + bb) * H;", (long long)nd);
    b->indent += 2;
    store(&g, g.y, "yo + j", "0.0");
    b->indent -= 2;
    mt_cg_line(b, "  }");
  }
  mt_cg_line(b, "for (long long j = threadIdx.x; j < H; j += blockDim.x) {");
  b->indent++;
  if (g.yh[0]) store(&g, g.yh, "so + j", "sh_h[j]");
  if (g.yc[0]) store(&g, g.yc, "so + j", "sh_c[j]");
  b->indent--;
  mt_cg_line(b, "}");
  /* the next sequence of this block overwrites the shared state */
  mt_cg_line(b, "__syncthreads();");
  b->indent--;
  mt_cg_line(b, "}");
  return NULL;
}
