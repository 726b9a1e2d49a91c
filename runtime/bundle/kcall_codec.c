/* The fixed encoding of kernel-call parameters: one function per parameter struct walks its
 * fields in a fixed order, writing (encode) or reading and range-checking (decode), so the two
 * directions cannot drift apart. Every scalar is little-endian: bool 1 byte, enums and ints 4,
 * int64/uint64 8, float 4 and double 8 (IEEE bits). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/bundle/format.h"

typedef struct codec {
  uint8_t *buf; /* encode: growing output; decode: input */
  size_t pos, cap;
  bool decode;
  const char *bad; /* first problem found while decoding */
} codec;

static void c_raw(codec *c, uint8_t *b, size_t n) {
  if (c->bad) return;
  if (c->decode) {
    if (n > c->cap - c->pos) {
      c->bad = "parameters are truncated";
      memset(b, 0, n);
      return;
    }
    memcpy(b, c->buf + c->pos, n);
  } else {
    if (n > c->cap - c->pos) {
      size_t ncap = c->cap ? c->cap * 2 : 256;
      while (ncap - c->pos < n) ncap *= 2;
      uint8_t *nb = realloc(c->buf, ncap);
      if (!nb) {
        c->bad = "out of memory";
        return;
      }
      c->buf = nb, c->cap = ncap;
    }
    memcpy(c->buf + c->pos, b, n);
  }
  c->pos += n;
}

static void c_u64(codec *c, uint64_t *v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(*v >> (8 * i));
  c_raw(c, b, 8);
  if (c->decode) {
    *v = 0;
    for (int i = 0; i < 8; i++) *v |= (uint64_t)b[i] << (8 * i);
  }
}

static void c_u32(codec *c, uint32_t *v) {
  uint8_t b[4];
  for (int i = 0; i < 4; i++) b[i] = (uint8_t)(*v >> (8 * i));
  c_raw(c, b, 4);
  if (c->decode) {
    *v = 0;
    for (int i = 0; i < 4; i++) *v |= (uint32_t)b[i] << (8 * i);
  }
}

static void c_i64(codec *c, int64_t *v) {
  uint64_t u = (uint64_t)*v;
  c_u64(c, &u);
  *v = (int64_t)u;
}

/* An int that must lie in [lo, hi]. */
static void c_int(codec *c, int *v, int lo, int hi, const char *field) {
  uint32_t u = (uint32_t)(int32_t)*v;
  c_u32(c, &u);
  if (!c->decode) return;
  int32_t s = (int32_t)u;
  if (s < lo || s > hi) {
    if (!c->bad) c->bad = field;
    s = lo;
  }
  *v = s;
}

static void c_bool(codec *c, bool *v) {
  uint8_t b = *v ? 1 : 0;
  c_raw(c, &b, 1);
  if (c->decode) {
    if (b > 1 && !c->bad) c->bad = "a flag is neither 0 nor 1";
    *v = b == 1;
  }
}

static void c_f32(codec *c, float *v) {
  uint32_t u;
  memcpy(&u, v, 4);
  c_u32(c, &u);
  if (c->decode) memcpy(v, &u, 4);
}

static void c_f64(codec *c, double *v) {
  uint64_t u;
  memcpy(&u, v, 8);
  c_u64(c, &u);
  if (c->decode) memcpy(v, &u, 8);
}

/* Enums go through an int so that their storage size never matters. */
#define C_ENUM(c, field, lo, hi, name)                                                             \
  do {                                                                                             \
    int e_ = (int)(field);                                                                         \
    c_int(c, &e_, lo, hi, name);                                                                   \
    (field) = e_;                                                                                  \
  } while (0)

static void c_i64s(codec *c, int64_t *v, int n) {
  for (int i = 0; i < n; i++) c_i64(c, &v[i]);
}

static void c_geom(codec *c, mt_conv_geom *g) {
  c_int(c, &g->nsp, 1, MT_CONV_MAX_SPATIAL, "conv geometry: spatial rank out of range");
  c_i64s(c, g->in, MT_CONV_MAX_SPATIAL);
  c_i64s(c, g->out, MT_CONV_MAX_SPATIAL);
  c_i64s(c, g->kernel, MT_CONV_MAX_SPATIAL);
  c_i64s(c, g->stride, MT_CONV_MAX_SPATIAL);
  c_i64s(c, g->dilation, MT_CONV_MAX_SPATIAL);
  c_i64s(c, g->pad_begin, MT_CONV_MAX_SPATIAL);
  c_i64s(c, g->pad_end, MT_CONV_MAX_SPATIAL);
}

