/* Resize / Upsample CPU kernel (see resize.h).
 *
 * For every output position along a resized axis we compute the source coordinate x, then the
 * taps: the input indices and weights that produce it. Tap placement follows the ONNX definition:
 * the base pixel is the one left of x (x itself counts as "right" when x is an integer, so the
 * fractional ratio lies in (0, 1]), taps outside the input repeat the edge pixel, and antialiased
 * filters stretch by 1/scale and are normalised to sum to one. */
#include "runtime/cpu/resize.h"

#include <math.h>
#include <stdlib.h>

/* ---- coordinates --------------------------------------------------------------------------- */

/* Source coordinate of output position y along one axis; *extrap is set when tf_crop_and_resize
 * samples outside the input. */
static double source_coord(const mt_resize_params *p, int axis, int64_t y, bool *extrap) {
  double in = (double)p->in_dims[axis];
  double scale = p->scales[axis];
  double out_w = scale * in; /* the unfloored output length, as the ONNX definition uses */
  double yy = (double)y;
  double x;
  *extrap = false;
  switch (p->coord) {
  case MT_RESIZE_ALIGN_CORNERS: x = out_w == 1 ? 0.0 : yy * (in - 1) / (out_w - 1); break;
  case MT_RESIZE_ASYMMETRIC: x = yy / scale; break;
  case MT_RESIZE_TF_HALF_PIXEL_FOR_NN: x = (yy + 0.5) / scale; break;
  case MT_RESIZE_TF_CROP_AND_RESIZE: {
    /* The ONNX definition evaluates the roi terms in the roi's float32 precision; doing the
     * same keeps nearest-pixel choices at exact .5 boundaries identical to it. */
    float s = (float)p->roi[axis], e = (float)p->roi[p->rank + axis];
    float span = e - s;
    float in_m1 = (float)(p->in_dims[axis] - 1);
    x = out_w == 1 ? (double)(span * in_m1 / 2.0f) : yy * (double)span * (in - 1) / (out_w - 1);
    x += (double)(s * in_m1);
    *extrap = x < 0 || x > in - 1;
    break;
  }
  case MT_RESIZE_PYTORCH_HALF_PIXEL: x = out_w == 1 ? -0.5 : (yy + 0.5) / scale - 0.5; break;
  case MT_RESIZE_HALF_PIXEL_SYMMETRIC: {
    double adjustment = (double)p->out_dims[axis] / out_w;
    double offset = in / 2 * (1 - adjustment);
    x = offset + (yy + 0.5) / scale - 0.5;
    break;
  }
  case MT_RESIZE_HALF_PIXEL:
  default: x = (yy + 0.5) / scale - 0.5; break;
  }
  return x;
}

