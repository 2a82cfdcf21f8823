/*
 * segment.c -- opening an index file, verifying it as it is read, and
 * looking things up in it (the reader side of the format written by
 * segwrite.c; the format itself is specified in doc/FORMAT.md).
 *
 * Open costs O(1) whatever the file's size: it checks the magic, the
 * format version, the header checksum, the file size, that every section
 * lies inside the file with the size the counts give, and the checksum of
 * the small page checksum index.  Section contents are checksummed in
 * pages of KIDX__PAGE_SIZE bytes, and a page is verified the first time
 * anything reads it (kidx__segment_verify), then marked in a shared bitmap
 * so that later reads cost a bit test.  A damaged page is therefore never
 * read: the query that needs it fails with KIDX_ECORRUPT naming the file
 * and section, while queries that do not touch it keep working.
 *
 * The whole-table invariants that open used to check (dictionary order,
 * monotonic offset tables, sorted id table, lengths adding up) are now
 * kidx__check_segment's.  Lookups instead validate what they read
 * (offsets in order and in range, records that decode), returning
 * KIDX_ECORRUPT rather than reading outside a section: a file can be
 * crafted to pass every checksum.
 */
#include "kidx_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const section_names[KIDX__SEC_COUNT] = {
    "postings",
    "term blocks",
    "term block index",
    "document lengths",
    "document offsets",
    "document data",
    "ids",
    "keys",
    "page checksums",
    "page checksum index"};

const uint8_t kidx__magic[8] = {'K', 'I', 'D', 'X', '\r', '\n', 0x1a, '\n'};

/* Kinds of damage recorded in kidx__segment.damage. */
enum { DAMAGE_CHECKSUM = 1, DAMAGE_RECORD = 2 };

const char *kidx__segment_section_name(int sec) {
  return sec >= 0 && sec < KIDX__SEC_COUNT ? section_names[sec] : "?";
}

static int corrupt(char *errmsg, const char *path, const char *what) {
  return kidx__err(errmsg, KIDX_ECORRUPT, "%s is damaged: %s", path, what);
}

static uint64_t npages(uint64_t len) {
  return (len + KIDX__PAGE_SIZE - 1) >> KIDX__PAGE_SHIFT;
}

/* Records the first damage found; later ones keep it (one message). */
static int record(const kidx__segment *s, int sec, int kind, uint64_t where) {
  uint64_t code = ((uint64_t)(sec + 1) << 56) | ((uint64_t)kind << 48) |
                  (where & (((uint64_t)1 << 48) - 1));
  uint64_t zero = 0;
  atomic_compare_exchange_strong(&s->st->damage, &zero, code);
  return KIDX_ECORRUPT;
}

int kidx__segment_bad(const kidx__segment *s, int sec, uint64_t off) {
  return record(s, sec, DAMAGE_RECORD, off);
}

int kidx__segment_damage(const kidx__segment *s, char *errmsg) {
  uint64_t code = atomic_load(&s->st->damage);
  int sec = (int)(code >> 56) - 1;
  int kind = (int)((code >> 48) & 0xFF);
  uint64_t where = code & (((uint64_t)1 << 48) - 1);
  const char *path = s->path ? s->path : "segment";
  if (!errmsg)
    return KIDX_ECORRUPT;
  if (kind == DAMAGE_CHECKSUM)
    return kidx__err(errmsg, KIDX_ECORRUPT,
                     "%s is damaged: section '%s' page %" PRIu64
                     " checksum mismatch",
                     path, kidx__segment_section_name(sec), where);
  if (kind == DAMAGE_RECORD)
    return kidx__err(errmsg, KIDX_ECORRUPT,
                     "%s is damaged: section '%s': bad data at byte %" PRIu64,
                     path, kidx__segment_section_name(sec), where);
  return corrupt(errmsg, path, "bad data");
}

/* Checks page p of section sec (< KIDX__SEC_PAGED) against its CRC and
 * marks it verified. */
