/* ir/ entry header: module analyses that the CLI and later passes call.
 * (The module itself is in ir/module.h; op semantics in ir/op.h.) */
#ifndef MT_IR_H
#define MT_IR_H

#include <stdio.h>

#include "ir/module.h"

/* Static shape inference over every tenant. Input shapes start from the model's declarations,
 * then each tenant's shape overrides and dim bindings apply; a dim that stays unknown is an error
 * naming tenant, input and dim. On success every value reachable in the main graphs has dtype and
 * static shape recorded in the module. */
MT_MUST_USE mt_status *mt_infer_shapes(mt_module *m);

/* True when every input dim of tenant t is fixed, bound by name or overridden, so that static
 * shape inference can run. */
bool mt_tenant_inputs_bound(const mt_module *m, int32_t t);

/* Checks the output tensors of graph g (shapes alone during inference, where a dim may be -1)
 * against the types the model declared for them: a different dtype or rank, or a fixed declared
 * dim that differs from a known one, is an error naming the output. Symbolic declared dims are not
 * compared (a bound batch size is expected to replace them). who: prefix for the message. */
MT_MUST_USE mt_status *mt_graph_check_declared_outputs(const mt_module *m, const mt_graph *g,
                                                       const mt_tensor *outputs, const char *who);

/* Checks that every node uses a supported op, dtype and attribute form. All problems are listed
 * in one status (one line per node, grouped by tenant). */
MT_MUST_USE mt_status *mt_check_supported(const mt_module *m);

/* Structural verifier: ids in range, SSA, topological order within scopes, tenants consistent. */
MT_MUST_USE mt_status *mt_verify_module(const mt_module *m);

/* Runs one tenant's main graph on the reference executor. inputs: one per graph input in
 * declaration order (data borrowed). outputs: one per graph output; data malloc'ed, caller frees.
 * Input dtypes and ranks must match the model; fixed dims must match; the same symbolic dim name
 * must get the same size across a tenant's inputs. */
MT_MUST_USE mt_status *mt_reference_run(const mt_module *m, int32_t tenant, const mt_tensor *inputs,
                                        mt_tensor *outputs);

/* Ahead-of-time specialisation on input values (ir/bind_inputs.c). need[i] (g->n_inputs entries)
 * is set for each graph input whose value shape inference or lowering ahead of time needs: one
 * that feeds an op's value_inputs (Reshape's shape, Slice's starts, TopK's k...) or
 * lower_value_inputs (Resize's roi) directly or through other nodes. */
void mt_graph_inputs_needed_at_compile_time(const mt_module *m, const mt_graph *g, bool *need);
/* Turns graph input `index` of g into a constant holding value's bytes (copied): the input leaves
 * g->inputs (later ones move up one place), as if the model had it as an initializer. The value
 * must have the input's dtype and rank and match its fixed dims. */
MT_MUST_USE mt_status *mt_graph_bind_input(mt_module *m, mt_graph *g, int index,
                                           const mt_tensor *value);

/* Readable text dump of the module (tenants, constants, nodes with attributes and shapes). */
void mt_dump_module(const mt_module *m, FILE *out);

#endif
