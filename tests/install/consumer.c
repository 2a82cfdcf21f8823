/* consumer.c -- a program built against an installed libkidx (see
 * run_install_test.cmake): index two documents into the directory given as
 * argv[1], search them, check the top hit and fetch its stored body by id.
 * Exits 0 on success. */
#include <kidx.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  kidx_writer *w = NULL;
  kidx_reader *r = NULL;
  kidx_results *res = NULL;
  size_t len = 0;
  if (argc != 2 || kidx_version() != KIDX_VERSION_NUMBER)
    return 2; /* usage, or header and library disagree */
  if (kidx_writer_new(&w) || kidx_writer_open(w, argv[1]) ||
      kidx_writer_add(w, "apples", 6, "Apples", 6, "red apples, green apples",
                      24) ||
      kidx_writer_add(w, "pears", 5, "Pears", 5, "pears and one apple", 19) ||
      kidx_writer_commit(w))
    return fprintf(stderr, "write: %s\n", kidx_writer_errmsg(w)), 1;
  kidx_writer_close(w);
  if (kidx_reader_new(&r) || kidx_reader_open(r, argv[1]) ||
      kidx_results_new(&res) || kidx_search(r, "apple", 5, NULL, res))
    return fprintf(stderr, "search failed\n"), 1;
  const char *id = kidx_results_id(res, 0, &len);
  printf("top hit: %.*s (%zu hits)\n", (int)len, id, kidx_results_count(res));
  int ok =
      len == 6 && memcmp(id, "apples", 6) == 0 && kidx_results_count(res) == 2;
  kidx_document *doc = kidx_document_new();
  size_t body_len = 0;
  const char *body = NULL;
  if (doc && kidx_reader_get(r, id, len, doc) == KIDX_OK)
    body = kidx_document_body(doc, &body_len);
  ok = ok && body && body_len == 24 && memcmp(body, "red apples", 10) == 0;
  kidx_document_free(doc);
  kidx_results_free(res);
  kidx_reader_close(r);
  return ok ? 0 : 1;
}
