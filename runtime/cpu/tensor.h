/* Element types and the plain tensor view that CPU kernels work on.
 *
 * A tensor here is a borrowed view: dtype, shape and a pointer to densely packed row-major data.
 * The view never owns its data; whoever fills `data` frees it. Kernels in runtime/cpu/ see only
 * views, never IR nodes, so the runtime's CPU path and the compiler's reference executor share them. */
#ifndef MT_CPU_TENSOR_H
#define MT_CPU_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MT_MAX_RANK 8

/* Values follow ONNX TensorProto.DataType so imports need no table. */
typedef enum mt_dtype {
  MT_DTYPE_UNDEFINED = 0,
  MT_DTYPE_FLOAT32 = 1,
  MT_DTYPE_UINT8 = 2,
  MT_DTYPE_INT8 = 3,
  MT_DTYPE_UINT16 = 4,
  MT_DTYPE_INT16 = 5,
  MT_DTYPE_INT32 = 6,
  MT_DTYPE_INT64 = 7,
  MT_DTYPE_STRING = 8,
  MT_DTYPE_BOOL = 9,
  MT_DTYPE_FLOAT16 = 10,
  MT_DTYPE_FLOAT64 = 11,
  MT_DTYPE_UINT32 = 12,
  MT_DTYPE_UINT64 = 13,
  MT_DTYPE_COMPLEX64 = 14,
  MT_DTYPE_COMPLEX128 = 15,
  MT_DTYPE_BFLOAT16 = 16,
  /* Not ONNX tensor types: sequence and optional values, carried as a byte blob in a rank-1
   * view (runtime/cpu/container.h). No kernel takes them. */
  MT_DTYPE_SEQUENCE = 100,
  MT_DTYPE_OPTIONAL = 101,
  MT_DTYPE_FLOAT8E4M3FN = 17, /* float8 formats: stored and converted, computed as float */
  MT_DTYPE_FLOAT8E4M3FNUZ = 18,
  MT_DTYPE_FLOAT8E5M2 = 19,
  MT_DTYPE_FLOAT8E5M2FNUZ = 20,
  /* Packed sub-byte types (mt_dtype_is_packed): elements fill each byte from its low bits up
   * (element 2k in the low nibble of byte k for the 4-bit types, 4 per byte for the 2-bit ones),
   * the last byte padded with zero bits. Stored, cast and (de)quantized; nothing else computes. */
  MT_DTYPE_UINT4 = 21,
  MT_DTYPE_INT4 = 22,
  MT_DTYPE_FLOAT4E2M1 = 23,
  MT_DTYPE_FLOAT8E8M0 = 24, /* one byte, exponent only (2^(e-127)); storage only, like float8 */
  MT_DTYPE_UINT2 = 25,
  MT_DTYPE_INT2 = 26,
} mt_dtype;

/* True for the element types mtcc computes with: float32, float16, bfloat16, int64, int32, int8,
 * uint8, bool, and float64, int16, uint16, uint32, uint64 (elementwise math, casts and data
 * movement only: the other typed kernels check mt_dtype_is_float / mt_dtype_is_integer and refuse
 * them as unsupported), and the storage-only float8 formats (runtime/cpu/float8.h: Cast, CastLike,
 * data movement and constants; every computing kernel refuses them), float8e8m0 likewise, and the
 * packed types (Cast, CastLike, QuantizeLinear/DequantizeLinear, constants and the ops that keep
 * the bytes as they are: Identity, Reshape...; the evaluator refuses them for any other op by
 * name, ir/evaluator.c). */
bool mt_dtype_supported(mt_dtype dt);
/* Bytes per element; 0 for unsupported or unknown types, and for the packed types, whose elements
 * are not whole bytes: a size is mt_dtype_bytes(dt, numel) there. */
size_t mt_dtype_size(mt_dtype dt);
/* Bits per element (4 or 2 for the packed types, 8 * mt_dtype_size otherwise). */
int mt_dtype_bits(mt_dtype dt);
/* True for int4, uint4, float4e2m1, int2 and uint2: several elements per byte. */
bool mt_dtype_is_packed(mt_dtype dt);
/* Bytes that numel elements of dt occupy: numel * mt_dtype_size(dt), or for the packed types
 * ceil(numel * bits / 8). Every buffer size is this, never numel times an element size. numel is
 * assumed validated (non-negative, no overflow). */
