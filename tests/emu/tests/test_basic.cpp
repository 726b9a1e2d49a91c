/* Emulator semantics: built-in indices in 1-3 dimensions, barriers, warp intrinsics, launch errors. */
#include <climits>

#include "harness.h"

#include "../kernels/basic.cu"

static int check_index_3d(dim3 grid, dim3 block) {
  unsigned nt = block.x * block.y * block.z, nb = grid.x * grid.y * grid.z;
  int *out = dev_alloc<int>(12 * (size_t)nt * nb);
  CHECK_OK(EMU_LAUNCH(index_3d, grid, block, 0, out));
  for (unsigned g = 0; g < nt * nb; g++) {
    unsigned t = g % nt, b = g / nt;
    const int *o = out + 12 * g;
    int want[12] = {(int)(t % block.x),
                    (int)(t / block.x % block.y),
                    (int)(t / (block.x * block.y)),
                    (int)(b % grid.x),
                    (int)(b / grid.x % grid.y),
                    (int)(b / (grid.x * grid.y)),
                    (int)block.x,
                    (int)block.y,
                    (int)block.z,
                    (int)grid.x,
                    (int)grid.y,
                    (int)grid.z};
    for (int k = 0; k < 12; k++) {
      if (o[k] != want[k]) fprintf(stderr, "thread %u field %d: %d != %d\n", g, k, o[k], want[k]);
      CHECK(o[k] == want[k]);
    }
  }
  emu_free(out);
  return 0;
}

EMU_TEST(index_1d_2d_3d) {
  CHECK(check_index_3d(dim3(5), dim3(96)) == 0);
  CHECK(check_index_3d(dim3(3, 4), dim3(16, 8)) == 0);
  CHECK(check_index_3d(dim3(3, 2, 2), dim3(4, 3, 2)) == 0);
  CHECK(check_index_3d(dim3(1, 1, 3), dim3(2, 2, 64)) == 0);
  emu_stats st = emu_last_stats();
  CHECK(st.blocks == 3 && st.threads == 3 * 256);
  return 0;
}

static int check_barrier(dim3 grid, dim3 block) {
  unsigned nt = block.x * block.y * block.z, nb = grid.x * grid.y * grid.z;
  int *out = dev_alloc<int>((size_t)nt * nb);
  int *counter = dev_alloc<int>(nb);
  std::memset(counter, 0, nb * sizeof(int));
  CHECK_OK(EMU_LAUNCH(barrier_all_arrive, grid, block, 0, out, counter));
  for (unsigned i = 0; i < nt * nb; i++) {
    if (out[i] != 31) fprintf(stderr, "thread %u of %u: flags %d\n", i % nt, nt, out[i]);
    CHECK(out[i] == 31);
  }
  emu_free(out);
  emu_free(counter);
  return 0;
}

EMU_TEST(barrier_waits_for_all) {
  CHECK(check_barrier(dim3(3), dim3(256)) == 0);
  CHECK(check_barrier(dim3(2), dim3(1024)) == 0);
  CHECK(check_barrier(dim3(2, 2), dim3(37)) == 0); /* partial last warp */
  CHECK(check_barrier(dim3(1), dim3(8, 4, 2)) == 0);
  CHECK(check_barrier(dim3(1), dim3(1)) == 0);
  return 0;
}

EMU_TEST(warp_intrinsics) {
  const unsigned nt = 64, nb = 2;
  int *out = dev_alloc<int>(12 * nt * nb);
  CHECK_OK(EMU_LAUNCH(warp_semantics, dim3(nb), dim3(nt), 0, out));
  unsigned ballot = 0;
  for (int l = 0; l < 32; l += 3) ballot |= 1u << l;
  for (unsigned g = 0; g < nt * nb; g++) {
    int lane = (int)(g % 32), seg8 = lane & ~7, seg16 = lane & ~15;
    const int *o = out + 12 * g;
    int want[12] = {30,
                    10 * (seg8 | ((lane + 1) & 7)),
                    lane - 2 >= seg16 ? lane - 2 : lane,
                    lane + 3 < seg16 + 16 ? lane + 3 : lane,
                    lane ^ 5,
                    (int)ballot,
                    1,
                    0,
                    (int)(0xFu << (4 * (lane / 4))),
                    496,
                    10,
                    lane < 16 ? lane ^ 1 : lane ^ 2};
    for (int k = 0; k < 12; k++) {
      if (o[k] != want[k]) fprintf(stderr, "thread %u result %d: %d != %d\n", g, k, o[k], want[k]);
      CHECK(o[k] == want[k]);
    }
  }
  CHECK(emu_last_stats().warp_ops > 0);
  emu_free(out);
  return 0;
}

EMU_TEST(syncwarp_orders_shared_memory) {
  std::vector<float> hx = emu_test_random(64, 1, -1, 1);
  float *x = dev_copy(hx), *y = dev_alloc<float>(64);
  CHECK_OK(EMU_LAUNCH(syncwarp_exchange, dim3(1), dim3(64), 0, x, y));
  for (int i = 0; i < 64; i++) CHECK(y[i] == 2.0f * hx[i]);
  CHECK_OK(EMU_LAUNCH(syncwarp_broadcast, dim3(1), dim3(32), 0, x, y));
  for (int i = 0; i < 32; i++) CHECK(y[i] == 3.0f * hx[0]);
  CHECK_OK(EMU_LAUNCH(syncwarp_halves, dim3(1), dim3(32), 0, x, y));
  for (int i = 0; i < 32; i++) CHECK(y[i] == hx[i]);
  emu_free(x);
  emu_free(y);
  return 0;
}

EMU_TEST(launch_errors) {
  int *out = dev_alloc<int>(12 * 2048);
  CHECK_ERR(EMU_LAUNCH(index_3d, dim3(1), dim3(1025), 0, out), EMU_ERR_CONFIG, "invalid block");
  CHECK_ERR(EMU_LAUNCH(index_3d, dim3(1), dim3(2, 2, 65), 0, out), EMU_ERR_CONFIG, "invalid block");
  CHECK_ERR(EMU_LAUNCH(index_3d, dim3(0), dim3(32), 0, out), EMU_ERR_CONFIG, "invalid grid");
  CHECK_ERR(EMU_LAUNCH(index_3d, dim3(1, 70000), dim3(32), 0, out), EMU_ERR_CONFIG, "invalid grid");
  CHECK_ERR(EMU_LAUNCH(index_3d, dim3(1), dim3(32), 64 * 1024, out), EMU_ERR_SMEM_LIMIT,
            "exceed the limit");
  int on_stack[12 * 32];
  CHECK_ERR(EMU_LAUNCH(index_3d, dim3(1), dim3(32), 0, on_stack), EMU_ERR_ARG, "pointer argument 0",
            "not inside a buffer");
  /* Caller-owned memory becomes usable once registered. */
  CHECK_OK(emu_register(on_stack, sizeof on_stack));
  CHECK_OK(EMU_LAUNCH(index_3d, dim3(1), dim3(32), 0, on_stack));
  CHECK(on_stack[12 * 31] == 31);
  CHECK_OK(emu_unregister(on_stack));
  CHECK(emu_register(out + 5, 4) == EMU_ERR_ARG); /* overlaps out */
  emu_free(out);
  return 0;
}

EMU_TEST(reverse_block_order) {
  emu_get_config()->reverse_blocks = 1;
  int rc = check_index_3d(dim3(4, 3), dim3(8, 2));
  emu_get_config()->reverse_blocks = 0;
  CHECK(rc == 0);
  return 0;
}
