/* A folder of PNG images as a data set: flat (no labels) or one subfolder per class. */
#include <vaecl/dataset.h>

#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/data_internal.h"
#include "util/error.h"

#define PNG_PATH_MAX 4096
#define PNG_MAX_CLASSES 256 /* labels are bytes */

/* A growable array of malloc'd strings. */
typedef struct {
  char **v;
  size_t n, cap;
} str_list;

static void list_free(str_list *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static int list_push(str_list *l, const char *s, const char *where) {
  if (l->n == l->cap) {
    const size_t cap = l->cap ? 2 * l->cap : 64;
    char **v = realloc(l->v, cap * sizeof *v);
    if (!v)
      return vaecl_fail("%s: out of memory listing %zu entries", where, cap);
    l->v = v;
    l->cap = cap;
  }
  if (!(l->v[l->n] = strdup(s)))
    return vaecl_fail("%s: out of memory listing %zu entries", where, l->n + 1);
  l->n++;
  return 0;
}

/* Byte-wise order: the same on every machine, whatever the locale. */
static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_png_extension(const char *name) {
  const size_t n = strlen(name);
  return n > 4 && strcasecmp(name + n - 4, ".png") == 0;
}

static int join(char out[PNG_PATH_MAX], const char *dir, const char *name) {
  const int n = snprintf(out, PNG_PATH_MAX, "%s/%s", dir, name);
  if (n < 0 || n >= PNG_PATH_MAX)
    return vaecl_fail("%s/%s: path is too long", dir, name);
  return 0;
}

/* Lists DIR's visible entries by name, sorted: PNG files into files, directories into dirs
 * (NULL: skip them). Symbolic links count as what they point to; anything else is ignored. */
static int list_dir(const char *dir, str_list *files, str_list *dirs) {
  DIR *d = opendir(dir);
  if (!d)
    return vaecl_fail("%s: cannot open the directory: %s", dir, strerror(errno));
  int rc = 0;
  for (;;) {
    errno = 0;
    const struct dirent *e = readdir(d);
    if (!e) {
      if (errno)
        rc = vaecl_fail("%s: cannot read the directory: %s", dir, strerror(errno));
      break;
    }
    if (e->d_name[0] == '.') /* hidden, ".", ".." */
      continue;
    char path[PNG_PATH_MAX];
    struct stat st;
    if ((rc = join(path, dir, e->d_name)) != 0)
      break;
    const int png = has_png_extension(e->d_name);
    if (stat(path, &st) != 0) {
      if (!png)
        continue; /* e.g. a dangling link that would not have been read anyway */
      rc = vaecl_fail("%s: cannot read: %s", path, strerror(errno));
      break;
    }
    if (S_ISREG(st.st_mode) && png)
      rc = list_push(files, e->d_name, dir);
    else if (S_ISDIR(st.st_mode) && dirs)
      rc = list_push(dirs, e->d_name, dir);
    if (rc)
      break;
  }
  closedir(d);
  if (files->n)
    qsort(files->v, files->n, sizeof *files->v, by_name);
  if (dirs && dirs->n)
    qsort(dirs->v, dirs->n, sizeof *dirs->v, by_name);
  return rc;
}

/* ---- decoding one PNG ---- */

/* libpng reports errors here; it lives in the caller of the function that calls setjmp, so its
 * contents survive the longjmp. */
typedef struct {
  char message[256];
} png_errors;

static void on_png_error(png_structp png, png_const_charp msg) {
  png_errors *e = png_get_error_ptr(png);
  snprintf(e->message, sizeof e->message, "%s", msg);
  png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) {
  (void)png; /* the library never prints; a warning alone does not fail a load */
  (void)msg;
}

/* Sets the transforms that turn any PNG into 8-bit grey or RGB without alpha: palette to RGB,
 * 1/2/4-bit grey to 8-bit, 16-bit samples scaled to 8-bit, and the alpha channel (or tRNS
 * transparency, which palette expansion turns into alpha) dropped, not composited: colour
 * values are kept as stored. No gamma correction is applied. */
static void set_transforms(png_structp png, png_infop info) {
  const int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if (type == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png);
  if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) {
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
    png_set_scale_16(png); /* round(v * 255 / 65535) */
#else
    png_set_strip_16(png);
#endif
  }
  if ((type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
    png_set_strip_alpha(png);
  png_set_interlace_handling(png);
}

/* Reads image index of count from path into d. The first image sets d's shape and allocates
 * d->pixels for all count images; later ones must match it (first names the first image). */
static int decode(const char *path, size_t index, size_t count, const char *first, vaecl_dataset *d,
                  png_errors *err, FILE *f) {
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, err, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(&png, NULL, NULL);
    return vaecl_fail("%s: out of memory for the PNG decoder", path);
  }
  png_bytep *volatile rows = NULL; /* volatile: changed after setjmp, freed after a longjmp */
  if (setjmp(png_jmpbuf(png))) {
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return vaecl_fail("%s: corrupt or truncated PNG: %s", path, err->message);
  }
  png_init_io(png, f);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int rc = 0;
  if (w > VAECL_DATASET_MAX_SIDE || h > VAECL_DATASET_MAX_SIDE) {
    rc = vaecl_fail("%s: image size %ux%u is out of range (1..%d per side)", path, (unsigned)h,
                    (unsigned)w, VAECL_DATASET_MAX_SIDE);
    goto done;
  }
  set_transforms(png, info);
  png_read_update_info(png, info);
  const int channels = png_get_channels(png, info);
  if (png_get_bit_depth(png, info) != 8 || (channels != 1 && channels != 3)) {
    rc = vaecl_fail("%s: unsupported PNG layout (colour type %d, %d-bit)", path,
                    png_get_color_type(png, info), png_get_bit_depth(png, info));
    goto done;
  }
  if (index == 0) {
    d->rows = (int)h;
    d->cols = (int)w;
    d->channels = channels;
    /* at most 2^12 * 2^12 * 3 bytes an image: the product cannot overflow 64 bits */
    const uint64_t per = (uint64_t)h * w * (uint64_t)channels, total = per * count;
    if (total / per != count || total > (uint64_t)SIZE_MAX ||
        !(d->pixels = malloc((size_t)total))) {
      rc = vaecl_fail("%s: out of memory for %zu images of %ux%u %s", path, count, (unsigned)h,
                      (unsigned)w, vaecl_channels_name(channels));
      goto done;
    }
  } else if ((int)h != d->rows || (int)w != d->cols || channels != d->channels) {
    rc = vaecl_fail("%s: %ux%u %s, but the first image %s is %dx%d %s; all images must have the "
                    "same size and colour type",
                    path, (unsigned)h, (unsigned)w, vaecl_channels_name(channels), first, d->rows,
                    d->cols, vaecl_channels_name(d->channels));
    goto done;
  }
  const size_t stride = (size_t)w * (size_t)channels;
  uint8_t *dst = d->pixels + index * stride * h;
  if (png_get_rowbytes(png, info) != stride) {
    rc = vaecl_fail("%s: unexpected row size %zu after conversion", path,
                    (size_t)png_get_rowbytes(png, info));
    goto done;
  }
  if (!(rows = malloc(h * sizeof *rows))) {
    rc = vaecl_fail("%s: out of memory for %u row pointers", path, (unsigned)h);
    goto done;
  }
  for (png_uint_32 y = 0; y < h; y++)
    rows[y] = dst + y * stride;
  png_read_image(png, rows);
  png_read_end(png, NULL); /* up to IEND: catches a file cut after the image data */
done:
  free(rows);
  png_destroy_read_struct(&png, &info, NULL);
  return rc;
}

static int read_png(const char *path, size_t index, size_t count, const char *first,
                    vaecl_dataset *d) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return vaecl_fail("%s: cannot open: %s", path, strerror(errno));
  uint8_t sig[8];
  const size_t got = fread(sig, 1, sizeof sig, f);
  int rc;
  if (got < sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0)
    rc = vaecl_fail("%s: not a PNG file (%s)", path,
                    got < sizeof sig ? "shorter than the 8-byte PNG signature"
                                     : "it does not start with the PNG signature");
  else {
    png_errors err = {"unknown libpng error"};
    rc = decode(path, index, count, first, d, &err, f);
  }
  fclose(f);
  return rc;
}

