/*
 * kidx.h -- the public interface of libkidx, a full-text search library.
 *
 * This is the only header a program needs: include it and link with -lkidx
 * (pkg-config: `pkg-config --cflags --libs kidx`; CMake:
 * `find_package(kidx)` then `target_link_libraries(app kidx::kidx)`).
 *
 * OVERVIEW
 *
 *   An index is a directory.  A kidx_writer adds, replaces and deletes
 *   documents in it and publishes them with kidx_writer_commit(); a
 *   kidx_reader opens the last committed state and answers ranked queries
 *   with kidx_search().  A document has an id (unique within the index), a
 *   title and a body; all three are byte spans of UTF-8 text that need not
 *   be NUL-terminated.  Text that is not valid UTF-8 is accepted: each
 *   invalid byte acts as a word separator and the rest of the text is
 *   indexed normally.
 *
 *   Analysis (Unicode 15): text is split into words of letters, marks and
 *   digits in any script; punctuation, symbols and spaces separate them,
 *   so hyphenated words, e-mail addresses and URLs index as their parts.
 *   An apostrophe between two word characters stays ("Kaspersky's"), as
 *   does a '.' or ',' between two digits ("3.5").  Han, Hiragana and
 *   Katakana, written without spaces, are indexed as overlapping bigrams.
 *   Each word is brought to NFC of its full case folding (so "Straße"
 *   matches "STRASSE" and precomposed and decomposed accents are equal),
 *   accents on Latin and Greek letters are removed unless diacritic
 *   folding is off ("café" = "cafe"; Cyrillic "й" stays distinct from
 *   "и"), English stop words are removed if chosen, and words are stemmed
 *   with Snowball English (Porter2) unless stemming is off.  Words longer
 *   than KIDX_MAX_TOKEN_BYTES bytes after folding are dropped, never
 *   truncated.  The choices are made when an index is created and stored
 *   in it; queries always go through the same analysis.  See kidx_analyze()
 *   to see the terms a text produces.
 *
 * QUERY LANGUAGE
 *
 *   Bare words match documents containing them; how several combine is the
 *   search option `match`: KIDX_MATCH_ANY (default) ranks documents that
 *   have any of them (those with more of them, more often, first), as
 *   Xapian and Lucene do, so long natural-language queries still find
 *   something; KIDX_MATCH_ALL requires every one, as FTS5 does.  Operators
 *   (upper case only, so "and", "or", "not" stay searchable):
 *     a AND b, a OR b, a NOT b, -a    (precedence NOT > AND > OR)
 *     ( ... )                         grouping
 *     "exact phrase"                  words at consecutive positions
 *     NEAR(a b c, N)                  all within N other words (default 10)
 *     transpar*                       terms starting with a prefix
 *     title:word  body:"a phrase"     restricted to one field
 *   Query words go through the index's analysis.  A query that is
 *   malformed, has no searchable word, or only excluded words fails with
 *   KIDX_EQUERY and a message "query error at column N: ..." (see
 *   kidx_results_error_column).
 *
 * RANKING
 *
 *   A document's score is the sum, over the query terms that matched it
 *   (not those under NOT), of  idf(t) * S(tfc),  where the document's
 *   fields are combined BM25F-style (Robertson, Zaragoza & Taylor 2004):
 *   each field's frequency is length-normalised and weighted, and the sum
 *   goes through one saturation,
 *
 *       tfc = w_title * tf_title / B_title + w_body * tf_body / B_body
 *       B_f = (1 - b) + b * len_f / avglen_f
 *
 *     tf_f     occurrences of t in field f of the document
 *     len_f    the field's length in terms; avglen_f its mean over the index
 *     w_f      field weights: title 2, body 1 by default (a title word is
 *              worth two body words: titles are short and on topic)
 *     N, df    documents in the index, and containing t
 *   A term restricted to one field (title:word) counts only that field.
 *   The words of a phrase or NEAR are scored like the same words on their
 *   own (the phrase decides which documents match, not how much).
 *
 *   KIDX_RANK_TFIDF (default: the design's model): b = s = 0.2, Singhal's
 *   pivot slope ("Modern Information Retrieval: A Brief Overview", IEEE
 *   Data Eng. Bull. 24(4), 2001), and
 *
 *       S(x) = 1 + ln(1 + ln x)  for x >= 1,  x below 1
 *       idf  = ln((N + 1) / df)
 *
 *     The double logarithm damps repeated words; the linear piece below 1
 *     meets it with the same value and slope.  The idf never reaches zero:
 *     its floor is ln((N + 1) / N), for a term in every document.
 *
 *   KIDX_RANK_BM25: Okapi BM25 (Robertson & Zaragoza, "The Probabilistic
 *   Relevance Framework: BM25 and Beyond", 2009), b = 0.75, k1 = 1.2 by
 *   default:
 *
 *       S(x) = x * (k1 + 1) / (x + k1)
 *       idf  = ln(1 + (N - df + 0.5) / (df + 0.5))
 *
 *     This idf is always positive (floor ln(1 + 0.5 / (N + 0.5))), unlike
 *     the classic Robertson-Sparck Jones form, which goes negative for
 *     terms in more than half of the documents.
 *
 *   Ties: hits with equal scores are ordered by id (bytewise ascending), so
 *   results are the same whatever the order documents were added in.
 *
 * ERRORS
 *
 *   Every function that can fail returns a kidx_status: KIDX_OK (0) or a
 *   negative KIDX_E* code.  The handle the call was made on keeps a
 *   one-line message describing the last failure (kidx_writer_errmsg(),
 *   kidx_reader_errmsg(), kidx_results_errmsg(), kidx_document_errmsg():
 *   a search or fetch reports into its results or document object, so
 *   that threads sharing a reader never share a message); it names the
 *   file or the argument concerned.  The library never prints, never
 *   exits and never aborts on bad input or a damaged index.
 *
 * OWNERSHIP AND LIFETIMES
 *
 *   - Handles are created by kidx_*_new() and released by the matching
 *     close/free function, which accepts NULL.  A handle whose open failed
 *     is still valid: read its message, then close it.
 *   - Byte spans passed in are only read during the call; the library keeps
 *     copies of whatever it needs.
 *   - Pointers returned by kidx_results_id() and kidx_results_title() point
 *     into the results object and stay valid until the next kidx_search()
 *     into that object or kidx_results_free().  Those returned by
 *     kidx_document_id(), _title() and _body() point into the document
 *     object and stay valid until the next kidx_reader_get() into that
 *     object or kidx_document_free().  Metadata returned by a
 *     reader stays valid until kidx_reader_close(); by a writer, until its
 *     next kidx_writer_set_metadata() or kidx_writer_close().  Error messages
 * stay valid until the next call on the same handle.
 *
 * THREADS AND PROCESSES
 *
 *   There is no global state; handles are independent.  A kidx_reader is
 *   immutable once open: any number of threads may call kidx_search(),
 *   kidx_reader_get() and kidx_reader_stats() on the same reader at once,
 *   as long as each thread uses its own kidx_results and kidx_document (a
 *   results or document object is used by one thread at a time).  A
 *   kidx_writer must be used by one thread at a time.  Any number of
 *   readers, in any processes, may have an index open while one writer
 *   updates it: a reader sees the commit that was current when it was
 *   opened.  To see later commits, open a new reader from it with
 *   kidx_reader_reopen(), which may run while other threads search the
 *   old one, and which shares the unchanged segments with it.  Only one
 *   writer at a time may hold an index; a second kidx_writer_open() fails
 *   with KIDX_EBUSY.
 *
 * CAVEATS
 *
 *   - Each commit writes at least one new segment file and fsyncs it, the
 *     MANIFEST and the directory: commit after a batch of documents, not
 *     after each one (merges keep the segment count low either way).
 *   - Merges run inside the writer's calls (an add that flushes, commit,
 *     kidx_writer_optimize), not in the background.
 *   - Do not use handles in a child process after fork().
 */
