/* Reduction bodies: Reduce*, ArgMax/ArgMin, Softmax/LogSoftmax, LayerNormalization,
 * InstanceNormalization, GlobalAverage/MaxPool (one block per output row, a grid-stride loop over
 * rows, a shared-memory tree over the row's elements), windowed MaxPool/AveragePool (one thread
 * per output) and CumSum (one thread per scanned line). The group's prologue (pointwise ops before
 * the anchor) is read through the value emitter at each element the reduction visits; the
 * epilogue (pointwise ops after it) is emitted at each output offset, with the anchor's output
 * supplied by a hook (cg_body.special) from the row's statistics.
 *
 * Arithmetic follows runtime/cpu (reduce.c, norm.c, pool.c) formula for formula: float sums and
 * moments accumulate in double, softmax sums expf in double, float16 is staged through float and
 * rounded once. What differs is only the order of the double sums (each thread sums a strided
 * subset in order, then a tree combines the block's partials in a fixed order), so results match
 * the reference executor within double rounding, which the final float rounding almost always
 * hides; max/min, ArgMax/ArgMin (a total order: NaN first, then value, then index), integer sums
 * and products (wrapping, hence associative), windowed pools and CumSum (sequential, as the CPU)
 * are bit-identical. */
#include <float.h>
#include <stdio.h>
#include <string.h>

#include "codegen/cuda_internal.h"

typedef enum rfamily {
  FAM_REDUCE,    /* Reduce*: any axes set */
  FAM_ARG,       /* ArgMax / ArgMin */
  FAM_SOFTMAX,   /* Softmax / LogSoftmax */
  FAM_LAYERNORM, /* LayerNormalization */
  FAM_INSTNORM,  /* InstanceNormalization */
  FAM_GPOOL,     /* GlobalAveragePool / GlobalMaxPool */
  FAM_POOL,      /* windowed MaxPool / AveragePool: one thread per output */
  FAM_CUMSUM,    /* one thread per line along the axis */
} rfamily;

/* What the anchor-output hook needs: the anchor and the names of the row's statistics. */
typedef struct rctx {
  rfamily fam;
  const mt_node *an;
  const mt_kernel_call *call;
  mt_value_id x; /* the anchor's input 0 */
  mt_dtype xdt, ydt;
  int64_t rows, n, inner; /* rows and reduced elements per row (n at stride inner) */
  int threads, p2;        /* block size and the power of two at or above it */
  char row[MT_CG_NAME], base[MT_CG_NAME];
  char res[MT_CG_NAME], res2[MT_CG_NAME]; /* per-row results (res2: MaxPool index, LN inv) */
  char s1[MT_CG_NAME], s2[MT_CG_NAME];    /* row statistics (softmax max / inv; norm mean, inv) */
} rctx;

static const mt_value *val(const cg_body *b, mt_value_id v) { return mt_module_value_c(b->m, v); }

static void open_block(cg_body *b, const char *fmt, const char *a1, const char *a2) {
  mt_cg_line(b, fmt, a1, a2);
  b->indent++;
  b->depth++;
}

static void close_block(cg_body *b) {
  mt_cg_forget(b, b->depth);
  b->depth--;
  b->indent--;
  mt_cg_line(b, "}");
}

/* The element-offset loop of one block over a row: for (J = threadIdx.x; J < n; J += T). */
static void open_strided(cg_body *b, const rctx *r, char *j) {
  mt_cg_tmp(b, "j", j);
  mt_cg_line(b, "for (long long %s = (long long)threadIdx.x; %s < %lldLL; %s += %dLL) {", j, j,
             (long long)r->n, j, r->threads);
  b->indent++;
  b->depth++;
}

/* Rounds a float compute-type expression to the output dtype's compute value. */
static void round_out(mt_dtype dt, const char *expr, char *out, size_t n) {
  mt_cg_round_to(dt, expr, out, n);
}

/* int64 expression to the compute value of integer dtype dt, wrapping as runtime/cpu stores. */
static void wrap_int(mt_dtype dt, const char *expr, char *out, size_t n) {
  switch (dt) {
  case MT_DTYPE_INT64: snprintf(out, n, "(long long)(%s)", expr); break;
  case MT_DTYPE_INT32: snprintf(out, n, "(int)(unsigned int)(unsigned long long)(%s)", expr); break;
  case MT_DTYPE_INT8:
    snprintf(out, n, "(signed char)(unsigned char)(unsigned long long)(%s)", expr);
    break;
  case MT_DTYPE_UINT8: snprintf(out, n, "(unsigned char)(unsigned long long)(%s)", expr); break;
  default: snprintf(out, n, "(unsigned char)((%s) != 0)", expr); break;
  }
}

/* Combines two partials of a block tree. */
typedef enum combine_kind {
  CMB_ADD_D,    /* double sum */
  CMB_MUL_D,    /* double product */
  CMB_MAXNAN_D, /* NaN-propagating max (numpy.maximum, Reduce*'s rule) */
  CMB_MINNAN_D, /* NaN-propagating min */
  CMB_MAX_D,    /* max ignoring NaN (the `v > m` scans of softmax, pools, LogSumExp) */
  CMB_ADD_I,    /* wrapping int64 sum */
  CMB_MUL_I,    /* wrapping int64 product */
  CMB_MAX_I,    /* int64 max */
  CMB_MIN_I,    /* int64 min */
} combine_kind;

static void combine_expr(combine_kind k, const char *a, const char *c, char *out, size_t n) {
  switch (k) {
  case CMB_ADD_D: snprintf(out, n, "%s + %s", a, c); break;
  case CMB_MUL_D: snprintf(out, n, "%s * %s", a, c); break;
  case CMB_MAXNAN_D: snprintf(out, n, "(%s != %s || %s > %s) ? %s : %s", c, c, c, a, c, a); break;
  case CMB_MINNAN_D: snprintf(out, n, "(%s != %s || %s < %s) ? %s : %s", c, c, c, a, c, a); break;
  case CMB_MAX_D: snprintf(out, n, "%s > %s ? %s : %s", c, a, c, a); break;
  case CMB_ADD_I:
    snprintf(out, n, "(long long)((unsigned long long)%s + (unsigned long long)%s)", a, c);
    break;
  case CMB_MUL_I:
    snprintf(out, n, "(long long)((unsigned long long)%s * (unsigned long long)%s)", a, c);
    break;
  case CMB_MAX_I: snprintf(out, n, "%s > %s ? %s : %s", c, a, c, a); break;
  case CMB_MIN_I: snprintf(out, n, "%s < %s ? %s : %s", c, a, c, a); break;
  }
}

/* Block tree over every thread's `var` (type ty, shared array sm of the block's size): afterwards
 * every thread's var holds the combination. Partials combine in a fixed order (thread t with
 * t + s, s halving), so a result depends only on the block size, never on scheduling. The NaN
 * check in CMB_MAXNAN_D keeps the left partial when it is already NaN. */
