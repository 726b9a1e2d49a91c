/* Generators for the quantization kernels that run on their own (MT_GROUP_OTHER): QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, MatMulInteger / QLinearMatMul and ConvInteger /
 * QLinearConv, with runtime/cpu/kernel_call_quant.c's arithmetic step by step: the quotient in
 * the input's float type, rint (half to even), the zero point, saturation; integer products
 * accumulate exactly (any order gives the same int32), and the requantization multiplier is the
 * same float expression, applied in double. NVRTC runs with --fmad=false, so nothing contracts
 * into an FMA the CPU does not do. One thread per output element in a grid-stride loop (simple,
 * exact; an int8 tensor-core GEMM through cuBLASLt is the faster home for large products).
 * DynamicQuantizeLinear runs as one block: thread 0 finds the range, then the block quantizes.
 * Float8 quantized types go through cuda_narrow.c's conversions (the same bits as float8.c); their
 * zero point must be 0: these kernels leave it out; shape inference refuses a nonzero constant one
 * and the reference kernel a nonzero one fed at run time (the one input on which the two differ). */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"
#include "runtime/cpu/float8.h"
#include "runtime/cpu/gemm.h"

#define LOOP                                                                                       \
  "for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL; i += "         \
  "(long long)gridDim.x * blockDim.x) {"

typedef mt_cg_operand qnames;

/* Parameter name, dtype and size of node input i (present false when omitted). */
mt_status *mt_cg_q_in(const cg_body *b, const mt_node *n, int i, qnames *out) {
  memset(out, 0, sizeof *out);
  if (i < 0 || i >= n->n_inputs || n->inputs[i] == MT_NO_VALUE) return NULL;
  int k = mt_cg_input_index(b->fg, n->inputs[i]);
  if (k < 0) return MT_ERR(INTERNAL, "input %d is not a parameter of its kernel", i);
  snprintf(out->name, sizeof out->name, "b%d_in%d", b->index, k);
  const mt_value *v = mt_module_value_c(b->m, n->inputs[i]);
  out->present = true;
  out->dtype = v->dtype;
  out->numel = mt_cg_numel(b->m, n->inputs[i]);
  return NULL;
}

mt_status *mt_cg_q_out(const cg_body *b, const mt_node *n, int i, qnames *out) {
  memset(out, 0, sizeof *out);
  if (i >= n->n_outputs || n->outputs[i] == MT_NO_VALUE) return NULL;
  int k = mt_cg_output_index(b->fg, n->outputs[i]);
  if (k < 0) return NULL; /* an output nobody reads */
  snprintf(out->name, sizeof out->name, "b%d_out%d", b->index, k);
  const mt_value *v = mt_module_value_c(b->m, n->outputs[i]);
  out->present = true;
  out->dtype = v->dtype;
  out->numel = mt_cg_numel(b->m, n->outputs[i]);
  return NULL;
}

/* The float read of element `at` of a float tensor (float16 through float). */
static void fload(const qnames *q, const char *at, char *out, size_t n) {
  mt_cg_elem_load(q->dtype, q->name, at, out, n);
}

/* Element `at` of a 1-value or per-index parameter as long long, 0 when absent. */
static void iload(const qnames *q, const char *at, char *out, size_t n) {
  if (!q->present)
    snprintf(out, n, "0LL");
  else
    snprintf(out, n, "(long long)%s[%s]", q->name, q->numel == 1 ? "0" : at);
}

/* `y[at] = saturate(v)` for a double v holding an integral (or NaN) value. */
static void store_saturated(cg_body *b, const qnames *y, const char *at, const char *v) {
  double dlo = 0, dhi = 0;
  mt_quant_range(y->dtype, &dlo, &dhi);
  long long lo = (long long)dlo, hi = (long long)dhi;
  mt_cg_line(b, "  {");
  mt_cg_line(b, "    double s_ = %s;", v);
  mt_cg_line(b,
             "    s_ = s_ != s_ ? %lld.0 : (s_ < %lld.0 ? %lld.0 : (s_ > %lld.0 ? %lld.0 : s_));",
             lo > 0 ? lo : 0, lo, lo, hi, hi);
  mt_cg_line(b, "    %s[%s] = (%s)s_;", y->name, at, mt_cg_ctype(y->dtype));
  mt_cg_line(b, "  }");
}

