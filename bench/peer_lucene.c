/*
 * peer_lucene.c -- Apache Lucene as a peer of kidx in kidx_bench.
 *
 * Lucene is Java, so it runs in a JVM of its own: this file starts
 * `java ... KidxLuceneBench` (bench/lucene/KidxLuceneBench.java, compiled
 * by CMake into the build tree) and speaks a small binary protocol with it
 * over the JVM's standard input and output (described at the top of the
 * Java file).  Built only when CMake finds javac, java and Debian's
 * liblucene8-java jars (KIDX_BENCH_LUCENE); at run time, a missing java
 * or jar makes the peer "not available".
 *
 * So that Lucene is measured like the other engines, through the same
 * bench_engine calls:
 *
 *   - Indexing: index_open() starts the JVM, which opens an IndexWriter
 *     on the new directory (not timed, like every engine's open).
 *     index_add() writes the document down the pipe (buffered); when the
 *     JVM falls behind, the write blocks, so the summed add and commit
 *     time is the JVM's indexing time, plus the copying through the pipe.
 *     index_commit() asks for forceMerge(1) and commit() and waits for
 *     the reply: one segment, as issue 10 measured Lucene.  index_close()
 *     ends the JVM and waits for it, so the indexing child's peak RSS
 *     (RUSAGE_CHILDREN added to its own) includes the JVM's.
 *   - Searching: search_open() starts one JVM per query mode, which
 *     builds every query up front and runs the set a few times untimed
 *     (KIDX_BENCH_LUCENE_WARMUP passes; by default enough passes for about
 *     10,000 searches, at least 3) so the JIT has compiled the search
 *     path, besides the benchmark's own warm-up pass.  search()
 *     sends the query's number and reads back the hit count and the
 *     nanoseconds the JVM measured around the search alone
 *     (System.nanoTime()), which the benchmark uses instead of the time of
 *     the whole call: the pipe's round trip is not counted.
 *
 * Environment: KIDX_BENCH_JAVA (the java to run; default the one found
 * when configuring), KIDX_BENCH_JAVA_OPTS (extra JVM options, split at
 * spaces, e.g. "-Xmx2g"), KIDX_BENCH_LUCENE_WARMUP.
 */
#include "peer.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef KIDX_LUCENE_JAVA
#error "KIDX_LUCENE_JAVA (the java executable) must be defined"
#endif
#ifndef KIDX_LUCENE_CLASSPATH
#error "KIDX_LUCENE_CLASSPATH (driver classes and Lucene jars) must be defined"
#endif
#ifndef KIDX_LUCENE_VERSION
#define KIDX_LUCENE_VERSION "8"
#endif

#define MAX_JVM_ARGS 64

static const char *const lucene_variants[] = {"lucene"};
static const char *const lucene_variant_notes[] = {""};

static const char *lucene_describe(void) {
  return "Lucene " KIDX_LUCENE_VERSION
         " in a JVM (BM25Similarity(1.2, 0.75), StandardTokenizer + "
         "lower case + ASCII folding + Snowball English; title x2 + body in "
         "one field; forceMerge(1)); query time measured inside the JVM";
}

static const char *java_path(void) {
  const char *j = getenv("KIDX_BENCH_JAVA");
  return j && j[0] ? j : KIDX_LUCENE_JAVA;
}

/* PEER_OK if java and every classpath entry are there, else
 * PEER_UNAVAILABLE with the reason. */
static int check_runtime(char *err) {
  const char *java = java_path();
  if (access(java, X_OK) != 0) {
    snprintf(err, PEER_ERR_MAX, "cannot run %s: %s (install a JRE, or set "
             "KIDX_BENCH_JAVA)", java, strerror(errno));
    return PEER_UNAVAILABLE;
  }
  const char *cp = KIDX_LUCENE_CLASSPATH;
  while (*cp) {
    const char *end = strchr(cp, ':');
    size_t n = end ? (size_t)(end - cp) : strlen(cp);
    char entry[1024];
    if (n > 0 && n < sizeof entry) {
      memcpy(entry, cp, n);
      entry[n] = '\0';
      if (access(entry, R_OK) != 0) {
        snprintf(err, PEER_ERR_MAX, "%.300s: %s (Debian: liblucene8-java; see "
                 "scripts/bench-deps.sh)", entry, strerror(errno));
        return PEER_UNAVAILABLE;
      }
    }
    cp += n + (end ? 1 : 0);
  }
  return PEER_OK;
}