static void emit_tree(cg_body *b, const rctx *r, const char *sm, const char *ty, const char *var,
                      combine_kind k) {
  char lhs[MT_CG_NAME], rhs[MT_CG_NAME], s[MT_CG_NAME], expr[1400];
  mt_cg_tmp(b, "l", lhs);
  mt_cg_tmp(b, "r", rhs);
  mt_cg_tmp(b, "s", s);
  combine_expr(k, lhs, rhs, expr, sizeof expr);
  if (k == CMB_MAXNAN_D || k == CMB_MINNAN_D) {
    char e2[1600];
    snprintf(e2, sizeof e2, "%s != %s ? %s : (%s)", lhs, lhs, lhs, expr);
    snprintf(expr, sizeof expr, "%.1399s", e2);
  }
  mt_cg_line(b, "__syncthreads(); // the previous tree's readers are done with %s", sm);
  mt_cg_line(b, "%s[threadIdx.x] = %s;", sm, var);
  mt_cg_line(b, "__syncthreads();");
  mt_cg_line(b, "for (int %s = %d; %s > 0; %s >>= 1) {", s, r->p2 / 2, s, s);
  mt_cg_line(b, "  if ((int)threadIdx.x < %s && (int)threadIdx.x + %s < %d) {", s, s, r->threads);
  mt_cg_line(b, "    const %s %s = %s[threadIdx.x];", ty, lhs, sm);
  mt_cg_line(b, "    const %s %s = %s[threadIdx.x + %s];", ty, rhs, sm, s);
  mt_cg_line(b, "    %s[threadIdx.x] = %s;", sm, expr);
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  __syncthreads();");
  mt_cg_line(b, "}");
  mt_cg_line(b, "%s = %s[0];", var, sm);
}

/* Declares `const long long name = sum(index_k(i) * stride_k)` for the dense index i over dims
 * (innermost last), each dim's index placed at the given strides. */
static void emit_decode(cg_body *b, const char *i, int n, const int64_t *dims,
                        const int64_t *strides, char *name) {
  char expr[2048] = "0";
  size_t len = 1;
  int64_t below = 1;
  for (int d = n - 1; d >= 0; d--) {
    if (dims[d] != 1 && len < sizeof expr) {
      if (below == 1 && d == 0)
        len += (size_t)snprintf(expr + len, sizeof expr - len, " + (%s) * %lldLL", i,
                                (long long)strides[d]);
      else if (d == 0)
        len += (size_t)snprintf(expr + len, sizeof expr - len, " + (%s) / %lldLL * %lldLL", i,
                                (long long)below, (long long)strides[d]);
      else
        len +=
            (size_t)snprintf(expr + len, sizeof expr - len, " + (%s) / %lldLL %% %lldLL * %lldLL",
                             i, (long long)below, (long long)dims[d], (long long)strides[d]);
    }
    below *= dims[d];
  }
  mt_cg_tmp(b, "o", name);
  mt_cg_line(b, "const long long %s = %s;", name, expr);
}

/* The anchor's input 0 at offset off as a double (float16 via float; bool as 0/1). */
MT_MUST_USE static mt_status *x_double(cg_body *b, const rctx *r, const char *off, char *out) {
  char x[MT_CG_NAME];
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, r->x, off, x));
  mt_cg_tmp(b, "d", out);
  if (r->xdt == MT_DTYPE_BOOL)
    mt_cg_line(b, "const double %s = (double)(%s != 0);", out, x);
  else
    mt_cg_line(b, "const double %s = (double)%s;", out, x);
  return NULL;
}

/* The anchor's input 0 at off as int64 (runtime/cpu's load_i64: bool as 0/1). */
MT_MUST_USE static mt_status *x_int(cg_body *b, const rctx *r, const char *off, char *out) {
  char x[MT_CG_NAME];
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, r->x, off, x));
  mt_cg_tmp(b, "xi", out);
  if (r->xdt == MT_DTYPE_BOOL)
    mt_cg_line(b, "const long long %s = (long long)(%s != 0);", out, x);
  else
    mt_cg_line(b, "const long long %s = (long long)%s;", out, x);
  return NULL;
}

/* ---------------------------------------------------------------- Reduce* */

/* Element offset of reduced index j of the row at r->base. */
typedef struct reduce_geom {
  int nk, nr;
  int64_t kdims[MT_MAX_RANK], kstr[MT_MAX_RANK], rdims[MT_MAX_RANK], rstr[MT_MAX_RANK];
} reduce_geom;

static bool is_float_dt(mt_dtype dt) { return mt_dtype_is_float(dt); } /* + the 16-bit floats */
/* Reduce*, ArgMax/ArgMin and CumSum also take float64, computed in double throughout. */
static bool is_real_dt(mt_dtype dt) { return is_float_dt(dt) || dt == MT_DTYPE_FLOAT64; }

