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
 * The record also carries the caller's metadata (meta.c), so that it is
 * published by the same rename as the documents it describes.
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

/* The layout (doc/FORMAT.md, "MANIFEST"): byte offsets of the fixed
 * fields, used by the one encoder (kidx__manifest_write) and the one
 * decoder (parse) alike.  Head: */
enum {
  MH_MAGIC = 0,         /* 8 bytes */
  MH_VERSION = 8,       /* u32: KIDX__MANIFEST_V7 or KIDX__MANIFEST_V8 */
  MH_ANALYSIS = 12,     /* u32: KIDX__ANALYSIS_VERSION */
  MH_AN_FLAGS = 16,     /* u32: KIDX__AN_* */
  MH_NSEGS = 20,        /* u32: segment entries that follow */
  MH_GENERATION = 24,   /* u64 */
  MH_NEXT_SEGMENT = 32, /* u64 */
  MH_FILE_SIZE = 40,    /* u64: the whole file, CRC included */
  MH_SIZE = 48
};
/* One segment entry, followed by its list of deleted documents: */
enum {
  MS_NUMBER = 0,      /* u64 */
  MS_FILE_SIZE = 8,   /* u64 */
  MS_NDOCS = 16,      /* u64 */
  MS_NDEAD = 24,      /* u64 */
  MS_HEADER_CRC = 32, /* u32: the segment file's header CRC */
  MS_LIST_LEN = 36,   /* u32: bytes of the deleted list that follows */
  MS_SIZE = 40
};
/* Version 8: the metadata section, after the last segment entry, */
enum {
  MM_COUNT = 0, /* u32: entries that follow */
  MM_SIZE = 4
};
/* and each of its entries: a key of MK_KEY_LEN bytes, then its value. */
enum {
  MK_KEY_LEN = 0, /* u8: K, 1..255 */
  MK_KEY = 1,     /* K bytes, then a u32 V (1..KIDX_MAX_METADATA_BYTES) and
                     V bytes of value */
  MK_VALUE_LEN_SIZE = 4
};
#define CRC_SIZE 4u /* the CRC-32C of everything before it, at the end */

/* Each field ends where the next begins, and the last ends the record. */
_Static_assert(MH_VERSION == MH_MAGIC + sizeof manifest_magic &&
                   MH_ANALYSIS == MH_VERSION + 4 &&
                   MH_AN_FLAGS == MH_ANALYSIS + 4 &&
                   MH_NSEGS == MH_AN_FLAGS + 4 &&
                   MH_GENERATION == MH_NSEGS + 4 &&
                   MH_NEXT_SEGMENT == MH_GENERATION + 8 &&
                   MH_FILE_SIZE == MH_NEXT_SEGMENT + 8 &&
                   MH_SIZE == MH_FILE_SIZE + 8,
               "MANIFEST head layout");
_Static_assert(MS_FILE_SIZE == MS_NUMBER + 8 && MS_NDOCS == MS_FILE_SIZE + 8 &&
                   MS_NDEAD == MS_NDOCS + 8 && MS_HEADER_CRC == MS_NDEAD + 8 &&
                   MS_LIST_LEN == MS_HEADER_CRC + 4 &&
                   MS_SIZE == MS_LIST_LEN + 4,
               "MANIFEST segment entry layout");
/* put_meta appends these fields in order. */
_Static_assert(MM_SIZE == MM_COUNT + 4 && MK_KEY == MK_KEY_LEN + 1,
               "MANIFEST metadata layout");
_Static_assert(KIDX_MAX_METADATA_KEY <= 255, "key lengths are one byte");
_Static_assert(KIDX_MAX_METADATA_BYTES <= UINT32_MAX, "value lengths are u32");

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
  kidx__meta_free(&m->meta);
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

/* Decodes the metadata section [p, end) of a version 8 MANIFEST: every
 * entry's lengths in range, keys strictly increasing, the limits kept,
 * and the entries filling the section exactly. */
