/* Subcommands of the mtcc CLI. Each returns the process exit code and prints one clear line on
 * failure. */
#ifndef MT_TOOLS_CLI_H
#define MT_TOOLS_CLI_H

#include <stdio.h>

#include "runtime/base/status.h"

int mt_cmd_inspect(int argc, char **argv);
int mt_cmd_run(int argc, char **argv);
int mt_cmd_conformance(int argc, char **argv);
int mt_cmd_compile(int argc, char **argv);
int mt_cmd_ops(int argc, char **argv);

/* Helpers (cli_util.c) for every subcommand. */

/* Prints "mtcc: error: <message>" to stderr as exactly one line (control bytes escaped). */
void mt_cli_print_error(const char *message);
/* Prints "mtcc: error: <message>" to stderr as one line, frees st, returns exit code 1. */
int mt_cli_fail(mt_status *st);
/* Seconds since an arbitrary start, for progress and timing lines. */
double mt_cli_now(void);

#endif
