/*
 * postings.c -- the postings lists of the in-memory batch (memindex.c):
 * writing one document's entry and iterating over a list.  Entries are
 * appended one document at a time as documents are added, so the format
 * is a plain stream of varints; a segment write re-encodes each list into
 * the block format of index files (postblock.c), whose positions use the
 * same gap coding.
 *
 * Encoding of one term's list (doc/FORMAT.md, "Postings"): for each
 * document containing the term, in increasing document number,
 *
 *     varint  doc gap    (document number minus the previous one; the first
 *                         entry's gap is its document number + 1, so that a
 *                         gap of 0 never occurs and is detected as damage)
 *     varint  tf * 2 + t (tf: occurrences in the document, >= 1; t: 1 if
 *                         any of them is in the title)
 *     [varint tf_title]  (only when t = 1: occurrences in the title, 1..tf)
 *     tf x varint  position gap (position minus the previous position in
 *                         this document, the first one plus 1; never 0);
 *                         the first tf_title positions are in the title
 *
 * Gaps rather than absolute values keep most numbers below 128, i.e. one
 * byte; the title flag costs no byte for the many terms found only in
 * bodies.  The list's document count (df) is in the term dictionary.
 */
#include "kidx_int.h"

int kidx__postings_put(kidx__buf *b, uint64_t base, uint32_t doc,
                       const uint32_t *pos, uint32_t tf, uint32_t tf_title) {
  /* Worst case: 5 bytes per 32-bit varint; reserve once for the whole
   * entry.  (uint64_t arithmetic: no overflow even with a 32-bit size_t.) */
  uint64_t need = 5 + 10 + 5 + (uint64_t)tf * 5;
  if (need > SIZE_MAX)
    return KIDX_ENOMEM;
  int rc = kidx__buf_reserve(b, (size_t)need);
  if (rc)
    return rc;
  uint8_t *p = b->p + b->n;
  p += kidx__varint_encode(p, (uint64_t)doc + 1 - base);
  p += kidx__varint_encode(p, (uint64_t)tf * 2 + (tf_title > 0));
  if (tf_title > 0)
    p += kidx__varint_encode(p, tf_title);
  uint32_t last = 0;
  for (uint32_t i = 0; i < tf; i++) {
    p += kidx__varint_encode(p, (uint64_t)pos[i] + 1 - last);
    last = pos[i] + 1;
  }
  b->n = (size_t)(p - b->p);
  return KIDX_OK;
}

void kidx__postings_init(kidx__postings *c, const uint8_t *data, size_t len,
                         uint32_t df, uint64_t doc_limit) {
  c->p = data;
  c->end = data + len;
  c->left = df;
  c->doc_limit = doc_limit;
  c->next_base = 0;
  c->doc = 0;
  c->tf = 0;
  c->pos = NULL;
  c->pos_read = 1;
}

/* Skips the tf position varints of the current document: a varint ends at
 * each byte below 0x80, so counting those is enough. */
static int skip_positions(kidx__postings *c) {
  const uint8_t *p = c->pos;
  uint32_t n = c->tf;
  while (n > 0) {
    if (p >= c->end)
      return KIDX_ECORRUPT;
    if (*p++ < 0x80)
      n--;
  }
  c->p = p;
  return KIDX_OK;
}

int kidx__postings_next(kidx__postings *c) {
  if (!c->pos_read) {
    int rc = skip_positions(c);
    if (rc)
      return rc;
  }
  if (c->left == 0) {
    /* A list must end exactly where the dictionary says. */
    return c->p == c->end ? 0 : KIDX_ECORRUPT;
  }
  uint64_t gap, tf2, tf_title = 0;
  if (kidx__varint_get(&c->p, c->end, &gap) ||
      kidx__varint_get(&c->p, c->end, &tf2))
    return KIDX_ECORRUPT;
  /* Checked before adding, so that a crafted gap cannot wrap around to a
   * small document number. */
  if (gap == 0 || gap > c->doc_limit - c->next_base)
    return KIDX_ECORRUPT;
  uint64_t doc = c->next_base + gap, tf = tf2 >> 1;
  /* Every position takes at least one byte: a larger tf is damage, and
   * must not reach the allocations sized by it. */
  if (tf > (uint64_t)(c->end - c->p))
    return KIDX_ECORRUPT;
  if ((tf2 & 1) && (kidx__varint_get(&c->p, c->end, &tf_title) ||
                    tf_title == 0 || tf_title > tf))
    return KIDX_ECORRUPT;
  if (gap == 0 || doc > c->doc_limit || tf == 0 || tf > UINT32_MAX)
    return KIDX_ECORRUPT;
  c->doc = (uint32_t)(doc - 1);
  c->next_base = doc;
  c->tf = (uint32_t)tf;
  c->tf_title = (uint32_t)tf_title;
  c->pos = c->p;
  c->pos_read = 0;
  c->left--;
  return 1;
}

int kidx__postings_positions(kidx__postings *c, uint32_t *out) {
  const uint8_t *p = c->pos;
  uint64_t last = 0;
  for (uint32_t i = 0; i < c->tf; i++) {
    uint64_t gap;
    if (kidx__varint_get(&p, c->end, &gap) || gap == 0)
      return KIDX_ECORRUPT;
    last += gap;
    if (last > (uint64_t)UINT32_MAX + 1)
      return KIDX_ECORRUPT;
    out[i] = (uint32_t)(last - 1);
  }
  c->p = p;
  c->pos_read = 1;
  return KIDX_OK;
}
