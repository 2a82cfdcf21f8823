/*
 * lz.c -- the LZ block codec: a byte-oriented LZ77 compressor and a safe
 * decoder for stored text, compressed in independent blocks so that a
 * snippet decompresses one small block (issue 10).  Called by the segment
 * code that stores document text; it knows nothing of files, only of one
 * block at a time.  The format is LZ4's block format (doc/FORMAT.md, "LZ
 * block codec", describes it in full); this file is written from that
 * description and shares no code with lz4.
 *
 * Format, in brief: a block is a series of sequences, each a token byte
 * (high nibble: literal count, low nibble: match length - 4; 15 means "255-
 * terminated extension bytes follow"), the literals, a 2-byte little-endian
 * offset back into the output (1..65535) and the match length's extension
 * bytes.  The last sequence has literals only and ends the block.  Every
 * match starts at least 12 bytes and ends at least 5 bytes before the end
 * of the output.
 *
 * Compressors: kidx__lz_compress is greedy, one probe per position into a
 * hash table of 4-byte prefixes (no chains), matches extended backwards
 * over pending literals, and a search step that grows on incompressible
 * data.  kidx__lz_compress_hc, which the segment writer uses for stored
 * text, links every position into a hash chain, compares up to a given
 * number of earlier positions for the longest match, and defers a match by
 * a byte while the next position has a longer one (lazy matching, as
 * LZ4's high-compression mode and zlib do): about 15% smaller blocks on
 * text, at a fifth of the speed.  No allocation: the caller provides the
 * tables (kidx__lz_scratch, kidx__lz_hc_scratch).
 *
 * Decoder: checks every length, offset and end-of-block rule before it
 * copies; copies 8 or 16 bytes at a time ("wild" copies that may write
 * past the current sequence) only where the destination has room for the
 * overrun and the source bytes they read are in bounds, so that it never
 * touches memory outside [src, src+n) and [dst, dst+dst_len).
 */
#include "kidx_int.h"

#define MIN_MATCH     4u     /* shortest match the format can express */
#define LAST_LITERALS 5u     /* the last 5 output bytes are literals */
#define MATCH_MARGIN  12u    /* a match starts >= 12 bytes before the end */
#define MAX_OFFSET    65535u /* a 2-byte offset, 0 being invalid */
#define NIBBLE_MAX    15u    /* a token field of 15: extension bytes follow */

/* Smallest table the compressor uses (2^8 entries): below it, clearing the
 * table costs nothing and fewer bits would only add collisions. */
#define MIN_HASH_BITS 8u

/* The search step grows by one every 2^SKIP_SHIFT consecutive misses, so
 * incompressible data is crossed quickly while text, where matches come
 * every few bytes, is searched at every position. */
#define SKIP_SHIFT 6u

/* ---------------------------------------------------------------------- */
/* Unaligned loads and stores through memcpy, which compilers turn into one
 * move.  Byte order only matters where noted. */

static inline uint32_t load32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static inline void copy8(uint8_t *d, const uint8_t *s) {
  memcpy(d, s, 8);
}
static inline void copy16(uint8_t *d, const uint8_t *s) {
  memcpy(d, s, 16);
}

size_t kidx__lz_bound(size_t n) {
  if (n > KIDX__LZ_MAX_INPUT)
    return 0;
  /* All literals: one token, n / 255 + 1 extension bytes at most, and the
   * bytes.  A match never costs more than the bytes it replaces (a
   * sequence of m >= 4 matched bytes costs 2 offset bytes, one token and
   * at most (m - 19) / 255 + 1 extension bytes), so no encoding is longer
   * than this; 16 leaves a margin. */
  return n + n / 255 + 16;
}

/* ---------------------------------------------------------------------- */
/* Compressor */

/* Bits of the hash table for an input of n bytes: about one entry per
 * input byte, so that small blocks do not pay for clearing a large table,
 * capped at KIDX__LZ_HASH_BITS. */
static unsigned table_bits(size_t n) {
  unsigned bits = MIN_HASH_BITS;
  while (bits < KIDX__LZ_HASH_BITS && ((size_t)1 << bits) < n)
    bits++;
  return bits;
}

