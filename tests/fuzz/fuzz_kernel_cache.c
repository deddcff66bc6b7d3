/* libFuzzer harness for the kernel cache entry reader (src/backend/opencl/
 * cl_cache_entry.c): any bytes, as a damaged or crafted cache file. The reader must
 * never read outside the input, and whatever it accepts must be exactly what the
 * writer would produce for that payload, so a driver never sees bytes that were not
 * written as a whole entry. Build with -DVAECL_FUZZ=ON and clang. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backend/opencl/cl_cache_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const unsigned char *payload = NULL;
  size_t n = 0;
  if (vaecl_kcache_check(data, size, &payload, &n) != 0)
    return 0;
  unsigned char header[VAECL_KCACHE_HEADER_SIZE];
  if (payload != data + VAECL_KCACHE_HEADER_SIZE || n != size - VAECL_KCACHE_HEADER_SIZE)
    __builtin_trap(); /* the payload must be the rest of the file, exactly */
  vaecl_kcache_header(payload, n, header);
  if (memcmp(header, data, sizeof header) != 0)
    __builtin_trap(); /* accepted, yet not what the writer writes */
  return 0;
}
