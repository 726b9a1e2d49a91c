/* A minimal harness for the emulator's own tests: each test is a function returning 0 on success,
 * registered by name; `emu_tests NAME` runs one (CTest runs each as its own test). System headers come
 * first because a kernel source included after mt_cuda.h must be the last thing that includes any. */
#ifndef MT_EMU_TEST_HARNESS_H
#define MT_EMU_TEST_HARNESS_H

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "emu_rt.h"

typedef int (*emu_test_fn)(void);
void emu_test_register(const char *name, emu_test_fn fn);

struct emu_test_registrar {
  emu_test_registrar(const char *name, emu_test_fn fn) { emu_test_register(name, fn); }
};

#define EMU_TEST(name)                                                                             \
  static int name(void);                                                                           \
  static emu_test_registrar emu_reg_##name(#name, name);                                           \
  static int name(void)

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                     \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

#define CHECK_OK(expr)                                                                             \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ != EMU_OK) {                                                                           \
      fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #expr,                    \
              emu_error_name(rc_), emu_last_error());                                              \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

/* The launch must fail with `code` and a message containing every one of the given substrings. */
int emu_expect_error(const char *file, int line, int rc, int code, const char *const *subs,
                     size_t nsubs);
#define CHECK_ERR(expr, code, ...)                                                                 \
  do {                                                                                             \
    const char *const subs_[] = {__VA_ARGS__};                                                     \
    if (emu_expect_error(__FILE__, __LINE__, (expr), (code), subs_,                                \
                         sizeof subs_ / sizeof subs_[0]))                                          \
      return 1;                                                                                    \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
  do {                                                                                             \
    double a_ = (a), b_ = (b);                                                                     \
    if (!(std::fabs(a_ - b_) <= (tol) * (1.0 + std::fabs(b_)))) {                                  \
      fprintf(stderr, "%s:%d: %s = %.9g, expected %s = %.9g\n", __FILE__, __LINE__, #a, a_, #b,    \
              b_);                                                                                 \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

/* Device buffers (emu_malloc: registered, filled with 0xFF). */
template <class T> T *dev_alloc(size_t n) { return static_cast<T *>(emu_malloc(n * sizeof(T))); }
template <class T> T *dev_copy(const std::vector<T> &v) {
  T *p = dev_alloc<T>(v.size());
  if (p && !v.empty()) std::memcpy((void *)p, (const void *)v.data(), v.size() * sizeof(T));
  return p;
}

/* Deterministic pseudo-random floats in [lo, hi). */
std::vector<float> emu_test_random(size_t n, unsigned seed, float lo, float hi);

#endif
