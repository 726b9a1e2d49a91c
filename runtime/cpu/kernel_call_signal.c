/* Kernel calls for the signal ops: DFT, STFT, MelWeightMatrix.
 *
 * Transforms are direct sums (O(n^2) per line) in double, each output bin summing its terms in
 * increasing input index with the twiddle of mt_cpu_dft_twiddle: the order and the formula the
 * CUDA generator (codegen/cuda_signal.c) prints, so the two agree to the rounding of cos/sin.
 * An FFT would be faster for long lines; the lengths audio front ends use (a few hundred bins)
 * keep the direct sum cheap next to the rest of a model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cpu/kernel_call.h"

void mt_cpu_dft_twiddle(int64_t jk, int64_t n, bool inverse, double *out_re, double *out_im) {
  double a = 6.283185307179586476925286766559 * (double)(jk % n) / (double)n;
  *out_re = cos(a);
  *out_im = inverse ? sin(a) : -sin(a);
}

void mt_cpu_mel_edges(const mt_kc_mel *p, int64_t *out_edges) {
  /* ONNX's reference: mels on 2595 log10(1 + f / 700), num_mel_bins + 2 points spaced evenly
   * between the edges' mels, back to Hz, then to a bin as floor((dft_length + 1) hz / rate) */
  double low = 2595.0 * log1p(p->lower_hz / 700.0) / log(10.0);
  double high = 2595.0 * log1p(p->upper_hz / 700.0) / log(10.0);
  double step = (high - low) / (double)(p->num_mel_bins + 2);
  for (int64_t i = 0; i < p->num_mel_bins + 2; i++) {
    double hz = 700.0 * expm1(((double)i * step + low) / 2595.0 * log(10.0));
    out_edges[i] = (int64_t)floor((double)(p->dft_length + 1) * hz / (double)p->sample_rate);
  }
}

double mt_cpu_mel_value(const int64_t *edges, int64_t j, int64_t i) {
  int64_t lo = edges[i], c = edges[i + 1], hi = edges[i + 2];
  double v = 0;
  /* the reference writes the rising side, then the falling side over it */
  if (c == lo) {
    if (j == c) v = 1;
  } else if (j >= lo && j <= c) {
    v = (double)(j - lo) / (double)(c - lo);
  }
  if (hi > c && j >= c && j < hi) v = (double)(hi - j) / (double)(hi - c);
  return v;
}

MT_MUST_USE static mt_status *run_dft(const mt_kc_dft *p, const mt_tensor *x, mt_tensor *y) {
  if (x->rank < 2 || p->axis < 0 || p->axis > x->rank - 2 || p->length < 1 ||
      (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2) || y->rank != x->rank)
    return MT_ERR(INVALID_ARGUMENT, "DFT: bad axis, length or shapes");
  int r = x->rank, a = p->axis;
  int64_t n = p->length, m = x->dims[a], cin = x->dims[r - 1];
  int64_t outer = mt_shape_numel(a, x->dims), inner = mt_shape_numel(r - 2 - a, x->dims + a + 1);
  bool irfft = p->inverse && p->onesided;
  int64_t nout = irfft ? n : (p->onesided ? n / 2 + 1 : n), cout = irfft ? 1 : 2;
  if (y->dims[a] != nout || y->dims[r - 1] != cout ||
      mt_shape_numel(r, y->dims) != outer * nout * inner * cout)
    return MT_ERR(INVALID_ARGUMENT, "DFT: output shape does not match the transform");
  int64_t used = m < n ? m : n;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < nout; k++)
      for (int64_t i = 0; i < inner; i++) {
        double re = 0, im = 0;
        if (irfft) {
          /* the Hermitian extension of bins [0, n / 2], real part */
          int64_t half = n / 2 < used - 1 ? n / 2 : used - 1;
          for (int64_t j = 0; j <= half; j++) {
            int64_t at = ((o * m + j) * inner + i) * cin;
            double xr = mt_tensor_get_f64(x, at), xi = cin == 2 ? mt_tensor_get_f64(x, at + 1) : 0;
            double wr, wi;
            mt_cpu_dft_twiddle(j * k, n, true, &wr, &wi);
            double term = xr * wr - xi * wi;
            re += (j == 0 || 2 * j == n) ? term : 2.0 * term;
          }
          mt_tensor_set_f64(y, (o * nout + k) * inner + i, re / (double)n);
          continue;
        }
        for (int64_t j = 0; j < used; j++) {
          int64_t at = ((o * m + j) * inner + i) * cin;
          double xr = mt_tensor_get_f64(x, at), xi = cin == 2 ? mt_tensor_get_f64(x, at + 1) : 0;
          double wr, wi;
          mt_cpu_dft_twiddle(j * k, n, p->inverse, &wr, &wi);
          re += xr * wr - xi * wi;
          im += xr * wi + xi * wr;
        }
        if (p->inverse) {
          re /= (double)n;
          im /= (double)n;
        }
        int64_t to = ((o * nout + k) * inner + i) * 2;
        mt_tensor_set_f64(y, to, re);
        mt_tensor_set_f64(y, to + 1, im);
      }
  return NULL;
}

