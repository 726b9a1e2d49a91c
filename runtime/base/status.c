/* Status objects: code + formatted message, context prepended on the way up. */
#include "runtime/base/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mt_status {
  mt_status_code code;
  char *message;
};

static char oom_message[] = "out of memory while reporting an error";
static mt_status oom_status = {MT_RESOURCE_EXHAUSTED, oom_message};

mt_status *mt_status_makev(mt_status_code code, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  mt_status *st = malloc(sizeof *st);
  char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (!st || !msg) {
    free(st);
    free(msg);
    return &oom_status;
  }
  vsnprintf(msg, (size_t)n + 1, fmt, ap);
  st->code = code == MT_OK ? MT_INTERNAL : code;
  st->message = msg;
  return st;
}

mt_status *mt_status_make(mt_status_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mt_status *st = mt_status_makev(code, fmt, ap);
  va_end(ap);
  return st;
}

mt_status *mt_status_annotate(mt_status *st, const char *fmt, ...) {
  if (!st || st == &oom_status || !fmt || !*fmt) return st;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return st;
  size_t old = strlen(st->message);
  char *msg = malloc((size_t)n + 2 + old + 1);
  if (!msg) return st; /* keep the inner message rather than lose it */
  va_start(ap, fmt);
  vsnprintf(msg, (size_t)n + 1, fmt, ap);
  va_end(ap);
  memcpy(msg + n, ": ", 2);
  memcpy(msg + n + 2, st->message, old + 1);
  free(st->message);
  st->message = msg;
  return st;
}

mt_status_code mt_status_code_of(const mt_status *st) { return st ? st->code : MT_OK; }

const char *mt_status_message(const mt_status *st) { return st ? st->message : "OK"; }

const char *mt_status_code_name(mt_status_code code) {
  switch (code) {
  case MT_OK: return "ok";
  case MT_INVALID_ARGUMENT: return "invalid argument";
  case MT_OUT_OF_RANGE: return "out of range";
  case MT_DATA_LOSS: return "data loss";
  case MT_NOT_FOUND: return "not found";
  case MT_UNAVAILABLE: return "unavailable";
  case MT_RESOURCE_EXHAUSTED: return "resource exhausted";
  case MT_UNIMPLEMENTED: return "unimplemented";
  case MT_INTERNAL: return "internal";
  }
  return "unknown";
}

void mt_status_free(mt_status *st) {
  if (!st || st == &oom_status) return;
  free(st->message);
  free(st);
}
