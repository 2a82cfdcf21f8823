/*
 * kidx_int.h -- the one private header of libkidx.
 *
 * It declares the interface between the library's files, one banner per
 * file, in dependency order: codecs and text analysis at the bottom, index
 * storage above them, search above that, the public API (writer.c,
 * reader.c) on top.  A file only calls into banners above its own.
 *
 * Conventions (see DEVELOPERS.md and doc/STYLE notes in README):
 *   - cross-file internals are named kidx__<module>_<verb>; everything else
 *     is static;
 *   - functions that can fail return int: KIDX_OK or a negative KIDX_E*;
 *   - byte spans are (const char *text, size_t len) and need not be
 *     NUL-terminated.
 */
#ifndef KIDX_INT_H
#define KIDX_INT_H

#include "kidx.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Size of the per-handle error message buffer. */
#define KIDX__ERRMSG_MAX 512

#if defined(__GNUC__) || defined(__clang__)
#define KIDX__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define KIDX__PRINTF(f, a)
#endif

/**************************************************************************
** Interface to code in status.c: status strings, version, error messages.
*/

/* Formats a message into buf (KIDX__ERRMSG_MAX bytes) and returns rc, so
 * that a failure site reads `return kidx__err(w->errmsg, KIDX_EIO, ...)`. */
int kidx__err(char *buf, int rc, const char *fmt, ...) KIDX__PRINTF(3, 4);

/* The same, followed by ": " and the description of the OS error err. */
int kidx__err_os(char *buf, int rc, int err, const char *fmt, ...)
    KIDX__PRINTF(4, 5);

/**************************************************************************
** Interface to code in buf.c: growable byte buffers and integer codecs.
*/

typedef struct kidx__buf {
  uint8_t *p; /* owned; NULL when cap == 0 */
  size_t n;   /* bytes used */
  size_t cap; /* bytes allocated */
} kidx__buf;

/* Ensures room for `extra` more bytes.  KIDX_OK or KIDX_ENOMEM (also on
 * size overflow); the buffer is unchanged on failure. */
int kidx__buf_reserve(kidx__buf *b, size_t extra);
int kidx__buf_append(kidx__buf *b, const void *data, size_t len);
int kidx__buf_put_u32(kidx__buf *b, uint32_t v); /* little-endian */
int kidx__buf_put_u64(kidx__buf *b, uint64_t v); /* little-endian */
/* LEB128-style variable-length unsigned integer: 7 bits per byte, low
 * group first, high bit set on every byte but the last. */
int kidx__buf_put_varint(kidx__buf *b, uint64_t v);
void kidx__buf_free(kidx__buf *b);

/* Decodes one varint from [*p, end).  Advances *p and returns 0, or
 * returns -1 (truncated, or more than 64 bits) leaving *p unchanged.
 * Inline for the one-byte case, the common one in postings tables and
 * term blocks; longer ones go to kidx__varint_get_slow. */
int kidx__varint_get_slow(const uint8_t **p, const uint8_t *end, uint64_t *out);
static inline int kidx__varint_get(const uint8_t **p, const uint8_t *end,
                                   uint64_t *out) {
  if (*p < end && **p < 0x80) {
    *out = *(*p)++;
    return 0;
  }
  return kidx__varint_get_slow(p, end, out);
}

/* Encodes v as a varint into out (at least 10 bytes); returns its length. */
size_t kidx__varint_encode(uint8_t *out, uint64_t v);

/* 64-bit hash of a byte string, for hash tables; never 0. */
uint64_t kidx__hash_bytes(const void *data, size_t len);

static inline uint32_t kidx__get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}
static inline uint64_t kidx__get_u64(const uint8_t *p) {
  return (uint64_t)kidx__get_u32(p) | ((uint64_t)kidx__get_u32(p + 4) << 32);
}
static inline void kidx__set_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static inline void kidx__set_u64(uint8_t *p, uint64_t v) {
  kidx__set_u32(p, (uint32_t)v);
  kidx__set_u32(p + 4, (uint32_t)(v >> 32));
}

/**************************************************************************
** Interface to code in crc32c.c: CRC-32C (Castagnoli), the checksum of
** every section of an index file.
*/

/* Continues a CRC-32C over [data, data+len).  Start with crc = 0.  Uses
 * the CPU's CRC-32C instruction when it has one (SSE 4.2, ARMv8 CRC):
 * 10-15 GB/s on inputs of 4 KiB and more on a 2.6 GHz x86-64 core (AMD
 * Zen 4), against 1-1.5 GB/s for the table code (bench/bench_crc.c). */
uint32_t kidx__crc32c(uint32_t crc, const void *data, size_t len);

/* The two implementations behind kidx__crc32c, for tests and benchmarks:
 * the portable table code, and the instruction -- which falls back to the
 * table code where kidx__crc32c_hw_available() is 0 (another CPU, or a
 * compiler or platform the instruction code does not support). */
uint32_t kidx__crc32c_sw(uint32_t crc, const void *data, size_t len);
uint32_t kidx__crc32c_hw(uint32_t crc, const void *data, size_t len);
int kidx__crc32c_hw_available(void);

/**************************************************************************
** Interface to code in lz.c: the LZ block codec for stored text (LZ4's
** block format; doc/FORMAT.md, "LZ block codec").  Blocks are independent:
** each decodes alone, given its exact decompressed length.  Pure functions
** of their arguments: no allocation, no state kept between calls.
*/

/* log2 of the compressor's largest hash table (entries of 4 bytes). */
#define KIDX__LZ_HASH_BITS 14u

/* Largest input kidx__lz_compress() accepts (positions fit 32 bits with
 * room to spare; stored-text blocks are far smaller). */
#define KIDX__LZ_MAX_INPUT ((size_t)0x7FFFFFFF)

/* The compressor's working memory: 64 KiB (4 << KIDX__LZ_HASH_BITS bytes).
 * Need not be initialised; one per thread, reusable across calls.  Heap or
 * static storage is better than a small thread stack. */
typedef struct kidx__lz_scratch {
  uint32_t table[(size_t)1 << KIDX__LZ_HASH_BITS];
} kidx__lz_scratch;

/* Worst-case compressed size of n bytes (n + n/255 + 16), or 0 if n >
 * KIDX__LZ_MAX_INPUT.  A dst of this capacity never makes compression
 * fail. */
size_t kidx__lz_bound(size_t n);

/* Compresses src[0..n) into dst[0..cap) and returns the compressed length
 * (>= 1; the empty input is the single byte 0).  Returns 0 only if the
 * result does not fit in cap (never when cap >= kidx__lz_bound(n)) or n >
 * KIDX__LZ_MAX_INPUT; dst's contents are then unspecified.  src and dst
 * must not overlap.  Deterministic: the same input gives the same bytes.
 * Cost: O(n), about one hash probe per input byte, plus clearing at most
 * 64 KiB of scratch (less for small inputs). */
size_t kidx__lz_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                         kidx__lz_scratch *scratch);

/* log2 of the hash-chain compressor's head table (entries of 4 bytes). */
#define KIDX__LZ_HC_HASH_BITS 15u

/* The hash-chain compressor's working memory: 192 KiB.  Need not be
 * initialised; one per thread, reusable across calls. */
typedef struct kidx__lz_hc_scratch {
  uint32_t head[(size_t)1 << KIDX__LZ_HC_HASH_BITS];
  uint16_t chain[(size_t)1 << 16];
} kidx__lz_hc_scratch;

/* As kidx__lz_compress (same block format, same contract), but searching
 * harder, as LZ4's high-compression mode does: every position is linked
 * into a chain of earlier positions with the same 4-byte hash, up to
 * depth of them are compared to find the longest match, and a match is
 * put off by a byte while the next position has a longer one (lazy
 * matching).  Smaller output on text, decompressed as fast.  Cost:
 * O(n depth) at worst, plus clearing at most 128 KiB. */
size_t kidx__lz_compress_hc(const uint8_t *src, size_t n, uint8_t *dst,
                            size_t cap, kidx__lz_hc_scratch *scratch,
                            unsigned depth);

/* Decompresses the block src[0..n) into dst, which must come out exactly
 * dst_len bytes long.  KIDX_OK, or KIDX_ECORRUPT for any block that is not
 * well-formed by doc/FORMAT.md (truncated, trailing bytes, a zero offset
 * or one before the start of the output, a length that overruns, broken
 * end-of-block rules, an output shorter or longer than dst_len).  Never
 * reads outside src[0..n) nor writes outside dst[0..dst_len), whatever
 * the input; on failure dst's contents are unspecified.  src and dst must
 * not overlap.  Cost: O(dst_len + n). */
int kidx__lz_decompress(const uint8_t *src, size_t n, uint8_t *dst,
                        size_t dst_len);

/* Where a resumable decompression stands: bytes of the block read and of
 * the output written, at a boundary between sequences.  {0, 0} to start. */
typedef struct kidx__lz_pos {
  size_t in, out;
} kidx__lz_pos;

/* Decompresses the block src[0..n) (of exactly dst_len output bytes, as
 * above) from *pos on, whole sequences at a time, until at least want
 * bytes of output are there (all of them, when want >= dst_len), and
 * updates *pos: the output's first pos->out bytes are then final.  A
 * later call with the same buffers continues.  KIDX_OK, or KIDX_ECORRUPT
 * for anything malformed in the part decoded (and, once decoding reaches
 * the end, for any rule kidx__lz_decompress checks); the same bounds
 * guarantees.  A block is only known well-formed once pos->out ==
 * dst_len.  Cost: O(bytes decoded), so reading the start of a block costs
 * a fraction of decoding it. */
int kidx__lz_decompress_upto(const uint8_t *src, size_t n, uint8_t *dst,
                             size_t dst_len, kidx__lz_pos *pos, size_t want);

/**************************************************************************
** Interface to code in utf8.c: decoding that accepts any bytes, and
** encoding.  Declared in kidx_utf8.h, which the kidx tool includes too.
*/

#include "kidx_utf8.h"

/**************************************************************************
** Interface to code in unicode.c: character properties, full case folding
** and canonical normalization from the Unicode Character Database 15.0
** (tables in unicode_tables.inc, generated by scripts/gen_unicode.py).
** Every function accepts any uint32_t: above U+10FFFF (KIDX__UTF8_INVALID
** included) and surrogates are separators with no mappings.  Pure
** functions over constant tables: no allocation, no state, thread-safe.
*/

/* Word classes, from the General Category except CJK. */
enum {
  KIDX__UC_SEPARATOR,    /* Z*, P*, S*, C*: space, punctuation, unassigned */
  KIDX__UC_LETTER,       /* L* (Hangul included), except CJK */
  KIDX__UC_MARK,         /* Mn, Mc, Me */
  KIDX__UC_DIGIT,        /* Nd */
  KIDX__UC_NUMBER_OTHER, /* Nl, No (Roman numerals, superscripts, ...) */
  KIDX__UC_CJK           /* written without spaces: index as bigrams */
};
/* Script classes: what diacritic folding needs to know about a base. */
enum {
  KIDX__UC_OTHER, /* every other script, Common and Inherited */
  KIDX__UC_LATIN,
  KIDX__UC_GREEK,
  KIDX__UC_CYRILLIC
};

/* Packed properties of cp; take them apart with the macros below.  CJK is
 * the Ideographic letters (Han, Tangut, Nushu, Khitan), the letters of
 * Hiragana and Katakana, and the kana marks of script Common: U+30FC,
 * U+3031..U+3035, U+303C, U+FF70, U+FF9E, U+FF9F, U+309B, U+309C.
 * KIDX__UC_NONSPACING: General Category Mn (higher bits are private). */
unsigned kidx__uc_props(uint32_t cp);
#define KIDX__UC_CCC(p)     (0xFFu & (p))      /* canonical combining class */
#define KIDX__UC_CLASS(p)   (((p) >> 8) & 7u)  /* KIDX__UC_SEPARATOR.. */
#define KIDX__UC_SCRIPT(p)  (((p) >> 11) & 3u) /* KIDX__UC_OTHER.. */
#define KIDX__UC_NONSPACING 0x2000u

/* Longest full canonical decomposition and full case folding of one code
 * point, and longest NFD(casefold(NFD(c))) of one c (checked against the
 * data when unicode.c is compiled). */
#define KIDX__UC_MAX_DECOMP    4
#define KIDX__UC_MAX_FOLD      3
#define KIDX__UC_MAX_EXPANSION 4

/* Full case folding (CaseFolding.txt C + F, not T) of cp into out; returns
 * the length, 1 with out[0] = cp when cp has none. */
size_t kidx__uc_casefold(uint32_t cp, uint32_t out[KIDX__UC_MAX_FOLD]);

/* Full canonical decomposition (Hangul included) of cp into out; returns
 * the length, 1 with out[0] = cp when cp has none. */
