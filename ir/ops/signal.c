/* Signal ops: DFT (opsets 17 and 20: the axis an attribute, then an input), STFT (17) and
 * MelWeightMatrix (17), lowered to MT_KERNEL_DFT / MT_KERNEL_STFT / MT_KERNEL_MEL_WEIGHT
 * (runtime/cpu/kernel_call_signal.c). Lengths, steps and DFT-20's axis fix the output's shape, so
 * they are value inputs (constants in an ahead-of-time compile); MelWeightMatrix is all
 * parameters. They run as their own kernels (pattern opaque). */
#include <string.h>

#include "ir/op.h"

/* A scalar integer input's value, or dflt when the input is absent. */
MT_MUST_USE static mt_status *int_input(const mt_op_ctx *c, int i, const char *what, int64_t dflt,
                                        int64_t *out) {
  const mt_tensor *t = mt_op_input(c, i);
  *out = dflt;
  if (!t) return NULL;
  if (!mt_dtype_is_integer(t->dtype) || mt_tensor_numel(t) != 1)
    return MT_ERR(INVALID_ARGUMENT, "input %d (%s) must be one integer", i, what);
  if (!t->data) return MT_ERR(INVALID_ARGUMENT, "input %d (%s) must be a constant", i, what);
  *out = mt_tensor_get_i64(t, 0);
  return NULL;
}