#ifndef KIDX_H
#define KIDX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Symbols marked KIDX_API are the library's exported interface; everything
 * else is compiled with hidden visibility. */
#if defined(_WIN32) && defined(KIDX_SHARED_BUILD)
#define KIDX_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define KIDX_API __attribute__((visibility("default")))
#else
#define KIDX_API
#endif

/* ---------------------------------------------------------------------- */
/* Version                                                                */
/* ---------------------------------------------------------------------- */

/* Library versions with the same major number are ABI compatible (from
 * 1.0 on; during 0.x the minor number plays that role).  The on-disk format
 * has a version of its own, see doc/FORMAT.md. */
#define KIDX_VERSION_MAJOR  0
#define KIDX_VERSION_MINOR  5
#define KIDX_VERSION_PATCH  0
#define KIDX_VERSION_STRING "0.5.0"
#define KIDX_VERSION_NUMBER                                                    \
  ((KIDX_VERSION_MAJOR << 16) | (KIDX_VERSION_MINOR << 8) | KIDX_VERSION_PATCH)

/* The version of the library linked at run time, as KIDX_VERSION_NUMBER
 * would give it; may differ from the header's when linked dynamically. */
KIDX_API unsigned kidx_version(void);
/* The same as a string, e.g. "0.2.0".  Static storage, never NULL. */
KIDX_API const char *kidx_version_string(void);

/* ---------------------------------------------------------------------- */
/* Status codes                                                           */
/* ---------------------------------------------------------------------- */

/* One table feeds the enum and kidx_strerror(). */
#define KIDX_STATUS_MAP(XX)                                                    \
  XX(NOMEM, -1, "out of memory")                                               \
  XX(INVAL, -2, "invalid argument")                                            \
  XX(IO, -3, "input/output error")                                             \
  XX(CORRUPT, -4, "index is corrupt")                                          \
  XX(FORMAT, -5, "unsupported index format version")                           \
  XX(NOINDEX, -6, "no index in directory")                                     \
  XX(QUERY, -7, "query error")                                                 \
  XX(BUSY, -8, "index is locked by another writer")                            \
  XX(TOOBIG, -9, "size limit exceeded")                                        \
  XX(NOTFOUND, -10, "no such document")

