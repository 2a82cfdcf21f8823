/*
 * check_stem.c -- tests of lib/stem.c, the Snowball English (Porter2)
 * stemmer: the Snowball project's sample vocabulary word by word
 * (tests/data/snowball-english, BSD licence in COPYING there), hand-picked
 * cases, and memory safety on arbitrary bytes.
 */
#include "kidx_int.h"
#include "testutil.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The loops over many words test with plain `if` and call ck_abort_msg()
 * on failure: every ck_assert_*() reports its location to the parent
 * process, which would turn a one-second test into half a minute. */

/* Stems a NUL-terminated word into a fresh buffer of exactly its length
 * (so ASan sees any access past the end) and returns the stem as a
 * NUL-terminated string in out[outsize]. */
static void stem_str(const char *word, char *out, size_t outsize) {
  size_t len = strlen(word);
  char *buf = malloc(len > 0 ? len : 1);
  ck_assert_ptr_nonnull(buf);
  memcpy(buf, word, len);
  size_t n = kidx__stem_english(buf, len);
  ck_assert_uint_le(n, len);
  ck_assert_uint_lt(n, outsize);
  memcpy(out, buf, n);
  out[n] = '\0';
  free(buf);
}

/* Returns the next line of *p (up to *end), advancing *p; NULL at the
 * end.  The newline (and a CR before it) is not part of the line. */
static const char *next_line(const char **p, const char *end, size_t *len) {
  if (*p >= end)
    return NULL;
  const char *start = *p;
  const char *nl = memchr(start, '\n', (size_t)(end - start));
  const char *stop = nl ? nl : end;
  *p = nl ? nl + 1 : end;
  *len = (size_t)(stop - start);
  if (*len > 0 && start[*len - 1] == '\r')
    (*len)--;
  return start;
}

START_TEST(test_stem_vocabulary) {
  size_t vlen, olen;
  char *voc = tu_read_file(KIDX_TEST_DATA "/snowball-english/voc.txt", &vlen);
  char *out =
      tu_read_file(KIDX_TEST_DATA "/snowball-english/output.txt", &olen);
  ck_assert_msg(voc != NULL && out != NULL, "cannot read %s",
                KIDX_TEST_DATA "/snowball-english/{voc,output}.txt");

  const char *vp = voc, *vend = voc + vlen;
  const char *op = out, *oend = out + olen;
  size_t words = 0, mismatches = 0;
  char first[512] = "";
  size_t used = 0;
  const char *w, *e;
  size_t wl, el;
  while ((w = next_line(&vp, vend, &wl)) != NULL) {
    e = next_line(&op, oend, &el);
    if (e == NULL)
      ck_abort_msg("output.txt is shorter than voc.txt");
    words++;
    char buf[256];
    if (wl >= sizeof buf)
      ck_abort_msg("line %zu of voc.txt is too long", words);
    memcpy(buf, w, wl);
    size_t n = kidx__stem_english(buf, wl);
    if (n != el || memcmp(buf, e, n) != 0) {
      if (mismatches < 8 && used < sizeof first) {
        int k = snprintf(first + used, sizeof first - used,
                         " %.*s->%.*s(want %.*s)", (int)wl, w, (int)n, buf,
                         (int)el, e);
        if (k > 0)
          used += (size_t)k;
      }
      mismatches++;
    }
  }
  ck_assert_msg(next_line(&op, oend, &el) == NULL,
                "output.txt is longer than voc.txt");
  free(voc);
  free(out);
  ck_assert_msg(mismatches == 0, "%zu of %zu words mismatch:%s", mismatches,
                words, first);
  ck_assert_uint_eq(words, 42649);
}
END_TEST

/* Expected values worked out by hand from the spec's steps. */
static const struct {
  const char *word;
  const char *stem;
} examples[] = {
    /* Step 0 then Step 1c: the possessive goes, y after k becomes i. */
    {"kaspersky's", "kasperski"},
    /* Step 1c then Step 2 enci -> ence then Step 4 ence in R2. */
    {"transparency", "transpar"},
    /* Step 5: e in R2. */
    {"centre", "centr"},
    {"operations", "oper"},
    /* R1 after the special prefix gener. */
    {"generously", "generous"},
    {"generate", "generat"},
    {"general", "general"},
    /* Initial apostrophe and Step 0's longest ending 's'. */
    {"'tis", "tis"},
    {"dogs's'", "dog"},
    /* Consonant y marking survives to the end as y. */
    {"youth", "youth"},
    {"saying", "say"},
    {"enjoying", "enjoy"},
    /* Step 1a. */
    {"ties", "tie"},
    {"cries", "cri"},
    {"gas", "gas"},
    {"gaps", "gap"},
    {"caress", "caress"},
    {"bus", "bus"},
    /* Step 1b: tidy-ups after the suffix goes. */
    {"hopping", "hop"},
    {"hoping", "hope"},
    {"luxuriated", "luxuri"},
    {"dying", "die"},
    {"herrings", "herring"},
    {"proceeds", "proceed"},
    {"agreed", "agre"},
    /* Exceptional forms. */
    {"skies", "sky"},
    {"news", "news"},
    {"only", "onli"},
    /* Too short to stem. */
    {"as", "as"},
    {"is", "is"},
    {"'s", "'s"},
};

