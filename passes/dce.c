/* Pass placeholder: replaced by the pass's implementation (in progress). */
#include "passes/pass_manager.h"

mt_status *mt_pass_dce(mt_pass_ctx *ctx) { return NULL; }
