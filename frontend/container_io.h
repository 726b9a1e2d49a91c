/* Sequence/optional values as ONNX SequenceProto/OptionalProto bytes (frontend/container_io.c);
 * reading is declared in frontend.h (mt_value_file_read_limited). Internal to frontend/. */
#ifndef MT_FRONTEND_CONTAINER_IO_H
#define MT_FRONTEND_CONTAINER_IO_H

#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

/* Encodes container value t as a SequenceProto (MT_DTYPE_SEQUENCE) or OptionalProto named name
 * (NULL: unnamed); *out is malloc'ed. */
MT_MUST_USE mt_status *mt_container_encode_pb(const mt_tensor *t, const char *name,
                                              unsigned char **out, size_t *out_len);

#endif
