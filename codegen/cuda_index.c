/* Generators for the indexing and normalisation ops that run on their own (MT_GROUP_OTHER):
 * Hardmax, GatherND, ScatterND, ScatterElements, OneHot, Trilu, EyeLike, ReverseSequence,
 * the axes-set normalisations (MVN, RMS, Lp, Group) and LpPool, each one thread per independent
 * item in a grid-stride loop, with runtime/cpu/kernel_call_index.c's and kernel_call_norm.c's
 * semantics (the normalisations one thread per statistics group: simple and bit-faithful to the
 * CPU order, not the fastest; the row-wise reduction generator would be the faster home).
 *
 * Scatters stay deterministic without atomics or grid-wide barriers: the thread that owns an
 * output position (a slice offset for ScatterND, a line across the axis for ScatterElements) first
 * copies the data there, then applies every update that lands there in the reference's order, so
 * duplicate indices combine exactly as on the CPU. Out-of-range indices, an error on the CPU, are
 * clamped (a kernel cannot return a status), as the Gather generator does. */
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

#define LOOP                                                                                       \
  "for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < %lldLL; i += "         \
  "(long long)gridDim.x * blockDim.x) {"

static int64_t prod(const int64_t *dims, int from, int to) {
  int64_t n = 1;
  for (int i = from; i < to; i++) n *= dims[i];
  return n;
}

/* Shared with the vision, recurrent and signal generators (cuda_internal.h), so parameter naming
 * and float16 / narrow-float loads are written once. */
void mt_cg_elem_load(mt_dtype dt, const char *p, const char *at, char *out, size_t n) {
  char bits[160];
  if (dt == MT_DTYPE_FLOAT16) {
    snprintf(out, n, "__half2float(%s[%s])", p, at);
  } else if (mt_cg_is_narrow(dt)) {
    snprintf(bits, sizeof bits, "%s[%s]", p, at);
    mt_cg_narrow_load(dt, bits, out, n);
  } else
    snprintf(out, n, "%s[%s]", p, at);
}

void mt_cg_load_f64(mt_dtype dt, const char *p, const char *at, char *out, size_t n) {
  char v[144];
  mt_cg_elem_load(dt, p, at, v, sizeof v);
  snprintf(out, n, "(double)%s", v);
}

mt_status *mt_cg_input_name(const cg_body *b, const mt_node *n, int i, char *out) {
  out[0] = '\0';
  if (i >= n->n_inputs || n->inputs[i] == MT_NO_VALUE) return NULL;
  int k = mt_cg_input_index(b->fg, n->inputs[i]);
  if (k < 0) return MT_ERR(INTERNAL, "input %d is not a parameter of its kernel", i);
  snprintf(out, MT_CG_NAME, "b%d_in%d", b->index, k);
  return NULL;
}

/* Parameter name of output 0. */
MT_MUST_USE static mt_status *out_name(const cg_body *b, const mt_node *n, char *out) {
  int k = mt_cg_output_index(b->fg, n->outputs[0]);
  if (k < 0) return MT_ERR(INTERNAL, "output 0 is not a parameter of its kernel");
  snprintf(out, MT_CG_NAME, "b%d_out%d", b->index, k);
  return NULL;
}

/* `v = clamp(v < 0 ? v + dim : v, 0, dim - 1)` for an index variable v. */
static void clamp_index(cg_body *b, const char *v, int64_t dim) {
  mt_cg_line(b, "  if (%s < 0) %s += %lldLL;", v, v, (long long)dim);
  mt_cg_line(b, "  %s = %s < 0 ? 0 : (%s >= %lldLL ? %lldLL : %s);", v, v, v, (long long)dim,
             (long long)(dim - 1), v);
}

/* The statement combining update u into out[at] (both compute-type expressions). */
static mt_status *combine(cg_body *b, mt_dtype dt, mt_scatter_reduction r, const char *out,
                          const char *at, const char *u) {
  char cur[96], e[512];
  mt_cg_elem_load(dt, out, at, cur, sizeof cur);
  bool fl = mt_dtype_is_float(dt);
  const char *T = mt_cg_ctype(dt);
  switch (r) {
  case MT_SCATTER_NONE: snprintf(e, sizeof e, "%s", u); break;
  case MT_SCATTER_ADD:
  case MT_SCATTER_MUL: { /* integers wrap in unsigned arithmetic, as the CPU */
    const char *op = r == MT_SCATTER_ADD ? "+" : "*";
    if (fl)
      snprintf(e, sizeof e, "%s %s %s", cur, op, u);
    else
      snprintf(e, sizeof e, "(%s)((unsigned long long)%s %s (unsigned long long)%s)", T, cur, op,
               u);
    break;
  }
  case MT_SCATTER_MAX:
    if (fl)
      snprintf(e, sizeof e, "fmaxf(%s, %s)", cur, u);
    else
      snprintf(e, sizeof e, "(%s < %s ? %s : %s)", cur, u, u, cur);
    break;
  case MT_SCATTER_MIN:
    if (fl)
      snprintf(e, sizeof e, "fminf(%s, %s)", cur, u);
    else
      snprintf(e, sizeof e, "(%s > %s ? %s : %s)", cur, u, u, cur);
    break;
  default: return MT_ERR(INTERNAL, "scatter reduction %d", (int)r);
  }
  b->indent++;
  mt_cg_store(b, dt, out, at, e);
  b->indent--;
  return NULL;
}

