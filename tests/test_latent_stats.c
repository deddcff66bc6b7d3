/* Latents wider than two: the mean KL per dimension and the choice of the two largest, PCA
 * against a covariance known exactly, and the figures a model gets from them (the grid varies
 * the chosen dimensions with the others at 0, pixel for pixel). */
#include <float.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testdevice.h"
#include "testutil.h"
#include <vaecl.h>
#include <vaecl/latent_plots.h>
#include <vaecl/latent_stats.h>
#include <vaecl/plot.h>

START_TEST(mean_kl_per_dimension) {
  /* 3 images, latent 3: dimension 0 unused (N(0,1) exactly), 1 and 2 shifted and narrowed. */
  const float stats[3 * 6] = {0, 1.5f, -2,     0, -1, 0.5f, 0, -0.5f, 2,
                              0, 0,    -0.25f, 0, 1,  1,    0, -2,    0};
  double kl[3];
  vaecl_latent_mean_kl(stats, 3, 3, kl);
  for (int j = 0; j < 3; j++) {
    double want = 0;
    for (int i = 0; i < 3; i++) { /* KL(N(mu, s^2) || N(0,1)) = (s^2 + mu^2 - 1 - ln s^2) / 2 */
      const double mu = stats[i * 6 + j], s2 = exp((double)stats[i * 6 + 3 + j]);
      want += (s2 + mu * mu - 1 - log(s2)) / 2 / 3;
    }
    ck_assert_double_eq_tol(kl[j], want, 1e-15 * (1 + want));
  }
  ck_assert_double_eq(kl[0], 0);
  vaecl_latent_mean_kl(stats, 0, 3, kl);
  ck_assert_double_eq(kl[2], 0);
}
END_TEST

START_TEST(top_two_dimensions_by_kl) {
  int d[2];
  const double a[6] = {0.1, 2.0, 0.3, 5.0, 0.0, 1.0};
  vaecl_latent_top_two(a, 6, d);
  ck_assert_int_eq(d[0], 3);
  ck_assert_int_eq(d[1], 1);
  const double ties[4] = {1.0, 3.0, 3.0, 3.0}; /* the lower index first */
  vaecl_latent_top_two(ties, 4, d);
  ck_assert_int_eq(d[0], 1);
  ck_assert_int_eq(d[1], 2);
  const double nan[3] = {NAN, 0.5, 0.25}; /* NaN ranks last */
  vaecl_latent_top_two(nan, 3, d);
  ck_assert_int_eq(d[0], 1);
  ck_assert_int_eq(d[1], 2);
  const double last[5] = {0, 0, 0, 1, 7};
  vaecl_latent_top_two(last, 5, d);
  ck_assert_int_eq(d[0], 4);
  ck_assert_int_eq(d[1], 3);
}
END_TEST

/* Points m +- c_k q_k for the orthonormal columns q_k of a scaled Hadamard matrix: their
 * covariance (over the 2d points) is sum_k c_k^2 / d q_k q_k^T, so the eigenvalues are
 * c_k^2 / d and the eigenvectors q_k, exactly. Every coordinate is a dyadic rational, exact in
 * float, so the only errors are the PCA's own double rounding. */
