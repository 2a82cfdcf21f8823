/*
 * manifest.c -- the commit record: which segment files make up the index,
 * and which of their documents are deleted (doc/FORMAT.md, "MANIFEST").
 *
 * A commit writes the new record to MANIFEST.tmp, fsyncs it, renames it
 * over MANIFEST and fsyncs the directory (fs.c).  Segment files are
 * immutable once written; a commit only ever adds new ones and drops old
 * ones from the list, so renaming MANIFEST is the single atomic step that
 * moves the index from one commit to the next.  Deleted documents are
 * recorded here, as sorted lists, rather than by rewriting segments: a
 * delete costs a few bytes until a merge reclaims the space.
 *
 * The whole record is covered by one CRC-32C at its end, so a truncated or
 * damaged MANIFEST is refused whole.
 */
#include "kidx_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static const uint8_t manifest_magic[8] = {'K', 'I',  'D',  'X',
                                          'M', '\r', '\n', 0x1a};

#define HEAD_SIZE 48u /* fixed fields before the segment entries */
#define SEG_SIZE  40u /* fixed fields of one segment entry */

void kidx__segment_name(uint64_t number, char out[KIDX__SEGNAME_MAX]) {
  snprintf(out, KIDX__SEGNAME_MAX, "seg-%012" PRIu64 ".kidx", number);
}

int kidx__segment_number(const char *name, uint64_t *number) {
  uint64_t n = 0;
  const char *p = name;
  if (strncmp(p, "seg-", 4) != 0)
    return 0;
  p += 4;
  const char *digits = p;
  while (*p >= '0' && *p <= '9') {
    if (n > (UINT64_MAX - 9) / 10)
      return 0;
    n = n * 10 + (uint64_t)(*p++ - '0');
  }
  if (p == digits || strcmp(p, ".kidx") != 0)
    return 0;
  *number = n;
  return 1;
}

void kidx__manifest_free(kidx__manifest *m) {
  for (size_t i = 0; m->segs && i < m->nsegs; i++)
    free(m->segs[i].dead);
  free(m->segs);
  memset(m, 0, sizeof *m);
}

static int damaged(char *errmsg, const char *path, const char *what) {
  return kidx__err(errmsg, KIDX_ECORRUPT, "%s is damaged: %s", path, what);
}

/* Decodes one segment's list of deleted documents into a bitmap. */
static int read_dead(kidx__manifest_seg *s, const uint8_t *p,
                     const uint8_t *end) {
  if (s->ndead == 0)
    return p == end ? KIDX_OK : KIDX_ECORRUPT;
  /* Every entry takes at least a byte: a count the list cannot hold is
   * refused before a bitmap is allocated for it. */
  if (s->ndead > s->ndocs || s->ndead > (uint64_t)(end - p))
    return KIDX_ECORRUPT;
  s->dead = calloc((size_t)(s->ndocs / 8 + 1), 1);
  if (!s->dead)
    return KIDX_ENOMEM;
  uint64_t next = 0; /* the smallest allowed document */
  for (uint64_t k = 0; k < s->ndead; k++) {
    uint64_t gap;
    /* gap = doc + 1 - next >= 1, so the list is strictly increasing */
    if (kidx__varint_get(&p, end, &gap) || gap == 0 || gap > s->ndocs - next)
      return KIDX_ECORRUPT;
    uint64_t doc = next + gap - 1;
    kidx__bit_set(s->dead, doc);
    next = doc + 1;
  }
  return p == end ? KIDX_OK : KIDX_ECORRUPT;
}

