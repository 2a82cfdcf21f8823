/*
 * Unit tests for lz.c, the LZ block codec: round trips over inputs chosen
 * for the format's boundaries, hand-made blocks for every rule the decoder
 * enforces, and a deterministic mini-fuzz that checks the decoder against
 * a slow reference decoder (lz_ref.h).  Buffers are
 * allocated at their exact sizes so that AddressSanitizer (scripts/test.sh
 * --sanitize) sees any access outside them.
 */
#include "kidx_int.h"

#include "lz_ref.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------- */
/* Helpers */

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)rng_next(&seed);
}

/* malloc of exactly n bytes (1 for 0), so that ASan reports overruns. */
static uint8_t *xalloc(size_t n) {
  uint8_t *p = malloc(n ? n : 1);
  ck_assert_ptr_nonnull(p);
  return p;
}

/* The bundled corpus, concatenated in a fixed order. */
static uint8_t *corpus_text(size_t *len) {
  static const char *const names[] = {
      "2017-kaspersky-remains-in-us-market.txt",
      "2017-kaspersky-responds-to-fbi-claims.txt",
      "2024-kaspersky-winds-down-us-operations.txt"};
  uint8_t *all = NULL;
  size_t n = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/corpus/%s", KIDX_SOURCE_DIR, names[i]);
    size_t flen;
    char *text = tu_read_file(path, &flen);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    all = realloc(all, n + flen);
    ck_assert_ptr_nonnull(all);
    memcpy(all + n, text, flen);
    n += flen;
    free(text);
  }
  *len = n;
  return all;
}

/* As roundtrip below, with the hash-chain compressor at the given depth;
 * returns the compressed length. */
static size_t roundtrip_hc(const uint8_t *src, size_t n, unsigned depth) {
  static kidx__lz_hc_scratch scratch;
  size_t cap = kidx__lz_bound(n);
  uint8_t *c = xalloc(cap);
  size_t clen = kidx__lz_compress_hc(src, n, c, cap, &scratch, depth);
  ck_assert_msg(clen >= 1 && clen <= cap, "n=%zu clen=%zu", n, clen);
  memset(&scratch, 0x5A, sizeof scratch);
  uint8_t *c2 = xalloc(cap);
  ck_assert_uint_eq(kidx__lz_compress_hc(src, n, c2, cap, &scratch, depth),
                    clen);
  ck_assert_int_eq(memcmp(c, c2, clen), 0);
  free(c2);
  uint8_t *exact = xalloc(clen);
  memcpy(exact, c, clen);
  free(c);
  uint8_t *out = xalloc(n);
  ck_assert_int_eq(kidx__lz_decompress(exact, clen, out, n), KIDX_OK);
  ck_assert_msg(n == 0 || memcmp(out, src, n) == 0, "hc n=%zu differs", n);
  memset(out, 0, n);
  ck_assert_msg(lz_ref_decode(exact, clen, out, n) == 0, "ref rejects hc n=%zu",
                n);
  ck_assert(n == 0 || memcmp(out, src, n) == 0);
  free(out);
  free(exact);
  return clen;
}

/* Compresses src into a buffer of exactly kidx__lz_bound(n) bytes, checks
 * the block against the reference decoder, decodes it into a buffer of
 * exactly n bytes, compares, and returns the compressed length.  The
 * hash-chain compressor gets the same checks, at depths 1 and 16. */
static size_t roundtrip(const uint8_t *src, size_t n) {
  roundtrip_hc(src, n, 1);
  roundtrip_hc(src, n, 16);
  static kidx__lz_scratch scratch;
  size_t cap = kidx__lz_bound(n);
  ck_assert_uint_ge(cap, n);
  uint8_t *c = xalloc(cap);
  size_t clen = kidx__lz_compress(src, n, c, cap, &scratch);
  ck_assert_msg(clen >= 1 && clen <= cap, "n=%zu clen=%zu", n, clen);
  /* Deterministic, whatever the scratch held before. */
  memset(&scratch, 0xA5, sizeof scratch);
  uint8_t *c2 = xalloc(cap);
  ck_assert_uint_eq(kidx__lz_compress(src, n, c2, cap, &scratch), clen);
  ck_assert_int_eq(memcmp(c, c2, clen), 0);
  free(c2);

  uint8_t *exact = xalloc(clen); /* decoded from an exact-size copy */
  memcpy(exact, c, clen);
  free(c);
  uint8_t *out = xalloc(n);
  ck_assert_int_eq(kidx__lz_decompress(exact, clen, out, n), KIDX_OK);
  ck_assert_msg(n == 0 || memcmp(out, src, n) == 0, "n=%zu differs", n);
  memset(out, 0, n);
  ck_assert_msg(lz_ref_decode(exact, clen, out, n) == 0, "ref rejects n=%zu",
                n);
  ck_assert(n == 0 || memcmp(out, src, n) == 0);
  free(out);
  free(exact);
  return clen;
}

