/* Helpers every subcommand uses (declared in cli.h). Kept apart from mtcc.c, which dispatches to
 * the subcommands, so calls run one way: mtcc.c -> cmd_*.c -> cli_util.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/base/escape.h"
#include "runtime/base/memory_limit.h"
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

mt_status *mt_cli_parse_memory_limit(const char *cmd, const char *text, size_t *out_bytes) {
  if (!text) return MT_ERR(INVALID_ARGUMENT, "%s: --memory-limit needs a value", cmd);
  if (!mt_memory_limit_parse(text, out_bytes))
    return MT_ERR(INVALID_ARGUMENT,
                  "%s: --memory-limit '%s' is not a size (a positive number of bytes, or with a "
                  "K, M, G or T suffix: 512M, 4G)",
                  cmd, text);
  return NULL;
}

bool mt_cli_memory_limit_arg(const char *cmd, int argc, char **argv, int *i, size_t *out_bytes,
                             mt_status **out_status) {
  static const char flag[] = "--memory-limit";
  const char *arg = argv[*i];
  size_t n = sizeof flag - 1;
  if (strncmp(arg, flag, n) != 0 || (arg[n] != 0 && arg[n] != '=')) return false;
  const char *val = arg[n] == '=' ? arg + n + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
  *out_status = mt_cli_parse_memory_limit(cmd, val, out_bytes);
  return true;
}
