/* vaecl plot: the Keras example's two figures from a checkpoint; also run by
 * `vaecl train` when it finishes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/error.h"
#include <vaecl/checkpoint.h>
#include <vaecl/graph.h>
#include <vaecl/idx.h>
#include <vaecl/latent_plots.h>

enum { GRID_N = 10, PLOT_BATCH = 128 };
static const double grid_extent = 0.5; /* the Keras example's scale */

void cli_plot_prefix(const char *model_path, char *prefix, size_t size) {
  snprintf(prefix, size, "%s", model_path);
  char *dot = strrchr(prefix, '.'), *slash = strrchr(prefix, '/');
  if (dot && (!slash || dot > slash) && dot != prefix)
    *dot = '\0';
}

int cli_write_plots(vaecl_model *m, vb_backend *be, const vaecl_dataset *data, const char *prefix) {
  char grid[4200], clusters[4200];
  snprintf(grid, sizeof grid, "%s-latent-grid.png", prefix);
  snprintf(clusters, sizeof clusters, "%s-clusters.png", prefix);
  const vaecl_shape *in = &vaecl_model_get_spec(m)->input;
  if (vaecl_plot_decoded_grid(m, grid, GRID_N, grid_extent, in->h, in->w, in->c) != 0)
    return -1;
  printf("wrote %s (decoded %dx%d grid over [-%.1f, %.1f]^2)\n", grid, GRID_N, GRID_N, grid_extent,
         grid_extent);
  if (vaecl_plot_encoded_means(m, be, data, clusters) != 0)
    return -1;
  printf("wrote %s (encoded means of %zu images by class)\n", clusters, data->count);
  return 0;
}

static void usage(FILE *f) {
  fprintf(f, "usage: vaecl [--device N|NAME] plot --model FILE [options]\n"
             "\n"
             "Writes PREFIX-latent-grid.png (images decoded over a 10x10 grid of the latent\n"
             "plane [-0.5, 0.5]^2) and PREFIX-clusters.png (the encoded means of the data,\n"
             "coloured by class).\n"
             "\n"
             "options:\n"
             "  --model FILE    a checkpoint written by `vaecl train`\n"
             "  --data PATH     images to encode: IDX files or a PNG folder (default\n"
             "                  " VAECL_DEFAULT_DATA_DIR ")\n"
             "  --limit N       encode only the first N images\n"
             "  --prefix P      output prefix (default: FILE without its extension)\n"
             "  -h, --help      this help\n");
}

int cli_plot(const cli_globals *g, int argc, char **argv) {
  const char *model_path = NULL, *data_dir = VAECL_DEFAULT_DATA_DIR, *prefix_arg = NULL;
  long limit = 0;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i], *v;
    if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
      usage(stdout);
      return 0;
    }
    if (opt[0] != '-' || cli_option_value(argc, argv, &i, &v) != 0) {
      if (opt[0] != '-')
        fprintf(stderr, "vaecl plot: unexpected argument '%s' (see --help)\n", opt);
      return 2;
    }
    if (!strcmp(opt, "--model"))
      model_path = v;
    else if (!strcmp(opt, "--data"))
      data_dir = v;
    else if (!strcmp(opt, "--prefix"))
      prefix_arg = v;
    else if (!strcmp(opt, "--limit")) {
      if (cli_parse_int(opt, v, 1, 1L << 30, &limit))
        return 2;
    } else {
      fprintf(stderr, "vaecl plot: unknown option '%s' (see --help)\n", opt);
      return 2;
    }
  }
  if (!model_path) {
    fprintf(stderr, "vaecl plot: --model FILE is required (a checkpoint from vaecl train)\n");
    return 2;
  }
  char prefix[4096];
  cli_plot_prefix(model_path, prefix, sizeof prefix);
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
  if (rc == 0) {
    rc = vaecl_dataset_load(data_dir, &data);
    if (rc == 0 && limit > 0 && (size_t)limit < data.count)
      vaecl_dataset_truncate(&data, (size_t)limit);
    if (rc == 0)
      rc = vaecl_dataset_check_fits(&data, spec.input.h, spec.input.w, spec.input.c);
    if (rc == 0 && !(be = cli_backend_open(g)))
      rc = -1;
    if (rc == 0 && !(m = vaecl_model_create(be, &spec, PLOT_BATCH, ck.seed)))
      rc = -1;
    if (rc == 0)
      rc = vaecl_model_from_checkpoint(m, &ck);
    if (rc == 0)
      rc = cli_write_plots(m, be, &data, prefix);
    vaecl_checkpoint_free(&ck);
    vaecl_model_spec_free(&spec);
  }
  if (rc != 0)
    fprintf(stderr, "vaecl plot: %s\n", vaecl_last_error());
  vaecl_model_destroy(m);
  cli_backend_close(be);
  vaecl_dataset_free(&data);
  return rc == 0 ? 0 : 1;
}
