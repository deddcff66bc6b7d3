/* Titled image tiles (vaecl_plot_image_tiles): every image pixel where the layout puts it, white
 * everywhere else but the title and captions, whose ink is exactly the font's; bad arguments and
 * paths refused without leaving a file. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot/plot_font.h"
#include "testutil.h"
#include <vaecl.h>
#include <vaecl/plot.h>

static char *dir;
static char file[4096];

static void setup(void) {
  dir = test_make_temp_dir("tiles");
  ck_assert_ptr_nonnull(dir);
  snprintf(file, sizeof file, "%s/tiles.png", dir);
}

static void teardown(void) {
  test_remove_tree(dir);
  free(dir);
  dir = NULL;
}

typedef test_image image;

/* round(255 v) clamped, NaN as 0: the latent grid's rule, written out independently. */
static uint8_t expected_grey(float v) {
  if (isnan(v) || v <= 0)
    return 0;
  return v >= 1 ? 255 : (uint8_t)lround((double)v * 255.0);
}

/* Pixels of s drawn by the font at scale 1 (its set bits). */
static long font_bits(const char *s) {
  long bits = 0;
  for (size_t i = 0; s[i]; i++) {
    const uint8_t *g = vaecl_font_glyph((unsigned char)s[i]);
    for (int r = 0; r < VAECL_FONT_H; r++)
      for (int k = 0; k < VAECL_FONT_W; k++)
        bits += g[r] >> k & 1;
  }
  return bits;
}

/* Black pixels in [x0,x1) x [y0,y1); fails on any other non-white pixel. */
static long black_in(const image *im, int x0, int y0, int x1, int y1, int box[4]) {
  long n = 0;
  box[0] = x1, box[1] = y1, box[2] = x0, box[3] = y0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) {
      const uint8_t *p = test_pixel(im, x, y);
      if (p[0] == 255 && p[1] == 255 && p[2] == 255)
        continue;
      ck_assert_msg(p[0] == 0 && p[1] == 0 && p[2] == 0, "text pixel %d,%d is not black", x, y);
      n++;
      box[0] = x < box[0] ? x : box[0];
      box[1] = y < box[1] ? y : box[1];
      box[2] = x + 1 > box[2] ? x + 1 : box[2];
      box[3] = y + 1 > box[3] ? y + 1 : box[3];
    }
  return n;
}

/* Is (x, y) inside image cell i of the layout? */
static int in_cell(const vaecl_plot_tiles_layout *a, int cols, int count, int ih, int iw, int x,
                   int y, int *cell) {
  for (int i = 0; i < count; i++) {
    const int x0 = a->x + (i % cols) * a->pitch_x, y0 = a->y + (i / cols) * a->pitch_y;
    if (x >= x0 && x < x0 + iw * a->scale && y >= y0 && y < y0 + ih * a->scale) {
      *cell = i;
      return 1;
    }
  }
  return 0;
}

static float *random_images(int n, size_t per, uint64_t seed) {
  float *x = malloc((size_t)n * per * sizeof *x);
  ck_assert_ptr_nonnull(x);
  test_rng r = test_rng_new(seed);
  for (size_t i = 0; i < (size_t)n * per; i++)
    x[i] = (float)test_rng_uniform(&r, -0.2, 1.2); /* out-of-range values are clamped */
  x[0] = NAN;
  x[1] = 0.5f; /* 127.5 rounds up */
  return x;
}

/* Five grey images three to a row, cell 4 left empty (NULL): each image pixel is a scale x scale
 * block of its grey, the empty cell and every gap are white, and the only other ink is the
 * title, exactly its font pixels at scale 2. */
START_TEST(tiles_pixels_are_the_images) {
  const int n = 5, cols = 3, ih = 28, iw = 28;
  const char *title = "five images, one left out";
  float *x = random_images(n, (size_t)ih * iw, 11);
  const float *cells[5];
  for (int i = 0; i < n; i++)
    cells[i] = i == 4 ? NULL : x + (size_t)i * ih * iw;
  ck_assert_msg(vaecl_plot_image_tiles(file, title, cells, n, cols, ih, iw, 1, NULL) == 0, "%s",
                vaecl_last_error());
  vaecl_plot_tiles_layout a;
  ck_assert_int_eq(vaecl_plot_image_tiles_layout(n, cols, ih, iw, title, 0, &a), 0);
  ck_assert_int_eq(a.scale, 3); /* 84 pixels a side: the largest scale */
  ck_assert_int_eq(a.rows, 2);
  ck_assert_int_ge(a.pitch_x, iw * a.scale + 1); /* a gap between images */
  ck_assert_int_ge(a.pitch_y, ih * a.scale + 1);
  image im = test_load_png_rgb(file);
  ck_assert_int_eq(im.w, a.width);
  ck_assert_int_eq(im.h, a.height);
  for (int y = a.y; y < im.h; y++)
    for (int xx = 0; xx < im.w; xx++) {
      int c;
      const uint8_t *p = test_pixel(&im, xx, y);
      if (in_cell(&a, cols, n, ih, iw, xx, y, &c) && cells[c]) {
        const int i = (y - (a.y + (c / cols) * a.pitch_y)) / a.scale;
        const int j = (xx - (a.x + (c % cols) * a.pitch_x)) / a.scale;
        const uint8_t g = expected_grey(cells[c][i * iw + j]);
        ck_assert_msg(p[0] == g && p[1] == g && p[2] == g, "cell %d pixel %d,%d: %d, want %d", c, i,
                      j, p[0], g);
      } else {
        ck_assert_msg(p[0] == 255 && p[1] == 255 && p[2] == 255, "%d,%d is not white", xx, y);
      }
    }
  int box[4];
  const long ink = black_in(&im, 0, 0, im.w, a.y, box);
  ck_assert_int_eq(ink, 4 * font_bits(title));
  ck_assert_int_ge(box[0], a.title_x);
  ck_assert_int_ge(box[1], a.title_y);
  ck_assert_int_le(box[2], a.title_x + vaecl_font_text_width(title, 2));
  ck_assert_int_le(box[3], a.title_y + VAECL_FONT_H * 2);
  free(x);
  free(im.px);
}
END_TEST

