/* Unit tests for unicode.c: properties, case folding and normalization
 * against the Unicode 15.0 conformance data (tests/data/unicode). */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define MAXSEQ 128

/* ---- helpers ---------------------------------------------------------- */

/* Decodes UTF-8 (the tests' own literals: always valid) into out. */
static size_t cps_of(const char *s, uint32_t *out) {
  size_t n = 0, len = strlen(s);
  for (size_t i = 0; i < len;)
    i += kidx__utf8_decode((const uint8_t *)s + i, len - i, &out[n++]);
  return n;
}

static void utf8_of(const uint32_t *cp, size_t n, char *out, size_t cap) {
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t enc[4];
    size_t k = kidx__utf8_encode(cp[i], enc);
    ck_assert_uint_lt(w + k, cap);
    memcpy(out + w, enc, k);
    w += k;
  }
  out[w] = '\0';
}

/* kidx__uc_normalize of a UTF-8 string, as UTF-8 (static buffer). */
static const char *norm(const char *s, int strip) {
  static char res[4 * MAXSEQ * KIDX__UC_MAX_EXPANSION + 1];
  uint32_t in[MAXSEQ], out[MAXSEQ * KIDX__UC_MAX_EXPANSION];
  size_t n = cps_of(s, in);
  size_t m = kidx__uc_normalize(in, n, out, n * KIDX__UC_MAX_EXPANSION, strip);
  ck_assert_uint_le(m, n * KIDX__UC_MAX_EXPANSION);
  utf8_of(out, m, res, sizeof res);
  return res;
}

static int seq_eq(const uint32_t *a, size_t na, const uint32_t *b, size_t nb) {
  return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static void seq_fmt(const uint32_t *s, size_t n, char *buf, size_t cap) {
  size_t w = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && w + 10 < cap; i++)
    w += (size_t)snprintf(buf + w, cap - w, "%s%04X", i ? " " : "",
                          (unsigned)s[i]);
}

/* ---- conformance: NormalizationTest.txt ------------------------------- */

/* Parses "1E0A 0323" up to ';' or end of line; returns the count. */
static size_t parse_column(const char **pp, uint32_t *out) {
  const char *p = *pp;
  size_t n = 0;
  while (*p && *p != ';' && *p != '\n') {
    if (*p == ' ') {
      p++;
      continue;
    }
    char *end;
    unsigned long v = strtoul(p, &end, 16);
    ck_assert_ptr_ne(end, p);
    ck_assert_uint_lt(n, MAXSEQ);
    out[n++] = (uint32_t)v;
    p = end;
  }
  if (*p == ';')
    p++;
  *pp = p;
  return n;
}

typedef size_t (*normalizer)(const uint32_t *, size_t, uint32_t *, size_t);

/* 1 if f(in) == want, exercising both the exact capacity and one less. */
static int check_form(normalizer f, const uint32_t *in, size_t n,
                      const uint32_t *want, size_t nwant) {
  uint32_t out[MAXSEQ * KIDX__UC_MAX_DECOMP];
  size_t m = f(in, n, out, sizeof out / sizeof out[0]);
  if (!seq_eq(out, m, want, nwant))
    return 0;
  /* Too little room: the answer is a capacity that is then enough. */
  size_t need = f(in, n, out, 0);
  if (n > 0 && need == 0)
    return 0;
  if (need > 0) {
    size_t again = f(in, n, out, need);
    if (!seq_eq(out, again, want, nwant))
      return 0;
  }
  return 1;
}

