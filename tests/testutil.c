/*
 * testutil.c -- see testutil.h.  Test-only code: failures abort the test
 * through Check's ck_abort_msg.
 */
#define _DEFAULT_SOURCE /* setgroups(): not in POSIX */

#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_mkdtemp(void) {
  const char *base = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/kidx-test.XXXXXX",
           base && *base ? base : "/tmp");
  char *d = mkdtemp(tmpl);
  ck_assert_msg(d != NULL, "mkdtemp: %s", strerror(errno));
  return strdup(d);
}

kidx_writer *tu_open_writer(const char *dir) {
  kidx_writer *w;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  kidx_status rc = kidx_writer_open(w, dir);
  ck_assert_msg(rc == KIDX_OK, "writer open %s: %s", dir,
                kidx_writer_errmsg(w));
  return w;
}

void tu_rmtree(const char *path) {
  DIR *dir = opendir(path);
  if (dir) {
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char sub[4096];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      struct stat st;
      if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
        tu_rmtree(sub);
      else
        unlink(sub);
    }
    closedir(dir);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void mkdirs_for(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p == '/') {
      *p = 0;
      mkdir(tmp, 0755);
      *p = '/';
    }
  }
}

void tu_write_file(const char *dir, const char *name, const void *data,
                   size_t len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  mkdirs_for(path);
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

char *tu_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
    }
  }
  fclose(f);
  buf[n] = 0;
  if (len)
    *len = n;
  return buf;
}

static char *slurp_fd(int fd) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
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
    }
  }
  buf[n] = 0;
  return buf;
}

/* The user children run as, after tu_unprivileged (0: as the test). */
static uid_t child_uid;
static gid_t child_gid;

/* Runs argv with stdin reading from infd; see tu_exec. */
static tu_run exec_with_stdin(const char *cwd, const char *const *argv,
                              const char *const *env, int infd) {
  tu_run r = {0, NULL, NULL};
  char outpath[] = "/tmp/kidx-out.XXXXXX", errpath[] = "/tmp/kidx-err.XXXXXX";
  int outfd = mkstemp(outpath), errfd = mkstemp(errpath);
  ck_assert(outfd >= 0 && errfd >= 0);
  unlink(outpath);
  unlink(errpath);
  pid_t pid = fork();
  ck_assert(pid >= 0);
  if (pid == 0) {
    dup2(infd, 0);
    dup2(outfd, 1);
    dup2(errfd, 2);
    /* Groups first: setuid() takes away the right to change them. */
    if (child_uid != 0 && (setgroups(0, NULL) != 0 || setgid(child_gid) != 0 ||
                           setuid(child_uid) != 0))
      _exit(125);
    if (cwd && chdir(cwd) != 0)
      _exit(126);
    unsetenv("KIDX_INDEX");
    for (size_t i = 0; env && env[i]; i++) {
      char kv[4096];
      snprintf(kv, sizeof kv, "%s", env[i]);
      char *eq = strchr(kv, '=');
      if (eq) {
        *eq = 0;
        setenv(kv, eq + 1, 1);
      }
    }
    execv(argv[0], (char *const *)(uintptr_t)argv);
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  lseek(outfd, 0, SEEK_SET);
  lseek(errfd, 0, SEEK_SET);
  r.out = slurp_fd(outfd);
  r.err = slurp_fd(errfd);
  close(outfd);
  close(errfd);
  return r;
}

tu_run tu_exec(const char *cwd, const char *const *argv,
               const char *const *env) {
  int in = open("/dev/null", O_RDONLY);
  ck_assert(in >= 0);
  tu_run r = exec_with_stdin(cwd, argv, env, in);
  close(in);
  return r;
}

tu_run tu_exec_input(const char *cwd, const char *const *argv,
                     const char *const *env, const void *input, size_t len) {
  char inpath[] = "/tmp/kidx-in.XXXXXX";
  int in = mkstemp(inpath);
  ck_assert(in >= 0);
  unlink(inpath);
  const char *p = input;
  for (size_t done = 0; done < len;) {
    ssize_t n = write(in, p + done, len - done);
    ck_assert_msg(n > 0 || (n < 0 && errno == EINTR), "write: %s",
                  strerror(errno));
    done += n > 0 ? (size_t)n : 0;
  }
  ck_assert(lseek(in, 0, SEEK_SET) == 0);
  tu_run r = exec_with_stdin(cwd, argv, env, in);
  close(in);
  return r;
}

void tu_run_free(tu_run *r) {
  free(r->out);
  free(r->err);
  r->out = r->err = NULL;
}

void tu_copy_corpus(const char *dir) {
  char src[4096];
  snprintf(src, sizeof src, "%s/corpus", KIDX_SOURCE_DIR);
  DIR *d = opendir(src);
  ck_assert_msg(d != NULL, "no corpus at %s", src);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char path[4096 + 256], name[512];
    snprintf(path, sizeof path, "%s/%s", src, e->d_name);
    size_t len;
    char *data = tu_read_file(path, &len);
    ck_assert(data != NULL);
    snprintf(name, sizeof name, "corpus/%s", e->d_name);
    tu_write_file(dir, name, data, len);
    free(data);
  }
  closedir(d);
}

