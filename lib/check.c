/*
 * check.c -- deep verification of segment files and of a snapshot (ids
 * across segments), for kidx_reader_check() and `kidx check`.
 *
 * Opening a file (segment.c) checks only its header: pages are verified
 * as queries read them.  This pass first verifies every page of every
 * section against its checksum, then the whole-table invariants lookups
 * assume (the dictionary decodes in order with blocks where the index puts
 * them, the key offsets monotonic and ending at their section's length, a
 * canonical text block table whose every block decompresses to exactly
 * its raw length and holds exactly its documents' records, document
 * lengths adding up to the header's counts in the smallest widths, every
 * key record decoding, an id table holding every document once in the
 * order of their ids' hashes, its samples those hashes).  A file can pass
 * every checksum and still be wrong inside: written by a buggy writer, or
 * damaged and then given fresh checksums.  So the pass then decodes every
 * list in full and cross-checks it against the dictionary and the document
 * table, so that such a file is reported instead of answering queries wrongly.
 *
 * Per term: it is 1 to KIDX_MAX_TOKEN_BYTES bytes of valid UTF-8 (the
 * analysis never produces anything else) and sorts strictly after the
 * previous one; its list decodes to exactly df entries; per entry, the
 * document number is below N, the field frequencies fit the document's
 * field lengths, and positions strictly increase.  Per document, over all
 * terms: the title and body occurrences add up to the field lengths of the
 * document table (every indexed word is one occurrence of one term).
 * Overall: the occurrences add up to the header's token count, and no id
 * appears twice.
 *
 * Positions cannot be bounded from the tables alone (stop words take
 * positions without giving terms), but the index stores every document's
 * text, and analysis is deterministic (the analysis version in the header
 * pins it).  So each document is analysed again and the (term, field,
 * position) triples it yields are compared with those the postings hold,
 * as an order-independent sum of a 64-bit mix of each triple: one number
 * per document, so memory stays at 16 bytes per document rather than a
 * copy of the index, and any changed, moved, missing or extra occurrence
 * shows (a collision needs a 2^-64 coincidence, not a likely mistake).
 */
#include "kidx_int.h"

#include <stdio.h>
#include <stdlib.h>

/* What the pass over the postings learns about one document. */
typedef struct doc_seen {
  uint32_t title, body; /* occurrences found in each field so far */
  uint64_t sum;         /* sum of mix() over its occurrences */
} doc_seen;

/* One occurrence of the term whose text hashes to h, at position pos of
 * the title (field 0) or body (1), as a well-spread 64-bit value: the
 * splitmix64 finaliser over the three. */
static uint64_t mix(uint64_t h, uint32_t pos, unsigned field) {
  uint64_t x = h + (((uint64_t)pos << 1) | field) * 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/* Copies text[0..len) into out (cap bytes) for a message: at most 64
 * bytes, control bytes as '?', since damaged text can hold anything and
 * the message must stay one line. */
static void quote(char *out, size_t cap, const char *text, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len && i < 64 && n + 4 < cap; i++) {
    unsigned char ch = (unsigned char)text[i];
    out[n++] = ch < 0x20 || ch == 0x7F ? '?' : (char)ch;
  }
  if (len > 64 && n + 4 < cap) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = 0;
}

static int term_problem(char *errmsg, const char *path, const kidx__term *t,
                        uint64_t i, const char *what) {
  char q[80];
  quote(q, sizeof q, t->text, t->len);
  return kidx__err(errmsg, KIDX_ECORRUPT,
                   "%s is damaged: term '%s' (#%llu): %s", path, q,
                   (unsigned long long)i, what);
}

static int doc_problem(char *errmsg, const char *path, const kidx__segment *s,
                       uint32_t doc, const char *what) {
  kidx__docinfo d;
  char q[80] = "?";
  if (kidx__segment_key(s, doc, &d) == KIDX_OK)
    quote(q, sizeof q, d.id, d.id_len);
  return kidx__err(errmsg, KIDX_ECORRUPT,
                   "%s is damaged: document '%s' (#%lu): %s", path, q,
                   (unsigned long)doc, what);
}