START_TEST(test_unicode_normalization_conformance) {
  size_t len;
  char *data =
      tu_read_file(KIDX_TEST_DATA "/unicode/NormalizationTest.txt", &len);
  ck_assert_ptr_nonnull(data);
  /* Code points listed alone in Part 1; every other one must be unchanged
   * by NFC and NFD (conformance clause 2 of the file's header). */
  uint8_t *part1 = calloc(0x110000 / 8, 1);
  ck_assert_ptr_nonnull(part1);
  int part = -1;
  size_t lines = 0, failures = 0;
  char first[256] = "";
  for (const char *p = data; *p;) {
    const char *eol = strchr(p, '\n');
    const char *next = eol ? eol + 1 : p + strlen(p);
    if (strncmp(p, "@Part", 5) == 0) {
      part = p[5] - '0';
    } else if (*p != '#' && *p != '\n') {
      uint32_t c[3][MAXSEQ];
      size_t n[3];
      const char *q = p;
      for (int i = 0; i < 3; i++)
        n[i] = parse_column(&q, c[i]);
      lines++;
      if (part == 1 && n[0] == 1)
        part1[c[0][0] >> 3] |= (uint8_t)(1u << (c[0][0] & 7));
      int ok = 1;
      for (int i = 0; i < 3; i++) {
        ok &= check_form(kidx__uc_nfd, c[i], n[i], c[2], n[2]); /* c3 */
        ok &= check_form(kidx__uc_nfc, c[i], n[i], c[1], n[1]); /* c2 */
      }
      if (!ok && failures++ == 0)
        snprintf(first, sizeof first, "part %d: %.*s", part,
                 (int)(next - p - 1), p);
    }
    p = next;
  }
  ck_assert_msg(failures == 0, "%zu of %zu lines fail, first: %s", failures,
                lines, first);
  ck_assert_uint_gt(lines, 19000); /* the whole file was read: parts 0-3 */
  ck_assert_int_eq(part, 3);

  for (uint32_t cp = 0; cp < 0x110000; cp++) {
    if (part1[cp >> 3] & (1u << (cp & 7)))
      continue;
    uint32_t out[KIDX__UC_MAX_DECOMP];
    if (!check_form(kidx__uc_nfd, &cp, 1, &cp, 1) ||
        !check_form(kidx__uc_nfc, &cp, 1, &cp, 1) ||
        kidx__uc_decompose(cp, out) != 1 || out[0] != cp) {
      if (failures++ == 0)
        snprintf(first, sizeof first, "U+%04X changed", (unsigned)cp);
    }
  }
  ck_assert_msg(failures == 0, "%zu code points fail, first: %s", failures,
                first);
  free(part1);
  free(data);
}
END_TEST

/* ---- case folding ----------------------------------------------------- */

static void fold_is(uint32_t cp, const char *want) {
  uint32_t out[KIDX__UC_MAX_FOLD], w[8];
  size_t n = kidx__uc_casefold(cp, out);
  size_t nw = cps_of(want, w);
  char got[64], exp[64];
  seq_fmt(out, n, got, sizeof got);
  seq_fmt(w, nw, exp, sizeof exp);
  ck_assert_msg(seq_eq(out, n, w, nw), "fold(U+%04X) = %s, want %s",
                (unsigned)cp, got, exp);
}

START_TEST(test_unicode_casefold) {
  fold_is('A', "a");
  fold_is('z', "z");
  fold_is('0', "0");
  fold_is(0xDF, "ss");         /* ß, status F */
  fold_is(0x1E9E, "ss");       /* ẞ capital sharp s */
  fold_is(0xFB01, "fi");       /* ﬁ */
  fold_is(0xFB03, "ffi");      /* ﬃ, three code points */
  fold_is(0x3C2, "\xcf\x83");  /* ς -> σ */
  fold_is(0x3A3, "\xcf\x83");  /* Σ -> σ */
  fold_is(0x3C3, "\xcf\x83");  /* σ unchanged */
  fold_is(0x130, "i\xcc\x87"); /* İ -> i + U+0307 (not T: not ı) */
  fold_is('I', "i");           /* status T (Turkic) not applied */
  fold_is(0xB5, "\xce\xbc");   /* micro sign -> μ */
  fold_is(0x17F, "s");         /* long s */
  fold_is(0x212A, "k");        /* Kelvin sign */
  fold_is(0x345, "\xce\xb9");  /* ypogegrammeni -> ι */
  fold_is(0x1F88, "\xe1\xbc\x80\xce\xb9"); /* ᾈ -> ἀι */
  fold_is(0x410, "\xd0\xb0");              /* А -> а */
  fold_is(0x419, "\xd0\xb9");              /* Й -> й */
  fold_is(0x401, "\xd1\x91");              /* Ё -> ё */
  fold_is(0x587, "\xd5\xa5\xd6\x82");      /* Armenian և -> եւ */
  fold_is(0x531, "\xd5\xa1");              /* Ա -> ա */
  fold_is(0xAB70, "\xe1\x8e\xa0"); /* Cherokee ꭰ -> Ꭰ (folds to upper) */
  fold_is(0x13F8, "\xe1\x8f\xb0"); /* Cherokee ᏸ -> Ᏸ */
  fold_is(0x13A0, "\xe1\x8e\xa0"); /* Ꭰ unchanged */
  fold_is(0x10400, "\xf0\x90\x90\xa8"); /* Deseret 𐐀 -> 𐐨 */
  fold_is(0x10C80, "\xf0\x90\xb3\x80"); /* Old Hungarian */
  fold_is(0x1E900, "\xf0\x9e\xa4\xa2"); /* Adlam */
  fold_is(0x4E2D, "\xe4\xb8\xad");      /* 中 unchanged */

  uint32_t out[KIDX__UC_MAX_FOLD];
  ck_assert_uint_eq(kidx__uc_casefold(0xD800, out), 1); /* surrogate */
  ck_assert_uint_eq(out[0], 0xD800);
  ck_assert_uint_eq(kidx__uc_casefold(KIDX__UTF8_INVALID, out), 1);
  ck_assert_uint_eq(out[0], KIDX__UTF8_INVALID);
  ck_assert_uint_eq(kidx__uc_casefold(0x110000, out), 1);
  ck_assert_uint_eq(out[0], 0x110000);
}
END_TEST

