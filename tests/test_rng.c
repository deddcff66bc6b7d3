/* The counter-based RNG: src/philox.h against the Random123 known answers, the
 * statistics of its normals, and the device `sample` op (cl/rng.cl) against the
 * host stream: same draws, reproducible, and sensitive to every bit of seed/step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_ops.h"
#include "testdevice.h"
#include "testutil.h"
#include "util/philox.h"
#include <vaecl.h>
#include <vaecl/backend_registry.h>

/* ---- host-only ----------------------------------------------------------- */

/* Random123's kat_vectors for philox4x32-10 (zero, all-ones, and the pi digits). */
START_TEST(test_philox_known_answers) {
  static const struct {
    uint32_t ctr[4], key[2], want[4];
  } kat[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (size_t t = 0; t < sizeof kat / sizeof *kat; t++) {
    uint32_t out[4];
    vaecl_philox4x32(kat[t].ctr, kat[t].key, out);
    for (int i = 0; i < 4; i++)
      ck_assert_msg(out[i] == kat[t].want[i], "vector %zu word %d: got 0x%08x, want 0x%08x", t, i,
                    out[i], kat[t].want[i]);
  }
}
END_TEST

/* 1e5 host normals: the sample mean has standard error 1/sqrt(n) = 0.0032, the
 * sample variance sqrt(2/n) = 0.0045, and the fraction inside |x| < 1 (0.6827)
 * sqrt(p(1-p)/n) = 0.0015. Bounds at 5 standard errors: a correct generator
 * fails with probability ~1e-6 (and the draws are fixed, so it either always
 * passes or never); a biased or wrongly scaled transform is far outside. */
START_TEST(test_normal_statistics) {
  const int n = 100000;
  double sum = 0, sum2 = 0;
  int inside = 0;
  for (int i = 0; i < n; i++) {
    const double x = vaecl_philox_normal(0x1234abcd5678ull, 3, (uint32_t)i);
    ck_assert(isfinite(x));
    sum += x;
    sum2 += x * x;
    inside += fabs(x) < 1.0;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  ck_assert_msg(fabs(mean) < 5 * sqrt(1.0 / n), "mean %g", mean);
  ck_assert_msg(fabs(var - 1) < 5 * sqrt(2.0 / n), "variance %g", var);
  const double p = 0.682689492137086, frac = (double)inside / n;
  ck_assert_msg(fabs(frac - p) < 5 * sqrt(p * (1 - p) / n), "P(|x|<1) = %g", frac);
}
END_TEST

/* ---- device -------------------------------------------------------------- */

enum { BATCH = 100, LATENT = 40, N = BATCH * LATENT };

typedef struct {
  vb_buf *stats, *eps, *z;
} sample_bufs;

static sample_bufs sample_bufs_new(const float *stats) {
  sample_bufs s = {be->ops->alloc(be, sizeof(float) * 2 * N), be->ops->alloc(be, sizeof(float) * N),
                   be->ops->alloc(be, sizeof(float) * N)};
  ck_assert(s.stats && s.eps && s.z);
  ck_assert_int_eq(be->ops->write(be, s.stats, 0, stats, sizeof(float) * 2 * N), 0);
  return s;
}

static void sample_bufs_free(sample_bufs *s) {
  be->ops->release(be, s->stats);
  be->ops->release(be, s->eps);
  be->ops->release(be, s->z);
}

/* Draws on the device; eps and z come back as floats. */
static void device_sample(sample_bufs *s, uint64_t seed, uint64_t step, float *eps, float *z) {
  ck_assert_int_eq(be->ops->sample(be, s->stats, s->eps, s->z, BATCH, LATENT, 0, seed, step), 0);
  ck_assert_int_eq(be->ops->read(be, s->eps, 0, eps, sizeof(float) * N), 0);
  if (z)
    ck_assert_int_eq(be->ops->read(be, s->z, 0, z, sizeof(float) * N), 0);
}

static void random_stats(float *stats, uint64_t seed) {
  test_rng r = test_rng_new(seed);
  for (int i = 0; i < 2 * N; i++)
    stats[i] = (float)test_rng_uniform(&r, -2, 2);
}

/* How far the float Box-Muller on the device may be from the double one here.
 * Away from u1 = 1 the float errors (u1 and 2*pi*u2 rounded to 24 bits, log, cos
 * and sqrt within a few ulp) add up to below ~8e-6 at the tails (|eps| <= 6.7),
 * hence 1e-5. Near u1 = 1, L = -2 log u1 -> 0 and d sqrt(L) = dL / (2 sqrt L): the
 * ~2.4e-7 absolute error in L from rounding u1 to float is amplified, so the
 * bound grows as 2.4e-7/sqrt(L), capped at sqrt(2 * 2.4e-7) where L itself is
 * rounding noise. That happens for ~1e-4 of draws, so it matters at these counts. */
static double eps_tolerance(uint64_t seed, uint64_t step, uint32_t index) {
  uint32_t w[4];
  vaecl_philox_draw(seed, step, index, w);
  const double u1 = ((double)w[0] + 1.0) * (1.0 / 4294967296.0);
  const double L = -2.0 * log(u1);
  return 1e-5 + (L > 0 ? fmin(2.4e-7 / sqrt(L), 7e-4) : 7e-4);
}

static void check_eps_matches_host(uint64_t seed, uint64_t step) {
  float *stats = malloc(sizeof(float) * 2 * N), *eps = malloc(sizeof(float) * N),
        *z = malloc(sizeof(float) * N);
  double *dstats = malloc(sizeof(double) * 2 * N), *reps = malloc(sizeof(double) * N),
         *rz = malloc(sizeof(double) * N);
  ck_assert(stats && eps && z && dstats && reps && rz);
  random_stats(stats, seed ^ step);
  for (int i = 0; i < 2 * N; i++)
    dstats[i] = stats[i];
  sample_bufs s = sample_bufs_new(stats);
  device_sample(&s, seed, step, eps, z);
  ref_sample(BATCH, LATENT, 0, dstats, seed, step, reps, rz);
  for (int i = 0; i < N; i++) {
    const double tol = eps_tolerance(seed, step, (uint32_t)i);
    ck_assert_msg(fabs(eps[i] - reps[i]) <= tol,
                  "seed %llu step %llu eps[%d]: device %.9g, host %.9g (tol %.2g)",
                  (unsigned long long)seed, (unsigned long long)step, i, eps[i], reps[i], tol);
    /* z = mean + exp(lv/2) eps, with exp(lv/2) <= e: the eps error times e plus a
     * few float roundings of terms below ~20. */
    const double ztol = tol * exp(1.0) + 1e-5;
    ck_assert_msg(fabs(z[i] - rz[i]) <= ztol, "z[%d]: device %.9g, host %.9g", i, z[i], rz[i]);
  }
  sample_bufs_free(&s);
  free(stats);
  free(eps);
  free(z);
  free(dstats);
  free(reps);
  free(rz);
}

START_TEST(test_device_eps_matches_host) {
  check_eps_matches_host(42, 0);
  check_eps_matches_host(7, 12345);
  /* high words of seed and step: catches a dropped or swapped half */
  check_eps_matches_host(0x9e3779b97f4a7c15ull, 0x100000003ull);
}
END_TEST

static bool differ(const float *a, const float *b, size_t n) {
  return memcmp(a, b, n * sizeof *a) != 0;
}

/* Returns how many of the N draws are bitwise equal between two runs. */
static int count_equal(const float *a, const float *b) {
  int same = 0;
  for (int i = 0; i < N; i++)
    same += memcmp(&a[i], &b[i], sizeof *a) == 0;
  return same;
}

START_TEST(test_device_reproducible_and_keyed) {
  float *stats = malloc(sizeof(float) * 2 * N), *e0 = malloc(sizeof(float) * N),
        *e1 = malloc(sizeof(float) * N), *z0 = malloc(sizeof(float) * N),
        *z1 = malloc(sizeof(float) * N);
  ck_assert(stats && e0 && e1 && z0 && z1);
  random_stats(stats, 5);
  sample_bufs s = sample_bufs_new(stats);
  const uint64_t seed = 0x0123456789abcdefull, step = 77;

  device_sample(&s, seed, step, e0, z0);
  device_sample(&s, seed, step, e1, z1);
  ck_assert_msg(!differ(e0, e1, N) && !differ(z0, z1, N), "same (seed, step) differs");

  /* Independent draws coincide bitwise with probability ~2^-24 each, so a handful
   * of equal values is possible; more than 1% means the input was ignored. */
  const struct {
    uint64_t seed, step;
    const char *what;
  } other[] = {{seed, step + 1, "step + 1"},
               {seed + 1, step, "seed + 1"},
               {seed ^ (1ull << 40), step, "seed high word"},
               {seed, step | (1ull << 35), "step high word"}};
  for (size_t t = 0; t < sizeof other / sizeof *other; t++) {
    device_sample(&s, other[t].seed, other[t].step, e1, NULL);
    ck_assert_msg(count_equal(e0, e1) < N / 100, "%s: %d of %d draws unchanged", other[t].what,
                  count_equal(e0, e1), N);
  }
  sample_bufs_free(&s);
  free(stats);
  free(e0);
  free(e1);
  free(z0);
  free(z1);
}
END_TEST

static Suite *rng_suite(void) {
  Suite *s = suite_create("rng");
  TCase *host = tcase_create("host");
  tcase_add_test(host, test_philox_known_answers);
  tcase_add_test(host, test_normal_statistics);
  suite_add_tcase(s, host);
  TCase *dev = tcase_create("device");
  tcase_add_checked_fixture(dev, test_device_setup, test_device_teardown);
  tcase_add_test(dev, test_device_eps_matches_host);
  tcase_add_test(dev, test_device_reproducible_and_keyed);
  suite_add_tcase(s, dev);
  return s;
}

int main(void) {
  return vaecl_test_run(rng_suite());
}
