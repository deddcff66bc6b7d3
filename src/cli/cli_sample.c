/* vaecl sample: images decoded from draws of the prior N(0, I), tiled in one PNG. */
#include <stdio.h>

#include "cli/cli.h"
#include "util/error.h"
#include <vaecl/model_pictures.h>

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl [--backend NAME] [--device N] sample --model CKPT --out FILE.png "
             "[options]\n"
             "\n"
             "Decodes N draws from the prior N(0, I) and tiles them in a PNG (the decoder's\n"
             "pixel probabilities or means).\n"
             "\n"
             "options:\n"
             "  --model CKPT    a checkpoint written by vaecl train (required)\n"
             "  --out FILE.png  the picture (required)\n"
             "  --n N           how many images (default 64)\n"
             "  --seed S        seeds the draws (default 1)\n"
             "  -h, --help      this help\n");
}

int cli_sample(const cli_globals *g, int argc, char **argv) {
  const char *model = NULL, *out = NULL;
  long n = 64, seed = 1;
  cli_opt opts[] = {
      {"--model", CLI_OPT_STRING, 0, 0, &model, NULL, 0},
      {"--out", CLI_OPT_STRING, 0, 0, &out, NULL, 0},
      {"--n", CLI_OPT_INT, 1, 1024, NULL, &n, 0},
      {"--seed", CLI_OPT_INT, 0, 0x7fffffffL, NULL, &seed, 0},
  };
  const int parsed = cli_parse_options("sample", argc, argv, opts, 4, usage);
  if (parsed != 0)
    return parsed > 0 ? 0 : 2;
  cli_session s = {.verb = "sample"};
  int rc = 0;
  if (!out)
    rc = vaecl_fail("--out FILE.png is required");
  if (rc == 0)
    rc = cli_check_output("--out", out);
  if (rc == 0)
    rc = cli_session_model(&s, model);
  if (rc != 0) {
    rc = cli_session_fail(&s, 2);
    cli_session_close(&s);
    return rc;
  }
  rc = cli_session_device(&s, g, n < 128 ? (int)n : 128);
  if (rc == 0) {
    char title[512];
    snprintf(title, sizeof title, "%ld samples of %s: z ~ N(0, I), seed %ld, decoded", n, model,
             seed);
    rc = vaecl_picture_samples(s.m, out, title, (int)n, (uint64_t)seed);
  }
  if (rc == 0)
    printf("wrote %s (%ld images decoded from the prior, seed %ld)\n", out, n, seed);
  else
    cli_session_fail(&s, 1);
  cli_session_close(&s);
  return rc == 0 ? 0 : 1;
}
