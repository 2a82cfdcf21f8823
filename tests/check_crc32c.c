/* Unit tests for crc32c.c: known vectors, and the instruction code
 * (kidx__crc32c_hw) against the table code (kidx__crc32c_sw) at every
 * length, alignment and chunking that reaches each of its loops. */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

typedef uint32_t (*crc_fn)(uint32_t crc, const void *data, size_t len);

static const crc_fn impls[] = {kidx__crc32c, kidx__crc32c_sw, kidx__crc32c_hw};
static const char *const impl_names[] = {"kidx__crc32c", "kidx__crc32c_sw",
                                         "kidx__crc32c_hw"};
#define NIMPLS (sizeof impls / sizeof impls[0])

/* Deterministic pseudo-random bytes (xorshift64*), the same on every run. */
static uint64_t rng_next(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

static uint8_t *random_bytes(size_t n, uint64_t seed) {
  uint8_t *p = malloc(n ? n : 1);
  ck_assert_ptr_nonnull(p);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(rng_next(&seed) >> 56);
  return p;
}

START_TEST(test_crc32c_known_vectors) {
  /* The check value of CRC-32C in the catalogue of parametrised CRC
   * algorithms, and the RFC 3720 B.4 test vectors, for each
   * implementation. */
  uint8_t zeros[32] = {0}, ones[32], inc[32], dec[32];
  memset(ones, 0xff, sizeof ones);
  for (int i = 0; i < 32; i++) {
    inc[i] = (uint8_t)i;
    dec[i] = (uint8_t)(31 - i);
  }
  for (size_t k = 0; k < NIMPLS; k++) {
    crc_fn f = impls[k];
    ck_assert_msg(f(0, "123456789", 9) == 0xE3069283u, "%s", impl_names[k]);
    ck_assert_msg(f(0, zeros, 32) == 0x8A9136AAu, "%s", impl_names[k]);
    ck_assert_msg(f(0, ones, 32) == 0x62A8AB43u, "%s", impl_names[k]);
    ck_assert_msg(f(0, inc, 32) == 0x46DD794Eu, "%s", impl_names[k]);
    ck_assert_msg(f(0, dec, 32) == 0x113FDB5Cu, "%s", impl_names[k]);
    ck_assert_msg(f(0, "", 0) == 0, "%s", impl_names[k]);
    ck_assert_msg(f(0x12345678u, NULL, 0) == 0x12345678u, "%s", impl_names[k]);
  }
}
END_TEST

START_TEST(test_crc32c_incremental) {
  const char *text = "The quick brown fox jumps over the lazy dog, twice over";
  size_t n = strlen(text);
  for (size_t k = 0; k < NIMPLS; k++) {
    uint32_t whole = impls[k](0, text, n);
    for (size_t split = 0; split <= n; split++) {
      uint32_t c = impls[k](0, text, split);
      c = impls[k](c, text + split, n - split);
      ck_assert_uint_eq(c, whole);
    }
  }
}
END_TEST

START_TEST(test_crc32c_dispatch) {
  /* kidx__crc32c takes the instruction wherever there is one; say which
   * path this run tested, so a log shows whether the comparisons below
   * compared anything. */
  int hw = kidx__crc32c_hw_available();
  printf("check_crc32c: CRC-32C instruction %s\n",
         hw ? "available: instruction code compared with the table code"
            : "not available: kidx__crc32c_hw is the table code");
  uint8_t *p = random_bytes(100000, 7);
  ck_assert_uint_eq(kidx__crc32c(0, p, 100000), kidx__crc32c_hw(0, p, 100000));
  ck_assert_uint_eq(kidx__crc32c(0, p, 100000), kidx__crc32c_sw(0, p, 100000));
  free(p);
}
END_TEST

/* Every length 0..4096 at every alignment 0..15, from a random register:
 * this covers the byte loop up to an 8-byte boundary, the 8-byte loop,
 * the tail, and the three-stream loop of short blocks (768 bytes). */
START_TEST(test_crc32c_hw_equals_sw_all_lengths) {
  enum { MAXLEN = 4096, ALIGNS = 16 };
  uint8_t *p = random_bytes(MAXLEN + ALIGNS, 1);
  uint64_t seed = 2;
  for (size_t align = 0; align < ALIGNS; align++)
    for (size_t len = 0; len <= MAXLEN; len++) {
      uint32_t init = (uint32_t)rng_next(&seed);
      uint32_t sw = kidx__crc32c_sw(init, p + align, len);
      uint32_t hw = kidx__crc32c_hw(init, p + align, len);
      if (sw != hw)
        ck_abort_msg("align %zu len %zu init %08x: sw %08x hw %08x", align, len,
                     (unsigned)init, (unsigned)sw, (unsigned)hw);
    }
  free(p);
}
END_TEST

/* Lengths around the multiples of the long blocks' 24 KiB, which only
 * large inputs reach, and a few megabytes of constant bytes (a pattern
 * where three streams over equal blocks start equal). */
START_TEST(test_crc32c_hw_equals_sw_long) {
  enum { LONG3 = 3 * 8192, SHORT3 = 3 * 256 };
  static const size_t lens[] = {
      LONG3 - 1,        LONG3,          LONG3 + 1,
      LONG3 + 7,        LONG3 + SHORT3, LONG3 + SHORT3 + 9,
      2 * LONG3 - 8,    2 * LONG3,      2 * LONG3 + 3 * SHORT3 + 13,
      5 * LONG3 + 4095, 1000003,        (size_t)4 << 20};
  size_t max = (size_t)4 << 20;
  uint8_t *p = random_bytes(max + 16, 3);
  uint8_t *same = malloc(max);
  ck_assert_ptr_nonnull(same);
  memset(same, 0xA5, max);
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
    for (size_t align = 0; align < 16; align += 5) {
      uint32_t sw = kidx__crc32c_sw(0, p + align, lens[i]);
      uint32_t hw = kidx__crc32c_hw(0, p + align, lens[i]);
      ck_assert_msg(sw == hw, "align %zu len %zu: sw %08x hw %08x", align,
                    lens[i], (unsigned)sw, (unsigned)hw);
    }
  ck_assert_uint_eq(kidx__crc32c_hw(0, same, max),
                    kidx__crc32c_sw(0, same, max));
  free(same);
  free(p);
}
END_TEST

/* The same data fed in random chunks (0 to 30000 bytes, so that chunks
 * start at any alignment and reach every loop), through each
 * implementation and through both alternately: always the one-call
 * result. */
START_TEST(test_crc32c_chunked) {
  enum { N = 300000 };
  uint8_t *p = random_bytes(N, 4);
  uint32_t whole = kidx__crc32c_sw(0, p, N);
  uint64_t seed = 5;
  for (int round = 0; round < 40; round++) {
    uint32_t c[3] = {0, 0, 0};
    size_t at = 0, step = 0;
    while (at < N) {
      uint64_t r = rng_next(&seed);
      /* mostly small chunks, some large */
      size_t max = (r & 3) == 0 ? 30000 : 100;
      size_t len = (size_t)((r >> 8) % (max + 1));
      if (len > N - at)
        len = N - at;
      c[0] = kidx__crc32c_sw(c[0], p + at, len);
      c[1] = kidx__crc32c_hw(c[1], p + at, len);
      c[2] = (step++ & 1) ? kidx__crc32c_sw(c[2], p + at, len)
                          : kidx__crc32c_hw(c[2], p + at, len);
      at += len;
    }
    ck_assert_uint_eq(c[0], whole);
    ck_assert_uint_eq(c[1], whole);
    ck_assert_uint_eq(c[2], whole);
  }
  free(p);
}
END_TEST

static Suite *crc32c_suite(void) {
  Suite *s = suite_create("crc32c");
  TCase *core = tcase_create("Core");
  tcase_add_test(core, test_crc32c_known_vectors);
  tcase_add_test(core, test_crc32c_incremental);
  tcase_add_test(core, test_crc32c_dispatch);
  suite_add_tcase(s, core);
  TCase *hw = tcase_create("Instruction");
  tcase_add_test(hw, test_crc32c_hw_equals_sw_all_lengths);
  tcase_add_test(hw, test_crc32c_hw_equals_sw_long);
  tcase_add_test(hw, test_crc32c_chunked);
  suite_add_tcase(s, hw);
  return s;
}

int main(void) {
  return tu_run_suite(crc32c_suite());
}
