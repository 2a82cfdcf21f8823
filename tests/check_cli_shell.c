/*
 * check_cli_shell.c -- end-to-end tests of how kidx behaves in a shell:
 * colour and terminal detection (--color, NO_COLOR, TERM), what a search
 * with no hits says, help, hints for query words that look like options,
 * JSON ids that are not UTF-8, and --vimgrep output for editors.
 *
 * Terminal behaviour can only be seen on a terminal, so these tests run
 * the binary with its standard output (and, when asked, standard error) on
 * a pseudo-terminal; see run_pty.  Where there are none (posix_openpt
 * fails), those tests are left out and the suite exits 77, which ctest
 * reports as skipped (see pty_available and main).
 */
/* posix_openpt, grantpt, unlockpt and ptsname are XSI. */
#define _XOPEN_SOURCE 700

#include "kidx.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ---- running kidx on a pseudo-terminal ---- */

/* Which of the child's descriptors go to the terminal; the others are
 * captured in files, so a test can still tell stdout from stderr. */
enum { PTY_OUT = 1, PTY_ERR = 2 };

/* A test that waits longer than this for kidx has found a hang. */
#define PTY_TIMEOUT_MS 30000

static char *read_all(int fd) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  ck_assert_ptr_nonnull(buf);
  for (;;) {
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    n += (size_t)got;
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      ck_assert_ptr_nonnull(buf);
    }
  }
  buf[n] = '\0';
  return buf;
}

static int capture_file(void) {
  char path[] = "/tmp/kidx-pty.XXXXXX";
  int fd = mkstemp(path);
  ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
  unlink(path);
  return fd;
}

/* The child's environment: KIDX_INDEX removed (as tu_exec does), TERM set
 * to a capable terminal and NO_COLOR removed, so that the settings of
 * whoever runs the tests cannot change their outcome; then env's entries,
 * "K=V" to set and a bare "K" to remove. */
static void child_env(const char *const *env) {
  unsetenv("KIDX_INDEX");
  unsetenv("NO_COLOR");
  setenv("TERM", "xterm", 1);
  for (size_t i = 0; env && env[i]; i++) {
    char kv[4096];
    snprintf(kv, sizeof kv, "%s", env[i]);
    char *eq = strchr(kv, '=');
    if (eq) {
      *eq = '\0';
      setenv(kv, eq + 1, 1);
    } else {
      unsetenv(kv);
    }
  }
}

/* Reads the terminal's master side until the child has closed the slave
 * (read gives EIO or 0), for at most PTY_TIMEOUT_MS: a child that never
 * finishes is killed and the test fails instead of hanging. */
static char *read_master(int master, pid_t pid) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  ck_assert_ptr_nonnull(buf);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long waited = (long)(now.tv_sec - t0.tv_sec) * 1000L +
                  (now.tv_nsec - t0.tv_nsec) / 1000000L;
    struct pollfd p = {master, POLLIN, 0};
    int ready = waited < PTY_TIMEOUT_MS
                    ? poll(&p, 1, (int)(PTY_TIMEOUT_MS - waited))
                    : 0;
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      ck_abort_msg("kidx on a terminal did not finish in %d ms",
                   PTY_TIMEOUT_MS);
    }
    ssize_t got = read(master, buf + n, cap - n);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (got <= 0) /* EIO: the slave side is closed, all was read */
      break;
    n += (size_t)got;
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      ck_assert_ptr_nonnull(buf);
    }
  }
  buf[n] = '\0';
  return buf;
}

/* Runs kidx with argv[1..] = args in the work directory, stdin from
 * /dev/null, the descriptors in on_pty (PTY_OUT, PTY_ERR) on a new
 * pseudo-terminal and the others captured.  What the terminal received
 * goes to out (stdout on it) or err (stderr only); with both on it, both
 * go to out, in order, and err is "". */
static tu_run run_pty(unsigned on_pty, const char *const *env,
                      const char *const *args) {
  const char *argv[64];
  size_t n = 0;
  argv[n++] = KIDX_BIN;
  for (; args[n - 1]; n++) {
    ck_assert_uint_lt(n, 63);
    argv[n] = args[n - 1];
  }
  argv[n] = NULL;

  int master = posix_openpt(O_RDWR | O_NOCTTY);
  ck_assert_msg(master >= 0, "posix_openpt: %s", strerror(errno));
  ck_assert_msg(grantpt(master) == 0 && unlockpt(master) == 0,
                "grantpt/unlockpt: %s", strerror(errno));
  const char *name = ptsname(master);
  ck_assert_ptr_nonnull(name);
  int slave = open(name, O_RDWR | O_NOCTTY);
  ck_assert_msg(slave >= 0, "open %s: %s", name, strerror(errno));
  /* No output processing: "\n" stays "\n" rather than becoming "\r\n", so
   * the text read back is what kidx wrote. */
  struct termios t;
  ck_assert_int_eq(tcgetattr(slave, &t), 0);
  t.c_oflag &= ~(tcflag_t)OPOST;
  ck_assert_int_eq(tcsetattr(slave, TCSANOW, &t), 0);
  int outfd = capture_file(), errfd = capture_file();
  int in = open("/dev/null", O_RDONLY);
  ck_assert_int_ge(in, 0);

  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(master);
    dup2(in, 0);
    dup2(on_pty & PTY_OUT ? slave : outfd, 1);
    dup2(on_pty & PTY_ERR ? slave : errfd, 2);
    if (chdir(tu_work_dir()) != 0)
      _exit(126);
    child_env(env);
    execv(argv[0], (char *const *)(uintptr_t)argv);
    _exit(127);
  }
  /* Only the child may hold the slave open: its exit is our EOF. */
  close(slave);
  close(in);
  char *term = read_master(master, pid);
  close(master);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  tu_run r;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  lseek(outfd, 0, SEEK_SET);
  lseek(errfd, 0, SEEK_SET);
  char *out = read_all(outfd), *err = read_all(errfd);
  close(outfd);
  close(errfd);
  /* Both on the terminal: err's file stays empty, and r.err is "". */
  r.out = on_pty & PTY_OUT ? term : out;
  r.err = (on_pty & PTY_ERR) && !(on_pty & PTY_OUT) ? term : err;
  if (r.out != out && r.err != out)
    free(out);
  if (r.err != err)
    free(err);
  if (r.out != term && r.err != term)
    free(term);
  return r;
}