/* ---- properties ------------------------------------------------------- */

static void class_is(uint32_t cp, unsigned cls) {
  unsigned got = KIDX__UC_CLASS(kidx__uc_props(cp));
  ck_assert_msg(got == cls, "class(U+%04X) = %u, want %u", (unsigned)cp, got,
                cls);
}

START_TEST(test_unicode_word_classes) {
  static const uint32_t letters[] = {
      'a',    'Z',    0xAA,   0xDF,    0x131,   0x1C5,  0x2B0, /* Latin, Lm */
      0x3B1,  0x3A9,  0x436,  0x416,   0x531,   0x10D0,        /* Gr Cy Ar Ka */
      0x5D0,  0x5EA,  0x628,  0x6CC,   0x915,   0x905,  0x995, /* He Ar Deva */
      0xE01,  0x1780, 0x13A0, 0xAB70,  0x10400,                /* Th Km Chr */
      0xAC00, 0xD55C, 0xD7A3, 0x1100,  0x3131,  0xFFA1,        /* Hangul */
      0x3105, 0xA000, 0x2D30, 0x1E900, 0x2C00,                 /* Bopomofo.. */
  };
  for (size_t i = 0; i < sizeof letters / sizeof letters[0]; i++)
    class_is(letters[i], KIDX__UC_LETTER);
  static const uint32_t marks[] = {
      0x300,  0x301,  0x323,  0x345,   0x483,   0x488, /* Me */
      0x5B4,  0x5BC,  0x64E,  0x670,   0x93F,          /* Mc */
      0x94D,  0x93C,  0x981,  0xE31,   0x20DD,         /* Me */
      0x3099, 0xFE0F, 0x1AB0, 0xE0100, 0x16FE4,
  };
  for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
    class_is(marks[i], KIDX__UC_MARK);
  static const uint32_t digits[] = {'0',   '9',   0x663,  0x6F3,  0x966,
                                    0x96F, 0xE51, 0xFF11, 0x1D7CE};
  for (size_t i = 0; i < sizeof digits / sizeof digits[0]; i++)
    class_is(digits[i], KIDX__UC_DIGIT);
  static const uint32_t numbers[] = {0xB2,   0xBD,   0x2160,
                                     0x216B, 0x2460, 0x10107};
  for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
    class_is(numbers[i], KIDX__UC_NUMBER_OTHER);
  static const uint32_t cjk[] = {
      0x4E00, 0x4E2D,  0x9FFF, 0x3400, 0x20000, 0x2A6DF, 0x323AF,
      0xF900, 0x2F800, 0x3005, 0x3006, 0x3007,  0x303B,  0x3021, /* Han */
      0x3042, 0x3093,  0x309D, 0x309F, 0x1B001,                  /* Hiragana */
      0x30A2, 0x30F3,  0x30FC, 0x30FD, 0xFF71,  0xFF70,  0xFF9E, /* Kata */
      0x3031, 0x303C,  0x309B, 0x31F0, 0x17000, 0x1B170, /* Tangut, Nushu */
  };
  for (size_t i = 0; i < sizeof cjk / sizeof cjk[0]; i++)
    class_is(cjk[i], KIDX__UC_CJK);
  static const uint32_t seps[] = {
      ' ',     '\t',     '\0',     '.',        ',',
      '-',     '\'',     '_',      '$',        '+',
      0x7F,    0xA0,     0xAB,     0xD7,       0xF7,
      0x37E,   0x55D,    0x5BE,    0x60C,      0x61F,
      0x6D4,   0x964,    0x965,    0x2019,     0x2014,
      0x2026,  0x20AC,   0x2122,   0x2190,     0x2500,
      0x3000,  0x3001,   0x3002,   0x300C,     0x30FB,
      0x30A0,  0xFF01,   0xFF0C,   0x2F00,     0x1F600,
      0x1F44D, 0x1F1FA,  0xFEFF,   0x200B,     0xE000,
      0xF8FF,  0xD800,   0xDFFF,   0x378,      0xFFFF,
      0xFFFD,  0x10FFFF, 0x110000, 0x7FFFFFFF, KIDX__UTF8_INVALID,
  };
  for (size_t i = 0; i < sizeof seps / sizeof seps[0]; i++)
    class_is(seps[i], KIDX__UC_SEPARATOR);
}
END_TEST