static void hardmax(cg_body *b, const mt_kc_softmax *p, mt_dtype dt, const char *x, const char *y,
                    int64_t *work) {
  char v0[96], v[96];
  *work = p->outer * p->inner;
  mt_cg_elem_load(dt, x, "base", v0, sizeof v0);
  mt_cg_elem_load(dt, x, "base + j * inner", v, sizeof v);
  mt_cg_line(b, "const long long n = %lldLL, inner = %lldLL;", (long long)p->n,
             (long long)p->inner);
  mt_cg_line(b, LOOP, (long long)*work);
  mt_cg_line(b, "  const long long base = i / inner * n * inner + i %% inner;");
  mt_cg_line(b, "  long long best = 0;");
  mt_cg_line(b, "  float bv = %s;", v0);
  mt_cg_line(b, "  for (long long j = 1; j < n; j++) {");
  mt_cg_line(b, "    const float vj = %s;", v);
  mt_cg_line(b, "    if (vj > bv) { bv = vj; best = j; } // first maximum; NaN never wins");
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  for (long long j = 0; j < n; j++) {");
  b->indent += 2;
  mt_cg_store(b, dt, y, "base + j * inner", "(j == best ? 1.0f : 0.0f)");
  b->indent -= 2;
  mt_cg_line(b, "  }");
  mt_cg_line(b, "}");
}

/* The data offset (in slices) of index tuple `t` into variable `off`, batch prefix `bexpr`. */
static void nd_tuple(cg_body *b, const mt_value *data, const char *idx, int bd, int64_t k,
                     const char *bexpr, const char *t) {
  mt_cg_line(b, "  long long off = %s;", bexpr);
  for (int64_t j = 0; j < k; j++) {
    char v[24]; /* "v" and any int64 */
    snprintf(v, sizeof v, "v%lld", (long long)j);
    mt_cg_line(b, "  long long %s = (long long)%s[%s * %lldLL + %lldLL];", v, idx, t, (long long)k,
               (long long)j);
    clamp_index(b, v, data->dims[bd + j]);
    mt_cg_line(b, "  off = off * %lldLL + %s;", (long long)data->dims[bd + j], v);
  }
}

static void gather_nd(cg_body *b, int bd, const mt_value *data, const mt_value *idx, const char *x,
                      const char *ix, const char *y, int64_t ny, int64_t *work) {
  int64_t k = idx->dims[idx->rank - 1];
  int64_t per_batch = prod(idx->dims, bd, idx->rank - 1);
  int64_t slice = prod(data->dims, bd + (int)k, data->rank);
  *work = ny;
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  const long long t = i / %lldLL, e = i %% %lldLL;", (long long)slice,
             (long long)slice);
  char bexpr[64];
  snprintf(bexpr, sizeof bexpr, "t / %lldLL", (long long)per_batch);
  nd_tuple(b, data, ix, bd, k, bexpr, "t");
  mt_cg_line(b, "  %s[i] = %s[off * %lldLL + e];", y, x, (long long)slice);
  mt_cg_line(b, "}");
}

/* Thread e owns slice offset e: copies data there for every slot, then applies the tuples in
 * order. */
MT_MUST_USE static mt_status *scatter_nd(cg_body *b, mt_scatter_reduction r, const mt_value *data,
                                         const mt_value *idx, const char *x, const char *ix,
                                         const char *up, const char *y, int64_t *work) {
  int64_t k = idx->dims[idx->rank - 1];
  int64_t tuples = prod(idx->dims, 0, idx->rank - 1);
  int64_t slice = prod(data->dims, (int)k, data->rank);
  int64_t slots = prod(data->dims, 0, (int)k);
  char u[96];
  *work = slice;
  mt_cg_line(b, LOOP, (long long)slice);
  mt_cg_line(b, "  for (long long q = 0; q < %lldLL; q++) %s[q * %lldLL + i] = %s[q * %lldLL + i];",
             (long long)slots, y, (long long)slice, x, (long long)slice);
  mt_cg_line(b, "  for (long long t = 0; t < %lldLL; t++) {", (long long)tuples);
  b->indent++;
  nd_tuple(b, data, ix, 0, k, "0", "t");
  mt_cg_elem_load(data->dtype, up, "t * slice + i", u, sizeof u);
  mt_cg_line(b, "  const long long slice = %lldLL, at = off * slice + i;", (long long)slice);
  MT_RETURN_IF_ERROR_PLAIN(combine(b, data->dtype, r, y, "at", u));
  b->indent--;
  mt_cg_line(b, "  }");
  mt_cg_line(b, "}");
  return NULL;
}