/* Multiplicative hash of 4 bytes (Knuth's golden-ratio constant); the top
 * bits are the best mixed.  The bytes are read in host order, which only
 * changes which positions collide, never the format. */
static inline uint32_t hash4(uint32_t v, unsigned bits) {
  return (v * 2654435761u) >> (32 - bits);
}

/* Length of the common prefix of a and b, at most limit bytes. */
static size_t common_length(const uint8_t *a, const uint8_t *b, size_t limit) {
  size_t len = 0;
  while (limit - len >= 8) {
    uint64_t x = load64(a + len) ^ load64(b + len);
    if (x) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) &&                            \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      return len + ((unsigned)__builtin_ctzll(x) >> 3);
#else
      break; /* the byte loop below finds the first difference */
#endif
    }
    len += 8;
  }
  while (len < limit && a[len] == b[len])
    len++;
  return len;
}

/* Bytes an extended length field takes after its token nibble: the value
 * v - 15 as 255s and a final byte < 255 (v >= 15). */
static inline size_t ext_size(size_t v) {
  return (v - NIBBLE_MAX) / 255 + 1;
}

static uint8_t *put_ext(uint8_t *op, size_t v) {
  v -= NIBBLE_MAX;
  while (v >= 255) {
    *op++ = 255;
    v -= 255;
  }
  *op++ = (uint8_t)v;
  return op;
}

/* Appends one sequence: lit literals from lits and, if mlen > 0, a match
 * of mlen bytes at offset off.  NULL if it does not fit in [op, oend). */
static uint8_t *put_sequence(uint8_t *op, const uint8_t *oend,
                             const uint8_t *lits, size_t lit, size_t off,
                             size_t mlen) {
  size_t need = 1 + lit + (lit >= NIBBLE_MAX ? ext_size(lit) : 0);
  size_t mcode = mlen - MIN_MATCH;
  if (mlen)
    need += 2 + (mcode >= NIBBLE_MAX ? ext_size(mcode) : 0);
  if (need > (size_t)(oend - op))
    return NULL;
  uint8_t *token = op++;
  unsigned t = (unsigned)(lit >= NIBBLE_MAX ? NIBBLE_MAX : lit) << 4;
  if (lit >= NIBBLE_MAX)
    op = put_ext(op, lit);
  memcpy(op, lits, lit);
  op += lit;
  if (mlen) {
    op[0] = (uint8_t)off;
    op[1] = (uint8_t)(off >> 8);
    op += 2;
    t |= mcode >= NIBBLE_MAX ? NIBBLE_MAX : (unsigned)mcode;
    if (mcode >= NIBBLE_MAX)
      op = put_ext(op, mcode);
  }
  *token = (uint8_t)t;
  return op;
}

size_t kidx__lz_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                         kidx__lz_scratch *scratch) {
  if (n > KIDX__LZ_MAX_INPUT || cap == 0)
    return 0;
  if (n == 0) {
    dst[0] = 0; /* one token: no literals, no match */
    return 1;
  }
  uint8_t *op = dst;
  const uint8_t *const oend = dst + cap;
  size_t anchor = 0; /* first byte not yet emitted */

  /* A match needs a literal before it (offset >= 1), 4 bytes, and 12
   * bytes from its start to the end: inputs under 13 bytes are literals. */
  if (n > MATCH_MARGIN) {
    uint32_t *table = scratch->table;
    const unsigned bits = table_bits(n);
    memset(table, 0, sizeof(uint32_t) << bits);
    const size_t start_limit = n - MATCH_MARGIN; /* last match start */
    const size_t end_limit = n - LAST_LITERALS;  /* matches end by here */
    size_t i = 1;
    /* Entry 0 is position 0, where every cleared entry points too. */
    for (;;) {
      /* Find a match starting at i: one probe per position tried. */
      size_t m, step = 1, misses = (size_t)1 << SKIP_SHIFT;
      for (;;) {
        if (i > start_limit)
          goto last_literals;
        uint32_t seq = load32(src + i);
        uint32_t h = hash4(seq, bits);
        m = table[h];
        table[h] = (uint32_t)i;
        if (i - m <= MAX_OFFSET && load32(src + m) == seq)
          break;
        i += step;
        step = misses++ >> SKIP_SHIFT;
      }
      /* Extend it backwards over pending literals, then forwards. */
      while (i > anchor && m > 0 && src[i - 1] == src[m - 1]) {
        i--;
        m--;
      }
      size_t mlen =
          MIN_MATCH + common_length(src + i + MIN_MATCH, src + m + MIN_MATCH,
                                    end_limit - i - MIN_MATCH);
      op = put_sequence(op, oend, src + anchor, i - anchor, i - m, mlen);
      if (!op)
        return 0;
      i += mlen;
      anchor = i;
      if (i > start_limit)
        break;
      /* Index a position inside the match, which helps the next search
       * on text with repeated phrases. */
      table[hash4(load32(src + i - 2), bits)] = (uint32_t)(i - 2);
    }
  }
last_literals:
  op = put_sequence(op, oend, src + anchor, n - anchor, 0, 0);
  return op ? (size_t)(op - dst) : 0;
}

