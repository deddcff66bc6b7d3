/* --model: a model file, or a checkpoint that carries one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/error.h"

/* A checkpoint starts with format 1's magic or with safetensors' u64 header length
 * followed by '{'; a model file is text. */
static int looks_like_checkpoint(const char *path) {
  unsigned char b[9] = {0};
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return 0; /* the loader will say why */
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return 1; /* the checkpoint loader names what it is (a FIFO, a directory) */
  }
  const ssize_t n = read(fd, b, sizeof b);
  close(fd);
  if (n >= 8 && memcmp(b, "VAECLCKP", 8) == 0)
    return 1;
  return n == 9 && b[8] == '{' && b[6] == 0 && b[7] == 0;
}

int cli_load_model(const char *path, vaecl_model_spec *spec, vaecl_checkpoint *ck) {
  if (ck)
    memset(ck, 0, sizeof *ck);
  if (!path)
    return vaecl_model_spec_default(spec);
  if (!looks_like_checkpoint(path))
    return vaecl_model_spec_load(path, spec);
  vaecl_checkpoint local;
  vaecl_checkpoint *c = ck ? ck : &local;
  if (vaecl_checkpoint_load(path, c) != 0)
    return -1;
  char source[300];
  snprintf(source, sizeof source, "%s (its model)", path);
  const int rc = vaecl_model_spec_parse(c->model_text, source, spec);
  if (rc != 0 || !ck)
    vaecl_checkpoint_free(c);
  return rc;
}