static int valid_utf8(const char *text, size_t len) {
  const uint8_t *p = (const uint8_t *)text;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    i += kidx__utf8_decode(p + i, len - i, &cp);
    if (cp == KIDX__UTF8_INVALID)
      return 0;
  }
  return 1;
}

/* Decodes and checks term i's list with cursor c, adding what it finds to
 * seen[].  *pos is a scratch array of *pos_cap positions, grown as
 * needed. */
static int check_list(const kidx__segment *s, const char *path,
                      const kidx__term *t, uint64_t i, kidx__pcur *c,
                      const kidx__pmodels *pm, doc_seen *seen, uint32_t **pos,
                      size_t *pos_cap, uint64_t *tokens, char *errmsg) {
  char what[256];
  uint64_t h = kidx__hash_bytes(t->text, t->len);
  kidx__pbound list, blk;
  kidx__pbound_clear(&list);
  kidx__pbound_clear(&blk);
  if (kidx__segment_list(s, t) ||
      kidx__pcur_init_strict(c, t->post, t->post_len, t->df, s->ndocs))
    return term_problem(errmsg, path, t, i, "bad list head");
  uint64_t entries = 0;
  for (uint32_t entry = 1;; entry++) {
    int rc = kidx__pcur_next(c);
    if (rc == 0)
      break;
    entries += rc > 0;
    if (rc < 0) {
      snprintf(what, sizeof what,
               "postings entry %lu of %lu does not decode (a bad block, "
               "document number or frequency, or a list of another length)",
               (unsigned long)entry, (unsigned long)t->df);
      return term_problem(errmsg, path, t, i, what);
    }
    uint32_t title_len, body_len;
    if (kidx__segment_doclens(s, c->doc, &title_len, &body_len))
      return kidx__segment_damage(s, errmsg);
    doc_seen *d = &seen[c->doc];
    uint32_t tf_body = c->tf - c->tf_title;
    /* Compared as differences, so that the sums cannot overflow. */
    if (c->tf_title > title_len - d->title || tf_body > body_len - d->body) {
      char q[80];
      quote(q, sizeof q, t->text, t->len);
      snprintf(what, sizeof what,
               "its terms occur more often (at term '%s') than its title and "
               "body have words (%lu and %lu)",
               q, (unsigned long)title_len, (unsigned long)body_len);
      return doc_problem(errmsg, path, s, c->doc, what);
    }
    /* tf is now bounded by the document's length, which the checksummed
     * document table gives: the allocation cannot be made huge. */
    if (c->tf > *pos_cap) {
      uint32_t *grown = realloc(*pos, (size_t)c->tf * sizeof **pos);
      if (!grown)
        return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
      *pos = grown;
      *pos_cap = c->tf;
    }
    if (kidx__pcur_positions(c, *pos) != KIDX_OK) {
      snprintf(what, sizeof what,
               "the positions of postings entry %lu (document #%lu) do not "
               "decode",
               (unsigned long)entry, (unsigned long)c->doc);
      return term_problem(errmsg, path, t, i, what);
    }
    const uint32_t *p = *pos;
    for (uint32_t k = 0; k < c->tf; k++) {
      if (k > 0 && p[k] <= p[k - 1]) {
        snprintf(what, sizeof what,
                 "its positions in document #%lu do not increase",
                 (unsigned long)c->doc);
        return term_problem(errmsg, path, t, i, what);
      }
      d->sum += mix(h, p[k], k >= c->tf_title);
    }
    d->title += c->tf_title;
    d->body += tf_body;
    *tokens += c->tf;
    /* The block's bound must be exactly what its entries give: a bound
     * too low would make pruned searches miss documents. */
    uint32_t ftf[KIDX__NFIELDS] = {c->tf_title, tf_body};
    uint32_t flen[KIDX__NFIELDS] = {title_len, body_len};
    kidx__pbound_add(&blk, pm, ftf, flen);
    if (c->i + 1 == c->n) {
      if (!kidx__pcur_block_done(c))
        return term_problem(errmsg, path, t, i,
                            "a block's positions do not fill its region");
      if (kidx__pcur_has_bounds(c) && !kidx__pbound_equal(&blk, &c->blk_bound))
        return term_problem(errmsg, path, t, i,
                            "a block's score bound does not match its "
                            "entries");
      kidx__pbound_merge(&list, &blk);
      kidx__pbound_clear(&blk);
    }
  }
  if (entries != t->df || !kidx__pcur_list_done(c))
    return term_problem(errmsg, path, t, i,
                        "its block table or regions have bytes left over");
  if (kidx__pcur_has_bounds(c) && !kidx__pbound_equal(&list, &c->list_bound))
    return term_problem(errmsg, path, t, i,
                        "its score bound does not match its entries");
  return KIDX_OK;
}