START_TEST(test_unicode_ccc_script_flags) {
  ck_assert_uint_eq(KIDX__UC_CCC(kidx__uc_props('a')), 0);
  ck_assert_uint_eq(KIDX__UC_CCC(kidx__uc_props(0x301)), 230);
  ck_assert_uint_eq(KIDX__UC_CCC(kidx__uc_props(0x323)), 220);
  ck_assert_uint_eq(KIDX__UC_CCC(kidx__uc_props(0x345)), 240);
  ck_assert_uint_eq(KIDX__UC_CCC(kidx__uc_props(0x5B0)), 10);
  ck_assert_uint_eq(KIDX__UC_CCC(kidx__uc_props(0x94D)), 9);
  ck_assert_uint_eq(KIDX__UC_CCC(kidx__uc_props(0x3099)), 8);
  ck_assert_uint_eq(KIDX__UC_CCC(kidx__uc_props(0x1D16D)), 226);
  ck_assert_uint_eq(KIDX__UC_CCC(kidx__uc_props(0x93F)), 0);

  ck_assert_uint_eq(KIDX__UC_SCRIPT(kidx__uc_props('a')), KIDX__UC_LATIN);
  ck_assert_uint_eq(KIDX__UC_SCRIPT(kidx__uc_props(0xF8)), KIDX__UC_LATIN);
  ck_assert_uint_eq(KIDX__UC_SCRIPT(kidx__uc_props(0x1E9E)), KIDX__UC_LATIN);
  ck_assert_uint_eq(KIDX__UC_SCRIPT(kidx__uc_props(0xFF21)), KIDX__UC_LATIN);
  ck_assert_uint_eq(KIDX__UC_SCRIPT(kidx__uc_props(0x3B1)), KIDX__UC_GREEK);
  ck_assert_uint_eq(KIDX__UC_SCRIPT(kidx__uc_props(0x1F00)), KIDX__UC_GREEK);
  ck_assert_uint_eq(KIDX__UC_SCRIPT(kidx__uc_props(0x439)), KIDX__UC_CYRILLIC);
  ck_assert_uint_eq(KIDX__UC_SCRIPT(kidx__uc_props(0x301)), KIDX__UC_OTHER);
  ck_assert_uint_eq(KIDX__UC_SCRIPT(kidx__uc_props('1')), KIDX__UC_OTHER);
  ck_assert_uint_eq(KIDX__UC_SCRIPT(kidx__uc_props(0x5D0)), KIDX__UC_OTHER);
  ck_assert_uint_eq(KIDX__UC_SCRIPT(kidx__uc_props(0x4E2D)), KIDX__UC_OTHER);

  ck_assert(kidx__uc_props(0x301) & KIDX__UC_NONSPACING);
  ck_assert(kidx__uc_props(0x306) & KIDX__UC_NONSPACING);
  ck_assert(!(kidx__uc_props(0x93F) & KIDX__UC_NONSPACING));  /* Mc */
  ck_assert(!(kidx__uc_props(0x20DD) & KIDX__UC_NONSPACING)); /* Me */
  ck_assert(!(kidx__uc_props('a') & KIDX__UC_NONSPACING));
  ck_assert_uint_eq(kidx__uc_props(KIDX__UTF8_INVALID), 0);
}
END_TEST

