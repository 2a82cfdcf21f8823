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

#include <stdarg.h>
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
 * returns -1 (truncated, or more than 64 bits) leaving *p unchanged. */
int kidx__varint_get(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* Encodes v as a varint into out (at least 10 bytes); returns its length. */
size_t kidx__varint_encode(uint8_t *out, uint64_t v);

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

/* Continues a CRC-32C over [data, data+len).  Start with crc = 0. */
uint32_t kidx__crc32c(uint32_t crc, const void *data, size_t len);

/**************************************************************************
** Interface to code in utf8.c: decoding that accepts any bytes.
*/

/* Returned in *cp for a byte that does not start a valid, shortest-form
 * UTF-8 sequence of a Unicode scalar value (overlong forms, surrogates,
 * values above U+10FFFF, truncated sequences, stray continuation bytes). */
#define KIDX__UTF8_INVALID 0xFFFFFFFFu

/* Decodes the character at p (n >= 1 bytes available).  Returns the number
 * of bytes consumed: the sequence length when valid, otherwise 1 with *cp
 * set to KIDX__UTF8_INVALID, so that decoding resumes at the next byte and
 * never swallows valid text after a bad byte. */
size_t kidx__utf8_decode(const uint8_t *p, size_t n, uint32_t *cp);

/* Encodes a scalar value (<= 0x10FFFF, not a surrogate) into out[4];
 * returns the length, 1..4. */
size_t kidx__utf8_encode(uint32_t cp, uint8_t *out);

/**************************************************************************
** Interface to code in charclass.c: which characters make words, and case
** folding.  (Covers ASCII, Latin-1, Latin Extended-A, basic Greek and
** Cyrillic; other scripts' letters count as word characters unfolded.)
*/

/* Nonzero if cp is a letter, a combining mark or a digit. */
int kidx__char_is_word(uint32_t cp);

/* Simple (one-to-one) case folding of cp; cp itself when it has none. */
uint32_t kidx__char_fold(uint32_t cp);

/**************************************************************************
** Interface to code in stem.c: the Snowball English (Porter2) stemmer.
*/

/* Stems word[0..len) in place and returns the stem's length (<= len).
 * The word must already be case-folded; bytes outside a-z and the
 * apostrophe are treated as non-vowel letters, so any UTF-8 is safe.
 * Pure function: no allocation, no state. */
size_t kidx__stem_english(char *word, size_t len);

/**************************************************************************
** Interface to code in analyze.c: the analysis pipeline shared by documents
** and queries: UTF-8 decode -> split into words -> case fold -> length cap
** -> stem.
*/

typedef struct kidx__token {
  const char *text; /* analysed term bytes, valid during the callback only */
  size_t len;       /* 1..KIDX_MAX_TOKEN_BYTES */
  size_t start;     /* byte offset of the word in the input */
  size_t end;       /* byte offset just past the word */
  uint32_t pos;     /* token position, counted from the caller's first_pos */
} kidx__token;

/* Returns 0 to continue, anything else to stop analysis with that value. */
typedef int (*kidx__token_fn)(void *ctx, const kidx__token *tok);

/* Analyses text[0..len), calling fn for each token in order, positions
 * numbered from first_pos.  Returns 0, or the first nonzero value fn
 * returned.  If next_pos is not NULL it receives the position after the
 * last token (first_pos + number of tokens). */
int kidx__analyze(const char *text, size_t len, uint32_t first_pos,
                  uint32_t *next_pos, kidx__token_fn fn, void *ctx);

/**************************************************************************
** Interface to code in strmap.c: byte string -> uint32 map owning its keys.
*/

typedef struct kidx__strmap kidx__strmap;

/* 64-bit hash of a byte string; never 0. */
uint64_t kidx__hash_bytes(const void *data, size_t len);

int kidx__strmap_new(kidx__strmap **out);
void kidx__strmap_free(kidx__strmap *m); /* NULL is a no-op */
size_t kidx__strmap_count(const kidx__strmap *m);

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

/* Appends one document's entry to b.  base is 0 for a list's first entry,
 * else the previous entry's doc + 1; pos holds the tf positions in
 * increasing order. */
int kidx__postings_put(kidx__buf *b, uint64_t base, uint32_t doc,
                       const uint32_t *pos, uint32_t tf);

/* A cursor over one encoded list.  Plain struct so it can live on the
 * stack or in an array; all fields are private to postings.c. */
typedef struct kidx__postings {
  const uint8_t *p, *end;
  uint32_t left;      /* entries not yet decoded */
  uint64_t doc_limit; /* document numbers must be < doc_limit */
  uint64_t next_base; /* previous doc + 1 */
  uint32_t doc;       /* current document */
  uint32_t tf;        /* its term frequency */
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
} kidx__wfile;

int kidx__wfile_open(kidx__wfile *f, const char *path, char *errmsg);
int kidx__wfile_write(kidx__wfile *f, const void *data, size_t len);
/* Writes at an absolute offset (after flushing), e.g. a header placeholder;
 * does not touch crc or offset. */
int kidx__wfile_pwrite(kidx__wfile *f, uint64_t offset, const void *data,
                       size_t len);
/* keep != 0: flush and fsync, keeping the file; keep == 0 or any error:
 * close and delete it.  Returns the sticky status. */
int kidx__wfile_close(kidx__wfile *f, int keep);

/* Renames tmp over path and fsyncs dir, making the new file durable. */
int kidx__fs_publish(const char *tmp, const char *path, const char *dir,
                     char *errmsg);
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
  uint32_t len; /* tokens */
  int deleted;
} kidx__docinfo;

