#include <vaecl/latent_plots.h>

#include <stdio.h>
#include <stdlib.h>

#include "util/error.h"
#include <vaecl/evaluate.h>
#include <vaecl/latent_stats.h>
#include <vaecl/plot.h>

/* The grid over latent dimensions dx (across) and dy (up); the others stay 0. */
static int decoded_grid(vaecl_model *m, const char *path, int n, double extent, int rows, int cols,
                        int channels, int dx, int dy, const char *xlabel, const char *ylabel) {
  const vaecl_model_spec *c = vaecl_model_get_spec(m);
  const size_t pixels = vaecl_model_image_size(m), L = (size_t)c->latent;
  if (rows < 1 || cols < 1 || channels < 1 ||
      (size_t)rows * (size_t)cols * (size_t)channels != pixels)
    return vaecl_fail("%s: images of %dx%dx%d do not match the model's %zu values an image", path,
                      rows, cols, channels, pixels);
  /* All n*n latent points, row 0 the top (the largest z[dy]), decoded in one call. */
  float *z = calloc((size_t)n * n * L, sizeof *z);
  float *grid = malloc((size_t)n * n * pixels * sizeof *grid);
  int rc = z && grid ? 0 : vaecl_fail("out of host memory plotting %s", path);
  for (int r = 0; rc == 0 && r < n; r++)
    for (int col = 0; col < n; col++) {
      const double t = n > 1 ? (double)col / (n - 1) : 0.5, u = n > 1 ? (double)r / (n - 1) : 0.5;
      float *zi = z + ((size_t)r * n + (size_t)col) * L;
      zi[dx] = (float)(-extent + 2 * extent * t);
      if (L > 1)
        zi[dy] = (float)(extent - 2 * extent * u);
    }
  if (rc == 0)
    rc = vaecl_decode_many(m, z, (size_t)n * n, grid);
  if (rc == 0)
    rc = vaecl_plot_latent_grid_named(path, grid, n, rows, cols, channels, -extent, extent, xlabel,
                                      ylabel);
  free(z);
  free(grid);
  return rc;
}

int vaecl_plot_decoded_grid(vaecl_model *m, const char *path, int n, double extent, int rows,
                            int cols, int channels) {
  return decoded_grid(m, path, n, extent, rows, cols, channels, 0, 1, "z[0]", "z[1]");
}

/* The encoder's means and log-variances of every image: *stats[count, 2*latent]. */
static int encode_all(vaecl_model *m, vb_backend *be, const vaecl_dataset *data, const char *path,
                      float **stats_out) {
  const size_t L2 = 2 * (size_t)vaecl_model_get_spec(m)->latent;
  float *stats = malloc((data->count ? data->count : 1) * L2 * sizeof *stats);
  int rc = stats ? vaecl_encode_images(m, be, data, 0, data->count, stats)
                 : vaecl_fail("out of host memory plotting %s", path);
  if (rc != 0) {
    vaecl_fail_context("%s: ", path);
    free(stats);
    stats = NULL;
  }
  *stats_out = stats;
  return rc;
}

/* The data set's class names (the installed Fashion-MNIST has them), else class numbers; one
 * colour when there are no labels. */
static int clusters(const char *path, const float *points, const vaecl_dataset *data,
                    const char *xlabel, const char *ylabel) {
  return vaecl_plot_label_clusters_named(path, points, data->labels, data->count, data->class_count,
                                         (const char *const *)data->class_names, xlabel, ylabel);
}

int vaecl_plot_encoded_means(vaecl_model *m, vb_backend *be, const vaecl_dataset *data,
                             const char *path) {
  const int L = vaecl_model_get_spec(m)->latent;
  float *stats, *means = malloc((data->count ? data->count : 1) * 2 * sizeof *means);
  if (!means)
    return vaecl_fail("out of host memory plotting %s", path);
  int rc = encode_all(m, be, data, path, &stats);
  for (size_t i = 0; rc == 0 && i < data->count; i++) { /* z[1] is 0 for a 1-D latent */
    means[2 * i] = stats[i * 2 * L];
    means[2 * i + 1] = L > 1 ? stats[i * 2 * L + 1] : 0.0f;
  }
  if (rc == 0) {
    rc = clusters(path, means, data, "z[0]", "z[1]");
    free(stats);
  }
  free(means);
  return rc;
}

