/* libFuzzer harness: a PNG folder (src/data/png_folder.c) holding one image, the input. */
#include <stdint.h>
#include <stdlib.h>

#include <vaecl/dataset.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[FUZZ_PATH_MAX];
  fuzz_write(path, "image.png", data, size);
  vaecl_dataset d;
  if (vaecl_png_folder_load(fuzz_dir(), &d) == 0) {
    if (d.count != 1 || d.rows < 1 || d.rows > VAECL_DATASET_MAX_SIDE || d.cols < 1 ||
        d.cols > VAECL_DATASET_MAX_SIDE || (d.channels != 1 && d.channels != 3) || d.labels)
      abort();
    volatile uint8_t last = d.pixels[vaecl_dataset_image_size(&d) - 1]; /* ASan: buffer size */
    (void)last;
    vaecl_dataset_free(&d);
  }
  return 0;
}
