#include <vaecl/latent_plots.h>

#include <stdlib.h>

#include "util/error.h"
#include <vaecl/plot.h>

int vaecl_plot_decoded_grid(vaecl_model *m, const char *path, int n, double extent, int rows,
                            int cols, int channels) {
  const vaecl_model_spec *c = vaecl_model_get_spec(m);
  const size_t pixels = vaecl_model_image_size(m), L = (size_t)c->latent;
  if (rows < 1 || cols < 1 || channels < 1 ||
      (size_t)rows * (size_t)cols * (size_t)channels != pixels)
    return vaecl_fail("%s: images of %dx%dx%d do not match the model's %zu values an image", path,
                      rows, cols, channels, pixels);
  float *z = calloc((size_t)n * L, sizeof *z);
  float *row = malloc((size_t)n * pixels * sizeof *row);
  float *grid = malloc((size_t)n * n * pixels * sizeof *grid);
  int rc = z && row && grid ? 0 : vaecl_fail("out of host memory plotting %s", path);
  /* One decoder pass per grid row; row 0 is the top, the largest z[1]. */
  for (int r = 0; rc == 0 && r < n; r++) {
    for (int col = 0; col < n; col++) {
      const double t = n > 1 ? (double)col / (n - 1) : 0.5, u = n > 1 ? (double)r / (n - 1) : 0.5;
      z[(size_t)col * L] = (float)(-extent + 2 * extent * t);
      if (L > 1)
        z[(size_t)col * L + 1] = (float)(extent - 2 * extent * u);
    }
    /* in pieces when the model was made for batches smaller than a grid row */
    const int piece = vaecl_model_max_batch(m);
    for (int at = 0; rc == 0 && at < n; at += piece)
      rc = vaecl_model_decode(m, z + (size_t)at * L, n - at < piece ? n - at : piece,
                              row + (size_t)at * pixels);
    for (size_t i = 0; rc == 0 && i < (size_t)n * pixels; i++)
      grid[(size_t)r * n * pixels + i] = row[i];
  }
  if (rc == 0)
    rc = vaecl_plot_latent_grid(path, grid, n, rows, cols, channels, -extent, extent);
  free(z);
  free(row);
  free(grid);
  return rc;
}

int vaecl_plot_encoded_means(vaecl_model *m, vb_backend *be, const vaecl_dataset *data,
                             const char *path) {
  const int batch = vaecl_model_max_batch(m);
  const size_t pixels = vaecl_model_image_size(m);
  const int L = vaecl_model_get_spec(m)->latent;
  if (vaecl_dataset_image_size(data) != pixels)
    return vaecl_fail("%s: the data's %dx%dx%d images do not fit the model (%zu values an image)",
                      path, data->rows, data->cols, data->channels, pixels);
  float *images = malloc((size_t)batch * pixels * sizeof *images);
  float *stats = malloc((size_t)batch * 2 * L * sizeof *stats);
  float *means = malloc(data->count * 2 * sizeof *means);
  vb_buf *dev = images ? be->ops->alloc(be, (size_t)batch * pixels * sizeof *images) : NULL;
  int rc = images && stats && means && dev ? 0 : -1;
  if (rc != 0 && (!images || !stats || !means))
    vaecl_fail("out of host memory plotting %s", path);
  for (size_t first = 0; rc == 0 && first < data->count; first += (size_t)batch) {
    const size_t n = data->count - first < (size_t)batch ? data->count - first : (size_t)batch;
    for (size_t i = 0; i < n * pixels; i++)
      images[i] = (float)data->pixels[first * pixels + i] / 255.0f;
    rc = be->ops->write(be, dev, 0, images, n * pixels * sizeof *images);
    if (rc == 0)
      rc = vaecl_model_encode(m, dev, (int)n, stats);
    for (size_t i = 0; rc == 0 && i < n; i++) { /* z[1] is 0 for a 1-D latent */
      means[2 * (first + i)] = stats[i * 2 * L];
      means[2 * (first + i) + 1] = L > 1 ? stats[i * 2 * L + 1] : 0.0f;
    }
  }
  /* the data set's class names (the installed Fashion-MNIST has them), else class numbers; one
   * colour when there are no labels */
  if (rc == 0)
    rc = vaecl_plot_label_clusters(path, means, data->labels, data->count, data->class_count,
                                   (const char *const *)data->class_names);
  be->ops->release(be, dev);
  free(images);
  free(stats);
  free(means);
  return rc;
}