/* A block built by hand, sequence by sequence. */
typedef struct block {
  uint8_t b[1 << 17];
  size_t n;
} block;

static void put_len_ext(block *k, size_t v) {
  v -= 15;
  while (v >= 255) {
    k->b[k->n++] = 255;
    v -= 255;
  }
  k->b[k->n++] = (uint8_t)v;
}

/* Appends lit literal bytes (from lits, or 'a'+i if NULL) and, if mlen,
 * a match (mlen >= 4) at offset off. */
static void put_seq(block *k, const uint8_t *lits, size_t lit, size_t off,
                    size_t mlen) {
  size_t tok = k->n++;
  unsigned t = (unsigned)(lit < 15 ? lit : 15) << 4;
  if (lit >= 15)
    put_len_ext(k, lit);
  for (size_t i = 0; i < lit; i++)
    k->b[k->n++] = lits ? lits[i] : (uint8_t)('a' + i % 26);
  if (mlen) {
    k->b[k->n++] = (uint8_t)off;
    k->b[k->n++] = (uint8_t)(off >> 8);
    size_t code = mlen - 4;
    t |= code < 15 ? (unsigned)code : 15u;
    if (code >= 15)
      put_len_ext(k, code);
  }
  k->b[tok] = (uint8_t)t;
}

/* Decodes k into an exact buffer of dst_len bytes; the reference decoder
 * must reach the same verdict. */
static int decode(const block *k, size_t dst_len) {
  uint8_t *src = xalloc(k->n);
  memcpy(src, k->b, k->n);
  uint8_t *out = xalloc(dst_len);
  uint8_t *ref = xalloc(dst_len);
  int rc = kidx__lz_decompress(src, k->n, out, dst_len);
  int rrc = lz_ref_decode(src, k->n, ref, dst_len);
  ck_assert_msg((rc == KIDX_OK) == (rrc == 0), "rc %d, reference %d", rc, rrc);
  if (rc == KIDX_OK)
    ck_assert(dst_len == 0 || memcmp(out, ref, dst_len) == 0);
  else
    ck_assert_int_eq(rc, KIDX_ECORRUPT);
  free(src);
  free(out);
  free(ref);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Core: round trips */

START_TEST(test_lz_empty) {
  static kidx__lz_scratch scratch;
  uint8_t c[16];
  ck_assert_uint_eq(kidx__lz_bound(0), 16);
  ck_assert_uint_eq(kidx__lz_compress(NULL, 0, c, sizeof c, &scratch), 1);
  ck_assert_uint_eq(c[0], 0);
  ck_assert_int_eq(kidx__lz_decompress(c, 1, NULL, 0), KIDX_OK);
  ck_assert_uint_eq(roundtrip(c, 0), 1);
}
END_TEST

START_TEST(test_lz_small_inputs) {
  uint8_t buf[100];
  for (size_t n = 1; n <= 100; n++) {
    fill_random(buf, n, n);
    roundtrip(buf, n);
    memset(buf, 'x', n);
    size_t c = roundtrip(buf, n);
    /* Under 13 bytes nothing can be matched: one literal sequence. */
    if (n < 13)
      ck_assert_uint_eq(c, 1 + n + (n >= 15));
    else if (n >= 30)
      ck_assert_uint_lt(c, n / 2);
    for (size_t i = 0; i < n; i++)
      buf[i] = (uint8_t)("abcab"[i % 5]);
    roundtrip(buf, n);
  }
}
END_TEST

START_TEST(test_lz_same_bytes) {
  const size_t sizes[] = {13, 255, 256, 65535, 65536, 65537, 1000000};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    uint8_t *p = xalloc(n);
    memset(p, 0, n);
    size_t c = roundtrip(p, n);
    /* One match of n - 6 bytes at offset 1: about n/255 bytes. */
    ck_assert_uint_le(c, n / 255 + 16);
    memset(p, 0xFF, n);
    roundtrip(p, n);
    free(p);
  }
}
END_TEST

START_TEST(test_lz_random_incompressible) {
  const size_t sizes[] = {13, 1000, 4096, 65535, 65536, 65537, 300000};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    uint8_t *p = xalloc(n);
    fill_random(p, n, 42 + n);
    size_t c = roundtrip(p, n);
    ck_assert_uint_le(c, kidx__lz_bound(n));
    free(p);
  }
}
END_TEST

