/* mtcc ops: the op registry as a listing, so the README's supported-op list and docs/ops.md are
 * generated from the same tables the importer and passes use (ir/op_registry.c, ir/op_versions.c,
 * runtime/cpu/tensor.c's dtypes) and cannot drift. */
#include <stdio.h>
#include <string.h>

#include "ir/op.h"
#include "ir/op_versions.h"
#include "runtime/cpu/float8.h"
#include "runtime/base/escape.h"
#include "tools/cli.h"

static void print_plain(void) {
  for (int i = 0; i < mt_op_count(); i++) {
    const mt_op_def *d = mt_op_at(i);
    printf("%-24s %s\n", d->op_type, mt_op_pattern_name(d->pattern));
  }
}

/* One Markdown table row per fusion pattern, ops in registry order. */
static void print_markdown(void) {
  printf("| fusion pattern | ops |\n|---|---|\n");
  for (int p = MT_PATTERN_ELEMENTWISE; p <= MT_PATTERN_OPAQUE; p++) {
    printf("| %s |", mt_op_pattern_name((mt_op_pattern)p));
    int listed = 0;
    for (int i = 0; i < mt_op_count(); i++) {
      const mt_op_def *d = mt_op_at(i);
      if ((int)d->pattern == p) printf("%s%s", listed++ ? ", " : " ", d->op_type);
    }
    printf(" |\n");
  }
}

/* What each dtype mtcc supports is for: computed by the typed kernels, or stored and converted
 * only (Cast, CastLike, data movement, constants). From runtime/cpu/tensor.h's predicates. */
static void print_dtypes_markdown(void) {
  printf("| dtype | support |\n|---|---|\n");
  for (int dt = 1; dt <= MT_DTYPE_INT2; dt++) {
    const char *what;
    if (!mt_dtype_supported((mt_dtype)dt))
      what = "not supported (refused by name)";
    else if (mt_dtype_is_float16_like((mt_dtype)dt))
      what =
          "every typed kernel (computed in float32, rounded to nearest even at each op's output)";
    else if (mt_dtype_is_float((mt_dtype)dt) || mt_dtype_is_integer((mt_dtype)dt))
      what = "every typed kernel";
    else if (mt_dtype_is_float_any((mt_dtype)dt))
      what = "elementwise math, Reduce*, ArgMax/ArgMin, TopK, CumSum, Einsum, MatMul, Gemm, "
             "Softmax/LogSoftmax, MaxPool (in double), casts, data movement";
    else if (mt_dtype_is_integer_any((mt_dtype)dt))
      what = "elementwise math, casts, data movement";
    else if (dt == MT_DTYPE_BOOL)
      what = "logic, comparisons, Where, casts, data movement";
    else if (mt_dtype_is_float8((mt_dtype)dt))
      what = "storage: Cast/CastLike (round to nearest even, saturate), data movement, constants";
    else if (dt == MT_DTYPE_FLOAT8E8M0)
      what = "storage: Cast/CastLike (round_mode up/down/nearest, saturate), data movement, "
             "constants";
    else if (dt == MT_DTYPE_FLOAT4E2M1)
      what = "packed 2 per byte: Cast/CastLike (round to nearest even, saturate), "
             "Quantize/DequantizeLinear, Reshape-like views, constants";
    else if (mt_dtype_is_packed((mt_dtype)dt))
      what = "packed: Cast/CastLike (truncate, wrap), Quantize/DequantizeLinear (saturate), "
             "Reshape-like views, constants";
    else
      what = "supported";
    printf("| %s | %s |\n", mt_dtype_name((mt_dtype)dt), what);
  }
}

/* One row per op: its fusion pattern and the ONNX versions (since_version) the registry
 * implements, the newest first as ONNX's operator tables list them. */
static void print_versions_markdown(void) {
  printf("Opset versions from %s (newest opset %d).\n\n", mt_onnx_schema_source,
         mt_onnx_opset_newest);
  printf("| op | fusion pattern | versions |\n|---|---|---|\n");
  for (int i = 0; i < mt_op_versions_count(); i++) {
    const mt_onnx_schema_versions *v = mt_op_versions_at(i);
    const mt_op_def *d = mt_op_lookup("", v->op_type);
    char list[256];
    mt_op_versions_format(v, list, sizeof list);
    printf("| %s | %s | %s |\n", v->op_type, d ? mt_op_pattern_name(d->pattern) : "-", list);
  }
}

int mt_cmd_ops(int argc, char **argv) {
  bool markdown = false, versions = false;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--markdown") == 0) {
      markdown = true;
    } else if (strcmp(argv[i], "--versions") == 0) {
      versions = true;
    } else {
      fprintf(stderr, "mtcc: error: ops: unknown option '%s'\n", mt_esc(argv[i]));
      return 1;
    }
  }
  if (versions && !markdown) {
    fprintf(stderr, "mtcc: error: ops: --versions goes with --markdown\n");
    return 1;
  }
  if (versions) {
    print_versions_markdown();
  } else if (markdown) {
    print_markdown();
    printf("\n");
    print_dtypes_markdown();
  } else {
    print_plain();
  }
  return 0;
}
