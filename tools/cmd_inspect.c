/* mtcc inspect: tenants, op histograms, parameters, inputs/outputs with shapes, shared weights. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/manifest.h"
#include "ir/ir.h"
#include "runtime/base/escape.h"
#include "tools/cli.h"

typedef struct op_count {
  const char *op;
  int count;
} op_count;

static int by_count(const void *a, const void *b) {
  const op_count *x = a, *y = b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(x->op, y->op);
}

static void print_value(const mt_module *m, mt_value_id v) {
  const mt_value *val = mt_module_value_c(m, v);
  printf("    %s: %s[", mt_esc(val->name), mt_dtype_name(val->dtype));
  for (int d = 0; d < val->rank; d++) {
    if (d) printf(", ");
    if (val->dims[d] >= 0)
      printf("%" PRId64, val->dims[d]);
    else
      printf("%s", val->dim_params[d] ? mt_esc(val->dim_params[d]) : "?");
  }
  printf("]%s\n", val->rank < 0 ? " (rank unknown)" : "");
}

static void print_tenant(const mt_module *m, int32_t ti) {
  const mt_tenant *t = mt_module_tenant_c(m, ti);
  printf("tenant '%s'\n  model: %s\n  partition: %s, priority %d\n", mt_esc(t->name),
         mt_esc(t->model_path), mt_esc(t->partition), t->priority);
  printf("  producer: %s, ir_version %" PRId64 ", opsets:",
         *t->producer_name ? mt_esc(t->producer_name) : "?", t->ir_version);
  for (int i = 0; i < t->n_opsets; i++)
    printf(" %s%s%d", *t->opsets[i].domain ? mt_esc(t->opsets[i].domain) : "ai.onnx", "=",
           t->opsets[i].version);
  printf("\n  parameters: %" PRId64 " (%.2f MiB)\n", t->parameter_count,
         (double)t->parameter_bytes / (1024.0 * 1024.0));
  int n_nodes = 0;
  op_count *hist = calloc((size_t)mt_module_node_count(m) + 1, sizeof *hist);
  int n_ops = 0;
  for (int32_t k = 0; hist && k < mt_module_node_count(m); k++) {
    const mt_node *n = mt_module_node_c(m, k);
    if (n->tenant != ti) continue;
    n_nodes++;
    int j = 0;
    while (j < n_ops && strcmp(hist[j].op, n->op_type) != 0) j++;
    if (j == n_ops) hist[n_ops++].op = n->op_type;
    hist[j].count++;
  }
  printf("  nodes: %d\n  ops:", n_nodes);
  if (hist) qsort(hist, (size_t)n_ops, sizeof *hist, by_count);
  for (int j = 0; j < n_ops; j++) printf(" %s=%d", mt_esc(hist[j].op), hist[j].count);
  free(hist);
  printf("\n  inputs:\n");
  for (int i = 0; i < t->graph->n_inputs; i++) print_value(m, t->graph->inputs[i]);
  printf("  outputs:\n");
  for (int i = 0; i < t->graph->n_outputs; i++) print_value(m, t->graph->outputs[i]);
}

int mt_cmd_inspect(int argc, char **argv) {
  bool dump = false, verbose = false; /* --verbose: every GPU module and step of a bundle */
  char **paths = calloc((size_t)argc + 1, sizeof *paths);
  int n_paths = 0;
  if (!paths) return mt_cli_fail(MT_ERR(RESOURCE_EXHAUSTED, "out of memory"));
  size_t memory_limit = 0;
  mt_status *lst = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--dump-ir") == 0)
      dump = true;
    else if (strcmp(argv[i], "--verbose") == 0)
      verbose = true;
    else if (mt_cli_memory_limit_arg("inspect", argc, argv, &i, &memory_limit, &lst)) {
      if (lst) {
        free(paths);
        return mt_cli_fail(lst);
      }
    } else if (argv[i][0] == '-') {
      free(paths);
      return mt_cli_fail(MT_ERR(INVALID_ARGUMENT, "inspect: unknown option '%s'", argv[i]));
    } else
      paths[n_paths++] = argv[i];
  }
  if (n_paths == 1 && mt_cli_is_bundle(paths[0])) {
    int rc = mt_cmd_inspect_bundle(paths[0], verbose);
    free(paths);
    return rc;
  }
  mt_manifest *mf = NULL;
  mt_module *m = NULL;
  mt_status *st = mt_workload_load(NULL, memory_limit, n_paths, paths, &mf, &m);
  free(paths);
  if (st) return mt_cli_fail(st);
  st = mt_check_supported(m);
  /* Unbound symbolic dims are normal for inspect (it shows them by name); any other inference
   * error (a shape mismatch, say) is a real error. */
  bool bound = true;
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++)
    bound = bound && mt_tenant_inputs_bound(m, t);
  if (!st && bound) st = mt_infer_shapes(m);
  printf("targets:");
  for (int i = 0; i < mf->n_targets; i++) printf(" %s", mt_esc(mf->targets[i]));
  printf("\npartitions:");
  for (int i = 0; i < mf->n_partitions; i++) {
    if (mf->partitions[i].sm_budget)
      printf(" %s (%d SMs)", mt_esc(mf->partitions[i].name), mf->partitions[i].sm_budget);
    else
      printf(" %s (whole GPU)", mt_esc(mf->partitions[i].name));
  }
  printf("\n");
  for (int32_t t = 0; t < mt_module_tenant_count(m); t++) print_tenant(m, t);
  mt_constant_stats cs;
  mt_module_constant_stats(m, &cs);
  printf("constants: %" PRId64 " in the models, %" PRId64
         " stored; %.2f MiB -> %.2f MiB, shared weights save %.2f MiB (%zu bytes)\n",
         cs.interned, cs.stored, (double)cs.bytes_requested / 1048576.0,
         (double)cs.bytes_stored / 1048576.0,
         (double)(cs.bytes_requested - cs.bytes_stored) / 1048576.0,
         cs.bytes_requested - cs.bytes_stored);
  if (!bound)
    printf("shapes: symbolic input dims are unbound; bind them with \"dims\" in a manifest to see "
           "static shapes\n");
  if (dump && !st) mt_dump_module(m, stdout);
  mt_module_destroy(m);
  mt_manifest_free(mf);
  if (st) return mt_cli_fail(st);
  return 0;
}