/* KIDX_PTY(PTY_OUT, env, "search", "q"): kidx with stdout on a terminal. */
#define KIDX_PTY(on, env, ...)                                                 \
  run_pty(on, env, (const char *const[]){__VA_ARGS__, NULL})

/* Whether this system gives out pseudo-terminals at all (a container
 * without /dev/pts, a sandbox): if not, the tests that need one are not
 * run, and the suite says so and exits with SKIPPED_STATUS rather than
 * passing as if they had.  KIDX_TEST_NO_PTY=1 pretends there are none, so
 * that this path is tested too (tests/CMakeLists.txt). */
static bool pty_available(char *why, size_t cap) {
  const char *no = getenv("KIDX_TEST_NO_PTY");
  if (no && *no) {
    snprintf(why, cap, "KIDX_TEST_NO_PTY is set");
    return false;
  }
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0) {
    snprintf(why, cap, "posix_openpt: %s", strerror(errno));
    return false;
  }
  const char *name = NULL;
  int slave = -1;
  if (grantpt(master) != 0 || unlockpt(master) != 0)
    snprintf(why, cap, "grantpt/unlockpt: %s", strerror(errno));
  else if (!(name = ptsname(master)))
    snprintf(why, cap, "ptsname: %s", strerror(errno));
  else if ((slave = open(name, O_RDWR | O_NOCTTY)) < 0)
    snprintf(why, cap, "open %s: %s", name, strerror(errno));
  if (slave >= 0)
    close(slave);
  close(master);
  return slave >= 0;
}

/* The exit status of a run whose terminal tests were skipped (and whose
 * other tests passed): ctest's SKIP_RETURN_CODE, as automake's. */
#define SKIPPED_STATUS 77

/* ---- fixtures and small helpers ---- */

static void index_corpus(void) {
  tu_copy_corpus(tu_work_dir());
  tu_run r = KIDX("index", "corpus/");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
}

static void write_text(const char *name, const char *text) {
  tu_write_file(tu_work_dir(), name, text, strlen(text));
}

/* Runs kidx with argv (NULL-terminated, at most 8) in the work dir. */
static tu_run kidx_argv(const char *const *args) {
  const char *argv[10] = {KIDX_BIN};
  for (size_t k = 0; args[k]; k++) {
    ck_assert_uint_lt(k, 8);
    argv[k + 1] = args[k];
  }
  return tu_exec(tu_work_dir(), argv, NULL);
}

#define BOLD "\033[1m"

/* Asserts that s holds no escape sequence at all. */
static void assert_no_escape(const char *s) {
  ck_assert_msg(strchr(s, '\033') == NULL, "escape sequence in:\n%s", s);
}

/* ---- colour ---- */

/* The default on a terminal: matched words in bold, and nothing on the
 * terminal that a pipe would not get apart from the markers. */
START_TEST(test_color_terminal_default) {
  index_corpus();
  tu_run r = KIDX_PTY(PTY_OUT, NULL, "search", "transparency");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strstr(r.out, BOLD "transparency\033[0m") != NULL,
                "no bold on a terminal:\n%s", r.out);
  ck_assert_ptr_null(strstr(r.out, "[transparency]"));
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  /* --color auto, spelled out, is the default. */
  r = KIDX_PTY(PTY_OUT, NULL, "search", "--color=auto", "transparency");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, BOLD "transparency"));
  tu_run_free(&r);
}
END_TEST

/* Everything that turns colour off on a terminal: brackets instead. */
START_TEST(test_color_off_on_terminal) {
  index_corpus();
  static const struct {
    const char *env[3];
    const char *opt;
  } OFF[] = {
      {{"NO_COLOR=1"}, NULL},    {{"NO_COLOR=anything"}, NULL},
      {{"TERM=dumb"}, NULL},     {{"TERM"}, NULL}, /* no TERM at all */
      {{"TERM="}, NULL},                           /* empty TERM */
      {{NULL}, "--color=never"}, {{"NO_COLOR="}, "--color=never"},
  };
  for (size_t i = 0; i < sizeof OFF / sizeof OFF[0]; i++) {
    tu_run r = OFF[i].opt
                   ? KIDX_PTY(PTY_OUT, OFF[i].env, "search", OFF[i].opt,
                              "transparency")
                   : KIDX_PTY(PTY_OUT, OFF[i].env, "search", "transparency");
    ASSERT_STATUS(r, 0);
    assert_no_escape(r.out);
    ck_assert_msg(strstr(r.out, "[transparency]") != NULL,
                  "case %zu (%s %s): no brackets:\n%s", i,
                  OFF[i].env[0] ? OFF[i].env[0] : "",
                  OFF[i].opt ? OFF[i].opt : "", r.out);
    tu_run_free(&r);
  }
}
END_TEST