static void c_einsum(codec *c, mt_einsum_eq *e) {
  c_int(c, &e->n_inputs, 0, MT_EINSUM_MAX_INPUTS, "einsum: input count out of range");
  for (int i = 0; i <= MT_EINSUM_MAX_INPUTS; i++) {
    mt_einsum_term *t = i < MT_EINSUM_MAX_INPUTS ? &e->in[i] : &e->out;
    c_int(c, &t->n, 0, MT_MAX_RANK, "einsum: term rank out of range");
    for (int k = 0; k < MT_MAX_RANK; k++)
      c_int(c, &t->label[k], 0, MT_EINSUM_MAX_LABELS - 1, "einsum: label out of range");
  }
  c_i64s(c, e->size, MT_EINSUM_MAX_LABELS);
}

static void c_resize(codec *c, mt_resize_params *r) {
  C_ENUM(c, r->mode, MT_RESIZE_NEAREST, MT_RESIZE_CUBIC, "resize: mode out of range");
  C_ENUM(c, r->coord, 0, MT_RESIZE_TF_CROP_AND_RESIZE, "resize: coordinate mode out of range");
  C_ENUM(c, r->nearest, 0, MT_RESIZE_SIMPLE, "resize: nearest mode out of range");
  c_f64(c, &r->cubic_a);
  c_bool(c, &r->exclude_outside);
  c_bool(c, &r->antialias);
  c_f64(c, &r->extrapolation_value);
  c_int(c, &r->rank, 0, MT_MAX_RANK, "resize: rank out of range");
  c_i64s(c, r->in_dims, MT_MAX_RANK);
  c_i64s(c, r->out_dims, MT_MAX_RANK);
  for (int i = 0; i < MT_MAX_RANK; i++) c_f64(c, &r->scales[i]);
  for (int i = 0; i < 2 * MT_MAX_RANK; i++) c_f64(c, &r->roi[i]);
  c_int(c, &r->n_axes, 0, MT_MAX_RANK, "resize: axis count out of range");
  for (int i = 0; i < MT_MAX_RANK; i++)
    c_int(c, &r->axes[i], 0, MT_MAX_RANK - 1, "resize: axis out of range");
}

