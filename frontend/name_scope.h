/* Name -> value lookup for one graph scope, chained to the enclosing scope (If branches read
 * outer-scope values by name). Keys are borrowed: they must outlive the scope. */
#ifndef MT_FRONTEND_NAME_SCOPE_H
#define MT_FRONTEND_NAME_SCOPE_H

#include "ir/module.h"

typedef struct mt_name_scope {
  const struct mt_name_scope *parent;
  const char **keys;
  mt_value_id *values;
  size_t capacity, count; /* capacity is a power of two */
} mt_name_scope;

void mt_name_scope_init(mt_name_scope *s, const mt_name_scope *parent);
void mt_name_scope_release(mt_name_scope *s);
/* Adds name; fails when the name is already defined in this scope (ONNX graphs are SSA). */
MT_MUST_USE mt_status *mt_name_scope_define(mt_name_scope *s, const char *name, mt_value_id v);
/* Looks the name up here, then in the enclosing scopes; MT_NO_VALUE when absent. */
mt_value_id mt_name_scope_find(const mt_name_scope *s, const char *name);
/* Looks the name up in this scope only. */
mt_value_id mt_name_scope_find_local(const mt_name_scope *s, const char *name);

#endif
