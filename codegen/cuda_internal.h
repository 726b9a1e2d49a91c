/* Internals shared by the CUDA generator's files: a string builder and the per-body emitter that
 * turns "the element of value v at linear offset OFF" into dialect statements. Not for other
 * layers. */
#ifndef MT_CODEGEN_CUDA_INTERNAL_H
#define MT_CODEGEN_CUDA_INTERNAL_H

#include "codegen/cuda.h"
#include "ir/ir.h"
#include "ir/op.h"
#include "runtime/base/allocator.h"
#include "runtime/cpu/float8.h"
#include "runtime/cpu/kernel_call.h"

/* A growable NUL-terminated string; an allocation failure sticks (oom) and later appends are
 * dropped, so callers check once at the end. */
typedef struct mt_sb {
  const mt_allocator *allocator;
  char *data;
  size_t len, cap;
  bool oom;
} mt_sb;

void mt_sb_printf(mt_sb *sb, const char *fmt, ...) MT_PRINTF(2, 3);
void mt_sb_free(mt_sb *sb);
/* Duplicates s with the allocator (NULL on failure). */
char *mt_cg_strdup(const mt_allocator *a, const char *s);

#define MT_CG_MAX_MEMO 2048
#define MT_CG_NAME 40

typedef struct cg_memo {
  mt_value_id value;
  char off[MT_CG_NAME]; /* offset expression the value was computed at */
  char var[MT_CG_NAME]; /* the variable holding it */
  int depth;            /* block nesting level it was declared at */
} cg_memo;

struct cg_body;
/* Hook for a value the body computes itself (a reduction's output): writes the variable name of
 * v's element at offset off into var, or returns a status. */
typedef mt_status *(*cg_special_fn)(struct cg_body *b, mt_value_id v, const char *off, char *var);

/* One body: a fused group emitted as straight-line code inside loops the caller writes. */
typedef struct cg_body {
  const mt_plan *plan;
  const mt_module *m;
  const mt_fused_group *fg;
  int index; /* body number inside its kernel: names get the prefix b<index>_ */
  mt_sb *code;
  int indent;
  int depth;
  int n_tmp;
  int n_memo;
  cg_memo memo[MT_CG_MAX_MEMO];
  mt_kernel_call *calls; /* per fg->nodes[k], lowered */
  cg_special_fn special;
  void *special_ctx;
} cg_body;

/* Lowers every node of the group (kernel-call descriptors) into b->calls. */
MT_MUST_USE mt_status *mt_cg_body_init(cg_body *b, const mt_plan *p, const mt_fused_group *fg,
                                       int index, mt_sb *code);
void mt_cg_body_free(cg_body *b);

/* Emits statements computing value v's element at linear offset expression off (an int64
 * expression in v's own dense layout) and writes the variable's name to var (MT_CG_NAME bytes).
 * The variable has the compute type of v's dtype (float for float16, rounded per node as the CPU
 * kernels round). UNIMPLEMENTED, naming tenant, node and op, for what cannot be generated. */
MT_MUST_USE mt_status *mt_cg_emit_value(cg_body *b, mt_value_id v, const char *off, char *var);

/* Forgets memoised values declared at nesting depth >= depth (when a block closes). */
void mt_cg_forget(cg_body *b, int depth);
void mt_cg_line(cg_body *b, const char *fmt, ...) MT_PRINTF(2, 3);
/* A fresh variable name b<index>_<prefix><n>. */
void mt_cg_tmp(cg_body *b, const char *prefix, char *out);

/* Parameter names of the group's inputs and outputs: b<index>_in<k>, b<index>_out<k>. */
int mt_cg_input_index(const mt_fused_group *fg, mt_value_id v);
int mt_cg_output_index(const mt_fused_group *fg, mt_value_id v);

const char *mt_cg_ctype(mt_dtype dt);     /* compute type: float for float16 */
const char *mt_cg_storetype(mt_dtype dt); /* storage type: __half for float16 */
/* The statement storing compute-type expression val into ptr[off]. */
void mt_cg_store(cg_body *b, mt_dtype dt, const char *ptr, const char *off, const char *val);
int64_t mt_cg_numel(const mt_module *m, mt_value_id v);
/* The node (and its index in the group) producing v inside the body's group, or -1. */
int mt_cg_producer_index(const cg_body *b, mt_value_id v);
/* "tenant 'a': node 'n' (Op)" for messages. */
const char *mt_cg_node_label(const mt_module *m, int32_t node);

