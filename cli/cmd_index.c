/*
 * cmd_index.c -- kidx index: the command's orchestration.
 *
 * This file owns the run: checking the arguments before the index is
 * touched, opening the writer, listing the files (walk.c), indexing those
 * that changed (stamps.c decides, textfile.c reads), the --jsonl inputs
 * (index_jsonl.c), --prune of documents whose files are gone, the single
 * commit and the summary.
 */
#include "cmd_index.h"

#include "stamps.h"
#include "textfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fatal failure of the writer while indexing: reported, ST_INDEX. */
static int index_failed(index_run *run, kidx_writer *w, const char *path,
                        kidx_status st) {
  progress_clear(&run->rep.prog);
  if (!path)
    return cli_fail(ST_INDEX, "cannot index into %s: %s", run->c->index_dir,
                    cli_lib_message(kidx_writer_errmsg(w), st));
  return cli_fail(ST_INDEX, "cannot index %s into %s: %s", path,
                  run->c->index_dir,
                  cli_lib_message(kidx_writer_errmsg(w), st));
}

/* Indexes one file, if it changed since it was indexed.  Unchanged means
 * the same size and mtime as the stamp stored with its document (then the
 * file is not even opened), or, when those differ, the same content hash
 * (a file touched or copied: only the stamp is updated).  Returns ST_OK,
 * or a fatal status (the library ran out of memory or failed otherwise
 * than on this one document). */
