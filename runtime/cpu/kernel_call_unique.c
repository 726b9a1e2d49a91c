/* Kernel call for Unique: the distinct slices of x along an axis (or its distinct elements),
 * with the first-occurrence indices, the inverse map and the counts. The output sizes depend on
 * the data, so the kernel allocates all four outputs (the caller frees them, omitted ones
 * included), like NonZero.
 *
 * Slices compare lexicographically over their elements in row-major order (numpy.unique's order);
 * integers compare as integers, floats as doubles. A stable merge sort keeps equal slices in order
 * of occurrence, so each group's first member is its first occurrence. */
#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/kernel_call.h"

typedef struct unique_view {
  const mt_tensor *x;
  int64_t outer, n, inner; /* x viewed as [outer, n, inner]; slices along n */
  bool integer;
} unique_view;

/* -1, 0, 1: slice a against slice b. */
static int slice_cmp(const unique_view *v, int64_t a, int64_t b) {
  for (int64_t o = 0; o < v->outer; o++)
    for (int64_t i = 0; i < v->inner; i++) {
      int64_t ea = (o * v->n + a) * v->inner + i, eb = (o * v->n + b) * v->inner + i;
      if (v->integer) {
        int64_t p = mt_tensor_get_i64(v->x, ea), q = mt_tensor_get_i64(v->x, eb);
        if (p != q) return p < q ? -1 : 1;
      } else {
        double p = mt_tensor_get_f64(v->x, ea), q = mt_tensor_get_f64(v->x, eb);
        if (p != q) return p < q ? -1 : 1;
      }
    }
  return 0;
}

/* Stable merge sort of idx[0, n) by slice (tmp has room for n). */
static void sort_slices(const unique_view *v, int64_t *idx, int64_t *tmp, int64_t n) {
  if (n < 2) return;
  int64_t h = n / 2;
  sort_slices(v, idx, tmp, h);
  sort_slices(v, idx + h, tmp, n - h);
  int64_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = slice_cmp(v, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
  while (i < h) tmp[k++] = idx[i++];
  while (j < n) tmp[k++] = idx[j++];
  memcpy(idx, tmp, (size_t)n * sizeof *idx);
}

MT_MUST_USE static mt_status *set_i64_output(mt_tensor *t, int64_t n, const int64_t *vals) {
  int64_t *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
  if (!d) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for Unique");
  if (n) memcpy(d, vals, (size_t)n * sizeof *d);
  t->dtype = MT_DTYPE_INT64;
  t->rank = 1;
  t->dims[0] = n;
  t->data = d;
  return NULL;
}

mt_status *mt_cpu_kernel_run_unique(const mt_kernel_call *call, int n_inputs,
                                    const mt_tensor *const *inputs, int n_outputs,
                                    mt_tensor *outputs) {
  if (call->kind != MT_KERNEL_UNIQUE)
    return MT_ERR(INTERNAL, "kernel %s is not unique", mt_kernel_kind_name(call->kind));
  const mt_kc_unique *p = &call->params.unique;
  const mt_tensor *x = inputs[0];
  if (!p->flatten && (p->axis < 0 || p->axis >= x->rank))
    return MT_ERR(INVALID_ARGUMENT, "Unique: axis %d outside the input's rank %d", p->axis,
                  x->rank);
  unique_view v = {.x = x, .outer = 1, .n = mt_tensor_numel(x), .inner = 1};
  v.integer = mt_dtype_is_integer_any(x->dtype) || x->dtype == MT_DTYPE_BOOL;
  if (!p->flatten) {
    v.outer = mt_shape_numel(p->axis, x->dims);
    v.n = x->dims[p->axis];
    v.inner = mt_shape_numel(x->rank - p->axis - 1, x->dims + p->axis + 1);
  }
  size_t nn = (size_t)(v.n > 0 ? v.n : 1);
  int64_t *idx = malloc(nn * sizeof *idx), *tmp = malloc(nn * sizeof *tmp);
  int64_t *group = malloc(nn * sizeof *group), *first = malloc(nn * sizeof *first);
  int64_t *count = calloc(nn, sizeof *count), *order = malloc(nn * sizeof *order);
  int64_t *rank_of = malloc(nn * sizeof *rank_of);
  mt_status *st = NULL;
  if (!idx || !tmp || !group || !first || !count || !order || !rank_of)
    st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory for Unique");
  int64_t k = 0;
  if (!st) {
    for (int64_t j = 0; j < v.n; j++) idx[j] = j;
    sort_slices(&v, idx, tmp, v.n);
    for (int64_t j = 0; j < v.n; j++) {
      if (j == 0 || slice_cmp(&v, idx[j - 1], idx[j]) != 0) first[k++] = idx[j];
      group[idx[j]] = k - 1;
      count[k - 1]++;
    }
    /* output position g shows group order[g]: sorted, or by first occurrence */
    int64_t next = 0;
    for (int64_t g = 0; g < k; g++) rank_of[g] = p->sorted ? g : -1;
    for (int64_t j = 0; !p->sorted && j < v.n; j++)
      if (rank_of[group[j]] < 0) rank_of[group[j]] = next++;
    for (int64_t g = 0; g < k; g++) order[rank_of[g]] = g;
  }
  /* Y: the kept slices, in output order */
  mt_tensor *y = &outputs[0];
  size_t es = mt_dtype_size(x->dtype);
  if (!st) {
    y->dtype = x->dtype;
    y->rank = p->flatten ? 1 : x->rank;
    memcpy(y->dims, x->dims, sizeof y->dims);
    y->dims[p->flatten ? 0 : p->axis] = k;
    size_t bytes = (size_t)(v.outer * k * v.inner) * es;
    y->data = malloc(bytes ? bytes : 1);
    if (!y->data) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory for Unique");
  }
  for (int64_t o = 0; !st && o < v.outer; o++)
    for (int64_t g = 0; g < k; g++)
      memcpy((char *)y->data + (size_t)((o * k + g) * v.inner) * es,
             (const char *)x->data + (size_t)((o * v.n + first[order[g]]) * v.inner) * es,
             (size_t)v.inner * es);
  if (!st && n_outputs > 1) {
    for (int64_t g = 0; g < k; g++) tmp[g] = first[order[g]];
    st = set_i64_output(&outputs[1], k, tmp);
  }
  if (!st && n_outputs > 2) {
    for (int64_t j = 0; j < v.n; j++) tmp[j] = rank_of[group[j]];
    st = set_i64_output(&outputs[2], v.n, tmp);
  }
  if (!st && n_outputs > 3) {
    for (int64_t g = 0; g < k; g++) tmp[g] = count[order[g]];
    st = set_i64_output(&outputs[3], k, tmp);
  }
  if (st)
    for (int i = 0; i < n_outputs; i++) {
      free(outputs[i].data);
      outputs[i].data = NULL;
    }
  free(idx);
  free(tmp);
  free(group);
  free(first);
  free(count);
  free(order);
  free(rank_of);
  (void)n_inputs;
  return st;
}
