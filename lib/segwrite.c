/*
 * segwrite.c -- writing an index file (format in doc/FORMAT.md; the reader
 * is segment.c).  Called by writer.c on commit: the committed index (minus
 * its deleted documents) and the in-memory batch are merged into one new
 * file, which writer.c then publishes with an atomic rename.
 *
 * Document numbers are reassigned densely: the base's live documents keep
 * their relative order and come first, then the batch's live documents.
 * Because every base number is below every batch number, each merged
 * postings list is simply the base's list followed by the batch's, both
 * renumbered.
 *
 * The postings section is streamed to the file term by term; the smaller
 * tables (terms, documents) are built in memory and written after it.  The
 * header, whose checksums are only known at the end, is written last over a
 * placeholder.
 */
#include "kidx_int.h"

#include <stdlib.h>

#define DROPPED UINT32_MAX

typedef struct merge {
  kidx__wfile f;
  unsigned an_flags; /* analysis the terms were produced with */
  char *errmsg;
  const kidx__segment *base;
  const uint8_t *base_state; /* KIDX__BASE_* per base document */
  const kidx_stamp *restamp;
  const kidx__memindex *mi;
  uint32_t *base_map; /* base doc -> new doc or DROPPED */
  uint32_t *mem_map;  /* batch doc -> new doc or DROPPED */
  uint32_t ndocs;     /* documents in the new file */
  uint64_t nterms;
  kidx__buf list;    /* the merged list being built */
  kidx__buf terms;   /* the term blocks */
  kidx__buf index;   /* the block index */
  kidx__buf skips;   /* skip points of the list being built: u64 pairs */
  kidx__buf skiphdr; /* its encoded skip table */
  char prev[KIDX_MAX_TOKEN_BYTES]; /* the last term written */
  size_t prev_len;
  uint32_t *pos; /* positions of one entry */
  size_t pos_cap;
  uint64_t sec_off[KIDX__SEC_COUNT], sec_len[KIDX__SEC_COUNT];
  uint32_t sec_crc[KIDX__SEC_COUNT];
} merge;

static int oom(merge *m) {
  return kidx__err(m->errmsg, KIDX_ENOMEM, "out of memory writing %s",
                   m->f.path);
}

/* Appends the renumbered live entries of one source list to m->list. */
static int append_list(merge *m, const kidx__term *t, int in_file,
                       uint64_t doc_limit, const uint32_t *map, uint64_t *base,
                       uint32_t *df) {
  kidx__postings c;
  int rc = KIDX_OK;
  if (in_file)
    rc = kidx__postings_init_skips(&c, t->post, t->post_len, t->df, doc_limit);
  else
    kidx__postings_init(&c, t->post, t->post_len, t->df, doc_limit);
  if (rc)
    return kidx__err(m->errmsg, KIDX_ECORRUPT,
                     "damaged postings for a term while writing %s", m->f.path);
  while ((rc = kidx__postings_next(&c)) == 1) {
    if (c.tf > m->pos_cap) {
      size_t cap = c.tf < 64 ? 64 : c.tf;
      uint32_t *p = realloc(m->pos, cap * sizeof *p);
      if (!p)
        return oom(m);
      m->pos = p;
      m->pos_cap = cap;
    }
    uint32_t doc = map[c.doc];
    if (doc == DROPPED)
      continue; /* next() skips the unread positions */
    if ((rc = kidx__postings_positions(&c, m->pos)))
      break;
    if (kidx__postings_put(&m->list, *base, doc, m->pos, c.tf, c.tf_title))
      return oom(m);
    *base = (uint64_t)doc + 1;
    /* A skip entry after every full block: where the next one starts. */
    if (++*df % KIDX__SKIP_BLOCK == 0 &&
        (kidx__buf_put_u64(&m->skips, *base) ||
         kidx__buf_put_u64(&m->skips, m->list.n)))
      return oom(m);
  }
  if (rc < 0)
    return kidx__err(m->errmsg, KIDX_ECORRUPT,
                     "damaged postings for a term while writing %s", m->f.path);
  return KIDX_OK;
}

/* Merges base term a and/or batch term b (either may be NULL; when both
 * are given they are the same term) into the new file. */
