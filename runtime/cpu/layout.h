/* Data-movement kernels: transpose, slice, expand, tile, pad, gather, concat, depth/space moves.
 *
 * Every kernel moves whole elements of `esize` bytes between densely packed row-major buffers and
 * never looks at their values (except NonZero), so one kernel serves every dtype. Callers pass
 * shapes they have already validated (non-negative dims, products that fit); kernels still check
 * index values they read from data (Gather indices) and return a status for bad ones. */
#ifndef MT_CPU_LAYOUT_H
#define MT_CPU_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

typedef enum mt_pad_mode {
  MT_PAD_CONSTANT = 0,
  MT_PAD_REFLECT, /* mirror without repeating the edge, periodically for pads past the edge */
  MT_PAD_EDGE,    /* repeat the edge element */
  MT_PAD_WRAP,    /* periodic continuation */
} mt_pad_mode;

/* dst[o] = src[o permuted]: out dim i is in dim perm[i]. */
MT_MUST_USE mt_status *mt_layout_transpose(void *dst, const void *src, size_t esize, int rank,
                                           const int64_t *in_dims, const int *perm);

/* dst has out_dims; along dim i it reads src index starts[i] + o * steps[i] (steps may be
 * negative). The caller guarantees every index read is inside in_dims. */
MT_MUST_USE mt_status *mt_layout_slice(void *dst, const void *src, size_t esize, int rank,
                                       const int64_t *in_dims, const int64_t *starts,
                                       const int64_t *steps, const int64_t *out_dims);

/* Numpy broadcast of src (in_rank, in_dims right-aligned) to out_dims. */
MT_MUST_USE mt_status *mt_layout_expand(void *dst, const void *src, size_t esize, int in_rank,
                                        const int64_t *in_dims, int out_rank,
                                        const int64_t *out_dims);

/* dst dim i = in_dims[i] * repeats[i]. */
MT_MUST_USE mt_status *mt_layout_tile(void *dst, const void *src, size_t esize, int rank,
                                      const int64_t *in_dims, const int64_t *repeats);

/* pads: rank begin values then rank end values; negative values crop (cropping applies first,
 * the other modes then read from the cropped tensor). fill is one element (constant mode). */
MT_MUST_USE mt_status *mt_layout_pad(void *dst, const void *src, size_t esize, int rank,
                                     const int64_t *in_dims, const int64_t *pads, mt_pad_mode mode,
                                     const void *fill);

/* NCHW DepthToSpace (crd selects the CRD ordering, otherwise DCR) and SpaceToDepth. */
MT_MUST_USE mt_status *mt_layout_depth_to_space(void *dst, const void *src, size_t esize,
                                                const int64_t *in_dims, int64_t block, bool crd);
MT_MUST_USE mt_status *mt_layout_space_to_depth(void *dst, const void *src, size_t esize,
                                                const int64_t *in_dims, int64_t block, bool crd);

/* Concatenates n sources viewed as [outer, axis_dims[k], inner] along the middle dim. */
void mt_layout_concat(void *dst, int n, const void *const *srcs, const int64_t *axis_dims,
                      int64_t outer, int64_t inner, size_t esize);

/* Gather along the middle dim of src viewed as [outer, axis_dim, inner]: dst is
 * [outer, n_indices, inner]. indices are int64 when indices_i64, else int32; negative ones count
 * from the end; out-of-range ones are an error. */
MT_MUST_USE mt_status *mt_layout_gather(void *dst, const void *src, size_t esize, int64_t outer,
                                        int64_t axis_dim, int64_t inner, const void *indices,
                                        bool indices_i64, int64_t n_indices);

/* GatherElements: dst and indices have idx_dims; dst[p] = src[p with p[axis] = indices[p]].
 * idx_dims[i] <= in_dims[i] for i != axis is the caller's check. */
MT_MUST_USE mt_status *mt_layout_gather_elements(void *dst, const void *src, size_t esize, int rank,
                                                 const int64_t *in_dims, int axis,
                                                 const void *indices, bool indices_i64,
                                                 const int64_t *idx_dims);

/* NonZero: counts the elements of src (dtype) that are not zero (-0.0 counts as zero, NaN not). */
int64_t mt_layout_count_nonzero(const void *src, mt_dtype dtype, int64_t numel);
/* Writes the coordinates of nonzero elements as int64 [max(rank,1), nnz], row per dim (a scalar
 * has one coordinate, 0). */
void mt_layout_nonzero(int64_t *dst, const void *src, mt_dtype dtype, int rank, const int64_t *dims,
                       int64_t nnz);

#endif
