/*
 * check_cli.c -- end-to-end tests of the kidx command-line tool.
 *
 * Each test runs the built binary (KIDX_BIN) in a temporary directory of
 * its own, created by the fixture and removed afterwards, so tests are
 * independent and can run in any order.  What is checked is what a user
 * or a script sees: exit statuses, stdout (parsed as JSON where it is
 * JSON) and the exact one-line error messages on stderr.
 */
#include "kidx.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ID_2024   "corpus/2024-kaspersky-winds-down-us-operations.txt"
#define ID_MARKET "corpus/2017-kaspersky-remains-in-us-market.txt"
#define ID_FBI    "corpus/2017-kaspersky-responds-to-fbi-claims.txt"

/* Copy of line i (0-based) of s without its newline; "" past the end. */
static char *line_at(const char *s, size_t i) {
  for (; i > 0 && *s; i--) {
    const char *nl = strchr(s, '\n');
    s = nl ? nl + 1 : s + strlen(s);
  }
  const char *nl = strchr(s, '\n');
  size_t len = nl ? (size_t)(nl - s) : strlen(s);
  char *out = malloc(len + 1);
  memcpy(out, s, len);
  out[len] = '\0';
  return out;
}

/* ---- reading the JSON lines kidx prints ---- */

/* The raw text of the value of "key" in a one-line JSON object (a string
 * value keeps its quotes and escapes), malloc'ed; NULL if absent.  Good
 * enough for kidx's flat objects, where values hold no unescaped quote. */
static char *json_raw(const char *line, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(line, pat);
  if (!p)
    return NULL;
  p += strlen(pat);
  const char *e = p;
  if (*e == '"') {
    for (e++; *e && *e != '"'; e++)
      if (*e == '\\' && e[1])
        e++;
    if (*e == '"')
      e++;
  } else {
    while (*e && *e != ',' && *e != '}')
      e++;
  }
  char *out = malloc((size_t)(e - p) + 1);
  memcpy(out, p, (size_t)(e - p));
  out[e - p] = '\0';
  return out;
}

/* The string value of "key", unescaped (\" and \\ only: enough for
 * ids). */
static char *json_str(const char *line, const char *key) {
  char *raw = json_raw(line, key);
  ck_assert_msg(raw && raw[0] == '"', "no string \"%s\" in: %s", key, line);
  char *out = malloc(strlen(raw) + 1), *o = out;
  for (const char *p = raw + 1; *p && *p != '"'; p++) {
    if (*p == '\\' && p[1])
      p++;
    *o++ = *p;
  }
  *o = '\0';
  free(raw);
  return out;
}

static double json_num(const char *line, const char *key) {
  char *raw = json_raw(line, key);
  ck_assert_msg(raw != NULL, "no key \"%s\" in: %s", key, line);
  char *end;
  double v = strtod(raw, &end);
  ck_assert_msg(end != raw && *end == '\0', "\"%s\" is not a number in: %s",
                key, line);
  free(raw);
  return v;
}

/* Checks the analysis keys of a stats --json line, and that they come
 * after the older keys. */
static void assert_json_analyzer(const char *line, const char *stemmer,
                                 const char *stopwords,
                                 const char *diacritics) {
  const char *keys[] = {"stemmer", "stopwords", "diacritics"};
  const char *want[] = {stemmer, stopwords, diacritics};
  for (size_t i = 0; i < 3; i++) {
    char *v = json_str(line, keys[i]);
    ck_assert_msg(strcmp(v, want[i]) == 0, "\"%s\" is \"%s\", expected \"%s\"",
                  keys[i], v, want[i]);
    free(v);
  }
  const char *bytes = strstr(line, "\"bytes\":"),
             *stem = strstr(line, "\"stemmer\":");
  ck_assert_msg(bytes && stem && bytes < stem, "key order in: %s", line);
}

/* True if s is entirely well-formed UTF-8. */
static int valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i], need, lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      lo = c == 0xE0 ? 0xA0 : 0x80;
      hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      lo = c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
      return 0;
    }
    if (i + need >= n)
      return 0;
    for (unsigned k = 1; k <= need; k++) {
      unsigned b = s[i + k];
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF))
        return 0;
    }
    i += need + 1;
  }
  return 1;
}

/* Checks that every line of out is a JSON object with the hit keys, in
 * valid UTF-8 with no raw control characters. */
static void assert_json_hits(const char *out) {
  ck_assert_msg(valid_utf8((const unsigned char *)out, strlen(out)),
                "output is not valid UTF-8:\n%s", out);
  size_t n = tu_count_lines(out);
  ck_assert_uint_gt(n, 0);
  for (size_t i = 0; i < n; i++) {
    char *line = line_at(out, i);
    size_t len = strlen(line);
    ck_assert_msg(len >= 2 && line[0] == '{' && line[len - 1] == '}',
                  "not a JSON object: %s", line);
    for (size_t k = 0; k < len; k++)
      ck_assert_msg((unsigned char)line[k] >= 0x20, "raw control byte in: %s",
                    line);
    ck_assert_double_eq(json_num(line, "rank"), (double)(i + 1));
    char *id = json_str(line, "id"), *title = json_str(line, "title");
    ck_assert_uint_gt(strlen(id), 0);
    double score = json_num(line, "score");
    ck_assert_msg(score > 0, "score %g not positive in: %s", score, line);
    free(id);
    free(title);
    free(line);
  }
}

/* ---- files ---- */

static void write_text(const char *name, const char *text) {
  tu_write_file(tu_work_dir(), name, text, strlen(text));
}

static int exists(const char *name) {
  char *p = tu_work_path(name);
  struct stat st;
  int ok = lstat(p, &st) == 0;
  free(p);
  return ok;
}

static void make_symlink(const char *target, const char *name) {
  char *p = tu_work_path(name);
  ck_assert_msg(symlink(target, p) == 0, "symlink %s: %s", p, strerror(errno));
  free(p);
}

/* Fixed-seed generator (xorshift64*), so "random" inputs are the same on
 * every run and a failure can be replayed. */
static uint64_t next_random(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * UINT64_C(2685821657736338717);
}

static void index_corpus(void) {
  tu_copy_corpus(tu_work_dir());
  tu_run r = KIDX("index", "corpus/");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
}

/* The id of the first hit of a --json search. */
static char *top_id(tu_run *r) {
  char *line = line_at(r->out, 0);
  char *id = json_str(line, "id");
  free(line);
  return id;
}

/* Finds the largest regular file under dir (recursively) into best. */
static void largest_file(const char *dir, char *best, size_t cap,
                         off_t *best_size) {
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "opendir %s: %s", dir, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    if (S_ISDIR(st.st_mode))
      largest_file(path, best, cap, best_size);
    else if (S_ISREG(st.st_mode) && st.st_size > *best_size) {
      *best_size = st.st_size;
      snprintf(best, cap, "%s", path);
    }
  }
  closedir(d);
}

/* ====================================================================== */
/* Indexing and ranking on the bundled corpus                             */
/* ====================================================================== */

START_TEST(test_index_summary) {
  tu_copy_corpus(tu_work_dir());
  tu_run r = KIDX("index", "corpus/");
  ASSERT_STATUS(r, 0);
  /* 3658 + 4094 + 8004 bytes, in decimal KB. */
  ck_assert_msg(strncmp(r.out, "indexed 3 documents (15.8 KB) in ", 33) == 0,
                "unexpected summary: %s", r.out);
  ck_assert_ptr_nonnull(strstr(r.out, " MB/s"));
  ck_assert_ptr_nonnull(
      strstr(r.out, " MB/s: 3 new, 0 changed, 0 unchanged, 0 removed\n"));
  ck_assert_uint_eq(tu_count_lines(r.out), 1);
  /* stderr is not a terminal here: no progress display, no noise. */
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

static const struct {
  const char *query, *top;
} TOP_HITS[] = {
    {"transparency centre", ID_2024},
    {"Best Buy", ID_MARKET},
    {"FBI briefings", ID_FBI},
};

START_TEST(test_top_hit) {
  index_corpus();
  tu_run r = KIDX("search", "--json", TOP_HITS[_i].query);
  ASSERT_STATUS(r, 0);
  assert_json_hits(r.out);
  char *id = top_id(&r);
  ck_assert_str_eq(id, TOP_HITS[_i].top);
  free(id);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_top_hit_bm25) {
  index_corpus();
  tu_run r = KIDX("search", "--rank", "bm25", "--json", TOP_HITS[_i].query);
  ASSERT_STATUS(r, 0);
  assert_json_hits(r.out);
  char *id = top_id(&r);
  ck_assert_str_eq(id, TOP_HITS[_i].top);
  free(id);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_query_words_joined) {
  /* Several QUERY arguments form one query, as one quoted argument does. */
  index_corpus();
  tu_run a = KIDX("search", "--json", "transparency", "centre");
  tu_run b = KIDX("search", "--json", "transparency centre");
  ASSERT_STATUS(a, 0);
  ck_assert_str_eq(a.out, b.out);
  tu_run_free(&a);
  tu_run_free(&b);
}
END_TEST

START_TEST(test_json_keys) {
  index_corpus();
  tu_run r = KIDX("search", "--json", "transparency", "centre");
  ASSERT_STATUS(r, 0);
  char *line = line_at(r.out, 0);
  ck_assert_double_eq(json_num(line, "rank"), 1.0);
  ck_assert_double_gt(json_num(line, "score"), 0.0);
  char *title = json_str(line, "title");
  ck_assert_str_eq(title, "Russia's Kaspersky to wind down US operations");
  free(title);
  free(line);
  /* --json prints hits only: no summary line. */
  ck_assert_ptr_null(strstr(r.out, "matching"));
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

START_TEST(test_human_output) {
  index_corpus();
  tu_run r = KIDX("search", "--snippet-words", "0", "transparency", "centre");
  ASSERT_STATUS(r, 0);
  char *first = line_at(r.out, 0);
  ck_assert_msg(strncmp(first, "  1  ", 5) == 0, "first line: %s", first);
  ck_assert_ptr_nonnull(strstr(first, ID_2024));
  ck_assert_ptr_nonnull(
      strstr(first, "Russia's Kaspersky to wind down US operations"));
  /* Score with four decimals right after the rank. */
  double score;
  ck_assert_int_eq(sscanf(first, " 1 %lf", &score), 1);
  ck_assert_double_gt(score, 0.0);
  size_t n = tu_count_lines(r.out);
  char *last = line_at(r.out, n - 1);
  unsigned shown, total;
  ck_assert_msg(sscanf(last, "%u of %u matching document", &shown, &total) == 2,
                "last line: %s", last);
  ck_assert_uint_eq(shown, n - 1);
  ck_assert_uint_ge(total, shown);
  free(first);
  free(last);
  tu_run_free(&r);

  /* By default each hit has its passage on the next line, indented under
   * the score, with the matched words in brackets (stdout is not a
   * terminal here) and "…" where the body goes on. */
  r = KIDX("search", "transparency", "centre");
  ASSERT_STATUS(r, 0);
  char *snippet = line_at(r.out, 1);
  ck_assert_msg(strncmp(snippet, "     ", 5) == 0 && snippet[5] != ' ',
                "snippet line: %s", snippet);
  ck_assert_ptr_nonnull(strstr(snippet, "[transparency]"));
  ck_assert_ptr_nonnull(strstr(snippet, "[centre]"));
  ck_assert_ptr_nonnull(strstr(snippet, "\xE2\x80\xA6"));
  ck_assert_ptr_null(strchr(snippet, '\033'));
  free(snippet);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_no_match) {
  index_corpus();
  tu_run r = KIDX("search", "zzyzx quux");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  r = KIDX("search", "--json", "zzyzx", "quux");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "");
  tu_run_free(&r);
}
END_TEST

START_TEST(test_limit_and_offset) {
  index_corpus();
  /* "Kaspersky" is in all three articles. */
  tu_run all = KIDX("search", "--json", "Kaspersky");
  ASSERT_STATUS(all, 0);
  ck_assert_uint_eq(tu_count_lines(all.out), 3);
  assert_json_hits(all.out);
  char *first = line_at(all.out, 0), *second = line_at(all.out, 1),
       *third = line_at(all.out, 2);

  tu_run r = KIDX("search", "--json", "-k", "1", "Kaspersky");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 1);
  char *line = line_at(r.out, 0);
  ck_assert_str_eq(line, first);
  free(line);
  tu_run_free(&r);

  /* --offset 1 starts at the second hit of the unpaged list, ranked 2. */
  r = KIDX("search", "--json", "--offset", "1", "Kaspersky");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 2);
  line = line_at(r.out, 0);
  ck_assert_str_eq(line, second);
  ck_assert_double_eq(json_num(line, "rank"), 2.0);
  free(line);
  tu_run_free(&r);

  /* Option spellings: --limit=1, -k1, --offset=2, after the query. */
  r = KIDX("search", "Kaspersky", "--json", "--limit=1", "--offset=2");
  ASSERT_STATUS(r, 0);
  line = line_at(r.out, 0);
  ck_assert_str_eq(line, third);
  ck_assert_uint_eq(tu_count_lines(r.out), 1);
  free(line);
  tu_run_free(&r);
  r = KIDX("search", "-k1", "--json", "Kaspersky");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 1);
  tu_run_free(&r);

  /* Past the last hit: nothing, status 1. */
  r = KIDX("search", "--offset", "3", "Kaspersky");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "");
  tu_run_free(&r);

  /* Human output, paged: ranks continue from the offset. */
  r = KIDX("search", "--offset", "1", "-k", "1", "Kaspersky");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strncmp(r.out, "  2  ", 5) == 0, "got: %s", r.out);
  tu_run_free(&r);

  /* Huge values must not be taken as allocation sizes. */
  r = KIDX("search", "--json", "-k", "18446744073709551615", "Kaspersky");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, all.out);
  tu_run_free(&r);
  r = KIDX("search", "-k", "18446744073709551615", "--offset",
           "18446744073709551615", "Kaspersky");
  ASSERT_STATUS(r, 1);
  tu_run_free(&r);

  free(first);
  free(second);
  free(third);
  tu_run_free(&all);
}
END_TEST

START_TEST(test_rank_models) {
  index_corpus();
  tu_run tfidf = KIDX("search", "--json", "Kaspersky", "US");
  tu_run deflt = KIDX("search", "--json", "--rank=tfidf", "Kaspersky", "US");
  tu_run bm25 = KIDX("search", "--json", "--rank", "bm25", "Kaspersky", "US");
  ASSERT_STATUS(tfidf, 0);
  ASSERT_STATUS(bm25, 0);
  ck_assert_str_eq(tfidf.out, deflt.out);
  assert_json_hits(bm25.out);
  ck_assert_uint_eq(tu_count_lines(bm25.out), tu_count_lines(tfidf.out));
  /* Different models give different scores. */
  ck_assert_str_ne(tfidf.out, bm25.out);
  tu_run_free(&tfidf);
  tu_run_free(&deflt);
  tu_run_free(&bm25);
}
END_TEST

START_TEST(test_deterministic_order) {
  /* Files added in another order give byte-identical results. */
  index_corpus();
  tu_run a = KIDX("search", "--json", "Kaspersky", "Lab", "US");
  ASSERT_STATUS(a, 0);
  tu_run r = KIDX("index", "-i", "other", ID_FBI, ID_2024, ID_MARKET);
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  tu_run b = KIDX("search", "-i", "other", "--json", "Kaspersky", "Lab", "US");
  ASSERT_STATUS(b, 0);
  ck_assert_str_eq(a.out, b.out);
  tu_run_free(&a);
  tu_run_free(&b);
}
END_TEST

/* ====================================================================== */
/* Choosing the index                                                     */
/* ====================================================================== */

START_TEST(test_missing_index) {
  tu_run r = KIDX("search", "transparency", "centre");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(
      r.err, "kidx: no index at .kidx (run 'kidx index corpus/' first)\n");
  tu_run_free(&r);
  r = KIDX("stats");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(
      r.err, "kidx: no index at .kidx (run 'kidx index corpus/' first)\n");
  tu_run_free(&r);
  r = KIDX("search", "-i", "elsewhere", "x");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(
      r.err, "kidx: no index at elsewhere (run 'kidx index corpus/' first)\n");
  tu_run_free(&r);
  /* Searching must not create anything. */
  ck_assert(!exists(".kidx"));
  ck_assert(!exists("elsewhere"));
}
END_TEST

START_TEST(test_index_option_and_env) {
  tu_copy_corpus(tu_work_dir());
  tu_run r = KIDX("index", "-i", "idx1", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert(exists("idx1"));
  ck_assert(!exists(".kidx"));

  const char *forms[][3] = {{"-i", "idx1", NULL},
                            {"--index", "idx1", NULL},
                            {"--index=idx1", NULL, NULL},
                            {"-iidx1", NULL, NULL}};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    r = forms[i][1]
            ? KIDX("search", forms[i][0], forms[i][1], "--json", "Best", "Buy")
            : KIDX("search", forms[i][0], "--json", "Best", "Buy");
    ASSERT_STATUS(r, 0);
    char *id = top_id(&r);
    /* "corpus" without a slash: ids are joined with exactly one. */
    ck_assert_str_eq(id, ID_MARKET);
    free(id);
    tu_run_free(&r);
  }
  /* -i before the command works too. */
  r = KIDX("-i", "idx1", "search", "Best", "Buy");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);

  /* Without -i: .kidx, which does not exist. */
  r = KIDX("search", "Best", "Buy");
  ASSERT_STATUS(r, 3);
  tu_run_free(&r);

  const char *env[] = {"KIDX_INDEX=idx1", NULL};
  r = KIDX_ENV(env, "search", "--json", "Best", "Buy");
  ASSERT_STATUS(r, 0);
  char *id = top_id(&r);
  ck_assert_str_eq(id, ID_MARKET);
  free(id);
  tu_run_free(&r);
  r = KIDX_ENV(env, "stats", "--json");
  ASSERT_STATUS(r, 0);
  ck_assert_double_eq(json_num(r.out, "documents"), 3.0);
  tu_run_free(&r);

  /* -i wins over KIDX_INDEX. */
  r = KIDX_ENV(env, "search", "-i", "nothing-here", "Best", "Buy");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(
      r.err,
      "kidx: no index at nothing-here (run 'kidx index corpus/' first)\n");
  tu_run_free(&r);

  /* An empty KIDX_INDEX means unset. */
  const char *empty[] = {"KIDX_INDEX=", NULL};
  r = KIDX_ENV(empty, "search", "Best", "Buy");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(
      r.err, "kidx: no index at .kidx (run 'kidx index corpus/' first)\n");
  tu_run_free(&r);
}
END_TEST

