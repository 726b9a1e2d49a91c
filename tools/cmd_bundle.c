/* mtcc run BUNDLE and mtcc inspect BUNDLE: the compiled .mtbundle through libmtrt (include/mtrt.h),
 * with the same --input [TENANT:]NAME=FILE and OUTDIR/<tenant>/<output>.npy layout as
 * `run --reference`, so scripts can swap one for the other. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "mtrt.h"
#include "runtime/base/escape.h"
#include "runtime/base/file.h"
#include "runtime/base/memory_limit.h"
#include "runtime/bundle/bundle.h"
#include "tools/cli.h"

bool mt_cli_is_bundle(const char *path) {
  int fd;
  size_t size;
  mt_status *st = mt_file_open_regular(path, "bundle", &fd, &size);
  if (st) {
    mt_status_free(st);
    return false;
  }
  char magic[8] = {0};
  bool ok = size >= 8 && read(fd, magic, 8) == 8 && memcmp(magic, MT_BUNDLE_MAGIC, 8) == 0;
  close(fd);
  return ok;
}

static mt_status *from_rt(mtrt_status *st) { return (mt_status *)st; }

/* Finds the tenant and input an --input spec names: every split of "[TENANT:]NAME=FILE" is
 * tried, a plain NAME must name an input of exactly one tenant. */
static bool match_input(const mtrt_bundle *b, const char *spec, int *out_t, char **out_name,
                        const char **out_path) {
  size_t len = strlen(spec);
  for (size_t eq = len; eq-- > 0;) {
    if (spec[eq] != '=') continue;
    for (int t = 0; t < mtrt_bundle_tenant_count(b); t++) {
      const char *tn = mtrt_bundle_tenant_name(b, t);
      size_t tl = strlen(tn);
      for (int i = 0; i < mtrt_bundle_input_count(b, t); i++) {
        mtrt_port_info pi;
        mtrt_status *st = mtrt_bundle_input_info(b, t, i, &pi);
        if (st) {
          mtrt_status_free(st);
          continue;
        }
        size_t nl = strlen(pi.name);
        bool with_tenant = tl + 1 + nl == eq && strncmp(spec, tn, tl) == 0 && spec[tl] == ':' &&
                           strncmp(spec + tl + 1, pi.name, nl) == 0;
        bool plain = nl == eq && strncmp(spec, pi.name, nl) == 0;
        if (with_tenant || plain) {
          *out_t = t;
          *out_name = strdup(pi.name);
          *out_path = spec + eq + 1;
          return *out_name != NULL;
        }
      }
    }
  }
  return false;
}

typedef struct run_state {
  mtrt_bundle *b;
  mtrt_session *s;
  mt_tensor *inputs; /* per --input */
  int n_inputs;
  void ***outputs; /* per tenant, per output */
} run_state;

MT_MUST_USE static mt_status *bind_input(run_state *rs, const char *spec, size_t limit) {
  int t;
  char *name = NULL;
  const char *path;
  if (!match_input(rs->b, spec, &t, &name, &path))
    return MT_ERR(INVALID_ARGUMENT,
                  "--input %s: no tenant has an input called that (expected "
                  "[TENANT:]NAME=FILE)",
                  spec);
  mt_tensor *x = &rs->inputs[rs->n_inputs++];
  mt_status *st = mt_tensor_file_read_limited(path, limit, x, NULL);
  for (int i = 0; !st && i < mtrt_bundle_input_count(rs->b, t); i++) {
    mtrt_port_info pi;
    st = from_rt(mtrt_bundle_input_info(rs->b, t, i, &pi));
    if (st || strcmp(pi.name, name) != 0) continue;
    bool same = pi.dtype == (int)x->dtype && pi.rank == x->rank;
    for (int d = 0; same && d < pi.rank; d++) same = pi.dims[d] == x->dims[d];
    if (!same)
      st = MT_ERR(INVALID_ARGUMENT,
                  "--input %s: tenant '%s' input '%s' was compiled for another dtype or shape "
                  "(%s, rank %d)",
                  spec, mtrt_bundle_tenant_name(rs->b, t), name, mt_dtype_name((mt_dtype)pi.dtype),
                  pi.rank);
  }
  if (!st) st = from_rt(mtrt_session_bind_input(rs->s, t, name, x->data, mt_tensor_nbytes(x)));
  free(name);
  return st;
}

/* Writes every tenant's outputs through the stager of `run --reference` (an error leaves no
 * output file), then prints each tenant's time. */
