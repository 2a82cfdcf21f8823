/*
 * buf.c -- growable byte buffers and the integer codecs of the on-disk
 * format (fixed-width little-endian, and varints).  Used by the segment
 * writer and the in-memory index; the matching decoders are
 * kidx__varint_get() here and the kidx__get_u32/u64 inlines.
 */
#include "kidx_int.h"

#include <stdlib.h>

int kidx__buf_reserve(kidx__buf *b, size_t extra) {
  if (extra <= b->cap - b->n)
    return KIDX_OK;
  if (extra > SIZE_MAX - b->n)
    return KIDX_ENOMEM;
  size_t need = b->n + extra;
  /* Grow by 1.5x so that appends are amortised O(1) without doubling the
   * memory of the large postings buffers. */
  size_t cap = b->cap < 64 ? 64 : b->cap;
  while (cap < need) {
    size_t next = cap + cap / 2;
    cap = next > cap ? next : need;
  }
  uint8_t *p = realloc(b->p, cap);
  if (!p)
    return KIDX_ENOMEM;
  b->p = p;
  b->cap = cap;
  return KIDX_OK;
}

int kidx__buf_append(kidx__buf *b, const void *data, size_t len) {
  if (len == 0)
    return KIDX_OK;
  int rc = kidx__buf_reserve(b, len);
  if (rc)
    return rc;
  memcpy(b->p + b->n, data, len);
  b->n += len;
  return KIDX_OK;
}

int kidx__buf_put_u32(kidx__buf *b, uint32_t v) {
  int rc = kidx__buf_reserve(b, 4);
  if (rc)
    return rc;
  kidx__set_u32(b->p + b->n, v);
  b->n += 4;
  return KIDX_OK;
}

int kidx__buf_put_u64(kidx__buf *b, uint64_t v) {
  int rc = kidx__buf_reserve(b, 8);
  if (rc)
    return rc;
  kidx__set_u64(b->p + b->n, v);
  b->n += 8;
  return KIDX_OK;
}

size_t kidx__varint_encode(uint8_t *out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
}

int kidx__buf_put_varint(kidx__buf *b, uint64_t v) {
  int rc = kidx__buf_reserve(b, 10);
  if (rc)
    return rc;
  b->n += kidx__varint_encode(b->p + b->n, v);
  return KIDX_OK;
}

void kidx__buf_free(kidx__buf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

int kidx__varint_get_slow(const uint8_t **pp, const uint8_t *end,
                          uint64_t *out) {
  const uint8_t *p = *pp;
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p >= end)
      return -1;
    uint8_t byte = *p++;
    /* The tenth byte may only contribute the top bit of a 64-bit value. */
    if (shift == 63 && byte > 1)
      return -1;
    v |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *pp = p;
      *out = v;
      return 0;
    }
  }
  return -1;
}

/* Stored in indexes through kidx_stamp_hash(), so its values must never
 * change (a change would only make kidx re-read unchanged files once).
 *
 * A 64-bit hash over 8-byte words: multiply-xorshift mixing in the style
 * of Stafford's "Mix13" finaliser.  Speed matters (every token of every
 * document is hashed once); collision quality only needs to be good enough
 * for a table that is at most half full. */
uint64_t kidx__hash_bytes(const void *data, size_t len) {
  const uint8_t *p = data;
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xBF58476D1CE4E5B9ull);
  while (len >= 8) {
    h ^= kidx__get_u64(p);
    h *= 0x94D049BB133111EBull;
    h ^= h >> 29;
    p += 8;
    len -= 8;
  }
  uint64_t tail = 0;
  for (size_t i = 0; i < len; i++)
    tail |= (uint64_t)p[i] << (8 * i);
  h ^= tail;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 31;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 29;
  return h | 1;
}
