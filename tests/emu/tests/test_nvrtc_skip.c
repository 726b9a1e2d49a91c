/* Stand-in for emu_nvrtc_test when CMake found no CUDA toolkit with NVRTC: says why and reports
 * "skipped" to CTest (exit code 77, SKIP_RETURN_CODE) instead of passing silently. */
#include <stdio.h>

#ifndef EMU_NVRTC_SKIP_REASON
#define EMU_NVRTC_SKIP_REASON "no CUDA toolkit"
#endif

int main(void) {
  printf("SKIPPED: the NVRTC check of the emulator's kernels needs the CUDA toolkit's NVRTC: %s\n",
         EMU_NVRTC_SKIP_REASON);
  return 77;
}