int tu_run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Test-process state: Check forks a process per test, so these are per
 * test (work_dir) or per test case (case_dir). */
static char *case_dir;
static char *work_dir;

void tu_case_setup(void) {
  case_dir = tu_mkdtemp();
}

void tu_case_teardown(void) {
  tu_rmtree(case_dir);
  free(case_dir);
  case_dir = NULL;
}

void tu_work_setup(void) {
  size_t len = strlen(case_dir) + 16;
  work_dir = malloc(len);
  snprintf(work_dir, len, "%s/t.XXXXXX", case_dir);
  ck_assert_msg(mkdtemp(work_dir) != NULL, "mkdtemp: %s", strerror(errno));
}

void tu_work_teardown(void) {
  tu_rmtree(work_dir);
  free(work_dir);
  work_dir = NULL;
}

const char *tu_work_dir(void) {
  return work_dir;
}

char *tu_work_path(const char *name) {
  size_t len = strlen(work_dir) + strlen(name) + 2;
  char *p = malloc(len);
  snprintf(p, len, "%s/%s", work_dir, name);
  return p;
}

tu_run tu_kidx(const char *const *env, const char *input, size_t len, ...) {
  const char *argv[64];
  size_t n = 0;
  va_list ap;
  va_start(ap, len);
  argv[n++] = KIDX_BIN;
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL) {
    ck_assert_uint_lt(n, 63);
    argv[n++] = a;
  }
  va_end(ap);
  argv[n] = NULL;
  return input ? tu_exec_input(work_dir, argv, env, input, len)
               : tu_exec(work_dir, argv, env);
}

size_t tu_count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

void tu_assert_one_line(const char *s, const char *prefix) {
  size_t len = strlen(s);
  ck_assert_msg(len > 0 && s[len - 1] == '\n' && tu_count_lines(s) == 1,
                "expected one line, got:\n%s", s);
  ck_assert_msg(strncmp(s, prefix, strlen(prefix)) == 0,
                "expected a line starting with '%s', got:\n%s", prefix, s);
}

/* Looks nobody up and lets it into the test's directory: the case
 * directory (mode 0700 from mkdtemp) searchable, the work directory its
 * own, so that kidx run as nobody can create an index there. */
static bool prepare_unprivileged(const char *name, uid_t *uid, gid_t *gid) {
  struct passwd *pw = getpwnam("nobody");
  if (!pw || pw->pw_uid == 0) {
    fprintf(stderr,
            "SKIPPED: %s: running as root, and there is no user "
            "nobody to run as\n",
            name);
    return false;
  }
  *uid = pw->pw_uid;
  *gid = pw->pw_gid;
  ck_assert_msg(chmod(case_dir, 0755) == 0, "chmod %s: %s", case_dir,
                strerror(errno));
  ck_assert_msg(chown(work_dir, *uid, *gid) == 0, "chown %s: %s", work_dir,
                strerror(errno));
  return true;
}

bool tu_unprivileged(const char *name) {
  if (geteuid() != 0)
    return true;
  return prepare_unprivileged(name, &child_uid, &child_gid);
}

bool tu_unprivileged_self(const char *name) {
  if (geteuid() != 0)
    return true;
  uid_t uid;
  gid_t gid;
  if (!prepare_unprivileged(name, &uid, &gid))
    return false;
  /* Effective ids only: the saved ones stay root's, to come back. */
  ck_assert_msg(setegid(gid) == 0 && seteuid(uid) == 0, "seteuid: %s",
                strerror(errno));
  return true;
}

void tu_privileged(void) {
  if (getuid() == 0 && geteuid() != 0)
    ck_assert_msg(seteuid(0) == 0 && setegid(0) == 0, "seteuid: %s",
                  strerror(errno));
}
