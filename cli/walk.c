/*
 * walk.c -- listing the files under the PATH arguments of `kidx index`
 * (see walk.h).
 */
#include "walk.h"

#include "ids.h"
#include "roots.h"
#include "stamps.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void walk_init(walk *w, report *rep, const char *index_dir, const char *base,
               bool prune) {
  memset(w, 0, sizeof *w);
  w->rep = rep;
  w->base = base;
  w->prune = prune;
  struct stat ist;
  if (stat(index_dir, &ist) == 0) {
    w->have_index_id = true;
    w->index_dev = ist.st_dev;
    w->index_ino = ist.st_ino;
  }
}

void walk_free(walk *w) {
  for (size_t i = 0; i < w->nfiles; i++) {
    free(w->files[i].path);
    free(w->files[i].id);
  }
  free(w->files);
  for (size_t i = 0; i < w->nblind; i++)
    free(w->blind[i]);
  free(w->blind);
  ignore_free(w->ig);
  memset(w, 0, sizeof *w);
}

static bool is_dot_name(const char *name) {
  return name[0] == '.';
}

/* Entries a walk passes over without a word: hidden ones (unless
 * --hidden), and .git always -- a repository's internals are never
 * documents, and git's own walks skip them too. */
static bool is_skipped_name(const walk *w, const char *name) {
  if (strcmp(name, ".git") == 0)
    return true;
  return is_dot_name(name) && !(w->flags & ROOT_HIDDEN);
}

/* An ignore file that exists but cannot be read: the walk goes on without
 * it (and may list files it would have excluded). */
static void ignore_file_warning(void *ctx, const char *file, int err,
                                const char *why) {
  walk *w = ctx;
  (void)err;
  report_warn(w->rep, WARN_IGNORE_FILE, "cannot use ignore file %s: %s", file,
              why);
}

/* "dir" + "name" -> "dir/name", without doubling a slash the user typed
 * ("corpus/" is walked as "corpus/x.txt", not "corpus//x.txt"). */
static char *join_path(const char *dir, const char *name) {
  size_t dl = strlen(dir), nl = strlen(name);
  bool slash = dl > 0 && dir[dl - 1] == '/';
  char *p = malloc(dl + nl + 2);
  if (p)
    snprintf(p, dl + nl + 2, "%s%s%s", dir, slash ? "" : "/", name);
  return p;
}

/* Records that what lies at id could not be looked at. */
static void blind(walk *w, const char *id) {
  if (w->nblind == w->blind_cap) {
    size_t cap = w->blind_cap ? w->blind_cap * 2 : 8;
    char **grown = realloc(w->blind, cap * sizeof *grown);
    if (!grown) {
      w->nomem = true;
      return;
    }
    w->blind = grown;
    w->blind_cap = cap;
  }
  if ((w->blind[w->nblind] = strdup(id)) != NULL)
    w->nblind++;
  else
    w->nomem = true;
}

/* A file or directory that could not be listed: warned about, and
 * counted as unreadable (exit status 4).  Unless it is simply not there
 * (a dangling link, a link loop, a file removed while walking), what is
 * under it is unknown, not gone. */
static void unreadable(walk *w, const char *path, const char *id, int err) {
  report_warn(w->rep, WARN_UNREADABLE, "cannot read %s: %s", path,
              strerror(err));
  w->rep->unreadable++;
  w->rep->skipped++;
  if (err != ENOENT && err != ENOTDIR && err != ELOOP)
    blind(w, id);
}

static void add_file(walk *w, const char *path, const char *id,
                     const struct stat *st) {
  uint64_t size = (uint64_t)st->st_size;
  if (w->nfiles == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    walk_file *f = realloc(w->files, cap * sizeof *f);
    if (!f) {
      w->nomem = true;
      return;
    }
    w->files = f;
    w->cap = cap;
  }
  walk_file *f = &w->files[w->nfiles];
  f->path = strdup(path);
  f->id = strdup(id);
  if (!f->path || !f->id) {
    free(f->path);
    free(f->id);
    w->nomem = true;
    return;
  }
  f->size = size;
  f->mtime_ns = stamp_mtime_ns(st);
  w->nfiles++;
  w->total_bytes += size;
}

static bool is_index_dir(const walk *w, const struct stat *st) {
  return w->have_index_id && st->st_dev == w->index_dev &&
         st->st_ino == w->index_ino;
}

static int cmp_names(const void *a, const void *b) {
  const char *const *x = a, *const *y = b;
  return strcmp(*x, *y); /* bytewise: the same order in every locale */
}

static void walk_dir(walk *w, const char *dir, const char *dir_id,
                     bool is_root);

/* The id of name in the directory whose id is dir_id.  A walk from above
 * the base ("kidx index .." or "/") has absolute ids until it reaches the
 * base, which is ".", and below it the ids are relative again: the same
 * as any other spelling gives those files.  malloc'ed. */
static char *child_id(const walk *w, const char *dir_id, const char *name) {
  char *id = ids_join(dir_id, name);
  if (id && id[0] == '/' && w->base && strcmp(id, w->base) == 0) {
    free(id);
    id = strdup(".");
  }
  return id;
}

/* Files one directory entry: path was found by walking, not given by the
 * user. */
