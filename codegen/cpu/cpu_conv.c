/* Convolutions for the CPU backend (cpu_llvm.c calls mt_cl_emit_conv), in the reference kernel's
 * three shapes (runtime/cpu/conv.c) so results agree: depthwise in cpu_dwconv.c, pointwise (1x1,
 * stride 1, no padding) as one BLAS GEMM, and everything else as im2col into a stack block plus
 * a GEMM; the GEMM writes (beta 0) and the bias is added in the epilogue's pass. Work items are
 * (image, group, part; see plan_conv): fixed by the shapes, so results do not depend on the
 * thread count. 1-D convs run as 2-D with height 1. */
#ifdef MTCC_HAVE_LLVM

#include "codegen/cpu/cpu_llvm.h"

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

/* Zeroes n floats at p. */
static void zero_floats(em *e, LLVMValueRef p, LLVMValueRef n) {
  LLVMBuildMemSet(e->b, p, LLVMConstInt(LLVMInt8TypeInContext(e->ctx), 0, 0),
                  LLVMBuildMul(e->b, n, ci64(e, 4), ""), 4);
}

/* ceil(a / b) for b > 0 and any a, clamped to [lo, hi]. */
static LLVMValueRef ceil_div_clamp(em *e, LLVMValueRef a, int64_t b, LLVMValueRef lo,
                                   LLVMValueRef hi) {
  /* a >= 0: (a + b - 1) / b; a < 0: a / b truncates toward 0, which is the ceiling */
  LLVMValueRef pos = LLVMBuildICmp(e->b, LLVMIntSGT, a, ci64(e, 0), "");
  LLVMValueRef q = LLVMBuildSDiv(
      e->b, LLVMBuildSelect(e->b, pos, LLVMBuildAdd(e->b, a, ci64(e, b - 1), ""), a, ""),
      ci64(e, b), "");
  return smin(e, smax(e, q, lo), hi);
}

/* col[kc * ld + r * ow + o] = x[ci, ih, iw] (0 outside), kc = (ci, kh, kw), rows r0 .. r0+nr.
 * For a tap (kh, kw) the outputs o whose input column lies inside the row are one range [lo,
 * hi), computed once per tap: the copy needs no per-element test and vectorises, and the
 * padding around it is zeroed in blocks. */
