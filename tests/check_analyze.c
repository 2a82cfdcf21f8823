/* Unit tests for analyze.c: the pipeline documents and queries share. */
#include "kidx_int.h"

#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* Collects tokens as "term@pos[start,end)" joined by spaces. */
typedef struct collected {
  char text[4096];
  size_t n;
  size_t count;
} collected;

static int collect(void *ctx, const kidx__token *tok) {
  collected *c = ctx;
  ck_assert_uint_ge(tok->len, 1);
  ck_assert_uint_le(tok->len, KIDX_MAX_TOKEN_BYTES);
  ck_assert_uint_lt(tok->start, tok->end);
  c->n +=
      (size_t)snprintf(c->text + c->n, sizeof c->text - c->n,
                       "%s%.*s@%u[%zu,%zu)", c->count ? " " : "", (int)tok->len,
                       tok->text, tok->pos, tok->start, tok->end);
  c->count++;
  return 0;
}

/* Terms only, "a b c". */
static int collect_terms(void *ctx, const kidx__token *tok) {
  collected *c = ctx;
  c->n += (size_t)snprintf(c->text + c->n, sizeof c->text - c->n, "%s%.*s",
                           c->count ? " " : "", (int)tok->len, tok->text);
  c->count++;
  return 0;
}

/* The default analysis: English stemming, diacritics folded. */
static const kidx__analyzer std = {
    KIDX__AN_STEM_ENGLISH | KIDX__AN_FOLD_DIACRITICS, NULL};
/* Without stemming, so the expected terms show folding alone. */
static const kidx__analyzer fold = {KIDX__AN_FOLD_DIACRITICS, NULL};
static const kidx__analyzer nofold = {0, NULL};

static const char *terms_with(const kidx__analyzer *an, const char *text,
                              size_t len) {
  static collected c;
  memset(&c, 0, sizeof c);
  ck_assert_int_eq(kidx__analyze(an, text, len, 0, NULL, collect_terms, &c), 0);
  return c.text;
}
static const char *terms(const char *text, size_t len) {
  return terms_with(&std, text, len);
}
#define TERMS(s)         terms(s, sizeof(s) - 1)
#define TERMS_WITH(a, s) terms_with(a, s, sizeof(s) - 1)

/* "term@pos[start,end)" for every token. */
static const char *tokens_with(const kidx__analyzer *an, const char *text) {
  static collected c;
  memset(&c, 0, sizeof c);
  ck_assert_int_eq(kidx__analyze(an, text, strlen(text), 0, NULL, collect, &c),
                   0);
  return c.text;
}

START_TEST(test_analyze_positions_and_offsets) {
  collected c = {{0}, 0, 0};
  const char *text = "Hello, World!  3 Apples";
  uint32_t next;
  ck_assert_int_eq(
      kidx__analyze(&std, text, strlen(text), 10, &next, collect, &c), 0);
  ck_assert_str_eq(c.text,
                   "hello@10[0,5) world@11[7,12) 3@12[15,16) appl@13[17,23)");
  ck_assert_uint_eq(next, 14);
}
END_TEST

START_TEST(test_analyze_case_folding_and_stemming) {
  ck_assert_str_eq(TERMS("TRANSPARENCY Centres operations"),
                   "transpar centr oper");
  ck_assert_str_eq(TERMS("Running runs RUNNER"), "run run runner");
  ck_assert_str_eq(TERMS("CAF\xc3\x89 na\xc3\xafve"), "cafe naiv");
  ck_assert_str_eq(TERMS_WITH(&nofold, "CAF\xc3\x89 na\xc3\xafve"),
                   "caf\xc3\xa9 na\xc3\xafve");
  ck_assert_str_eq(TERMS("\xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90"),
                   "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0");
}
END_TEST

START_TEST(test_analyze_apostrophes) {
  /* Porter2 strips the possessive (step 0) and turns the final y after a
   * consonant into i (step 1c). */
  ck_assert_str_eq(TERMS("Kaspersky's software"), "kasperski softwar");
  ck_assert_str_eq(TERMS("Kaspersky\xe2\x80\x99s"), "kasperski");
  ck_assert_str_eq(TERMS("O'Neil"), "o'neil");
  /* Quotes around words are not part of them. */
  ck_assert_str_eq(TERMS("'quoted' words'"), "quot word");
}
END_TEST

START_TEST(test_analyze_separators) {
  ck_assert_str_eq(TERMS("cyber-security"), "cyber secur");
  ck_assert_str_eq(TERMS("a\xe2\x80\x94"
                         "b"),
                   "a b");                           /* em dash */
  ck_assert_str_eq(TERMS("\xc2\xa0x\xc2\xa0"), "x"); /* no-break spaces */
  ck_assert_str_eq(TERMS("..."), "");
  ck_assert_str_eq(TERMS(""), "");
}
END_TEST

