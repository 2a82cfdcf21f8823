/*
 * fs.c -- the file system operations the index needs, in one place: the
 * writer lock, read-only mappings of index files (and giving their pages
 * back), listing the directory, buffered checksummed writing of a new
 * file, and the durable rename that publishes a commit.  POSIX only (plus
 * flock, present on Linux, the BSDs and macOS).
 *
 * Durability (as SQLite and LMDB do it): a new file is written, fsync'ed,
 * and the MANIFEST naming it is written under a temporary name, fsync'ed,
 * renamed over the old one, and then the directory is fsync'ed so the
 * rename itself (and the new files' entries) are on disk.  rename(2) is
 * atomic, so a reader or a crash sees either the old MANIFEST or the new
 * one, never a mixture.
 */
#define _DEFAULT_SOURCE /* flock() */
#include "kidx_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Size of the write buffer: large enough that write(2) calls are few. */
#define WFILE_BUFFER (1u << 20)

char *kidx__path_join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (!p)
    return NULL;
  memcpy(p, dir, a);
  p[a] = '/';
  memcpy(p + a + 1, name, b + 1);
  return p;
}

int kidx__fs_mkdir(const char *dir, char *errmsg) {
  if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
      return KIDX_OK;
    return kidx__err(errmsg, KIDX_EIO, "%s exists and is not a directory", dir);
  }
  return kidx__err_os(errmsg, KIDX_EIO, errno, "cannot create directory %s",
                      dir);
}

int kidx__fs_lock(const char *path, int *fd_out, char *errmsg) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0)
    return kidx__err_os(errmsg, KIDX_EIO, errno, "cannot open lock file %s",
                        path);
  /* flock rather than fcntl locks: fcntl locks belong to the process, so two
   * writers in one process would not exclude each other. */
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR)
      continue;
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK)
      return kidx__err(errmsg, KIDX_EBUSY,
                       "%s is locked: another writer has the index open", path);
    return kidx__err_os(errmsg, KIDX_EIO, e, "cannot lock %s", path);
  }
  *fd_out = fd;
  return KIDX_OK;
}

void kidx__fs_unlock(int fd) {
  if (fd >= 0)
    close(fd); /* closing the descriptor releases the flock */
}

int kidx__fs_map(const char *path, kidx__map *m, char *errmsg) {
  m->data = NULL;
  m->size = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return kidx__err(errmsg, KIDX_ENOINDEX, "no index file %s", path);
    return kidx__err_os(errmsg, KIDX_EIO, errno, "cannot open %s", path);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return kidx__err_os(errmsg, KIDX_EIO, e, "cannot stat %s", path);
  }
  if ((uintmax_t)st.st_size > SIZE_MAX) {
    close(fd);
    return kidx__err(errmsg, KIDX_ETOOBIG, "%s is too large to map", path);
  }
  m->size = (size_t)st.st_size;
  if (m->size > 0) {
    void *p = mmap(NULL, m->size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      m->size = 0;
      return kidx__err_os(errmsg, KIDX_EIO, e, "cannot map %s", path);
    }
    m->data = p;
  }
  close(fd); /* the mapping keeps the file alive, even after a rename */
  return KIDX_OK;
}

void kidx__fs_unmap(kidx__map *m) {
  if (m->data)
    munmap((void *)(uintptr_t)m->data, m->size);
  m->data = NULL;
  m->size = 0;
}

void kidx__fs_map_release(const kidx__map *m) {
  /* On a read-only shared file mapping MADV_DONTNEED only drops this
   * process's page table entries; the data stays in the page cache and
   * comes back on the next touch.  Advice only: a failure changes nothing
   * but memory use. */
  if (m->data)
    (void)madvise((void *)(uintptr_t)m->data, m->size, MADV_DONTNEED);
}

int kidx__fs_list(const char *dir, void (*fn)(void *ctx, const char *name),
                  void *ctx, char *errmsg) {
  DIR *d = opendir(dir);
  if (!d)
    return kidx__err_os(errmsg, KIDX_EIO, errno, "cannot list directory %s",
                        dir);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      fn(ctx, e->d_name);
  closedir(d);
  return KIDX_OK;
}

int kidx__wfile_open(kidx__wfile *f, const char *path, char *errmsg) {
  memset(f, 0, sizeof *f);
  f->path = path;
  f->errmsg = errmsg;
  f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (f->fd < 0)
    return f->rc =
               kidx__err_os(errmsg, KIDX_EIO, errno, "cannot create %s", path);
  if (kidx__buf_reserve(&f->buf, WFILE_BUFFER)) {
    close(f->fd);
    f->fd = -1;
    return f->rc = kidx__err(errmsg, KIDX_ENOMEM, "out of memory");
  }
  return KIDX_OK;
}

