/* vaecl plot: the Keras example's two figures from a checkpoint; also run by
 * `vaecl train` when it finishes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "util/error.h"
#include <vaecl/checkpoint.h>
#include <vaecl/graph.h>
#include <vaecl/idx.h>
#include <vaecl/latent_plots.h>

enum { GRID_N = 10, PLOT_BATCH = 128 };

int cli_check_prefix(const char *prefix) {
  struct stat st;
  const size_t n = strlen(prefix);
  if (n == 0 || prefix[n - 1] == '/' || (stat(prefix, &st) == 0 && S_ISDIR(st.st_mode))) {
    fprintf(stderr,
            "vaecl plot: --prefix '%s' names a directory, so the figures would be called "
            "'-latent-grid.png'; give the start of a file name, such as %s%smodel\n",
            prefix, prefix, n && prefix[n - 1] != '/' ? "/" : "");
    return -1;
  }
  return 0;
}

void cli_plot_prefix(const char *model_path, char *prefix, size_t size) {
  snprintf(prefix, size, "%s", model_path);
  char *dot = strrchr(prefix, '.'), *slash = strrchr(prefix, '/');
  if (dot && (!slash || dot > slash) && dot != prefix)
    *dot = '\0';
}

int cli_write_plots(vaecl_model *m, vb_backend *be, const vaecl_dataset *data, const char *prefix,
                    double grid_extent) {
  char grid[4200], clusters[4200];
  snprintf(grid, sizeof grid, "%s-latent-grid.png", prefix);
  snprintf(clusters, sizeof clusters, "%s-clusters.png", prefix);
  vaecl_latent_figures_info info;
  if (vaecl_plot_latent_figures(m, be, data, grid, clusters, GRID_N, grid_extent, &info) != 0)
    return -1;
  if (info.pca) {
    printf("wrote %s (decoded %dx%d grid over [-%g, %g]^2 of z[%d] and z[%d], the dimensions "
           "with the largest mean KL; the others at 0)\n",
           grid, GRID_N, GRID_N, grid_extent, grid_extent, info.dims[0], info.dims[1]);
    printf("wrote %s (encoded means of %zu images by class, on their first two principal "
           "components: %.0f%% and %.0f%% of the variance)\n",
           clusters, data->count, 100 * info.explained[0], 100 * info.explained[1]);
    return 0;
  }
  printf("wrote %s (decoded %dx%d grid over [-%g, %g]^2)\n", grid, GRID_N, GRID_N, grid_extent,
         grid_extent);
  printf("wrote %s (encoded means of %zu images by class)\n", clusters, data->count);
  return 0;
}

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl [--device N|NAME] plot --model FILE [options]\n"
             "\n"
             "Writes PREFIX-latent-grid.png (images decoded over a 10x10 grid of the latent\n"
             "plane [-0.5, 0.5]^2) and PREFIX-clusters.png (the encoded means of the data,\n"
             "coloured by class). A latent wider than two shows the two dimensions with the\n"
             "largest mean KL (others at 0) and the means on their first two principal\n"
             "components.\n"
             "\n"
             "options:\n"
             "  --model FILE    a checkpoint written by `vaecl train`\n"
             "  --data PATH     images to encode: IDX files or a PNG folder (default\n"
             "                  " VAECL_DEFAULT_DATA_DIR ")\n"
             "  --limit N       encode only the first N images\n"
             "  --prefix P      output prefix, a file name start such as out/model (default:\n"
             "                  FILE without its extension)\n"
             "  --grid-window R the latent grid spans [-R, R]^2 (default 0.5, the Keras\n"
             "                  example's; trained means often spread over [-3, 3])\n"
             "  -h, --help      this help\n");
}

int cli_plot(const cli_globals *g, int argc, char **argv) {
  static const char *const value_options[] = {"--model", "--data",        "--prefix",
                                              "--limit", "--grid-window", NULL};
  const char *model_path = NULL, *data_dir = VAECL_DEFAULT_DATA_DIR, *prefix_arg = NULL;
  long limit = 0;
  double window = CLI_GRID_WINDOW;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v;
    if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
      usage(stdout);
      return 0;
    }
    if (opt[0] != '-') {
      fprintf(stderr, "vaecl plot: unexpected argument '%s' (see --help)\n", opt);
      return CLI_EXIT_USAGE;
    }
    if (!cli_is_option(opt, value_options)) {
      cli_unknown_option("plot", opt);
      return CLI_EXIT_USAGE;
    }
    if (cli_option_value(argc, argv, &i, &v) != 0)
      return CLI_EXIT_USAGE;
    if (!strcmp(opt, "--model"))
      model_path = v;
    else if (!strcmp(opt, "--data"))
      data_dir = v;
    else if (!strcmp(opt, "--prefix"))
      prefix_arg = v;
    else if (!strcmp(opt, "--limit")) {
      if (cli_parse_int(opt, v, 1, 1L << 30, &limit))
        return CLI_EXIT_USAGE;
    } else if (cli_parse_float(opt, v, 1e-3, 1e3, &window)) { /* --grid-window */
      return CLI_EXIT_USAGE;
    }
  }
  if (!model_path) {
    fprintf(stderr, "vaecl plot: --model FILE is required (a checkpoint from vaecl train)\n");
    return 2;
  }
  char prefix[4096];
  cli_plot_prefix(model_path, prefix, sizeof prefix);
  if (prefix_arg && cli_check_prefix(prefix_arg) != 0)
    return CLI_EXIT_USAGE;
  if (prefix_arg)
    snprintf(prefix, sizeof prefix, "%s", prefix_arg);
  vaecl_checkpoint ck;
  vaecl_model_spec spec;
  vaecl_dataset data = {0};
  vb_backend *be = NULL;
  vaecl_model *m = NULL;
  int rc = cli_load_model(model_path, &spec, &ck);
  if (rc == 0 && !ck.model_text) {
    vaecl_model_spec_free(&spec);
    rc = vaecl_fail("%s is a model file; plot needs a checkpoint written by train", model_path);
  }
  /* Until the device is opened, a failure is bad input: exit code 2. */
  int input_error = rc != 0;
  if (rc == 0) {
    if ((rc = vaecl_checkpoint_check_model(&ck, &spec)) != 0)
      vaecl_fail_context("%s: ", model_path);
    if (rc == 0)
      rc = vaecl_dataset_load(data_dir, &data);
    if (rc == 0 && limit > 0 && (size_t)limit < data.count)
      vaecl_dataset_truncate(&data, (size_t)limit);
    if (rc == 0 &&
        (rc = vaecl_dataset_check_fits(&data, spec.input.h, spec.input.w, spec.input.c)) != 0)
      vaecl_fail_context("%s: ", data_dir);
    input_error = rc != 0;
    if (rc == 0 && !(be = cli_backend_open(g)))
      rc = -1;
    if (rc == 0 && !(m = vaecl_model_create(be, &spec, PLOT_BATCH, ck.seed)))
      rc = -1;
    if (rc == 0)
      rc = vaecl_model_from_checkpoint(m, &ck);
    if (rc == 0)
      rc = cli_write_plots(m, be, &data, prefix, window);
    vaecl_checkpoint_free(&ck);
    vaecl_model_spec_free(&spec);
  }
  if (rc != 0)
    fprintf(stderr, "vaecl plot: %s\n", vaecl_last_error());
  vaecl_model_destroy(m);
  cli_backend_close(be);
  vaecl_dataset_free(&data);
  return rc == 0 ? 0 : input_error ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
}