static int verify_page(const kidx__segment *s, int sec, uint64_t p) {
  uint64_t at = p << KIDX__PAGE_SHIFT;
  uint64_t n = s->sec_len[sec] - at;
  if (n > KIDX__PAGE_SIZE)
    n = KIDX__PAGE_SIZE;
  uint64_t g = s->page_base[sec] + p;
  const uint8_t *sum;
  if (sec == KIDX__SEC_PAGESUMS) {
    sum = s->sec[KIDX__SEC_PAGEINDEX] + p * 4; /* verified at open */
  } else {
    int rc = kidx__segment_verify(s, KIDX__SEC_PAGESUMS, g * 4, 4);
    if (rc)
      return rc;
    sum = s->sec[KIDX__SEC_PAGESUMS] + g * 4;
  }
  if (kidx__crc32c(0, s->sec[sec] + at, (size_t)n) != kidx__get_u32(sum))
    return record(s, sec, DAMAGE_CHECKSUM, p);
  atomic_fetch_or_explicit(&s->st->verified[g >> 3],
                           (unsigned char)(1u << (g & 7)),
                           memory_order_release);
  atomic_fetch_add_explicit(&s->st->verified_bytes, n, memory_order_relaxed);
  return KIDX_OK;
}

int kidx__segment_verify(const kidx__segment *s, int sec, uint64_t off,
                         uint64_t len) {
  if (sec < 0 || sec >= KIDX__SEC_PAGED || off > s->sec_len[sec] ||
      len > s->sec_len[sec] - off)
    return record(s, sec, DAMAGE_RECORD, off);
  if (len == 0)
    return KIDX_OK;
  uint64_t last = (off + len - 1) >> KIDX__PAGE_SHIFT;
  for (uint64_t p = off >> KIDX__PAGE_SHIFT; p <= last; p++) {
    if (kidx__segment_page_ok(s, s->page_base[sec] + p))
      continue;
    int rc = verify_page(s, sec, p);
    if (rc)
      return rc;
  }
  return KIDX_OK;
}

/* Decodes one dictionary entry at *pp (before end) into text (holding the
 * previous term, *len bytes of it, on entry): shared prefix, suffix, df,
 * postings length.  Returns 0, or -1 if the entry is malformed. */
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

/* The longest dictionary entry: four varints and a term. */
#define MAX_ENTRY (4 * 10 + KIDX_MAX_TOKEN_BYTES)

static uint64_t nblocks(uint64_t nterms) {
  return (nterms + KIDX__TERM_BLOCK - 1) / KIDX__TERM_BLOCK;
}

/* Computes the global page numbers and checks the page sections' sizes. */
static int layout_pages(kidx__segment *s) {
  uint64_t g = 0;
  for (int i = 0; i < KIDX__SEC_PAGED; i++) {
    s->page_base[i] = g;
    g += npages(s->sec_len[i]);
  }
  s->page_base[KIDX__SEC_PAGED] = g;
  uint64_t data_pages = s->page_base[KIDX__SEC_PAGESUMS];
  if (s->sec_len[KIDX__SEC_PAGESUMS] != data_pages * 4 ||
      s->sec_len[KIDX__SEC_PAGEINDEX] !=
          npages(s->sec_len[KIDX__SEC_PAGESUMS]) * 4)
    return -1;
  return 0;
}

int kidx__segment_open(kidx__segment *s, const char *path, char *errmsg) {
  memset(s, 0, sizeof *s);
  int rc = kidx__fs_map(path, &s->map, errmsg);
  if (rc)
    return rc;
  if (!(s->path = malloc(strlen(path) + 1))) {
    rc = kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
    goto fail;
  }
  memcpy(s->path, path, strlen(path) + 1);
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
  s->title_tokens = kidx__get_u64(h + 56);
  if (s->ndocs >= UINT32_MAX || s->nterms >= UINT64_MAX / 16 ||
      s->title_tokens > s->ntokens) {
    rc = corrupt(errmsg, path, "impossible counts in header");
    goto fail;
  }
  for (int i = 0; i < KIDX__SEC_COUNT; i++) {
    const uint8_t *e =
        h + KIDX__SECTABLE_OFFSET + (size_t)i * KIDX__SECENTRY_SIZE;
    uint64_t off = kidx__get_u64(e), len = kidx__get_u64(e + 8);
    if (off < KIDX__HEADER_SIZE || off > size || len > size - off) {
      rc = corrupt(errmsg, path, "section outside the file");
      goto fail;
    }
    s->sec[i] = h + off;
    s->sec_len[i] = len;
  }
  if (s->sec_len[KIDX__SEC_TERMINDEX] != (nblocks(s->nterms) + 1) * 16 ||
      s->sec_len[KIDX__SEC_DOCLENS] != s->ndocs * 8 ||
      s->sec_len[KIDX__SEC_DOCOFFS] != (s->ndocs + 1) * 16 ||
      s->sec_len[KIDX__SEC_IDS] != s->ndocs * KIDX__ID_ENTRY ||
      (s->nterms == 0) != (s->sec_len[KIDX__SEC_POSTINGS] == 0) ||
      layout_pages(s)) {
    rc = corrupt(errmsg, path, "section sizes do not match the counts");
    goto fail;
  }
  /* The page index: 4 bytes per 256 MiB of the file, checked whole. */
  if (kidx__crc32c(0, s->sec[KIDX__SEC_PAGEINDEX],
                   (size_t)s->sec_len[KIDX__SEC_PAGEINDEX]) !=
      kidx__get_u32(h + KIDX__PAGEINDEX_CRC_OFFSET)) {
    rc = corrupt(errmsg, path,
                 "checksum mismatch in section 'page checksum index'");
    goto fail;
  }
  size_t bits = (size_t)((s->page_base[KIDX__SEC_PAGED] + 8) / 8);
  if (!(s->st = calloc(1, sizeof *s->st + bits))) {
    rc = kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
    goto fail;
  }
  return KIDX_OK;
fail:
  kidx__segment_close(s);
  return rc;
}