START_TEST(test_lz_corpus_text) {
  size_t n;
  uint8_t *text = corpus_text(&n);
  size_t c = roundtrip(text, n);
  /* English news prose: at least 1.5:1 in one block. */
  ck_assert_msg(c * 3 < n * 2, "ratio %zu/%zu", c, n);
  /* Chains and lazy matching find more: a few percent smaller at least. */
  size_t hc = roundtrip_hc(text, n, 16);
  ck_assert_msg(hc * 20 < c * 19, "hc %zu, greedy %zu", hc, c);
  /* Every block size a store might choose, and odd ones. */
  const size_t blocks[] = {64, 1000, 4096, 16384, 10007};
  for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++)
    for (size_t off = 0; off < n; off += blocks[b])
      roundtrip(text + off, n - off < blocks[b] ? n - off : blocks[b]);
  /* Every length of a prefix up to 300 bytes. */
  for (size_t k = 0; k <= 300; k++)
    roundtrip(text, k);
  free(text);
}
END_TEST

/* Resumable decoding: in steps of any size, each call ends at a sequence
 * boundary at or past what was asked, with exactly the text so far; and
 * damaged blocks decoded in two steps fail or decode, never overrun. */
START_TEST(test_lz_partial) {
  static kidx__lz_hc_scratch scratch;
  size_t n;
  uint8_t *text = corpus_text(&n);
  if (n > 65536)
    n = 65536;
  uint8_t *c = xalloc(kidx__lz_bound(n));
  size_t clen =
      kidx__lz_compress_hc(text, n, c, kidx__lz_bound(n), &scratch, 16);
  ck_assert_uint_gt(clen, 0);
  uint8_t *exact = xalloc(clen);
  memcpy(exact, c, clen);
  uint8_t *out = xalloc(n);
  const size_t steps[] = {1, 7, 100, 4096, 65536};
  for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
    kidx__lz_pos pos = {0, 0};
    size_t want = 0, calls = 0;
    while (pos.out < n) {
      want += steps[k];
      ck_assert_int_eq(
          kidx__lz_decompress_upto(exact, clen, out, n, &pos, want), KIDX_OK);
      ck_assert_uint_ge(pos.out, want < n ? want : n);
      ck_assert_int_eq(memcmp(out, text, pos.out), 0);
      calls++;
    }
    ck_assert_uint_eq(pos.in, clen);
    /* Once complete, more calls change nothing. */
    ck_assert_int_eq(kidx__lz_decompress_upto(exact, clen, out, n, &pos, n),
                     KIDX_OK);
    if (steps[k] < 100)
      ck_assert_uint_gt(calls, 10);
  }
  for (size_t i = 0; i < clen; i += 1 + i / 64) {
    memcpy(exact, c, clen);
    exact[i] ^= (uint8_t)(1u << (i % 8));
    kidx__lz_pos pos = {0, 0};
    int rc = kidx__lz_decompress_upto(exact, clen, out, n, &pos, n / 2);
    if (rc == KIDX_OK)
      rc = kidx__lz_decompress_upto(exact, clen, out, n, &pos, n);
    ck_assert(rc == KIDX_OK || rc == KIDX_ECORRUPT);
    ck_assert_int_eq(rc, kidx__lz_decompress(exact, clen, out, n));
  }
  free(out);
  free(exact);
  free(c);
  free(text);
}
END_TEST

/* Lengths at the token's nibble limits: runs of 14..16 and 269..271
 * literals (15 + 255 = 270 needs a second extension byte) and matches of
 * 18..20 and 272..275 bytes (4 + 15 + 255 = 274), each as a random run
 * followed by a copy of its start. */
START_TEST(test_lz_length_boundaries) {
  const size_t lits[] = {1, 14, 15, 16, 269, 270, 271, 524, 525, 526};
  const size_t mlens[] = {4, 18, 19, 20, 272, 273, 274, 275, 529, 530};
  uint8_t buf[2048];
  for (size_t a = 0; a < sizeof lits / sizeof lits[0]; a++)
    for (size_t b = 0; b < sizeof mlens / sizeof mlens[0]; b++) {
      size_t lit = lits[a], mlen = mlens[b];
      if (mlen > lit) /* a copy longer than the run: overlapping */
        continue;
      fill_random(buf, lit, lit * 7 + mlen);
      memcpy(buf + lit, buf, mlen);
      fill_random(buf + lit + mlen, 12, 99);
      size_t n = lit + mlen + 12;
      roundtrip(buf, n);
      /* Also with the minimum tail: 5 literals. */
      size_t c = roundtrip(buf, lit + mlen + 5);
      (void)c;
    }
  /* Total sizes around the 12/13-byte limit and the 16/32/64-byte copies. */
  for (size_t n = 0; n < 200; n++) {
    for (size_t i = 0; i < n; i++)
      buf[i] = (uint8_t)(i % 7 == 0 ? 'q' : 'a' + (i % 3));
    roundtrip(buf, n);
  }
}
END_TEST

