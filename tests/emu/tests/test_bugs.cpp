/* Planted bugs the emulator must report, with the thread and block that made them, through the
 * launch status (never by aborting); and the emulator must keep working after each. */
#include "harness.h"

#include "../kernels/bugs.cu"

/* Defined in kernels/reduce.cu (compiled with test_reduce.cpp). */
extern "C" __global__ void block_reduce_sum(MT_GLOBAL(const float) x, MT_GLOBAL(float) partial,
                                            int n);

/* After a failed launch the emulator must run a correct kernel normally. */
static int still_works(void) {
  const int n = 512;
  std::vector<float> hx(n, 1.0f);
  float *x = dev_copy(hx), *p = dev_alloc<float>(2);
  CHECK_OK(EMU_LAUNCH(block_reduce_sum, dim3(2), dim3(128), 128 * sizeof(float), x, p, n));
  CHECK(p[0] + p[1] == (float)n);
  emu_free(x);
  emu_free(p);
  return 0;
}

EMU_TEST(bug_missing_barrier_is_race) {
  std::vector<float> hx = emu_test_random(256, 1, 0, 1);
  float *x = dev_copy(hx), *out = dev_alloc<float>(2);
  CHECK_ERR(EMU_LAUNCH(bug_missing_barrier, dim3(2), dim3(128), 0, x, out), EMU_ERR_RACE,
            "shared-memory data race", "shared array `s`", "block (0,0,0), thread (1,0,0)",
            "after thread (0,0,0) read it");
  CHECK(still_works() == 0);
  /* With race checking off the same kernel runs to the end (the result is then schedule-dependent). */
  emu_get_config()->checks = EMU_CHECK_SMEM_INIT;
  int rc = EMU_LAUNCH(bug_missing_barrier, dim3(2), dim3(128), 0, x, out);
  emu_get_config()->checks = EMU_CHECK_ALL;
  CHECK_OK(rc);
  emu_free(x);
  emu_free(out);
  return 0;
}

EMU_TEST(bug_oob_write_reported) {
  const int n = 100;
  std::vector<float> hx(n, 1.0f);
  float *x = dev_copy(hx), *y = dev_alloc<float>(n);
  CHECK_ERR(EMU_LAUNCH(bug_oob_write, dim3(2), dim3(64), 0, x, y, n), EMU_ERR_OOB_GLOBAL,
            "out-of-bounds global access", "block (1,0,0), thread (36,0,0)", "pointer argument 1",
            "byte offset 400 (element 100)", "holds 400 bytes");
  /* The write never happened: the byte past the buffer (inside the 256-byte allocation) is intact. */
  unsigned char *tail = (unsigned char *)(y + n);
  CHECK(tail[0] == 0xFF && tail[3] == 0xFF);
  /* Every in-range element was written before the failing thread ran. */
  for (int i = 0; i < 64; i++) CHECK(y[i] == 2.0f);
  CHECK(still_works() == 0);
  emu_free(x);
  emu_free(y);
  return 0;
}

EMU_TEST(bug_divergent_barrier_reported) {
  float *y = dev_alloc<float>(128);
  CHECK_ERR(EMU_LAUNCH(bug_divergent_barrier, dim3(1), dim3(128), 0, y), EMU_ERR_BARRIER,
            "thread (64,0,0)", "thread exited while 64 thread(s) wait at __syncthreads()",
            "bugs.cu:");
  CHECK(still_works() == 0);
  emu_free(y);
  return 0;
}

EMU_TEST(bug_early_return_reported) {
  const int n = 100;
  std::vector<float> hx(n, 1.0f);
  float *x = dev_copy(hx), *y = dev_alloc<float>(n);
  CHECK_ERR(EMU_LAUNCH(bug_early_return, dim3(2), dim3(64), 0, x, y, n), EMU_ERR_BARRIER,
            "block (1,0,0), thread (36,0,0)", "exited while 36 thread(s) wait");
  emu_free(x);
  emu_free(y);
  return 0;
}

EMU_TEST(bug_barrier_sites_reported) {
  float *y = dev_alloc<float>(32);
  CHECK_ERR(EMU_LAUNCH(bug_barrier_sites, dim3(1), dim3(32), 0, y), EMU_ERR_BARRIER,
            "divergent barrier", "thread (1,0,0)",
            "while thread (0,0,0) waits at __syncthreads() at");
  emu_free(y);
  return 0;
}

