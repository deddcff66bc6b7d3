#include "backend/opencl/cl_cache_entry.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

static const unsigned char magic[8] = {'V', 'A', 'E', 'C', 'L', 'K', 'C', 1};

static uint32_t checksum(const unsigned char *p, size_t n) {
  return (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), p, n); /* size_t length: zlib >= 1.2.9 */
}

static void put_le(unsigned char *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

void vaecl_kcache_header(const unsigned char *payload, size_t n,
                         unsigned char header[VAECL_KCACHE_HEADER_SIZE]) {
  memcpy(header, magic, sizeof magic);
  put_le(header + 8, (uint64_t)n, 8);
  put_le(header + 16, checksum(payload, n), 4);
  put_le(header + 20, 0, 4);
}

int vaecl_kcache_check(const unsigned char *file, size_t size, const unsigned char **payload,
                       size_t *n) {
  if (size < VAECL_KCACHE_HEADER_SIZE || memcmp(file, magic, sizeof magic) != 0 ||
      get_le(file + 20, 4) != 0)
    return -1;
  const uint64_t length = get_le(file + 8, 8);
  /* Compared with what is there, so a huge claimed length costs nothing. */
  if (length == 0 || length > VAECL_KCACHE_MAX_PAYLOAD ||
      length != (uint64_t)(size - VAECL_KCACHE_HEADER_SIZE))
    return -1;
  const unsigned char *p = file + VAECL_KCACHE_HEADER_SIZE;
  if (checksum(p, (size_t)length) != (uint32_t)get_le(file + 16, 4))
    return -1;
  *payload = p;
  *n = (size_t)length;
  return 0;
}
