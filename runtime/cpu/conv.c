/* Convolution kernels (see conv.h).
 *
 * Conv: 1x1 stride-1 unpadded convolutions are a GEMM straight on the input; depthwise 1-D/2-D
 * convolutions run a direct loop (a GEMM with one row per group would waste the packing);
 * everything else goes through im2col + GEMM. The column matrix is built for a chunk of output
 * rows at a time (a "row" is every output dim but the last) so its size stays bounded; chunking
 * changes no summation order because GEMM sums each element over k the same way regardless.
 *
 * ConvTranspose: per group, columns = W^T * X by GEMM, then col2im scatters the columns back into
 * the image, adding contributions in a fixed (tap, position) order. */
#include "runtime/cpu/conv.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/gemm.h"

/* Upper bound on the column buffer, in floats (16 MiB), unless a single row needs more. */
#define MT_CONV_COL_BUDGET ((int64_t)1 << 22)

int64_t mt_conv_geom_in_size(const mt_conv_geom *g) {
  int64_t n = 1;
  for (int d = 0; d < g->nsp; d++) n *= g->in[d];
  return n;
}

int64_t mt_conv_geom_out_size(const mt_conv_geom *g) {
  int64_t n = 1;
  for (int d = 0; d < g->nsp; d++) n *= g->out[d];
  return n;
}

int64_t mt_conv_geom_kernel_size(const mt_conv_geom *g) {
  int64_t n = 1;
  for (int d = 0; d < g->nsp; d++) n *= g->kernel[d];
  return n;
}

/* For the last spatial dim and a tap offset `base` (= tap * dilation - pad_begin): the range
 * [lo, hi) of window positions whose image index o * stride + base lies inside [0, n_in). */
