/* Reduction-style CPU kernels: Reduce*, ArgMax/ArgMin, TopK, CumSum (see reduce.h). */
#include "runtime/cpu/reduce.h"

#include <math.h>
#include <stdlib.h>

#include "runtime/cpu/float8.h"

/* ---- element access ------------------------------------------------------------------------ */

/* Copies n elements of C type T (element offsets off, off+stride, ...) of x into buf, each
 * converted by CONV. Shared by both loaders so each dtype case is one line. */
#define GATHER(T, CONV)                                                                            \
  do {                                                                                             \
    const T *p = (const T *)x + off;                                                               \
    for (int64_t j = 0; j < n; j++) buf[j] = CONV(p[j * stride]);                                  \
  } while (0)
#define AS_IS(v) (v)
#define AS_F64(v) ((double)(v))
#define NONZERO(v) ((v) != 0)

/* Loads n elements (element offsets off, off+stride, ...) as doubles. One switch per run keeps
 * the dtype dispatch out of the per-element loop. */
static void load_f64(mt_dtype dt, const void *x, int64_t off, int64_t n, int64_t stride,
                     double *buf) {
  switch (dt) {
  case MT_DTYPE_FLOAT32: GATHER(float, AS_IS); break;
  case MT_DTYPE_FLOAT16: GATHER(uint16_t, mt_half_to_float); break;
  case MT_DTYPE_BFLOAT16: GATHER(uint16_t, mt_bf16_to_float); break;
  case MT_DTYPE_FLOAT64: GATHER(double, AS_IS); break;
  case MT_DTYPE_INT64: GATHER(int64_t, AS_F64); break;
  case MT_DTYPE_INT32: GATHER(int32_t, AS_IS); break;
  case MT_DTYPE_INT8: GATHER(int8_t, AS_IS); break;
  case MT_DTYPE_UINT8:
  case MT_DTYPE_BOOL: GATHER(uint8_t, AS_IS); break;
  default:
    for (int64_t j = 0; j < n; j++) buf[j] = 0;
    break;
  }
}

/* The same as int64 (bool as 0/1). */
static void load_i64(mt_dtype dt, const void *x, int64_t off, int64_t n, int64_t stride,
                     int64_t *buf) {
  switch (dt) {
  case MT_DTYPE_INT64: GATHER(int64_t, AS_IS); break;
  case MT_DTYPE_INT32: GATHER(int32_t, AS_IS); break;
  case MT_DTYPE_INT8: GATHER(int8_t, AS_IS); break;
  case MT_DTYPE_UINT8: GATHER(uint8_t, AS_IS); break;
  case MT_DTYPE_BOOL: GATHER(uint8_t, NONZERO); break;
  default:
    for (int64_t j = 0; j < n; j++) buf[j] = 0;
    break;
  }
}

#undef GATHER
#undef AS_IS
#undef AS_F64
#undef NONZERO

static void store_f64(mt_dtype dt, void *y, int64_t i, double v) {
  if (dt == MT_DTYPE_FLOAT32)
    ((float *)y)[i] = (float)v;
  else if (mt_dtype_is_float16_like(dt))
    ((uint16_t *)y)[i] = mt_float_to_f16like(dt, (float)v);
  else if (dt == MT_DTYPE_FLOAT64)
    ((double *)y)[i] = v;
}

/* Integer results wrap to the element width, as two's-complement arithmetic in that width would. */
static void store_i64(mt_dtype dt, void *y, int64_t i, int64_t v) {
  switch (dt) {
  case MT_DTYPE_INT64: ((int64_t *)y)[i] = v; break;
  case MT_DTYPE_INT32: ((int32_t *)y)[i] = (int32_t)(uint32_t)(uint64_t)v; break;
  case MT_DTYPE_INT8: ((int8_t *)y)[i] = (int8_t)(uint8_t)(uint64_t)v; break;
  case MT_DTYPE_UINT8: ((uint8_t *)y)[i] = (uint8_t)(uint64_t)v; break;
  case MT_DTYPE_BOOL: ((uint8_t *)y)[i] = v != 0; break;
  default: break;
  }
}

/* double -> int64 without undefined behaviour: truncates toward zero, NaN gives 0, saturates. */
static int64_t f64_to_i64(double d) {
  if (d != d) return 0;
  if (d >= 9223372036854775807.0) return INT64_MAX;
  if (d <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)d;
}

