/*
 * writer.c -- the public write API: kidx_writer.  Top of the dependency
 * order, with reader.c.
 *
 * A writer holds the directory's lock file, the index's segments (a
 * snapshot, snapshot.c: those of the last commit plus any written since),
 * their deletion bitmaps, and the batch being built in memory
 * (memindex.c).  It changes the index in the way of Lucene's IndexWriter:
 *
 *   - Adding a document puts it in the batch.  When the batch's memory
 *     passes the RAM budget, it is written out as a new segment (a flush,
 *     segwrite.c) and a new batch starts.
 *   - Deleting or replacing a document of a segment sets its bit in the
 *     segment's deletion bitmap; segment files never change.
 *   - After a flush and at commit, the merge policy (merge_policy.c)
 *     merges segments of about the same size, ten at a time, so that their
 *     number stays logarithmic in the size of the index; and rewrites a
 *     segment that has lost a quarter of its documents, to reclaim their
 *     space.  This file does the merges it plans.
 *   - Commit flushes the batch, then writes the list of segments and their
 *     deletions to MANIFEST.tmp and renames it over MANIFEST (manifest.c,
 *     fs.c).  Until that rename, readers -- and a crash -- see only the
 *     previous commit: the segment files written since are not listed
 *     anywhere.  After it, files no commit lists any more are removed.
 *
 * Leftovers of a writer that died (segments it wrote but never committed,
 * a MANIFEST.tmp) are removed by the next writer when it opens.
 */
#include "kidx_int.h"

#include <stdlib.h>

/* Default RAM budget of the batch, as documented in kidx.h. */
#define DEFAULT_RAM_BUDGET ((size_t)64 << 20)

struct kidx_writer {
  int open;
  char *dir;
  char *manifest;     /* dir/MANIFEST */
  char *manifest_tmp; /* dir/MANIFEST.tmp */
  int lock_fd;
  int have_snap;
  kidx__snapshot snap; /* the segments, committed or not */
  uint64_t *published; /* segment numbers the last commit lists */
  size_t npublished;
  kidx__memindex *mi;
  unsigned an_flags; /* the index's analysis (KIDX__AN_*) */
  int an_set;        /* chosen with kidx_writer_set_analyzer */
  uint64_t pending;  /* adds and deletes since the last commit */
  int changed;       /* segments or deletions differ from the last commit */
  int meta_changed;  /* metadata set to other values since the last commit */
  int broken;        /* a failure lost the batch: every call fails */
  size_t ram_budget;
  unsigned merge_factor;
  char errmsg[KIDX__ERRMSG_MAX];
};

kidx_status kidx_writer_new(kidx_writer **out) {
  if (!out)
    return KIDX_EINVAL;
  kidx_writer *w = calloc(1, sizeof *w);
  *out = w;
  if (!w)
    return KIDX_ENOMEM;
  w->lock_fd = -1;
  w->ram_budget = DEFAULT_RAM_BUDGET;
  w->merge_factor = KIDX__MERGE_FACTOR_DEFAULT;
  kidx__analyzer_flags(NULL, &w->an_flags);
  return KIDX_OK;
}

kidx_status kidx_writer_set_analyzer(kidx_writer *w, const kidx_analyzer *a) {
  if (!w)
    return KIDX_EINVAL;
  w->errmsg[0] = 0;
  if (w->open)
    return kidx__err(w->errmsg, KIDX_EINVAL,
                     "the analyzer must be set before the writer is opened");
  unsigned flags;
  if (kidx__analyzer_flags(a, &flags))
    return kidx__err(w->errmsg, KIDX_EINVAL,
                     "invalid analyzer options (unknown stemmer or stop-word "
                     "list, or not initialised with kidx_analyzer_init)");
  w->an_flags = flags;
  w->an_set = 1;
  return KIDX_OK;
}

kidx_status kidx_writer_set_ram_budget(kidx_writer *w, size_t bytes) {
  if (!w)
    return KIDX_EINVAL;
  w->errmsg[0] = 0;
  if (bytes < KIDX_MIN_RAM_BUDGET)
    return kidx__err(w->errmsg, KIDX_EINVAL,
                     "RAM budget must be at least %u bytes (got %zu)",
                     (unsigned)KIDX_MIN_RAM_BUDGET, bytes);
  w->ram_budget = bytes;
  return KIDX_OK;
}