/* A document analysed again from its stored text. */
typedef struct reanalysis {
  unsigned field;
  uint32_t count[2]; /* terms of the title and of the body */
  uint64_t sum;      /* as doc_seen.sum */
} reanalysis;

static int on_token(void *ctx, const kidx__token *tok) {
  reanalysis *ra = ctx;
  ra->count[ra->field]++;
  ra->sum += mix(kidx__hash_bytes(tok->text, tok->len), tok->pos, ra->field);
  return 0;
}

/* Compares what the postings say about each document with its record:
 * field lengths, the stored text analysed again, and a unique id. */
static int check_docs(const kidx__segment *s, const char *path,
                      const doc_seen *seen, char *errmsg) {
  kidx__strmap *ids = NULL;
  kidx__stemcache *cache = NULL;
  if (kidx__strmap_new(&ids) || kidx__stemcache_new(&cache)) {
    kidx__strmap_free(ids);
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  }
  kidx__analyzer an = {s->an_flags, cache};
  kidx__textcache tc = {0};
  char what[256];
  int rc = KIDX_OK;
  for (uint64_t i = 0; i < s->ndocs && !rc; i++) {
    uint32_t doc = (uint32_t)i, title_len, body_len;
    if (kidx__segment_doclens(s, doc, &title_len, &body_len)) {
      rc = kidx__segment_damage(s, errmsg);
      break;
    }
    const doc_seen *x = &seen[doc];
    kidx__docinfo d;
    uint32_t old;
    int found;
    if (x->title != title_len || x->body != body_len) {
      snprintf(what, sizeof what,
               "the postings hold %lu title and %lu body words, the document "
               "table says %lu and %lu",
               (unsigned long)x->title, (unsigned long)x->body,
               (unsigned long)title_len, (unsigned long)body_len);
      rc = doc_problem(errmsg, path, s, doc, what);
      break;
    }
    if ((rc = kidx__segment_doc(s, doc, &tc, &d)) != KIDX_OK) {
      rc = rc == KIDX_ENOMEM ? kidx__err(errmsg, rc, "out of memory")
                             : doc_problem(errmsg, path, s, doc,
                                           "its record does not decode");
      break;
    }
    reanalysis ra = {0, {0, 0}, 0};
    uint32_t next = 0;
    kidx__analyze(&an, d.title, d.title_len, 0, &next, on_token, &ra);
    ra.field = 1;
    kidx__analyze(&an, d.body, d.body_len, kidx__body_first_pos(next), NULL,
                  on_token, &ra);
    if (ra.count[0] != title_len || ra.count[1] != body_len) {
      snprintf(what, sizeof what,
               "its stored text has %lu title and %lu body words, the "
               "document table says %lu and %lu",
               (unsigned long)ra.count[0], (unsigned long)ra.count[1],
               (unsigned long)title_len, (unsigned long)body_len);
      rc = doc_problem(errmsg, path, s, doc, what);
    } else if (ra.sum != x->sum) {
      rc = doc_problem(errmsg, path, s, doc,
                       "its postings do not match its stored text (words "
                       "or positions differ)");
    } else if (kidx__strmap_upsert(ids, d.id, d.id_len, doc, &old, &found)) {
      rc = kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
    } else if (found) {
      rc =
          doc_problem(errmsg, path, s, doc, "another document has the same id");
    }
  }
  kidx__stemcache_free(cache);
  kidx__strmap_free(ids);
  kidx__textcache_free(&tc);
  return rc;
}

