/* Output files of the verbs: checked before any work, written whole or not at all. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/error.h"

static int temp_name(const char *path, char *tmp, size_t size) {
  const int n = snprintf(tmp, size, "%s.tmp", path);
  return n < 0 || (size_t)n >= size ? vaecl_fail("%s: the path is too long", path) : 0;
}

int cli_check_output(const char *option, const char *path) {
  struct stat st;
  const size_t n = strlen(path);
  if (n == 0 || path[n - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
    return vaecl_fail("%s %s is a directory; give a file name", option, path);
  char tmp[4200];
  if (temp_name(path, tmp, sizeof tmp) != 0)
    return -1;
  /* The same temporary file the real write will use, so the check tests what matters. */
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return vaecl_fail("cannot write %s %s (%s); pick a writable path", option, path,
                      strerror(errno));
  (void)fclose(f);
  if (remove(tmp) != 0)
    return vaecl_fail("cannot remove the test file %s (%s)", tmp, strerror(errno));
  return 0;
}

int cli_out_open(cli_out_file *o, const char *path) {
  o->f = NULL;
  snprintf(o->path, sizeof o->path, "%s", path);
  if (strlen(path) >= sizeof o->path || temp_name(path, o->tmp, sizeof o->tmp) != 0)
    return vaecl_fail("%s: the path is too long", path);
  if (!(o->f = fopen(o->tmp, "w")))
    return vaecl_fail("cannot create %s (%s); pick a writable path", o->tmp, strerror(errno));
  return 0;
}

void cli_out_abort(cli_out_file *o) {
  if (o->f) {
    (void)fclose(o->f);
    (void)remove(o->tmp);
  }
  o->f = NULL;
}

int cli_out_commit(cli_out_file *o) {
  int err = ferror(o->f) ? EIO : 0;
  errno = 0;
  if (!err && (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0))
    err = errno ? errno : EIO;
  if (fclose(o->f) != 0 && !err)
    err = errno ? errno : EIO;
  o->f = NULL;
  if (!err && rename(o->tmp, o->path) != 0)
    err = errno;
  if (err) {
    (void)remove(o->tmp);
    return vaecl_fail("writing %s failed: %s", o->path, strerror(err));
  }
  return 0;
}