static int64_t clamp_index(int64_t i, int64_t n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

/* Keeps huge or non-finite coordinates away from the integer conversions; anything beyond the
 * input by more than a few pixels lands on the edge pixel either way. */
static double tame(double x, int64_t in, int64_t margin) {
  if (x != x) return 0;
  if (x < (double)-margin) return (double)-margin;
  if (x > (double)(in + margin)) return (double)(in + margin);
  return x;
}

static int64_t nearest_index(const mt_resize_params *p, int axis, double x) {
  int64_t in = p->in_dims[axis];
  x = tame(x, in, 4);
  double f = floor(x);
  int64_t i;
  if (p->nearest == MT_RESIZE_SIMPLE) {
    i = p->scales[axis] < 1 ? (int64_t)ceil(x) : (int64_t)f;
  } else if (x == f) {
    i = (int64_t)f;
  } else {
    double r = x - f;
    bool up;
    switch (p->nearest) {
    case MT_RESIZE_ROUND_PREFER_CEIL: up = r >= 0.5; break;
    case MT_RESIZE_FLOOR: up = false; break;
    case MT_RESIZE_CEIL: up = true; break;
    case MT_RESIZE_ROUND_PREFER_FLOOR:
    default: up = r > 0.5; break;
    }
    i = (int64_t)f + (up ? 1 : 0);
  }
  return clamp_index(i, in);
}

/* ---- taps for linear / cubic --------------------------------------------------------------- */

typedef mt_resize_taps axis_taps;

static double cubic_kernel(double a, double t) {
  t = fabs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

void mt_cpu_resize_taps_free(mt_resize_taps *t) {
  free(t->idx);
  free(t->w);
  free(t->extrap);
}

bool mt_cpu_resize_taps_build(const mt_resize_params *p, int axis, mt_resize_taps *t) {
  int64_t in = p->in_dims[axis], out = p->out_dims[axis];
  double scale = p->scales[axis];
  double radius = p->mode == MT_RESIZE_CUBIC ? 2 : 1;
  /* Antialiasing stretches the filter by 1/scale when downscaling. */
  double s = p->antialias && scale < 1 ? scale : 1;
  double startf = floor(-radius / s) + 1;
  if (startf < -(1 << 20)) startf = -(1 << 20); /* absurd scales: cap the footprint */
  int start = (int)startf;
  int n = 2 - 2 * start;
  t->n = n;
  size_t cnt = (size_t)(out > 0 ? out : 1) * (size_t)n;
  t->idx = malloc(cnt * sizeof *t->idx);
  t->w = malloc(cnt * sizeof *t->w);
  t->extrap = malloc((size_t)(out > 0 ? out : 1) * sizeof *t->extrap);
  if (!t->idx || !t->w || !t->extrap) {
    mt_cpu_resize_taps_free(t);
    return false;
  }
  double a = p->cubic_a;
  for (int64_t y = 0; y < out; y++) {
    bool ex;
    double x = tame(source_coord(p, axis, y, &ex), in, n + 2);
    t->extrap[y] = ex;
    double f = floor(x);
    int64_t base = (int64_t)f;
    double r = x - f;
    if (r == 0) { /* prefer the pixel on the left: ratio in (0, 1] */
      base -= 1;
      r = 1;
    }
    int64_t *ti = t->idx + (size_t)y * (size_t)n;
    double *tw = t->w + (size_t)y * (size_t)n;
    if (!p->antialias && p->mode == MT_RESIZE_LINEAR) {
      tw[0] = 1 - r;
      tw[1] = r;
    } else if (!p->antialias) {
      tw[0] = ((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a;
      tw[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
      tw[2] = ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1;
      tw[3] = ((a * (2 - r) - 5 * a) * (2 - r) + 8 * a) * (2 - r) - 4 * a;
    } else {
      double sum = 0;
      for (int j = 0; j < n; j++) {
        double arg = s * ((double)(start + j) - r);
        double w = p->mode == MT_RESIZE_LINEAR ? 1 - fabs(arg) : cubic_kernel(a, arg);
        if (p->mode == MT_RESIZE_LINEAR) w = w < 0 ? 0 : w > 1 ? 1 : w;
        tw[j] = w;
        sum += w;
      }
      for (int j = 0; j < n; j++) tw[j] /= sum;
    }
    for (int j = 0; j < n; j++) ti[j] = base + start + j;
    if (p->exclude_outside) {
      double sum = 0;
      for (int j = 0; j < n; j++) {
        if (ti[j] < 0 || ti[j] >= in) tw[j] = 0;
        sum += tw[j];
      }
      if (sum != 0)
        for (int j = 0; j < n; j++) tw[j] /= sum;
    }
    for (int j = 0; j < n; j++) ti[j] = clamp_index(ti[j], in);
  }
  return true;
}

/* ---- element conversion -------------------------------------------------------------------- */

static double load_elem(mt_dtype dt, const void *x, int64_t i) {
  switch (dt) {
  case MT_DTYPE_FLOAT32: return ((const float *)x)[i];
  case MT_DTYPE_FLOAT16:
  case MT_DTYPE_BFLOAT16: return mt_f16like_to_float(dt, ((const uint16_t *)x)[i]);
  case MT_DTYPE_INT64: return (double)((const int64_t *)x)[i];
  case MT_DTYPE_INT32: return ((const int32_t *)x)[i];
  case MT_DTYPE_INT8: return ((const int8_t *)x)[i];
  case MT_DTYPE_UINT8:
  case MT_DTYPE_BOOL: return ((const uint8_t *)x)[i];
  default: return 0;
  }
}

static double sat(double v, double lo, double hi) {
  if (v != v) return 0;
  v = nearbyint(v); /* round half to even under the default rounding mode */
  return v < lo ? lo : v > hi ? hi : v;
}

static void store_elem(mt_dtype dt, void *y, int64_t i, double v) {
  switch (dt) {
  case MT_DTYPE_FLOAT32: ((float *)y)[i] = (float)v; break;
  case MT_DTYPE_FLOAT16:
  case MT_DTYPE_BFLOAT16: ((uint16_t *)y)[i] = mt_float_to_f16like(dt, (float)v); break;
  case MT_DTYPE_INT64: {
    double r = sat(v, -9223372036854775808.0, 9223372036854774784.0);
    ((int64_t *)y)[i] = (int64_t)r;
    break;
  }
  case MT_DTYPE_INT32: ((int32_t *)y)[i] = (int32_t)sat(v, INT32_MIN, INT32_MAX); break;
  case MT_DTYPE_INT8: ((int8_t *)y)[i] = (int8_t)sat(v, INT8_MIN, INT8_MAX); break;
  case MT_DTYPE_UINT8: ((uint8_t *)y)[i] = (uint8_t)sat(v, 0, UINT8_MAX); break;
  case MT_DTYPE_BOOL: ((uint8_t *)y)[i] = (uint8_t)sat(v, 0, 1); break;
  default: break;
  }
}

/* ---- drivers ------------------------------------------------------------------------------- */

/* True when resizing this axis changes nothing (the ONNX definition skips such axes too). */
bool mt_cpu_resize_axis_is_identity(const mt_resize_params *p, int axis) {
  if (p->in_dims[axis] != p->out_dims[axis]) return false;
  if (fabs(p->scales[axis] - 1.0) > 1e-9 * fmax(1.0, fabs(p->scales[axis]))) return false;
  if (p->coord == MT_RESIZE_TF_CROP_AND_RESIZE)
    return fabs(p->roi[axis]) <= 1e-9 && fabs(p->roi[p->rank + axis] - 1.0) <= 1e-9;
  return true;
}

int64_t mt_cpu_resize_nearest_source(const mt_resize_params *p, int axis, int64_t o) {
  if (!mt_cpu_resize_axis_is_identity(p, axis)) {
    bool resized = false;
    for (int i = 0; i < p->n_axes; i++) resized |= p->axes[i] == axis;
    if (resized) {
      bool ex;
      double xc = source_coord(p, axis, o, &ex);
      return ex ? -1 : nearest_index(p, axis, xc);
    }
  }
  return o;
}

static bool resize_nearest(const mt_resize_params *p, mt_dtype dt, const void *x, void *y) {
  int r = p->rank;
  int64_t *maps[MT_MAX_RANK] = {0};
  bool ok = true;
  bool resized[MT_MAX_RANK] = {0};
  for (int i = 0; i < p->n_axes; i++)
    resized[p->axes[i]] = !mt_cpu_resize_axis_is_identity(p, p->axes[i]);
  for (int d = 0; d < r && ok; d++) {
    int64_t out = p->out_dims[d];
    maps[d] = malloc((size_t)(out > 0 ? out : 1) * sizeof(int64_t));
    if (!maps[d]) {
      ok = false;
      break;
    }
    for (int64_t o = 0; o < out; o++) {
      if (!resized[d]) {
        maps[d][o] = o;
        continue;
      }
      bool ex;
      double xc = source_coord(p, d, o, &ex);
      maps[d][o] = ex ? -1 : nearest_index(p, d, xc);
    }
  }
  if (ok) {
    int64_t in_strides[MT_MAX_RANK];
    int64_t st = 1;
    for (int d = r - 1; d >= 0; d--) {
      in_strides[d] = st;
      st *= p->in_dims[d];
    }
    int64_t total = mt_shape_numel(r, p->out_dims);
    size_t esz = mt_dtype_size(dt);
    int64_t idx[MT_MAX_RANK] = {0};
    for (int64_t o = 0; o < total; o++) {
      int64_t off = 0;
      bool ex = false;
      for (int d = 0; d < r; d++) {
        int64_t m = maps[d][idx[d]];
        if (m < 0) ex = true;
        off += m * in_strides[d];
      }
      if (ex)
        store_elem(dt, y, o, p->extrapolation_value);
      else
        memcpy((char *)y + (size_t)o * esz, (const char *)x + (size_t)off * esz, esz);
      for (int d = r - 1; d >= 0 && ++idx[d] == p->out_dims[d]; d--) idx[d] = 0;
    }
  }
  for (int d = 0; d < r; d++) free(maps[d]);
  return ok;
}

/* One separable pass: src [outer, in, inner] -> dst [outer, out, inner]. */
static void apply_axis(const axis_taps *t, double extrap_value, const double *src, double *dst,
                       int64_t outer, int64_t in, int64_t out, int64_t inner) {
  for (int64_t o = 0; o < outer; o++) {
    const double *s = src + o * in * inner;
    for (int64_t yy = 0; yy < out; yy++) {
      double *d = dst + (o * out + yy) * inner;
      if (t->extrap[yy]) {
        for (int64_t k = 0; k < inner; k++) d[k] = extrap_value;
        continue;
      }
      for (int64_t k = 0; k < inner; k++) d[k] = 0;
      const int64_t *ti = t->idx + (size_t)yy * (size_t)t->n;
      const double *tw = t->w + (size_t)yy * (size_t)t->n;
      for (int j = 0; j < t->n; j++) {
        const double *row = s + ti[j] * inner;
        double w = tw[j];
        for (int64_t k = 0; k < inner; k++) d[k] += w * row[k];
      }
    }
  }
}

static bool resize_filtered(const mt_resize_params *p, mt_dtype dt, const void *x, void *y) {
  int r = p->rank;
  int64_t dims[MT_MAX_RANK];
  for (int d = 0; d < r; d++) dims[d] = p->in_dims[d];
  int64_t n_in = mt_shape_numel(r, dims);
  double *cur = malloc((size_t)(n_in > 0 ? n_in : 1) * sizeof(double));
  if (!cur) return false;
  for (int64_t i = 0; i < n_in; i++) cur[i] = load_elem(dt, x, i);
  for (int i = 0; i < p->n_axes; i++) {
    int a = p->axes[i];
    if (mt_cpu_resize_axis_is_identity(p, a)) continue;
    axis_taps t = {0};
    if (p->out_dims[a] > 0 && p->in_dims[a] > 0 && !mt_cpu_resize_taps_build(p, a, &t)) {
      free(cur);
      return false;
    }
    int64_t outer = mt_shape_numel(a, dims);
    int64_t inner = mt_shape_numel(r - a - 1, dims + a + 1);
    int64_t n_next = outer * p->out_dims[a] * inner;
    double *next = malloc((size_t)(n_next > 0 ? n_next : 1) * sizeof(double));
    if (!next) {
      mt_cpu_resize_taps_free(&t);
      free(cur);
      return false;
    }
    if (n_next > 0)
      apply_axis(&t, p->extrapolation_value, cur, next, outer, dims[a], p->out_dims[a], inner);
    mt_cpu_resize_taps_free(&t);
    free(cur);
    cur = next;
    dims[a] = p->out_dims[a];
  }
  int64_t n_out = mt_shape_numel(r, p->out_dims);
  for (int64_t i = 0; i < n_out; i++) store_elem(dt, y, i, cur[i]);
  free(cur);
  return true;
}

bool mt_cpu_resize(const mt_resize_params *p, mt_dtype dt, const void *x, void *y) {
  if (mt_shape_numel(p->rank, p->out_dims) == 0) return true;
  if (p->mode == MT_RESIZE_NEAREST) return resize_nearest(p, dt, x, y);
  return resize_filtered(p, dt, x, y);
}