/* ---- what open checked before version 10 ---- */

static int corrupt(char *errmsg, const char *path, const char *what) {
  return kidx__err(errmsg, KIDX_ECORRUPT, "%s is damaged: %s", path, what);
}

/* Bytes checksummed between two releases of the mapping's pages: the
 * pass must not grow the resident set by the file's size. */
#define RELEASE_EVERY ((uint64_t)8 << 20)

/* Verifies every page of every section. */
static int check_pages(const kidx__segment *s, char *errmsg) {
  uint64_t done = 0;
  for (int sec = 0; sec < KIDX__SEC_PAGED; sec++) {
    for (uint64_t at = 0; at < s->sec_len[sec]; at += RELEASE_EVERY) {
      uint64_t n = s->sec_len[sec] - at;
      if (n > RELEASE_EVERY)
        n = RELEASE_EVERY;
      if (kidx__segment_verify(s, sec, at, n))
        return kidx__segment_damage(s, errmsg);
      if ((done += n) >= RELEASE_EVERY) {
        kidx__fs_map_release(&s->map);
        done = 0;
      }
    }
  }
  return KIDX_OK;
}

static uint64_t nblocks(uint64_t nterms) {
  return (nterms + KIDX__TERM_BLOCK - 1) / KIDX__TERM_BLOCK;
}

/* The dictionary: every entry decodes, blocks start where the index says
 * with a whole term, and the postings lengths add up to the postings
 * section (strict order is checked with the lists below). */
static int check_terms(const kidx__segment *s, const char *path, char *errmsg) {
  const uint8_t *index = s->sec[KIDX__SEC_TERMINDEX];
  const uint8_t *terms = s->sec[KIDX__SEC_TERMS];
  kidx__termcur cur;
  uint64_t start = 0, i = 0; /* where term i's entry starts */
  int on = kidx__termcur_seek(&cur, s, 0);
  for (; on > 0; i++) {
    if (i % KIDX__TERM_BLOCK == 0) {
      uint64_t e_terms, e_post;
      kidx__tix_decode(index + (i / KIDX__TERM_BLOCK) * KIDX__TIX_SIZE,
                       &e_terms, &e_post);
      if (e_terms != start ||
          e_post != (uint64_t)(cur.term.post - s->sec[KIDX__SEC_POSTINGS]))
        return corrupt(errmsg, path, "term block index does not match");
    }
    start = (uint64_t)(cur.p - terms);
    on = kidx__termcur_next(&cur);
  }
  if (on < 0)
    return kidx__segment_damage(s, errmsg);
  uint64_t e_terms, e_post;
  kidx__tix_decode(index + nblocks(s->nterms) * KIDX__TIX_SIZE, &e_terms,
                   &e_post);
  uint64_t post = s->nterms ? cur.post : 0;
  if (i != s->nterms || start != s->sec_len[KIDX__SEC_TERMS] ||
      post != s->sec_len[KIDX__SEC_POSTINGS] || e_terms != start ||
      e_post != post)
    return corrupt(errmsg, path, "term dictionary does not match its sections");
  return KIDX_OK;
}

/* The id table against hash[doc], the hashes of the documents' ids:
 * every document once, sorted by (hash of its id, document), and each
 * sample the hash of the entry it describes, so that lookups by id are
 * exact. */