/* ====================================================================== */
/* Hostile and unusual input                                              */
/* ====================================================================== */

START_TEST(test_random_bytes) {
  enum { SIZE = 64 * 1024 };
  unsigned char *data = malloc(SIZE);
  uint64_t state = UINT64_C(0x9E3779B97F4A7C15);
  for (size_t i = 0; i < SIZE; i++)
    data[i] = (unsigned char)(next_random(&state) >> 56);
  /* With this seed there is a NUL early on: the file is binary. */
  ck_assert_ptr_nonnull(memchr(data, 0, 8192));
  tu_write_file(tu_work_dir(), "in/random.bin", data, SIZE);
  /* The same noise without NUL bytes is "text" and reaches the library's
   * tokenizer: a harder test of it than a skipped file. */
  for (size_t i = 0; i < SIZE; i++)
    if (data[i] == 0)
      data[i] = 0x80;
  tu_write_file(tu_work_dir(), "in/noise.txt", data, SIZE);
  free(data);
  write_text("in/words.txt", "Plain title\nwombats and platypuses\n");

  tu_run r = KIDX("index", "in");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err,
                   "kidx: warning: skipping binary file in/random.bin\n");
  ck_assert_msg(strncmp(r.out, "indexed 2 documents", 19) == 0, "got: %s",
                r.out);
  ck_assert_ptr_nonnull(strstr(r.out, "skipped 1 file"));
  tu_run_free(&r);

  r = KIDX("stats", "--json");
  ASSERT_STATUS(r, 0);
  ck_assert_double_eq(json_num(r.out, "documents"), 2.0);
  tu_run_free(&r);
  r = KIDX("search", "--json", "wombats");
  ASSERT_STATUS(r, 0);
  char *id = top_id(&r);
  ck_assert_str_eq(id, "in/words.txt");
  free(id);
  tu_run_free(&r);
  /* Whatever the noise indexed as, searching it prints valid JSON. */
  r = KIDX("search", "--json", "-k", "100", "a", "e", "x", "q", "z");
  ck_assert_msg(r.status == 0 || r.status == 1, "status %d: %s", r.status,
                r.err);
  if (r.status == 0)
    assert_json_hits(r.out);
  tu_run_free(&r);
}
END_TEST

/* Latin-1, stray continuation bytes, overlong forms, truncated sequences,
 * surrogates and out-of-range code points, between ordinary words. */
static const char INVALID_UTF8[] =
    "Caf\xe9 \"quoted\" back\\slash \x01"
    "ctl \xc3\xa9t\xc3\xa9 \x80 end\n"
    "Latin-1: na\xefve r\xe9sum\xe9 \xbfqu\xe9?\n"
    "stray continuation: \x80\x81\xbf wombat\x80\x80\n"
    "overlong: \xc0\xaf \xe0\x80\xaf \xf0\x80\x80\xaf slash\n"
    "truncated: \xe2\x82 \xf0\x9f\x98 platypus\xe2\x82\n"
    "surrogate: \xed\xa0\x80 beyond: \xf4\x90\x80\x80 \xf8\x88\x80\x80\x80 "
    "\xfe\xff\n"
    "and a normal sentence about kangaroos at the end\n";

START_TEST(test_invalid_utf8) {
  write_text("in/invalid.txt", INVALID_UTF8);
  tu_run r = KIDX("index", "in/");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "");
  ck_assert_msg(strncmp(r.out, "indexed 1 document ", 19) == 0, "got: %s",
                r.out);
  tu_run_free(&r);

  /* Words next to invalid bytes, and after them, are all searchable. */
  const char *words[] = {"wombat", "platypus", "kangaroos", "slash"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    r = KIDX("search", "--json", words[i]);
    ASSERT_STATUS(r, 0);
    assert_json_hits(r.out);
    char *id = top_id(&r);
    ck_assert_str_eq(id, "in/invalid.txt");
    free(id);
    tu_run_free(&r);
  }

  /* The title keeps its valid characters, escapes quote, backslash and
   * control, and turns each invalid byte into U+FFFD. */
  r = KIDX("search", "--json", "kangaroos");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strstr(r.out, "\"title\":\"Caf\\ufffd \\\"quoted\\\" "
                              "back\\\\slash \\u0001ctl \xc3\xa9t\xc3\xa9 "
                              "\\ufffd end\",") != NULL,
                "got: %s", r.out);
  tu_run_free(&r);

  /* Human output: no raw control bytes reach the terminal. */
  r = KIDX("search", "kangaroos");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_null(strchr(r.out, '\x01'));
  ck_assert(valid_utf8((const unsigned char *)r.out, strlen(r.out)));
  tu_run_free(&r);
}
END_TEST

START_TEST(test_titles) {
  /* Byte order mark, blank lines and surrounding white space are not
   * part of the title; the body is the rest. */
  write_text("in/bom.txt",
             "\xEF\xBB\xBF\n  \t\r\n   My  Title\t \r\nbody of the bom file\n");
  /* A very long first line: the title is cut, every word stays
   * searchable. */
  char longline[4096] = "";
  for (int i = 0; strlen(longline) < 3000; i++) {
    char word[32];
    snprintf(word, sizeof word, "filler%d ", i);
    strcat(longline, word);
  }
  strcat(longline, "zebrafinal\nsecond line\n");
  write_text("in/long.txt", longline);
  /* A long line without spaces, of 2-byte characters: cut at a character
   * boundary. */
  char accents[2000] = "";
  for (int i = 0; i < 600; i++)
    strcat(accents, "\xc3\xa9");
  strcat(accents, "\nandbody\n");
  write_text("in/accents.txt", accents);
  write_text("in/empty.txt", "");
  write_text("in/blank.txt", "\n\n   \n");

  tu_run r = KIDX("index", "in");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strncmp(r.out, "indexed 5 documents", 19) == 0, "got: %s",
                r.out);
  tu_run_free(&r);

  r = KIDX("search", "--json", "bom");
  ASSERT_STATUS(r, 0);
  char *title = json_str(r.out, "title");
  ck_assert_str_eq(title, "My  Title");
  free(title);
  tu_run_free(&r);

  r = KIDX("search", "--json", "zebrafinal");
  ASSERT_STATUS(r, 0);
  title = json_str(r.out, "title");
  ck_assert_uint_le(strlen(title), 512);
  ck_assert_uint_gt(strlen(title), 400);
  ck_assert_msg(strncmp(title, "filler0 filler1 ", 16) == 0, "title: %s",
                title);
  /* Cut between words, not inside one. */
  ck_assert_int_ne(title[strlen(title) - 1], ' ');
  ck_assert_ptr_null(strstr(title, "zebrafinal"));
  free(title);
  tu_run_free(&r);
  r = KIDX("search", "--json", "filler200");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);

  r = KIDX("search", "--json", "andbody");
  ASSERT_STATUS(r, 0);
  assert_json_hits(r.out); /* valid UTF-8: the cut split no character */
  title = json_str(r.out, "title");
  ck_assert_uint_le(strlen(title), 512);
  ck_assert_uint_ge(strlen(title), 510);
  free(title);
  tu_run_free(&r);

  r = KIDX("stats", "--json");
  ck_assert_double_eq(json_num(r.out, "documents"), 5.0);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_unreadable_input) {
  /* A file without read permission; root reads anything, so as nobody. */
  if (!tu_unprivileged("unreadable_input"))
    return;
  write_text("in/a.txt", "Alpha\naardvark\n");
  write_text("in/c.txt", "Gamma\ncapybara\n");
  write_text("in/b.txt", "Beta\nbadger\n");
  char *b = tu_work_path("in/b.txt");
  ck_assert_int_eq(chmod(b, 0), 0);
  free(b);
  tu_run r = KIDX("index", "in");
  ASSERT_STATUS(r, 4);
  ck_assert_str_eq(r.err,
                   "kidx: warning: cannot read in/b.txt: Permission denied\n");
  ck_assert_msg(strncmp(r.out, "indexed 2 documents", 19) == 0, "got: %s",
                r.out);
  tu_run_free(&r);
  /* The readable files were committed. */
  r = KIDX("search", "--json", "capybara");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("search", "--json", "aardvark");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_empty_and_repeated) {
  /* An empty directory makes a valid, empty index. */
  char *empty = tu_work_path("empty");
  ck_assert_int_eq(mkdir(empty, 0755), 0);
  free(empty);
  tu_run r = KIDX("index", "empty");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strncmp(r.out, "indexed 0 documents (0 bytes)", 29) == 0,
                "got: %s", r.out);
  tu_run_free(&r);
  r = KIDX("search", "anything");
  ASSERT_STATUS(r, 1);
  tu_run_free(&r);
  r = KIDX("stats", "--json");
  ASSERT_STATUS(r, 0);
  ck_assert_double_eq(json_num(r.out, "documents"), 0.0);
  tu_run_free(&r);
  /* A file named twice is read once. */
  tu_copy_corpus(tu_work_dir());
  r = KIDX("index", "corpus", "corpus/", ID_FBI, "corpus");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strncmp(r.out, "indexed 3 documents (15.8 KB)", 29) == 0,
                "got: %s", r.out);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_missing_path) {
  tu_copy_corpus(tu_work_dir());
  tu_run r = KIDX("index", "corpus", "nope");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err,
                   "kidx: cannot read nope: No such file or directory\n");
  tu_run_free(&r);
  /* Checked before anything was indexed: no index was even created. */
  ck_assert(!exists(".kidx"));
}
END_TEST

START_TEST(test_walk_skips) {
  write_text("in/a.txt", "Alpha\naardvark\n");
  write_text("in/.git/config", "Hidden\naardvark\n");
  write_text("in/.hidden.txt", "Hidden\naardvark\n");
  write_text("in/sub/deeper/d.txt", "Delta\naardvark\n");
  make_symlink(".", "in/loop");         /* a cycle: not followed */
  make_symlink("a.txt", "in/link.txt"); /* not followed either */
  /* An index inside the tree being indexed, not hidden.  Its base is in/,
   * the directory holding it, so ids are relative to in/. */
  tu_run r = KIDX("index", "-i", "in/idx", "in");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("index", "-i", "in/idx", "in"); /* now in/idx exists */
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_null(strstr(r.err, "in/idx"));
  tu_run_free(&r);
  r = KIDX("search", "-i", "in/idx", "--json", "aardvark");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 2);
  ck_assert_ptr_nonnull(strstr(r.out, "\"id\":\"a.txt\""));
  ck_assert_ptr_nonnull(strstr(r.out, "\"id\":\"sub/deeper/d.txt\""));
  tu_run_free(&r);
  /* A hidden file named on the command line is indexed. */
  r = KIDX("index", "-i", "in/idx", "in/.hidden.txt");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("stats", "-i", "in/idx", "--json");
  ck_assert_double_eq(json_num(r.out, "documents"), 3.0);
  tu_run_free(&r);
}
END_TEST

/* ====================================================================== */
/* Damaged index                                                          */
/* ====================================================================== */

/* Where to flip a byte in the largest index file: the middle (the case
 * the issue names) and positions in headers and trailers. */
static off_t flip_position(int i, off_t size) {
  switch (i) {
  case 0:
    return size / 2;
  case 1:
    return 0;
  case 2:
    return 4;
  case 3:
    return 8;
  case 4:
    return 12;
  case 5:
    return size / 4;
  case 6:
    return size * 3 / 4;
  case 7:
    return size - 8;
  default:
    return size - 1;
  }
}
#define FLIP_POSITIONS 9

START_TEST(test_flipped_byte) {
  index_corpus();
  char *dir = tu_work_path(".kidx"), path[4096] = "";
  off_t size = 0;
  largest_file(dir, path, sizeof path, &size);
  ck_assert_int_gt(size, 16);
  size_t len;
  char *data = tu_read_file(path, &len);
  off_t pos = flip_position(_i, size);
  data[pos] = (char)~data[pos];
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  fclose(f);
  free(data);

  /* Pages are verified when read: a search that does not read the
   * damaged page answers, one that does fails (never a wrong answer, as
   * that page is never used); `kidx check` reads everything. */
  tu_run r = KIDX("search", "transparency", "centre");
  ck_assert_msg(r.status == 3 || r.status == 0,
                "flipping byte %lld of %s (%lld bytes): status %d\n%s%s",
                (long long)pos, path, (long long)size, r.status, r.out, r.err);
  if (r.status == 3) {
    ck_assert_str_eq(r.out, "");
    tu_assert_one_line(r.err, "kidx: ");
  }
  tu_run_free(&r);
  r = KIDX("check");
  ck_assert_msg(r.status == 3, "flipping byte %lld: check status %d\n%s%s",
                (long long)pos, r.status, r.out, r.err);
  tu_assert_one_line(r.err, "kidx: ");
  tu_run_free(&r);
  free(dir);
}
END_TEST

START_TEST(test_flipped_byte_message) {
  /* The middle of the largest file is data under a checksum: the index is
   * there but unusable. */
  index_corpus();
  char *dir = tu_work_path(".kidx"), path[4096] = "";
  off_t size = 0;
  largest_file(dir, path, sizeof path, &size);
  size_t len;
  char *data = tu_read_file(path, &len);
  data[len / 2] ^= 0x01;
  FILE *f = fopen(path, "wb");
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  fclose(f);
  free(data);
  tu_run r = KIDX("search", "transparency", "centre");
  ASSERT_STATUS(r, 3);
  tu_assert_one_line(r.err, "kidx: index at .kidx is unusable: ");
  tu_run_free(&r);
  free(dir);
}
END_TEST

START_TEST(test_truncated_index) {
  index_corpus();
  char *dir = tu_work_path(".kidx"), path[4096] = "";
  off_t size = 0;
  largest_file(dir, path, sizeof path, &size);
  ck_assert_int_eq(truncate(path, _i == 0 ? size / 2 : 0), 0);
  tu_run r = KIDX("search", "transparency", "centre");
  ASSERT_STATUS(r, 3);
  tu_assert_one_line(r.err, "kidx: ");
  tu_run_free(&r);
  free(dir);
}
END_TEST

START_TEST(test_lock_busy) {
  tu_copy_corpus(tu_work_dir());
  /* This test process holds the writer lock; kidx runs in another. */
  char *dir = tu_work_path(".kidx");
  kidx_writer *w = NULL;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  tu_run r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 3);
  tu_assert_one_line(r.err, "kidx: index at .kidx is locked by another writer");
  ck_assert_str_eq(r.out, "");
  tu_run_free(&r);
  kidx_writer_close(w);
  r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  free(dir);
}
END_TEST

/* ====================================================================== */
/* Updating                                                               */
/* ====================================================================== */

START_TEST(test_reindex_replaces) {
  index_corpus();
  tu_run r = KIDX("index", "corpus/");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("stats", "--json");
  ASSERT_STATUS(r, 0);
  ck_assert_double_eq(json_num(r.out, "documents"), 3.0);
  tu_run_free(&r);

  /* A changed file replaces its old version. */
  write_text("notes.txt", "Notes\nfirstversionword\n");
  r = KIDX("index", "notes.txt");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  write_text("notes.txt", "Notes again\nsecondversionword\n");
  r = KIDX("index", "notes.txt");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("search", "firstversionword");
  ASSERT_STATUS(r, 1);
  tu_run_free(&r);
  r = KIDX("search", "--json", "secondversionword");
  ASSERT_STATUS(r, 0);
  char *title = json_str(r.out, "title");
  ck_assert_str_eq(title, "Notes again");
  free(title);
  tu_run_free(&r);
  r = KIDX("stats", "--json");
  ck_assert_double_eq(json_num(r.out, "documents"), 4.0);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_stats) {
  index_corpus();
  tu_run r = KIDX("stats", "--json");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 1);
  ck_assert_double_eq(json_num(r.out, "documents"), 3.0);
  double terms = json_num(r.out, "terms"), tokens = json_num(r.out, "tokens");
  ck_assert_double_gt(terms, 100.0);
  ck_assert_double_gt(tokens, terms);
  ck_assert_double_gt(json_num(r.out, "bytes"), 0.0);
  /* The analysis of an index made without options: the defaults. */
  assert_json_analyzer(r.out, "english", "none", "on");
  /* One run, one commit, one segment. */
  ck_assert_double_eq(json_num(r.out, "segments"), 1.0);
  ck_assert_double_eq(json_num(r.out, "deleted"), 0.0);
  ck_assert_double_eq(json_num(r.out, "generation"), 1.0);
  /* The keys added with segments come next, in this order, then those
   * added with roots. */
  const char *order[] = {
      "\"diacritics\":", "\"stored_bytes\":", "\"segments\":",
      "\"deleted\":",    "\"generation\":",   "\"roots\":"};
  for (size_t i = 1; i < sizeof order / sizeof order[0]; i++) {
    const char *a = strstr(r.out, order[i - 1]), *b = strstr(r.out, order[i]);
    ck_assert_msg(a && b && a < b, "%s before %s in: %s", order[i - 1],
                  order[i], r.out);
  }
  ck_assert_msg(strstr(r.out, ",\"generation\":1,\"roots\":[{\"id\":"
                              "\"corpus\",\"hidden\":false,\"no_ignore\":"
                              "false}],\"base\":\"") != NULL,
                "\"generation\", \"roots\", \"base\" are not last in: %s",
                r.out);
  tu_run_free(&r);

  r = KIDX("stats");
  ASSERT_STATUS(r, 0);
  const char *keys[] = {"\ndocuments ",
                        "\nterms ",
                        "\ntokens ",
                        "\nbytes ",
                        "\nsegments              1\n",
                        "\ndeleted               0  (",
                        "\ngeneration            1  (commits)\n",
                        "\nstemmer    english\n",
                        "\nstopwords  none\n",
                        "\ndiacritics on\n"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    ck_assert_msg(strstr(r.out, keys[i]) != NULL, "no '%s' in:\n%s",
                  keys[i] + 1, r.out);
  tu_run_free(&r);
}
END_TEST

