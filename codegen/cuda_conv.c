/* Convolution kernels: a conv group (Conv + its epilogue) or a grouped-conv horizontal group
 * (identical conv shapes in several tenants, each with its own weights and epilogue) becomes one
 * kernel of one of two shapes:
 *
 *  - implicit GEMM: per conv group g, D[MG x N] = W_g[MG x K] * im2col(X)_g[K x N], with
 *    MG = C_out / group, N = batch * output positions, K = C_in / group * kernel taps. A block
 *    computes a TM x TN output tile (16x16 threads, TM/16 x TN/16 outputs each), staging TK = 16
 *    columns of W and TK rows of the im2col matrix (gathered on the fly, zeros in padding) in shared
 *    memory per step of its K loop. Every output sums over k in ascending order whatever the tile,
 *    so tiling and grouping never change a result.
 *  - direct: depthwise-like convs (one input channel per group and fewer than 16 output channels
 *    per group, where a GEMM tile would be mostly empty rows): one thread per output element,
 *    taps in row-major order starting from the bias, exactly runtime/cpu's depthwise order.
 *
 * Both are grid-stride over their work units (tiles or elements) across every member, so a grid
 * sized to the partition's SMs computes the same result as any other. The epilogue (bias, Relu,
 * Clip, a residual Add, casts...) is the group's remaining nodes, written by the elementwise value
 * emitter with the conv output bound to the accumulator.
 *
 * ConvTranspose is the gather form of the direct shape: one thread per output element walks the
 * kernel taps in order, finds the one input position each tap maps from (if any: stride
 * divisibility and bounds), sums that position over the group's input channels and adds the sum
 * to the accumulator started from the bias. No atomics and no scatter, so the result is
 * deterministic, and the order (bias, then per tap a channel sum) is runtime/cpu's col2im order;
 * only its GEMM's channel-sum order may differ (within 1e-5 relative). */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

#define CONV_TK 16
#define CONV_THREADS 256 /* 16 x 16 */
#define CONV_MAX_MEMBERS 64

typedef struct conv_shape {
  mt_kc_conv kc;
  int64_t cg, mg, kk, k, sp, in_sp, n; /* see the file comment */
  bool direct;
  bool transpose; /* ConvTranspose: geometry in the forward sense, in[] is the output's */
  int tm, tn;     /* tile (implicit GEMM) */
  int64_t tiles_m, tiles_n, units; /* units per member: tiles, or output elements */
} conv_shape;

/* The accumulator binding for the epilogue: the conv output at offset `off` is variable `var`. */
typedef struct conv_epi {
  mt_value_id conv_out;
  char off[MT_CG_NAME], var[MT_CG_NAME];
} conv_epi;

static mt_status *epi_special(cg_body *b, mt_value_id v, const char *off, char *var) {
  const conv_epi *e = b->special_ctx;
  if (v != e->conv_out) return MT_ERR(NOT_FOUND, "not the conv output");
  if (strcmp(off, e->off) != 0)
    return MT_ERR(UNIMPLEMENTED,
                  "conv: the epilogue reads the conv output at another element than it writes");
  snprintf(var, MT_CG_NAME, "%s", e->var);
  return NULL;
}

static void open_block(cg_body *b, const char *fmt_line) {
  mt_cg_line(b, "%s", fmt_line);
  b->indent++;
  b->depth++;
}

static void close_block(cg_body *b) {
  mt_cg_forget(b, b->depth);
  b->depth--;
  b->indent--;
  mt_cg_line(b, "}");
}

/* The conv node of group fg, its index in the group and its lowered call; UNIMPLEMENTED for what
 * this generator does not cover. */
