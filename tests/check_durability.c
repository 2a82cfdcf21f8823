/*
 * check_durability.c -- the index under stress, end to end: kidx index
 * killed with SIGKILL at random moments, a commit that fails for lack of
 * space, readers searching while a writer commits, bytes flipped and files
 * truncated throughout every file of an index, and two writers at once.
 *
 * Each test works in a temporary directory of its own and drives the built
 * kidx binary (KIDX_BIN) as a user would.  The assertions are about what
 * users see -- exit statuses, one-line messages, which documents are found
 * -- and not about the index's file layout: damage is done to every file
 * in the index directory, whatever they are.
 *
 * Randomness comes from a fixed-seed generator, so a failure replays.
 * Under a sanitizer every process is several times slower, so the tests
 * do less work there (SANITIZED); kill delays scale with the measured
 * duration of an uninterrupted run, so they spread over the whole run on
 * any machine.
 */
#include "kidx.h"
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* Fixed-seed generator (xorshift64*). */
static uint64_t next_random(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * UINT64_C(2685821657736338717);
}

/* A word naming n: width lower-case letters ("aaa", "aab", ...) then
 * "x", which no English suffix ends in, so that stemming leaves every such
 * word whole and distinct ("aahs" and "aahe" would both stem to "aah").
 * A word per file or per round finds exactly the documents that have
 * it. */
static void letters(char *out, unsigned n, int width) {
  for (int i = width - 1; i >= 0; i--) {
    out[i] = (char)('a' + n % 26);
    n /= 26;
  }
  out[width] = 'x';
  out[width + 1] = '\0';
}

static const char *const VOCABULARY[] = {
    "index",  "search",  "query",   "ranking", "posting", "segment",
    "commit", "durable", "crash",   "reader",  "writer",  "merge",
    "term",   "phrase",  "token",   "stemmer", "unicode", "corpus",
    "disk",   "memory",  "journal", "rename",  "fsync",   "checksum",
    "block",  "varint",  "header",  "section", "snippet", "title"};

/* Writes corpus file i of generation gen: a title, a word unique to the
 * file ("uq" + letters), one unique to the generation ("gen" + letters),
 * and some words shared by all; extra words go in the body. */
static void write_corpus_file(const char *dir, unsigned i, unsigned gen,
                              const char *extra) {
  char name[64], uq[8], g[8], text[1024];
  letters(uq, i, 4);
  letters(g, gen, 3);
  uint64_t seed = (uint64_t)i * 7919u + gen * 104729u + 1;
  int len =
      snprintf(text, sizeof text, "Document %u of generation %u\nuq%s gen%s %s",
               i, gen, uq, g, extra);
  for (unsigned w = 0, n = 10 + next_random(&seed) % 30; w < n; w++)
    len += snprintf(text + len, sizeof text - (size_t)len, " %s",
                    VOCABULARY[next_random(&seed) %
                               (sizeof VOCABULARY / sizeof *VOCABULARY)]);
  text[len++] = '\n';
  /* Thousands of files are rewritten per round of the SIGKILL test: plain
   * open/write/close, creating the directories only when missing. */
  char path[4096];
  snprintf(name, sizeof name, "%s/d%02u/f%05u.txt", dir, i % 50, i);
  snprintf(path, sizeof path, "%s/%s", tu_work_dir(), name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 && errno == ENOENT) {
    tu_write_file(tu_work_dir(), name, text, (size_t)len);
    return;
  }
  ck_assert_msg(fd >= 0, "cannot write %s: %s", path, strerror(errno));
  ck_assert_int_eq(write(fd, text, (size_t)len), len);
  ck_assert_int_eq(close(fd), 0);
}

/* Starts argv (argv[0] a path) in tu_work_dir() without waiting for it, stdout
 * and stderr to the files out and err (NULL: /dev/null).  before_exec, if
 * not NULL, runs in the child first (limits, signal dispositions). */
