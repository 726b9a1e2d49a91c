/* Generators for the ops outside the elementwise / reduction / conv families: Resize (an index
 * map with interpolation, fused like any data-movement op) and the groups that run on their own:
 * Shape, Size, ConstantOfShape and Range (tiny kernels writing values fixed at generation time or
 * read from scalars) and NonZero, whose output size depends on the data. NonZero writes a bounded
 * output and a device-side count, so no host round trip is needed and the plan stays capturable
 * in a CUDA Graph (docs/codegen.md says how consumers read the count). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

/* An exact double literal (%.17g reads back to the same double). */
static void double_lit(double d, char *out, size_t n) {
  snprintf(out, n, "%.17g", d);
  if (!strpbrk(out, ".eEn")) snprintf(out + strlen(out), n - strlen(out), ".0");
}

/* Emits `static const T name[] = {...};` of n int64 entries. */
static void table_i64(cg_body *b, const char *name, const int64_t *v, int64_t n) {
  mt_sb *sb = b->code;
  for (int i = 0; i < b->indent; i++) mt_sb_printf(sb, "  ");
  mt_sb_printf(sb, "static const long long %s[%lld] = {", name, (long long)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) mt_sb_printf(sb, "%s%lldLL", i ? ", " : "", (long long)v[i]);
  if (n == 0) mt_sb_printf(sb, "0");
  mt_sb_printf(sb, "};\n");
}

static void table_f64(cg_body *b, const char *name, const double *v, int64_t n) {
  mt_sb *sb = b->code;
  for (int i = 0; i < b->indent; i++) mt_sb_printf(sb, "  ");
  mt_sb_printf(sb, "static const double %s[%lld] = {", name, (long long)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) {
    char lit[64];
    double_lit(v[i], lit, sizeof lit);
    mt_sb_printf(sb, "%s%s", i ? ", " : "", lit);
  }
  if (n == 0) mt_sb_printf(sb, "0.0");
  mt_sb_printf(sb, "};\n");
}

/* The store_elem of runtime/cpu/resize.c: double -> the compute type of dt. */
static mt_status *round_from_double(mt_dtype dt, const char *acc, char *out, size_t n) {
  switch (dt) {
  case MT_DTYPE_FLOAT32: snprintf(out, n, "(float)%s", acc); return NULL;
  case MT_DTYPE_FLOAT16: snprintf(out, n, "mt_r16((float)%s)", acc); return NULL;
  case MT_DTYPE_BFLOAT16: snprintf(out, n, "mt_rbf((float)%s)", acc); return NULL;
  case MT_DTYPE_INT64:
    snprintf(out, n,
             "(long long)(%s != %s ? 0.0 : fmin(fmax(rint(%s), -9223372036854775808.0), "
             "9223372036854774784.0))",
             acc, acc, acc);
    return NULL;
  case MT_DTYPE_INT32:
    snprintf(out, n, "(int)(%s != %s ? 0.0 : fmin(fmax(rint(%s), -2147483648.0), 2147483647.0))",
             acc, acc, acc);
    return NULL;
  case MT_DTYPE_INT8:
    snprintf(out, n, "(signed char)(%s != %s ? 0.0 : fmin(fmax(rint(%s), -128.0), 127.0))", acc,
             acc, acc);
    return NULL;
  case MT_DTYPE_UINT8:
    snprintf(out, n, "(unsigned char)(%s != %s ? 0.0 : fmin(fmax(rint(%s), 0.0), 255.0))", acc, acc,
             acc);
    return NULL;
  default: return MT_ERR(UNIMPLEMENTED, "Resize of %s", mt_dtype_name(dt));
  }
}

typedef struct rz_ctx {
  const mt_node *n;
  const mt_resize_params *rp;
  int n_pass;
  int pass_axis[MT_MAX_RANK];
  mt_resize_taps taps[MT_MAX_RANK];
  char idx_tab[MT_MAX_RANK][MT_CG_NAME], w_tab[MT_MAX_RANK][MT_CG_NAME],
      ex_tab[MT_MAX_RANK][MT_CG_NAME];
  bool any_extrap[MT_MAX_RANK];
  char extrap_lit[64];
} rz_ctx;

/* The value after pass k at the index vector idx (pass -1: the input), as a double variable.
 * It repeats the CPU's separable passes term for term: acc = 0, acc += w_j * v_j for j in order,
 * so every intermediate double is the one resize_filtered computes. */
