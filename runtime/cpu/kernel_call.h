/* Kernel-call descriptors: the boundary between the compiler's ops and the CPU kernels.
 *
 * An op lowers one node (attributes decoded, input shapes and shape-determining values read,
 * everything validated) into an mt_kernel_call: a kind and a plain parameter struct. The call is
 * plain data (fixed-size arrays, no pointers, no ONNX or IR types), so it can be copied by value,
 * written into a bundle and executed later by libmtrt's CPU path, which links no compiler code.
 * mt_cpu_kernel_run executes a call on tensor views; the reference executor and libmtrt share
 * this one dispatch, so what the compiler checks is what the runtime runs.
 *
 * This header must not include anything from ir/ or above. */
#ifndef MT_CPU_KERNEL_CALL_H
#define MT_CPU_KERNEL_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/base/status.h"
#include "runtime/cpu/conv.h"
#include "runtime/cpu/einsum.h"
#include "runtime/cpu/elementwise.h"
#include "runtime/cpu/layout.h"
#include "runtime/cpu/quant.h"
#include "runtime/cpu/reduce.h"
#include "runtime/cpu/resize.h"
#include "runtime/cpu/tensor.h"

/* One kind per runtime/cpu entry-point family. Values are stable: a bundle may store them, so
 * append new kinds before MT_KERNEL_COUNT, never renumber. */