static pid_t spawn(const char *const *argv, const char *out, const char *err,
                   void (*before_exec)(void)) {
  pid_t pid = fork();
  ck_assert(pid >= 0);
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int o = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)
                : open("/dev/null", O_WRONLY);
    int e = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644)
                : open("/dev/null", O_WRONLY);
    if (in < 0 || o < 0 || e < 0 || chdir(tu_work_dir()) != 0)
      _exit(126);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    unsetenv("KIDX_INDEX");
    if (before_exec)
      before_exec();
    execv(argv[0], (char *const *)(uintptr_t)argv);
    _exit(127);
  }
  return pid;
}

/* Waits for pid: its exit status, or 128 + the signal that ended it. */
static int wait_status(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Documents in the index, or -1 when there is none ("no index"). */
static long stats_documents(void) {
  tu_run r = KIDX("stats", "--json");
  long n = -1;
  if (r.status == 3) {
    tu_assert_one_line(r.err, "kidx: no index at .kidx");
  } else {
    ASSERT_STATUS(r, 0);
    const char *p = strstr(r.out, "\"documents\":");
    ck_assert_ptr_nonnull(p);
    n = strtol(p + 12, NULL, 10);
  }
  tu_run_free(&r);
  return n;
}

/* "bytes" of kidx stats --json: what the index's files take. */
static long long stats_bytes(void) {
  tu_run r = KIDX("stats", "--json");
  ASSERT_STATUS(r, 0);
  const char *p = strstr(r.out, "\"bytes\":");
  ck_assert_ptr_nonnull(p);
  long long n = strtoll(p + 8, NULL, 10);
  tu_run_free(&r);
  return n;
}

/* The bytes of every file in the index directory: equal to stats_bytes()
 * when no leftover of an interrupted commit lies around. */
static long long index_dir_bytes(void) {
  char *dir = tu_work_path(".kidx");
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  long long total = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
      total += (long long)st.st_size;
  }
  closedir(d);
  free(dir);
  return total;
}

/* Number of documents matching word: the TOTAL of "N of TOTAL matching
 * documents", 0 when kidx search finds nothing (status 1). */
static long search_total(const char *word) {
  tu_run r = KIDX("search", "-k", "1", "--snippet-words", "0", word);
  long total = 0;
  if (r.status == 1) {
    ck_assert_str_eq(r.out, "");
  } else {
    ASSERT_STATUS(r, 0);
    /* The last line; titles may say " of " too. */
    size_t len = strlen(r.out);
    ck_assert_msg(len > 1 && r.out[len - 1] == '\n', "got: %s", r.out);
    const char *last = r.out + len - 1;
    while (last > r.out && last[-1] != '\n')
      last--;
    const char *p = strstr(last, " of ");
    ck_assert_msg(p && strstr(p, " matching document"), "got: %s", r.out);
    total = strtol(p + 4, NULL, 10);
  }
  tu_run_free(&r);
  return total;
}

static long gen_total(unsigned gen) {
  char w[16] = "gen";
  letters(w + 3, gen, 3);
  return search_total(w);
}

static long file_total(unsigned i) {
  char w[16] = "uq";
  letters(w + 2, i, 4);
  return search_total(w);
}

/* ---- SIGKILL at random moments ---- */

