/* Generators for the detection and vision ops that run on their own (MT_GROUP_OTHER): RoiAlign
 * and GridSample (one thread per output element), MaxUnpool (one thread per (n, c) plane, which
 * zeroes its plane and then scatters its inputs in order, so repeated indices resolve as on the
 * CPU without atomics), AffineGrid and Col2Im (one thread per output element; Col2Im gathers
 * its block positions instead of scattering them, so no atomics), Det (one thread per matrix, LU
 * with partial pivoting in double) and CumProd (one thread per line, the sequential running
 * product).
 * Each repeats runtime/cpu/kernel_call_vision.c's arithmetic in the same order.
 *
 * A kernel cannot return a status: where the CPU refuses bad index values (a RoiAlign batch index
 * out of range, a MaxUnpool index outside its plane), the generated code clamps the batch index
 * and skips the stray element, as the Gather generator clamps. NonMaxSuppression is refused with
 * its reason: its output size depends on the scores and plans hold no bounded values yet. */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

#define LOOP                                                                                       \
  "for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL; i += "         \
  "(long long)gridDim.x * blockDim.x) {"

/* The store of double `acc` into y[at], rounded once into y's dtype. */
static void store_f64(cg_body *b, mt_dtype dt, const char *y, const char *at, const char *acc) {
  char e[160];
  snprintf(e, sizeof e, dt == MT_DTYPE_FLOAT64 ? "%s" : "(float)%s", acc);
  mt_cg_store(b, dt, y, at, e);
}

/* Ends a per-element loop: the double `acc` stored into y[i], then the loop's brace. */
static void store_and_close(cg_body *b, mt_dtype dt, const char *yo, const char *acc) {
  b->indent++;
  store_f64(b, dt, yo, "i", acc);
  b->indent--;
  mt_cg_line(b, "}");
}

