/* Convolutions for the CPU backend (cpu_llvm.c calls mt_cl_emit_conv), in the reference kernel's
 * three shapes (runtime/cpu/conv.c) so results agree: depthwise in cpu_dwconv.c, pointwise (1x1, stride 1, no padding) as one
 * BLAS GEMM per block of output rows, and everything else as im2col into a stack block plus a
 * GEMM. Output is pre-filled with the bias and the GEMM accumulates, as the reference does.
 * Work items are (image, group, block of output rows) or (image, channel) planes: fixed by the
 * shapes, so results do not depend on the thread count. 1-D convs run as 2-D with height 1. */
#ifdef MTCC_HAVE_LLVM

#include "codegen/cpu/cpu_llvm.h"

/* Floats of one work item's im2col block, on the kernel's stack (cpu_abi.h: kernels never
 * allocate); cpu_support.c refuses a conv whose single output row needs more than the maximum. */
#define CONV_COL_FLOATS 65536

typedef struct conv_dims {
  int64_t ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
} conv_dims;

static conv_dims dims_of(const mt_conv_geom *g) {
  conv_dims d = {1, g->in[0],     1, g->out[0],      1, g->kernel[0],
                 1, g->stride[0], 1, g->dilation[0], 0, g->pad_begin[0]};
  if (g->nsp == 2)
    d = (conv_dims){g->in[0],       g->in[1],       g->out[0],       g->out[1],
                    g->kernel[0],   g->kernel[1],   g->stride[0],    g->stride[1],
                    g->dilation[0], g->dilation[1], g->pad_begin[0], g->pad_begin[1]};
  return d;
}

/* y[plane_base + j] = bias[channel] (or 0) for j in [j0, j1), channels [c0, c0 + nc). */
static void fill_bias(em *e, LLVMValueRef py, LLVMValueRef pb, LLVMValueRef plane0, int64_t nc,
                      LLVMValueRef c0, int64_t plane, LLVMValueRef j0, LLVMValueRef j1) {
  loop lc, lj;
  LLVMValueRef co = loop_begin(e, ci64(e, 0), ci64(e, nc), &lc);
  LLVMValueRef ch = LLVMBuildAdd(e->b, c0, co, "");
  LLVMValueRef v = pb ? LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, pb, ch), "") : cf32(e, 0.0f);
  LLVMValueRef base = LLVMBuildAdd(e->b, plane0, LLVMBuildMul(e->b, co, ci64(e, plane), ""), "");
  LLVMValueRef j = loop_begin(e, j0, j1, &lj);
  LLVMBuildStore(e->b, v, gep(e, e->f32, py, LLVMBuildAdd(e->b, base, j, "")));
  loop_end(e, &lj, ci64(e, 1));
  loop_end(e, &lc, ci64(e, 1));
}

/* col[kc * ld + r * ow + o] = x[ci, ih, iw] (0 outside), kc = (ci, kh, kw), rows r0 .. r0+nr. */
static void emit_im2col(em *e, const conv_dims *d, int64_t kg, LLVMValueRef xg, LLVMValueRef col,
                        int64_t ld, LLVMValueRef r0, LLVMValueRef nr) {
  int64_t kk = d->kh * d->kw;
  loop lk, lr, lo;
  LLVMValueRef kc = loop_begin(e, ci64(e, 0), ci64(e, kg), &lk);
  LLVMValueRef ci = LLVMBuildSDiv(e->b, kc, ci64(e, kk), "");
  LLVMValueRef kh =
      LLVMBuildSDiv(e->b, LLVMBuildSRem(e->b, kc, ci64(e, kk), ""), ci64(e, d->kw), "");
  LLVMValueRef kw = LLVMBuildSRem(e->b, kc, ci64(e, d->kw), "");
  LLVMValueRef xc = gep(e, e->f32, xg, LLVMBuildMul(e->b, ci, ci64(e, d->ih * d->iw), ""));
  LLVMValueRef colk = gep(e, e->f32, col, LLVMBuildMul(e->b, kc, ci64(e, ld), ""));
  LLVMValueRef r = loop_begin(e, ci64(e, 0), nr, &lr);
  LLVMValueRef ih = LLVMBuildAdd(
      e->b, LLVMBuildMul(e->b, LLVMBuildAdd(e->b, r0, r, ""), ci64(e, d->sh), ""),
      LLVMBuildSub(e->b, LLVMBuildMul(e->b, kh, ci64(e, d->dh), ""), ci64(e, d->ph), ""), "");
  LLVMValueRef row_ok = LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, ih, ci64(e, 0), ""),
                                     LLVMBuildICmp(e->b, LLVMIntSLT, ih, ci64(e, d->ih), ""), "");
  LLVMValueRef ihc = LLVMBuildSelect(e->b, row_ok, ih, ci64(e, 0), "");
  LLVMValueRef xr = gep(e, e->f32, xc, LLVMBuildMul(e->b, ihc, ci64(e, d->iw), ""));
  LLVMValueRef iw0 =
      LLVMBuildSub(e->b, LLVMBuildMul(e->b, kw, ci64(e, d->dw), ""), ci64(e, d->pw), "");
  LLVMValueRef dst = gep(e, e->f32, colk, LLVMBuildMul(e->b, r, ci64(e, d->ow), ""));
  LLVMValueRef o = loop_begin(e, ci64(e, 0), ci64(e, d->ow), &lo);
  LLVMValueRef iw = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, o, ci64(e, d->sw), ""), iw0, "");
  LLVMValueRef ok =
      LLVMBuildAnd(e->b, row_ok,
                   LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, iw, ci64(e, 0), ""),
                                LLVMBuildICmp(e->b, LLVMIntSLT, iw, ci64(e, d->iw), ""), ""),
                   "");
  /* a clamped address keeps the load in bounds; the select zeroes the padding */
  LLVMValueRef v = LLVMBuildLoad2(
      e->b, e->f32, gep(e, e->f32, xr, LLVMBuildSelect(e->b, ok, iw, ci64(e, 0), "")), "");
  LLVMBuildStore(e->b, LLVMBuildSelect(e->b, ok, v, cf32(e, 0.0f), ""), gep(e, e->f32, dst, o));
  loop_end(e, &lo, ci64(e, 1));
  loop_end(e, &lr, ci64(e, 1));
  loop_end(e, &lk, ci64(e, 1));
}