static int check_ids(const kidx__segment *s, uint64_t *hash, const char *path,
                     char *errmsg) {
  const uint8_t *ids = s->sec[KIDX__SEC_IDS];
  uint64_t prev_hash = 0, prev_doc = 0;
  for (uint64_t i = 0; i < s->ndocs; i++) {
    uint32_t doc = kidx__ids_doc_decode(ids + kidx__ids_doc_at(s->ndocs, i));
    /* Each document's hash is cleared once seen (a real hash is never
     * 0), so a document listed twice is found. */
    uint64_t h = doc < s->ndocs ? hash[doc] : 0;
    if (h == 0)
      return corrupt(errmsg, path,
                     "id table does not hold every document once");
    if (i > 0 && (h < prev_hash || (h == prev_hash && doc <= prev_doc)))
      return corrupt(errmsg, path, "id table out of order");
    if (i % KIDX__ID_SAMPLE == 0 &&
        kidx__ids_sample_decode(ids +
                                kidx__ids_sample_at(i / KIDX__ID_SAMPLE)) != h)
      return corrupt(errmsg, path,
                     "id table: a sampled hash does not match its entry");
    hash[doc] = 0;
    prev_hash = h;
    prev_doc = doc;
  }
  return KIDX_OK;
}

/* The stored text: the block table is canonical -- blocks one after the
 * other from offset 0, first documents strictly increasing from 0, the
 * sentinel (section 4's length, 0, N), each block stored compressed
 * exactly when that is shorter than its raw text, and a block of several
 * records within KIDX__TEXT_BLOCK bytes (a merge may copy blocks as they
 * are, so a block may end before it is full) -- and every block decodes to
 * exactly its raw length, holding exactly its documents' records, the last
 * ending the block. */
static int check_text(const kidx__segment *s, const char *path, char *errmsg) {
  kidx__textblock blk, next;
  kidx__textcache tc = {0};
  int rc = KIDX_OK;
  char what[160];
  if (kidx__segment_textblock(s, 0, &blk))
    return kidx__segment_damage(s, errmsg);
  if (blk.offset != 0 || blk.first_doc != 0)
    return corrupt(errmsg, path, "text block table does not start at 0");
  next = blk;
  for (uint64_t b = 0; b < s->ntextblocks && !rc; b++, blk = next) {
    if (kidx__segment_textblock(s, b + 1, &next)) {
      rc = kidx__segment_damage(s, errmsg);
      break;
    }
    uint64_t stored = next.offset - blk.offset;
    if (next.offset <= blk.offset ||
        next.offset > s->sec_len[KIDX__SEC_DOCDATA] || stored > blk.raw_len ||
        next.first_doc <= blk.first_doc || next.first_doc > s->ndocs) {
      snprintf(what, sizeof what, "text block %llu: bad table entry",
               (unsigned long long)b);
      rc = corrupt(errmsg, path, what);
      break;
    }
    const uint8_t *text = s->sec[KIDX__SEC_DOCDATA] + blk.offset;
    if (stored < blk.raw_len) {
      uint8_t *buf = blk.raw_len / 256 > stored
                         ? NULL
                         : realloc(tc.buf, (size_t)blk.raw_len);
      if (!buf) {
        rc = blk.raw_len / 256 > stored
                 ? corrupt(errmsg, path, "text block table: impossible ratio")
                 : kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
        break;
      }
      tc.buf = buf;
      if (kidx__lz_decompress(text, (size_t)stored, tc.buf,
                              (size_t)blk.raw_len)) {
        snprintf(what, sizeof what,
                 "text block %llu does not decompress to its %llu bytes",
                 (unsigned long long)b, (unsigned long long)blk.raw_len);
        rc = corrupt(errmsg, path, what);
        break;
      }
      text = tc.buf;
    }
    /* The records: exactly the block's documents, filling it. */
    const uint8_t *p = text, *end = text + blk.raw_len;
    for (uint32_t d = blk.first_doc; d < next.first_doc && !rc; d++) {
      uint64_t n;
      if (kidx__varint_get(&p, end, &n) || n > (uint64_t)(end - p))
        rc = -1;
      else
        p += n;
    }
    if (rc || p != end) {
      snprintf(what, sizeof what,
               "text block %llu does not hold exactly the records of "
               "documents %lu to %lu",
               (unsigned long long)b, (unsigned long)blk.first_doc,
               (unsigned long)next.first_doc - 1);
      rc = corrupt(errmsg, path, what);
      break;
    }
    if (next.first_doc - blk.first_doc > 1 && blk.raw_len > KIDX__TEXT_BLOCK) {
      snprintf(what, sizeof what,
               "text block %llu holds several records and more than %zu "
               "bytes",
               (unsigned long long)b, KIDX__TEXT_BLOCK);
      rc = corrupt(errmsg, path, what);
    }
  }
  free(tc.buf);
  if (!rc && (next.offset != s->sec_len[KIDX__SEC_DOCDATA] ||
              next.raw_len != 0 || next.first_doc != s->ndocs))
    rc = corrupt(errmsg, path, "text block table does not end its data");
  return rc;
}