/* ---- the folder ---- */

int vaecl_png_folder_probe(const char *dir, vaecl_dataset *out) {
  vaecl_dataset d = {0};
  str_list top_files = {0}, classes = {0}, paths = {0}, files = {0};
  size_t *class_end = NULL; /* paths of class k end at class_end[k] */
  char path[PNG_PATH_MAX];
  int rc = 0;
  memset(out, 0, sizeof *out);
  if ((rc = list_dir(dir, &top_files, &classes)) != 0)
    goto done;
  if (top_files.n && classes.n) {
    rc = vaecl_fail("%s: holds both PNG files (%s) and subfolders (%s); put the images either "
                    "all in %s, or in one subfolder per class",
                    dir, top_files.v[0], classes.v[0], dir);
    goto done;
  }
  for (size_t i = 0; i < top_files.n && rc == 0; i++)
    if ((rc = join(path, dir, top_files.v[i])) == 0)
      rc = list_push(&paths, path, dir);
  if (classes.n > PNG_MAX_CLASSES) {
    rc = vaecl_fail("%s: %zu class subfolders, but at most %d classes are supported", dir,
                    classes.n, PNG_MAX_CLASSES);
    goto done;
  }
  if (classes.n && !(class_end = calloc(classes.n, sizeof *class_end))) {
    rc = vaecl_fail("%s: out of memory for %zu classes", dir, classes.n);
    goto done;
  }
  for (size_t k = 0; k < classes.n && rc == 0; k++) {
    char sub[PNG_PATH_MAX];
    if ((rc = join(sub, dir, classes.v[k])) != 0 || (rc = list_dir(sub, &files, NULL)) != 0)
      break;
    for (size_t i = 0; i < files.n && rc == 0; i++)
      if ((rc = join(path, sub, files.v[i])) == 0)
        rc = list_push(&paths, path, dir);
    list_free(&files);
    class_end[k] = paths.n;
  }
  if (rc)
    goto done;
  if (paths.n == 0) {
    rc = 1;
    goto done;
  }
  d.count = paths.n;
  for (size_t i = 0; i < paths.n && rc == 0; i++)
    rc = read_png(paths.v[i], i, paths.n, paths.v[0], &d);
  if (rc == 0 && classes.n) {
    if (!(d.labels = malloc(paths.n))) {
      rc = vaecl_fail("%s: out of memory for %zu labels", dir, paths.n);
      goto done;
    }
    for (size_t k = 0, i = 0; k < classes.n; k++)
      for (; i < class_end[k]; i++)
        d.labels[i] = (uint8_t)k;
    d.class_count = (int)classes.n;
    d.class_names = classes.v; /* the sorted subfolder names, now owned by d */
    memset(&classes, 0, sizeof classes);
  }
done:
  list_free(&top_files);
  list_free(&classes);
  list_free(&paths);
  list_free(&files);
  free(class_end);
  if (rc)
    vaecl_dataset_free(&d);
  else
    *out = d;
  return rc;
}

int vaecl_png_folder_load(const char *dir, vaecl_dataset *out) {
  const int rc = vaecl_png_folder_probe(dir, out);
  if (rc <= 0)
    return rc;
  return vaecl_fail("no PNG files were found in %s (nor in its subfolders)", dir);
}
