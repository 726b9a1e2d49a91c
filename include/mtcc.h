/* mtcc: the compiler as a library.
 *
 * One call compiles a workload (a tenants manifest, or bare ONNX model paths) for one target:
 * import every tenant, check support and SM budgets, run the pass pipeline, and hand back a
 * compilation that holds the shared module, the scheduled and memory-planned plan, and its
 * statistics. The `mtcc compile` command is a thin front over exactly these calls.
 *
 *   mtcc_compile_options o;
 *   mtcc_compile_options_init(&o);
 *   o.inputs = paths; o.n_inputs = n;
 *   mtcc_compilation *c = NULL;
 *   mtcc_status *st = mtcc_compile(&o, &c);
 *   if (st) { fprintf(stderr, "%s\n", mtcc_status_message(st)); mtcc_status_free(st); }
 *   else { mtcc_compilation_print_summary(c, stdout); mtcc_compilation_destroy(c); }
 *
 * Conventions: handles are opaque; every call that can fail returns a status, NULL meaning
 * success; out_ parameters are written only on success. Nothing here aborts or exits on bad
 * input. Only standard headers are included, so callers need none of mtcc's internal headers. */
#ifndef MTCC_H
#define MTCC_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MTCC_API __attribute__((visibility("default")))
/* A status that is ignored is an error that passes silently. */
#define MTCC_MUST_USE __attribute__((warn_unused_result))
#else
#define MTCC_API
#define MTCC_MUST_USE
#endif

/* major * 1000000 + minor * 1000 + patch of the header; compare with mtcc_version_number() to
 * catch a header that does not match the library linked. */
#define MTCC_VERSION_NUMBER 1000

/* The library's version number (see MTCC_VERSION_NUMBER). Any thread, any time. */
MTCC_API int mtcc_version_number(void);

/* ---- status ---- */

/* A failed call's status: a code and a message that names the file, tenant, node or option that
 * went wrong, with context prepended on the way up. NULL is success. */
typedef struct mtcc_status mtcc_status;

/* An allocator hook: `resize` allocates (ptr NULL) or resizes ptr to size bytes (never 0) and
 * returns NULL on failure, leaving ptr valid; `release` frees a non-NULL ptr. Both may be called
 * from the thread running the call that was given the allocator. */
typedef struct mtcc_allocator {
  void *self;
  void *(*resize)(void *self, void *ptr, size_t size);
  void (*release)(void *self, void *ptr);
} mtcc_allocator;

typedef enum mtcc_status_code {
  MTCC_OK = 0,
  MTCC_INVALID_ARGUMENT,   /* the input (file, manifest, option) is wrong */
  MTCC_OUT_OF_RANGE,       /* an index, size or count outside what is allowed */
  MTCC_DATA_LOSS,          /* truncated or corrupt bytes */
  MTCC_NOT_FOUND,          /* a file, tenant, partition or value that does not exist */
  MTCC_UNAVAILABLE,        /* a device or driver that is not there */
  MTCC_RESOURCE_EXHAUSTED, /* out of memory, or an SM budget that does not fit */
  MTCC_UNIMPLEMENTED,      /* an op, dtype or attribute form mtcc does not support */
  MTCC_INTERNAL,           /* a bug in mtcc */
} mtcc_status_code;

/* The code of st; MTCC_OK for NULL. Reads st only; any thread that may read st. */
MTCC_API mtcc_status_code mtcc_status_code_of(const mtcc_status *st);
/* The message of st ("OK" for NULL). The string belongs to st and lives until
 * mtcc_status_free(st). */
MTCC_API const char *mtcc_status_message(const mtcc_status *st);
/* Frees st and its message (NULL is fine). The caller owns every status a call returns and frees
 * it exactly once, from any thread. */
MTCC_API void mtcc_status_free(mtcc_status *st);

/* ---- compiling ---- */

/* What to compile and how. Initialise with mtcc_compile_options_init, then set fields; new
 * fields get defaults there, so callers that init first keep working across versions. The
 * options only borrow their strings and arrays: they must stay valid during mtcc_compile and
 * are not kept afterwards. */