EMU_TEST(bug_uninit_shared_reported) {
  std::vector<float> hx(32, 1.0f);
  float *x = dev_copy(hx), *y = dev_alloc<float>(32);
  CHECK_ERR(EMU_LAUNCH(bug_uninit_shared, dim3(1), dim3(32), 0, x, y), EMU_ERR_UNINIT_SHARED,
            "read of uninitialized shared memory", "byte 252 of shared array `s`",
            "thread (31,0,0)");
  /* With the check off, the poison shows up in the result: NaN. */
  emu_get_config()->checks = 0;
  int rc = EMU_LAUNCH(bug_uninit_shared, dim3(1), dim3(32), 0, x, y);
  emu_get_config()->checks = EMU_CHECK_ALL;
  CHECK_OK(rc);
  for (int i = 0; i < 32; i++) CHECK(std::isnan(y[i]));
  emu_free(x);
  emu_free(y);
  return 0;
}

EMU_TEST(bug_shared_oob_reported) {
  std::vector<float> hx(32, 1.0f);
  float *x = dev_copy(hx), *y = dev_alloc<float>(64);
  CHECK_ERR(EMU_LAUNCH(bug_shared_oob, dim3(1), dim3(32), 0, x, y), EMU_ERR_OOB_SHARED,
            "index 32 outside [0, 32) of shared array `s`", "thread (31,0,0)");
  CHECK_ERR(EMU_LAUNCH(bug_dyn_shared_oob, dim3(1), dim3(32), 16 * sizeof(float), y),
            EMU_ERR_OOB_SHARED, "index 16 outside [0, 16) of dynamic shared memory",
            "thread (16,0,0)");
  CHECK_ERR(EMU_LAUNCH(bug_smem_overflow, dim3(1), dim3(32), 44 * 1024, y), EMU_ERR_SMEM_LIMIT,
            "`big`", "does not fit");
  /* Opting in to more shared memory (as cudaFuncSetAttribute would) makes it fit. */
  emu_get_config()->smem_limit = 227 * 1024;
  int rc = EMU_LAUNCH(bug_smem_overflow, dim3(1), dim3(32), 44 * 1024, y);
  emu_get_config()->smem_limit = 48 * 1024;
  CHECK_OK(rc);
  CHECK(y[0] == 3.0f);
  emu_free(x);
  emu_free(y);
  return 0;
}

EMU_TEST(bug_warp_divergence_reported) {
  std::vector<float> hx(32, 1.0f);
  float *x = dev_copy(hx), *y = dev_alloc<float>(32);
  CHECK_ERR(EMU_LAUNCH(bug_warp_divergent, dim3(1), dim3(32), 0, x, y), EMU_ERR_WARP,
            "lane 16 exited while lanes of its warp wait for it at __shfl_down_sync");
  CHECK_ERR(EMU_LAUNCH(bug_shfl_unnamed_source, dim3(1), dim3(32), 0, x, y), EMU_ERR_WARP,
            "lane 8 reads lane 16, which is not named in the mask");
  CHECK_ERR(EMU_LAUNCH(bug_warp_race, dim3(1), dim3(32), 0, x, y), EMU_ERR_RACE, "thread (0,0,0)",
            "writes it after thread (31,0,0) read it");
  CHECK_ERR(EMU_LAUNCH(bug_half_warp_race, dim3(1), dim3(32), 0, x, y), EMU_ERR_RACE,
            "shared array `s`", "(nor a __syncwarp() for two lanes of one warp)");
  CHECK(still_works() == 0);
  emu_free(x);
  emu_free(y);
  return 0;
}

EMU_TEST(bug_misaligned_reported) {
  std::vector<float> hx(256, 1.0f);
  float *x = dev_copy(hx), *y = dev_alloc<float>(32);
  CHECK_ERR(EMU_LAUNCH(bug_misaligned, dim3(1), dim3(32), 0, x, y), EMU_ERR_MISALIGNED,
            "misaligned 16-byte global access at byte offset 4", "thread (0,0,0)");
  emu_free(x);
  emu_free(y);
  return 0;
}
