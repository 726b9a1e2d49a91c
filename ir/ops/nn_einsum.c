/* Einsum: any number of operands, repeated labels (diagonals), ellipsis with broadcasting,
 * implicit and explicit outputs.
 *
 * Each operand becomes a strided view with one entry per distinct label (a repeated label adds
 * its strides: a diagonal; a broadcast ellipsis dim of size 1 gets stride 0). Operands are then
 * contracted left to right: for a pair, labels split into batch (both, still needed), M / N
 * (one side, still needed), K (both, not needed) and labels only one side has and nothing needs
 * later, which are summed away while gathering. Both sides are gathered densely as
 * [batch, M, K] and [batch, K, N] and multiplied by a batched GEMM. A final gather permutes (and
 * sums, for one operand) into the output order. Float types compute in float32, integer types
 * exactly in int64. */
#include <stdlib.h>
#include <string.h>

#include "ir/ops/nn_internal.h"
#include "runtime/base/checked_math.h"
#include "runtime/cpu/einsum.h"

#define EIN_LETTERS MT_EINSUM_LETTERS
#define EIN_MAX_LABELS MT_EINSUM_MAX_LABELS
#define EIN_MAX_INPUTS MT_EINSUM_MAX_INPUTS
#define EIN_MAXD MT_EINSUM_MAX_DIMS

typedef mt_einsum_term ein_term;
typedef mt_einsum_eq ein_eq;

static int letter_id(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

/* ASCII order of a label for the implicit output: letters upper-case first, as numpy sorts. */
static int label_rank(int id) { return id >= 26 ? id - 26 : 26 + id; }

/* Splits one term into letters and the ellipsis position. */
typedef struct raw_term {
  int n_letters;
  int letters[MT_MAX_RANK + 1];
  int ellipsis_at; /* index into letters before which "..." stands, -1 if none */
} raw_term;

MT_MUST_USE static mt_status *parse_raw(const char *s, size_t len, raw_term *t) {
  t->n_letters = 0;
  t->ellipsis_at = -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '.') {
      if (t->ellipsis_at >= 0 || i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.')
        return MT_ERR(INVALID_ARGUMENT, "malformed ellipsis in equation term");
      t->ellipsis_at = t->n_letters;
      i += 2;
      continue;
    }
    int id = letter_id(s[i]);
    if (id < 0) return MT_ERR(INVALID_ARGUMENT, "invalid character '%c' in equation", s[i]);
    if (t->n_letters > MT_MAX_RANK)
      return MT_ERR(INVALID_ARGUMENT, "equation term has more than %d labels", MT_MAX_RANK);
    t->letters[t->n_letters++] = id;
  }
  return NULL;
}

