/* Status values shared by every layer of mtcc and libmtrt.
 *
 * A status is NULL for success, or a heap object holding a code and a message that names the thing
 * that went wrong. Context is prepended on the way up ("tenant 'bert': node 'MatMul_3': ...").
 * Nothing here aborts: allocation failure while building a status yields a static out-of-memory
 * status that mt_status_free() recognises and never frees. */
#ifndef MT_BASE_STATUS_H
#define MT_BASE_STATUS_H

#include <stdarg.h>

typedef enum mt_status_code {
  MT_OK = 0,
  MT_INVALID_ARGUMENT,   /* the input (file, manifest, caller argument) is wrong */
  MT_OUT_OF_RANGE,       /* an index, size or count outside what is allowed */
  MT_DATA_LOSS,          /* truncated or corrupt bytes */
  MT_NOT_FOUND,          /* a file, tenant, partition or value that does not exist */
  MT_UNAVAILABLE,        /* a device or driver that is not there */
  MT_RESOURCE_EXHAUSTED, /* out of memory, or a budget that does not fit */
  MT_UNIMPLEMENTED,      /* an op, dtype or attribute form mtcc does not support */
  MT_INTERNAL,           /* a bug in mtcc */
} mt_status_code;

typedef struct mt_status mt_status;

#if defined(__GNUC__)
#define MT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MT_MUST_USE __attribute__((warn_unused_result))
#else
#define MT_PRINTF(f, a)
#define MT_MUST_USE
#endif

/* Builds a status; code must not be MT_OK. */
MT_MUST_USE mt_status *mt_status_make(mt_status_code code, const char *fmt, ...) MT_PRINTF(2, 3);
MT_MUST_USE mt_status *mt_status_makev(mt_status_code code, const char *fmt, va_list ap);
/* Prepends "context: " to the message; takes ownership of st and returns it (or NULL if st is NULL). */
MT_MUST_USE mt_status *mt_status_annotate(mt_status *st, const char *fmt, ...) MT_PRINTF(2, 3);
mt_status_code mt_status_code_of(const mt_status *st);
/* The message; valid until the status is freed. "OK" for NULL. */
const char *mt_status_message(const mt_status *st);
const char *mt_status_code_name(mt_status_code code);
void mt_status_free(mt_status *st);

#define MT_RETURN_IF_ERROR(expr, ...)                                                              \
  do {                                                                                             \
    mt_status *mt_st_ = (expr);                                                                    \
    if (mt_st_) return mt_status_annotate(mt_st_, __VA_ARGS__);                                    \
  } while (0)

#define MT_RETURN_IF_ERROR_PLAIN(expr)                                                             \
  do {                                                                                             \
    mt_status *mt_st_ = (expr);                                                                    \
    if (mt_st_) return mt_st_;                                                                     \
  } while (0)

#define MT_ERR(code, ...) mt_status_make(MT_##code, __VA_ARGS__)

#endif