/* ---------------------------------------------------------------------- */
/* The JVM and the pipe                                                   */
/* ---------------------------------------------------------------------- */

typedef struct jvm {
  pid_t pid;
  int to;   /* its standard input */
  int from; /* its standard output */
} jvm;

/* Starts java [KIDX_BENCH_JAVA_OPTS] -cp CLASSPATH KidxLuceneBench args. */
static int jvm_start(jvm *j, const char *const *args, size_t nargs,
                     char *err) {
  j->pid = -1;
  j->to = j->from = -1;
  /* A JVM that dies must not kill the benchmark through SIGPIPE: writes
   * then fail with EPIPE, which is reported. */
  signal(SIGPIPE, SIG_IGN);
  const char *argv[MAX_JVM_ARGS + 1];
  size_t argc = 0;
  argv[argc++] = java_path();
  char *opts = NULL;
  const char *env = getenv("KIDX_BENCH_JAVA_OPTS");
  if (env && env[0]) {
    opts = strdup(env);
    if (!opts) {
      snprintf(err, PEER_ERR_MAX, "lucene: out of memory");
      return PEER_FAIL;
    }
    for (char *save = NULL, *t = strtok_r(opts, " \t", &save);
         t && argc < MAX_JVM_ARGS - 4 - nargs;
         t = strtok_r(NULL, " \t", &save))
      argv[argc++] = t;
  }
  argv[argc++] = "-cp";
  argv[argc++] = KIDX_LUCENE_CLASSPATH;
  argv[argc++] = "KidxLuceneBench";
  for (size_t i = 0; i < nargs && argc < MAX_JVM_ARGS; i++)
    argv[argc++] = args[i];
  argv[argc] = NULL;

  int in[2], out[2];
  if (pipe(in) != 0) {
    snprintf(err, PEER_ERR_MAX, "lucene: pipe: %s", strerror(errno));
    free(opts);
    return PEER_FAIL;
  }
  if (pipe(out) != 0) {
    snprintf(err, PEER_ERR_MAX, "lucene: pipe: %s", strerror(errno));
    close(in[0]);
    close(in[1]);
    free(opts);
    return PEER_FAIL;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(err, PEER_ERR_MAX, "lucene: fork: %s", strerror(errno));
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    free(opts);
    return PEER_FAIL;
  }
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    signal(SIGPIPE, SIG_DFL);
    /* execv's argv is char *const[]; the strings are not modified. */
    execv(argv[0], (char *const *)(void *)argv);
    fprintf(stderr, "kidx_bench: cannot run %s: %s\n", argv[0],
            strerror(errno));
    _exit(127);
  }
  free(opts);
  close(in[0]);
  close(out[1]);
  j->pid = pid;
  j->to = in[1];
  j->from = out[0];
  return PEER_OK;
}