MT_MUST_USE static mt_status *find_conv(const cg_body *b, int *out_k) {
  const mt_fused_group *fg = b->fg;
  for (int k = 0; k < fg->n_nodes; k++) {
    if (fg->nodes[k] != fg->anchor) continue;
    const mt_kernel_call *c = &b->calls[k];
    if (c->kind != MT_KERNEL_CONV && c->kind != MT_KERNEL_CONV_TRANSPOSE) break;
    const mt_node *n = mt_module_node_c(b->m, fg->anchor);
    for (int i = 0; i < n->n_inputs && i < 3; i++) {
      if (n->inputs[i] == MT_NO_VALUE) continue;
      if (mt_module_value_c(b->m, n->inputs[i])->dtype != MT_DTYPE_FLOAT32)
        return MT_ERR(UNIMPLEMENTED, "%s: input %d is %s (the generator handles float32)",
                      mt_cg_node_label(b->m, fg->anchor), i,
                      mt_dtype_name(mt_module_value_c(b->m, n->inputs[i])->dtype));
    }
    *out_k = k;
    return NULL;
  }
  return MT_ERR(UNIMPLEMENTED, "conv group without a Conv anchor (%s)",
                mt_cg_node_label(b->m, fg->anchor >= 0 ? fg->anchor : fg->nodes[0]));
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static void shape_of(const mt_kc_conv *kc, bool transpose, int sms, int tile_n_override,
                     conv_shape *s) {
  memset(s, 0, sizeof *s);
  s->kc = *kc;
  s->transpose = transpose;
  s->cg = kc->c_in / kc->group;
  s->mg = kc->c_out / kc->group;
  s->kk = mt_conv_geom_kernel_size(&kc->geom);
  s->k = s->cg * s->kk;
  s->sp = mt_conv_geom_out_size(&kc->geom);
  s->in_sp = mt_conv_geom_in_size(&kc->geom);
  s->n = kc->batch * s->sp;
  if (transpose) {
    /* gather form: one thread per output element (the output's positions are in[]) */
    s->direct = true;
    s->units = kc->batch * kc->c_out * s->in_sp;
    return;
  }
  s->direct = s->cg == 1 && s->mg < 16;
  if (s->direct) {
    s->units = kc->batch * kc->c_out * s->sp;
    return;
  }
  s->tm = s->mg <= 16 ? 16 : s->mg <= 32 ? 32 : 64;
  s->tn = 64;
  if (tile_n_override == 16 || tile_n_override == 32 || tile_n_override == 64) {
    s->tn = tile_n_override;
  } else {
    /* Smaller position tiles until the partition's SMs all get one (more, smaller tiles beat idle
     * SMs); never below 16 columns, where a tile stops amortising its weight loads. */
    while (s->tn > 16 && kc->group * ceil_div(s->mg, s->tm) * ceil_div(s->n, s->tn) < sms)
      s->tn /= 2;
  }
  s->tiles_m = ceil_div(s->mg, s->tm);
  s->tiles_n = ceil_div(s->n, s->tn);
  s->units = kc->group * s->tiles_m * s->tiles_n;
}

/* Decomposes linear index `lin` (a variable) of a row-major shape dims[0..n) into names
 * <prefix><d>. */
static void decompose(cg_body *b, const char *lin, int n, const int64_t *dims, const char *prefix) {
  int64_t stride = 1;
  for (int d = n - 1; d >= 0; d--) {
    mt_cg_line(b, "const long long b%d_%s%d = (%s / %lldLL) %% %lldLL;", b->index, prefix, d, lin,
               (long long)stride, (long long)dims[d]);
    stride *= dims[d];
  }
}

/* The epilogue of one output element: the conv value is variable y at output offset off (both
 * declared by the caller); every group output is computed and stored at off. */
MT_MUST_USE static mt_status *emit_epilogue(cg_body *b, mt_value_id conv_out, int64_t numel,
                                            const char *off, const char *y) {
  conv_epi e = {.conv_out = conv_out};
  snprintf(e.off, sizeof e.off, "%s", off);
  snprintf(e.var, sizeof e.var, "%s", y);
  b->special = epi_special;
  b->special_ctx = &e;
  mt_status *st = NULL;
  for (int j = 0; !st && j < b->fg->n_outputs; j++) {
    mt_value_id v = b->fg->outputs[j];
    if (mt_cg_numel(b->m, v) != numel) {
      st = MT_ERR(UNIMPLEMENTED, "conv: group output '%s' is not the conv output's size",
                  mt_module_value_c(b->m, v)->name);
      break;
    }
    char var[MT_CG_NAME], ptr[MT_CG_NAME];
    st = mt_cg_emit_value(b, v, off, var);
    if (st) break;
    snprintf(ptr, sizeof ptr, "b%d_out%d", b->index, j);
    mt_cg_store(b, mt_module_value_c(b->m, v)->dtype, ptr, off, var);
  }
  b->special = NULL;
  b->special_ctx = NULL;
  return st;
}

/* The bias of output channel `oc` added to accumulator `acc` (in place), when the conv has one. */
MT_MUST_USE static mt_status *emit_bias(cg_body *b, const mt_node *conv, const char *oc,
                                        const char *acc) {
  if (conv->n_inputs < 3 || conv->inputs[2] == MT_NO_VALUE) return NULL;
  char var[MT_CG_NAME];
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, conv->inputs[2], oc, var));
  mt_cg_line(b, "%s = %s + %s;", acc, var, acc);
  return NULL;
}

/* Input element of image channel `chan` (an expression) at the window of output position
 * variables o<d> and tap variables t<d>: declares `float b<i>_<name>` (0 in padding). */
MT_MUST_USE static mt_status *emit_window_read(cg_body *b, const mt_node *conv, const conv_shape *s,
                                               const char *nb, const char *chan, const char *name) {
  const mt_conv_geom *g = &s->kc.geom;
  int i = b->index;
  mt_cg_line(b, "float b%d_%s = 0.0f;", i, name);
  mt_cg_line(b, "long long b%d_xo_%s = (%s * %lldLL + %s) * %lldLL;", i, name, nb,
             (long long)s->kc.c_in, chan, (long long)s->in_sp);
  mt_cg_line(b, "bool b%d_ok_%s = true;", i, name);
  int64_t stride = 1;
  for (int d = g->nsp - 1; d >= 0; d--) {
    mt_cg_line(b, "const long long b%d_i%d_%s = b%d_o%d * %lldLL - %lldLL + b%d_t%d * %lldLL;", i,
               d, name, i, d, (long long)g->stride[d], (long long)g->pad_begin[d], i, d,
               (long long)g->dilation[d]);
    mt_cg_line(b, "b%d_ok_%s = b%d_ok_%s && b%d_i%d_%s >= 0 && b%d_i%d_%s < %lldLL;", i, name, i,
               name, i, d, name, i, d, name, (long long)g->in[d]);
    mt_cg_line(b, "b%d_xo_%s += b%d_i%d_%s * %lldLL;", i, name, i, d, name, (long long)stride);
    stride *= g->in[d];
  }
  char cond[96], off[MT_CG_NAME], var[MT_CG_NAME];
  snprintf(cond, sizeof cond, "if (b%d_ok_%s) {", i, name);
  snprintf(off, sizeof off, "b%d_xo_%s", i, name);
  open_block(b, cond);
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, conv->inputs[0], off, var));
  mt_cg_line(b, "b%d_%s = %s;", i, name, var);
  close_block(b);
  return NULL;
}

/* The direct body: output element L (all members' shapes are equal) of body b. */
MT_MUST_USE static mt_status *direct_body(cg_body *b, const mt_node *conv, const conv_shape *s) {
  const mt_conv_geom *g = &s->kc.geom;
  int i = b->index;
  mt_cg_line(b, "const long long b%d_p = L %% %lldLL;", i, (long long)s->sp);
  mt_cg_line(b, "const long long b%d_oc = (L / %lldLL) %% %lldLL;", i, (long long)s->sp,
             (long long)s->kc.c_out);
  mt_cg_line(b, "const long long b%d_nb = L / %lldLL;", i, (long long)(s->sp * s->kc.c_out));
  char p[MT_CG_NAME];
  snprintf(p, sizeof p, "b%d_p", i);
  decompose(b, p, g->nsp, g->out, "o");
  mt_cg_line(b, "float b%d_acc = 0.0f;", i);
  char oc[MT_CG_NAME], acc[MT_CG_NAME], chan[64];
  snprintf(oc, sizeof oc, "b%d_oc", i);
  snprintf(acc, sizeof acc, "b%d_acc", i);
  /* runtime/cpu starts from the bias and adds the taps in order: the same rounding here. */
  MT_RETURN_IF_ERROR_PLAIN(emit_bias(b, conv, oc, acc));
  mt_cg_line(b, "for (long long b%d_t = 0; b%d_t < %lldLL; b%d_t++) {", i, i, (long long)s->kk, i);
  b->indent++;
  b->depth++;
  char t[MT_CG_NAME];
  snprintf(t, sizeof t, "b%d_t", i);
  decompose(b, t, g->nsp, g->kernel, "t");
  snprintf(chan, sizeof chan, "b%d_oc / %lldLL", i, (long long)s->mg);
  char nb[MT_CG_NAME];
  snprintf(nb, sizeof nb, "b%d_nb", i);
  MT_RETURN_IF_ERROR_PLAIN(emit_window_read(b, conv, s, nb, chan, "x"));
  char woff[64], w[MT_CG_NAME];
  snprintf(woff, sizeof woff, "b%d_wo", i);
  mt_cg_line(b, "const long long b%d_wo = b%d_oc * %lldLL + b%d_t;", i, i, (long long)s->kk, i);
  mt_cg_line(b, "if (b%d_ok_x) {", i);
  b->indent++;
  b->depth++;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, conv->inputs[1], woff, w));
  mt_cg_line(b, "b%d_acc = b%d_acc + %s * b%d_x;", i, i, w, i);
  close_block(b);
  close_block(b);
  return emit_epilogue(b, conv->outputs[0], s->units, "L", acc);
}

