/* The verbs on a trained model, as a user runs them: eval, sample, reconstruct, encode,
 * interpolate and score on a small model trained here on real images. Their files parse (PNG
 * sizes from the tiles layout, CSV headers, rows and columns); their numbers equal the library's
 * (which test_evaluate checks against the double-precision reference); their pictures hold the
 * data's own pixels, or the decoder's, where the layout puts them; and every bad checkpoint,
 * data set, index and output path is one line, exit code 2, and no file left behind. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "testdevice.h"
#include "testutil.h"
#include "util/philox.h"
#include <vaecl.h>
#include <vaecl/evaluate.h>
#include <vaecl/idx.h>
#include <vaecl/model_pictures.h>
#include <vaecl/plot.h>

static const char *bin;
static char *workdir, datadir[4200], smalldir[4200], ckpt[4200], model_file[4200], corrupt[4200];
static vaecl_dataset data; /* the fixture's images, as the verbs read them */

/* A small dense VAE: an epoch on 256 images takes a moment on PoCL. */
static const char *const tiny_model = "input 28 28 1\n"
                                      "encoder\n"
                                      "flatten\n"
                                      "dense units=32 activation=relu\n"
                                      "latent 2\n"
                                      "decoder\n"
                                      "dense units=32 activation=relu\n"
                                      "dense units=784 activation=sigmoid\n"
                                      "reshape 28 28 1\n"
                                      "output bernoulli\n";

/* ---- running the command ---- */

static int run(const char *args, char **output) {
  char cmd[16384];
  snprintf(cmd, sizeof cmd, "'%s' %s 2>&1 </dev/null", bin, args);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  size_t cap = 1 << 16, len = 0, got;
  char *out = malloc(cap);
  while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
    len += got;
    if (len + 1 == cap)
      out = realloc(out, cap *= 2);
  }
  out[len] = '\0';
  const int status = pclose(p);
  *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *run_ok(const char *args) {
  char *out;
  const int rc = run(args, &out);
  ck_assert_msg(rc == 0, "vaecl %s: exit %d:\n%s", args, rc, out);
  return out;
}

