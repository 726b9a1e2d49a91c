/* Depthwise convolutions for the CPU backend (cpu_conv.c hands them here): one output channel
 * reads one input channel, so there is no GEMM to call and the time is the generated loop's.
 *
 * A work item is (image * channel, block of output rows), fixed by the shape, so which thread
 * computes a row never changes its bits. It copies the input rows its outputs read into a
 * zero-padded tile on the stack (the padding, and the slack a vector load reads past the last
 * column, are zeros), so every output column runs the same code with no border checks. Then
 * output rows are computed in pairs (two independent add chains), in chunks of U columns held
 * in vector registers: the bias, then every tap w[i][j] * x added in the reference's (i, j)
 * order with a separate multiply and add (no FMA), then one store. That is the reference kernel's arithmetic (runtime/cpu/conv.c
 * depthwise_2d adds the same products in the same order into y), so the results are the
 * reference's bits; only an exact zero's sign can differ, where a padding tap adds w * 0.
 * Taps are unrolled (the kernel is a constant). A row shorter than U computes one chunk and
 * stores its first columns; a longer one ends with a chunk that overlaps the previous one.
 * Stride 2 loads 2U contiguous floats and keeps the even ones; other strides gather lanes.
 * A fused epilogue (Clip, Relu, swish, residual Add: cpu_fuse.c) runs on each item's rows
 * right after they are stored, while they are in cache.
 *
 * mt_cpu_dw_rows_per_item (no LLVM) sizes the items; cpu_support.c refuses a conv whose tile
 * does not fit even for one row. */
#include "codegen/cpu/cpu.h"

/* Output elements per work item (whole rows), and the stack tile's size in floats (as the
 * im2col block of cpu_conv.c: kernels never allocate; libmtrt's threads have 8 MiB stacks). */
#define DW_ITEM_OUTPUTS 4096
#define DW_TILE_FLOATS 65536

typedef struct dw_geom {
  int64_t ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw;
  int64_t lanes;     /* U: columns per vector chunk */
  int64_t tile_w;    /* floats per tile row */
  int64_t rows;      /* output rows per item */
  int64_t tile_rows; /* input rows one item reads */
} dw_geom;

static int64_t tile_rows_for(const dw_geom *d, int64_t rows) {
  return (rows - 1) * d->sh + (d->kh - 1) * d->dh + 1;
}

/* false: even one output row's tile exceeds DW_TILE_FLOATS. */
static bool geom_of(const mt_conv_geom *g, dw_geom *d) {
  int last = g->nsp - 1; /* a 1-D conv is a 2-D one of height 1 */
  bool two = g->nsp == 2;
  *d = (dw_geom){
      .ih = two ? g->in[0] : 1,
      .iw = g->in[last],
      .oh = two ? g->out[0] : 1,
      .ow = g->out[last],
      .kh = two ? g->kernel[0] : 1,
      .kw = g->kernel[last],
      .sh = two ? g->stride[0] : 1,
      .sw = g->stride[last],
      .dh = two ? g->dilation[0] : 1,
      .dw = g->dilation[last],
      .ph = two ? g->pad_begin[0] : 0,
      .pw = g->pad_begin[last],
  };
  d->lanes = d->ow >= 16 ? 16 : 8;
  /* the last chunk starts at max(ow - U, 0) and its taps read sw * U floats from
   * chunk * sw + j * dw (tile column = input column + pw) */
  int64_t last_chunk = d->ow > d->lanes ? d->ow - d->lanes : 0;
  d->tile_w = last_chunk * d->sw + (d->kw - 1) * d->dw + d->sw * d->lanes;
  if (d->tile_w < d->pw + d->iw) d->tile_w = d->pw + d->iw;
  d->rows = d->ow > 0 ? DW_ITEM_OUTPUTS / d->ow : 1;
  if (d->rows < 1) d->rows = 1;
  if (d->rows > d->oh) d->rows = d->oh;
  while (d->rows > 1 && tile_rows_for(d, d->rows) * d->tile_w > DW_TILE_FLOATS) d->rows--;
  d->tile_rows = tile_rows_for(d, d->rows);
  return d->tile_rows * d->tile_w <= DW_TILE_FLOATS;
}

