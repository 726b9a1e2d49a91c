/* The value emitter: "element of value v at linear offset OFF" becomes dialect statements, walking
 * back through the group's nodes to its external inputs. Every elementwise op and every data
 * movement op maps an output offset to input offsets (broadcast, transpose, slice, pad, gather...),
 * so one recursion serves elementwise chains, copy kernels and the prologues and epilogues of
 * reductions. Arithmetic follows runtime/cpu's definitions expression for expression (same
 * formulas, same float32 operation order, float16 rounded after every node, integer arithmetic
 * wrapping in the unsigned twin), so a kernel run under the emulator is bit-identical to the
 * reference executor. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cuda_internal.h"
#include "runtime/cpu/float8.h"

/* ---------------------------------------------------------------- strings */

void mt_sb_printf(mt_sb *sb, const char *fmt, ...) {
  if (sb->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = sb->cap - sb->len;
    int n = vsnprintf(sb->data ? sb->data + sb->len : NULL, sb->data ? room : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      sb->oom = true;
      return;
    }
    if (sb->data && (size_t)n < room) {
      sb->len += (size_t)n;
      return;
    }
    size_t cap = sb->cap ? sb->cap : 4096;
    while (cap - sb->len <= (size_t)n) cap *= 2;
    char *d = mt_allocator_realloc(sb->allocator, sb->data, cap);
    if (!d) {
      sb->oom = true;
      return;
    }
    sb->data = d;
    sb->cap = cap;
  }
}

void mt_sb_free(mt_sb *sb) {
  if (sb->data) mt_allocator_free(sb->allocator, sb->data);
  sb->data = NULL;
  sb->len = sb->cap = 0;
}

char *mt_cg_strdup(const mt_allocator *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *d = mt_allocator_malloc(a, n);
  if (d) memcpy(d, s, n);
  return d;
}

void mt_cg_line(cg_body *b, const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  mt_sb_printf(b->code, "%*s%s\n", 2 * b->indent, "", line);
}

void mt_cg_tmp(cg_body *b, const char *prefix, char *out) {
  snprintf(out, MT_CG_NAME, "b%d_%s%d", b->index, prefix, b->n_tmp++);
}

/* ---------------------------------------------------------------- types */

const char *mt_cg_ctype(mt_dtype dt) {
  switch (dt) {
  case MT_DTYPE_FLOAT32:
  case MT_DTYPE_FLOAT16:
  case MT_DTYPE_BFLOAT16: /* bfloat16 and float8 compute as float (cuda_narrow.c) */
  case MT_DTYPE_FLOAT8E4M3FN:
  case MT_DTYPE_FLOAT8E4M3FNUZ:
  case MT_DTYPE_FLOAT8E5M2:
  case MT_DTYPE_FLOAT8E5M2FNUZ:
  case MT_DTYPE_FLOAT8E8M0:
  case MT_DTYPE_FLOAT4E2M1: return "float";
  case MT_DTYPE_INT4: /* packed: the unpacked value (mt_cg_packed_load) */
  case MT_DTYPE_INT2:
  case MT_DTYPE_UINT4:
  case MT_DTYPE_UINT2: return "int";
  case MT_DTYPE_FLOAT64: return "double";
  case MT_DTYPE_INT64: return "long long";
  case MT_DTYPE_INT32: return "int";
  case MT_DTYPE_INT8: return "signed char";
  case MT_DTYPE_UINT8:
  case MT_DTYPE_BOOL: return "unsigned char";
  case MT_DTYPE_INT16: return "short";
  case MT_DTYPE_UINT16: return "unsigned short";
  case MT_DTYPE_UINT32: return "unsigned int";
  case MT_DTYPE_UINT64: return "unsigned long long";
  default: return NULL;
  }
}

const char *mt_cg_storetype(mt_dtype dt) {
  if (dt == MT_DTYPE_BFLOAT16) return "unsigned short";
  if (mt_dtype_is_packed(dt)) return "unsigned char"; /* the packed bytes */
  if (mt_cg_is_narrow(dt)) return "unsigned char";
  return dt == MT_DTYPE_FLOAT16 ? "__half" : mt_cg_ctype(dt);
}

static const char *utype(mt_dtype dt) {
  switch (dt) {
  case MT_DTYPE_INT64:
  case MT_DTYPE_UINT64: return "unsigned long long";
  case MT_DTYPE_INT32:
  case MT_DTYPE_UINT32:
  case MT_DTYPE_INT16: /* 16-bit products wrap in 32 bits: unsigned short would promote to int */
  case MT_DTYPE_UINT16: return "unsigned int";
  default: return "unsigned char";
  }
}

void mt_cg_store(cg_body *b, mt_dtype dt, const char *ptr, const char *off, const char *val) {
  char bits[512];
  if (dt == MT_DTYPE_FLOAT16) {
    mt_cg_line(b, "%s[%s] = __float2half_rn(%s);", ptr, off, val);
  } else if (mt_cg_is_narrow(dt)) { /* val is already rounded: no saturation left to apply */
    mt_cg_narrow_bits(dt, val, false, bits, sizeof bits);
    mt_cg_line(b, "%s[%s] = %s;", ptr, off, bits);
  } else
    mt_cg_line(b, "%s[%s] = %s;", ptr, off, val);
}

int64_t mt_cg_numel(const mt_module *m, mt_value_id v) {
  const mt_value *val = mt_module_value_c(m, v);
  return mt_shape_numel(val->rank, val->dims);
}

const char *mt_cg_node_label(const mt_module *m, int32_t node) {
  return mt_node_label(m, mt_module_node_c(m, node));
}

int mt_cg_input_index(const mt_fused_group *fg, mt_value_id v) {
  for (int i = 0; i < fg->n_inputs; i++)
    if (fg->inputs[i] == v) return i;
  return -1;
}

int mt_cg_output_index(const mt_fused_group *fg, mt_value_id v) {
  for (int i = 0; i < fg->n_outputs; i++)
    if (fg->outputs[i] == v) return i;
  return -1;
}

int mt_cg_producer_index(const cg_body *b, mt_value_id v) {
  int32_t prod = mt_module_value_c(b->m, v)->producer;
  for (int k = 0; k < b->fg->n_nodes; k++)
    if (b->fg->nodes[k] == prod) return k;
  return -1;
}

/* A float literal that reads back exactly (non-finite values through their bits). */
static void float_lit(float f, char *out, size_t n) {
  if (isfinite(f)) {
    snprintf(out, n, "%.9gf", (double)f);
    if (!strpbrk(out, ".eE")) snprintf(out, n, "%.1ff", (double)f);
  } else {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    snprintf(out, n, "__int_as_float(0x%08x)", bits);
  }
}

static void int_lit(mt_dtype dt, int64_t v, char *out, size_t n) {
  if (dt == MT_DTYPE_INT64) {
    if (v == INT64_MIN)
      snprintf(out, n, "(-9223372036854775807LL - 1)");
    else
      snprintf(out, n, "%lldLL", (long long)v);
  } else {
    snprintf(out, n, "(%s)%lld", mt_cg_ctype(dt), (long long)v);
  }
}

/* ---------------------------------------------------------------- body setup */

mt_status *mt_cg_body_init(cg_body *b, const mt_plan *p, const mt_fused_group *fg, int index,
                           mt_sb *code) {
  memset(b, 0, sizeof *b);
  b->plan = p;
  b->m = p->module;
  b->fg = fg;
  b->index = index;
  b->code = code;
  const mt_allocator *a = mt_module_allocator(b->m);
  b->calls = mt_allocator_calloc(a, (size_t)fg->n_nodes + 1, sizeof *b->calls);
  if (!b->calls) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int k = 0; k < fg->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(b->m, fg->nodes[k]);
    const mt_tensor *ins[64];
    mt_tensor views[64];
    if (n->n_inputs > 64)
      return MT_ERR(UNIMPLEMENTED, "%s: more than 64 inputs", mt_cg_node_label(b->m, fg->nodes[k]));
    for (int i = 0; i < n->n_inputs; i++) {
      ins[i] = NULL;
      if (n->inputs[i] == MT_NO_VALUE) continue;
      const mt_value *v = mt_module_value_c(b->m, n->inputs[i]);
      views[i] = (mt_tensor){.dtype = v->dtype, .rank = v->rank};
      memcpy(views[i].dims, v->dims, sizeof views[i].dims);
      if (v->constant >= 0) views[i].data = mt_module_constant(b->m, v->constant)->data;
      ins[i] = &views[i];
    }
    mt_status *st = mt_node_lower(b->m, n, ins, &b->calls[k]);
    if (st) {
      mt_status *u = MT_ERR(UNIMPLEMENTED, "%s: cannot lower: %s",
                            mt_cg_node_label(b->m, fg->nodes[k]), mt_status_message(st));
      mt_status_free(st);
      return u;
    }
  }
  return NULL;
}

