/* Instantiating graph descriptions (runtime/gpu/graph_plan.h) through the driver: one driver node
 * per described node, in the description's (topological) order, with the explicit node API.
 * Kernel nodes name their partition's context (CUDA_KERNEL_NODE_PARAMS_v2.ctx with a CUkernel),
 * copies name it too, and library calls are captured on their partition's stream into a child
 * graph. Unverified on a GPU so far (docs/gpu-runtime.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/gpu/gpu_internal.h"

#ifdef MTRT_HAVE_CUDA_H

static CUDA_MEMCPY3D copy_params(CUdeviceptr dst_dev, void *dst_host, CUdeviceptr src_dev,
                                 const void *src_host, size_t n) {
  CUDA_MEMCPY3D c;
  memset(&c, 0, sizeof c);
  c.srcMemoryType = src_host ? CU_MEMORYTYPE_HOST : CU_MEMORYTYPE_DEVICE;
  c.srcHost = src_host;
  c.srcDevice = src_dev;
  c.dstMemoryType = dst_host ? CU_MEMORYTYPE_HOST : CU_MEMORYTYPE_DEVICE;
  c.dstHost = dst_host;
  c.dstDevice = dst_dev;
  /* one row: pitches and heights as for a 1 x 1 x n box, which every driver accepts */
  c.srcPitch = c.dstPitch = n;
  c.srcHeight = c.dstHeight = 1;
  c.WidthInBytes = n;
  c.Height = 1;
  c.Depth = 1;
  return c;
}

/* The copy a port's node performs with its current binding. */
static CUDA_MEMCPY3D port_copy(const gpu_port *p, bool input, CUdeviceptr source) {
  if (input)
    return p->bound_dev ? copy_params(p->dev, NULL, p->bound_dev, NULL, p->nbytes)
                        : copy_params(p->dev, NULL, 0, p->pinned, p->nbytes);
  return p->bound_dev ? copy_params(p->bound_dev, NULL, source, NULL, p->nbytes)
                      : copy_params(0, p->pinned, source, NULL, p->nbytes);
}

typedef struct piece_build {
  CUgraph graph;
  CUgraphNode *nodes;              /* per described node */
  CUgraphConditionalHandle handle; /* of the last COND_SET, for the CONDITIONAL after it */
} piece_build;