static int parse(kidx__manifest *m, const uint8_t *p, size_t size,
                 const char *path, char *errmsg) {
  if (size < 8 || memcmp(p, manifest_magic, 8) != 0)
    return kidx__err(errmsg, KIDX_ECORRUPT, "%s is not a kidx manifest", path);
  if (size >= 12 && kidx__get_u32(p + 8) != KIDX__FORMAT_VERSION)
    return kidx__err(errmsg, KIDX_EFORMAT,
                     "%s has index format version %u; this kidx reads "
                     "version %u (rebuild the index)",
                     path, (unsigned)kidx__get_u32(p + 8),
                     (unsigned)KIDX__FORMAT_VERSION);
  if (size < HEAD_SIZE + 4 || kidx__get_u64(p + 40) != size)
    return damaged(errmsg, path, "its size does not match (truncated?)");
  if (kidx__crc32c(0, p, size - 4) != kidx__get_u32(p + size - 4))
    return damaged(errmsg, path, "checksum mismatch");
  if (kidx__get_u32(p + 12) != KIDX__ANALYSIS_VERSION ||
      (kidx__get_u32(p + 16) & ~KIDX__AN_ALL) != 0)
    return kidx__err(errmsg, KIDX_EFORMAT,
                     "%s was written by analysis code this kidx does not "
                     "know (rebuild the index)",
                     path);
  m->an_flags = kidx__get_u32(p + 16);
  uint32_t nsegs = kidx__get_u32(p + 20);
  m->generation = kidx__get_u64(p + 24);
  m->next_segment = kidx__get_u64(p + 32);
  if (m->next_segment == 0 || m->next_segment == UINT64_MAX)
    return damaged(errmsg, path, "impossible next segment number");
  const uint8_t *q = p + HEAD_SIZE, *end = p + size - 4;
  if (nsegs > (size_t)(end - q) / SEG_SIZE)
    return damaged(errmsg, path, "impossible segment count");
  m->segs = calloc(nsegs ? nsegs : 1, sizeof *m->segs);
  if (!m->segs)
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  m->nsegs = nsegs;
  for (uint32_t i = 0; i < nsegs; i++) {
    kidx__manifest_seg *s = &m->segs[i];
    if ((size_t)(end - q) < SEG_SIZE)
      return damaged(errmsg, path, "segment table truncated");
    s->number = kidx__get_u64(q);
    s->size = kidx__get_u64(q + 8);
    s->ndocs = kidx__get_u64(q + 16);
    s->ndead = kidx__get_u64(q + 24);
    s->header_crc = kidx__get_u32(q + 32);
    uint32_t list = kidx__get_u32(q + 36);
    q += SEG_SIZE;
    if (list > (size_t)(end - q) || s->number >= m->next_segment ||
        s->ndocs >= UINT32_MAX || (i > 0 && s->number <= m->segs[i - 1].number))
      return damaged(errmsg, path, "bad segment entry");
    int rc = read_dead(s, q, q + list);
    if (rc == KIDX_ENOMEM)
      return kidx__err(errmsg, rc, "out of memory");
    if (rc)
      return damaged(errmsg, path, "bad list of deleted documents");
    q += list;
  }
  if (q != end)
    return damaged(errmsg, path, "trailing bytes");
  return KIDX_OK;
}

int kidx__manifest_read(const char *path, kidx__manifest *m, char *errmsg) {
  memset(m, 0, sizeof *m);
  kidx__map map;
  int rc = kidx__fs_map(path, &map, errmsg);
  if (rc)
    return rc;
  rc = parse(m, map.data, map.size, path, errmsg);
  m->bytes = map.size;
  kidx__fs_unmap(&map);
  if (rc)
    kidx__manifest_free(m);
  return rc;
}

int kidx__manifest_write(const char *path, const kidx__manifest *m,
                         char *errmsg) {
  kidx__buf b = {0};
  int rc = KIDX_OK;
  uint8_t head[HEAD_SIZE] = {0};
  memcpy(head, manifest_magic, 8);
  kidx__set_u32(head + 8, KIDX__FORMAT_VERSION);
  kidx__set_u32(head + 12, KIDX__ANALYSIS_VERSION);
  kidx__set_u32(head + 16, m->an_flags);
  kidx__set_u32(head + 20, (uint32_t)m->nsegs);
  kidx__set_u64(head + 24, m->generation);
  kidx__set_u64(head + 32, m->next_segment);
  /* head + 40 (total size) is patched in below */
  kidx__buf list = {0};
  if (m->nsegs > UINT32_MAX || kidx__buf_append(&b, head, sizeof head))
    rc = KIDX_ENOMEM;
  for (size_t i = 0; i < m->nsegs && !rc; i++) {
    const kidx__manifest_seg *s = &m->segs[i];
    uint64_t next = 0, count = 0;
    list.n = 0;
    for (uint64_t d = 0; d < s->ndocs && !rc; d++)
      if (kidx__bit_get(s->dead, d)) {
        rc = kidx__buf_put_varint(&list, d + 1 - next);
        next = d + 1;
        count++;
      }
    uint8_t e[SEG_SIZE];
    kidx__set_u64(e, s->number);
    kidx__set_u64(e + 8, s->size);
    kidx__set_u64(e + 16, s->ndocs);
    kidx__set_u64(e + 24, count);
    kidx__set_u32(e + 32, s->header_crc);
    kidx__set_u32(e + 36, (uint32_t)list.n);
    if (!rc && (list.n > UINT32_MAX || kidx__buf_append(&b, e, sizeof e) ||
                kidx__buf_append(&b, list.p, list.n)))
      rc = KIDX_ENOMEM;
  }
  kidx__buf_free(&list);
  if (!rc) {
    kidx__set_u64(b.p + 40, b.n + 4);
    rc = kidx__buf_put_u32(&b, kidx__crc32c(0, b.p, b.n));
  }
  if (rc) {
    kidx__buf_free(&b);
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  }
  kidx__wfile f;
  rc = kidx__wfile_open(&f, path, errmsg);
  if (!rc)
    rc = kidx__wfile_write(&f, b.p, b.n);
  int close_rc = kidx__wfile_close(&f, rc == KIDX_OK);
  kidx__buf_free(&b);
  return rc ? rc : close_rc;
}