static void emit_im2col(em *e, const conv_dims *d, int64_t kg, LLVMValueRef xg, LLVMValueRef col,
                        int64_t ld, LLVMValueRef r0, LLVMValueRef nr) {
  int64_t kk = d->kh * d->kw;
  loop lci, li, lj, lr, lo_o;
  LLVMValueRef ci = loop_begin(e, ci64(e, 0), ci64(e, kg / kk), &lci);
  LLVMValueRef xc = gep(e, e->f32, xg, LLVMBuildMul(e->b, ci, ci64(e, d->ih * d->iw), ""));
  LLVMValueRef i = loop_begin(e, ci64(e, 0), ci64(e, d->kh), &li);
  LLVMValueRef kci = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, ci, ci64(e, kk), ""),
                                  LLVMBuildMul(e->b, i, ci64(e, d->kw), ""), "");
  LLVMValueRef ih0 =
      LLVMBuildSub(e->b, LLVMBuildMul(e->b, i, ci64(e, d->dh), ""), ci64(e, d->ph), "");
  LLVMValueRef j = loop_begin(e, ci64(e, 0), ci64(e, d->kw), &lj);
  LLVMValueRef base =
      LLVMBuildSub(e->b, LLVMBuildMul(e->b, j, ci64(e, d->dw), ""), ci64(e, d->pw), "");
  /* o * sw + base in [0, iw)  <=>  o in [ceil(-base / sw), ceil((iw - base) / sw)) */
  LLVMValueRef lo =
      ceil_div_clamp(e, LLVMBuildNeg(e->b, base, ""), d->sw, ci64(e, 0), ci64(e, d->ow));
  LLVMValueRef hi =
      ceil_div_clamp(e, LLVMBuildSub(e->b, ci64(e, d->iw), base, ""), d->sw, lo, ci64(e, d->ow));
  LLVMValueRef colk =
      gep(e, e->f32, col, LLVMBuildMul(e->b, LLVMBuildAdd(e->b, kci, j, ""), ci64(e, ld), ""));
  LLVMValueRef r = loop_begin(e, ci64(e, 0), nr, &lr);
  LLVMValueRef ih = LLVMBuildAdd(
      e->b, LLVMBuildMul(e->b, LLVMBuildAdd(e->b, r0, r, ""), ci64(e, d->sh), ""), ih0, "");
  LLVMValueRef dst = gep(e, e->f32, colk, LLVMBuildMul(e->b, r, ci64(e, d->ow), ""));
  LLVMValueRef ok = LLVMBuildAnd(e->b, LLVMBuildICmp(e->b, LLVMIntSGE, ih, ci64(e, 0), ""),
                                 LLVMBuildICmp(e->b, LLVMIntSLT, ih, ci64(e, d->ih), ""), "");
  LLVMBasicBlockRef in = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "row_in");
  LLVMBasicBlockRef pad = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "row_pad");
  LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "row_next");
  LLVMBuildCondBr(e->b, ok, in, pad);
  LLVMPositionBuilderAtEnd(e->b, pad);
  zero_floats(e, dst, ci64(e, d->ow));
  LLVMBuildBr(e->b, next);
  LLVMPositionBuilderAtEnd(e->b, in);
  zero_floats(e, dst, lo);
  LLVMValueRef xr = gep(e, e->f32, xc, LLVMBuildMul(e->b, ih, ci64(e, d->iw), ""));
  LLVMValueRef o = loop_begin(e, lo, hi, &lo_o);
  LLVMValueRef src = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, o, ci64(e, d->sw), ""), base, "");
  LLVMBuildStore(e->b, LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, xr, src), ""),
                 gep(e, e->f32, dst, o));
  loop_end(e, &lo_o, ci64(e, 1));
  zero_floats(e, gep(e, e->f32, dst, hi), LLVMBuildSub(e->b, ci64(e, d->ow), hi, ""));
  LLVMBuildBr(e->b, next);
  LLVMPositionBuilderAtEnd(e->b, next);
  loop_end(e, &lr, ci64(e, 1));
  loop_end(e, &lj, ci64(e, 1));
  loop_end(e, &li, ci64(e, 1));
  loop_end(e, &lci, ci64(e, 1));
}

static bool pointwise(const mt_conv_geom *g) {
  for (int d = 0; d < g->nsp; d++)
    if (g->kernel[d] != 1 || g->stride[d] != 1 || g->pad_begin[d] != 0 || g->in[d] != g->out[d])
      return false;
  return true;
}

/* How a GEMM conv's work is cut, from the shapes only (so any thread count gives the same
 * bits). Per (image, group) the GEMM is Y[mg x plane] = W[mg x kg] col[kg x plane], one item or
 * mt_cl_gemm_parts of it: blocks of output channels when the plane is small next to mg
 * (repacking the columns, and redoing their im2col, per part costs less than repacking the
 * weights), else blocks of output positions. Inside an item an im2col conv walks its columns in
 * chunks of at most CONV_COL_FLOATS floats of im2col. */
typedef struct conv_plan {
  bool pw1;        /* 1x1, stride 1, no padding: the input is the GEMM's B as it is */
  bool split_m;    /* the parts are channel blocks (else blocks of units) */
  int64_t parts;   /* items per (image, group) */
  int64_t mb;      /* channels per item */
  int64_t unit;    /* columns per unit: a whole output row for im2col, 1 for pointwise */
  int64_t n_units; /* units of the plane */
  int64_t ub;      /* units per item */
  int64_t cu;      /* units per im2col chunk (= ub for pointwise) */
} conv_plan;

/* Floats of an im2col chunk, on the kernel's stack (cpu_abi.h: kernels never allocate; the
 * runtime's threads have 8 MiB stacks); cpu_support.c refuses a conv whose single output row
 * needs more. */
#define CONV_COL_FLOATS (256 * 1024)

