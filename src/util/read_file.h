/* Reading a whole small file safely: never blocks on a FIFO or device, refuses
 * anything but a regular file, and checks the size before allocating. */
#ifndef VAECL_READ_FILE_H
#define VAECL_READ_FILE_H

#include <stddef.h>

/* Reads path into a malloc'd, NUL-terminated buffer (*size excludes the NUL).
 * `what` ("model file") and max_bytes shape the messages, which name the path. */
int vaecl_read_text_file(const char *path, const char *what, size_t max_bytes, char **text,
                         size_t *size);

#endif
