/*
 * cmd_index.c -- kidx index: adding files and JSON Lines to the index.
 *
 * This file owns the indexing command: walking the PATH arguments
 * (skipping dot names and the index itself), reading files and splitting
 * them into title and body, the modification stamps that make re-indexing
 * incremental, --jsonl input, --prune of documents whose files are gone,
 * per-input warnings and the progress line on a terminal.
 */
#include "cli.h"

#include "jsonl.h"
#include "lines.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* The title is shown on one line with each hit; a first line longer than
 * this is cut (at a word or at least a UTF-8 boundary). */
#define TITLE_MAX 512
/* A NUL byte in this many leading bytes marks a file as binary, as git and
 * grep do: text never contains NUL, and most binary formats do early. */
#define BINARY_PROBE 8192
/* Progress redraws per second at most: more is flicker and wasted writes. */
#define PROGRESS_HZ 10.0
/* Longest JSON Lines line (one document) kidx index reads; a longer one is
 * reported and skipped.  Far above real documents, it bounds memory when a
 * file without newlines is given by mistake. */
#define JSONL_MAX_LINE ((size_t)256 << 20)

typedef struct file_entry {
  char *path;       /* the document id */
  uint64_t size;    /* from the walk: for progress, and the stamp check */
  int64_t mtime_ns; /* from the walk, for the stamp check */
} file_entry;

/* Progress on a terminal: "\r" redraws the line in place. */
typedef struct progress {
  bool enabled;         /* stderr is a terminal */
  bool shown;           /* a progress line is on screen now */
  double start, last;   /* times of the start and of the last redraw */
  size_t total_files;   /* from the walk */
  uint64_t total_bytes; /* from the walk */
} progress;

typedef struct index_run {
  const cli *c;
  file_entry *files; /* collected by the walk, in indexing order */
  size_t nfiles, cap;
  uint64_t total_bytes;
  bool have_index_id; /* the index directory exists: skip it in walks */
  dev_t index_dev;
  ino_t index_ino;
  bool prune;               /* --prune: a PATH may be gone */
  unsigned long unreadable; /* inputs that could not be read: exit 4 */
  unsigned long skipped;    /* inputs not indexed, for any reason */
  unsigned long bad_lines;  /* JSON Lines not indexed: exit 4 too */
  const char *const *jsonl; /* --jsonl inputs, read after the files */
  size_t njsonl;
  size_t docs;       /* documents added */
  uint64_t bytes;    /* their input bytes, for the summary */
  size_t docs_new;   /* of docs, those whose id was not in the index */
  size_t unchanged;  /* files left alone: same stamp, or same content */
  size_t removed;    /* documents deleted by --prune */
  int64_t racy_from; /* files modified at or after this time (ns since the
                        epoch) get a stamp that the next run does not
                        trust, see stamp_for */
  size_t done_files; /* inputs done, for progress */
  uint64_t done_bytes;
  progress prog;
  byte_buf buf; /* file contents, reused from file to file */
} index_run;

static void progress_clear(progress *p) {
  if (p->shown) {
    /* \033[K erases to the end of the line: the cursor is at column 0. */
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = false;
  }
}

/* A warning about one input; goes on indexing.  Clears the progress line
 * first so the warning does not end up glued to it. */
static void warn(index_run *run, const char *fmt, ...) CLI_PRINTF(2, 3);
static void warn(index_run *run, const char *fmt, ...) {
  va_list ap;
  progress_clear(&run->prog);
  va_start(ap, fmt);
  cli_vmessage("kidx: warning: ", fmt, ap);
  va_end(ap);
}

static void progress_draw(progress *p, size_t files, uint64_t bytes,
                          bool force) {
  double t = cli_now_seconds();
  if (!p->enabled || (!force && t - p->last < 1.0 / PROGRESS_HZ))
    return;
  p->last = t;
  double secs = t - p->start, mb = (double)bytes / 1e6;
  double rate = secs > 0 ? mb / secs : 0;
  char eta[32] = "--:--";
  if (rate > 0 && bytes > 0 && p->total_bytes >= bytes) {
    double left = ((double)(p->total_bytes - bytes) / 1e6) / rate;
    if (left < 360000)
      snprintf(eta, sizeof eta, "%d:%02d", (int)left / 60, (int)left % 60);
  }
  fprintf(stderr,
          "\rindexing: %zu/%zu files, %.1f/%.1f MB, %.1f MB/s, ETA %s\033[K",
          files, p->total_files, mb, (double)p->total_bytes / 1e6, rate, eta);
  fflush(stderr);
  p->shown = true;
}

