/* Conv and ConvTranspose, plus the sliding-window attribute handling (kernel_shape, strides,
 * dilations, pads, auto_pad, ceil_mode) that the pools share.
 *
 * Output-size rules follow the ONNX spec as ONNX Runtime implements it:
 *  - NOTSET: out = floor((in + pad_begin + pad_end - dk) / stride) + 1, dk = (k - 1) * d + 1;
 *    with ceil_mode the division rounds up, and a last window starting in the end padding is
 *    dropped.
 *  - VALID: no padding. SAME_UPPER / SAME_LOWER: out = ceil(in / stride) and the total padding
 *    needed is split evenly, the odd element at the end (UPPER) or the beginning (LOWER).
 *  - ConvTranspose: out = stride * (in - 1) + output_padding + dk - pad_begin - pad_end, or
 *    output_shape with pads derived from it, or in * stride for SAME_*. */
#include <stdlib.h>
#include <string.h>

#include "ir/ops/nn_internal.h"

MT_MUST_USE static mt_status *read_ints(const mt_node *n, const char *name, int want, int64_t dflt,
                                        int64_t *out) {
  const int64_t *v;
  int64_t count = mt_node_attr_ints(n, name, &v);
  if (count < 0) {
    for (int i = 0; i < want; i++) out[i] = dflt;
    return NULL;
  }
  if (count != want)
    return MT_ERR(INVALID_ARGUMENT, "attribute '%s' has %lld values, expected %d", name,
                  (long long)count, want);
  for (int i = 0; i < want; i++) out[i] = v[i];
  return NULL;
}

mt_status *mt_nn_window_parse(const mt_node *n, int nsp, const int64_t *kernel, mt_nn_window *w) {
  memset(w, 0, sizeof *w);
  if (nsp < 1 || nsp > MT_CONV_MAX_SPATIAL)
    return MT_ERR(INVALID_ARGUMENT, "%d spatial dims; 1 to %d are supported", nsp,
                  MT_CONV_MAX_SPATIAL);
  w->nsp = nsp;
  if (mt_node_attr(n, "kernel_shape")) {
    MT_RETURN_IF_ERROR_PLAIN(read_ints(n, "kernel_shape", nsp, 1, w->kernel));
  } else if (kernel) {
    for (int i = 0; i < nsp; i++) w->kernel[i] = kernel[i];
  } else {
    return MT_ERR(INVALID_ARGUMENT, "attribute 'kernel_shape' is required");
  }
  MT_RETURN_IF_ERROR_PLAIN(read_ints(n, "strides", nsp, 1, w->stride));
  MT_RETURN_IF_ERROR_PLAIN(read_ints(n, "dilations", nsp, 1, w->dilation));
  MT_RETURN_IF_ERROR_PLAIN(read_ints(n, "pads", 2 * nsp, 0, w->pads));
  for (int i = 0; i < nsp; i++) {
    if (kernel && kernel[i] >= 0 && w->kernel[i] != kernel[i])
      return MT_ERR(INVALID_ARGUMENT, "kernel_shape[%d] = %lld but the weights have %lld", i,
                    (long long)w->kernel[i], (long long)kernel[i]);
    if (w->kernel[i] < 1 || w->stride[i] < 1 || w->dilation[i] < 1)
      return MT_ERR(INVALID_ARGUMENT, "kernel, stride and dilation must be >= 1 (dim %d)", i);
    if (w->pads[i] < 0 || w->pads[nsp + i] < 0)
      return MT_ERR(INVALID_ARGUMENT, "pads must be >= 0 (dim %d)", i);
  }
  const char *ap = mt_node_attr_string(n, "auto_pad", "NOTSET");
  if (!*ap || strcmp(ap, "NOTSET") == 0)
    w->auto_pad = MT_NN_PAD_NOTSET;
  else if (strcmp(ap, "SAME_UPPER") == 0)
    w->auto_pad = MT_NN_PAD_SAME_UPPER;
  else if (strcmp(ap, "SAME_LOWER") == 0)
    w->auto_pad = MT_NN_PAD_SAME_LOWER;
  else if (strcmp(ap, "VALID") == 0)
    w->auto_pad = MT_NN_PAD_VALID;
  else
    return MT_ERR(INVALID_ARGUMENT, "unknown auto_pad '%s'", ap);
  w->ceil_mode = mt_node_attr_int(n, "ceil_mode", 0) != 0;
  return NULL;
}

