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
 * kidx__check_segment's, as are the text blocks' (a canonical block table,
 * every block decompressing whole).  Stored text is read through the
 * caller's kidx__textcache, decompressing a block only as far as the
 * record read.  Lookups instead validate what they read
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
    "document data",
    "document table",
    "ids",
    "keys",
    "page checksums",
    "page checksum index"};

const uint8_t kidx__magic[8] = {'K', 'I', 'D', 'X', '\r', '\n', 0x1a, '\n'};

/* ---- the header codec: the only code that knows its offsets ---- */

void kidx__seghdr_encode(const kidx__seghdr *h,
                         uint8_t out[KIDX__HEADER_SIZE]) {
  memset(out, 0, KIDX__HEADER_SIZE);
  memcpy(out + KIDX__HDR_MAGIC, kidx__magic, sizeof kidx__magic);
  kidx__set_u32(out + KIDX__HDR_VERSION, h->version);
  kidx__set_u32(out + KIDX__HDR_ANALYSIS, h->analysis);
  kidx__set_u32(out + KIDX__HDR_NSECTIONS, h->nsections);
  kidx__set_u32(out + KIDX__HDR_AN_FLAGS, h->an_flags);
  kidx__set_u64(out + KIDX__HDR_FILE_SIZE, h->file_size);
  kidx__set_u64(out + KIDX__HDR_NDOCS, h->ndocs);
  kidx__set_u64(out + KIDX__HDR_NTERMS, h->nterms);
  kidx__set_u64(out + KIDX__HDR_NTOKENS, h->ntokens);
  kidx__set_u64(out + KIDX__HDR_TITLE_TOKENS, h->title_tokens);
  kidx__set_u64(out + KIDX__HDR_TITLE_BYTES, h->title_bytes);
  out[KIDX__HDR_TITLE_WIDTH] = h->doclen_width[0];
  out[KIDX__HDR_BODY_WIDTH] = h->doclen_width[1];
  out[KIDX__HDR_KEYOFF_WIDTH] = h->keyoff_width;
  for (int i = 0; i < KIDX__SEC_COUNT; i++) {
    uint8_t *e = out + KIDX__HDR_SECTABLE + (size_t)i * KIDX__SECENTRY_SIZE;
    kidx__set_u64(e + KIDX__SECENTRY_OFFSET, h->sec_off[i]);
    kidx__set_u64(e + KIDX__SECENTRY_LENGTH, h->sec_len[i]);
  }
  kidx__set_u32(out + KIDX__HDR_PAGEINDEX_CRC, h->pageindex_crc);
  kidx__set_u32(out + KIDX__HDR_CRC, kidx__crc32c(0, out, KIDX__HDR_CRC));
}

