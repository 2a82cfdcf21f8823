/*
 * check_cli_index.c -- end-to-end tests of `kidx index` as a newcomer meets
 * it: warnings rationed per kind (--quiet, --verbose), a run that indexes
 * nothing saying so, one document per file however the file is named, the
 * index's recorded roots and re-syncing them, and hidden and ignored files.
 *
 * Like check_cli.c, each test runs the built binary (KIDX_BIN) in a fresh
 * directory of its own and checks what a user or script sees: exit
 * statuses, the summary line, stderr line by line, and the index's
 * contents through `kidx stats --json` and `kidx search --json`.
 */
#define _XOPEN_SOURCE 700 /* realpath() */

#include "kidx_int.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- files ---- */

/* Files are written with a modification time in the past: a file
 * modified in the 2 seconds before a run gets a stamp the next run does
 * not trust (stamps.c), so a slow run (under sanitizers) would read it
 * again and restamp it, and "nothing changed" would depend on timing.
 * Tests change files' sizes when they mean them to look changed. */
#define PAST 1600000000

static void write_text(const char *name, const char *text) {
  tu_write_file(tu_work_dir(), name, text, strlen(text));
  char *p = tu_work_path(name);
  struct timespec times[2] = {{PAST, 0}, {PAST, 0}};
  ck_assert_msg(utimensat(AT_FDCWD, p, times, 0) == 0, "utimensat %s: %s", p,
                strerror(errno));
  free(p);
}

/* A small file that kidx takes for binary: a NUL byte early on. */
static void write_binary(const char *name) {
  tu_write_file(tu_work_dir(), name, "gz\0\x1f\x8b", 5);
}

static void make_dir(const char *name) {
  char *p = tu_work_path(name);
  ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p,
                strerror(errno));
  free(p);
}

static void make_fifo(const char *name) {
  char *p = tu_work_path(name);
  ck_assert_msg(mkfifo(p, 0600) == 0, "mkfifo %s: %s", p, strerror(errno));
  free(p);
}

static void make_symlink(const char *target, const char *name) {
  char *p = tu_work_path(name);
  ck_assert_msg(symlink(target, p) == 0, "symlink %s: %s", p, strerror(errno));
  free(p);
}

static void set_mode(const char *name, mode_t mode) {
  char *p = tu_work_path(name);
  ck_assert_msg(chmod(p, mode) == 0, "chmod %s: %s", p, strerror(errno));
  free(p);
}

static void remove_file(const char *name) {
  char *p = tu_work_path(name);
  ck_assert_msg(unlink(p) == 0, "unlink %s: %s", p, strerror(errno));
  free(p);
}

/* ---- running kidx ---- */

/* Runs kidx in the work directory's subdirectory sub ("" for the work
 * directory itself) with the arguments that follow (NULL-terminated). */
static tu_run kidx_in(const char *sub, ...) {
  const char *argv[32];
  size_t n = 0;
  argv[n++] = KIDX_BIN;
  va_list ap;
  va_start(ap, sub);
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL) {
    ck_assert_uint_lt(n, 31);
    argv[n++] = a;
  }
  va_end(ap);
  argv[n] = NULL;
  char *cwd = tu_work_path(sub);
  tu_run r = tu_exec(cwd, argv, NULL);
  free(cwd);
  return r;
}
#define KIDX_AT(sub, ...) kidx_in(sub, __VA_ARGS__, (const char *)NULL)

/* Line i (0-based) of s, without its newline, malloc'ed; "" past the end. */
static char *line_at(const char *s, size_t i) {
  for (; i > 0 && *s; i--) {
    const char *nl = strchr(s, '\n');
    s = nl ? nl + 1 : s + strlen(s);
  }
  const char *nl = strchr(s, '\n');
  size_t len = nl ? (size_t)(nl - s) : strlen(s);
  char *out = malloc(len + 1);
  ck_assert_ptr_nonnull(out);
  memcpy(out, s, len);
  out[len] = '\0';
  return out;
}

/* Asserts that line i of s is exactly want. */
static void assert_line(const char *s, size_t i, const char *want) {
  char *line = line_at(s, i);
  ck_assert_msg(strcmp(line, want) == 0,
                "line %zu is '%s', expected '%s' in:\n%s", i, line, want, s);
  free(line);
}

/* How many lines of s start with prefix. */
static size_t count_prefixed(const char *s, const char *prefix) {
  size_t n = 0, len = strlen(prefix);
  for (const char *p = s; *p;) {
    n += strncmp(p, prefix, len) == 0;
    const char *nl = strchr(p, '\n');
    p = nl ? nl + 1 : p + strlen(p);
  }
  return n;
}

/* Asserts that the summary line on stdout holds counts ("A new, B
 * changed, C unchanged, D removed", or a part of it). */
static void assert_counts(const tu_run *r, const char *counts) {
  ck_assert_msg(strncmp(r->out, "indexed ", 8) == 0 &&
                    strstr(r->out, counts) != NULL,
                "expected '%s' in: %s", counts, r->out);
}

/* ---- reading the index ---- */

/* The number after "key": in a one-line JSON object. */
static double json_number(const char *line, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(line, pat);
  ck_assert_msg(p != NULL, "no \"%s\" in: %s", key, line);
  return strtod(p + strlen(pat), NULL);
}

/* Documents in the index, asked from directory sub with -i index. */
static double documents_at(const char *sub, const char *index) {
  tu_run r = KIDX_AT(sub, "stats", "-i", index, "--json");
  ASSERT_STATUS(r, 0);
  double n = json_number(r.out, "documents");
  tu_run_free(&r);
  return n;
}
#define DOCUMENTS() documents_at("", ".kidx")

/* The search --json output for word (malloc'ed), from the work
 * directory. */
static char *hits_json(const char *word) {
  tu_run r = KIDX_AT("", "search", "--json", word);
  ck_assert_msg(r.status == 0 || r.status == 1, "search %s: %d %s", word,
                r.status, r.err);
  char *out = r.out;
  r.out = NULL;
  tu_run_free(&r);
  return out;
}

static size_t hit_count(const char *word) {
  char *out = hits_json(word);
  size_t n = tu_count_lines(out);
  free(out);
  return n;
}

/* Whether the hits for word include the document id. */
static bool has_hit(const char *word, const char *id) {
  char *out = hits_json(word), pat[4400];
  snprintf(pat, sizeof pat, "\"id\":\"%s\"", id);
  bool found = strstr(out, pat) != NULL;
  free(out);
  return found;
}

/* Runs kidx index in sub with the arguments and checks status 0 and the
 * summary's counts. */
static void index_at(const char *sub, const char *counts, ...) {
  const char *argv[32];
  size_t n = 0;
  argv[n++] = KIDX_BIN;
  argv[n++] = "index";
  va_list ap;
  va_start(ap, counts);
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL && n < 31)
    argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  char *cwd = tu_work_path(sub);
  tu_run r = tu_exec(cwd, argv, NULL);
  free(cwd);
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strstr(r.out, counts) != NULL, "expected '%s' in: %s", counts,
                r.out);
  tu_run_free(&r);
}
#define INDEX_AT(...) index_at(__VA_ARGS__, (const char *)NULL)

/* The generation of the index in the work directory. */
static double generation(void) {
  tu_run r = KIDX_AT("", "stats", "--json");
  ASSERT_STATUS(r, 0);
  double g = json_number(r.out, "generation");
  tu_run_free(&r);
  return g;
}

/* The stats --json "roots" array as printed, each root's object but for
 * its id dropped when it has no options: ["corpus","docs"] for
 * [{"id":"corpus","hidden":false,"no_ignore":false},{"id":"docs",...}]. */
static char *roots_json(const char *sub, const char *index) {
  tu_run r = KIDX_AT(sub, "stats", "-i", index, "--json");
  ASSERT_STATUS(r, 0);
  const char *p = strstr(r.out, "\"roots\":");
  ck_assert_ptr_nonnull(p);
  p += strlen("\"roots\":");
  const char *e = strstr(p, "],\"base\":");
  ck_assert_ptr_nonnull(e);
  size_t len = (size_t)(e - p) + 1;
  char *out = malloc(len + 1);
  size_t n = 0;
  const char *plain = ",\"hidden\":false,\"no_ignore\":false}";
  for (const char *q = p; q < e + 1;) {
    if (strncmp(q, "{\"id\":", 6) == 0) {
      const char *end = strstr(q, plain);
      if (end && end < e && !memchr(q, '}', (size_t)(end - q))) {
        /* the id alone */
        memcpy(out + n, q + 6, (size_t)(end - q - 6));
        n += (size_t)(end - q - 6);
        q = end + strlen(plain);
        continue;
      }
    }
    out[n++] = *q++;
  }
  out[n] = '\0';
  tu_run_free(&r);
  return out;
}

