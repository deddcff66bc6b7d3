/* Canvas primitives and PNG output for the plots; host-only, no antialiasing so colours stay
 * exact (tests compare pixels). */
#include "plot/plot_canvas.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot/plot_font.h"
#include "util/atomic_file.h"
#include "util/error.h"

#define MAX_SIDE 16384

int vaecl_canvas_init(vaecl_canvas *c, int w, int h, vaecl_rgb bg) {
  c->w = c->h = 0;
  c->px = NULL;
  if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE)
    return vaecl_fail("canvas of %d x %d pixels is outside 1..%d", w, h, MAX_SIDE);
  const size_t n = (size_t)w * (size_t)h;
  c->px = malloc(n * 3);
  if (!c->px)
    return vaecl_fail("out of memory for a %d x %d canvas", w, h);
  c->w = w;
  c->h = h;
  for (size_t i = 0; i < n; i++) {
    c->px[3 * i] = bg.r;
    c->px[3 * i + 1] = bg.g;
    c->px[3 * i + 2] = bg.b;
  }
  return 0;
}

void vaecl_canvas_free(vaecl_canvas *c) {
  free(c->px);
  c->px = NULL;
  c->w = c->h = 0;
}

void vaecl_canvas_fill(vaecl_canvas *c, int x, int y, int w, int h, vaecl_rgb col) {
  int x1 = x + w, y1 = y + h;
  x = x < 0 ? 0 : x;
  y = y < 0 ? 0 : y;
  x1 = x1 > c->w ? c->w : x1;
  y1 = y1 > c->h ? c->h : y1;
  for (int yy = y; yy < y1; yy++)
    for (int xx = x; xx < x1; xx++) {
      uint8_t *p = c->px + 3 * ((size_t)yy * (size_t)c->w + (size_t)xx);
      p[0] = col.r;
      p[1] = col.g;
      p[2] = col.b;
    }
}

void vaecl_canvas_frame(vaecl_canvas *c, int x, int y, int w, int h, int thick, vaecl_rgb col) {
  vaecl_canvas_fill(c, x, y, w, thick, col);
  vaecl_canvas_fill(c, x, y + h - thick, w, thick, col);
  vaecl_canvas_fill(c, x, y, thick, h, col);
  vaecl_canvas_fill(c, x + w - thick, y, thick, h, col);
}

void vaecl_canvas_disc(vaecl_canvas *c, int cx, int cy, int radius, vaecl_rgb col) {
  /* r*r + r rather than r*r: rounder small discs without the four single-pixel nubs. */
  const int lim = radius * radius + radius;
  for (int dy = -radius; dy <= radius; dy++)
    for (int dx = -radius; dx <= radius; dx++)
      if (dx * dx + dy * dy <= lim)
        vaecl_canvas_fill(c, cx + dx, cy + dy, 1, 1, col);
}

/* Draws each set font pixel as a scale x scale block; `up` turns the text 90 degrees
 * counter-clockwise inside a box of glyph height x text width. */
static void draw_text(vaecl_canvas *c, int x, int y, int scale, const char *s, vaecl_rgb col,
                      int up) {
  const int len = vaecl_font_text_width(s, scale);
  for (size_t i = 0; s[i]; i++) {
    const uint8_t *g = vaecl_font_glyph((unsigned char)s[i]);
    for (int r = 0; r < VAECL_FONT_H; r++)
      for (int k = 0; k < VAECL_FONT_W; k++) {
        if (!(g[r] >> (VAECL_FONT_W - 1 - k) & 1))
          continue;
        const int u = ((int)i * VAECL_FONT_ADVANCE + k) * scale, v = r * scale;
        if (up)
          vaecl_canvas_fill(c, x + v, y + len - u - scale, scale, scale, col);
        else
          vaecl_canvas_fill(c, x + u, y + v, scale, scale, col);
      }
  }
}

void vaecl_canvas_text(vaecl_canvas *c, int x, int y, int scale, const char *s, vaecl_rgb col) {
  draw_text(c, x, y, scale, s, col, 0);
}

void vaecl_canvas_text_up(vaecl_canvas *c, int x, int y, int scale, const char *s, vaecl_rgb col) {
  draw_text(c, x, y, scale, s, col, 1);
}

/* libpng reports errors through this callback, which must not return. */
static void on_png_error(png_structp png, png_const_charp msg) {
  vaecl_fail("%s", msg);
  png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) {
  (void)png; /* nothing we write can trigger a warning worth reporting */
  (void)msg;
}

int vaecl_canvas_write_png(const vaecl_canvas *c, const char *path) {
  vaecl_atomic_file out;
  if (vaecl_atomic_open(&out, path) != 0)
    return -1;
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_write_struct(&png, NULL);
    vaecl_atomic_abort(&out);
    return vaecl_fail("%s: out of memory starting libpng", path);
  }
  /* Nothing below changes png, info or out before a longjmp can land here. */
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    vaecl_atomic_abort(&out); /* libpng's message is what matters */
    return vaecl_fail_context("%s: writing %s failed: ", path, out.tmp);
  }
  png_init_io(png, out.f);
  png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < c->h; y++)
    png_write_row(png, c->px + (size_t)y * (size_t)c->w * 3);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  return vaecl_atomic_commit(&out, 0);
}
