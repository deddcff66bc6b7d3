/* Plots: exact pixels in the latent grid, every class colour in the scatter, labels drawn where
 * expected and apart from each other, and bad arguments or paths refused with the path named. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot/plot_font.h"
#include "testutil.h"
#include <vaecl.h>
#include <vaecl/plot.h>

static char *dir;
static char file[4096];

static const char *const names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

#define ck_assert_error_has(text)                                                                  \
  ck_assert_msg(strstr(vaecl_last_error(), (text)) != NULL, "error \"%s\" lacks \"%s\"",           \
                vaecl_last_error(), (text))

static void setup(void) {
  dir = test_make_temp_dir("plot");
  ck_assert_ptr_nonnull(dir);
  snprintf(file, sizeof file, "%s/fig.png", dir);
}

static void teardown(void) {
  test_remove_tree(dir);
  free(dir);
  dir = NULL;
}

/* ---- reading the PNG back ---- */

typedef test_image image;

static int is_ink(const image *im, int x, int y) {
  const uint8_t *p = test_pixel(im, x, y);
  return p[0] < 255 || p[1] < 255 || p[2] < 255;
}

static int is_rgb(const image *im, int x, int y, const unsigned char c[3]) {
  const uint8_t *p = test_pixel(im, x, y);
  return p[0] == c[0] && p[1] == c[1] && p[2] == c[2];
}

/* Runs of rows (by_columns 0) or columns holding ink inside [x0,x1) x [y0,y1). */
static int bands(const image *im, int x0, int y0, int x1, int y1, int by_columns, int out[][2],
                 int max) {
  int n = 0, open = 0;
  const int lo = by_columns ? x0 : y0, hi = by_columns ? x1 : y1;
  for (int i = lo; i <= hi; i++) {
    int ink = 0;
    for (int j = by_columns ? y0 : x0; i < hi && j < (by_columns ? y1 : x1) && !ink; j++)
      ink = by_columns ? is_ink(im, i, j) : is_ink(im, j, i);
    if (ink && !open) {
      ck_assert_int_lt(n, max);
      out[n][0] = i;
      open = 1;
    } else if (!ink && open) {
      out[n++][1] = i;
      open = 0;
    }
  }
  return n;
}

/* Ink bounding box {x0, y0, x1, y1} (exclusive ends) and the number of black pixels; fails on
 * ink that is not black, since text is drawn black. */
static long ink_box(const image *im, int x0, int y0, int x1, int y1, int box[4]) {
  long count = 0;
  box[0] = x1, box[1] = y1, box[2] = x0, box[3] = y0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      if (is_ink(im, x, y)) {
        static const unsigned char blk[3] = {0, 0, 0};
        ck_assert_msg(is_rgb(im, x, y, blk), "grey text pixel at %d,%d", x, y);
        count++;
        box[0] = x < box[0] ? x : box[0];
        box[1] = y < box[1] ? y : box[1];
        box[2] = x + 1 > box[2] ? x + 1 : box[2];
        box[3] = y + 1 > box[3] ? y + 1 : box[3];
      }
  return count;
}

/* Checks that the ink in a region is exactly string s at some integer scale: its bounding box
 * and pixel count match the font's, upright or turned (up). Returns the box. */
static void expect_text(const image *im, int x0, int y0, int x1, int y1, const char *s, int up,
                        int box[4]) {
  int cmin = 1 << 20, cmax = -1, rmin = 1 << 20, rmax = -1;
  long bits = 0;
  for (size_t i = 0; s[i]; i++) {
    const uint8_t *g = vaecl_font_glyph((unsigned char)s[i]);
    for (int r = 0; r < VAECL_FONT_H; r++)
      for (int k = 0; k < VAECL_FONT_W; k++)
        if (g[r] >> (VAECL_FONT_W - 1 - k) & 1) {
          const int c = (int)i * VAECL_FONT_ADVANCE + k;
          bits++;
          cmin = c < cmin ? c : cmin, cmax = c > cmax ? c : cmax;
          rmin = r < rmin ? r : rmin, rmax = r > rmax ? r : rmax;
        }
  }
  const long count = ink_box(im, x0, y0, x1, y1, box);
  const int along = up ? box[3] - box[1] : box[2] - box[0];
  const int across = up ? box[2] - box[0] : box[3] - box[1];
  const int cols = cmax - cmin + 1, rows = rmax - rmin + 1, k = along / cols;
  ck_assert_msg(k >= 1 && along == k * cols && across == k * rows && count == bits * k * k,
                "\"%s\": ink %dx%d, %ld pixels; font %dx%d, %ld bits", s, along, across, count,
                cols, rows, bits);
}

/* Nothing may be clipped at the image edges. */
static void expect_white_border(const image *im, int width) {
  for (int y = 0; y < im->h; y++)
    for (int x = 0; x < im->w; x++)
      if (x < width || y < width || x >= im->w - width || y >= im->h - width)
        ck_assert_msg(!is_ink(im, x, y), "ink at the border, %d,%d", x, y);
}

/* The axis labels: below the x tick labels, and left of the y tick labels, each clear of them
 * (a label touching a tick label would not be a band of its own with exactly its own ink). */
static void expect_axis_names(const image *im, const vaecl_plot_layout *a, const char *x,
                              const char *y) {
  int b[4][2], box[4];
  /* Below the frame: rows of tick marks, tick labels, the x axis name. */
  ck_assert_int_eq(bands(im, 0, a->y + a->h + 1, im->w, im->h, 0, b, 4), 3);
  expect_text(im, 0, b[2][0], im->w, b[2][1], x, 0, box);
  ck_assert_int_le(abs((box[0] + box[2]) / 2 - (a->x + a->w / 2)), 10);
  /* Left of the frame, above the x labels: the y name first, then the tick labels. */
  int c[64][2];
  ck_assert_int_ge(bands(im, 0, 0, a->x - 1, a->y + a->h + 1, 1, c, 64), 3);
  expect_text(im, c[0][0], 0, c[0][1], a->y + a->h + 1, y, 1, box);
  ck_assert_int_le(abs((box[1] + box[3]) / 2 - (a->y + a->h / 2)), 10);
}