static void roi_align(cg_body *b, const mt_kc_roi_align *p, const mt_value *x, const mt_value *y,
                      const char *xi, const char *ri, const char *bi, const char *yo, int64_t ny) {
  char lit[64], rd[4][160], v[4][160];
  mt_cg_float_lit(p->spatial_scale, lit, sizeof lit);
  for (int k = 0; k < 4; k++) {
    char at[32];
    snprintf(at, sizeof at, "r * 4 + %d", k);
    mt_cg_load_f64(x->dtype, ri, at, rd[k], sizeof rd[k]);
  }
  static const char *const corner[4] = {"ylo * W + xlo", "ylo * W + xhi", "yhi * W + xlo",
                                        "yhi * W + xhi"};
  for (int k = 0; k < 4; k++) {
    char at[48];
    snprintf(at, sizeof at, "base + %s", corner[k]);
    mt_cg_load_f64(x->dtype, xi, at, v[k], sizeof v[k]);
  }
  mt_cg_line(b, "const long long NB = %lldLL, C = %lldLL, H = %lldLL, W = %lldLL;",
             (long long)x->dims[0], (long long)x->dims[1], (long long)x->dims[2],
             (long long)x->dims[3]);
  mt_cg_line(b, "const long long OH = %lldLL, OW = %lldLL;", (long long)y->dims[2],
             (long long)y->dims[3]);
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  const long long pw = i %% OW, ph = i / OW %% OH, c = i / (OW * OH) %% C;");
  mt_cg_line(b, "  const long long r = i / (OW * OH * C);");
  mt_cg_line(b, "  long long batch = (long long)%s[r];", bi);
  mt_cg_line(b, "  batch = batch < 0 ? 0 : (batch >= NB ? NB - 1 : batch);");
  mt_cg_line(b, "  const double off = %s, scale = (double)%s;", p->half_pixel ? "0.5" : "0.0", lit);
  mt_cg_line(b, "  const double x0 = %s * scale - off, y0 = %s * scale - off;", rd[0], rd[1]);
  mt_cg_line(b, "  const double x1 = %s * scale - off, y1 = %s * scale - off;", rd[2], rd[3]);
  mt_cg_line(b, "  double rw = x1 - x0, rh = y1 - y0;");
  if (!p->half_pixel) {
    mt_cg_line(b, "  rw = rw > 1.0 ? rw : 1.0;");
    mt_cg_line(b, "  rh = rh > 1.0 ? rh : 1.0;");
  }
  mt_cg_line(b, "  const double bh = rh / (double)OH, bw = rw / (double)OW;");
  if (p->sampling_ratio > 0) {
    mt_cg_line(b, "  const long long gh = %lldLL, gw = %lldLL;", (long long)p->sampling_ratio,
               (long long)p->sampling_ratio);
  } else {
    mt_cg_line(b, "  const long long gh = (long long)ceil(rh / (double)OH);");
    mt_cg_line(b, "  const long long gw = (long long)ceil(rw / (double)OW);");
  }
  mt_cg_line(b, "  const long long count = gh * gw > 1 ? gh * gw : 1;");
  mt_cg_line(b, "  const long long base = (batch * C + c) * H * W;");
  mt_cg_line(b, "  double acc = 0.0;");
  mt_cg_line(b, "  bool first = true;");
  mt_cg_line(b, "  for (long long iy = 0; iy < gh; iy++)");
  mt_cg_line(b, "    for (long long ix = 0; ix < gw; ix++) {");
  mt_cg_line(b, "      double yy = y0 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;");
  mt_cg_line(b, "      double xx = x0 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;");
  mt_cg_line(b, "      double v = 0.0;");
  mt_cg_line(b, "      if (!(yy < -1.0 || yy > (double)H || xx < -1.0 || xx > (double)W)) {");
  mt_cg_line(b, "        yy = yy > 0 ? yy : 0;");
  mt_cg_line(b, "        xx = xx > 0 ? xx : 0;");
  mt_cg_line(b, "        long long ylo = (long long)yy, xlo = (long long)xx, yhi, xhi;");
  mt_cg_line(b, "        if (ylo >= H - 1) { yhi = ylo = H - 1; yy = (double)ylo; }");
  mt_cg_line(b, "        else yhi = ylo + 1;");
  mt_cg_line(b, "        if (xlo >= W - 1) { xhi = xlo = W - 1; xx = (double)xlo; }");
  mt_cg_line(b, "        else xhi = xlo + 1;");
  mt_cg_line(b, "        const double ly = yy - (double)ylo, lx = xx - (double)xlo;");
  mt_cg_line(b, "        const double hy = 1.0 - ly, hx = 1.0 - lx;");
  mt_cg_line(b, "        const double v1 = hy * hx * %s, v2 = hy * lx * %s;", v[0], v[1]);
  mt_cg_line(b, "        const double v3 = ly * hx * %s, v4 = ly * lx * %s;", v[2], v[3]);
  mt_cg_line(b, "        v = %s;",
             p->is_max ? "fmax(fmax(v1, v2), fmax(v3, v4))" : "v1 + v2 + v3 + v4");
  mt_cg_line(b, "      }");
  if (p->is_max)
    mt_cg_line(b, "      if (first || v > acc) acc = v;");
  else
    mt_cg_line(b, "      acc += v;");
  mt_cg_line(b, "      first = false;");
  mt_cg_line(b, "    }");
  mt_cg_line(b, "  (void)first;");
  mt_cg_line(b, "  (void)count;");
  store_and_close(b, y->dtype, yo, p->is_max ? "acc" : "(acc / (double)count)");
}

/* A {a, b, ...} initialiser of n int64 values. */
static void dims_init(const int64_t *d, int n, char *out, size_t cap) {
  size_t k = (size_t)snprintf(out, cap, "{");
  for (int i = 0; i < n && k < cap; i++)
    k += (size_t)snprintf(out + k, cap - k, "%s%lldLL", i ? ", " : "", (long long)d[i]);
  if (k < cap) snprintf(out + k, cap - k, "}");
}