kidx_status kidx_writer_set_merge_factor(kidx_writer *w, unsigned factor) {
  if (!w)
    return KIDX_EINVAL;
  w->errmsg[0] = 0;
  if (factor < KIDX__MERGE_FACTOR_MIN || factor > KIDX__MERGE_FACTOR_MAX)
    return kidx__err(w->errmsg, KIDX_EINVAL,
                     "merge factor must be %u to %u (got %u)",
                     KIDX__MERGE_FACTOR_MIN, KIDX__MERGE_FACTOR_MAX, factor);
  w->merge_factor = factor;
  return KIDX_OK;
}

/* ---- files ---- */

typedef struct cleanup_ctx {
  kidx_writer *w;
  const uint64_t *keep; /* sorted */
  size_t nkeep;
} cleanup_ctx;

static void cleanup_one(void *ctx, const char *name) {
  cleanup_ctx *c = ctx;
  uint64_t number;
  if (!kidx__segment_number(name, &number))
    return;
  size_t lo = 0, hi = c->nkeep;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->keep[mid] < number)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < c->nkeep && c->keep[lo] == number)
    return;
  char *path = kidx__path_join(c->w->dir, name);
  if (path)
    kidx__fs_remove(path);
  free(path);
}

/* Removes the segment files the last commit does not list, and a
 * MANIFEST.tmp.  Only the lock holder may: the files are either leftovers
 * of a dead writer, or this writer's own uncommitted or merged-away
 * segments.  A reader that mapped one keeps its mapping.  Best effort: a
 * file that stays is removed by a later writer. */
static void cleanup(kidx_writer *w) {
  cleanup_ctx c = {w, w->published, w->npublished};
  char msg[KIDX__ERRMSG_MAX];
  kidx__fs_remove(w->manifest_tmp);
  kidx__fs_list(w->dir, cleanup_one, &c, msg);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The writer's current segment numbers, sorted, in a new array; with
 * keep_old, the published ones too (duplicates are harmless). */
static uint64_t *segment_numbers(kidx_writer *w, int keep_old, size_t *n) {
  size_t old = keep_old ? w->npublished : 0;
  uint64_t *p = malloc((w->snap.nsegs + old + 1) * sizeof *p);
  if (!p)
    return NULL;
  for (size_t i = 0; i < w->snap.nsegs; i++)
    p[i] = w->snap.segs[i].number;
  if (old)
    memcpy(p + w->snap.nsegs, w->published, old * sizeof *p);
  *n = w->snap.nsegs + old;
  qsort(p, *n, sizeof *p, cmp_u64);
  return p;
}

static void set_published(kidx_writer *w, uint64_t *numbers, size_t n) {
  free(w->published);
  w->published = numbers;
  w->npublished = n;
}

/* ---- state ---- */

/* Back to the state after kidx_writer_new: no segments, no batch, no
 * lock.  Uncommitted segment files are removed first. */
static void release(kidx_writer *w) {
  if (w->open)
    cleanup(w);
  if (w->have_snap)
    kidx__snapshot_close(&w->snap);
  w->have_snap = 0;
  kidx__memindex_free(w->mi);
  w->mi = NULL;
  free(w->published);
  w->published = NULL;
  w->npublished = 0;
  w->pending = 0;
  w->changed = 0;
  w->meta_changed = 0;
  w->broken = 0;
  kidx__fs_unlock(w->lock_fd);
  w->lock_fd = -1;
  free(w->dir);
  free(w->manifest);
  free(w->manifest_tmp);
  w->dir = w->manifest = w->manifest_tmp = NULL;
  w->open = 0;
}

/* Opens the last commit (if any) and starts an empty batch. */
static int load(kidx_writer *w) {
  int rc = kidx__snapshot_open(&w->snap, w->dir, w->errmsg);
  if (rc == KIDX_ENOINDEX) {
    /* A new index: no segments yet. */
    w->errmsg[0] = 0;
    memset(&w->snap, 0, sizeof w->snap);
    size_t n = strlen(w->dir) + 1;
    if (!(w->snap.dir = malloc(n)))
      return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
    memcpy(w->snap.dir, w->dir, n);
    w->snap.next_segment = 1;
    w->snap.an_flags = w->an_flags;
    w->changed = 1; /* the first commit creates the manifest */
  } else if (rc) {
    return rc;
  } else if (w->an_set && w->an_flags != w->snap.an_flags) {
    char diff[256];
    kidx__analyzer_describe_diff(w->snap.an_flags, w->an_flags, diff,
                                 sizeof diff);
    kidx__snapshot_close(&w->snap);
    return kidx__err(w->errmsg, KIDX_EINVAL,
                     "the index at %s was created with %s; the analysis "
                     "of an index cannot change (delete it to rebuild)",
                     w->dir, diff);
  }
  w->have_snap = 1;
  w->an_flags = w->snap.an_flags;
  size_t n = 0;
  uint64_t *numbers = segment_numbers(w, 0, &n);
  if (!numbers)
    return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  set_published(w, numbers, n);
  if (kidx__memindex_new(&w->mi, w->an_flags))
    return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  return KIDX_OK;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p)
    memcpy(p, s, n);
  return p;
}

