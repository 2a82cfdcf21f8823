/*
 * fuzz_lz.c -- libFuzzer harness for the LZ block codec (lib/lz.c).  Built
 * only with -DKIDX_FUZZ=ON and Clang (tests/fuzz/README.md); lz.c is
 * compiled into the harness with coverage instrumentation, ASan and UBSan.
 *
 * The first byte of each input chooses the mode:
 *
 *   even: round trip.  The rest is text to compress: it must compress
 *         into kidx__lz_bound() bytes, decode to itself from a block of
 *         exactly its size, and be accepted by the reference decoder
 *         (lz_ref.h), i.e. obey the end-of-block rules.  Compressing with a
 *         smaller capacity (from the second byte) must fail or give the
 *         same block.
 *   odd:  decode anything.  The next two bytes are the expected output
 *         length (little-endian), the rest the block.  The decoder must
 *         agree with the reference decoder on accept/reject and on the
 *         output, and never touch memory outside its exact-size buffers.
 *         An accepted output, compressed again, must round-trip.
 */
#include "kidx_int.h"

#include "lz_ref.h"

#include <stdio.h>
#include <stdlib.h>

static kidx__lz_scratch scratch;

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_lz: %s\n", what);
    abort();
  }
}

/* A copy of n bytes in a buffer of exactly that size (ASan sees the end). */
static uint8_t *dup_exact(const uint8_t *p, size_t n) {
  uint8_t *q = malloc(n ? n : 1);
  check(q != NULL, "out of memory");
  if (n)
    memcpy(q, p, n);
  return q;
}

static void roundtrip(const uint8_t *text, size_t n, size_t small_cap) {
  size_t cap = kidx__lz_bound(n);
  uint8_t *c = malloc(cap);
  check(c != NULL, "out of memory");
  size_t clen = kidx__lz_compress(text, n, c, cap, &scratch);
  check(clen >= 1 && clen <= cap, "compress failed within the bound");
  uint8_t *block = dup_exact(c, clen);
  uint8_t *out = malloc(n ? n : 1), *ref = malloc(n ? n : 1);
  check(out && ref, "out of memory");
  check(kidx__lz_decompress(block, clen, out, n) == KIDX_OK, "decode failed");
  check(n == 0 || memcmp(out, text, n) == 0, "round trip differs");
  check(lz_ref_decode(block, clen, ref, n) == 0, "reference rejects block");
  check(n == 0 || memcmp(ref, text, n) == 0, "reference output differs");

  if (small_cap < clen) {
    size_t got = kidx__lz_compress(text, n, c, small_cap, &scratch);
    check(got == 0, "compress fit in less room than it needs");
  } else if (small_cap <= cap) {
    size_t got = kidx__lz_compress(text, n, c, small_cap, &scratch);
    check(got == clen && memcmp(c, block, clen) == 0,
          "compress depends on the capacity");
  }
  free(ref);
  free(out);
  free(block);
  free(c);
}

static void decode_anything(const uint8_t *data, size_t n, size_t dst_len) {
  uint8_t *block = dup_exact(data, n);
  uint8_t *out = malloc(dst_len ? dst_len : 1);
  uint8_t *ref = malloc(dst_len ? dst_len : 1);
  check(out && ref, "out of memory");
  int rc = kidx__lz_decompress(block, n, out, dst_len);
  int rrc = lz_ref_decode(block, n, ref, dst_len);
  check(rc == KIDX_OK || rc == KIDX_ECORRUPT, "unexpected status");
  check((rc == KIDX_OK) == (rrc == 0), "decoder and reference disagree");
  if (rc == KIDX_OK) {
    check(dst_len == 0 || memcmp(out, ref, dst_len) == 0,
          "decoder and reference outputs differ");
    roundtrip(out, dst_len, n);
  }
  free(ref);
  free(out);
  free(block);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  if (!(data[0] & 1)) {
    size_t small = size >= 2 ? (size_t)data[1] * (size / 256 + 1) : 0;
    roundtrip(data + 1, size - 1, small);
  } else if (size >= 3) {
    size_t dst_len = (size_t)data[1] | (size_t)data[2] << 8;
    decode_anything(data + 3, size - 3, dst_len);
  }
  return 0;
}