START_TEST(test_color_on) {
  index_corpus();
  /* An empty NO_COLOR is no NO_COLOR (no-color.org). */
  const char *empty[] = {"NO_COLOR=", NULL};
  tu_run r = KIDX_PTY(PTY_OUT, empty, "search", "transparency");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, BOLD "transparency"));
  tu_run_free(&r);
  /* --color always: bold into a pipe, and over NO_COLOR and TERM=dumb,
   * as a flag on the command line overrides the environment. */
  r = KIDX("search", "--color", "always", "transparency");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, BOLD "transparency\033[0m"));
  tu_run_free(&r);
  const char *no_color[] = {"NO_COLOR=1", "TERM=dumb", NULL};
  r = KIDX_ENV(no_color, "search", "--color=always", "transparency");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, BOLD "transparency"));
  tu_run_free(&r);
  r = KIDX_PTY(PTY_OUT, no_color, "search", "--color=always", "transparency");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, BOLD "transparency"));
  tu_run_free(&r);
  /* A pipe without --color: brackets, as always. */
  r = KIDX("search", "transparency");
  ASSERT_STATUS(r, 0);
  assert_no_escape(r.out);
  ck_assert_ptr_nonnull(strstr(r.out, "[transparency]"));
  tu_run_free(&r);
}
END_TEST

/* --highlight chooses the markers; --color never forbids escapes. */
START_TEST(test_color_and_highlight) {
  index_corpus();
  /* --color never wins over --highlight bold: brackets, not bold. */
  tu_run r = KIDX_PTY(PTY_OUT, NULL, "search", "--highlight", "bold", "--color",
                      "never", "transparency");
  ASSERT_STATUS(r, 0);
  assert_no_escape(r.out);
  ck_assert_ptr_nonnull(strstr(r.out, "[transparency]"));
  tu_run_free(&r);
  /* --highlight bold alone is a flag too: it beats NO_COLOR, and still
   * writes bold into a pipe. */
  const char *no_color[] = {"NO_COLOR=1", NULL};
  r = KIDX_PTY(PTY_OUT, no_color, "search", "--highlight=bold", "transparency");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, BOLD "transparency"));
  tu_run_free(&r);
  r = KIDX("search", "--highlight=bold", "transparency");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, BOLD "transparency"));
  tu_run_free(&r);
  /* Brackets and none are chosen markers, whatever --color says. */
  r = KIDX_PTY(PTY_OUT, NULL, "search", "--highlight=brackets",
               "--color=always", "transparency");
  ASSERT_STATUS(r, 0);
  assert_no_escape(r.out);
  ck_assert_ptr_nonnull(strstr(r.out, "[transparency]"));
  tu_run_free(&r);
  r = KIDX_PTY(PTY_OUT, NULL, "search", "--highlight=none", "transparency");
  ASSERT_STATUS(r, 0);
  assert_no_escape(r.out);
  ck_assert_ptr_null(strstr(r.out, "[transparency]"));
  ck_assert_ptr_nonnull(strstr(r.out, "transparency"));
  tu_run_free(&r);
  /* A bad value is a usage error naming the choices. */
  r = KIDX("search", "--color", "yes", "transparency");
  ASSERT_STATUS(r, 2);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err,
                   "kidx: --color expects 'auto', 'always' or 'never', got "
                   "'yes'\n");
  tu_run_free(&r);
}
END_TEST

/* ---- searches without hits ---- */

/* On a terminal, an empty result is said on stderr; into a pipe stdout
 * and stderr stay empty, as before.  The exit status is 1 either way. */
START_TEST(test_no_hits_terminal) {
  index_corpus();
  tu_run r = KIDX_PTY(PTY_OUT, NULL, "search", "zzyzx");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "kidx: no matching documents\n");
  tu_run_free(&r);
  /* Both streams on the terminal: the message is all there is. */
  r = KIDX_PTY(PTY_OUT | PTY_ERR, NULL, "search", "zzyzx", "quux");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "kidx: no matching documents\n");
  tu_run_free(&r);
  r = KIDX("search", "zzyzx");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  /* --json is for programs: nothing on stderr even on a terminal. */
  r = KIDX_PTY(PTY_OUT, NULL, "search", "--json", "zzyzx");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  /* --batch prints its "0 of 0" block for every query already. */
  write_text("queries.txt", "zzyzx\n");
  r = KIDX_PTY(PTY_OUT, NULL, "search", "--batch", "queries.txt");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "# line 1: zzyzx\n0 of 0 matching documents\n");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

/* --offset past the last hit: how many there were, exit status 1. */
START_TEST(test_no_hits_past_offset) {
  index_corpus();
  tu_run r = KIDX_PTY(PTY_OUT, NULL, "search", "--offset", "20", "kaspersky");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "kidx: no hits at offset 20: 3 matching documents\n");
  tu_run_free(&r);
  r = KIDX_PTY(PTY_OUT, NULL, "search", "--offset=3", "kaspersky");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.err, "kidx: no hits at offset 3: 3 matching documents\n");
  tu_run_free(&r);
  r = KIDX_PTY(PTY_OUT, NULL, "search", "--offset=1", "transparency");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.err, "kidx: no hits at offset 1: 1 matching document\n");
  tu_run_free(&r);
  /* The last page is a page: hits, status 0, no message. */
  r = KIDX_PTY(PTY_OUT, NULL, "search", "--offset=2", "kaspersky");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "1 of 3 matching documents (from rank "
                                      "3)\n"));
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  /* Into a pipe: silent, as before. */
  r = KIDX("search", "--offset", "20", "kaspersky");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

/* ---- a query word that looks like an option ---- */

