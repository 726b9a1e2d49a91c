/* Emulator internals shared by emu_sched.c (scheduling) and emu_check.c (errors, buffers, shared
 * memory bookkeeping). */
#ifndef MT_EMU_INTERNAL_H
#define MT_EMU_INTERNAL_H

#include "emu_fiber.h"
#include "emu_rt.h"

#define EMU_SYNC_RING 64

enum emu_thread_state { TS_RUNNABLE, TS_BAR, TS_WARP, TS_EXITED };

/* A warp collective some lanes have reached and others not yet. */
typedef struct emu_wpending {
  unsigned mask, arrived; /* named lanes that exist; those that arrived */
  unsigned umask;         /* the mask as the kernel passed it */
  int kind, width;
  unsigned size;
  const char *file;
  int line;
  unsigned first_lane;
} emu_wpending;

typedef struct emu_warp_state {
  unsigned existing; /* lanes that exist (the last warp of a block may be partial) */
  unsigned exited;   /* lanes that returned from the kernel */
  unsigned at_bar;   /* lanes waiting at __syncthreads() */
  int npending;
  emu_wpending pend[32];
  unsigned sync_ring[EMU_SYNC_RING]; /* mask of __syncwarp() number k at [k % EMU_SYNC_RING] */
} emu_warp_state;

typedef struct emu_smem_record {
  const char *name;
  size_t off, bytes;
} emu_smem_record;

#define EMU_MAX_SMEM_RECORDS 64

typedef struct emu_launch_state {
  int active;
  const char *kernel;
  emu_dim3 grid, block;
  size_t dyn_smem;
  emu_body_fn body;
  void *ctx;
  unsigned nthreads, nwarps;

  /* thread pool (grown as needed, kept between launches) */
  emu_thread *th;
  emu_fiber *fib;
  unsigned *ready;
  unsigned cap, fibers_ready;
  size_t fiber_stack;
  emu_fiber main;
  int main_ready;
  unsigned rhead, rcount;

  unsigned live, exited, first_exited;

  /* the block barrier */
  unsigned bar_arrived, bar_first;
  int bar_kind, bar_acc, bar_line;
  const char *bar_file;

  emu_warp_state warps[EMU_MAX_WARPS];

  /* shared memory arena */
  char *arena;
  emu_shadow *shadow;
  size_t arena_cap, smem_used;
  emu_smem_record rec[EMU_MAX_SMEM_RECORDS];
  unsigned nrec;

  int error;
  emu_stats stats;
} emu_launch_state;

extern emu_launch_state emu_L;
extern emu_config emu_cfg;

/* Abandon the running block: switch to the launch's main context for good. */
EMU_NORETURN void emu_sched_abort(void);
/* "(x,y,z)" of a linear thread id, in buf. */
const char *emu_fmt_tid(unsigned linear, char *buf, size_t n);
/* Record a launch error message (prefix included) and code. */
void emu_record_error(int code, const char *msg);
/* Reset the shared-memory records for a new block (dynamic region first). */
void emu_smem_block_start(void);

#endif
