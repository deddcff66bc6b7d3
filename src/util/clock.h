/* Wall-clock seconds from a monotonic clock, for timing reports. */
#ifndef VAECL_CLOCK_H
#define VAECL_CLOCK_H

#include <time.h>

static inline double vaecl_seconds(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) /* cannot fail on Linux; keep timing harmless */
    return 0.0;
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
