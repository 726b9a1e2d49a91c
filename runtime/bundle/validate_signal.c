/* Load-time check of signal calls (DFT, STFT, MelWeightMatrix): the buffers must have exactly the
 * shapes the parameters imply, and lengths stay far below what could overflow the kernels' index
 * arithmetic, so a crafted bundle cannot make a kernel read or write past a buffer. */
#include "runtime/bundle/validate_rnn.h"

#define MAX_LEN ((int64_t)1 << 30)

static mt_status *bad(const char *kind, const char *what) {
  return MT_ERR(DATA_LOSS, "%s call: %s", kind, what);
}

static bool present(int n, const mt_tensor *t, int i) { return i < n && t[i].dtype != 0; }

static bool same_dims(const mt_tensor *t, int rank, const int64_t *dims) {
  if (t->rank != rank) return false;
  for (int k = 0; k < rank; k++)
    if (t->dims[k] != dims[k]) return false;
  return true;
}

static bool dims_ok(const mt_tensor *t) {
  for (int k = 0; k < t->rank; k++)
    if (t->dims[k] < 0 || t->dims[k] > MAX_LEN) return false;
  return true;
}

static mt_status *check_dft(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out,
                            const mt_kc_dft *p) {
  if (n_in < 1 || n_in > 3 || n_out != 1 || !present(n_in, in, 0) || !present(n_out, out, 0))
    return bad("dft", "input or output count out of range");
  const mt_tensor *x = &in[0];
  int r = x->rank;
  if (!mt_dtype_is_float_any(x->dtype) || r < 2 || !dims_ok(x) ||
      (x->dims[r - 1] != 1 && x->dims[r - 1] != 2))
    return bad("dft", "input must be floats ending in a dim of 1 or 2");
  if (p->axis < 0 || p->axis > r - 2 || p->length < 1 || p->length > MAX_LEN)
    return bad("dft", "axis or length out of range");
  bool irfft = p->inverse && p->onesided;
  int64_t dims[MT_MAX_RANK];
  for (int k = 0; k < r; k++) dims[k] = x->dims[k];
  dims[p->axis] = irfft ? p->length : (p->onesided ? p->length / 2 + 1 : p->length);
  dims[r - 1] = irfft ? 1 : 2;
  if (out[0].dtype != x->dtype || !same_dims(&out[0], r, dims))
    return bad("dft", "output does not match the transform");
  return NULL;
}

static mt_status *check_stft(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out,
                             const mt_kc_stft *p) {
  if (n_in < 1 || n_in > 4 || n_out != 1 || !present(n_in, in, 0) || !present(n_out, out, 0))
    return bad("stft", "input or output count out of range");
  const mt_tensor *x = &in[0];
  if (!mt_dtype_is_float_any(x->dtype) || x->rank != 3 || !dims_ok(x) ||
      (x->dims[2] != 1 && x->dims[2] != 2))
    return bad("stft", "signal must be [batch, length, 1 or 2] floats");
  if (p->frame_step < 1 || p->frame_step > MAX_LEN || p->frame_length < 1 ||
      p->frame_length > x->dims[1])
    return bad("stft", "frame_step or frame_length out of range");
  if (present(n_in, in, 2) &&
      (in[2].dtype != x->dtype || in[2].rank != 1 || in[2].dims[0] != p->frame_length))
    return bad("stft", "window must hold frame_length values of the signal's dtype");
  int64_t dims[4] = {x->dims[0], 1 + (x->dims[1] - p->frame_length) / p->frame_step,
                     p->onesided ? p->frame_length / 2 + 1 : p->frame_length, 2};
  if (out[0].dtype != x->dtype || !same_dims(&out[0], 4, dims))
    return bad("stft", "output does not match the frames");
  return NULL;
}

static mt_status *check_mel(int n_out, const mt_tensor *out, const mt_kc_mel *p) {
  if (n_out != 1 || !present(n_out, out, 0)) return bad("mel_weight", "expected one output");
  if (p->num_mel_bins < 1 || p->num_mel_bins > (1 << 20) || p->dft_length < 1 ||
      p->dft_length > MAX_LEN || p->sample_rate < 1 || !(p->upper_hz > p->lower_hz) ||
      !(p->lower_hz >= 0))
    return bad("mel_weight", "parameters out of range");
  int64_t dims[2] = {p->dft_length / 2 + 1, p->num_mel_bins};
  if (!same_dims(&out[0], 2, dims)) return bad("mel_weight", "output shape mismatch");
  return NULL;
}

mt_status *mt_bundle_check_signal(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out,
                                  const mt_kernel_call *call) {
  switch (call->kind) {
  case MT_KERNEL_DFT: return check_dft(n_in, in, n_out, out, &call->params.dft);
  case MT_KERNEL_STFT: return check_stft(n_in, in, n_out, out, &call->params.stft);
  case MT_KERNEL_MEL_WEIGHT: return check_mel(n_out, out, &call->params.mel);
  default: return MT_ERR(INTERNAL, "not a signal call");
  }
}
