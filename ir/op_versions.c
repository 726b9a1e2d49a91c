/* The ONNX versions mtcc's op registry implements, and the check that a node's opset selects
 * one of them (see op_versions.h).
 *
 * Listing a version here claims that the op's registry entry (ir/ops/) follows that version's
 * semantics: where versions differ, its infer/lower read ctx->opset (Resize's coordinate modes
 * before 11, the Reduce ops' axes input from 13/18, Split's sizes input from 13, ...). The list
 * started as every non-deprecated version the onnx wheel defines for each registered op, since
 * the conformance suites pass at those opsets; a version the wheel adds later is not here until
 * someone reads its changes: the CTest onnx_schema_table fails when the wheel moves, and until
 * then a model selecting that version is refused by name instead of run under older semantics.
 * Deprecated versions (Upsample from 10, Scatter from 11) are left out: the op no longer exists
 * at those opsets. QuantizeLinear/DequantizeLinear 24, 25 and 28 only add types (float8e8m0
 * scales, int2/uint2, float6), which the quant ops' dtype checks refuse by name. */
#include "ir/op_versions.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
static const mt_onnx_schema_versions implemented[] = {
    {"Abs", {1, 6, 13}, 0},
    {"Acos", {7, 22}, 0},
    {"Acosh", {9, 22}, 0},
    {"Add", {1, 6, 7, 13, 14}, 0},
    {"AffineGrid", {20}, 0},
    {"And", {1, 7}, 0},
    {"ArgMax", {1, 11, 12, 13}, 0},
    {"ArgMin", {1, 11, 12, 13}, 0},
    {"Asin", {7, 22}, 0},
    {"Asinh", {9, 22}, 0},
    {"Atan", {7, 22}, 0},
    {"Atanh", {9, 22}, 0},
    {"Attention", {23, 24, 25}, 0},
    {"AveragePool", {1, 7, 10, 11, 19, 22}, 0},
    {"BatchNormalization", {1, 6, 7, 9, 14, 15}, 0},
    {"BitCast", {26}, 0},
    {"BitShift", {11, 28}, 0},
    {"BitwiseAnd", {18}, 0},
    {"BitwiseNot", {18}, 0},
    {"BitwiseOr", {18}, 0},
    {"BitwiseXor", {18}, 0},
    {"BlackmanWindow", {17}, 0},
    {"Cast", {1, 6, 9, 13, 19, 21, 23, 24, 25, 28}, 0},
    {"CastLike", {15, 19, 21, 23, 24, 25}, 0},
    {"CausalConvWithState", {27}, 0},
    {"Ceil", {1, 6, 13}, 0},
    {"Celu", {12, 28}, 0},
    {"CenterCropPad", {18}, 0},
    {"Clip", {1, 6, 11, 12, 13}, 0},
    {"Col2Im", {18}, 0},
    {"Compress", {9, 11, 28}, 0},
    {"Concat", {1, 4, 11, 13}, 0},
    {"ConcatFromSequence", {11}, 0},
    {"Constant", {1, 9, 11, 12, 13, 19, 21, 23, 24, 25}, 0},
    {"ConstantOfShape", {9, 20, 21, 23, 24, 25}, 0},
    {"Conv", {1, 11, 22}, 0},
    {"ConvInteger", {10}, 0},
    {"ConvTranspose", {1, 11, 22}, 0},
    {"Cos", {7, 22}, 0},
    {"Cosh", {9, 22}, 0},
    {"CumProd", {26}, 0},
    {"CumSum", {11, 14}, 0},
    {"DFT", {17, 20}, 0},
    {"DeformConv", {19, 22}, 0},
    {"DepthToSpace", {1, 11, 13, 28}, 0},
    {"DequantizeLinear", {10, 13, 19, 21, 23, 24, 25, 28}, 0},
    {"Det", {11, 22}, 0},
    {"Div", {1, 6, 7, 13, 14}, 0},
    {"Dropout", {1, 6, 7, 10, 12, 13, 22}, 0},
    {"DynamicQuantizeLinear", {11}, 0},
    {"Einsum", {12, 28}, 0},
    {"Elu", {1, 6, 22}, 0},
    {"Equal", {1, 7, 11, 13, 19}, 0},
    {"Erf", {9, 13}, 0},
    {"Exp", {1, 6, 13}, 0},
    {"Expand", {8, 13}, 0},
    {"EyeLike", {9, 22}, 0},
    {"Flatten", {1, 9, 11, 13, 21, 23, 24, 25}, 0},
    {"Floor", {1, 6, 13}, 0},
    {"GRU", {1, 3, 7, 14, 22}, 0},
    {"Gather", {1, 11, 13}, 0},
    {"GatherElements", {11, 13}, 0},
    {"GatherND", {11, 12, 13}, 0},
    {"Gelu", {20}, 0},
    {"Gemm", {1, 6, 7, 9, 11, 13}, 0},
    {"GlobalAveragePool", {1, 22}, 0},
    {"GlobalMaxPool", {1, 22}, 0},
    {"Greater", {1, 7, 9, 13}, 0},
    {"GreaterOrEqual", {12, 16}, 0},
    {"GridSample", {16, 20, 22}, 0},
    {"GroupNormalization", {18, 21}, 0},
    {"HammingWindow", {17}, 0},
    {"HannWindow", {17}, 0},
    {"HardSigmoid", {1, 6, 22}, 0},
    {"HardSwish", {14, 22}, 0},
    {"Hardmax", {1, 11, 13}, 0},
    {"Identity", {1, 13, 14, 16, 19, 21, 23, 24, 25}, 0},
    {"If", {1, 11, 13, 16, 19, 21, 23, 24, 25}, 0},
    {"InstanceNormalization", {1, 6, 22}, 0},
    {"IsInf", {10, 20}, 0},
    {"IsNaN", {9, 13, 20}, 0},
    {"LRN", {1, 13}, 0},
    {"LSTM", {1, 7, 14, 22}, 0},
    {"LayerNormalization", {17}, 0},
    {"LeakyRelu", {1, 6, 16}, 0},
    {"Less", {1, 7, 9, 13}, 0},
    {"LessOrEqual", {12, 16}, 0},
    {"LinearAttention", {27}, 0},
    {"Log", {1, 6, 13}, 0},
    {"LogSoftmax", {1, 11, 13}, 0},
    {"Loop", {1, 11, 13, 16, 19, 21, 23, 24, 25}, 0},
    {"LpNormalization", {1, 22}, 0},
    {"LpPool", {1, 2, 11, 18, 22}, 0},
    {"MatMul", {1, 9, 13}, 0},
    {"MatMulInteger", {10}, 0},
    {"Max", {1, 6, 8, 12, 13}, 0},
    {"MaxPool", {1, 8, 10, 11, 12, 22}, 0},
    {"MaxUnpool", {9, 11, 22}, 0},
    {"Mean", {1, 6, 8, 13}, 0},
    {"MeanVarianceNormalization", {9, 13}, 0},
    {"MelWeightMatrix", {17}, 0},
    {"Min", {1, 6, 8, 12, 13}, 0},
    {"Mish", {18, 22}, 0},
    {"Mod", {10, 13, 28}, 0},
    {"Mul", {1, 6, 7, 13, 14}, 0},
    {"Neg", {1, 6, 13}, 0},
    {"NegativeLogLikelihoodLoss", {12, 13, 22}, 0},
    {"NonMaxSuppression", {10, 11}, 0},
    {"NonZero", {9, 13}, 0},
    {"Not", {1}, 0},
    {"OneHot", {9, 11, 28}, 0},
    {"Optional", {15, 28}, 0},
    {"OptionalGetElement", {15, 18, 28}, 0},
    {"OptionalHasElement", {15, 18, 28}, 0},
    {"Or", {1, 7}, 0},
    {"PRelu", {1, 6, 7, 9, 16}, 0},
    {"Pad", {1, 2, 11, 13, 18, 19, 21, 23, 24, 25}, 0},
    {"Pow", {1, 7, 12, 13, 15}, 0},
    {"QLinearConv", {10}, 0},
    {"QLinearMatMul", {10, 21}, 0},
    {"QuantizeLinear", {10, 13, 19, 21, 23, 24, 25, 28}, 0},
    {"RMSNormalization", {23}, 0},
    {"RNN", {1, 7, 14, 22}, 0},
    {"Range", {11, 27}, 0},
    {"Reciprocal", {1, 6, 13}, 0},
    {"ReduceL1", {1, 11, 13, 18}, 0},
    {"ReduceL2", {1, 11, 13, 18}, 0},
    {"ReduceLogSum", {1, 11, 13, 18, 28}, 0},
    {"ReduceLogSumExp", {1, 11, 13, 18, 28}, 0},
    {"ReduceMax", {1, 11, 12, 13, 18, 20}, 0},
    {"ReduceMean", {1, 11, 13, 18}, 0},
    {"ReduceMin", {1, 11, 12, 13, 18, 20}, 0},
    {"ReduceProd", {1, 11, 13, 18}, 0},
    {"ReduceSum", {1, 11, 13}, 0},
    {"ReduceSumSquare", {1, 11, 13, 18}, 0},
    {"Relu", {1, 6, 13, 14}, 0},
    {"Reshape", {1, 5, 13, 14, 19, 21, 23, 24, 25}, 0},
    {"Resize", {10, 11, 13, 18, 19}, 0},
    {"ReverseSequence", {10, 28}, 0},
    {"RoiAlign", {10, 16, 22}, 0},
    {"RotaryEmbedding", {23}, 0},
    {"Round", {11, 22}, 0},
    {"STFT", {17}, 0},
    {"Scan", {8, 9, 11, 16, 19, 21, 23, 24, 25}, 0},
    {"Scatter", {9}, 0},
    {"ScatterElements", {11, 13, 16, 18}, 0},
    {"ScatterND", {11, 13, 16, 18}, 0},
    {"Selu", {1, 6, 22}, 0},
    {"SequenceAt", {11}, 0},
    {"SequenceConstruct", {11}, 0},
    {"SequenceEmpty", {11}, 0},
    {"SequenceErase", {11}, 0},
    {"SequenceInsert", {11}, 0},
    {"SequenceLength", {11}, 0},
    {"SequenceMap", {17}, 0},
    {"Shape", {1, 13, 15, 19, 21, 23, 24, 25}, 0},
    {"Shrink", {9}, 0},
    {"Sigmoid", {1, 6, 13}, 0},
    {"Sign", {9, 13}, 0},
    {"Sin", {7, 22}, 0},
    {"Sinh", {9, 22}, 0},
    {"Size", {1, 13, 19, 21, 23, 24, 25}, 0},
    {"Slice", {1, 10, 11, 13}, 0},
    {"Softmax", {1, 11, 13}, 0},
    {"SoftmaxCrossEntropyLoss", {12, 13}, 0},
    {"Softplus", {1, 22}, 0},
    {"Softsign", {1, 22}, 0},
    {"SpaceToDepth", {1, 13, 28}, 0},
    {"Split", {1, 2, 11, 13, 18}, 0},
    {"SplitToSequence", {11, 24}, 0},
    {"Sqrt", {1, 6, 13}, 0},
    {"Squeeze", {1, 11, 13, 21, 23, 24, 25}, 0},
    {"Sub", {1, 6, 7, 13, 14}, 0},
    {"Sum", {1, 6, 8, 13}, 0},
    {"SwiGLU", {28}, 0},
    {"Swish", {24}, 0},
    {"Tan", {7, 22}, 0},
    {"Tanh", {1, 6, 13}, 0},
    {"TensorScatter", {24}, 0},
    {"TfIdfVectorizer", {9}, 0},
    {"ThresholdedRelu", {10, 22}, 0},
    {"Tile", {1, 6, 13}, 0},
    {"TopK", {1, 10, 11, 24}, 0},
    {"Transpose", {1, 13, 21, 23, 24, 25}, 0},
    {"Trilu", {14}, 0},
    {"Unique", {11, 28}, 0},
    {"Unsqueeze", {1, 11, 13, 21, 23, 24, 25}, 0},
    {"Upsample", {1, 7, 9}, 0},
    {"Where", {9, 16}, 0},
    {"Xor", {1, 7}, 0},
};
/* clang-format on */

