/* float32 staging buffers for the float32-only kernels (see staging.h). */
#include "runtime/cpu/staging.h"

#include <stdlib.h>

#include "runtime/base/checked_math.h"

MT_MUST_USE static mt_status *alloc_f32(int64_t n, float **out) {
  size_t bytes;
  if (n < 0 || !mt_mul_size((size_t)n, sizeof(float), &bytes))
    return MT_ERR(RESOURCE_EXHAUSTED, "tensor of %lld elements is too large", (long long)n);
  *out = malloc(bytes ? bytes : 1);
  if (!*out) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory staging %zu bytes", bytes);
  return NULL;
}

mt_status *mt_cpu_stage_in_f32(const mt_tensor *t, const float **out, float **owned) {
  *owned = NULL;
  if (t->dtype == MT_DTYPE_FLOAT32) {
    *out = t->data;
    return NULL;
  }
  int64_t n = mt_tensor_numel(t);
  float *buf;
  MT_RETURN_IF_ERROR_PLAIN(alloc_f32(n, &buf));
  if (mt_dtype_is_float16_like(t->dtype)) {
    const uint16_t *h = t->data;
    for (int64_t i = 0; i < n; i++) buf[i] = mt_f16like_to_float(t->dtype, h[i]);
  } else {
    for (int64_t i = 0; i < n; i++) buf[i] = (float)mt_tensor_get_f64(t, i);
  }
  *out = buf;
  *owned = buf;
  return NULL;
}

mt_status *mt_cpu_stage_out_f32(mt_tensor *t, float **out, float **owned) {
  *owned = NULL;
  if (t->dtype == MT_DTYPE_FLOAT32) {
    *out = t->data;
    return NULL;
  }
  MT_RETURN_IF_ERROR_PLAIN(alloc_f32(mt_tensor_numel(t), owned));
  *out = *owned;
  return NULL;
}

void mt_cpu_stage_finish_f32(mt_tensor *t, float *owned) {
  if (!owned) return;
  int64_t n = mt_tensor_numel(t);
  if (mt_dtype_is_float16_like(t->dtype)) {
    uint16_t *h = t->data;
    for (int64_t i = 0; i < n; i++) h[i] = mt_float_to_f16like(t->dtype, owned[i]);
  } else {
    for (int64_t i = 0; i < n; i++) mt_tensor_set_f64(t, i, owned[i]);
  }
  free(owned);
}