kidx_status kidx_writer_open(kidx_writer *w, const char *dir) {
  if (!w)
    return KIDX_EINVAL;
  w->errmsg[0] = 0;
  if (!dir || !*dir)
    return kidx__err(w->errmsg, KIDX_EINVAL, "no index directory given");
  if (w->open)
    return kidx__err(w->errmsg, KIDX_EINVAL, "writer is already open");
  int rc = kidx__fs_mkdir(dir, w->errmsg);
  if (rc)
    return rc;
  char *lock = kidx__path_join(dir, KIDX__LOCK_FILE);
  w->dir = dup_str(dir);
  w->manifest = kidx__path_join(dir, KIDX__MANIFEST_FILE);
  w->manifest_tmp = kidx__path_join(dir, KIDX__MANIFEST_TMP);
  if (!lock || !w->dir || !w->manifest || !w->manifest_tmp) {
    rc = kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = kidx__fs_lock(lock, &w->lock_fd, w->errmsg)))
    goto fail;
  if ((rc = load(w)))
    goto fail;
  free(lock);
  w->open = 1;
  /* Holding the lock, files the commit does not list are leftovers of a
   * writer that died before publishing: never visible, so remove them. */
  cleanup(w);
  return KIDX_OK;
fail:
  free(lock);
  release(w);
  return rc;
}

static int check_open(kidx_writer *w) {
  w->errmsg[0] = 0;
  if (!w->open)
    return kidx__err(w->errmsg, KIDX_EINVAL, "writer is not open");
  int rc = w->broken ? w->broken : kidx__memindex_status(w->mi);
  if (rc)
    return kidx__err(w->errmsg, rc,
                     "an earlier failure (%s) left the batch unusable; close "
                     "the writer (the last commit is intact)",
                     kidx_strerror((kidx_status)rc));
  return KIDX_OK;
}

/* ---- segments: flush and merge ---- */

/* Makes room in the segment array for one more segment.  Called before
 * anything points into the array: growing it may move it. */
static int reserve_segment(kidx_writer *w) {
  kidx__segref *segs =
      realloc(w->snap.segs, (w->snap.nsegs + 1) * sizeof *segs);
  if (!segs)
    return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  w->snap.segs = segs;
  return KIDX_OK;
}

/* Writes a new segment file from src[0..n) and/or the batch: *path
 * (malloc'ed) receives its name, or NULL when no document was live and so
 * no file was kept.  Nothing else changes.  Call reserve_segment() first:
 * src may point into the segment array. */
static int write_file(kidx_writer *w, const kidx__segsrc *src, size_t n,
                      const kidx__memindex *mi, char **path) {
  char name[KIDX__SEGNAME_MAX];
  uint64_t ndocs = 0;
  *path = NULL;
  kidx__segment_name(w->snap.next_segment, name);
  char *p = kidx__path_join(w->dir, name);
  if (!p)
    return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  int rc = kidx__segment_write(p, src, n, mi, w->an_flags, &ndocs, w->errmsg);
  if (rc || ndocs == 0) {
    kidx__fs_remove(p);
    free(p);
    return rc;
  }
  *path = p;
  return KIDX_OK;
}

/* Opens the segment just written at path (taking the string) and appends
 * it to the writer's segments.  The caller then calls
 * kidx__snapshot_update() (a merge first drops the sources, so that the
 * document count is checked without counting them twice). */