mt_status *mt_nn_window_forward(const mt_nn_window *w, const int64_t *in, mt_conv_geom *g) {
  memset(g, 0, sizeof *g);
  g->nsp = w->nsp;
  for (int d = 0; d < w->nsp; d++) {
    int64_t k = w->kernel[d], s = w->stride[d], dl = w->dilation[d], dk = (k - 1) * dl + 1;
    int64_t pb = w->pads[d], pe = w->pads[w->nsp + d], out = -1;
    g->in[d] = in[d];
    g->kernel[d] = k;
    g->stride[d] = s;
    g->dilation[d] = dl;
    if (w->auto_pad == MT_NN_PAD_VALID) pb = pe = 0;
    if (in[d] >= 0 &&
        (w->auto_pad == MT_NN_PAD_SAME_UPPER || w->auto_pad == MT_NN_PAD_SAME_LOWER)) {
      out = (in[d] + s - 1) / s;
      int64_t total = (out - 1) * s + dk - in[d];
      if (total < 0) total = 0;
      pb = w->auto_pad == MT_NN_PAD_SAME_UPPER ? total / 2 : total - total / 2;
      pe = total - pb;
    } else if (in[d] >= 0) {
      int64_t span = in[d] + pb + pe - dk;
      if (span < 0)
        return MT_ERR(
            INVALID_ARGUMENT,
            "window of extent %lld does not fit spatial dim %d of size %lld (+ pads %lld, "
            "%lld)",
            (long long)dk, d, (long long)in[d], (long long)pb, (long long)pe);
      if (w->ceil_mode) {
        out = (span + s - 1) / s + 1;
        if ((out - 1) * s >= in[d] + pb) out--; /* a last window starting inside the end pad */
      } else {
        out = span / s + 1;
      }
    }
    g->out[d] = out;
    g->pad_begin[d] = pb;
    g->pad_end[d] = pe;
  }
  return NULL;
}

/* ---------------------------------------------------------------- Conv */

typedef struct conv_plan {
  int64_t batch, c_in, c_out, group;
  mt_conv_geom g;
} conv_plan;

/* The checks Conv and ConvTranspose share: X, W (and B) have one float dtype, X and W the same
 * rank >= 3, group >= 1. Fills group, batch and c_in; the channel checks differ per op. */
MT_MUST_USE static mt_status *conv_plan_start(const mt_op_ctx *ctx, conv_plan *p) {
  const mt_tensor *x = mt_op_input(ctx, 0), *w = mt_op_input(ctx, 1), *b = mt_op_input(ctx, 2);
  MT_RETURN_IF_ERROR_PLAIN(mt_nn_require_float(x, "X"));
  if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
    return MT_ERR(INVALID_ARGUMENT, "X, W and B must share a dtype");
  if (x->rank < 3) return MT_ERR(INVALID_ARGUMENT, "X must have rank >= 3, got %d", x->rank);
  if (w->rank != x->rank)
    return MT_ERR(INVALID_ARGUMENT, "W has rank %d, X has rank %d", w->rank, x->rank);
  p->group = mt_node_attr_int(ctx->node, "group", 1);
  if (p->group < 1) return MT_ERR(INVALID_ARGUMENT, "group must be >= 1");
  p->batch = x->dims[0];
  p->c_in = x->dims[1];
  return NULL;
}

/* B (optional) must be 1-D of length c_out where both are known. */
MT_MUST_USE static mt_status *check_bias(const mt_tensor *b, int64_t c_out) {
  if (b && (b->rank != 1 || (b->dims[0] >= 0 && c_out >= 0 && b->dims[0] != c_out)))
    return MT_ERR(INVALID_ARGUMENT, "B must be 1-D of length %lld", (long long)c_out);
  return NULL;
}

MT_MUST_USE static mt_status *conv_plan_make(const mt_op_ctx *ctx, conv_plan *p) {
  MT_RETURN_IF_ERROR_PLAIN(conv_plan_start(ctx, p));
  const mt_tensor *x = mt_op_input(ctx, 0), *w = mt_op_input(ctx, 1), *b = mt_op_input(ctx, 2);
  int nsp = x->rank - 2;
  p->c_out = w->dims[0];
  if (p->c_in >= 0 && w->dims[1] >= 0 && w->dims[1] * p->group != p->c_in)
    return MT_ERR(INVALID_ARGUMENT, "X has %lld channels but W expects %lld x %lld groups",
                  (long long)p->c_in, (long long)w->dims[1], (long long)p->group);
  if (p->c_out >= 0 && p->c_out % p->group != 0)
    return MT_ERR(INVALID_ARGUMENT, "%lld output channels do not split into %lld groups",
                  (long long)p->c_out, (long long)p->group);
  MT_RETURN_IF_ERROR_PLAIN(check_bias(b, p->c_out));
  mt_nn_window win;
  MT_RETURN_IF_ERROR_PLAIN(mt_nn_window_parse(ctx->node, nsp, w->dims + 2, &win));
  win.ceil_mode = false;
  return mt_nn_window_forward(&win, x->dims + 2, &p->g);
}

mt_status *mt_nn_conv_infer(mt_op_ctx *ctx) {
  conv_plan p;
  MT_RETURN_IF_ERROR_PLAIN(conv_plan_make(ctx, &p));
  int64_t dims[MT_MAX_RANK] = {p.batch, p.c_out};
  for (int d = 0; d < p.g.nsp; d++) dims[2 + d] = p.g.out[d];
  mt_op_set_output(ctx, 0, mt_op_input(ctx, 0)->dtype, p.g.nsp + 2, dims);
  return NULL;
}

static void conv_call(const conv_plan *p, mt_kernel_kind kind, mt_kernel_call *call) {
  call->kind = kind;
  call->params.conv = (mt_kc_conv){
      .batch = p->batch, .c_in = p->c_in, .c_out = p->c_out, .group = p->group, .geom = p->g};
}