/* Closes the pipes and waits for the JVM. */
static void jvm_stop(jvm *j) {
  if (j->to >= 0)
    close(j->to);
  if (j->from >= 0)
    close(j->from);
  j->to = j->from = -1;
  if (j->pid > 0) {
    int status;
    while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
      ;
  }
  j->pid = -1;
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

/* 0, or -1 at end of file or on an error. */
static int read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

static void put_u32(unsigned char *b, uint32_t v) {
  b[0] = (unsigned char)(v >> 24);
  b[1] = (unsigned char)(v >> 16);
  b[2] = (unsigned char)(v >> 8);
  b[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
         (uint32_t)b[3];
}

static uint64_t get_u64(const unsigned char *b) {
  return (uint64_t)get_u32(b) << 32 | get_u32(b + 4);
}

/* Waits for "R"; on "E" or end of file, err says what went wrong. */
static int wait_ready(jvm *j, const char *what, char *err) {
  unsigned char c;
  if (read_all(j->from, &c, 1) != 0) {
    snprintf(err, PEER_ERR_MAX,
             "lucene: %s: the JVM exited without a reply (see its messages "
             "above)",
             what);
    return PEER_FAIL;
  }
  if (c == 'R')
    return PEER_OK;
  unsigned char lb[4];
  char msg[PEER_ERR_MAX / 2] = "";
  if (c == 'E' && read_all(j->from, lb, 4) == 0) {
    uint32_t n = get_u32(lb);
    size_t keep = n < sizeof msg - 1 ? n : sizeof msg - 1;
    if (read_all(j->from, msg, keep) == 0)
      msg[keep] = '\0';
    else
      msg[0] = '\0';
  } else {
    snprintf(msg, sizeof msg, "unexpected reply byte %u", c);
  }
  snprintf(err, PEER_ERR_MAX, "lucene: %s: %s", what, msg);
  return PEER_FAIL;
}

/* ---------------------------------------------------------------------- */
/* Indexing                                                               */
/* ---------------------------------------------------------------------- */

typedef struct lucene_index {
  jvm j;
  FILE *w; /* buffered writes to the JVM */
} lucene_index;

static void lucene_index_close(void *p) {
  lucene_index *ix = p;
  if (!ix)
    return;
  if (ix->w) {
    fputc('X', ix->w);
    fclose(ix->w); /* closes j.to */
    ix->j.to = -1;
  }
  jvm_stop(&ix->j);
  free(ix);
}

static int lucene_index_open(const char *path, unsigned variant, void **out,
                             char *err) {
  (void)variant;
  *out = NULL;
  int rc = check_runtime(err);
  if (rc != PEER_OK)
    return rc;
  lucene_index *ix = calloc(1, sizeof *ix);
  if (!ix) {
    snprintf(err, PEER_ERR_MAX, "lucene: out of memory");
    return PEER_FAIL;
  }
  const char *args[] = {"index", path};
  if (jvm_start(&ix->j, args, 2, err) != PEER_OK) {
    free(ix);
    return PEER_FAIL;
  }
  ix->w = fdopen(ix->j.to, "wb");
  if (!ix->w || setvbuf(ix->w, NULL, _IOFBF, 1 << 20) != 0) {
    snprintf(err, PEER_ERR_MAX, "lucene: fdopen: %s", strerror(errno));
    lucene_index_close(ix);
    return PEER_FAIL;
  }
  if (wait_ready(&ix->j, "open", err) != PEER_OK) {
    lucene_index_close(ix);
    return PEER_FAIL;
  }
  *out = ix;
  return PEER_OK;
}

static int lucene_index_add(void *p, const bench_doc *d, char *err) {
  lucene_index *ix = p;
  unsigned char h[13];
  h[0] = 'D';
  put_u32(h + 1, (uint32_t)d->id_len);
  put_u32(h + 5, (uint32_t)d->title_len);
  put_u32(h + 9, (uint32_t)d->body_len);
  if (d->body_len > 0x7fffffffu || fwrite(h, 1, sizeof h, ix->w) != sizeof h ||
      fwrite(d->id, 1, d->id_len, ix->w) != d->id_len ||
      fwrite(d->title, 1, d->title_len, ix->w) != d->title_len ||
      fwrite(d->body, 1, d->body_len, ix->w) != d->body_len) {
    snprintf(err, PEER_ERR_MAX, "lucene: add %.*s: %s",
             d->id_len > 64 ? 64 : (int)d->id_len, d->id,
             errno == EPIPE ? "the JVM exited (see its messages above)"
                            : strerror(errno));
    return PEER_FAIL;
  }
  return PEER_OK;
}

static int lucene_index_commit(void *p, char *err) {
  lucene_index *ix = p;
  if (fputc('C', ix->w) == EOF || fflush(ix->w) != 0) {
    snprintf(err, PEER_ERR_MAX, "lucene: commit: %s",
             errno == EPIPE ? "the JVM exited (see its messages above)"
                            : strerror(errno));
    return PEER_FAIL;
  }
  return wait_ready(&ix->j, "commit", err);
}

static int dir_bytes(const char *path, uint64_t *bytes, char *err) {
  DIR *d = opendir(path);
  if (!d) {
    snprintf(err, PEER_ERR_MAX, "lucene: cannot open %s: %s", path,
             strerror(errno));
    return PEER_FAIL;
  }
  int rc = PEER_OK;
  struct dirent *e;
  while (rc == PEER_OK && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char child[4096];
    snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    struct stat st;
    if (lstat(child, &st) != 0) {
      snprintf(err, PEER_ERR_MAX, "lucene: cannot stat %.400s: %s", child,
               strerror(errno));
      rc = PEER_FAIL;
    } else if (S_ISDIR(st.st_mode)) {
      rc = dir_bytes(child, bytes, err);
    } else if (S_ISREG(st.st_mode)) {
      *bytes += (uint64_t)st.st_size;
    }
  }
  closedir(d);
  return rc;
}

static int lucene_index_bytes(const char *path, uint64_t *bytes, char *err) {
  *bytes = 0;
  return dir_bytes(path, bytes, err);
}

/* ---------------------------------------------------------------------- */
/* Searching                                                              */
/* ---------------------------------------------------------------------- */

typedef struct lucene_searcher {
  jvm j;
  size_t n;
  const char *const *queries;
} lucene_searcher;

static void lucene_search_close(void *p) {
  lucene_searcher *s = p;
  if (!s)
    return;
  if (s->j.to >= 0) {
    char x = 'X';
    (void)write_all(s->j.to, &x, 1);
  }
  jvm_stop(&s->j);
  free(s);
}

static int lucene_search_open(const char *path, const char *const *queries,
                              size_t nqueries, size_t limit, int match,
                              void **out, char *err) {
  *out = NULL;
  int rc = check_runtime(err);
  if (rc != PEER_OK)
    return rc;
  lucene_searcher *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, PEER_ERR_MAX, "lucene: out of memory");
    return PEER_FAIL;
  }
  s->n = nqueries;
  s->queries = queries;
  char lim[32], warm[32];
  snprintf(lim, sizeof lim, "%zu", limit);
  /* Untimed passes in the JVM: enough for about 10,000 searches, at
   * least 3, so the JIT has compiled the search path. */
  const char *w = getenv("KIDX_BENCH_LUCENE_WARMUP");
  size_t passes = nqueries ? (10000 + nqueries - 1) / nqueries : 3;
  if (passes < 3)
    passes = 3;
  if (w && w[0])
    passes = (size_t)strtoul(w, NULL, 10);
  snprintf(warm, sizeof warm, "%zu", passes);
  const char *args[] = {"search", path, lim,
                        match == PEER_MATCH_ALL ? "all" : "any", warm};
  if (jvm_start(&s->j, args, 5, err) != PEER_OK) {
    free(s);
    return PEER_FAIL;
  }
  FILE *f = fdopen(dup(s->j.to), "wb");
  if (!f) {
    snprintf(err, PEER_ERR_MAX, "lucene: fdopen: %s", strerror(errno));
    lucene_search_close(s);
    return PEER_FAIL;
  }
  unsigned char b[4];
  put_u32(b, (uint32_t)nqueries);
  int ok = fwrite(b, 1, 4, f) == 4;
  for (size_t i = 0; ok && i < nqueries; i++) {
    size_t len = strlen(queries[i]);
    put_u32(b, (uint32_t)len);
    ok = fwrite(b, 1, 4, f) == 4 && fwrite(queries[i], 1, len, f) == len;
  }
  if (fclose(f) != 0)
    ok = 0;
  if (!ok) {
    snprintf(err, PEER_ERR_MAX, "lucene: sending the queries: %s",
             errno == EPIPE ? "the JVM exited (see its messages above)"
                            : strerror(errno));
    lucene_search_close(s);
    return PEER_FAIL;
  }
  if (wait_ready(&s->j, "loading the queries", err) != PEER_OK) {
    lucene_search_close(s);
    return PEER_FAIL;
  }
  *out = s;
  return PEER_OK;
}