/* Thread L owns the data line L across the axis (every other coordinate fixed). */
MT_MUST_USE static mt_status *scatter_elements(cg_body *b, const mt_kc_scatter *p,
                                               const mt_value *data, const mt_value *idx,
                                               const char *x, const char *ix, const char *up,
                                               const char *y, int64_t *work) {
  int ax = p->axis;
  int64_t n = data->dims[ax], inner = prod(data->dims, ax + 1, data->rank);
  int64_t lines = prod(data->dims, 0, data->rank) / (n > 0 ? n : 1);
  char u[96];
  *work = lines;
  mt_cg_line(b, LOOP, (long long)lines);
  mt_cg_line(b, "  const long long base = i / %lldLL * %lldLL + i %% %lldLL;", (long long)inner,
             (long long)(n * inner), (long long)inner);
  mt_cg_line(b,
             "  for (long long j = 0; j < %lldLL; j++) %s[base + j * %lldLL] = %s[base + j * "
             "%lldLL];",
             (long long)n, y, (long long)inner, x, (long long)inner);
  /* the line's coordinates must lie inside indices' (smaller or equal) dims */
  mt_cg_line(b, "  long long rem = base, ibase = 0, inside = 1;");
  int64_t istr[MT_MAX_RANK], s = 1;
  for (int d = data->rank - 1; d >= 0; d--) istr[d] = s, s *= idx->dims[d];
  for (int d = data->rank - 1; d >= 0; d--) {
    mt_cg_line(b, "  { const long long c = rem %% %lldLL; rem /= %lldLL;", (long long)data->dims[d],
               (long long)data->dims[d]);
    if (d != ax)
      mt_cg_line(b, "    if (c >= %lldLL) inside = 0; ibase += c * %lldLL; }",
                 (long long)idx->dims[d], (long long)istr[d]);
    else
      mt_cg_line(b, "  }");
  }
  mt_cg_line(b, "  if (!inside) continue;");
  mt_cg_line(b, "  for (long long j = 0; j < %lldLL; j++) {", (long long)idx->dims[ax]);
  mt_cg_line(b, "    const long long src = ibase + j * %lldLL;", (long long)istr[ax]);
  mt_cg_line(b, "    long long v = (long long)%s[src];", ix);
  b->indent++;
  clamp_index(b, "v", n);
  mt_cg_line(b, "  const long long at = base + v * %lldLL;", (long long)inner);
  mt_cg_elem_load(data->dtype, up, "src", u, sizeof u);
  MT_RETURN_IF_ERROR_PLAIN(combine(b, data->dtype, p->reduction, y, "at", u));
  b->indent--;
  mt_cg_line(b, "  }");
  mt_cg_line(b, "}");
  return NULL;
}

MT_MUST_USE static mt_status *one_hot(cg_body *b, int axis, const mt_value *idx, const mt_value *y,
                                      const char *ix, const char *vals, const char *yo, int64_t ny,
                                      int64_t *work) {
  int64_t depth = y->dims[axis], inner = prod(y->dims, axis + 1, y->rank);
  char v[160];
  *work = ny;
  if (mt_dtype_is_float16_like(idx->dtype)) {
    char at[64], f[128];
    snprintf(at, sizeof at, "o * %lldLL + r", (long long)inner);
    mt_cg_elem_load(idx->dtype, ix, at, f, sizeof f);
    snprintf(v, sizeof v, "mt_f2i(%s)", f);
  } else if (mt_dtype_is_float(idx->dtype))
    snprintf(v, sizeof v, "mt_f2i(%s[o * %lldLL + r])", ix, (long long)inner);
  else
    snprintf(v, sizeof v, "(long long)%s[o * %lldLL + r]", ix, (long long)inner);
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  const long long r = i %% %lldLL, j = i / %lldLL %% %lldLL, o = i / %lldLL;",
             (long long)inner, (long long)inner, (long long)depth, (long long)(inner * depth));
  mt_cg_line(b, "  long long v = %s;", v);
  mt_cg_line(b, "  if (v < 0) v += %lldLL;", (long long)depth);
  mt_cg_line(b, "  %s[i] = %s[j == v ? 1 : 0];", yo, vals);
  mt_cg_line(b, "}");
  return NULL;
}

static void trilu(cg_body *b, bool upper, const mt_value *x, const char *xi, const char *ki,
                  const char *y, int64_t ny, int64_t *work) {
  int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
  *work = ny;
  mt_cg_line(b, "const long long k = %s;", ki ? ki : "0");
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  const long long c = i %% %lldLL, r = i / %lldLL %% %lldLL;", (long long)cols,
             (long long)cols, (long long)rows);
  mt_cg_line(b, "  const bool keep = c - r %s k;", upper ? ">=" : "<=");
  mt_cg_line(b, "  %s[i] = keep ? %s[i] : (%s)0;", y, xi,
             mt_cg_storetype(x->dtype)); /* zero bits are +0 for every float format */
  mt_cg_line(b, "}");
}