size_t kidx__uc_decompose(uint32_t cp, uint32_t out[KIDX__UC_MAX_DECOMP]);

/* The primary composite of starter + mark, or 0 if there is none. */
uint32_t kidx__uc_compose(uint32_t starter, uint32_t mark);

/* The normalizers below write at most cap code points to out, which must
 * not overlap in.  They return the length of the result, or, when that is
 * more than cap, the capacity to retry with (out then holds garbage).
 * cap >= n * KIDX__UC_MAX_EXPANSION always suffices.  Cost: linear, plus
 * quadratic in the length of a run of combining marks out of order. */
size_t kidx__uc_nfd(const uint32_t *in, size_t n, uint32_t *out, size_t cap);
size_t kidx__uc_nfc(const uint32_t *in, size_t n, uint32_t *out, size_t cap);

/* A word's search form: NFC of NFD(casefold(NFD(in))) (canonical caseless
 * match, Unicode 15 D145), so canonically equivalent or case-different
 * words come out equal.  With strip_diacritics, nonspacing marks (Mn) on a
 * Latin or Greek base are removed first ("Ünïcödé" -> "unicode", "ά" ->
 * "α"); marks on other scripts stay ("й" stays "й").  ø, ł, đ have no
 * decomposition and stay as they are. */
size_t kidx__uc_normalize(const uint32_t *in, size_t n, uint32_t *out,
                          size_t cap, int strip_diacritics);

/**************************************************************************
** Interface to code in stem.c: the Snowball English (Porter2) stemmer.
*/

/* Stems word[0..len) in place and returns the stem's length (<= len).
 * The word must already be case-folded; bytes outside a-z and the
 * apostrophe are treated as non-vowel letters, so any UTF-8 is safe.
 * Pure function: no allocation, no state. */
size_t kidx__stem_english(char *word, size_t len);

/**************************************************************************
** Interface to code in stopwords.c: the Snowball English stop-word list.
*/

/* Nonzero if the folded word[0..len) is an English stop word. */
int kidx__stopword_english(const char *word, size_t len);
size_t kidx__stopword_english_count(void);
const char *kidx__stopword_english_at(size_t i); /* sorted; NULL past end */

/**************************************************************************
** Interface to code in stemcache.c: word -> stem cache for the writer.
*/

typedef struct kidx__stemcache kidx__stemcache;

int kidx__stemcache_new(kidx__stemcache **out);
void kidx__stemcache_free(kidx__stemcache *c); /* NULL is a no-op */

/* Stems word[0..len) in place like kidx__stem_english, through cache c
 * (NULL: no cache); returns the stem's length.  *payload receives the
 * cache slot's payload word for this word (0 until the owner sets it), or
 * NULL when the word is not cached. */
size_t kidx__stemcache_stem(kidx__stemcache *c, char *word, size_t len,
                            uint32_t **payload);

/**************************************************************************
** Interface to code in analyze.c: the analysis pipeline shared by documents
** and queries.
*/

/* Analysis settings, stored in the index header (doc/FORMAT.md). */
#define KIDX__AN_STEM_ENGLISH    0x1u
#define KIDX__AN_STOP_ENGLISH    0x2u
#define KIDX__AN_FOLD_DIACRITICS 0x4u
#define KIDX__AN_ALL             0x7u
/* Not stored: report every word as written, with its position and
 * offsets, skipping normalisation, stop words and stemming (which do not
 * change positions).  What snippets need to place matched positions. */
#define KIDX__AN_OFFSETS 0x100u

typedef struct kidx__analyzer {
  unsigned flags;         /* KIDX__AN_* */
  kidx__stemcache *cache; /* optional, borrowed; not thread-safe */
} kidx__analyzer;

typedef struct kidx__token {
  const char *text; /* analysed term bytes, valid during the callback only */
  size_t len;       /* 1..KIDX_MAX_TOKEN_BYTES */
  size_t start;     /* byte offset of the word in the input */
  size_t end;       /* byte offset just past the word */
  uint32_t pos;     /* token position, counted from the caller's first_pos */
  uint32_t *slot;   /* the analyzer cache's payload for this word, or NULL
                       (see kidx__stemcache_stem) */
} kidx__token;

/* Returns 0 to continue, anything else to stop analysis with that value. */
typedef int (*kidx__token_fn)(void *ctx, const kidx__token *tok);

/* Analyses text[0..len) with an, calling fn for each token in order,
 * positions numbered from first_pos.  Returns 0, or the first nonzero value
 * fn returned.  If next_pos is not NULL it receives the position after the
 * last word. */
int kidx__analyze(const kidx__analyzer *an, const char *text, size_t len,
                  uint32_t first_pos, uint32_t *next_pos, kidx__token_fn fn,
                  void *ctx);

/**************************************************************************
** Interface to code in strmap.c: byte string -> uint32 map owning its keys.
*/

typedef struct kidx__strmap kidx__strmap;

int kidx__strmap_new(kidx__strmap **out);
void kidx__strmap_free(kidx__strmap *m); /* NULL is a no-op */
size_t kidx__strmap_count(const kidx__strmap *m);
/* Memory the map holds: its table and its keys. */
size_t kidx__strmap_bytes(const kidx__strmap *m);

/* 1 and *value if key is present, else 0. */
int kidx__strmap_get(const kidx__strmap *m, const char *key, size_t len,
                     uint32_t *value);

/* Sets key -> value.  *found says whether the key was there, and if so *old
 * receives its previous value. */
int kidx__strmap_upsert(kidx__strmap *m, const char *key, size_t len,
                        uint32_t value, uint32_t *old, int *found);

/* Looks key up, inserting it with new_value if absent; *value receives the
 * stored value and *key_off where the map's copy of the key lives (see
 * kidx__strmap_key_at; offsets stay valid, pointers do not). */
int kidx__strmap_intern(kidx__strmap *m, const char *key, size_t len,
                        uint32_t new_value, uint32_t *value, uint64_t *key_off);

/* The map's copy of a key; valid until the next insertion. */
const char *kidx__strmap_key_at(const kidx__strmap *m, uint64_t key_off);

/**************************************************************************
** Interface to code in postings.c: the postings list codec.
*/

/* Appends one document's entry to b (lists of the in-memory batch).  base is 0
 * for a list's first entry, else the previous entry's doc + 1; pos holds the tf
 * positions in increasing order, of which the first tf_title are in the title.
 */
int kidx__postings_put(kidx__buf *b, uint64_t base, uint32_t doc,
                       const uint32_t *pos, uint32_t tf, uint32_t tf_title);

/* A cursor over one list as the batch builds it.  Plain struct so it can
 * live on the stack or in an array; all fields are private to postings.c. */
typedef struct kidx__postings {
  const uint8_t *p, *end;
  uint32_t left;      /* entries not yet decoded */
  uint64_t doc_limit; /* document numbers must be < doc_limit */
  uint64_t next_base; /* previous doc + 1 */
  uint32_t doc;       /* current document */
  uint32_t tf;        /* its term frequency */
  uint32_t tf_title;  /* how many of those are in the title */
  const uint8_t *pos; /* its encoded positions */
  int pos_read;       /* positions already consumed */
} kidx__postings;

void kidx__postings_init(kidx__postings *c, const uint8_t *data, size_t len,
                         uint32_t df, uint64_t doc_limit);

/* Moves to the next entry: 1 (c->doc and c->tf are set), 0 at the end, or
 * KIDX_ECORRUPT if the list is malformed (out-of-order or out-of-range
 * documents, zero tf, a list longer or shorter than df). */
int kidx__postings_next(kidx__postings *c);

/* Decodes the current entry's c->tf positions into out.  Call at most once
 * per entry, before the next kidx__postings_next(). */
int kidx__postings_positions(kidx__postings *c, uint32_t *out);

/**************************************************************************
** Interface to code in postblock.c: the postings codec of segment files,
** in blocks of KIDX__BLOCK documents with a table of per-block skip and
** score-bound data (doc/FORMAT.md, "Postings").
*/

#define KIDX__NFIELDS 2 /* 0: title, 1: body */

/* A hint to fetch the cache line at p, which need not be mapped (a
 * prefetch never faults); nothing where the compiler has no such
 * builtin. */
#if defined(__GNUC__) || defined(__clang__)
#define KIDX__PREFETCH(p) __builtin_prefetch(p)
#else
#define KIDX__PREFETCH(p) ((void)(p))
#endif

/* Documents per block: the unit of decoding, skipping and score bounds
 * (Lucene, tantivy and PISA use 128 too: large enough for bit packing to
 * pay, small enough that a bound is tight and a skip is fine-grained). */
#define KIDX__BLOCK 128u

/* Ranking models (indexed by kidx_rank) and their defaults, which
 * kidx_search_options_init sets and block bounds precompute. */
#define KIDX__NMODELS              2
#define KIDX__DEFAULT_K1           1.2
#define KIDX__DEFAULT_B            0.75
#define KIDX__DEFAULT_TITLE_WEIGHT 2.0
#define KIDX__DEFAULT_BODY_WEIGHT  1.0

/* What bounds the score of a term in any document of a block (or list):
 * per field f, the largest tf_f, and the (len_f, tf_f) pair of smallest
 * len_f / tf_f; max_tf[f] == 0 when no document has the term in f. */
typedef struct kidx__pbound {
  uint32_t max_tf[KIDX__NFIELDS];
  uint32_t len[KIDX__NFIELDS];
  uint32_t tf[KIDX__NFIELDS];
  /* Per ranking model (index: kidx_rank), the largest combined frequency
   * tfc = sum_f w_f tf_f / B_f of the documents, with the default field
   * weights and b (KIDX__DEFAULT_*) and the segment's own average field
   * lengths, rounded up to a 16-bit float (kidx__tfc_encode): nearly exact
   * where the pairs above bound each field apart, from possibly different
   * documents. */
  uint16_t tfc_max[KIDX__NMODELS];
} kidx__pbound;

/* The 16-bit floats of tfc_max: 6 bits of exponent e, 10 of mantissa m,
 * for (1 + m / 1024) * 2^(e - 32); e = 63 is +infinity.  Encoding rounds
 * up (a bound stays a bound) and is monotone, so that the larger code is
 * the larger value; x must be >= 0 and not NaN. */
uint16_t kidx__tfc_encode(double x);
/* The bound of a list that stores none (a list of one block, doc/FORMAT.md):
 * it bounds any document -- every field may have any tf (max_tf the
 * largest), len / tf >= 1 always, tfc_max infinite -- so kidx__scorer_bound
 * gives the term's largest possible score. */
void kidx__pbound_open(kidx__pbound *b);
double kidx__tfc_decode(uint16_t code);

/* The parameters tfc_max assumes: the default ranking parameters and one
 * segment's average field lengths (kidx__pmodels_init in score.c). */
typedef struct kidx__pmodels kidx__pmodels;

void kidx__pbound_clear(kidx__pbound *b);
/* Adds one document with tf[f] occurrences in field f of len[f] terms
 * (tf[0] + tf[1] > 0), for the models pm. */
void kidx__pbound_add(kidx__pbound *b, const kidx__pmodels *pm,
                      const uint32_t tf[KIDX__NFIELDS],
                      const uint32_t len[KIDX__NFIELDS]);
/* into := the bound of the union of what into and b describe. */
void kidx__pbound_merge(kidx__pbound *into, const kidx__pbound *b);
int kidx__pbound_equal(const kidx__pbound *a, const kidx__pbound *b);

/* Builds one list: entries are added in increasing document order, then
 * kidx__pwriter_finish() leaves the list in four parts to be written one
 * after the other: head, table, docs, pos. */
typedef struct kidx__pwriter {
  kidx__buf head, table, docs, pos;
  uint32_t df;
  /* the block being filled */
  uint32_t n;
  uint32_t doc[KIDX__BLOCK], tf[KIDX__BLOCK], title[KIDX__BLOCK];
  uint64_t base;  /* last document of the previous block + 1 */
  size_t blk_pos; /* where the block's positions start in pos */
  uint32_t *pv;   /* the block's position values, before encoding */
  size_t npv, pv_cap;
  kidx__pbound blk_bound, list_bound;
  const kidx__pmodels *models; /* the segment's, set by the caller */
} kidx__pwriter;

/* models: the parameters of the bounds' tfc_max, the written segment's
 * (kidx__pmodels_init); they must outlive w. */
void kidx__pwriter_init(kidx__pwriter *w, const kidx__pmodels *models);
void kidx__pwriter_free(kidx__pwriter *w);
/* Empties w for the next list, keeping its buffers. */
void kidx__pwriter_reset(kidx__pwriter *w);
/* Appends document doc with its tf positions (increasing; the first
 * tf_title in the title) and its field lengths len (for the bounds).
 * KIDX_OK or KIDX_ENOMEM. */