typedef struct mtcc_compile_options {
  /* One manifest .json, or one or more .onnx model paths (each its own tenant in one "default"
   * partition). Required. */
  const char *const *inputs;
  int n_inputs;
  /* "sm_80", "sm_86", "sm_89" or "sm_90"; NULL: the manifest's last target, else "sm_90". SM
   * budgets are checked against every target the manifest names, whatever this says. */
  const char *target;
  /* JSON file of per-arch overrides ({"sm_90": {"sm_count": 114}}), or NULL for the built-in
   * parameters. */
  const char *arch_params_path;
  /* Pass names to skip (as listed by the pipeline); disabling a required pass is an error. */
  const char *const *disabled_passes;
  int n_disabled_passes;
  /* Pass name after which the module and plan are dumped as text to dump_to (stdout when NULL),
   * or NULL for no dump. */
  const char *dump_after;
  FILE *dump_to;
  /* When set, the JSON report is written here (atomically) at the end of a successful compile;
   * failing to write it fails the compile. NULL: no report (mtcc_compilation_write_report can
   * still write one). */
  const char *report_path;
  /* Where the compilation's memory comes from (module, plan and their arenas); NULL: malloc.
   * It must outlive the compilation. */
  const struct mtcc_allocator *allocator;
  /* When set, the generated CUDA C is written into this folder (created when missing): one .cu
   * file per kernel, the dialect header mt_cuda.h and compile_commands.json. */
  const char *emit_cuda_dir;
  /* Non-zero: compile every generated kernel with NVRTC for every target of the manifest (sm_80,
   * sm_86, sm_89 and sm_90 when it names none, plus PTX of the newest); a compile error fails
   * the compile. Off by default, so a compile without it stays fast; fails with UNAVAILABLE when
   * mtcc was built without NVRTC. */
  int nvrtc;
  /* The memory budget in bytes: no tensor a model declares or computes (initializer, folded
   * constant, inferred intermediate) and no sum of constants may need more; such inputs fail
   * with MTCC_RESOURCE_EXHAUSTED naming the tensor and its size. 0: half the machine's physical
   * memory (less where RLIMIT_AS/RLIMIT_DATA are lower). */
  size_t memory_limit;
  /* NVRTC's on-disk cache (entries keyed by source, options, arch and NVRTC version, written
   * atomically; a corrupt entry is recompiled and rewritten). NULL: $MTCC_CACHE_DIR, else
   * $XDG_CACHE_HOME/mtcc, else ~/.cache/mtcc. no_cache non-zero: neither read nor written. */
  const char *cache_dir;
  int no_cache;
  /* When set, the report is also written here as one self-contained HTML page (timeline per
   * partition, tenants, fusion decisions, summary; see docs/report.md), atomically. NULL: none. */
  const char *report_html_path;
  /* Convolution kernel choices (docs/codegen.md, "Which conv path"). conv_split_k: 0 lets each
   * implicit-GEMM kernel split K when its tiles leave the partition's SMs idle, 1 never splits,
   * N > 1 asks for N slices. conv_gemm: 0 runs a 1x1 stride-1 unpadded conv as a GEMM library
   * call where the cost model predicts a win, 1 never, 2 always. */
  int conv_split_k;
  int conv_gemm;
  /* "[TENANT:]NAME=FILE" (a .npy or .pb tensor file): graph input NAME becomes a constant with
   * that value before the passes run, so the compile specialises on it (a shape operand fed as
   * an input: Reshape's shape, Slice's starts, TopK's k...). The tenant prefix may be left out
   * when there is one tenant. An unknown tenant or input, or a value whose dtype or shape
   * contradicts the model, fails the compile naming the spec. */
  const char *const *constant_inputs;
  int n_constant_inputs;
  /* Non-zero: generate the CPU backend's code (issue 14): every group the generator covers
   * lowered through LLVM into one shared object per CPU target, which a bundle then carries.
   * Off by default like nvrtc (LLVM takes a while per target); the CLI turns it on with -o.
   * Without LLVM in this build the compile still succeeds and the summary says the backend is
   * off. cpu_targets: "x86-64-v3,x86-64-v4" (NULL: both on x86-64 hosts). */
  int cpu_code;
  const char *cpu_targets;
} mtcc_compile_options;

/* Sets every field of *options to its default (no inputs, default target, built-in arch
 * parameters, every pass enabled, no dump, no report). Owns nothing; any thread. */
MTCC_API void mtcc_compile_options_init(mtcc_compile_options *options);