static int add_segment(kidx_writer *w, char *path) {
  kidx__segref *r = &w->snap.segs[w->snap.nsegs]; /* see write_file */
  memset(r, 0, sizeof *r);
  int rc = kidx__segment_open(&r->seg, path, w->errmsg);
  if (rc) {
    kidx__fs_remove(path);
    free(path);
    return rc;
  }
  r->path = path;
  r->number = w->snap.next_segment++;
  w->snap.nsegs++;
  w->changed = 1;
  return KIDX_OK;
}

/* Makes every later call fail: the writer lost data it cannot restore. */
static int broken(kidx_writer *w, int rc) {
  char why[KIDX__ERRMSG_MAX];
  memcpy(why, w->errmsg, sizeof why);
  w->broken = rc;
  return kidx__err(w->errmsg, rc,
                   "%s; the documents added since the last commit are lost: "
                   "close the writer (the last commit is intact)",
                   why);
}

/* Writes the batch out as a segment and starts a new one. */
static int flush(kidx_writer *w) {
  if (kidx__memindex_ndocs(w->mi) == 0)
    return KIDX_OK;
  kidx__memindex *fresh;
  if (kidx__memindex_new(&fresh, w->an_flags))
    return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  char *path;
  int rc = reserve_segment(w);
  if (!rc)
    rc = write_file(w, NULL, 0, w->mi, &path);
  if (rc) {
    kidx__memindex_free(fresh);
    return rc; /* the batch is intact: the caller may retry */
  }
  /* The batch is on disk: free it before the new segment is opened (and
   * read through to verify it), so the two never take memory together. */
  kidx__memindex_free(w->mi);
  w->mi = fresh;
  if (path && ((rc = add_segment(w, path)) ||
               (rc = kidx__snapshot_update(&w->snap, w->errmsg))))
    return broken(w, rc);
  return KIDX_OK;
}

/* Merges the segments whose indexes are in which[0..n) (increasing) into
 * one new segment, which replaces them at the end of the list. */
static int merge(kidx_writer *w, const size_t *which, size_t n) {
  int rc = reserve_segment(w); /* before pointing into the array */
  if (rc)
    return rc;
  kidx__segsrc *src = malloc((n ? n : 1) * sizeof *src);
  if (!src)
    return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++)
    src[i] = (kidx__segsrc){&w->snap.segs[which[i]].seg,
                            w->snap.segs[which[i]].dead};
  char *path;
  rc = write_file(w, src, n, NULL, &path);
  free(src);
  if (!rc && path)
    rc = add_segment(w, path);
  if (rc)
    return rc; /* the sources are intact */
  /* Drop the sources (which[] is increasing, and the new segment, if any,
   * is last, after all of them).  Their files stay until the next commit
   * no longer lists them. */
  size_t out = 0, k = 0;
  for (size_t i = 0; i < w->snap.nsegs; i++) {
    kidx__segref *r = &w->snap.segs[i];
    if (k < n && which[k] == i) {
      k++;
      kidx__segment_close(&r->seg);
      free(r->path);
      free(r->dead);
      continue;
    }
    w->snap.segs[out++] = *r;
  }
  w->snap.nsegs = out;
  w->changed = 1;
  return kidx__snapshot_update(&w->snap, w->errmsg);
}

/* What the merge policy knows of the writer's segments, into d[0..nsegs). */
static void describe(const kidx_writer *w, kidx__merge_seg *d) {
  for (size_t i = 0; i < w->snap.nsegs; i++) {
    const kidx__segref *r = &w->snap.segs[i];
    d[i] = (kidx__merge_seg){r->seg.map.size, r->seg.ndocs, r->ndead};
  }
}

/* Does the merges the policy (merge_policy.c) plans, one at a time, each
 * planned over the segments the one before left, until it wants none. */