void kidx__segment_close(kidx__segment *s) {
  kidx__fs_unmap(&s->map);
  free(s->path);
  free(s->st);
  memset(s, 0, sizeof *s);
}

int kidx__segment_reseal(uint8_t *data, size_t len) {
  if (len < KIDX__HEADER_SIZE)
    return KIDX_ECORRUPT;
  kidx__segment s;
  memset(&s, 0, sizeof s);
  for (int i = 0; i < KIDX__SEC_COUNT; i++) {
    const uint8_t *e =
        data + KIDX__SECTABLE_OFFSET + (size_t)i * KIDX__SECENTRY_SIZE;
    uint64_t off = kidx__get_u64(e), n = kidx__get_u64(e + 8);
    if (off > len || n > len - off)
      return KIDX_ECORRUPT;
    s.sec[i] = data + off;
    s.sec_len[i] = n;
  }
  if (layout_pages(&s))
    return KIDX_ECORRUPT;
  uint8_t *sums = data + (s.sec[KIDX__SEC_PAGESUMS] - data);
  for (int i = 0; i < KIDX__SEC_PAGED; i++) {
    uint64_t sec_len = s.sec_len[i];
    uint8_t *out = i == KIDX__SEC_PAGESUMS
                       ? data + (s.sec[KIDX__SEC_PAGEINDEX] - data)
                       : sums + s.page_base[i] * 4;
    for (uint64_t p = 0; p < npages(sec_len); p++) {
      uint64_t at = p << KIDX__PAGE_SHIFT, n = sec_len - at;
      if (n > KIDX__PAGE_SIZE)
        n = KIDX__PAGE_SIZE;
      kidx__set_u32(out + p * 4, kidx__crc32c(0, s.sec[i] + at, (size_t)n));
    }
  }
  kidx__set_u32(data + KIDX__PAGEINDEX_CRC_OFFSET,
                kidx__crc32c(0, s.sec[KIDX__SEC_PAGEINDEX],
                             (size_t)s.sec_len[KIDX__SEC_PAGEINDEX]));
  kidx__set_u32(data + KIDX__HEADER_SIZE - 4,
                kidx__crc32c(0, data, KIDX__HEADER_SIZE - 4));
  return KIDX_OK;
}

/* Decodes the entry at c->p as term c->index, verifying the pages it lies
 * on and that its df and list fit the segment. */
static int cur_decode(kidx__termcur *c) {
  const kidx__segment *s = c->seg;
  const uint8_t *base = s->sec[KIDX__SEC_TERMS];
  uint64_t at = (uint64_t)(c->p - base),
           room = s->sec_len[KIDX__SEC_TERMS] - at;
  int rc = kidx__segment_verify(s, KIDX__SEC_TERMS, at,
                                room < MAX_ENTRY ? room : MAX_ENTRY);
  if (rc)
    return rc;
  uint64_t df, post_len;
  size_t len = c->term.len;
  if (c->index % KIDX__TERM_BLOCK == 0)
    len = 0;
  if (decode_entry(&c->p, base + s->sec_len[KIDX__SEC_TERMS], c->text, &len,
                   &df, &post_len) ||
      df == 0 || df > s->ndocs || post_len == 0 ||
      post_len > s->sec_len[KIDX__SEC_POSTINGS] - c->post)
    return kidx__segment_bad(s, KIDX__SEC_TERMS, at);
  c->term.text = c->text;
  c->term.len = len;
  c->term.df = (uint32_t)df;
  c->term.post = s->sec[KIDX__SEC_POSTINGS] + c->post;
  c->term.post_len = (size_t)post_len;
  c->post += post_len;
  return KIDX_OK;
}

