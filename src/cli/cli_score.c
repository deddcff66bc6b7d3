/* vaecl score: a per-image anomaly score (the negative ELBO, or the IWAE bound on -log p(x)),
 * and a picture of the highest-scoring images. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/pixels.h"
#include <vaecl/evaluate.h>
#include <vaecl/plot.h>

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl [--backend NAME] [--device N] score --model CKPT --data PATH --out "
             "FILE.csv [options]\n"
             "\n"
             "Scores every image: the negative ELBO from one draw of q(z|x), or with --samples K\n"
             "the IWAE bound on -log p(x) from K draws (nats; higher is more unusual). Writes\n"
             "index, label (if any), score, neg_elbo, reconstruction, kl (and iwae) per image.\n"
             "\n"
             "options:\n"
             "  --model CKPT       a checkpoint written by vaecl train (required)\n"
             "  --data PATH        IDX files or a PNG folder (default: the t10k test images of\n"
             "                     " VAECL_DEFAULT_DATA_DIR ")\n"
             "  --out FILE.csv     the scores (required)\n"
             "  --samples K        score by the IWAE bound with K draws\n"
             "  --seed S           seeds the draws (default 1)\n"
             "  --limit N          only the first N images\n"
             "  --top N            how many images --top-out shows (default 16)\n"
             "  --top-out FILE.png the highest-scoring images, highest first\n"
             "  -h, --help         this help\n");
}

static const vaecl_image_score *sort_scores;
static int iwae_sort;

static double score_of(const vaecl_image_score *s) {
  return iwae_sort ? s->iwae : s->reconstruction + s->kl;
}

/* Highest score first; equal scores by index. */
static int by_score(const void *a, const void *b) {
  const size_t i = *(const size_t *)a, j = *(const size_t *)b;
  const double x = score_of(&sort_scores[i]), y = score_of(&sort_scores[j]);
  if (x != y)
    return x > y ? -1 : 1;
  return i < j ? -1 : i > j;
}

static void write_rows(FILE *f, const vaecl_dataset *d, const vaecl_image_score *sc, int iwae) {
  fprintf(f, "index%s,score,neg_elbo,reconstruction,kl%s\n", d->labels ? ",label" : "",
          iwae ? ",iwae" : "");
  for (size_t i = 0; i < d->count; i++) {
    const double neg_elbo = sc[i].reconstruction + sc[i].kl;
    fprintf(f, "%zu", i);
    if (d->labels)
      fprintf(f, ",%u", (unsigned)d->labels[i]);
    fprintf(f, ",%.9g,%.9g,%.9g,%.9g", iwae ? sc[i].iwae : neg_elbo, neg_elbo, sc[i].reconstruction,
            sc[i].kl);
    if (iwae)
      fprintf(f, ",%.9g", sc[i].iwae);
    fputc('\n', f);
  }
}

/* The top images, highest first, each captioned with its score. */
static int draw_top(const cli_session *s, const vaecl_image_score *sc, int iwae, long top,
                    const char *path) {
  const size_t n = s->data.count, pixels = vaecl_shape_size(&s->spec.input);
  const size_t shown = (size_t)top < n ? (size_t)top : n;
  size_t *order = malloc(n * sizeof *order);
  float *img = malloc(shown * pixels * sizeof *img);
  const float **tiles = malloc(shown * sizeof *tiles);
  char(*text)[24] = malloc(shown * sizeof *text);
  const char **captions = malloc(shown * sizeof *captions);
  int rc = order && img && tiles && text && captions ? 0 : vaecl_fail("out of host memory");
  for (size_t i = 0; rc == 0 && i < n; i++)
    order[i] = i;
  sort_scores = sc;
  iwae_sort = iwae;
  if (rc == 0)
    qsort(order, n, sizeof *order, by_score);
  for (size_t k = 0; rc == 0 && k < shown; k++) {
    const uint8_t *src = s->data.pixels + order[k] * pixels;
    for (size_t p = 0; p < pixels; p++)
      img[k * pixels + p] = vaecl_pixel_value(src[p]);
    tiles[k] = img + k * pixels;
    snprintf(text[k], sizeof text[0], "%.1f", score_of(&sc[order[k]]));
    captions[k] = text[k];
  }
  char title[512];
  snprintf(title, sizeof title, "the %zu highest-scoring of %zu images of %s (%s, nats)", shown, n,
           s->data_name, iwae ? "IWAE bound on -log p(x)" : "negative ELBO");
  if (rc == 0)
    rc = vaecl_plot_image_tiles(path, title, tiles, (int)shown, shown < 8 ? (int)shown : 8,
                                s->spec.input.h, s->spec.input.w, s->spec.input.c, captions);
  free(order);
  free(img);
  free(tiles);
  free(text);
  free(captions);
  return rc;
}

