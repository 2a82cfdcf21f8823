/*
 * cmd_index.c -- kidx index: the command's orchestration.
 *
 * This file owns the run: checking the arguments before the index is
 * touched, opening the writer, planning what to walk and what to remove
 * (the PATHs given, a re-sync of the recorded roots, or --forget; ids.c
 * names the files, roots.c keeps the roots), listing the files (walk.c),
 * indexing those that changed (stamps.c decides, textfile.c reads), the
 * --jsonl inputs (index_jsonl.c), removing documents (prune.c), recording
 * the roots, the single commit and the summary.
 */
#include "cmd_index.h"

#include "ids.h"
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
  size_t id_len = strlen(f->id);
  kidx_stamp old;
  int found = stamp_lookup(w, f->id, id_len, &old);
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
    run->rep.skipped++;
    /* A file that became binary since it was indexed (compressed in
     * place, say) is no text any more: its old document would answer
     * searches for text the file no longer holds. */
    if (found && stamp_trusted(&old)) {
      report_warn(&run->rep, WARN_BINARY,
                  "skipping binary file %s (it was text: its document is "
                  "removed)",
                  f->path);
      kidx_status ds = kidx_writer_delete(w, f->id, id_len);
      if (ds != KIDX_OK)
        return index_failed(run, w, f->path, ds);
      run->removed++;
      return ST_OK;
    }
    report_warn(&run->rep, WARN_BINARY, "skipping binary file %s", f->path);
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
    ks = kidx_writer_restamp(w, f->id, id_len, &now);
  } else {
    const char *title, *body;
    size_t title_len, body_len;
    textfile_split(run->buf.p, run->buf.n, &title, &title_len, &body,
                   &body_len);
    ks = kidx_writer_add_stamped(w, f->id, id_len, title, title_len, body,
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

/* A run that had inputs but indexed nothing from them -- no document new,
 * changed, unchanged or removed, and something passed over -- says so
 * plainly:
 * "nothing indexed: all 18,037 files under man1 were skipped (binary or
 * compressed: 18,037)".  The summary line alone ("indexed 0 documents")
 * is easy to take for success when a tree held only compressed files.
 * Returns whether it was so. */
static bool nothing_indexed(const index_run *run, const char *where) {
  /* Bad JSON lines alone do not count: each was reported as an error. */
  /* A run that removed documents did something: a --prune or a re-sync
   * of a tree whose text files are all gone is no failure to report. */
  if (run->docs > 0 || run->unchanged > 0 || run->removed > 0 ||
      !report_any(&run->rep))
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
  if (what[0] == '\0')
    cli_fail(ST_NOTHING, "nothing indexed: no file%s could be indexed (%s)",
             where, why);
  else
    cli_fail(ST_NOTHING, "nothing indexed: %s%s%s %s skipped (%s)",
             one ? "" : "all ", what, where, one ? "was" : "were", why);
  return true;
}

/* What a run does besides indexing the files it lists: the documents it
 * removes and the roots it leaves recorded. */
typedef struct index_plan {
  prune_spec prune; /* scopes owned; keep points at roots (--forget) */
  roots roots;      /* the index's roots, as the run will commit them */
  bool forget;      /* --forget: nothing is indexed, so nothing to report */
  char *where;      /* " under PATH", for 'nothing indexed' (owned) */
} index_plan;

static void plan_free(index_plan *p) {
  for (size_t i = 0; i < p->prune.nscopes; i++)
    free(p->prune.scopes[i]);
  free(p->prune.scopes);
  roots_free(&p->roots);
  free(p->where);
}

/* Records that documents under id are to be pruned.  false when out of
 * memory. */
static bool add_scope(index_plan *p, const char *id) {
  char **grown =
      realloc(p->prune.scopes, (p->prune.nscopes + 1) * sizeof *grown);
  if (!grown)
    return false;
  p->prune.scopes = grown;
  return (grown[p->prune.nscopes] = strdup(id)) != NULL &&
         ++p->prune.nscopes > 0;
}

/* Puts the plan's roots in the writer's metadata, to be committed with
 * the documents.  Setting what is recorded already changes nothing, so an
 * unchanged corpus still commits nothing. */
static int record_roots(index_run *run, kidx_writer *w, roots *rs) {
  size_t len;
  roots_sort(rs);
  char *value = roots_encode(rs, &len);
  if (!value)
    return cli_fail(ST_INDEX, "out of memory recording the roots of %s",
                    run->c->index_dir);
  kidx_status st =
      kidx_writer_set_metadata(w, ROOTS_KEY, strlen(ROOTS_KEY), value, len);
  free(value);
  if (st == KIDX_OK)
    return ST_OK;
  progress_clear(&run->rep.prog);
  return cli_fail(ST_INDEX, "cannot record the roots of the index at %s: %s",
                  run->c->index_dir,
                  cli_lib_message(kidx_writer_errmsg(w), st));
}

/* Adds the collected files that changed, then the --jsonl inputs in the
 * order given (so on an id given twice the last one read wins), removes
 * what the plan says, records its roots, and commits once, if anything
 * changed.  Memory stays bounded without intermediate commits: the writer
 * writes the batch out as a new segment whenever it outgrows the RAM
 * budget, and a commit only writes the segments that are new.  The whole
 * run is still one commit because an interrupted run must change
 * nothing: the segments it wrote are listed nowhere until that commit,
 * and the next writer removes them. */
static int index_files(index_run *run, kidx_writer *w, index_plan *plan) {
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
  int rc = prune_documents(run, w, &plan->prune);
  if (rc == ST_OK)
    rc = record_roots(run, w, &plan->roots);
  if (rc != ST_OK)
    return rc;
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
  bool nothing = !plan->forget && nothing_indexed(run, plan->where);
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

/* " under corpus", " under the 3 PATHs given": where the files of a run
 * came from, for its 'nothing indexed' message; "" when n is 0, or n is 1
 * and paths[0] is NULL (not known).  malloc'ed. */
static char *describe_where(const char *const *paths, size_t n,
                            const char *plural) {
  char buf[128];
  if (n == 1 && !paths[0])
    n = 0;
  if (n == 0)
    buf[0] = '\0';
  else if (n > 1)
    snprintf(buf, sizeof buf, " under the %zu %s", n, plural);
  size_t len = n == 1 ? strlen(paths[0]) + 8 : strlen(buf) + 1;
  char *out = malloc(len);
  if (out)
    snprintf(out, len, "%s%s", n == 1 ? " under " : "",
             n == 1 ? paths[0] : buf);
  return out;
}

/* Where to walk the root with this id from the current directory: the
 * path a person would type there (cli_id_path), or its absolute path when
 * it is gone (cli_id_path gives a missing file's id back as it is, and
 * the id is relative to the base, not to the current directory). */
static char *root_walk_path(const cli *c, const char *id) {
  char *abs = ids_to_absolute(c->base, id, strlen(id));
  struct stat st;
  if (!abs || !c->cwd || lstat(abs, &st) != 0)
    return abs;
  char *p = cli_id_path(c, id, strlen(id));
  if (!p)
    return abs;
  free(abs);
  return p;
}

/* A PATH whose place cannot be known: a directory on the way cannot be
 * searched, it leads through a dangling symbolic link or a loop, or a
 * ".." follows a component that is gone.  An error, not a rationed
 * warning, since with --prune or --forget nothing under it is removed:
 * those documents may well have files, and the run must not pass for
 * one that brought the index in line.  Exit status 4. */
static void unresolvable(index_run *run, const char *path, int err,
                         bool removes) {
  progress_clear(&run->rep.prog);
  cli_fail(ST_INPUT, "cannot resolve %s: %s%s", path, strerror(err),
           removes ? " (no document under it was removed)" : "");
  run->rep.unreadable++; /* exit 4; not a file skipped */
}

/* A --prune PATH that does not exist.  Its documents are not removed:
 * what is missing may be a disk not mounted or a share offline, not a
 * deletion, and --prune only removes what a walk vouches is gone.  The
 * directory that holds it can vouch (its walk no longer finds the files),
 * and --forget removes them outright.  An error, exit status 4; the
 * other PATHs are still pruned. */
static void prune_missing(index_run *run, const char *path, int err) {
  progress_clear(&run->rep.prog);
  cli_fail(ST_INPUT,
           "cannot prune under %s: %s (no document under it was removed; "
           "prune the directory that holds it, or --forget it)",
           path, strerror(err));
  run->rep.unreadable++; /* exit 4; not a file skipped */
}

/* Walks the root r (recorded, or under a PATH given) as if it were named,
 * and reports what it found.  false when out of memory. */
static bool walk_root(index_run *run, const root *r, walk_found *found) {
  char *path = root_walk_path(run->c, r->id);
  if (!path)
    return false;
  *found = walk_argument(&run->files, path, r->id, r->flags);
  free(path);
  return true;
}

/* One PATH of `kidx index PATH...` as the plan sees it. */
typedef struct planned_path {
  const char *path; /* as given */
  char *id;         /* NULL: it could not be resolved (reported) */
  unsigned flags;   /* to walk it with */
} planned_path;

/* Whether the roots rs would fit in the index's metadata; reported when
 * not.  Checked before any walk, which may take long, is done. */
static bool roots_fit(const index_run *run, const roots *rs) {
  size_t need = roots_encoded_size(rs), key = strlen(ROOTS_KEY);
  if (need <= KIDX_MAX_METADATA_BYTES - key)
    return true;
  char n[32], size[32], limit[32];
  cli_format_count(n, sizeof n, rs->n);
  /* Exact bytes: rounded sizes would read "16.8 MB, more than 16.8 MB". */
  cli_format_count(size, sizeof size, need);
  cli_format_count(limit, sizeof limit, KIDX_MAX_METADATA_BYTES - key);
  cli_fail(ST_USAGE,
           "cannot record %s roots in the index at %s: they take %s bytes "
           "of metadata (%s), more than its limit of %s bytes; name the "
           "directory that holds them instead, or drop some with --forget",
           n, run->c->index_dir, size, ROOTS_KEY, limit);
  return false;
}

/* Whether id holds ids of the other kind than its own: "." holds every
 * relative id, and so does an absolute id that holds the base. */
static bool holds_relative(const char *base, const char *id) {
  return strcmp(id, ".") == 0 ||
         (id[0] == '/' && base && ids_under(NULL, base, strlen(base), id));
}

/* Walks the recorded roots that lie under id (id itself excluded), as a
 * re-sync would, for --prune id; those that are gone are dropped from
 * the plan's roots.  before is sorted.  false when out of memory. */
static bool walk_roots_under(index_run *run, index_plan *plan,
                             const roots *before, const char *id) {
  const char *base = run->c->base;
  size_t lo = 0, hi = before->n;
  size_t len = strlen(id);
  /* Most ids hold only the roots that start with "id/": a range of the
   * sorted list.  "." and the absolute ids holding the base ("/", "..")
   * hold roots of other spellings: those few PATHs look at every root. */
  bool whole = holds_relative(base, id);
  if (!whole) {
    char *prefix = malloc(len + 2);
    if (!prefix)
      return false;
    memcpy(prefix, id, len);
    memcpy(prefix + len, "/", 2);
    size_t a = 0, b = before->n;
    while (a < b) {
      size_t mid = a + (b - a) / 2;
      if (strcmp(before->r[mid].id, prefix) < 0)
        a = mid + 1;
      else
        b = mid;
    }
    free(prefix);
    lo = hi = a;
    while (hi < before->n && strncmp(before->r[hi].id, id, len) == 0 &&
           before->r[hi].id[len] == '/')
      hi++;
  }
  for (size_t k = lo; k < hi; k++) {
    const root *r = &before->r[k];
    if (strcmp(r->id, id) == 0 || !ids_under(base, r->id, strlen(r->id), id))
      continue;
    walk_found f = WALK_OTHER;
    if (!walk_root(run, r, &f))
      return false;
    if (f == WALK_GONE) /* pruned under explicitly: it is gone */
      roots_drop_under(&plan->roots, base, r->id);
  }
  return true;
}

/* The plan of `kidx index PATH...`: walk each PATH and record it as a
 * root; with --prune, also walk the recorded roots under a PATH (as a
 * re-sync would) and prune under each PATH, dropping the roots under it
 * that are gone (a PATH itself that is gone is an error: prune_missing).
 * --prune of a PATH inside a recorded root is upkeep of
 * that root: the PATH is walked with the root's options (unless others
 * are given) and not recorded as a root of its own, which would only
 * repeat the root.  First every PATH is resolved and the roots to record
 * are checked against the metadata's limit, then the walks run. */
static bool plan_paths(index_run *run, const cli_args *a, index_plan *plan,
                       int *rc) {
  roots before = plan->roots; /* the recorded ones, sorted */
  memset(&plan->roots, 0, sizeof plan->roots);
  bool ok = true;
  bool given = a->hidden || a->no_ignore;
  unsigned flags =
      (a->hidden ? ROOT_HIDDEN : 0u) | (a->no_ignore ? ROOT_NO_IGNORE : 0u);
  for (size_t i = 0; ok && i < before.n; i++)
    ok = roots_add(&plan->roots, before.r[i].id, before.r[i].flags);
  size_t n = (size_t)a->npos;
  planned_path *pp = calloc(n ? n : 1, sizeof *pp);
  ok = ok && pp;
  /* Recorded in this pass already, so that the size is known before the
   * walks; a PATH that turns out to be no file or directory is dropped
   * again below. */
  bool *record = calloc(n ? n : 1, sizeof *record);
  ok = ok && record;
  for (size_t i = 0; ok && i < n; i++) {
    pp[i].path = a->pos[i];
    pp[i].flags = flags;
    char *abs = ids_absolute(pp[i].path, false);
    if (!abs) {
      if (errno == ENOMEM)
        ok = false;
      else if (a->prune && (errno == ENOENT || errno == ENOTDIR))
        prune_missing(run, pp[i].path, errno);
      else
        unresolvable(run, pp[i].path, errno, a->prune);
      continue;
    }
    pp[i].id = ids_from_absolute(run->c->base, abs);
    free(abs);
    if (!(ok = pp[i].id != NULL))
      break;
    record[i] = true;
    if (a->prune && roots_find(&before, pp[i].id) == before.n) {
      const root *outer = roots_enclosing(&before, run->c->base, pp[i].id);
      if (outer && (!given || outer->flags == flags)) {
        pp[i].flags = outer->flags;
        record[i] = false;
      }
    }
    if (record[i])
      ok = roots_add(&plan->roots, pp[i].id, pp[i].flags);
  }
  if (ok) {
    roots_sort(&plan->roots);
    if (!roots_fit(run, &plan->roots))
      *rc = ST_USAGE;
  }
  for (size_t i = 0; ok && *rc == ST_OK && i < n; i++) {
    const char *id = pp[i].id;
    if (!id)
      continue;
    walk_found found = walk_argument(&run->files, pp[i].path, id, pp[i].flags);
    /* Not a file or directory: no root, unless recorded before. */
    if (record[i] && found != WALK_FILE && found != WALK_DIR &&
        roots_find(&before, id) == before.n)
      roots_remove(&plan->roots, id);
    if (a->prune && found == WALK_GONE) /* gone since it was resolved */
      prune_missing(run, pp[i].path, ENOENT);
    else if (a->prune)
      ok = add_scope(plan, id) && walk_roots_under(run, plan, &before, id);
  }
  for (size_t i = 0; pp && i < n; i++)
    free(pp[i].id);
  free(pp);
  free(record);
  roots_free(&before);
  plan->where = describe_where((const char *const *)a->pos, (size_t)a->npos,
                               "PATHs given");
  return ok && plan->where && !run->files.nomem;
}

static int cmp_strs(const void *a, const void *b) {
  const char *const *x = a, *const *y = b;
  return strcmp(*x, *y);
}

/* The plan of `kidx index` without PATH: walk every recorded root and
 * prune under it, like `git add -u`.  A root that is gone is another
 * matter than a file that is gone: it may be a disk not mounted, a share
 * offline, a directory being moved.  Taking it for deleted would empty
 * the index of it without a word, so its documents are kept and it stays
 * recorded, with one warning naming it and exit status 4, until it comes
 * back or is dropped with --forget (or pruned by --prune of the directory
 * that held it, whose walk vouches it is gone).  A gone root under a root
 * that is there
 * (a file named on its own, then deleted) is only a file that is gone:
 * pruned and dropped as before. */
static bool plan_resync(index_run *run, index_plan *plan) {
  roots all = {0}; /* walked, while plan->roots may lose some */
  bool ok = true;
  for (size_t i = 0; ok && i < plan->roots.n; i++)
    ok = roots_add(&all, plan->roots.r[i].id, plan->roots.r[i].flags);
  walk_found *found = calloc(all.n ? all.n : 1, sizeof *found);
  ok = ok && found;
  for (size_t i = 0; ok && i < all.n; i++)
    ok = walk_root(run, &all.r[i], &found[i]) &&
         (found[i] == WALK_GONE || add_scope(plan, all.r[i].id));
  if (ok && plan->prune.nscopes > 1)
    qsort(plan->prune.scopes, plan->prune.nscopes, sizeof *plan->prune.scopes,
          cmp_strs);
  for (size_t i = 0; ok && i < all.n; i++) {
    const char *id = all.r[i].id;
    if (found[i] != WALK_GONE)
      continue;
    if (ids_under_any(run->c->base, id, strlen(id), plan->prune.scopes,
                      plan->prune.nscopes, sizeof *plan->prune.scopes)) {
      roots_drop_under(&plan->roots, run->c->base, id);
      continue;
    }
    char *path = cli_id_place(run->c, id, strlen(id));
    ok = path != NULL;
    if (ok)
      report_warn(&run->rep, WARN_ROOT_GONE,
                  "root %s no longer exists: its documents are kept (drop "
                  "them with 'kidx index --forget %s')",
                  path, path);
    run->rep.unreadable++;
    free(path);
  }
  free(found);
  if (ok) {
    char *first = all.n == 1 ? root_walk_path(run->c, all.r[0].id) : NULL;
    plan->where = describe_where((const char *const *)&first, all.n, "roots");
    free(first);
  }
  roots_free(&all);
  return ok && plan->where && !run->files.nomem;
}

/* Whether a root of rs (sorted) is id or lies under it.  Cost: a binary
 * search, but for "." and the ids that hold the base (a pass). */
static bool has_root_under(const roots *rs, const char *base, const char *id) {
  size_t len = strlen(id);
  if (holds_relative(base, id)) {
    for (size_t i = 0; i < rs->n; i++)
      if (ids_under(base, rs->r[i].id, strlen(rs->r[i].id), id))
        return true;
    return false;
  }
  /* id itself, then the first id after it: "id/..." sorts after "id"
   * and ids between them ("id-x", "id.x") start with id too. */
  size_t lo = 0, hi = rs->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(rs->r[mid].id, id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  for (; lo < rs->n && strncmp(rs->r[lo].id, id, len) == 0; lo++) {
    char c = rs->r[lo].id[len];
    if (c == '\0' || c == '/')
      return true;
    if (c > '/')
      break;
  }
  return false;
}

/* The plan of `kidx index --forget PATH...`: drop each PATH and the roots
 * under it, and remove the documents under it that no remaining root
 * covers.  Nothing is walked.  All PATHs are resolved first and the
 * roots dropped in one pass, so that forgetting many PATHs is not a pass
 * over the roots for each. */
static bool plan_forget(index_run *run, const cli_args *a, index_plan *plan) {
  const char *base = run->c->base;
  size_t n = (size_t)a->npos, nids = 0;
  char **ids = calloc(n ? n : 1, sizeof *ids);
  const char **paths = calloc(n ? n : 1, sizeof *paths);
  bool *had = calloc(n ? n : 1, sizeof *had);
  bool ok = ids && paths && had;
  for (size_t i = 0; ok && i < n; i++) {
    char *abs = ids_absolute(a->pos[i], true);
    if (!abs) {
      if (errno == ENOMEM)
        ok = false;
      else
        unresolvable(run, a->pos[i], errno, true);
      continue;
    }
    char *id = ids_from_absolute(base, abs);
    free(abs);
    if (!(ok = id != NULL))
      break;
    had[nids] = has_root_under(&plan->roots, base, id);
    paths[nids] = a->pos[i];
    ids[nids++] = id;
  }
  /* The roots under any PATH go, in one pass. */
  char **sorted = ok ? malloc((nids ? nids : 1) * sizeof *sorted) : NULL;
  ok = ok && sorted;
  if (ok) {
    memcpy(sorted, ids, nids * sizeof *sorted);
    if (nids > 1)
      qsort(sorted, nids, sizeof *sorted, cmp_strs);
    size_t out = 0;
    for (size_t i = 0; i < plan->roots.n; i++) {
      root *r = &plan->roots.r[i];
      if (ids_under_any(base, r->id, strlen(r->id), sorted, nids,
                        sizeof *sorted))
        free(r->id);
      else
        plan->roots.r[out++] = *r;
    }
    plan->roots.n = out;
  }
  free(sorted);
  for (size_t i = 0; ok && i < nids; i++) {
    const root *cover = roots_enclosing(&plan->roots, base, ids[i]);
    if (cover && run->rep.verbosity >= 0)
      cli_warn("%s lies under the root %s, which still covers it: its "
               "files stay indexed (exclude them with an .ignore file)",
               paths[i], cover->id);
    else if (!had[i] && run->rep.verbosity >= 0)
      cli_warn("%s is not a root of the index at %s ('kidx stats' lists "
               "them); removing its documents",
               paths[i], run->c->index_dir);
    ok = cover || add_scope(plan, ids[i]);
  }
  for (size_t i = 0; i < nids; i++)
    free(ids[i]);
  free(ids);
  free(paths);
  free(had);
  plan->prune.keep = &plan->roots;
  plan->forget = true;
  plan->where = calloc(1, 1);
  return ok && plan->where;
}

int cli_cmd_index(const cli *c, const cli_args *a) {
  bool resync = a->npos == 0 && a->njsonl == 0;
  if (a->forget &&
      (a->npos == 0 || a->njsonl > 0 || a->prune || a->hidden || a->no_ignore))
    return cli_fail(ST_USAGE, "--forget needs at least one PATH, and none of "
                              "--prune, --jsonl, --hidden, --no-ignore (see "
                              "'kidx index --help')");
  /* Walk options are recorded with each root: a re-sync walks every root
   * with its own. */
  if (resync && (a->hidden || a->no_ignore))
    return cli_fail(ST_USAGE, "--hidden and --no-ignore apply to the PATHs "
                              "given, and are recorded with them; a re-sync "
                              "walks each root with its own (name the PATHs "
                              "to change them)");
  if (a->prune && a->npos == 0 && a->njsonl > 0)
    return cli_fail(ST_USAGE, "--prune needs at least one PATH to prune under "
                              "(see 'kidx index --help')");
  /* Re-syncing a directory that holds no index: there are no roots. */
  struct stat ist;
  if (resync && stat(c->index_dir, &ist) != 0)
    return cli_fail(ST_USAGE, "index needs at least one PATH or --jsonl FILE "
                              "(see 'kidx index --help')");
  /* Check every argument before touching the index, so that a typo does
   * not leave a half-done run (or a new empty index) behind. */
  for (int i = 0; i < a->npos && !a->forget; i++) {
    /* "t2//" is "t2/" in messages; ids never depend on slashes. */
    char *p = a->pos[i];
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/' && p[n - 2] == '/')
      p[--n] = '\0';
    struct stat st;
    /* With --prune, a PATH that does not exist or cannot be looked at is
     * left to the run, which reports it and removes nothing under it
     * (exit 4), while the other PATHs are pruned. */
    if (stat(p, &st) != 0 && !a->prune)
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
  if (!c->base) {
    kidx_writer_close(w);
    return cli_fail(ST_INDEX, "cannot find the directory of the index at %s",
                    c->index_dir);
  }
  index_plan plan;
  memset(&plan, 0, sizeof plan);
  rc = roots_load(c, w, NULL, &plan.roots);
  if (rc == ST_OK && resync && plan.roots.n == 0)
    rc = cli_fail(ST_USAGE,
                  "index needs at least one PATH or --jsonl FILE: "
                  "the index at %s records no roots to re-sync "
                  "(see 'kidx index --help')",
                  c->index_dir);
  if (rc != ST_OK) {
    kidx_writer_close(w);
    plan_free(&plan);
    return rc;
  }
  index_run run;
  memset(&run, 0, sizeof run);
  run.c = c;
  run.jsonl = a->jsonl;
  run.njsonl = a->njsonl;
  /* "\r" and erase-to-end-of-line: only for a terminal that has them. */
  run.rep.prog.enabled = cli_stream_is_capable_terminal(STDERR_FILENO);
  run.rep.verbosity = a->verbosity;
  run.racy_from = stamp_racy_from();
  /* A re-sync prunes: a recorded root that is gone is no error. */
  walk_init(&run.files, &run.rep, c->index_dir, c->base, a->prune || resync);
  /* First pass: the list of files and their total size, which gives the
   * progress display its ETA and fixes the order of the run. */
  bool ok = a->forget ? plan_forget(&run, a, &plan)
            : resync  ? plan_resync(&run, &plan)
                      : plan_paths(&run, a, &plan, &rc);
  if (!ok && rc == ST_OK)
    rc = cli_fail(ST_INDEX, "out of memory while listing the files to index");
  if (rc == ST_OK) {
    walk_finish(&run.files);
    run.rep.prog.total_bytes = run.files.total_bytes + jsonl_bytes;
    rc = index_files(&run, w, &plan);
  }
  kidx_writer_close(w); /* without a commit, discards everything */
  walk_free(&run.files);
  plan_free(&plan);
  free(run.buf.p);
  return rc;
}
