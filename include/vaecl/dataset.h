/* A data set of 8-bit images, with optional class labels, as the loaders return it: IDX files
 * ((Fashion-/K/E)MNIST and the like, see <vaecl/idx.h>) or a folder of PNG images.
 *
 * Every function that can fail returns 0 on success and -1 on failure with a message, from
 * vaecl_last_error(), that names the file or directory and what is wrong. The library never
 * prints. */
#ifndef VAECL_DATASET_H
#define VAECL_DATASET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  uint8_t *pixels;    /* count * rows * cols * channels bytes, NHWC (row-major, channels last),
                         0..255 */
  uint8_t *labels;    /* count labels, or NULL when the data set has none */
  size_t count;       /* images */
  int rows, cols;     /* image height and width */
  int channels;       /* 1 (grey) or 3 (RGB); IDX files may also hold 2 or 4 */
  int class_count;    /* 1 + the largest label (10 for Fashion-MNIST), or the number of class
                         folders of a PNG data set; 0 without labels */
  char **class_names; /* class_count names (PNG class folders), or NULL: number the classes */
} vaecl_dataset;

/* Fashion-MNIST's ten class names, by label. The IDX directory loaders attach them to the data
 * set in VAECL_DEFAULT_DATA_DIR (see <vaecl/idx.h>); other IDX data sets have numbered classes. */
extern const char *const vaecl_fashion_mnist_classes[10];

/* Bounds every loader enforces. */
#define VAECL_DATASET_MAX_SIDE 4096
#define VAECL_DATASET_MAX_CHANNELS 4

/* Loads the data set at path, a directory:
 *  - IDX files as vaecl_idx_load_dir finds them (train-* and/or t10k-*), if there are any;
 *  - otherwise PNG images as vaecl_png_folder_load reads them (flat or one folder per class).
 * When it holds neither, the message says what was looked for; a broken IDX set is an error
 * (no fall back to PNGs). */
int vaecl_dataset_load(const char *path, vaecl_dataset *out);

/* Loads a folder of PNG images, either
 *  - flat: PNG files in DIR itself, no labels; or
 *  - one subfolder per class: PNG files in DIR/CLASS, labelled with the index of CLASS among the
 *    subfolders in byte-wise sorted order, class_names = the subfolder names.
 * Files are read in byte-wise sorted name order, so the order is the same on every machine.
 * Names starting with '.', files not ending in .png (any case) and folders inside class folders
 * are ignored; a class folder without PNG files keeps its label and name. Grey and RGB
 * images are stored as 1 or 3 channels; others are converted: grey+alpha to grey, RGBA and
 * palette images to RGB (alpha dropped, not composited), 16-bit samples to 8-bit. Every image
 * must have the size and channel count of the first; a mismatch, an unreadable or corrupt PNG,
 * an empty folder, or a folder with both PNG files and class subfolders at the top level is an
 * error naming the file or directory. Sizes in messages are height x width. */
int vaecl_png_folder_load(const char *dir, vaecl_dataset *out);

/* Checks that the images are rows x cols x channels, as a model's input expects; otherwise -1
 * with a message like "images are 32x32x3 but the model expects 28x28x1". */
int vaecl_dataset_check_fits(const vaecl_dataset *, int rows, int cols, int channels);

/* Replaces the class names with copies of names[0..n-1] (n must equal class_count), or removes
 * them when names is NULL. E.g. to name the classes of an IDX data set. */
int vaecl_dataset_set_class_names(vaecl_dataset *, const char *const *names, int n);

/* Bytes per image: rows * cols * channels. */
size_t vaecl_dataset_image_size(const vaecl_dataset *);

/* Keeps the first n images (n <= count; a larger n changes nothing). class_count and
 * class_names stay as they are. */
void vaecl_dataset_truncate(vaecl_dataset *, size_t n);

/* Splits `all` into training and validation images: round(fraction * count) images (at least
 * 1, at most count - 1) are held out, chosen by a permutation that depends only on (seed, count),
 * so the same data, fraction and seed always hold out the same images. Both parts keep the
 * original order, the labels, class_count and class names; they are new data sets to free with
 * vaecl_dataset_free. fraction must be in (0, 1) and count at least 2. */
int vaecl_dataset_split(const vaecl_dataset *all, double fraction, uint64_t seed,
                        vaecl_dataset *train, vaecl_dataset *val);
/* How many of count images vaecl_dataset_split holds out for fraction (count >= 2). */
size_t vaecl_dataset_split_count(size_t count, double fraction);

/* Frees the pixels, labels and class names and zeroes *d; safe on a zeroed struct. */
void vaecl_dataset_free(vaecl_dataset *);

#ifdef __cplusplus
}
#endif
#endif
