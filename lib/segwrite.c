/*
 * segwrite.c -- writing a segment file (format in doc/FORMAT.md; the
 * reader is segment.c).  Called by writer.c to flush the in-memory batch
 * into a new segment, and to merge segments into one.
 *
 * The inputs are segment files, each without the documents its deletion
 * bitmap marks, and optionally the batch, in that order.  Document
 * numbers are reassigned densely in input order, so each input's numbers
 * are all below the next input's: a merged postings list is simply the
 * inputs' lists one after the other, renumbered, and the term dictionary
 * is a k-way merge of the inputs' sorted dictionaries.
 *
 * The postings section is streamed to the file term by term; the smaller
 * tables (terms, documents, ids) are built in memory and written after it.
 * The stored text is streamed too, one compressed block at a time (a
 * block of whole records, KIDX__TEXT_BLOCK bytes at most unless one
 * record is larger); the block table, known at the end, follows it.
 * The header, whose checksums are only known at the end, is written last
 * over a placeholder.
 */
#include "kidx_int.h"

#include <assert.h>
#include <stdlib.h>

#define DROPPED UINT32_MAX

/* Bytes read from the inputs between two releases of their mapped pages:
 * a merge reads its inputs front to back (each pass over the documents
 * too), so what lies behind is not needed again soon, and dropping it
 * keeps the resident set near this much. */
#define RELEASE_EVERY (8u << 20)

typedef struct input {
  const kidx__segment *seg; /* NULL: the batch */
  const uint8_t *dead;      /* deletion bitmap, or NULL */
  uint64_t ndocs;
  uint32_t *map;          /* input doc -> new doc, or DROPPED */
  kidx__term *mt;         /* the batch's sorted terms */
  size_t nmt;             /* ... their count */
  const kidx__term *term; /* the term being merged, when this input has it */
} input;

typedef struct idrec {
  uint64_t hash;
  uint32_t doc;
} idrec;

typedef struct merge {
  kidx__wfile f;
  unsigned an_flags; /* analysis the terms were produced with */
  char *errmsg;
  input *in;
  size_t nin;
  const kidx__memindex *mi;
  uint32_t ndocs; /* documents in the new file */
  uint64_t nterms;
  uint64_t read;                   /* bytes of the inputs read so far */
  uint64_t released;               /* `read` at the last release */
  kidx__pwriter list;              /* the merged list being built */
  kidx__pmodels models;            /* its bounds' parameters */
  kidx__pcur pcur;                 /* reads an input segment's list */
  kidx__buf terms;                 /* the term blocks */
  kidx__buf index;                 /* the block index */
  char prev[KIDX_MAX_TOKEN_BYTES]; /* the last term written */
  size_t prev_len;
  uint32_t *pos; /* positions of one entry */
  size_t pos_cap;
  idrec *ids; /* one per new document */
  uint64_t sec_off[KIDX__SEC_COUNT], sec_len[KIDX__SEC_COUNT];
  kidx__buf pagesums;                  /* CRC of every page of sections 0..7 */
  uint64_t title_tokens;               /* of the documents written */
  uint64_t title_bytes;                /* of their key records, the titles' */
  uint8_t doclen_width[KIDX__NFIELDS]; /* of section 3, per field */
  uint64_t keys_len;                   /* of section 7, summed beforehand */
  kidx__textcache tc;      /* the inputs' last decompressed text block */
  kidx__buf block;         /* the text block being filled (raw records) */
  uint32_t block_first;    /* its first document */
  kidx__buf zblock;        /* the block compressed */
  kidx__buf textblocks;    /* the text block table, so far */
  kidx__lz_hc_scratch *lz; /* the compressor's tables */
} merge;

static int oom(merge *m) {
  return kidx__err(m->errmsg, KIDX_ENOMEM, "out of memory writing %s",
                   m->f.path);
}

static int damaged_input(merge *m, const input *in) {
  /* A page checksum or a record of the input: its own message. */
  if (in->seg && atomic_load(&in->seg->st->damage))
    return kidx__segment_damage(in->seg, m->errmsg);
  return kidx__err(m->errmsg, KIDX_ECORRUPT,
                   "damaged postings for a term while writing %s", m->f.path);
}