MT_MUST_USE static mt_status *reduce_rows(cg_body *b, rctx *r, const reduce_geom *g) {
  mt_reduce_op op = r->call->params.reduce.op;
  bool flt = is_real_dt(r->xdt);
  bool f64 = r->ydt == MT_DTYPE_FLOAT64;
  const char *fc = f64 ? "(double)" : "(float)"; /* the result's compute type */
  bool dbl_int = !flt && (op == MT_REDUCE_L2 || op == MT_REDUCE_LOG_SUM ||
                          op == MT_REDUCE_LOG_SUM_EXP); /* integer ops defined through double */
  char acc[MT_CG_NAME], j[MT_CG_NAME], off[MT_CG_NAME], rel[MT_CG_NAME], xv[MT_CG_NAME];
  char sm_d[MT_CG_NAME], sm_i[MT_CG_NAME], m[MT_CG_NAME] = "0.0";
  snprintf(sm_d, sizeof sm_d, "b%d_smd", b->index);
  snprintf(sm_i, sizeof sm_i, "b%d_smi", b->index);
  if (flt && op == MT_REDUCE_LOG_SUM_EXP) {
    /* pass 0: the shift (the row's maximum; 0 when it is not finite, as the CPU) */
    mt_cg_tmp(b, "m", m);
    mt_cg_line(b, "double %s = __longlong_as_double(0xfff0000000000000LL); // -inf", m);
    open_strided(b, r, j);
    emit_decode(b, j, g->nr, g->rdims, g->rstr, rel);
    mt_cg_tmp(b, "o", off);
    mt_cg_line(b, "const long long %s = %s + %s;", off, r->base, rel);
    MT_RETURN_IF_ERROR_PLAIN(x_double(b, r, off, xv));
    mt_cg_line(b, "if (%s > %s) %s = %s;", xv, m, m, xv);
    close_block(b);
    emit_tree(b, r, sm_d, "double", m, CMB_MAX_D);
    mt_cg_line(b, "if (!(%s - %s == 0.0)) %s = 0.0; // not finite", m, m, m);
  }
  mt_cg_tmp(b, "acc", acc);
  const char *init = "0";
  combine_kind ck = CMB_ADD_D;
  if (flt || dbl_int) {
    switch (op) {
    case MT_REDUCE_MAX:
      init = "__longlong_as_double(0xfff0000000000000LL)";
      ck = CMB_MAXNAN_D;
      break;
    case MT_REDUCE_MIN:
      init = "__longlong_as_double(0x7ff0000000000000LL)";
      ck = CMB_MINNAN_D;
      break;
    case MT_REDUCE_PROD:
      init = "1.0";
      ck = CMB_MUL_D;
      break;
    default: init = "0.0"; break;
    }
    mt_cg_line(b, "double %s = %s;", acc, init);
  } else {
    char lo[64], hi[64];
    switch (r->xdt) {
    case MT_DTYPE_INT64:
      snprintf(lo, sizeof lo, "(-9223372036854775807LL - 1)"),
          snprintf(hi, sizeof hi, "9223372036854775807LL");
      break;
    case MT_DTYPE_INT32:
      snprintf(lo, sizeof lo, "-2147483648LL"), snprintf(hi, sizeof hi, "2147483647LL");
      break;
    case MT_DTYPE_INT8: snprintf(lo, sizeof lo, "-128LL"), snprintf(hi, sizeof hi, "127LL"); break;
    case MT_DTYPE_UINT8: snprintf(lo, sizeof lo, "0LL"), snprintf(hi, sizeof hi, "255LL"); break;
    default: snprintf(lo, sizeof lo, "0LL"), snprintf(hi, sizeof hi, "1LL"); break;
    }
    ck = CMB_ADD_I;
    switch (op) {
    case MT_REDUCE_MAX: init = lo, ck = CMB_MAX_I; break;
    case MT_REDUCE_MIN: init = hi, ck = CMB_MIN_I; break;
    case MT_REDUCE_PROD: init = "1LL", ck = CMB_MUL_I; break;
    default: init = "0LL"; break;
    }
    mt_cg_line(b, "long long %s = %s;", acc, init);
  }
  open_strided(b, r, j);
  emit_decode(b, j, g->nr, g->rdims, g->rstr, rel);
  mt_cg_tmp(b, "o", off);
  mt_cg_line(b, "const long long %s = %s + %s;", off, r->base, rel);
  if (flt || dbl_int) {
    MT_RETURN_IF_ERROR_PLAIN(x_double(b, r, off, xv));
    switch (op) {
    case MT_REDUCE_MAX:
      mt_cg_line(b, "if (!(%s != %s) && (%s > %s || %s != %s)) %s = %s;", acc, acc, xv, acc, xv, xv,
                 acc, xv);
      break;
    case MT_REDUCE_MIN:
      mt_cg_line(b, "if (!(%s != %s) && (%s < %s || %s != %s)) %s = %s;", acc, acc, xv, acc, xv, xv,
                 acc, xv);
      break;
    case MT_REDUCE_PROD: mt_cg_line(b, "%s *= %s;", acc, xv); break;
    case MT_REDUCE_L1: mt_cg_line(b, "%s += fabs(%s);", acc, xv); break;
    case MT_REDUCE_L2:
    case MT_REDUCE_SUM_SQUARE: mt_cg_line(b, "%s += %s * %s;", acc, xv, xv); break;
    case MT_REDUCE_LOG_SUM_EXP:
      if (flt)
        mt_cg_line(b, "%s += exp(%s - %s);", acc, xv, m);
      else
        mt_cg_line(b, "%s += exp(%s);", acc, xv);
      break;
    default: mt_cg_line(b, "%s += %s;", acc, xv); break;
    }
  } else {
    MT_RETURN_IF_ERROR_PLAIN(x_int(b, r, off, xv));
    switch (op) {
    case MT_REDUCE_MAX: mt_cg_line(b, "if (%s > %s) %s = %s;", xv, acc, acc, xv); break;
    case MT_REDUCE_MIN: mt_cg_line(b, "if (%s < %s) %s = %s;", xv, acc, acc, xv); break;
    case MT_REDUCE_PROD:
      mt_cg_line(b, "%s = (long long)((unsigned long long)%s * (unsigned long long)%s);", acc, acc,
                 xv);
      break;
    case MT_REDUCE_L1:
      mt_cg_line(b,
                 "%s = (long long)((unsigned long long)%s + (%s < 0 ? 0ULL - (unsigned long "
                 "long)%s : (unsigned long long)%s));",
                 acc, acc, xv, xv, xv);
      break;
    case MT_REDUCE_SUM_SQUARE:
      mt_cg_line(b,
                 "%s = (long long)((unsigned long long)%s + (unsigned long long)%s * (unsigned "
                 "long long)%s);",
                 acc, acc, xv, xv);
      break;
    default:
      mt_cg_line(b, "%s = (long long)((unsigned long long)%s + (unsigned long long)%s);", acc, acc,
                 xv);
      break;
    }
  }
  close_block(b);
  emit_tree(b, r, (flt || dbl_int) ? sm_d : sm_i, (flt || dbl_int) ? "double" : "long long", acc,
            ck);
  char e[512], cnt[64];
  snprintf(cnt, sizeof cnt, "%lld.0", (long long)r->n);
  mt_cg_tmp(b, "y", r->res);
  if (flt) {
    switch (op) {
    case MT_REDUCE_MEAN: snprintf(e, sizeof e, "%s(%s / %s)", fc, acc, cnt); break;
    case MT_REDUCE_L2: snprintf(e, sizeof e, "%ssqrt(%s)", fc, acc); break;
    case MT_REDUCE_LOG_SUM: snprintf(e, sizeof e, "%slog(%s)", fc, acc); break;
    case MT_REDUCE_LOG_SUM_EXP: snprintf(e, sizeof e, "%s(log(%s) + %s)", fc, acc, m); break;
    default: snprintf(e, sizeof e, "%s%s", fc, acc); break;
    }
    char rv[600];
    round_out(r->ydt, e, rv, sizeof rv);
    mt_cg_line(b, "const %s %s = %s;", f64 ? "double" : "float", r->res, rv);
    return NULL;
  }
  char iv[512];
  switch (op) {
  case MT_REDUCE_MEAN:
    if (r->n)
      snprintf(iv, sizeof iv, "%s / %lldLL", acc, (long long)r->n);
    else
      snprintf(iv, sizeof iv, "0LL"); /* the CPU's count-0 mean */
    break;
  case MT_REDUCE_L2: snprintf(iv, sizeof iv, "mt_d2i(sqrt(%s))", acc); break;
  case MT_REDUCE_LOG_SUM:
  case MT_REDUCE_LOG_SUM_EXP: snprintf(iv, sizeof iv, "mt_d2i(log(%s))", acc); break;
  default: snprintf(iv, sizeof iv, "%s", acc); break;
  }
  wrap_int(r->ydt, iv, e, sizeof e);
  mt_cg_line(b, "const %s %s = %s;", mt_cg_ctype(r->ydt), r->res, e);
  return NULL;
}

/* ---------------------------------------------------------------- ArgMax / ArgMin */

