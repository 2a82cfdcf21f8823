/*
 * bench.c -- indexing and query benchmark for libkidx, using only the public
 * API in kidx.h.
 *
 *   kidx_bench [--index DIR] [--queries FILE] [--runs N] [--json] CORPUS_DIR
 *
 * What is measured (the README says the same):
 *
 *   Indexing runs in a forked child process that opens a writer, then for
 *   each file reads it, splits it into title and body and calls
 *   kidx_writer_add(), and finally calls kidx_writer_commit() once.
 *   "index seconds" is the time spent inside kidx_writer_add() and
 *   kidx_writer_commit() only (file reading excluded); the child's wall
 *   time including reading is reported too.  Files are streamed one at a
 *   time rather than preloaded, so the child's peak RSS (ru_maxrss of the
 *   only child, via RUSAGE_CHILDREN) is what the library needs to build the
 *   index plus one file buffer and the process baseline -- not the corpus.
 *
 *   Queries run in the parent against a kidx_reader opened after the
 *   commit: one untimed warm-up pass over the query set, then --runs timed
 *   passes.  Each kidx_search() call (limit 10) is timed on its own with
 *   CLOCK_MONOTONIC; median and p99 are over all timed calls, and
 *   queries/s is the number of timed calls divided by their summed time
 *   (single thread).
 */
#include "kidx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
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

#define MIB         1048576.0
#define QUERY_LIMIT 10
/* Same rule as the CLI: a NUL byte near the start means a binary file. */
#define BINARY_PROBE_BYTES 8192
/* Same title limit as the CLI: the title is returned with every hit. */
#define TITLE_MAX 512

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* Queries for the small news corpus shipped in corpus/ when no --queries
 * file is given: names, phrases and single words that occur there, plus
 * two that occur nowhere, so the miss path is timed as well. */
static const char *const default_queries[] = {"transparency centre",
                                              "Best Buy",
                                              "FBI briefings",
                                              "kaspersky",
                                              "russian government",
                                              "antivirus software",
                                              "Eugene Kaspersky",
                                              "Homeland Security",
                                              "sanctions",
                                              "Commerce Department ban",
                                              "intelligence agency",
                                              "channel partners",
                                              "cybersecurity firm",
                                              "Ukraine",
                                              "quantum cryptography",
                                              "blockchain"};

/* The temporary directory to remove at exit, if we made one. */
static char *g_tmpdir;

static void fail(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Prints "kidx_bench: <message>" on one line and exits 1; the atexit
 * handler removes the temporary index. */
static void fail(const char *fmt, ...) {
  va_list ap;
  fputs("kidx_bench: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    fail("out of memory");
  return p;
}

static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p)
    fail("out of memory");
  return p;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = xmalloc(n);
  memcpy(p, s, n);
  return p;
}

/* a + "/" + b, freshly allocated. */
static char *path_join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *p = xmalloc(la + lb + 2);
  memcpy(p, a, la);
  p[la] = '/';
  memcpy(p + la + 1, b, lb + 1);
  return p;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ru_maxrss is in KiB on Linux and the BSDs but in bytes on macOS. */
static double maxrss_mib(const struct rusage *ru) {
#if defined(__APPLE__)
  return (double)ru->ru_maxrss / MIB;
#else
  return (double)ru->ru_maxrss / 1024.0;
#endif
}

/* ---------------------------------------------------------------------- */
/* String lists and the directory walk                                    */
/* ---------------------------------------------------------------------- */

typedef struct strvec {
  char **v;
  size_t n, cap;
} strvec;

static void sv_push(strvec *s, char *str) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->v = xrealloc(s->v, s->cap * sizeof *s->v);
  }
  s->v[s->n++] = str;
}

