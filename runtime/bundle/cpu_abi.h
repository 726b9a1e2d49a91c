/* The contract between the CPU objects mtcc generates through LLVM (codegen/cpu) and libmtrt,
 * which loads the one matching the host (memfd + dlopen) and calls its kernels. Plain C types
 * only: the generated code and the runtime share nothing else.
 *
 * A CPU object is an ELF shared object exporting
 *   - `mt_cpu_abi_version`: a uint32_t equal to MT_CPU_ABI_VERSION;
 *   - one mt_cpu_kernel_fn per Manifest.cpu_groups[g].kernels[k].symbol.
 * A kernel receives the pointers its CpuKernel.args name (resolved exactly like a Node's
 * BufferRefs), and its share of the work: the runtime may call it from n_threads threads at once
 * with thread = 0 .. n_threads - 1, each call computing a disjoint part of the outputs, and waits
 * for all of them before the next kernel. Every output element is computed by one call in an
 * order that does not depend on n_threads, so results are identical for any thread count.
 * Kernels never allocate, never fail and never call back into the runtime. */
#ifndef MT_RUNTIME_BUNDLE_CPU_ABI_H
#define MT_RUNTIME_BUNDLE_CPU_ABI_H

#include <stdint.h>

#define MT_CPU_ABI_VERSION 1u
#define MT_CPU_ABI_VERSION_SYMBOL "mt_cpu_abi_version"

typedef void (*mt_cpu_kernel_fn)(void *const *args, int32_t thread, int32_t n_threads);

#endif
