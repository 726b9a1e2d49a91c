/* A validated bundle in memory: the loader's output and what libmtrt's sessions execute. Built
 * only by mt_bundle_load, which checks every field first, so executors index without checks. */
#ifndef MT_RUNTIME_BUNDLE_BUNDLE_H
#define MT_RUNTIME_BUNDLE_BUNDLE_H

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
  Mtbundle__Manifest *manifest;
  mt_kernel_call *calls; /* per manifest node, decoded */
} mt_bundle;

/* Validates image (size bytes; `what` names it in errors) completely and fills *b (whose mapping
 * / owned fields the caller set). On error *b holds nothing to free beyond mt_bundle_release. */
MT_MUST_USE mt_status *mt_bundle_load(mt_bundle *b, const char *what);
/* Checks a node's decoded kernel call against the types of its (already validated) buffers, so
 * that no parameter can make a CPU kernel read or write outside them (validate_calls.c). */
MT_MUST_USE mt_status *mt_bundle_check_call(const Mtbundle__Node *n, const mt_kernel_call *call);
/* Frees what mt_bundle_load allocated and the mapping or copy. */
void mt_bundle_release(mt_bundle *b);

/* The validated bundle behind a public handle (for in-tree tools such as `mtcc inspect`). */
struct mtrt_bundle;
const mt_bundle *mt_bundle_of(const struct mtrt_bundle *b);

/* Bytes of a validated tensor type. */
size_t mt_bundle_type_bytes(const Mtbundle__TensorType *t);

#endif