START_TEST(test_dash_word_hint) {
  index_corpus();
  static const struct {
    const char *argv[10];
    const char *err;
  } HINTS[] = {
      {{"search", "kaspersky", "-russia"},
       "kidx: unknown option '-russia' (a query word starting with '-' goes "
       "after '--': kidx search -- kaspersky -russia)\n"},
      /* Options stay before "--", words keep their order, and words a
       * shell would split or expand are quoted. */
      {{"search", "-k", "3", "kaspersky", "-russia", "--json", "a b", "it's"},
       "kidx: unknown option '-russia' (a query word starting with '-' goes "
       "after '--': kidx search -k 3 --json -- kaspersky -russia 'a b' "
       "'it'\\''s')\n"},
      {{"search", "-2024", "--", "-x"},
       "kidx: unknown option '-2024' (a query word starting with '-' goes "
       "after '--': kidx search -- -2024 -x)\n"},
      /* A global -i before the command stays in the command shown, in
       * one spelling, quoted as needed. */
      {{"-i", ".kidx", "search", "kaspersky", "-russia"},
       "kidx: unknown option '-russia' (a query word starting with '-' goes "
       "after '--': kidx -i .kidx search -- kaspersky -russia)\n"},
      {{"--index=my dir", "search", "-k", "3", "kaspersky", "-russia"},
       "kidx: unknown option '-russia' (a query word starting with '-' goes "
       "after '--': kidx -i 'my dir' search -k 3 -- kaspersky -russia)\n"},
      {{"delete", "corpus/a.txt", "-old.txt"},
       "kidx: unknown option '-old.txt' (an ID starting with '-' goes after "
       "'--': kidx delete -- corpus/a.txt -old.txt)\n"},
      /* A single letter reads as a mistyped option; a command without
       * arguments has no words; --name is always an option. */
      {{"search", "kaspersky", "-z"},
       "kidx: unknown option '-z' for 'search' (see 'kidx search --help')\n"},
      {{"stats", "-russia"},
       "kidx: unknown option '-russia' for 'stats' (see 'kidx stats "
       "--help')\n"},
      {{"search", "kaspersky", "--russia"},
       "kidx: unknown option '--russia' for 'search' (see 'kidx search "
       "--help')\n"},
  };
  for (size_t i = 0; i < sizeof HINTS / sizeof HINTS[0]; i++) {
    tu_run r = kidx_argv(HINTS[i].argv);
    ASSERT_STATUS(r, 2);
    ck_assert_str_eq(r.out, "");
    ck_assert_str_eq(r.err, HINTS[i].err);
    tu_run_free(&r);
  }
  /* What the hint says works: -crimea is then NOT crimea. */
  tu_run r = KIDX("search", "--json", "--", "kaspersky", "-crimea");
  ASSERT_STATUS(r, 0);
  ck_assert_ptr_null(strstr(r.out, "winds-down"));
  ck_assert_ptr_nonnull(strstr(r.out, "remains-in-us-market"));
  tu_run_free(&r);
}
END_TEST

/* ---- help ---- */

/* Every spelling of a help request prints the same text, exit 0. */
static void assert_same_help(const char *const spellings[][5], size_t n,
                             const char *usage) {
  tu_run first = kidx_argv(spellings[0]);
  ASSERT_STATUS(first, 0);
  ck_assert_msg(strncmp(first.out, usage, strlen(usage)) == 0,
                "expected '%s...', got:\n%s", usage, first.out);
  ck_assert_str_eq(first.err, "");
  for (size_t i = 1; i < n; i++) {
    tu_run r = kidx_argv(spellings[i]);
    ASSERT_STATUS(r, 0);
    ck_assert_msg(strcmp(r.out, first.out) == 0,
                  "'kidx %s %s' differs from 'kidx %s %s'", spellings[i][0],
                  spellings[i][1] ? spellings[i][1] : "", spellings[0][0],
                  spellings[0][1] ? spellings[0][1] : "");
    ck_assert_str_eq(r.err, "");
    tu_run_free(&r);
  }
  tu_run_free(&first);
}

START_TEST(test_help_spellings) {
  const char *const main_help[][5] = {
      {"help"}, {"--help"}, {"-h"}, {"help", "-i", "elsewhere"}};
  assert_same_help(main_help, 4, "Usage: kidx [-i DIR] COMMAND");
  const char *cmds[] = {"index", "search", "get",   "analyze",
                        "stats", "delete", "check", "optimize"};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    /* What follows a help request is not run, not even checked, except
     * that options must exist. */
    const char *const spellings[][5] = {
        {"help", cmds[i]},   {cmds[i], "--help"}, {cmds[i], "-h"},
        {"--help", cmds[i]}, {"-h", cmds[i]},     {cmds[i], "extra", "--help"}};
    char usage[64];
    snprintf(usage, sizeof usage, "Usage: kidx %s ", cmds[i]);
    assert_same_help(spellings, 6, usage);
  }
  const char *const help_help[][5] = {
      {"help", "help"}, {"help", "--help"}, {"help", "-h"}, {"--help", "help"}};
  assert_same_help(help_help, 4, "Usage: kidx help [COMMAND]\n");
}
END_TEST

