/* The .mtbundle writer behind `mtcc compile -o`: turns the scheduled, memory-planned plan into
 * the manifest (runtime/bundle/mtbundle.proto) and the weights blob (the GPU plan and the code
 * section come from driver/bundle_gpu.c), lays out the container
 * (runtime/bundle/format.h) and writes it atomically. Every node is lowered to the same
 * mt_kernel_call the reference executor runs, so libmtrt's CPU path runs what was checked.
 * Deterministic: nothing depends on time, paths, addresses or hash order, so the same inputs
 * give the same bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/bundle_writer.h"
#include "ir/op.h"
#include "runtime/bundle/format.h"

#ifndef MTCC_VERSION_STRING
#define MTCC_VERSION_STRING "0.0.0"
#endif

void *mt_bw_alloc(writer *w, size_t size) {
  if (w->n_allocs == w->cap_allocs) {
    size_t ncap = w->cap_allocs ? w->cap_allocs * 2 : 1024;
    void **na = realloc(w->allocs, ncap * sizeof *na);
    if (!na) return NULL;
    w->allocs = na, w->cap_allocs = ncap;
  }
  void *p = calloc(1, size ? size : 1);
  if (p) w->allocs[w->n_allocs++] = p;
  return p;
}

uint64_t mt_bw_align64(uint64_t v) {
  return (v + MT_BUNDLE_ALIGN - 1) / MT_BUNDLE_ALIGN * MT_BUNDLE_ALIGN;
}

MT_MUST_USE static mt_status *make_type(writer *w, mt_dtype dtype, int rank, const int64_t *dims,
                                        const char *value, Mtbundle__TensorType **out) {
  const char *tenant_hint = value ? value : "?";
  if (rank < 0 || !mt_dtype_supported(dtype))
    return MT_ERR(UNIMPLEMENTED, "bundle: value '%s' has an unknown rank or unsupported dtype",
                  tenant_hint);
  for (int i = 0; i < rank; i++)
    if (dims[i] < 0)
      return MT_ERR(UNIMPLEMENTED,
                    "bundle: value '%s' has a dynamic shape (dim %d); bind it in the manifest",
                    tenant_hint, i);
  Mtbundle__TensorType *t;
  WNEW(w, t, mtbundle__tensor_type__init);
  t->dtype = (int32_t)dtype;
  t->n_dims = (size_t)rank;
  WARRAY(w, t->dims, rank);
  for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
  *out = t;
  return NULL;
}

static uint64_t value_bytes(const mt_value *v) {
  return mt_dtype_bytes(v->dtype, mt_shape_numel(v->rank, v->dims));
}

MT_MUST_USE static mt_status *constant_ref(writer *w, int32_t cid, int32_t *out) {
  if (w->constant_index[cid] < 0) {
    const mt_constant *k = mt_module_constant(w->m, cid);
    Mtbundle__Constant *bc;
    WNEW(w, bc, mtbundle__constant__init);
    MT_RETURN_IF_ERROR_PLAIN(make_type(w, k->dtype, k->rank, k->dims, "constant", &bc->type));
    w->weight_bytes = mt_bw_align64(w->weight_bytes);
    bc->offset = w->weight_bytes;
    bc->nbytes = k->nbytes;
    w->weight_bytes += k->nbytes;
    w->constant_index[cid] = (int32_t)w->n_constants;
    w->constants[w->n_constants++] = bc;
  }
  *out = w->constant_index[cid];
  return NULL;
}

/* Where value v lives at run time. */
mt_status *mt_bw_ref(writer *w, mt_value_id v, Mtbundle__BufferRef **out) {
  Mtbundle__BufferRef *r;
  WNEW(w, r, mtbundle__buffer_ref__init);
  *out = r;
  if (v == MT_NO_VALUE) return NULL;
  const mt_value *val = mt_module_value_c(w->m, v);
  int32_t cid = val->constant >= 0 ? val->constant : w->constant_of_value[v];
  if (cid >= 0) {
    r->kind = MTBUNDLE__BUFFER_REF__KIND__CONSTANT;
    MT_RETURN_IF_ERROR_PLAIN(constant_ref(w, cid, &r->index));
    const mt_constant *k = mt_module_constant(w->m, cid);
    return make_type(w, k->dtype, k->rank, k->dims, val->name, &r->type);
  }
  MT_RETURN_IF_ERROR_PLAIN(make_type(w, val->dtype, val->rank, val->dims, val->name, &r->type));
  const mt_graph *g = mt_module_tenant_c(w->m, val->tenant)->graph;
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] == v) {
      r->kind = MTBUNDLE__BUFFER_REF__KIND__INPUT;
      r->tenant = val->tenant;
      r->index = i;
      return NULL;
    }
  int32_t b = w->buffer_of_value[v];
  if (b >= 0) {
    const mt_buffer *buf = &w->p->buffers[b];
    r->kind = MTBUNDLE__BUFFER_REF__KIND__ARENA;
    r->partition = buf->partition;
    r->offset = buf->offset;
    r->size = buf->size;
    return NULL;
  }
  /* values the memory plan does not place (inside a fused group): their own scratch bytes */
  if (w->scratch_of_value[v] < 0) {
    w->scratch_bytes = mt_bw_align64(w->scratch_bytes);
    w->scratch_of_value[v] = (int64_t)w->scratch_bytes;
    w->scratch_bytes += value_bytes(val);
  }
  r->kind = MTBUNDLE__BUFFER_REF__KIND__SCRATCH;
  r->offset = (uint64_t)w->scratch_of_value[v];
  r->size = value_bytes(val);
  return NULL;
}