/* Puts c at the start of block b, before decoding its first term. */
static int cur_block(kidx__termcur *c, const kidx__segment *s, uint64_t b) {
  int rc = kidx__segment_verify(s, KIDX__SEC_TERMINDEX, b * 16, 16);
  if (rc)
    return rc;
  const uint8_t *e = s->sec[KIDX__SEC_TERMINDEX] + b * 16;
  uint64_t at = kidx__get_u64(e), post = kidx__get_u64(e + 8);
  if (at >= s->sec_len[KIDX__SEC_TERMS] ||
      post >= s->sec_len[KIDX__SEC_POSTINGS])
    return kidx__segment_bad(s, KIDX__SEC_TERMINDEX, b * 16);
  c->seg = s;
  c->index = b * KIDX__TERM_BLOCK;
  c->p = s->sec[KIDX__SEC_TERMS] + at;
  c->post = post;
  c->term.len = 0;
  return KIDX_OK;
}

int kidx__termcur_seek(kidx__termcur *c, const kidx__segment *s, uint64_t i) {
  if (i >= s->nterms) {
    c->seg = s;
    c->index = s->nterms;
    return 0;
  }
  int rc = cur_block(c, s, i / KIDX__TERM_BLOCK);
  if (!rc)
    rc = cur_decode(c);
  while (!rc && c->index < i) {
    c->index++;
    rc = cur_decode(c);
  }
  if (rc) {
    c->index = s->nterms;
    return rc;
  }
  return 1;
}

int kidx__termcur_next(kidx__termcur *c) {
  if (c->index >= c->seg->nterms)
    return 0;
  if (++c->index == c->seg->nterms)
    return 0;
  int rc = cur_decode(c);
  if (rc) {
    c->index = c->seg->nterms;
    return rc;
  }
  return 1;
}