/* Matches at offsets 1..17: a random period repeated. */
START_TEST(test_lz_short_offsets) {
  uint8_t buf[4096];
  for (size_t off = 1; off <= 17; off++)
    for (size_t n = 13; n <= 4096; n = n * 3 / 2 + 1) {
      fill_random(buf, off, off);
      for (size_t i = off; i < n; i++)
        buf[i] = buf[i - off];
      size_t c = roundtrip(buf, n);
      if (n > 64)
        ck_assert_uint_lt(c, off + 40 + n / 255);
    }
}
END_TEST

/* A 16-byte phrase, a run of zeros, and the phrase again exactly d bytes
 * after the first: at d = 65535 the copy is one match at the largest
 * offset; at 65536 it cannot be (the phrase is stored again). */
static size_t far_copy(size_t d) {
  size_t n = d + 16 + 16;
  uint8_t *p = xalloc(n);
  memset(p, 0, n);
  fill_random(p, 16, 5);
  memcpy(p + d, p, 16);
  fill_random(p + d + 16, 16, 6);
  size_t c = roundtrip(p, n);
  free(p);
  return c;
}

START_TEST(test_lz_largest_offset) {
  size_t near = far_copy(65535), far = far_copy(65536);
  ck_assert_uint_lt(near + 10, far);
}
END_TEST

START_TEST(test_lz_small_capacity) {
  static kidx__lz_scratch scratch;
  size_t n;
  uint8_t *text = corpus_text(&n);
  uint8_t *c = xalloc(kidx__lz_bound(n));
  size_t clen = kidx__lz_compress(text, n, c, kidx__lz_bound(n), &scratch);
  /* Exactly enough room gives the same block; one byte less fails. */
  uint8_t *d = xalloc(clen);
  ck_assert_uint_eq(kidx__lz_compress(text, n, d, clen, &scratch), clen);
  ck_assert_int_eq(memcmp(c, d, clen), 0);
  for (size_t cap = 0; cap < clen; cap += 1 + cap / 8)
    ck_assert_uint_eq(kidx__lz_compress(text, n, d, cap, &scratch), 0);
  ck_assert_uint_eq(kidx__lz_compress(text, n, d, clen - 1, &scratch), 0);
  /* Incompressible input: the bound is needed, nearly. */
  uint8_t r[1000];
  fill_random(r, sizeof r, 3);
  uint8_t *e = xalloc(kidx__lz_bound(sizeof r));
  size_t rlen =
      kidx__lz_compress(r, sizeof r, e, kidx__lz_bound(sizeof r), &scratch);
  ck_assert_uint_eq(rlen, 1 + 4 + sizeof r); /* token, 0xFF x3 + rest */
  ck_assert_uint_eq(kidx__lz_compress(r, sizeof r, e, rlen - 1, &scratch), 0);
  ck_assert_uint_eq(kidx__lz_bound(KIDX__LZ_MAX_INPUT + (size_t)1), 0);
  free(e);
  free(d);
  free(c);
  free(text);
}
END_TEST

/* Hand-made blocks the decoder must accept: every offset 1..8 with short
 * and long matches (the overlapping copies), and the largest offset. */