/* The result of a successful compile: the shared module of every tenant, its scheduled and
 * memory-planned plan, and the statistics behind the summary and the report. Read-only once
 * made; it owns all of that memory, and everything its accessors return lives until
 * mtcc_compilation_destroy. */
typedef struct mtcc_compilation mtcc_compilation;

/* Numbers of one compile (the "summary" object of the JSON report). */
typedef struct mtcc_compile_stats {
  int nodes_imported;  /* graph nodes as imported (all tenants, main graphs) */
  int kernels_unfused; /* live nodes after cleanup: one launch each without fusion */
  int fused_groups;
  int kernels_fused;                 /* horizontal groups: launches per round */
  int horizontal_formed;             /* horizontal groups with more than one member */
  double intermediate_bytes_unfused; /* every node output written to memory */
  double intermediate_bytes_fused;   /* only values that leave a fused group */
  size_t peak_arena_bytes, unplanned_bytes;
  double makespan_us;     /* predicted round makespan (max over partitions) */
  double sum_alone_us;    /* sum of tenants' predicted latencies, each alone */
  double compile_seconds; /* wall time of mtcc_compile */
} mtcc_compile_stats;

/* Compiles the workload that options name. On success *out_compilation receives a new
 * compilation that the caller owns and releases with mtcc_compilation_destroy; on failure it is
 * left untouched and the returned status (the caller's to free) says what went wrong. Reads
 * options and the files they name; writes only dump_to and report_path. Separate calls, each
 * with its own options and results, may run on different threads at once. */
MTCC_API MTCC_MUST_USE mtcc_status *mtcc_compile(const mtcc_compile_options *options,
                                                 mtcc_compilation **out_compilation);

/* The statistics of c; the struct lives until c is destroyed. */
MTCC_API const mtcc_compile_stats *mtcc_compilation_stats(const mtcc_compilation *c);
/* The target name c was compiled for ("sm_90"); lives until c is destroyed. */
MTCC_API const char *mtcc_compilation_target(const mtcc_compilation *c);
/* Tenants of c, in manifest order, and their names (NULL when index is out of range); names
 * live until c is destroyed. */
MTCC_API int mtcc_compilation_tenant_count(const mtcc_compilation *c);
MTCC_API const char *mtcc_compilation_tenant_name(const mtcc_compilation *c, int index);

/* Writes c's JSON report (targets, partitions, tenants with their fused groups, horizontal
 * groups, rejected fusions, summary) to path atomically: a temporary file renamed over path, so
 * readers never see half a report. Reads c only: several threads may write reports of one
 * compilation at once (to different paths). */
MTCC_API MTCC_MUST_USE mtcc_status *mtcc_compilation_write_report(const mtcc_compilation *c,
                                                                  const char *path);

/* Renders the JSON report at report_path (from mtcc_compilation_write_report or `mtcc compile
 * --report`) as one self-contained HTML page at html_path, atomically; the same report gives the
 * same bytes. A corrupt report, one of another mtcc_report_version, or a file that is not JSON
 * fails with a one-line status naming the file. Reads only its arguments; any thread. */
MTCC_API MTCC_MUST_USE mtcc_status *mtcc_report_render_html(const char *report_path,
                                                            const char *html_path);

/* Writes c as an .mtbundle at path (atomically: a temporary file renamed into place): the
 * manifest (tenants and their ports, partitions with granted SMs per arch, the plan's kernel
 * calls in schedule order with their buffers and waits, predicted times, the mtcc version) and
 * the deduplicated weights. The same compilation always gives the same bytes. Fails with
 * UNIMPLEMENTED for plans a bundle cannot hold yet (dynamic shapes, NonZero, control flow).
 * Reads c only. */
MTCC_API MTCC_MUST_USE mtcc_status *mtcc_compilation_write_bundle(const mtcc_compilation *c,
                                                                  const char *path);

/* Prints the human summary of c (one line per partition and tenant, fusion and memory totals,
 * predicted makespan) to out. Reads c only; the caller owns out and serialises its use. */
MTCC_API void mtcc_compilation_print_summary(const mtcc_compilation *c, FILE *out);

/* Releases c and everything it owns (NULL is fine). No pointer obtained from c may be used
 * afterwards; no other thread may be using c. */
MTCC_API void mtcc_compilation_destroy(mtcc_compilation *c);

#ifdef __cplusplus
}
#endif

#endif
