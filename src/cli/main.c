/* vaecl: command-line entry point. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include <vaecl.h>

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl [--device N] <command> [options]\n"
             "\n"
             "Train a variational autoencoder on any OpenCL 1.2+ device.\n"
             "\n"
             "commands:\n"
             "  devices   list the OpenCL devices and their index N\n"
             "  train     train the Fashion-MNIST VAE (vaecl train --help)\n"
             "  plot      draw the latent grid and the class clusters of a checkpoint\n"
             "  bench     time training steps on synthetic data (vaecl bench --help)\n"
             "\n"
             "global options:\n"
             "  --device N   use device N from `vaecl devices` (default: the first GPU, else the\n"
             "               first device)\n"
             "  --version    print the version\n"
             "  -h, --help   this help\n");
}

int cli_parse_int(const char *option, const char *text, long min, long max, long *out) {
  char *end;
  errno = 0;
  const long v = strtol(text, &end, 10);
  if (errno || end == text || *end || v < min || v > max) {
    fprintf(stderr, "vaecl: %s expects a whole number from %ld to %ld, not '%s'\n", option, min,
            max, text);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_parse_float(const char *option, const char *text, double min, double max, double *out) {
  char *end;
  errno = 0;
  const double v = strtod(text, &end);
  if (errno || end == text || *end || !isfinite(v) || v < min || v > max) {
    fprintf(stderr, "vaecl: %s expects a number from %g to %g, not '%s'\n", option, min, max, text);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_option_value(int argc, char **argv, int *i, const char **value) {
  if (*i + 1 >= argc) {
    fprintf(stderr, "vaecl: %s needs a value (see --help)\n", argv[*i]);
    return -1;
  }
  *value = argv[++*i];
  return 0;
}

int main(int argc, char **argv) {
  cli_globals g = {.device = -1};
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *value;
    long n;
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--version")) {
      printf("vaecl %s\n", VAECL_VERSION);
      return 0;
    } else if (!strcmp(argv[i], "--device")) {
      if (cli_option_value(argc, argv, &i, &value) || cli_parse_int("--device", value, 0, 1023, &n))
        return 2;
      g.device = (int)n;
    } else {
      fprintf(stderr, "vaecl: unknown option '%s' (see vaecl --help)\n", argv[i]);
      return 2;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  const char *verb = argv[i];
  argc -= i;
  argv += i;
  if (!strcmp(verb, "devices"))
    return cli_devices(&g, argc, argv);
  if (!strcmp(verb, "train"))
    return cli_train(&g, argc, argv);
  if (!strcmp(verb, "bench"))
    return cli_bench(&g, argc, argv);
  if (!strcmp(verb, "plot"))
    return cli_plot(&g, argc, argv);
  if (!strcmp(verb, "help")) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr,
          "vaecl: unknown command '%s' (commands: devices, train, plot, bench; see --help)\n",
          verb);
  return 2;
}