static void sv_free(strvec *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

static int cmp_str(const void *a, const void *b) {
  const char *const *x = a;
  const char *const *y = b;
  return strcmp(*x, *y);
}

/* Appends the paths, relative to root, of the regular files under
 * root/rel (rel "" for root itself), in sorted order so that documents are
 * always added in the same order.  Symbolic links to files are followed;
 * links to directories are not, which rules out cycles.  opendir/readdir
 * rather than nftw(), which is XSI rather than base POSIX. */
static void walk(const char *root, const char *rel, strvec *out) {
  char *dirpath = rel[0] ? path_join(root, rel) : xstrdup(root);
  DIR *d = opendir(dirpath);
  if (!d)
    fail("cannot open directory %s: %s", dirpath, strerror(errno));
  strvec names = {0};
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    /* Hidden entries (.git, editor files) are skipped, as the CLI skips
     * them; this also covers "." and "..". */
    if (e->d_name[0] != '.')
      sv_push(&names, xstrdup(e->d_name));
    errno = 0;
  }
  if (errno != 0)
    fail("cannot read directory %s: %s", dirpath, strerror(errno));
  closedir(d);
  if (names.n > 1)
    qsort(names.v, names.n, sizeof *names.v, cmp_str);
  for (size_t i = 0; i < names.n; i++) {
    char *childrel = rel[0] ? path_join(rel, names.v[i]) : xstrdup(names.v[i]);
    char *full = path_join(root, childrel);
    struct stat st;
    if (lstat(full, &st) != 0)
      fail("cannot stat %s: %s", full, strerror(errno));
    int is_link = S_ISLNK(st.st_mode);
    if (is_link && stat(full, &st) != 0) {
      /* A dangling link is not a file: skip it. */
      free(full);
      free(childrel);
      continue;
    }
    free(full);
    if (S_ISREG(st.st_mode)) {
      sv_push(out, childrel);
    } else {
      if (S_ISDIR(st.st_mode) && !is_link)
        walk(root, childrel, out);
      free(childrel);
    }
  }
  sv_free(&names);
  free(dirpath);
}

/* Removes a directory tree we created (no links are followed). */
static void remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (d) {
      strvec names = {0};
      struct dirent *e;
      while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
          sv_push(&names, xstrdup(e->d_name));
      closedir(d);
      for (size_t i = 0; i < names.n; i++) {
        char *child = path_join(path, names.v[i]);
        remove_tree(child);
        free(child);
      }
      sv_free(&names);
    }
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void cleanup_tmpdir(void) {
  if (g_tmpdir) {
    remove_tree(g_tmpdir);
    free(g_tmpdir);
    g_tmpdir = NULL;
  }
}

/* 1 if dir is a directory with entries, else 0 (when it cannot be opened
 * as a directory, kidx_writer_open() reports why). */
static int dir_has_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  struct dirent *e;
  int found = 0;
  while (!found && (e = readdir(d)) != NULL)
    found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return found;
}

/* ---------------------------------------------------------------------- */
/* Indexing (in the child process)                                        */
/* ---------------------------------------------------------------------- */

/* What the child sends back through the pipe (same binary, so a raw
 * struct is fine). */
typedef struct index_report {
  uint64_t docs;        /* documents added */
  uint64_t skipped;     /* files skipped as binary */
  uint64_t input_bytes; /* bytes of the files added */
  uint64_t add_ns;      /* inside kidx_writer_add(), summed */
  uint64_t commit_ns;   /* inside kidx_writer_commit() */
  uint64_t wall_ns;     /* open to commit, including file reading */
} index_report;

/* Reads the whole file into *buf (grown as needed); returns its size.
 * Reads to EOF rather than trusting st_size. */
