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
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID_2024   "corpus/2024-kaspersky-winds-down-us-operations.txt"
#define ID_MARKET "corpus/2017-kaspersky-remains-in-us-market.txt"
#define ID_FBI    "corpus/2017-kaspersky-responds-to-fbi-claims.txt"

/* Temporary directories.  case_dir is made and removed by the test
 * runner process around each test case (an "unchecked" fixture), so it is
 * removed even when a test fails: a failing test exits its forked process
 * without running its own teardown.  Each test then works in a fresh
 * directory of its own inside it, work_dir (Check forks a process per
 * test, so these statics are per test). */
static char *case_dir;
static char *work_dir;

static void case_setup(void) {
  case_dir = tu_mkdtemp();
}

static void case_teardown(void) {
  tu_rmtree(case_dir);
  free(case_dir);
  case_dir = NULL;
}

static void setup(void) {
  size_t len = strlen(case_dir) + 16;
  work_dir = malloc(len);
  snprintf(work_dir, len, "%s/t.XXXXXX", case_dir);
  ck_assert_msg(mkdtemp(work_dir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void teardown(void) {
  tu_rmtree(work_dir);
  free(work_dir);
  work_dir = NULL;
}

/* ---- running kidx ---- */

/* Runs kidx with the given arguments (NULL-terminated) and environment
 * additions (NULL or a NULL-terminated list of "K=V") in work_dir. */
static tu_run run_kidx_v(const char *const *env, va_list ap) {
  const char *argv[64];
  size_t n = 0;
  argv[n++] = KIDX_BIN;
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL) {
    ck_assert_uint_lt(n, 63);
    argv[n++] = a;
  }
  argv[n] = NULL;
  return tu_exec(work_dir, argv, env);
}

static tu_run run_kidx(const char *first, ...) {
  va_list ap;
  va_start(ap, first);
  const char *argv[64];
  size_t n = 0;
  argv[n++] = KIDX_BIN;
  for (const char *a = first; a; a = va_arg(ap, const char *)) {
    ck_assert_uint_lt(n, 63);
    argv[n++] = a;
  }
  va_end(ap);
  argv[n] = NULL;
  return tu_exec(work_dir, argv, NULL);
}

static tu_run run_kidx_env(const char *const *env, ...) {
  va_list ap;
  va_start(ap, env);
  tu_run r = run_kidx_v(env, ap);
  va_end(ap);
  return r;
}

/* Runs kidx with standard input reading input[0..len). */
static tu_run run_kidx_input(const char *input, size_t len, ...) {
  va_list ap;
  va_start(ap, len);
  const char *argv[64];
  size_t n = 0;
  argv[n++] = KIDX_BIN;
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL) {
    ck_assert_uint_lt(n, 63);
    argv[n++] = a;
  }
  va_end(ap);
  argv[n] = NULL;
  return tu_exec_input(work_dir, argv, NULL, input, len);
}

#define KIDX(...)          run_kidx(__VA_ARGS__, (const char *)NULL)
#define KIDX_ENV(env, ...) run_kidx_env(env, __VA_ARGS__, (const char *)NULL)
#define KIDX_IN(input, len, ...)                                               \
  run_kidx_input(input, len, __VA_ARGS__, (const char *)NULL)

/* Asserts the status, with both outputs in the failure message. */
#define ASSERT_STATUS(r, want)                                                 \
  ck_assert_msg((r).status == (want),                                          \
                "exit status %d, expected %d\n--- stdout:\n%s--- stderr:\n%s", \
                (r).status, (want), (r).out, (r).err)

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* Asserts that s is exactly one line, starting with prefix. */
static void assert_one_line(const char *s, const char *prefix) {
  size_t len = strlen(s);
  ck_assert_msg(len > 0 && s[len - 1] == '\n' && count_lines(s) == 1,
                "expected one line, got:\n%s", s);
  ck_assert_msg(strncmp(s, prefix, strlen(prefix)) == 0,
                "expected a line starting with '%s', got:\n%s", prefix, s);
}

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
  size_t n = count_lines(out);
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
  tu_write_file(work_dir, name, text, strlen(text));
}

static char *work_path(const char *name) {
  size_t len = strlen(work_dir) + strlen(name) + 2;
  char *p = malloc(len);
  snprintf(p, len, "%s/%s", work_dir, name);
  return p;
}