static void valid_range(int64_t base, int64_t stride, int64_t n_in, int64_t n_out, int64_t *lo,
                        int64_t *hi) {
  int64_t l = base >= 0 ? 0 : (-base + stride - 1) / stride;
  int64_t h = n_in - 1 - base < 0 ? 0 : (n_in - 1 - base) / stride + 1;
  if (h > n_out) h = n_out;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

/* Decomposes a kernel tap index into per-dim tap offsets. */
static void tap_coords(const mt_conv_geom *g, int64_t kidx, int64_t *tap) {
  for (int d = g->nsp - 1; d >= 0; d--) {
    tap[d] = kidx % g->kernel[d];
    kidx /= g->kernel[d];
  }
}

/* For window row r (all dims but the last) and tap, the image row offset (in units of the last
 * dim's length); false when the tap falls into padding along an outer dim. */
static bool row_offset(const mt_conv_geom *g, int64_t r, const int64_t *tap, int64_t *out_off) {
  int last = g->nsp - 1;
  int64_t off = 0, mul = 1;
  for (int d = last - 1; d >= 0; d--) {
    int64_t o = r % g->out[d];
    r /= g->out[d];
    int64_t i = o * g->stride[d] - g->pad_begin[d] + tap[d] * g->dilation[d];
    if (i < 0 || i >= g->in[d]) return false;
    off += i * mul;
    mul *= g->in[d];
  }
  *out_off = off;
  return true;
}

/* Moves data between the image x ([channels][in spatial]) and its columns col, where
 * col[(c * kk + tap) * ncols + (r - r0) * ow + o] belongs to window row r in [r0, r0 + nrows):
 * gather (im2col: columns = image values, 0 in padding) or scatter (col2im: image += columns,
 * padding dropped). One walk serves both so their index arithmetic cannot drift apart; gather
 * never writes x and scatter never writes col. */
static void col_walk(const mt_conv_geom *g, int64_t channels, int64_t r0, int64_t nrows,
                     bool scatter, float *x, float *col) {
  int last = g->nsp - 1;
  int64_t kk = mt_conv_geom_kernel_size(g), in_sp = mt_conv_geom_in_size(g);
  int64_t ow_n = g->out[last], iw_n = g->in[last], s = g->stride[last];
  int64_t ncols = nrows * ow_n;
  int64_t tap[MT_CONV_MAX_SPATIAL];
  for (int64_t kidx = 0; kidx < kk; kidx++) {
    tap_coords(g, kidx, tap);
    int64_t base = tap[last] * g->dilation[last] - g->pad_begin[last];
    int64_t lo, hi;
    valid_range(base, s, iw_n, ow_n, &lo, &hi);
    for (int64_t r = r0; r < r0 + nrows; r++) {
      int64_t off = 0;
      bool valid = row_offset(g, r, tap, &off);
      if (!valid && scatter) continue;
      for (int64_t c = 0; c < channels; c++) {
        float *cp = col + (c * kk + kidx) * ncols + (r - r0) * ow_n;
        float *xp = x + c * in_sp + off * iw_n;
        if (scatter) {
          for (int64_t o = lo; o < hi; o++) xp[o * s + base] += cp[o];
          continue;
        }
        if (!valid) {
          memset(cp, 0, (size_t)ow_n * sizeof(float));
          continue;
        }
        for (int64_t o = 0; o < lo; o++) cp[o] = 0.0f;
        if (s == 1) {
          if (hi > lo) memcpy(cp + lo, xp + lo + base, (size_t)(hi - lo) * sizeof(float));
        } else {
          for (int64_t o = lo; o < hi; o++) cp[o] = xp[o * s + base];
        }
        for (int64_t o = hi; o < ow_n; o++) cp[o] = 0.0f;
      }
    }
  }
}

static void im2col(const mt_conv_geom *g, int64_t channels, const float *x, int64_t r0,
                   int64_t nrows, float *col) {
  col_walk(g, channels, r0, nrows, false, (float *)x, col); /* gather only reads x */
}

/* The inverse scatter: image += columns, for window rows [r0, r0 + nrows). */
static void col2im(const mt_conv_geom *g, int64_t channels, const float *col, int64_t r0,
                   int64_t nrows, float *x) {
  col_walk(g, channels, r0, nrows, true, x, (float *)col); /* scatter only reads col */
}

/* Rows per column chunk so that `krows` x (rows * row_len) stays within the budget. */
static int64_t chunk_rows(int64_t krows, int64_t row_len, int64_t total_rows) {
  int64_t per_row = krows * row_len;
  int64_t rows = per_row > 0 ? MT_CONV_COL_BUDGET / per_row : total_rows;
  if (rows < 1) rows = 1;
  if (rows > total_rows) rows = total_rows;
  return rows;
}

static void fill_bias(float *y, int64_t batch, int64_t channels, int64_t plane, const float *bias) {
  for (int64_t n = 0; n < batch; n++)
    for (int64_t c = 0; c < channels; c++) {
      float *p = y + (n * channels + c) * plane;
      float v = bias ? bias[c] : 0.0f;
      for (int64_t i = 0; i < plane; i++) p[i] = v;
    }
}

/* Depthwise conv over 2 spatial dims (1-D callers pass H = 1): each output channel m reads
 * input channel m / mult. Sums per output element run over taps in (kh, kw) order. */
static void depthwise_2d(const mt_conv_geom *g, int64_t batch, int64_t c_in, int64_t mult,
                         const float *x, const float *w, float *y) {
  bool one_d = g->nsp == 1;
  int64_t ih_n = one_d ? 1 : g->in[0], iw_n = g->in[g->nsp - 1];
  int64_t oh_n = one_d ? 1 : g->out[0], ow_n = g->out[g->nsp - 1];
  int64_t kh_n = one_d ? 1 : g->kernel[0], kw_n = g->kernel[g->nsp - 1];
  int64_t sh = one_d ? 1 : g->stride[0], sw = g->stride[g->nsp - 1];
  int64_t dh = one_d ? 1 : g->dilation[0], dw = g->dilation[g->nsp - 1];
  int64_t ph = one_d ? 0 : g->pad_begin[0], pw = g->pad_begin[g->nsp - 1];
  int64_t c_out = c_in * mult;
  for (int64_t n = 0; n < batch; n++) {
    for (int64_t m = 0; m < c_out; m++) {
      const float *xin = x + (n * c_in + m / mult) * ih_n * iw_n;
      const float *wm = w + m * kh_n * kw_n;
      float *yout = y + (n * c_out + m) * oh_n * ow_n;
      for (int64_t oh = 0; oh < oh_n; oh++) {
        float *yrow = yout + oh * ow_n;
        for (int64_t i = 0; i < kh_n; i++) {
          int64_t ih = oh * sh - ph + i * dh;
          if (ih < 0 || ih >= ih_n) continue;
          const float *xrow = xin + ih * iw_n;
          for (int64_t j = 0; j < kw_n; j++) {
            float wv = wm[i * kw_n + j];
            int64_t base = j * dw - pw, lo, hi;
            valid_range(base, sw, iw_n, ow_n, &lo, &hi);
            if (sw == 1) {
              const float *xs = xrow + lo + base;
              float *ys = yrow + lo;
              for (int64_t o = 0; o < hi - lo; o++) ys[o] += wv * xs[o];
            } else {
              for (int64_t o = lo; o < hi; o++) yrow[o] += wv * xrow[o * sw + base];
            }
          }
        }
      }
    }
  }
}

static bool is_pointwise(const mt_conv_geom *g) {
  for (int d = 0; d < g->nsp; d++)
    if (g->kernel[d] != 1 || g->stride[d] != 1 || g->pad_begin[d] != 0 || g->in[d] != g->out[d])
      return false;
  return true;
}

mt_status *mt_cpu_conv_f32(const mt_conv_geom *g, int64_t batch, int64_t c_in, int64_t c_out,
                           int64_t group, const float *x, const float *w, const float *bias,
                           float *y) {
  int64_t in_sp = mt_conv_geom_in_size(g), out_sp = mt_conv_geom_out_size(g);
  int64_t kk = mt_conv_geom_kernel_size(g);
  int64_t cg = c_in / group, mg = c_out / group, kg = cg * kk;
  fill_bias(y, batch, c_out, out_sp, bias);
  if (batch == 0 || c_out == 0 || out_sp == 0) return NULL;
  if (cg == 1 && group == c_in && g->nsp <= 2) {
    depthwise_2d(g, batch, c_in, mg, x, w, y);
    return NULL;
  }
  if (is_pointwise(g)) {
    for (int64_t n = 0; n < batch; n++)
      for (int64_t gi = 0; gi < group; gi++) {
        const float *xg = x + (n * c_in + gi * cg) * in_sp;
        float *yg = y + (n * c_out + gi * mg) * out_sp;
        MT_RETURN_IF_ERROR_PLAIN(mt_cpu_sgemm(false, false, mg, out_sp, cg, 1.0f, w + gi * mg * kg,
                                              kg, xg, in_sp, yg, out_sp));
      }
    return NULL;
  }
  int64_t row_len = g->out[g->nsp - 1], total_rows = out_sp / row_len;
  int64_t rows = chunk_rows(kg, row_len, total_rows);
  float *col = malloc((size_t)(kg * rows * row_len) * sizeof(float));
  if (!col) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for the im2col buffer");
  for (int64_t n = 0; n < batch; n++)
    for (int64_t gi = 0; gi < group; gi++) {
      const float *xg = x + (n * c_in + gi * cg) * in_sp;
      float *yg = y + (n * c_out + gi * mg) * out_sp;
      for (int64_t r0 = 0; r0 < total_rows; r0 += rows) {
        int64_t nr = total_rows - r0 < rows ? total_rows - r0 : rows;
        im2col(g, cg, xg, r0, nr, col);
        mt_status *st = mt_cpu_sgemm(false, false, mg, nr * row_len, kg, 1.0f, w + gi * mg * kg, kg,
                                     col, nr * row_len, yg + r0 * row_len, out_sp);
        if (st) {
          free(col);
          return st;
        }
      }
    }
  free(col);
  return NULL;
}

mt_status *mt_cpu_conv_transpose_f32(const mt_conv_geom *g, int64_t batch, int64_t c_in,
                                     int64_t c_out, int64_t group, const float *x, const float *w,
                                     const float *bias, float *y) {
  int64_t img_sp = mt_conv_geom_in_size(g), x_sp = mt_conv_geom_out_size(g);
  int64_t kk = mt_conv_geom_kernel_size(g);
  int64_t cg = c_in / group, mg = c_out / group, krows = mg * kk;
  fill_bias(y, batch, c_out, img_sp, bias);
  if (batch == 0 || c_out == 0 || x_sp == 0 || cg == 0) return NULL;
  int64_t row_len = g->out[g->nsp - 1], total_rows = x_sp / row_len;
  int64_t rows = chunk_rows(krows, row_len, total_rows);
  size_t col_elems = (size_t)(krows * rows * row_len);
  float *col = malloc(col_elems * sizeof(float));
  if (!col) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for the col2im buffer");
  for (int64_t n = 0; n < batch; n++)
    for (int64_t gi = 0; gi < group; gi++) {
      const float *xg = x + (n * c_in + gi * cg) * x_sp;
      const float *wg = w + gi * cg * krows;
      float *yg = y + (n * c_out + gi * mg) * img_sp;
      for (int64_t r0 = 0; r0 < total_rows; r0 += rows) {
        int64_t nr = total_rows - r0 < rows ? total_rows - r0 : rows;
        int64_t ncols = nr * row_len;
        memset(col, 0, (size_t)(krows * ncols) * sizeof(float));
        mt_status *st = mt_cpu_sgemm(true, false, krows, ncols, cg, 1.0f, wg, krows,
                                     xg + r0 * row_len, x_sp, col, ncols);
        if (st) {
          free(col);
          return st;
        }
        col2im(g, mg, col, r0, nr, yg);
      }
    }
  free(col);
  return NULL;
}
