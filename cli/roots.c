/*
 * roots.c -- the index's recorded roots and their metadata encoding (see
 * roots.h).
 */
#include "roots.h"

#include "cli.h"
#include "ids.h"

#include <stdlib.h>
#include <string.h>

void roots_free(roots *rs) {
  for (size_t i = 0; i < rs->n; i++)
    free(rs->r[i].id);
  free(rs->r);
  memset(rs, 0, sizeof *rs);
}

/* Where id is or would go: binary search by strcmp. */
static size_t lower_bound(const roots *rs, const char *id) {
  size_t lo = 0, hi = rs->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(rs->r[mid].id, id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

size_t roots_find(const roots *rs, const char *id) {
  size_t at = lower_bound(rs, id);
  return at < rs->n && strcmp(rs->r[at].id, id) == 0 ? at : rs->n;
}

bool roots_add(roots *rs, const char *id, unsigned flags) {
  size_t at = lower_bound(rs, id);
  if (at < rs->n && strcmp(rs->r[at].id, id) == 0) {
    rs->r[at].flags = flags;
    return true;
  }
  if (rs->n == rs->cap) {
    size_t cap = rs->cap ? rs->cap * 2 : 8;
    root *grown = realloc(rs->r, cap * sizeof *grown);
    if (!grown)
      return false;
    rs->r = grown;
    rs->cap = cap;
  }
  char *copy = strdup(id);
  if (!copy)
    return false;
  memmove(rs->r + at + 1, rs->r + at, (rs->n - at) * sizeof *rs->r);
  rs->r[at].id = copy;
  rs->r[at].flags = flags;
  rs->n++;
  return true;
}

size_t roots_drop_under(roots *rs, const char *base, const char *id) {
  size_t out = 0, dropped = 0;
  for (size_t i = 0; i < rs->n; i++) {
    if (ids_under(base, rs->r[i].id, strlen(rs->r[i].id), id)) {
      free(rs->r[i].id);
      dropped++;
    } else {
      rs->r[out++] = rs->r[i];
    }
  }
  rs->n = out;
  return dropped;
}

const root *roots_covering(const roots *rs, const char *base, const char *id,
                           size_t len) {
  for (size_t i = 0; i < rs->n; i++)
    if (ids_under(base, id, len, rs->r[i].id))
      return &rs->r[i];
  return NULL;
}

bool roots_decode(roots *rs, const char *value, size_t len, bool *bad) {
  *bad = true;
  for (size_t pos = 0; pos < len;) {
    const char *rec = value + pos;
    const char *nul = memchr(rec, '\0', len - pos);
    if (!nul)
      return false; /* every record ends with a NUL */
    const char *colon = memchr(rec, ':', (size_t)(nul - rec));
    if (!colon || colon + 1 == nul)
      return false;
    unsigned flags = 0;
    for (const char *f = rec; f < colon; f++) {
      if (*f == 'H')
        flags |= ROOT_HIDDEN;
      else if (*f == 'I')
        flags |= ROOT_NO_IGNORE;
      else
        return false;
    }
    /* Roots are ids as this kidx makes them; anything else ("../x",
     * "a//b") is no root of its and would match no document. */
    if (!ids_is_current(NULL, colon + 1, (size_t)(nul - colon - 1)))
      return false;
    if (!roots_add(rs, colon + 1, flags)) {
      *bad = false;
      return false;
    }
    pos = (size_t)(nul - value) + 1;
  }
  return true;
}

char *roots_encode(const roots *rs, size_t *len) {
  size_t n = 0;
  for (size_t i = 0; i < rs->n; i++)
    n += strlen(rs->r[i].id) + 4; /* at most 2 flags, ':' and NUL */
  *len = 0;
  char *out = malloc(n + 1);
  if (!out)
    return NULL;
  for (size_t i = 0; i < rs->n; i++) {
    if (rs->r[i].flags & ROOT_HIDDEN)
      out[(*len)++] = 'H';
    if (rs->r[i].flags & ROOT_NO_IGNORE)
      out[(*len)++] = 'I';
    out[(*len)++] = ':';
    size_t l = strlen(rs->r[i].id);
    memcpy(out + *len, rs->r[i].id, l + 1);
    *len += l + 1;
  }
  return out;
}

int roots_load(const cli *c, const kidx_writer *w, const kidx_reader *r,
               roots *rs) {
  const char *value;
  size_t len;
  kidx_status st = w ? kidx_writer_get_metadata(w, ROOTS_KEY, strlen(ROOTS_KEY),
                                                &value, &len)
                     : kidx_reader_get_metadata(r, ROOTS_KEY, strlen(ROOTS_KEY),
                                                &value, &len);
  memset(rs, 0, sizeof *rs);
  if (st == KIDX_ENOTFOUND)
    return ST_OK;
  if (st != KIDX_OK)
    return cli_fail(ST_INDEX, "cannot read the roots of the index at %s: %s",
                    c->index_dir, kidx_strerror(st));
  bool bad;
  if (roots_decode(rs, value, len, &bad))
    return ST_OK;
  roots_free(rs);
  if (!bad)
    return cli_fail(ST_INDEX, "out of memory reading the roots of %s",
                    c->index_dir);
  return cli_fail(ST_INDEX,
                  "index at %s records its roots (metadata %s) in a form "
                  "this kidx does not know (written by a newer kidx?)",
                  c->index_dir, ROOTS_KEY);
}