static int lucene_search(void *p, size_t i, size_t *hits, uint64_t *self_ns,
                         char *err) {
  lucene_searcher *s = p;
  unsigned char req[5], rep[13];
  req[0] = 'S';
  put_u32(req + 1, (uint32_t)i);
  if (write_all(s->j.to, req, sizeof req) != 0 ||
      read_all(s->j.from, rep, 1) != 0 || rep[0] != 'H' ||
      read_all(s->j.from, rep + 1, sizeof rep - 1) != 0) {
    snprintf(err, PEER_ERR_MAX,
             "lucene: query \"%.200s\": no reply from the JVM (see its "
             "messages above)",
             s->queries[i]);
    return PEER_FAIL;
  }
  *hits = get_u32(rep + 1);
  *self_ns = get_u64(rep + 5);
  return PEER_OK;
}

const bench_engine peer_lucene = {
    .name = "lucene",
    .variants = lucene_variants,
    .nvariants = 1,
    .variant_notes = lucene_variant_notes,
    .query_note = "BooleanQuery of TermQuery SHOULD (AND: MUST), "
                  "TopScoreDocCollector(10, threshold 1000); time measured "
                  "in the JVM",
    .describe = lucene_describe,
    .index_open = lucene_index_open,
    .index_add = lucene_index_add,
    .index_commit = lucene_index_commit,
    .index_close = lucene_index_close,
    .index_bytes = lucene_index_bytes,
    .search_open = lucene_search_open,
    .search = lucene_search,
    .search_close = lucene_search_close,
};