START_TEST(test_help_errors) {
  static const struct {
    const char *argv[5];
    const char *err;
  } ERRORS[] = {
      {{"help", "search", "extra"},
       "kidx: unexpected argument 'extra' for 'help' (see 'kidx help "
       "--help')\n"},
      /* kidx --help COMMAND is kidx help COMMAND: one COMMAND only. */
      {{"--help", "search", "extra"},
       "kidx: unexpected argument 'extra' for 'help' (see 'kidx help "
       "--help')\n"},
      {{"-h", "get", "--json"},
       "kidx: unexpected argument '--json' for 'help' (see 'kidx help "
       "--help')\n"},
      {{"help", "frobnicate"},
       "kidx: unknown command 'frobnicate' (see 'kidx --help')\n"},
      {{"--help", "frobnicate"},
       "kidx: unknown command 'frobnicate' (see 'kidx --help')\n"},
      {{"help", "--bogus"},
       "kidx: unknown option '--bogus' for 'help' (see 'kidx help "
       "--help')\n"},
      {{"search", "--help", "--bogus"},
       "kidx: unknown option '--bogus' for 'search' (see 'kidx search "
       "--help')\n"},
  };
  for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++) {
    tu_run r = kidx_argv(ERRORS[i].argv);
    ASSERT_STATUS(r, 2);
    ck_assert_str_eq(r.out, "");
    ck_assert_str_eq(r.err, ERRORS[i].err);
    tu_run_free(&r);
  }
}
END_TEST

/* ---- JSON ids that are not UTF-8 ---- */

/* Decodes standard padded base64 into out (malloc'ed, length in *len);
 * fails the test on anything else. */
static char *base64_decode(const char *s, size_t *len) {
  static const char DIGITS[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = strlen(s);
  ck_assert_msg(n % 4 == 0, "base64 length %zu: %s", n, s);
  char *out = malloc(n / 4 * 3 + 1);
  ck_assert_ptr_nonnull(out);
  size_t o = 0;
  for (size_t i = 0; i < n; i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; k++) {
      const char *d = strchr(DIGITS, s[i + k]);
      if (s[i + k] == '=' && i + 4 == n && k >= 2) {
        pad++;
        v <<= 6;
        continue;
      }
      ck_assert_msg(d && s[i + k] && !pad, "bad base64: %s", s);
      v = v << 6 | (uint32_t)(d - DIGITS);
    }
    out[o++] = (char)(v >> 16);
    if (pad < 2)
      out[o++] = (char)(v >> 8 & 0xff);
    if (pad < 1)
      out[o++] = (char)(v & 0xff);
  }
  out[o] = '\0';
  *len = o;
  return out;
}

/* The raw id of a --json hit line: the string, or the bytes of
 * {"bytes":"..."}; *is_bytes says which form it had. */
static char *json_hit_id(const char *line, size_t *len, int *is_bytes) {
  const char *p = strstr(line, "\"id\":");
  ck_assert_msg(p != NULL, "no id in: %s", line);
  p += 5;
  static const char obj[] = "{\"bytes\":\"";
  if (strncmp(p, obj, sizeof obj - 1) == 0) {
    p += sizeof obj - 1;
    const char *end = strstr(p, "\"}");
    ck_assert_msg(end != NULL, "unterminated id object in: %s", line);
    char *b64 = strndup(p, (size_t)(end - p));
    char *raw = base64_decode(b64, len);
    free(b64);
    *is_bytes = 1;
    return raw;
  }
  ck_assert_msg(*p == '"', "id neither string nor object in: %s", line);
  const char *end = strchr(p + 1, '"'); /* these ids hold no escapes */
  ck_assert_ptr_nonnull(end);
  *len = (size_t)(end - p - 1);
  *is_bytes = 0;
  return strndup(p + 1, *len);
}

static double stats_documents(void) {
  tu_run r = KIDX("stats", "--json");
  ASSERT_STATUS(r, 0);
  const char *p = strstr(r.out, "\"documents\":");
  ck_assert_ptr_nonnull(p);
  double n = strtod(p + strlen("\"documents\":"), NULL);
  tu_run_free(&r);
  return n;
}

START_TEST(test_json_id_bytes) {
  /* Latin-1 é, a byte pair no UTF-8 has, and a valid UTF-8 é. */
  static const char *const NAMES[] = {"in/caf\xe9.txt", "in/\xff\xfe.txt",
                                      "in/caf\xc3\xa9.txt"};
  for (size_t i = 0; i < 3; i++) {
    char text[64];
    snprintf(text, sizeof text, "Document %zu\nwombat number %zu\n", i, i);
    write_text(NAMES[i], text);
  }
  tu_run r = KIDX("index", "in");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert_double_eq(stats_documents(), 3);

  r = KIDX("search", "--json", "wombat");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 3);
  int seen[3] = {0, 0, 0};
  for (const char *line = r.out; *line; line = strchr(line, '\n') + 1) {
    size_t len;
    int is_bytes;
    char *id = json_hit_id(line, &len, &is_bytes);
    size_t k = 0;
    while (k < 3 &&
           !(strlen(NAMES[k]) == len && memcmp(NAMES[k], id, len) == 0))
      k++;
    ck_assert_msg(k < 3, "id of %s is no file's name", line);
    /* Only the names that are not UTF-8 take the object form. */
    ck_assert_int_eq(is_bytes, k < 2);
    seen[k]++;
    free(id);
  }
  ck_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
  /* The exact encoding: "in/caf\xe9.txt" is aW4vY2Fm6S50eHQ=. */
  ck_assert_ptr_nonnull(strstr(r.out, "\"id\":{\"bytes\":\"aW4vY2Fm6S50eHQ=\"},"
                                      "\"score\":"));
  tu_run_free(&r);

  /* Round trip: the decoded id deletes its document. */
  r = KIDX("search", "--json", "number", "AND", "1");
  ASSERT_STATUS(r, 0);
  size_t len;
  int is_bytes;
  char *id = json_hit_id(r.out, &len, &is_bytes);
  ck_assert(is_bytes);
  ck_assert_str_eq(id, NAMES[1]);
  tu_run_free(&r);
  r = KIDX("delete", id);
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "deleted 1 document\n");
  tu_run_free(&r);
  free(id);
  ck_assert_double_eq(stats_documents(), 2);
  r = KIDX("search", "--json", "number", "AND", "1");
  ASSERT_STATUS(r, 1);
  tu_run_free(&r);
}
END_TEST

