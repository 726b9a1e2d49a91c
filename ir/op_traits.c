/* Reading ops' fusion patterns, traits and arithmetic from their defs: the one place passes and
 * the cost model learn what kind an op is (no pass keeps a list of op names). */
#include "ir/op.h"

const char *mt_op_pattern_name(mt_op_pattern p) {
  switch (p) {
  case MT_PATTERN_UNSET: return "unset";
  case MT_PATTERN_ELEMENTWISE: return "elementwise";
  case MT_PATTERN_BROADCAST: return "broadcast";
  case MT_PATTERN_INJECTIVE: return "injective";
  case MT_PATTERN_REDUCTION: return "reduction";
  case MT_PATTERN_OUT_FUSABLE: return "out-fusable";
  case MT_PATTERN_OPAQUE: return "opaque";
  }
  return "?";
}

mt_op_pattern mt_node_pattern(const mt_node *n) {
  const mt_op_def *d = n->def;
  if (!d) return MT_PATTERN_OPAQUE;
  return d->node_pattern ? d->node_pattern(n) : d->pattern;
}

bool mt_node_has_traits(const mt_node *n, uint32_t traits) {
  return n->def && (n->def->traits & traits) == traits;
}

int mt_node_live_outputs(const mt_node *n) {
  int c = 0;
  for (int i = 0; i < n->n_outputs; i++) c += n->outputs[i] != MT_NO_VALUE;
  return c;
}

double mt_value_elems(const mt_module *m, mt_value_id v) {
  if (v == MT_NO_VALUE) return 0;
  const mt_value *val = mt_module_value_c(m, v);
  if (val->rank < 0) return 0;
  double n = 1;
  for (int d = 0; d < val->rank; d++) n *= (double)(val->dims[d] > 0 ? val->dims[d] : 0);
  return n;
}

void mt_node_work(const mt_module *m, const mt_node *n, mt_op_work *out_work) {
  out_work->flops = out_work->transcendentals = 0;
  if (n->def && n->def->work) {
    n->def->work(m, n, out_work);
    return;
  }
  double out = n->n_outputs > 0 ? mt_value_elems(m, n->outputs[0]) : 0;
  switch (mt_node_pattern(n)) {
  case MT_PATTERN_ELEMENTWISE:
  case MT_PATTERN_BROADCAST:
    if (mt_node_has_traits(n, MT_TRAIT_NO_ARITHMETIC)) break;
    if (mt_node_has_traits(n, MT_TRAIT_TRANSCENDENTAL))
      out_work->transcendentals = out;
    else
      out_work->flops = out;
    break;
  case MT_PATTERN_REDUCTION:
    out_work->flops = n->n_inputs > 0 ? mt_value_elems(m, n->inputs[0]) : 0;
    break;
  case MT_PATTERN_UNSET:
  case MT_PATTERN_INJECTIVE:
  case MT_PATTERN_OUT_FUSABLE: /* every out-fusable op has a work hook */
  case MT_PATTERN_OPAQUE: break;
  }
}
