/* PNG folder data sets and the generic loader: exact pixels, labels, class names and order from
 * PNGs this test writes with libpng; every refused folder or file named in the message. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "testutil.h"
#include <vaecl.h>
#include <vaecl/dataset.h>
#include <vaecl/idx.h>

static char *dir; /* per-test temporary directory */

static void setup(void) {
  dir = test_make_temp_dir("png-data");
  ck_assert_ptr_nonnull(dir);
}

static void teardown(void) {
  test_remove_tree(dir);
  free(dir);
  dir = NULL;
}

#define ck_assert_error_has(text)                                                                  \
  ck_assert_msg(strstr(vaecl_last_error(), (text)) != NULL, "error \"%s\" lacks \"%s\"",           \
                vaecl_last_error(), (text))

/* DIR/rel in a static buffer (one of 8 in rotation). */
static const char *at(const char *rel) {
  static char buf[8][4096];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, 4096, "%s/%s", dir, rel);
  return p;
}

static const char *sub(const char *rel) {
  const char *p = at(rel);
  ck_assert_int_eq(mkdir(p, 0700), 0);
  return p;
}

static void write_bytes(const char *path, const void *bytes, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  if (n)
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

/* Reads a whole file (at most 64 KiB) into buf; returns its length. */
static size_t read_bytes(const char *path, uint8_t *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  const size_t n = fread(buf, 1, cap, f);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_uint_lt(n, cap);
  return n;
}

typedef struct {
  int type;       /* PNG_COLOR_TYPE_* */
  int depth;      /* bits per sample */
  int interlaced; /* Adam7 */
  const png_color *palette;
  int palette_n;
  const png_byte *trans; /* palette alpha, or NULL */
  int trans_n;
} png_kind;

static const png_kind GREY = {PNG_COLOR_TYPE_GRAY, 8, 0, NULL, 0, NULL, 0};
static const png_kind RGB = {PNG_COLOR_TYPE_RGB, 8, 0, NULL, 0, NULL, 0};

/* Writes a w x h PNG whose rows are packed as libpng expects for kind (16-bit big-endian). */
static void write_png(const char *path, int w, int h, png_kind k, const uint8_t *data) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  ck_assert_ptr_nonnull(info);
  if (setjmp(png_jmpbuf(png)))
    ck_abort_msg("libpng failed writing %s", path);
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, k.depth, k.type,
               k.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (k.palette)
    png_set_PLTE(png, info, k.palette, k.palette_n);
  if (k.trans)
    png_set_tRNS(png, info, k.trans, k.trans_n, NULL);
  png_write_info(png, info);
  const int channels = png_get_channels(png, info);
  const size_t stride = ((size_t)w * (size_t)channels * (size_t)k.depth + 7) / 8;
  png_bytep rows[64];
  ck_assert_int_le(h, 64);
  for (int y = 0; y < h; y++)
    rows[y] = (png_bytep)data + (size_t)y * stride;
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  ck_assert_int_eq(fclose(f), 0);
}

/* A w x h x c 8-bit image whose bytes are seed, seed+1, ... (mod 256). */
static void pattern(uint8_t *px, int w, int h, int c, int seed) {
  for (int i = 0; i < w * h * c; i++)
    px[i] = (uint8_t)(seed + 7 * i);
}

static void write_pattern(const char *path, int w, int h, png_kind k, int seed) {
  uint8_t px[64 * 64 * 3];
  pattern(px, w, h, k.type == PNG_COLOR_TYPE_RGB ? 3 : 1, seed);
  write_png(path, w, h, k, px);
}

static void expect_pattern(const uint8_t *px, int w, int h, int c, int seed) {
  uint8_t want[64 * 64 * 3];
  pattern(want, w, h, c, seed);
  ck_assert_mem_eq(px, want, (size_t)(w * h * c));
}

static void expect_empty(const vaecl_dataset *d) {
  ck_assert_ptr_null(d->pixels);
  ck_assert_ptr_null(d->labels);
  ck_assert_ptr_null(d->class_names);
  ck_assert_uint_eq(d->count, 0);
}