MT_MUST_USE static mt_status *rz_value(cg_body *b, rz_ctx *z, int k, char idx[][MT_CG_NAME],
                                       char *out) {
  const mt_resize_params *rp = z->rp;
  if (k < 0) {
    char off[MT_CG_NAME], x[MT_CG_NAME], e[1024] = "0";
    size_t len = 1;
    int64_t st = 1;
    for (int d = rp->rank - 1; d >= 0; d--) {
      len += (size_t)snprintf(e + len, sizeof e - len, " + %s * %lldLL", idx[d], (long long)st);
      st *= rp->in_dims[d];
    }
    mt_cg_tmp(b, "o", off);
    mt_cg_line(b, "const long long %s = %s;", off, e);
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, z->n->inputs[0], off, x));
    mt_cg_tmp(b, "d", out);
    mt_cg_line(b, "const double %s = (double)%s;", out, x);
    return NULL;
  }
  int a = z->pass_axis[k], nt = z->taps[k].n;
  char acc[MT_CG_NAME];
  mt_cg_tmp(b, "acc", acc);
  mt_cg_line(b, "double %s = 0.0;", acc);
  if (z->any_extrap[k]) {
    mt_cg_line(b, "if (%s[%s]) {", z->ex_tab[k], idx[a]);
    mt_cg_line(b, "  %s = %s;", acc, z->extrap_lit);
    mt_cg_line(b, "} else {");
  } else {
    mt_cg_line(b, "{");
  }
  b->indent++;
  b->depth++;
  mt_status *st = NULL;
  for (int j = 0; !st && j < nt; j++) {
    char sub[MT_MAX_RANK][MT_CG_NAME], v[MT_CG_NAME];
    memcpy(sub, idx, sizeof sub);
    mt_cg_tmp(b, "t", sub[a]);
    mt_cg_line(b, "const long long %s = %s[%s * %dLL + %d];", sub[a], z->idx_tab[k], idx[a], nt, j);
    st = rz_value(b, z, k - 1, sub, v);
    if (!st) mt_cg_line(b, "%s += %s[%s * %dLL + %d] * %s;", acc, z->w_tab[k], idx[a], nt, j, v);
  }
  mt_cg_forget(b, b->depth);
  b->depth--;
  b->indent--;
  mt_cg_line(b, "}");
  snprintf(out, MT_CG_NAME, "%s", acc);
  return st;
}

MT_MUST_USE static mt_status *emit_resize_nearest(cg_body *b, const mt_node *n,
                                                  const mt_resize_params *rp, mt_dtype dt,
                                                  char idx[][MT_CG_NAME], char *var) {
  const mt_allocator *al = b->code->allocator;
  char src[MT_MAX_RANK][MT_CG_NAME], ex[512] = "false";
  size_t exl = 5;
  bool extrap = false;
  for (int d = 0; d < rp->rank; d++) {
    bool resized = false;
    for (int i = 0; i < rp->n_axes; i++) resized |= rp->axes[i] == d;
    if (!resized || mt_cpu_resize_axis_is_identity(rp, d)) {
      memcpy(src[d], idx[d], MT_CG_NAME);
      continue;
    }
    int64_t nout = rp->out_dims[d];
    int64_t *map = mt_allocator_calloc(al, (size_t)(nout > 0 ? nout : 1), sizeof *map);
    if (!map) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    bool ax_ex = false;
    for (int64_t o = 0; o < nout; o++) {
      map[o] = mt_cpu_resize_nearest_source(rp, d, o);
      ax_ex |= map[o] < 0;
    }
    char tab[MT_CG_NAME];
    mt_cg_tmp(b, "nmap", tab);
    table_i64(b, tab, map, nout);
    mt_allocator_free(al, map);
    mt_cg_tmp(b, "s", src[d]);
    mt_cg_line(b, "const long long %s = %s[%s];", src[d], tab, idx[d]);
    if (ax_ex) {
      extrap = true;
      exl += (size_t)snprintf(ex + exl, sizeof ex - exl, " || %s < 0", src[d]);
    }
  }
  char e[1024] = "0", off[MT_CG_NAME], x[MT_CG_NAME];
  size_t len = 1;
  int64_t st = 1;
  for (int d = rp->rank - 1; d >= 0; d--) {
    len += (size_t)snprintf(e + len, sizeof e - len, " + %s * %lldLL", src[d], (long long)st);
    st *= rp->in_dims[d];
  }
  if (!extrap) {
    mt_cg_tmp(b, "o", off);
    mt_cg_line(b, "const long long %s = %s;", off, e);
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, n->inputs[0], off, x));
    snprintf(var, MT_CG_NAME, "%s", x);
    return NULL;
  }
  /* tf_crop_and_resize outside the input: the extrapolation value, rounded as store_elem does */
  char lit[64], conv[256];
  double_lit(rp->extrapolation_value, lit, sizeof lit);
  MT_RETURN_IF_ERROR_PLAIN(round_from_double(dt, lit, conv, sizeof conv));
  mt_cg_tmp(b, "v", var);
  mt_cg_line(b, "%s %s = %s;", mt_cg_ctype(dt), var, conv);
  mt_cg_line(b, "if (!(%s)) {", ex);
  b->indent++;
  b->depth++;
  mt_cg_tmp(b, "o", off);
  mt_cg_line(b, "const long long %s = %s;", off, e);
  mt_status *s2 = mt_cg_emit_value(b, n->inputs[0], off, x);
  if (!s2) mt_cg_line(b, "%s = %s;", var, x);
  mt_cg_forget(b, b->depth);
  b->depth--;
  b->indent--;
  mt_cg_line(b, "}");
  return s2;
}

