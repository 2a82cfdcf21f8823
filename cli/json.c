/*
 * json.c -- see json.h.
 */
#include "json.h"

#include "kidx_utf8.h"

#include <math.h>
#include <stdlib.h>

void json_put_string(FILE *f, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  fputc('"', f);
  while (i < len) {
    uint32_t cp;
    size_t n = kidx__utf8_decode(p + i, len - i, &cp);
    if (cp == KIDX__UTF8_INVALID) {
      fputs("\\ufffd", f);
      i++;
      continue;
    }
    if (cp == '"' || cp == '\\')
      fprintf(f, "\\%c", (char)cp);
    else if (cp == '\n')
      fputs("\\n", f); /* the common controls in their short, readable form */
    else if (cp == '\t')
      fputs("\\t", f);
    else if (cp == '\r')
      fputs("\\r", f);
    else if (cp < 0x20)
      fprintf(f, "\\u%04x", (unsigned)cp);
    else
      fwrite(p + i, 1, n, f);
    i += n;
  }
  fputc('"', f);
}

bool json_is_utf8(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    i += kidx__utf8_decode(p + i, len - i, &cp);
    if (cp == KIDX__UTF8_INVALID)
      return false;
  }
  return true;
}

/* Standard base64 of p[0..len), with '=' padding. */
static void put_base64(FILE *f, const unsigned char *p, size_t len) {
  static const char DIGITS[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < len; i += 3) {
    size_t n = len - i < 3 ? len - i : 3;
    uint32_t v = (uint32_t)p[i] << 16;
    if (n > 1)
      v |= (uint32_t)p[i + 1] << 8;
    if (n > 2)
      v |= p[i + 2];
    fputc(DIGITS[v >> 18], f);
    fputc(DIGITS[(v >> 12) & 63], f);
    fputc(n > 1 ? DIGITS[(v >> 6) & 63] : '=', f);
    fputc(n > 2 ? DIGITS[v & 63] : '=', f);
  }
}

void json_put_id(FILE *f, const char *s, size_t len) {
  if (json_is_utf8(s, len)) {
    json_put_string(f, s, len);
    return;
  }
  fputs("{\"bytes\":\"", f);
  put_base64(f, (const unsigned char *)s, len);
  fputs("\"}", f);
}

size_t json_decoded_offset(const char *s, size_t len, size_t off) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, extra = 0;
  if (off > len)
    off = len;
  while (i < off) {
    uint32_t cp;
    size_t n = kidx__utf8_decode(p + i, len - i, &cp);
    if (cp == KIDX__UTF8_INVALID)
      extra += 2; /* n is 1 */
    i += n;
  }
  return off + extra;
}

void json_put_number(FILE *f, double x) {
  char buf[40];
  if (!isfinite(x)) {
    fputs("null", f);
    return;
  }
  /* We never call setlocale(), so the decimal point is always '.'. */
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, x);
    if (strtod(buf, NULL) == x)
      break;
  }
  fputs(buf, f);
}