static void assert_roots(const char *want) {
  char *got = roots_json("", ".kidx");
  ck_assert_msg(strcmp(got, want) == 0, "roots %s, expected %s", got, want);
  free(got);
}

/* A small tree: three files, one in a subdirectory. */
static void write_corpus(void) {
  write_text("corpus/a.txt", "Alpha\naardvark\n");
  write_text("corpus/b.txt", "Beta\nbadger\n");
  write_text("corpus/sub/c.txt", "Gamma\ncapybara\n");
}

/* ---- warnings rationed per kind ---- */

/* Twelve binary files: five are named, then one line counts them all. */
START_TEST(test_warnings_rationed) {
  write_text("in/a.txt", "Alpha\naardvark\n");
  for (int i = 0; i < 12; i++) {
    char name[32];
    snprintf(name, sizeof name, "in/b%02d.gz", i);
    write_binary(name);
  }
  tu_run r = KIDX_AT("", "index", "in");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "1 new, 0 changed, 0 unchanged, 0 removed, skipped 12 "
                    "files\n");
  ck_assert_uint_eq(tu_count_lines(r.err), 6);
  for (size_t i = 0; i < 5; i++) {
    char want[64];
    snprintf(want, sizeof want,
             "kidx: warning: skipping binary file in/b%02zu.gz", i);
    assert_line(r.err, i, want);
  }
  assert_line(r.err, 5,
              "kidx: warning: skipped 12 binary or compressed files "
              "(--verbose lists them)");
  tu_run_free(&r);
  /* Exactly the limit: no count line, every one named. */
  for (int i = 5; i < 12; i++) {
    char name[32];
    snprintf(name, sizeof name, "in/b%02d.gz", i);
    remove_file(name);
  }
  r = KIDX_AT("", "index", "in");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.err), 5);
  ck_assert_uint_eq(count_prefixed(r.err, "kidx: warning: skipping binary"), 5);
  tu_run_free(&r);
}
END_TEST

/* --verbose names every one and counts nothing; --quiet prints no warning
 * but keeps the summary line; the last of the two wins. */
START_TEST(test_warnings_verbose_quiet) {
  write_text("in/a.txt", "Alpha\naardvark\n");
  for (int i = 0; i < 8; i++) {
    char name[32];
    snprintf(name, sizeof name, "in/b%d.gz", i);
    write_binary(name);
  }
  const char *verbose[] = {"--verbose", "-v", "-q"};
  for (size_t k = 0; k < 3; k++) {
    tu_run r = k < 2 ? KIDX_AT("", "index", verbose[k], "in")
                     : KIDX_AT("", "index", "-q", "in", "--verbose");
    ASSERT_STATUS(r, 0);
    ck_assert_uint_eq(tu_count_lines(r.err), 8);
    ck_assert_uint_eq(count_prefixed(r.err, "kidx: warning: skipping binary"),
                      8);
    tu_run_free(&r);
  }
  const char *quiet[] = {"--quiet", "-q"};
  for (size_t k = 0; k < 2; k++) {
    tu_run r = KIDX_AT("", "index", quiet[k], "in");
    ASSERT_STATUS(r, 0);
    ck_assert_str_eq(r.err, "");
    assert_counts(&r, "skipped 8 files\n");
    tu_run_free(&r);
  }
  /* Errors still print with --quiet. */
  tu_run r = KIDX_AT("", "index", "-q", "nosuch");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err,
                   "kidx: cannot read nosuch: No such file or directory\n");
  tu_run_free(&r);
}
END_TEST

/* Each kind has its own ration and its own count line. */
START_TEST(test_warnings_per_kind) {
  write_text("in/a.txt", "Alpha\naardvark\n");
  make_dir("in/d");
  for (int i = 0; i < 7; i++) {
    char name[32];
    snprintf(name, sizeof name, "in/b%d.gz", i);
    write_binary(name);
    snprintf(name, sizeof name, "in/f%d", i);
    make_fifo(name);
    snprintf(name, sizeof name, "in/l%d", i);
    make_symlink("d", name);
  }
  make_symlink("nowhere", "in/dangling"); /* a link like the others */
  tu_run r = KIDX_AT("", "index", "in");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(count_prefixed(r.err, "kidx: warning: skipping binary"), 5);
  ck_assert_uint_eq(count_prefixed(r.err, "kidx: warning: skipping in/f"), 5);
  ck_assert_uint_eq(
      count_prefixed(r.err, "kidx: warning: not following symbolic link"), 5);
  ck_assert_ptr_nonnull(strstr(r.err, "kidx: warning: skipped 7 binary or "
                                      "compressed files (--verbose lists "
                                      "them)\n"));
  ck_assert_ptr_nonnull(strstr(r.err, "kidx: warning: skipped 7 files that are "
                                      "not regular files (--verbose lists "
                                      "them)\n"));
  ck_assert_ptr_nonnull(strstr(r.err, "kidx: warning: did not follow 8 "
                                      "symbolic links (--verbose lists "
                                      "them)\n"));
  ck_assert_uint_eq(tu_count_lines(r.err), 5 + 5 + 5 + 3);
  assert_counts(&r, "1 new, 0 changed, 0 unchanged, 0 removed, skipped 14 "
                    "files\n");
  tu_run_free(&r);
}
END_TEST

/* ---- a run that indexes nothing ---- */

START_TEST(test_nothing_indexed) {
  for (int i = 0; i < 8; i++) {
    char name[32];
    snprintf(name, sizeof name, "man1/p%d.1.gz", i);
    write_binary(name);
  }
  tu_run r = KIDX_AT("", "index", "man1");
  ASSERT_STATUS(r, 1);
  assert_counts(&r, "0 new, 0 changed, 0 unchanged, 0 removed, skipped 8 "
                    "files\n");
  size_t n = tu_count_lines(r.err);
  ck_assert_uint_eq(n, 7);
  assert_line(r.err, n - 1,
              "kidx: nothing indexed: all 8 files under man1 were skipped "
              "(binary or compressed: 8)");
  tu_run_free(&r);
  /* --quiet silences the warnings, not the verdict. */
  r = KIDX_AT("", "index", "-q", "man1");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.err, "kidx: nothing indexed: all 8 files under man1 were "
                          "skipped (binary or compressed: 8)\n");
  tu_run_free(&r);
  /* Several PATHs, one file. */
  write_binary("one.gz");
  r = KIDX_AT("", "index", "-q", "one.gz");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.err, "kidx: nothing indexed: 1 file under one.gz was "
                          "skipped (binary or compressed: 1)\n");
  tu_run_free(&r);
  r = KIDX_AT("", "index", "-q", "one.gz", "man1");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.err, "kidx: nothing indexed: all 9 files under the 2 "
                          "PATHs given were skipped (binary or compressed: "
                          "9)\n");
  tu_run_free(&r);
}
END_TEST

/* Not "nothing indexed": an empty directory, or files left unchanged. */
START_TEST(test_nothing_indexed_exceptions) {
  make_dir("empty");
  tu_run r = KIDX_AT("", "index", "empty");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  write_text("in/a.txt", "Alpha\naardvark\n");
  write_binary("in/b.gz");
  r = KIDX_AT("", "index", "-q", "in");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX_AT("", "index", "-q", "in");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "0 new, 0 changed, 1 unchanged");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

/* Unreadable inputs keep exit status 4, and the breakdown names them. */
START_TEST(test_nothing_indexed_unreadable) {
  /* Root reads anything: as nobody. */
  if (!tu_unprivileged("nothing_indexed_unreadable"))
    return;
  write_text("in/locked.txt", "Locked\nlemur\n");
  set_mode("in/locked.txt", 0);
  write_binary("in/b.gz");
  tu_run r = KIDX_AT("", "index", "-q", "in");
  ASSERT_STATUS(r, 4);
  ck_assert_str_eq(r.err, "kidx: nothing indexed: all 2 files under in were "
                          "skipped (unreadable: 1, binary or compressed: "
                          "1)\n");
  tu_run_free(&r);
  /* Only links to directories: no file at all could be indexed. */
  write_text("d/x.txt", "X\nxylophone\n");
  make_dir("only");
  make_symlink("../d", "only/link");
  r = KIDX_AT("", "index", "only");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.err, "kidx: warning: not following symbolic link "
                          "only/link\n"
                          "kidx: nothing indexed: no file under only could "
                          "be indexed (symbolic links: 1)\n");
  tu_run_free(&r);
}
END_TEST