static void c_call(codec *c, mt_kernel_call *k) {
  const int AX = MT_MAX_RANK - 1;
  switch (k->kind) {
  case MT_KERNEL_UNARY: {
    mt_kc_unary *u = &k->params.unary;
    C_ENUM(c, u->op, 0, MT_EW_UNARY_LAST, "unary: op out of range");
    c_f32(c, &u->params.alpha);
    c_f32(c, &u->params.beta);
    c_f32(c, &u->params.gamma);
    c_int(c, &u->params.approximate, 0, 1, "unary: approximate out of range");
    c_f64(c, &u->params.lo);
    c_f64(c, &u->params.hi);
    c_i64(c, &u->params.lo_i);
    c_i64(c, &u->params.hi_i);
    c_bool(c, &u->bounds_from_inputs);
    break;
  }
  case MT_KERNEL_BINARY: {
    mt_kc_binary *b = &k->params.binary;
    C_ENUM(c, b->op, 0, MT_EW_BINARY_LAST, "binary: op out of range");
    c_int(c, &b->a_rank, 0, MT_MAX_RANK, "binary: rank of A out of range");
    c_int(c, &b->b_rank, 0, MT_MAX_RANK, "binary: rank of B out of range");
    c_i64s(c, b->a_dims, MT_MAX_RANK);
    c_i64s(c, b->b_dims, MT_MAX_RANK);
    break;
  }
  case MT_KERNEL_VARIADIC:
    C_ENUM(c, k->params.variadic.op, 0, MT_EW_BINARY_LAST, "variadic: op out of range");
    c_bool(c, &k->params.variadic.mean);
    break;
  case MT_KERNEL_COPY: c_bool(c, &k->params.copy.fill_mask); break;
  case MT_KERNEL_TRANSPOSE:
    for (int i = 0; i < MT_MAX_RANK; i++)
      c_int(c, &k->params.transpose.perm[i], 0, AX, "transpose: permutation out of range");
    break;
  case MT_KERNEL_TILE: c_i64s(c, k->params.tile.repeats, MT_MAX_RANK); break;
  case MT_KERNEL_DEPTH_TO_SPACE:
    c_i64(c, &k->params.depth_to_space.block);
    c_bool(c, &k->params.depth_to_space.crd);
    c_bool(c, &k->params.depth_to_space.space_to_depth);
    break;
  case MT_KERNEL_CONCAT:
  case MT_KERNEL_GATHER:
  case MT_KERNEL_GATHER_ELEMENTS: c_int(c, &k->params.axis.axis, 0, AX, "axis out of range"); break;
  case MT_KERNEL_SPLIT: {
    mt_kc_split *s = &k->params.split;
    c_int(c, &s->axis, 0, AX, "split: axis out of range");
    c_int(c, &s->n_outputs, 0, MT_KC_MAX_SPLIT, "split: output count out of range");
    c_i64s(c, s->sizes, s->n_outputs);
    break;
  }
  case MT_KERNEL_SLICE:
    c_i64s(c, k->params.slice.starts, MT_MAX_RANK);
    c_i64s(c, k->params.slice.steps, MT_MAX_RANK);
    break;
  case MT_KERNEL_PAD: {
    mt_kc_pad *p = &k->params.pad;
    c_i64s(c, p->pads, 2 * MT_MAX_RANK);
    C_ENUM(c, p->mode, MT_PAD_CONSTANT, MT_PAD_WRAP, "pad: mode out of range");
    c_u64(c, &p->fill[0]);
    c_u64(c, &p->fill[1]);
    c_bool(c, &p->fill_from_input);
    break;
  }
  case MT_KERNEL_RESIZE: c_resize(c, &k->params.resize); break;
  case MT_KERNEL_SHAPE:
    c_i64(c, &k->params.shape.start);
    c_i64(c, &k->params.shape.end);
    break;
  case MT_KERNEL_CONSTANT_OF_SHAPE:
    C_ENUM(c, k->params.fill.dtype, 0, MT_DTYPE_BFLOAT16, "fill: dtype out of range");
    c_u64(c, &k->params.fill.value[0]);
    c_u64(c, &k->params.fill.value[1]);
    break;
  case MT_KERNEL_GEMM:
    c_bool(c, &k->params.gemm.trans_a);
    c_bool(c, &k->params.gemm.trans_b);
    c_f32(c, &k->params.gemm.alpha);
    c_f32(c, &k->params.gemm.beta);
    break;
  case MT_KERNEL_CONV:
  case MT_KERNEL_CONV_TRANSPOSE:
    c_i64(c, &k->params.conv.batch);
    c_i64(c, &k->params.conv.c_in);
    c_i64(c, &k->params.conv.c_out);
    c_i64(c, &k->params.conv.group);
    c_geom(c, &k->params.conv.geom);
    break;
  case MT_KERNEL_POOL:
    c_bool(c, &k->params.pool.is_max);
    c_bool(c, &k->params.pool.col_major);
    c_bool(c, &k->params.pool.count_include_pad);
    c_i64(c, &k->params.pool.planes);
    c_geom(c, &k->params.pool.geom);
    break;
  case MT_KERNEL_GLOBAL_POOL: c_bool(c, &k->params.global_pool.is_max); break;
  case MT_KERNEL_SOFTMAX:
    c_bool(c, &k->params.softmax.log);
    c_i64(c, &k->params.softmax.outer);
    c_i64(c, &k->params.softmax.n);
    c_i64(c, &k->params.softmax.inner);
    break;
  case MT_KERNEL_BATCHNORM:
    c_f32(c, &k->params.batchnorm.epsilon);
    c_f32(c, &k->params.batchnorm.momentum);
    c_bool(c, &k->params.batchnorm.training);
    c_bool(c, &k->params.batchnorm.allow_per_element);
    break;
  case MT_KERNEL_INSTANCENORM:
  case MT_KERNEL_LAYERNORM:
    c_int(c, &k->params.norm.axis, 0, AX, "norm: axis out of range");
    c_f32(c, &k->params.norm.epsilon);
    break;
  case MT_KERNEL_EINSUM: c_einsum(c, &k->params.einsum); break;
  case MT_KERNEL_REDUCE:
    C_ENUM(c, k->params.reduce.op, 0, MT_REDUCE_LOG_SUM_EXP, "reduce: op out of range");
    c_u32(c, &k->params.reduce.axes_mask);
    break;
  case MT_KERNEL_ARG_REDUCE:
    c_int(c, &k->params.arg_reduce.axis, 0, AX, "arg reduce: axis out of range");
    c_bool(c, &k->params.arg_reduce.is_min);
    c_bool(c, &k->params.arg_reduce.select_last);
    break;
  case MT_KERNEL_TOPK:
    c_int(c, &k->params.topk.axis, 0, AX, "topk: axis out of range");
    c_i64(c, &k->params.topk.k);
    c_bool(c, &k->params.topk.largest);
    break;
  case MT_KERNEL_CUMSUM:
    c_bool(c, &k->params.cumsum.exclusive);
    c_bool(c, &k->params.cumsum.reverse);
    break;
  case MT_KERNEL_HARDMAX:
    c_bool(c, &k->params.softmax.log);
    c_i64(c, &k->params.softmax.outer);
    c_i64(c, &k->params.softmax.n);
    c_i64(c, &k->params.softmax.inner);
    break;
  case MT_KERNEL_GATHER_ND:
    c_int(c, &k->params.gather_nd.batch_dims, 0, AX, "gather_nd: batch_dims out of range");
    break;
  case MT_KERNEL_SCATTER_ND:
  case MT_KERNEL_SCATTER_ELEMENTS:
    c_int(c, &k->params.scatter.axis, 0, AX, "scatter: axis out of range");
    C_ENUM(c, k->params.scatter.reduction, MT_SCATTER_NONE, MT_SCATTER_MIN,
           "scatter: reduction out of range");
    break;
  case MT_KERNEL_ONE_HOT:
    c_int(c, &k->params.axis.axis, 0, AX, "one_hot: axis out of range");
    break;
  case MT_KERNEL_TRILU: c_bool(c, &k->params.trilu.upper); break;
  case MT_KERNEL_EYE_LIKE: c_i64(c, &k->params.eye_like.k); break;
  case MT_KERNEL_REVERSE_SEQUENCE:
    c_int(c, &k->params.reverse_sequence.batch_axis, 0, 1, "reverse_sequence: axis out of range");
    c_int(c, &k->params.reverse_sequence.time_axis, 0, 1, "reverse_sequence: axis out of range");
    break;
  case MT_KERNEL_NORMALIZE: {
    mt_kc_normalize *q = &k->params.normalize;
    C_ENUM(c, q->kind, MT_NORMALIZE_MVN, MT_NORMALIZE_GROUP, "normalize: kind out of range");
    c_int(c, &q->rank, 1, MT_MAX_RANK, "normalize: rank out of range");
    c_i64s(c, q->dims, MT_MAX_RANK);
    c_u32(c, &q->reduce_mask);
    c_u32(c, &q->param_mask);
    c_f32(c, &q->epsilon);
    c_int(c, &q->p, 1, 2, "normalize: p out of range");
    break;
  }
  case MT_KERNEL_COMPRESS:
    c_int(c, &k->params.compress.axis, 0, AX, "compress: axis out of range");
    c_bool(c, &k->params.compress.flatten);
    break;
  case MT_KERNEL_NLL_LOSS:
    C_ENUM(c, k->params.nll_loss.reduction, MT_LOSS_NONE, MT_LOSS_MEAN,
           "loss: reduction out of range");
    c_bool(c, &k->params.nll_loss.log_softmax);
    c_bool(c, &k->params.nll_loss.has_ignore);
    c_i64(c, &k->params.nll_loss.ignore_index);
    break;
  case MT_KERNEL_WINDOW:
    C_ENUM(c, k->params.window.kind, MT_WINDOW_HANN, MT_WINDOW_BLACKMAN,
           "window: kind out of range");
    c_bool(c, &k->params.window.periodic);
    break;
  case MT_KERNEL_LRN:
    c_i64(c, &k->params.lrn.size);
    c_f32(c, &k->params.lrn.alpha);
    c_f32(c, &k->params.lrn.beta);
    c_f32(c, &k->params.lrn.bias);
    break;
  /* quantization (runtime/cpu/quant.h) */
  case MT_KERNEL_QUANTIZE:
  case MT_KERNEL_DEQUANTIZE:
    C_ENUM(c, k->params.quant.mode, MT_QUANT_PER_TENSOR, MT_QUANT_BLOCKED,
           "quant: mode out of range");
    c_i64(c, &k->params.quant.axis_dim);
    c_i64(c, &k->params.quant.inner);
    c_i64(c, &k->params.quant.block);
    c_bool(c, &k->params.quant.saturate);
    break;
  case MT_KERNEL_QMATMUL:
  case MT_KERNEL_QCONV: {
    mt_kc_qlinear *q = &k->params.qlinear;
    c_bool(c, &q->requantize);
    for (int i = 0; i < MT_QIN_COUNT; i++) {
      int v = q->in[i];
      c_int(c, &v, -1, 15, "qlinear: input slot out of range");
      q->in[i] = (int8_t)v;
    }
    if (k->kind == MT_KERNEL_QCONV) {
      c_i64(c, &q->batch);
      c_i64(c, &q->c_in);
      c_i64(c, &q->c_out);
      c_i64(c, &q->group);
      c_geom(c, &q->geom);
    }
    break;
  }
  case MT_KERNEL_DFT:
    c_int(c, &k->params.dft.axis, 0, AX, "dft: axis out of range");
    c_i64(c, &k->params.dft.length);
    c_bool(c, &k->params.dft.inverse);
    c_bool(c, &k->params.dft.onesided);
    break;
  case MT_KERNEL_STFT:
    c_i64(c, &k->params.stft.frame_step);
    c_i64(c, &k->params.stft.frame_length);
    c_bool(c, &k->params.stft.onesided);
    break;
  case MT_KERNEL_MEL_WEIGHT:
    c_i64(c, &k->params.mel.num_mel_bins);
    c_i64(c, &k->params.mel.dft_length);
    c_i64(c, &k->params.mel.sample_rate);
    c_f64(c, &k->params.mel.lower_hz);
    c_f64(c, &k->params.mel.upper_hz);
    break;
  case MT_KERNEL_RNN: {
    mt_kc_rnn *r = &k->params.rnn;
    C_ENUM(c, r->cell, MT_RNN_SIMPLE, MT_RNN_LSTM, "rnn: cell out of range");
    c_int(c, &r->directions, 1, 2, "rnn: directions out of range");
    c_bool(c, &r->reverse);
    c_int(c, &r->layout, 0, 1, "rnn: layout out of range");
    c_i64(c, &r->hidden);
    c_bool(c, &r->has_clip);
    c_f32(c, &r->clip);
    c_bool(c, &r->linear_before_reset);
    c_bool(c, &r->input_forget);
    for (int d = 0; d < 2; d++)
      for (int g = 0; g < 3; g++) {
        C_ENUM(c, r->act[d][g], MT_RNN_ACT_RELU, MT_RNN_ACT_SOFTPLUS,
               "rnn: activation out of range");
        c_f32(c, &r->alpha[d][g]);
        c_f32(c, &r->beta[d][g]);
      }
    break;
  }
  /* detection and vision */
  case MT_KERNEL_NMS: c_bool(c, &k->params.nms.center_point_box); break;
  case MT_KERNEL_ROI_ALIGN:
    c_bool(c, &k->params.roi_align.is_max);
    c_bool(c, &k->params.roi_align.half_pixel);
    c_i64(c, &k->params.roi_align.sampling_ratio);
    c_f32(c, &k->params.roi_align.spatial_scale);
    break;
  case MT_KERNEL_GRID_SAMPLE:
    C_ENUM(c, k->params.grid_sample.mode, MT_GRID_LINEAR, MT_GRID_CUBIC,
           "grid_sample: mode out of range");
    C_ENUM(c, k->params.grid_sample.padding, MT_GRID_PAD_ZEROS, MT_GRID_PAD_REFLECTION,
           "grid_sample: padding out of range");
    c_bool(c, &k->params.grid_sample.align_corners);
    break;
  case MT_KERNEL_MAX_UNPOOL: c_i64s(c, k->params.max_unpool.unpooled, MT_MAX_RANK); break;
  case MT_KERNEL_CUMPROD:
    c_int(c, &k->params.cumprod.axis, 0, AX, "cumprod: axis out of range");
    c_bool(c, &k->params.cumprod.exclusive);
    c_bool(c, &k->params.cumprod.reverse);
    break;
  case MT_KERNEL_AFFINE_GRID: c_bool(c, &k->params.affine_grid.align_corners); break;
  case MT_KERNEL_COL2IM:
    c_int(c, &k->params.col2im.nsp, 1, MT_CONV_MAX_SPATIAL, "col2im: spatial rank out of range");
    c_i64s(c, k->params.col2im.block, MT_CONV_MAX_SPATIAL);
    c_i64s(c, k->params.col2im.stride, MT_CONV_MAX_SPATIAL);
    c_i64s(c, k->params.col2im.dilation, MT_CONV_MAX_SPATIAL);
    c_i64s(c, k->params.col2im.pad_begin, MT_CONV_MAX_SPATIAL);
    c_i64s(c, k->params.col2im.blocks, MT_CONV_MAX_SPATIAL);
    break;
  case MT_KERNEL_UNIQUE:
    c_int(c, &k->params.unique.axis, 0, AX, "unique: axis out of range");
    c_bool(c, &k->params.unique.flatten);
    c_bool(c, &k->params.unique.sorted);
    break;
  case MT_KERNEL_ROTARY: {
    mt_kc_rotary *r = &k->params.rotary;
    c_i64(c, &r->batch);
    c_i64(c, &r->heads);
    c_i64(c, &r->seq);
    c_i64(c, &r->head_size);
    c_i64(c, &r->rot_dim);
    c_i64(c, &r->max_pos);
    c_bool(c, &r->in3d);
    c_bool(c, &r->interleaved);
    c_bool(c, &r->has_pos);
    break;
  }
  case MT_KERNEL_ATTENTION: {
    mt_kc_attention *a = &k->params.attention;
    c_i64(c, &a->batch);
    c_i64(c, &a->q_heads);
    c_i64(c, &a->kv_heads);
    c_i64(c, &a->q_len);
    c_i64(c, &a->kv_len);
    c_i64(c, &a->past_len);
    c_i64(c, &a->head_qk);
    c_i64(c, &a->head_v);
    c_i64s(c, a->mask_dims, 4);
    c_i64(c, &a->left_window);
    c_i64(c, &a->right_window);
    c_f32(c, &a->scale);
    c_f32(c, &a->softcap);
    c_int(c, &a->qk_mode, 0, 3, "attention: qk_matmul_output_mode out of range");
    int mk = (int)a->mask;
    c_int(c, &mk, MT_ATTN_MASK_NONE, MT_ATTN_MASK_FLOAT, "attention: mask kind out of range");
    a->mask = (mt_attn_mask_kind)mk;
    c_bool(c, &a->in3d);
    c_bool(c, &a->causal);
    c_bool(c, &a->has_nonpad);
    break;
  }
  case MT_KERNEL_SWIGLU: c_f32(c, &k->params.swiglu.alpha); break;
  case MT_KERNEL_TENSOR_SCATTER: {
    mt_kc_tensor_scatter *t = &k->params.tensor_scatter;
    c_i64(c, &t->batch);
    c_i64(c, &t->outer);
    c_i64(c, &t->max_seq);
    c_i64(c, &t->seq);
    c_i64(c, &t->inner);
    c_bool(c, &t->circular);
    c_bool(c, &t->has_indices);
    break;
  }
  case MT_KERNEL_DEFORM_CONV: {
    mt_kc_deform_conv *d = &k->params.deform_conv;
    int64_t *geo[] = {&d->n,  &d->c,  &d->h,  &d->w,     &d->oc,          &d->oh,
                      &d->ow, &d->kh, &d->kw, &d->group, &d->offset_group};
    for (size_t i = 0; i < sizeof geo / sizeof *geo; i++) c_i64(c, geo[i]);
    c_i64s(c, d->stride, 2);
    c_i64s(c, d->pad, 2);
    c_i64s(c, d->dil, 2);
    c_bool(c, &d->has_bias);
    c_bool(c, &d->has_mask);
    break;
  }
  case MT_KERNEL_TFIDF: {
    mt_kc_tfidf *t = &k->params.tfidf;
    c_int(c, &t->n_pool, 0, MT_KC_TFIDF_POOL, "tfidf: pool size out of range");
    c_int(c, &t->n_grams, 0, MT_KC_TFIDF_GRAMS, "tfidf: gram count out of range");
    c_int(c, &t->n_weights, 0, MT_KC_TFIDF_GRAMS, "tfidf: weight count out of range");
    c_i64s(c, t->pool, MT_KC_TFIDF_POOL);
    for (int i = 0; i < MT_KC_TFIDF_GRAMS; i++) {
      c_int(c, &t->start[i], 0, MT_KC_TFIDF_POOL, "tfidf: gram start out of range");
      c_int(c, &t->len[i], 0, MT_KC_TFIDF_POOL, "tfidf: gram length out of range");
      c_int(c, &t->col[i], 0, 1 << 30, "tfidf: gram column out of range");
      c_f32(c, &t->weights[i]);
    }
    c_int(c, &t->out_size, 1, 1 << 30, "tfidf: output size out of range");
    c_int(c, &t->min_len, 1, 64, "tfidf: min_gram_length out of range");
    c_int(c, &t->max_len, 1, 64, "tfidf: max_gram_length out of range");
    c_int(c, &t->max_skip, 0, 1 << 20, "tfidf: max_skip_count out of range");
    C_ENUM(c, t->mode, MT_TFIDF_TF, MT_TFIDF_TFIDF, "tfidf: mode out of range");
    c_i64(c, &t->rows);
    c_i64(c, &t->cols);
    break;
  }
  case MT_KERNEL_CAUSAL_CONV: {
    mt_kc_causal_conv *q = &k->params.causal_conv;
    c_i64(c, &q->batch);
    c_i64(c, &q->channels);
    c_i64(c, &q->len);
    c_i64(c, &q->k);
    c_bool(c, &q->has_bias);
    c_bool(c, &q->has_past);
    c_bool(c, &q->silu);
    break;
  }
  case MT_KERNEL_LINEAR_ATTN: {
    mt_kc_linear_attn *l = &k->params.linear_attn;
    c_i64(c, &l->batch);
    c_i64(c, &l->steps);
    c_i64(c, &l->q_heads);
    c_i64(c, &l->kv_heads);
    c_i64(c, &l->dk);
    c_i64(c, &l->dv);
    c_int(c, &l->decay_mode, 0, 2, "linear_attn: decay mode out of range");
    c_int(c, &l->beta_mode, 0, 2, "linear_attn: beta mode out of range");
    c_f32(c, &l->scale);
    c_bool(c, &l->has_past);
    break;
  }
  case MT_KERNEL_LP_POOL:
    c_i64(c, &k->params.lp_pool.p);
    c_i64(c, &k->params.lp_pool.planes);
    c_geom(c, &k->params.lp_pool.geom);
    break;
  default: /* kinds without parameters */ break;
  }
}