START_TEST(test_unicode_decompose_compose) {
  uint32_t out[KIDX__UC_MAX_DECOMP];
  ck_assert_uint_eq(kidx__uc_decompose(0xE9, out), 2); /* é */
  ck_assert_uint_eq(out[0], 'e');
  ck_assert_uint_eq(out[1], 0x301);
  ck_assert_uint_eq(kidx__uc_decompose(0x1F82, out), 4); /* ᾂ */
  ck_assert_uint_eq(out[0], 0x3B1);
  ck_assert_uint_eq(out[3], 0x345);
  ck_assert_uint_eq(kidx__uc_decompose(0x212B, out), 2); /* Angstrom */
  ck_assert_uint_eq(out[0], 'A');
  ck_assert_uint_eq(out[1], 0x30A);
  ck_assert_uint_eq(kidx__uc_decompose(0xD55C, out), 3); /* 한 = LVT */
  ck_assert_uint_eq(out[0], 0x1112);
  ck_assert_uint_eq(out[1], 0x1161);
  ck_assert_uint_eq(out[2], 0x11AB);
  ck_assert_uint_eq(kidx__uc_decompose(0xAC00, out), 2); /* 가 = LV */
  ck_assert_uint_eq(kidx__uc_decompose(0xF8, out), 1);   /* ø: none */
  ck_assert_uint_eq(kidx__uc_decompose(0x142, out), 1);  /* ł: none */
  ck_assert_uint_eq(kidx__uc_decompose(0xFB01, out), 1); /* ﬁ: compat only */
  ck_assert_uint_eq(kidx__uc_decompose(KIDX__UTF8_INVALID, out), 1);
  ck_assert_uint_eq(out[0], KIDX__UTF8_INVALID);

  ck_assert_uint_eq(kidx__uc_compose('e', 0x301), 0xE9);
  ck_assert_uint_eq(kidx__uc_compose(0x438, 0x306), 0x439); /* й */
  ck_assert_uint_eq(kidx__uc_compose(0x1100, 0x1161), 0xAC00);
  ck_assert_uint_eq(kidx__uc_compose(0xAC00, 0x11A8), 0xAC01);
  ck_assert_uint_eq(kidx__uc_compose(0xAC00, 0x11A7), 0);   /* not a T */
  ck_assert_uint_eq(kidx__uc_compose(0xAC01, 0x11A8), 0);   /* LVT + T */
  ck_assert_uint_eq(kidx__uc_compose(0xB47, 0xB3E), 0xB4B); /* two starters */
  ck_assert_uint_eq(kidx__uc_compose(0x915, 0x93C), 0);     /* excluded */
  ck_assert_uint_eq(kidx__uc_compose(0x1D157, 0x1D165), 0); /* excluded */
  ck_assert_uint_eq(kidx__uc_compose(0x11099, 0x110BA), 0x1109A);
  ck_assert_uint_eq(kidx__uc_compose('e', 'e'), 0);
  ck_assert_uint_eq(kidx__uc_compose(KIDX__UTF8_INVALID, 0x301), 0);
  ck_assert_uint_eq(kidx__uc_compose('e', KIDX__UTF8_INVALID), 0);
}
END_TEST

/* ---- the analyser's form of a word ------------------------------------ */

START_TEST(test_unicode_normalize_examples) {
  ck_assert_str_eq(norm("Straße", 0), "strasse");
  ck_assert_str_eq(norm("STRASSE", 1), "strasse");
  ck_assert_str_eq(norm("Ünïcödé", 1), "unicode");
  ck_assert_str_eq(norm("Ünïcödé", 0), "ünïcödé");
  ck_assert_str_eq(norm("caf\xc3\xa9", 0), "caf\xc3\xa9");  /* NFC */
  ck_assert_str_eq(norm("cafe\xcc\x81", 0), "caf\xc3\xa9"); /* NFD -> NFC */
  ck_assert_str_eq(norm("CAFE\xcc\x81", 0), "caf\xc3\xa9");
  ck_assert_str_eq(norm("caf\xc3\xa9", 1), "cafe");
  ck_assert_str_eq(norm("cafe\xcc\x81", 1), "cafe");
  ck_assert_str_eq(norm("Tiếng Việt", 1), "tieng viet");
  ck_assert_str_eq(norm("ﬁnance", 0), "finance");
  ck_assert_str_eq(norm("Ǆ", 0), "ǆ"); /* titlecase digraphs fold */
  ck_assert_str_eq(norm("\xc4\xb0stanbul", 0), "i\xcc\x87stanbul"); /* İ */
  ck_assert_str_eq(norm("\xc4\xb0stanbul", 1), "istanbul");
  ck_assert_str_eq(norm("\xe2\x84\xab", 0), "\xc3\xa5"); /* Angstrom -> å */
  /* No decomposition, so no folding to ASCII (unlike Lucene's
   * ASCIIFoldingFilter): ø, ł, đ, æ, ı stay. */
  ck_assert_str_eq(norm("Øresund Łódź Đakovo Æther ı", 1),
                   "øresund łodz đakovo æther ı");
  /* Greek: tonos and dialytika go with stripping; final sigma folds. */
  ck_assert_str_eq(norm("ά", 1), "α");
  ck_assert_str_eq(norm("Ά", 1), "α");
  ck_assert_str_eq(norm("ά", 0), "ά");
  ck_assert_str_eq(norm("ΐ", 1), "ι");
  ck_assert_str_eq(norm("Ελληνικά", 1), "ελληνικα");
  ck_assert_str_eq(norm("ΟΔΟΣ", 0), "οδοσ");
  ck_assert_str_eq(norm("οδος", 0), "οδοσ");
  ck_assert_str_eq(norm("ᾈ", 0), "ἀι"); /* ypogegrammeni -> iota */
  ck_assert_str_eq(norm("ᾈ", 1), "αι");
  /* Cyrillic: the breve of й and the diaeresis of ё make letters. */
  ck_assert_str_eq(norm("й", 1), "й");
  ck_assert_str_eq(norm("и\xcc\x86", 1), "й");
  ck_assert_str_eq(norm("Й", 1), "й");
  ck_assert_str_eq(norm("ё", 1), "ё");
  ck_assert_str_eq(norm("ЁЛКА", 1), "ёлка");
  ck_assert_str_eq(norm("Москва", 1), "москва");
  /* Marks on other scripts stay; other scripts pass through. */
  ck_assert_str_eq(norm("हिन्दी", 1), "हिन्दी");
  ck_assert_str_eq(norm("עִבְרִית", 1), "עִבְרִית");
  ck_assert_str_eq(norm("العَرَبِيَّة", 1), "العَرَبِيَّة");
  ck_assert_str_eq(norm("한국어", 1), "한국어");
  ck_assert_str_eq(norm("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", 0), "한");
  ck_assert_str_eq(norm("日本語のテキスト", 1), "日本語のテキスト");
  ck_assert_str_eq(norm("か\xe3\x82\x99", 1), "が"); /* か + dakuten */
  ck_assert_str_eq(norm("ԵՐԵՎԱՆ և", 0), "երեվան եւ");
  ck_assert_str_eq(norm("ᏣᎳᎩ", 0), "ᏣᎳᎩ"); /* Cherokee folds to upper */
  ck_assert_str_eq(norm("ꮳꮃꭹ", 0), "ᏣᎳᎩ");
  ck_assert_str_eq(norm("𐐔𐐯𐑅𐐨𐑉𐐯𐐻", 0), "𐐼𐐯𐑅𐐨𐑉𐐯𐐻"); /* Deseret */
  ck_assert_str_eq(norm("", 1), "");
}
END_TEST