/* ====================================================================== */
/* Analysis                                                               */
/* ====================================================================== */

#define KASPERSKY "Kaspersky's transparency centres"
/* Its terms with the default analysis: Porter2 stems, byte offsets. */
#define KASPERSKY_TERMS                                                        \
  "0\t0\t11\tkasperski\n1\t12\t24\ttranspar\n2\t25\t32\tcentr\n"

/* Runs kidx and asserts status 0, exactly `out` on stdout, nothing on
 * stderr. */
#define ASSERT_KIDX_OUT(want, ...)                                             \
  do {                                                                         \
    tu_run r_ = KIDX(__VA_ARGS__);                                             \
    ASSERT_STATUS(r_, 0);                                                      \
    ck_assert_str_eq(r_.out, want);                                            \
    ck_assert_str_eq(r_.err, "");                                              \
    tu_run_free(&r_);                                                          \
  } while (0)

START_TEST(test_analyze_default) {
  ASSERT_KIDX_OUT(KASPERSKY_TERMS, "analyze", KASPERSKY);
  /* Several TEXT arguments are one text, joined with single spaces: the
   * offsets are into that text. */
  ASSERT_KIDX_OUT(KASPERSKY_TERMS, "analyze", "Kaspersky's", "transparency",
                  "centres");
  /* Options may follow the text; "--" lets a word start with '-'. */
  ASSERT_KIDX_OUT(KASPERSKY_TERMS, "analyze", KASPERSKY, "--stem", "english");
  ASSERT_KIDX_OUT("0\t1\t5\tword\n", "analyze", "--", "-word");
  /* No index is needed, and none is made. */
  ck_assert(!exists(".kidx"));
}
END_TEST

START_TEST(test_analyze_no_stem) {
  /* The folded words, the apostrophe inside a word kept. */
  const char *want =
      "0\t0\t11\tkaspersky's\n1\t12\t24\ttransparency\n2\t25\t32\tcentres\n";
  ASSERT_KIDX_OUT(want, "analyze", "--stem", "none", KASPERSKY);
  ASSERT_KIDX_OUT(want, "analyze", "--stem=none", KASPERSKY);
  ASSERT_KIDX_OUT("0\t0\t5\tmixed\n1\t6\t10\tcase\n", "analyze", "--stem",
                  "none", "MiXeD CASE");
}
END_TEST

START_TEST(test_analyze_stopwords) {
  /* Removed stop words still take their positions. */
  ASSERT_KIDX_OUT("1\t4\t7\tcat\n4\t16\t19\that\n", "analyze", "--stopwords",
                  "english", "the cat and the hat");
  ASSERT_KIDX_OUT("0\t0\t3\tthe\n1\t4\t7\tcat\n2\t8\t11\tand\n3\t12\t15\tthe\n"
                  "4\t16\t19\that\n",
                  "analyze", "the cat and the hat");
  ASSERT_KIDX_OUT("0\t0\t3\tthe\n1\t4\t7\tcat\n2\t8\t11\tand\n3\t12\t15\tthe\n"
                  "4\t16\t19\that\n",
                  "analyze", "--stopwords", "none", "the cat and the hat");
}
END_TEST

START_TEST(test_analyze_no_terms) {
  /* Nothing to print is status 1 and no output, as a search without hits
   * is. */
  const char *texts[] = {"", "   ", "!!! ???", "the and of"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    tu_run r = KIDX("analyze", "--stopwords", "english", texts[i]);
    ASSERT_STATUS(r, 1);
    ck_assert_str_eq(r.out, "");
    ck_assert_str_eq(r.err, "");
    tu_run_free(&r);
  }
  /* Empty standard input (tu_exec gives /dev/null). */
  tu_run r = KIDX("analyze");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

START_TEST(test_analyze_stdin) {
  const char text[] = KASPERSKY "\n";
  tu_run r = KIDX_IN(text, strlen(text), "analyze");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, KASPERSKY_TERMS);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  r = KIDX_IN(text, strlen(text), "analyze", "--stem", "none");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "0\t0\t11\tkaspersky's\n1\t12\t24\ttransparency\n"
                          "2\t25\t32\tcentres\n");
  tu_run_free(&r);
  /* TEXT arguments win: standard input is not read. */
  r = KIDX_IN(text, strlen(text), "analyze", "other");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "0\t0\t5\tother\n");
  tu_run_free(&r);
}
END_TEST

START_TEST(test_analyze_stdin_bytes) {
  /* A NUL byte and invalid UTF-8 separate words; the offsets are those of
   * the bytes read. */
  static const char text[] = "alpha\0beta \xff\xfe gamma\x80"
                             "delta\xc3";
  tu_run r = KIDX_IN(text, sizeof text - 1, "analyze", "--stem", "none");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(
      r.out,
      "0\t0\t5\talpha\n1\t6\t10\tbeta\n2\t14\t19\tgamma\n3\t20\t25\tdelta\n");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);

  /* Random bytes: any terms at all, each line well formed, the offsets in
   * range and increasing, the output valid UTF-8. */
  enum { SIZE = 256 * 1024 };
  char *noise = malloc(SIZE);
  uint64_t state = UINT64_C(0x2545F4914F6CDD1D);
  for (size_t i = 0; i < SIZE; i++)
    noise[i] = (char)(next_random(&state) >> 56);
  r = KIDX_IN(noise, SIZE, "analyze");
  free(noise);
  ck_assert_msg(r.status == 0 || r.status == 1, "status %d: %s", r.status,
                r.err);
  ck_assert_str_eq(r.err, "");
  ck_assert(valid_utf8((const unsigned char *)r.out, strlen(r.out)));
  size_t n = tu_count_lines(r.out), last_end = 0;
  long last_pos = -1;
  for (size_t i = 0; i < n; i++) {
    char *line = line_at(r.out, i);
    unsigned long pos, start, end;
    int used = 0;
    ck_assert_msg(
        sscanf(line, "%lu\t%lu\t%lu\t%n", &pos, &start, &end, &used) == 3 &&
            used > 0,
        "bad line: %s", line);
    ck_assert_msg(line[used] != '\0' && strchr(line + used, '\t') == NULL,
                  "bad term in line: %s", line);
    ck_assert_int_gt((long)pos, last_pos);
    ck_assert_uint_ge(start, last_end);
    ck_assert_uint_lt(start, end);
    ck_assert_uint_le(end, SIZE);
    last_pos = (long)pos;
    last_end = end;
    free(line);
  }
  tu_run_free(&r);
}
END_TEST

START_TEST(test_analyze_large_stdin) {
  /* Far more than one read() of standard input. */
  enum { WORDS = 300000 };
  size_t cap = (size_t)WORDS * 12, len = 0;
  char *text = malloc(cap);
  size_t last_start = 0;
  for (int i = 0; i < WORDS; i++) {
    last_start = len;
    len += (size_t)snprintf(text + len, cap - len, "w%d ", i);
  }
  tu_run r = KIDX_IN(text, len, "analyze", "--stem", "none");
  free(text);
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), WORDS);
  char *first = line_at(r.out, 0), *last = line_at(r.out, WORDS - 1);
  ck_assert_str_eq(first, "0\t0\t2\tw0");
  char want[64];
  snprintf(want, sizeof want, "%d\t%zu\t%zu\tw%d", WORDS - 1, last_start,
           len - 1, WORDS - 1);
  ck_assert_str_eq(last, want);
  free(first);
  free(last);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_analyze_index) {
  write_text("in/a.txt", "Running\nThe runners were running\n");
  tu_run r = KIDX("index", "--stem", "none", "in");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  /* Named with -i (before or after the command) or $KIDX_INDEX: the
   * index's analysis, without stemming. */
  ASSERT_KIDX_OUT("0\t0\t7\trunning\n", "analyze", "-i", ".kidx", "running");
  ASSERT_KIDX_OUT("0\t0\t7\trunning\n", "-i", ".kidx", "analyze", "running");
  const char *env[] = {"KIDX_INDEX=.kidx", NULL};
  r = KIDX_ENV(env, "analyze", "running");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "0\t0\t7\trunning\n");
  tu_run_free(&r);
  /* An option overrides the index's setting. */
  ASSERT_KIDX_OUT("0\t0\t7\trun\n", "analyze", "-i", ".kidx", "--stem",
                  "english", "running");
  /* Not named: the defaults, even with a .kidx here. */
  ASSERT_KIDX_OUT("0\t0\t7\trun\n", "analyze", "running");
  /* Queries go through the index's analysis too: "run" is not a term of
   * this index, "running" is. */
  r = KIDX("search", "run");
  ASSERT_STATUS(r, 1);
  tu_run_free(&r);
  r = KIDX("search", "--json", "Running");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);

  /* A named index must exist; analyze creates nothing. */
  r = KIDX("analyze", "-i", "missing", "running");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(
      r.err, "kidx: no index at missing (run 'kidx index corpus/' first)\n");
  tu_run_free(&r);
  ck_assert(!exists("missing"));
}
END_TEST

START_TEST(test_stopword_index) {
  write_text("in/a.txt", "The cat\nThe cat sat on the mat\n");
  tu_run r = KIDX("index", "--stopwords", "english", "in");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  /* A query of stop words only has nothing to search for. */
  r = KIDX("search", "the");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.out, "");
  tu_assert_one_line(r.err, "kidx: query error: ");
  tu_run_free(&r);
  r = KIDX("search", "--json", "the", "cat");
  ASSERT_STATUS(r, 0);
  char *id = top_id(&r);
  ck_assert_str_eq(id, "in/a.txt");
  free(id);
  tu_run_free(&r);
}
END_TEST

/* The exact message for an analysis option that differs from an existing
 * index's. */
static const struct {
  const char *argv[7]; /* NULL-terminated */
  const char *err;
} MISMATCHES[] = {
    {{"--stem", "none"},
     "kidx: index at .kidx was created with --stem english; it cannot be "
     "changed to --stem none (delete the index to rebuild it)\n"},
    {{"--stopwords", "english"},
     "kidx: index at .kidx was created with --stopwords none; it cannot be "
     "changed to --stopwords english (delete the index to rebuild it)\n"},
    {{"--diacritics=off"},
     "kidx: index at .kidx was created with --diacritics on; it cannot be "
     "changed to --diacritics off (delete the index to rebuild it)\n"},
    {{"--stem", "english", "--stopwords", "english", "--diacritics", "off"},
     "kidx: index at .kidx was created with --stopwords none --diacritics "
     "on; it cannot be changed to --stopwords english --diacritics off "
     "(delete the index to rebuild it)\n"},
};

START_TEST(test_analyzer_mismatch) {
  index_corpus();
  tu_run before = KIDX("stats", "--json");
  ASSERT_STATUS(before, 0);
  const char *argv[12] = {KIDX_BIN, "index"};
  size_t n = 2;
  for (size_t i = 0; MISMATCHES[_i].argv[i]; i++)
    argv[n++] = MISMATCHES[_i].argv[i];
  argv[n++] = "corpus/";
  argv[n] = NULL;
  tu_run r = tu_exec(tu_work_dir(), argv, NULL);
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, MISMATCHES[_i].err);
  tu_run_free(&r);
  /* Nothing was indexed or changed. */
  tu_run after = KIDX("stats", "--json");
  ck_assert_str_eq(after.out, before.out);
  tu_run_free(&after);
  tu_run_free(&before);
}
END_TEST

START_TEST(test_analyzer_mismatch_dir) {
  /* The message names the index given with -i. */
  tu_copy_corpus(tu_work_dir());
  tu_run r = KIDX("index", "-i", "idx", "--stem", "none", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("index", "-i", "idx", "--stem", "english", "corpus");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err, "kidx: index at idx was created with --stem none; "
                          "it cannot be changed to --stem english (delete "
                          "the index to rebuild it)\n");
  tu_run_free(&r);
}
END_TEST

START_TEST(test_analyzer_kept) {
  write_text("in/a.txt", "The cat\nThe cat sat on the mat\n");
  tu_run r = KIDX("index", "--stopwords", "english", "in");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  /* Options equal to the index's settings are accepted; one option given
   * leaves the others as the index has them, not as the defaults. */
  const char *same[][2] = {{"--stopwords", "english"},
                           {"--stem", "english"},
                           {"--diacritics", "on"}};
  for (size_t i = 0; i < 3; i++) {
    r = KIDX("index", same[i][0], same[i][1], "in");
    ASSERT_STATUS(r, 0);
    ck_assert_str_eq(r.err, "");
    tu_run_free(&r);
  }
  /* No option: the index keeps its own. */
  r = KIDX("index", "in");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("stats", "--json");
  ASSERT_STATUS(r, 0);
  assert_json_analyzer(r.out, "english", "english", "on");
  ck_assert_double_eq(json_num(r.out, "documents"), 1.0);
  tu_run_free(&r);
  r = KIDX("index", "--stopwords", "none", "in");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err, "kidx: index at .kidx was created with --stopwords "
                          "english; it cannot be changed to --stopwords none "
                          "(delete the index to rebuild it)\n");
  tu_run_free(&r);
}
END_TEST

START_TEST(test_stats_analyzer) {
  write_text("in/a.txt", "Title\nbody\n");
  tu_run r = KIDX("index", "--stem", "none", "--stopwords", "english",
                  "--diacritics", "off", "in");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("stats", "--json");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 1);
  assert_json_analyzer(r.out, "none", "english", "off");
  tu_run_free(&r);
  r = KIDX("stats");
  ASSERT_STATUS(r, 0);
  const char *lines[] = {"\nstemmer    none\n", "\nstopwords  english\n",
                         "\ndiacritics off\n"};
  for (size_t i = 0; i < 3; i++)
    ck_assert_msg(strstr(r.out, lines[i]) != NULL, "no '%s' in:\n%s",
                  lines[i] + 1, r.out);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_analyze_diacritics) {
  /* Needs the Unicode diacritic folding of issue 3. */
  ASSERT_KIDX_OUT("0\t0\t5\tcafe\n", "analyze", "Caf\xc3\xa9");
  ASSERT_KIDX_OUT("0\t0\t5\tcaf\xc3\xa9\n", "analyze", "--diacritics", "off",
                  "Caf\xc3\xa9");
}
END_TEST

/* ====================================================================== */
/* Command line                                                           */
/* ====================================================================== */

START_TEST(test_version) {
  tu_run r = KIDX("--version");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "kidx " KIDX_EXPECT_VERSION "\n");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

START_TEST(test_help) {
  tu_run r = KIDX("--help");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "Exit status"));
  const char *statuses[] = {"\n  0 ", "\n  1 ", "\n  2 ", "\n  3 ", "\n  4 "};
  for (size_t i = 0; i < 5; i++)
    ck_assert_msg(strstr(r.out, statuses[i]) != NULL,
                  "exit status%s not documented", statuses[i]);
  ck_assert_ptr_nonnull(strstr(r.out, "KIDX_INDEX"));
  ck_assert_ptr_nonnull(strstr(r.out, "\n  analyze "));
  ck_assert_ptr_nonnull(strstr(r.out, "\n  delete "));
  ck_assert_ptr_nonnull(strstr(r.out, "\n  check "));
  ck_assert_ptr_nonnull(strstr(r.out, "\n  optimize "));
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);

  const char *cmds[] = {"index",  "search", "analyze", "stats",
                        "delete", "check",  "optimize"};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    r = KIDX(cmds[i], "--help");
    ASSERT_STATUS(r, 0);
    char usage[64];
    snprintf(usage, sizeof usage, "Usage: kidx %s", cmds[i]);
    ck_assert_msg(strncmp(r.out, usage, strlen(usage)) == 0, "got: %s", r.out);
    tu_run_free(&r);
    tu_run h = KIDX("help", cmds[i]);
    ASSERT_STATUS(h, 0);
    tu_run r2 = KIDX(cmds[i], "-h");
    ck_assert_str_eq(h.out, r2.out);
    tu_run_free(&h);
    tu_run_free(&r2);
  }
  r = KIDX("index", "--help");
  ck_assert_ptr_nonnull(strstr(r.out, "--ram-budget SIZE"));
  ck_assert_ptr_nonnull(strstr(r.out, "--merge-factor N"));
  tu_run_free(&r);
  r = KIDX("stats", "--help");
  ck_assert_ptr_nonnull(strstr(r.out, "\"generation\""));
  tu_run_free(&r);
  r = KIDX("search", "--help");
  ck_assert_ptr_nonnull(strstr(r.out, "--json"));
  ck_assert_ptr_nonnull(strstr(r.out, "--offset"));
  ck_assert_ptr_nonnull(strstr(r.out, "bm25"));
  tu_run_free(&r);
  /* The analysis options and their defaults, where they can be given. */
  const char *analysis[] = {"index", "analyze"};
  const char *documented[] = {
      "--stem",         "--stopwords",  "--diacritics", "english (default)",
      "none (default)", "on (default)", "created"};
  for (size_t i = 0; i < 2; i++) {
    r = KIDX(analysis[i], "--help");
    for (size_t k = 0; k < sizeof documented / sizeof documented[0]; k++)
      ck_assert_msg(strstr(r.out, documented[k]) != NULL,
                    "'%s' not in 'kidx %s --help'", documented[k], analysis[i]);
    tu_run_free(&r);
  }
}
END_TEST

