/* The GPU session's state, shared by runtime/gpu/gpu_session.c (creation, memory, launches) and
 * runtime/gpu/gpu_graph.c (turning graph descriptions into driver graphs). Private to
 * runtime/gpu. */
#ifndef MT_RUNTIME_GPU_GPU_INTERNAL_H
#define MT_RUNTIME_GPU_GPU_INTERNAL_H

#ifdef MTRT_HAVE_CUDA_H
#include "runtime/gpu/cuda_driver.h"
#include "runtime/gpu/gpu_blas.h"
#include "runtime/gpu/gpu_session.h"
#include "runtime/gpu/graph_plan.h"

typedef struct gpu_partition {
  CUgreenCtx green; /* NULL: soft budget */
  CUcontext ctx;    /* the green context as a CUcontext, or the primary context */
  CUstream *streams;
  int n_streams;
  CUstream launch; /* where this partition's piece of a split graph is launched */
  int granted, actual;
  bool hard;
  CUdeviceptr arena;
} gpu_partition;

/* One tenant input or output. */
typedef struct gpu_port {
  size_t nbytes;
  CUdeviceptr dev; /* inputs: the device buffer the plan reads */
  void *pinned;    /* host staging the graph copies from / to */
  const void *host_in;
  void *host_out;
  CUdeviceptr bound_dev; /* a device binding (0: host) */
  bool bound;
} gpu_port;

/* One instantiated graph: a single exec, or one piece per partition when the driver refused a
 * graph spanning green contexts. */
typedef struct gpu_exec {
  int n_pieces;
  CUgraphExec *execs;
  CUevent *starts;    /* per piece */
  CUevent *ends;      /* per tenant (NULL where the graph lacks the tenant) */
  int *end_piece;     /* per tenant: the piece holding END */
  CUevent *crossings; /* events of cross-partition edges */
  int n_crossings;
  CUgraphNode *in_nodes, *out_nodes; /* per flattened port (NULL: not in this graph) */
  int *in_piece, *out_piece;
  CUdeviceptr *in_src, *out_dst; /* what each copy node moves now (for updates) */
} gpu_exec;

struct mt_gpu_session {
  const mt_bundle *bundle;
  const mt_cu_api *cu;
  mt_gpu_options options;
  CUdevice dev;
  CUcontext primary;
  char arch[16];
  int cc_major, cc_minor;
  char name[32];
  char note[768];
  gpu_partition *parts;
  CUdeviceptr weights, scratch;
  CUlibrary *libs;           /* per module */
  CUkernel *kernels;         /* per module */
  mt_gpu_gemm_call ***gemms; /* per group, per step (NULL for launches) */
  /* per GPU body, per step (NULL for others): an If body's library calls, run on the stream of
   * the group holding the conditional and bound to its workspace */
  mt_gpu_gemm_call ***body_gemms;
  CUdeviceptr *workspaces; /* library-call workspaces, one per (partition, stream) with calls */
  int32_t n_workspaces;
  gpu_port **in, **out;                    /* per tenant, per port */
  size_t *in_base, *out_base, n_in, n_out; /* flattening of ports */
  mt_gpu_graph *round_desc;
  gpu_exec *round;         /* NULL until first used */
  gpu_exec **tenant_execs; /* per tenant, NULL until first used */
  int32_t *lane;           /* per tenant */
  CUstream *lane_streams;  /* per tenant (only lane leaders' entries are created) */
  CUstream round_stream;
  bool split_graphs; /* a graph spanning partitions was refused: per-partition pieces */
  int instantiations;
  /* in flight */
  gpu_exec **flight; /* per tenant: the exec that last launched it and has not completed */
  bool *pending;     /* batched window: tenants waiting for the window */
  double pending_since_us;
  double *time_us;
};

/* Device address of a buffer reference (0 for NONE). */
CUdeviceptr mt_gpu_resolve(void *session, const Mtbundle__BufferRef *r);

/* Instantiates the description d into *out (the session's contexts, kernels and buffers), split
 * per partition when the session has learned that the driver refuses spanning graphs. */
MT_MUST_USE mt_status *mt_gpu_exec_create(mt_gpu_session *g, const mt_gpu_graph *d, gpu_exec **out);
void mt_gpu_exec_destroy(mt_gpu_session *g, gpu_exec *e);
/* Points every copy node of e at the ports' current bindings by exec updates; *out_rebuild when
 * the driver refused one in place (e must then be instantiated again from its description). */
MT_MUST_USE mt_status *mt_gpu_exec_update_copies(mt_gpu_session *g, gpu_exec *e, bool *out_rebuild);
/* Launches every piece of e: one piece on `stream`, several on their partitions' streams. */
MT_MUST_USE mt_status *mt_gpu_exec_launch(mt_gpu_session *g, gpu_exec *e, CUstream stream);
#endif

#endif
