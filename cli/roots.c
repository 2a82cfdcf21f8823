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

/* Adding is an append, so that naming 100,000 files costs no more than
 * sorting them once: an insertion in order would move half the array
 * each time.  Appends in order (decoding, copying a sorted list) keep the
 * array sorted as they go. */
bool roots_add(roots *rs, const char *id, unsigned flags) {
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
  if (rs->n > 0 && strcmp(rs->r[rs->n - 1].id, id) >= 0)
    rs->unsorted = true;
  rs->r[rs->n].id = copy;
  rs->r[rs->n].flags = flags;
  rs->r[rs->n].seq = rs->n;
  rs->n++;
  return true;
}

static int cmp_roots(const void *a, const void *b) {
  const root *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

void roots_sort(roots *rs) {
  if (!rs->unsorted)
    return;
  qsort(rs->r, rs->n, sizeof *rs->r, cmp_roots);
  /* Of an id added more than once, the last flags win: naming a PATH
   * again records the options given this time. */
  size_t out = 0;
  for (size_t i = 0; i < rs->n; i++) {
    if (out > 0 && strcmp(rs->r[out - 1].id, rs->r[i].id) == 0) {
      free(rs->r[out - 1].id);
      rs->r[out - 1] = rs->r[i];
    } else {
      rs->r[out++] = rs->r[i];
    }
  }
  rs->n = out;
  for (size_t i = 0; i < rs->n; i++)
    rs->r[i].seq = i;
  rs->unsorted = false;
}

size_t roots_encoded_size(const roots *rs) {
  size_t n = 0;
  for (size_t i = 0; i < rs->n; i++)
    n += strlen(rs->r[i].id) + 2 + !!(rs->r[i].flags & ROOT_HIDDEN) +
         !!(rs->r[i].flags & ROOT_NO_IGNORE); /* flags, ':', id, NUL */
  return n;
}

/* The root named by id[0..len), if recorded (rs sorted). */
static const root *find_n(const roots *rs, const char *id, size_t len) {
  size_t lo = 0, hi = rs->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char *e = rs->r[mid].id;
    int c = strncmp(e, id, len);
    if (c == 0)
      c = e[len] != '\0';
    if (c == 0)
      return &rs->r[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const root *roots_enclosing(const roots *rs, const char *base, const char *id) {
  size_t len = strlen(id);
  const root *r;
  for (size_t i = len; i-- > 1;)
    if (id[i] == '/' && (r = find_n(rs, id, i)) != NULL)
      return r;
  if (id[0] != '/') {
    if (strcmp(id, ".") != 0 && (r = find_n(rs, ".", 1)) != NULL)
      return r;
    /* The absolute roots holding the base hold every relative id. */
    if (!base)
      return NULL;
    for (size_t i = strlen(base); i-- > 1;)
      if (base[i] == '/' && (r = find_n(rs, base, i)) != NULL)
        return r;
  }
  if (strcmp(id, "/") == 0)
    return NULL;
  return find_n(rs, "/", 1);
}

void roots_remove(roots *rs, const char *id) {
  size_t at = roots_find(rs, id);
  if (at == rs->n)
    return;
  free(rs->r[at].id);
  memmove(rs->r + at, rs->r + at + 1, (rs->n - at - 1) * sizeof *rs->r);
  rs->n--;
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
  roots_sort(rs); /* written sorted; a hand-made value need not be */
  return true;
}

char *roots_encode(const roots *rs, size_t *len) {
  size_t n = roots_encoded_size(rs);
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
