/*
 * peer_fts5.c -- SQLite FTS5 as a peer of kidx in kidx_bench.
 *
 * Built only when CMake finds sqlite3 with pkg-config (KIDX_BENCH_SQLITE).
 * bench/README.md explains the set-up; in short:
 *
 *   - A fresh database file per run, one table
 *       CREATE VIRTUAL TABLE docs USING fts5(title, body,
 *                                            tokenize='porter unicode61')
 *     and a second variant with content='' (contentless: the index only,
 *     no copy of the text), which is only indexed, for its size.
 *   - SQLite's default settings (rollback journal, default synchronous and
 *     page cache), except that all inserts run in one explicit transaction
 *     through one prepared statement: like kidx, one durable commit at the
 *     end.  The rowid is the document's number (1, 2, ...), which maps to
 *     its path through the sorted file list; the path is not stored.
 *   - A query is translated up front into an FTS5 expression matching any
 *     of its words ("w1" OR "w2" ...) for union queries, as kidx matches
 *     any query word by default, or all of them ("w1" AND "w2" ...) for
 *     AND queries, and run as SELECT rowid, bm25(docs) ... ORDER BY rank
 *     LIMIT 10, stepping through every row.
 */
#include "peer.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const fts5_variants[] = {"fts5", "contentless"};
static const char *const fts5_variant_notes[] = {
    "", "content='': the index only, no copy of title and body"};

static const char *const fts5_create[] = {
    "CREATE VIRTUAL TABLE docs USING fts5(title, body, "
    "tokenize='porter unicode61')",
    "CREATE VIRTUAL TABLE docs USING fts5(title, body, content='', "
    "tokenize='porter unicode61')"};

static const char *fts5_describe(void) {
  static char line[160];
  snprintf(line, sizeof line,
           "SQLite %s FTS5, tokenize='porter unicode61'; default settings, "
           "all inserts in one transaction",
           sqlite3_libversion());
  return line;
}

/* "fts5: <what>: <SQLite's message>". */
static void db_error(char *err, const char *what, sqlite3 *db) {
  snprintf(err, PEER_ERR_MAX, "fts5: %s: %s", what,
           db ? sqlite3_errmsg(db) : "out of memory");
}

/* ---------------------------------------------------------------------- */
/* Indexing                                                               */
/* ---------------------------------------------------------------------- */

typedef struct fts5_index {
  sqlite3 *db;
  sqlite3_stmt *insert;
} fts5_index;

static void fts5_index_close(void *p) {
  fts5_index *ix = p;
  if (!ix)
    return;
  sqlite3_finalize(ix->insert);
  sqlite3_close(ix->db);
  free(ix);
}

static int fts5_index_open(const char *path, unsigned variant, void **out,
                           char *err) {
  *out = NULL;
  fts5_index *ix = calloc(1, sizeof *ix);
  if (!ix) {
    db_error(err, "open", NULL);
    return PEER_FAIL;
  }
  if (sqlite3_open_v2(path, &ix->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      NULL) != SQLITE_OK) {
    db_error(err, path, ix->db);
    fts5_index_close(ix);
    return PEER_FAIL;
  }
  /* Autocommit, not timed: creating the empty index, as kidx_writer_open()
   * creates an empty one. */
  char *msg = NULL;
  if (sqlite3_exec(ix->db, fts5_create[variant], NULL, NULL, &msg) !=
      SQLITE_OK) {
    /* A SQLite built without FTS5 says "no such module: fts5". */
    int missing = msg && strstr(msg, "no such module") != NULL;
    snprintf(err, PEER_ERR_MAX, "%s%s", missing ? "" : "fts5: create table: ",
             msg ? msg : sqlite3_errmsg(ix->db));
    sqlite3_free(msg);
    fts5_index_close(ix);
    return missing ? PEER_UNAVAILABLE : PEER_FAIL;
  }
  if (sqlite3_prepare_v2(ix->db,
                         "INSERT INTO docs(rowid, title, body) "
                         "VALUES (?1, ?2, ?3)",
                         -1, &ix->insert, NULL) != SQLITE_OK) {
    db_error(err, "prepare insert", ix->db);
    fts5_index_close(ix);
    return PEER_FAIL;
  }
  /* A deferred BEGIN only sets a flag (no lock, no I/O until the first
   * insert), so it is left out of the timed part with the rest of the
   * set-up. */
  if (sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
    db_error(err, "begin", ix->db);
    fts5_index_close(ix);
    return PEER_FAIL;
  }
  *out = ix;
  return PEER_OK;
}

