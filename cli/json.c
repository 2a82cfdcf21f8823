/*
 * json.c -- see json.h.
 */
#include "json.h"

#include "kidx_utf8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- reading ids back (json_parse_id) ---- */

/* A cursor over the text being parsed; the output grows in out. */
typedef struct id_parser {
  const unsigned char *p, *end;
  char *out;
  size_t n, cap;
  char *err;
  size_t err_cap;
} id_parser;

static bool id_fail(id_parser *ps, const char *why) {
  snprintf(ps->err, ps->err_cap, "%s", why);
  return false;
}

static bool id_put(id_parser *ps, const void *data, size_t len) {
  if (ps->cap - ps->n < len + 1) {
    size_t cap = ps->cap ? ps->cap : 64;
    while (cap - ps->n < len + 1)
      cap *= 2;
    char *grown = realloc(ps->out, cap);
    if (!grown)
      return id_fail(ps, "out of memory");
    ps->out = grown;
    ps->cap = cap;
  }
  memcpy(ps->out + ps->n, data, len);
  ps->n += len;
  ps->out[ps->n] = '\0';
  return true;
}

static void id_space(id_parser *ps) {
  while (ps->p < ps->end &&
         (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

/* Four hex digits of a \u escape. */
static bool id_hex4(id_parser *ps, uint32_t *v) {
  *v = 0;
  if (ps->end - ps->p < 4)
    return id_fail(ps, "truncated \\u escape");
  for (int i = 0; i < 4; i++) {
    unsigned char c = *ps->p++;
    uint32_t d = c >= '0' && c <= '9'   ? (uint32_t)(c - '0')
                 : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
                                        : 16u;
    if (d == 16)
      return id_fail(ps, "bad hex digit in a \\u escape");
    *v = *v << 4 | d;
  }
  return true;
}

/* A JSON string at ps->p (on its opening quote), decoded onto the output. */
static bool id_string(id_parser *ps) {
  if (ps->p >= ps->end || *ps->p != '"')
    return id_fail(ps, "expected a string");
  ps->p++;
  while (ps->p < ps->end && *ps->p != '"') {
    unsigned char c = *ps->p;
    if (c < 0x20)
      return id_fail(ps, "control character in a string (escape it)");
    if (c != '\\') {
      uint32_t cp;
      size_t k = kidx__utf8_decode(ps->p, (size_t)(ps->end - ps->p), &cp);
      if (cp == KIDX__UTF8_INVALID)
        return id_fail(ps, "invalid UTF-8 in a string (use {\"bytes\":...})");
      if (!id_put(ps, ps->p, k))
        return false;
      ps->p += k;
      continue;
    }
    if (++ps->p >= ps->end)
      return id_fail(ps, "unterminated string");
    static const char SHORT[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
    const char *e =
        *ps->p != 'u' && *ps->p != '\0' ? strchr(SHORT, *ps->p) : NULL;
    if (e && (e - SHORT) % 2 == 0) {
      ps->p++;
      if (!id_put(ps, e + 1, 1))
        return false;
      continue;
    }
    if (*ps->p != 'u')
      return id_fail(ps, "unknown escape in a string");
    ps->p++;
    uint32_t cp, lo;
    if (!id_hex4(ps, &cp))
      return false;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return id_fail(ps, "lone surrogate in a \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
        return id_fail(ps, "lone surrogate in a \\u escape");
      ps->p += 2;
      if (!id_hex4(ps, &lo))
        return false;
      if (lo < 0xDC00 || lo > 0xDFFF)
        return id_fail(ps, "lone surrogate in a \\u escape");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    uint8_t buf[4];
    if (!id_put(ps, buf, kidx__utf8_encode(cp, buf)))
      return false;
  }
  if (ps->p >= ps->end)
    return id_fail(ps, "unterminated string");
  ps->p++;
  return true;
}

/* Decodes the standard padded base64 in b[0..n) onto the output. */
static bool id_base64(id_parser *ps, const char *b, size_t n) {
  if (n % 4 != 0)
    return id_fail(ps, "invalid base64 in \"bytes\" (length not a multiple "
                       "of 4)");
  for (size_t i = 0; i < n; i += 4) {
    uint32_t v = 0;
    size_t pad = 0;
    for (size_t k = 0; k < 4; k++) {
      char c = b[i + k];
      uint32_t d = c >= 'A' && c <= 'Z'   ? (uint32_t)(c - 'A')
                   : c >= 'a' && c <= 'z' ? (uint32_t)(c - 'a' + 26)
                   : c >= '0' && c <= '9' ? (uint32_t)(c - '0' + 52)
                   : c == '+'             ? 62u
                   : c == '/'             ? 63u
                                          : 64u;
      /* '=' only as the last one or two characters of the text. */
      if (c == '=' && i + 4 == n && k >= 2 && (k == 3 || b[i + 3] == '=')) {
        pad++;
        d = 0;
      } else if (d == 64 || pad) {
        return id_fail(ps, "invalid base64 in \"bytes\"");
      }
      v = v << 6 | d;
    }
    uint8_t three[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    if (!id_put(ps, three, 3 - pad))
      return false;
  }
  return true;
}

bool json_parse_id(const char *s, size_t len, char **out, size_t *out_len,
                   char *err, size_t cap) {
  id_parser ps = {(const unsigned char *)s,
                  (const unsigned char *)s + len,
                  NULL,
                  0,
                  0,
                  err,
                  cap};
  bool ok = id_put(&ps, "", 0); /* an empty id is still a string */
  id_space(&ps);
  if (ok && ps.p < ps.end && *ps.p == '{') {
    ps.p++;
    id_space(&ps);
    ok = id_string(&ps);
    if (ok && !(ps.n == 5 && memcmp(ps.out, "bytes", 5) == 0))
      ok = id_fail(&ps, "the object's member must be \"bytes\"");
    id_space(&ps);
    if (ok && (ps.p >= ps.end || *ps.p++ != ':'))
      ok = id_fail(&ps, "expected ':' after \"bytes\"");
    id_space(&ps);
    ps.n = 0;
    ok = ok && id_string(&ps);
    id_space(&ps);
    if (ok && (ps.p >= ps.end || *ps.p++ != '}'))
      ok = id_fail(&ps, "expected '}' after the \"bytes\" member");
    if (ok) {
      /* The member's text becomes the input of the base64 decoder, and
       * a fresh output takes the bytes. */
      size_t n = ps.n;
      char *b64 = ps.out;
      ps.out = NULL;
      ps.n = ps.cap = 0;
      ok = id_put(&ps, "", 0) && id_base64(&ps, b64, n);
      free(b64);
    }
  } else if (ok) {
    ok = id_string(&ps);
  }
  id_space(&ps);
  if (ok && ps.p != ps.end)
    ok = id_fail(&ps, "unexpected text after the id");
  if (!ok) {
    free(ps.out);
    return false;
  }
  *out = ps.out;
  *out_len = ps.n;
  return true;
}
