/* Strided gather / reduction kernels (see einsum.h). */
#include "runtime/cpu/einsum.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/checked_math.h"
#include "runtime/cpu/gemm.h"
#include "runtime/cpu/staging.h"

#define EIN_MAX_LABELS MT_EINSUM_MAX_LABELS
#define EIN_MAX_INPUTS MT_EINSUM_MAX_INPUTS
#define EIN_MAXD MT_EINSUM_MAX_DIMS

typedef mt_einsum_term ein_term;
typedef mt_einsum_eq ein_eq;

/* Advances a row-major odometer; returns false after the last position. Keeps *offset in step
 * with the strides. */
static bool step(int n, const int64_t *dims, const int64_t *strides, int64_t *pos,
                 int64_t *offset) {
  for (int d = n - 1; d >= 0; d--) {
    if (++pos[d] < dims[d]) {
      *offset += strides[d];
      return true;
    }
    *offset -= strides[d] * (dims[d] - 1);
    pos[d] = 0;
  }
  return false;
}

static int64_t numel(int n, const int64_t *dims) {
  int64_t t = 1;
  for (int d = 0; d < n; d++) t *= dims[d];
  return t;
}

/* One template for both element types: ACC is the accumulator type. */
#define MT_STRIDED_SUM_BODY(T, ACC)                                                                \
  int64_t total = numel(nkeep, keep_dims), red_total = numel(nred, red_dims);                      \
  if (total == 0) return;                                                                          \
  int64_t kpos[MT_EINSUM_MAX_DIMS] = {0}, koff = 0;                                                \
  for (int64_t i = 0; i < total; i++) {                                                            \
    ACC acc = 0;                                                                                   \
    if (red_total > 0) {                                                                           \
      int64_t rpos[MT_EINSUM_MAX_DIMS] = {0}, roff = 0;                                            \
      do {                                                                                         \
        acc += (ACC)src[koff + roff];                                                              \
      } while (step(nred, red_dims, red_strides, rpos, &roff));                                    \
    }                                                                                              \
    dst[i] = (T)acc;                                                                               \
    step(nkeep, keep_dims, keep_strides, kpos, &koff);                                             \
  }

void mt_cpu_strided_sum_f32(const float *src, int nkeep, const int64_t *keep_dims,
                            const int64_t *keep_strides, int nred, const int64_t *red_dims,
                            const int64_t *red_strides, float *dst) {
  if (nred == 0) {
    /* Pure gather (a permutation or diagonal): no accumulator round trip. */
    int64_t total = numel(nkeep, keep_dims);
    int64_t kpos[MT_EINSUM_MAX_DIMS] = {0}, koff = 0;
    for (int64_t i = 0; i < total; i++) {
      dst[i] = src[koff];
      step(nkeep, keep_dims, keep_strides, kpos, &koff);
    }
    return;
  }
  MT_STRIDED_SUM_BODY(float, double)
}

/* float64 operands keep their width: sums in double, as numpy's einsum on float64. */
static void strided_sum_f64(const double *src, int nkeep, const int64_t *keep_dims,
                            const int64_t *keep_strides, int nred, const int64_t *red_dims,
                            const int64_t *red_strides, double *dst) {
  MT_STRIDED_SUM_BODY(double, double)
}

/* One batched product for both: ACC is the accumulator (unsigned for int64: wraps instead of
 * overflowing). */
#define MT_BATCHED_MATMUL_BODY(T, ACC)                                                             \
  for (int64_t bi = 0; bi < batch; bi++) {                                                         \
    const T *ab = a + bi * m * k, *bb = b + bi * k * n;                                            \
    T *cb = c + bi * m * n;                                                                        \
    for (int64_t i = 0; i < m; i++)                                                                \
      for (int64_t j = 0; j < n; j++) {                                                            \
        ACC acc = 0;                                                                               \
        for (int64_t p = 0; p < k; p++) acc += (ACC)ab[i * k + p] * (ACC)bb[p * n + j];            \
        cb[i * n + j] = (T)acc;                                                                    \
      }                                                                                            \
  }

static void batched_matmul_f64(int64_t batch, int64_t m, int64_t n, int64_t k, const double *a,
                               const double *b, double *c) {
  MT_BATCHED_MATMUL_BODY(double, double)
}

