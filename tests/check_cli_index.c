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
#include "kidx.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files ---- */

static void write_text(const char *name, const char *text) {
  tu_write_file(tu_work_dir(), name, text, strlen(text));
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
  make_symlink("nowhere", "in/dangling");
  tu_run r = KIDX_AT("", "index", "in");
  ASSERT_STATUS(r, 4); /* the dangling link could not be read */
  ck_assert_uint_eq(count_prefixed(r.err, "kidx: warning: skipping binary"), 5);
  ck_assert_uint_eq(count_prefixed(r.err, "kidx: warning: skipping in/f"), 5);
  ck_assert_uint_eq(
      count_prefixed(r.err, "kidx: warning: not following symbolic link"), 5);
  ck_assert_uint_eq(count_prefixed(r.err, "kidx: warning: cannot read "), 1);
  ck_assert_ptr_nonnull(strstr(r.err, "kidx: warning: skipped 7 binary or "
                                      "compressed files (--verbose lists "
                                      "them)\n"));
  ck_assert_ptr_nonnull(strstr(r.err, "kidx: warning: skipped 7 files that are "
                                      "not regular files (--verbose lists "
                                      "them)\n"));
  ck_assert_ptr_nonnull(strstr(r.err, "kidx: warning: did not follow 7 "
                                      "symbolic links to directories "
                                      "(--verbose lists them)\n"));
  ck_assert_uint_eq(tu_count_lines(r.err), 5 + 5 + 5 + 1 + 3);
  assert_counts(&r, "1 new, 0 changed, 0 unchanged, 0 removed, skipped 15 "
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
  make_dir("in");
  make_symlink("nowhere", "in/dangling.txt");
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
  ck_assert_str_eq(r.err, "kidx: warning: not following symbolic link to "
                          "directory only/link\n"
                          "kidx: nothing indexed: no file under only could "
                          "be indexed (symbolic links to directories: 1)\n");
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