static int by_name(const void *key, const void *entry) {
  return strcmp((const char *)key, ((const mt_onnx_schema_versions *)entry)->op_type);
}

const mt_onnx_schema_versions *mt_onnx_schema_find(const char *op_type) {
  return bsearch(op_type, mt_onnx_schemas, (size_t)mt_onnx_schema_count, sizeof *mt_onnx_schemas,
                 by_name);
}

const mt_onnx_schema_versions *mt_op_versions_find(const char *op_type) {
  return bsearch(op_type, implemented, sizeof implemented / sizeof *implemented,
                 sizeof *implemented, by_name);
}

int mt_op_versions_count(void) { return (int)(sizeof implemented / sizeof *implemented); }

const mt_onnx_schema_versions *mt_op_versions_at(int i) {
  return i >= 0 && i < mt_op_versions_count() ? &implemented[i] : NULL;
}

void mt_op_versions_format(const mt_onnx_schema_versions *v, char *out, size_t cap) {
  size_t len = 0;
  out[0] = 0;
  for (int i = 0; i < MT_ONNX_MAX_VERSIONS && v->since[i] && len < cap; i++) {
    int n = snprintf(out + len, cap - len, "%s%d", i ? ", " : "", v->since[i]);
    if (n < 0) break;
    len += (size_t)n;
  }
}