void mt_cg_body_free(cg_body *b) {
  if (b->calls) mt_allocator_free(mt_module_allocator(b->m), b->calls);
  b->calls = NULL;
}

void mt_cg_forget(cg_body *b, int depth) {
  int k = 0;
  for (int i = 0; i < b->n_memo; i++)
    if (b->memo[i].depth < depth) b->memo[k++] = b->memo[i];
  b->n_memo = k;
}

static void memo_add(cg_body *b, mt_value_id v, const char *off, const char *var) {
  if (b->n_memo >= MT_CG_MAX_MEMO) return; /* only costs recomputation */
  cg_memo *e = &b->memo[b->n_memo++];
  e->value = v;
  snprintf(e->off, sizeof e->off, "%s", off);
  snprintf(e->var, sizeof e->var, "%s", var);
  e->depth = b->depth;
}

/* ---------------------------------------------------------------- offsets */

/* Declares the multi-index of offset off in a dense shape; names into idx[d]. */
static void emit_indices(cg_body *b, const char *off, int rank, const int64_t *dims,
                         char idx[][MT_CG_NAME]) {
  int64_t stride = 1;
  int64_t strides[MT_MAX_RANK];
  for (int d = rank - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= dims[d];
  }
  for (int d = 0; d < rank; d++) {
    mt_cg_tmp(b, "i", idx[d]);
    if (dims[d] == 1)
      mt_cg_line(b, "const long long %s = 0;", idx[d]);
    else if (d == 0)
      mt_cg_line(b, "const long long %s = (%s) / %lldLL;", idx[d], off, (long long)strides[d]);
    else
      mt_cg_line(b, "const long long %s = (%s) / %lldLL %% %lldLL;", idx[d], off,
                 (long long)strides[d], (long long)dims[d]);
  }
}

/* Offset (a new variable, or the same expression) of the element of shape `to` that numpy
 * broadcasting pairs with offset off of shape `from`. */
static void emit_bcast_offset(cg_body *b, const char *off, int from_rank, const int64_t *from,
                              int to_rank, const int64_t *to, char *out) {
  bool same = from_rank == to_rank;
  for (int d = 0; same && d < from_rank; d++) same = from[d] == to[d];
  if (same) {
    snprintf(out, MT_CG_NAME, "%s", off);
    return;
  }
  if (mt_shape_numel(to_rank, to) == 1) {
    snprintf(out, MT_CG_NAME, "0");
    return;
  }
  char idx[MT_MAX_RANK][MT_CG_NAME];
  emit_indices(b, off, from_rank, from, idx);
  char expr[1024] = "0";
  size_t len = 1;
  int64_t stride = 1;
  int lead = from_rank - to_rank;
  for (int d = to_rank - 1; d >= 0; d--) {
    if (to[d] != 1)
      len += (size_t)snprintf(expr + len, sizeof expr - len, " + %s * %lldLL", idx[d + lead],
                              (long long)stride);
    stride *= to[d];
  }
  mt_cg_tmp(b, "o", out);
  mt_cg_line(b, "const long long %s = %s;", out, expr);
}

void mt_cg_bcast_offset(cg_body *b, const char *off, int from_rank, const int64_t *from,
                        int to_rank, const int64_t *to, char *out) {
  emit_bcast_offset(b, off, from_rank, from, to_rank, to, out);
}

void mt_cg_float_lit(float f, char *out, size_t n) { float_lit(f, out, n); }

/* ---------------------------------------------------------------- arithmetic */

/* Wraps expression out in mt_r16(...) (float16) or mt_rbf(...) (bfloat16): a 16-bit float node's
 * result is rounded once, as runtime/cpu stores it. */
static void round16(mt_dtype dt, char *out, size_t n) {
  size_t len = strlen(out);
  if (len + 9 >= n) return;
  memmove(out + 7, out, len + 1);
  memcpy(out, dt == MT_DTYPE_BFLOAT16 ? "mt_rbf(" : "mt_r16(", 7);
  out[len + 7] = ')';
  out[len + 8] = 0;
}

/* Rewrites a float32 expression into its float64 form: each float math function (expf, tanhf,
 * fmaxf...) becomes its double twin; the prelude's helpers are overloaded for double. Float
 * literals stay: they are the float attributes the CPU's float64 kernels also read as floats. */
static void to_double_math(char *e) {
  static const char *const fns[] = {
      "tanhf",  "expm1f", "expf",   "erff",  "sqrtf", "logf",  "log1pf", "fabsf", "floorf",
      "ceilf",  "sinf",   "cosf",   "tanf",  "asinf", "acosf", "atanf",  "sinhf", "coshf",
      "asinhf", "acoshf", "atanhf", "rintf", "fmaxf", "fminf", "fmodf",  "powf"};
  for (size_t k = 0; k < sizeof fns / sizeof *fns; k++) {
    size_t len = strlen(fns[k]);
    for (char *p = strstr(e, fns[k]); p; p = strstr(p, fns[k])) {
      bool word = (p == e || !(isalnum((unsigned char)p[-1]) || p[-1] == '_')) && p[len] == '(';
      if (word) {
        memmove(p + len - 1, p + len, strlen(p + len) + 1); /* drop the trailing f */
        p += len - 1;
      } else {
        p += len;
      }
    }
  }
}