MT_MUST_USE static mt_status *arg_rows(cg_body *b, rctx *r) {
  const mt_kc_arg_reduce *p = &r->call->params.arg_reduce;
  bool flt = is_real_dt(r->xdt);
  char bv[MT_CG_NAME], bi[MT_CG_NAME], j[MT_CG_NAME], off[MT_CG_NAME], xv[MT_CG_NAME];
  const char *ty = flt ? "double" : "long long";
  mt_cg_tmp(b, "bv", bv);
  mt_cg_tmp(b, "bi", bi);
  mt_cg_line(b, "%s %s = 0;", ty, bv);
  mt_cg_line(b, "long long %s = -1; // no candidate yet", bi);
  /* `take(v, i)`: whether candidate (v, i) beats (bv, bi) in runtime/cpu's order: NaN above
   * numbers, then the larger (smaller) value, ties to the first (last) index. */
  char take[1024];
  const char *cmp = p->is_min ? "<" : ">";
  const char *tie = p->select_last ? ">" : "<";
#define TAKE(v, i)                                                                                 \
  (flt ? snprintf(take, sizeof take,                                                               \
                  "%s < 0 || ((%s != %s) ? (!(%s != %s) || %s %s %s) : (!(%s != %s) && (%s %s %s " \
                  "|| (%s == %s && %s %s %s))))",                                                  \
                  bi, v, v, bv, bv, i, tie, bi, bv, bv, v, cmp, bv, v, bv, i, tie, bi)             \
       : snprintf(take, sizeof take, "%s < 0 || %s %s %s || (%s == %s && %s %s %s)", bi, v, cmp,   \
                  bv, v, bv, i, tie, bi))
  open_strided(b, r, j);
  mt_cg_tmp(b, "o", off);
  mt_cg_line(b, "const long long %s = %s + %s * %lldLL;", off, r->base, j, (long long)r->inner);
  if (flt)
    MT_RETURN_IF_ERROR_PLAIN(x_double(b, r, off, xv));
  else
    MT_RETURN_IF_ERROR_PLAIN(x_int(b, r, off, xv));
  TAKE(xv, j);
  mt_cg_line(b, "if (%s) {", take);
  mt_cg_line(b, "  %s = %s;", bv, xv);
  mt_cg_line(b, "  %s = %s;", bi, j);
  mt_cg_line(b, "}");
  close_block(b);
  /* the tree over (value, index) pairs: the same order, so any combination order agrees */
  char smv[MT_CG_NAME], smi[MT_CG_NAME], s[MT_CG_NAME], ov[MT_CG_NAME], oi[MT_CG_NAME];
  snprintf(smv, sizeof smv, "b%d_sm%s", b->index, flt ? "d" : "i");
  snprintf(smi, sizeof smi, "b%d_smk", b->index);
  mt_cg_tmp(b, "s", s);
  mt_cg_tmp(b, "ov", ov);
  mt_cg_tmp(b, "oi", oi);
  mt_cg_line(b, "__syncthreads();");
  mt_cg_line(b, "%s[threadIdx.x] = %s;", smv, bv);
  mt_cg_line(b, "%s[threadIdx.x] = %s;", smi, bi);
  mt_cg_line(b, "__syncthreads();");
  mt_cg_line(b, "for (int %s = %d; %s > 0; %s >>= 1) {", s, r->p2 / 2, s, s);
  mt_cg_line(b, "  if ((int)threadIdx.x < %s && (int)threadIdx.x + %s < %d) {", s, s, r->threads);
  mt_cg_line(b, "    const %s %s = %s[threadIdx.x + %s];", ty, ov, smv, s);
  mt_cg_line(b, "    const long long %s = %s[threadIdx.x + %s];", oi, smi, s);
  mt_cg_line(b, "    %s = %s[threadIdx.x];", bv, smv);
  mt_cg_line(b, "    %s = %s[threadIdx.x];", bi, smi);
  TAKE(ov, oi);
  mt_cg_line(b, "    if (%s >= 0 && (%s)) {", oi, take);
  mt_cg_line(b, "      %s[threadIdx.x] = %s;", smv, ov);
  mt_cg_line(b, "      %s[threadIdx.x] = %s;", smi, oi);
  mt_cg_line(b, "    }");
  mt_cg_line(b, "  }");
  mt_cg_line(b, "  __syncthreads();");
  mt_cg_line(b, "}");
#undef TAKE
  mt_cg_tmp(b, "y", r->res);
  mt_cg_line(b, "const long long %s = %s[0] < 0 ? 0LL : %s[0];", r->res, smi, smi);
  return NULL;
}

/* ---------------------------------------------------------------- moments */

/* Mean and population variance of the row in double (runtime/cpu's moments): names into mu, var. */
MT_MUST_USE static mt_status *moments(cg_body *b, rctx *r, char *mu, char *var) {
  char j[MT_CG_NAME], off[MT_CG_NAME], xv[MT_CG_NAME], sm[MT_CG_NAME], q[MT_CG_NAME];
  snprintf(sm, sizeof sm, "b%d_smd", b->index);
  mt_cg_tmp(b, "mu", mu);
  mt_cg_line(b, "double %s = 0.0;", mu);
  open_strided(b, r, j);
  mt_cg_tmp(b, "o", off);
  mt_cg_line(b, "const long long %s = %s + %s;", off, r->base, j);
  MT_RETURN_IF_ERROR_PLAIN(x_double(b, r, off, xv));
  mt_cg_line(b, "%s += %s;", mu, xv);
  close_block(b);
  emit_tree(b, r, sm, "double", mu, CMB_ADD_D);
  if (r->n > 0)
    mt_cg_line(b, "%s = %s / %lld.0;", mu, mu, (long long)r->n);
  else
    mt_cg_line(b, "%s = 0.0;", mu);
  mt_cg_tmp(b, "q", q);
  mt_cg_line(b, "double %s = 0.0;", q);
  open_strided(b, r, j);
  mt_cg_tmp(b, "o", off);
  mt_cg_line(b, "const long long %s = %s + %s;", off, r->base, j);
  MT_RETURN_IF_ERROR_PLAIN(x_double(b, r, off, xv));
  mt_cg_line(b, "%s += (%s - %s) * (%s - %s);", q, xv, mu, xv, mu);
  close_block(b);
  emit_tree(b, r, sm, "double", q, CMB_ADD_D);
  mt_cg_tmp(b, "var", var);
  if (r->n > 0)
    mt_cg_line(b, "const double %s = %s / %lld.0;", var, q, (long long)r->n);
  else
    mt_cg_line(b, "const double %s = 0.0;", var);
  return NULL;
}

/* ---------------------------------------------------------------- the anchor-output hook */

MT_MUST_USE static mt_status *anchor_value(cg_body *b, mt_value_id v, const char *off, char *var) {
  rctx *r = b->special_ctx;
  const mt_node *an = r->an;
  int which = -1;
  for (int i = 0; i < an->n_outputs; i++)
    if (an->outputs[i] == v) which = i;
  if (which < 0) return MT_ERR(NOT_FOUND, "not the anchor's");
  char x[MT_CG_NAME], e[1024], rv[1100];
  switch (r->fam) {
  case FAM_REDUCE:
  case FAM_ARG:
  case FAM_GPOOL:
  case FAM_CUMSUM: snprintf(var, MT_CG_NAME, "%s", r->res); return NULL;
  case FAM_POOL: snprintf(var, MT_CG_NAME, "%s", which == 0 ? r->res : r->res2); return NULL;
  case FAM_LAYERNORM:
    if (which > 0) {
      snprintf(var, MT_CG_NAME, "%s", which == 1 ? r->s1 : r->s2);
      return NULL;
    }
    break;
  default: break;
  }
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, r->x, off, x));
  switch (r->fam) {
  case FAM_SOFTMAX:
    if (r->call->params.softmax.log)
      snprintf(e, sizeof e, "%s - %s - %s", x, r->s1, r->s2);
    else
      snprintf(e, sizeof e, "expf(%s - %s) * %s", x, r->s1, r->s2);
    break;
  case FAM_LAYERNORM: {
    /* Scale and B broadcast over the normalised dims [axis, rank) */
    const mt_value *xv = val(b, r->x);
    int axis = r->call->params.norm.axis, nd = xv->rank - axis;
    char i[MT_CG_NAME], so[MT_CG_NAME], sv[MT_CG_NAME];
    mt_cg_tmp(b, "i", i);
    mt_cg_line(b, "const long long %s = (%s) %% %lldLL;", i, off, (long long)r->n);
    size_t len = (size_t)snprintf(e, sizeof e, "(%s - %s) * %s", x, r->s1, r->s2);
    for (int k = 1; k <= 2 && k < an->n_inputs; k++) {
      if (an->inputs[k] == MT_NO_VALUE) continue;
      const mt_value *pv = val(b, an->inputs[k]);
      if (pv->rank > nd)
        return MT_ERR(UNIMPLEMENTED, "%s: input %d of rank %d over %d normalised dims",
                      mt_node_label(b->m, an), k, pv->rank, nd);
      mt_cg_bcast_offset(b, i, nd, xv->dims + axis, pv->rank, pv->dims, so);
      MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, an->inputs[k], so, sv));
      len += (size_t)snprintf(e + len, sizeof e - len, k == 1 ? " * %s" : " + %s", sv);
    }
    break;
  }
  case FAM_INSTNORM: snprintf(e, sizeof e, "%s * %s + %s", x, r->s1, r->s2); break;
  default: return MT_ERR(INTERNAL, "anchor hook: family %d", (int)r->fam);
  }
  round_out(r->ydt, e, rv, sizeof rv);
  mt_cg_tmp(b, "y", var);
  mt_cg_line(b, "const float %s = %s;", var, rv);
  return NULL;
}