int kidx__pwriter_add(kidx__pwriter *w, uint32_t doc, const uint32_t *pos,
                      uint32_t tf, uint32_t tf_title,
                      const uint32_t len[KIDX__NFIELDS]);
int kidx__pwriter_finish(kidx__pwriter *w);
/* Bytes of the finished list. */
uint64_t kidx__pwriter_size(const kidx__pwriter *w);

/* Vouches for bytes [p, p + len) of a list before a cursor reads them
 * (segment lists: the pages' checksums, kidx__segment_postings_check):
 * KIDX_OK, or nonzero when they must not be used. */
typedef int (*kidx__pcur_check_fn)(const void *ctx, const uint8_t *p,
                                   size_t len);

/* A cursor over one list of a segment file.  The fields documented here
 * may be read; the others are private to postblock.c. */
typedef struct kidx__pcur {
  /* the current entry, after kidx__pcur_next/advance returned 1 */
  uint32_t doc, tf, tf_title;
  /* the bound of the whole list (valid after init) */
  kidx__pbound list_bound;
  /* the current block, after kidx__pcur_shallow returned 1: its last
   * document and its bound */
  uint64_t last;
  kidx__pbound blk_bound;

  const uint8_t *tp, *tend;   /* next table entry, table end */
  const uint8_t *docs, *poss; /* document and position regions */
  const uint8_t *end;         /* end of the list */
  uint32_t df, nblocks, blk;  /* blk: current block (nblocks: end) */
  int loaded, decoded;        /* blk's entry read, its data decoded */
  uint64_t doc_limit, base;   /* base: first possible doc of blk */
  uint64_t doc_off, pos_off;  /* blk's data in the regions */
  uint32_t doc_len, pos_len;
  uint32_t n, i; /* entries in blk, current one */
  /* positions of the current block: values [pv_off, ...) are entry
   * pp_i's; chunk pc_k is decoded in pc_a, the next one starts at pp */
  const uint8_t *pp, *pbeg, *pend;
  uint32_t pp_i;
  uint64_t pv_off, pv_total;
  uint64_t pc_k, pc_next;
  uint32_t pc_a[KIDX__BLOCK];
  int strict;                /* kidx__pcur_init_strict */
  kidx__pcur_check_fn check; /* kidx__pcur_init_checked, else NULL */
  const void *check_ctx;
  int pchecked;            /* the decoded block's positions were vouched for */
  const uint8_t *table_ok; /* the table is vouched for up to here */
  /* the decoded block's frequencies: decoded (freqs), or where they are
   * (fp..fend, title width fwh) for a lazy cursor */
  int lazy, freqs;
  const uint8_t *fp, *fend;
  unsigned fwh;
  uint32_t docs_a[KIDX__BLOCK], tf_a[KIDX__BLOCK], title_a[KIDX__BLOCK];
  /* the decoded block's number and bound (blk and blk_bound describe the
   * table entry loaded last, which kidx__pcur_shallow may have moved on) */
  uint32_t dec_blk;
  kidx__pbound dec_bound;
  uint64_t dec_base;    /* the decoded block's base (check's strict cursor) */
  uint64_t single_last; /* a list of one block: its last document */
} kidx__pcur;

/* Reads the list's head.  KIDX_ECORRUPT if it is malformed. */
int kidx__pcur_init(kidx__pcur *c, const uint8_t *data, size_t len, uint32_t df,
                    uint64_t doc_limit);
/* The same for a list whose bytes are not yet known to be sound: the
 * cursor has check(ctx, ...) vouch for each part of the list before it
 * reads it, as it first reaches it -- the head here, then a block's table
 * entry, its document data and its positions -- so that what a search
 * skips (blocks passed by the table, the positions of a query without
 * phrases) is never checked, and nothing is read unchecked.  A refusal is
 * KIDX_ECORRUPT from the call that met it.  Cost: one call of check per
 * part read.  Such a cursor is also lazy: it decodes a block's
 * frequencies only when asked (kidx__pcur_freqs), so c->tf and
 * c->tf_title are valid only after that call for the current entry. */
int kidx__pcur_init_checked(kidx__pcur *c, const uint8_t *data, size_t len,
                            uint32_t df, uint64_t doc_limit,
                            kidx__pcur_check_fn check, const void *ctx);
/* The same for check.c: every part of the list must also be encoded
 * exactly as the writer would (shortest varints, the writer's widths),
 * so that no byte can change without changing what the list says. */
int kidx__pcur_init_strict(kidx__pcur *c, const uint8_t *data, size_t len,
                           uint32_t df, uint64_t doc_limit);
/* Moves to the next entry: 1, 0 at the end, or KIDX_ECORRUPT. */
int kidx__pcur_next(kidx__pcur *c);
/* Moves to the first entry >= target, staying on the current one if it is
 * (never back): 1, 0 at the end, or KIDX_ECORRUPT.  Blocks that end
 * before target are passed without being decoded. */
int kidx__pcur_advance(kidx__pcur *c, uint64_t target);
/* Moves the block pointer only, to the block that may hold target (its
 * last document >= target), without decoding it: 1 (c->last and
 * c->blk_bound describe it), 0 when no block is left, KIDX_ECORRUPT.
 * The next kidx__pcur_next/advance continues from that block. */
int kidx__pcur_shallow(kidx__pcur *c, uint64_t target);
/* Decodes the current entry's c->tf positions into out. */
int kidx__pcur_positions(kidx__pcur *c, uint32_t *out);
/* Makes c->tf and c->tf_title those of the current entry, decoding its
 * block's frequencies if the cursor is lazy and has not yet: KIDX_OK, or
 * KIDX_ECORRUPT if they do not decode. */
int kidx__pcur_freqs(kidx__pcur *c);
/* For full verification (check.c): after the positions of every entry of
 * the current block were read, whether they filled its region exactly;
 * after the end of the list, whether table and regions were exactly
 * used. */
int kidx__pcur_block_done(kidx__pcur *c);
int kidx__pcur_list_done(const kidx__pcur *c);
/* Whether the list stores its bounds (more than one block); a list of one
 * block has the open bound (kidx__pbound_open) in list_bound and
 * blk_bound. */
static inline int kidx__pcur_has_bounds(const kidx__pcur *c) {
  return c->nblocks > 1;
}

/**************************************************************************
** Interface to code in fs.c: locking, mapping, durable writes.
*/

/* dir + "/" + name, malloc'ed; NULL when out of memory. */
char *kidx__path_join(const char *dir, const char *name);

/* Creates directory dir unless it exists. */
int kidx__fs_mkdir(const char *dir, char *errmsg);

/* Takes an exclusive lock on path (created if needed) without waiting;
 * KIDX_EBUSY if another handle holds it.  Release with kidx__fs_unlock. */
int kidx__fs_lock(const char *path, int *fd, char *errmsg);
void kidx__fs_unlock(int fd);

/* A read-only mapping of a whole file. */
typedef struct kidx__map {
  const uint8_t *data; /* NULL for an empty file */
  size_t size;
} kidx__map;

/* Maps path read-only; KIDX_ENOINDEX if it does not exist. */
int kidx__fs_map(const char *path, kidx__map *m, char *errmsg);
void kidx__fs_unmap(kidx__map *m);
/* Gives back the resident pages of a mapping (they are read again from
 * the file when next touched): bounds the memory of long sequential
 * passes over mapped files. */
void kidx__fs_map_release(const kidx__map *m);

/* Calls fn(ctx, name) for every entry of dir but "." and "..".  KIDX_OK
 * or KIDX_EIO. */
int kidx__fs_list(const char *dir, void (*fn)(void *ctx, const char *name),
                  void *ctx, char *errmsg);

/* An entry of a table of page checksums (segment file sections 8 and 9,
 * doc/FORMAT.md): entry i is the u32 CRC-32C of page i.  Built by
 * kidx__wfile below and segwrite.c, read by segment.c. */
#define KIDX__PAGESUM_SIZE 4u
_Static_assert(KIDX__PAGESUM_SIZE == sizeof(uint32_t), "page checksum entry");
static inline void kidx__pagesum_set(uint8_t *table, uint64_t i, uint32_t crc) {
  kidx__set_u32(table + i * KIDX__PAGESUM_SIZE, crc);
}
static inline uint32_t kidx__pagesum_get(const uint8_t *table, uint64_t i) {
  return kidx__get_u32(table + i * KIDX__PAGESUM_SIZE);
}
/* Appends one entry to a table being built.  KIDX_OK or KIDX_ENOMEM. */
static inline int kidx__pagesum_put(kidx__buf *table, uint32_t crc) {
  if (kidx__buf_reserve(table, KIDX__PAGESUM_SIZE))
    return KIDX_ENOMEM;
  kidx__pagesum_set(table->p + table->n, 0, crc);
  table->n += KIDX__PAGESUM_SIZE;
  return KIDX_OK;
}

/* A new file written through a buffer, with a running CRC-32C of what was
 * written since the caller last reset `crc`.  Errors are sticky in rc and
 * reported in errmsg, naming the file. */
typedef struct kidx__wfile {
  int fd;
  const char *path; /* borrowed */
  char *errmsg;     /* borrowed, KIDX__ERRMSG_MAX bytes */
  kidx__buf buf;
  uint64_t offset; /* bytes written so far (buffered included) */
  uint32_t crc;
  int rc;
  /* Page checksums (segment files): when pages is set, the CRC-32C of
   * every KIDX__PAGE_SIZE bytes written since kidx__wfile_pages_begin is
   * appended to it (kidx__pagesum_put). */
  kidx__buf *pages;
  uint32_t page_crc;
  uint64_t page_fill;
} kidx__wfile;

int kidx__wfile_open(kidx__wfile *f, const char *path, char *errmsg);
int kidx__wfile_write(kidx__wfile *f, const void *data, size_t len);
/* Writes at an absolute offset (after flushing), e.g. a header placeholder;
 * does not touch crc or offset. */
int kidx__wfile_pwrite(kidx__wfile *f, uint64_t offset, const void *data,
                       size_t len);
/* Starts a new run of pages (a section) with the checksums going to
 * pages; kidx__wfile_pages_end appends the CRC of the last, partial page
 * (if any) and stops.  KIDX_OK or KIDX_ENOMEM (sticky). */
void kidx__wfile_pages_begin(kidx__wfile *f, kidx__buf *pages);
int kidx__wfile_pages_end(kidx__wfile *f);
/* keep != 0: flush and fsync, keeping the file; keep == 0 or any error:
 * close and delete it.  Returns the sticky status. */
int kidx__wfile_close(kidx__wfile *f, int keep);

/* Renames tmp over path and fsyncs dir, making the new file durable.
 * *renamed says whether the rename happened: a failure after it (of the
 * directory's fsync) leaves the new file visible but maybe not durable. */
int kidx__fs_publish(const char *tmp, const char *path, const char *dir,
                     int *renamed, char *errmsg);
int kidx__fs_exists(const char *path);
int kidx__fs_remove(const char *path);

/**************************************************************************
** Shared record types: one term's postings and one document's fields, as
** handed out by memindex.c and segment.c alike.
*/

typedef struct kidx__term {
  const char *text; /* term bytes (borrowed) */
  size_t len;
  uint32_t df;         /* documents in the list */
  const uint8_t *post; /* encoded postings (borrowed) */
  size_t post_len;
} kidx__term;

typedef struct kidx__docinfo {
  const char *id; /* borrowed */
  size_t id_len;
  const char *title; /* borrowed */
  size_t title_len;
  const char *body; /* borrowed: the stored text */
  size_t body_len;
  uint32_t title_tokens; /* terms indexed from the title */
  uint32_t body_tokens;  /* terms indexed from the body */
  kidx_stamp stamp;      /* the caller's source stamp (zeros: none) */
  int deleted;
} kidx__docinfo;

/* Positions: the title's words are numbered from 0, the body's from one
 * past the title's end (a gap, so no phrase spans both fields).  Given the
 * position after the title's last word, the body's first position. */
static inline uint32_t kidx__body_first_pos(uint32_t title_end) {
  return title_end + 1;
}

/* Bytewise comparison of two terms (memcmp order, shorter first on a
 * common prefix): the order of the term dictionary. */
int kidx__term_cmp(const char *a, size_t alen, const char *b, size_t blen);

/**************************************************************************
** Interface to code in memindex.c: the batch being built in memory.
*/

typedef struct kidx__memindex kidx__memindex;

/* A new, empty batch analysing documents with the KIDX__AN_* flags. */
int kidx__memindex_new(kidx__memindex **out, unsigned an_flags);
void kidx__memindex_free(kidx__memindex *mi); /* NULL is a no-op */

/* Analyses and adds a document as the batch's next document number.  If
 * the batch already had a live document with this id, it is marked deleted
 * and its number returned in *replaced (else UINT32_MAX).  On failure the
 * batch is unchanged, except after a failure half-way through writing
 * postings, which makes kidx__memindex_status() return it forever. */
