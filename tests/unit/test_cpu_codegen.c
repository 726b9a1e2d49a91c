/* The CPU backend's generated code (codegen/cpu) against the reference kernels: a model with every
 * generated family (unary and broadcasting binary elementwise ops, Gemm with a broadcast C,
 * batched and broadcast MatMul, copies) compiled with CPU code for every x86-64 target the host
 * can run; each object is dlopen'ed, its ABI version checked, and every kernel run on random
 * inputs at 1, 2 and 3 threads. Elementwise and copy kernels must equal the reference bit for
 * bit (they reproduce its formulas); BLAS kernels agree to 1e-5 relative; every thread count gives
 * the same bits. Also: the bundle's CPU fields (objects in the CPU code section, cpu_groups
 * parallel to groups, each fallback saying why), byte-identical rebuilds, and the reason a bundle
 * carries when CPU code is off. Skips (77) when this build has no LLVM. */
#include "test_util.h"

#include <dlfcn.h>
#include <math.h>
#include <string.h>

#include "codegen/cpu/cpu.h"
#include "driver/compilation.h"
#include "mtcc.h"
#include "onnx_builder.h"
#include "runtime/bundle/bundle.h"
#include "runtime/bundle/cpu_abi.h"
#include "runtime/bundle/format.h"

static const float W_GEMM[8 * 7] = {
    0.1f,  -0.2f, 0.3f,   0.5f,  -0.7f, 0.25f, 1.0f,  -1.0f, 0.5f,  0.75f, 0.2f,  -0.3f,
    0.4f,  0.9f,  -0.6f,  0.1f,  0.2f,  -0.8f, 0.3f,  0.6f,  -0.1f, 0.7f,  0.05f, -0.4f,
    0.15f, 0.35f, 0.8f,   -0.9f, 0.2f,  0.4f,  -0.5f, 0.6f,  0.1f,  -0.2f, 0.3f,  -0.3f,
    0.45f, 0.55f, -0.65f, 0.7f,  0.1f,  0.2f,  0.9f,  -0.1f, 0.2f,  0.3f,  -0.4f, 0.5f,
    0.6f,  0.7f,  -0.8f,  0.1f,  0.2f,  -0.3f, 0.4f,  0.5f};
static const float C_GEMM[8] = {0.5f, -1.0f, 0.25f, 2.0f, -0.5f, 1.5f, 0.0f, -2.0f};
static const float BIAS3[3] = {0.5f, -1.0f, 0.25f};

static float W_MM[6 * 9];
static float W_CONV[6 * 4 * 3 * 3], W_CONVG[6 * 2 * 3 * 3], W_PW[5 * 4], W_DW[4 * 3 * 3], B_CONV[6];

static void fill(float *w, int n, int salt) {
  for (int i = 0; i < n; i++) w[i] = (float)((i * 37 + salt * 11) % 23 - 11) / 16.0f;
}

/* Depthwise convs (codegen/cpu/cpu_dwconv.c) beyond conv_dw: rows wider than a vector chunk
 * (37 columns: chunks of 16, the last one overlapping) with a fused Clip; 5x5 stride 2 with
 * swish fused (Sigmoid, then Mul by the conv's own output); stride 3, dilation 2, uneven pads
 * and a channel multiplier of 2 (lanes gathered one by one); rows narrower than a chunk (5
 * columns, an odd number of rows: pairs then one) with a fused residual Add + Relu; 1-D. */
static float W_DW3[3 * 9], W_DW5[3 * 25], W_DWM[6 * 9], W_DWS[2 * 9], B_DW3[3];
static void add_depthwise(ob_builder *b, Onnx__GraphProto *g) {
  fill(W_DW3, 27, 6), fill(W_DW5, 75, 7), fill(W_DWM, 54, 8), fill(W_DWS, 18, 9),
      fill(B_DW3, 3, 10);
  ob_input(b, g, "dimg", MT_DTYPE_FLOAT32, 4, OB_DIMS(2, 3, 12, 37),
           OB_PARAMS(NULL, NULL, NULL, NULL));
  ob_input(b, g, "simg", MT_DTYPE_FLOAT32, 4, OB_DIMS(1, 2, 7, 5),
           OB_PARAMS(NULL, NULL, NULL, NULL));
  ob_input(b, g, "sres", MT_DTYPE_FLOAT32, 4, OB_DIMS(1, 2, 7, 5),
           OB_PARAMS(NULL, NULL, NULL, NULL));
  ob_initializer(b, g, ob_tensor_floats(b, "wdw3", 4, OB_DIMS(3, 1, 3, 3), W_DW3, 27));
  ob_initializer(b, g, ob_tensor_floats(b, "wdw5", 4, OB_DIMS(3, 1, 5, 5), W_DW5, 75));
  ob_initializer(b, g, ob_tensor_floats(b, "wdwm", 4, OB_DIMS(6, 1, 3, 3), W_DWM, 54));
  ob_initializer(b, g, ob_tensor_floats(b, "wdws", 4, OB_DIMS(2, 1, 3, 3), W_DWS, 18));
  ob_initializer(b, g, ob_tensor_floats(b, "bdw3", 1, OB_DIMS(3), B_DW3, 3));
  Onnx__NodeProto *n =
      ob_node(b, g, "Conv", "dw_wide", OB_NAMES("dimg", "wdw3", "bdw3"), OB_NAMES("d_w"));
  ob_attr_int(b, n, "group", 3);
  ob_attr_ints(b, n, "pads", 4, OB_DIMS(1, 1, 1, 1));
  ob_node(b, g, "Clip", "dw_wide_clip", OB_NAMES("d_w", "lo", "hi"), OB_NAMES("o_dww"));
  n = ob_node(b, g, "Conv", "dw_swish", OB_NAMES("dimg", "wdw5", "bdw3"), OB_NAMES("d_s"));
  ob_attr_int(b, n, "group", 3);
  ob_attr_ints(b, n, "strides", 2, OB_DIMS(2, 2));
  ob_attr_ints(b, n, "pads", 4, OB_DIMS(2, 2, 2, 2));
  ob_node(b, g, "Sigmoid", "dw_sig", OB_NAMES("d_s"), OB_NAMES("d_sg"));
  ob_node(b, g, "Mul", "dw_mul", OB_NAMES("d_s", "d_sg"), OB_NAMES("o_dws"));
  n = ob_node(b, g, "Conv", "dw_mult", OB_NAMES("dimg", "wdwm"), OB_NAMES("o_dwm"));
  ob_attr_int(b, n, "group", 3);
  ob_attr_ints(b, n, "strides", 2, OB_DIMS(1, 3));
  ob_attr_ints(b, n, "dilations", 2, OB_DIMS(2, 2));
  ob_attr_ints(b, n, "pads", 4, OB_DIMS(2, 1, 0, 2));
  n = ob_node(b, g, "Conv", "dw_small", OB_NAMES("simg", "wdws"), OB_NAMES("d_m"));
  ob_attr_int(b, n, "group", 2);
  ob_attr_ints(b, n, "pads", 4, OB_DIMS(1, 1, 1, 1));
  ob_node(b, g, "Add", "dw_add", OB_NAMES("d_m", "sres"), OB_NAMES("d_a"));
  ob_node(b, g, "Relu", "dw_relu", OB_NAMES("d_a"), OB_NAMES("o_dwsm"));
  /* 1-D: a 2-D conv of height 1 */
  ob_input(b, g, "limg", MT_DTYPE_FLOAT32, 3, OB_DIMS(2, 3, 40), OB_PARAMS(NULL, NULL, NULL));
  ob_initializer(b, g, ob_tensor_floats(b, "wdw1", 3, OB_DIMS(3, 1, 5), W_DW5, 15));
  n = ob_node(b, g, "Conv", "dw_1d", OB_NAMES("limg", "wdw1", "bdw3"), OB_NAMES("o_dw1d"));
  ob_attr_int(b, n, "group", 3);
  ob_attr_ints(b, n, "pads", 2, OB_DIMS(2, 1));
}