static void path_in(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", workdir, name);
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* ---- reading what the verbs wrote ---- */

typedef test_image image;

/* Cell i of a tiles layout, as 28x28 greys (the first channel of each block's top-left pixel),
 * after checking that each scale x scale block is one grey. */
static void cell_greys(const image *im, const vaecl_plot_tiles_layout *a, int cols, int i,
                       uint8_t out[784]) {
  const int x0 = a->x + (i % cols) * a->pitch_x, y0 = a->y + (i / cols) * a->pitch_y;
  for (int r = 0; r < 28; r++)
    for (int c = 0; c < 28; c++) {
      const uint8_t *p = im->px + 3 * ((size_t)(y0 + r * a->scale) * im->w + x0 + c * a->scale);
      for (int k = 0; k < a->scale * a->scale; k++) {
        const uint8_t *q = p + 3 * ((size_t)(k / a->scale) * im->w + k % a->scale);
        ck_assert_msg(q[0] == p[0] && q[1] == p[0] && q[2] == p[0], "cell %d (%d,%d) not grey", i,
                      r, c);
      }
      out[r * 28 + c] = p[0];
    }
}

static int cell_is_white(const image *im, const vaecl_plot_tiles_layout *a, int cols, int i) {
  uint8_t g[784];
  cell_greys(im, a, cols, i, g);
  for (int k = 0; k < 784; k++)
    if (g[k] != 255)
      return 0;
  return 1;
}

/* The data's image i exactly: a byte b is drawn as round(255 * b / 255) = b. */
static void expect_data_image(const image *im, const vaecl_plot_tiles_layout *a, int cols, int cell,
                              size_t index) {
  uint8_t g[784];
  cell_greys(im, a, cols, cell, g);
  for (int k = 0; k < 784; k++)
    ck_assert_msg(g[k] == data.pixels[index * 784 + k], "cell %d pixel %d: %d, image %zu has %d",
                  cell, k, g[k], index, data.pixels[index * 784 + k]);
}

/* Decoded pixel probabilities: within one grey level of round(255 p) (the verb and the test may
 * batch differently, which can move the last float bit across a rounding boundary). */
static void expect_decoded(const image *im, const vaecl_plot_tiles_layout *a, int cols, int cell,
                           const float *p) {
  uint8_t g[784];
  cell_greys(im, a, cols, cell, g);
  int differ = 0;
  for (int k = 0; k < 784; k++) {
    const double want = round(255.0 * fmin(fmax(p[k], 0.0), 1.0));
    ck_assert_msg(fabs(g[k] - want) <= 1, "cell %d pixel %d: %d, decoder gives %g", cell, k, g[k],
                  want);
    differ += g[k] != data.pixels[k];
  }
  ck_assert_msg(differ > 0, "cell %d is image 0 itself, not a decoded image", cell);
}

typedef struct {
  int rows, cols;
  char header[1024];
  double *v; /* rows x cols */
} csv;

static csv load_csv(const char *path, int want_cols) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "%s missing", path);
  csv t = {0};
  ck_assert_ptr_nonnull(fgets(t.header, sizeof t.header, f));
  t.header[strcspn(t.header, "\n")] = '\0';
  t.cols = 1;
  for (const char *c = t.header; *c; c++)
    t.cols += *c == ',';
  ck_assert_int_eq(t.cols, want_cols);
  size_t cap = 64;
  t.v = malloc(cap * (size_t)t.cols * sizeof *t.v);
  char line[8192];
  while (fgets(line, sizeof line, f)) {
    ck_assert_msg(strchr(line, '\n'), "%s: line %d is cut", path, t.rows + 2);
    if ((size_t)t.rows == cap)
      t.v = realloc(t.v, (cap *= 2) * (size_t)t.cols * sizeof *t.v);
    char *s = line, *end;
    for (int c = 0; c < t.cols; c++) {
      t.v[(size_t)t.rows * t.cols + c] = strtod(s, &end);
      ck_assert_msg(end != s && *end == (c + 1 < t.cols ? ',' : '\n'),
                    "%s: row %d column %d does not parse", path, t.rows + 1, c);
      s = end + 1;
    }
    t.rows++;
  }
  fclose(f);
  return t;
}

#define CELL(t, r, c) ((t).v[(size_t)(r) * (t).cols + (c)])

/* ---- the model in this process, for the figures the verbs should draw ---- */

static vaecl_model *open_model(void) {
  vaecl_checkpoint ck;
  vaecl_model_spec spec;
  ck_assert_msg(vaecl_checkpoint_load(ckpt, &ck) == 0, "%s", vaecl_last_error());
  ck_assert_int_eq(vaecl_model_spec_parse(ck.model_text, "tiny", &spec), 0);
  vaecl_model *m = vaecl_model_create(be, &spec, 128, ck.seed);
  ck_assert_ptr_nonnull(m);
  ck_assert_msg(vaecl_model_from_checkpoint(m, &ck) == 0, "%s", vaecl_last_error());
  vaecl_checkpoint_free(&ck);
  vaecl_model_spec_free(&spec);
  return m;
}

/* Finds "label: <number>" in text. */
static double figure_after(const char *text, const char *label) {
  const char *p = strstr(text, label);
  ck_assert_msg(p != NULL, "no '%s' in:\n%s", label, text);
  char *end;
  const double v = strtod(p + strlen(label), &end);
  ck_assert_msg(end != p + strlen(label), "no number after '%s'", label);
  return v;
}

/* ---- the verbs ---- */

/* eval's figures are the library's, to the digits printed; score's IWAE column, with the same
 * seed and draws per image, averages to eval's bound. */
