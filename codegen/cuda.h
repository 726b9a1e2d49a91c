/* CUDA C code generation: a fully scheduled plan (plan/plan.h) becomes one kernel per horizontal
 * group that codegen covers, written in the mtcc kernel dialect (codegen/mt_cuda.h; the same text
 * compiles with NVRTC for a GPU and with g++ against the emulator in tests/emu).
 *
 * Kernels are specialised on the plan's static shapes (strides and trip counts are constants in
 * the source) and use grid-stride loops, so a launch grid sized to the partition's SMs gives the
 * same results as any other. A group that cannot be lowered yet gets a "not generated" record with
 * the reason; nothing is skipped silently. Node parameters come from the kernel-call descriptors
 * (mt_node_lower), never from ONNX attributes.
 *
 * This layer reads plan/, ir/ and runtime/ headers only: never passes/, driver/ or tools/. */
#ifndef MT_CODEGEN_CUDA_H
#define MT_CODEGEN_CUDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan/plan.h"

typedef struct mt_cuda_options {
  /* SMs the kernels are sized for; 0: each horizontal group's partition's granted sm_count. */
  int sm_count_override;
  int block_threads;  /* threads per block of elementwise and copy bodies (0: 256) */
  int blocks_per_sm;  /* resident blocks assumed per SM when sizing grids (0: 8) */
  int reduce_threads; /* threads per block of reduction bodies, a power of two (0: 256) */
  int conv_tile_n;    /* implicit-GEMM output-position tile, 16/32/64 (0: chosen per SM count) */
  /* Implicit-GEMM split-K slices: 0 chooses per kernel (split when the output tiles leave SMs of
   * the partition idle), 1 never splits, N > 1 asks for N (fewer when K is short). */
  int conv_split_k;
  /* 1x1 stride-1 unpadded convs as GEMM library calls (+ a generated epilogue kernel): 0 where
   * the cost model predicts the call faster than the implicit-GEMM kernel, 1 never, 2 always. */
  int conv_gemm;
  bool tf32; /* GEMM library calls may use TF32 (default: FP32) */
} mt_cuda_options;

void mt_cuda_options_init(mt_cuda_options *o);

/* One kernel parameter: a plan value read or written through a global pointer. */
typedef struct mt_cuda_param {
  mt_value_id value;
  bool is_output;
  mt_dtype dtype;
  int64_t elements;
  /* A data-dependent output (NonZero) is bounded: `elements` is the worst case, row r of the
   * result starts at r * row_stride (0: a dense value) and the count param says how many
   * columns are valid. */
  int64_t row_stride;
  /* A device int64 scalar the kernel writes: the valid columns of `value` (is_output too). */
  bool is_count;
  /* The horizontal group's scratch buffer (value is MT_NO_VALUE; float32, `elements` of them):
   * the runtime allocates one per horizontal group, as big as its largest scratch param, and
   * every kernel of the group gets the same buffer, kernels running in program order. Split-K
   * convolutions write their partial sums to it (is_output) and reduce them (read). */
  bool is_scratch;
} mt_cuda_param;

/* A generated kernel; strings are owned by the program. */
typedef struct mt_cuda_kernel {
  int32_t hgroup;
  const char *name;   /* e.g. "h12_elementwise_resnet50_v0" */
  const char *source; /* complete dialect source: #include "mt_cuda.h" + the kernel */
  int n_params;
  mt_cuda_param *params; /* in launch order */
  unsigned grid, block;  /* 1-D launch */
  size_t dyn_smem;
  const char *why; /* one line: what the launch configuration was chosen from */
  int n_nodes;     /* ONNX nodes covered (all bodies) */
} mt_cuda_kernel;

/* A horizontal group that has no kernel, and why. */
typedef struct mt_cuda_skipped {
  int32_t hgroup;
  const char *what;   /* "h3 conv resnet50_v0" */
  const char *reason; /* "conv: implicit-GEMM generator not written yet" */
} mt_cuda_skipped;

/* GEMM groups are library calls the runtime executes, not generated kernels. */
typedef enum mt_cuda_libcall_kind {
  MT_CUDA_LT_MATMUL,    /* one cublasLtMatmul (batch > 1: strided batch of one problem) */
  MT_CUDA_GEMM_BATCHED, /* identical shapes in several tenants: one batched GEMM */
  MT_CUDA_GEMM_GROUPED, /* different shapes: one cublasGemmGroupedBatchedEx */
} mt_cuda_libcall_kind;

/* The epilogue cuBLASLt applies itself (CUBLASLT_EPILOGUE_*); anything else the group computes
 * after the GEMM is a generated epilogue kernel. GELU is cuBLASLt's tanh form, so only
 * Gelu(approximate="tanh") maps to it. */
typedef enum mt_cuda_epilogue {
  MT_CUDA_EPI_DEFAULT,
  MT_CUDA_EPI_BIAS,
  MT_CUDA_EPI_RELU,
  MT_CUDA_EPI_RELU_BIAS,
  MT_CUDA_EPI_GELU,
  MT_CUDA_EPI_GELU_BIAS,
} mt_cuda_epilogue;