static void eye_like(cg_body *b, int64_t k, const mt_value *y, const char *yo, int64_t ny,
                     int64_t *work) {
  *work = ny;
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  const long long c = i %% %lldLL, r = i / %lldLL;", (long long)y->dims[1],
             (long long)y->dims[1]);
  b->indent++;
  char val[96];
  snprintf(val, sizeof val, "(%s)(c - r == %lldLL ? 1 : 0)", mt_cg_ctype(y->dtype), (long long)k);
  mt_cg_store(b, y->dtype, yo, "i", val);
  b->indent--;
  mt_cg_line(b, "}");
}

static void reverse_sequence(cg_body *b, const mt_kc_reverse_sequence *p, const mt_value *x,
                             const char *xi, const char *li, const char *y, int64_t ny,
                             int64_t *work) {
  int64_t batch = x->dims[p->batch_axis], time = x->dims[p->time_axis];
  int64_t inner = prod(x->dims, 2, x->rank);
  int64_t sb = p->batch_axis == 0 ? time * inner : inner;
  int64_t st = p->time_axis == 0 ? batch * inner : inner;
  *work = ny;
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  const long long e = i %% %lldLL;", (long long)inner);
  mt_cg_line(b, "  const long long bb = i / %lldLL %% %lldLL, t = i / %lldLL %% %lldLL;",
             (long long)sb, (long long)batch, (long long)st, (long long)time);
  mt_cg_line(b, "  long long len = (long long)%s[bb];", li);
  mt_cg_line(b, "  len = len < 0 ? 0 : (len > %lldLL ? %lldLL : len);", (long long)time,
             (long long)time);
  mt_cg_line(b, "  const long long from = t < len ? len - 1 - t : t;");
  mt_cg_line(b, "  %s[i] = %s[bb * %lldLL + from * %lldLL + e];", y, xi, (long long)sb,
             (long long)st);
  mt_cg_line(b, "}");
}

/* The condition is a constant (Compress needs its value to have a static size), so the kept
 * slice indices become a table and the kernel is a gather. */
MT_MUST_USE static mt_status *compress(cg_body *b, const mt_kc_compress *p, const mt_value *x,
                                       const mt_value *cv, const char *xi, const char *y,
                                       int64_t ny, int64_t *work);

/* `static const long long name[] = {...};` */
static void table(cg_body *b, const char *name, const int64_t *v, int n) {
  mt_sb *sb = b->code;
  for (int i = 0; i < b->indent; i++) mt_sb_printf(sb, "  ");
  mt_sb_printf(sb, "static const long long %s[%d] = {", name, n > 0 ? n : 1);
  for (int i = 0; i < n; i++) mt_sb_printf(sb, "%s%lldLL", i ? ", " : "", (long long)v[i]);
  mt_sb_printf(sb, "%s};\n", n > 0 ? "" : "0");
}

/* `long long off = base + <r decomposed over the reduced dims>;` inside a loop over r. */
static void reduced_offset(cg_body *b, int nr) {
  mt_cg_line(b, "    long long off = base, rr = r;");
  mt_cg_line(b, "    for (int q = %d; q >= 0; q--) { off += rr %% rd[q] * rs[q]; rr /= rd[q]; }",
             nr - 1);
}

/* One thread per statistics group: sums in double over the group's elements in increasing
 * element order, then every element computed in double and rounded once, as
 * runtime/cpu/kernel_call_norm.c. */