static bool is_dot_name(const char *name) {
  return name[0] == '.';
}

/* "dir" + "name" -> "dir/name", without doubling a slash the user typed
 * ("corpus/" gives ids "corpus/x.txt", not "corpus//x.txt"). */
static char *join_path(const char *dir, const char *name) {
  size_t dl = strlen(dir), nl = strlen(name);
  bool slash = dl > 0 && dir[dl - 1] == '/';
  char *p = malloc(dl + nl + 2);
  if (p)
    snprintf(p, dl + nl + 2, "%s%s%s", dir, slash ? "" : "/", name);
  return p;
}

/* A file's modification time in ns since the epoch, as stamps hold it. */
static int64_t mtime_ns(const struct stat *st) {
  int64_t sec = (int64_t)st->st_mtim.tv_sec;
  /* Beyond +-292 years the product overflows; such dates are bogus and
   * only need to compare equal to themselves. */
  if (sec > INT64_MAX / 1000000000 - 1)
    sec = INT64_MAX / 1000000000 - 1;
  if (sec < INT64_MIN / 1000000000 + 1)
    sec = INT64_MIN / 1000000000 + 1;
  return sec * 1000000000 + (int64_t)st->st_mtim.tv_nsec;
}

static bool add_file(index_run *run, const char *path, const struct stat *st) {
  uint64_t size = (uint64_t)st->st_size;
  if (run->nfiles == run->cap) {
    size_t cap = run->cap ? run->cap * 2 : 64;
    file_entry *f = realloc(run->files, cap * sizeof *f);
    if (!f)
      return false;
    run->files = f;
    run->cap = cap;
  }
  char *copy = strdup(path);
  if (!copy)
    return false;
  run->files[run->nfiles].path = copy;
  run->files[run->nfiles].size = size;
  run->files[run->nfiles].mtime_ns = mtime_ns(st);
  run->nfiles++;
  run->total_bytes += size;
  return true;
}

static bool is_index_dir(const index_run *run, const struct stat *st) {
  return run->have_index_id && st->st_dev == run->index_dev &&
         st->st_ino == run->index_ino;
}

static int cmp_names(const void *a, const void *b) {
  const char *const *x = a, *const *y = b;
  return strcmp(*x, *y); /* bytewise: the same order in every locale */
}

static bool walk_dir(index_run *run, const char *dir);

/* Files one directory entry: path was found by walking, not given by the
 * user. */
static bool walk_entry(index_run *run, const char *path, const char *name) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    warn(run, "cannot read %s: %s", path, strerror(errno));
    run->unreadable++;
    run->skipped++;
    return true;
  }
  if (S_ISLNK(st.st_mode)) {
    if (stat(path, &st) != 0) { /* dangling link */
      warn(run, "cannot read %s: %s", path, strerror(errno));
      run->unreadable++;
      run->skipped++;
      return true;
    }
    /* A linked directory may link back up the tree; not following them
     * is simpler and more predictable than detecting loops. */
    if (S_ISDIR(st.st_mode)) {
      warn(run, "not following symbolic link to directory %s", path);
      return true;
    }
  }
  if (S_ISDIR(st.st_mode)) {
    /* Hidden directories (.git, .kidx) hold tool data, not documents. */
    if (is_dot_name(name) || is_index_dir(run, &st))
      return true;
    return walk_dir(run, path);
  }
  if (is_dot_name(name))
    return true;
  if (!S_ISREG(st.st_mode)) {
    warn(run, "skipping %s: not a regular file", path);
    run->skipped++;
    return true;
  }
  return add_file(run, path, &st);
}

/* Collects the files under dir in sorted order, so that ids are added in
 * the same order on every run and machine.  Returns false only when out of
 * memory. */
static bool walk_dir(index_run *run, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    warn(run, "cannot read %s: %s", dir, strerror(errno));
    run->unreadable++;
    run->skipped++;
    return true;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  bool ok = true;
  struct dirent *e;
  errno = 0;
  while (ok && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **grown = realloc(names, cap * sizeof *names);
      ok = grown != NULL;
      if (ok)
        names = grown;
    }
    if (ok && (names[n] = strdup(e->d_name)) != NULL)
      n++;
    else
      ok = false;
    errno = 0;
  }
  if (ok && errno != 0) {
    warn(run, "cannot read %s: %s", dir, strerror(errno));
    run->unreadable++;
    run->skipped++;
  }
  closedir(d);
  if (ok && n > 1)
    qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n; i++) {
    if (ok) {
      char *path = join_path(dir, names[i]);
      ok = path && walk_entry(run, path, names[i]);
      free(path);
    }
    free(names[i]);
  }
  free(names);
  return ok;
}

