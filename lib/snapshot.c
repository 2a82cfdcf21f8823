/*
 * snapshot.c -- one commit, opened: the segment files its MANIFEST lists
 * (manifest.c), each mapped (segment.c: its pages are verified when
 * first read, not at open), with its deletion
 * bitmap, and the statistics of the whole index.  Used by reader.c (a
 * reader is a snapshot) and writer.c (which starts from one).
 *
 * Index-wide statistics (N, the fields' total lengths, and a term's
 * document frequency) count live documents only, over all segments, so a
 * document scores the same whether the index is one segment or many, and
 * with deleted documents still in their segments or merged away.
 *
 * Readers take no lock.  A writer may publish a new commit and remove the
 * files the old one used while a reader opens; the reader then finds a
 * file missing, and reads the (new) manifest again.  Once mapped, a
 * removed file stays readable, so an open snapshot never changes.
 *
 * Readers reopen by opening a new snapshot from an old one: segment files
 * are immutable and never reuse a number within an index, so the segments
 * both commits list are taken from the old snapshot as they are (mapped
 * and verified once), shared by reference counting, and only the new ones
 * are mapped.  Deletion bitmaps are not part of the files: each snapshot
 * has its own, from its MANIFEST.
 */
#include "kidx_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* A segment mapping held by the snapshots of one or more readers (the one
 * that mapped it and those opened from it since).  Readers may be closed
 * by different threads, hence the atomic count; the last one unmaps. */
struct kidx__segshare {
  kidx__segment seg;
  atomic_size_t refs;
};

/* How often to read the manifest again when a writer keeps replacing
 * segments under an opening reader.  Each retry means a whole new commit
 * was published during the open, so this is never reached in practice. */
#define OPEN_RETRIES 100

/* Lets go of r's mapping: unmaps it if r owns it or held the last
 * reference to it. */
static void segref_release(kidx__segref *r) {
  kidx__segshare *sh = r->share;
  if (!sh) {
    kidx__segment_close(&r->seg);
  } else if (atomic_fetch_sub_explicit(&sh->refs, 1, memory_order_acq_rel) ==
             1) {
    kidx__segment_close(&sh->seg);
    free(sh);
  }
  r->share = NULL;
}

void kidx__snapshot_close(kidx__snapshot *s) {
  for (size_t i = 0; s->segs && i < s->nsegs; i++) {
    segref_release(&s->segs[i]);
    free(s->segs[i].path);
    free(s->segs[i].dead);
  }
  free(s->segs);
  free(s->dir);
  kidx__meta_free(&s->meta);
  memset(s, 0, sizeof *s);
}

int kidx__snapshot_update(kidx__snapshot *s, char *errmsg) {
  s->ndocs = s->live = 0;
  s->tokens[0] = s->tokens[1] = 0;
  for (size_t i = 0; i < s->nsegs; i++) {
    kidx__segref *r = &s->segs[i];
    r->base = s->ndocs;
    s->ndocs += r->seg.ndocs;
    s->live += r->seg.ndocs - r->ndead;
    uint64_t title = r->seg.title_tokens;
    uint64_t body = r->seg.ntokens - r->seg.title_tokens;
    for (uint64_t d = 0; r->ndead && d < r->seg.ndocs; d++) {
      /* Whole bytes without a deletion at once (as kidx__segref_live_df):
       * a reopen after a few deletions costs ndocs / 8 byte tests. */
      if ((d & 7) == 0 && r->dead[d >> 3] == 0) {
        d += 7;
        continue;
      }
      if (kidx__bit_get(r->dead, d)) {
        uint32_t t, b;
        if (kidx__segment_doclens(&r->seg, (uint32_t)d, &t, &b))
          return kidx__segment_damage(&r->seg, errmsg);
        /* kidx check verifies the sums; here they must not wrap */
        title -= t < title ? t : title;
        body -= b < body ? b : body;
      }
    }
    s->tokens[0] += title;
    s->tokens[1] += body;
  }
  /* Global numbers are uint32_t, and UINT32_MAX marks "no document". */
  if (s->ndocs >= UINT32_MAX)
    return kidx__err(errmsg, KIDX_ETOOBIG,
                     "the index at %s holds too many documents (limit %u)",
                     s->dir, UINT32_MAX - 1);
  return KIDX_OK;
}

/* Whether the mapped segment seg is the file entry e describes. */
static int is_entry(const kidx__segment *seg, const kidx__manifest_seg *e) {
  return seg->map.size == e->size && seg->ndocs == e->ndocs &&
         seg->header_crc == e->header_crc;
}

/* The shared segment of from that is entry e's file, or NULL.  A linear
 * scan: a commit holds a few dozen segments at most (merge_policy.c). */
static const kidx__segref *find_shared(const kidx__snapshot *from,
                                       const kidx__manifest_seg *e,
                                       unsigned an_flags) {
  for (size_t i = 0; from && i < from->nsegs; i++) {
    const kidx__segref *r = &from->segs[i];
    /* The number alone is not enough: an index deleted and created again
     * in the same directory numbers its segments from 1 again. */
    if (r->share && r->number == e->number && is_entry(&r->seg, e) &&
        r->seg.an_flags == an_flags)
      return r;
  }
  return NULL;
}