static void normalize(cg_body *b, const mt_kc_normalize *p, mt_dtype dt, const char *x,
                      const char *sc, const char *bi, const char *y, int64_t *work) {
  int64_t kd[MT_MAX_RANK], ks[MT_MAX_RANK], rd[MT_MAX_RANK], rs[MT_MAX_RANK], st[MT_MAX_RANK];
  int64_t pm[MT_MAX_RANK], groups = 1, cnt = 1, s = 1;
  int nk = 0, nr = 0;
  for (int d = p->rank - 1; d >= 0; d--) st[d] = s, s *= p->dims[d];
  for (int d = 0; d < p->rank; d++) {
    pm[d] = (p->param_mask >> d) & 1u;
    if (p->reduce_mask & (1u << d)) {
      rd[nr] = p->dims[d], rs[nr++] = st[d], cnt *= p->dims[d];
    } else {
      kd[nk] = p->dims[d], ks[nk++] = st[d], groups *= p->dims[d];
    }
  }
  char eps[64], v[96];
  mt_cg_float_lit(p->epsilon, eps, sizeof eps);
  mt_cg_elem_load(dt, x, "off", v, sizeof v);
  *work = groups;
  table(b, "kd", kd, nk);
  table(b, "ks", ks, nk);
  table(b, "rd", rd, nr);
  table(b, "rs", rs, nr);
  table(b, "nd", p->dims, p->rank);
  table(b, "pm", pm, p->rank);
  mt_cg_line(b, "const double cnt = %lld.0, eps = (double)%s;", (long long)cnt, eps);
  mt_cg_line(b, LOOP, (long long)groups);
  mt_cg_line(b, "  long long base = 0, rem = i;");
  mt_cg_line(b, "  for (int q = %d; q >= 0; q--) { base += rem %% kd[q] * ks[q]; rem /= kd[q]; }",
             nk - 1);
  mt_cg_line(b, "  double s1 = 0.0, s2 = 0.0;");
  mt_cg_line(b, "  for (long long r = 0; r < %lldLL; r++) {", (long long)cnt);
  reduced_offset(b, nr);
  mt_cg_line(b, "    const double v = (double)%s;", v);
  switch (p->kind) {
  case MT_NORMALIZE_MVN: mt_cg_line(b, "    s1 += v; s2 += v * v;"); break;
  case MT_NORMALIZE_RMS: mt_cg_line(b, "    s1 += v * v;"); break;
  case MT_NORMALIZE_LP: mt_cg_line(b, p->p == 1 ? "    s1 += fabs(v);" : "    s1 += v * v;"); break;
  case MT_NORMALIZE_GROUP: mt_cg_line(b, "    s1 += v;"); break;
  }
  mt_cg_line(b, "  }");
  if (p->kind == MT_NORMALIZE_GROUP) {
    mt_cg_line(b, "  for (long long r = 0; r < %lldLL; r++) {", (long long)cnt);
    reduced_offset(b, nr);
    mt_cg_line(b, "    const double dv = (double)%s - s1 / cnt;", v);
    mt_cg_line(b, "    s2 += dv * dv;");
    mt_cg_line(b, "  }");
  }
  mt_cg_line(b, "  for (long long r = 0; r < %lldLL; r++) {", (long long)cnt);
  reduced_offset(b, nr);
  mt_cg_line(b, "    const double v = (double)%s;", v);
  mt_cg_line(b, "    long long k = 0, kmul = 1, erem = off;");
  mt_cg_line(b, "    for (int d = %d; d >= 0; d--) {", p->rank - 1);
  mt_cg_line(b, "      if (pm[d]) { k += erem %% nd[d] * kmul; kmul *= nd[d]; }");
  mt_cg_line(b, "      erem /= nd[d];");
  mt_cg_line(b, "    }");
  mt_cg_line(b, "    (void)k;");
  char sv[96], bv[96];
  mt_cg_elem_load(dt, sc ? sc : x, "k", sv, sizeof sv);
  mt_cg_elem_load(dt, bi ? bi : x, "k", bv, sizeof bv);
  switch (p->kind) {
  case MT_NORMALIZE_MVN:
    mt_cg_line(b, "    const double mean = s1 / cnt, var = s2 / cnt - mean * mean;");
    mt_cg_line(b, "    const double res = (v - mean) / (sqrt(var > 0 ? var : 0.0) + 1e-9);");
    break;
  case MT_NORMALIZE_RMS:
    mt_cg_line(b, "    const double res = v / sqrt(s1 / cnt + eps) * (double)%s;", sv);
    break;
  case MT_NORMALIZE_LP:
    mt_cg_line(b, "    const double norm = %s;", p->p == 1 ? "s1" : "sqrt(s1)");
    mt_cg_line(b, "    const double res = norm == 0 ? 0.0 : v / norm;");
    break;
  case MT_NORMALIZE_GROUP:
    mt_cg_line(b,
               "    const double res = (v - s1 / cnt) / sqrt(s2 / cnt + eps) * (double)%s + "
               "(double)%s;",
               sv, bv);
    break;
  }
  b->indent += 2;
  mt_cg_store(b, dt, y, "off", "(float)res");
  b->indent -= 2;
  mt_cg_line(b, "  }");
  mt_cg_line(b, "}");
}

/* One thread per output: |x|^p summed in double over the in-bounds taps in order, then the p-th
 * root, as runtime/cpu/kernel_call_norm.c. */
static void lp_pool(cg_body *b, const mt_kc_lp_pool *p, mt_dtype dt, const char *x, const char *y,
                    int64_t ny, int64_t *work) {
  const mt_conv_geom *g = &p->geom;
  int64_t in_size = mt_conv_geom_in_size(g), out_size = mt_conv_geom_out_size(g);
  int64_t instr[MT_CONV_MAX_SPATIAL], s = 1;
  for (int d = g->nsp - 1; d >= 0; d--) instr[d] = s, s *= g->in[d];
  char v[96];
  mt_cg_elem_load(dt, x, "pl * in_size + at", v, sizeof v);
  *work = ny;
  table(b, "gin", g->in, g->nsp);
  table(b, "gout", g->out, g->nsp);
  table(b, "gk", g->kernel, g->nsp);
  table(b, "gs", g->stride, g->nsp);
  table(b, "gdl", g->dilation, g->nsp);
  table(b, "gpb", g->pad_begin, g->nsp);
  table(b, "gis", instr, g->nsp);
  mt_cg_line(b, "const long long in_size = %lldLL, out_size = %lldLL;", (long long)in_size,
             (long long)out_size);
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  const long long pl = i / out_size, o = i %% out_size;");
  mt_cg_line(b, "  double acc = 0.0;");
  mt_cg_line(b, "  for (long long t = 0; t < %lldLL; t++) {",
             (long long)mt_conv_geom_kernel_size(g));
  mt_cg_line(b, "    long long orem = o, trem = t, at = 0;");
  mt_cg_line(b, "    bool inside = true;");
  mt_cg_line(b, "    for (int d = %d; d >= 0; d--) {", g->nsp - 1);
  mt_cg_line(b, "      const long long od = orem %% gout[d], td = trem %% gk[d];");
  mt_cg_line(b, "      orem /= gout[d];");
  mt_cg_line(b, "      trem /= gk[d];");
  mt_cg_line(b, "      const long long ix = od * gs[d] - gpb[d] + td * gdl[d];");
  mt_cg_line(b, "      if (ix < 0 || ix >= gin[d]) inside = false;");
  mt_cg_line(b, "      at += ix * gis[d];");
  mt_cg_line(b, "    }");
  mt_cg_line(b, "    if (inside) acc += pow(fabs((double)%s), %lld.0);", v, (long long)p->p);
  mt_cg_line(b, "  }");
  b->indent++;
  char e[64];
  snprintf(e, sizeof e, "(float)pow(acc, 1.0 / %lld.0)", (long long)p->p);
  mt_cg_store(b, dt, y, "i", e);
  b->indent--;
  mt_cg_line(b, "}");
}

