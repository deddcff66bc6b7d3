/* Axis drawing shared by every figure (moved out of plot.c unchanged, with the axis names as
 * arguments). */
#include "plot/plot_axes.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const vaecl_rgb vaecl_white = {255, 255, 255}, vaecl_black = {0, 0, 0};

void vaecl_axes_format_tick(char *buf, double v, int decimals) {
  snprintf(buf, LABEL_W, "%.*f", decimals, v);
  if (strlen(buf) > 7)
    snprintf(buf, LABEL_W, "%.3g", v);
  if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1))
    memmove(buf, buf + 1, strlen(buf));
}

void vaecl_axes_x_tick(vaecl_canvas *c, const vaecl_plot_layout *a, int px, const char *label) {
  const int y = a->y + a->h + 1; /* just below the frame */
  vaecl_canvas_fill(c, px, y, 1, TICK, vaecl_black);
  if (label)
    vaecl_canvas_text(c, px - vaecl_font_text_width(label, TXT) / 2, y + TICK + GAP, TXT, label,
                      vaecl_black);
}

void vaecl_axes_y_tick(vaecl_canvas *c, const vaecl_plot_layout *a, int py, const char *label) {
  const int x = a->x - 1 - TICK;
  vaecl_canvas_fill(c, x, py, TICK, 1, vaecl_black);
  if (label)
    vaecl_canvas_text(c, x - GAP - vaecl_font_text_width(label, TXT), py - CAP_PX / 2, TXT, label,
                      vaecl_black);
}

void vaecl_axes_frame(vaecl_canvas *c, const vaecl_plot_layout *a, int ylabel_right,
                      const char *xlabel, const char *ylabel) {
  vaecl_canvas_frame(c, a->x - 1, a->y - 1, a->w + 2, a->h + 2, 1, vaecl_black);
  const int y = a->y + a->h + 1 + TICK + GAP + CAP_PX + 2 * GAP;
  vaecl_canvas_text(c, a->x + (a->w - vaecl_font_text_width(xlabel, TXT)) / 2, y, TXT, xlabel,
                    vaecl_black);
  vaecl_canvas_text_up(c, ylabel_right - 2 * GAP - LINE_PX,
                       a->y + (a->h - vaecl_font_text_width(ylabel, TXT)) / 2, TXT, ylabel,
                       vaecl_black);
}

vaecl_axis_scale vaecl_axes_nice(double lo, double hi) {
  double range = hi - lo;
  const double mag_floor = 1e-9 * fmax(1.0, fmax(fabs(lo), fabs(hi)));
  if (range < mag_floor) { /* one value, or none: show a unit-ish window around it */
    lo -= 0.5 * fmax(1.0, fabs(lo));
    hi += 0.5 * fmax(1.0, fabs(hi));
    range = hi - lo;
  }
  vaecl_axis_scale s = {lo - 0.05 * range, hi + 0.05 * range, 0, 0};
  const double raw = (s.hi - s.lo) / 6.0, mag = pow(10.0, floor(log10(raw)));
  const double m = raw / mag;
  const double mult = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
  s.step = mult * mag;
  s.decimals = (int)fmax(0.0, -floor(log10(s.step) + 1e-9)) + (mult == 2.5 ? 1 : 0);
  return s;
}

int vaecl_axes_pixel(const vaecl_axis_scale *s, double v, int n) {
  return (int)lround((v - s->lo) / (s->hi - s->lo) * (n - 1));
}

void vaecl_axes_value_ticks(vaecl_canvas *c, const vaecl_plot_layout *a, const vaecl_axis_scale *sx,
                            const vaecl_axis_scale *sy, const char *xlabel, const char *ylabel) {
  int widest = 0;
  for (int axis = 0; axis < 2; axis++) {
    const vaecl_axis_scale *s = axis ? sy : sx;
    for (double k = ceil(s->lo / s->step); k * s->step <= s->hi; k++) {
      const double v = k * s->step, t = (v - s->lo) / (s->hi - s->lo);
      char buf[LABEL_W];
      vaecl_axes_format_tick(buf, v, s->decimals);
      if (axis == 0) {
        vaecl_axes_x_tick(c, a, a->x + (int)lround(t * (a->w - 1)), buf);
      } else {
        vaecl_axes_y_tick(c, a, a->y + a->h - 1 - (int)lround(t * (a->h - 1)), buf);
        const int w = vaecl_font_text_width(buf, TXT);
        widest = w > widest ? w : widest;
      }
    }
  }
  vaecl_axes_frame(c, a, a->x - 1 - TICK - GAP - widest, xlabel, ylabel);
}
