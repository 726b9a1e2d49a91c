/* Broadcast iteration plans: shape collapsing and the row walker behind every elementwise op. */
#include "runtime/cpu/elementwise_bcast.h"

mt_status *mt_bcast_plan_init(mt_bcast_plan *p, int n_in, const mt_tensor *const *ins, int out_rank,
                              const int64_t *out_dims) {
  if (n_in < 1 || n_in > MT_BCAST_MAX_IN)
    return MT_ERR(INTERNAL, "broadcast plan with %d inputs", n_in);
  if (out_rank < 0 || out_rank > MT_MAX_RANK)
    return MT_ERR(OUT_OF_RANGE, "broadcast output rank %d", out_rank);
  p->n_in = n_in;
  /* Full-rank strides of every input in its own dense layout, 0 where it is broadcast. */
  int64_t full[MT_BCAST_MAX_IN][MT_MAX_RANK];
  for (int k = 0; k < n_in; k++) {
    const mt_tensor *t = ins[k];
    if (t->rank > out_rank)
      return MT_ERR(INVALID_ARGUMENT, "input %d of rank %d does not broadcast to rank %d", k,
                    t->rank, out_rank);
    int lead = out_rank - t->rank;
    int64_t stride = 1;
    for (int d = out_rank - 1; d >= 0; d--) {
      int64_t in_dim = d < lead ? 1 : t->dims[d - lead];
      if (in_dim == out_dims[d]) {
        full[k][d] = in_dim == 1 ? 0 : stride;
      } else if (in_dim == 1) {
        full[k][d] = 0;
      } else {
        return MT_ERR(INVALID_ARGUMENT, "input %d: dim %d of size %lld does not broadcast to %lld",
                      k, d - lead, (long long)in_dim, (long long)out_dims[d]);
      }
      stride *= in_dim;
    }
  }
  /* Drop size-1 output dims and merge neighbours that are laid out alike in every input. */
  int r = 0;
  p->numel = 1;
  for (int d = 0; d < out_rank; d++) {
    p->numel *= out_dims[d];
    if (out_dims[d] == 1) continue;
    bool merge = r > 0;
    for (int k = 0; k < n_in && merge; k++)
      merge = p->strides[k][r - 1] == full[k][d] * out_dims[d];
    if (merge) {
      p->dims[r - 1] *= out_dims[d];
      for (int k = 0; k < n_in; k++) p->strides[k][r - 1] = full[k][d];
    } else {
      p->dims[r] = out_dims[d];
      for (int k = 0; k < n_in; k++) p->strides[k][r] = full[k][d];
      r++;
    }
  }
  if (r == 0) { /* a single element */
    p->dims[0] = 1;
    for (int k = 0; k < n_in; k++) p->strides[k][0] = 0;
    r = 1;
  }
  p->rank = r;
  return NULL;
}

void mt_bcast_plan_run(const mt_bcast_plan *p, const void *const *in_data, const size_t *in_esize,
                       void *out_data, size_t out_esize, mt_bcast_row_fn fn, const void *ctx) {
  if (p->numel == 0) return;
  const int rank = p->rank, n_in = p->n_in;
  const int64_t inner = p->dims[rank - 1];
  const int64_t outer = p->numel / inner;
  int64_t inner_stride[MT_BCAST_MAX_IN];
  int64_t off[MT_BCAST_MAX_IN] = {0};
  int64_t idx[MT_MAX_RANK] = {0};
  const void *ptr[MT_BCAST_MAX_IN];
  for (int k = 0; k < n_in; k++) inner_stride[k] = p->strides[k][rank - 1];
  char *out = out_data;
  for (int64_t row = 0; row < outer; row++) {
    for (int k = 0; k < n_in; k++) ptr[k] = (const char *)in_data[k] + (size_t)off[k] * in_esize[k];
    fn(ctx, ptr, inner_stride, out + (size_t)row * (size_t)inner * out_esize, inner);
    /* Advance the outer index like an odometer, keeping each input's offset in step. */
    for (int d = rank - 2; d >= 0; d--) {
      idx[d]++;
      for (int k = 0; k < n_in; k++) off[k] += p->strides[k][d];
      if (idx[d] < p->dims[d]) break;
      for (int k = 0; k < n_in; k++) off[k] -= p->strides[k][d] * p->dims[d];
      idx[d] = 0;
    }
  }
}
