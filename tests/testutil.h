/*
 * testutil.h -- helpers shared by the Check suites: temporary directories,
 * files, and running the kidx binary with its output captured.
 */
#ifndef KIDX_TESTUTIL_H
#define KIDX_TESTUTIL_H

#include "kidx.h"

#include <stdbool.h>
#include <stddef.h>

/* Creates a fresh temporary directory and returns its path (static
 * buffer per call site is not used: the result is malloc'ed, free it). */
char *tu_mkdtemp(void);

/* A new writer opened on dir; the test fails (with the writer's message)
 * if it cannot be. */
kidx_writer *tu_open_writer(const char *dir);

/* Removes a directory tree (best effort). */
void tu_rmtree(const char *path);

/* Writes len bytes to dir/name, creating parent directories. */
void tu_write_file(const char *dir, const char *name, const void *data,
                   size_t len);

/* Reads a whole file; returns malloc'ed, NUL-terminated data (length in
 * *len if not NULL), or NULL if it cannot be read. */
char *tu_read_file(const char *path, size_t *len);

typedef struct tu_run {
  int status; /* exit status, or 128 + signal number if killed */
  char *out;  /* captured stdout, NUL-terminated, malloc'ed */
  char *err;  /* captured stderr, NUL-terminated, malloc'ed */
} tu_run;

/* Runs argv (argv[0] is a path, NULL-terminated) in directory cwd with
 * stdin from /dev/null, capturing stdout and stderr.  Extra environment
 * assignments "K=V" may be given in env (NULL-terminated, may be NULL);
 * KIDX_INDEX is always removed from the child's environment first unless
 * env sets it. */
tu_run tu_exec(const char *cwd, const char *const *argv,
               const char *const *env);
/* As tu_exec, with stdin reading the len bytes at input.  They go through
 * an unlinked temporary file rather than a pipe, so that input of any
 * size cannot block the child against a parent that waits for it. */
tu_run tu_exec_input(const char *cwd, const char *const *argv,
                     const char *const *env, const void *input, size_t len);
void tu_run_free(tu_run *r);

/* Copies the bundled corpus/ directory into dir/corpus. */
void tu_copy_corpus(const char *dir);

/* ---- end-to-end suites: per-test directories and running kidx ---- */

/* A directory per test case, made and removed by the runner process (an
 * unchecked fixture, so it goes even when a test fails), and inside it a
 * fresh directory per test (a checked fixture).  Register with
 *   tcase_add_unchecked_fixture(tc, tu_case_setup, tu_case_teardown);
 *   tcase_add_checked_fixture(tc, tu_work_setup, tu_work_teardown); */
void tu_case_setup(void);
void tu_case_teardown(void);
void tu_work_setup(void);
void tu_work_teardown(void);
/* The current test's directory, and a malloc'ed path of name inside it. */
const char *tu_work_dir(void);
char *tu_work_path(const char *name);

/* Runs the kidx binary in the work directory with the arguments that
 * follow (NULL-terminated), extra environment env (NULL or a NULL-
 * terminated "K=V" list) and standard input from input[0..len) (NULL:
 * /dev/null). */
tu_run tu_kidx(const char *const *env, const char *input, size_t len, ...);
#define KIDX(...) tu_kidx(NULL, NULL, 0, __VA_ARGS__, (const char *)NULL)
#define KIDX_ENV(env, ...)                                                     \
  tu_kidx(env, NULL, 0, __VA_ARGS__, (const char *)NULL)
#define KIDX_IN(input, len, ...)                                               \
  tu_kidx(NULL, input, len, __VA_ARGS__, (const char *)NULL)

/* Asserts an exit status, with both outputs in the failure message. */
#define ASSERT_STATUS(r, want)                                                 \
  ck_assert_msg((r).status == (want),                                          \
                "exit status %d, expected %d\n--- stdout:\n%s--- stderr:\n%s", \
                (r).status, (want), (r).out, (r).err)

/* ---- permission denied, when the tests run as root ---- */

/* Root reads every file whatever its mode, so a test of "permission
 * denied" must run as someone else (the machines that run these suites
 * run them as root).  tu_unprivileged() lets the user nobody use the
 * current test's directory (its case directory becomes searchable, the
 * work directory nobody's own) and makes every later child of tu_exec and
 * tu_kidx run as nobody, for the rest of the test.  When not root it
 * does nothing and returns true.  When it cannot be done (no user
 * nobody), it prints "SKIPPED: NAME: why" on stderr and returns false:
 * the test must then skip what needs it, visibly, never pass in silence. */
bool tu_unprivileged(const char *name);

/* For tests calling the code in their own process: the effective user
 * and group become nobody's (tu_privileged() brings root's back), with
 * the same preparation, return and SKIPPED line as tu_unprivileged. */
bool tu_unprivileged_self(const char *name);
void tu_privileged(void);

/* Number of '\n' in s. */
size_t tu_count_lines(const char *s);
/* Asserts that s is exactly one line, starting with prefix. */
void tu_assert_one_line(const char *s, const char *prefix);

/* Runs a Check suite and returns the process exit status (EXIT_SUCCESS if
 * every test passed): the body of every suite's main(). */
struct Suite;
int tu_run_suite(struct Suite *s);

#endif