MT_MUST_USE static mt_status *compress(cg_body *b, const mt_kc_compress *p, const mt_value *x,
                                       const mt_value *cv, const char *xi, const char *y,
                                       int64_t ny, int64_t *work) {
  if (!cv || cv->constant < 0)
    return MT_ERR(UNIMPLEMENTED, "Compress whose condition is not a constant");
  const mt_constant *k = mt_module_constant(b->m, cv->constant);
  int64_t n = p->flatten ? mt_shape_numel(x->rank, x->dims) : x->dims[p->axis];
  int64_t inner = p->flatten ? 1 : mt_shape_numel(x->rank - p->axis - 1, x->dims + p->axis + 1);
  int64_t len = k->dims[0] < n ? k->dims[0] : n, kept = 0;
  int64_t *sel =
      mt_allocator_calloc(mt_module_allocator(b->m), (size_t)(len > 0 ? len : 1), sizeof *sel);
  if (!sel) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int64_t j = 0; j < len; j++)
    if (((const uint8_t *)k->data)[j]) sel[kept++] = j;
  if (kept > 4096) {
    mt_allocator_free(mt_module_allocator(b->m), sel);
    return MT_ERR(UNIMPLEMENTED, "Compress keeping %lld slices (a table of at most 4096)",
                  (long long)kept);
  }
  *work = ny;
  table(b, "kept", sel, (int)kept);
  mt_allocator_free(mt_module_allocator(b->m), sel);
  mt_cg_line(b, LOOP, (long long)ny);
  mt_cg_line(b, "  const long long e = i %% %lldLL, q = i / %lldLL %% %lldLL, o = i / %lldLL;",
             (long long)inner, (long long)inner, (long long)(kept > 0 ? kept : 1),
             (long long)(inner * (kept > 0 ? kept : 1)));
  mt_cg_line(b, "  %s[i] = %s[(o * %lldLL + kept[q]) * %lldLL + e];", y, xi, (long long)n,
             (long long)inner);
  mt_cg_line(b, "}");
  return NULL;
}

/* NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss as runtime/cpu/kernel_call_loss.c: one
 * thread per target element for reduction 'none'; one thread summing every element in row-major
 * order for 'sum' and 'mean' (the CPU's order, so the sums agree). Out-of-range targets, an error
 * on the CPU, are clamped. lp names output 1 (the log-softmax) or is NULL. */
