/* The on-disk cache of compiled kernels: written on first use, reused, and never a
 * reason to fail (a truncated or corrupt entry is rebuilt before the driver sees
 * it, an unwritable directory is skipped). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/opencl/cl_cache_entry.h"

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

static int entry_is_valid(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  struct stat st;
  ck_assert_int_eq(fstat(fileno(f), &st), 0);
  unsigned char *b = malloc((size_t)st.st_size);
  ck_assert_ptr_nonnull(b);
  ck_assert_uint_eq(fread(b, 1, (size_t)st.st_size, f), (size_t)st.st_size);
  fclose(f);
  const unsigned char *payload;
  size_t n;
  const int ok = vaecl_kcache_check(b, (size_t)st.st_size, &payload, &n) == 0 &&
                 n + VAECL_KCACHE_HEADER_SIZE == (size_t)st.st_size;
  free(b);
  return ok;
}

/* Rewrites the cache entry with a helper, runs the backend (which must rebuild and
 * work), and checks that the entry was written again, whole, and is then reused. */
static void damage_then_rebuild(void (*damage)(const char *path, off_t size)) {
  char path[4400];
  open_and_use_backend();
  cache_entry(path, sizeof path);
  struct stat good, damaged, rebuilt, reused;
  ck_assert(entry_is_valid(path));
  ck_assert_int_eq(stat(path, &good), 0);
  damage(path, good.st_size);
  ck_assert_int_eq(stat(path, &damaged), 0);
  open_and_use_backend();
  ck_assert_int_eq(stat(path, &rebuilt), 0);
  ck_assert(rebuilt.st_ino != damaged.st_ino); /* renamed into place */
  /* whole and valid (PoCL's binaries vary in size from one build to the next, so
   * the entry is checked, not compared with the first one) */
  ck_assert(entry_is_valid(path));
  open_and_use_backend();
  ck_assert_int_eq(stat(path, &reused), 0);
  ck_assert(reused.st_ino == rebuilt.st_ino); /* the rebuilt entry passes its checks */
}

/* The first reproducer of issue 8: PoCL aborted on a binary cut short. */
static void cut_16_bytes(const char *path, off_t size) {
  ck_assert_int_eq(truncate(path, size - 16), 0);
}

static void cut_1_byte(const char *path, off_t size) {
  ck_assert_int_eq(truncate(path, size - 1), 0);
}

/* Same length, one payload byte flipped: only the checksum can tell. */
static void flip_a_byte(const char *path, off_t size) {
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, (long)(size / 2), SEEK_SET), 0);
  const int c = fgetc(f);
  ck_assert_int_ne(c, EOF);
  ck_assert_int_eq(fseek(f, (long)(size / 2), SEEK_SET), 0);
  ck_assert_int_ne(fputc(c ^ 0x5A, f), EOF);
  ck_assert_int_eq(fclose(f), 0);
}

/* Only the header: a length that promises a payload the file does not have. */
static void keep_header_only(const char *path, off_t size) {
  (void)size;
  ck_assert_int_eq(truncate(path, VAECL_KCACHE_HEADER_SIZE), 0);
}

START_TEST(truncated_entry_is_rebuilt) {
  damage_then_rebuild(cut_16_bytes);
  damage_then_rebuild(cut_1_byte);
  damage_then_rebuild(keep_header_only);
}
END_TEST

START_TEST(flipped_byte_is_rebuilt) {
  damage_then_rebuild(flip_a_byte);
}
END_TEST

/* The entry checks alone, on buffers: every way a header can lie is refused. */
START_TEST(entry_checks) {
  unsigned char file[VAECL_KCACHE_HEADER_SIZE + 100];
  unsigned char *payload = file + VAECL_KCACHE_HEADER_SIZE;
  for (int i = 0; i < 100; i++)
    payload[i] = (unsigned char)(i * 7 + 3);
  vaecl_kcache_header(payload, 100, file);
  const unsigned char *got;
  size_t n = 0;
  ck_assert_int_eq(vaecl_kcache_check(file, sizeof file, &got, &n), 0);
  ck_assert_ptr_eq(got, payload);
  ck_assert_uint_eq(n, 100);
  /* every shorter file, down to an empty one */
  for (size_t size = 0; size < sizeof file; size++)
    ck_assert_int_eq(vaecl_kcache_check(file, size, &got, &n), -1);
  /* any single bit flipped anywhere: magic, length, checksum, reserved or payload */
  for (size_t i = 0; i < sizeof file; i++)
    for (int bit = 0; bit < 8; bit++) {
      file[i] ^= (unsigned char)(1u << bit);
      ck_assert_msg(vaecl_kcache_check(file, sizeof file, &got, &n) == -1, "byte %zu bit %d", i,
                    bit);
      file[i] ^= (unsigned char)(1u << bit);
    }
  /* a length beyond the cap is refused even when it matches the buffer's claim */
  file[15] = 0x7F;
  ck_assert_int_eq(vaecl_kcache_check(file, sizeof file, &got, &n), -1);
}
END_TEST

/* A writer killed before its rename leaves ENTRY.tmp.PID: the next write removes
 * it when PID is gone, and keeps a live process's. */
START_TEST(stale_temporaries_are_removed) {
  char path[4400], dead[4500], live[4500];
  open_and_use_backend();
  cache_entry(path, sizeof path);
  const pid_t child = fork();
  ck_assert_int_ge(child, 0);
  if (child == 0)
    _exit(0);
  ck_assert_int_eq(waitpid(child, NULL, 0), child); /* reaped: the PID names no process */
  snprintf(dead, sizeof dead, "%s.tmp.%ld", path, (long)child);
  snprintf(live, sizeof live, "%s.tmp.%ld", path, (long)getppid());
  FILE *f;
  ck_assert_ptr_nonnull(f = fopen(dead, "wb"));
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_ptr_nonnull(f = fopen(live, "wb"));
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_int_eq(remove(path), 0); /* so the next run writes the entry again */
  open_and_use_backend();
  ck_assert_int_ne(access(dead, F_OK), 0);
  ck_assert_int_eq(access(live, F_OK), 0);
  ck_assert_int_eq(remove(live), 0);
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
  tcase_add_test(tc, truncated_entry_is_rebuilt);
  tcase_add_test(tc, flipped_byte_is_rebuilt);
  tcase_add_test(tc, entry_checks);
  tcase_add_test(tc, stale_temporaries_are_removed);
  tcase_add_test(tc, unwritable_cache_dir_is_not_fatal);
  tcase_add_test(tc, environment_is_ignored);
  suite_add_tcase(s, tc);
  const int rc = vaecl_test_run(s);
  test_remove_tree(dir);
  free(dir);
  return rc;
}