/* Field lengths of an input's document, for the block bounds. */
static int input_lens(const merge *m, const input *in, uint32_t doc,
                      uint32_t len[KIDX__NFIELDS]) {
  if (in->seg) {
    return kidx__segment_doclens(in->seg, doc, &len[0], &len[1]);
  } else {
    kidx__docinfo d;
    kidx__memindex_doc(m->mi, doc, &d);
    len[0] = d.title_tokens;
    len[1] = d.body_tokens;
  }
  return KIDX_OK;
}

static int grow_pos(merge *m, uint32_t tf) {
  if (tf <= m->pos_cap)
    return KIDX_OK;
  size_t cap = tf < 64 ? 64 : tf;
  uint32_t *p = realloc(m->pos, cap * sizeof *p);
  if (!p)
    return oom(m);
  m->pos = p;
  m->pos_cap = cap;
  return KIDX_OK;
}

/* Appends the renumbered live entries of one input's list to m->list:
 * a segment's list in blocks (postblock.c), the batch's as varints
 * (postings.c). */
static int append_list(merge *m, const input *in) {
  const kidx__term *t = in->term;
  uint32_t len[KIDX__NFIELDS];
  int rc;
  if (in->seg) {
    kidx__pcur *c = &m->pcur;
    if (kidx__segment_list(in->seg, t) ||
        kidx__pcur_init(c, t->post, t->post_len, t->df, in->ndocs))
      return damaged_input(m, in);
    while ((rc = kidx__pcur_next(c)) == 1) {
      uint32_t doc = in->map[c->doc];
      if (doc == DROPPED)
        continue;
      if (input_lens(m, in, c->doc, len))
        return damaged_input(m, in);
      /* tf within the document's length (as check.c verifies) before it
       * sizes the positions array. */
      if (c->tf_title > len[0] || c->tf - c->tf_title > len[1])
        return damaged_input(m, in);
      if ((rc = grow_pos(m, c->tf)))
        return rc;
      if (kidx__pcur_positions(c, m->pos))
        return damaged_input(m, in);
      if (kidx__pwriter_add(&m->list, doc, m->pos, c->tf, c->tf_title, len))
        return oom(m);
    }
  } else {
    kidx__postings c;
    kidx__postings_init(&c, t->post, t->post_len, t->df, in->ndocs);
    while ((rc = kidx__postings_next(&c)) == 1) {
      uint32_t doc = in->map[c.doc];
      if (doc == DROPPED)
        continue; /* next() skips the unread positions */
      if ((rc = grow_pos(m, c.tf)))
        return rc;
      if (kidx__postings_positions(&c, m->pos))
        return damaged_input(m, in);
      if (input_lens(m, in, c.doc, len))
        return damaged_input(m, in);
      if (kidx__pwriter_add(&m->list, doc, m->pos, c.tf, c.tf_title, len))
        return oom(m);
    }
  }
  return rc < 0 ? damaged_input(m, in) : KIDX_OK;
}

/* Writes term t, whose merged list is in m->list. */
static int emit_term(merge *m, const kidx__term *t) {
  kidx__pwriter *w = &m->list;
  if (kidx__pwriter_finish(w))
    return oom(m);
  /* A block starts with a whole term, indexed by its offsets; the others
   * store only what differs from the term before (doc/FORMAT.md). */
  size_t shared = 0;
  if (m->nterms % KIDX__TERM_BLOCK == 0) {
    uint8_t e[KIDX__TIX_SIZE];
    kidx__tix_encode(e, m->terms.n, m->f.offset - m->sec_off[0]);
    if (kidx__buf_append(&m->index, e, sizeof e))
      return oom(m);
  } else {
    while (shared < m->prev_len && shared < t->len &&
           m->prev[shared] == t->text[shared])
      shared++;
  }
  if (kidx__buf_put_varint(&m->terms, shared) ||
      kidx__buf_put_varint(&m->terms, t->len - shared) ||
      kidx__buf_append(&m->terms, t->text + shared, t->len - shared) ||
      kidx__buf_put_varint(&m->terms, w->df) ||
      kidx__buf_put_varint(&m->terms, kidx__pwriter_size(w)))
    return oom(m);
  memcpy(m->prev, t->text, t->len);
  m->prev_len = t->len;
  m->nterms++;
  kidx__wfile_write(&m->f, w->head.p, w->head.n);
  kidx__wfile_write(&m->f, w->table.p, w->table.n);
  kidx__wfile_write(&m->f, w->docs.p, w->docs.n);
  return kidx__wfile_write(&m->f, w->pos.p, w->pos.n);
}

