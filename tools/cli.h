/* Subcommands of the mtcc CLI. Each returns the process exit code and prints one clear line on
 * failure. */
#ifndef MT_TOOLS_CLI_H
#define MT_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "runtime/base/status.h"

int mt_cmd_inspect(int argc, char **argv);
int mt_cmd_run(int argc, char **argv);
int mt_cmd_conformance(int argc, char **argv);
int mt_cmd_compile(int argc, char **argv);
int mt_cmd_ops(int argc, char **argv);
int mt_cmd_report(int argc, char **argv);

/* Helpers (cli_util.c) for every subcommand. */

/* Prints "mtcc: error: <message>" to stderr as exactly one line (control bytes escaped). */
void mt_cli_print_error(const char *message);
/* Prints "mtcc: error: <message>" to stderr as one line, frees st, returns exit code 1. */
int mt_cli_fail(mt_status *st);
/* Parses the value of --memory-limit (a byte count with an optional K/M/G/T suffix: 512M, 4G)
 * for subcommand cmd; the error names the flag and the text. */
MT_MUST_USE mt_status *mt_cli_parse_memory_limit(const char *cmd, const char *text,
                                                 size_t *out_bytes);
/* When argv[*i] is "--memory-limit VALUE" or "--memory-limit=VALUE": parses it into *out_bytes,
 * advances *i past the value, sets *out_status (NULL or the parse error) and returns true. */
bool mt_cli_memory_limit_arg(const char *cmd, int argc, char **argv, int *i, size_t *out_bytes,
                             mt_status **out_status);
/* Seconds since an arbitrary start, for progress and timing lines. */
double mt_cli_now(void);

#endif
