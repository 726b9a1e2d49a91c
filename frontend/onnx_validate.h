/* Checks on an ONNX model that protobuf-c's unpack and the IR cannot make afterwards. */
#ifndef MT_FRONTEND_ONNX_VALIDATE_H
#define MT_FRONTEND_ONNX_VALIDATE_H

#include <stddef.h>

#include "runtime/base/status.h"

/* Refuses a NUL byte inside any string field (names, op types, domains, dim params...) of the
 * serialized ModelProto. protobuf-c hands strings over NUL-terminated, so "x\0y" would silently
 * become "x": two different names could collide, or a name could hide what follows. Walks the wire
 * format iteratively (no recursion, whatever the nesting); bytes that are not valid protobuf are
 * left to the unpacker to report. The caller adds the file's name to the message. */
MT_MUST_USE mt_status *mt_onnx_check_strings(const void *bytes, size_t len);

#endif