MT_MUST_USE static mt_status *add_kernel(mt_gpu_session *g, CUgraph graph, const CUgraphNode *deps,
                                         size_t n_deps, const mt_gpu_graph *d, const mt_gpu_node *n,
                                         CUgraphNode *out) {
  const Mtbundle__GpuLaunch *l = mt_gpu_graph_step(g->bundle->manifest, d, n)->launch;
  CUdeviceptr *vals = calloc(l->n_args + 1, sizeof *vals);
  void **params = calloc(l->n_args + 1, sizeof *params);
  if (!vals || !params) {
    free(vals);
    free(params);
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (size_t a = 0; a < l->n_args; a++) {
    vals[a] = mt_gpu_resolve(g, l->args[a]);
    params[a] = &vals[a];
  }
  CUDA_KERNEL_NODE_PARAMS kp;
  memset(&kp, 0, sizeof kp);
  kp.kern = g->kernels[l->module];
  kp.ctx = g->parts[n->partition].ctx;
  kp.gridDimX = l->grid ? l->grid : 1;
  kp.gridDimY = kp.gridDimZ = 1;
  kp.blockDimX = l->block ? l->block : 1;
  kp.blockDimY = kp.blockDimZ = 1;
  kp.sharedMemBytes = l->dyn_smem;
  kp.kernelParams = params;
  mt_status *st = mt_cu_check(g->cu, g->cu->cuGraphAddKernelNode(out, graph, deps, n_deps, &kp),
                              "cuGraphAddKernelNode");
  free(vals);
  free(params);
  return st ? mt_status_annotate(st, "kernel '%s'", l->name) : NULL;
}

MT_MUST_USE static mt_status *add_libcall(mt_gpu_session *g, CUgraph graph, const CUgraphNode *deps,
                                          size_t n_deps, const mt_gpu_graph *d,
                                          const mt_gpu_node *n, CUgraphNode *out) {
  gpu_partition *p = &g->parts[n->partition];
  CUstream s = p->streams[n->stream >= 0 && n->stream < p->n_streams ? n->stream : 0];
  const mt_cu_api *cu = g->cu;
  MT_CU_TRY(cu, cuCtxSetCurrent(p->ctx));
  /* The call runs once outside any capture first, so the library loads its kernels and sets
   * itself up where nothing is being recorded (the data is the session's own arena, recomputed
   * by every round). Instantiation runs under the process-wide setup lock (gpu_session.c). */
  /* a body's call (an If branch) was prepared with the group holding the conditional */
  const mt_gpu_gemm_call *call =
      d->scope >= 0 ? (g->body_gemms[d->scope] ? g->body_gemms[d->scope][n->step] : NULL)
                    : (g->gemms[n->group] ? g->gemms[n->group][n->step] : NULL);
  if (!call)
    return MT_ERR(INTERNAL, "group %d step %d: library call not prepared", n->group, n->step);
  mt_status *st = mt_gpu_gemm_enqueue(call, s);
  if (!st) st = mt_cu_check(cu, cu->cuStreamSynchronize(s), "cuStreamSynchronize");
  CUgraph child = NULL;
  if (!st)
    st = mt_cu_check(cu, cu->cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                     "cuStreamBeginCapture");
  if (!st) {
    st = mt_gpu_gemm_enqueue(call, s);
    mt_status *end = mt_cu_check(cu, cu->cuStreamEndCapture(s, &child), "cuStreamEndCapture");
    if (!st)
      st = end;
    else
      mt_status_free(end);
  }
  if (!st)
    st = mt_cu_check(cu, cu->cuGraphAddChildGraphNode(out, graph, deps, n_deps, child),
                     "cuGraphAddChildGraphNode");
  if (child) cu->cuGraphDestroy(child);
  return st ? mt_status_annotate(st, "group %d library call", n->group) : NULL;
}

/* A conditional's set launch: creates the node's handle in this graph (the CONDITIONAL node
 * described next uses it) and a one-block kernel node calling cudaGraphSetConditional(handle,
 * condition != 0) on the device (generated code; module set_module). */
MT_MUST_USE static mt_status *add_cond_set(mt_gpu_session *g, piece_build *pb,
                                           const CUgraphNode *deps, size_t n_deps,
                                           const mt_gpu_graph *d, const mt_gpu_node *n,
                                           CUcontext ctx, CUgraphNode *out) {
  const mt_cu_api *cu = g->cu;
  if (!cu->has_conditional_nodes)
    return MT_ERR(UNAVAILABLE, "the CUDA driver has no CUDA Graph conditional nodes "
                               "(cuGraphConditionalHandleCreate): an If step cannot run on it");
  const Mtbundle__GpuConditional *c = mt_gpu_graph_step(g->bundle->manifest, d, n)->conditional;
  MT_CU_TRY(cu, cuGraphConditionalHandleCreate(&pb->handle, pb->graph, ctx, 0,
                                               CU_GRAPH_COND_ASSIGN_DEFAULT));
  CUdeviceptr cond = mt_gpu_resolve(g, c->condition);
  void *params[2] = {&pb->handle, &cond};
  CUDA_KERNEL_NODE_PARAMS kp;
  memset(&kp, 0, sizeof kp);
  kp.kern = g->kernels[c->set_module];
  kp.ctx = ctx;
  kp.gridDimX = kp.gridDimY = kp.gridDimZ = 1;
  kp.blockDimX = c->set_block;
  kp.blockDimY = kp.blockDimZ = 1;
  kp.kernelParams = params;
  return mt_cu_check(cu, cu->cuGraphAddKernelNode(out, pb->graph, deps, n_deps, &kp),
                     "cuGraphAddKernelNode (conditional set)");
}

MT_MUST_USE static mt_status *add_node(mt_gpu_session *g, gpu_exec *e, int piece,
                                       const mt_gpu_graph *d, uint32_t v, piece_build *pb);

/* The IF node with both bodies: the driver creates the body graphs with the node, and each body's
 * description is added into its graph node for node (recursively for nested conditionals). */
MT_MUST_USE static mt_status *add_conditional(mt_gpu_session *g, gpu_exec *e, int piece,
                                              piece_build *pb, const CUgraphNode *deps,
                                              size_t n_deps, const mt_gpu_graph *d,
                                              const mt_gpu_node *n, CUcontext ctx,
                                              CUgraphNode *out) {
  const mt_cu_api *cu = g->cu;
  CUgraphNodeParams np;
  memset(&np, 0, sizeof np);
  np.type = CU_GRAPH_NODE_TYPE_CONDITIONAL;
  np.conditional.handle = pb->handle;
  np.conditional.type = CU_GRAPH_COND_TYPE_IF;
  np.conditional.size = 2; /* then and else bodies */
  np.conditional.ctx = ctx;
  MT_CU_TRY(cu, cuGraphAddNode(out, pb->graph, deps, NULL, n_deps, &np));
  for (int k = 0; k < 2; k++) {
    const mt_gpu_graph *body = d->bodies[n->body + k];
    piece_build sub = {.graph = np.conditional.phGraph_out[k],
                       .nodes = calloc(body->n_nodes + 1, sizeof *sub.nodes)};
    if (!sub.nodes) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    mt_status *st = NULL;
    for (size_t v = 0; !st && v < body->n_nodes; v++)
      st = add_node(g, e, piece, body, (uint32_t)v, &sub);
    free(sub.nodes);
    if (st) return mt_status_annotate(st, "%s body", k ? "else" : "then");
  }
  return NULL;
}

MT_MUST_USE static mt_status *add_node(mt_gpu_session *g, gpu_exec *e, int piece,
                                       const mt_gpu_graph *d, uint32_t v, piece_build *pb) {
  const mt_gpu_node *n = &d->nodes[v];
  const mt_cu_api *cu = g->cu;
  CUgraphNode deps[64], *dp = deps;
  if (n->n_deps > 64 && !(dp = malloc(n->n_deps * sizeof *dp)))
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (uint32_t k = 0; k < n->n_deps; k++) dp[k] = pb->nodes[d->deps[n->first_dep + k]];
  CUgraphNode *out = &pb->nodes[v];
  CUcontext ctx = n->partition >= 0 ? g->parts[n->partition].ctx : g->primary;
  const Mtbundle__Manifest *m = g->bundle->manifest;
  mt_status *st = NULL;
  switch (n->kind) {
  case MT_GPU_NODE_START:
    st = mt_cu_check(cu,
                     cu->cuGraphAddEventRecordNode(out, pb->graph, dp, n->n_deps, e->starts[piece]),
                     "cuGraphAddEventRecordNode");
    break;
  case MT_GPU_NODE_END:
    e->end_piece[n->tenant] = piece;
    st = mt_cu_check(
        cu, cu->cuGraphAddEventRecordNode(out, pb->graph, dp, n->n_deps, e->ends[n->tenant]),
        "cuGraphAddEventRecordNode");
    break;
  case MT_GPU_NODE_EVENT_RECORD:
    st = mt_cu_check(
        cu, cu->cuGraphAddEventRecordNode(out, pb->graph, dp, n->n_deps, e->crossings[n->event]),
        "cuGraphAddEventRecordNode");
    break;
  case MT_GPU_NODE_EVENT_WAIT:
    st = mt_cu_check(
        cu, cu->cuGraphAddEventWaitNode(out, pb->graph, dp, n->n_deps, e->crossings[n->event]),
        "cuGraphAddEventWaitNode");
    break;
  case MT_GPU_NODE_COPY_IN:
  case MT_GPU_NODE_COPY_OUT: {
    bool input = n->kind == MT_GPU_NODE_COPY_IN;
    size_t flat = (input ? g->in_base : g->out_base)[n->tenant] + (size_t)n->port;
    gpu_port *p = input ? &g->in[n->tenant][n->port] : &g->out[n->tenant][n->port];
    CUdeviceptr src =
        input ? 0 : mt_gpu_resolve(g, m->tenants[n->tenant]->outputs[n->port]->source);
    if (p->nbytes == 0) {
      st = mt_cu_check(cu, cu->cuGraphAddEmptyNode(out, pb->graph, dp, n->n_deps),
                       "cuGraphAddEmptyNode");
      break;
    }
    CUDA_MEMCPY3D c = port_copy(p, input, src);
    st = mt_cu_check(cu, cu->cuGraphAddMemcpyNode(out, pb->graph, dp, n->n_deps, &c, ctx),
                     "cuGraphAddMemcpyNode");
    if (input) {
      e->in_nodes[flat] = *out;
      e->in_piece[flat] = piece;
      e->in_src[flat] = p->bound_dev;
    } else {
      e->out_nodes[flat] = *out;
      e->out_piece[flat] = piece;
      e->out_dst[flat] = p->bound_dev;
    }
    break;
  }
  case MT_GPU_NODE_KERNEL: st = add_kernel(g, pb->graph, dp, n->n_deps, d, n, out); break;
  case MT_GPU_NODE_LIBCALL: st = add_libcall(g, pb->graph, dp, n->n_deps, d, n, out); break;
  case MT_GPU_NODE_COND_SET: st = add_cond_set(g, pb, dp, n->n_deps, d, n, ctx, out); break;
  case MT_GPU_NODE_CONDITIONAL:
    st = add_conditional(g, e, piece, pb, dp, n->n_deps, d, n, ctx, out);
    break;
  case MT_GPU_NODE_JOIN:
    st = mt_cu_check(cu, cu->cuGraphAddEmptyNode(out, pb->graph, dp, n->n_deps),
                     "cuGraphAddEmptyNode");
    break;
  }
  if (dp != deps) free(dp);
  return st ? mt_status_annotate(st, "graph node %u (%s)", v, mt_gpu_node_kind_name(n->kind))
            : NULL;
}

MT_MUST_USE static mt_status *build_piece(mt_gpu_session *g, gpu_exec *e, int piece,
                                          const mt_gpu_graph *d) {
  const mt_cu_api *cu = g->cu;
  piece_build pb = {.nodes = calloc(d->n_nodes + 1, sizeof *pb.nodes)};
  if (!pb.nodes) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = mt_cu_check(cu, cu->cuCtxSetCurrent(g->primary), "cuCtxSetCurrent");
  if (!st) st = mt_cu_check(cu, cu->cuGraphCreate(&pb.graph, 0), "cuGraphCreate");
  for (size_t v = 0; !st && v < d->n_nodes; v++) st = add_node(g, e, piece, d, (uint32_t)v, &pb);
  if (!st) st = mt_cu_check(cu, cu->cuCtxSetCurrent(g->primary), "cuCtxSetCurrent");
  if (!st)
    st = mt_cu_check(cu, cu->cuGraphInstantiate(&e->execs[piece], pb.graph, 0),
                     "cuGraphInstantiate");
  if (pb.graph) cu->cuGraphDestroy(pb.graph);
  free(pb.nodes);
  return st;
}

void mt_gpu_exec_destroy(mt_gpu_session *g, gpu_exec *e) {
  if (!e) return;
  const mt_cu_api *cu = g->cu;
  size_t nt = g->bundle->manifest->n_tenants;
  for (int p = 0; e->execs && p < e->n_pieces; p++) {
    if (e->execs[p]) cu->cuGraphExecDestroy(e->execs[p]);
    if (e->starts && e->starts[p]) cu->cuEventDestroy(e->starts[p]);
  }
  for (size_t t = 0; e->ends && t < nt; t++)
    if (e->ends[t]) cu->cuEventDestroy(e->ends[t]);
  for (int i = 0; e->crossings && i < e->n_crossings; i++)
    if (e->crossings[i]) cu->cuEventDestroy(e->crossings[i]);
  free(e->execs);
  free(e->starts);
  free(e->ends);
  free(e->end_piece);
  free(e->crossings);
  free(e->in_nodes);
  free(e->out_nodes);
  free(e->in_piece);
  free(e->out_piece);
  free(e->in_src);
  free(e->out_dst);
  free(e);
}

MT_MUST_USE static mt_status *exec_alloc(mt_gpu_session *g, int pieces, int crossings,
                                         const mt_gpu_graph *const *d, gpu_exec **out) {
  size_t nt = g->bundle->manifest->n_tenants;
  gpu_exec *e = calloc(1, sizeof *e);
  *out = e;
  if (!e) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  e->n_pieces = pieces;
  e->n_crossings = crossings;
  e->execs = calloc((size_t)pieces, sizeof *e->execs);
  e->starts = calloc((size_t)pieces, sizeof *e->starts);
  e->ends = calloc(nt, sizeof *e->ends);
  e->end_piece = calloc(nt, sizeof *e->end_piece);
  e->crossings = calloc((size_t)crossings + 1, sizeof *e->crossings);
  e->in_nodes = calloc(g->n_in + 1, sizeof *e->in_nodes);
  e->out_nodes = calloc(g->n_out + 1, sizeof *e->out_nodes);
  e->in_piece = calloc(g->n_in + 1, sizeof *e->in_piece);
  e->out_piece = calloc(g->n_out + 1, sizeof *e->out_piece);
  e->in_src = calloc(g->n_in + 1, sizeof *e->in_src);
  e->out_dst = calloc(g->n_out + 1, sizeof *e->out_dst);
  if (!e->execs || !e->starts || !e->ends || !e->end_piece || !e->crossings || !e->in_nodes ||
      !e->out_nodes || !e->in_piece || !e->out_piece || !e->in_src || !e->out_dst)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  const mt_cu_api *cu = g->cu;
  MT_CU_TRY(cu, cuCtxSetCurrent(g->primary));
  for (int p = 0; p < pieces; p++) MT_CU_TRY(cu, cuEventCreate(&e->starts[p], CU_EVENT_DEFAULT));
  for (int i = 0; i < crossings; i++)
    MT_CU_TRY(cu, cuEventCreate(&e->crossings[i], CU_EVENT_DISABLE_TIMING));
  for (int p = 0; p < pieces; p++)
    for (size_t v = 0; v < d[p]->n_nodes; v++)
      if (d[p]->nodes[v].kind == MT_GPU_NODE_END && !e->ends[d[p]->nodes[v].tenant])
        MT_CU_TRY(cu, cuEventCreate(&e->ends[d[p]->nodes[v].tenant], CU_EVENT_DEFAULT));
  return NULL;
}

MT_MUST_USE static mt_status *create_pieces(mt_gpu_session *g, const mt_gpu_graph *const *d,
                                            int pieces, gpu_exec **out) {
  *out = NULL;
  gpu_exec *e = NULL;
  mt_status *st = exec_alloc(g, pieces, pieces > 1 ? d[0]->n_events : 0, d, &e);
  for (int p = 0; !st && p < pieces; p++) st = build_piece(g, e, p, d[p]);
  if (st) {
    mt_gpu_exec_destroy(g, e);
    return st;
  }
  g->instantiations++;
  *out = e;
  return NULL;
}

mt_status *mt_gpu_exec_create(mt_gpu_session *g, const mt_gpu_graph *d, gpu_exec **out) {
  int np = (int)g->bundle->manifest->n_partitions;
  if (!g->split_graphs) {
    mt_status *st = create_pieces(g, &d, 1, out);
    if (!st || np == 1) return st;
    /* One graph over several green contexts is what the design wants; a driver that refuses it
     * gets one graph per partition, and the session note says so. */
    size_t len = strlen(g->note);
    snprintf(g->note + len, sizeof g->note - len,
             "; one graph per partition (the driver refused one graph across partitions: %.160s)",
             mt_status_message(st));
    mt_status_free(st);
    g->split_graphs = true;
  }
  mt_gpu_graph **pieces = calloc((size_t)np, sizeof *pieces);
  if (!pieces) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  mt_status *st = mt_gpu_graph_split(d, np, pieces);
  if (!st) st = create_pieces(g, (const mt_gpu_graph *const *)pieces, np, out);
  for (int p = 0; p < np; p++) mt_gpu_graph_free(pieces[p]);
  free(pieces);
  return st;
}

/* Points one copy node at its port's binding; *refused when the driver will not change the node
 * in place (on an H200 with driver 580, switching a node between host and device memory is
 * CUDA_ERROR_INVALID_VALUE). */
MT_MUST_USE static mt_status *update_copy(mt_gpu_session *g, CUgraphExec exec, CUgraphNode node,
                                          const CUDA_MEMCPY3D *c, CUcontext ctx, bool *refused) {
  CUresult r = g->cu->cuGraphExecMemcpyNodeSetParams(exec, node, c, ctx);
  if (r == CUDA_ERROR_INVALID_VALUE) {
    *refused = true;
    return NULL;
  }
  return mt_cu_check(g->cu, r, "cuGraphExecMemcpyNodeSetParams");
}

mt_status *mt_gpu_exec_update_copies(mt_gpu_session *g, gpu_exec *e, bool *out_rebuild) {
  const Mtbundle__Manifest *m = g->bundle->manifest;
  *out_rebuild = false;
  for (size_t t = 0; t < m->n_tenants && !*out_rebuild; t++) {
    CUcontext ctx = g->parts[m->tenants[t]->partition].ctx;
    for (size_t i = 0; i < m->tenants[t]->n_inputs && !*out_rebuild; i++) {
      size_t f = g->in_base[t] + i;
      gpu_port *p = &g->in[t][i];
      if (!e->in_nodes[f] || e->in_src[f] == p->bound_dev || !p->nbytes) continue;
      CUDA_MEMCPY3D c = port_copy(p, true, 0);
      MT_RETURN_IF_ERROR_PLAIN(
          update_copy(g, e->execs[e->in_piece[f]], e->in_nodes[f], &c, ctx, out_rebuild));
      e->in_src[f] = p->bound_dev;
    }
    for (size_t o = 0; o < m->tenants[t]->n_outputs && !*out_rebuild; o++) {
      size_t f = g->out_base[t] + o;
      gpu_port *p = &g->out[t][o];
      if (!e->out_nodes[f] || e->out_dst[f] == p->bound_dev || !p->nbytes) continue;
      CUDA_MEMCPY3D c = port_copy(p, false, mt_gpu_resolve(g, m->tenants[t]->outputs[o]->source));
      MT_RETURN_IF_ERROR_PLAIN(
          update_copy(g, e->execs[e->out_piece[f]], e->out_nodes[f], &c, ctx, out_rebuild));
      e->out_dst[f] = p->bound_dev;
    }
  }
  return NULL;
}

mt_status *mt_gpu_exec_launch(mt_gpu_session *g, gpu_exec *e, CUstream stream) {
  if (e->n_pieces == 1) {
    MT_CU_TRY(g->cu, cuGraphLaunch(e->execs[0], stream));
    return NULL;
  }
  for (int p = 0; p < e->n_pieces; p++)
    MT_CU_TRY(g->cu, cuGraphLaunch(e->execs[p], g->parts[p].launch));
  return NULL;
}

#endif