static int emit_term(merge *m, const kidx__term *a, const kidx__term *b) {
  uint64_t base = 0;
  uint32_t df = 0;
  int rc;
  m->list.n = 0;
  m->skips.n = 0;
  if (a && (rc = append_list(m, a, 1, m->base->ndocs, m->base_map, &base, &df)))
    return rc;
  if (b && (rc = append_list(m, b, 0, kidx__memindex_ndocs(m->mi), m->mem_map,
                             &base, &df)))
    return rc;
  if (df == 0)
    return KIDX_OK; /* every document with this term was deleted */
  const kidx__term *t = a ? a : b;
  /* The list's skip table: one entry per full block but the last, as
   * deltas of (last document + 1, offset of the next entry). */
  uint64_t nskips = (df - 1) / KIDX__SKIP_BLOCK, prev_doc = 0, prev_off = 0;
  m->skiphdr.n = 0;
  for (uint64_t k = 0; k < nskips; k++) {
    uint64_t d = kidx__get_u64(m->skips.p + k * 16);
    uint64_t o = kidx__get_u64(m->skips.p + k * 16 + 8);
    if (kidx__buf_put_varint(&m->skiphdr, d - prev_doc) ||
        kidx__buf_put_varint(&m->skiphdr, o - prev_off))
      return oom(m);
    prev_doc = d;
    prev_off = o;
  }
  uint8_t head[20];
  size_t nhead = kidx__varint_encode(head, nskips);
  nhead += kidx__varint_encode(head + nhead, m->skiphdr.n);
  /* A block starts with a whole term, indexed by its offsets; the others
   * store only what differs from the term before (doc/FORMAT.md). */
  size_t shared = 0;
  if (m->nterms % KIDX__TERM_BLOCK == 0) {
    if (kidx__buf_put_u64(&m->index, m->terms.n) ||
        kidx__buf_put_u64(&m->index, m->f.offset - m->sec_off[0]))
      return oom(m);
  } else {
    while (shared < m->prev_len && shared < t->len &&
           m->prev[shared] == t->text[shared])
      shared++;
  }
  if (kidx__buf_put_varint(&m->terms, shared) ||
      kidx__buf_put_varint(&m->terms, t->len - shared) ||
      kidx__buf_append(&m->terms, t->text + shared, t->len - shared) ||
      kidx__buf_put_varint(&m->terms, df) ||
      kidx__buf_put_varint(&m->terms, nhead + m->skiphdr.n + m->list.n))
    return oom(m);
  memcpy(m->prev, t->text, t->len);
  m->prev_len = t->len;
  m->nterms++;
  kidx__wfile_write(&m->f, head, nhead);
  kidx__wfile_write(&m->f, m->skiphdr.p, m->skiphdr.n);
  return kidx__wfile_write(&m->f, m->list.p, m->list.n);
}

static void section_begin(merge *m, int sec) {
  m->sec_off[sec] = m->f.offset;
  m->f.crc = 0;
}

static void section_end(merge *m, int sec) {
  m->sec_len[sec] = m->f.offset - m->sec_off[sec];
  m->sec_crc[sec] = m->f.crc;
}

static int write_postings(merge *m) {
  kidx__term *mt = NULL;
  size_t nmt = 0, j = 0;
  kidx__termcur cur;
  int rc = kidx__memindex_terms(m->mi, &mt, &nmt);
  if (rc)
    return oom(m);
  /* A merge of two sorted term sequences: the base's and the batch's. */
  int in_base = m->base && kidx__termcur_seek(&cur, m->base, 0);
  section_begin(m, KIDX__SEC_POSTINGS);
  while (!rc && (in_base || j < nmt)) {
    const kidx__term *bt = &cur.term;
    int c = !in_base ? 1
            : j >= nmt
                ? -1
                : kidx__term_cmp(bt->text, bt->len, mt[j].text, mt[j].len);
    if (c < 0) {
      rc = emit_term(m, bt, NULL);
      in_base = kidx__termcur_next(&cur);
    } else if (c > 0) {
      rc = emit_term(m, NULL, &mt[j]);
      j++;
    } else {
      rc = emit_term(m, bt, &mt[j]);
      in_base = kidx__termcur_next(&cur);
      j++;
    }
  }
  free(mt);
  if (rc)
    return rc;
  section_end(m, KIDX__SEC_POSTINGS);
  /* Sentinel index entry: the ends of the blocks and of the postings. */
  if (kidx__buf_put_u64(&m->index, m->terms.n) ||
      kidx__buf_put_u64(&m->index, m->sec_len[KIDX__SEC_POSTINGS]))
    return oom(m);
  section_begin(m, KIDX__SEC_TERMS);
  kidx__wfile_write(&m->f, m->terms.p, m->terms.n);
  section_end(m, KIDX__SEC_TERMS);
  section_begin(m, KIDX__SEC_TERMINDEX);
  kidx__wfile_write(&m->f, m->index.p, m->index.n);
  section_end(m, KIDX__SEC_TERMINDEX);
  return m->f.rc;
}