/* Puts r's freshly opened segment under a share of one reference. */
static int share_segment(kidx__segref *r, char *errmsg) {
  kidx__segshare *sh = malloc(sizeof *sh);
  if (!sh) {
    kidx__segment_close(&r->seg);
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  }
  sh->seg = r->seg;
  atomic_init(&sh->refs, 1);
  r->share = sh;
  return KIDX_OK;
}

/* Opens the segments of manifest m into s, taking those that from (may
 * be NULL) has from it, and putting the others under shares if `shared`.
 * KIDX_ENOINDEX when a file is missing (a writer may have removed it:
 * the caller retries). */
static int open_segments(kidx__snapshot *s, kidx__manifest *m,
                         const kidx__snapshot *from, int shared, char *errmsg) {
  s->generation = m->generation;
  s->next_segment = m->next_segment;
  s->an_flags = m->an_flags;
  s->bytes = m->bytes;
  s->meta = m->meta; /* moved from the manifest */
  memset(&m->meta, 0, sizeof m->meta);
  s->segs = calloc(m->nsegs ? m->nsegs : 1, sizeof *s->segs);
  if (!s->segs)
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  for (size_t i = 0; i < m->nsegs; i++) {
    kidx__manifest_seg *e = &m->segs[i];
    kidx__segref *r = &s->segs[i];
    char name[KIDX__SEGNAME_MAX];
    kidx__segment_name(e->number, name);
    if (!(r->path = kidx__path_join(s->dir, name)))
      return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
    s->nsegs++; /* from here on, closing the snapshot frees r */
    const kidx__segref *had = find_shared(from, e, s->an_flags);
    if (had) {
      r->seg = had->seg;
      r->share = had->share;
      atomic_fetch_add_explicit(&r->share->refs, 1, memory_order_relaxed);
    } else {
      int rc = kidx__segment_open(&r->seg, r->path, errmsg);
      if (!rc && shared)
        rc = share_segment(r, errmsg);
      if (rc)
        return rc;
    }
    r->number = e->number;
    r->dead = e->dead; /* moved from the manifest */
    r->ndead = e->ndead;
    e->dead = NULL;
    if (r->seg.map.size != e->size || r->seg.ndocs != e->ndocs ||
        r->seg.header_crc != e->header_crc)
      return kidx__err(errmsg, KIDX_ECORRUPT,
                       "%s is damaged: it is not the file the manifest "
                       "lists (size, documents or checksum differ)",
                       r->path);
    if (r->seg.an_flags != s->an_flags)
      return kidx__err(errmsg, KIDX_ECORRUPT,
                       "%s is damaged: its analysis settings differ from "
                       "the manifest's",
                       r->path);
    s->bytes += r->seg.map.size;
  }
  return kidx__snapshot_update(s, errmsg);
}

static int open_latest(kidx__snapshot *s, const char *dir,
                       const kidx__snapshot *from, int shared, char *errmsg) {
  memset(s, 0, sizeof *s);
  char *mpath = kidx__path_join(dir, KIDX__MANIFEST_FILE);
  char *old = kidx__path_join(dir, KIDX__OLD_INDEX_FILE);
  int rc = KIDX_OK;
  if (!mpath || !old) {
    rc = kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
    goto done;
  }
  uint64_t last_generation = 0;
  for (int attempt = 0;; attempt++) {
    kidx__manifest m;
    rc = kidx__manifest_read(mpath, &m, errmsg);
    if (rc == KIDX_ENOINDEX && kidx__fs_exists(old)) {
      rc = kidx__err(errmsg, KIDX_EFORMAT,
                     "%s is an index of an older format (version 6 or "
                     "before); this kidx reads versions %u and %u (rebuild "
                     "the index)",
                     dir, (unsigned)KIDX__MANIFEST_V7,
                     (unsigned)KIDX__MANIFEST_V8);
      goto done;
    }
    if (rc == KIDX_ENOINDEX)
      kidx__err(errmsg, rc, "no index at %s", dir);
    if (rc)
      goto done;
    size_t dlen = strlen(dir);
    if (!(s->dir = malloc(dlen + 1))) {
      kidx__manifest_free(&m);
      rc = kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
      goto done;
    }
    memcpy(s->dir, dir, dlen + 1);
    rc = open_segments(s, &m, from, shared, errmsg);
    uint64_t generation = m.generation;
    kidx__manifest_free(&m);
    if (rc != KIDX_ENOINDEX)
      break;
    /* A segment file is missing.  If the manifest has changed since, a
     * writer removed it after publishing a newer commit: start again.
     * If it has not, the file was lost: the index is damaged. */
    kidx__snapshot_close(s);
    if ((attempt > 0 && generation == last_generation) ||
        attempt == OPEN_RETRIES) {
      char msg[KIDX__ERRMSG_MAX];
      memcpy(msg, errmsg, sizeof msg);
      rc = kidx__err(errmsg, KIDX_ECORRUPT,
                     "the index at %s is damaged: a segment file it lists "
                     "is missing (%s)",
                     dir, msg);
      goto done;
    }
    last_generation = generation;
  }
  if (rc)
    kidx__snapshot_close(s);
done:
  free(mpath);
  free(old);
  return rc;
}