START_TEST(eval_prints_the_library_figures) {
  char args[20000], csvp[4200];
  snprintf(args, sizeof args, "eval --model '%s' --data '%s' --limit 64 --samples 8 --seed 3", ckpt,
           datadir);
  char *out = run_ok(args);
  const double loss = figure_after(out, "loss: "), rec = figure_after(out, "reconstruction_loss: ");
  const double kl = figure_after(out, "kl_loss: "), nelbo = figure_after(out, "negative ELBO: ");
  const double nelbo_bpd = figure_after(out, "nats/image, ");
  const double iwae = figure_after(out, "-log p(x) <= ");
  ck_assert_msg(strstr(out, "IWAE bound (K=8)"), "%s", out);
  vaecl_model *m = open_model();
  vaecl_dataset first = data;
  first.count = 64;
  vaecl_eval_options o = vaecl_eval_defaults();
  o.samples = 8;
  o.seed = 3;
  vaecl_eval_summary s;
  ck_assert_int_eq(vaecl_evaluate(m, be, &first, &o, NULL, &s), 0);
  /* printed with 4 decimals (5 for bits/dim): half a unit of the last digit */
  ck_assert_msg(fabs(loss - s.loss) <= 5e-5 && fabs(rec - s.reconstruction) <= 5e-5 &&
                    fabs(kl - s.kl) <= 5e-5 && fabs(nelbo - s.neg_elbo) <= 5e-5 &&
                    fabs(iwae - s.iwae) <= 5e-5,
                "printed %s\nlibrary: loss %.4f rec %.4f kl %.4f -elbo %.4f iwae %.4f", out, s.loss,
                s.reconstruction, s.kl, s.neg_elbo, s.iwae);
  ck_assert_msg(fabs(nelbo_bpd - s.neg_elbo / (784 * log(2.0))) <= 5e-6, "bits/dim %.5f",
                nelbo_bpd);
  free(out);
  path_in(csvp, sizeof csvp, "eval-score.csv");
  snprintf(args, sizeof args,
           "score --model '%s' --data '%s' --limit 64 --samples 8 --seed 3 --out '%s'", ckpt,
           datadir, csvp);
  free(run_ok(args));
  csv t = load_csv(csvp, 7);
  ck_assert_str_eq(t.header, "index,label,score,neg_elbo,reconstruction,kl,iwae");
  ck_assert_int_eq(t.rows, 64);
  double mean = 0;
  for (int r = 0; r < t.rows; r++)
    mean += CELL(t, r, 6) / t.rows;
  ck_assert_msg(fabs(mean - s.iwae) <= 1e-5 * fabs(s.iwae), "score's iwae mean %.6f, eval %.6f",
                mean, s.iwae);
  free(t.v);
  vaecl_model_destroy(m);
}
END_TEST

/* score without --samples: one draw, the score is the negative ELBO; rows in data order with
 * labels; the top picture holds the highest-scoring images, highest first. */