static int64_t dtype_lowest(mt_dtype dt) {
  switch (dt) {
  case MT_DTYPE_INT64: return INT64_MIN;
  case MT_DTYPE_INT32: return INT32_MIN;
  case MT_DTYPE_INT8: return INT8_MIN;
  default: return 0; /* uint8, bool */
  }
}

static int64_t dtype_highest(mt_dtype dt) {
  switch (dt) {
  case MT_DTYPE_INT64: return INT64_MAX;
  case MT_DTYPE_INT32: return INT32_MAX;
  case MT_DTYPE_INT8: return INT8_MAX;
  case MT_DTYPE_UINT8: return UINT8_MAX;
  default: return 1; /* bool */
  }
}

/* ---- Reduce* ------------------------------------------------------------------------------- */

/* The reduced axes of one reduction after dropping size-1 dims and merging neighbours: an
 * odometer over `n` dims, innermost last. */
typedef struct reduce_walk {
  int n;
  int64_t dims[MT_MAX_RANK];
  int64_t strides[MT_MAX_RANK];
} reduce_walk;

enum { CHUNK = 256 };

typedef struct reduce_acc {
  double f;  /* float inputs, and the double-valued int ops */
  double m;  /* LOG_SUM_EXP: the shift */
  int64_t i; /* integer inputs */
  int64_t count;
} reduce_acc;

static bool is_float(mt_dtype dt) { return mt_dtype_is_float_any(dt); }

static void acc_init(mt_reduce_op op, mt_dtype dt, reduce_acc *a) {
  a->count = 0;
  a->m = 0;
  switch (op) {
  case MT_REDUCE_MAX:
    a->f = -INFINITY;
    a->i = dtype_lowest(dt);
    break;
  case MT_REDUCE_MIN:
    a->f = INFINITY;
    a->i = dtype_highest(dt);
    break;
  case MT_REDUCE_PROD:
    a->f = 1;
    a->i = 1;
    break;
  default:
    a->f = 0;
    a->i = 0;
    break;
  }
}

/* Folds a run of float values into the accumulator. The second LOG_SUM_EXP pass (pass 1) sums
 * exp(v - m). */
static void acc_run_f(mt_reduce_op op, int pass, reduce_acc *a, const double *v, int64_t n) {
  a->count += n;
  switch (op) {
  case MT_REDUCE_SUM:
  case MT_REDUCE_MEAN:
  case MT_REDUCE_LOG_SUM:
    for (int64_t j = 0; j < n; j++) a->f += v[j];
    break;
  case MT_REDUCE_MAX:
    /* NaN propagates, as numpy's maximum does. */
    for (int64_t j = 0; j < n; j++)
      if (!isnan(a->f) && (v[j] > a->f || isnan(v[j]))) a->f = v[j];
    break;
  case MT_REDUCE_MIN:
    for (int64_t j = 0; j < n; j++)
      if (!isnan(a->f) && (v[j] < a->f || isnan(v[j]))) a->f = v[j];
    break;
  case MT_REDUCE_PROD:
    for (int64_t j = 0; j < n; j++) a->f *= v[j];
    break;
  case MT_REDUCE_L1:
    for (int64_t j = 0; j < n; j++) a->f += fabs(v[j]);
    break;
  case MT_REDUCE_L2:
  case MT_REDUCE_SUM_SQUARE:
    for (int64_t j = 0; j < n; j++) a->f += v[j] * v[j];
    break;
  case MT_REDUCE_LOG_SUM_EXP:
    if (pass == 0) {
      for (int64_t j = 0; j < n; j++)
        if (v[j] > a->m) a->m = v[j];
    } else {
      for (int64_t j = 0; j < n; j++) a->f += exp(v[j] - a->m);
    }
    break;
  }
}