typedef enum kidx_status {
  KIDX_OK = 0,
#define KIDX__STATUS_ENUM(name, value, text) KIDX_E##name = value,
  KIDX_STATUS_MAP(KIDX__STATUS_ENUM)
#undef KIDX__STATUS_ENUM
} kidx_status;

/* A short description of a status code ("index is corrupt").  Static
 * storage, never NULL; unknown codes give "unknown error". */
KIDX_API const char *kidx_strerror(kidx_status status);

/* Longest token kept, in bytes of UTF-8 after case folding.  Longer words
 * (hashes, base64, run-together junk) are dropped rather than truncated,
 * because a truncated prefix would match unrelated words. */
#define KIDX_MAX_TOKEN_BYTES 64

/* ---------------------------------------------------------------------- */
/* Analysis                                                               */
/* ---------------------------------------------------------------------- */

/* How text is turned into terms.  The analysis is chosen when an index is
 * created and stored in it; queries against the index are always analysed
 * the same way (see kidx_writer_set_analyzer and kidx_reader_analyzer). */
typedef enum kidx_stemmer {
  KIDX_STEM_NONE = 0,   /* terms are the folded words */
  KIDX_STEM_ENGLISH = 1 /* Snowball English (Porter2) */
} kidx_stemmer;

typedef enum kidx_stopwords {
  KIDX_STOPWORDS_NONE = 0,   /* every word is indexed */
  KIDX_STOPWORDS_ENGLISH = 1 /* the Snowball English list (174 words) */
} kidx_stopwords;

/* Always initialise with kidx_analyzer_init(), then change fields; as with
 * kidx_search_options, `size` tells the library which fields the caller
 * knows about. */
typedef struct kidx_analyzer {
  size_t size;              /* sizeof(kidx_analyzer); set by init */
  kidx_stemmer stemmer;     /* default KIDX_STEM_ENGLISH */
  kidx_stopwords stopwords; /* default KIDX_STOPWORDS_NONE */
  int fold_diacritics;      /* remove accents on Latin and Greek letters;
                               default 1 */
} kidx_analyzer;

KIDX_API void kidx_analyzer_init(kidx_analyzer *a);

/* One token produced by kidx_analyze(). */
typedef struct kidx_token {
  const char *text;  /* the term, UTF-8; valid during the callback only */
  size_t len;        /* its length in bytes */
  size_t start;      /* byte offset of the word in the analysed text */
  size_t end;        /* byte offset just past the word */
  uint32_t position; /* word position, counting removed stop words and
                        dropped over-long words */
} kidx_token;

/* Called for each token; return 0 to go on, nonzero to stop. */
typedef int (*kidx_token_fn)(void *ctx, const kidx_token *tok);

/* Analyses text[0..len) with analyzer a (NULL: the defaults), calling fn
 * for each token in order.  Returns KIDX_OK (also when fn stopped early),
 * KIDX_EINVAL for bad options, KIDX_ENOMEM. */
KIDX_API kidx_status kidx_analyze(const kidx_analyzer *a, const char *text,
                                  size_t len, kidx_token_fn fn, void *ctx);

/* ---------------------------------------------------------------------- */
/* Writing an index                                                       */
/* ---------------------------------------------------------------------- */

typedef struct kidx_writer kidx_writer;

/* Allocates a writer.  Only fails with KIDX_ENOMEM (then *out is NULL).
 * Release it with kidx_writer_close(). */
KIDX_API kidx_status kidx_writer_new(kidx_writer **out);

/* Chooses the analysis for the index kidx_writer_open() will open: used
 * when it creates a new index; when the index exists and was created with
 * a different analysis, kidx_writer_open() fails with KIDX_EINVAL and a
 * message saying which setting differs.  Without this call, a new index
 * gets the defaults of kidx_analyzer_init() and an existing one keeps its
 * own.  Call before kidx_writer_open().  Errors: KIDX_EINVAL. */
KIDX_API kidx_status kidx_writer_set_analyzer(kidx_writer *w,
                                              const kidx_analyzer *a);

/* Opens the index in directory `dir` for writing, creating the directory
 * (one level) and an empty index when there is none.  Takes the index's
 * writer lock, held until kidx_writer_close().
 * Errors: KIDX_EBUSY (another writer holds the lock), KIDX_EIO,
 * KIDX_ECORRUPT, KIDX_EFORMAT, KIDX_EINVAL (already open, or the index's
 * analysis differs from the one set with kidx_writer_set_analyzer). */
KIDX_API kidx_status kidx_writer_open(kidx_writer *w, const char *dir);

/* Adds a document.  An id that is already in the index (committed or added
 * earlier in this batch) replaces that document when the batch is
 * committed.  id must be 1 to 65535 bytes; title and body may be empty
 * (a NULL pointer is allowed with length 0).  Title and body are both
 * searched; the title is also returned with each hit.
 * Errors: KIDX_EINVAL, KIDX_ENOMEM, KIDX_ETOOBIG (a document over 4 GiB,
 * or more than 2^32 - 2 documents in an index). */
KIDX_API kidx_status kidx_writer_add(kidx_writer *w, const char *id,
                                     size_t id_len, const char *title,
                                     size_t title_len, const char *body,
                                     size_t body_len);