static void walk_entry(walk *w, const char *path, const char *id,
                       const char *name) {
  if (is_skipped_name(w, name))
    return;
  struct stat st;
  if (lstat(path, &st) != 0) {
    unreadable(w, path, id, errno);
    return;
  }
  /* Ignored before anything is said about it: an ignored dangling link
   * or FIFO is no concern of the user's.  A link is not a directory to
   * the walk (it does not follow it). */
  if (w->ig && ignore_match(w->ig, name, S_ISDIR(st.st_mode)))
    return;
  /* Links met while walking are not followed, as ripgrep and fd do by
   * default: a linked directory may link back up the tree (not following
   * is simpler and more predictable than detecting loops), and a linked
   * file is another name for a file the walk meets anyway, or one outside
   * the tree: either way following it would break "one file, one
   * document".  A PATH that is a link is followed (walk_argument). */
  if (S_ISLNK(st.st_mode)) {
    report_warn(w->rep, WARN_SYMLINK, "not following symbolic link %s", path);
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    if (!is_index_dir(w, &st))
      walk_dir(w, path, id, false);
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    report_warn(w->rep, WARN_NOT_REGULAR, "skipping %s: not a regular file",
                path);
    w->rep->skipped++;
    return;
  }
  add_file(w, path, id, &st);
}

/* Pushes dir, just opened, on the ignore stack (with its ancestors when it
 * is the walk's root, is_root); false when the stack is not in use. */
static bool push_ignores(walk *w, const char *dir, bool is_root) {
  if (w->flags & ROOT_NO_IGNORE)
    return false;
  if (!w->ig && !(w->ig = ignore_new(ignore_file_warning, w))) {
    w->nomem = true;
    return false;
  }
  ignore_status st =
      is_root ? ignore_push_root(w->ig, dir) : ignore_push_dir(w->ig, dir);
  if (st == IGNORE_ENOMEM) {
    w->nomem = true;
    return false;
  }
  return true;
}

/* Collects the files under dir, whose id is dir_id, in sorted order;
 * is_root: dir is the PATH argument itself. */
static void walk_dir(walk *w, const char *dir, const char *dir_id,
                     bool is_root) {
  DIR *d = opendir(dir);
  if (!d) {
    unreadable(w, dir, dir_id, errno);
    return;
  }
  /* After the open, so that an unreadable directory is reported once. */
  bool pushed = push_ignores(w, dir, is_root);
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  errno = 0;
  while (!w->nomem && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **grown = realloc(names, cap * sizeof *names);
      if (grown)
        names = grown;
      else
        w->nomem = true;
    }
    if (!w->nomem && (names[n] = strdup(e->d_name)) != NULL)
      n++;
    else
      w->nomem = true;
    errno = 0;
  }
  if (!w->nomem && errno != 0)
    unreadable(w, dir, dir_id, errno);
  closedir(d);
  if (!w->nomem && n > 1)
    qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n; i++) {
    if (!w->nomem) {
      char *path = join_path(dir, names[i]);
      char *id = child_id(w, dir_id, names[i]);
      if (path && id)
        walk_entry(w, path, id, names[i]);
      else
        w->nomem = true;
      free(path);
      free(id);
    }
    free(names[i]);
  }
  free(names);
  if (pushed)
    ignore_pop_dir(w->ig);
}

/* Unlike entries met while walking, an argument is taken even if it is
 * hidden or a symbolic link: the user named it. */
walk_found walk_argument(walk *w, const char *path, const char *id,
                         unsigned flags) {
  w->flags = flags;
  struct stat st;
  if (stat(path, &st) != 0) {
    int err = errno;
    bool gone = err == ENOENT || err == ENOTDIR;
    /* With --prune, a PATH that is gone is only pruned under. */
    if (!(w->prune && gone))
      unreadable(w, path, id, err);
    return gone ? WALK_GONE : WALK_OTHER;
  }
  if (S_ISDIR(st.st_mode)) {
    if (is_index_dir(w, &st)) {
      report_warn(w->rep, WARN_INDEX_DIR,
                  "skipping %s: it is the index directory", path);
      return WALK_OTHER;
    }
    walk_dir(w, path, id, true);
    /* The next PATH has ancestors and options of its own. */
    ignore_free(w->ig);
    w->ig = NULL;
    return WALK_DIR;
  }
  if (!S_ISREG(st.st_mode)) {
    report_warn(w->rep, WARN_NOT_REGULAR, "skipping %s: not a regular file",
                path);
    w->rep->skipped++;
    return WALK_OTHER;
  }
  add_file(w, path, id, &st);
  return WALK_FILE;
}

static int cmp_files(const void *a, const void *b) {
  const walk_file *x = a, *y = b;
  return strcmp(x->id, y->id);
}

void walk_finish(walk *w) {
  size_t out = 0;
  if (w->nfiles > 1)
    qsort(w->files, w->nfiles, sizeof *w->files, cmp_files);
  for (size_t i = 0; i < w->nfiles; i++) {
    if (out > 0 && strcmp(w->files[out - 1].id, w->files[i].id) == 0) {
      w->total_bytes -= w->files[i].size;
      free(w->files[i].path);
      free(w->files[i].id);
    } else {
      w->files[out++] = w->files[i];
    }
  }
  w->nfiles = out;
}

static int cmp_file_id(const void *key, const void *elem) {
  const walk_file *f = elem;
  return strcmp(key, f->id);
}

const walk_file *walk_find(const walk *w, const char *id) {
  if (w->nfiles == 0)
    return NULL;
  return bsearch(id, w->files, w->nfiles, sizeof *w->files, cmp_file_id);
}

bool walk_blind_to(const walk *w, const char *id, size_t len) {
  for (size_t i = 0; i < w->nblind; i++)
    if (ids_under(w->base, id, len, w->blind[i]))
      return true;
  return false;
}
