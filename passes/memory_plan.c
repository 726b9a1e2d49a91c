/* Pass placeholder: replaced by the pass's implementation (in progress). */
#include "passes/pass_manager.h"

mt_status *mt_pass_plan_memory(mt_pass_ctx *ctx) { return NULL; }

mt_status *mt_memory_plan_check(const mt_plan *p) { return NULL; }
