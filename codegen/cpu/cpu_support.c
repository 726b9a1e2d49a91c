/* Which lowered calls the CPU generator emits (cpu_llvm.c), and why not the others: the one place
 * that decides, so the report's reasons and the emitter cannot drift. Knows nothing about LLVM. */
#include <stdio.h>

#include "codegen/cpu/cpu.h"
#include "runtime/cpu/gemm.h"

static bool unary_generated(mt_ew_unary op) {
  switch (op) {
  case MT_EW_RELU:
  case MT_EW_LEAKY_RELU:
  case MT_EW_SIGMOID:
  case MT_EW_TANH:
  case MT_EW_HARD_SIGMOID:
  case MT_EW_HARD_SWISH:
  case MT_EW_ELU:
  case MT_EW_GELU:
  case MT_EW_ERF:
  case MT_EW_SQRT:
  case MT_EW_EXP:
  case MT_EW_LOG:
  case MT_EW_NEG:
  case MT_EW_ABS:
  case MT_EW_RECIPROCAL:
  case MT_EW_FLOOR:
  case MT_EW_CEIL:
  case MT_EW_CLIP: return true;
  default: return false;
  }
}

static bool binary_generated(mt_ew_binary op) {
  switch (op) {
  case MT_EW_ADD:
  case MT_EW_SUB:
  case MT_EW_MUL:
  case MT_EW_DIV:
  case MT_EW_POW:
  case MT_EW_MIN:
  case MT_EW_MAX:
  case MT_EW_PRELU: return true;
  default: return false;
  }
}

static const mt_value *arg_value(const mt_module *m, const mt_cpu_kernel *k, int i) {
  if (i >= k->n_args || k->args[i] == MT_NO_VALUE) return NULL;
  return mt_module_value_c(m, k->args[i]);
}

static bool all_f32(const mt_module *m, const mt_cpu_kernel *k) {
  for (int i = 0; i < k->n_args; i++) {
    const mt_value *v = arg_value(m, k, i);
    if (v && v->dtype != MT_DTYPE_FLOAT32) return false;
  }
  return true;
}

/* Element counts and dims fit the generated code's 32-bit BLAS arguments. */
static bool dims_fit_int(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] <= 0 || dims[i] > (1LL << 30)) return false;
    n *= dims[i];
    if (n > (1LL << 40)) return false;
  }
  return true;
}