mt_status *mt_kc_encode(const mt_kernel_call *call, uint8_t **out, size_t *out_size) {
  codec c = {0};
  mt_kernel_call copy = *call; /* the walker takes non-const pointers for both directions */
  c_call(&c, &copy);
  if (c.bad) {
    free(c.buf);
    return MT_ERR(RESOURCE_EXHAUSTED, "encoding a %s kernel call: %s",
                  mt_kernel_kind_name(call->kind), c.bad);
  }
  *out = c.buf;
  *out_size = c.pos;
  return NULL;
}

mt_status *mt_kc_decode(mt_kernel_kind kind, const uint8_t *data, size_t size,
                        mt_kernel_call *out_call) {
  if ((int)kind <= MT_KERNEL_INVALID || (int)kind >= MT_KERNEL_COUNT)
    return MT_ERR(DATA_LOSS, "kernel kind %d is out of range [1, %d)", (int)kind, MT_KERNEL_COUNT);
  memset(out_call, 0, sizeof *out_call);
  out_call->kind = kind;
  codec c = {.buf = (uint8_t *)data, .cap = size, .decode = true};
  c_call(&c, out_call);
  if (!c.bad && c.pos != size) c.bad = "parameters have trailing bytes";
  if (c.bad) return MT_ERR(DATA_LOSS, "%s kernel call: %s", mt_kernel_kind_name(kind), c.bad);
  return NULL;
}