typedef enum mt_kernel_kind {
  MT_KERNEL_INVALID = 0,
  /* elementwise */
  MT_KERNEL_UNARY,    /* mt_kc_unary: activations, math, Clip, Not */
  MT_KERNEL_BINARY,   /* mt_kc_binary: broadcasting arithmetic, comparisons, logic */
  MT_KERNEL_VARIADIC, /* mt_kc_variadic: Sum, Mean, Min, Max */
  MT_KERNEL_WHERE,    /* no parameters */
  MT_KERNEL_CAST,     /* no parameters: output 0's dtype is the target */
  MT_KERNEL_COPY,     /* mt_kc_copy: same bytes under the output's shape (Reshape...) */
  /* data movement */
  MT_KERNEL_TRANSPOSE,       /* mt_kc_transpose */
  MT_KERNEL_EXPAND,          /* no parameters: input broadcast to output 0's shape */
  MT_KERNEL_TILE,            /* mt_kc_tile */
  MT_KERNEL_DEPTH_TO_SPACE,  /* mt_kc_depth_to_space (both directions) */
  MT_KERNEL_CONCAT,          /* mt_kc_axis */
  MT_KERNEL_SPLIT,           /* mt_kc_split */
  MT_KERNEL_SLICE,           /* mt_kc_slice */
  MT_KERNEL_GATHER,          /* mt_kc_axis */
  MT_KERNEL_GATHER_ELEMENTS, /* mt_kc_axis */
  MT_KERNEL_PAD,             /* mt_kc_pad */
  MT_KERNEL_RESIZE,          /* mt_resize_params */
  /* shapes and generated values */
  MT_KERNEL_SHAPE,             /* mt_kc_shape: input 0's dims [start, end) as int64 */
  MT_KERNEL_SIZE,              /* no parameters: input 0's element count as int64 */
  MT_KERNEL_CONSTANT_OF_SHAPE, /* mt_kc_fill */
  MT_KERNEL_RANGE,             /* no parameters: start and delta are inputs 0 and 2 */
  MT_KERNEL_NONZERO,           /* no parameters; allocates its output (data-dependent size) */
  /* nn */
  MT_KERNEL_GEMM,           /* mt_kc_gemm */
  MT_KERNEL_MATMUL,         /* no parameters: numpy.matmul of inputs 0 and 1, batched */
  MT_KERNEL_CONV,           /* mt_kc_conv */
  MT_KERNEL_CONV_TRANSPOSE, /* mt_kc_conv (geometry in the forward sense) */
  MT_KERNEL_POOL,           /* mt_kc_pool */
  MT_KERNEL_GLOBAL_POOL,    /* mt_kc_global_pool */
  MT_KERNEL_SOFTMAX,        /* mt_kc_softmax (Softmax and LogSoftmax) */
  MT_KERNEL_BATCHNORM,      /* mt_kc_batchnorm */
  MT_KERNEL_INSTANCENORM,   /* mt_kc_norm */
  MT_KERNEL_LAYERNORM,      /* mt_kc_norm */
  MT_KERNEL_EINSUM,         /* mt_einsum_eq */
  /* reductions */
  MT_KERNEL_REDUCE,     /* mt_kc_reduce */
  MT_KERNEL_ARG_REDUCE, /* mt_kc_arg_reduce: ArgMax, ArgMin */
  MT_KERNEL_TOPK,       /* mt_kc_topk */
  MT_KERNEL_CUMSUM,     /* mt_kc_cumsum: the axis is input 1's value */
  /* indexing and generated values (kernel_call_index.c) */
  MT_KERNEL_HARDMAX,          /* mt_kc_softmax (log unused): 1 at each row's first maximum */
  MT_KERNEL_GATHER_ND,        /* mt_kc_gather_nd */
  MT_KERNEL_SCATTER_ND,       /* mt_kc_scatter (axis unused) */
  MT_KERNEL_SCATTER_ELEMENTS, /* mt_kc_scatter */
  MT_KERNEL_ONE_HOT,          /* mt_kc_axis (normalised against the output's rank); depth is
                               * input 1, [off, on] input 2 */
  MT_KERNEL_TRILU,            /* mt_kc_trilu; the diagonal offset k is input 1 (0 if absent) */
  MT_KERNEL_EYE_LIKE,         /* mt_kc_eye_like */
  MT_KERNEL_REVERSE_SEQUENCE, /* mt_kc_reverse_sequence; the lengths are input 1 */
  /* normalisations over an axes set, and Lp pooling (kernel_call_norm.c) */
  MT_KERNEL_NORMALIZE, /* mt_kc_normalize: MVN, RMSNormalization, LpNormalization, GroupNorm */
  MT_KERNEL_LP_POOL,   /* mt_kc_lp_pool */
  MT_KERNEL_COMPRESS,  /* mt_kc_compress; the condition is input 1 (kernel_call_index.c) */
  MT_KERNEL_NLL_LOSS,  /* mt_kc_nll_loss: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss
                        * (kernel_call_loss.c) */
  MT_KERNEL_WINDOW,    /* mt_kc_window: Hann, Hamming, Blackman windows (kernel_call_index.c) */
  MT_KERNEL_LRN,       /* mt_kc_lrn (kernel_call_norm.c) */
  /* quantization (quant.h, kernel_call_quant.c) */
  MT_KERNEL_QUANTIZE,     /* mt_kc_quant: QuantizeLinear (x, scale, zero point) */
  MT_KERNEL_DEQUANTIZE,   /* mt_kc_quant: DequantizeLinear (x, scale, zero point) */
  MT_KERNEL_DYN_QUANTIZE, /* no parameters: DynamicQuantizeLinear to uint8 (y, scale, zp) */
  MT_KERNEL_QMATMUL,      /* mt_kc_qlinear: MatMulInteger, QLinearMatMul */
  MT_KERNEL_QCONV,        /* mt_kc_qlinear: ConvInteger, QLinearConv */
  /* recurrent layers (kernel_call_rnn.c) */
  MT_KERNEL_RNN,        /* mt_kc_rnn: RNN, GRU, LSTM */
  MT_KERNEL_DFT,        /* mt_kc_dft (kernel_call_signal.c) */
  MT_KERNEL_STFT,       /* mt_kc_stft; the window is input 2 when present */
  MT_KERNEL_MEL_WEIGHT, /* mt_kc_mel: MelWeightMatrix */
  /* detection and vision (kernel_call_vision.c) */
  MT_KERNEL_NMS,         /* mt_kc_nms; allocates its output (data-dependent size) */
  MT_KERNEL_ROI_ALIGN,   /* mt_kc_roi_align; rois and batch indices are inputs 1 and 2 */
  MT_KERNEL_GRID_SAMPLE, /* mt_kc_grid_sample; the grid is input 1 */
  MT_KERNEL_MAX_UNPOOL,  /* mt_kc_max_unpool; the indices are input 1 */
  MT_KERNEL_DET,         /* no parameters: determinant of each trailing square matrix */
  MT_KERNEL_UNIQUE,      /* mt_kc_unique; allocates its outputs (kernel_call_unique.c) */
  MT_KERNEL_CUMPROD,     /* mt_kc_cumprod (kernel_call_vision.c) */
  MT_KERNEL_AFFINE_GRID, /* mt_kc_affine_grid; theta is input 0, the sizes are the output's */
  MT_KERNEL_COL2IM,      /* mt_kc_col2im */
  /* attention family (kernel_call_attention.c) */
  MT_KERNEL_ROTARY,    /* mt_kc_rotary: RotaryEmbedding */
  MT_KERNEL_ATTENTION, /* mt_kc_attention: Attention */
  /* dtypes (issue 13) */
  MT_KERNEL_CAST_NO_SATURATE, /* no parameters: Cast with saturate = 0 (float8 targets) */
  /* the newest opsets' ops (issue 13, kernel_call_newops.c) */
  MT_KERNEL_SWIGLU,         /* mt_kc_swiglu: SwiGLU */
  MT_KERNEL_BITCAST,        /* no parameters: BitCast (same byte size, bytes copied) */
  MT_KERNEL_TENSOR_SCATTER, /* mt_kc_tensor_scatter; write_indices is input 2 when present */
  MT_KERNEL_DEFORM_CONV,    /* mt_kc_deform_conv: X, W, offset, B, mask (2-D) */
  MT_KERNEL_TFIDF,          /* mt_kc_tfidf: TfIdfVectorizer over integer tokens */
  MT_KERNEL_CAUSAL_CONV,    /* mt_kc_causal_conv: CausalConvWithState (input, weight, bias, past) */
  MT_KERNEL_LINEAR_ATTN,    /* mt_kc_linear_attn: LinearAttention (q, k, v, past, decay, beta) */
  /* packed sub-byte dtypes and float8e8m0 (issue 13): Cast's round_mode for float8e8m0 targets
   * (MT_KERNEL_CAST / _NO_SATURATE round up, the default); no parameters */
  MT_KERNEL_CAST_E8M0_DOWN,
  MT_KERNEL_CAST_E8M0_NEAREST,
  MT_KERNEL_CAST_E8M0_NEAREST_NO_SATURATE,
  MT_KERNEL_COUNT,
} mt_kernel_kind;

