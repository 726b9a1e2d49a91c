/* Small helpers shared by op implementations: output shapes, broadcasting, axes, int lists. */
#include <stdio.h>

#include "ir/op.h"

void mt_op_set_output(mt_op_ctx *c, int i, mt_dtype dtype, int rank, const int64_t *dims) {
  if (i >= c->n_outputs) return;
  mt_tensor *o = &c->outputs[i];
  o->dtype = dtype;
  o->rank = rank;
  for (int d = 0; d < rank; d++) o->dims[d] = dims[d];
}

void mt_op_same_as_input(mt_op_ctx *c, int i, int j) {
  const mt_tensor *in = mt_op_input(c, j);
  if (in) mt_op_set_output(c, i, in->dtype, in->rank, in->dims);
}

mt_status *mt_broadcast_shapes(int ra, const int64_t *a, int rb, const int64_t *b, int *out_rank,
                               int64_t *out_dims) {
  int r = ra > rb ? ra : rb;
  for (int i = 0; i < r; i++) {
    int64_t da = i < r - ra ? 1 : a[i - (r - ra)];
    int64_t db = i < r - rb ? 1 : b[i - (r - rb)];
    if (da == db || db == 1) {
      out_dims[i] = da;
    } else if (da == 1) {
      out_dims[i] = db;
    } else if (da < 0 || db < 0) {
      out_dims[i] = da < 0 ? db : da; /* unknown vs n > 1: must be n */
    } else {
      return MT_ERR(INVALID_ARGUMENT, "shapes cannot be broadcast: dim %d is %lld vs %lld", i,
                    (long long)da, (long long)db);
    }
  }
  *out_rank = r;
  return NULL;
}

mt_status *mt_normalize_axis(int64_t axis, int rank, int *out_axis) {
  if (axis < -rank || axis >= rank || (rank == 0 && axis != 0))
    return MT_ERR(INVALID_ARGUMENT, "axis %lld out of range for rank %d", (long long)axis, rank);
  *out_axis = (int)(axis < 0 ? axis + rank : axis);
  return NULL;
}

mt_status *mt_read_int_list(const mt_tensor *t, int64_t *out, int max, int *out_count) {
  if (!t || !t->data) return MT_ERR(INVALID_ARGUMENT, "integer list input has no known value");
  if (t->rank > 1) return MT_ERR(INVALID_ARGUMENT, "expected a 1-D list, got rank %d", t->rank);
  if (!mt_dtype_is_integer(t->dtype))
    return MT_ERR(INVALID_ARGUMENT, "expected an integer list, got %s", mt_dtype_name(t->dtype));
  int64_t n = mt_tensor_numel(t);
  if (n > max) return MT_ERR(OUT_OF_RANGE, "list of %lld elements exceeds %d", (long long)n, max);
  for (int64_t i = 0; i < n; i++) out[i] = mt_tensor_get_i64(t, i);
  *out_count = (int)n;
  return NULL;
}