/* Drops the inputs' resident pages every RELEASE_EVERY bytes read. */
static void maybe_release(merge *m) {
  if (m->read - m->released < RELEASE_EVERY)
    return;
  m->released = m->read;
  for (size_t i = 0; i < m->nin; i++)
    if (m->in[i].seg)
      kidx__fs_map_release(&m->in[i].seg->map);
}

static void section_begin(merge *m, int sec) {
  m->sec_off[sec] = m->f.offset;
  kidx__wfile_pages_begin(&m->f, &m->pagesums);
}

static void section_end(merge *m, int sec) {
  m->sec_len[sec] = m->f.offset - m->sec_off[sec];
  kidx__wfile_pages_end(&m->f);
}

static int write_postings(merge *m) {
  kidx__termmerge tm;
  if (kidx__termmerge_init(&tm, m->nin))
    return oom(m);
  int rc = KIDX_OK;
  for (size_t i = 0; i < m->nin && !rc; i++) {
    input *in = &m->in[i];
    if (in->seg)
      kidx__termmerge_segment(&tm, i, in->seg);
    else if (kidx__memindex_terms(m->mi, &in->mt, &in->nmt))
      rc = oom(m);
    else
      kidx__termmerge_array(&tm, i, in->mt, in->nmt);
  }
  if (rc) {
    kidx__termmerge_free(&tm);
    return rc;
  }
  section_begin(m, KIDX__SEC_POSTINGS);
  int on = kidx__termmerge_start(&tm, NULL, 0);
  while (!rc && on == KIDX_OK && (on = kidx__termmerge_next(&tm)) == 1) {
    /* The inputs' lists one after the other, in input order (the order
     * of the new document numbers). */
    kidx__pwriter_reset(&m->list);
    for (size_t k = 0; k < tm.nwhich && !rc; k++) {
      input *in = &m->in[tm.which[k]];
      in->term = kidx__termmerge_term(&tm, tm.which[k]);
      rc = append_list(m, in);
      m->read += in->term->post_len;
    }
    /* df == 0: every document with this term was deleted. */
    kidx__term t = {.text = tm.text, .len = tm.len};
    if (!rc && m->list.df > 0)
      rc = emit_term(m, &t);
    if (!rc)
      maybe_release(m);
    on = KIDX_OK;
  }
  if (!rc && on < 0)
    rc = damaged_input(m, &m->in[tm.bad]);
  kidx__termmerge_free(&tm);
  if (rc)
    return rc;
  section_end(m, KIDX__SEC_POSTINGS);
  /* Sentinel index entry: the ends of the blocks and of the postings. */
  uint8_t e[KIDX__TIX_SIZE];
  kidx__tix_encode(e, m->terms.n, m->sec_len[KIDX__SEC_POSTINGS]);
  if (kidx__buf_append(&m->index, e, sizeof e))
    return oom(m);
  section_begin(m, KIDX__SEC_TERMS);
  kidx__wfile_write(&m->f, m->terms.p, m->terms.n);
  section_end(m, KIDX__SEC_TERMS);
  section_begin(m, KIDX__SEC_TERMINDEX);
  kidx__wfile_write(&m->f, m->index.p, m->index.n);
  section_end(m, KIDX__SEC_TERMINDEX);
  return m->f.rc;
}

/* Calls fn for each live document in new-number order, new number doc,
 * with its key and lengths (not its text: write_text reads that). */
typedef int (*doc_fn)(merge *m, const kidx__docinfo *d, uint32_t doc,
                      uint64_t *acc);