static bool lists(const mt_onnx_schema_versions *v, int version) {
  for (int i = 0; i < MT_ONNX_MAX_VERSIONS && v->since[i]; i++)
    if (v->since[i] == version) return true;
  return false;
}

mt_status *mt_op_version_check(const char *op_type, int opset, int *out_version) {
  *out_version = 0;
  if (opset > mt_onnx_opset_newest)
    return MT_ERR(UNIMPLEMENTED,
                  "op %s: opset %d is newer than the newest mtcc knows (%d, from %s)", op_type,
                  opset, mt_onnx_opset_newest, mt_onnx_schema_source);
  const mt_onnx_schema_versions *schema = mt_onnx_schema_find(op_type);
  const mt_onnx_schema_versions *impl = mt_op_versions_find(op_type);
  if (!schema || !impl)
    return MT_ERR(UNIMPLEMENTED,
                  "op %s has no version table (not an op of the default domain "
                  "mtcc implements)",
                  op_type);
  int selected = 0;
  for (int i = 0; i < MT_ONNX_MAX_VERSIONS && schema->since[i] && schema->since[i] <= opset; i++)
    selected = schema->since[i];
  if (!selected)
    return MT_ERR(INVALID_ARGUMENT,
                  "op %s does not exist at opset %d (it first appears in "
                  "opset %d)",
                  op_type, opset, schema->since[0]);
  if (schema->deprecated && selected >= schema->deprecated)
    return MT_ERR(INVALID_ARGUMENT, "op %s is deprecated from opset %d (the model imports %d)",
                  op_type, schema->deprecated, opset);
  if (!lists(impl, selected)) {
    char have[256];
    mt_op_versions_format(impl, have, sizeof have);
    return MT_ERR(UNIMPLEMENTED,
                  "%s-%d (selected by opset %d) is not implemented; mtcc "
                  "implements %s versions %s",
                  op_type, selected, opset, op_type, have);
  }
  *out_version = selected;
  return NULL;
}