mt_status *mt_cg_emit_resize(cg_body *b, const mt_node *n, const mt_resize_params *rp,
                             mt_value_id v, const char *off, char *var) {
  const mt_value *out = mt_module_value_c(b->m, v);
  mt_dtype dt = out->dtype;
  if (rp->rank != out->rank || !isfinite(rp->extrapolation_value))
    return MT_ERR(UNIMPLEMENTED, "Resize: unsupported parameters");
  /* the output's indices */
  char idx[MT_MAX_RANK][MT_CG_NAME];
  int64_t stride = 1, strides[MT_MAX_RANK];
  for (int d = rp->rank - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= rp->out_dims[d];
  }
  for (int d = 0; d < rp->rank; d++) {
    mt_cg_tmp(b, "i", idx[d]);
    mt_cg_line(b, "const long long %s = (%s) / %lldLL %% %lldLL;", idx[d], off,
               (long long)strides[d], (long long)rp->out_dims[d]);
  }
  if (rp->mode == MT_RESIZE_NEAREST) return emit_resize_nearest(b, n, rp, dt, idx, var);

  rz_ctx *z = mt_allocator_calloc(b->code->allocator, 1, sizeof *z);
  if (!z) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  z->n = n;
  z->rp = rp;
  double_lit(rp->extrapolation_value, z->extrap_lit, sizeof z->extrap_lit);
  mt_status *st = NULL;
  for (int i = 0; !st && i < rp->n_axes; i++) {
    int a = rp->axes[i];
    if (mt_cpu_resize_axis_is_identity(rp, a)) continue;
    int k = z->n_pass;
    if (rp->out_dims[a] <= 0 || rp->in_dims[a] <= 0 ||
        !mt_cpu_resize_taps_build(rp, a, &z->taps[k])) {
      st = rp->out_dims[a] > 0 && rp->in_dims[a] > 0
               ? MT_ERR(RESOURCE_EXHAUSTED, "Resize: out of memory for the taps of axis %d", a)
               : MT_ERR(UNIMPLEMENTED, "Resize of an empty axis %d", a);
      break;
    }
    z->n_pass++;
    z->pass_axis[k] = a;
    int64_t nout = rp->out_dims[a];
    mt_cg_tmp(b, "ridx", z->idx_tab[k]);
    mt_cg_tmp(b, "rw", z->w_tab[k]);
    table_i64(b, z->idx_tab[k], z->taps[k].idx, nout * z->taps[k].n);
    table_f64(b, z->w_tab[k], z->taps[k].w, nout * z->taps[k].n);
    for (int64_t y = 0; y < nout; y++) z->any_extrap[k] |= z->taps[k].extrap[y];
    if (z->any_extrap[k]) {
      int64_t *ex = mt_allocator_calloc(b->code->allocator, (size_t)nout, sizeof *ex);
      if (!ex) {
        st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
        break;
      }
      for (int64_t y = 0; y < nout; y++) ex[y] = z->taps[k].extrap[y];
      mt_cg_tmp(b, "rex", z->ex_tab[k]);
      table_i64(b, z->ex_tab[k], ex, nout);
      mt_allocator_free(b->code->allocator, ex);
    }
  }
  char acc[MT_CG_NAME], conv[512];
  if (!st) st = rz_value(b, z, z->n_pass - 1, idx, acc);
  if (!st) st = round_from_double(dt, acc, conv, sizeof conv);
  if (!st) {
    mt_cg_tmp(b, "v", var);
    mt_cg_line(b, "const %s %s = %s;", mt_cg_ctype(dt), var, conv);
  }
  for (int k = 0; k < z->n_pass; k++) mt_cpu_resize_taps_free(&z->taps[k]);
  mt_allocator_free(b->code->allocator, z);
  return st;
}