static int index_one(index_run *run, kidx_writer *w, const walk_file *f) {
  size_t id_len = strlen(f->path);
  kidx_stamp old;
  int found = stamp_lookup(w, f->path, id_len, &old);
  if (found < 0)
    return index_failed(run, w, NULL, (kidx_status)found);
  if (found && stamp_unchanged(&old, f->size, f->mtime_ns)) {
    run->unchanged++;
    return ST_OK;
  }
  int err = 0;
  struct stat st;
  switch (textfile_read(f->path, &run->buf, &err, &st)) {
  case READ_OK:
    break;
  case READ_BINARY:
    report_warn(&run->rep, WARN_BINARY, "skipping binary file %s", f->path);
    run->rep.skipped++;
    return ST_OK;
  case READ_NOT_REGULAR:
    report_warn(&run->rep, WARN_NOT_REGULAR, "skipping %s: not a regular file",
                f->path);
    run->rep.skipped++;
    return ST_OK;
  case READ_ERROR:
    report_warn(&run->rep, WARN_UNREADABLE, "cannot read %s: %s", f->path,
                strerror(err));
    run->rep.unreadable++;
    run->rep.skipped++;
    return ST_OK;
  }
  kidx_stamp now = stamp_for(run->racy_from, &st, run->buf.p, run->buf.n);
  kidx_status ks;
  if (found && stamp_same_content(&old, &now)) {
    run->unchanged++;
    if (stamp_equal(&old, &now))
      return ST_OK;
    ks = kidx_writer_restamp(w, f->path, id_len, &now);
  } else {
    const char *title, *body;
    size_t title_len, body_len;
    textfile_split(run->buf.p, run->buf.n, &title, &title_len, &body,
                   &body_len);
    ks = kidx_writer_add_stamped(w, f->path, id_len, title, title_len, body,
                                 body_len, &now);
    if (ks == KIDX_EINVAL || ks == KIDX_ETOOBIG) {
      /* This document only (an over-long path, a huge file): keep going. */
      report_warn(&run->rep, WARN_CANNOT_INDEX, "cannot index %s: %s", f->path,
                  cli_lib_message(kidx_writer_errmsg(w), ks));
      run->rep.unreadable++;
      run->rep.skipped++;
      return ST_OK;
    }
    if (ks == KIDX_OK) {
      run->docs++;
      run->docs_new += !found;
      run->bytes += run->buf.n;
    }
  }
  if (ks != KIDX_OK)
    return index_failed(run, w, f->path, ks);
  return ST_OK;
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
 * the argument joined with "/" unless it ends in one (see walk.c), so
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
    if (walk_find(&run->files, l.ids[i]))
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

/* A run that had inputs but indexed nothing from them -- no document new,
 * changed or unchanged, and something passed over -- says so plainly:
 * "nothing indexed: all 18,037 files under man1 were skipped (binary or
 * compressed: 18,037)".  The summary line alone ("indexed 0 documents")
 * is easy to take for success when a tree held only compressed files.
 * Returns whether it was so. */
static bool nothing_indexed(const index_run *run, const cli_args *a) {
  /* Bad JSON lines alone do not count: each was reported as an error. */
  if (run->docs > 0 || run->unchanged > 0 || !report_any(&run->rep))
    return false;
  char what[256] = "", n[32], why[512] = "";
  size_t len = 0;
  if (run->rep.skipped > 0) {
    cli_format_count(n, sizeof n, run->rep.skipped);
    len += (size_t)snprintf(what, sizeof what, "%s file%s", n,
                            run->rep.skipped == 1 ? "" : "s");
  }
  if (run->bad_lines > 0 && len < sizeof what) {
    cli_format_count(n, sizeof n, run->bad_lines);
    snprintf(what + len, sizeof what - len, "%s%s JSON line%s",
             len ? " and " : "", n, run->bad_lines == 1 ? "" : "s");
  }
  report_breakdown(&run->rep, why, sizeof why);
  if (run->bad_lines > 0) {
    size_t wl = strlen(why);
    cli_format_count(n, sizeof n, run->bad_lines);
    snprintf(why + wl, sizeof why - wl, "%sbad JSON lines: %s", wl ? ", " : "",
             n);
  }
  bool one = run->rep.skipped + run->bad_lines == 1;
  char where[64] = "";
  if (a->npos > 1)
    snprintf(where, sizeof where, " under the %d PATHs given", a->npos);
  if (what[0] == '\0')
    cli_fail(ST_NOTHING, "nothing indexed: no file%s%s could be indexed (%s)",
             a->npos == 1 ? " under " : "", a->npos == 1 ? a->pos[0] : where,
             why);
  else
    cli_fail(ST_NOTHING, "nothing indexed: %s%s%s%s %s skipped (%s)",
             one ? "" : "all ", what, a->npos == 1 ? " under " : "",
             a->npos == 1 ? a->pos[0] : where, one ? "was" : "were", why);
  return true;
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
  progress *prog = &run->rep.prog;
  prog->start = prog->last = start;
  prog->total_files = run->files.nfiles + run->njsonl;
  for (size_t i = 0; i < run->files.nfiles; i++) {
    int rc = index_one(run, w, &run->files.files[i]);
    if (rc != ST_OK)
      return rc;
    run->done_bytes += run->files.files[i].size;
    progress_draw(prog, ++run->done_files, run->done_bytes, false);
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
  if (prog->shown) {
    progress_clear(prog);
    fputs("committing...", stderr);
    fflush(stderr);
    prog->shown = true;
  }
  /* Without changes this writes nothing (unless there was no index yet:
   * then an empty one), so an unchanged corpus leaves the index file as
   * it was. */
  kidx_status st = kidx_writer_commit(w);
  progress_clear(prog);
  if (st != KIDX_OK)
    return cli_fail(ST_INDEX, "cannot write index at %s: %s", run->c->index_dir,
                    cli_lib_message(kidx_writer_errmsg(w), st));

  report_summary(&run->rep);
  double secs = cli_now_seconds() - start;
  char size[32];
  cli_format_size(size, sizeof size, run->bytes);
  printf("indexed %zu document%s (%s) in %.2f s, %.1f MB/s: %zu new, %zu "
         "changed, %zu unchanged, %zu removed",
         run->docs, run->docs == 1 ? "" : "s", size, secs,
         (double)run->bytes / 1e6 / (secs > 1e-6 ? secs : 1e-6), run->docs_new,
         run->docs - run->docs_new, run->unchanged, run->removed);
  unsigned long skipped = run->rep.skipped;
  if (skipped || run->bad_lines)
    fputs(", skipped ", stdout);
  if (skipped)
    printf("%lu file%s", skipped, skipped == 1 ? "" : "s");
  if (skipped && run->bad_lines)
    fputs(" and ", stdout);
  if (run->bad_lines)
    printf("%lu line%s", run->bad_lines, run->bad_lines == 1 ? "" : "s");
  putchar('\n');
  bool nothing = nothing_indexed(run, a);
  if (run->rep.unreadable || run->bad_lines)
    return ST_INPUT;
  return nothing ? ST_NOTHING : ST_OK;
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
  run.rep.prog.enabled = isatty(STDERR_FILENO) == 1;
  run.rep.verbosity = a->verbosity;
  run.racy_from = stamp_racy_from();
  walk_init(&run.files, &run.rep, c->index_dir, a->prune);
  /* First pass: the list of files and their total size, which gives the
   * progress display its ETA and fixes the order of the run. */
  for (int i = 0; i < a->npos && rc == ST_OK; i++)
    if (!walk_argument(&run.files, a->pos[i]))
      rc = cli_fail(ST_INDEX, "out of memory while listing %s", a->pos[i]);
  if (rc == ST_OK) {
    walk_finish(&run.files);
    run.rep.prog.total_bytes = run.files.total_bytes + jsonl_bytes;
    rc = index_files(&run, w, a);
  }
  kidx_writer_close(w); /* without a commit, discards everything */
  walk_free(&run.files);
  free(run.buf.p);
  return rc;
}