static mt_status *unary_expr(const mt_kc_unary *u, mt_dtype dt, const char *x, const char *lo,
                             const char *hi, char *out, size_t n) {
  if (mt_ew_unary_is_classify(u->op)) { /* dt is the input's dtype here; the result is bool */
    if (!mt_dtype_is_float_any(dt))
      return MT_ERR(UNIMPLEMENTED, "unary op %d on %s", (int)u->op, mt_dtype_name(dt));
    if (u->op == MT_EW_ISNAN)
      snprintf(out, n, "(unsigned char)(%s != %s)", x, x);
    else
      /* Only an infinity lies beyond FLT_MAX: no INFINITY macro needed under NVRTC. */
      snprintf(out, n,
               "(unsigned char)((%d && %s > 3.40282347e38f) || (%d && %s < -3.40282347e38f))",
               u->params.alpha != 0.0f, x, u->params.beta != 0.0f, x);
    return NULL;
  }
  if (mt_dtype_is_float_any(dt)) {
    char a[64], bt[64], g[64];
    float_lit(u->params.alpha, a, sizeof a);
    float_lit(u->params.beta, bt, sizeof bt);
    float_lit(u->params.gamma, g, sizeof g);
    switch (u->op) {
    case MT_EW_RELU: snprintf(out, n, "(%s < 0.0f ? 0.0f : %s)", x, x); break;
    case MT_EW_LEAKY_RELU: snprintf(out, n, "(%s < 0.0f ? %s * %s : %s)", x, a, x, x); break;
    case MT_EW_SIGMOID: snprintf(out, n, "mt_sigmoid(%s)", x); break;
    case MT_EW_TANH: snprintf(out, n, "tanhf(%s)", x); break;
    case MT_EW_HARD_SIGMOID:
      snprintf(out, n, "fmaxf(0.0f, fminf(1.0f, %s * %s + %s))", a, x, bt);
      break;
    case MT_EW_HARD_SWISH:
      snprintf(out, n, "(%s * fmaxf(0.0f, fminf(1.0f, %s * (1.0f / 6.0f) + 0.5f)))", x, x);
      break;
    case MT_EW_ELU: snprintf(out, n, "(%s < 0.0f ? %s * expm1f(%s) : %s)", x, a, x, x); break;
    case MT_EW_SELU:
      snprintf(out, n, "(%s <= 0.0f ? %s * (%s * expf(%s) - %s) : %s * %s)", x, g, a, x, a, g, x);
      break;
    case MT_EW_SOFTPLUS: snprintf(out, n, "mt_softplus(%s)", x); break;
    case MT_EW_GELU: snprintf(out, n, "mt_gelu(%s, %d)", x, u->params.approximate ? 1 : 0); break;
    case MT_EW_ERF: snprintf(out, n, "erff(%s)", x); break;
    case MT_EW_SQRT: snprintf(out, n, "sqrtf(%s)", x); break;
    case MT_EW_EXP: snprintf(out, n, "expf(%s)", x); break;
    case MT_EW_LOG: snprintf(out, n, "logf(%s)", x); break;
    case MT_EW_NEG: snprintf(out, n, "(-%s)", x); break;
    case MT_EW_ABS: snprintf(out, n, "fabsf(%s)", x); break;
    case MT_EW_RECIPROCAL: snprintf(out, n, "(1.0f / %s)", x); break;
    case MT_EW_FLOOR: snprintf(out, n, "floorf(%s)", x); break;
    case MT_EW_CEIL: snprintf(out, n, "ceilf(%s)", x); break;
    case MT_EW_CLIP: snprintf(out, n, "mt_clip_f(%s, %s, %s)", x, lo, hi); break;
    case MT_EW_SIN: snprintf(out, n, "sinf(%s)", x); break;
    case MT_EW_COS: snprintf(out, n, "cosf(%s)", x); break;
    case MT_EW_TAN: snprintf(out, n, "tanf(%s)", x); break;
    case MT_EW_ASIN: snprintf(out, n, "asinf(%s)", x); break;
    case MT_EW_ACOS: snprintf(out, n, "acosf(%s)", x); break;
    case MT_EW_ATAN: snprintf(out, n, "atanf(%s)", x); break;
    case MT_EW_SINH: snprintf(out, n, "sinhf(%s)", x); break;
    case MT_EW_COSH: snprintf(out, n, "coshf(%s)", x); break;
    case MT_EW_ASINH: snprintf(out, n, "asinhf(%s)", x); break;
    case MT_EW_ACOSH: snprintf(out, n, "acoshf(%s)", x); break;
    case MT_EW_ATANH: snprintf(out, n, "atanhf(%s)", x); break;
    case MT_EW_SIGN: snprintf(out, n, "mt_sign_f(%s)", x); break;
    case MT_EW_ROUND: snprintf(out, n, "rintf(%s)", x); break;
    case MT_EW_SOFTSIGN: snprintf(out, n, "(%s / (1.0f + fabsf(%s)))", x, x); break;
    case MT_EW_CELU:
      snprintf(out, n, "(fmaxf(0.0f, %s) + fminf(0.0f, %s * expm1f(%s / %s)))", x, a, x, a);
      break;
    case MT_EW_THRESHOLDED_RELU: snprintf(out, n, "(%s > %s ? %s : 0.0f)", x, a, x); break;
    case MT_EW_MISH: snprintf(out, n, "(%s * tanhf(mt_softplus(%s)))", x, x); break;
    case MT_EW_SWISH: snprintf(out, n, "(%s * mt_sigmoid(%s * %s))", x, a, x); break;
    case MT_EW_SHRINK:
      snprintf(out, n, "(%s < -%s ? %s + %s : (%s > %s ? %s - %s : 0.0f))", x, a, x, bt, x, a, x,
               bt);
      break;
    default: return MT_ERR(UNIMPLEMENTED, "unary op %d on %s", (int)u->op, mt_dtype_name(dt));
    }
    if (mt_dtype_is_float16_like(dt)) round16(dt, out, n);
    if (dt == MT_DTYPE_FLOAT64) to_double_math(out);
    return NULL;
  }
  const char *T = mt_cg_ctype(dt), *U = utype(dt);
  switch (u->op) {
  case MT_EW_NOT:
    if (dt != MT_DTYPE_BOOL) break;
    snprintf(out, n, "(unsigned char)(!%s)", x);
    return NULL;
  case MT_EW_RELU: snprintf(out, n, "(%s < 0 ? (%s)0 : %s)", x, T, x); return NULL;
  case MT_EW_NEG: snprintf(out, n, "(%s)(%s)((%s)0 - (%s)%s)", T, U, U, U, x); return NULL;
  case MT_EW_ABS:
    snprintf(out, n, "(%s < 0 ? (%s)(%s)((%s)0 - (%s)%s) : %s)", x, T, U, U, U, x, x);
    return NULL;
  case MT_EW_CLIP: snprintf(out, n, "mt_clip_i<%s>(%s, %s, %s)", T, x, lo, hi); return NULL;
  case MT_EW_ERF: snprintf(out, n, "(%s)erf((double)%s)", T, x); return NULL;
  case MT_EW_SIGN: snprintf(out, n, "(%s)(%s > 0 ? 1 : (%s < 0 ? -1 : 0))", T, x, x); return NULL;
  case MT_EW_BITWISE_NOT:
    if (dt == MT_DTYPE_BOOL) break;
    snprintf(out, n, "(%s)(%s)(~(%s)%s)", T, U, U, x);
    return NULL;
  default: break;
  }
  return MT_ERR(UNIMPLEMENTED, "unary op %d on %s", (int)u->op, mt_dtype_name(dt));
}

/* op(x, y) for same-typed operands of dtype dt (Pow excepted: see pow_expr). */
static mt_status *binary_expr(mt_ew_binary op, mt_dtype dt, const char *x, const char *y, char *out,
                              size_t n) {
  if (dt == MT_DTYPE_BOOL) {
    const char *f = NULL;
    switch (op) {
    case MT_EW_AND: f = "&"; break;
    case MT_EW_OR: f = "|"; break;
    case MT_EW_XOR: f = "^"; break;
    case MT_EW_EQUAL: f = "=="; break;
    case MT_EW_LESS: f = "<"; break;
    case MT_EW_LESS_EQUAL: f = "<="; break;
    case MT_EW_GREATER: f = ">"; break;
    case MT_EW_GREATER_EQUAL: f = ">="; break;
    default: return MT_ERR(UNIMPLEMENTED, "binary op %d on bool", (int)op);
    }
    snprintf(out, n, "(unsigned char)((%s != 0) %s (%s != 0))", x, f, y);
    return NULL;
  }
  const char *cmp = NULL;
  switch (op) {
  case MT_EW_EQUAL: cmp = "=="; break;
  case MT_EW_LESS: cmp = "<"; break;
  case MT_EW_LESS_EQUAL: cmp = "<="; break;
  case MT_EW_GREATER: cmp = ">"; break;
  case MT_EW_GREATER_EQUAL: cmp = ">="; break;
  default: break;
  }
  if (cmp) {
    snprintf(out, n, "(unsigned char)(%s %s %s)", x, cmp, y);
    return NULL;
  }
  if (mt_dtype_is_float_any(dt)) {
    switch (op) {
    case MT_EW_ADD: snprintf(out, n, "(%s + %s)", x, y); break;
    case MT_EW_SUB: snprintf(out, n, "(%s - %s)", x, y); break;
    case MT_EW_MUL: snprintf(out, n, "(%s * %s)", x, y); break;
    case MT_EW_DIV: snprintf(out, n, "(%s / %s)", x, y); break;
    case MT_EW_MIN: snprintf(out, n, "((%s < %s || %s != %s) ? %s : %s)", y, x, y, y, y, x); break;
    case MT_EW_MAX: snprintf(out, n, "((%s > %s || %s != %s) ? %s : %s)", y, x, y, y, y, x); break;
    case MT_EW_PRELU: snprintf(out, n, "(%s < 0.0f ? %s * %s : %s)", x, x, y, x); break;
    case MT_EW_POW: snprintf(out, n, "powf(%s, %s)", x, y); break;
    case MT_EW_FMOD: snprintf(out, n, "fmodf(%s, %s)", x, y); break;
    case MT_EW_MOD: snprintf(out, n, "mt_mod_f(%s, %s)", x, y); break;
    default: return MT_ERR(UNIMPLEMENTED, "binary op %d on %s", (int)op, mt_dtype_name(dt));
    }
    if (mt_dtype_is_float16_like(dt)) round16(dt, out, n);
    if (dt == MT_DTYPE_FLOAT64) to_double_math(out);
    return NULL;
  }
  if (!mt_dtype_is_integer_any(dt))
    return MT_ERR(UNIMPLEMENTED, "binary op %d on %s", (int)op, mt_dtype_name(dt));
  const char *T = mt_cg_ctype(dt), *U = utype(dt);
  bool is_unsigned = dt == MT_DTYPE_UINT8 || dt == MT_DTYPE_UINT16 || dt == MT_DTYPE_UINT32 ||
                     dt == MT_DTYPE_UINT64;
  switch (op) {
  case MT_EW_ADD: snprintf(out, n, "(%s)(%s)((%s)%s + (%s)%s)", T, U, U, x, U, y); break;
  case MT_EW_SUB: snprintf(out, n, "(%s)(%s)((%s)%s - (%s)%s)", T, U, U, x, U, y); break;
  case MT_EW_MUL: snprintf(out, n, "(%s)(%s)((%s)%s * (%s)%s)", T, U, U, x, U, y); break;
  case MT_EW_DIV:
    if (is_unsigned)
      snprintf(out, n, "(%s == 0 ? (%s)0 : (%s)(%s / %s))", y, T, T, x, y);
    else
      snprintf(out, n, "(%s == 0 ? (%s)0 : (%s == -1 ? (%s)(%s)((%s)0 - (%s)%s) : (%s)(%s / %s)))",
               y, T, y, T, U, U, U, x, T, x, y);
    break;
  case MT_EW_MIN: snprintf(out, n, "(%s < %s ? %s : %s)", y, x, y, x); break;
  case MT_EW_MAX: snprintf(out, n, "(%s > %s ? %s : %s)", y, x, y, x); break;
  case MT_EW_PRELU:
    if (is_unsigned)
      snprintf(out, n, "%s", x);
    else
      snprintf(out, n, "(%s < 0 ? (%s)(%s)((%s)%s * (%s)%s) : %s)", x, T, U, U, x, U, y, x);
    break;
  case MT_EW_MOD:
    snprintf(out, n, "mt_%s<%s>(%s, %s)", is_unsigned ? "umod" : "imod", T, x, y);
    break;
  case MT_EW_FMOD:
    snprintf(out, n, "mt_%s<%s>(%s, %s)", is_unsigned ? "umod" : "ifmod", T, x, y);
    break;
  case MT_EW_BITWISE_AND: snprintf(out, n, "(%s)(%s & %s)", T, x, y); break;
  case MT_EW_BITWISE_OR: snprintf(out, n, "(%s)(%s | %s)", T, x, y); break;
  case MT_EW_BITWISE_XOR: snprintf(out, n, "(%s)(%s ^ %s)", T, x, y); break;
  case MT_EW_SHIFT_LEFT:
  case MT_EW_SHIFT_RIGHT:
    if (is_unsigned)
      snprintf(out, n, "mt_shift<%s>(%s, %s, %d)", T, x, y, op == MT_EW_SHIFT_LEFT);
    else
      snprintf(out, n, "mt_sshift<%s, %s>(%s, %s, %d)", T, U, x, y, op == MT_EW_SHIFT_LEFT);
    break;
  default: return MT_ERR(UNIMPLEMENTED, "binary op %d on %s", (int)op, mt_dtype_name(dt));
  }
  return NULL;
}