/* Writes all n bytes, at the file position (offset < 0) or at offset,
 * retrying short writes and EINTR. */
static int write_fully(kidx__wfile *f, const uint8_t *p, size_t n,
                       int64_t offset) {
  while (n > 0) {
    ssize_t w =
        offset < 0 ? write(f->fd, p, n) : pwrite(f->fd, p, n, (off_t)offset);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return f->rc = kidx__err_os(f->errmsg, KIDX_EIO, errno, "cannot write %s",
                                  f->path);
    }
    p += w;
    n -= (size_t)w;
    if (offset >= 0)
      offset += w;
  }
  return KIDX_OK;
}

static int flush_buffer(kidx__wfile *f) {
  if (f->rc)
    return f->rc;
  int rc = write_fully(f, f->buf.p, f->buf.n, -1);
  f->buf.n = 0;
  return rc;
}

static int put_page_crc(kidx__wfile *f) {
  if (kidx__pagesum_put(f->pages, f->page_crc))
    return f->rc = kidx__err(f->errmsg, KIDX_ENOMEM, "out of memory");
  f->page_crc = 0;
  f->page_fill = 0;
  return KIDX_OK;
}

void kidx__wfile_pages_begin(kidx__wfile *f, kidx__buf *pages) {
  f->pages = pages;
  f->page_crc = 0;
  f->page_fill = 0;
}

int kidx__wfile_pages_end(kidx__wfile *f) {
  if (f->pages && f->page_fill > 0 && !f->rc)
    put_page_crc(f);
  f->pages = NULL;
  return f->rc;
}

/* Adds data to the page checksums, cutting it at page boundaries. */
static int page_crcs(kidx__wfile *f, const uint8_t *p, size_t len) {
  while (len > 0) {
    uint64_t room = KIDX__PAGE_SIZE - f->page_fill;
    size_t n = (size_t)(len < room ? len : room);
    f->page_crc = kidx__crc32c(f->page_crc, p, n);
    f->page_fill += n;
    p += n;
    len -= n;
    if (f->page_fill == KIDX__PAGE_SIZE && put_page_crc(f))
      return f->rc;
  }
  return KIDX_OK;
}

int kidx__wfile_write(kidx__wfile *f, const void *data, size_t len) {
  if (f->rc || len == 0) /* data may be NULL when len is 0 */
    return f->rc;
  if (f->pages && page_crcs(f, data, len))
    return f->rc;
  f->crc = kidx__crc32c(f->crc, data, len);
  f->offset += len;
  if (len > f->buf.cap - f->buf.n) {
    if (flush_buffer(f))
      return f->rc;
    if (len >= f->buf.cap)
      return write_fully(f, data, len, -1);
  }
  memcpy(f->buf.p + f->buf.n, data, len);
  f->buf.n += len;
  return KIDX_OK;
}

int kidx__wfile_pwrite(kidx__wfile *f, uint64_t offset, const void *data,
                       size_t len) {
  if (flush_buffer(f))
    return f->rc;
  if (offset > INT64_MAX)
    return f->rc = kidx__err(f->errmsg, KIDX_ETOOBIG, "%s: offset too large",
                             f->path);
  return write_fully(f, data, len, (int64_t)offset);
}

int kidx__wfile_close(kidx__wfile *f, int keep) {
  if (f->fd >= 0) {
    if (keep && !flush_buffer(f) && fsync(f->fd) != 0)
      f->rc =
          kidx__err_os(f->errmsg, KIDX_EIO, errno, "cannot sync %s", f->path);
    if (close(f->fd) != 0 && keep && !f->rc)
      f->rc =
          kidx__err_os(f->errmsg, KIDX_EIO, errno, "cannot close %s", f->path);
    f->fd = -1;
  }
  kidx__buf_free(&f->buf);
  if (!keep || f->rc)
    unlink(f->path);
  return f->rc;
}

int kidx__fs_publish(const char *tmp, const char *path, const char *dir,
                     int *renamed, char *errmsg) {
  *renamed = 0;
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return kidx__err_os(errmsg, KIDX_EIO, e, "cannot rename %s to %s", tmp,
                        path);
  }
  *renamed = 1;
  int fd = open(dir, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return kidx__err_os(errmsg, KIDX_EIO, errno, "cannot open directory %s",
                        dir);
  int rc = KIDX_OK;
  if (fsync(fd) != 0 && errno != EINVAL)
    rc = kidx__err_os(errmsg, KIDX_EIO, errno,
                      "the commit is visible, but flushing directory %s "
                      "failed",
                      dir);
  close(fd);
  return rc;
}

int kidx__fs_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int kidx__fs_remove(const char *path) {
  return unlink(path) == 0 || errno == ENOENT ? KIDX_OK : KIDX_EIO;
}
