/* Checkpoints: atomic saves in the safetensors layout (io/safetensors.c), loads of
 * either format (format 1 in io/checkpoint_v1.c). */
#include <vaecl/checkpoint.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/checkpoint_v1.h"
#include "io/safetensors.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/temp_files.h"

/* ---- saving ---- */

/* Refuses paths a checkpoint cannot be renamed onto: empty, a directory, or a name
 * ending in '/'. */
static int check_target(const char *path) {
  if (!path || !path[0])
    return vaecl_fail("cannot write a checkpoint to an empty path");
  if (path[strlen(path) - 1] == '/')
    return vaecl_fail("%s: cannot write a checkpoint there: it names a directory", path);
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return vaecl_fail("%s: cannot write a checkpoint there: it is a directory", path);
  return 0;
}

/* The temporary name a save writes to before renaming it over path (same directory,
 * so the rename stays within one file system). */
static int temp_path(const char *path, char *tmp, size_t size) {
  if (vaecl_temp_path(path, tmp, size) != 0)
    return vaecl_fail("%s: path too long", path);
  return 0;
}

int vaecl_checkpoint_check_writable(const char *path) {
  if (check_target(path))
    return -1;
  char tmp[4096];
  if (temp_path(path, tmp, sizeof tmp) != 0)
    return -1;
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return vaecl_fail("%s: cannot write a checkpoint there (%s: %s)", path, tmp, strerror(errno));
  const int close_failed = fclose(f) != 0;
  const int e = errno;
  if (remove(tmp) != 0 || close_failed)
    return vaecl_fail("%s: cannot write a checkpoint there (%s: %s)", path, tmp,
                      strerror(close_failed ? e : errno));
  return 0;
}

/* The file's bytes; an errno when a write fails. */
static int write_file(FILE *f, const uint8_t *header, size_t header_size,
                      const vaecl_checkpoint *c) {
  errno = 0;
  if (fwrite(header, 1, header_size, f) != header_size)
    return errno ? errno : EIO;
  return vaecl_safetensors_write_data(f, c);
}

int vaecl_checkpoint_save(const char *path, const vaecl_checkpoint *c) {
  if (check_target(path) || vaecl_safetensors_check(path, c))
    return -1;
  uint8_t *header = NULL;
  size_t header_size = 0;
  if (vaecl_safetensors_encode_header(path, c, &header, &header_size))
    return -1;
  vaecl_atomic_file out;
  if (vaecl_atomic_open(&out, path) != 0) {
    free(header);
    return -1;
  }
  const int err = write_file(out.f, header, header_size, c);
  free(header);
  return vaecl_atomic_commit(&out, err);
}

/* ---- loading ---- */

/* Opens path for reading without blocking on a FIFO or device, and refuses anything
 * but a regular file. */
static int open_regular(const char *path, int *fd_out, uint64_t *size) {
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return vaecl_fail("%s: cannot open checkpoint: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    (void)close(fd);
    return vaecl_fail("%s: cannot stat checkpoint: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    (void)close(fd);
    return vaecl_fail("%s: not a regular file%s", path,
                      S_ISDIR(st.st_mode)    ? " (a directory)"
                      : S_ISFIFO(st.st_mode) ? " (a FIFO)"
                                             : "");
  }
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const int e = errno;
    (void)close(fd);
    return vaecl_fail("%s: cannot read checkpoint: %s", path, strerror(e));
  }
  *fd_out = fd;
  *size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
  return 0;
}

/* Format 1: the whole file, whose size fstat reported, as one buffer. */
static int load_v1(const char *path, int fd, uint64_t size, const uint8_t prefix[8],
                   vaecl_checkpoint *out) {
  if (size > SIZE_MAX)
    return vaecl_fail("%s: %llu bytes is too large for a format-1 checkpoint", path,
                      (unsigned long long)size);
  uint8_t *b = malloc((size_t)size);
  if (!b)
    return vaecl_fail("%s: out of memory for %llu bytes", path, (unsigned long long)size);
  memcpy(b, prefix, 8);
  int rc = vaecl_ckpt_read_exact(path, fd, b + 8, (size_t)size - 8, "the file");
  if (rc == 0)
    rc = vaecl_ckpt_v1_parse(path, b, (size_t)size, out);
  free(b);
  return rc;
}

int vaecl_checkpoint_load(const char *path, vaecl_checkpoint *out) {
  memset(out, 0, sizeof *out);
  int fd = -1;
  uint64_t size = 0;
  if (open_regular(path, &fd, &size))
    return -1;
  uint8_t prefix[8];
  int rc;
  if (size < sizeof prefix)
    rc = vaecl_fail("%s: not a vaecl checkpoint: only %llu bytes (truncated?)", path,
                    (unsigned long long)size);
  else
    rc = vaecl_ckpt_read_exact(path, fd, prefix, sizeof prefix, "the header");
  if (rc == 0) {
    if (memcmp(prefix, VAECL_CKPT_V1_MAGIC, sizeof prefix) == 0)
      rc = load_v1(path, fd, size, prefix, out);
    else
      rc = vaecl_safetensors_read(path, fd, size, prefix, out);
  }
  (void)close(fd); /* read-only: nothing to lose if close fails */
  if (rc)
    vaecl_checkpoint_free(out);
  return rc;
}

void vaecl_checkpoint_free(vaecl_checkpoint *c) {
  if (c->tensors)
    for (size_t i = 0; i < c->tensor_count; i++)
      free(c->tensors[i].data);
  free(c->tensors);
  free(c->model_text);
  free(c->validation);
  memset(c, 0, sizeof *c);
}

const vaecl_ckpt_tensor *vaecl_checkpoint_find(const vaecl_checkpoint *c, const char *name) {
  for (size_t i = 0; i < c->tensor_count; i++)
    if (strncmp(c->tensors[i].name, name, VAECL_CKPT_NAME_MAX) == 0)
      return &c->tensors[i];
  return NULL;
}
