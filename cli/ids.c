/*
 * ids.c -- document ids of files, relative to the index's base directory
 * (see ids.h).  Pure string work, but for the realpath() calls of
 * ids_base and ids_absolute.
 */
#define _XOPEN_SOURCE 700 /* realpath(): POSIX, but XSI to glibc */

#include "ids.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

/* "a" + "/" + "b", without doubling the slash after "/". */
static char *join2(const char *a, size_t alen, const char *b, size_t blen) {
  bool slash = alen > 0 && a[alen - 1] == '/';
  char *p = malloc(alen + blen + 2);
  if (!p)
    return NULL;
  memcpy(p, a, alen);
  size_t n = alen;
  if (!slash)
    p[n++] = '/';
  memcpy(p + n, b, blen);
  p[n + blen] = '\0';
  return p;
}

/* Whether the last component of path[0..n) (no trailing slash) is "."
 * or "..": then the directory it names is not the one its lexical
 * parent holds. */
static bool ends_in_dots(const char *path, size_t n) {
  size_t start = n;
  while (start > 0 && path[start - 1] != '/')
    start--;
  size_t len = n - start;
  return (len == 1 && path[start] == '.') ||
         (len == 2 && path[start] == '.' && path[start + 1] == '.');
}

char *ids_base(const char *index_dir) {
  size_t n = strlen(index_dir);
  while (n > 1 && index_dir[n - 1] == '/')
    n--; /* "idx/" is idx */
  char *parent;
  if (ends_in_dots(index_dir, n)) {
    /* "-i ." or "-i idx/..": the index directory is whatever that
     * resolves to, and the base the directory holding it. */
    char *dir = dup_n(index_dir, n);
    char *real = dir ? realpath(dir, NULL) : NULL;
    int err = errno;
    free(dir);
    if (!real) {
      errno = err;
      return NULL;
    }
    size_t rl = strlen(real);
    while (rl > 1 && real[rl - 1] != '/')
      rl--;
    real[rl > 1 ? rl - 1 : 1] = '\0'; /* the parent of "/x" is "/" */
    return real;
  }
  size_t slash = n;
  while (slash > 0 && index_dir[slash - 1] != '/')
    slash--;
  if (slash == 0) /* "idx": the current directory */
    parent = dup_n(".", 1);
  else
    parent = dup_n(index_dir, slash > 1 ? slash - 1 : 1);
  if (!parent)
    return NULL;
  /* The parent's realpath, not the index directory's: an index directory
   * that is a symbolic link still has its base where the link is. */
  char *base = realpath(parent, NULL);
  int err = errno;
  free(parent);
  errno = err;
  return base;
}

/* Appends the components of rel to the absolute path abs (malloc'ed,
 * replaced), applying "." and ".." to the name.  NULL when out of
 * memory. */
static char *append_lexically(char *abs, const char *rel) {
  size_t len = strlen(abs);
  char *out = malloc(len + strlen(rel) + 2);
  if (!out) {
    free(abs);
    return NULL;
  }
  memcpy(out, abs, len + 1);
  free(abs);
  for (const char *p = rel; *p;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      while (len > 1 && out[len - 1] != '/')
        len--;
      if (len > 1)
        len--; /* the slash, but not the root's */
    } else if (n > 0 && !(n == 1 && p[0] == '.')) {
      if (len > 1)
        out[len++] = '/';
      memcpy(out + len, p, n);
      len += n;
    }
    out[len] = '\0';
    p += n + (e != NULL);
  }
  return out;
}

/* Whether the name rel (relative, as typed) has a ".." component. */
static bool has_dotdot(const char *rel) {
  for (const char *p = rel; *p;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.')
      return true;
    p += n + (e != NULL);
  }
  return false;
}

char *ids_absolute(const char *path, bool allow_missing) {
  char *abs = realpath(path, NULL);
  if (abs || !allow_missing || (errno != ENOENT && errno != ENOTDIR))
    return abs;
  /* Gone: resolve the longest prefix that exists, then the rest by name
   * (a PATH given to --prune after it was removed). */
  size_t n = strlen(path);
  char *prefix = dup_n(path, n);
  if (!prefix)
    return NULL;
  for (;;) {
    while (n > 0 && prefix[n - 1] == '/')
      n--;
    while (n > 0 && prefix[n - 1] != '/')
      n--;
    prefix[n] = '\0';
    abs = realpath(n == 0 ? "." : prefix, NULL);
    if (abs || n == 0 || (errno != ENOENT && errno != ENOTDIR))
      break;
  }
  free(prefix);
  if (!abs)
    return NULL;
  /* The rest is only a name, and a wrong name would make --prune remove
   * the documents of files that exist.  It is exactly where the PATH
   * leads only when its first component is truly absent, or a file --
   * not a dangling symbolic link, whose target the kernel would follow -- and
   * no ".." follows it: "corpus/gone/.." is an error to the kernel, not
   * "corpus". */
  const char *rest = path + n;
  while (*rest == '/')
    rest++;
  size_t first = strcspn(rest, "/");
  struct stat st;
  char *probe = join2(abs, strlen(abs), rest, first);
  bool absent = false;
  if (probe && lstat(probe, &st) != 0)
    absent = errno == ENOENT || errno == ENOTDIR;
  else if (probe) /* a file: nothing lies under it ("a.txt/x") */
    absent = !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode);
  int err = probe ? ENOENT : ENOMEM;
  free(probe);
  if (!absent || has_dotdot(rest)) {
    free(abs);
    errno = err;
    return NULL;
  }
  return append_lexically(abs, rest);
}

