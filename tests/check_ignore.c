/* Unit tests for cli/ignore.c: the gitignore(5) pattern language
 * (TCase "Patterns", on texts, no files) and the stack of a walk (TCases
 * "Stack" and "Errors", on directory trees built in a per-test temporary
 * directory).  Many cases are the examples of gitignore(5). */
#include "ignore.h"

#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Allocation failures                                                    */
/* ---------------------------------------------------------------------- */

/* The test executable is linked with --wrap for malloc, calloc and
 * realloc: once armed, the Nth allocation from then on fails, so that
 * every allocation of the module is made to fail in turn (as in libuv's
 * test-loop-oom and SQLite's faultsim). */
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);

static long alloc_countdown = -1; /* -1: disarmed */
static bool alloc_failed;

static bool fail_now(void) {
  if (alloc_countdown < 0 || alloc_countdown-- > 0)
    return false;
  alloc_failed = true;
  return true;
}

void *__wrap_malloc(size_t n) {
  return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n) {
  return fail_now() ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n) {
  return fail_now() ? NULL : __real_realloc(p, n);
}

/* Makes the allocation after the next `after` ones fail. */
static void arm(long after) {
  alloc_countdown = after;
  alloc_failed = false;
}

/* Disarms; returns whether an allocation was made to fail. */
static bool disarm(void) {
  alloc_countdown = -1;
  return alloc_failed;
}

/* ---------------------------------------------------------------------- */
/* Patterns                                                               */
/* ---------------------------------------------------------------------- */

enum { N = IGNORE_NONE, X = IGNORE_EXCLUDE, I = IGNORE_INCLUDE };

typedef struct expect {
  const char *path;
  bool dir;
  int verdict;
} expect;

static const char *verdict_name(int v) {
  return v == N ? "none" : v == X ? "exclude" : "include";
}

static void check_rules(const char *text, size_t len, const expect *e,
                        size_t n) {
  ignore_rules *r;
  ck_assert_int_eq(ignore_rules_parse(text, len, &r), IGNORE_OK);
  for (size_t i = 0; i < n; i++) {
    int got = (int)ignore_rules_match(r, e[i].path, e[i].dir);
    ck_assert_msg(got == e[i].verdict, "rules \"%s\": %s %s: %s, expected %s",
                  text, e[i].dir ? "directory" : "file", e[i].path,
                  verdict_name(got), verdict_name(e[i].verdict));
  }
  ignore_rules_free(r);
}

#define CHECK_RULES(text, ...)                                                 \
  do {                                                                         \
    const expect ex_[] = {__VA_ARGS__};                                        \
    check_rules(text, strlen(text), ex_, sizeof ex_ / sizeof *ex_);            \
  } while (0)

START_TEST(test_ignore_blank_lines_and_comments) {
  /* "A blank line matches no files"; "A line starting with # serves as a
   * comment. Put a backslash in front of the first hash for patterns that
   * begin with a hash." */
  CHECK_RULES("# a comment\n\n   \n#*.c\n\\#hash\n", {"# a comment", 0, N},
              {"x.c", 0, N}, {"#*.c", 0, N}, {"#hash", 0, X}, {"\\#hash", 0, N},
              {"", 0, N});
  /* A '#' elsewhere is an ordinary byte. */
  CHECK_RULES("a#b\n", {"a#b", 0, X}, {"a", 0, N});
}
END_TEST

START_TEST(test_ignore_negation) {
  /* gitignore(5) example: Documentation/.gitignore. */
  CHECK_RULES("*.html\n!foo.html\n", {"gitignore.html", 0, X},
              {"foo.html", 0, I}, {"x.txt", 0, N}, {"a/foo.html", 0, I});
  /* The last matching pattern decides. */
  CHECK_RULES("!foo.html\n*.html\n", {"foo.html", 0, X});
  /* "\!important!.txt" names a file beginning with "!". */
  CHECK_RULES("\\!important!.txt\n", {"!important!.txt", 0, X},
              {"important!.txt", 0, N});
  /* A lone "!" is no pattern. */
  CHECK_RULES("!\n", {"!", 0, N}, {"a", 0, N});
}
END_TEST

START_TEST(test_ignore_trailing_spaces) {
  /* "Trailing spaces are ignored unless they are quoted with backslash". */
  CHECK_RULES("foo   \nbar\\ \nbaz\\ \\ \nq\\\\  \nt\t\n", {"foo", 0, X},
              {"foo ", 0, N}, {"bar ", 0, X}, {"bar", 0, N}, {"baz  ", 0, X},
              {"baz", 0, N}, {"q\\", 0, X}, {"q", 0, N}, {"t\t", 0, X},
              {"t", 0, N});
  /* Spaces elsewhere are part of the pattern. */
  CHECK_RULES("a b\n  lead\n", {"a b", 0, X}, {"  lead", 0, X}, {"lead", 0, N});
}
END_TEST