static int read_meta(kidx__meta *m, const uint8_t *p, const uint8_t *end) {
  if ((size_t)(end - p) < MM_SIZE)
    return KIDX_ECORRUPT;
  uint32_t count = kidx__get_u32(p + MM_COUNT);
  p += MM_SIZE;
  /* Every entry takes at least a byte of key and one of value: a count
   * the section cannot hold is refused before anything is allocated. */
  if (count > (size_t)(end - p) / (MK_KEY + 1 + MK_VALUE_LEN_SIZE + 1))
    return KIDX_ECORRUPT;
  for (uint32_t i = 0; i < count; i++) {
    if ((size_t)(end - p) < MK_KEY)
      return KIDX_ECORRUPT;
    size_t key_len = p[MK_KEY_LEN];
    if (key_len == 0 ||
        (size_t)(end - p) < MK_KEY + key_len + MK_VALUE_LEN_SIZE)
      return KIDX_ECORRUPT;
    const char *key = (const char *)(p + MK_KEY);
    uint32_t value_len = kidx__get_u32(p + MK_KEY + key_len);
    const uint8_t *value = p + MK_KEY + key_len + MK_VALUE_LEN_SIZE;
    if (value_len == 0 || value_len > (size_t)(end - value) ||
        key_len + value_len > KIDX_MAX_METADATA_BYTES - m->bytes)
      return KIDX_ECORRUPT;
    const kidx__meta_entry *prev = m->n ? &m->e[m->n - 1] : NULL;
    if (prev && kidx__term_cmp(prev->key, prev->key_len, key, key_len) >= 0)
      return KIDX_ECORRUPT;
    int rc = kidx__meta_append(m, key, key_len, (const char *)value, value_len);
    if (rc)
      return rc;
    p = value + value_len;
  }
  return p == end ? KIDX_OK : KIDX_ECORRUPT;
}

