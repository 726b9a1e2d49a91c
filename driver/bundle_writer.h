/* The .mtbundle writer's shared state, for its two files: driver/bundle_writer.c (manifest, CPU
 * plan, weights, container) and driver/bundle_gpu.c (the GPU plan and the code section). Both
 * place buffers through one function (mt_bw_ref), so a GPU launch reads and writes exactly the
 * bytes the CPU node of the same value does. Nothing here is public. */
#ifndef MT_DRIVER_BUNDLE_WRITER_H
#define MT_DRIVER_BUNDLE_WRITER_H

#include <stdint.h>

#include "driver/compilation.h"
#include "runtime/bundle/mtbundle.pb-c.h"

typedef struct mt_bundle_writer {
  const mtcc_compilation *c;
  const mt_module *m;
  const mt_plan *p;
  void **allocs; /* everything the manifest points to, freed at the end */
  size_t n_allocs, cap_allocs;
  int32_t *buffer_of_value;
  int64_t *scratch_of_value;  /* scratch offset per value, -1: none yet */
  int32_t *constant_of_value; /* the constant a branch's Constant node outputs (bundle_if.c), -1 */
  uint64_t scratch_bytes;
  int32_t *constant_index; /* module constant -> bundle constant, -1 unused */
  Mtbundle__Constant **constants;
  size_t n_constants;
  uint64_t weight_bytes;
  uint8_t *code; /* the code section (bundle_gpu.c), code_bytes long; in allocs */
  uint64_t code_bytes;
  Mtbundle__Node **branch_nodes; /* Manifest.branch_nodes (bundle_if.c); in allocs */
  size_t n_branch_nodes, cap_branch_nodes;
  uint8_t *cpu_code; /* the CPU code section (bundle_cpu.c), cpu_code_bytes long; in allocs */
  uint64_t cpu_code_bytes;
} mt_bundle_writer;
typedef mt_bundle_writer writer;

/* Zeroed memory that lives until the writer is done (NULL when out of memory). */
void *mt_bw_alloc(writer *w, size_t size);
uint64_t mt_bw_align64(uint64_t v);

#define WNEW(w, ptr, init)                                                                         \
  do {                                                                                             \
    (ptr) = mt_bw_alloc(w, sizeof *(ptr));                                                         \
    if (!(ptr)) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");                                \
    init(ptr);                                                                                     \
  } while (0)
#define WARRAY(w, ptr, n)                                                                          \
  do {                                                                                             \
    (ptr) = mt_bw_alloc(w, sizeof *(ptr) * ((size_t)(n) + 1));                                     \
    if (!(ptr)) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");                                \
  } while (0)

/* Where value v lives at run time (constant, tenant input, arena buffer or scratch bytes of its
 * own); MT_NO_VALUE gives a NONE reference. */
MT_MUST_USE mt_status *mt_bw_ref(writer *w, mt_value_id v, Mtbundle__BufferRef **out);

/* Node `node` lowered to its kernel call and buffer references (an If: bundle_if.c). */
MT_MUST_USE mt_status *mt_bw_node(writer *w, int32_t node, Mtbundle__Node **out);
/* Fills bn (name and tenant set) for If node n: its condition and outputs, and both branches'
 * nodes appended to w->branch_nodes (Manifest.branch_nodes, IfBranches). */
MT_MUST_USE mt_status *mt_bw_if(writer *w, const mt_node *n, Mtbundle__Node *bn);
/* Appends subgraph g's computing nodes to w->branch_nodes as one range (*out_first, *out_count;
 * nested bodies go before it) and gives the references of its outputs (bundle_if.c). */
MT_MUST_USE mt_status *mt_bw_branch(writer *w, const mt_graph *g, const char *attr,
                                    uint32_t *out_first, uint32_t *out_count,
                                    Mtbundle__BufferRef ***out_refs);
/* The same for a Loop or Scan node n: its body's nodes and LoopBody (bundle_loop.c). */
MT_MUST_USE mt_status *mt_bw_loop(writer *w, const mt_node *n, Mtbundle__Node *bn);

/* The GPU plan (runtime/bundle/mtbundle.proto, Manifest fields 12-16) from the compilation's
 * codegen program and NVRTC results: code images into w->code, one module per distinct kernel
 * source, and gpu_groups parallel to mf->groups, whose group i is plan horizontal group
 * order[i]. Without NVRTC results it sets gpu_unavailable to why. Call after the CPU plan, so
 * the scratch offsets the CPU nodes use stay where they are. */
MT_MUST_USE mt_status *mt_bw_gpu(writer *w, Mtbundle__Manifest *mf, const int32_t *order);

/* The CPU code (Manifest fields 17-19) from the compilation's codegen/cpu program: objects into
 * w->cpu_code, cpu_groups parallel to mf->groups (group i is plan horizontal group order[i]), or
 * cpu_unavailable saying why there are none. Call after the CPU nodes are placed. */
MT_MUST_USE mt_status *mt_bw_cpu(writer *w, Mtbundle__Manifest *mf, const int32_t *order);

#endif
