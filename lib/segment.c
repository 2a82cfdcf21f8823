/*
 * segment.c -- opening an index file, checking it, and looking things up
 * in it (the reader side of the format written by segwrite.c; the format
 * itself is specified in doc/FORMAT.md).
 *
 * Everything is checked at open, before any query can see the data: the
 * magic, the format version, the header checksum, that every section lies
 * inside the file, every section's CRC-32C, and the cross-section
 * invariants that lookups rely on (monotonic offset tables, sentinels that
 * match section lengths, document lengths that add up to the token count).
 * A damaged or truncated file is therefore refused with KIDX_ECORRUPT at
 * open.  Lookups still bound-check what they decode (a file can be crafted
 * to pass checksums), returning KIDX_ECORRUPT rather than reading outside
 * the mapping.
 */
#include "kidx_int.h"

#include <stdio.h>

static const char *const section_names[KIDX__SEC_COUNT] = {
    "postings",         "terms",        "term text", "document lengths",
    "document offsets", "document data"};

const uint8_t kidx__magic[8] = {'K', 'I', 'D', 'X', '\r', '\n', 0x1a, '\n'};

static int corrupt(char *errmsg, const char *path, const char *what) {
  return kidx__err(errmsg, KIDX_ECORRUPT, "%s is damaged: %s", path, what);
}

/* Checks the structure that lookups rely on. */
static int check_tables(kidx__segment *s, const char *path, char *errmsg) {
  const uint8_t *terms = s->sec[KIDX__SEC_TERMS];
  uint64_t prev_post = 0, prev_text = 0;
  for (uint64_t i = 0; i <= s->nterms; i++) {
    const uint8_t *e = terms + i * KIDX__TERM_ENTRY;
    uint64_t post = kidx__get_u64(e), text = kidx__get_u64(e + 8);
    uint32_t df = kidx__get_u32(e + 16);
    if (post < prev_post || text < prev_text)
      return corrupt(errmsg, path, "term table out of order");
    if (i < s->nterms && (df == 0 || df > s->ndocs))
      return corrupt(errmsg, path, "bad document frequency");
    if (i > 0 && text == prev_text)
      return corrupt(errmsg, path, "empty term");
    prev_post = post;
    prev_text = text;
  }
  if (prev_post != s->sec_len[KIDX__SEC_POSTINGS] ||
      prev_text != s->sec_len[KIDX__SEC_TERMTEXT])
    return corrupt(errmsg, path, "term table does not match its sections");

  const uint8_t *offs = s->sec[KIDX__SEC_DOCOFFS];
  uint64_t prev = 0, tokens = 0;
  for (uint64_t d = 0; d <= s->ndocs; d++) {
    uint64_t off = kidx__get_u64(offs + d * 8);
    if (off < prev || (d == 0 && off != 0))
      return corrupt(errmsg, path, "document table out of order");
    prev = off;
    if (d < s->ndocs) {
      const uint8_t *l = s->sec[KIDX__SEC_DOCLENS] + d * 8;
      s->title_tokens += kidx__get_u32(l);
      tokens += (uint64_t)kidx__get_u32(l) + kidx__get_u32(l + 4);
    }
  }
  if (prev != s->sec_len[KIDX__SEC_DOCDATA])
    return corrupt(errmsg, path, "document table does not match its data");
  if (tokens != s->ntokens)
    return corrupt(errmsg, path, "document lengths do not add up");
  /* Every record must decode, so that later lookups cannot fail. */
  for (uint64_t d = 0; d < s->ndocs; d++) {
    kidx__docinfo info;
    if (kidx__segment_doc(s, (uint32_t)d, &info) || info.id_len == 0)
      return corrupt(errmsg, path, "bad document record");
  }
  return KIDX_OK;
}