/* Pow outside float32^float32: runtime/cpu's per-element path (integer power for two integer
 * operands, otherwise pow in double, stored as the base's dtype). */
static void pow_expr(mt_dtype base, mt_dtype exp, const char *x, const char *y, char *out,
                     size_t n) {
  if (mt_dtype_is_integer(base) && mt_dtype_is_integer(exp)) {
    snprintf(out, n, "(%s)(%s)(unsigned long long)mt_ipow((long long)%s, (long long)%s)",
             mt_cg_ctype(base), utype(base), x, y);
    return;
  }
  char d[256];
  snprintf(d, sizeof d, "pow((double)%s, (double)%s)", x, y);
  if (base == MT_DTYPE_FLOAT32)
    snprintf(out, n, "(float)%s", d);
  else if (base == MT_DTYPE_FLOAT64)
    snprintf(out, n, "%s", d);
  else if (base == MT_DTYPE_FLOAT16)
    snprintf(out, n, "mt_r16((float)%s)", d);
  else if (base == MT_DTYPE_BFLOAT16)
    snprintf(out, n, "mt_rbf((float)%s)", d);
  else if (base == MT_DTYPE_INT64)
    snprintf(out, n, "mt_d2i(%s)", d);
  else
    snprintf(out, n, "(%s)(%s)(unsigned long long)mt_d2i(%s)", mt_cg_ctype(base), utype(base), d);
}

static void cast_expr(mt_dtype from, mt_dtype to, const char *x, bool saturate, mt_e8m0_round round,
                      char *out, size_t n) {
  char val[256], toint[300];
  /* narrow and float4e2m1: a float */
  bool float_src =
      mt_dtype_is_float_any(from) || mt_cg_is_narrow(from) || from == MT_DTYPE_FLOAT4E2M1;
  if (float_src)
    snprintf(val, sizeof val, "%s", x);
  else if (from == MT_DTYPE_BOOL)
    snprintf(val, sizeof val, "(long long)(%s != 0)", x);
  else if (from == MT_DTYPE_UINT64) /* floats take the value; integers wrap through its bits */
    snprintf(val, sizeof val, "%s", x);
  else
    snprintf(val, sizeof val, "(long long)%s", x);
  if (float_src)
    snprintf(toint, sizeof toint, from == MT_DTYPE_FLOAT64 ? "mt_d2i(%s)" : "mt_f2i(%s)", val);
  else if (from == MT_DTYPE_UINT64)
    snprintf(toint, sizeof toint, "(long long)%s", val);
  else
    snprintf(toint, sizeof toint, "%s", val);
  switch (to) {
  case MT_DTYPE_FLOAT32: snprintf(out, n, "(float)(%s)", val); break;
  case MT_DTYPE_FLOAT16: snprintf(out, n, "mt_r16((float)(%s))", val); break;
  case MT_DTYPE_FLOAT64: snprintf(out, n, "(double)(%s)", val); break;
  case MT_DTYPE_INT64: snprintf(out, n, "(long long)(%s)", toint); break;
  case MT_DTYPE_INT32:
    snprintf(out, n, "(int)(unsigned int)(unsigned long long)(%s)", toint);
    break;
  case MT_DTYPE_INT8:
    snprintf(out, n, "(signed char)(unsigned char)(unsigned long long)(%s)", toint);
    break;
  case MT_DTYPE_UINT8: snprintf(out, n, "(unsigned char)(unsigned long long)(%s)", toint); break;
  case MT_DTYPE_INT16:
    snprintf(out, n, "(short)(unsigned short)(unsigned long long)(%s)", toint);
    break;
  case MT_DTYPE_UINT16: snprintf(out, n, "(unsigned short)(unsigned long long)(%s)", toint); break;
  case MT_DTYPE_UINT32: snprintf(out, n, "(unsigned int)(unsigned long long)(%s)", toint); break;
  case MT_DTYPE_UINT64: snprintf(out, n, "(unsigned long long)(%s)", toint); break;
  case MT_DTYPE_BOOL: snprintf(out, n, "(unsigned char)((%s) != 0)", val); break;
  default: {
    char f[300];
    snprintf(f, sizeof f, "(float)(%s)", val);
    if (mt_cg_is_narrow(to))
      mt_cg_narrow_round_mode(to, f, saturate, round, out, n);
    else
      snprintf(out, n, "0");
    break;
  }
  }
}

/* ---------------------------------------------------------------- the recursion */

static const mt_value *val(const cg_body *b, mt_value_id v) { return mt_module_value_c(b->m, v); }

/* Declares `T var = expr;` for value v at off and memoises it. */
static void define(cg_body *b, mt_value_id v, const char *off, const char *expr, char *var) {
  mt_cg_tmp(b, "v", var);
  mt_cg_line(b, "const %s %s = %s;", mt_cg_ctype(val(b, v)->dtype), var, expr);
  memo_add(b, v, off, var);
}

/* Input i of node n at the broadcast of off from the output's shape (rank/dims) onto the input's
 * shape (in_rank/in_dims, the call's view for binary ops). */
MT_MUST_USE static mt_status *operand(cg_body *b, const mt_node *n, int i, const char *off,
                                      int rank, const int64_t *dims, int in_rank,
                                      const int64_t *in_dims, char *var) {
  char o[MT_CG_NAME];
  emit_bcast_offset(b, off, rank, dims, in_rank, in_dims, o);
  return mt_cg_emit_value(b, n->inputs[i], o, var);
}

MT_MUST_USE static mt_status *operand_own(cg_body *b, const mt_node *n, int i, const char *off,
                                          int rank, const int64_t *dims, char *var) {
  const mt_value *in = val(b, n->inputs[i]);
  return operand(b, n, i, off, rank, dims, in->rank, in->dims, var);
}

/* Emits `T r;` then if/else branches computing input `chosen` per case; used by concat and pad. */
MT_MUST_USE static mt_status *emit_node(cg_body *b, int k, mt_value_id v, const char *off,
                                        char *var);