int kidx__memindex_add(kidx__memindex *mi, const char *id, size_t id_len,
                       const char *title, size_t title_len, const char *body,
                       size_t body_len, const kidx_stamp *stamp,
                       uint32_t *replaced);

/* The batch's live document with this id: 1 and *doc, or 0. */
int kidx__memindex_find(const kidx__memindex *mi, const char *id, size_t id_len,
                        uint32_t *doc);

/* Replaces the stamp of the batch's document doc. */
void kidx__memindex_restamp(kidx__memindex *mi, uint32_t doc,
                            const kidx_stamp *stamp);

/* Marks the batch's live document with this id deleted; KIDX_ENOTFOUND if
 * there is none. */
int kidx__memindex_delete(kidx__memindex *mi, const char *id, size_t id_len);

int kidx__memindex_status(const kidx__memindex *mi);
/* Memory the batch has taken since it was created empty (allocated
 * capacity, the documents' text included): what the writer's RAM budget
 * is compared with.  The empty batch's tables and the stem cache, fixed in
 * size (about 1 MiB together), are not counted. */
size_t kidx__memindex_bytes(const kidx__memindex *mi);
uint32_t kidx__memindex_ndocs(const kidx__memindex *mi);
void kidx__memindex_doc(const kidx__memindex *mi, uint32_t doc,
                        kidx__docinfo *out);

/* All terms with at least one posting, sorted by kidx__term_cmp, in a
 * malloc'ed array the caller frees.  Pointers inside stay valid until the
 * batch is changed or freed. */
int kidx__memindex_terms(const kidx__memindex *mi, kidx__term **out,
                         size_t *count);

/**************************************************************************
** Interface to code in segment.c (reading) and segwrite.c (writing): a
** segment file, format version 14, specified in doc/FORMAT.md.
*/

/* The version in a segment file's header: 14 since a list of one block has
 * no table and no bound, small blocks are varints, and the per-document
 * tables are compact (document lengths and key offsets in the widths
 * their largest values need, the id table as document numbers with a
 * sample of hashes); 13: key records leave out an empty stamp; 12: the
 * stored text compressed in blocks; 11: score bounds with the largest
 * combined frequency under the default parameters; 10: sections covered
 * by page checksums verified when first read; 9: postings in blocks with
 * score bounds and whole-section checksums verified at open. */
#define KIDX__SEGMENT_VERSION 14u
/* Identifies the version of the analysis code the terms were produced with
 * (segmentation rules, Unicode tables, stemmer).  A query must be analysed
 * the same way as the documents, so an index from other analysis code is
 * refused ("rebuild the index") rather than searched with wrong terms. */
#define KIDX__ANALYSIS_VERSION 2u
#define KIDX__HEADER_SIZE      256u
/* Sections are checksummed in pages of 2^KIDX__PAGE_SHIFT bytes (the last
 * page of a section may be shorter): the unit of lazy verification.  32
 * KiB: a CRC per page costs 1/8192 of the file, and verifying a page on
 * first touch (about 3 us with the CRC instruction) is small next to
 * reading it from disk. */
#define KIDX__PAGE_SHIFT 15u
#define KIDX__PAGE_SIZE  ((uint64_t)1 << KIDX__PAGE_SHIFT)
/* Terms per dictionary block: each block starts with a whole term (a
 * binary-search key) and codes the others by their prefix shared with the
 * previous one.  16 keeps a lookup's scan short while the index stays
 * small (one 16-byte index entry per 16 terms). */
#define KIDX__TERM_BLOCK 16u
#define KIDX__LOCK_FILE  "write.lock"
/* Stored text is cut into blocks of whole records, each compressed alone
 * (doc/FORMAT.md, "Section 4"): a record starts a new block when adding
 * it would take the block's raw text past KIDX__TEXT_BLOCK bytes (a
 * record larger than that gets a block of its own).  64 KiB is the LZ
 * codec's whole window, so a block never loses history it could use; a
 * snippet decompresses one block up to its record, about 12 us on average
 * at the codec's GB/s. */
#define KIDX__TEXT_BLOCK ((size_t)64 << 10)
/* Chain depth of the text blocks' compressor (kidx__lz_compress_hc).  On
 * the kernel documentation in 64 KiB blocks the greedy compressor stores
 * 46.1% of the text at ~300 MB/s; chains of 4, 8, 16, 64 and 256 store
 * 40.0, 39.1, 38.6, 38.2 and 38.1% at 84, 94, 75, 52 and 39 MB/s (on the
 * synthetic Zipfian corpus: 69.0% greedy; 61.5, 60.0, 59.0, 58.1, 57.7%
 * at 73, 61, 47, 33, 23 MB/s).  16 takes most of the gain at a speed
 * well above indexing's (10-20 MB/s). */
#define KIDX__TEXT_LZ_DEPTH 16u
/* Entries of the text block table (section 5): u64 offset of the block in
 * section 4, u64 its raw length, u32 its first document. */
#define KIDX__TEXTBLOCK_ENTRY 20u

enum {
  KIDX__SEC_POSTINGS,
  KIDX__SEC_TERMS,
  KIDX__SEC_TERMINDEX,
  KIDX__SEC_DOCLENS,
  KIDX__SEC_DOCDATA,  /* stored text, in compressed blocks */
  KIDX__SEC_DOCTABLE, /* key offsets, then the text block table */
  KIDX__SEC_IDS,
  KIDX__SEC_KEYS,
  KIDX__SEC_PAGESUMS,  /* CRC of every page of sections 0..7 */
  KIDX__SEC_PAGEINDEX, /* CRC of every page of section 8 */
  KIDX__SEC_COUNT
};
/* Sections whose pages are checksummed (all but the page index, which is
 * checksummed whole in the header). */
#define KIDX__SEC_PAGED KIDX__SEC_PAGEINDEX

extern const uint8_t kidx__magic[8];

/* ---- fixed-size records of a segment file: the one place each layout is
 * written down (doc/FORMAT.md names the same fields).  Every reader and
 * writer goes through these codecs; none uses a bare offset. ---- */

/* The header: byte offsets of its fields. */
enum {
  KIDX__HDR_MAGIC = 0,           /* 8 bytes: kidx__magic */
  KIDX__HDR_VERSION = 8,         /* u32: format version */
  KIDX__HDR_ANALYSIS = 12,       /* u32: analysis version */
  KIDX__HDR_NSECTIONS = 16,      /* u32: section count */
  KIDX__HDR_AN_FLAGS = 20,       /* u32: analysis settings, KIDX__AN_* */
  KIDX__HDR_FILE_SIZE = 24,      /* u64: file size in bytes */
  KIDX__HDR_NDOCS = 32,          /* u64: N, documents */
  KIDX__HDR_NTERMS = 40,         /* u64: T, distinct terms */
  KIDX__HDR_NTOKENS = 48,        /* u64: tokens of all documents */
  KIDX__HDR_TITLE_TOKENS = 56,   /* u64: of those, the titles' */
  KIDX__HDR_SECTABLE = 64,       /* KIDX__SEC_COUNT section entries */
  KIDX__HDR_TITLE_BYTES = 224,   /* u64: the key records' title parts */
  KIDX__HDR_TITLE_WIDTH = 232,   /* u8: bytes of a title length, section 3 */
  KIDX__HDR_BODY_WIDTH = 233,    /* u8: bytes of a body length, section 3 */
  KIDX__HDR_KEYOFF_WIDTH = 234,  /* u8: bytes of a key offset, section 5 */
  KIDX__HDR_RESERVED = 235,      /* zeros up to the next field */
  KIDX__HDR_PAGEINDEX_CRC = 248, /* u32: CRC-32C of section 9 */
  KIDX__HDR_CRC = 252            /* u32: CRC-32C of the bytes before it */
};
/* A section table entry. */
enum {
  KIDX__SECENTRY_OFFSET = 0, /* u64: from the start of the file */
  KIDX__SECENTRY_LENGTH = 8, /* u64 */
  KIDX__SECENTRY_SIZE = 16
};
/* Each field ends where the next begins, and the last ends the header. */
_Static_assert(sizeof kidx__magic == KIDX__HDR_VERSION - KIDX__HDR_MAGIC,
               "header: magic");
_Static_assert(KIDX__HDR_ANALYSIS == KIDX__HDR_VERSION + 4 &&
                   KIDX__HDR_NSECTIONS == KIDX__HDR_ANALYSIS + 4 &&
                   KIDX__HDR_AN_FLAGS == KIDX__HDR_NSECTIONS + 4 &&
                   KIDX__HDR_FILE_SIZE == KIDX__HDR_AN_FLAGS + 4,
               "header: u32 fields");
_Static_assert(KIDX__HDR_NDOCS == KIDX__HDR_FILE_SIZE + 8 &&
                   KIDX__HDR_NTERMS == KIDX__HDR_NDOCS + 8 &&
                   KIDX__HDR_NTOKENS == KIDX__HDR_NTERMS + 8 &&
                   KIDX__HDR_TITLE_TOKENS == KIDX__HDR_NTOKENS + 8 &&
                   KIDX__HDR_SECTABLE == KIDX__HDR_TITLE_TOKENS + 8,
               "header: u64 fields");
_Static_assert(KIDX__SECENTRY_LENGTH == KIDX__SECENTRY_OFFSET + 8 &&
                   KIDX__SECENTRY_SIZE == KIDX__SECENTRY_LENGTH + 8,
               "section table entry");
_Static_assert(KIDX__HDR_TITLE_BYTES ==
                   KIDX__HDR_SECTABLE + KIDX__SEC_COUNT * KIDX__SECENTRY_SIZE,
               "header: section table");
_Static_assert(KIDX__HDR_TITLE_WIDTH == KIDX__HDR_TITLE_BYTES + 8,
               "header: title bytes");
_Static_assert(KIDX__HDR_BODY_WIDTH == KIDX__HDR_TITLE_WIDTH + 1 &&
                   KIDX__HDR_KEYOFF_WIDTH == KIDX__HDR_BODY_WIDTH + 1 &&
                   KIDX__HDR_RESERVED == KIDX__HDR_KEYOFF_WIDTH + 1,
               "header: u8 widths");
_Static_assert(KIDX__HDR_RESERVED <= KIDX__HDR_PAGEINDEX_CRC &&
                   KIDX__HDR_CRC == KIDX__HDR_PAGEINDEX_CRC + 4 &&
                   KIDX__HEADER_SIZE == KIDX__HDR_CRC + 4,
               "header: checksums end it");

/* A header's fields, decoded. */
typedef struct kidx__seghdr {
  uint32_t version;   /* KIDX__SEGMENT_VERSION when written */
  uint32_t analysis;  /* KIDX__ANALYSIS_VERSION when written */
  uint32_t nsections; /* KIDX__SEC_COUNT when written */
  uint32_t an_flags;  /* KIDX__AN_* */
  uint64_t file_size, ndocs, nterms, ntokens, title_tokens;
  uint64_t sec_off[KIDX__SEC_COUNT], sec_len[KIDX__SEC_COUNT];
  uint64_t title_bytes; /* stored titles in section 7, length prefixes too */
  /* Bytes per field of a document's lengths in section 3 (1, 2 or 4 when
   * written), and per key offset in section 5 (4 or 8). */
  uint8_t doclen_width[KIDX__NFIELDS];
  uint8_t keyoff_width;
  uint32_t pageindex_crc;
  uint32_t crc; /* the header's own CRC as stored (decode only) */
  int magic_ok; /* decode: the bytes start with kidx__magic */
  int crc_ok;   /* decode: crc is the CRC-32C of the bytes before it */
} kidx__seghdr;

/* Writes h into out with the magic, zero reserved bytes and the header
 * CRC (h->crc, magic_ok and crc_ok are not read). */
void kidx__seghdr_encode(const kidx__seghdr *h, uint8_t out[KIDX__HEADER_SIZE]);
/* Reads every field of the header in[0..KIDX__HEADER_SIZE) into *h and
 * says whether its magic and CRC hold; validating the fields (versions,
 * sizes, sections within the file) is kidx__segment_open's business. */
void kidx__seghdr_decode(kidx__seghdr *h, const uint8_t in[KIDX__HEADER_SIZE]);

/* Section 2, the term block index: per block of KIDX__TERM_BLOCK terms
 * (and a sentinel), where it starts in section 1 and where the list of its
 * first term starts in section 0. */
enum {
  KIDX__TIX_TERMS = 0,    /* u64: offset in section 1 */
  KIDX__TIX_POSTINGS = 8, /* u64: offset in section 0 */
  KIDX__TIX_SIZE = 16
};
_Static_assert(KIDX__TIX_POSTINGS == KIDX__TIX_TERMS + 8 &&
                   KIDX__TIX_SIZE == KIDX__TIX_POSTINGS + 8,
               "term block index entry");