/* Integer inputs: sums and products wrap (unsigned arithmetic avoids signed overflow). */
static void acc_run_i(mt_reduce_op op, reduce_acc *a, const int64_t *v, int64_t n) {
  a->count += n;
  switch (op) {
  case MT_REDUCE_SUM:
  case MT_REDUCE_MEAN:
    for (int64_t j = 0; j < n; j++) a->i = (int64_t)((uint64_t)a->i + (uint64_t)v[j]);
    break;
  case MT_REDUCE_MAX:
    for (int64_t j = 0; j < n; j++)
      if (v[j] > a->i) a->i = v[j];
    break;
  case MT_REDUCE_MIN:
    for (int64_t j = 0; j < n; j++)
      if (v[j] < a->i) a->i = v[j];
    break;
  case MT_REDUCE_PROD:
    for (int64_t j = 0; j < n; j++) a->i = (int64_t)((uint64_t)a->i * (uint64_t)v[j]);
    break;
  case MT_REDUCE_L1:
    for (int64_t j = 0; j < n; j++)
      a->i = (int64_t)((uint64_t)a->i + (v[j] < 0 ? 0 - (uint64_t)v[j] : (uint64_t)v[j]));
    break;
  case MT_REDUCE_SUM_SQUARE:
    for (int64_t j = 0; j < n; j++)
      a->i = (int64_t)((uint64_t)a->i + (uint64_t)v[j] * (uint64_t)v[j]);
    break;
  case MT_REDUCE_L2:
  case MT_REDUCE_LOG_SUM:
  case MT_REDUCE_LOG_SUM_EXP:
    /* Defined through sqrt/log/exp: computed in double and truncated on store. */
    for (int64_t j = 0; j < n; j++) {
      double d = (double)v[j];
      a->f += op == MT_REDUCE_L2 ? d * d : op == MT_REDUCE_LOG_SUM ? d : exp(d);
    }
    break;
  }
}

/* Visits every element of the reduced set starting at base, in row-major order. */
static void reduce_visit(mt_reduce_op op, int pass, mt_dtype dt, const void *x, int64_t base,
                         const reduce_walk *w, reduce_acc *a, double *fbuf, int64_t *ibuf) {
  int64_t idx[MT_MAX_RANK] = {0};
  int last = w->n - 1;
  int64_t inner = w->n ? w->dims[last] : 1;
  int64_t inner_stride = w->n ? w->strides[last] : 1;
  for (;;) {
    int64_t off = base;
    for (int d = 0; d < last; d++) off += idx[d] * w->strides[d];
    for (int64_t j = 0; j < inner; j += CHUNK) {
      int64_t n = inner - j < CHUNK ? inner - j : CHUNK;
      if (is_float(dt)) {
        load_f64(dt, x, off + j * inner_stride, n, inner_stride, fbuf);
        acc_run_f(op, pass, a, fbuf, n);
      } else {
        load_i64(dt, x, off + j * inner_stride, n, inner_stride, ibuf);
        acc_run_i(op, a, ibuf, n);
      }
    }
    int d = last - 1;
    while (d >= 0 && ++idx[d] == w->dims[d]) idx[d--] = 0;
    if (d < 0) break;
  }
}

static void acc_store(mt_reduce_op op, mt_dtype dt, const reduce_acc *a, void *y, int64_t o) {
  if (is_float(dt)) {
    double r = a->f;
    switch (op) {
    case MT_REDUCE_MEAN: r = a->f / (double)a->count; break;
    case MT_REDUCE_L2: r = sqrt(a->f); break;
    case MT_REDUCE_LOG_SUM: r = log(a->f); break;
    case MT_REDUCE_LOG_SUM_EXP: r = log(a->f) + a->m; break;
    default: break;
    }
    store_f64(dt, y, o, r);
    return;
  }
  int64_t r = a->i;
  switch (op) {
  case MT_REDUCE_MEAN: r = a->count ? a->i / a->count : 0; break;
  case MT_REDUCE_L2: r = f64_to_i64(sqrt(a->f)); break;
  case MT_REDUCE_LOG_SUM:
  case MT_REDUCE_LOG_SUM_EXP: r = f64_to_i64(log(a->f)); break;
  default: break;
  }
  store_i64(dt, y, o, r);
}

