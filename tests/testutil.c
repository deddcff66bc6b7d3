#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vaecl_test_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  /* No fork: an OpenCL runtime's threads (PoCL's among them) do not survive fork(),
   * and the suites share one device context across tests. */
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, CK_NORMAL);
  const int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

test_rng test_rng_new(uint64_t seed) {
  test_rng r = {seed * 0x9E3779B97F4A7C15ull + 1};
  return r;
}

/* splitmix64: small, well mixed, and independent of the RNG under test. */
static uint64_t next_u64(test_rng *r) {
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double test_rng_uniform(test_rng *r, double lo, double hi) {
  return lo + (hi - lo) * ((double)(next_u64(r) >> 11) * (1.0 / 9007199254740992.0));
}

void test_fill_uniform(test_rng *r, double *x, size_t n, double lo, double hi) {
  for (size_t i = 0; i < n; i++)
    x[i] = test_rng_uniform(r, lo, hi);
}

double test_max_scaled_error(const double *a, const double *b, size_t n, double atol, double rtol,
                             size_t *worst) {
  double max = 0;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    const double e = fabs(a[i] - b[i]) / (atol + rtol * fabs(b[i]));
    if (!(e <= max)) { /* also catches NaN */
      max = isnan(e) ? INFINITY : e;
      at = i;
    }
  }
  if (worst)
    *worst = at;
  return max;
}

char *test_make_temp_dir(const char *tag) {
  const char *base = getenv("TMPDIR");
  char *path = malloc(4096);
  if (!path)
    return NULL;
  snprintf(path, 4096, "%s/vaecl-%s-XXXXXX", base && *base ? base : "/tmp", tag);
  if (!mkdtemp(path)) {
    free(path);
    return NULL;
  }
  return path;
}

void test_remove_tree(const char *path) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
  if (system(cmd) != 0)
    fprintf(stderr, "warning: could not remove %s\n", path);
}

test_image test_load_png_rgb(const char *path) {
  png_image im;
  memset(&im, 0, sizeof im);
  im.version = PNG_IMAGE_VERSION;
  ck_assert_msg(png_image_begin_read_from_file(&im, path), "%s: %s", path, im.message);
  ck_assert_uint_eq(im.format, PNG_FORMAT_RGB); /* 8-bit RGB, no alpha, as written */
  test_image r = {(int)im.width, (int)im.height, malloc(PNG_IMAGE_SIZE(im))};
  ck_assert_ptr_nonnull(r.px);
  ck_assert_msg(png_image_finish_read(&im, NULL, r.px, 0, NULL), "%s: %s", path, im.message);
  return r;
}

const uint8_t *test_pixel(const test_image *im, int x, int y) {
  return im->px + 3 * ((size_t)y * (size_t)im->w + (size_t)x);
}

int test_temps_left(const char *path) {
  char dir[4096], prefix[4200];
  const char *slash = strrchr(path, '/');
  snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
  snprintf(prefix, sizeof prefix, "%s.tmp", slash ? slash + 1 : path);
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "cannot list %s", dir);
  int n = 0;
  const struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  closedir(d);
  return n;
}