/* Most outputs a Split call can describe: the sizes are stored inline so the call stays plain
 * data. Lowering rejects a Split with more outputs. */
#define MT_KC_MAX_SPLIT 128

typedef struct mt_kc_unary {
  mt_ew_unary op;
  mt_ew_params params;
  /* Clip from opset 11: optional scalar min / max in inputs 1 and 2, read when executing so the
   * call does not depend on their values being known when lowering. */
  bool bounds_from_inputs;
} mt_kc_unary;

/* The operands' shapes as the kernel views them: usually their own, but the opset < 7
 * `broadcast`/`axis` forms and opset < 7 PRelu re-view B so that numpy broadcasting applies. */
typedef struct mt_kc_binary {
  mt_ew_binary op;
  int a_rank, b_rank;
  int64_t a_dims[MT_MAX_RANK], b_dims[MT_MAX_RANK];
} mt_kc_binary;

typedef struct mt_kc_variadic {
  mt_ew_binary op; /* the accumulation: Add for Sum and Mean */
  bool mean;       /* divide by the input count at the end */
} mt_kc_variadic;

typedef struct mt_kc_copy {
  bool fill_mask; /* Dropout: output 1, when present, is all ones (inference keeps everything) */
} mt_kc_copy;

typedef struct mt_kc_axis {
  int axis; /* normalised */
} mt_kc_axis;

typedef struct mt_kc_transpose {
  int perm[MT_MAX_RANK]; /* output dim i is input dim perm[i] */
} mt_kc_transpose;

typedef struct mt_kc_tile {
  int64_t repeats[MT_MAX_RANK];
} mt_kc_tile;

typedef struct mt_kc_depth_to_space {
  int64_t block;
  bool crd;            /* CRD ordering, else DCR */
  bool space_to_depth; /* the inverse move */
} mt_kc_depth_to_space;

typedef struct mt_kc_split {
  int axis;
  int n_outputs;
  int64_t sizes[MT_KC_MAX_SPLIT]; /* along axis, one per output (omitted ones included) */
} mt_kc_split;

typedef struct mt_kc_slice {
  int64_t starts[MT_MAX_RANK]; /* per input dim, normalised and clamped */
  int64_t steps[MT_MAX_RANK];
} mt_kc_slice;

typedef struct mt_kc_pad {
  int64_t pads[2 * MT_MAX_RANK]; /* rank begins then rank ends; negative crops */
  mt_pad_mode mode;
  uint64_t fill[2]; /* one element of the data's dtype (constant mode) */
  /* opset >= 11 with a non-empty constant_value input: the fill is read from input 2 */
  bool fill_from_input;
} mt_kc_pad;

typedef struct mt_kc_shape {
  int64_t start, end; /* normalised and clamped to [0, rank] */
} mt_kc_shape;

typedef struct mt_kc_fill {
  mt_dtype dtype;
  uint64_t value[2]; /* one element of dtype */
} mt_kc_fill;

typedef struct mt_kc_gemm {
  bool trans_a, trans_b;
  float alpha, beta;
} mt_kc_gemm;

typedef struct mt_kc_conv {
  int64_t batch, c_in, c_out, group;
  mt_conv_geom geom;
} mt_kc_conv;

typedef struct mt_kc_pool {
  bool is_max;
  bool col_major;         /* MaxPool storage_order 1: indices column-major */
  bool count_include_pad; /* AveragePool */
  int64_t planes;
  mt_conv_geom geom;
} mt_kc_pool;

typedef struct mt_kc_global_pool {
  bool is_max;
} mt_kc_global_pool;

typedef struct mt_kc_softmax {
  bool log;
  int64_t outer, n, inner; /* input viewed as [outer, n, inner], normalised along n */
} mt_kc_softmax;

typedef struct mt_kc_batchnorm {
  float epsilon, momentum;
  bool training;          /* opset >= 14 training_mode: batch statistics, updated running ones */
  bool allow_per_element; /* opset < 9: parameters may be per (channel, position) */
} mt_kc_batchnorm;

typedef struct mt_kc_norm {
  int axis; /* LayerNormalization: first normalised dim (normalised) */
  float epsilon;
} mt_kc_norm;

typedef struct mt_kc_reduce {
  mt_reduce_op op;
  uint32_t axes_mask; /* bit d: input dim d is reduced */
} mt_kc_reduce;

typedef struct mt_kc_arg_reduce {
  int axis;
  bool is_min, select_last;
} mt_kc_arg_reduce;