/* Calls fn for each live document in new-number order. */
typedef int (*doc_fn)(merge *m, const kidx__docinfo *d, uint64_t *acc);

static int for_each_doc(merge *m, doc_fn fn, uint64_t *acc) {
  kidx__docinfo d;
  int rc;
  for (uint64_t i = 0; m->base && i < m->base->ndocs; i++) {
    if (m->base_map[i] == DROPPED)
      continue;
    if (kidx__segment_doc(m->base, (uint32_t)i, &d))
      return kidx__err(m->errmsg, KIDX_ECORRUPT,
                       "damaged document table while writing %s", m->f.path);
    if (m->base_state[i] == KIDX__BASE_RESTAMP)
      d.stamp = m->restamp[i];
    if ((rc = fn(m, &d, acc)))
      return rc;
  }
  for (uint32_t i = 0; i < kidx__memindex_ndocs(m->mi); i++) {
    if (m->mem_map[i] == DROPPED)
      continue;
    kidx__memindex_doc(m->mi, i, &d);
    if ((rc = fn(m, &d, acc)))
      return rc;
  }
  return KIDX_OK;
}

static int put_doclen(merge *m, const kidx__docinfo *d, uint64_t *acc) {
  uint8_t b[8];
  kidx__set_u32(b, d->title_tokens);
  kidx__set_u32(b + 4, d->body_tokens);
  *acc += (uint64_t)d->title_tokens + d->body_tokens;
  return kidx__wfile_write(&m->f, b, 8);
}

/* A stamp's mtime as an unsigned varint: zigzag, so small negative
 * values stay short. */
static uint64_t zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static uint64_t docdata_size(const kidx__docinfo *d) {
  uint8_t tmp[10];
  return kidx__varint_encode(tmp, d->id_len) + d->id_len +
         kidx__varint_encode(tmp, d->title_len) + d->title_len +
         kidx__varint_encode(tmp, d->body_len) + d->body_len +
         kidx__varint_encode(tmp, d->stamp.size) +
         kidx__varint_encode(tmp, zigzag(d->stamp.mtime_ns)) + 8;
}

static int put_docoff(merge *m, const kidx__docinfo *d, uint64_t *acc) {
  uint8_t b[8];
  *acc += docdata_size(d);
  kidx__set_u64(b, *acc);
  return kidx__wfile_write(&m->f, b, 8);
}

static int put_docdata(merge *m, const kidx__docinfo *d, uint64_t *acc) {
  uint8_t v[10];
  (void)acc;
  kidx__wfile_write(&m->f, v, kidx__varint_encode(v, d->id_len));
  kidx__wfile_write(&m->f, d->id, d->id_len);
  kidx__wfile_write(&m->f, v, kidx__varint_encode(v, d->title_len));
  kidx__wfile_write(&m->f, d->title, d->title_len);
  kidx__wfile_write(&m->f, v, kidx__varint_encode(v, d->body_len));
  kidx__wfile_write(&m->f, d->body, d->body_len);
  kidx__wfile_write(&m->f, v, kidx__varint_encode(v, d->stamp.size));
  kidx__wfile_write(&m->f, v,
                    kidx__varint_encode(v, zigzag(d->stamp.mtime_ns)));
  kidx__set_u64(v, d->stamp.hash);
  return kidx__wfile_write(&m->f, v, 8);
}

static int write_documents(merge *m, uint64_t *ntokens) {
  uint64_t acc = 0;
  int rc;
  *ntokens = 0;
  section_begin(m, KIDX__SEC_DOCLENS);
  if ((rc = for_each_doc(m, put_doclen, ntokens)))
    return rc;
  section_end(m, KIDX__SEC_DOCLENS);
  section_begin(m, KIDX__SEC_DOCOFFS);
  uint8_t zero[8] = {0};
  kidx__wfile_write(&m->f, zero, 8);
  if ((rc = for_each_doc(m, put_docoff, &acc)))
    return rc;
  section_end(m, KIDX__SEC_DOCOFFS);
  section_begin(m, KIDX__SEC_DOCDATA);
  if ((rc = for_each_doc(m, put_docdata, NULL)))
    return rc;
  section_end(m, KIDX__SEC_DOCDATA);
  return m->f.rc;
}

