/* Sequence and optional values (ONNX's non-tensor types) for the reference executor.
 *
 * The executor moves values around as mt_tensor views that it copies with memcpy and frees with
 * free(). A container therefore travels as one flat, self-contained byte blob inside such a
 * view: dtype MT_DTYPE_SEQUENCE or MT_DTYPE_OPTIONAL, rank 1, dims[0] = the blob's size in bytes
 * (-1 while unknown during shape inference), so every path that copies, frees or budgets tensors
 * handles containers unchanged. The blob holds a header (element dtype, element count) and each
 * element as a serialized tensor (dtype, rank, dims, bytes, 8-byte aligned); an element that is
 * itself a container (a sequence inside an optional) is stored as its own blob.
 * An optional holds zero (None) or one element. Containers never reach a kernel: only the
 * sequence/optional ops and control flow (ir/ops/sequence.c, ir/ops/loop.c) look inside. */
#ifndef MT_CPU_CONTAINER_H
#define MT_CPU_CONTAINER_H

#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

/* The element views of a container blob, borrowed from it (they die with the blob). */
typedef struct mt_container {
  mt_dtype kind;      /* MT_DTYPE_SEQUENCE or MT_DTYPE_OPTIONAL */
  mt_dtype elem_type; /* element dtype (a container dtype for nested ones); UNDEFINED if unknown */
  int64_t count;
  mt_tensor *elems; /* malloc'ed array of count views; free with mt_container_free */
} mt_container;

/* Decodes t (a container value with data) into views, checking every size against the blob. */
MT_MUST_USE mt_status *mt_container_open(const mt_tensor *t, mt_container *out);
void mt_container_free(mt_container *c);
/* Builds a new container value: out->data is malloc'ed (the caller frees it), elements copied.
 * elems may hold container values (nested). */
MT_MUST_USE mt_status *mt_container_make(mt_dtype kind, mt_dtype elem_type, int64_t count,
                                         const mt_tensor *elems, mt_tensor *out);
/* An unknown container of that kind, for shape inference (no data, size -1). */
void mt_container_unknown(mt_dtype kind, mt_tensor *out);
/* A deep copy of any value (tensor or container) with malloc'ed data. */
MT_MUST_USE mt_status *mt_value_copy(const mt_tensor *t, mt_tensor *out);

#endif
