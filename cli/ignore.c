/*
 * ignore.c -- see ignore.h.  The directory walker of `kidx index` calls it.
 *
 * This file owns the gitignore(5) pattern language (parsing a file into
 * patterns, matching a pattern against a path), which ignore files a
 * directory contributes, and how the files of nested directories combine.
 *
 * Matching never recurses and never backtracks more than one level: a
 * pattern is split at '/' into segments, "**" segments match any number
 * of path components and the others exactly one, and both levels (the
 * segments of the path, the bytes of one component) use the classic
 * two-pointer wildcard algorithm, which keeps only the last star and so
 * costs at most O(pattern length x path length).  It is exact here because
 * every other token (a literal, '?', a bracket expression, a non-"**"
 * segment) matches exactly one unit, and then the leftmost place where the
 * text after the last star fits is always as good as any later one.
 */
/* realpath() is XSI; POSIX.1-2008 with XSI is what the rest asks for. */
#define _XOPEN_SOURCE 700

#include "ignore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* Patterns                                                               */
/* ---------------------------------------------------------------------- */

/* Pattern flags, the low bits of pattern.len_flags. */
enum {
  PAT_NEGATE = 1,   /* "!pattern": a match re-includes */
  PAT_DIR_ONLY = 2, /* "pattern/": matches directories only */
  PAT_ANCHORED = 4, /* a '/' at the start or in the middle: matched
                       against the whole path, not the last component */
  PAT_FLAG_BITS = 3
};

/* One pattern: text[off .. off + len) of its rules, with the "!", the
 * trailing '/', a leading '/' and trailing spaces already taken off.  Two
 * 32-bit words, because a file may hold millions of one-byte patterns. */
typedef struct pattern {
  uint32_t off;
  uint32_t len_flags; /* length << PAT_FLAG_BITS | PAT_* */
} pattern;

_Static_assert(IGNORE_MAX_FILE <= UINT32_MAX >> PAT_FLAG_BITS,
               "offsets and lengths of patterns fit in 32 bits");
_Static_assert(IGNORE_MAX_FILE == (size_t)16 << 20,
               "TOO_BIG_WHY names the limit");
#define TOO_BIG_WHY "larger than 16 MiB, not read"

struct ignore_rules {
  char *text; /* the file as read (escapes are interpreted when matching) */
  pattern *pats;
  size_t npats;
};

/* The path a pattern is matched against, as its directories part dir
 * ("a/b/": each component followed by '/', possibly empty) and its last
 * component base, so that the stack can match without building strings.
 * A position in it is a byte offset in dir, or ndir for base, or END
 * (ndir + nbase + 1) once every component is used. */
typedef struct subject {
  const char *dir;
  size_t ndir;
  const char *base;
  size_t nbase;
} subject;

/* The POSIX character classes of bracket expressions ("[[:digit:]]"),
 * which gitignore(5) inherits from fnmatch(3).  Defined on bytes as in the
 * C locale, so the answer never depends on the user's locale. */
static const char *const CLASS_NAMES[] = {"alnum", "alpha", "blank", "cntrl",
                                          "digit", "graph", "lower", "print",
                                          "punct", "space", "upper", "xdigit"};

static int class_index(const char *name, size_t n) {
  for (size_t k = 0; k < sizeof CLASS_NAMES / sizeof *CLASS_NAMES; k++)
    if (strlen(CLASS_NAMES[k]) == n && memcmp(CLASS_NAMES[k], name, n) == 0)
      return (int)k;
  return -1;
}