typedef struct mt_kc_topk {
  int axis;
  int64_t k;
  bool largest;
} mt_kc_topk;

typedef struct mt_kc_cumsum {
  bool exclusive, reverse;
} mt_kc_cumsum;

typedef enum mt_scatter_reduction {
  MT_SCATTER_NONE = 0, /* replace */
  MT_SCATTER_ADD,
  MT_SCATTER_MUL,
  MT_SCATTER_MAX,
  MT_SCATTER_MIN,
} mt_scatter_reduction;

typedef struct mt_kc_gather_nd {
  int batch_dims;
} mt_kc_gather_nd;

typedef struct mt_kc_scatter {
  int axis; /* ScatterElements: normalised */
  mt_scatter_reduction reduction;
} mt_kc_scatter;

typedef struct mt_kc_trilu {
  bool upper; /* keep j - i >= k (upper) or j - i <= k (lower) over the last two dims */
} mt_kc_trilu;

typedef struct mt_kc_eye_like {
  int64_t k; /* ones where column - row == k */
} mt_kc_eye_like;

/* Compress keeps the slices along `axis` (of the input flattened to 1-D when flatten) whose
 * condition entry is true; the output's size, fixed when the condition was known at compile time,
 * must match the count the kernel finds. */
typedef struct mt_kc_compress {
  int axis;
  bool flatten;
} mt_kc_compress;

typedef enum mt_loss_reduction {
  MT_LOSS_NONE = 0, /* one loss per target element */
  MT_LOSS_SUM,
  MT_LOSS_MEAN, /* sum(w * loss) / sum(w), w the target's weight (1 without weights, 0 if ignored) */
} mt_loss_reduction;

/* x [N, C, d...] (log-probabilities, or scores when log_softmax: SoftmaxCrossEntropyLoss, whose
 * optional output 1 is the log-softmax along C), target [N, d...] integers, optional weight [C]
 * (input 2). loss[n, d] = -w * x[n, target[n, d], d]. */
typedef struct mt_kc_nll_loss {
  mt_loss_reduction reduction;
  bool log_softmax;
  bool has_ignore;
  int64_t ignore_index;
} mt_kc_nll_loss;

typedef enum mt_window_kind {
  MT_WINDOW_HANN = 0, /* sin^2(pi n / M) */
  MT_WINDOW_HAMMING,  /* 25/46 - 21/46 cos(2 pi n / M) */
  MT_WINDOW_BLACKMAN, /* 0.42 - 0.5 cos(2 pi n / M) + 0.08 cos(4 pi n / M) */
} mt_window_kind;

/* Output 0 (its length is the window size) with M = size (periodic) or size - 1, computed in
 * double and rounded once into the output's dtype. */
typedef struct mt_kc_window {
  mt_window_kind kind;
  bool periodic;
} mt_kc_window;

typedef struct mt_kc_reverse_sequence {
  int batch_axis, time_axis; /* 0 and 1, distinct */
} mt_kc_reverse_sequence;

typedef enum mt_normalize_kind {
  MT_NORMALIZE_MVN = 0, /* (x - mean) / (sqrt(E[x^2] - mean^2) + 1e-9), the spec's function */
  MT_NORMALIZE_RMS,     /* x / sqrt(mean(x^2) + eps) * scale */
  MT_NORMALIZE_LP,      /* x / (sum |x|^p)^(1/p), p 1 or 2; 0 where the norm is 0 */
  MT_NORMALIZE_GROUP,   /* (x - mean) / sqrt(var + eps) * scale + bias */
} mt_normalize_kind;

/* The input viewed under `dims` (same element count); statistics per position of the dims not in
 * reduce_mask. scale (input 1) and bias (input 2) are indexed by the view dims in param_mask,
 * row-major over those dims (0: one value). */
typedef struct mt_kc_normalize {
  mt_normalize_kind kind;
  int rank;
  int64_t dims[MT_MAX_RANK];
  uint32_t reduce_mask, param_mask;
  float epsilon;
  int p;
} mt_kc_normalize;

/* LRN over x [N, C, ...]: y = x / (bias + alpha / size * sum of x^2 over the channels
 * [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)])^beta, in double. */
typedef struct mt_kc_lrn {
  int64_t size;
  float alpha, beta, bias;
} mt_kc_lrn;

/* Recurrent layers (kernel_call_rnn.c). Inputs follow the ONNX ops: X, W, R, B, sequence_lens,
 * initial_h, then for LSTM initial_c and P; outputs Y, Y_h, Y_c (any may be absent). */
