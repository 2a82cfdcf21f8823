/*
 * document.c -- kidx_document: one document fetched by id with
 * kidx_reader_get() (reader.c), its id, title and body copied into memory
 * the object owns, so that they stay valid whatever happens to the reader
 * and hold no pointers into the index's mappings.
 *
 * The three byte strings live in one buffer that is reused from fetch to
 * fetch: it only grows, so fetching many documents into one object
 * allocates nothing once it is as large as the largest of them.
 */
#include "kidx_int.h"

#include <stdlib.h>

struct kidx_document {
  kidx__buf text; /* id, then title, then body */
  size_t id_len, title_len, body_len;
  kidx_stamp stamp;
  int full; /* holds a fetched document */
  char errmsg[KIDX__ERRMSG_MAX];
};

kidx_document *kidx_document_new(void) {
  return calloc(1, sizeof(kidx_document));
}

void kidx_document_free(kidx_document *doc) {
  if (!doc)
    return;
  kidx__buf_free(&doc->text);
  free(doc);
}

char *kidx__document_reset(kidx_document *doc) {
  doc->text.n = 0;
  doc->id_len = doc->title_len = doc->body_len = 0;
  memset(&doc->stamp, 0, sizeof doc->stamp);
  doc->full = 0;
  doc->errmsg[0] = 0;
  return doc->errmsg;
}

int kidx__document_set(kidx_document *doc, const kidx__docinfo *d) {
  kidx__document_reset(doc);
  /* One reservation for the three, so that a failure leaves doc empty
   * rather than holding part of a document. */
  size_t total = d->id_len;
  if (d->title_len > SIZE_MAX - total ||
      d->body_len > SIZE_MAX - total - d->title_len)
    return kidx__err(doc->errmsg, KIDX_ENOMEM, "out of memory");
  total += d->title_len + d->body_len;
  if (kidx__buf_reserve(&doc->text, total ? total : 1))
    return kidx__err(doc->errmsg, KIDX_ENOMEM,
                     "out of memory (document of %zu bytes)", total);
  kidx__buf_append(&doc->text, d->id, d->id_len);
  kidx__buf_append(&doc->text, d->title, d->title_len);
  kidx__buf_append(&doc->text, d->body, d->body_len);
  doc->id_len = d->id_len;
  doc->title_len = d->title_len;
  doc->body_len = d->body_len;
  doc->stamp = d->stamp;
  doc->full = 1;
  return KIDX_OK;
}

/* The span [off, off + n) of the buffer, or NULL for an empty object. */
static const char *span(const kidx_document *doc, size_t off, size_t n,
                        size_t *len) {
  int full = doc && doc->full;
  if (len)
    *len = full ? n : 0;
  return full ? (const char *)doc->text.p + off : NULL;
}

const char *kidx_document_id(const kidx_document *doc, size_t *len) {
  return span(doc, 0, doc ? doc->id_len : 0, len);
}

const char *kidx_document_title(const kidx_document *doc, size_t *len) {
  return span(doc, doc ? doc->id_len : 0, doc ? doc->title_len : 0, len);
}

const char *kidx_document_body(const kidx_document *doc, size_t *len) {
  return span(doc, doc ? doc->id_len + doc->title_len : 0,
              doc ? doc->body_len : 0, len);
}

void kidx_document_stamp(const kidx_document *doc, kidx_stamp *out) {
  if (!out)
    return;
  if (doc && doc->full)
    *out = doc->stamp;
  else
    memset(out, 0, sizeof *out);
}

const char *kidx_document_errmsg(const kidx_document *doc) {
  return doc ? doc->errmsg : "no document object";
}