/* ---------------------------------------------------------------------- */
/* Compressor with hash chains and lazy matching */

/* Chains link each position to the previous one with the same hash, as a
 * distance of 16 bits (0: none, or too far for an offset), in a ring of
 * 2^16 slots: every position a match may reach (65535 back) has its own
 * slot. */
#define CHAIN_MASK 0xFFFFu

/* A match this long is taken without looking one byte further. */
#define LAZY_ENOUGH 32u

/* Links positions [*next, upto) into their chains. */
static void hc_insert(const uint8_t *src, kidx__lz_hc_scratch *s, unsigned bits,
                      size_t *next, size_t upto) {
  for (size_t p = *next; p < upto; p++) {
    uint32_t h = hash4(load32(src + p), bits);
    size_t prev = s->head[h]; /* position + 1, 0 for none */
    size_t d = prev ? p + 1 - prev : 0;
    s->chain[p & CHAIN_MASK] = (uint16_t)(d <= MAX_OFFSET ? d : 0);
    s->head[h] = (uint32_t)(p + 1);
  }
  if (upto > *next)
    *next = upto;
}

/* The longest match for position i (all positions before it linked) among
 * at most depth candidates, no longer than limit bytes: its length (0 if
 * none of MIN_MATCH bytes) and *m, its start. */
static size_t hc_best(const uint8_t *src, const kidx__lz_hc_scratch *s,
                      unsigned bits, size_t i, size_t limit, unsigned depth,
                      size_t *m) {
  size_t best = 0;
  uint32_t head = s->head[hash4(load32(src + i), bits)];
  if (!head)
    return 0;
  size_t c = head - 1;
  uint32_t seq = load32(src + i);
  while (depth-- > 0 && i - c <= MAX_OFFSET) {
    /* A candidate can only beat the best so far if it agrees one byte
     * past it: a cheap test before the full comparison. */
    if ((best < MIN_MATCH || src[c + best] == src[i + best]) &&
        load32(src + c) == seq) {
      size_t len =
          MIN_MATCH + common_length(src + i + MIN_MATCH, src + c + MIN_MATCH,
                                    limit - MIN_MATCH);
      if (len > best) {
        best = len;
        *m = c;
        if (len == limit)
          break;
      }
    }
    size_t d = s->chain[c & CHAIN_MASK];
    if (d == 0 || d > c)
      break;
    c -= d;
  }
  return best;
}