/* The ConvTranspose gather body: output element L of body b (geometry in the forward sense, so
 * g->in is the output's spatial shape and g->out the input's). Output position y reads input
 * position o along dim d through tap t when y + pad = o * stride + t * dilation. */
MT_MUST_USE static mt_status *transpose_body(cg_body *b, const mt_node *conv, const conv_shape *s) {
  const mt_conv_geom *g = &s->kc.geom;
  int i = b->index;
  mt_cg_line(b, "const long long b%d_p = L %% %lldLL;", i, (long long)s->in_sp);
  mt_cg_line(b, "const long long b%d_oc = (L / %lldLL) %% %lldLL;", i, (long long)s->in_sp,
             (long long)s->kc.c_out);
  mt_cg_line(b, "const long long b%d_nb = L / %lldLL;", i, (long long)(s->in_sp * s->kc.c_out));
  mt_cg_line(b, "const long long b%d_g = b%d_oc / %lldLL, b%d_m = b%d_oc %% %lldLL;", i, i,
             (long long)s->mg, i, i, (long long)s->mg);
  char p[MT_CG_NAME], t[MT_CG_NAME], oc[MT_CG_NAME], acc[MT_CG_NAME];
  snprintf(p, sizeof p, "b%d_p", i);
  snprintf(t, sizeof t, "b%d_t", i);
  snprintf(oc, sizeof oc, "b%d_oc", i);
  snprintf(acc, sizeof acc, "b%d_acc", i);
  decompose(b, p, g->nsp, g->in, "y");
  mt_cg_line(b, "float b%d_acc = 0.0f;", i);
  /* runtime/cpu fills the bias first, then col2im adds each tap's channel sum in tap order */
  MT_RETURN_IF_ERROR_PLAIN(emit_bias(b, conv, oc, acc));
  mt_cg_line(b, "for (long long b%d_t = 0; b%d_t < %lldLL; b%d_t++) {", i, i, (long long)s->kk, i);
  b->indent++;
  b->depth++;
  decompose(b, t, g->nsp, g->kernel, "t");
  mt_cg_line(b, "bool b%d_ok = true;", i);
  mt_cg_line(b, "long long b%d_xs = 0;", i);
  int64_t stride = 1;
  for (int d = g->nsp - 1; d >= 0; d--) {
    mt_cg_line(b, "const long long b%d_q%d = b%d_y%d + %lldLL - b%d_t%d * %lldLL;", i, d, i, d,
               (long long)g->pad_begin[d], i, d, (long long)g->dilation[d]);
    mt_cg_line(b, "const long long b%d_o%d = b%d_q%d / %lldLL;", i, d, i, d,
               (long long)g->stride[d]);
    mt_cg_line(b, "b%d_ok = b%d_ok && b%d_q%d >= 0 && b%d_q%d %% %lldLL == 0 && b%d_o%d < %lldLL;",
               i, i, i, d, i, d, (long long)g->stride[d], i, d, (long long)g->out[d]);
    mt_cg_line(b, "b%d_xs += b%d_o%d * %lldLL;", i, i, d, (long long)stride);
    stride *= g->out[d];
  }
  mt_cg_line(b, "if (b%d_ok) {", i);
  b->indent++;
  b->depth++;
  mt_cg_line(b, "float b%d_s = 0.0f;", i);
  mt_cg_line(b, "for (long long b%d_c = 0; b%d_c < %lldLL; b%d_c++) {", i, i, (long long)s->cg, i);
  b->indent++;
  b->depth++;
  mt_cg_line(b, "const long long b%d_ci = b%d_g * %lldLL + b%d_c;", i, i, (long long)s->cg, i);
  mt_cg_line(b, "const long long b%d_xo = (b%d_nb * %lldLL + b%d_ci) * %lldLL + b%d_xs;", i, i,
             (long long)s->kc.c_in, i, (long long)s->sp, i);
  mt_cg_line(b, "const long long b%d_wo = (b%d_ci * %lldLL + b%d_m) * %lldLL + b%d_t;", i, i,
             (long long)s->mg, i, (long long)s->kk, i);
  char xoff[MT_CG_NAME], woff[MT_CG_NAME], xv[MT_CG_NAME], wv[MT_CG_NAME];
  snprintf(xoff, sizeof xoff, "b%d_xo", i);
  snprintf(woff, sizeof woff, "b%d_wo", i);
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, conv->inputs[0], xoff, xv));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, conv->inputs[1], woff, wv));
  mt_cg_line(b, "b%d_s = b%d_s + %s * %s;", i, i, wv, xv);
  close_block(b);
  mt_cg_line(b, "b%d_acc = b%d_acc + b%d_s;", i, i, i);
  close_block(b);
  close_block(b);
  return emit_epilogue(b, conv->outputs[0], s->units, "L", acc);
}

/* The implicit-GEMM body: tile `tile` of body b, with the block's shared staging arrays. partial
 * (split-K): only k in [kb, ke) (the body's parameters), and the sums go to scratch[sbase + the
 * output offset] for the reduce kernel, which adds bias and epilogue. */