/* Files one PATH argument, whose existence was checked already.  Unlike
 * entries met while walking, an argument is taken even if it is hidden or
 * a symbolic link: the user named it. */
static bool walk_argument(index_run *run, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) { /* vanished since it was checked */
    /* With --prune, a PATH that is gone is only pruned under. */
    if (run->prune && (errno == ENOENT || errno == ENOTDIR))
      return true;
    warn(run, "cannot read %s: %s", path, strerror(errno));
    run->unreadable++;
    run->skipped++;
    return true;
  }
  if (S_ISDIR(st.st_mode)) {
    if (is_index_dir(run, &st)) {
      warn(run, "skipping %s: it is the index directory", path);
      return true;
    }
    return walk_dir(run, path);
  }
  if (!S_ISREG(st.st_mode)) {
    warn(run, "skipping %s: not a regular file", path);
    run->skipped++;
    return true;
  }
  return add_file(run, path, &st);
}

typedef enum read_result {
  READ_OK,
  READ_BINARY,
  READ_NOT_REGULAR,
  READ_ERROR /* errno value in *err */
} read_result;

/* Reads a whole file into buf, and its status at open into *st.  Stops
 * early on a binary file, so a large image or archive in a tree costs one
 * 8 KiB read. */
static read_result read_input(const char *path, byte_buf *buf, int *err,
                              struct stat *st_out) {
  /* O_NONBLOCK: if a file was replaced by a FIFO since the walk, open()
   * must not hang; on regular files it changes nothing. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return READ_ERROR;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *err = errno;
    close(fd);
    return READ_ERROR;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return READ_NOT_REGULAR;
  }
  *st_out = st;
  read_result res = READ_OK;
  bool probed = false;
  /* One spare byte, so a file that did not grow ends with one read()
   * returning 0 and no reallocation. */
  size_t want = st.st_size >= 0 && (uintmax_t)st.st_size < SIZE_MAX / 2
                    ? (size_t)st.st_size + 1
                    : 1;
  buf->n = 0;
  for (;;) {
    if (buf->n == buf->cap || buf->cap < want) {
      size_t cap = buf->cap < want ? want : buf->cap * 2;
      char *p = cap > buf->cap ? realloc(buf->p, cap) : NULL;
      if (!p) {
        *err = ENOMEM;
        res = READ_ERROR;
        break;
      }
      buf->p = p;
      buf->cap = cap;
    }
    ssize_t got = read(fd, buf->p + buf->n, buf->cap - buf->n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      *err = errno;
      res = READ_ERROR;
      break;
    }
    if (got == 0)
      break;
    buf->n += (size_t)got;
    if (!probed && buf->n >= BINARY_PROBE) {
      probed = true;
      if (memchr(buf->p, '\0', BINARY_PROBE)) {
        res = READ_BINARY;
        break;
      }
    }
  }
  close(fd);
  if (res == READ_OK && !probed && buf->n > 0 && memchr(buf->p, '\0', buf->n))
    res = READ_BINARY;
  return res;
}

/* Splits a text file into title (its first non-empty line, trimmed, at
 * most TITLE_MAX bytes) and body (everything after the title).  When the
 * line is too long, the title is cut at the last space before the limit
 * (else at a UTF-8 character boundary) and the body starts right after the
 * cut, so every word of the file stays searchable. */
