/* Axes shared by the figures: matplotlib's look (a frame one pixel outside the data area,
 * outward ticks, labels centred on each axis), nice tick steps, sizes in pixels. */
#ifndef VAECL_PLOT_AXES_H
#define VAECL_PLOT_AXES_H

#include "plot/plot_canvas.h"
#include "plot/plot_font.h"
#include <vaecl/plot.h>

#define TXT 2      /* text scale: 10x14-pixel capitals */
#define TICK 6     /* tick mark length */
#define GAP 6      /* between a tick and its label */
#define PAD 20     /* outer margin */
#define LABEL_W 32 /* max tick label characters kept */

#define CAP_PX (VAECL_FONT_CAP * TXT)
#define LINE_PX (VAECL_FONT_H * TXT)

extern const vaecl_rgb vaecl_white, vaecl_black;

/* "%.*f", but never "-0.0", and "%.3g" when fixed point would not fit a tick. */
void vaecl_axes_format_tick(char *buf, double v, int decimals);
/* A tick below (x) or left of (y) the frame at pixel px/py, with its label (NULL: none). */
void vaecl_axes_x_tick(vaecl_canvas *, const vaecl_plot_layout *, int px, const char *label);
void vaecl_axes_y_tick(vaecl_canvas *, const vaecl_plot_layout *, int py, const char *label);
/* The frame, and the axis names: xlabel centred below, ylabel read bottom to top just left
 * of ylabel_right (where the widest y tick label begins). */
void vaecl_axes_frame(vaecl_canvas *, const vaecl_plot_layout *, int ylabel_right,
                      const char *xlabel, const char *ylabel);

typedef struct {
  double lo, hi; /* axis limits */
  double step;   /* between ticks */
  int decimals;  /* for tick labels */
} vaecl_axis_scale;

/* Limits: the data range plus 5% each side (matplotlib's margins); ticks at 1, 2, 2.5 or 5
 * times a power of ten, giving 3 to 7 of them. */
vaecl_axis_scale vaecl_axes_nice(double lo, double hi);
/* Ticks with labels on both axes at multiples of their steps, then the frame and names. */
void vaecl_axes_value_ticks(vaecl_canvas *, const vaecl_plot_layout *, const vaecl_axis_scale *sx,
                            const vaecl_axis_scale *sy, const char *xlabel, const char *ylabel);
/* The pixel of value v on an axis of n pixels (x: left to right; y: callers flip). */
int vaecl_axes_pixel(const vaecl_axis_scale *, double v, int n);

#endif
