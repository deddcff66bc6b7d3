/* The kernel cache's file format, kept apart from OpenCL so that it can be tested
 * and fuzzed alone. An entry is a 24-byte header and the driver's program binary:
 *   bytes 0-7   "VAECLKC\x01" (magic and format version)
 *   bytes 8-15  payload length, u64 little-endian
 *   bytes 16-19 CRC-32 (zlib's) of the payload, u32 little-endian
 *   bytes 20-23 zero
 * A driver may crash on a damaged binary rather than reject it, so a reader hands
 * the payload on only when the length and the checksum both match. */
#ifndef VAECL_CL_CACHE_ENTRY_H
#define VAECL_CL_CACHE_ENTRY_H

#include <stddef.h>

#define VAECL_KCACHE_HEADER_SIZE 24u
/* Larger program binaries are not cached (PoCL's for vaecl are about 1 MB). */
#define VAECL_KCACHE_MAX_PAYLOAD ((size_t)256 << 20)

/* The header for a payload of n bytes (n <= VAECL_KCACHE_MAX_PAYLOAD). */
void vaecl_kcache_header(const unsigned char *payload, size_t n,
                         unsigned char header[VAECL_KCACHE_HEADER_SIZE]);
/* Checks a whole entry file; on success *payload points into `file` and *n is its
 * length. -1 (and no message: a bad entry is simply rebuilt) when the magic, the
 * length or the checksum is wrong. */
int vaecl_kcache_check(const unsigned char *file, size_t size, const unsigned char **payload,
                       size_t *n);

#endif