/* Counts in messages for people carry thousands separators. */
START_TEST(test_thousands_separators) {
  for (int i = 0; i < 1001; i++) {
    char name[32];
    snprintf(name, sizeof name, "many/f%04d.gz", i);
    write_binary(name);
  }
  tu_run r = KIDX_AT("", "index", "many");
  ASSERT_STATUS(r, 1);
  assert_counts(&r, "skipped 1001 files\n"); /* the parsed line: digits */
  ck_assert_ptr_nonnull(strstr(r.err, "kidx: warning: skipped 1,001 binary or "
                                      "compressed files (--verbose lists "
                                      "them)\n"));
  ck_assert_ptr_nonnull(strstr(r.err, "kidx: nothing indexed: all 1,001 files "
                                      "under many were skipped (binary or "
                                      "compressed: 1,001)\n"));
  ck_assert_uint_eq(tu_count_lines(r.err), 7);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_help_warnings) {
  tu_run r = KIDX_AT("", "index", "--help");
  ASSERT_STATUS(r, 0);
  const char *documented[] = {"-q, --quiet", "-v, --verbose",
                              "1 nothing to index", "(--verbose lists them)",
                              "nothing indexed"};
  for (size_t i = 0; i < sizeof documented / sizeof documented[0]; i++)
    ck_assert_msg(strstr(r.out, documented[i]) != NULL,
                  "'%s' not in 'kidx index --help'", documented[i]);
  tu_run_free(&r);
  r = KIDX_AT("", "--help");
  ck_assert_ptr_nonnull(strstr(r.out, "index\n     found nothing to index"));
  tu_run_free(&r);
}
END_TEST

/* ---- one file, one document ---- */

/* However the directory is named -- relative, ./ with slashes, absolute,
 * from inside it with -i, through a symbolic link -- its files keep their
 * ids: one document each. */
START_TEST(test_one_file_one_document) {
  write_corpus();
  make_symlink("corpus", "link");
  INDEX_AT("", "3 new, 0 changed, 0 unchanged, 0 removed", "corpus");
  char *abs = tu_work_path("corpus");
  INDEX_AT("", "0 new, 0 changed, 3 unchanged", "./corpus/");
  INDEX_AT("", "0 new, 0 changed, 3 unchanged", abs);
  INDEX_AT("", "0 new, 0 changed, 3 unchanged", "corpus//");
  INDEX_AT("corpus", "0 new, 0 changed, 3 unchanged", "-i", "../.kidx", ".");
  INDEX_AT("corpus/sub", "0 new, 0 changed, 3 unchanged", "-i", "../../.kidx",
           "..");
  INDEX_AT("", "0 new, 0 changed, 3 unchanged", "link");
  INDEX_AT("", "0 new, 0 changed, 1 unchanged", "link/sub/c.txt");
  INDEX_AT("", "0 new, 0 changed, 3 unchanged", "corpus", "./corpus", abs,
           "corpus/a.txt");
  free(abs);
  ck_assert_double_eq(DOCUMENTS(), 3.0);
  ck_assert_uint_eq(hit_count("aardvark"), 1);
  ck_assert(has_hit("aardvark", "corpus/a.txt"));
  ck_assert(has_hit("capybara", "corpus/sub/c.txt"));
  /* Every spelling named the same root; the files named on their own are
   * roots of their own. */
  assert_roots("[\"corpus\",\"corpus/a.txt\",\"corpus/sub/c.txt\"]");
  /* Nothing changed, so nothing was written after the first commit but
   * the roots of the files named alone. */
  ck_assert_double_eq(generation(), 3.0);
}
END_TEST

/* An index outside the current directory: its base is the directory
 * holding it.  Files under the base get ids relative to it, the others
 * absolute ids. */
START_TEST(test_index_elsewhere) {
  write_text("store/notes/n.txt", "Note\nnarwhal\n");
  write_text("docs/d.txt", "Doc\ndingo\n");
  /* Ids are canonical paths: a $TMPDIR through a symbolic link is
   * resolved. */
  char *idx = tu_work_path("store/idx"), *docs_path = tu_work_path("docs");
  char *docs = realpath(docs_path, NULL);
  ck_assert_ptr_nonnull(docs);
  free(docs_path);
  INDEX_AT("", "2 new", "-i", idx, "docs", "store/notes");
  char want[4096];
  tu_run r = KIDX_AT("", "search", "-i", idx, "--json", "dingo");
  ASSERT_STATUS(r, 0);
  snprintf(want, sizeof want, "\"id\":\"%s/d.txt\"", docs);
  ck_assert_msg(strstr(r.out, want) != NULL, "%s not in %s", want, r.out);
  tu_run_free(&r);
  r = KIDX_AT("", "search", "-i", idx, "--json", "narwhal");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "\"id\":\"notes/n.txt\""));
  tu_run_free(&r);
  /* The same from anywhere: the store itself, or docs. */
  INDEX_AT("store", "0 new, 0 changed, 2 unchanged", "-i", "idx", docs,
           "notes");
  INDEX_AT("docs", "0 new, 0 changed, 1 unchanged", "-i", idx, ".");
  ck_assert_double_eq(documents_at("docs", idx), 2.0);
  char *roots = roots_json("", idx);
  snprintf(want, sizeof want, "[\"%s\",\"notes\"]", docs);
  ck_assert_msg(strcmp(roots, want) == 0, "roots %s, expected %s", roots, want);
  free(roots);
  /* A re-sync names files as reachable from where it runs: relative
   * below the current directory, else absolute. */
  write_binary("docs/z.gz");
  r = KIDX_AT("", "index", "-i", idx);
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "kidx: warning: skipping binary file docs/z.gz\n");
  tu_run_free(&r);
  r = KIDX_AT("store", "index", "-i", "idx");
  ASSERT_STATUS(r, 0);
  snprintf(want, sizeof want, "kidx: warning: skipping binary file %s/z.gz\n",
           docs);
  ck_assert_str_eq(r.err, want);
  tu_run_free(&r);
  remove_file("docs/z.gz");
  /* $KIDX_INDEX names it the same way. */
  char env[4200];
  snprintf(env, sizeof env, "KIDX_INDEX=%s", idx);
  const char *envv[] = {env, NULL};
  const char *argv[] = {KIDX_BIN, "index", NULL};
  r = tu_exec(tu_work_dir(), argv, envv);
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "0 new, 0 changed, 2 unchanged, 0 removed");
  tu_run_free(&r);
  free(idx);
  free(docs);
}
END_TEST

/* The base is the directory holding the index directory, whatever the
 * spelling of -i: "./.kidx/" and ".kidx/." name the same index, so give
 * the same ids. */
START_TEST(test_base_spellings) {
  write_corpus();
  INDEX_AT("", "3 new", "corpus");
  INDEX_AT("", "0 new, 0 changed, 3 unchanged", "-i", "./.kidx/", "corpus");
  INDEX_AT("", "0 new, 0 changed, 3 unchanged", "-i", ".kidx/.", "corpus");
  INDEX_AT("corpus/sub", "0 new, 0 changed, 1 unchanged", "-i",
           "../sub/../../.kidx/.", ".");
  ck_assert_double_eq(DOCUMENTS(), 3.0);
  assert_roots("[\"corpus\",\"corpus/sub\"]");
}
END_TEST

/* A PATH that holds the base (.. of the base, or its absolute path):
 * the files under the base keep their relative ids, the others get
 * absolute ones, whichever way it is named; --prune and --forget of it
 * reach the relative ids too. */