/* ---- --vimgrep ---- */

/* A file whose title is not on line 1 and whose body has blank lines, so
 * that file lines and stored-text lines differ. */
#define NOTES                                                                  \
  "\n"                                                                         \
  "  My Title  \n"                                                             \
  "\n"                                                                         \
  "first body line\n"                                                          \
  "second line has the wombat word\n"                                          \
  "\tthird: wombat again\n"

START_TEST(test_vimgrep_lines) {
  write_text("notes/a.txt", NOTES);
  write_text("notes/crlf.txt", "Windows\r\nbody with a zebra\r\nend\r\n");
  write_text("notes/bom.txt", "\xEF\xBB\xBF"
                              "Bom heading\nplain body\n");
  write_text("notes/tab.txt", "Tabs\n\n\tquagga at a tab\n");
  tu_run r = KIDX("index", "notes");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  static const struct {
    const char *query, *want;
  } CASES[] = {
      /* The first matched word of the passage: line 5, byte 21. */
      {"wombat", "notes/a.txt:5:21:second line has the wombat word\n"},
      /* A title-only match: the title's line, at its first character,
       * the line as it is (spaces kept). */
      {"title:title", "notes/a.txt:2:3:  My Title  \n"},
      /* CRLF: the line ends before its '\r'. */
      {"zebra", "notes/crlf.txt:2:13:body with a zebra\n"},
      /* A byte order mark is not part of line 1 for an editor: not
       * counted in the column, not shown. */
      {"title:heading", "notes/bom.txt:1:1:Bom heading\n"},
      /* A tab is one byte. */
      {"quagga", "notes/tab.txt:3:2:\tquagga at a tab\n"},
  };
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
    r = KIDX("search", "--vimgrep", CASES[i].query);
    ASSERT_STATUS(r, 0);
    ck_assert_str_eq(r.out, CASES[i].want);
    ck_assert_str_eq(r.err, "");
    tu_run_free(&r);
  }
  /* Several hits: one line each, in rank order, -k respected. */
  r = KIDX("search", "--vimgrep", "wombat", "zebra", "quagga");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 3);
  tu_run_free(&r);
  r = KIDX("search", "--vimgrep", "-k", "2", "wombat", "zebra", "quagga");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 2);
  tu_run_free(&r);
}
END_TEST

/* A hit whose file is no longer the one indexed has no line to point an
 * editor at: it is skipped, with a warning naming the file.  A document
 * that never was a file (--jsonl) is placed in its stored text: the title
 * is line 1 and the body starts on line 2. */
START_TEST(test_vimgrep_fallback) {
  write_text("notes/a.txt", NOTES);
  write_text("notes/b.txt", "Other\nwombat in b\n");
  tu_run r = KIDX("index", "notes");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  /* Only touched (same content, another mtime): still placed. */
  char *path = tu_work_path("notes/a.txt");
  struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
  ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
  r = KIDX("search", "--vimgrep", "title:title");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "notes/a.txt:2:3:  My Title  \n");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  /* Lines added before the title: the size differs from the stamp's, so
   * the hit is skipped even though the body is still the file's tail;
   * the other file's hit is still printed. */
  write_text("notes/a.txt", "new line\nand another\n" NOTES);
  r = KIDX("search", "--vimgrep", "wombat");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "notes/b.txt:2:1:wombat in b\n");
  ck_assert_str_eq(r.err, "kidx: warning: skipped a hit in notes/a.txt: the "
                          "file changed since it was indexed (run 'kidx "
                          "index')\n");
  tu_run_free(&r);
  /* Same size, other content: the content hash tells. */
  static const char SAME_SIZE[] = NOTES;
  char changed[sizeof SAME_SIZE];
  memcpy(changed, SAME_SIZE, sizeof SAME_SIZE);
  changed[strlen("\n  My ")] = 't'; /* "My title" */
  write_text("notes/a.txt", changed);
  r = KIDX("search", "--vimgrep", "title:title");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "");
  tu_assert_one_line(r.err, "kidx: warning: skipped a hit in notes/a.txt: "
                            "the file changed");
  tu_run_free(&r);
  /* Removed, or not a regular file any more. */
  ck_assert_int_eq(unlink(path), 0);
  r = KIDX("search", "--vimgrep", "title:title");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "kidx: warning: skipped a hit in notes/a.txt: the "
                          "file was removed\n");
  tu_run_free(&r);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  free(path);
  r = KIDX("search", "--vimgrep", "title:title");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "kidx: warning: skipped a hit in notes/a.txt: "
                          "cannot read it: Is a directory\n");
  tu_run_free(&r);
  /* A --jsonl document; its title's line ends at a newline in it. */
  static const char jsonl[] =
      "{\"id\":\"doc:1\",\"title\":\"Two\\nlines\",\"body\":\"a\\nb "
      "okapi\\n\"}\n";
  r = KIDX_IN(jsonl, sizeof jsonl - 1, "index", "--jsonl", "-");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("search", "--vimgrep", "okapi");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "doc:1:3:3:b okapi\n");
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  r = KIDX("search", "--vimgrep", "title:lines");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "doc:1:1:1:Two\n");
  tu_run_free(&r);
}
END_TEST

/* Ids that cannot be a PATH on a line are skipped with a warning; the
 * warnings of a kind are rationed, then summed up in one line. */