static void expect_axis_labels(const image *im, const vaecl_plot_layout *a) {
  expect_axis_names(im, a, "z[0]", "z[1]");
}

/* ---- latent grid ---- */

static float *grid_images(int n, int hgt, int wid) {
  float *x = malloc(sizeof *x * (size_t)(n * n * hgt * wid));
  ck_assert_ptr_nonnull(x);
  test_rng r = test_rng_new(7);
  for (int i = 0; i < n * n * hgt * wid; i++)
    x[i] = (float)test_rng_uniform(&r, -0.2, 1.2); /* out-of-range values get clamped */
  x[0] = NAN;
  x[1] = 0.5f;        /* 127.5: rounds up */
  x[2] = 1.0f / 255;  /* exactly 1 */
  x[3] = 0.5f / 255;  /* 0.5: rounds up */
  x[4] = 0.49f / 255; /* rounds down */
  return x;
}

static uint8_t expected_grey(float v) {
  if (isnan(v) || v <= 0)
    return 0;
  return v >= 1 ? 255 : (uint8_t)lround((double)v * 255.0);
}

START_TEST(grid_pixels_are_the_images) {
  const int n = 10, hgt = 28, wid = 28;
  float *x = grid_images(n, hgt, wid);
  ck_assert_msg(vaecl_plot_latent_grid(file, x, n, hgt, wid, 1, -0.5, 0.5) == 0, "%s",
                vaecl_last_error());
  vaecl_plot_layout a;
  ck_assert_int_eq(vaecl_plot_latent_grid_layout(n, hgt, wid, -0.5, 0.5, &a), 0);
  ck_assert_int_eq(a.scale, 3);
  ck_assert_int_eq(a.w, 840);
  ck_assert_int_eq(a.h, 840);
  image im = test_load_png_rgb(file);
  ck_assert_int_eq(im.w, a.width);
  ck_assert_int_eq(im.h, a.height);
  ck_assert_int_eq(expected_grey(x[1]), 128);
  ck_assert_int_eq(expected_grey(x[3]), 1);
  ck_assert_int_eq(expected_grey(x[4]), 0);
  for (int r = 0; r < n; r++)
    for (int c = 0; c < n; c++)
      for (int i = 0; i < hgt; i++)
        for (int j = 0; j < wid; j++) {
          const uint8_t g = expected_grey(x[((r * n + c) * hgt + i) * wid + j]);
          const unsigned char want[3] = {g, g, g};
          for (int sy = 0; sy < a.scale; sy++)
            for (int sx = 0; sx < a.scale; sx++) {
              const int px = a.x + (c * wid + j) * a.scale + sx;
              const int py = a.y + (r * hgt + i) * a.scale + sy;
              ck_assert_msg(is_rgb(&im, px, py, want), "cell %d,%d pixel %d,%d: %d, want %d", r, c,
                            i, j, test_pixel(&im, px, py)[0], g);
            }
        }
  free(x);
  free(im.px);
}
END_TEST

START_TEST(grid_has_frame_ticks_and_labels) {
  const int n = 10, hgt = 28, wid = 28;
  float *x = grid_images(n, hgt, wid);
  ck_assert_msg(vaecl_plot_latent_grid(file, x, n, hgt, wid, 1, -0.5, 0.5) == 0, "%s",
                vaecl_last_error());
  vaecl_plot_layout a;
  ck_assert_int_eq(vaecl_plot_latent_grid_layout(n, hgt, wid, -0.5, 0.5, &a), 0);
  image im = test_load_png_rgb(file);
  static const unsigned char blk[3] = {0, 0, 0};
  ck_assert(is_rgb(&im, a.x - 1, a.y + 5, blk) && is_rgb(&im, a.x + 5, a.y + a.h, blk));
  ck_assert(!is_ink(&im, a.x - 2, a.y + 5)); /* a 1-pixel frame, no tick there */
  const int cell = a.w / n;
  int b[4][2], box[4];
  ck_assert_int_eq(bands(&im, 0, a.y + a.h + 1, im.w, im.h, 0, b, 4), 3);
  /* Every cell has an outward tick and, at n = 10, its label: np.round(linspace, 1). */
  static const char *const xs[10] = {"-0.5", "-0.4", "-0.3", "-0.2", "-0.1",
                                     "0.1",  "0.2",  "0.3",  "0.4",  "0.5"};
  for (int i = 0; i < n; i++) {
    const int cx = a.x + i * cell + cell / 2, cy = a.y + i * cell + cell / 2;
    ck_assert(is_rgb(&im, cx, a.y + a.h + 2, blk) && is_rgb(&im, a.x - 3, cy, blk));
    expect_text(&im, cx - cell / 2, b[1][0], cx + cell / 2, b[1][1], xs[i], 0, box);
    ck_assert_int_le(abs((box[0] + box[2]) / 2 - cx), 3);
  }
  /* Row 0 is the top, so the y labels run from 0.5 down to -0.5; the ticks are 3+ pixels. */
  int c[64][2];
  const int nc = bands(&im, 0, 0, a.x - 1, a.y + a.h + 1, 1, c, 64);
  ck_assert_int_ge(nc, 3);
  ck_assert_int_ge(c[nc - 1][1] - c[nc - 1][0], 3);
  expect_text(&im, c[1][0], a.y, c[nc - 1][0], a.y + cell, "0.5", 0, box);
  expect_text(&im, c[1][0], a.y + a.h - cell, c[nc - 1][0], a.y + a.h, "-0.5", 0, box);
  expect_axis_labels(&im, &a);
  expect_white_border(&im, 4);
  free(x);
  free(im.px);
}
END_TEST

