/* An RGB raster with the few primitives the plots need, and PNG output via libpng. */
#ifndef VAECL_PLOT_CANVAS_H
#define VAECL_PLOT_CANVAS_H

#include <stdint.h>

typedef struct {
  uint8_t r, g, b;
} vaecl_rgb;

typedef struct {
  int w, h;
  uint8_t *px; /* w*h*3 bytes, rows top to bottom */
} vaecl_canvas;

/* Allocates a w x h canvas filled with bg; returns 0, or -1 (vaecl_fail) if too big or no memory.
 */
int vaecl_canvas_init(vaecl_canvas *c, int w, int h, vaecl_rgb bg);
void vaecl_canvas_free(vaecl_canvas *c);

/* All drawing clips to the canvas, so callers need not check bounds. */
void vaecl_canvas_fill(vaecl_canvas *c, int x, int y, int w, int h, vaecl_rgb col);
/* A w x h rectangle outline, `thick` pixels wide, drawn inside the rectangle. */
void vaecl_canvas_frame(vaecl_canvas *c, int x, int y, int w, int h, int thick, vaecl_rgb col);
void vaecl_canvas_disc(vaecl_canvas *c, int cx, int cy, int radius, vaecl_rgb col);

/* Text with the plot font at integer scale; (x, y) is the top-left of the glyph cells, so the
 * capitals span y .. y + VAECL_FONT_CAP*scale - 1. */
void vaecl_canvas_text(vaecl_canvas *c, int x, int y, int scale, const char *s, vaecl_rgb col);
/* Text turned 90 degrees counter-clockwise (reads bottom to top, like a matplotlib y label);
 * (x, y) is the top-left of its bounding box, which is glyph-height wide and text-width tall. */
void vaecl_canvas_text_up(vaecl_canvas *c, int x, int y, int scale, const char *s, vaecl_rgb col);

/* Writes an 8-bit RGB PNG to "<path>.tmp" and renames it over path, so readers never see a
 * partial image. Returns 0, or -1 with a vaecl_fail message naming path. */
int vaecl_canvas_write_png(const vaecl_canvas *c, const char *path);

#endif
