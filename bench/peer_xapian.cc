/*
 * peer_xapian.cc -- Xapian as a peer of kidx in kidx_bench.
 *
 * Built only when CMake finds xapian-core (pkg-config, or xapian-config;
 * Debian: libxapian-dev) and KIDX_BENCH_XAPIAN is on (KIDX_BENCH_XAPIAN).
 * bench/README.md explains the set-up; in short:
 *
 *   - A fresh database directory per run (Xapian's default backend, glass),
 *     one Xapian document per file, added in the same order (Xapian's
 *     docid is the benchmark's document number).  The document's data is
 *     its id (the path), as kidx stores the id; the title and body texts
 *     are not stored.
 *   - Analysis: Xapian::TermGenerator with Stem("english") (Snowball
 *     English, the Porter2 stemmer kidx uses) and STEM_ALL, so every term
 *     is the stemmed word, one term per word as in kidx (the default
 *     STEM_SOME would index each word twice, stemmed and not).  Positions
 *     are kept, as kidx and FTS5 keep them.
 *   - Fields: one text, as kidx scores one combined frequency per term:
 *     the title is indexed with wdf increment 2, the body with 1, which is
 *     kidx's default field weighting (a title word counts as two body
 *     words).  kidx normalises each field's length on its own (BM25F);
 *     Xapian normalises the combined length.
 *   - One commit at the end (db.commit()), Xapian's default flush
 *     threshold otherwise.
 *   - Queries: each query's words go through the same TermGenerator, once
 *     before timing; union is Query(OP_OR, terms), AND is
 *     Query(OP_AND, terms).  Ranking Xapian::BM25Weight(k1 1.2, k2 0,
 *     k3 1, b 0.75, min_normlen 0.5), kidx's k1 and b.  The timed call is
 *     Enquire::get_mset(0, 10) plus reading each hit's docid and weight;
 *     get_mset with check_at_least 0 lets Xapian skip documents that cannot
 *     reach the top 10, as kidx's and Lucene's pruning do.
 */
#include "peer.h"

#include <xapian.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>

namespace {

const double kBm25K1 = 1.2;
const double kBm25B = 0.75;

const char *const xapian_variants[] = {"xapian"};
const char *const xapian_variant_notes[] = {""};

const char *xapian_describe() {
  static char line[256];
  std::snprintf(line, sizeof line,
                "Xapian %s, BM25Weight(k1 %.2g, k2 0, k3 1, b %.2g), "
                "Stem(\"english\") STEM_ALL, positions; title wdf 2, body 1",
                Xapian::version_string(), kBm25K1, kBm25B);
  return line;
}

void xapian_error(char *err, const char *what, const Xapian::Error &e) {
  std::snprintf(err, PEER_ERR_MAX, "xapian: %s: %s", what,
                e.get_description().c_str());
}

Xapian::TermGenerator make_termgen() {
  Xapian::TermGenerator tg;
  tg.set_stemmer(Xapian::Stem("english"));
  tg.set_stemming_strategy(Xapian::TermGenerator::STEM_ALL);
  return tg;
}

/* ---------------------------------------------------------------------- */
/* Indexing                                                               */
/* ---------------------------------------------------------------------- */

struct XapianIndex {
  Xapian::WritableDatabase db;
  Xapian::TermGenerator tg;
};

int xapian_index_open(const char *path, unsigned variant, void **out,
                      char *err) {
  (void)variant;
  *out = nullptr;
  try {
    XapianIndex *ix = new XapianIndex{
        Xapian::WritableDatabase(path, Xapian::DB_CREATE), make_termgen()};
    *out = ix;
    return PEER_OK;
  } catch (const Xapian::Error &e) {
    xapian_error(err, path, e);
  } catch (const std::bad_alloc &) {
    std::snprintf(err, PEER_ERR_MAX, "xapian: out of memory");
  }
  return PEER_FAIL;
}

int xapian_index_add(void *p, const bench_doc *d, char *err) {
  XapianIndex *ix = static_cast<XapianIndex *>(p);
  try {
    Xapian::Document doc;
    ix->tg.set_document(doc);
    ix->tg.index_text(Xapian::Utf8Iterator(d->title, d->title_len), 2);
    ix->tg.increase_termpos();
    ix->tg.index_text(Xapian::Utf8Iterator(d->body, d->body_len), 1);
    doc.set_data(std::string(d->id, d->id_len));
    ix->db.add_document(doc);
    return PEER_OK;
  } catch (const Xapian::Error &e) {
    char what[96];
    std::snprintf(what, sizeof what, "add %.*s",
                  d->id_len > 64 ? 64 : static_cast<int>(d->id_len), d->id);
    xapian_error(err, what, e);
  } catch (const std::bad_alloc &) {
    std::snprintf(err, PEER_ERR_MAX, "xapian: out of memory");
  }
  return PEER_FAIL;
}

int xapian_index_commit(void *p, char *err) {
  XapianIndex *ix = static_cast<XapianIndex *>(p);
  try {
    ix->db.commit();
    return PEER_OK;
  } catch (const Xapian::Error &e) {
    xapian_error(err, "commit", e);
  }
  return PEER_FAIL;
}

void xapian_index_close(void *p) {
  XapianIndex *ix = static_cast<XapianIndex *>(p);
  if (!ix)
    return;
  try {
    ix->db.close();
  } catch (const Xapian::Error &) {
    /* Nothing left to report: the benchmark has its figures. */
  }
  delete ix;
}

/* The size of the files under path (a glass database is a directory). */
int dir_bytes(const char *path, uint64_t *bytes, char *err) {
  DIR *dir = opendir(path);
  if (!dir) {
    std::snprintf(err, PEER_ERR_MAX, "xapian: cannot open %s: %s", path,
                  std::strerror(errno));
    return PEER_FAIL;
  }
  int rc = PEER_OK;
  while (struct dirent *e = readdir(dir)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0)
      continue;
    std::string child = std::string(path) + "/" + e->d_name;
    struct stat st;
    if (lstat(child.c_str(), &st) != 0) {
      std::snprintf(err, PEER_ERR_MAX, "xapian: cannot stat %s: %s",
                    child.c_str(), std::strerror(errno));
      rc = PEER_FAIL;
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      rc = dir_bytes(child.c_str(), bytes, err);
      if (rc != PEER_OK)
        break;
    } else if (S_ISREG(st.st_mode)) {
      *bytes += static_cast<uint64_t>(st.st_size);
    }
  }
  closedir(dir);
  return rc;
}