static int write_header(merge *m, uint64_t ntokens) {
  uint8_t h[KIDX__HEADER_SIZE];
  memset(h, 0, sizeof h);
  memcpy(h, kidx__magic, 8);
  kidx__set_u32(h + 8, KIDX__FORMAT_VERSION);
  kidx__set_u32(h + 12, KIDX__ANALYSIS_VERSION);
  kidx__set_u32(h + 20, m->an_flags);
  kidx__set_u32(h + 16, KIDX__SEC_COUNT);
  kidx__set_u64(h + 24, m->f.offset);
  kidx__set_u64(h + 32, m->ndocs);
  kidx__set_u64(h + 40, m->nterms);
  kidx__set_u64(h + 48, ntokens);
  for (int i = 0; i < KIDX__SEC_COUNT; i++) {
    uint8_t *e = h + KIDX__SECTABLE_OFFSET + (size_t)i * 24;
    kidx__set_u64(e, m->sec_off[i]);
    kidx__set_u64(e + 8, m->sec_len[i]);
    kidx__set_u32(e + 16, m->sec_crc[i]);
  }
  kidx__set_u32(h + KIDX__HEADER_SIZE - 4,
                kidx__crc32c(0, h, KIDX__HEADER_SIZE - 4));
  return kidx__wfile_pwrite(&m->f, 0, h, sizeof h);
}

/* Builds the old -> new document number maps. */
static int build_maps(merge *m, const uint8_t *deleted) {
  uint64_t nbase = m->base ? m->base->ndocs : 0;
  uint32_t nmem = kidx__memindex_ndocs(m->mi);
  uint64_t next = 0;
  m->base_map = malloc((nbase ? nbase : 1) * sizeof *m->base_map);
  m->mem_map = malloc((nmem ? nmem : 1) * sizeof *m->mem_map);
  if (!m->base_map || !m->mem_map)
    return oom(m);
  for (uint64_t i = 0; i < nbase; i++)
    m->base_map[i] = deleted[i] == KIDX__BASE_DROP ? DROPPED : (uint32_t)next++;
  for (uint32_t i = 0; i < nmem; i++) {
    kidx__docinfo d;
    kidx__memindex_doc(m->mi, i, &d);
    m->mem_map[i] = d.deleted ? DROPPED : (uint32_t)next++;
  }
  if (next >= UINT32_MAX)
    return kidx__err(m->errmsg, KIDX_ETOOBIG,
                     "too many documents for one index (limit %u)",
                     UINT32_MAX - 1);
  m->ndocs = (uint32_t)next;
  return KIDX_OK;
}

int kidx__segment_write(const char *path, const kidx__segment *base,
                        const uint8_t *deleted, const kidx_stamp *restamp,
                        const kidx__memindex *mi, unsigned an_flags,
                        char *errmsg) {
  merge m;
  memset(&m, 0, sizeof m);
  m.base_state = deleted;
  m.restamp = restamp;
  m.an_flags = an_flags;
  m.errmsg = errmsg;
  m.base = base;
  m.mi = mi;
  uint64_t ntokens = 0;
  uint8_t placeholder[KIDX__HEADER_SIZE] = {0};
  int rc = kidx__wfile_open(&m.f, path, errmsg);
  if (!rc)
    rc = build_maps(&m, deleted);
  if (!rc)
    rc = kidx__wfile_write(&m.f, placeholder, sizeof placeholder);
  if (!rc)
    rc = write_postings(&m);
  if (!rc)
    rc = write_documents(&m, &ntokens);
  if (!rc)
    rc = write_header(&m, ntokens);
  int close_rc = kidx__wfile_close(&m.f, rc == KIDX_OK);
  if (!rc)
    rc = close_rc;
  free(m.base_map);
  free(m.mem_map);
  free(m.pos);
  kidx__buf_free(&m.list);
  kidx__buf_free(&m.terms);
  kidx__buf_free(&m.index);
  kidx__buf_free(&m.skips);
  kidx__buf_free(&m.skiphdr);
  return rc;
}
