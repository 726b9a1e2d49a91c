/* `mtcc compile --constant-input [TENANT:]NAME=FILE`: a graph input whose value is fixed for the
 * deployment (a Reshape shape, a TopK k, a Resize scale fed as an input) becomes a constant before
 * the pipeline runs, as an ahead-of-time compiler specialises on it (see compilation.h). */
#include <stdlib.h>
#include <string.h>

#include "driver/compilation.h"
#include "frontend/frontend.h"
#include "ir/ir.h"

/* The tenant a spec names and where its input name starts: "TENANT:NAME" when the text before a
 * ':' is a tenant, else NAME of the only tenant. */
MT_MUST_USE static mt_status *spec_tenant(const mt_module *m, const char *spec, size_t name_len,
                                          int32_t *out_tenant, size_t *out_skip) {
  for (const char *c = spec; c < spec + name_len; c++) {
    if (*c != ':') continue;
    char tenant[256];
    size_t n = (size_t)(c - spec);
    if (n >= sizeof tenant) break;
    memcpy(tenant, spec, n);
    tenant[n] = 0;
    int32_t t = mt_module_find_tenant(m, tenant);
    if (t >= 0) {
      *out_tenant = t;
      *out_skip = n + 1;
      return NULL;
    }
  }
  if (mt_module_tenant_count(m) != 1)
    return MT_ERR(INVALID_ARGUMENT,
                  "--constant-input '%s': name the tenant (TENANT:NAME=FILE); the workload has %d",
                  spec, (int)mt_module_tenant_count(m));
  *out_tenant = 0;
  *out_skip = 0;
  return NULL;
}

mt_status *mt_driver_bind_constant_inputs(mt_module *m, const char *const *specs, int n) {
  for (int i = 0; i < n; i++) {
    const char *spec = specs[i], *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
      return MT_ERR(INVALID_ARGUMENT, "--constant-input '%s': expected [TENANT:]NAME=FILE", spec);
    int32_t t = 0;
    size_t skip = 0;
    MT_RETURN_IF_ERROR_PLAIN(spec_tenant(m, spec, (size_t)(eq - spec), &t, &skip));
    const char *name = spec + skip;
    size_t name_len = (size_t)(eq - name);
    mt_graph *g = mt_module_tenant(m, t)->graph;
    int index = -1;
    for (int k = 0; k < g->n_inputs && index < 0; k++) {
      const char *vn = mt_module_value_c(m, g->inputs[k])->name;
      if (strlen(vn) == name_len && strncmp(vn, name, name_len) == 0) index = k;
    }
    if (index < 0)
      return MT_ERR(NOT_FOUND, "--constant-input '%s': tenant '%s' has no graph input '%.*s'", spec,
                    mt_module_tenant_c(m, t)->name, (int)name_len, name);
    mt_tensor value = {0};
    MT_RETURN_IF_ERROR(mt_tensor_file_read_limited(eq + 1, mt_module_memory_limit(m), &value, NULL),
                       "--constant-input '%s'", spec);
    mt_status *st = mt_graph_bind_input(m, g, index, &value);
    free(value.data);
    MT_RETURN_IF_ERROR(st, "--constant-input '%s': tenant '%s'", spec,
                       mt_module_tenant_c(m, t)->name);
  }
  return NULL;
}