START_TEST(test_root_above_base) {
  write_corpus();
  write_text("../outside.txt", "Outside\nocelot\n");
  INDEX_AT("", "3 new", "corpus");
  INDEX_AT("", "1 new, 0 changed, 3 unchanged", "..");
  char *up = tu_work_path(".."), *real = realpath(up, NULL);
  ck_assert_ptr_nonnull(real);
  INDEX_AT("corpus", "0 new, 0 changed, 4 unchanged", "-i", "../.kidx", real);
  ck_assert_double_eq(DOCUMENTS(), 4.0);
  ck_assert(has_hit("aardvark", "corpus/a.txt"));
  char want[4200], roots[4300];
  snprintf(want, sizeof want, "%s/outside.txt", real);
  ck_assert(has_hit("ocelot", want));
  snprintf(roots, sizeof roots, "[\"%s\",\"corpus\"]", real);
  assert_roots(roots);
  /* Pruned through it. */
  remove_file("corpus/b.txt");
  INDEX_AT("", "0 new, 0 changed, 3 unchanged, 1 removed", "--prune", "..");
  /* The root above covers corpus: forgetting corpus keeps its files. */
  tu_run r = KIDX_AT("", "index", "--forget", "corpus");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "0 removed");
  tu_run_free(&r);
  INDEX_AT("", "3 removed", "--forget", "..");
  ck_assert_double_eq(DOCUMENTS(), 0.0);
  assert_roots("[]");
  free(up);
  free(real);
}
END_TEST

/* Ids from kidx 0.3, kept as typed ("corpus//a.txt", "corpus/./b.txt"),
 * are not what a walk produces: they are never taken for gone files, and
 * a run that prunes says once that they are there. */
START_TEST(test_legacy_ids_kept) {
  write_corpus();
  INDEX_AT("", "3 new", "corpus");
  char *idx = tu_work_path(".kidx");
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, idx), KIDX_OK);
  kidx_stamp st = {5, 1600000000000000000, 42};
  const char *old[] = {"corpus//a.txt", "corpus/./b.txt"};
  for (size_t i = 0; i < 2; i++)
    ck_assert_int_eq(kidx_writer_add_stamped(w, old[i], strlen(old[i]), "Old",
                                             3, "oldword", 7, &st),
                     KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  free(idx);
  tu_run r = KIDX_AT("", "index");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "0 new, 0 changed, 3 unchanged, 0 removed");
  ck_assert_str_eq(r.err, "kidx: 2 documents have an id from an older kidx "
                          "(such as 'corpus//a.txt'), never pruned: rebuild "
                          "the index (remove .kidx, then index the PATHs "
                          "again) or remove them with 'kidx delete'\n");
  tu_run_free(&r);
  r = KIDX_AT("", "index", "-q", "--prune", "corpus");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "0 removed");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  ck_assert_double_eq(DOCUMENTS(), 5.0);
}
END_TEST

/* Roots are ids as kidx makes them: a recorded "../x" is refused. */
START_TEST(test_roots_not_normal) {
  write_corpus();
  INDEX_AT("", "3 new", "corpus");
  char *idx = tu_work_path(".kidx");
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, idx), KIDX_OK);
  ck_assert_int_eq(
      kidx_writer_set_metadata(w, "kidx.cli.roots", 14, ":../x\0", 6), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  free(idx);
  tu_run r = KIDX_AT("", "index");
  ASSERT_STATUS(r, 3);
  tu_assert_one_line(r.err, "kidx: index at .kidx records its roots");
  tu_run_free(&r);
}
END_TEST

/* Symbolic links met while walking are not followed, to directories (a
 * loop ends) or to files (no second document for one file); a PATH that
 * is a link is followed, to the same documents. */
START_TEST(test_symlinks_not_followed) {
  write_corpus();
  make_symlink(".", "corpus/loop");
  make_symlink("..", "corpus/sub/up");
  make_symlink("self", "corpus/self");
  make_symlink("a.txt", "corpus/link.txt");
  make_symlink("../outside.txt", "corpus/out.txt");
  write_text("outside.txt", "Outside\nocelot\n");
  tu_run r = KIDX_AT("", "index", "-v", "corpus");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "3 new, 0 changed, 0 unchanged, 0 removed\n");
  ck_assert_uint_eq(
      count_prefixed(r.err, "kidx: warning: not following symbolic link "), 5);
  ck_assert_uint_eq(tu_count_lines(r.err), 5);
  tu_run_free(&r);
  ck_assert_uint_eq(hit_count("aardvark"), 1);
  ck_assert_uint_eq(hit_count("ocelot"), 0);
  /* Named: followed, to the documents the walk made. */
  INDEX_AT("", "0 new, 0 changed, 1 unchanged", "corpus/link.txt");
  INDEX_AT("", "0 new, 0 changed, 3 unchanged", "corpus/loop");
  INDEX_AT("", "0 new, 0 changed, 1 unchanged", "corpus/sub/up/sub");
  ck_assert_double_eq(DOCUMENTS(), 3.0);
}
END_TEST

/* ---- re-syncing the recorded roots ---- */

START_TEST(test_resync) {
  write_corpus();
  write_text("notes.txt", "Notes\nnightjar\n");
  INDEX_AT("", "4 new", "corpus", "notes.txt");
  assert_roots("[\"corpus\",\"notes.txt\"]");
  /* A new file, a changed one, a deleted one. */
  write_text("corpus/sub/new.txt", "New\nnewt\n");
  write_text("corpus/b.txt", "Beta\nbadger and bison\n");
  remove_file("corpus/a.txt");
  INDEX_AT("", "1 new, 1 changed, 2 unchanged, 1 removed");
  ck_assert_double_eq(DOCUMENTS(), 4.0);
  ck_assert_uint_eq(hit_count("aardvark"), 0);
  ck_assert(has_hit("newt", "corpus/sub/new.txt"));
  ck_assert(has_hit("bison", "corpus/b.txt"));
  /* From a subdirectory, the same roots are walked.  A root that is gone
   * (a disk not mounted?) keeps its documents, said once, exit 4. */
  remove_file("notes.txt");
  tu_run r = KIDX_AT("corpus/sub", "index", "-q", "-i", "../../.kidx");
  ASSERT_STATUS(r, 4);
  assert_counts(&r, "0 new, 0 changed, 3 unchanged, 0 removed");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  r = KIDX_AT("corpus/sub", "index", "-i", "../../.kidx");
  ASSERT_STATUS(r, 4);
  ck_assert_str_eq(r.err, "kidx: warning: root ../../notes.txt no longer "
                          "exists: its documents are kept (drop them with "
                          "'kidx index --forget ../../notes.txt')\n");
  tu_run_free(&r);
  ck_assert(has_hit("nightjar", "notes.txt"));
  assert_roots("[\"corpus\",\"notes.txt\"]");
  INDEX_AT("corpus/sub", "1 removed", "-i", "../../.kidx", "--forget",
           "../../notes.txt");
  assert_roots("[\"corpus\"]");
  /* A gone root under one that is there is a file that is gone. */
  write_text("corpus/named.txt", "Named\nnuthatch\n");
  INDEX_AT("", "1 new", "corpus/named.txt");
  remove_file("corpus/named.txt");
  INDEX_AT("", "0 new, 0 changed, 3 unchanged, 1 removed");
  assert_roots("[\"corpus\"]");
  /* Warnings name the files as the user would reach them from there. */
  write_binary("corpus/z.gz");
  r = KIDX_AT("corpus/sub", "index", "-i", "../../.kidx");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "kidx: warning: skipping binary file ../z.gz\n");
  tu_run_free(&r);
  r = KIDX_AT("", "index");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "kidx: warning: skipping binary file corpus/z.gz\n");
  tu_run_free(&r);
  /* An unchanged re-sync writes nothing. */
  double g = generation();
  INDEX_AT("", "0 new, 0 changed, 3 unchanged, 0 removed");
  ck_assert_double_eq(generation(), g);
}
END_TEST

/* A re-sync whose only root is gone says so once: no "nothing indexed"
 * after it, and the same from --prune of it. */
START_TEST(test_resync_only_root_gone) {
  write_corpus();
  INDEX_AT("", "3 new", "corpus");
  char *from = tu_work_path("corpus"), *to = tu_work_path("moved");
  ck_assert_int_eq(rename(from, to), 0);
  free(from);
  free(to);
  tu_run r = KIDX_AT("", "index");
  ASSERT_STATUS(r, 4);
  assert_counts(&r, "0 new, 0 changed, 0 unchanged, 0 removed\n");
  ck_assert_str_eq(r.err, "kidx: warning: root corpus no longer exists: its "
                          "documents are kept (drop them with 'kidx index "
                          "--forget corpus')\n");
  tu_run_free(&r);
  r = KIDX_AT("", "index", "--prune", "corpus");
  ASSERT_STATUS(r, 4);
  assert_counts(&r, "0 new, 0 changed, 0 unchanged, 0 removed\n");
  tu_assert_one_line(r.err, "kidx: cannot prune under corpus: ");
  tu_run_free(&r);
  ck_assert_double_eq(DOCUMENTS(), 3.0);
}
END_TEST

