/* The `vaecl` command: one function per verb, and the helpers they share. */
#ifndef VAECL_CLI_H
#define VAECL_CLI_H

#include <stddef.h>

#include <vaecl/backend.h>
#include <vaecl/checkpoint.h>
#include <vaecl/graph.h>
#include <vaecl/idx.h>
#include <vaecl/model_spec.h>

typedef struct {
  int device;               /* --device N; -1: the backend's default choice */
  const char *device_match; /* --device NAME (not a number): part of the device's name */
  const char *backend;      /* --backend NAME; NULL: opencl */
} cli_globals;

/* Creates backend g->backend (NULL: "opencl") on g's device (the backend's default
 * when none is given) through the registry, with the options the environment asks
 * for: VAECL_CACHE_DIR (else $XDG_CACHE_HOME/vaecl, else $HOME/.cache/vaecl) for the
 * kernel cache, VAECL_GEMM_TUNING=off, VAECL_WORK_LAYOUT=rows|channels,
 * VAECL_PROFILE=1 and VAECL_BUILD_LOG=1 (print the kernels' build log to stderr).
 * NULL with a message (and a hint on choosing a device). */
vb_backend *cli_backend_open(const cli_globals *g);
/* Prints the per-op profile (when VAECL_PROFILE asked for one) to stderr, then
 * destroys the backend. NULL is a no-op. */
void cli_backend_close(vb_backend *);

int cli_devices(const cli_globals *, int argc, char **argv);
int cli_train(const cli_globals *, int argc, char **argv);
int cli_bench(const cli_globals *, int argc, char **argv);
int cli_plot(const cli_globals *, int argc, char **argv);
int cli_summary(const cli_globals *, int argc, char **argv);

/* --model PATH: a model file or a checkpoint (recognised by its content); NULL is
 * the reference model. *ck (when not NULL) receives the checkpoint, if it is one
 * (else it is zeroed). Messages name the path. */
int cli_load_model(const char *path, vaecl_model_spec *spec, vaecl_checkpoint *ck);

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
