/* CUDA constructs outside the emulated dialect (part of emu_cuda.h, included last).
 *
 * Each one fails to compile with a message that names it, instead of compiling to something that
 * silently behaves differently from a GPU. Kernel sources must not include other headers after
 * mt_cuda.h: some of these are macros. */
#ifndef MT_EMU_UNSUPPORTED_H
#define MT_EMU_UNSUPPORTED_H

#define __shared__                                                                                 \
  static_assert(false, "emu: declare shared memory with MT_SHARED(T, name, dims) or "              \
                       "MT_DYN_SHARED(T, name), not __shared__");
#define __constant__                                                                               \
  static_assert(false,                                                                             \
                "emu: __constant__ memory is not supported; pass values as kernel parameters");
#define __managed__ static_assert(false, "emu: __managed__ memory is not supported");
#define asm                                                                                        \
  static_assert(false, "emu: inline PTX asm is not supported by the emulator");                    \
  __asm__

namespace emu {
template <class T> long long unsupported_clock() {
  static_assert(dependent_false<T>, "emu: clock()/clock64() read the GPU clock; the emulator does "
                                    "not model timing");
  return 0;
}
} // namespace emu
#define clock() ::emu::unsupported_clock<void>()
#define clock64() ::emu::unsupported_clock<void>()

#define EMU_UNSUPPORTED_FN(fn, msg)                                                                \
  template <class... A> inline unsigned fn(A...) {                                                 \
    static_assert(::emu::dependent_false<A...>, "emu: " msg);                                      \
    return 0;                                                                                      \
  }
EMU_UNSUPPORTED_FN(__activemask, "__activemask() is not supported: lanes only run in lockstep at "
                                 "*_sync intrinsics; name the lanes with an explicit mask")
EMU_UNSUPPORTED_FN(__shfl, "__shfl without _sync is removed since Volta; use __shfl_sync")
EMU_UNSUPPORTED_FN(__shfl_up, "__shfl_up without _sync is removed since Volta; use __shfl_up_sync")
EMU_UNSUPPORTED_FN(__shfl_down,
                   "__shfl_down without _sync is removed since Volta; use __shfl_down_sync")
EMU_UNSUPPORTED_FN(__shfl_xor,
                   "__shfl_xor without _sync is removed since Volta; use __shfl_xor_sync")
EMU_UNSUPPORTED_FN(__ballot, "__ballot without _sync is removed since Volta; use __ballot_sync")
EMU_UNSUPPORTED_FN(__any, "__any without _sync is removed since Volta; use __any_sync")
EMU_UNSUPPORTED_FN(__all, "__all without _sync is removed since Volta; use __all_sync")
EMU_UNSUPPORTED_FN(__nanosleep, "__nanosleep is not supported: the emulator has no timing")
EMU_UNSUPPORTED_FN(__prof_trigger, "__prof_trigger is not supported")
#undef EMU_UNSUPPORTED_FN

/* Device-side assert reports through the launch status instead of aborting the test process. */
#undef assert
#define assert(e)                                                                                  \
  ((e) ? (void)0 : emu_fail(EMU_ERR_TRAP, "assertion `%s` failed at %s:%d", #e, __FILE__, __LINE__))

#endif