START_TEST(test_analyze_invalid_utf8_splits_without_loss) {
  /* An invalid byte separates words and never joins bytes across it. */
  ck_assert_str_eq(TERMS("abc\xff"
                         "def"),
                   "abc def");
  ck_assert_str_eq(TERMS("abc\xc3"
                         "def"),
                   "abc def"); /* truncated */
  ck_assert_str_eq(TERMS("abc\xed\xa0\x80"
                         "def"),
                   "abc def"); /* surrogate */
  ck_assert_str_eq(TERMS("abc\xc0\xaf"
                         "def"),
                   "abc def");              /* overlong */
  ck_assert_str_eq(TERMS("x\x00y"), "x y"); /* NUL */
  /* Latin-1 text that is not UTF-8 still yields its ASCII words. */
  ck_assert_str_eq(TERMS("caf\xe9 au lait"), "caf au lait");
}
END_TEST

START_TEST(test_analyze_long_tokens_dropped) {
  char text[300];
  memset(text, 'x', 200);
  memcpy(text + 200, " short", 7);
  collected c = {{0}, 0, 0};
  ck_assert_int_eq(
      kidx__analyze(&std, text, strlen(text), 0, NULL, collect, &c), 0);
  /* The long word is dropped but keeps its position. */
  ck_assert_str_eq(c.text, "short@1[201,206)");
  /* A word of exactly the limit is kept. */
  char exact[KIDX_MAX_TOKEN_BYTES + 1];
  memset(exact, 'q', KIDX_MAX_TOKEN_BYTES);
  exact[KIDX_MAX_TOKEN_BYTES] = 0;
  ck_assert_uint_eq(strlen(terms(exact, KIDX_MAX_TOKEN_BYTES)),
                    KIDX_MAX_TOKEN_BYTES);
  ck_assert_str_eq(terms(exact, KIDX_MAX_TOKEN_BYTES - 1),
                   exact + 1); /* same letters, one fewer */
}
END_TEST

START_TEST(test_analyze_unicode_case_folding) {
  /* Full case folding: one character may become several. */
  ck_assert_str_eq(TERMS_WITH(&fold, "Stra\xc3\x9f"
                                     "e STRASSE"),
                   "strasse strasse");
  ck_assert_str_eq(TERMS_WITH(&fold, "\xef\xac\x81nance"), "finance"); /* ﬁ */
  /* Greek: capital and final sigma fold to σ; tonos is removed. */
  ck_assert_str_eq(TERMS_WITH(&fold,
                              "\xce\x9f\xce\x94\xce\x8c\xce\xa3 "
                              "\xe1\xbd\x81\xce\xb4\xe1\xbd\xb9\xcf\x82"),
                   "\xce\xbf\xce\xb4\xce\xbf\xcf\x83 "
                   "\xce\xbf\xce\xb4\xce\xbf\xcf\x83");
  /* Cyrillic: МОСКВА -> москва; Armenian ԵՎ -> եվ */
  ck_assert_str_eq(
      TERMS_WITH(&fold, "\xd0\x9c\xd0\x9e\xd0\xa1\xd0\x9a\xd0\x92\xd0\x90"),
      "\xd0\xbc\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0");
  ck_assert_str_eq(TERMS_WITH(&fold, "\xd4\xb5\xd5\x8e"), "\xd5\xa5\xd5\xbe");
}
END_TEST

START_TEST(test_analyze_diacritics) {
  /* Ünïcödé -> unicode */
  ck_assert_str_eq(TERMS_WITH(&fold, "\xc3\x9c"
                                     "n\xc3\xaf"
                                     "c\xc3\xb6"
                                     "d\xc3\xa9"),
                   "unicode");
  /* café precomposed (NFC) and with a combining acute (NFD) are equal,
   * with and without diacritic folding. */
  ck_assert_str_eq(TERMS_WITH(&fold, "caf\xc3\xa9 cafe\xcc\x81 cafe"),
                   "cafe cafe cafe");
  ck_assert_str_eq(TERMS_WITH(&nofold, "caf\xc3\xa9 cafe\xcc\x81"),
                   "caf\xc3\xa9 caf\xc3\xa9");
  /* Cyrillic й is a letter of its own, not и with a mark: kept, in NFC
   * whether written precomposed or as и + U+0306. */
  ck_assert_str_eq(TERMS_WITH(&fold, "\xd0\xb9 \xd0\xb8\xcc\x86 \xd0\xb8"),
                   "\xd0\xb9 \xd0\xb9 \xd0\xb8");
  /* ё stays ё */
  ck_assert_str_eq(TERMS_WITH(&fold, "\xd0\x81\xd0\xbb\xd0\xba\xd0\xb0"),
                   "\xd1\x91\xd0\xbb\xd0\xba\xd0\xb0");
}
END_TEST