/* Parses the equation against the inputs' ranks and dims. */
MT_MUST_USE static mt_status *parse_equation(const char *equation, int n_inputs,
                                             const mt_tensor *const *ins, ein_eq *e) {
  if (n_inputs < 1 || n_inputs > EIN_MAX_INPUTS)
    return MT_ERR(INVALID_ARGUMENT, "%d operands; 1 to %d are supported", n_inputs, EIN_MAX_INPUTS);
  size_t len = strlen(equation);
  char *eq = malloc(len + 1);
  if (!eq) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (equation[i] != ' ' && equation[i] != '\t') eq[n++] = equation[i];
  eq[n] = 0;
  mt_status *st = NULL;
  char *arrow = strstr(eq, "->");
  size_t lhs_len = arrow ? (size_t)(arrow - eq) : n;
  raw_term raw[EIN_MAX_INPUTS], raw_out;
  int terms = 0;
  size_t start = 0;
  for (size_t i = 0; i <= lhs_len && !st; i++) {
    if (i == lhs_len || eq[i] == ',') {
      if (terms == n_inputs) {
        st = MT_ERR(INVALID_ARGUMENT, "equation has more terms than the %d inputs", n_inputs);
        break;
      }
      st = parse_raw(eq + start, i - start, &raw[terms++]);
      start = i + 1;
    }
  }
  if (!st && terms != n_inputs)
    st = MT_ERR(INVALID_ARGUMENT, "equation has %d terms for %d inputs", terms, n_inputs);
  if (!st && arrow) st = parse_raw(arrow + 2, strlen(arrow + 2), &raw_out);
  free(eq);
  if (st) return st;
  e->n_inputs = n_inputs;
  for (int l = 0; l < EIN_MAX_LABELS; l++) e->size[l] = -1;
  /* Ellipsis rank: the most dims any operand's "..." covers. */
  int ell_rank = 0, ell_n[EIN_MAX_INPUTS];
  for (int i = 0; i < n_inputs; i++) {
    int rank = ins ? ins[i]->rank : raw[i].n_letters;
    ell_n[i] = raw[i].ellipsis_at >= 0 ? rank - raw[i].n_letters : 0;
    if (ell_n[i] < 0 || (raw[i].ellipsis_at < 0 && rank != raw[i].n_letters))
      return MT_ERR(INVALID_ARGUMENT, "term %d has %d labels for an input of rank %d", i,
                    raw[i].n_letters, rank);
    if (ell_n[i] > ell_rank) ell_rank = ell_n[i];
  }
  int count[EIN_MAX_LABELS] = {0};
  for (int i = 0; i < n_inputs; i++) {
    ein_term *t = &e->in[i];
    t->n = 0;
    for (int j = 0; j <= raw[i].n_letters; j++) {
      if (j == raw[i].ellipsis_at)
        for (int k = 0; k < ell_n[i]; k++) t->label[t->n++] = EIN_LETTERS + ell_rank - ell_n[i] + k;
      if (j < raw[i].n_letters) t->label[t->n++] = raw[i].letters[j];
    }
    for (int d = 0; d < t->n; d++) {
      int l = t->label[d];
      count[l]++;
      if (!ins) continue;
      int64_t s = ins[i]->dims[d];
      if (s < 0) continue;
      if (e->size[l] < 0 || (l >= EIN_LETTERS && e->size[l] == 1)) {
        e->size[l] = s;
      } else if (e->size[l] != s && !(l >= EIN_LETTERS && s == 1)) {
        return MT_ERR(INVALID_ARGUMENT, "label size mismatch in term %d: %lld vs %lld", i,
                      (long long)s, (long long)e->size[l]);
      }
    }
  }
  ein_term *o = &e->out;
  o->n = 0;
  if (arrow && raw_out.ellipsis_at < 0 && ell_rank > 0)
    /* numpy refuses this too: the dims "..." covers would be summed away without being named */
    return MT_ERR(INVALID_ARGUMENT,
                  "the inputs' '...' covers %d dim(s) but the output names no '...'", ell_rank);
  if (arrow) {
    bool seen[EIN_MAX_LABELS] = {false};
    for (int j = 0; j <= raw_out.n_letters; j++) {
      if (j == raw_out.ellipsis_at)
        for (int k = 0; k < ell_rank; k++) o->label[o->n++] = EIN_LETTERS + k;
      if (j == raw_out.n_letters) break;
      int l = raw_out.letters[j];
      if (count[l] == 0 || seen[l])
        return MT_ERR(INVALID_ARGUMENT, "output label '%c' is repeated or not in any input",
                      l < 26 ? 'a' + l : 'A' + l - 26);
      seen[l] = true;
      if (o->n >= MT_MAX_RANK) return MT_ERR(OUT_OF_RANGE, "output rank exceeds %d", MT_MAX_RANK);
      o->label[o->n++] = l;
    }
  } else {
    for (int k = 0; k < ell_rank; k++) o->label[o->n++] = EIN_LETTERS + k;
    for (int r = 0; r < EIN_LETTERS; r++) {
      int l = r < 26 ? 26 + r : r - 26; /* inverse of label_rank */
      if (label_rank(l) != r || count[l] != 1) continue;
      if (o->n >= MT_MAX_RANK) return MT_ERR(OUT_OF_RANGE, "output rank exceeds %d", MT_MAX_RANK);
      o->label[o->n++] = l;
    }
  }
  return NULL;
}

MT_MUST_USE static mt_status *einsum_parse_ctx(const mt_op_ctx *ctx, ein_eq *e) {
  const char *eq = mt_node_attr_string(ctx->node, "equation", NULL);
  if (!eq) return MT_ERR(INVALID_ARGUMENT, "attribute 'equation' is required");
  for (int i = 0; i < ctx->n_inputs; i++)
    if (!ctx->inputs[i]) return MT_ERR(INVALID_ARGUMENT, "input %d is missing", i);
  return parse_equation(eq, ctx->n_inputs, ctx->inputs, e);
}