/* ---------------------------------------------------------------- outputs */

/* Whether group output v has one element per row (else one per element of the row, or per
 * output of a per-thread family). */
static bool is_row_output(const rctx *r, mt_value_id v) {
  if (r->fam == FAM_REDUCE || r->fam == FAM_ARG || r->fam == FAM_GPOOL) return true;
  if (r->fam != FAM_LAYERNORM) return false;
  for (int i = 1; i < r->an->n_outputs; i++)
    if (r->an->outputs[i] == v) return true; /* Mean, InvStdDev */
  return false;
}

/* Emits and stores every group output of the given kind (per_row: one element per row at the
 * row's offset; else one element at off). */
MT_MUST_USE static mt_status *store_outputs(cg_body *b, const rctx *r, bool per_row,
                                            const char *off) {
  const mt_fused_group *fg = b->fg;
  for (int i = 0; i < fg->n_outputs; i++) {
    mt_value_id v = fg->outputs[i];
    bool row_out = is_row_output(r, v);
    if (row_out != per_row) continue;
    char var[MT_CG_NAME], ptr[MT_CG_NAME];
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, v, off, var));
    snprintf(ptr, sizeof ptr, "b%d_out%d", b->index, i);
    mt_cg_store(b, val(b, v)->dtype, ptr, off, var);
  }
  return NULL;
}

/* Checks that every output has the element count its kind implies. */
MT_MUST_USE static mt_status *check_outputs(cg_body *b, const rctx *r, int64_t per_elem) {
  const mt_fused_group *fg = b->fg;
  for (int i = 0; i < fg->n_outputs; i++) {
    mt_value_id v = fg->outputs[i];
    bool row_out = is_row_output(r, v);
    int64_t want = row_out ? r->rows : per_elem;
    if (mt_cg_numel(b->m, v) != want)
      return MT_ERR(UNIMPLEMENTED, "%s: group output '%s' has %lld elements, not %lld",
                    mt_node_label(b->m, r->an), val(b, v)->name, (long long)mt_cg_numel(b->m, v),
                    (long long)want);
    if (r->fam == FAM_LAYERNORM && row_out && val(b, v)->dtype != MT_DTYPE_FLOAT32)
      return MT_ERR(UNIMPLEMENTED, "%s: Mean/InvStdDev of dtype %s", mt_node_label(b->m, r->an),
                    mt_dtype_name(val(b, v)->dtype));
  }
  return NULL;
}

/* ---------------------------------------------------------------- families */

static void split3(const mt_value *x, int axis, int64_t *outer, int64_t *n, int64_t *inner) {
  *outer = mt_shape_numel(axis, x->dims);
  *n = x->dims[axis];
  *inner = mt_shape_numel(x->rank - axis - 1, x->dims + axis + 1);
}

/* One block per row: the row loop, the family's statistics, per-row outputs by thread 0 and
 * per-element outputs by the block's threads. */
