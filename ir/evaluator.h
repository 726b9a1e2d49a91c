/* The graph evaluator behind both static shape inference and the reference executor.
 *
 * It walks a graph in order and, for each node, calls the op's infer (and, when values are
 * known, run). In inference mode values are known only for constants and what folds from them
 * and from shapes; in execution mode every value is known. Internal to ir/. */
#ifndef MT_IR_EVALUATOR_H
#define MT_IR_EVALUATOR_H

#include "ir/module.h"

typedef struct mt_eval mt_eval;

/* executing: run every op; otherwise infer shapes and fold values up to fold_limit elements. */
MT_MUST_USE mt_status *mt_eval_create(const mt_module *m, bool executing, mt_eval **out_eval);
void mt_eval_destroy(mt_eval *ev);
/* In inference mode, values of at most this many elements (per node, all outputs together) are
 * computed when their inputs are known; the default keeps to shape arithmetic (64K elements). */
void mt_eval_set_fold_limit(mt_eval *ev, int64_t elements);
/* Sets the value of a graph input (data borrowed; may be NULL in inference mode). */
void mt_eval_set_input(mt_eval *ev, mt_value_id v, const mt_tensor *t);
/* Evaluates g; outputs[i] receives a copy of output i (data malloc'ed, or NULL when unknown). */
MT_MUST_USE mt_status *mt_eval_graph(mt_eval *ev, const mt_graph *g, mt_tensor *outputs);
/* Evaluates one node whose inputs are already evaluated (plan-ordered execution). */
MT_MUST_USE mt_status *mt_eval_node(mt_eval *ev, int32_t node);
/* Optional placement: when set and it returns non-NULL for an output value, the executor writes
 * that output there (size bytes) instead of allocating, e.g. at a memory plan's arena offset. */
typedef void *(*mt_eval_placement_fn)(void *user, mt_value_id v, size_t size);
void mt_eval_set_placement(mt_eval *ev, mt_eval_placement_fn fn, void *user);
/* Frees what the evaluator computed for the values defined in g (node outputs, subgraphs included)
 * and forgets them, so that one evaluator serves tenant after tenant: creating one costs the
 * module's size, releasing a graph only that graph's. */
void mt_eval_release_graph(mt_eval *ev, const mt_graph *g);
/* The evaluated view of a value (dtype/shape; data when known). */
const mt_tensor *mt_eval_value(const mt_eval *ev, mt_value_id v);

#endif
