#include "fuzz_util.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[PATH_MAX];

/* Removes the files the harnesses wrote (one level: they make no subdirectories). */
static void remove_dir(void) {
  DIR *d = opendir(dir);
  if (d) {
    const struct dirent *e;
    char path[FUZZ_PATH_MAX];
    while ((e = readdir(d)) != NULL)
      if (e->d_name[0] != '.') {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        (void)unlink(path);
      }
    closedir(d);
  }
  (void)rmdir(dir);
}

const char *fuzz_dir(void) {
  if (dir[0])
    return dir;
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/vaecl-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror("fuzz: mkdtemp");
    abort();
  }
  atexit(remove_dir);
  return dir;
}

void fuzz_write(char path[FUZZ_PATH_MAX], const char *name, const uint8_t *data, size_t size) {
  snprintf(path, FUZZ_PATH_MAX, "%s/%s", fuzz_dir(), name);
  FILE *f = fopen(path, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    perror(path);
    abort();
  }
}