static conv_plan plan_conv(const mt_kc_conv *c, const conv_dims *d, bool pw1, bool packed) {
  int64_t mg = c->c_out / c->group, kg = c->c_in / c->group * d->kh * d->kw, plane = d->oh * d->ow;
  conv_plan p = {.pw1 = pw1, .parts = 1, .mb = mg, .unit = pw1 ? 1 : d->ow};
  p.n_units = plane / p.unit;
  double flops = 2.0 * (double)mg * (double)plane * (double)kg;
  int64_t want = mt_cl_gemm_parts(c->batch * c->group, flops);
  /* per part the other operand is packed again: kg x plane columns (plus their im2col) when
   * splitting channels, mg x kg weights when splitting positions */
  p.split_m = want > 1 && mg > (pw1 ? plane : 2 * plane);
  if (want > 1 && p.split_m) {
    p.mb = (mg + want - 1) / want;
    if (p.mb > 16) p.mb = (p.mb + 15) / 16 * 16; /* whole register tiles of the BLAS kernel */
    if (packed) p.mb = (p.mb + PG_MR - 1) / PG_MR * PG_MR; /* whole packed panels */
    p.parts = (mg + p.mb - 1) / p.mb;
  }
  p.ub = p.n_units;
  if (want > 1 && !p.split_m) {
    p.ub = (p.n_units + want - 1) / want;
    if (pw1 && p.ub > 16) p.ub = (p.ub + 15) / 16 * 16;
    p.parts = (p.n_units + p.ub - 1) / p.ub;
  }
  p.cu = p.ub;
  if (!pw1) {
    int64_t fit = CONV_COL_FLOATS / (kg * d->ow);
    if (fit < 1) fit = 1;
    if (fit < p.cu) { /* equal chunks: no short last GEMM */
      int64_t n_chunks = (p.cu + fit - 1) / fit;
      p.cu = (p.cu + n_chunks - 1) / n_chunks;
    }
  }
  return p;
}