START_TEST(test_unicode_normalize_order_of_steps) {
  /* D145 folds NFD(X): a + ypogegrammeni (240) + acute (230) is first put
   * in canonical order (acute first), then U+0345 folds to iota, a
   * starter; so the result is "á" + "ι", not "a" + "ί". */
  uint32_t in[3] = {'a', 0x345, 0x301}, out[12];
  size_t n = kidx__uc_normalize(in, 3, out, 12, 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_uint_eq(out[0], 0xE1);
  ck_assert_uint_eq(out[1], 0x3B9);
  /* Marks out of canonical order compose the same as in order. */
  uint32_t a[3] = {'q', 0x307, 0x323}, b[3] = {'q', 0x323, 0x307};
  uint32_t oa[12], ob[12];
  size_t na = kidx__uc_normalize(a, 3, oa, 12, 0);
  size_t nb = kidx__uc_normalize(b, 3, ob, 12, 0);
  ck_assert(seq_eq(oa, na, ob, nb));
  /* Invalid and out-of-range values pass through as they are. */
  uint32_t bad[4] = {KIDX__UTF8_INVALID, 'A', 0xD800, 0x110000};
  n = kidx__uc_normalize(bad, 4, out, 12, 1);
  ck_assert_uint_eq(n, 4);
  ck_assert_uint_eq(out[0], KIDX__UTF8_INVALID);
  ck_assert_uint_eq(out[1], 'a');
  ck_assert_uint_eq(out[2], 0xD800);
  ck_assert_uint_eq(out[3], 0x110000);
}
END_TEST

START_TEST(test_unicode_normalize_capacity) {
  uint32_t in[2] = {0xDF, 0xFB03}, out[8]; /* ß ﬃ -> s s f f i */
  ck_assert_uint_eq(kidx__uc_normalize(in, 2, out, 8, 0), 5);
  for (size_t cap = 0; cap < 5; cap++)
    ck_assert_uint_eq(kidx__uc_normalize(in, 2, out, cap, 0), 5);
  ck_assert_uint_eq(kidx__uc_normalize(in, 2, out, 5, 0), 5);
  ck_assert_uint_eq(out[0], 's');
  ck_assert_uint_eq(out[4], 'i');
  /* The work space can exceed the result: é is 2 in NFD, 1 in NFC. */
  uint32_t e = 0xC9;
  ck_assert_uint_eq(kidx__uc_normalize(&e, 1, out, 1, 0), 2);
  ck_assert_uint_eq(kidx__uc_normalize(&e, 1, out, 2, 0), 1);
  ck_assert_uint_eq(out[0], 0xE9);
  ck_assert_uint_eq(kidx__uc_normalize(NULL, 0, out, 0, 1), 0);
  ck_assert_uint_eq(kidx__uc_nfd(&e, 1, out, 1), 2);
  ck_assert_uint_eq(kidx__uc_nfc(&e, 1, out, 1), 2);
  ck_assert_uint_eq(kidx__uc_nfc(&e, 1, out, 2), 1);
}
END_TEST

/* ---- limits: every code point, random sequences ----------------------- */

START_TEST(test_unicode_sweep_all_code_points) {
  static const uint32_t beyond[] = {0x110000, 0x1FFFFF, 0x7FFFFFFF, 0xFFFFFFFE,
                                    KIDX__UTF8_INVALID};
  size_t failures = 0, nb = sizeof beyond / sizeof beyond[0];
  uint32_t bad = 0;
  for (uint64_t i = 0; i < 0x110000 + nb; i++) {
    uint32_t cp = i < 0x110000 ? (uint32_t)i : beyond[i - 0x110000];
    unsigned p = kidx__uc_props(cp);
    uint32_t f[KIDX__UC_MAX_FOLD], d[KIDX__UC_MAX_DECOMP], x[8];
    size_t nf = kidx__uc_casefold(cp, f);
    size_t nd = kidx__uc_decompose(cp, d);
    int ok = KIDX__UC_CLASS(p) <= KIDX__UC_CJK && nf >= 1 &&
             nf <= KIDX__UC_MAX_FOLD && nd >= 1 && nd <= KIDX__UC_MAX_DECOMP;
    /* Folding is idempotent and decompositions are already full. */
    for (size_t j = 0; ok && j < nf; j++)
      ok = kidx__uc_casefold(f[j], x) == 1 && x[0] == f[j];
    for (size_t j = 0; ok && j < nd; j++)
      ok = kidx__uc_decompose(d[j], x) == 1 && x[0] == d[j];
    /* Only real characters have mappings or a class. */
    if (cp >= 0x110000 || (cp >= 0xD800 && cp <= 0xDFFF))
      ok = ok && p == 0 && nf == 1 && f[0] == cp && nd == 1 && d[0] == cp;
    /* One character never needs more than KIDX__UC_MAX_EXPANSION. */
    uint32_t out[KIDX__UC_MAX_EXPANSION];
    ok = ok && kidx__uc_normalize(&cp, 1, out, KIDX__UC_MAX_EXPANSION, 0) <=
                   KIDX__UC_MAX_EXPANSION;
    if (!ok && failures++ == 0)
      bad = cp;
  }
  ck_assert_msg(failures == 0, "%zu failures, first U+%04X", failures,
                (unsigned)bad);
}
END_TEST

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 32);
}

