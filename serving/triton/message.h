/* One-line messages of the Triton backend, formatted into malloc'd strings that the caller frees
 * (NULL only when even "out of memory" cannot be copied; free(NULL) is fine). */
#ifndef MT_SERVING_TRITON_MESSAGE_H
#define MT_SERVING_TRITON_MESSAGE_H

#include <stdarg.h>

__attribute__((format(printf, 1, 0))) char *mt_serving_vmsg(const char *fmt, va_list ap);
__attribute__((format(printf, 1, 2))) char *mt_serving_msg(const char *fmt, ...);

#endif