void mt_cpu_reduce(mt_reduce_op op, mt_dtype dt, const void *x, int rank, const int64_t *dims,
                   uint32_t axes_mask, void *y) {
  /* Split the shape into kept and reduced walks, dropping size-1 dims and merging neighbours
   * of the same kind so that the inner loops run as long as possible. */
  reduce_walk kept = {0}, red = {0};
  int64_t stride = 1;
  int prev_kind = -1;
  bool empty_red = false;
  for (int d = rank - 1; d >= 0; d--) {
    int kind = (axes_mask >> d) & 1u;
    if (dims[d] == 0) {
      if (!kind) return; /* no outputs */
      empty_red = true;
    }
    if (dims[d] <= 1) continue;
    reduce_walk *w = kind ? &red : &kept;
    if (kind == prev_kind && w->strides[0] * w->dims[0] == stride) {
      w->dims[0] *= dims[d];
    } else {
      /* Prepend: walks are built innermost first. */
      for (int i = w->n; i > 0; i--) {
        w->dims[i] = w->dims[i - 1];
        w->strides[i] = w->strides[i - 1];
      }
      w->dims[0] = dims[d];
      w->strides[0] = stride;
      w->n++;
    }
    prev_kind = kind;
    stride *= dims[d];
  }
  double fbuf[CHUNK];
  int64_t ibuf[CHUNK];
  int64_t kidx[MT_MAX_RANK] = {0};
  int64_t o = 0;
  for (;;) {
    int64_t base = 0;
    for (int d = 0; d < kept.n; d++) base += kidx[d] * kept.strides[d];
    reduce_acc a;
    acc_init(op, dt, &a);
    if (!empty_red) {
      if (op == MT_REDUCE_LOG_SUM_EXP && is_float(dt)) {
        a.m = -INFINITY;
        reduce_visit(op, 0, dt, x, base, &red, &a, fbuf, ibuf);
        if (!isfinite(a.m)) a.m = 0; /* all -inf (or inf/NaN): let exp/log carry it */
        a.count = 0;
      }
      reduce_visit(op, 1, dt, x, base, &red, &a, fbuf, ibuf);
    } else if (op == MT_REDUCE_LOG_SUM_EXP) {
      a.f = 0; /* log(0) = -inf */
    }
    acc_store(op, dt, &a, y, o++);
    int d = kept.n - 1;
    while (d >= 0 && ++kidx[d] == kept.dims[d]) kidx[d--] = 0;
    if (d < 0) break;
  }
}

/* ---- ArgMax / ArgMin ----------------------------------------------------------------------- */

void mt_cpu_arg_reduce(mt_dtype dt, const void *x, int64_t outer, int64_t n, int64_t inner,
                       bool is_min, bool select_last, int64_t *y) {
  double fbuf[CHUNK];
  int64_t ibuf[CHUNK];
  bool flt = is_float(dt);
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * n * inner + in;
      int64_t best = 0;
      double bf = 0;
      int64_t bi = 0;
      bool have_nan = false;
      for (int64_t j0 = 0; j0 < n; j0 += CHUNK) {
        int64_t m = n - j0 < CHUNK ? n - j0 : CHUNK;
        if (flt)
          load_f64(dt, x, base + j0 * inner, m, inner, fbuf);
        else
          load_i64(dt, x, base + j0 * inner, m, inner, ibuf);
        for (int64_t j = 0; j < m; j++) {
          int64_t idx = j0 + j;
          bool take;
          if (idx == 0) {
            take = true;
          } else if (flt) {
            /* NaN wins over numbers, as in numpy; among equals the first (or last) wins. */
            double v = fbuf[j];
            if (have_nan)
              take = select_last && isnan(v);
            else if (isnan(v))
              take = true;
            else
              take = is_min ? (v < bf || (select_last && v == bf))
                            : (v > bf || (select_last && v == bf));
          } else {
            int64_t v = ibuf[j];
            take = is_min ? (v < bi || (select_last && v == bi))
                          : (v > bi || (select_last && v == bi));
          }
          if (take) {
            best = idx;
            if (flt) {
              bf = fbuf[j];
              have_nan = isnan(bf);
            } else {
              bi = ibuf[j];
            }
          }
        }
      }
      y[o * inner + in] = best;
    }
  }
}

/* ---- TopK ---------------------------------------------------------------------------------- */

typedef struct topk_item {
  double f;
  int64_t i;
  int64_t idx;
} topk_item;

/* Orders by value (NaN above every number), then by ascending index: a total order, so qsort's
 * instability cannot show. */
static int cmp_f(const topk_item *a, const topk_item *b) {
  bool na = isnan(a->f), nb = isnan(b->f);
  if (na != nb) return na ? 1 : -1;
  if (!na && a->f != b->f) return a->f < b->f ? -1 : 1;
  return 0;
}
static int cmp_i(const topk_item *a, const topk_item *b) {
  return a->i < b->i ? -1 : a->i > b->i ? 1 : 0;
}
static int by_idx(const topk_item *a, const topk_item *b) {
  return a->idx < b->idx ? -1 : a->idx > b->idx ? 1 : 0;
}
static int cmp_f_asc(const void *pa, const void *pb) {
  int c = cmp_f(pa, pb);
  return c ? c : by_idx(pa, pb);
}
static int cmp_f_desc(const void *pa, const void *pb) {
  int c = cmp_f(pb, pa);
  return c ? c : by_idx(pa, pb);
}
static int cmp_i_asc(const void *pa, const void *pb) {
  int c = cmp_i(pa, pb);
  return c ? c : by_idx(pa, pb);
}
static int cmp_i_desc(const void *pa, const void *pb) {
  int c = cmp_i(pb, pa);
  return c ? c : by_idx(pa, pb);
}