START_TEST(test_lz_decode_handmade) {
  static block k;
  for (size_t off = 1; off <= 8; off++)
    for (size_t mlen = 4; mlen <= 300; mlen += mlen < 40 ? 1 : 37) {
      k.n = 0;
      put_seq(&k, NULL, off, off, mlen);
      put_seq(&k, NULL, 8, 0, 0); /* match start 12 bytes before the end */
      size_t dst_len = off + mlen + 8;
      uint8_t *src = xalloc(k.n), *out = xalloc(dst_len);
      memcpy(src, k.b, k.n);
      ck_assert_int_eq(kidx__lz_decompress(src, k.n, out, dst_len), KIDX_OK);
      for (size_t i = 0; i < off + mlen; i++)
        ck_assert_uint_eq(out[i], (uint8_t)('a' + (i % off) % 26));
      ck_assert_int_eq(decode(&k, dst_len), KIDX_OK);
      free(src);
      free(out);
    }
  /* 65535 literals, then a copy of the first 20 of them. */
  k.n = 0;
  put_seq(&k, NULL, 65535, 65535, 20);
  put_seq(&k, NULL, 5, 0, 0);
  ck_assert_int_eq(decode(&k, 65535 + 20 + 5), KIDX_OK);
  /* Lengths at the token's nibble limits (15 and 15 + 255 need one and
   * two extension bytes), with an overlapping match at offset 1. */
  const size_t lits[] = {1, 14, 15, 16, 269, 270, 271, 524, 525, 526};
  const size_t mlens[] = {4, 18, 19, 20, 272, 273, 274, 275, 529, 530};
  for (size_t a = 0; a < sizeof lits / sizeof lits[0]; a++)
    for (size_t b = 0; b < sizeof mlens / sizeof mlens[0]; b++) {
      /* 5 literals end the block, or more to start the match 12 bytes
       * before the end. */
      size_t tail = mlens[b] >= 7 ? 5 : 12 - mlens[b];
      k.n = 0;
      put_seq(&k, NULL, lits[a], 1, mlens[b]);
      put_seq(&k, NULL, tail, 0, 0);
      size_t len = lits[a] + mlens[b] + tail;
      ck_assert_int_eq(decode(&k, len), KIDX_OK);
      ck_assert_int_eq(decode(&k, len - 1), KIDX_ECORRUPT);
      /* One literal fewer at the end breaks the end-of-block rules. */
      k.n--;
      k.b[k.n - tail] = (uint8_t)((tail - 1) << 4);
      ck_assert_int_eq(decode(&k, len - 1), KIDX_ECORRUPT);
    }
  /* The smallest block with a match: 13 bytes. */
  k.n = 0;
  put_seq(&k, NULL, 1, 1, 4);
  put_seq(&k, NULL, 8, 0, 0);
  ck_assert_int_eq(decode(&k, 13), KIDX_OK);
  /* A zero-literal sequence between two matches. */
  k.n = 0;
  put_seq(&k, NULL, 4, 4, 4);
  put_seq(&k, NULL, 0, 8, 20);
  put_seq(&k, NULL, 12, 0, 0);
  ck_assert_int_eq(decode(&k, 40), KIDX_OK);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Errors: the decoder rejects each malformed block */

START_TEST(test_lz_rejects_malformed) {
  static block k;
  uint8_t one = 0;
  /* Nothing at all; the empty block given a non-empty output. */
  ck_assert_int_eq(kidx__lz_decompress(&one, 0, NULL, 0), KIDX_ECORRUPT);
  ck_assert_int_eq(kidx__lz_decompress(&one, 1, &one, 1), KIDX_ECORRUPT);
  /* An empty output with anything but the zero token. */
  const uint8_t two[] = {0, 0};
  ck_assert_int_eq(kidx__lz_decompress(two, 2, NULL, 0), KIDX_ECORRUPT);
  const uint8_t lit1[] = {0x10, 'a'};
  ck_assert_int_eq(kidx__lz_decompress(lit1, 2, NULL, 0), KIDX_ECORRUPT);

  /* A valid block, then the same block broken one way at a time. */
  k.n = 0;
  put_seq(&k, NULL, 10, 10, 30);
  put_seq(&k, NULL, 10, 0, 0);
  ck_assert_int_eq(decode(&k, 50), KIDX_OK);
  /* output longer or shorter than expected */
  ck_assert_int_eq(decode(&k, 49), KIDX_ECORRUPT);
  ck_assert_int_eq(decode(&k, 51), KIDX_ECORRUPT);
  ck_assert_int_eq(decode(&k, 0), KIDX_ECORRUPT);
  /* trailing garbage: a byte, or a whole extra sequence */
  k.b[k.n++] = 0;
  ck_assert_int_eq(decode(&k, 50), KIDX_ECORRUPT);
  k.n--;
  put_seq(&k, NULL, 1, 0, 0);
  ck_assert_int_eq(decode(&k, 50), KIDX_ECORRUPT);
  ck_assert_int_eq(decode(&k, 51), KIDX_ECORRUPT);
  /* every truncation */
  k.n = 0;
  put_seq(&k, NULL, 10, 10, 30);
  put_seq(&k, NULL, 10, 0, 0);
  size_t full = k.n;
  for (k.n = 0; k.n < full; k.n++)
    ck_assert_int_eq(decode(&k, 50), KIDX_ECORRUPT);

  /* offset 0, and offsets beyond the output produced so far */
  const size_t bad_offsets[] = {0, 11, 65535};
  for (size_t i = 0; i < 3; i++) {
    k.n = 0;
    put_seq(&k, NULL, 10, bad_offsets[i], 30);
    put_seq(&k, NULL, 10, 0, 0);
    ck_assert_int_eq(decode(&k, 50), KIDX_ECORRUPT);
  }
  /* a first sequence with a match and no literal to copy from */
  k.n = 0;
  put_seq(&k, NULL, 0, 1, 30);
  put_seq(&k, NULL, 20, 0, 0);
  ck_assert_int_eq(decode(&k, 50), KIDX_ECORRUPT);

  /* literals beyond the input or the output */
  const uint8_t over_in[] = {0x50, 'a', 'b'};
  ck_assert_int_eq(kidx__lz_decompress(over_in, 3, k.b, 5), KIDX_ECORRUPT);
  const uint8_t over_out[] = {0x30, 'a', 'b', 'c'};
  uint8_t out2[2];
  ck_assert_int_eq(kidx__lz_decompress(over_out, 4, out2, 2), KIDX_ECORRUPT);

  /* end-of-block rules: the last 5 bytes are literals... */
  k.n = 0;
  put_seq(&k, NULL, 10, 10, 30);
  put_seq(&k, NULL, 4, 0, 0);
  ck_assert_int_eq(decode(&k, 44), KIDX_ECORRUPT);
  /* ...a match starts at least 12 bytes before the end (here 11, with 7
   * literals after the 4-byte match) ... */
  k.n = 0;
  put_seq(&k, NULL, 10, 10, 4);
  put_seq(&k, NULL, 7, 0, 0);
  ck_assert_int_eq(decode(&k, 21), KIDX_ECORRUPT);
  k.n = 0;
  put_seq(&k, NULL, 10, 10, 4);
  put_seq(&k, NULL, 8, 0, 0);
  ck_assert_int_eq(decode(&k, 22), KIDX_OK);
  /* ...the block ends with literals, not a match... */
  k.n = 0;
  put_seq(&k, NULL, 10, 10, 30);
  ck_assert_int_eq(decode(&k, 40), KIDX_ECORRUPT);
  /* ...and the last token's match nibble is 0. */
  k.n = 0;
  put_seq(&k, NULL, 10, 10, 30);
  put_seq(&k, NULL, 10, 0, 0);
  k.b[k.n - 11] |= 0x01;
  ck_assert_int_eq(decode(&k, 50), KIDX_ECORRUPT);

  /* lengths: an extension that runs off the input, and extensions whose
   * totals exceed the output (a long run of 255s: no overflow, only a
   * length too large). */
  const uint8_t ext_cut[] = {0xF0, 255, 255};
  uint8_t big[1024];
  ck_assert_int_eq(kidx__lz_decompress(ext_cut, 3, big, sizeof big),
                   KIDX_ECORRUPT);
  k.n = 0;
  k.b[k.n++] = 0xF0;
  while (k.n < 100000)
    k.b[k.n++] = 255;
  k.b[k.n++] = 0;
  ck_assert_int_eq(decode(&k, 1000), KIDX_ECORRUPT);
  k.n = 0;
  put_seq(&k, NULL, 10, 1, 4);
  k.b[0] |= 0x0F; /* match nibble 15: an extension follows the offset */
  while (k.n < 100000)
    k.b[k.n++] = 255;
  k.b[k.n++] = 1;
  put_seq(&k, NULL, 5, 0, 0);
  ck_assert_int_eq(decode(&k, 2000), KIDX_ECORRUPT);
}
END_TEST

/* Random blocks are decoded without trouble, like the reference does. */
START_TEST(test_lz_random_blocks) {
  static block k;
  uint64_t s = 1;
  for (int round = 0; round < 20000; round++) {
    k.n = (size_t)(rng_next(&s) % 64);
    for (size_t i = 0; i < k.n; i++)
      k.b[i] = (uint8_t)rng_next(&s);
    decode(&k, (size_t)(rng_next(&s) % 128));
  }
}
END_TEST

/* Mini-fuzz: valid blocks of varied inputs, mutated; the decoder must
 * return KIDX_ECORRUPT or KIDX_OK with output identical to the reference
 * decoder's (and to the original when the block is unchanged). */
START_TEST(test_lz_mutations) {
  static kidx__lz_scratch scratch;
  size_t tlen;
  uint8_t *text = corpus_text(&tlen);
  uint64_t s = 20261204;
  size_t accepted = 0, rejected = 0;
  static block k;
  for (int round = 0; round < 6000; round++) {
    /* An input: a slice of the corpus, a repetitive pattern, or noise. */
    size_t n = (size_t)(rng_next(&s) % 3000);
    uint8_t *in = xalloc(n);
    switch (round % 4) {
    case 0:
    case 1:
      n = n < tlen ? n : tlen;
      memcpy(in, text + rng_next(&s) % (tlen - n + 1), n);
      break;
    case 2:
      for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)(i < 8 ? rng_next(&s) : in[i - 1 - (i % 5)]);
      break;
    default:
      fill_random(in, n, rng_next(&s));
      break;
    }
    k.n = kidx__lz_compress(in, n, k.b, sizeof k.b, &scratch);
    ck_assert_uint_gt(k.n, 0);
    /* 1 to 4 mutations: bit flips, byte sets, inserts, deletes, cuts. */
    int muts = 1 + (int)(rng_next(&s) % 4);
    for (int m = 0; m < muts && k.n > 0; m++) {
      size_t at = (size_t)(rng_next(&s) % k.n);
      switch (rng_next(&s) % 5) {
      case 0:
        k.b[at] ^= (uint8_t)(1u << (rng_next(&s) % 8));
        break;
      case 1:
        k.b[at] = (uint8_t)rng_next(&s);
        break;
      case 2:
        memmove(k.b + at + 1, k.b + at, k.n - at);
        k.b[at] = (uint8_t)rng_next(&s);
        k.n++;
        break;
      case 3:
        memmove(k.b + at, k.b + at + 1, k.n - at - 1);
        k.n--;
        break;
      default:
        k.n = at;
        break;
      }
    }
    size_t dst_len = n;
    if (round % 7 == 0)
      dst_len = rng_next(&s) % 2 || n == 0 ? n + 1 : n - 1;
    if (decode(&k, dst_len) == KIDX_OK)
      accepted++;
    else
      rejected++;
    free(in);
  }
  /* Most mutations break a block; a few (literal bytes) do not. */
  ck_assert_uint_gt(rejected, 1000);
  ck_assert_uint_gt(accepted, 100);
  free(text);
}
END_TEST