MT_MUST_USE static mt_status *tile_body(cg_body *b, const mt_node *conv, const conv_shape *s,
                                        bool partial) {
  const mt_conv_geom *g = &s->kc.geom;
  int i = b->index, rm = s->tm / 16, rn = s->tn / 16;
  char kbeg[32] = "kb", kend[32] = "ke";
  if (!partial) {
    snprintf(kbeg, sizeof kbeg, "0");
    snprintf(kend, sizeof kend, "%lldLL", (long long)s->k);
  }
  mt_cg_line(b, "const long long b%d_tn = tile %% %lldLL;", i, (long long)s->tiles_n);
  mt_cg_line(b, "const long long b%d_tm = (tile / %lldLL) %% %lldLL;", i, (long long)s->tiles_n,
             (long long)s->tiles_m);
  mt_cg_line(b, "const long long b%d_g = tile / %lldLL;", i, (long long)(s->tiles_n * s->tiles_m));
  mt_cg_line(b, "const int b%d_tx = (int)threadIdx.x %% 16, b%d_ty = (int)threadIdx.x / 16;", i, i);
  mt_cg_line(b, "float b%d_acc[%d][%d];", i, rm, rn);
  mt_cg_line(b, "for (int r = 0; r < %d; r++)", rm);
  mt_cg_line(b, "  for (int c = 0; c < %d; c++) b%d_acc[r][c] = 0.0f;", rn, i);
  mt_cg_line(b, "for (long long b%d_k0 = %s; b%d_k0 < %s; b%d_k0 += %d) {", i, kbeg, i, kend, i,
             CONV_TK);
  b->indent++;
  b->depth++;
  /* W tile: consecutive threads walk k (contiguous in a weight row). */
  mt_cg_line(b, "for (int q = (int)threadIdx.x; q < %d; q += %d) {", CONV_TK * s->tm, CONV_THREADS);
  b->indent++;
  b->depth++;
  mt_cg_line(b, "const long long b%d_ka = b%d_k0 + q %% %d, b%d_m = b%d_tm * %dLL + q / %d;", i, i,
             CONV_TK, i, i, s->tm, CONV_TK);
  mt_cg_line(b, "float b%d_a = 0.0f;", i);
  mt_cg_line(b, "if (b%d_ka < %s && b%d_m < %lldLL) {", i, kend, i, (long long)s->mg);
  b->indent++;
  b->depth++;
  mt_cg_line(b, "const long long b%d_wo = (b%d_g * %lldLL + b%d_m) * %lldLL + b%d_ka;", i, i,
             (long long)s->mg, i, (long long)s->k, i);
  char woff[MT_CG_NAME], w[MT_CG_NAME];
  snprintf(woff, sizeof woff, "b%d_wo", i);
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, conv->inputs[1], woff, w));
  mt_cg_line(b, "b%d_a = %s;", i, w);
  close_block(b);
  mt_cg_line(b, "As[(q %% %d) * %d + q / %d] = b%d_a;", CONV_TK, s->tm, CONV_TK, i);
  close_block(b);
  /* im2col tile: consecutive threads walk output positions (neighbouring input reads). */
  mt_cg_line(b, "for (int q = (int)threadIdx.x; q < %d; q += %d) {", CONV_TK * s->tn, CONV_THREADS);
  b->indent++;
  b->depth++;
  mt_cg_line(b, "const long long b%d_kb = b%d_k0 + q / %d, b%d_n = b%d_tn * %dLL + q %% %d;", i, i,
             s->tn, i, i, s->tn, s->tn);
  mt_cg_line(b, "float b%d_bv = 0.0f;", i);
  mt_cg_line(b, "if (b%d_kb < %s && b%d_n < %lldLL) {", i, kend, i, (long long)s->n);
  b->indent++;
  b->depth++;
  mt_cg_line(b, "const long long b%d_c = b%d_kb / %lldLL, b%d_tap = b%d_kb %% %lldLL;", i, i,
             (long long)s->kk, i, i, (long long)s->kk);
  mt_cg_line(b, "const long long b%d_nb = b%d_n / %lldLL, b%d_p = b%d_n %% %lldLL;", i, i,
             (long long)s->sp, i, i, (long long)s->sp);
  char p[MT_CG_NAME], t[MT_CG_NAME], chan[64], nb[MT_CG_NAME];
  snprintf(p, sizeof p, "b%d_p", i);
  snprintf(t, sizeof t, "b%d_tap", i);
  snprintf(chan, sizeof chan, "b%d_g * %lldLL + b%d_c", i, (long long)s->cg, i);
  snprintf(nb, sizeof nb, "b%d_nb", i);
  decompose(b, p, g->nsp, g->out, "o");
  decompose(b, t, g->nsp, g->kernel, "t");
  MT_RETURN_IF_ERROR_PLAIN(emit_window_read(b, conv, s, nb, chan, "x"));
  mt_cg_line(b, "b%d_bv = b%d_x;", i, i);
  close_block(b);
  mt_cg_line(b, "Bs[q] = b%d_bv;", i);
  close_block(b);
  mt_cg_line(b, "__syncthreads();");
  mt_cg_line(b, "for (int kk = 0; kk < %d; kk++) {", CONV_TK);
  mt_cg_line(b, "  float a[%d], bb[%d];", rm, rn);
  mt_cg_line(b, "  for (int r = 0; r < %d; r++) a[r] = As[kk * %d + b%d_ty + 16 * r];", rm, s->tm,
             i);
  mt_cg_line(b, "  for (int c = 0; c < %d; c++) bb[c] = Bs[kk * %d + b%d_tx + 16 * c];", rn, s->tn,
             i);
  mt_cg_line(b, "  for (int r = 0; r < %d; r++)", rm);
  mt_cg_line(b, "    for (int c = 0; c < %d; c++) b%d_acc[r][c] = b%d_acc[r][c] + a[r] * bb[c];",
             rn, i, i);
  mt_cg_line(b, "}");
  mt_cg_line(b, "__syncthreads(); // the next step overwrites As and Bs");
  close_block(b);
  /* Epilogue: every thread's outputs, bias first added to the sum as runtime/cpu pre-fills it. */
  mt_cg_line(b, "for (int r = 0; r < %d; r++) {", rm);
  mt_cg_line(b, "  for (int c = 0; c < %d; c++) {", rn);
  b->indent += 2;
  b->depth++;
  mt_cg_line(b,
             "const long long b%d_m = b%d_tm * %dLL + b%d_ty + 16 * r, b%d_n = b%d_tn * %dLL + "
             "b%d_tx + 16 * c;",
             i, i, s->tm, i, i, i, s->tn, i);
  mt_cg_line(b, "if (b%d_m >= %lldLL || b%d_n >= %lldLL) continue;", i, (long long)s->mg, i,
             (long long)s->n);
  mt_cg_line(b, "const long long b%d_oc = b%d_g * %lldLL + b%d_m;", i, i, (long long)s->mg, i);
  mt_cg_line(b,
             "const long long b%d_off = (b%d_n / %lldLL * %lldLL + b%d_oc) * %lldLL + b%d_n %% "
             "%lldLL;",
             i, i, (long long)s->sp, (long long)s->kc.c_out, i, (long long)s->sp, i,
             (long long)s->sp);
  mt_cg_line(b, "float b%d_y = b%d_acc[r][c];", i, i);
  char oc[MT_CG_NAME], y[MT_CG_NAME], off[MT_CG_NAME];
  snprintf(oc, sizeof oc, "b%d_oc", i);
  snprintf(y, sizeof y, "b%d_y", i);
  snprintf(off, sizeof off, "b%d_off", i);
  if (partial) {
    mt_cg_line(b, "scratch[sbase + b%d_off] = b%d_y;", i, i);
  } else {
    MT_RETURN_IF_ERROR_PLAIN(emit_bias(b, conv, oc, y));
    MT_RETURN_IF_ERROR_PLAIN(
        emit_epilogue(b, conv->outputs[0], s->kc.batch * s->kc.c_out * s->sp, off, y));
  }
  mt_cg_forget(b, b->depth);
  b->depth--;
  b->indent -= 2;
  mt_cg_line(b, "  }");
  mt_cg_line(b, "}");
  return NULL;
}