START_TEST(test_analyze_scripts_make_words) {
  /* Arabic (كتاب عربي), Hebrew (שלום עולם), Devanagari with its vowel signs
   * (हिन्दी भाषा), Hangul (한국어 사전): words of letters and marks,
   * separated by spaces. */
  ck_assert_str_eq(
      TERMS_WITH(&fold, "\xd9\x83\xd8\xaa\xd8\xa7\xd8\xa8 "
                        "\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a"),
      "\xd9\x83\xd8\xaa\xd8\xa7\xd8\xa8 \xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a");
  ck_assert_str_eq(TERMS_WITH(&fold, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d, "
                                     "\xd7\xa2\xd7\x95\xd7\x9c\xd7\x9d!"),
                   "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d "
                   "\xd7\xa2\xd7\x95\xd7\x9c\xd7\x9d");
  ck_assert_str_eq(
      TERMS_WITH(&fold, "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d"
                        "\xe0\xa4\xa6\xe0\xa5\x80 \xe0\xa4\xad\xe0\xa4\xbe"
                        "\xe0\xa4\xb7\xe0\xa4\xbe"),
      "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6"
      "\xe0\xa5\x80 \xe0\xa4\xad\xe0\xa4\xbe\xe0\xa4\xb7\xe0\xa4\xbe");
  ck_assert_str_eq(TERMS_WITH(&fold, "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 "
                                     "\xec\x82\xac\xec\xa0\x84"),
                   "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 "
                   "\xec\x82\xac\xec\xa0\x84");
  /* Devanagari digits are digits: ३.५ keeps its point. */
  ck_assert_str_eq(TERMS_WITH(&fold, "\xe0\xa5\xa9.\xe0\xa5\xab"),
                   "\xe0\xa5\xa9.\xe0\xa5\xab");
  /* Symbols and emoji separate words. */
  ck_assert_str_eq(TERMS_WITH(&fold, "a\xe2\x82\xac"
                                     "b\xf0\x9f\x98\x80"
                                     "c\xc2\xa9"
                                     "d"),
                   "a b c d");
}
END_TEST

START_TEST(test_analyze_hyphens_split) {
  ck_assert_str_eq(TERMS_WITH(&fold, "state-of-the-art e-mail"),
                   "state of the art e mail");
}
END_TEST

START_TEST(test_analyze_numbers_keep_decimal_points) {
  ck_assert_str_eq(TERMS("version 3.5 costs 1,000 dollars."),
                   "version 3.5 cost 1,000 dollar");
  /* Only between digits: sentence ends and lists still split. */
  ck_assert_str_eq(TERMS("end.Start a,b 3. 4"), "end start a b 3 4");
  ck_assert_str_eq(TERMS("192.168.0.1"), "192.168.0.1");
}
END_TEST

START_TEST(test_analyze_urls_and_emails_split) {
  ck_assert_str_eq(TERMS("mail press@kaspersky.com now"),
                   "mail press kasperski com now");
  ck_assert_str_eq(TERMS("https://www.example.org/news/2024?id=7"),
                   "https www exampl org news 2024 id 7");
}
END_TEST

START_TEST(test_analyze_no_stemming) {
  const kidx__analyzer plain = {KIDX__AN_FOLD_DIACRITICS, NULL};
  ck_assert_str_eq(TERMS_WITH(&plain, "Running Operations centres"),
                   "running operations centres");
}
END_TEST

START_TEST(test_analyze_stop_words_keep_positions) {
  const kidx__analyzer stop = {KIDX__AN_STEM_ENGLISH | KIDX__AN_STOP_ENGLISH |
                                   KIDX__AN_FOLD_DIACRITICS,
                               NULL};
  /* "the" and "and" are removed but still count as positions; stop words
   * are matched before stemming, so "doing" goes but "does" -> too. */
  ck_assert_str_eq(tokens_with(&stop, "The cat and the hat"),
                   "cat@1[4,7) hat@4[16,19)");
  ck_assert_str_eq(TERMS_WITH(&stop, "Don't THEY know"), "know");
  ck_assert_str_eq(TERMS_WITH(&stop, "us them"), "us");
}
END_TEST

START_TEST(test_analyze_stopword_list) {
  ck_assert_uint_eq(kidx__stopword_english_count(), 174);
  for (size_t i = 1; i < kidx__stopword_english_count(); i++) {
    const char *a = kidx__stopword_english_at(i - 1);
    const char *b = kidx__stopword_english_at(i);
    ck_assert_msg(strcmp(a, b) < 0, "list not sorted at %s %s", a, b);
    ck_assert(kidx__stopword_english(b, strlen(b)));
  }
  ck_assert_ptr_null(kidx__stopword_english_at(174));
  ck_assert(kidx__stopword_english("the", 3));
  ck_assert(!kidx__stopword_english("them!", 5));
  ck_assert(!kidx__stopword_english("cat", 3));
  ck_assert(!kidx__stopword_english("", 0));
}
END_TEST