const char *mt_cuda_libcall_kind_name(mt_cuda_libcall_kind k);
const char *mt_cuda_epilogue_name(mt_cuda_epilogue e);

/* One GEMM problem in row-major terms: for each batch item i,
 *   d_i[m x n] = epilogue(alpha * op(a_i) * op(b_i) + beta * c_i [+ bias]),
 * a_i = a + i * stride_a (stride 0: the operand is shared by every item), likewise b, c, d.
 * The runtime maps it onto column-major cuBLAS by swapping the operands (d^T = op(b)^T op(a)^T). */
typedef struct mt_cuda_gemm {
  int32_t group; /* fused group */
  int32_t node;  /* the Gemm / MatMul node */
  int64_t m, n, k, batch;
  bool trans_a, trans_b;
  int64_t lda, ldb, ldc; /* row-major leading dimensions (ldc also d's) */
  int64_t stride_a, stride_b, stride_c;
  float alpha, beta;
  mt_value_id a, b;
  mt_value_id c;    /* beta * c, a full [m, n] matrix per item; MT_NO_VALUE: none (beta 0) */
  mt_value_id bias; /* a [n] vector added to every row; MT_NO_VALUE: none */
  mt_value_id d;    /* written by the library */
  bool d_scratch;   /* d lives only inside the group: the runtime gives it a scratch buffer */
  mt_cuda_epilogue epilogue;
  int epilogue_kernel; /* index into prog->kernels (reads d, writes the group's outputs), or -1 */
} mt_cuda_gemm;

typedef struct mt_cuda_libcall {
  int32_t hgroup;
  mt_cuda_libcall_kind kind;
  int sm_count; /* SMs of the partition: the math heuristic's SM-count target */
  bool tf32;    /* false: full FP32 math (CUBLAS_COMPUTE_32F) */
  int n_problems;
  mt_cuda_gemm *problems; /* one per member, in member order */
  const char *why;        /* one line: why this call and epilogue */
} mt_cuda_libcall;

/* If nodes (codegen/cuda_branch.c): a horizontal group holding an If becomes a conditional, two
 * bodies of steps run on the device (a CUDA Graph IF node set by the cond's set kernel). A body's
 * steps are its branch's nodes in order, each lowered like a singleton group (a kernel, or a
 * library call that launches its epilogue kernel after it), a nested If as a conditional, then
 * one copy kernel per If output from the branch's result into the If's output. Kernels and
 * library calls of bodies have hgroup -1: they belong to no horizontal group. */
typedef enum mt_cuda_step_kind {
  MT_CUDA_STEP_KERNEL,  /* index into prog->kernels */
  MT_CUDA_STEP_LIBCALL, /* index into prog->libcalls (then its epilogue kernel, if any) */
  MT_CUDA_STEP_COND,    /* index into prog->conds: a nested If */
} mt_cuda_step_kind;

typedef struct mt_cuda_step {
  mt_cuda_step_kind kind;
  int index;
} mt_cuda_step;

typedef struct mt_cuda_body {
  int n_steps;
  mt_cuda_step *steps;
} mt_cuda_body;

/* The most steps one body may hold: a bundle's GpuBody holds at most 64 (validate_gpu.c). */
#define MT_CUDA_MAX_BODY_STEPS 64

typedef struct mt_cuda_cond {
  int32_t hgroup; /* the If's horizontal group; -1 for an If inside a branch */
  int32_t node;   /* the If node */
  mt_value_id condition;
  int set_kernel;       /* index into prog->kernels (mt_cuda_if_set_kernel's; not dialect code) */
  mt_cuda_body body[2]; /* then, else */
} mt_cuda_cond;

typedef struct mt_cuda_program {
  const mt_allocator *allocator;
  int n_kernels, cap_kernels;
  mt_cuda_kernel *kernels;
  int n_libcalls, cap_libcalls;
  mt_cuda_libcall *libcalls;
  int n_skipped, cap_skipped;
  mt_cuda_skipped *skipped;
  int n_conds, cap_conds;
  mt_cuda_cond *conds; /* a nested If before the If holding it */
} mt_cuda_program;

/* Whether kernel k is an If's set kernel (raw CUDA, not the dialect: the emulator cannot run it,
 * and evaluates the condition itself). */
bool mt_cuda_is_set_kernel(const mt_cuda_program *prog, int k);

/* Generates kernels and library calls for every horizontal group of p (in group order). Fails only on internal
 * errors and out of memory; a group that cannot be lowered becomes a skipped record. The program
 * is the caller's (mt_cuda_program_destroy); it does not refer to p after the call. */
MT_MUST_USE mt_status *mt_cuda_generate(const mt_plan *p, const mt_cuda_options *o,
                                        mt_cuda_program **out);
void mt_cuda_program_destroy(mt_cuda_program *prog);

/* Lowers one horizontal group; on success *out_kernel is filled (its strings owned by prog, the
 * kernel not added). UNIMPLEMENTED with the reason when the group cannot be lowered; the message
 * names tenant, node and op where one node is the cause. */
