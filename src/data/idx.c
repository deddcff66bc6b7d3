#include <vaecl/idx.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "util/error.h"

#define IDX_MAGIC_IMAGES 0x00000803u /* unsigned bytes, 3 dims */
#define IDX_MAGIC_LABELS 0x00000801u /* unsigned bytes, 1 dim */
#define IDX_MAX_SIDE 4096
#define IDX_NUM_CLASSES 10
#define IDX_PATH_MAX 4096

/* One open IDX file; gzread reads plain files transparently too. */
typedef struct {
  const char *path;
  gzFile gz;
} idx_file;

static const char *gz_message(gzFile gz) {
  int errnum = 0;
  const char *msg = gzerror(gz, &errnum);
  if (errnum == Z_ERRNO)
    return strerror(errno);
  return msg && *msg ? msg : "unknown zlib error";
}

static int idx_open(idx_file *f, const char *path) {
  f->path = path;
  errno = 0;
  f->gz = gzopen(path, "rb");
  if (!f->gz)
    return vaecl_fail("%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
  return 0;
}

static void idx_close(idx_file *f) {
  if (f->gz)
    (void)gzclose_r(f->gz); /* read-only: any error already surfaced through gzread */
  f->gz = NULL;
}

/* Reads up to n bytes, stopping early only at the end of the file; *got says how many. */
static int idx_read_some(idx_file *f, void *buf, size_t n, size_t *got, const char *what) {
  *got = 0;
  while (*got < n) {
    const size_t left = n - *got, chunk = left < (size_t)INT_MAX ? left : (size_t)INT_MAX;
    const int r = gzread(f->gz, (uint8_t *)buf + *got, (unsigned)chunk);
    if (r < 0)
      return vaecl_fail("%s: read error in %s: %s", f->path, what, gz_message(f->gz));
    if (r == 0)
      break;
    *got += (size_t)r;
  }
  return 0;
}

/* Reads exactly n bytes; what names the field for the truncation message. */
static int idx_read(idx_file *f, void *buf, size_t n, const char *what) {
  size_t got;
  if (idx_read_some(f, buf, n, &got, what))
    return -1;
  if (got < n)
    return vaecl_fail("%s: truncated: the file ends inside %s", f->path, what);
  return 0;
}

static int idx_read_u32(idx_file *f, uint32_t *v, const char *what) {
  uint8_t b[4];
  if (idx_read(f, b, sizeof b, what))
    return -1;
  *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
  return 0;
}

/* Reads the n-byte payload into a buffer grown as data arrives, so a corrupt header
 * claiming a huge count reports truncation instead of attempting a huge malloc. */
static int idx_read_payload(idx_file *f, size_t n, uint8_t **out) {
  size_t cap = n < ((size_t)1 << 20) ? n : ((size_t)1 << 20), done = 0;
  uint8_t *buf = malloc(cap);
  if (!buf)
    return vaecl_fail("%s: out of memory for %zu bytes", f->path, cap);
  while (done < n) {
    if (done == cap) {
      const size_t grown = cap > n / 2 ? n : cap * 2;
      uint8_t *p = realloc(buf, grown);
      if (!p) {
        free(buf);
        return vaecl_fail("%s: out of memory for %zu bytes", f->path, grown);
      }
      buf = p;
      cap = grown;
    }
    size_t got;
    if (idx_read_some(f, buf + done, cap - done, &got, "the data")) {
      free(buf);
      return -1;
    }
    done += got;
    if (done < cap) {
      free(buf);
      return vaecl_fail("%s: truncated: the header declares %zu data bytes but only %zu follow it",
                        f->path, n, done);
    }
  }
  *out = buf;
  return 0;
}

/* After the payload the file must end; a gzip stream must also end cleanly. */
static int idx_expect_end(idx_file *f) {
  uint8_t extra[256];
  size_t trailing = 0;
  int got;
  while ((got = gzread(f->gz, extra, sizeof extra)) > 0)
    trailing += (size_t)got;
  if (got < 0)
    return vaecl_fail("%s: read error after the data: %s", f->path, gz_message(f->gz));
  if (trailing)
    return vaecl_fail("%s: %zu trailing byte(s) after the data the header declares", f->path,
                      trailing);
  int errnum = 0;
  gzerror(f->gz, &errnum);
  if (errnum != Z_OK) /* e.g. Z_BUF_ERROR: gzip stream cut off before its trailer */
    return vaecl_fail("%s: truncated or corrupt gzip stream: %s", f->path, gz_message(f->gz));
  return 0;
}

static int idx_check_magic(idx_file *f, uint32_t want, const char *kind) {
  uint32_t magic;
  if (idx_read_u32(f, &magic, "the magic number"))
    return -1;
  if (magic != want)
    return vaecl_fail("%s: wrong magic number 0x%08x, expected 0x%08x for an IDX %s file", f->path,
                      magic, want, kind);
  return 0;
}

static int load_images(const char *path, uint8_t **pixels, size_t *count, int *rows, int *cols) {
  idx_file f = {0};
  uint32_t n, r, c;
  if (idx_open(&f, path) || idx_check_magic(&f, IDX_MAGIC_IMAGES, "images") ||
      idx_read_u32(&f, &n, "the image count") || idx_read_u32(&f, &r, "the row count") ||
      idx_read_u32(&f, &c, "the column count"))
    goto fail;
  if (n == 0) {
    vaecl_fail("%s: the header declares 0 images", path);
    goto fail;
  }
  if (r < 1 || r > IDX_MAX_SIDE || c < 1 || c > IDX_MAX_SIDE) {
    vaecl_fail("%s: image size %ux%u is out of range (1..%d per side)", path, r, c, IDX_MAX_SIDE);
    goto fail;
  }
  const size_t per_image = (size_t)r * c;
  if (n > SIZE_MAX / per_image) {
    vaecl_fail("%s: %u images of %ux%u do not fit in memory", path, n, r, c);
    goto fail;
  }
  if (idx_read_payload(&f, n * per_image, pixels))
    goto fail;
  if (idx_expect_end(&f)) {
    free(*pixels);
    *pixels = NULL;
    goto fail;
  }
  idx_close(&f);
  *count = n;
  *rows = (int)r;
  *cols = (int)c;
  return 0;
fail:
  idx_close(&f);
  return -1;
}

static int check_labels(const char *path, const uint8_t *labels, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (labels[i] >= IDX_NUM_CLASSES)
      return vaecl_fail("%s: label %zu is %u, out of range (labels must be 0..%d)", path, i,
                        labels[i], IDX_NUM_CLASSES - 1);
  return 0;
}

static int load_labels(const char *path, uint8_t **labels, size_t *count) {
  idx_file f = {0};
  uint32_t n;
  if (idx_open(&f, path) || idx_check_magic(&f, IDX_MAGIC_LABELS, "labels") ||
      idx_read_u32(&f, &n, "the label count"))
    goto fail;
  if (n == 0) {
    vaecl_fail("%s: the header declares 0 labels", path);
    goto fail;
  }
  if (idx_read_payload(&f, n, labels))
    goto fail;
  if (idx_expect_end(&f) || check_labels(path, *labels, n)) {
    free(*labels);
    *labels = NULL;
    goto fail;
  }
  idx_close(&f);
  *count = n;
  return 0;
fail:
  idx_close(&f);
  return -1;
}

int vaecl_idx_load(const char *images_path, const char *labels_path, vaecl_dataset *out) {
  vaecl_dataset d = {.channels = 1};
  size_t label_count = 0;
  memset(out, 0, sizeof *out);
  if (load_images(images_path, &d.pixels, &d.count, &d.rows, &d.cols))
    return -1;
  if (load_labels(labels_path, &d.labels, &label_count)) {
    vaecl_dataset_free(&d);
    return -1;
  }
  if (label_count != d.count) {
    vaecl_fail("%s has %zu images but %s has %zu labels; they must match", images_path, d.count,
               labels_path, label_count);
    vaecl_dataset_free(&d);
    return -1;
  }
  *out = d;
  return 0;
}

static int is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Sets path to DIR/base or DIR/base.gz, whichever exists; 0 if found, 1 if neither. */
static int find_file(const char *dir, const char *base, char path[IDX_PATH_MAX]) {
  static const char *const suffixes[] = {"", ".gz"};
  for (size_t i = 0; i < 2; i++) {
    const int n = snprintf(path, IDX_PATH_MAX, "%s/%s%s", dir, base, suffixes[i]);
    if (n < 0 || n >= IDX_PATH_MAX)
      return vaecl_fail("%s: data directory path is too long", dir);
    if (is_file(path))
      return 0;
  }
  return 1;
}

/* Loads one split (prefix "train" or "t10k"): 0 if loaded, 1 if absent, -1 on error. */
static int load_split(const char *dir, const char *prefix, vaecl_dataset *out) {
  char images_base[64], labels_base[64], images[IDX_PATH_MAX], labels[IDX_PATH_MAX];
  snprintf(images_base, sizeof images_base, "%s-images-idx3-ubyte", prefix);
  snprintf(labels_base, sizeof labels_base, "%s-labels-idx1-ubyte", prefix);
  const int hi = find_file(dir, images_base, images);
  if (hi < 0)
    return -1;
  const int hl = find_file(dir, labels_base, labels);
  if (hl < 0)
    return -1;
  if (hi == 1 && hl == 1)
    return 1;
  if (hi == 1 || hl == 1)
    return vaecl_fail("%s: found %s but not %s/%s(.gz); both files of a split are needed", dir,
                      hi == 1 ? labels : images, dir, hi == 1 ? images_base : labels_base);
  return vaecl_idx_load(images, labels, out) ? -1 : 0;
}

/* Appends b to a (same image size), consuming b. */
static int concat(const char *dir, vaecl_dataset *a, vaecl_dataset *b) {
  if (a->rows != b->rows || a->cols != b->cols)
    return vaecl_fail("%s: train images are %dx%d but t10k images are %dx%d", dir, a->rows, a->cols,
                      b->rows, b->cols);
  const size_t per = (size_t)a->rows * a->cols, n = a->count + b->count;
  uint8_t *pixels = realloc(a->pixels, n * per);
  if (!pixels)
    return vaecl_fail("%s: out of memory for %zu images", dir, n);
  a->pixels = pixels;
  uint8_t *labels = realloc(a->labels, n);
  if (!labels)
    return vaecl_fail("%s: out of memory for %zu labels", dir, n);
  a->labels = labels;
  memcpy(a->pixels + a->count * per, b->pixels, b->count * per);
  memcpy(a->labels + a->count, b->labels, b->count);
  a->count = n;
  vaecl_dataset_free(b);
  return 0;
}

static int missing_dir_error(const char *dir) {
  struct stat st;
  const char *fix = "install it with `apt-get install dataset-fashion-mnist` or pass --data DIR";
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return vaecl_fail("data directory %s does not exist; %s", dir, fix);
  return vaecl_fail("%s: no Fashion-MNIST files found (tried train-images-idx3-ubyte[.gz] + "
                    "train-labels-idx1-ubyte[.gz] and t10k-images-idx3-ubyte[.gz] + "
                    "t10k-labels-idx1-ubyte[.gz]); %s",
                    dir, fix);
}

int vaecl_idx_load_dir(const char *dir, vaecl_dataset *out) {
  vaecl_dataset train = {0}, test = {0};
  memset(out, 0, sizeof *out);
  const int rt = load_split(dir, "train", &train);
  if (rt < 0)
    return -1;
  const int rs = load_split(dir, "t10k", &test);
  if (rs < 0) {
    vaecl_dataset_free(&train);
    return -1;
  }
  if (rt == 1 && rs == 1)
    return missing_dir_error(dir);
  if (rt == 1) {
    *out = test;
    return 0;
  }
  if (rs == 0 && concat(dir, &train, &test)) {
    vaecl_dataset_free(&train);
    vaecl_dataset_free(&test);
    return -1;
  }
  *out = train;
  return 0;
}

void vaecl_dataset_truncate(vaecl_dataset *d, size_t n) {
  if (n < d->count)
    d->count = n; /* the tail stays allocated; freed with the rest */
}

void vaecl_dataset_free(vaecl_dataset *d) {
  free(d->pixels);
  free(d->labels);
  memset(d, 0, sizeof *d);
}
