/*
 * peer.h -- the interface between kidx_bench and the search engines it
 * measures.
 *
 * kidx_bench drives every engine, kidx included, through a bench_engine
 * table, so one piece of code reads the files, splits title and body,
 * times the adds and the commit, forks the indexing process and times the
 * queries for all of them: whatever the benchmark does to kidx, it does to
 * the peer in the same way.  A peer (peer_fts5.c, peer_xapian.cc,
 * peer_lucene.c) lives in its own file, is compiled only when its library
 * is found, and is declared at the bottom of this header.
 *
 * Calls return PEER_OK, PEER_FAIL or (index_open only) PEER_UNAVAILABLE,
 * which means the engine is missing at run time (e.g. SQLite built without
 * FTS5): the benchmark then reports the peer as not available and goes on.
 * On failure they write a one-line message into err, which has room for
 * PEER_ERR_MAX bytes.  Handles are void pointers so that each engine's file
 * keeps its own types to itself.
 */
#ifndef KIDX_BENCH_PEER_H
#define KIDX_BENCH_PEER_H

#include <stddef.h>
#include <stdint.h>

#define PEER_ERR_MAX 512

#define PEER_OK          0
#define PEER_FAIL        (-1)
#define PEER_UNAVAILABLE (-2)

/* How the words of a query combine (search_open's match). */
#define PEER_MATCH_ANY 0 /* union: documents with any of the words */
#define PEER_MATCH_ALL 1 /* AND: documents with every word */

/* search()'s *self_ns when the engine does not time itself. */
#define PEER_NO_SELF_TIME UINT64_MAX

#ifdef __cplusplus
extern "C" {
#endif

/* One document, exactly as kidx receives it.  The spans point into the
 * file buffer and are only valid during index_add(); they are not
 * NUL-terminated. */
typedef struct bench_doc {
  uint64_t docno; /* 1, 2, 3, ... in the order documents are added */
  const char *id; /* path relative to the corpus directory */
  size_t id_len;
  const char *title;
  size_t title_len;
  const char *body;
  size_t body_len;
} bench_doc;

typedef struct bench_engine {
  /* Short lower-case name: report label and JSON key prefix ("fts5"). */
  const char *name;
  /* Index layouts that are built and measured.  Variant 0 is the main one
   * (the one queried); its name is the engine's.  The others are only
   * indexed, and appear as "<name> <variant>" and "<name>_<variant>_" in
   * the report and in JSON. */
  const char *const *variants;
  unsigned nvariants;
  /* For the report: what each variant is (entry 0 unused), and how the
   * queries are put to the engine. */
  const char *const *variant_notes;
  const char *query_note;
  /* One line: library version and configuration. */
  const char *(*describe)(void);

  /* Indexing, called in a fresh child process.  path does not exist yet;
   * the engine makes a file or a directory there.  index_add() and
   * index_commit() are what the benchmark times; index_open() (creating
   * the empty index) is not timed.  index_close() frees everything, after
   * which index_bytes() (may be NULL) gives the size on disk. */
  int (*index_open)(const char *path, unsigned variant, void **ix, char *err);
  int (*index_add)(void *ix, const bench_doc *doc, char *err);
  int (*index_commit)(void *ix, char *err);
  void (*index_close)(void *ix);
  int (*index_bytes)(const char *path, uint64_t *bytes, char *err);

  /* Searching the variant-0 index at path, in the benchmark's process.
   * search_open() receives the whole query set and the match mode
   * (PEER_MATCH_ANY or PEER_MATCH_ALL), so any translation into the
   * engine's query language happens there, before timing.  search() runs
   * query number i to completion, fetching every hit (at most limit), and
   * stores how many there were in *hits; it is the call that is timed.
   * An engine that runs out of process (Lucene: a JVM behind a pipe) times
   * the search itself, where it runs, and stores the nanoseconds in
   * *self_ns, which the benchmark then uses instead of the time of the
   * whole call, so the pipe's round trip is not counted; the others leave
   * *self_ns alone (PEER_NO_SELF_TIME). */
  int (*search_open)(const char *path, const char *const *queries,
                     size_t nqueries, size_t limit, int match, void **s,
                     char *err);
  int (*search)(void *s, size_t i, size_t *hits, uint64_t *self_ns,
                char *err);
  void (*search_close)(void *s);
} bench_engine;

#ifdef KIDX_BENCH_SQLITE
/* SQLite FTS5, peer_fts5.c. */
extern const bench_engine peer_fts5;
#endif
#ifdef KIDX_BENCH_XAPIAN
/* Xapian, peer_xapian.cc. */
extern const bench_engine peer_xapian;
#endif
#ifdef KIDX_BENCH_LUCENE
/* Apache Lucene in a JVM behind a pipe, peer_lucene.c and
 * lucene/KidxLuceneBench.java. */
extern const bench_engine peer_lucene;
#endif

#ifdef __cplusplus
}
#endif

#endif /* KIDX_BENCH_PEER_H */
