/* Fibers for the CUDA emulator: one per emulated GPU thread, all on the calling OS thread.
 *
 * On x86-64 a switch saves only the callee-saved registers and the stack pointer (a few ns); other
 * architectures, or a build with EMU_FORCE_UCONTEXT, use ucontext, whose swapcontext makes a
 * sigprocmask system call per switch (hundreds of ns). MXCSR and the x87 control word are not
 * switched: emulated kernels never change them. */
#ifndef MT_EMU_FIBER_H
#define MT_EMU_FIBER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct emu_fiber {
  void *sp;  /* x86-64: saved stack pointer */
  void *uc;  /* ucontext_t when the fallback is used */
  char *map; /* mmap'ed region: guard page, then the stack */
  size_t map_size;
  const void *stack_lo; /* usable stack (for AddressSanitizer annotations) */
  size_t stack_size;
  void *asan_fake;
  void (*entry)(void); /* what a fresh fiber runs; must never return */
} emu_fiber;

/* Allocate the stack (with a guard page below it). Returns 0 or -1 when out of memory. */
int emu_fiber_alloc(emu_fiber *f, size_t stack_bytes);
void emu_fiber_release(emu_fiber *f);
/* Arm f so that the next switch to it starts entry() on a fresh stack. */
int emu_fiber_arm(emu_fiber *f, void (*entry)(void));
/* Save the running context in from and resume to. A context that is never resumed again (an
 * abandoned or finished fiber) may simply be dropped. */
void emu_fiber_switch(emu_fiber *from, emu_fiber *to);
/* Prepare a fiber that represents the calling (main) context. */
int emu_fiber_init_main(emu_fiber *f);
/* Which implementation is compiled in: "x86-64 register switch" or "ucontext". */
const char *emu_fiber_impl(void);

#ifdef __cplusplus
}
#endif

#endif
