/* Load-time check of the newest opsets' calls (SwiGLU, BitCast, TensorScatter) against their
 * buffers: each buffer must have the dtype and element count the kernel in
 * runtime/cpu/kernel_call_newops.c reads or writes, so a crafted bundle cannot make it index past
 * a buffer. validate_calls.c dispatches here. */
#include "runtime/bundle/validate_rnn.h"

#define MAX_LEN ((int64_t)1 << 40)

static mt_status *bad(const char *kind, const char *what) {
  return MT_ERR(DATA_LOSS, "%s call: %s", kind, what);
}

static bool present(int n, const mt_tensor *t, int i) { return i < n && t[i].dtype != 0; }

static mt_status *check_swiglu(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out) {
  if (n_in != 2 || n_out != 1 || !present(n_in, in, 0) || !present(n_in, in, 1) ||
      !present(n_out, out, 0))
    return bad("swiglu", "takes inputs A and B and one output");
  int64_t n = mt_tensor_numel(&in[0]);
  if (!mt_dtype_is_float_any(in[0].dtype) || in[1].dtype != in[0].dtype ||
      out[0].dtype != in[0].dtype)
    return bad("swiglu", "A, B and the output must share one float dtype");
  if (mt_tensor_numel(&in[1]) != n || mt_tensor_numel(&out[0]) != n)
    return bad("swiglu", "A, B and the output differ in element count");
  return NULL;
}

static mt_status *check_bitcast(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out) {
  if (n_in != 1 || n_out != 1 || !present(n_in, in, 0) || !present(n_out, out, 0))
    return bad("bitcast", "takes one input and one output");
  size_t es = mt_dtype_size(in[0].dtype);
  if (es == 0 || mt_dtype_size(out[0].dtype) != es)
    return bad("bitcast", "input and output dtypes differ in size");
  if (mt_tensor_numel(&in[0]) != mt_tensor_numel(&out[0]))
    return bad("bitcast", "input and output differ in element count");
  return NULL;
}

static mt_status *check_tensor_scatter(int n_in, const mt_tensor *in, int n_out,
                                       const mt_tensor *out, const mt_kc_tensor_scatter *p) {
  if (n_in < 2 || n_in > 3 || n_out != 1 || !present(n_in, in, 0) || !present(n_in, in, 1) ||
      !present(n_out, out, 0))
    return bad("tensor_scatter", "takes past_cache, update, write_indices and one output");
  if (p->batch < 1 || p->batch > MAX_LEN || p->outer < 1 || p->outer > MAX_LEN ||
      p->outer % p->batch != 0 || p->max_seq < 0 || p->max_seq > MAX_LEN || p->seq < 0 ||
      p->seq > p->max_seq || p->inner < 0 || p->inner > MAX_LEN || (p->circular && !p->max_seq))
    return bad("tensor_scatter", "geometry out of range");
  mt_dtype dt = in[0].dtype;
  if (mt_dtype_size(dt) == 0 || in[1].dtype != dt || out[0].dtype != dt)
    return bad("tensor_scatter", "past_cache, update and the output must share one dtype");
  /* products of three values under 2^40 could overflow: compare in double first */
  double cache = (double)p->outer * (double)p->max_seq * (double)p->inner;
  double rows = (double)p->outer * (double)p->seq * (double)p->inner;
  if (cache > (double)MAX_LEN || rows > (double)MAX_LEN)
    return bad("tensor_scatter", "geometry out of range");
  int64_t nc = p->outer * p->max_seq * p->inner, nu = p->outer * p->seq * p->inner;
  if (mt_tensor_numel(&in[0]) != nc || mt_tensor_numel(&out[0]) != nc ||
      mt_tensor_numel(&in[1]) != nu)
    return bad("tensor_scatter", "buffers differ from the element counts the parameters imply");
  if (p->has_indices != present(n_in, in, 2))
    return bad("tensor_scatter", "write_indices present and has_indices disagree");
  if (p->has_indices && (in[2].dtype != MT_DTYPE_INT64 || mt_tensor_numel(&in[2]) != p->batch))
    return bad("tensor_scatter", "write_indices must be int64 with one element per batch");
  return NULL;
}

mt_status *mt_bundle_check_newops(int n_in, const mt_tensor *in, int n_out, const mt_tensor *out,
                                  const mt_kernel_call *call) {
  switch (call->kind) {
  case MT_KERNEL_SWIGLU: return check_swiglu(n_in, in, n_out, out);
  case MT_KERNEL_BITCAST: return check_bitcast(n_in, in, n_out, out);
  case MT_KERNEL_TENSOR_SCATTER:
    return check_tensor_scatter(n_in, in, n_out, out, &call->params.tensor_scatter);
  default: return bad(mt_kernel_kind_name(call->kind), "not a newops kind");
  }
}
