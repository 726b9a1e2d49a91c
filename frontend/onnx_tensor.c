/* TensorProto decoding: raw_data, typed fields, external data, sparse tensors. */
#include "frontend/onnx_tensor.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/base/checked_math.h"
#include "runtime/base/memory_limit.h"

/* Tensor names are optional in the protobuf: never hand printf a NULL. */
#define TNAME(tp) ((tp)->name ? (tp)->name : "")

MT_MUST_USE static mt_status *check_shape(const Onnx__TensorProto *tp, mt_tensor *out,
                                          size_t *out_count) {
  if (tp->n_dims > MT_MAX_RANK)
    return MT_ERR(UNIMPLEMENTED, "tensor '%s' has rank %zu (at most %d supported)", TNAME(tp),
                  tp->n_dims, MT_MAX_RANK);
  size_t count = 1;
  for (size_t i = 0; i < tp->n_dims; i++) {
    if (tp->dims[i] < 0)
      return MT_ERR(DATA_LOSS, "tensor '%s' has negative dim %lld", TNAME(tp),
                    (long long)tp->dims[i]);
    if (!mt_mul_size(count, (size_t)tp->dims[i], &count) || count > ((size_t)1 << 40))
      return MT_ERR(DATA_LOSS, "tensor '%s' is impossibly large", TNAME(tp));
    out->dims[i] = tp->dims[i];
  }
  out->rank = (int)tp->n_dims;
  *out_count = count;
  return NULL;
}

/* Resolves an external-data location under base_dir, refusing anything that leaves it. */
MT_MUST_USE static mt_status *resolve_external(const char *base_dir, const char *location,
                                               char **out_path) {
  if (!base_dir)
    return MT_ERR(INVALID_ARGUMENT, "external data '%s' without a model folder", location);
  if (location[0] == '/')
    return MT_ERR(INVALID_ARGUMENT,
                  "external data path '%s' is absolute; it must be relative to the model's folder",
                  location);
  char *joined = malloc(strlen(base_dir) + strlen(location) + 2);
  if (!joined) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  sprintf(joined, "%s/%s", base_dir, location);
  char real_base[PATH_MAX], real_file[PATH_MAX];
  if (!realpath(base_dir, real_base)) {
    free(joined);
    return MT_ERR(NOT_FOUND, "model folder '%s': %s", base_dir, strerror(errno));
  }
  if (!realpath(joined, real_file)) {
    mt_status *st = MT_ERR(NOT_FOUND, "external data file '%s': %s", joined, strerror(errno));
    free(joined);
    return st;
  }
  size_t n = strlen(real_base);
  if (strncmp(real_file, real_base, n) != 0 || (real_file[n] != '/' && real_file[n] != 0)) {
    mt_status *st =
        MT_ERR(INVALID_ARGUMENT, "external data path '%s' leaves the model's folder '%s'", location,
               base_dir);
    free(joined);
    return st;
  }
  *out_path = joined;
  return NULL;
}

/* Maps the tensor's bytes from its external file (checked to hold them: a tiny file cannot
 * declare a huge tensor); the caller owns *out and unmaps it. */
MT_MUST_USE static mt_status *map_external(const Onnx__TensorProto *tp, const char *base_dir,
                                           size_t nbytes, mt_file_mapping *out) {
  const char *location = NULL;
  long long offset = 0, length = -1;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[i];
    if (!e->key || !e->value) continue;
    char *end = NULL;
    if (strcmp(e->key, "location") == 0) {
      location = e->value;
      continue;
    }
    long long *field = strcmp(e->key, "offset") == 0   ? &offset
                       : strcmp(e->key, "length") == 0 ? &length
                                                       : NULL;
    if (!field) continue;
    errno = 0;
    *field = strtoll(e->value, &end, 10);
    if (errno || end == e->value || *end)
      return MT_ERR(DATA_LOSS, "tensor '%s': external data %s '%s' is not a number", TNAME(tp),
                    e->key, e->value);
  }
  if (!location || !*location)
    return MT_ERR(DATA_LOSS, "tensor '%s': external data without a location", TNAME(tp));
  if (offset < 0 || (length >= 0 && (size_t)length != nbytes))
    return MT_ERR(DATA_LOSS,
                  "tensor '%s': external data offset %lld / length %lld do not match %zu bytes",
                  TNAME(tp), offset, length, nbytes);
  char *path;
  MT_RETURN_IF_ERROR(resolve_external(base_dir, location, &path), "tensor '%s'", TNAME(tp));
  mt_status *st = mt_file_map(path, "external data", (size_t)offset, nbytes, out);
  free(path);
  if (st) return mt_status_annotate(st, "tensor '%s'", TNAME(tp));
  return NULL;
}

