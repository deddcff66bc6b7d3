/* The Keras VAE example's two figures: a latent-space grid of decoded images and a scatter of
 * encoded means by class. Layout follows matplotlib's look: framed axes, outward ticks. */
#include <vaecl/plot.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot/plot_axes.h"
#include "plot/plot_canvas.h"
#include "plot/plot_font.h"
#include "util/error.h"

const unsigned char vaecl_plot_palette[10][3] = {
    {0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e}, {0x2c, 0xa0, 0x2c}, {0xd6, 0x27, 0x28},
    {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f},
    {0xbc, 0xbd, 0x22}, {0x17, 0xbe, 0xcf}};

/* ---- latent grid ---- */

static double grid_value(int i, int n, double zmin, double zmax) {
  return n == 1 ? zmin : zmin + i * (zmax - zmin) / (n - 1);
}

/* Widest tick label over the grid values, in pixels. */
static int grid_label_width(int n, double zmin, double zmax) {
  int w = 0;
  for (int i = 0; i < n; i++) {
    char buf[LABEL_W];
    vaecl_axes_format_tick(buf, grid_value(i, n, zmin, zmax), 1);
    const int t = vaecl_font_text_width(buf, TXT);
    w = t > w ? t : w;
  }
  return w;
}

/* The layout leaves room for ylabel beside a grid shorter than it. */
static int grid_layout(int n, int img_h, int img_w, double zmin, double zmax, const char *ylabel,
                       vaecl_plot_layout *out) {
  if (n < 1 || img_h < 1 || img_w < 1)
    return vaecl_fail("latent grid of %d x %d images of %d x %d pixels: sizes must be >= 1", n, n,
                      img_h, img_w);
  const long long side = (long long)n * (img_h > img_w ? img_h : img_w);
  if (side > 8192)
    return vaecl_fail("latent grid of %lld pixels a side is larger than 8192", side);
  if (!isfinite(zmin) || !isfinite(zmax) || !(zmin < zmax))
    return vaecl_fail("latent range [%g, %g] must be finite with zmin < zmax", zmin, zmax);
  const int s = side <= 300 ? 3 : side <= 450 ? 2 : 1;
  const int lw = grid_label_width(n, zmin, zmax);
  out->scale = s;
  out->w = n * img_w * s;
  out->h = n * img_h * s;
  out->x = PAD + LINE_PX + 2 * GAP + lw + GAP + TICK + 1;
  /* Room for the last x label to overhang its cell, and for ylabel beside a short grid. */
  const int overhang = lw / 2 - img_w * s / 2;
  const int zh = vaecl_font_text_width(ylabel, TXT) - out->h, above = zh > 0 ? (zh + 1) / 2 : 0;
  out->y = PAD + 1 + above;
  out->width = out->x + out->w + 1 + PAD + (overhang > 0 ? overhang : 0);
  out->height = out->y + out->h + 1 + TICK + GAP + CAP_PX + 2 * GAP + LINE_PX + PAD + above;
  return 0;
}

int vaecl_plot_latent_grid_layout(int n, int img_h, int img_w, double zmin, double zmax,
                                  vaecl_plot_layout *out) {
  return grid_layout(n, img_h, img_w, zmin, zmax, "z[1]", out);
}

static uint8_t grey(float v) {
  if (!(v > 0.0f)) /* also NaN */
    return 0;
  /* In double, v*255 + 0.5 is exact for any float v: round half up, no double rounding. */
  return v >= 1.0f ? 255 : (uint8_t)floor((double)v * 255.0 + 0.5);
}