static void split_document(const char *text, size_t len, const char **title,
                           size_t *title_len, const char **body,
                           size_t *body_len) {
  size_t pos = 0;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    pos = 3; /* UTF-8 byte order mark, written by some editors */
  *title = text + pos;
  *title_len = 0;
  while (pos < len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len, next = nl ? end + 1 : len;
    size_t a = pos, b = end;
    while (a < b && cli_is_space((unsigned char)text[a]))
      a++;
    while (b > a && cli_is_space((unsigned char)text[b - 1]))
      b--;
    pos = next;
    if (a == b)
      continue;
    if (b - a > TITLE_MAX) {
      size_t cut = a + TITLE_MAX;
      while (cut > a && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--; /* do not split a UTF-8 sequence */
      size_t space = cut;
      while (space > a && !cli_is_space((unsigned char)text[space]))
        space--;
      if (space > a)
        cut = space;
      b = cut;
      pos = cut;
      while (b > a && cli_is_space((unsigned char)text[b - 1]))
        b--;
    }
    *title = text + a;
    *title_len = b - a;
    break;
  }
  *body = text + pos;
  *body_len = len - pos;
}

/* Stamp mtime of a file modified too recently to be trusted: no real
 * time is this, so it never matches and the next run reads the file. */
#define RACY_MTIME INT64_MIN
/* How recent "too recent" is.  A file rewritten within the same tick of
 * its file system's clock as the version we read keeps its size and mtime
 * (git's "racily clean" problem): ticks are a few ms on Linux, 1 s on
 * ext3 and HFS+, 2 s on FAT.  A file modified less than this before the
 * run started is stamped RACY_MTIME, so the next run compares its content
 * hash instead of trusting its mtime. */
#define RACY_WINDOW_NS ((int64_t)2000000000)

static int64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

/* The stamp of content[0..len) read from a file whose status at open was
 * st. */
static kidx_stamp stamp_for(const index_run *run, const struct stat *st,
                            const char *content, size_t len) {
  kidx_stamp s;
  s.size = (uint64_t)st->st_size;
  s.mtime_ns = mtime_ns(st);
  if (s.mtime_ns >= run->racy_from)
    s.mtime_ns = RACY_MTIME;
  s.hash = kidx_stamp_hash(content, len);
  return s;
}

static bool same_stamp(const kidx_stamp *a, const kidx_stamp *b) {
  return a->size == b->size && a->mtime_ns == b->mtime_ns && a->hash == b->hash;
}

/* Looks up the stamp of the document with this id: 1 (and *out) if there
 * is one, 0 if not, or a fatal status (< 0) after reporting it. */
static int lookup_stamp(index_run *run, kidx_writer *w, const char *id,
                        size_t id_len, kidx_stamp *out) {
  kidx_status st = kidx_writer_stamp(w, id, id_len, out);
  if (st == KIDX_OK)
    return 1;
  if (st == KIDX_ENOTFOUND)
    return 0;
  progress_clear(&run->prog);
  cli_fail(ST_INDEX, "cannot index into %s: %s", run->c->index_dir,
           cli_lib_message(kidx_writer_errmsg(w), st));
  return -1;
}

/* Indexes one file, if it changed since it was indexed.  Unchanged means
 * the same size and mtime as the stamp stored with its document (then the
 * file is not even opened), or, when those differ, the same content hash
 * (a file touched or copied: only the stamp is updated).  Returns ST_OK,
 * or a fatal status (the library ran out of memory or failed otherwise
 * than on this one document). */
static int index_one(index_run *run, kidx_writer *w, const file_entry *f) {
  size_t id_len = strlen(f->path);
  kidx_stamp old;
  int found = lookup_stamp(run, w, f->path, id_len, &old);
  if (found < 0)
    return ST_INDEX;
  /* An all-zero stamp is "none" (a document from --jsonl, or indexed
   * before stamps existed): the file is read and indexed again. */
  bool trusted =
      found && !(old.size == 0 && old.mtime_ns == 0 && old.hash == 0);
  if (trusted && old.size == f->size && old.mtime_ns == f->mtime_ns &&
      old.mtime_ns != RACY_MTIME) {
    run->unchanged++;
    return ST_OK;
  }
  int err = 0;
  struct stat st;
  switch (read_input(f->path, &run->buf, &err, &st)) {
  case READ_OK:
    break;
  case READ_BINARY:
    warn(run, "skipping binary file %s", f->path);
    run->skipped++;
    return ST_OK;
  case READ_NOT_REGULAR:
    warn(run, "skipping %s: not a regular file", f->path);
    run->skipped++;
    return ST_OK;
  case READ_ERROR:
    warn(run, "cannot read %s: %s", f->path, strerror(err));
    run->unreadable++;
    run->skipped++;
    return ST_OK;
  }
  kidx_stamp now = stamp_for(run, &st, run->buf.p, run->buf.n);
  kidx_status ks;
  if (trusted && old.hash == now.hash && old.size == now.size) {
    run->unchanged++;
    if (same_stamp(&old, &now))
      return ST_OK;
    ks = kidx_writer_restamp(w, f->path, id_len, &now);
  } else {
    const char *title, *body;
    size_t title_len, body_len;
    split_document(run->buf.p, run->buf.n, &title, &title_len, &body,
                   &body_len);
    ks = kidx_writer_add_stamped(w, f->path, id_len, title, title_len, body,
                                 body_len, &now);
    if (ks == KIDX_EINVAL || ks == KIDX_ETOOBIG) {
      /* This document only (an over-long path, a huge file): keep going. */
      warn(run, "cannot index %s: %s", f->path,
           cli_lib_message(kidx_writer_errmsg(w), ks));
      run->unreadable++;
      run->skipped++;
      return ST_OK;
    }
    if (ks == KIDX_OK) {
      run->docs++;
      run->docs_new += !found;
      run->bytes += run->buf.n;
    }
  }
  if (ks != KIDX_OK) {
    progress_clear(&run->prog);
    return cli_fail(ST_INDEX, "cannot index %s into %s: %s", f->path,
                    run->c->index_dir,
                    cli_lib_message(kidx_writer_errmsg(w), ks));
  }
  return ST_OK;
}

static int cmp_files(const void *a, const void *b) {
  const file_entry *x = a, *y = b;
  return strcmp(x->path, y->path);
}

/* Sorts the file list by path and drops repeats, so that "kidx index
 * corpus corpus/x.txt" reads x.txt once and the summary counts documents,
 * not mentions.  Sorted order is as deterministic as walk order. */
static void dedupe_files(index_run *run) {
  size_t out = 0;
  if (run->nfiles > 1)
    qsort(run->files, run->nfiles, sizeof *run->files, cmp_files);
  for (size_t i = 0; i < run->nfiles; i++) {
    if (out > 0 && strcmp(run->files[out - 1].path, run->files[i].path) == 0) {
      run->total_bytes -= run->files[i].size;
      free(run->files[i].path);
    } else {
      run->files[out++] = run->files[i];
    }
  }
  run->nfiles = out;
}

static void free_run(index_run *run) {
  for (size_t i = 0; i < run->nfiles; i++)
    free(run->files[i].path);
  free(run->files);
  free(run->buf.p);
}

/* A bad line of a --jsonl input: "kidx: FILE:LINE: what", compiler
 * style, so editors can jump to it.  The line is skipped, the run goes on
 * and ends with exit status 4. */
static void line_error(index_run *run, const char *name, uint64_t lineno,
                       const char *fmt, ...) CLI_PRINTF(4, 5);
static void line_error(index_run *run, const char *name, uint64_t lineno,
                       const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  progress_clear(&run->prog);
  cli_fail(ST_INPUT, "%s:%" PRIu64 ": %s", name, lineno, what);
  run->bad_lines++;
}

/* Adds the documents of one --jsonl input (see jsonl.h), line by line, so
 * memory holds one line at a time however big the input.  Returns ST_OK,
 * or a fatal status (the library failed otherwise than on one
 * document). */
static int index_jsonl(index_run *run, kidx_writer *w, const char *path) {
  bool std_in = strcmp(path, "-") == 0;
  const char *name = std_in ? "<stdin>" : path;
  int fd = std_in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { /* checked before the run: it vanished since */
    warn(run, "cannot read %s: %s", name, strerror(errno));
    run->unreadable++;
    return ST_OK;
  }
  line_reader lr;
  line_reader_init(&lr, fd, JSONL_MAX_LINE);
  int rc = ST_OK;
  for (;;) {
    char *line;
    size_t len;
    int err = 0;
    line_status ls = line_reader_next(&lr, &line, &len, &err);
    if (ls == LINE_EOF)
      break;
    if (ls == LINE_ERROR) {
      /* What was read so far is kept, as for files. */
      warn(run, "cannot read %s: %s", name, strerror(err));
      run->unreadable++;
      break;
    }
    if (ls == LINE_TOO_LONG) {
      line_error(run, name, lr.lineno, "line longer than %zu MiB",
                 JSONL_MAX_LINE >> 20);
      continue;
    }
    if (jsonl_blank(line, len))
      continue;
    jsonl_doc d;
    char what[256];
    if (!jsonl_parse(line, len, &d, what, sizeof what)) {
      line_error(run, name, lr.lineno, "%s", what);
      continue;
    }
    kidx_stamp old;
    int found = d.id_len > 0 ? lookup_stamp(run, w, d.id, d.id_len, &old) : 0;
    if (found < 0) {
      rc = ST_INDEX;
      break;
    }
    kidx_status st = kidx_writer_add(w, d.id, d.id_len, d.title, d.title_len,
                                     d.body, d.body_len);
    if (st == KIDX_EINVAL || st == KIDX_ETOOBIG) {
      line_error(run, name, lr.lineno, "cannot index: %s",
                 cli_lib_message(kidx_writer_errmsg(w), st));
      continue;
    }
    if (st != KIDX_OK) {
      progress_clear(&run->prog);
      rc = cli_fail(ST_INDEX, "cannot index %s:%" PRIu64 " into %s: %s", name,
                    lr.lineno, run->c->index_dir,
                    cli_lib_message(kidx_writer_errmsg(w), st));
      break;
    }
    run->docs++;
    run->docs_new += !found;
    run->bytes += len;
    progress_draw(&run->prog, run->done_files, run->done_bytes + lr.bytes,
                  false);
  }
  run->done_files++;
  run->done_bytes += lr.bytes;
  line_reader_free(&lr);
  if (!std_in)
    close(fd);
  return rc;
}

/* --prune: the documents whose ids lie under one of the PATH arguments,
 * collected by kidx_writer_foreach (which does not allow changes while it
 * runs) and then deleted if their file is gone. */
typedef struct prune_list {
  char *const *paths; /* the PATH arguments */
  int npaths;
  char **ids; /* NUL-terminated copies */
  size_t n, cap;
  bool nomem;
} prune_list;

/* Whether id names path or something under it.  Ids of walked files are
 * the argument joined with "/" unless it ends in one (see join_path), so
 * "corpus" and "corpus/" both cover "corpus/x.txt", and "corpus" does not
 * cover "corpus2/x.txt". */
static bool id_under(const char *id, size_t id_len, const char *path) {
  size_t n = strlen(path);
  if (n == 0 || id_len < n || memcmp(id, path, n) != 0)
    return false;
  return id_len == n || path[n - 1] == '/' || id[n] == '/';
}

static int collect_prunable(void *ctx, const char *id, size_t id_len,
                            const kidx_stamp *stamp) {
  prune_list *l = ctx;
  (void)stamp;
  /* An id with a NUL byte (possible from JSON Lines) is no path. */
  if (memchr(id, '\0', id_len))
    return 0;
  bool under = false;
  for (int i = 0; i < l->npaths && !under; i++)
    under = id_under(id, id_len, l->paths[i]);
  if (!under)
    return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    char **grown = realloc(l->ids, cap * sizeof *grown);
    if (!grown) {
      l->nomem = true;
      return 1;
    }
    l->ids = grown;
    l->cap = cap;
  }
  char *copy = malloc(id_len + 1);
  if (!copy) {
    l->nomem = true;
    return 1;
  }
  memcpy(copy, id, id_len);
  copy[id_len] = '\0';
  l->ids[l->n++] = copy;
  return 0;
}