/* Usage errors: status 2, nothing on stdout, exactly this on stderr. */
static const struct {
  const char *argv[8];
  const char *err;
} USAGE_ERRORS[] = {
    {{"search", "--foo", "x"},
     "kidx: unknown option '--foo' for 'search' (see 'kidx search --help')"},
    {{"search", "--foo=1", "x"},
     "kidx: unknown option '--foo' for 'search' (see 'kidx search --help')"},
    {{"search", "-z", "x"},
     "kidx: unknown option '-z' for 'search' (see 'kidx search --help')"},
    {{"stats", "-k", "3"},
     "kidx: unknown option '-k' for 'stats' (see 'kidx stats --help')"},
    {{"search", "-k", "abc", "x"},
     "kidx: -k expects a positive integer, got 'abc'"},
    {{"search", "--limit=0", "x"},
     "kidx: --limit expects a positive integer, got '0'"},
    {{"search", "-k", "-3", "x"},
     "kidx: -k expects a positive integer, got '-3'"},
    {{"search", "-k", "99999999999999999999999", "x"},
     "kidx: -k expects a positive integer, got '99999999999999999999999'"},
    {{"search", "--offset", "-1", "x"},
     "kidx: --offset expects a non-negative integer, got '-1'"},
    {{"search", "--rank", "bad", "x"},
     "kidx: --rank expects 'tfidf' or 'bm25', got 'bad'"},
    {{"search", "x", "-k"},
     "kidx: option '-k' needs a value (see 'kidx search --help')"},
    {{"search"}, "kidx: search needs a QUERY (see 'kidx search --help')"},
    {{"search", "--json=yes", "x"},
     "kidx: option '--json' takes no value (see 'kidx search --help')"},
    {{"index"},
     "kidx: index needs at least one PATH or --jsonl FILE (see 'kidx index "
     "--help')"},
    {{"index", "-i", "", "x"}, "kidx: -i expects a directory, got ''"},
    {{"stats", "extra"},
     "kidx: unexpected argument 'extra' for 'stats' (see 'kidx stats --help')"},
    {{"frobnicate"}, "kidx: unknown command 'frobnicate' (see 'kidx --help')"},
    {{"help", "frobnicate"},
     "kidx: unknown command 'frobnicate' (see 'kidx --help')"},
    {{"--bogus"}, "kidx: unknown option '--bogus' (see 'kidx --help')"},
    {{"analyze", "--stem", "porter", "x"},
     "kidx: --stem expects 'english' or 'none', got 'porter'"},
    {{"index", "--stopwords=french", "x"},
     "kidx: --stopwords expects 'english' or 'none', got 'french'"},
    {{"analyze", "--diacritics", "yes", "x"},
     "kidx: --diacritics expects 'on' or 'off', got 'yes'"},
    {{"index", "--stem", "", "x"},
     "kidx: --stem expects 'english' or 'none', got ''"},
    {{"index", "--diacritics", "ON", "x"},
     "kidx: --diacritics expects 'on' or 'off', got 'ON'"},
    {{"analyze", "x", "--stem"},
     "kidx: option '--stem' needs a value (see 'kidx analyze --help')"},
    {{"analyze", "-k", "3", "x"},
     "kidx: unknown option '-k' for 'analyze' (see 'kidx analyze --help')"},
    {{"search", "--stem", "none", "x"},
     "kidx: unknown option '--stem' for 'search' (see 'kidx search --help')"},
    {{NULL}, "kidx: no command given (see 'kidx --help')"},
    {{"search", "--k1", "x", "--rank", "bm25", "q"},
     "kidx: --k1 expects a number from 0 to 1e6, got 'x'"},
    {{"search", "--k1=inf", "q"},
     "kidx: --k1 expects a number from 0 to 1e6, got 'inf'"},
    {{"search", "--b", "1.5", "q"},
     "kidx: --b expects a number from 0 to 1, got '1.5'"},
    {{"search", "--title-weight", "-1", "q"},
     "kidx: --title-weight expects a number from 0 to 1e6, got '-1'"},
    {{"search", "--body-weight=nan", "q"},
     "kidx: --body-weight expects a number from 0 to 1e6, got 'nan'"},
    {{"search", "--body-weight", " 1", "q"},
     "kidx: --body-weight expects a number from 0 to 1e6, got ' 1'"},
    {{"search", "--highlight", "red", "q"},
     "kidx: --highlight expects 'bold', 'brackets' or 'none', got 'red'"},
    {{"search", "--snippet-words", "-1", "q"},
     "kidx: --snippet-words expects a non-negative integer, got '-1'"},
    {{"search", "--k1", "1", "q"},
     "kidx: --k1 and --b are parameters of BM25: add --rank bm25"},
    {{"search", "--b=0.5", "--rank", "tfidf", "q"},
     "kidx: --k1 and --b are parameters of BM25: add --rank bm25"},
    {{"search", "--title-weight", "0", "--body-weight", "0", "q"},
     "kidx: --title-weight and --body-weight cannot both be 0 (no word would "
     "count)"},
    {{"search", "--explain=yes", "q"},
     "kidx: option '--explain' takes no value (see 'kidx search --help')"},
    {{"search", "--batch", "queries.txt", "q"},
     "kidx: search takes QUERY arguments or --batch, not both (see 'kidx "
     "search --help')"},
    {{"search", "--batch", "missing.txt"},
     "kidx: cannot read missing.txt: No such file or directory"},
    {{"search", "--batch", ""},
     "kidx: --batch expects a file, or - for standard input, got ''"},
    {{"index", "--jsonl", "missing.jsonl"},
     "kidx: cannot read missing.jsonl: No such file or directory"},
    {{"index", "--jsonl", "-", "--jsonl", "-"},
     "kidx: --jsonl - (standard input) given twice"},
    {{"index", "--jsonl"},
     "kidx: option '--jsonl' needs a value (see 'kidx index --help')"},
    {{"search", "--all", "--stem", "none", "q"},
     "kidx: unknown option '--stem' for 'search' (see 'kidx search --help')"},
    {{"delete"},
     "kidx: delete needs at least one ID (see 'kidx delete --help')"},
    {{"check", "extra"},
     "kidx: unexpected argument 'extra' for 'check' (see 'kidx check --help')"},
    {{"index", "--prune", "--jsonl", "-"},
     "kidx: --prune needs at least one PATH to prune under (see 'kidx index "
     "--help')"},
    {{"index", "--prune=yes", "x"},
     "kidx: option '--prune' takes no value (see 'kidx index --help')"},
    {{"search", "--wait", "q"},
     "kidx: unknown option '--wait' for 'search' (see 'kidx search --help')"},
    {{"check", "--wait"},
     "kidx: unknown option '--wait' for 'check' (see 'kidx check --help')"},
    {{"index", "--ram-budget", "abc", "x"},
     "kidx: --ram-budget expects a size of at least 64K (bytes, or a number "
     "with K, M or G), got 'abc'"},
    {{"index", "--ram-budget=1K", "x"},
     "kidx: --ram-budget expects a size of at least 64K (bytes, or a number "
     "with K, M or G), got '1K'"},
    {{"index", "--ram-budget", "65535", "x"},
     "kidx: --ram-budget expects a size of at least 64K (bytes, or a number "
     "with K, M or G), got '65535'"},
    {{"index", "--ram-budget", "64KB", "x"},
     "kidx: --ram-budget expects a size of at least 64K (bytes, or a number "
     "with K, M or G), got '64KB'"},
    {{"index", "--ram-budget", "-64M", "x"},
     "kidx: --ram-budget expects a size of at least 64K (bytes, or a number "
     "with K, M or G), got '-64M'"},
    {{"index", "--ram-budget", "M", "x"},
     "kidx: --ram-budget expects a size of at least 64K (bytes, or a number "
     "with K, M or G), got 'M'"},
    {{"index", "--ram-budget", "99999999999999999G", "x"},
     "kidx: --ram-budget expects a size of at least 64K (bytes, or a number "
     "with K, M or G), got '99999999999999999G'"},
    {{"index", "x", "--ram-budget"},
     "kidx: option '--ram-budget' needs a value (see 'kidx index --help')"},
    {{"index", "--merge-factor", "1", "x"},
     "kidx: --merge-factor expects an integer from 2 to 1000, got '1'"},
    {{"index", "--merge-factor=1001", "x"},
     "kidx: --merge-factor expects an integer from 2 to 1000, got '1001'"},
    {{"index", "--merge-factor", "ten", "x"},
     "kidx: --merge-factor expects an integer from 2 to 1000, got 'ten'"},
    {{"index", "--merge-factor", "-10", "x"},
     "kidx: --merge-factor expects an integer from 2 to 1000, got '-10'"},
    {{"search", "--ram-budget", "1M", "q"},
     "kidx: unknown option '--ram-budget' for 'search' (see 'kidx search "
     "--help')"},
    {{"optimize", "extra"},
     "kidx: unexpected argument 'extra' for 'optimize' (see 'kidx optimize "
     "--help')"},
    {{"optimize", "--merge-factor", "2"},
     "kidx: unknown option '--merge-factor' for 'optimize' (see 'kidx "
     "optimize --help')"},
};

START_TEST(test_usage_error) {
  const char *argv[10] = {KIDX_BIN};
  size_t n = 1;
  for (size_t i = 0; USAGE_ERRORS[_i].argv[i]; i++)
    argv[n++] = USAGE_ERRORS[_i].argv[i];
  argv[n] = NULL;
  tu_run r = tu_exec(tu_work_dir(), argv, NULL);
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.out, "");
  char want[256];
  snprintf(want, sizeof want, "%s\n", USAGE_ERRORS[_i].err);
  ck_assert_str_eq(r.err, want);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_query_error) {
  index_corpus();
  /* Queries without a searchable word are query errors, not "no hits". */
  const char *queries[] = {"", "   ", "!!! ???"};
  for (size_t i = 0; i < 3; i++) {
    tu_run r = KIDX("search", queries[i]);
    ASSERT_STATUS(r, 2);
    ck_assert_str_eq(r.out, "");
    tu_assert_one_line(r.err, "kidx: query error: ");
    tu_run_free(&r);
  }
  /* After "--", a word starting with '-' reaches the query, where it
   * excludes the word. */
  tu_run r = KIDX("search", "--json", "--", "-fbi", "Kaspersky");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 2);
  ck_assert_ptr_null(strstr(r.out, ID_FBI));
  tu_run_free(&r);
  r = KIDX("search", "--json", "Kaspersky");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 3);
  tu_run_free(&r);
}
END_TEST

/* ====================================================================== */
/* The query language, snippets, explain, batch and JSON Lines            */
/* ====================================================================== */

/* A small corpus, as JSON Lines, whose answers can be worked out by hand:
 * "quick brown" in a, reversed in d, seven words apart in f; "fox" in
 * the title of h only. */
static const char OPS_JSONL[] =
    "{\"id\":\"a\",\"title\":\"One\",\"body\":\"quick brown fox\"}\n"
    "{\"id\":\"b\",\"title\":\"Two\",\"body\":\"quick red fox\"}\n"
    "{\"id\":\"c\",\"title\":\"Three\",\"body\":\"lazy brown dog\"}\n"
    "{\"id\":\"d\",\"title\":\"Four\",\"body\":\"brown quick fox\"}\n"
    "{\"id\":\"e\",\"title\":\"Five\",\"body\":\"red dog\"}\n"
    "{\"id\":\"f\",\"title\":\"Six\",\"body\":\"quick one two three four "
    "five six seven brown\"}\n"
    "{\"id\":\"g\",\"title\":\"Seven\",\"body\":\"quicksilver moon\"}\n"
    "{\"id\":\"h\",\"title\":\"Fox report\",\"body\":\"nothing here\"}\n";

/* Indexes JSON Lines text into the index "idx". */
static void index_jsonl_text(const char *text) {
  write_text("docs.jsonl", text);
  tu_run r = KIDX("index", "-i", "idx", "--jsonl", "docs.jsonl");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}

static int cmp_str(const void *a, const void *b) {
  const char *const *x = a, *const *y = b;
  return strcmp(*x, *y);
}

/* The ids of the hits of --json output, in rank order (or sorted, for
 * queries whose answer is a set), joined with spaces: "a d f". */
static char *hit_ids(const char *out, int sorted) {
  size_t n = tu_count_lines(out), len = 1;
  char **ids = calloc(n + 1, sizeof *ids);
  for (size_t i = 0; i < n; i++) {
    char *line = line_at(out, i);
    ids[i] = json_str(line, "id");
    len += strlen(ids[i]) + 1;
    free(line);
  }
  if (sorted)
    qsort(ids, n, sizeof *ids, cmp_str);
  char *joined = malloc(len);
  joined[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      strcat(joined, " ");
    strcat(joined, ids[i]);
    free(ids[i]);
  }
  free(ids);
  return joined;
}

/* Searches idx for query with the extra options (NULL-terminated, up to
 * 6) and returns the hit ids (see hit_ids); the status must be 0 or 1. */
static char *search_ids(int sorted, const char *query, ...) {
  const char *argv[20] = {KIDX_BIN, "search",          "-i",
                          "idx",    "--json",          "-k",
                          "100",    "--snippet-words", "0"};
  size_t n = 9;
  va_list ap;
  va_start(ap, query);
  for (const char *a = va_arg(ap, const char *); a;
       a = va_arg(ap, const char *)) {
    ck_assert_uint_lt(n, 16);
    argv[n++] = a;
  }
  va_end(ap);
  argv[n++] = "--";
  argv[n++] = query;
  argv[n] = NULL;
  tu_run r = tu_exec(tu_work_dir(), argv, NULL);
  ck_assert_msg(r.status == 0 || r.status == 1, "query '%s': status %d\n%s",
                query, r.status, r.err);
  ck_assert_str_eq(r.err, "");
  char *ids = hit_ids(r.out, sorted);
  tu_run_free(&r);
  return ids;
}

/* Asserts that both strings were found and a comes after b. */
#define ASSERT_AFTER(a, b)                                                     \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    ck_assert_ptr_nonnull(a_);                                                 \
    ck_assert_ptr_nonnull(b_);                                                 \
    ck_assert_msg(a_ > b_, "%s comes before %s", #a, #b);                      \
  } while (0)

#define ASSERT_IDS(want, sorted, query, ...)                                   \
  do {                                                                         \
    char *got_ = search_ids(sorted, query, __VA_ARGS__);                       \
    ck_assert_msg(strcmp(got_, want) == 0, "query '%s': got '%s', want '%s'",  \
                  query, got_, want);                                          \
    free(got_);                                                                \
  } while (0)

/* Each query with the set of documents it matches (ids sorted). */
static const struct {
  const char *query, *ids;
} OPERATOR_QUERIES[] = {
    {"quick", "a b d f"},
    {"quick AND brown", "a d f"},
    {"quick OR dog", "a b c d e f"},
    {"quick NOT red", "a d f"},
    {"quick -red", "a d f"},
    {"quick AND NOT red", "a d f"},
    /* AND binds tighter than OR, NOT tighter than AND. */
    {"fox OR dog AND red", "a b d e h"},
    {"(fox OR dog) AND red", "b e"},
    {"dog AND NOT red OR quick", "a b c d f"},
    {"dog AND NOT (red OR quick)", "c"},
    {"dog NOT (red OR lazy)", ""},
    /* With --any, words side by side are ORed below AND. */
    {"red dog AND lazy", "b c e"},
    /* Operators are upper case only: "and" is a word (in no document). */
    {"quick and brown", "a b c d f"},
    /* A phrase is the words in order, next to each other. */
    {"\"quick brown\"", "a"},
    {"\"brown quick\"", "d"},
    {"\"quick brown fox\"", "a"},
    /* NEAR: at most N other words between the first and the last, in
     * either order. */
    {"NEAR(quick brown, 7)", "a d f"},
    {"NEAR(quick brown, 6)", "a d"},
    {"NEAR(quick brown, 0)", "a d"},
    {"NEAR(quick brown)", "a d f"},
    /* Prefixes are not stemmed and take longer words too. */
    {"qui*", "a b d f g"},
    {"quicksil*", "g"},
    /* Field scope. */
    {"fox", "a b d h"},
    {"title:fox", "h"},
    {"body:fox", "a b d"},
    {"title:\"fox report\"", "h"},
    {"title:rep*", "h"},
};

START_TEST(test_operators) {
  index_jsonl_text(OPS_JSONL);
  for (size_t i = 0; i < sizeof OPERATOR_QUERIES / sizeof OPERATOR_QUERIES[0];
       i++)
    ASSERT_IDS(OPERATOR_QUERIES[i].ids, 1, OPERATOR_QUERIES[i].query,
               (const char *)NULL);
  /* --all: words side by side are ANDed, still below OR. */
  ASSERT_IDS("a d f", 1, "quick brown", "--all", (const char *)NULL);
  ASSERT_IDS("c e", 1, "red dog OR lazy", "--all", (const char *)NULL);
  ASSERT_IDS("a b c d f", 1, "quick brown", "--all", "--any",
             (const char *)NULL);
}
END_TEST

START_TEST(test_ranked_order) {
  index_jsonl_text(OPS_JSONL);
  /* Documents with both words first; a and d tie (same words, same
   * lengths) and are ordered by id; f has both but is longer; b and c
   * have one word each and tie too. */
  ASSERT_IDS("a d f b c", 0, "quick brown", (const char *)NULL);
  ASSERT_IDS("a d f b c", 0, "quick brown", "--rank", "bm25",
             (const char *)NULL);
  /* A title match weighs twice a body match by default... */
  ASSERT_IDS("h a b d", 0, "fox", (const char *)NULL);
  /* ...and the weights are settable. */
  ASSERT_IDS("a b d h", 0, "fox", "--title-weight", "0.1", (const char *)NULL);
  ASSERT_IDS("h a b d", 0, "fox", "--body-weight", "0.5", (const char *)NULL);
}
END_TEST