/* Bytewise comparison of two terms (memcmp order, shorter first on a
 * common prefix): the order of the term dictionary. */
int kidx__term_cmp(const char *a, size_t alen, const char *b, size_t blen);

/**************************************************************************
** Interface to code in memindex.c: the batch being built in memory.
*/

typedef struct kidx__memindex kidx__memindex;

int kidx__memindex_new(kidx__memindex **out);
void kidx__memindex_free(kidx__memindex *mi); /* NULL is a no-op */

/* Analyses and adds a document as the batch's next document number.  If
 * the batch already had a live document with this id, it is marked deleted
 * and its number returned in *replaced (else UINT32_MAX).  On failure the
 * batch is unchanged, except after a failure half-way through writing
 * postings, which makes kidx__memindex_status() return it forever. */
int kidx__memindex_add(kidx__memindex *mi, const char *id, size_t id_len,
                       const char *title, size_t title_len, const char *body,
                       size_t body_len, uint32_t *replaced);

/* Marks the batch's live document with this id deleted; KIDX_ENOTFOUND if
 * there is none. */
int kidx__memindex_delete(kidx__memindex *mi, const char *id, size_t id_len);

int kidx__memindex_status(const kidx__memindex *mi);
uint32_t kidx__memindex_ndocs(const kidx__memindex *mi);
void kidx__memindex_doc(const kidx__memindex *mi, uint32_t doc,
                        kidx__docinfo *out);

/* All terms with at least one posting, sorted by kidx__term_cmp, in a
 * malloc'ed array the caller frees.  Pointers inside stay valid until the
 * batch is changed or freed. */
int kidx__memindex_terms(const kidx__memindex *mi, kidx__term **out,
                         size_t *count);

/**************************************************************************
** Interface to code in segment.c (reading) and segwrite.c (writing): the
** index file, format version 1, specified in doc/FORMAT.md.
*/

#define KIDX__FORMAT_VERSION 1u
/* Identifies the analysis pipeline the terms were produced with (analyze.c
 * of this version: word split, simple folding, Porter2).  A query must be
 * analysed the same way, so an unknown value is refused. */
#define KIDX__ANALYZER_V1     1u
#define KIDX__HEADER_SIZE     256u
#define KIDX__SECTABLE_OFFSET 56u
#define KIDX__TERM_ENTRY      20u /* u64 postings offset, u64 text offset, u32 df \
                                   */
#define KIDX__INDEX_FILE "index.kidx"
#define KIDX__LOCK_FILE  "write.lock"

enum {
  KIDX__SEC_POSTINGS,
  KIDX__SEC_TERMS,
  KIDX__SEC_TERMTEXT,
  KIDX__SEC_DOCLENS,
  KIDX__SEC_DOCOFFS,
  KIDX__SEC_DOCDATA,
  KIDX__SEC_COUNT
};

