/* The CUDA Graphs of a bundle as pure data: which nodes (copies, kernel launches, library calls,
 * events) and which dependency edges the GPU session instantiates, derived only from the
 * manifest's groups, streams, waits and GPU steps. Nothing here touches the driver, so the whole
 * derivation is unit-tested on machines without a GPU; runtime/gpu/gpu_graph.c turns a
 * description into driver graph nodes one for one.
 *
 * Edges (each node lists the earlier nodes it waits for; nodes are stored in a topological
 * order, every dependency has a smaller index):
 *   - the steps of one group run in order (on the group's stream);
 *   - stream order: a group's first step follows the last step of the previous group of the
 *     graph on the same (partition, stream);
 *   - waits: a group's first step follows the last step of each group it waits on (through
 *     groups left out of a per-tenant graph, transitively);
 *   - a step reading a tenant input follows that input's copy-in;
 *   - a tenant output's copy-out follows the last group of the tenant on every stream it uses
 *     (or the copy-in it forwards);
 *   - START (an event record: the round's clock) precedes every node that has no other
 *     dependency; END_t (an event record) follows every copy-out of tenant t, so END_t - START
 *     is tenant t's measured latency.
 *
 * A round graph holds every tenant; a per-tenant graph holds the groups that contain a node of
 * its tenant (a horizontal group shared with other tenants runs whole: its kernel computes every
 * member). Tenants whose graphs touch the same device bytes (a shared group, overlapping arena or
 * scratch ranges) share a "lane": their per-tenant graphs must not run concurrently.
 *
 * A conditional step (GpuConditional, an If) is two nodes: COND_SET, the launch that sets the
 * conditional handle from the condition buffer, then CONDITIONAL, a CUDA Graph IF node with two
 * bodies, each a graph description of its own (bodies[node.body] runs when the condition is
 * nonzero, bodies[node.body + 1] otherwise): the body's steps in a chain, nested conditionals
 * again as two nodes with bodies, an empty body as one JOIN. The CONDITIONAL node stands for
 * its bodies in the enclosing graph: it follows the copy-in of every input they read, and what
 * follows the group follows it. */
#ifndef MT_RUNTIME_GPU_GRAPH_PLAN_H
#define MT_RUNTIME_GPU_GRAPH_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/base/status.h"
#include "runtime/bundle/mtbundle.pb-c.h"

typedef enum mt_gpu_node_kind {
  MT_GPU_NODE_START,        /* event record: the round starts */
  MT_GPU_NODE_COPY_IN,      /* tenant input `port`: host staging (or bound device memory) in */
  MT_GPU_NODE_KERNEL,       /* Manifest.gpu_groups[group].steps[step], a GpuLaunch */
  MT_GPU_NODE_LIBCALL,      /* the same, a GpuLibCall (a captured child graph) */
  MT_GPU_NODE_JOIN,         /* an empty node for a group without steps (keeps its edges) */
  MT_GPU_NODE_COPY_OUT,     /* tenant output `port`: its source buffer out */
  MT_GPU_NODE_END,          /* event record: every output of `tenant` is out */
  MT_GPU_NODE_EVENT_RECORD, /* per-partition graphs: the source side of cross edge `event` */
  MT_GPU_NODE_EVENT_WAIT,   /* per-partition graphs: the target side of cross edge `event` */
  MT_GPU_NODE_COND_SET,     /* a GpuConditional's set launch (module set_module) */
  MT_GPU_NODE_CONDITIONAL,  /* a GpuConditional: IF node with bodies[body], bodies[body + 1] */
} mt_gpu_node_kind;

typedef struct mt_gpu_node {
  mt_gpu_node_kind kind;
  int32_t tenant;             /* COPY_IN, COPY_OUT, END; else -1 */
  int32_t port;               /* COPY_IN / COPY_OUT: the input / output index; else -1 */
  int32_t group;              /* KERNEL, LIBCALL, JOIN: index into Manifest.groups; else -1 */
  int32_t step;               /* KERNEL, LIBCALL, COND_SET, CONDITIONAL: index into the steps of
                               * the graph's scope (mt_gpu_graph_step); else -1 */
  int32_t partition;          /* where it executes (the group's, or the tenant's partition) */
  int32_t stream;             /* the plan's stream within the partition; -1 for copies and events */
  int32_t event;              /* EVENT_RECORD / EVENT_WAIT: the cross-partition edge; else -1 */
  int32_t body;               /* CONDITIONAL: its then body in the graph's bodies; else -1 */
  uint32_t first_dep, n_deps; /* its dependencies: deps[first_dep, +n_deps) */
} mt_gpu_node;

typedef struct mt_gpu_graph {
  int32_t tenant;    /* -1: the round graph (every tenant) */
  int32_t partition; /* -1: spans partitions; else a per-partition piece of a split */
  size_t n_nodes;
  mt_gpu_node *nodes;
  size_t n_deps;
  uint32_t *deps;   /* node indices */
  int32_t n_events; /* cross-partition edges of a split (shared by its pieces) */
  int32_t scope;    /* -1: steps index the groups' GPU steps; else a body: Manifest.gpu_bodies */
  size_t n_bodies;
  struct mt_gpu_graph **bodies; /* the conditional nodes' bodies, owned (then, else pairs) */
} mt_gpu_graph;

/* Builds the graph of tenant (-1: the round graph) from a validated manifest. UNAVAILABLE when
 * the bundle has no GPU plan or a group it needs has none (the message names the group and the
 * reason the bundle gives); DATA_LOSS for GPU fields that index outside the manifest (bodies
 * included: out of range, used twice, or nested more than MT_GPU_MAX_COND_DEPTH deep). *out is
 * the caller's (mt_gpu_graph_free, which frees the bodies too). */
MT_MUST_USE mt_status *mt_gpu_graph_build(const Mtbundle__Manifest *m, int32_t tenant,
                                          mt_gpu_graph **out);

/* How deep conditional steps may nest (each level is one body graph inside another). */
#define MT_GPU_MAX_COND_DEPTH 16

/* The manifest step node n of graph g stands for (KERNEL, LIBCALL, COND_SET, CONDITIONAL). */
const Mtbundle__GpuStep *mt_gpu_graph_step(const Mtbundle__Manifest *m, const mt_gpu_graph *g,
                                           const mt_gpu_node *n);

/* Splits g into one graph per partition (out: n_partitions graphs, each the caller's): every
 * node goes to its partition's graph, each piece gets its own START, and an edge between
 * partitions becomes EVENT_RECORD in the source piece and EVENT_WAIT in the target piece (the
 * session launches the pieces together on their partitions' streams). UNIMPLEMENTED for a graph
 * with conditional nodes (their bodies are not split). */
MT_MUST_USE mt_status *mt_gpu_graph_split(const mt_gpu_graph *g, int32_t n_partitions,
                                          mt_gpu_graph **out);

void mt_gpu_graph_free(mt_gpu_graph *g);

/* Lanes for per-tenant graphs: out_lane[t] (n_tenants entries) is the smallest tenant index of
 * t's lane; tenants of one lane share a shared group or device bytes that one of them writes. */
MT_MUST_USE mt_status *mt_gpu_graph_lanes(const Mtbundle__Manifest *m, int32_t *out_lane);

/* Whether node a reaches node b through dependencies (tests and checks; O(nodes + edges)). */
int mt_gpu_graph_reaches(const mt_gpu_graph *g, uint32_t a, uint32_t b);

/* "kernel", "copy-in", ... */
const char *mt_gpu_node_kind_name(mt_gpu_node_kind k);

#endif