#ifdef KIDX_LZ4_BIN
/* Interoperability with the lz4 tool (the test exists when CMake found
 * one): the format is LZ4's block format, so the tool's blocks must decode
 * here, and ours there.  Blocks travel in LZ4 frames of independent 64 KiB
 * blocks without checksums: magic 04 22 4D 18, FLG 60, BD 40, a header
 * checksum byte (bits 8..15 of the XXH32 of FLG BD), then per block a u32
 * size (top bit: stored uncompressed) and the block, then a zero u32. */

static uint32_t rotl32(uint32_t x, unsigned r) {
  return (x << r) | (x >> (32 - r));
}

/* XXH32 with seed 0 of a 2-byte input (the frame descriptor). */
static uint32_t xxh32_two_bytes(const uint8_t *p) {
  const uint32_t p1 = 2654435761u, p2 = 2246822519u, p3 = 3266489917u,
                 p5 = 374761393u;
  uint32_t h = p5 + 2;
  for (int i = 0; i < 2; i++) {
    h += p[i] * p5;
    h = rotl32(h, 11) * p1;
  }
  h ^= h >> 15;
  h *= p2;
  h ^= h >> 13;
  h *= p3;
  h ^= h >> 16;
  return h;
}

/* ~200 kB mixing prose, an incompressible stretch and repeats, so that
 * the frame has several blocks, one of them stored. */
