/*
 * testutil.h -- helpers shared by the Check suites: temporary directories,
 * files, and running the kidx binary with its output captured.
 */
#ifndef KIDX_TESTUTIL_H
#define KIDX_TESTUTIL_H

#include <stddef.h>

/* Creates a fresh temporary directory and returns its path (static
 * buffer per call site is not used: the result is malloc'ed, free it). */
char *tu_mkdtemp(void);

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

/* Runs a Check suite and returns the process exit status (EXIT_SUCCESS if
 * every test passed): the body of every suite's main(). */
struct Suite;
int tu_run_suite(struct Suite *s);

#endif
