#include <vaecl/model_pictures.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/philox.h"
#include "util/pixels.h"
#include <vaecl/evaluate.h>
#include <vaecl/plot.h>

enum { MAX_COLS = 16 };

int vaecl_picture_samples(vaecl_model *m, const char *path, const char *title, int n,
                          uint64_t seed) {
  const vaecl_model_spec *spec = vaecl_model_get_spec(m);
  const size_t L = (size_t)spec->latent, pixels = vaecl_shape_size(&spec->input);
  if (n < 1)
    return vaecl_fail("%s: %d samples asked; at least 1", path, n);
  float *z = malloc((size_t)n * L * sizeof *z),
        *images = malloc((size_t)n * pixels * sizeof *images);
  const float **cells = malloc((size_t)n * sizeof *cells);
  int rc = z && images && cells ? 0 : vaecl_fail("%s: out of host memory for %d images", path, n);
  for (size_t i = 0; rc == 0 && i < (size_t)n * L; i++)
    z[i] = (float)vaecl_philox_normal(seed, VAECL_SAMPLE_STREAM, (uint32_t)i);
  if (rc == 0)
    rc = vaecl_decode_many(m, z, (size_t)n, images);
  for (size_t i = 0; rc == 0 && i < (size_t)n; i++)
    cells[i] = images + i * pixels;
  if (rc == 0)
    rc = vaecl_plot_image_tiles(path, title, cells, n, (int)ceil(sqrt((double)n)), spec->input.h,
                                spec->input.w, spec->input.c, NULL);
  free(cells);
  free(z);
  free(images);
  return rc;
}

int vaecl_picture_reconstructions(vaecl_model *m, vb_backend *be, const vaecl_dataset *data,
                                  size_t first, int n, const char *path, const char *title) {
  const vaecl_model_spec *spec = vaecl_model_get_spec(m);
  const size_t L = (size_t)spec->latent, pixels = vaecl_shape_size(&spec->input);
  if (n < 1 || first > data->count || (size_t)n > data->count - first)
    return vaecl_fail("%s: images %zu..%zu asked of a data set of %zu", path, first,
                      first + (size_t)(n > 0 ? n - 1 : 0), data->count);
  const int cols = n < MAX_COLS ? n : MAX_COLS, rows = (n + cols - 1) / cols;
  float *stats = malloc((size_t)n * 2 * L * sizeof *stats), *z = malloc((size_t)n * L * sizeof *z);
  float *decoded = malloc((size_t)n * pixels * sizeof *decoded);
  float *orig = malloc((size_t)n * pixels * sizeof *orig);
  /* every row of originals followed by a row of their reconstructions */
  const float **tiles = calloc((size_t)2 * rows * cols, sizeof *tiles);
  int rc = stats && z && decoded && orig && tiles
               ? 0
               : vaecl_fail("%s: out of host memory for %d images", path, n);
  if (rc == 0)
    rc = vaecl_encode_images(m, be, data, first, (size_t)n, stats);
  for (size_t i = 0; rc == 0 && i < (size_t)n; i++)
    memcpy(z + i * L, stats + i * 2 * L, L * sizeof *z); /* the means */
  if (rc == 0)
    rc = vaecl_decode_many(m, z, (size_t)n, decoded);
  for (size_t i = 0; rc == 0 && i < (size_t)n; i++) {
    const size_t r = i / (size_t)cols, c = i % (size_t)cols;
    const uint8_t *src = data->pixels + (first + i) * pixels;
    for (size_t p = 0; p < pixels; p++)
      orig[i * pixels + p] = vaecl_pixel_value(src[p]);
    tiles[2 * r * (size_t)cols + c] = orig + i * pixels;
    tiles[(2 * r + 1) * (size_t)cols + c] = decoded + i * pixels;
  }
  if (rc == 0)
    rc = vaecl_plot_image_tiles(path, title, tiles, 2 * rows * cols, cols, spec->input.h,
                                spec->input.w, spec->input.c, NULL);
  free(stats);
  free(z);
  free(decoded);
  free(orig);
  free(tiles);
  return rc;
}