static int fts5_index_add(void *p, const bench_doc *d, char *err) {
  fts5_index *ix = p;
  sqlite3_stmt *st = ix->insert;
  /* SQLITE_STATIC: the spans outlive the statement's step, no copy. */
  if (sqlite3_bind_int64(st, 1, (sqlite3_int64)d->docno) != SQLITE_OK ||
      sqlite3_bind_text64(st, 2, d->title, d->title_len, SQLITE_STATIC,
                          SQLITE_UTF8) != SQLITE_OK ||
      sqlite3_bind_text64(st, 3, d->body, d->body_len, SQLITE_STATIC,
                          SQLITE_UTF8) != SQLITE_OK) {
    db_error(err, "bind", ix->db);
    return PEER_FAIL;
  }
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    char what[96];
    snprintf(what, sizeof what, "insert %.*s",
             d->id_len > 64 ? 64 : (int)d->id_len, d->id);
    db_error(err, what, ix->db);
    return PEER_FAIL;
  }
  return PEER_OK;
}

static int fts5_index_commit(void *p, char *err) {
  fts5_index *ix = p;
  if (sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    db_error(err, "commit", ix->db);
    return PEER_FAIL;
  }
  return PEER_OK;
}

/* The database file.  In rollback-journal mode the journal is deleted by
 * the commit, so the file is all there is. */
static int fts5_index_bytes(const char *path, uint64_t *bytes, char *err) {
  struct stat st;
  if (stat(path, &st) != 0) {
    snprintf(err, PEER_ERR_MAX, "fts5: cannot stat %s: %s", path,
             strerror(errno));
    return PEER_FAIL;
  }
  *bytes = (uint64_t)st.st_size;
  return PEER_OK;
}

/* ---------------------------------------------------------------------- */
/* Searching                                                              */
/* ---------------------------------------------------------------------- */

typedef struct fts5_search_ctx {
  sqlite3 *db;
  sqlite3_stmt *select;
  char **match; /* the queries as FTS5 expressions */
  int *match_len;
  size_t n;
  const char *const *queries; /* the originals, for messages */
  double sink; /* the fetched values go here so they are really read */
} fts5_search_ctx;

static int is_word_byte(unsigned char c) {
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z');
}

/* The query's words, each quoted as an FTS5 string, joined with OR (a
 * document matches if it contains any of them, as in kidx by default) or,
 * for PEER_MATCH_ALL, with AND.  A word is a
 * run of ASCII letters and digits and bytes >= 0x80 (so UTF-8 letters stay
 * inside words); quoting keeps words like AND, OR, NOT or NEAR from being
 * read as operators.  Returns NULL when there is no word. */
static char *to_fts5(const char *q, int match, int *len) {
  size_t n = strlen(q);
  /* Worst case "a b c": each byte becomes "a" plus " AND ". */
  const char *join = match == PEER_MATCH_ALL ? " AND " : " OR ";
  size_t join_len = strlen(join);
  char *out = malloc(8 * n + 1);
  if (!out)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    if (!is_word_byte((unsigned char)q[i])) {
      i++;
      continue;
    }
    if (o > 0) {
      memcpy(out + o, join, join_len);
      o += join_len;
    }
    out[o++] = '"';
    for (; i < n && is_word_byte((unsigned char)q[i]); i++) {
      /* Doubled inside an FTS5 string.  Cannot happen with the word rule
       * above; kept so the quoting stays right if the rule changes. */
      if (q[i] == '"')
        out[o++] = '"';
      out[o++] = q[i];
    }
    out[o++] = '"';
  }
  out[o] = '\0';
  if (o == 0) {
    free(out);
    return NULL;
  }
  *len = (int)o;
  return out;
}

