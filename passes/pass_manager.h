/* The pass pipeline: an ordered list of passes, the verifier after every one, and the options
 * behind `mtcc compile --dump-ir-after=PASS --disable-pass=PASS`.
 *
 * Graph passes (shape inference, folding, canonicalisation, DCE) rewrite the module; the pipeline
 * then builds a plan (one fused group per node) and plan passes (fusion, cost model, streams,
 * memory) refine it. Each pass lives in a file of its own under passes/. */
#ifndef MT_PASSES_PASS_MANAGER_H
#define MT_PASSES_PASS_MANAGER_H

#include <stdio.h>

#include "passes/cost_model.h"
#include "plan/plan.h"

/* A report line a graph pass leaves before the plan exists; moved into the plan when it is built
 * (a rewrite made -> mt_plan_note, one refused -> mt_plan_reject). */
typedef struct mt_pass_note {
  char *pass, *what, *reason;
  bool made;
} mt_pass_note;

typedef struct mt_pass_ctx {
  mt_module *module;
  mt_plan *plan; /* NULL during graph passes */
  const mt_arch_params *arch;
  const mt_partition_budget *budgets;
  int n_budgets;
  /* graph passes' report lines (mt_pass_note_add); the pipeline owns and frees them */
  int n_notes, cap_notes;
  mt_pass_note *notes;
} mt_pass_ctx;

/* Records a rewrite a graph pass made (made) or refused, with how / why (strings copied). */
MT_MUST_USE mt_status *mt_pass_note_add(mt_pass_ctx *ctx, const char *pass, bool made,
                                        const char *what, const char *reason);

typedef struct mt_pass {
  const char *name; /* as given to --dump-ir-after / --disable-pass */
  const char *summary;
  bool on_plan;  /* false: rewrites the module; true: refines the plan */
  bool required; /* cannot be disabled (later passes depend on what it computes) */
  mt_status *(*run)(mt_pass_ctx *ctx);
} mt_pass;

typedef struct mt_pipeline_options {
  const char *const *disabled; /* pass names to skip */
  int n_disabled;
  const char *dump_after; /* pass name, or NULL */
  FILE *dump_to;          /* where the dump goes (stdout when NULL) */
} mt_pipeline_options;

void mt_pipeline_options_init(mt_pipeline_options *o);
/* The passes in pipeline order; *out_count receives the count. */
const mt_pass *mt_pipeline_passes(int *out_count);
/* Runs the pipeline over ctx->module and leaves the scheduled plan in ctx->plan (caller destroys).
 * Unknown names in disabled/dump_after are errors, as is disabling a required pass. */
MT_MUST_USE mt_status *mt_pipeline_run(mt_pass_ctx *ctx, const mt_pipeline_options *opts);

/* The passes (one file each). */
MT_MUST_USE mt_status *mt_pass_infer_shapes(mt_pass_ctx *ctx);
MT_MUST_USE mt_status *mt_pass_fold_constants(mt_pass_ctx *ctx);
MT_MUST_USE mt_status *mt_pass_fold_qdq(mt_pass_ctx *ctx);
MT_MUST_USE mt_status *mt_pass_canonicalize(mt_pass_ctx *ctx);
MT_MUST_USE mt_status *mt_pass_dce(mt_pass_ctx *ctx);
MT_MUST_USE mt_status *mt_pass_fuse_vertical(mt_pass_ctx *ctx);
MT_MUST_USE mt_status *mt_pass_fuse_horizontal(mt_pass_ctx *ctx);
MT_MUST_USE mt_status *mt_pass_cost_model(mt_pass_ctx *ctx);
MT_MUST_USE mt_status *mt_pass_assign_streams(mt_pass_ctx *ctx);
MT_MUST_USE mt_status *mt_pass_plan_memory(mt_pass_ctx *ctx);

#endif