START_TEST(test_stem_examples) {
  char got[128];
  for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
    stem_str(examples[i].word, got, sizeof got);
    ck_assert_msg(strcmp(got, examples[i].stem) == 0, "%s -> %s, want %s",
                  examples[i].word, got, examples[i].stem);
  }
}
END_TEST

START_TEST(test_stem_short_words_unchanged) {
  /* Every string of 0..2 bytes over a mix of letters and odd bytes. */
  static const char alphabet[] = "aesy'Y\x80\xff";
  char buf[2];
  ck_assert_uint_eq(kidx__stem_english(buf, 0), 0);
  for (size_t i = 0; i < sizeof alphabet - 1; i++) {
    buf[0] = alphabet[i];
    ck_assert_uint_eq(kidx__stem_english(buf, 1), 1);
    ck_assert_int_eq(buf[0], alphabet[i]);
    for (size_t j = 0; j < sizeof alphabet - 1; j++) {
      buf[0] = alphabet[i];
      buf[1] = alphabet[j];
      ck_assert_uint_eq(kidx__stem_english(buf, 2), 2);
      ck_assert_int_eq(buf[0], alphabet[i]);
      ck_assert_int_eq(buf[1], alphabet[j]);
    }
  }
}
END_TEST

START_TEST(test_stem_long_words) {
  char word[200], got[200];
  /* 150 letters then a suffix, so R1 and R2 start near the beginning:
   * Step 2 makes ational ate, Step 4 deletes ate in R2. */
  memset(word, 0, sizeof word);
  for (size_t i = 0; i < 150; i++)
    word[i] = "bacon"[i % 5];
  strcpy(word + 150, "ational");
  stem_str(word, got, sizeof got);
  ck_assert_uint_eq(strlen(got), 150);
  ck_assert_int_eq(memcmp(got, word, 150), 0);
  /* No vowel at all: nothing to stem, whatever the length. */
  memset(word, 'x', 180);
  word[180] = '\0';
  stem_str(word, got, sizeof got);
  ck_assert_str_eq(got, word);
}
END_TEST

/* xorshift64: a fixed, portable sequence for the robustness test. */
static uint64_t xorshift64(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return x;
}

START_TEST(test_stem_random_bytes) {
  /* Bytes from an alphabet dense in the letters the rules test, so suffix
   * rules fire, mixed with arbitrary bytes.  Each word sits in a buffer of
   * exactly its length (ASan sees over-reads) copied from a guarded one
   * (any write past the returned length is caught too). */
  static const char letters[] = "aeiouyYsdlgnbtcrmpz'";
  enum { CASES = 200000, MAXLEN = 100, GUARD = 16 };
  uint64_t state = 0x9E3779B97F4A7C15u;
  unsigned char orig[MAXLEN];
  for (int c = 0; c < CASES; c++) {
    size_t len = (size_t)(xorshift64(&state) % (MAXLEN + 1));
    int mode = (int)(xorshift64(&state) % 3);
    for (size_t i = 0; i < len; i++) {
      uint64_t r = xorshift64(&state);
      if (mode == 0 || (mode == 1 && r % 8 == 0))
        orig[i] = (unsigned char)(r >> 8);
      else
        orig[i] = (unsigned char)letters[(r >> 8) % (sizeof letters - 1)];
    }
    char *exact = malloc(len > 0 ? len : 1);
    if (exact == NULL)
      ck_abort_msg("out of memory");
    memcpy(exact, orig, len);
    size_t n = kidx__stem_english(exact, len);
    if (n > len || (len <= 2 && n != len))
      ck_abort_msg("case %d: length %zu -> %zu", c, len, n);

    /* Same input, guarded buffer: same result, nothing written outside
     * [0, len). */
    unsigned char guarded[GUARD + MAXLEN + GUARD];
    memset(guarded, 0xA5, sizeof guarded);
    memcpy(guarded + GUARD, orig, len);
    size_t n2 = kidx__stem_english((char *)guarded + GUARD, len);
    if (n2 != n || memcmp(guarded + GUARD, exact, n) != 0)
      ck_abort_msg("case %d: result differs between two runs", c);
    for (size_t i = 0; i < sizeof guarded; i++)
      if ((i < GUARD || i >= GUARD + len) && guarded[i] != 0xA5)
        ck_abort_msg("case %d: byte %zd outside the word was written", c,
                     (ptrdiff_t)i - GUARD);
    free(exact);
  }
}
END_TEST

Suite *stem_suite(void);
Suite *stem_suite(void) {
  Suite *s = suite_create("stem");

  TCase *core = tcase_create("Core");
  tcase_add_test(core, test_stem_vocabulary);
  tcase_add_test(core, test_stem_examples);
  suite_add_tcase(s, core);

  TCase *limits = tcase_create("Limits");
  /* The random-bytes loop takes a few seconds under sanitizers. */
  tcase_set_timeout(limits, 120);
  tcase_add_test(limits, test_stem_short_words_unchanged);
  tcase_add_test(limits, test_stem_long_words);
  tcase_add_test(limits, test_stem_random_bytes);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) {
  return tu_run_suite(stem_suite());
}
