/* The bundle loader: validates a whole .mtbundle before anything runs from it. Order: container
 * (bounds, overlap, checksums), manifest parse, then every count, index, offset, type and kernel
 * parameter, so executors can trust what they index. Errors name the file and what is wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/checked_math.h"
#include "runtime/bundle/bundle.h"

/* Caps on counts no real bundle comes near: they keep hostile manifests from asking for huge
 * allocations in the session. */
#define MAX_ITEMS (1u << 24)
#define MAX_PORTS 65536u
#define MAX_NODE_IO 4096u
#define MAX_AREA ((uint64_t)1 << 40)

static bool type_bytes(const Mtbundle__TensorType *t, uint64_t *out) {
  if (!t || !mt_dtype_supported((mt_dtype)t->dtype) || t->n_dims > MT_MAX_RANK) return false;
  uint64_t n = 1; /* elements */
  for (size_t i = 0; i < t->n_dims; i++) {
    if (t->dims[i] < 0 || (uint64_t)t->dims[i] > MAX_AREA) return false;
    if (t->dims[i] && n > MAX_AREA / (uint64_t)t->dims[i]) return false;
    n *= (uint64_t)t->dims[i];
  }
  uint64_t bytes = mt_dtype_bytes((mt_dtype)t->dtype, (int64_t)n); /* packed types: rounded up */
  if (bytes > MAX_AREA) return false;
  *out = bytes;
  return true;
}

size_t mt_bundle_type_bytes(const Mtbundle__TensorType *t) {
  uint64_t n = 0;
  return type_bytes(t, &n) ? (size_t)n : 0;
}