/* Convs and GEMMs large enough that cpu_conv.c / cpu_llvm.c cut them in two at batch 1 (>= 8
 * MFLOP): convs by channel blocks of unequal size (im2col and 1x1, the plane small next to the
 * channels), by output rows with the im2col walked in two chunks, and a 1x1 by column blocks
 * (the first with a fused Relu); GEMMs by columns and by rows. */
static float W_SPLIT_M[144 * 64 * 9], W_SPLIT_N[8 * 64 * 9], W_PW_M[1040 * 64], W_PW_N[64 * 64];
static float B_SPLIT[1040];

static void add_split_gemms(ob_builder *b, Onnx__GraphProto *g) {
  fill(W_SPLIT_M, 144 * 64 * 9, 6), fill(W_SPLIT_N, 8 * 64 * 9, 7), fill(W_PW_M, 1040 * 64, 8);
  fill(W_PW_N, 64 * 64, 9), fill(B_SPLIT, 1040, 10);
  ob_input(b, g, "sm_in", MT_DTYPE_FLOAT32, 4, OB_DIMS(1, 64, 8, 8),
           OB_PARAMS(NULL, NULL, NULL, NULL));
  ob_input(b, g, "sn_in", MT_DTYPE_FLOAT32, 4, OB_DIMS(1, 64, 40, 40),
           OB_PARAMS(NULL, NULL, NULL, NULL));
  ob_initializer(b, g,
                 ob_tensor_floats(b, "w_sm", 4, OB_DIMS(144, 64, 3, 3), W_SPLIT_M, 144 * 576));
  ob_initializer(b, g, ob_tensor_floats(b, "w_sn", 4, OB_DIMS(8, 64, 3, 3), W_SPLIT_N, 8 * 576));
  ob_initializer(b, g, ob_tensor_floats(b, "w_pm", 4, OB_DIMS(1040, 64, 1, 1), W_PW_M, 1040 * 64));
  ob_initializer(b, g, ob_tensor_floats(b, "w_pn", 4, OB_DIMS(64, 64, 1, 1), W_PW_N, 64 * 64));
  ob_initializer(b, g, ob_tensor_floats(b, "b_sm", 1, OB_DIMS(144), B_SPLIT, 144));
  ob_initializer(b, g, ob_tensor_floats(b, "b_sn", 1, OB_DIMS(8), B_SPLIT, 8));
  ob_initializer(b, g, ob_tensor_floats(b, "b_pm", 1, OB_DIMS(1040), B_SPLIT, 1040));
  Onnx__NodeProto *a =
      ob_node(b, g, "Conv", "split_m", OB_NAMES("sm_in", "w_sm", "b_sm"), OB_NAMES("f_sm"));
  ob_attr_ints(b, a, "pads", 4, OB_DIMS(1, 1, 1, 1));
  ob_node(b, g, "Relu", "split_m_relu", OB_NAMES("f_sm"), OB_NAMES("o_split_m"));
  Onnx__NodeProto *n =
      ob_node(b, g, "Conv", "split_n", OB_NAMES("sn_in", "w_sn", "b_sn"), OB_NAMES("o_split_n"));
  ob_attr_ints(b, n, "pads", 4, OB_DIMS(1, 1, 1, 1));
  ob_node(b, g, "Conv", "split_pw_m", OB_NAMES("sm_in", "w_pm", "b_pm"), OB_NAMES("o_split_pm"));
  ob_node(b, g, "Conv", "split_pw_n", OB_NAMES("sn_in", "w_pn"), OB_NAMES("o_split_pn"));
  /* a MatMul cut into column blocks and a Gemm (with C, B transposed) into row blocks; K = 64
   * keeps the summation-order differences of random [-2, 2) inputs under the 1e-5 tolerance */
  ob_input(b, g, "mm_a", MT_DTYPE_FLOAT32, 2, OB_DIMS(64, 64), OB_PARAMS(NULL, NULL));
  ob_input(b, g, "mm_b", MT_DTYPE_FLOAT32, 2, OB_DIMS(64, 1024), OB_PARAMS(NULL, NULL));
  ob_input(b, g, "gm_a", MT_DTYPE_FLOAT32, 2, OB_DIMS(512, 64), OB_PARAMS(NULL, NULL));
  ob_input(b, g, "gm_b", MT_DTYPE_FLOAT32, 2, OB_DIMS(136, 64), OB_PARAMS(NULL, NULL));
  ob_initializer(b, g, ob_tensor_floats(b, "gm_c", 1, OB_DIMS(136), B_SPLIT, 136));
  ob_node(b, g, "MatMul", "split_mm", OB_NAMES("mm_a", "mm_b"), OB_NAMES("o_split_mm"));
  Onnx__NodeProto *gm =
      ob_node(b, g, "Gemm", "split_gemm", OB_NAMES("gm_a", "gm_b", "gm_c"), OB_NAMES("o_split_gm"));
  ob_attr_int(b, gm, "transB", 1);
  static const char *const outs[] = {"o_split_m",  "o_split_n",  "o_split_pm",
                                     "o_split_pn", "o_split_mm", "o_split_gm"};
  for (size_t i = 0; i < sizeof outs / sizeof *outs; i++)
    ob_output(b, g, outs[i], MT_DTYPE_FLOAT32);
}

