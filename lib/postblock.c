/*
 * postblock.c -- the postings codec of segment files: lists cut into
 * blocks of KIDX__BLOCK documents, each block's document gaps and
 * frequencies bit-packed with one width per column (frame of reference),
 * positions in a stream of their own after all the blocks, and a table at
 * the head of the list with, per block, its last document, its sizes and
 * the data to bound the score of any of its documents (doc/FORMAT.md,
 * "Section 0").  A list of one block (most terms are rare) has neither
 * table nor bound, and a small block is stored as varints when that is
 * shorter than packed: a rare term's list takes a few bytes.
 *
 * The layout follows what Lucene (Lucene50/90 postings, "impacts"),
 * tantivy and PISA do, for the same reasons:
 *   - a query that skips (AND, phrases, pruned OR) jumps over whole
 *     blocks using the table, without touching their bytes;
 *   - a block decodes with a few shifts and masks per value, no branch per
 *     byte as varints have;
 *   - a query without phrases never reads a position;
 *   - per-block bounds let a top-k search (search.c) skip blocks that
 *     cannot reach the current k-th score without decoding them.
 *
 * The bound of a field f over a block is (max tf_f, and the (len_f, tf_f)
 * pair of smallest ratio len_f / tf_f): for any document of the block,
 *     tf / B(len) = 1 / ((1 - b) / tf + (b / avglen) * len / tf)
 *                <= 1 / ((1 - b) / max_tf + (b / avglen) * min(len / tf))
 * for every b in [0, 1] and every average length, so one record serves
 * both ranking models, any field weights and any b chosen at query time
 * (kidx__scorer_bound in score.c).  It is tighter than max_tf / B(min len),
 * since the longest documents rarely have the highest frequencies.
 *
 * The in-memory batch keeps the simpler varint lists of postings.c; a
 * segment write (segwrite.c) re-encodes them with kidx__pwriter.
 */
#include "kidx_int.h"

#include <math.h>
#include <stdlib.h>

/* ---- bit packing ---- */

/* Bytes that n values of w bits take. */
static size_t packed_size(uint32_t n, unsigned w) {
  return ((size_t)n * w + 7) / 8;
}

/* Appends n values of w bits (w <= 32), least significant bits first. */
static int pack(kidx__buf *b, const uint32_t *v, uint32_t n, unsigned w) {
  size_t size = packed_size(n, w);
  if (kidx__buf_reserve(b, size))
    return KIDX_ENOMEM;
  uint8_t *out = b->p + b->n;
  uint64_t acc = 0;
  unsigned bits = 0;
  size_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    acc |= (uint64_t)v[i] << bits;
    bits += w;
    while (bits >= 8) {
      out[k++] = (uint8_t)acc;
      acc >>= 8;
      bits -= 8;
    }
  }
  if (bits > 0)
    out[k++] = (uint8_t)acc;
  b->n += k;
  return KIDX_OK;
}

/* The n values of w bits at buf (which has 8 readable bytes past them),
 * in groups of 8 values -- w bytes -- so that with w a constant (the
 * switch below) every shift and offset is one too. */