mt_status *mt_nn_conv_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  conv_plan p;
  MT_RETURN_IF_ERROR_PLAIN(conv_plan_make(ctx, &p));
  conv_call(&p, MT_KERNEL_CONV, out_call);
  return NULL;
}

/* ---------------------------------------------------------------- ConvTranspose */

/* Builds the forward geometry of a transposed convolution: g.in is Y's spatial shape, g.out
 * X's. */
MT_MUST_USE static mt_status *conv_transpose_plan_make(const mt_op_ctx *ctx, conv_plan *p) {
  MT_RETURN_IF_ERROR_PLAIN(conv_plan_start(ctx, p));
  const mt_tensor *x = mt_op_input(ctx, 0), *w = mt_op_input(ctx, 1), *b = mt_op_input(ctx, 2);
  int nsp = x->rank - 2;
  p->c_out = w->dims[1] < 0 ? -1 : w->dims[1] * p->group;
  if (p->c_in >= 0 && w->dims[0] >= 0 && w->dims[0] != p->c_in)
    return MT_ERR(INVALID_ARGUMENT, "X has %lld channels but W has %lld", (long long)p->c_in,
                  (long long)w->dims[0]);
  if (p->c_in >= 0 && p->c_in % p->group != 0)
    return MT_ERR(INVALID_ARGUMENT, "%lld input channels do not split into %lld groups",
                  (long long)p->c_in, (long long)p->group);
  MT_RETURN_IF_ERROR_PLAIN(check_bias(b, p->c_out));
  mt_nn_window win;
  MT_RETURN_IF_ERROR_PLAIN(mt_nn_window_parse(ctx->node, nsp, w->dims + 2, &win));
  int64_t out_pad[MT_CONV_MAX_SPATIAL], out_shape[MT_CONV_MAX_SPATIAL];
  MT_RETURN_IF_ERROR_PLAIN(read_ints(ctx->node, "output_padding", nsp, 0, out_pad));
  const int64_t *os;
  int64_t os_n = mt_node_attr_ints(ctx->node, "output_shape", &os);
  if (os_n >= 0) {
    /* Usually the spatial dims only; some exporters include N and C. */
    if (os_n != nsp && os_n != nsp + 2)
      return MT_ERR(INVALID_ARGUMENT, "output_shape has %lld values for %d spatial dims",
                    (long long)os_n, nsp);
    for (int d = 0; d < nsp; d++) out_shape[d] = os[os_n - nsp + d];
  }
  mt_conv_geom *g = &p->g;
  memset(g, 0, sizeof *g);
  g->nsp = nsp;
  for (int d = 0; d < nsp; d++) {
    int64_t in = x->dims[2 + d], k = win.kernel[d], s = win.stride[d], dl = win.dilation[d];
    int64_t dk = (k - 1) * dl + 1, pb = win.pads[d], pe = win.pads[nsp + d], out = -1;
    if (out_pad[d] < 0) return MT_ERR(INVALID_ARGUMENT, "output_padding must be >= 0");
    g->out[d] = in;
    g->kernel[d] = k;
    g->stride[d] = s;
    g->dilation[d] = dl;
    if (in >= 0) {
      int64_t full = s * (in - 1) + out_pad[d] + dk; /* output size with no padding */
      bool same = win.auto_pad == MT_NN_PAD_SAME_UPPER || win.auto_pad == MT_NN_PAD_SAME_LOWER;
      if (os_n >= 0 || same) {
        out = os_n >= 0 ? out_shape[d] : in * s;
        int64_t total = full - out;
        if (total < 0) total = 0; /* extra output positions at the end receive only bias */
        /* The odd pad goes to the end only for SAME_UPPER (ONNX spec; ONNX Runtime agrees). */
        pb = win.auto_pad == MT_NN_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        pe = total - pb;
      } else {
        if (win.auto_pad == MT_NN_PAD_VALID) pb = pe = 0;
        out = full - pb - pe;
      }
      if (out < 0)
        return MT_ERR(INVALID_ARGUMENT, "spatial dim %d: output size %lld is negative", d,
                      (long long)out);
    }
    g->in[d] = out;
    g->pad_begin[d] = pb;
    g->pad_end[d] = pe;
  }
  return NULL;
}

mt_status *mt_nn_conv_transpose_infer(mt_op_ctx *ctx) {
  conv_plan p;
  MT_RETURN_IF_ERROR_PLAIN(conv_transpose_plan_make(ctx, &p));
  int64_t dims[MT_MAX_RANK] = {p.batch, p.c_out};
  for (int d = 0; d < p.g.nsp; d++) dims[2 + d] = p.g.in[d];
  mt_op_set_output(ctx, 0, mt_op_input(ctx, 0)->dtype, p.g.nsp + 2, dims);
  return NULL;
}

mt_status *mt_nn_conv_transpose_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  conv_plan p;
  MT_RETURN_IF_ERROR_PLAIN(conv_transpose_plan_make(ctx, &p));
  conv_call(&p, MT_KERNEL_CONV_TRANSPOSE, out_call);
  return NULL;
}