int cli_score(const cli_globals *g, int argc, char **argv) {
  const char *model = NULL, *out = NULL, *data = NULL, *top_out = NULL;
  long samples = 1, seed = 1, limit = 0, top = 16;
  cli_opt opts[] = {
      {"--model", CLI_OPT_STRING, 0, 0, &model, NULL, 0},
      {"--out", CLI_OPT_STRING, 0, 0, &out, NULL, 0},
      {"--data", CLI_OPT_STRING, 0, 0, &data, NULL, 0},
      {"--samples", CLI_OPT_INT, 1, VAECL_EVAL_MAX_SAMPLES, NULL, &samples, 0},
      {"--seed", CLI_OPT_INT, 0, 0x7fffffffL, NULL, &seed, 0},
      {"--limit", CLI_OPT_INT, 1, 1L << 30, NULL, &limit, 0},
      {"--top", CLI_OPT_INT, 1, 1024, NULL, &top, 0},
      {"--top-out", CLI_OPT_STRING, 0, 0, &top_out, NULL, 0},
  };
  const int parsed = cli_parse_options("score", argc, argv, opts, 8, usage);
  if (parsed != 0)
    return parsed > 0 ? 0 : 2;
  const int iwae = opts[3].seen;
  cli_session s = {.verb = "score"};
  int rc = out ? cli_check_output("--out", out) : vaecl_fail("--out FILE.csv is required");
  if (rc == 0 && top_out)
    rc = cli_check_output("--top-out", top_out);
  if (rc == 0 && opts[6].seen && !top_out)
    rc = vaecl_fail("--top N needs --top-out FILE.png to draw them in");
  if (rc == 0)
    rc = cli_session_model(&s, model);
  if (rc == 0)
    rc = cli_session_data(&s, data, limit);
  if (rc != 0) {
    rc = cli_session_fail(&s, 2);
    cli_session_close(&s);
    return rc;
  }
  vaecl_image_score *sc = malloc(s.data.count * sizeof *sc);
  rc = sc ? cli_session_device(&s, g, 128) : vaecl_fail("out of host memory");
  if (rc == 0) {
    rc = cli_session_evaluate(&s, samples, seed, sc, NULL);
  }
  vaecl_atomic_file f;
  if (rc == 0 && (rc = vaecl_atomic_open(&f, out)) == 0) {
    write_rows(f.f, &s.data, sc, iwae);
    rc = vaecl_atomic_commit(&f, 0);
  }
  if (rc == 0)
    printf("wrote %s (%zu images scored by the %s)\n", out, s.data.count,
           iwae ? "IWAE bound" : "negative ELBO");
  if (rc == 0 && top_out && (rc = draw_top(&s, sc, iwae, top, top_out)) == 0)
    printf("wrote %s (the %ld highest-scoring images)\n", top_out,
           top < (long)s.data.count ? top : (long)s.data.count);
  if (rc != 0)
    cli_session_fail(&s, 1);
  free(sc);
  cli_session_close(&s);
  return rc == 0 ? 0 : 1;
}
