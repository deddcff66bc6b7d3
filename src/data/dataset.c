/* The generic data set entry points: load a directory of IDX files or PNG images, check the
 * shape against a model's, name classes, free. */
#include <vaecl/dataset.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data_internal.h"
#include "util/error.h"
#include <vaecl/idx.h>

const char *vaecl_channels_name(int channels) {
  static const char *const names[] = {"grey", "grey+alpha", "RGB", "RGBA"};
  return channels >= 1 && channels <= 4 ? names[channels - 1] : "?";
}

const char *const vaecl_fashion_mnist_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

const char *vaecl_data_dir_hint(void) {
  return "; install Fashion-MNIST with `apt-get install dataset-fashion-mnist` or pass another "
         "data directory";
}

int vaecl_is_default_data_dir(const char *dir) {
  struct stat a, b;
  return stat(dir, &a) == 0 && stat(VAECL_DEFAULT_DATA_DIR, &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

int vaecl_dataset_load(const char *path, vaecl_dataset *out) {
  memset(out, 0, sizeof *out);
  if (!path || !*path)
    return vaecl_fail("no data directory given");
  struct stat st;
  if (stat(path, &st) != 0) {
    if (errno == ENOENT)
      return vaecl_fail("data directory %s does not exist%s", path, vaecl_data_dir_hint());
    /* EACCES on a parent, ELOOP, ...: say which, the fix differs */
    return vaecl_fail("data directory %s: %s", path, strerror(errno));
  }
  if (!S_ISDIR(st.st_mode))
    return vaecl_fail("%s is not a directory; a data set is a directory of IDX files or PNG "
                      "images",
                      path);
  int rc = vaecl_idx_probe_dir(path, out);
  if (rc <= 0)
    return rc;
  rc = vaecl_png_folder_probe(path, out);
  if (rc <= 0)
    return rc;
  return vaecl_fail("%s: no data set found: looked for IDX files (train-images-idx3-ubyte[.gz], "
                    "t10k-images-idx3-ubyte[.gz] or idx4 images, with optional "
                    "*-labels-idx1-ubyte[.gz]) and for PNG images (%s/*.png, or %s/CLASS/*.png "
                    "with one subfolder per class)",
                    path, path, path);
}

int vaecl_dataset_check_fits(const vaecl_dataset *d, int rows, int cols, int channels) {
  if (d->rows == rows && d->cols == cols && d->channels == channels)
    return 0;
  return vaecl_fail("images are %dx%dx%d but the model expects %dx%dx%d", d->rows, d->cols,
                    d->channels, rows, cols, channels);
}

static void free_names(char **names, int n) {
  for (int i = 0; names && i < n; i++)
    free(names[i]);
  free(names);
}

int vaecl_dataset_set_class_names(vaecl_dataset *d, const char *const *names, int n) {
  if (names && n != d->class_count)
    return vaecl_fail("%d class names given for a data set of %d classes", n, d->class_count);
  char **copy = NULL;
  if (names && n > 0) {
    if (!(copy = calloc((size_t)n, sizeof *copy)))
      return vaecl_fail("out of memory for %d class names", n);
    for (int i = 0; i < n; i++)
      if (!names[i] || !(copy[i] = strdup(names[i]))) {
        free_names(copy, n);
        return names[i] ? vaecl_fail("out of memory for %d class names", n)
                        : vaecl_fail("class name %d is NULL", i);
      }
  }
  free_names(d->class_names, d->class_count);
  d->class_names = copy;
  return 0;
}

size_t vaecl_dataset_image_size(const vaecl_dataset *d) {
  return (size_t)d->rows * (size_t)d->cols * (size_t)d->channels;
}

void vaecl_dataset_truncate(vaecl_dataset *d, size_t n) {
  if (n < d->count)
    d->count = n; /* the tail stays allocated; freed with the rest */
}

void vaecl_dataset_free(vaecl_dataset *d) {
  free(d->pixels);
  free(d->labels);
  free_names(d->class_names, d->class_count);
  memset(d, 0, sizeof *d);
}