static void fts5_search_close(void *p) {
  fts5_search_ctx *s = p;
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++)
    free(s->match[i]);
  free(s->match);
  free(s->match_len);
  sqlite3_finalize(s->select);
  sqlite3_close(s->db);
  free(s);
}

static int fts5_search_open(const char *path, const char *const *queries,
                            size_t nqueries, size_t limit, int match,
                            void **out, char *err) {
  *out = NULL;
  fts5_search_ctx *s = calloc(1, sizeof *s);
  if (!s) {
    db_error(err, "search", NULL);
    return PEER_FAIL;
  }
  s->queries = queries;
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    db_error(err, path, s->db);
    fts5_search_close(s);
    return PEER_FAIL;
  }
  char sql[160];
  snprintf(sql, sizeof sql,
           "SELECT rowid, bm25(docs) FROM docs WHERE docs MATCH ?1 "
           "ORDER BY rank LIMIT %zu",
           limit);
  if (sqlite3_prepare_v2(s->db, sql, -1, &s->select, NULL) != SQLITE_OK) {
    db_error(err, "prepare select", s->db);
    fts5_search_close(s);
    return PEER_FAIL;
  }
  s->match = calloc(nqueries ? nqueries : 1, sizeof *s->match);
  s->match_len = calloc(nqueries ? nqueries : 1, sizeof *s->match_len);
  if (!s->match || !s->match_len) {
    db_error(err, "search", NULL);
    fts5_search_close(s);
    return PEER_FAIL;
  }
  for (; s->n < nqueries; s->n++) {
    s->match[s->n] = to_fts5(queries[s->n], match, &s->match_len[s->n]);
    if (!s->match[s->n]) {
      snprintf(err, PEER_ERR_MAX, "fts5: query \"%s\": no searchable word",
               queries[s->n]);
      fts5_search_close(s);
      return PEER_FAIL;
    }
  }
  *out = s;
  return PEER_OK;
}

static int fts5_search(void *p, size_t i, size_t *hits, uint64_t *self_ns,
                       char *err) {
  (void)self_ns;
  fts5_search_ctx *s = p;
  sqlite3_stmt *st = s->select;
  if (sqlite3_bind_text(st, 1, s->match[i], s->match_len[i], SQLITE_STATIC) !=
      SQLITE_OK) {
    db_error(err, "bind", s->db);
    return PEER_FAIL;
  }
  size_t n = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    s->sink +=
        (double)sqlite3_column_int64(st, 0) + sqlite3_column_double(st, 1);
    n++;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    char what[256];
    snprintf(what, sizeof what, "query \"%.200s\"", s->queries[i]);
    db_error(err, what, s->db);
    return PEER_FAIL;
  }
  *hits = n;
  return PEER_OK;
}

const bench_engine peer_fts5 = {
    .name = "fts5",
    .variants = fts5_variants,
    .nvariants = sizeof fts5_variants / sizeof *fts5_variants,
    .variant_notes = fts5_variant_notes,
    .query_note = "each as \"w1\" OR \"w2\" ... (AND: \"w1\" AND \"w2\" ...), "
                  "ORDER BY rank (bm25)",
    .describe = fts5_describe,
    .index_open = fts5_index_open,
    .index_add = fts5_index_add,
    .index_commit = fts5_index_commit,
    .index_close = fts5_index_close,
    .index_bytes = fts5_index_bytes,
    .search_open = fts5_search_open,
    .search = fts5_search,
    .search_close = fts5_search_close,
};
