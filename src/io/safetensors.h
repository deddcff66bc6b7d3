/* Private: vaecl checkpoints in the safetensors layout (format 2); see
 * include/vaecl/checkpoint.h for the layout and the metadata. */
#ifndef VAECL_IO_SAFETENSORS_H
#define VAECL_IO_SAFETENSORS_H

#include <stdint.h>
#include <stdio.h>

#include <vaecl/checkpoint.h>

/* safetensors' own limit on the JSON header (N_MAX in its loader). */
#define VAECL_SAFETENSORS_HEADER_MAX 100000000ull

/* Checks what a save is given (names, shapes, counts, data, model text) so that it
 * never writes a file the reader would refuse; messages name path. */
int vaecl_safetensors_check(const char *path, const vaecl_checkpoint *c);

/* Encodes the u64 header length and the JSON header of a checked checkpoint (with its
 * checksum), padded with spaces so the data starts 8-byte aligned: *out is malloc'd,
 * *size bytes (a multiple of 8). */
int vaecl_safetensors_encode_header(const char *path, const vaecl_checkpoint *c, uint8_t **out,
                                    size_t *size);

/* Writes the tensors' data, little-endian float32, in order. Returns 0 or an errno. */
int vaecl_safetensors_write_data(FILE *f, const vaecl_checkpoint *c);

/* Reads a format-2 checkpoint from fd, a regular file of file_size bytes whose first 8
 * bytes (prefix, already read) are the header length. Validates everything; on failure
 * returns -1 with a message naming path and leaves *out empty. */
int vaecl_safetensors_read(const char *path, int fd, uint64_t file_size, const uint8_t prefix[8],
                           vaecl_checkpoint *out);

/* Reads exactly n bytes (retrying on EINTR); messages name path and say what was read. */
int vaecl_ckpt_read_exact(const char *path, int fd, void *buf, size_t n, const char *what);

#endif
