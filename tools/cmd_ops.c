/* mtcc ops: the op registry as a listing, so the README's supported-op list is generated from
 * the same table the importer and passes use and cannot drift. */
#include <stdio.h>
#include <string.h>

#include "ir/op.h"
#include "runtime/base/escape.h"
#include "tools/cli.h"

static void print_plain(void) {
  for (int i = 0; i < mt_op_count(); i++) {
    const mt_op_def *d = mt_op_at(i);
    printf("%-24s %s\n", d->op_type, mt_op_pattern_name(d->pattern));
  }
}

/* One Markdown table row per fusion pattern, ops in registry order. */
static void print_markdown(void) {
  printf("| fusion pattern | ops |\n|---|---|\n");
  for (int p = MT_PATTERN_ELEMENTWISE; p <= MT_PATTERN_OPAQUE; p++) {
    printf("| %s |", mt_op_pattern_name((mt_op_pattern)p));
    int listed = 0;
    for (int i = 0; i < mt_op_count(); i++) {
      const mt_op_def *d = mt_op_at(i);
      if ((int)d->pattern == p) printf("%s%s", listed++ ? ", " : " ", d->op_type);
    }
    printf(" |\n");
  }
}

int mt_cmd_ops(int argc, char **argv) {
  bool markdown = false;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--markdown") == 0) {
      markdown = true;
    } else {
      fprintf(stderr, "mtcc: error: ops: unknown option '%s'\n", mt_esc(argv[i]));
      return 1;
    }
  }
  if (markdown)
    print_markdown();
  else
    print_plain();
  return 0;
}