static int maybe_merge(kidx_writer *w) {
  /* Sized for the segment count now: every merge leaves fewer segments,
   * or as many (a rewrite). */
  size_t cap = w->snap.nsegs ? w->snap.nsegs : 1;
  kidx__merge_seg *d = malloc(cap * sizeof *d);
  size_t *which = malloc(cap * sizeof *which);
  kidx__merge_options opt = {w->merge_factor};
  kidx__merge m = {which, 0, KIDX__MERGE_NONE, 0};
  int rc =
      d && which ? KIDX_OK : kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  while (!rc) {
    describe(w, d);
    if (!kidx__merge_plan_next(d, w->snap.nsegs, &opt, &m))
      break;
    rc = merge(w, m.which, m.n);
  }
  free(d);
  free(which);
  return rc;
}

/* ---- documents ---- */

/* The batch's memory is over budget: flush it, and merge. */
static int after_add(kidx_writer *w) {
  if (kidx__memindex_bytes(w->mi) < w->ram_budget)
    return KIDX_OK;
  int rc = flush(w);
  /* The document is in: a failed merge (optional, its sources intact)
   * must not report it as not added. */
  if (!rc) {
    (void)maybe_merge(w);
    w->errmsg[0] = 0;
  }
  /* The mapped segments were read by lookups and merges: give their pages
   * back, so that the resident set stays near the budget. */
  for (size_t i = 0; i < w->snap.nsegs; i++)
    kidx__fs_map_release(&w->snap.segs[i].seg.map);
  return rc;
}

/* Makes sure segment seg has a deletion bitmap, so that marking a
 * document deleted cannot fail afterwards. */
static int need_bitmap(kidx_writer *w, size_t seg) {
  kidx__segref *r = &w->snap.segs[seg];
  if (!r->dead && !(r->dead = calloc((size_t)(r->seg.ndocs / 8 + 1), 1)))
    return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  return KIDX_OK;
}

/* Marks local document doc of segment seg (with a bitmap) deleted. */
static void mark_deleted(kidx_writer *w, size_t seg, uint32_t doc) {
  kidx__segref *r = &w->snap.segs[seg];
  if (!kidx__bit_get(r->dead, doc)) {
    kidx__bit_set(r->dead, doc);
    r->ndead++;
    w->snap.live--;
    w->changed = 1;
  }
}

static int add_doc(kidx_writer *w, const char *id, size_t id_len,
                   const char *title, size_t title_len, const char *body,
                   size_t body_len, const kidx_stamp *stamp) {
  size_t seg = 0;
  uint32_t doc = 0, replaced;
  int in_seg = kidx__snapshot_find_id(&w->snap, id, id_len, &seg, &doc);
  if (in_seg < 0)
    return kidx__segment_damage(&w->snap.segs[seg].seg, w->errmsg);
  /* The bitmap first, so that a failure leaves nothing half done. */
  int rc = in_seg ? need_bitmap(w, seg) : KIDX_OK;
  if (rc)
    return rc;
  rc = kidx__memindex_add(w->mi, id, id_len, title, title_len, body, body_len,
                          stamp, &replaced);
  if (rc)
    return kidx__err(w->errmsg, rc, "cannot add document '%.*s': %s",
                     (int)id_len, id, kidx_strerror((kidx_status)rc));
  if (in_seg)
    mark_deleted(w, seg, doc); /* replaced by the batch's copy */
  w->pending++;
  return after_add(w);
}

kidx_status kidx_writer_add(kidx_writer *w, const char *id, size_t id_len,
                            const char *title, size_t title_len,
                            const char *body, size_t body_len) {
  return kidx_writer_add_stamped(w, id, id_len, title, title_len, body,
                                 body_len, NULL);
}

kidx_status kidx_writer_add_stamped(kidx_writer *w, const char *id,
                                    size_t id_len, const char *title,
                                    size_t title_len, const char *body,
                                    size_t body_len, const kidx_stamp *stamp) {
  if (!w)
    return KIDX_EINVAL;
  int rc = check_open(w);
  if (rc)
    return rc;
  if (!id || id_len == 0 || id_len > 65535)
    return kidx__err(w->errmsg, KIDX_EINVAL,
                     "document id must be 1 to 65535 bytes (got %zu)",
                     id ? id_len : 0);
  if ((!title && title_len) || (!body && body_len))
    return kidx__err(w->errmsg, KIDX_EINVAL, "NULL text with nonzero length");
  /* Positions are 32-bit and every word takes at least one byte, so the
   * text must stay below 4 GiB in all. */
  if (title_len > UINT32_MAX - 2 || body_len > UINT32_MAX - 2 - title_len)
    return kidx__err(w->errmsg, KIDX_ETOOBIG,
                     "document '%.*s' is larger than 4 GiB", (int)id_len, id);
  return add_doc(w, id, id_len, title, title_len, body, body_len, stamp);
}

