/* The CPU backend's compile half (issue 14): the scheduled plan's groups lowered through the LLVM
 * C API into one shared object per CPU target, whose kernels follow runtime/bundle/cpu_abi.h.
 *
 * Work is described per plan horizontal group. A group gets code only when every node of it has
 * a generated kernel; otherwise it keeps the reference kernels and `unavailable` says which node
 * and why (the compile report lists it, never silently). Kernels receive value pointers: the
 * driver turns each value id into the BufferRef that the bundle's CPU nodes use for it, so a
 * generated kernel reads and writes exactly the bytes the reference node would.
 *
 * Only codegen/cpu/ and driver/ may include LLVM headers; this header includes none, and the
 * library builds without LLVM (every group then says the backend is off). */
#ifndef MT_CODEGEN_CPU_H
#define MT_CODEGEN_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "plan/plan.h"
#include "runtime/cpu/kernel_call.h"

#define MT_CPU_MAX_TARGETS 4
#define MT_CPU_MAX_KERNEL_ARGS 16
#define MT_CPU_MAX_STEPS 6
/* A depthwise conv's taps are unrolled (cpu_dwconv.c). */
#define MT_CPU_DW_MAX_TAPS 256

/* One elementwise node fused into the kernel before it (cpu_fuse.c): it reads the chain's value
 * (the previous step's, or the head node's output) from a register instead of memory. */
typedef struct mt_cpu_step {
  int32_t node;        /* module node id */
  mt_kernel_call call; /* UNARY or BINARY */
  int chain_operand;   /* BINARY: which input (0 = a, 1 = b) is the chain's value */
  int extra[2];        /* arg indices of its other inputs (binary operand, Clip bounds), or -1 */
  int inside;          /* BINARY: its other operand is a value of this chain, kept in a register:
                          0 the head's output, s + 1 step s's; -1: read from memory */
  int out_arg;         /* arg index of its output */
  bool stored;         /* its output is read outside the chain (or is the chain's last value) */
} mt_cpu_step;

/* One generated function (cpu_abi.h mt_cpu_kernel_fn): it computes node `node` of the module. */
typedef struct mt_cpu_kernel {
  char symbol[32];                          /* "mt_cpu_k<index>", unique in the object */
  char name[160];                           /* "<kind>:<node name>[+<node name>...]", for reports */
  int32_t node;                             /* module node id */
  int32_t tenant;                           /* the node's tenant */
  int n_args;                               /* inputs then outputs, in the node's order */
  mt_value_id args[MT_CPU_MAX_KERNEL_ARGS]; /* MT_NO_VALUE: an omitted input (NULL pointer) */
  mt_kernel_call call;                      /* what it computes (tests run the reference) */
  int32_t same_as; /* an earlier kernel with the same call, shapes and dtypes (its symbol is an
                      alias of that one's code), or -1 */
  /* Fusion (cpu_fuse.c): the node's inputs and outputs are args [0, n_head_args); each step's
   * other inputs and output follow. An elementwise head whose output only the chain reads is not
   * stored (head_stored false); a GEMM/conv head always writes its output, which its epilogue
   * (the steps) reads back per tile while it is in cache. */
  int n_head_args;
  bool head_stored;
  int n_steps;
  mt_cpu_step steps[MT_CPU_MAX_STEPS];
  /* Conv: its GEMM is the generated one on weights packed at compile time (cpu_pgemm.c), and
   * why that path or the library's was taken (reports). */
  bool packed_gemm;
  bool packed_v3; /* also in the x86-64-v3 object (MTCC_CPU_GEMM=generated; auto: v4 only) */
  char gemm_why[112];
} mt_cpu_kernel;

/* What one plan horizontal group runs: kernels [first_kernel, +n_kernels), or why not. */
typedef struct mt_cpu_group_code {
  int first_kernel, n_kernels;
  char unavailable[192]; /* non-empty: the group runs on the reference kernels, and why */
  char reason[128];      /* the same without the tenant and node (summaries count these) */
} mt_cpu_group_code;

/* One shared object for one target. */
typedef struct mt_cpu_object {
  const char *target;       /* "x86-64-v3", "x86-64-v4" (static strings) */
  const char *features[14]; /* host features the object needs (static strings) */
  int n_features;
  uint8_t *bytes; /* the ELF shared object, malloc'd */
  size_t size;
  const char *needed[3]; /* sonames it links, for reports (static strings) */
  int n_needed;
} mt_cpu_object;

typedef struct mt_cpu_options {
  bool disabled;                           /* --no-cpu-code */
  const char *targets[MT_CPU_MAX_TARGETS]; /* NULL-terminated; none: the host's default list */
  int n_targets;
} mt_cpu_options;