static int exists(const char *name) {
  char *p = work_path(name);
  struct stat st;
  int ok = lstat(p, &st) == 0;
  free(p);
  return ok;
}

static void make_symlink(const char *target, const char *name) {
  char *p = work_path(name);
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
  tu_copy_corpus(work_dir);
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
  tu_copy_corpus(work_dir);
  tu_run r = KIDX("index", "corpus/");
  ASSERT_STATUS(r, 0);
  /* 3658 + 4094 + 8004 bytes, in decimal KB. */
  ck_assert_msg(strncmp(r.out, "indexed 3 documents (15.8 KB) in ", 33) == 0,
                "unexpected summary: %s", r.out);
  ck_assert_ptr_nonnull(strstr(r.out, " MB/s"));
  ck_assert_uint_eq(count_lines(r.out), 1);
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
  tu_run r = KIDX("search", "transparency", "centre");
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
  size_t n = count_lines(r.out);
  char *last = line_at(r.out, n - 1);
  unsigned shown, total;
  ck_assert_msg(sscanf(last, "%u of %u matching document", &shown, &total) == 2,
                "last line: %s", last);
  ck_assert_uint_eq(shown, n - 1);
  ck_assert_uint_ge(total, shown);
  free(first);
  free(last);
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
  ck_assert_uint_eq(count_lines(all.out), 3);
  assert_json_hits(all.out);
  char *first = line_at(all.out, 0), *second = line_at(all.out, 1),
       *third = line_at(all.out, 2);

  tu_run r = KIDX("search", "--json", "-k", "1", "Kaspersky");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(count_lines(r.out), 1);
  char *line = line_at(r.out, 0);
  ck_assert_str_eq(line, first);
  free(line);
  tu_run_free(&r);

  /* --offset 1 starts at the second hit of the unpaged list, ranked 2. */
  r = KIDX("search", "--json", "--offset", "1", "Kaspersky");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(count_lines(r.out), 2);
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
  ck_assert_uint_eq(count_lines(r.out), 1);
  free(line);
  tu_run_free(&r);
  r = KIDX("search", "-k1", "--json", "Kaspersky");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(count_lines(r.out), 1);
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
  ck_assert_uint_eq(count_lines(bm25.out), count_lines(tfidf.out));
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
  tu_copy_corpus(work_dir);
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
  tu_write_file(work_dir, "in/random.bin", data, SIZE);
  /* The same noise without NUL bytes is "text" and reaches the library's
   * tokenizer: a harder test of it than a skipped file. */
  for (size_t i = 0; i < SIZE; i++)
    if (data[i] == 0)
      data[i] = 0x80;
  tu_write_file(work_dir, "in/noise.txt", data, SIZE);
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
                              "\\ufffd end\"}") != NULL,
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
  /* A dangling symbolic link cannot be read (permissions would do too, but
   * tests may run as root). */
  write_text("in/a.txt", "Alpha\naardvark\n");
  write_text("in/c.txt", "Gamma\ncapybara\n");
  make_symlink("does-not-exist", "in/b.txt");
  tu_run r = KIDX("index", "in");
  ASSERT_STATUS(r, 4);
  ck_assert_str_eq(
      r.err,
      "kidx: warning: cannot read in/b.txt: No such file or directory\n");
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
  char *empty = work_path("empty");
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
  tu_copy_corpus(work_dir);
  r = KIDX("index", "corpus", "corpus/", ID_FBI, "corpus");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strncmp(r.out, "indexed 3 documents (15.8 KB)", 29) == 0,
                "got: %s", r.out);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_missing_path) {
  tu_copy_corpus(work_dir);
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
  make_symlink(".", "in/loop");         /* a cycle */
  make_symlink("a.txt", "in/link.txt"); /* a linked file is a file */
  /* An index inside the tree being indexed, not hidden. */
  tu_run r = KIDX("index", "-i", "in/idx", "in");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("index", "-i", "in/idx", "in"); /* now in/idx exists */
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_null(strstr(r.err, "in/idx"));
  tu_run_free(&r);
  r = KIDX("search", "-i", "in/idx", "--json", "aardvark");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(count_lines(r.out), 3);
  ck_assert_ptr_nonnull(strstr(r.out, "\"id\":\"in/a.txt\""));
  ck_assert_ptr_nonnull(strstr(r.out, "\"id\":\"in/link.txt\""));
  ck_assert_ptr_nonnull(strstr(r.out, "\"id\":\"in/sub/deeper/d.txt\""));
  tu_run_free(&r);
  /* A hidden file named on the command line is indexed. */
  r = KIDX("index", "-i", "in/idx", "in/.hidden.txt");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("stats", "-i", "in/idx", "--json");
  ck_assert_double_eq(json_num(r.out, "documents"), 4.0);
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
  char *dir = work_path(".kidx"), path[4096] = "";
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

  tu_run r = KIDX("search", "transparency", "centre");
  ck_assert_msg(r.status == 3,
                "flipping byte %lld of %s (%lld bytes): status %d\n%s%s",
                (long long)pos, path, (long long)size, r.status, r.out, r.err);
  ck_assert_str_eq(r.out, "");
  assert_one_line(r.err, "kidx: ");
  tu_run_free(&r);
  r = KIDX("stats");
  ASSERT_STATUS(r, 3);
  assert_one_line(r.err, "kidx: ");
  tu_run_free(&r);
  free(dir);
}
END_TEST