/* Copies a typed repeated field into packed storage of dtype, checking the element count. */
MT_MUST_USE static mt_status *decode_typed(const Onnx__TensorProto *tp, mt_dtype dtype,
                                           size_t count, void *dst) {
  switch (dtype) {
  case MT_DTYPE_FLOAT32:
    if (tp->n_float_data != count) break;
    memcpy(dst, tp->float_data, count * 4);
    return NULL;
  case MT_DTYPE_FLOAT64:
    if (tp->n_double_data != count) break;
    memcpy(dst, tp->double_data, count * 8);
    return NULL;
  case MT_DTYPE_INT64:
    if (tp->n_int64_data != count) break;
    memcpy(dst, tp->int64_data, count * 8);
    return NULL;
  case MT_DTYPE_INT32:
    if (tp->n_int32_data != count) break;
    memcpy(dst, tp->int32_data, count * 4);
    return NULL;
  case MT_DTYPE_INT8:
  case MT_DTYPE_UINT8:
  case MT_DTYPE_BOOL:
  case MT_DTYPE_FLOAT8E4M3FN: /* float8 bits live in the low 8 bits of int32_data */
  case MT_DTYPE_FLOAT8E4M3FNUZ:
  case MT_DTYPE_FLOAT8E5M2:
  case MT_DTYPE_FLOAT8E5M2FNUZ:
  case MT_DTYPE_FLOAT8E8M0:
    if (tp->n_int32_data != count) break;
    for (size_t i = 0; i < count; i++) ((uint8_t *)dst)[i] = (uint8_t)tp->int32_data[i];
    return NULL;
  case MT_DTYPE_INT4: /* packed types: one packed byte per int32_data value, as in raw_data */
  case MT_DTYPE_UINT4:
  case MT_DTYPE_FLOAT4E2M1:
  case MT_DTYPE_INT2:
  case MT_DTYPE_UINT2: {
    size_t nbytes = mt_dtype_bytes(dtype, (int64_t)count);
    if (tp->n_int32_data != nbytes) break;
    for (size_t i = 0; i < nbytes; i++) ((uint8_t *)dst)[i] = (uint8_t)tp->int32_data[i];
    return NULL;
  }
  case MT_DTYPE_INT16:
    if (tp->n_int32_data != count) break;
    for (size_t i = 0; i < count; i++) ((int16_t *)dst)[i] = (int16_t)tp->int32_data[i];
    return NULL;
  case MT_DTYPE_UINT16:
    if (tp->n_int32_data != count) break;
    for (size_t i = 0; i < count; i++) ((uint16_t *)dst)[i] = (uint16_t)tp->int32_data[i];
    return NULL;
  case MT_DTYPE_UINT32: /* uint32 and uint64 live in uint64_data */
    if (tp->n_uint64_data != count) break;
    for (size_t i = 0; i < count; i++) ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i];
    return NULL;
  case MT_DTYPE_UINT64:
    if (tp->n_uint64_data != count) break;
    memcpy(dst, tp->uint64_data, count * 8);
    return NULL;
  case MT_DTYPE_FLOAT16: /* the bits of each half live in the low 16 bits of int32_data */
  case MT_DTYPE_BFLOAT16:
    if (tp->n_int32_data != count) break;
    for (size_t i = 0; i < count; i++) ((uint16_t *)dst)[i] = (uint16_t)tp->int32_data[i];
    return NULL;
  default:
    return MT_ERR(UNIMPLEMENTED, "tensor '%s': dtype %s is not supported", TNAME(tp),
                  mt_dtype_name(dtype));
  }
  return MT_ERR(DATA_LOSS,
                "tensor '%s': expected %zu elements of %s, the typed field holds a different count",
                TNAME(tp), count, mt_dtype_name(dtype));
}