/* ---- groups that run on their own ---------------------------------------------------------- */

/* TopK: one block per row (a grid-stride loop over the outer x inner rows), each thread ranking
 * its elements j = tid, tid + T, ... against the whole row. The rank of j is the number of row
 * elements that come before it in runtime/cpu's total order (largest: NaN first, then value
 * descending; smallest: value ascending, NaN last; equal values, and NaN with NaN, by lower index),
 * so ranks are distinct and the element of rank r < k is written to slot r: sorted, each slot
 * written once, no shared memory, no atomics, deterministic. Values are copied in their storage
 * type (bit-exact, as the CPU's memcpy). Cost: n^2 / T comparisons per row (fine for the rows of
 * detection heads and samplers up to a few thousand; a block-wide bitonic sort would be the next
 * step for long rows). *out_work is the number of rows. */
MT_MUST_USE static mt_status *topk_body(cg_body *b, const mt_node *n, const mt_kc_topk *kp,
                                        int64_t *out_work) {
  const mt_module *m = b->m;
  const mt_value *x = mt_module_value_c(m, n->inputs[0]);
  const char *st = mt_cg_storetype(x->dtype);
  if (!st || x->dtype == MT_DTYPE_BOOL)
    return MT_ERR(UNIMPLEMENTED, "TopK of %s", mt_dtype_name(x->dtype));
  if (kp->axis < 0 || kp->axis >= x->rank)
    return MT_ERR(INVALID_ARGUMENT, "TopK axis %d out of range", kp->axis);
  int64_t outer = 1, len = x->dims[kp->axis], inner = 1;
  for (int d = 0; d < kp->axis; d++) outer *= x->dims[d];
  for (int d = kp->axis + 1; d < x->rank; d++) inner *= x->dims[d];
  if (kp->k < 0 || kp->k > len)
    return MT_ERR(INVALID_ARGUMENT, "TopK k = %lld out of range for an axis of %lld",
                  (long long)kp->k, (long long)len);
  int xi = mt_cg_input_index(b->fg, n->inputs[0]);
  int vo = mt_cg_output_index(b->fg, n->outputs[0]);
  int io = n->n_outputs > 1 && n->outputs[1] != MT_NO_VALUE
               ? mt_cg_output_index(b->fg, n->outputs[1])
               : -1;
  if (xi < 0) return MT_ERR(INTERNAL, "TopK input is not a group input");
  bool flt = mt_dtype_is_float_any(x->dtype);
  /* unsigned 64-bit values compare as unsigned; every narrower integer fits long long */
  const char *ct = x->dtype == MT_DTYPE_FLOAT64  ? "double"
                   : flt                         ? "float"
                   : x->dtype == MT_DTYPE_UINT64 ? "unsigned long long"
                                                 : "long long";
  char load_j[96], load_u[96];
  if (mt_dtype_is_float16_like(x->dtype)) {
    char p[32], at_j[64], at_u[64];
    snprintf(p, sizeof p, "b0_in%d", xi);
    snprintf(at_j, sizeof at_j, "base + j * %lldLL", (long long)inner);
    snprintf(at_u, sizeof at_u, "base + u * %lldLL", (long long)inner);
    mt_cg_elem_load(x->dtype, p, at_j, load_j, sizeof load_j);
    mt_cg_elem_load(x->dtype, p, at_u, load_u, sizeof load_u);
  } else {
    snprintf(load_j, sizeof load_j, "(%s)b0_in%d[base + j * %lldLL]", ct, xi, (long long)inner);
    snprintf(load_u, sizeof load_u, "(%s)b0_in%d[base + u * %lldLL]", ct, xi, (long long)inner);
  }
  *out_work = outer * inner;
  mt_cg_line(b, "// TopK k=%lld %s along an axis of %lld (stride %lld), %lld rows: rank sort",
             (long long)kp->k, kp->largest ? "largest" : "smallest", (long long)len,
             (long long)inner, (long long)(outer * inner));
  mt_cg_line(b,
             "for (long long r = (long long)blockIdx.x; r < %lldLL; r += (long long)gridDim.x) {",
             (long long)(outer * inner));
  mt_cg_line(b, "  const long long base = r / %lldLL * %lldLL + r %% %lldLL;", (long long)inner,
             (long long)(len * inner), (long long)inner);
  mt_cg_line(b, "  const long long obase = r / %lldLL * %lldLL + r %% %lldLL;", (long long)inner,
             (long long)(kp->k * inner), (long long)inner);
  mt_cg_line(b,
             "  for (long long j = (long long)threadIdx.x; j < %lldLL; j += (long long)blockDim.x) "
             "{",
             (long long)len);
  mt_cg_line(b, "    const %s vj = %s;", ct, load_j);
  if (flt) mt_cg_line(b, "    const bool nj = vj != vj;");
  mt_cg_line(b, "    long long rank = 0;");
  mt_cg_line(b, "    for (long long u = 0; u < %lldLL && rank < %lldLL; u++) {", (long long)len,
             (long long)kp->k);
  mt_cg_line(b, "      const %s vu = %s;", ct, load_u);
  const char *cmp = kp->largest ? ">" : "<";
  if (flt) {
    mt_cg_line(b, "      const bool nu = vu != vu;");
    mt_cg_line(b, "      const bool tie = (nu && nj) || (!nu && !nj && vu == vj);");
    if (kp->largest)
      mt_cg_line(b, "      const bool before = (nu && !nj) || (!nu && !nj && vu > vj) || (tie "
                    "&& u < j);");
    else
      mt_cg_line(b, "      const bool before = (!nu && nj) || (!nu && !nj && vu < vj) || (tie "
                    "&& u < j);");
  } else {
    mt_cg_line(b, "      const bool before = vu %s vj || (vu == vj && u < j);", cmp);
  }
  mt_cg_line(b, "      rank += before ? 1 : 0;");
  mt_cg_line(b, "    }");
  mt_cg_line(b, "    if (rank < %lldLL) {", (long long)kp->k);
  if (vo >= 0)
    mt_cg_line(b, "      b0_out%d[obase + rank * %lldLL] = b0_in%d[base + j * %lldLL];", vo,
               (long long)inner, xi, (long long)inner);
  if (io >= 0) mt_cg_line(b, "      b0_out%d[obase + rank * %lldLL] = j;", io, (long long)inner);
  mt_cg_line(b, "    }");
  mt_cg_line(b, "  }");
  mt_cg_line(b, "}");
  return NULL;
}

