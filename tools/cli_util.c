/* Helpers every subcommand uses (declared in cli.h). Kept apart from mtcc.c, which dispatches to
 * the subcommands, so calls run one way: mtcc.c -> cmd_*.c -> cli_util.c. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "runtime/base/memory_limit.h"
#include "tools/cli.h"

int mt_cli_fail(mt_status *st) {
  fprintf(stderr, "mtcc: error: %s\n", mt_status_message(st));
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