static int cmp_file_path(const void *key, const void *elem) {
  const file_entry *f = elem;
  return strcmp(key, f->path);
}

/* Deletes the documents under the PATH arguments whose files no longer
 * exist.  A file found by this run's walk exists; others are looked up
 * with stat(), and only "no such file" removes a document: a file that
 * cannot be checked (permissions) keeps it. */
static int prune_missing(index_run *run, kidx_writer *w, char *const *paths,
                         int npaths) {
  prune_list l = {paths, npaths, NULL, 0, 0, false};
  kidx_status st = kidx_writer_foreach(w, collect_prunable, &l);
  int rc = ST_OK;
  if (st != KIDX_OK)
    rc = cli_fail(ST_INDEX, "cannot read index at %s: %s", run->c->index_dir,
                  cli_lib_message(kidx_writer_errmsg(w), st));
  else if (l.nomem)
    rc =
        cli_fail(ST_INDEX, "out of memory while pruning %s", run->c->index_dir);
  for (size_t i = 0; i < l.n && rc == ST_OK; i++) {
    struct stat sb;
    /* run->files is sorted by path (dedupe_files). */
    if (run->nfiles > 0 && bsearch(l.ids[i], run->files, run->nfiles,
                                   sizeof *run->files, cmp_file_path) != NULL)
      continue;
    if (stat(l.ids[i], &sb) == 0 || (errno != ENOENT && errno != ENOTDIR))
      continue;
    st = kidx_writer_delete(w, l.ids[i], strlen(l.ids[i]));
    if (st == KIDX_OK)
      run->removed++;
    else
      rc = cli_fail(ST_INDEX, "cannot delete %s from %s: %s", l.ids[i],
                    run->c->index_dir,
                    cli_lib_message(kidx_writer_errmsg(w), st));
  }
  for (size_t i = 0; i < l.n; i++)
    free(l.ids[i]);
  free(l.ids);
  return rc;
}