/* A document's source stamp: what the caller uses to tell whether the
 * source of a document changed since it was indexed (the kidx tool: the
 * file's size, modification time and content hash).  Stored with the
 * document and returned as given; the library does not interpret it. */
typedef struct kidx_stamp {
  uint64_t size;    /* e.g. the source's size in bytes */
  int64_t mtime_ns; /* e.g. its modification time, in ns since the epoch */
  uint64_t hash;    /* e.g. kidx_stamp_hash() of its content */
} kidx_stamp;

/* A 64-bit hash of data[0..len), the same on every platform and version
 * of this library: for kidx_stamp.hash.  Not cryptographic. */
KIDX_API uint64_t kidx_stamp_hash(const void *data, size_t len);

/* kidx_writer_add() with a source stamp (NULL: none, stored as zeros). */
KIDX_API kidx_status kidx_writer_add_stamped(kidx_writer *w, const char *id,
                                             size_t id_len, const char *title,
                                             size_t title_len, const char *body,
                                             size_t body_len,
                                             const kidx_stamp *stamp);

/* The stamp of the live document with this id, committed or pending (zeros
 * if it was added without one).  Errors: KIDX_ENOTFOUND, KIDX_EINVAL. */
KIDX_API kidx_status kidx_writer_stamp(kidx_writer *w, const char *id,
                                       size_t id_len, kidx_stamp *out);

/* Replaces the stamp of the live document with this id, keeping its text
 * and terms (for a source that was touched but did not change): applied on
 * commit, counted as a pending change.  Segments never change, so a
 * committed document is added again from its stored text with the new
 * stamp (the cost of adding it, without reading its source).
 * Errors: KIDX_ENOTFOUND, KIDX_EINVAL, KIDX_ENOMEM, KIDX_EIO. */
KIDX_API kidx_status kidx_writer_restamp(kidx_writer *w, const char *id,
                                         size_t id_len,
                                         const kidx_stamp *stamp);

/* Calls fn for every live document, committed or pending, with its id (not
 * NUL-terminated, valid during the call) and stamp, in no particular
 * order; fn returns 0 to go on, nonzero to stop.  fn must not change the
 * writer.  Used to find documents whose sources are gone (kidx index
 * --prune).  Errors: KIDX_EINVAL. */
KIDX_API kidx_status kidx_writer_foreach(kidx_writer *w,
                                         int (*fn)(void *ctx, const char *id,
                                                   size_t id_len,
                                                   const kidx_stamp *stamp),
                                         void *ctx);

/* Deletes the document with this id when the batch is committed.  Also
 * cancels an add of the same id made earlier in this batch.
 * Errors: KIDX_ENOTFOUND (no such id, committed or pending), KIDX_EINVAL. */
KIDX_API kidx_status kidx_writer_delete(kidx_writer *w, const char *id,
                                        size_t id_len);

/* Index metadata: a small map from keys to values that the caller keeps
 * with the index, committed atomically with the documents (Lucene's commit
 * user data, Xapian's metadata): say, where the documents came from, or
 * the state of a synchronisation.  The kidx tool keeps the roots of
 * `kidx index` under keys starting with "kidx.cli."; other programs should
 * use a prefix of their own.  Keys and values are byte strings (any bytes,
 * not NUL-terminated).  The whole map is written with every commit, so it
 * is meant for kilobytes, not for document data. */

/* Longest metadata key, in bytes. */
#define KIDX_MAX_METADATA_KEY 255
/* Most bytes of metadata in an index: all keys and values together. */
#define KIDX_MAX_METADATA_BYTES ((size_t)16 << 20)

/* Sets key to value, or deletes key when value is NULL or value_len is 0
 * (deleting a key that is not there is not an error).  Like adds and
 * deletes, the change is published by the next kidx_writer_commit(), in
 * the same atomic step as the documents, and discarded if the writer is
 * closed without one.  Setting the value a key has already is not a
 * change, nor is setting other values and then the committed one back:
 * metadata that ends as committed makes a commit write nothing.
 * Errors: KIDX_EINVAL (key empty or longer than KIDX_MAX_METADATA_KEY
 * bytes, NULL with a nonzero length, writer not open), KIDX_ETOOBIG (the
 * metadata would exceed KIDX_MAX_METADATA_BYTES), KIDX_ENOMEM; on error
 * the metadata is unchanged. */
KIDX_API kidx_status kidx_writer_set_metadata(kidx_writer *w, const char *key,
                                              size_t key_len, const char *value,
                                              size_t value_len);

/* The value of key as this writer has it: committed, or set since.  On
 * KIDX_OK *value (not NUL-terminated) and *value_len receive it; the
 * pointer is owned by the writer and valid until the next
 * kidx_writer_set_metadata() or kidx_writer_close().
 * Errors: KIDX_ENOTFOUND (no such key), KIDX_EINVAL. */
KIDX_API kidx_status kidx_writer_get_metadata(const kidx_writer *w,
                                              const char *key, size_t key_len,
                                              const char **value,
                                              size_t *value_len);