START_TEST(test_all_any_counts) {
  index_jsonl_text(OPS_JSONL);
  const char *modes[] = {"--any", "--all"};
  const unsigned want[] = {5, 3};
  for (size_t i = 0; i < 2; i++) {
    /* --count: every match counted. */
    tu_run r = KIDX("search", "-i", "idx", modes[i], "-k", "1", "--count",
                    "quick brown");
    ASSERT_STATUS(r, 0);
    size_t n = tu_count_lines(r.out);
    char *last = line_at(r.out, n - 1);
    unsigned shown, total;
    ck_assert_msg(sscanf(last, "%u of %u matching documents", &shown, &total) ==
                      2,
                  "last line: %s", last);
    ck_assert_uint_eq(shown, 1);
    ck_assert_uint_eq(total, want[i]);
    free(last);
    tu_run_free(&r);
    /* Without it, documents that cannot be the best one may be skipped:
     * then the line says so. */
    r = KIDX("search", "-i", "idx", modes[i], "-k", "1", "quick brown");
    ASSERT_STATUS(r, 0);
    last = line_at(r.out, tu_count_lines(r.out) - 1);
    if (sscanf(last, "%u of %u matching documents", &shown, &total) != 2) {
      ck_assert_msg(sscanf(last, "%u of at least %u matching documents", &shown,
                           &total) == 2,
                    "last line: %s", last);
      ck_assert_uint_lt(total, want[i]);
    } else {
      ck_assert_uint_eq(total, want[i]);
    }
    ck_assert_uint_ge(total, 1);
    free(last);
    tu_run_free(&r);
  }
}
END_TEST

START_TEST(test_ties) {
  /* Identical documents score the same and come out in id order, however
   * they were added. */
  const char *names[] = {"in/z.txt", "in/a.txt", "in/m.txt"};
  for (size_t i = 0; i < 3; i++)
    write_text(names[i], "Same title\nexactly the same wombat text\n");
  tu_run r = KIDX("index", "in/z.txt", "in/m.txt", "in/a.txt");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("search", "--json", "wombat");
  ASSERT_STATUS(r, 0);
  char *ids = hit_ids(r.out, 0);
  ck_assert_str_eq(ids, "in/a.txt in/m.txt in/z.txt");
  free(ids);
  char *l0 = line_at(r.out, 0), *l2 = line_at(r.out, 2);
  ck_assert_double_eq(json_num(l0, "score"), json_num(l2, "score"));
  free(l0);
  free(l2);
  tu_run_free(&r);
  /* Paging through ties is stable too. */
  r = KIDX("search", "--json", "--offset", "1", "-k", "1", "wombat");
  ASSERT_STATUS(r, 0);
  ids = hit_ids(r.out, 0);
  ck_assert_str_eq(ids, "in/m.txt");
  free(ids);
  tu_run_free(&r);
}
END_TEST

/* Malformed queries and the column (in characters) each error is at. */
static const struct {
  const char *query;
  unsigned column;
} BAD_QUERIES[] = {
    {"(fox", 1},
    {"fox)", 4},
    {"\"quick brown", 1},
    {"\"fox\" \"", 7},
    {"NEAR(quick brown", 1},
    {"NEAR(quick)", 1},
    {"NEAR(quick brown, 1001)", 19},
    {"NEAR quick", 1},
    {"AND fox", 1},
    {"fox AND", 5},
    {"OR fox", 1},
    {"fox AND OR dog", 5},
    {"NOT", 1},
    {"fox NOT", 5},
    {"fox -", 5},
    {"-fox", 1},
    {"red OR NOT dog", 8},
    {"title:", 1},
    {"*", 1},
    {"fox **", 5},
    {"()", 1},
    {"(fox OR)", 6},
    /* Columns count characters, not bytes. */
    {"\xc3\xa9t\xc3\xa9 (fox", 5},
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e (x", 5},
    /* Nesting is bounded: the 33rd parenthesis is one too many. */
    {"((((((((((((((((((((((((((((((((((fox))))))))))))))))))))))))))))))))"
     ")",
     33},
};

START_TEST(test_bad_query) {
  index_jsonl_text(OPS_JSONL);
  tu_run r = KIDX("search", "-i", "idx", "--", BAD_QUERIES[_i].query);
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.out, "");
  char want[64];
  snprintf(want, sizeof want,
           "kidx: query error at column %u: ", BAD_QUERIES[_i].column);
  tu_assert_one_line(r.err, want);
  ck_assert_msg(strlen(r.err) > strlen(want) + 3, "no description: %s", r.err);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_long_query) {
  /* A query of thousands of words is refused with a message, not a
   * crash; one within the limit works. */
  index_jsonl_text(OPS_JSONL);
  size_t cap = 3000 * 12, len = 0;
  char *q = malloc(cap);
  for (int i = 0; i < 3000; i++)
    len += (size_t)snprintf(q + len, cap - len, "w%d ", i);
  tu_run r = KIDX("search", "-i", "idx", q);
  ASSERT_STATUS(r, 2);
  tu_assert_one_line(r.err, "kidx: query error");
  tu_run_free(&r);
  len = 0;
  for (int i = 0; i < 500; i++)
    len += (size_t)snprintf(q + len, cap - len, "w%d OR ", i);
  strcpy(q + len, "quick");
  r = KIDX("search", "-i", "idx", q);
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  free(q);
}
END_TEST

/* ---- JSON values in kidx's output ---- */

/* Decodes the JSON string literal at p (at its opening quote) into a
 * malloc'ed buffer, length in *len: every escape, surrogate pairs
 * included. */
static char *json_decode(const char *p, size_t *len) {
  ck_assert_int_eq(*p, '"');
  char *out = malloc(strlen(p) * 2 + 1);
  size_t n = 0;
  for (p++; *p && *p != '"'; p++) {
    if (*p != '\\') {
      out[n++] = *p;
      continue;
    }
    p++;
    unsigned cp;
    switch (*p) {
    case 'n':
      out[n++] = '\n';
      break;
    case 't':
      out[n++] = '\t';
      break;
    case 'r':
      out[n++] = '\r';
      break;
    case 'b':
      out[n++] = '\b';
      break;
    case 'f':
      out[n++] = '\f';
      break;
    case 'u':
      ck_assert_int_eq(sscanf(p + 1, "%4x", &cp), 1);
      p += 4;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned lo;
        ck_assert(p[1] == '\\' && p[2] == 'u');
        ck_assert_int_eq(sscanf(p + 3, "%4x", &lo), 1);
        p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      if (cp < 0x80) {
        out[n++] = (char)cp;
      } else if (cp < 0x800) {
        out[n++] = (char)(0xC0 | cp >> 6);
        out[n++] = (char)(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        out[n++] = (char)(0xE0 | cp >> 12);
        out[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[n++] = (char)(0x80 | (cp & 0x3F));
      } else {
        out[n++] = (char)(0xF0 | cp >> 18);
        out[n++] = (char)(0x80 | (cp >> 12 & 0x3F));
        out[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[n++] = (char)(0x80 | (cp & 0x3F));
      }
      break;
    default:
      out[n++] = *p; /* \" \\ \/ */
      break;
    }
  }
  ck_assert_int_eq(*p, '"');
  out[n] = '\0';
  *len = n;
  return out;
}

/* The decoded string value of key in a JSON line. */
static char *json_text(const char *line, const char *key, size_t *len) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(line, pat);
  ck_assert_msg(p != NULL, "no \"%s\" in: %s", key, line);
  return json_decode(p + strlen(pat), len);
}

typedef struct span {
  size_t start, end;
} span;

/* The "highlights" pairs of a JSON hit line; returns their number. */
static size_t json_highlights(const char *line, span *out, size_t max) {
  const char *p = strstr(line, "\"highlights\":[");
  ck_assert_msg(p != NULL, "no highlights in: %s", line);
  p += strlen("\"highlights\":[");
  size_t n = 0;
  while (*p == '[' || *p == ',') {
    if (*p == ',')
      p++;
    unsigned long a, b;
    int used = 0;
    ck_assert_msg(sscanf(p, "[%lu,%lu]%n", &a, &b, &used) == 2 && used > 0,
                  "bad highlights at: %s", p);
    ck_assert_uint_lt(n, max);
    out[n].start = a;
    out[n].end = b;
    n++;
    p += used;
  }
  ck_assert_int_eq(*p, ']');
  return n;
}

/* Sum of the "share" numbers of a JSON hit line. */
static double json_share_sum(const char *line, size_t *count) {
  double sum = 0;
  *count = 0;
  for (const char *p = strstr(line, "\"share\":"); p;
       p = strstr(p + 1, "\"share\":")) {
    char *end;
    sum += strtod(p + strlen("\"share\":"), &end);
    ck_assert_ptr_ne(end, p + strlen("\"share\":"));
    (*count)++;
  }
  return sum;
}

START_TEST(test_explain_sums) {
  index_corpus();
  const char *models[] = {"tfidf", "bm25"};
  for (size_t m = 0; m < 2; m++) {
    tu_run r =
        KIDX("search", "--json", "--explain", "--rank", models[m], "Kaspersky",
             "transparency", "title:US", "FBI*", "\"Best Buy\"");
    ASSERT_STATUS(r, 0);
    size_t n = tu_count_lines(r.out);
    ck_assert_uint_eq(n, 3);
    for (size_t i = 0; i < n; i++) {
      char *line = line_at(r.out, i);
      size_t terms;
      double sum = json_share_sum(line, &terms),
             score = json_num(line, "score");
      ck_assert_uint_gt(terms, 0);
      ck_assert_msg(fabs(sum - score) <= 1e-9, "shares %.17g, score %.17g: %s",
                    sum, score, line);
      /* The explain array comes last, after the documented keys. */
      const char *ex = strstr(line, "\"explain\":[{\"term\":");
      ck_assert_ptr_nonnull(ex);
      const char *keys[] = {"\"tf\":[", "\"len\":[",  "\"df\":",
                            "\"idf\":", "\"norm\":[", "\"weight\":[",
                            "\"tfc\":", "\"share\":"};
      for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        ck_assert_msg(strstr(ex, keys[k]) != NULL, "no %s in %s", keys[k], ex);
      ASSERT_AFTER(ex, strstr(line, "\"highlights\":"));
      free(line);
    }
    /* title:US is scoped: its entry says so, with the body weighted 0. */
    ck_assert_ptr_nonnull(
        strstr(r.out, "{\"term\":\"us\",\"field\":\"title\",\"tf\":[1,"));
    tu_run_free(&r);
  }
  /* Human output: a table per hit whose share column adds up, to the
   * last printed digit, to the "= TOTAL" line under it. */
  tu_run r = KIDX("search", "--explain", "Kaspersky", "transparency", "US",
                  "FBI", "Lab", "Russia", "centre", "government");
  ASSERT_STATUS(r, 0);
  size_t n = tu_count_lines(r.out), tables = 0;
  long long units = 0;
  int in_table = 0;
  for (size_t i = 0; i < n; i++) {
    char *line = line_at(r.out, i);
    const char *last = strrchr(line, ' ');
    if (strstr(line, " share") && strstr(line, "term")) {
      in_table = 1;
      units = 0;
    } else if (in_table) {
      char digits[64];
      size_t d = 0;
      for (const char *p = last + 1; *p && d + 1 < sizeof digits; p++)
        if (*p != '.')
          digits[d++] = *p;
      digits[d] = '\0';
      long long v = strtoll(digits, NULL, 10);
      if (strstr(line, "= ")) {
        ck_assert_msg(v == units, "shares add to %lld, total %lld in:\n%s",
                      units, v, r.out);
        /* The total is the score of the hit, to 6 decimals. */
        in_table = 0;
        tables++;
      } else {
        units += v;
      }
    }
    free(line);
  }
  ck_assert_uint_eq(tables, 3);
  tu_run_free(&r);
}
END_TEST

/* A body with multi-byte characters around and between the matches. */
#define UTF8_BODY                                                              \
  "\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1 \xce\xb5\xce\xbb\xce\xbb\xce\xb7"  \
  "\xce\xbd\xce\xb9\xce\xba\xce\xac \xc2\xab\xd0\xba\xd0\xb8\xd1\x80\xd0\xb8"  \
  "\xd0\xbb\xd0\xbb\xd0\xb8\xd1\x86\xd0\xb0\xc2\xbb wombats\xe2\x80\x94"       \
  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad"   \
  "\xe3\x82\xb9\xe3\x83\x88 caf\xc3\xa9 \xf0\x9f\x98\x80 na\xc3\xafve "        \
  "\xe2\x80\x9cWombat\xe2\x80\x9d end"

START_TEST(test_snippet_utf8) {
  /* The same body through JSON Lines (\u escapes decoded by kidx) and as
   * a file. */
  write_text("in/u.txt", "Unicode\n" UTF8_BODY);
  tu_run r = KIDX("index", "in/u.txt");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  const char *queries[] = {"wombat", "wombat cafe", "\"caf\xc3\xa9\" OR naive"};
  const char *words[] = {"wombats", "Wombat", "caf\xc3\xa9", "na\xc3\xafve"};
  for (size_t q = 0; q < 3; q++) {
    for (int w = 1; w <= 12; w++) {
      char nw[16];
      snprintf(nw, sizeof nw, "%d", w);
      r = KIDX("search", "--json", "--snippet-words", nw, queries[q]);
      ASSERT_STATUS(r, 0);
      char *line = line_at(r.out, 0);
      size_t len;
      char *snip = json_text(line, "snippet", &len);
      ck_assert_msg(valid_utf8((const unsigned char *)snip, len),
                    "snippet not UTF-8: %s", line);
      /* The passage is the body's bytes at snippet_offset. */
      double off = json_num(line, "snippet_offset");
      ck_assert(off >= 0 && off + (double)len <= strlen(UTF8_BODY));
      ck_assert_msg(memcmp(&UTF8_BODY[(size_t)off], snip, len) == 0,
                    "not the body at %g: %s", off, line);
      /* Every highlight is one of the matched words. */
      span hl[32];
      size_t nh = json_highlights(line, hl, 32), found = 0;
      for (size_t h = 0; h < nh; h++) {
        ck_assert_uint_lt(hl[h].start, hl[h].end);
        ck_assert_uint_le(hl[h].end, len);
        int ok = 0;
        for (size_t k = 0; k < 4; k++)
          ok |= hl[h].end - hl[h].start == strlen(words[k]) &&
                memcmp(snip + hl[h].start, words[k], strlen(words[k])) == 0;
        ck_assert_msg(ok, "highlight [%zu,%zu) is not a word: %s", hl[h].start,
                      hl[h].end, line);
        found++;
      }
      ck_assert_msg(found > 0, "no highlight: %s", line);
      free(snip);
      free(line);
      tu_run_free(&r);

      /* Human output: valid UTF-8, the words in brackets. */
      r = KIDX("search", "--snippet-words", nw, queries[q]);
      ASSERT_STATUS(r, 0);
      ck_assert(valid_utf8((const unsigned char *)r.out, strlen(r.out)));
      line = line_at(r.out, 1);
      ck_assert_msg(strstr(line, "[wombats]") || strstr(line, "[Wombat]") ||
                        strstr(line, "[caf\xc3\xa9]") ||
                        strstr(line, "[na\xc3\xafve]"),
                    "no highlight in: %s", line);
      free(line);
      tu_run_free(&r);
    }
  }
  /* --highlight: bold (also when piped), none, and no snippets at all. */
  r = KIDX("search", "--highlight", "bold", "wombat");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "\033[1mwombats\033[0m"));
  tu_run_free(&r);
  r = KIDX("search", "--highlight", "none", "wombat");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_null(strchr(r.out, '['));
  ck_assert_ptr_nonnull(strstr(r.out, " wombats"));
  tu_run_free(&r);
  r = KIDX("search", "--snippet-words", "0", "wombat");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 2);
  tu_run_free(&r);
  r = KIDX("search", "--json", "--snippet-words", "0", "wombat");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_null(strstr(r.out, "\"snippet"));
  ck_assert_ptr_null(strstr(r.out, "\"highlights"));
  tu_run_free(&r);
}
END_TEST

START_TEST(test_snippet_invalid_utf8) {
  /* Invalid bytes become U+FFFD in JSON (three bytes for one): the
   * highlight offsets index the snippet as a JSON reader decodes it. */
  write_text("in/invalid.txt", INVALID_UTF8);
  tu_run r = KIDX("index", "in/");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  const char *words[] = {"kangaroos", "wombat", "platypus"};
  for (size_t w = 0; w < 3; w++) {
    r = KIDX("search", "--json", "--snippet-words", "100", words[w]);
    ASSERT_STATUS(r, 0);
    size_t len;
    char *snip = json_text(r.out, "snippet", &len);
    ck_assert(valid_utf8((const unsigned char *)snip, len));
    span hl[4];
    ck_assert_uint_eq(json_highlights(r.out, hl, 4), 1);
    ck_assert_uint_le(hl[0].end, len);
    ck_assert_uint_eq(hl[0].end - hl[0].start, strlen(words[w]));
    ck_assert_msg(memcmp(snip + hl[0].start, words[w], strlen(words[w])) == 0,
                  "highlight [%zu,%zu) is not %s in: %s", hl[0].start,
                  hl[0].end, words[w], r.out);
    free(snip);
    tu_run_free(&r);
  }
}
END_TEST

