#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[2048];

const char *vaecl_last_error(void) {
  return last_error[0] ? last_error : "no error recorded";
}

int vaecl_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return -1;
}

int vaecl_fail_context(const char *fmt, ...) {
  char prefix[512], old[sizeof last_error];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, last_error, sizeof old);
  /* Truncation is acceptable: the start of the message matters most. */
  const size_t n = strlen(prefix);
  memcpy(last_error, prefix, n + 1);
  if (n + 1 < sizeof last_error)
    memcpy(last_error + n, old, sizeof last_error - n - 1);
  last_error[sizeof last_error - 1] = '\0';
  return -1;
}