START_TEST(test_vimgrep_skips) {
  static const char jsonl[] =
      "{\"id\":\"two\\nlines\",\"title\":\"T\",\"body\":\"eland\"}\n"
      "{\"id\":\"nul\\u0000id\",\"title\":\"T\",\"body\":\"eland\"}\n"
      "{\"id\":\"fine\",\"title\":\"T\",\"body\":\"eland\"}\n";
  tu_run r = KIDX_IN(jsonl, sizeof jsonl - 1, "index", "--jsonl", "-");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("search", "--vimgrep", "eland");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "fine:2:1:eland\n");
  ck_assert_str_eq(r.err,
                   "kidx: warning: skipped a hit: its id 'nul' holds a newline "
                   "or NUL, which a PATH:LINE:COLUMN line cannot hold\n"
                   "kidx: warning: skipped a hit: its id 'two?lines' holds a "
                   "newline or NUL, which a PATH:LINE:COLUMN line cannot "
                   "hold\n");
  tu_run_free(&r);
  /* Eight changed files: five warnings, then one line for the rest. */
  for (int i = 0; i < 8; i++) {
    char name[32];
    snprintf(name, sizeof name, "many/f%d.txt", i);
    write_text(name, "Many\nkudu here\n");
  }
  r = KIDX("index", "many");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  for (int i = 0; i < 8; i++) {
    char name[32];
    snprintf(name, sizeof name, "many/f%d.txt", i);
    write_text(name, "Many\nkudu here, and more\n");
  }
  r = KIDX("search", "--vimgrep", "-k", "100", "kudu");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "");
  ck_assert_uint_eq(tu_count_lines(r.err), 6);
  ck_assert_ptr_nonnull(
      strstr(r.err, "kidx: warning: skipped 3 more hits whose files changed "
                    "since they were indexed (run 'kidx index')\n"));
  tu_run_free(&r);
}
END_TEST

/* What a file holds goes into a pipe as it is, for the editor; on a
 * terminal its control characters are shown as '?' (tabs kept). */
START_TEST(test_vimgrep_control_chars) {
  write_text("esc.txt", "Esc\nred \033[31m gnu \033[0m\there\n");
  tu_run r = KIDX("index", "esc.txt");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  r = KIDX("search", "--vimgrep", "gnu");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "esc.txt:2:11:red \033[31m gnu \033[0m\there\n");
  tu_run_free(&r);
  r = KIDX_PTY(PTY_OUT, NULL, "search", "--vimgrep", "gnu");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.out, "esc.txt:2:11:red ?[31m gnu ?[0m\there\n");
  tu_run_free(&r);
}
END_TEST

/* Every line of the corpus's --vimgrep output names a line of a file
 * that holds, at that column, a word of the query. */
START_TEST(test_vimgrep_corpus) {
  index_corpus();
  tu_run r =
      KIDX("search", "--vimgrep", "-k", "100", "kaspersky", "market", "fbi");
  ASSERT_STATUS(r, 0);
  ck_assert_uint_eq(tu_count_lines(r.out), 3);
  for (const char *line = r.out; *line; line = strchr(line, '\n') + 1) {
    char file[256];
    size_t lineno, column;
    int used = 0;
    ck_assert_msg(sscanf(line, "%255[^:]:%zu:%zu:%n", file, &lineno, &column,
                         &used) == 3 &&
                      used > 0,
                  "not path:line:column:text: %s", line);
    char *path = tu_work_path(file);
    char *data = tu_read_file(path, NULL);
    ck_assert_ptr_nonnull(data);
    const char *l = data;
    for (size_t k = 1; k < lineno; k++) {
      l = strchr(l, '\n');
      ck_assert_ptr_nonnull(l);
      l++;
    }
    size_t len = strcspn(l, "\n");
    const char *text = line + used;
    ck_assert_msg(strncmp(text, l, len) == 0 && text[len] == '\n',
                  "line %zu of %s is not the text in: %s", lineno, file, line);
    ck_assert_uint_le(column, len);
    const char *word = l + column - 1;
    ck_assert_msg(strncasecmp(word, "kaspersky", 9) == 0 ||
                      strncasecmp(word, "market", 6) == 0 ||
                      strncasecmp(word, "fbi", 3) == 0,
                  "no query word at column %zu: %s", column, line);
    free(data);
    free(path);
  }
  /* --offset pages as it does for the other formats. */
  tu_run page = KIDX("search", "--vimgrep", "--offset", "1", "kaspersky",
                     "market", "fbi");
  ASSERT_STATUS(page, 0);
  ck_assert_str_eq(page.out, strchr(r.out, '\n') + 1);
  tu_run_free(&page);
  tu_run_free(&r);
}
END_TEST