START_TEST(grid_small_and_odd_sizes) {
  /* One image, non-square, other range: still framed, labelled and exact. */
  float x[3 * 5];
  for (int i = 0; i < 15; i++)
    x[i] = (float)i / 14;
  ck_assert_msg(vaecl_plot_latent_grid(file, x, 1, 3, 5, 1, -2, 3) == 0, "%s", vaecl_last_error());
  vaecl_plot_layout a;
  ck_assert_int_eq(vaecl_plot_latent_grid_layout(1, 3, 5, -2, 3, &a), 0);
  image im = test_load_png_rgb(file);
  ck_assert_int_eq(im.w, a.width);
  ck_assert_int_eq(im.h, a.height);
  ck_assert_int_eq(test_pixel(&im, a.x + a.w - 1, a.y + a.h - 1)[0], 255);
  ck_assert_int_eq(test_pixel(&im, a.x, a.y)[0], 0);
  expect_white_border(&im, 4);
  free(im.px);
  /* Two columns of wide, short images: labels still clear of each other. */
  float y[2 * 2 * 9 * 20] = {0};
  ck_assert_msg(vaecl_plot_latent_grid(file, y, 2, 9, 20, 1, -2, 3) == 0, "%s", vaecl_last_error());
  ck_assert_int_eq(vaecl_plot_latent_grid_layout(2, 9, 20, -2, 3, &a), 0);
  im = test_load_png_rgb(file);
  ck_assert_int_eq(im.w, a.width);
  ck_assert_int_eq(im.h, a.height);
  ck_assert_int_eq(a.w, 2 * 20 * 3);
  ck_assert_int_eq(a.h, 2 * 9 * 3);
  expect_axis_labels(&im, &a);
  expect_white_border(&im, 4);
  free(im.px);
  /* A big grid falls back to a smaller scale. */
  ck_assert_int_eq(vaecl_plot_latent_grid_layout(20, 28, 28, -1, 1, &a), 0);
  ck_assert_int_eq(a.scale, 1);
  ck_assert_int_eq(vaecl_plot_latent_grid_layout(15, 28, 28, -1, 1, &a), 0);
  ck_assert_int_eq(a.scale, 2);
}
END_TEST