bool mt_bundle_same_type(const Mtbundle__TensorType *a, const Mtbundle__TensorType *b) {
  if (a->dtype != b->dtype || a->n_dims != b->n_dims) return false;
  for (size_t i = 0; i < a->n_dims; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

/* One buffer reference: `writes` refuses references that would write into the file mapping. */
MT_MUST_USE static mt_status *check_ref(const Mtbundle__Manifest *m, const Mtbundle__BufferRef *r,
                                        bool writes, int32_t tenant, const char *what) {
  if (!r) return MT_ERR(DATA_LOSS, "%s: missing buffer reference", what);
  if (r->kind == MTBUNDLE__BUFFER_REF__KIND__NONE) return NULL;
  uint64_t nb;
  if (!type_bytes(r->type, &nb))
    return MT_ERR(DATA_LOSS, "%s: invalid tensor type (dtype, rank or dims)", what);
  switch (r->kind) {
  case MTBUNDLE__BUFFER_REF__KIND__CONSTANT:
    if (writes) return MT_ERR(DATA_LOSS, "%s: writes into a constant", what);
    if (r->index < 0 || (size_t)r->index >= m->n_constants)
      return MT_ERR(DATA_LOSS, "%s: constant index %d out of range (%zu constants)", what, r->index,
                    m->n_constants);
    if (!mt_bundle_same_type(r->type, m->constants[r->index]->type))
      return MT_ERR(DATA_LOSS, "%s: type differs from constant %d's", what, r->index);
    return NULL;
  case MTBUNDLE__BUFFER_REF__KIND__INPUT:
    if (writes) return MT_ERR(DATA_LOSS, "%s: writes into a graph input", what);
    if (r->tenant < 0 || (size_t)r->tenant >= m->n_tenants)
      return MT_ERR(DATA_LOSS, "%s: tenant index %d out of range", what, r->tenant);
    if (r->tenant != tenant)
      return MT_ERR(DATA_LOSS, "%s: reads an input of another tenant (%d)", what, r->tenant);
    if (r->index < 0 || (size_t)r->index >= m->tenants[r->tenant]->n_inputs)
      return MT_ERR(DATA_LOSS, "%s: input index %d out of range", what, r->index);
    if (!mt_bundle_same_type(r->type, m->tenants[r->tenant]->inputs[r->index]->type))
      return MT_ERR(DATA_LOSS, "%s: type differs from the input's", what);
    return NULL;
  case MTBUNDLE__BUFFER_REF__KIND__ARENA:
  case MTBUNDLE__BUFFER_REF__KIND__SCRATCH: {
    uint64_t limit = m->scratch_bytes;
    if (r->kind == MTBUNDLE__BUFFER_REF__KIND__ARENA) {
      if (r->partition < 0 || (size_t)r->partition >= m->n_partitions)
        return MT_ERR(DATA_LOSS, "%s: partition index %d out of range", what, r->partition);
      limit = m->partitions[r->partition]->arena_bytes;
    }
    if (r->size < nb)
      return MT_ERR(DATA_LOSS, "%s: buffer of %llu bytes holds a %llu-byte tensor", what,
                    (unsigned long long)r->size, (unsigned long long)nb);
    if (r->offset > limit || r->size > limit - r->offset)
      return MT_ERR(DATA_LOSS, "%s: buffer [%llu, +%llu) runs past the %s (%llu bytes)", what,
                    (unsigned long long)r->offset, (unsigned long long)r->size,
                    r->kind == MTBUNDLE__BUFFER_REF__KIND__ARENA ? "arena" : "scratch area",
                    (unsigned long long)limit);
    return NULL;
  }
  default: return MT_ERR(DATA_LOSS, "%s: unknown buffer kind %d", what, (int)r->kind);
  }
}

/* One node, scheduled or in a branch: kernel call or If (validate_if.c), tenant, buffers. */
MT_MUST_USE static mt_status *check_node(const Mtbundle__Manifest *m, const Mtbundle__Node *n,
                                         mt_kernel_call *call, size_t branch_limit, uint8_t *owned,
                                         uint8_t *depth, uint8_t *out_depth, const char *what) {
  *out_depth = 0;
  if (n->tenant < 0 || (size_t)n->tenant >= m->n_tenants)
    return MT_ERR(DATA_LOSS, "%s: tenant index %d out of range", what, n->tenant);
  if (n->n_inputs > MAX_NODE_IO || n->n_outputs > MAX_NODE_IO || n->n_outputs == 0)
    return MT_ERR(DATA_LOSS, "%s: %zu inputs and %zu outputs", what, n->n_inputs, n->n_outputs);
  if (n->if_branches || n->loop) {
    for (size_t k = 0; k < n->n_inputs; k++)
      MT_RETURN_IF_ERROR(check_ref(m, n->inputs[k], false, n->tenant, what), "input %zu", k);
    for (size_t k = 0; k < n->n_outputs; k++)
      MT_RETURN_IF_ERROR(check_ref(m, n->outputs[k], true, n->tenant, what), "output %zu", k);
    if (n->loop) return mt_bundle_check_loop(m, n, branch_limit, owned, depth, out_depth, what);
    return mt_bundle_check_if(m, n, branch_limit, owned, depth, out_depth, what);
  }
  if (n->kernel_kind == 0 || n->kernel_kind >= MT_KERNEL_COUNT)
    return MT_ERR(DATA_LOSS, "%s: kernel kind %u is out of range [1, %d)", what, n->kernel_kind,
                  MT_KERNEL_COUNT);
  /* their output sizes depend on the data, and no bundle consumer can take a bounded value yet */
  if (n->kernel_kind == MT_KERNEL_NMS || n->kernel_kind == MT_KERNEL_UNIQUE)
    return MT_ERR(UNIMPLEMENTED,
                  "%s: %s kernels (data-dependent sizes) are not run from bundles yet", what,
                  mt_kernel_kind_name((mt_kernel_kind)n->kernel_kind));
  mt_status *st = mt_kc_decode((mt_kernel_kind)n->kernel_kind, n->params.data, n->params.len, call);
  if (st) return mt_status_annotate(st, "%s", what);
  for (size_t k = 0; k < n->n_inputs; k++)
    MT_RETURN_IF_ERROR(check_ref(m, n->inputs[k], false, n->tenant, what), "input %zu", k);
  for (size_t k = 0; k < n->n_outputs; k++)
    MT_RETURN_IF_ERROR(check_ref(m, n->outputs[k], true, n->tenant, what), "output %zu", k);
  if (call->kind == MT_KERNEL_SPLIT && (size_t)call->params.split.n_outputs != n->n_outputs)
    return MT_ERR(DATA_LOSS, "%s: split sizes for %d outputs, node has %zu", what,
                  call->params.split.n_outputs, n->n_outputs);
  return mt_bundle_check_call(n, call);
}

/* Branch nodes first (each If among them names only earlier ones), then the schedule's. */
MT_MUST_USE static mt_status *check_nodes(mt_bundle *b, const char *f) {
  const Mtbundle__Manifest *m = b->manifest;
  char what[160];
  if (m->n_branch_nodes > MAX_ITEMS)
    return MT_ERR(DATA_LOSS, "%s: %zu branch nodes is out of range", f, m->n_branch_nodes);
  b->calls = calloc(m->n_nodes + 1, sizeof *b->calls);
  b->branch_calls = calloc(m->n_branch_nodes + 1, sizeof *b->branch_calls);
  uint8_t *owned = calloc(m->n_branch_nodes + 1, 1), *depth = calloc(m->n_branch_nodes + 1, 1);
  mt_status *st = b->calls && b->branch_calls && owned && depth
                      ? NULL
                      : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; !st && i < m->n_branch_nodes; i++) {
    const Mtbundle__Node *n = m->branch_nodes[i];
    snprintf(what, sizeof what, "%s: branch node %zu '%.60s'", f, i, n->name);
    st = check_node(m, n, &b->branch_calls[i], i, owned, depth, &depth[i], what);
  }
  for (size_t i = 0; !st && i < m->n_nodes; i++) {
    const Mtbundle__Node *n = m->nodes[i];
    uint8_t d;
    snprintf(what, sizeof what, "%s: node %zu '%.60s'", f, i, n->name);
    st = check_node(m, n, &b->calls[i], m->n_branch_nodes, owned, depth, &d, what);
  }
  free(owned);
  free(depth);
  return st;
}

MT_MUST_USE static mt_status *check_manifest(mt_bundle *b, const char *f) {
  const Mtbundle__Manifest *m = b->manifest;
  char what[160];
  if (m->kc_encoding_version != MT_KC_ENCODING_VERSION)
    return MT_ERR(UNIMPLEMENTED, "%s: kernel parameter encoding %u; this libmtrt reads %u", f,
                  m->kc_encoding_version, MT_KC_ENCODING_VERSION);
  if (m->n_tenants == 0 || m->n_tenants > MAX_PORTS || m->n_partitions == 0 ||
      m->n_partitions > MAX_PORTS || m->n_constants > MAX_ITEMS || m->n_groups > MAX_ITEMS ||
      m->n_nodes > MAX_ITEMS)
    return MT_ERR(DATA_LOSS,
                  "%s: counts out of range (%zu tenants, %zu partitions, %zu "
                  "constants, %zu groups, %zu nodes)",
                  f, m->n_tenants, m->n_partitions, m->n_constants, m->n_groups, m->n_nodes);
  if (m->scratch_bytes > MAX_AREA)
    return MT_ERR(DATA_LOSS, "%s: scratch area of %llu bytes is out of range", f,
                  (unsigned long long)m->scratch_bytes);
  for (size_t i = 0; i < m->n_partitions; i++) {
    const Mtbundle__Partition *p = m->partitions[i];
    if (p->arena_bytes > MAX_AREA)
      return MT_ERR(DATA_LOSS, "%s: partition %zu: arena of %llu bytes is out of range", f, i,
                    (unsigned long long)p->arena_bytes);
    for (size_t g = 0; g < p->n_grants; g++)
      if (p->grants[g]->sm_count < 0)
        return MT_ERR(DATA_LOSS, "%s: partition %zu: negative SM count", f, i);
  }
  for (size_t i = 0; i < m->n_constants; i++) {
    const Mtbundle__Constant *c = m->constants[i];
    uint64_t nb;
    if (!type_bytes(c->type, &nb) || nb != c->nbytes)
      return MT_ERR(DATA_LOSS, "%s: constant %zu: invalid type or byte count", f, i);
    if (c->offset % MT_BUNDLE_ALIGN || c->offset > b->weight_bytes ||
        c->nbytes > b->weight_bytes - c->offset)
      return MT_ERR(DATA_LOSS,
                    "%s: constant %zu: [%llu, +%llu) is misaligned or past the weights "
                    "section (%zu bytes)",
                    f, i, (unsigned long long)c->offset, (unsigned long long)c->nbytes,
                    b->weight_bytes);
  }
  for (size_t t = 0; t < m->n_tenants; t++) {
    const Mtbundle__Tenant *tn = m->tenants[t];
    if (tn->partition < 0 || (size_t)tn->partition >= m->n_partitions)
      return MT_ERR(DATA_LOSS, "%s: tenant %zu: partition index %d out of range", f, t,
                    tn->partition);
    if (tn->n_inputs > MAX_PORTS || tn->n_outputs > MAX_PORTS)
      return MT_ERR(DATA_LOSS, "%s: tenant %zu: too many ports", f, t);
    for (size_t i = 0; i < tn->n_inputs; i++) {
      uint64_t nb;
      if (!type_bytes(tn->inputs[i]->type, &nb))
        return MT_ERR(DATA_LOSS, "%s: tenant '%s' input %zu: invalid type", f, tn->name, i);
    }
  }
  /* outputs after all inputs: a source may name another tenant's input */
  for (size_t t = 0; t < m->n_tenants; t++) {
    const Mtbundle__Tenant *tn = m->tenants[t];
    for (size_t i = 0; i < tn->n_outputs; i++) {
      const Mtbundle__Port *p = tn->outputs[i];
      snprintf(what, sizeof what, "%s: tenant '%.40s' output '%.40s'", f, tn->name, p->name);
      uint64_t nb;
      if (!type_bytes(p->type, &nb)) return MT_ERR(DATA_LOSS, "%s: invalid type", what);
      MT_RETURN_IF_ERROR_PLAIN(check_ref(m, p->source, false, (int32_t)t, what));
      if (p->source->kind == MTBUNDLE__BUFFER_REF__KIND__NONE ||
          !mt_bundle_same_type(p->source->type, p->type))
        return MT_ERR(DATA_LOSS, "%s: its source is missing or of another type", what);
    }
  }
  uint64_t next = 0;
  for (size_t g = 0; g < m->n_groups; g++) {
    const Mtbundle__Group *gr = m->groups[g];
    if (gr->partition < 0 || (size_t)gr->partition >= m->n_partitions)
      return MT_ERR(DATA_LOSS, "%s: group %zu: partition index %d out of range", f, g,
                    gr->partition);
    if (gr->first_node != next || (uint64_t)gr->first_node + gr->n_nodes > m->n_nodes)
      return MT_ERR(DATA_LOSS, "%s: group %zu: nodes [%u, +%u) are not the next %s", f, g,
                    gr->first_node, gr->n_nodes, "nodes of the schedule");
    next = (uint64_t)gr->first_node + gr->n_nodes;
    if (gr->n_waits > MAX_PORTS) return MT_ERR(DATA_LOSS, "%s: group %zu: too many waits", f, g);
    for (size_t w = 0; w < gr->n_waits; w++)
      if (gr->waits[w] < 0 || (size_t)gr->waits[w] >= g)
        return MT_ERR(DATA_LOSS, "%s: group %zu waits on group %d, which is not an earlier one", f,
                      g, gr->waits[w]);
  }
  if (next != m->n_nodes)
    return MT_ERR(DATA_LOSS, "%s: groups cover %llu of %zu nodes", f, (unsigned long long)next,
                  m->n_nodes);
  return check_nodes(b, f);
}

mt_status *mt_bundle_load(mt_bundle *b, const char *what) {
  mt_bundle_section secs[MT_SECTION_KIND_COUNT];
  MT_RETURN_IF_ERROR_PLAIN(mt_bundle_parse_container(b->image, b->size, what, secs));
  b->weights = b->image + secs[MT_SECTION_WEIGHTS].offset;
  b->weight_bytes = (size_t)secs[MT_SECTION_WEIGHTS].size;
  b->code = secs[MT_SECTION_CODE].kind ? b->image + secs[MT_SECTION_CODE].offset : NULL;
  b->code_bytes = (size_t)secs[MT_SECTION_CODE].size;
  const mt_bundle_section *cs = &secs[MT_SECTION_CPU_CODE];
  b->cpu_code = cs->kind ? b->image + cs->offset : NULL;
  b->cpu_code_bytes = (size_t)cs->size;
  const mt_bundle_section *ms = &secs[MT_SECTION_MANIFEST];
  b->manifest = mtbundle__manifest__unpack(NULL, (size_t)ms->size, b->image + ms->offset);
  if (!b->manifest) return MT_ERR(DATA_LOSS, "%s: the manifest section does not parse", what);
  MT_RETURN_IF_ERROR_PLAIN(check_manifest(b, what));
  MT_RETURN_IF_ERROR_PLAIN(mt_bundle_validate_cpu(b, what));
  return mt_bundle_validate_gpu(b, what);
}

mt_status *mt_bundle_check_ref(const Mtbundle__Manifest *m, const Mtbundle__BufferRef *r,
                               bool writes, int32_t tenant, const char *what) {
  return check_ref(m, r, writes, tenant, what);
}

bool mt_bundle_is_identifier(const char *s, size_t max_len) {
  if (!s || !s[0] || strlen(s) > max_len) return false;
  for (size_t i = 0; s[i]; i++) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

mt_status *mt_bundle_check_groups(const Mtbundle__Manifest *m, size_t n_groups,
                                  mt_bundle_group_check check, const char *what) {
  /* which group last marked each tenant: one pass over the nodes for all groups */
  int64_t *group_of_tenant = malloc((m->n_tenants + 1) * sizeof *group_of_tenant);
  if (!group_of_tenant) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (size_t t = 0; t < m->n_tenants; t++) group_of_tenant[t] = -1;
  mt_status *st = NULL;
  for (size_t g = 0; !st && g < n_groups; g++) {
    const Mtbundle__Group *gr = m->groups[g];
    for (uint32_t i = 0; i < gr->n_nodes; i++)
      group_of_tenant[m->nodes[gr->first_node + i]->tenant] = (int64_t)g;
    st = check(m, g, group_of_tenant, what);
  }
  free(group_of_tenant);
  return st;
}

void mt_bundle_release(mt_bundle *b) {
  if (b->manifest) mtbundle__manifest__free_unpacked(b->manifest, NULL);
  free(b->calls);
  free(b->branch_calls);
  mt_file_unmap(&b->mapping);
  free(b->owned);
  memset(b, 0, sizeof *b);
}
