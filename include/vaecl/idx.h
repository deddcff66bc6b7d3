/* Loader for IDX files: (Fashion-/K/E)MNIST and other data sets in that format, plain or
 * gzipped. The data set type and the generic loaders are in <vaecl/dataset.h>. */
#ifndef VAECL_IDX_H
#define VAECL_IDX_H

#include <stddef.h>
#include <stdint.h>

#include <vaecl/dataset.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads an images file and, unless labels_path is NULL, the matching labels file (magic
 * 0x00000801, dim count; labels 0..255, class_count = 1 + the largest). The images file is
 * unsigned bytes with either 3 dims, count x rows x cols (magic 0x00000803, channels = 1), or
 * 4 dims, count x rows x cols x channels (magic 0x00000804, e.g. RGB). Sides must be
 * 1..VAECL_DATASET_MAX_SIDE, channels 1..VAECL_DATASET_MAX_CHANNELS. Either file may be gzipped
 * (detected from the content, not the name). Validates magic, dims, counts agree and file
 * length; on any problem returns -1 with a message naming the file. class_names is NULL. */
int vaecl_idx_load(const char *images_path, const char *labels_path, vaecl_dataset *out);

/* Loads the splits DIR/train-* then DIR/t10k-*, concatenated: 70,000 images for Fashion-MNIST.
 * A split is PREFIX-images-idx3-ubyte (or -idx4-ubyte), plain or .gz, with its labels
 * PREFIX-labels-idx1-ubyte[.gz] if present. Either split may be missing but not both; both
 * splits must agree on the image shape and on having labels. For VAECL_DEFAULT_DATA_DIR (the
 * installed Fashion-MNIST) class_names are vaecl_fashion_mnist_classes. The message for a
 * directory without such files lists the names tried. */
int vaecl_idx_load_dir(const char *dir, vaecl_dataset *out);

/* Loads one split of DIR, PREFIX-images-idx3/idx4-ubyte[.gz] with its labels if present: "train"
 * or "t10k" (the held-out test images). Class names as vaecl_idx_load_dir gives them. */
int vaecl_idx_load_split(const char *dir, const char *prefix, vaecl_dataset *out);

#define VAECL_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

#ifdef __cplusplus
}
#endif
#endif
