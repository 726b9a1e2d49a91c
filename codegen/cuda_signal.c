/* Generators for the signal ops: DFT, STFT, MelWeightMatrix (MT_KERNEL_DFT, _STFT, _MEL_WEIGHT).
 *
 * One thread per output bin in a grid-stride loop, each a direct sum over its line in double
 * with runtime/cpu/kernel_call_signal.c's twiddle (2 pi ((j k) mod n) / n, then cos and sin) and
 * term order, so the generated code agrees with the reference to the device's cos/sin. A direct
 * sum is O(n) per bin: fine for the frame lengths of audio front ends (hundreds); a batched FFT
 * (cuFFT, or a generated radix-2 kernel) would be the path for long transforms, not written.
 * MelWeightMatrix's filter edges are computed at generation by the reference's own function and
 * embedded as a table; each element is then the reference's integer-edge formula. */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

#define LOOP                                                                                       \
  "for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL; i += "         \
  "(long long)gridDim.x * blockDim.x) {"

/* Most MelWeightMatrix filters the embedded edge table holds. */
#define MEL_MAX_FILTERS 4094

static void ld(mt_dtype dt, const char *p, const char *at, char *out, size_t n) {
  mt_cg_load_f64(dt, p, at, out, n);
}

static void store(cg_body *b, mt_dtype dt, const char *p, const char *at, const char *v) {
  char e[128];
  snprintf(e, sizeof e, dt == MT_DTYPE_FLOAT64 ? "%s" : "(float)(%s)", v);
  mt_cg_store(b, dt, p, at, e);
}

/* wr, wi = mt_cpu_dft_twiddle(jk, n, inverse) as statements. */
static void twiddle(cg_body *b, const char *jk, const char *n, bool inverse) {
  mt_cg_line(b,
             "const double a = 6.283185307179586476925286766559 * (double)((%s) %% %s) / "
             "(double)%s;",
             jk, n, n);
  mt_cg_line(b, "const double wr = cos(a), wi = %ssin(a);", inverse ? "" : "-");
}

static void dft_body(cg_body *b, const mt_kc_dft *p, const mt_value *x, const char *xi,
                     const char *yo, mt_dtype ydt, int64_t *work) {
  int r = x->rank, a = p->axis;
  int64_t m = x->dims[a], cin = x->dims[r - 1], n = p->length;
  int64_t outer = mt_shape_numel(a, x->dims), inner = mt_shape_numel(r - 2 - a, x->dims + a + 1);
  bool irfft = p->inverse && p->onesided;
  int64_t nout = irfft ? n : (p->onesided ? n / 2 + 1 : n), used = m < n ? m : n;
  char xr[128], xim[128];
  ld(x->dtype, xi, "at", xr, sizeof xr);
  ld(x->dtype, xi, "at + 1", xim, sizeof xim);
  *work = outer * nout * inner;
  mt_cg_line(b, "const long long M = %lldLL, N = %lldLL, IN = %lldLL, NOUT = %lldLL;", (long long)m,
             (long long)n, (long long)inner, (long long)nout);
  mt_cg_line(b, LOOP, (long long)*work);
  b->indent++;
  mt_cg_line(b, "const long long ii = i %% IN, k = i / IN %% NOUT, o = i / (IN * NOUT);");
  mt_cg_line(b, "double re = 0.0, im = 0.0;");
  if (irfft) {
    int64_t half = n / 2 < used - 1 ? n / 2 : used - 1;
    mt_cg_line(b, "for (long long j = 0; j <= %lldLL; j++) {", (long long)half);
    b->indent++;
    mt_cg_line(b, "const long long at = ((o * M + j) * IN + ii) * %lldLL;", (long long)cin);
    mt_cg_line(b, "const double xr = %s, xi = %s;", xr, cin == 2 ? xim : "0.0");
    twiddle(b, "j * k", "N", true);
    mt_cg_line(b, "const double term = xr * wr - xi * wi;");
    mt_cg_line(b, "re += (j == 0 || 2 * j == N) ? term : 2.0 * term;");
    b->indent--;
    mt_cg_line(b, "}");
    mt_cg_line(b, "(void)im;");
    store(b, ydt, yo, "i", "re / (double)N");
  } else {
    mt_cg_line(b, "for (long long j = 0; j < %lldLL; j++) {", (long long)used);
    b->indent++;
    mt_cg_line(b, "const long long at = ((o * M + j) * IN + ii) * %lldLL;", (long long)cin);
    mt_cg_line(b, "const double xr = %s, xi = %s;", xr, cin == 2 ? xim : "0.0");
    twiddle(b, "j * k", "N", p->inverse);
    mt_cg_line(b, "re += xr * wr - xi * wi;");
    mt_cg_line(b, "im += xr * wi + xi * wr;");
    b->indent--;
    mt_cg_line(b, "}");
    if (p->inverse) {
      mt_cg_line(b, "re /= (double)N;");
      mt_cg_line(b, "im /= (double)N;");
    }
    store(b, ydt, yo, "i * 2", "re");
    store(b, ydt, yo, "i * 2 + 1", "im");
  }
  b->indent--;
  mt_cg_line(b, "}");
}

