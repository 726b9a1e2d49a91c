/* Kernel calls for detection and vision ops: NonMaxSuppression, RoiAlign, GridSample, MaxUnpool,
 * AffineGrid, Col2Im and Det, and the CumProd scan (CumSum's sibling, kept out of reduce.c's CumSum, which serves
 * the reduction generators).
 *
 * Each output element is computed on its own, in double, in the order the CUDA generators
 * (codegen/cuda_vision.c) repeat per thread, so the two agree to rounding. NonMaxSuppression's
 * output size depends on the scores, so its kernel allocates the output (like NonZero); the
 * greedy selection and its tie order (higher score first, then the lower box index) follow the
 * ONNX reference implementation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/kernel_call.h"

/* ---------------------------------------------------------------- NonMaxSuppression */

typedef struct nms_box {
  float score;
  int64_t index;
} nms_box;

/* Higher score first; equal scores by lower box index (the reference's order). */
static int nms_order(const void *pa, const void *pb) {
  const nms_box *a = pa, *b = pb;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

/* The box's extent as [lo, hi] along y (axis 0) and x (axis 1), in float as the reference. */
static void nms_extent(const float *b, bool center, float *y0, float *y1, float *x0, float *x1) {
  if (center) {
    *x0 = b[0] - b[2] / 2;
    *x1 = b[0] + b[2] / 2;
    *y0 = b[1] - b[3] / 2;
    *y1 = b[1] + b[3] / 2;
    return;
  }
  *y0 = fminf(b[0], b[2]);
  *y1 = fmaxf(b[0], b[2]);
  *x0 = fminf(b[1], b[3]);
  *x1 = fmaxf(b[1], b[3]);
}

/* True when box a suppresses box b: their IoU exceeds the threshold. */
static bool nms_suppresses(const float *a, const float *b, bool center, float iou) {
  float ay0, ay1, ax0, ax1, by0, by1, bx0, bx1;
  nms_extent(a, center, &ay0, &ay1, &ax0, &ax1);
  nms_extent(b, center, &by0, &by1, &bx0, &bx1);
  float ix0 = fmaxf(ax0, bx0), ix1 = fminf(ax1, bx1);
  if (ix1 <= ix0) return false;
  float iy0 = fmaxf(ay0, by0), iy1 = fminf(ay1, by1);
  if (iy1 <= iy0) return false;
  float inter = (ix1 - ix0) * (iy1 - iy0);
  if (inter <= 0) return false;
  float area_a = (ax1 - ax0) * (ay1 - ay0), area_b = (bx1 - bx0) * (by1 - by0);
  float uni = area_a + area_b - inter;
  if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > iou;
}

/* An optional scalar input: absent or empty gives *present false. */
static double scalar_input(const mt_tensor *t, bool *present) {
  *present = t && t->data && mt_tensor_numel(t) > 0;
  return *present ? mt_tensor_get_f64(t, 0) : 0;
}

MT_MUST_USE static mt_status *run_nms(const mt_kc_nms *p, int n_inputs,
                                      const mt_tensor *const *inputs, mt_tensor *y) {
  const mt_tensor *boxes = inputs[0], *scores = n_inputs > 1 ? inputs[1] : NULL;
  if (!scores || boxes->dtype != MT_DTYPE_FLOAT32 || scores->dtype != MT_DTYPE_FLOAT32 ||
      boxes->rank != 3 || scores->rank != 3 || boxes->dims[2] != 4 ||
      scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
    return MT_ERR(INVALID_ARGUMENT,
                  "NonMaxSuppression takes float32 boxes [B, N, 4] and scores [B, C, N]");
  bool has_max, has_iou, has_score;
  double max_out = scalar_input(n_inputs > 2 ? inputs[2] : NULL, &has_max);
  float iou = (float)scalar_input(n_inputs > 3 ? inputs[3] : NULL, &has_iou);
  float thr = (float)scalar_input(n_inputs > 4 ? inputs[4] : NULL, &has_score);
  int64_t nb = boxes->dims[0], nbox = boxes->dims[1], nc = scores->dims[1];
  int64_t keep = has_max && max_out > 0 ? (max_out < (double)nbox ? (int64_t)max_out : nbox) : 0;
  /* at most `keep` per (batch, class): the bound the plan's upper-bound size uses too */
  int64_t cap = nb * nc * keep;
  int64_t *rows = malloc((size_t)(cap > 0 ? cap : 1) * 3 * sizeof *rows);
  nms_box *cand = malloc((size_t)(nbox > 0 ? nbox : 1) * sizeof *cand);
  int64_t *picked = malloc((size_t)(keep > 0 ? keep : 1) * sizeof *picked);
  if (!rows || !cand || !picked) {
    free(rows);
    free(cand);
    free(picked);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for NonMaxSuppression");
  }
  const float *bx = boxes->data, *sc = scores->data;
  int64_t count = 0;
  for (int64_t b = 0; b < nb && keep > 0; b++)
    for (int64_t c = 0; c < nc; c++) {
      const float *s = sc + (b * nc + c) * nbox;
      int64_t n = 0;
      for (int64_t i = 0; i < nbox; i++)
        if (!has_score || s[i] > thr) cand[n++] = (nms_box){s[i], i};
      qsort(cand, (size_t)n, sizeof *cand, nms_order);
      int64_t k = 0;
      for (int64_t i = 0; i < n && k < keep; i++) {
        const float *box = bx + (b * nbox + cand[i].index) * 4;
        bool ok = true;
        for (int64_t j = 0; j < k && ok; j++)
          ok = !nms_suppresses(box, bx + (b * nbox + picked[j]) * 4, p->center_point_box, iou);
        if (!ok) continue;
        picked[k++] = cand[i].index;
        rows[count * 3] = b;
        rows[count * 3 + 1] = c;
        rows[count * 3 + 2] = cand[i].index;
        count++;
      }
    }
  free(cand);
  free(picked);
  y->dtype = MT_DTYPE_INT64;
  y->rank = 2;
  y->dims[0] = count;
  y->dims[1] = 3;
  y->data = rows;
  return NULL;
}

/* ---------------------------------------------------------------- RoiAlign */

/* One output element (roi r, channel c, bin ph, pw) of RoiAlign, the reference's arithmetic. */
static double roi_align_at(const mt_kc_roi_align *p, const mt_tensor *x, const mt_tensor *rois,
                           int64_t batch, int64_t r, int64_t c, int64_t ph, int64_t pw,
                           int64_t out_h, int64_t out_w) {
  int64_t ch = x->dims[1], h = x->dims[2], w = x->dims[3];
  double off = p->half_pixel ? 0.5 : 0.0, scale = p->spatial_scale;
  double x0 = mt_tensor_get_f64(rois, r * 4) * scale - off;
  double y0 = mt_tensor_get_f64(rois, r * 4 + 1) * scale - off;
  double x1 = mt_tensor_get_f64(rois, r * 4 + 2) * scale - off;
  double y1 = mt_tensor_get_f64(rois, r * 4 + 3) * scale - off;
  double rw = x1 - x0, rh = y1 - y0;
  if (!p->half_pixel) {
    rw = rw > 1.0 ? rw : 1.0;
    rh = rh > 1.0 ? rh : 1.0;
  }
  double bh = rh / (double)out_h, bw = rw / (double)out_w;
  int64_t gh = p->sampling_ratio > 0 ? p->sampling_ratio : (int64_t)ceil(rh / (double)out_h);
  int64_t gw = p->sampling_ratio > 0 ? p->sampling_ratio : (int64_t)ceil(rw / (double)out_w);
  int64_t count = gh * gw > 1 ? gh * gw : 1;
  int64_t base = (batch * ch + c) * h * w;
  double acc = 0;
  bool first = true;
  for (int64_t iy = 0; iy < gh; iy++)
    for (int64_t ix = 0; ix < gw; ix++) {
      double yy = y0 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
      double xx = x0 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
      double v = 0;
      if (!(yy < -1.0 || yy > (double)h || xx < -1.0 || xx > (double)w)) {
        yy = yy > 0 ? yy : 0;
        xx = xx > 0 ? xx : 0;
        int64_t ylo = (int64_t)yy, xlo = (int64_t)xx, yhi, xhi;
        if (ylo >= h - 1) {
          yhi = ylo = h - 1;
          yy = (double)ylo;
        } else {
          yhi = ylo + 1;
        }
        if (xlo >= w - 1) {
          xhi = xlo = w - 1;
          xx = (double)xlo;
        } else {
          xhi = xlo + 1;
        }
        double ly = yy - (double)ylo, lx = xx - (double)xlo, hy = 1.0 - ly, hx = 1.0 - lx;
        double v1 = hy * hx * mt_tensor_get_f64(x, base + ylo * w + xlo);
        double v2 = hy * lx * mt_tensor_get_f64(x, base + ylo * w + xhi);
        double v3 = ly * hx * mt_tensor_get_f64(x, base + yhi * w + xlo);
        double v4 = ly * lx * mt_tensor_get_f64(x, base + yhi * w + xhi);
        v = p->is_max ? fmax(fmax(v1, v2), fmax(v3, v4)) : v1 + v2 + v3 + v4;
      }
      if (!p->is_max)
        acc += v;
      else if (first || v > acc)
        acc = v;
      first = false;
    }
  return p->is_max ? acc : acc / (double)count;
}

MT_MUST_USE static mt_status *run_roi_align(const mt_kc_roi_align *p, int n_inputs,
                                            const mt_tensor *const *inputs, mt_tensor *y) {
  const mt_tensor *x = inputs[0], *rois = n_inputs > 1 ? inputs[1] : NULL;
  const mt_tensor *bi = n_inputs > 2 ? inputs[2] : NULL;
  if (!rois || !bi || !mt_dtype_is_float_any(x->dtype) || x->rank != 4 || y->rank != 4 ||
      rois->dtype != x->dtype || rois->rank != 2 || rois->dims[1] != 4 ||
      !mt_dtype_is_integer(bi->dtype) || mt_tensor_numel(bi) != rois->dims[0] ||
      y->dims[0] != rois->dims[0] || y->dims[1] != x->dims[1] || y->dtype != x->dtype)
    return MT_ERR(INVALID_ARGUMENT, "RoiAlign takes x [N, C, H, W], rois [R, 4] and R batch "
                                    "indices, writing [R, C, out_h, out_w] of x's dtype");
  int64_t nr = y->dims[0], ch = y->dims[1], oh = y->dims[2], ow = y->dims[3];
  for (int64_t r = 0; r < nr; r++) {
    int64_t batch = mt_tensor_get_i64(bi, r);
    if (batch < 0 || batch >= x->dims[0])
      return MT_ERR(OUT_OF_RANGE, "RoiAlign: roi %lld has batch index %lld outside [0, %lld)",
                    (long long)r, (long long)batch, (long long)x->dims[0]);
    for (int64_t c = 0; c < ch; c++)
      for (int64_t ph = 0; ph < oh; ph++)
        for (int64_t pw = 0; pw < ow; pw++)
          mt_tensor_set_f64(y, ((r * ch + c) * oh + ph) * ow + pw,
                            roi_align_at(p, x, rois, batch, r, c, ph, pw, oh, ow));
  }
  return NULL;
}

/* ---------------------------------------------------------------- GridSample */

/* Reflects v into [lo, hi] by the nearer border until inside (the reference's _gs_reflect). */
static double grid_reflect(double v, double lo, double hi) {
  double range = hi - lo;
  if (v < lo) {
    double d = lo - v;
    int64_t n = (int64_t)(d / range);
    double r = d - (double)n * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (v > hi) {
    double d = v - hi;
    int64_t n = (int64_t)(d / range);
    double r = d - (double)n * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return v;
}

/* Keys cubic weights (alpha -0.75) of the four taps around a point at fraction t. */
static void grid_cubic(double t, double *c) {
  const double a = -0.75;
  double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  c[0] = ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a;
  c[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  c[2] = ((a + 2) * t2 - (a + 3)) * t2 * t2 + 1;
  c[3] = ((a * t3 - 5 * a) * t3 + 8 * a) * t3 - 4 * a;
}

/* One output element of GridSample: plane is x's (n, c) plane, g the k normalised coordinates
 * (last spatial dim first, as stored in the grid). */
static double grid_sample_at(const mt_kc_grid_sample *p, const mt_tensor *x, int64_t plane_base,
                             int k, const int64_t *dims, const double *g) {
  int64_t base[3] = {0}, taps = p->mode == MT_GRID_NEAREST ? 1 : p->mode == MT_GRID_LINEAR ? 2 : 4;
  double wts[3][4] = {{0}};
  double lo[3], hi[3];
  for (int i = 0; i < k; i++) {
    double d = (double)dims[i], n = g[k - 1 - i];
    double v = p->align_corners ? (n + 1) / 2.0 * (d - 1) : ((n + 1) * d - 1) / 2.0;
    lo[i] = p->align_corners ? 0.0 : -0.5;
    hi[i] = p->align_corners ? d - 1 : d - 0.5;
    if (p->mode == MT_GRID_NEAREST) v = nearbyint(v);
    if (v < lo[i] || v > hi[i]) {
      if (p->padding == MT_GRID_PAD_BORDER) v = v < 0 ? 0 : (v > d - 1 ? d - 1 : v);
      if (p->padding == MT_GRID_PAD_REFLECTION) v = grid_reflect(v, lo[i], hi[i]);
    }
    if (p->mode == MT_GRID_NEAREST) {
      base[i] = (int64_t)v; /* toward zero, as the reference's astype(int32) */
      wts[i][0] = 1;
      continue;
    }
    double f = floor(v), t = v - f;
    if (p->mode == MT_GRID_LINEAR) {
      base[i] = (int64_t)f;
      wts[i][0] = 1 - t;
      wts[i][1] = t;
    } else {
      base[i] = (int64_t)f - 1;
      grid_cubic(t, wts[i]);
    }
  }
  int64_t total = 1;
  for (int i = 0; i < k; i++) total *= taps;
  double acc = 0;
  for (int64_t tap = 0; tap < total; tap++) {
    double w = 1;
    int64_t off = 0, rest = tap;
    bool zero = false;
    for (int i = k - 1; i >= 0; i--) { /* the last dim's tap varies fastest */
      int64_t t = rest % taps, at = base[i] + t;
      rest /= taps;
      w *= wts[i][t];
      if (at < 0 || at >= dims[i]) {
        if (p->padding == MT_GRID_PAD_ZEROS) zero = true;
        if (p->padding == MT_GRID_PAD_BORDER) at = at < 0 ? 0 : dims[i] - 1;
        if (p->padding == MT_GRID_PAD_REFLECTION)
          at = (int64_t)grid_reflect((double)at, lo[i], hi[i]);
      }
      int64_t stride = 1;
      for (int j = i + 1; j < k; j++) stride *= dims[j];
      off += at * stride;
    }
    if (!zero) acc += w * mt_tensor_get_f64(x, plane_base + off);
  }
  return acc;
}

MT_MUST_USE static mt_status *run_grid_sample(const mt_kc_grid_sample *p, int n_inputs,
                                              const mt_tensor *const *inputs, mt_tensor *y) {
  const mt_tensor *x = inputs[0], *grid = n_inputs > 1 ? inputs[1] : NULL;
  int k = x->rank - 2;
  if (!grid || k < 1 || k > 3 || !mt_dtype_is_float_any(x->dtype) ||
      !mt_dtype_is_float_any(grid->dtype) || grid->rank != x->rank || grid->dims[k + 1] != k ||
      grid->dims[0] != x->dims[0] || y->rank != x->rank || y->dtype != x->dtype)
    return MT_ERR(INVALID_ARGUMENT, "GridSample takes x [N, C, D1..Dk] (k 1 to 3) and a grid "
                                    "[N, O1..Ok, k]");
  int64_t nb = x->dims[0], ch = x->dims[1];
  int64_t in_plane = mt_shape_numel(k, x->dims + 2), out_plane = mt_shape_numel(k, y->dims + 2);
  for (int64_t n = 0; n < nb; n++)
    for (int64_t c = 0; c < ch; c++)
      for (int64_t o = 0; o < out_plane; o++) {
        double g[3];
        for (int i = 0; i < k; i++) g[i] = mt_tensor_get_f64(grid, (n * out_plane + o) * k + i);
        mt_tensor_set_f64(y, (n * ch + c) * out_plane + o,
                          grid_sample_at(p, x, (n * ch + c) * in_plane, k, x->dims + 2, g));
      }
  return NULL;
}

/* ---------------------------------------------------------------- MaxUnpool */

MT_MUST_USE static mt_status *run_max_unpool(const mt_kc_max_unpool *p, int n_inputs,
                                             const mt_tensor *const *inputs, mt_tensor *y) {
  const mt_tensor *x = inputs[0], *idx = n_inputs > 1 ? inputs[1] : NULL;
  int k = x->rank - 2;
  if (!idx || k < 1 || idx->dtype != MT_DTYPE_INT64 || mt_tensor_numel(idx) != mt_tensor_numel(x) ||
      y->rank != x->rank || y->dtype != x->dtype)
    return MT_ERR(INVALID_ARGUMENT,
                  "MaxUnpool takes x [N, C, d...] and int64 indices of its shape");
  int64_t planes = x->dims[0] * x->dims[1], in_plane = mt_shape_numel(k, x->dims + 2);
  int64_t un_plane = mt_shape_numel(k, p->unpooled), out_plane = mt_shape_numel(k, y->dims + 2);
  for (int i = 0; i < k; i++)
    if (p->unpooled[i] > y->dims[2 + i] || p->unpooled[i] < 1)
      return MT_ERR(INVALID_ARGUMENT, "MaxUnpool: unpooled dim %d (%lld) exceeds the output's", i,
                    (long long)p->unpooled[i]);
  size_t es = mt_dtype_size(x->dtype);
  memset(y->data, 0, (size_t)mt_tensor_numel(y) * es);
  for (int64_t pl = 0; pl < planes; pl++)
    for (int64_t j = 0; j < in_plane; j++) {
      int64_t at = mt_tensor_get_i64(idx, pl * in_plane + j) - pl * un_plane;
      if (at < 0 || at >= un_plane)
        return MT_ERR(OUT_OF_RANGE,
                      "MaxUnpool: index of element %lld falls outside its (n, c) plane of %lld "
                      "elements (MaxPool's indices never do)",
                      (long long)(pl * in_plane + j), (long long)un_plane);
      int64_t off = 0, stride = 1;
      for (int i = k - 1; i >= 0; i--) { /* unpooled coordinates, placed in the output plane */
        off += at % p->unpooled[i] * stride;
        at /= p->unpooled[i];
        stride *= y->dims[2 + i];
      }
      memcpy((char *)y->data + (size_t)(pl * out_plane + off) * es,
             (const char *)x->data + (size_t)(pl * in_plane + j) * es, es);
    }
  return NULL;
}

/* ---------------------------------------------------------------- CumProd */

MT_MUST_USE static mt_status *run_cumprod(const mt_kc_cumprod *p, const mt_tensor *x,
                                          mt_tensor *y) {
  if (y->dtype != x->dtype || mt_tensor_numel(y) != mt_tensor_numel(x) ||
      (x->rank > 0 && p->axis >= x->rank) ||
      (!mt_dtype_is_float_any(x->dtype) && x->dtype != MT_DTYPE_INT32 &&
       x->dtype != MT_DTYPE_INT64))
    return MT_ERR(INVALID_ARGUMENT, "CumProd takes float, int32 or int64 and an axis in range");
  int64_t n = x->rank > 0 ? x->dims[p->axis] : 1;
  int64_t inner = x->rank > 0 ? mt_shape_numel(x->rank - p->axis - 1, x->dims + p->axis + 1) : 1;
  int64_t outer = n * inner > 0 ? mt_tensor_numel(x) / (n * inner) : 0;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      float pf = 1.0f;
      double pd = 1.0;
      uint64_t pi = 1;
      for (int64_t t = 0; t < n; t++) {
        int64_t j = p->reverse ? n - 1 - t : t, at = (o * n + j) * inner + in;
        bool write_before = p->exclusive;
        switch (x->dtype) {
        case MT_DTYPE_FLOAT64:
          if (write_before) mt_tensor_set_f64(y, at, pd);
          pd *= mt_tensor_get_f64(x, at);
          if (!write_before) mt_tensor_set_f64(y, at, pd);
          break;
        case MT_DTYPE_INT32:
        case MT_DTYPE_INT64: {
          int64_t cur = (int64_t)pi;
          if (!write_before) cur = (int64_t)(pi *= (uint64_t)mt_tensor_get_i64(x, at));
          if (x->dtype == MT_DTYPE_INT32)
            ((int32_t *)y->data)[at] = (int32_t)(uint32_t)(uint64_t)cur;
          else
            ((int64_t *)y->data)[at] = cur;
          if (write_before) pi *= (uint64_t)mt_tensor_get_i64(x, at);
          break;
        }
        default: /* float32, float16: a float running product, as a sequential float loop */
          if (write_before) mt_tensor_set_f64(y, at, pf);
          pf *= (float)mt_tensor_get_f64(x, at);
          if (!write_before) mt_tensor_set_f64(y, at, pf);
          break;
        }
      }
    }
  return NULL;
}

/* ---------------------------------------------------------------- AffineGrid */

/* Base coordinate i of a dim of size s in [-1, 1], as the reference's arange: start + i * step. */
static double affine_base(int64_t i, int64_t s, bool align_corners) {
  if (align_corners) return -1.0 + (double)i * (2.0 / (double)(s - 1));
  double step = 2.0 / (double)s;
  return (-1.0 + step / 2) + (double)i * step;
}

MT_MUST_USE static mt_status *run_affine_grid(const mt_kc_affine_grid *p, const mt_tensor *theta,
                                              mt_tensor *y) {
  int k = y->rank - 2;
  if ((k != 2 && k != 3) || theta->rank != 3 || theta->dims[0] != y->dims[0] ||
      theta->dims[1] != k || theta->dims[2] != k + 1 || y->dims[y->rank - 1] != k)
    return MT_ERR(INVALID_ARGUMENT, "AffineGrid takes theta [N, k, k + 1] into [N, d..., k]");
  int64_t planes = mt_shape_numel(k, y->dims + 1);
  for (int64_t n = 0; n < y->dims[0]; n++)
    for (int64_t pos = 0; pos < planes; pos++) {
      double b[4];
      int64_t rest = pos;
      for (int j = 0; j < k; j++) { /* b[0] along the last dim */
        int64_t s = y->dims[k - j];
        b[j] = affine_base(rest % s, s, p->align_corners);
        rest /= s;
      }
      b[k] = 1.0;
      for (int r = 0; r < k; r++) {
        double acc = 0;
        for (int j = 0; j <= k; j++)
          acc += mt_tensor_get_f64(theta, (n * k + r) * (k + 1) + j) * b[j];
        mt_tensor_set_f64(y, (n * planes + pos) * k + r, acc);
      }
    }
  return NULL;
}

/* ---------------------------------------------------------------- Col2Im */

MT_MUST_USE static mt_status *run_col2im(const mt_kc_col2im *p, const mt_tensor *x, mt_tensor *y) {
  int ns = p->nsp;
  if (ns < 1 || ns > MT_CONV_MAX_SPATIAL || y->rank != ns + 2 || x->rank != 3)
    return MT_ERR(INVALID_ARGUMENT, "Col2Im takes x [N, C * block, L] into [N, C, image...]");
  int64_t kprod = mt_shape_numel(ns, p->block), lprod = mt_shape_numel(ns, p->blocks);
  int64_t ch = y->dims[1], plane = mt_shape_numel(ns, y->dims + 2);
  if (x->dims[0] != y->dims[0] || x->dims[1] != ch * kprod || x->dims[2] != lprod)
    return MT_ERR(INVALID_ARGUMENT, "Col2Im: x's shape does not match the block geometry");
  for (int64_t nc = 0; nc < y->dims[0] * ch; nc++)
    for (int64_t pos = 0; pos < plane; pos++) {
      int64_t at[MT_CONV_MAX_SPATIAL], rest = pos;
      for (int d = ns - 1; d >= 0; d--) {
        at[d] = rest % y->dims[2 + d];
        rest /= y->dims[2 + d];
      }
      double acc = 0;
      for (int64_t kk = 0; kk < kprod; kk++) {
        int64_t kr = kk, col[MT_CONV_MAX_SPATIAL], blk = 0;
        bool ok = true;
        for (int d = ns - 1; d >= 0; d--) {
          col[d] = kr % p->block[d];
          kr /= p->block[d];
        }
        for (int d = 0; d < ns && ok; d++) {
          int64_t t = at[d] + p->pad_begin[d] - col[d] * p->dilation[d];
          ok = t >= 0 && t % p->stride[d] == 0 && t / p->stride[d] < p->blocks[d];
          blk = blk * p->blocks[d] + (ok ? t / p->stride[d] : 0);
        }
        if (ok) acc += mt_tensor_get_f64(x, (nc * kprod + kk) * lprod + blk);
      }
      mt_tensor_set_f64(y, nc * plane + pos, acc);
    }
  return NULL;
}

/* ---------------------------------------------------------------- Det */

/* Determinant of the m x m matrix a (overwritten) by LU with partial pivoting. */
static double det_lu(double *a, int64_t m) {
  double det = 1;
  for (int64_t c = 0; c < m; c++) {
    int64_t piv = c;
    for (int64_t r = c + 1; r < m; r++)
      if (fabs(a[r * m + c]) > fabs(a[piv * m + c])) piv = r;
    if (a[piv * m + c] == 0) return 0;
    if (piv != c) {
      for (int64_t j = 0; j < m; j++) {
        double t = a[c * m + j];
        a[c * m + j] = a[piv * m + j];
        a[piv * m + j] = t;
      }
      det = -det;
    }
    det *= a[c * m + c];
    for (int64_t r = c + 1; r < m; r++) {
      double f = a[r * m + c] / a[c * m + c];
      for (int64_t j = c + 1; j < m; j++) a[r * m + j] -= f * a[c * m + j];
    }
  }
  return det;
}

MT_MUST_USE static mt_status *run_det(const mt_tensor *x, mt_tensor *y) {
  if (!mt_dtype_is_float_any(x->dtype) || x->rank < 2 ||
      x->dims[x->rank - 1] != x->dims[x->rank - 2] || y->dtype != x->dtype ||
      mt_tensor_numel(y) * x->dims[x->rank - 1] * x->dims[x->rank - 1] != mt_tensor_numel(x))
    return MT_ERR(INVALID_ARGUMENT, "Det takes float matrices [..., M, M]");
  int64_t m = x->dims[x->rank - 1], n = mt_tensor_numel(y);
  double *a = malloc((size_t)(m * m > 0 ? m * m : 1) * sizeof *a);
  if (!a) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for Det");
  for (int64_t b = 0; b < n; b++) {
    for (int64_t i = 0; i < m * m; i++) a[i] = mt_tensor_get_f64(x, b * m * m + i);
    mt_tensor_set_f64(y, b, det_lu(a, m));
  }
  free(a);
  return NULL;
}

mt_status *mt_cpu_kernel_run_vision(const mt_kernel_call *call, int n_inputs,
                                    const mt_tensor *const *inputs, int n_outputs,
                                    mt_tensor *outputs) {
  (void)n_outputs;
  switch (call->kind) {
  case MT_KERNEL_NMS: return run_nms(&call->params.nms, n_inputs, inputs, &outputs[0]);
  case MT_KERNEL_ROI_ALIGN:
    return run_roi_align(&call->params.roi_align, n_inputs, inputs, &outputs[0]);
  case MT_KERNEL_GRID_SAMPLE:
    return run_grid_sample(&call->params.grid_sample, n_inputs, inputs, &outputs[0]);
  case MT_KERNEL_MAX_UNPOOL:
    return run_max_unpool(&call->params.max_unpool, n_inputs, inputs, &outputs[0]);
  case MT_KERNEL_DET: return run_det(inputs[0], &outputs[0]);
  case MT_KERNEL_CUMPROD: return run_cumprod(&call->params.cumprod, inputs[0], &outputs[0]);
  case MT_KERNEL_AFFINE_GRID:
    return run_affine_grid(&call->params.affine_grid, inputs[0], &outputs[0]);
  case MT_KERNEL_COL2IM: return run_col2im(&call->params.col2im, inputs[0], &outputs[0]);
  default:
    return MT_ERR(INTERNAL, "kernel %s is not a vision kernel", mt_kernel_kind_name(call->kind));
  }
}