MT_MUST_USE static mt_status *row_body(cg_body *b, rctx *r, const reduce_geom *g) {
  mt_cg_line(b, "MT_SHARED(double, b%d_smd, [%d]);", b->index, r->threads);
  if (r->fam == FAM_REDUCE || r->fam == FAM_ARG) {
    mt_cg_line(b, "MT_SHARED(long long, b%d_smi, [%d]);", b->index, r->threads);
    mt_cg_line(b, "MT_SHARED(long long, b%d_smk, [%d]);", b->index, r->threads);
  }
  snprintf(r->row, sizeof r->row, "b%d_row", b->index);
  mt_cg_line(b, "for (long long %s = block; %s < %lldLL; %s += nblocks) {", r->row, r->row,
             (long long)r->rows, r->row);
  b->indent++;
  b->depth++;
  snprintf(r->base, sizeof r->base, "b%d_base", b->index);
  const mt_value *xv = val(b, r->x);
  if (r->fam == FAM_REDUCE) {
    char kb[MT_CG_NAME];
    emit_decode(b, r->row, g->nk, g->kdims, g->kstr, kb);
    mt_cg_line(b, "const long long %s = %s;", r->base, kb);
  } else if (r->inner == 1) {
    mt_cg_line(b, "const long long %s = %s * %lldLL;", r->base, r->row, (long long)r->n);
  } else {
    mt_cg_line(b, "const long long %s = %s / %lldLL * %lldLL + %s %% %lldLL;", r->base, r->row,
               (long long)r->inner, (long long)(r->n * r->inner), r->row, (long long)r->inner);
  }
  char sm[MT_CG_NAME];
  snprintf(sm, sizeof sm, "b%d_smd", b->index);
  switch (r->fam) {
  case FAM_REDUCE: MT_RETURN_IF_ERROR_PLAIN(reduce_rows(b, r, g)); break;
  case FAM_ARG: MT_RETURN_IF_ERROR_PLAIN(arg_rows(b, r)); break;
  case FAM_SOFTMAX: {
    char j[MT_CG_NAME], off[MT_CG_NAME], x[MT_CG_NAME], mx[MT_CG_NAME], sum[MT_CG_NAME];
    mt_cg_tmp(b, "mx", mx);
    mt_cg_line(b, "double %s = __longlong_as_double(0xfff0000000000000LL);", mx);
    open_strided(b, r, j);
    mt_cg_tmp(b, "o", off);
    mt_cg_line(b, "const long long %s = %s + %s * %lldLL;", off, r->base, j, (long long)r->inner);
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, r->x, off, x));
    mt_cg_line(b, "if ((double)%s > %s) %s = (double)%s;", x, mx, mx, x);
    close_block(b);
    emit_tree(b, r, sm, "double", mx, CMB_MAX_D);
    mt_cg_tmp(b, "m", r->s1);
    mt_cg_line(b, "const float %s = (float)%s;", r->s1, mx);
    mt_cg_tmp(b, "sum", sum);
    mt_cg_line(b, "double %s = 0.0;", sum);
    open_strided(b, r, j);
    mt_cg_tmp(b, "o", off);
    mt_cg_line(b, "const long long %s = %s + %s * %lldLL;", off, r->base, j, (long long)r->inner);
    MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, r->x, off, x));
    mt_cg_line(b, "%s += (double)expf(%s - %s);", sum, x, r->s1);
    close_block(b);
    emit_tree(b, r, sm, "double", sum, CMB_ADD_D);
    mt_cg_tmp(b, "k", r->s2);
    if (r->call->params.softmax.log)
      mt_cg_line(b, "const float %s = (float)log(%s);", r->s2, sum);
    else
      mt_cg_line(b, "const float %s = (float)(1.0 / %s);", r->s2, sum);
    break;
  }
  case FAM_LAYERNORM:
  case FAM_INSTNORM: {
    char mu[MT_CG_NAME], var[MT_CG_NAME], eps[64];
    MT_RETURN_IF_ERROR_PLAIN(moments(b, r, mu, var));
    mt_cg_float_lit(r->call->params.norm.epsilon, eps, sizeof eps);
    mt_cg_tmp(b, "a", r->s1);
    mt_cg_tmp(b, "c", r->s2);
    if (r->fam == FAM_LAYERNORM) {
      mt_cg_line(b, "const float %s = (float)%s;", r->s1, mu);
      mt_cg_line(b, "const float %s = (float)(1.0 / sqrt(%s + (double)%s));", r->s2, var, eps);
    } else {
      char ch[MT_CG_NAME], sc[MT_CG_NAME], bi[MT_CG_NAME];
      mt_cg_tmp(b, "ch", ch);
      mt_cg_line(b, "const long long %s = %s %% %lldLL;", ch, r->row, (long long)xv->dims[1]);
      MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, r->an->inputs[1], ch, sc));
      MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, r->an->inputs[2], ch, bi));
      mt_cg_line(b, "const float %s = (float)((double)%s / sqrt(%s + (double)%s));", r->s1, sc, var,
                 eps);
      mt_cg_line(b, "const float %s = (float)((double)%s - %s * (double)%s);", r->s2, bi, mu,
                 r->s1);
    }
    break;
  }
  case FAM_GPOOL: {
    char j[MT_CG_NAME], off[MT_CG_NAME], xv2[MT_CG_NAME], acc[MT_CG_NAME];
    bool is_max = r->call->params.global_pool.is_max;
    mt_cg_tmp(b, "acc", acc);
    char lit[64];
    mt_cg_float_lit(-FLT_MAX, lit, sizeof lit); /* the CPU's result for an empty plane */
    if (is_max && r->n > 0)
      mt_cg_line(b, "double %s = __longlong_as_double(0xfff0000000000000LL); // -inf", acc);
    else if (is_max)
      mt_cg_line(b, "double %s = (double)%s;", acc, lit);
    else
      mt_cg_line(b, "double %s = 0.0;", acc);
    open_strided(b, r, j);
    mt_cg_tmp(b, "o", off);
    mt_cg_line(b, "const long long %s = %s + %s;", off, r->base, j);
    MT_RETURN_IF_ERROR_PLAIN(x_double(b, r, off, xv2));
    if (is_max)
      mt_cg_line(b, "if (%s > %s) %s = %s;", xv2, acc, acc, xv2);
    else
      mt_cg_line(b, "%s += %s;", acc, xv2);
    close_block(b);
    emit_tree(b, r, sm, "double", acc, is_max ? CMB_MAX_D : CMB_ADD_D);
    char e[256], rv[300];
    if (is_max) {
      if (r->n > 0) { /* the CPU starts from element 0: a NaN there is the result */
        char x0[MT_CG_NAME];
        MT_RETURN_IF_ERROR_PLAIN(x_double(b, r, r->base, x0));
        mt_cg_line(b, "if (%s != %s) %s = %s;", x0, x0, acc, x0);
      }
      snprintf(e, sizeof e, "(float)%s", acc);
    } else if (r->n > 0) {
      snprintf(e, sizeof e, "(float)(%s / %lld.0)", acc, (long long)r->n);
    } else {
      snprintf(e, sizeof e, "0.0f");
    }
    round_out(r->ydt, e, rv, sizeof rv);
    mt_cg_tmp(b, "y", r->res);
    mt_cg_line(b, "const float %s = %s;", r->res, rv);
    break;
  }
  default: return MT_ERR(INTERNAL, "row body of family %d", (int)r->fam);
  }
  /* per-row outputs: thread 0 writes them */
  bool any_row = false;
  for (int i = 0; i < b->fg->n_outputs; i++)
    any_row = any_row || is_row_output(r, b->fg->outputs[i]);
  if (any_row) {
    open_block(b, "if (threadIdx.x == 0) {", "", "");
    MT_RETURN_IF_ERROR_PLAIN(store_outputs(b, r, true, r->row));
    close_block(b);
  }
  if (r->fam == FAM_SOFTMAX || r->fam == FAM_LAYERNORM || r->fam == FAM_INSTNORM) {
    char j[MT_CG_NAME], off[MT_CG_NAME];
    open_strided(b, r, j);
    mt_cg_tmp(b, "o", off);
    mt_cg_line(b, "const long long %s = %s + %s * %lldLL;", off, r->base, j, (long long)r->inner);
    MT_RETURN_IF_ERROR_PLAIN(store_outputs(b, r, false, off));
    close_block(b);
  }
  close_block(b);
  return NULL;
}

/* Windowed pools, one thread per output: runtime/cpu/pool.c's window walk (valid taps row-major,
 * the first maximum wins, the average in double over the valid or padded tap count). */