void mt_cpu_strided_sum_i64(const int64_t *src, int nkeep, const int64_t *keep_dims,
                            const int64_t *keep_strides, int nred, const int64_t *red_dims,
                            const int64_t *red_strides, int64_t *dst) {
  MT_STRIDED_SUM_BODY(int64_t, uint64_t)
}

void mt_cpu_batched_matmul_i64(int64_t batch, int64_t m, int64_t n, int64_t k, const int64_t *a,
                               const int64_t *b, int64_t *c) {
  MT_BATCHED_MATMUL_BODY(int64_t, uint64_t)
}

/* ---------------------------------------------------------------- Einsum evaluation */

typedef struct ein_view {
  int n;
  int label[EIN_MAXD];
  int64_t size[EIN_MAXD];
  int64_t stride[EIN_MAXD];
  const void *data;
} ein_view;

typedef struct ein_exec {
  bool is_int; /* int64 buffers; float32 otherwise */
  bool is_f64; /* float64 buffers (float64 operands) */
  const ein_eq *eq;
} ein_exec;

static int view_find(const ein_view *v, int label) {
  for (int i = 0; i < v->n; i++)
    if (v->label[i] == label) return i;
  return -1;
}

static void view_of_operand(const ein_eq *e, const ein_term *t, const int64_t *dims,
                            const void *data, ein_view *v) {
  v->n = 0;
  v->data = data;
  int64_t stride = 1;
  for (int d = t->n - 1; d >= 0; d--) {
    int l = t->label[d];
    int64_t s = dims[d] == 1 && e->size[l] != 1 ? 0 : stride; /* broadcast dim */
    int k = view_find(v, l);
    if (k >= 0) {
      v->stride[k] += s;
    } else {
      v->label[v->n] = l;
      v->size[v->n] = e->size[l];
      v->stride[v->n] = s;
      v->n++;
    }
    stride *= dims[d];
  }
}

/* Dense gather of view v over the `nkeep` labels in `keep` (in order), summing every other label
 * of v. Sets *out to a malloc'ed buffer and *out_numel. */
MT_MUST_USE static mt_status *gather(const ein_exec *x, const ein_view *v, int nkeep,
                                     const int *keep, void **out, int64_t *out_numel) {
  int64_t kd[EIN_MAXD], ks[EIN_MAXD], rd[EIN_MAXD], rs[EIN_MAXD], total = 1;
  int nred = 0;
  bool used[EIN_MAXD] = {false};
  for (int i = 0; i < nkeep; i++) {
    int k = view_find(v, keep[i]);
    kd[i] = k >= 0 ? v->size[k] : x->eq->size[keep[i]];
    ks[i] = k >= 0 ? v->stride[k] : 0;
    if (k >= 0) used[k] = true;
    if (!mt_mul_i64(total, kd[i], &total))
      return MT_ERR(RESOURCE_EXHAUSTED, "Einsum intermediate is too large");
  }
  for (int k = 0; k < v->n; k++)
    if (!used[k]) {
      rd[nred] = v->size[k];
      rs[nred] = v->stride[k];
      nred++;
    }
  size_t elem = x->is_int || x->is_f64 ? sizeof(int64_t) : sizeof(float), bytes;
  if (!mt_mul_size((size_t)total, elem, &bytes))
    return MT_ERR(RESOURCE_EXHAUSTED, "Einsum intermediate is too large");
  void *buf = malloc(bytes ? bytes : 1);
  if (!buf) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for an Einsum intermediate");
  if (x->is_int)
    mt_cpu_strided_sum_i64(v->data, nkeep, kd, ks, nred, rd, rs, buf);
  else if (x->is_f64)
    strided_sum_f64(v->data, nkeep, kd, ks, nred, rd, rs, buf);
  else
    mt_cpu_strided_sum_f32(v->data, nkeep, kd, ks, nred, rd, rs, buf);
  *out = buf;
  *out_numel = total;
  return NULL;
}

static int64_t labels_numel(const ein_eq *e, int n, const int *labels) {
  int64_t t = 1;
  for (int i = 0; i < n; i++) t *= e->size[labels[i]];
  return t;
}