START_TEST(score_writes_rows_and_top_images) {
  char args[20000], csvp[4200], png[4200];
  path_in(csvp, sizeof csvp, "scores.csv");
  path_in(png, sizeof png, "top.png");
  snprintf(args, sizeof args,
           "score --model '%s' --data '%s' --limit 100 --out '%s' --top 5 --top-out '%s'", ckpt,
           datadir, csvp, png);
  char *out = run_ok(args);
  ck_assert_msg(strstr(out, "negative ELBO"), "%s", out);
  free(out);
  csv t = load_csv(csvp, 6);
  ck_assert_str_eq(t.header, "index,label,score,neg_elbo,reconstruction,kl");
  ck_assert_int_eq(t.rows, 100);
  vaecl_model *m = open_model();
  vaecl_dataset first = data;
  first.count = 100;
  vaecl_eval_options o = vaecl_eval_defaults();
  o.samples = 1;
  vaecl_image_score sc[100];
  ck_assert_int_eq(vaecl_evaluate(m, be, &first, &o, sc, NULL), 0);
  for (int r = 0; r < 100; r++) {
    ck_assert_int_eq((int)CELL(t, r, 0), r);
    ck_assert_int_eq((int)CELL(t, r, 1), data.labels[r]);
    const double ne = sc[r].reconstruction + sc[r].kl;
    ck_assert_msg(fabs(CELL(t, r, 2) - ne) <= 1e-6 * ne && CELL(t, r, 2) == CELL(t, r, 3),
                  "row %d: score %.9g, library %.9g", r, CELL(t, r, 2), ne);
    ck_assert(fabs(CELL(t, r, 4) - sc[r].reconstruction) <= 1e-6 * ne);
    ck_assert(fabs(CELL(t, r, 5) - sc[r].kl) <= 1e-6 * ne + 1e-9);
  }
  /* the five highest scores, ties by index: selection by repeated maximum */
  int top[5], taken[100] = {0};
  for (int k = 0; k < 5; k++) {
    int best = -1;
    for (int r = 0; r < 100; r++)
      if (!taken[r] && (best < 0 || CELL(t, r, 2) > CELL(t, best, 2)))
        best = r;
    taken[best] = 1;
    top[k] = best;
  }
  image im = test_load_png_rgb(png);
  vaecl_plot_tiles_layout a;
  ck_assert_int_eq(vaecl_plot_image_tiles_layout(5, 8, 28, 28, "x", 1, &a), 0);
  ck_assert_int_eq(im.h, a.height);
  ck_assert_int_ge(im.w, a.width);
  for (int k = 0; k < 5; k++)
    expect_data_image(&im, &a, 5, k, (size_t)top[k]);
  free(im.px);
  free(t.v);
  vaecl_model_destroy(m);
}
END_TEST

START_TEST(encode_writes_means_and_log_variances) {
  char args[20000], csvp[4200];
  path_in(csvp, sizeof csvp, "codes.csv");
  snprintf(args, sizeof args, "encode --model '%s' --data '%s' --limit 300 --out '%s'", ckpt,
           datadir, csvp);
  free(run_ok(args));
  csv t = load_csv(csvp, 6);
  ck_assert_str_eq(t.header, "index,label,mean_0,mean_1,log_var_0,log_var_1");
  ck_assert_int_eq(t.rows, 300);
  vaecl_model *m = open_model();
  float *stats = malloc(300 * 4 * sizeof *stats);
  ck_assert_int_eq(vaecl_encode_images(m, be, &data, 0, 300, stats), 0);
  for (int r = 0; r < 300; r++) {
    ck_assert_int_eq((int)CELL(t, r, 0), r);
    ck_assert_int_eq((int)CELL(t, r, 1), data.labels[r]);
    for (int j = 0; j < 4; j++) /* %.9g reads back the float exactly */
      ck_assert_msg((float)CELL(t, r, 2 + j) == stats[r * 4 + j], "row %d column %d: %.9g vs %.9g",
                    r, 2 + j, CELL(t, r, 2 + j), (double)stats[r * 4 + j]);
  }
  free(stats);
  free(t.v);
  vaecl_model_destroy(m);
}
END_TEST

/* 20 images from index 3, 16 to a row: row 0 images 3..18, row 1 their reconstructions, row 2
 * images 19..22, row 3 theirs, the rest of rows 2 and 3 white. */
