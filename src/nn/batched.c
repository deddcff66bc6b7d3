/* Encoding and decoding any number of images in pieces the model's buffers hold. */
#include <vaecl/evaluate.h>

#include <stdlib.h>

#include "util/error.h"
#include "util/pixels.h"

int vaecl_encode_images(vaecl_model *m, vb_backend *be, const vaecl_dataset *data, size_t first,
                        size_t count, float *stats) {
  const size_t pixels = vaecl_model_image_size(m), batch = (size_t)vaecl_model_max_batch(m);
  const size_t L2 = 2 * (size_t)vaecl_model_get_spec(m)->latent;
  if (vaecl_dataset_image_size(data) != pixels)
    return vaecl_fail("the data's %dx%dx%d images do not fit the model (%zu values an image)",
                      data->rows, data->cols, data->channels, pixels);
  if (first > data->count || count > data->count - first)
    return vaecl_fail("images %zu..%zu are outside the data set's %zu", first, first + count,
                      data->count);
  float *images = malloc(batch * pixels * sizeof *images);
  vb_buf *dev = images ? be->ops->alloc(be, batch * pixels * sizeof *images) : NULL;
  int rc = dev ? 0 : images ? -1 : vaecl_fail("out of host memory encoding %zu images", count);
  for (size_t at = 0; rc == 0 && at < count; at += batch) {
    const size_t n = count - at < batch ? count - at : batch;
    const uint8_t *src = data->pixels + (first + at) * pixels;
    for (size_t i = 0; i < n * pixels; i++) /* as the device's gather_images does */
      images[i] = vaecl_pixel_value(src[i]);
    rc = be->ops->write(be, dev, 0, images, n * pixels * sizeof *images);
    if (rc == 0)
      rc = vaecl_model_encode(m, dev, (int)n, stats + at * L2);
  }
  be->ops->release(be, dev);
  free(images);
  return rc;
}

int vaecl_decode_many(vaecl_model *m, const float *z, size_t count, float *images) {
  const size_t batch = (size_t)vaecl_model_max_batch(m), pixels = vaecl_model_image_size(m);
  const size_t L = (size_t)vaecl_model_get_spec(m)->latent;
  for (size_t at = 0; at < count; at += batch) {
    const size_t n = count - at < batch ? count - at : batch;
    if (vaecl_model_decode(m, z + at * L, (int)n, images + at * pixels) != 0)
      return -1;
  }
  return 0;
}