/* The model: one output per family member so nothing folds away. */
static char *write_model(const char *dir) {
  for (int i = 0; i < 6 * 9; i++) W_MM[i] = (float)((i * 37) % 19 - 9) / 8.0f;
  fill(W_CONV, 6 * 4 * 9, 1), fill(W_CONVG, 6 * 2 * 9, 2), fill(W_PW, 20, 3), fill(W_DW, 36, 4);
  fill(B_CONV, 6, 5);
  ob_builder b;
  ob_init(&b, 17);
  Onnx__GraphProto *g = b.graph;
  ob_input(&b, g, "x", MT_DTYPE_FLOAT32, 4, OB_DIMS(2, 3, 4, 5), OB_PARAMS(NULL, NULL, NULL, NULL));
  ob_input(&b, g, "y", MT_DTYPE_FLOAT32, 2, OB_DIMS(4, 5), OB_PARAMS(NULL, NULL));
  ob_input(&b, g, "z", MT_DTYPE_FLOAT32, 4, OB_DIMS(2, 1, 4, 1), OB_PARAMS(NULL, NULL, NULL, NULL));
  ob_input(&b, g, "a", MT_DTYPE_FLOAT32, 2, OB_DIMS(6, 7), OB_PARAMS(NULL, NULL));
  ob_input(&b, g, "q", MT_DTYPE_FLOAT32, 4, OB_DIMS(2, 3, 5, 6), OB_PARAMS(NULL, NULL, NULL, NULL));
  ob_input(&b, g, "k", MT_DTYPE_FLOAT32, 4, OB_DIMS(2, 1, 6, 4), OB_PARAMS(NULL, NULL, NULL, NULL));
  ob_initializer(&b, g, ob_tensor_floats(&b, "bias", 3, OB_DIMS(3, 1, 1), BIAS3, 3));
  ob_input(&b, g, "img", MT_DTYPE_FLOAT32, 4, OB_DIMS(2, 4, 9, 11),
           OB_PARAMS(NULL, NULL, NULL, NULL));
  ob_initializer(&b, g, ob_tensor_floats(&b, "wc", 4, OB_DIMS(6, 4, 3, 3), W_CONV, 216));
  ob_initializer(&b, g, ob_tensor_floats(&b, "wcg", 4, OB_DIMS(6, 2, 3, 3), W_CONVG, 108));
  ob_initializer(&b, g, ob_tensor_floats(&b, "wpw", 4, OB_DIMS(5, 4, 1, 1), W_PW, 20));
  ob_initializer(&b, g, ob_tensor_floats(&b, "wdw", 4, OB_DIMS(4, 1, 3, 3), W_DW, 36));
  ob_initializer(&b, g, ob_tensor_floats(&b, "bc", 1, OB_DIMS(6), B_CONV, 6));
  Onnx__NodeProto *cv =
      ob_node(&b, g, "Conv", "conv3x3", OB_NAMES("img", "wc", "bc"), OB_NAMES("o_conv"));
  ob_attr_ints(&b, cv, "pads", 4, OB_DIMS(1, 1, 1, 1));
  Onnx__NodeProto *cvg =
      ob_node(&b, g, "Conv", "conv_grouped", OB_NAMES("img", "wcg"), OB_NAMES("o_convg"));
  ob_attr_int(&b, cvg, "group", 2);
  ob_attr_ints(&b, cvg, "strides", 2, OB_DIMS(2, 2));
  ob_attr_ints(&b, cvg, "dilations", 2, OB_DIMS(1, 2));
  ob_attr_ints(&b, cvg, "pads", 4, OB_DIMS(0, 2, 1, 1));
  ob_node(&b, g, "Conv", "conv1x1", OB_NAMES("img", "wpw"), OB_NAMES("o_convpw"));
  Onnx__NodeProto *dw =
      ob_node(&b, g, "Conv", "conv_dw", OB_NAMES("img", "wdw", "bias4"), OB_NAMES("o_convdw"));
  ob_attr_int(&b, dw, "group", 4);
  ob_attr_ints(&b, dw, "strides", 2, OB_DIMS(2, 1));
  ob_attr_ints(&b, dw, "pads", 4, OB_DIMS(1, 1, 1, 1));
  Onnx__NodeProto *mp = ob_node(&b, g, "MaxPool", "maxpool", OB_NAMES("img"), OB_NAMES("o_mp"));
  ob_attr_ints(&b, mp, "kernel_shape", 2, OB_DIMS(3, 3));
  ob_attr_ints(&b, mp, "strides", 2, OB_DIMS(2, 2));
  ob_attr_ints(&b, mp, "pads", 4, OB_DIMS(1, 1, 1, 1));
  Onnx__NodeProto *ap =
      ob_node(&b, g, "AveragePool", "avgpool_pad", OB_NAMES("img"), OB_NAMES("o_ap"));
  ob_attr_ints(&b, ap, "kernel_shape", 2, OB_DIMS(2, 3));
  ob_attr_ints(&b, ap, "pads", 4, OB_DIMS(1, 1, 0, 1));
  ob_attr_int(&b, ap, "count_include_pad", 1);
  Onnx__NodeProto *ap2 =
      ob_node(&b, g, "AveragePool", "avgpool", OB_NAMES("img"), OB_NAMES("o_ap2"));
  ob_attr_ints(&b, ap2, "kernel_shape", 2, OB_DIMS(3, 3));
  ob_attr_ints(&b, ap2, "strides", 2, OB_DIMS(2, 2));
  ob_attr_ints(&b, ap2, "pads", 4, OB_DIMS(1, 1, 1, 1));
  ob_node(&b, g, "GlobalAveragePool", "gap", OB_NAMES("img"), OB_NAMES("o_gap"));
  ob_node(&b, g, "GlobalMaxPool", "gmp", OB_NAMES("img"), OB_NAMES("o_gmp"));
  static const float bias4[4] = {0.25f, -0.5f, 1.0f, 0.0f};
  ob_initializer(&b, g, ob_tensor_floats(&b, "bias4", 1, OB_DIMS(4), bias4, 4));
  ob_initializer(&b, g, ob_tensor_floats(&b, "wg", 2, OB_DIMS(8, 7), W_GEMM, 56));
  ob_initializer(&b, g, ob_tensor_floats(&b, "cg", 1, OB_DIMS(8), C_GEMM, 8));
  ob_initializer(&b, g, ob_tensor_floats(&b, "wm", 2, OB_DIMS(6, 9), W_MM, 54));
  static const int64_t shape[2] = {6, 20};
  ob_initializer(&b, g, ob_tensor_int64s(&b, "shape", 1, OB_DIMS(2), shape, 2));
  ob_node(&b, g, "Add", "add", OB_NAMES("x", "bias"), OB_NAMES("s"));
  ob_node(&b, g, "Relu", "relu", OB_NAMES("s"), OB_NAMES("o_relu"));
  ob_node(&b, g, "Mul", "mul", OB_NAMES("x", "y"), OB_NAMES("m"));
  ob_node(&b, g, "Tanh", "tanh", OB_NAMES("m"), OB_NAMES("o_tanh"));
  ob_node(&b, g, "Div", "div", OB_NAMES("x", "z"), OB_NAMES("o_div"));
  ob_node(&b, g, "Sub", "sub", OB_NAMES("y", "x"), OB_NAMES("o_sub"));
  ob_node(&b, g, "Max", "max", OB_NAMES("x", "y"), OB_NAMES("o_max"));
  ob_node(&b, g, "Min", "min", OB_NAMES("z", "x"), OB_NAMES("o_min"));
  ob_node(&b, g, "Sigmoid", "sigmoid", OB_NAMES("x"), OB_NAMES("o_sig"));
  ob_node(&b, g, "Exp", "exp", OB_NAMES("y"), OB_NAMES("o_exp"));
  ob_node(&b, g, "Abs", "abs", OB_NAMES("z"), OB_NAMES("za"));
  ob_node(&b, g, "Sqrt", "sqrt", OB_NAMES("za"), OB_NAMES("o_sqrt"));
  ob_node(&b, g, "Erf", "erf", OB_NAMES("y"), OB_NAMES("o_erf"));
  Onnx__NodeProto *tr = ob_node(&b, g, "Transpose", "transpose", OB_NAMES("x"), OB_NAMES("o_tr"));
  ob_attr_ints(&b, tr, "perm", 4, OB_DIMS(0, 2, 3, 1));
  ob_node(&b, g, "Softmax", "softmax_last", OB_NAMES("q"), OB_NAMES("o_sm"));
  Onnx__NodeProto *sm1 = ob_node(&b, g, "Softmax", "softmax_mid", OB_NAMES("x"), OB_NAMES("o_sm1"));
  ob_attr_int(&b, sm1, "axis", 1);
  ob_node(&b, g, "LogSoftmax", "logsoftmax", OB_NAMES("k"), OB_NAMES("o_lsm"));
  static const float ln_s[6] = {1.0f, 0.5f, -2.0f, 0.25f, 1.5f, -1.0f};
  static const float ln_b[6] = {0.0f, 0.1f, 0.2f, -0.3f, 0.4f, -0.5f};
  ob_initializer(&b, g, ob_tensor_floats(&b, "ln_s", 1, OB_DIMS(6), ln_s, 6));
  ob_initializer(&b, g, ob_tensor_floats(&b, "ln_b", 1, OB_DIMS(6), ln_b, 6));
  ob_node(&b, g, "LayerNormalization", "layernorm", OB_NAMES("q", "ln_s", "ln_b"),
          OB_NAMES("o_ln"));
  ob_node(&b, g, "Concat", "concat", OB_NAMES("x", "m", "x"), OB_NAMES("o_cat"));
  ob_attr_int(&b, g->node[g->n_node - 1], "axis", 2);
  static const int64_t gidx[4] = {2, -1, 0, 2};
  ob_initializer(&b, g, ob_tensor_int64s(&b, "gidx", 1, OB_DIMS(4), gidx, 4));
  ob_node(&b, g, "Gather", "gather0", OB_NAMES("y", "gidx"), OB_NAMES("o_g0"));
  Onnx__NodeProto *g1 =
      ob_node(&b, g, "Gather", "gather1", OB_NAMES("x", "gidx"), OB_NAMES("o_g1"));
  ob_attr_int(&b, g1, "axis", 1);
  static const float lo = -0.5f, hi = 1.25f;
  ob_initializer(&b, g, ob_tensor_floats(&b, "lo", 0, NULL, &lo, 1));
  ob_initializer(&b, g, ob_tensor_floats(&b, "hi", 0, NULL, &hi, 1));
  ob_node(&b, g, "Clip", "clip", OB_NAMES("y", "lo", "hi"), OB_NAMES("o_clip"));
  Onnx__NodeProto *lr = ob_node(&b, g, "LeakyRelu", "leaky", OB_NAMES("q"), OB_NAMES("o_leaky"));
  ob_attr_float(&b, lr, "alpha", 0.125f);
  Onnx__NodeProto *hs = ob_node(&b, g, "HardSigmoid", "hsig", OB_NAMES("k"), OB_NAMES("o_hsig"));
  ob_attr_float(&b, hs, "alpha", 0.3f);
  Onnx__NodeProto *gm =
      ob_node(&b, g, "Gemm", "gemm", OB_NAMES("a", "wg", "cg"), OB_NAMES("o_gemm"));
  ob_attr_int(&b, gm, "transB", 1);
  ob_attr_float(&b, gm, "alpha", 0.5f);
  ob_attr_float(&b, gm, "beta", 2.0f);
  ob_node(&b, g, "MatMul", "mm_batched", OB_NAMES("q", "k"), OB_NAMES("o_mmb"));
  ob_node(&b, g, "MatMul", "mm_weight", OB_NAMES("q", "wm"), OB_NAMES("o_mmw"));
  ob_node(&b, g, "Reshape", "reshape", OB_NAMES("o_sig", "shape"), OB_NAMES("o_rs"));
  /* chains the backend fuses: conv + bias-sized Add + Relu (residual add of a full-shape input),
   * GEMM + Sigmoid + broadcast Mul, 1x1 conv + Clip with bound inputs, and an elementwise chain
   * whose middle value is also a graph output (stored) */
  ob_input(&b, g, "res", MT_DTYPE_FLOAT32, 4, OB_DIMS(2, 6, 9, 11),
           OB_PARAMS(NULL, NULL, NULL, NULL));
  Onnx__NodeProto *cf =
      ob_node(&b, g, "Conv", "conv_fuse", OB_NAMES("img", "wc", "bc"), OB_NAMES("f_c"));
  ob_attr_ints(&b, cf, "pads", 4, OB_DIMS(1, 1, 1, 1));
  ob_node(&b, g, "Add", "cf_add", OB_NAMES("res", "f_c"), OB_NAMES("f_a"));
  ob_node(&b, g, "Relu", "cf_relu", OB_NAMES("f_a"), OB_NAMES("o_cf"));
  Onnx__NodeProto *gf =
      ob_node(&b, g, "Gemm", "gemm_fuse", OB_NAMES("a", "wg", "cg"), OB_NAMES("f_g"));
  ob_attr_int(&b, gf, "transB", 1);
  ob_node(&b, g, "Sigmoid", "gf_sig", OB_NAMES("f_g"), OB_NAMES("f_s"));
  ob_node(&b, g, "Mul", "gf_mul", OB_NAMES("f_s", "cg"), OB_NAMES("o_gf"));
  ob_node(&b, g, "Conv", "pw_fuse", OB_NAMES("img", "wpw"), OB_NAMES("f_p"));
  ob_node(&b, g, "Clip", "pw_clip", OB_NAMES("f_p", "lo", "hi"), OB_NAMES("o_pwc"));
  ob_node(&b, g, "Sub", "ew_sub", OB_NAMES("x", "z"), OB_NAMES("f_e"));
  ob_node(&b, g, "Exp", "ew_exp", OB_NAMES("f_e"), OB_NAMES("o_ewmid"));
  ob_node(&b, g, "Div", "ew_div", OB_NAMES("bias", "o_ewmid"), OB_NAMES("o_ew"));
  add_depthwise(&b, g);
  static const char *const outs[] = {
      "o_dww",   "o_dws",    "o_dwm",    "o_dwsm",  "o_dw1d", "o_cf",   "o_gf",  "o_pwc",
      "o_ewmid", "o_ew",     "o_relu",   "o_tanh",  "o_div",  "o_sub",  "o_max", "o_min",
      "o_exp",   "o_sqrt",   "o_erf",    "o_leaky", "o_hsig", "o_gemm", "o_mmb", "o_mmw",
      "o_rs",    "o_clip",   "o_tr",     "o_sm",    "o_sm1",  "o_lsm",  "o_ln",  "o_conv",
      "o_convg", "o_convpw", "o_convdw", "o_mp",    "o_ap",   "o_ap2",  "o_gap", "o_gmp",
      "o_cat",   "o_g0",     "o_g1"};
  for (size_t i = 0; i < sizeof outs / sizeof *outs; i++)
    ob_output(&b, g, outs[i], MT_DTYPE_FLOAT32);
  add_split_gemms(&b, g);
  size_t len;
  void *bytes = ob_pack(&b, &len);
  char *p = tu_join(dir, "cpu.onnx");
  tu_write_file(p, bytes, len);
  ob_free(&b);
  return p;
}