void mt_cg_quant_index(cg_body *b, const mt_kc_quant *p) {
  switch (p->mode) {
  case MT_QUANT_PER_AXIS:
    mt_cg_line(b, "  const long long k = i / %lldLL %% %lldLL;", (long long)p->inner,
               (long long)p->axis_dim);
    break;
  case MT_QUANT_BLOCKED:
    mt_cg_line(
        b,
        "  const long long k = (i / %lldLL * %lldLL + i / %lldLL %% %lldLL / %lldLL) * %lldLL "
        "+ i %% %lldLL;",
        (long long)(p->inner * p->axis_dim), (long long)((p->axis_dim + p->block - 1) / p->block),
        (long long)p->inner, (long long)p->axis_dim, (long long)p->block, (long long)p->inner,
        (long long)p->inner);
    break;
  default: mt_cg_line(b, "  const long long k = 0;"); break;
  }
}

MT_MUST_USE static mt_status *quantize(cg_body *b, const mt_node *n, const mt_kc_quant *p,
                                       bool quant, int64_t *out_work) {
  qnames x, s, zp, y;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_in(b, n, 0, &x));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_in(b, n, 1, &s));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_in(b, n, 2, &zp));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_out(b, n, 0, &y));
  if (!y.present) return MT_ERR(INTERNAL, "output 0 is not a parameter of its kernel");
  char xv[96], sv[96], zv[96];
  fload(&x, "i", xv, sizeof xv);
  fload(&s, "k", sv, sizeof sv);
  iload(&zp, "k", zv, sizeof zv);
  if (zp.present) snprintf(zv, sizeof zv, "(long long)%s[k]", zp.name);
  *out_work = x.numel;
  mt_cg_line(b, LOOP, (long long)x.numel);
  mt_cg_quant_index(b, p);
  if (quant) {
    mt_cg_line(b, "  float q = (float)%s / %s;", xv, sv);
    if (mt_dtype_is_float16_like(x.dtype)) { /* the division rounds to x's dtype */
      char r[64];
      mt_cg_round_to(x.dtype, "q", r, sizeof r);
      mt_cg_line(b, "  q = %s;", r);
    }
    if (mt_dtype_is_float8(y.dtype)) {
      char bits[256];
      mt_cg_narrow_bits(y.dtype, "q", p->saturate, bits, sizeof bits);
      mt_cg_line(b, "  %s[i] = %s;", y.name, bits);
      mt_cg_line(b, "}");
      return NULL;
    }
    char v[160];
    snprintf(v, sizeof v, "rint((double)q) + (double)%s", zv);
    store_saturated(b, &y, "i", v);
  } else {
    char xi[160], bits[96];
    snprintf(xi, sizeof xi, "(float)%s[i]", x.name);
    if (mt_dtype_is_packed(x.dtype)) { /* float4e2m1's zero point is 0, as float8's */
      char e[144];
      mt_cg_packed_load(x.dtype, x.name, "i", e, sizeof e);
      snprintf(xi, sizeof xi, "(float)%s", e);
      if (zp.present && x.dtype != MT_DTYPE_FLOAT4E2M1)
        mt_cg_packed_load(zp.dtype, zp.name, "k", zv, sizeof zv);
      else
        snprintf(zv, sizeof zv, "0");
    } else if (mt_dtype_is_float8(x.dtype)) {
      snprintf(bits, sizeof bits, "%s[i]", x.name);
      mt_cg_narrow_load(x.dtype, bits, xi, sizeof xi);
      snprintf(zv, sizeof zv, "0.0f"); /* must be 0 (see the top) */
    }
    mt_cg_line(b, "  const float d = %s - (float)%s;", xi, zv);
    b->indent++;
    char e[160];
    snprintf(e, sizeof e, "d * %s", sv);
    mt_cg_store(b, y.dtype, y.name, "i", e);
    b->indent--;
  }
  mt_cg_line(b, "}");
  return NULL;
}

