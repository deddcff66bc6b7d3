/* IDX loader: round trips (any size, 4-D RGB, with or without labels), every rejected file,
 * and the real Fashion-MNIST files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "testutil.h"
#include <vaecl.h>
#include <vaecl/idx.h>

static char *dir;          /* per-test temporary directory */
static char path[8][4096]; /* paths made by tmp() */
static int npaths;

static void setup(void) {
  dir = test_make_temp_dir("idx");
  ck_assert_ptr_nonnull(dir);
  npaths = 0;
}

static void teardown(void) {
  test_remove_tree(dir);
  free(dir);
  dir = NULL;
}

/* A path inside the test's temporary directory. */
static const char *tmp(const char *name) {
  ck_assert_int_lt(npaths, 8);
  snprintf(path[npaths], sizeof path[npaths], "%s/%s", dir, name);
  return path[npaths++];
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Writes magic, ndims big-endian dims, then n payload bytes, plain or gzipped. */
static void write_idx(const char *file, int gz, uint32_t magic, const uint32_t *dims, int ndims,
                      const uint8_t *payload, size_t n) {
  uint8_t header[20];
  put_be32(header, magic);
  for (int i = 0; i < ndims; i++)
    put_be32(header + 4 + 4 * i, dims[i]);
  const size_t hn = 4 + 4 * (size_t)ndims;
  if (gz) {
    gzFile g = gzopen(file, "wb");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, header, (unsigned)hn), (int)hn);
    if (n)
      ck_assert_int_eq(gzwrite(g, payload, (unsigned)n), (int)n);
    ck_assert_int_eq(gzclose(g), Z_OK);
  } else {
    FILE *f = fopen(file, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(header, 1, hn, f), hn);
    if (n)
      ck_assert_uint_eq(fwrite(payload, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
  }
}

/* Three 2x3 images and their labels: small enough to compare by hand. */
static const uint8_t pixels3[18] = {0, 1, 2, 3, 4, 5, 255, 254, 253, 128, 127, 0, 9, 8, 7, 6, 5, 4};
static const uint8_t labels3[3] = {0, 9, 5};
static const uint32_t image_dims3[3] = {3, 2, 3};
static const uint32_t label_dims3[1] = {3};

static void write_images(const char *file, int gz) {
  write_idx(file, gz, 0x803, image_dims3, 3, pixels3, sizeof pixels3);
}

static void write_labels(const char *file, int gz) {
  write_idx(file, gz, 0x801, label_dims3, 1, labels3, sizeof labels3);
}

#define ck_assert_error_has(text)                                                                  \
  ck_assert_msg(strstr(vaecl_last_error(), (text)) != NULL, "error \"%s\" lacks \"%s\"",           \
                vaecl_last_error(), (text))

static void check_dataset3(const vaecl_dataset *d) {
  ck_assert_uint_eq(d->count, 3);
  ck_assert_int_eq(d->rows, 2);
  ck_assert_int_eq(d->cols, 3);
  ck_assert_mem_eq(d->pixels, pixels3, sizeof pixels3);
  ck_assert_int_eq(d->channels, 1);
  ck_assert_mem_eq(d->labels, labels3, sizeof labels3);
  ck_assert_int_eq(d->class_count, 10); /* 1 + the largest label, 9 */
  ck_assert_ptr_null(d->class_names);
}

/* Expects vaecl_idx_load to fail with a message naming named and containing problem. */
static void expect_load_error(const char *images, const char *labels, const char *named,
                              const char *problem) {
  vaecl_dataset d;
  ck_assert_int_eq(vaecl_idx_load(images, labels, &d), -1);
  ck_assert_ptr_null(d.pixels);
  ck_assert_ptr_null(d.labels);
  ck_assert_error_has(named);
  ck_assert_error_has(problem);
}

START_TEST(round_trip_plain) {
  const char *im = tmp("im"), *lb = tmp("lb");
  write_images(im, 0);
  write_labels(lb, 0);
  vaecl_dataset d;
  ck_assert_msg(vaecl_idx_load(im, lb, &d) == 0, "%s", vaecl_last_error());
  check_dataset3(&d);
  vaecl_dataset_free(&d);
  ck_assert_ptr_null(d.pixels);
  ck_assert_uint_eq(d.count, 0);
}
END_TEST

START_TEST(round_trip_gzip_and_mixed) {
  const char *im = tmp("im.gz"), *lb = tmp("lb"); /* gzipped images, plain labels */
  write_images(im, 1);
  write_labels(lb, 0);
  vaecl_dataset d;
  ck_assert_msg(vaecl_idx_load(im, lb, &d) == 0, "%s", vaecl_last_error());
  check_dataset3(&d);
  vaecl_dataset_truncate(&d, 2);
  ck_assert_uint_eq(d.count, 2);
  vaecl_dataset_truncate(&d, 5); /* never grows */
  ck_assert_uint_eq(d.count, 2);
  vaecl_dataset_free(&d);
}
END_TEST

START_TEST(wrong_magic) {
  const char *im = tmp("swapped-images"), *lb = tmp("labels");
  write_labels(im, 0); /* a labels file where the images should be */
  write_labels(lb, 0);
  expect_load_error(im, lb, im, "wrong magic number 0x00000801, expected 0x00000803");
  expect_load_error(lb, im, lb, "wrong magic number 0x00000801, expected 0x00000803");
}
END_TEST

START_TEST(truncated_data) {
  const char *im = tmp("short-images"), *gz = tmp("short-images.gz"), *lb = tmp("labels");
  write_idx(im, 0, 0x803, image_dims3, 3, pixels3, sizeof pixels3 - 1);
  write_idx(gz, 1, 0x803, image_dims3, 3, pixels3, sizeof pixels3 - 6);
  write_labels(lb, 0);
  expect_load_error(im, lb, im, "truncated: the header declares 18 data bytes but only 17");
  expect_load_error(gz, lb, gz, "truncated: the header declares 18 data bytes but only 12");
}
END_TEST

START_TEST(truncated_header) {
  const char *im = tmp("images"), *lb = tmp("labels");
  write_images(im, 0);
  write_idx(lb, 0, 0x801, NULL, 0, NULL, 0); /* magic only: the count is missing */
  expect_load_error(im, lb, lb, "truncated: the file ends inside the label count");
}
END_TEST

START_TEST(truncated_gzip_stream) {
  const char *im = tmp("images.gz"), *cut = tmp("cut.gz"), *lb = tmp("labels");
  write_images(im, 1);
  write_labels(lb, 0);
  /* Drop the gzip trailer (CRC and length): the data is complete, the stream is not. */
  FILE *f = fopen(im, "rb");
  ck_assert_ptr_nonnull(f);
  uint8_t buf[256];
  const size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  ck_assert_uint_gt(n, 8);
  f = fopen(cut, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(buf, 1, n - 8, f), n - 8);
  ck_assert_int_eq(fclose(f), 0);
  expect_load_error(cut, lb, cut, "truncated or corrupt gzip stream");
}
END_TEST

START_TEST(trailing_bytes) {
  const char *im = tmp("images"), *lb = tmp("long-labels"), *lbz = tmp("long-labels.gz");
  const uint8_t four[4] = {1, 2, 3, 4};
  write_images(im, 0);
  write_idx(lb, 0, 0x801, label_dims3, 1, four, 4);
  write_idx(lbz, 1, 0x801, label_dims3, 1, four, 4);
  expect_load_error(im, lb, lb, "1 trailing byte(s) after the data the header declares");
  expect_load_error(im, lbz, lbz, "1 trailing byte(s)");
}
END_TEST

START_TEST(count_mismatch) {
  const char *im = tmp("images"), *lb = tmp("two-labels");
  const uint32_t two[1] = {2};
  write_images(im, 0);
  write_idx(lb, 0, 0x801, two, 1, labels3, 2);
  expect_load_error(im, lb, im, "has 3 images but");
  ck_assert_error_has("two-labels has 2 labels");
}
END_TEST

START_TEST(labels_are_any_byte) {
  const char *im = tmp("images"), *lb = tmp("big-labels");
  const uint8_t big[3] = {0, 200, 1};
  write_images(im, 0);
  write_idx(lb, 0, 0x801, label_dims3, 1, big, 3);
  vaecl_dataset d;
  ck_assert_msg(vaecl_idx_load(im, lb, &d) == 0, "%s", vaecl_last_error());
  ck_assert_mem_eq(d.labels, big, 3);
  ck_assert_int_eq(d.class_count, 201);
  vaecl_dataset_free(&d);
  const uint8_t zeros[3] = {0, 0, 0};
  write_idx(lb, 0, 0x801, label_dims3, 1, zeros, 3);
  ck_assert_msg(vaecl_idx_load(im, lb, &d) == 0, "%s", vaecl_last_error());
  ck_assert_int_eq(d.class_count, 1);
  vaecl_dataset_free(&d);
}
END_TEST

START_TEST(images_without_labels) {
  const char *im = tmp("images.gz");
  write_images(im, 1);
  vaecl_dataset d;
  ck_assert_msg(vaecl_idx_load(im, NULL, &d) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(d.count, 3);
  ck_assert_mem_eq(d.pixels, pixels3, sizeof pixels3);
  ck_assert_ptr_null(d.labels);
  ck_assert_int_eq(d.class_count, 0);
  ck_assert_ptr_null(d.class_names);
  vaecl_dataset_free(&d);
}
END_TEST

/* Not 28x28: a bigger, non-square size, checked pixel by pixel. */
START_TEST(other_image_sizes) {
  enum { N = 2, R = 40, C = 33 };
  static uint8_t px[N * R * C];
  for (size_t i = 0; i < sizeof px; i++)
    px[i] = (uint8_t)(i * 31 + 5);
  const uint32_t dims[3] = {N, R, C}, ldims[1] = {N};
  const uint8_t lb[N] = {4, 2};
  const char *im = tmp("im.gz"), *lbf = tmp("lb");
  write_idx(im, 1, 0x803, dims, 3, px, sizeof px);
  write_idx(lbf, 0, 0x801, ldims, 1, lb, N);
  vaecl_dataset d;
  ck_assert_msg(vaecl_idx_load(im, lbf, &d) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(d.count, N);
  ck_assert_int_eq(d.rows, R);
  ck_assert_int_eq(d.cols, C);
  ck_assert_int_eq(d.channels, 1);
  ck_assert_uint_eq(vaecl_dataset_image_size(&d), R * C);
  ck_assert_mem_eq(d.pixels, px, sizeof px);
  ck_assert_int_eq(d.class_count, 5);
  vaecl_dataset_free(&d);
  /* a 1x1 image is fine too, and so is the largest side */
  const uint32_t one[3] = {1, 1, 1}, tall[3] = {1, 4096, 1};
  write_idx(im, 0, 0x803, one, 3, px, 1);
  ck_assert_msg(vaecl_idx_load(im, NULL, &d) == 0, "%s", vaecl_last_error());
  ck_assert_int_eq(d.rows * d.cols, 1);
  vaecl_dataset_free(&d);
  static uint8_t col[4096];
  write_idx(im, 0, 0x803, tall, 3, col, sizeof col);
  ck_assert_msg(vaecl_idx_load(im, NULL, &d) == 0, "%s", vaecl_last_error());
  ck_assert_int_eq(d.rows, 4096);
  vaecl_dataset_free(&d);
}
END_TEST

/* 4-D images (magic 0x804): count x rows x cols x channels, kept NHWC as stored. */
START_TEST(rgb_4d_images) {
  const uint8_t px[2 * 2 * 3 * 3] = {255, 0,  0,  0,   255, 0,   0,   0,   255, 1,   2,   3,
                                     4,   5,  6,  7,   8,   9,   10,  20,  30,  40,  50,  60,
                                     70,  80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180};
  const uint32_t dims[4] = {2, 2, 3, 3}, ldims[1] = {2};
  const uint8_t lb[2] = {1, 0};
  const char *im = tmp("rgb-images"), *lbf = tmp("rgb-labels.gz");
  write_idx(im, 0, 0x804, dims, 4, px, sizeof px);
  write_idx(lbf, 1, 0x801, ldims, 1, lb, 2);
  vaecl_dataset d;
  ck_assert_msg(vaecl_idx_load(im, lbf, &d) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(d.count, 2);
  ck_assert_int_eq(d.rows, 2);
  ck_assert_int_eq(d.cols, 3);
  ck_assert_int_eq(d.channels, 3);
  ck_assert_uint_eq(vaecl_dataset_image_size(&d), 18);
  ck_assert_mem_eq(d.pixels, px, sizeof px);
  /* image 1, row 1, column 2, green */
  ck_assert_int_eq(d.pixels[18 + (1 * 3 + 2) * 3 + 1], 170);
  ck_assert_mem_eq(d.labels, lb, 2);
  ck_assert_int_eq(d.class_count, 2);
  vaecl_dataset_free(&d);
  /* 1 and 4 channels are accepted; 0 and 5 are not */
  const uint32_t one[4] = {1, 2, 2, 1}, four[4] = {1, 1, 2, 4}, zero[4] = {1, 2, 2, 0},
                 five[4] = {1, 2, 2, 5};
  write_idx(im, 0, 0x804, one, 4, px, 4);
  ck_assert_msg(vaecl_idx_load(im, NULL, &d) == 0, "%s", vaecl_last_error());
  ck_assert_int_eq(d.channels, 1);
  vaecl_dataset_free(&d);
  write_idx(im, 0, 0x804, four, 4, px, 8);
  ck_assert_msg(vaecl_idx_load(im, NULL, &d) == 0, "%s", vaecl_last_error());
  ck_assert_int_eq(d.channels, 4);
  vaecl_dataset_free(&d);
  write_idx(im, 0, 0x804, zero, 4, NULL, 0);
  expect_load_error(im, NULL, im, "0 channels per pixel is out of range (1..4)");
  write_idx(im, 0, 0x804, five, 4, px, 20);
  expect_load_error(im, NULL, im, "5 channels per pixel is out of range (1..4)");
  /* a 4-D header cut before its channel count */
  write_idx(im, 0, 0x804, dims, 3, NULL, 0);
  expect_load_error(im, NULL, im, "truncated: the file ends inside the channel count");
  /* the count of a 4-D file includes the channels */
  write_idx(im, 0, 0x804, dims, 4, px, sizeof px - 1);
  expect_load_error(im, NULL, im, "the header declares 36 data bytes but only 35");
}
END_TEST

START_TEST(bad_dims) {
  const char *zero_rows = tmp("zero-rows"), *huge = tmp("huge"), *tall = tmp("tall");
  const char *none = tmp("none");
  const char *lb = tmp("labels");
  const uint32_t d0[3] = {3, 0, 3}, d1[3] = {3, 2, 4097}, d2[3] = {0, 2, 3};
  const uint32_t d3[3] = {3, 4097, 2};
  write_idx(zero_rows, 0, 0x803, d0, 3, NULL, 0);
  write_idx(huge, 0, 0x803, d1, 3, NULL, 0);
  write_idx(none, 0, 0x803, d2, 3, NULL, 0);
  write_idx(tall, 0, 0x803, d3, 3, NULL, 0);
  write_labels(lb, 0);
  expect_load_error(zero_rows, lb, zero_rows, "image size 0x3 is out of range (1..4096 per side)");
  expect_load_error(huge, lb, huge, "image size 2x4097 is out of range");
  expect_load_error(none, lb, none, "declares 0 images");
  expect_load_error(tall, lb, tall, "image size 4097x2 is out of range");
}
END_TEST

/* A header claiming billions of images is refused from the file's size alone, before
 * any allocation or reading. */
START_TEST(huge_count_is_refused_up_front) {
  const char *im = tmp("liar"), *lb = tmp("labels");
  const uint32_t d[3] = {4000000000u, 28, 28};
  write_idx(im, 0, 0x803, d, 3, pixels3, sizeof pixels3);
  write_labels(lb, 0);
  expect_load_error(im, lb, im,
                    "the header declares 3136000000000 data bytes, more than this 34-byte file "
                    "can hold");
  /* the largest 4-D header: 2^32-1 images of 4096x4096x4 bytes, about 2^58 bytes in all */
  const uint32_t e[4] = {4294967295u, 4096, 4096, 4};
  write_idx(im, 0, 0x804, e, 4, pixels3, sizeof pixels3);
  expect_load_error(im, NULL, im, "the header declares 288230376084602880 data bytes");
}
END_TEST

/* A gzip bomb: 2^31 images claimed, 16 MiB of zeros that compress to a few KiB. The
 * claim exceeds what deflate can expand those bytes to, so nothing is inflated. */
START_TEST(gzip_bomb_is_refused_before_inflating) {
  const char *im = tmp("bomb.gz");
  const uint32_t d[3] = {1u << 31, 1, 1};
  const size_t zeros = (size_t)16 << 20;
  uint8_t *z = calloc(zeros, 1);
  ck_assert_ptr_nonnull(z);
  write_idx(im, 1, 0x803, d, 3, z, zeros);
  free(z);
  struct stat st;
  ck_assert_int_eq(stat(im, &st), 0);
  ck_assert_int_lt(st.st_size, (1u << 31) / 1032); /* the bound applies */
  expect_load_error(im, NULL, im, "even gzipped (deflate expands at most 1032:1)");
  /* the same zeros under an honest header still load */
  const uint32_t ok[3] = {4096, 64, 64};
  uint8_t *z2 = calloc(zeros, 1);
  ck_assert_ptr_nonnull(z2);
  write_idx(im, 1, 0x803, ok, 3, z2, zeros);
  free(z2);
  vaecl_dataset ds;
  ck_assert_msg(vaecl_idx_load(im, NULL, &ds) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(ds.count, 4096);
  vaecl_dataset_free(&ds);
}
END_TEST

START_TEST(missing_file) {
  const char *im = tmp("images"), *lb = tmp("no-such-labels");
  write_images(im, 0);
  expect_load_error(im, lb, lb, "cannot open: No such file or directory");
}
END_TEST

START_TEST(load_dir_concatenates_train_then_test) {
  const uint8_t px[6] = {10, 11, 12, 13, 14, 15}, lb[1] = {7};
  const uint32_t dims[3] = {1, 2, 3}, ldims[1] = {1};
  write_images(tmp("train-images-idx3-ubyte.gz"), 1);
  write_labels(tmp("train-labels-idx1-ubyte.gz"), 1);
  write_idx(tmp("t10k-images-idx3-ubyte"), 0, 0x803, dims, 3, px, 6);
  write_idx(tmp("t10k-labels-idx1-ubyte"), 0, 0x801, ldims, 1, lb, 1);
  vaecl_dataset d;
  ck_assert_msg(vaecl_idx_load_dir(dir, &d) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(d.count, 4);
  ck_assert_mem_eq(d.pixels, pixels3, sizeof pixels3);
  ck_assert_mem_eq(d.pixels + sizeof pixels3, px, sizeof px);
  ck_assert_mem_eq(d.labels, labels3, 3);
  ck_assert_uint_eq(d.labels[3], 7);
  vaecl_dataset_free(&d);
}
END_TEST

START_TEST(load_dir_one_split) {
  write_images(tmp("t10k-images-idx3-ubyte"), 0);
  write_labels(tmp("t10k-labels-idx1-ubyte.gz"), 1);
  vaecl_dataset d;
  ck_assert_msg(vaecl_idx_load_dir(dir, &d) == 0, "%s", vaecl_last_error());
  check_dataset3(&d);
  vaecl_dataset_free(&d);
}
END_TEST

START_TEST(load_dir_half_a_split) {
  /* labels without images: an error */
  write_labels(tmp("train-labels-idx1-ubyte"), 0);
  vaecl_dataset d;
  ck_assert_int_eq(vaecl_idx_load_dir(dir, &d), -1);
  ck_assert_error_has("train-labels-idx1-ubyte but not its images");
  ck_assert_error_has("train-images-idx3-ubyte(.gz)");
}
END_TEST

/* Images without labels: an unlabelled data set; idx4 names for 4-D files. */
START_TEST(load_dir_unlabelled_and_idx4) {
  const uint8_t px[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const uint32_t dims[4] = {1, 2, 2, 3}, dims3[3] = {3, 2, 2};
  write_idx(tmp("train-images-idx4-ubyte.gz"), 1, 0x804, dims, 4, px, sizeof px);
  vaecl_dataset d;
  ck_assert_msg(vaecl_idx_load_dir(dir, &d) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(d.count, 1);
  ck_assert_int_eq(d.channels, 3);
  ck_assert_ptr_null(d.labels);
  ck_assert_int_eq(d.class_count, 0);
  ck_assert_mem_eq(d.pixels, px, sizeof px);
  vaecl_dataset_free(&d);
  /* a grey t10k split does not fit an RGB train split */
  write_idx(tmp("t10k-images-idx3-ubyte"), 0, 0x803, dims3, 3, px, sizeof px);
  ck_assert_int_eq(vaecl_idx_load_dir(dir, &d), -1);
  ck_assert_error_has("train images are 2x2x3 but t10k images are 2x2x1");
}
END_TEST

START_TEST(load_dir_labels_on_one_split_only) {
  write_images(tmp("train-images-idx3-ubyte"), 0);
  write_labels(tmp("train-labels-idx1-ubyte"), 0);
  write_images(tmp("t10k-images-idx3-ubyte.gz"), 1);
  vaecl_dataset d;
  ck_assert_int_eq(vaecl_idx_load_dir(dir, &d), -1);
  ck_assert_ptr_null(d.pixels);
  ck_assert_error_has(dir);
  ck_assert_error_has("the train split has labels but the t10k split does not");
}
END_TEST

START_TEST(load_dir_bad_file_is_named) {
  write_images(tmp("train-images-idx3-ubyte"), 0);
  const char *lb = tmp("train-labels-idx1-ubyte.gz");
  write_idx(lb, 1, 0x801, label_dims3, 1, labels3, 2);
  vaecl_dataset d;
  ck_assert_int_eq(vaecl_idx_load_dir(dir, &d), -1);
  ck_assert_error_has(lb);
  ck_assert_error_has("the header declares 3 data bytes but only 2");
}
END_TEST

START_TEST(load_dir_empty) {
  vaecl_dataset d;
  ck_assert_int_eq(vaecl_idx_load_dir(dir, &d), -1);
  ck_assert_error_has(dir);
  ck_assert_error_has("no IDX files found");
  ck_assert_error_has("train-images-idx3-ubyte[.gz]");
  ck_assert_error_has("apt-get install dataset-fashion-mnist");
  ck_assert_error_has("pass another data directory");
  ck_assert_msg(!strstr(vaecl_last_error(), "--"), "%s", vaecl_last_error()); /* no CLI flags */

  const char *missing = tmp("not-there");
  ck_assert_int_eq(vaecl_idx_load_dir(missing, &d), -1);
  ck_assert_error_has(missing);
  ck_assert_error_has("does not exist");
  ck_assert_error_has("apt-get install dataset-fashion-mnist");
  ck_assert_msg(!strstr(vaecl_last_error(), "--"), "%s", vaecl_last_error());
}
END_TEST

static int have_full_set(void) {
  struct stat st;
  return stat(VAECL_DEFAULT_DATA_DIR, &st) == 0 && S_ISDIR(st.st_mode);
}

START_TEST(real_fashion_mnist) {
  if (!have_full_set()) {
    printf("note: %s not installed; skipping the full-data-set check "
           "(apt-get install dataset-fashion-mnist)\n",
           VAECL_DEFAULT_DATA_DIR);
    return;
  }
  vaecl_dataset d;
  ck_assert_msg(vaecl_idx_load_dir(VAECL_DEFAULT_DATA_DIR, &d) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(d.count, 70000);
  ck_assert_int_eq(d.rows, 28);
  ck_assert_int_eq(d.cols, 28);
  ck_assert_int_eq(d.channels, 1);
  ck_assert_int_eq(d.class_count, 10);
  /* the installed set is known to be Fashion-MNIST: its classes get their names */
  ck_assert_ptr_nonnull(d.class_names);
  ck_assert_str_eq(d.class_names[0], "T-shirt/top");
  ck_assert_str_eq(d.class_names[9], "Ankle boot");
  /* Expected values read from the Debian package's files with python3's gzip module:
   * train label 0 is 9 (Ankle boot), its pixels sum to 76247; t10k label 0 is also 9
   * (index 60000 after concatenation), pixel sum 33456; each class has 7000 images. */
  ck_assert_uint_eq(d.labels[0], 9);
  ck_assert_uint_eq(d.labels[60000], 9);
  unsigned long sum0 = 0, sum60000 = 0;
  for (size_t i = 0; i < 784; i++) {
    sum0 += d.pixels[i];
    sum60000 += d.pixels[60000 * 784 + i];
  }
  ck_assert_uint_eq(sum0, 76247);
  ck_assert_uint_eq(sum60000, 33456);
  size_t per_class[10] = {0};
  for (size_t i = 0; i < d.count; i++) {
    ck_assert_uint_le(d.labels[i], 9);
    per_class[d.labels[i]]++;
  }
  for (int c = 0; c < 10; c++)
    ck_assert_uint_eq(per_class[c], 7000);
  vaecl_dataset_free(&d);
}
END_TEST

START_TEST(fixture_matches_full_set) {
  const char *data = getenv("VAECL_TEST_DATA");
  ck_assert_msg(data && *data, "VAECL_TEST_DATA is not set (ctest sets it to the data/ dir)");
  char im[4096], lb[4096];
  snprintf(im, sizeof im, "%s/fixtures/fashion-mnist-1024-images-idx3-ubyte.gz", data);
  snprintf(lb, sizeof lb, "%s/fixtures/fashion-mnist-1024-labels-idx1-ubyte.gz", data);
  vaecl_dataset fx;
  ck_assert_msg(vaecl_idx_load(im, lb, &fx) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(fx.count, 1024);
  ck_assert_int_eq(fx.rows, 28);
  ck_assert_int_eq(fx.cols, 28);
  ck_assert_uint_eq(fx.labels[0], 9); /* the first training label, as above */
  ck_assert_int_eq(fx.class_count, 10);
  ck_assert_ptr_null(fx.class_names); /* loaded by file name: no names */
  if (have_full_set()) {
    vaecl_dataset full;
    ck_assert_msg(vaecl_idx_load_dir(VAECL_DEFAULT_DATA_DIR, &full) == 0, "%s", vaecl_last_error());
    ck_assert_mem_eq(fx.pixels, full.pixels, 1024 * 784);
    ck_assert_mem_eq(fx.labels, full.labels, 1024);
    vaecl_dataset_free(&full);
  } else {
    printf("note: %s not installed; fixture not compared with the full set\n",
           VAECL_DEFAULT_DATA_DIR);
  }
  vaecl_dataset_free(&fx);
}
END_TEST

static Suite *idx_suite(void) {
  Suite *s = suite_create("idx");
  TCase *files = tcase_create("files");
  tcase_add_checked_fixture(files, setup, teardown);
  tcase_add_test(files, round_trip_plain);
  tcase_add_test(files, round_trip_gzip_and_mixed);
  tcase_add_test(files, wrong_magic);
  tcase_add_test(files, truncated_data);
  tcase_add_test(files, truncated_header);
  tcase_add_test(files, truncated_gzip_stream);
  tcase_add_test(files, trailing_bytes);
  tcase_add_test(files, count_mismatch);
  tcase_add_test(files, labels_are_any_byte);
  tcase_add_test(files, images_without_labels);
  tcase_add_test(files, other_image_sizes);
  tcase_add_test(files, rgb_4d_images);
  tcase_add_test(files, bad_dims);
  tcase_add_test(files, huge_count_is_refused_up_front);
  tcase_add_test(files, gzip_bomb_is_refused_before_inflating);
  tcase_add_test(files, missing_file);
  tcase_add_test(files, load_dir_concatenates_train_then_test);
  tcase_add_test(files, load_dir_one_split);
  tcase_add_test(files, load_dir_half_a_split);
  tcase_add_test(files, load_dir_unlabelled_and_idx4);
  tcase_add_test(files, load_dir_labels_on_one_split_only);
  tcase_add_test(files, load_dir_bad_file_is_named);
  tcase_add_test(files, load_dir_empty);
  suite_add_tcase(s, files);

  TCase *real = tcase_create("real data");
  tcase_set_timeout(real, 120);
  tcase_add_test(real, real_fashion_mnist);
  tcase_add_test(real, fixture_matches_full_set);
  suite_add_tcase(s, real);
  return s;
}

int main(void) {
  return vaecl_test_run(idx_suite());
}