MT_MUST_USE static mt_status *pool_body(cg_body *b, rctx *r) {
  const mt_kc_pool *p = &r->call->params.pool;
  const mt_conv_geom *g = &p->geom;
  int64_t in_sp = mt_conv_geom_in_size(g), out_sp = mt_conv_geom_out_size(g);
  int64_t total = p->planes * out_sp;
  char e[MT_CG_NAME], pl[MT_CG_NAME], sp[MT_CG_NAME];
  snprintf(e, sizeof e, "b%d_e", b->index);
  mt_cg_line(b, "for (long long %s = block * (long long)blockDim.x + threadIdx.x; %s < %lldLL;", e,
             e, (long long)total);
  mt_cg_line(b, "     %s += nblocks * (long long)blockDim.x) {", e);
  b->indent++;
  b->depth++;
  mt_cg_tmp(b, "pl", pl);
  mt_cg_tmp(b, "sp", sp);
  mt_cg_line(b, "const long long %s = %s / %lldLL, %s = %s %% %lldLL;", pl, e, (long long)out_sp,
             sp, e, (long long)out_sp);
  char lo[MT_CONV_MAX_SPATIAL][MT_CG_NAME], hi[MT_CONV_MAX_SPATIAL][MT_CG_NAME],
      s0[MT_CONV_MAX_SPATIAL][MT_CG_NAME], cnt[MT_CG_NAME], pcnt[MT_CG_NAME];
  mt_cg_tmp(b, "cnt", cnt);
  mt_cg_tmp(b, "pcnt", pcnt);
  mt_cg_line(b, "long long %s = 1, %s = 1;", cnt, pcnt);
  int64_t below = 1;
  for (int d = g->nsp - 1; d >= 0; d--) below *= g->out[d];
  for (int d = 0; d < g->nsp; d++) {
    below /= g->out[d];
    char op[MT_CG_NAME], ph[MT_CG_NAME];
    mt_cg_tmp(b, "op", op);
    mt_cg_tmp(b, "s0", s0[d]);
    mt_cg_tmp(b, "lo", lo[d]);
    mt_cg_tmp(b, "hi", hi[d]);
    mt_cg_tmp(b, "ph", ph);
    long long st = g->stride[d], dl = g->dilation[d], in = g->in[d], k = g->kernel[d];
    mt_cg_line(b, "const long long %s = %s / %lldLL %% %lldLL;", op, sp, (long long)below,
               (long long)g->out[d]);
    mt_cg_line(b, "const long long %s = %s * %lldLL - %lldLL;", s0[d], op, st,
               (long long)g->pad_begin[d]);
    mt_cg_line(b, "long long %s = %s >= 0 ? 0 : (-%s + %lldLL) / %lldLL;", lo[d], s0[d], s0[d],
               dl - 1, dl);
    mt_cg_line(b, "long long %s = %lldLL - %s < 0 ? 0 : (%lldLL - %s) / %lldLL + 1;", hi[d], in - 1,
               s0[d], in - 1, s0[d], dl);
    mt_cg_line(b, "if (%s > %lldLL) %s = %lldLL;", hi[d], k, hi[d], k);
    mt_cg_line(b, "if (%s > %s) %s = %s;", lo[d], hi[d], lo[d], hi[d]);
    mt_cg_line(b, "long long %s = %lldLL - %s < 0 ? 0 : (%lldLL - %s) / %lldLL + 1;", ph,
               in + g->pad_end[d] - 1, s0[d], in + g->pad_end[d] - 1, s0[d], dl);
    mt_cg_line(b, "if (%s > %lldLL) %s = %lldLL;", ph, k, ph, k);
    mt_cg_line(b, "%s *= %s - %s;", cnt, hi[d], lo[d]);
    mt_cg_line(b, "%s *= %s;", pcnt, ph);
  }
  char best[MT_CG_NAME], bidx[MT_CG_NAME], sum[MT_CG_NAME];
  mt_cg_tmp(b, "best", best);
  mt_cg_tmp(b, "bidx", bidx);
  mt_cg_tmp(b, "sum", sum);
  char fmax[64];
  mt_cg_float_lit(-FLT_MAX, fmax, sizeof fmax);
  if (p->is_max) {
    mt_cg_line(b, "float %s = %s;", best, fmax);
    mt_cg_line(b, "long long %s = -1;", bidx);
  } else
    mt_cg_line(b, "double %s = 0.0;", sum);
  char t[MT_CONV_MAX_SPATIAL][MT_CG_NAME];
  for (int d = 0; d < g->nsp; d++) {
    mt_cg_tmp(b, "t", t[d]);
    mt_cg_line(b, "for (long long %s = %s; %s < %s; %s++) {", t[d], lo[d], t[d], hi[d], t[d]);
    b->indent++;
    b->depth++;
  }
  char expr[1024] = "0", cexpr[1024] = "0";
  size_t len = 1, clen = 1;
  int64_t stride = 1;
  for (int d = g->nsp - 1; d >= 0; d--) {
    len += (size_t)snprintf(expr + len, sizeof expr - len, " + (%s + %s * %lldLL) * %lldLL", s0[d],
                            t[d], (long long)g->dilation[d], (long long)stride);
    stride *= g->in[d];
  }
  stride = 1;
  for (int d = 0; d < g->nsp; d++) {
    clen += (size_t)snprintf(cexpr + clen, sizeof cexpr - clen, " + (%s + %s * %lldLL) * %lldLL",
                             s0[d], t[d], (long long)g->dilation[d], (long long)stride);
    stride *= g->in[d];
  }
  char so[MT_CG_NAME], off[MT_CG_NAME], x[MT_CG_NAME];
  mt_cg_tmp(b, "so", so);
  mt_cg_tmp(b, "o", off);
  mt_cg_line(b, "const long long %s = %s;", so, expr);
  mt_cg_line(b, "const long long %s = %s * %lldLL + %s;", off, pl, (long long)in_sp, so);
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, r->x, off, x));
  if (p->is_max) {
    mt_cg_line(b, "if (%s > %s || %s < 0) {", x, best, bidx);
    mt_cg_line(b, "  %s = %s;", best, x);
    mt_cg_line(b, "  %s = %s;", bidx, p->col_major ? cexpr : so);
    mt_cg_line(b, "}");
  } else {
    mt_cg_line(b, "%s += (double)%s;", sum, x);
  }
  for (int d = g->nsp - 1; d >= 0; d--) close_block(b);
  char ev[300], rv[400];
  mt_cg_tmp(b, "y", r->res);
  if (p->is_max) {
    round_out(r->ydt, best, rv, sizeof rv);
    mt_cg_line(b, "const float %s = %s;", r->res, rv);
    mt_cg_tmp(b, "yi", r->res2);
    mt_cg_line(b, "const long long %s = %s < 0 ? -1LL : %s * %lldLL + %s;", r->res2, bidx, pl,
               (long long)in_sp, bidx);
  } else {
    const char *div = p->count_include_pad ? pcnt : cnt;
    snprintf(ev, sizeof ev, "(%s > 0 ? (float)(%s / (double)%s) : 0.0f)", div, sum, div);
    round_out(r->ydt, ev, rv, sizeof rv);
    mt_cg_line(b, "const float %s = %s;", r->res, rv);
  }
  MT_RETURN_IF_ERROR_PLAIN(store_outputs(b, r, false, e));
  close_block(b);
  return NULL;
}

/* CumSum, one thread per line: the CPU's sequential running sum (float32 for float32 and float16, double for float64, wrapping
 * int64 for integers), so results are bit-identical. */
MT_MUST_USE static mt_status *cumsum_body(cg_body *b, rctx *r) {
  const mt_kc_cumsum *p = &r->call->params.cumsum;
  bool flt = is_real_dt(r->xdt);
  const char *fty = r->xdt == MT_DTYPE_FLOAT64 ? "double" : "float"; /* the CPU's running sum */
  char ln[MT_CG_NAME], acc[MT_CG_NAME], t[MT_CG_NAME], off[MT_CG_NAME], x[MT_CG_NAME];
  snprintf(ln, sizeof ln, "b%d_line", b->index);
  mt_cg_line(b, "for (long long %s = block * (long long)blockDim.x + threadIdx.x; %s < %lldLL;", ln,
             ln, (long long)r->rows);
  mt_cg_line(b, "     %s += nblocks * (long long)blockDim.x) {", ln);
  b->indent++;
  b->depth++;
  snprintf(r->base, sizeof r->base, "b%d_base", b->index);
  mt_cg_line(b, "const long long %s = %s / %lldLL * %lldLL + %s %% %lldLL;", r->base, ln,
             (long long)r->inner, (long long)(r->n * r->inner), ln, (long long)r->inner);
  mt_cg_tmp(b, "acc", acc);
  mt_cg_line(b, "%s %s = 0;", flt ? fty : "long long", acc);
  mt_cg_tmp(b, "t", t);
  mt_cg_line(b, "for (long long %s = 0; %s < %lldLL; %s++) {", t, t, (long long)r->n, t);
  b->indent++;
  b->depth++;
  mt_cg_tmp(b, "o", off);
  if (p->reverse)
    mt_cg_line(b, "const long long %s = %s + (%lldLL - %s) * %lldLL;", off, r->base,
               (long long)(r->n - 1), t, (long long)r->inner);
  else
    mt_cg_line(b, "const long long %s = %s + %s * %lldLL;", off, r->base, t, (long long)r->inner);
  MT_RETURN_IF_ERROR_PLAIN(mt_cg_emit_value(b, r->x, off, x));
  char cur[MT_CG_NAME], rv[300];
  mt_cg_tmp(b, "cur", cur);
  if (p->exclusive) {
    mt_cg_line(b, "const %s %s = %s;", flt ? fty : "long long", cur, acc);
  }
  if (flt)
    mt_cg_line(b, "%s += (%s)%s;", acc, fty, x);
  else
    mt_cg_line(b, "%s = (long long)((unsigned long long)%s + (unsigned long long)(long long)%s);",
               acc, acc, x);
  if (!p->exclusive) mt_cg_line(b, "const %s %s = %s;", flt ? fty : "long long", cur, acc);
  mt_cg_tmp(b, "y", r->res);
  if (flt)
    round_out(r->ydt, cur, rv, sizeof rv);
  else
    wrap_int(r->ydt, cur, rv, sizeof rv);
  mt_cg_line(b, "const %s %s = %s;", mt_cg_ctype(r->ydt), r->res, rv);
  MT_RETURN_IF_ERROR_PLAIN(store_outputs(b, r, false, off));
  close_block(b);
  close_block(b);
  return NULL;
}