/* Latents wider than two: the grid over the two dimensions of largest mean KL, the means
 * projected on their first two principal components. */
static int wide_latent_figures(vaecl_model *m, vb_backend *be, const vaecl_dataset *data,
                               const char *grid_path, const char *clusters_path, int n,
                               double extent, vaecl_latent_figures_info *info) {
  const int L = vaecl_model_get_spec(m)->latent;
  const vaecl_shape *in = &vaecl_model_get_spec(m)->input;
  float *stats, *points = malloc((data->count ? data->count : 1) * 2 * sizeof *points);
  double *kl = malloc((size_t)L * sizeof *kl), *mean = malloc((size_t)L * sizeof *mean);
  double *pcs = malloc(2 * (size_t)L * sizeof *pcs), var[2], total;
  if (!points || !kl || !mean || !pcs) {
    free(points), free(kl), free(mean), free(pcs);
    return vaecl_fail("out of host memory plotting %s", clusters_path);
  }
  int rc = encode_all(m, be, data, clusters_path, &stats);
  if (rc == 0) {
    vaecl_latent_mean_kl(stats, data->count, L, kl);
    vaecl_latent_top_two(kl, L, info->dims);
    char x[32], y[32];
    snprintf(x, sizeof x, "z[%d]", info->dims[0]);
    snprintf(y, sizeof y, "z[%d]", info->dims[1]);
    rc = decoded_grid(m, grid_path, n, extent, in->h, in->w, in->c, info->dims[0], info->dims[1], x,
                      y);
  }
  if (rc == 0 && data->count > 0)
    rc = vaecl_pca(stats, data->count, L, 2 * (size_t)L, 2, mean, var, pcs, &total);
  if (rc == 0) {
    for (size_t i = 0; i < data->count; i++)
      for (int k = 0; k < 2; k++) {
        double p = 0;
        for (int j = 0; j < L; j++)
          p += (stats[i * 2 * L + (size_t)j] - mean[j]) * pcs[(size_t)k * L + (size_t)j];
        points[2 * i + (size_t)k] = (float)p;
      }
    char x[48], y[48];
    for (int k = 0; k < 2; k++)
      info->explained[k] = data->count && total > 0 ? var[k] / total : 0;
    snprintf(x, sizeof x, "PC1 (%.0f%% of variance)", 100 * info->explained[0]);
    snprintf(y, sizeof y, "PC2 (%.0f%% of variance)", 100 * info->explained[1]);
    rc = clusters(clusters_path, points, data, x, y);
  }
  free(stats);
  free(points), free(kl), free(mean), free(pcs);
  return rc;
}

int vaecl_plot_latent_figures(vaecl_model *m, vb_backend *be, const vaecl_dataset *data,
                              const char *grid_path, const char *clusters_path, int n,
                              double extent, vaecl_latent_figures_info *info) {
  vaecl_latent_figures_info ignored;
  vaecl_latent_figures_info *r = info ? info : &ignored;
  const vaecl_shape *in = &vaecl_model_get_spec(m)->input;
  *r = (vaecl_latent_figures_info){.dims = {0, 1}, .pca = vaecl_model_get_spec(m)->latent > 2};
  if (r->pca)
    return wide_latent_figures(m, be, data, grid_path, clusters_path, n, extent, r);
  if (vaecl_plot_decoded_grid(m, grid_path, n, extent, in->h, in->w, in->c) != 0)
    return -1;
  return vaecl_plot_encoded_means(m, be, data, clusters_path);
}