/* Helper functions every kernel source starts with (float16 rounding, casts, Min/Max, ...). */
extern const char mt_cg_prelude[];
/* bfloat16 / float8 / float8e8m0 (cuda_narrow.c): stored as bits, computed as float; and the
 * packed sub-byte types' element reads and conversions. */
extern const char mt_cg_prelude_narrow[];
bool mt_cg_is_narrow(mt_dtype dt);
/* mt_cg_prelude_narrow when a node of the n groups touches a narrow value, else "". */
const char *mt_cg_prelude_narrow_for(const mt_plan *p, const mt_fused_group *const *fgs, int n);
/* The float value of the bits expression of narrow dtype dt. */
void mt_cg_narrow_load(mt_dtype dt, const char *bits, char *out, size_t n);
/* The bits of float expression val in dt; saturate as Cast's attribute (float8 only). */
void mt_cg_narrow_bits(mt_dtype dt, const char *val, bool saturate, char *out, size_t n);
/* val rounded to dt and back to float: a node's narrow result, computed once. */
void mt_cg_narrow_round(mt_dtype dt, const char *val, bool saturate, char *out, size_t n);
/* A float compute value expr of a node whose output is dt, rounded as runtime/cpu stores it:
 * mt_r16(expr) for float16, mt_rbf(expr) for bfloat16, expr itself otherwise. */
void mt_cg_round_to(mt_dtype dt, const char *expr, char *out, size_t n);
/* The same with Cast's round_mode, which float8e8m0 reads. */
void mt_cg_narrow_bits_mode(mt_dtype dt, const char *val, bool saturate, mt_e8m0_round round,
                            char *out, size_t n);
void mt_cg_narrow_round_mode(mt_dtype dt, const char *val, bool saturate, mt_e8m0_round round,
                             char *out, size_t n);
/* The value of element `at` of packed buffer p (int for the integers, float for float4e2m1). */
void mt_cg_packed_load(mt_dtype dt, const char *p, const char *at, char *out, size_t n);
/* A node operand as a kernel parameter: its name (b<body>_in<k> / _out<k>), dtype and element
 * count; present false when the input is omitted or nobody reads the output (cuda_quant.c). */
typedef struct mt_cg_operand {
  char name[MT_CG_NAME];
  bool present;
  mt_dtype dtype;
  int64_t numel;
} mt_cg_operand;
MT_MUST_USE mt_status *mt_cg_q_in(const cg_body *b, const mt_node *n, int i, mt_cg_operand *out);
MT_MUST_USE mt_status *mt_cg_q_out(const cg_body *b, const mt_node *n, int i, mt_cg_operand *out);
/* Declares `k`, the scale / zero-point index of element `i` under p (cuda_quant.c). */
void mt_cg_quant_index(cg_body *b, const mt_kc_quant *p);
/* Cast to and Quantize to a packed dtype (cuda_packed.c): kernels that write whole bytes, so no
 * two threads share one; MT_NOT_FOUND for any other call. */
MT_MUST_USE mt_status *mt_cg_packed_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                                         int64_t *out_work);

/* Offset of the element of shape `to` that numpy broadcasting pairs with offset off of shape
 * `from` (a new variable, or the same expression when the shapes agree). */
void mt_cg_bcast_offset(cg_body *b, const char *off, int from_rank, const int64_t *from,
                        int to_rank, const int64_t *to, char *out);
/* A float literal that reads back exactly (non-finite values through their bits). */
void mt_cg_float_lit(float f, char *out, size_t n);

/* A literal of dtype dt from one element's bits (mt_kc_fill / mt_kc_pad values). */
void mt_cg_fill_literal(mt_dtype dt, const uint64_t *bits, char *out, size_t n);

/* Resize (cuda_more.c): the element of node n's output v at offset off, through per-axis tables
 * that runtime/cpu/resize.c computes (so the pixels and weights are the reference's own). */
MT_MUST_USE mt_status *mt_cg_emit_resize(cg_body *b, const mt_node *n, const mt_resize_params *rp,
                                         mt_value_id v, const char *off, char *var);
/* Groups that run on their own (MT_GROUP_OTHER, cuda_more.c): Shape, Size, ConstantOfShape,
 * Range, NonZero (bounded output and a device-side count). UNIMPLEMENTED, naming tenant, node and
 * op, for the rest. */