int64_t mt_cpu_dw_rows_per_item(const mt_conv_geom *g) {
  dw_geom d;
  if (g->nsp < 1 || g->nsp > 2 || !geom_of(g, &d)) return 0;
  return d.rows;
}

#ifdef MTCC_HAVE_LLVM

#include "codegen/cpu/cpu_llvm.h"

static LLVMValueRef splat(em *e, LLVMValueRef s, int64_t lanes) {
  LLVMTypeRef vt = LLVMVectorType(e->f32, (unsigned)lanes);
  LLVMValueRef v = LLVMBuildInsertElement(e->b, LLVMGetUndef(vt), s, ci32(e, 0), "");
  return LLVMBuildShuffleVector(e->b, v, LLVMGetUndef(vt),
                                LLVMConstNull(LLVMVectorType(e->i32, (unsigned)lanes)), "splat");
}

/* U input columns p[0], p[sw], p[2 sw], ... as one vector. */
static LLVMValueRef load_lanes(em *e, const dw_geom *d, LLVMValueRef p) {
  unsigned u = (unsigned)d->lanes;
  LLVMTypeRef vt = LLVMVectorType(e->f32, u);
  if (d->sw == 1) {
    LLVMValueRef v = LLVMBuildLoad2(e->b, vt, p, "");
    LLVMSetAlignment(v, 4);
    return v;
  }
  if (d->sw == 2) { /* 2U contiguous floats, the even ones */
    LLVMValueRef v = LLVMBuildLoad2(e->b, LLVMVectorType(e->f32, 2 * u), p, "");
    LLVMSetAlignment(v, 4);
    LLVMValueRef idx[16];
    for (unsigned l = 0; l < u; l++) idx[l] = ci32(e, (int32_t)(2 * l));
    return LLVMBuildShuffleVector(e->b, v, LLVMGetUndef(LLVMTypeOf(v)), LLVMConstVector(idx, u),
                                  "");
  }
  LLVMValueRef v = LLVMGetUndef(vt);
  for (unsigned l = 0; l < u; l++) {
    LLVMValueRef x = LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, p, ci64(e, l * d->sw)), "");
    v = LLVMBuildInsertElement(e->b, v, x, ci32(e, (int32_t)l), "");
  }
  return v;
}

/* Output columns [col, col + U) of one row: taps[i] is the tile row of tap row i. */
static LLVMValueRef dw_chunk(em *e, const dw_geom *d, LLVMValueRef bias, const LLVMValueRef *w,
                             const LLVMValueRef *taps, LLVMValueRef col) {
  LLVMValueRef base = LLVMBuildMul(e->b, col, ci64(e, d->sw), "");
  LLVMValueRef acc = bias;
  for (int64_t i = 0; i < d->kh; i++)
    for (int64_t j = 0; j < d->kw; j++) {
      LLVMValueRef at = LLVMBuildAdd(e->b, base, ci64(e, j * d->dw), "");
      LLVMValueRef x = load_lanes(e, d, gep(e, e->f32, taps[i], at));
      acc = LLVMBuildFAdd(e->b, acc, LLVMBuildFMul(e->b, w[i * d->kw + j], x, ""), "");
    }
  return acc;
}

/* Fills the tile: tile row r is input row r0 * sh - ph + r (zeros outside the input), its column
 * pw + c input column c, the columns around the copy zeros. */