static size_t read_file(const char *path, char **buf, size_t *cap) {
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    fail("cannot open %s: %s", path, strerror(errno));
  size_t n = 0;
  for (;;) {
    if (*cap - n < 65536) {
      *cap = *cap ? *cap * 2 : 1 << 20;
      *buf = xrealloc(*buf, *cap);
    }
    ssize_t r = read(fd, *buf + n, *cap - n);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      fail("cannot read %s: %s", path, strerror(errno));
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  return n;
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Title: the first line with anything but whitespace on it, trimmed.
 * Body: everything after that line.  A leading UTF-8 byte order mark is
 * dropped, since it would otherwise glue itself to the first title word.
 * Like the CLI, a title line over TITLE_MAX bytes is cut at a space (or
 * else a character boundary) and the rest goes to the body, so a file that
 * is one long line is indexed as the CLI would index it. */
static void split_doc(const char *p, size_t n, const char **title, size_t *tlen,
                      const char **body, size_t *blen) {
  const char *end = p + n;
  if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
    p += 3;
  *title = p;
  *tlen = 0;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    const char *s = p, *e = le;
    while (s < e && is_space(*s))
      s++;
    while (e > s && is_space(e[-1]))
      e--;
    p = nl ? nl + 1 : end;
    if (e > s) {
      if (e - s > TITLE_MAX) {
        const char *cut = s + TITLE_MAX;
        while (cut > s && ((unsigned char)*cut & 0xC0) == 0x80)
          cut--; /* back to the start of a UTF-8 sequence */
        const char *sp = cut;
        while (sp > s && !is_space(*sp))
          sp--;
        if (sp > s)
          cut = sp;
        p = cut;
        e = cut;
        while (e > s && is_space(e[-1]))
          e--;
      }
      *title = s;
      *tlen = (size_t)(e - s);
      break;
    }
  }
  *body = p;
  *blen = (size_t)(end - p);
}

/* The child's work: build the index, fill *rep.  Exits through fail() on
 * any error (the message names the file or the kidx call). */
static void run_indexing(const char *root, const strvec *files,
                         const char *index_dir, index_report *rep) {
  memset(rep, 0, sizeof *rep);
  kidx_writer *w = NULL;
  if (kidx_writer_new(&w) != KIDX_OK)
    fail("kidx_writer_new: %s", kidx_strerror(KIDX_ENOMEM));
  uint64_t t_start = now_ns();
  kidx_status rc = kidx_writer_open(w, index_dir);
  if (rc != KIDX_OK)
    fail("kidx_writer_open(%s): %s", index_dir, kidx_writer_errmsg(w));
  char *buf = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < files->n; i++) {
    const char *id = files->v[i];
    char *full = path_join(root, id);
    size_t n = read_file(full, &buf, &cap);
    free(full);
    if (memchr(buf, '\0', n < BINARY_PROBE_BYTES ? n : BINARY_PROBE_BYTES)) {
      rep->skipped++;
      continue;
    }
    const char *title, *body;
    size_t tlen, blen;
    split_doc(buf, n, &title, &tlen, &body, &blen);
    uint64_t t0 = now_ns();
    rc = kidx_writer_add(w, id, strlen(id), title, tlen, body, blen);
    rep->add_ns += now_ns() - t0;
    if (rc != KIDX_OK)
      fail("kidx_writer_add(%s): %s", id, kidx_writer_errmsg(w));
    rep->docs++;
    rep->input_bytes += n;
  }
  free(buf);
  uint64_t t0 = now_ns();
  rc = kidx_writer_commit(w);
  uint64_t t1 = now_ns();
  if (rc != KIDX_OK)
    fail("kidx_writer_commit(%s): %s", index_dir, kidx_writer_errmsg(w));
  rep->commit_ns = t1 - t0;
  rep->wall_ns = t1 - t_start;
  kidx_writer_close(w);
}

/* Runs run_indexing() in a child process and returns the child's peak RSS
 * in MiB.  A separate process is the only way to get a peak that covers
 * indexing alone: our own ru_maxrss would also count whatever the parent
 * allocates, and the child starts from a tiny heap (the file list). */