typedef enum mt_rnn_cell { MT_RNN_SIMPLE, MT_RNN_GRU, MT_RNN_LSTM } mt_rnn_cell;
typedef enum mt_rnn_act {
  MT_RNN_ACT_RELU,
  MT_RNN_ACT_TANH,
  MT_RNN_ACT_SIGMOID,
  MT_RNN_ACT_AFFINE,
  MT_RNN_ACT_LEAKY_RELU,
  MT_RNN_ACT_THRESHOLDED_RELU,
  MT_RNN_ACT_SCALED_TANH,
  MT_RNN_ACT_HARD_SIGMOID,
  MT_RNN_ACT_ELU,
  MT_RNN_ACT_SOFTSIGN,
  MT_RNN_ACT_SOFTPLUS,
  MT_RNN_ACT_COUNT,
} mt_rnn_act;
typedef struct mt_kc_rnn {
  mt_rnn_cell cell;
  int directions; /* 1 or 2 (bidirectional: direction 0 forward, 1 reverse) */
  bool reverse;   /* one direction, run from the last valid step back */
  int layout;     /* 0: X [seq, batch, in]; 1: X [batch, seq, in] (opset 14) */
  int64_t hidden;
  bool has_clip; /* gate pre-activations clipped to [-clip, clip] */
  float clip;
  bool linear_before_reset; /* GRU */
  bool input_forget;        /* LSTM: f = 1 - i */
  /* per direction: f (RNN); f, g (GRU); f, g, h (LSTM) with their alpha and beta */
  mt_rnn_act act[2][3];
  float alpha[2][3], beta[2][3];
} mt_kc_rnn;

/* One activation of a recurrent cell, in double: the formula the kernel and the CUDA generator
 * share (the generator prints the same expression). */
double mt_cpu_rnn_activate(mt_rnn_act act, double alpha, double beta, double x);

/* Signal ops (kernel_call_signal.c), in double with the twiddle of mt_cpu_dft_twiddle.
 * DFT over `axis` of x [..., m, ..., 1 or 2] (real or complex in the last dim): zero-padded or
 * truncated to `length`; inverse divides by length; onesided keeps length / 2 + 1 bins, and with
 * inverse it is the inverse real transform (a one-sided spectrum in, length real values out). */
typedef struct mt_kc_dft {
  int axis; /* normalised, in [0, rank - 2] */
  int64_t length;
  bool inverse, onesided;
} mt_kc_dft;

/* STFT of signal [batch, L, 1 or 2]: frames of frame_length every frame_step, times the window
 * (input 2) when present; output [batch, frames, bins, 2]. */
typedef struct mt_kc_stft {
  int64_t frame_step, frame_length;
  bool onesided;
} mt_kc_stft;

/* MelWeightMatrix: [dft_length / 2 + 1, num_mel_bins] triangular filters (ONNX's formula). */
typedef struct mt_kc_mel {
  int64_t num_mel_bins, dft_length, sample_rate;
  double lower_hz, upper_hz;
} mt_kc_mel;

/* e^(+-2 pi i jk / n) with jk reduced mod n first (exact angles for long transforms): the one
 * formula the kernels and the CUDA generator share. */
void mt_cpu_dft_twiddle(int64_t jk, int64_t n, bool inverse, double *out_re, double *out_im);
/* The num_mel_bins + 2 filter edges (spectrogram bin indices) of a MelWeightMatrix. */
void mt_cpu_mel_edges(const mt_kc_mel *p, int64_t *out_edges);
/* Element (bin j, filter i) given the edges. */
double mt_cpu_mel_value(const int64_t *edges, int64_t j, int64_t i);
/* NonMaxSuppression over boxes [B, N, 4] and scores [B, C, N] (max_output_boxes_per_class,
 * iou_threshold, score_threshold are the optional scalar inputs 2-4, read when executing): output
 * 0 is [selected, 3] int64 rows (batch, class, box), allocated by the kernel. */
typedef struct mt_kc_nms {
  bool center_point_box; /* boxes are [x_center, y_center, width, height], else two corners */
} mt_kc_nms;

/* RoiAlign of x [N, C, H, W] over rois [R, 4] (x1, y1, x2, y2) into [R, C, out_h, out_w]. */
typedef struct mt_kc_roi_align {
  bool is_max;     /* mode 'max' (the maximum of the weighted corner values), else 'avg' */
  bool half_pixel; /* coordinates shifted by -0.5 (opset 16's default), else 'output_half_pixel' */
  int64_t sampling_ratio; /* samples per bin side; 0: ceil(roi size / output size) */
  float spatial_scale;
} mt_kc_roi_align;

typedef enum mt_grid_mode {
  MT_GRID_LINEAR = 0, /* 'bilinear' (opset 16), 'linear' (20) */
  MT_GRID_NEAREST,    /* round half to even, as numpy.rint */
  MT_GRID_CUBIC,      /* Keys cubic, alpha -0.75 */
} mt_grid_mode;

typedef enum mt_grid_padding {
  MT_GRID_PAD_ZEROS = 0,
  MT_GRID_PAD_BORDER,
  MT_GRID_PAD_REFLECTION,
} mt_grid_padding;

/* GridSample of x [N, C, D1..Dk] (k 1 to 3) at grid [N, O1..Ok, k] (normalised coordinates, the
 * last spatial dim first) into [N, C, O1..Ok], in double. */
typedef struct mt_kc_grid_sample {
  mt_grid_mode mode;
  mt_grid_padding padding;
  bool align_corners;
} mt_kc_grid_sample;