MT_MUST_USE static mt_status *dyn_quantize(cg_body *b, const mt_node *n, int64_t *out_work) {
  qnames x, y, ys, yz;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_in(b, n, 0, &x));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_out(b, n, 0, &y));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_out(b, n, 1, &ys));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_out(b, n, 2, &yz));
  char xv[96];
  fload(&x, "j", xv, sizeof xv);
  *out_work = 1;
  mt_cg_line(b, "MT_SHARED(float, sq, [2]);");
  mt_cg_line(b, "if (threadIdx.x == 0) {");
  mt_cg_line(b, "  float mx = 0.0f, mn = 0.0f;");
  mt_cg_line(b, "  for (long long j = 0; j < %lldLL; j++) {", (long long)x.numel);
  mt_cg_line(b, "    const float v = %s;", xv);
  mt_cg_line(b, "    if (v > mx) mx = v;");
  mt_cg_line(b, "    if (v < mn) mn = v;");
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  const float sc = (mx == mn ? 1.0f : mx - mn) / 255.0f;");
  mt_cg_line(b, "  float zp = 0.0f - mn / sc;");
  mt_cg_line(b, "  zp = zp < 0.0f ? 0.0f : (zp > 255.0f ? 255.0f : zp);");
  mt_cg_line(b, "  sq[0] = sc;");
  mt_cg_line(b, "  sq[1] = rintf(zp);");
  if (ys.present) {
    b->indent++;
    mt_cg_store(b, ys.dtype, ys.name, "0", "sc");
    b->indent--;
  }
  if (yz.present) mt_cg_line(b, "  %s[0] = (unsigned char)rintf(zp);", yz.name);
  mt_cg_line(b, "}");
  mt_cg_line(b, "__syncthreads();");
  mt_cg_line(b, "const float sc = sq[0], zq = sq[1];");
  mt_cg_line(b, "for (long long j = threadIdx.x; j < %lldLL; j += blockDim.x) {",
             (long long)x.numel);
  if (y.present) {
    char v[160];
    mt_cg_line(b, "  const float q = rintf(%s / sc) + zq;", xv);
    snprintf(v, sizeof v, "(double)q");
    store_saturated(b, &y, "j", v);
  }
  mt_cg_line(b, "}");
  return NULL;
}

/* ---------------------------------------------------------------- integer matmul / conv */

typedef struct qoperands {
  qnames a, b, azp, bzp, as, bs, ys, yzp, bias, y;
} qoperands;

MT_MUST_USE static mt_status *q_operands(cg_body *b, const mt_node *n, const mt_kc_qlinear *p,
                                         qoperands *o) {
  qnames *slot[MT_QIN_COUNT] = {&o->a,  &o->b,  &o->azp, &o->bzp, &o->as,
                                &o->bs, &o->ys, &o->yzp, &o->bias};
  for (int i = 0; i < MT_QIN_COUNT; i++)
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_in(b, n, p->in[i], slot[i]));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_out(b, n, 0, &o->y));
  if (!o->a.present || !o->b.present || !o->y.present)
    return MT_ERR(INTERNAL, "an operand is not a parameter of its kernel");
  if (p->requantize && (!o->as.present || !o->bs.present || !o->ys.present))
    return MT_ERR(INTERNAL, "requantization without its scales");
  return NULL;
}