/* ---------------------------------------------------------------- entry */

mt_status *mt_cg_reduction_body(cg_body *b, const mt_cuda_options *o, int64_t *out_work,
                                int *out_threads, bool *out_per_thread) {
  const mt_fused_group *fg = b->fg;
  int ak = -1;
  for (int k = 0; k < fg->n_nodes; k++)
    if (fg->nodes[k] == fg->anchor) ak = k;
  if (ak < 0) return MT_ERR(INTERNAL, "reduction group without its anchor");
  rctx r;
  memset(&r, 0, sizeof r);
  r.an = mt_module_node_c(b->m, fg->anchor);
  r.call = &b->calls[ak];
  r.x = r.an->inputs[0];
  const mt_value *xv = val(b, r.x);
  r.xdt = xv->dtype;
  r.ydt = val(b, r.an->outputs[0])->dtype;
  r.threads =
      o->reduce_threads > 0 ? o->reduce_threads : (o->block_threads > 0 ? o->block_threads : 256);
  r.p2 = 1;
  while (r.p2 < r.threads) r.p2 *= 2;
  const char *label = mt_node_label(b->m, r.an);
  int64_t per_elem = mt_cg_numel(b->m, r.x);
  reduce_geom g;
  memset(&g, 0, sizeof g);
  switch (r.call->kind) {
  case MT_KERNEL_REDUCE: {
    r.fam = FAM_REDUCE;
    uint32_t mask = r.call->params.reduce.axes_mask;
    int64_t stride = 1, st[MT_MAX_RANK];
    for (int d = xv->rank - 1; d >= 0; d--) {
      st[d] = stride;
      stride *= xv->dims[d];
    }
    r.rows = 1;
    r.n = 1;
    for (int d = 0; d < xv->rank; d++) {
      if ((mask >> d) & 1u) {
        g.rdims[g.nr] = xv->dims[d], g.rstr[g.nr++] = st[d];
        r.n *= xv->dims[d];
      } else {
        g.kdims[g.nk] = xv->dims[d], g.kstr[g.nk++] = st[d];
        r.rows *= xv->dims[d];
      }
    }
    break;
  }
  case MT_KERNEL_ARG_REDUCE:
    r.fam = FAM_ARG;
    split3(xv, r.call->params.arg_reduce.axis, &r.rows, &r.n, &r.inner);
    r.rows *= r.inner;
    if (r.n == 0) return MT_ERR(UNIMPLEMENTED, "%s: arg reduction over an empty axis", label);
    break;
  case MT_KERNEL_SOFTMAX:
    r.fam = FAM_SOFTMAX;
    r.rows = r.call->params.softmax.outer * r.call->params.softmax.inner;
    r.n = r.call->params.softmax.n;
    r.inner = r.call->params.softmax.inner;
    break;
  case MT_KERNEL_LAYERNORM:
    r.fam = FAM_LAYERNORM;
    r.rows = mt_shape_numel(r.call->params.norm.axis, xv->dims);
    r.n = mt_shape_numel(xv->rank - r.call->params.norm.axis, xv->dims + r.call->params.norm.axis);
    r.inner = 1;
    break;
  case MT_KERNEL_INSTANCENORM:
  case MT_KERNEL_GLOBAL_POOL:
    if (xv->rank < (r.call->kind == MT_KERNEL_INSTANCENORM ? 3 : 2))
      return MT_ERR(UNIMPLEMENTED, "%s: input of rank %d", label, xv->rank);
    r.fam = r.call->kind == MT_KERNEL_INSTANCENORM ? FAM_INSTNORM : FAM_GPOOL;
    r.rows = xv->dims[0] * xv->dims[1];
    r.n = mt_shape_numel(xv->rank - 2, xv->dims + 2);
    r.inner = 1;
    break;
  case MT_KERNEL_POOL:
    r.fam = FAM_POOL;
    r.rows = mt_cg_numel(b->m, r.an->outputs[0]);
    per_elem = r.rows;
    break;
  case MT_KERNEL_CUMSUM: {
    r.fam = FAM_CUMSUM;
    const mt_value *av = r.an->n_inputs > 1 ? val(b, r.an->inputs[1]) : NULL;
    if (!av || av->constant < 0 || mt_shape_numel(av->rank, av->dims) != 1)
      return MT_ERR(UNIMPLEMENTED, "%s: the axis is not a constant scalar", label);
    const mt_constant *ac = mt_module_constant(b->m, av->constant);
    mt_tensor at = {.dtype = ac->dtype, .rank = ac->rank, .data = ac->data};
    memcpy(at.dims, ac->dims, sizeof at.dims);
    int64_t axis = mt_tensor_get_i64(&at, 0);
    if (xv->rank == 0 || axis < -xv->rank || axis >= xv->rank)
      return MT_ERR(UNIMPLEMENTED, "%s: axis %lld of a rank-%d input", label, (long long)axis,
                    xv->rank);
    if (axis < 0) axis += xv->rank;
    split3(xv, (int)axis, &r.rows, &r.n, &r.inner);
    r.rows *= r.inner;
    break;
  }
  default:
    return MT_ERR(UNIMPLEMENTED, "%s: kernel '%s' in a reduction group has no CUDA generator yet",
                  label, mt_kernel_kind_name(r.call->kind));
  }
  if (r.fam != FAM_REDUCE && r.fam != FAM_ARG && r.fam != FAM_CUMSUM && !is_float_dt(r.xdt))
    return MT_ERR(UNIMPLEMENTED, "%s: %s input", label, mt_dtype_name(r.xdt));
  MT_RETURN_IF_ERROR_PLAIN(check_outputs(b, &r, per_elem));
  b->special = anchor_value;
  b->special_ctx = &r;
  mt_status *st;
  if (r.fam == FAM_POOL)
    st = pool_body(b, &r);
  else if (r.fam == FAM_CUMSUM)
    st = cumsum_body(b, &r);
  else
    st = row_body(b, &r, &g);
  b->special = NULL;
  b->special_ctx = NULL;
  if (st && !strstr(mt_status_message(st), "tenant '")) st = mt_status_annotate(st, "%s", label);
  *out_work = r.rows;
  *out_threads = r.threads;
  *out_per_thread = r.fam == FAM_POOL || r.fam == FAM_CUMSUM;
  return st;
}