START_TEST(test_ignore_directory_only) {
  /* "foo/ will match a directory foo and paths underneath it, but will not
   * match a regular file or a symbolic link foo". */
  CHECK_RULES("build/\n", {"build", 1, X}, {"build", 0, N}, {"a/build", 1, X},
              {"a/build", 0, N}, {"buildx", 1, N});
  /* frotz/ matches frotz and a/frotz that is a directory. */
  CHECK_RULES("frotz/\n", {"frotz", 1, X}, {"a/frotz", 1, X},
              {"a/frotz", 0, N});
  /* A negated directory pattern re-includes directories only. */
  CHECK_RULES("*\n!keep/\n", {"keep", 1, I}, {"keep", 0, X});
}
END_TEST

START_TEST(test_ignore_anchoring) {
  /* "hello.*" matches at any depth; "/hello.*" only beside the file. */
  CHECK_RULES("hello.*\n", {"hello.txt", 0, X}, {"a/hello.java", 0, X});
  CHECK_RULES("/hello.*\n", {"hello.txt", 0, X}, {"hello.c", 0, X},
              {"a/hello.java", 0, N});
  /* "doc/frotz and /doc/frotz have the same effect": a middle slash
   * anchors. */
  CHECK_RULES("doc/frotz\n", {"doc/frotz", 1, X}, {"doc/frotz", 0, X},
              {"a/doc/frotz", 1, N}, {"frotz", 0, N});
  CHECK_RULES("/doc/frotz\n", {"doc/frotz", 1, X}, {"a/doc/frotz", 1, N});
  /* "doc/frotz/ matches doc/frotz directory, but not a/doc/frotz". */
  CHECK_RULES("doc/frotz/\n", {"doc/frotz", 1, X}, {"doc/frotz", 0, N},
              {"a/doc/frotz", 1, N});
  /* A pattern that is only separators holds nothing. */
  CHECK_RULES("/\n//\n", {"a", 1, N}, {"a", 0, N});
}
END_TEST

START_TEST(test_ignore_star_and_question_stop_at_slash) {
  /* gitignore(5): foo/ + "*" matches "foo/test.json" and "foo/bar" but not
   * "foo/bar/hello.c". */
  CHECK_RULES("foo/*\n", {"foo/test.json", 0, X}, {"foo/bar", 1, X},
              {"foo/bar/hello.c", 0, N}, {"foo", 1, N});
  CHECK_RULES("a/*.c\n", {"a/x.c", 0, X}, {"a/.c", 0, X}, {"a/b/x.c", 0, N});
  CHECK_RULES("x/a?b\n", {"x/acb", 0, X}, {"x/a/b", 0, N}, {"x/ab", 0, N});
  /* No special case for dot files: '*' matches a leading '.'. */
  CHECK_RULES("*\n", {".hidden", 0, X}, {"a/.b", 1, X});
  CHECK_RULES("*.o\n", {".o", 0, X}, {"x.o", 0, X}, {"x.oo", 0, N});
}
END_TEST

START_TEST(test_ignore_bracket_expressions) {
  CHECK_RULES("*.[oa]\n", {"file.o", 0, X}, {"lib.a", 0, X}, {"x.c", 0, N});
  CHECK_RULES("[a-z]1\n", {"q1", 0, X}, {"Q1", 0, N}, {"-1", 0, N});
  CHECK_RULES("[!a-c]x\n", {"dx", 0, X}, {"bx", 0, N});
  CHECK_RULES("[^a-c]x\n", {"dx", 0, X}, {"ax", 0, N});
  /* ']' first is a member; '-' first or last is a member. */
  CHECK_RULES("[]]x\n", {"]x", 0, X}, {"x", 0, N});
  CHECK_RULES("[!]]y\n", {"]y", 0, N}, {"ay", 0, X});
  CHECK_RULES("[a-]y\n", {"-y", 0, X}, {"ay", 0, X}, {"by", 0, N});
  CHECK_RULES("[-a]y\n", {"-y", 0, X}, {"by", 0, N});
  /* A backslash quotes inside brackets. */
  CHECK_RULES("[\\]a]e\n", {"]e", 0, X}, {"ae", 0, X}, {"\\e", 0, N});
  /* POSIX classes, in the C locale whatever the user's. */
  CHECK_RULES("[[:digit:]]z\n[[:upper:][:space:]]u\n", {"5z", 0, X},
              {"az", 0, N}, {"Qu", 0, X}, {" u", 0, X}, {"qu", 0, N},
              {"\xc3\x89u", 0, N});
  CHECK_RULES("[[:alpha:]][[:alnum:]][[:xdigit:]][[:punct:]]\n", {"a1f!", 0, X},
              {"a1g!", 0, N}, {"11f!", 0, N});
  /* "[:" without ":]" is just '[' and ':'. */
  CHECK_RULES("[[:a]b\n", {"[b", 0, X}, {":b", 0, X}, {"ab", 0, X},
              {"]b", 0, N});
  /* Bytes, not characters: ranges compare unsigned byte values. */
  CHECK_RULES("[\x80-\xff]\n", {"\xe9", 0, X}, {"e", 0, N});
  /* Malformed patterns match nothing (git's wildmatch aborts on them);
   * the other lines still count. */
  CHECK_RULES("[abc\n[[:nope:]]\nfoo\\\nok\n", {"[abc", 0, N}, {"a", 0, N},
              {"n", 0, N}, {"foo\\", 0, N}, {"foo", 0, N}, {"ok", 0, X});
}
END_TEST