/* Adds the collected files that changed, then the --jsonl inputs in the
 * order given (so on an id given twice the last one read wins), prunes if
 * asked to, and commits once, if anything changed.  Memory stays bounded
 * without intermediate commits: the writer writes the batch out as a new
 * segment whenever it outgrows the RAM budget, and a commit only writes
 * the segments that are new.  The whole run is still one commit because
 * an interrupted run must change nothing: the segments it wrote are
 * listed nowhere until that commit, and the next writer removes them. */
static int index_files(index_run *run, kidx_writer *w, const cli_args *a) {
  double start = cli_now_seconds();
  run->prog.start = run->prog.last = start;
  run->prog.total_files = run->nfiles + run->njsonl;
  run->prog.total_bytes = run->total_bytes;
  for (size_t i = 0; i < run->nfiles; i++) {
    int rc = index_one(run, w, &run->files[i]);
    if (rc != ST_OK)
      return rc;
    run->done_bytes += run->files[i].size;
    progress_draw(&run->prog, ++run->done_files, run->done_bytes, false);
  }
  for (size_t i = 0; i < run->njsonl; i++) {
    int rc = index_jsonl(run, w, run->jsonl[i]);
    if (rc != ST_OK)
      return rc;
  }
  if (a->prune) {
    int rc = prune_missing(run, w, a->pos, a->npos);
    if (rc != ST_OK)
      return rc;
  }
  if (run->prog.shown) {
    progress_clear(&run->prog);
    fputs("committing...", stderr);
    fflush(stderr);
    run->prog.shown = true;
  }
  /* Without changes this writes nothing (unless there was no index yet:
   * then an empty one), so an unchanged corpus leaves the index file as
   * it was. */
  kidx_status st = kidx_writer_commit(w);
  progress_clear(&run->prog);
  if (st != KIDX_OK)
    return cli_fail(ST_INDEX, "cannot write index at %s: %s", run->c->index_dir,
                    cli_lib_message(kidx_writer_errmsg(w), st));

  double secs = cli_now_seconds() - start;
  char size[32];
  cli_format_size(size, sizeof size, run->bytes);
  printf("indexed %zu document%s (%s) in %.2f s, %.1f MB/s: %zu new, %zu "
         "changed, %zu unchanged, %zu removed",
         run->docs, run->docs == 1 ? "" : "s", size, secs,
         (double)run->bytes / 1e6 / (secs > 1e-6 ? secs : 1e-6), run->docs_new,
         run->docs - run->docs_new, run->unchanged, run->removed);
  if (run->skipped || run->bad_lines)
    fputs(", skipped ", stdout);
  if (run->skipped)
    printf("%lu file%s", run->skipped, run->skipped == 1 ? "" : "s");
  if (run->skipped && run->bad_lines)
    fputs(" and ", stdout);
  if (run->bad_lines)
    printf("%lu line%s", run->bad_lines, run->bad_lines == 1 ? "" : "s");
  putchar('\n');
  return run->unreadable || run->bad_lines ? ST_INPUT : ST_OK;
}