MT_MUST_USE static mt_status *write_outputs(run_state *rs, const char *out_dir, const char *ext) {
  int nt = mtrt_bundle_tenant_count(rs->b), total = 0;
  for (int t = 0; t < nt; t++) total += mtrt_bundle_output_count(rs->b, t);
  mt_cli_tenant_outputs *outs = calloc((size_t)nt + 1, sizeof *outs);
  const char **names = calloc((size_t)total + 1, sizeof *names);
  mt_tensor *tensors = calloc((size_t)total + 1, sizeof *tensors);
  mt_status *st = outs && names && tensors ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int t = 0, k = 0; !st && t < nt; t++) {
    int no = mtrt_bundle_output_count(rs->b, t);
    outs[t] =
        (mt_cli_tenant_outputs){mtrt_bundle_tenant_name(rs->b, t), no, names + k, tensors + k};
    for (int i = 0; !st && i < no; i++, k++) {
      mtrt_port_info pi;
      st = from_rt(mtrt_bundle_output_info(rs->b, t, i, &pi));
      if (st) break;
      names[k] = pi.name;
      tensors[k] =
          (mt_tensor){.dtype = (mt_dtype)pi.dtype, .rank = pi.rank, .data = rs->outputs[t][i]};
      for (int d = 0; d < pi.rank; d++) tensors[k].dims[d] = pi.dims[d];
    }
  }
  if (!st) st = mt_cli_write_outputs(out_dir, ext, outs, nt);
  for (int t = 0; !st && t < nt; t++)
    printf("tenant '%s': %.3f ms on %s (libmtrt)\n", mt_esc(mtrt_bundle_tenant_name(rs->b, t)),
           mtrt_session_tenant_time_us(rs->s, t) / 1e3, mtrt_session_device_name(rs->s));
  free(outs);
  free(names);
  free(tensors);
  return st;
}

/* --profile: each tenant's measured time next to the bundle's prediction, and the partitions'
 * SM budgets. On the CPU the measured time is the wall time of its kernels, so the ratio says
 * little about the GPU the prediction is for. */
static void print_profile(const run_state *rs) {
  printf("profile on %s: %s\n", mtrt_session_device_name(rs->s),
         mt_esc(mtrt_session_device_note(rs->s)));
  printf("  %-24s %14s %14s %8s\n", "tenant", "measured us", "predicted us", "ratio");
  for (int t = 0; t < mtrt_bundle_tenant_count(rs->b); t++) {
    double got = mtrt_session_tenant_time_us(rs->s, t);
    double want = mtrt_session_tenant_predicted_us(rs->s, t);
    printf("  %-24s %14.1f %14.1f %8.2f\n", mt_esc(mtrt_bundle_tenant_name(rs->b, t)), got, want,
           want > 0 ? got / want : 0.0);
  }
  bool on_cpu = strcmp(mtrt_session_device_name(rs->s), "cpu") == 0;
  for (int p = 0; !on_cpu && p < mtrt_bundle_partition_count(rs->b); p++) {
    mtrt_partition_info pi;
    mtrt_status *st = mtrt_session_partition_info(rs->s, p, &pi);
    if (!st)
      printf("  partition %-14s granted %d SMs, green context holds %d (%s)\n", mt_esc(pi.name),
             pi.granted_sms, pi.actual_sms, pi.hard ? "hard" : "soft");
    mtrt_status_free(st);
  }
}

/* A whole decimal number in [lo, hi] (atoi took "abc" as 0 and "-5" as a negative window). */
MT_MUST_USE static mt_status *parse_count(const char *opt, const char *what, const char *text,
                                          long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (!*text || *end || errno || v < lo || v > hi)
    return MT_ERR(INVALID_ARGUMENT, "%s must be %s, not '%s'", opt, what, text);
  *out = (int)v;
  return NULL;
}

MT_MUST_USE static mt_status *parse_device(const char *device, const char *arrival,
                                           mtrt_session_options *so) {
  if (strcmp(device, "gpu") == 0)
    so->device = MTRT_DEVICE_GPU;
  else if (strcmp(device, "auto") == 0)
    so->device = MTRT_DEVICE_AUTO;
  else if (strcmp(device, "cpu") != 0)
    return MT_ERR(INVALID_ARGUMENT, "--device must be cpu, gpu or auto, not '%s'", device);
  if (strcmp(arrival, "independent") == 0)
    so->arrival = MTRT_ARRIVAL_INDEPENDENT;
  else if (strcmp(arrival, "batched-window") == 0)
    so->arrival = MTRT_ARRIVAL_BATCHED_WINDOW;
  else if (strcmp(arrival, "round") != 0)
    return MT_ERR(INVALID_ARGUMENT,
                  "--arrival must be round, independent or batched-window, not '%s'", arrival);
  return NULL;
}

/* Runs every tenant the way the arrival mode expects requests: one round, or one request per
 * tenant. */
