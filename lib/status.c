/*
 * status.c -- status strings, the run-time version, and the helper that
 * formats a handle's last-error message.  Bottom of the dependency order:
 * every other file may call kidx__err().
 */
#include "kidx_int.h"

#include <stdio.h>

unsigned kidx_version(void) {
  return KIDX_VERSION_NUMBER;
}

const char *kidx_version_string(void) {
  return KIDX_VERSION_STRING;
}

const char *kidx_strerror(kidx_status status) {
  switch (status) {
  case KIDX_OK:
    return "success";
#define KIDX__STATUS_CASE(name, value, text)                                   \
  case KIDX_E##name:                                                           \
    return text;
    KIDX_STATUS_MAP(KIDX__STATUS_CASE)
#undef KIDX__STATUS_CASE
  }
  return "unknown error";
}

int kidx__err(char *buf, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, KIDX__ERRMSG_MAX, fmt, ap);
  va_end(ap);
  return rc;
}

int kidx__err_os(char *buf, int rc, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, KIDX__ERRMSG_MAX, fmt, ap);
  va_end(ap);
  if (n < 0 || n >= KIDX__ERRMSG_MAX - 3)
    return rc;
  /* strerror_r (POSIX, XSI form) rather than strerror, whose buffer may be
   * shared between threads. */
  char os[128];
  if (strerror_r(err, os, sizeof os) != 0)
    snprintf(os, sizeof os, "error %d", err);
  snprintf(buf + n, KIDX__ERRMSG_MAX - (size_t)n, ": %s", os);
  return rc;
}