START_TEST(test_ignore_globstar) {
  /* "**" + "/foo" matches foo anywhere, the same as "foo". */
  CHECK_RULES("**/foo\n", {"foo", 0, X}, {"a/foo", 1, X}, {"a/b/foo", 0, X},
              {"foo/x", 0, N}, {"xfoo", 0, N});
  /* "**" + "/foo/bar" matches bar directly under foo, anywhere. */
  CHECK_RULES("**/foo/bar\n", {"foo/bar", 0, X}, {"x/foo/bar", 0, X},
              {"x/y/foo/bar", 1, X}, {"foo/x/bar", 0, N}, {"bar", 0, N});
  /* A trailing "/" + "**" matches everything inside, not the directory
   * itself. */
  CHECK_RULES("abc/**\n", {"abc", 1, N}, {"abc/x", 0, X}, {"abc/x/y", 1, X},
              {"x/abc/y", 0, N});
  /* "/" + "**" + "/" matches zero or more directories. */
  CHECK_RULES("a/**/b\n", {"a/b", 0, X}, {"a/x/b", 0, X}, {"a/x/y/b", 0, X},
              {"a/x/c", 0, N}, {"b", 0, N}, {"x/a/b", 0, N});
  CHECK_RULES("a/**/**/b\n", {"a/b", 0, X}, {"a/x/y/z/b", 0, X});
  CHECK_RULES("**/m/**/n/*.c\n", {"m/n/x.c", 0, X}, {"q/m/r/s/n/x.c", 0, X},
              {"m/n/x/y.c", 0, N});
  /* Other consecutive asterisks are regular asterisks. */
  CHECK_RULES("foo**bar\n", {"fooxbar", 0, X}, {"x/foobar", 0, X});
  CHECK_RULES("a/**b\n", {"a/xb", 0, X}, {"a/b", 0, X}, {"a/x/yb", 0, N});
  /* A run of three stars between slashes is still "**". */
  CHECK_RULES("***/z\n", {"z", 0, X}, {"q/r/z", 0, X});
  /* "/" + "**" and a bare "**" match everything. */
  CHECK_RULES("/**\n", {"a", 0, X}, {"a/b/c", 1, X});
  CHECK_RULES("**\n", {"a", 0, X}, {"a/b/c", 1, X});
  /* Escaped stars are not "**". */
  CHECK_RULES("\\*\\*/z\n", {"**/z", 0, X}, {"q/z", 0, N}, {"z", 0, N});
}
END_TEST

START_TEST(test_ignore_escapes) {
  CHECK_RULES("\\*\n\\?x\n\\[a]\n\\\\b\n", {"*", 0, X}, {"a", 0, N},
              {"?x", 0, X}, {"ax", 0, N}, {"[a]", 0, X}, {"\\b", 0, X},
              {"b", 0, N});
  /* Escaping an ordinary byte is harmless. */
  CHECK_RULES("\\a\\b\n", {"ab", 0, X});
}
END_TEST

START_TEST(test_ignore_line_endings_and_bom) {
  /* "\r\n" line ends (as ripgrep reads them), a UTF-8 byte order mark
   * first (git skips it), and a last line without a newline. */
  CHECK_RULES("\xEF\xBB\xBF"
              "first\r\nsecond\r\nlast",
              {"first", 0, X}, {"second", 0, X}, {"first\r", 0, N},
              {"last", 0, X},
              {"\xEF\xBB\xBF"
               "first",
               0, N});
  /* NUL bytes in the text: a pattern holding one matches nothing, the
   * next line still counts. */
  static const char nul[] = "a\0b\nc\n";
  const expect e[] = {{"a", 0, N}, {"c", 0, X}};
  check_rules(nul, sizeof nul - 1, e, 2);
}
END_TEST

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_ignore_pathological_patterns_are_fast) {
  /* A backtracking matcher takes exponential time on these; the two-
   * pointer one takes O(pattern x path).  Names here are far longer than
   * file systems allow, to make any super-linear behaviour obvious. */
  enum { LEN = 200000 };
  char *name = malloc(LEN + 2);
  ck_assert_ptr_nonnull(name);
  memset(name, 'a', LEN);
  name[LEN] = '\0';
  /* The same components, as a path: "a/a/.../a". */
  char *path = malloc(LEN + 2);
  ck_assert_ptr_nonnull(path);
  for (size_t i = 0; i < LEN - 1; i++)
    path[i] = i % 2 ? '/' : 'a';
  path[LEN - 1] = '\0';

  ignore_rules *r;
  /* Many stars, and one star before a long literal (the two-pointer
   * algorithm's own worst case, pattern x name steps), per component and
   * per path. */
  const char *text = "*a*a*a*a*a*a*a*a*a*a*a*a*b\n"
                     "a*a*a*a*a*a*a*a*a*[!a]\n"
                     "*aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n"
                     "**/a/**/a/**/a/**/a/**/a/**/a/**/b\n"
                     "**/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/b\n";
  ck_assert_int_eq(ignore_rules_parse(text, strlen(text), &r), IGNORE_OK);
  double t0 = now();
  ck_assert_int_eq(ignore_rules_match(r, name, false), N);
  ck_assert_int_eq(ignore_rules_match(r, path, false), N);
  name[LEN] = 'b';
  name[LEN + 1] = '\0';
  ck_assert_int_eq(ignore_rules_match(r, name, false), X);
  path[LEN - 2] = 'b';
  ck_assert_int_eq(ignore_rules_match(r, path, false), X);
  double elapsed = now() - t0;
  ck_assert_msg(elapsed < 5.0, "matching took %.2f s", elapsed);
  ignore_rules_free(r);
  free(name);
  free(path);
}
END_TEST