static inline void kidx__tix_encode(uint8_t out[KIDX__TIX_SIZE], uint64_t terms,
                                    uint64_t post) {
  kidx__set_u64(out + KIDX__TIX_TERMS, terms);
  kidx__set_u64(out + KIDX__TIX_POSTINGS, post);
}
static inline void kidx__tix_decode(const uint8_t in[KIDX__TIX_SIZE],
                                    uint64_t *terms, uint64_t *post) {
  *terms = kidx__get_u64(in + KIDX__TIX_TERMS);
  *post = kidx__get_u64(in + KIDX__TIX_POSTINGS);
}

/* Section 3, document lengths: per document, the terms indexed from its
 * title and from its body, each field in one width for the whole segment
 * (KIDX__HDR_TITLE_WIDTH, KIDX__HDR_BODY_WIDTH): the fewest of 1, 2 or 4
 * bytes that hold the field's largest length in the segment.  Short
 * documents' lengths fit a byte or two, which takes a quarter of two u32
 * and puts four times as many documents in a cache line for the search,
 * which reads the entry of every document it scores.  An entry is the
 * title's bytes, then the body's; its size (the stride) is their sum. */
enum {
  KIDX__DOCLEN_TITLE = 0, /* title width bytes, then the body's */
  KIDX__DOCLEN_MAX = 8    /* the widest entry: two u32 */
};
_Static_assert(KIDX__DOCLEN_MAX == 2 * sizeof(uint32_t),
               "document lengths entry: two fields of at most 4 bytes");
