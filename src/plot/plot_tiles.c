/* A titled grid of images with optional captions (vaecl_plot_image_tiles). */
#include <vaecl/plot.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot/plot_canvas.h"
#include "plot/plot_font.h"
#include "util/error.h"

#define PAD 20        /* outer margin */
#define TITLE_SCALE 2 /* the title's text scale, as the other figures' labels */
#define TITLE_GAP 12  /* between the title line and the images */
#define TILE_GAP 4    /* white between images */
#define CAPTION_H (VAECL_FONT_H + 3)

static const vaecl_rgb white = {255, 255, 255}, black = {0, 0, 0};

int vaecl_plot_image_tiles_layout(int count, int cols, int img_h, int img_w, const char *title,
                                  int with_captions, vaecl_plot_tiles_layout *out) {
  if (count < 1 || cols < 1 || img_h < 1 || img_w < 1)
    return vaecl_fail("image tiles: %d images, %d a row, of %d x %d pixels: all must be >= 1",
                      count, cols, img_h, img_w);
  if (!title || !*title)
    return vaecl_fail("image tiles: a title is required");
  cols = cols < count ? cols : count;
  const int rows = (count + cols - 1) / cols;
  const long long wide = (long long)cols * img_w, tall = (long long)rows * img_h;
  const long long side = wide > tall ? wide : tall;
  if (side > 8192)
    return vaecl_fail("image tiles of %lld pixels a side are larger than 8192", side);
  out->scale = side <= 300 ? 3 : side <= 450 ? 2 : 1;
  out->rows = rows;
  out->pitch_x = img_w * out->scale + TILE_GAP;
  out->pitch_y = img_h * out->scale + TILE_GAP + (with_captions ? CAPTION_H : 0);
  out->caption_dy = with_captions ? img_h * out->scale + 2 : 0;
  out->title_x = PAD;
  out->title_y = PAD;
  out->x = PAD;
  out->y = PAD + VAECL_FONT_H * TITLE_SCALE + TITLE_GAP;
  const int grid_w = cols * out->pitch_x - TILE_GAP, grid_h = rows * out->pitch_y - TILE_GAP;
  const int title_w = vaecl_font_text_width(title, TITLE_SCALE);
  out->width = PAD + (grid_w > title_w ? grid_w : title_w) + PAD;
  out->height = out->y + grid_h + PAD;
  return 0;
}

/* As the latent grid: round(255 v) clamped to 0..255, NaN as 0. */
static uint8_t grey(float v) {
  if (!(v > 0.0f))
    return 0;
  return v >= 1.0f ? 255 : (uint8_t)floor((double)v * 255.0 + 0.5);
}

static void draw_image(vaecl_canvas *c, int x0, int y0, int s, const float *img, int h, int w,
                       int channels) {
  for (int i = 0; i < h; i++)
    for (int j = 0; j < w; j++) {
      const float *p = img + ((size_t)i * (size_t)w + (size_t)j) * (size_t)channels;
      const uint8_t v = grey(p[0]);
      const vaecl_rgb rgb =
          channels >= 3 ? (vaecl_rgb){v, grey(p[1]), grey(p[2])} : (vaecl_rgb){v, v, v};
      vaecl_canvas_fill(c, x0 + j * s, y0 + i * s, s, s, rgb);
    }
}

/* The caption, cut to max_w pixels at scale 1 and centred under the image. */
static void draw_caption(vaecl_canvas *c, int x0, int y, int max_w, const char *text) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", text);
  for (size_t n = strlen(buf); n > 0 && vaecl_font_text_width(buf, 1) > max_w; n--)
    buf[n - 1] = '\0';
  vaecl_canvas_text(c, x0 + (max_w - vaecl_font_text_width(buf, 1)) / 2, y, 1, buf, black);
}

int vaecl_plot_image_tiles(const char *path, const char *title, const float *const *images,
                           int count, int cols, int img_h, int img_w, int channels,
                           const char *const *captions) {
  if (!path)
    return vaecl_fail("image tiles: no output path");
  if (!images)
    return vaecl_fail("%s: image tiles: no images", path);
  if (channels < 1 || channels > 4)
    return vaecl_fail("%s: image tiles: images of %d channels; 1 to 4 are supported", path,
                      channels);
  vaecl_plot_tiles_layout a;
  if (vaecl_plot_image_tiles_layout(count, cols, img_h, img_w, title, captions != NULL, &a))
    return vaecl_fail_context("%s: ", path);
  cols = cols < count ? cols : count;
  vaecl_canvas c;
  if (vaecl_canvas_init(&c, a.width, a.height, white))
    return vaecl_fail_context("%s: ", path);
  vaecl_canvas_text(&c, a.title_x, a.title_y, TITLE_SCALE, title, black);
  for (int i = 0; i < count; i++) {
    const int x0 = a.x + (i % cols) * a.pitch_x, y0 = a.y + (i / cols) * a.pitch_y;
    if (images[i])
      draw_image(&c, x0, y0, a.scale, images[i], img_h, img_w, channels);
    if (captions && captions[i])
      draw_caption(&c, x0, y0 + a.caption_dy, img_w * a.scale, captions[i]);
  }
  const int rc = vaecl_canvas_write_png(&c, path);
  vaecl_canvas_free(&c);
  return rc;
}