/* Makes all adds and deletes since the last commit visible, atomically.
 * The index is a set of immutable segment files listed, with their
 * deleted documents, in a file MANIFEST.  Commit writes the batch as a
 * new segment, runs the merge policy, writes the new list to
 * MANIFEST.tmp, flushes it to disk, renames it over MANIFEST and flushes
 * the directory: that rename is the commit.  A crash at any moment leaves
 * either the old or the new commit (files of neither are removed by the
 * next writer).  Files only older commits list are removed after the
 * commit; readers that have them open keep reading them.  On failure the
 * previous commit is untouched and the pending changes are kept, so the
 * commit can be retried; when flushing the directory fails after the
 * rename (KIDX_EIO, saying so), the new commit is already visible (and
 * the files of the previous one are kept, in case a power loss brings its
 * MANIFEST back).  A merge that fails (say, no room for its output) is
 * skipped, its segments left as they were: merging only saves space and
 * search time, so it never keeps documents from being committed.
 * Errors: KIDX_EIO, KIDX_ENOMEM, KIDX_ETOOBIG. */
KIDX_API kidx_status kidx_writer_commit(kidx_writer *w);

/* Smallest RAM budget kidx_writer_set_ram_budget() accepts. */
#define KIDX_MIN_RAM_BUDGET (64u * 1024u)

/* Sets the memory the batch of added documents may use (their text, terms
 * and postings, as allocated) before it is written out as a new segment:
 * default 64 MiB.  What indexing needs beyond it is small and fixed (a
 * stem cache under 1 MiB, buffers, a merge's working set); see bench/ for
 * the peak measured.  Segments written this way become visible at the
 * next commit.  Errors: KIDX_EINVAL (below KIDX_MIN_RAM_BUDGET). */
KIDX_API kidx_status kidx_writer_set_ram_budget(kidx_writer *w, size_t bytes);

/* Sets the merge factor F (2 to 1000, default 10): segments are grouped
 * in levels by size, each F times larger than the one below, and F
 * segments of one level are merged into one of the next; so an index
 * holds at most F - 1 segments per level, O(F log_F size) in all.
 * Smaller F: fewer segments (faster search), more rewriting (slower
 * indexing).  A segment with a quarter of its documents deleted is
 * rewritten to reclaim their space.  Errors: KIDX_EINVAL. */
KIDX_API kidx_status kidx_writer_set_merge_factor(kidx_writer *w,
                                                  unsigned factor);

/* Writes the batch out and merges all segments into one, without deleted
 * documents (Lucene's forceMerge(1)); visible at the next commit.  Search
 * gives the same hits and scores before and after: its statistics are
 * always those of the live documents of the whole index.
 * Errors: KIDX_EIO, KIDX_ENOMEM, KIDX_ETOOBIG. */
KIDX_API kidx_status kidx_writer_optimize(kidx_writer *w);

/* Number of documents added or deleted since the last commit. */
KIDX_API uint64_t kidx_writer_pending(const kidx_writer *w);

/* Discards uncommitted changes, releases the lock and frees the writer.
 * NULL is a no-op. */
KIDX_API void kidx_writer_close(kidx_writer *w);

/* Message for the last failed call on w, or "" if there was none.  Valid
 * until the next call on w. */
KIDX_API const char *kidx_writer_errmsg(const kidx_writer *w);

/* ---------------------------------------------------------------------- */
/* Reading an index                                                       */
/* ---------------------------------------------------------------------- */

typedef struct kidx_reader kidx_reader;

/* Allocates a reader.  Only fails with KIDX_ENOMEM. */
KIDX_API kidx_status kidx_reader_new(kidx_reader **out);

/* Opens the last committed state of the index in `dir`.  Cost: reads the
 * MANIFEST and each segment file's header, a bounded amount whatever the
 * index's size.  The rest of the index is checksummed in 32 KiB pages,
 * each verified the first time a call reads it: a damaged page makes the
 * calls that need it fail with KIDX_ECORRUPT (the message names the file
 * and section) while the others keep working; kidx_reader_check()
 * verifies everything.  Errors: KIDX_ENOINDEX (no index there), KIDX_ECORRUPT,
 * KIDX_EFORMAT (an index written by another format version), KIDX_EIO,
 * KIDX_EINVAL (already open). */
KIDX_API kidx_status kidx_reader_open(kidx_reader *r, const char *dir);

