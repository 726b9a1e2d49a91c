/* Escaping of names taken from files before they are printed.
 *
 * Node, value, tenant, partition, graph, attribute, file and case-folder names come from inputs an
 * attacker may write. Printed raw, a newline in one forges a second "mtcc: error:" line or a "PASS"
 * line in conformance output, and an ESC byte drives the terminal. Every place that prints such a
 * name goes through these helpers: control bytes (< 0x20, 0x7f) become \n, \r, \t or \xNN, bytes
 * that are not valid UTF-8 become \xNN, and (in names) the backslash itself becomes \\ so the
 * escaped form is unambiguous. Valid UTF-8 text is kept as it is. */
#ifndef MT_BASE_ESCAPE_H
#define MT_BASE_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the escaped form of s (NUL-terminated; NULL prints as "") into out, which holds cap
 * bytes (cap > 0); a result that does not fit is cut at a whole escape and ends in "...".
 * escape_backslash: true for names (unambiguous), false for whole messages whose names were
 * already escaped (so their backslashes are not doubled again). Returns out. */
char *mt_escape_into(const char *s, bool escape_backslash, char *out, size_t cap);

/* The escaped form of a name in one of a few rotating thread-local buffers (1 KiB each), so that
 * several can appear in one printf: valid until the 8th later call on the same thread. */
const char *mt_esc(const char *s);

/* The same for text that may already hold escaped names (a status message, a rejection
 * reason): control bytes and invalid UTF-8 are escaped, backslashes are kept. */
const char *mt_esc_text(const char *s);

/* True when s holds a byte that mt_escape_into would rewrite (backslash excluded). */
bool mt_needs_escape(const char *s);

#endif
