/* Synthetic images for timing (bench, tune): pixels drawn from Philox, on the device. */
#include <stdlib.h>

#include "cli/cli.h"
#include "util/error.h"
#include "util/philox.h"

vb_buf *cli_synthetic_images(vb_backend *be, size_t count) {
  float *host = malloc(count * sizeof *host);
  if (!host) {
    vaecl_fail("out of host memory for %zu synthetic pixels", count);
    return NULL;
  }
  for (size_t i = 0; i < count; i++) {
    uint32_t w[4];
    vaecl_philox_draw(7, 0, (uint32_t)i, w);
    host[i] = (float)(w[0] >> 24) / 255.0f;
  }
  vb_buf *images = be->ops->alloc(be, count * sizeof *host);
  if (images && be->ops->write(be, images, 0, host, count * sizeof *host) != 0) {
    be->ops->release(be, images);
    images = NULL;
  }
  free(host);
  return images;
}