typedef struct fixture {
  char *dir, *model;
} fixture;

static int setup(void **state) {
  if (!mt_cpu_backend_available()) return 0;
  fixture *f = calloc(1, sizeof *f);
  f->dir = tu_mkdtemp();
  f->model = write_model(f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (!f) return 0;
  tu_rmtree(f->dir);
  free(f->dir);
  free(f->model);
  free(f);
  return 0;
}

static mtcc_compilation *compile_model(const char *model, int cpu_code, const char *targets) {
  const char *inputs[] = {model};
  mtcc_compile_options o;
  mtcc_compile_options_init(&o);
  o.inputs = inputs;
  o.n_inputs = 1;
  o.cpu_code = cpu_code;
  o.cpu_targets = targets;
  mtcc_compilation *c = NULL;
  mtcc_status *st = mtcc_compile(&o, &c);
  if (st) fprintf(stderr, "%s\n", mtcc_status_message(st));
  assert_null(st);
  return c;
}

static mtcc_compilation *compile(const fixture *f, int cpu_code, const char *targets) {
  return compile_model(f->model, cpu_code, targets);
}

static uint32_t rng_state = 12345;
static float rnd(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float)((rng_state >> 8) & 0xffff) / 16384.0f - 2.0f; /* [-2, 2) */
}

