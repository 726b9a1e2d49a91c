/* Helpers every subcommand uses (declared in cli.h). Kept apart from mtcc.c, which dispatches to
 * the subcommands, so calls run one way: mtcc.c -> cmd_*.c -> cli_util.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/base/escape.h"
#include "tools/cli.h"

void mt_cli_print_error(const char *message) {
  /* The last line of defence against a forged second line: whatever a name inside the message
   * holds, the message is printed with its control bytes escaped. Backslashes are kept, since names
   * escaped where the message was built already doubled theirs. */
  size_t len = strlen(message);
  size_t cap = len > (SIZE_MAX - 1) / 4 ? 0 : len * 4 + 1;
  char *buf = cap ? malloc(cap) : NULL;
  char fallback[1024];
  if (!buf) {
    buf = fallback;
    cap = sizeof fallback;
  }
  fprintf(stderr, "mtcc: error: %s\n", mt_escape_into(message, false, buf, cap));
  if (buf != fallback) free(buf);
}

int mt_cli_fail(mt_status *st) {
  mt_cli_print_error(mt_status_message(st));
  mt_status_free(st);
  return 1;
}

double mt_cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