/* The live document with this id, in the batch (*seg = SIZE_MAX) or in
 * segment *seg: 1 and its record, or 0. */
static int find_doc(kidx_writer *w, const char *id, size_t id_len, size_t *seg,
                    uint32_t *doc, kidx__docinfo *d) {
  if (!id)
    return 0;
  if (kidx__memindex_find(w->mi, id, id_len, doc)) {
    *seg = SIZE_MAX;
    kidx__memindex_doc(w->mi, *doc, d);
    return 1;
  }
  int found = kidx__snapshot_find_id(&w->snap, id, id_len, seg, doc);
  if (found > 0 && kidx__segment_key(&w->snap.segs[*seg].seg, *doc, d))
    found = KIDX_ECORRUPT;
  /* the key only: a lookup must not read the stored text */
  if (found < 0)
    return kidx__segment_damage(&w->snap.segs[*seg].seg, w->errmsg);
  return found;
}

static int not_found(kidx_writer *w, const char *id, size_t id_len) {
  return kidx__err(w->errmsg, KIDX_ENOTFOUND, "no document with id '%.*s'",
                   (int)id_len, id ? id : "");
}

kidx_status kidx_writer_stamp(kidx_writer *w, const char *id, size_t id_len,
                              kidx_stamp *out) {
  if (!w || !out)
    return KIDX_EINVAL;
  int rc = check_open(w);
  if (rc)
    return rc;
  size_t seg;
  uint32_t doc;
  kidx__docinfo d;
  int found = find_doc(w, id, id_len, &seg, &doc, &d);
  if (found <= 0)
    return found < 0 ? found : not_found(w, id, id_len);
  *out = d.stamp;
  return KIDX_OK;
}

kidx_status kidx_writer_restamp(kidx_writer *w, const char *id, size_t id_len,
                                const kidx_stamp *stamp) {
  if (!w || !stamp)
    return KIDX_EINVAL;
  int rc = check_open(w);
  if (rc)
    return rc;
  size_t seg;
  uint32_t doc;
  kidx__docinfo d;
  int found = find_doc(w, id, id_len, &seg, &doc, &d);
  if (found <= 0)
    return found < 0 ? found : not_found(w, id, id_len);
  if (seg == SIZE_MAX) {
    kidx__memindex_restamp(w->mi, doc, stamp);
    w->pending++;
    return KIDX_OK;
  }
  /* Segments never change: the document is added again, from its stored
   * text, with the new stamp (analysis is deterministic, so its postings
   * come out the same), replacing the old copy. */
  kidx__textcache tc = {0};
  rc = kidx__segment_doc(&w->snap.segs[seg].seg, doc, &tc, &d);
  if (rc == KIDX_ENOMEM)
    rc = kidx__err(w->errmsg, rc, "out of memory");
  else if (rc)
    rc = kidx__segment_damage(&w->snap.segs[seg].seg, w->errmsg);
  else
    rc = add_doc(w, d.id, d.id_len, d.title, d.title_len, d.body, d.body_len,
                 stamp);
  kidx__textcache_free(&tc);
  return rc;
}

kidx_status kidx_writer_foreach(kidx_writer *w,
                                int (*fn)(void *ctx, const char *id,
                                          size_t id_len,
                                          const kidx_stamp *stamp),
                                void *ctx) {
  if (!w || !fn)
    return KIDX_EINVAL;
  int rc = check_open(w);
  if (rc)
    return rc;
  kidx__docinfo d;
  for (size_t s = 0; s < w->snap.nsegs; s++) {
    const kidx__segref *r = &w->snap.segs[s];
    for (uint64_t i = 0; i < r->seg.ndocs; i++) {
      if (kidx__bit_get(r->dead, i))
        continue;
      if (kidx__segment_key(&r->seg, (uint32_t)i, &d))
        return kidx__segment_damage(&r->seg, w->errmsg);
      if (fn(ctx, d.id, d.id_len, &d.stamp))
        return KIDX_OK;
    }
  }
  for (uint32_t i = 0; i < kidx__memindex_ndocs(w->mi); i++) {
    kidx__memindex_doc(w->mi, i, &d);
    if (!d.deleted && fn(ctx, d.id, d.id_len, &d.stamp))
      return KIDX_OK;
  }
  return KIDX_OK;
}