/* The split-K reduce body: output element L of body b is the sum of the split partial sums in
 * slice order (a fixed order: deterministic, no atomics), then the bias and the epilogue, as the
 * unsplit tile adds them. scratch holds [split][members][elements]; this member's are at
 * moff. */
MT_MUST_USE static mt_status *reduce_body(cg_body *b, const mt_node *conv, const conv_shape *s,
                                          int split, int64_t slice_stride, int64_t moff) {
  int i = b->index;
  mt_cg_line(b, "float b%d_y = scratch[%lldLL + L];", i, (long long)moff);
  mt_cg_line(
      b, "for (long long s = 1; s < %dLL; s++) b%d_y = b%d_y + scratch[s * %lldLL + %lldLL + L];",
      split, i, i, (long long)slice_stride, (long long)moff);
  mt_cg_line(b, "const long long b%d_oc = (L / %lldLL) %% %lldLL;", i, (long long)s->sp,
             (long long)s->kc.c_out);
  char oc[MT_CG_NAME], y[MT_CG_NAME];
  snprintf(oc, sizeof oc, "b%d_oc", i);
  snprintf(y, sizeof y, "b%d_y", i);
  MT_RETURN_IF_ERROR_PLAIN(emit_bias(b, conv, oc, y));
  return emit_epilogue(b, conv->outputs[0], s->kc.batch * s->kc.c_out * s->sp, "L", y);
}

/* What one generated conv kernel computes. */
typedef enum conv_mode {
  CONV_WHOLE,   /* the conv and its epilogue */
  CONV_PARTIAL, /* split-K: partial sums over a K slice per unit, to scratch */
  CONV_REDUCE,  /* split-K: the slices' sums in order, bias, epilogue */
} conv_mode;

/* How a conv kernel is split: split slices of kslice columns of K each (1: not split). */
typedef struct conv_split {
  int split;
  int64_t kslice;
  int64_t elems; /* conv output elements per member (the scratch stride between members) */
} conv_split;

/* Every member's shape (all equal) into *s; UNIMPLEMENTED when members differ or a member is not
 * a conv this file generates. */
MT_MUST_USE static mt_status *member_shapes(const mt_plan *p, const mt_cuda_options *o, int n,
                                            const mt_fused_group *const *fgs, int sms,
                                            conv_shape *s) {
  const mt_allocator *a = mt_module_allocator(p->module);
  mt_sb scratch = {.allocator = a};
  mt_status *st = NULL;
  for (int k = 0; !st && k < n; k++) {
    cg_body *b = mt_allocator_calloc(a, 1, sizeof *b);
    if (!b) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    st = mt_cg_body_init(b, p, fgs[k], k, &scratch);
    int ck = -1;
    if (!st) st = find_conv(b, &ck);
    if (!st) {
      conv_shape sk;
      shape_of(&b->calls[ck].params.conv, b->calls[ck].kind == MT_KERNEL_CONV_TRANSPOSE, sms,
               o->conv_tile_n, &sk);
      if (k == 0)
        *s = sk;
      else if (memcmp(&sk.kc, &s->kc, sizeof sk.kc) != 0 || sk.transpose != s->transpose)
        st = MT_ERR(UNIMPLEMENTED, "conv: members of a grouped conv differ in shape (%s)",
                    mt_cg_node_label(p->module, fgs[k]->anchor));
    }
    mt_cg_body_free(b);
    mt_allocator_free(a, b);
  }
  mt_sb_free(&scratch);
  return st;
}

/* Split-K when the output tiles (every member's) leave SMs of the partition idle: the K loop
 * splits into slices so tiles x slices fill them, each slice at least 4 staging steps long (a
 * shorter one would not amortise its tile's loads and the extra pass). option: 0 auto, 1 never,
 * N > 1 asks for N. */
static conv_split choose_split(const conv_shape *s, int members, int sms, int option) {
  conv_split sp = {.split = 1, .kslice = s->k, .elems = s->kc.batch * s->kc.c_out * s->sp};
  if (s->direct || option == 1) return sp;
  int64_t tiles = s->units * members, want = option > 1 ? option : 1;
  if (option == 0 && tiles < sms) want = sms / tiles;
  int64_t most = s->k / (4 * CONV_TK);
  if (want > most) want = most;
  if (want > 16) want = 16;
  if (want < 2) return sp;
  sp.kslice = ceil_div(ceil_div(s->k, want), CONV_TK) * CONV_TK;
  sp.split = (int)ceil_div(s->k, sp.kslice);
  return sp;
}

