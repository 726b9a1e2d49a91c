/* Broadcast iteration plans for elementwise kernels.
 *
 * A plan maps up to MT_BCAST_MAX_IN input shapes onto a dense row-major output. Dimensions of size
 * 1 in the output are dropped and runs of adjacent dimensions that every input treats alike
 * (all present or all broadcast) are merged, so the common cases collapse to one or two
 * dimensions: same shape -> [n]; scalar -> [n] with stride 0; per-channel bias on NCHW ->
 * [N, C, H*W] with bias strides [0, 1, 0]. The innermost dimension then has element stride 0 or 1
 * for every input, which is what the typed row kernels specialise on. */
#ifndef MT_CPU_ELEMENTWISE_BCAST_H
#define MT_CPU_ELEMENTWISE_BCAST_H

#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

#define MT_BCAST_MAX_IN 3

typedef struct mt_bcast_plan {
  int n_in;
  int rank; /* >= 1 after collapsing */
  int64_t dims[MT_MAX_RANK];
  int64_t strides[MT_BCAST_MAX_IN][MT_MAX_RANK]; /* in elements of each input, 0 = broadcast */
  int64_t numel;
} mt_bcast_plan;

/* Builds the plan for broadcasting ins[0..n_in) to the output shape (out_rank, out_dims). Fails
 * when an input does not broadcast to that shape. */
MT_MUST_USE mt_status *mt_bcast_plan_init(mt_bcast_plan *p, int n_in, const mt_tensor *const *ins,
                                          int out_rank, const int64_t *out_dims);

/* A row kernel: n output elements; in[k] points at input k's first element of the row and
 * in_stride[k] (0 or 1) is its element stride along the row. */
typedef void (*mt_bcast_row_fn)(const void *ctx, const void *const *in, const int64_t *in_stride,
                                void *out, int64_t n);

/* Walks the plan row by row. in_esize/out_esize are element sizes in bytes. */
void mt_bcast_plan_run(const mt_bcast_plan *p, const void *const *in_data, const size_t *in_esize,
                       void *out_data, size_t out_esize, mt_bcast_row_fn fn, const void *ctx);

#endif
