/* Text dump of the module, for humans and for --dump-ir: one line per node,
 *   %name = Op(%in, ...) {attr=value, ...} : dtype[dims]
 * grouped by tenant, with subgraphs indented under their node. */
#include <inttypes.h>

#include "ir/ir.h"
#include "runtime/base/escape.h"

static void dump_type(const mt_module *m, mt_value_id v, FILE *out) {
  const mt_value *val = mt_module_value_c(m, v);
  fprintf(out, "%s[", mt_dtype_name(val->dtype));
  for (int d = 0; d < val->rank; d++) {
    if (d) fputc(',', out);
    if (val->dims[d] >= 0)
      fprintf(out, "%" PRId64, val->dims[d]);
    else
      fprintf(out, "%s", val->dim_params[d] ? mt_esc(val->dim_params[d]) : "?");
  }
  fputc(']', out);
  if (val->rank < 0) fputs("?", out);
}

static void dump_attr(const mt_attr *a, FILE *out) {
  fprintf(out, "%s=", mt_esc(a->name));
  switch (a->type) {
  case MT_ATTR_FLOAT: fprintf(out, "%g", a->f); break;
  case MT_ATTR_INT: fprintf(out, "%" PRId64, a->i); break;
  case MT_ATTR_STRING: fprintf(out, "\"%s\"", mt_esc(a->s)); break;
  case MT_ATTR_TENSOR: fprintf(out, "const#%d", a->constant); break;
  case MT_ATTR_INTS:
    fputc('[', out);
    for (int64_t i = 0; i < a->count; i++) fprintf(out, "%s%" PRId64, i ? "," : "", a->ints[i]);
    fputc(']', out);
    break;
  case MT_ATTR_FLOATS:
    fputc('[', out);
    for (int64_t i = 0; i < a->count; i++) fprintf(out, "%s%g", i ? "," : "", a->floats[i]);
    fputc(']', out);
    break;
  case MT_ATTR_STRINGS:
    fputc('[', out);
    for (int64_t i = 0; i < a->count; i++)
      fprintf(out, "%s\"%s\"", i ? "," : "", mt_esc(a->strings[i]));
    fputc(']', out);
    break;
  case MT_ATTR_GRAPH:
  case MT_ATTR_GRAPHS: fprintf(out, "<%" PRId64 " graph(s)>", a->count); break;
  default: fputs("<opaque>", out); break;
  }
}

static void dump_graph(const mt_module *m, const mt_graph *g, int indent, FILE *out) {
  for (int i = 0; i < g->n_inputs; i++) {
    fprintf(out, "%*sinput %%%s : ", indent, "", mt_esc(mt_module_value_c(m, g->inputs[i])->name));
    dump_type(m, g->inputs[i], out);
    fputc('\n', out);
  }
  for (int k = 0; k < g->n_nodes; k++) {
    const mt_node *n = mt_module_node_c(m, g->nodes[k]);
    fprintf(out, "%*s", indent, "");
    for (int i = 0; i < n->n_outputs; i++)
      fprintf(out, "%s%%%s", i ? ", " : "",
              n->outputs[i] == MT_NO_VALUE ? "_"
                                           : mt_esc(mt_module_value_c(m, n->outputs[i])->name));
    fprintf(out, " = %s%s%s(", mt_esc(n->domain), *n->domain ? "." : "", mt_esc(n->op_type));
    for (int i = 0; i < n->n_inputs; i++) {
      if (i) fputs(", ", out);
      if (n->inputs[i] == MT_NO_VALUE) {
        fputc('_', out);
        continue;
      }
      const mt_value *val = mt_module_value_c(m, n->inputs[i]);
      if (val->constant >= 0)
        fprintf(out, "const#%d", val->constant);
      else
        fprintf(out, "%%%s", mt_esc(val->name));
    }
    fputc(')', out);
    if (n->n_attrs) {
      fputs(" {", out);
      for (int a = 0; a < n->n_attrs; a++) {
        if (a) fputs(", ", out);
        dump_attr(&n->attrs[a], out);
      }
      fputc('}', out);
    }
    fprintf(out, "  # %s", mt_esc(n->name));
    for (int i = 0; i < n->n_outputs; i++)
      if (n->outputs[i] != MT_NO_VALUE) {
        fputs(" : ", out);
        dump_type(m, n->outputs[i], out);
      }
    fputc('\n', out);
    for (int a = 0; a < n->n_attrs; a++)
      for (int64_t j = 0; n->attrs[a].graphs && j < n->attrs[a].count; j++) {
        fprintf(out, "%*s%s:\n", indent + 2, "", mt_esc(n->attrs[a].name));
        dump_graph(m, n->attrs[a].graphs[j], indent + 4, out);
      }
  }
  fprintf(out, "%*sreturn", indent, "");
  for (int i = 0; i < g->n_outputs; i++)
    fprintf(out, "%s %%%s", i ? "," : "", mt_esc(mt_module_value_c(m, g->outputs[i])->name));
  fputc('\n', out);
}

void mt_dump_module(const mt_module *m, FILE *out) {
  for (int32_t c = 0; c < mt_module_constant_count(m); c++) {
    const mt_constant *k = mt_module_constant(m, c);
    fprintf(out, "const#%d : %s[", c, mt_dtype_name(k->dtype));
    for (int d = 0; d < k->rank; d++) fprintf(out, "%s%" PRId64, d ? "," : "", k->dims[d]);
    fprintf(out, "] %zu bytes%s\n", k->nbytes, k->uses > 1 ? " (shared)" : "");
  }
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++) {
    const mt_tenant *tn = mt_module_tenant_c(m, t);
    fprintf(out, "tenant '%s' (%s, partition %s) {\n", mt_esc(tn->name), mt_esc(tn->model_path),
            mt_esc(tn->partition));
    dump_graph(m, tn->graph, 2, out);
    fputs("}\n", out);
  }
}