START_TEST(reconstruct_draws_originals_above_reconstructions) {
  char args[20000], png[4200];
  path_in(png, sizeof png, "recon.png");
  snprintf(args, sizeof args, "reconstruct --model '%s' --data '%s' --n 20 --first 3 --out '%s'",
           ckpt, datadir, png);
  free(run_ok(args));
  image im = test_load_png_rgb(png);
  vaecl_plot_tiles_layout a;
  ck_assert_int_eq(vaecl_plot_image_tiles_layout(64, 16, 28, 28, "x", 0, &a), 0);
  ck_assert_int_eq(im.h, a.height);
  ck_assert_int_ge(im.w, a.width); /* wider when the title is */
  vaecl_model *m = open_model();
  float stats[20 * 4], z[20 * 2], *dec = malloc(20 * 784 * sizeof *dec);
  ck_assert_int_eq(vaecl_encode_images(m, be, &data, 3, 20, stats), 0);
  for (int i = 0; i < 20; i++)
    z[2 * i] = stats[4 * i], z[2 * i + 1] = stats[4 * i + 1];
  ck_assert_int_eq(vaecl_decode_many(m, z, 20, dec), 0);
  for (int i = 0; i < 20; i++) {
    const int row = i / 16, col = i % 16;
    expect_data_image(&im, &a, 16, 2 * row * 16 + col, 3 + (size_t)i);
    expect_decoded(&im, &a, 16, (2 * row + 1) * 16 + col, dec + i * 784);
  }
  for (int col = 4; col < 16; col++)
    ck_assert(cell_is_white(&im, &a, 16, 32 + col) && cell_is_white(&im, &a, 16, 48 + col));
  free(dec);
  free(im.px);
  vaecl_model_destroy(m);
}
END_TEST

/* The prior's draws from the documented stream, decoded; another seed, another picture. */
START_TEST(sample_decodes_prior_draws) {
  char args[20000], png[4200], png2[4200];
  path_in(png, sizeof png, "samples.png");
  path_in(png2, sizeof png2, "samples2.png");
  snprintf(args, sizeof args, "sample --model '%s' --n 10 --seed 5 --out '%s'", ckpt, png);
  free(run_ok(args));
  snprintf(args, sizeof args, "sample --model '%s' --n 10 --seed 6 --out '%s'", ckpt, png2);
  free(run_ok(args));
  image im = test_load_png_rgb(png), im2 = test_load_png_rgb(png2);
  vaecl_plot_tiles_layout a;
  ck_assert_int_eq(vaecl_plot_image_tiles_layout(10, 4, 28, 28, "x", 0, &a), 0);
  ck_assert_int_eq(im.h, a.height);
  ck_assert_int_eq(a.rows, 3);
  vaecl_model *m = open_model();
  float z[20], *dec = malloc(10 * 784 * sizeof *dec);
  for (int i = 0; i < 20; i++)
    z[i] = (float)vaecl_philox_normal(5, VAECL_SAMPLE_STREAM, (uint32_t)i);
  ck_assert_int_eq(vaecl_decode_many(m, z, 10, dec), 0);
  for (int i = 0; i < 10; i++)
    expect_decoded(&im, &a, 4, i, dec + i * 784);
  ck_assert(cell_is_white(&im, &a, 4, 10) && cell_is_white(&im, &a, 4, 11));
  ck_assert_int_eq(im.w * im.h, im2.w * im2.h);
  ck_assert_msg(memcmp(im.px, im2.px, (size_t)im.w * im.h * 3) != 0, "seed 6 drew seed 5's");
  free(dec);
  free(im.px);
  free(im2.px);
  vaecl_model_destroy(m);
}
END_TEST