bool mt_cg_conv_is_pointwise(const mt_kc_conv *kc) {
  if (kc->group != 1) return false;
  for (int d = 0; d < kc->geom.nsp; d++)
    if (kc->geom.kernel[d] != 1 || kc->geom.stride[d] != 1 || kc->geom.dilation[d] != 1 ||
        kc->geom.pad_begin[d] != 0 || kc->geom.in[d] != kc->geom.out[d])
      return false;
  return true;
}

/* Fractions of the partition's FP32 peak, measured on an H200 (132 SMs) for resnet50's 1x1 convs
 * at batch 8 (docs/codegen.md, "Which conv path"): this file's 16x16-thread tile kernel (no
 * tensor cores, no double buffering, K staged 16 at a time) reached 10-13%, cuBLAS SGEMM (FP32,
 * no TF32) 32-51%. Other shapes and GPUs are assumed alike. The library is assumed to fill the
 * SMs with 64 x 64 tiles and its own split-K (one slice per 256 of K). */
#define CONV_GEN_EFFICIENCY 0.12
#define CONV_LIB_EFFICIENCY 0.40
#define CONV_LIB_TILE 64
#define CONV_LIB_KSLICE 256

static double fill_of(int64_t units, int sms) {
  return units >= sms ? 1.0 : (double)units / (double)sms;
}

bool mt_cg_conv_prefers_gemm(const mt_plan *p, const mt_cuda_options *o, int32_t h, char *why,
                             size_t cap) {
  const mt_horizontal_group *hg = &p->hgroups[h];
  if (o->conv_gemm == 1 || hg->n_members != 1) return false;
  const mt_fused_group *fg = &p->groups[hg->members[0]];
  if (fg->kind != MT_GROUP_CONV || mt_cg_check_dtypes(p, fg)) return false;
  const mt_partition_plan *part = &p->partitions[hg->partition];
  int sms = o->sm_count_override > 0 ? o->sm_count_override
                                     : (part->sm_count > 0 ? part->sm_count : p->arch->sm_count);
  conv_shape s;
  mt_status *st = member_shapes(p, o, 1, &fg, sms, &s);
  if (st || s.transpose || !mt_cg_conv_is_pointwise(&s.kc)) {
    mt_status_free(st);
    return false;
  }
  conv_split sp = choose_split(&s, 1, sms, o->conv_split_k);
  const mt_arch_params *ar = p->arch;
  double share = ar->sm_count > 0 && sms < ar->sm_count ? (double)sms / ar->sm_count : 1.0;
  double peak = ar->fp32_tflops * 1e12 * share, bw = ar->mem_bandwidth_gbs * 1e9 * share;
  double flops = 2.0 * (double)s.mg * (double)s.n * (double)s.k;
  const mt_node *conv = mt_module_node_c(p->module, fg->anchor);
  bool bias = conv->n_inputs > 2 && conv->inputs[2] != MT_NO_VALUE;
  bool epi = bias || fg->n_nodes > 1; /* an epilogue kernel re-reads the result (assumed) */
  int64_t lib_tiles = s.kc.batch * ceil_div(s.mg, CONV_LIB_TILE) *
                      ceil_div(s.n / s.kc.batch, CONV_LIB_TILE) *
                      (s.k > CONV_LIB_KSLICE ? s.k / CONV_LIB_KSLICE : 1);
  double launch = ar->launch_overhead_us * 1e-6;
  double t_gen = flops / (CONV_GEN_EFFICIENCY * peak * fill_of(s.units * sp.split, sms)) +
                 launch * (sp.split > 1 ? 2 : 1);
  double t_lib = flops / (CONV_LIB_EFFICIENCY * peak * fill_of(lib_tiles, sms)) + launch +
                 (epi ? 2.0 * 4.0 * (double)(s.mg * s.n) / bw + launch : 0);
  bool lib = o->conv_gemm == 2 || t_lib < t_gen;
  snprintf(why, cap,
           "1x1 conv as GEMM (%s; cost model: library %.1f us vs implicit GEMM %.1f us): ",
           o->conv_gemm == 2 ? "forced" : "the library call wins", t_lib * 1e6, t_gen * 1e6);
  return lib;
}

/* Writes the bodies of one kernel of the given mode, member by member. */
MT_MUST_USE static mt_status *conv_bodies(const mt_plan *p, int n, const mt_fused_group *const *fgs,
                                          const conv_shape *s, conv_mode mode, const conv_split *sp,
                                          mt_sb *bodies) {
  const mt_allocator *a = mt_module_allocator(p->module);
  mt_status *st = NULL;
  for (int k = 0; !st && k < n; k++) {
    cg_body *b = mt_allocator_calloc(a, 1, sizeof *b);
    if (!b) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    st = mt_cg_body_init(b, p, fgs[k], k, bodies);
    if (!st) {
      const mt_node *conv = mt_module_node_c(p->module, fgs[k]->anchor);
      if (mode == CONV_PARTIAL) {
        mt_sb_printf(bodies,
                     "\nstatic __device__ void b%d_tile(long long tile, long long kb, long long "
                     "ke, long long sbase, MT_SHARED_PTR(float) As, MT_SHARED_PTR(float) Bs",
                     k);
        mt_cg_param_list_inputs(p, fgs[k], k, bodies, true);
        mt_sb_printf(bodies, ",\n    MT_GLOBAL(float) scratch) {\n");
      } else if (mode == CONV_REDUCE) {
        mt_sb_printf(bodies, "\nstatic __device__ void b%d_red(long long L", k);
        mt_cg_param_list(p, fgs[k], k, bodies, true);
        mt_sb_printf(bodies, ",\n    MT_GLOBAL(const float) scratch) {\n");
      } else if (s->direct) {
        mt_sb_printf(bodies, "\nstatic __device__ void b%d_elem(long long L", k);
        mt_cg_param_list(p, fgs[k], k, bodies, true);
        mt_sb_printf(bodies, ") {\n");
      } else {
        mt_sb_printf(bodies,
                     "\nstatic __device__ void b%d_tile(long long tile, MT_SHARED_PTR(float) As, "
                     "MT_SHARED_PTR(float) Bs",
                     k);
        mt_cg_param_list(p, fgs[k], k, bodies, true);
        mt_sb_printf(bodies, ") {\n");
      }
      b->indent = 1;
      if (mode == CONV_REDUCE)
        st = reduce_body(b, conv, s, sp->split, sp->elems * n, sp->elems * k);
      else if (s->transpose)
        st = transpose_body(b, conv, s);
      else if (s->direct)
        st = direct_body(b, conv, s);
      else
        st = tile_body(b, conv, s, mode == CONV_PARTIAL);
      mt_sb_printf(bodies, "}\n");
    }
    mt_cg_body_free(b);
    mt_allocator_free(a, b);
  }
  return st;
}

