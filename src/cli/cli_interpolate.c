/* vaecl interpolate: images decoded along the line between two images' latent means. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "util/error.h"
#include "util/pixels.h"
#include <vaecl/evaluate.h>
#include <vaecl/plot.h>

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl [--backend NAME] [--device N] interpolate --model CKPT --from I --to J "
             "--out FILE.png [options]\n"
             "\n"
             "Draws image I, then the images decoded at STEPS evenly spaced points from\n"
             "image I's latent mean to image J's (both ends included), then image J.\n"
             "\n"
             "options:\n"
             "  --model CKPT    a checkpoint written by vaecl train (required)\n"
             "  --from I        the first image's index, from 0 (required)\n"
             "  --to J          the last image's index (required)\n"
             "  --out FILE.png  the picture (required)\n"
             "  --data PATH     IDX files or a PNG folder (default: the t10k test images of\n"
             "                  " VAECL_DEFAULT_DATA_DIR ")\n"
             "  --steps N       points on the line, 2 or more (default 10)\n"
             "  -h, --help      this help\n");
}

int cli_interpolate(const cli_globals *g, int argc, char **argv) {
  const char *model = NULL, *out = NULL, *data = NULL;
  long from = 0, to = 0, steps = 10;
  cli_opt opts[] = {
      {"--model", CLI_OPT_STRING, 0, 0, &model, NULL, 0},
      {"--out", CLI_OPT_STRING, 0, 0, &out, NULL, 0},
      {"--data", CLI_OPT_STRING, 0, 0, &data, NULL, 0},
      {"--from", CLI_OPT_INT, 0, 1L << 30, NULL, &from, 0},
      {"--to", CLI_OPT_INT, 0, 1L << 30, NULL, &to, 0},
      {"--steps", CLI_OPT_INT, 2, 100, NULL, &steps, 0},
  };
  const int parsed = cli_parse_options("interpolate", argc, argv, opts, 6, usage);
  if (parsed != 0)
    return parsed > 0 ? 0 : 2;
  cli_session s = {.verb = "interpolate"};
  int rc = !opts[3].seen || !opts[4].seen ? vaecl_fail("--from I and --to J are required")
           : !out                         ? vaecl_fail("--out FILE.png is required")
                                          : cli_check_output("--out", out);
  if (rc == 0)
    rc = cli_session_model(&s, model);
  if (rc == 0)
    rc = cli_session_data(&s, data, 0);
  if (rc == 0 && ((size_t)from >= s.data.count || (size_t)to >= s.data.count))
    rc = vaecl_fail("--from %ld --to %ld: %s has images 0..%zu", from, to, s.data_name,
                    s.data.count - 1);
  if (rc != 0) {
    rc = cli_session_fail(&s, 2);
    cli_session_close(&s);
    return rc;
  }
  const size_t L = (size_t)s.spec.latent, pixels = vaecl_shape_size(&s.spec.input);
  const int cells = (int)steps + 2;
  float *stats = malloc(2 * 2 * L * sizeof *stats), *z = malloc((size_t)steps * L * sizeof *z);
  float *img = malloc((size_t)cells * pixels * sizeof *img);
  const float **tiles = malloc((size_t)cells * sizeof *tiles);
  char(*captions)[16] = malloc((size_t)cells * sizeof *captions);
  const char **caption_ptrs = malloc((size_t)cells * sizeof *caption_ptrs);
  rc = stats && z && img && tiles && captions && caption_ptrs ? cli_session_device(&s, g, 16)
                                                              : vaecl_fail("out of host memory");
  if (rc == 0)
    rc = vaecl_encode_images(s.m, s.be, &s.data, (size_t)from, 1, stats);
  if (rc == 0)
    rc = vaecl_encode_images(s.m, s.be, &s.data, (size_t)to, 1, stats + 2 * L);
  for (long k = 0; rc == 0 && k < steps; k++) {
    const double t = (double)k / (double)(steps - 1);
    for (size_t j = 0; j < L; j++) /* between the two means */
      z[(size_t)k * L + j] = (float)((1.0 - t) * stats[j] + t * stats[2 * L + j]);
    snprintf(captions[k + 1], sizeof captions[0], "t=%.2f", t);
  }
  if (rc == 0)
    rc = vaecl_decode_many(s.m, z, (size_t)steps, img + pixels);
  if (rc == 0) {
    const long ends[2] = {from, to};
    for (int e = 0; e < 2; e++) {
      float *dst = img + (e ? (size_t)(cells - 1) : 0) * pixels;
      const uint8_t *src = s.data.pixels + (size_t)ends[e] * pixels;
      for (size_t p = 0; p < pixels; p++)
        dst[p] = vaecl_pixel_value(src[p]);
      snprintf(captions[e ? cells - 1 : 0], sizeof captions[0], "#%ld", ends[e]);
    }
    for (int i = 0; i < cells; i++) {
      tiles[i] = img + (size_t)i * pixels;
      caption_ptrs[i] = captions[i];
    }
    char title[512];
    snprintf(title, sizeof title,
             "image %ld to image %ld of %s: decoded along the line between their means", from, to,
             s.data_name);
    rc = vaecl_plot_image_tiles(out, title, tiles, cells, cells, s.spec.input.h, s.spec.input.w,
                                s.spec.input.c, caption_ptrs);
  }
  if (rc == 0)
    printf("wrote %s (image %ld, %ld decoded steps, image %ld)\n", out, from, steps, to);
  else
    cli_session_fail(&s, 1);
  free(stats);
  free(z);
  free(img);
  free(tiles);
  free(captions);
  free(caption_ptrs);
  cli_session_close(&s);
  return rc == 0 ? 0 : 1;
}