mt_status *mt_onnx_tensor_decode(const Onnx__TensorProto *tp, const char *base_dir,
                                 size_t memory_limit, mt_file_mapping *out_mapping,
                                 mt_tensor *out) {
  if (out_mapping) memset(out_mapping, 0, sizeof *out_mapping);
  memset(out, 0, sizeof *out);
  mt_dtype dtype = (mt_dtype)tp->data_type;
  if (!mt_dtype_supported(dtype))
    return MT_ERR(UNIMPLEMENTED, "tensor '%s': dtype %s is not supported", TNAME(tp),
                  mt_dtype_name(dtype));
  size_t count = 0, nbytes;
  MT_RETURN_IF_ERROR_PLAIN(check_shape(tp, out, &count));
  if (!mt_mul_size(count, (size_t)(mt_dtype_bits(dtype) + 7) / 8, &nbytes))
    return MT_ERR(DATA_LOSS, "tensor '%s' is impossibly large", TNAME(tp));
  nbytes = mt_dtype_bytes(dtype, (int64_t)count); /* packed types: ceil(count * bits / 8) */
  bool external =
      tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  /* Bool data is normalised in place below, so it cannot stay in a read-only mapping. */
  if (external && out_mapping && dtype != MT_DTYPE_BOOL) {
    MT_RETURN_IF_ERROR_PLAIN(map_external(tp, base_dir, nbytes, out_mapping));
    out->dtype = dtype;
    out->data = (void *)out_mapping->data;
    return NULL;
  }
  if (nbytes > memory_limit) {
    char need[32], lim[32];
    return MT_ERR(RESOURCE_EXHAUSTED,
                  "tensor '%s' (%zu elements of %s) would need %s, over the "
                  "memory limit of %s",
                  TNAME(tp), count, mt_dtype_name(dtype),
                  mt_format_bytes((double)nbytes, need, sizeof need),
                  mt_format_bytes((double)memory_limit, lim, sizeof lim));
  }
  /* Data held in the file must be there before its size is allocated: dims alone claiming 2^36
   * elements of a 60-byte file made a 256 GiB malloc (found by fuzz_onnx_import). Every typed
   * field holds at least one value per element, so fewer values than elements cannot decode. */
  if (!external && tp->has_raw_data && tp->raw_data.len != nbytes)
    return MT_ERR(DATA_LOSS, "tensor '%s': raw_data holds %zu bytes, its shape needs %zu",
                  TNAME(tp), tp->raw_data.len, nbytes);
  size_t typed_values = tp->n_float_data + tp->n_int32_data + tp->n_int64_data + tp->n_double_data +
                        tp->n_uint64_data + tp->n_string_data;
  if (!external && !tp->has_raw_data && typed_values < (mt_dtype_is_packed(dtype) ? nbytes : count))
    return MT_ERR(DATA_LOSS, "tensor '%s': expected %zu elements of %s, the file holds %zu values",
                  TNAME(tp), count, mt_dtype_name(dtype), typed_values);
  void *data = malloc(nbytes ? nbytes : 1);
  if (!data)
    return MT_ERR(RESOURCE_EXHAUSTED, "out of memory for tensor '%s' (%zu bytes)", TNAME(tp),
                  nbytes);
  mt_status *st = NULL;
  if (external) {
    mt_file_mapping map;
    st = map_external(tp, base_dir, nbytes, &map);
    if (!st && nbytes) memcpy(data, map.data, nbytes);
    if (!st) mt_file_unmap(&map);
  } else if (tp->has_raw_data) {
    if (tp->raw_data.len != nbytes)
      st = MT_ERR(DATA_LOSS, "tensor '%s': raw_data holds %zu bytes, its shape needs %zu",
                  TNAME(tp), tp->raw_data.len, nbytes);
    else if (nbytes)
      memcpy(data, tp->raw_data.data, nbytes);
  } else if (count) {
    st = decode_typed(tp, dtype, count, data);
  }
  if (st) {
    free(data);
    return st;
  }
  if (dtype == MT_DTYPE_BOOL) /* normalise to 0/1 so comparisons and Not behave */
    for (size_t i = 0; i < count; i++) ((uint8_t *)data)[i] = ((uint8_t *)data)[i] != 0;
  out->dtype = dtype;
  out->data = data;
  return NULL;
}