void kidx__seghdr_decode(kidx__seghdr *h, const uint8_t in[KIDX__HEADER_SIZE]) {
  h->magic_ok =
      memcmp(in + KIDX__HDR_MAGIC, kidx__magic, sizeof kidx__magic) == 0;
  h->version = kidx__get_u32(in + KIDX__HDR_VERSION);
  h->analysis = kidx__get_u32(in + KIDX__HDR_ANALYSIS);
  h->nsections = kidx__get_u32(in + KIDX__HDR_NSECTIONS);
  h->an_flags = kidx__get_u32(in + KIDX__HDR_AN_FLAGS);
  h->file_size = kidx__get_u64(in + KIDX__HDR_FILE_SIZE);
  h->ndocs = kidx__get_u64(in + KIDX__HDR_NDOCS);
  h->nterms = kidx__get_u64(in + KIDX__HDR_NTERMS);
  h->ntokens = kidx__get_u64(in + KIDX__HDR_NTOKENS);
  h->title_tokens = kidx__get_u64(in + KIDX__HDR_TITLE_TOKENS);
  h->title_bytes = kidx__get_u64(in + KIDX__HDR_TITLE_BYTES);
  h->doclen_width[0] = in[KIDX__HDR_TITLE_WIDTH];
  h->doclen_width[1] = in[KIDX__HDR_BODY_WIDTH];
  h->keyoff_width = in[KIDX__HDR_KEYOFF_WIDTH];
  for (int i = 0; i < KIDX__SEC_COUNT; i++) {
    const uint8_t *e =
        in + KIDX__HDR_SECTABLE + (size_t)i * KIDX__SECENTRY_SIZE;
    h->sec_off[i] = kidx__get_u64(e + KIDX__SECENTRY_OFFSET);
    h->sec_len[i] = kidx__get_u64(e + KIDX__SECENTRY_LENGTH);
  }
  h->pageindex_crc = kidx__get_u32(in + KIDX__HDR_PAGEINDEX_CRC);
  h->crc = kidx__get_u32(in + KIDX__HDR_CRC);
  h->crc_ok = kidx__crc32c(0, in, KIDX__HDR_CRC) == h->crc;
}

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
  uint32_t sum;
  if (sec == KIDX__SEC_PAGESUMS) {
    sum = kidx__pagesum_get(s->sec[KIDX__SEC_PAGEINDEX], p); /* verified */
  } else {
    int rc = kidx__segment_verify(s, KIDX__SEC_PAGESUMS, g * KIDX__PAGESUM_SIZE,
                                  KIDX__PAGESUM_SIZE);
    if (rc)
      return rc;
    sum = kidx__pagesum_get(s->sec[KIDX__SEC_PAGESUMS], g);
  }
  if (kidx__crc32c(0, s->sec[sec] + at, (size_t)n) != sum)
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
  if (s->sec_len[KIDX__SEC_PAGESUMS] != data_pages * KIDX__PAGESUM_SIZE ||
      s->sec_len[KIDX__SEC_PAGEINDEX] !=
          npages(s->sec_len[KIDX__SEC_PAGESUMS]) * KIDX__PAGESUM_SIZE)
    return -1;
  return 0;
}

/* The number of text blocks, from the document table's size: (N + 1) key
 * offsets, then (B + 1) block entries; every block holds at least one
 * document and every document's record is in a block. */