static inline void unpack_w(const uint8_t *buf, uint32_t n, unsigned w,
                            uint32_t *v) {
  uint64_t mask = ((uint64_t)1 << w) - 1;
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8, buf += w)
    for (unsigned j = 0; j < 8; j++) {
      uint64_t word;
      memcpy(&word, buf + ((j * w) >> 3), 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
      word = __builtin_bswap64(word);
#endif
      v[i + j] = (uint32_t)((word >> ((j * w) & 7)) & mask);
    }
  for (size_t bit = 0; i < n; i++, bit += w) {
    uint64_t word;
    memcpy(&word, buf + (bit >> 3), 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    word = __builtin_bswap64(word);
#endif
    v[i] = (uint32_t)((word >> (bit & 7)) & mask);
  }
}

/* Decodes n values of w bits from in (packed_size(n, w) bytes), where
 * the bytes up to lim may be read.  Every value is read with one unaligned
 * 64-bit load, which may reach up to 8 bytes past the values (their bits
 * are masked off): in place when the list has them, else from a
 * zero-padded copy, never past the caller's data.  KIDX_ECORRUPT if the
 * unused bits of the last byte are not 0: every bit of a block then means
 * something, so no damage goes unseen by check. */
static int unpack(const uint8_t *in, uint32_t n, unsigned w, uint32_t *v,
                  const uint8_t *lim) {
  if (w == 0) {
    memset(v, 0, n * sizeof *v);
    return KIDX_OK;
  }
  uint8_t buf[KIDX__BLOCK * 4 + 8];
  size_t size = packed_size(n, w);
  unsigned used = (unsigned)(((size_t)n * w) & 7);
  if (used && in[size - 1] >> used)
    return KIDX_ECORRUPT;
  if ((size_t)(lim - in) < size + 8) {
    memcpy(buf, in, size);
    memset(buf + size, 0, 8);
    in = buf;
  }
  /* One copy of the loop per width, each with its shifts known. */
  switch (w) {
#define W(x)                                                                   \
  case x:                                                                      \
    unpack_w(in, n, x, v);                                                     \
    break;
    W(1)
    W(2)
    W(3)
    W(4)
    W(5)
    W(6)
    W(7)
    W(8) W(9) W(10) W(11) W(12) W(13) W(14) W(15) W(16) W(17) W(18) W(19) W(20)
        W(21) W(22) W(23) W(24) W(25) W(26) W(27) W(28) W(29) W(30) W(31) W(32)
#undef W
            default : return KIDX_ECORRUPT;
  }
  return KIDX_OK;
}

/* Bits needed for v (0 for 0). */
static unsigned width_of(uint32_t v) {
  unsigned w = 0;
  while (v) {
    w++;
    v >>= 1;
  }
  return w;
}

static unsigned max_width(const uint32_t *v, uint32_t n) {
  uint32_t all = 0;
  for (uint32_t i = 0; i < n; i++)
    all |= v[i];
  return width_of(all);
}

/* Reads a varint; strict (check.c) also requires its shortest form, so
 * that no byte of a list can change without changing what it says. */
static int get_var(const uint8_t **p, const uint8_t *end, uint64_t *v,
                   int strict) {
  const uint8_t *start = *p;
  if (kidx__varint_get(p, end, v))
    return -1;
  uint8_t tmp[10];
  if (strict && (size_t)(*p - start) != kidx__varint_encode(tmp, *v))
    return -1;
  return 0;
}

/* ---- bounds ---- */

void kidx__pbound_clear(kidx__pbound *b) {
  memset(b, 0, sizeof *b);
}

/* Adds one occurrence count tf (> 0) of field f in a field of len terms. */
static void bound_add(kidx__pbound *b, int f, uint32_t tf, uint32_t len) {
  if (tf > b->max_tf[f])
    b->max_tf[f] = tf;
  /* len / tf < b->len / b->tf, in integers. */
  if (b->tf[f] == 0 || (uint64_t)len * b->tf[f] < (uint64_t)b->len[f] * tf) {
    b->len[f] = len;
    b->tf[f] = tf;
  }
}

/* e = 63: infinity; codes below 2^-32 round up to the smallest. */
#define TFC_INF ((uint16_t)(63u << 10))

uint16_t kidx__tfc_encode(double x) {
  if (x <= 0x1p-32)
    return 0;
  if (!(x < 0x1p31))
    return TFC_INF;
  /* x is a normal double: its exponent and the top 10 bits of its
   * mantissa, plus one unit if any lower bit is set. */
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  int64_t e = (int64_t)((u >> 52) & 0x7FF) - 1023 + 32;
  uint64_t m = (u >> 42) & 0x3FF;
  if (u & (((uint64_t)1 << 42) - 1)) {
    if (++m == 1024) {
      m = 0;
      e++;
    }
  }
  return e >= 63 ? TFC_INF : (uint16_t)((uint64_t)e << 10 | m);
}

double kidx__tfc_decode(uint16_t code) {
  if (code >= TFC_INF)
    return INFINITY;
  /* The double with exponent e - 32 and the code's mantissa bits on top:
   * exact. */
  uint64_t u = ((uint64_t)((code >> 10) + 1023 - 32) << 52) |
               ((uint64_t)(code & 0x3FF) << 42);
  double x;
  memcpy(&x, &u, sizeof x);
  return x;
}

void kidx__pbound_add(kidx__pbound *b, const kidx__pmodels *pm,
                      const uint32_t tf[KIDX__NFIELDS],
                      const uint32_t len[KIDX__NFIELDS]) {
  for (int f = 0; f < KIDX__NFIELDS; f++)
    if (tf[f])
      bound_add(b, f, tf[f], len[f]);
  double tfc[KIDX__NMODELS];
  kidx__pmodels_tfc(pm, tf, len, tfc);
  for (int r = 0; r < KIDX__NMODELS; r++) {
    uint16_t v = kidx__tfc_encode(tfc[r]);
    if (v > b->tfc_max[r])
      b->tfc_max[r] = v;
  }
}

void kidx__pbound_open(kidx__pbound *b) {
  for (int f = 0; f < KIDX__NFIELDS; f++) {
    b->max_tf[f] = UINT32_MAX;
    b->len[f] = 1;
    b->tf[f] = 1;
  }
  for (int r = 0; r < KIDX__NMODELS; r++)
    b->tfc_max[r] = TFC_INF;
}

void kidx__pbound_merge(kidx__pbound *into, const kidx__pbound *b) {
  for (int f = 0; f < KIDX__NFIELDS; f++)
    if (b->max_tf[f]) {
      bound_add(into, f, b->tf[f], b->len[f]);
      if (b->max_tf[f] > into->max_tf[f])
        into->max_tf[f] = b->max_tf[f];
    }
  for (int r = 0; r < KIDX__NMODELS; r++)
    if (b->tfc_max[r] > into->tfc_max[r])
      into->tfc_max[r] = b->tfc_max[r];
}

static int put_bound(kidx__buf *out, const kidx__pbound *b) {
  for (int f = 0; f < KIDX__NFIELDS; f++) {
    if (kidx__buf_put_varint(out, b->max_tf[f]))
      return KIDX_ENOMEM;
    if (b->max_tf[f] && (kidx__buf_put_varint(out, b->len[f]) ||
                         kidx__buf_put_varint(out, b->tf[f])))
      return KIDX_ENOMEM;
  }
  for (int r = 0; r < KIDX__NMODELS; r++) {
    uint8_t v[2] = {(uint8_t)b->tfc_max[r], (uint8_t)(b->tfc_max[r] >> 8)};
    if (kidx__buf_append(out, v, sizeof v))
      return KIDX_ENOMEM;
  }
  return KIDX_OK;
}

static int get_bound(const uint8_t **p, const uint8_t *end, kidx__pbound *b,
                     int strict) {
  for (int f = 0; f < KIDX__NFIELDS; f++) {
    uint64_t max, len = 0, tf = 0;
    if (get_var(p, end, &max, strict) || max > UINT32_MAX)
      return KIDX_ECORRUPT;
    if (max && (get_var(p, end, &len, strict) || get_var(p, end, &tf, strict) ||
                tf == 0 || tf > max || len < tf || len > UINT32_MAX))
      return KIDX_ECORRUPT;
    b->max_tf[f] = (uint32_t)max;
    b->len[f] = (uint32_t)len;
    b->tf[f] = (uint32_t)tf;
  }
  if (end - *p < 2 * KIDX__NMODELS)
    return KIDX_ECORRUPT;
  for (int r = 0; r < KIDX__NMODELS; r++) {
    uint16_t v = (uint16_t)((*p)[0] | (*p)[1] << 8);
    if (v > TFC_INF)
      return KIDX_ECORRUPT;
    b->tfc_max[r] = v;
    *p += 2;
  }
  return KIDX_OK;
}

int kidx__pbound_equal(const kidx__pbound *a, const kidx__pbound *b) {
  for (int f = 0; f < KIDX__NFIELDS; f++)
    if (a->max_tf[f] != b->max_tf[f] || a->len[f] != b->len[f] ||
        a->tf[f] != b->tf[f])
      return 0;
  for (int r = 0; r < KIDX__NMODELS; r++)
    if (a->tfc_max[r] != b->tfc_max[r])
      return 0;
  return 1;
}

/* ---- writing ---- */

void kidx__pwriter_init(kidx__pwriter *w, const kidx__pmodels *models) {
  memset(w, 0, sizeof *w);
  w->models = models;
}

void kidx__pwriter_free(kidx__pwriter *w) {
  kidx__buf_free(&w->head);
  kidx__buf_free(&w->table);
  kidx__buf_free(&w->docs);
  kidx__buf_free(&w->pos);
  free(w->pv);
}

void kidx__pwriter_reset(kidx__pwriter *w) {
  w->head.n = w->table.n = w->docs.n = w->pos.n = 0;
  w->n = 0;
  w->df = 0;
  w->base = 0;
  w->blk_pos = 0;
  w->npv = 0;
  kidx__pbound_clear(&w->blk_bound);
  kidx__pbound_clear(&w->list_bound);
}

/* ---- position chunks ---- */

/* Bytes of v as a varint. */
static size_t varint_size(uint32_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

/* Appends n (<= KIDX__BLOCK) position values as one chunk: patched frame
 * of reference (Zukowski et al., "Super-scalar RAM-CPU cache compression",
 * ICDE 2006, as Lucene's PForUtil): the low b bits of every value packed,
 * and the few values that do not fit in b bits as exceptions (index, high
 * bits).  b is chosen for the smallest chunk, so that one large gap (a
 * term's first position in a long document) does not widen the others. */
/* The width of a chunk of these values: the one of the smallest chunk
 * (the smallest width on a tie), with at most 255 exceptions; *nexc
 * receives their number, *bytes the chunk's size. */
static unsigned chunk_width(const uint32_t *v, uint32_t n, unsigned *nexc,
                            size_t *bytes) {
  /* above[w]: values of more than w bits; ebytes[w]: their exception
   * bytes at width w. */
  uint32_t above[33] = {0};
  size_t ebytes[33] = {0};
  for (uint32_t i = 0; i < n; i++) {
    unsigned wv = width_of(v[i]);
    for (unsigned w = 0; w < wv; w++) {
      above[w]++;
      ebytes[w] += 1 + varint_size(v[i] >> w);
    }
  }
  unsigned best = 32;
  size_t best_size = packed_size(n, 32);
  for (unsigned w = 0; w < 32; w++) {
    size_t size = packed_size(n, w) + ebytes[w];
    if (above[w] <= 255 && size < best_size) {
      best = w;
      best_size = size;
    }
  }
  *nexc = best < 32 ? above[best] : 0;
  *bytes = 2 + best_size;
  return best;
}

static int put_chunk(kidx__buf *out, const uint32_t *v, uint32_t n) {
  size_t size;
  unsigned nexc, best = chunk_width(v, n, &nexc, &size);
  uint32_t low[KIDX__BLOCK];
  uint32_t mask = best == 32 ? UINT32_MAX : ((uint32_t)1 << best) - 1;
  for (uint32_t i = 0; i < n; i++)
    low[i] = v[i] & mask;
  uint8_t h[2] = {(uint8_t)best, (uint8_t)nexc};
  if (kidx__buf_append(out, h, 2) || pack(out, low, n, best))
    return KIDX_ENOMEM;
  for (uint32_t i = 0; best < 32 && i < n; i++)
    if (v[i] >> best) {
      uint8_t idx = (uint8_t)i;
      if (kidx__buf_append(out, &idx, 1) ||
          kidx__buf_put_varint(out, v[i] >> best))
        return KIDX_ENOMEM;
    }
  return KIDX_OK;
}

/* Decodes the chunk at *p (n values) into v; KIDX_ECORRUPT unless it is
 * well formed within [*p, end).  Advances *p past it. */
static int get_chunk(const uint8_t **pp, const uint8_t *end, const uint8_t *lim,
                     uint32_t n, uint32_t *v, int strict) {
  const uint8_t *p = *pp;
  if (end - p < 2)
    return KIDX_ECORRUPT;
  unsigned b = p[0], e = p[1];
  p += 2;
  if (b > 32 || e > n || (b == 32 && e) ||
      packed_size(n, b) > (size_t)(end - p) || unpack(p, n, b, v, lim))
    return KIDX_ECORRUPT;
  p += packed_size(n, b);
  int last = -1;
  for (unsigned k = 0; k < e; k++) {
    uint64_t high;
    if (p >= end || (int)*p <= last || *p >= n)
      return KIDX_ECORRUPT;
    last = *p++;
    if (get_var(&p, end, &high, strict) || high == 0 ||
        high > (UINT32_MAX >> b))
      return KIDX_ECORRUPT;
    v[last] |= (uint32_t)high << b;
  }
  /* Only one width decodes to these values as the writer chose it: a
   * wider one decodes the same, so damage could hide in it. */
  unsigned ce;
  size_t size;
  if (strict && (chunk_width(v, n, &ce, &size) != b || ce != e))
    return KIDX_ECORRUPT;
  *pp = p;
  return KIDX_OK;
}

/* ---- block data ---- */

/* The first byte of a block whose data is varints (VBLOCK) rather than
 * packed (a title width, 0..32). */
#define VBLOCK 255u

/* Bytes of v as a varint, for 64-bit values. */
static size_t varint_size64(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

/* A varint block's frequency value for an entry: tf - 1 and whether the
 * title has any of them (then title - 1 follows). */
static uint64_t vblock_x(uint32_t tf1, uint32_t title) {
  return (uint64_t)tf1 << 1 | (title > 0);
}

/* Whether the block of n entries with these gaps, tf - 1 and title counts
 * is stored as varints: exactly when that is shorter than packed.  Small
 * blocks -- the only block of a rare term, the last of a list -- are
 * mostly shorter as varints (a packed block spends 5 bytes on widths
 * before any value; Lucene codes its partial last blocks as varints for
 * the same reason), full ones packed.  One rule for the writer and for
 * check (strict cursors). */
static int block_is_varint(const uint32_t *gap, const uint32_t *tf1,
                           const uint32_t *title, uint32_t n) {
  size_t sz, packed = 1, varint = 1;
  unsigned e;
  chunk_width(gap, n, &e, &sz);
  packed += sz;
  chunk_width(tf1, n, &e, &sz);
  packed += sz + packed_size(n, max_width(title, n));
  /* The last entry's gap is left out: its document is the block's last,
   * which the table (or the list's head) gives. */
  for (uint32_t i = 0; i + 1 < n; i++)
    varint += varint_size(gap[i]);
  for (uint32_t i = 0; i < n && varint < packed; i++)
    varint += varint_size64(vblock_x(tf1[i], title[i])) +
              (title[i] ? varint_size(title[i] - 1) : 0);
  return varint < packed;
}

/* Encodes the buffered block: its document data, its table entry (a
 * list's only block has none: kidx__pwriter_finish). */
static int flush_block(kidx__pwriter *w) {
  uint32_t gap[KIDX__BLOCK] = {0}, tf1[KIDX__BLOCK] = {0};
  uint64_t prev = w->base; /* the block's first gap is from base */
  for (uint32_t i = 0; i < w->n; i++) {
    gap[i] = (uint32_t)(w->doc[i] - prev);
    prev = (uint64_t)w->doc[i] + 1;
    tf1[i] = w->tf[i] - 1;
  }
  size_t start = w->docs.n;
  if (block_is_varint(gap, tf1, w->title, w->n)) {
    uint8_t mark = VBLOCK;
    if (kidx__buf_append(&w->docs, &mark, 1))
      return KIDX_ENOMEM;
    for (uint32_t i = 0; i + 1 < w->n; i++)
      if (kidx__buf_put_varint(&w->docs, gap[i]))
        return KIDX_ENOMEM;
    for (uint32_t i = 0; i < w->n; i++)
      if (kidx__buf_put_varint(&w->docs, vblock_x(tf1[i], w->title[i])) ||
          (w->title[i] && kidx__buf_put_varint(&w->docs, w->title[i] - 1)))
        return KIDX_ENOMEM;
  } else {
    /* Gaps and frequencies as PFOR chunks (a few long gaps or high
     * frequencies do not widen the rest); title counts, mostly 0, with
     * one width. */
    uint8_t wh = (uint8_t)max_width(w->title, w->n);
    if (kidx__buf_append(&w->docs, &wh, 1) || put_chunk(&w->docs, gap, w->n) ||
        put_chunk(&w->docs, tf1, w->n) || pack(&w->docs, w->title, w->n, wh))
      return KIDX_ENOMEM;
  }
  for (size_t i = 0; i < w->npv; i += KIDX__BLOCK) {
    size_t left = w->npv - i;
    if (put_chunk(&w->pos, w->pv + i,
                  (uint32_t)(left < KIDX__BLOCK ? left : KIDX__BLOCK)))
      return KIDX_ENOMEM;
  }
  w->npv = 0;
  uint64_t last = w->doc[w->n - 1];
  if (kidx__buf_put_varint(&w->table, last + 1 - w->base) ||
      kidx__buf_put_varint(&w->table, w->docs.n - start) ||
      kidx__buf_put_varint(&w->table, w->pos.n - w->blk_pos) ||
      put_bound(&w->table, &w->blk_bound))
    return KIDX_ENOMEM;
  kidx__pbound_merge(&w->list_bound, &w->blk_bound);
  kidx__pbound_clear(&w->blk_bound);
  w->base = last + 1;
  w->blk_pos = w->pos.n;
  w->n = 0;
  return KIDX_OK;
}

int kidx__pwriter_add(kidx__pwriter *w, uint32_t doc, const uint32_t *pos,
                      uint32_t tf, uint32_t tf_title,
                      const uint32_t len[KIDX__NFIELDS]) {
  /* Positions as gaps minus one: the first position itself, then each
   * one's distance to the previous one, less one; encoded with the block
   * (flush_block). */
  if (w->npv + tf > w->pv_cap) {
    size_t cap = w->pv_cap ? w->pv_cap : 1024;
    while (cap < w->npv + tf)
      cap *= 2;
    uint32_t *pv = realloc(w->pv, cap * sizeof *pv);
    if (!pv)
      return KIDX_ENOMEM;
    w->pv = pv;
    w->pv_cap = cap;
  }
  uint32_t next = 0;
  for (uint32_t i = 0; i < tf; i++) {
    w->pv[w->npv++] = pos[i] - next;
    next = pos[i] + 1;
  }
  w->doc[w->n] = doc;
  w->tf[w->n] = tf;
  w->title[w->n] = tf_title;
  w->n++;
  w->df++;
  uint32_t ftf[KIDX__NFIELDS] = {tf_title, tf - tf_title};
  kidx__pbound_add(&w->blk_bound, w->models, ftf, len);
  return w->n == KIDX__BLOCK ? flush_block(w) : KIDX_OK;
}

int kidx__pwriter_finish(kidx__pwriter *w) {
  if (w->df == 0)
    return KIDX_EINVAL; /* no entries: no list to finish */
  if (w->n && flush_block(w))
    return KIDX_ENOMEM;
  w->head.n = 0;
  if (w->df <= KIDX__BLOCK) {
    /* A list of one block (most terms) has neither a table nor a bound:
     * its head gives the block's last document + 1 (w->base, now); the
     * data and positions
     * fill the rest.  A bound would cost more than the term's postings,
     * and a search reads at most KIDX__BLOCK entries of such a list
     * anyway (Lucene keeps no impacts for lists shorter than a block
     * either). */
    w->table.n = 0;
    return kidx__buf_put_varint(&w->head, w->docs.n) ||
                   kidx__buf_put_varint(&w->head, w->base)
               ? KIDX_ENOMEM
               : KIDX_OK;
  }
  if (kidx__buf_put_varint(&w->head, w->docs.n) ||
      kidx__buf_put_varint(&w->head, w->table.n) ||
      put_bound(&w->head, &w->list_bound))
    return KIDX_ENOMEM;
  return KIDX_OK;
}

uint64_t kidx__pwriter_size(const kidx__pwriter *w) {
  return (uint64_t)w->head.n + w->table.n + w->docs.n + w->pos.n;
}

/* ---- reading ---- */

/* The most bytes a varint (64 bits), a list's head and a block's table
 * entry can take: how much is vouched for before one is parsed, clipped
 * to its region, since its length is only known once it is. */
#define VARINT_MAX 10
#define BOUND_MAX  (KIDX__NFIELDS * 3 * VARINT_MAX + 2 * KIDX__NMODELS)
#define HEAD_MAX   (2 * VARINT_MAX + BOUND_MAX)
#define ENTRY_MAX  (3 * VARINT_MAX + BOUND_MAX)
/* Bytes of a block table vouched for at once (at least ENTRY_MAX). */
#define TABLE_AHEAD 1024

/* Has the cursor's owner vouch for [p, p + min(len, end - p)) before it
 * is read (kidx__pcur_init_checked; without a check, the bytes are
 * trusted). */
static int vouch(const kidx__pcur *c, const uint8_t *p, const uint8_t *end,
                 size_t len) {
  if (!c->check)
    return KIDX_OK;
  size_t avail = (size_t)(end - p);
  return c->check(c->check_ctx, p, len < avail ? len : avail) ? KIDX_ECORRUPT
                                                              : KIDX_OK;
}

static uint32_t block_count(uint32_t df) {
  return (uint32_t)(((uint64_t)df + KIDX__BLOCK - 1) / KIDX__BLOCK);
}

static int init(kidx__pcur *c, const uint8_t *data, size_t len, uint32_t df,
                uint64_t doc_limit, int strict, kidx__pcur_check_fn check,
                const void *ctx) {
  const uint8_t *p = data, *end = data + len;
  uint64_t doc_bytes, table_bytes;
  c->df = df;
  c->nblocks = block_count(df);
  c->doc_limit = doc_limit;
  c->blk = 0;
  c->loaded = 0;
  c->decoded = 0;
  c->base = 0;
  c->doc_off = c->pos_off = 0;
  c->doc_len = c->pos_len = 0;
  c->i = 0;
  c->n = 0;
  c->pp = NULL;
  c->pp_i = 0;
  c->doc = 0;
  c->tf = c->tf_title = 0;
  c->tp = c->tend = c->docs = c->poss = c->end = end;
  c->strict = strict;
  c->check = check;
  c->check_ctx = ctx;
  c->lazy = check != NULL;
  c->freqs = 0;
  c->pchecked = 0;
  if (df == 0 || !data || vouch(c, p, end, HEAD_MAX) ||
      get_var(&p, end, &doc_bytes, strict))
    return KIDX_ECORRUPT;
  if (c->nblocks == 1) {
    /* No table, no bound (kidx__pwriter_finish): the head's second number
     * is the last document + 1, read by load_entry. */
    uint64_t last1;
    if (get_var(&p, end, &last1, strict) || last1 < df || last1 > doc_limit ||
        doc_bytes > (uint64_t)(end - p))
      return KIDX_ECORRUPT;
    kidx__pbound_open(&c->list_bound);
    c->single_last = last1 - 1;
    table_bytes = 0;
  } else if (get_var(&p, end, &table_bytes, strict) ||
             get_bound(&p, end, &c->list_bound, strict) ||
             table_bytes > (uint64_t)(end - p) ||
             doc_bytes > (uint64_t)(end - p) - table_bytes) {
    return KIDX_ECORRUPT;
  }
  c->tp = p;
  c->table_ok = p;
  c->tend = p + table_bytes;
  c->docs = c->tend;
  c->poss = c->docs + doc_bytes;
  c->end = end;
  return KIDX_OK;
}

int kidx__pcur_init(kidx__pcur *c, const uint8_t *data, size_t len, uint32_t df,
                    uint64_t doc_limit) {
  return init(c, data, len, df, doc_limit, 0, NULL, NULL);
}

int kidx__pcur_init_checked(kidx__pcur *c, const uint8_t *data, size_t len,
                            uint32_t df, uint64_t doc_limit,
                            kidx__pcur_check_fn check, const void *ctx) {
  return init(c, data, len, df, doc_limit, 0, check, ctx);
}

int kidx__pcur_init_strict(kidx__pcur *c, const uint8_t *data, size_t len,
                           uint32_t df, uint64_t doc_limit) {
  return init(c, data, len, df, doc_limit, 1, NULL, NULL);
}

/* Entries of block k. */
static uint32_t block_n(const kidx__pcur *c, uint32_t k) {
  return k + 1 < c->nblocks ? KIDX__BLOCK
                            : c->df - (c->nblocks - 1) * KIDX__BLOCK;
}

/* Reads the table entry of block c->blk. */
static int load_entry(kidx__pcur *c) {
  uint64_t delta, dl, pl;
  uint64_t n = block_n(c, c->blk);
  /* The table is read entry after entry: vouched for TABLE_AHEAD bytes at
   * a time (within one verification page, mostly), not per entry. */
  size_t left = (size_t)(c->tend - c->tp);
  if (c->check && c->table_ok < c->tp + (left < ENTRY_MAX ? left : ENTRY_MAX)) {
    size_t want = left < TABLE_AHEAD ? left : TABLE_AHEAD;
    if (vouch(c, c->tp, c->tend, want))
      return KIDX_ECORRUPT;
    c->table_ok = c->tp + want;
  }
  if (c->blk > 0) {
    c->doc_off += c->doc_len;
    c->pos_off += c->pos_len;
  }
  if (c->nblocks == 1) {
    /* The only block: its data and positions fill the list. */
    c->last = c->single_last;
    c->blk_bound = c->list_bound;
    c->doc_len = (uint32_t)(c->poss - c->docs);
    c->pos_len = (uint32_t)(c->end - c->poss);
    if ((uint64_t)(c->poss - c->docs) < 2 || c->poss - c->docs > UINT32_MAX ||
        c->end - c->poss < 2 || c->end - c->poss > UINT32_MAX)
      return KIDX_ECORRUPT;
    c->loaded = 1;
    c->decoded = 0;
    return KIDX_OK;
  }
  if (get_var(&c->tp, c->tend, &delta, c->strict) ||
      get_var(&c->tp, c->tend, &dl, c->strict) ||
      get_var(&c->tp, c->tend, &pl, c->strict) ||
      get_bound(&c->tp, c->tend, &c->blk_bound, c->strict) || delta < n ||
      delta > c->doc_limit - c->base || dl < 2 || dl > UINT32_MAX ||
      pl > UINT32_MAX || dl > (uint64_t)(c->poss - c->docs) - c->doc_off ||
      pl < 2 || pl > (uint64_t)(c->end - c->poss) - c->pos_off)
    return KIDX_ECORRUPT;
  /* The last block's entry must end the table. */
  if (c->blk + 1 == c->nblocks && c->tp != c->tend)
    return KIDX_ECORRUPT;
  c->last = c->base + delta - 1;
  c->doc_len = (uint32_t)dl;
  c->pos_len = (uint32_t)pl;
  c->loaded = 1;
  c->decoded = 0;
  return KIDX_OK;
}

static int decode_freqs(kidx__pcur *c);

/* Decodes block c->blk (its entry loaded): its documents, and unless the
 * cursor is lazy (kidx__pcur_init_checked) its frequencies too. */
static int decode_block(kidx__pcur *c) {
  const uint8_t *p = c->docs + c->doc_off;
  uint32_t n = block_n(c, c->blk);
  const uint8_t *end = p + c->doc_len;
  if (vouch(c, p, end, c->doc_len))
    return KIDX_ECORRUPT;
  unsigned wh = *p++;
  uint64_t doc = c->base;
  if (wh == VBLOCK) {
    /* n - 1 gaps; the last entry is the block's last document. */
    for (uint32_t i = 0; i + 1 < n; i++) {
      uint64_t gap;
      if (get_var(&p, end, &gap, c->strict) || gap >= c->last - doc)
        return KIDX_ECORRUPT;
      doc += gap;
      c->docs_a[i] = (uint32_t)doc;
      doc++;
    }
    c->docs_a[n - 1] = (uint32_t)c->last;
  } else {
    if (wh > 32 || get_chunk(&p, end, c->end, n, c->docs_a, c->strict))
      return KIDX_ECORRUPT;
    /* The sum only grows (in 64 bits it cannot wrap: 128 gaps below 2^32),
     * so the last document alone says whether any went past the block's
     * last: one test per block, not per entry. */
    for (uint32_t i = 0; i < n; i++) {
      doc += c->docs_a[i];
      c->docs_a[i] = (uint32_t)doc;
      doc++;
    }
    if (doc - 1 != c->last)
      return KIDX_ECORRUPT;
  }
  c->n = n;
  c->i = 0;
  c->dec_blk = c->blk;
  c->dec_base = c->base;
  c->dec_bound = c->blk_bound;
  c->fp = p;
  c->fend = end;
  c->fwh = wh;
  c->freqs = 0;
  /* The decoded block's positions, kept apart from the table cursor,
   * which kidx__pcur_shallow may move on before they are read. */
  c->pbeg = c->poss + c->pos_off;
  c->pend = c->pbeg + c->pos_len;
  c->pp = c->pbeg;
  c->pp_i = 0;
  c->pv_off = 0;
  c->pv_total = 0;
  c->pc_k = UINT64_MAX;
  c->pc_next = 0;
  c->pchecked = 0;
  c->decoded = 1;
  return c->lazy ? KIDX_OK : decode_freqs(c);
}

/* Decodes the frequencies of the decoded block: a search that only
 * looks for documents (a conjunction's common word, moved to the
 * documents its rarest word proposes) never needs those of most blocks. */
static int decode_freqs(kidx__pcur *c) {
  const uint8_t *p = c->fp, *end = c->fend;
  uint32_t n = c->n;
  unsigned wh = c->fwh;
  if (wh == VBLOCK) {
    for (uint32_t i = 0; i < n; i++) {
      uint64_t x, t = 0;
      if (get_var(&p, end, &x, c->strict) || (x >> 1) >= UINT32_MAX ||
          ((x & 1) && (get_var(&p, end, &t, c->strict) || t > x >> 1)))
        return KIDX_ECORRUPT;
      c->tf_a[i] = (uint32_t)(x >> 1);
      c->title_a[i] = (x & 1) ? (uint32_t)t + 1 : 0;
    }
    if (p != end)
      return KIDX_ECORRUPT;
  } else if (get_chunk(&p, end, c->end, n, c->tf_a, c->strict) ||
             packed_size(n, wh) != (size_t)(end - p) ||
             unpack(p, n, wh, c->title_a, c->end)) {
    return KIDX_ECORRUPT;
  }
  /* One pass, without a branch per entry: the title counts' union (for
   * their width), the damage seen (tf - 1 is stored, so a tf of 2^32
   * does not fit; no more title occurrences than occurrences), the
   * position values the entries need. */
  uint32_t all_h = 0, bad = 0;
  uint64_t total = n;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t tf1 = c->tf_a[i], h = c->title_a[i];
    all_h |= h;
    bad |= (uint32_t)(tf1 == UINT32_MAX) | (uint32_t)(h > tf1 + 1);
    total += tf1;
  }
  if (bad)
    return KIDX_ECORRUPT;
  /* The title width is the smallest that holds the values, as the writer
   * makes it: a wider one would decode the same, and hide damage (the
   * chunks' widths are checked with c->strict).  So is the choice of
   * varints or packing. */
  if (wh != VBLOCK && width_of(all_h) != wh)
    return KIDX_ECORRUPT;
  if (c->strict) {
    uint32_t gap[KIDX__BLOCK];
    uint64_t prev = c->dec_base;
    for (uint32_t i = 0; i < n; i++) {
      gap[i] = (uint32_t)(c->docs_a[i] - prev);
      prev = (uint64_t)c->docs_a[i] + 1;
    }
    if (block_is_varint(gap, c->tf_a, c->title_a, n) != (wh == VBLOCK))
      return KIDX_ECORRUPT;
  }
  for (uint32_t i = 0; i < n; i++)
    c->tf_a[i]++;
  /* Each chunk of 128 position values takes 2 bytes or more: a total
   * the position region cannot hold is damage, caught before any
   * position array is sized by a tf. */
  if (total > (uint64_t)(c->pend - c->pbeg) / 2 * KIDX__BLOCK)
    return KIDX_ECORRUPT;
  c->pv_total = total;
  c->freqs = 1;
  return KIDX_OK;
}

static void set_current(kidx__pcur *c) {
  c->doc = c->docs_a[c->i];
  if (c->freqs) {
    c->tf = c->tf_a[c->i];
    c->tf_title = c->title_a[c->i];
  }
}

int kidx__pcur_freqs(kidx__pcur *c) {
  /* The decoded arrays' block, even after kidx__pcur_shallow moved the
   * table on (its frequencies, like its positions, stay readable). */
  if (c->n == 0 || (!c->freqs && decode_freqs(c)))
    return KIDX_ECORRUPT;
  c->tf = c->tf_a[c->i];
  c->tf_title = c->title_a[c->i];
  return KIDX_OK;
}

/* Moves to block c->blk + 1; 0 at the end of the list. */
static int next_block(kidx__pcur *c) {
  if (c->blk + 1 >= c->nblocks) {
    c->blk = c->nblocks;
    c->loaded = c->decoded = 0;
    return 0;
  }
  c->base = c->last + 1;
  c->blk++;
  int rc = load_entry(c);
  return rc ? rc : 1;
}

int kidx__pcur_shallow(kidx__pcur *c, uint64_t target) {
  if (c->blk >= c->nblocks)
    return 0;
  if (!c->loaded) {
    int rc = load_entry(c);
    if (rc)
      return rc;
  }
  while (c->last < target) {
    int rc = next_block(c);
    if (rc <= 0)
      return rc;
  }
  return 1;
}

int kidx__pcur_next(kidx__pcur *c) {
  int rc;
  if (c->decoded && c->i + 1 < c->n) {
    c->i++;
    set_current(c);
    return 1;
  }
  if (c->decoded) {
    if ((rc = next_block(c)) <= 0)
      return rc;
  } else if (c->blk >= c->nblocks) {
    return 0;
  } else if (!c->loaded && (rc = load_entry(c))) {
    return rc;
  }
  if ((rc = decode_block(c)))
    return rc;
  set_current(c);
  return 1;
}

int kidx__pcur_advance(kidx__pcur *c, uint64_t target) {
  int rc = kidx__pcur_shallow(c, target);
  if (rc <= 0)
    return rc;
  if (!c->decoded) {
    if ((rc = decode_block(c)))
      return rc;
  }
  /* The block's last document is >= target: the scan stops in it. */
  while (c->docs_a[c->i] < target)
    c->i++;
  set_current(c);
  return 1;
}

/* Makes chunk k of the current block's positions the decoded one
 * (chunks are read forward only, as entries are). */
static int load_chunk(kidx__pcur *c, uint64_t k) {
  const uint8_t *end = c->pend;
  /* A search without phrases never gets here: positions are vouched for
   * only when first read. */
  if (!c->pchecked) {
    if (vouch(c, c->pbeg, end, (size_t)(end - c->pbeg)))
      return KIDX_ECORRUPT;
    c->pchecked = 1;
  }
  if (c->pc_k != UINT64_MAX && k < c->pc_k) {
    /* Back (the same entry's positions asked for again): from the
     * block's first chunk. */
    c->pp = c->pbeg;
    c->pc_k = UINT64_MAX;
    c->pc_next = 0;
  }
  while (c->pc_k == UINT64_MAX || c->pc_k < k) {
    uint64_t at = c->pc_next * KIDX__BLOCK;
    if (at >= c->pv_total)
      return KIDX_ECORRUPT;
    uint64_t left = c->pv_total - at;
    uint32_t n = left < KIDX__BLOCK ? (uint32_t)left : KIDX__BLOCK;
    if (get_chunk(&c->pp, end, c->end, n, c->pc_a, c->strict))
      return KIDX_ECORRUPT;
    c->pc_k = c->pc_next++;
  }
  return KIDX_OK;
}

int kidx__pcur_positions(kidx__pcur *c, uint32_t *out) {
  if (kidx__pcur_freqs(c))
    return KIDX_ECORRUPT;
  /* The current entry's values start after those of the entries before
   * it in the block. */
  for (; c->pp_i < c->i; c->pp_i++)
    c->pv_off += c->tf_a[c->pp_i];
  uint64_t g = c->pv_off;
  uint64_t next = 0;
  for (uint32_t i = 0; i < c->tf; i++, g++) {
    if (load_chunk(c, g / KIDX__BLOCK))
      return KIDX_ECORRUPT;
    next += c->pc_a[g % KIDX__BLOCK];
    if (next > UINT32_MAX)
      return KIDX_ECORRUPT;
    out[i] = (uint32_t)next++;
  }
  return KIDX_OK;
}

int kidx__pcur_block_done(kidx__pcur *c) {
  if (!c->decoded)
    return 0;
  /* Every chunk read, and nothing after the last. */
  uint64_t chunks = (c->pv_total + KIDX__BLOCK - 1) / KIDX__BLOCK;
  if (chunks && load_chunk(c, chunks - 1))
    return 0;
  return c->pc_next == chunks && c->pp == c->pend;
}

int kidx__pcur_list_done(const kidx__pcur *c) {
  return c->blk >= c->nblocks && c->tp == c->tend &&
         c->doc_off + c->doc_len == (uint64_t)(c->poss - c->docs) &&
         c->pos_off + c->pos_len == (uint64_t)(c->end - c->poss);
}