START_TEST(test_flipped_byte_message) {
  /* The middle of the largest file is data under a checksum: the index is
   * there but unusable. */
  index_corpus();
  char *dir = work_path(".kidx"), path[4096] = "";
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
  assert_one_line(r.err, "kidx: index at .kidx is unusable: ");
  tu_run_free(&r);
  free(dir);
}
END_TEST

START_TEST(test_truncated_index) {
  index_corpus();
  char *dir = work_path(".kidx"), path[4096] = "";
  off_t size = 0;
  largest_file(dir, path, sizeof path, &size);
  ck_assert_int_eq(truncate(path, _i == 0 ? size / 2 : 0), 0);
  tu_run r = KIDX("search", "transparency", "centre");
  ASSERT_STATUS(r, 3);
  assert_one_line(r.err, "kidx: ");
  tu_run_free(&r);
  free(dir);
}
END_TEST

START_TEST(test_lock_busy) {
  tu_copy_corpus(work_dir);
  /* This test process holds the writer lock; kidx runs in another. */
  char *dir = work_path(".kidx");
  kidx_writer *w = NULL;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  tu_run r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 3);
  assert_one_line(r.err, "kidx: index at .kidx is locked by another writer");
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
  ck_assert_uint_eq(count_lines(r.out), 1);
  ck_assert_double_eq(json_num(r.out, "documents"), 3.0);
  double terms = json_num(r.out, "terms"), tokens = json_num(r.out, "tokens");
  ck_assert_double_gt(terms, 100.0);
  ck_assert_double_gt(tokens, terms);
  ck_assert_double_gt(json_num(r.out, "bytes"), 0.0);
  /* The analysis of an index made without options: the defaults. */
  assert_json_analyzer(r.out, "english", "none", "on");
  tu_run_free(&r);

  r = KIDX("stats");
  ASSERT_STATUS(r, 0);
  const char *keys[] = {"\ndocuments ",
                        "\nterms ",
                        "\ntokens ",
                        "\nbytes ",
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
  size_t n = count_lines(r.out), last_end = 0;
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
  ck_assert_uint_eq(count_lines(r.out), WORDS);
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
  assert_one_line(r.err, "kidx: query error: ");
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
  tu_run r = tu_exec(work_dir, argv, NULL);
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
  tu_copy_corpus(work_dir);
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
  ck_assert_uint_eq(count_lines(r.out), 1);
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
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);

  const char *cmds[] = {"index", "search", "analyze", "stats"};
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
  const char *argv[6];
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
     "kidx: index needs at least one PATH (see 'kidx index --help')"},
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
};

START_TEST(test_usage_error) {
  const char *argv[8] = {KIDX_BIN};
  size_t n = 1;
  for (size_t i = 0; USAGE_ERRORS[_i].argv[i]; i++)
    argv[n++] = USAGE_ERRORS[_i].argv[i];
  argv[n] = NULL;
  tu_run r = tu_exec(work_dir, argv, NULL);
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
    assert_one_line(r.err, "kidx: query error: ");
    tu_run_free(&r);
  }
  /* After "--", a word starting with '-' is a query word. */
  tu_run r = KIDX("search", "--json", "--", "-transparency");
  ASSERT_STATUS(r, 0);
  char *id = top_id(&r);
  ck_assert_str_eq(id, ID_2024);
  free(id);
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
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
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