START_TEST(test_analyze_cjk_bigrams) {
  /* 中华人民共和国: overlapping bigrams, one position per character. */
  ck_assert_str_eq(
      tokens_with(&std, "\xe4\xb8\xad\xe5\x8d\x8e\xe4\xba\xba"),
      "\xe4\xb8\xad\xe5\x8d\x8e@0[0,6) \xe5\x8d\x8e\xe4\xba\xba@1[3,9)");
  /* A lone ideograph is a unigram; Latin next to it is a separate word. */
  ck_assert_str_eq(tokens_with(&std, "iPhone\xe6\x89\x8b x"),
                   "iphon@0[0,6) \xe6\x89\x8b@1[6,9) x@2[10,11)");
  /* Katakana and Hiragana too: テスト */
  ck_assert_str_eq(TERMS("\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88"),
                   "\xe3\x83\x86\xe3\x82\xb9 \xe3\x82\xb9\xe3\x83\x88");
}
END_TEST

static int stop_at_two(void *ctx, const kidx__token *tok) {
  (void)tok;
  int *n = ctx;
  return ++*n == 2 ? 77 : 0;
}

START_TEST(test_analyze_callback_stops) {
  int n = 0;
  ck_assert_int_eq(kidx__analyze(&std, "a b c d", 7, 0, NULL, stop_at_two, &n),
                   77);
  ck_assert_int_eq(n, 2);
}
END_TEST

/* Counts tokens that break the contract (plain checks: ck_assert in a hot
 * loop costs a message to the Check parent per call). */
typedef struct fuzz_ctx {
  size_t len, bad;
} fuzz_ctx;

static int count_only(void *ctx, const kidx__token *tok) {
  fuzz_ctx *f = ctx;
  if (tok->len < 1 || tok->len > KIDX_MAX_TOKEN_BYTES ||
      tok->start >= tok->end || tok->end > f->len)
    f->bad++;
  return 0;
}

START_TEST(test_analyze_random_bytes) {
  /* Random byte strings (biased towards UTF-8 lead and continuation bytes)
   * must never crash, and every token must lie inside the input. */
  uint64_t x = 0x9E3779B97F4A7C15ull;
  char buf[512];
  for (int round = 0; round < 20000; round++) {
    size_t len = (size_t)(round % 512);
    for (size_t i = 0; i < len; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      uint8_t b = (uint8_t)x;
      if ((x >> 8) % 3 == 0)
        b = (uint8_t)(0x80 | (b & 0x3f));
      else if ((x >> 8) % 3 == 1)
        b = (uint8_t)('a' + b % 26);
      buf[i] = (char)b;
    }
    fuzz_ctx f = {len, 0};
    if (kidx__analyze(&std, buf, len, 0, NULL, count_only, &f) != 0 || f.bad)
      ck_abort_msg("round %d: %zu bad tokens", round, f.bad);
  }
}
END_TEST

static Suite *analyze_suite(void) {
  Suite *s = suite_create("analyze");
  TCase *core = tcase_create("Core");
  tcase_add_test(core, test_analyze_positions_and_offsets);
  tcase_add_test(core, test_analyze_case_folding_and_stemming);
  tcase_add_test(core, test_analyze_apostrophes);
  tcase_add_test(core, test_analyze_separators);
  tcase_add_test(core, test_analyze_callback_stops);
  tcase_add_test(core, test_analyze_numbers_keep_decimal_points);
  tcase_add_test(core, test_analyze_unicode_case_folding);
  tcase_add_test(core, test_analyze_diacritics);
  tcase_add_test(core, test_analyze_scripts_make_words);
  tcase_add_test(core, test_analyze_hyphens_split);
  tcase_add_test(core, test_analyze_urls_and_emails_split);
  tcase_add_test(core, test_analyze_no_stemming);
  tcase_add_test(core, test_analyze_stop_words_keep_positions);
  tcase_add_test(core, test_analyze_stopword_list);
  tcase_add_test(core, test_analyze_cjk_bigrams);
  suite_add_tcase(s, core);
  TCase *limits = tcase_create("Limits");
  tcase_add_test(limits, test_analyze_invalid_utf8_splits_without_loss);
  tcase_add_test(limits, test_analyze_long_tokens_dropped);
  tcase_add_test(limits, test_analyze_random_bytes);
  suite_add_tcase(s, limits);
  return s;
}

int main(void) {
  return tu_run_suite(analyze_suite());
}