/* The kernel's statements for the one node of an MT_GROUP_OTHER group; *out_work is the number
 * of output elements (for the grid), *out_single whether one block does everything. */
MT_MUST_USE static mt_status *other_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                                         int64_t *out_work, bool *out_single) {
  const mt_module *m = b->m;
  *out_single = false;
  /* a recurrent layer may leave Y (output 0) out */
  if (c->kind == MT_KERNEL_RNN) return mt_cg_rnn_body(b, n, &c->params.rnn, out_work);
  if (c->kind == MT_KERNEL_DFT || c->kind == MT_KERNEL_STFT || c->kind == MT_KERNEL_MEL_WEIGHT)
    return mt_cg_signal_body(b, n, c, out_work);
  const mt_value *y = mt_module_value_c(m, n->outputs[0]);
  int64_t ny = mt_cg_numel(m, n->outputs[0]);
  *out_work = ny;
  const char *loop = "for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < "
                     "%lldLL; i += (long long)gridDim.x * blockDim.x) {";
  switch (c->kind) {
  case MT_KERNEL_SHAPE:
  case MT_KERNEL_SIZE: {
    /* static shapes: the values are known now; the kernel only writes them */
    const mt_value *x = mt_module_value_c(m, n->inputs[0]);
    int64_t vals[MT_MAX_RANK + 1], nv = 0;
    if (c->kind == MT_KERNEL_SIZE)
      vals[nv++] = mt_cg_numel(m, n->inputs[0]);
    else
      for (int64_t d = c->params.shape.start; d < c->params.shape.end; d++) vals[nv++] = x->dims[d];
    if (nv != ny) return MT_ERR(INTERNAL, "shape output has %lld elements", (long long)ny);
    table_i64(b, "shape_vals", vals, nv);
    mt_cg_line(b, loop, (long long)ny);
    mt_cg_line(b, "  b0_out0[i] = shape_vals[i];");
    mt_cg_line(b, "}");
    return NULL;
  }
  case MT_KERNEL_CONSTANT_OF_SHAPE: {
    char lit[128];
    if (c->params.fill.dtype != y->dtype) return MT_ERR(UNIMPLEMENTED, "fill dtype differs");
    mt_cg_fill_literal(y->dtype, c->params.fill.value, lit, sizeof lit);
    mt_cg_line(b, loop, (long long)ny);
    b->indent++;
    mt_cg_store(b, y->dtype, "b0_out0", "i", lit);
    b->indent--;
    mt_cg_line(b, "}");
    return NULL;
  }
  case MT_KERNEL_RANGE:
    switch (y->dtype) {
    case MT_DTYPE_FLOAT32:
      /* the CPU accumulates v += delta in float: sequential, so one thread writes it all */
      *out_single = true;
      mt_cg_line(b, "if (blockIdx.x != 0 || threadIdx.x != 0) return;");
      mt_cg_line(b, "float v = b0_in0[0];");
      mt_cg_line(b, "const float delta = b0_in2[0];");
      mt_cg_line(b, "for (long long i = 0; i < %lldLL; i++, v += delta) b0_out0[i] = v;",
                 (long long)ny);
      return NULL;
    case MT_DTYPE_INT32:
    case MT_DTYPE_INT64:
      /* start + i * delta in int64, wrapping (unsigned) instead of overflowing */
      mt_cg_line(b, loop, (long long)ny);
      mt_cg_line(b,
                 "  b0_out0[i] = (%s)(long long)((unsigned long long)(long long)b0_in0[0] + "
                 "(unsigned long long)i * (unsigned long long)(long long)b0_in2[0]);",
                 mt_cg_storetype(y->dtype));
      mt_cg_line(b, "}");
      return NULL;
    default: return MT_ERR(UNIMPLEMENTED, "Range of %s", mt_dtype_name(y->dtype));
    }
  case MT_KERNEL_NONZERO: {
    const mt_value *x = mt_module_value_c(m, n->inputs[0]);
    int64_t nx = mt_cg_numel(m, n->inputs[0]);
    int rows = x->rank > 0 ? x->rank : 1;
    char test[160], narrow[128];
    if (mt_cg_is_narrow(x->dtype)) { /* -0 has bits set: compare the value */
      mt_cg_narrow_load(x->dtype, "b0_in0[j]", narrow, sizeof narrow);
      snprintf(test, sizeof test, "(%s != 0.0f)", narrow);
    } else {
      snprintf(test, sizeof test, "%s",
               x->dtype == MT_DTYPE_FLOAT16 ? "(__half2float(b0_in0[j]) != 0.0f)"
                                            : "(b0_in0[j] != 0)");
    }
    if (!mt_cg_ctype(x->dtype))
      return MT_ERR(UNIMPLEMENTED, "NonZero of %s", mt_dtype_name(x->dtype));
    *out_single = true;
    *out_work = nx;
    /* One block: thread t counts its contiguous chunk, a prefix sum over the block places each
     * chunk's indices, so the order is row-major as on the CPU and no atomics reorder it. */
    mt_cg_line(b,
               "// bounded output: row r of the indices at b0_out0 + r * %lld; count in b0_count",
               (long long)nx);
    mt_cg_line(b, "if (blockIdx.x != 0) return;");
    mt_cg_line(b, "MT_SHARED(long long, part, [1024]);");
    mt_cg_line(b, "const long long T = (long long)blockDim.x, t = (long long)threadIdx.x;");
    mt_cg_line(b, "const long long chunk = (%lldLL + T - 1) / T;", (long long)nx);
    mt_cg_line(b, "const long long lo = t * chunk < %lldLL ? t * chunk : %lldLL;", (long long)nx,
               (long long)nx);
    mt_cg_line(b, "const long long hi = lo + chunk < %lldLL ? lo + chunk : %lldLL;", (long long)nx,
               (long long)nx);
    mt_cg_line(b, "long long cnt = 0;");
    mt_cg_line(b, "for (long long j = lo; j < hi; j++) cnt += %s ? 1 : 0;", test);
    mt_cg_line(b, "part[t] = cnt;");
    mt_cg_line(b, "__syncthreads();");
    mt_cg_line(b, "if (t == 0) {");
    mt_cg_line(b, "  long long s = 0;");
    mt_cg_line(b, "  for (long long u = 0; u < T; u++) {");
    mt_cg_line(b, "    const long long c = part[u];");
    mt_cg_line(b, "    part[u] = s;");
    mt_cg_line(b, "    s += c;");
    mt_cg_line(b, "  }");
    mt_cg_line(b, "  b0_count[0] = s;");
    mt_cg_line(b, "}");
    mt_cg_line(b, "__syncthreads();");
    mt_cg_line(b, "long long pos = part[t];");
    mt_cg_line(b, "for (long long j = lo; j < hi; j++) {");
    mt_cg_line(b, "  if (!%s) continue;", test);
    int64_t st = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
      mt_cg_line(b, "  b0_out0[%lldLL + pos] = j / %lldLL %% %lldLL;", (long long)d * nx,
                 (long long)st, (long long)x->dims[d]);
      st *= x->dims[d];
    }
    if (x->rank == 0) mt_cg_line(b, "  b0_out0[pos] = 0;");
    mt_cg_line(b, "  pos++;");
    mt_cg_line(b, "}");
    (void)rows;
    return NULL;
  }
  case MT_KERNEL_TOPK: return topk_body(b, n, &c->params.topk, out_work);
  default: {
    mt_status *st = mt_cg_packed_body(b, n, c, out_work);
    if (mt_status_code_of(st) != MT_NOT_FOUND) return st;
    mt_status_free(st);
    st = mt_cg_index_body(b, n, c, out_work);
    if (mt_status_code_of(st) != MT_NOT_FOUND) return st;
    mt_status_free(st);
    st = mt_cg_quant_body(b, n, c, out_work, out_single);
    if (mt_status_code_of(st) != MT_NOT_FOUND) return st;
    mt_status_free(st);
    st = mt_cg_vision_body(b, n, c, out_work);
    if (mt_status_code_of(st) != MT_NOT_FOUND) return st;
    mt_status_free(st);
    st = mt_cg_attention_body(b, n, c, out_work);
    if (mt_status_code_of(st) != MT_NOT_FOUND) return st;
    mt_status_free(st);
    st = mt_cg_newops_body(b, n, c, out_work);
    if (mt_status_code_of(st) != MT_NOT_FOUND) return st;
    mt_status_free(st);
    /* the caller names tenant and node */
    return MT_ERR(UNIMPLEMENTED,
                  "op '%s' runs on its own (data-dependent output size or control flow); no "
                  "generator yet",
                  n->op_type);
  }
  }
}