static void nll_loss(cg_body *b, const mt_kc_nll_loss *p, const mt_value *x, const char *xi,
                     const char *ti, const char *wi, const char *y, const char *lp, int64_t *work) {
  int64_t nd = x->dims[0], cd = x->dims[1], dd = mt_shape_numel(x->rank - 2, x->dims + 2);
  bool none = p->reduction == MT_LOSS_NONE, f64 = x->dtype == MT_DTYPE_FLOAT64;
  char xc[96], xk[96], wk[96];
  mt_cg_elem_load(x->dtype, xi, "(n * C + c) * D + d", xc, sizeof xc);
  mt_cg_elem_load(x->dtype, xi, "(n * C + k) * D + d", xk, sizeof xk);
  mt_cg_elem_load(x->dtype, wi ? wi : xi, "k", wk, sizeof wk);
  *work = none ? nd * dd : 1;
  mt_cg_line(b, "const long long C = %lldLL, D = %lldLL;", (long long)cd, (long long)dd);
  mt_cg_line(b, LOOP, (long long)*work);
  mt_cg_line(b, "  double sum = 0.0, wsum = 0.0;");
  if (none)
    mt_cg_line(b, "  { const long long n = i / D, d = i %% D;");
  else
    mt_cg_line(b, "  for (long long n = 0; n < %lldLL; n++) for (long long d = 0; d < D; d++) {",
               (long long)nd);
  mt_cg_line(b, "    double m = -1.0 / 0.0, s = 0.0, ls = 0.0;");
  if (p->log_softmax) {
    mt_cg_line(b, "    for (long long c = 0; c < C; c++) {");
    mt_cg_line(b, "      const double v = (double)%s;", xc);
    mt_cg_line(b, "      if (v > m) m = v;");
    mt_cg_line(b, "    }");
    mt_cg_line(b, "    for (long long c = 0; c < C; c++) s += exp((double)%s - m);", xc);
    mt_cg_line(b, "    ls = log(s);");
    if (lp) {
      mt_cg_line(b, "    for (long long c = 0; c < C; c++) {");
      mt_cg_line(b, "      const double lv = (double)%s - m - ls;", xc);
      b->indent += 3;
      mt_cg_store(b, x->dtype, lp, "(n * C + c) * D + d", f64 ? "lv" : "(float)lv");
      b->indent -= 3;
      mt_cg_line(b, "    }");
    }
  }
  mt_cg_line(b, "    long long k = (long long)%s[n * D + d];", ti);
  mt_cg_line(b, "    double loss = 0.0, wk = 0.0;");
  mt_cg_line(b, "    if (%s) {", p->has_ignore ? "k != IGN" : "true");
  mt_cg_line(b, "      k = k < 0 ? 0 : (k >= C ? C - 1 : k);");
  if (p->log_softmax)
    mt_cg_line(b, "      const double v = (double)%s - m - ls;", xk);
  else
    mt_cg_line(b, "      const double v = (double)%s;", xk);
  mt_cg_line(b, "      wk = %s%s;", wi ? "(double)" : "1.0", wi ? wk : "");
  mt_cg_line(b, "      loss = -v * wk;");
  mt_cg_line(b, "    }");
  mt_cg_line(b, "    sum += loss;");
  mt_cg_line(b, "    wsum += wk;");
  if (none) {
    b->indent += 2;
    mt_cg_store(b, x->dtype, y, "i", f64 ? "loss" : "(float)loss");
    b->indent -= 2;
  }
  mt_cg_line(b, "  }");
  if (!none) {
    char e[64];
    const char *r = p->reduction == MT_LOSS_SUM ? "sum" : "sum / wsum";
    snprintf(e, sizeof e, f64 ? "(%s)" : "(float)(%s)", r);
    b->indent++;
    mt_cg_store(b, x->dtype, y, "0", e);
    b->indent--;
  }
  mt_cg_line(b, "  (void)sum;");
  mt_cg_line(b, "  (void)wsum;");
  mt_cg_line(b, "}");
}

