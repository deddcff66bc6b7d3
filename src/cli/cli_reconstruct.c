/* vaecl reconstruct: images above their reconstructions (decoded at z = mean), as
 * pytorch/examples' VAE shows them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/error.h"
#include <vaecl/model_pictures.h>

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl [--backend NAME] [--device N] reconstruct --model CKPT --out FILE.png "
             "[options]\n"
             "\n"
             "Draws N images, each row of them above a row of their reconstructions (decoded\n"
             "at z = the encoder's mean), 16 to a row.\n"
             "\n"
             "options:\n"
             "  --model CKPT    a checkpoint written by vaecl train (required)\n"
             "  --out FILE.png  the picture (required)\n"
             "  --data PATH     IDX files or a PNG folder (default: the t10k test images of\n"
             "                  " VAECL_DEFAULT_DATA_DIR ")\n"
             "  --n N           how many images (default 16)\n"
             "  --first I       start at image I, counting from 0 (default 0)\n"
             "  -h, --help      this help\n");
}

int cli_reconstruct(const cli_globals *g, int argc, char **argv) {
  const char *model = NULL, *out = NULL, *data = NULL;
  long n = 16, first = 0;
  cli_opt opts[] = {
      {"--model", CLI_OPT_STRING, 0, 0, &model, NULL, 0},
      {"--out", CLI_OPT_STRING, 0, 0, &out, NULL, 0},
      {"--data", CLI_OPT_STRING, 0, 0, &data, NULL, 0},
      {"--n", CLI_OPT_INT, 1, 1024, NULL, &n, 0},
      {"--first", CLI_OPT_INT, 0, 1L << 30, NULL, &first, 0},
  };
  const int parsed = cli_parse_options("reconstruct", argc, argv, opts, 5, usage);
  if (parsed != 0)
    return parsed > 0 ? 0 : 2;
  cli_session s = {.verb = "reconstruct"};
  int rc = out ? cli_check_output("--out", out) : vaecl_fail("--out FILE.png is required");
  if (rc == 0 && cli_session_model(&s, model) == 0 && cli_session_data(&s, data, 0) == 0) {
    if ((size_t)first + (size_t)n > s.data.count)
      rc = vaecl_fail("--first %ld --n %ld needs images %ld..%ld, but %s has %zu (0..%zu)", first,
                      n, first, first + n - 1, s.data_name, s.data.count, s.data.count - 1);
  } else {
    rc = -1;
  }
  if (rc != 0) {
    rc = cli_session_fail(&s, 2);
    cli_session_close(&s);
    return rc;
  }
  rc = cli_session_device(&s, g, n < 128 ? (int)n : 128);
  if (rc == 0) {
    char title[512];
    snprintf(title, sizeof title, "images %ld..%ld of %s above their reconstructions (z = mean)",
             first, first + n - 1, s.data_name);
    rc = vaecl_picture_reconstructions(s.m, s.be, &s.data, (size_t)first, (int)n, out, title);
  }
  if (rc == 0)
    printf("wrote %s (images %ld..%ld and their reconstructions)\n", out, first, first + n - 1);
  else
    cli_session_fail(&s, 1);
  cli_session_close(&s);
  return rc == 0 ? 0 : 1;
}