/* Opens in r (new, or closed by a failed open) the last committed state of
 * the index that `from` has open, taking from `from` every segment file
 * both commits hold: those are not mapped or verified again, and r and
 * `from` share them (each may be closed first, in any thread).  Only new
 * segment files are mapped and verified, and the deletions and
 * statistics are read afresh, so the cost is proportional to what
 * changed, not to the index.  `from` is unchanged and stays usable:
 * other threads may go on searching it during the call, and it keeps
 * answering from its own commit until closed.  Typical use:
 *
 *     kidx_reader *next;
 *     if (kidx_reader_new(&next) == KIDX_OK &&
 *         kidx_reader_reopen(next, cur) == KIDX_OK) {
 *       kidx_reader_close(cur);   (once no thread uses it any more)
 *       cur = next;
 *     } else {
 *       ... kidx_reader_errmsg(next); kidx_reader_close(next);
 *     }
 *
 * KIDX_OK whether or not anything was committed since `from` was opened;
 * compare kidx_reader_generation() of both to tell (when it is equal, r
 * holds the same documents as `from`, at the cost of reading the
 * MANIFEST).  On failure r stays unopened, with the reason in
 * kidx_reader_errmsg(r), and `from` is as it was.
 * Errors: as kidx_reader_open() (KIDX_ENOINDEX when the index was
 * removed), KIDX_EINVAL (r already open, or `from` not open).
 *
 * Why a new reader rather than changing `from` in place: an open reader
 * never changes (its metadata, the results' statistics and concurrent
 * searches rely on it), so a reopen needs no locking and a failure
 * leaves nothing half-updated (Lucene's DirectoryReader.openIfChanged
 * makes the same choice).  The error message goes to r, so that a reopen
 * does not write into a reader other threads may be reading. */
KIDX_API kidx_status kidx_reader_reopen(kidx_reader *r,
                                        const kidx_reader *from);

/* The generation of the commit r has open (kidx_stats.generation: commits
 * made to the index when it was published), or 0 if r is not open.  Two
 * readers of one index with the same generation see the same commit. */
KIDX_API uint64_t kidx_reader_generation(const kidx_reader *r);

/* Frees the reader.  NULL is a no-op. */
KIDX_API void kidx_reader_close(kidx_reader *r);

/* Message for the last failed call on r, or "". */
KIDX_API const char *kidx_reader_errmsg(const kidx_reader *r);

typedef struct kidx_stats {
  uint64_t documents;    /* live documents */
  uint64_t terms;        /* distinct terms in the segments (one that only
                            deleted documents hold counts until a merge) */
  uint64_t tokens;       /* tokens indexed, over the live documents */
  uint64_t bytes;        /* bytes on disk of the index files */
  uint64_t stored_bytes; /* of those, the stored document text: titles
                            (kept for results, as they are) and bodies
                            (for snippets, compressed in blocks) */
  uint64_t segments;     /* segment files of the commit */
  uint64_t deleted;      /* deleted documents still held by segments (their
                            space is reclaimed when a merge rewrites them) */
  uint64_t generation;   /* commits made to the index so far */
} kidx_stats;

/* Fills *out for an open reader.  Cost: counting distinct terms merges
 * the segments' dictionaries.  Errors: KIDX_EINVAL (not open),
 * KIDX_ENOMEM, KIDX_ECORRUPT (a damaged dictionary page). */
KIDX_API kidx_status kidx_reader_stats(const kidx_reader *r, kidx_stats *out);

/* Verifies the whole open index: every page checksum, every table (the
 * dictionary's order and block index, monotonic offset tables, lengths
 * adding up, document records, the id table), then decodes every
 * postings list in full and
 * checks it against the dictionary and the document table (document
 * numbers, frequencies, positions within the fields' bounds), and that
 * terms are in strict order.  KIDX_OK, or KIDX_ECORRUPT with the first
 * problem in kidx_reader_errmsg().  Cost: reads the whole index. */
KIDX_API kidx_status kidx_reader_check(kidx_reader *r);

/* The analysis the index was created with (what its queries go through).
 * Errors: KIDX_EINVAL (not open). */
KIDX_API kidx_status kidx_reader_analyzer(const kidx_reader *r,
                                          kidx_analyzer *out);

/* The value of metadata key in the reader's commit (see
 * kidx_writer_set_metadata).  On KIDX_OK *value (not NUL-terminated) and
 * *value_len receive it; the pointer is owned by the reader and valid
 * until kidx_reader_close() (a reader never changes once open).
 * Errors: KIDX_ENOTFOUND (no such key), KIDX_EINVAL (not open). */
KIDX_API kidx_status kidx_reader_get_metadata(const kidx_reader *r,
                                              const char *key, size_t key_len,
                                              const char **value,
                                              size_t *value_len);

/* Number of metadata keys in the reader's commit (0 if not open). */
KIDX_API size_t kidx_reader_metadata_count(const kidx_reader *r);

/* The i-th metadata entry (0 <= i < kidx_reader_metadata_count()), in
 * bytewise order of keys: key, value and their lengths, owned by the
 * reader as with kidx_reader_get_metadata.  Any output may be NULL.
 * Errors: KIDX_ENOTFOUND (i out of range), KIDX_EINVAL (not open). */
KIDX_API kidx_status kidx_reader_metadata_at(const kidx_reader *r, size_t i,
                                             const char **key, size_t *key_len,
                                             const char **value,
                                             size_t *value_len);

/* ---------------------------------------------------------------------- */
/* Fetching documents                                                     */
/* ---------------------------------------------------------------------- */

/* A document fetched by id: its id, title and body as they were added,
 * byte for byte, and its source stamp.  Opaque; one object can receive
 * any number of fetches in turn (each replaces the previous document), so
 * a loop over many ids allocates nothing once the object has grown to the
 * largest document.  Used by one thread at a time; give each thread its
 * own (the reader may be shared, see THREADS AND PROCESSES). */
typedef struct kidx_document kidx_document;