START_TEST(test_ignore_rules_size_limit) {
  /* A text one byte over the limit is refused; one at the limit (the
   * worst case for the pattern array: one-byte patterns) is taken. */
  size_t len = IGNORE_MAX_FILE;
  char *text = malloc(len + 1);
  ck_assert_ptr_nonnull(text);
  for (size_t i = 0; i < len + 1; i++)
    text[i] = i % 2 ? '\n' : 'z';
  ignore_rules *small, *r;
  ck_assert_int_eq(ignore_rules_parse("x", 1, &small), IGNORE_OK);
  r = small;
  ck_assert_int_eq(ignore_rules_parse(text, len + 1, &r), IGNORE_ETOOBIG);
  ck_assert_ptr_null(r);
  ignore_rules_free(small);
  ck_assert_int_eq(ignore_rules_parse(text, len, &r), IGNORE_OK);
  ck_assert_int_eq(ignore_rules_match(r, "z", false), X);
  ignore_rules_free(r);
  free(text);
  ignore_rules_free(NULL);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Directory trees                                                        */
/* ---------------------------------------------------------------------- */

/* The warnings reported through the callback. */
typedef struct warnings {
  int count;
  int err; /* of the last one */
  char file[4096];
  char why[256];
} warnings;

static void on_warn(void *ctx, const char *file, int err, const char *why) {
  warnings *w = ctx;
  w->count++;
  w->err = err;
  snprintf(w->file, sizeof w->file, "%s", file);
  snprintf(w->why, sizeof w->why, "%s", why);
}

/* The per-test directory + "/" + rel, malloc'ed. */
static char *at(const char *rel) {
  return tu_work_path(rel);
}

static void put(const char *rel, const char *text) {
  tu_write_file(tu_work_dir(), rel, text, strlen(text));
}

static void mkdirs(const char *rel) {
  char *p = at(rel);
  for (char *s = p + strlen(tu_work_dir()) + 1; *s; s++) {
    if (*s == '/') {
      *s = '\0';
      mkdir(p, 0755);
      *s = '/';
    }
  }
  ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p,
                strerror(errno));
  free(p);
}

static void push(ignore_stack *st, const char *rel, ignore_status want) {
  char *p = at(rel);
  ck_assert_int_eq(ignore_push_dir(st, p), want);
  free(p);
}

static void push_root(ignore_stack *st, const char *rel, ignore_status want) {
  char *p = at(rel);
  ck_assert_int_eq(ignore_push_root(st, p), want);
  free(p);
}

#define IGNORED(st, name, dir)                                                 \
  ck_assert_msg(ignore_match(st, name, dir), "%s should be ignored", name)
#define KEPT(st, name, dir)                                                    \
  ck_assert_msg(!ignore_match(st, name, dir), "%s should not be ignored", name)

START_TEST(test_stack_gitignore_example) {
  /* gitignore(5) EXAMPLES: .git/info/exclude ignores objects and archives
   * anywhere; Documentation/.gitignore ignores generated html except
   * foo.html. */
  put("repo/.git/info/exclude",
      "# ignore objects and archives, anywhere in the tree.\n*.[oa]\n");
  put("repo/Documentation/.gitignore", "# ignore generated html files,\n"
                                       "*.html\n"
                                       "# except foo.html which is "
                                       "maintained by hand\n!foo.html\n");
  mkdirs("repo/src");
  warnings w = {0};
  ignore_stack *st = ignore_new(on_warn, &w);
  ck_assert_ptr_nonnull(st);
  push_root(st, "repo", IGNORE_OK);
  IGNORED(st, "file.o", false);
  IGNORED(st, "lib.a", false);
  KEPT(st, "Documentation", true);
  KEPT(st, "x.html", false);
  push(st, "repo/Documentation", IGNORE_OK);
  KEPT(st, "foo.html", false);
  IGNORED(st, "gitignore.html", false);
  IGNORED(st, "x.o", false);
  ignore_pop_dir(st);
  push(st, "repo/src", IGNORE_OK);
  IGNORED(st, "internal.o", false);
  KEPT(st, "internal.c", false);
  KEPT(st, "x.html", false);
  ignore_free(st);
  ck_assert_int_eq(w.count, 0);
}
END_TEST

