/* A validated bundle in memory: the loader's output and what libmtrt's sessions execute. Built
 * only by mt_bundle_load, which checks every field first, so executors index without checks. */
#ifndef MT_RUNTIME_BUNDLE_BUNDLE_H
#define MT_RUNTIME_BUNDLE_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/base/file.h"
#include "runtime/bundle/format.h"
#include "runtime/bundle/mtbundle.pb-c.h"
#include "runtime/cpu/kernel_call.h"

typedef struct mt_bundle {
  mt_file_mapping mapping; /* the file (mtrt_bundle_open) */
  uint8_t *owned;          /* or a private copy (mtrt_bundle_open_memory) */
  const uint8_t *image;
  size_t size;
  const uint8_t *weights; /* the weights section (64-byte aligned in the file) */
  size_t weight_bytes;
  const uint8_t *code; /* the code section (cubins, PTX; Manifest.code_images), or NULL */
  size_t code_bytes;
  const uint8_t *cpu_code; /* the CPU-code section (Manifest.cpu_objects), or NULL */
  size_t cpu_code_bytes;
  Mtbundle__Manifest *manifest;
  mt_kernel_call *calls;        /* per manifest node, decoded */
  mt_kernel_call *branch_calls; /* per branch node (If branches), decoded */
} mt_bundle;

/* How deep If, Loop and Scan nodes may nest in a bundle (body walks recurse this deep at most). */
#define MT_BUNDLE_MAX_IF_DEPTH 16

/* Validates image (size bytes; `what` names it in errors) completely and fills *b (whose mapping
 * / owned fields the caller set). On error *b holds nothing to free beyond mt_bundle_release. */
MT_MUST_USE mt_status *mt_bundle_load(mt_bundle *b, const char *what);
/* Checks a node's decoded kernel call against the types of its (already validated) buffers, so
 * that no parameter can make a CPU kernel read or write outside them (validate_calls.c). */
MT_MUST_USE mt_status *mt_bundle_check_call(const Mtbundle__Node *n, const mt_kernel_call *call);
/* The checks of If node n (validate_if.c), whose branch ranges must lie below `limit` (a branch
 * node's own index; the branch-node count for a scheduled node). owned[k] marks branch node k as
 * claimed by a range (a second claim is refused); depth[k] is the nesting depth below branch node
 * k (0 for a kernel), *out_depth n's. Its condition, outputs and results must already be valid
 * references except the results, checked here. */
MT_MUST_USE mt_status *mt_bundle_check_if(const Mtbundle__Manifest *m, const Mtbundle__Node *n,
                                          size_t limit, uint8_t *owned, uint8_t *depth,
                                          uint8_t *out_depth, const char *what);
/* The checks of Loop or Scan node n (validate_loop.c; n->loop set), like mt_bundle_check_if: its
 * body range below `limit`, owned and depth as there; its inputs and outputs must already be
 * valid references, its body's are checked here. */
MT_MUST_USE mt_status *mt_bundle_check_loop(const Mtbundle__Manifest *m, const Mtbundle__Node *n,
                                            size_t limit, uint8_t *owned, uint8_t *depth,
                                            uint8_t *out_depth, const char *what);
/* One body range of node n (validate_if.c): [first, first + count) below limit, every node of
 * n's tenant and unclaimed (marked in owned), *out_depth raised past the nodes' depths. */
MT_MUST_USE mt_status *mt_bundle_check_branch_range(const Mtbundle__Manifest *m,
                                                    const Mtbundle__Node *n, uint32_t first,
                                                    uint32_t count, size_t limit, uint8_t *owned,
                                                    const uint8_t *depth, uint8_t *out_depth,
                                                    const char *branch, const char *what);
/* Frees what mt_bundle_load allocated and the mapping or copy. */
void mt_bundle_release(mt_bundle *b);