MT_MUST_USE mt_status *mt_cg_other_kernel(const mt_plan *p, const mt_cuda_options *o, int32_t h,
                                          mt_cuda_program *prog, mt_cuda_kernel *out);

/* The body of an indexing or normalisation op's own kernel (cuda_index.c): Hardmax, GatherND,
 * ScatterND, ScatterElements, OneHot, Trilu, EyeLike, ReverseSequence, MVN / RMS / Lp / Group
 * normalisation, LpPool; one thread per item of *out_work in a grid-stride loop. NOT_FOUND for
 * other kernel kinds. */
MT_MUST_USE mt_status *mt_cg_index_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                                        int64_t *out_work);
/* The body of a quantization op's own kernel (cuda_quant.c): Quantize/DequantizeLinear,
 * MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv one thread per output element;
 * DynamicQuantizeLinear one block (*out_single set). NOT_FOUND for other kinds. */
MT_MUST_USE mt_status *mt_cg_quant_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                                        int64_t *out_work, bool *out_single);

/* Recurrent layers (cuda_rnn.c): RNN, GRU, LSTM as one persistent body, one block per sequence
 * (direction x batch row; *out_work of them), the state in shared memory. UNIMPLEMENTED past the
 * hidden size shared memory holds. */
MT_MUST_USE mt_status *mt_cg_rnn_body(cg_body *b, const mt_node *n, const mt_kc_rnn *p,
                                      int64_t *out_work);

/* Signal ops (cuda_signal.c): DFT, STFT, MelWeightMatrix, one thread per output bin (*out_work
 * of them). NOT_FOUND for other kinds. */
MT_MUST_USE mt_status *mt_cg_signal_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                                         int64_t *out_work);

/* Name (MT_CG_NAME bytes) of node input i's kernel parameter, "" when the node omits the input
 * (shape inference has rejected omitted required inputs); INTERNAL when a present input is not a
 * parameter. The compute-type read of element `at` of parameter p of dtype dt (float16 through
 * float64, narrow floats widened), and the same read as a double "(double)...". Defined in
 * cuda_index.c, shared by the index, vision, recurrent and signal generators. */
MT_MUST_USE mt_status *mt_cg_input_name(const cg_body *b, const mt_node *n, int i, char *out);
void mt_cg_elem_load(mt_dtype dt, const char *p, const char *at, char *out, size_t n);
void mt_cg_load_f64(mt_dtype dt, const char *p, const char *at, char *out, size_t n);
/* The body of a detection or vision op's own kernel (cuda_vision.c): RoiAlign, GridSample,
 * MaxUnpool, Det; UNIMPLEMENTED with the reason for NonMaxSuppression, NOT_FOUND for other kinds. */
MT_MUST_USE mt_status *mt_cg_vision_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                                         int64_t *out_work);
/* The body of an attention-family op's own kernel (cuda_attention.c): RotaryEmbedding one thread
 * per output element, Attention one thread per query row. NOT_FOUND for other kinds. */
MT_MUST_USE mt_status *mt_cg_attention_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                                            int64_t *out_work);
/* The body of SwiGLU's, BitCast's or TensorScatter's own kernel (cuda_newops.c), one thread per
 * element. NOT_FOUND for other kinds. */
MT_MUST_USE mt_status *mt_cg_newops_body(cg_body *b, const mt_node *n, const mt_kernel_call *c,
                                         int64_t *out_work);

/* Reduction bodies (cuda_reduce.c): emits the statements of a reduction group's body (inside the
 * body function the caller opened). *out_work is the number of rows (one block per row,
 * *out_per_thread false) or of independent items (one thread each: windowed pools, CumSum;
 * *out_per_thread true); *out_threads the block size the code was written for. */
MT_MUST_USE mt_status *mt_cg_reduction_body(cg_body *b, const mt_cuda_options *o, int64_t *out_work,
                                            int *out_threads, bool *out_per_thread);

/* --- shared by the kernel generators (cuda_gen.c) --- */

/* "h<group>_<kind>_<tenants>" for horizontal group h. */
void mt_cg_kernel_name(const mt_plan *p, int32_t h, char *out, size_t n);
/* Comment lines naming every ONNX node of body `body`. */
void mt_cg_node_comments(const mt_plan *p, const mt_fused_group *fg, int body, mt_sb *sb);
/* The group's inputs then outputs as kernel parameters (declared, or as call arguments). */
void mt_cg_param_list(const mt_plan *p, const mt_fused_group *fg, int body, mt_sb *sb,
                      bool declare);
