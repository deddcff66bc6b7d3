#include "util/temp_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

int vaecl_temp_path(const char *path, char *tmp, size_t size) {
  const int n = snprintf(tmp, size, "%s.tmp.%ld", path, (long)getpid());
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The PID in "BASE.tmp.PID", or 0 when name is not such a temporary of base. */
static long temp_pid(const char *name, const char *base, size_t base_len) {
  if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, ".tmp.", 5) != 0)
    return 0;
  const char *digits = name + base_len + 5;
  char *end;
  if (*digits < '1' || *digits > '9')
    return 0;
  errno = 0;
  const long pid = strtol(digits, &end, 10);
  return errno || *end || pid <= 0 || pid > INT_MAX ? 0 : pid;
}

int vaecl_remove_stale_temps(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
  const size_t base_len = strlen(base);
  if (base_len == 0)
    return 0;
  const int n = slash ? snprintf(dir, sizeof dir, "%.*s", (int)(slash - path + 1), path)
                      : snprintf(dir, sizeof dir, ".");
  if (n < 0 || (size_t)n >= sizeof dir)
    return 0;
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int removed = 0;
  const struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    const long pid = temp_pid(e->d_name, base, base_len);
    /* EPERM means the process exists under another user: leave its file alone. */
    if (pid == 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
      continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        unlinkat(dirfd(d), e->d_name, 0) == 0)
      removed++;
  }
  closedir(d);
  return removed;
}