/* Contracts views a and b, keeping labels flagged in `needed`; the result is a dense view over
 * [batch, M, N] whose data (*owned) the caller frees. */
MT_MUST_USE static mt_status *contract(const ein_exec *x, const ein_view *a, const ein_view *b,
                                       const bool *needed, ein_view *res, void **owned) {
  int lb[EIN_MAXD], lm[EIN_MAXD], lk[EIN_MAXD], ln[EIN_MAXD], nb = 0, nm = 0, nk = 0, nn = 0;
  for (int i = 0; i < a->n; i++) {
    int l = a->label[i];
    bool in_b = view_find(b, l) >= 0;
    if (in_b && needed[l])
      lb[nb++] = l;
    else if (in_b)
      lk[nk++] = l;
    else if (needed[l])
      lm[nm++] = l;
  }
  for (int i = 0; i < b->n; i++) {
    int l = b->label[i];
    if (view_find(a, l) < 0 && needed[l]) ln[nn++] = l;
  }
  if (nb + nm + nk > EIN_MAXD || nb + nk + nn > EIN_MAXD || nb + nm + nn > EIN_MAXD)
    return MT_ERR(OUT_OF_RANGE, "Einsum intermediate has more than %d dims", EIN_MAXD);
  int order_a[EIN_MAXD], order_b[EIN_MAXD], n = 0;
  for (int i = 0; i < nb; i++) order_a[n++] = lb[i];
  for (int i = 0; i < nm; i++) order_a[n++] = lm[i];
  for (int i = 0; i < nk; i++) order_a[n++] = lk[i];
  n = 0;
  for (int i = 0; i < nb; i++) order_b[n++] = lb[i];
  for (int i = 0; i < nk; i++) order_b[n++] = lk[i];
  for (int i = 0; i < nn; i++) order_b[n++] = ln[i];
  int64_t bt = labels_numel(x->eq, nb, lb), mt = labels_numel(x->eq, nm, lm);
  int64_t kt = labels_numel(x->eq, nk, lk), nt = labels_numel(x->eq, nn, ln), total;
  if (!mt_mul_i64(bt, mt, &total) || !mt_mul_i64(total, nt, &total))
    return MT_ERR(RESOURCE_EXHAUSTED, "Einsum intermediate is too large");
  void *am = NULL, *bm = NULL, *cm = NULL;
  int64_t an, bn;
  mt_status *st = gather(x, a, nb + nm + nk, order_a, &am, &an);
  if (!st) st = gather(x, b, nb + nk + nn, order_b, &bm, &bn);
  if (!st) {
    size_t elem = x->is_int || x->is_f64 ? sizeof(int64_t) : sizeof(float);
    cm = calloc((size_t)(total > 0 ? total : 1), elem);
    if (!cm) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory for an Einsum intermediate");
  }
  if (!st) {
    if (x->is_int) {
      mt_cpu_batched_matmul_i64(bt, mt, nt, kt, am, bm, cm);
    } else if (x->is_f64) {
      batched_matmul_f64(bt, mt, nt, kt, am, bm, cm);
    } else {
      const float *af = am, *bf = bm;
      float *cf = cm;
      for (int64_t i = 0; i < bt && !st; i++)
        st = mt_cpu_sgemm(false, false, mt, nt, kt, 1.0f, af + i * mt * kt, kt, bf + i * kt * nt,
                          nt, cf + i * mt * nt, nt);
    }
  }
  free(am);
  free(bm);
  if (st) {
    free(cm);
    return st;
  }
  res->n = 0;
  res->data = cm;
  for (int i = 0; i < nb; i++) res->label[res->n++] = lb[i];
  for (int i = 0; i < nm; i++) res->label[res->n++] = lm[i];
  for (int i = 0; i < nn; i++) res->label[res->n++] = ln[i];
  int64_t stride = 1;
  for (int i = res->n - 1; i >= 0; i--) {
    res->size[i] = x->eq->size[res->label[i]];
    res->stride[i] = stride;
    stride *= res->size[i];
  }
  *owned = cm;
  return NULL;
}