/* Allocates an empty document object, or returns NULL when out of memory.
 * Release it with kidx_document_free(). */
KIDX_API kidx_document *kidx_document_new(void);

/* Frees the document object and the bytes it holds.  NULL is a no-op. */
KIDX_API void kidx_document_free(kidx_document *doc);

/* Fetches the live document whose id is id[0..id_len) (any bytes, NUL
 * and invalid UTF-8 included) in the reader's commit into doc, copying
 * its id, title, body and stamp into doc: they stay valid after
 * kidx_reader_close().  A document that was deleted, or replaced by a
 * later add of the same id, is not there: the fetch sees what a search
 * on r sees (the latest version committed when r was opened), never a
 * writer's uncommitted changes.  r is only read (see THREADS AND
 * PROCESSES).  Cost: per segment, newest first, a binary search of the
 * id table's sampled hashes and of about six key records, and a copy of
 * the document's text.
 * On failure doc is left empty (its accessors give NULL and length 0)
 * and kidx_document_errmsg(doc) says why.
 * Errors: KIDX_ENOTFOUND (no live document with this id; also for an
 * empty id, or one over 65535 bytes, which no document can have),
 * KIDX_ECORRUPT (the document's record is damaged: the message names the
 * segment file and the section), KIDX_ENOMEM, KIDX_EINVAL (r not open,
 * doc NULL, id NULL with id_len > 0). */
KIDX_API kidx_status kidx_reader_get(const kidx_reader *r, const char *id,
                                     size_t id_len, kidx_document *doc);

/* The fetched document's id, title and body (not NUL-terminated; length
 * in *len, which may be NULL).  Owned by doc, valid until the next
 * kidx_reader_get() into doc or kidx_document_free().  NULL (and *len 0)
 * when doc is NULL or empty: new, or after a failed fetch.  An empty
 * title or body of a fetched document is a non-NULL pointer with
 * *len 0. */
KIDX_API const char *kidx_document_id(const kidx_document *doc, size_t *len);
KIDX_API const char *kidx_document_title(const kidx_document *doc, size_t *len);
KIDX_API const char *kidx_document_body(const kidx_document *doc, size_t *len);

/* The fetched document's stamp, as given to kidx_writer_add_stamped()
 * (zeros when it had none, or when doc is empty). */
KIDX_API void kidx_document_stamp(const kidx_document *doc, kidx_stamp *out);

/* Message for the last failed kidx_reader_get() into doc, or "". */
KIDX_API const char *kidx_document_errmsg(const kidx_document *doc);

/* ---------------------------------------------------------------------- */
/* Searching                                                              */
/* ---------------------------------------------------------------------- */

typedef enum kidx_rank {
  KIDX_RANK_TFIDF = 0, /* pivoted TF-IDF, see RANKING above */
  KIDX_RANK_BM25 = 1   /* Okapi BM25 */
} kidx_rank;

/* How words written next to each other combine (see QUERY LANGUAGE). */
typedef enum kidx_match {
  KIDX_MATCH_ANY = 0, /* a document matching any of them is a hit */
  KIDX_MATCH_ALL = 1  /* every one of them is required */
} kidx_match;

/* The fields of a document, as indexes into per-field arrays. */
enum { KIDX_FIELD_TITLE = 0, KIDX_FIELD_BODY = 1, KIDX_NFIELDS = 2 };

/* Search options.  Always initialise with kidx_search_options_init() and
 * then change fields: new fields are only ever appended, and `size` tells
 * the library which ones the caller knows about. */
typedef struct kidx_search_options {
  size_t size;          /* sizeof(kidx_search_options); set by init */
  size_t limit;         /* hits to return; default 10 */
  size_t offset;        /* best hits to skip first (paging); default 0 */
  kidx_rank rank;       /* ranking model; default KIDX_RANK_TFIDF */
  double bm25_k1;       /* BM25 tf saturation; default 1.2, must be >= 0 */
  double bm25_b;        /* BM25 length normalisation; default 0.75, in [0,1] */
  kidx_match match;     /* default KIDX_MATCH_ANY */
  double title_weight;  /* field weight w_title; default 2.0, >= 0 */
  double body_weight;   /* field weight w_body; default 1.0, >= 0 */
  size_t snippet_words; /* words per snippet; default 30; 0: no snippets */
  int explain;          /* nonzero: keep each hit's score breakdown */
  int exact_total;      /* nonzero: count every match for
                           kidx_results_total(), scoring each (slower on
                           large indexes); default 0: documents that cannot
                           be among the best offset+limit are skipped
                           unscored and the total is a lower bound */
} kidx_search_options;

KIDX_API void kidx_search_options_init(kidx_search_options *opt);

typedef struct kidx_results kidx_results;

/* Most terms a query may have (every word, phrase word, NEAR word and
 * prefix counts, repeats included): bounds the work of one query, and is
 * far above what people type. */
#define KIDX_MAX_QUERY_TERMS 1024

/* Allocates an empty results object.  One results object can receive any
 * number of searches in turn (each replaces the previous hits). */
KIDX_API kidx_status kidx_results_new(kidx_results **out);

