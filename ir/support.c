/* Support check: which nodes use an op, op version, dtype or attribute form outside what mtcc
 * supports. Everything is listed at once so a user fixes a model in one round, not one error at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/op.h"
#include "ir/op_versions.h"

typedef struct problem_list {
  char *text;
  size_t len, cap;
  int count;
} problem_list;

static void add_problem(problem_list *p, const char *fmt, const char *a, const char *b,
                        const char *c) {
  char line[1024];
  int n = snprintf(line, sizeof line, fmt, a, b, c);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) n = (int)sizeof line - 1;
  if (p->len + (size_t)n + 3 > p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 1024;
    while (cap < p->len + (size_t)n + 3) cap *= 2;
    char *t = realloc(p->text, cap);
    if (!t) return;
    p->text = t;
    p->cap = cap;
  }
  if (p->count++) p->text[p->len++] = ';', p->text[p->len++] = ' ';
  memcpy(p->text + p->len, line, (size_t)n + 1);
  p->len += (size_t)n;
}

mt_status *mt_check_supported(const mt_module *m) {
  problem_list p = {0};
  for (int32_t k = 0; k < mt_module_node_count(m); k++) {
    const mt_node *n = mt_module_node_c(m, k);
    const char *tenant = mt_module_tenant_c(m, n->tenant)->name;
    const mt_op_def *op = n->def;
    if (!op) {
      add_problem(&p, "tenant '%s': node '%s': op %s is not supported", tenant, n->name,
                  n->op_type);
      continue;
    }
    if (n->opset <= 0) {
      add_problem(&p, "tenant '%s': node '%s': op %s: the model imports no opset for its domain",
                  tenant, n->name, n->op_type);
      continue;
    }
    int version; /* the schema version the opset selects must be one the registry implements */
    mt_status *vst = mt_op_version_check(n->op_type, n->opset, &version);
    if (vst) {
      add_problem(&p, "tenant '%s': node '%s': %s", tenant, n->name, mt_status_message(vst));
      mt_status_free(vst);
      continue;
    }
    const char *why = op->unsupported_reason ? op->unsupported_reason(n) : NULL;
    if (why) add_problem(&p, "tenant '%s': node '%s': %s", tenant, n->name, why);
  }
  for (int32_t v = 0; v < mt_module_value_count(m); v++) {
    const mt_value *val = mt_module_value_c(m, v);
    if (val->dtype != MT_DTYPE_UNDEFINED && !mt_dtype_supported(val->dtype) &&
        !mt_dtype_is_container(val->dtype))
      add_problem(&p, "tenant '%s': value '%s': dtype %s is not supported",
                  mt_module_tenant_c(m, val->tenant)->name, val->name, mt_dtype_name(val->dtype));
  }
  if (!p.count) return NULL;
  mt_status *st = MT_ERR(UNIMPLEMENTED, "%d unsupported: %s", p.count, p.text ? p.text : "");
  free(p.text);
  return st;
}