START_TEST(test_sigkill_leaves_a_commit) {
  /* Each round runs kidx index over the corpus, killing it after a random
   * delay unless it is a round that completes.  Once a run has committed
   * the corpus, the next round first rewrites every file (a new generation
   * of words) and adds some, so every run has the whole corpus to index
   * and commit.  After each round the index must hold exactly one commit:
   * the previous one (its count, its generation) or the new one (all
   * files, this generation), never a mix, and kidx check must pass. */
  const unsigned base = SANITIZED ? 1000 : 3000, grow = base / 50;
  const int rounds = SANITIZED ? 14 : 24;
  const char *const argv[] = {KIDX_BIN, "index", "corpus", NULL};
  uint64_t seed = 0x5EED0001u;
  unsigned nfiles = base;
  for (unsigned i = 0; i < nfiles; i++)
    write_corpus_file("corpus", i, 0, "");

  /* The duration of an uninterrupted run, measured on a scratch index:
   * kill delays are spread over 0 .. 1.2 times it. */
  double t0 = now();
  tu_run r = KIDX("-i", "scratch", "index", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  double full = now() - t0;
  char *scratch = tu_work_path("scratch");
  tu_rmtree(scratch);
  free(scratch);

  long committed = -1; /* documents of the last commit; -1: no index */
  unsigned committed_gen = 0, gen = 0;
  int kept_old = 0, got_new = 0;
  for (int round = 0; round < rounds; round++) {
    if (committed == (long)nfiles && committed_gen == gen) {
      gen++;
      nfiles += grow;
      for (unsigned i = 0; i < nfiles; i++)
        write_corpus_file("corpus", i, gen, "");
    }
    bool complete = round % 6 == 5;
    t0 = now();
    pid_t pid = spawn(argv, NULL, NULL, NULL);
    if (!complete) {
      double u = (double)(next_random(&seed) % 10000) / 10000.0;
      sleep_s(u * 1.2 * full);
      kill(pid, SIGKILL);
    }
    int status = wait_status(pid);
    if (complete) {
      ck_assert_int_eq(status, 0);
      full = now() - t0;
    } else {
      ck_assert_msg(status == 0 || status == 128 + SIGKILL, "status %d",
                    status);
    }

    long docs = stats_documents();
    tu_run c = KIDX("check");
    if (docs < 0) {
      ASSERT_STATUS(c, 3);
      tu_assert_one_line(c.err, "kidx: no index at .kidx");
    } else {
      ASSERT_STATUS(c, 0);
    }
    tu_run_free(&c);
    if (docs == (long)nfiles) {
      /* The new commit, whole. */
      ck_assert_int_eq(gen_total(gen), (long)nfiles);
      if (committed >= 0)
        ck_assert_int_eq(gen_total(committed_gen), 0);
      got_new++;
      committed = docs;
      committed_gen = gen;
    } else {
      /* Interrupted before the commit: the previous one, whole. */
      ck_assert_msg(!complete && docs == committed,
                    "round %d: %ld documents; expected %ld or %u", round, docs,
                    committed, nfiles);
      if (docs >= 0) {
        ck_assert_int_eq(gen_total(committed_gen), docs);
        ck_assert_int_eq(gen_total(gen), 0);
      }
      kept_old++;
    }
    /* A few files: found exactly once if committed, else not at all. */
    for (int k = 0; k < 2 && committed > 0; k++) {
      unsigned in = (unsigned)(next_random(&seed) % (uint64_t)committed);
      ck_assert_int_eq(file_total(in), 1);
    }
    if (committed >= 0 && committed < (long)nfiles)
      ck_assert_int_eq(file_total((unsigned)committed), 0);
    /* A successful writer removes what killed ones left behind: the
     * directory holds the index's files and nothing else. */
    if (status == 0)
      ck_assert_int_eq(index_dir_bytes(), stats_bytes());
  }
  /* Both outcomes happened: some kills landed before a commit (and the
   * completed rounds, if no kill did, made new commits). */
  ck_assert_int_gt(kept_old, 0);
  ck_assert_int_gt(got_new, 0);
}
END_TEST

/* ---- a write that fails ---- */

/* Limits the size of files the child may write: a full disk as far as
 * kidx can tell, without a full disk.  SIGXFSZ would kill it; ignored, the
 * write fails with EFBIG instead, which kidx must report. */
static rlim_t fsize_limit;

static void limit_file_size(void) {
  struct rlimit rl = {fsize_limit, fsize_limit};
  signal(SIGXFSZ, SIG_IGN);
  if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
    _exit(125);
}

/* Runs kidx index ARG with the file size limit; checks it fails as one
 * line naming a file of the index directory. */
static void index_with_limit(const char *index_dir, rlim_t limit) {
  fsize_limit = limit;
  const char *const argv[] = {KIDX_BIN, "-i",     index_dir,
                              "index",  "corpus", NULL};
  char *out = tu_work_path("out.txt"), *err = tu_work_path("err.txt");
  pid_t pid = spawn(argv, out, err, limit_file_size);
  int status = wait_status(pid);
  char *o = tu_read_file(out, NULL), *e = tu_read_file(err, NULL);
  ck_assert_msg(status == 3, "status %d\n%s%s", status, o, e);
  ck_assert_str_eq(o, "");
  char prefix[128], file[128];
  snprintf(prefix, sizeof prefix,
           "kidx: cannot write index at %s: ", index_dir);
  tu_assert_one_line(e, prefix);
  snprintf(file, sizeof file, " %s/", index_dir);
  ck_assert_msg(strstr(e, file) && strstr(e, strerror(EFBIG)),
                "the message does not name the file and the error: %s", e);
  free(o);
  free(e);
  unlink(out);
  unlink(err);
  free(out);
  free(err);
}

START_TEST(test_failed_write_keeps_the_commit) {
  for (unsigned i = 0; i < 200; i++)
    write_corpus_file("corpus", i, 0, "");
  tu_run r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  long long bytes = stats_bytes();
  for (unsigned i = 200; i < 400; i++)
    write_corpus_file("corpus", i, 0, "");
  /* The new index is bigger than the old: it cannot be written within the
   * old one's size. */
  index_with_limit(".kidx", (rlim_t)bytes);
  r = KIDX("check");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert_int_eq(stats_documents(), 200);
  ck_assert_int_eq(file_total(199), 1);
  ck_assert_int_eq(file_total(200), 0);
  /* The half-written file was removed. */
  ck_assert_int_eq(index_dir_bytes(), stats_bytes());
  /* Space again: the run succeeds. */
  r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  ck_assert_int_eq(stats_documents(), 400);

  /* The very first commit failing leaves no index, not a broken one. */
  index_with_limit(".kidx2", 4096);
  r = KIDX("-i", ".kidx2", "check");
  ASSERT_STATUS(r, 3);
  tu_assert_one_line(r.err, "kidx: no index at .kidx2");
  tu_run_free(&r);
}
END_TEST

/* ---- readers during commits ---- */

/* Documents with the word "common" added per commit. */
#define PER_COMMIT 10

/* A reader process: runs kidx search --json for "common" until the file
 * stop exists, writing one line per search to log: "ok TOTAL", or "bad
 * ..." describing what was wrong.  Runs in a forked child of the test:
 * no Check assertions here, only _exit.  It also stops if the test
 * process is gone (a failed assertion there never creates stop) or after
 * ten minutes, so it cannot outlive the test. */
static void reader_loop(const char *stop, const char *log, const char *out) {
  pid_t parent = getppid();
  double start = now();
  FILE *lf = fopen(log, "w");
  if (!lf)
    _exit(2);
  const char *const argv[] = {KIDX_BIN, "search", "--json",
                              "-k",     "100000", "--snippet-words",
                              "0",      "common", NULL};
  struct stat st;
  while (stat(stop, &st) != 0 && getppid() == parent && now() - start < 600) {
    pid_t pid = fork();
    if (pid < 0)
      _exit(3);
    if (pid == 0) {
      int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int n = open("/dev/null", O_RDWR);
      if (o < 0 || n < 0 || chdir(tu_work_dir()) != 0)
        _exit(126);
      dup2(n, 0);
      dup2(o, 1);
      dup2(n, 2);
      unsetenv("KIDX_INDEX");
      execv(argv[0], (char *const *)(uintptr_t)argv);
      _exit(127);
    }
    int status = wait_status(pid);
    char *text = tu_read_file(out, NULL);
    if (!text) {
      fprintf(lf, "bad: no output file\n");
      continue;
    }
    size_t lines = tu_count_lines(text);
    if (status != 0 && status != 1) {
      fprintf(lf, "bad: status %d\n", status);
    } else if ((status == 1) != (lines == 0)) {
      fprintf(lf, "bad: status %d with %zu lines\n", status, lines);
    } else {
      /* Each line a hit object with its rank, in order. */
      const char *p = text;
      size_t rank = 0;
      int ok = 1;
      while (*p && ok) {
        const char *nl = strchr(p, '\n');
        char want[32];
        int wl = snprintf(want, sizeof want, "{\"rank\":%zu,", ++rank);
        ok = nl && strncmp(p, want, (size_t)wl) == 0 && nl[-1] == '}';
        p = nl ? nl + 1 : p + strlen(p);
      }
      if (ok)
        fprintf(lf, "ok %zu\n", lines);
      else
        fprintf(lf, "bad: malformed output at hit %zu\n", rank);
    }
    fflush(lf); /* the test watches the log grow */
    free(text);
  }
  fclose(lf);
  _exit(0);
}

/* Size of a file, 0 if it does not exist (yet). */
static off_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Waits until each log has grown beyond the size in sizes[] (so each
 * reader has answered a query since), for at most a minute. */
static void wait_logs_grow(char *const logs[2], const off_t sizes[2]) {
  double t0 = now();
  while (now() - t0 < 60 &&
         (file_size(logs[0]) <= sizes[0] || file_size(logs[1]) <= sizes[1]))
    sleep_s(0.005);
  ck_assert_msg(file_size(logs[0]) > sizes[0] && file_size(logs[1]) > sizes[1],
                "the readers do not answer");
}

START_TEST(test_readers_see_whole_commits) {
  /* Commit k holds exactly k * PER_COMMIT documents with "common" (and
   * one without), so every answer's total is a multiple of PER_COMMIT.
   * Each commit also replaces a document added earlier (new words, still
   * "common"), so commits both add and replace. */
  const int commits = SANITIZED ? 8 : 16;
  tu_write_file(tu_work_dir(), "corpus/none.txt", "Nothing\nin particular\n",
                22);
  tu_run r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  char *stop = tu_work_path("stop");
  pid_t readers[2];
  char *logs[2];
  for (int i = 0; i < 2; i++) {
    char name[32];
    snprintf(name, sizeof name, "reader%d.log", i);
    logs[i] = tu_work_path(name);
    snprintf(name, sizeof name, "reader%d.out", i);
    char *out = tu_work_path(name);
    readers[i] = fork();
    ck_assert(readers[i] >= 0);
    if (readers[i] == 0)
      reader_loop(stop, logs[i], out);
    free(out);
  }
  /* Each reader has seen the index before the first commit, and will see
   * it after the last: then both ends of the run are in the logs, and
   * whatever the scheduling, the readers overlap the commits. */
  off_t sizes[2] = {0, 0};
  wait_logs_grow(logs, sizes);
  for (int k = 1; k <= commits; k++) {
    for (unsigned j = 0; j < PER_COMMIT; j++)
      write_corpus_file("corpus", (unsigned)k * 100 + j, 0, "common");
    if (k > 1)
      write_corpus_file("corpus", (unsigned)(k - 1) * 100, (unsigned)k,
                        "common replaced");
    r = KIDX("index", "corpus");
    ASSERT_STATUS(r, 0);
    tu_run_free(&r);
    ck_assert_int_eq(search_total("common"), (long)k * PER_COMMIT);
  }
  sizes[0] = file_size(logs[0]);
  sizes[1] = file_size(logs[1]);
  wait_logs_grow(logs, sizes);
  FILE *f = fopen(stop, "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  size_t distinct = 0;
  long seen[64];
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(wait_status(readers[i]), 0);
    char *log = tu_read_file(logs[i], NULL);
    ck_assert_ptr_nonnull(log);
    size_t searches = 0;
    long last = -1;
    for (const char *p = log; *p;) {
      const char *nl = strchr(p, '\n');
      ck_assert_msg(strncmp(p, "ok ", 3) == 0, "reader %d: %.*s", i,
                    (int)(nl ? nl - p : (long)strlen(p)), p);
      long total = strtol(p + 3, NULL, 10);
      ck_assert_msg(
          total % PER_COMMIT == 0 && total <= (long)commits * PER_COMMIT,
          "reader %d saw %ld documents: no commit has that many", i, total);
      /* A reader opening later never sees an older commit. */
      ck_assert_msg(total >= last, "reader %d saw %ld after %ld", i, total,
                    last);
      size_t s = 0;
      while (s < distinct && seen[s] != total)
        s++;
      if (s == distinct && distinct < 64)
        seen[distinct++] = total;
      last = total;
      searches++;
      p = nl ? nl + 1 : p + strlen(p);
    }
    ck_assert_uint_gt(searches, 0);
    free(log);
    free(logs[i]);
  }
  /* The readers saw the first and the last commit at least. */
  ck_assert_uint_ge(distinct, 2);
  free(stop);
}
END_TEST

/* ---- damage to every file ---- */

static void pwrite_byte(const char *path, off_t pos, unsigned char b) {
  int fd = open(path, O_WRONLY);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(pwrite(fd, &b, 1, pos), 1);
  close(fd);
}

/* Runs search and check on the damaged index: both must refuse it as one
 * line, exit 3, never crash. */
static void assert_refused(const char *what) {
  tu_run r = KIDX("search", "common");
  ck_assert_msg(r.status == 3, "%s: search status %d\n%s%s", what, r.status,
                r.out, r.err);
  ck_assert_str_eq(r.out, "");
  tu_assert_one_line(r.err, "kidx: index at .kidx is ");
  tu_run_free(&r);
  r = KIDX("check");
  ck_assert_msg(r.status == 3, "%s: check status %d\n%s%s", what, r.status,
                r.out, r.err);
  tu_assert_one_line(r.err, "kidx: index at .kidx is ");
  tu_run_free(&r);
}

START_TEST(test_damage_every_file) {
  const unsigned flips = SANITIZED ? 100 : 300;
  for (unsigned i = 0; i < 40; i++)
    write_corpus_file("corpus", i, 0, "common");
  tu_run r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  char *dir = tu_work_path(".kidx");
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  char *names[64];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 64)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      names[n++] = strdup(e->d_name);
  closedir(d);
  uint64_t seed = 0xF11Bu;
  size_t damaged_files = 0;
  for (size_t f = 0; f < n; f++) {
    char path[4096], what[4200];
    snprintf(path, sizeof path, "%s/%s", dir, names[f]);
    size_t size;
    char *orig = tu_read_file(path, &size);
    ck_assert_ptr_nonnull(orig);
    if (size == 0) { /* the lock file: no content to damage */
      free(orig);
      free(names[f]);
      continue;
    }
    damaged_files++;
    /* Positions spread evenly over the file, each jittered within its
     * stretch, so every part (header, every section, the end) is hit. */
    unsigned count = size < flips ? (unsigned)size : flips;
    for (unsigned k = 0; k < count; k++) {
      size_t lo = (size_t)k * size / count, hi = (size_t)(k + 1) * size / count;
      size_t pos = lo + (size_t)(next_random(&seed) % (hi - lo));
      unsigned char mask = (unsigned char)(1 + next_random(&seed) % 255);
      pwrite_byte(path, (off_t)pos, (unsigned char)(orig[pos] ^ mask));
      snprintf(what, sizeof what, "%s byte %zu ^ 0x%02x", names[f], pos, mask);
      assert_refused(what);
      pwrite_byte(path, (off_t)pos, (unsigned char)orig[pos]);
    }
    /* Truncations, from nothing to one byte short. */
    for (unsigned k = 0; k <= 10; k++) {
      size_t len = k == 10 ? size - 1 : (size_t)k * size / 10;
      ck_assert_int_eq(truncate(path, (off_t)len), 0);
      snprintf(what, sizeof what, "%s truncated to %zu bytes", names[f], len);
      assert_refused(what);
      tu_write_file(dir, names[f], orig, size);
    }
    free(orig);
    free(names[f]);
  }
  ck_assert_uint_gt(damaged_files, 0);
  /* Restored: intact again. */
  r = KIDX("check");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  free(dir);
}
END_TEST

