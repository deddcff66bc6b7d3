#include <vaecl/idx.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data/data_internal.h"
#include "util/error.h"

#define IDX_MAGIC_IMAGES 0x00000803u    /* unsigned bytes, 3 dims */
#define IDX_MAGIC_IMAGES_4D 0x00000804u /* unsigned bytes, 4 dims: channels last */
#define IDX_MAGIC_LABELS 0x00000801u    /* unsigned bytes, 1 dim */
#define IDX_MAX_SIDE VAECL_DATASET_MAX_SIDE
#define IDX_MAX_CHANNELS VAECL_DATASET_MAX_CHANNELS
#define IDX_PATH_MAX 4096

/* One open IDX file; gzread reads plain files transparently too. */
typedef struct {
  const char *path;
  gzFile gz;
  uint64_t file_size; /* on disk, compressed or not */
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
  struct stat st;
  if (stat(path, &st) != 0)
    return vaecl_fail("%s: cannot open: %s", path, strerror(errno));
  f->file_size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
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
  /* Deflate expands at most 1032:1, so a claim beyond that bound is refused before
   * anything is inflated: a small crafted file cannot cost gigabytes of work. */
  const int plain = gzdirect(f->gz);
  const uint64_t most = plain ? f->file_size : f->file_size * 1032u + 1024u;
  if ((uint64_t)n > most)
    return vaecl_fail("%s: the header declares %zu data bytes, more than this %llu-byte file can "
                      "hold%s (truncated or corrupt header?)",
                      f->path, n, (unsigned long long)f->file_size,
                      plain ? "" : " even gzipped (deflate expands at most 1032:1)");
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

/* Reads the magic number; it must be want or, if want2 is not 0, want2. */
static int idx_check_magic(idx_file *f, uint32_t want, uint32_t want2, const char *kind,
                           uint32_t *magic) {
  if (idx_read_u32(f, magic, "the magic number"))
    return -1;
  if (*magic == want || (want2 && *magic == want2))
    return 0;
  if (want2)
    return vaecl_fail("%s: wrong magic number 0x%08x, expected 0x%08x or 0x%08x for an IDX %s file",
                      f->path, *magic, want, want2, kind);
  return vaecl_fail("%s: wrong magic number 0x%08x, expected 0x%08x for an IDX %s file", f->path,
                    *magic, want, kind);
}

/* Reads an images file into d (pixels, count, rows, cols, channels). */
static int load_images(const char *path, vaecl_dataset *d) {
  idx_file f = {0};
  uint32_t magic, n, r, c, ch = 1;
  if (idx_open(&f, path) ||
      idx_check_magic(&f, IDX_MAGIC_IMAGES, IDX_MAGIC_IMAGES_4D, "images", &magic) ||
      idx_read_u32(&f, &n, "the image count") || idx_read_u32(&f, &r, "the row count") ||
      idx_read_u32(&f, &c, "the column count") ||
      (magic == IDX_MAGIC_IMAGES_4D && idx_read_u32(&f, &ch, "the channel count")))
    goto fail;
  if (n == 0) {
    vaecl_fail("%s: the header declares 0 images", path);
    goto fail;
  }
  if (r < 1 || r > IDX_MAX_SIDE || c < 1 || c > IDX_MAX_SIDE) {
    vaecl_fail("%s: image size %ux%u is out of range (1..%d per side)", path, r, c, IDX_MAX_SIDE);
    goto fail;
  }
  if (ch < 1 || ch > IDX_MAX_CHANNELS) {
    vaecl_fail("%s: %u channels per pixel is out of range (1..%d)", path, ch, IDX_MAX_CHANNELS);
    goto fail;
  }
  /* At most 2^32 * 2^12 * 2^12 * 4 = 2^58 bytes: exact in 64 bits; size_t may be smaller. */
  const uint64_t per_image = (uint64_t)r * c * ch, total = (uint64_t)n * per_image;
  if (total / per_image != n || total > (uint64_t)SIZE_MAX) {
    vaecl_fail("%s: %u images of %ux%ux%u do not fit in memory", path, n, r, c, ch);
    goto fail;
  }
  if (idx_read_payload(&f, (size_t)total, &d->pixels))
    goto fail;
  if (idx_expect_end(&f)) {
    free(d->pixels);
    d->pixels = NULL;
    goto fail;
  }
  idx_close(&f);
  d->count = n;
  d->rows = (int)r;
  d->cols = (int)c;
  d->channels = (int)ch;
  return 0;
fail:
  idx_close(&f);
  return -1;
}

/* 1 + the largest label. */
static int class_count_of(const uint8_t *labels, size_t n) {
  int top = 0;
  for (size_t i = 0; i < n; i++)
    top = labels[i] > top ? labels[i] : top;
  return top + 1;
}

static int load_labels(const char *path, uint8_t **labels, size_t *count) {
  idx_file f = {0};
  uint32_t magic, n;
  if (idx_open(&f, path) || idx_check_magic(&f, IDX_MAGIC_LABELS, 0, "labels", &magic) ||
      idx_read_u32(&f, &n, "the label count"))
    goto fail;
  if (n == 0) {
    vaecl_fail("%s: the header declares 0 labels", path);
    goto fail;
  }
  if (idx_read_payload(&f, n, labels))
    goto fail;
  if (idx_expect_end(&f)) {
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
  if (load_images(images_path, &d))
    return -1;
  if (!labels_path) {
    *out = d;
    return 0;
  }
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
  d.class_count = class_count_of(d.labels, d.count);
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

/* Loads one split (prefix "train" or "t10k"): 0 if loaded, 1 if absent, -1 on error. The
 * images are PREFIX-images-idx3-ubyte or, for 4-D files, PREFIX-images-idx4-ubyte; the labels
 * are optional. */
static int load_split(const char *dir, const char *prefix, vaecl_dataset *out) {
  char images_base[64], labels_base[64], images[IDX_PATH_MAX], labels[IDX_PATH_MAX];
  int hi = 1;
  for (int dims = 3; dims <= 4 && hi == 1; dims++) {
    snprintf(images_base, sizeof images_base, "%s-images-idx%d-ubyte", prefix, dims);
    if ((hi = find_file(dir, images_base, images)) < 0)
      return -1;
  }
  snprintf(labels_base, sizeof labels_base, "%s-labels-idx1-ubyte", prefix);
  const int hl = find_file(dir, labels_base, labels);
  if (hl < 0)
    return -1;
  if (hi == 1 && hl == 1)
    return 1;
  if (hi == 1)
    return vaecl_fail("%s: found %s but not its images, %s/%s-images-idx3-ubyte(.gz) or "
                      "-idx4-ubyte(.gz)",
                      dir, labels, dir, prefix);
  return vaecl_idx_load(images, hl == 0 ? labels : NULL, out) ? -1 : 0;
}

/* Appends b to a (same image shape, both with or both without labels), consuming b. */
static int concat(const char *dir, vaecl_dataset *a, vaecl_dataset *b) {
  if (a->rows != b->rows || a->cols != b->cols || a->channels != b->channels)
    return vaecl_fail("%s: train images are %dx%dx%d but t10k images are %dx%dx%d", dir, a->rows,
                      a->cols, a->channels, b->rows, b->cols, b->channels);
  if (!a->labels != !b->labels)
    return vaecl_fail("%s: the %s split has labels but the %s split does not; give both splits "
                      "labels or neither",
                      dir, a->labels ? "train" : "t10k", a->labels ? "t10k" : "train");
  const size_t per = vaecl_dataset_image_size(a), n = a->count + b->count;
  if (n > SIZE_MAX / per)
    return vaecl_fail("%s: %zu images do not fit in memory", dir, n);
  uint8_t *pixels = realloc(a->pixels, n * per);
  if (!pixels)
    return vaecl_fail("%s: out of memory for %zu images", dir, n);
  a->pixels = pixels;
  memcpy(a->pixels + a->count * per, b->pixels, b->count * per);
  if (a->labels) {
    uint8_t *labels = realloc(a->labels, n);
    if (!labels)
      return vaecl_fail("%s: out of memory for %zu labels", dir, n);
    a->labels = labels;
    memcpy(a->labels + a->count, b->labels, b->count);
    a->class_count = a->class_count > b->class_count ? a->class_count : b->class_count;
  }
  a->count = n;
  vaecl_dataset_free(b);
  return 0;
}

static int idx_probe_dir(const char *dir, vaecl_dataset *out) {
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
    return 1;
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

/* The installed Fashion-MNIST gets its class names; other IDX sets are numbered. */
static int name_classes(const char *dir, vaecl_dataset *d) {
  if (d->class_count != 10 || !vaecl_is_default_data_dir(dir))
    return 0;
  if (vaecl_dataset_set_class_names(d, vaecl_fashion_mnist_classes, 10) == 0)
    return 0;
  vaecl_dataset_free(d);
  return -1;
}

int vaecl_idx_probe_dir(const char *dir, vaecl_dataset *out) {
  const int rc = idx_probe_dir(dir, out);
  return rc == 0 ? name_classes(dir, out) : rc;
}

int vaecl_idx_load_dir(const char *dir, vaecl_dataset *out) {
  const int rc = vaecl_idx_probe_dir(dir, out);
  if (rc <= 0)
    return rc;
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return vaecl_fail("data directory %s does not exist%s", dir, vaecl_data_dir_hint());
  return vaecl_fail("%s: no IDX files found (tried train-images-idx3-ubyte[.gz] + "
                    "train-labels-idx1-ubyte[.gz] and t10k-images-idx3-ubyte[.gz] + "
                    "t10k-labels-idx1-ubyte[.gz], or idx4 images)%s",
                    dir, vaecl_data_dir_hint());
}

int vaecl_idx_load_split(const char *dir, const char *split, vaecl_dataset *out) {
  memset(out, 0, sizeof *out);
  const int rc = load_split(dir, split, out);
  if (rc == 0)
    return name_classes(dir, out);
  if (rc < 0)
    return -1;
  return vaecl_fail("%s: no %s split (tried %s/%s-images-idx3-ubyte[.gz] and -idx4-ubyte[.gz])%s",
                    dir, split, dir, split, vaecl_data_dir_hint());
}
