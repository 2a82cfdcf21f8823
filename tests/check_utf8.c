/* Unit tests for utf8.c and charclass.c. */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <stdlib.h>

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

START_TEST(test_charclass_word_chars) {
  ck_assert(kidx__char_is_word('a'));
  ck_assert(kidx__char_is_word('Z'));
  ck_assert(kidx__char_is_word('7'));
  ck_assert(!kidx__char_is_word(' '));
  ck_assert(!kidx__char_is_word('-'));
  ck_assert(!kidx__char_is_word('\''));
  ck_assert(kidx__char_is_word(0xE9));     /* é */
  ck_assert(kidx__char_is_word(0xDF));     /* ß */
  ck_assert(!kidx__char_is_word(0xD7));    /* × */
  ck_assert(!kidx__char_is_word(0xA0));    /* no-break space */
  ck_assert(!kidx__char_is_word(0xAB));    /* « */
  ck_assert(kidx__char_is_word(0x301));    /* combining acute */
  ck_assert(kidx__char_is_word(0x3B1));    /* α */
  ck_assert(kidx__char_is_word(0x436));    /* ж */
  ck_assert(kidx__char_is_word(0x5D0));    /* א */
  ck_assert(kidx__char_is_word(0x4E2D));   /* 中 */
  ck_assert(!kidx__char_is_word(0x2014));  /* em dash */
  ck_assert(!kidx__char_is_word(0x201C));  /* left double quote */
  ck_assert(!kidx__char_is_word(0x3002));  /* ideographic full stop */
  ck_assert(!kidx__char_is_word(0x1F600)); /* emoji */
  ck_assert(!kidx__char_is_word(0xFFFD));
  ck_assert(!kidx__char_is_word(KIDX__UTF8_INVALID));
}
END_TEST

START_TEST(test_charclass_fold) {
  ck_assert_uint_eq(kidx__char_fold('A'), 'a');
  ck_assert_uint_eq(kidx__char_fold('z'), 'z');
  ck_assert_uint_eq(kidx__char_fold(0xC9), 0xE9);   /* É -> é */
  ck_assert_uint_eq(kidx__char_fold(0xDE), 0xFE);   /* Þ -> þ */
  ck_assert_uint_eq(kidx__char_fold(0xDF), 0xDF);   /* ß has no simple fold */
  ck_assert_uint_eq(kidx__char_fold(0xB5), 0x3BC);  /* µ -> μ */
  ck_assert_uint_eq(kidx__char_fold(0x100), 0x101); /* Ā -> ā */
  ck_assert_uint_eq(kidx__char_fold(0x101), 0x101);
  ck_assert_uint_eq(kidx__char_fold(0x141), 0x142); /* Ł -> ł */
  ck_assert_uint_eq(kidx__char_fold(0x17D), 0x17E); /* Ž -> ž */
  ck_assert_uint_eq(kidx__char_fold(0x178), 0xFF);  /* Ÿ -> ÿ */
  ck_assert_uint_eq(kidx__char_fold(0x17F), 's');   /* long s */
  ck_assert_uint_eq(kidx__char_fold(0x130), 'i');
  ck_assert_uint_eq(kidx__char_fold(0x391), 0x3B1); /* Α -> α */
  ck_assert_uint_eq(kidx__char_fold(0x3A3), 0x3C3); /* Σ -> σ */
  ck_assert_uint_eq(kidx__char_fold(0x3C2), 0x3C3); /* ς -> σ */
  ck_assert_uint_eq(kidx__char_fold(0x388), 0x3AD); /* Έ -> έ */
  ck_assert_uint_eq(kidx__char_fold(0x410), 0x430); /* А -> а */
  ck_assert_uint_eq(kidx__char_fold(0x42F), 0x44F); /* Я -> я */
  ck_assert_uint_eq(kidx__char_fold(0x401), 0x451); /* Ё -> ё */
  ck_assert_uint_eq(kidx__char_fold(0x419), 0x439); /* Й -> й, not и */
  ck_assert_uint_eq(kidx__char_fold(0x4E2D), 0x4E2D);
}
END_TEST

static Suite *utf8_suite(void) {
  Suite *s = suite_create("utf8");
  TCase *core = tcase_create("Core");
  tcase_add_test(core, test_utf8_valid_sequences);
  tcase_add_test(core, test_utf8_encode_roundtrip);
  tcase_add_test(core, test_charclass_word_chars);
  tcase_add_test(core, test_charclass_fold);
  suite_add_tcase(s, core);
  TCase *errors = tcase_create("Errors");
  tcase_add_test(errors, test_utf8_invalid_consumes_one_byte);
  suite_add_tcase(s, errors);
  return s;
}

int main(void) {
  return tu_run_suite(utf8_suite());
}