/* The same, inputs only. */
void mt_cg_param_list_inputs(const mt_plan *p, const mt_fused_group *fg, int body, mt_sb *sb,
                             bool declare);
/* UNIMPLEMENTED naming the first node whose output dtype has no CUDA type. */
MT_MUST_USE mt_status *mt_cg_check_dtypes(const mt_plan *p, const mt_fused_group *fg);
/* Fills out's name, source, why and parameters (the bodies' inputs then outputs, body by body). */
MT_MUST_USE mt_status *mt_cg_kernel_finish(const mt_plan *p, int n_bodies,
                                           const mt_fused_group *const *fgs, const mt_allocator *a,
                                           const char *name, const char *source, const char *why,
                                           mt_cuda_kernel *out);
/* The same with a choice: outputs false leaves the bodies' outputs out (a kernel that writes
 * only scratch); scratch_elems > 0 appends the group's scratch buffer as the last parameter,
 * written when scratch_written. */
MT_MUST_USE mt_status *mt_cg_kernel_finish_io(const mt_plan *p, int n_bodies,
                                              const mt_fused_group *const *fgs,
                                              const mt_allocator *a, const char *name,
                                              const char *source, const char *why, bool outputs,
                                              int64_t scratch_elems, bool scratch_written,
                                              mt_cuda_kernel *out);
/* One kernel of elementwise / data-movement / reduction bodies (fgs need not be plan groups:
 * the GEMM epilogue passes a group without its GEMM node), blocks split among the bodies. */
/* special (may be NULL) is installed in every body with special_ctx[k]. */
MT_MUST_USE mt_status *mt_cg_bodies_kernel(const mt_plan *p, const mt_cuda_options *o, int32_t h,
                                           int n_bodies, const mt_fused_group *const *fgs,
                                           cg_special_fn special, void *const *special_ctx,
                                           const char *name, mt_cuda_program *prog,
                                           mt_cuda_kernel *out);

/* Convolutions (cuda_conv.c): the kernel of a single conv group or of a grouped-conv horizontal
 * group (one launch over every member's tiles). */
MT_MUST_USE mt_status *mt_cg_conv_kernel(const mt_plan *p, const mt_cuda_options *o, int32_t h,
                                         mt_cuda_program *prog, mt_cuda_kernel *out);
/* A 1x1, stride-1, unpadded, ungrouped conv (a plain GEMM per image: no window gather). */
bool mt_cg_conv_is_pointwise(const mt_kc_conv *kc);
/* Whether horizontal group h (a single conv group) runs as a GEMM library call plus a generated
 * epilogue kernel instead of the implicit-GEMM kernel: a pointwise conv where the cost model
 * (efficiencies measured on an H200, see docs/codegen.md) predicts the library call faster, or
 * o->conv_gemm forces it. why (cap bytes) receives the prediction, as the call's why prefix. */
bool mt_cg_conv_prefers_gemm(const mt_plan *p, const mt_cuda_options *o, int32_t h, char *why,
                             size_t cap);

/* GEMM groups (cuda_gemm.c): adds horizontal group h's library call, and its epilogue kernel
 * when cuBLASLt cannot apply the epilogue, to prog. UNIMPLEMENTED with the reason otherwise
 * (nothing added). */
MT_MUST_USE mt_status *mt_cg_gemm_libcall(const mt_plan *p, const mt_cuda_options *o, int32_t h,
                                          const char *why_prefix, mt_cuda_program *prog);
/* If groups (cuda_branch.c): whether horizontal group h is a lone If node, and its conditional
 * (bodies, set kernel, copies) added to prog; UNIMPLEMENTED naming the branch node no generator
 * takes, prog then unchanged. */
bool mt_cg_is_if_group(const mt_plan *p, int32_t h);
MT_MUST_USE mt_status *mt_cg_if_group(const mt_plan *p, const mt_cuda_options *o, int32_t h,
                                      mt_cuda_program *prog);
void mt_cg_conds_free(mt_cuda_program *prog);
/* Appends a kernel to prog (taking its strings). */
MT_MUST_USE mt_status *mt_cg_add_kernel(mt_cuda_program *prog, const mt_cuda_kernel *k);
void mt_cg_kernel_free(const mt_allocator *a, mt_cuda_kernel *k);

#endif