/* Image 2, five points from its mean to image 7's (ends included), image 7, in one row. */
START_TEST(interpolate_decodes_the_line) {
  char args[20000], png[4200];
  path_in(png, sizeof png, "interp.png");
  snprintf(args, sizeof args,
           "interpolate --model '%s' --data '%s' --from 2 --to 7 --steps 5 --out '%s'", ckpt,
           datadir, png);
  free(run_ok(args));
  image im = test_load_png_rgb(png);
  vaecl_plot_tiles_layout a;
  ck_assert_int_eq(vaecl_plot_image_tiles_layout(7, 7, 28, 28, "x", 1, &a), 0);
  ck_assert_int_eq(im.h, a.height);
  ck_assert_int_eq(a.rows, 1);
  vaecl_model *m = open_model();
  float stats[8], z[10], dec[5 * 784];
  ck_assert_int_eq(vaecl_encode_images(m, be, &data, 2, 1, stats), 0);
  ck_assert_int_eq(vaecl_encode_images(m, be, &data, 7, 1, stats + 4), 0);
  for (int k = 0; k < 5; k++)
    for (int j = 0; j < 2; j++)
      z[2 * k + j] = (float)((1 - k / 4.0) * stats[j] + k / 4.0 * stats[4 + j]);
  ck_assert_int_eq(vaecl_decode_many(m, z, 5, dec), 0);
  expect_data_image(&im, &a, 7, 0, 2);
  for (int k = 0; k < 5; k++)
    expect_decoded(&im, &a, 7, 1 + k, dec + k * 784);
  expect_data_image(&im, &a, 7, 6, 7);
  /* captions under every image: some ink below each */
  for (int i = 0; i < 7; i++) {
    int ink = 0;
    const int x0 = a.x + i * a.pitch_x, y0 = a.y + a.caption_dy;
    for (int y = y0; y < a.y + a.pitch_y && y < im.h; y++)
      for (int x = x0; x < x0 + 28 * a.scale; x++)
        ink += im.px[3 * ((size_t)y * im.w + x)] == 0;
    ck_assert_msg(ink > 0, "no caption under image %d", i);
  }
  free(im.px);
  vaecl_model_destroy(m);
}
END_TEST

/* fmt with {C} the checkpoint, {D} the data, {P} png, {V} csv, {W} the work directory, {M} a
 * model file, {X} a corrupt checkpoint. */
static void expand(char *out, size_t size, const char *fmt, const char *png, const char *csvp) {
  const char *keys = "CDPVWMX", *vals[7] = {ckpt, datadir, png, csvp, workdir, model_file, corrupt};
  size_t n = 0;
  for (const char *f = fmt; *f; f++) {
    const char *k = f[0] == '{' && f[1] && f[2] == '}' ? strchr(keys, f[1]) : NULL;
    const char *piece = k ? vals[k - keys] : NULL;
    const size_t len = piece ? strlen(piece) : 1;
    ck_assert_uint_lt(n + len, size);
    memcpy(out + n, piece ? piece : f, len);
    n += len;
    f += piece ? 2 : 0;
  }
  out[n] = '\0';
}