mt_status *mt_nn_einsum_infer(mt_op_ctx *ctx) {
  ein_eq e;
  MT_RETURN_IF_ERROR_PLAIN(einsum_parse_ctx(ctx, &e));
  mt_dtype dt = mt_op_input(ctx, 0)->dtype;
  for (int i = 1; i < ctx->n_inputs; i++)
    if (ctx->inputs[i]->dtype != dt) return MT_ERR(INVALID_ARGUMENT, "input dtypes differ");
  if (!mt_dtype_is_float_any(dt) && !mt_dtype_is_integer(dt))
    return MT_ERR(UNIMPLEMENTED, "Einsum on %s tensors", mt_dtype_name(dt));
  int64_t dims[MT_MAX_RANK];
  for (int d = 0; d < e.out.n; d++) dims[d] = e.size[e.out.label[d]];
  mt_op_set_output(ctx, 0, dt, e.out.n, dims);
  return NULL;
}

mt_status *mt_nn_einsum_lower(const mt_op_ctx *ctx, mt_kernel_call *out_call) {
  out_call->kind = MT_KERNEL_EINSUM;
  return einsum_parse_ctx(ctx, &out_call->params.einsum);
}

/* --- traits: the pattern and arithmetic of one Einsum node, from its equation alone --- */

/* A single operand whose every label survives into the output only moves elements (a
 * transpose, a diagonal): injective. Anything that sums or multiplies operands is opaque: it
 * runs as its own kernel (it is no GEMM the library-call path could take as it is). */
mt_op_pattern mt_nn_einsum_pattern(const mt_node *n) {
  const char *eq = mt_node_attr_string(n, "equation", NULL);
  if (!eq || n->n_inputs != 1) return MT_PATTERN_OPAQUE;
  const char *arrow = strstr(eq, "->");
  if (!arrow) return MT_PATTERN_OPAQUE; /* implicit output sums repeated labels */
  if (strstr(eq, "...") && strstr(eq, "...") < arrow && !strstr(arrow, "..."))
    return MT_PATTERN_OPAQUE;
  for (const char *c = eq; c < arrow; c++) {
    if (*c == ',') return MT_PATTERN_OPAQUE;
    if (letter_id(*c) >= 0 && !strchr(arrow + 2, *c)) return MT_PATTERN_OPAQUE; /* summed away */
  }
  return MT_PATTERN_INJECTIVE;
}

/* Multiply-adds of a direct evaluation: the product of every distinct label's size, with an
 * ellipsis counted once at its largest extent. */
void mt_nn_einsum_work(const mt_module *m, const mt_node *n, mt_op_work *w) {
  const char *eq = mt_node_attr_string(n, "equation", NULL);
  if (!eq) return;
  int64_t size[128] = {0};
  double ellipsis = 1;
  int input = 0;
  const char *s = eq;
  while (*s && !(s[0] == '-' && s[1] == '>')) {
    const mt_value *v = NULL;
    if (input < n->n_inputs && n->inputs[input] != MT_NO_VALUE) {
      v = mt_module_value_c(m, n->inputs[input]);
      if (v->rank < 0) v = NULL;
    }
    int letters = 0;
    const char *t = s;
    for (; *t && *t != ',' && !(t[0] == '-' && t[1] == '>'); t++)
      if (*t != '.' && *t != ' ') letters++;
    int ell_rank = v ? v->rank - letters : 0, dim = 0;
    for (const char *c = s; c < t; c++) {
      if (*c == ' ') continue;
      if (*c == '.') {
        if (c + 2 < t && c[1] == '.' && c[2] == '.') {
          double e = 1;
          for (int k = 0; v && k < ell_rank && dim < v->rank; k++, dim++) e *= (double)v->dims[dim];
          if (e > ellipsis) ellipsis = e;
          c += 2;
        }
        continue;
      }
      if (v && dim < v->rank && (unsigned char)*c < 128 && v->dims[dim] > size[(unsigned char)*c])
        size[(unsigned char)*c] = v->dims[dim];
      dim++;
    }
    s = *t == ',' ? t + 1 : t;
    input++;
  }
  double f = 2 * ellipsis;
  for (int c = 0; c < 128; c++)
    if (size[c] > 0) f *= (double)size[c];
  w->flops = f;
}