MT_MUST_USE static mt_status *run_stft(const mt_kc_stft *p, const mt_tensor *x, const mt_tensor *w,
                                       mt_tensor *y) {
  if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2) || p->frame_step < 1 ||
      p->frame_length < 1 || p->frame_length > x->dims[1] || y->rank != 4)
    return MT_ERR(INVALID_ARGUMENT, "STFT: bad signal shape, frame_step or frame_length");
  if (w && mt_shape_numel(w->rank, w->dims) != p->frame_length)
    return MT_ERR(INVALID_ARGUMENT, "STFT: the window must hold frame_length values");
  int64_t batch = x->dims[0], len = x->dims[1], cin = x->dims[2], fl = p->frame_length;
  int64_t frames = 1 + (len - fl) / p->frame_step, bins = p->onesided ? fl / 2 + 1 : fl;
  int64_t want[4] = {batch, frames, bins, 2};
  for (int d = 0; d < 4; d++)
    if (y->dims[d] != want[d]) return MT_ERR(INVALID_ARGUMENT, "STFT: output shape mismatch");
  for (int64_t b = 0; b < batch; b++)
    for (int64_t f = 0; f < frames; f++)
      for (int64_t k = 0; k < bins; k++) {
        double re = 0, im = 0;
        for (int64_t j = 0; j < fl; j++) {
          int64_t at = (b * len + f * p->frame_step + j) * cin;
          double g = w ? mt_tensor_get_f64(w, j) : 1.0;
          double xr = mt_tensor_get_f64(x, at) * g;
          double xi = cin == 2 ? mt_tensor_get_f64(x, at + 1) * g : 0;
          double wr, wi;
          mt_cpu_dft_twiddle(j * k, fl, false, &wr, &wi);
          re += xr * wr - xi * wi;
          im += xr * wi + xi * wr;
        }
        int64_t to = ((b * frames + f) * bins + k) * 2;
        mt_tensor_set_f64(y, to, re);
        mt_tensor_set_f64(y, to + 1, im);
      }
  return NULL;
}

MT_MUST_USE static mt_status *run_mel(const mt_kc_mel *p, mt_tensor *y) {
  int64_t bins = p->dft_length / 2 + 1, nm = p->num_mel_bins;
  if (nm < 1 || nm > (1 << 20) || p->dft_length < 1 || p->sample_rate < 1 || y->rank != 2 ||
      y->dims[0] != bins || y->dims[1] != nm)
    return MT_ERR(INVALID_ARGUMENT, "MelWeightMatrix: bad parameters or output shape");
  int64_t edges_fixed[258], *edges = edges_fixed;
  if (nm + 2 > 258) {
    edges = malloc((size_t)(nm + 2) * sizeof *edges);
    if (!edges) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  mt_cpu_mel_edges(p, edges);
  for (int64_t j = 0; j < bins; j++)
    for (int64_t i = 0; i < nm; i++)
      mt_tensor_set_f64(y, j * nm + i, mt_cpu_mel_value(edges, j, i));
  if (edges != edges_fixed) free(edges);
  return NULL;
}

mt_status *mt_cpu_kernel_run_signal(const mt_kernel_call *call, int n_inputs,
                                    const mt_tensor *const *inputs, int n_outputs,
                                    mt_tensor *outputs) {
  switch (call->kind) {
  case MT_KERNEL_DFT: return run_dft(&call->params.dft, inputs[0], outputs);
  case MT_KERNEL_STFT:
    return run_stft(&call->params.stft, inputs[0], n_inputs > 2 ? inputs[2] : NULL, outputs);
  case MT_KERNEL_MEL_WEIGHT: return run_mel(&call->params.mel, outputs);
  default:
    return MT_ERR(INTERNAL, "kernel %s is not a signal kernel", mt_kernel_kind_name(call->kind));
  }
}
