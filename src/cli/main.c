/* vaecl: command-line entry point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include <vaecl.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: vaecl [--backend NAME] [--device N|NAME] <command> [options]\n"
          "\n"
          "Train a variational autoencoder on any OpenCL 1.2+ device.\n"
          "\n"
          "commands:\n"
          "  devices   list the devices of every backend, with their index N\n"
          "  train     train a VAE (default: the Keras Fashion-MNIST model; vaecl train --help)\n"
          "  summary   the layers, output shapes and parameters of a model file or checkpoint\n"
          "  plot      draw the latent grid and the class clusters of a checkpoint\n"
          "  bench     time training steps on synthetic data (vaecl bench --help)\n"
          "\n"
          "global options:\n"
          "  --backend NAME  opencl (default) or cpu (plain C reference: exact, slow)\n"
          "  --device N|NAME use device N from `vaecl devices`, or the one whose name contains\n"
          "                  NAME (any case); default: the one `vaecl devices` marks (usable\n"
          "                  first, then a discrete GPU, memory, compute units)\n"
          "  --version       print the version\n"
          "  -h, --help      this help\n"
          "\n"
          "environment: VAECL_CACHE_DIR (compiled kernels; default $XDG_CACHE_HOME/vaecl or\n"
          "~/.cache/vaecl), VAECL_PROFILE=1 (time every op), VAECL_GEMM_TUNING=off,\n"
          "VAECL_WORK_LAYOUT=rows|channels (comparisons and tests), VAECL_BUILD_LOG=1 (print\n"
          "the driver's build log of the kernels).\n");
}

int main(int argc, char **argv) {
  cli_globals g = {.device = -1, .device_match = NULL, .backend = NULL};
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
      if (cli_option_value(argc, argv, &i, &value))
        return 2;
      if (value[0] >= '0' && value[0] <= '9') { /* an index; else part of a name */
        if (cli_parse_int("--device", value, 0, 1023, &n))
          return 2;
        g.device = (int)n;
      } else if (!*value) {
        fprintf(stderr, "vaecl: --device needs an index or part of a device's name (see vaecl "
                        "devices)\n");
        return 2;
      } else {
        g.device_match = value;
      }
    } else if (!strcmp(argv[i], "--backend")) {
      if (cli_option_value(argc, argv, &i, &value))
        return 2;
      g.backend = value;
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
  if (!strcmp(verb, "summary"))
    return cli_summary(&g, argc, argv);
  if (!strcmp(verb, "help")) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr,
          "vaecl: unknown command '%s' (commands: devices, train, summary, plot, bench; see "
          "--help)\n",
          verb);
  return 2;
}