static uint8_t *interop_text(size_t *len) {
  size_t tlen;
  uint8_t *text = corpus_text(&tlen);
  size_t n = 0, cap = 220000;
  uint8_t *p = xalloc(cap);
  while (n + tlen <= 100000) {
    memcpy(p + n, text, tlen);
    n += tlen;
  }
  fill_random(p + n, 70000, 77);
  n += 70000;
  for (size_t i = 0; n < cap - 1000; i++)
    p[n++] = (uint8_t)("the quick brown fox "[i % 20] + (i % 997 == 0));
  free(text);
  *len = n;
  return p;
}

static void run_lz4(const char *dir, const char *const *argv) {
  tu_run r = tu_exec(dir, argv, NULL);
  ck_assert_msg(r.status == 0, "lz4 failed (%d): %s", r.status, r.err);
  tu_run_free(&r);
}

START_TEST(test_lz_lz4_interop) {
  static kidx__lz_scratch scratch;
  char *dir = tu_mkdtemp();
  size_t n;
  uint8_t *text = interop_text(&n);
  tu_write_file(dir, "in.txt", text, n);

  /* Theirs, decoded here: fast and high-compression blocks. */
  const char *levels[] = {"-1", "-9"};
  for (size_t l = 0; l < 2; l++) {
    const char *argv[] = {
        KIDX_LZ4_BIN,     levels[l],        "-q",     "-f",     "-BI", "-B4",
        "--no-frame-crc", "--content-size", "in.txt", "in.lz4", NULL};
    run_lz4(dir, argv);
    char path[1024];
    snprintf(path, sizeof path, "%s/in.lz4", dir);
    size_t zn;
    uint8_t *z = (uint8_t *)tu_read_file(path, &zn);
    ck_assert_ptr_nonnull(z);
    ck_assert_uint_ge(zn, 11);
    ck_assert_uint_eq(kidx__get_u32(z), 0x184D2204u);
    size_t p = 4 + 2 + ((z[4] & 0x08) ? 8 : 0) + 1, op = 0, blocks = 0;
    uint8_t *out = xalloc(65536);
    for (;;) {
      ck_assert_uint_le(p + 4, zn);
      uint32_t sz = kidx__get_u32(z + p);
      p += 4;
      if (sz == 0)
        break;
      size_t len = n - op < 65536 ? n - op : 65536;
      if (sz & 0x80000000u) { /* stored */
        sz &= 0x7FFFFFFFu;
        ck_assert_uint_eq(sz, len);
        memcpy(out, z + p, len);
      } else {
        ck_assert_uint_le(p + sz, zn);
        ck_assert_int_eq(kidx__lz_decompress(z + p, sz, out, len), KIDX_OK);
        ck_assert_int_eq(lz_ref_decode(z + p, sz, out, len), 0);
      }
      ck_assert_int_eq(memcmp(out, text + op, len), 0);
      p += sz;
      op += len;
      blocks++;
    }
    ck_assert_uint_eq(op, n);
    ck_assert_uint_ge(blocks, 3);
    free(out);
    free(z);
  }

  /* Ours, decoded by the tool. */
  uint8_t *frame = xalloc(kidx__lz_bound(n) + 64);
  uint8_t *f = frame;
  const uint8_t head[] = {0x04, 0x22, 0x4D, 0x18, 0x60, 0x40};
  memcpy(f, head, sizeof head);
  f[6] = (uint8_t)(xxh32_two_bytes(head + 4) >> 8);
  f += 7;
  for (size_t op = 0; op < n; op += 65536) {
    size_t len = n - op < 65536 ? n - op : 65536;
    size_t cl =
        kidx__lz_compress(text + op, len, f + 4, kidx__lz_bound(len), &scratch);
    ck_assert_uint_gt(cl, 0);
    if (cl >= len) { /* the frame format stores such a block as it is */
      kidx__set_u32(f, (uint32_t)len | 0x80000000u);
      memcpy(f + 4, text + op, len);
      cl = len;
    } else {
      kidx__set_u32(f, (uint32_t)cl);
    }
    f += 4 + cl;
  }
  kidx__set_u32(f, 0);
  f += 4;
  tu_write_file(dir, "ours.lz4", frame, (size_t)(f - frame));
  const char *argv[] = {KIDX_LZ4_BIN, "-d",       "-q", "-f",
                        "ours.lz4",   "ours.txt", NULL};
  run_lz4(dir, argv);
  char path[1024];
  snprintf(path, sizeof path, "%s/ours.txt", dir);
  size_t dn;
  char *dec = tu_read_file(path, &dn);
  ck_assert_ptr_nonnull(dec);
  ck_assert_uint_eq(dn, n);
  ck_assert_int_eq(memcmp(dec, text, n), 0);
  free(dec);
  free(frame);
  free(text);
  tu_rmtree(dir);
  free(dir);
}
END_TEST
#endif

