/* The on-disk cache of compiled kernels: written on first use, reused, and never a
 * reason to fail (a corrupt entry is rebuilt, an unwritable directory is skipped). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include <vaecl.h>
#include <vaecl/backend_registry.h>

static char *dir;

/* The one cache entry in dir; fails the test when there is not exactly one. */
static void cache_entry(char *path, size_t size) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int found = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, "kernels-", 8) == 0 && strstr(e->d_name, ".bin")) {
      snprintf(path, size, "%s/%s", dir, e->d_name);
      found++;
    }
  closedir(d);
  ck_assert_int_eq(found, 1);
}

/* The cache directory under test (the library reads no environment). */
static const char *cache_dir;

static void open_and_use_backend(void) {
  vaecl_backend_options o = vaecl_backend_defaults();
  o.cache_dir = cache_dir;
  vb_backend *be = vaecl_backend_create("opencl", &o);
  ck_assert_msg(be, "%s", vaecl_last_error());
  /* A kernel from the (possibly cached) program must really run. */
  vb_buf *b = be->ops->alloc(be, 4 * sizeof(float));
  float out[4];
  ck_assert_int_eq(be->ops->fill(be, b, 2.5f, 4), 0);
  ck_assert_int_eq(be->ops->read(be, b, 0, out, sizeof out), 0);
  ck_assert(out[0] == 2.5f && out[3] == 2.5f);
  be->ops->release(be, b);
  be->ops->destroy(be);
}

START_TEST(binary_is_written_then_reused) {
  char path[4400];
  open_and_use_backend();
  cache_entry(path, sizeof path);
  struct stat first, second;
  ck_assert_int_eq(stat(path, &first), 0);
  ck_assert_int_gt(first.st_size, 0);
  open_and_use_backend();
  cache_entry(path, sizeof path); /* still one entry: same key */
  ck_assert_int_eq(stat(path, &second), 0);
  ck_assert_int_eq(first.st_ino, second.st_ino); /* a rewrite would rename a new file in */
}
END_TEST

START_TEST(corrupt_entry_is_rebuilt) {
  char path[4400];
  open_and_use_backend();
  cache_entry(path, sizeof path);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fputs("not a program binary", f);
  ck_assert_int_eq(fclose(f), 0);
  open_and_use_backend();
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_gt(st.st_size, (long)strlen("not a program binary"));
}
END_TEST

START_TEST(unwritable_cache_dir_is_not_fatal) {
  cache_dir = "/proc/vaecl-cannot-write-here";
  open_and_use_backend();
  cache_dir = dir;
}
END_TEST

/* The library reads no environment: with options.cache_dir NULL nothing is cached,
 * whatever VAECL_CACHE_DIR, XDG_CACHE_HOME or HOME say. */
START_TEST(environment_is_ignored) {
  char *env_dir = test_make_temp_dir("cache-env");
  ck_assert_ptr_nonnull(env_dir);
  char xdg[4200], home[4200];
  snprintf(xdg, sizeof xdg, "%s/xdg", env_dir);
  snprintf(home, sizeof home, "%s/home", env_dir);
  const char *saved_home = getenv("HOME");
  char *old_home = saved_home ? strdup(saved_home) : NULL;
  ck_assert_int_eq(setenv("VAECL_CACHE_DIR", env_dir, 1), 0);
  ck_assert_int_eq(setenv("XDG_CACHE_HOME", xdg, 1), 0);
  ck_assert_int_eq(setenv("HOME", home, 1), 0);
  cache_dir = NULL;
  open_and_use_backend();
  cache_dir = dir;
  DIR *d = opendir(env_dir);
  ck_assert_ptr_nonnull(d);
  int entries = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  ck_assert_int_eq(entries, 0);
  unsetenv("VAECL_CACHE_DIR");
  unsetenv("XDG_CACHE_HOME");
  if (old_home)
    setenv("HOME", old_home, 1);
  free(old_home);
  test_remove_tree(env_dir);
  free(env_dir);
}
END_TEST

int main(void) {
  dir = test_make_temp_dir("cache");
  if (!dir)
    return EXIT_FAILURE;
  cache_dir = dir;
  Suite *s = suite_create("program_cache");
  TCase *tc = tcase_create("cache");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, binary_is_written_then_reused);
  tcase_add_test(tc, corrupt_entry_is_rebuilt);
  tcase_add_test(tc, unwritable_cache_dir_is_not_fatal);
  tcase_add_test(tc, environment_is_ignored);
  suite_add_tcase(s, tc);
  const int rc = vaecl_test_run(s);
  test_remove_tree(dir);
  free(dir);
  return rc;
}