static int for_each_doc(merge *m, doc_fn fn, uint64_t *acc) {
  kidx__docinfo d;
  int rc;
  uint32_t doc = 0;
  for (size_t i = 0; i < m->nin; i++) {
    input *in = &m->in[i];
    for (uint64_t k = 0; k < in->ndocs; k++) {
      if (in->map[k] == DROPPED)
        continue;
      if (!in->seg)
        kidx__memindex_doc(m->mi, (uint32_t)k, &d);
      else if ((rc = kidx__segment_key(in->seg, (uint32_t)k, &d)))
        return rc == KIDX_ENOMEM ? oom(m)
                                 : kidx__segment_damage(in->seg, m->errmsg);
      if ((rc = fn(m, &d, doc++, acc)))
        return rc;
      m->read += d.id_len + d.title_len + d.body_len;
      maybe_release(m);
    }
  }
  return KIDX_OK;
}

/* A stamp's mtime as an unsigned varint: zigzag, so small negative
 * values stay short. */
static uint64_t zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* The size of a document's key record (id, stamp). */
/* Whether a document has a stamp: the writer's caller gave one (any
 * field not zero); key records without one leave it out. */
static int has_stamp(const kidx__docinfo *d) {
  return d->stamp.size || d->stamp.mtime_ns || d->stamp.hash;
}

static uint64_t key_size(const kidx__docinfo *d) {
  uint8_t tmp[10];
  uint64_t stamp =
      has_stamp(d) ? kidx__varint_encode(tmp, d->stamp.size) +
                         kidx__varint_encode(tmp, zigzag(d->stamp.mtime_ns)) + 8
                   : 0;
  return kidx__varint_encode(tmp, d->id_len) + d->id_len + 1 + stamp +
         kidx__varint_encode(tmp, d->title_len) + d->title_len;
}

/* Also learns what the later sections need before they are written: the
 * ids' hashes (section 6) and the key records' total size (section 7,
 * which sets the width of the key offsets in section 5). */
static int put_doclen(merge *m, const kidx__docinfo *d, uint32_t doc,
                      uint64_t *acc) {
  uint8_t b[KIDX__DOCLEN_MAX];
  kidx__doclen_encode(b, m->doclen_width, d->title_tokens, d->body_tokens);
  *acc += (uint64_t)d->title_tokens + d->body_tokens;
  m->title_tokens += d->title_tokens;
  m->ids[doc] = (idrec){kidx__hash_bytes(d->id, d->id_len), doc};
  m->keys_len += key_size(d);
  return kidx__wfile_write(&m->f, b,
                           (size_t)m->doclen_width[0] + m->doclen_width[1]);
}

/* *acc: the end so far of the key records. */
static int put_keyoff(merge *m, const kidx__docinfo *d, uint32_t doc,
                      uint64_t *acc) {
  uint8_t b[8];
  unsigned w = kidx__keyoff_width(m->keys_len);
  (void)doc;
  *acc += key_size(d);
  kidx__keyoff_encode(b, w, *acc);
  return kidx__wfile_write(&m->f, b, w);
}

/* Writes the text block being filled, compressed unless that does not
 * make it shorter, and its table entry. */
static int flush_block(merge *m) {
  const kidx__buf *raw = &m->block;
  if (raw->n == 0)
    return KIDX_OK;
  kidx__textblock e = {m->f.offset - m->sec_off[KIDX__SEC_DOCDATA], raw->n,
                       m->block_first};
  uint8_t ent[KIDX__TEXTBLOCK_ENTRY];
  kidx__textblock_encode(ent, &e);
  if (kidx__buf_append(&m->textblocks, ent, sizeof ent))
    return oom(m);
  size_t z = 0, bound = kidx__lz_bound(raw->n);
  /* Beyond the codec's input limit (one document of 2 GiB), raw. */
  if (bound != 0) {
    if (kidx__buf_reserve(&m->zblock, bound))
      return oom(m);
    z = kidx__lz_compress_hc(raw->p, raw->n, m->zblock.p, bound, m->lz,
                             KIDX__TEXT_LZ_DEPTH);
  }
  if (z != 0 && z < raw->n)
    kidx__wfile_write(&m->f, m->zblock.p, z);
  else
    kidx__wfile_write(&m->f, raw->p, raw->n);
  m->block.n = 0;
  return m->f.rc;
}

