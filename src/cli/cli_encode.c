/* vaecl encode: the encoder's means and log-variances of every image, as CSV. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include <vaecl/evaluate.h>

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl [--backend NAME] [--device N] encode --model CKPT --out FILE.csv "
             "[options]\n"
             "\n"
             "Writes one row per image: index, label (when the data has labels), the latent\n"
             "means mean_0.. and log-variances log_var_0.., with a header.\n"
             "\n"
             "options:\n"
             "  --model CKPT    a checkpoint written by vaecl train (required)\n"
             "  --out FILE.csv  the table (required)\n"
             "  --data PATH     IDX files or a PNG folder (default: the t10k test images of\n"
             "                  " VAECL_DEFAULT_DATA_DIR ")\n"
             "  --limit N       only the first N images\n"
             "  -h, --help      this help\n");
}

static void write_rows(FILE *f, const vaecl_dataset *d, const float *stats, int L) {
  fprintf(f, "index%s", d->labels ? ",label" : "");
  for (int j = 0; j < L; j++)
    fprintf(f, ",mean_%d", j);
  for (int j = 0; j < L; j++)
    fprintf(f, ",log_var_%d", j);
  fputc('\n', f);
  for (size_t i = 0; i < d->count; i++) {
    fprintf(f, "%zu", i);
    if (d->labels)
      fprintf(f, ",%u", (unsigned)d->labels[i]);
    for (int j = 0; j < 2 * L; j++) /* %.9g: a float read back exactly */
      fprintf(f, ",%.9g", (double)stats[i * 2 * (size_t)L + (size_t)j]);
    fputc('\n', f);
  }
}

int cli_encode(const cli_globals *g, int argc, char **argv) {
  const char *model = NULL, *out = NULL, *data = NULL;
  long limit = 0;
  cli_opt opts[] = {
      {"--model", CLI_OPT_STRING, 0, 0, &model, NULL, 0},
      {"--out", CLI_OPT_STRING, 0, 0, &out, NULL, 0},
      {"--data", CLI_OPT_STRING, 0, 0, &data, NULL, 0},
      {"--limit", CLI_OPT_INT, 1, 1L << 30, NULL, &limit, 0},
  };
  const int parsed = cli_parse_options("encode", argc, argv, opts, 4, usage);
  if (parsed != 0)
    return parsed > 0 ? 0 : 2;
  cli_session s = {.verb = "encode"};
  int rc = out ? cli_check_output("--out", out) : vaecl_fail("--out FILE.csv is required");
  if (rc == 0)
    rc = cli_session_model(&s, model);
  if (rc == 0)
    rc = cli_session_data(&s, data, limit);
  if (rc != 0) {
    rc = cli_session_fail(&s, 2);
    cli_session_close(&s);
    return rc;
  }
  const int L = s.spec.latent;
  float *stats = malloc(s.data.count * 2 * (size_t)L * sizeof *stats);
  rc = stats ? cli_session_device(&s, g, 128) : vaecl_fail("out of host memory");
  if (rc == 0)
    rc = vaecl_encode_images(s.m, s.be, &s.data, 0, s.data.count, stats);
  vaecl_atomic_file f;
  if (rc == 0 && (rc = vaecl_atomic_open(&f, out)) == 0) {
    write_rows(f.f, &s.data, stats, L);
    rc = vaecl_atomic_commit(&f, 0);
  }
  if (rc == 0)
    printf("wrote %s (%zu images, %d latent dimensions)\n", out, s.data.count, L);
  else
    cli_session_fail(&s, 1);
  free(stats);
  cli_session_close(&s);
  return rc == 0 ? 0 : 1;
}