/* The kernel function of one mode: parameters, the grid-stride loop over units, dispatch to the
 * member bodies. */
static void conv_entry(const mt_plan *p, int n, const mt_fused_group *const *fgs,
                       const conv_shape *s, conv_mode mode, const conv_split *sp, const char *name,
                       mt_sb *src) {
  mt_sb_printf(src, "\nextern \"C\" __global__ void %s(", name);
  mt_sb params = {.allocator = src->allocator};
  for (int k = 0; k < n; k++) {
    if (mode == CONV_PARTIAL)
      mt_cg_param_list_inputs(p, fgs[k], k, &params, true);
    else
      mt_cg_param_list(p, fgs[k], k, &params, true);
  }
  if (mode == CONV_PARTIAL) mt_sb_printf(&params, ",\n    MT_GLOBAL(float) scratch");
  if (mode == CONV_REDUCE) mt_sb_printf(&params, ",\n    MT_GLOBAL(const float) scratch");
  mt_sb_printf(src, "%s) {\n", params.data ? params.data + 6 : "");
  mt_sb_free(&params);
  bool tiles = !s->direct && mode != CONV_REDUCE;
  int64_t per = mode == CONV_REDUCE ? sp->elems : s->units, total = per * n;
  if (tiles) {
    mt_sb_printf(src, "  MT_SHARED(float, As, [%d]);\n  MT_SHARED(float, Bs, [%d]);\n",
                 CONV_TK * s->tm, CONV_TK * s->tn);
    mt_sb_printf(src,
                 "  // grid-stride over every member's tiles%s (uniform per block: barriers "
                 "inside are safe)\n",
                 mode == CONV_PARTIAL ? " and K slices" : "");
    mt_sb_printf(
        src,
        "  for (long long u = (long long)blockIdx.x; u < %lldLL; u += (long long)gridDim.x) "
        "{\n",
        (long long)(total * (mode == CONV_PARTIAL ? sp->split : 1)));
  } else {
    mt_sb_printf(src, "  // grid-stride over every member's output elements\n");
    mt_sb_printf(src,
                 "  for (long long u = (long long)blockIdx.x * blockDim.x + threadIdx.x; u < "
                 "%lldLL;\n       u += (long long)gridDim.x * blockDim.x) {\n",
                 (long long)total);
  }
  if (mode == CONV_PARTIAL) {
    mt_sb_printf(src, "    const long long slice = u / %lldLL, t = u %% %lldLL;\n",
                 (long long)total, (long long)total);
    mt_sb_printf(src,
                 "    const long long kb = slice * %lldLL, ke = kb + %lldLL < %lldLL ? kb + "
                 "%lldLL : %lldLL;\n",
                 (long long)sp->kslice, (long long)sp->kslice, (long long)s->k,
                 (long long)sp->kslice, (long long)s->k);
  } else {
    mt_sb_printf(src, "    const long long t = u;\n");
  }
  const char *fn = mode == CONV_PARTIAL  ? "tile"
                   : mode == CONV_REDUCE ? "red"
                   : s->direct           ? "elem"
                                         : "tile";
  for (int k = 0; k < n; k++) {
    mt_sb_printf(src, "    %sif (t < %lldLL) {\n      b%d_%s(t - %lldLL", k ? "else " : "",
                 (long long)(per * (k + 1)), k, fn, (long long)(per * k));
    if (mode == CONV_PARTIAL)
      mt_sb_printf(src, ", kb, ke, slice * %lldLL + %lldLL, As, Bs", (long long)(sp->elems * n),
                   (long long)(sp->elems * k));
    else if (tiles)
      mt_sb_printf(src, ", As, Bs");
    if (mode == CONV_PARTIAL)
      mt_cg_param_list_inputs(p, fgs[k], k, src, false);
    else
      mt_cg_param_list(p, fgs[k], k, src, false);
    mt_sb_printf(src, "%s);\n    }\n", mode == CONV_WHOLE ? "" : ", scratch");
  }
  mt_sb_printf(src, "  }\n}\n");
}