mt_status *mt_bw_node(writer *w, int32_t node, Mtbundle__Node **out) {
  const mt_node *n = mt_module_node_c(w->m, node);
  const mt_tenant *tn = mt_module_tenant_c(w->m, n->tenant);
  Mtbundle__Node *bn;
  WNEW(w, bn, mtbundle__node__init);
  bn->name = (char *)n->name;
  bn->tenant = n->tenant;
  /* If runs its branches from the bundle, Loop and Scan their body (other control flow is
   * refused below, by name) */
  if (mt_node_has_traits(n, MT_TRAIT_CONTROL_FLOW) && strcmp(n->op_type, "If") == 0) {
    MT_RETURN_IF_ERROR(mt_bw_if(w, n, bn), "bundle: tenant '%s': node '%s'", tn->name, n->name);
    *out = bn;
    return NULL;
  }
  if (mt_node_has_traits(n, MT_TRAIT_CONTROL_FLOW) &&
      (strcmp(n->op_type, "Loop") == 0 || strcmp(n->op_type, "Scan") == 0)) {
    MT_RETURN_IF_ERROR(mt_bw_loop(w, n, bn), "bundle: tenant '%s': node '%s' (%s)", tn->name,
                       n->name, n->op_type);
    *out = bn;
    return NULL;
  }
  mt_tensor *views;
  const mt_tensor **in;
  WARRAY(w, views, n->n_inputs);
  WARRAY(w, in, n->n_inputs);
  for (int i = 0; i < n->n_inputs; i++) {
    if (n->inputs[i] == MT_NO_VALUE) continue;
    const mt_value *v = mt_module_value_c(w->m, n->inputs[i]);
    views[i].dtype = v->dtype;
    views[i].rank = v->rank;
    memcpy(views[i].dims, v->dims, sizeof views[i].dims);
    if (v->constant >= 0) views[i].data = mt_module_constant(w->m, v->constant)->data;
    in[i] = &views[i];
  }
  /* named before lowering: the generic "does not lower" would not say why, nor that it is this
   * node that keeps the tenant (CPU plan and GPU code alike) out of the bundle */
  const char *why_not = mt_node_control_flow_reason(w->m, n);
  if (why_not)
    return MT_ERR(UNIMPLEMENTED,
                  "bundle: tenant '%s': node '%s' (%s) cannot be in a bundle yet (run it with "
                  "`mtcc run --reference`): %s",
                  tn->name, n->name, n->op_type, why_not);
  mt_kernel_call call;
  MT_RETURN_IF_ERROR(mt_node_lower(w->m, n, in, &call), "bundle: tenant '%s'", tn->name);
  bn->kernel_kind = (uint32_t)call.kind;
  uint8_t *params;
  size_t np;
  MT_RETURN_IF_ERROR(mt_kc_encode(&call, &params, &np), "tenant '%s': node '%s'", tn->name,
                     n->name);
  if (w->n_allocs == w->cap_allocs && !mt_bw_alloc(w, 1)) {
    free(params);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  w->allocs[w->n_allocs++] = params;
  bn->params.data = params;
  bn->params.len = np;
  bn->n_inputs = (size_t)n->n_inputs;
  bn->n_outputs = (size_t)n->n_outputs;
  WARRAY(w, bn->inputs, n->n_inputs);
  WARRAY(w, bn->outputs, n->n_outputs);
  for (int i = 0; i < n->n_inputs; i++)
    MT_RETURN_IF_ERROR(mt_bw_ref(w, n->inputs[i], &bn->inputs[i]), "tenant '%s': node '%s'",
                       tn->name, n->name);
  for (int i = 0; i < n->n_outputs; i++)
    MT_RETURN_IF_ERROR(mt_bw_ref(w, n->outputs[i], &bn->outputs[i]), "tenant '%s': node '%s'",
                       tn->name, n->name);
  *out = bn;
  return NULL;
}

/* Horizontal groups in schedule order: by partition, then position (as mt_plan_reference_run). */
static void sort_hgroups(const mt_plan *p, int32_t *order) {
  for (int i = 0; i < p->n_hgroups; i++) order[i] = i;
  for (int i = 1; i < p->n_hgroups; i++) {
    int32_t x = order[i];
    int j = i - 1;
    for (; j >= 0; j--) {
      const mt_horizontal_group *a = &p->hgroups[order[j]], *b = &p->hgroups[x];
      int pa = a->position >= 0 ? a->position : order[j], pb = b->position >= 0 ? b->position : x;
      bool greater = a->partition != b->partition ? a->partition > b->partition
                                                  : (pa != pb ? pa > pb : order[j] > x);
      if (!greater) break;
      order[j + 1] = order[j];
    }
    order[j + 1] = x;
  }
}

MT_MUST_USE static mt_status *build(writer *w, Mtbundle__Manifest *mf) {
  const mt_module *m = w->m;
  const mt_plan *p = w->p;
  mf->kc_encoding_version = MT_KC_ENCODING_VERSION;
  mf->mtcc_version = MTCC_VERSION_STRING;
  mf->target = (char *)w->c->arch.name;
  mf->n_archs = (size_t)w->c->n_archs;
  mf->archs = (char **)w->c->archs;
  int32_t nv = mt_module_value_count(m), nc = mt_module_constant_count(m);
  WARRAY(w, w->buffer_of_value, nv);
  WARRAY(w, w->scratch_of_value, nv);
  WARRAY(w, w->constant_of_value, nv);
  WARRAY(w, w->constant_index, nc);
  WARRAY(w, w->constants, nc);
  for (int32_t v = 0; v < nv; v++)
    w->buffer_of_value[v] = -1, w->scratch_of_value[v] = -1, w->constant_of_value[v] = -1;
  for (int32_t k = 0; k < nc; k++) w->constant_index[k] = -1;
  for (int b = 0; b < p->n_buffers; b++) w->buffer_of_value[p->buffers[b].value] = b;
  /* partitions, with the SMs each gets on every target arch */
  mf->n_partitions = (size_t)p->n_partitions;
  WARRAY(w, mf->partitions, p->n_partitions);
  mt_partition_plan *grant;
  WARRAY(w, grant, p->n_partitions);
  for (int i = 0; i < p->n_partitions; i++) {
    Mtbundle__Partition *bp;
    WNEW(w, bp, mtbundle__partition__init);
    bp->name = (char *)p->partitions[i].name;
    bp->sm_budget = p->partitions[i].sm_budget;
    bp->arena_bytes = p->partitions[i].arena_bytes;
    bp->n_streams = p->partitions[i].n_streams;
    bp->predicted_makespan_us = p->partitions[i].predicted_makespan_us;
    WARRAY(w, bp->grants, w->c->n_archs);
    mf->partitions[i] = bp;
  }
  for (int a = 0; a < w->c->n_archs; a++) {
    const mt_arch_params *arch = mt_arch_builtin(w->c->archs[a]);
    if (strcmp(w->c->archs[a], w->c->arch.name) == 0) arch = &w->c->arch;
    if (!arch) continue;
    memcpy(grant, p->partitions, sizeof *grant * (size_t)p->n_partitions);
    /* archs the manifest did not name are defaults its budgets were never checked against:
     * an arch the budgets do not fit gets no grant (the runtime cannot run the bundle there) */
    mt_status *gst = mt_partitions_assign(grant, p->n_partitions, arch);
    if (gst) {
      mt_status_free(gst);
      continue;
    }
    for (int i = 0; i < p->n_partitions; i++) {
      Mtbundle__ArchGrant *g;
      WNEW(w, g, mtbundle__arch_grant__init);
      g->arch = (char *)w->c->archs[a];
      g->sm_count = grant[i].sm_count;
      mf->partitions[i]->grants[mf->partitions[i]->n_grants++] = g;
    }
  }
  /* tenants: ports now, output sources after the nodes (so scratch offsets follow node order) */
  int32_t nt = mt_module_tenant_count(m);
  mf->n_tenants = (size_t)nt;
  WARRAY(w, mf->tenants, nt);
  for (int32_t t = 0; t < nt; t++) {
    const mt_tenant *tn = mt_module_tenant_c(m, t);
    Mtbundle__Tenant *bt;
    WNEW(w, bt, mtbundle__tenant__init);
    bt->name = (char *)tn->name;
    bt->partition = p->tenant_partition[t];
    bt->n_inputs = (size_t)tn->graph->n_inputs;
    bt->n_outputs = (size_t)tn->graph->n_outputs;
    WARRAY(w, bt->inputs, bt->n_inputs);
    WARRAY(w, bt->outputs, bt->n_outputs);
    for (int i = 0; i < tn->graph->n_inputs; i++) {
      const mt_value *v = mt_module_value_c(m, tn->graph->inputs[i]);
      Mtbundle__Port *port;
      WNEW(w, port, mtbundle__port__init);
      port->name = (char *)v->name;
      MT_RETURN_IF_ERROR(make_type(w, v->dtype, v->rank, v->dims, v->name, &port->type),
                         "tenant '%s'", tn->name);
      bt->inputs[i] = port;
    }
    mf->tenants[t] = bt;
  }
  for (int g = 0; g < p->n_groups; g++)
    mf->tenants[p->groups[g].tenant]->predicted_us += p->groups[g].cost.predicted_us;
  /* groups and nodes in schedule order */
  int32_t *order, *new_index;
  WARRAY(w, order, p->n_hgroups);
  WARRAY(w, new_index, p->n_hgroups);
  sort_hgroups(p, order);
  for (int i = 0; i < p->n_hgroups; i++) new_index[order[i]] = i;
  size_t total_nodes = 0;
  for (int g = 0; g < p->n_groups; g++) total_nodes += (size_t)p->groups[g].n_nodes;
  WARRAY(w, mf->nodes, total_nodes);
  mf->n_groups = (size_t)p->n_hgroups;
  WARRAY(w, mf->groups, p->n_hgroups);
  for (int i = 0; i < p->n_hgroups; i++) {
    const mt_horizontal_group *hg = &p->hgroups[order[i]];
    Mtbundle__Group *bg;
    WNEW(w, bg, mtbundle__group__init);
    bg->partition = hg->partition;
    bg->stream = hg->stream;
    bg->position = hg->position;
    bg->predicted_us = hg->cost.predicted_us;
    bg->kind = (char *)mt_hgroup_kind_name(hg->kind);
    bg->first_node = (uint32_t)mf->n_nodes;
    bg->n_waits = (size_t)hg->n_waits;
    WARRAY(w, bg->waits, hg->n_waits);
    for (int k = 0; k < hg->n_waits; k++) {
      bg->waits[k] = new_index[hg->waits[k]];
      if (bg->waits[k] >= i)
        return MT_ERR(INTERNAL, "bundle: horizontal group %d waits on a later group", order[i]);
    }
    for (int k = 0; k < hg->n_members; k++) {
      const mt_fused_group *fg = &p->groups[hg->members[k]];
      for (int j = 0; j < fg->n_nodes; j++) {
        const mt_node *n = mt_module_node_c(m, fg->nodes[j]);
        bool live = false;
        for (int o = 0; o < n->n_outputs; o++) live = live || n->outputs[o] != MT_NO_VALUE;
        if (!live) continue; /* computes nothing anyone can read (as the evaluator skips it) */
        MT_RETURN_IF_ERROR_PLAIN(mt_bw_node(w, fg->nodes[j], &mf->nodes[mf->n_nodes]));
        mf->n_nodes++;
      }
    }
    bg->n_nodes = (uint32_t)(mf->n_nodes - bg->first_node);
    mf->groups[i] = bg;
  }
  for (int32_t t = 0; t < nt; t++) {
    const mt_tenant *tn = mt_module_tenant_c(m, t);
    for (int i = 0; i < tn->graph->n_outputs; i++) {
      const mt_value *v = mt_module_value_c(m, tn->graph->outputs[i]);
      Mtbundle__Port *port;
      WNEW(w, port, mtbundle__port__init);
      port->name = (char *)v->name;
      MT_RETURN_IF_ERROR(mt_bw_ref(w, tn->graph->outputs[i], &port->source), "tenant '%s'",
                         tn->name);
      port->type = port->source->type;
      mf->tenants[t]->outputs[i] = port;
    }
  }
  MT_RETURN_IF_ERROR_PLAIN(mt_bw_gpu(w, mf, order));
  mf->n_branch_nodes = w->n_branch_nodes;
  mf->branch_nodes = w->branch_nodes;
  MT_RETURN_IF_ERROR_PLAIN(mt_bw_cpu(w, mf, order));
  mf->n_constants = w->n_constants;
  mf->constants = w->constants;
  mf->scratch_bytes = w->scratch_bytes;
  mf->weight_bytes = w->weight_bytes;
  return NULL;
}

MT_MUST_USE static mt_status *write_atomic(const char *path, const uint8_t *data, size_t size) {
  size_t n = strlen(path) + 16;
  char *tmp = malloc(n);
  if (!tmp) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  snprintf(tmp, n, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    mt_status *st = MT_ERR(INVALID_ARGUMENT, "%s: cannot create: %s", path, strerror(errno));
    free(tmp);
    return st;
  }
  /* mkstemp makes the file 0600; a bundle is meant to be shared like any build output */
  mode_t mask = umask(0);
  umask(mask);
  size_t done = 0;
  int err = fchmod(fd, 0666 & ~mask) != 0 ? errno : 0;
  while (done < size && !err) {
    ssize_t k = write(fd, data + done, size - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0)
      err = errno ? errno : EIO;
    else
      done += (size_t)k;
  }
  if (!err && fsync(fd) != 0) err = errno;
  if (close(fd) != 0 && !err) err = errno;
  if (!err && rename(tmp, path) != 0) err = errno;
  if (err) unlink(tmp);
  free(tmp);
  if (err) return MT_ERR(INVALID_ARGUMENT, "%s: cannot write the bundle: %s", path, strerror(err));
  return NULL;
}

mtcc_status *mtcc_compilation_write_bundle(const mtcc_compilation *c, const char *path) {
  writer w = {.c = c, .m = c->module, .p = c->plan};
  Mtbundle__Manifest mf;
  mtbundle__manifest__init(&mf);
  mt_status *st = build(&w, &mf);
  uint8_t *packed = NULL, *weights = NULL, *image = NULL;
  size_t image_size = 0, packed_size = 0;
  if (!st) {
    packed_size = mtbundle__manifest__get_packed_size(&mf);
    packed = malloc(packed_size ? packed_size : 1);
    weights = calloc(1, w.weight_bytes ? w.weight_bytes : 1);
    if (!packed || !weights) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  if (!st) {
    mtbundle__manifest__pack(&mf, packed);
    for (int32_t k = 0; k < mt_module_constant_count(w.m); k++)
      if (w.constant_index[k] >= 0) {
        const mt_constant *mk = mt_module_constant(w.m, k);
        memcpy(weights + w.constants[w.constant_index[k]]->offset, mk->data, mk->nbytes);
      }
    /* the code sections only when there is code: a plan-only bundle has two sections */
    mt_bundle_section secs[4] = {{.kind = MT_SECTION_MANIFEST, .size = packed_size},
                                 {.kind = MT_SECTION_WEIGHTS, .size = w.weight_bytes}};
    const void *data[4] = {packed, weights};
    int n_secs = 2;
    if (w.code_bytes) {
      secs[n_secs] = (mt_bundle_section){.kind = MT_SECTION_CODE, .size = w.code_bytes};
      data[n_secs++] = w.code;
    }
    if (w.cpu_code_bytes) {
      secs[n_secs] = (mt_bundle_section){.kind = MT_SECTION_CPU_CODE, .size = w.cpu_code_bytes};
      data[n_secs++] = w.cpu_code;
    }
    st = mt_bundle_build_image(secs, data, n_secs, &image, &image_size);
  }
  if (!st) st = write_atomic(path, image, image_size);
  for (size_t i = 0; i < w.n_allocs; i++) free(w.allocs[i]);
  free(w.allocs);
  free(packed);
  free(weights);
  free(image);
  return (mtcc_status *)st;
}