char *ids_from_absolute(const char *base, const char *abs) {
  size_t bl = strlen(base);
  if (strcmp(abs, base) == 0)
    return dup_n(".", 1);
  if (bl == 1 && base[0] == '/') /* everything is under "/" */
    return dup_n(abs + 1, strlen(abs + 1));
  if (strncmp(abs, base, bl) == 0 && abs[bl] == '/')
    return dup_n(abs + bl + 1, strlen(abs + bl + 1));
  return dup_n(abs, strlen(abs));
}

char *ids_join(const char *dir, const char *name) {
  if (strcmp(dir, ".") == 0)
    return dup_n(name, strlen(name));
  return join2(dir, strlen(dir), name, strlen(name));
}

char *ids_to_absolute(const char *base, const char *id, size_t len) {
  if (len > 0 && id[0] == '/')
    return dup_n(id, len);
  if (len == 1 && id[0] == '.')
    return dup_n(base, strlen(base));
  return join2(base, strlen(base), id, len);
}

bool ids_is_current(const char *base, const char *id, size_t len) {
  if (len == 0 || memchr(id, '\0', len))
    return false;
  if ((len == 1 && (id[0] == '.' || id[0] == '/')))
    return true;
  /* Components: non-empty, neither "." nor "..". */
  size_t i = id[0] == '/';
  while (i < len) {
    size_t e = i;
    while (e < len && id[e] != '/')
      e++;
    size_t n = e - i;
    if (n == 0 || (n == 1 && id[i] == '.') ||
        (n == 2 && id[i] == '.' && id[i + 1] == '.'))
      return false;
    if (e == len - 1) /* a trailing slash */
      return false;
    i = e + 1;
  }
  /* An absolute id under the base would have been made relative. */
  if (base && id[0] == '/' && strcmp(base, "/") != 0) {
    size_t bl = strlen(base);
    if (len >= bl && memcmp(id, base, bl) == 0 && (len == bl || id[bl] == '/'))
      return false;
  }
  return true;
}

/* ids_under without the base: both ids of one kind to compare. */
static bool under_plain(const char *id, size_t len, const char *root) {
  if (strcmp(root, ".") == 0)
    return len > 0 && id[0] != '/';
  size_t n = strlen(root);
  if (n == 1 && root[0] == '/')
    return len > 0 && id[0] == '/';
  if (len < n || memcmp(id, root, n) != 0)
    return false;
  return len == n || id[n] == '/';
}

bool ids_under(const char *base, const char *id, size_t len, const char *root) {
  /* A relative id lies under the base, so under every absolute root
   * that holds the base ("kidx index .." from the base). */
  if (base && len > 0 && id[0] != '/' && root[0] == '/')
    return under_plain(base, strlen(base), root);
  return under_plain(id, len, root);
}

/* The id of element i of a set as ids_under_any takes it. */
static const char *set_id(const void *set, size_t i, size_t stride) {
  const char *const *p =
      (const char *const *)(const void *)((const char *)set + i * stride);
  return *p;
}

/* Whether id[0..len) (no NUL in it) is an element of the set. */
static bool in_set(const char *id, size_t len, const void *set, size_t n,
                   size_t stride) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const char *e = set_id(set, mid, stride);
    int c = strncmp(e, id, len);
    if (c == 0)
      c = e[len] != '\0'; /* e is longer: it sorts after id */
    if (c == 0)
      return true;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return false;
}

bool ids_under_any(const char *base, const char *id, size_t len,
                   const void *set, size_t n, size_t stride) {
  if (n == 0 || len == 0)
    return false;
  /* A relative id also lies under the absolute roots holding the base:
   * "/", then each prefix of the base that ends at a '/'. */
  if (base && id[0] != '/' && base[0] == '/') {
    if (in_set("/", 1, set, n, stride))
      return true;
    for (size_t i = 1; base[i]; i++)
      if (base[i] == '/' && in_set(base, i, set, n, stride))
        return true;
  }
  /* The roots id can lie under: "." or "/", then each of its prefixes
   * that ends at a '/', then id itself. */
  if (in_set(id[0] == '/' ? "/" : ".", 1, set, n, stride))
    return true;
  for (size_t i = 1; i < len; i++)
    if (id[i] == '/' && in_set(id, i, set, n, stride))
      return true;
  return in_set(id, len, set, n, stride);
}
