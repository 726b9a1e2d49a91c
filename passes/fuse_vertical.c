/* Pass placeholder: replaced by the pass's implementation (in progress). */
#include "passes/pass_manager.h"

mt_status *mt_pass_fuse_vertical(mt_pass_ctx *ctx) { return NULL; }