mt_status *mt_cg_emit_value(cg_body *b, mt_value_id v, const char *off, char *var) {
  for (int i = b->n_memo - 1; i >= 0; i--)
    if (b->memo[i].value == v && strcmp(b->memo[i].off, off) == 0) {
      snprintf(var, MT_CG_NAME, "%s", b->memo[i].var);
      return NULL;
    }
  const mt_value *x = val(b, v);
  if (!mt_cg_ctype(x->dtype))
    return MT_ERR(UNIMPLEMENTED, "value '%s': dtype %s has no CUDA type here", x->name,
                  mt_dtype_name(x->dtype));
  if (b->special) {
    mt_status *st = b->special(b, v, off, var);
    if (!st) return NULL;
    if (mt_status_code_of(st) != MT_NOT_FOUND) return st;
    mt_status_free(st);
  }
  int in = mt_cg_input_index(b->fg, v);
  if (in >= 0) {
    char expr[128];
    if (x->dtype == MT_DTYPE_FLOAT16) {
      snprintf(expr, sizeof expr, "__half2float(b%d_in%d[%s])", b->index, in, off);
    } else if (mt_dtype_is_packed(x->dtype)) {
      char p[MT_CG_NAME];
      snprintf(p, sizeof p, "b%d_in%d", b->index, in);
      mt_cg_packed_load(x->dtype, p, off, expr, sizeof expr);
    } else if (mt_cg_is_narrow(x->dtype)) {
      char bits[96];
      snprintf(bits, sizeof bits, "b%d_in%d[%s]", b->index, in, off);
      mt_cg_narrow_load(x->dtype, bits, expr, sizeof expr);
    } else
      snprintf(expr, sizeof expr, "b%d_in%d[%s]", b->index, in, off);
    define(b, v, off, expr, var);
    return NULL;
  }
  int k = mt_cg_producer_index(b, v);
  if (k < 0)
    return MT_ERR(INTERNAL, "value '%s' is neither produced in nor read by its group", x->name);
  MT_RETURN_IF_ERROR_PLAIN(emit_node(b, k, v, off, var));
  memo_add(b, v, off, var);
  return NULL;
}

/* Declares `T r;`, opens `if (cond) {`; the caller emits the branch and calls branch_end. */
static void branch_begin(cg_body *b, const char *fmt_cond) {
  mt_cg_line(b, "%s {", fmt_cond);
  b->indent++;
  b->depth++;
}

static void branch_end(cg_body *b) {
  mt_cg_forget(b, b->depth);
  b->depth--;
  b->indent--;
  mt_cg_line(b, "}");
}

static void fill_literal(mt_dtype dt, const uint64_t *bits, char *out, size_t n) {
  switch (dt) {
  case MT_DTYPE_FLOAT32: {
    float f;
    memcpy(&f, bits, 4);
    float_lit(f, out, n);
    return;
  }
  case MT_DTYPE_FLOAT16: {
    uint16_t h;
    memcpy(&h, bits, 2);
    float_lit(mt_half_to_float(h), out, n);
    return;
  }
  case MT_DTYPE_BFLOAT16: {
    uint16_t h;
    memcpy(&h, bits, 2);
    float_lit(mt_bf16_to_float(h), out, n);
    return;
  }
  case MT_DTYPE_FLOAT8E4M3FN:
  case MT_DTYPE_FLOAT8E4M3FNUZ:
  case MT_DTYPE_FLOAT8E5M2:
  case MT_DTYPE_FLOAT8E5M2FNUZ: {
    uint8_t u;
    memcpy(&u, bits, 1);
    float_lit(mt_f8_to_float(dt, u), out, n);
    return;
  }
  case MT_DTYPE_FLOAT64: {
    double d;
    memcpy(&d, bits, 8);
    if (d != d)
      snprintf(out, n, "(0.0 / 0.0)");
    else if (d == INFINITY || d == -INFINITY)
      snprintf(out, n, "(%s1.0 / 0.0)", d < 0 ? "-" : "");
    else
      snprintf(out, n, "%.17g", d);
    if (!strpbrk(out, ".eEn(")) snprintf(out + strlen(out), n - strlen(out), ".0");
    return;
  }
  case MT_DTYPE_INT64: {
    int64_t i;
    memcpy(&i, bits, 8);
    int_lit(dt, i, out, n);
    return;
  }
  case MT_DTYPE_INT32: {
    int32_t i;
    memcpy(&i, bits, 4);
    int_lit(dt, i, out, n);
    return;
  }
  case MT_DTYPE_INT8: {
    int8_t i;
    memcpy(&i, bits, 1);
    int_lit(dt, i, out, n);
    return;
  }
  case MT_DTYPE_INT16:
  case MT_DTYPE_UINT16: {
    int16_t i;
    uint16_t u;
    memcpy(&i, bits, 2);
    memcpy(&u, bits, 2);
    int_lit(dt, dt == MT_DTYPE_INT16 ? i : u, out, n);
    return;
  }
  case MT_DTYPE_UINT32: {
    uint32_t u;
    memcpy(&u, bits, 4);
    int_lit(dt, u, out, n);
    return;
  }
  case MT_DTYPE_UINT64: {
    int64_t i; /* the literal wraps back to the same bits */
    memcpy(&i, bits, 8);
    int_lit(dt, i, out, n);
    return;
  }
  default: {
    uint8_t u;
    memcpy(&u, bits, 1);
    int_lit(dt, u, out, n);
    return;
  }
  }
}

void mt_cg_fill_literal(mt_dtype dt, const uint64_t *bits, char *out, size_t n) {
  fill_literal(dt, bits, out, n);
}

/* Clip bounds: from the call's parameters, or (opset 11) read from inputs 1 and 2 at run time. */
MT_MUST_USE static mt_status *clip_bounds(cg_body *b, const mt_node *n, const mt_kc_unary *u,
                                          mt_dtype dt, char *lo, char *hi) {
  bool is_float = mt_dtype_is_float_any(dt);
  int64_t tmin = 0, tmax = 0;
  switch (dt) {
  case MT_DTYPE_INT64: tmin = INT64_MIN, tmax = INT64_MAX; break;
  case MT_DTYPE_INT32: tmin = INT32_MIN, tmax = INT32_MAX; break;
  case MT_DTYPE_INT8: tmin = INT8_MIN, tmax = INT8_MAX; break;
  case MT_DTYPE_INT16: tmin = INT16_MIN, tmax = INT16_MAX; break;
  case MT_DTYPE_UINT16: tmin = 0, tmax = UINT16_MAX; break;
  case MT_DTYPE_UINT32: tmin = 0, tmax = UINT32_MAX; break;
  case MT_DTYPE_UINT64: tmin = 0, tmax = INT64_MAX; break; /* as the CPU's int64 bounds */
  default: tmin = 0, tmax = UINT8_MAX; break;
  }
  for (int side = 0; side < 2; side++) {
    char *dst = side ? hi : lo;
    int idx = side + 1;
    if (u->bounds_from_inputs && idx < n->n_inputs && n->inputs[idx] != MT_NO_VALUE &&
        mt_cg_numel(b->m, n->inputs[idx]) == 1) {
      char v[MT_CG_NAME];
      MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, n->inputs[idx], "0", v));
      if (is_float) {
        snprintf(dst, MT_CG_NAME, "%s", v);
      } else {
        /* the CPU widens to int64 and clamps to the type's range before narrowing */
        char t[MT_CG_NAME], a[64], c[64];
        int_lit(MT_DTYPE_INT64, tmin, a, sizeof a);
        int_lit(MT_DTYPE_INT64, tmax, c, sizeof c);
        mt_cg_tmp(b, "c", t);
        const char *op = side ? ">" : "<";
        mt_cg_line(b, "const %s %s = (%s)((long long)%s %s %s ? %s : (long long)%s);",
                   mt_cg_ctype(dt), t, mt_cg_ctype(dt), v, op, side ? c : a, side ? c : a, v);
        snprintf(dst, MT_CG_NAME, "%s", t);
      }
      continue;
    }
    if (is_float) {
      float_lit((float)(side ? u->params.hi : u->params.lo), dst, MT_CG_NAME);
    } else {
      int64_t bnd = side ? u->params.hi_i : u->params.lo_i;
      if (bnd < tmin) bnd = tmin;
      if (bnd > tmax) bnd = tmax;
      int_lit(dt, bnd, dst, MT_CG_NAME);
    }
  }
  return NULL;
}

