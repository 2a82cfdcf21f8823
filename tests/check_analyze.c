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

static const char *terms(const char *text, size_t len) {
  static collected c;
  memset(&c, 0, sizeof c);
  ck_assert_int_eq(kidx__analyze(text, len, 0, NULL, collect_terms, &c), 0);
  return c.text;
}
#define TERMS(s) terms(s, sizeof(s) - 1)

START_TEST(test_analyze_positions_and_offsets) {
  collected c = {{0}, 0, 0};
  const char *text = "Hello, World!  3 Apples";
  uint32_t next;
  ck_assert_int_eq(kidx__analyze(text, strlen(text), 10, &next, collect, &c),
                   0);
  ck_assert_str_eq(c.text,
                   "hello@10[0,5) world@11[7,12) 3@12[15,16) appl@13[17,23)");
  ck_assert_uint_eq(next, 14);
}
END_TEST

START_TEST(test_analyze_case_folding_and_stemming) {
  ck_assert_str_eq(TERMS("TRANSPARENCY Centres operations"),
                   "transpar centr oper");
  ck_assert_str_eq(TERMS("Running runs RUNNER"), "run run runner");
  ck_assert_str_eq(TERMS("CAF\xc3\x89 na\xc3\xafve"),
                   "caf\xc3\xa9 na\xc3\xafv");
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
  ck_assert_int_eq(kidx__analyze(text, strlen(text), 0, NULL, collect, &c), 0);
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

static int stop_at_two(void *ctx, const kidx__token *tok) {
  (void)tok;
  int *n = ctx;
  return ++*n == 2 ? 77 : 0;
}

START_TEST(test_analyze_callback_stops) {
  int n = 0;
  ck_assert_int_eq(kidx__analyze("a b c d", 7, 0, NULL, stop_at_two, &n), 77);
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
    if (kidx__analyze(buf, len, 0, NULL, count_only, &f) != 0 || f.bad)
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