/* Each bad input: exit 2, one line that names it, and neither the output nor its temporary. */
START_TEST(errors_are_one_line_exit_2_and_leave_nothing) {
  char out_png[4200], out_csv[4200], args[16384];
  path_in(out_png, sizeof out_png, "never.png");
  path_in(out_csv, sizeof out_csv, "never.csv");
  const struct {
    const char *fmt; /* with the placeholders of expand() */
    const char *what;
  } cases[] = {
      {"eval --model /nonexistent.ckpt --data '{D}'", "/nonexistent.ckpt"},
      {"sample --model '{W}/none.ckpt' --out '{P}'", "none.ckpt"},
      {"eval --model '{M}' --data '{D}'", "model file without weights"},
      {"encode --model '{X}' --data '{D}' --out '{V}'", "checksum"},
      {"reconstruct --model '{X}' --data '{D}' --out '{P}'", "corrupt"},
      {"eval --model '{C}' --data '{W}/small'", "5x5x1"},
      {"score --model '{C}' --data '{W}/small' --out '{V}'", "model expects 28x28x1"},
      {"encode --model '{C}' --data /nonexistent/data --out '{V}'", "/nonexistent/data"},
      {"interpolate --model '{C}' --data '{D}' --from 0 --to 1024 --out '{P}'", "0..1023"},
      {"interpolate --model '{C}' --data '{D}' --from 1024 --to 0 --out '{P}'", "--from 1024"},
      {"reconstruct --model '{C}' --data '{D}' --first 1010 --n 16 --out '{P}'", "1010..1025"},
      {"sample --model '{C}' --out /nonexistent/dir/s.png", "/nonexistent/dir/s.png"},
      {"sample --model '{C}' --out '{W}'", "is a directory"},
      {"encode --model '{C}' --data '{D}' --out /nonexistent/e.csv", "/nonexistent/e.csv"},
      {"score --model '{C}' --data '{D}' --out '{V}' --top-out /nonexistent/t.png",
       "--top-out /nonexistent/t.png"},
      {"interpolate --model '{C}' --data '{D}' --from 1 --to 2 --out /nonexistent/i.png",
       "/nonexistent/i.png"},
      {"reconstruct --model '{C}' --data '{D}' --out /nonexistent/r.png", "/nonexistent/r.png"},
      {"sample --model '{C}'", "--out FILE.png is required"},
      {"interpolate --model '{C}' --data '{D}' --to 3 --out '{P}'", "--from I and --to J"},
      {"score --model '{C}' --data '{D}' --out '{V}' --top 3", "--top-out"},
      {"eval --model '{C}' --samples 0", "--samples"},
      {"encode --model '{C}' --out '{V}' --frobnicate 1", "--frobnicate"},
      {"reconstruct --model '{C}' --out '{P}' --n", "--n needs a value"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    expand(args, sizeof args, cases[i].fmt, out_png, out_csv);
    char *out;
    const int rc = run(args, &out);
    ck_assert_msg(rc == 2, "vaecl %s: exit %d, expected 2:\n%s", args, rc, out);
    ck_assert_msg(strstr(out, cases[i].what), "vaecl %s: output lacks '%s':\n%s", args,
                  cases[i].what, out);
    ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1, "vaecl %s: not one line:\n%s", args,
                  out);
    ck_assert_msg(strncmp(out, "vaecl", 5) == 0, "vaecl %s: %s", args, out);
    free(out);
    const char *outs[2] = {out_png, out_csv};
    for (int k = 0; k < 2; k++)
      ck_assert_msg(!exists(outs[k]) && test_temps_left(outs[k]) == 0, "vaecl %s left %s", args,
                    outs[k]);
  }
  /* help for every verb */
  static const char *const verbs[] = {"eval",   "sample",      "reconstruct",
                                      "encode", "interpolate", "score"};
  for (int v = 0; v < 6; v++) {
    snprintf(args, sizeof args, "%s --help", verbs[v]);
    char *out = run_ok(args);
    ck_assert_msg(strstr(out, "--model CKPT"), "%s", out);
    free(out);
  }
}
END_TEST

/* The verbs' default data is one split of a directory: vaecl_idx_load_split reads it alone,
 * even beside a split of another shape (which the whole-directory loader refuses). */
START_TEST(one_split_loads_alone) {
  char dir[4300], from[4400], to[4400];
  path_in(dir, sizeof dir, "splits");
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  snprintf(from, sizeof from, "%s/train-images-idx3-ubyte.gz", datadir);
  snprintf(to, sizeof to, "%s/train-images-idx3-ubyte.gz", dir);
  ck_assert_int_eq(symlink(from, to), 0);
  snprintf(from, sizeof from, "%s/t10k-images-idx3-ubyte", smalldir);
  snprintf(to, sizeof to, "%s/t10k-images-idx3-ubyte", dir);
  ck_assert_int_eq(symlink(from, to), 0);
  vaecl_dataset d;
  ck_assert_msg(vaecl_idx_load_split(dir, "t10k", &d) == 0, "%s", vaecl_last_error());
  ck_assert(d.count == 3 && d.rows == 5 && d.cols == 5 && d.channels == 1 && !d.labels);
  vaecl_dataset_free(&d);
  ck_assert_msg(vaecl_idx_load_split(dir, "train", &d) == 0, "%s", vaecl_last_error());
  ck_assert(d.count == 1024 && d.rows == 28 && !d.labels);
  ck_assert_int_eq(memcmp(d.pixels, data.pixels, 1024 * 784), 0);
  vaecl_dataset_free(&d);
  ck_assert_int_eq(vaecl_idx_load_dir(dir, &d), -1);
  ck_assert_int_eq(vaecl_idx_load_split(smalldir, "train", &d), -1);
  ck_assert_msg(strstr(vaecl_last_error(), "no train split"), "%s", vaecl_last_error());
}
END_TEST