/* Without recorded roots there is nothing to re-sync: a usage error, and
 * no index made. */
START_TEST(test_resync_without_roots) {
  tu_run r = KIDX_AT("", "index");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err, "kidx: index needs at least one PATH or --jsonl "
                          "FILE (see 'kidx index --help')\n");
  tu_run_free(&r);
  char *idx = tu_work_path(".kidx");
  struct stat st;
  ck_assert_int_ne(stat(idx, &st), 0);
  free(idx);
  write_text("a.jsonl", "{\"id\":\"x\",\"body\":\"xenops\"}\n");
  r = KIDX_AT("", "index", "--jsonl", "a.jsonl");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX_AT("", "index");
  ASSERT_STATUS(r, 2);
  tu_assert_one_line(r.err, "kidx: index needs at least one PATH or --jsonl "
                            "FILE: the index at .kidx records no roots");
  tu_run_free(&r);
  assert_roots("[]");
}
END_TEST

/* Documents from --jsonl are not files: a re-sync or --prune leaves
 * them, even with an id under a root. */
START_TEST(test_resync_keeps_jsonl) {
  write_corpus();
  write_text("a.jsonl", "{\"id\":\"corpus/j.txt\",\"body\":\"jackal\"}\n"
                        "{\"id\":\"other\",\"body\":\"ocelot\"}\n");
  INDEX_AT("", "5 new", "corpus", "--jsonl", "a.jsonl");
  INDEX_AT("", "0 removed");
  INDEX_AT("", "0 removed", "--prune", "corpus");
  ck_assert_double_eq(DOCUMENTS(), 5.0);
  /* "." is the base, above every relative id (it also indexes a.jsonl
   * itself, a text file). */
  INDEX_AT("", "1 new, 0 changed, 3 unchanged, 0 removed", "--prune", ".");
  ck_assert(has_hit("jackal", "corpus/j.txt"));
  ck_assert(has_hit("ocelot", "other"));
}
END_TEST

/* --prune compares ids: any spelling of the PATH prunes the documents
 * indexed under another, from any directory. */
START_TEST(test_prune_spellings) {
  write_corpus();
  write_text("corpus2/d.txt", "Delta\ndingo\n");
  INDEX_AT("", "4 new", "corpus", "corpus2");
  remove_file("corpus/a.txt");
  INDEX_AT("", "0 new, 0 changed, 2 unchanged, 1 removed", "--prune",
           "./corpus/");
  remove_file("corpus/sub/c.txt");
  char *abs = tu_work_path("corpus");
  INDEX_AT("corpus2", "0 new, 0 changed, 1 unchanged, 1 removed", "-i",
           "../.kidx", "--prune", abs);
  free(abs);
  remove_file("corpus/b.txt");
  INDEX_AT("corpus", "0 new, 0 changed, 0 unchanged, 1 removed", "-i",
           "../.kidx", "--prune", ".");
  /* corpus2 only starts like corpus: untouched. */
  ck_assert_double_eq(DOCUMENTS(), 1.0);
  ck_assert(has_hit("dingo", "corpus2/d.txt"));
  /* A PATH that is gone is not pruned under (a disk not mounted?): an
   * error, exit 4; --forget drops it. */
  assert_roots("[\"corpus\",\"corpus2\"]");
  remove_file("corpus2/d.txt");
  char *dir = tu_work_path("corpus2");
  ck_assert_int_eq(rmdir(dir), 0);
  free(dir);
  tu_run r =
      KIDX_AT("corpus", "index", "-i", "../.kidx", "--prune", "../corpus2");
  ASSERT_STATUS(r, 4);
  tu_assert_one_line(r.err, "kidx: cannot prune under ../corpus2: No such "
                            "file or directory (no document under it was "
                            "removed; ");
  assert_counts(&r, "0 removed");
  tu_run_free(&r);
  ck_assert_double_eq(DOCUMENTS(), 1.0);
  INDEX_AT("corpus", "1 removed", "-i", "../.kidx", "--forget", "../corpus2");
  assert_roots("[\"corpus\"]");
  ck_assert_double_eq(DOCUMENTS(), 0.0);
}
END_TEST

/* --prune or --forget with a PATH whose place cannot be known removes
 * nothing under it: "corpus/gone/.." is no spelling of corpus (the
 * kernel refuses it), and a dangling link leads nowhere known.  An error
 * naming the PATH (even with -q), exit 4; the other PATHs are still
 * pruned. */
START_TEST(test_prune_unresolvable) {
  write_corpus();
  write_text("docs/d.txt", "Delta\ndingo\n");
  INDEX_AT("", "4 new", "corpus", "docs");
  remove_file("docs/d.txt");
  tu_run r = KIDX_AT("", "index", "-q", "--prune", "corpus/gone/..", "docs");
  ASSERT_STATUS(r, 4);
  ck_assert_str_eq(r.err, "kidx: cannot prune under corpus/gone/..: No such "
                          "file or directory (no document under it was "
                          "removed; prune the directory that holds it, or "
                          "--forget it)\n");
  assert_counts(&r, "0 new, 0 changed, 0 unchanged, 1 removed");
  tu_run_free(&r);
  ck_assert_double_eq(DOCUMENTS(), 3.0);
  r = KIDX_AT("", "index", "--forget", "corpus/sub/gone/../..");
  ASSERT_STATUS(r, 4);
  tu_assert_one_line(r.err, "kidx: cannot resolve corpus/sub/gone/../..: ");
  tu_run_free(&r);
  ck_assert_double_eq(DOCUMENTS(), 3.0);
  assert_roots("[\"corpus\",\"docs\"]");
  /* Through a dangling link: its target is unknown. */
  make_symlink("nowhere", "dangling");
  r = KIDX_AT("", "index", "--prune", "dangling/corpus");
  ASSERT_STATUS(r, 4);
  tu_assert_one_line(r.err, "kidx: cannot prune under dangling/corpus: ");
  tu_run_free(&r);
  /* A PATH that is simply gone is not pruned under either (a disk not
   * mounted?); the directory holding it is. */
  char *sub = tu_work_path("corpus/sub");
  remove_file("corpus/sub/c.txt");
  ck_assert_int_eq(rmdir(sub), 0);
  free(sub);
  r = KIDX_AT("", "index", "--prune", "corpus/sub/./");
  ASSERT_STATUS(r, 4);
  tu_assert_one_line(r.err, "kidx: cannot prune under corpus/sub/./: No "
                            "such file or directory (");
  tu_run_free(&r);
  ck_assert_double_eq(DOCUMENTS(), 3.0);
  INDEX_AT("", "1 removed", "--prune", "corpus");
  ck_assert_double_eq(DOCUMENTS(), 2.0);
}
END_TEST

/* --prune under a directory that cannot be searched, or read: the
 * documents under it stay, and the exit status is 4.  Root reads
 * anything, so kidx runs as nobody. */
START_TEST(test_prune_unreadable) {
  if (!tu_unprivileged("prune_unreadable"))
    return;
  write_corpus();
  write_text("locked/in/l.txt", "Locked\nlemur\n");
  INDEX_AT("", "4 new", "corpus", "locked/in");
  remove_file("corpus/a.txt");
  set_mode("locked", 0); /* locked/in cannot be reached */
  tu_run r = KIDX_AT("", "index", "--prune", "locked/in", "corpus");
  ASSERT_STATUS(r, 4);
  ck_assert_str_eq(r.err, "kidx: cannot resolve locked/in: Permission "
                          "denied (no document under it was removed)\n");
  assert_counts(&r, "0 new, 0 changed, 2 unchanged, 1 removed");
  tu_run_free(&r);
  ck_assert_double_eq(DOCUMENTS(), 3.0);
  /* Reached, but not listed: what is under it is unknown, not gone. */
  set_mode("locked", 0755);
  set_mode("locked/in", 0);
  r = KIDX_AT("", "index", "--prune", "locked/in");
  ASSERT_STATUS(r, 4);
  assert_line(r.err, 0,
              "kidx: warning: cannot read locked/in: Permission "
              "denied");
  tu_run_free(&r);
  ck_assert(has_hit("lemur", "locked/in/l.txt"));
  /* And a re-sync the same. */
  r = KIDX_AT("", "index");
  ASSERT_STATUS(r, 4);
  assert_counts(&r, "0 removed");
  tu_run_free(&r);
  ck_assert_double_eq(DOCUMENTS(), 3.0);
  set_mode("locked/in", 0755);
}
END_TEST