int kidx__termcur_lower_bound(kidx__termcur *c, const kidx__segment *s,
                              const char *text, size_t len) {
  /* The last block whose first (whole) term is <= text. */
  uint64_t lo = 0, hi = nblocks(s->nterms);
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    int rc = cur_block(c, s, mid);
    if (!rc)
      rc = cur_decode(c);
    if (rc) {
      c->seg = s;
      c->index = s->nterms;
      return rc;
    }
    if (kidx__term_cmp(c->term.text, c->term.len, text, len) <= 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  int on = kidx__termcur_seek(c, s, lo > 0 ? (lo - 1) * KIDX__TERM_BLOCK : 0);
  while (on > 0 && kidx__term_cmp(c->term.text, c->term.len, text, len) < 0)
    on = kidx__termcur_next(c);
  return on;
}

int kidx__segment_list(const kidx__segment *s, const kidx__term *t) {
  return kidx__segment_verify(s, KIDX__SEC_POSTINGS,
                              (uint64_t)(t->post - s->sec[KIDX__SEC_POSTINGS]),
                              t->post_len);
}

int kidx__segment_postings_check(const void *seg, const uint8_t *p,
                                 size_t len) {
  const kidx__segment *s = seg;
  return kidx__segment_verify(s, KIDX__SEC_POSTINGS,
                              (uint64_t)(p - s->sec[KIDX__SEC_POSTINGS]), len);
}

int kidx__segment_find(const kidx__segment *s, const char *text, size_t len,
                       kidx__term *out) {
  kidx__termcur c;
  int on = kidx__termcur_lower_bound(&c, s, text, len);
  if (on <= 0)
    return on;
  if (kidx__term_cmp(c.term.text, c.term.len, text, len) != 0)
    return 0;
  *out = c.term;
  out->text = text;
  return 1;
}

/* Reads document doc's pair of offsets into section col (0: document
 * data, 1: keys) and verifies the record's pages: *p, *end span it. */
static int doc_span(const kidx__segment *s, uint32_t doc, int col, int sec,
                    const uint8_t **p, const uint8_t **end) {
  if (doc >= s->ndocs)
    return kidx__segment_bad(s, KIDX__SEC_DOCOFFS, (uint64_t)doc * 16);
  uint64_t at = (uint64_t)doc * 16;
  int rc = kidx__segment_verify(s, KIDX__SEC_DOCOFFS, at, 32);
  if (rc)
    return rc;
  const uint8_t *offs = s->sec[KIDX__SEC_DOCOFFS] + at + (size_t)col * 8;
  uint64_t a = kidx__get_u64(offs), b = kidx__get_u64(offs + 16);
  if (a > b || b > s->sec_len[sec])
    return kidx__segment_bad(s, KIDX__SEC_DOCOFFS, at);
  if ((rc = kidx__segment_verify(s, sec, a, b - a)))
    return rc;
  *p = s->sec[sec] + a;
  *end = s->sec[sec] + b;
  return KIDX_OK;
}

int kidx__segment_key(const kidx__segment *s, uint32_t doc,
                      kidx__docinfo *out) {
  const uint8_t *p, *end;
  uint64_t id_len, size, zz;
  memset(out, 0, sizeof *out);
  int rc = doc_span(s, doc, 1, KIDX__SEC_KEYS, &p, &end);
  if (rc)
    return rc;
  const uint8_t *start = p;
  if (kidx__varint_get(&p, end, &id_len) || id_len == 0 ||
      id_len > (size_t)(end - p))
    return kidx__segment_bad(s, KIDX__SEC_KEYS,
                             (uint64_t)(start - s->sec[KIDX__SEC_KEYS]));
  out->id = (const char *)p;
  out->id_len = (size_t)id_len;
  p += id_len;
  /* The stamp: varint size, varint zigzag mtime, u64 hash, ending the
   * record exactly. */
  if (kidx__varint_get(&p, end, &size) || kidx__varint_get(&p, end, &zz) ||
      end - p != 8)
    return kidx__segment_bad(s, KIDX__SEC_KEYS,
                             (uint64_t)(start - s->sec[KIDX__SEC_KEYS]));
  out->stamp.size = size;
  out->stamp.mtime_ns = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
  out->stamp.hash = kidx__get_u64(p);
  return kidx__segment_doclens(s, doc, &out->title_tokens, &out->body_tokens);
}

int kidx__segment_doc(const kidx__segment *s, uint32_t doc,
                      kidx__docinfo *out) {
  int rc = kidx__segment_key(s, doc, out);
  if (rc)
    return rc;
  const uint8_t *p, *end;
  if ((rc = doc_span(s, doc, 0, KIDX__SEC_DOCDATA, &p, &end)))
    return rc;
  const uint8_t *start = p;
  uint64_t title_len, body_len;
  if (kidx__varint_get(&p, end, &title_len) || title_len > (size_t)(end - p))
    return kidx__segment_bad(s, KIDX__SEC_DOCDATA,
                             (uint64_t)(start - s->sec[KIDX__SEC_DOCDATA]));
  out->title = (const char *)p;
  out->title_len = (size_t)title_len;
  p += title_len;
  if (kidx__varint_get(&p, end, &body_len) || body_len != (size_t)(end - p))
    return kidx__segment_bad(s, KIDX__SEC_DOCDATA,
                             (uint64_t)(start - s->sec[KIDX__SEC_DOCDATA]));
  out->body = (const char *)p;
  out->body_len = (size_t)body_len;
  return KIDX_OK;
}

/* The hash of id table entry i, its page verified. */
static int id_hash(const kidx__segment *s, uint64_t i, uint64_t *h) {
  int rc = kidx__segment_verify(s, KIDX__SEC_IDS, i * KIDX__ID_ENTRY,
                                KIDX__ID_ENTRY);
  if (!rc)
    *h = kidx__get_u64(s->sec[KIDX__SEC_IDS] + i * KIDX__ID_ENTRY);
  return rc;
}

int kidx__segment_find_id(const kidx__segment *s, const char *id, size_t len,
                          uint32_t *doc) {
  const uint8_t *t = s->sec[KIDX__SEC_IDS];
  uint64_t h = kidx__hash_bytes(id, len), lo = 0, hi = s->ndocs, x;
  int rc;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if ((rc = id_hash(s, mid, &x)))
      return rc;
    if (x < h)
      lo = mid + 1;
    else
      hi = mid;
  }
  /* Every entry with this hash: almost always one at most. */
  for (; lo < s->ndocs; lo++) {
    if ((rc = id_hash(s, lo, &x)))
      return rc;
    if (x != h)
      break;
    uint32_t d = kidx__get_u32(t + lo * KIDX__ID_ENTRY + 8);
    kidx__docinfo info;
    if (d >= s->ndocs)
      return kidx__segment_bad(s, KIDX__SEC_IDS, lo * KIDX__ID_ENTRY);
    if ((rc = kidx__segment_key(s, d, &info)))
      return rc;
    if (info.id_len == len && memcmp(info.id, id, len) == 0) {
      *doc = d;
      return 1;
    }
  }
  return 0;
}