static void stft_body(cg_body *b, const mt_kc_stft *p, const mt_value *x, const char *xi,
                      const char *wi_name, const char *yo, int64_t *work) {
  int64_t batch = x->dims[0], len = x->dims[1], cin = x->dims[2], fl = p->frame_length;
  int64_t frames = 1 + (len - fl) / p->frame_step, bins = p->onesided ? fl / 2 + 1 : fl;
  char xr[128], xim[128], g[128];
  ld(x->dtype, xi, "at", xr, sizeof xr);
  ld(x->dtype, xi, "at + 1", xim, sizeof xim);
  if (wi_name[0])
    ld(x->dtype, wi_name, "j", g, sizeof g);
  else
    snprintf(g, sizeof g, "1.0");
  *work = batch * frames * bins;
  mt_cg_line(b, "const long long L = %lldLL, FL = %lldLL, FR = %lldLL, BINS = %lldLL;",
             (long long)len, (long long)fl, (long long)frames, (long long)bins);
  mt_cg_line(b, LOOP, (long long)*work);
  b->indent++;
  mt_cg_line(b, "const long long k = i %% BINS, f = i / BINS %% FR, bb = i / (BINS * FR);");
  mt_cg_line(b, "double re = 0.0, im = 0.0;");
  mt_cg_line(b, "for (long long j = 0; j < FL; j++) {");
  b->indent++;
  mt_cg_line(b, "const long long at = (bb * L + f * %lldLL + j) * %lldLL;",
             (long long)p->frame_step, (long long)cin);
  mt_cg_line(b, "const double g = %s;", g);
  if (cin == 2)
    mt_cg_line(b, "const double xr = %s * g, xi = %s * g;", xr, xim);
  else
    mt_cg_line(b, "const double xr = %s * g, xi = 0.0;", xr);
  twiddle(b, "j * k", "FL", false);
  mt_cg_line(b, "re += xr * wr - xi * wi;");
  mt_cg_line(b, "im += xr * wi + xi * wr;");
  b->indent--;
  mt_cg_line(b, "}");
  store(b, x->dtype, yo, "i * 2", "re");
  store(b, x->dtype, yo, "i * 2 + 1", "im");
  b->indent--;
  mt_cg_line(b, "}");
}

mt_status *mt_cg_signal_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                             int64_t *out_work) {
  const mt_module *m = b->m;
  const mt_value *y = mt_module_value_c(m, n->outputs[0]);
  int k = mt_cg_output_index(b->fg, n->outputs[0]);
  if (k < 0) return MT_ERR(INTERNAL, "output 0 is not a parameter of its kernel");
  char yo[MT_CG_NAME], xi[MT_CG_NAME], wi[MT_CG_NAME];
  snprintf(yo, sizeof yo, "b%d_out%d", b->index, k);
  if (!mt_cg_ctype(y->dtype) || !mt_dtype_is_float_any(y->dtype))
    return MT_ERR(UNIMPLEMENTED, "%s of %s", n->op_type, mt_dtype_name(y->dtype));
  switch (c->kind) {
  case MT_KERNEL_DFT: {
    const mt_value *x = mt_module_value_c(m, n->inputs[0]);
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, xi));
    dft_body(b, &c->params.dft, x, xi, yo, y->dtype, out_work);
    return NULL;
  }
  case MT_KERNEL_STFT: {
    const mt_value *x = mt_module_value_c(m, n->inputs[0]);
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, xi));
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, wi));
    stft_body(b, &c->params.stft, x, xi, wi, yo, out_work);
    return NULL;
  }
  case MT_KERNEL_MEL_WEIGHT: {
    const mt_kc_mel *p = &c->params.mel;
    if (p->num_mel_bins > MEL_MAX_FILTERS)
      return MT_ERR(UNIMPLEMENTED, "MelWeightMatrix of %lld filters (a table of at most %d)",
                    (long long)p->num_mel_bins, MEL_MAX_FILTERS);
    int64_t edges[MEL_MAX_FILTERS + 2];
    mt_cpu_mel_edges(p, edges);
    mt_sb *sb = b->code;
    for (int i = 0; i < b->indent; i++) mt_sb_printf(sb, "  ");
    mt_sb_printf(sb, "static const long long edges[%lld] = {", (long long)(p->num_mel_bins + 2));
    for (int64_t e = 0; e < p->num_mel_bins + 2; e++)
      mt_sb_printf(sb, "%s%lldLL", e ? ", " : "", (long long)edges[e]);
    mt_sb_printf(sb, "};\n");
    int64_t nm = p->num_mel_bins, bins = p->dft_length / 2 + 1;
    *out_work = nm * bins;
    mt_cg_line(b, LOOP, (long long)*out_work);
    b->indent++;
    mt_cg_line(b, "const long long j = i / %lldLL, f = i %% %lldLL;", (long long)nm, (long long)nm);
    mt_cg_line(b, "const long long lo = edges[f], c = edges[f + 1], hi = edges[f + 2];");
    mt_cg_line(b, "double v = 0.0;");
    mt_cg_line(b, "if (c == lo) {");
    mt_cg_line(b, "  if (j == c) v = 1.0;");
    mt_cg_line(b, "} else if (j >= lo && j <= c) {");
    mt_cg_line(b, "  v = (double)(j - lo) / (double)(c - lo);");
    mt_cg_line(b, "}");
    mt_cg_line(b, "if (hi > c && j >= c && j < hi) v = (double)(hi - j) / (double)(hi - c);");
    store(b, y->dtype, yo, "i", "v");
    b->indent--;
    mt_cg_line(b, "}");
    return NULL;
  }
  default: return MT_ERR(NOT_FOUND, "not a signal kernel");
  }
}