size_t kidx__lz_compress_hc(const uint8_t *src, size_t n, uint8_t *dst,
                            size_t cap, kidx__lz_hc_scratch *scratch,
                            unsigned depth) {
  if (n > KIDX__LZ_MAX_INPUT || cap == 0)
    return 0;
  if (n == 0) {
    dst[0] = 0;
    return 1;
  }
  uint8_t *op = dst;
  const uint8_t *const oend = dst + cap;
  size_t anchor = 0;
  if (n > MATCH_MARGIN && depth > 0) {
    unsigned bits = table_bits(n);
    if (bits > KIDX__LZ_HC_HASH_BITS)
      bits = KIDX__LZ_HC_HASH_BITS;
    memset(scratch->head, 0, sizeof(uint32_t) << bits);
    const size_t start_limit = n - MATCH_MARGIN;
    const size_t end_limit = n - LAST_LITERALS;
    size_t next = 0, i = 1, m = 0;
    while (i <= start_limit) {
      hc_insert(src, scratch, bits, &next, i);
      size_t len = hc_best(src, scratch, bits, i, end_limit - i, depth, &m);
      if (len < MIN_MATCH) {
        i++;
        continue;
      }
      /* Lazy matching: while the match one byte later is longer, emit
       * this byte as a literal and take that one instead. */
      while (len < LAZY_ENOUGH && i + 1 <= start_limit) {
        size_t m2 = 0;
        hc_insert(src, scratch, bits, &next, i + 1);
        size_t len2 =
            hc_best(src, scratch, bits, i + 1, end_limit - i - 1, depth, &m2);
        if (len2 <= len)
          break;
        i++;
        len = len2;
        m = m2;
      }
      while (i > anchor && m > 0 && src[i - 1] == src[m - 1]) {
        i--;
        m--;
        len++;
      }
      op = put_sequence(op, oend, src + anchor, i - anchor, i - m, len);
      if (!op)
        return 0;
      i += len;
      anchor = i;
    }
  }
  op = put_sequence(op, oend, src + anchor, n - anchor, 0, 0);
  return op ? (size_t)(op - dst) : 0;
}

/* ---------------------------------------------------------------------- */
/* Decoder */

/* Adds the extension bytes of a length field to *len (which holds 15),
 * failing if the input ends first or the total would exceed cap. */
static int read_ext(const uint8_t **pp, const uint8_t *end, size_t *len,
                    size_t cap) {
  const uint8_t *p = *pp;
  size_t v = *len;
  if (v > cap)
    return -1;
  for (;;) {
    if (p == end)
      return -1;
    size_t b = *p++;
    if (b > cap - v)
      return -1;
    v += b;
    if (b != 255)
      break;
  }
  *pp = p;
  *len = v;
  return 0;
}

/* Copies a match of mlen bytes from op - off to op, where room bytes
 * (>= mlen) are writable from op.  The source may overlap the
 * destination (off < mlen): then bytes are copied in output order. */
static void copy_match(uint8_t *op, size_t off, size_t mlen, size_t room) {
  const uint8_t *m = op - off;
  uint8_t *const end = op + mlen;
  if (room - mlen >= 16 && off >= 16) {
    /* Each 16-byte chunk reads bytes written before it. */
    do {
      copy16(op, m);
      op += 16;
      m += 16;
    } while (op < end);
  } else if (room - mlen >= 8 && off >= 8) {
    do {
      copy8(op, m);
      op += 8;
      m += 8;
    } while (op < end);
  } else if (room - mlen >= 8) {
    /* off < 8: the output from op - off on repeats with period off, so
     * the byte d = off * k >= 8 back is the same as the byte off back.
     * Copy single bytes until d back is inside the repeat, then chunks
     * of 8 that read only bytes already written. */
    size_t d = off;
    while (d < 8)
      d += off;
    size_t head = d - off;
    for (size_t k = 0; k < head && op < end; k++, op++)
      *op = op[-(ptrdiff_t)off];
    while (op < end) {
      copy8(op, op - d);
      op += 8;
    }
  } else if (off >= mlen) {
    memcpy(op, m, mlen);
  } else {
    while (op < end) {
      *op = *m++;
      op++;
    }
  }
}

int kidx__lz_decompress(const uint8_t *src, size_t n, uint8_t *dst,
                        size_t dst_len) {
  kidx__lz_pos pos = {0, 0};
  return kidx__lz_decompress_upto(src, n, dst, dst_len, &pos, SIZE_MAX);
}

