/*
 * utf8.c -- UTF-8 decoding that accepts any bytes (RFC 3629; Unicode 15
 * section 3.9, table 3-7 "Well-Formed UTF-8 Byte Sequences").  Called by
 * the analyser for every character of every document and query.
 *
 * The contract that keeps bad input harmless: an ill-formed sequence is
 * reported as KIDX__UTF8_INVALID after consuming exactly one byte.  The
 * caller treats it as a word separator, so a bad byte can neither crash
 * the decoder, nor swallow the valid text that follows, nor glue bytes
 * from both sides of it into one token.  (This is the "maximal subpart"
 * practice of Unicode 15 section 3.9 taken to its simplest form.)
 *
 * The kidx tool compiles this file in too (see kidx_utf8.h), so it
 * includes only its own header.
 */
#include "kidx_utf8.h"

size_t kidx__utf8_decode(const uint8_t *p, size_t n, uint32_t *cp) {
  uint8_t b0 = p[0];
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len;
  uint32_t v;
  uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    v = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    v = b0 & 0x0Fu;
    if (b0 == 0xE0)
      lo = 0xA0; /* overlong below U+0800 */
    else if (b0 == 0xED)
      hi = 0x9F; /* surrogates U+D800..U+DFFF */
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    v = b0 & 0x07u;
    if (b0 == 0xF0)
      lo = 0x90; /* overlong below U+10000 */
    else if (b0 == 0xF4)
      hi = 0x8F; /* above U+10FFFF */
  } else {
    /* 0x80..0xC1 (continuation bytes, overlong 2-byte leads) and 0xF5..0xFF */
    *cp = KIDX__UTF8_INVALID;
    return 1;
  }
  if (n < len || p[1] < lo || p[1] > hi) {
    *cp = KIDX__UTF8_INVALID;
    return 1;
  }
  v = (v << 6) | (p[1] & 0x3Fu);
  for (size_t i = 2; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80) {
      *cp = KIDX__UTF8_INVALID;
      return 1;
    }
    v = (v << 6) | (p[i] & 0x3Fu);
  }
  *cp = v;
  return len;
}

size_t kidx__utf8_encode(uint32_t cp, uint8_t *out) {
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (uint8_t)(0xC0 | (cp >> 6));
    out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (uint8_t)(0xE0 | (cp >> 12));
    out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (uint8_t)(0xF0 | (cp >> 18));
  out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}