/* The width of a field whose largest length in the segment is max. */
static inline unsigned kidx__doclen_width(uint32_t max) {
  return max <= UINT8_MAX ? 1u : max <= UINT16_MAX ? 2u : 4u;
}
static inline int kidx__doclen_width_valid(unsigned w) {
  return w == 1 || w == 2 || w == 4;
}
/* v (which must fit) in w = 1, 2 or 4 bytes, little-endian, and back. */
static inline void kidx__set_uw(uint8_t *p, unsigned w, uint32_t v) {
  for (unsigned i = 0; i < w; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t kidx__get_uw(const uint8_t *p, unsigned w) {
  /* A segment's widths never change: these branches are predicted. */
  if (w == 1)
    return p[0];
  if (w == 2)
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
  return kidx__get_u32(p);
}
static inline void kidx__doclen_encode(uint8_t *out,
                                       const uint8_t width[KIDX__NFIELDS],
                                       uint32_t title, uint32_t body) {
  kidx__set_uw(out + KIDX__DOCLEN_TITLE, width[0], title);
  kidx__set_uw(out + KIDX__DOCLEN_TITLE + width[0], width[1], body);
}
static inline void kidx__doclen_decode(const uint8_t *in,
                                       const uint8_t width[KIDX__NFIELDS],
                                       uint32_t *title, uint32_t *body) {
  *title = kidx__get_uw(in + KIDX__DOCLEN_TITLE, width[0]);
  *body = kidx__get_uw(in + KIDX__DOCLEN_TITLE + width[0], width[1]);
}

/* Section 5 starts with N + 1 key offsets (where each document's key
 * record starts in section 7, and the section's end), each of
 * KIDX__HDR_KEYOFF_WIDTH bytes: 4 when section 7 is shorter than 2^32
 * bytes, as it is unless a segment holds tens of millions of documents,
 * else 8. */
static inline unsigned kidx__keyoff_width(uint64_t keys_len) {
  return keys_len <= UINT32_MAX ? 4u : 8u;
}
static inline void kidx__keyoff_encode(uint8_t *out, unsigned width,
                                       uint64_t off) {
  if (width == 4)
    kidx__set_u32(out, (uint32_t)off);
  else
    kidx__set_u64(out, off);
}
static inline uint64_t kidx__keyoff_decode(const uint8_t *in, unsigned width) {
  return width == 4 ? kidx__get_u32(in) : kidx__get_u64(in);
}

/* Section 6, ids: every document once, ordered by the hash of its id
 * (kidx__hash_bytes, which kidx_stamp_hash exposes) and then by number.
 * The section holds S = ceil(N / KIDX__ID_SAMPLE) samples, the u64 hash
 * of every KIDX__ID_SAMPLE-th entry (entries 0, 64, 128, ...), then the
 * N entries, u32 document numbers.  A lookup binary-searches the samples
 * (contiguous: a page or two), then the at most 63 entries between two
 * samples by hashing the ids of their key records (section 7), about six
 * of them: a little over 4 bytes per document instead of a stored hash
 * and number (12), for a few key records read per lookup. */
#define KIDX__ID_SAMPLE 64u
enum {
  KIDX__ID_SAMPLE_SIZE = 8, /* u64: the hash of a sampled entry's id */
  KIDX__ID_DOC_SIZE = 4     /* u32: an entry, a document number */
};
_Static_assert(KIDX__ID_SAMPLE_SIZE == sizeof(uint64_t) &&
                   KIDX__ID_DOC_SIZE == sizeof(uint32_t),
               "id table: u64 samples, u32 entries");
static inline uint64_t kidx__ids_nsamples(uint64_t ndocs) {
  return (ndocs + KIDX__ID_SAMPLE - 1) / KIDX__ID_SAMPLE;
}
/* Offsets in the section of sample j and of entry i, and its length. */
static inline uint64_t kidx__ids_sample_at(uint64_t j) {
  return j * KIDX__ID_SAMPLE_SIZE;
}
static inline uint64_t kidx__ids_doc_at(uint64_t ndocs, uint64_t i) {
  return kidx__ids_nsamples(ndocs) * KIDX__ID_SAMPLE_SIZE +
         i * KIDX__ID_DOC_SIZE;
}
static inline uint64_t kidx__ids_size(uint64_t ndocs) {
  return kidx__ids_doc_at(ndocs, ndocs);
}
static inline void kidx__ids_sample_encode(uint8_t out[KIDX__ID_SAMPLE_SIZE],
                                           uint64_t hash) {
  kidx__set_u64(out, hash);
}
static inline uint64_t
kidx__ids_sample_decode(const uint8_t in[KIDX__ID_SAMPLE_SIZE]) {
  return kidx__get_u64(in);
}
static inline void kidx__ids_doc_encode(uint8_t out[KIDX__ID_DOC_SIZE],
                                        uint32_t doc) {
  kidx__set_u32(out, doc);
}
static inline uint32_t
kidx__ids_doc_decode(const uint8_t in[KIDX__ID_DOC_SIZE]) {
  return kidx__get_u32(in);
}

/* The mutable side of an open segment (allocated by open). */
typedef struct kidx__segstate {
  /* The first damage found (0: none): section + 1 << 56 | kind << 48 |
   * where, for kidx__segment_damage's message. */
  _Atomic uint64_t damage;
  /* Bytes checksummed so far (for tests: open verifies none). */
  _Atomic uint64_t verified_bytes;
  /* Bit p set once page p was found intact: set with a release OR, read
   * with acquire loads; a page verified twice by racing threads is
   * harmless. */
  atomic_uchar verified[];
} kidx__segstate;

typedef struct kidx__segment {
  kidx__map map;
  char *path;        /* the file, for messages (owned) */
  unsigned an_flags; /* KIDX__AN_*: how the terms were analysed */
  uint64_t ndocs, nterms, ntokens;
  uint64_t title_tokens; /* of ntokens, those from titles (header) */
  uint64_t title_bytes;  /* of section 7, the stored titles (header) */
  uint32_t header_crc;   /* the header's CRC, which MANIFEST entries hold */
  uint8_t doclen_width[KIDX__NFIELDS]; /* section 3's, per field (header) */
  uint32_t doclen_stride;              /* their sum: bytes per document */
  unsigned keyoff_width;               /* section 5's key offsets (header) */
  uint64_t nsamples;                   /* section 6's sampled hashes */
  uint64_t ntextblocks; /* text blocks (the table has one entry more) */
  const uint8_t *sec[KIDX__SEC_COUNT];
  uint64_t sec_len[KIDX__SEC_COUNT];
  /* Global page numbers: section i's page k is page_base[i] + k; pages of
   * sections 0..7 have their CRCs in the page sums section, in this order,
   * and that section's pages in the page index. */
  uint64_t page_base[KIDX__SEC_PAGED + 1];
  /* What reads change, shared by the threads using the segment. */
  struct kidx__segstate *st;
} kidx__segment;

/* Maps an index file and checks what costs O(1): magic, versions, header
 * checksum, file size, section table in bounds and consistent with the
 * counts, and the page index's checksum.  Section contents are verified
 * page by page when first read (kidx__segment_verify), and fully by
 * kidx__check_segment.  KIDX_ENOINDEX if the file does not exist,
 * KIDX_EFORMAT for another format version, KIDX_ECORRUPT for damage;
 * errmsg names the file and the problem. */
int kidx__segment_open(kidx__segment *s, const char *path, char *errmsg);
void kidx__segment_close(kidx__segment *s);

/* Checks the pages of section sec that cover [off, off + len) (within the
 * section) before they are read: KIDX_OK, or KIDX_ECORRUPT (a page
 * checksum mismatch, or a range outside the section) with the damage
 * recorded for kidx__segment_damage.  Cost: a bit test per page once
 * verified; a CRC of the page the first time. */
int kidx__segment_verify(const kidx__segment *s, int sec, uint64_t off,
                         uint64_t len);

static inline int kidx__segment_page_ok(const kidx__segment *s, uint64_t page) {
  return (atomic_load_explicit(&s->st->verified[page >> 3],
                               memory_order_acquire) >>
          (page & 7)) &
         1;
}

/* Records structural damage in section sec (a record that does not decode
 * or a table out of order) and returns KIDX_ECORRUPT. */
int kidx__segment_bad(const kidx__segment *s, int sec, uint64_t off);

/* Formats the message of the first damage recorded in s ("<file> is
 * damaged: section 'postings' page 17 checksum mismatch") into errmsg and
 * returns KIDX_ECORRUPT. */
int kidx__segment_damage(const kidx__segment *s, char *errmsg);

/* The name of section sec, for messages. */
const char *kidx__segment_section_name(int sec);

/* Recomputes the page checksums, the page index checksum and the header
 * checksum of a whole segment file image (for tests that forge damage
 * behind valid checksums); the header is encoded again from its decoded
 * fields, which restores the magic and zeroes the reserved bytes. KIDX_ECORRUPT
 * if its section table is unusable. */
int kidx__segment_reseal(uint8_t *data, size_t len);

/* A cursor over the term dictionary, in dictionary order.  The current
 * term's text lives in the cursor (terms are prefix-coded in the file):
 * valid until the cursor moves; copy the cursor and the copy's term still
 * points at the original's text. */
typedef struct kidx__termcur {
  const kidx__segment *seg;
  uint64_t index;   /* current term; nterms at the end */
  const uint8_t *p; /* the next entry to decode */
  uint64_t post;    /* postings offset of the next entry */
  char text[KIDX_MAX_TOKEN_BYTES];
  kidx__term term; /* the current term */
} kidx__termcur;

/* The cursor functions return 1 on a term, 0 at the end, or KIDX_ECORRUPT
 * (< 0) when the dictionary is damaged where they read it (see
 * kidx__segment_damage). */

/* Puts c on term i (i >= nterms: at the end).  Cost: one block's scan. */
int kidx__termcur_seek(kidx__termcur *c, const kidx__segment *s, uint64_t i);
/* Moves to the next term. */
int kidx__termcur_next(kidx__termcur *c);
/* Puts c on the first term >= text[0..len).  Cost: a binary search over
 * blocks and one block's scan. */
int kidx__termcur_lower_bound(kidx__termcur *c, const kidx__segment *s,
                              const char *text, size_t len);

/* Verifies the pages of term t's postings list (t from s's dictionary)
 * before it is decoded.  KIDX_OK or KIDX_ECORRUPT.  Cost: the whole list,
 * positions included; for what reads it all (check, merges). */
int kidx__segment_list(const kidx__segment *s, const kidx__term *t);

/* The kidx__pcur_check_fn of the lists of segment seg (a const
 * kidx__segment *): verifies the postings pages under [p, p + len) as a
 * cursor reaches them (kidx__pcur_init_checked), so that a search
 * checksums only the blocks it decodes.  KIDX_OK or KIDX_ECORRUPT, with
 * the damage recorded for kidx__segment_damage. */
int kidx__segment_postings_check(const void *seg, const uint8_t *p, size_t len);

/* 1 and *out if the term exists (out->text is the caller's text), 0 if
 * not, KIDX_ECORRUPT.  Its list is not verified: kidx__segment_list does
 * that before a cursor reads it whole, kidx__segment_postings_check as a
 * cursor reaches each part. */
int kidx__segment_find(const kidx__segment *s, const char *text, size_t len,
                       kidx__term *out);

/* Document doc's id, stamp and title (body NULL): what lookups by id and
 * pages of results read, without touching the compressed bodies.
 * KIDX_ECORRUPT on bad data. */
int kidx__segment_key(const kidx__segment *s, uint32_t doc, kidx__docinfo *out);

/* Where entry b of the text block table lies in section 5: after the N +
 * 1 key offsets. */
static inline uint64_t kidx__segment_textblock_at(const kidx__segment *s,
                                                  uint64_t b) {
  return (s->ndocs + 1) * s->keyoff_width + b * KIDX__TEXTBLOCK_ENTRY;
}

/* An entry of the text block table (section 5), decoded. */
typedef struct kidx__textblock {
  uint64_t offset;    /* of the stored block in section 4 */
  uint64_t raw_len;   /* of its records, decompressed */
  uint32_t first_doc; /* its first document */
} kidx__textblock;

/* The one encoder and the one decoder of a block table entry
 * (KIDX__TEXTBLOCK_ENTRY bytes). */
void kidx__textblock_encode(uint8_t *e, const kidx__textblock *b);
void kidx__textblock_decode(const uint8_t *e, kidx__textblock *b);

/* Block b (<= ntextblocks: the last is the sentinel) of s's table, its
 * page verified.  KIDX_OK or KIDX_ECORRUPT. */
int kidx__segment_textblock(const kidx__segment *s, uint64_t b,
                            kidx__textblock *out);

/* The caller's decompression cache for stored text: the last block
 * decompressed, so that reading the documents of one block decompresses
 * it once.  Readers are shared by threads, so the cache is never the
 * segment's: each call, results page or merge has its own.  Zero it to
 * start; kidx__textcache_free releases it.  Valid while the segments read
 * through it stay open; one cache may serve several segments. */
typedef struct kidx__textcache {
  const uint8_t *block; /* the stored block held (mapping address), or NULL */
  size_t stored;        /* its stored length */
  uint8_t *buf;         /* its records, decompressed as far as pos.out */
  size_t cap;
  size_t len;        /* their whole length */
  kidx__lz_pos pos;  /* how far decompression went */
  uint32_t next_doc; /* the document whose record starts at next_off */
  size_t next_off;
} kidx__textcache;

void kidx__textcache_free(kidx__textcache *c);

/* Document doc (< ndocs): id, stamp, title, body and lengths.  title and
 * body point into the mapping (a block stored raw) or into tc (valid
 * until tc is used again or freed).  KIDX_ECORRUPT on bad data (a
 * damaged block is reported in section 'document data'), KIDX_ENOMEM.
 * Cost: a binary search of the block table, a decompression of the block
 * up to the end of doc's record (at most KIDX__TEXT_BLOCK bytes unless one
 * record is larger; half a block on average, and nothing more when tc
 * already holds that much of it), and a scan of the records before doc in
 * the block (from the last one read when tc holds the block and doc is
 * after it). */
int kidx__segment_doc(const kidx__segment *s, uint32_t doc, kidx__textcache *tc,
                      kidx__docinfo *out);

/* Where document doc's lengths lie in the mapping, unverified: for a
 * prefetch. */
static inline const uint8_t *kidx__segment_doclens_at(const kidx__segment *s,
                                                      uint32_t doc) {
  return s->sec[KIDX__SEC_DOCLENS] + (uint64_t)doc * s->doclen_stride;
}

/* Document doc's lengths in terms, title and body: KIDX_OK, or
 * KIDX_ECORRUPT when their page is damaged.  Cost: a bit test once the
 * page is verified. */
static inline int kidx__segment_doclens(const kidx__segment *s, uint32_t doc,
                                        uint32_t *title, uint32_t *body) {
  uint64_t off = (uint64_t)doc * s->doclen_stride;
  uint64_t page = off >> KIDX__PAGE_SHIFT;
  /* An entry of 3, 5 or 6 bytes may straddle two pages: then (once per
   * page) the slow path verifies both. */
  if (((off + s->doclen_stride - 1) >> KIDX__PAGE_SHIFT) != page ||
      !kidx__segment_page_ok(s, s->page_base[KIDX__SEC_DOCLENS] + page)) {
    int rc = kidx__segment_verify(s, KIDX__SEC_DOCLENS, off, s->doclen_stride);
    if (rc) {
      *title = *body = 0;
      return rc;
    }
  }
  kidx__doclen_decode(s->sec[KIDX__SEC_DOCLENS] + off, s->doclen_width, title,
                      body);
  return 0;
}

/* The document of s whose id is id[0..len): 1 and *doc, 0, or
 * KIDX_ECORRUPT.  Cost: a binary search of the id table's samples, then
 * of the at most 63 entries after one, reading and hashing the id of each
 * entry probed (about 6 key records); one record more per extra entry of
 * the same hash.  A sample the answer rests on is checked against the
 * entry it describes, when that entry is read anyway or (about one lookup
 * in 64) at the cost of one record more. */
int kidx__segment_find_id(const kidx__segment *s, const char *id, size_t len,
                          uint32_t *doc);

/* Deletion bitmaps: bit d set when document d is deleted. */
static inline int kidx__bit_get(const uint8_t *bits, uint64_t i) {
  return bits && (bits[i >> 3] >> (i & 7)) & 1;
}
static inline void kidx__bit_set(uint8_t *bits, uint64_t i) {
  bits[i >> 3] = (uint8_t)(bits[i >> 3] | (1u << (i & 7)));
}

/* One input of a segment write: a segment file without the documents its
 * bitmap deletes (dead may be NULL). */
typedef struct kidx__segsrc {
  const kidx__segment *seg;
  const uint8_t *dead;
} kidx__segsrc;

/* Writes a new segment file at path holding the live documents of the
 * sources src[0..n), in order, followed by the live documents of mi (may
 * be NULL).  The file is fsync'ed but not published; on failure it is
 * removed.  *ndocs receives its document count.  Cost: reads and
 * re-encodes every postings list once; the pages of the sources' mappings
 * are given back as the merge goes, so that a merge of large segments does
 * not grow the resident set by their size. */
int kidx__segment_write(const char *path, const kidx__segsrc *src, size_t n,
                        const kidx__memindex *mi, unsigned an_flags,
                        uint64_t *ndocs, char *errmsg);

/**************************************************************************
** Interface to code in termmerge.c: a k-way merge of sorted term sources
** (segment dictionaries, sorted term arrays) yielding each distinct term
** once with the sources that hold it, optionally only the terms with a
** given prefix.  Used for prefix expansion (search.c), counting distinct
** terms (snapshot.c) and merging dictionaries (segwrite.c).
*/

typedef struct kidx__tmsrc kidx__tmsrc; /* one source (termmerge.c) */

typedef struct kidx__termmerge {
  /* The current term, after kidx__termmerge_next returned 1: its text
   * (borrowed from a source: valid until the next step) ... */
  const char *text;
  size_t len;
  /* ... and the sources that hold it, in increasing order (read only). */
  size_t *which;
  size_t nwhich;
  /* private */
  kidx__tmsrc *src;
  size_t n;
  size_t *heap; /* sources on a term within the bound, by (term, number) */
  size_t nheap;
  const char *prefix; /* the bound (borrowed) */
  size_t prefix_len;
  int damaged; /* a source's dictionary failed to decode: source bad */
  size_t bad;
} kidx__termmerge;

/* Sets m up for n sources, numbered 0..n-1, each empty until given one of
 * the two below.  KIDX_ENOMEM.  Free with kidx__termmerge_free (also
 * after a failed init). */
int kidx__termmerge_init(kidx__termmerge *m, size_t n);
void kidx__termmerge_free(kidx__termmerge *m);

/* Source i is seg's dictionary (borrowed until the merge is freed). */
void kidx__termmerge_segment(kidx__termmerge *m, size_t i,
                             const kidx__segment *seg);
/* Source i is terms[0..n), sorted by kidx__term_cmp without duplicates
 * (borrowed). */
void kidx__termmerge_array(kidx__termmerge *m, size_t i,
                           const kidx__term *terms, size_t n);

/* Starts the merge at the first terms that begin with prefix[0..len)
 * (borrowed until the merge ends; len 0: every term), each source placed
 * by a binary search.  The merge ends after the last term with the
 * prefix.  May be called again to start over. */
int kidx__termmerge_start(kidx__termmerge *m, const char *prefix, size_t len);

/* Moves to the next distinct term: 1 (m->text, m->len, m->which and
 * m->nwhich set), 0 at the end, or KIDX_ECORRUPT when a segment's
 * dictionary is damaged (source m->bad; so does start).  Cost: O(k log n) term
 * comparisons, k the sources of the previous term; no memory. */
int kidx__termmerge_next(kidx__termmerge *m);

/* Source i's current term, for i among the current term's sources: the
 * same text, and that source's df and postings.  Valid until the next
 * step. */
const kidx__term *kidx__termmerge_term(const kidx__termmerge *m, size_t i);

/**************************************************************************
** Interface to code in meta.c: the index's user metadata, a map from keys
** (1..KIDX_MAX_METADATA_KEY bytes) to values (at least 1 byte), with keys
** and values together at most KIDX_MAX_METADATA_BYTES.
*/

typedef struct kidx__meta_entry {
  char *key; /* owned: the key, then the value, in one allocation */
  size_t key_len;
  char *value; /* points into key's allocation */
  size_t value_len;
} kidx__meta_entry;

typedef struct kidx__meta {
  kidx__meta_entry *e; /* sorted by key, kidx__term_cmp order, unique */
  size_t n, cap;
  size_t bytes; /* the keys' and values' lengths, summed */
} kidx__meta;

void kidx__meta_free(kidx__meta *m); /* leaves an empty map */

/* 1 and *at (its index) if key is in m, else 0 and *at where it would go.
 * Cost: a binary search. */
int kidx__meta_find(const kidx__meta *m, const char *key, size_t key_len,
                    size_t *at);

/* The public getters' lookup: KIDX_OK with *value (borrowed from m) and
 * *value_len, KIDX_ENOTFOUND, or KIDX_EINVAL for NULL arguments. */
int kidx__meta_get(const kidx__meta *m, const char *key, size_t key_len,
                   const char **value, size_t *value_len);

/* Sets key to value, or deletes key when value_len is 0 (a key that is not
 * there is no error).  *changed says whether m changed: setting the value a
 * key has already changes nothing.  KIDX_EINVAL (key length), KIDX_ETOOBIG
 * (the map would outgrow its limit), KIDX_ENOMEM; m is unchanged on
 * failure. */
int kidx__meta_set(kidx__meta *m, const char *key, size_t key_len,
                   const char *value, size_t value_len, int *changed);

/* Appends an entry, for a decoder that has checked that key sorts after
 * every key of m and the limits.  KIDX_ENOMEM. */
int kidx__meta_append(kidx__meta *m, const char *key, size_t key_len,
                      const char *value, size_t value_len);

/**************************************************************************
** Interface to code in manifest.c: the commit record (doc/FORMAT.md).
*/

#define KIDX__MANIFEST_FILE "MANIFEST"
#define KIDX__MANIFEST_TMP  "MANIFEST.tmp"
/* The single file of format versions 1 to 6: refused as an old format. */
#define KIDX__OLD_INDEX_FILE "index.kidx"
#define KIDX__SEGNAME_MAX    48

typedef struct kidx__manifest_seg {
  uint64_t number;     /* file name: see kidx__segment_name */
  uint64_t size;       /* file size in bytes */
  uint64_t ndocs;      /* documents in the file, deleted included */
  uint64_t ndead;      /* deleted documents */
  uint32_t header_crc; /* the file's header checksum: binds entry and file */
  uint8_t *dead;       /* deletion bitmap, NULL when ndead == 0 */
} kidx__manifest_seg;

typedef struct kidx__manifest {
  uint64_t generation;   /* commits so far; 1 for the first */
  uint64_t next_segment; /* above every number ever published */
  unsigned an_flags;     /* KIDX__AN_* of every segment */
  kidx__manifest_seg *segs;
  size_t nsegs;
  kidx__meta meta; /* the user metadata, empty in a version 7 MANIFEST */
  uint64_t bytes;  /* size of the file read */
} kidx__manifest;

/* MANIFEST versions (doc/FORMAT.md): 7, as kidx 0.3 wrote it, and 8, which
 * adds the metadata section.  Both are read; a MANIFEST is written as
 * version 7 when its metadata is empty, so an index that never uses
 * metadata stays readable by kidx 0.3, and as 8 otherwise, which kidx 0.3
 * refuses as an unknown format rather than dropping the metadata. */
#define KIDX__MANIFEST_V7 7u
#define KIDX__MANIFEST_V8 8u

/* "seg-<number>.kidx", and back (1 and *number if name is one, else 0). */
void kidx__segment_name(uint64_t number, char out[KIDX__SEGNAME_MAX]);
int kidx__segment_number(const char *name, uint64_t *number);

/* Reads and verifies a manifest.  KIDX_ENOINDEX if the file does not
 * exist, KIDX_EFORMAT for another format, KIDX_ECORRUPT for damage.  The
 * deletion bitmaps and the metadata are owned by m: free with
 * kidx__manifest_free. */
int kidx__manifest_read(const char *path, kidx__manifest *m, char *errmsg);
void kidx__manifest_free(kidx__manifest *m);
/* Writes m (ndead is recomputed from the bitmaps) to a new file at path
 * and fsyncs it; on failure the file is removed.  Publishing is the
 * caller's (kidx__fs_publish).  m->meta may be borrowed: it is only
 * read. */
int kidx__manifest_write(const char *path, const kidx__manifest *m,
                         char *errmsg);

/**************************************************************************
** Interface to code in snapshot.c: one commit opened for reading -- its
** segments mapped, their deletions, and the index-wide statistics that
** make scores independent of how documents are split into segments.
** Global document numbers run through the segments in manifest order:
** segment i's document d is segs[i].base + d.
*/

/* A segment mapping shared by readers (reference counted, see
 * kidx__snapshot_open_shared); opaque outside snapshot.c. */
typedef struct kidx__segshare kidx__segshare;

typedef struct kidx__segref {
  kidx__segment seg;     /* owned, or a copy of share's (same mapping) */
  kidx__segshare *share; /* NULL: seg is owned by this segref */
  char *path;            /* the segment file, for messages */
  uint64_t number;       /* its name */
  uint64_t base;         /* global number of its document 0 */
  uint8_t *dead;         /* deletion bitmap (owned), NULL when none deleted */
  uint64_t ndead;
} kidx__segref;

typedef struct kidx__snapshot {
  char *dir;
  uint64_t generation, next_segment;
  unsigned an_flags;
  kidx__segref *segs;
  size_t nsegs;
  uint64_t ndocs;     /* global numbers in use: the segments' documents */
  uint64_t live;      /* of those, not deleted */
  uint64_t tokens[2]; /* terms in the live documents' titles and bodies */
  uint64_t bytes;     /* manifest and segment files */
  kidx__meta meta;    /* the user metadata (a writer's: as changed since) */
} kidx__snapshot;

/* Opens the commit that dir's MANIFEST names: reads it, opens every
 * segment (kidx__segment_open: O(1) checks, contents verified when read)
 * and checks each against its entry.
 * A writer may publish a new commit and remove files of the old one while
 * this runs; then the manifest is read again.  KIDX_ENOINDEX when there
 * is no index, KIDX_EFORMAT for an index of another format. */
int kidx__snapshot_open(kidx__snapshot *s, const char *dir, char *errmsg);

/* kidx__snapshot_open for readers: every segment's mapping is held by a
 * reference-counted kidx__segshare, so that snapshots opened later can
 * share it.  With from (an open shared snapshot of the same directory,
 * or NULL), a segment of the new commit that from already has -- same
 * number, and the same size, document count and header checksum as the
 * MANIFEST lists -- is taken from it (one more reference: no mapping, no
 * verification), and only the others are mapped and verified; the
 * deletion bitmaps all come from the new MANIFEST.  from is only read:
 * searches on it may run meanwhile.  Cost: the MANIFEST, the new
 * segments' verification, and the statistics' pass over the bitmaps. */
int kidx__snapshot_open_shared(kidx__snapshot *s, const char *dir,
                               const kidx__snapshot *from, char *errmsg);

/* Releases the snapshot: owned segments are unmapped, shared ones when
 * their last snapshot lets go of them. */
void kidx__snapshot_close(kidx__snapshot *s);

/* Recomputes live, ndocs, tokens and the bases from the segments and
 * their bitmaps (after the writer changed them).  KIDX_ETOOBIG when the
 * global numbers would not fit in 32 bits. */
int kidx__snapshot_update(kidx__snapshot *s, char *errmsg);

/* The segment holding global document doc (< ndocs). */
size_t kidx__snapshot_seg_of(const kidx__snapshot *s, uint32_t doc);
/* Global document doc's id and stamp only (kidx__segment_key).  KIDX_OK,
 * or KIDX_ECORRUPT with errmsg (may be NULL) naming file and section. */
int kidx__snapshot_key(const kidx__snapshot *s, uint32_t doc,
                       kidx__docinfo *out, char *errmsg);
/* Global document doc's record (kidx__segment_doc, through the caller's
 * cache tc); as above, or KIDX_ENOMEM. */
int kidx__snapshot_doc(const kidx__snapshot *s, uint32_t doc,
                       kidx__textcache *tc, kidx__docinfo *out, char *errmsg);

/* The documents of segment r that contain term t (a term of r) and are
 * not deleted.  KIDX_ECORRUPT on a damaged list.  Cost: nothing without
 * deletions, else a scan of the deletion bitmap (a byte test per 8
 * documents) and a skip-assisted probe per deleted document, stopping at
 * the end of the list. */
int kidx__segref_live_df(const kidx__segref *r, const kidx__term *t,
                         uint64_t *df);

/* Distinct terms over all segments (a merge of their dictionaries).
 * KIDX_ENOMEM. */
int kidx__count_terms(const kidx__snapshot *s, uint64_t *count);

/* The live document with this id: 1 with *seg and *doc (local), 0, or
 * KIDX_ECORRUPT (*seg then names the damaged segment). */
int kidx__snapshot_find_id(const kidx__snapshot *s, const char *id, size_t len,
                           size_t *seg, uint32_t *doc);

/**************************************************************************
** Interface to code in merge_policy.c: which segments the writer merges,
** as a pure function of their sizes and deletions (no I/O).
*/

/* Merge factor F: the number of segments of one level merged at once, and
 * the size ratio between levels.  2 is the least that merges anything;
 * the most bounds the sources one merge maps and walks together (their
 * term dictionaries in one k-way merge).  The default is Lucene's
 * mergeFactor: a few segments per level, each document rewritten about
 * log10(index size) times.  kidx_writer_set_merge_factor documents them. */
#define KIDX__MERGE_FACTOR_MIN     2u
#define KIDX__MERGE_FACTOR_MAX     1000u
#define KIDX__MERGE_FACTOR_DEFAULT 10u

/* Segments below LEVEL_FLOOR * F live bytes all sit on level 0, so that
 * small flushes (a small RAM budget, or commits of a few documents) do
 * not spread over many levels of their own but are merged F at a time
 * with the other small ones; Lucene's LogByteSizeMergePolicy has the same
 * floor (minMergeMB, 1.6 MB).  Rewriting such segments costs little, and
 * each segment costs every search its own dictionary lookups. */
#define KIDX__MERGE_LEVEL_FLOOR ((uint64_t)1 << 20)

/* A segment with at least 1/DENOM of its documents deleted is rewritten
 * on its own: its deleted documents keep their disk space and are decoded
 * and skipped by every search until then.  A quarter: rewriting a segment
 * costs its whole live part, so waiting for a sizeable share
 * amortises it; Lucene's TieredMergePolicy lets deletions take 20 to 50
 * per cent (deletesPctAllowed). */
#define KIDX__MERGE_DELETED_DENOM 4u

/* What the policy knows of a segment. */
typedef struct kidx__merge_seg {
  uint64_t bytes; /* file size */
  uint64_t ndocs; /* documents in the file, deleted ones included */
  uint64_t ndead; /* deleted documents (<= ndocs; more counts as all) */
} kidx__merge_seg;

typedef struct kidx__merge_options {
  unsigned factor; /* F; clamped to KIDX__MERGE_FACTOR_MIN..MAX */
} kidx__merge_options;

typedef enum kidx__merge_reason {
  KIDX__MERGE_NONE,    /* nothing to merge */
  KIDX__MERGE_LEVEL,   /* F segments of one level: merged into one */
  KIDX__MERGE_DELETES, /* one segment with many deletions: rewritten */
  KIDX__MERGE_ALL      /* kidx__merge_plan_all: everything into one */
} kidx__merge_reason;

/* A merge: the segments at indexes which[0..n), increasing, become one.
 * The caller provides which, with room for as many entries as it passes
 * segments. */
typedef struct kidx__merge {
  size_t *which;
  size_t n;
  kidx__merge_reason reason;
  unsigned level; /* the sources' level (LEVEL, DELETES) */
} kidx__merge;

/* The next merge the policy wants among segs[0..nsegs) (in the writer's
 * order, oldest first): 1 and *out filled in, or 0 (out->n == 0) when
 * none.  A merge's output lands where its size puts it, known only once
 * written: the caller merges, then asks again with the new list until
 * this returns 0.  Deterministic: equal inputs give equal plans.  Cost:
 * O(nsegs * levels^2) integer divisions, levels <= 44; no memory. */
int kidx__merge_plan_next(const kidx__merge_seg *segs, size_t nsegs,
                          const kidx__merge_options *opt, kidx__merge *out);

/* The merge of kidx_writer_optimize: every segment into one, or 0 if
 * there is already at most one and it has no deletions. */
int kidx__merge_plan_all(const kidx__merge_seg *segs, size_t nsegs,
                         kidx__merge *out);

/**************************************************************************
** Interface to code in score.c: TF-IDF and BM25 over weighted fields
** (formulas in kidx.h).
*/

/* Largest k1 and field weight a search accepts (the kidx tool's limit
 * too): far above any useful value, and far from overflowing a score. */
#define KIDX__MAX_PARAM 1e6

typedef struct kidx__scorer {
  kidx_rank rank;
  double k1;                    /* BM25 saturation */
  double b;                     /* BM25 b, or the TF-IDF pivot slope */
  double ndocs;                 /* N */
  double weight[KIDX__NFIELDS]; /* field weights w_f */
  double avglen[KIDX__NFIELDS]; /* mean field lengths in terms */
  double slope[KIDX__NFIELDS];  /* b / avglen_f: B_f without a division */
} kidx__scorer;

/* tokens[f]: the index's total terms in field f. */
void kidx__scorer_init(kidx__scorer *sc, kidx_rank rank, double k1, double b,
                       const double weight[KIDX__NFIELDS], uint64_t ndocs,
                       const uint64_t tokens[KIDX__NFIELDS]);
/* idf of a term in df documents (always > 0). */
double kidx__scorer_idf(const kidx__scorer *sc, uint64_t df);
/* B_f: the length normalisation of a field of len terms.  Inline, as
 * the saturation below: search.c calls them for every document scored. */
static inline double kidx__scorer_norm(const kidx__scorer *sc, int field,
                                       uint32_t len) {
  return (1.0 - sc->b) + (double)len * sc->slope[field];
}
/* The saturation of a combined term frequency tfc = sum w_f tf_f / B_f;
 * a term's score is qtf * idf * saturate(tfc). */
static inline double kidx__scorer_saturate(const kidx__scorer *sc, double tfc) {
  if (tfc <= 0)
    return 0;
  if (sc->rank == KIDX_RANK_BM25)
    return tfc * (sc->k1 + 1.0) / (tfc + sc->k1);
  /* Singhal's double logarithm 1 + ln(1 + ln x) is only defined (and
   * increasing) from x = 1; below it we continue with x itself, which meets
   * it at x = 1 with the same value and the same slope (1). */
  return tfc >= 1.0 ? 1.0 + log(1.0 + log(tfc)) : tfc;
}
/* saturate(sum over fields of w[f] * tf[f] / norm[f]), the tf part of a
 * term's score in a document whose field norms B_f are norm[].  For BM25
 * the fractions are put over one denominator,
 *     S = (k1 + 1) X / (X + k1 D),  X = sum_f w_f tf_f prod_(g != f) B_g,
 *     D = prod_f B_f,
 * which is the same function with one division instead of three: search
 * calls this for every document it scores. */
/* The combined frequency sum over fields of w[f] * tf[f] / norm[f] (the
 * fields with tf[f] = 0 left out), in field order: scores, explanations
 * and the bounds that need it exactly compute it here. */
static inline double kidx__tfc(const double w[KIDX__NFIELDS],
                               const uint32_t tf[KIDX__NFIELDS],
                               const double norm[KIDX__NFIELDS]) {
  double tfc = 0.0;
  for (int f = 0; f < KIDX__NFIELDS; f++)
    if (tf[f])
      tfc += w[f] * tf[f] / norm[f];
  return tfc;
}
static inline double kidx__scorer_tf(const kidx__scorer *sc,
                                     const double w[KIDX__NFIELDS],
                                     const uint32_t tf[KIDX__NFIELDS],
                                     const double norm[KIDX__NFIELDS]) {
  _Static_assert(KIDX__NFIELDS == 2, "two fields");
  if (sc->rank == KIDX_RANK_BM25) {
    double x0 = w[0] * tf[0], x1 = w[1] * tf[1], x, d;
    if (!tf[0]) {
      x = x1;
      d = norm[1];
    } else if (!tf[1]) {
      x = x0;
      d = norm[0];
    } else {
      x = x0 * norm[1] + x1 * norm[0];
      d = norm[0] * norm[1];
    }
    return x > 0 ? (sc->k1 + 1.0) * x / (x + sc->k1 * d) : 0.0;
  }
  return kidx__scorer_saturate(sc, kidx__tfc(w, tf, norm));
}
/* An upper bound of idf * saturate(sum w[f] tf_f / B_f) over the
 * documents the bound b describes (postblock.c), with a relative margin
 * above the rounding of the score's own computation.  Monotone: a looser
 * bound (kidx__pbound_merge) never gives less. */
double kidx__scorer_bound(const kidx__scorer *sc, const double w[KIDX__NFIELDS],
                          const kidx__pbound *b, double idf, double scale);

/* Whether a top-k search with these parameters may prune: not with a
 * weight so small that combined frequencies are subnormal (score.c). */
int kidx__scorer_prunable(const kidx__scorer *sc);
/* idf * saturate(tfc) with the margin above, for a bound tfc of the
 * combined frequency computed elsewhere (INFINITY if tfc is not finite). */
double kidx__scorer_bound_tfc(const kidx__scorer *sc, double tfc, double idf);

/* The parameters of a bound's tfc_max (kidx__pbound): per model, a scorer
 * with the default parameters and one segment's average field lengths. */
struct kidx__pmodels {
  kidx__scorer sc[KIDX__NMODELS];
};
/* For a segment of ndocs documents and tokens[f] terms in field f. */
void kidx__pmodels_init(kidx__pmodels *pm, uint64_t ndocs,
                        const uint64_t tokens[KIDX__NFIELDS]);
/* tfc[r] of a document for model r: sum_f w_f tf_f / B_f. */
void kidx__pmodels_tfc(const kidx__pmodels *pm,
                       const uint32_t tf[KIDX__NFIELDS],
                       const uint32_t len[KIDX__NFIELDS],
                       double tfc[KIDX__NMODELS]);
/* The factor by which a query's combined frequencies (scorer sc, field
 * weights w) can exceed tfc_max of a segment of ndocs documents and
 * tokens[f] terms per field: INFINITY when tfc_max says nothing (another
 * b for BM25). */
double kidx__scorer_scale(const kidx__scorer *sc, const double w[KIDX__NFIELDS],
                          uint64_t ndocs, const uint64_t tokens[KIDX__NFIELDS]);

/**************************************************************************
** Interface to code in topk.c: the bounded best-k collector.
*/

typedef struct kidx__hit {
  double score;
  uint32_t doc;
} kidx__hit;

/* Compares the ids of two documents like memcmp (< 0: a's id sorts first). */
typedef int (*kidx__id_cmp_fn)(const void *ctx, uint32_t a, uint32_t b);

typedef struct kidx__topk {
  kidx__hit *heap;
  size_t k, n;
  kidx__id_cmp_fn id_cmp;
  const void *ctx;
} kidx__topk;

int kidx__topk_init(kidx__topk *t, size_t k, kidx__id_cmp_fn id_cmp,
                    const void *ctx);
void kidx__topk_free(kidx__topk *t);
/* Offers a hit; kept if it ranks among the k best so far. */
void kidx__topk_push(kidx__topk *t, double score, uint32_t doc);
/* 1 and *score when the collector is full: a new hit then enters only if
 * it scores above *score, or equal with a smaller id.  0 before. */
int kidx__topk_threshold(const kidx__topk *t, double *score);
/* Sorts the kept hits best-first in t->heap and returns how many. */
size_t kidx__topk_finish(kidx__topk *t);

/**************************************************************************
** Interface to code in query.c: the query language parser.  It turns query
** text into a tree of kidx__qnode, analysing every word with the index's
** analyser; evaluation (search.c) walks the tree.
**
** Grammar (precedence low to high; AND/OR/NOT only in upper case, so the
** words "and", "or", "not" stay searchable):
**   query   := or
**   or      := and ("OR" and)*
**   and     := unary (("AND" | <juxtaposition>) unary)*
**              juxtaposition means AND with KIDX__QP_ALL, OR without it
**              (then "a b AND c" is a OR (b AND c));
**   unary   := "NOT" unary | "-" primary | primary
**              ("a NOT b" and "a -b" both mean a AND NOT b);
**   primary := "(" or ")" | field ":" primary-no-field | phrase | near |
**              prefix | word
**   field   := "title" | "body"
**   phrase  := '"' text '"'             all words at consecutive positions
**   near    := "NEAR(" word word... ["," N] ")"   within N words (default
**              10) of each other: the span from the first to the last has
**              at most N other words in it
**   prefix  := word-characters "*"      terms starting with the folded,
**              unstemmed prefix
**   word    := any other run of non-space characters without ( ) " *
** A word that analyses to several terms ("e-mail", a CJK run) is a phrase
** of them; one that analyses to none (a stop word, punctuation) is left
** out.  Errors carry a 1-based column counted in characters.
*/

enum {
  KIDX__Q_TERM,   /* text: one analysed term */
  KIDX__Q_PREFIX, /* text: folded prefix (not stemmed) */
  KIDX__Q_PHRASE, /* kids: KIDX__Q_TERM, with pos[] offsets */
  KIDX__Q_NEAR,   /* kids: KIDX__Q_TERM; distance */
  KIDX__Q_AND,    /* kids: 2 or more */
  KIDX__Q_OR,     /* kids: 2 or more */
  KIDX__Q_NOT     /* kids[0] AND NOT kids[1] */
};

enum { KIDX__FIELD_ANY, KIDX__FIELD_TITLE, KIDX__FIELD_BODY };

typedef struct kidx__qnode kidx__qnode;
struct kidx__qnode {
  int kind;         /* KIDX__Q_* */
  int field;        /* KIDX__FIELD_*: scope given with title: / body: */
  const char *text; /* TERM, PREFIX: term bytes (in the query's arena) */
  size_t len;
  kidx__qnode **kids; /* children, in query order */
  size_t nkids;
  uint32_t *pos;     /* PHRASE: position of each kid relative to the first
                        (gaps where stop words were removed) */
  uint32_t distance; /* NEAR */
  size_t column;     /* 1-based column (characters) where the node starts */
};

/* Parser options. */
#define KIDX__QP_ALL 0x1u /* juxtaposed words are ANDed (default: ORed) */

typedef struct kidx__query kidx__query; /* owns all nodes and text */

/* Parses query[0..len) analysing words with an.  On success *out holds the
 * tree (kidx__query_root); on failure KIDX_EQUERY with errmsg "query error
 * at column N: <what>" and *column = N (0 when the error is not at a place,
 * e.g. "no searchable words").  Bounds: nesting depth KIDX__QP_MAX_DEPTH,
 * KIDX_MAX_QUERY_TERMS terms. */
#define KIDX__QP_MAX_DEPTH 32
int kidx__query_parse(const kidx__analyzer *an, const char *query, size_t len,
                      unsigned flags, kidx__query **out, size_t *column,
                      char *errmsg);
const kidx__qnode *kidx__query_root(const kidx__query *q);
void kidx__query_free(kidx__query *q); /* NULL is a no-op */

/**************************************************************************
** Interface to code in search.c: evaluating a parsed query.
*/

/* Runs the query tree against every segment of snap, scoring with sc (set
 * up with snap's live statistics), and offers matching live documents, by
 * global number, to topk.  With exact, or when topk keeps nothing, every
 * match is scored and *total is the number of matches; otherwise
 * documents that cannot enter the top k are passed over (dynamic pruning:
 * the hits kept are exactly the same) and *total counts those scored, a
 * lower bound.  *total_exact says which.  KIDX_EQUERY for a prefix that
 * expands too far (its column in *column), KIDX_ECORRUPT on damaged
 * postings. */
int kidx__search_run(const kidx__snapshot *snap, const kidx__qnode *root,
                     const kidx__scorer *sc, int exact, kidx__topk *topk,
                     uint64_t *total, int *total_exact, size_t *column,
                     char *errmsg);

/* For matching documents docs[0..n), in strictly increasing order: appends
 * to explain[i] the score breakdown of docs[i] (kidx_explain entries with
 * term NULL: their terms' bytes are appended to texts[i], in order, term_len
 * each) and to positions[i] the sorted, distinct positions of its words
 * that matched (uint32_t, host order).  explain (with texts) and positions
 * may be NULL.  Cost: one pass over the query's postings. */
int kidx__search_hits(const kidx__snapshot *snap, const kidx__qnode *root,
                      const kidx__scorer *sc, const uint32_t *docs, size_t n,
                      kidx__buf *explain, kidx__buf *texts,
                      kidx__buf *positions, char *errmsg);

/**************************************************************************
** Interface to code in check.c: deep verification of an index file.
*/

/* Decodes every postings list of seg (whose file is path, for messages)
 * in full and checks it against the dictionary and the document table:
 * terms in strict order, df, document numbers, per-field frequencies
 * adding up to the fields' lengths, positions strictly increasing, unique
 * ids, and every document's occurrences equal to those its stored text
 * analyses to.  KIDX_OK, or KIDX_ECORRUPT with the first problem in
 * errmsg (naming the file and the term or document), or KIDX_ENOMEM.
 * Cost: reads the whole file and analyses every document again. */
int kidx__check_segment(const kidx__segment *seg, const char *path,
                        char *errmsg);

/* kidx__check_segment on every segment of s, then what spans segments:
 * no id live in two places.  KIDX_OK, KIDX_ECORRUPT or KIDX_ENOMEM. */
int kidx__check_snapshot(const kidx__snapshot *s, char *errmsg);

/**************************************************************************
** Interface to code in snippet.c: the passage shown with a hit.
*/

/* Chooses the passage of about `words` terms of body that holds the most
 * of the sorted positions hits[0..nhits) (the document's title is needed
 * to know where body positions start); [*start, *end) receives its byte
 * span in body and spans its matched words as kidx_span, relative to
 * *start.  An empty body or words == 0 gives an empty passage. */
int kidx__snippet_make(const kidx__analyzer *an, const char *title,
                       size_t title_len, const char *body, size_t body_len,
                       const uint32_t *hits, size_t nhits, size_t words,
                       size_t *start, size_t *end, kidx__buf *spans);

/**************************************************************************
** Interface to code in results.c: filling a kidx_results.
*/

/* Empties res for a new search; returns its error message buffer. */
char *kidx__results_reset(kidx_results *res);
/* Marks the search failed, with the query error column (or 0). */
void kidx__results_fail(kidx_results *res, size_t column);
/* Appends a hit: copies d's id and title, the snippet text (a span of
 * d->body, or NULL for none) with its kidx_span highlights, and explain's
 * kidx_explain entries with their terms. */
int kidx__results_add(kidx_results *res, const kidx__docinfo *d, double score,
                      const char *snippet, size_t snip_len,
                      const kidx__buf *spans, const kidx__buf *explain);
/* Sets the total (exact: whether it counts every match, or is a lower
 * bound) and the public structs' pointers; call after the last
 * kidx__results_add. */
void kidx__results_finish(kidx_results *res, uint64_t total, int exact);

/**************************************************************************
** Interface to code in document.c: filling a kidx_document.
*/

/* Empties doc for a new fetch; returns its error message buffer. */
char *kidx__document_reset(kidx_document *doc);
/* Empties doc and copies d's id, title, body and stamp into it.
 * KIDX_ENOMEM (doc then stays empty, with the message set). */
int kidx__document_set(kidx_document *doc, const kidx__docinfo *d);

/**************************************************************************
** Interface to code in analyzer.c: public analysis options <-> flags.
*/

/* Converts public options (NULL: defaults) to KIDX__AN_* flags;
 * KIDX_EINVAL for unknown values. */
int kidx__analyzer_flags(const kidx_analyzer *a, unsigned *flags);
/* Fills public options from flags. */
void kidx__analyzer_from_flags(unsigned flags, kidx_analyzer *out);
/* Describes the settings of `have` that differ from `want`, for error
 * messages, in kidx_analyzer's terms: "stemmer=KIDX_STEM_ENGLISH (not
 * KIDX_STEM_NONE), fold_diacritics=1 (not 0)". */
void kidx__analyzer_describe_diff(unsigned have, unsigned want, char *buf,
                                  size_t cap);

/**************************************************************************
** Interface to code in reader.c: the public read API.
*/

/* The reader's open snapshot (NULL if it is not open), for white-box
 * tests. */
const kidx__snapshot *kidx__reader_snapshot(const kidx_reader *r);

#endif /* KIDX_INT_H */
