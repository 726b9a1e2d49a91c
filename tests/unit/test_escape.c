/* Escaping of file-controlled names before printing: control bytes, invalid UTF-8 and (in names)
 * backslashes are rewritten so that no name can start a second output line; valid UTF-8 is kept;
 * results too long for the buffer are cut at a whole character and marked "...". */
#include "test_util.h"

#include <string.h>

#include "runtime/base/escape.h"

static void test_control_bytes(void **state) {
  (void)state;
  assert_string_equal(mt_esc("a\nb"), "a\\nb");
  assert_string_equal(mt_esc("x\rPASS y"), "x\\rPASS y");
  assert_string_equal(mt_esc("tab\there"), "tab\\there");
  assert_string_equal(mt_esc("\x1b[31mred"), "\\x1b[31mred");
  assert_string_equal(mt_esc("del\x7f"), "del\\x7f");
  assert_string_equal(mt_esc("\x01"), "\\x01");
  assert_string_equal(mt_esc(NULL), "");
  assert_string_equal(mt_esc("plain_name.0"), "plain_name.0");
}

static void test_backslash(void **state) {
  (void)state;
  /* in a name a literal backslash-n must not read like an escaped newline */
  assert_string_equal(mt_esc("a\\nb"), "a\\\\nb");
  /* in text whose names were escaped already, backslashes are kept and newlines still escaped */
  assert_string_equal(mt_esc_text("node 'a\\nb'\nmtcc: error: forged"),
                      "node 'a\\nb'\\nmtcc: error: forged");
}

static void test_utf8(void **state) {
  (void)state;
  assert_string_equal(mt_esc("caf\xc3\xa9"), "caf\xc3\xa9");           /* é */
  assert_string_equal(mt_esc("\xe6\x97\xa5"), "\xe6\x97\xa5");         /* 日 */
  assert_string_equal(mt_esc("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80"); /* an emoji */
  assert_string_equal(mt_esc("bad\xff"), "bad\\xff");
  assert_string_equal(mt_esc("\xc3"), "\\xc3");                   /* truncated sequence */
  assert_string_equal(mt_esc("\xc0\xaf"), "\\xc0\\xaf");          /* overlong '/' */
  assert_string_equal(mt_esc("\xed\xa0\x80"), "\\xed\\xa0\\x80"); /* a UTF-16 surrogate */
  assert_true(mt_needs_escape("a\nb"));
  assert_true(mt_needs_escape("\xff"));
  assert_false(mt_needs_escape("caf\xc3\xa9 \\"));
}

static void test_truncation(void **state) {
  (void)state;
  char out[8];
  assert_string_equal(mt_escape_into("abcdefghij", true, out, sizeof out), "abcd...");
  assert_string_equal(mt_escape_into("abc", true, out, sizeof out), "abc");
  /* a cut never leaves a raw control byte or half a UTF-8 sequence */
  assert_string_equal(mt_escape_into("ab\xc3\xa9\xc3\xa9\n\n", true, out, sizeof out),
                      "ab\xc3\xa9...");
  char tiny[2];
  assert_string_equal(mt_escape_into("\n", true, tiny, sizeof tiny), "");
  /* the rotating buffers keep earlier results valid for several calls in one printf */
  const char *a = mt_esc("first\n"), *b = mt_esc("second\n");
  assert_string_equal(a, "first\\n");
  assert_string_equal(b, "second\\n");
  char big[3000];
  memset(big, '\n', sizeof big - 1);
  big[sizeof big - 1] = 0;
  const char *e = mt_esc(big);
  assert_true(strlen(e) < 1024);
  assert_null(strchr(e, '\n'));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_control_bytes),
      cmocka_unit_test(test_backslash),
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_truncation),
  };
  return tu_exit_code(cmocka_run_group_tests(tests, NULL, NULL));
}