typedef struct mt_cpu_program {
  int n_groups; /* == plan n_hgroups, indexed by plan horizontal group id */
  mt_cpu_group_code *groups;
  int n_kernels;
  mt_cpu_kernel *kernels;
  int n_objects;
  mt_cpu_object objects[MT_CPU_MAX_TARGETS];
  int n_fused;           /* nodes fused into the kernel before them (steps in all kernels) */
  char fusion_off[64];   /* non-empty when elementwise fusion was turned off: why (reports) */
  char unavailable[256]; /* non-empty when there are no objects at all: why */
  double seconds;        /* time spent generating, optimising and linking */
} mt_cpu_program;

void mt_cpu_options_init(mt_cpu_options *o);

/* Whether this build has the LLVM C API, and a one-line description ("LLVM 19.1.7" or why not). */
bool mt_cpu_backend_available(void);
const char *mt_cpu_backend_describe(void);

/* Parses "x86-64-v3,x86-64-v4" into o->targets (names must be known; the error names the one
 * that is not). The strings stored are static. */
MT_MUST_USE mt_status *mt_cpu_targets_parse(const char *list, mt_cpu_options *o);

/* Generates the CPU program of plan p. Never fails because a node is not supported (that group is
 * unavailable) nor because LLVM is missing (program->unavailable says so); fails on out of
 * memory, or when LLVM or the linker reports an error. *out is freed by mt_cpu_program_destroy. */
MT_MUST_USE mt_status *mt_cpu_generate(const mt_plan *p, const mt_cpu_options *o,
                                       mt_cpu_program **out);
void mt_cpu_program_destroy(mt_cpu_program *prog);

/* Groups with code, and the reason shared by the most groups without (reports). */
int mt_cpu_program_groups_generated(const mt_cpu_program *prog);

/* ---- internal, between cpu_gen.c and the LLVM files ---- */

/* Whether kernel k's call can be generated; else a reason (static or in buf). */
const char *mt_cpu_kernel_unsupported(const mt_module *m, const mt_cpu_kernel *k, char *buf,
                                      size_t n);
/* Fuses elementwise chains of the group's kernels [first, prog->n_kernels) into the kernel
 * before them (cpu_fuse.c; fuse false: none, for measurements); kernels keep their order,
 * symbols are set afterwards. */
void mt_cpu_fuse_group(const mt_module *m, const int32_t *readers, mt_cpu_program *prog, int first,
                       bool fuse);
/* Output rows per work item of a depthwise conv (cpu_dwconv.c), or 0 when even one row's input
 * tile does not fit its stack block. */
int64_t mt_cpu_dw_rows_per_item(const mt_conv_geom *g);
/* Per value id, how many node inputs and graph outputs read it (malloc'd; NULL: out of memory). */
int32_t *mt_cpu_count_readers(const mt_module *m);
/* Initialises LLVM's x86 target once (before emitting from several threads). */
void mt_cpu_llvm_init(void);
/* Emits every kernel of prog for target `target` and links the shared object into *obj. */
MT_MUST_USE mt_status *mt_cpu_llvm_emit(const mt_module *m, const mt_cpu_program *prog,
                                        const char *target, mt_cpu_object *obj);
/* Whether the GEMM library (OpenBLAS's cblas_sgemm) was found when mtcc was built, and why not. */
bool mt_cpu_blas_available(void);
const char *mt_cpu_blas_describe(void);
/* Which GEMM convs with constant weights use (cpu_pgemm.c): MTCC_CPU_GEMM=library|generated|auto
 * (unset: library; auto: the rule measured per conv shape class in docs/cpu-backend.md, the
 * generated GEMM for im2col convs with K >= 256 and 1x1 convs whose output plane is at most 196). */
typedef enum { MT_CPU_GEMM_AUTO, MT_CPU_GEMM_LIBRARY, MT_CPU_GEMM_GENERATED } mt_cpu_gemm_mode_t;
/* Output channels per packed panel (the micro-kernel's rows). */
#define PG_MR 8
/* K per block: a panel's block (PG_MR x PG_KC floats, 8 KiB) stays in L1. */
#define PG_KC 256
/* Reads MTCC_CPU_GEMM; an unknown value is an error naming it. */
MT_MUST_USE mt_status *mt_cpu_gemm_mode(mt_cpu_gemm_mode_t *out);
/* Bytes of packed weights one object may carry: each packed conv adds its weights again to the
 * bundle (per object under `generated`), so a workload of many distinct large models (T1-16: 16
 * ResNet-50s, 90 MB each) keeps the library for the convs past it, saying so. */
#define MT_CPU_PGEMM_BUDGET ((int64_t)384 << 20)
/* Sets k->packed_gemm, k->packed_v3 and k->gemm_why for a conv kernel (others: false, ""),
 * taking a chosen conv's packed bytes from *budget (kernels in program order). */
void mt_cpu_conv_gemm_choose(const mt_module *m, mt_cpu_gemm_mode_t mode, int64_t *budget,
                             mt_cpu_kernel *k);
/* Links an ELF relocatable object into a shared object deterministically (cpu_link.c). */
MT_MUST_USE mt_status *mt_cpu_link_shared(const uint8_t *object, size_t size, bool blas,
                                          uint8_t **out, size_t *out_size);

#endif