START_TEST(pca_recovers_a_known_covariance) {
  enum { D = 4, N = 2 * D };
  const double q[D][D] = {/* columns are q_k */
                          {0.5, 0.5, 0.5, 0.5},
                          {0.5, -0.5, 0.5, -0.5},
                          {0.5, 0.5, -0.5, -0.5},
                          {0.5, -0.5, -0.5, 0.5}};
  const double c[D] = {4, 8, 1, 2}, m[D] = {1, -2, 0.5, 3};
  float x[N * 5]; /* stride 5: a padding column that must be ignored */
  for (int k = 0; k < D; k++)
    for (int s = 0; s < 2; s++) {
      float *p = x + (2 * k + s) * 5;
      for (int j = 0; j < D; j++)
        p[j] = (float)(m[j] + (s ? -1 : 1) * c[k] * q[j][k]);
      p[4] = 1e30f;
    }
  double mean[D], var[D], pc[D * D], total;
  ck_assert_msg(vaecl_pca(x, N, D, 5, D, mean, var, pc, &total) == 0, "%s", vaecl_last_error());
  /* Falling: c = 8, 4, 2, 1, i.e. q_1, q_0, q_3, q_2. */
  const int order[D] = {1, 0, 3, 2};
  const double tol = 8 * D * DBL_EPSILON * (64.0 / D); /* a few roundings of the largest */
  ck_assert_double_eq_tol(total, (64 + 16 + 4 + 1) / (double)D, tol);
  for (int j = 0; j < D; j++)
    ck_assert_double_eq_tol(mean[j], m[j], 4 * DBL_EPSILON * 4);
  for (int i = 0; i < D; i++) {
    const int k = order[i];
    ck_assert_double_eq_tol(var[i], c[k] * c[k] / D, tol);
    /* the documented sign: the first entry of the largest magnitude (here all are 0.5) is
     * positive */
    ck_assert_double_gt(pc[i * D], 0);
    const double sign = q[0][k] < 0 ? -1 : 1;
    for (int j = 0; j < D; j++)
      ck_assert_double_eq_tol(pc[i * D + j], sign * q[j][k], 1e-12);
  }
  /* k = 2: the same two */
  double var2[2], pc2[2 * D];
  ck_assert_int_eq(vaecl_pca(x, N, D, 5, 2, mean, var2, pc2, &total), 0);
  ck_assert_double_eq_tol(var2[0], var[0], tol);
  ck_assert_double_eq_tol(var2[1], var[1], tol);
}
END_TEST

START_TEST(pca_of_correlated_pairs) {
  /* y = 2x exactly: one component of all the variance, along (1, 2)/sqrt(5) */
  float x[2 * 5];
  for (int i = 0; i < 5; i++) {
    x[2 * i] = (float)(i - 2);
    x[2 * i + 1] = (float)(2 * (i - 2));
  }
  double mean[2], var[2], pc[4], total;
  ck_assert_int_eq(vaecl_pca(x, 5, 2, 2, 2, mean, var, pc, &total), 0);
  ck_assert_double_eq_tol(total, 10.0, 1e-13);
  ck_assert_double_eq_tol(var[0], 10.0, 1e-13);
  ck_assert_double_eq_tol(var[1], 0.0, 1e-13);
  ck_assert_double_eq_tol(pc[0], 1 / sqrt(5.0), 1e-13);
  ck_assert_double_eq_tol(pc[1], 2 / sqrt(5.0), 1e-13);
}
END_TEST

START_TEST(pca_refuses_bad_input) {
  float x[4] = {0, 1, NAN, 2};
  double mean[2], var[2], pc[4], total;
  ck_assert_int_eq(vaecl_pca(x, 2, 2, 2, 2, mean, var, pc, &total), -1);
  ck_assert_ptr_nonnull(strstr(vaecl_last_error(), "non-finite"));
  ck_assert_int_eq(vaecl_pca(x, 0, 2, 2, 2, mean, var, pc, &total), -1);
  ck_assert_int_eq(vaecl_pca(x, 1, 2, 2, 3, mean, var, pc, &total), -1);
}
END_TEST

/* ---- the figures of a model with latent 5 ---- */

static const char wide_model[] = "input 6 6 1\n"
                                 "encoder\n"
                                 "flatten\n"
                                 "dense units=8 activation=tanh\n"
                                 "latent 5\n"
                                 "decoder\n"
                                 "dense units=36 activation=sigmoid\n"
                                 "reshape 6 6 1\n"
                                 "output bernoulli\n";

static uint8_t *read_rgb(const char *path, int *w, int *h) {
  png_image im;
  memset(&im, 0, sizeof im);
  im.version = PNG_IMAGE_VERSION;
  ck_assert_msg(png_image_begin_read_from_file(&im, path), "%s: %s", path, im.message);
  im.format = PNG_FORMAT_RGB;
  uint8_t *px = malloc(PNG_IMAGE_SIZE(im));
  ck_assert_msg(png_image_finish_read(&im, NULL, px, 0, NULL), "%s: %s", path, im.message);
  *w = (int)im.width;
  *h = (int)im.height;
  return px;
}