MT_MUST_USE static mt_status *require_signal_float(const mt_tensor *x, const char *what) {
  if (!mt_dtype_is_float_any(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "%s of dtype %s is not supported", what, mt_dtype_name(x->dtype));
  return NULL;
}

/* ---------------------------------------------------------------- DFT */

MT_MUST_USE static mt_status *dft_call(const mt_op_ctx *c, mt_kc_dft *p, int64_t *out_bins,
                                       int64_t *out_last) {
  const mt_tensor *x = mt_op_input(c, 0);
  if (!x) return MT_ERR(INVALID_ARGUMENT, "expected the input");
  MT_RETURN_IF_ERROR_PLAIN(require_signal_float(x, "DFT"));
  int r = x->rank;
  if (r < 2 || (x->dims[r - 1] != 1 && x->dims[r - 1] != 2))
    return MT_ERR(INVALID_ARGUMENT, "input must end in a dim of 1 (real) or 2 (complex)");
  memset(p, 0, sizeof *p);
  int64_t axis;
  if (c->opset >= 20)
    MT_RETURN_IF_ERROR_PLAIN(int_input(c, 2, "axis", -2, &axis));
  else
    axis = mt_node_attr_int(c->node, "axis", 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r - 2)
    return MT_ERR(INVALID_ARGUMENT, "axis must lie in [-%d, -2] or [0, %d]", r, r - 2);
  p->axis = (int)axis;
  p->inverse = mt_node_attr_int(c->node, "inverse", 0) != 0;
  p->onesided = mt_node_attr_int(c->node, "onesided", 0) != 0;
  int64_t m = x->dims[p->axis];
  bool irfft = p->inverse && p->onesided;
  MT_RETURN_IF_ERROR_PLAIN(int_input(c, 1, "dft_length", irfft ? 2 * (m - 1) : m, &p->length));
  if (p->length < 1) return MT_ERR(INVALID_ARGUMENT, "dft_length must be positive");
  *out_bins = irfft ? p->length : (p->onesided ? p->length / 2 + 1 : p->length);
  *out_last = irfft ? 1 : 2;
  return NULL;
}

MT_MUST_USE static mt_status *infer_dft(mt_op_ctx *c) {
  mt_kc_dft p;
  int64_t bins, last;
  MT_RETURN_IF_ERROR_PLAIN(dft_call(c, &p, &bins, &last));
  const mt_tensor *x = mt_op_input(c, 0);
  int64_t dims[MT_MAX_RANK];
  for (int d = 0; d < x->rank; d++) dims[d] = x->dims[d];
  dims[p.axis] = bins;
  dims[x->rank - 1] = last;
  mt_op_set_output(c, 0, x->dtype, x->rank, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_dft(const mt_op_ctx *c, mt_kernel_call *call) {
  int64_t bins, last;
  call->kind = MT_KERNEL_DFT;
  return dft_call(c, &call->params.dft, &bins, &last);
}

/* ---------------------------------------------------------------- STFT */

MT_MUST_USE static mt_status *stft_call(const mt_op_ctx *c, mt_kc_stft *p, int64_t *out_frames) {
  const mt_tensor *x = mt_op_input(c, 0), *w = mt_op_input(c, 2);
  if (!x) return MT_ERR(INVALID_ARGUMENT, "expected the signal");
  MT_RETURN_IF_ERROR_PLAIN(require_signal_float(x, "STFT"));
  if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
    return MT_ERR(INVALID_ARGUMENT, "signal must be [batch, length, 1 or 2]");
  if (w && (w->rank != 1 || w->dtype != x->dtype))
    return MT_ERR(INVALID_ARGUMENT, "input 2: window must be 1-D of the signal's dtype");
  memset(p, 0, sizeof *p);
  MT_RETURN_IF_ERROR_PLAIN(int_input(c, 1, "frame_step", 0, &p->frame_step));
  if (!mt_op_input(c, 1)) return MT_ERR(INVALID_ARGUMENT, "expected frame_step");
  MT_RETURN_IF_ERROR_PLAIN(
      int_input(c, 3, "frame_length", w ? w->dims[0] : x->dims[1], &p->frame_length));
  if (p->frame_step < 1) return MT_ERR(INVALID_ARGUMENT, "frame_step must be positive");
  if (p->frame_length < 1 || p->frame_length > x->dims[1])
    return MT_ERR(INVALID_ARGUMENT, "frame_length %lld outside [1, %lld]",
                  (long long)p->frame_length, (long long)x->dims[1]);
  if (w && w->dims[0] != p->frame_length)
    return MT_ERR(INVALID_ARGUMENT, "window of %lld values for frames of %lld",
                  (long long)w->dims[0], (long long)p->frame_length);
  p->onesided = mt_node_attr_int(c->node, "onesided", 1) != 0;
  *out_frames = 1 + (x->dims[1] - p->frame_length) / p->frame_step;
  return NULL;
}

MT_MUST_USE static mt_status *infer_stft(mt_op_ctx *c) {
  mt_kc_stft p;
  int64_t frames;
  MT_RETURN_IF_ERROR_PLAIN(stft_call(c, &p, &frames));
  const mt_tensor *x = mt_op_input(c, 0);
  int64_t dims[4] = {x->dims[0], frames, p.onesided ? p.frame_length / 2 + 1 : p.frame_length, 2};
  mt_op_set_output(c, 0, x->dtype, 4, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_stft(const mt_op_ctx *c, mt_kernel_call *call) {
  int64_t frames;
  call->kind = MT_KERNEL_STFT;
  return stft_call(c, &call->params.stft, &frames);
}

/* ---------------------------------------------------------------- MelWeightMatrix */

MT_MUST_USE static mt_status *mel_call(const mt_op_ctx *c, mt_kc_mel *p, mt_dtype *out_dt) {
  memset(p, 0, sizeof *p);
  MT_RETURN_IF_ERROR_PLAIN(int_input(c, 0, "num_mel_bins", 0, &p->num_mel_bins));
  MT_RETURN_IF_ERROR_PLAIN(int_input(c, 1, "dft_length", 0, &p->dft_length));
  MT_RETURN_IF_ERROR_PLAIN(int_input(c, 2, "sample_rate", 0, &p->sample_rate));
  for (int i = 3; i < 5; i++) {
    const mt_tensor *t = mt_op_input(c, i);
    if (!t || !mt_dtype_is_float_any(t->dtype) || mt_tensor_numel(t) != 1 || !t->data)
      return MT_ERR(INVALID_ARGUMENT, "input %d must be one constant float", i);
    *(i == 3 ? &p->lower_hz : &p->upper_hz) = mt_tensor_get_f64(t, 0);
  }
  if (p->num_mel_bins < 1 || p->num_mel_bins > (1 << 20) || p->dft_length < 1 ||
      p->dft_length > ((int64_t)1 << 30) || p->sample_rate < 1)
    return MT_ERR(INVALID_ARGUMENT, "num_mel_bins, dft_length and sample_rate must be positive");
  if (!(p->lower_hz >= 0) || !(p->upper_hz > p->lower_hz))
    return MT_ERR(INVALID_ARGUMENT, "need 0 <= lower_edge_hertz < upper_edge_hertz");
  *out_dt = (mt_dtype)mt_node_attr_int(c->node, "output_datatype", MT_DTYPE_FLOAT32);
  if (!mt_dtype_supported(*out_dt) || *out_dt == MT_DTYPE_BOOL)
    return MT_ERR(UNIMPLEMENTED, "MelWeightMatrix of dtype %s", mt_dtype_name(*out_dt));
  return NULL;
}

MT_MUST_USE static mt_status *infer_mel(mt_op_ctx *c) {
  mt_kc_mel p;
  mt_dtype dt;
  MT_RETURN_IF_ERROR_PLAIN(mel_call(c, &p, &dt));
  int64_t dims[2] = {p.dft_length / 2 + 1, p.num_mel_bins};
  mt_op_set_output(c, 0, dt, 2, dims);
  return NULL;
}

MT_MUST_USE static mt_status *lower_mel(const mt_op_ctx *c, mt_kernel_call *call) {
  mt_dtype dt;
  call->kind = MT_KERNEL_MEL_WEIGHT;
  return mel_call(c, &call->params.mel, &dt);
}

/* Per output bin, a complex multiply-add per input element. */
static void dft_work(const mt_module *m, const mt_node *n, mt_op_work *out) {
  const mt_value *x = mt_module_value_c(m, n->inputs[0]);
  const mt_value *y = n->outputs[0] != MT_NO_VALUE ? mt_module_value_c(m, n->outputs[0]) : NULL;
  memset(out, 0, sizeof *out);
  if (!x || !y || x->rank < 2 || y->rank < 2) return;
  double ny = 1, line = 1;
  for (int d = 0; d < y->rank; d++) ny *= (double)(y->dims[d] > 0 ? y->dims[d] : 0);
  for (int d = 0; d < x->rank - 1; d++)
    if (x->dims[d] > line) line = (double)x->dims[d]; /* an upper bound of the line length */
  out->flops = 8.0 * ny * line;
  out->transcendentals = 2.0 * ny * line;
}

const mt_op_def mt_ops_signal[] = {
    {.op_type = "DFT",
     .min_inputs = 1,
     .max_inputs = 3,
     .value_inputs = 1u << 1 | 1u << 2,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_dft,
     .lower = lower_dft,
     .work = dft_work},
    {.op_type = "STFT",
     .min_inputs = 2,
     .max_inputs = 4,
     .value_inputs = 1u << 1 | 1u << 3,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_stft,
     .lower = lower_stft,
     .work = dft_work},
    {.op_type = "MelWeightMatrix",
     .min_inputs = 5,
     .max_inputs = 5,
     .value_inputs = 0x1f,
     .pattern = MT_PATTERN_OPAQUE,
     .infer = infer_mel,
     .lower = lower_mel},
    {0},
};
