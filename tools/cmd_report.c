/* mtcc report: the compile report (`mtcc compile --report FILE`) drawn as one self-contained HTML
 * page. Parses the command line and calls the library (include/mtcc.h); the page itself is
 * driver/report_html.c. */
#include <stdlib.h>
#include <string.h>

#include "mtcc.h"
#include "tools/cli.h"

int mt_cmd_report(int argc, char **argv) {
  const char *input = NULL, *output = NULL;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) {
      if (i + 1 >= argc)
        return mt_cli_fail(MT_ERR(INVALID_ARGUMENT, "report: %s needs a value", arg));
      output = argv[++i];
    } else if (strncmp(arg, "--output=", 9) == 0) {
      output = arg + 9;
    } else if (strcmp(arg, "--profile") == 0 || strncmp(arg, "--profile=", 10) == 0) {
      /* the measured timeline needs a bundle run's profile; no runner writes one yet */
      return mt_cli_fail(MT_ERR(UNIMPLEMENTED,
                                "report: --profile is not supported yet (no bundle runner writes "
                                "profiles); the page shows the predicted timeline"));
    } else if (arg[0] == '-' && arg[1]) {
      return mt_cli_fail(MT_ERR(INVALID_ARGUMENT, "report: unknown option '%s'", arg));
    } else if (input) {
      return mt_cli_fail(
          MT_ERR(INVALID_ARGUMENT, "report: one REPORT.json only ('%s' and '%s')", input, arg));
    } else {
      input = arg;
    }
  }
  if (!input || !output)
    return mt_cli_fail(
        MT_ERR(INVALID_ARGUMENT, "report: usage: mtcc report REPORT.json -o REPORT.html"));
  mtcc_status *st = mtcc_report_render_html(input, output);
  if (!st) return 0;
  mt_cli_print_error(mtcc_status_message(st));
  mtcc_status_free(st);
  return 1;
}