START_TEST(test_stack_deeper_file_reincludes) {
  /* gitignore(5) EXAMPLES: "The second .gitignore prevents Git from
   * ignoring arch/foo/kernel/vmlinux.lds.S." */
  mkdirs("r/.git");
  put("r/.gitignore", "vmlinux*\n");
  put("r/arch/foo/kernel/.gitignore", "!/vmlinux*\n");
  mkdirs("r/arch/foo/kernel/sub");
  ignore_stack *st = ignore_new(NULL, NULL);
  push_root(st, "r", IGNORE_OK);
  size_t base = ignore_depth(st); /* "/", the temporary directory ..., r */
  IGNORED(st, "vmlinux", false);
  push(st, "r/arch", IGNORE_OK);
  push(st, "r/arch/foo", IGNORE_OK);
  IGNORED(st, "vmlinux.x", false);
  push(st, "r/arch/foo/kernel", IGNORE_OK);
  KEPT(st, "vmlinux.lds.S", false);
  /* "!/vmlinux*" is anchored to kernel/: one level down, the top-level
   * pattern applies again. */
  push(st, "r/arch/foo/kernel/sub", IGNORE_OK);
  IGNORED(st, "vmlinux.lds.S", false);
  ignore_pop_dir(st);
  KEPT(st, "vmlinux.lds.S", false);
  ignore_pop_dir(st);
  IGNORED(st, "vmlinux.lds.S", false);
  ck_assert_uint_eq(ignore_depth(st), base + 2);
  ignore_free(st);
}
END_TEST

START_TEST(test_stack_everything_except_foo_bar) {
  /* gitignore(5) EXAMPLES: "exclude everything except directory
   * foo/bar". */
  mkdirs("r/.git");
  put("r/.gitignore", "# exclude everything except directory foo/bar\n"
                      "/*\n!/foo\n/foo/*\n!/foo/bar\n");
  mkdirs("r/foo/bar");
  ignore_stack *st = ignore_new(NULL, NULL);
  push_root(st, "r", IGNORE_OK);
  IGNORED(st, "a", false);
  IGNORED(st, "dir", true);
  KEPT(st, "foo", true);
  push(st, "r/foo", IGNORE_OK);
  IGNORED(st, "x", false);
  IGNORED(st, "baz", true);
  KEPT(st, "bar", true);
  push(st, "r/foo/bar", IGNORE_OK);
  KEPT(st, "y", false);
  KEPT(st, "deeper", true);
  ignore_free(st);
}
END_TEST

START_TEST(test_stack_nested_precedence) {
  mkdirs("r/.git");
  put("r/.gitignore", "*.log\n");
  put("r/sub/.gitignore", "!keep.log\n");
  put("r/sub/deeper/.gitignore", "keep.log\n");
  ignore_stack *st = ignore_new(NULL, NULL);
  push_root(st, "r", IGNORE_OK);
  IGNORED(st, "keep.log", false);
  push(st, "r/sub", IGNORE_OK);
  KEPT(st, "keep.log", false);
  IGNORED(st, "other.log", false);
  push(st, "r/sub/deeper", IGNORE_OK);
  IGNORED(st, "keep.log", false);
  ignore_pop_dir(st);
  KEPT(st, "keep.log", false);
  /* The walker may pass the joined path or the bare name. */
  char *p = at("r/sub/keep.log");
  KEPT(st, p, false);
  free(p);
  IGNORED(st, "x/other.log", false);
  IGNORED(st, "other.log/", false);
  ignore_free(st);
}
END_TEST

START_TEST(test_stack_outside_a_repository) {
  /* ripgrep reads .gitignore only inside a git repository, .ignore
   * always.  (The per-test directory is under $TMPDIR, in no repository.)
   */
  put("plain/.gitignore", "a.txt\n");
  put("plain/.ignore", "b.txt\n");
  mkdirs("plain/proj/.git");
  put("plain/proj/.gitignore", "c.txt\n");
  ignore_stack *st = ignore_new(NULL, NULL);
  push_root(st, "plain", IGNORE_OK);
  KEPT(st, "a.txt", false);
  IGNORED(st, "b.txt", false);
  /* A repository starting below the walk root. */
  push(st, "plain/proj", IGNORE_OK);
  IGNORED(st, "c.txt", false);
  KEPT(st, "a.txt", false);
  IGNORED(st, "b.txt", false);
  ignore_free(st);
}
END_TEST

START_TEST(test_stack_ignore_beats_gitignore) {
  /* ripgrep's precedence: a match in any .ignore over one in any
   * .gitignore, deeper or not. */
  mkdirs("r/.git");
  put("r/.gitignore", "*.txt\n");
  put("r/.ignore", "!keep.txt\n*.md\n");
  put("r/sub/.gitignore", "!readme.md\n");
  ignore_stack *st = ignore_new(NULL, NULL);
  push_root(st, "r", IGNORE_OK);
  KEPT(st, "keep.txt", false);
  IGNORED(st, "x.txt", false);
  IGNORED(st, "x.md", false);
  push(st, "r/sub", IGNORE_OK);
  IGNORED(st, "readme.md", false);
  KEPT(st, "keep.txt", false);
  ignore_free(st);
}
END_TEST