MT_MUST_USE static mt_status *emit_concat(cg_body *b, const mt_node *n, int axis, const char *off,
                                          const mt_value *out, const char *r) {
  char idx[MT_MAX_RANK][MT_CG_NAME];
  emit_indices(b, off, out->rank, out->dims, idx);
  int64_t start = 0;
  int64_t inner = mt_shape_numel(out->rank - axis - 1, out->dims + axis + 1);
  bool first = true;
  for (int i = 0; i < n->n_inputs; i++) {
    const mt_value *in = val(b, n->inputs[i]);
    int64_t d = in->dims[axis];
    if (d == 0) continue;
    char cond[256];
    snprintf(cond, sizeof cond, "%sif (%s < %lldLL)", first ? "" : "} else ", idx[axis],
             (long long)(start + d));
    if (!first) {
      mt_cg_forget(b, b->depth);
      b->depth--;
      b->indent--;
    }
    branch_begin(b, cond);
    first = false;
    /* the input's offset: outer * (d * inner) + (axis index - start) * inner + inner index */
    char o[MT_CG_NAME], var[MT_CG_NAME];
    mt_cg_tmp(b, "o", o);
    int64_t outer_div = out->dims[axis] * inner;
    mt_cg_line(b,
               "const long long %s = (%s) / %lldLL * %lldLL + (%s - %lldLL) * %lldLL + (%s) %% "
               "%lldLL;",
               o, off, (long long)outer_div, (long long)(d * inner), idx[axis], (long long)start,
               (long long)inner, off, (long long)inner);
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, n->inputs[i], o, var));
    mt_cg_line(b, "%s = %s;", r, var);
    start += d;
  }
  if (!first) branch_end(b);
  return NULL;
}

MT_MUST_USE static mt_status *emit_pad(cg_body *b, const mt_node *n, const mt_kc_pad *p,
                                       const char *off, const mt_value *out, const char *r) {
  const mt_value *in = val(b, n->inputs[0]);
  int rank = in->rank;
  char idx[MT_MAX_RANK][MT_CG_NAME];
  emit_indices(b, off, out->rank, out->dims, idx);
  char src[1024] = "0", cond[1024] = "true";
  size_t sl = 1, cl = 4;
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; d--) {
    int64_t bg = p->pads[d], e = p->pads[rank + d];
    int64_t lo = bg < 0 ? -bg : 0;
    int64_t len = in->dims[d] - lo - (e < 0 ? -e : 0);
    int64_t before = bg > 0 ? bg : 0;
    char q[MT_CG_NAME], pv[MT_CG_NAME];
    mt_cg_tmp(b, "p", pv);
    mt_cg_tmp(b, "q", q);
    mt_cg_line(b, "const long long %s = %s - %lldLL;", pv, idx[d], (long long)before);
    if (len <= 0 && p->mode != MT_PAD_CONSTANT) return MT_ERR(UNIMPLEMENTED, "pad of an empty dim");
    switch (p->mode) {
    case MT_PAD_EDGE:
      mt_cg_line(b, "const long long %s = %s < 0 ? 0 : (%s >= %lldLL ? %lldLL : %s);", q, pv, pv,
                 (long long)len, (long long)(len - 1), pv);
      break;
    case MT_PAD_WRAP:
      mt_cg_line(b, "const long long %s = ((%s %% %lldLL) + %lldLL) %% %lldLL;", q, pv,
                 (long long)len, (long long)len, (long long)len);
      break;
    case MT_PAD_REFLECT:
      if (len == 1) {
        mt_cg_line(b, "const long long %s = 0;", q);
      } else {
        int64_t period = 2 * (len - 1);
        char t[MT_CG_NAME];
        mt_cg_tmp(b, "t", t);
        mt_cg_line(b, "const long long %s = ((%s %% %lldLL) + %lldLL) %% %lldLL;", t, pv,
                   (long long)period, (long long)period, (long long)period);
        mt_cg_line(b,
                   "const long long %s = (%s >= 0 && %s < %lldLL) ? %s : (%s >= %lldLL ? %lldLL - "
                   "%s : %s);",
                   q, pv, pv, (long long)len, pv, t, (long long)len, (long long)period, t, t);
      }
      break;
    default:
      mt_cg_line(b, "const long long %s = %s;", q, pv);
      cl += (size_t)snprintf(cond + cl, sizeof cond - cl, " && %s >= 0 && %s < %lldLL", pv, pv,
                             (long long)len);
      break;
    }
    sl += (size_t)snprintf(src + sl, sizeof src - sl, " + (%s + %lldLL) * %lldLL", q, (long long)lo,
                           (long long)stride);
    stride *= in->dims[d];
  }
  char fill[128];
  if (p->mode == MT_PAD_CONSTANT && p->fill_from_input && n->n_inputs > 2 &&
      n->inputs[2] != MT_NO_VALUE) {
    char fv[MT_CG_NAME];
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, n->inputs[2], "0", fv));
    snprintf(fill, sizeof fill, "%s", fv);
  } else {
    fill_literal(in->dtype, p->fill, fill, sizeof fill);
  }
  char c[1100];
  snprintf(c, sizeof c, "if (%s)", cond);
  branch_begin(b, c);
  char o[MT_CG_NAME], var[MT_CG_NAME];
  mt_cg_tmp(b, "o", o);
  mt_cg_line(b, "const long long %s = %s;", o, src);
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, n->inputs[0], o, var));
  mt_cg_line(b, "%s = %s;", r, var);
  mt_cg_forget(b, b->depth);
  b->indent--;
  mt_cg_line(b, "} else {");
  b->indent++;
  mt_cg_line(b, "%s = %s;", r, fill);
  branch_end(b);
  return NULL;
}

/* Offset of the input element that output offset off reads, for the pure index-map ops. */
MT_MUST_USE static mt_status *index_map(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                                        mt_value_id v, const char *off, char *o) {
  const mt_value *out = val(b, v), *in = val(b, n->inputs[0]);
  char idx[MT_MAX_RANK][MT_CG_NAME];
  char expr[2048] = "0";
  size_t len = 1;
  int64_t st[MT_MAX_RANK], s = 1;
  for (int d = in->rank - 1; d >= 0; d--) {
    st[d] = s;
    s *= in->dims[d];
  }
#define ADD(...) len += (size_t)snprintf(expr + len, sizeof expr - len, __VA_ARGS__)
  switch (c->kind) {
  case MT_KERNEL_TRANSPOSE:
    emit_indices(b, off, out->rank, out->dims, idx);
    for (int d = 0; d < out->rank; d++)
      ADD(" + %s * %lldLL", idx[d], (long long)st[c->params.transpose.perm[d]]);
    break;
  case MT_KERNEL_SLICE:
    emit_indices(b, off, out->rank, out->dims, idx);
    for (int d = 0; d < out->rank; d++)
      ADD(" + (%lldLL + %s * %lldLL) * %lldLL", (long long)c->params.slice.starts[d], idx[d],
          (long long)c->params.slice.steps[d], (long long)st[d]);
    break;
  case MT_KERNEL_TILE:
    emit_indices(b, off, out->rank, out->dims, idx);
    for (int d = 0; d < out->rank; d++)
      ADD(" + (%s %% %lldLL) * %lldLL", idx[d], (long long)in->dims[d], (long long)st[d]);
    break;
  case MT_KERNEL_SPLIT: {
    int which = 0;
    for (int i = 0; i < n->n_outputs; i++)
      if (n->outputs[i] == v) which = i;
    int64_t start = 0;
    for (int i = 0; i < which; i++) start += c->params.split.sizes[i];
    int axis = c->params.split.axis;
    emit_indices(b, off, out->rank, out->dims, idx);
    for (int d = 0; d < out->rank; d++)
      ADD(" + (%s + %lldLL) * %lldLL", idx[d], (long long)(d == axis ? start : 0),
          (long long)st[d]);
    break;
  }
  case MT_KERNEL_DEPTH_TO_SPACE: {
    const mt_kc_depth_to_space *p = &c->params.depth_to_space;
    int64_t blk = p->block;
    emit_indices(b, off, out->rank, out->dims, idx);
    if (!p->space_to_depth) {
      int64_t c_out = in->dims[1] / (blk * blk);
      int64_t c_mul = p->crd ? blk * blk : 1, i_mul = p->crd ? blk : blk * c_out,
              j_mul = p->crd ? 1 : c_out;
      ADD(" + %s * %lldLL + %s * %lldLL", idx[0], (long long)st[0], idx[1],
          (long long)(c_mul * st[1]));
      ADD(" + (%s / %lldLL) * %lldLL + (%s %% %lldLL) * %lldLL", idx[2], (long long)blk,
          (long long)st[2], idx[2], (long long)blk, (long long)(i_mul * st[1]));
      ADD(" + (%s / %lldLL) * %lldLL + (%s %% %lldLL) * %lldLL", idx[3], (long long)blk,
          (long long)st[3], idx[3], (long long)blk, (long long)(j_mul * st[1]));
    } else {
      int64_t ch = in->dims[1], bb = blk * blk;
      char ij[MT_CG_NAME], cc[MT_CG_NAME];
      mt_cg_tmp(b, "ij", ij);
      mt_cg_tmp(b, "ch", cc);
      if (p->crd) {
        mt_cg_line(b, "const long long %s = %s %% %lldLL, %s = %s / %lldLL;", ij, idx[1],
                   (long long)bb, cc, idx[1], (long long)bb);
      } else {
        mt_cg_line(b, "const long long %s = %s / %lldLL, %s = %s %% %lldLL;", ij, idx[1],
                   (long long)ch, cc, idx[1], (long long)ch);
      }
      ADD(" + %s * %lldLL + %s * %lldLL + (%s / %lldLL) * %lldLL + (%s %% %lldLL) * %lldLL", idx[0],
          (long long)st[0], cc, (long long)st[1], ij, (long long)blk, (long long)st[2], ij,
          (long long)blk, (long long)st[3]);
      ADD(" + %s * %lldLL + %s * %lldLL", idx[2], (long long)(blk * st[2]), idx[3],
          (long long)(blk * st[3]));
    }
    break;
  }
  case MT_KERNEL_GATHER:
  case MT_KERNEL_GATHER_ELEMENTS: {
    int axis = c->params.axis.axis;
    const mt_value *ix = val(b, n->inputs[1]);
    int64_t adim = in->dims[axis];
    char ioff[MT_CG_NAME], iv[MT_CG_NAME], g[MT_CG_NAME];
    emit_indices(b, off, out->rank, out->dims, idx);
    if (c->kind == MT_KERNEL_GATHER_ELEMENTS) {
      snprintf(ioff, sizeof ioff, "%s", off);
    } else {
      char ie[1024] = "0";
      size_t il = 1;
      int64_t is = 1;
      for (int d = ix->rank - 1; d >= 0; d--) {
        il += (size_t)snprintf(ie + il, sizeof ie - il, " + %s * %lldLL", idx[axis + d],
                               (long long)is);
        is *= ix->dims[d];
      }
      mt_cg_tmp(b, "o", ioff);
      mt_cg_line(b, "const long long %s = %s;", ioff, ie);
    }
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, n->inputs[1], ioff, iv));
    /* Out-of-range indices are an error on the CPU; a kernel cannot report one, so it clamps. */
    mt_cg_tmp(b, "g", g);
    mt_cg_line(b, "long long %s = (long long)%s;", g, iv);
    mt_cg_line(b, "if (%s < 0) %s += %lldLL;", g, g, (long long)adim);
    mt_cg_line(b, "%s = %s < 0 ? 0 : (%s >= %lldLL ? %lldLL : %s);", g, g, g, (long long)adim,
               (long long)(adim - 1), g);
    if (c->kind == MT_KERNEL_GATHER_ELEMENTS) {
      for (int d = 0; d < in->rank; d++)
        ADD(" + %s * %lldLL", d == axis ? g : idx[d], (long long)st[d]);
    } else {
      for (int d = 0; d < axis; d++) ADD(" + %s * %lldLL", idx[d], (long long)st[d]);
      ADD(" + %s * %lldLL", g, (long long)st[axis]);
      for (int d = axis + 1; d < in->rank; d++)
        ADD(" + %s * %lldLL", idx[d - 1 + ix->rank], (long long)st[d]);
    }
    break;
  }
  default: return MT_ERR(INTERNAL, "index_map on kernel %s", mt_kernel_kind_name(c->kind));
  }