/* One kernel of the given mode into *out (strings owned by prog's allocator). */
MT_MUST_USE static mt_status *conv_kernel_of(const mt_plan *p, int32_t h, int n,
                                             const mt_fused_group *const *fgs, const conv_shape *s,
                                             conv_mode mode, const conv_split *sp, const char *name,
                                             const char *why, mt_cuda_program *prog,
                                             mt_cuda_kernel *out) {
  const mt_allocator *a = prog->allocator;
  const mt_horizontal_group *hg = &p->hgroups[h];
  mt_sb src = {.allocator = a}, bodies = {.allocator = a};
  mt_status *st = conv_bodies(p, n, fgs, s, mode, sp, &bodies);
  if (!st) {
    mt_sb_printf(&src, "// mtcc generated kernel %s (horizontal group %d, %s)\n", name, h,
                 mt_hgroup_kind_name(hg->kind));
    mt_sb_printf(&src, "// launch: grid %u, block %u, dynamic shared 0 bytes (%s)\n", out->grid,
                 out->block, why);
    out->n_nodes = 0;
    for (int k = 0; k < n; k++) {
      mt_cg_node_comments(p, fgs[k], k, &src);
      out->n_nodes += mode == CONV_PARTIAL ? 0 : fgs[k]->n_nodes;
    }
    mt_sb_printf(&src, "#include \"mt_cuda.h\"\n\n%s%s", mt_cg_prelude,
                 bodies.data ? bodies.data : "");
    conv_entry(p, n, fgs, s, mode, sp, name, &src);
    if (src.oom || bodies.oom) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  int64_t scratch = mode == CONV_WHOLE ? 0 : sp->split * sp->elems * n;
  if (!st)
    st = mt_cg_kernel_finish_io(p, n, fgs, a, name, src.data, why, mode != CONV_PARTIAL, scratch,
                                mode == CONV_PARTIAL, out);
  mt_sb_free(&src);
  mt_sb_free(&bodies);
  return st;
}

mt_status *mt_cg_conv_kernel(const mt_plan *p, const mt_cuda_options *o, int32_t h,
                             mt_cuda_program *prog, mt_cuda_kernel *out) {
  const mt_horizontal_group *hg = &p->hgroups[h];
  if (hg->n_members > CONV_MAX_MEMBERS)
    return MT_ERR(UNIMPLEMENTED, "conv: more than %d members in one grouped conv",
                  CONV_MAX_MEMBERS);
  const mt_fused_group *fgs[CONV_MAX_MEMBERS];
  int n = hg->n_members;
  for (int k = 0; k < n; k++) {
    fgs[k] = &p->groups[hg->members[k]];
    if (fgs[k]->kind != MT_GROUP_CONV)
      return MT_ERR(UNIMPLEMENTED, "conv: member %d of a grouped conv is a %s group", k,
                    mt_group_kind_name(fgs[k]->kind));
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_check_dtypes(p, fgs[k]));
  }
  const mt_partition_plan *part = &p->partitions[hg->partition];
  int sms = o->sm_count_override > 0 ? o->sm_count_override
                                     : (part->sm_count > 0 ? part->sm_count : p->arch->sm_count);
  int bps = o->blocks_per_sm > 0 ? o->blocks_per_sm : 8;
  conv_shape s;
  MT_RETURN_IF_ERROR_PLAIN(member_shapes(p, o, n, fgs, sms, &s));
  conv_split sp = choose_split(&s, n, sms, o->conv_split_k);

  char name[160], why[512];
  mt_cg_kernel_name(p, h, name, sizeof name);
  int64_t total = s.units * n;
  int threads = s.direct ? (o->block_threads > 0 ? o->block_threads : 256) : CONV_THREADS;
  /* Tiles hold 16 accumulators per thread and their staging arrays: assume at most 4 resident
   * blocks per SM (register-bound), elementwise-like direct bodies the option's count. */
  int tile_bps = bps < 4 ? bps : 4;
  int64_t cap = (int64_t)sms * (s.direct ? bps : tile_bps);
  int64_t want = s.direct ? ceil_div(total, threads) : total * sp.split;
  if (want < 1) want = 1;
  out->grid = (unsigned)(want < cap ? want : cap);
  out->block = (unsigned)threads;
  out->dyn_smem = 0;
  out->hgroup = h;
  if (s.transpose)
    snprintf(why, sizeof why,
             "ConvTranspose gather (one thread per output element, taps in order, no atomics): "
             "%lld elements x %d member(s), %lld channel(s) x %lld tap(s) each; %d SMs x %d "
             "blocks/SM cap -> %u blocks of %d",
             (long long)s.units, n, (long long)s.cg, (long long)s.kk, sms, bps, out->grid, threads);
  else if (s.direct)
    snprintf(why, sizeof why,
             "direct conv (1 input channel and %lld output channel(s) per group: a GEMM tile would "
             "be mostly empty): %lld elements x %d member(s); %d SMs x %d blocks/SM cap -> %u "
             "blocks of %d",
             (long long)s.mg, (long long)s.units, n, sms, bps, out->grid, threads);
  else if (sp.split > 1)
    snprintf(why, sizeof why,
             "split-K %d: %lld tiles for %d SMs; implicit GEMM M=%lld N=%lld K=%lld (slices of "
             "%lld) x %lld group(s) x %d member(s); tile %dx%dx%d (%dx%d per thread); partial "
             "sums to scratch, then an ordered reduce -> grid %u x block %d",
             sp.split, (long long)total, sms, (long long)s.mg, (long long)s.n, (long long)s.k,
             (long long)sp.kslice, (long long)s.kc.group, n, s.tm, s.tn, CONV_TK, s.tm / 16,
             s.tn / 16, out->grid, threads);
  else
    snprintf(why, sizeof why,
             "implicit GEMM M=%lld N=%lld K=%lld x %lld group(s) x %d member(s); tile %dx%dx%d "
             "(%dx%d per thread): %lld tiles for %d SMs x %d blocks/SM -> grid %u x block %d",
             (long long)s.mg, (long long)s.n, (long long)s.k, (long long)s.kc.group, n, s.tm, s.tn,
             CONV_TK, s.tm / 16, s.tn / 16, (long long)total, sms, tile_bps, out->grid, threads);
  if (sp.split == 1) return conv_kernel_of(p, h, n, fgs, &s, CONV_WHOLE, &sp, name, why, prog, out);

  /* Split-K: the partial kernel goes into the program first, the reduce kernel (the group's
   * outputs) is *out, so they run in that order. */
  mt_cuda_kernel part_k = *out;
  char part_name[192], red_why[512];
  snprintf(part_name, sizeof part_name, "%s_splitk", name);
  mt_status *st =
      conv_kernel_of(p, h, n, fgs, &s, CONV_PARTIAL, &sp, part_name, why, prog, &part_k);
  if (!st) st = mt_cg_add_kernel(prog, &part_k);
  if (st) {
    mt_cg_kernel_free(prog->allocator, &part_k);
    return st;
  }
  int red_threads = o->block_threads > 0 ? o->block_threads : 256;
  int64_t red_want = ceil_div(sp.elems * n, red_threads), red_cap = (int64_t)sms * bps;
  out->grid = (unsigned)(red_want < red_cap ? (red_want < 1 ? 1 : red_want) : red_cap);
  out->block = (unsigned)red_threads;
  snprintf(red_why, sizeof red_why,
           "split-K %d reduce: %lld elements x %d member(s), the %d partial sums of each in slice "
           "order, then bias and epilogue; %d SMs x %d blocks/SM cap -> %u blocks of %d",
           sp.split, (long long)sp.elems, n, sp.split, sms, bps, out->grid, red_threads);
  return conv_kernel_of(p, h, n, fgs, &s, CONV_REDUCE, &sp, name, red_why, prog, out);
}
