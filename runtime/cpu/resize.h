/* Resize / Upsample CPU kernel: nearest, (multi)linear and cubic interpolation over N-d tensors.
 *
 * Interpolation is separable: each resized axis is processed in turn (in the order given), so
 * N-d linear is linear along every axis and N-d cubic is cubic along every axis. Linear and cubic
 * compute in double and round once into the element type (integers round half to even and
 * saturate); nearest copies element bytes. Coordinates follow the ONNX Resize definition. */
#ifndef MT_CPU_RESIZE_H
#define MT_CPU_RESIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/cpu/tensor.h"

typedef enum mt_resize_mode {
  MT_RESIZE_NEAREST,
  MT_RESIZE_LINEAR,
  MT_RESIZE_CUBIC,
} mt_resize_mode;

typedef enum mt_resize_coord {
  MT_RESIZE_HALF_PIXEL,
  MT_RESIZE_HALF_PIXEL_SYMMETRIC,
  MT_RESIZE_PYTORCH_HALF_PIXEL,
  MT_RESIZE_ALIGN_CORNERS,
  MT_RESIZE_ASYMMETRIC,
  MT_RESIZE_TF_HALF_PIXEL_FOR_NN,
  MT_RESIZE_TF_CROP_AND_RESIZE,
} mt_resize_coord;

typedef enum mt_resize_nearest {
  MT_RESIZE_ROUND_PREFER_FLOOR,
  MT_RESIZE_ROUND_PREFER_CEIL,
  MT_RESIZE_FLOOR,
  MT_RESIZE_CEIL,
  /* Resize-10 / Upsample: floor when upscaling, ceil when downscaling. */
  MT_RESIZE_SIMPLE,
} mt_resize_nearest;

typedef struct mt_resize_params {
  mt_resize_mode mode;
  mt_resize_coord coord;
  mt_resize_nearest nearest;
  double cubic_a;             /* -0.75 by default */
  bool exclude_outside;       /* drop (and renormalise) taps outside the input */
  bool antialias;             /* widen linear/cubic filters by 1/scale when downscaling */
  double extrapolation_value; /* tf_crop_and_resize samples outside the input */
  int rank;
  int64_t in_dims[MT_MAX_RANK];
  int64_t out_dims[MT_MAX_RANK];
  double scales[MT_MAX_RANK];  /* per axis; output = scale * input before flooring */
  double roi[2 * MT_MAX_RANK]; /* starts then ends, normalised; used by tf_crop_and_resize */
  int n_axes;                  /* axes to resize, in processing order */
  int axes[MT_MAX_RANK];
} mt_resize_params;

/* The pieces of the reference kernel the CUDA generator turns into tables, so a generated kernel
 * picks exactly the pixels and weights this file does. */

/* True when resizing this axis changes nothing (it is skipped, as the ONNX definition does). */
bool mt_cpu_resize_axis_is_identity(const mt_resize_params *p, int axis);
/* Nearest mode: the input index output index o reads along axis (o itself when the axis is not
 * resized), or -1 where tf_crop_and_resize extrapolates. */
int64_t mt_cpu_resize_nearest_source(const mt_resize_params *p, int axis, int64_t o);

/* Linear/cubic: per output position along one axis, n taps (clamped input indices and weights)
 * and whether the position extrapolates. */
typedef struct mt_resize_taps {
  int n;        /* taps per output position */
  int64_t *idx; /* [out][n], clamped into the input */
  double *w;    /* [out][n] */
  bool *extrap; /* [out] */
} mt_resize_taps;
/* Fills t for axis (freed with mt_cpu_resize_taps_free); false when out of memory. */
bool mt_cpu_resize_taps_build(const mt_resize_params *p, int axis, mt_resize_taps *t);
void mt_cpu_resize_taps_free(mt_resize_taps *t);

/* Resizes x (p->in_dims) into y (p->out_dims). Axes not listed in p->axes must keep their size.
 * Returns false when scratch memory is exhausted. */
bool mt_cpu_resize(const mt_resize_params *p, mt_dtype dt, const void *x, void *y);

#endif
