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
#include <stdlib.h>

static const char *const section_names[KIDX__SEC_COUNT] = {
    "postings",         "terms",         "term text", "document lengths",
    "document offsets", "document data", "ids",       "keys"};

const uint8_t kidx__magic[8] = {'K', 'I', 'D', 'X', '\r', '\n', 0x1a, '\n'};

/* Verification reads the whole file once, front to back.  Every this many
 * bytes it gives the pages read so far back (fs.c), so that opening a
 * large segment does not grow the resident set by the segment's size: a
 * writer opens every segment it merges, and a reader only needs the few
 * pages its queries touch. */
#define RELEASE_EVERY ((uint64_t)8 << 20)

static uint32_t crc_released(const kidx__segment *s, const uint8_t *p,
                             uint64_t len) {
  uint32_t crc = 0;
  while (len > 0) {
    size_t n = (size_t)(len < RELEASE_EVERY ? len : RELEASE_EVERY);
    crc = kidx__crc32c(crc, p, n);
    p += n;
    len -= n;
    if (len > 0)
      kidx__fs_map_release(&s->map);
  }
  return crc;
}

static int corrupt(char *errmsg, const char *path, const char *what) {
  return kidx__err(errmsg, KIDX_ECORRUPT, "%s is damaged: %s", path, what);
}

/* Decodes one dictionary entry at *pp (before end) into text (holding the
 * previous term, *len bytes of it, on entry): shared prefix, suffix, df,
 * postings length.  Returns 0, or -1 if the entry is malformed.  Open
 * validates every entry with it, so later decoding cannot fail. */
static int decode_entry(const uint8_t **pp, const uint8_t *end, char *text,
                        size_t *len, uint64_t *df, uint64_t *post_len) {
  const uint8_t *p = *pp;
  uint64_t shared, suffix;
  if (kidx__varint_get(&p, end, &shared) ||
      kidx__varint_get(&p, end, &suffix) || shared > *len ||
      suffix > KIDX_MAX_TOKEN_BYTES - shared || suffix > (size_t)(end - p))
    return -1;
  memcpy(text + shared, p, (size_t)suffix);
  p += suffix;
  *len = (size_t)(shared + suffix);
  if (*len == 0 || kidx__varint_get(&p, end, df) ||
      kidx__varint_get(&p, end, post_len))
    return -1;
  *pp = p;
  return 0;
}

static uint64_t nblocks(uint64_t nterms) {
  return (nterms + KIDX__TERM_BLOCK - 1) / KIDX__TERM_BLOCK;
}

/* Checks the dictionary: every entry decodes, terms are in strict order,
 * blocks start where the index says with a whole term, and the postings
 * lengths add up to the postings section. */
static int check_terms(kidx__segment *s, const char *path, char *errmsg) {
  const uint8_t *base = s->sec[KIDX__SEC_TERMS];
  const uint8_t *p = base, *end = base + s->sec_len[KIDX__SEC_TERMS];
  const uint8_t *index = s->sec[KIDX__SEC_TERMINDEX];
  char text[KIDX_MAX_TOKEN_BYTES], prev[KIDX_MAX_TOKEN_BYTES];
  size_t len = 0, prev_len = 0;
  uint64_t post = 0;
  for (uint64_t i = 0; i < s->nterms; i++) {
    if (i % KIDX__TERM_BLOCK == 0) {
      const uint8_t *e = index + (i / KIDX__TERM_BLOCK) * 16;
      if (kidx__get_u64(e) != (uint64_t)(p - base) ||
          kidx__get_u64(e + 8) != post)
        return corrupt(errmsg, path, "term block index does not match");
      len = 0; /* a block starts with a whole term */
    }
    uint64_t df, post_len;
    if (decode_entry(&p, end, text, &len, &df, &post_len))
      return corrupt(errmsg, path, "bad term entry");
    if (df == 0 || df > s->ndocs)
      return corrupt(errmsg, path, "bad document frequency");
    if (post_len == 0 || post_len > s->sec_len[KIDX__SEC_POSTINGS] - post)
      return corrupt(errmsg, path, "bad postings length");
    if (i > 0 && kidx__term_cmp(prev, prev_len, text, len) >= 0)
      return corrupt(errmsg, path, "terms out of order");
    post += post_len;
    memcpy(prev, text, len);
    prev_len = len;
  }
  const uint8_t *e = index + nblocks(s->nterms) * 16;
  if (p != end || post != s->sec_len[KIDX__SEC_POSTINGS] ||
      kidx__get_u64(e) != (uint64_t)(p - base) || kidx__get_u64(e + 8) != post)
    return corrupt(errmsg, path, "term dictionary does not match its sections");
  return KIDX_OK;
}