#undef ADD
  mt_cg_tmp(b, "o", o);
  mt_cg_line(b, "const long long %s = %s;", o, expr);
  return NULL;
}

MT_MUST_USE static mt_status *emit_node_inner(cg_body *b, int k, mt_value_id v, const char *off,
                                              char *var) {
  const mt_node *n = mt_module_node_c(b->m, b->fg->nodes[k]);
  const mt_kernel_call *c = &b->calls[k];
  const mt_value *out = val(b, v);
  mt_dtype dt = out->dtype;
  char x[MT_CG_NAME], y[MT_CG_NAME], expr[4096];
  switch (c->kind) {
  case MT_KERNEL_UNARY: {
    char lo[MT_CG_NAME] = "0", hi[MT_CG_NAME] = "0";
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, n->inputs[0], off, x));
    if (c->params.unary.op == MT_EW_CLIP)
      MT_RETURN_IF_ERROR_PLAIN(clip_bounds(b, n, &c->params.unary, dt, lo, hi));
    mt_dtype ut = mt_ew_unary_is_classify(c->params.unary.op) ? val(b, n->inputs[0])->dtype : dt;
    MT_RETURN_IF_ERROR_PLAIN(unary_expr(&c->params.unary, ut, x, lo, hi, expr, sizeof expr));
    break;
  }
  case MT_KERNEL_BINARY: {
    const mt_kc_binary *p = &c->params.binary;
    MT_RETURN_IF_ERROR_PLAIN(operand(b, n, 0, off, out->rank, out->dims, p->a_rank, p->a_dims, x));
    MT_RETURN_IF_ERROR_PLAIN(operand(b, n, 1, off, out->rank, out->dims, p->b_rank, p->b_dims, y));
    mt_dtype da = val(b, n->inputs[0])->dtype, db = val(b, n->inputs[1])->dtype;
    if (p->op == MT_EW_POW && !(da == MT_DTYPE_FLOAT32 && db == MT_DTYPE_FLOAT32) &&
        !(da == MT_DTYPE_FLOAT64 && db == MT_DTYPE_FLOAT64))
      pow_expr(da, db, x, y, expr, sizeof expr);
    else
      MT_RETURN_IF_ERROR_PLAIN(binary_expr(p->op, da, x, y, expr, sizeof expr));
    break;
  }
  case MT_KERNEL_VARIADIC: {
    const mt_kc_variadic *p = &c->params.variadic;
    if (p->mean && !mt_dtype_is_float_any(dt))
      return MT_ERR(UNIMPLEMENTED, "Mean of %s", mt_dtype_name(dt));
    char acc[MT_CG_NAME];
    MT_RETURN_IF_ERROR_PLAIN(operand_own(b, n, 0, off, out->rank, out->dims, x));
    mt_cg_tmp(b, "acc", acc);
    mt_cg_line(b, "%s %s = %s;", mt_cg_ctype(dt), acc, x);
    for (int i = 1; i < n->n_inputs; i++) {
      MT_RETURN_IF_ERROR_PLAIN(operand_own(b, n, i, off, out->rank, out->dims, y));
      MT_RETURN_IF_ERROR_PLAIN(binary_expr(p->op, dt, acc, y, expr, sizeof expr));
      mt_cg_line(b, "%s = %s;", acc, expr);
    }
    if (p->mean) {
      char d[64];
      float_lit((float)n->n_inputs, d, sizeof d);
      char quot[300];
      snprintf(quot, sizeof quot, "%s / %s", acc, d);
      mt_cg_round_to(dt, quot, expr, sizeof expr);
    } else {
      snprintf(expr, sizeof expr, "%s", acc);
    }
    break;
  }
  case MT_KERNEL_WHERE: {
    char cv[MT_CG_NAME];
    MT_RETURN_IF_ERROR_PLAIN(operand_own(b, n, 0, off, out->rank, out->dims, cv));
    MT_RETURN_IF_ERROR_PLAIN(operand_own(b, n, 1, off, out->rank, out->dims, x));
    MT_RETURN_IF_ERROR_PLAIN(operand_own(b, n, 2, off, out->rank, out->dims, y));
    snprintf(expr, sizeof expr, "(%s ? %s : %s)", cv, x, y);
    break;
  }
  case MT_KERNEL_CAST:
  case MT_KERNEL_CAST_NO_SATURATE:
  case MT_KERNEL_CAST_E8M0_DOWN:
  case MT_KERNEL_CAST_E8M0_NEAREST:
  case MT_KERNEL_CAST_E8M0_NEAREST_NO_SATURATE: {
    bool sat =
        c->kind != MT_KERNEL_CAST_NO_SATURATE && c->kind != MT_KERNEL_CAST_E8M0_NEAREST_NO_SATURATE;
    mt_e8m0_round round = c->kind == MT_KERNEL_CAST_E8M0_DOWN ? MT_E8M0_ROUND_DOWN
                          : c->kind == MT_KERNEL_CAST_E8M0_NEAREST ||
                                  c->kind == MT_KERNEL_CAST_E8M0_NEAREST_NO_SATURATE
                              ? MT_E8M0_ROUND_NEAREST
                              : MT_E8M0_ROUND_UP;
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, n->inputs[0], off, x));
    cast_expr(val(b, n->inputs[0])->dtype, dt, x, sat, round, expr, sizeof expr);
    break;
  }
  case MT_KERNEL_COPY:
    if (n->n_outputs > 1 && v == n->outputs[1]) { /* Dropout's mask: all ones */
      snprintf(expr, sizeof expr, "(%s)1", mt_cg_ctype(dt));
      break;
    }
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, n->inputs[0], off, x));
    snprintf(var, MT_CG_NAME, "%s", x);
    return NULL;
  case MT_KERNEL_EXPAND:
    MT_RETURN_IF_ERROR_PLAIN(operand_own(b, n, 0, off, out->rank, out->dims, x));
    snprintf(var, MT_CG_NAME, "%s", x);
    return NULL;
  case MT_KERNEL_TRANSPOSE:
  case MT_KERNEL_SLICE:
  case MT_KERNEL_TILE:
  case MT_KERNEL_SPLIT:
  case MT_KERNEL_DEPTH_TO_SPACE:
  case MT_KERNEL_GATHER:
  case MT_KERNEL_GATHER_ELEMENTS: {
    char o[MT_CG_NAME];
    MT_RETURN_IF_ERROR_PLAIN(index_map(b, n, c, v, off, o));
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, n->inputs[0], o, x));
    snprintf(var, MT_CG_NAME, "%s", x);
    return NULL;
  }
  case MT_KERNEL_CONCAT:
  case MT_KERNEL_PAD: {
    mt_cg_tmp(b, "v", var);
    mt_cg_line(b, "%s %s = 0;", mt_cg_ctype(dt), var);
    if (c->kind == MT_KERNEL_CONCAT) return emit_concat(b, n, c->params.axis.axis, off, out, var);
    return emit_pad(b, n, &c->params.pad, off, out, var);
  }
  case MT_KERNEL_RESIZE: return mt_cg_emit_resize(b, n, &c->params.resize, v, off, var);
  default:
    return MT_ERR(UNIMPLEMENTED, "%s: kernel '%s' has no CUDA generator yet",
                  mt_kernel_kind_name(c->kind), mt_kernel_kind_name(c->kind));
  }
  mt_cg_tmp(b, "v", var);
  mt_cg_line(b, "const %s %s = %s;", mt_cg_ctype(dt), var, expr);
  return NULL;
}