static void grid_sample(cg_body *b, const mt_kc_grid_sample *p, const mt_value *x,
                        const mt_value *g, const mt_value *y, const char *xi, const char *gi,
                        const char *yo, int64_t ny) {
  int k = x->rank - 2;
  int taps = p->mode == MT_GRID_NEAREST ? 1 : p->mode == MT_GRID_LINEAR ? 2 : 4;
  int total = 1;
  for (int i = 0; i < k; i++) total *= taps;
  char dinit[160], gv[160], xv[160];
  dims_init(x->dims + 2, k, dinit, sizeof dinit);
  mt_cg_load_f64(g->dtype, gi, "(n * OP + o) * K + (K - 1 - d)", gv, sizeof gv);
  mt_cg_load_f64(x->dtype, xi, "nc * IP + off", xv, sizeof xv);
  mt_cg_line(b, "const int K = %d;", k);
  mt_cg_line(b, "const long long D[%d] = %s;", k, dinit);
  mt_cg_line(b, "const long long C = %lldLL, IP = %lldLL, OP = %lldLL;", (long long)x->dims[1],
             (long long)mt_shape_numel(k, x->dims + 2), (long long)mt_shape_numel(k, y->dims + 2));
  /* the reference's _gs_reflect: by the nearer border until inside */
  mt_cg_line(b, "auto reflect = [](double v, double lo, double hi) -> double {");
  mt_cg_line(b, "  const double range = hi - lo;");
  mt_cg_line(b, "  if (v < lo) {");
  mt_cg_line(b, "    const double d = lo - v;");
  mt_cg_line(b, "    const long long q = (long long)(d / range);");
  mt_cg_line(b, "    const double r = d - (double)q * range;");
  mt_cg_line(b, "    return q %% 2 == 0 ? lo + r : hi - r;");
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  if (v > hi) {");
  mt_cg_line(b, "    const double d = v - hi;");
  mt_cg_line(b, "    const long long q = (long long)(d / range);");
  mt_cg_line(b, "    const double r = d - (double)q * range;");
  mt_cg_line(b, "    return q %% 2 == 0 ? hi - r : lo + r;");
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  return v;");
  mt_cg_line(b, "};");
  mt_cg_line(b, "(void)reflect;");
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  const long long o = i %% OP, nc = i / OP, n = nc / C;");
  mt_cg_line(b, "  double lo[%d], hi[%d], w[%d][4];", k, k, k);
  mt_cg_line(b, "  long long base[%d];", k);
  mt_cg_line(b, "  for (int d = 0; d < K; d++) {");
  mt_cg_line(b, "    const double dd = (double)D[d], gn = %s;", gv);
  if (p->align_corners) {
    mt_cg_line(b, "    double v = (gn + 1) / 2.0 * (dd - 1);");
    mt_cg_line(b, "    lo[d] = 0.0;");
    mt_cg_line(b, "    hi[d] = dd - 1;");
  } else {
    mt_cg_line(b, "    double v = ((gn + 1) * dd - 1) / 2.0;");
    mt_cg_line(b, "    lo[d] = -0.5;");
    mt_cg_line(b, "    hi[d] = dd - 0.5;");
  }
  if (p->mode == MT_GRID_NEAREST) mt_cg_line(b, "    v = rint(v);");
  if (p->padding == MT_GRID_PAD_BORDER)
    mt_cg_line(b, "    if (v < lo[d] || v > hi[d]) v = v < 0 ? 0 : (v > dd - 1 ? dd - 1 : v);");
  if (p->padding == MT_GRID_PAD_REFLECTION)
    mt_cg_line(b, "    if (v < lo[d] || v > hi[d]) v = reflect(v, lo[d], hi[d]);");
  switch (p->mode) {
  case MT_GRID_NEAREST:
    mt_cg_line(b, "    base[d] = (long long)v;");
    mt_cg_line(b, "    w[d][0] = 1.0;");
    break;
  case MT_GRID_LINEAR:
    mt_cg_line(b, "    const double f = floor(v), t = v - f;");
    mt_cg_line(b, "    base[d] = (long long)f;");
    mt_cg_line(b, "    w[d][0] = 1 - t;");
    mt_cg_line(b, "    w[d][1] = t;");
    break;
  case MT_GRID_CUBIC:
    mt_cg_line(b, "    const double f = floor(v), t = v - f, a = -0.75;");
    mt_cg_line(b, "    const double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;");
    mt_cg_line(b, "    base[d] = (long long)f - 1;");
    mt_cg_line(b, "    w[d][0] = ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a;");
    mt_cg_line(b, "    w[d][1] = ((a + 2) * t - (a + 3)) * t * t + 1;");
    mt_cg_line(b, "    w[d][2] = ((a + 2) * t2 - (a + 3)) * t2 * t2 + 1;");
    mt_cg_line(b, "    w[d][3] = ((a * t3 - 5 * a) * t3 + 8 * a) * t3 - 4 * a;");
    break;
  }
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  double acc = 0.0;");
  mt_cg_line(b, "  for (long long tap = 0; tap < %dLL; tap++) {", total);
  mt_cg_line(b, "    double wt = 1.0;");
  mt_cg_line(b, "    long long off = 0, rest = tap, stride = 1;");
  mt_cg_line(b, "    bool zero = false;");
  mt_cg_line(b, "    for (int d = K - 1; d >= 0; d--) {");
  mt_cg_line(b, "      const long long t = rest %% %dLL;", taps);
  mt_cg_line(b, "      long long at = base[d] + t;");
  mt_cg_line(b, "      rest /= %dLL;", taps);
  mt_cg_line(b, "      wt *= w[d][t];");
  mt_cg_line(b, "      if (at < 0 || at >= D[d]) {");
  switch (p->padding) {
  case MT_GRID_PAD_ZEROS: mt_cg_line(b, "        zero = true;"); break;
  case MT_GRID_PAD_BORDER: mt_cg_line(b, "        at = at < 0 ? 0 : D[d] - 1;"); break;
  case MT_GRID_PAD_REFLECTION:
    mt_cg_line(b, "        at = (long long)reflect((double)at, lo[d], hi[d]);");
    break;
  }
  mt_cg_line(b, "      }");
  mt_cg_line(b, "      off += at * stride;");
  mt_cg_line(b, "      stride *= D[d];");
  mt_cg_line(b, "    }");
  mt_cg_line(b, "    if (!zero) acc += wt * %s;", xv);
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  (void)lo;");
  mt_cg_line(b, "  (void)hi;");
  store_and_close(b, y->dtype, yo, "acc");
}

static void max_unpool(cg_body *b, const mt_kc_max_unpool *p, const mt_value *x, const mt_value *y,
                       const char *xi, const char *ii, const char *yo, int64_t *out_work) {
  int k = x->rank - 2;
  int64_t planes = x->dims[0] * x->dims[1];
  *out_work = planes;
  mt_cg_line(b, "const long long INP = %lldLL, UNP = %lldLL, OUTP = %lldLL;",
             (long long)mt_shape_numel(k, x->dims + 2), (long long)mt_shape_numel(k, p->unpooled),
             (long long)mt_shape_numel(k, y->dims + 2));
  mt_cg_line(b, LOOP, (long long)planes);
  mt_cg_line(b, "  for (long long j = 0; j < OUTP; j++) {");
  b->indent += 2;
  char zero[32];
  snprintf(zero, sizeof zero, "(%s)0", mt_cg_ctype(y->dtype));
  mt_cg_store(b, y->dtype, yo, "i * OUTP + j", zero);
  b->indent -= 2;
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  for (long long j = 0; j < INP; j++) {");
  mt_cg_line(b, "    long long at = %s[i * INP + j] - i * UNP;", ii);
  mt_cg_line(b, "    if (at < 0 || at >= UNP) continue;");
  mt_cg_line(b, "    long long off = 0;");
  int64_t stride = 1;
  for (int d = k - 1; d >= 0; d--) {
    mt_cg_line(b, "    off += at %% %lldLL * %lldLL;", (long long)p->unpooled[d],
               (long long)stride);
    mt_cg_line(b, "    at /= %lldLL;", (long long)p->unpooled[d]);
    stride *= y->dims[2 + d];
  }
  mt_cg_line(b, "    %s[i * OUTP + off] = %s[i * INP + j];", yo, xi);
  mt_cg_line(b, "  }");
  mt_cg_line(b, "}");
}

/* Largest matrix side a thread factors in its own registers / local memory. */
enum { DET_MAX_SIDE = 16 };

static void det(cg_body *b, const mt_value *x, const mt_value *y, const char *xi, const char *yo,
                int64_t ny, int64_t *out_work) {
  int64_t m = x->dims[x->rank - 1];
  char xv[160];
  mt_cg_load_f64(x->dtype, xi, "i * M * M + e", xv, sizeof xv);
  *out_work = ny;
  mt_cg_line(b, "const long long M = %lldLL;", (long long)m);
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  double a[%lld];", (long long)(m * m > 0 ? m * m : 1));
  mt_cg_line(b, "  for (long long e = 0; e < M * M; e++) a[e] = %s;", xv);
  mt_cg_line(b, "  double det = 1.0;");
  mt_cg_line(b, "  for (long long c = 0; c < M; c++) {");
  mt_cg_line(b, "    long long piv = c;");
  mt_cg_line(b, "    for (long long r = c + 1; r < M; r++)");
  mt_cg_line(b, "      if (fabs(a[r * M + c]) > fabs(a[piv * M + c])) piv = r;");
  mt_cg_line(b, "    if (a[piv * M + c] == 0.0) {");
  mt_cg_line(b, "      det = 0.0;");
  mt_cg_line(b, "      break;");
  mt_cg_line(b, "    }");
  mt_cg_line(b, "    if (piv != c) {");
  mt_cg_line(b, "      for (long long j = 0; j < M; j++) {");
  mt_cg_line(b, "        const double t = a[c * M + j];");
  mt_cg_line(b, "        a[c * M + j] = a[piv * M + j];");
  mt_cg_line(b, "        a[piv * M + j] = t;");
  mt_cg_line(b, "      }");
  mt_cg_line(b, "      det = -det;");
  mt_cg_line(b, "    }");
  mt_cg_line(b, "    det *= a[c * M + c];");
  mt_cg_line(b, "    for (long long r = c + 1; r < M; r++) {");
  mt_cg_line(b, "      const double f = a[r * M + c] / a[c * M + c];");
  mt_cg_line(b, "      for (long long j = c + 1; j < M; j++) a[r * M + j] -= f * a[c * M + j];");
  mt_cg_line(b, "    }");
  mt_cg_line(b, "  }");
  store_and_close(b, y->dtype, yo, "det");
}

/* CumProd, one thread per line along the axis: the CPU's sequential running product. */
static void cumprod(cg_body *b, const mt_kc_cumprod *p, const mt_value *x, const char *xi,
                    const char *yo, int64_t *out_work) {
  int64_t n = x->rank > 0 ? x->dims[p->axis] : 1;
  int64_t inner = x->rank > 0 ? mt_shape_numel(x->rank - p->axis - 1, x->dims + p->axis + 1) : 1;
  int64_t total = mt_shape_numel(x->rank, x->dims);
  int64_t lines = n * inner > 0 ? total / n : 0;
  bool integer = x->dtype == MT_DTYPE_INT32 || x->dtype == MT_DTYPE_INT64;
  const char *acc_t = integer                        ? "unsigned long long"
                      : x->dtype == MT_DTYPE_FLOAT64 ? "double"
                                                     : "float";
  char xv[160], val[160];
  if (integer)
    snprintf(xv, sizeof xv, "(unsigned long long)(long long)%s[at]", xi);
  else if (mt_dtype_is_float16_like(x->dtype))
    mt_cg_elem_load(x->dtype, xi, "at", xv, sizeof xv);
  else
    snprintf(xv, sizeof xv, "%s[at]", xi);
  if (x->dtype == MT_DTYPE_INT32)
    snprintf(val, sizeof val, "(int)(unsigned int)cur");
  else if (x->dtype == MT_DTYPE_INT64)
    snprintf(val, sizeof val, "(long long)cur");
  else
    snprintf(val, sizeof val, "cur");
  *out_work = lines;
  mt_cg_line(b, "const long long N = %lldLL, IN = %lldLL;", (long long)n, (long long)inner);
  mt_cg_line(b, LOOP, (long long)lines);
  mt_cg_line(b, "  const long long o = i / IN, in = i %% IN;");
  mt_cg_line(b, "  %s acc = 1;", acc_t);
  mt_cg_line(b, "  for (long long t = 0; t < N; t++) {");
  mt_cg_line(b, "    const long long at = (o * N + %s) * IN + in;",
             p->reverse ? "(N - 1 - t)" : "t");
  if (p->exclusive) mt_cg_line(b, "    const %s cur = acc;", acc_t);
  mt_cg_line(b, "    acc *= %s;", xv);
  if (!p->exclusive) mt_cg_line(b, "    const %s cur = acc;", acc_t);
  b->indent += 2;
  mt_cg_store(b, x->dtype, yo, "at", val);
  b->indent -= 2;
  mt_cg_line(b, "  }");
  mt_cg_line(b, "}");
}

static void affine_grid(cg_body *b, const mt_kc_affine_grid *p, const mt_value *theta,
                        const mt_value *y, const char *ti, const char *yo, int64_t ny) {
  int k = y->rank - 2;
  int64_t sizes[3] = {0};
  for (int j = 0; j < k; j++) sizes[j] = y->dims[k - j]; /* the last dim first */
  char sinit[128], tv[160];
  dims_init(sizes, k, sinit, sizeof sinit);
  mt_cg_load_f64(theta->dtype, ti, "(n * K + r) * (K + 1) + j", tv, sizeof tv);
  mt_cg_line(b, "const int K = %d;", k);
  mt_cg_line(b, "const long long S[%d] = %s, P = %lldLL;", k, sinit,
             (long long)mt_shape_numel(k, y->dims + 1));
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  const long long r = i %% K, pos = i / K %% P, n = i / (K * P);");
  mt_cg_line(b, "  double base[%d];", k + 1);
  mt_cg_line(b, "  long long rest = pos;");
  mt_cg_line(b, "  for (int j = 0; j < K; j++) {");
  mt_cg_line(b, "    const double s = (double)S[j], at = (double)(rest %% S[j]);");
  mt_cg_line(b, "    rest /= S[j];");
  if (p->align_corners)
    mt_cg_line(b, "    base[j] = -1.0 + at * (2.0 / (s - 1));");
  else
    mt_cg_line(b, "    base[j] = (-1.0 + 2.0 / s / 2) + at * (2.0 / s);");
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  base[K] = 1.0;");
  mt_cg_line(b, "  double acc = 0.0;");
  mt_cg_line(b, "  for (int j = 0; j <= K; j++) acc += %s * base[j];", tv);
  store_and_close(b, y->dtype, yo, "acc");
}

static void col2im(cg_body *b, const mt_kc_col2im *p, const mt_value *x, const mt_value *y,
                   const char *xi, const char *yo, int64_t ny) {
  int ns = p->nsp;
  char im[128], bl[128], st[128], di[128], pb[128], nb[128], xv[160];
  dims_init(y->dims + 2, ns, im, sizeof im);
  dims_init(p->block, ns, bl, sizeof bl);
  dims_init(p->stride, ns, st, sizeof st);
  dims_init(p->dilation, ns, di, sizeof di);
  dims_init(p->pad_begin, ns, pb, sizeof pb);
  dims_init(p->blocks, ns, nb, sizeof nb);
  mt_cg_load_f64(x->dtype, xi, "(nc * KP + kk) * LP + blk", xv, sizeof xv);
  mt_cg_line(b, "const int NS = %d;", ns);
  mt_cg_line(b, "const long long IM[%d] = %s, BL[%d] = %s, ST[%d] = %s;", ns, im, ns, bl, ns, st);
  mt_cg_line(b, "const long long DI[%d] = %s, PB[%d] = %s, NB[%d] = %s;", ns, di, ns, pb, ns, nb);
  mt_cg_line(b, "const long long PL = %lldLL, KP = %lldLL, LP = %lldLL;",
             (long long)mt_shape_numel(ns, y->dims + 2), (long long)mt_shape_numel(ns, p->block),
             (long long)mt_shape_numel(ns, p->blocks));
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  const long long pos = i %% PL, nc = i / PL;");
  mt_cg_line(b, "  long long at[%d], rest = pos;", ns);
  mt_cg_line(b, "  for (int d = NS - 1; d >= 0; d--) {");
  mt_cg_line(b, "    at[d] = rest %% IM[d];");
  mt_cg_line(b, "    rest /= IM[d];");
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  double acc = 0.0;");
  mt_cg_line(b, "  for (long long kk = 0; kk < KP; kk++) {");
  mt_cg_line(b, "    long long kr = kk, col[%d], blk = 0;", ns);
  mt_cg_line(b, "    bool ok = true;");
  mt_cg_line(b, "    for (int d = NS - 1; d >= 0; d--) {");
  mt_cg_line(b, "      col[d] = kr %% BL[d];");
  mt_cg_line(b, "      kr /= BL[d];");
  mt_cg_line(b, "    }");
  mt_cg_line(b, "    for (int d = 0; d < NS && ok; d++) {");
  mt_cg_line(b, "      const long long t = at[d] + PB[d] - col[d] * DI[d];");
  mt_cg_line(b, "      ok = t >= 0 && t %% ST[d] == 0 && t / ST[d] < NB[d];");
  mt_cg_line(b, "      blk = blk * NB[d] + (ok ? t / ST[d] : 0);");
  mt_cg_line(b, "    }");
  mt_cg_line(b, "    if (ok) acc += %s;", xv);
  mt_cg_line(b, "  }");
  store_and_close(b, y->dtype, yo, "acc");
}

mt_status *mt_cg_vision_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                             int64_t *out_work) {
  const mt_module *m = b->m;
  if (c->kind == MT_KERNEL_NMS || c->kind == MT_KERNEL_UNIQUE)
    return MT_ERR(UNIMPLEMENTED,
                  "%s has a data-dependent output size; plans hold no bounded "
                  "values yet",
                  n->op_type);
  /* the family's kinds are one contiguous block of the enum (kernel_call.h) */
  if (c->kind < MT_KERNEL_ROI_ALIGN || c->kind > MT_KERNEL_COL2IM)
    return MT_ERR(NOT_FOUND, "not a vision kernel");
  const mt_value *x = mt_module_value_c(m, n->inputs[0]);
  const mt_value *y = mt_module_value_c(m, n->outputs[0]);
  int64_t ny = mt_cg_numel(m, n->outputs[0]);
  char xi[MT_CG_NAME], i1[MT_CG_NAME], i2[MT_CG_NAME], yo[MT_CG_NAME];
  int ko = mt_cg_output_index(b->fg, n->outputs[0]);
  if (ko < 0) return MT_ERR(INTERNAL, "output 0 is not a parameter of its kernel");
  snprintf(yo, sizeof yo, "b%d_out%d", b->index, ko);
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, xi));
  *out_work = ny;
  if (c->kind == MT_KERNEL_CUMPROD) {
    cumprod(b, &c->params.cumprod, x, xi, yo, out_work);
    return NULL;
  }
  if (!mt_dtype_is_float_any(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "%s of %s", n->op_type, mt_dtype_name(x->dtype));
  switch (c->kind) {
  case MT_KERNEL_ROI_ALIGN:
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, i1));
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, i2));
    roi_align(b, &c->params.roi_align, x, y, xi, i1, i2, yo, ny);
    return NULL;
  case MT_KERNEL_GRID_SAMPLE:
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, i1));
    grid_sample(b, &c->params.grid_sample, x, mt_module_value_c(m, n->inputs[1]), y, xi, i1, yo,
                ny);
    return NULL;
  case MT_KERNEL_MAX_UNPOOL:
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, i1));
    max_unpool(b, &c->params.max_unpool, x, y, xi, i1, yo, out_work);
    return NULL;
  case MT_KERNEL_AFFINE_GRID: affine_grid(b, &c->params.affine_grid, x, y, xi, yo, ny); return NULL;
  case MT_KERNEL_COL2IM: col2im(b, &c->params.col2im, x, y, xi, yo, ny); return NULL;
  default: /* MT_KERNEL_DET */
    if (x->dims[x->rank - 1] > DET_MAX_SIDE)
      return MT_ERR(UNIMPLEMENTED, "Det of %lldx%lld matrices (one thread factors up to %dx%d)",
                    (long long)x->dims[x->rank - 1], (long long)x->dims[x->rank - 1], DET_MAX_SIDE,
                    DET_MAX_SIDE);
    det(b, x, y, xi, yo, ny, out_work);
    return NULL;
  }
}
