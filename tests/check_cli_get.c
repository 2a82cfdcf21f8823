/*
 * check_cli_get.c -- end-to-end tests of `kidx get`: documents printed
 * byte for byte as stored, titles, JSON output with ids (and texts) that
 * are not UTF-8, ids read back in JSON form, missing ids, replaced and
 * deleted documents, and usage errors.
 */
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void write_text(const char *name, const char *text) {
  tu_write_file(tu_work_dir(), name, text, strlen(text));
}

static void index_paths(const char *path) {
  tu_run r = KIDX("index", path);
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
}

/* A title after blank lines, a body with blank lines, tabs and CRLF, and
 * no newline at the end: what get prints is exactly the file's tail. */
#define ALPHA_BODY "\nfirst line\r\n\n\tindented\nno newline at the end"
#define ALPHA      "\n  Alpha title  \n" ALPHA_BODY

START_TEST(test_get_body_exact) {
  write_text("docs/alpha.txt", ALPHA);
  write_text("docs/beta.txt", "Beta\nbeta body\n");
  index_paths("docs");
  tu_run r = KIDX("get", "docs/alpha.txt");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, ALPHA_BODY);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  /* Several ids: the bodies one after the other, in the order given,
   * nothing between them; an id given twice is printed twice. */
  r = KIDX("get", "docs/beta.txt", "docs/alpha.txt", "docs/beta.txt");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "beta body\n" ALPHA_BODY "beta body\n");
  tu_run_free(&r);
  /* Titles, one per line. */
  r = KIDX("get", "--title", "docs/alpha.txt", "docs/beta.txt");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "Alpha title\nBeta\n");
  tu_run_free(&r);
  /* -i after the command, and a file with a title only. */
  write_text("docs/empty.txt", "Only a title\n");
  index_paths("docs");
  r = KIDX("get", "-i", ".kidx", "docs/empty.txt");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "");
  tu_run_free(&r);
}
END_TEST

START_TEST(test_get_missing) {
  write_text("docs/a.txt", "A\naaa\n");
  write_text("docs/b.txt", "B\nbbb\n");
  index_paths("docs");
  /* Each missing id is reported; the others are still printed. */
  tu_run r = KIDX("get", "docs/a.txt", "nope", "docs/b.txt", "docs/a");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "aaa\nbbb\n");
  ck_assert_str_eq(r.err, "kidx: no document 'nope'\n"
                          "kidx: no document 'docs/a'\n");
  tu_run_free(&r);
  /* Paths are ids as indexed, not resolved again: ./docs/a.txt is
   * another id. */
  r = KIDX("get", "./docs/a.txt");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "kidx: no document './docs/a.txt'\n");
  tu_run_free(&r);
  /* A control character in the id does not reach the terminal raw. */
  r = KIDX("get", "x\033[31my");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.err, "kidx: no document 'x?[31my'\n");
  tu_run_free(&r);
  /* An empty id is no document's. */
  r = KIDX("get", "");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.err, "kidx: no document ''\n");
  tu_run_free(&r);
}
END_TEST

/* Changes are seen once committed: a changed file's new body, nothing
 * for a deleted one. */
START_TEST(test_get_updated_and_deleted) {
  write_text("docs/a.txt", "A\nold body\n");
  write_text("docs/b.txt", "B\nkept\n");
  index_paths("docs");
  write_text("docs/a.txt", "A2\nnew body, longer than the old one\n");
  index_paths("docs");
  tu_run r = KIDX("get", "docs/a.txt");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "new body, longer than the old one\n");
  tu_run_free(&r);
  r = KIDX("delete", "docs/a.txt");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("get", "docs/a.txt", "docs/b.txt");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "kept\n");
  ck_assert_str_eq(r.err, "kidx: no document 'docs/a.txt'\n");
  tu_run_free(&r);
}
END_TEST

START_TEST(test_get_json) {
  write_text("in/caf\xc3\xa9.txt", "Caf\xc3\xa9 \"quoted\"\nline\ttab\n");
  /* A Latin-1 name, title and body: not UTF-8. */
  write_text("in/caf\xe9.txt", "Caf\xe9\nbody \xff\n");
  index_paths("in");
  tu_run r = KIDX("get", "--json", "in/caf\xc3\xa9.txt", "in/caf\xe9.txt");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(
      r.out, "{\"id\":\"in/caf\xc3\xa9.txt\",\"title\":\"Caf\xc3\xa9 "
             "\\\"quoted\\\"\",\"body\":\"line\\ttab\\n\"}\n"
             /* in/caf\xe9.txt, Caf\xe9 and "body \xff\n" in base64 */
             "{\"id\":{\"bytes\":\"aW4vY2Fm6S50eHQ=\"},\"title\":{\"bytes\":"
             "\"Q2Fm6Q==\"},\"body\":{\"bytes\":\"Ym9keSD/Cg==\"}}\n");
  tu_run_free(&r);
  r = KIDX("get", "--json", "--title", "in/caf\xc3\xa9.txt", "missing");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out,
                   "{\"id\":\"in/caf\xc3\xa9.txt\",\"title\":\"Caf\xc3\xa9 "
                   "\\\"quoted\\\"\"}\n");
  ck_assert_str_eq(r.err, "kidx: no document 'missing'\n");
  tu_run_free(&r);
}
END_TEST