static int put_docdata(merge *m, const kidx__docinfo *d, uint32_t doc,
                       uint64_t *acc) {
  uint8_t v[10];
  (void)acc;
  size_t nb = kidx__varint_encode(v, d->body_len);
  uint64_t size = (uint64_t)nb + d->body_len;
  int rc;
  /* A new block when this record would take the block past the size (a
   * block of one larger record included). */
  if (m->block.n > 0 &&
      (m->block.n >= KIDX__TEXT_BLOCK ||
       size > KIDX__TEXT_BLOCK - m->block.n) &&
      (rc = flush_block(m)))
    return rc;
  if (m->block.n == 0)
    m->block_first = doc;
  if (size > SIZE_MAX - m->block.n || kidx__buf_reserve(&m->block, size))
    return oom(m);
  kidx__buf_append(&m->block, v, nb);
  kidx__buf_append(&m->block, d->body, d->body_len);
  return KIDX_OK;
}

static int put_key(merge *m, const kidx__docinfo *d, uint32_t doc,
                   uint64_t *acc) {
  uint8_t v[10];
  (void)doc;
  (void)acc;
  kidx__wfile_write(&m->f, v, kidx__varint_encode(v, d->id_len));
  kidx__wfile_write(&m->f, d->id, d->id_len);
  v[0] = (uint8_t)has_stamp(d);
  kidx__wfile_write(&m->f, v, 1);
  if (has_stamp(d)) {
    kidx__wfile_write(&m->f, v, kidx__varint_encode(v, d->stamp.size));
    kidx__wfile_write(&m->f, v,
                      kidx__varint_encode(v, zigzag(d->stamp.mtime_ns)));
    kidx__set_u64(v, d->stamp.hash);
    kidx__wfile_write(&m->f, v, 8);
  }
  size_t n = kidx__varint_encode(v, d->title_len);
  m->title_bytes += n + d->title_len;
  kidx__wfile_write(&m->f, v, n);
  return kidx__wfile_write(&m->f, d->title, d->title_len);
}

static int cmp_idrec(const void *a, const void *b) {
  const idrec *x = a, *y = b;
  if (x->hash != y->hash)
    return x->hash < y->hash ? -1 : 1;
  return (x->doc > y->doc) - (x->doc < y->doc);
}

/* One stored text record of an input segment: document k (live) as new
 * document *doc. */
static int put_input_doc(merge *m, const input *in, uint32_t k, uint32_t *doc) {
  kidx__docinfo d;
  int rc = kidx__segment_doc(in->seg, k, &m->tc, &d);
  if (rc)
    return rc == KIDX_ENOMEM ? oom(m)
                             : kidx__segment_damage(in->seg, m->errmsg);
  m->read += d.title_len + d.body_len;
  return put_docdata(m, &d, (*doc)++, NULL);
}

/* Copies text block b of an input segment, whose table entries blk and
 * next were checked, as it is: a new block (after the one being filled)
 * for documents *doc and on. */
static int copy_block(merge *m, const input *in, const kidx__textblock *blk,
                      const kidx__textblock *next, uint32_t *doc) {
  int rc = flush_block(m);
  uint64_t stored = next->offset - blk->offset;
  if (rc)
    return rc;
  if (kidx__segment_verify(in->seg, KIDX__SEC_DOCDATA, blk->offset, stored))
    return kidx__segment_damage(in->seg, m->errmsg);
  kidx__textblock e = {m->f.offset - m->sec_off[KIDX__SEC_DOCDATA],
                       blk->raw_len, *doc};
  uint8_t ent[KIDX__TEXTBLOCK_ENTRY];
  kidx__textblock_encode(ent, &e);
  if (kidx__buf_append(&m->textblocks, ent, sizeof ent))
    return oom(m);
  *doc += next->first_doc - blk->first_doc;
  m->read += stored;
  return kidx__wfile_write(&m->f, in->seg->sec[KIDX__SEC_DOCDATA] + blk->offset,
                           (size_t)stored);
}

