/* Fibers: a register-only context switch on x86-64, ucontext elsewhere (see emu_fiber.h). */
#include "emu_fiber.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__) && !defined(EMU_FORCE_UCONTEXT)
#define EMU_FIBER_ASM 1
#else
#define EMU_FIBER_ASM 0
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMU_ASAN 1
#endif
#endif
#ifndef EMU_ASAN
#define EMU_ASAN 0
#endif

#if EMU_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
                                     size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

/* The fiber being switched to, read by a fresh fiber's entry (ucontext passes no pointer), and the
 * one switched from, whose stack bounds AddressSanitizer reports when it is the main context. */
static emu_fiber *g_to;
#if EMU_ASAN
static emu_fiber *g_from;
#endif

static void fiber_after_switch(emu_fiber *self) {
#if EMU_ASAN
  const void *bottom = NULL;
  size_t size = 0;
  __sanitizer_finish_switch_fiber(self ? self->asan_fake : NULL, &bottom, &size);
  if (g_from && !g_from->stack_lo) {
    g_from->stack_lo = bottom;
    g_from->stack_size = size;
  }
#else
  (void)self;
#endif
}

/* First code a fresh fiber runs: it never returns (entry switches away for good). */
__attribute__((visibility("hidden"), used)) void emu_fiber_entry_c(void);
void emu_fiber_entry_c(void) {
  emu_fiber *self = g_to;
  fiber_after_switch(NULL);
  self->entry();
  abort(); /* entry must not return */
}

#if EMU_FIBER_ASM
/* emu_fiber_swap(void **save_sp, void *new_sp): push the callee-saved registers, save rsp, load the
 * new rsp, pop its registers and return into it. A fresh stack "returns" into emu_fiber_start. */
__asm__(".text\n"
        ".p2align 4\n"
        ".globl emu_fiber_swap\n"
        ".hidden emu_fiber_swap\n"
        ".type emu_fiber_swap,@function\n"
        "emu_fiber_swap:\n"
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size emu_fiber_swap, .-emu_fiber_swap\n"
        ".p2align 4\n"
        ".globl emu_fiber_start\n"
        ".hidden emu_fiber_start\n"
        ".type emu_fiber_start,@function\n"
        "emu_fiber_start:\n"
        "  xorl %ebp, %ebp\n"
        "  call emu_fiber_entry_c\n"
        "  ud2\n"
        ".size emu_fiber_start, .-emu_fiber_start\n");
void emu_fiber_swap(void **save_sp, void *new_sp);
void emu_fiber_start(void);
#endif

const char *emu_fiber_impl(void) { return EMU_FIBER_ASM ? "x86-64 register switch" : "ucontext"; }

int emu_fiber_alloc(emu_fiber *f, size_t stack_bytes) {
  memset(f, 0, sizeof *f);
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t usable = (stack_bytes + page - 1) / page * page;
  size_t total = usable + page;
  void *m =
      mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (m == MAP_FAILED) return -1;
  /* Guard page: a stack overflow faults instead of corrupting the neighbouring fiber's stack. */
  if (mprotect(m, page, PROT_NONE) != 0) {
    munmap(m, total);
    return -1;
  }
  f->map = (char *)m;
  f->map_size = total;
  f->stack_lo = f->map + page;
  f->stack_size = usable;
#if !EMU_FIBER_ASM
  f->uc = calloc(1, sizeof(ucontext_t));
  if (!f->uc) {
    emu_fiber_release(f);
    return -1;
  }
#endif
  return 0;
}

void emu_fiber_release(emu_fiber *f) {
  if (f->map) munmap(f->map, f->map_size);
  free(f->uc);
  memset(f, 0, sizeof *f);
}

int emu_fiber_init_main(emu_fiber *f) {
  memset(f, 0, sizeof *f);
#if !EMU_FIBER_ASM
  f->uc = calloc(1, sizeof(ucontext_t));
  if (!f->uc) return -1;
#endif
  return 0;
}

int emu_fiber_arm(emu_fiber *f, void (*entry)(void)) {
  f->entry = entry;
#if EMU_ASAN
  /* A fiber that was abandoned or finished never unwound its frames: clear their poisoning. */
  __asan_unpoison_memory_region(f->stack_lo, f->stack_size);
#endif
#if EMU_FIBER_ASM
  uintptr_t top = ((uintptr_t)f->stack_lo + f->stack_size) & ~(uintptr_t)15;
  /* After six pops and the ret, rsp = sp + 56 must be 16-byte aligned so that emu_fiber_start's call
   * gives its callee the ABI's entry alignment (rsp + 8 aligned). */
  uintptr_t *sp = (uintptr_t *)(top - 72);
  memset(sp, 0, 72);
  sp[6] = (uintptr_t)emu_fiber_start;
  f->sp = sp;
  return 0;
#else
  ucontext_t *uc = (ucontext_t *)f->uc;
  if (getcontext(uc) != 0) return -1;
  uc->uc_stack.ss_sp = (void *)f->stack_lo;
  uc->uc_stack.ss_size = f->stack_size;
  uc->uc_link = NULL;
  makecontext(uc, emu_fiber_entry_c, 0);
  return 0;
#endif
}

void emu_fiber_switch(emu_fiber *from, emu_fiber *to) {
  g_to = to;
#if EMU_ASAN
  g_from = from;
  __sanitizer_start_switch_fiber(&from->asan_fake, to->stack_lo, to->stack_size);
#endif
#if EMU_FIBER_ASM
  emu_fiber_swap(&from->sp, to->sp);
#else
  swapcontext((ucontext_t *)from->uc, (ucontext_t *)to->uc);
#endif
  fiber_after_switch(from);
}