/* --json-id: ids in the form search --json prints them. */
START_TEST(test_get_json_id) {
  write_text("in/caf\xe9.txt", "Latin\nwombat body\n");
  write_text("in/plain.txt", "Plain\nwombat too\n");
  index_paths("in");
  /* What search --json prints for the Latin-1 name is taken back. */
  tu_run s = KIDX("search", "--json", "title:latin");
  ASSERT_STATUS(s, 0);
  const char *p = strstr(s.out, "\"id\":");
  ck_assert_ptr_nonnull(p);
  p += 5;
  const char *end = strstr(p, "},");
  ck_assert_ptr_nonnull(end);
  char *id = strndup(p, (size_t)(end - p + 1));
  ck_assert_str_eq(id, "{\"bytes\":\"aW4vY2Fm6S50eHQ=\"}");
  tu_run r = KIDX("get", "--json-id", id, "\"in/plain.txt\"");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "wombat body\nwombat too\n");
  tu_run_free(&r);
  free(id);
  tu_run_free(&s);
  /* Escapes and whitespace are JSON's. */
  r = KIDX("get", "--json-id", " \"in\\/pl\\u0061in.txt\" ",
           "{ \"bytes\" : \"aW4vY2Fm6S50eHQ=\" }");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "wombat too\nwombat body\n");
  tu_run_free(&r);
  /* A missing one is named as given. */
  r = KIDX("get", "--json-id", "\"nope\"");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.err, "kidx: no document '\"nope\"'\n");
  tu_run_free(&r);
  /* Malformed: a usage error before anything is printed. */
  static const char *const BAD[] = {
      "in/plain.txt",         /* not JSON */
      "\"in/plain.txt",       /* unterminated */
      "{\"b\":\"aW4=\"}",     /* another member */
      "{\"bytes\":\"aW4\"}",  /* bad base64 length */
      "{\"bytes\":\"a=4=\"}", /* padding inside */
      "\"a\" x",              /* trailing text */
      "\"\\ud800\"",          /* lone surrogate */
      "\"caf\xe9\"",          /* invalid UTF-8 in a string */
  };
  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    r = KIDX("get", "--json-id", "\"in/plain.txt\"", BAD[i]);
    ASSERT_STATUS(r, 2);
    ck_assert_str_eq(r.out, "");
    tu_assert_one_line(r.err, "kidx: --json-id: '");
    tu_run_free(&r);
  }
}
END_TEST

/* Ids from JSON Lines may hold a NUL or a newline: --json-id reaches
 * them, --json prints them. */
START_TEST(test_get_binary_ids) {
  static const char jsonl[] =
      "{\"id\":\"a\\u0000b\",\"title\":\"Nul\",\"body\":\"with nul\"}\n"
      "{\"id\":\"two\\nlines\",\"title\":\"Nl\",\"body\":\"with nl\"}\n"
      "{\"id\":\"a\",\"title\":\"A\",\"body\":\"just a\"}\n";
  tu_run r = KIDX_IN(jsonl, sizeof jsonl - 1, "index", "--jsonl", "-");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("get", "--json", "--json-id", "\"a\\u0000b\"", "\"two\\nlines\"",
           "\"a\"");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out,
                   "{\"id\":\"a\\u0000b\",\"title\":\"Nul\",\"body\":\"with "
                   "nul\"}\n"
                   "{\"id\":\"two\\nlines\",\"title\":\"Nl\",\"body\":\"with "
                   "nl\"}\n"
                   "{\"id\":\"a\",\"title\":\"A\",\"body\":\"just a\"}\n");
  tu_run_free(&r);
  /* The id as bytes on the command line (a shell can pass a newline). */
  r = KIDX("get", "two\nlines");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "with nl");
  tu_run_free(&r);
}
END_TEST

START_TEST(test_get_usage) {
  write_text("docs/-dash.txt", "Dash\ndash body\n");
  tu_run r = KIDX("get", "docs/-dash.txt");
  /* No index yet. */
  ASSERT_STATUS(r, 3);
  ck_assert_str_eq(r.out, "");
  tu_assert_one_line(r.err, "kidx: no index at .kidx");
  tu_run_free(&r);
  index_paths("docs");
  r = KIDX("get");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err,
                   "kidx: get needs at least one ID (see 'kidx get --help')\n");
  tu_run_free(&r);
  r = KIDX("get", "--bogus", "docs/-dash.txt");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err, "kidx: unknown option '--bogus' for 'get' (see "
                          "'kidx get --help')\n");
  tu_run_free(&r);
  /* An id starting with '-' goes after "--", as the hint says. */
  r = KIDX("get", "-x.txt");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.err, "kidx: unknown option '-x.txt' (an ID starting "
                          "with '-' goes after '--': kidx get -- -x.txt)\n");
  tu_run_free(&r);
  r = KIDX("get", "--", "docs/-dash.txt");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "dash body\n");
  tu_run_free(&r);
  r = KIDX("get", "--help");
  ASSERT_STATUS(r, 0);
  ck_assert(strncmp(r.out, "Usage: kidx get ", 16) == 0);
  tu_run_free(&r);
  r = KIDX("--help");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "\n  get ID...  "));
  tu_run_free(&r);
}
END_TEST

static Suite *get_suite(void) {
  Suite *s = suite_create("cli_get");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"body_exact", test_get_body_exact},
      {"missing", test_get_missing},
      {"updated_and_deleted", test_get_updated_and_deleted},
      {"json", test_get_json},
      {"json_id", test_get_json_id},
      {"binary_ids", test_get_binary_ids},
      {"usage", test_get_usage},
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
  return tu_run_suite(get_suite());
}