/* RGB images keep their colours; a title wider than the images widens the figure. */
START_TEST(tiles_rgb_in_colour) {
  const int n = 2, ih = 3, iw = 4;
  const char *title = "a title much wider than two tiny RGB images";
  float *x = random_images(n, (size_t)ih * iw * 3, 5);
  const float *cells[2] = {x, x + ih * iw * 3};
  ck_assert_msg(vaecl_plot_image_tiles(file, title, cells, n, 8, ih, iw, 3, NULL) == 0, "%s",
                vaecl_last_error());
  vaecl_plot_tiles_layout a;
  ck_assert_int_eq(vaecl_plot_image_tiles_layout(n, 8, ih, iw, title, 0, &a), 0);
  image im = test_load_png_rgb(file);
  ck_assert_int_eq(im.w, a.width);
  ck_assert_int_gt(im.w, vaecl_font_text_width(title, 2));
  for (int c = 0; c < n; c++)
    for (int i = 0; i < ih; i++)
      for (int j = 0; j < iw; j++) {
        const float *v = cells[c] + (i * iw + j) * 3;
        const uint8_t *p =
            test_pixel(&im, a.x + c * a.pitch_x + j * a.scale + 1, a.y + i * a.scale + a.scale - 1);
        for (int k = 0; k < 3; k++)
          ck_assert_int_eq(p[k], expected_grey(v[k]));
      }
  free(x);
  free(im.px);
}
END_TEST

/* Captions sit under their images, cut to the image's width; a NULL caption draws nothing. */
START_TEST(tiles_captions_under_images) {
  const int n = 3, ih = 10, iw = 10;
  const char *caps[3] = {"1.5", NULL, "a caption far too long for its image"};
  float *x = random_images(n, (size_t)ih * iw, 2);
  const float *cells[3] = {x, x + 100, x + 200};
  ck_assert_msg(vaecl_plot_image_tiles(file, "captions", cells, n, 3, ih, iw, 1, caps) == 0, "%s",
                vaecl_last_error());
  vaecl_plot_tiles_layout a;
  ck_assert_int_eq(vaecl_plot_image_tiles_layout(n, 3, ih, iw, "captions", 1, &a), 0);
  ck_assert_int_ge(a.caption_dy, ih * a.scale);
  image im = test_load_png_rgb(file);
  ck_assert_int_eq(im.h, a.height);
  const int cw = iw * a.scale, top = a.y + a.caption_dy, bottom = a.y + a.pitch_y;
  int box[4];
  ck_assert_int_eq(black_in(&im, a.x, top, a.x + cw, bottom, box), font_bits("1.5"));
  ck_assert_int_eq(black_in(&im, a.x + a.pitch_x, top, a.x + a.pitch_x + cw, bottom, box), 0);
  /* the long one: ink only within its image's width, and some of it */
  const long ink = black_in(&im, a.x + 2 * a.pitch_x, top, im.w, im.h, box);
  ck_assert_int_gt(ink, 0);
  ck_assert_int_le(box[2], a.x + 2 * a.pitch_x + cw);
  free(x);
  free(im.px);
}
END_TEST

START_TEST(tiles_refuse_bad_arguments) {
  float x[4] = {0};
  const float *cells[1] = {x};
  ck_assert_int_eq(vaecl_plot_image_tiles(file, "t", cells, 0, 1, 2, 2, 1, NULL), -1);
  ck_assert_msg(strstr(vaecl_last_error(), file), "%s", vaecl_last_error());
  ck_assert_int_eq(vaecl_plot_image_tiles(file, "", cells, 1, 1, 2, 2, 1, NULL), -1);
  ck_assert_msg(strstr(vaecl_last_error(), "title"), "%s", vaecl_last_error());
  ck_assert_int_eq(vaecl_plot_image_tiles(file, "t", cells, 1, 1, 2, 2, 5, NULL), -1);
  ck_assert_msg(strstr(vaecl_last_error(), "channels"), "%s", vaecl_last_error());
  ck_assert_int_eq(vaecl_plot_image_tiles(file, "t", cells, 1, 1, 9000, 1, 1, NULL), -1);
  ck_assert_msg(strstr(vaecl_last_error(), "8192"), "%s", vaecl_last_error());
  ck_assert_int_ne(access(file, F_OK), 0);
  ck_assert_int_eq(test_temps_left(file), 0);
  char missing[4200];
  snprintf(missing, sizeof missing, "%s/no/such/dir.png", dir);
  ck_assert_int_eq(vaecl_plot_image_tiles(missing, "t", cells, 1, 1, 2, 2, 1, NULL), -1);
  ck_assert_msg(strstr(vaecl_last_error(), missing), "%s", vaecl_last_error());
}
END_TEST

int main(void) {
  Suite *s = suite_create("tiles");
  TCase *tc = tcase_create("tiles");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, tiles_pixels_are_the_images);
  tcase_add_test(tc, tiles_rgb_in_colour);
  tcase_add_test(tc, tiles_captions_under_images);
  tcase_add_test(tc, tiles_refuse_bad_arguments);
  suite_add_tcase(s, tc);
  return vaecl_test_run(s);
}
