/*
 * kidx_int.h -- the one private header of libkidx.
 *
 * It declares the interface between the library's files, one banner per
 * file, in dependency order: codecs and text analysis at the bottom, index
 * storage above them, search above that, the public API (writer.c,
 * reader.c) on top.  A file only calls into banners above its own.
 *
 * Conventions (see DEVELOPERS.md and doc/STYLE notes in README):
 *   - cross-file internals are named kidx__<module>_<verb>; everything else
 *     is static;
 *   - functions that can fail return int: KIDX_OK or a negative KIDX_E*;
 *   - byte spans are (const char *text, size_t len) and need not be
 *     NUL-terminated.
 */
#ifndef KIDX_INT_H
#define KIDX_INT_H

#include "kidx.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Size of the per-handle error message buffer. */
#define KIDX__ERRMSG_MAX 512

#if defined(__GNUC__) || defined(__clang__)
#define KIDX__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define KIDX__PRINTF(f, a)
#endif

/**************************************************************************
** Interface to code in status.c: status strings, version, error messages.
*/

/* Formats a message into buf (KIDX__ERRMSG_MAX bytes) and returns rc, so
 * that a failure site reads `return kidx__err(w->errmsg, KIDX_EIO, ...)`. */
int kidx__err(char *buf, int rc, const char *fmt, ...) KIDX__PRINTF(3, 4);

/**************************************************************************
** Interface to code in buf.c: growable byte buffers and integer codecs.
*/

typedef struct kidx__buf {
  uint8_t *p; /* owned; NULL when cap == 0 */
  size_t n;   /* bytes used */
  size_t cap; /* bytes allocated */
} kidx__buf;

/* Ensures room for `extra` more bytes.  KIDX_OK or KIDX_ENOMEM (also on
 * size overflow); the buffer is unchanged on failure. */
int kidx__buf_reserve(kidx__buf *b, size_t extra);
int kidx__buf_append(kidx__buf *b, const void *data, size_t len);
int kidx__buf_put_u32(kidx__buf *b, uint32_t v); /* little-endian */
int kidx__buf_put_u64(kidx__buf *b, uint64_t v); /* little-endian */
/* LEB128-style variable-length unsigned integer: 7 bits per byte, low
 * group first, high bit set on every byte but the last. */
int kidx__buf_put_varint(kidx__buf *b, uint64_t v);
void kidx__buf_free(kidx__buf *b);

/* Decodes one varint from [*p, end).  Advances *p and returns 0, or
 * returns -1 (truncated, or more than 64 bits) leaving *p unchanged. */
int kidx__varint_get(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* Encodes v as a varint into out (at least 10 bytes); returns its length. */
size_t kidx__varint_encode(uint8_t *out, uint64_t v);

static inline uint32_t kidx__get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}
static inline uint64_t kidx__get_u64(const uint8_t *p) {
  return (uint64_t)kidx__get_u32(p) | ((uint64_t)kidx__get_u32(p + 4) << 32);
}
static inline void kidx__set_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static inline void kidx__set_u64(uint8_t *p, uint64_t v) {
  kidx__set_u32(p, (uint32_t)v);
  kidx__set_u32(p + 4, (uint32_t)(v >> 32));
}

/**************************************************************************
** Interface to code in crc32c.c: CRC-32C (Castagnoli), the checksum of
** every section of an index file.
*/

/* Continues a CRC-32C over [data, data+len).  Start with crc = 0. */
uint32_t kidx__crc32c(uint32_t crc, const void *data, size_t len);

/**************************************************************************
** Interface to code in utf8.c: decoding that accepts any bytes.
*/

/* Returned in *cp for a byte that does not start a valid, shortest-form
 * UTF-8 sequence of a Unicode scalar value (overlong forms, surrogates,
 * values above U+10FFFF, truncated sequences, stray continuation bytes). */
#define KIDX__UTF8_INVALID 0xFFFFFFFFu

/* Decodes the character at p (n >= 1 bytes available).  Returns the number
 * of bytes consumed: the sequence length when valid, otherwise 1 with *cp
 * set to KIDX__UTF8_INVALID, so that decoding resumes at the next byte and
 * never swallows valid text after a bad byte. */
size_t kidx__utf8_decode(const uint8_t *p, size_t n, uint32_t *cp);

/* Encodes a scalar value (<= 0x10FFFF, not a surrogate) into out[4];
 * returns the length, 1..4. */
size_t kidx__utf8_encode(uint32_t cp, uint8_t *out);

/**************************************************************************
** Interface to code in charclass.c: which characters make words, and case
** folding.  (Covers ASCII, Latin-1, Latin Extended-A, basic Greek and
** Cyrillic; other scripts' letters count as word characters unfolded.)
*/

/* Nonzero if cp is a letter, a combining mark or a digit. */
int kidx__char_is_word(uint32_t cp);

/* Simple (one-to-one) case folding of cp; cp itself when it has none. */
uint32_t kidx__char_fold(uint32_t cp);

/**************************************************************************
** Interface to code in stem.c: the Snowball English (Porter2) stemmer.
*/

/* Stems word[0..len) in place and returns the stem's length (<= len).
 * The word must already be case-folded; bytes outside a-z and the
 * apostrophe are treated as non-vowel letters, so any UTF-8 is safe.
 * Pure function: no allocation, no state. */
size_t kidx__stem_english(char *word, size_t len);

/**************************************************************************
** Interface to code in analyze.c: the analysis pipeline shared by documents
** and queries: UTF-8 decode -> split into words -> case fold -> length cap
** -> stem.
*/

typedef struct kidx__token {
  const char *text; /* analysed term bytes, valid during the callback only */
  size_t len;       /* 1..KIDX_MAX_TOKEN_BYTES */
  size_t start;     /* byte offset of the word in the input */
  size_t end;       /* byte offset just past the word */
  uint32_t pos;     /* token position, counted from the caller's first_pos */
} kidx__token;

/* Returns 0 to continue, anything else to stop analysis with that value. */
typedef int (*kidx__token_fn)(void *ctx, const kidx__token *tok);

/* Analyses text[0..len), calling fn for each token in order, positions
 * numbered from first_pos.  Returns 0, or the first nonzero value fn
 * returned.  If next_pos is not NULL it receives the position after the
 * last token (first_pos + number of tokens). */
int kidx__analyze(const char *text, size_t len, uint32_t first_pos,
                  uint32_t *next_pos, kidx__token_fn fn, void *ctx);

#endif /* KIDX_INT_H */