/* Checks the id table against hash[doc], the hashes of the documents'
 * ids: sorted by (hash, document), every document once, each with the
 * hash of its id, so that lookups by id are exact. */
static int check_ids(kidx__segment *s, uint64_t *hash, const char *path,
                     char *errmsg) {
  const uint8_t *e = s->sec[KIDX__SEC_IDS];
  uint64_t prev_hash = 0, prev_doc = 0;
  for (uint64_t i = 0; i < s->ndocs; i++, e += KIDX__ID_ENTRY) {
    uint64_t h = kidx__get_u64(e);
    uint32_t doc = kidx__get_u32(e + 8);
    if (doc >= s->ndocs ||
        (i > 0 && (h < prev_hash || (h == prev_hash && doc <= prev_doc))))
      return corrupt(errmsg, path, "id table out of order");
    /* Each document's hash is cleared once matched: the table is sorted,
     * so a document listed twice would have the same hash twice and find
     * it cleared (a real hash is never 0). */
    if (hash[doc] != h)
      return corrupt(errmsg, path, "id table does not match the documents");
    hash[doc] = 0;
    prev_hash = h;
    prev_doc = doc;
  }
  return KIDX_OK;
}

/* Checks the structure that lookups rely on. */
static int check_tables(kidx__segment *s, const char *path, char *errmsg) {
  int rc = check_terms(s, path, errmsg);
  if (rc)
    return rc;
  const uint8_t *offs = s->sec[KIDX__SEC_DOCOFFS];
  uint64_t prev = 0, prev_key = 0, tokens = 0;
  for (uint64_t d = 0; d <= s->ndocs; d++) {
    uint64_t off = kidx__get_u64(offs + d * 16);
    uint64_t key = kidx__get_u64(offs + d * 16 + 8);
    if (off < prev || key < prev_key || (d == 0 && (off != 0 || key != 0)))
      return corrupt(errmsg, path, "document table out of order");
    prev = off;
    prev_key = key;
    if (d < s->ndocs) {
      const uint8_t *l = s->sec[KIDX__SEC_DOCLENS] + d * 8;
      s->title_tokens += kidx__get_u32(l);
      tokens += (uint64_t)kidx__get_u32(l) + kidx__get_u32(l + 4);
    }
  }
  if (prev != s->sec_len[KIDX__SEC_DOCDATA] ||
      prev_key != s->sec_len[KIDX__SEC_KEYS])
    return corrupt(errmsg, path, "document table does not match its data");
  if (tokens != s->ntokens)
    return corrupt(errmsg, path, "document lengths do not add up");
  /* Every record must decode, so that later lookups cannot fail. */
  uint64_t *hash = malloc((s->ndocs ? s->ndocs : 1) * sizeof *hash);
  if (!hash)
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  uint64_t released = 0;
  for (uint64_t d = 0; d < s->ndocs && !rc; d++) {
    kidx__docinfo info;
    if (kidx__segment_doc(s, (uint32_t)d, &info) || info.id_len == 0) {
      rc = corrupt(errmsg, path, "bad document record");
      break;
    }
    hash[d] = kidx__hash_bytes(info.id, info.id_len);
    uint64_t at = kidx__get_u64(offs + (d + 1) * 16);
    if (at - released >= RELEASE_EVERY) {
      kidx__fs_map_release(&s->map);
      released = at;
    }
  }
  if (!rc)
    rc = check_ids(s, hash, path, errmsg);
  free(hash);
  return rc;
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
  if (version != KIDX__SEGMENT_VERSION) {
    rc = kidx__err(errmsg, KIDX_EFORMAT,
                   "%s has index format version %u; this kidx reads version "
                   "%u (rebuild the index)",
                   path, (unsigned)version, (unsigned)KIDX__SEGMENT_VERSION);
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
  if (s->ndocs >= UINT32_MAX || s->nterms >= UINT64_MAX / 16) {
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
    if (crc_released(s, h + off, len) != kidx__get_u32(e + 16)) {
      char what[96];
      snprintf(what, sizeof what, "checksum mismatch in %s", section_names[i]);
      rc = corrupt(errmsg, path, what);
      goto fail;
    }
  }
  if (s->sec_len[KIDX__SEC_TERMINDEX] != (nblocks(s->nterms) + 1) * 16 ||
      s->sec_len[KIDX__SEC_DOCLENS] != s->ndocs * 8 ||
      s->sec_len[KIDX__SEC_DOCOFFS] != (s->ndocs + 1) * 16 ||
      s->sec_len[KIDX__SEC_IDS] != s->ndocs * KIDX__ID_ENTRY) {
    rc = corrupt(errmsg, path, "section sizes do not match the counts");
    goto fail;
  }
  if ((rc = check_tables(s, path, errmsg)))
    goto fail;
  kidx__fs_map_release(&s->map);
  return KIDX_OK;
fail:
  kidx__segment_close(s);
  return rc;
}

void kidx__segment_close(kidx__segment *s) {
  kidx__fs_unmap(&s->map);
  memset(s, 0, sizeof *s);
}

/* Decodes the entry at c->p as term c->index. */
static void cur_decode(kidx__termcur *c) {
  const kidx__segment *s = c->seg;
  const uint8_t *end = s->sec[KIDX__SEC_TERMS] + s->sec_len[KIDX__SEC_TERMS];
  uint64_t df, post_len;
  size_t len = c->term.len;
  if (c->index % KIDX__TERM_BLOCK == 0)
    len = 0;
  decode_entry(&c->p, end, c->text, &len, &df, &post_len); /* validated */
  c->term.text = c->text;
  c->term.len = len;
  c->term.df = (uint32_t)df;
  c->term.post = s->sec[KIDX__SEC_POSTINGS] + c->post;
  c->term.post_len = (size_t)post_len;
  c->post += post_len;
}

/* Puts c at the start of block b, before decoding its first term. */
static void cur_block(kidx__termcur *c, const kidx__segment *s, uint64_t b) {
  const uint8_t *e = s->sec[KIDX__SEC_TERMINDEX] + b * 16;
  c->seg = s;
  c->index = b * KIDX__TERM_BLOCK;
  c->p = s->sec[KIDX__SEC_TERMS] + kidx__get_u64(e);
  c->post = kidx__get_u64(e + 8);
  c->term.len = 0;
}

int kidx__termcur_seek(kidx__termcur *c, const kidx__segment *s, uint64_t i) {
  if (i >= s->nterms) {
    c->seg = s;
    c->index = s->nterms;
    return 0;
  }
  cur_block(c, s, i / KIDX__TERM_BLOCK);
  cur_decode(c);
  while (c->index < i) {
    c->index++;
    cur_decode(c);
  }
  return 1;
}

int kidx__termcur_next(kidx__termcur *c) {
  if (c->index >= c->seg->nterms)
    return 0;
  if (++c->index == c->seg->nterms)
    return 0;
  cur_decode(c);
  return 1;
}

int kidx__termcur_lower_bound(kidx__termcur *c, const kidx__segment *s,
                              const char *text, size_t len) {
  /* The last block whose first (whole) term is <= text. */
  uint64_t lo = 0, hi = nblocks(s->nterms);
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    cur_block(c, s, mid);
    cur_decode(c);
    if (kidx__term_cmp(c->term.text, c->term.len, text, len) <= 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (!kidx__termcur_seek(c, s, lo > 0 ? (lo - 1) * KIDX__TERM_BLOCK : 0))
    return 0;
  while (kidx__term_cmp(c->term.text, c->term.len, text, len) < 0)
    if (!kidx__termcur_next(c))
      return 0;
  return 1;
}

int kidx__segment_find(const kidx__segment *s, const char *text, size_t len,
                       kidx__term *out) {
  kidx__termcur c;
  if (!kidx__termcur_lower_bound(&c, s, text, len) ||
      kidx__term_cmp(c.term.text, c.term.len, text, len) != 0)
    return 0;
  *out = c.term;
  out->text = text;
  return 1;
}

int kidx__segment_key(const kidx__segment *s, uint32_t doc,
                      kidx__docinfo *out) {
  const uint8_t *offs = s->sec[KIDX__SEC_DOCOFFS] + (size_t)doc * 16 + 8;
  const uint8_t *p = s->sec[KIDX__SEC_KEYS] + kidx__get_u64(offs);
  const uint8_t *end = s->sec[KIDX__SEC_KEYS] + kidx__get_u64(offs + 16);
  uint64_t id_len, size, zz;
  memset(out, 0, sizeof *out);
  if (kidx__varint_get(&p, end, &id_len) || id_len > (size_t)(end - p))
    return KIDX_ECORRUPT;
  out->id = (const char *)p;
  out->id_len = (size_t)id_len;
  p += id_len;
  /* The stamp: varint size, varint zigzag mtime, u64 hash, ending the
   * record exactly. */
  if (kidx__varint_get(&p, end, &size) || kidx__varint_get(&p, end, &zz) ||
      end - p != 8)
    return KIDX_ECORRUPT;
  out->stamp.size = size;
  out->stamp.mtime_ns = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
  out->stamp.hash = kidx__get_u64(p);
  kidx__segment_doclens(s, doc, &out->title_tokens, &out->body_tokens);
  return KIDX_OK;
}

int kidx__segment_doc(const kidx__segment *s, uint32_t doc,
                      kidx__docinfo *out) {
  int rc = kidx__segment_key(s, doc, out);
  if (rc)
    return rc;
  const uint8_t *offs = s->sec[KIDX__SEC_DOCOFFS] + (size_t)doc * 16;
  const uint8_t *p = s->sec[KIDX__SEC_DOCDATA] + kidx__get_u64(offs);
  const uint8_t *end = s->sec[KIDX__SEC_DOCDATA] + kidx__get_u64(offs + 16);
  uint64_t title_len, body_len;
  if (kidx__varint_get(&p, end, &title_len) || title_len > (size_t)(end - p))
    return KIDX_ECORRUPT;
  out->title = (const char *)p;
  out->title_len = (size_t)title_len;
  p += title_len;
  if (kidx__varint_get(&p, end, &body_len) || body_len != (size_t)(end - p))
    return KIDX_ECORRUPT;
  out->body = (const char *)p;
  out->body_len = (size_t)body_len;
  return KIDX_OK;
}

int kidx__segment_find_id(const kidx__segment *s, const char *id, size_t len,
                          uint32_t *doc) {
  const uint8_t *t = s->sec[KIDX__SEC_IDS];
  uint64_t h = kidx__hash_bytes(id, len), lo = 0, hi = s->ndocs;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (kidx__get_u64(t + mid * KIDX__ID_ENTRY) < h)
      lo = mid + 1;
    else
      hi = mid;
  }
  /* Every entry with this hash: almost always one at most. */
  for (; lo < s->ndocs && kidx__get_u64(t + lo * KIDX__ID_ENTRY) == h; lo++) {
    uint32_t d = kidx__get_u32(t + lo * KIDX__ID_ENTRY + 8);
    kidx__docinfo info;
    kidx__segment_key(s, d, &info); /* verified at open */
    if (info.id_len == len && memcmp(info.id, id, len) == 0) {
      *doc = d;
      return 1;
    }
  }
  return 0;
}
