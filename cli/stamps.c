/*
 * stamps.c -- stamps and the racy-mtime policy of `kidx index` (see
 * stamps.h).
 */
#include "stamps.h"

#include <time.h>

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

int64_t stamp_mtime_ns(const struct stat *st) {
  int64_t sec = (int64_t)st->st_mtim.tv_sec;
  /* Beyond +-292 years the product overflows; such dates are bogus and
   * only need to compare equal to themselves. */
  if (sec > INT64_MAX / 1000000000 - 1)
    sec = INT64_MAX / 1000000000 - 1;
  if (sec < INT64_MIN / 1000000000 + 1)
    sec = INT64_MIN / 1000000000 + 1;
  return sec * 1000000000 + (int64_t)st->st_mtim.tv_nsec;
}

int64_t stamp_racy_from(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec - RACY_WINDOW_NS;
}

kidx_stamp stamp_for(int64_t racy_from, const struct stat *st,
                     const char *content, size_t len) {
  kidx_stamp s;
  s.size = (uint64_t)st->st_size;
  s.mtime_ns = stamp_mtime_ns(st);
  if (s.mtime_ns >= racy_from)
    s.mtime_ns = RACY_MTIME;
  s.hash = kidx_stamp_hash(content, len);
  return s;
}

bool stamp_trusted(const kidx_stamp *old) {
  return !(old->size == 0 && old->mtime_ns == 0 && old->hash == 0);
}

bool stamp_unchanged(const kidx_stamp *old, uint64_t size, int64_t mtime_ns) {
  return stamp_trusted(old) && old->size == size && old->mtime_ns == mtime_ns &&
         old->mtime_ns != RACY_MTIME;
}

bool stamp_same_content(const kidx_stamp *old, const kidx_stamp *now) {
  return stamp_trusted(old) && old->hash == now->hash && old->size == now->size;
}

bool stamp_equal(const kidx_stamp *a, const kidx_stamp *b) {
  return a->size == b->size && a->mtime_ns == b->mtime_ns && a->hash == b->hash;
}

int stamp_lookup(kidx_writer *w, const char *id, size_t id_len,
                 kidx_stamp *out) {
  kidx_status st = kidx_writer_stamp(w, id, id_len, out);
  if (st == KIDX_OK)
    return 1;
  if (st == KIDX_ENOTFOUND)
    return 0;
  return (int)st;
}
