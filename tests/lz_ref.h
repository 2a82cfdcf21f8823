/*
 * lz_ref.h -- a slow reference decoder for the LZ block format, written
 * from doc/FORMAT.md ("LZ block codec") alone, independently of lib/lz.c.
 * The unit tests (check_lz.c) and the fuzz harness (fuzz/fuzz_lz.c) check
 * that the real decoder accepts exactly the blocks this one accepts and
 * produces the same bytes.
 */
#ifndef KIDX_LZ_REF_H
#define KIDX_LZ_REF_H

#include <stddef.h>
#include <stdint.h>

/* Decodes src[0..n) into dst[0..dst_len) one byte at a time, with every
 * rule of doc/FORMAT.md checked in the simplest way.  Returns 0, or -1 for
 * a malformed block.  static: each including file has its own copy. */
static int lz_ref_decode(const uint8_t *src, size_t n, uint8_t *dst,
                         size_t dst_len) {
  size_t ip = 0, op = 0;
  for (;;) {
    if (ip >= n)
      return -1;
    unsigned token = src[ip++];
    size_t lit = token >> 4, mlen = token & 15;
    if (lit == 15) {
      unsigned b;
      do {
        if (ip >= n)
          return -1;
        b = src[ip++];
        lit += b;
        if (lit > dst_len)
          return -1;
      } while (b == 255);
    }
    for (size_t k = 0; k < lit; k++) {
      if (ip >= n || op >= dst_len)
        return -1;
      dst[op++] = src[ip++];
    }
    if (ip == n) /* last sequence: literals only, low nibble 0 */
      return op == dst_len && mlen == 0 ? 0 : -1;
    if (n - ip < 2)
      return -1;
    size_t off = (size_t)src[ip] | (size_t)src[ip + 1] << 8;
    ip += 2;
    if (off == 0 || off > op)
      return -1;
    if (mlen == 15) {
      unsigned b;
      do {
        if (ip >= n)
          return -1;
        b = src[ip++];
        mlen += b;
        if (mlen > dst_len)
          return -1;
      } while (b == 255);
    }
    mlen += 4;
    /* Starts >= 12 bytes before the end, ends >= 5 bytes before it. */
    if (op + 12 > dst_len || op + mlen + 5 > dst_len)
      return -1;
    for (size_t k = 0; k < mlen; k++, op++)
      dst[op] = dst[op - off];
  }
}

#endif