START_TEST(test_batch) {
  index_jsonl_text(OPS_JSONL);
  /* Line 2 is empty, line 3 malformed, line 4 has no hits. */
  static const char queries[] = "fox\n\n(bad\nzzzz\r\nquick AND brown\n";
  write_text("queries.txt", queries);
  tu_run r = KIDX("search", "-i", "idx", "--json", "--batch", "queries.txt");
  /* A malformed line makes the status 2, even though others had hits. */
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err, "kidx: line 3: query error at column 1: missing "
                          "')'\n");
  ck_assert_uint_eq(tu_count_lines(r.out), 7);
  for (size_t i = 0; i < 7; i++) {
    char *line = line_at(r.out, i);
    ck_assert_double_eq(json_num(line, "query"), i < 4 ? 1.0 : 5.0);
    ck_assert_double_eq(json_num(line, "rank"),
                        (double)(i < 4 ? i + 1 : i - 3));
    /* "query" follows the hit's own keys. */
    ASSERT_AFTER(strstr(line, "\"query\":"), strstr(line, "\"highlights\":"));
    free(line);
  }
  tu_run_free(&r);

  /* The same from standard input, human output: a header per query, in
   * the order of the file, hits or not. */
  r = KIDX_IN(queries, strlen(queries), "search", "-i", "idx", "--batch", "-",
              "--snippet-words", "0");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err, "kidx: line 3: query error at column 1: missing "
                          "')'\n");
  const char *h1 = strstr(r.out, "# line 1: fox\n"),
             *h4 = strstr(r.out, "\n# line 4: zzzz\n0 of 0 matching "
                                 "documents\n"),
             *h5 = strstr(r.out, "\n# line 5: quick AND brown\n");
  ck_assert_ptr_eq(h1, r.out);
  ck_assert_ptr_nonnull(h4);
  ck_assert_ptr_nonnull(h5);
  ASSERT_AFTER(h5, h4);
  ck_assert_ptr_nonnull(strstr(h5, "3 of 3 matching documents\n"));
  ck_assert_ptr_null(strstr(r.out, "# line 2"));
  ck_assert_ptr_null(strstr(r.out, "# line 3"));
  tu_run_free(&r);

  /* Without malformed lines: 0 if any query had hits, else 1. */
  write_text("good.txt", "zzzz\nfox\n");
  r = KIDX("search", "-i", "idx", "--json", "--batch", "good.txt");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  write_text("none.txt", "zzzz\n\nyyyy");
  r = KIDX("search", "-i", "idx", "--batch", "none.txt");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "# line 1: zzzz\n0 of 0 matching documents\n\n"
                          "# line 3: yyyy\n0 of 0 matching documents\n");
  tu_run_free(&r);
  /* The options apply to every query. */
  r = KIDX_IN("quick\nfox\n", 10, "search", "-i", "idx", "--batch", "-",
              "--json", "-k", "1", "--all");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 2);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_jsonl) {
  /* Line numbers count every line; bad lines are reported and skipped,
   * the good ones indexed. */
  static const char docs[] =
      "\xEF\xBB\xBF{\"id\":\"one\",\"title\":\"First\",\"body\":\"aardvark\"}\n"
      "\n"
      "{\"id\":\"two\" \"body\":\"x\"}\n"
      "{\"title\":\"no id\"}\n"
      "[\"not\",\"an object\"]\n"
      "{\"id\":17}\n"
      "{\"id\":\"s\",\"body\":\"lone \\ud800 surrogate\"}\n"
      "{\"id\":\"three\",\"title\":\"\\u00e9t\\u00e9 \\ud83d\\ude00\","
      "\"body\":\"line\\nbreak\\ttab \\\"quoted\\\" \\\\ \\/ aardvark\","
      "\"tags\":[1,-2.5e3,{\"x\":[true,false,null]}],\"n\":0}\r\n"
      "{\"id\":\"dup\",\"id\":\"dup2\"}\n"
      "{\"id\":\"\",\"body\":\"x\"}\n"
      "{\"id\":\"t\"} trailing\n"
      "{\"id\":\"u\",\"n\":01}\n"
      "{\"id\":\"v\",\"body\":\"raw\ttab\"}\n"
      "{\"i\\u0064\":\"four\",\"body\":\"escaped name aardvark\"}\n"
      "{\"id\":\"w\",\"body\":\"bad \xff byte\"}\n"
      "{\"id\":\"x\",\"body\":\"unterminated}\n"
      "{\"id\":\"five\",\"body\":\"no final newline aardvark\"}";
  write_text("docs.jsonl", docs);
  tu_run r = KIDX("index", "--jsonl", "docs.jsonl");
  ASSERT_STATUS(r, 4);
  ck_assert_str_eq(
      r.err,
      "kidx: docs.jsonl:3: column 13: expected ',' or '}'\n"
      "kidx: docs.jsonl:4: no \"id\" member\n"
      "kidx: docs.jsonl:5: column 1: expected '{': each line must be an "
      "object\n"
      "kidx: docs.jsonl:6: column 7: \"id\" must be a string\n"
      "kidx: docs.jsonl:7: column 24: \\u escape of a high surrogate "
      "without a low surrogate after it\n"
      "kidx: docs.jsonl:9: column 13: duplicate \"id\" member\n"
      "kidx: docs.jsonl:10: \"id\" is empty\n"
      "kidx: docs.jsonl:11: column 12: unexpected text after the object\n"
      "kidx: docs.jsonl:12: column 15: numbers cannot start with 0\n"
      "kidx: docs.jsonl:13: column 22: control character in a string "
      "(write it as an escape such as \\n)\n"
      "kidx: docs.jsonl:15: column 23: invalid UTF-8 in a string\n"
      "kidx: docs.jsonl:16: column 32: unterminated string\n");
  ck_assert_msg(strncmp(r.out, "indexed 4 documents ", 20) == 0 &&
                    strstr(r.out, ", skipped 12 lines\n"),
                "summary: %s", r.out);
  tu_run_free(&r);

  r = KIDX("search", "--json", "--snippet-words", "100", "aardvark");
  ASSERT_STATUS(r, 0);
  char *ids = hit_ids(r.out, 1);
  ck_assert_str_eq(ids, "five four one three");
  free(ids);
  /* Escapes decoded: é, a surrogate pair (one 4-byte character), \n. */
  const char *three = strstr(r.out, "\"id\":\"three\"");
  ck_assert_ptr_nonnull(three);
  ck_assert_ptr_nonnull(
      strstr(three, "\"title\":\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\""));
  ck_assert_ptr_nonnull(strstr(
      three,
      "\"snippet\":\"line\\nbreak\\ttab \\\"quoted\\\" \\\\ / aardvark"));
  tu_run_free(&r);
  r = KIDX("stats", "--json");
  ck_assert_double_eq(json_num(r.out, "documents"), 4.0);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_jsonl_inputs) {
  /* --jsonl repeated, from standard input, and combined with PATHs;
   * JSON Lines come after the files, so the last document read wins. */
  write_text("in/a.txt", "File A\nfrom the file wombat\n");
  write_text("more.jsonl", "{\"id\":\"in/a.txt\",\"body\":\"replaced by "
                           "jsonl\"}\n{\"id\":\"m\",\"body\":\"wombat\"}\n");
  static const char in[] = "{\"id\":\"s\",\"body\":\"stdin wombat\"}\n"
                           "{bad}\n";
  tu_run r = KIDX_IN(in, strlen(in), "index", "--jsonl", "-", "in", "--jsonl",
                     "more.jsonl");
  ASSERT_STATUS(r, 4);
  ck_assert_str_eq(r.err,
                   "kidx: <stdin>:2: column 2: expected a member name (a "
                   "string)\n");
  ck_assert_msg(strncmp(r.out, "indexed 4 documents ", 20) == 0, "got %s",
                r.out);
  tu_run_free(&r);
  r = KIDX("search", "--json", "wombat");
  ASSERT_STATUS(r, 0);
  char *ids = hit_ids(r.out, 1);
  ck_assert_str_eq(ids, "m s");
  free(ids);
  tu_run_free(&r);
  r = KIDX("stats", "--json");
  ck_assert_double_eq(json_num(r.out, "documents"), 3.0);
  tu_run_free(&r);
  /* A missing file is refused before the index is touched. */
  r = KIDX("index", "-i", "other", "--jsonl", "more.jsonl", "--jsonl", "nope");
  ASSERT_STATUS(r, 2);
  ck_assert(!exists("other"));
  tu_run_free(&r);
}
END_TEST

START_TEST(test_jsonl_limits) {
  /* Nesting up to 64 levels (the line's object included) is skipped;
   * deeper is an error, not a stack overflow.  A 3 MB line is fine. */
  char deep[400];
  for (int depth = 64; depth <= 65; depth++) {
    size_t n =
        (size_t)snprintf(deep, sizeof deep, "{\"id\":\"d%d\",\"x\":", depth);
    for (int i = 1; i < depth; i++)
      deep[n++] = '[';
    for (int i = 1; i < depth; i++)
      deep[n++] = ']';
    snprintf(deep + n, sizeof deep - n, ",\"body\":\"deep\"}\n");
    char name[32];
    snprintf(name, sizeof name, "deep%d.jsonl", depth);
    write_text(name, deep);
    tu_run r = KIDX("index", "--jsonl", name);
    if (depth == 64) {
      ASSERT_STATUS(r, 0);
    } else {
      ASSERT_STATUS(r, 4);
      ck_assert_str_eq(r.err, "kidx: deep65.jsonl:1: column 80: arrays and "
                              "objects nested more than 64 deep\n");
    }
    tu_run_free(&r);
  }
  /* Very deep input (a million brackets) is still just an error. */
  size_t big = 3u << 20, brackets = 1000000;
  char *line = malloc(big + 64 + brackets);
  size_t n = (size_t)snprintf(line, 64, "{\"id\":\"big\",\"body\":\"");
  for (size_t i = 0; i < big; i++)
    line[n++] = i % 7 == 6 ? ' ' : (char)('a' + i % 7);
  static const char tail[] = " zebrafinch\"}\n{\"id\":\"brackets\",\"x\":";
  memcpy(line + n, tail, strlen(tail));
  n += strlen(tail);
  for (size_t i = 0; i < brackets; i++)
    line[n++] = '[';
  tu_write_file(tu_work_dir(), "big.jsonl", line, n);
  free(line);
  tu_run r = KIDX("index", "--jsonl", "big.jsonl");
  ASSERT_STATUS(r, 4);
  ck_assert_str_eq(r.err, "kidx: big.jsonl:2: column 85: arrays and objects "
                          "nested more than 64 deep\n");
  tu_run_free(&r);
  r = KIDX("search", "--json", "zebrafinch");
  ASSERT_STATUS(r, 0);
  char *id = top_id(&r);
  ck_assert_str_eq(id, "big");
  free(id);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_stored_bytes) {
  index_corpus();
  tu_run r = KIDX("stats", "--json");
  ASSERT_STATUS(r, 0);
  double stored = json_num(r.out, "stored_bytes"),
         bytes = json_num(r.out, "bytes");
  /* Part of the index, not all of it (the postings are the rest); the
   * bound below holds even if the text is ever stored compressed. */
  ck_assert_double_gt(stored, 1000.0);
  ck_assert_double_lt(stored, bytes);
  /* A new key goes last. */
  ASSERT_AFTER(strstr(r.out, "\"stored_bytes\":"),
               strstr(r.out, "\"diacritics\":"));
  tu_run_free(&r);
  r = KIDX("stats");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "\nstored     "));
  tu_run_free(&r);
}
END_TEST

START_TEST(test_bm25_params) {
  index_jsonl_text(OPS_JSONL);
  tu_run a = KIDX("search", "-i", "idx", "--json", "--rank", "bm25", "quick");
  tu_run b = KIDX("search", "-i", "idx", "--json", "--rank", "bm25", "--k1",
                  "1.2", "--b", "0.75", "quick");
  tu_run c = KIDX("search", "-i", "idx", "--json", "--rank", "bm25", "--b", "0",
                  "quick");
  ASSERT_STATUS(a, 0);
  ASSERT_STATUS(c, 0);
  /* The defaults are 1.2 and 0.75; without length normalisation (b = 0)
   * every document with one "quick" scores the same. */
  ck_assert_str_eq(a.out, b.out);
  ck_assert_str_ne(a.out, c.out);
  char *first = line_at(c.out, 0), *last = line_at(c.out, 3);
  ck_assert_double_eq_tol(json_num(first, "score"), json_num(last, "score"),
                          1e-12);
  free(first);
  free(last);
  tu_run_free(&a);
  tu_run_free(&b);
  tu_run_free(&c);
}
END_TEST

START_TEST(test_search_help) {
  tu_run r = KIDX("search", "--help");
  ASSERT_STATUS(r, 0);
  const char *documented[] = {"--all",
                              "--any",
                              "AND",
                              "OR",
                              "NOT",
                              "-a",
                              "\"a b c\"",
                              "NEAR(",
                              "transp*",
                              "title:",
                              "body:",
                              "--rank",
                              "tfidf",
                              "bm25",
                              "--k1",
                              "--b X",
                              "--title-weight",
                              "--body-weight",
                              "--snippet-words",
                              "--highlight",
                              "--explain",
                              "--batch",
                              "\"rank\"",
                              "\"snippet_offset\"",
                              "\"highlights\"",
                              "\"query\"",
                              "\"explain\"",
                              "\"share\"",
                              "Exit status",
                              "query error at column"};
  for (size_t i = 0; i < sizeof documented / sizeof documented[0]; i++)
    ck_assert_msg(strstr(r.out, documented[i]) != NULL,
                  "'%s' not in 'kidx search --help'", documented[i]);
  tu_run_free(&r);
  r = KIDX("index", "--help");
  ck_assert_ptr_nonnull(strstr(r.out, "--jsonl"));
  ck_assert_ptr_nonnull(strstr(r.out, "FILE:LINE"));
  tu_run_free(&r);
  r = KIDX("stats", "--help");
  ck_assert_ptr_nonnull(strstr(r.out, "stored_bytes"));
  tu_run_free(&r);
  r = KIDX("index", "--help");
  const char *index_doc[] = {"--prune", "--wait", "incremental", "unchanged",
                             "removed"};
  for (size_t i = 0; i < sizeof index_doc / sizeof index_doc[0]; i++)
    ck_assert_msg(strstr(r.out, index_doc[i]) != NULL,
                  "'%s' not in 'kidx index --help'", index_doc[i]);
  tu_run_free(&r);
  r = KIDX("delete", "--help");
  ck_assert_ptr_nonnull(strstr(r.out, "--wait"));
  ck_assert_ptr_nonnull(strstr(r.out, "Exit status: 0"));
  ck_assert_ptr_nonnull(strstr(r.out, "1 some ids not found"));
  tu_run_free(&r);
  r = KIDX("check", "--help");
  ck_assert_ptr_nonnull(strstr(r.out, "--json"));
  ck_assert_ptr_nonnull(strstr(r.out, "is damaged"));
  tu_run_free(&r);
}
END_TEST

/* ====================================================================== */
/* Incremental indexing, --prune, delete, check                           */
/* ====================================================================== */

/* A fixed time in the past (2020-09-13), for files whose mtimes must be
 * trusted: a file modified in the last seconds before a run is read again
 * by the next run (see "racy" in kidx index --help). */
#define PAST 1600000000

static void set_mtime(const char *name, time_t sec) {
  char *p = tu_work_path(name);
  struct timespec times[2] = {{sec, 0}, {sec, 0}};
  ck_assert_msg(utimensat(AT_FDCWD, p, times, 0) == 0, "utimensat %s: %s", p,
                strerror(errno));
  free(p);
}

static struct timespec get_mtime(const char *name) {
  char *p = tu_work_path(name);
  struct stat st;
  ck_assert_int_eq(stat(p, &st), 0);
  free(p);
  return st.st_mtim;
}

/* Everything in the index directory, file by file, as one string: equal
 * before and after a run that must not have written anything. */
static char *index_dir_contents(void) {
  char *dir = tu_work_path(".kidx");
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  char *names[64];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.' && n < 64)
      names[n++] = strdup(e->d_name);
  closedir(d);
  /* readdir order is arbitrary: sort by name. */
  for (size_t i = 1; i < n; i++)
    for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
      char *t = names[k];
      names[k] = names[k - 1];
      names[k - 1] = t;
    }
  size_t cap = 1, len = 0;
  char *all = calloc(1, 1);
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    size_t flen;
    char *data = tu_read_file(path, &flen);
    ck_assert_ptr_nonnull(data);
    size_t need = len + strlen(names[i]) + flen + 32;
    if (need > cap) {
      cap = need * 2;
      all = realloc(all, cap);
    }
    len += (size_t)sprintf(all + len, "%s:%zu:", names[i], flen);
    memcpy(all + len, data, flen);
    len += flen;
    all[len] = '\0';
    free(data);
    free(names[i]);
  }
  free(dir);
  return all;
}

/* Runs kidx index with the arguments and checks the status and the
 * counts of the summary ("A new, B changed, C unchanged, D removed"). */
static void index_expect(const char *counts, ...) {
  va_list ap;
  va_start(ap, counts);
  const char *argv[16];
  size_t n = 0;
  argv[n++] = KIDX_BIN;
  argv[n++] = "index";
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL && n < 15)
    argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  tu_run r = tu_exec(tu_work_dir(), argv, NULL);
  ASSERT_STATUS(r, 0);
  char want[128];
  snprintf(want, sizeof want, " MB/s: %s\n", counts);
  ck_assert_msg(strstr(r.out, want) != NULL, "expected '%s' in: %s", counts,
                r.out);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
#define INDEX_EXPECT(counts, ...)                                              \
  index_expect(counts, __VA_ARGS__, (const char *)NULL)

static void assert_search_status(const char *word, int want) {
  tu_run r = KIDX("search", word);
  ASSERT_STATUS(r, want);
  tu_run_free(&r);
}

static double stats_documents(void) {
  tu_run r = KIDX("stats", "--json");
  ASSERT_STATUS(r, 0);
  double n = json_num(r.out, "documents");
  tu_run_free(&r);
  return n;
}