/* Mostly characters that interact: letters with and without accents,
 * combining marks of several classes, Greek, Cyrillic, Hangul jamo and
 * syllables, Indic two-part vowels; sometimes anything at all. */
static uint32_t random_cp(void) {
  static const uint32_t pool[][2] = {
      {'A', 'Z'},         {'a', 'z'},         {0xC0, 0x17F},
      {0x300, 0x36F},     {0x345, 0x345},     {0x370, 0x3FF},
      {0x400, 0x4FF},     {0x591, 0x5C7},     {0x610, 0x65F},
      {0x900, 0x97F},     {0xB3E, 0xB57},     {0xDD9, 0xDDF},
      {0x1100, 0x11FF},   {0xAC00, 0xAC40},   {0x1E00, 0x1FFF},
      {0x1DC0, 0x1DFF},   {0x20D0, 0x20F0},   {0x2126, 0x212B},
      {0x3099, 0x309A},   {0x304B, 0x30FC},   {0xFB00, 0xFB4F},
      {0x1D15E, 0x1D172}, {0x11099, 0x110BA}, {0x13A0, 0x13FD},
      {0xAB70, 0xABBF},   {0x10400, 0x1044F},
  };
  uint32_t r = rng() % 100;
  if (r < 8)
    return rng() % 0x110000;
  if (r == 8)
    return KIDX__UTF8_INVALID;
  if (r == 9)
    return 0xD800 + rng() % 0x800;
  const uint32_t *range = pool[rng() % (sizeof pool / sizeof pool[0])];
  return range[0] + rng() % (range[1] - range[0] + 1);
}

/* kidx__uc_normalize written the slow, obvious way from the other
 * functions, each step in its own buffer: the reference the random test
 * compares the in-place passes and the quick check against. */