static void store_ints(mt_tensor *y, const int64_t *v) {
  int64_t n = mt_tensor_numel(y);
  for (int64_t i = 0; i < n; i++) {
    switch (y->dtype) {
    case MT_DTYPE_INT64: ((int64_t *)y->data)[i] = v[i]; break;
    case MT_DTYPE_INT32: ((int32_t *)y->data)[i] = (int32_t)v[i]; break;
    case MT_DTYPE_INT8: ((int8_t *)y->data)[i] = (int8_t)v[i]; break;
    case MT_DTYPE_UINT8: ((uint8_t *)y->data)[i] = (uint8_t)v[i]; break;
    default: mt_tensor_set_f64(y, i, (double)v[i]); break;
    }
  }
}

mt_status *mt_cpu_einsum(const mt_einsum_eq *eq, int n_inputs, const mt_tensor *const *inputs,
                         mt_tensor *y) {
  const ein_eq e = *eq;
  bool f64 = y->dtype == MT_DTYPE_FLOAT64;
  ein_exec x = {.is_int = !mt_dtype_is_float(y->dtype) && !f64, .is_f64 = f64, .eq = &e};
  int n_in = n_inputs;
  if (n_in != e.n_inputs || n_in < 1 || n_in > EIN_MAX_INPUTS)
    return MT_ERR(INVALID_ARGUMENT, "Einsum equation has %d operands, got %d inputs", e.n_inputs,
                  n_in);
  void *staged[EIN_MAX_INPUTS] = {0};
  mt_status *st = NULL;
  for (int i = 0; i < n_in && !st; i++) {
    const mt_tensor *t = inputs[i];
    int64_t n = mt_tensor_numel(t);
    if (x.is_int) {
      int64_t *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
      if (!buf) {
        st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
        break;
      }
      for (int64_t k = 0; k < n; k++) buf[k] = mt_tensor_get_i64(t, k);
      staged[i] = buf;
    } else if (x.is_f64) {
      if (t->dtype != MT_DTYPE_FLOAT64) {
        st = MT_ERR(INVALID_ARGUMENT, "input %d is %s, the output float64", i,
                    mt_dtype_name(t->dtype));
        break;
      }
      staged[i] = NULL; /* float64 inputs are borrowed */
    } else {
      /* float32 inputs are borrowed (staged[i] stays NULL), float16 ones converted */
      const float *f;
      float *own;
      st = mt_cpu_stage_in_f32(t, &f, &own);
      staged[i] = own;
    }
  }
  ein_view cur;
  void *cur_owned = NULL;
  if (!st) {
    const void *d0 = staged[0] ? staged[0] : inputs[0]->data;
    view_of_operand(&e, &e.in[0], inputs[0]->dims, d0, &cur);
  }
  for (int i = 1; i < n_in && !st; i++) {
    bool needed[EIN_MAX_LABELS] = {false};
    for (int d = 0; d < e.out.n; d++) needed[e.out.label[d]] = true;
    for (int j = i + 1; j < n_in; j++)
      for (int d = 0; d < e.in[j].n; d++) needed[e.in[j].label[d]] = true;
    ein_view other, res;
    const void *di = staged[i] ? staged[i] : inputs[i]->data;
    view_of_operand(&e, &e.in[i], inputs[i]->dims, di, &other);
    void *owned = NULL;
    st = contract(&x, &cur, &other, needed, &res, &owned);
    if (!st) {
      free(cur_owned);
      cur_owned = owned;
      cur = res;
    }
  }
  if (!st) {
    void *out;
    int64_t numel;
    st = gather(&x, &cur, e.out.n, e.out.label, &out, &numel);
    if (!st) {
      if (x.is_int) {
        store_ints(y, out);
        free(out);
      } else if (x.is_f64) {
        memcpy(y->data, out, (size_t)numel * sizeof(double));
        free(out);
      } else if (y->dtype == MT_DTYPE_FLOAT32) {
        memcpy(y->data, out, (size_t)numel * sizeof(float));
        free(out);
      } else {
        mt_cpu_stage_finish_f32(y, out);
      }
    }
  }
  free(cur_owned);
  for (int i = 0; i < n_in; i++) free(staged[i]);
  return st;
}
