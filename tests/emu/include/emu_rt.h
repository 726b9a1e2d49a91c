/* Host emulation of the CUDA execution model: the C runtime interface.
 *
 * This is test infrastructure. Kernels written in the mtcc CUDA C dialect (see mt_cuda.h and
 * docs/emulator.md) are compiled as C++ by the host compiler against emu_cuda.h, and launched through
 * this runtime, which runs every thread of a block as a cooperative fiber on the calling OS thread,
 * one block after another. Barriers, warp intrinsics and shared memory are modelled exactly enough to
 * catch the bugs a GPU would hide (races, divergent barriers, out-of-bounds accesses); errors are
 * reported through a return code and emu_last_error(), never by aborting the process.
 *
 * The runtime is single-threaded and not reentrant: one launch at a time, from one OS thread.
 * The parts of this header below "Internals" are used by the inline code of emu_cuda.h; they are not
 * an API for tests. */
#ifndef MT_EMU_RT_H
#define MT_EMU_RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EMU_NORETURN __attribute__((noreturn))
#define EMU_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define EMU_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define EMU_NORETURN
#define EMU_PRINTF(f, a)
#define EMU_UNLIKELY(x) (x)
#endif

/* Error codes returned by launches (0 = success). */
typedef enum emu_error {
  EMU_OK = 0,
  EMU_ERR_CONFIG,        /* invalid grid/block/shared-memory configuration */
  EMU_ERR_ARG,           /* a pointer argument that is not inside a registered buffer */
  EMU_ERR_OOB_GLOBAL,    /* global access outside the buffer the pointer argument points into */
  EMU_ERR_OOB_SHARED,    /* shared access outside the declared array / dynamic size */
  EMU_ERR_MISALIGNED,    /* access not aligned to the size of its type */
  EMU_ERR_UNINIT_SHARED, /* shared memory read before any thread of the block wrote it */
  EMU_ERR_RACE,          /* shared-memory data race between two barriers */
  EMU_ERR_BARRIER,       /* __syncthreads() not reached by all threads, or at different sites */
  EMU_ERR_WARP,          /* warp intrinsic misuse (lanes diverged, bad mask, bad source lane) */
  EMU_ERR_SMEM_LIMIT,    /* static + dynamic shared memory above the configured limit */
  EMU_ERR_TRAP,          /* the kernel called __trap() */
  EMU_ERR_DEADLOCK,      /* no thread can run but the block has not finished */
  EMU_ERR_NESTED,        /* launch while another launch is running */
  EMU_ERR_COMPILE,       /* emu_jit_load: the host compiler rejected the kernel source */
  EMU_ERR_INTERNAL,      /* out of memory or a bug in the emulator */
} emu_error;

typedef struct emu_dim3 {
  unsigned x, y, z;
} emu_dim3;

/* Checks that can be turned off (all on by default). Global bounds checks are always on. */
enum {
  EMU_CHECK_SMEM_INIT = 1u << 0, /* shared reads of never-written bytes */
  EMU_CHECK_SMEM_RACE = 1u << 1, /* shared-memory data races between barriers */
  EMU_CHECK_ALL = EMU_CHECK_SMEM_INIT | EMU_CHECK_SMEM_RACE,
};

typedef struct emu_config {
  unsigned checks;    /* EMU_CHECK_* mask */
  size_t smem_limit;  /* static + dynamic shared bytes per block; 48 KiB by default, like a
                             kernel that did not opt in to more (sm_80 allows 163 KiB, sm_90 227) */
  size_t stack_bytes; /* fiber stack size per thread (128 KiB); applies to new fibers */
  int reverse_blocks; /* run blocks in reverse linear order (surfaces order dependence) */
  int verbose;        /* also print each error to stderr */
} emu_config;

/* The live configuration; change fields between launches. */
emu_config *emu_get_config(void);