/* Expects loading DIR (rel "" for dir itself) to fail with both texts in the message. */
static void expect_error(const char *path, const char *named, const char *problem) {
  vaecl_dataset d;
  ck_assert_int_eq(vaecl_png_folder_load(path, &d), -1);
  expect_empty(&d);
  ck_assert_error_has(named);
  ck_assert_error_has(problem);
  /* the generic loader gives the same message */
  ck_assert_int_eq(vaecl_dataset_load(path, &d), -1);
  expect_empty(&d);
  ck_assert_error_has(named);
  ck_assert_error_has(problem);
}

/* ---- loading ---- */

START_TEST(flat_grey_sorted_no_labels) {
  /* Byte-wise name order: "img10" before "img2", capitals before lower case. */
  write_pattern(at("img2.png"), 5, 3, GREY, 20);
  write_pattern(at("img10.png"), 5, 3, GREY, 10);
  write_pattern(at("b.PNG"), 5, 3, GREY, 30); /* the extension in any case */
  write_pattern(at("Z.png"), 5, 3, GREY, 40);
  /* ignored: hidden files, other extensions, directories' own lookalikes */
  write_bytes(at(".hidden.png"), "junk", 4);
  write_bytes(at("notes.txt"), "junk", 4);
  write_bytes(at("png"), "junk", 4);
  write_bytes(at("x.png.bak"), "junk", 4);
  vaecl_dataset d;
  ck_assert_msg(vaecl_png_folder_load(dir, &d) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(d.count, 4);
  ck_assert_int_eq(d.rows, 3);
  ck_assert_int_eq(d.cols, 5);
  ck_assert_int_eq(d.channels, 1);
  ck_assert_uint_eq(vaecl_dataset_image_size(&d), 15);
  ck_assert_ptr_null(d.labels);
  ck_assert_int_eq(d.class_count, 0);
  ck_assert_ptr_null(d.class_names);
  const int order[4] = {40, 30, 10, 20}; /* Z.png b.PNG img10.png img2.png */
  for (int i = 0; i < 4; i++)
    expect_pattern(d.pixels + 15 * i, 5, 3, 1, order[i]);
  vaecl_dataset_truncate(&d, 2);
  ck_assert_uint_eq(d.count, 2);
  vaecl_dataset_free(&d);
  expect_empty(&d);
}
END_TEST

START_TEST(class_folders_rgb) {
  sub("dog");
  sub("cat");
  sub("ant");
  sub(".git");
  sub("cat/nested"); /* deeper folders are not read */
  write_pattern(at("dog/1.png"), 4, 2, RGB, 1);
  write_pattern(at("cat/2.png"), 4, 2, RGB, 2);
  write_pattern(at("cat/1.png"), 4, 2, RGB, 3);
  write_pattern(at("ant/only.png"), 4, 2, RGB, 4);
  write_pattern(at("cat/nested/9.png"), 7, 7, GREY, 5);
  write_pattern(at(".git/x.png"), 7, 7, GREY, 6);
  write_bytes(at("README"), "not an image", 12); /* non-PNG files beside the folders: fine */
  write_bytes(at("dog/labels.csv"), "x", 1);
  vaecl_dataset d;
  ck_assert_msg(vaecl_png_folder_load(dir, &d) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(d.count, 4);
  ck_assert_int_eq(d.rows, 2);
  ck_assert_int_eq(d.cols, 4);
  ck_assert_int_eq(d.channels, 3);
  ck_assert_int_eq(d.class_count, 3);
  ck_assert_ptr_nonnull(d.class_names);
  ck_assert_str_eq(d.class_names[0], "ant");
  ck_assert_str_eq(d.class_names[1], "cat");
  ck_assert_str_eq(d.class_names[2], "dog");
  /* ant/only, cat/1, cat/2, dog/1: NHWC, so pixel (y, x) channel c at (y*4 + x)*3 + c */
  const int seeds[4] = {4, 3, 2, 1}, labels[4] = {0, 1, 1, 2};
  for (int i = 0; i < 4; i++) {
    expect_pattern(d.pixels + 24 * i, 4, 2, 3, seeds[i]);
    ck_assert_int_eq(d.labels[i], labels[i]);
  }
  ck_assert_int_eq(d.pixels[24 * 1 + (1 * 4 + 2) * 3 + 1], (uint8_t)(3 + 7 * 19));
  /* The generic loader finds the same. */
  vaecl_dataset g;
  ck_assert_msg(vaecl_dataset_load(dir, &g) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(g.count, 4);
  ck_assert_mem_eq(g.pixels, d.pixels, 4 * 24);
  ck_assert_mem_eq(g.labels, d.labels, 4);
  ck_assert_str_eq(g.class_names[2], "dog");
  vaecl_dataset_free(&g);
  vaecl_dataset_free(&d);
  expect_empty(&d);
  ck_assert_int_eq(d.class_count, 0);
}
END_TEST

START_TEST(empty_class_folder_keeps_its_label) {
  sub("a");
  sub("b");
  sub("c");
  write_pattern(at("a/x.png"), 2, 2, GREY, 1);
  write_pattern(at("c/x.png"), 2, 2, GREY, 2);
  vaecl_dataset d;
  ck_assert_msg(vaecl_png_folder_load(dir, &d) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(d.count, 2);
  ck_assert_int_eq(d.class_count, 3);
  ck_assert_int_eq(d.labels[0], 0);
  ck_assert_int_eq(d.labels[1], 2);
  ck_assert_str_eq(d.class_names[1], "b");
  vaecl_dataset_free(&d);
}
END_TEST

/* Loads the one image in folder rel and compares it with want (h x w x c). */
static void expect_single(const char *rel, int h, int w, int c, const uint8_t *want) {
  vaecl_dataset d;
  ck_assert_msg(vaecl_png_folder_load(at(rel), &d) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(d.count, 1);
  ck_assert_int_eq(d.rows, h);
  ck_assert_int_eq(d.cols, w);
  ck_assert_int_eq(d.channels, c);
  ck_assert_mem_eq(d.pixels, want, (size_t)(h * w * c));
  vaecl_dataset_free(&d);
}

START_TEST(other_png_kinds_are_converted) {
  /* grey + alpha -> grey, alpha dropped */
  const uint8_t ga[2 * 2 * 2] = {10, 255, 20, 0, 30, 128, 40, 1}, ga_want[4] = {10, 20, 30, 40};
  sub("ga");
  write_png(at("ga/i.png"), 2, 2, (png_kind){PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, NULL, 0, NULL, 0},
            ga);
  expect_single("ga", 2, 2, 1, ga_want);
  /* RGBA -> RGB, colours kept as stored (not composited) even where fully transparent */
  const uint8_t rgba[2 * 4] = {1, 2, 3, 0, 250, 251, 252, 255},
                         rgba_want[6] = {1, 2, 3, 250, 251, 252};
  sub("rgba");
  write_png(at("rgba/i.png"), 2, 1, (png_kind){PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, NULL, 0, NULL, 0},
            rgba);
  expect_single("rgba", 1, 2, 3, rgba_want);
  /* palette with transparency -> RGB */
  const png_color pal[3] = {{255, 0, 0}, {0, 128, 0}, {7, 8, 9}};
  const png_byte trans[2] = {0, 128};
  const uint8_t idx[3] = {2, 0, 1}, pal_want[9] = {7, 8, 9, 255, 0, 0, 0, 128, 0};
  sub("pal");
  write_png(at("pal/i.png"), 3, 1, (png_kind){PNG_COLOR_TYPE_PALETTE, 8, 0, pal, 3, trans, 2}, idx);
  expect_single("pal", 1, 3, 3, pal_want);
  /* 16-bit grey -> 8-bit: v * 257 maps back to v exactly */
  const uint8_t g16[4 * 2] = {0, 0, 0x80, 0x80, 0xff, 0xff, 0x12, 0x12},
                        g16_want[4] = {0, 0x80, 0xff, 0x12};
  sub("g16");
  write_png(at("g16/i.png"), 2, 2, (png_kind){PNG_COLOR_TYPE_GRAY, 16, 0, NULL, 0, NULL, 0}, g16);
  expect_single("g16", 2, 2, 1, g16_want);
  /* 1-bit grey -> 0 / 255 */
  const uint8_t bits[1] = {0xa0}, bits_want[3] = {255, 0, 255};
  sub("bits");
  write_png(at("bits/i.png"), 3, 1, (png_kind){PNG_COLOR_TYPE_GRAY, 1, 0, NULL, 0, NULL, 0}, bits);
  expect_single("bits", 1, 3, 1, bits_want);
  /* interlaced RGB: the same pixels as written */
  uint8_t il[9 * 9 * 3];
  pattern(il, 9, 9, 3, 77);
  sub("il");
  write_png(at("il/i.png"), 9, 9, (png_kind){PNG_COLOR_TYPE_RGB, 8, 1, NULL, 0, NULL, 0}, il);
  expect_single("il", 9, 9, 3, il);
}
END_TEST

/* ---- errors ---- */

START_TEST(size_mismatch_names_both_files) {
  sub("a");
  sub("b");
  write_pattern(at("a/y.png"), 28, 28, GREY, 1);
  write_pattern(at("a/z.png"), 28, 28, GREY, 1);
  write_pattern(at("b/x.png"), 32, 30, GREY, 1);
  char want[8400];
  snprintf(want, sizeof want, "%s: 30x32 grey, but the first image %s is 28x28 grey", at("b/x.png"),
           at("a/y.png"));
  expect_error(dir, want, "same size");
}
END_TEST

START_TEST(channel_mismatch_names_the_file) {
  write_pattern(at("a.png"), 4, 4, GREY, 1);
  write_pattern(at("b.png"), 4, 4, RGB, 1);
  char want[8400];
  snprintf(want, sizeof want, "%s: 4x4 RGB, but the first image %s is 4x4 grey", at("b.png"),
           at("a.png"));
  expect_error(dir, want, "colour type");
}
END_TEST

START_TEST(corrupt_pngs_are_named) {
  uint8_t buf[65536];
  write_pattern(at("good.png"), 16, 16, RGB, 3);
  const size_t n = read_bytes(at("good.png"), buf, sizeof buf);
  /* cut inside the image data */
  sub("cut");
  write_pattern(at("cut/a.png"), 16, 16, RGB, 3);
  write_bytes(at("cut/b.png"), buf, n / 2);
  expect_error(at("cut"), at("cut/b.png"), "corrupt or truncated PNG");
  /* cut after the image data, inside IEND */
  sub("tail");
  write_bytes(at("tail/a.png"), buf, n - 6);
  expect_error(at("tail"), at("tail/a.png"), "corrupt or truncated PNG");
  /* a flipped bit in the compressed data: the CRC check fails */
  sub("crc");
  buf[n / 2] ^= 0x10;
  write_bytes(at("crc/a.png"), buf, n);
  expect_error(at("crc"), at("crc/a.png"), "corrupt or truncated PNG");
  buf[n / 2] ^= 0x10;
  /* the signature, then garbage */
  sub("sig");
  memset(buf + 8, 0x5a, 100);
  write_bytes(at("sig/a.png"), buf, 108);
  expect_error(at("sig"), at("sig/a.png"), "corrupt or truncated PNG");
  /* garbage from the start, and a file too short for the signature */
  sub("junk");
  write_bytes(at("junk/a.png"), "GIF89a this is not a png", 24);
  expect_error(at("junk"), at("junk/a.png"), "not a PNG file");
  sub("short");
  write_bytes(at("short/a.png"), "\x89PN", 3);
  expect_error(at("short"), at("short/a.png"), "shorter than the 8-byte PNG signature");
  sub("empty");
  write_bytes(at("empty/a.png"), "", 0);
  expect_error(at("empty"), at("empty/a.png"), "not a PNG file");
}
END_TEST

START_TEST(too_large_image_is_refused) {
  uint8_t *row = calloc(4097, 1);
  ck_assert_ptr_nonnull(row);
  write_png(at("wide.png"), 4097, 1, GREY, row);
  free(row);
  expect_error(dir, at("wide.png"), "image size 1x4097 is out of range (1..4096 per side)");
}
END_TEST

START_TEST(empty_and_missing_folders) {
  vaecl_dataset d;
  char want[4200];
  snprintf(want, sizeof want, "no PNG files were found in %s", dir);
  ck_assert_int_eq(vaecl_png_folder_load(dir, &d), -1);
  expect_empty(&d);
  ck_assert_error_has(want);
  /* only ignored files, and class folders without PNGs: still nothing */
  write_bytes(at("notes.txt"), "x", 1);
  sub("cls");
  write_bytes(at("cls/.x.png"), "x", 1);
  ck_assert_int_eq(vaecl_png_folder_load(dir, &d), -1);
  ck_assert_error_has(want);
  /* the generic loader says what it looked for */
  ck_assert_int_eq(vaecl_dataset_load(dir, &d), -1);
  expect_empty(&d);
  ck_assert_error_has(dir);
  ck_assert_error_has("no data set found");
  ck_assert_error_has("train-images-idx3-ubyte");
  ck_assert_error_has("PNG images");
  ck_assert_msg(strstr(vaecl_last_error(), "--") == NULL, "%s", vaecl_last_error());
  /* a missing folder */
  const char *missing = at("not-there");
  ck_assert_int_eq(vaecl_png_folder_load(missing, &d), -1);
  expect_empty(&d);
  ck_assert_error_has(missing);
  ck_assert_error_has("cannot open the directory: No such file or directory");
  ck_assert_int_eq(vaecl_dataset_load(missing, &d), -1);
  ck_assert_error_has(missing);
  ck_assert_error_has("does not exist");
  /* a file is not a data set */
  ck_assert_int_eq(vaecl_dataset_load(at("notes.txt"), &d), -1);
  ck_assert_error_has(at("notes.txt"));
  ck_assert_error_has("is not a directory");
}
END_TEST

START_TEST(mixed_layout_is_refused) {
  sub("cats");
  write_pattern(at("cats/a.png"), 2, 2, GREY, 1);
  write_pattern(at("loose.png"), 2, 2, GREY, 1);
  expect_error(dir, dir, "holds both PNG files (loose.png) and subfolders (cats)");
}
END_TEST

/* ---- the generic loader with IDX files ---- */

static void write_idx(const char *path, uint32_t magic, const uint32_t *dims, int ndims,
                      const uint8_t *payload, size_t n) {
  gzFile g = gzopen(path, "wb");
  ck_assert_ptr_nonnull(g);
  uint8_t h[20];
  const uint32_t words[5] = {magic, dims[0], ndims > 1 ? dims[1] : 0, ndims > 2 ? dims[2] : 0,
                             ndims > 3 ? dims[3] : 0};
  for (int i = 0; i <= ndims; i++)
    for (int b = 0; b < 4; b++)
      h[4 * i + b] = (uint8_t)(words[i] >> (24 - 8 * b));
  ck_assert_int_eq(gzwrite(g, h, (unsigned)(4 + 4 * ndims)), 4 + 4 * ndims);
  ck_assert_int_eq(gzwrite(g, payload, (unsigned)n), (int)n);
  ck_assert_int_eq(gzclose(g), Z_OK);
}

START_TEST(generic_loader_prefers_idx) {
  const uint8_t px[2 * 2 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, lb[2] = {3, 1};
  const uint32_t dims[3] = {2, 2, 3}, ldims[1] = {2};
  write_idx(at("t10k-images-idx3-ubyte.gz"), 0x803, dims, 3, px, sizeof px);
  write_idx(at("t10k-labels-idx1-ubyte.gz"), 0x801, ldims, 1, lb, 2);
  write_pattern(at("stray.png"), 9, 9, GREY, 1); /* IDX files win over PNGs */
  vaecl_dataset d;
  ck_assert_msg(vaecl_dataset_load(dir, &d) == 0, "%s", vaecl_last_error());
  ck_assert_uint_eq(d.count, 2);
  ck_assert_int_eq(d.rows, 2);
  ck_assert_int_eq(d.cols, 3);
  ck_assert_int_eq(d.channels, 1);
  ck_assert_mem_eq(d.pixels, px, sizeof px);
  ck_assert_mem_eq(d.labels, lb, 2);
  ck_assert_int_eq(d.class_count, 4);
  ck_assert_ptr_null(d.class_names);
  vaecl_dataset_free(&d);
  /* a broken IDX set is an error, not a reason to fall back to the PNGs */
  write_idx(at("train-labels-idx1-ubyte.gz"), 0x801, ldims, 1, lb, 2);
  ck_assert_int_eq(vaecl_dataset_load(dir, &d), -1);
  expect_empty(&d);
  ck_assert_error_has("train-labels-idx1-ubyte.gz but not its images");
}
END_TEST

START_TEST(check_fits_and_class_names) {
  vaecl_dataset d = {0};
  d.rows = 32, d.cols = 32, d.channels = 3;
  ck_assert_int_eq(vaecl_dataset_check_fits(&d, 32, 32, 3), 0);
  ck_assert_int_eq(vaecl_dataset_check_fits(&d, 28, 28, 1), -1);
  ck_assert_str_eq(vaecl_last_error(), "images are 32x32x3 but the model expects 28x28x1");
  ck_assert_int_eq(vaecl_dataset_check_fits(&d, 32, 32, 1), -1);
  ck_assert_error_has("expects 32x32x1");

  d.class_count = 2;
  const char *const names[2] = {"zero", "one"};
  ck_assert_int_eq(vaecl_dataset_set_class_names(&d, names, 3), -1);
  ck_assert_error_has("3 class names given for a data set of 2 classes");
  ck_assert_int_eq(vaecl_dataset_set_class_names(&d, names, 2), 0);
  ck_assert_ptr_ne(d.class_names[0], names[0]); /* copies */
  ck_assert_str_eq(d.class_names[1], "one");
  const char *const holey[2] = {"a", NULL};
  ck_assert_int_eq(vaecl_dataset_set_class_names(&d, holey, 2), -1);
  ck_assert_error_has("class name 1 is NULL");
  ck_assert_str_eq(d.class_names[0], "zero"); /* unchanged on failure */
  ck_assert_int_eq(vaecl_dataset_set_class_names(&d, NULL, 0), 0);
  ck_assert_ptr_null(d.class_names);
  ck_assert_int_eq(vaecl_dataset_set_class_names(&d, names, 2), 0);
  vaecl_dataset_free(&d); /* frees the names too (valgrind) */
  expect_empty(&d);
  ck_assert_int_eq(d.class_count, 0);
}
END_TEST

static Suite *png_data_suite(void) {
  Suite *s = suite_create("png data");
  TCase *tc = tcase_create("folders");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, flat_grey_sorted_no_labels);
  tcase_add_test(tc, class_folders_rgb);
  tcase_add_test(tc, empty_class_folder_keeps_its_label);
  tcase_add_test(tc, other_png_kinds_are_converted);
  tcase_add_test(tc, size_mismatch_names_both_files);
  tcase_add_test(tc, channel_mismatch_names_the_file);
  tcase_add_test(tc, corrupt_pngs_are_named);
  tcase_add_test(tc, too_large_image_is_refused);
  tcase_add_test(tc, empty_and_missing_folders);
  tcase_add_test(tc, mixed_layout_is_refused);
  tcase_add_test(tc, generic_loader_prefers_idx);
  tcase_add_test(tc, check_fits_and_class_names);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return vaecl_test_run(png_data_suite());
}
