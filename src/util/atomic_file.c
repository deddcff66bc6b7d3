#include "util/atomic_file.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/temp_files.h"

int vaecl_atomic_open(vaecl_atomic_file *a, const char *path) {
  a->f = NULL;
  const int n = snprintf(a->path, sizeof a->path, "%s", path);
  if (n < 0 || (size_t)n >= sizeof a->path || vaecl_temp_path(path, a->tmp, sizeof a->tmp) != 0)
    return vaecl_fail("%s: path too long", path);
  (void)vaecl_remove_stale_temps(path); /* a killed writer's leftovers */
  if (!(a->f = fopen(a->tmp, "wb")))
    return vaecl_fail("%s: cannot create temporary file %s: %s", path, a->tmp, strerror(errno));
  return 0;
}

void vaecl_atomic_abort(vaecl_atomic_file *a) {
  if (!a->f)
    return;
  (void)fclose(a->f);
  (void)remove(a->tmp); /* best effort: the caller reports what went wrong */
  a->f = NULL;
}

int vaecl_atomic_commit(vaecl_atomic_file *a, int write_err) {
  int err = write_err ? write_err : ferror(a->f) ? EIO : 0;
  /* Buffered bytes can still fail to reach the disk; only a complete file may be renamed. */
  errno = 0;
  if (!err && (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0))
    err = errno ? errno : EIO;
  errno = 0;
  if (fclose(a->f) != 0 && !err)
    err = errno ? errno : EIO;
  a->f = NULL;
  if (err) {
    (void)remove(a->tmp);
    return vaecl_fail("%s: writing %s failed: %s", a->path, a->tmp, strerror(err));
  }
  if (rename(a->tmp, a->path) != 0) {
    const int e = errno;
    (void)remove(a->tmp);
    return vaecl_fail("%s: cannot rename %s over it: %s", a->path, a->tmp, strerror(e));
  }
  return 0;
}