START_TEST(test_vimgrep_options) {
  index_corpus();
  /* Formats that cannot share its lines, and no passage to place. */
  static const struct {
    const char *argv[6];
    const char *err;
  } ERRORS[] = {
      {{"search", "--vimgrep", "--json", "fbi"},
       "kidx: --vimgrep and --json cannot be combined\n"},
      {{"search", "--explain", "--vimgrep", "fbi"},
       "kidx: --vimgrep and --explain cannot be combined\n"},
      {{"search", "--vimgrep", "--snippet-words=0", "fbi"},
       "kidx: --vimgrep needs passages: --snippet-words must be at least "
       "1\n"},
  };
  for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++) {
    tu_run r = kidx_argv(ERRORS[i].argv);
    ASSERT_STATUS(r, 2);
    ck_assert_str_eq(r.out, "");
    ck_assert_str_eq(r.err, ERRORS[i].err);
    tu_run_free(&r);
  }
  /* --batch: the hits of every line, no "# line" headers: what the
   * queries print one by one, one after the other. */
  write_text("queries.txt", "fbi\nzzyzx\ntitle:thinkstock\n");
  tu_run r = KIDX("search", "--vimgrep", "-k", "1", "--batch", "queries.txt");
  ASSERT_STATUS(r, 0);
  tu_run one = KIDX("search", "--vimgrep", "-k", "1", "fbi");
  tu_run two = KIDX("search", "--vimgrep", "-k", "1", "title:thinkstock");
  ASSERT_STATUS(one, 0);
  ASSERT_STATUS(two, 0);
  ck_assert_str_eq(two.out,
                   "corpus/2017-kaspersky-responds-to-fbi-claims.txt:1:1:FBI "
                   "Thinkstock\n");
  ck_assert_uint_eq(strlen(r.out), strlen(one.out) + strlen(two.out));
  ck_assert(strncmp(r.out, one.out, strlen(one.out)) == 0);
  ck_assert_str_eq(r.out + strlen(one.out), two.out);
  tu_run_free(&one);
  tu_run_free(&two);
  tu_run_free(&r);
  /* No colour, no markers, even asked for, even on a terminal; no hits
   * are said on a terminal as for the human output. */
  r = KIDX_PTY(PTY_OUT, NULL, "search", "--vimgrep", "--color=always",
               "--highlight=brackets", "transparency");
  ASSERT_STATUS(r, 0);
  assert_no_escape(r.out);
  ck_assert_ptr_null(strchr(r.out, '['));
  ck_assert_uint_eq(tu_count_lines(r.out), 1);
  tu_run_free(&r);
  r = KIDX_PTY(PTY_OUT, NULL, "search", "--vimgrep", "zzyzx");
  ASSERT_STATUS(r, 1);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "kidx: no matching documents\n");
  tu_run_free(&r);
}
END_TEST

/* ---- progress ---- */

/* The progress line of kidx index ("\r", erase to end of line) is for a
 * terminal that has those: not for TERM=dumb or no TERM at all.  It is
 * drawn at most 10 times a second, after a file: a large first file makes
 * sure there is one to draw after the first tenth of a second. */
START_TEST(test_progress_terminal) {
  /* 16 MB: a few tenths of a second at the indexing rates in README, far
   * more on a loaded machine. */
  size_t cap = (size_t)16 << 20, n = 0;
  char *big = malloc(cap);
  ck_assert_ptr_nonnull(big);
  n += (size_t)snprintf(big, cap, "A large file\n");
  for (unsigned i = 0; n + 32 < cap; i++)
    n += (size_t)snprintf(big + n, cap - n, "word%u text%u ", i % 7919,
                          i % 104729);
  tu_write_file(tu_work_dir(), "corpus/a-large.txt", big, n);
  free(big);
  write_text("corpus/b-small.txt", "Small\nfile\n");
  /* A capable terminal first: it shows that this run is slow enough for
   * progress to be drawn, so that its absence below means something. */
  tu_run r = KIDX_PTY(PTY_ERR, NULL, "-i", "idx1", "index", "corpus/");
  ASSERT_STATUS(r, 0);
  ck_assert_msg(strstr(r.err, "\rindexing: ") != NULL, "no progress in: %s",
                r.err);
  tu_run_free(&r);
  const char *const dumb[] = {"TERM=dumb", NULL};
  r = KIDX_PTY(PTY_ERR, dumb, "-i", "idx2", "index", "corpus/");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
  const char *const unset[] = {"TERM", NULL};
  r = KIDX_PTY(PTY_ERR, unset, "-i", "idx3", "index", "corpus/");
  ASSERT_STATUS(r, 0);
  ck_assert_str_eq(r.err, "");
  tu_run_free(&r);
}
END_TEST

/* The suite, without the tests that need a terminal when there is none
 * (pty false); *skipped receives how many were left out. */
static Suite *shell_suite(bool pty, size_t *skipped) {
  Suite *s = suite_create("cli_shell");
  struct {
    const char *name;
    const TTest *test;
    bool pty; /* runs kidx on a pseudo-terminal */
  } cases[] = {
      {"color_terminal_default", test_color_terminal_default, true},
      {"color_off_on_terminal", test_color_off_on_terminal, true},
      {"color_on", test_color_on, true},
      {"color_and_highlight", test_color_and_highlight, true},
      {"no_hits_terminal", test_no_hits_terminal, true},
      {"no_hits_past_offset", test_no_hits_past_offset, true},
      {"dash_word_hint", test_dash_word_hint, false},
      {"help_spellings", test_help_spellings, false},
      {"help_errors", test_help_errors, false},
      {"json_id_bytes", test_json_id_bytes, false},
      {"vimgrep_lines", test_vimgrep_lines, false},
      {"vimgrep_fallback", test_vimgrep_fallback, false},
      {"vimgrep_skips", test_vimgrep_skips, false},
      {"vimgrep_control_chars", test_vimgrep_control_chars, true},
      {"vimgrep_corpus", test_vimgrep_corpus, false},
      {"vimgrep_options", test_vimgrep_options, true},
      {"progress_terminal", test_progress_terminal, true},
  };
  *skipped = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (cases[i].pty && !pty) {
      ++*skipped;
      continue;
    }
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_unchecked_fixture(tc, tu_case_setup, tu_case_teardown);
    tcase_add_checked_fixture(tc, tu_work_setup, tu_work_teardown);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

int main(void) {
  char why[512] = "";
  size_t skipped;
  int rc = tu_run_suite(shell_suite(pty_available(why, sizeof why), &skipped));
  if (rc == EXIT_SUCCESS && skipped > 0) {
    printf("check_cli_shell: skipped %zu terminal tests: no pseudo-terminal "
           "(%s)\n",
           skipped, why);
    return SKIPPED_STATUS;
  }
  return rc;
}