static Suite *lz_suite(void) {
  Suite *s = suite_create("lz");
  TCase *core = tcase_create("Core");
  tcase_add_test(core, test_lz_empty);
  tcase_add_test(core, test_lz_small_inputs);
  tcase_add_test(core, test_lz_same_bytes);
  tcase_add_test(core, test_lz_random_incompressible);
  tcase_add_test(core, test_lz_corpus_text);
  tcase_add_test(core, test_lz_short_offsets);
  tcase_add_test(core, test_lz_largest_offset);
  tcase_add_test(core, test_lz_decode_handmade);
  tcase_add_test(core, test_lz_partial);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("Limits");
  tcase_add_test(limits, test_lz_length_boundaries);
  tcase_add_test(limits, test_lz_small_capacity);
  suite_add_tcase(s, limits);
  TCase *errors = tcase_create("Errors");
  tcase_add_test(errors, test_lz_rejects_malformed);
  tcase_add_test(errors, test_lz_random_blocks);
  tcase_add_test(errors, test_lz_mutations);
  suite_add_tcase(s, errors);
#ifdef KIDX_LZ4_BIN
  TCase *interop = tcase_create("Interop");
  tcase_add_test(interop, test_lz_lz4_interop);
  suite_add_tcase(s, interop);
#endif
  return s;
}

int main(void) {
  return tu_run_suite(lz_suite());
}