/* A root named inside another root is walked by --prune of the outer one,
 * so a file named on its own (here a hidden one) stays. */
START_TEST(test_prune_nested_roots) {
  write_corpus();
  write_text("corpus/.hidden.txt", "Hidden\nhedgehog\n");
  INDEX_AT("", "3 new", "corpus");
  INDEX_AT("", "1 new", "corpus/.hidden.txt");
  INDEX_AT("", "0 new, 0 changed, 4 unchanged, 0 removed", "--prune", "corpus");
  INDEX_AT("", "0 new, 0 changed, 4 unchanged, 0 removed");
  ck_assert(has_hit("hedgehog", "corpus/.hidden.txt"));
  /* Once it is gone, it goes, and so does its root. */
  remove_file("corpus/.hidden.txt");
  INDEX_AT("", "1 removed", "--prune", "corpus");
  assert_roots("[\"corpus\"]");
}
END_TEST

/* --prune of a PATH inside a recorded root is upkeep of that root: it is
 * walked with the root's options and not recorded on its own; with other
 * options given, it is a root of its own. */
START_TEST(test_prune_inside_root) {
  write_text("dots/sub/.h.txt", "Hidden\nhedgehog\n");
  write_text("dots/sub/v.txt", "Visible\nvole\n");
  INDEX_AT("", "2 new", "--hidden", "dots");
  INDEX_AT("", "0 new, 0 changed, 2 unchanged, 0 removed", "--prune",
           "dots/sub");
  assert_roots("[{\"id\":\"dots\",\"hidden\":true,\"no_ignore\":false}]");
  ck_assert(has_hit("hedgehog", "dots/sub/.h.txt"));
  remove_file("dots/sub/v.txt");
  INDEX_AT("", "0 new, 0 changed, 1 unchanged, 1 removed", "--prune",
           "./dots/sub/");
  assert_roots("[{\"id\":\"dots\",\"hidden\":true,\"no_ignore\":false}]");
  /* The same options, given: still the root's upkeep. */
  INDEX_AT("", "0 new, 0 changed, 1 unchanged, 0 removed", "--prune",
           "--hidden", "dots/sub");
  assert_roots("[{\"id\":\"dots\",\"hidden\":true,\"no_ignore\":false}]");
  /* Other options: a root of its own, as named. */
  INDEX_AT("", "0 new, 0 changed, 1 unchanged, 0 removed", "--prune",
           "--hidden", "--no-ignore", "dots/sub");
  tu_run r = KIDX_AT("", "stats");
  ck_assert_msg(strstr(r.out, "\nroots      dots (--hidden)\n           "
                              "dots/sub (--hidden --no-ignore)\n"),
                "got: %s", r.out);
  tu_run_free(&r);
}
END_TEST

/* --forget says nothing with -q. */
START_TEST(test_forget_quiet) {
  write_corpus();
  INDEX_AT("", "3 new", "corpus");
  tu_run r = KIDX_AT("", "index", "-q", "--forget", "corpus/sub", "other");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  /* One run forgets a root and a PATH under it: both go. */
  INDEX_AT("", "3 removed", "--forget", "corpus/sub", "corpus");
  assert_roots("[]");
}
END_TEST

/* The roots must fit in the index's metadata (16 MiB): a run that would
 * record more is refused before any walk, naming the limit, and the index
 * is left as it was.  The index is given roots up to the limit through
 * the library (they need not exist: nothing walks them). */
START_TEST(test_roots_limit) {
  write_corpus();
  INDEX_AT("", "1 new", "corpus/a.txt");
  size_t limit = KIDX_MAX_METADATA_BYTES - strlen("kidx.cli.roots");
  char *value = malloc(limit);
  ck_assert_ptr_nonnull(value);
  size_t len = 0;
  for (unsigned i = 0; len < limit; i++) {
    /* ":r/NNNN/xxx...x\0", the last one cut to fill the limit exactly. */
    size_t rec = limit - len < 4002 + 20 ? limit - len : 4002;
    ck_assert_uint_ge(rec, 10);
    int head = snprintf(value + len, rec, ":r/%04u/", i);
    memset(value + len + head, 'x', rec - (size_t)head - 1);
    value[len + rec - 1] = '\0';
    len += rec;
  }
  char *idx = tu_work_path(".kidx");
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, idx), KIDX_OK);
  ck_assert_int_eq(
      kidx_writer_set_metadata(w, "kidx.cli.roots", 14, value, len), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  free(idx);
  free(value);
  double g = generation();
  tu_run r = KIDX_AT("", "index", "corpus");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err, "kidx: cannot record 4,194 roots in the index at "
                          ".kidx: they take 16,777,210 bytes of metadata "
                          "(kidx.cli.roots), more than its limit of "
                          "16,777,202 bytes; name the directory that holds "
                          "them instead, or drop some with --forget\n");
  ck_assert_str_eq(r.out, "");
  tu_run_free(&r);
  ck_assert_double_eq(generation(), g);
  /* Forgetting one makes room. */
  INDEX_AT("", "0 removed", "--forget", "r/0000");
  INDEX_AT("", "2 new, 0 changed, 1 unchanged", "corpus");
}
END_TEST

/* Many roots cost little: 200,000 recorded out of order (as no kidx
 * writes them, but as a hand-made value may be) are read, sorted, and
 * updated without an insertion per root that moves the whole list. */
START_TEST(test_roots_many) {
  write_corpus();
  INDEX_AT("", "3 new", "corpus");
  enum { N = 200000 };
  char *value = malloc((size_t)N * 10);
  ck_assert_ptr_nonnull(value);
  size_t len = 0;
  for (unsigned i = 0; i < N; i++) {
    /* A permutation of 0..N-1: 7919 is prime to N. */
    unsigned k = (unsigned)(((unsigned long)i * 7919u) % N);
    len += (size_t)snprintf(value + len, 10, ":r/%06u", k) + 1;
  }
  char *idx = tu_work_path(".kidx");
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, idx), KIDX_OK);
  ck_assert_int_eq(
      kidx_writer_set_metadata(w, "kidx.cli.roots", 14, value, len), KIDX_OK);
  ck_assert_int_eq(kidx_writer_commit(w), KIDX_OK);
  kidx_writer_close(w);
  free(idx);
  free(value);
  INDEX_AT("", "0 removed", "-q", "--forget", "r/000000");
  INDEX_AT("", "0 new, 0 changed, 3 unchanged", "corpus");
  tu_run r = KIDX_AT("", "stats", "--json");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strstr(r.out,
                       "\"roots\":[{\"id\":\"corpus\",\"hidden\":"
                       "false,\"no_ignore\":false},{\"id\":\"r/000001\""),
                "roots not sorted: %.300s", strstr(r.out, "\"roots\""));
  ck_assert_ptr_null(strstr(r.out, "r/000000"));
  tu_run_free(&r);
}
END_TEST

/* --forget drops a root and the documents under it that no other root
 * covers. */
START_TEST(test_forget) {
  write_corpus();
  write_text("docs/d.txt", "Delta\ndingo\n");
  INDEX_AT("", "4 new", "corpus", "docs");
  INDEX_AT("", "0 new, 0 changed, 0 unchanged, 1 removed", "--forget",
           "./docs/");
  assert_roots("[\"corpus\"]");
  ck_assert_uint_eq(hit_count("dingo"), 0);
  ck_assert_double_eq(DOCUMENTS(), 3.0);
  /* The files are still there; a re-sync does not bring them back. */
  INDEX_AT("", "0 new, 0 changed, 3 unchanged, 0 removed");
  /* A path under a root: the root still covers it; nothing removed. */
  tu_run r = KIDX_AT("", "index", "--forget", "corpus/sub");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "0 removed");
  ck_assert_str_eq(r.err, "kidx: warning: corpus/sub lies under the root "
                          "corpus, which still covers it: its files stay "
                          "indexed (exclude them with an .ignore file)\n");
  tu_run_free(&r);
  /* Not a root at all: said so; what was indexed under it goes. */
  r = KIDX_AT("", "index", "--forget", "elsewhere");
  ASSERT_STATUS(r, 0);
  tu_assert_one_line(r.err, "kidx: warning: elsewhere is not a root of the "
                            "index at .kidx");
  tu_run_free(&r);
  r = KIDX_AT("", "index", "--forget");
  ASSERT_STATUS(r, 2);
  tu_run_free(&r);
  r = KIDX_AT("", "index", "--forget", "--prune", "corpus");
  ASSERT_STATUS(r, 2);
  tu_run_free(&r);
  INDEX_AT("", "3 removed", "--forget", "corpus");
  assert_roots("[]");
  ck_assert_double_eq(DOCUMENTS(), 0.0);
}
END_TEST