/* Stores the accumulator `acc` (long long) of column / channel variable `col` into y[i]. */
static void q_epilogue(cg_body *b, const mt_kc_qlinear *p, const qoperands *o, const char *col) {
  mt_cg_line(b, "  const int a32 = (int)(unsigned int)(unsigned long long)acc;");
  if (!p->requantize) {
    mt_cg_line(b, "  %s[i] = a32;", o->y.name);
    return;
  }
  char as[96], bs[96], ys[96], zv[96];
  fload(&o->as, "0", as, sizeof as);
  fload(&o->bs, o->bs.numel == 1 ? "0" : col, bs, sizeof bs);
  fload(&o->ys, "0", ys, sizeof ys);
  iload(&o->yzp, "0", zv, sizeof zv);
  if (mt_dtype_is_float16_like(o->as.dtype)) {
    const char *r = o->as.dtype == MT_DTYPE_FLOAT16 ? "mt_r16" : "mt_rbf";
    mt_cg_line(b, "  const float m0 = %s(%s * %s);", r, as, bs);
    mt_cg_line(b, "  const float m = %s(m0 / %s);", r, ys);
  } else {
    mt_cg_line(b, "  const float m0 = %s * %s;", as, bs);
    mt_cg_line(b, "  const float m = m0 / %s;", ys);
  }
  char v[192];
  snprintf(v, sizeof v, "rint((double)a32 * (double)m + (double)%s)", zv);
  store_saturated(b, &o->y, "i", v);
}

MT_MUST_USE static mt_status *qmatmul(cg_body *b, const mt_node *n, const mt_kc_qlinear *p,
                                      int64_t *out_work) {
  qoperands o;
  MT_RETURN_IF_ERROR_PLAIN(q_operands(b, n, p, &o));
  const mt_value *a = mt_module_value_c(b->m, n->inputs[p->in[MT_QIN_A]]);
  const mt_value *bv = mt_module_value_c(b->m, n->inputs[p->in[MT_QIN_B]]);
  mt_matmul_shape sh;
  MT_RETURN_IF_ERROR_PLAIN(mt_cpu_matmul_shape(a->rank, a->dims, bv->rank, bv->dims, &sh));
  int64_t m = sh.m, k = sh.k, nn = sh.n;
  *out_work = o.y.numel;
  mt_cg_line(b, LOOP, (long long)o.y.numel);
  mt_cg_line(b, "  const long long col = i %% %lldLL, row = i / %lldLL %% %lldLL;", (long long)nn,
             (long long)nn, (long long)m);
  mt_cg_line(b, "  long long rest = i / %lldLL, aoff = 0, boff = 0;", (long long)(m * nn));
  /* batch dims right-aligned and 1-padded in sh: a broadcast dim contributes no offset */
  int64_t ast = m * k, bst = k * nn;
  for (int d = sh.nb - 1; d >= 0; d--) {
    mt_cg_line(b, "  { const long long t = rest %% %lldLL; rest /= %lldLL;", (long long)sh.batch[d],
               (long long)sh.batch[d]);
    if (sh.a_batch[d] != 1) mt_cg_line(b, "    aoff += t * %lldLL;", (long long)ast);
    if (sh.b_batch[d] != 1) mt_cg_line(b, "    boff += t * %lldLL;", (long long)bst);
    mt_cg_line(b, "  }");
    ast *= sh.a_batch[d];
    bst *= sh.b_batch[d];
  }
  mt_cg_line(b, "  (void)rest;");
  char za[96], zb[96];
  iload(&o.azp, "row", za, sizeof za);
  iload(&o.bzp, "col", zb, sizeof zb);
  mt_cg_line(b, "  const long long za = %s, zb = %s;", za, zb);
  mt_cg_line(b, "  long long acc = 0;");
  mt_cg_line(b, "  for (long long q = 0; q < %lldLL; q++)", (long long)k);
  mt_cg_line(b, "    acc += ((long long)%s[aoff + row * %lldLL + q] - za) *", o.a.name,
             (long long)k);
  mt_cg_line(b, "           ((long long)%s[boff + q * %lldLL + col] - zb);", o.b.name,
             (long long)nn);
  q_epilogue(b, p, &o, "col");
  mt_cg_line(b, "}");
  return NULL;
}