mt_status *mt_cg_index_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                            int64_t *out_work) {
  const mt_module *m = b->m;
  const mt_value *y = mt_module_value_c(m, n->outputs[0]);
  const mt_value *x = mt_module_value_c(m, n->inputs[0]);
  int64_t ny = mt_cg_numel(m, n->outputs[0]);
  char xi[MT_CG_NAME], i1[MT_CG_NAME], i2[MT_CG_NAME], yo[MT_CG_NAME];
  MT_RETURN_IF_ERROR_PLAIN(out_name(b, n, yo));
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 0, xi));
  if (!mt_cg_ctype(y->dtype) || !mt_cg_ctype(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "%s of %s", n->op_type, mt_dtype_name(x->dtype));
  const mt_value *v1 =
      n->n_inputs > 1 && n->inputs[1] != MT_NO_VALUE ? mt_module_value_c(m, n->inputs[1]) : NULL;
  switch (c->kind) {
  case MT_KERNEL_HARDMAX: hardmax(b, &c->params.softmax, x->dtype, xi, yo, out_work); return NULL;
  case MT_KERNEL_GATHER_ND:
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, i1));
    gather_nd(b, c->params.gather_nd.batch_dims, x, v1, xi, i1, yo, ny, out_work);
    return NULL;
  case MT_KERNEL_SCATTER_ND:
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, i1));
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, i2));
    return scatter_nd(b, c->params.scatter.reduction, x, v1, xi, i1, i2, yo, out_work);
  case MT_KERNEL_SCATTER_ELEMENTS:
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, i1));
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, i2));
    return scatter_elements(b, &c->params.scatter, x, v1, xi, i1, i2, yo, out_work);
  case MT_KERNEL_ONE_HOT:
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, i2));
    return one_hot(b, c->params.axis.axis, x, y, xi, i2, yo, ny, out_work);
  case MT_KERNEL_TRILU: {
    char k[MT_CG_NAME + 8] = "";
    if (v1) {
      MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, i1));
      snprintf(k, sizeof k, "%s[0]", i1);
    }
    trilu(b, c->params.trilu.upper, x, xi, v1 ? k : NULL, yo, ny, out_work);
    return NULL;
  }
  case MT_KERNEL_EYE_LIKE: eye_like(b, c->params.eye_like.k, y, yo, ny, out_work); return NULL;
  case MT_KERNEL_REVERSE_SEQUENCE:
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, i1));
    reverse_sequence(b, &c->params.reverse_sequence, x, xi, i1, yo, ny, out_work);
    return NULL;
  case MT_KERNEL_NORMALIZE: {
    const mt_kc_normalize *p = &c->params.normalize;
    bool scaled = p->kind == MT_NORMALIZE_RMS || p->kind == MT_NORMALIZE_GROUP;
    if (scaled) MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, i1));
    if (p->kind == MT_NORMALIZE_GROUP) MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, i2));
    normalize(b, p, x->dtype, xi, scaled ? i1 : NULL, p->kind == MT_NORMALIZE_GROUP ? i2 : NULL, yo,
              out_work);
    return NULL;
  }
  case MT_KERNEL_COMPRESS: return compress(b, &c->params.compress, x, v1, xi, yo, ny, out_work);
  case MT_KERNEL_NLL_LOSS: {
    const mt_kc_nll_loss *p = &c->params.nll_loss;
    char wi[MT_CG_NAME], lpn[MT_CG_NAME];
    bool has_w = n->n_inputs > 2 && n->inputs[2] != MT_NO_VALUE;
    bool has_lp = n->n_outputs > 1 && n->outputs[1] != MT_NO_VALUE;
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 1, i1));
    if (has_w) MT_RETURN_IF_ERROR_PLAIN(mt_cg_input_name(b, n, 2, wi));
    if (has_lp) {
      int k = mt_cg_output_index(b->fg, n->outputs[1]);
      if (k < 0) return MT_ERR(INTERNAL, "output 1 is not a parameter of its kernel");
      snprintf(lpn, sizeof lpn, "b%d_out%d", b->index, k);
    }
    if (p->has_ignore) mt_cg_line(b, "const long long IGN = %lldLL;", (long long)p->ignore_index);
    nll_loss(b, p, x, xi, i1, has_w ? wi : NULL, yo, has_lp ? lpn : NULL, out_work);
    return NULL;
  }
  case MT_KERNEL_WINDOW: {
    /* the values are fixed at generation (the size is static): runtime/cpu's own formula fills
     * a table of exact doubles, rounded once into the dtype by the store */
    int64_t size = y->dims[0];
    if (size > 4096)
      return MT_ERR(UNIMPLEMENTED, "a window of %lld elements (a table of at most 4096)",
                    (long long)size);
    *out_work = ny;
    mt_sb *sb = b->code;
    for (int i = 0; i < b->indent; i++) mt_sb_printf(sb, "  ");
    mt_sb_printf(sb, "static const double win[%lld] = {", (long long)(size > 0 ? size : 1));
    for (int64_t k = 0; k < size; k++)
      mt_sb_printf(sb, "%s%.17g", k ? ", " : "",
                   mt_cpu_window_value(c->params.window.kind, c->params.window.periodic, size, k));
    mt_sb_printf(sb, "%s};\n", size > 0 ? "" : "0.0");
    mt_cg_line(b, LOOP, (long long)ny);
    b->indent++;
    char e[64];
    snprintf(e, sizeof e, "(%s)win[i]", mt_cg_ctype(y->dtype));
    mt_cg_store(b, y->dtype, yo, "i", e);
    b->indent--;
    mt_cg_line(b, "}");
    return NULL;
  }
  case MT_KERNEL_LRN: {
    const mt_kc_lrn *p = &c->params.lrn;
    int64_t cd = x->dims[1], plane = mt_shape_numel(x->rank - 2, x->dims + 2);
    char xv[96], xa[96], al[64], be[64], bs[64];
    mt_cg_elem_load(x->dtype, xi, "(n * C + k) * P + j", xv, sizeof xv);
    mt_cg_elem_load(x->dtype, xi, "i", xa, sizeof xa);
    mt_cg_float_lit(p->alpha, al, sizeof al);
    mt_cg_float_lit(p->beta, be, sizeof be);
    mt_cg_float_lit(p->bias, bs, sizeof bs);
    *out_work = ny;
    mt_cg_line(b, "const long long C = %lldLL, P = %lldLL;", (long long)cd, (long long)plane);
    mt_cg_line(b, LOOP, (long long)ny);
    mt_cg_line(b, "  const long long j = i %% P, cc = i / P %% C, n = i / (P * C);");
    mt_cg_line(b, "  double sum = 0.0;");
    mt_cg_line(b,
               "  for (long long k = cc - %lldLL < 0 ? 0 : cc - %lldLL; k <= cc + %lldLL && k < C; "
               "k++) {",
               (long long)((p->size - 1) / 2), (long long)((p->size - 1) / 2),
               (long long)(p->size / 2));
    mt_cg_line(b, "    const double v = (double)%s;", xv);
    mt_cg_line(b, "    sum += v * v;");
    mt_cg_line(b, "  }");
    mt_cg_line(b, "  const double den = pow((double)%s + (double)%s / %lld.0 * sum, (double)%s);",
               bs, al, (long long)p->size, be);
    b->indent++;
    char e[160];
    snprintf(e, sizeof e, "(float)((double)%s / den)", xa);
    mt_cg_store(b, x->dtype, yo, "i", e);
    b->indent--;
    mt_cg_line(b, "}");
    return NULL;
  }
  case MT_KERNEL_LP_POOL:
    lp_pool(b, &c->params.lp_pool, x->dtype, xi, yo, ny, out_work);
    return NULL;
  default: return MT_ERR(NOT_FOUND, "not an indexing kernel");
  }
}