/* stats lists the roots, with the base the relative ones start from. */
START_TEST(test_stats_roots) {
  write_corpus();
  write_text("notes.txt", "Notes\nnightjar\n");
  INDEX_AT("", "4 new", "notes.txt", "corpus");
  tu_run r = KIDX_AT("", "stats");
  ASSERT_STATUS(r, 0);
  char *base = tu_work_path(""), want[4200];
  size_t bl = strlen(base);
  if (bl > 1 && base[bl - 1] == '/')
    base[bl - 1] = '\0';
  char *real = realpath(base, NULL);
  snprintf(want, sizeof want,
           "\nroots      corpus\n           notes.txt\nbase       %s\n", real);
  ck_assert_msg(strstr(r.out, want) != NULL, "expected '%s' in:\n%s", want,
                r.out);
  tu_run_free(&r);
  r = KIDX_AT("", "stats", "--json");
  snprintf(want, sizeof want,
           ",\"roots\":[{\"id\":\"corpus\",\"hidden\":false,\"no_ignore\":"
           "false},{\"id\":\"notes.txt\",\"hidden\":false,\"no_ignore\":"
           "false}],\"base\":\"%s\"}\n",
           real);
  ck_assert_msg(strstr(r.out, want) != NULL, "expected '%s' in:\n%s", want,
                r.out);
  tu_run_free(&r);
  free(real);
  free(base);
}
END_TEST

/* stats --json: each root with its options, and an id that is not
 * UTF-8 in search --json's {"bytes":"BASE64"} form. */
START_TEST(test_stats_roots_json) {
  write_text("dots/a.txt", "Alpha\naardvark\n");
  write_text("caf\xe9/b.txt", "Beta\nbadger\n");
  INDEX_AT("", "1 new", "--hidden", "dots");
  INDEX_AT("", "1 new", "caf\xe9");
  tu_run r = KIDX_AT("", "stats", "--json");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strstr(r.out, ",\"roots\":[{\"id\":{\"bytes\":\"Y2Fm6Q==\"},"
                              "\"hidden\":false,\"no_ignore\":false},{\"id\":"
                              "\"dots\",\"hidden\":true,\"no_ignore\":false}],"
                              "\"base\":"),
                "got: %s", r.out);
  tu_run_free(&r);
}
END_TEST

/* A file that became binary since it was indexed loses its document,
 * with the binary-file warning (rationed like it). */
START_TEST(test_became_binary) {
  write_corpus();
  INDEX_AT("", "3 new", "corpus");
  tu_write_file(tu_work_dir(), "corpus/b.txt", "gz\0\x1f\x8b\x08", 6);
  tu_run r = KIDX_AT("", "index", "corpus");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "0 new, 0 changed, 2 unchanged, 1 removed, skipped 1 "
                    "file\n");
  ck_assert_str_eq(r.err, "kidx: warning: skipping binary file corpus/b.txt "
                          "(it was text: its document is removed)\n");
  tu_run_free(&r);
  ck_assert_uint_eq(hit_count("badger"), 0);
  r = KIDX_AT("", "index", "-q");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "0 removed");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

/* A run that only removed documents is no "nothing indexed", even if what
 * it met was skipped. */
START_TEST(test_prune_only_not_nothing) {
  write_text("mixed/a.txt", "Alpha\naardvark\n");
  write_binary("mixed/z.gz");
  INDEX_AT("", "1 new", "-q", "mixed");
  remove_file("mixed/a.txt");
  tu_run r = KIDX_AT("", "index", "-q", "--prune", "mixed");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "0 new, 0 changed, 0 unchanged, 1 removed");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

/* kidx check verifies the roots' metadata section: one resealed with a
 * bad value length is damage, named. */
START_TEST(test_check_metadata) {
  write_corpus();
  INDEX_AT("", "3 new", "corpus");
  tu_run r = KIDX_AT("", "check");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  char *path = tu_work_path(".kidx/MANIFEST");
  size_t len;
  char *m = tu_read_file(path, &len);
  ck_assert_ptr_nonnull(m);
  /* The last entry ends the section: its value is ":corpus\0" (8 bytes),
   * after its u32 length. */
  ck_assert_uint_eq(kidx__get_u32((const uint8_t *)m + 8), 8);
  size_t vlen_at = len - 4 - 8 - 4;
  ck_assert_uint_eq(kidx__get_u32((const uint8_t *)m + vlen_at), 8);
  kidx__set_u32((uint8_t *)m + vlen_at, 9);
  kidx__set_u32((uint8_t *)m + len - 4, kidx__crc32c(0, m, len - 4));
  tu_write_file(tu_work_dir(), ".kidx/MANIFEST", m, len);
  r = KIDX_AT("", "check");
  ASSERT_STATUS(r, 3);
  tu_assert_one_line(r.err, "kidx: index at .kidx is");
  ck_assert_msg(strstr(r.err, "MANIFEST: bad metadata section\n"), "got: %s",
                r.err);
  tu_run_free(&r);
  free(m);
  free(path);
}
END_TEST

START_TEST(test_help_roots) {
  tu_run r = KIDX_AT("", "index", "--help");
  ASSERT_STATUS(r, 0);
  const char *documented[] = {"--forget", "re-syncs",
                              "roots",    "One file, one document",
                              "base",     "kidx -i ../.kidx index ."};
  for (size_t i = 0; i < sizeof documented / sizeof documented[0]; i++)
    ck_assert_msg(strstr(r.out, documented[i]) != NULL,
                  "'%s' not in 'kidx index --help'", documented[i]);
  tu_run_free(&r);
  r = KIDX_AT("", "stats", "--help");
  ck_assert_ptr_nonnull(strstr(r.out, "\"roots\""));
  ck_assert_ptr_nonnull(strstr(r.out, "\"base\""));
  tu_run_free(&r);
}
END_TEST

/* ---- hidden and ignored files ---- */

/* A git checkout: .gitignore applies, hidden files are skipped; each has
 * its option; .git itself and the index are never indexed. */
static void write_checkout(void) {
  write_text("repo/.git/config", "Config\ngitconfigword\n");
  write_text("repo/.gitignore", "build/\n*.log\n");
  write_text("repo/a.txt", "Alpha\naardvark\n");
  write_text("repo/sub/b.txt", "Beta\nbadger\n");
  write_text("repo/build/out.txt", "Built\nbuildword\n");
  write_text("repo/x.log", "Log\nlogword\n");
  write_text("repo/.hidden.txt", "Hidden\nhedgehog\n");
  write_text("repo/.config/c.txt", "Config\nconfigword\n");
}

START_TEST(test_gitignore_and_hidden) {
  write_checkout();
  tu_run r = KIDX_AT("repo", "index", ".");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "2 new, 0 changed, 0 unchanged, 0 removed\n");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  ck_assert_double_eq(documents_at("repo", ".kidx"), 2.0);
  /* --no-ignore: what .gitignore excludes, not hidden files. */
  INDEX_AT("repo", "2 new, 0 changed, 2 unchanged", "--no-ignore", ".");
  tu_run s = KIDX_AT("repo", "search", "--json", "buildword");
  ck_assert_ptr_nonnull(strstr(s.out, "\"id\":\"build/out.txt\""));
  tu_run_free(&s);
  /* --hidden: hidden files, not .git, not the index directory. */
  r = KIDX_AT("repo", "index", "--hidden", ".");
  ASSERT_STATUS(r, 0);
  /* .hidden.txt, .config/c.txt and .gitignore itself */
  assert_counts(&r, "3 new, 0 changed, 2 unchanged, 0 removed\n");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  s = KIDX_AT("repo", "search", "--json", "gitconfigword");
  ASSERT_STATUS(s, 1);
  tu_run_free(&s);
  /* Both. */
  INDEX_AT("repo", "0 new, 0 changed, 7 unchanged", "--hidden", "--no-ignore",
           ".");
  ck_assert_double_eq(documents_at("repo", ".kidx"), 7.0);
}
END_TEST