START_TEST(test_incremental_unchanged_not_read) {
  write_text("docs/a.txt", "Alpha\noriginalword one\n");
  write_text("docs/b.txt", "Beta\nbetaword two\n");
  write_text("docs/c.txt", "Gamma\ngammaword three\n");
  set_mtime("docs/a.txt", PAST);
  set_mtime("docs/b.txt", PAST);
  set_mtime("docs/c.txt", PAST);
  INDEX_EXPECT("3 new, 0 changed, 0 unchanged, 0 removed", "docs");
  char *before = index_dir_contents();

  /* Other bytes of the same size under the same mtime: a run that read
   * the file would index "replacedword".  It must not even open it. */
  write_text("docs/a.txt", "Alpha\nreplacedword one\n");
  set_mtime("docs/a.txt", PAST);
  INDEX_EXPECT("0 new, 0 changed, 3 unchanged, 0 removed", "docs");
  assert_search_status("originalword", 0);
  assert_search_status("replacedword", 1);
  /* Nothing changed, so nothing was written. */
  char *after = index_dir_contents();
  ck_assert_msg(strcmp(before, after) == 0,
                "the index directory changed on an unchanged corpus");
  free(after);
  free(before);

  /* A new mtime makes the file read: its content differs, it is
   * re-indexed. */
  set_mtime("docs/a.txt", PAST + 100);
  INDEX_EXPECT("0 new, 1 changed, 2 unchanged, 0 removed", "docs/");
  assert_search_status("originalword", 1);
  assert_search_status("replacedword", 0);

  /* Touched but not changed: read, found equal by its hash, kept; only
   * the stamp is updated, so the next run trusts the new mtime (proved as
   * above, with other bytes that are not read). */
  set_mtime("docs/b.txt", PAST + 200);
  INDEX_EXPECT("0 new, 0 changed, 3 unchanged, 0 removed", "docs");
  write_text("docs/b.txt", "Beta\nbetawerd two\n");
  set_mtime("docs/b.txt", PAST + 200);
  INDEX_EXPECT("0 new, 0 changed, 3 unchanged, 0 removed", "docs");
  assert_search_status("betaword", 0);
  assert_search_status("betawerd", 1);

  /* A new file is new; the summary counts only what was read and added. */
  write_text("docs/d.txt", "Delta\ndeltaword\n");
  set_mtime("docs/d.txt", PAST);
  tu_run r = KIDX("index", "docs");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strncmp(r.out, "indexed 1 document (16 bytes) in ", 33) == 0 &&
                    strstr(r.out, ": 1 new, 0 changed, 3 unchanged, 0 "
                                  "removed\n"),
                "got: %s", r.out);
  tu_run_free(&r);
  ck_assert_double_eq(stats_documents(), 4.0);
}
END_TEST

START_TEST(test_incremental_recent_file_is_read_again) {
  /* A file modified just before a run can change again within the same
   * tick of the file system's clock, keeping its size and mtime.  So its
   * stamp is not trusted: the next run reads it again. */
  write_text("r.txt", "Recent\nfirstword\n");
  INDEX_EXPECT("1 new, 0 changed, 0 unchanged, 0 removed", "r.txt");
  struct timespec m = get_mtime("r.txt");
  write_text("r.txt", "Recent\nlastsword\n");
  char *p = tu_work_path("r.txt");
  struct timespec times[2] = {m, m};
  ck_assert_int_eq(utimensat(AT_FDCWD, p, times, 0), 0);
  free(p);
  INDEX_EXPECT("0 new, 1 changed, 0 unchanged, 0 removed", "r.txt");
  assert_search_status("firstword", 1);
  assert_search_status("lastsword", 0);
  /* Unchanged and still recent: read and compared, nothing written. */
  INDEX_EXPECT("0 new, 0 changed, 1 unchanged, 0 removed", "r.txt");
}
END_TEST

START_TEST(test_prune) {
  write_text("docs/a.txt", "A\nalphaword\n");
  write_text("docs/sub/b.txt", "B\nbetaword\n");
  write_text("docs/keep.txt", "K\nkeepword\n");
  write_text("docs2/c.txt", "C\ngammaword\n");
  write_text("notes.txt", "N\nnoteword\n");
  INDEX_EXPECT("5 new, 0 changed, 0 unchanged, 0 removed", "docs", "docs2",
               "notes.txt");
  for (const char *const *f =
           (const char *const[]){"docs/a.txt", "docs/sub/b.txt", "docs2/c.txt",
                                 "notes.txt", NULL};
       *f; f++) {
    char *p = tu_work_path(*f);
    ck_assert_int_eq(unlink(p), 0);
    free(p);
  }
  /* Without --prune, documents of deleted files stay. */
  INDEX_EXPECT("0 new, 0 changed, 1 unchanged, 0 removed", "docs");
  ck_assert_double_eq(stats_documents(), 5.0);
  /* --prune docs/ removes those under docs (the trailing slash does not
   * matter), not docs2/c.txt, whose path only starts with "docs", nor
   * notes.txt, which is under no PATH given. */
  INDEX_EXPECT("0 new, 0 changed, 1 unchanged, 2 removed", "--prune", "docs/");
  ck_assert_double_eq(stats_documents(), 3.0);
  assert_search_status("alphaword", 1);
  assert_search_status("betaword", 1);
  assert_search_status("keepword", 0);
  assert_search_status("gammaword", 0);
  assert_search_status("noteword", 0);
  /* Pruning again finds nothing more. */
  INDEX_EXPECT("0 new, 0 changed, 1 unchanged, 0 removed", "--prune", "docs");
  INDEX_EXPECT("0 new, 0 changed, 0 unchanged, 1 removed", "docs2", "--prune");
  assert_search_status("gammaword", 1);
  ck_assert_double_eq(stats_documents(), 2.0);
}
END_TEST

START_TEST(test_jsonl_counts) {
  write_text("a.jsonl", "{\"id\":\"x\",\"body\":\"one\"}\n"
                        "{\"id\":\"y\",\"body\":\"two\"}\n");
  tu_run r = KIDX("index", "--jsonl", "a.jsonl");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(
      strstr(r.out, ": 2 new, 0 changed, 0 unchanged, 0 removed\n"));
  tu_run_free(&r);
  /* JSON Lines carry no stamps: their documents are always indexed. */
  r = KIDX("index", "--jsonl", "a.jsonl");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(
      strstr(r.out, ": 0 new, 2 changed, 0 unchanged, 0 removed\n"));
  tu_run_free(&r);
}
END_TEST

START_TEST(test_delete) {
  index_corpus();
  tu_run r = KIDX("delete", ID_FBI, "nope", ID_FBI);
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "deleted 1 document\n");
  /* Reported once, though given once; the id given twice is deleted. */
  ck_assert_str_eq(r.err, "kidx: no document with id 'nope'\n");
  tu_run_free(&r);
  ck_assert_double_eq(stats_documents(), 2.0);
  r = KIDX("search", "--json", "FBI", "briefings");
  ck_assert_ptr_null(strstr(r.out, ID_FBI));
  tu_run_free(&r);
  r = KIDX("delete", ID_FBI);
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "deleted 0 documents\n");
  tu_run_free(&r);
  r = KIDX("delete", "--", ID_2024, ID_MARKET);
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "deleted 2 documents\n");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  ck_assert_double_eq(stats_documents(), 0.0);
  r = KIDX("check");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  /* Re-indexing brings them back: they are new again. */
  INDEX_EXPECT("3 new, 0 changed, 0 unchanged, 0 removed", "corpus");
}
END_TEST

START_TEST(test_delete_no_index) {
  tu_run r = KIDX("delete", "x");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(
      r.err, "kidx: no index at .kidx (run 'kidx index corpus/' first)\n");
  tu_run_free(&r);
  /* Nothing created. */
  ck_assert(!exists(".kidx"));
}
END_TEST

START_TEST(test_check_command) {
  tu_run r = KIDX("check");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(
      r.err, "kidx: no index at .kidx (run 'kidx index corpus/' first)\n");
  tu_run_free(&r);
  r = KIDX("check", "--json");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(r.out, "{\"ok\":false,\"error\":\"no index at .kidx "
                          "(run 'kidx index corpus/' first)\"}\n");
  tu_run_free(&r);
  ck_assert(!exists(".kidx"));

  index_corpus();
  r = KIDX("check");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strncmp(r.out, "ok: 3 documents, ", 17) == 0 &&
                    strstr(r.out, " terms, ") && tu_count_lines(r.out) == 1,
                "got: %s", r.out);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  r = KIDX("check", "--json");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strncmp(r.out, "{\"ok\":true,", 10) == 0, "got: %s", r.out);
  ck_assert_double_eq(json_num(r.out, "documents"), 3.0);
  tu_run stats = KIDX("stats", "--json");
  ck_assert_double_eq(json_num(r.out, "terms"), json_num(stats.out, "terms"));
  ck_assert_double_eq(json_num(r.out, "bytes"), json_num(stats.out, "bytes"));
  tu_run_free(&stats);
  tu_run_free(&r);

  /* Damage: one line naming the index, exit 3, JSON says so too. */
  char *dir = tu_work_path(".kidx"), path[4096] = "";
  off_t size = 0;
  largest_file(dir, path, sizeof path, &size);
  size_t len;
  char *data = tu_read_file(path, &len);
  data[len / 3] ^= 0x40;
  FILE *f = fopen(path, "wb");
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  fclose(f);
  free(data);
  free(dir);
  r = KIDX("check");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(r.out, "");
  tu_assert_one_line(r.err, "kidx: index at .kidx is damaged: .kidx/");
  tu_run_free(&r);
  r = KIDX("check", "--json");
  ASSERT_STATUS(r, 3);
  ck_assert_msg(strncmp(r.out,
                        "{\"ok\":false,\"error\":\"index at .kidx is "
                        "damaged: ",
                        45) == 0,
                "got: %s", r.out);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_lock_busy_delete) {
  index_corpus();
  char *dir = tu_work_path(".kidx");
  kidx_writer *w = NULL;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  tu_run r = KIDX("delete", ID_FBI);
  ASSERT_STATUS(r, 3);
  tu_assert_one_line(r.err, "kidx: index at .kidx is locked by another writer");
  ck_assert_ptr_nonnull(strstr(r.err, "--wait"));
  tu_run_free(&r);
  kidx_writer_close(w);
  free(dir);
  ck_assert_double_eq(stats_documents(), 3.0);
}
END_TEST

/* ---- reviewed defects ---- */

/* Closed standard descriptors: the write.lock must not become stdin (its
 * bytes read as JSON Lines) or stderr (messages written into it). */
START_TEST(test_closed_std_fds) {
  write_text("a.txt", "A\nalphaword\n");
  INDEX_EXPECT("1 new, 0 changed, 0 unchanged, 0 removed", "a.txt");
  static const char evil[] = "{\"id\":\"evil\",\"body\":\"evilword\"}\n";
  write_text(".kidx/write.lock", evil);
  pid_t pid = fork();
  ck_assert_int_ne(pid, -1);
  if (pid == 0) {
    if (chdir(tu_work_dir()) != 0)
      _exit(126);
    int null = open("/dev/null", O_WRONLY);
    if (null < 0 || dup2(null, 1) < 0)
      _exit(126);
    close(0);
    close(2);
    execl(KIDX_BIN, KIDX_BIN, "index", "--jsonl", "-", (char *)NULL);
    _exit(127);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 0);
  ck_assert_double_eq(stats_documents(), 1.0);
  assert_search_status("evilword", 1);
  char *p = tu_work_path(".kidx/write.lock");
  size_t len;
  char *lock = tu_read_file(p, &len);
  free(p);
  ck_assert_ptr_nonnull(lock);
  ck_assert_uint_eq(len, strlen(evil));
  ck_assert_str_eq(lock, evil);
  free(lock);
}
END_TEST

/* A message longer than the buffer keeps its end (the reason) and is one
 * line. */
START_TEST(test_long_message_keeps_reason) {
  char name[5001];
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  tu_run r = KIDX("index", name);
  ASSERT_STATUS(r, 2);
  tu_assert_one_line(r.err, "kidx: cannot read nnn");
  size_t n = strlen(r.err);
  const char *tail = ": File name too long\n";
  ck_assert_uint_ge(n, strlen(tail));
  ck_assert_str_eq(r.err + n - strlen(tail), tail);
  ck_assert_ptr_nonnull(strstr(r.err, "\xE2\x80\xA6"));
  ck_assert_uint_le(n, 1024);
  tu_run_free(&r);
  /* Control characters are still cleaned. */
  r = KIDX("index", "bad\nname\x1b[31m");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err, "kidx: cannot read bad?name?[31m: No such file or "
                          "directory\n");
  tu_run_free(&r);
}
END_TEST

/* --batch FILE: missing is a usage error (2), unreadable an input error
 * (4). */
START_TEST(test_batch_unreadable) {
  index_jsonl_text(OPS_JSONL);
  tu_run r = KIDX("search", "-i", "idx", "--batch", "nosuch.txt");
  ASSERT_STATUS(r, 2);
  tu_run_free(&r);
  /* A symbolic link loop exists but cannot be opened. */
  char *loop = tu_work_path("loop.txt");
  ck_assert_int_eq(symlink("loop.txt", loop), 0);
  free(loop);
  r = KIDX("search", "-i", "idx", "--batch", "loop.txt");
  ASSERT_STATUS(r, 4);
  tu_assert_one_line(r.err, "kidx: cannot read loop.txt: ");
  tu_run_free(&r);
  /* Root reads any file: run as nobody. */
  if (tu_unprivileged("batch_unreadable")) {
    write_text("q.txt", "fox\n");
    char *q = tu_work_path("q.txt");
    ck_assert_int_eq(chmod(q, 0), 0);
    free(q);
    r = KIDX("search", "-i", "idx", "--batch", "q.txt");
    ASSERT_STATUS(r, 4);
    ck_assert_str_eq(r.err, "kidx: cannot read q.txt: Permission denied\n");
    tu_run_free(&r);
  }
}
END_TEST

/* --batch stops at the first write error on stdout, with status 4. */
START_TEST(test_batch_write_error) {
  index_jsonl_text(OPS_JSONL);
  char *q = malloc(20000 * 4 + 1);
  ck_assert_ptr_nonnull(q);
  q[0] = '\0';
  for (int i = 0; i < 20000; i++)
    strcat(q + (size_t)i * 4, "fox\n");
  write_text("q.txt", q);
  free(q);
  const char *argv[] = {"/bin/sh", "-c",
                        "exec \"$0\" search -i idx --batch q.txt >/dev/full",
                        KIDX_BIN, NULL};
  tu_run r = tu_exec(tu_work_dir(), argv, NULL);
  ASSERT_STATUS(r, 4);
  tu_assert_one_line(r.err, "kidx: cannot write to standard output");
  tu_run_free(&r);
}
END_TEST

/* "t2", "t2/" and "t2//" give the same ids. */
START_TEST(test_trailing_slashes) {
  write_text("t2/a.txt", "A\nalphaword\n");
  write_text("t2/b.txt", "B\nbetaword\n");
  write_text("t2/sub/c.txt", "C\ngammaword\n");
  INDEX_EXPECT("3 new, 0 changed, 0 unchanged, 0 removed", "t2");
  INDEX_EXPECT("0 new, 0 changed, 3 unchanged, 0 removed", "t2/");
  INDEX_EXPECT("0 new, 0 changed, 3 unchanged, 0 removed", "t2//");
  INDEX_EXPECT("0 new, 0 changed, 3 unchanged, 0 removed", "t2", "t2///");
  ck_assert_double_eq(stats_documents(), 3.0);
  tu_run r = KIDX("search", "--json", "gammaword");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "\"id\":\"t2/sub/c.txt\""));
  tu_run_free(&r);
}
END_TEST

/* --prune with a PATH that no longer exists prunes under it. */
START_TEST(test_prune_gone_path) {
  write_text("p/sub/a.txt", "A\nalphaword\n");
  write_text("p/b.txt", "B\nbetaword\n");
  INDEX_EXPECT("2 new, 0 changed, 0 unchanged, 0 removed", "p");
  char *a = tu_work_path("p/sub/a.txt"), *sub = tu_work_path("p/sub");
  ck_assert_int_eq(unlink(a), 0);
  ck_assert_int_eq(rmdir(sub), 0);
  free(a);
  free(sub);
  /* A PATH that is gone may be a disk not mounted: nothing removed, an
   * error naming it, exit 4. */
  tu_run r = KIDX("index", "--prune", "p/sub");
  ASSERT_STATUS(r, 4);
  ck_assert_str_eq(r.err, "kidx: cannot prune under p/sub: No such file or "
                          "directory (no document under it was removed; "
                          "prune the directory that holds it, or --forget "
                          "it)\n");
  tu_run_free(&r);
  ck_assert_double_eq(stats_documents(), 2.0);
  /* Under a file (ENOTDIR) too; without --prune it is a usage error. */
  r = KIDX("index", "--prune", "p/b.txt/x");
  ASSERT_STATUS(r, 4);
  tu_assert_one_line(r.err, "kidx: cannot prune under p/b.txt/x: Not a "
                            "directory (");
  tu_run_free(&r);
  r = KIDX("index", "p/sub");
  ASSERT_STATUS(r, 2);
  tu_run_free(&r);
  /* The directory that holds it vouches that its files are gone. */
  INDEX_EXPECT("0 new, 0 changed, 1 unchanged, 1 removed", "--prune", "p");
  ck_assert_double_eq(stats_documents(), 1.0);
  assert_search_status("alphaword", 1);
  assert_search_status("betaword", 0);
}
END_TEST

/* Every input not indexed is counted as skipped, walk-time failures too;
 * symbolic links are not followed: warned about, not counted. */
START_TEST(test_skipped_counts_walk_failures) {
  write_text("w/a.txt", "A\nalphaword\n");
  write_text("w/bin.dat", "x");
  char *bin = tu_work_path("w/bin.dat");
  FILE *f = fopen(bin, "wb");
  ck_assert_ptr_nonnull(f);
  fwrite("bin\0ary", 1, 7, f);
  fclose(f);
  free(bin);
  char *dangling = tu_work_path("w/dangling.txt"),
       *loop = tu_work_path("w/loop.txt"), *fifo = tu_work_path("w/fifo");
  ck_assert_int_eq(symlink("nowhere.txt", dangling), 0);
  ck_assert_int_eq(symlink("loop.txt", loop), 0);
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  free(dangling);
  free(loop);
  free(fifo);
  tu_run r = KIDX("index", "w");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strstr(r.out, "1 new, 0 changed, 0 unchanged, 0 removed, "
                              "skipped 2 files\n") != NULL,
                "summary: %s", r.out);
  ck_assert_uint_eq(tu_count_lines(r.err), 4);
  ck_assert_ptr_nonnull(strstr(r.err, "kidx: warning: not following symbolic "
                                      "link w/dangling.txt\n"));
  tu_run_free(&r);
}
END_TEST

