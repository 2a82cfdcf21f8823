/*
 * index_jsonl.c -- `kidx index --jsonl FILE`: documents from JSON Lines
 * (the line format is jsonl.c's), read line by line so memory holds one
 * line at a time however big the input.  A bad line is reported
 * compiler-style and skipped; the run goes on and ends with exit status 4.
 */
#include "cmd_index.h"

#include "jsonl.h"
#include "lines.h"
#include "stamps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

/* Longest JSON Lines line (one document) kidx index reads; a longer one is
 * reported and skipped.  Far above real documents, it bounds memory when a
 * file without newlines is given by mistake. */
#define JSONL_MAX_LINE ((size_t)256 << 20)

/* A bad line of a --jsonl input: "kidx: FILE:LINE: what", compiler
 * style, so editors can jump to it. */
static void line_error(index_run *run, const char *name, uint64_t lineno,
                       const char *fmt, ...) CLI_PRINTF(4, 5);
static void line_error(index_run *run, const char *name, uint64_t lineno,
                       const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  progress_clear(&run->rep.prog);
  cli_fail(ST_INPUT, "%s:%" PRIu64 ": %s", name, lineno, what);
  run->bad_lines++;
}

int index_jsonl(index_run *run, kidx_writer *w, const char *path) {
  bool std_in = strcmp(path, "-") == 0;
  const char *name = std_in ? "<stdin>" : path;
  int fd = std_in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { /* checked before the run: it vanished since */
    report_warn(&run->rep, WARN_UNREADABLE, "cannot read %s: %s", name,
                strerror(errno));
    run->rep.unreadable++;
    return ST_OK;
  }
  line_reader lr;
  line_reader_init(&lr, fd, JSONL_MAX_LINE);
  int rc = ST_OK;
  for (;;) {
    char *line;
    size_t len;
    int err = 0;
    line_status ls = line_reader_next(&lr, &line, &len, &err);
    if (ls == LINE_EOF)
      break;
    if (ls == LINE_ERROR) {
      /* What was read so far is kept, as for files. */
      report_warn(&run->rep, WARN_UNREADABLE, "cannot read %s: %s", name,
                  strerror(err));
      run->rep.unreadable++;
      break;
    }
    if (ls == LINE_TOO_LONG) {
      line_error(run, name, lr.lineno, "line longer than %zu MiB",
                 JSONL_MAX_LINE >> 20);
      continue;
    }
    if (jsonl_blank(line, len))
      continue;
    jsonl_doc d;
    char what[256];
    if (!jsonl_parse(line, len, &d, what, sizeof what)) {
      line_error(run, name, lr.lineno, "%s", what);
      continue;
    }
    kidx_stamp old;
    int found = d.id_len > 0 ? stamp_lookup(w, d.id, d.id_len, &old) : 0;
    if (found < 0) {
      progress_clear(&run->rep.prog);
      rc = cli_fail(ST_INDEX, "cannot index into %s: %s", run->c->index_dir,
                    cli_lib_message(kidx_writer_errmsg(w), (kidx_status)found));
      break;
    }
    kidx_status st = kidx_writer_add(w, d.id, d.id_len, d.title, d.title_len,
                                     d.body, d.body_len);
    if (st == KIDX_EINVAL || st == KIDX_ETOOBIG) {
      line_error(run, name, lr.lineno, "cannot index: %s",
                 cli_lib_message(kidx_writer_errmsg(w), st));
      continue;
    }
    if (st != KIDX_OK) {
      progress_clear(&run->rep.prog);
      rc = cli_fail(ST_INDEX, "cannot index %s:%" PRIu64 " into %s: %s", name,
                    lr.lineno, run->c->index_dir,
                    cli_lib_message(kidx_writer_errmsg(w), st));
      break;
    }
    run->docs++;
    run->docs_new += !found;
    run->bytes += len;
    progress_draw(&run->rep.prog, run->done_files, run->done_bytes + lr.bytes,
                  false);
  }
  run->done_files++;
  run->done_bytes += lr.bytes;
  line_reader_free(&lr);
  if (!std_in)
    close(fd);
  return rc;
}