int kidx__lz_decompress_upto(const uint8_t *src, size_t n, uint8_t *dst,
                             size_t dst_len, kidx__lz_pos *pos, size_t want) {
  if (n == 0 || pos->in > n || pos->out > dst_len)
    return KIDX_ECORRUPT;
  if (dst_len == 0) /* the one encoding of nothing: a zero token */
    return n == 1 && src[0] == 0 ? KIDX_OK : KIDX_ECORRUPT;
  if (pos->out == dst_len && pos->in == n)
    return KIDX_OK; /* decoded already */

  const uint8_t *ip = src + pos->in;
  const uint8_t *const iend = src + n;
  uint8_t *op = dst + pos->out;
  uint8_t *const oend = dst + dst_len;

  for (;;) {
    /* Between sequences: stop here if enough is decoded (never before
     * the last sequence is reached, when want >= dst_len). */
    if ((size_t)(op - dst) >= want) {
      pos->in = (size_t)(ip - src);
      pos->out = (size_t)(op - dst);
      return KIDX_OK;
    }
    if (ip == iend)
      return KIDX_ECORRUPT;
    const unsigned token = *ip++;
    size_t lit = token >> 4;
    size_t mlen = token & 0x0Fu;

    /* Fast path: short literal run and short match with ample room in
     * both buffers (>= 32 bytes to read, >= 64 to write), so 16 literals
     * and 24 match bytes may be copied whatever the exact counts, and
     * neither length can break the end-of-block rules.  Such a sequence
     * cannot be the last one: bytes remain after its literals. */
    if (lit < NIBBLE_MAX && mlen < NIBBLE_MAX && iend - ip >= 32 &&
        oend - op >= 64) {
      copy16(op, ip);
      op += lit;
      ip += lit;
      size_t off = (size_t)ip[0] | (size_t)ip[1] << 8;
      ip += 2;
      if (off == 0 || off > (size_t)(op - dst))
        return KIDX_ECORRUPT;
      mlen += MIN_MATCH;
      const uint8_t *m = op - off;
      if (off >= 8) {
        copy8(op, m);
        copy8(op + 8, m + 8);
        copy8(op + 16, m + 16);
        op += mlen;
      } else {
        copy_match(op, off, mlen, (size_t)(oend - op));
        op += mlen;
      }
      continue;
    }

    /* Literals. */
    if (lit == NIBBLE_MAX && read_ext(&ip, iend, &lit, (size_t)(oend - op)))
      return KIDX_ECORRUPT;
    if (lit > (size_t)(iend - ip) || lit > (size_t)(oend - op))
      return KIDX_ECORRUPT;
    if ((size_t)(iend - ip) - lit >= 16 && (size_t)(oend - op) - lit >= 16) {
      uint8_t *const end = op + lit;
      while (op < end) {
        copy16(op, ip);
        op += 16;
        ip += 16;
      }
      ip -= op - end;
      op = end;
    } else {
      memcpy(op, ip, lit);
      op += lit;
      ip += lit;
    }
    if (ip == iend) { /* the last sequence: literals only, output complete */
      if (op != oend || mlen != 0)
        return KIDX_ECORRUPT;
      pos->in = n;
      pos->out = dst_len;
      return KIDX_OK;
    }

    /* Match: offset, end-of-block rules, length. */
    if (iend - ip < 2)
      return KIDX_ECORRUPT;
    size_t off = (size_t)ip[0] | (size_t)ip[1] << 8;
    ip += 2;
    if (off == 0 || off > (size_t)(op - dst))
      return KIDX_ECORRUPT;
    const size_t room = (size_t)(oend - op);
    if (room < MATCH_MARGIN)
      return KIDX_ECORRUPT;
    /* mlen + 4 <= room - 5 */
    if (mlen == NIBBLE_MAX &&
        read_ext(&ip, iend, &mlen, room - LAST_LITERALS - MIN_MATCH))
      return KIDX_ECORRUPT;
    mlen += MIN_MATCH;
    if (mlen > room - LAST_LITERALS)
      return KIDX_ECORRUPT;
    copy_match(op, off, mlen, room);
    op += mlen;
  }
}