/* The stored text of the live documents, in new-number order, in blocks
 * (put_docdata).  A merge copies an input's block as it is, without
 * decompressing and compressing it again, when all its documents are kept
 * and it is at least half full (so that blocks do not shrink merge after
 * merge); the other blocks' live records are packed into new blocks. */
static int write_text(merge *m) {
  uint32_t doc = 0;
  int rc;
  for (size_t i = 0; i < m->nin; i++) {
    input *in = &m->in[i];
    if (!in->seg) {
      for (uint64_t k = 0; k < in->ndocs; k++) {
        kidx__docinfo d;
        kidx__memindex_doc(m->mi, (uint32_t)k, &d);
        if (in->map[k] != DROPPED && (rc = put_docdata(m, &d, doc++, NULL)))
          return rc;
      }
      continue;
    }
    const kidx__segment *s = in->seg;
    kidx__textblock blk, next = {0, 0, 0};
    for (uint64_t b = 0; b < s->ntextblocks; b++) {
      /* The blocks must cover the documents exactly, in order. */
      blk = next;
      if ((b == 0 && kidx__segment_textblock(s, 0, &blk)) ||
          kidx__segment_textblock(s, b + 1, &next))
        return kidx__segment_damage(s, m->errmsg);
      uint64_t stored = next.offset - blk.offset;
      if ((b == 0 && blk.first_doc != 0) || next.first_doc <= blk.first_doc ||
          next.first_doc > s->ndocs ||
          (b + 1 == s->ntextblocks && next.first_doc != s->ndocs) ||
          next.offset <= blk.offset ||
          next.offset > s->sec_len[KIDX__SEC_DOCDATA] || stored > blk.raw_len ||
          blk.raw_len / 256 > stored) {
        kidx__segment_bad(s, KIDX__SEC_DOCTABLE,
                          kidx__segment_textblock_at(s, b));
        return kidx__segment_damage(s, m->errmsg);
      }
      int all_live = 1;
      for (uint32_t k = blk.first_doc; k < next.first_doc && all_live; k++)
        all_live = in->map[k] != DROPPED;
      if (all_live && blk.raw_len >= KIDX__TEXT_BLOCK / 2) {
        rc = copy_block(m, in, &blk, &next, &doc);
      } else {
        rc = KIDX_OK;
        for (uint32_t k = blk.first_doc; k < next.first_doc && !rc; k++)
          if (in->map[k] != DROPPED)
            rc = put_input_doc(m, in, k, &doc);
      }
      if (rc)
        return rc;
      maybe_release(m);
    }
  }
  return KIDX_OK;
}

static int write_documents(merge *m, uint64_t *ntokens) {
  uint64_t key_end = 0;
  int rc;
  *ntokens = 0;
  section_begin(m, KIDX__SEC_DOCLENS);
  if ((rc = for_each_doc(m, put_doclen, ntokens)))
    return rc;
  section_end(m, KIDX__SEC_DOCLENS);
  section_begin(m, KIDX__SEC_DOCDATA);
  if (!(m->lz = malloc(sizeof *m->lz)))
    return oom(m);
  if ((rc = write_text(m)) || (rc = flush_block(m)))
    return rc;
  section_end(m, KIDX__SEC_DOCDATA);
  /* The document table: key offsets, then the text block table and its
   * sentinel (the end of the text, no raw bytes, N). */
  section_begin(m, KIDX__SEC_DOCTABLE);
  uint8_t zero[8] = {0};
  kidx__wfile_write(&m->f, zero, kidx__keyoff_width(m->keys_len));
  if ((rc = for_each_doc(m, put_keyoff, &key_end)))
    return rc;
  /* The same records as put_doclen summed. */
  assert(key_end == m->keys_len);
  kidx__textblock end = {m->sec_len[KIDX__SEC_DOCDATA], 0, m->ndocs};
  uint8_t ent[KIDX__TEXTBLOCK_ENTRY];
  kidx__textblock_encode(ent, &end);
  kidx__wfile_write(&m->f, m->textblocks.p, m->textblocks.n);
  kidx__wfile_write(&m->f, ent, sizeof ent);
  section_end(m, KIDX__SEC_DOCTABLE);
  /* The id table: documents by the hash of their id, for lookups by id
   * that touch a few key records instead of the stored text; a sample of
   * the hashes, then the documents. */
  qsort(m->ids, m->ndocs, sizeof *m->ids, cmp_idrec);
  section_begin(m, KIDX__SEC_IDS);
  for (uint64_t i = 0; i < m->ndocs; i += KIDX__ID_SAMPLE) {
    uint8_t e[KIDX__ID_SAMPLE_SIZE];
    kidx__ids_sample_encode(e, m->ids[i].hash);
    kidx__wfile_write(&m->f, e, sizeof e);
  }
  for (uint32_t i = 0; i < m->ndocs; i++) {
    uint8_t e[KIDX__ID_DOC_SIZE];
    kidx__ids_doc_encode(e, m->ids[i].doc);
    kidx__wfile_write(&m->f, e, sizeof e);
  }
  section_end(m, KIDX__SEC_IDS);
  section_begin(m, KIDX__SEC_KEYS);
  if ((rc = for_each_doc(m, put_key, NULL)))
    return rc;
  section_end(m, KIDX__SEC_KEYS);
  return m->f.rc;
}

