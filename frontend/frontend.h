/* Frontend entry points: ONNX models, tenant manifests and tensor files into the shared IR.
 * Nothing here knows about passes, codegen or the runtime's bundle format. */
#ifndef MT_FRONTEND_H
#define MT_FRONTEND_H

#include "ir/module.h"

/* Imports the ONNX model at path as a new tenant named tenant_name. External data files are read
 * relative to the model's folder. Errors name the file and, where one is involved, the node.
 * On error the module may hold a partial tenant: discard the module. */
MT_MUST_USE mt_status *mt_onnx_import_file(mt_module *m, const char *path, const char *tenant_name,
                                           int32_t *out_tenant);
/* Same, from bytes already in memory (display_path is used in messages and for external data). */
MT_MUST_USE mt_status *mt_onnx_import_bytes(mt_module *m, const void *bytes, size_t len,
                                            const char *display_path, const char *tenant_name,
                                            int32_t *out_tenant);

/* A tenant name derived from a model path: the file's stem with characters outside
 * [A-Za-z0-9_.-] replaced by '_'. Writes at most cap bytes (NUL included). */
void mt_tenant_name_from_path(const char *path, char *out, size_t cap);

/* Tensor files: .npy (numpy format 1.0/2.0/3.0, little-endian, C order) and ONNX TensorProto .pb.
 * Writing a sequence/optional value (runtime/cpu/container.h) gives a SequenceProto/OptionalProto
 * .pb; it has no .npy form.
 * read: out->data is malloc'ed; *out_name (optional) receives the .pb tensor name or NULL (free it).
 * write: picks the format from the extension and writes atomically (temp file + rename). */
MT_MUST_USE mt_status *mt_tensor_file_read(const char *path, mt_tensor *out, char **out_name);
/* Same, under a memory budget (runtime/base/memory_limit.h; the plain form uses the machine's
 * default): the file must be a regular file, and neither it nor the tensor it declares may need
 * more than memory_limit bytes (RESOURCE_EXHAUSTED naming the path and the size). */
MT_MUST_USE mt_status *mt_tensor_file_read_limited(const char *path, size_t memory_limit,
                                                   mt_tensor *out, char **out_name);
/* Decodes .npy or .pb bytes already in memory; display_path names them in messages. */
MT_MUST_USE mt_status *mt_tensor_bytes_decode(const char *display_path, const void *bytes,
                                              size_t len, mt_tensor *out, char **out_name);
MT_MUST_USE mt_status *mt_tensor_bytes_decode_limited(const char *display_path, const void *bytes,
                                                      size_t len, size_t memory_limit,
                                                      mt_tensor *out, char **out_name);
/* A graph input or output value file: a tensor file as above when kind is a tensor dtype, an ONNX
 * SequenceProto (kind MT_DTYPE_SEQUENCE) or OptionalProto (MT_DTYPE_OPTIONAL) .pb otherwise,
 * decoded into a container value (runtime/cpu/container.h). */
MT_MUST_USE mt_status *mt_value_file_read_limited(const char *path, size_t memory_limit,
                                                  mt_dtype kind, mt_tensor *out, char **out_name);
MT_MUST_USE mt_status *mt_tensor_file_write(const char *path, const mt_tensor *t, const char *name);

#endif