/* The tables lookups rely on. */
static int check_tables(const kidx__segment *s, const char *path,
                        char *errmsg) {
  int rc = check_terms(s, path, errmsg);
  if (!rc)
    rc = check_text(s, path, errmsg);
  if (rc)
    return rc;
  const uint8_t *offs = s->sec[KIDX__SEC_DOCTABLE];
  uint64_t prev_key = 0, tokens = 0, title = 0;
  uint32_t max[KIDX__NFIELDS] = {0, 0};
  for (uint64_t d = 0; d <= s->ndocs; d++) {
    uint64_t key =
        kidx__keyoff_decode(offs + d * s->keyoff_width, s->keyoff_width);
    if (key < prev_key || (d == 0 && key != 0))
      return corrupt(errmsg, path, "document table out of order");
    prev_key = key;
    if (d < s->ndocs) {
      uint32_t len[KIDX__NFIELDS];
      kidx__doclen_decode(kidx__segment_doclens_at(s, (uint32_t)d),
                          s->doclen_width, &len[0], &len[1]);
      title += len[0];
      tokens += (uint64_t)len[0] + len[1];
      for (int f = 0; f < KIDX__NFIELDS; f++)
        max[f] = len[f] > max[f] ? len[f] : max[f];
    }
  }
  if (prev_key != s->sec_len[KIDX__SEC_KEYS])
    return corrupt(errmsg, path, "document table does not match its data");
  if (tokens != s->ntokens || title != s->title_tokens)
    return corrupt(errmsg, path, "document lengths do not add up");
  /* The writer's widths, the smallest that hold the lengths (open checked
   * that they are widths at all): so that no byte of section 3 is left
   * that could change without changing a length. */
  for (int f = 0; f < KIDX__NFIELDS; f++)
    if (s->doclen_width[f] != kidx__doclen_width(max[f]))
      return corrupt(errmsg, path,
                     "document lengths are not stored in the smallest width");
  uint64_t *hash = malloc((s->ndocs ? s->ndocs : 1) * sizeof *hash);
  if (!hash)
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  uint64_t titles = 0; /* bytes of the key records' titles */
  for (uint64_t d = 0; d < s->ndocs && !rc; d++) {
    kidx__docinfo info;
    if (kidx__segment_key(s, (uint32_t)d, &info)) {
      rc = corrupt(errmsg, path, "bad document record");
    } else {
      uint8_t v[10];
      hash[d] = kidx__hash_bytes(info.id, info.id_len);
      titles += kidx__varint_encode(v, info.title_len) + info.title_len;
    }
  }
  if (!rc && titles != s->title_bytes)
    rc = corrupt(errmsg, path, "stored titles do not add up to the header's");
  if (!rc)
    rc = check_ids(s, hash, path, errmsg);
  free(hash);
  return rc;
}