START_TEST(test_stack_root_below_repository_top) {
  /* `kidx index docs` inside a repository honours the top-level
   * .gitignore, with anchored patterns still relative to the top. */
  mkdirs("r/.git");
  put("r/.gitignore", "/docs/build/\n*.tmp\n/top.txt\n/parent/*.txt\n");
  mkdirs("r/docs/sub/build");
  mkdirs("r/parent/subdir");
  ignore_stack *st = ignore_new(NULL, NULL);
  push_root(st, "r/docs", IGNORE_OK);
  IGNORED(st, "build", true);
  KEPT(st, "build", false);
  IGNORED(st, "x.tmp", false);
  KEPT(st, "top.txt", false);
  push(st, "r/docs/sub", IGNORE_OK);
  KEPT(st, "build", true);
  IGNORED(st, "y.tmp", false);
  /* ripgrep issue 2778: /parent/ + "*.txt" must not reach
   * parent/subdir/ when the walk starts at parent/. */
  push_root(st, "r/parent", IGNORE_OK);
  IGNORED(st, "ignore-me.txt", false);
  push(st, "r/parent/subdir", IGNORE_OK);
  KEPT(st, "dont-ignore-me.txt", false);
  /* A relative root ("." in docs/) is resolved to its real names. */
  char *docs = at("r/docs");
  ck_assert_int_eq(chdir(docs), 0);
  free(docs);
  ck_assert_int_eq(ignore_push_root(st, "."), IGNORE_OK);
  IGNORED(st, "build", true);
  ck_assert_int_eq(ignore_push_root(st, "./sub/"), IGNORE_OK);
  KEPT(st, "build", true);
  /* Without seeding, the root alone is read: here, nothing. */
  while (ignore_depth(st) > 0)
    ignore_pop_dir(st);
  ignore_pop_dir(st); /* no-op when empty */
  KEPT(st, "x.tmp", false);
  ck_assert_int_eq(ignore_push_dir(st, "."), IGNORE_OK);
  KEPT(st, "x.tmp", false);
  ignore_free(st);
}
END_TEST

START_TEST(test_stack_ancestors_above_repository) {
  /* ripgrep reads .ignore files of every parent directory; .gitignore
   * files above the repository are outside it and not read. */
  put("up/.ignore", "*.x\n");
  put("up/.gitignore", "*.y\n");
  mkdirs("up/r/.git");
  mkdirs("up/r/d");
  ignore_stack *st = ignore_new(NULL, NULL);
  push_root(st, "up/r", IGNORE_OK);
  IGNORED(st, "a.x", false);
  KEPT(st, "a.y", false);
  push(st, "up/r/d", IGNORE_OK);
  IGNORED(st, "b.x", false);
  ignore_free(st);
}
END_TEST

START_TEST(test_stack_nested_repository) {
  /* A repository inside another: the outer .gitignore and info/exclude
   * stop at its top; .ignore files go on applying. */
  put("r/.git/info/exclude", "*.o\n");
  put("r/.gitignore", "*.txt\n");
  put("r/.ignore", "*.md\n");
  mkdirs("r/sub/.git");
  put("r/sub/.gitignore", "*.c\n");
  ignore_stack *st = ignore_new(NULL, NULL);
  push_root(st, "r", IGNORE_OK);
  IGNORED(st, "a.txt", false);
  IGNORED(st, "a.o", false);
  push(st, "r/sub", IGNORE_OK);
  KEPT(st, "a.txt", false);
  KEPT(st, "a.o", false);
  IGNORED(st, "a.md", false);
  IGNORED(st, "a.c", false);
  ignore_free(st);
}
END_TEST