/* A document without a stamp (from --jsonl) is replaced by its file even
 * when the file's size and mtime are zero, like an all-zero stamp. */
START_TEST(test_zero_stamp_not_trusted) {
  write_text("z.jsonl", "{\"id\":\"z.txt\",\"body\":\"jsonword\"}\n");
  tu_run r = KIDX("index", "--jsonl", "z.jsonl");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  write_text("z.txt", "");
  set_mtime("z.txt", 0);
  INDEX_EXPECT("0 new, 1 changed, 0 unchanged, 0 removed", "z.txt");
  assert_search_status("jsonword", 1);
  ck_assert_double_eq(stats_documents(), 1.0);
  /* Now it has a stamp... all zero again for an empty file at the epoch,
   * so it is read again, but found unchanged by its hash. */
  INDEX_EXPECT("0 new, 0 changed, 1 unchanged, 0 removed", "z.txt");
}
END_TEST

/* Parameter ranges: at most 1e6; tiny values are not "below 0". */
START_TEST(test_param_ranges) {
  index_jsonl_text(OPS_JSONL);
  tu_run r = KIDX("search", "-i", "idx", "--title-weight", "2e6", "fox");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err, "kidx: --title-weight expects a number from 0 to "
                          "1e6, got '2e6'\n");
  tu_run_free(&r);
  r = KIDX("search", "-i", "idx", "--rank", "bm25", "--k1", "1000001", "fox");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err, "kidx: --k1 expects a number from 0 to 1e6, got "
                          "'1000001'\n");
  tu_run_free(&r);
  r = KIDX("search", "-i", "idx", "--body-weight", "1e400", "fox");
  ASSERT_STATUS(r, 2);
  tu_run_free(&r);
  r = KIDX("search", "-i", "idx", "--title-weight", "1e6", "--body-weight",
           "1e-400", "--rank", "bm25", "--k1", "1e-320", "fox");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

/* ====================================================================== */
/* Segments: --ram-budget, --merge-factor, optimize                       */
/* ====================================================================== */

/* Documents for the segment tests: enough text (about 110 KB) that the
 * smallest RAM budget must write several segments. */
#define GEN_DOCS  250
#define GEN_VOCAB 400

/* Writes GEN_DOCS files docs/dNNN.txt, a title of 5 words and a body of
 * 60, drawn from a vocabulary of made-up words (fixed seed), which it
 * returns in vocab. */
static void write_generated_docs(char vocab[GEN_VOCAB][16]) {
  static const char *const SYLLABLES[] = {"ka",  "to",  "ri", "mu",   "sel",
                                          "van", "dor", "pi", "lex",  "qua",
                                          "zen", "bo",  "fi", "gran", "tel"};
  const size_t nsyl = sizeof SYLLABLES / sizeof SYLLABLES[0];
  uint64_t seed = 42;
  for (size_t i = 0; i < GEN_VOCAB; i++) {
    vocab[i][0] = '\0';
    for (uint64_t k = 2 + next_random(&seed) % 3; k > 0; k--)
      strcat(vocab[i], SYLLABLES[next_random(&seed) % nsyl]);
  }
  for (size_t d = 0; d < GEN_DOCS; d++) {
    char name[32], text[65 * 16 + 8];
    size_t len = 0;
    for (size_t w = 0; w < 65; w++) {
      const char *word = vocab[next_random(&seed) % GEN_VOCAB];
      len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", word,
                              w == 4 || w == 64 ? "\n" : " ");
    }
    snprintf(name, sizeof name, "docs/d%03zu.txt", d);
    write_text(name, text);
  }
}

/* A number from 'kidx -i dir stats --json'. */
static double stats_num(const char *dir, const char *key) {
  tu_run r = KIDX("stats", "-i", dir, "--json");
  ASSERT_STATUS(r, 0);
  double v = json_num(r.out, key);
  tu_run_free(&r);
  return v;
}

/* Indexes docs/ into dir with the extra options (NULL-terminated). */
static void index_docs(const char *dir, ...) {
  const char *argv[16] = {KIDX_BIN, "index", "-i", dir};
  size_t n = 4;
  va_list ap;
  va_start(ap, dir);
  for (const char *a = va_arg(ap, const char *); a;
       a = va_arg(ap, const char *)) {
    ck_assert_uint_lt(n, 14);
    argv[n++] = a;
  }
  va_end(ap);
  argv[n++] = "docs";
  argv[n] = NULL;
  tu_run r = tu_exec(tu_work_dir(), argv, NULL);
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
#define INDEX_DOCS(...) index_docs(__VA_ARGS__, (const char *)NULL)

/* Asserts that every query gives byte for byte the same --json output
 * (ids, scores, snippets; with --explain, df and idf) from indexes a and
 * b, with both ranking models. */
static void assert_same_search(const char *a, const char *b,
                               char vocab[GEN_VOCAB][16]) {
  char any[64], all[64], op[64], prefix[16], phrase[64];
  snprintf(any, sizeof any, "%s %s %s", vocab[1], vocab[2], vocab[3]);
  snprintf(all, sizeof all, "%s %s", vocab[4], vocab[5]);
  snprintf(op, sizeof op, "(%s OR %s) -%s", vocab[6], vocab[7], vocab[8]);
  snprintf(prefix, sizeof prefix, "%.4s*", vocab[9]);
  /* The first two words of docs/d000.txt: a phrase with a hit. */
  char *first = tu_work_path("docs/d000.txt"),
       *text = tu_read_file(first, NULL);
  ck_assert_ptr_nonnull(text);
  char *sp = strchr(text, ' '), *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
  ck_assert_ptr_nonnull(sp2);
  snprintf(phrase, sizeof phrase, "\"%.*s\"", (int)(sp2 - text), text);
  free(text);
  free(first);
  const char *queries[] = {vocab[0], any, all, op, prefix, phrase};
  const char *ranks[] = {"tfidf", "bm25"};
  for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++)
    for (size_t k = 0; k < 2; k++) {
      const char *out[2];
      tu_run r[2];
      const char *dirs[2] = {a, b};
      for (size_t i = 0; i < 2; i++) {
        const char *argv[] = {KIDX_BIN,
                              "search",
                              "-i",
                              dirs[i],
                              "--json",
                              "-k",
                              "1000",
                              "--rank",
                              ranks[k],
                              q == 2 ? "--all" : "--any",
                              q == 0 ? "--explain" : "--any",
                              "--",
                              queries[q],
                              NULL};
        r[i] = tu_exec(tu_work_dir(), argv, NULL);
        ASSERT_STATUS(r[i], 0);
        out[i] = r[i].out;
      }
      ck_assert_msg(strcmp(out[0], out[1]) == 0,
                    "'%s' (%s) differs between %s and %s:\n%s\n---\n%s",
                    queries[q], ranks[k], a, b, out[0], out[1]);
      tu_run_free(&r[0]);
      tu_run_free(&r[1]);
    }
}

/* A small RAM budget writes several segments; search over them gives the
 * same hits and scores as over one; optimize merges them into one and
 * reclaims deleted documents, and search still gives the same. */
START_TEST(test_segments) {
  char vocab[GEN_VOCAB][16];
  write_generated_docs(vocab);
  INDEX_DOCS("whole");
  ck_assert_double_eq(stats_num("whole", "segments"), 1.0);
  INDEX_DOCS("small", "--ram-budget", "64K");
  double segments = stats_num("small", "segments");
  ck_assert_msg(segments > 1.0, "%g segments with --ram-budget 64K", segments);
  ck_assert_double_eq(stats_num("small", "documents"), GEN_DOCS);
  ck_assert_double_eq(stats_num("small", "generation"), 1.0);
  assert_same_search("whole", "small", vocab);

  /* The merge factor reaches the writer: with 1000 no merge happens, with
   * 2 at most one segment of each size is left. */
  INDEX_DOCS("unmerged", "--ram-budget=64K", "--merge-factor", "1000");
  INDEX_DOCS("merged", "--ram-budget", "65536", "--merge-factor=2");
  double unmerged = stats_num("unmerged", "segments"),
         merged = stats_num("merged", "segments");
  ck_assert_msg(unmerged >= 2.0 && merged < unmerged,
                "%g segments with --merge-factor 1000, %g with 2", unmerged,
                merged);
  assert_same_search("whole", "unmerged", vocab);
  assert_same_search("whole", "merged", vocab);

  tu_run r = KIDX("optimize", "-i", "small");
  ASSERT_STATUS(r, 0);
  char want[128];
  snprintf(want, sizeof want,
           "optimized: %d documents in 1 segment (was %.0f segments, 0 "
           "deleted documents reclaimed)\n",
           GEN_DOCS, segments);
  ck_assert_str_eq(r.out, want);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  ck_assert_double_eq(stats_num("small", "segments"), 1.0);
  ck_assert_double_eq(stats_num("small", "generation"), 2.0);
  assert_same_search("whole", "small", vocab);
  r = KIDX("check", "-i", "small");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);

  /* Nothing to do: nothing written, no new commit. */
  r = KIDX("optimize", "-i", "small");
  ASSERT_STATUS(r, 0);
  snprintf(want, sizeof want,
           "optimized: %d documents in 1 segment (was 1 segment, 0 deleted "
           "documents reclaimed)\n",
           GEN_DOCS);
  ck_assert_str_eq(r.out, want);
  tu_run_free(&r);
  ck_assert_double_eq(stats_num("small", "generation"), 2.0);

  /* A deleted document stays in its segment until optimize. */
  const char *dirs[] = {"small", "whole"};
  for (size_t i = 0; i < 2; i++) {
    r = KIDX("delete", "-i", dirs[i], "docs/d007.txt");
    ASSERT_STATUS(r, 0);
    tu_run_free(&r);
    ck_assert_double_eq(stats_num(dirs[i], "deleted"), 1.0);
    ck_assert_double_eq(stats_num(dirs[i], "documents"), GEN_DOCS - 1);
    ck_assert_double_eq(stats_num(dirs[i], "segments"), 1.0);
  }
  r = KIDX("optimize", "-i", "small");
  ASSERT_STATUS(r, 0);
  snprintf(want, sizeof want,
           "optimized: %d documents in 1 segment (was 1 segment, 1 deleted "
           "document reclaimed)\n",
           GEN_DOCS - 1);
  ck_assert_str_eq(r.out, want);
  tu_run_free(&r);
  ck_assert_double_eq(stats_num("small", "deleted"), 0.0);
  ck_assert_double_eq(stats_num("small", "segments"), 1.0);
  ck_assert_double_eq(stats_num("small", "generation"), 4.0);
  /* Statistics are those of the live documents: the same with the
   * deleted document reclaimed (small) or still held (whole). */
  assert_same_search("whole", "small", vocab);
  r = KIDX("check", "-i", "small");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
}
END_TEST

/* The sizes --ram-budget takes: bytes, K, M, G, either case. */
START_TEST(test_ram_budget_sizes) {
  write_text("docs/a.txt", "Alpha\nalphaword\n");
  const char *sizes[] = {"65536", "64K", "64k", "1M", "1m", "1G", "2g"};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    tu_run r = KIDX("index", "--ram-budget", sizes[i], "docs");
    ASSERT_STATUS(r, 0);
    ck_assert_str_eq(r.err, "");
    tu_run_free(&r);
  }
  tu_run r =
      KIDX("index", "--merge-factor", "1000", "--merge-factor=2", "docs");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  /* A usage error is found before the index is touched. */
  r = KIDX("index", "-i", "other", "--ram-budget", "1K", "docs");
  ASSERT_STATUS(r, 2);
  tu_run_free(&r);
  ck_assert(!exists("other"));
}
END_TEST

START_TEST(test_optimize_no_index) {
  tu_run r = KIDX("optimize");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(
      r.err, "kidx: no index at .kidx (run 'kidx index corpus/' first)\n");
  tu_run_free(&r);
  r = KIDX("optimize", "-i", "missing/idx", "--wait");
  ASSERT_STATUS(r, 3);
  tu_assert_one_line(r.err, "kidx: no index at missing/idx");
  tu_run_free(&r);
  /* Nothing created. */
  ck_assert(!exists(".kidx"));
  ck_assert(!exists("missing"));
}
END_TEST

START_TEST(test_optimize_locked) {
  index_corpus();
  char *dir = tu_work_path(".kidx");
  kidx_writer *w = NULL;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  tu_run r = KIDX("optimize");
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(r.out, "");
  tu_assert_one_line(r.err, "kidx: index at .kidx is locked by another writer");
  tu_run_free(&r);
  kidx_writer_close(w);
  free(dir);
  r = KIDX("optimize");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "optimized: 3 documents in 1 segment (was 1 "
                          "segment, 0 deleted documents reclaimed)\n");
  tu_run_free(&r);
}
END_TEST

static Suite *cli_suite(void) {
  Suite *s = suite_create("cli");
  struct {
    const char *name;
    const TTest *test;
    int loops;
  } cases[] = {
      {"index", test_index_summary, 0},
      {"top_hit", test_top_hit, (int)(sizeof TOP_HITS / sizeof TOP_HITS[0])},
      {"top_hit_bm25", test_top_hit_bm25,
       (int)(sizeof TOP_HITS / sizeof TOP_HITS[0])},
      {"query_words", test_query_words_joined, 0},
      {"json", test_json_keys, 0},
      {"human", test_human_output, 0},
      {"no_match", test_no_match, 0},
      {"paging", test_limit_and_offset, 0},
      {"rank", test_rank_models, 0},
      {"deterministic", test_deterministic_order, 0},
      {"missing_index", test_missing_index, 0},
      {"index_option", test_index_option_and_env, 0},
      {"random_bytes", test_random_bytes, 0},
      {"invalid_utf8", test_invalid_utf8, 0},
      {"titles", test_titles, 0},
      {"unreadable", test_unreadable_input, 0},
      {"empty_and_repeated", test_empty_and_repeated, 0},
      {"missing_path", test_missing_path, 0},
      {"walk", test_walk_skips, 0},
      {"flipped_byte", test_flipped_byte, FLIP_POSITIONS},
      {"flipped_byte_message", test_flipped_byte_message, 0},
      {"truncated", test_truncated_index, 2},
      {"lock", test_lock_busy, 0},
      {"reindex", test_reindex_replaces, 0},
      {"stats", test_stats, 0},
      {"analyze", test_analyze_default, 0},
      {"analyze_no_stem", test_analyze_no_stem, 0},
      {"analyze_stopwords", test_analyze_stopwords, 0},
      {"analyze_no_terms", test_analyze_no_terms, 0},
      {"analyze_stdin", test_analyze_stdin, 0},
      {"analyze_stdin_bytes", test_analyze_stdin_bytes, 0},
      {"analyze_large_stdin", test_analyze_large_stdin, 0},
      {"analyze_index", test_analyze_index, 0},
      {"stopword_index", test_stopword_index, 0},
      {"analyzer_mismatch", test_analyzer_mismatch,
       (int)(sizeof MISMATCHES / sizeof MISMATCHES[0])},
      {"analyzer_mismatch_dir", test_analyzer_mismatch_dir, 0},
      {"analyzer_kept", test_analyzer_kept, 0},
      {"stats_analyzer", test_stats_analyzer, 0},
      {"diacritics", test_analyze_diacritics, 0},
      {"version", test_version, 0},
      {"help", test_help, 0},
      {"usage_error", test_usage_error,
       (int)(sizeof USAGE_ERRORS / sizeof USAGE_ERRORS[0])},
      {"query_error", test_query_error, 0},
      {"operators", test_operators, 0},
      {"ranked_order", test_ranked_order, 0},
      {"all_any", test_all_any_counts, 0},
      {"ties", test_ties, 0},
      {"bad_query", test_bad_query,
       (int)(sizeof BAD_QUERIES / sizeof BAD_QUERIES[0])},
      {"long_query", test_long_query, 0},
      {"explain", test_explain_sums, 0},
      {"snippet_utf8", test_snippet_utf8, 0},
      {"snippet_invalid_utf8", test_snippet_invalid_utf8, 0},
      {"batch", test_batch, 0},
      {"jsonl", test_jsonl, 0},
      {"jsonl_inputs", test_jsonl_inputs, 0},
      {"jsonl_limits", test_jsonl_limits, 0},
      {"stored_bytes", test_stored_bytes, 0},
      {"bm25_params", test_bm25_params, 0},
      {"search_help", test_search_help, 0},
      {"incremental", test_incremental_unchanged_not_read, 0},
      {"incremental_recent", test_incremental_recent_file_is_read_again, 0},
      {"prune", test_prune, 0},
      {"jsonl_counts", test_jsonl_counts, 0},
      {"delete", test_delete, 0},
      {"delete_no_index", test_delete_no_index, 0},
      {"check", test_check_command, 0},
      {"lock_delete", test_lock_busy_delete, 0},
      {"closed_std_fds", test_closed_std_fds, 0},
      {"long_message", test_long_message_keeps_reason, 0},
      {"batch_unreadable", test_batch_unreadable, 0},
      {"batch_write_error", test_batch_write_error, 0},
      {"trailing_slashes", test_trailing_slashes, 0},
      {"prune_gone_path", test_prune_gone_path, 0},
      {"skipped_walk", test_skipped_counts_walk_failures, 0},
      {"zero_stamp", test_zero_stamp_not_trusted, 0},
      {"param_ranges", test_param_ranges, 0},
      {"segments", test_segments, 0},
      {"ram_budget_sizes", test_ram_budget_sizes, 0},
      {"optimize_no_index", test_optimize_no_index, 0},
      {"optimize_locked", test_optimize_locked, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_unchecked_fixture(tc, tu_case_setup, tu_case_teardown);
    tcase_add_checked_fixture(tc, tu_work_setup, tu_work_teardown);
    if (cases[i].loops)
      tcase_add_loop_test(tc, cases[i].test, 0, cases[i].loops);
    else
      tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

int main(void) {
  return tu_run_suite(cli_suite());
}
