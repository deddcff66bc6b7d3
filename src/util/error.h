/* Thread-local "last error" message: the one place failures are described. */
#ifndef VAECL_ERROR_H
#define VAECL_ERROR_H

#include <vaecl.h>

#if defined(__GNUC__)
#define VAECL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VAECL_PRINTF(a, b)
#endif

/* Records a message and returns -1, so callers can write `return vaecl_fail(...)`. */
int vaecl_fail(const char *fmt, ...) VAECL_PRINTF(1, 2);

/* Prepends context ("loading checkpoint x: ") to the current message; returns -1. */
int vaecl_fail_context(const char *fmt, ...) VAECL_PRINTF(1, 2);

#endif