static void fill_tile(em *e, const dw_geom *d, LLVMValueRef tile, LLVMValueRef xin,
                      LLVMValueRef r0) {
  LLVMValueRef zero8 = LLVMConstInt(LLVMInt8TypeInContext(e->ctx), 0, 0);
  LLVMValueRef first =
      LLVMBuildSub(e->b, LLVMBuildMul(e->b, r0, ci64(e, d->sh), ""), ci64(e, d->ph), "");
  int64_t right = d->tile_w - d->pw - d->iw;
  loop lr;
  LLVMValueRef r = loop_begin(e, ci64(e, 0), ci64(e, d->tile_rows), &lr);
  LLVMValueRef row = gep(e, e->f32, tile, LLVMBuildMul(e->b, r, ci64(e, d->tile_w), ""));
  LLVMValueRef ih = LLVMBuildAdd(e->b, first, r, "");
  LLVMValueRef inside = mt_cl_in_range(e, ih, d->ih);
  LLVMBasicBlockRef copy = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "tile_copy");
  LLVMBasicBlockRef pad = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "tile_zero");
  LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "tile_next");
  LLVMBuildCondBr(e->b, inside, copy, pad);
  LLVMPositionBuilderAtEnd(e->b, copy);
  if (d->pw > 0) LLVMBuildMemSet(e->b, row, zero8, ci64(e, d->pw * 4), 4);
  LLVMValueRef src = gep(e, e->f32, xin, LLVMBuildMul(e->b, ih, ci64(e, d->iw), ""));
  LLVMBuildMemCpy(e->b, gep(e, e->f32, row, ci64(e, d->pw)), 4, src, 4, ci64(e, d->iw * 4));
  if (right > 0)
    LLVMBuildMemSet(e->b, gep(e, e->f32, row, ci64(e, d->pw + d->iw)), zero8, ci64(e, right * 4),
                    4);
  LLVMBuildBr(e->b, next);
  LLVMPositionBuilderAtEnd(e->b, pad);
  LLVMBuildMemSet(e->b, row, zero8, ci64(e, d->tile_w * 4), 4);
  LLVMBuildBr(e->b, next);
  LLVMPositionBuilderAtEnd(e->b, next);
  loop_end(e, &lr, ci64(e, 1));
}

/* What every output row of an item shares. */
typedef struct dw_rows {
  const dw_geom *d;
  LLVMValueRef tile, r0, bias, py, yplane;
  const LLVMValueRef *w;
} dw_rows;

/* Output rows oh .. oh + n - 1 (n <= 2), chunk by chunk, the rows' chunks side by side. */
static void emit_rows(em *e, const dw_rows *rs, LLVMValueRef oh, int n) {
  const dw_geom *d = rs->d;
  LLVMValueRef taps[2][MT_CPU_DW_MAX_TAPS], yrow[2];
  for (int r = 0; r < n; r++) {
    LLVMValueRef row = LLVMBuildAdd(e->b, oh, ci64(e, r), "");
    LLVMValueRef trow = LLVMBuildMul(e->b, LLVMBuildSub(e->b, row, rs->r0, ""), ci64(e, d->sh), "");
    for (int64_t i = 0; i < d->kh; i++)
      taps[r][i] = gep(e, e->f32, rs->tile,
                       LLVMBuildMul(e->b, LLVMBuildAdd(e->b, trow, ci64(e, i * d->dh), ""),
                                    ci64(e, d->tile_w), ""));
    yrow[r] = gep(e, e->f32, rs->py,
                  LLVMBuildAdd(e->b, rs->yplane, LLVMBuildMul(e->b, row, ci64(e, d->ow), ""), ""));
  }
  if (d->ow >= d->lanes) { /* chunks at 0, U, 2U, ..., the last one moved back to end at ow */
    loop lc;
    LLVMValueRef c0 = loop_begin(e, ci64(e, 0), ci64(e, d->ow), &lc);
    LLVMValueRef col = smin(e, c0, ci64(e, d->ow - d->lanes));
    LLVMValueRef v[2];
    for (int r = 0; r < n; r++) v[r] = dw_chunk(e, d, rs->bias, rs->w, taps[r], col);
    for (int r = 0; r < n; r++)
      LLVMSetAlignment(LLVMBuildStore(e->b, v[r], gep(e, e->f32, yrow[r], col)), 4);
    loop_end(e, &lc, ci64(e, d->lanes));
    return;
  }
  for (int r = 0; r < n; r++) { /* one chunk per row, its first ow lanes stored */
    LLVMValueRef v = dw_chunk(e, d, rs->bias, rs->w, taps[r], ci64(e, 0));
    for (int64_t l = 0; l < d->ow; l++)
      LLVMBuildStore(e->b, LLVMBuildExtractElement(e->b, v, ci32(e, (int32_t)l), ""),
                     gep(e, e->f32, yrow[r], ci64(e, l)));
  }
}