MT_MUST_USE static mt_status *qconv(cg_body *b, const mt_node *n, const mt_kc_qlinear *p,
                                    int64_t *out_work) {
  qoperands o;
  MT_RETURN_IF_ERROR_PLAIN(q_operands(b, n, p, &o));
  const mt_conv_geom *g = &p->geom;
  int64_t osz = mt_conv_geom_out_size(g), ksz = mt_conv_geom_kernel_size(g);
  int64_t isz = mt_conv_geom_in_size(g), cg = p->c_in / p->group, og = p->c_out / p->group;
  *out_work = o.y.numel;
  mt_cg_line(b, LOOP, (long long)o.y.numel);
  mt_cg_line(b, "  const long long o = i %% %lldLL, oc = i / %lldLL %% %lldLL, nb = i / %lldLL;",
             (long long)osz, (long long)osz, (long long)p->c_out, (long long)(osz * p->c_out));
  for (int d = 0; d < g->nsp; d++) {
    int64_t inner = 1;
    for (int e = d + 1; e < g->nsp; e++) inner *= g->out[e];
    mt_cg_line(b, "  const long long o%d = o / %lldLL %% %lldLL;", d, (long long)inner,
               (long long)g->out[d]);
  }
  char za[96], zb[96];
  iload(&o.azp, "0", za, sizeof za);
  iload(&o.bzp, "oc", zb, sizeof zb);
  mt_cg_line(b, "  const long long za = %s, zb = %s;", za, zb);
  if (o.bias.present)
    mt_cg_line(b, "  long long acc = (long long)%s[oc];", o.bias.name);
  else
    mt_cg_line(b, "  long long acc = 0;");
  mt_cg_line(b, "  const long long ic0 = oc / %lldLL * %lldLL;", (long long)og, (long long)cg);
  mt_cg_line(b, "  for (long long ic = 0; ic < %lldLL; ic++)", (long long)cg);
  mt_cg_line(b, "    for (long long t = 0; t < %lldLL; t++) {", (long long)ksz);
  mt_cg_line(b, "      long long at = 0;");
  mt_cg_line(b, "      bool inside = true;");
  for (int d = 0; d < g->nsp; d++) {
    int64_t inner = 1;
    for (int e = d + 1; e < g->nsp; e++) inner *= g->kernel[e];
    mt_cg_line(b,
               "      { const long long p = o%d * %lldLL - %lldLL + t / %lldLL %% %lldLL * %lldLL;",
               d, (long long)g->stride[d], (long long)g->pad_begin[d], (long long)inner,
               (long long)g->kernel[d], (long long)g->dilation[d]);
    mt_cg_line(b, "        if (p < 0 || p >= %lldLL) inside = false;", (long long)g->in[d]);
    mt_cg_line(b, "        at = at * %lldLL + p; }", (long long)g->in[d]);
  }
  mt_cg_line(b, "      if (!inside) continue; // padding holds the zero point: adds nothing");
  mt_cg_line(b, "      acc += ((long long)%s[(nb * %lldLL + ic0 + ic) * %lldLL + at] - za) *",
             o.a.name, (long long)p->c_in, (long long)isz);
  mt_cg_line(b, "             ((long long)%s[(oc * %lldLL + ic) * %lldLL + t] - zb);", o.b.name,
             (long long)cg, (long long)ksz);
  mt_cg_line(b, "    }");
  q_epilogue(b, p, &o, "oc");
  mt_cg_line(b, "}");
  return NULL;
}

mt_status *mt_cg_quant_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                            int64_t *out_work, bool *out_single) {
  switch (c->kind) {
  case MT_KERNEL_QUANTIZE: return quantize(b, n, &c->params.quant, true, out_work);
  case MT_KERNEL_DEQUANTIZE: return quantize(b, n, &c->params.quant, false, out_work);
  case MT_KERNEL_DYN_QUANTIZE: *out_single = true; return dyn_quantize(b, n, out_work);
  case MT_KERNEL_QMATMUL: return qmatmul(b, n, &c->params.qlinear, out_work);
  case MT_KERNEL_QCONV: return qconv(b, n, &c->params.qlinear, out_work);
  default: return MT_ERR(NOT_FOUND, "not a quantization kernel");
  }
}