int kidx__snapshot_open(kidx__snapshot *s, const char *dir, char *errmsg) {
  return open_latest(s, dir, NULL, 0, errmsg);
}

int kidx__snapshot_open_shared(kidx__snapshot *s, const char *dir,
                               const kidx__snapshot *from, char *errmsg) {
  return open_latest(s, dir, from, 1, errmsg);
}

size_t kidx__snapshot_seg_of(const kidx__snapshot *s, uint32_t doc) {
  size_t lo = 0, hi = s->nsegs;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->segs[mid].base <= doc)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

int kidx__snapshot_key(const kidx__snapshot *s, uint32_t doc,
                       kidx__docinfo *out, char *errmsg) {
  const kidx__segref *r = &s->segs[kidx__snapshot_seg_of(s, doc)];
  if (kidx__segment_key(&r->seg, (uint32_t)(doc - r->base), out))
    return kidx__segment_damage(&r->seg, errmsg);
  return KIDX_OK;
}

int kidx__snapshot_doc(const kidx__snapshot *s, uint32_t doc,
                       kidx__textcache *tc, kidx__docinfo *out, char *errmsg) {
  const kidx__segref *r = &s->segs[kidx__snapshot_seg_of(s, doc)];
  int rc = kidx__segment_doc(&r->seg, (uint32_t)(doc - r->base), tc, out);
  if (rc == KIDX_ENOMEM)
    return kidx__err(errmsg, rc, "out of memory");
  if (rc)
    return kidx__segment_damage(&r->seg, errmsg);
  return KIDX_OK;
}

int kidx__segref_live_df(const kidx__segref *r, const kidx__term *t,
                         uint64_t *df) {
  *df = t->df;
  if (r->ndead == 0)
    return KIDX_OK;
  /* Large (block arrays): a segment of many deletions is rare, a
   * deep stack is not ours to take. */
  kidx__pcur *c = malloc(sizeof *c);
  if (!c)
    return KIDX_ENOMEM;
  /* Pages are verified as the probes reach them: only the blocks that
   * hold deleted documents are read. */
  int rc = kidx__pcur_init_checked(c, t->post, t->post_len, t->df, r->seg.ndocs,
                                   kidx__segment_postings_check, &r->seg);
  /* Walk the deleted documents in order, each probe moving the cursor
   * forward with the block table: a few deletions cost a few block
   * decodes, many cost at most one pass over the list. */
  for (uint64_t d = 0; d < r->seg.ndocs && rc == KIDX_OK; d++) {
    /* Whole bytes without a deletion are skipped at once: the scan costs
     * ndocs / 8 byte tests, not one per document. */
    if ((d & 7) == 0 && r->dead[d >> 3] == 0) {
      d += 7;
      continue;
    }
    if (!kidx__bit_get(r->dead, d))
      continue;
    int on = kidx__pcur_advance(c, d);
    if (on < 0)
      rc = on;
    else if (on == 0)
      break; /* past the list's last document */
    else if (c->doc == d)
      (*df)--;
  }
  free(c);
  return rc;
}

int kidx__snapshot_find_id(const kidx__snapshot *s, const char *id, size_t len,
                           size_t *seg, uint32_t *doc) {
  /* Newest segments first: an id lives in at most one place, but the
   * recent segments are the small ones. */
  for (size_t i = s->nsegs; i-- > 0;) {
    const kidx__segref *r = &s->segs[i];
    uint32_t d;
    int found = kidx__segment_find_id(&r->seg, id, len, &d);
    if (found < 0) {
      *seg = i;
      return found;
    }
    if (found && !kidx__bit_get(r->dead, d)) {
      *seg = i;
      *doc = d;
      return 1;
    }
  }
  return 0;
}

int kidx__count_terms(const kidx__snapshot *s, uint64_t *count) {
  size_t n = s->nsegs;
  *count = 0;
  if (n == 1)
    *count = s->segs[0].seg.nterms;
  if (n <= 1)
    return KIDX_OK;
  kidx__termmerge m;
  if (kidx__termmerge_init(&m, n))
    return KIDX_ENOMEM;
  for (size_t i = 0; i < n; i++)
    kidx__termmerge_segment(&m, i, &s->segs[i].seg);
  int rc = kidx__termmerge_start(&m, NULL, 0);
  while (rc == KIDX_OK && (rc = kidx__termmerge_next(&m)) == 1) {
    (*count)++;
    rc = KIDX_OK;
  }
  kidx__termmerge_free(&m);
  return rc < 0 ? rc : KIDX_OK;
}
