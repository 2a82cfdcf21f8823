/*
 * walk.c -- listing the files under the PATH arguments of `kidx index`
 * (see walk.h).
 */
#include "walk.h"

#include "stamps.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void walk_init(walk *w, report *rep, const char *index_dir, bool prune) {
  memset(w, 0, sizeof *w);
  w->rep = rep;
  w->prune = prune;
  struct stat ist;
  if (stat(index_dir, &ist) == 0) {
    w->have_index_id = true;
    w->index_dev = ist.st_dev;
    w->index_ino = ist.st_ino;
  }
}

void walk_free(walk *w) {
  for (size_t i = 0; i < w->nfiles; i++)
    free(w->files[i].path);
  free(w->files);
  w->files = NULL;
  w->nfiles = w->cap = 0;
}

static bool is_dot_name(const char *name) {
  return name[0] == '.';
}

/* "dir" + "name" -> "dir/name", without doubling a slash the user typed
 * ("corpus/" gives ids "corpus/x.txt", not "corpus//x.txt"). */
static char *join_path(const char *dir, const char *name) {
  size_t dl = strlen(dir), nl = strlen(name);
  bool slash = dl > 0 && dir[dl - 1] == '/';
  char *p = malloc(dl + nl + 2);
  if (p)
    snprintf(p, dl + nl + 2, "%s%s%s", dir, slash ? "" : "/", name);
  return p;
}

/* A file or directory that could not be listed: warned about, and
 * counted as unreadable (exit status 4). */
static void unreadable(walk *w, const char *path, int err) {
  report_warn(w->rep, WARN_UNREADABLE, "cannot read %s: %s", path,
              strerror(err));
  w->rep->unreadable++;
  w->rep->skipped++;
}

static bool add_file(walk *w, const char *path, const struct stat *st) {
  uint64_t size = (uint64_t)st->st_size;
  if (w->nfiles == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    walk_file *f = realloc(w->files, cap * sizeof *f);
    if (!f)
      return false;
    w->files = f;
    w->cap = cap;
  }
  char *copy = strdup(path);
  if (!copy)
    return false;
  w->files[w->nfiles].path = copy;
  w->files[w->nfiles].size = size;
  w->files[w->nfiles].mtime_ns = stamp_mtime_ns(st);
  w->nfiles++;
  w->total_bytes += size;
  return true;
}

static bool is_index_dir(const walk *w, const struct stat *st) {
  return w->have_index_id && st->st_dev == w->index_dev &&
         st->st_ino == w->index_ino;
}

static int cmp_names(const void *a, const void *b) {
  const char *const *x = a, *const *y = b;
  return strcmp(*x, *y); /* bytewise: the same order in every locale */
}

static bool walk_dir(walk *w, const char *dir);

/* Files one directory entry: path was found by walking, not given by the
 * user. */
static bool walk_entry(walk *w, const char *path, const char *name) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    unreadable(w, path, errno);
    return true;
  }
  if (S_ISLNK(st.st_mode)) {
    if (stat(path, &st) != 0) { /* dangling link */
      unreadable(w, path, errno);
      return true;
    }
    if (S_ISDIR(st.st_mode)) {
      report_warn(w->rep, WARN_SYMLINK_DIR,
                  "not following symbolic link to directory %s", path);
      return true;
    }
  }
  if (S_ISDIR(st.st_mode)) {
    /* Hidden directories (.git, .kidx) hold tool data, not documents. */
    if (is_dot_name(name) || is_index_dir(w, &st))
      return true;
    return walk_dir(w, path);
  }
  if (is_dot_name(name))
    return true;
  if (!S_ISREG(st.st_mode)) {
    report_warn(w->rep, WARN_NOT_REGULAR, "skipping %s: not a regular file",
                path);
    w->rep->skipped++;
    return true;
  }
  return add_file(w, path, &st);
}

/* Collects the files under dir in sorted order.  Returns false only when
 * out of memory. */
static bool walk_dir(walk *w, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    unreadable(w, dir, errno);
    return true;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  bool ok = true;
  struct dirent *e;
  errno = 0;
  while (ok && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **grown = realloc(names, cap * sizeof *names);
      ok = grown != NULL;
      if (ok)
        names = grown;
    }
    if (ok && (names[n] = strdup(e->d_name)) != NULL)
      n++;
    else
      ok = false;
    errno = 0;
  }
  if (ok && errno != 0)
    unreadable(w, dir, errno);
  closedir(d);
  if (ok && n > 1)
    qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n; i++) {
    if (ok) {
      char *path = join_path(dir, names[i]);
      ok = path && walk_entry(w, path, names[i]);
      free(path);
    }
    free(names[i]);
  }
  free(names);
  return ok;
}

bool walk_argument(walk *w, const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) { /* vanished since it was checked */
    /* With --prune, a PATH that is gone is only pruned under. */
    if (w->prune && (errno == ENOENT || errno == ENOTDIR))
      return true;
    unreadable(w, path, errno);
    return true;
  }
  if (S_ISDIR(st.st_mode)) {
    if (is_index_dir(w, &st)) {
      report_warn(w->rep, WARN_INDEX_DIR,
                  "skipping %s: it is the index directory", path);
      return true;
    }
    return walk_dir(w, path);
  }
  if (!S_ISREG(st.st_mode)) {
    report_warn(w->rep, WARN_NOT_REGULAR, "skipping %s: not a regular file",
                path);
    w->rep->skipped++;
    return true;
  }
  return add_file(w, path, &st);
}

static int cmp_files(const void *a, const void *b) {
  const walk_file *x = a, *y = b;
  return strcmp(x->path, y->path);
}

void walk_finish(walk *w) {
  size_t out = 0;
  if (w->nfiles > 1)
    qsort(w->files, w->nfiles, sizeof *w->files, cmp_files);
  for (size_t i = 0; i < w->nfiles; i++) {
    if (out > 0 && strcmp(w->files[out - 1].path, w->files[i].path) == 0) {
      w->total_bytes -= w->files[i].size;
      free(w->files[i].path);
    } else {
      w->files[out++] = w->files[i];
    }
  }
  w->nfiles = out;
}

static int cmp_file_path(const void *key, const void *elem) {
  const walk_file *f = elem;
  return strcmp(key, f->path);
}

const walk_file *walk_find(const walk *w, const char *path) {
  if (w->nfiles == 0)
    return NULL;
  return bsearch(path, w->files, w->nfiles, sizeof *w->files, cmp_file_path);
}
