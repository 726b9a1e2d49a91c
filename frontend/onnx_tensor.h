/* Decoding ONNX TensorProto messages (initializers, Constant attributes, .pb test data). */
#ifndef MT_FRONTEND_ONNX_TENSOR_H
#define MT_FRONTEND_ONNX_TENSOR_H

#include "onnx/onnx.pb-c.h"
#include "runtime/base/file.h"
#include "runtime/base/status.h"
#include "runtime/cpu/tensor.h"

/* Decodes tp into out: dtype, shape and densely packed little-endian data in a malloc'ed buffer
 * the caller frees (out->data is never NULL on success, even for zero elements). Data may be in
 * raw_data, the typed fields, or an external file; external paths are resolved against base_dir
 * and refused when they leave it (base_dir NULL refuses external data). Unsupported dtypes give
 * MT_UNIMPLEMENTED naming the dtype. A tensor over memory_limit bytes is refused with
 * RESOURCE_EXHAUSTED naming it and its size before anything is allocated. External data is read
 * through a read-only mapping of its (regular) file: with out_mapping non-NULL, out->data may
 * point into that mapping, which the caller then owns (out_mapping->base non-NULL or data
 * non-NULL; release it with mt_file_unmap instead of freeing out->data); mapped bytes are not
 * charged to memory_limit, since the file itself bounds them. */
MT_MUST_USE mt_status *mt_onnx_tensor_decode(const Onnx__TensorProto *tp, const char *base_dir,
                                             size_t memory_limit, mt_file_mapping *out_mapping,
                                             mt_tensor *out);

/* Densifies a SparseTensorProto (values + indices, linearised or coordinate form). */
MT_MUST_USE mt_status *mt_onnx_sparse_tensor_decode(const Onnx__SparseTensorProto *sp,
                                                    const char *base_dir, size_t memory_limit,
                                                    mt_tensor *out);

/* Fills tp (which the caller initialised with onnx__tensor_proto__init) to reference t's data as
 * raw_data; tp borrows t's data and dims, so t must outlive tp. dims_storage holds rank entries. */
void mt_onnx_tensor_encode(const mt_tensor *t, const char *name, int64_t *dims_storage,
                           Onnx__TensorProto *tp);
/* t as packed TensorProto bytes (name NULL: unnamed); *out is malloc'ed. */
MT_MUST_USE mt_status *mt_onnx_tensor_pack(const mt_tensor *t, const char *name,
                                           unsigned char **out, size_t *out_len);

#endif
