#include "util/read_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

int vaecl_read_text_file(const char *path, const char *what, size_t max_bytes, char **text,
                         size_t *size) {
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return vaecl_fail("%s: cannot open the %s: %s", path, what, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    return vaecl_fail("%s: cannot stat the %s: %s", path, what, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return vaecl_fail("%s: the %s is not a regular file", path, what);
  }
  if ((unsigned long long)st.st_size > max_bytes) {
    close(fd);
    return vaecl_fail("%s: %lld bytes is too large for a %s (at most %zu)", path,
                      (long long)st.st_size, what, max_bytes);
  }
  const size_t n = (size_t)st.st_size;
  char *buf = malloc(n + 1);
  if (!buf) {
    close(fd);
    return vaecl_fail("%s: out of host memory reading the %s", path, what);
  }
  size_t got = 0;
  while (got < n) {
    const ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      const int e = r < 0 ? errno : 0;
      free(buf);
      close(fd);
      return e ? vaecl_fail("%s: reading the %s failed: %s", path, what, strerror(e))
               : vaecl_fail("%s: the %s shrank while being read", path, what);
    }
    got += (size_t)r;
  }
  close(fd); /* read-only: nothing to lose if close fails */
  buf[n] = '\0';
  *text = buf;
  *size = n;
  return 0;
}