static inline size_t mt_dtype_bytes(mt_dtype dt, int64_t numel) {
  if (mt_dtype_is_packed(dt)) return ((size_t)numel * (size_t)mt_dtype_bits(dt) + 7) / 8;
  return (size_t)numel * mt_dtype_size(dt);
}
/* The raw code of element i of a packed buffer (the low 4 or 2 bits), and its store. */
static inline uint8_t mt_packed_code(const void *data, mt_dtype dt, int64_t i) {
  int bits = mt_dtype_bits(dt), per = 8 / bits;
  return (uint8_t)(((const uint8_t *)data)[i / per] >> (i % per * bits) & ((1u << bits) - 1));
}
static inline void mt_packed_set_code(void *data, mt_dtype dt, int64_t i, uint8_t code) {
  int bits = mt_dtype_bits(dt), per = 8 / bits, shift = (int)(i % per) * bits;
  uint8_t mask = (uint8_t)(((1u << bits) - 1) << shift);
  uint8_t *b = (uint8_t *)data + i / per;
  *b = (uint8_t)((*b & ~mask) | ((code << shift) & mask));
}
/* Lower-case ONNX-style name ("float32", "int64", ...), or "dtype(N)" in a static buffer. */
const char *mt_dtype_name(mt_dtype dt);
/* True for MT_DTYPE_SEQUENCE and MT_DTYPE_OPTIONAL (not supported tensor types: their size is
 * 1 so that a container blob's view counts its bytes). */
bool mt_dtype_is_container(mt_dtype dt);
/* float32, float16 or bfloat16: every float kernel's set. The 16-bit floats compute in float32
 * and round (to nearest even) once at each op's output, as ONNX Runtime does. */
bool mt_dtype_is_float(mt_dtype dt);
bool mt_dtype_is_float16_like(mt_dtype dt); /* float16 or bfloat16 */
bool mt_dtype_is_float_any(mt_dtype dt);    /* mt_dtype_is_float or float64 (elementwise kernels) */
bool mt_dtype_is_integer(mt_dtype dt); /* int64, int32, int8, uint8: every typed kernel's set */
/* mt_dtype_is_integer or int16, uint16, uint32, uint64 (the elementwise kernels' set). */
bool mt_dtype_is_integer_any(mt_dtype dt);

typedef struct mt_tensor {
  mt_dtype dtype;
  int rank;
  int64_t dims[MT_MAX_RANK];
  void *data; /* NULL while the value is not known (static shape inference) */
} mt_tensor;

/* Number of elements (1 for rank 0). Dims are assumed validated (non-negative, no overflow). */
static inline int64_t mt_tensor_numel(const mt_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}
static inline size_t mt_tensor_nbytes(const mt_tensor *t) {
  return mt_dtype_bytes(t->dtype, mt_tensor_numel(t));
}
static inline int64_t mt_shape_numel(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= dims[i];
  return n;
}
/* The value of packed code `code` of dt (int4/int2 sign-extended, float4e2m1 decoded), and the
 * code of v (integers truncate toward zero and keep their low bits, as the wider integer casts
 * wrap; float4e2m1 rounds to nearest even and saturates; NaN gives 0 / -0). */
double mt_packed_value(mt_dtype dt, uint8_t code);
uint8_t mt_packed_code_of(mt_dtype dt, double v);
/* Reads element i of any supported dtype as double / int64 (16-bit floats converted,
 * packed elements unpacked). */
double mt_tensor_get_f64(const mt_tensor *t, int64_t i);
int64_t mt_tensor_get_i64(const mt_tensor *t, int64_t i);
/* Writes element i from a double (float types rounded, float8 and float4 saturating, integers
 * truncated toward zero and wrapped (int4 too), bool != 0, float8e8m0 rounded up). */
void mt_tensor_set_f64(mt_tensor *t, int64_t i, double v);

/* IEEE half <-> float, round to nearest even. */
float mt_half_to_float(uint16_t h);
uint16_t mt_float_to_half(float f);
/* The bits of a float16 or bfloat16 (dt) <-> float, round to nearest even. */
float mt_f16like_to_float(mt_dtype dt, uint16_t bits);
uint16_t mt_float_to_f16like(mt_dtype dt, float f);

#endif
