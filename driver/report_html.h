/* The compile report as one self-contained HTML page (`mtcc report`, `mtcc compile --report-html`):
 * the predicted timeline per partition (a lane per stream, a box per horizontal group coloured by
 * tenant, waits as arrows), per-tenant and fusion tables and the summary. It reads only the JSON
 * report (never the plan), so a report file from disk and a fresh compile draw the same page. */
#ifndef MT_DRIVER_REPORT_HTML_H
#define MT_DRIVER_REPORT_HTML_H

#include "runtime/base/status.h"

struct json_t;

/* The mtcc_report_version this writer reads (and report.c writes). */
#define MT_REPORT_VERSION "1"

/* Renders report (a parsed compile report; borrowed) into html_path, atomically (a temporary
 * file renamed over it). source names the report in error messages. The page is a function of
 * the report alone: no timestamps, no network, the same bytes for the same report. A report of
 * another version, or with a field missing or of the wrong type, is INVALID_ARGUMENT/DATA_LOSS
 * naming source and the field. */
MT_MUST_USE mt_status *mt_report_html_write(const struct json_t *report, const char *source,
                                            const char *html_path);
/* Reads the JSON report at report_path (a bundle is refused: there is no bundle format yet) and
 * renders it as mt_report_html_write does. */
MT_MUST_USE mt_status *mt_report_html_from_file(const char *report_path, const char *html_path);

#endif