/* The analysis to ask the writer for: the existing index's own, or the
 * defaults for a new index, with the options given on top; a mismatch
 * with an existing index is refused here.  The writer would refuse it too,
 * but checking first speaks in the options the user typed and fails
 * before the walk.  Opening a reader verifies the index's checksums, a
 * cost paid only when analysis options are given. */
static int index_analyzer(const cli *c, const analyzer_opts *o,
                          kidx_analyzer *out) {
  kidx_analyzer_init(out);
  kidx_reader *r = NULL;
  if (kidx_reader_new(&r) != KIDX_OK)
    return cli_fail(ST_INDEX, "cannot open index at %s: %s", c->index_dir,
                    kidx_strerror(KIDX_ENOMEM));
  kidx_analyzer have;
  int rc = ST_OK;
  bool exists = kidx_reader_open(r, c->index_dir) == KIDX_OK;
  /* Other failures than "no index" (a damaged index, say) are left to the
   * writer, which reports them as it does without analysis options. */
  if (exists)
    rc = cli_read_index_analyzer(c, r, &have);
  kidx_reader_close(r);
  if (rc != ST_OK || !exists) {
    cli_apply_analyzer_opts(o, out);
    return rc;
  }
  *out = have;
  cli_apply_analyzer_opts(o, out);
  char was[160], asked[160];
  cli_analyzer_diff(&have, out, was, asked, sizeof was);
  if (was[0] != '\0')
    return cli_fail(
        ST_USAGE,
        "index at %s was created with %s; it cannot be changed to %s "
        "(delete the index to rebuild it)",
        c->index_dir, was, asked);
  return ST_OK;
}

