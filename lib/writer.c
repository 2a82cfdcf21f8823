/*
 * writer.c -- the public write API: kidx_writer.  Top of the dependency
 * order, with reader.c.
 *
 * A writer holds the directory's lock file, the committed index file
 * mapped as its "base", a map from the base's document ids to their
 * numbers, a byte per base document saying whether the pending batch
 * deletes (or replaces) it, and the batch itself (memindex.c).  Commit
 * merges base and batch into a new file (segwrite.c) under a temporary
 * name and publishes it with an atomic rename (fs.c); then the new file
 * becomes the base.  Until that rename, readers -- and a crash -- see only
 * the previous commit.
 */
#include "kidx_int.h"

#include <stdlib.h>

#define NO_DOC UINT32_MAX

struct kidx_writer {
  int open;
  char *dir;
  char *path;     /* dir/index.kidx */
  char *tmp_path; /* dir/index.kidx.tmp */
  int lock_fd;
  int have_base;
  kidx__segment base;
  kidx__strmap *base_ids; /* id -> base document number */
  uint8_t *deleted;       /* per base document: KIDX__BASE_* */
  kidx_stamp *restamp;    /* per base document, once one is restamped */
  kidx__memindex *mi;
  unsigned an_flags; /* the index's analysis (KIDX__AN_*) */
  int an_set;        /* chosen with kidx_writer_set_analyzer */
  uint64_t pending;  /* adds and deletes since the last commit */
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

/* Drops the base and the batch (not the lock). */
static void reset_state(kidx_writer *w) {
  if (w->have_base)
    kidx__segment_close(&w->base);
  w->have_base = 0;
  kidx__strmap_free(w->base_ids);
  w->base_ids = NULL;
  free(w->deleted);
  w->deleted = NULL;
  free(w->restamp);
  w->restamp = NULL;
  kidx__memindex_free(w->mi);
  w->mi = NULL;
  w->pending = 0;
}

/* Back to the state after kidx_writer_new: no base, no batch, no lock. */
static void release(kidx_writer *w) {
  reset_state(w);
  kidx__fs_unlock(w->lock_fd);
  w->lock_fd = -1;
  free(w->dir);
  free(w->path);
  free(w->tmp_path);
  w->dir = w->path = w->tmp_path = NULL;
  w->open = 0;
}

/* Maps the committed index (if any) and starts an empty batch on it. */
static int load_base(kidx_writer *w) {
  int rc = kidx__segment_open(&w->base, w->path, w->errmsg);
  if (rc == KIDX_ENOINDEX) {
    w->errmsg[0] = 0;
  } else if (rc) {
    return rc;
  } else {
    w->have_base = 1;
    if (w->an_set && w->an_flags != w->base.an_flags) {
      char diff[256];
      kidx__analyzer_describe_diff(w->base.an_flags, w->an_flags, diff,
                                   sizeof diff);
      return kidx__err(w->errmsg, KIDX_EINVAL,
                       "the index at %s was created with %s; the analysis "
                       "of an index cannot change (delete it to rebuild)",
                       w->dir, diff);
    }
    w->an_flags = w->base.an_flags;
  }
  if (kidx__memindex_new(&w->mi, w->an_flags) || kidx__strmap_new(&w->base_ids))
    return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  uint64_t n = w->have_base ? w->base.ndocs : 0;
  w->deleted = calloc(n ? n : 1, 1);
  if (!w->deleted)
    return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
  for (uint64_t d = 0; d < n; d++) {
    kidx__docinfo info;
    uint32_t old;
    int found;
    kidx__segment_doc(&w->base, (uint32_t)d, &info); /* verified at open */
    if (kidx__strmap_upsert(w->base_ids, info.id, info.id_len, (uint32_t)d,
                            &old, &found))
      return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
    if (found)
      return kidx__err(w->errmsg, KIDX_ECORRUPT,
                       "%s is damaged: document id '%.*s' appears twice",
                       w->path, (int)info.id_len, info.id);
  }
  return KIDX_OK;
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
  w->dir = malloc(strlen(dir) + 1);
  w->path = kidx__path_join(dir, KIDX__INDEX_FILE);
  w->tmp_path = kidx__path_join(dir, KIDX__INDEX_FILE ".tmp");
  if (!lock || !w->dir || !w->path || !w->tmp_path) {
    rc = kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
    goto fail;
  }
  memcpy(w->dir, dir, strlen(dir) + 1);
  if ((rc = kidx__fs_lock(lock, &w->lock_fd, w->errmsg)))
    goto fail;
  /* Holding the lock, any temporary file is a leftover of a writer that
   * died before publishing: it was never visible, so remove it. */
  kidx__fs_remove(w->tmp_path);
  if ((rc = load_base(w)))
    goto fail;
  free(lock);
  w->open = 1;
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
  int rc = kidx__memindex_status(w->mi);
  if (rc)
    return kidx__err(w->errmsg, rc,
                     "an earlier failure (%s) left the batch unusable; close "
                     "the writer (the last commit is intact)",
                     kidx_strerror((kidx_status)rc));
  return KIDX_OK;
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
  uint32_t replaced;
  rc = kidx__memindex_add(w->mi, id, id_len, title, title_len, body, body_len,
                          stamp, &replaced);
  if (rc)
    return kidx__err(w->errmsg, rc, "cannot add document '%.*s': %s",
                     (int)id_len, id, kidx_strerror((kidx_status)rc));
  uint32_t d;
  if (kidx__strmap_get(w->base_ids, id, id_len, &d))
    w->deleted[d] = KIDX__BASE_DROP; /* replaced on commit */
  w->pending++;
  return KIDX_OK;
}

/* The live base document with this id: 1 and *doc, or 0. */
static int base_live(const kidx_writer *w, const char *id, size_t id_len,
                     uint32_t *doc) {
  return kidx__strmap_get(w->base_ids, id, id_len, doc) &&
         w->deleted[*doc] != KIDX__BASE_DROP;
}

/* Base document doc as the next commit will write it. */
static void base_doc(const kidx_writer *w, uint32_t doc, kidx__docinfo *d) {
  kidx__segment_doc(&w->base, doc, d); /* verified at open */
  if (w->deleted[doc] == KIDX__BASE_RESTAMP)
    d->stamp = w->restamp[doc];
}

kidx_status kidx_writer_stamp(kidx_writer *w, const char *id, size_t id_len,
                              kidx_stamp *out) {
  if (!w || !out)
    return KIDX_EINVAL;
  int rc = check_open(w);
  if (rc)
    return rc;
  uint32_t doc;
  kidx__docinfo d;
  if (id && kidx__memindex_find(w->mi, id, id_len, &doc))
    kidx__memindex_doc(w->mi, doc, &d);
  else if (id && base_live(w, id, id_len, &doc))
    base_doc(w, doc, &d);
  else
    return kidx__err(w->errmsg, KIDX_ENOTFOUND, "no document with id '%.*s'",
                     (int)id_len, id ? id : "");
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
  uint32_t doc;
  if (id && kidx__memindex_find(w->mi, id, id_len, &doc)) {
    kidx__memindex_restamp(w->mi, doc, stamp);
  } else if (id && base_live(w, id, id_len, &doc)) {
    if (!w->restamp &&
        !(w->restamp = calloc(w->base.ndocs, sizeof *w->restamp)))
      return kidx__err(w->errmsg, KIDX_ENOMEM, "out of memory");
    w->restamp[doc] = *stamp;
    w->deleted[doc] = KIDX__BASE_RESTAMP;
  } else {
    return kidx__err(w->errmsg, KIDX_ENOTFOUND, "no document with id '%.*s'",
                     (int)id_len, id ? id : "");
  }
  w->pending++;
  return KIDX_OK;
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
  for (uint64_t i = 0; w->have_base && i < w->base.ndocs; i++) {
    if (w->deleted[i] == KIDX__BASE_DROP)
      continue;
    base_doc(w, (uint32_t)i, &d);
    if (fn(ctx, d.id, d.id_len, &d.stamp))
      return KIDX_OK;
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
  int in_batch = kidx__memindex_delete(w->mi, id, id_len) == KIDX_OK;
  uint32_t d;
  int in_base = base_live(w, id, id_len, &d);
  if (in_base)
    w->deleted[d] = KIDX__BASE_DROP;
  if (!in_batch && !in_base)
    return kidx__err(w->errmsg, KIDX_ENOTFOUND, "no document with id '%.*s'",
                     (int)id_len, id);
  w->pending++;
  return KIDX_OK;
}

kidx_status kidx_writer_commit(kidx_writer *w) {
  if (!w)
    return KIDX_EINVAL;
  int rc = check_open(w);
  if (rc)
    return rc;
  /* Nothing to do, unless no index file exists yet: then write an empty
   * one, so that readers find an index where one was created. */
  if (w->pending == 0 && w->have_base)
    return KIDX_OK;
  rc = kidx__segment_write(w->tmp_path, w->have_base ? &w->base : NULL,
                           w->deleted, w->restamp, w->mi, w->an_flags,
                           w->errmsg);
  if (!rc)
    rc = kidx__fs_publish(w->tmp_path, w->path, w->dir, w->errmsg);
  if (rc)
    return rc; /* the batch is kept: the caller may retry */
  /* The new file is now the committed index: make it the base. */
  reset_state(w);
  if ((rc = load_base(w))) {
    /* The commit is published; only this handle's view of it failed.  The
     * handle cannot go on without it: release the lock and everything else
     * now, so that the index is not locked until the handle is closed. */
    char why[KIDX__ERRMSG_MAX];
    memcpy(why, w->errmsg, sizeof why);
    release(w);
    return kidx__err(w->errmsg, rc,
                     "the commit was published, but reopening it failed: %s; "
                     "close the writer",
                     why);
  }
  return KIDX_OK;
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
