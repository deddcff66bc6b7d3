/* The `vaecl` command: one function per verb. */
#ifndef VAECL_CLI_H
#define VAECL_CLI_H

#include <stddef.h>

#include <vaecl/backend.h>
#include <vaecl/graph.h>
#include <vaecl/idx.h>

typedef struct {
  int device; /* --device N; -1: first GPU, else first device */
} cli_globals;

int cli_devices(const cli_globals *, int argc, char **argv);
int cli_train(const cli_globals *, int argc, char **argv);
int cli_bench(const cli_globals *, int argc, char **argv);
int cli_plot(const cli_globals *, int argc, char **argv);

/* The figures for a trained model, to PREFIX-latent-grid.png and PREFIX-clusters.png. */
int cli_write_plots(vaecl_model *, vb_backend *, const vaecl_dataset *, const char *prefix);
/* The default prefix for a checkpoint path: the path without its extension. */
void cli_plot_prefix(const char *model_path, char *prefix, size_t size);

/* Strict number parsing for options: the whole string, in range; else a message
 * naming the option. */
int cli_parse_int(const char *option, const char *text, long min, long max, long *out);
int cli_parse_float(const char *option, const char *text, double min, double max, double *out);
/* The value after an option; a message when it is missing. */
int cli_option_value(int argc, char **argv, int *i, const char **value);

#endif