/* MaxUnpool: x [N, C, d...] scattered by its indices (input 1, flat offsets into the unpooled
 * shape [N, C, unpooled...], each inside its own (n, c) plane) into a zeroed output whose
 * spatial dims may be larger (output_shape): the unpooled block sits at the origin. */
typedef struct mt_kc_max_unpool {
  int64_t unpooled[MT_MAX_RANK]; /* spatial dims from kernel_shape, strides, pads */
} mt_kc_max_unpool;

/* Unique slices of x along `axis` (of x flattened to 1-D when flatten), compared
 * lexicographically: outputs Y, indices (first occurrences), inverse_indices and counts, all
 * allocated by the kernel; sorted ascending, or in order of first occurrence. */
typedef struct mt_kc_unique {
  int axis;
  bool flatten, sorted;
} mt_kc_unique;

/* CumProd along `axis` (normalised; fixed at compile time): running products in the order of
 * a sequential loop, float for float32/float16 (as CumSum), double for float64, wrapping
 * 64-bit products for integers. */
typedef struct mt_kc_cumprod {
  int axis;
  bool exclusive, reverse;
} mt_kc_cumprod;

/* AffineGrid: output [N, d..., k] (k = 2 or 3 spatial dims) = theta[n] (k x (k + 1), input 0)
 * times the homogeneous base coordinates (x along the last dim first, then 1), in double. */
typedef struct mt_kc_affine_grid {
  bool align_corners;
} mt_kc_affine_grid;

/* Col2Im: x [N, C * prod(block), L] summed into [N, C, image...] (image from the output's dims),
 * each output element gathering its block positions in kernel-offset order. */
typedef struct mt_kc_col2im {
  int nsp; /* spatial dims, 1 to MT_CONV_MAX_SPATIAL */
  int64_t block[MT_CONV_MAX_SPATIAL], stride[MT_CONV_MAX_SPATIAL];
  int64_t dilation[MT_CONV_MAX_SPATIAL], pad_begin[MT_CONV_MAX_SPATIAL];
  int64_t blocks[MT_CONV_MAX_SPATIAL]; /* sliding positions per dim; their product is L */
} mt_kc_col2im;

typedef struct mt_kc_lp_pool {
  int64_t p; /* y = (sum over the window of |x|^p)^(1/p); padding contributes 0 */
  int64_t planes;
  mt_conv_geom geom;
} mt_kc_lp_pool;

/* One node's work for runtime/cpu: copy it by value, store it, run it any time later. */
/* RotaryEmbedding over x [B, H, S, D] (or [B, S, H * D] when in3d): the first rot_dim values of
 * each head rotate by the angle whose cos/sin the caches hold, in pairs (i, i + rot_dim / 2) or
 * interleaved (2i, 2i + 1); the rest pass through. The caches are [max_pos, rot_dim / 2] indexed
 * by position_ids (input 3, [B, S]) when has_pos, else [B, S, rot_dim / 2]. */
typedef struct mt_kc_rotary {
  int64_t batch, heads, seq, head_size, rot_dim, max_pos;
  bool in3d, interleaved, has_pos;
} mt_kc_rotary;

typedef enum mt_attn_mask_kind {
  MT_ATTN_MASK_NONE = 0,
  MT_ATTN_MASK_BOOL,  /* true attends, false adds -inf */
  MT_ATTN_MASK_FLOAT, /* added to the scores */
} mt_attn_mask_kind;

/* Attention (opsets 23-25) over Q, K, V (inputs 0-2), attn_mask (3), past_key / past_value (4, 5,
 * [B, kv_heads, past_len, D]) and nonpad_kv_seqlen (6, int64 [B]). 3-D inputs are [B, S, H * D].
 * Outputs: Y, present_key, present_value ([B, kv_heads, past_len + kv_len, D]), the QK output
 * ([B, q_heads, q_len, total], what qk_mode selects). The mask broadcasts against
 * [B, q_heads, q_len, total] from mask_dims (right-aligned to rank 4, 1 where absent); a last dim
 * shorter than total pads with -inf. Scores, softcap and softmax are computed in double. */
typedef struct mt_kc_attention {
  int64_t batch, q_heads, kv_heads, q_len, kv_len, past_len, head_qk, head_v;
  int64_t mask_dims[4];
  int64_t left_window, right_window; /* -1: unbounded */
  float scale;                       /* resolved: 1 / sqrt(head_qk) when the attribute is absent */
  float softcap;                     /* <= 0: none */
  int qk_mode;                       /* 0, 1: softcap(QK); 2: + bias; 3: softmax */
  mt_attn_mask_kind mask;
  bool in3d, causal, has_nonpad;
} mt_kc_attention;

/* SwiGLU: y = a * sigmoid(alpha * a) * b over same-shaped a and b, in double. */
typedef struct mt_kc_swiglu {
  float alpha;
} mt_kc_swiglu;

/* TensorScatter: present = past with, for each prefix row (dims before axis: `outer` rows, the
 * first dim the batch), update's `seq` rows written at write_indices[batch] + s (modulo `max_seq`
 * when circular). `inner` is the product of the dims after axis. */