/* y[lo, lo + n) += b: the bias of one channel on a chunk the GEMM has written. */
static void add_bias(em *e, LLVMValueRef py, LLVMValueRef lo, LLVMValueRef n, LLVMValueRef b) {
  loop lj;
  LLVMValueRef j = loop_begin(e, ci64(e, 0), n, &lj);
  LLVMValueRef p = gep(e, e->f32, py, LLVMBuildAdd(e->b, lo, j, ""));
  LLVMBuildStore(e->b, LLVMBuildFAdd(e->b, LLVMBuildLoad2(e->b, e->f32, p, ""), b, ""), p);
  loop_end(e, &lj, ci64(e, 1));
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
  bool packed = k->packed_gemm && (e->vec_width == 16 || k->packed_v3);
  conv_plan p = plan_conv(c, &d, pointwise(&c->geom), packed);
  LLVMValueRef ap = NULL, bp = NULL; /* the weights packed at compile time (cpu_pgemm.c) */
  if (packed) {
    const mt_constant *wc =
        mt_module_constant(e->m, mt_module_value_c(e->m, node->inputs[1])->constant);
    ap = mt_cl_packed_weights(e, (const float *)wc->data, c->group, mg, kg);
    if (!ap) return MT_ERR(RESOURCE_EXHAUSTED, "%s: out of memory packing the weights", k->name);
    bp = mt_cl_pgemm_scratch(e);
  }
  int64_t ld = p.cu * p.unit; /* the im2col chunk's row length */
  LLVMValueRef col = NULL;
  if (!p.pw1) {
    col = LLVMBuildArrayAlloca(e->b, e->f32, ci64(e, kg * ld), "col");
    LLVMSetAlignment(col, 64);
  }
  loop li, lc;
  LLVMValueRef item = items_begin(e, c->batch * c->group * p.parts, &li);
  LLVMValueRef part = LLVMBuildSRem(e->b, item, ci64(e, p.parts), "");
  LLVMValueRef ng = LLVMBuildSDiv(e->b, item, ci64(e, p.parts), ""); /* n * group + gi */
  LLVMValueRef gi = LLVMBuildSRem(e->b, ng, ci64(e, c->group), "");
  LLVMValueRef m0 = ci64(e, 0), mcount = ci64(e, mg), u0 = ci64(e, 0), u1 = ci64(e, p.n_units);
  if (p.split_m) {
    m0 = LLVMBuildMul(e->b, part, ci64(e, p.mb), "");
    mcount =
        LLVMBuildSub(e->b, smin(e, LLVMBuildAdd(e->b, m0, ci64(e, p.mb), ""), ci64(e, mg)), m0, "");
  } else {
    u0 = LLVMBuildMul(e->b, part, ci64(e, p.ub), "");
    u1 = smin(e, LLVMBuildAdd(e->b, u0, ci64(e, p.ub), ""), ci64(e, p.n_units));
  }
  /* x of (n, gi): channels (n * c_in + gi * cg) = ng * cg; y of (n, gi, m0): ng * mg + m0 */
  LLVMValueRef xg = gep(e, e->f32, px, LLVMBuildMul(e->b, ng, ci64(e, cg * in_plane), ""));
  LLVMValueRef mabs = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, gi, ci64(e, mg), ""), m0, "");
  LLVMValueRef wblk = gep(e, e->f32, pw, LLVMBuildMul(e->b, mabs, ci64(e, kg), ""));
  LLVMValueRef ybase =
      LLVMBuildMul(e->b, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, ng, ci64(e, mg), ""), m0, ""),
                   ci64(e, plane), "");
  LLVMValueRef c0 = loop_begin(e, u0, u1, &lc);
  LLVMValueRef cn =
      LLVMBuildSub(e->b, smin(e, LLVMBuildAdd(e->b, c0, ci64(e, p.cu), ""), u1), c0, "");
  LLVMValueRef j0 = LLVMBuildMul(e->b, c0, ci64(e, p.unit), "");
  LLVMValueRef ncols = LLVMBuildMul(e->b, cn, ci64(e, p.unit), "");
  LLVMValueRef yblk = gep(e, e->f32, py, LLVMBuildAdd(e->b, ybase, j0, ""));
  /* beta 0: the bias joins in the pass below instead of a fill pass before the GEMM */
  LLVMValueRef bsrc = p.pw1 ? gep(e, e->f32, xg, j0) : col;
  int64_t ldb = p.pw1 ? in_plane : ld;
  if (!p.pw1) emit_im2col(e, &d, kg, xg, col, ld, c0, cn);
  if (ap) {
    int64_t panels = (mg + PG_MR - 1) / PG_MR;
    LLVMValueRef apg = gep(e, e->f32, ap, LLVMBuildMul(e->b, gi, ci64(e, panels * kg * PG_MR), ""));
    mt_cl_pgemm(e, apg, panels, bp, LLVMBuildSDiv(e->b, m0, ci64(e, PG_MR), ""), mcount, ncols, kg,
                bsrc, ldb, yblk, plane);
  } else {
    mt_cl_sgemm(e, false, false, mcount, ncols, kg, 1.0f, wblk, kg, bsrc, ldb, 0.0f, yblk, plane);
  }
  if (k->n_steps || pb) { /* bias and the fused epilogue on this chunk while it is in cache */
    loop le;
    LLVMValueRef ch = loop_begin(e, ci64(e, 0), mcount, &le);
    LLVMValueRef lo = LLVMBuildAdd(
        e->b, ybase, LLVMBuildAdd(e->b, LLVMBuildMul(e->b, ch, ci64(e, plane), ""), j0, ""), "");
    e->head_bias =
        pb ? LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, pb, LLVMBuildAdd(e->b, mabs, ch, "")), "")
           : NULL;
    if (k->n_steps)
      mt_cl_emit_epilogue(e, k, lo, LLVMBuildAdd(e->b, lo, ncols, ""));
    else
      add_bias(e, py, lo, ncols, e->head_bias);
    e->head_bias = NULL;
    loop_end(e, &le, ci64(e, 1));
  }
  loop_end(e, &lc, ci64(e, p.cu));
  items_end(e, &li);
  return NULL;
}

#endif
