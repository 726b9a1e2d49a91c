/* Generated kernels that write the packed sub-byte dtypes (int4, uint4, int2, uint2, float4e2m1):
 * Cast to one of them and QuantizeLinear to one write one output BYTE per thread (the elements
 * of a byte in one loop), so no two threads read-modify-write the same byte. A Cast to a packed
 * type is its own group (its pattern is opaque, ir/ops/elementwise.c). Reads of packed values
 * (mt_ld_packed, cuda_narrow.c's prelude) happen wherever they are inputs: fused elementwise
 * groups (cuda_expr.c) and DequantizeLinear (cuda_quant.c).
 *
 * The arithmetic repeats runtime/cpu/cast.c (through double: integers truncate toward zero and
 * keep their low bits, float4e2m1 rounds to nearest even from the float32 value and saturates)
 * and kernel_call_quant.c (rint, zero point, saturation), so results are bit-identical to the
 * reference executor. */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"
#include "runtime/cpu/quant.h"

typedef mt_cg_operand operand;

/* Element `at` of o as a float expression (packed, narrow, float16 or plain). */
static void load_float(const operand *o, const char *at, char *out, size_t n) {
  char v[192];
  if (mt_dtype_is_packed(o->dtype))
    mt_cg_packed_load(o->dtype, o->name, at, v, sizeof v);
  else
    mt_cg_elem_load(o->dtype, o->name, at, v, sizeof v);
  snprintf(out, n, "(float)%s", v);
}

/* Opens the loop over y's bytes and, inside, over the elements `i` of one byte. */
static void open_bytes(cg_body *b, const operand *y) {
  int per = 8 / mt_dtype_bits(y->dtype);
  mt_cg_line(b,
             "for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < %lldLL; "
             "j += (long long)gridDim.x * blockDim.x) {",
             (long long)mt_dtype_bytes(y->dtype, y->numel));
  mt_cg_line(b, "  unsigned acc = 0;");
  mt_cg_line(b, "  for (int e = 0; e < %d; e++) {", per);
  mt_cg_line(b, "    const long long i = j * %dLL + e;", per);
  mt_cg_line(b, "    if (i >= %lldLL) break;", (long long)y->numel);
}

/* Stores code (an int expression) as element e of the byte, and the byte once all are in. */
static void close_bytes(cg_body *b, const operand *y, const char *code) {
  int bits = mt_dtype_bits(y->dtype);
  mt_cg_line(b, "    acc |= ((unsigned)(%s) & %uu) << (e * %d);", code, (1u << bits) - 1, bits);
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  %s[j] = (unsigned char)acc;", y->name);
  mt_cg_line(b, "}");
}

MT_MUST_USE static mt_status *cast_to_packed(cg_body *b, const mt_node *n, int64_t *out_work) {
  operand x, y;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_in(b, n, 0, &x));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_out(b, n, 0, &y));
  if (!x.present || !y.present) return MT_ERR(INTERNAL, "Cast without its operands");
  char v[224];
  if (mt_dtype_is_packed(x.dtype)) {
    char e[192];
    mt_cg_packed_load(x.dtype, x.name, "i", e, sizeof e);
    snprintf(v, sizeof v, "(double)%s", e);
  } else {
    mt_cg_load_f64(x.dtype, x.name, "i", v, sizeof v);
  }
  *out_work = (int64_t)mt_dtype_bytes(y.dtype, y.numel);
  open_bytes(b, &y);
  mt_cg_line(b, "    const double v = %s;", v);
  close_bytes(b, &y,
              y.dtype == MT_DTYPE_FLOAT4E2M1 ? "mt_f2fp4((float)v)"
                                             : "(unsigned)(unsigned long long)mt_d2i(v)");
  return NULL;
}

MT_MUST_USE static mt_status *quantize_to_packed(cg_body *b, const mt_node *n, const mt_kc_quant *p,
                                                 int64_t *out_work) {
  operand x, s, zp, y;
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_in(b, n, 0, &x));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_in(b, n, 1, &s));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_in(b, n, 2, &zp));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_q_out(b, n, 0, &y));
  if (!x.present || !s.present || !y.present)
    return MT_ERR(INTERNAL, "QuantizeLinear without its operands");
  char xv[224], sv[224], zv[224] = "0.0";
  load_float(&x, "i", xv, sizeof xv);
  load_float(&s, "k", sv, sizeof sv);
  if (zp.present && y.dtype != MT_DTYPE_FLOAT4E2M1) { /* float4's is 0 (checked when lowered) */
    char e[192];
    mt_cg_packed_load(zp.dtype, zp.name, "k", e, sizeof e);
    snprintf(zv, sizeof zv, "(double)%s", e);
  }
  *out_work = (int64_t)mt_dtype_bytes(y.dtype, y.numel);
  open_bytes(b, &y);
  b->indent += 2;
  mt_cg_quant_index(b, p);
  b->indent -= 2;
  mt_cg_line(b, "    float q = %s / %s;", xv, sv);
  if (mt_dtype_is_float16_like(x.dtype)) { /* the division rounds to x's dtype */
    char r[64];
    mt_cg_round_to(x.dtype, "q", r, sizeof r);
    mt_cg_line(b, "    q = %s;", r);
  }
  if (y.dtype == MT_DTYPE_FLOAT4E2M1) {
    close_bytes(b, &y, "mt_f2fp4(q)");
    return NULL;
  }
  double lo = 0, hi = 0;
  mt_quant_range(y.dtype, &lo, &hi);
  mt_cg_line(b, "    double s_ = rint((double)q) + %s;", zv);
  mt_cg_line(b, "    s_ = s_ != s_ ? %.1f : (s_ < %.1f ? %.1f : (s_ > %.1f ? %.1f : s_));",
             lo > 0 ? lo : 0, lo, lo, hi, hi);
  close_bytes(b, &y, "(long long)s_");
  return NULL;
}

static bool writes_packed(const cg_body *b, const mt_node *n) {
  return n->n_outputs > 0 && n->outputs[0] != MT_NO_VALUE &&
         mt_dtype_is_packed(mt_module_value_c(b->m, n->outputs[0])->dtype);
}

mt_status *mt_cg_packed_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                             int64_t *out_work) {
  switch (c->kind) {
  case MT_KERNEL_CAST:
  case MT_KERNEL_CAST_NO_SATURATE: /* saturate only reads float8 targets */
    if (writes_packed(b, n)) return cast_to_packed(b, n, out_work);
    break;
  case MT_KERNEL_QUANTIZE:
    if (writes_packed(b, n)) return quantize_to_packed(b, n, &c->params.quant, out_work);
    break;
  default: break;
  }
  return MT_ERR(NOT_FOUND, "not a packed-dtype kernel");
}