/* The sort key of element off: float types as doubles, integers as int64, uint64 with its top
 * bit flipped so that signed comparison orders it as unsigned. */
static void topk_key(mt_dtype dt, const void *x, int64_t off, topk_item *it) {
  it->f = 0;
  it->i = 0;
  switch (dt) {
  case MT_DTYPE_FLOAT64: it->f = ((const double *)x)[off]; break;
  case MT_DTYPE_INT16: it->i = ((const int16_t *)x)[off]; break;
  case MT_DTYPE_UINT16: it->i = ((const uint16_t *)x)[off]; break;
  case MT_DTYPE_UINT32: it->i = ((const uint32_t *)x)[off]; break;
  case MT_DTYPE_UINT64: it->i = (int64_t)(((const uint64_t *)x)[off] ^ (UINT64_C(1) << 63)); break;
  default:
    if (is_float(dt))
      load_f64(dt, x, off, 1, 1, &it->f);
    else
      load_i64(dt, x, off, 1, 1, &it->i);
    break;
  }
}

bool mt_cpu_topk(mt_dtype dt, const void *x, int64_t outer, int64_t n, int64_t inner, int64_t k,
                 bool largest, void *values, int64_t *indices) {
  if (k <= 0 || n <= 0 || outer == 0 || inner == 0) return true;
  topk_item *items = malloc((size_t)n * sizeof *items);
  if (!items) return false;
  bool flt = is_float(dt) || dt == MT_DTYPE_FLOAT64;
  size_t esz = mt_dtype_size(dt);
  int (*cmp)(const void *, const void *) =
      flt ? (largest ? cmp_f_desc : cmp_f_asc) : (largest ? cmp_i_desc : cmp_i_asc);
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * n * inner + in;
      for (int64_t j = 0; j < n; j++) {
        items[j].idx = j;
        topk_key(dt, x, base + j * inner, &items[j]);
      }
      qsort(items, (size_t)n, sizeof *items, cmp);
      for (int64_t j = 0; j < k; j++) {
        int64_t out = (o * k + j) * inner + in;
        if (indices) indices[out] = items[j].idx;
        if (values) /* copy the source bytes: exact for every dtype */
          memcpy((char *)values + (size_t)out * esz,
                 (const char *)x + (size_t)(base + items[j].idx * inner) * esz, esz);
      }
    }
  }
  free(items);
  return true;
}

/* ---- CumSum -------------------------------------------------------------------------------- */

void mt_cpu_cumsum(mt_dtype dt, const void *x, int64_t outer, int64_t n, int64_t inner,
                   bool exclusive, bool reverse, void *y) {
  bool flt = is_float(dt);
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * n * inner + in;
      float fs = 0;  /* float32 running sums match a sequential float32 accumulation */
      double ds = 0; /* float64 sums accumulate in their own width */
      int64_t is = 0;
      for (int64_t t = 0; t < n; t++) {
        int64_t j = reverse ? n - 1 - t : t;
        int64_t off = base + j * inner;
        if (dt == MT_DTYPE_FLOAT64) {
          double v;
          load_f64(dt, x, off, 1, 1, &v);
          if (exclusive) store_f64(dt, y, off, ds);
          ds += v;
          if (!exclusive) store_f64(dt, y, off, ds);
        } else if (flt) {
          double v;
          load_f64(dt, x, off, 1, 1, &v);
          if (exclusive) store_f64(dt, y, off, fs);
          fs += (float)v;
          if (!exclusive) store_f64(dt, y, off, fs);
        } else {
          int64_t v;
          load_i64(dt, x, off, 1, 1, &v);
          if (exclusive) store_i64(dt, y, off, is);
          is = (int64_t)((uint64_t)is + (uint64_t)v);
          if (!exclusive) store_i64(dt, y, off, is);
        }
      }
    }
  }
}