extern const uint8_t kidx__magic[8];

typedef struct kidx__segment {
  kidx__map map;
  uint64_t ndocs, nterms, ntokens;
  const uint8_t *sec[KIDX__SEC_COUNT];
  uint64_t sec_len[KIDX__SEC_COUNT];
} kidx__segment;

/* Maps and fully verifies an index file.  KIDX_ENOINDEX if it does not
 * exist, KIDX_EFORMAT for another format version, KIDX_ECORRUPT for any
 * damage; errmsg names the file and the problem. */
int kidx__segment_open(kidx__segment *s, const char *path, char *errmsg);
void kidx__segment_close(kidx__segment *s);

/* Term number i (< nterms), in dictionary order. */
void kidx__segment_term(const kidx__segment *s, uint64_t i, kidx__term *out);

/* Binary search: 1 and *out if the term exists, else 0. */
int kidx__segment_find(const kidx__segment *s, const char *text, size_t len,
                       kidx__term *out);

/* Document doc (< ndocs): id, title, length.  KIDX_ECORRUPT on bad data. */
int kidx__segment_doc(const kidx__segment *s, uint32_t doc, kidx__docinfo *out);

static inline uint32_t kidx__segment_doclen(const kidx__segment *s,
                                            uint32_t doc) {
  return kidx__get_u32(s->sec[KIDX__SEC_DOCLENS] + (size_t)doc * 4);
}

/* Writes a new index file at path holding the live documents of base
 * (may be NULL; deleted[] is a byte per base document, nonzero = drop)
 * followed by the live documents of mi.  The file is fsync'ed but not
 * published; on failure it is removed.  Cost: reads and re-encodes every
 * postings list once. */
int kidx__segment_write(const char *path, const kidx__segment *base,
                        const uint8_t *deleted, const kidx__memindex *mi,
                        char *errmsg);

/**************************************************************************
** Interface to code in score.c: TF-IDF and BM25 (formulas in kidx.h).
*/

typedef struct kidx__scorer {
  kidx_rank rank;
  double k1, b; /* BM25 parameters */
  double ndocs; /* N */
  double avgdl; /* mean document length in tokens */
} kidx__scorer;

void kidx__scorer_init(kidx__scorer *sc, kidx_rank rank, double k1, double b,
                       uint64_t ndocs, uint64_t ntokens);
/* The query-side weight of a term: idf(df) * qtf. */
double kidx__scorer_term_weight(const kidx__scorer *sc, uint32_t df,
                                uint32_t qtf);
/* One term's contribution to a document's score; tf >= 1. */
double kidx__scorer_score(const kidx__scorer *sc, double weight, uint32_t tf,
                          uint32_t dl);

/**************************************************************************
** Interface to code in topk.c: the bounded best-k collector.
*/

typedef struct kidx__hit {
  double score;
  uint32_t doc;
} kidx__hit;

/* Compares the ids of two documents like memcmp (< 0: a's id sorts first). */
typedef int (*kidx__id_cmp_fn)(void *ctx, uint32_t a, uint32_t b);

typedef struct kidx__topk {
  kidx__hit *heap;
  size_t k, n;
  kidx__id_cmp_fn id_cmp;
  void *ctx;
} kidx__topk;

int kidx__topk_init(kidx__topk *t, size_t k, kidx__id_cmp_fn id_cmp, void *ctx);
void kidx__topk_free(kidx__topk *t);
/* Offers a hit; kept if it ranks among the k best so far. */
void kidx__topk_push(kidx__topk *t, double score, uint32_t doc);
/* Sorts the kept hits best-first in t->heap and returns how many. */
size_t kidx__topk_finish(kidx__topk *t);

/**************************************************************************
** Interface to code in search.c: query analysis and evaluation.
*/

/* Runs query against seg (whose file is path, for messages), scoring with
 * sc and offering every matching document to topk; *total receives the
 * number of matching documents.  KIDX_EQUERY if the query has no
 * searchable word, KIDX_ECORRUPT on damaged postings. */
int kidx__search_run(const kidx__segment *seg, const char *path,
                     const char *query, size_t len, const kidx__scorer *sc,
                     kidx__topk *topk, uint64_t *total, char *errmsg);

#endif /* KIDX_INT_H */
