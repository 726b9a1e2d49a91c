/* Part of the helper mtcc-emulate (never linked into mtcc): runs a whole scheduled plan through
 * its generated CUDA program under the CPU emulation of CUDA (tests/emu), the way the GPU runtime
 * will run it.
 *
 * Every kernel of the program is compiled into one emulator module (one g++ run). Each partition's
 * arena is one emulator buffer of the memory plan's size, and every planned intermediate lives at
 * its arena offset, so a memory-plan or indexing bug corrupts results instead of going unseen.
 * Graph inputs, constants, graph outputs and group-internal values (a GEMM's scratch result) get
 * buffers of their own. The schedule is walked per partition, horizontal groups by position:
 * a group with a kernel launches it with the launch configuration the generator chose; a GEMM
 * library call runs runtime/cpu's reference SGEMM driven by its descriptor (with the cuBLASLt
 * epilogue it names), then its generated epilogue kernel; an If's conditional reads its
 * condition from emulator memory and runs the chosen body's steps (kernels, library calls, nested
 * conditionals, the copies into the If's outputs); a group codegen did not generate runs
 * on the reference executor node by node, reading and writing the same emulator memory. */
#ifndef MT_TOOLS_EMULATE_EMU_EXEC_H
#define MT_TOOLS_EMULATE_EMU_EXEC_H

#include "codegen/cuda.h"

typedef struct emu_exec_stats {
  int kernels_launched;
  int libcalls_run;
  int conds_then, conds_else; /* If conditionals run as generated code, by branch taken */
  int fallback_groups;        /* horizontal groups run on the reference executor */
  char fallback_ops[256];     /* distinct ops of those groups, comma-separated */
  double jit_seconds, run_seconds;
} emu_exec_stats;

/* Extra g++ flags for the kernels' emulator build (NULL: the emulator's -O1 -g); "-O0 -g0" halves
 * the compile time of the tiny conformance cases, whose emulated runs take milliseconds. */
void emu_exec_set_jit_flags(const char *flags);
/* Self-check of the executor: every planned buffer at offset 0 of its arena (a memory plan that
 * overlaps everything), which must corrupt results of any plan with two live intermediates. */
void emu_exec_set_overlap_buffers(bool on);

/* Runs every tenant of p through prog. inputs[t][i] is tenant t's input i; outputs[t][i] receives
 * a malloc'ed copy of output i (as mt_plan_reference_run). A kernel launch error (out-of-bounds
 * access, a race...) is an INTERNAL status naming the kernel; a g++ failure names the first
 * compiler lines. */
MT_MUST_USE mt_status *emu_exec_plan(const mt_plan *p, const mt_cuda_program *prog,
                                     mt_tensor *const *inputs, mt_tensor *const *outputs,
                                     emu_exec_stats *stats);

#endif