/* The CRC-32C of every KIDX__PAGE_SIZE bytes of data[0..len), appended to
 * out as page checksum entries. */
static int page_sums(const uint8_t *data, size_t len, kidx__buf *out) {
  for (size_t at = 0; at < len; at += KIDX__PAGE_SIZE) {
    size_t n = len - at < KIDX__PAGE_SIZE ? len - at : KIDX__PAGE_SIZE;
    if (kidx__pagesum_put(out, kidx__crc32c(0, data + at, n)))
      return KIDX_ENOMEM;
  }
  return KIDX_OK;
}

/* The page sums section and its page index; *index_crc gets the index's
 * checksum, for the header. */
static int write_page_sums(merge *m, uint32_t *index_crc) {
  kidx__buf index = {0};
  if (page_sums(m->pagesums.p, m->pagesums.n, &index)) {
    kidx__buf_free(&index);
    return oom(m);
  }
  m->sec_off[KIDX__SEC_PAGESUMS] = m->f.offset;
  m->sec_len[KIDX__SEC_PAGESUMS] = m->pagesums.n;
  kidx__wfile_write(&m->f, m->pagesums.p, m->pagesums.n);
  m->sec_off[KIDX__SEC_PAGEINDEX] = m->f.offset;
  m->sec_len[KIDX__SEC_PAGEINDEX] = index.n;
  kidx__wfile_write(&m->f, index.p, index.n);
  *index_crc = kidx__crc32c(0, index.p, index.n);
  kidx__buf_free(&index);
  return m->f.rc;
}

static int write_header(merge *m, uint64_t ntokens, uint32_t index_crc) {
  kidx__seghdr h = {
      .version = KIDX__SEGMENT_VERSION,
      .analysis = KIDX__ANALYSIS_VERSION,
      .nsections = KIDX__SEC_COUNT,
      .an_flags = m->an_flags,
      .file_size = m->f.offset,
      .ndocs = m->ndocs,
      .nterms = m->nterms,
      .ntokens = ntokens,
      .title_tokens = m->title_tokens,
      .title_bytes = m->title_bytes,
      .doclen_width = {m->doclen_width[0], m->doclen_width[1]},
      .keyoff_width = (uint8_t)kidx__keyoff_width(m->keys_len),
      .pageindex_crc = index_crc,
  };
  memcpy(h.sec_off, m->sec_off, sizeof h.sec_off);
  memcpy(h.sec_len, m->sec_len, sizeof h.sec_len);
  uint8_t out[KIDX__HEADER_SIZE];
  kidx__seghdr_encode(&h, out);
  return kidx__wfile_pwrite(&m->f, 0, out, sizeof out);
}

