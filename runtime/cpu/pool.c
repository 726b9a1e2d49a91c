/* Pooling kernels (see pool.h).
 *
 * Along each dim the taps of a window that land inside the image form one contiguous range of
 * tap indices, so a window is the cartesian product of per-dim ranges; it is walked row-major
 * (last dim fastest), which fixes both the summation order and which maximum is "first". */
#include "runtime/cpu/pool.h"

#include <float.h>

/* Per-window state: the valid tap range per dim and the taps' image coordinates. */
typedef struct window {
  int64_t lo[MT_CONV_MAX_SPATIAL], hi[MT_CONV_MAX_SPATIAL];
  int64_t start[MT_CONV_MAX_SPATIAL]; /* image coordinate of tap 0 */
  int64_t count;                      /* taps inside the image */
  int64_t padded_count;               /* taps inside image + explicit padding */
} window;

static void window_at(const mt_conv_geom *g, const int64_t *opos, window *w) {
  w->count = 1;
  w->padded_count = 1;
  for (int d = 0; d < g->nsp; d++) {
    int64_t s0 = opos[d] * g->stride[d] - g->pad_begin[d], dl = g->dilation[d];
    int64_t lo = s0 >= 0 ? 0 : (-s0 + dl - 1) / dl;
    int64_t hi = g->in[d] - 1 - s0 < 0 ? 0 : (g->in[d] - 1 - s0) / dl + 1;
    if (hi > g->kernel[d]) hi = g->kernel[d];
    if (lo > hi) lo = hi;
    /* taps inside [-pad_begin, in + pad_end): tap 0 is never left of -pad_begin */
    int64_t limit = g->in[d] + g->pad_end[d] - 1 - s0;
    int64_t phi = limit < 0 ? 0 : limit / dl + 1;
    if (phi > g->kernel[d]) phi = g->kernel[d];
    w->lo[d] = lo;
    w->hi[d] = hi;
    w->start[d] = s0;
    w->count *= hi - lo;
    w->padded_count *= phi;
  }
}

/* Advances a row-major odometer over dims [0, nsp) with per-dim [lo, hi); false when done. */
static bool odometer_next(int nsp, int64_t *pos, const int64_t *lo, const int64_t *hi) {
  for (int d = nsp - 1; d >= 0; d--) {
    if (++pos[d] < hi[d]) return true;
    pos[d] = lo[d];
  }
  return false;
}

/* Spatial offset of the image element under tap coordinates t of window w. */
static int64_t tap_offset(const mt_conv_geom *g, const window *w, const int64_t *t,
                          bool col_major) {
  int64_t off = 0;
  if (col_major) {
    for (int d = g->nsp - 1; d >= 0; d--)
      off = off * g->in[d] + w->start[d] + t[d] * g->dilation[d];
  } else {
    for (int d = 0; d < g->nsp; d++) off = off * g->in[d] + w->start[d] + t[d] * g->dilation[d];
  }
  return off;
}

/* MaxPool for element type T (float32; float64, which float32 staging would round), -LOWEST
 * for a window with no tap inside the image. */
#define DEFINE_MAXPOOL(name, T, LOWEST)                                                            \
  void name(const mt_conv_geom *g, int64_t planes, const T *x, T *y, int64_t *indices,             \
            bool col_major) {                                                                      \
    int64_t in_sp = mt_conv_geom_in_size(g), out_sp = mt_conv_geom_out_size(g);                    \
    int64_t zero[MT_CONV_MAX_SPATIAL] = {0};                                                       \
    for (int64_t p = 0; p < planes; p++) {                                                         \
      const T *xp = x + p * in_sp;                                                                 \
      int64_t opos[MT_CONV_MAX_SPATIAL] = {0};                                                     \
      for (int64_t o = 0; o < out_sp; o++) {                                                       \
        window w;                                                                                  \
        window_at(g, opos, &w);                                                                    \
        T best = -(LOWEST);                                                                        \
        int64_t best_idx = -1;                                                                     \
        if (w.count > 0) {                                                                         \
          int64_t t[MT_CONV_MAX_SPATIAL];                                                          \
          for (int d = 0; d < g->nsp; d++) t[d] = w.lo[d];                                         \
          do {                                                                                     \
            T v = xp[tap_offset(g, &w, t, false)];                                                 \
            if (v > best || best_idx < 0) {                                                        \
              best = v;                                                                            \
              best_idx = indices ? tap_offset(g, &w, t, col_major) : 0;                            \
            }                                                                                      \
          } while (odometer_next(g->nsp, t, w.lo, w.hi));                                          \
        }                                                                                          \
        y[p * out_sp + o] = best;                                                                  \
        if (indices) indices[p * out_sp + o] = best_idx < 0 ? -1 : p * in_sp + best_idx;           \
        odometer_next(g->nsp, opos, zero, g->out);                                                 \
      }                                                                                            \
    }                                                                                              \
  }
DEFINE_MAXPOOL(mt_cpu_maxpool_f32, float, FLT_MAX)
DEFINE_MAXPOOL(mt_cpu_maxpool_f64, double, DBL_MAX)
#undef DEFINE_MAXPOOL

void mt_cpu_avgpool_f32(const mt_conv_geom *g, int64_t planes, const float *x, float *y,
                        bool count_include_pad) {
  int64_t in_sp = mt_conv_geom_in_size(g), out_sp = mt_conv_geom_out_size(g);
  int64_t zero[MT_CONV_MAX_SPATIAL] = {0};
  for (int64_t p = 0; p < planes; p++) {
    const float *xp = x + p * in_sp;
    int64_t opos[MT_CONV_MAX_SPATIAL] = {0};
    for (int64_t o = 0; o < out_sp; o++) {
      window w;
      window_at(g, opos, &w);
      double sum = 0.0;
      if (w.count > 0) {
        int64_t t[MT_CONV_MAX_SPATIAL];
        for (int d = 0; d < g->nsp; d++) t[d] = w.lo[d];
        do {
          sum += xp[tap_offset(g, &w, t, false)];
        } while (odometer_next(g->nsp, t, w.lo, w.hi));
      }
      int64_t div = count_include_pad ? w.padded_count : w.count;
      y[p * out_sp + o] = div > 0 ? (float)(sum / (double)div) : 0.0f;
      odometer_next(g->nsp, opos, zero, g->out);
    }
  }
}

void mt_cpu_global_maxpool_f32(int64_t planes, int64_t plane, const float *x, float *y) {
  for (int64_t p = 0; p < planes; p++) {
    const float *xp = x + p * plane;
    float best = plane > 0 ? xp[0] : -FLT_MAX;
    for (int64_t i = 1; i < plane; i++)
      if (xp[i] > best) best = xp[i];
    y[p] = best;
  }
}

void mt_cpu_global_avgpool_f32(int64_t planes, int64_t plane, const float *x, float *y) {
  for (int64_t p = 0; p < planes; p++) {
    const float *xp = x + p * plane;
    double sum = 0.0;
    for (int64_t i = 0; i < plane; i++) sum += xp[i];
    y[p] = plane > 0 ? (float)(sum / (double)plane) : 0.0f;
  }
}