static void draw_cells(vaecl_canvas *c, const vaecl_plot_layout *a, const float *images, int n,
                       int img_h, int img_w, int channels) {
  const int s = a->scale;
  const size_t per_image = (size_t)img_h * (size_t)img_w * (size_t)channels;
  for (int r = 0; r < n; r++)
    for (int col = 0; col < n; col++) {
      const float *img = images + ((size_t)r * (size_t)n + (size_t)col) * per_image;
      for (int i = 0; i < img_h; i++)
        for (int j = 0; j < img_w; j++) {
          const float *p = img + ((size_t)i * (size_t)img_w + (size_t)j) * (size_t)channels;
          const uint8_t v = grey(p[0]);
          const vaecl_rgb rgb =
              channels >= 3 ? (vaecl_rgb){v, grey(p[1]), grey(p[2])} : (vaecl_rgb){v, v, v};
          vaecl_canvas_fill(c, a->x + (col * img_w + j) * s, a->y + (r * img_h + i) * s, s, s, rgb);
        }
    }
}

/* Ticks at every cell centre like Keras' example; labels on every k-th so none overlap. */
static void grid_ticks(vaecl_canvas *c, const vaecl_plot_layout *a, int n, double zmin, double zmax,
                       const char *xlabel, const char *ylabel) {
  const int cw = a->w / n, ch = a->h / n, lw = grid_label_width(n, zmin, zmax);
  int kx = 1, ky = 1;
  while (kx * cw < lw + 2 * GAP)
    kx++;
  while (ky * ch < CAP_PX + 2 * GAP)
    ky++;
  for (int i = 0; i < n; i++) {
    char buf[LABEL_W];
    vaecl_axes_format_tick(buf, grid_value(i, n, zmin, zmax), 1);
    vaecl_axes_x_tick(c, a, a->x + i * cw + cw / 2, i % kx ? NULL : buf);
    vaecl_axes_format_tick(buf, grid_value(n - 1 - i, n, zmin, zmax), 1);
    vaecl_axes_y_tick(c, a, a->y + i * ch + ch / 2, i % ky ? NULL : buf);
  }
  vaecl_axes_frame(c, a, a->x - 1 - TICK - GAP - lw, xlabel, ylabel);
}

int vaecl_plot_latent_grid(const char *path, const float *images, int n, int img_h, int img_w,
                           int channels, double zmin, double zmax) {
  return vaecl_plot_latent_grid_named(path, images, n, img_h, img_w, channels, zmin, zmax, "z[0]",
                                      "z[1]");
}

int vaecl_plot_latent_grid_named(const char *path, const float *images, int n, int img_h, int img_w,
                                 int channels, double zmin, double zmax, const char *xlabel,
                                 const char *ylabel) {
  if (!path)
    return vaecl_fail("latent grid plot: no output path");
  if (!xlabel || !ylabel)
    return vaecl_fail("%s: latent grid plot: no axis names", path);
  vaecl_plot_layout a;
  if (!images)
    return vaecl_fail("%s: latent grid plot: no images", path);
  if (channels < 1 || channels > 4)
    return vaecl_fail("%s: latent grid plot: images of %d channels; 1 to 4 are supported", path,
                      channels);
  if (grid_layout(n, img_h, img_w, zmin, zmax, ylabel, &a))
    return vaecl_fail_context("%s: ", path);
  vaecl_canvas c;
  if (vaecl_canvas_init(&c, a.width, a.height, vaecl_white))
    return vaecl_fail_context("%s: ", path);
  draw_cells(&c, &a, images, n, img_h, img_w, channels);
  grid_ticks(&c, &a, n, zmin, zmax, xlabel, ylabel);
  const int rc = vaecl_canvas_write_png(&c, path);
  vaecl_canvas_free(&c);
  return rc;
}

/* ---- label clusters ---- */

#define SC_W 1000
#define SC_H 800
#define BAR_GAP 40 /* between the axes and the colour bar */
#define BAR_W 30
#define DOT 2 /* marker radius: small, since the full test set is 10000 points */

void vaecl_plot_label_clusters_layout(vaecl_plot_layout *out) {
  out->width = SC_W;
  out->height = SC_H;
  out->scale = 1;
  out->x = 150;
  out->y = PAD + 10;
  out->w = 600;
  out->h = SC_H - out->y - (1 + TICK + GAP + CAP_PX + 2 * GAP + LINE_PX + PAD + 10);
}