typedef struct mt_kc_tensor_scatter {
  int64_t batch, outer, max_seq, seq, inner;
  bool circular, has_indices;
} mt_kc_tensor_scatter;

/* DeformConv over 2-D X [N, C, H, W], W [OC, C / group, KH, KW], offset [N, offset_group * KH * KW
 * * 2, OH, OW] ((dy, dx) per kernel tap), optional B [OC] and mask [N, offset_group * KH * KW, OH,
 * OW]. Each tap samples X bilinearly at (oy * stride - pad + ky * dil + dy, ...), corners outside
 * X reading 0; sums in double. */
typedef struct mt_kc_deform_conv {
  int64_t n, c, h, w, oc, oh, ow, kh, kw;
  int64_t stride[2], pad[2], dil[2]; /* (y, x); pad is the leading (top, left) padding */
  int64_t group, offset_group;
  bool has_bias, has_mask;
} mt_kc_deform_conv;

/* TfIdfVectorizer over integer tokens X ([cols] or [rows, cols]) into float32 counts
 * [rows, out_size]. The n-grams are stored inline (the call stays plain data and no larger than
 * the other kinds): gram g is pool[start[g] .. start[g] + len[g]) counted in output column col[g],
 * in the attribute order (a repeated n-gram counts in its last column, as ONNX's trie does). Only
 * grams of length [min_len, max_len] are listed. Lowering refuses attributes past the caps. */
#define MT_KC_TFIDF_POOL 80
#define MT_KC_TFIDF_GRAMS 48
typedef enum mt_tfidf_mode { MT_TFIDF_TF = 0, MT_TFIDF_IDF, MT_TFIDF_TFIDF } mt_tfidf_mode;
typedef struct mt_kc_tfidf {
  int64_t pool[MT_KC_TFIDF_POOL];
  int start[MT_KC_TFIDF_GRAMS], len[MT_KC_TFIDF_GRAMS], col[MT_KC_TFIDF_GRAMS];
  float weights[MT_KC_TFIDF_GRAMS]; /* per output column; n_weights 0: none */
  int n_pool, n_grams, n_weights, out_size, min_len, max_len, max_skip;
  mt_tfidf_mode mode;
  int64_t rows, cols;
} mt_kc_tfidf;

/* CausalConvWithState: a depthwise 1-D convolution of input [B, C, L] with weight [C, 1, K] over
 * past_state [B, C, K - 1] (zeros when absent) followed by the input; output [B, C, L] (rounded
 * to the dtype, then x * sigmoid(x) when silu), present_state [B, C, K - 1] the last K - 1 steps. */
typedef struct mt_kc_causal_conv {
  int64_t batch, channels, len, k;
  bool has_bias, has_past, silu;
} mt_kc_causal_conv;

/* LinearAttention: 3-D q [B, T, QH * DK], k [B, T, KVH * DK], v [B, T, KVH * DV]; a state
 * [DK, DV] per (batch, kv head) from past_state [B, KVH, DK, DV] (zeros when absent) is updated
 * per step (decay: state *= exp(g); delta: v = beta * (v - state^T k); state += k v^T) and read
 * by each query head of the group: out = scale * q^T state. Columns of the state are independent,
 * which the CUDA generator uses (a thread per column); double throughout. */
typedef struct mt_kc_linear_attn {
  int64_t batch, steps, q_heads, kv_heads, dk, dv;
  int decay_mode; /* 0: none, 1: one per kv head, 2: one per kv head and key dim */
  int beta_mode;  /* 0: none, 1: one per kv head, 2: one shared */
  float scale;    /* resolved */
  bool has_past;
} mt_kc_linear_attn;

typedef struct mt_kernel_call {
  mt_kernel_kind kind;
  union {
    mt_kc_unary unary;
    mt_kc_binary binary;
    mt_kc_variadic variadic;
    mt_kc_copy copy;
    mt_kc_axis axis;
    mt_kc_transpose transpose;
    mt_kc_tile tile;
    mt_kc_depth_to_space depth_to_space;
    mt_kc_split split;
    mt_kc_slice slice;
    mt_kc_pad pad;
    mt_resize_params resize;
    mt_kc_shape shape;
    mt_kc_fill fill;
    mt_kc_gemm gemm;
    mt_kc_conv conv;
    mt_kc_pool pool;
    mt_kc_global_pool global_pool;
    mt_kc_softmax softmax;
    mt_kc_batchnorm batchnorm;
    mt_kc_norm norm;
    mt_einsum_eq einsum;
    mt_kc_reduce reduce;
    mt_kc_arg_reduce arg_reduce;
    mt_kc_topk topk;
    mt_kc_cumsum cumsum;
    mt_kc_gather_nd gather_nd;
    mt_kc_scatter scatter;
    mt_kc_trilu trilu;
    mt_kc_eye_like eye_like;
    mt_kc_reverse_sequence reverse_sequence;
    mt_kc_compress compress;
    mt_kc_nll_loss nll_loss;
    mt_kc_window window;
    mt_kc_lrn lrn;
    mt_kc_quant quant;
    mt_kc_qlinear qlinear;
    mt_kc_rnn rnn;
    mt_kc_dft dft;
    mt_kc_stft stft;
    mt_kc_mel mel;
    mt_kc_nms nms;
    mt_kc_roi_align roi_align;
    mt_kc_grid_sample grid_sample;
    mt_kc_max_unpool max_unpool;
    mt_kc_unique unique;
    mt_kc_cumprod cumprod;
    mt_kc_affine_grid affine_grid;
    mt_kc_col2im col2im;
    mt_kc_rotary rotary;
    mt_kc_attention attention;
    mt_kc_swiglu swiglu;
    mt_kc_tensor_scatter tensor_scatter;
    mt_kc_deform_conv deform_conv;
    mt_kc_tfidf tfidf;
    mt_kc_causal_conv causal_conv;
    mt_kc_linear_attn linear_attn;
    mt_kc_normalize normalize;
    mt_kc_lp_pool lp_pool;
  } params;
} mt_kernel_call;