MT_MUST_USE mt_status *mt_cuda_generate_hgroup(const mt_plan *p, const mt_cuda_options *o,
                                               int32_t hgroup, mt_cuda_program *prog,
                                               mt_cuda_kernel *out_kernel);

/* The kernel that sets an If step's CUDA Graph conditional handle from its condition buffer of
 * cond_dtype (codegen/cuda_if.c): parameters (unsigned long long handle, const T *cond); the
 * source goes to src (src_n bytes; 1 KiB is plenty), *out names it ("mt_if_set_bool", ...) with
 * a one-block launch. UNIMPLEMENTED for a dtype without a set kernel (string, float16, ...). */
MT_MUST_USE mt_status *mt_cuda_if_set_kernel(mt_dtype cond_dtype, char *src, size_t src_n,
                                             mt_cuda_kernel *out);

/* The dialect header's text (codegen/mt_cuda.h), embedded at build time. */
extern const char mt_cuda_dialect_header[];

/* Writes DIR/<kernel>.cu for every kernel, DIR/mt_cuda.h, and DIR/compile_commands.json (one
 * nvcc command per file and arch) atomically (temporary files renamed into place). archs are
 * "sm_80"-style names. DIR is created when missing. */
MT_MUST_USE mt_status *mt_cuda_emit_dir(const mt_cuda_program *prog, const char *dir,
                                        const char *const *archs, int n_archs);

/* NVRTC: whether the compiler was built with it, and a one-line description ("NVRTC 13.0" or
 * "NVRTC is off: ..."). */
bool mt_cuda_nvrtc_available(void);
const char *mt_cuda_nvrtc_describe(void);

/* Resources of one kernel in a cubin (codegen/cuda_cubin.c says which ELF sections they come
 * from); -1 when not read. */
typedef struct mt_cuda_resources {
  int registers;    /* per thread */
  int local_bytes;  /* per-thread stack frame: register spills and local arrays */
  int shared_bytes; /* static shared memory per block */
} mt_cuda_resources;

/* Reads kernel's resources from cubin bytes (no GPU needed). DATA_LOSS on a malformed cubin,
 * NOT_FOUND when the kernel is not in it. */
MT_MUST_USE mt_status *mt_cuda_cubin_resources(const void *cubin, size_t n, const char *kernel,
                                               mt_cuda_resources *out);
/* Fraction of the SM's threads resident with this kernel's registers, shared memory and block
 * size on arch (an sm_XX name; others are treated as sm_90); -1 when registers are unknown. */
double mt_cuda_occupancy_estimate(const char *arch, const mt_cuda_resources *r, unsigned block,
                                  size_t dyn_smem);

/* A kernel whose estimated occupancy is under this is a warning in the report and summary. */
#define MT_CUDA_OCCUPANCY_WARN 0.25

/* What NVRTC made of one kernel for one arch. */
typedef struct mt_cuda_compiled {
  int kernel; /* index into prog->kernels */
  char arch[16];
  size_t cubin_bytes;
  size_t ptx_bytes;                    /* for the newest arch only: PTX for later GPUs */
  int registers, spills, shared_bytes; /* from the cubin; spills: local (stack frame) bytes */
  double occupancy;                    /* estimated, 0..1; -1 unknown */
  bool cached;                         /* read from the on-disk cache, not compiled */
  char warning[192];                   /* "" or why this kernel may run badly (local memory, ...) */
  unsigned char *cubin;                /* the cubin (cubin_bytes), owned by the results */
  char *ptx;                           /* newest arch only: NUL-terminated PTX, owned */
} mt_cuda_compiled;

/* Where compiled kernels are cached: $MTCC_CACHE_DIR, else $XDG_CACHE_HOME/mtcc, else
 * ~/.cache/mtcc. Writes "" when none can be named (no HOME). */
void mt_cuda_cache_dir_default(char *out, size_t n);

/* Compiles every kernel of prog for every arch with NVRTC, in parallel on n_threads threads (0:
 * the machine's cores); identical sources are compiled once, and the newest arch's PTX is kept
 * for later GPUs. cache_dir (NULL: no cache) holds one entry per (source, options, arch, NVRTC
 * version): a hit skips NVRTC; a missing or corrupt entry is compiled and (re)written
 * atomically. out receives n_kernels * n_archs results (free with mt_cuda_compiled_free);
 * *out_hits (may be NULL) the jobs served by the cache. A compile error is a status naming the
 * kernel and arch, with the generated source lines around the failing line. UNAVAILABLE when
 * NVRTC is off. */
MT_MUST_USE mt_status *mt_cuda_nvrtc_compile_cached(const mt_cuda_program *prog,
                                                    const char *const *archs, int n_archs,
                                                    int n_threads, const char *cache_dir,
                                                    mt_cuda_compiled **out, int *out_hits);
/* The same without a cache. */
MT_MUST_USE mt_status *mt_cuda_nvrtc_compile(const mt_cuda_program *prog, const char *const *archs,
                                             int n_archs, int n_threads, mt_cuda_compiled **out);
void mt_cuda_compiled_free(const mt_cuda_program *prog, mt_cuda_compiled *res, int n);

#endif