/* Sets up the inputs and their old -> new document number maps. */
static int build_maps(merge *m, const kidx__segsrc *src, size_t n) {
  uint64_t next = 0;
  m->in = calloc(n + 1, sizeof *m->in);
  if (!m->in)
    return oom(m);
  for (size_t i = 0; i <= n; i++) {
    input *in = &m->in[m->nin];
    if (i < n) {
      in->seg = src[i].seg;
      in->dead = src[i].dead;
      in->ndocs = in->seg->ndocs;
    } else if (m->mi) {
      in->ndocs = kidx__memindex_ndocs(m->mi);
    } else {
      break;
    }
    m->nin++;
    in->map = malloc((in->ndocs ? in->ndocs : 1) * sizeof *in->map);
    if (!in->map)
      return oom(m);
    for (uint64_t k = 0; k < in->ndocs; k++) {
      int gone;
      if (in->seg) {
        gone = kidx__bit_get(in->dead, k);
      } else {
        kidx__docinfo d;
        kidx__memindex_doc(m->mi, (uint32_t)k, &d);
        gone = d.deleted;
      }
      in->map[k] = gone ? DROPPED : (uint32_t)next++;
      if (next >= UINT32_MAX)
        return kidx__err(m->errmsg, KIDX_ETOOBIG,
                         "too many documents for one segment (limit %u)",
                         UINT32_MAX - 1);
    }
  }
  m->ndocs = (uint32_t)next;
  /* The new file's field totals, before its postings: the bounds'
   * precomputed maxima use its average field lengths. */
  uint64_t tokens[KIDX__NFIELDS] = {0, 0};
  uint32_t max[KIDX__NFIELDS] = {0, 0};
  for (size_t i = 0; i < m->nin; i++) {
    const input *in = &m->in[i];
    for (uint64_t k = 0; k < in->ndocs; k++) {
      uint32_t len[KIDX__NFIELDS];
      if (in->map[k] == DROPPED)
        continue;
      if (input_lens(m, in, (uint32_t)k, len))
        return damaged_input(m, in);
      for (int f = 0; f < KIDX__NFIELDS; f++) {
        tokens[f] += len[f];
        max[f] = len[f] > max[f] ? len[f] : max[f];
      }
    }
  }
  /* Section 3's widths: the smallest that hold each field's longest. */
  for (int f = 0; f < KIDX__NFIELDS; f++)
    m->doclen_width[f] = (uint8_t)kidx__doclen_width(max[f]);
  kidx__pmodels_init(&m->models, next, tokens);
  kidx__pwriter_init(&m->list, &m->models);
  m->ids = malloc((next ? next : 1) * sizeof *m->ids);
  return m->ids ? KIDX_OK : oom(m);
}

int kidx__segment_write(const char *path, const kidx__segsrc *src, size_t n,
                        const kidx__memindex *mi, unsigned an_flags,
                        uint64_t *ndocs, char *errmsg) {
  merge m;
  memset(&m, 0, sizeof m);
  m.an_flags = an_flags;
  m.errmsg = errmsg;
  m.mi = mi;
  uint64_t ntokens = 0;
  uint32_t index_crc = 0;
  uint8_t placeholder[KIDX__HEADER_SIZE] = {0};
  int rc = kidx__wfile_open(&m.f, path, errmsg);
  if (!rc)
    rc = build_maps(&m, src, n);
  if (!rc)
    rc = kidx__wfile_write(&m.f, placeholder, sizeof placeholder);
  if (!rc)
    rc = write_postings(&m);
  if (!rc)
    rc = write_documents(&m, &ntokens);
  if (!rc)
    rc = write_page_sums(&m, &index_crc);
  if (!rc)
    rc = write_header(&m, ntokens, index_crc);
  int close_rc = kidx__wfile_close(&m.f, rc == KIDX_OK);
  if (!rc)
    rc = close_rc;
  for (size_t i = 0; i < m.nin; i++) {
    free(m.in[i].map);
    free(m.in[i].mt);
    if (m.in[i].seg)
      kidx__fs_map_release(&m.in[i].seg->map);
  }
  *ndocs = m.ndocs;
  free(m.in);
  free(m.ids);
  free(m.pos);
  kidx__pwriter_free(&m.list);
  kidx__buf_free(&m.terms);
  kidx__buf_free(&m.index);
  kidx__buf_free(&m.pagesums);
  kidx__textcache_free(&m.tc);
  kidx__buf_free(&m.block);
  kidx__buf_free(&m.zblock);
  kidx__buf_free(&m.textblocks);
  free(m.lz);
  return rc;
}
