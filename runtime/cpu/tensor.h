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
  MT_DTYPE_UINT4 = 21, /* 4-bit types (packed two per byte): named, not supported yet */
  MT_DTYPE_INT4 = 22,
  MT_DTYPE_FLOAT4E2M1 = 23,
  MT_DTYPE_FLOAT8E8M0 = 24, /* named for messages, not supported */
  MT_DTYPE_UINT2 = 25,
  MT_DTYPE_INT2 = 26,
} mt_dtype;

/* True for the element types mtcc computes with: float32, float16, bfloat16, int64, int32, int8,
 * uint8, bool, and float64, int16, uint16, uint32, uint64 (elementwise math, casts and data
 * movement only: the other typed kernels check mt_dtype_is_float / mt_dtype_is_integer and refuse
 * them as unsupported), and the storage-only float8 formats (runtime/cpu/float8.h: Cast, CastLike,
 * data movement and constants; every computing kernel refuses them). */
bool mt_dtype_supported(mt_dtype dt);
/* Bytes per element; 0 for unsupported or unknown types. */
size_t mt_dtype_size(mt_dtype dt);
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
  return (size_t)mt_tensor_numel(t) * mt_dtype_size(t->dtype);
}
static inline int64_t mt_shape_numel(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= dims[i];
  return n;
}
/* Reads element i of any supported dtype as double / int64 (16-bit floats converted). */
double mt_tensor_get_f64(const mt_tensor *t, int64_t i);
int64_t mt_tensor_get_i64(const mt_tensor *t, int64_t i);
/* Writes element i from a double (float types rounded, float8 saturating, integers truncated toward
 * zero, bool != 0). */
void mt_tensor_set_f64(mt_tensor *t, int64_t i, double v);

/* IEEE half <-> float, round to nearest even. */
float mt_half_to_float(uint16_t h);
uint16_t mt_float_to_half(float f);
/* The bits of a float16 or bfloat16 (dt) <-> float, round to nearest even. */
float mt_f16like_to_float(mt_dtype dt, uint16_t bits);
uint16_t mt_float_to_f16like(mt_dtype dt, float f);

#endif