/* Device memory. emu_malloc returns memory filled with 0xFF bytes (NaN for floats, -1 for ints), so
 * reading an output the kernel never wrote shows up; it is registered as a buffer. emu_register makes
 * caller-owned memory usable as a kernel argument. Pointer arguments of a launch must point into (or
 * one past the end of) a registered buffer; the kernel may access only that buffer through them. */
void *emu_malloc(size_t bytes);
void emu_free(void *p);
int emu_register(void *p, size_t bytes);
int emu_unregister(void *p);

/* The message of the last failed launch or call ("" when none), and the name of a code. */
const char *emu_last_error(void);
const char *emu_error_name(int code);
void emu_clear_error(void);

/* Statistics of the last launch (for benchmarks and tests). */
typedef struct emu_stats {
  uint64_t blocks, threads, barriers, warp_ops, switches;
} emu_stats;
emu_stats emu_last_stats(void);

/* A launch of a kernel through a body run once per thread: body(ctx) is the kernel call. C++ code
 * uses emu::launch / EMU_LAUNCH from emu_cuda.h instead; C code calls kernels exported with
 * EMU_EXPORT_KERNEL (type emu_kernel_fn) or loaded with emu_jit_load. */
typedef void (*emu_body_fn)(void *ctx);
int emu_launch_body(const char *kernel_name, emu_dim3 grid, emu_dim3 block, size_t dyn_smem,
                    emu_body_fn body, void *ctx);

/* An exported kernel: args[i] points to the value of parameter i, as with cuLaunchKernel; a pointer
 * parameter's value is the device pointer (void *). */
typedef int (*emu_kernel_fn)(emu_dim3 grid, emu_dim3 block, size_t dyn_smem, void **args);

/* Compile a kernel source with the host C++ compiler against the emulation header and load it.
 * `kernels` names the extern "C" __global__ functions to export. extra_flags (may be NULL) is appended
 * to the compiler command line. The compiler is $EMU_CXX or the one CMake found; the include folder
 * is $EMU_INCLUDE_DIR or this source tree's. On failure the compiler output is in emu_last_error(). */
typedef struct emu_module emu_module;
int emu_jit_load(const char *source_path, const char *const *kernels, size_t n_kernels,
                 const char *extra_flags, emu_module **out);
emu_kernel_fn emu_module_kernel(const emu_module *m, const char *name);
void emu_module_free(emu_module *m);

/* ---------------------------------------------------------------------------------------------
 * Internals shared with emu_cuda.h
 * --------------------------------------------------------------------------------------------- */

typedef struct emu_thread {
  emu_dim3 tid;    /* threadIdx */
  unsigned linear; /* x + y*bx + z*bx*by */
  unsigned warp;   /* linear / 32 */
  unsigned lane;   /* linear % 32 */
  int state;       /* emu_thread_state in emu_sched.c */
  uint64_t wval;   /* warp-intrinsic operand, argument and result */
  int warg;
  uint64_t wres;
  int bar_pred, bar_res;
} emu_thread;

/* One byte of shared memory's shadow state. Stamps are global serials, so no reset is needed between
 * blocks or barriers: a stale stamp means "nothing recorded". */
typedef struct emu_shadow {
  uint32_t init_block; /* block serial of the last write; != current block means uninitialised */
  uint32_t epoch;      /* barrier epoch of the race state below */
  uint32_t wwe;        /* warp epoch at the write */
  uint32_t rwe, rwe2;  /* warp epochs at the last reads of reader / reader2 */
  uint32_t rwe3;       /* warp epoch at the last read of the further readers */
  uint16_t writer;     /* linear tid + 1 of the writer in this epoch, 0 = none */
  uint16_t reader;     /* linear tid + 1 of a reader in this epoch, 0 = none */
  uint16_t reader2;    /* linear tid + 1 of a second, distinct reader, 0 = none */
  int8_t rwarp;        /* warp of the further readers, -1 when they span several warps */
  uint8_t rmore;       /* more than two distinct readers */
  uint8_t watomic;     /* the write was an atomic */
} emu_shadow;