uint64_t kidx_stamp_hash(const void *data, size_t len) {
  return kidx__hash_bytes(data ? data : "", data ? len : 0);
}

kidx_status kidx_writer_delete(kidx_writer *w, const char *id, size_t id_len) {
  if (!w)
    return KIDX_EINVAL;
  int rc = check_open(w);
  if (rc)
    return rc;
  if (!id || id_len == 0)
    return kidx__err(w->errmsg, KIDX_EINVAL, "empty document id");
  size_t seg;
  uint32_t doc;
  /* An id is live in one place at most: the batch replaced any segment
   * copy when it was added. */
  if (kidx__memindex_delete(w->mi, id, id_len) == KIDX_OK) {
    w->pending++;
    return KIDX_OK;
  }
  int found = kidx__snapshot_find_id(&w->snap, id, id_len, &seg, &doc);
  if (found < 0)
    return kidx__segment_damage(&w->snap.segs[seg].seg, w->errmsg);
  if (!found)
    return not_found(w, id, id_len);
  if ((rc = need_bitmap(w, seg)))
    return rc;
  mark_deleted(w, seg, doc);
  w->pending++;
  return KIDX_OK;
}

/* ---- metadata ---- */

kidx_status kidx_writer_set_metadata(kidx_writer *w, const char *key,
                                     size_t key_len, const char *value,
                                     size_t value_len) {
  if (!w)
    return KIDX_EINVAL;
  int rc = check_open(w);
  if (rc)
    return rc;
  if ((!key && key_len) || (!value && value_len))
    return kidx__err(w->errmsg, KIDX_EINVAL,
                     "NULL metadata with nonzero length");
  if (!value)
    value_len = 0;
  int changed;
  rc = kidx__meta_set(&w->snap.meta, key, key_len, value, value_len, &changed);
  if (rc == KIDX_EINVAL)
    return kidx__err(w->errmsg, rc,
                     "metadata key must be 1 to %u bytes (got %zu)",
                     (unsigned)KIDX_MAX_METADATA_KEY, key_len);
  if (rc == KIDX_ETOOBIG)
    return kidx__err(w->errmsg, rc,
                     "metadata of the index at %s would exceed %zu bytes "
                     "(key '%.*s', value of %zu bytes)",
                     w->dir, KIDX_MAX_METADATA_BYTES, (int)key_len, key,
                     value_len);
  if (rc)
    return kidx__err(w->errmsg, rc, "out of memory");
  if (changed)
    w->meta_changed = 1; /* published by the next commit, if still so */
  return KIDX_OK;
}

kidx_status kidx_writer_get_metadata(const kidx_writer *w, const char *key,
                                     size_t key_len, const char **value,
                                     size_t *value_len) {
  if (!w || !w->open)
    return KIDX_EINVAL;
  return kidx__meta_get(&w->snap.meta, key, key_len, value, value_len);
}

