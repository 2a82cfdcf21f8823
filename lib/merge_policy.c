/*
 * merge_policy.c -- which segments the writer merges, and when: a pure
 * function from what the writer knows of its segments (size, documents,
 * deletions) to the next merge to do.  No I/O and no allocation; the
 * merging itself is writer.c's (and segwrite.c's).  The policy apart from
 * the mechanism, as tantivy's merge_policy.rs, so that it is tested
 * without files (tests/check_merge_policy.c).
 *
 * The policy is a logarithmic one, as Lucene's LogByteSizeMergePolicy:
 *
 *   - A segment's size is its bytes less the share of its deleted
 *     documents.  Sizes are grouped in levels, each `factor` times larger
 *     than the one below, from KIDX__MERGE_LEVEL_FLOOR up.  Whenever a
 *     level holds `factor` segments, the first `factor` of them (in the
 *     writer's order: oldest first) are merged into one, which lands a
 *     level up.  So at most factor - 1 segments sit on each of the
 *     O(log size) levels, and each document is rewritten once per level:
 *     O(log size) times in all.  The lowest such level goes first.
 *   - When no level is full, the first segment with at least
 *     1/KIDX__MERGE_DELETED_DENOM of its documents deleted is rewritten on
 *     its own, to give their space back.
 *
 * One merge at a time: where a merge's output lands depends on its size,
 * known only once it is written (deleted documents are dropped and the
 * postings re-encoded), so the writer does the merge this returns and
 * asks again, until there is none.  Every merge either leaves fewer
 * segments (a level merge) or one segment fewer with deletions (a
 * rewrite, whose output has none), so that loop ends.
 */
#include "kidx_int.h"

/* A segment's bytes less the share of its deleted documents.  Computed in
 * double, as bytes * live could overflow 64 bits; the result is clamped to
 * bytes, which (double)bytes can exceed by rounding near 2^64. */
static uint64_t live_bytes(const kidx__merge_seg *s) {
  if (s->ndocs == 0 || s->ndead >= s->ndocs)
    return 0;
  if (s->ndead == 0)
    return s->bytes;
  double v =
      (double)s->bytes * (double)(s->ndocs - s->ndead) / (double)s->ndocs;
  return v >= (double)s->bytes ? s->bytes : (uint64_t)v;
}

/* The level of a segment of b live bytes: 0 below floor * factor, and one
 * more for each further factor.  At most 43 (floor 2^20, factor 2, b <
 * 2^64). */
static unsigned level_of(uint64_t b, unsigned factor) {
  unsigned level = 0;
  for (; b >= KIDX__MERGE_LEVEL_FLOOR * factor; b /= factor)
    level++;
  return level;
}

/* Nonzero if at least 1/KIDX__MERGE_DELETED_DENOM of the segment's
 * documents are deleted: ndead >= ndocs / DENOM rounded up, written so
 * that it cannot overflow (ndead * DENOM could). */
static int mostly_deleted(const kidx__merge_seg *s) {
  uint64_t d = KIDX__MERGE_DELETED_DENOM;
  return s->ndead > 0 && s->ndead >= s->ndocs / d + (s->ndocs % d != 0);
}

static unsigned clamp_factor(const kidx__merge_options *opt) {
  unsigned f = opt ? opt->factor : KIDX__MERGE_FACTOR_DEFAULT;
  if (f < KIDX__MERGE_FACTOR_MIN)
    return KIDX__MERGE_FACTOR_MIN;
  return f > KIDX__MERGE_FACTOR_MAX ? KIDX__MERGE_FACTOR_MAX : f;
}

int kidx__merge_plan_next(const kidx__merge_seg *segs, size_t nsegs,
                          const kidx__merge_options *opt, kidx__merge *out) {
  unsigned factor = clamp_factor(opt);
  out->n = 0;
  out->reason = KIDX__MERGE_NONE;
  out->level = 0;
  /* Full levels, the lowest first.  The levels are recomputed per level
   * scanned rather than stored, to need no memory: the scan costs
   * O(nsegs * levels^2) divisions, levels <= 44. */
  unsigned top = 0;
  for (size_t i = 0; i < nsegs; i++) {
    unsigned l = level_of(live_bytes(&segs[i]), factor);
    top = l > top ? l : top;
  }
  for (unsigned level = 0; level <= top; level++) {
    size_t n = 0;
    for (size_t i = 0; i < nsegs && n < factor; i++)
      if (level_of(live_bytes(&segs[i]), factor) == level)
        out->which[n++] = i;
    if (n == factor) {
      out->n = n;
      out->reason = KIDX__MERGE_LEVEL;
      out->level = level;
      return 1;
    }
  }
  for (size_t i = 0; i < nsegs; i++)
    if (mostly_deleted(&segs[i])) {
      out->which[0] = i;
      out->n = 1;
      out->reason = KIDX__MERGE_DELETES;
      out->level = level_of(live_bytes(&segs[i]), factor);
      return 1;
    }
  return 0;
}

int kidx__merge_plan_all(const kidx__merge_seg *segs, size_t nsegs,
                         kidx__merge *out) {
  out->n = 0;
  out->reason = KIDX__MERGE_NONE;
  out->level = 0;
  /* Already one segment without deletions (or none): nothing to gain. */
  if (nsegs == 0 || (nsegs == 1 && segs[0].ndead == 0))
    return 0;
  for (size_t i = 0; i < nsegs; i++)
    out->which[i] = i;
  out->n = nsegs;
  out->reason = KIDX__MERGE_ALL;
  return 1;
}