START_TEST(grid_refuses_bad_arguments) {
  float x[4] = {0};
  const struct {
    int n, h, w;
    double lo, hi;
    const char *why;
  } bad[] = {{0, 2, 2, -1, 1, "sizes must be >= 1"},
             {1, 0, 2, -1, 1, "sizes must be >= 1"},
             {1, 2, -1, -1, 1, "sizes must be >= 1"},
             {1, 2, 2, 1, 1, "zmin < zmax"},
             {1, 2, 2, NAN, 1, "finite"},
             {1, 2, 2, -1, INFINITY, "finite"},
             {1, 9000, 1, -1, 1, "larger than 8192"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(
        vaecl_plot_latent_grid(file, x, bad[i].n, bad[i].h, bad[i].w, 1, bad[i].lo, bad[i].hi), -1);
    ck_assert_error_has(file);
    ck_assert_error_has(bad[i].why);
  }
  ck_assert_int_eq(vaecl_plot_latent_grid(file, NULL, 1, 2, 2, 1, -1, 1), -1);
  ck_assert_error_has(file);
  ck_assert_int_eq(vaecl_plot_latent_grid(NULL, x, 1, 2, 2, 1, -1, 1), -1);
  ck_assert_error_has("no output path");
  ck_assert_int_ne(access(file, F_OK), 0);
  ck_assert_int_eq(test_temps_left(file), 0);
}
END_TEST

/* ---- label clusters ---- */

/* Twenty points per class in a tight blob at (k, k % 3): blobs far apart, none hidden. */
static void cluster_points(float *m, unsigned char *lab) {
  test_rng r = test_rng_new(3);
  for (int i = 0; i < 200; i++) {
    lab[i] = (unsigned char)(i % 10);
    m[2 * i] = (float)(lab[i] + test_rng_uniform(&r, -0.05, 0.05));
    m[2 * i + 1] = (float)(lab[i] % 3 + test_rng_uniform(&r, -0.05, 0.05));
  }
}

/* Pixels of colour k inside [x0,x1) x [y0,y1); their bounding box in box. */
static long colour_box(const image *im, int k, int x0, int y0, int x1, int y1, int box[4]) {
  long n = 0;
  box[0] = x1, box[1] = y1, box[2] = x0, box[3] = y0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      if (is_rgb(im, x, y, vaecl_plot_palette[k])) {
        n++;
        box[0] = x < box[0] ? x : box[0];
        box[1] = y < box[1] ? y : box[1];
        box[2] = x + 1 > box[2] ? x + 1 : box[2];
        box[3] = y + 1 > box[3] ? y + 1 : box[3];
      }
  return n;
}

START_TEST(clusters_show_every_class) {
  float m[400];
  unsigned char lab[200];
  cluster_points(m, lab);
  ck_assert_msg(vaecl_plot_label_clusters(file, m, lab, 200, 10, names) == 0, "%s",
                vaecl_last_error());
  vaecl_plot_layout a;
  vaecl_plot_label_clusters_layout(&a);
  image im = test_load_png_rgb(file);
  ck_assert_int_eq(im.w, a.width);
  ck_assert_int_eq(im.h, a.height);
  double lo[2] = {1e9, 1e9}, hi[2] = {-1e9, -1e9};
  for (int i = 0; i < 400; i++) {
    lo[i % 2] = fmin(lo[i % 2], m[i]);
    hi[i % 2] = fmax(hi[i % 2], m[i]);
  }
  for (int k = 0; k < 10; k++) {
    int box[4];
    ck_assert_msg(colour_box(&im, k, a.x, a.y, a.x + a.w, a.y + a.h, box) > 0, "class %d", k);
    /* Blob k is centred near (k, k % 3); the axes add matplotlib's 5% margins. */
    const double want_x = (k - lo[0]) / (hi[0] - lo[0]), want_y = (k % 3 - lo[1]) / (hi[1] - lo[1]);
    const double fx = ((box[0] + box[2]) / 2.0 - a.x) / a.w;
    const double fy = 1 - ((box[1] + box[3]) / 2.0 - a.y) / a.h; /* up is positive */
    ck_assert_msg(fabs(fx - (0.05 + want_x) / 1.1) < 0.01, "class %d at x %.3f", k, fx);
    ck_assert_msg(fabs(fy - (0.05 + want_y) / 1.1) < 0.01, "class %d at y %.3f", k, fy);
  }
  free(im.px);
}
END_TEST

START_TEST(clusters_colour_bar_names_and_axes) {
  float m[400];
  unsigned char lab[200];
  cluster_points(m, lab);
  ck_assert_msg(vaecl_plot_label_clusters(file, m, lab, 200, 10, names) == 0, "%s",
                vaecl_last_error());
  vaecl_plot_layout a;
  vaecl_plot_label_clusters_layout(&a);
  image im = test_load_png_rgb(file);
  int prev_mid = im.h;
  for (int k = 0; k < 10; k++) {
    int bar[4], b[32][2], box[4];
    /* The bar: one block per class, stacked from class 0 at the bottom. */
    ck_assert_int_gt(colour_box(&im, k, a.x + a.w + 1, 0, im.w, im.h, bar), 100);
    const int mid = (bar[1] + bar[3]) / 2;
    ck_assert_int_lt(mid, prev_mid);
    prev_mid = mid;
    /* Right of the bar: its tick, then the class name, apart. */
    ck_assert_int_ge(bands(&im, bar[2] + 1, mid - 14, im.w, mid + 15, 1, b, 32), 2);
    expect_text(&im, b[1][0], mid - 14, im.w, mid + 15, names[k], 0, box);
  }
  expect_axis_labels(&im, &a);
  expect_white_border(&im, 4);
  free(im.px);
}
END_TEST

START_TEST(clusters_ticks_are_nice_numbers) {
  /* x data in [0, 9] -> limits [-0.45, 9.45], step 2: ticks 0 2 4 6 8. */
  float m[400];
  unsigned char lab[200];
  cluster_points(m, lab);
  for (int i = 0; i < 200; i++)
    m[2 * i] = lab[i]; /* pin the x range to [0, 9] */
  ck_assert_msg(vaecl_plot_label_clusters(file, m, lab, 200, 10, names) == 0, "%s",
                vaecl_last_error());
  vaecl_plot_layout a;
  vaecl_plot_label_clusters_layout(&a);
  image im = test_load_png_rgb(file);
  int b[4][2], box[4];
  ck_assert_int_eq(bands(&im, 0, a.y + a.h + 1, im.w, im.h, 0, b, 4), 3);
  static const char *const xs[5] = {"0", "2", "4", "6", "8"};
  for (int i = 0; i < 5; i++) {
    const double lo = -0.45, hi = 9.45;
    const int px = a.x + (int)lround((2 * i - lo) / (hi - lo) * (a.w - 1));
    static const unsigned char blk[3] = {0, 0, 0};
    ck_assert_msg(is_rgb(&im, px, a.y + a.h + 2, blk), "no tick for %s", xs[i]);
    expect_text(&im, px - 20, b[1][0], px + 20, b[1][1], xs[i], 0, box);
  }
  free(im.px);
}
END_TEST

START_TEST(clusters_edge_cases) {
  vaecl_plot_layout a;
  vaecl_plot_label_clusters_layout(&a);
  /* count 0: empty axes, still labelled. */
  ck_assert_msg(vaecl_plot_label_clusters(file, NULL, NULL, 0, 10, names) == 0, "%s",
                vaecl_last_error());
  image im = test_load_png_rgb(file);
  int box[4];
  for (int k = 0; k < 10; k++)
    ck_assert_int_eq(colour_box(&im, k, a.x, a.y, a.x + a.w, a.y + a.h, box), 0);
  expect_axis_labels(&im, &a);
  free(im.px);
  /* Non-finite points are skipped; one point alone gets a window around it. */
  const float m[8] = {NAN, 0, 1, INFINITY, 2.5f, -1, -INFINITY, 3};
  const unsigned char lab[4] = {1, 2, 3, 4};
  ck_assert_msg(vaecl_plot_label_clusters(file, m, lab, 4, 10, names) == 0, "%s",
                vaecl_last_error());
  im = test_load_png_rgb(file);
  for (int k = 0; k < 10; k++)
    ck_assert_int_eq(colour_box(&im, k, a.x, a.y, a.x + a.w, a.y + a.h, box) > 0, k == 3);
  ck_assert_int_le(abs((box[0] + box[2]) / 2 - (a.x + a.w / 2)), 1);
  ck_assert_int_le(abs((box[1] + box[3]) / 2 - (a.y + a.h / 2)), 1);
  free(im.px);
}
END_TEST

START_TEST(clusters_refuse_bad_arguments) {
  float m[4] = {0, 0, 1, 1};
  unsigned char lab[2] = {0, 10};
  ck_assert_int_eq(vaecl_plot_label_clusters(file, m, lab, 2, 10, names), -1);
  ck_assert_error_has(file);
  ck_assert_error_has("label 10 of point 1 is outside 0..9");
  lab[1] = 9;
  const char *holey[10] = {"a", "b", "c", "d", "e", "f", "g", NULL, "i", "j"};
  ck_assert_int_eq(vaecl_plot_label_clusters(file, m, lab, 2, 10, holey), -1);
  ck_assert_error_has("class name 7 is NULL");
  ck_assert_int_eq(vaecl_plot_label_clusters(file, NULL, lab, 2, 10, names), -1);
  ck_assert_error_has("no means for 2 points");
  ck_assert_int_eq(vaecl_plot_label_clusters(file, NULL, NULL, 2, 10, names), -1);
  ck_assert_error_has("no means for 2 points");
  lab[1] = 3; /* class_count 3: labels 0..2 */
  ck_assert_int_eq(vaecl_plot_label_clusters(file, m, lab, 2, 3, NULL), -1);
  ck_assert_error_has("label 3 of point 1 is outside 0..2");
  ck_assert_int_eq(vaecl_plot_label_clusters(file, m, lab, 2, 0, NULL), -1);
  ck_assert_error_has("0 classes; 1 to 256 are supported");
  ck_assert_int_eq(vaecl_plot_label_clusters(file, m, lab, 2, 257, NULL), -1);
  ck_assert_error_has("257 classes");
  ck_assert_int_eq(vaecl_plot_label_clusters(NULL, m, lab, 2, 10, names), -1);
  ck_assert_error_has("no output path");
  ck_assert_int_ne(access(file, F_OK), 0);
}
END_TEST

/* ---- RGB grids, unlabelled and other class counts ---- */

START_TEST(grid_rgb_pixels_are_the_images) {
  /* 3x3 RGB images of 4x5 pixels, NHWC: each cell pixel has its own three channel values. */
  const int n = 3, hgt = 4, wid = 5, ch = 3;
  float *x = grid_images(n, hgt, wid * ch);
  ck_assert_msg(vaecl_plot_latent_grid(file, x, n, hgt, wid, ch, -1, 1) == 0, "%s",
                vaecl_last_error());
  vaecl_plot_layout a;
  ck_assert_int_eq(vaecl_plot_latent_grid_layout(n, hgt, wid, -1, 1, &a), 0);
  image im = test_load_png_rgb(file);
  ck_assert_int_eq(im.w, a.width);
  ck_assert_int_eq(im.h, a.height);
  int coloured = 0;
  for (int r = 0; r < n; r++)
    for (int c = 0; c < n; c++)
      for (int i = 0; i < hgt; i++)
        for (int j = 0; j < wid; j++) {
          const float *p = x + (((size_t)(r * n + c) * hgt + i) * wid + j) * ch;
          const unsigned char want[3] = {expected_grey(p[0]), expected_grey(p[1]),
                                         expected_grey(p[2])};
          coloured += want[0] != want[1] || want[1] != want[2];
          for (int sy = 0; sy < a.scale; sy++)
            for (int sx = 0; sx < a.scale; sx++) {
              const int px = a.x + (c * wid + j) * a.scale + sx;
              const int py = a.y + (r * hgt + i) * a.scale + sy;
              const uint8_t *got = test_pixel(&im, px, py);
              ck_assert_msg(is_rgb(&im, px, py, want),
                            "cell %d,%d pixel %d,%d: %d %d %d, want %d %d %d", r, c, i, j, got[0],
                            got[1], got[2], want[0], want[1], want[2]);
            }
        }
  ck_assert_int_gt(coloured, n * n * hgt * wid / 2); /* really in colour, not grey */
  free(im.px);
  /* RGBA: the alpha channel is ignored; 0 and 5 channels are refused */
  float rgba[2 * 4] = {1, 0, 0, 0.25f, 0, 0, 1, 1};
  ck_assert_msg(vaecl_plot_latent_grid(file, rgba, 1, 1, 2, 4, -1, 1) == 0, "%s",
                vaecl_last_error());
  ck_assert_int_eq(vaecl_plot_latent_grid_layout(1, 1, 2, -1, 1, &a), 0);
  im = test_load_png_rgb(file);
  static const unsigned char red[3] = {255, 0, 0}, blue[3] = {0, 0, 255};
  ck_assert(is_rgb(&im, a.x, a.y, red));
  ck_assert(is_rgb(&im, a.x + a.scale, a.y, blue));
  free(im.px);
  ck_assert_int_eq(vaecl_plot_latent_grid(file, x, 1, 2, 2, 0, -1, 1), -1);
  ck_assert_error_has("0 channels; 1 to 4 are supported");
  ck_assert_int_eq(vaecl_plot_latent_grid(file, x, 1, 2, 2, 5, -1, 1), -1);
  ck_assert_error_has(file);
  free(x);
}
END_TEST

START_TEST(clusters_unlabelled_are_one_colour) {
  float m[400];
  unsigned char lab[200];
  cluster_points(m, lab);
  ck_assert_msg(vaecl_plot_label_clusters(file, m, NULL, 200, 0, NULL) == 0, "%s",
                vaecl_last_error());
  vaecl_plot_layout a;
  vaecl_plot_label_clusters_layout(&a);
  image im = test_load_png_rgb(file);
  int box[4];
  ck_assert_int_gt(colour_box(&im, 0, a.x, a.y, a.x + a.w, a.y + a.h, box), 200);
  /* every point inside the axes is tab:blue: no pixel of another colour but the white */
  for (int y = a.y; y < a.y + a.h; y++)
    for (int x = a.x; x < a.x + a.w; x++)
      ck_assert_msg(!is_ink(&im, x, y) || is_rgb(&im, x, y, vaecl_plot_palette[0]), "%d,%d", x, y);
  /* no colour bar: right of the axes frame the figure is blank */
  for (int y = 0; y < im.h; y++)
    for (int x = a.x + a.w + 1; x < im.w; x++)
      ck_assert_msg(!is_ink(&im, x, y), "ink right of the axes at %d,%d", x, y);
  expect_axis_labels(&im, &a);
  free(im.px);
}
END_TEST

START_TEST(clusters_numbered_classes) {
  /* Three classes, no names: the bar has three blocks named 0, 1, 2. */
  float m[60];
  unsigned char lab[30];
  test_rng r = test_rng_new(5);
  for (int i = 0; i < 30; i++) {
    lab[i] = (unsigned char)(i % 3);
    m[2 * i] = (float)(lab[i] + test_rng_uniform(&r, -0.05, 0.05));
    m[2 * i + 1] = (float)test_rng_uniform(&r, -0.05, 0.05);
  }
  ck_assert_msg(vaecl_plot_label_clusters(file, m, lab, 30, 3, NULL) == 0, "%s",
                vaecl_last_error());
  vaecl_plot_layout a;
  vaecl_plot_label_clusters_layout(&a);
  image im = test_load_png_rgb(file);
  int prev_mid = im.h;
  static const char *const numbers[3] = {"0", "1", "2"};
  for (int k = 0; k < 3; k++) {
    int bar[4], b[32][2], box[4];
    ck_assert_int_gt(colour_box(&im, k, a.x, a.y, a.x + a.w, a.y + a.h, box), 0); /* points */
    ck_assert_int_gt(colour_box(&im, k, a.x + a.w + 1, 0, im.w, im.h, bar), 1000);
    ck_assert_int_ge(bar[3] - bar[1], a.h / 3 - 1); /* a third of the bar each */
    const int mid = (bar[1] + bar[3]) / 2;
    ck_assert_int_lt(mid, prev_mid);
    prev_mid = mid;
    ck_assert_int_ge(bands(&im, bar[2] + 1, mid - 14, im.w, mid + 15, 1, b, 32), 2);
    expect_text(&im, b[1][0], mid - 14, im.w, mid + 15, numbers[k], 0, box);
  }
  for (int k = 3; k < 10; k++) { /* no other tab10 colour anywhere */
    int box[4];
    ck_assert_int_eq(colour_box(&im, k, 0, 0, im.w, im.h, box), 0);
  }
  expect_white_border(&im, 4);
  free(im.px);
}
END_TEST

START_TEST(class_colours) {
  unsigned char c[3];
  for (int k = 0; k < 10; k++) { /* up to 10 classes: tab10 */
    vaecl_plot_class_colour(k, 10, c);
    ck_assert_mem_eq(c, vaecl_plot_palette[k], 3);
    vaecl_plot_class_colour(k, 1 + k, c);
    ck_assert_mem_eq(c, vaecl_plot_palette[k], 3);
  }
  vaecl_plot_class_colour(1, 15, c); /* up to 20: tab20, whose second colour is light blue */
  static const unsigned char light_blue[3] = {0xae, 0xc7, 0xe8};
  ck_assert_mem_eq(c, light_blue, 3);
  static const int counts[4] = {11, 21, 40, 256}; /* tab20, then the hue wheel */
  for (int t = 0; t < 4; t++) {
    const int count = counts[t];
    unsigned char all[256][3];
    for (int k = 0; k < count; k++) {
      vaecl_plot_class_colour(k, count, all[k]);
      ck_assert_msg(!(all[k][0] == 255 && all[k][1] == 255 && all[k][2] == 255), "white");
      ck_assert_msg(all[k][0] | all[k][1] | all[k][2], "black");
      for (int j = 0; j < k; j++)
        ck_assert_msg(memcmp(all[j], all[k], 3) != 0, "classes %d and %d of %d alike", j, k, count);
    }
  }
}
END_TEST

START_TEST(clusters_many_classes_with_long_names) {
  /* 40 classes: names only on every k-th block, apart, shortened to fit the figure. */
  enum { K = 40 };
  char name_buf[K][64];
  const char *nm[K];
  for (int k = 0; k < K; k++) {
    snprintf(name_buf[k], sizeof name_buf[k], "a rather long class folder name %d", k);
    nm[k] = name_buf[k];
  }
  float m[2 * K];
  unsigned char lab[K];
  for (int k = 0; k < K; k++) {
    lab[k] = (unsigned char)k;
    m[2 * k] = (float)k;
    m[2 * k + 1] = (float)(k % 5);
  }
  ck_assert_msg(vaecl_plot_label_clusters(file, m, lab, K, K, nm) == 0, "%s", vaecl_last_error());
  vaecl_plot_layout a;
  vaecl_plot_label_clusters_layout(&a);
  image im = test_load_png_rgb(file);
  expect_white_border(&im, 4); /* long names were shortened, not clipped */
  /* Right of the bar: one band of text rows per named block, each apart from the next. */
  int rows[K][2];
  unsigned char c0[3];
  vaecl_plot_class_colour(0, K, c0);
  long n0 = 0;
  for (int y = 0; y < im.h; y++)
    for (int x = a.x + a.w + 1; x < im.w; x++)
      n0 += is_rgb(&im, x, y, c0);
  ck_assert_int_gt(n0, 0);
  const int text_x = a.x + a.w + 1 + 40 + 30 + 1 + 6; /* after the bar and its tick marks */
  const int nb = bands(&im, text_x, a.y - 10, im.w, a.y + a.h + 10, 0, rows, K);
  int every = 1;
  while (every * a.h / K < VAECL_FONT_H * 2 + 6)
    every++;
  ck_assert_int_gt(every, 1);
  ck_assert_int_eq(nb, (K + every - 1) / every);
  for (int i = 1; i < nb; i++) /* at least a few blank rows between names */
    ck_assert_int_ge(rows[i][0] - rows[i - 1][1], 4);
  free(im.px);
}
END_TEST

/* ---- named axes ---- */

START_TEST(figures_name_their_axes) {
  float *images = grid_images(3, 4, 4);
  ck_assert_msg(vaecl_plot_latent_grid_named(file, images, 3, 4, 4, 1, -1, 1, "z[3]", "z[17]") == 0,
                "%s", vaecl_last_error());
  vaecl_plot_layout a;
  ck_assert_int_eq(vaecl_plot_latent_grid_layout(3, 4, 4, -1, 1, &a), 0);
  image im = test_load_png_rgb(file);
  /* a taller name than z[1] beside a short grid moves the grid down, so find it again */
  ck_assert_int_eq(im.w, a.width);
  free(im.px);
  free(images);
  images = grid_images(10, 28, 28); /* a grid of 10x10 cells needs its own images */
  ck_assert_int_eq(
      vaecl_plot_latent_grid_named(file, images, 10, 28, 28, 1, -1, 1, "z[3]", "z[17]"), 0);
  ck_assert_int_eq(vaecl_plot_latent_grid_layout(10, 28, 28, -1, 1, &a), 0);
  im = test_load_png_rgb(file);
  expect_axis_names(&im, &a, "z[3]", "z[17]");
  free(im.px);
  free(images);
  float m[6] = {0, 0, 1, 2, -1, 3};
  unsigned char lab[3] = {0, 1, 2};
  ck_assert_int_eq(
      vaecl_plot_label_clusters_named(file, m, lab, 3, 3, NULL, "PC1 (60%)", "PC2 (30%)"), 0);
  vaecl_plot_label_clusters_layout(&a);
  im = test_load_png_rgb(file);
  expect_axis_names(&im, &a, "PC1 (60%)", "PC2 (30%)");
  free(im.px);
  ck_assert_int_eq(vaecl_plot_label_clusters_named(file, m, lab, 3, 3, NULL, NULL, "y"), -1);
  ck_assert_error_has("no axis names");
}
END_TEST

/* ---- loss curves ---- */

#define MARK 3 /* the documented point disc radius */

/* Pixels of colour c in [x0,x1) x [y0,y1): the leftmost column and topmost row (-1: none). */
static long colour_extent(const image *im, const unsigned char c[3], int x0, int y0, int x1, int y1,
                          int *left, int *top) {
  long n = 0;
  *left = *top = -1;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      if (is_rgb(im, x, y, c)) {
        n++;
        if (*left < 0 || x < *left)
          *left = x;
        if (*top < 0 || y < *top)
          *top = y;
      }
  return n;
}

/* The pixel of v on an axis of n pixels whose limits are the data range plus 5% each side. */
static int expected_pixel(double v, double lo, double hi, int n) {
  const double l = lo - 0.05 * (hi - lo), h = hi + 0.05 * (hi - lo);
  return (int)lround((v - l) / (h - l) * (n - 1));
}

START_TEST(curves_points_axes_and_legend) {
  const double x[5] = {1, 2, 3, 4, 5}, loss[5] = {500, 420, 380, 350, 300},
               val[5] = {480, 430, NAN, 360, 340};
  const vaecl_plot_curve curves[2] = {{"loss", loss}, {"val_loss", val}};
  ck_assert_msg(vaecl_plot_curves(file, x, 5, curves, 2, "epoch", "loss") == 0, "%s",
                vaecl_last_error());
  vaecl_plot_layout a;
  ck_assert_int_eq(vaecl_plot_curves_layout(x, 5, curves, 2, &a), 0);
  image im = test_load_png_rgb(file);
  ck_assert_int_eq(im.w, a.width);
  ck_assert_int_eq(im.h, a.height);
  expect_white_border(&im, 10);
  expect_axis_names(&im, &a, "epoch", "loss");
  /* Each curve's first point: its disc's left and top edges, in the left half (the legend is
   * at the top right). y limits: 300..500 plus 5%. */
  for (int k = 0; k < 2; k++) {
    int left, top;
    ck_assert_int_gt(
        colour_extent(&im, vaecl_plot_palette[k], a.x, a.y, a.x + a.w / 2, a.y + a.h, &left, &top),
        0);
    ck_assert_int_eq(left, a.x + expected_pixel(1, 1, 5, a.w) - MARK);
    const double first = k ? val[0] : loss[0];
    ck_assert_int_eq(top, a.y + a.h - 1 - expected_pixel(first, 300, 500, a.h) - MARK);
  }
  /* The val curve has a gap around epoch 3 (NaN): nothing of its colour between the discs of
   * epochs 2 and 4, below the legend; the loss curve passes there. */
  const int x2 = a.x + expected_pixel(2, 1, 5, a.w), x4 = a.x + expected_pixel(4, 1, 5, a.w);
  int left, top;
  ck_assert_int_eq(colour_extent(&im, vaecl_plot_palette[1], x2 + MARK + 1, a.y + a.h / 3,
                                 x4 - MARK, a.y + a.h, &left, &top),
                   0);
  ck_assert_int_gt(colour_extent(&im, vaecl_plot_palette[0], x2 + MARK + 1, a.y + a.h / 3,
                                 x4 - MARK, a.y + a.h, &left, &top),
                   0);
  /* The legend in the top right quarter: a black frame (the outermost black there) around
   * both colours' swatches and then the names, one line each. */
  const int lx = a.x + a.w / 2, ly = a.y + a.h / 4;
  int box[4] = {im.w, im.h, 0, 0};
  static const unsigned char blk[3] = {0, 0, 0};
  for (int y = a.y; y < ly; y++)
    for (int xx = lx; xx < a.x + a.w; xx++)
      if (is_rgb(&im, xx, y, blk)) {
        box[0] = xx < box[0] ? xx : box[0], box[1] = y < box[1] ? y : box[1];
        box[2] = xx + 1 > box[2] ? xx + 1 : box[2], box[3] = y + 1 > box[3] ? y + 1 : box[3];
      }
  ck_assert_int_lt(box[0], box[2]);
  int cols[64][2], rows[4][2], tb[4];
  const int nc = bands(&im, box[0] + 1, box[1] + 1, box[2] - 1, box[3] - 1, 1, cols, 64);
  ck_assert_int_ge(nc, 2);
  for (int k = 0; k < 2; k++) /* the swatches: the first column band */
    ck_assert_int_gt(colour_extent(&im, vaecl_plot_palette[k], cols[0][0], box[1], cols[0][1],
                                   box[3], &left, &top),
                     20);
  const int tx = cols[1][0];
  ck_assert_int_eq(bands(&im, tx, box[1] + 1, box[2] - 1, box[3] - 1, 0, rows, 4), 2);
  expect_text(&im, tx, rows[0][0], box[2] - 1, rows[0][1], "loss", 0, tb);
  expect_text(&im, tx, rows[1][0], box[2] - 1, rows[1][1], "val_loss", 0, tb);
  free(im.px);
}
END_TEST

START_TEST(curves_change_with_each_epoch) {
  const double x[4] = {1, 2, 3, 4}, loss[4] = {540, 400, 350, 330};
  vaecl_plot_curve c = {"loss", loss};
  char again[4200];
  snprintf(again, sizeof again, "%s/again.png", dir);
  ck_assert_int_eq(vaecl_plot_curves(file, x, 3, &c, 1, "epoch", "loss"), 0);
  ck_assert_int_eq(vaecl_plot_curves(again, x, 3, &c, 1, "epoch", "loss"), 0);
  image a = test_load_png_rgb(file), b = test_load_png_rgb(again);
  ck_assert_int_eq(a.w, b.w);
  ck_assert_mem_eq(a.px, b.px, (size_t)a.w * a.h * 3); /* the same history, the same figure */
  ck_assert_int_eq(vaecl_plot_curves(again, x, 4, &c, 1, "epoch", "loss"), 0);
  free(b.px);
  b = test_load_png_rgb(again);
  ck_assert_int_eq(a.w * a.h, b.w * b.h);
  ck_assert_msg(memcmp(a.px, b.px, (size_t)a.w * a.h * 3) != 0, "a fourth epoch changed nothing");
  free(a.px);
  free(b.px);
  /* a single epoch draws one point */
  ck_assert_msg(vaecl_plot_curves(file, x, 1, &c, 1, "epoch", "loss") == 0, "%s",
                vaecl_last_error());
  a = test_load_png_rgb(file);
  int left, top;
  vaecl_plot_layout l;
  ck_assert_int_eq(vaecl_plot_curves_layout(x, 1, &c, 1, &l), 0);
  ck_assert_int_eq(colour_extent(&a, vaecl_plot_palette[0], l.x, l.y + l.h / 3, l.x + l.w,
                                 l.y + l.h, &left, &top),
                   (2 * MARK + 1) * (2 * MARK + 1) - 4 * 3); /* the disc alone */
  free(a.px);
}
END_TEST

START_TEST(curves_refuse_bad_arguments) {
  const double x[3] = {1, 3, 2}, y[3] = {1, 2, 3};
  vaecl_plot_curve c = {"loss", y};
  ck_assert_int_eq(vaecl_plot_curves(file, x, 0, &c, 1, "epoch", "loss"), -1);
  ck_assert_error_has("no points");
  ck_assert_int_eq(vaecl_plot_curves(file, x, 3, &c, 1, "epoch", "loss"), -1);
  ck_assert_error_has("increasing");
  ck_assert_int_eq(vaecl_plot_curves(file, x, 2, &c, 0, "epoch", "loss"), -1);
  ck_assert_error_has("1 to 10");
  c.name = NULL;
  ck_assert_int_eq(vaecl_plot_curves(file, x, 2, &c, 1, "epoch", "loss"), -1);
  ck_assert_error_has(file);
  ck_assert_int_ne(access(file, F_OK), 0);
}
END_TEST

/* ---- files ---- */

START_TEST(unwritable_path_is_named) {
  const char *bad = "/nonexistent/dir/x.png";
  float x[4] = {0};
  ck_assert_int_eq(vaecl_plot_latent_grid(bad, x, 1, 2, 2, 1, -1, 1), -1);
  ck_assert_error_has(bad);
  ck_assert_error_has("No such file or directory");
  float m[2] = {0, 0};
  unsigned char lab[1] = {0};
  ck_assert_int_eq(vaecl_plot_label_clusters(bad, m, lab, 1, 10, names), -1);
  ck_assert_error_has(bad);
  /* A directory in the way of the rename: the temporary file must not be left behind. */
  ck_assert_int_eq(mkdir(file, 0700), 0);
  ck_assert_int_eq(vaecl_plot_label_clusters(file, m, lab, 1, 10, names), -1);
  ck_assert_error_has("cannot rename");
  ck_assert_int_eq(test_temps_left(file), 0);
}
END_TEST

START_TEST(replaces_atomically) {
  float m[2] = {0, 0};
  unsigned char lab[1] = {0};
  FILE *f = fopen(file, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fputs("old", f) >= 0, 1);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_msg(vaecl_plot_label_clusters(file, m, lab, 1, 10, names) == 0, "%s",
                vaecl_last_error());
  image im = test_load_png_rgb(file);
  free(im.px);
  ck_assert_int_eq(test_temps_left(file), 0);
}
END_TEST

/* ---- font ---- */

START_TEST(font_covers_printable_ascii) {
  const uint8_t *space = vaecl_font_glyph(' ');
  for (int r = 0; r < VAECL_FONT_H; r++)
    ck_assert_int_eq(space[r], 0);
  for (int c = 33; c <= 126; c++) {
    const uint8_t *g = vaecl_font_glyph(c);
    int ink = 0;
    for (int r = 0; r < VAECL_FONT_H; r++) {
      ck_assert_int_eq(g[r] >> VAECL_FONT_W, 0);
      ink |= g[r];
    }
    ck_assert_msg(ink, "'%c' is blank", c);
    for (int d = 33; d < c; d++)
      ck_assert_msg(memcmp(g, vaecl_font_glyph(d), VAECL_FONT_H) != 0, "'%c' looks like '%c'", c,
                    d);
  }
  ck_assert_ptr_eq(vaecl_font_glyph(7), vaecl_font_glyph('?'));
  ck_assert_ptr_eq(vaecl_font_glyph(200), vaecl_font_glyph('?'));
  ck_assert_int_eq(vaecl_font_text_width("", 3), 0);
  ck_assert_int_eq(vaecl_font_text_width("z[0]", 2), (4 * VAECL_FONT_ADVANCE - 1) * 2);
}
END_TEST

static Suite *plot_suite(void) {
  Suite *s = suite_create("plot");
  TCase *tc = tcase_create("plot");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, grid_pixels_are_the_images);
  tcase_add_test(tc, grid_has_frame_ticks_and_labels);
  tcase_add_test(tc, grid_small_and_odd_sizes);
  tcase_add_test(tc, grid_refuses_bad_arguments);
  tcase_add_test(tc, clusters_show_every_class);
  tcase_add_test(tc, clusters_colour_bar_names_and_axes);
  tcase_add_test(tc, clusters_ticks_are_nice_numbers);
  tcase_add_test(tc, clusters_edge_cases);
  tcase_add_test(tc, clusters_refuse_bad_arguments);
  tcase_add_test(tc, grid_rgb_pixels_are_the_images);
  tcase_add_test(tc, clusters_unlabelled_are_one_colour);
  tcase_add_test(tc, clusters_numbered_classes);
  tcase_add_test(tc, class_colours);
  tcase_add_test(tc, clusters_many_classes_with_long_names);
  tcase_add_test(tc, figures_name_their_axes);
  tcase_add_test(tc, curves_points_axes_and_legend);
  tcase_add_test(tc, curves_change_with_each_epoch);
  tcase_add_test(tc, curves_refuse_bad_arguments);
  tcase_add_test(tc, unwritable_path_is_named);
  tcase_add_test(tc, replaces_atomically);
  tcase_add_test(tc, font_covers_printable_ascii);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return vaecl_test_run(plot_suite());
}
