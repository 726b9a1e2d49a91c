/* The compile report drawn as one HTML page (see report_html.h). Everything the page shows comes
 * from the JSON report, checked field by field as it is read: the file may come from disk, from
 * another mtcc, or be corrupt. The page is plain HTML with inline CSS and SVG and a few lines of
 * JS (hover details, zoom); output order follows the report's arrays, numbers are printed with
 * fixed precision, so the same report gives the same bytes. */
#include "driver/report_html.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/base/escape.h"

/* Streams per partition beyond this are not a schedule mtcc makes: a corrupt report. */
#define MAX_LANES 4096
/* Items listed per rejected-fusion reason before "N more". */
#define MAX_EXAMPLES 40

/* ---- output buffer ---- */

typedef struct sb {
  char *buf;
  size_t len, cap;
  bool oom;
} sb;

static void sb_put(sb *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + n + 1) {
      if (cap > SIZE_MAX / 2) {
        b->oom = true;
        return;
      }
      cap *= 2;
    }
    char *nb = realloc(b->buf, cap);
    if (!nb) {
      b->oom = true;
      return;
    }
    b->buf = nb;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = 0;
}

static void sb_puts(sb *b, const char *s) { sb_put(b, s, strlen(s)); }

MT_PRINTF(2, 3) static void sb_printf(sb *b, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    sb_put(b, small, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    b->oom = true;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb_put(b, big, (size_t)n);
  free(big);
}

/* Text and attribute values alike: names come from model files and manifests. */
static void sb_esc(sb *b, const char *s) {
  for (const char *p = s; *p; p++) {
    switch (*p) {
    case '&': sb_puts(b, "&amp;"); break;
    case '<': sb_puts(b, "&lt;"); break;
    case '>': sb_puts(b, "&gt;"); break;
    case '"': sb_puts(b, "&quot;"); break;
    case '\'': sb_puts(b, "&#39;"); break;
    default: sb_put(b, p, 1);
    }
  }
}

/* ---- reading the report: every field checked, the first problem kept ---- */

typedef struct reader {
  const char *source;
  mt_status *st;
} reader;

static void fail_field(reader *r, const char *where, const char *key, const char *want) {
  if (r->st) return;
  r->st = MT_ERR(DATA_LOSS, "%s: not a valid mtcc compile report: %s%s%s is missing or not %s",
                 mt_esc(r->source), where, where[0] ? "." : "", key, want);
}

static const json_t *field(reader *r, const json_t *o, const char *where, const char *key,
                           json_type type, const char *want) {
  const json_t *v = json_object_get(o, key);
  bool ok = v && (json_typeof(v) == type || (type == JSON_REAL && json_typeof(v) == JSON_INTEGER) ||
                  (type == JSON_TRUE && json_typeof(v) == JSON_FALSE));
  if (!ok) {
    fail_field(r, where, key, want);
    return NULL;
  }
  return v;
}

static const char *get_str(reader *r, const json_t *o, const char *where, const char *key) {
  const json_t *v = field(r, o, where, key, JSON_STRING, "a string");
  return v ? json_string_value(v) : "";
}

static double get_num(reader *r, const json_t *o, const char *where, const char *key) {
  const json_t *v = field(r, o, where, key, JSON_REAL, "a number");
  double d = v ? json_number_value(v) : 0;
  if (v && !isfinite(d)) fail_field(r, where, key, "a finite number");
  return v && isfinite(d) ? d : 0;
}

static long long get_int(reader *r, const json_t *o, const char *where, const char *key,
                         long long lo, long long hi) {
  const json_t *v = field(r, o, where, key, JSON_INTEGER, "an integer");
  long long x = v ? (long long)json_integer_value(v) : lo;
  if (v && (x < lo || x > hi) && !r->st)
    r->st = MT_ERR(DATA_LOSS, "%s: not a valid mtcc compile report: %s.%s = %lld is out of range",
                   mt_esc(r->source), where, key, x);
  return x < lo || x > hi ? lo : x;
}

static const json_t *get_arr(reader *r, const json_t *o, const char *where, const char *key) {
  return field(r, o, where, key, JSON_ARRAY, "an array");
}

/* ---- the report as the page needs it ---- */

typedef struct part_info {
  const char *name;
  long long sm_count, sm_budget, lanes;
  double makespan, arena, unplanned, scale_us, work_us;
} part_info;

typedef struct tenant_info {
  const char *name, *partition, *model;
  int part, kernels;
  long long nodes, fused_groups;
  double memory, alone, mix_end, work_us;
} tenant_info;

typedef struct hgroup_info {
  const json_t *json;
  const char *kind;
  int part, n_tenants;
  long long stream, position;
  double start, end, us;
  int *tenants; /* distinct tenant indices, in member order */
} hgroup_info;

typedef struct name_index {
  const char *name;
  int index;
} name_index;

static int name_cmp(const void *a, const void *b) {
  const name_index *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int name_find(const name_index *sorted, int n, const char *name) {
  int lo = 0, hi = n; /* the first entry with that name: duplicates resolve to the first */
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (strcmp(sorted[mid].name, name) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && strcmp(sorted[lo].name, name) == 0 ? sorted[lo].index : -1;
}

typedef struct model {
  const json_t *root, *summary, *rejected;
  const char *target;
  part_info *parts;
  tenant_info *tenants;
  hgroup_info *hgroups;
  name_index *part_names, *tenant_names;
  int n_parts, n_tenants, n_hgroups;
} model;

static void model_free(model *m) {
  for (int h = 0; m->hgroups && h < m->n_hgroups; h++) free(m->hgroups[h].tenants);
  free(m->parts);
  free(m->tenants);
  free(m->hgroups);
  free(m->part_names);
  free(m->tenant_names);
}

MT_MUST_USE static mt_status *model_read(const json_t *root, const char *source, model *m) {
  reader rd = {.source = source};
  reader *r = &rd;
  memset(m, 0, sizeof *m);
  m->root = root;
  if (!json_is_object(root))
    return MT_ERR(DATA_LOSS, "%s: not an mtcc compile report (the JSON is not an object)",
                  mt_esc(source));
  const json_t *ver = json_object_get(root, "mtcc_report_version");
  if (!ver)
    return MT_ERR(INVALID_ARGUMENT,
                  "%s: not an mtcc compile report (no mtcc_report_version; write one with `mtcc "
                  "compile --report FILE`)",
                  mt_esc(source));
  if (!json_is_string(ver) || strcmp(json_string_value(ver), MT_REPORT_VERSION) != 0) {
    char *text = json_dumps(ver, JSON_ENCODE_ANY | JSON_COMPACT);
    mt_status *st = MT_ERR(INVALID_ARGUMENT,
                           "%s: mtcc_report_version %s is not the version this mtcc reads ('%s'); "
                           "re-run `mtcc compile --report` with this mtcc",
                           mt_esc(source), text ? mt_esc(text) : "?", MT_REPORT_VERSION);
    free(text);
    return st;
  }
  m->target = get_str(r, root, "", "target");
  m->summary = field(r, root, "", "summary", JSON_OBJECT, "an object");
  m->rejected = get_arr(r, root, "", "rejected_fusions");
  const json_t *parts = get_arr(r, root, "", "partitions");
  const json_t *tenants = get_arr(r, root, "", "tenants");
  const json_t *hgroups = get_arr(r, root, "", "horizontal_groups");
  if (r->st) return r->st;
  if (json_array_size(parts) > INT32_MAX / 2 || json_array_size(tenants) > INT32_MAX / 2 ||
      json_array_size(hgroups) > INT32_MAX / 2)
    return MT_ERR(OUT_OF_RANGE, "%s: too many entries", mt_esc(source));
  m->n_parts = (int)json_array_size(parts);
  m->n_tenants = (int)json_array_size(tenants);
  m->n_hgroups = (int)json_array_size(hgroups);
  m->parts = calloc((size_t)m->n_parts + 1, sizeof *m->parts);
  m->tenants = calloc((size_t)m->n_tenants + 1, sizeof *m->tenants);
  m->hgroups = calloc((size_t)m->n_hgroups + 1, sizeof *m->hgroups);
  m->part_names = calloc((size_t)m->n_parts + 1, sizeof *m->part_names);
  m->tenant_names = calloc((size_t)m->n_tenants + 1, sizeof *m->tenant_names);
  if (!m->parts || !m->tenants || !m->hgroups || !m->part_names || !m->tenant_names)
    return MT_ERR(RESOURCE_EXHAUSTED, "%s: out of memory", mt_esc(source));
  char where[64];
  for (int i = 0; i < m->n_parts && !r->st; i++) {
    const json_t *o = json_array_get(parts, (size_t)i);
    snprintf(where, sizeof where, "partitions[%d]", i);
    if (!json_is_object(o)) fail_field(r, "partitions", where + 11, "an object");
    part_info *pi = &m->parts[i];
    pi->name = get_str(r, o, where, "name");
    pi->sm_count = get_int(r, o, where, "sm_count", 0, 1 << 20);
    pi->sm_budget = get_int(r, o, where, "sm_budget", 0, 1 << 20);
    pi->lanes = get_int(r, o, where, "streams", 0, MAX_LANES);
    pi->arena = get_num(r, o, where, "arena_bytes");
    pi->unplanned = get_num(r, o, where, "unplanned_bytes");
    pi->makespan = get_num(r, o, where, "predicted_makespan_us");
    pi->scale_us = pi->makespan;
    m->part_names[i] = (name_index){pi->name, i};
  }
  qsort(m->part_names, (size_t)m->n_parts, sizeof *m->part_names, name_cmp);
  for (int i = 0; i < m->n_tenants && !r->st; i++) {
    const json_t *o = json_array_get(tenants, (size_t)i);
    snprintf(where, sizeof where, "tenants[%d]", i);
    tenant_info *ti = &m->tenants[i];
    ti->name = get_str(r, o, where, "name");
    ti->partition = get_str(r, o, where, "partition");
    ti->model = get_str(r, o, where, "model");
    ti->nodes = get_int(r, o, where, "nodes_after_cleanup", 0, INT32_MAX);
    ti->fused_groups = get_int(r, o, where, "fused_groups", 0, INT32_MAX);
    ti->memory = get_num(r, o, where, "intermediate_buffer_bytes");
    ti->alone = get_num(r, o, where, "predicted_latency_alone_us");
    const json_t *groups = get_arr(r, o, where, "groups");
    for (size_t g = 0; g < json_array_size(groups) && !r->st; g++) {
      char gw[96];
      snprintf(gw, sizeof gw, "%s.groups[%zu]", where, g);
      ti->work_us += get_num(r, json_array_get(groups, g), gw, "predicted_us");
    }
    ti->part = name_find(m->part_names, m->n_parts, ti->partition);
    if (ti->part < 0 && !r->st)
      r->st = MT_ERR(DATA_LOSS, "%s: tenant '%s' names partition '%s', which the report lacks",
                     mt_esc(source), mt_esc(ti->name), mt_esc(ti->partition));
    else if (!r->st)
      m->parts[ti->part].work_us += ti->work_us;
    m->tenant_names[i] = (name_index){ti->name, i};
  }
  qsort(m->tenant_names, (size_t)m->n_tenants, sizeof *m->tenant_names, name_cmp);
  for (int h = 0; h < m->n_hgroups && !r->st; h++) {
    const json_t *o = json_array_get(hgroups, (size_t)h);
    snprintf(where, sizeof where, "horizontal_groups[%d]", h);
    hgroup_info *hi = &m->hgroups[h];
    hi->json = o;
    hi->kind = get_str(r, o, where, "kind");
    const char *pname = get_str(r, o, where, "partition");
    hi->stream = get_int(r, o, where, "stream", 0, MAX_LANES - 1);
    hi->position = get_int(r, o, where, "position", -1, INT32_MAX);
    hi->us = get_num(r, o, where, "predicted_us");
    hi->start = get_num(r, o, where, "predicted_start_us");
    hi->end = get_num(r, o, where, "predicted_end_us");
    const json_t *members = get_arr(r, o, where, "members");
    const json_t *waits = get_arr(r, o, where, "waits");
    if (r->st) break;
    if (hi->start < 0 || hi->end < hi->start) {
      r->st = MT_ERR(DATA_LOSS, "%s: %s: predicted start %.3f us / end %.3f us are not a span",
                     mt_esc(source), where, hi->start, hi->end);
      break;
    }
    hi->part = name_find(m->part_names, m->n_parts, pname);
    if (hi->part < 0) {
      r->st = MT_ERR(DATA_LOSS, "%s: %s names partition '%s', which the report lacks",
                     mt_esc(source), where, mt_esc(pname));
      break;
    }
    for (size_t w = 0; w < json_array_size(waits); w++) {
      const json_t *x = json_array_get(waits, w);
      if (!json_is_integer(x) || json_integer_value(x) < 0 ||
          json_integer_value(x) >= (json_int_t)m->n_hgroups)
        fail_field(r, where, "waits", "a list of horizontal group ids");
    }
    hi->tenants = calloc(json_array_size(members) + 1, sizeof *hi->tenants);
    if (!hi->tenants) return MT_ERR(RESOURCE_EXHAUSTED, "%s: out of memory", mt_esc(source));
    for (size_t k = 0; k < json_array_size(members) && !r->st; k++) {
      char mw[96];
      snprintf(mw, sizeof mw, "%s.members[%zu]", where, k);
      const char *tname = get_str(r, json_array_get(members, k), mw, "tenant");
      (void)get_int(r, json_array_get(members, k), mw, "group", 0, INT32_MAX);
      int t = name_find(m->tenant_names, m->n_tenants, tname);
      if (t < 0 && !r->st)
        r->st = MT_ERR(DATA_LOSS, "%s: %s names tenant '%s', which the report lacks",
                       mt_esc(source), mw, mt_esc(tname));
      bool seen = false;
      for (int j = 0; j < hi->n_tenants && !seen; j++) seen = hi->tenants[j] == t;
      if (t >= 0 && !seen) {
        hi->tenants[hi->n_tenants++] = t;
        m->tenants[t].kernels++;
        if (hi->end > m->tenants[t].mix_end) m->tenants[t].mix_end = hi->end;
      }
    }
    part_info *pi = &m->parts[hi->part];
    if (hi->stream >= pi->lanes) pi->lanes = hi->stream + 1;
    if (hi->end > pi->scale_us) pi->scale_us = hi->end;
  }
  return r->st;
}

/* ---- drawing ---- */

/* Tableau-like colours for the first twelve tenants, then golden-angle hues. */
static void tenant_colour(int t, char *out, size_t cap) {
  static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                        "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                        "#9c755f", "#17becf", "#8c564b", "#bcbd22"};
  if (t >= 0 && t < 12)
    snprintf(out, cap, "%s", palette[t]);
  else
    snprintf(out, cap, "hsl(%d,55%%,55%%)", (int)(((long long)t * 137) % 360));
}

static const char *const CSS =
    "body{font:14px/1.4 system-ui,sans-serif;margin:16px 24px;color:#222;background:#fff}"
    "h1{font-size:20px;margin:0 0 8px}h2{font-size:17px;margin:24px 0 8px;border-bottom:1px "
    "solid #ddd}table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ddd;"
    "padding:3px 8px;text-align:left;vertical-align:top}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums}th{background:#f4f4f4}.sw{display:inline-block;width:12px;"
    "height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}.scroll{overflow-x:auto;"
    "border:1px solid #eee}.scroll svg{display:block;width:100%;height:auto}"
    "details>summary{cursor:pointer;font-weight:600;margin:6px 0}.partition{margin:10px 0}"
    ".hg:hover rect{stroke:#000;stroke-width:1.2}.wait{stroke:#555;stroke-width:0.8;fill:none;"
    "opacity:.6}.axis{stroke:#bbb;stroke-width:.5}svg text{font:11px system-ui,sans-serif;"
    "fill:#333}#detail{position:fixed;right:12px;bottom:12px;max-width:420px;background:#fffbe6;"
    "border:1px solid #d8c98a;padding:6px 10px;font-size:12px;white-space:pre-wrap;"
    "min-height:1em}#detail:empty{display:none}td.t{white-space:nowrap}.hg rect{stroke:#fff;"
    "stroke-width:.4}.legend span{margin-right:14px;white-space:nowrap}.muted{color:#777}";

/* Hover shows a box's details; the slider widens a partition's timeline; data-js says the
 * script ran to its end (the browser test reads it). */
static const char *const JS =
    "(function(){var d=document.getElementById('detail');"
    "document.addEventListener('mouseover',function(e){var g=e.target.closest&&"
    "e.target.closest('.hg');if(g)d.textContent=g.getAttribute('data-info');});"
    "document.querySelectorAll('input.zoom').forEach(function(z){z.addEventListener('input',"
    "function(){document.getElementById(z.getAttribute('data-target')).style.width="
    "(z.value*100)+'%';});});document.body.setAttribute('data-js','ok');})();";

enum { LABEL_W = 150, PLOT_W = 1000, LANE_H = 26, BOX_H = 18, AXIS_H = 22 };

static double x_of(const part_info *pi, double us) {
  return LABEL_W + (pi->scale_us > 0 ? us / pi->scale_us : 0) * PLOT_W;
}

static double lane_y(long long stream) { return AXIS_H + (double)stream * LANE_H; }

static void draw_box(sb *b, const model *m, int h) {
  const hgroup_info *hi = &m->hgroups[h];
  const part_info *pi = &m->parts[hi->part];
  double x = x_of(pi, hi->start), w = x_of(pi, hi->end) - x;
  if (w < 0.6) w = 0.6; /* a 1 us kernel in a 10 ms round still shows */
  double y = lane_y(hi->stream) + (LANE_H - BOX_H) / 2.0;
  sb_printf(b, "<g class=\"hg\" data-hgroup=\"%d\" data-partition=\"", h);
  sb_esc(b, pi->name);
  sb_printf(b, "\" data-stream=\"%lld\" data-tenants=\"", hi->stream);
  for (int k = 0; k < hi->n_tenants; k++) {
    if (k) sb_puts(b, " ");
    sb_esc(b, m->tenants[hi->tenants[k]].name);
  }
  sb_printf(b, "\" data-info=\"horizontal group %d (", h);
  sb_esc(b, hi->kind);
  sb_printf(b, "), stream %lld position %lld: %.1f-%.1f us (%.1f us)", hi->stream, hi->position,
            hi->start, hi->end, hi->us);
  const json_t *members = json_object_get(hi->json, "members");
  for (size_t k = 0; k < json_array_size(members); k++) {
    const json_t *mem = json_array_get(members, k);
    sb_puts(b, k ? ", " : "; members: ");
    sb_esc(b, json_string_value(json_object_get(mem, "tenant")));
    sb_printf(b, " #%lld", (long long)json_integer_value(json_object_get(mem, "group")));
  }
  sb_puts(b, "\">");
  /* one tenant: one colour; several: horizontal stripes, one per tenant */
  int k_n = hi->n_tenants > 0 ? hi->n_tenants : 1;
  for (int k = 0; k < k_n; k++) {
    char colour[32];
    tenant_colour(hi->n_tenants ? hi->tenants[k] : -1, colour, sizeof colour);
    if (!hi->n_tenants) snprintf(colour, sizeof colour, "#999");
    sb_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>", x,
              y + (double)BOX_H * k / k_n, w, (double)BOX_H / k_n, colour);
  }
  sb_printf(b, "<title>group %d</title></g>\n", h);
}

static void draw_partition(sb *b, const model *m, int p) {
  const part_info *pi = &m->parts[p];
  int n_boxes = 0, n_waits = 0;
  for (int h = 0; h < m->n_hgroups; h++)
    if (m->hgroups[h].part == p) {
      n_boxes++;
      n_waits += (int)json_array_size(json_object_get(m->hgroups[h].json, "waits"));
    }
  sb_puts(b, "<details open class=\"partition\" data-partition=\"");
  sb_esc(b, pi->name);
  sb_puts(b, "\"><summary>partition '");
  sb_esc(b, pi->name);
  sb_printf(b,
            "': %lld SMs%s, %lld stream(s), %d horizontal group(s), %d wait(s), predicted "
            "makespan %.1f us</summary>\n",
            pi->sm_count, pi->sm_budget ? " (budgeted)" : "", pi->lanes, n_boxes, n_waits,
            pi->makespan);
  sb_printf(b,
            "<label class=\"muted\">zoom <input type=\"range\" class=\"zoom\" min=\"1\" "
            "max=\"20\" step=\"1\" value=\"1\" data-target=\"tl%d\"></label>\n",
            p);
  double height = AXIS_H + (double)pi->lanes * LANE_H + 4;
  sb_printf(b,
            "<div class=\"scroll\"><svg id=\"tl%d\" xmlns=\"http://www.w3.org/2000/svg\" "
            "viewBox=\"0 0 %d %.0f\" role=\"img\">\n",
            p, LABEL_W + PLOT_W + 10, height);
  /* time axis: ten ticks across the partition's round */
  for (int i = 0; i <= 10; i++) {
    double us = pi->scale_us * i / 10.0, x = x_of(pi, us);
    sb_printf(b,
              "<line class=\"axis\" x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%.0f\"/>"
              "<text x=\"%.2f\" y=\"12\" text-anchor=\"%s\">%.0f us</text>\n",
              x, AXIS_H - 4, x, height, x,
              i == 0    ? "start"
              : i == 10 ? "end"
                        : "middle",
              us);
  }
  for (long long s = 0; s < pi->lanes; s++) {
    double y = lane_y(s);
    sb_printf(b,
              "<g class=\"lane\" data-stream=\"%lld\"><rect x=\"0\" y=\"%.0f\" width=\"%d\" "
              "height=\"%d\" fill=\"%s\"/><text x=\"4\" y=\"%.0f\">stream %lld &#183; %lld "
              "SMs</text></g>\n",
              s, y, LABEL_W + PLOT_W + 10, LANE_H, s % 2 ? "#f7f7f7" : "#fdfdfd",
              y + LANE_H / 2.0 + 4, s, pi->sm_count);
  }
  for (int h = 0; h < m->n_hgroups; h++)
    if (m->hgroups[h].part == p) draw_box(b, m, h);
  /* waits: from the end of the awaited group on its lane to the start of the waiting one */
  for (int h = 0; h < m->n_hgroups; h++) {
    const hgroup_info *hi = &m->hgroups[h];
    if (hi->part != p) continue;
    const json_t *waits = json_object_get(hi->json, "waits");
    for (size_t w = 0; w < json_array_size(waits); w++) {
      const hgroup_info *src = &m->hgroups[json_integer_value(json_array_get(waits, w))];
      if (src->part != p) continue;
      sb_printf(b,
                "<path class=\"wait\" d=\"M%.2f %.1f L%.2f %.1f\" marker-end=\"url(#arrow)\"/>\n",
                x_of(pi, src->end), lane_y(src->stream) + LANE_H / 2.0, x_of(pi, hi->start),
                lane_y(hi->stream) + LANE_H / 2.0);
    }
  }
  sb_puts(b, "</svg></div>\n<div class=\"legend\">");
  for (int t = 0; t < m->n_tenants; t++) {
    if (m->tenants[t].part != p) continue;
    char colour[32];
    tenant_colour(t, colour, sizeof colour);
    sb_printf(b, "<span><i class=\"sw\" style=\"background:%s\"></i>", colour);
    sb_esc(b, m->tenants[t].name);
    sb_puts(b, "</span>");
  }
  sb_puts(b, "</div></details>\n");
}

static void write_tenants(sb *b, const model *m) {
  sb_puts(b, "<h2>Tenants</h2>\n<table id=\"tenants\"><tr><th>tenant</th><th>partition</th>"
             "<th>model</th><th>nodes</th><th>fused groups</th><th>kernels</th>"
             "<th>intermediate memory</th><th>predicted alone</th><th>predicted in the mix</th>"
             "<th>share of partition work</th></tr>\n");
  for (int t = 0; t < m->n_tenants; t++) {
    const tenant_info *ti = &m->tenants[t];
    char colour[32];
    tenant_colour(t, colour, sizeof colour);
    double share = m->parts[ti->part].work_us > 0 ? ti->work_us / m->parts[ti->part].work_us : 0;
    sb_puts(b, "<tr class=\"tenant\" data-tenant=\"");
    sb_esc(b, ti->name);
    sb_printf(b, "\"><td class=\"t\"><i class=\"sw\" style=\"background:%s\"></i>", colour);
    sb_esc(b, ti->name);
    sb_puts(b, "</td><td>");
    sb_esc(b, ti->partition);
    sb_puts(b, "</td><td>");
    sb_esc(b, ti->model);
    sb_printf(b,
              "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%d</td>"
              "<td class=\"n\">%.2f MiB</td><td class=\"n\">%.1f us</td><td class=\"n\">%.1f us"
              "</td><td class=\"n\">%.1f%%</td></tr>\n",
              ti->nodes, ti->fused_groups, ti->kernels, ti->memory / 1048576.0, ti->alone,
              ti->mix_end, 100.0 * share);
  }
  sb_puts(b, "</table>\n<p class=\"muted\">kernels: horizontal groups (launches) the tenant is "
             "in; in the mix: when its last one ends on the predicted timeline; share: its fused "
             "groups' predicted time over all tenants' on the partition.</p>\n");
}

typedef struct rejection {
  const char *pass, *reason, *what;
} rejection;

static int rejection_cmp(const void *a, const void *b) {
  const rejection *x = a, *y = b;
  int c = strcmp(x->pass, y->pass);
  if (!c) c = strcmp(x->reason, y->reason);
  return c ? c : strcmp(x->what, y->what);
}

typedef struct reason_run {
  size_t first, count;
} reason_run;

static const rejection *g_runs_base; /* qsort has no context argument */

static int run_cmp(const void *a, const void *b) {
  const reason_run *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return rejection_cmp(&g_runs_base[x->first], &g_runs_base[y->first]);
}

MT_MUST_USE static mt_status *write_fusion(sb *b, const model *m, const char *source) {
  sb_puts(b, "<h2>Fusion decisions</h2>\n");
  int formed = 0;
  for (int h = 0; h < m->n_hgroups; h++)
    formed += json_array_size(json_object_get(m->hgroups[h].json, "members")) > 1;
  sb_printf(b,
            "<details%s id=\"hgroups\"><summary>%d horizontal group(s) with more than one "
            "member</summary>\n<table><tr><th>group</th><th>kind</th><th>partition</th>"
            "<th>stream</th><th>position</th><th>predicted</th><th>members</th></tr>\n",
            formed <= 20 ? " open" : "", formed);
  for (int h = 0; h < m->n_hgroups; h++) {
    const hgroup_info *hi = &m->hgroups[h];
    const json_t *members = json_object_get(hi->json, "members");
    if (json_array_size(members) < 2) continue;
    sb_printf(b, "<tr><td class=\"n\">%d</td><td>", h);
    sb_esc(b, hi->kind);
    sb_puts(b, "</td><td>");
    sb_esc(b, m->parts[hi->part].name);
    sb_printf(b,
              "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%.1f us"
              "</td><td>",
              hi->stream, hi->position, hi->us);
    for (size_t k = 0; k < json_array_size(members); k++) {
      const json_t *mem = json_array_get(members, k);
      if (k) sb_puts(b, ", ");
      sb_esc(b, json_string_value(json_object_get(mem, "tenant")));
      sb_printf(b, " #%lld", (long long)json_integer_value(json_object_get(mem, "group")));
    }
    sb_puts(b, "</td></tr>\n");
  }
  sb_puts(b, "</table></details>\n");
  size_t n = json_array_size(m->rejected);
  rejection *rs = calloc(n + 1, sizeof *rs);
  reason_run *runs = calloc(n + 1, sizeof *runs);
  if (!rs || !runs) {
    free(rs);
    free(runs);
    return MT_ERR(RESOURCE_EXHAUSTED, "%s: out of memory", mt_esc(source));
  }
  reader rd = {.source = source};
  for (size_t i = 0; i < n && !rd.st; i++) {
    char where[64];
    snprintf(where, sizeof where, "rejected_fusions[%zu]", i);
    const json_t *o = json_array_get(m->rejected, i);
    rs[i] = (rejection){get_str(&rd, o, where, "pass"), get_str(&rd, o, where, "reason"),
                        get_str(&rd, o, where, "what")};
  }
  size_t n_runs = 0;
  if (!rd.st) {
    qsort(rs, n, sizeof *rs, rejection_cmp);
    for (size_t i = 0; i < n; i++) {
      if (i == 0 || strcmp(rs[i].pass, rs[i - 1].pass) || strcmp(rs[i].reason, rs[i - 1].reason))
        runs[n_runs++] = (reason_run){i, 0};
      runs[n_runs - 1].count++;
    }
    g_runs_base = rs;
    qsort(runs, n_runs, sizeof *runs, run_cmp);
    g_runs_base = NULL;
  }
  sb_printf(b, "<h3>Rejected fusions: %zu, for %zu reason(s)</h3>\n<div id=\"rejected\">", n,
            n_runs);
  for (size_t r = 0; r < n_runs; r++) {
    const rejection *first = &rs[runs[r].first];
    sb_printf(b, "<details><summary>%zu &#215; ", runs[r].count);
    sb_esc(b, first->pass);
    sb_puts(b, ": ");
    sb_esc(b, first->reason);
    sb_puts(b, "</summary><ul>");
    for (size_t i = 0; i < runs[r].count && i < MAX_EXAMPLES; i++) {
      sb_puts(b, "<li>");
      sb_esc(b, rs[runs[r].first + i].what);
      sb_puts(b, "</li>");
    }
    if (runs[r].count > MAX_EXAMPLES)
      sb_printf(b, "<li class=\"muted\">%zu more</li>", runs[r].count - MAX_EXAMPLES);
    sb_puts(b, "</ul></details>\n");
  }
  sb_puts(b, "</div>\n");
  free(rs);
  free(runs);
  return rd.st;
}

MT_MUST_USE static mt_status *write_summary(sb *b, const model *m, const char *source) {
  reader rd = {.source = source};
  reader *r = &rd;
  const json_t *s = m->summary;
  double unfused = get_num(r, s, "summary", "kernels_unfused");
  double fused = get_num(r, s, "summary", "kernels_per_round");
  double groups = get_num(r, s, "summary", "fused_groups");
  double formed = get_num(r, s, "summary", "horizontal_groups_formed");
  double bytes_unfused = get_num(r, s, "summary", "intermediate_bytes_unfused");
  double bytes_fused = get_num(r, s, "summary", "intermediate_bytes_fused");
  double arena = get_num(r, s, "summary", "peak_arena_bytes");
  double unplanned = get_num(r, s, "summary", "unplanned_bytes");
  double makespan = get_num(r, s, "summary", "predicted_makespan_us");
  double alone = get_num(r, s, "summary", "sum_predicted_alone_us");
  if (r->st) return r->st;
  sb_puts(b, "<h2>Summary</h2>\n<table id=\"summary\">");
  sb_puts(b, "<tr><th>target</th><td>");
  sb_esc(b, m->target);
  sb_printf(b, "</td></tr><tr><th>tenants / partitions</th><td>%d / %d</td></tr>\n", m->n_tenants,
            m->n_parts);
  sb_printf(b,
            "<tr><th>kernels per round</th><td>%.0f unfused &#8594; %.0f fused (%.0f fused "
            "groups, %.0f horizontal groups formed)</td></tr>\n",
            unfused, fused, groups, formed);
  sb_printf(b,
            "<tr><th>intermediate bytes</th><td>%.2f MiB unfused &#8594; %.2f MiB fused</td>"
            "</tr>\n<tr><th>memory</th><td>peak arena %.2f MiB, unplanned %.2f MiB</td></tr>\n",
            bytes_unfused / 1048576.0, bytes_fused / 1048576.0, arena / 1048576.0,
            unplanned / 1048576.0);
  sb_printf(b,
            "<tr><th>predicted makespan</th><td>%.1f us vs %.1f us for the tenants one after "
            "another (%.2f&#215;)</td></tr>\n",
            makespan, alone, makespan > 0 ? alone / makespan : 0);
  const json_t *cg = json_object_get(m->root, "codegen");
  if (json_is_object(cg))
    sb_printf(b,
              "<tr><th>codegen</th><td>%zu CUDA kernel(s), %zu GEMM library call(s), %zu "
              "horizontal group(s) not generated</td></tr>\n",
              json_array_size(json_object_get(cg, "kernels")),
              json_array_size(json_object_get(cg, "library_calls")),
              json_array_size(json_object_get(cg, "not_generated")));
  sb_puts(b, "</table>\n");
  return NULL;
}

MT_MUST_USE static mt_status *write_atomic(const char *path, const char *data, size_t len) {
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  if (!tmp) return MT_ERR(RESOURCE_EXHAUSTED, "out of memory");
  snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
  mt_status *st = NULL;
  int fd = mkstemp(tmp);
  if (fd < 0) {
    st = MT_ERR(INVALID_ARGUMENT, "%s: cannot create: %s", mt_esc(path), strerror(errno));
    free(tmp);
    return st;
  }
  mode_t mask = umask(0); /* mkstemp makes 0600; a page is an ordinary file */
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask);
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, data + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  if (close(fd) != 0 || done != len || rename(tmp, path) != 0) {
    st = MT_ERR(INVALID_ARGUMENT, "%s: write failed: %s", mt_esc(path), strerror(errno));
    unlink(tmp);
  }
  free(tmp);
  return st;
}

mt_status *mt_report_html_write(const json_t *report, const char *source, const char *html_path) {
  model m;
  mt_status *st = model_read(report, source, &m);
  sb b = {0};
  if (!st) {
    sb_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<title>mtcc schedule: ");
    sb_esc(&b, m.target);
    sb_printf(&b, "</title>\n<style>%s</style></head>\n<body>\n<h1>mtcc schedule &#8212; ", CSS);
    sb_esc(&b, m.target);
    sb_printf(&b,
              ", %d tenant(s) on %d partition(s)</h1>\n<p class=\"muted\">Predicted by the cost "
              "model: one lane per stream, one box per horizontal group (one launch) from its "
              "predicted start to end, coloured by tenant (striped when several tenants share "
              "it); arrows are waits on another stream. Hover a box for details.</p>\n",
              m.n_tenants, m.n_parts);
    sb_puts(&b, "<svg width=\"0\" height=\"0\" style=\"position:absolute\"><defs><marker "
                "id=\"arrow\" viewBox=\"0 0 6 6\" refX=\"6\" refY=\"3\" markerWidth=\"6\" "
                "markerHeight=\"6\" orient=\"auto\"><path d=\"M0 0L6 3L0 6z\" fill=\"#555\"/>"
                "</marker></defs></svg>\n<h2>Timeline</h2>\n<div id=\"timelines\">\n");
    for (int p = 0; p < m.n_parts; p++) draw_partition(&b, &m, p);
    sb_puts(&b, "</div>\n");
    write_tenants(&b, &m);
    st = write_fusion(&b, &m, source);
  }
  if (!st) st = write_summary(&b, &m, source);
  if (!st) {
    sb_printf(&b, "<div id=\"detail\"></div>\n<script>%s</script>\n</body></html>\n", JS);
    st = b.oom ? MT_ERR(RESOURCE_EXHAUSTED, "%s: out of memory rendering the page", mt_esc(source))
               : write_atomic(html_path, b.buf, b.len);
  }
  free(b.buf);
  model_free(&m);
  return st;
}

mt_status *mt_report_html_from_file(const char *report_path, const char *html_path) {
  FILE *f = fopen(report_path, "rb");
  if (!f) return MT_ERR(NOT_FOUND, "%s: cannot open: %s", mt_esc(report_path), strerror(errno));
  int c;
  do c = fgetc(f);
  while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
  fclose(f);
  if (c != '{')
    return MT_ERR(INVALID_ARGUMENT,
                  "%s: not a JSON compile report (reading a bundle is not implemented yet: pass "
                  "the file of `mtcc compile --report FILE`)",
                  mt_esc(report_path));
  json_error_t err;
  json_t *root = json_load_file(report_path, JSON_REJECT_DUPLICATES, &err);
  if (!root)
    return MT_ERR(DATA_LOSS, "%s: corrupt JSON report at line %d: %s", mt_esc(report_path),
                  err.line, mt_esc(err.text));
  mt_status *st = mt_report_html_write(root, report_path, html_path);
  json_decref(root);
  return st;
}