static bool host_runs(const char *target) {
  __builtin_cpu_init();
  if (strcmp(target, "x86-64-v4") == 0)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* The reference of a fused kernel's steps after its head: each step's node on the previous
 * value (ref_cur) and its other args; results into steps_ref[i] (malloc'd). */
static void reference_steps(const mt_module *m, const mt_cpu_kernel *k, const mt_tensor *views,
                            const mt_tensor *head_ref, mt_tensor *steps_ref) {
  mt_tensor cur = *head_ref;
  for (int i = 0; i < k->n_steps; i++) {
    const mt_cpu_step *s = &k->steps[i];
    const mt_node *sn = mt_module_node_c(m, s->node);
    const mt_tensor *ins[4];
    int extra = 0;
    for (int j = 0; j < sn->n_inputs; j++) {
      if (j == s->chain_operand) {
        ins[j] = &cur;
        continue;
      }
      ins[j] = &views[s->extra[extra++]];
      /* an operand the chain produced: the reference's value of it (swish: x * Sigmoid(x)) */
      if (sn->inputs[j] == mt_module_node_c(m, k->node)->outputs[0]) ins[j] = head_ref;
      for (int t = 0; t < i; t++)
        if (sn->inputs[j] == k->args[k->steps[t].out_arg]) ins[j] = &steps_ref[t];
    }
    steps_ref[i] = views[s->out_arg];
    steps_ref[i].data = calloc(1, mt_tensor_nbytes(&steps_ref[i]) + 1);
    mt_status *st = mt_cpu_kernel_run(&s->call, sn->n_inputs, ins, 1, &steps_ref[i]);
    if (st) fail_msg("%s: reference of step %d: %s", k->name, i, mt_status_message(st));
    cur = steps_ref[i];
  }
}

static bool inlined_exp(const mt_kernel_call *c) {
  return c->kind == MT_KERNEL_UNARY &&
         (c->params.unary.op == MT_EW_SIGMOID || c->params.unary.op == MT_EW_SWISH);
}

/* Which kernels must give the reference's bits: BLAS sums in its own order, Sigmoid/Swish use an
 * inlined exp, a global average sums in 8 lanes (1e-5 relative); a depthwise conv adds taps
 * exactly as the reference does. */
static bool kernel_exact(const mt_cpu_kernel *k) {
  const mt_kc_conv *cv = &k->call.params.conv;
  if (k->call.kind == MT_KERNEL_GEMM || k->call.kind == MT_KERNEL_MATMUL || inlined_exp(&k->call))
    return false;
  if (k->call.kind == MT_KERNEL_GLOBAL_POOL && !k->call.params.global_pool.is_max) return false;
  if (k->call.kind == MT_KERNEL_CONV && cv->group != cv->c_in) return false;
  for (int s = 0; s < k->n_steps; s++)
    if (inlined_exp(&k->steps[s].call)) return false;
  return true;
}

static void compare(const mt_cpu_kernel *k, int threads, bool exact, const float *got,
                    const float *want, size_t nb) {
  if (exact) {
    if (memcmp(got, want, nb) != 0) {
      size_t e = 0;
      while (e < nb / 4 && memcmp(&got[e], &want[e], 4) == 0) e++;
      fail_msg("%s at %d thread(s): element %zu is %.9g, the reference %.9g", k->name, threads, e,
               (double)got[e], (double)want[e]);
    }
    return;
  }
  for (size_t e = 0; e < nb / 4; e++)
    if (!(fabsf(got[e] - want[e]) <= 1e-5f * fmaxf(1.0f, fabsf(want[e]))))
      fail_msg("%s at %d thread(s): element %zu is %.9g, the reference %.9g", k->name, threads, e,
               (double)got[e], (double)want[e]);
}

/* Runs kernel k of object `so` at 1, 2 and 3 threads against the reference (a fused kernel: its
 * head's node, then each step's node); counts families (heads and steps). */
static void check_kernel(const mt_module *m, const mt_cpu_kernel *k, void *so, int *families) {
  mt_cpu_kernel_fn fn = (mt_cpu_kernel_fn)dlsym(so, k->symbol);
  if (!fn) fail_msg("%s: no symbol %s", k->name, k->symbol);
  const mt_node *n = mt_module_node_c(m, k->node);
  mt_tensor views[MT_CPU_MAX_KERNEL_ARGS];
  const mt_tensor *ins[MT_CPU_MAX_KERNEL_ARGS];
  void *args[MT_CPU_MAX_KERNEL_ARGS] = {0};
  void *owned[MT_CPU_MAX_KERNEL_ARGS] = {0};
  bool is_out[MT_CPU_MAX_KERNEL_ARGS] = {false};
  for (int i = n->n_inputs; i < k->n_head_args; i++) is_out[i] = true;
  for (int s = 0; s < k->n_steps; s++) is_out[k->steps[s].out_arg] = true;
  for (int i = 0; i < k->n_args; i++) {
    ins[i] = NULL;
    if (k->args[i] == MT_NO_VALUE) continue;
    const mt_value *v = mt_module_value_c(m, k->args[i]);
    views[i] = (mt_tensor){.dtype = v->dtype, .rank = v->rank};
    memcpy(views[i].dims, v->dims, sizeof views[i].dims);
    size_t nb = mt_tensor_nbytes(&views[i]);
    if (!is_out[i] && v->constant >= 0) {
      views[i].data = (void *)mt_module_constant(m, v->constant)->data;
    } else {
      owned[i] = malloc(nb ? nb : 1);
      views[i].data = owned[i];
      if (!is_out[i] && v->dtype == MT_DTYPE_FLOAT32)
        for (size_t e = 0; e < nb / 4; e++) ((float *)owned[i])[e] = rnd();
      else if (!is_out[i])
        memset(owned[i], 0, nb);
    }
    args[i] = views[i].data;
    ins[i] = &views[i];
  }
  /* the reference into its own output buffers */
  int n_out = n->n_outputs;
  mt_tensor ref[MT_CPU_MAX_KERNEL_ARGS], steps_ref[MT_CPU_MAX_STEPS];
  for (int o = 0; o < n_out; o++) {
    ref[o] = views[n->n_inputs + o];
    ref[o].data = calloc(1, mt_tensor_nbytes(&ref[o]) + 1);
  }
  mt_status *st = mt_cpu_kernel_run(&k->call, n->n_inputs, ins, n_out, ref);
  if (st) fail_msg("%s: reference: %s", k->name, mt_status_message(st));
  reference_steps(m, k, views, &ref[0], steps_ref);
  bool exact = kernel_exact(k);
  /* what the kernel stores: the head's outputs unless only the chain reads them, stored steps */
  int n_check = 0, check_arg[MT_CPU_MAX_KERNEL_ARGS];
  const mt_tensor *check_ref[MT_CPU_MAX_KERNEL_ARGS];
  for (int o = 0; o < n_out && k->head_stored; o++)
    check_arg[n_check] = n->n_inputs + o, check_ref[n_check++] = &ref[o];
  for (int s = 0; s < k->n_steps; s++)
    if (k->steps[s].stored)
      check_arg[n_check] = k->steps[s].out_arg, check_ref[n_check++] = &steps_ref[s];
  assert_true(n_check > 0);
  uint8_t *first[MT_CPU_MAX_KERNEL_ARGS];
  for (int c = 0; c < n_check; c++) first[c] = malloc(mt_tensor_nbytes(check_ref[c]) + 1);
  for (int threads = 1; threads <= 3; threads++) {
    for (int i = 0; i < k->n_args; i++) /* NaN bytes: an element no call writes shows up */
      if (is_out[i]) memset(args[i], 0xff, mt_tensor_nbytes(&views[i]));
    for (int t = 0; t < threads; t++) fn(args, t, threads);
    for (int c = 0; c < n_check; c++) {
      size_t nb = mt_tensor_nbytes(check_ref[c]);
      const float *got = args[check_arg[c]];
      compare(k, threads, exact, got, check_ref[c]->data, nb);
      if (threads == 1)
        memcpy(first[c], got, nb);
      else if (memcmp(first[c], got, nb) != 0)
        fail_msg("%s: %d threads give other bits than 1", k->name, threads);
    }
  }
  families[k->call.kind]++;
  for (int s = 0; s < k->n_steps; s++) families[k->steps[s].call.kind]++;
  for (int c = 0; c < n_check; c++) free(first[c]);
  for (int o = 0; o < n_out; o++) free(ref[o].data);
  for (int s = 0; s < k->n_steps; s++) free(steps_ref[s].data);
  for (int i = 0; i < k->n_args; i++) free(owned[i]);
}

/* dlopen of an object after loading what it links with RTLD_NODELETE, as libmtrt does
 * (runtime/bundle/cpu_code.c): closing the object must not unload libgomp and oneDNN. */
static void *open_object(const char *path, const mt_cpu_object *obj) {
  for (int i = 0; i < obj->n_needed; i++) {
    void *lib = dlopen(obj->needed[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (lib) dlclose(lib);
  }
  return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

static void test_kernels_match_reference(void **state) {
  fixture *f = *state;
  if (!f) skip();
  mtcc_compilation *c = compile(f, 1, "x86-64-v3,x86-64-v4");
  const mt_cpu_program *cpu = c->cpu;
  assert_non_null(cpu);
  assert_int_equal(cpu->n_objects, 2);
  int checked = 0;
  for (int i = 0; i < cpu->n_objects; i++) {
    const mt_cpu_object *obj = &cpu->objects[i];
    if (!host_runs(obj->target)) {
      printf("# %s: this host lacks its features, not run\n", obj->target);
      continue;
    }
    char name[64];
    snprintf(name, sizeof name, "%s.so", obj->target);
    char *path = tu_join(f->dir, name);
    tu_write_file(path, obj->bytes, obj->size);
    void *so = open_object(path, obj);
    if (!so) fail_msg("dlopen %s: %s", obj->target, dlerror());
    const uint32_t *ver = dlsym(so, MT_CPU_ABI_VERSION_SYMBOL);
    assert_non_null(ver);
    assert_int_equal(*ver, MT_CPU_ABI_VERSION);
    int families[MT_KERNEL_COUNT] = {0};
    for (int k = 0; k < cpu->n_kernels; k++)
      check_kernel(c->module, &cpu->kernels[k], so, families);
    printf("# %s: %d kernels: %d unary, %d binary, %d variadic, %d gemm, %d matmul, %d conv, %d "
           "copy, %d transpose, %d softmax, %d layernorm, %d pool, %d global pool\n",
           obj->target, cpu->n_kernels, families[MT_KERNEL_UNARY], families[MT_KERNEL_BINARY],
           families[MT_KERNEL_VARIADIC], families[MT_KERNEL_GEMM], families[MT_KERNEL_MATMUL],
           families[MT_KERNEL_CONV], families[MT_KERNEL_COPY], families[MT_KERNEL_TRANSPOSE],
           families[MT_KERNEL_SOFTMAX], families[MT_KERNEL_LAYERNORM], families[MT_KERNEL_POOL],
           families[MT_KERNEL_GLOBAL_POOL]);
    /* every family of the model got code (a family silently dropping out fails here) */
    assert_true(families[MT_KERNEL_UNARY] >= 10);
    assert_true(families[MT_KERNEL_BINARY] >= 4);
    assert_int_equal(families[MT_KERNEL_VARIADIC], 2);
    assert_int_equal(families[MT_KERNEL_GEMM], 3);
    assert_int_equal(families[MT_KERNEL_MATMUL], 3);
    assert_int_equal(families[MT_KERNEL_CONV], 15); /* 4 of add_split_gemms, 5 of add_depthwise */
    /* MTCC_CPU_GEMM (cpu_pgemm.c): `generated` puts every conv but the depthwise one on the
     * GEMM over packed weights (checked above like the others), `library` none, auto some */
    const char *gemm_mode = getenv("MTCC_CPU_GEMM");
    int packed = 0;
    for (int k = 0; k < cpu->n_kernels; k++) packed += cpu->kernels[k].packed_gemm;
    printf("# %s: %d conv kernels chose packed weights (MTCC_CPU_GEMM=%s)\n", obj->target, packed,
           gemm_mode ? gemm_mode : "");
    if (gemm_mode && strcmp(gemm_mode, "generated") == 0) assert_int_equal(packed, 9);
    if (gemm_mode && strcmp(gemm_mode, "library") == 0) assert_int_equal(packed, 0);
    assert_int_equal(families[MT_KERNEL_TRANSPOSE], 1);
    assert_int_equal(families[MT_KERNEL_SOFTMAX], 3);
    assert_int_equal(families[MT_KERNEL_LAYERNORM], 1);
    assert_int_equal(families[MT_KERNEL_POOL], 3);
    assert_int_equal(families[MT_KERNEL_GLOBAL_POOL], 2);
    assert_int_equal(families[MT_KERNEL_CONCAT], 1);
    assert_int_equal(families[MT_KERNEL_GATHER], 2);
    dlclose(so);
    free(path);
    checked++;
  }
  assert_true(checked > 0);
  /* the chains were fused: each is one kernel, named after its nodes */
  const char *chains[] = {"conv:conv_fuse+cf_add+cf_relu",
                          "gemm:gemm_fuse+gf_sig+gf_mul",
                          "conv:pw_fuse+pw_clip",
                          "binary:ew_sub+ew_exp+ew_div",
                          "binary:add+relu",
                          "conv:dw_wide+dw_wide_clip",
                          "conv:dw_swish+dw_sig+dw_mul",
                          "conv:dw_small+dw_add+dw_relu"};
  for (size_t i = 0; i < sizeof chains / sizeof *chains; i++) {
    bool found = false;
    for (int k = 0; k < cpu->n_kernels; k++)
      found = found || !strcmp(cpu->kernels[k].name, chains[i]);
    if (!found) fail_msg("no fused kernel %s", chains[i]);
  }
  assert_true(cpu->n_fused >= 13);
  mtcc_compilation_destroy(c);
}

/* Sigmoid's inlined exp (codegen/cpu/cpu_math.c) over its whole range against double
 * precision, on every target the host runs: within 1e-6 relative (plus the subnormal spacing),
 * NaN kept, +inf to 1, -inf to 0, and the same bits on every target. */
static void test_sigmoid_range(void **state) {
  fixture *f = *state;
  if (!f) skip();
  enum { N = 8192 };
  ob_builder b;
  ob_init(&b, 17);
  Onnx__GraphProto *g = b.graph;
  ob_input(&b, g, "sx", MT_DTYPE_FLOAT32, 1, OB_DIMS(N), OB_PARAMS(NULL));
  ob_node(&b, g, "Sigmoid", "wide_sig", OB_NAMES("sx"), OB_NAMES("sy"));
  ob_output(&b, g, "sy", MT_DTYPE_FLOAT32);
  size_t len;
  void *bytes = ob_pack(&b, &len);
  char *model = tu_join(f->dir, "sig.onnx");
  tu_write_file(model, bytes, len);
  ob_free(&b);
  mtcc_compilation *c = compile_model(model, 1, "x86-64-v3,x86-64-v4");
  const mt_cpu_program *cpu = c->cpu;
  assert_int_equal(cpu->n_kernels, 1);
  static float x[N], y[N], first[N];
  for (int i = 0; i < N; i++) x[i] = -110.0f + 220.0f * (float)i / (float)(N - 1);
  x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = -0.0f, x[4] = 1e-30f, x[5] = -87.5f;
  int checked = 0;
  for (int o = 0; o < cpu->n_objects; o++) {
    if (!host_runs(cpu->objects[o].target)) continue;
    char *path = tu_join(f->dir, "sig.so");
    tu_write_file(path, cpu->objects[o].bytes, cpu->objects[o].size);
    void *so = open_object(path, &cpu->objects[o]);
    if (!so) fail_msg("dlopen %s: %s", cpu->objects[o].target, dlerror());
    mt_cpu_kernel_fn fn = (mt_cpu_kernel_fn)dlsym(so, cpu->kernels[0].symbol);
    assert_non_null(fn);
    void *args[2] = {x, y};
    fn(args, 0, 1);
    assert_true(isnan(y[0]));
    assert_true(y[1] == 1.0f && y[2] >= 0.0f && y[2] <= 1e-38f);
    for (int i = 3; i < N; i++) {
      double want = 1.0 / (1.0 + exp(-(double)x[i]));
      if (!(fabs((double)y[i] - want) <= 1e-6 * want + 0x1p-149))
        fail_msg("%s: sigmoid(%.9g) = %.9g, want %.9g", cpu->objects[o].target, (double)x[i],
                 (double)y[i], want);
    }
    if (checked && memcmp(first, y, sizeof y) != 0)
      fail_msg("%s gives other bits than the first target", cpu->objects[o].target);
    memcpy(first, y, sizeof y);
    dlclose(so);
    free(path);
    checked++;
  }
  assert_true(checked > 0);
  mtcc_compilation_destroy(c);
  free(model);
}

static uint8_t *bundle_bytes(const fixture *f, mtcc_compilation *c, const char *name,
                             size_t *size) {
  char *path = tu_join(f->dir, name);
  mtcc_status *st = mtcc_compilation_write_bundle(c, path);
  if (st) fprintf(stderr, "%s\n", mtcc_status_message(st));
  assert_null(st);
  uint8_t *bytes = (uint8_t *)tu_read_file(path, size);
  free(path);
  return bytes;
}

static Mtbundle__Manifest *manifest_of(const uint8_t *img, size_t size, const uint8_t **cpu_sec,
                                       uint64_t *cpu_size) {
  mt_bundle_section secs[MT_SECTION_KIND_COUNT];
  assert_ok(mt_bundle_parse_container(img, size, "test", secs));
  const mt_bundle_section *ms = &secs[MT_SECTION_MANIFEST];
  *cpu_sec = secs[MT_SECTION_CPU_CODE].kind ? img + secs[MT_SECTION_CPU_CODE].offset : NULL;
  *cpu_size = secs[MT_SECTION_CPU_CODE].size;
  Mtbundle__Manifest *mf = mtbundle__manifest__unpack(NULL, (size_t)ms->size, img + ms->offset);
  assert_non_null(mf);
  return mf;
}

/* The bundle's CPU fields, and the same bytes from a second compile. */
static void test_bundle_cpu_fields_deterministic(void **state) {
  fixture *f = *state;
  if (!f) skip();
  size_t size1, size2;
  mtcc_compilation *c1 = compile(f, 1, NULL);
  uint8_t *b1 = bundle_bytes(f, c1, "a.mtbundle", &size1);
  mtcc_compilation *c2 = compile(f, 1, NULL);
  uint8_t *b2 = bundle_bytes(f, c2, "b.mtbundle", &size2);
  assert_int_equal(size1, size2);
  assert_memory_equal(b1, b2, size1);
  const uint8_t *sec;
  uint64_t sec_size;
  Mtbundle__Manifest *mf = manifest_of(b1, size1, &sec, &sec_size);
  assert_string_equal(mf->cpu_unavailable, "");
  assert_int_equal(mf->n_cpu_objects, 2);
  assert_non_null(sec);
  for (size_t i = 0; i < mf->n_cpu_objects; i++) {
    const Mtbundle__CpuObject *o = mf->cpu_objects[i];
    assert_int_equal(o->abi_version, MT_CPU_ABI_VERSION);
    assert_int_equal(o->offset % MT_BUNDLE_ALIGN, 0);
    assert_true(o->offset + o->size <= sec_size);
    assert_memory_equal(sec + o->offset, "\177ELF", 4);
    assert_true(o->n_required_features > 0);
  }
  assert_string_equal(mf->cpu_objects[0]->target, "x86-64-v3");
  assert_string_equal(mf->cpu_objects[1]->target, "x86-64-v4");
  assert_int_equal(mf->n_cpu_groups, mf->n_groups);
  int with_code = 0;
  for (size_t g = 0; g < mf->n_cpu_groups; g++) {
    const Mtbundle__CpuGroup *cg = mf->cpu_groups[g];
    if (cg->unavailable[0]) continue;
    with_code++;
    for (size_t k = 0; k < cg->n_kernels; k++) {
      assert_true(cg->kernels[k]->n_args >= 2);
      assert_true(strncmp(cg->kernels[k]->symbol, "mt_cpu_k", 8) == 0);
    }
  }
  assert_true(with_code > 0);
  mtbundle__manifest__free_unpacked(mf, NULL);
  /* the JSON report lists, per horizontal group, its CPU kernels or why it has none */
  char *rpath = tu_join(f->dir, "report.json");
  assert_null(mtcc_compilation_write_report(c1, rpath));
  size_t rlen;
  char *report = tu_read_file(rpath, &rlen);
  assert_non_null(strstr(report, "\"cpu_code\""));
  assert_non_null(strstr(report, "\"groups_generated\""));
  assert_non_null(strstr(report, "\"conv:conv3x3\""));
  free(report);
  free(rpath);
  free(b1);
  free(b2);
  mtcc_compilation_destroy(c1);
  mtcc_compilation_destroy(c2);
}

/* CPU code off: no objects, no CPU section, and the bundle says why. */
static void test_cpu_code_off_says_why(void **state) {
  fixture *f = *state;
  if (!f) skip();
  size_t size;
  mtcc_compilation *c = compile(f, 0, NULL);
  uint8_t *b = bundle_bytes(f, c, "off.mtbundle", &size);
  const uint8_t *sec;
  uint64_t sec_size;
  Mtbundle__Manifest *mf = manifest_of(b, size, &sec, &sec_size);
  assert_null(sec);
  assert_int_equal(mf->n_cpu_objects, 0);
  assert_int_equal(mf->n_cpu_groups, 0);
  assert_non_null(strstr(mf->cpu_unavailable, "--no-cpu-code"));
  mtbundle__manifest__free_unpacked(mf, NULL);
  free(b);
  mtcc_compilation_destroy(c);
  /* an unknown target is an error naming it */
  mt_cpu_options o;
  mt_cpu_options_init(&o);
  assert_status(mt_cpu_targets_parse("x86-64-v3,armv9", &o), MT_INVALID_ARGUMENT, "armv9");
  /* so is an unknown MTCC_CPU_GEMM (cpu_pgemm.c), named */
  const char *was = getenv("MTCC_CPU_GEMM");
  char *saved = was ? strdup(was) : NULL;
  setenv("MTCC_CPU_GEMM", "fastest", 1);
  mt_cpu_gemm_mode_t mode;
  assert_status(mt_cpu_gemm_mode(&mode), MT_INVALID_ARGUMENT, "MTCC_CPU_GEMM=fastest");
  if (saved)
    setenv("MTCC_CPU_GEMM", saved, 1);
  else
    unsetenv("MTCC_CPU_GEMM");
  free(saved);
}

int main(void) {
  if (!mt_cpu_backend_available()) {
    printf("skip: %s\n", mt_cpu_backend_describe());
    return TU_SKIP_RETURN_CODE;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kernels_match_reference),
      cmocka_unit_test(test_sigmoid_range),
      cmocka_unit_test(test_bundle_cpu_fields_deterministic),
      cmocka_unit_test(test_cpu_code_off_says_why),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, setup, teardown));
}