#define MAX_CLASSES 256

static const unsigned char tab20[20][3] = {
    {0x1f, 0x77, 0xb4}, {0xae, 0xc7, 0xe8}, {0xff, 0x7f, 0x0e}, {0xff, 0xbb, 0x78},
    {0x2c, 0xa0, 0x2c}, {0x98, 0xdf, 0x8a}, {0xd6, 0x27, 0x28}, {0xff, 0x98, 0x96},
    {0x94, 0x67, 0xbd}, {0xc5, 0xb0, 0xd5}, {0x8c, 0x56, 0x4b}, {0xc4, 0x9c, 0x94},
    {0xe3, 0x77, 0xc2}, {0xf7, 0xb6, 0xd2}, {0x7f, 0x7f, 0x7f}, {0xc7, 0xc7, 0xc7},
    {0xbc, 0xbd, 0x22}, {0xdb, 0xdb, 0x8d}, {0x17, 0xbe, 0xcf}, {0x9e, 0xda, 0xe5}};

void vaecl_plot_class_colour(int k, int class_count, unsigned char rgb[3]) {
  if (class_count <= 10 && k >= 0 && k < 10) {
    memcpy(rgb, vaecl_plot_palette[k], 3);
  } else if (class_count <= 20 && k >= 0 && k < 20) {
    memcpy(rgb, tab20[k], 3);
  } else { /* hue k/class_count at saturation 0.7, value 0.85: never white or black */
    const double h = 6.0 * (class_count > 0 ? (double)k / class_count : 0), v = 0.85, s = 0.7;
    const int sector = (int)floor(h) % 6;
    const double f = h - floor(h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    const double r[6] = {v, q, p, p, t, v}, g[6] = {t, v, v, q, p, p}, b[6] = {p, p, t, v, v, q};
    rgb[0] = (unsigned char)lround(255 * r[sector]);
    rgb[1] = (unsigned char)lround(255 * g[sector]);
    rgb[2] = (unsigned char)lround(255 * b[sector]);
  }
}

static vaecl_rgb class_rgb(int k, int class_count) {
  unsigned char p[3];
  vaecl_plot_class_colour(k, class_count, p);
  return (vaecl_rgb){p[0], p[1], p[2]};
}

/* name, shortened with ".." to at most max_w pixels. */
static void fit_name(char out[LABEL_W], const char *name, int max_w) {
  snprintf(out, LABEL_W, "%s", name);
  size_t n = strlen(out);
  while (n > 0 && vaecl_font_text_width(out, TXT) > max_w) {
    n = n > LABEL_W - 3 ? LABEL_W - 3 : n - 1; /* keep n characters, then ".." */
    memcpy(out + n, "..", 3);
  }
}

/* One block per class, class 0 at the bottom like matplotlib's colorbar, names on the right;
 * with many classes, only every k-th block gets a tick and name so that names do not touch. */
static void colour_bar(vaecl_canvas *c, const vaecl_plot_layout *a, int classes,
                       const char *const *names) {
  const int x = a->x + a->w + 1 + BAR_GAP, text_x = x + BAR_W + 1 + TICK + GAP;
  int every = 1;
  while (every * a->h / classes < LINE_PX + GAP)
    every++;
  for (int k = 0; k < classes; k++) {
    const int top = a->y + (classes - 1 - k) * a->h / classes;
    const int bottom = a->y + (classes - k) * a->h / classes;
    vaecl_canvas_fill(c, x, top, BAR_W, bottom - top, class_rgb(k, classes));
    if (k % every)
      continue;
    const int mid = (top + bottom) / 2;
    char number[16], name[LABEL_W];
    if (!names)
      snprintf(number, sizeof number, "%d", k);
    fit_name(name, names ? names[k] : number, c->w - PAD - text_x);
    vaecl_canvas_fill(c, x + BAR_W + 1, mid, TICK, 1, vaecl_black);
    vaecl_canvas_text(c, text_x, mid - CAP_PX / 2, TXT, name, vaecl_black);
  }
  vaecl_canvas_frame(c, x - 1, a->y - 1, BAR_W + 2, a->h + 2, 1, vaecl_black);
}

static int check_clusters(const char *path, const float *means, const unsigned char *labels,
                          size_t count, int classes, const char *const *names) {
  if (count && !means)
    return vaecl_fail("%s: label clusters plot: no means for %zu points", path, count);
  if (!labels)
    return 0;
  if (classes < 1 || classes > MAX_CLASSES)
    return vaecl_fail("%s: label clusters plot: %d classes; 1 to %d are supported", path, classes,
                      MAX_CLASSES);
  for (int k = 0; names && k < classes; k++)
    if (!names[k])
      return vaecl_fail("%s: label clusters plot: class name %d is NULL", path, k);
  for (size_t i = 0; i < count; i++)
    if (labels[i] >= classes)
      return vaecl_fail("%s: label clusters plot: label %u of point %zu is outside 0..%d", path,
                        (unsigned)labels[i], i, classes - 1);
  return 0;
}

int vaecl_plot_label_clusters(const char *path, const float *means, const unsigned char *labels,
                              size_t count, int class_count, const char *const *class_names) {
  return vaecl_plot_label_clusters_named(path, means, labels, count, class_count, class_names,
                                         "z[0]", "z[1]");
}

int vaecl_plot_label_clusters_named(const char *path, const float *means,
                                    const unsigned char *labels, size_t count, int class_count,
                                    const char *const *class_names, const char *xlabel,
                                    const char *ylabel) {
  if (!path)
    return vaecl_fail("label clusters plot: no output path");
  if (!xlabel || !ylabel)
    return vaecl_fail("%s: label clusters plot: no axis names", path);
  if (check_clusters(path, means, labels, count, class_count, class_names))
    return -1;
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (size_t i = 0; i < count; i++)
    if (isfinite(means[2 * i]) && isfinite(means[2 * i + 1]))
      for (int d = 0; d < 2; d++) {
        lo[d] = fmin(lo[d], means[2 * i + d]);
        hi[d] = fmax(hi[d], means[2 * i + d]);
      }
  for (int d = 0; d < 2; d++)
    if (lo[d] > hi[d]) { /* no finite points: matplotlib's default view */
      lo[d] = -1 / 1.1;
      hi[d] = 1 / 1.1;
    }
  const vaecl_axis_scale sx = vaecl_axes_nice(lo[0], hi[0]), sy = vaecl_axes_nice(lo[1], hi[1]);
  vaecl_plot_layout a;
  vaecl_plot_label_clusters_layout(&a);
  vaecl_canvas c;
  if (vaecl_canvas_init(&c, a.width, a.height, vaecl_white))
    return vaecl_fail_context("%s: ", path);
  const unsigned char *one = vaecl_plot_palette[0]; /* unlabelled: matplotlib's first colour */
  vaecl_rgb colours[MAX_CLASSES];
  for (int k = 0; labels && k < class_count; k++)
    colours[k] = class_rgb(k, class_count);
  for (size_t i = 0; i < count; i++) {
    const double u = means[2 * i], v = means[2 * i + 1];
    if (!isfinite(u) || !isfinite(v))
      continue;
    vaecl_canvas_disc(&c, a.x + (int)lround((u - sx.lo) / (sx.hi - sx.lo) * (a.w - 1)),
                      a.y + a.h - 1 - (int)lround((v - sy.lo) / (sy.hi - sy.lo) * (a.h - 1)), DOT,
                      labels ? colours[labels[i]] : (vaecl_rgb){one[0], one[1], one[2]});
  }
  vaecl_axes_value_ticks(&c, &a, &sx, &sy, xlabel, ylabel);
  if (labels)
    colour_bar(&c, &a, class_count, class_names);
  const int rc = vaecl_canvas_write_png(&c, path);
  vaecl_canvas_free(&c);
  return rc;
}