/* Frees results.  NULL is a no-op. */
KIDX_API void kidx_results_free(kidx_results *res);

/* Message for the last failed kidx_search() into res, or "". */
KIDX_API const char *kidx_results_errmsg(const kidx_results *res);

/* Runs `query` (query_len bytes of UTF-8) against r and puts the hits
 * ranked offset+1 .. offset+limit into res.  opt may be NULL for the
 * defaults.  Cost: reads the postings of the query's terms at most once,
 * skipping blocks of 128 documents that cannot reach the best
 * offset+limit (with exact_total, or a field weight between 0 and 1e-200,
 * whose scores are subnormal numbers, scoring every match instead), and once
 * more for the snippets and explanations of the page's hits; segments the
 * page's bodies up to the end of their snippets.
 * Errors: KIDX_EQUERY (a malformed query, with the place in
 * kidx_results_error_column(); no searchable word; only excluded words;
 * more than KIDX_MAX_QUERY_TERMS terms; a prefix matching too many terms),
 * KIDX_EINVAL (bad options), KIDX_ENOMEM, KIDX_ECORRUPT (damaged postings
 * met while reading). */
KIDX_API kidx_status kidx_search(const kidx_reader *r, const char *query,
                                 size_t query_len,
                                 const kidx_search_options *opt,
                                 kidx_results *res);

/* Number of hits held in res (at most the limit). */
KIDX_API size_t kidx_results_count(const kidx_results *res);

/* Number of documents that matched the query, or a lower bound of it:
 * a search finds its best hits without scoring the documents that cannot
 * be among them (dynamic pruning; the hits are exactly those an
 * exhaustive evaluation gives), and then counts only the documents it
 * scored.  kidx_results_total_is_exact() says which; set
 * kidx_search_options.exact_total for an exact count. */
KIDX_API uint64_t kidx_results_total(const kidx_results *res);
KIDX_API int kidx_results_total_is_exact(const kidx_results *res);

/* After a KIDX_EQUERY failure: the 1-based column (in characters) of the
 * error in the query, or 0 when the error is not at one place ("no
 * searchable words").  0 after other failures. */
KIDX_API size_t kidx_results_error_column(const kidx_results *res);

/* The i-th hit (0 = best of this page): its id and title (not
 * NUL-terminated; length in *len, which may be NULL) and its score.
 * Out-of-range i gives NULL / 0.0. */
KIDX_API const char *kidx_results_id(const kidx_results *res, size_t i,
                                     size_t *len);
KIDX_API const char *kidx_results_title(const kidx_results *res, size_t i,
                                        size_t *len);
KIDX_API double kidx_results_score(const kidx_results *res, size_t i);

/* A span of bytes [start, end). */
typedef struct kidx_span {
  size_t start, end;
} kidx_span;

/* The snippet of a hit: the passage of the body (about snippet_words words)
 * that best shows why it matched, with the matched words located.  The
 * passage starts and ends on word boundaries, so it is valid UTF-8 where
 * the body is.  When no body word matched (a title-only hit), it is the
 * start of the body.  kidx_reader_get() gives the whole body, which offset
 * indexes (to show the passage in context, or to compare the body with
 * its source). */
typedef struct kidx_snippet {
  const char *text;            /* the passage (not NUL-terminated) */
  size_t len;                  /* its length in bytes */
  size_t offset;               /* where it starts in the body */
  size_t body_len;             /* the body's length: text ends the body when
                                  offset + len == body_len */
  const kidx_span *highlights; /* matched words, offsets into text, in order */
  size_t nhighlights;
} kidx_snippet;

/* The snippet of hit i, owned by res (valid as kidx_results_id's result);
 * NULL if i is out of range or snippets were not asked for. */
KIDX_API const kidx_snippet *kidx_results_snippet(const kidx_results *res,
                                                  size_t i);

/* One query term's share of a hit's score (with opt.explain set).  The
 * shares of a hit add up to its score. */
typedef struct kidx_explain {
  const char *term; /* the analysed term (not NUL-terminated) */
  size_t term_len;
  int field;                   /* -1: both fields; else the KIDX_FIELD_* it was
                                  restricted to (title:word) */
  uint64_t df;                 /* documents containing the term */
  double idf;                  /* its inverse document frequency */
  uint32_t tf[KIDX_NFIELDS];   /* occurrences in each field */
  uint32_t len[KIDX_NFIELDS];  /* the field's length in terms */
  double norm[KIDX_NFIELDS];   /* length normalisation B_f */
  double weight[KIDX_NFIELDS]; /* field weight w_f (0 if excluded) */
  double tfc;   /* combined frequency: sum of weight * tf / norm */
  double score; /* idf * saturation(tfc): this term's share */
} kidx_explain;

/* Number of explanation entries of hit i, and entry j (owned by res;
 * valid as kidx_results_id's result).  0 / NULL without opt.explain. */
KIDX_API size_t kidx_results_explain_count(const kidx_results *res, size_t i);
KIDX_API const kidx_explain *kidx_results_explain(const kidx_results *res,
                                                  size_t i, size_t j);

#ifdef __cplusplus
}
#endif

#endif /* KIDX_H */
