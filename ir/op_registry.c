/* The table of supported ops: the union of the per-family tables in ir/ops/. */
#include <string.h>

#include "ir/op.h"

static const mt_op_def *const families[] = {
    mt_ops_elementwise, mt_ops_nn,     mt_ops_shape,     mt_ops_reduce,
    mt_ops_misc,        mt_ops_index,  mt_ops_normalize, mt_ops_loss,
    mt_ops_quant,       mt_ops_rnn,    mt_ops_signal,    mt_ops_sequence,
    mt_ops_loop,        mt_ops_vision, mt_ops_attention, mt_ops_newops};

static bool is_default_domain(const char *domain) {
  return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}

const mt_op_def *mt_op_lookup(const char *domain, const char *op_type) {
  if (!is_default_domain(domain)) return NULL;
  for (size_t f = 0; f < sizeof families / sizeof *families; f++)
    for (const mt_op_def *d = families[f]; d->op_type; d++)
      if (strcmp(d->op_type, op_type) == 0) return d;
  return NULL;
}

int mt_op_count(void) {
  int n = 0;
  for (size_t f = 0; f < sizeof families / sizeof *families; f++)
    for (const mt_op_def *d = families[f]; d->op_type; d++) n++;
  return n;
}

const mt_op_def *mt_op_at(int i) {
  for (size_t f = 0; f < sizeof families / sizeof *families; f++)
    for (const mt_op_def *d = families[f]; d->op_type; d++)
      if (i-- == 0) return d;
  return NULL;
}