static int parse(kidx__manifest *m, const uint8_t *p, size_t size,
                 const char *path, char *errmsg) {
  if (size < 8 || memcmp(p + MH_MAGIC, manifest_magic, 8) != 0)
    return kidx__err(errmsg, KIDX_ECORRUPT, "%s is not a kidx manifest", path);
  /* The version before anything else: a later version may lay out the
   * rest differently, and must be refused as a format, not as damage. */
  uint32_t version = size >= MH_VERSION + 4 ? kidx__get_u32(p + MH_VERSION)
                                            : KIDX__MANIFEST_V7;
  if (version != KIDX__MANIFEST_V7 && version != KIDX__MANIFEST_V8)
    return kidx__err(errmsg, KIDX_EFORMAT,
                     "%s has index format version %u; this kidx reads "
                     "versions %u and %u (rebuild the index)",
                     path, (unsigned)version, (unsigned)KIDX__MANIFEST_V7,
                     (unsigned)KIDX__MANIFEST_V8);
  if (size < MH_SIZE + CRC_SIZE || kidx__get_u64(p + MH_FILE_SIZE) != size)
    return damaged(errmsg, path, "its size does not match (truncated?)");
  if (kidx__crc32c(0, p, size - CRC_SIZE) != kidx__get_u32(p + size - CRC_SIZE))
    return damaged(errmsg, path, "checksum mismatch");
  if (kidx__get_u32(p + MH_ANALYSIS) != KIDX__ANALYSIS_VERSION ||
      (kidx__get_u32(p + MH_AN_FLAGS) & ~KIDX__AN_ALL) != 0)
    return kidx__err(errmsg, KIDX_EFORMAT,
                     "%s was written by analysis code this kidx does not "
                     "know (rebuild the index)",
                     path);
  m->an_flags = kidx__get_u32(p + MH_AN_FLAGS);
  uint32_t nsegs = kidx__get_u32(p + MH_NSEGS);
  m->generation = kidx__get_u64(p + MH_GENERATION);
  m->next_segment = kidx__get_u64(p + MH_NEXT_SEGMENT);
  if (m->next_segment == 0 || m->next_segment == UINT64_MAX)
    return damaged(errmsg, path, "impossible next segment number");
  const uint8_t *q = p + MH_SIZE, *end = p + size - CRC_SIZE;
  if (nsegs > (size_t)(end - q) / MS_SIZE)
    return damaged(errmsg, path, "impossible segment count");
  m->segs = calloc(nsegs ? nsegs : 1, sizeof *m->segs);
  if (!m->segs)
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  m->nsegs = nsegs;
  for (uint32_t i = 0; i < nsegs; i++) {
    kidx__manifest_seg *s = &m->segs[i];
    if ((size_t)(end - q) < MS_SIZE)
      return damaged(errmsg, path, "segment table truncated");
    s->number = kidx__get_u64(q + MS_NUMBER);
    s->size = kidx__get_u64(q + MS_FILE_SIZE);
    s->ndocs = kidx__get_u64(q + MS_NDOCS);
    s->ndead = kidx__get_u64(q + MS_NDEAD);
    s->header_crc = kidx__get_u32(q + MS_HEADER_CRC);
    uint32_t list = kidx__get_u32(q + MS_LIST_LEN);
    q += MS_SIZE;
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
  if (version == KIDX__MANIFEST_V8) {
    int rc = read_meta(&m->meta, q, end);
    if (rc == KIDX_ENOMEM)
      return kidx__err(errmsg, rc, "out of memory");
    if (rc)
      return damaged(errmsg, path, "bad metadata section");
  } else if (q != end) {
    return damaged(errmsg, path, "trailing bytes");
  }
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

/* Appends the metadata section of m to b. */
static int put_meta(kidx__buf *b, const kidx__meta *m) {
  uint8_t head[MM_SIZE];
  kidx__set_u32(head + MM_COUNT, (uint32_t)m->n);
  int rc = kidx__buf_append(b, head, sizeof head);
  for (size_t i = 0; i < m->n && !rc; i++) {
    const kidx__meta_entry *e = &m->e[i];
    uint8_t key_len = (uint8_t)e->key_len;
    if (kidx__buf_append(b, &key_len, 1) ||
        kidx__buf_append(b, e->key, e->key_len) ||
        kidx__buf_put_u32(b, (uint32_t)e->value_len) ||
        kidx__buf_append(b, e->value, e->value_len))
      rc = KIDX_ENOMEM;
  }
  return rc;
}

int kidx__manifest_write(const char *path, const kidx__manifest *m,
                         char *errmsg) {
  kidx__buf b = {0};
  int rc = KIDX_OK;
  uint32_t version = m->meta.n ? KIDX__MANIFEST_V8 : KIDX__MANIFEST_V7;
  uint8_t head[MH_SIZE] = {0};
  memcpy(head + MH_MAGIC, manifest_magic, 8);
  kidx__set_u32(head + MH_VERSION, version);
  kidx__set_u32(head + MH_ANALYSIS, KIDX__ANALYSIS_VERSION);
  kidx__set_u32(head + MH_AN_FLAGS, m->an_flags);
  kidx__set_u32(head + MH_NSEGS, (uint32_t)m->nsegs);
  kidx__set_u64(head + MH_GENERATION, m->generation);
  kidx__set_u64(head + MH_NEXT_SEGMENT, m->next_segment);
  /* MH_FILE_SIZE is patched in below */
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
    uint8_t e[MS_SIZE];
    kidx__set_u64(e + MS_NUMBER, s->number);
    kidx__set_u64(e + MS_FILE_SIZE, s->size);
    kidx__set_u64(e + MS_NDOCS, s->ndocs);
    kidx__set_u64(e + MS_NDEAD, count);
    kidx__set_u32(e + MS_HEADER_CRC, s->header_crc);
    kidx__set_u32(e + MS_LIST_LEN, (uint32_t)list.n);
    if (!rc && (list.n > UINT32_MAX || kidx__buf_append(&b, e, sizeof e) ||
                kidx__buf_append(&b, list.p, list.n)))
      rc = KIDX_ENOMEM;
  }
  kidx__buf_free(&list);
  if (!rc && version == KIDX__MANIFEST_V8)
    rc = put_meta(&b, &m->meta);
  if (!rc) {
    kidx__set_u64(b.p + MH_FILE_SIZE, b.n + CRC_SIZE);
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
