/* Shared helpers for the Check suites. */
#ifndef VAECL_TESTUTIL_H
#define VAECL_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

/* Runs one suite with CK_NORMAL output; returns the process exit status. */
int vaecl_test_run(Suite *s);

/* Deterministic test data: uniform in [lo, hi) from a seeded generator. */
typedef struct {
  uint64_t state;
} test_rng;
test_rng test_rng_new(uint64_t seed);
double test_rng_uniform(test_rng *, double lo, double hi);
void test_fill_uniform(test_rng *, double *x, size_t n, double lo, double hi);

/* Largest |a-b| / (atol + rtol*|b|) over n elements: <= 1 means within tolerance.
 * *worst gets the index of the worst element. */
double test_max_scaled_error(const double *a, const double *b, size_t n, double atol, double rtol,
                             size_t *worst);

/* An 8-bit RGB PNG read back (libpng's simplified API); fails the test unless the file is
 * one, as vaecl writes its figures. px: w*h*3 bytes, row-major; free() it. */
typedef struct {
  int w, h;
  uint8_t *px;
} test_image;
test_image test_load_png_rgb(const char *path);
/* The pixel at (x, y): 3 bytes. */
const uint8_t *test_pixel(const test_image *, int x, int y);

/* A fresh directory under $TMPDIR (or /tmp) for files a test writes; malloc'd path. */
char *test_make_temp_dir(const char *tag);
/* How many temporaries of an atomic write to path (PATH.tmp*) are next to it. */
int test_temps_left(const char *path);
/* Removes a file tree made by a test (best effort). */
void test_remove_tree(const char *path);

#endif