START_TEST(test_stack_git_file_links) {
  /* A linked worktree: .git is "gitdir: PATH" (relative here), and its
   * repository's commondir names where info/exclude lives. */
  put("main.git/info/exclude", "*.wt\n");
  put("main.git/worktrees/w/commondir", "../..\n");
  put("tree/.git", "gitdir: ../main.git/worktrees/w\n");
  put("tree/.gitignore", "*.gi\n");
  /* A submodule: .git names the repository (absolute here), which has no
   * commondir. */
  put("mod.git/info/exclude", "*.sm");
  char *mod = at("mod.git");
  size_t len = strlen(mod) + 16;
  char *line = malloc(len);
  snprintf(line, len, "gitdir: %s", mod);
  put("sub/.git", line);
  free(line);
  free(mod);
  warnings w = {0};
  ignore_stack *st = ignore_new(on_warn, &w);
  push_root(st, "tree", IGNORE_OK);
  IGNORED(st, "a.wt", false);
  IGNORED(st, "a.gi", false);
  push_root(st, "sub", IGNORE_OK);
  IGNORED(st, "a.sm", false);
  KEPT(st, "a.wt", false);
  /* A .git file that is no link is reported. */
  put("bad/.git", "nonsense\n");
  push_root(st, "bad", IGNORE_EREAD);
  ck_assert_int_eq(w.count, 1);
  ck_assert_int_eq(w.err, EINVAL);
  ck_assert_ptr_nonnull(strstr(w.file, "bad/.git"));
  ignore_free(st);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Errors                                                                 */
/* ---------------------------------------------------------------------- */

START_TEST(test_stack_unreadable_files_reported) {
  mkdirs("r/.git");
  put("r/.ignore", "*.x\n");
  mkdirs("r/.gitignore"); /* a directory where a file should be */
  warnings w = {0};
  ignore_stack *st = ignore_new(on_warn, &w);
  push_root(st, "r", IGNORE_EREAD);
  ck_assert_int_eq(w.count, 1);
  ck_assert_int_eq(w.err, EISDIR);
  ck_assert_ptr_nonnull(strstr(w.file, "r/.gitignore"));
  /* Pushed all the same, with the files that could be read. */
  IGNORED(st, "a.x", false);

  /* Larger than the limit: refused without reading it (a sparse file). */
  mkdirs("r/big");
  char *big = at("r/big/.ignore");
  int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(ftruncate(fd, (off_t)IGNORE_MAX_FILE + 1), 0);
  close(fd);
  push(st, "r/big", IGNORE_EREAD);
  ck_assert_int_eq(w.count, 2);
  ck_assert_int_eq(w.err, EFBIG);
  ck_assert_str_eq(w.file, big);
  ck_assert_ptr_nonnull(strstr(w.why, "16 MiB"));
  ignore_pop_dir(st);
  /* At the limit exactly, it is read. */
  fd = open(big, O_WRONLY | O_TRUNC);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "*.big\n", 6), 6);
  ck_assert_int_eq(ftruncate(fd, (off_t)IGNORE_MAX_FILE), 0);
  close(fd);
  push(st, "r/big", IGNORE_OK);
  IGNORED(st, "a.big", false);
  ignore_pop_dir(st);
  free(big);

  /* A FIFO: refused as not a regular file, without blocking. */
  mkdirs("r/fifo");
  char *fifo = at("r/fifo/.ignore");
  ck_assert_int_eq(mkfifo(fifo, 0644), 0);
  free(fifo);
  push(st, "r/fifo", IGNORE_EREAD);
  ck_assert_int_eq(w.count, 3);
  ck_assert_int_eq(w.err, EINVAL);
  ck_assert_str_eq(w.why, "not a regular file");
  ignore_pop_dir(st);

  /* Permission denied: root reads anything, so as nobody. */
  put("r/locked/.ignore", "*.l\n");
  char *locked = at("r/locked/.ignore");
  ck_assert_int_eq(chmod(locked, 0), 0);
  free(locked);
  if (tu_unprivileged_self("stack_unreadable_files_reported")) {
    push(st, "r/locked", IGNORE_EREAD);
    tu_privileged();
    ck_assert_int_eq(w.count, 4);
    ck_assert_int_eq(w.err, EACCES);
    ignore_pop_dir(st);
  }
  ignore_free(st);
}
END_TEST

START_TEST(test_stack_symlinked_gitignore_not_followed) {
  /* gitignore(5) NOTES: "Git does not follow symbolic links when
   * accessing a .gitignore file in the working tree."  ripgrep follows a
   * symbolic link for .ignore, which is not git's. */
  mkdirs("r/.git");
  put("patterns", "*.s\n");
  char *target = at("patterns"), *gi = at("r/.gitignore"),
       *ig = at("r/.ignore");
  ck_assert_int_eq(symlink(target, gi), 0);
  ck_assert_int_eq(symlink(target, ig), 0);
  warnings w = {0};
  ignore_stack *st = ignore_new(on_warn, &w);
  push_root(st, "r", IGNORE_EREAD);
  ck_assert_int_eq(w.count, 1);
  ck_assert_int_eq(w.err, ELOOP);
  ck_assert_str_eq(w.file, gi);
  ck_assert_ptr_nonnull(strstr(w.why, "symbolic link"));
  IGNORED(st, "a.s", false); /* through .ignore */
  ck_assert_int_eq(unlink(ig), 0);
  push_root(st, "r", IGNORE_EREAD);
  KEPT(st, "a.s", false);
  ignore_free(st);
  free(target);
  free(gi);
  free(ig);
}
END_TEST

START_TEST(test_stack_missing_files_are_silent) {
  /* No ignore files anywhere, a file where a directory is expected, and
   * a root that does not exist: only the last is worth a warning. */
  mkdirs("r/.git");
  put("r/file", "x");
  warnings w = {0};
  ignore_stack *st = ignore_new(on_warn, &w);
  push_root(st, "r", IGNORE_OK);
  push(st, "r/file", IGNORE_OK);
  ck_assert_int_eq(w.count, 0);
  KEPT(st, "anything", false);
  ignore_pop_dir(st);
  push_root(st, "nowhere", IGNORE_EREAD);
  ck_assert_int_eq(w.count, 1);
  ck_assert_int_eq(w.err, ENOENT);
  ck_assert_uint_eq(ignore_depth(st), 1);
  ignore_free(st);
  ignore_free(NULL);
}
END_TEST

