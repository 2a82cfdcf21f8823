/* Unit tests for utf8.c (character properties and folding: check_unicode). */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static uint32_t dec(const char *s, size_t n, size_t *used) {
  uint32_t cp;
  *used = kidx__utf8_decode((const uint8_t *)s, n, &cp);
  return cp;
}

START_TEST(test_utf8_valid_sequences) {
  size_t used;
  ck_assert_uint_eq(dec("A", 1, &used), 'A');
  ck_assert_uint_eq(used, 1);
  ck_assert_uint_eq(dec("\xc3\xa9", 2, &used), 0xE9); /* é */
  ck_assert_uint_eq(used, 2);
  ck_assert_uint_eq(dec("\xe2\x82\xac", 3, &used), 0x20AC); /* € */
  ck_assert_uint_eq(used, 3);
  ck_assert_uint_eq(dec("\xf0\x9f\x98\x80", 4, &used), 0x1F600);
  ck_assert_uint_eq(used, 4);
  ck_assert_uint_eq(dec("\xf4\x8f\xbf\xbf", 4, &used), 0x10FFFF);
  ck_assert_uint_eq(dec("\xed\x9f\xbf", 3, &used), 0xD7FF);
  ck_assert_uint_eq(dec("\xee\x80\x80", 3, &used), 0xE000);
}
END_TEST

START_TEST(test_utf8_invalid_consumes_one_byte) {
  static const char *const bad[] = {
      "\x80",             /* stray continuation */
      "\xbf",             /* stray continuation */
      "\xc0\xaf",         /* overlong '/' */
      "\xc1\xbf",         /* overlong */
      "\xe0\x80\xaf",     /* overlong 3-byte */
      "\xf0\x80\x80\xaf", /* overlong 4-byte */
      "\xed\xa0\x80",     /* surrogate U+D800 */
      "\xed\xbf\xbf",     /* surrogate U+DFFF */
      "\xf4\x90\x80\x80", /* U+110000 */
      "\xf5\x80\x80\x80", /* lead byte F5 */
      "\xff",
      "\xfe",
      "\xc3",         /* truncated 2-byte */
      "\xe2\x82",     /* truncated 3-byte */
      "\xe2\x28\xa1", /* bad second byte */
      "\xe2\x82\x28", /* bad third byte */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t used;
    uint32_t cp = dec(bad[i], strlen(bad[i]), &used);
    ck_assert_msg(cp == KIDX__UTF8_INVALID, "case %zu decoded to %x", i, cp);
    ck_assert_uint_eq(used, 1);
  }
}
END_TEST

START_TEST(test_utf8_encode_roundtrip) {
  for (uint32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x3000 ? 1 : 97)) {
    if (cp >= 0xD800 && cp <= 0xDFFF)
      continue;
    uint8_t buf[4];
    size_t n = kidx__utf8_encode(cp, buf);
    uint32_t back;
    ck_assert_uint_eq(kidx__utf8_decode(buf, n, &back), n);
    ck_assert_uint_eq(back, cp);
  }
}
END_TEST

/* The byte forms at each length boundary: the JSON Lines reader encodes
 * \u escapes with kidx__utf8_encode, so its output must be exact. */
START_TEST(test_utf8_encode_boundaries) {
  static const struct {
    uint32_t cp;
    const char *bytes;
  } cases[] = {
      {0x00, "\x00"},
      {0x7F, "\x7f"},
      {0x80, "\xc2\x80"},
      {0x7FF, "\xdf\xbf"},
      {0x800, "\xe0\xa0\x80"},
      {0xD7FF, "\xed\x9f\xbf"},
      {0xE000, "\xee\x80\x80"},
      {0xFFFF, "\xef\xbf\xbf"},
      {0x10000, "\xf0\x90\x80\x80"},
      {0x10FFFF, "\xf4\x8f\xbf\xbf"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t buf[4];
    size_t n = kidx__utf8_encode(cases[i].cp, buf);
    size_t want = cases[i].cp == 0 ? 1 : strlen(cases[i].bytes);
    ck_assert_msg(n == want && memcmp(buf, cases[i].bytes, n) == 0,
                  "U+%04X encoded wrongly", (unsigned)cases[i].cp);
  }
}
END_TEST

static Suite *utf8_suite(void) {
  Suite *s = suite_create("utf8");
  TCase *core = tcase_create("Core");
  tcase_add_test(core, test_utf8_valid_sequences);
  tcase_add_test(core, test_utf8_encode_roundtrip);
  tcase_add_test(core, test_utf8_encode_boundaries);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_add_test(errors, test_utf8_invalid_consumes_one_byte);
  suite_add_tcase(s, errors);
  return s;
}

int main(void) {
  return tu_run_suite(utf8_suite());
}