/* Outside a git repository .gitignore does not apply; .ignore does. */
START_TEST(test_ignore_outside_repo) {
  write_text("plain/.gitignore", "*.txt\n");
  write_text("plain/.ignore", "secret/\n");
  write_text("plain/a.txt", "Alpha\naardvark\n");
  write_text("plain/secret/s.txt", "Secret\nsalamander\n");
  write_text("plain/sub/.ignore", "*.md\n");
  write_text("plain/sub/n.md", "Note\nnightjar\n");
  write_text("plain/n.md", "Note\nnewt\n");
  INDEX_AT("", "2 new, 0 changed, 0 unchanged", "plain");
  ck_assert(has_hit("aardvark", "plain/a.txt"));
  ck_assert(has_hit("newt", "plain/n.md"));
  ck_assert_uint_eq(hit_count("salamander"), 0);
  ck_assert_uint_eq(hit_count("nightjar"), 0);
}
END_TEST

/* A PATH named is indexed however hidden or ignored it is. */
START_TEST(test_named_paths_indexed) {
  write_checkout();
  INDEX_AT("repo", "1 new", "build/out.txt");
  INDEX_AT("repo", "1 new", ".hidden.txt");
  INDEX_AT("repo", "1 new", "x.log");
  ck_assert_double_eq(documents_at("repo", ".kidx"), 3.0);
  /* A named directory is walked; the rules still apply below it. */
  write_text("repo/build/deep/d.log", "Deep\ndeepword\n");
  write_text("repo/build/deep/d.txt", "Deep\ndingo\n");
  INDEX_AT("repo", "1 new, 0 changed, 1 unchanged", "build");
  /* The re-sync walks each root as named: nothing changes. */
  INDEX_AT("repo", "0 new, 0 changed, 4 unchanged, 0 removed");
}
END_TEST

/* A document whose file is now ignored (or hidden) is removed by a
 * re-sync and by --prune: the walk no longer produces it. */
START_TEST(test_ignored_files_pruned) {
  write_checkout();
  INDEX_AT("repo", "2 new", ".");
  write_text("repo/.gitignore", "build/\n*.log\nsub/\n");
  INDEX_AT("repo", "0 new, 0 changed, 1 unchanged, 1 removed");
  write_text("repo/.ignore", "a.txt\n");
  INDEX_AT("repo", "0 new, 0 changed, 0 unchanged, 1 removed", "--prune", ".");
  ck_assert_double_eq(documents_at("repo", ".kidx"), 0.0);
  /* And back, once no longer ignored. */
  char *p = tu_work_path("repo/.ignore");
  ck_assert_int_eq(unlink(p), 0);
  free(p);
  INDEX_AT("repo", "1 new, 0 changed, 0 unchanged, 0 removed");
}
END_TEST

/* --hidden and --no-ignore are recorded with the root: a re-sync walks it
 * the same way, until the PATH is named again without them. */
START_TEST(test_walk_options_recorded) {
  write_text("dots/.profile", "Profile\npuffin\n");
  write_text("dots/v.txt", "Visible\nvole\n");
  write_text("dots/.ignore", "v.txt\n");
  INDEX_AT("", "3 new", "--hidden", "--no-ignore", "dots");
  INDEX_AT("", "0 new, 0 changed, 3 unchanged, 0 removed");
  tu_run r = KIDX_AT("", "stats");
  ck_assert_ptr_nonnull(strstr(r.out, "\nroots      dots (--hidden "
                                      "--no-ignore)\n"));
  tu_run_free(&r);
  r = KIDX_AT("", "index", "--hidden");
  ASSERT_STATUS(r, 2);
  tu_assert_one_line(r.err, "kidx: --hidden and --no-ignore apply to the "
                            "PATHs given");
  tu_run_free(&r);
  /* Named again without them: recorded without them; the run itself does
   * not prune, the next re-sync does. */
  INDEX_AT("", "0 new, 0 changed, 0 unchanged, 0 removed", "dots");
  assert_roots("[\"dots\"]");
  INDEX_AT("", "0 new, 0 changed, 0 unchanged, 3 removed");
  ck_assert_double_eq(DOCUMENTS(), 0.0);
}
END_TEST

/* An ignore file that cannot be read is a warning: the walk goes on
 * without it. */
START_TEST(test_unreadable_ignore_file) {
  write_text("w/a.txt", "Alpha\naardvark\n");
  make_dir("w/.ignore");
  tu_run r = KIDX_AT("", "index", "w");
  ASSERT_STATUS(r, 0);
  assert_counts(&r, "1 new, 0 changed, 0 unchanged, 0 removed\n");
  tu_assert_one_line(r.err, "kidx: warning: cannot use ignore file ");
  ck_assert_ptr_nonnull(strstr(r.err, "/w/.ignore: "));
  tu_run_free(&r);
  r = KIDX_AT("", "index", "-q", "w");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

START_TEST(test_help_ignore) {
  tu_run r = KIDX_AT("", "index", "--help");
  ASSERT_STATUS(r, 0);
  const char *documented[] = {"--hidden", "--no-ignore",  ".gitignore",
                              ".ignore",  "info/exclude", "now ignored"};
  for (size_t i = 0; i < sizeof documented / sizeof documented[0]; i++)
    ck_assert_msg(strstr(r.out, documented[i]) != NULL,
                  "'%s' not in 'kidx index --help'", documented[i]);
  tu_run_free(&r);
}
END_TEST

static Suite *cli_index_suite(void) {
  Suite *s = suite_create("cli_index");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"warnings_rationed", test_warnings_rationed},
      {"warnings_verbose_quiet", test_warnings_verbose_quiet},
      {"warnings_per_kind", test_warnings_per_kind},
      {"nothing_indexed", test_nothing_indexed},
      {"nothing_indexed_exceptions", test_nothing_indexed_exceptions},
      {"nothing_indexed_unreadable", test_nothing_indexed_unreadable},
      {"thousands_separators", test_thousands_separators},
      {"help_warnings", test_help_warnings},
      {"one_file_one_document", test_one_file_one_document},
      {"index_elsewhere", test_index_elsewhere},
      {"base_spellings", test_base_spellings},
      {"root_above_base", test_root_above_base},
      {"legacy_ids_kept", test_legacy_ids_kept},
      {"roots_not_normal", test_roots_not_normal},
      {"symlinks_not_followed", test_symlinks_not_followed},
      {"resync", test_resync},
      {"resync_only_root_gone", test_resync_only_root_gone},
      {"resync_without_roots", test_resync_without_roots},
      {"resync_keeps_jsonl", test_resync_keeps_jsonl},
      {"prune_spellings", test_prune_spellings},
      {"prune_unresolvable", test_prune_unresolvable},
      {"prune_unreadable", test_prune_unreadable},
      {"prune_nested_roots", test_prune_nested_roots},
      {"forget", test_forget},
      {"forget_quiet", test_forget_quiet},
      {"prune_inside_root", test_prune_inside_root},
      {"roots_limit", test_roots_limit},
      {"roots_many", test_roots_many},
      {"stats_roots", test_stats_roots},
      {"stats_roots_json", test_stats_roots_json},
      {"became_binary", test_became_binary},
      {"prune_only_not_nothing", test_prune_only_not_nothing},
      {"check_metadata", test_check_metadata},
      {"help_roots", test_help_roots},
      {"gitignore_and_hidden", test_gitignore_and_hidden},
      {"ignore_outside_repo", test_ignore_outside_repo},
      {"named_paths_indexed", test_named_paths_indexed},
      {"ignored_files_pruned", test_ignored_files_pruned},
      {"walk_options_recorded", test_walk_options_recorded},
      {"unreadable_ignore_file", test_unreadable_ignore_file},
      {"help_ignore", test_help_ignore},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_unchecked_fixture(tc, tu_case_setup, tu_case_teardown);
    tcase_add_checked_fixture(tc, tu_work_setup, tu_work_teardown);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

int main(void) {
  return tu_run_suite(cli_index_suite());
}
