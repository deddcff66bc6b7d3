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
          "  devices      list the devices of every backend, with their index N\n"
          "  train        train a VAE (default: the Keras Fashion-MNIST model; train --help)\n"
          "  summary      the layers, output shapes and parameters of a model file or checkpoint\n"
          "  plot         draw the latent grid and the class clusters of a checkpoint\n"
          "  bench        time training steps on synthetic data (vaecl bench --help)\n"
          "  eval         negative ELBO and IWAE bound of a checkpoint on a data set\n"
          "  sample       decode draws from the prior into a PNG\n"
          "  reconstruct  images above their reconstructions, in a PNG\n"
          "  encode       latent means and log-variances of every image, as CSV\n"
          "  interpolate  decode along the line between two images' latent means\n"
          "  score        a per-image anomaly score (CSV) and the highest-scoring images\n"
          "  tune         find this device's fastest GEMM kernel parameters (vaecl tune --help)\n"
          "\n"
          "global options:\n"
          "  --backend NAME  opencl (default) or cpu (plain C reference: exact, slow)\n"
          "  --device N|NAME use device N from `vaecl devices`, or the one whose name contains\n"
          "                  NAME (any case); default: the one `vaecl devices` marks (usable\n"
          "                  first, then a discrete GPU, memory, compute units); under\n"
          "                  mpirun, N,M,... gives the device of each rank on a machine\n"
          "                  (default: device = that local rank)\n"
          "  --version       print the version\n"
          "  -h, --help      this help\n"
          "\n"
          "environment: VAECL_CACHE_DIR (compiled kernels; default $XDG_CACHE_HOME/vaecl or\n"
          "~/.cache/vaecl), VAECL_PROFILE=0|1 (time every op), VAECL_GEMM_TUNING=on|off\n"
          "(off: CLBlast's defaults, also on CPUs), VAECL_GEMM_SPLIT=auto|on|off (where\n"
          "CLBlast computes GEMMs: long sums as partial products side by side; auto: on\n"
          "GPUs and other non-CPU devices),\n"
          "VAECL_WORK_LAYOUT=rows|channels (comparisons and tests), VAECL_BUILD_LOG=0|1 (print\n"
          "the driver's build log of the kernels), VAECL_MPI_REDUCE=ordered (under mpirun:\n"
          "sum gradients in rank order); other values are refused.\n"
          "\n"
          "mpirun -np N vaecl train ... trains on N ranks (one device each); see README.md.\n"
          "\n"
          "exit codes: 0 done, 1 failed while running (device, disk, diverged), 2 bad usage\n"
          "or input (refused before any work), 130 stopped by Ctrl-C (143 by SIGTERM).\n");
}

static int run_verb(cli_globals *g, int argc, char **argv);

int main(int argc, char **argv) {
  cli_dist dist;
  if (cli_dist_init(&argc, &argv, &dist) != 0) {
    fprintf(stderr, "vaecl: %s\n", vaecl_last_error());
    return 2;
  }
  /* rank 0 alone prints reports; every rank still reports its own errors on stderr */
  if (dist.rank != 0 && !freopen("/dev/null", "w", stdout)) {
    fprintf(stderr, "vaecl: rank %d cannot silence its output: /dev/null: cannot open\n",
            dist.rank);
    cli_dist_abort(&dist, "no device opened", 1);
    return 1;
  }
  cli_globals g = {.device = -1, .backend = NULL, .dist = &dist};
  /* every rank parses the same arguments, so usage errors end every rank alike */
  const int rc = run_verb(&g, argc, argv);
  cli_dist_finalize(&dist);
  return rc;
}

static int run_verb(cli_globals *g, int argc, char **argv) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *value;
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--version")) {
      printf("vaecl %s\n", VAECL_VERSION);
      return 0;
    } else if (!strcmp(argv[i], "--device")) {
      if (cli_option_value(argc, argv, &i, &value))
        return 2;
      if (value[0] >= '0' && value[0] <= '9') { /* an index or a list; else part of a name */
        if (cli_parse_device_list(value, g))
          return 2;
      } else if (!*value) {
        fprintf(stderr, "vaecl: --device needs an index or part of a device's name (see vaecl "
                        "devices)\n");
        return 2;
      } else {
        g->device_match = value;
      }
    } else if (!strcmp(argv[i], "--backend")) {
      if (cli_option_value(argc, argv, &i, &value))
        return 2;
      g->backend = value;
    } else {
      fprintf(stderr,
              "vaecl: unknown option '%s' before the command; options of a command go "
              "after it, as in `vaecl train %s ...` (see vaecl --help)\n",
              argv[i], argv[i]);
      return 2;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  if (cli_pick_rank_device(g) != 0)
    return 2;
  const char *verb = argv[i];
  if (strcmp(verb, "help") != 0 && cli_check_environment() != 0)
    return 2;
  argc -= i;
  argv += i;
  if (g->dist->ranks > 1 && strcmp(verb, "train") && strcmp(verb, "bench")) {
    if (g->dist->rank == 0)
      fprintf(stderr,
              "vaecl: %s runs in one process; start it without mpirun (only train and "
              "bench use several ranks)\n",
              verb);
    return 2;
  }
  if (!strcmp(verb, "devices"))
    return cli_devices(g, argc, argv);
  if (!strcmp(verb, "train"))
    return cli_train(g, argc, argv);
  if (!strcmp(verb, "bench"))
    return cli_bench(g, argc, argv);
  if (!strcmp(verb, "plot"))
    return cli_plot(g, argc, argv);
  if (!strcmp(verb, "summary"))
    return cli_summary(g, argc, argv);
  static const struct {
    const char *name;
    int (*run)(const cli_globals *, int, char **);
  } verbs[] = {
      {"eval", cli_eval},     {"sample", cli_sample},           {"reconstruct", cli_reconstruct},
      {"encode", cli_encode}, {"interpolate", cli_interpolate}, {"score", cli_score},
      {"tune", cli_tune}};
  for (size_t k = 0; k < sizeof verbs / sizeof verbs[0]; k++)
    if (!strcmp(verb, verbs[k].name))
      return verbs[k].run(g, argc, argv);
  if (!strcmp(verb, "help")) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr,
          "vaecl: unknown command '%s' (commands: devices, train, summary, plot, bench, eval, "
          "sample, reconstruct, encode, interpolate, score, tune; see --help)\n",
          verb);
  return 2;
}
