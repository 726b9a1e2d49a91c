/* The reference executor's entry point: check the given inputs against the model, then evaluate
 * the tenant's main graph with every op executed on the CPU kernels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/evaluator.h"
#include "ir/ir.h"
#include "runtime/base/escape.h"

/* Checks inputs against declared dtypes/shapes; symbolic dims must agree across inputs. */
MT_MUST_USE static mt_status *check_inputs(const mt_module *m, const mt_tenant *t,
                                           const mt_tensor *inputs) {
  const mt_graph *g = t->graph;
  for (int i = 0; i < g->n_inputs; i++) {
    const mt_value *val = mt_module_value_c(m, g->inputs[i]);
    const mt_tensor *in = &inputs[i];
    if (!in->data)
      return MT_ERR(INVALID_ARGUMENT, "tenant '%s': input '%s' was not given", t->name, val->name);
    if (val->dtype != MT_DTYPE_UNDEFINED && in->dtype != val->dtype)
      return MT_ERR(INVALID_ARGUMENT, "tenant '%s': input '%s' must be %s, got %s", t->name,
                    val->name, mt_dtype_name(val->dtype), mt_dtype_name(in->dtype));
    if (!mt_dtype_supported(in->dtype) && !mt_dtype_is_container(in->dtype))
      return MT_ERR(UNIMPLEMENTED, "tenant '%s': input '%s' has unsupported dtype %s", t->name,
                    val->name, mt_dtype_name(in->dtype));
    if (val->rank >= 0 && in->rank != val->rank)
      return MT_ERR(INVALID_ARGUMENT, "tenant '%s': input '%s' must have rank %d, got %d", t->name,
                    val->name, val->rank, in->rank);
    for (int d = 0; val->rank >= 0 && d < val->rank; d++) {
      if (val->dims[d] >= 0 && val->dim_params[d] == NULL && in->dims[d] != val->dims[d])
        return MT_ERR(INVALID_ARGUMENT, "tenant '%s': input '%s' dim %d must be %lld, got %lld",
                      t->name, val->name, d, (long long)val->dims[d], (long long)in->dims[d]);
      if (!val->dim_params[d]) continue;
      for (int j = 0; j < i; j++) { /* the same symbol must mean the same size */
        const mt_value *other = mt_module_value_c(m, g->inputs[j]);
        for (int e = 0; other->rank >= 0 && e < other->rank; e++)
          if (other->dim_params[e] && strcmp(other->dim_params[e], val->dim_params[d]) == 0 &&
              inputs[j].dims[e] != in->dims[d])
            return MT_ERR(INVALID_ARGUMENT,
                          "tenant '%s': dim '%s' is %lld in input '%s' but %lld in input '%s'",
                          t->name, val->dim_params[d], (long long)inputs[j].dims[e], other->name,
                          (long long)in->dims[d], val->name);
      }
    }
  }
  return NULL;
}

mt_status *mt_reference_run(const mt_module *m, int32_t tenant, const mt_tensor *inputs,
                            mt_tensor *outputs) {
  if (tenant < 0 || tenant >= mt_module_tenant_count(m))
    return MT_ERR(OUT_OF_RANGE, "tenant index %d out of range", tenant);
  const mt_tenant *t = mt_module_tenant_c(m, tenant);
  MT_RETURN_IF_ERROR_PLAIN(check_inputs(m, t, inputs));
  mt_eval *ev;
  MT_RETURN_IF_ERROR_PLAIN(mt_eval_create(m, true, &ev));
  for (int i = 0; i < t->graph->n_inputs; i++)
    mt_eval_set_input(ev, t->graph->inputs[i], &inputs[i]);
  mt_status *st = mt_eval_graph(ev, t->graph, outputs);
  mt_eval_destroy(ev);
  if (!st) {
    char who[2200];
    snprintf(who, sizeof who, "%s%stenant '%s'", mt_esc(t->model_path), *t->model_path ? ": " : "",
             mt_esc(t->name));
    st = mt_graph_check_declared_outputs(m, t->graph, outputs, who);
    if (st) /* the caller owns outputs only on success */
      for (int i = 0; i < t->graph->n_outputs; i++) {
        free(outputs[i].data);
        outputs[i].data = NULL;
      }
  }
  return st;
}