START_TEST(wide_latent_grid_varies_the_top_kl_dimensions) {
  vaecl_model_spec spec;
  ck_assert_msg(vaecl_model_spec_parse(wide_model, "wide", &spec) == 0, "%s", vaecl_last_error());
  vaecl_model *m = vaecl_model_create(be, &spec, 8, 3);
  ck_assert_msg(m, "%s", vaecl_last_error());
  /* Heads that make dimensions 3 and 1 far from the prior: bias the means. */
  const size_t heads_b = 3; /* tensors: dense w, b, latent w, b, ... */
  float b[10] = {0};
  b[3] = 2.0f;
  b[1] = -1.0f;
  ck_assert_int_eq(vaecl_model_write_param(m, heads_b, b), 0);
  vaecl_dataset d = {.count = 20, .rows = 6, .cols = 6, .channels = 1};
  d.pixels = malloc(20 * 36);
  test_rng r = test_rng_new(4);
  for (int i = 0; i < 20 * 36; i++)
    d.pixels[i] = (uint8_t)test_rng_uniform(&r, 0, 256);
  char *dir = test_make_temp_dir("latent");
  char grid[4200], clusters[4200];
  snprintf(grid, sizeof grid, "%s/g.png", dir);
  snprintf(clusters, sizeof clusters, "%s/c.png", dir);
  vaecl_latent_figures_info info;
  ck_assert_msg(vaecl_plot_latent_figures(m, be, &d, grid, clusters, 4, 0.5, &info) == 0, "%s",
                vaecl_last_error());
  ck_assert_int_eq(info.pca, 1);
  ck_assert_int_eq(info.dims[0], 3);
  ck_assert_int_eq(info.dims[1], 1);
  ck_assert(info.explained[0] >= info.explained[1] && info.explained[1] >= 0 &&
            info.explained[0] + info.explained[1] <= 1 + 1e-12);
  /* Each cell is the decoder's image at z[3] = across, z[1] = up, the rest 0. */
  vaecl_plot_layout a;
  ck_assert_int_eq(vaecl_plot_latent_grid_layout(4, 6, 6, -0.5, 0.5, &a), 0);
  int w, h;
  uint8_t *px = read_rgb(grid, &w, &h);
  ck_assert_int_eq(w, a.width);
  float z[5], img[36];
  for (int row = 0; row < 4; row++)
    for (int col = 0; col < 4; col++) {
      memset(z, 0, sizeof z);
      z[3] = (float)(-0.5 + col / 3.0);
      z[1] = (float)(0.5 - row / 3.0);
      ck_assert_int_eq(vaecl_model_decode(m, z, 1, img), 0);
      for (int p = 0; p < 36; p++) {
        const int x = a.x + (col * 6 + p % 6) * a.scale, y = a.y + (row * 6 + p / 6) * a.scale;
        const uint8_t got = px[3 * ((size_t)y * w + x)];
        const int want = (int)floor((double)img[p] * 255.0 + 0.5);
        ck_assert_msg(abs(got - want) <= 1, "cell %d,%d pixel %d: %d, decoded %d", row, col, p, got,
                      want);
      }
    }
  free(px);
  test_remove_tree(dir);
  free(dir);
  vaecl_dataset_free(&d);
  vaecl_model_destroy(m);
  vaecl_model_spec_free(&spec);
}
END_TEST

int main(void) {
  Suite *s = suite_create("latent_stats");
  TCase *host = tcase_create("host");
  tcase_add_test(host, mean_kl_per_dimension);
  tcase_add_test(host, top_two_dimensions_by_kl);
  tcase_add_test(host, pca_recovers_a_known_covariance);
  tcase_add_test(host, pca_of_correlated_pairs);
  tcase_add_test(host, pca_refuses_bad_input);
  suite_add_tcase(s, host);
  TCase *dev = tcase_create("device");
  tcase_add_checked_fixture(dev, test_device_setup, test_device_teardown);
  tcase_set_timeout(dev, 600);
  tcase_add_test(dev, wide_latent_grid_varies_the_top_kl_dimensions);
  suite_add_tcase(s, dev);
  return vaecl_test_run(s);
}