MT_MUST_USE static mt_status *run_all(run_state *rs, mtrt_arrival arrival) {
  if (arrival == MTRT_ARRIVAL_ROUND) return from_rt(mtrt_session_run(rs->s, -1));
  for (int t = 0; t < mtrt_bundle_tenant_count(rs->b); t++)
    MT_RETURN_IF_ERROR_PLAIN(from_rt(mtrt_session_run_async(rs->s, t)));
  return from_rt(mtrt_session_wait(rs->s));
}

int mt_cmd_run_bundle(int argc, char **argv) {
  const char *path = NULL, *out_dir = NULL, *ext = "npy", *device = "cpu", *arrival = "round";
  const char *cpu_target = NULL;
  bool profile = false;
  mtrt_session_options so;
  mtrt_session_options_init(&so);
  const char **specs = calloc((size_t)argc + 1, sizeof *specs);
  int n_specs = 0, cpu_threads = 0;
  size_t limit = 0;
  mt_status *st = specs ? NULL : MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; !st && i < argc; i++) {
    if (mt_cli_memory_limit_arg("run", argc, argv, &i, &limit, &st))
      continue;
    else if (strcmp(argv[i], "--input") == 0 && i + 1 < argc)
      specs[n_specs++] = argv[++i];
    else if (strcmp(argv[i], "--output-dir") == 0 && i + 1 < argc)
      out_dir = argv[++i];
    else if (strcmp(argv[i], "--output-format") == 0 && i + 1 < argc)
      ext = argv[++i];
    else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
      device = argv[++i];
    else if (strcmp(argv[i], "--cpu-threads") == 0 && i + 1 < argc) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || end == argv[i] || v < 1 || v > 256)
        st = MT_ERR(INVALID_ARGUMENT, "--cpu-threads must be a count from 1 to 256, not '%s'",
                    argv[i]);
      cpu_threads = (int)v;
    } else if (strcmp(argv[i], "--arrival") == 0 && i + 1 < argc)
      arrival = argv[++i];
    else if (strcmp(argv[i], "--cpu-target") == 0 && i + 1 < argc)
      cpu_target = argv[++i];
    else if (strcmp(argv[i], "--gpu") == 0 && i + 1 < argc)
      st = parse_count("--gpu", "a device index from 0 to 1023", argv[++i], 0, 1023, &so.gpu_index);
    else if (strcmp(argv[i], "--window-us") == 0 && i + 1 < argc)
      st = parse_count("--window-us", "microseconds from 0 to 10000000", argv[++i], 0, 10000000,
                       &so.window_us);
    else if (strcmp(argv[i], "--profile") == 0)
      profile = true;
    else if (argv[i][0] == '-')
      st = MT_ERR(INVALID_ARGUMENT, "run: unknown or incomplete option '%s'", argv[i]);
    else
      path = argv[i];
  }
  if (!st && strcmp(ext, "npy") != 0 && strcmp(ext, "pb") != 0)
    st = MT_ERR(INVALID_ARGUMENT, "--output-format must be npy or pb, not '%s'", ext);
  if (!st && !out_dir) st = MT_ERR(INVALID_ARGUMENT, "run: --output-dir DIR is required");
  so.cpu_threads = cpu_threads;
  so.cpu_target = cpu_target;
  if (!st) st = parse_device(device, arrival, &so);
  if (!limit) limit = mt_memory_limit_default();
  run_state rs = {0};
  mtrt_open_options oo;
  mtrt_open_options_init(&oo);
  if (!st) st = from_rt(mtrt_bundle_open(path, &oo, &rs.b));
  if (!st) st = from_rt(mtrt_session_create(rs.b, &so, &rs.s));
  /* auto may have fallen back to the CPU, the CPU to the reference kernels: say so and why */
  if (!st && (so.device == MTRT_DEVICE_AUTO || !strcmp(mtrt_session_device_name(rs.s), "cpu")))
    printf("device: %s\n", mt_esc(mtrt_session_device_note(rs.s)));
  int nt = rs.b ? mtrt_bundle_tenant_count(rs.b) : 0;
  if (!st) {
    rs.inputs = calloc((size_t)n_specs + 1, sizeof *rs.inputs);
    rs.outputs = calloc((size_t)nt + 1, sizeof *rs.outputs);
    if (!rs.inputs || !rs.outputs) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  }
  for (int i = 0; !st && i < n_specs; i++) st = bind_input(&rs, specs[i], limit);
  for (int t = 0; !st && t < nt; t++) {
    int no = mtrt_bundle_output_count(rs.b, t);
    rs.outputs[t] = calloc((size_t)no + 1, sizeof **rs.outputs);
    if (!rs.outputs[t]) st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
    for (int i = 0; !st && i < no; i++) {
      mtrt_port_info pi;
      st = from_rt(mtrt_bundle_output_info(rs.b, t, i, &pi));
      if (!st && !(rs.outputs[t][i] = malloc(pi.nbytes ? pi.nbytes : 1)))
        st = MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
      if (!st)
        st = from_rt(mtrt_session_bind_output(rs.s, t, pi.name, rs.outputs[t][i], pi.nbytes));
    }
  }
  if (!st) st = run_all(&rs, so.arrival);
  if (!st) st = write_outputs(&rs, out_dir, ext);
  if (!st && profile) print_profile(&rs);
  if (!st) printf("ran %d tenant(s); outputs in %s\n", nt, mt_esc(out_dir));
  for (int i = 0; rs.inputs && i < rs.n_inputs; i++) free(rs.inputs[i].data);
  for (int t = 0; rs.outputs && t < nt; t++) {
    for (int i = 0; rs.outputs[t] && i < mtrt_bundle_output_count(rs.b, t); i++)
      free(rs.outputs[t][i]);
    free(rs.outputs[t]);
  }
  free(rs.inputs);
  free(rs.outputs);
  mtrt_session_destroy(rs.s);
  mtrt_bundle_close(rs.b);
  free(specs);
  return st ? mt_cli_fail(st) : 0;
}