const char *mt_cpu_kernel_unsupported(const mt_module *m, const mt_cpu_kernel *k, char *buf,
                                      size_t n) {
  const mt_kernel_call *c = &k->call;
  const mt_node *node = mt_module_node_c(m, k->node);
  int n_in = node->n_inputs;
  /* the bundle's kernel arguments are all real buffers (libmtrt refuses NONE references) */
  for (int i = 0; i < k->n_args; i++)
    if (k->args[i] == MT_NO_VALUE)
      return i < n_in ? "an omitted optional input (no generated kernel yet)"
                      : "an omitted optional output (no generated kernel yet)";
  /* the generated kernels address whole-byte elements (mt_dtype_size): packed sub-byte operands
   * run on the reference kernels, which size them with mt_dtype_bytes */
  for (int i = 0; i < k->n_args; i++)
    if (mt_dtype_is_packed(arg_value(m, k, i)->dtype))
      return "a packed sub-byte operand (int4, uint4, int2, uint2, float4e2m1: no generated CPU "
             "kernel)";
  switch (c->kind) {
  case MT_KERNEL_UNARY:
    if (!all_f32(m, k)) return "unary op on a dtype other than float32 (no generated kernel yet)";
    if (c->params.unary.bounds_from_inputs)
      for (int i = 1; i < n_in; i++)
        if (mt_shape_numel(arg_value(m, k, i)->rank, arg_value(m, k, i)->dims) != 1)
          return "Clip with a bound that is not a scalar";
    if (!unary_generated(c->params.unary.op)) {
      snprintf(buf, n, "unary op %d has no generated CPU kernel yet", (int)c->params.unary.op);
      return buf;
    }
    return NULL;
  case MT_KERNEL_BINARY:
    if (!all_f32(m, k)) return "binary op on a dtype other than float32 (no generated kernel yet)";
    if (!binary_generated(c->params.binary.op)) {
      snprintf(buf, n, "binary op %d has no generated CPU kernel yet", (int)c->params.binary.op);
      return buf;
    }
    return NULL;
  case MT_KERNEL_VARIADIC:
    if (!all_f32(m, k))
      return "Sum/Mean/Min/Max on a dtype other than float32 (no generated kernel yet)";
    if (n_in != 2 || node->inputs[0] == MT_NO_VALUE || node->inputs[1] == MT_NO_VALUE)
      return "Sum/Mean/Min/Max with other than two inputs (no generated kernel yet)";
    if (!binary_generated(c->params.variadic.op)) return "variadic op has no generated kernel yet";
    return NULL;
  case MT_KERNEL_SOFTMAX:
    if (!all_f32(m, k)) return "Softmax on a dtype other than float32 (no generated kernel yet)";
    if (c->params.softmax.n <= 0) return "Softmax over an empty axis";
    return NULL;
  case MT_KERNEL_LAYERNORM: {
    if (!all_f32(m, k)) return "LayerNormalization on a dtype other than float32";
    if (node->n_outputs > 1)
      return "LayerNormalization's Mean/InvStdDev outputs (no generated kernel yet)";
    const mt_value *x = arg_value(m, k, 0);
    int axis = c->params.norm.axis;
    if (axis < 0 || axis >= x->rank) return "LayerNormalization axis out of range";
    int64_t nn = mt_shape_numel(x->rank - axis, x->dims + axis);
    for (int i = 1; i < n_in; i++) {
      const mt_value *p = arg_value(m, k, i);
      if (mt_shape_numel(p->rank, p->dims) != nn)
        return "LayerNormalization with a broadcast Scale or B (no generated kernel yet)";
    }
    if (n_in < 2) return "LayerNormalization without Scale";
    return NULL;
  }
  case MT_KERNEL_POOL: {
    if (!all_f32(m, k)) return "pooling on a dtype other than float32 (no generated kernel yet)";
    const mt_conv_geom *g = &c->params.pool.geom;
    if (g->nsp < 1 || g->nsp > 2)
      return "pooling over more than 2 spatial dims (no generated kernel yet)";
    if (node->n_outputs > 1) return "MaxPool's Indices output (no generated kernel yet)";
    int64_t taps = 1;
    for (int d = 0; d < g->nsp; d++) taps *= g->kernel[d];
    if (taps > 256) return "a pooling window of more than 256 taps (its loop is unrolled)";
    return NULL;
  }
  case MT_KERNEL_GLOBAL_POOL: {
    if (!all_f32(m, k)) return "global pooling on a dtype other than float32";
    const mt_value *x = arg_value(m, k, 0);
    if (x->rank < 2) return "global pooling of rank < 2";
    return NULL;
  }
  case MT_KERNEL_CONCAT: {
    const mt_value *y = arg_value(m, k, n_in);
    int axis = c->params.axis.axis;
    if (axis < 0 || axis >= y->rank) return "Concat axis out of range";
    for (int i = 0; i < n_in; i++)
      if (arg_value(m, k, i)->dtype != y->dtype) return "Concat of mixed dtypes";
    return NULL;
  }
  case MT_KERNEL_GATHER: {
    const mt_value *x = arg_value(m, k, 0), *ix = arg_value(m, k, 1);
    int axis = c->params.axis.axis;
    if (n_in != 2 || axis < 0 || axis >= x->rank) return "Gather axis out of range";
    if (ix->dtype != MT_DTYPE_INT64 && ix->dtype != MT_DTYPE_INT32)
      return "Gather with indices that are not int32 or int64";
    return NULL;
  }
  case MT_KERNEL_TRANSPOSE: {
    const mt_value *x = arg_value(m, k, 0);
    size_t es = mt_dtype_size(x->dtype);
    if (es != 1 && es != 2 && es != 4 && es != 8)
      return "Transpose of an element that is not 1, 2, 4 or 8 bytes";
    return NULL;
  }
  case MT_KERNEL_COPY:
    if (c->params.copy.fill_mask && node->n_outputs > 1 && node->outputs[1] != MT_NO_VALUE)
      return "Dropout's mask output has no generated CPU kernel yet";
    return NULL;
  case MT_KERNEL_CONV: {
    if (!mt_cpu_blas_available()) return mt_cpu_blas_describe();
    if (!all_f32(m, k)) return "Conv on a dtype other than float32 (no generated kernel yet)";
    const mt_kc_conv *cv = &c->params.conv;
    const mt_conv_geom *g = &cv->geom;
    if (g->nsp < 1 || g->nsp > 2)
      return "Conv with more than 2 spatial dims (no generated kernel yet)";
    if (cv->group <= 0 || cv->c_in % cv->group || cv->c_out % cv->group)
      return "Conv groups do not divide the channels";
    int64_t kg = cv->c_in / cv->group, ow = g->out[g->nsp - 1];
    for (int d = 0; d < g->nsp; d++) kg *= g->kernel[d];
    /* one output row's im2col block lives on the kernel's stack (cpu_conv.c) */
    if (kg * ow > 131072) return "Conv whose im2col row exceeds the 512 KiB stack block";
    if (kg > (1 << 30) || cv->c_out > (1 << 30)) return "Conv too large for 32-bit BLAS sizes";
    return NULL;
  }
  case MT_KERNEL_GEMM:
  case MT_KERNEL_MATMUL: {
    if (!mt_cpu_blas_available()) return mt_cpu_blas_describe();
    if (!all_f32(m, k)) return "GEMM on a dtype other than float32 (no generated kernel yet)";
    const mt_value *a = arg_value(m, k, 0), *b = arg_value(m, k, 1), *y = arg_value(m, k, n_in);
    if (!a || !b || !y) return "GEMM without both operands";
    if (!dims_fit_int(a->rank, a->dims) || !dims_fit_int(b->rank, b->dims) ||
        !dims_fit_int(y->rank, y->dims))
      return "GEMM with an empty or huge operand (BLAS takes 32-bit sizes)";
    if (c->kind == MT_KERNEL_GEMM) {
      if (a->rank != 2 || b->rank != 2 || y->rank != 2) return "Gemm operands are not 2-D";
      const mt_value *cv = arg_value(m, k, 2);
      if (cv && cv->rank > 2) return "Gemm's C has rank > 2";
      return NULL;
    }
    if (a->rank < 2 || b->rank < 2) return "MatMul with a 1-D operand (no generated kernel yet)";
    mt_matmul_shape s;
    mt_status *st = mt_cpu_matmul_shape(a->rank, a->dims, b->rank, b->dims, &s);
    if (st) {
      mt_status_free(st);
      return "MatMul shapes do not broadcast";
    }
    if (mt_shape_numel(s.nb, s.batch) > 4096) return "MatMul with more than 4096 batch entries";
    return NULL;
  }
  default:
    snprintf(buf, n, "%s has no generated CPU kernel yet", mt_kernel_kind_name(c->kind));
    return buf;
  }
}