int xapian_index_bytes(const char *path, uint64_t *bytes, char *err) {
  *bytes = 0;
  return dir_bytes(path, bytes, err);
}

/* ---------------------------------------------------------------------- */
/* Searching                                                              */
/* ---------------------------------------------------------------------- */

struct XapianSearch {
  Xapian::Database db;
  Xapian::Enquire enquire;
  std::vector<Xapian::Query> queries;
  const char *const *originals;
  Xapian::doccount limit;
  double sink;
};

/* The terms the TermGenerator makes of q, as for a document: the same
 * splitting, case folding and stemming as the index. */
std::vector<std::string> query_terms(Xapian::TermGenerator &tg, const char *q) {
  Xapian::Document doc;
  tg.set_document(doc);
  tg.index_text(q);
  std::vector<std::string> terms;
  for (Xapian::TermIterator t = doc.termlist_begin(); t != doc.termlist_end();
       ++t)
    terms.push_back(*t);
  return terms;
}

int xapian_search_open(const char *path, const char *const *queries,
                       size_t nqueries, size_t limit, int match, void **out,
                       char *err) {
  *out = nullptr;
  XapianSearch *s = nullptr;
  try {
    Xapian::Database db(path);
    s = new XapianSearch{db, Xapian::Enquire(db), {}, queries,
                         static_cast<Xapian::doccount>(limit), 0.0};
    s->enquire.set_weighting_scheme(
        Xapian::BM25Weight(kBm25K1, 0.0, 1.0, kBm25B, 0.5));
    Xapian::TermGenerator tg = make_termgen();
    Xapian::Query::op op =
        match == PEER_MATCH_ALL ? Xapian::Query::OP_AND : Xapian::Query::OP_OR;
    s->queries.reserve(nqueries);
    for (size_t i = 0; i < nqueries; i++) {
      std::vector<std::string> terms = query_terms(tg, queries[i]);
      if (terms.empty()) {
        std::snprintf(err, PEER_ERR_MAX,
                      "xapian: query \"%.200s\": no searchable word",
                      queries[i]);
        delete s;
        return PEER_FAIL;
      }
      s->queries.emplace_back(op, terms.begin(), terms.end());
    }
    *out = s;
    return PEER_OK;
  } catch (const Xapian::Error &e) {
    xapian_error(err, path, e);
  } catch (const std::bad_alloc &) {
    std::snprintf(err, PEER_ERR_MAX, "xapian: out of memory");
  }
  delete s;
  return PEER_FAIL;
}

int xapian_search(void *p, size_t i, size_t *hits, uint64_t *self_ns,
                  char *err) {
  (void)self_ns;
  XapianSearch *s = static_cast<XapianSearch *>(p);
  try {
    s->enquire.set_query(s->queries[i]);
    Xapian::MSet mset = s->enquire.get_mset(0, s->limit);
    size_t n = 0;
    for (Xapian::MSetIterator it = mset.begin(); it != mset.end(); ++it) {
      s->sink += static_cast<double>(*it) + it.get_weight();
      n++;
    }
    *hits = n;
    return PEER_OK;
  } catch (const Xapian::Error &e) {
    char what[256];
    std::snprintf(what, sizeof what, "query \"%.200s\"", s->originals[i]);
    xapian_error(err, what, e);
  }
  return PEER_FAIL;
}

void xapian_search_close(void *p) {
  delete static_cast<XapianSearch *>(p);
}

bench_engine make_engine() {
  bench_engine e{};
  e.name = "xapian";
  e.variants = xapian_variants;
  e.nvariants = 1;
  e.variant_notes = xapian_variant_notes;
  e.query_note = "Query(OP_OR, terms) (AND: OP_AND), Enquire::get_mset(0, 10)";
  e.describe = xapian_describe;
  e.index_open = xapian_index_open;
  e.index_add = xapian_index_add;
  e.index_commit = xapian_index_commit;
  e.index_close = xapian_index_close;
  e.index_bytes = xapian_index_bytes;
  e.search_open = xapian_search_open;
  e.search = xapian_search;
  e.search_close = xapian_search_close;
  return e;
}

} // namespace

extern "C" const bench_engine peer_xapian = make_engine();