static void print_type(const Mtbundle__TensorType *t) {
  printf("%s[", mt_dtype_name((mt_dtype)t->dtype));
  for (size_t d = 0; d < t->n_dims; d++) printf("%s%" PRId64, d ? ", " : "", t->dims[d]);
  printf("]");
}

int mt_cmd_inspect_bundle(const char *path, bool verbose) {
  mtrt_bundle *rb = NULL;
  mt_status *st = from_rt(mtrt_bundle_open(path, NULL, &rb));
  if (st) return mt_cli_fail(st);
  const mt_bundle *b = mt_bundle_of(rb);
  const Mtbundle__Manifest *m = b->manifest;
  printf("bundle %s: %zu bytes, format %u, built by mtcc %s for %s (archs:", mt_esc(path), b->size,
         MT_BUNDLE_FORMAT_VERSION, mt_esc(m->mtcc_version), mt_esc(m->target));
  for (size_t i = 0; i < m->n_archs; i++) printf(" %s", mt_esc(m->archs[i]));
  printf(")\nweights: %zu constants, %" PRIu64 " bytes; scratch %" PRIu64 " bytes\n",
         m->n_constants, m->weight_bytes, m->scratch_bytes);
  for (size_t i = 0; i < m->n_partitions; i++) {
    const Mtbundle__Partition *p = m->partitions[i];
    printf("partition '%s': arena %" PRIu64
           " bytes, %d stream(s), predicted makespan %.1f us, SMs:",
           mt_esc(p->name), p->arena_bytes, p->n_streams, p->predicted_makespan_us);
    for (size_t g = 0; g < p->n_grants; g++)
      printf(" %s=%d", mt_esc(p->grants[g]->arch), p->grants[g]->sm_count);
    printf("\n");
  }
  for (size_t t = 0; t < m->n_tenants; t++) {
    const Mtbundle__Tenant *tn = m->tenants[t];
    int nodes = 0;
    for (size_t i = 0; i < m->n_nodes; i++) nodes += (size_t)m->nodes[i]->tenant == t;
    printf("tenant '%s' (partition '%s'): %d kernel calls, predicted %.1f us\n", mt_esc(tn->name),
           mt_esc(m->partitions[tn->partition]->name), nodes, tn->predicted_us);
    for (size_t i = 0; i < tn->n_inputs; i++) {
      printf("  input %s: ", mt_esc(tn->inputs[i]->name));
      print_type(tn->inputs[i]->type);
      printf("\n");
    }
    for (size_t i = 0; i < tn->n_outputs; i++) {
      printf("  output %s: ", mt_esc(tn->outputs[i]->name));
      print_type(tn->outputs[i]->type);
      printf("\n");
    }
  }
  int hist[MT_KERNEL_COUNT] = {0}, loops = 0;
  for (size_t i = 0; i < m->n_nodes; i++) {
    hist[m->nodes[i]->kernel_kind]++;
    loops += m->nodes[i]->loop != NULL; /* kind 0 too */
  }
  hist[0] -= loops;
  printf("schedule: %zu groups, %zu kernel calls:", m->n_groups, m->n_nodes);
  for (int k = 1; k < MT_KERNEL_COUNT; k++)
    if (hist[k]) printf(" %s=%d", mt_kernel_kind_name((mt_kernel_kind)k), hist[k]);
  if (hist[0]) printf(" if=%d", hist[0]); /* kind 0 */
  if (loops) printf(" loop/scan=%d", loops);
  if (hist[0] || loops) printf(" (branches and bodies: %zu nodes)", m->n_branch_nodes);
  printf("\n");
  mt_cli_print_bundle_gpu(b, verbose);
  mt_cli_print_bundle_cpu(b, verbose);
  mtrt_bundle_close(rb);
  return 0;
}
