/* Pass placeholder: replaced by the pass's implementation (in progress). */
#include "passes/pass_manager.h"

mt_status *mt_pass_cost_model(mt_pass_ctx *ctx) { return NULL; }

double mt_cost_time_us(const mt_arch_params *a, const mt_cost *c, int sms) { return 0; }