mt_status *mt_cg_other_kernel(const mt_plan *p, const mt_cuda_options *o, int32_t h,
                              mt_cuda_program *prog, mt_cuda_kernel *out) {
  const mt_horizontal_group *hg = &p->hgroups[h];
  const mt_fused_group *fg = &p->groups[hg->members[0]];
  const mt_module *m = p->module;
  const mt_allocator *a = prog->allocator;
  int32_t node = fg->anchor >= 0 ? fg->anchor : fg->nodes[0];
  const mt_node *n = mt_module_node_c(m, node);
  const char *why_not = mt_node_control_flow_reason(m, n);
  if (why_not) return MT_ERR(UNIMPLEMENTED, "%s: %s", mt_cg_node_label(m, node), why_not);
  /* TopK, SoftmaxCrossEntropyLoss, DynamicQuantizeLinear, Attention, CausalConvWithState,
   * LinearAttention and the recurrent layers may have several outputs in use; the
   * others one */
  bool multi =
      strcmp(n->op_type, "TopK") == 0 || strcmp(n->op_type, "SoftmaxCrossEntropyLoss") == 0 ||
      strcmp(n->op_type, "LSTM") == 0 || strcmp(n->op_type, "GRU") == 0 ||
      strcmp(n->op_type, "RNN") == 0 || strcmp(n->op_type, "DynamicQuantizeLinear") == 0 ||
      strcmp(n->op_type, "Attention") == 0 || strcmp(n->op_type, "CausalConvWithState") == 0 ||
      strcmp(n->op_type, "LinearAttention") == 0;
  if (fg->n_nodes != 1 || n->n_outputs < 1 || fg->n_outputs < 1 || (fg->n_outputs != 1 && !multi))
    return MT_ERR(UNIMPLEMENTED,
                  "%s: op '%s' runs on its own (data-dependent output size or control flow); no "
                  "generator yet",
                  mt_cg_node_label(m, node), n->op_type);
  const mt_partition_plan *part = &p->partitions[hg->partition];
  int sms = o->sm_count_override > 0 ? o->sm_count_override
                                     : (part->sm_count > 0 ? part->sm_count : p->arch->sm_count);
  int threads = o->block_threads > 0 ? o->block_threads : 256;
  if (threads > 1024) threads = 1024;
  int bps = o->blocks_per_sm > 0 ? o->blocks_per_sm : 8;

  mt_sb code = {.allocator = a}, src = {.allocator = a};
  cg_body *b = mt_allocator_calloc(a, 1, sizeof *b);
  if (!b) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = mt_cg_body_init(b, p, fg, 0, &code);
  int64_t work = 0;
  bool single = false;
  if (!st) {
    b->indent = 1;
    st = other_body(b, n, &b->calls[0], &work, &single);
    if (st && !strstr(mt_status_message(st), "tenant '"))
      st = mt_status_annotate(st, "%s", mt_cg_node_label(m, node));
  }
  bool nonzero = !st && b->calls[0].kind == MT_KERNEL_NONZERO;
  bool topk = !st && b->calls[0].kind == MT_KERNEL_TOPK;
  bool rnn = !st && b->calls[0].kind == MT_KERNEL_RNN;
  mt_cg_body_free(b);
  mt_allocator_free(a, b);
  char name[160], why[512];
  mt_cg_kernel_name(p, h, name, sizeof name);
  if (!st) {
    /* TopK's work is rows, one block each */
    int64_t want = single ? 1 : (topk || rnn) ? work : (work + threads - 1) / threads;
    int64_t cap = (int64_t)sms * bps;
    if (want < 1) want = 1;
    if (want > cap) want = cap;
    out->grid = (unsigned)want;
    out->block = (unsigned)threads;
    out->dyn_smem = 0;
    out->hgroup = h;
    if (single)
      snprintf(why, sizeof why, "%s: one block of %d threads (%s), whatever the partition's %d SMs",
               n->op_type, threads,
               nonzero ? "per-thread chunks placed by a block prefix sum keep the row-major order"
                       : "sequential float accumulation, as the reference",
               sms);
    else if (topk)
      snprintf(why, sizeof why,
               "TopK: %lld rows, one block of %d threads per row ranking every element against "
               "the row (ties by lower index, as the reference) -> %lld blocks (cap %d SMs x %d "
               "blocks/SM), grid-stride over rows",
               (long long)work, threads, (long long)want, sms, bps);
    else if (rnn)
      snprintf(why, sizeof why,
               "%s: %lld sequences (directions x batch), one persistent block of %d threads per "
               "sequence over the hidden units, the state in shared memory, a barrier per step "
               "phase -> %lld blocks (cap %d SMs x %d blocks/SM)",
               n->op_type, (long long)work, threads, (long long)want, sms, bps);
    else
      snprintf(why, sizeof why,
               "%s: %lld elements -> %lld blocks of %d (cap %d SMs x %d blocks/SM), grid-stride",
               n->op_type, (long long)work, (long long)want, threads, sms, bps);
    mt_sb_printf(&src, "// mtcc generated kernel %s (horizontal group %d, %s)\n", name, h,
                 mt_group_kind_name(fg->kind));
    mt_sb_printf(&src, "// launch: grid %u, block %u, dynamic shared 0 bytes (%s)\n", out->grid,
                 out->block, why);
    mt_cg_node_comments(p, fg, 0, &src);
    mt_sb_printf(&src, "#include \"mt_cuda.h\"\n\n%s%s", mt_cg_prelude,
                 mt_cg_prelude_narrow_for(p, &fg, 1));
    mt_sb_printf(&src, "\nextern \"C\" __global__ void %s(", name);
    mt_sb params = {.allocator = a};
    mt_cg_param_list(p, fg, 0, &params, true);
    if (nonzero) mt_sb_printf(&params, ",\n    MT_GLOBAL(long long) b0_count");
    mt_sb_printf(&src, "%s) {\n%s}\n", params.data ? params.data + 6 : "",
                 code.data ? code.data : "");
    if (params.oom) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    mt_sb_free(&params);
    out->n_nodes = 1;
    if (src.oom || code.oom) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  const mt_fused_group *fgs[1] = {fg};
  if (!st) st = mt_cg_kernel_finish(p, 1, fgs, a, name, src.data, why, out);
  if (!st && nonzero) {
    /* kernel_finish leaves room for one more parameter */
    const mt_value *x = mt_module_value_c(m, n->inputs[0]);
    int64_t nx = mt_cg_numel(m, n->inputs[0]);
    mt_cuda_param *y = &out->params[out->n_params - 1];
    y->row_stride = nx;
    y->elements = (int64_t)(x->rank > 0 ? x->rank : 1) * nx;
    out->params[out->n_params++] = (mt_cuda_param){.value = n->outputs[0],
                                                   .is_output = true,
                                                   .dtype = MT_DTYPE_INT64,
                                                   .elements = 1,
                                                   .is_count = true};
  }
  mt_sb_free(&code);
  mt_sb_free(&src);
  return st;
}