/* The validated bundle behind a public handle (for in-tree tools such as `mtcc inspect`). */
struct mtrt_bundle;
const mt_bundle *mt_bundle_of(const struct mtrt_bundle *b);
/* The GPU session behind a public session handle, NULL on the CPU (in-tree GPU tests read its
 * instantiation count and the driver's memory figures through it). */
struct mtrt_session;
struct mt_gpu_session;
struct mt_gpu_session *mt_session_gpu(const struct mtrt_session *s);

/* Whether two tensor types have the same dtype and dims. */
bool mt_bundle_same_type(const Mtbundle__TensorType *a, const Mtbundle__TensorType *b);

/* Bytes of a validated tensor type. */
size_t mt_bundle_type_bytes(const Mtbundle__TensorType *t);

/* The loader's check of one buffer reference (kind, index, tenant, type, offset + size inside
 * its arena or the scratch area); `writes` refuses constants and graph inputs; an INPUT must be
 * one of `tenant`'s. For the other validators of the loader. */
MT_MUST_USE mt_status *mt_bundle_check_ref(const Mtbundle__Manifest *m,
                                           const Mtbundle__BufferRef *r, bool writes,
                                           int32_t tenant, const char *what);

/* Whether s is a C identifier of 1 to max_len bytes (GPU entries, CPU kernel symbols). */
bool mt_bundle_is_identifier(const char *s, size_t max_len);
/* For the validators of per-group code (GPU, CPU): calls check for groups 0 .. n_groups - 1 in
 * order, with group_of_tenant[t] == g exactly when tenant t has a node in group g (-1 or an
 * earlier group otherwise); returns the first error. */
typedef mt_status *(*mt_bundle_group_check)(const Mtbundle__Manifest *m, size_t g,
                                            const int64_t *group_of_tenant, const char *what);
MT_MUST_USE mt_status *mt_bundle_check_groups(const Mtbundle__Manifest *m, size_t n_groups,
                                              mt_bundle_group_check check, const char *what);

/* Validates the GPU plan (runtime/bundle/validate_gpu.c): code images inside the code section,
 * modules, launches, library calls and every buffer they name. Called by mt_bundle_load after
 * the CPU plan is checked; b->code must be set. */
MT_MUST_USE mt_status *mt_bundle_validate_gpu(const mt_bundle *b, const char *what);

/* The structure of the GPU plan's conditional steps (validate_gpu_cond.c): body indices, each
 * body owned by one conditional, bodies inside body b only before b, nesting at most
 * MT_BUNDLE_MAX_IF_DEPTH deep, set modules in range. Walks over bodies rely on it. */
MT_MUST_USE mt_status *mt_bundle_check_gpu_bodies(const Mtbundle__Manifest *m, const char *what);
/* Validates the CPU code (runtime/bundle/validate_cpu.c): objects inside the CPU-code section,
 * their ELF headers, targets and ABI version, and every kernel of Manifest.cpu_groups (symbol,
 * tenant, buffers). Called by mt_bundle_load after the CPU plan is checked; b->cpu_code must be
 * set. */
MT_MUST_USE mt_status *mt_bundle_validate_cpu(const mt_bundle *b, const char *what);

/* The bytes of code image `image` of a validated bundle, inside the bundle's mapping (lives
 * until the bundle is closed). OUT_OF_RANGE when there is no such image. Any thread. */
MT_MUST_USE mt_status *mt_bundle_code_image(const mt_bundle *b, uint32_t image,
                                            const uint8_t **out_data, size_t *out_size);

/* Which image of GPU module `module` a device of compute capability major.minor runs: the
 * cubin for exactly its arch, else the cubin of the same major version with the highest minor
 * not above the device's (binary compatible), else the PTX when its virtual arch is not above
 * the device's (*out_ptx: the driver JIT-compiles it). NOT_FOUND, naming the archs the bundle
 * has, when none fits. Any thread. */
MT_MUST_USE mt_status *mt_bundle_module_image(const mt_bundle *b, uint32_t module, int major,
                                              int minor, uint32_t *out_image, bool *out_ptx);

#endif
