/*
 * ignore.h -- which entries a directory walk skips because an ignore file
 * says so: .gitignore, .ignore and .git/info/exclude, read the way ripgrep
 * and fd read them, with the pattern language of gitignore(5).
 *
 * Two levels:
 *  - ignore_rules: the patterns of one ignore file, matched against paths
 *    relative to the directory that holds the file.  No file system access.
 *  - ignore_stack: follows a depth-first walk.  The walker pushes each
 *    directory before listing it and pops it after; the stack reads that
 *    directory's ignore files and answers, for each entry listed, whether
 *    it is ignored.
 *
 * A walk, in outline (IGNORE_ENOMEM checks left out):
 *
 *   ignore_stack *ig = ignore_new(warn, ctx);
 *   ignore_push_root(ig, root);            the root and its ancestors
 *   walk(dir):
 *     for each entry e of dir:
 *       skip e if hidden, per the walker's own --hidden policy;
 *       skip e if ignore_match(ig, e.path, e.is_dir);
 *       if e is a directory: open it, ignore_push_dir(ig, e.path),
 *                            walk(e), ignore_pop_dir(ig);
 *   ignore_free(ig);                       pops whatever is left
 *
 * An ignored directory is never descended into, which is what makes a
 * file in it impossible to re-include (gitignore(5): "It is not possible
 * to re-include a file if a parent directory of that file is excluded").
 *
 * Which files are read, per directory D (ripgrep's defaults):
 *  - D/.ignore, always;
 *  - D/.gitignore, only when D is inside a git repository: D or one of its
 *    ancestors holds a .git directory or file;
 *  - the repository's info/exclude, when D holds .git (a directory, or a
 *    "gitdir:" file as worktrees and submodules have).
 * ignore_push_root also reads the files of every ancestor of the walk root
 * (up to the file system root), so that `kidx index docs` inside a
 * repository honours the top-level .gitignore.
 *
 * Precedence (ripgrep's, which extends gitignore(5)'s): a match in a
 * .ignore file beats one in a .gitignore, which beats one in info/exclude.
 * Among files of one kind, the deepest directory's file decides; within a
 * file, the last matching line.  A "!pattern" match decides "not ignored".
 * A repository nested inside another (a directory with its own .git) cuts
 * off the outer repository's .gitignore and info/exclude files, as git
 * does; .ignore files apply across it.
 *
 * Not here: hidden files and the .git directory itself (the walker's
 * --hidden policy), symbolic links, the walk root itself (a path the user
 * named is walked even if ignored), git's core.excludesFile and
 * core.ignoreCase, and .rgignore.
 *
 * Not thread-safe: one stack serves one walk.
 */
#ifndef KIDX_CLI_IGNORE_H
#define KIDX_CLI_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

/* Largest ignore file read: a larger one is refused, reported with EFBIG,
 * rather than read into memory.  Real ignore files are a few KiB; the
 * parsed form of a file takes at most about five times its size. */
#define IGNORE_MAX_FILE ((size_t)16 << 20)

typedef enum ignore_status {
  IGNORE_OK = 0,
  /* Some ignore file exists but could not be used (unreadable, too large,
   * not a regular file ...).  Each one was reported to the warn callback;
   * the directory was pushed all the same, with its other files. */
  IGNORE_EREAD = -1,
  /* Out of memory.  Nothing was pushed: the stack is as before the call
   * (ignore_push_root: empty). */
  IGNORE_ENOMEM = -2,
  /* ignore_rules_parse: the text is longer than IGNORE_MAX_FILE. */
  IGNORE_ETOOBIG = -3
} ignore_status;

/* What an ignore file says about one path. */
typedef enum ignore_verdict {
  IGNORE_NONE,    /* no pattern matches */
  IGNORE_EXCLUDE, /* the last matching pattern ignores the path */
  IGNORE_INCLUDE  /* the last matching pattern is a "!" negation */
} ignore_verdict;

/* ---------------------------------------------------------------------- */
/* One ignore file                                                        */
/* ---------------------------------------------------------------------- */