START_TEST(test_ignore_out_of_memory) {
  /* Each allocation fails in turn: every call returns IGNORE_ENOMEM (or
   * NULL) and leaves the stack as it was, or succeeds; nothing leaks (the
   * sanitizer build checks that). */
  const char *text = "*.o\n!keep.o\n/a/**/b/\n";
  for (long n = 0;; n++) {
    ignore_rules *r = NULL;
    arm(n);
    ignore_status rc = ignore_rules_parse(text, strlen(text), &r);
    bool failed = disarm();
    if (rc == IGNORE_ENOMEM) {
      ck_assert(failed);
      ck_assert_ptr_null(r);
      continue;
    }
    ck_assert_int_eq(rc, IGNORE_OK);
    ck_assert(!failed); /* a failure is never swallowed */
    ck_assert_int_eq(ignore_rules_match(r, "a/x/b", true), X);
    ignore_rules_free(r);
    if (!failed)
      break;
  }

  put("main.git/info/exclude", "*.wt\n");
  put("main.git/worktrees/w/commondir", "../..\n");
  put("tree/.git", "gitdir: ../main.git/worktrees/w\n");
  put("tree/.gitignore", "*.gi\n");
  put("tree/.ignore", "*.i\n");
  put("tree/d/.gitignore", "!keep.gi\n");
  char *root = at("tree"), *d = at("tree/d");
  for (long n = 0;; n++) {
    /* No assertions while armed: Check allocates to record them. */
    arm(n);
    ignore_stack *st = ignore_new(NULL, NULL);
    ignore_status root_rc = IGNORE_ENOMEM, dir_rc = IGNORE_ENOMEM;
    size_t root_depth = 0, dir_depth = 0;
    if (st) {
      root_rc = ignore_push_root(st, root);
      root_depth = ignore_depth(st);
      if (root_rc != IGNORE_ENOMEM) {
        dir_rc = ignore_push_dir(st, d);
        dir_depth = ignore_depth(st);
      }
    }
    bool failed = disarm();
    if (!st) {
      ck_assert(failed);
      continue;
    }
    if (root_rc == IGNORE_ENOMEM) {
      ck_assert(failed);
      ck_assert_uint_eq(root_depth, 0);
    } else {
      ck_assert_int_eq(root_rc, IGNORE_OK);
      if (dir_rc == IGNORE_ENOMEM) {
        ck_assert(failed);
        ck_assert_uint_eq(dir_depth, root_depth);
      } else {
        ck_assert_int_eq(dir_rc, IGNORE_OK);
        ck_assert(!failed); /* a failure is never swallowed */
        ck_assert_uint_eq(dir_depth, root_depth + 1);
        IGNORED(st, "a.wt", false);
        IGNORED(st, "a.gi", false);
        IGNORED(st, "a.i", false);
        KEPT(st, "keep.gi", false);
      }
    }
    ignore_free(st);
    if (!failed)
      break;
    ck_assert_int_lt(n, 10000);
  }
  free(root);
  free(d);
}
END_TEST

static Suite *ignore_suite(void) {
  Suite *s = suite_create("ignore");
  TCase *pat = tcase_create("Patterns");
  tcase_add_test(pat, test_ignore_blank_lines_and_comments);
  tcase_add_test(pat, test_ignore_negation);
  tcase_add_test(pat, test_ignore_trailing_spaces);
  tcase_add_test(pat, test_ignore_directory_only);
  tcase_add_test(pat, test_ignore_anchoring);
  tcase_add_test(pat, test_ignore_star_and_question_stop_at_slash);
  tcase_add_test(pat, test_ignore_bracket_expressions);
  tcase_add_test(pat, test_ignore_globstar);
  tcase_add_test(pat, test_ignore_escapes);
  tcase_add_test(pat, test_ignore_line_endings_and_bom);
  tcase_add_test(pat, test_ignore_pathological_patterns_are_fast);
  tcase_add_test(pat, test_ignore_rules_size_limit);
  suite_add_tcase(s, pat);

  TCase *stack = tcase_create("Stack");
  tcase_add_unchecked_fixture(stack, tu_case_setup, tu_case_teardown);
  tcase_add_checked_fixture(stack, tu_work_setup, tu_work_teardown);
  tcase_add_test(stack, test_stack_gitignore_example);
  tcase_add_test(stack, test_stack_deeper_file_reincludes);
  tcase_add_test(stack, test_stack_everything_except_foo_bar);
  tcase_add_test(stack, test_stack_nested_precedence);
  tcase_add_test(stack, test_stack_outside_a_repository);
  tcase_add_test(stack, test_stack_ignore_beats_gitignore);
  tcase_add_test(stack, test_stack_root_below_repository_top);
  tcase_add_test(stack, test_stack_ancestors_above_repository);
  tcase_add_test(stack, test_stack_nested_repository);
  tcase_add_test(stack, test_stack_git_file_links);
  suite_add_tcase(s, stack);

  TCase *err = tcase_create("Errors");
  tcase_add_unchecked_fixture(err, tu_case_setup, tu_case_teardown);
  tcase_add_checked_fixture(err, tu_work_setup, tu_work_teardown);
  tcase_add_test(err, test_stack_unreadable_files_reported);
  tcase_add_test(err, test_stack_symlinked_gitignore_not_followed);
  tcase_add_test(err, test_stack_missing_files_are_silent);
  tcase_add_test(err, test_ignore_out_of_memory);
  suite_add_tcase(s, err);
  return s;
}

int main(void) {
  return tu_run_suite(ignore_suite());
}