static double index_in_child(const char *root, const strvec *files,
                             const char *index_dir, index_report *rep) {
  int pfd[2];
  if (pipe(pfd) != 0)
    fail("pipe: %s", strerror(errno));
  fflush(NULL); /* or buffered output would be written twice */
  pid_t pid = fork();
  if (pid < 0)
    fail("fork: %s", strerror(errno));
  if (pid == 0) {
    close(pfd[0]);
    /* The parent owns the temporary directory: the child must not remove
     * it when fail() exits. */
    g_tmpdir = NULL;
    run_indexing(root, files, index_dir, rep);
    const char *p = (const char *)rep;
    size_t left = sizeof *rep;
    while (left > 0) {
      ssize_t wr = write(pfd[1], p, left);
      if (wr < 0 && errno == EINTR)
        continue;
      if (wr <= 0)
        _exit(1);
      p += wr;
      left -= (size_t)wr;
    }
    _exit(0);
  }
  close(pfd[1]);
  char *p = (char *)rep;
  size_t got = 0;
  while (got < sizeof *rep) {
    ssize_t r = read(pfd[0], p + got, sizeof *rep - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(pfd[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      fail("waitpid: %s", strerror(errno));
  if (WIFSIGNALED(status))
    fail("indexing process killed by signal %d", WTERMSIG(status));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    exit(1); /* the child has already printed its one-line message */
  if (got != sizeof *rep)
    fail("indexing process sent no report");
  /* The only child we ever wait for, so the children's maximum is its. */
  struct rusage ru;
  if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
    fail("getrusage: %s", strerror(errno));
  return maxrss_mib(&ru);
}

/* ---------------------------------------------------------------------- */
/* Queries                                                                */
/* ---------------------------------------------------------------------- */

/* One query per line; blank lines are ignored, surrounding whitespace
 * (including a CR from CRLF files) trimmed. */
static void load_queries(const char *file, strvec *out) {
  FILE *f = fopen(file, "rb");
  if (!f)
    fail("cannot open %s: %s", file, strerror(errno));
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (cap - n < 4096) {
      cap = cap ? cap * 2 : 65536;
      buf = xrealloc(buf, cap);
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0)
      break;
  }
  if (ferror(f))
    fail("cannot read %s", file);
  fclose(f);
  const char *p = buf, *end = buf + n;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *s = p, *e = nl ? nl : end;
    p = nl ? nl + 1 : end;
    while (s < e && (is_space(*s)))
      s++;
    while (e > s && is_space(e[-1]))
      e--;
    if (e > s) {
      char *q = xmalloc((size_t)(e - s) + 1);
      memcpy(q, s, (size_t)(e - s));
      q[e - s] = '\0';
      sv_push(out, q);
    }
  }
  free(buf);
  if (out->n == 0)
    fail("no queries in %s", file);
}

typedef struct query_report {
  size_t queries;    /* distinct queries in the set */
  size_t with_hits;  /* of those, how many matched at least one document */
  size_t executions; /* timed kidx_search() calls */
  double median_us, p99_us, mean_us, qps;
} query_report;

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static void search_or_fail(const kidx_reader *r, const char *q,
                           const kidx_search_options *opt, kidx_results *res) {
  kidx_status rc = kidx_search(r, q, strlen(q), opt, res);
  if (rc != KIDX_OK) {
    const char *msg = kidx_results_errmsg(res);
    fail("kidx_search(\"%s\"): %s", q, msg[0] ? msg : kidx_strerror(rc));
  }
}

static void run_queries(const kidx_reader *r, const strvec *queries,
                        unsigned runs, query_report *rep) {
  kidx_results *res = NULL;
  if (kidx_results_new(&res) != KIDX_OK)
    fail("kidx_results_new: %s", kidx_strerror(KIDX_ENOMEM));
  kidx_search_options opt;
  kidx_search_options_init(&opt);
  opt.limit = QUERY_LIMIT;

  /* Warm-up: brings the index pages and the allocator into a steady state
   * so the timed runs measure search, not first-touch page faults. */
  memset(rep, 0, sizeof *rep);
  rep->queries = queries->n;
  for (size_t i = 0; i < queries->n; i++) {
    search_or_fail(r, queries->v[i], &opt, res);
    if (kidx_results_total(res) > 0)
      rep->with_hits++;
  }

  size_t total = queries->n * runs;
  uint64_t *lat = xmalloc(total * sizeof *lat);
  uint64_t sum = 0;
  size_t k = 0;
  for (unsigned run = 0; run < runs; run++) {
    for (size_t i = 0; i < queries->n; i++) {
      const char *q = queries->v[i];
      uint64_t t0 = now_ns();
      kidx_status rc = kidx_search(r, q, strlen(q), &opt, res);
      uint64_t dt = now_ns() - t0;
      if (rc != KIDX_OK)
        search_or_fail(r, q, &opt, res); /* reports the error */
      lat[k++] = dt;
      sum += dt;
    }
  }
  qsort(lat, total, sizeof *lat, cmp_u64);
  /* Median: mean of the two middle values when the count is even.
   * p99: nearest rank, the smallest value >= 99% of the samples. */
  double med =
      total % 2 ? (double)lat[total / 2]
                : ((double)lat[total / 2 - 1] + (double)lat[total / 2]) / 2.0;
  size_t rank99 = (total * 99 + 99) / 100;
  rep->executions = total;
  rep->median_us = med / 1e3;
  rep->p99_us = (double)lat[rank99 - 1] / 1e3;
  rep->mean_us = (double)sum / (double)total / 1e3;
  rep->qps = sum > 0 ? (double)total / ((double)sum / 1e9) : 0.0;
  free(lat);
  kidx_results_free(res);
}

/* ---------------------------------------------------------------------- */
/* Report                                                                 */
/* ---------------------------------------------------------------------- */

/* 1234567 -> "1,234,567", for the human-readable report. */
static const char *grouped(uint64_t v, char out[32]) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
  int o = 0;
  for (int i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      out[o++] = ',';
    out[o++] = tmp[i];
  }
  out[o] = '\0';
  return out;
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

typedef struct figures {
  const char *corpus;
  const char *index_dir; /* NULL: temporary, removed */
  const char *query_source;
  unsigned runs;
  index_report ix;
  kidx_stats st;
  double peak_rss_mb, search_rss_mb;
  query_report q;
} figures;

static double seconds(uint64_t ns) {
  return (double)ns / 1e9;
}

/* A duration for the human report: milliseconds below one second, so a
 * small corpus does not show as "0.000 s". */
static const char *duration(uint64_t ns, char out[32]) {
  if (ns < 1000000000u)
    snprintf(out, 32, "%.2f ms", (double)ns / 1e6);
  else
    snprintf(out, 32, "%.3f s", seconds(ns));
  return out;
}

static double index_seconds(const figures *f) {
  return seconds(f->ix.add_ns + f->ix.commit_ns);
}

static double index_mb_per_s(const figures *f) {
  double s = index_seconds(f);
  return s > 0 ? (double)f->ix.input_bytes / MIB / s : 0.0;
}

static double index_pct(const figures *f) {
  return f->ix.input_bytes
             ? 100.0 * (double)f->st.bytes / (double)f->ix.input_bytes
             : 0.0;
}

static void print_human(const figures *f) {
  char a[32], b[32], c[32];
  printf("kidx_bench (libkidx %s)\n", kidx_version_string());
  printf("corpus            %s\n", f->corpus);
  printf("index             %s\n",
         f->index_dir ? f->index_dir : "temporary directory (removed)");
  printf("documents         %s (binary files skipped: %s)\n",
         grouped(f->st.documents, a), grouped(f->ix.skipped, b));
  printf("input             %s bytes (%.2f MiB)\n",
         grouped(f->ix.input_bytes, a), (double)f->ix.input_bytes / MIB);
  printf("indexing          %s in add+commit (add %s, commit %s; "
         "file reading excluded)\n",
         duration(f->ix.add_ns + f->ix.commit_ns, a), duration(f->ix.add_ns, b),
         duration(f->ix.commit_ns, c));
  printf("                  %.2f MiB/s; %s wall including file reading\n",
         index_mb_per_s(f), duration(f->ix.wall_ns, a));
  printf("index size        %s bytes (%.1f%% of input); %s terms, %s tokens\n",
         grouped(f->st.bytes, a), index_pct(f), grouped(f->st.terms, b),
         grouped(f->st.tokens, c));
  printf("peak RSS          %.1f MiB (indexing child: writer + one file "
         "buffer + process baseline)\n",
         f->peak_rss_mb);
  printf("                  %.1f MiB (query process: reader + query loop)\n",
         f->search_rss_mb);
  printf("queries           %zu from %s; %zu with hits\n", f->q.queries,
         f->query_source, f->q.with_hits);
  printf("query timing      %u runs after 1 warm-up = %s searches, limit %d, "
         "1 thread\n",
         f->runs, grouped(f->q.executions, a), QUERY_LIMIT);
  printf("query latency     median %.1f us, p99 %.1f us, mean %.1f us\n",
         f->q.median_us, f->q.p99_us, f->q.mean_us);
  printf("throughput        %s queries/s\n",
         grouped((uint64_t)(f->q.qps + 0.5), a));
}

static void print_json(const figures *f) {
  printf("{\"documents\": %llu, \"input_bytes\": %llu, \"index_bytes\": %llu, "
         "\"index_pct\": %.2f, \"index_seconds\": %.6f, "
         "\"index_mb_per_s\": %.3f, \"peak_rss_mb\": %.2f, \"queries\": %zu, "
         "\"query_median_us\": %.2f, \"query_p99_us\": %.2f, \"qps\": %.1f",
         (unsigned long long)f->st.documents,
         (unsigned long long)f->ix.input_bytes, (unsigned long long)f->st.bytes,
         index_pct(f), index_seconds(f), index_mb_per_s(f), f->peak_rss_mb,
         f->q.queries, f->q.median_us, f->q.p99_us, f->q.qps);
  /* Extra figures after the documented ones. */
  printf(", \"corpus\": ");
  json_string(stdout, f->corpus);
  printf(", \"files_skipped\": %llu, \"add_seconds\": %.6f, "
         "\"commit_seconds\": %.6f, \"index_wall_seconds\": %.6f, "
         "\"terms\": %llu, \"tokens\": %llu, \"search_peak_rss_mb\": %.2f, "
         "\"queries_with_hits\": %zu, \"query_runs\": %u, "
         "\"query_executions\": %zu, \"query_mean_us\": %.2f, "
         "\"query_limit\": %d, \"mb\": 1048576, \"kidx_version\": ",
         (unsigned long long)f->ix.skipped, seconds(f->ix.add_ns),
         seconds(f->ix.commit_ns), seconds(f->ix.wall_ns),
         (unsigned long long)f->st.terms, (unsigned long long)f->st.tokens,
         f->search_rss_mb, f->q.with_hits, f->runs, f->q.executions,
         f->q.mean_us, QUERY_LIMIT);
  json_string(stdout, kidx_version_string());
  printf("}\n");
}

/* ---------------------------------------------------------------------- */
/* main                                                                   */
/* ---------------------------------------------------------------------- */

static void usage(FILE *f) {
  fputs("usage: kidx_bench [--index DIR] [--queries FILE] [--runs N] [--json]"
        " CORPUS_DIR\n"
        "  --index DIR     build the index here and keep it (must be empty or"
        " absent);\n"
        "                  default: a temporary directory, removed at the end\n"
        "  --queries FILE  one query per line (default: a built-in list for"
        " corpus/)\n"
        "  --runs N        timed passes over the query set (default 5)\n"
        "  --json          print one JSON object instead of the report\n",
        f);
}

int main(int argc, char **argv) {
  const char *index_arg = NULL, *qfile = NULL, *corpus_arg = NULL;
  unsigned runs = 5;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--json") == 0) {
      json = 1;
    } else if (strcmp(a, "--index") == 0 || strcmp(a, "--queries") == 0 ||
               strcmp(a, "--runs") == 0) {
      if (i + 1 >= argc)
        fail("%s needs a value", a);
      const char *v = argv[++i];
      if (a[2] == 'i') {
        index_arg = v;
      } else if (a[2] == 'q') {
        qfile = v;
      } else {
        char *end;
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-' || n < 1 || n > 100000)
          fail("--runs: expected a number from 1 to 100000, got \"%s\"", v);
        runs = (unsigned)n;
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      fail("unknown option %s (try --help)", a);
    } else if (corpus_arg) {
      fail("more than one corpus directory given (try --help)");
    } else {
      corpus_arg = a;
    }
  }
  if (!corpus_arg) {
    usage(stderr);
    return 2;
  }

  /* Strip trailing slashes so file paths and messages read "dir/a.txt",
   * not "dir//a.txt" (ids are relative to root either way). */
  char *root = xstrdup(corpus_arg);
  for (size_t n = strlen(root); n > 1 && root[n - 1] == '/'; n--)
    root[n - 1] = '\0';

  /* Where the index goes.  A fresh directory every time: adding to an
   * existing index would time replacements, not a build. */
  char *index_dir;
  if (index_arg) {
    if (dir_has_entries(index_arg))
      fail("--index %s: exists and is not an empty directory (the benchmark "
           "builds a fresh index)",
           index_arg);
    index_dir = xstrdup(index_arg);
  } else {
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !tmp[0])
      tmp = "/tmp";
    g_tmpdir = path_join(tmp, "kidx-bench.XXXXXX");
    if (!mkdtemp(g_tmpdir)) {
      int e = errno;
      char *t = g_tmpdir;
      g_tmpdir = NULL;
      fail("cannot create temporary directory %s: %s", t, strerror(e));
    }
    atexit(cleanup_tmpdir);
    index_dir = path_join(g_tmpdir, "index");
  }

  strvec queries = {0};
  if (qfile) {
    load_queries(qfile, &queries);
  } else {
    for (size_t i = 0; i < sizeof default_queries / sizeof *default_queries;
         i++)
      sv_push(&queries, xstrdup(default_queries[i]));
  }

  strvec files = {0};
  walk(root, "", &files);
  if (files.n == 0)
    fail("no files under %s", root);

  figures f;
  memset(&f, 0, sizeof f);
  f.corpus = root;
  f.index_dir = index_arg ? index_dir : NULL;
  f.query_source = qfile ? qfile : "the built-in list";
  f.runs = runs;
  f.peak_rss_mb = index_in_child(root, &files, index_dir, &f.ix);
  sv_free(&files);

  kidx_reader *r = NULL;
  if (kidx_reader_new(&r) != KIDX_OK)
    fail("kidx_reader_new: %s", kidx_strerror(KIDX_ENOMEM));
  if (kidx_reader_open(r, index_dir) != KIDX_OK)
    fail("kidx_reader_open(%s): %s", index_dir, kidx_reader_errmsg(r));
  if (kidx_reader_stats(r, &f.st) != KIDX_OK)
    fail("kidx_reader_stats(%s): %s", index_dir, kidx_reader_errmsg(r));
  run_queries(r, &queries, runs, &f.q);
  kidx_reader_close(r);

  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    f.search_rss_mb = maxrss_mib(&ru);

  if (json)
    print_json(&f);
  else
    print_human(&f);

  sv_free(&queries);
  free(index_dir);
  free(root);
  return 0; /* the atexit handler removes the temporary index */
}
