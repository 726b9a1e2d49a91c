/* A pre-check of an ONNX file's protobuf wire format, run before protobuf-c unpacks it.
 *
 * protobuf-c's unpack recurses once per nested message with no depth limit, so an If nested a
 * few thousand deep (a few hundred KB of file) overflows the stack before mtcc sees a single
 * node. This reader walks the bytes without allocating, follows only the fields of onnx.proto
 * that can nest without bound (graphs inside node attributes, types inside sequence/map/optional
 * types), and refuses nesting beyond the limits below and malformed framing (a truncated varint,
 * a length past the end of its message, an invalid wire type). Internal to frontend/. */
#ifndef MT_FRONTEND_ONNX_WIRE_H
#define MT_FRONTEND_ONNX_WIRE_H

#include <stddef.h>

#include "runtime/base/status.h"

/* Subgraph levels below a model's main graph (an If in the main graph has branches at level 1).
 * Exporters produce a handful; 64 leaves room and keeps every recursive walk's stack small. */
#define MT_ONNX_MAX_SUBGRAPH_DEPTH 64
/* Type levels inside one value type (a sequence of maps of ... tensors). */
#define MT_ONNX_MAX_TYPE_DEPTH 32

/* NULL when bytes[0..len) is well framed and within the limits; otherwise DATA_LOSS (framing)
 * or INVALID_ARGUMENT (nesting), with a message naming display_path and the byte offset. */
MT_MUST_USE mt_status *mt_onnx_wire_check(const void *bytes, size_t len, const char *display_path);

#endif
