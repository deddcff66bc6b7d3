/* Output files of the verbs: checked before any work. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/error.h"
#include "util/temp_files.h"

int cli_check_output(const char *option, const char *path) {
  struct stat st;
  const size_t n = strlen(path);
  if (n == 0 || path[n - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
    return vaecl_fail("%s %s is a directory; give a file name", option, path);
  char tmp[4200];
  if (vaecl_temp_path(path, tmp, sizeof tmp) != 0)
    return vaecl_fail("%s %s: the path is too long", option, path);
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
