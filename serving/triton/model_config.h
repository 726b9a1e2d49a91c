/* A Triton model's config (JSON from TRITONBACKEND_ModelConfig) checked against the bundle
 * tenant it serves, so every request Triton lets through has the tenant's exact names, dtypes
 * and shapes; and the dtype mapping between the bundle (ONNX element types) and Triton. */
#ifndef MT_SERVING_TRITON_MODEL_CONFIG_H
#define MT_SERVING_TRITON_MODEL_CONFIG_H

#include "mtrt.h"
#include "serving/triton/shared_session.h"
#include "serving/triton/triton_api.h"

/* Triton's data type of an ONNX element type (TRITONSERVER_TYPE_INVALID when none). */
TRITONSERVER_DataType mt_triton_dtype(int onnx_dtype);

typedef struct mt_model_config {
  char *bundle_path; /* absolute: the "bundle" parameter resolved against the model folder */
  char *tenant;      /* the "tenant" parameter, or the model name */
  int cpu_threads;   /* the "cpu_threads" parameter (mtrt_session_options.cpu_threads), or 0 */
} mt_model_config;

/* Reads config_json of model name (whose folder is model_dir): the bundle and tenant parameters,
 * max_batch_size 0, and inputs and outputs equal to the tenant's in bundle b when b is not NULL.
 * NULL on success, else a malloc'd one-line message. */
MT_SHARED_MUST_USE char *mt_model_config_parse(const char *name, const char *model_dir,
                                               const char *config_json, size_t size,
                                               mt_model_config *out);
MT_SHARED_MUST_USE char *mt_model_config_check(const char *name, const char *config_json,
                                               size_t size, const mtrt_bundle *b, int tenant);
void mt_model_config_free(mt_model_config *c);

#endif