/* Writes and publishes the manifest of the writer's segments. */
static int publish(kidx_writer *w) {
  kidx__manifest m;
  memset(&m, 0, sizeof m);
  m.generation = w->snap.generation + 1;
  m.next_segment = w->snap.next_segment;
  m.an_flags = w->an_flags;
  m.meta = w->snap.meta; /* borrowed, like the bitmaps below */
  m.nsegs = w->snap.nsegs;
  m.segs = calloc(m.nsegs ? m.nsegs : 1, sizeof *m.segs);
  if (!m.segs)
    return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  for (size_t i = 0; i < m.nsegs; i++) {
    const kidx__segref *r = &w->snap.segs[i];
    kidx__manifest_seg *e = &m.segs[i];
    e->number = r->number;
    e->size = r->seg.map.size;
    e->ndocs = r->seg.ndocs;
    e->ndead = r->ndead;
    e->header_crc = r->seg.header_crc;
    e->dead = r->dead; /* borrowed: m.segs is freed, not the bitmaps */
  }
  /* Both possible lists of files to keep, made before the rename so that
   * nothing can fail once it has happened. */
  size_t nnew = 0, nboth = 0;
  uint64_t *now = segment_numbers(w, 0, &nnew);
  uint64_t *both = segment_numbers(w, 1, &nboth);
  int rc = now && both ? kidx__manifest_write(w->manifest_tmp, &m, w->errmsg)
                       : kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  free(m.segs);
  int renamed = 0;
  if (!rc)
    rc = kidx__fs_publish(w->manifest_tmp, w->manifest, w->dir, &renamed,
                          w->errmsg);
  if (!renamed) {
    free(now);
    free(both);
    return rc; /* nothing published: the caller may retry */
  }
  /* Published.  The commit is done even when flushing the directory failed
   * (rc): readers see it.  But then a power loss could bring back the old
   * MANIFEST, so the old commit's files must stay too. */
  w->snap.generation = m.generation;
  w->pending = 0;
  w->changed = 0;
  w->meta_changed = 0;
  if (rc) {
    set_published(w, both, nboth);
    free(now);
    return rc;
  }
  set_published(w, now, nnew);
  free(both);
  /* Durable: files only older commits list can go.  (Readers that mapped
   * them keep their mappings.) */
  cleanup(w);
  return KIDX_OK;
}

/* Whether the metadata is what the last commit holds: set to other values
 * and back (a caller that rewrites a key with each run, say), it is no
 * change, and a commit of it alone would be a new generation for
 * nothing.  The MANIFEST on disk is that commit (the lock is held), read
 * again only in this case; when it cannot be read, the metadata is taken
 * for changed, which at worst commits what is there. */
static int meta_as_committed(kidx_writer *w) {
  kidx__manifest m;
  char errmsg[KIDX__ERRMSG_MAX];
  if (kidx__manifest_read(w->manifest, &m, errmsg) != KIDX_OK)
    return 0;
  const kidx__meta *a = &m.meta, *b = &w->snap.meta;
  int same = a->n == b->n;
  for (size_t i = 0; same && i < a->n; i++) {
    const kidx__meta_entry *x = &a->e[i], *y = &b->e[i];
    same = x->key_len == y->key_len && x->value_len == y->value_len &&
           !memcmp(x->key, y->key, x->key_len) &&
           !memcmp(x->value, y->value, x->value_len);
  }
  kidx__manifest_free(&m);
  return same;
}

static int commit(kidx_writer *w) {
  int rc = flush(w);
  if (rc)
    return rc; /* nothing published: the caller may retry */
  /* Merging is an optimisation: a merge that fails (a full disk, with
   * room for the new segment but not for the merge) must not keep the
   * flushed documents from being committed.  Its sources are intact. */
  (void)maybe_merge(w);
  w->errmsg[0] = 0;
  if (!w->changed && w->meta_changed && meta_as_committed(w))
    w->meta_changed = 0;
  if (!w->changed && !w->meta_changed) {
    w->pending = 0;
    return KIDX_OK;
  }
  return publish(w);
}

kidx_status kidx_writer_commit(kidx_writer *w) {
  if (!w)
    return KIDX_EINVAL;
  int rc = check_open(w);
  if (rc)
    return rc;
  return commit(w);
}

kidx_status kidx_writer_optimize(kidx_writer *w) {
  if (!w)
    return KIDX_EINVAL;
  int rc = check_open(w);
  if (rc)
    return rc;
  if ((rc = flush(w)))
    return rc;
  size_t cap = w->snap.nsegs ? w->snap.nsegs : 1;
  kidx__merge_seg *d = malloc(cap * sizeof *d);
  size_t *which = malloc(cap * sizeof *which);
  kidx__merge m = {which, 0, KIDX__MERGE_NONE, 0};
  if (!d || !which)
    rc = kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  if (!rc) {
    describe(w, d);
    if (kidx__merge_plan_all(d, w->snap.nsegs, &m))
      rc = merge(w, m.which, m.n);
  }
  free(d);
  free(which);
  return rc;
}

uint64_t kidx_writer_pending(const kidx_writer *w) {
  return w && w->open ? w->pending : 0;
}

void kidx_writer_close(kidx_writer *w) {
  if (!w)
    return;
  release(w);
  free(w);
}

const char *kidx_writer_errmsg(const kidx_writer *w) {
  return w ? w->errmsg : "no writer";
}
