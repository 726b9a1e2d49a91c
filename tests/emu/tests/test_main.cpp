/* Entry point of the emulator's test executable: `emu_tests NAME` runs one registered test,
 * `emu_tests --check-list NAME...` verifies that the names CTest knows are exactly the registered ones
 * (so no test is silently left out), `emu_tests --all` runs everything. */
#include <string>

#include "harness.h"

namespace {
struct entry {
  const char *name;
  emu_test_fn fn;
};
std::vector<entry> &registry() {
  static std::vector<entry> r;
  return r;
}
} // namespace

void emu_test_register(const char *name, emu_test_fn fn) { registry().push_back({name, fn}); }

int emu_expect_error(const char *file, int line, int rc, int code, const char *const *subs,
                     size_t nsubs) {
  const char *msg = emu_last_error();
  if (rc != code) {
    fprintf(stderr, "%s:%d: expected %s, got %s: %s\n", file, line, emu_error_name(code),
            emu_error_name(rc), msg);
    return 1;
  }
  for (size_t i = 0; i < nsubs; i++) {
    if (!std::strstr(msg, subs[i])) {
      fprintf(stderr, "%s:%d: %s message lacks \"%s\": %s\n", file, line, emu_error_name(code),
              subs[i], msg);
      return 1;
    }
  }
  printf("  reported as expected (%s): %s\n", emu_error_name(code), msg);
  return 0;
}

std::vector<float> emu_test_random(size_t n, unsigned seed, float lo, float hi) {
  std::vector<float> v(n);
  unsigned long long s = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    v[i] = lo + (hi - lo) * (float)((s >> 40) & 0xFFFFFF) / 16777216.0f;
  }
  return v;
}

static int run(const entry &e) {
  printf("[ RUN  ] %s\n", e.name);
  fflush(stdout);
  emu_clear_error();
  int rc = e.fn();
  printf("[ %s ] %s\n", rc ? "FAIL" : " OK ", e.name);
  return rc;
}

int main(int argc, char **argv) {
  if (argc >= 2 && std::string(argv[1]) == "--check-list") {
    int bad = 0;
    for (const entry &e : registry()) {
      bool listed = false;
      for (int i = 2; i < argc; i++) listed |= std::string(argv[i]) == e.name;
      if (!listed) {
        fprintf(stderr,
                "test %s is registered but not listed in CMakeLists.txt (EMU_KERNEL_TESTS)\n",
                e.name);
        bad = 1;
      }
    }
    for (int i = 2; i < argc; i++) {
      bool found = false;
      for (const entry &e : registry()) found |= std::string(argv[i]) == e.name;
      if (!found) {
        fprintf(stderr, "test %s is listed in CMakeLists.txt but not registered\n", argv[i]);
        bad = 1;
      }
    }
    return bad;
  }
  if (argc == 2 && std::string(argv[1]) == "--all") {
    int failed = 0;
    for (const entry &e : registry()) failed += run(e) != 0;
    printf("%d of %zu tests failed\n", failed, registry().size());
    return failed != 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s NAME | --all | --check-list NAME...\n", argv[0]);
    return 2;
  }
  for (const entry &e : registry())
    if (e.name == std::string(argv[1])) return run(e);
  fprintf(stderr, "no test named %s\n", argv[1]);
  return 2;
}