static int text_blocks(kidx__segment *s) {
  uint64_t len = s->sec_len[KIDX__SEC_DOCTABLE];
  uint64_t keys = kidx__segment_textblock_at(s, 0);
  if (len < keys + KIDX__TEXTBLOCK_ENTRY ||
      (len - keys) % KIDX__TEXTBLOCK_ENTRY != 0)
    return -1;
  s->ntextblocks = (len - keys) / KIDX__TEXTBLOCK_ENTRY - 1;
  return s->ntextblocks > s->ndocs || (s->ntextblocks == 0) != (s->ndocs == 0)
             ? -1
             : 0;
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
  const uint8_t *map = s->map.data;
  size_t size = s->map.size;
  kidx__seghdr h = {0};
  if (size >= KIDX__HEADER_SIZE)
    kidx__seghdr_decode(&h, map);
  if (size < KIDX__HEADER_SIZE || !h.magic_ok) {
    rc = kidx__err(errmsg, KIDX_ECORRUPT, "%s is not a kidx index file", path);
    goto fail;
  }
  if (h.version != KIDX__SEGMENT_VERSION) {
    rc = kidx__err(errmsg, KIDX_EFORMAT,
                   "%s has index format version %u; this kidx reads version "
                   "%u (rebuild the index)",
                   path, (unsigned)h.version, (unsigned)KIDX__SEGMENT_VERSION);
    goto fail;
  }
  if (!h.crc_ok) {
    rc = corrupt(errmsg, path, "header checksum mismatch");
    goto fail;
  }
  if (h.analysis != KIDX__ANALYSIS_VERSION || h.nsections != KIDX__SEC_COUNT ||
      (h.an_flags & ~KIDX__AN_ALL) != 0) {
    rc = kidx__err(errmsg, KIDX_EFORMAT,
                   "%s was written by analysis code or with a layout this "
                   "kidx does not know (rebuild the index)",
                   path);
    goto fail;
  }
  s->an_flags = h.an_flags;
  s->header_crc = h.crc;
  if (h.file_size != size) {
    rc = corrupt(errmsg, path,
                 "file size does not match its header "
                 "(truncated?)");
    goto fail;
  }
  s->ndocs = h.ndocs;
  s->nterms = h.nterms;
  s->ntokens = h.ntokens;
  s->title_tokens = h.title_tokens;
  s->title_bytes = h.title_bytes;
  if (s->ndocs >= UINT32_MAX || s->nterms >= UINT64_MAX / KIDX__TIX_SIZE ||
      s->title_tokens > s->ntokens) {
    rc = corrupt(errmsg, path, "impossible counts in header");
    goto fail;
  }
  for (int i = 0; i < KIDX__SEC_COUNT; i++) {
    uint64_t off = h.sec_off[i], len = h.sec_len[i];
    if (off < KIDX__HEADER_SIZE || off > size || len > size - off) {
      rc = corrupt(errmsg, path, "section outside the file");
      goto fail;
    }
    s->sec[i] = map + off;
    s->sec_len[i] = len;
  }
  /* The tables' widths: any the format allows for the lengths (the
   * check verifies they are the smallest), and for the key offsets
   * exactly the one section 7's length calls for. */
  for (int f = 0; f < KIDX__NFIELDS; f++) {
    if (!kidx__doclen_width_valid(h.doclen_width[f])) {
      rc = corrupt(errmsg, path, "impossible table widths in header");
      goto fail;
    }
    s->doclen_width[f] = h.doclen_width[f];
    s->doclen_stride += h.doclen_width[f];
  }
  s->keyoff_width = h.keyoff_width;
  if (s->keyoff_width != kidx__keyoff_width(s->sec_len[KIDX__SEC_KEYS])) {
    rc = corrupt(errmsg, path, "impossible table widths in header");
    goto fail;
  }
  s->nsamples = kidx__ids_nsamples(s->ndocs);
  if (s->sec_len[KIDX__SEC_TERMINDEX] !=
          (nblocks(s->nterms) + 1) * KIDX__TIX_SIZE ||
      s->sec_len[KIDX__SEC_DOCLENS] != s->ndocs * s->doclen_stride ||
      text_blocks(s) || s->sec_len[KIDX__SEC_IDS] != kidx__ids_size(s->ndocs) ||
      s->title_bytes > s->sec_len[KIDX__SEC_KEYS] ||
      (s->nterms == 0) != (s->sec_len[KIDX__SEC_POSTINGS] == 0) ||
      layout_pages(s)) {
    rc = corrupt(errmsg, path, "section sizes do not match the counts");
    goto fail;
  }
  /* The page index: 4 bytes per 256 MiB of the file, checked whole. */
  if (kidx__crc32c(0, s->sec[KIDX__SEC_PAGEINDEX],
                   (size_t)s->sec_len[KIDX__SEC_PAGEINDEX]) !=
      h.pageindex_crc) {
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
  kidx__seghdr h;
  memset(&s, 0, sizeof s);
  kidx__seghdr_decode(&h, data);
  for (int i = 0; i < KIDX__SEC_COUNT; i++) {
    uint64_t off = h.sec_off[i], n = h.sec_len[i];
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
                       : sums + s.page_base[i] * KIDX__PAGESUM_SIZE;
    for (uint64_t p = 0; p < npages(sec_len); p++) {
      uint64_t at = p << KIDX__PAGE_SHIFT, n = sec_len - at;
      if (n > KIDX__PAGE_SIZE)
        n = KIDX__PAGE_SIZE;
      kidx__pagesum_set(out, p, kidx__crc32c(0, s.sec[i] + at, (size_t)n));
    }
  }
  h.pageindex_crc = kidx__crc32c(0, s.sec[KIDX__SEC_PAGEINDEX],
                                 (size_t)s.sec_len[KIDX__SEC_PAGEINDEX]);
  kidx__seghdr_encode(&h, data); /* and its CRC */
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
  int rc = kidx__segment_verify(s, KIDX__SEC_TERMINDEX, b * KIDX__TIX_SIZE,
                                KIDX__TIX_SIZE);
  if (rc)
    return rc;
  uint64_t at, post;
  kidx__tix_decode(s->sec[KIDX__SEC_TERMINDEX] + b * KIDX__TIX_SIZE, &at,
                   &post);
  if (at >= s->sec_len[KIDX__SEC_TERMS] ||
      post >= s->sec_len[KIDX__SEC_POSTINGS])
    return kidx__segment_bad(s, KIDX__SEC_TERMINDEX, b * KIDX__TIX_SIZE);
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

/* Reads document doc's pair of key offsets and verifies the key record's
 * pages: *p, *end span it. */
static int key_span(const kidx__segment *s, uint32_t doc, const uint8_t **p,
                    const uint8_t **end) {
  unsigned w = s->keyoff_width;
  uint64_t at = (uint64_t)doc * w;
  if (doc >= s->ndocs)
    return kidx__segment_bad(s, KIDX__SEC_DOCTABLE, at);
  int rc = kidx__segment_verify(s, KIDX__SEC_DOCTABLE, at, 2 * w);
  if (rc)
    return rc;
  const uint8_t *offs = s->sec[KIDX__SEC_DOCTABLE] + at;
  uint64_t a = kidx__keyoff_decode(offs, w),
           b = kidx__keyoff_decode(offs + w, w);
  if (a > b || b > s->sec_len[KIDX__SEC_KEYS])
    return kidx__segment_bad(s, KIDX__SEC_DOCTABLE, at);
  if ((rc = kidx__segment_verify(s, KIDX__SEC_KEYS, a, b - a)))
    return rc;
  *p = s->sec[KIDX__SEC_KEYS] + a;
  *end = s->sec[KIDX__SEC_KEYS] + b;
  return KIDX_OK;
}

/* The id that starts the key record at *p (before end): *id, *id_len,
 * and *p moved past it. */
static int key_id(const kidx__segment *s, const uint8_t **p, const uint8_t *end,
                  const char **id, size_t *id_len) {
  const uint8_t *start = *p;
  uint64_t n;
  if (kidx__varint_get(p, end, &n) || n == 0 || n > (size_t)(end - *p))
    return kidx__segment_bad(s, KIDX__SEC_KEYS,
                             (uint64_t)(start - s->sec[KIDX__SEC_KEYS]));
  *id = (const char *)*p;
  *id_len = (size_t)n;
  *p += n;
  return KIDX_OK;
}

int kidx__segment_key(const kidx__segment *s, uint32_t doc,
                      kidx__docinfo *out) {
  const uint8_t *p, *end;
  uint64_t size, zz;
  memset(out, 0, sizeof *out);
  int rc = key_span(s, doc, &p, &end);
  if (rc)
    return rc;
  const uint8_t *start = p;
  if ((rc = key_id(s, &p, end, &out->id, &out->id_len)))
    return rc;
  /* The stamp: a byte 0 (none, all zeros) or 1, then varint size,
   * varint zigzag mtime, u64 hash, not all zero; then the title, ending
   * the record exactly. */
  uint64_t title_len;
  if (p >= end || *p > 1)
    return kidx__segment_bad(s, KIDX__SEC_KEYS,
                             (uint64_t)(start - s->sec[KIDX__SEC_KEYS]));
  if (*p++) {
    if (kidx__varint_get(&p, end, &size) || kidx__varint_get(&p, end, &zz) ||
        end - p < 8 || (size == 0 && zz == 0 && kidx__get_u64(p) == 0))
      return kidx__segment_bad(s, KIDX__SEC_KEYS,
                               (uint64_t)(start - s->sec[KIDX__SEC_KEYS]));
    out->stamp.size = size;
    out->stamp.mtime_ns = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
    out->stamp.hash = kidx__get_u64(p);
    p += 8;
  }
  if (kidx__varint_get(&p, end, &title_len) || title_len != (uint64_t)(end - p))
    return kidx__segment_bad(s, KIDX__SEC_KEYS,
                             (uint64_t)(start - s->sec[KIDX__SEC_KEYS]));
  out->title = (const char *)p;
  out->title_len = (size_t)title_len;
  return kidx__segment_doclens(s, doc, &out->title_tokens, &out->body_tokens);
}

/* Where a text block table entry sits: after the N + 1 key offsets. */
enum {
  TB_OFFSET = 0,    /* u64: the stored block's offset in section 4 */
  TB_RAW_LEN = 8,   /* u64: its records' length, decompressed */
  TB_FIRST_DOC = 16 /* u32: its first document */
};
_Static_assert(TB_FIRST_DOC + 4 == KIDX__TEXTBLOCK_ENTRY,
               "text block entry fields fill the entry");

void kidx__textblock_encode(uint8_t *e, const kidx__textblock *b) {
  kidx__set_u64(e + TB_OFFSET, b->offset);
  kidx__set_u64(e + TB_RAW_LEN, b->raw_len);
  kidx__set_u32(e + TB_FIRST_DOC, b->first_doc);
}

void kidx__textblock_decode(const uint8_t *e, kidx__textblock *b) {
  b->offset = kidx__get_u64(e + TB_OFFSET);
  b->raw_len = kidx__get_u64(e + TB_RAW_LEN);
  b->first_doc = kidx__get_u32(e + TB_FIRST_DOC);
}

int kidx__segment_textblock(const kidx__segment *s, uint64_t b,
                            kidx__textblock *out) {
  uint64_t at = kidx__segment_textblock_at(s, b);
  int rc =
      kidx__segment_verify(s, KIDX__SEC_DOCTABLE, at, KIDX__TEXTBLOCK_ENTRY);
  if (rc)
    return rc;
  kidx__textblock_decode(s->sec[KIDX__SEC_DOCTABLE] + at, out);
  return KIDX_OK;
}

void kidx__textcache_free(kidx__textcache *c) {
  free(c->buf);
  memset(c, 0, sizeof *c);
}

/* Makes tc's first upto bytes of the block available (all when upto >=
 * len), decompressing as far as that. */
static int text_need(kidx__textcache *tc, size_t upto) {
  if (tc->pos.out >= upto || tc->pos.out == tc->len)
    return KIDX_OK;
  return kidx__lz_decompress_upto(tc->block, tc->stored, tc->buf, tc->len,
                                  &tc->pos, upto);
}

/* A varint of the record in text[0..len) at *off, decompressing what it
 * needs. */
static int text_varint(kidx__textcache *tc, const uint8_t *text, size_t len,
                       size_t *off, uint64_t *v) {
  if (text == tc->buf &&
      text_need(tc, *off <= SIZE_MAX - 10 ? *off + 10 : SIZE_MAX))
    return -1;
  const uint8_t *p = text + *off;
  size_t have = text == tc->buf ? tc->pos.out : len;
  if (*off > have || kidx__varint_get(&p, text + have, v))
    return -1;
  *off = (size_t)(p - text);
  return 0;
}

/* Skips (or, with out, decodes) the text record at *off in text[0..len):
 * varint title length, title, varint body length, body; a compressed
 * block (text == tc->buf) is decompressed as far as the record.  -1 if it
 * does not decode within len. */
static int text_record(kidx__textcache *tc, const uint8_t *text, size_t len,
                       size_t *off, kidx__docinfo *out) {
  uint64_t body_len;
  if (text_varint(tc, text, len, off, &body_len) || body_len > len - *off)
    return -1;
  size_t body = *off;
  *off += (size_t)body_len;
  if (text == tc->buf && out && text_need(tc, *off))
    return -1;
  if (out) {
    out->body = (const char *)text + body;
    out->body_len = (size_t)body_len;
  }
  return 0;
}

/* A block that does not decode: forgotten by the cache, recorded. */
static int text_bad(const kidx__segment *s, kidx__textcache *tc,
                    uint64_t offset) {
  tc->block = NULL;
  return kidx__segment_bad(s, KIDX__SEC_DOCDATA, offset);
}

/* The block holding doc: the last entry whose first document is <= doc,
 * and the entry after it (its end).  A table out of order makes the
 * search land elsewhere, which the bounds then refuse. */
static int find_textblock(const kidx__segment *s, uint32_t doc, uint64_t *b,
                          kidx__textblock *blk, kidx__textblock *next) {
  uint64_t lo = 0, hi = s->ntextblocks;
  int rc;
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    if ((rc = kidx__segment_textblock(s, mid, blk)))
      return rc;
    if (blk->first_doc <= doc)
      lo = mid;
    else
      hi = mid;
  }
  if ((rc = kidx__segment_textblock(s, lo, blk)) ||
      (rc = kidx__segment_textblock(s, lo + 1, next)))
    return rc;
  *b = lo;
  /* A block is stored compressed exactly when that is shorter than its
   * raw text (doc/FORMAT.md): stored length <= raw length. */
  if (blk->first_doc > doc || doc >= next->first_doc ||
      blk->offset >= next->offset ||
      next->offset > s->sec_len[KIDX__SEC_DOCDATA] ||
      next->offset - blk->offset > blk->raw_len ||
      blk->raw_len / 256 > next->offset - blk->offset)
    return kidx__segment_bad(s, KIDX__SEC_DOCTABLE,
                             kidx__segment_textblock_at(s, lo));
  return KIDX_OK;
}

int kidx__segment_doc(const kidx__segment *s, uint32_t doc, kidx__textcache *tc,
                      kidx__docinfo *out) {
  int rc = kidx__segment_key(s, doc, out);
  if (rc)
    return rc;
  uint64_t b;
  kidx__textblock blk, next;
  if ((rc = find_textblock(s, doc, &b, &blk, &next)))
    return rc;
  const uint8_t *src = s->sec[KIDX__SEC_DOCDATA] + blk.offset;
  size_t stored = (size_t)(next.offset - blk.offset);
  size_t raw = (size_t)blk.raw_len;
  const uint8_t *text = src;
  if (stored < raw) {
    if (tc->block != src || tc->len != raw || tc->stored != stored) {
      tc->block = NULL;
      if ((rc = kidx__segment_verify(s, KIDX__SEC_DOCDATA, blk.offset, stored)))
        return rc;
      if (raw > tc->cap) {
        uint8_t *buf = realloc(tc->buf, raw);
        if (!buf)
          return KIDX_ENOMEM;
        tc->buf = buf;
        tc->cap = raw;
      }
      /* Decompressed lazily, as far as the records read need. */
      tc->block = src;
      tc->stored = stored;
      tc->len = raw;
      tc->pos = (kidx__lz_pos){0, 0};
      tc->next_doc = blk.first_doc;
      tc->next_off = 0;
    }
    text = tc->buf;
  } else if ((rc = kidx__segment_verify(s, KIDX__SEC_DOCDATA, blk.offset,
                                        stored))) {
    return rc;
  }
  /* Records are found by skipping those before doc in the block: from the
   * one after the last record read, when the cache holds this block. */
  size_t off = 0;
  uint32_t d = blk.first_doc;
  if (text == tc->buf && tc->next_doc <= doc && tc->next_doc >= d) {
    d = tc->next_doc;
    off = tc->next_off;
  }
  for (; d < doc; d++)
    if (text_record(tc, text, raw, &off, NULL))
      return text_bad(s, tc, blk.offset);
  if (text_record(tc, text, raw, &off, out) ||
      (doc + 1 == next.first_doc && off != raw))
    return text_bad(s, tc, blk.offset);
  if (text == tc->buf) {
    tc->next_doc = doc + 1;
    tc->next_off = off;
  }
  return KIDX_OK;
}

/* Sample j of the id table, its page verified. */
static int id_sample(const kidx__segment *s, uint64_t j, uint64_t *h) {
  uint64_t at = kidx__ids_sample_at(j);
  int rc = kidx__segment_verify(s, KIDX__SEC_IDS, at, KIDX__ID_SAMPLE_SIZE);
  if (!rc)
    *h = kidx__ids_sample_decode(s->sec[KIDX__SEC_IDS] + at);
  return rc;
}

/* Entry i of the id table: its document *doc (< N), whose id is *id,
 * *len, and *h the id's hash.  An entry that a sample describes must
 * have the sampled hash: lookups rest on the samples, so one that does
 * not match its entry is damage like an entry out of order. */
static int id_entry(const kidx__segment *s, uint64_t i, uint32_t *doc,
                    const char **id, size_t *len, uint64_t *h) {
  uint64_t at = kidx__ids_doc_at(s->ndocs, i), sample;
  const uint8_t *p, *end;
  int rc = kidx__segment_verify(s, KIDX__SEC_IDS, at, KIDX__ID_DOC_SIZE);
  if (rc)
    return rc;
  *doc = kidx__ids_doc_decode(s->sec[KIDX__SEC_IDS] + at);
  if (*doc >= s->ndocs)
    return kidx__segment_bad(s, KIDX__SEC_IDS, at);
  if ((rc = key_span(s, *doc, &p, &end)) || (rc = key_id(s, &p, end, id, len)))
    return rc;
  *h = kidx__hash_bytes(*id, *len);
  if (i % KIDX__ID_SAMPLE == 0) {
    if ((rc = id_sample(s, i / KIDX__ID_SAMPLE, &sample)))
      return rc;
    if (sample != *h)
      return kidx__segment_bad(s, KIDX__SEC_IDS,
                               kidx__ids_sample_at(i / KIDX__ID_SAMPLE));
  }
  return KIDX_OK;
}

int kidx__segment_find_id(const kidx__segment *s, const char *id, size_t len,
                          uint32_t *doc) {
  uint64_t h = kidx__hash_bytes(id, len), x;
  const char *xid;
  size_t xlen;
  uint32_t d;
  int rc;
  /* j: the first sample >= h.  Entries up to 64 (j - 1) hash below h (as
   * sample j - 1 does), those from 64 j on do not (as sample j): the first
   * entry >= h is one of (64 (j - 1), 64 j], entry 0 when j = 0, and
   * entry N stands for none. */
  uint64_t lo = 0, hi = s->nsamples;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if ((rc = id_sample(s, mid, &x)))
      return rc;
    if (x < h)
      lo = mid + 1;
    else
      hi = mid;
  }
  uint64_t j = lo, first = j ? (j - 1) * KIDX__ID_SAMPLE + 1 : 0;
  lo = first;
  hi = j * KIDX__ID_SAMPLE < s->ndocs ? j * KIDX__ID_SAMPLE : s->ndocs;
  /* The first entry >= h among them, by the hashes of their ids; an
   * entry probed with the id sought ends the search (ids are unique in a
   * segment).  hi_hash: the hash of entry hi once probed. */
  int hi_probed = 0;
  uint64_t hi_hash = 0;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if ((rc = id_entry(s, mid, &d, &xid, &xlen, &x)))
      return rc;
    if (x == h && xlen == len && memcmp(xid, id, len) == 0) {
      *doc = d;
      return 1;
    }
    if (x < h) {
      lo = mid + 1;
    } else {
      hi = mid;
      hi_probed = 1;
      hi_hash = x;
    }
  }
  /* An answer at the start of the range rests on sample j - 1 being
   * below h: read its entry, which checks it. */
  if (lo == first && j > 0 &&
      (rc = id_entry(s, first - 1, &d, &xid, &xlen, &x)))
    return rc;
  if (hi_probed) {
    if (hi_hash != h)
      return 0;
    lo++; /* probed: a hash collision, not the id */
  }
  /* The entries of hash h from lo on: entry 64 j when no probe reached it
   * (its hash sample j's, >= h), then others only where two ids share a
   * hash. */
  for (; lo < s->ndocs; lo++) {
    if ((rc = id_entry(s, lo, &d, &xid, &xlen, &x)))
      return rc;
    if (x != h)
      return 0;
    if (xlen == len && memcmp(xid, id, len) == 0) {
      *doc = d;
      return 1;
    }
  }
  return 0;
}
