/* IDX loader: round trips, every rejected file, and the real Fashion-MNIST files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <vaecl/idx.h>
#include "testutil.h"
#include <vaecl.h>

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
  uint8_t header[16];
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
  ck_assert_mem_eq(d->labels, labels3, sizeof labels3);
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

START_TEST(label_out_of_range) {
  const char *im = tmp("images"), *lb = tmp("bad-labels");
  const uint8_t bad[3] = {0, 10, 1};
  write_images(im, 0);
  write_idx(lb, 0, 0x801, label_dims3, 1, bad, 3);
  expect_load_error(im, lb, lb, "label 1 is 10, out of range (labels must be 0..9)");
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

/* A header claiming billions of images must fail as truncated, not by exhausting memory. */
START_TEST(huge_count_is_truncation) {
  const char *im = tmp("liar"), *lb = tmp("labels");
  const uint32_t d[3] = {4000000000u, 28, 28};
  write_idx(im, 0, 0x803, d, 3, pixels3, sizeof pixels3);
  write_labels(lb, 0);
  expect_load_error(im, lb, im,
                    "truncated: the header declares 3136000000000 data bytes but only 18");
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
  write_images(tmp("train-images-idx3-ubyte"), 0);
  vaecl_dataset d;
  ck_assert_int_eq(vaecl_idx_load_dir(dir, &d), -1);
  ck_assert_error_has("train-images-idx3-ubyte but not");
  ck_assert_error_has("train-labels-idx1-ubyte(.gz)");
}
END_TEST

START_TEST(load_dir_bad_file_is_named) {
  const uint8_t bad[3] = {0, 1, 200};
  write_images(tmp("train-images-idx3-ubyte"), 0);
  const char *lb = tmp("train-labels-idx1-ubyte.gz");
  write_idx(lb, 1, 0x801, label_dims3, 1, bad, 3);
  vaecl_dataset d;
  ck_assert_int_eq(vaecl_idx_load_dir(dir, &d), -1);
  ck_assert_error_has(lb);
  ck_assert_error_has("label 2 is 200");
}
END_TEST

START_TEST(load_dir_empty) {
  vaecl_dataset d;
  ck_assert_int_eq(vaecl_idx_load_dir(dir, &d), -1);
  ck_assert_error_has(dir);
  ck_assert_error_has("no Fashion-MNIST files found");
  ck_assert_error_has("train-images-idx3-ubyte[.gz]");
  ck_assert_error_has("apt-get install dataset-fashion-mnist");
  ck_assert_error_has("--data DIR");

  const char *missing = tmp("not-there");
  ck_assert_int_eq(vaecl_idx_load_dir(missing, &d), -1);
  ck_assert_error_has(missing);
  ck_assert_error_has("does not exist");
  ck_assert_error_has("apt-get install dataset-fashion-mnist");
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
  tcase_add_test(files, label_out_of_range);
  tcase_add_test(files, bad_dims);
  tcase_add_test(files, huge_count_is_truncation);
  tcase_add_test(files, missing_file);
  tcase_add_test(files, load_dir_concatenates_train_then_test);
  tcase_add_test(files, load_dir_one_split);
  tcase_add_test(files, load_dir_half_a_split);
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