typedef struct ignore_rules ignore_rules;

/* Parses the text of an ignore file, text[0..len) (NUL bytes allowed, no
 * terminator needed), copying it.  Lines that are not valid patterns (an
 * unterminated "[", a trailing backslash, an unknown [:class:]) match
 * nothing, as in git.  Returns IGNORE_OK and the rules in *out, which the
 * caller frees with ignore_rules_free, or IGNORE_ENOMEM or IGNORE_ETOOBIG
 * and NULL.  Cost: two passes over the text. */
ignore_status ignore_rules_parse(const char *text, size_t len,
                                 ignore_rules **out);
void ignore_rules_free(ignore_rules *r); /* NULL is a no-op */

/* The verdict of r's patterns on path, a '/'-separated path relative to
 * the directory of the ignore file, without leading or trailing '/' or
 * "." / ".." components ("a/b/c.txt").  is_dir tells whether path names a
 * directory, for patterns ending in '/'.  Never allocates.  Cost: at most
 * O(len(pattern) * len(path)) per pattern, whatever the pattern. */
ignore_verdict ignore_rules_match(const ignore_rules *r, const char *path,
                                  bool is_dir);

/* ---------------------------------------------------------------------- */
/* The stack of a walk                                                    */
/* ---------------------------------------------------------------------- */

typedef struct ignore_stack ignore_stack;

/* Called once per ignore file that exists but cannot be used: file is its
 * path, err an errno value (EACCES, EIO, EISDIR, EFBIG when larger than
 * IGNORE_MAX_FILE, ELOOP for a .gitignore that is a symbolic link ...) and
 * why a short human-readable reason ("Permission denied", "larger than
 * 16 MiB").  Both strings are valid during the call only. */
typedef void ignore_warn_fn(void *ctx, const char *file, int err,
                            const char *why);

/* A new, empty stack, or NULL when out of memory.  warn (may be NULL)
 * receives ctx with every problem reported. */
ignore_stack *ignore_new(ignore_warn_fn *warn, void *ctx);
void ignore_free(ignore_stack *st); /* NULL is a no-op */

/* Empties st, then pushes the walk root `root` (a directory, any path the
 * user gave: "docs", ".", "/abs/dir/") preceded by all of its ancestors up
 * to "/", found from its canonical path (realpath), so that patterns in
 * ancestors' files see the real names of the directories between them and
 * the entries.  If the canonical path cannot be found, root alone is
 * pushed and the problem reported.  Returns as ignore_push_dir. */
ignore_status ignore_push_root(ignore_stack *st, const char *root);

/* Pushes the directory dir_path, a subdirectory of the directory on top of
 * the stack (the walker's path to it: only its last component is taken as
 * its name), and reads its ignore files.  On an empty stack it starts a
 * walk at dir_path without reading the ancestors' files.  Call it after
 * the directory could be opened, so that an unreadable directory is
 * reported once, by the walker.  Every call that does not return
 * IGNORE_ENOMEM must be balanced by ignore_pop_dir. */
ignore_status ignore_push_dir(ignore_stack *st, const char *dir_path);

/* Pops the directory pushed last, dropping its ignore files.  The
 * ancestors that ignore_push_root pushed are popped like any directory (or
 * all at once by ignore_free or the next ignore_push_root).  No-op on an
 * empty stack. */
void ignore_pop_dir(ignore_stack *st);

/* Number of directories on the stack. */
size_t ignore_depth(const ignore_stack *st);

/* Whether the entry `path`, listed in the directory on top of the stack,
 * is ignored.  Only the last component of path is looked at (trailing
 * slashes aside), so the walker may pass the joined path or the bare name.
 * is_dir: whether the walk would descend into it (false for a symbolic
 * link the walk does not follow).  False on an empty stack.  Never
 * allocates; cost proportional to the patterns of the stacked files. */
bool ignore_match(const ignore_stack *st, const char *path, bool is_dir);

#endif /* KIDX_CLI_IGNORE_H */
