/*
 * json.c -- see json.h.
 */
#include "json.h"

#include <math.h>
#include <stdlib.h>

size_t cli_utf8_len(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned c = s[0], lo = 0x80, hi = 0xBF;
  size_t len;
  uint32_t v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    v = c & 0x0F;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    v = c & 0x07;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    unsigned b = s[i];
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF))
      return 0;
    v = (v << 6) | (b & 0x3F);
  }
  *cp = v;
  return len;
}

void json_put_string(FILE *f, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  fputc('"', f);
  while (i < len) {
    uint32_t cp;
    size_t n = cli_utf8_len(p + i, len - i, &cp);
    if (n == 0) {
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
    size_t n = cli_utf8_len(p + i, len - i, &cp);
    if (n == 0)
      return false;
    i += n;
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
    size_t n = cli_utf8_len(p + i, len - i, &cp);
    if (n == 0) {
      extra += 2;
      n = 1;
    }
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