/* ---- setting up: data, a trained checkpoint, and broken inputs ---- */

static int write_file(const char *path, const void *bytes, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  const int ok = fwrite(bytes, 1, n, f) == n;
  return fclose(f) == 0 && ok ? 0 : -1;
}

static int copy_file(const char *from, const char *to, long corrupt_at) {
  FILE *f = fopen(from, "rb");
  if (!f)
    return -1;
  static char buf[1 << 24];
  const size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (corrupt_at >= 0 && (size_t)corrupt_at < n)
    buf[corrupt_at] ^= 0x5a;
  return write_file(to, buf, n);
}

static int set_up(void) {
  const char *fixtures = getenv("VAECL_TEST_DATA");
  char from[4400], to[8800], args[16384];
  snprintf(datadir, sizeof datadir, "%s/data", workdir);
  snprintf(smalldir, sizeof smalldir, "%s/small", workdir);
  if (!fixtures || mkdir(datadir, 0755) != 0 || mkdir(smalldir, 0755) != 0)
    return -1;
  const char *pairs[2][2] = {
      {"fashion-mnist-1024-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz"},
      {"fashion-mnist-1024-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte.gz"}};
  for (int i = 0; i < 2; i++) {
    snprintf(from, sizeof from, "%s/fixtures/%s", fixtures, pairs[i][0]);
    snprintf(to, sizeof to, "%s/%s", datadir, pairs[i][1]);
    if (symlink(from, to) != 0)
      return -1;
  }
  /* 3 images of 5x5: the wrong size for any 28x28 model */
  uint8_t idx[16 + 75] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0, 5};
  snprintf(to, sizeof to, "%s/t10k-images-idx3-ubyte", smalldir);
  if (write_file(to, idx, sizeof idx) != 0)
    return -1;
  path_in(model_file, sizeof model_file, "tiny.vae");
  path_in(ckpt, sizeof ckpt, "tiny.ckpt");
  path_in(corrupt, sizeof corrupt, "corrupt.ckpt");
  if (write_file(model_file, tiny_model, strlen(tiny_model)) != 0)
    return -1;
  snprintf(args, sizeof args,
           "'%s' train --model '%s' --data '%s' --limit 256 --batch 64 --epochs 2 --out '%s' "
           "--no-plots >/dev/null",
           bin, model_file, datadir, ckpt);
  if (system(args) != 0 || copy_file(ckpt, corrupt, 3000) != 0)
    return -1;
  return vaecl_dataset_load(datadir, &data);
}

int main(void) {
  bin = getenv("VAECL_BIN");
  if (!bin) {
    fprintf(stderr, "VAECL_BIN is not set (run through ctest)\n");
    return EXIT_FAILURE;
  }
  workdir = test_make_temp_dir("verbs");
  if (!workdir || set_up() != 0) {
    fprintf(stderr, "cannot set up %s: %s\n", workdir ? workdir : "a work directory",
            vaecl_last_error());
    return EXIT_FAILURE;
  }
  Suite *s = suite_create("verbs");
  TCase *tc = tcase_create("verbs");
  tcase_add_unchecked_fixture(tc, test_device_setup, test_device_teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, eval_prints_the_library_figures);
  tcase_add_test(tc, score_writes_rows_and_top_images);
  tcase_add_test(tc, encode_writes_means_and_log_variances);
  tcase_add_test(tc, reconstruct_draws_originals_above_reconstructions);
  tcase_add_test(tc, sample_decodes_prior_draws);
  tcase_add_test(tc, interpolate_decodes_the_line);
  tcase_add_test(tc, errors_are_one_line_exit_2_and_leave_nothing);
  tcase_add_test(tc, one_split_loads_alone);
  suite_add_tcase(s, tc);
  const int rc = vaecl_test_run(s);
  vaecl_dataset_free(&data);
  test_remove_tree(workdir);
  free(workdir);
  return rc;
}