#define EMU_MAX_WARPS 32

typedef struct emu_globals {
  emu_thread *cur; /* the running thread */
  emu_dim3 block_idx, block_dim, grid_dim;
  unsigned checks;
  char *smem;                         /* shared arena of the running block */
  emu_shadow *shadow;                 /* one entry per byte of smem */
  size_t smem_dyn;                    /* dynamic bytes at smem[0..smem_dyn) */
  uint32_t block_serial;              /* unique per block run */
  uint32_t epoch;                     /* unique per barrier interval */
  uint32_t warp_epoch[EMU_MAX_WARPS]; /* number of __syncwarp() completed by each warp */
  uint32_t warp_full[EMU_MAX_WARPS];  /* warp_epoch value after its last full-warp __syncwarp() */
} emu_globals;

extern emu_globals emu_g;

/* Static shared declaration site: resolved once per block. */
typedef struct emu_smem_slot {
  uint32_t block_serial;
  char *ptr;
} emu_smem_slot;

char *emu_smem_static(emu_smem_slot *slot, size_t bytes, size_t align, const char *name);
const char *emu_smem_name(const void *p); /* name of the shared array holding p */

/* Did a __syncwarp() naming both lanes complete in warp `warp` after warp epoch e? (the slow path of
 * the race check's ordering test, for partial masks) */
int emu_warp_synced_since(unsigned warp, unsigned lane_a, unsigned lane_b, uint32_t e);

/* Barrier: kind 0 = __syncthreads, 1 = _count, 2 = _and, 3 = _or; returns the reduction. */
int emu_barrier(int kind, int pred, const char *file, int line);

enum emu_warp_kind {
  EMU_W_SHFL,
  EMU_W_SHFL_UP,
  EMU_W_SHFL_DOWN,
  EMU_W_SHFL_XOR,
  EMU_W_BALLOT,
  EMU_W_ANY,
  EMU_W_ALL,
  EMU_W_SYNC,
  EMU_W_MATCH_ANY,
  EMU_W_MATCH_ALL,
  EMU_W_RED_ADD,
  EMU_W_RED_MIN,
  EMU_W_RED_MAX,
  EMU_W_RED_UMIN,
  EMU_W_RED_UMAX,
  EMU_W_RED_AND,
  EMU_W_RED_OR,
  EMU_W_RED_XOR,
};
/* A warp collective: all lanes named in mask must arrive (lockstep point). size is the operand size
 * in bytes; value is the operand zero-extended. Returns the lane's result; for MATCH_ALL, bit 32 of the
 * result is the predicate. */
uint64_t emu_warp_op(int kind, unsigned mask, uint64_t value, unsigned size, int arg, int width,
                     const char *file, int line);

/* Error reporting from inside a kernel; never return (the launch is abandoned). */
EMU_NORETURN void emu_fail_global(int argi, uintptr_t lo, uintptr_t hi, uintptr_t addr, size_t size,
                                  int misaligned);
EMU_NORETURN void emu_fail_shared_oob(const void *base, long long index, long long extent,
                                      size_t elem_size);
/* other_write: 0 the other thread read, 1 wrote, 2 updated atomically, 3 read with further readers. */
EMU_NORETURN void emu_fail_shared(int code, size_t offset, unsigned other_tid, int other_write,
                                  int write, int atomic);
EMU_NORETURN void emu_fail(int code, const char *fmt, ...) EMU_PRINTF(2, 3);

/* Buffer lookup for pointer arguments at launch: returns 0 and the buffer bounds, or an error. */
int emu_buffer_lookup(const char *kernel, const void *p, int argi, uintptr_t *lo, uintptr_t *hi);
/* Record an error found before the kernel starts (argument conversion). */
int emu_set_error(int code, const char *fmt, ...) EMU_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif

#endif