/* Element n of a window of `size` elements (MT_KERNEL_WINDOW), in double: the one formula the
 * kernel and the CUDA generator share. */
double mt_cpu_window_value(mt_window_kind kind, bool periodic, int64_t size, int64_t n);

/* Lower-case name of a kind ("binary", "conv"); "invalid" for values outside the enum. */
const char *mt_kernel_kind_name(mt_kernel_kind kind);

/* Executes call on inputs[0..n_inputs) (NULL for an omitted optional input). Outputs arrive with
 * dtype and shape set and data allocated, except for MT_KERNEL_NONZERO, MT_KERNEL_NMS and MT_KERNEL_UNIQUE, which set its output's
 * shape and mallocs its data (the caller frees it). An output whose data is NULL is omitted.
 * Returns NULL or a status (an unknown kind, bad index values, out of memory); never aborts.
 * Reentrant: the call and the views are only read, outputs only written. */
MT_MUST_USE mt_status *mt_cpu_kernel_run(const mt_kernel_call *call, int n_inputs,
                                         const mt_tensor *const *inputs, int n_outputs,
                                         mt_tensor *outputs);

/* Family executors behind mt_cpu_kernel_run (kernel_call_*.c); same contract. */
MT_MUST_USE mt_status *mt_cpu_kernel_run_nn(const mt_kernel_call *call, int n_inputs,
                                            const mt_tensor *const *inputs, int n_outputs,
                                            mt_tensor *outputs);
MT_MUST_USE mt_status *mt_cpu_kernel_run_data(const mt_kernel_call *call, int n_inputs,
                                              const mt_tensor *const *inputs, int n_outputs,
                                              mt_tensor *outputs);
MT_MUST_USE mt_status *mt_cpu_kernel_run_norm(const mt_kernel_call *call, int n_inputs,
                                              const mt_tensor *const *inputs, int n_outputs,
                                              mt_tensor *outputs);
MT_MUST_USE mt_status *mt_cpu_kernel_run_loss(const mt_kernel_call *call, int n_inputs,
                                              const mt_tensor *const *inputs, int n_outputs,
                                              mt_tensor *outputs);
MT_MUST_USE mt_status *mt_cpu_kernel_run_quant(const mt_kernel_call *call, int n_inputs,
                                               const mt_tensor *const *inputs, int n_outputs,
                                               mt_tensor *outputs);
MT_MUST_USE mt_status *mt_cpu_kernel_run_rnn(const mt_kernel_call *call, int n_inputs,
                                             const mt_tensor *const *inputs, int n_outputs,
                                             mt_tensor *outputs);
MT_MUST_USE mt_status *mt_cpu_kernel_run_signal(const mt_kernel_call *call, int n_inputs,
                                                const mt_tensor *const *inputs, int n_outputs,
                                                mt_tensor *outputs);
MT_MUST_USE mt_status *mt_cpu_kernel_run_vision(const mt_kernel_call *call, int n_inputs,
                                                const mt_tensor *const *inputs, int n_outputs,
                                                mt_tensor *outputs);
MT_MUST_USE mt_status *mt_cpu_kernel_run_unique(const mt_kernel_call *call, int n_inputs,
                                                const mt_tensor *const *inputs, int n_outputs,
                                                mt_tensor *outputs);
MT_MUST_USE mt_status *mt_cpu_kernel_run_attention(const mt_kernel_call *call, int n_inputs,
                                                   const mt_tensor *const *inputs, int n_outputs,
                                                   mt_tensor *outputs);
MT_MUST_USE mt_status *mt_cpu_kernel_run_newops(const mt_kernel_call *call, int n_inputs,
                                                const mt_tensor *const *inputs, int n_outputs,
                                                mt_tensor *outputs);
MT_MUST_USE mt_status *mt_cpu_kernel_run_index(const mt_kernel_call *call, int n_inputs,
                                               const mt_tensor *const *inputs, int n_outputs,
                                               mt_tensor *outputs);

#endif
