/* Open-addressing string map for graph scopes. */
#include "frontend/name_scope.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

void mt_name_scope_init(mt_name_scope *s, const mt_name_scope *parent) {
  memset(s, 0, sizeof *s);
  s->parent = parent;
}

void mt_name_scope_release(mt_name_scope *s) {
  free(s->keys);
  free(s->values);
  memset(s, 0, sizeof *s);
}

MT_MUST_USE static mt_status *grow(mt_name_scope *s) {
  size_t cap = s->capacity ? s->capacity * 2 : 64;
  const char **keys = calloc(cap, sizeof *keys);
  mt_value_id *values = calloc(cap, sizeof *values);
  if (!keys || !values) {
    free(keys);
    free(values);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (size_t i = 0; i < s->capacity; i++) {
    if (!s->keys[i]) continue;
    size_t j = hash_name(s->keys[i]) & (cap - 1);
    while (keys[j]) j = (j + 1) & (cap - 1);
    keys[j] = s->keys[i];
    values[j] = s->values[i];
  }
  free(s->keys);
  free(s->values);
  s->keys = keys;
  s->values = values;
  s->capacity = cap;
  return NULL;
}

mt_value_id mt_name_scope_find_local(const mt_name_scope *s, const char *name) {
  if (!s->capacity) return MT_NO_VALUE;
  for (size_t j = hash_name(name) & (s->capacity - 1); s->keys[j]; j = (j + 1) & (s->capacity - 1))
    if (strcmp(s->keys[j], name) == 0) return s->values[j];
  return MT_NO_VALUE;
}

mt_value_id mt_name_scope_find(const mt_name_scope *s, const char *name) {
  for (; s; s = s->parent) {
    mt_value_id v = mt_name_scope_find_local(s, name);
    if (v != MT_NO_VALUE) return v;
  }
  return MT_NO_VALUE;
}

mt_status *mt_name_scope_define(mt_name_scope *s, const char *name, mt_value_id v) {
  if (mt_name_scope_find_local(s, name) != MT_NO_VALUE)
    return MT_ERR(INVALID_ARGUMENT, "value '%s' is defined twice", name);
  if ((s->count + 1) * 2 > s->capacity) MT_RETURN_IF_ERROR_PLAIN(grow(s));
  size_t j = hash_name(name) & (s->capacity - 1);
  while (s->keys[j]) j = (j + 1) & (s->capacity - 1);
  s->keys[j] = name;
  s->values[j] = v;
  s->count++;
  return NULL;
}