/* ---- two writers ---- */

START_TEST(test_second_writer) {
  for (unsigned i = 0; i < 20; i++)
    write_corpus_file("corpus", i, 0, "");
  tu_run r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  /* This test process holds the writer lock. */
  char *dir = tu_work_path(".kidx");
  kidx_writer *w = NULL;
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  write_corpus_file("corpus", 20, 0, "");
  double t0 = now();
  r = KIDX("index", "corpus");
  ASSERT_STATUS(r, 3);
  tu_assert_one_line(r.err, "kidx: index at .kidx is locked by another writer");
  tu_run_free(&r);
  /* At once: no waiting without --wait. */
  ck_assert_msg(now() - t0 < 5.0, "took %.1f s", now() - t0);

  /* With --wait, it waits for the lock, then does its work. */
  const char *const index_argv[] = {KIDX_BIN, "index", "--wait", "corpus",
                                    NULL};
  char *err = tu_work_path("err.txt");
  t0 = now();
  pid_t pid = spawn(index_argv, NULL, err, NULL);
  sleep_s(0.5);
  int st;
  ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0); /* still waiting */
  kidx_writer_close(w);
  ck_assert_int_eq(wait_status(pid), 0);
  ck_assert(now() - t0 >= 0.5);
  /* Not a terminal: waiting is silent. */
  char *e = tu_read_file(err, NULL);
  ck_assert_str_eq(e, "");
  free(e);
  ck_assert_int_eq(stats_documents(), 21);

  /* The same for delete. */
  ck_assert_int_eq(kidx_writer_new(&w), KIDX_OK);
  ck_assert_int_eq(kidx_writer_open(w, dir), KIDX_OK);
  const char *const delete_argv[] = {KIDX_BIN, "delete", "--wait",
                                     "corpus/d00/f00000.txt", NULL};
  pid = spawn(delete_argv, NULL, err, NULL);
  sleep_s(0.3);
  ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0);
  kidx_writer_close(w);
  ck_assert_int_eq(wait_status(pid), 0);
  ck_assert_int_eq(stats_documents(), 20);

  /* Two writers started together both succeed with --wait, one after the
   * other. */
  for (unsigned i = 21; i < 60; i++)
    write_corpus_file("corpus", i, 1, "");
  pid_t a = spawn(index_argv, NULL, NULL, NULL);
  pid_t b = spawn(index_argv, NULL, NULL, NULL);
  ck_assert_int_eq(wait_status(a), 0);
  ck_assert_int_eq(wait_status(b), 0);
  ck_assert_int_eq(stats_documents(), 60);
  r = KIDX("check");
  ASSERT_STATUS(r, 0);
  tu_run_free(&r);
  free(err);
  free(dir);
}
END_TEST

static Suite *durability_suite(void) {
  Suite *s = suite_create("durability");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"sigkill", test_sigkill_leaves_a_commit},
      {"failed_write", test_failed_write_keeps_the_commit},
      {"readers", test_readers_see_whole_commits},
      {"damage", test_damage_every_file},
      {"second_writer", test_second_writer},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_unchecked_fixture(tc, tu_case_setup, tu_case_teardown);
    tcase_add_checked_fixture(tc, tu_work_setup, tu_work_teardown);
    /* Generous: under a sanitizer on a loaded machine these run long. */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

int main(void) {
  return tu_run_suite(durability_suite());
}
