/* Escaping of file-controlled names for printing (see escape.h). */
#include "runtime/base/escape.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence starting at p (1..4), or 0 when the bytes there are not
 * one (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *p) {
  unsigned char c = p[0];
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0; /* also stops at the terminating NUL */
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

bool mt_needs_escape(const char *s) {
  if (!s) return false;
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    if (*p < 0x20 || *p == 0x7f) return true;
    size_t n = utf8_len(p);
    if (!n) return true;
    p += n;
  }
  return false;
}

char *mt_escape_into(const char *s, bool escape_backslash, char *out, size_t cap) {
  if (!cap) return out;
  size_t len = 0;
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  while (*p) {
    char piece[8];
    size_t plen, adv = 1;
    unsigned char c = *p;
    if (c == '\n')
      plen = (size_t)snprintf(piece, sizeof piece, "\\n");
    else if (c == '\r')
      plen = (size_t)snprintf(piece, sizeof piece, "\\r");
    else if (c == '\t')
      plen = (size_t)snprintf(piece, sizeof piece, "\\t");
    else if (c == '\\' && escape_backslash)
      plen = (size_t)snprintf(piece, sizeof piece, "\\\\");
    else if (c < 0x20 || c == 0x7f)
      plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", c);
    else if ((adv = utf8_len(p)) == 0) {
      adv = 1;
      plen = (size_t)snprintf(piece, sizeof piece, "\\x%02x", c);
    } else {
      memcpy(piece, p, adv);
      plen = adv;
    }
    if (len + plen + 1 > cap) {
      /* cut at a whole escape, leaving room for "..." where the buffer allows */
      while (len > 0 && len + 4 > cap) {
        len--;
        /* never leave half a UTF-8 sequence */
        while (len > 0 && ((unsigned char)out[len] & 0xc0) == 0x80) len--;
      }
      if (len + 4 <= cap) {
        memcpy(out + len, "...", 3);
        len += 3;
      }
      out[len] = 0;
      return out;
    }
    memcpy(out + len, piece, plen);
    len += plen;
    p += adv;
  }
  out[len] = 0;
  return out;
}

static char *next_buffer(size_t *out_cap) {
  static _Thread_local char bufs[8][1024];
  static _Thread_local unsigned next;
  *out_cap = sizeof bufs[0];
  return bufs[next++ % 8];
}

const char *mt_esc(const char *s) {
  size_t cap;
  char *b = next_buffer(&cap);
  return mt_escape_into(s, true, b, cap);
}

const char *mt_esc_text(const char *s) {
  size_t cap;
  char *b = next_buffer(&cap);
  return mt_escape_into(s, false, b, cap);
}
