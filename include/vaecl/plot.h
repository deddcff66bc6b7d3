/* The two figures of the classic Keras VAE example, drawn on the host and saved as PNG. */
#ifndef VAECL_PLOT_H
#define VAECL_PLOT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns 0, or -1 with vaecl_fail(...) message naming the path (from src/error.h). */
/* images: n*n images of img_h*img_w*channels floats in [0,1], each NHWC (channels last); image
   (row r, col c) at index r*n + c, row 0 at the TOP (largest z[1]). channels: 1 grey, 3 RGB;
   2 and 4 are drawn as grey and RGB, the last (alpha) channel ignored.
   zmin/zmax: the latent range shown, used for tick labels. */
int vaecl_plot_latent_grid(const char *path, const float *images, int n, int img_h, int img_w,
                           int channels, double zmin, double zmax);
/* means: count x 2 (z[0], z[1]) points.
   labels: count bytes 0..class_count-1 (class_count 1..256), coloured by
   vaecl_plot_class_colour with a colour bar naming the classes: class_names[k], or the number k
   when class_names is NULL. labels NULL: an unlabelled data set, every point in
   vaecl_plot_palette[0] and no colour bar; class_count and class_names are then ignored. */
int vaecl_plot_label_clusters(const char *path, const float *means, const unsigned char *labels,
                              size_t count, int class_count, const char *const *class_names);

/* The same figures with other axis names than z[0] and z[1] (e.g. "z[3]", "PC1"). */
int vaecl_plot_latent_grid_named(const char *path, const float *images, int n, int img_h, int img_w,
                                 int channels, double zmin, double zmax, const char *xlabel,
                                 const char *ylabel);
int vaecl_plot_label_clusters_named(const char *path, const float *means,
                                    const unsigned char *labels, size_t count, int class_count,
                                    const char *const *class_names, const char *xlabel,
                                    const char *ylabel);

/* Details of the figures, for callers and tests that look at the pixels.
 *
 * Latent grid: each image pixel becomes a scale x scale block (scale 3, 2 or 1: the largest that
 * keeps the image area within 900 pixels a side), grey g = round(255 * clamp(v, 0, 1)) with NaN
 * as 0 (black), so 0 is black and 1 white like matplotlib's Greys_r. Tick labels are the grid
 * values zmin + i*(zmax-zmin)/(n-1) (zmin when n = 1), printed with one decimal like Keras'
 * np.round(grid, 1); z[1] falls from the top row down. Requires n >= 1, image sides >= 1, a
 * finite zmin < zmax, and at most 8192 image pixels a side.
 *
 * Label clusters: a fixed-size figure; points are discs in their class colour drawn in input
 * order (later points on top), without antialiasing so colours are exact. Points with a
 * non-finite coordinate are skipped, like matplotlib does. count 0 is allowed and draws empty
 * axes over [-1, 1]; a label >= class_count or a NULL name is an error. The colour bar stacks one
 * block per class, class 0 at the bottom; with many classes only every k-th block is named so
 * names do not overlap, and a name too long for the figure is shortened with "..". */
typedef struct {
  int width, height; /* the whole image */
  int x, y, w, h;    /* the data area inside the axes frame: the image cells, or the scatter box */
  int scale;         /* pixels per image pixel (latent grid); 1 for the scatter */
} vaecl_plot_layout;

/* Returns 0, or -1 (vaecl_fail) for arguments vaecl_plot_latent_grid would refuse. */
int vaecl_plot_latent_grid_layout(int n, int img_h, int img_w, double zmin, double zmax,
                                  vaecl_plot_layout *out);
void vaecl_plot_label_clusters_layout(vaecl_plot_layout *out);

/* A line chart against epoch, e.g. a training run's losses. */
typedef struct {
  const char *name;     /* in the legend */
  const double *values; /* one per point; a non-finite value leaves a gap */
} vaecl_plot_curve;
/* x[i] (finite, increasing; 1 or more points) against each curve's values[i]: curve k in
 * vaecl_plot_palette[k], 2 pixels wide, with a disc of radius 3 on each point, a legend at the top
 * right naming the curves (1 to 10), ticks at nice numbers (whole numbers on x), xlabel and ylabel
 * on the axes. */
int vaecl_plot_curves(const char *path, const double *x, size_t points,
                      const vaecl_plot_curve *curves, int count, const char *xlabel,
                      const char *ylabel);
/* The figure's layout for those arguments (the data area depends on the y tick labels). */
int vaecl_plot_curves_layout(const double *x, size_t points, const vaecl_plot_curve *curves,
                             int count, vaecl_plot_layout *out);

/* A titled grid of images: what `vaecl sample`, `reconstruct`, `interpolate` and `score` draw.
 * images: count pointers to images of img_h*img_w*channels floats, NHWC, drawn like the latent
 * grid's cells (grey, or RGB for 3 and 4 channels), cols to a row, in reading order; a NULL
 * pointer leaves its cell white. title: one non-empty
 * line above the images. captions: NULL, or count strings (NULL entries allowed) written small
 * under their images, cut to the image's width. Returns 0, or -1 (vaecl_fail) naming path. */
int vaecl_plot_image_tiles(const char *path, const char *title, const float *const *images,
                           int count, int cols, int img_h, int img_w, int channels,
                           const char *const *captions);

/* Where vaecl_plot_image_tiles puts things. Image i sits at (x + (i % cols) * pitch_x,
 * y + (i / cols) * pitch_y), each of its pixels a scale x scale block (scale 3, 2 or 1, as the
 * latent grid chooses it); everything that is not an image, the title or a caption is white.
 * The title is drawn at text scale 2 from (title_x, title_y), the top of its glyph cells; a
 * caption is drawn at scale 1 caption_dy pixels below its image's top. */
typedef struct {
  int width, height;
  int x, y, pitch_x, pitch_y, scale;
  int rows;
  int title_x, title_y, caption_dy;
} vaecl_plot_tiles_layout;

int vaecl_plot_image_tiles_layout(int count, int cols, int img_h, int img_w, const char *title,
                                  int with_captions, vaecl_plot_tiles_layout *out);

/* matplotlib's qualitative 'tab10' colours (RGB), one per class. */
extern const unsigned char vaecl_plot_palette[10][3];

/* The colour of class k of class_count: tab10 for up to 10 classes, matplotlib's 'tab20' for up
 * to 20, else class_count hues evenly spaced around the colour wheel. */
void vaecl_plot_class_colour(int k, int class_count, unsigned char rgb[3]);

#ifdef __cplusplus
}
#endif
#endif