static bool pointwise(const mt_conv_geom *g) {
  for (int d = 0; d < g->nsp; d++)
    if (g->kernel[d] != 1 || g->stride[d] != 1 || g->pad_begin[d] != 0 || g->in[d] != g->out[d])
      return false;
  return true;
}

mt_status *mt_cl_emit_conv(em *e, const mt_cpu_kernel *k) {
  const mt_kc_conv *c = &k->call.params.conv;
  const mt_node *node = mt_module_node_c(e->m, k->node);
  conv_dims d = dims_of(&c->geom);
  bool has_bias = node->n_inputs > 2 && node->inputs[2] != MT_NO_VALUE;
  LLVMValueRef px = arg_ptr(e, 0), pw = arg_ptr(e, 1), pb = has_bias ? arg_ptr(e, 2) : NULL,
               py = arg_ptr(e, node->n_inputs);
  int64_t cg = c->c_in / c->group, mg = c->c_out / c->group, kk = d.kh * d.kw, kg = cg * kk;
  int64_t plane = d.oh * d.ow, in_plane = d.ih * d.iw;
  if (c->batch == 0 || c->c_out == 0 || plane == 0) return NULL;
  if (cg == 1 && c->group == c->c_in) {
    mt_cl_emit_depthwise(e, k); /* cpu_dwconv.c */
    return NULL;
  }
  bool pw1 = pointwise(&c->geom);
  int64_t rows = pw1 ? (1024 + d.ow - 1) / d.ow : CONV_COL_FLOATS / (kg * d.ow);
  if (rows < 1) rows = 1;
  if (rows > d.oh) rows = d.oh;
  int64_t n_rb = (d.oh + rows - 1) / rows;
  int64_t ld = rows * d.ow;
  LLVMValueRef col = NULL;
  if (!pw1) {
    col = LLVMBuildArrayAlloca(e->b, e->f32, ci64(e, kg * ld), "col");
    LLVMSetAlignment(col, 64);
  }
  loop li;
  LLVMValueRef item = items_begin(e, c->batch * c->group * n_rb, &li);
  LLVMValueRef rb = LLVMBuildSRem(e->b, item, ci64(e, n_rb), "");
  LLVMValueRef ng = LLVMBuildSDiv(e->b, item, ci64(e, n_rb), ""); /* n * group + gi */
  LLVMValueRef gi = LLVMBuildSRem(e->b, ng, ci64(e, c->group), "");
  LLVMValueRef r0 = LLVMBuildMul(e->b, rb, ci64(e, rows), "");
  LLVMValueRef nr =
      LLVMBuildSub(e->b, smin(e, LLVMBuildAdd(e->b, r0, ci64(e, rows), ""), ci64(e, d.oh)), r0, "");
  /* x of (n, gi): channels (n * c_in + gi * cg) = ng * cg; y of (n, gi): ng * mg */
  LLVMValueRef xg = gep(e, e->f32, px, LLVMBuildMul(e->b, ng, ci64(e, cg * in_plane), ""));
  LLVMValueRef yplane0 = LLVMBuildMul(e->b, ng, ci64(e, mg * plane), "");
  LLVMValueRef j0 = LLVMBuildMul(e->b, r0, ci64(e, d.ow), "");
  LLVMValueRef ncols = LLVMBuildMul(e->b, nr, ci64(e, d.ow), "");
  fill_bias(e, py, pb, yplane0, mg, LLVMBuildMul(e->b, gi, ci64(e, mg), ""), plane, j0,
            LLVMBuildAdd(e->b, j0, ncols, ""));
  LLVMValueRef wg = gep(e, e->f32, pw, LLVMBuildMul(e->b, gi, ci64(e, mg * kg), ""));
  LLVMValueRef yblk = gep(e, e->f32, py, LLVMBuildAdd(e->b, yplane0, j0, ""));
  if (pw1) {
    mt_cl_sgemm(e, false, false, ci64(e, mg), ncols, cg, 1.0f, wg, kg, gep(e, e->f32, xg, j0),
                in_plane, 1.0f, yblk, plane);
  } else {
    emit_im2col(e, &d, kg, xg, col, ld, r0, nr);
    mt_cl_sgemm(e, false, false, ci64(e, mg), ncols, kg, 1.0f, wg, kg, col, ld, 1.0f, yblk, plane);
  }
  if (k->n_steps) { /* the fused epilogue on this tile: ncols outputs of each of mg channels */
    loop le;
    LLVMValueRef ch = loop_begin(e, ci64(e, 0), ci64(e, mg), &le);
    LLVMValueRef lo = LLVMBuildAdd(
        e->b, yplane0, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, ch, ci64(e, plane), ""), j0, ""), "");
    mt_cl_emit_epilogue(e, k, lo, LLVMBuildAdd(e->b, lo, ncols, ""));
    loop_end(e, &le, ci64(e, 1));
  }
  items_end(e, &li);
  return NULL;
}

#endif
