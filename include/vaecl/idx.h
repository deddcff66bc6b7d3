/* Loader for the IDX files of (Fashion-)MNIST, plain or gzipped. */
#ifndef VAECL_IDX_H
#define VAECL_IDX_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *pixels; /* count * rows * cols bytes, row-major, 0..255 */
  uint8_t *labels; /* count labels, 0..9 */
  size_t count;
  int rows, cols, channels; /* channels: 1 for grey IDX files */
} vaecl_dataset;

/* Reads an images file (magic 0x00000803, dims count x rows x cols) and the matching
 * labels file (magic 0x00000801, dim count). Either may be gzipped (detected from
 * the content, not the name). Validates magic, dims, counts agree, file length and
 * label range; on any problem returns -1 with a message naming the file. */
int vaecl_idx_load(const char *images_path, const char *labels_path, vaecl_dataset *out);

/* Loads DIR/train-*-idx?-ubyte[.gz] then DIR/t10k-*, concatenated: 70,000 images for
 * Fashion-MNIST. Either split may be missing but not both; the message lists the
 * file names tried and suggests `apt-get install dataset-fashion-mnist` or --data. */
int vaecl_idx_load_dir(const char *dir, vaecl_dataset *out);

/* Keeps the first n images (n <= count). */
void vaecl_dataset_truncate(vaecl_dataset *, size_t n);
void vaecl_dataset_free(vaecl_dataset *);

#define VAECL_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

#endif