static size_t model_normalize(const uint32_t *in, size_t n, uint32_t *out,
                              int strip) {
  uint32_t a[MAXSEQ * 16], b[MAXSEQ * 16], c[MAXSEQ * 16];
  size_t na = kidx__uc_nfd(in, n, a, MAXSEQ * 16), nb = 0;
  ck_assert_uint_le(na, MAXSEQ * 4);
  for (size_t i = 0; i < na; i++)
    nb += kidx__uc_casefold(a[i], b + nb);
  size_t nc = kidx__uc_nfd(b, nb, c, MAXSEQ * 16), w = 0;
  ck_assert_uint_le(nc, MAXSEQ * 16);
  unsigned base = KIDX__UC_OTHER;
  for (size_t i = 0; i < nc; i++) {
    unsigned p = kidx__uc_props(c[i]);
    if (KIDX__UC_CLASS(p) != KIDX__UC_MARK)
      base = KIDX__UC_SCRIPT(p);
    else if (strip && (p & KIDX__UC_NONSPACING) &&
             (base == KIDX__UC_LATIN || base == KIDX__UC_GREEK))
      continue;
    c[w++] = c[i];
  }
  return kidx__uc_nfc(c, w, out, MAXSEQ * 16);
}

START_TEST(test_unicode_normalize_random) {
  enum { N = 24, CAP = N * KIDX__UC_MAX_EXPANSION };
  size_t failures = 0;
  char first[512] = "";
  for (int iter = 0; iter < 20000; iter++) {
    uint32_t in[N], ref[CAP], out[CAP], nfd[CAP], nfc[CAP], again[CAP];
    size_t n = rng() % (N + 1);
    for (size_t i = 0; i < n; i++)
      in[i] = random_cp();
    int strip = (int)(rng() & 1);
    size_t nref = kidx__uc_normalize(in, n, ref, CAP, strip);
    int ok = nref <= CAP;
    uint32_t model[MAXSEQ * 16];
    ok = ok && seq_eq(ref, nref, model, model_normalize(in, n, model, strip));
    /* Any capacity: either the answer, or a capacity that is enough. */
    size_t cap = rng() % (CAP + 1);
    size_t m = kidx__uc_normalize(in, n, out, cap, strip);
    if (ok && m <= cap)
      ok = seq_eq(out, m, ref, nref);
    else if (ok)
      ok = m <= CAP && kidx__uc_normalize(in, n, out, m, strip) <= m &&
           seq_eq(out, kidx__uc_normalize(in, n, out, m, strip), ref, nref);
    /* Canonically equivalent input (NFD, NFC) gives the same result. */
    size_t nd = kidx__uc_nfd(in, n, nfd, CAP);
    size_t nc = kidx__uc_nfc(in, n, nfc, CAP);
    ok = ok && nd <= CAP && nc <= nd;
    ok = ok && seq_eq(ref, nref, again,
                      kidx__uc_normalize(nfd, nd, again, CAP, strip));
    ok = ok && seq_eq(ref, nref, again,
                      kidx__uc_normalize(nfc, nc, again, CAP, strip));
    /* Idempotent, and without stripping the result is NFC. */
    ok = ok && seq_eq(ref, nref, again,
                      kidx__uc_normalize(ref, nref, again, CAP, strip));
    if (!strip)
      ok = ok && seq_eq(ref, nref, again, kidx__uc_nfc(ref, nref, again, CAP));
    /* NFC of NFD and NFD of NFC. */
    ok = ok && seq_eq(nfc, nc, again, kidx__uc_nfc(nfd, nd, again, CAP));
    ok = ok && seq_eq(nfd, nd, again, kidx__uc_nfd(nfc, nc, again, CAP));
    if (!ok && failures++ == 0) {
      char s[256];
      seq_fmt(in, n, s, sizeof s);
      snprintf(first, sizeof first, "strip=%d in=[%s]", strip, s);
    }
  }
  ck_assert_msg(failures == 0, "%zu failures, first: %s", failures, first);
}
END_TEST

static Suite *unicode_suite(void) {
  Suite *s = suite_create("unicode");
  TCase *core = tcase_create("Core");
  tcase_add_test(core, test_unicode_casefold);
  tcase_add_test(core, test_unicode_word_classes);
  tcase_add_test(core, test_unicode_ccc_script_flags);
  tcase_add_test(core, test_unicode_decompose_compose);
  tcase_add_test(core, test_unicode_normalize_examples);
  tcase_add_test(core, test_unicode_normalize_order_of_steps);
  suite_add_tcase(s, core);
  TCase *conf = tcase_create("Conformance");
  tcase_set_timeout(conf, 300);
  tcase_add_test(conf, test_unicode_normalization_conformance);
  suite_add_tcase(s, conf);
  TCase *limits = tcase_create("Limits");
  tcase_set_timeout(limits, 300);
  tcase_add_test(limits, test_unicode_normalize_capacity);
  tcase_add_test(limits, test_unicode_sweep_all_code_points);
  tcase_add_test(limits, test_unicode_normalize_random);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(unicode_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