int kidx__check_segment(const kidx__segment *s, const char *path,
                        char *errmsg) {
  int rc0 = check_pages(s, errmsg);
  if (!rc0)
    rc0 = check_tables(s, path, errmsg);
  if (rc0)
    return rc0;
  doc_seen *seen = NULL;
  size_t n = s->ndocs ? (size_t)s->ndocs : 1;
  kidx__pcur *c = malloc(sizeof *c);
  if (!c || s->ndocs > SIZE_MAX / sizeof *seen ||
      !(seen = calloc(n, sizeof *seen))) {
    free(c);
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  }
  uint32_t *pos = NULL;
  size_t pos_cap = 0;
  uint64_t tokens = 0;
  int rc = KIDX_OK;
  /* The bounds' precomputed maxima use the header's field totals (whose
   * agreement with the document lengths is checked below). */
  kidx__pmodels pm;
  uint64_t ftok[KIDX__NFIELDS] = {
      s->title_tokens,
      s->ntokens > s->title_tokens ? s->ntokens - s->title_tokens : 0};
  kidx__pmodels_init(&pm, s->ndocs, ftok);
  /* Terms come from a cursor whose text buffer is reused: keep a copy of
   * the previous one for the order check. */
  char prev_text[KIDX_MAX_TOKEN_BYTES];
  kidx__term prev = {prev_text, 0, 0, NULL, 0};
  kidx__termcur cur;
  int on = kidx__termcur_seek(&cur, s, 0);
  for (uint64_t i = 0; i < s->nterms && on > 0 && !rc;
       i++, on = kidx__termcur_next(&cur)) {
    kidx__term t = cur.term;
    if (t.len == 0 || t.len > KIDX_MAX_TOKEN_BYTES ||
        !valid_utf8(t.text, t.len))
      rc = term_problem(errmsg, path, &t, i,
                        "not a term the analysis can produce (empty, too "
                        "long or invalid UTF-8)");
    else if (i > 0 && kidx__term_cmp(prev.text, prev.len, t.text, t.len) >= 0)
      rc = term_problem(errmsg, path, &t, i,
                        "out of order in the term dictionary");
    else
      rc = check_list(s, path, &t, i, c, &pm, seen, &pos, &pos_cap, &tokens,
                      errmsg);
    memcpy(prev_text, t.text, t.len);
    prev.len = t.len;
  }
  if (!rc && on < 0)
    rc = kidx__segment_damage(s, errmsg);
  if (!rc)
    rc = check_docs(s, path, seen, errmsg);
  /* Implied by the per-document counts when open's check that the
   * document lengths add up holds; kept so that this pass stands alone. */
  if (!rc && tokens != s->ntokens)
    rc = kidx__err(errmsg, KIDX_ECORRUPT,
                   "%s is damaged: the postings hold %llu words, the header "
                   "says %llu",
                   path, (unsigned long long)tokens,
                   (unsigned long long)s->ntokens);
  free(pos);
  free(seen);
  free(c);
  return rc;
}

int kidx__check_snapshot(const kidx__snapshot *s, char *errmsg) {
  for (size_t i = 0; i < s->nsegs; i++) {
    int rc = kidx__check_segment(&s->segs[i].seg, s->segs[i].path, errmsg);
    if (rc)
      return rc;
  }
  /* Each segment's ids are unique (checked above); across segments, an
   * id may only be live once. */
  kidx__strmap *ids = NULL;
  if (kidx__strmap_new(&ids))
    return kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  int rc = KIDX_OK;
  for (size_t i = 0; i < s->nsegs && !rc; i++) {
    const kidx__segref *r = &s->segs[i];
    for (uint64_t d = 0; d < r->seg.ndocs && !rc; d++) {
      kidx__docinfo info;
      uint32_t old;
      int found;
      if (kidx__bit_get(r->dead, d))
        continue;
      if (kidx__segment_key(&r->seg, (uint32_t)d, &info))
        rc = kidx__segment_damage(&r->seg, errmsg);
      else if (kidx__strmap_upsert(ids, info.id, info.id_len, (uint32_t)i, &old,
                                   &found))
        rc = kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
      else if (found)
        rc = kidx__err(errmsg, KIDX_ECORRUPT,
                       "the index at %s is damaged: document id '%.*s' is "
                       "live in %s and in %s",
                       s->dir, (int)info.id_len, info.id, s->segs[old].path,
                       r->path);
    }
  }
  kidx__strmap_free(ids);
  return rc;
}
