/* Line charts against epoch: the training history's loss curves, redrawn after each epoch. */
#include <vaecl/plot.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot/plot_axes.h"
#include "util/error.h"

#define CURVES_W 900
#define CURVES_H 560
#define LINE 2    /* curve thickness */
#define MARK 3    /* point disc radius */
#define SWATCH 28 /* legend line length */

static vaecl_rgb curve_rgb(int k) {
  const unsigned char *p = vaecl_plot_palette[k % 10];
  return (vaecl_rgb){p[0], p[1], p[2]};
}

/* Data ranges over the finite values; x ticks at whole epochs. */
static void scales(const double *x, size_t points, const vaecl_plot_curve *curves, int count,
                   vaecl_axis_scale *sx, vaecl_axis_scale *sy) {
  double lo = INFINITY, hi = -INFINITY;
  for (int k = 0; k < count; k++)
    for (size_t i = 0; i < points; i++)
      if (isfinite(curves[k].values[i])) {
        lo = fmin(lo, curves[k].values[i]);
        hi = fmax(hi, curves[k].values[i]);
      }
  if (lo > hi) /* nothing finite: matplotlib's empty view */
    lo = -1 / 1.1, hi = 1 / 1.1;
  *sy = vaecl_axes_nice(lo, hi);
  *sx = vaecl_axes_nice(x[0], x[points - 1]);
  if (sx->step < 1) {
    sx->step = 1;
    sx->decimals = 0;
  }
}

static int widest_y_label(const vaecl_axis_scale *sy) {
  int widest = 0;
  for (double k = ceil(sy->lo / sy->step); k * sy->step <= sy->hi; k++) {
    char buf[LABEL_W];
    vaecl_axes_format_tick(buf, k * sy->step, sy->decimals);
    const int w = vaecl_font_text_width(buf, TXT);
    widest = w > widest ? w : widest;
  }
  return widest;
}

static void layout(const vaecl_axis_scale *sy, vaecl_plot_layout *out) {
  out->width = CURVES_W;
  out->height = CURVES_H;
  out->scale = 1;
  out->x = PAD + LINE_PX + 2 * GAP + widest_y_label(sy) + GAP + TICK + 1;
  out->y = PAD + 10;
  out->w = CURVES_W - out->x - PAD - 10;
  out->h = CURVES_H - out->y - (1 + TICK + GAP + CAP_PX + 2 * GAP + LINE_PX + PAD);
}

static int check_curves(const char *path, const double *x, size_t points,
                        const vaecl_plot_curve *curves, int count) {
  if (!path)
    return vaecl_fail("curves plot: no output path");
  if (points < 1 || !x)
    return vaecl_fail("%s: curves plot: no points", path);
  if (count < 1 || count > 10 || !curves)
    return vaecl_fail("%s: curves plot: %d curves; 1 to 10 are supported", path, count);
  for (size_t i = 0; i < points; i++)
    if (!isfinite(x[i]) || (i > 0 && !(x[i] > x[i - 1])))
      return vaecl_fail("%s: curves plot: epochs must be finite and increasing (point %zu)", path,
                        i);
  for (int k = 0; k < count; k++)
    if (!curves[k].name || !curves[k].values)
      return vaecl_fail("%s: curves plot: curve %d has no name or values", path, k);
  return 0;
}

int vaecl_plot_curves_layout(const double *x, size_t points, const vaecl_plot_curve *curves,
                             int count, vaecl_plot_layout *out) {
  if (check_curves("(layout)", x, points, curves, count))
    return -1;
  vaecl_axis_scale sx, sy;
  scales(x, points, curves, count, &sx, &sy);
  layout(&sy, out);
  return 0;
}

/* A thick segment, stepped one pixel at a time along its longer side. */
static void segment(vaecl_canvas *c, int x0, int y0, int x1, int y1, vaecl_rgb col) {
  const int steps = abs(x1 - x0) > abs(y1 - y0) ? abs(x1 - x0) : abs(y1 - y0);
  for (int s = 0; s <= steps; s++) {
    const double t = steps ? (double)s / steps : 0;
    const int x = x0 + (int)lround(t * (x1 - x0)), y = y0 + (int)lround(t * (y1 - y0));
    vaecl_canvas_fill(c, x - LINE / 2, y - LINE / 2, LINE, LINE, col);
  }
}

/* Names at the top right inside the axes, framed, each after a swatch of its line. */
static void legend(vaecl_canvas *c, const vaecl_plot_layout *a, const vaecl_plot_curve *curves,
                   int count) {
  int text_w = 0;
  for (int k = 0; k < count; k++) {
    const int w = vaecl_font_text_width(curves[k].name, TXT);
    text_w = w > text_w ? w : text_w;
  }
  const int row = LINE_PX + GAP, w = GAP + SWATCH + GAP + text_w + GAP, h = GAP + count * row;
  const int x = a->x + a->w - w - 2 * GAP, y = a->y + 2 * GAP;
  vaecl_canvas_fill(c, x, y, w, h, vaecl_white);
  vaecl_canvas_frame(c, x, y, w, h, 1, vaecl_black);
  for (int k = 0; k < count; k++) {
    const int mid = y + GAP + k * row + CAP_PX / 2;
    segment(c, x + GAP, mid, x + GAP + SWATCH, mid, curve_rgb(k));
    vaecl_canvas_disc(c, x + GAP + SWATCH / 2, mid, MARK, curve_rgb(k));
    vaecl_canvas_text(c, x + 2 * GAP + SWATCH, mid - CAP_PX / 2, TXT, curves[k].name, vaecl_black);
  }
}

int vaecl_plot_curves(const char *path, const double *x, size_t points,
                      const vaecl_plot_curve *curves, int count, const char *xlabel,
                      const char *ylabel) {
  if (check_curves(path, x, points, curves, count))
    return -1;
  if (!xlabel || !ylabel)
    return vaecl_fail("%s: curves plot: no axis names", path);
  vaecl_axis_scale sx, sy;
  scales(x, points, curves, count, &sx, &sy);
  vaecl_plot_layout a;
  layout(&sy, &a);
  vaecl_canvas c;
  if (vaecl_canvas_init(&c, a.width, a.height, vaecl_white))
    return vaecl_fail_context("%s: ", path);
  for (int k = 0; k < count; k++) {
    int px = 0, py = 0, have = 0; /* the previous finite point */
    for (size_t i = 0; i < points; i++) {
      const double v = curves[k].values[i];
      if (!isfinite(v)) {
        have = 0; /* a gap, as matplotlib leaves for NaN */
        continue;
      }
      const int qx = a.x + vaecl_axes_pixel(&sx, x[i], a.w);
      const int qy = a.y + a.h - 1 - vaecl_axes_pixel(&sy, v, a.h);
      if (have)
        segment(&c, px, py, qx, qy, curve_rgb(k));
      vaecl_canvas_disc(&c, qx, qy, MARK, curve_rgb(k));
      px = qx, py = qy, have = 1;
    }
  }
  vaecl_axes_value_ticks(&c, &a, &sx, &sy, xlabel, ylabel);
  legend(&c, &a, curves, count);
  const int rc = vaecl_canvas_write_png(&c, path);
  vaecl_canvas_free(&c);
  return rc;
}