int kidx__segment_open(kidx__segment *s, const char *path, char *errmsg) {
  memset(s, 0, sizeof *s);
  int rc = kidx__fs_map(path, &s->map, errmsg);
  if (rc)
    return rc;
  const uint8_t *h = s->map.data;
  size_t size = s->map.size;
  if (size < KIDX__HEADER_SIZE || memcmp(h, kidx__magic, 8) != 0) {
    rc = kidx__err(errmsg, KIDX_ECORRUPT, "%s is not a kidx index file", path);
    goto fail;
  }
  uint32_t version = kidx__get_u32(h + 8);
  if (version != KIDX__FORMAT_VERSION) {
    rc = kidx__err(errmsg, KIDX_EFORMAT,
                   "%s has index format version %u; this kidx reads version "
                   "%u (rebuild the index)",
                   path, (unsigned)version, (unsigned)KIDX__FORMAT_VERSION);
    goto fail;
  }
  if (kidx__crc32c(0, h, KIDX__HEADER_SIZE - 4) !=
      kidx__get_u32(h + KIDX__HEADER_SIZE - 4)) {
    rc = corrupt(errmsg, path, "header checksum mismatch");
    goto fail;
  }
  if (kidx__get_u32(h + 12) != KIDX__ANALYSIS_VERSION ||
      kidx__get_u32(h + 16) != KIDX__SEC_COUNT ||
      (kidx__get_u32(h + 20) & ~KIDX__AN_ALL) != 0) {
    rc = kidx__err(errmsg, KIDX_EFORMAT,
                   "%s was written by analysis code or with a layout this "
                   "kidx does not know (rebuild the index)",
                   path);
    goto fail;
  }
  s->an_flags = kidx__get_u32(h + 20);
  if (kidx__get_u64(h + 24) != size) {
    rc = corrupt(errmsg, path,
                 "file size does not match its header "
                 "(truncated?)");
    goto fail;
  }
  s->ndocs = kidx__get_u64(h + 32);
  s->nterms = kidx__get_u64(h + 40);
  s->ntokens = kidx__get_u64(h + 48);
  if (s->ndocs >= UINT32_MAX || s->nterms >= UINT64_MAX / KIDX__TERM_ENTRY) {
    rc = corrupt(errmsg, path, "impossible counts in header");
    goto fail;
  }
  for (int i = 0; i < KIDX__SEC_COUNT; i++) {
    const uint8_t *e = h + KIDX__SECTABLE_OFFSET + (size_t)i * 24;
    uint64_t off = kidx__get_u64(e), len = kidx__get_u64(e + 8);
    if (off < KIDX__HEADER_SIZE || off > size || len > size - off) {
      rc = corrupt(errmsg, path, "section outside the file");
      goto fail;
    }
    s->sec[i] = h + off;
    s->sec_len[i] = len;
    if (kidx__crc32c(0, h + off, (size_t)len) != kidx__get_u32(e + 16)) {
      char what[96];
      snprintf(what, sizeof what, "checksum mismatch in %s", section_names[i]);
      rc = corrupt(errmsg, path, what);
      goto fail;
    }
  }
  if (s->sec_len[KIDX__SEC_TERMS] != (s->nterms + 1) * KIDX__TERM_ENTRY ||
      s->sec_len[KIDX__SEC_DOCLENS] != s->ndocs * 8 ||
      s->sec_len[KIDX__SEC_DOCOFFS] != (s->ndocs + 1) * 8) {
    rc = corrupt(errmsg, path, "section sizes do not match the counts");
    goto fail;
  }
  if ((rc = check_tables(s, path, errmsg)))
    goto fail;
  return KIDX_OK;
fail:
  kidx__segment_close(s);
  return rc;
}

void kidx__segment_close(kidx__segment *s) {
  kidx__fs_unmap(&s->map);
  memset(s, 0, sizeof *s);
}

void kidx__segment_term(const kidx__segment *s, uint64_t i, kidx__term *out) {
  const uint8_t *e = s->sec[KIDX__SEC_TERMS] + i * KIDX__TERM_ENTRY;
  uint64_t post = kidx__get_u64(e), text = kidx__get_u64(e + 8);
  /* Offsets were checked monotonic and in range at open. */
  out->text = (const char *)s->sec[KIDX__SEC_TERMTEXT] + text;
  out->len = (size_t)(kidx__get_u64(e + KIDX__TERM_ENTRY + 8) - text);
  out->df = kidx__get_u32(e + 16);
  out->post = s->sec[KIDX__SEC_POSTINGS] + post;
  out->post_len = (size_t)(kidx__get_u64(e + KIDX__TERM_ENTRY) - post);
}

int kidx__segment_find(const kidx__segment *s, const char *text, size_t len,
                       kidx__term *out) {
  uint64_t lo = 0, hi = s->nterms;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    kidx__segment_term(s, mid, out);
    int c = kidx__term_cmp(out->text, out->len, text, len);
    if (c == 0)
      return 1;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

int kidx__segment_doc(const kidx__segment *s, uint32_t doc,
                      kidx__docinfo *out) {
  const uint8_t *offs = s->sec[KIDX__SEC_DOCOFFS] + (size_t)doc * 8;
  const uint8_t *p = s->sec[KIDX__SEC_DOCDATA] + kidx__get_u64(offs);
  const uint8_t *end = s->sec[KIDX__SEC_DOCDATA] + kidx__get_u64(offs + 8);
  uint64_t id_len, title_len, body_len;
  if (kidx__varint_get(&p, end, &id_len) || id_len > (size_t)(end - p))
    return KIDX_ECORRUPT;
  out->id = (const char *)p;
  out->id_len = (size_t)id_len;
  p += id_len;
  if (kidx__varint_get(&p, end, &title_len) || title_len > (size_t)(end - p))
    return KIDX_ECORRUPT;
  out->title = (const char *)p;
  out->title_len = (size_t)title_len;
  p += title_len;
  if (kidx__varint_get(&p, end, &body_len) || body_len > (size_t)(end - p))
    return KIDX_ECORRUPT;
  out->body = (const char *)p;
  out->body_len = (size_t)body_len;
  p += body_len;
  /* The stamp: varint size, varint zigzag mtime, u64 hash, ending the
   * record exactly. */
  uint64_t size, zz;
  if (kidx__varint_get(&p, end, &size) || kidx__varint_get(&p, end, &zz) ||
      end - p != 8)
    return KIDX_ECORRUPT;
  out->stamp.size = size;
  out->stamp.mtime_ns = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
  out->stamp.hash = kidx__get_u64(p);
  kidx__segment_doclens(s, doc, &out->title_tokens, &out->body_tokens);
  out->deleted = 0;
  return KIDX_OK;
}