static mt_status *emit_node(cg_body *b, int k, mt_value_id v, const char *off, char *var) {
  mt_status *st = emit_node_inner(b, k, v, off, var);
  if (st && !strstr(mt_status_message(st), "tenant '"))
    st = mt_status_annotate(st, "%s", mt_cg_node_label(b->m, b->fg->nodes[k]));
  return st;
}

const char mt_cg_prelude[] =
    "// Helpers shared by mtcc's generated kernels: the arithmetic of runtime/cpu, expression for\n"
    "// expression, so results match the reference executor.\n"
    "static __device__ __forceinline__ float mt_r16(float x) {\n"
    "  return __half2float(__float2half_rn(x)); // float16 results are rounded once per node\n"
    "}\n"
    "static __device__ __forceinline__ long long mt_f2i(float v) {\n"
    "  if (!(v == v)) return 0;\n"
    "  if (v >= 9223372036854775807.0f) return 9223372036854775807LL;\n"
    "  if (v <= -9223372036854775808.0f) return -9223372036854775807LL - 1;\n"
    "  return (long long)v;\n"
    "}\n"
    "static __device__ __forceinline__ long long mt_d2i(double v) {\n"
    "  if (!(v == v)) return 0;\n"
    "  if (v >= 9223372036854775807.0) return 9223372036854775807LL;\n"
    "  if (v <= -9223372036854775808.0) return -9223372036854775807LL - 1;\n"
    "  return (long long)v;\n"
    "}\n"
    "static __device__ __forceinline__ long long mt_ipow(long long x, long long e) {\n"
    "  if (e < 0) return x == 1 ? 1 : (x == -1 ? ((e & 1) ? -1 : 1) : 0);\n"
    "  unsigned long long r = 1, b = (unsigned long long)x;\n"
    "  while (e) {\n"
    "    if (e & 1) r *= b;\n"
    "    b *= b;\n"
    "    e >>= 1;\n"
    "  }\n"
    "  return (long long)r;\n"
    "}\n"
    "static __device__ __forceinline__ float mt_sigmoid(float x) {\n"
    "  if (x >= 0) return 1.0f / (1.0f + expf(-x));\n"
    "  float e = expf(x);\n"
    "  return e / (1.0f + e);\n"
    "}\n"
    "static __device__ __forceinline__ float mt_softplus(float x) {\n"
    "  return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));\n"
    "}\n"
    "static __device__ __forceinline__ float mt_gelu(float x, int approximate) {\n"
    "  if (approximate) {\n"
    "    const float k = 0.7978845608028654f;\n"
    "    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));\n"
    "  }\n"
    "  return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));\n"
    "}\n"
    "static __device__ __forceinline__ double mt_sigmoid(double x) {\n"
    "  if (x >= 0) return 1.0 / (1.0 + exp(-x));\n"
    "  double e = exp(x);\n"
    "  return e / (1.0 + e);\n"
    "}\n"
    "static __device__ __forceinline__ double mt_softplus(double x) {\n"
    "  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));\n"
    "}\n"
    "static __device__ __forceinline__ double mt_gelu(double x, int approximate) {\n"
    "  if (approximate) {\n"
    "    const double k = 0.7978845608028654;\n"
    "    return 0.5 * x * (1.0 + tanh(k * (x + 0.044715 * x * x * x)));\n"
    "  }\n"
    "  return 0.5 * x * (1.0 + erf(x * 0.70710678118654752));\n"
    "}\n"
    "static __device__ __forceinline__ double mt_clip_f(double x, double lo, double hi) {\n"
    "  return (x < lo ? lo : x) > hi ? hi : (x < lo ? lo : x);\n"
    "}\n"
    "static __device__ __forceinline__ double mt_sign_f(double x) {\n"
    "  return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : (x == x ? 0.0 : x));\n"
    "}\n"
    "static __device__ __forceinline__ double mt_mod_f(double x, double y) {\n"
    "  double r = fmod(x, y);\n"
    "  if (r == 0.0) return copysign(0.0, y);\n"
    "  return (r < 0.0) != (y < 0.0) ? r + y : r;\n"
    "}\n"
    "static __device__ __forceinline__ float mt_sign_f(float x) {\n"
    "  return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : (x == x ? 0.0f : x));\n"
    "}\n"
    "static __device__ __forceinline__ float mt_clip_f(float x, float lo, float hi) {\n"
    "  return (x < lo ? lo : x) > hi ? hi : (x < lo ? lo : x); // max then min, as numpy.clip\n"
    "}\n"
    "// Mod as runtime/cpu: x % 0 and INT_MIN % -1 give 0; imod takes the divisor's sign.\n"
    "template <typename T> static __device__ __forceinline__ T mt_imod(T x, T y) {\n"
    "  if (y == 0 || y == -1) return (T)0;\n"
    "  T r = (T)(x % y);\n"
    "  return (r != 0 && ((r < 0) != (y < 0))) ? (T)(r + y) : r;\n"
    "}\n"
    "template <typename T> static __device__ __forceinline__ T mt_ifmod(T x, T y) {\n"
    "  return (y == 0 || y == -1) ? (T)0 : (T)(x % y);\n"
    "}\n"
    "template <typename T> static __device__ __forceinline__ T mt_umod(T x, T y) {\n"
    "  return y == 0 ? (T)0 : (T)(x % y);\n"
    "}\n"
    "template <typename T> static __device__ __forceinline__ T mt_shift(T x, T y, int left) {\n"
    "  if (y >= 8 * sizeof(T)) return (T)0; // C leaves this undefined\n"
    "  return left ? (T)(x << y) : (T)(x >> y);\n"
    "}\n"
    "template <typename T, typename U>\n"
    "static __device__ __forceinline__ T mt_sshift(T x, T y, int left) {\n"
    "  if (y < 0 || (unsigned long long)y >= 8 * sizeof(T)) return left ? (T)0 : (T)(x < 0 ? -1 : "
    "0);\n"
    "  if (left) return (T)(U)((U)x << y);\n"
    "  return x < 0 ? (T) ~(T)(~x >> y) : (T)(x >> y); // arithmetic, without relying on >> of a "
    "negative\n"
    "}\n"
    "static __device__ __forceinline__ float mt_mod_f(float x, float y) {\n"
    "  float r = fmodf(x, y);\n"
    "  if (r == 0.0f) return copysignf(0.0f, y);\n"
    "  return (r < 0.0f) != (y < 0.0f) ? r + y : r;\n"
    "}\n"
    "template <typename T> static __device__ __forceinline__ T mt_clip_i(T x, T lo, T hi) {\n"
    "  T v = x < lo ? lo : x;\n"
    "  return v > hi ? hi : v;\n"
    "}\n";
