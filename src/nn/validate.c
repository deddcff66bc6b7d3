/* Validation passes: the held-out images in batches, through the forward-only loss. */
#include <vaecl/validate.h>

#include <stdlib.h>

#include "util/error.h"
#include "util/pixels.h"

int vaecl_validate(vaecl_model *m, vb_backend *be, const vaecl_dataset *data, int batch,
                   uint64_t seed, double *recon, double *kl) {
  const size_t ppi = vaecl_dataset_image_size(data);
  if (data->count == 0)
    return vaecl_fail("the validation set is empty");
  if (batch < 1 || batch > vaecl_model_max_batch(m))
    return vaecl_fail("validation batch %d does not fit a model made for batches of up to %d",
                      batch, vaecl_model_max_batch(m));
  if (ppi != vaecl_model_image_size(m))
    return vaecl_fail("validation images of %dx%dx%d do not fit the model (%zu values an image)",
                      data->rows, data->cols, data->channels, vaecl_model_image_size(m));
  float *host = malloc((size_t)batch * ppi * sizeof *host);
  vb_buf *dev = host ? be->ops->alloc(be, (size_t)batch * ppi * sizeof *host) : NULL;
  int rc = host ? (dev ? 0 : -1) : vaecl_fail("out of host memory for validation");
  double sum_recon = 0, sum_kl = 0;
  for (size_t first = 0, k = 0; rc == 0 && first < data->count; first += (size_t)batch, k++) {
    const size_t n = data->count - first < (size_t)batch ? data->count - first : (size_t)batch;
    for (size_t i = 0; i < n * ppi; i++)
      host[i] = vaecl_pixel_value(data->pixels[first * ppi + i]);
    double r = 0, q = 0;
    rc = be->ops->write(be, dev, 0, host, n * ppi * sizeof *host);
    if (rc == 0)
      rc = vaecl_model_evaluate_batch(m, dev, (int)n, seed ^ VAECL_VALIDATION_KEY, k, &r, &q);
    /* batch means back to sums, so a short last batch weighs by its images */
    sum_recon += r * (double)n;
    sum_kl += q * (double)n;
  }
  if (rc == 0) {
    *recon = sum_recon / (double)data->count;
    *kl = sum_kl / (double)data->count;
  }
  be->ops->release(be, dev);
  free(host);
  return rc;
}
