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
int mt_cmd_check(int argc, char **argv);
/* `triton-repo BUNDLE DIR`: a Triton model repository for the bundle (cmd_triton_repo.c). */
int mt_cmd_triton_repo(int argc, char **argv);

/* `run` and `inspect` of an .mtbundle through libmtrt (cmd_bundle.c). */
int mt_cmd_run_bundle(int argc, char **argv);
int mt_cmd_inspect_bundle(const char *path, bool verbose);
/* The GPU plan of a validated bundle (cmd_inspect_gpu.c); verbose: every module and step. */
struct mt_bundle;
void mt_cli_print_bundle_gpu(const struct mt_bundle *b, bool verbose);
/* The generated CPU code of a validated bundle (cmd_inspect_cpu.c): objects, targets, which one
 * this host runs; verbose: every kernel. */
void mt_cli_print_bundle_cpu(const struct mt_bundle *b, bool verbose);
/* Whether path is a regular file that starts with the .mtbundle magic. */
bool mt_cli_is_bundle(const char *path);

/* Output naming shared by both run paths (cmd_run.c): a file-name-safe copy of a tensor or
 * tenant name (NULL: out of memory), dir/name+ext refusing paths of PATH_MAX or more, mkdir -p. */
char *mt_cli_sanitize(const char *in);
MT_MUST_USE mt_status *mt_cli_join_path(const char *dir, const char *name, const char *ext,
                                        char **out);
MT_MUST_USE mt_status *mt_cli_make_dir(const char *path);

/* One tenant's outputs for mt_cli_write_outputs: names[i] is written from tensors[i]. */
typedef struct mt_cli_tenant_outputs {
  const char *tenant;
  int n;
  const char *const *names;
  const struct mt_tensor *tensors;
} mt_cli_tenant_outputs;
/* Writes OUT_DIR/<tenant>/<output>.EXT (ext "npy" or "pb"; names sanitized) for every tenant
 * (output_stage.c): all files go to a stage folder next to out_dir first and move in at the end,
 * so an error leaves no output file and out_dir as it was. */
MT_MUST_USE mt_status *mt_cli_write_outputs(const char *out_dir, const char *ext,
                                            const mt_cli_tenant_outputs *tenants, int n_tenants);

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
