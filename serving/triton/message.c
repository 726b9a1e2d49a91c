/* Message formatting for the Triton backend (message.h). */
#include "serving/triton/message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *mt_serving_vmsg(const char *fmt, va_list ap) {
  char *out = NULL;
  if (vasprintf(&out, fmt, ap) < 0) out = NULL;
  return out ? out : strdup("out of memory");
}

char *mt_serving_msg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *out = mt_serving_vmsg(fmt, ap);
  va_end(ap);
  return out;
}
