/* Shared between the data loaders (src/data): the probing forms of the directory loaders. */
#ifndef VAECL_DATA_INTERNAL_H
#define VAECL_DATA_INTERNAL_H

#include <vaecl/dataset.h>

/* vaecl_idx_load_dir, but returns 1 (no message, *out zeroed) when DIR holds no IDX split. */
int vaecl_idx_probe_dir(const char *dir, vaecl_dataset *out);

/* vaecl_png_folder_load, but returns 1 (no message, *out zeroed) when DIR is a directory with
 * no PNG files, neither at the top nor in subfolders. */
int vaecl_png_folder_probe(const char *dir, vaecl_dataset *out);

/* "grey", "grey+alpha", "RGB", "RGBA" for 1..4 channels, else "?". */
const char *vaecl_channels_name(int channels);

/* "; install Fashion-MNIST with `apt-get ...` or pass another data directory" */
const char *vaecl_data_dir_hint(void);

/* Whether dir is VAECL_DEFAULT_DATA_DIR (the same directory, by device and inode). */
int vaecl_is_default_data_dir(const char *dir);

#endif