static bool class_has(int k, unsigned char c) {
  bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
  bool digit = c >= '0' && c <= '9', graph = c > ' ' && c < 0x7f;
  switch (k) {
  case 0:
    return upper || lower || digit;
  case 1:
    return upper || lower;
  case 2:
    return c == ' ' || c == '\t';
  case 3:
    return c < ' ' || c == 0x7f;
  case 4:
    return digit;
  case 5:
    return graph;
  case 6:
    return lower;
  case 7:
    return graph || c == ' ';
  case 8:
    return graph && !upper && !lower && !digit;
  case 9:
    return c == ' ' || (c >= '\t' && c <= '\r');
  case 10:
    return upper;
  default:
    return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
}

/* The bracket expression opening at p[i] == '[', within p[0..n) (one
 * segment: it cannot span a '/').  Returns 1 if byte c is in the set, 0 if
 * not, -1 if the expression is malformed (no closing ']', a backslash at
 * the end, an unknown [:class:]); *next is set past the closing ']'.
 * Syntax as git's wildmatch reads it: "!" or "^" first negates; a ']'
 * first is a member; "a-z" is a range of byte values, but '-' first, last
 * or right after a range is a member; a backslash makes the next byte a
 * member; "[:name:]" is a class, and "[:" without a ":]" before the next
 * ']' is just '[' and ':'. */
static int bracket(const char *p, size_t n, size_t i, unsigned char c,
                   size_t *next) {
  bool negated = false, hit = false;
  int prev = -1; /* the previous single member, which may start a range */
  i++;
  if (i < n && (p[i] == '!' || p[i] == '^')) {
    negated = true;
    i++;
  }
  for (bool first = true;; first = false) {
    if (i >= n)
      return -1;
    unsigned char ch = (unsigned char)p[i];
    if (ch == ']' && !first)
      break;
    if (ch == '\\') {
      if (++i >= n)
        return -1;
      ch = (unsigned char)p[i++];
      if (ch == c)
        hit = true;
      prev = ch;
      continue;
    }
    if (ch == '-' && prev >= 0 && i + 1 < n && p[i + 1] != ']') {
      i++;
      unsigned char hi = (unsigned char)p[i++];
      if (hi == '\\') {
        if (i >= n)
          return -1;
        hi = (unsigned char)p[i++];
      }
      if (prev <= c && c <= hi)
        hit = true;
      prev = -1;
      continue;
    }
    if (ch == '[' && i + 1 < n && p[i + 1] == ':') {
      const char *close = memchr(p + i + 2, ']', n - (i + 2));
      if (!close)
        return -1;
      size_t name = i + 2, end = (size_t)(close - p);
      if (end > name && p[end - 1] == ':') {
        int k = class_index(p + name, end - 1 - name);
        if (k < 0)
          return -1;
        if (class_has(k, c))
          hit = true;
        i = end + 1;
        prev = -1;
        continue;
      }
    }
    if (ch == c)
      hit = true;
    prev = ch;
    i++;
  }
  *next = i + 1;
  return hit != negated;
}

/* Matches the one-byte token at p[*i] (a literal byte, "\x", '?' or a
 * bracket expression) against byte c and moves *i past it.  Per
 * gitignore(5), '?' matches any byte but '/', which a segment never holds
 * anyway.  A malformed token matches nothing. */
static bool token_match(const char *p, size_t n, size_t *i, unsigned char c) {
  unsigned char ch = (unsigned char)p[*i];
  if (ch == '?') {
    (*i)++;
    return true;
  }
  if (ch == '[') {
    size_t next = *i;
    int r = bracket(p, n, *i, c, &next);
    *i = next;
    return r == 1;
  }
  if (ch == '\\') {
    if (*i + 1 >= n)
      return false;
    ch = (unsigned char)p[*i + 1];
    *i += 2;
    return ch == c;
  }
  (*i)++;
  return ch == c;
}

/* Whether the glob p[0..pn) (no '/') matches the whole of s[0..sn) (one
 * path component).  A run of '*' matches any bytes: "**" inside a segment
 * is an ordinary star (gitignore(5): "Other consecutive asterisks are
 * considered regular asterisks").  Two-pointer matching with one star
 * remembered, at most O(pn x sn). */
static bool glob_match(const char *p, size_t pn, const char *s, size_t sn) {
  size_t pi = 0, si = 0, star_pi = SIZE_MAX, star_si = 0;
  for (;;) {
    if (pi < pn && p[pi] == '*') {
      while (pi < pn && p[pi] == '*')
        pi++;
      if (pi == pn)
        return true;
      star_pi = pi;
      star_si = si;
      continue;
    }
    if (si == sn)
      return pi == pn;
    size_t t = pi;
    if (pi < pn && token_match(p, pn, &t, (unsigned char)s[si])) {
      pi = t;
      si++;
      continue;
    }
    if (star_pi == SIZE_MAX)
      return false;
    /* The last star takes one more byte; earlier stars never need to:
     * whatever they could take, it can take too. */
    pi = star_pi;
    si = ++star_si;
  }
}

/* Whether the segment p[0..n) is "**" (or a longer run of stars, as git's
 * wildmatch takes it), which matches whole path components. */
static bool is_globstar(const char *p, size_t n) {
  if (n < 2)
    return false;
  for (size_t i = 0; i < n; i++)
    if (p[i] != '*')
      return false;
  return true;
}

/* The component of sj at position pos (< END): sets *s, *n and returns
 * the position after it. */
static size_t subject_component(const subject *sj, size_t pos, const char **s,
                                size_t *n) {
  if (pos < sj->ndir) {
    const char *slash = memchr(sj->dir + pos, '/', sj->ndir - pos);
    size_t end = slash ? (size_t)(slash - sj->dir) : sj->ndir;
    *s = sj->dir + pos;
    *n = end - pos;
    return end + 1;
  }
  *s = sj->base;
  *n = sj->nbase;
  return sj->ndir + sj->nbase + 1;
}

/* Whether the anchored pattern p[0..pn) matches the whole path sj, '/'
 * matching only '/' (fnmatch's FNM_PATHNAME, as gitignore(5) says).  The
 * "**" forms of gitignore(5): a leading "**" followed by a slash, and a
 * "**" between two slashes, match zero or more components; a trailing
 * "**" after a slash matches everything inside, so one or more
 * components.  Any other "**" is an ordinary star, as the manual says.
 * git's code departs from it after a literal prefix: it lets the pattern
 * "b**" + "/x" match "bx", reading the "**" as leading once "b" is
 * matched; that quirk is not copied.  The same two-pointer scheme as
 * glob_match, over components: at most O(pn x path length). */
static bool path_match(const char *p, size_t pn, const subject *sj) {
  const size_t p_end = pn + 1, s_end = sj->ndir + sj->nbase + 1;
  size_t pi = 0, si = 0, star_pi = SIZE_MAX, star_si = 0;
  for (;;) {
    if (pi < p_end) {
      const char *slash = memchr(p + pi, '/', pn - pi);
      size_t pe = slash ? (size_t)(slash - p) : pn;
      if (is_globstar(p + pi, pe - pi)) {
        if (pe == pn) /* trailing: needs a component, unless it is all */
          return pi == 0 || si < s_end;
        pi = pe + 1;
        star_pi = pi;
        star_si = si;
        continue;
      }
      if (si < s_end) {
        const char *s;
        size_t sn;
        size_t after = subject_component(sj, si, &s, &sn);
        if (glob_match(p + pi, pe - pi, s, sn)) {
          pi = pe + 1;
          si = after;
          continue;
        }
      }
    } else if (si == s_end) {
      return true;
    }
    if (star_pi == SIZE_MAX || star_si == s_end)
      return false;
    const char *s;
    size_t sn;
    star_si = subject_component(sj, star_si, &s, &sn);
    si = star_si;
    pi = star_pi;
  }
}

/* Whether the glob p[0..n) is well formed: every backslash escapes a byte
 * of its segment and every bracket expression is complete.  A malformed
 * pattern matches nothing (git's wildmatch aborts on it); checking once
 * when reading lets the matcher assume well-formed input.  Segments end at
 * every '/', so "\/" (which git would take as a '/') is malformed too. */
static bool glob_valid(const char *p, size_t n) {
  size_t seg = 0;
  while (seg <= n) {
    const char *slash = memchr(p + seg, '/', n - seg);
    size_t end = slash ? (size_t)(slash - p) : n;
    const char *s = p + seg;
    size_t sn = end - seg;
    for (size_t i = 0; i < sn;) {
      if (s[i] == '\\') {
        if (i + 1 >= sn)
          return false;
        i += 2;
      } else if (s[i] == '[') {
        size_t next = i;
        if (bracket(s, sn, i, 0, &next) < 0)
          return false;
        i = next;
      } else {
        i++;
      }
    }
    seg = end + 1;
  }
  return true;
}

/* The end of t[s..e) without its trailing spaces, except spaces quoted
 * with a backslash (gitignore(5): "Trailing spaces are ignored unless they
 * are quoted with backslash").  A backslash quotes the byte after it, so
 * in "a\\ " the space is unquoted.  Only ' ': git leaves tabs alone. */
static size_t trim_trailing_spaces(const char *t, size_t s, size_t e) {
  size_t keep = s;
  for (size_t i = s; i < e;) {
    if (t[i] == '\\' && i + 1 < e) {
      i += 2;
      keep = i;
    } else if (t[i] == ' ') {
      i++;
    } else {
      keep = ++i;
    }
  }
  return keep;
}

/* Parses the line t[s..e) (without its '\n') into *out, per the "PATTERN
 * FORMAT" of gitignore(5).  Returns false for a line that holds no
 * pattern: blank, a comment, or not a valid pattern. */
static bool parse_line(const char *t, size_t s, size_t e, pattern *out) {
  /* A file written on Windows ends lines with "\r\n"; ripgrep reads such
   * lines without the '\r', and a file name pattern never means one. */
  if (e > s && t[e - 1] == '\r')
    e--;
  /* "A line starting with # serves as a comment"; "\#" is a pattern. */
  if (s == e || t[s] == '#')
    return false;
  e = trim_trailing_spaces(t, s, e);
  uint32_t flags = 0;
  /* "An optional prefix "!" which negates the pattern"; "\!" is literal,
   * which the matcher's escape handling gives. */
  if (s < e && t[s] == '!') {
    flags |= PAT_NEGATE;
    s++;
  }
  /* "If there is a separator at the end of the pattern then the pattern
   * will only match directories". */
  if (e > s && t[e - 1] == '/') {
    flags |= PAT_DIR_ONLY;
    e--;
  }
  /* "If there is a separator at the beginning or middle (or both) of the
   * pattern, then the pattern is relative to the directory level of the
   * particular .gitignore file itself"; the leading one then says nothing
   * more ("doc/frotz and /doc/frotz have the same effect"). */
  if (e > s && memchr(t + s, '/', e - s)) {
    flags |= PAT_ANCHORED;
    if (t[s] == '/')
      s++;
  }
  if (s == e || !glob_valid(t + s, e - s))
    return false;
  out->off = (uint32_t)s;
  out->len_flags = (uint32_t)((e - s) << PAT_FLAG_BITS) | flags;
  return true;
}

/* Parses every line of t[from..len) (no more than IGNORE_MAX_FILE bytes)
 * and returns the number of patterns, stored in out[] unless out is NULL:
 * called once to count, once to fill. */
static size_t parse_lines(const char *t, size_t from, size_t len,
                          pattern *out) {
  size_t n = 0;
  while (from < len) {
    const char *nl = memchr(t + from, '\n', len - from);
    size_t e = nl ? (size_t)(nl - t) : len;
    pattern pat;
    if (parse_line(t, from, e, &pat)) {
      if (out)
        out[n] = pat;
      n++;
    }
    from = e + 1;
  }
  return n;
}

/* Makes rules of text[0..len), taking ownership of text (freed on
 * failure too). */
static ignore_status rules_adopt(char *text, size_t len, ignore_rules **out) {
  *out = NULL;
  if (len > IGNORE_MAX_FILE) {
    free(text);
    return IGNORE_ETOOBIG;
  }
  /* git skips a UTF-8 byte order mark that editors may put first. */
  size_t from = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  size_t n = parse_lines(text, from, len, NULL);
  ignore_rules *r = malloc(sizeof *r);
  pattern *pats = n ? malloc(n * sizeof *pats) : NULL;
  if (!r || (n && !pats)) {
    free(r);
    free(pats);
    free(text);
    return IGNORE_ENOMEM;
  }
  parse_lines(text, from, len, pats);
  r->text = text;
  r->pats = pats;
  r->npats = n;
  *out = r;
  return IGNORE_OK;
}

ignore_status ignore_rules_parse(const char *text, size_t len,
                                 ignore_rules **out) {
  *out = NULL;
  if (len > IGNORE_MAX_FILE)
    return IGNORE_ETOOBIG;
  char *copy = malloc(len ? len : 1);
  if (!copy)
    return IGNORE_ENOMEM;
  if (len)
    memcpy(copy, text, len);
  return rules_adopt(copy, len, out);
}

void ignore_rules_free(ignore_rules *r) {
  if (r) {
    free(r->text);
    free(r->pats);
    free(r);
  }
}

/* The verdict of r on sj: the last matching pattern decides
 * (gitignore(5): "within one level of precedence, the last matching
 * pattern decides the outcome"), so scan backwards and stop at the first
 * match. */
static ignore_verdict rules_verdict(const ignore_rules *r, const subject *sj,
                                    bool is_dir) {
  for (size_t i = r->npats; i-- > 0;) {
    const pattern *pat = &r->pats[i];
    uint32_t flags = pat->len_flags & ((1u << PAT_FLAG_BITS) - 1);
    size_t len = pat->len_flags >> PAT_FLAG_BITS;
    if ((flags & PAT_DIR_ONLY) && !is_dir)
      continue;
    const char *p = r->text + pat->off;
    bool hit = flags & PAT_ANCHORED ? path_match(p, len, sj)
                                    : glob_match(p, len, sj->base, sj->nbase);
    if (hit)
      return flags & PAT_NEGATE ? IGNORE_INCLUDE : IGNORE_EXCLUDE;
  }
  return IGNORE_NONE;
}

ignore_verdict ignore_rules_match(const ignore_rules *r, const char *path,
                                  bool is_dir) {
  const char *slash = strrchr(path, '/');
  size_t ndir = slash ? (size_t)(slash - path) + 1 : 0;
  subject sj = {path, ndir, path + ndir, strlen(path + ndir)};
  return rules_verdict(r, &sj, is_dir);
}

/* ---------------------------------------------------------------------- */
/* Reading ignore files                                                   */
/* ---------------------------------------------------------------------- */

/* Longest ".git" or "commondir" file read: one path and a newline. */
#define GITLINK_MAX 65536

/* Which files a directory contributes, in order of precedence: ripgrep
 * ranks a match in any .ignore above one in any .gitignore, and that
 * above $GIT_DIR/info/exclude (which gitignore(5) also ranks below
 * .gitignore files). */
enum { KIND_IGNORE, KIND_GITIGNORE, KIND_EXCLUDE, NKINDS };

typedef struct level {
  ignore_rules *rules[NKINDS]; /* NULL: no such file, or no patterns */
  size_t end;   /* ignore_stack.path[end..] is the path from here down */
  bool has_git; /* holds .git: the top of a working tree */
  bool in_repo; /* it or an ancestor on the stack holds .git */
} level;

struct ignore_stack {
  level *lv;
  size_t n, cap;
  /* The names of the directories lv[1..n) joined, each followed by '/':
   * the path below any stacked directory, without building strings at
   * each match.  lv[0]'s own name is never needed. */
  char *path;
  size_t path_len, path_cap;
  ignore_warn_fn *warn;
  void *ctx;
};

static void report(const ignore_stack *st, const char *file, int err,
                   const char *why) {
  if (st->warn)
    st->warn(st->ctx, file, err, why ? why : strerror(err));
}

/* dir + "/" + name, malloc'ed, or NULL when out of memory. */
static char *join(const char *dir, const char *name) {
  size_t dl = strlen(dir), nl = strlen(name);
  bool slash = dl > 0 && dir[dl - 1] == '/';
  char *p = malloc(dl + nl + 2);
  if (p) {
    memcpy(p, dir, dl);
    if (!slash)
      p[dl++] = '/';
    memcpy(p + dl, name, nl + 1);
  }
  return p;
}

/* Reads the regular file path whole, at most limit bytes, into *out
 * (malloc'ed, *len bytes).  Returns 0 or an errno value, with *why set
 * when strerror would not say what is wrong.  O_NONBLOCK: opening a FIFO
 * named like an ignore file must not hang the walk (it is then refused as
 * not a regular file).  nofollow: refuse a symbolic link. */
static int read_file(const char *path, bool nofollow, size_t limit, char **out,
                     size_t *len, const char **why) {
  *out = NULL;
  *len = 0;
  *why = NULL;
  int fd;
  do
    fd = open(path,
              O_RDONLY | O_NONBLOCK | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    if (nofollow && err == ELOOP)
      *why = "a symbolic link, which git does not follow (gitignore(5))";
    return err;
  }
  int err = 0;
  char *buf = NULL;
  size_t n = 0;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    err = errno;
  } else if (S_ISDIR(st.st_mode)) {
    err = EISDIR;
  } else if (!S_ISREG(st.st_mode)) {
    err = EINVAL;
    *why = "not a regular file";
  } else if ((uintmax_t)st.st_size > limit) {
    err = EFBIG;
  } else {
    /* One byte more than the size, to see the end of file in one read;
     * the file may grow meanwhile, so keep checking the limit. */
    size_t cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (!buf)
      err = ENOMEM;
    while (!err) {
      if (n == cap) {
        if (n > limit) {
          err = EFBIG;
          break;
        }
        size_t grown = cap <= limit / 2 ? cap * 2 : limit + 1;
        char *p = realloc(buf, grown);
        if (!p) {
          err = ENOMEM;
          break;
        }
        buf = p;
        cap = grown;
      }
      ssize_t r = read(fd, buf + n, cap - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        err = errno;
      else if (r == 0)
        break;
      else
        n += (size_t)r;
    }
    if (!err && n > limit)
      err = EFBIG;
  }
  if (err == EFBIG && limit == IGNORE_MAX_FILE)
    *why = TOO_BIG_WHY;
  close(fd);
  if (err) {
    free(buf);
    return err;
  }
  *out = buf;
  *len = n;
  return 0;
}

/* Reads the ignore file path into *out (NULL if it does not exist or holds
 * no pattern).  A file that exists but cannot be read is reported. */
static ignore_status load_rules(const ignore_stack *st, const char *path,
                                bool nofollow, ignore_rules **out) {
  *out = NULL;
  char *text;
  size_t len;
  const char *why;
  int err = read_file(path, nofollow, IGNORE_MAX_FILE, &text, &len, &why);
  /* ENOTDIR: a path component is a file, so there is no ignore file. */
  if (err == ENOENT || err == ENOTDIR)
    return IGNORE_OK;
  if (err == ENOMEM)
    return IGNORE_ENOMEM;
  if (err) {
    report(st, path, err, why);
    return IGNORE_EREAD;
  }
  ignore_status rc = rules_adopt(text, len, out);
  if (rc == IGNORE_OK && (*out)->npats == 0) {
    ignore_rules_free(*out);
    *out = NULL;
  }
  return rc;
}

/* The first line of the small file path, malloc'ed and NUL-terminated in
 * *line, for the one-path files of gitrepository-layout(5) (".git" links,
 * "commondir").  Returns IGNORE_OK, or IGNORE_EREAD (reported; with
 * *missing set instead when the file does not exist) or IGNORE_ENOMEM. */
static ignore_status read_link_file(const ignore_stack *st, const char *path,
                                    char **line, bool *missing) {
  char *text;
  size_t len;
  const char *why;
  *line = NULL;
  *missing = false;
  int err = read_file(path, false, GITLINK_MAX, &text, &len, &why);
  if (err == ENOMEM)
    return IGNORE_ENOMEM;
  if (err) {
    if (err == ENOENT || err == ENOTDIR)
      *missing = true;
    else
      report(st, path, err, why);
    return IGNORE_EREAD;
  }
  size_t n = 0;
  while (n < len && text[n] != '\n' && text[n] != '\r' && text[n] != '\0')
    n++;
  *line = malloc(n + 1);
  if (*line) {
    memcpy(*line, text, n);
    (*line)[n] = '\0';
  }
  free(text);
  return *line ? IGNORE_OK : IGNORE_ENOMEM;
}

/* base/rel, or rel when it is absolute: how git resolves the paths in
 * ".git" links and "commondir" files.  NULL when out of memory. */
static char *resolve(const char *base, const char *rel) {
  return rel[0] == '/' ? strdup(rel) : join(base, rel);
}

/* The repository directory, in *out, that the ".git" file git names (NULL
 * if git no longer exists): a line
 * "gitdir: PATH", PATH relative to dir (gitrepository-layout(5): linked
 * worktrees and submodules have such a file). */
static ignore_status read_gitdir(const ignore_stack *st, const char *dir,
                                 const char *git, char **out) {
  char *line;
  bool missing;
  *out = NULL;
  ignore_status rc = read_link_file(st, git, &line, &missing);
  if (missing) /* gone since it was seen: no repository any more */
    return IGNORE_OK;
  if (rc != IGNORE_OK)
    return rc;
  if (strncmp(line, "gitdir:", 7) != 0) {
    report(st, git, EINVAL, "no \"gitdir:\" line, so info/exclude not read");
    free(line);
    return IGNORE_EREAD;
  }
  const char *target = line + 7;
  while (*target == ' ')
    target++;
  *out = resolve(dir, target);
  free(line);
  return *out ? IGNORE_OK : IGNORE_ENOMEM;
}

/* Sets *out to the path of info/exclude of the repository whose working
 * tree top is dir (which holds .git), or NULL if there is none.  .git is the
 * repository itself or a link to it (read_gitdir); a linked worktree's
 * repository keeps the files shared by all worktrees, info/ among them, in the
 * directory its "commondir" file names (gitrepository-layout(5)). */
static ignore_status exclude_path(const ignore_stack *st, const char *dir,
                                  char **out) {
  *out = NULL;
  char *git = join(dir, ".git");
  if (!git)
    return IGNORE_ENOMEM;
  struct stat sb;
  if (stat(git, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    *out = join(git, "info/exclude");
    free(git);
    return *out ? IGNORE_OK : IGNORE_ENOMEM;
  }
  char *gitdir = NULL, *common_file = NULL, *line = NULL;
  bool missing = false;
  ignore_status rc = read_gitdir(st, dir, git, &gitdir);
  if (rc == IGNORE_OK && gitdir) {
    common_file = join(gitdir, "commondir");
    rc = common_file ? read_link_file(st, common_file, &line, &missing)
                     : IGNORE_ENOMEM;
    if (rc == IGNORE_OK) {
      char *common = resolve(gitdir, line);
      *out = common ? join(common, "info/exclude") : NULL;
      free(common);
      rc = *out ? IGNORE_OK : IGNORE_ENOMEM;
    } else if (missing) { /* no commondir: not a linked worktree */
      *out = join(gitdir, "info/exclude");
      rc = *out ? IGNORE_OK : IGNORE_ENOMEM;
    }
  }
  free(git);
  free(gitdir);
  free(common_file);
  free(line);
  return rc;
}

/* The worse of two statuses: ENOMEM, then EREAD, then OK. */
static ignore_status worse(ignore_status a, ignore_status b) {
  return a < b ? a : b;
}

/* ---------------------------------------------------------------------- */
/* The stack                                                              */
/* ---------------------------------------------------------------------- */

ignore_stack *ignore_new(ignore_warn_fn *warn, void *ctx) {
  ignore_stack *st = calloc(1, sizeof *st);
  if (st) {
    st->warn = warn;
    st->ctx = ctx;
  }
  return st;
}

static void level_free(level *l) {
  for (int k = 0; k < NKINDS; k++)
    ignore_rules_free(l->rules[k]);
}

void ignore_pop_dir(ignore_stack *st) {
  if (st->n == 0)
    return;
  level_free(&st->lv[--st->n]);
  st->path_len = st->n ? st->lv[st->n - 1].end : 0;
}

static void pop_all(ignore_stack *st) {
  while (st->n)
    ignore_pop_dir(st);
}

void ignore_free(ignore_stack *st) {
  if (st) {
    pop_all(st);
    free(st->lv);
    free(st->path);
    free(st);
  }
}

size_t ignore_depth(const ignore_stack *st) {
  return st->n;
}

/* Pushes directory dir, named name[0..nlen) in its parent, and reads its
 * ignore files.  On ENOMEM the stack is left as it was. */
static ignore_status push_level(ignore_stack *st, const char *dir,
                                const char *name, size_t nlen) {
  if (st->n == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 16;
    level *lv = realloc(st->lv, cap * sizeof *lv);
    if (!lv)
      return IGNORE_ENOMEM;
    st->lv = lv;
    st->cap = cap;
  }
  size_t old_len = st->path_len;
  if (st->n > 0) {
    if (st->path_cap - st->path_len < nlen + 1) {
      size_t cap = st->path_cap ? st->path_cap : 256;
      while (cap - st->path_len < nlen + 1)
        cap *= 2;
      char *p = realloc(st->path, cap);
      if (!p)
        return IGNORE_ENOMEM;
      st->path = p;
      st->path_cap = cap;
    }
    memcpy(st->path + st->path_len, name, nlen);
    st->path[st->path_len + nlen] = '/';
    st->path_len += nlen + 1;
  }
  level *l = &st->lv[st->n];
  memset(l, 0, sizeof *l);
  l->end = st->path_len;

  ignore_status rc = IGNORE_OK;
  char *git = join(dir, ".git");
  char *file = join(dir, ".ignore");
  if (!git || !file) {
    rc = IGNORE_ENOMEM;
    goto done;
  }
  /* ripgrep's test for "inside a git repository": a .git of any kind. */
  struct stat sb;
  l->has_git = stat(git, &sb) == 0;
  l->in_repo = l->has_git || (st->n > 0 && st->lv[st->n - 1].in_repo);

  rc = load_rules(st, file, false, &l->rules[KIND_IGNORE]);
  if (rc != IGNORE_ENOMEM && l->in_repo) {
    free(file);
    file = join(dir, ".gitignore");
    /* gitignore(5) NOTES: "Git does not follow symbolic links when
     * accessing a .gitignore file in the working tree." */
    rc = !file
             ? IGNORE_ENOMEM
             : worse(rc, load_rules(st, file, true, &l->rules[KIND_GITIGNORE]));
  }
  if (rc != IGNORE_ENOMEM && l->has_git) {
    free(file);
    ignore_status e = exclude_path(st, dir, &file);
    if (e == IGNORE_OK && file)
      e = load_rules(st, file, false, &l->rules[KIND_EXCLUDE]);
    rc = worse(rc, e);
  }
done:
  free(git);
  free(file);
  if (rc == IGNORE_ENOMEM) {
    level_free(l);
    st->path_len = old_len;
    return rc;
  }
  st->n++;
  return rc;
}

/* The last component of path[0..*n), trailing slashes aside: its start,
 * with its length in *n. */
static const char *last_component(const char *path, size_t *n) {
  size_t e = *n;
  while (e > 1 && path[e - 1] == '/')
    e--;
  size_t s = e;
  while (s > 0 && path[s - 1] != '/')
    s--;
  *n = e - s;
  return path + s;
}

ignore_status ignore_push_dir(ignore_stack *st, const char *dir_path) {
  size_t n = strlen(dir_path);
  const char *name = last_component(dir_path, &n);
  return push_level(st, dir_path, name, n);
}

ignore_status ignore_push_root(ignore_stack *st, const char *root) {
  pop_all(st);
  char *real = realpath(root, NULL);
  if (!real) {
    int err = errno;
    if (err == ENOMEM)
      return IGNORE_ENOMEM;
    report(st, root, err,
           "cannot resolve the path: ignore files of its parent "
           "directories not read");
    return worse(IGNORE_EREAD, ignore_push_dir(st, root));
  }
  /* The file system root, then each component of the canonical path. */
  ignore_status rc = push_level(st, "/", "", 0);
  for (char *p = real + 1; rc != IGNORE_ENOMEM && *p;) {
    size_t nlen = strcspn(p, "/");
    char saved = p[nlen];
    p[nlen] = '\0';
    rc = worse(rc, push_level(st, real, p, nlen));
    p[nlen] = saved;
    p += nlen + (saved == '/');
  }
  free(real);
  if (rc == IGNORE_ENOMEM)
    pop_all(st);
  return rc;
}

bool ignore_match(const ignore_stack *st, const char *path, bool is_dir) {
  size_t n = strlen(path);
  const char *base = last_component(path, &n);
  if (st->n == 0 || n == 0)
    return false;
  for (int kind = 0; kind < NKINDS; kind++) {
    for (size_t i = st->n; i-- > 0;) {
      const level *l = &st->lv[i];
      if (l->rules[kind]) {
        subject sj = {st->path + l->end, st->path_len - l->end, base, n};
        ignore_verdict v = rules_verdict(l->rules[kind], &sj, is_dir);
        if (v != IGNORE_NONE)
          return v == IGNORE_EXCLUDE;
      }
      /* A nested repository's files replace the outer repository's: the
       * outer .gitignore and info/exclude stop at its top, as in git and
       * ripgrep.  .ignore files are not git's and go on applying. */
      if (kind != KIND_IGNORE && l->has_git)
        break;
    }
  }
  return false;
}
