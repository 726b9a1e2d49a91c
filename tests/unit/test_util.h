/* Shared scaffolding for the cmocka unit tests: status assertions and temporary folders.
 * Header-only (static inline): each tests/unit/test_*.c is built as its own executable. */
#ifndef MT_TESTS_TEST_UTIL_H
#define MT_TESTS_TEST_UTIL_H

/* cmocka needs these before its header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/base/status.h"

/* CTest's skip code (SKIP_RETURN_CODE on every cmocka test in tests/CMakeLists.txt). cmocka's own
 * skip() reports success, so a test that skipped would pass unnoticed: skip() is redefined here to
 * count skips, and main returns tu_exit_code(failed) — 1 when a test failed, else 77 when any test
 * skipped, else 0. */
#define TU_SKIP_RETURN_CODE 77
static int tu_skipped;
#undef skip
#define skip() (tu_skipped++, _skip(__FILE__, __LINE__))
static inline int tu_exit_code(int failed) {
  if (failed) return 1;
  if (tu_skipped) {
    printf("%d test(s) skipped: exiting with %d (CTest reports the test as skipped)\n", tu_skipped,
           TU_SKIP_RETURN_CODE);
    return TU_SKIP_RETURN_CODE;
  }
  return 0;
}

/* Fails the test with the status message when st is an error. */
#define assert_ok(expr)                                                                            \
  do {                                                                                             \
    mt_status *tu_st_ = (expr);                                                                    \
    if (tu_st_) {                                                                                  \
      print_error("unexpected error: %s: %s\n", mt_status_code_name(mt_status_code_of(tu_st_)),    \
                  mt_status_message(tu_st_));                                                      \
      mt_status_free(tu_st_);                                                                      \
      fail();                                                                                      \
    }                                                                                              \
  } while (0)

/* Checks that st is an error of `code` whose message contains every string of the NULL-terminated
 * list; frees st. Returns false (after printing why) so the caller can fail at its own line. */
static inline bool tu_status_matches(mt_status *st, mt_status_code code,
                                     const char *const *needles) {
  if (!st) {
    print_error("expected %s, got OK\n", mt_status_code_name(code));
    return false;
  }
  bool ok = true;
  const char *msg = mt_status_message(st);
  if (mt_status_code_of(st) != code) {
    print_error("expected %s, got %s: %s\n", mt_status_code_name(code),
                mt_status_code_name(mt_status_code_of(st)), msg);
    ok = false;
  }
  for (size_t i = 0; ok && needles[i]; i++)
    if (!strstr(msg, needles[i])) {
      print_error("message lacks \"%s\": %s\n", needles[i], msg);
      ok = false;
    }
  if (ok && strchr(msg, '\n')) {
    print_error("message spans several lines: %s\n", msg);
    ok = false;
  }
  mt_status_free(st);
  return ok;
}
#define assert_status(expr, code, ...)                                                             \
  assert_true(tu_status_matches((expr), (code), (const char *const[]){__VA_ARGS__, NULL}))
#define assert_error(expr, code)                                                                   \
  assert_true(tu_status_matches((expr), (code), (const char *const[]){NULL}))

/* A fresh folder under $TMPDIR (or /tmp); the caller frees the string after tu_rmtree. */
static inline char *tu_mkdtemp(void) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base) base = "/tmp";
  size_t n = strlen(base) + 32;
  char *p = malloc(n);
  assert_non_null(p);
  snprintf(p, n, "%s/mtcc-unit-XXXXXX", base);
  assert_non_null(mkdtemp(p));
  return p;
}

static inline int tu_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static inline void tu_rmtree(const char *dir) { nftw(dir, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* "<dir>/<name>" in a malloc'ed string. */
static inline char *tu_join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  assert_non_null(p);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static inline void tu_write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (len) assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

/* Reads a whole file into a malloc'ed buffer (NUL-terminated). */
static inline char *tu_read_file(const char *path, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long size = ftell(f);
  assert_true(size >= 0);
  assert_int_equal(fseek(f, 0, SEEK_SET), 0);
  char *buf = malloc((size_t)size + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
  buf[size] = 0;
  fclose(f);
  if (out_len) *out_len = (size_t)size;
  return buf;
}

/* Number of entries in a folder other than . and .. */
static inline int tu_count_entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  closedir(d);
  return n;
}

#endif
