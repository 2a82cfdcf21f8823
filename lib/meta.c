/*
 * meta.c -- the index's user metadata: a small map from byte-string keys
 * to byte-string values that the caller stores with a commit (Lucene's
 * commit user data, Xapian's metadata).  The kidx tool keeps the roots of
 * `kidx index` in it.
 *
 * The map is a sorted array: it is read whole from the MANIFEST at open
 * (manifest.c encodes and decodes it) and written whole with every
 * commit, so it is meant to stay small -- KIDX_MAX_METADATA_BYTES bounds
 * it -- and lookups by binary search, and enumeration in key order, are
 * all it needs.  Used by snapshot.c (a commit's map), writer.c (the map
 * being changed) and reader.c.
 */
#include "kidx_int.h"

#include <stdlib.h>
#include <string.h>

/* Frees every entry (each key and value is one allocation) and the
 * array, leaving an empty map that can be used again. */
void kidx__meta_free(kidx__meta *m) {
  for (size_t i = 0; i < m->n; i++)
    free(m->e[i].key);
  free(m->e);
  memset(m, 0, sizeof *m);
}

/* Keys in kidx__term_cmp order (bytewise, shorter first on a common
 * prefix), which the MANIFEST's metadata section is sorted by.  Its own
 * comparison because memcmp must not be given a NULL pointer even for 0
 * bytes (C11 7.24.1p2), and a lookup of the empty key may come with
 * key == NULL. */
static int key_cmp(const char *a, size_t alen, const char *b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = n ? memcmp(a, b, n) : 0;
  if (c)
    return c;
  return (alen > blen) - (alen < blen);
}

/* Binary search by key_cmp: see kidx_int.h. */
int kidx__meta_find(const kidx__meta *m, const char *key, size_t key_len,
                    size_t *at) {
  size_t lo = 0, hi = m->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = key_cmp(m->e[mid].key, m->e[mid].key_len, key, key_len);
    if (c == 0) {
      *at = mid;
      return 1;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *at = lo;
  return 0;
}

/* A new entry holding copies of key and value in one allocation. */
static int make_entry(kidx__meta_entry *e, const char *key, size_t key_len,
                      const char *value, size_t value_len) {
  char *p = malloc(key_len + value_len);
  if (!p)
    return KIDX_ENOMEM;
  memcpy(p, key, key_len);
  memcpy(p + key_len, value, value_len);
  e->key = p;
  e->key_len = key_len;
  e->value = p + key_len;
  e->value_len = value_len;
  return KIDX_OK;
}

/* Room for one more entry (doubling: appends in a decode are linear). */
static int reserve(kidx__meta *m) {
  if (m->n < m->cap)
    return KIDX_OK;
  size_t cap = m->cap ? m->cap * 2 : 8;
  kidx__meta_entry *e = realloc(m->e, cap * sizeof *e);
  if (!e)
    return KIDX_ENOMEM;
  m->e = e;
  m->cap = cap;
  return KIDX_OK;
}

/* For the MANIFEST decoder, which has checked the order and the limits:
 * see kidx_int.h. */
int kidx__meta_append(kidx__meta *m, const char *key, size_t key_len,
                      const char *value, size_t value_len) {
  int rc = reserve(m);
  if (!rc)
    rc = make_entry(&m->e[m->n], key, key_len, value, value_len);
  if (rc)
    return rc;
  m->n++;
  m->bytes += key_len + value_len;
  return KIDX_OK;
}

/* Sets, replaces or (value_len 0) deletes one key; see kidx_int.h.  The
 * new entry is made before the old one is freed, and room is reserved
 * before the array is shifted, so that a failure leaves m as it was. */
int kidx__meta_set(kidx__meta *m, const char *key, size_t key_len,
                   const char *value, size_t value_len, int *changed) {
  *changed = 0;
  if (!key || key_len == 0 || key_len > KIDX_MAX_METADATA_KEY ||
      (!value && value_len))
    return KIDX_EINVAL;
  size_t at;
  int found = kidx__meta_find(m, key, key_len, &at);
  kidx__meta_entry *e = found ? &m->e[at] : NULL;
  if (value_len == 0) { /* a delete */
    if (!e)
      return KIDX_OK;
    m->bytes -= e->key_len + e->value_len;
    free(e->key);
    memmove(e, e + 1, (m->n - at - 1) * sizeof *e);
    m->n--;
    *changed = 1;
    return KIDX_OK;
  }
  /* The value the key has already: no change (value_len > 0 here, so
   * both pointers are valid), and a commit writes nothing for it. */
  if (e && e->value_len == value_len && !memcmp(e->value, value, value_len))
    return KIDX_OK;
  size_t old = e ? e->key_len + e->value_len : 0;
  if (value_len > KIDX_MAX_METADATA_BYTES - key_len ||
      m->bytes - old > KIDX_MAX_METADATA_BYTES - key_len - value_len)
    return KIDX_ETOOBIG;
  kidx__meta_entry fresh;
  int rc = make_entry(&fresh, key, key_len, value, value_len);
  if (rc)
    return rc;
  if (e) {
    free(e->key);
  } else {
    /* Room first, so that a failure leaves the map unchanged. */
    if (reserve(m)) {
      free(fresh.key);
      return KIDX_ENOMEM;
    }
    e = &m->e[at];
    memmove(e + 1, e, (m->n - at) * sizeof *e);
    m->n++;
  }
  *e = fresh;
  m->bytes = m->bytes - old + key_len + value_len;
  *changed = 1;
  return KIDX_OK;
}

/* The public getters' lookup; see kidx_int.h.  The empty key is never
 * stored, so it is not found without a search. */
int kidx__meta_get(const kidx__meta *m, const char *key, size_t key_len,
                   const char **value, size_t *value_len) {
  size_t at;
  if ((!key && key_len) || !value || !value_len)
    return KIDX_EINVAL;
  if (key_len == 0)
    return KIDX_ENOTFOUND;
  if (!kidx__meta_find(m, key, key_len, &at))
    return KIDX_ENOTFOUND;
  *value = m->e[at].value;
  *value_len = m->e[at].value_len;
  return KIDX_OK;
}