/* Checks a --jsonl FILE before the run, as PATH arguments are checked;
 * adds its size to *bytes for the progress display. */
static int check_jsonl(const char *path, uint64_t *bytes) {
  struct stat st;
  if (strcmp(path, "-") == 0)
    return ST_OK;
  if (stat(path, &st) != 0)
    return cli_fail(ST_USAGE, "cannot read %s: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode))
    return cli_fail(ST_USAGE, "cannot read %s: %s", path, strerror(EISDIR));
  if (S_ISREG(st.st_mode))
    *bytes += (uint64_t)st.st_size;
  return ST_OK;
}

int cli_cmd_index(const cli *c, const cli_args *a) {
  if (a->npos == 0 && a->njsonl == 0)
    return cli_fail(ST_USAGE, "index needs at least one PATH or --jsonl FILE "
                              "(see 'kidx index --help')");
  if (a->prune && a->npos == 0)
    return cli_fail(ST_USAGE, "--prune needs at least one PATH to prune under "
                              "(see 'kidx index --help')");
  /* Check every argument before touching the index, so that a typo does
   * not leave a half-done run (or a new empty index) behind. */
  for (int i = 0; i < a->npos; i++) {
    /* "t2//" is "t2/": ids are the same however many slashes are typed
     * (join_path does not double the one that remains). */
    char *p = a->pos[i];
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/' && p[n - 2] == '/')
      p[--n] = '\0';
    struct stat st;
    /* With --prune, a PATH that no longer exists is fine: the documents
     * under it are removed. */
    if (stat(p, &st) != 0 &&
        !(a->prune && (errno == ENOENT || errno == ENOTDIR)))
      return cli_fail(ST_USAGE, "cannot read %s: %s", p, strerror(errno));
  }
  uint64_t jsonl_bytes = 0;
  for (size_t i = 0; i < a->njsonl; i++) {
    int rc = check_jsonl(a->jsonl[i], &jsonl_bytes);
    if (rc != ST_OK)
      return rc;
  }
  kidx_analyzer an;
  bool set_analyzer = cli_have_analyzer_opts(&a->an);
  if (set_analyzer) {
    int rc = index_analyzer(c, &a->an, &an);
    if (rc != ST_OK)
      return rc;
  }
  /* The lock first: the walk then sees the files as they are when this
   * run owns the index, however long --wait waited. */
  kidx_writer *w;
  int rc = cli_open_writer(c, set_analyzer ? &an : NULL, a, &w);
  if (rc != ST_OK)
    return rc;
  index_run run;
  memset(&run, 0, sizeof run);
  run.c = c;
  run.jsonl = a->jsonl;
  run.njsonl = a->njsonl;
  run.prune = a->prune;
  run.prog.enabled = isatty(STDERR_FILENO) == 1;
  run.racy_from = realtime_ns() - RACY_WINDOW_NS;
  struct stat ist;
  if (stat(c->index_dir, &ist) == 0) {
    run.have_index_id = true;
    run.index_dev = ist.st_dev;
    run.index_ino = ist.st_ino;
  }
  /* First pass: the list of files and their total size, which gives the
   * progress display its ETA and fixes the order of the run. */
  for (int i = 0; i < a->npos && rc == ST_OK; i++)
    if (!walk_argument(&run, a->pos[i]))
      rc = cli_fail(ST_INDEX, "out of memory while listing %s", a->pos[i]);
  if (rc == ST_OK) {
    dedupe_files(&run);
    run.total_bytes += jsonl_bytes;
    rc = index_files(&run, w, a);
  }
  kidx_writer_close(w); /* without a commit, discards everything */
  free_run(&run);
  return rc;
}
