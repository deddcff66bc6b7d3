/* libFuzzer harness: the IDX loader (src/data/idx.c), plain or gzipped, as an images file
 * and as a labels file. */
#include <stdint.h>
#include <stdlib.h>

#include <vaecl/idx.h>

#include "fuzz_util.h"

/* A loaded data set must be what the header and the bounds promise. */
static void check(const vaecl_dataset *d) {
  if (d->count == 0 || d->rows < 1 || d->rows > VAECL_DATASET_MAX_SIDE || d->cols < 1 ||
      d->cols > VAECL_DATASET_MAX_SIDE || d->channels < 1 ||
      d->channels > VAECL_DATASET_MAX_CHANNELS || !d->pixels)
    abort();
  volatile uint8_t sum = 0; /* touch the last byte: ASan checks the buffer's size */
  sum += d->pixels[d->count * vaecl_dataset_image_size(d) - 1];
  if (d->labels)
    sum += d->labels[d->count - 1];
  (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t one_image[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7};
  static char images[FUZZ_PATH_MAX];
  char path[FUZZ_PATH_MAX];
  if (!images[0])
    fuzz_write(images, "one-image-idx", one_image, sizeof one_image);
  fuzz_write(path, "input-idx", data, size);
  vaecl_dataset d;
  if (vaecl_idx_load(path, NULL, &d) == 0) {
    check(&d);
    vaecl_dataset_free(&d);
  }
  /* The input as the labels of a valid one-image file. */
  if (vaecl_idx_load(images, path, &d) == 0) {
    check(&d);
    if (!d.labels || d.class_count < 1 || d.class_count > 256 || d.labels[0] >= d.class_count)
      abort();
    vaecl_dataset_free(&d);
  }
  return 0;
}