mt_status *mt_onnx_sparse_tensor_decode(const Onnx__SparseTensorProto *sp, const char *base_dir,
                                        size_t memory_limit, mt_tensor *out) {
  memset(out, 0, sizeof *out);
  if (!sp->values || !sp->indices)
    return MT_ERR(DATA_LOSS, "sparse tensor without values or indices");
  if (sp->n_dims > MT_MAX_RANK)
    return MT_ERR(UNIMPLEMENTED, "sparse tensor of rank %zu", sp->n_dims);
  mt_tensor values, indices;
  MT_RETURN_IF_ERROR(mt_onnx_tensor_decode(sp->values, base_dir, memory_limit, NULL, &values),
                     "sparse values");
  mt_status *st = mt_onnx_tensor_decode(sp->indices, base_dir, memory_limit, NULL, &indices);
  if (st) {
    free(values.data);
    return mt_status_annotate(st, "sparse indices");
  }
  size_t count = 1, nbytes;
  for (size_t i = 0; i < sp->n_dims && !st; i++) {
    if (sp->dims[i] < 0 || !mt_mul_size(count, (size_t)sp->dims[i], &count))
      st = MT_ERR(DATA_LOSS, "sparse tensor has a bad dim");
    out->dims[i] = sp->dims[i];
  }
  out->rank = (int)sp->n_dims;
  out->dtype = values.dtype;
  size_t esize = mt_dtype_size(values.dtype); /* 0 for packed types: refused below */
  if (!st && esize == 0)
    st = MT_ERR(UNIMPLEMENTED, "sparse tensor of %s", mt_dtype_name(values.dtype));
  int64_t nnz = values.rank == 1 ? values.dims[0] : 0;
  char need[32], lim[32];
  if (!st && (!mt_mul_size(count, esize, &nbytes) || nbytes > memory_limit))
    st = MT_ERR(RESOURCE_EXHAUSTED,
                "sparse tensor densified would need %s, over the memory limit of %s",
                mt_format_bytes((double)count * (double)esize, need, sizeof need),
                mt_format_bytes((double)memory_limit, lim, sizeof lim));
  if (!st && !(out->data = calloc(nbytes ? nbytes : 1, 1)))
    st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory densifying a sparse tensor");
  bool coords = indices.rank == 2;
  if (!st && indices.dtype != MT_DTYPE_INT64)
    st = MT_ERR(DATA_LOSS, "sparse indices must be int64");
  if (!st && ((coords && (indices.dims[0] != nnz || indices.dims[1] != (int64_t)sp->n_dims)) ||
              (!coords && (indices.rank != 1 || indices.dims[0] != nnz))))
    st = MT_ERR(DATA_LOSS, "sparse indices shape does not match %lld values", (long long)nnz);
  for (int64_t k = 0; !st && k < nnz; k++) {
    int64_t lin = 0;
    if (coords) {
      for (size_t d = 0; d < sp->n_dims; d++) {
        int64_t c = ((int64_t *)indices.data)[k * (int64_t)sp->n_dims + (int64_t)d];
        if (c < 0 || c >= sp->dims[d]) {
          st = MT_ERR(DATA_LOSS, "sparse index out of range");
          break;
        }
        lin = lin * sp->dims[d] + c;
      }
    } else {
      lin = ((int64_t *)indices.data)[k];
      if (lin < 0 || (size_t)lin >= count) st = MT_ERR(DATA_LOSS, "sparse index out of range");
    }
    if (!st)
      memcpy((char *)out->data + (size_t)lin * esize, (char *)values.data + (size_t)k * esize,
             esize);
  }
  free(values.data);
  free(indices.data);
  if (st) {
    free(out->data);
    out->data = NULL;
  }
  return st;
}

void mt_onnx_tensor_encode(const mt_tensor *t, const char *name, int64_t *dims_storage,
                           Onnx__TensorProto *tp) {
  for (int i = 0; i < t->rank; i++) dims_storage[i] = t->dims[i];
  tp->n_dims = (size_t)t->rank;
  tp->dims = dims_storage;
  tp->has_data_type = 1;
  tp->data_type = (int32_t)t->dtype;
  tp->name = (char *)(name ? name : "");
  tp->has_raw_data = 1;
  tp->raw_data.len = mt_tensor_nbytes(t);
  tp->raw_data.data = t->data;
}

mt_status *mt_onnx_tensor_pack(const mt_tensor *t, const char *name, unsigned char **out,
                               size_t *out_len) {
  Onnx__TensorProto tp;
  onnx__tensor_proto__init(&tp);
  int64_t dims[MT_MAX_RANK];
  mt_onnx_tensor_encode(t, name, dims, &tp);
  size_t len = onnx__tensor_proto__get_packed_size(&tp);
  unsigned char *buf = malloc(len ? len : 1);
  if (!buf) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  onnx__tensor_proto__pack(&tp, buf);
  *out = buf;
  *out_len = len;
  return NULL;
}