void mt_cl_emit_depthwise(em *e, const mt_cpu_kernel *k) {
  const mt_kc_conv *c = &k->call.params.conv;
  const mt_node *node = mt_module_node_c(e->m, k->node);
  dw_geom d;
  if (!geom_of(&c->geom, &d)) return; /* cpu_support.c refused it */
  bool has_bias = node->n_inputs > 2 && node->inputs[2] != MT_NO_VALUE;
  LLVMValueRef px = arg_ptr(e, 0), pw = arg_ptr(e, 1), pb = has_bias ? arg_ptr(e, 2) : NULL,
               py = arg_ptr(e, node->n_inputs);
  int64_t mult = c->c_out / c->c_in, kk = d.kh * d.kw, plane = d.oh * d.ow;
  int64_t n_rb = (d.oh + d.rows - 1) / d.rows;
  LLVMValueRef tile = LLVMBuildArrayAlloca(e->b, e->f32, ci64(e, d.tile_rows * d.tile_w), "tile");
  LLVMSetAlignment(tile, 64);
  loop li, lr;
  LLVMValueRef item = items_begin(e, c->batch * c->c_out * n_rb, &li);
  LLVMValueRef pl = LLVMBuildSDiv(e->b, item, ci64(e, n_rb), ""); /* n * c_out + m */
  LLVMValueRef rb = LLVMBuildSRem(e->b, item, ci64(e, n_rb), "");
  LLVMValueRef n = LLVMBuildSDiv(e->b, pl, ci64(e, c->c_out), "");
  LLVMValueRef m = LLVMBuildSRem(e->b, pl, ci64(e, c->c_out), "");
  LLVMValueRef cin = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, n, ci64(e, c->c_in), ""),
                                  LLVMBuildSDiv(e->b, m, ci64(e, mult), ""), "");
  LLVMValueRef xin = gep(e, e->f32, px, LLVMBuildMul(e->b, cin, ci64(e, d.ih * d.iw), ""));
  LLVMValueRef wm = gep(e, e->f32, pw, LLVMBuildMul(e->b, m, ci64(e, kk), ""));
  LLVMValueRef w[MT_CPU_DW_MAX_TAPS];
  for (int64_t t = 0; t < kk; t++)
    w[t] = splat(e, LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, wm, ci64(e, t)), "w"), d.lanes);
  LLVMValueRef bias = splat(
      e, pb ? LLVMBuildLoad2(e->b, e->f32, gep(e, e->f32, pb, m), "bias") : cf32(e, 0.0f), d.lanes);
  LLVMValueRef yplane = LLVMBuildMul(e->b, pl, ci64(e, plane), "");
  LLVMValueRef r0 = LLVMBuildMul(e->b, rb, ci64(e, d.rows), "");
  LLVMValueRef r1 = smin(e, LLVMBuildAdd(e->b, r0, ci64(e, d.rows), ""), ci64(e, d.oh));
  fill_tile(e, &d, tile, xin, r0);
  /* rows in pairs (two independent add chains per chunk, and for stride 1 the pair shares
   * kh - 1 tile rows), then the odd one left */
  dw_rows rs = {.d = &d, .tile = tile, .r0 = r0, .bias = bias, .w = w, .py = py, .yplane = yplane};
  LLVMValueRef oh = loop_begin(e, r0, LLVMBuildSub(e->b, r1, ci64(e, 1), ""), &lr);
  emit_rows(e, &rs, oh, 2);
  loop_end(e, &lr, ci64(e, 2));
  LLVMValueRef odd = LLVMBuildICmp(
      e->b, LLVMIntNE, LLVMBuildAnd(e->b, LLVMBuildSub(e->b, r1, r0, ""), ci64(e, 1), ""),
      ci64(e, 0), "");
  LLVMBasicBlockRef last = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "dw_last_row");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->ctx, e->fn, "dw_rows_done");
  LLVMBuildCondBr(e->b, odd, last, done);
  LLVMPositionBuilderAtEnd(e->b, last);
  emit_rows(e, &rs, LLVMBuildSub(e->b, r1, ci64(e, 1), ""), 1);
  LLVMBuildBr(e->b, done);
  LLVMPositionBuilderAtEnd(e->b, done);
  if (k->n_steps) {
    LLVMValueRef lo = LLVMBuildAdd(e->b, yplane, LLVMBuildMul(e->b, r0, ci64(e, d.ow), ""), "");
    LLVMValueRef hi = LLVMBuildAdd(e->b, yplane, LLVMBuildMul(e->b, r1, ci64(e, d.ow), ""), "");
    e->head_bias = NULL; /* the bias is in the sums already */
    mt_cl_emit_epilogue(e, k, lo, hi);
  }
  items_end(e, &li);
}

#endif
